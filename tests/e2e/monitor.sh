#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# --monitor with the real systemd-udevd and a loop device: a qcow2 image
# written onto the device (udevd's inotify watch turns the close after the
# write into a "change" event) is reported within a second as one JSON line
# with the image facts, its "image" the very object `imgscan -J DEVICE`
# prints (key order included), the DEL and C1 of its backing file name
# escaped as \u007f and \u0085 as -J writes them; an ext4 written onto it
# is "skipped" (the guards of the udev rule); detaching the device gives a
# change line "empty device"; SIGTERM and SIGINT end the monitor with exit
# status 0.  A device-mapper device made
# over the loop device and removed (dmsetup) gives a "remove" line.
#
# Needs root, losetup, qemu-img, jq and udevadm.  When no udevd runs, one
# is started (/lib/systemd/systemd-udevd --daemon) and stopped at the end.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

[ "$(id -u)" = 0 ] || e2e_skip "needs root (loop devices, udevd)"
e2e_need_cmd qemu-img jq losetup udevadm dd
[ -e /dev/loop-control ] || e2e_skip "no /dev/loop-control (loop driver missing)"
e2e_init
T=$E2E_TMP
# seconds allowed between the end of the write and the JSON line
DEADLINE=${MONITOR_DEADLINE:-1}

UDEVD_PID=
LOOP=
MON_PID=
E2E_CLEANUP='m_cleanup'
m_cleanup()
{
	[ -n "$MON_PID" ] && kill "$MON_PID" 2>/dev/null
	command -v dmsetup >/dev/null 2>&1 && dmsetup --noudevsync remove imgscan-mon-test 2>/dev/null
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	if [ -n "$UDEVD_PID" ]; then
		kill "$UDEVD_PID" 2>/dev/null
	fi
}

# a udevd that answers is used as it is; else one is started, and stopped by its pid
if ! timeout 5 udevadm control --ping >/dev/null 2>&1; then
	[ -x /lib/systemd/systemd-udevd ] || e2e_skip "no systemd-udevd"
	/lib/systemd/systemd-udevd --daemon >/dev/null 2>&1 || e2e_skip "cannot start systemd-udevd"
	sleep 0.3
	UDEVD_PID=$(cat /run/udev/udevd.pid 2>/dev/null || pgrep -n -x systemd-udevd)
	[ -n "$UDEVD_PID" ] || e2e_skip "systemd-udevd did not start"
fi
timeout 10 udevadm control --ping >/dev/null 2>&1 || e2e_skip "systemd-udevd does not answer"

truncate -s 32M "$T/disk.raw"
LOOP=$(losetup -f --show "$T/disk.raw") || e2e_skip "no free loop device"
timeout 30 udevadm settle --timeout=20 2>/dev/null
# a backing file name with DEL and a C1 control (U+0085): never opened (-u)
BACKING=$(printf 'base\177\302\205.qcow2')
qemu-img create -q -f qcow2 -u -b "$BACKING" -F qcow2 "$T/img.qcow2" 20M

# start_monitor FILE : imgscan --monitor in the background, output to FILE
start_monitor()
{
	"$IMGSCAN" --monitor >"$1" 2>"$1.err" &
	MON_PID=$!
	sleep 0.5 # the netlink socket is bound before the first event
}

# wait_line FILE JQFILTER : seconds (tenths) until a line matching FILTER
# appears, at most DEADLINE + 5 s; prints the elapsed tenths or "timeout"
wait_line()
{
	w_n=0
	while [ "$w_n" -le $((DEADLINE * 10 + 50)) ]; do
		if jq -e -c "select($2)" "$1" 2>/dev/null | grep -q .; then
			echo "$w_n"
			return 0
		fi
		sleep 0.1
		w_n=$((w_n + 1))
	done
	echo timeout
	return 1
}

dev_filter=".devname == \"$LOOP\""

start_monitor "$T/mon1"
dd if="$T/img.qcow2" of="$LOOP" conv=notrunc,fsync status=none
tenths=$(wait_line "$T/mon1" "$dev_filter and .image.format == \"qcow2\"")
if [ "$tenths" != timeout ] && [ "$tenths" -le $((DEADLINE * 10)) ]; then
	e2e_ok "qcow2 written onto $LOOP reported within $(((tenths + 1) * 100)) ms"
else
	e2e_notok "qcow2 written onto $LOOP not reported within ${DEADLINE} s ($tenths tenths)"
fi
line=$(jq -c "select($dev_filter and .image.format == \"qcow2\")" "$T/mon1" | tail -n 1)
printf '%s\n' "$line" >"$T/line.json"
e2e_check "event: action" "$(jq -r .action "$T/line.json")" change expected
e2e_check "event: source" "$(jq -r .source "$T/line.json")" probe expected
qemu-img info -U --output=json -f qcow2 "$LOOP" >"$T/q.json" 2>/dev/null
e2e_check "event: virtual-size" "$(jq -r '.image["virtual-size"]' "$T/line.json")" \
	"$(jq -r '.["virtual-size"]' "$T/q.json")"
e2e_check "event: devnum" "$(jq -r .devnum "$T/line.json")" \
	"$(printf '%d:%d' "0x$(stat -c %t "$LOOP")" "0x$(stat -c %T "$LOOP")")" stat
# the event's "image" is the object -J prints for the device (-J now, before
# the ext4 below replaces the image), compared member by member and in order
"$IMGSCAN" -J "$LOOP" >"$T/j.json" 2>"$T/j.err"
jq -c '.images[0]' "$T/j.json" >"$T/j.obj" 2>/dev/null
jq -c '.image' "$T/line.json" >"$T/ev.obj" 2>/dev/null
if [ -s "$T/j.obj" ] && cmp -s "$T/j.obj" "$T/ev.obj"; then
	e2e_ok "event: image is the object -J $LOOP prints ($(wc -c <"$T/j.obj") bytes)"
