#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/loopdev.sh -- imgscan on real block devices: every
# image of io_build (tests/e2e/io-files.sh: qcow2, qcow, qed, vmdk sparse /
# stream / VMware stream / COWD, vpc dynamic and fixed, vhdx, vdi, parallels,
# luks, dmg, bochs, cloop, raw) is attached to loop devices with 512-byte and
# 4096-byte logical sectors (losetup --sector-size), read-only and
# read-write, and "imgscan --json / --udev / --export" on /dev/loopN must give
# the same answers as on the plain file, apart from the per-target fields
# (path, size, offset, scan, device; DEVNAME).  Then each image is placed at
# the unaligned offset 12345 inside a larger device (12345 random bytes
# before it, zeros to a multiple of 4096 inserted before the trailer of the
# formats found at the end, so fixed VHD footers, dmg koly trailers and
# stream-vmdk footers stay at the END of the device) and "--offset 12345" on
# the device must equal the plain padded image.
#
# Spec followed: the imgscan CLI contract, docs/formats.md (the fixed VHD footer
# and the dmg koly are in the last 512 bytes, which a 4096-byte-sector device
# must still deliver) and docs/security.md, rule 8 (O_DIRECT on block
# devices: offset, length and buffer aligned to the logical block size, else
# EINVAL).  "No read is ever misaligned on a block device": on every loop
# device "imgscan --stats" must report scan.direct true and
# scan."direct-refused" false (no EINVAL fallback to buffered reads).
#
# Sizes that are not a multiple of the block size: losetup rounds a file down
# to 512 bytes (a qcow2 file of 196616 bytes gives a 196608-byte device); on a
# 4096-byte-sector device whose size is not a multiple of 4096 the kernel
# fails every read of the last partial block (dd: EIO, O_DIRECT: EINVAL).
# There qemu-img info on the device is the reference (odd_dev): where it
# opens the device imgscan must give the same format and virtual size, with
# no error and every read direct; where it fails too, any clear answer.
#
# Needs root, losetup and a free loop device; exits 77 otherwise.  Every loop
# device attached here is detached by the EXIT trap (losetup -d DEVICE).

# Header strings with quotes and $ are meant literally; jq paths in lists too.
# shellcheck disable=SC1091,SC2015,SC2016,SC2034,SC2086,SC2089,SC2090
. "${top_srcdir:-.}/tests/e2e/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	e2e_skip "needs root for loop devices"
fi
e2e_need_cmd losetup qemu-img jq dd truncate
e2e_init
set -f
T=$E2E_TMP
IMGS=$T/img
mkdir "$IMGS"
IO_FILES_LIB=1
. "${top_srcdir:-.}/tests/e2e/io-files.sh"

# The one device attached at a time; the trap detaches it.  It is cleared
# right after losetup -d so the trap never detaches a device number that
# someone else may have attached since.
CUR_DEV=
E2E_CLEANUP='if [ -n "$CUR_DEV" ]; then losetup -d "$CUR_DEV" 2>/dev/null; fi'

# attach FILE SECTOR-SIZE ro|rw : attach, set CUR_DEV; 1 when losetup fails
attach()
{
	at_ro=--read-only
	[ "$3" = ro ] || at_ro=
	CUR_DEV=$(losetup --find --show $at_ro --sector-size "$2" "$1" 2>"$T/losetup.err")
	[ -n "$CUR_DEV" ] && [ -b "$CUR_DEV" ]
}

detach()
{
	if [ -n "$CUR_DEV" ]; then
		losetup -d "$CUR_DEV" || e2e_notok "losetup -d $CUR_DEV failed"
	fi
	CUR_DEV=
}

# dev_checks LABEL PREFIX : the device's read counters: every read direct
# (nothing to check on an error object, already reported)
dev_checks()
{
	jq -e '.images[0] | has("error")' "$2.json" >/dev/null 2>&1 && return
	e2e_check "$1: --stats scan.direct / scan.\"direct-refused\" (no misaligned read)" \
		"$(io_scan "$2.json")" "true false" expected
	e2e_check "$1: --json path" "$(jq -r '.images[0].path' "$2.json" 2>/dev/null)" \
		"$CUR_DEV" expected
}

# dev_got PREFIX : the format of images[0], or "error: MESSAGE (OP)"
dev_got()
{
	jq -r '.images[0] | if has("error") then "error: \(.error) (\(."error-op"))"
		else .format end' "$1.json" 2>/dev/null || echo "<invalid JSON>"
}

