#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/never-write.sh -- imgscan never writes to, claims or disturbs a
# device (docs/security.md, rule 5: an O_RDWR open fires udev's
# inotify watch and a synthetic "change" event; O_EXCL claims the device).
#
# Images made by qemu-img are attached to loop devices, writable and
# read-only.  imgscan runs on each device (--json, --udev, --json --deep)
# and then with no PATH (the whole-system scan) and:
#   - sha256sum of every device (and its backing file) before == after;
#   - under strace, no open of any path with O_WRONLY, O_RDWR, O_CREAT,
#     O_TRUNC or O_EXCL, no write/pwrite/fsync on anything but stdout and
#     stderr, and no partition-table, flush, discard or loop ioctl;
#   - inotifywait (inotify-tools), when installed, sees no close_write,
#     modify or attrib on the device nodes;
#   - udevadm monitor --kernel --udev --subsystem-match=block, captured in
#     the background, shows no event for the devices while imgscan runs;
#   - the read-only loop devices are probed like the writable ones.
#
# Needs root, losetup, strace and qemu-img; exits 77 otherwise.  Every loop
# device attached here is detached by the EXIT trap, by its own name.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	e2e_skip "needs root for loop devices"
fi
e2e_need_cmd losetup qemu-img strace sha256sum jq timeout
e2e_init
set -f
T=$E2E_TMP
export LC_ALL=C
# LeakSanitizer cannot run under ptrace: a sanitizer build traced by strace
# would fail on exit (leaks are checked by the other tests)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS

DEVS=
E2E_CLEANUP='for d in $DEVS; do losetup -d "$d" 2>/dev/null; done; [ -n "${MONPID:-}" ] && kill "$MONPID" 2>/dev/null; [ -n "${INOPID:-}" ] && kill "$INOPID" 2>/dev/null'

qemu-img create -q -f qcow2 "$T/a.qcow2" 64M
qemu-img create -q -f vpc -o subformat=fixed "$T/b.vhd" 8M
qemu-img create -q -f vmdk "$T/c.vmdk" 64M
qemu-img create -q -f raw "$T/d.raw" 8M

# attach FILE WANT-FORMAT [-r] : attach and remember the device
CASES=
attach()
{
	a_dev=$(losetup --find --show ${3:-} "$1" 2>"$T/losetup.err") || {
		e2e_skip "losetup failed: $(cat "$T/losetup.err")"
	}
	DEVS="$DEVS $a_dev"
	CASES="$CASES $a_dev:$2"
}
attach "$T/a.qcow2" qcow2
attach "$T/b.vhd" vpc
attach "$T/c.vmdk" vmdk -r
attach "$T/d.raw" raw -r
udevadm settle 2>/dev/null || true

sums()
{
	for s_d in $DEVS; do
		sha256sum "$s_d"
	done
	sha256sum "$T/a.qcow2" "$T/b.vhd" "$T/c.vmdk" "$T/d.raw"
}
sums >"$T/sums.before"

# watchers
MONPID=
INOPID=
if command -v udevadm >/dev/null 2>&1; then
	udevadm monitor --kernel --udev --subsystem-match=block >"$T/monitor" 2>&1 &
	MONPID=$!
fi
if command -v inotifywait >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	inotifywait -q -m -e close_write,modify,attrib,delete_self,move_self \
		--format '%w %e' $DEVS >"$T/inotify" 2>"$T/inotify.err" &
	INOPID=$!
else
	echo "# inotifywait not installed (inotify-tools): inotify check skipped"
fi
sleep 1