else
	e2e_notok "event: image differs from the object -J $LOOP prints"
	diff "$T/j.obj" "$T/ev.obj" | head -n 20 >&2
	head -n 5 "$T/j.err" >&2
fi
e2e_check "event: backing-filename, read back" \
	"$(jq -r '.image["backing-filename"]' "$T/line.json")" "$BACKING" qemu-img
# the JSON text itself: no raw DEL or C1 byte, the escapes -J writes
raw_ctl=$(LC_ALL=C grep -c "$(printf '\177')\\|$(printf '\302\205')" "$T/mon1")
e2e_check "no raw DEL or C1 byte in the monitor's lines" "$raw_ctl" 0 expected
# (the event's line as imgscan wrote it, not as jq rewrote it: once; -J: once)
grep -F "\"devname\":\"$LOOP\"" "$T/mon1" | grep -F '"format":"qcow2"' | tail -n 1 >"$T/line.raw"
e2e_check "the monitor line escapes them as -J does" \
	"$(grep -c 'base\\u007f\\u0085\.qcow2' "$T/line.raw") $(grep -c 'base\\u007f\\u0085\.qcow2' "$T/j.json")" \
	"1 1" expected
bad=$(grep -cv '^{.*}$' "$T/mon1")
e2e_check "every line is one JSON object" "$bad" 0 expected
jq -e . "$T/mon1" >/dev/null 2>&1
e2e_check "every line parses" "$?" 0 expected

# a filesystem: skipped under the rule's guards, never probed
if command -v mkfs.ext4 >/dev/null 2>&1; then
	mkfs.ext4 -q -F "$LOOP" >/dev/null 2>&1
	tenths=$(wait_line "$T/mon1" "$dev_filter and .source == \"none\"")
	e2e_check "ext4 written: skipped" "$(jq -r "select($dev_filter and .source == \"none\") | .skipped" \
		"$T/mon1" | tail -n 1)" "blkid found a filesystem" expected
fi

# SIGTERM ends it with status 0
kill -TERM "$MON_PID"
wait "$MON_PID"
e2e_check "SIGTERM: exit status 0" "$?" 0 expected
MON_PID=

# detaching: the loop device stays, emptied (a change event, "empty device");
# a device-mapper device over it gives a real remove
start_monitor "$T/mon2"
if command -v dmsetup >/dev/null 2>&1 &&
		dmsetup --noudevsync create imgscan-mon-test \
			--table "0 $(blockdev --getsz "$LOOP") linear $LOOP 0" 2>/dev/null; then
	DM=/dev/$(basename "$(readlink -f /dev/mapper/imgscan-mon-test)")
	sleep 0.3
	dmsetup --noudevsync remove imgscan-mon-test
	tenths=$(wait_line "$T/mon2" ".devname == \"$DM\" and .action == \"remove\"")
	[ "$tenths" != timeout ]
	e2e_check "dmsetup remove: a remove line for $DM" "$?" 0 expected
fi
losetup -d "$LOOP"
tenths=$(wait_line "$T/mon2" "$dev_filter and .skipped == \"empty device\"")
[ "$tenths" != timeout ]
e2e_check "losetup -d: a change line, empty device, not opened" "$?" 0 expected
LOOP=
kill -INT "$MON_PID"
wait "$MON_PID"
e2e_check "SIGINT: exit status 0" "$?" 0 expected
MON_PID=

# a monitor that falls behind: the events of a medium replaced since (a raw
# image detached, then a fixed VHD attached on the same loop device) are
# marked as such (the disk's diskseq changed), never described by the probe
# of the later image; the events of the VHD are
if [ -r /sys/block/loop0/diskseq ] || [ -r "/sys/block/$(basename "$(losetup -f)")/diskseq" ]; then
	truncate -s 16M "$T/zero.raw"
	qemu-img create -q -f vpc -o subformat=fixed "$T/fixed.vhd" 16M
	start_monitor "$T/mon3"
	kill -STOP "$MON_PID"
	LOOP=$(losetup -f --show "$T/zero.raw")
	timeout 30 udevadm settle --timeout=20 2>/dev/null
	losetup -d "$LOOP"
	timeout 30 udevadm settle --timeout=20 2>/dev/null
	losetup "$LOOP" "$T/fixed.vhd"
	timeout 30 udevadm settle --timeout=20 2>/dev/null
	kill -CONT "$MON_PID"
	tenths=$(wait_line "$T/mon3" ".devname == \"$LOOP\" and .image.format == \"vpc\"")
	[ "$tenths" != timeout ]
	e2e_check "fallen behind: the VHD attached last is described" "$?" 0 expected
	sleep 0.5
	stale=$(jq -r "select(.devname == \"$LOOP\" and .skipped != null and (.skipped | startswith(\"the device has changed\"))) | .action" \
		"$T/mon3" | grep -c .)
	e2e_check "fallen behind: the raw image's events are marked, not described as the VHD" \
		"$([ "$stale" -ge 1 ] && echo yes || echo "$stale marked")" yes expected
	losetup -d "$LOOP"
	LOOP=
	kill -TERM "$MON_PID"
	wait "$MON_PID"
	MON_PID=
else
	e2e_ok "fallen behind: not checked, no diskseq in sysfs (Linux < 5.15)"
fi

# usage
"$IMGSCAN" --monitor /dev/null >/dev/null 2>&1
e2e_check "--monitor with a PATH: exit 2" "$?" 2 expected

e2e_summary