# odd_dev LABEL PREFIX FORMAT TRAILER QEMU-F : a 4096-byte-sector device
# whose size is not a multiple of 4096: its last partial block cannot be read
# (EIO; EINVAL with O_DIRECT).  Where qemu-img info opens the device, imgscan
# must give its format and virtual size (no error); where qemu-img fails too,
# any clear answer will do: an error object, raw, or (header formats only)
# the file's format.  Never an exit status other than 0 or 1.
odd_dev()
{
	od_got=$(dev_got "$2")
	case $(cat "$2.rc") in
	0 | 1) e2e_ok "$1: exit status $(cat "$2.rc")" ;;
	*) e2e_notok "$1: exit status $(cat "$2.rc") (want 0 or 1)" ;;
	esac
	if qemu-img info -U --output=json ${5:+-f "$5"} "$CUR_DEV" >"$T/q.json" 2>"$T/q.err"; then
		e2e_check "$1: format (qemu-img opens the device)" "$od_got" \
			"$(jq -r .format "$T/q.json")"
		e2e_check "$1: virtual-size (qemu-img opens the device)" \
			"$(jq -r '.images[0]."virtual-size"' "$2.json" 2>/dev/null)" \
			"$(jq -r '."virtual-size"' "$T/q.json")"
		return
	fi
	od_ok="raw"
	[ "$4" -gt 0 ] || od_ok="raw $3"
	case " $od_ok " in
	*" $od_got "*) e2e_ok "$1: clear answer ($od_got; qemu-img cannot open it either)" ;;
	*)
		case $od_got in
		"error: "*) e2e_ok "$1: clear answer ($od_got; qemu-img cannot open it either)" ;;
		*) e2e_notok "$1: answer $od_got, expected an error object or one of: $od_ok (qemu-img: $(head -c 120 "$T/q.err" | tr '\n' ' '))" ;;
		esac
		;;
	esac
}

io_build "$IMGS"
[ -s "$IMGS/cases" ] || e2e_skip "no image could be made"

# losetup must work at all, else skip
first=$(head -n 1 "$IMGS/cases" | cut -d' ' -f1)
attach "$IMGS/$first" 512 ro ||
	e2e_skip "cannot attach a loop device: $(head -c 200 "$T/losetup.err")"
detach

while read -r f fmt trailer qf; do
	io_outputs "$IMGS/$f.ref" "$IMGS/$f"
	if jq -e '.images[0] | has("error")' "$IMGS/$f.ref.json" >/dev/null 2>&1; then
		e2e_notok "$f: imgscan error on the plain file: $(jq -c '.images[0]' "$IMGS/$f.ref.json")"
		continue
	fi
	fsize=$(wc -c <"$IMGS/$f")
	for mode in 512:ro 4096:ro 512:rw 4096:rw; do
		ss=${mode%:*}
		rw=${mode#*:}
		l="$f ($fsize bytes) on a $ss-byte-sector $rw loop device"
		if ! attach "$IMGS/$f" "$ss" "$rw"; then
			e2e_notok "$l: losetup failed: $(head -c 200 "$T/losetup.err")"
			CUR_DEV=
			continue
		fi
		l="$l $CUR_DEV"
		io_outputs "$T/d" "$CUR_DEV"
		[ "$qf" != - ] || qf=
		if [ $((fsize / 512 * 512 % ss)) -ne 0 ]; then
			odd_dev "$l (last block partial)" "$T/d" "$fmt" "$trailer" "$qf"
		else
			e2e_check "$l: format" "$(dev_got "$T/d")" "$fmt" expected
			io_same "$l" "$T/d" "$CUR_DEV" "$IMGS/$f.ref" "$IMGS/$f"
		fi
		dev_checks "$l" "$T/d"
		detach
	done

	# at the unaligned offset 12345 of a device whose end is 4096-aligned
	if ! io_place "$IMGS/$f" "$IMGS/$f.in" "$IMGS/$f.out" $IO_PREFIX "$trailer"; then
		e2e_notok "$f: cannot place it at offset $IO_PREFIX"
		continue
	fi
	io_outputs "$IMGS/$f.in" "$IMGS/$f.in"
	for ss in 512 4096; do
		l="$f at --offset $IO_PREFIX of a $ss-byte-sector loop device"
		if ! attach "$IMGS/$f.out" "$ss" ro; then
			e2e_notok "$l: losetup failed: $(head -c 200 "$T/losetup.err")"
			CUR_DEV=
			continue
		fi
		l="$l $CUR_DEV"
		io_outputs "$T/o" "$CUR_DEV" --offset $IO_PREFIX
		io_same "$l" "$T/o" "$CUR_DEV" "$IMGS/$f.in" "$IMGS/$f.in"
		io_offset "$l" "$T/o" "$fmt" $IO_PREFIX
		dev_checks "$l" "$T/o"
		detach
	done
	rm -f "$IMGS/$f.in" "$IMGS/$f.out"
done <"$IMGS/cases"

# a loop device detached while a scan runs, after it was listed and checked
# (2000 files before it): an error, never a raw volume of 0 bytes
if attach "$IMGS/$first" 512 ro; then
	gone=$CUR_DEV
	mkdir "$T/many"
	set --
	i=0
	while [ $i -lt 2000 ]; do
		ln "$IMGS/$first" "$T/many/$i" || break
		set -- "$@" "$T/many/$i"
		i=$((i + 1))
	done
	"$IMGSCAN" --json "$@" "$gone" >"$T/gone.json" 2>"$T/gone.err" &
	scan=$!
	sleep 0.03
	detach
	wait $scan
	e2e_check "$gone detached during a scan: exit 1" "$?" 1 "wanted"
	e2e_check "$gone detached during a scan: every target reported" \
		"$(jq '.images | length' "$T/gone.json")" 2001 "wanted"
	e2e_check "$gone detached during a scan: an error object, not a volume" \
		"$(jq -r '.images[-1] | "\(.format // "-") \(.error != null)"' "$T/gone.json")" "- true" "wanted"
	e2e_check "$gone detached during a scan: the error says why" \
		"$(grep -c -e 'the device is empty' -e 'loop device without a backing file' "$T/gone.err")" 1 "wanted"
else
	e2e_notok "losetup failed: $(head -c 200 "$T/losetup.err")"
fi

e2e_summary
