#!/bin/sh
# The Debian package as an admin gets it (CI, as root, on Debian 12):
#   1. build it from this checkout and run lintian (tools/deb.sh);
#   2. install the four packages with apt-get install ./*.deb (imgscan,
#      libimgscan1, libimgscan-dev, python3-imgscan);
#   3. build examples/probe.c against the installed library with
#      `pkg-config --cflags --libs imgscan` and run it on an image made
#      with qemu-img; probe the image with the installed Python module and
#      compare its dict with what /usr/bin/imgscan -J says;
#   4. run the end-to-end tests against the installed files: the udev
#      rule in udev's rules directory and /usr/bin/imgscan (udev-rule.sh,
#      with a running systemd-udevd), the README's inventory scan
#      (inventory.sh), the inventory unit's metrics command through
#      node_exporter (node-exporter.sh) and the PostgreSQL inventory
#      (inventory-pg.sh); the installed unit's systemd-analyze score;
#   5. purge them and check that nothing they installed or made is left.
# Everything after the build (the packages are installed into the system,
# the tests use loop devices and udev) runs under the shared root-test lock,
# taken once; when the caller holds it already (flock LOCK sh
# tools/deb-test.sh, as .ci/run's callers may), it is not taken again: a
# second flock on the same file would wait for its own parent forever.
#   sh tools/deb-test.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "$(id -u)" = 0 ] || { echo "tools/deb-test.sh: run as root (installs a package)" >&2; exit 1; }
pkgs="imgscan libimgscan1 libimgscan-dev python3-imgscan"
for p in $pkgs; do
	if dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed'; then
		echo "tools/deb-test.sh: $p is installed already: remove it first" >&2
		exit 1
	fi
done
out=$(mktemp -d)
lock=${IMGSCAN_LOCK:-/tmp/imgscan-root-tests.lock}
fail=0
# a failed run leaves nothing installed either
installed() { # the packages of $pkgs dpkg still knows (installed or config-files)
	for p in $pkgs; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q ' installed$\| config-files$' &&
			echo "$p"
	done
	return 0
}
cleanup() {
	left_pkgs=$(installed)
	# shellcheck disable=SC2086
	[ -z "$left_pkgs" ] || apt-get purge -y -qq $left_pkgs >/dev/null 2>&1
	rm -rf "$out"
}
trap cleanup EXIT

check() { # check LABEL CMD...: run CMD, say ok/not ok
	l=$1
	shift
	if "$@"; then echo "ok - $l"; else echo "not ok - $l"; fail=1; fi
}

sh tools/deb.sh "$out"

# does this shell or one of its ancestors hold $lock (lslocks: a holder's
# MODE has no '*', a waiter's has)?
lock_held_by_us() {
	holders=$(lslocks -n -o PID,MODE,PATH 2>/dev/null |
		awk -v f="$lock" '$3 == f && $2 !~ /\*/ {print $1}')
	[ -n "$holders" ] || return 1
	p=$$
	while [ "$p" -gt 1 ] 2>/dev/null; do
		for h in $holders; do [ "$h" = "$p" ] && return 0; done
		# /proc/PID/stat: "PID (COMM) STATE PPID ...", COMM may hold spaces
		p=$(sed 's/.*) [A-Za-z] \([0-9]*\) .*/\1/' "/proc/$p/stat" 2>/dev/null) || return 1
	done
	return 1
}
if lock_held_by_us; then
	echo "# $lock: held by the caller"
else
	exec 9>>"$lock"
	flock 9
fi

# the udev rules directory Debian 12's udev.pc names (/lib/udev: on a
# merged /usr the same file as /usr/lib/udev/rules.d)
udevdir=$(pkg-config --variable=udevdir udev 2>/dev/null || echo /lib/udev)
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "$out"/imgscan_*_*.deb "$out"/libimgscan1_*_*.deb \
	"$out"/libimgscan-dev_*_*.deb "$out"/python3-imgscan_*_*.deb >/dev/null
check "installed: /usr/bin/imgscan runs" /usr/bin/imgscan --version
check "installed: the rule in $udevdir/rules.d" test -f "$udevdir/rules.d/65-imgscan.rules"
check "installed: the rule seen in /usr/lib/udev/rules.d" test -f /usr/lib/udev/rules.d/65-imgscan.rules
check "installed: the rule runs /usr/bin/imgscan" \
	grep -q 'IMPORT{program}="/usr/bin/imgscan --udev ' "$udevdir/rules.d/65-imgscan.rules"
check "installed: the service and the timer" \
	test -f "$unitdir/imgscan-inventory.service" -a -f "$unitdir/imgscan-inventory.timer"
check "installed: the man page" test -f /usr/share/man/man8/imgscan.8.gz
check "installed: the timer is enabled" \
	test -L /etc/systemd/system/timers.target.wants/imgscan-inventory.timer
check "installed: the units verify" systemd-analyze verify --man=no \
	"$unitdir/imgscan-inventory.service" "$unitdir/imgscan-inventory.timer"
# docs/inventory.md records 0.9: fail when the unit's hardening gets worse
check "installed: systemd-analyze security <= 1.0" sh -c 'systemd-analyze security --offline=true \
	--threshold=10 --no-pager "$1" >/dev/null' sh "$unitdir/imgscan-inventory.service"
