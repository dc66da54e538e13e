#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/syscalls.sh -- the system-call budget of a scan without PATH,
# counted (strace), not timed (docs/performance.md, "Whole host";
# docs/udev.md, "Enumerating block devices").
#
# N loop devices (16) are attached read-only to copies of images of several
# formats made by qemu-img; then, over every block device of the host:
#   - imgscan --json with no PATH makes at most 10 opens per block device
#     (all opens of the process, the dynamic loader's included, divided by
#     the number of block devices), and at most 10 opens name each of the
#     attached loop devices (its sysfs directory, its udev database entry,
#     its node); each attached device is opened and reported with its format,
#     so a scan that skipped them could not pass;
#   - imgscan --cached opens no device node, at most 10 files per block
#     device, and reads each attached device's database entry when udevd
#     keeps a database;
#   - the libudev fallback (IMGSCAN_UDEV_DB=libudev) gives the same output.
#
# Needs root, strace, losetup and qemu-img; skips (exit 77) otherwise.  Run
# under flock /tmp/imgscan-root-tests.lock.  Every loop device attached here
# is detached by the EXIT trap.

# shellcheck disable=SC1091,SC2016
. "${top_srcdir:-.}/tests/e2e/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	e2e_skip "needs root for loop devices"
fi
e2e_need_cmd losetup qemu-img jq strace
e2e_init
# LeakSanitizer cannot run under ptrace: it exits 1 at the end of a traced
# ASan build.  The counts are what this test checks; leaks are the other
# tests' business.
if grep -q __asan_init "$IMGSCAN"; then
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	export ASAN_OPTIONS
fi
T=$E2E_TMP
N=16
BUDGET=10

strace -f -qq -e trace=open,openat,openat2 -o /dev/null true 2>/dev/null ||
	e2e_skip "strace cannot trace here"

LOOPS=$T/loops
: >"$LOOPS"
# shellcheck disable=SC2034 # run by lib.sh's EXIT trap
E2E_CLEANUP='while read -r l; do losetup -d "$l" 2>/dev/null; done <"$LOOPS"'

mkdir "$T/src" "$T/img"
qemu-img create -q -f qcow2 "$T/src/a.qcow2" 1G
qemu-img create -q -f vmdk "$T/src/b.vmdk" 1G
qemu-img create -q -f vpc -o subformat=fixed "$T/src/c.vpc" 16M
qemu-img create -q -f vdi "$T/src/d.vdi" 1G
i=0
while [ $i -lt $N ]; do
	for f in "$T"/src/*; do
		[ $i -lt $N ] || break
		g=$T/img/$i.${f##*.}
		cp --sparse=always "$f" "$g"
		l=$(losetup -f --show -r "$g" 2>>"$T/losetup.err") || {
			e2e_notok "losetup -r $g failed"
			e2e_summary
		}
		echo "$l" >>"$LOOPS"
		echo "$l ${f##*.}" >>"$T/expect"
		i=$((i + 1))
	done
done
command -v udevadm >/dev/null 2>&1 && udevadm settle -t 30 2>/dev/null
NDEV=$(find /sys/class/block/ -mindepth 1 -maxdepth 1 | wc -l)
echo "# $NDEV block devices, $N loop devices attached"

# opens FILE: the paths of the successful and failed opens in a strace log
opens()
{
	sed -n 's/.*open[a-z0-9]*([^"]*"\([^"]*\)".*/\1/p' "$1"
}

# ---- a scan without PATH ------------------------------------------------------
strace -f -qq -e trace=open,openat,openat2 -o "$T/scan.trace" "$IMGSCAN" --json >"$T/scan.json" 2>"$T/scan.err"
opens "$T/scan.trace" >"$T/scan.opens"
total=$(wc -l <"$T/scan.opens")
echo "# imgscan --json, no PATH: $total opens"
if [ "$total" -le $((BUDGET * NDEV)) ]; then
	e2e_ok "no PATH: $total opens for $NDEV block devices (at most $BUDGET each)"
else
	e2e_notok "no PATH: $total opens for $NDEV block devices, more than $BUDGET each"
