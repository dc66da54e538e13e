#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/loopdev.sh -- imgscan on real block devices: images made with
# qemu-img are attached read-only to loop devices (512-byte and 4096-byte
# logical sectors) and "imgscan --json" / "imgscan --udev" on /dev/loopN must
# give the same answers as on the plain file, apart from the per-target
# fields path, size and scan (I/O counters).
#
# Spec followed: the imgscan CLI contract (one JSON object per PATH, --udev
# KEY=value lines, nothing for raw) and formats.md section 6 (read windows:
# the fixed VHD footer is in the LAST 512 bytes, which a 4096-byte-sector
# device must still deliver).  The images cover a header format (qcow2), a
# text-plus-binary one (vmdk), a footer-only one (fixed vpc, one whose size
# is not a multiple of 4096 and one whose size is) and raw.  On a 4096-byte
# sector device a file whose size is not a multiple of 4096 leaves a last
# partial block the kernel refuses to read (EIO, also for dd): there only a
# clear answer (error object or raw, exit 0/1) is required.
#
# Needs root, losetup and a free loop device; exits 77 otherwise.  Every loop
# device attached here is detached by the EXIT trap (losetup -d DEVICE).

# Header strings with quotes and $ are meant literally; jq paths in lists too.
# shellcheck disable=SC1091,SC2015,SC2016,SC2034,SC2086,SC2089,SC2090
. "${top_srcdir:-.}/tests/e2e/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	e2e_skip "needs root for loop devices"
fi
e2e_need_cmd losetup qemu-img jq
e2e_init
set -f
T=$E2E_TMP

# images: NAME FORMAT-IMGSCAN-MUST-REPORT
qemu-img create -q -f qcow2 "$T/img.qcow2" 64M
qemu-img create -q -f qcow2 -u -b 'back ing;$x.qcow2' -F qcow2 \
	-o lazy_refcounts=on "$T/img-backing.qcow2" 64M
qemu-img create -q -f vmdk "$T/img.vmdk" 64M
qemu-img create -q -f vpc -o subformat=fixed "$T/img-fixed.vhd" 8M
qemu-img create -q -f vpc -o subformat=fixed,force_size=on \
	"$T/img-fixed-4k.vhd" 8388096
qemu-img create -q -f raw "$T/img.raw" 8M
CASES='img.qcow2:qcow2 img-backing.qcow2:qcow2 img.vmdk:vmdk img-fixed.vhd:vpc
img-fixed-4k.vhd:vpc img.raw:raw'

# The one device attached at a time; the trap detaches it.  It is cleared
# right after losetup -d so the trap never detaches a device number that
# someone else may have attached since.
CUR_DEV=
E2E_CLEANUP='if [ -n "$CUR_DEV" ]; then losetup -d "$CUR_DEV" 2>/dev/null; fi'

# attach FILE [LOSETUP-OPTIONS...] : print the new device
attach()
{
	at_file=$1
	shift
	at_dev=$(losetup --find --show --read-only "$@" "$at_file" 2>"$T/losetup.err") ||
		return 1
	echo "$at_dev"
}

# norm JSONFILE PATH : images[0] without the per-target fields (path, size,
# scan, device); a string equal to PATH (the extent file name of a
# monolithic vmdk) becomes <PATH>
norm()
{
	jq -cS --arg p "$2" '.images[0] | del(.path, .size, .scan, .device)
		| walk(if . == $p then "<PATH>" else . end)' "$1" 2>/dev/null ||
		echo "<invalid JSON>"
}

# unreadable_tail LABEL DEV : the device's size is not a multiple of its
# 4096-byte logical sector, so the kernel fails every read of the last
# partial block (dd: EIO) and the fixed-VHD footer cannot be read by anyone.
# imgscan must still answer clearly: valid JSON, exit 0 or 1, and either an
# error object or a format (raw; never a made-up vpc).
unreadable_tail()
{
	"$IMGSCAN" --json "$2" >"$T/d.json" 2>"$T/d.err"
	ut_rc=$?
	case $ut_rc in
	0 | 1) e2e_ok "$1: exit status $ut_rc on $2" ;;
	*) e2e_notok "$1: exit status $ut_rc on $2 (want 0 or 1)" ;;
	esac
	ut_got=$(jq -r '.images[0] | if has("error") then "error"
		else .format end' "$T/d.json" 2>/dev/null)
	case $ut_got in
	error | raw) e2e_ok "$1: clear answer on $2 ($ut_got)" ;;
	*) e2e_notok "$1: answer on $2: imgscan ${ut_got:-<invalid JSON>}, expected an error object or raw" ;;
	esac
}

# compare_dev LABEL FILE DEV WANT-FORMAT
compare_dev()
{
	cd_l=$1
	cd_f=$2
	cd_d=$3
	"$IMGSCAN" --json "$cd_f" >"$T/f.json" 2>/dev/null
	"$IMGSCAN" --json "$cd_d" >"$T/d.json" 2>"$T/d.err"
	e2e_check "$cd_l: --json exit status on $cd_d" "$?" 0 expected
	e2e_check "$cd_l: format on $cd_d" \
		"$(jq -r '.images[0].format' "$T/d.json" 2>/dev/null)" "$4" expected
	e2e_check "$cd_l: --json path on $cd_d" \
		"$(jq -r '.images[0].path' "$T/d.json" 2>/dev/null)" "$cd_d" expected
	e2e_check "$cd_l: --json on $cd_d equals the file's (but path/size/scan)" \
		"$(norm "$T/d.json" "$cd_d")" "$(norm "$T/f.json" "$cd_f")" file
	"$IMGSCAN" --udev "$cd_f" 2>/dev/null | sort >"$T/f.udev"
	"$IMGSCAN" --udev "$cd_d" 2>"$T/d.err" | sort >"$T/d.udev"
	e2e_check "$cd_l: --udev on $cd_d equals the file's" \
		"$(cat "$T/d.udev")" "$(cat "$T/f.udev")" file
	if [ "$4" = raw ]; then
		e2e_check "$cd_l: --udev on $cd_d prints nothing for raw" \
			"$(cat "$T/d.udev")" "" expected
	else
		e2e_check "$cd_l: --udev ID_IMAGE_FORMAT on $cd_d" \
			"$(udev_get "$T/d.udev" ID_IMAGE_FORMAT)" "$4" expected
	fi
}

first=1
for c in $CASES; do
	name=${c%%:*}
	want=${c#*:}
	for ss in 512 4096; do
		if [ "$ss" = 512 ]; then
			dev=$(attach "$T/$name")
		else
			dev=$(attach "$T/$name" --sector-size 4096)
		fi
		CUR_DEV=$dev
		if [ -z "$dev" ] || [ ! -b "$dev" ]; then
			if [ "$first" = 1 ]; then
				e2e_skip "cannot attach a loop device: $(head -c 200 "$T/losetup.err")"
			fi
			e2e_notok "$name (sector size $ss): losetup failed: $(head -c 200 "$T/losetup.err")"
			continue
		fi
		first=0
		if [ "$want" = vpc ] && [ "$ss" = 4096 ] &&
			[ $(( $(wc -c <"$T/$name") % 4096 )) -ne 0 ]; then
			unreadable_tail "$name (sector size $ss)" "$dev"
		else
			compare_dev "$name (sector size $ss)" "$T/$name" "$dev" "$want"
		fi
		losetup -d "$dev" || e2e_notok "losetup -d $dev failed"
		CUR_DEV=
	done
done

e2e_summary
