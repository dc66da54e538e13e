#!/bin/sh
# Install what imgscan needs to build and to run its whole test suite on
# Debian 12 (run as root).  Nothing is installed when everything is there.
set -eu
PKGS="build-essential autoconf automake pkg-config xz-utils
libblkid-dev libudev-dev libjson-c-dev libsmartcols-dev libcmocka-dev liburing-dev
qemu-utils jq cryptsetup-bin xorriso e2fsprogs dosfstools udev util-linux
valgrind strace umockdev sqlite3 groff-base inotify-tools time libfuse3-dev fuse3
clang libclang-rt-14-dev"
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
