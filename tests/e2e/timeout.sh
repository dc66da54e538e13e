# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/timeout.sh -- a device whose reads never return does not hold a
# bulk scan (--timeout).  A loop device is attached over a file of a tiny FUSE
# filesystem (tests/e2e/stuck-fuse.c, built here against libfuse3) that stops
# answering reads on SIGUSR1: every read of that loop device then hangs, as
# behind a dead SAN path or a hung NFS server.  Scanned with ordinary images
# on other loop devices and in plain files, by PATH and without PATH, with
# one job and with several, imgscan must report every other volume, mark the
# stuck one `timed out` (exit status 1), and return: each run is wrapped in
# timeout(1) with a generous limit (far above --timeout, far below "never").
#
# Needs root, /dev/fuse, libfuse3 (pkg-config fuse3), a C compiler and free
# loop devices; exits 77 otherwise.  The EXIT trap unsticks the device first
# (kills the FUSE server: the held reads fail), then detaches the loop
# devices and unmounts the FUSE filesystem, whatever failed before.

# shellcheck disable=SC1091,SC2086
. "${top_srcdir:-.}/tests/e2e/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	e2e_skip "needs root for loop devices and a FUSE mount"
fi
e2e_need_cmd losetup qemu-img jq timeout mountpoint umount pkg-config cc blockdev
[ -e /dev/fuse ] || modprobe fuse 2>/dev/null || true
[ -c /dev/fuse ] || e2e_skip "no /dev/fuse (FUSE is not available here)"
pkg-config --exists fuse3 || e2e_skip "libfuse3 development files missing (apt-get install libfuse3-dev)"
e2e_init
T=$E2E_TMP

FUSE_PID=
MOUNTED=
DEVS=
MNT=$T/mnt
cleanup_all()
{
	# unstick first: with the server gone every held read fails (EIO)
	if [ -n "$FUSE_PID" ]; then
		kill -KILL "$FUSE_PID" 2>/dev/null
		wait "$FUSE_PID" 2>/dev/null
	fi
	for d in $DEVS; do
		losetup -d "$d" 2>/dev/null
	done
	# a dead FUSE mount is no mountpoint to mountpoint(1) (ENOTCONN)
	if [ -n "$FUSE_PID$MOUNTED" ]; then
		umount -l "$MNT" 2>/dev/null
	fi
}
E2E_CLEANUP=cleanup_all

if ! cc -Wall -o "$T/stuck-fuse" "${top_srcdir:-.}/tests/e2e/stuck-fuse.c" \
	$(pkg-config --cflags --libs fuse3) 2>"$T/cc.err"; then
	e2e_notok "stuck-fuse.c does not build: $(head -c 300 "$T/cc.err" | tr '\n' ' ')"
	e2e_summary
fi