systemd-analyze security --offline=true --no-pager "$unitdir/imgscan-inventory.service" |
	grep 'Overall exposure' || true

# the library as a user of the packages sees it: the example built with the
# installed header, .so and imgscan.pc (nothing from this checkout's build),
# run on a qcow2 overlay qemu-img made, with the loader finding the library
lib_test() {
	img="$out/lib/overlay.qcow2"
	mkdir -p "$out/lib"
	qemu-img create -q -f qcow2 -u -b base.img -F raw "$img" 1G || return 1
	flags=$(env -u PKG_CONFIG_PATH -u PKG_CONFIG_LIBDIR pkg-config --cflags --libs imgscan) || return 1
	echo "# cc examples/probe.c $flags"
	# shellcheck disable=SC2086
	cc -Wall -Werror -o "$out/lib/probe" examples/probe.c $flags || return 1
	env -u LD_LIBRARY_PATH ldd "$out/lib/probe" | grep -q "libimgscan.so.1 => \(/usr\)\?/lib/[^ ]*/libimgscan.so.1 (" ||
		{ echo "# probe does not load the installed libimgscan.so.1"; return 1; }
	env -u LD_LIBRARY_PATH "$out/lib/probe" --check "$img" >"$out/lib/probe.out" || return 1
	sed 's/^/# /' "$out/lib/probe.out"
	grep -qx "$img: qcow2" "$out/lib/probe.out" &&
		grep -qx '  virtual-size=1073741824' "$out/lib/probe.out" &&
		grep -qx '  backing-file="base.img"' "$out/lib/probe.out" &&
		grep -qx '  ID_IMAGE_BACKING_FORMAT=raw' "$out/lib/probe.out" &&
		grep -qx '  safe=0' "$out/lib/probe.out"
}
py_test() {
	img="$out/lib/overlay.qcow2"
	/usr/bin/imgscan -J "$img" >"$out/lib/cmd.json" || return 1
	(cd "$out/lib" && env -u PYTHONPATH -u IMGSCAN_LIBRARY -u LD_LIBRARY_PATH /usr/bin/python3 -c '
import json, sys, imgscan
assert imgscan.__file__ == "/usr/lib/python3/dist-packages/imgscan/__init__.py", imgscan.__file__
d = imgscan.probe(sys.argv[1])
print("#", d)
cmd = json.load(open(sys.argv[2]))["images"][0]
assert d == cmd, "imgscan.probe: %r\nimgscan -J:    %r" % (d, cmd)
assert d["format"] == "qcow2" and d["backing-filename"] == "base.img", d
' "$img" "$out/lib/cmd.json")
}
t0=$(date +%s%N)
check "installed: examples/probe.c built with pkg-config imgscan runs" lib_test
check "installed: python3 imgscan.probe() == /usr/bin/imgscan -J" py_test
echo "# the library and module checks: $((($(date +%s%N) - t0) / 1000000)) ms"

run_e2e() { # run_e2e TEST [VAR=value...]
	t=$1
	shift
	rc=0
	env top_srcdir="$top" IMGSCAN=/usr/bin/imgscan FIXTURES="$top/fixtures" "$@" \
		sh "tests/e2e/$t.sh" >"$out/$t.log" 2>&1 9>&- || rc=$?
	case $rc in
	0) echo "ok - installed: $t ($(tail -n 1 "$out/$t.log"))" ;;
	77) echo "not ok - installed: $t skipped: $(grep '^SKIP' "$out/$t.log")"; fail=1 ;;
	*) grep '^not ok' "$out/$t.log" | head -n 20; echo "not ok - installed: $t"; fail=1 ;;
	esac
}
run_e2e udev-rule IMGSCAN_RULE="$udevdir/rules.d/65-imgscan.rules"
run_e2e inventory
run_e2e node-exporter IMGSCAN_UNIT="$unitdir/imgscan-inventory.service"
run_e2e inventory-pg

# shellcheck disable=SC2086
files=$(dpkg-query -L $pkgs)
# shellcheck disable=SC2086
apt-get purge -y -qq $pkgs >/dev/null
left=
for f in $files; do
	# directories other packages own stay
	[ -d "$f" ] && continue
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
# the directories only these packages made (the byte code py3compile wrote
# included)
for f in /var/lib/imgscan /var/lib/prometheus/node-exporter/imgscan.prom \
		/usr/include/imgscan /usr/lib/python3/dist-packages/imgscan \
		/usr/share/doc/libimgscan1 /usr/share/doc/libimgscan-dev /usr/share/doc/python3-imgscan \
		/etc/systemd/system/timers.target.wants/imgscan-inventory.timer \
		/var/lib/systemd/deb-systemd-helper-enabled/imgscan-inventory.timer.dsh-also \
		/var/lib/systemd/deb-systemd-helper-enabled/timers.target.wants/imgscan-inventory.timer; do
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
check "purged: nothing left${left:+:$left}" test -z "$left"
check "purged: dpkg forgets them" test -z "$(installed)"
check "purged: the loader forgets libimgscan.so.1" sh -c '! ldconfig -p | grep -q libimgscan'
[ "$fail" -eq 0 ] && echo "deb-test: ok"
exit "$fail"