# check_trace LABEL : the strace log $T/trace holds no write of any kind
check_trace()
{
	# opens with a write, create, truncate or exclusive flag
	if grep -E '(open|openat|openat2)\(' "$T/trace" |
	   grep -E 'O_(WRONLY|RDWR|CREAT|TRUNC|EXCL)' >"$T/bad" 2>/dev/null; then
		e2e_notok "$1: opened for writing or exclusively: $(head -n 2 "$T/bad" | tr '\n' ' ')"
	else
		e2e_ok "$1: every open was read-only and not exclusive"
	fi
	# writes on anything but stdout/stderr, syncs
	if grep -E '(^|[0-9] )(write|pwrite64|pwritev|pwritev2|writev)\(([^12]|[0-9][0-9]+),' "$T/trace" >"$T/bad" ||
	   grep -E '(^|[0-9] )(fsync|fdatasync|sync_file_range|syncfs|fallocate|ftruncate)\(' "$T/trace" >>"$T/bad"; then
		e2e_notok "$1: wrote or synced: $(head -n 2 "$T/bad" | tr '\n' ' ')"
	else
		e2e_ok "$1: no write, sync or truncate"
	fi
	if grep -E 'ioctl\(.*(BLKRRPART|BLKPG|BLKFLSBUF|BLKDISCARD|BLKZEROOUT|BLKSECDISCARD|BLKROSET|LOOP_|HDIO_SET)' \
			"$T/trace" >"$T/bad"; then
		e2e_notok "$1: changing ioctl: $(head -n 2 "$T/bad" | tr '\n' ' ')"
	else
		e2e_ok "$1: no changing ioctl"
	fi
}

TRACE_SET='trace=open,openat,openat2,write,pwrite64,pwritev,pwritev2,writev,fsync,fdatasync,sync_file_range,syncfs,fallocate,ftruncate,ioctl'
for c in $CASES; do
	dev=${c%%:*}
	want=${c#*:}
	for mode in --json --udev "--json --deep"; do
		# shellcheck disable=SC2086
		timeout 30 strace -f -qq -o "$T/trace" -e "$TRACE_SET" \
			"$IMGSCAN" $mode "$dev" >"$T/out" 2>"$T/err"
		e2e_check "$dev ($want) $mode: exit status" "$?" 0 expected
		check_trace "$dev ($want) $mode"
		if [ "$mode" = "--json" ]; then
			e2e_check "$dev $mode: format" \
				"$(jq -r '.images[0].format' "$T/out" 2>/dev/null)" "$want" expected
		fi
	done
done
# the read-only devices really are read-only
for c in $CASES; do
	dev=${c%%:*}
	ro=$(blockdev --getro "$dev" 2>/dev/null)
	echo "# $dev read-only: $ro"
done

# the whole-system scan (every block device, read-only opens only)
timeout 60 strace -f -qq -o "$T/trace" -e "$TRACE_SET" "$IMGSCAN" --json >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -le 1 ]; then
	e2e_ok "scan of every device: exit status $rc"
else
	e2e_notok "scan of every device: exit status $rc ($(head -c 200 "$T/err"))"
fi
check_trace "scan of every device"
for c in $CASES; do
	dev=${c%%:*}
	if jq -e --arg d "$dev" '[.images[].path] | index($d) != null' "$T/out" >/dev/null 2>&1; then
		e2e_ok "scan of every device lists $dev"
	else
		e2e_notok "scan of every device does not list $dev"
	fi
done

sleep 1
udevadm settle 2>/dev/null || true
[ -n "$MONPID" ] && kill "$MONPID" 2>/dev/null
[ -n "$INOPID" ] && kill "$INOPID" 2>/dev/null
wait 2>/dev/null
MONPID=
INOPID=

sums >"$T/sums.after"
if cmp -s "$T/sums.before" "$T/sums.after"; then
	e2e_ok "sha256 of every device and backing file unchanged"
else
	e2e_notok "contents changed: $(diff "$T/sums.before" "$T/sums.after" | tr '\n' ' ')"
fi
if [ -f "$T/inotify" ]; then
	if [ -s "$T/inotify" ]; then
		e2e_notok "inotify saw: $(head -n 3 "$T/inotify" | tr '\n' ' ')"
	else
		e2e_ok "inotify saw no close_write/modify/attrib on the devices"
	fi
fi
if [ -f "$T/monitor" ]; then
	# only events naming our devices count (others may work on the host)
	: >"$T/events"
	for d in $DEVS; do
		grep -E "/block/$(basename "$d") " "$T/monitor" >>"$T/events" || true
	done
	if [ -s "$T/events" ]; then
		e2e_notok "udev events for the devices: $(head -n 3 "$T/events" | tr '\n' ' ')"
	else
		e2e_ok "no udev event for the devices while imgscan ran"
	fi
fi

e2e_summary
