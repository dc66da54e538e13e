#!/bin/sh
# Install what imgscan needs to build and to run its whole test suite on
# Debian 12 (run as root).  Nothing is installed when everything is there.
set -eu
PKGS="build-essential autoconf automake pkg-config xz-utils
libblkid-dev libudev-dev libjson-c-dev libsmartcols-dev libcmocka-dev liburing-dev
qemu-utils jq cryptsetup-bin xorriso e2fsprogs dosfstools udev util-linux udftools
valgrind strace umockdev sqlite3 groff-base inotify-tools time python3 libfuse3-dev fuse3 fio
clang libclang-rt-14-dev
python3-oslo.log python3-oslo.utils python3-pytest abigail-tools libtool
debhelper dh-python lintian dpkg-dev fakeroot curl prometheus-node-exporter prometheus postgresql"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "tools/deps.sh: missing packages:$missing (run as root to install them)" >&2
		exit 1
	fi
	echo "tools/deps.sh: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# OpenStack Nova's format_inspector for tests/e2e/check-vs-nova.sh: the
# package itself pulls half of OpenStack, so it is only unpacked (dpkg -x)
NOVA_DIR=/var/cache/imgscan-tests/nova
if [ ! -r "$NOVA_DIR/usr/lib/python3/dist-packages/nova/image/format_inspector.py" ] &&
		[ ! -r /usr/lib/python3/dist-packages/nova/image/format_inspector.py ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "tools/deps.sh: python3-nova not unpacked in $NOVA_DIR (run as root)" >&2
		exit 1
	fi
	nova_tmp=$(mktemp -d)
	chmod 755 "$nova_tmp" # apt downloads as _apt
	(cd "$nova_tmp" && apt-get download -qq python3-nova >/dev/null) || {
		apt-get update -qq
		(cd "$nova_tmp" && apt-get download -qq python3-nova >/dev/null)
	}
	mkdir -p "$NOVA_DIR"
	dpkg -x "$nova_tmp"/python3-nova_*.deb "$NOVA_DIR"
	rm -rf "$nova_tmp"
fi