# the images: two in plain files, two on ordinary loop devices, one stuck
mkdir "$MNT" "$T/img"
qemu-img create -q -f qcow2 "$T/img/file.qcow2" 64M
qemu-img create -q -f vpc "$T/img/file.vhd" 32M
qemu-img create -q -f qcow2 "$T/img/loop.qcow2" 128M
qemu-img create -q -f vmdk "$T/img/loop.vmdk" 16M
qemu-img create -q -f qcow2 "$T/img/stuck.qcow2" 256M
# whole 512-byte sectors, so the loop devices hold the files whole
for f in "$T"/img/*; do
	s=$(stat -c %s "$f")
	truncate -s $(( (s + 65535) / 65536 * 65536 )) "$f"
done

"$T/stuck-fuse" "$T/img/stuck.qcow2" "$T/held" "$MNT" 2>"$T/fuse.err" &
FUSE_PID=$!
MOUNTED=1
i=0
while ! mountpoint -q "$MNT" && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
mountpoint -q "$MNT" || e2e_skip "cannot mount a FUSE filesystem: $(head -c 200 "$T/fuse.err")"

# attach FILE : a read-only loop device over FILE in $DEV, listed for the trap
attach()
{
	DEV=$(losetup --find --show --read-only "$1" 2>"$T/losetup.err")
	[ -n "$DEV" ] && [ -b "$DEV" ] || return 1
	DEVS="$DEVS $DEV"
}
attach "$MNT/disk" || e2e_skip "cannot attach a loop device over FUSE: $(head -c 200 "$T/losetup.err")"
STUCK=$DEV
attach "$T/img/loop.qcow2" || e2e_skip "cannot attach a loop device: $(head -c 200 "$T/losetup.err")"
L1=$DEV
attach "$T/img/loop.vmdk" || e2e_skip "cannot attach a loop device: $(head -c 200 "$T/losetup.err")"
L2=$DEV
F1=$T/img/file.qcow2
F2=$T/img/file.vhd
# udev's blkid reads new loop devices: let it finish before reads hang
if command -v udevadm >/dev/null 2>&1; then
	udevadm settle -t 10 2>/dev/null || true
fi

# before: the device over FUSE reads like any other
e2e_check "$STUCK over FUSE, answering: format" \
	"$(timeout 60 "$IMGSCAN" --json "$STUCK" 2>/dev/null | jq -r '.images[0].format' 2>/dev/null)" \
	qcow2 expected

# from now on every read of $STUCK hangs; and none is served from the page
# cache (udev's blkid filled it with buffered reads)
kill -USR1 "$FUSE_PID"
blockdev --flushbufs "$STUCK" 2>/dev/null || true

# scan LABEL LIMIT ARGS... : run imgscan --json ARGS under timeout LIMIT into
# $T/LABEL.json / .err / .rc, and its wall time (shown, not checked) in .s.
# An imgscan held in a read that never returns cannot be killed, not even
# by timeout(1): a watchdog kills the FUSE server 5 s after the limit, so
# that such a run ends (the held read fails) and is reported, not hung.
scan()
{
	sc_l=$1
	sc_lim=$2
	shift 2
	(
		i=0
		while [ $i -lt $((sc_lim + 5)) ]; do
			sleep 1
			i=$((i + 1))
		done
		kill -KILL "$FUSE_PID"
	) >/dev/null 2>&1 &
	sc_w=$!
	sc_t0=$(date +%s)
	timeout "$sc_lim" "$IMGSCAN" --json "$@" >"$T/$sc_l.json" 2>"$T/$sc_l.err"
	echo $? >"$T/$sc_l.rc"
	echo $(($(date +%s) - sc_t0)) >"$T/$sc_l.s"
	kill "$sc_w" 2>/dev/null
	wait "$sc_w" 2>/dev/null
}

# field LABEL PATH : format, or "error: MESSAGE (OP)" of the object of PATH
field()
{
	jq -r --arg p "$2" '.images[] | select(.path == $p) |
		if has("error") then "error: \(.error) (\(."error-op"))" else .format end' \
		"$T/$1.json" 2>/dev/null | head -n 1
}

# checks LABEL : every other volume reported, the stuck one timed out
checks()
{
	ck_rc=$(cat "$T/$1.rc")
	if [ "$ck_rc" = 124 ] || [ "$ck_rc" = 137 ]; then
		e2e_notok "$1: imgscan did not return within the limit (timeout(1) status $ck_rc)"
	else
		e2e_ok "$1: imgscan returned (status $ck_rc, in about $(cat "$T/$1.s") s)"
	fi
	e2e_check "$1: exit status" "$ck_rc" 1 expected
	e2e_check "$1: $STUCK (reads hang)" "$(field "$1" "$STUCK")" "error: timed out (read)" expected
	e2e_check "$1: stderr names the stuck device and the cause" \
		"$(grep -c "^imgscan: $STUCK: cannot read: timed out (.*--timeout" "$T/$1.err")" 1 expected
	e2e_check "$1: $L1" "$(field "$1" "$L1")" qcow2 expected
	e2e_check "$1: $L2" "$(field "$1" "$L2")" vmdk expected
}

checks_paths()
{
	checks "$1"
	e2e_check "$1: $F1" "$(field "$1" "$F1")" qcow2 expected
	e2e_check "$1: $F2" "$(field "$1" "$F2")" vpc expected
	e2e_check "$1: one object per PATH, in order" \
		"$(jq -r '[.images[].path] | join(" ")' "$T/$1.json" 2>/dev/null)" \
		"$F1 $L1 $STUCK $L2 $F2" expected
}

# several jobs (threads, a ring each), one job (the main thread's ring)
scan jobs4 30 --timeout 2 -j 4 "$F1" "$L1" "$STUCK" "$L2" "$F2"
checks_paths jobs4
[ -e "$T/held" ] && e2e_ok "the scan met a read that never returned (the server held it)" ||
	e2e_notok "no read reached the FUSE server: the test did not test a stuck device"
scan jobs1 30 --timeout 2 -j 1 "$F1" "$L1" "$STUCK" "$L2" "$F2"
checks_paths jobs1
# the default, 10 s
scan default 45 "$F1" "$L1" "$STUCK" "$L2" "$F2"
checks_paths default
# one PATH: its reads on demand, bounded the same way
scan single 30 --timeout 2 "$STUCK"
e2e_check "single: $STUCK alone" "$(field single "$STUCK")" "error: timed out (read)" expected
e2e_check "single: exit status" "$(cat "$T/single.rc")" 1 expected
# buffered reads (--no-direct), on the ring the same way
scan buffered 30 --timeout 2 --no-direct "$L1" "$STUCK" "$F1"
e2e_check "buffered: objects" \
	"$(jq -r '[.images[] | if has("error") then .error else .format end] | join(",")' "$T/buffered.json" 2>/dev/null)" \
	"qcow2,timed out,qcow2" expected
e2e_check "buffered: exit status" "$(cat "$T/buffered.rc")" 1 expected
# many volumes, the stuck one among them: vhdx images need reads past their
# first blocks (region table, metadata), deferred on the workers' rings while
# other volumes are probed; the ring a read outlived is replaced, and the
# reads deferred on it are made again on the next
qemu-img create -q -f vhdx "$T/img/file.vhdx" 64M
mkdir "$T/many"
set --
for i in $(seq 1 40); do
	if [ $((i % 2)) = 0 ]; then
		ln "$T/img/file.vhdx" "$T/many/$i.vhdx"
	else
		ln "$T/img/file.qcow2" "$T/many/$i.qcow2"
	fi
	set -- "$@" "$T/many/$i.$([ $((i % 2)) = 0 ] && echo vhdx || echo qcow2)"
	[ "$i" = 20 ] && set -- "$@" "$STUCK"
done
for j in 1 2; do
	scan many$j 30 --timeout 2 -j $j "$@"
	e2e_check "many, -j $j: 41 objects, in order" \
		"$(jq -r '[.images[].path] | join(" ")' "$T/many$j.json" 2>/dev/null)" "$*" expected
	e2e_check "many, -j $j: answers" \
		"$(jq -r '[.images[] | if has("error") then .error else .format end] | group_by(.) | map("\(.[0])=\(length)") | join(",")' "$T/many$j.json" 2>/dev/null)" \
		"qcow2=20,timed out=1,vhdx=20" expected
	e2e_check "many, -j $j: exit status" "$(cat "$T/many$j.rc")" 1 expected
done
# a whole-host scan: every block device; other devices of this host may
# fail for their own reasons, so only these three are checked
scan host 60 --timeout 2
checks host
# two stuck reads in one scan: the same device twice
scan twice 30 --timeout 2 "$STUCK" "$L1" "$STUCK"
e2e_check "twice: both objects of $STUCK timed out, $L1 reported" \
	"$(jq -r '[.images[] | if has("error") then .error else .format end] | join(",")' "$T/twice.json" 2>/dev/null)" \
	"timed out,qcow2,timed out" expected
e2e_check "twice: exit status" "$(cat "$T/twice.rc")" 1 expected

# unstick: the held reads fail, the loop devices detach
kill -KILL "$FUSE_PID" 2>/dev/null
wait "$FUSE_PID" 2>/dev/null
FUSE_PID=
e2e_summary