fi
worst=0
while read -r l fmt; do
	name=${l##*/}
	devnum=$(cat "/sys/class/block/$name/dev")
	# absolute or relative to a directory (openat): .../loop3/size, loop3/uevent, b7:3
	k=$(grep -c -E "(^|/)($name|b?$devnum)(/|\$)" "$T/scan.opens")
	[ "$k" -gt "$worst" ] && worst=$k
	if [ "$k" -gt $BUDGET ]; then
		e2e_notok "no PATH: $l: $k opens name it (at most $BUDGET)"
	fi
	grep -qx "$l" "$T/scan.opens" || e2e_notok "no PATH: $l was not opened"
	got=$(jq -r --arg p "$l" '.images[] | select(.path == $p) | .format' "$T/scan.json")
	[ "$got" = "$fmt" ] || e2e_notok "no PATH: $l: format '$got', wanted $fmt"
done <"$T/expect"
e2e_check "no PATH: at most $BUDGET opens name each loop device (most: $worst)" \
	"$([ "$worst" -le $BUDGET ] && [ "$worst" -gt 0 ] && echo yes)" "yes" "wanted"
e2e_check "no PATH: every loop device reported with its format" \
	"$(jq -r '.images[] | "\(.path) \(.format)"' "$T/scan.json" | grep -c -Fxf "$T/expect")" \
	"$N" "wanted"

# ---- --cached: the udev database, no device ----------------------------------
strace -f -qq -e trace=open,openat,openat2 -o "$T/cached.trace" "$IMGSCAN" --cached >"$T/cached.out" 2>"$T/cached.err"
e2e_check "--cached: exit status" "$?" "0" "wanted"
opens "$T/cached.trace" >"$T/cached.opens"
total=$(wc -l <"$T/cached.opens")
echo "# imgscan --cached: $total opens"
e2e_check "--cached: no device node opened" \
	"$(grep '^/dev/' "$T/cached.opens" | grep -v -x -e /dev/null -e /dev/tty -e /dev/urandom | tr '\n' ' ')" \
	"" "wanted"
if [ "$total" -le $((BUDGET * NDEV)) ]; then
	e2e_ok "--cached: $total opens for $NDEV block devices (at most $BUDGET each)"
else
	e2e_notok "--cached: $total opens for $NDEV block devices, more than $BUDGET each"
fi
if [ -d /run/udev/data ]; then
	miss=
	while read -r l fmt; do
		devnum=$(cat "/sys/class/block/${l##*/}/dev")
		[ -e "/run/udev/data/b$devnum" ] || continue
		grep -qx "/run/udev/data/b$devnum" "$T/cached.opens" || miss="$miss $l"
	done <"$T/expect"
	e2e_check "--cached: the database entry of each loop device read" "$miss" "" "wanted"
fi

# ---- the libudev fallback gives the same answers ------------------------------
# Compared on this test's own loop devices only: other tests running beside
# this one (make -j) attach and detach loop devices between two scans.
ours_re=$(sed 's|.*/||; s|$|([^0-9]\|$)|' "$LOOPS" | paste -sd'|' -)
ours_json()
{
	jq --rawfile l "$LOOPS" '[.images[] | select(.path as $p | ($l | split("\n") | index($p)))]' "$1"
}
ours_lines()
{
	grep -E "($ours_re)" "$1" | sort
}
"$IMGSCAN" --json -v >"$T/direct.json" 2>"$T/direct.err"
IMGSCAN_UDEV_DB=libudev "$IMGSCAN" --json -v >"$T/libudev.json" 2>"$T/libudev.err"
e2e_check "IMGSCAN_UDEV_DB=libudev: same JSON" "$(ours_json "$T/libudev.json")" \
	"$(ours_json "$T/direct.json")" "direct"
e2e_check "IMGSCAN_UDEV_DB=libudev: the JSON holds this test's devices" \
	"$(ours_json "$T/direct.json" | jq length)" "$(grep -c . "$LOOPS")" "wanted"
e2e_check "IMGSCAN_UDEV_DB=libudev: same messages about this test's devices" \
	"$(ours_lines "$T/libudev.err")" "$(ours_lines "$T/direct.err")" "direct"
IMGSCAN_UDEV_DB=libudev "$IMGSCAN" --cached >"$T/libudev.cached" 2>&1
e2e_check "IMGSCAN_UDEV_DB=libudev: same --cached" "$(ours_lines "$T/libudev.cached")" \
	"$(ours_lines "$T/cached.out")" "direct"

e2e_summary
