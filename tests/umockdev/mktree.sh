#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/umockdev/mktree.sh -- regenerate tests/umockdev/tree.umockdev, the
# test bed of tests/e2e/tree-lvm.sh (-T backing chains among LVs).
# Not run by "make check": the bed is committed.
#
#   sh tests/umockdev/mktree.sh [OUTDIR]      (default: the script's directory)
#
# Needs qemu-img (the committed bed was made with qemu-img 7.2, Debian 12) and
# od.  Same record format and conventions as mkbeds.sh (P: sysfs path, N: node
# with the first 4 KiB of the image, trailing zero bytes cut, E: the
# properties Debian 12's 55-dm.rules and 56-lvm.rules leave, A: sysfs
# attributes).  tree-lvm.sh derives a sysfs-only variant (no DM_* properties,
# VG/LV split from dm/name) by dropping the E: DM_* lines.
#
# Each LV holds a qcow2 v3 header made with
#   qemu-img create -f qcow2 -u -b BACKING -F qcow2 IMG 64M
# (-u: the backing need not exist), BACKING as in the table below, written
# the way oVirt vdsm writes them on block storage domains (docs/udev.md,
# "oVirt/vdsm block storage": "../IMAGE/VOLUME", or the bare volume name),
# or as absolute
# /dev/VG/LV, /dev/mapper/DM-NAME and /dev/dm-N names.
#
# dm minors 220+ (no real host should have /run/udev/data/b253:22x, which
# libudev would read even under umockdev); every LV is 16 MiB (32768 sectors):
#
#   minor dm name                 VG/LV                 backing name
#   220   ovirt--sd-base--vol     ovirt-sd/base-vol     (none)
#   221   ovirt--sd-mid--vol      ovirt-sd/mid-vol      ../img-uuid-1/base-vol
#   222   ovirt--sd-top--vol      ovirt-sd/top-vol      /dev/ovirt-sd/mid-vol
#   223   ovirt--sd-mapper--child ovirt-sd/mapper-child /dev/mapper/ovirt--sd-base--vol
#   224   ovirt--sd-lost          ovirt-sd/lost         ../img-x/missing-vol
#   225   ovirt--sd-loop--a       ovirt-sd/loop-a       ../img-l/loop-b
#   226   ovirt--sd-loop--b       ovirt-sd/loop-b       ../img-l/loop-a
#   227   other-base--vol         other/base-vol        (none)
#   228   ovirt--sd-bare--child   ovirt-sd/bare-child   base-vol (newer vdsm)
#   229   ovirt--sd-cross--child  ovirt-sd/cross-child  /dev/other/base-vol
#   230   ovirt--sd-bad--mapper   ovirt-sd/bad-mapper   /dev/mapper/ovirt-sd-base-vol
#                                                       (hyphens not doubled:
#                                                       no such dm name)
#   231   ovirt--sd-node--child   ovirt-sd/node-child   /dev/dm-220
#   232   other-other--child      other/other-child     ../img-o/base-vol
#                                                       (other's base-vol)
#   233   ovirt--sd-self--vol     ovirt-sd/self-vol     ../img-s/self-vol (itself)
#   234   ovirt--sd-deep--child   ovirt-sd/deep-child   ../../img-d/sub/base-vol
#                                                       (not a vdsm shape: names
#                                                       no LV, whatever the dir)
#   235   ovirt--sd-dot--child    ovirt-sd/dot-child    ./mid-vol (from /dev/ovirt-sd)
#   236   ovirt--sd-rel--cross    ovirt-sd/rel-cross    ../other/other-child (from
#                                                       /dev/ovirt-sd: other's LV)
set -eu

out=${1:-$(dirname "$0")}
T=$(mktemp -d "${TMPDIR:-/tmp}/imgscan-mktree.XXXXXX")
trap 'rm -rf "$T"' EXIT

# hex FILE: the first 4 KiB as one upper-case hex string, trailing zero bytes cut
hex()
{
	head -c 4096 "$1" | od -An -v -tx1 | tr -d ' \n' | tr 'a-f' 'A-F' | sed 's/\(00\)*$//'
}

SD=5d1f0a4bc2e34f7a9b8c0d1e2f3a4b5c
OT=0a1b2c3d4e5f60718293a4b5c6d7e8f9

# lv MINOR VG LV BACKING: one dm device record
lv()
{
	minor=$1 vg=$2 name=$3 backing=$4
	img=$T/dm-$minor
	if [ -n "$backing" ]; then
		qemu-img create -q -f qcow2 -u -b "$backing" -F qcow2 "$img" 64M
	else
		qemu-img create -q -f qcow2 "$img" 64M
	fi
	# dm name: VG-LV with every hyphen inside a name doubled
	dmname=$(printf '%s' "$vg" | sed 's/-/--/g')-$(printf '%s' "$name" | sed 's/-/--/g')
	case $vg in
	ovirt-sd) vgu=$SD ;;
	*) vgu=$OT ;;
	esac
	uuid=$(printf 'LVM-%s%032d' "$vgu" "$minor")
	printf 'P: /devices/virtual/block/dm-%d\n' "$minor"
	printf 'N: dm-%d=%s\n' "$minor" "$(hex "$img")"
	printf 'E: DEVNAME=/dev/dm-%d\nE: DEVTYPE=disk\nE: DISKSEQ=%d\nE: MAJOR=253\nE: MINOR=%d\n' \
		"$minor" $((minor + 100)) "$minor"
	printf 'E: SUBSYSTEM=block\n'
	printf 'E: DM_UDEV_DISABLE_LIBRARY_FALLBACK_FLAG=1\nE: DM_UDEV_PRIMARY_SOURCE_FLAG=1\n'
	printf 'E: DM_UDEV_RULES=1\nE: DM_UDEV_RULES_VSN=2\nE: DM_ACTIVATION=1\n'
	printf 'E: DM_NAME=%s\nE: DM_UUID=%s\nE: DM_SUSPENDED=0\n' "$dmname" "$uuid"
	printf 'E: DM_VG_NAME=%s\nE: DM_LV_NAME=%s\nE: DM_LV_LAYER=\n' "$vg" "$name"
	printf 'E: DEVLINKS=/dev/mapper/%s /dev/%s/%s /dev/disk/by-id/dm-name-%s\n' \
		"$dmname" "$vg" "$name" "$dmname"
	printf 'E: TAGS=:systemd:\nE: CURRENT_TAGS=:systemd:\n'
	printf 'A: dev=253:%d\\n\nA: size=32768\\n\nA: ro=0\\n\nA: removable=0\\n\nA: hidden=0\\n\n' \
		"$minor"
	printf 'A: dm/name=%s\\n\nA: dm/uuid=%s\\n\nA: dm/suspended=0\\n\nA: dm/use_blk_mq=0\\n\n' \
		"$dmname" "$uuid"
	printf 'A: queue/logical_block_size=512\\n\nA: queue/physical_block_size=512\\n\n\n'
}

bed()
{
	lv 220 ovirt-sd base-vol ''
	lv 221 ovirt-sd mid-vol ../img-uuid-1/base-vol
	lv 222 ovirt-sd top-vol /dev/ovirt-sd/mid-vol
	lv 223 ovirt-sd mapper-child /dev/mapper/ovirt--sd-base--vol
	lv 224 ovirt-sd lost ../img-x/missing-vol
	lv 225 ovirt-sd loop-a ../img-l/loop-b
	lv 226 ovirt-sd loop-b ../img-l/loop-a
	lv 227 other base-vol ''
	lv 228 ovirt-sd bare-child base-vol
	lv 229 ovirt-sd cross-child /dev/other/base-vol
	lv 230 ovirt-sd bad-mapper /dev/mapper/ovirt-sd-base-vol
	lv 231 ovirt-sd node-child /dev/dm-220
	lv 232 other other-child ../img-o/base-vol
	lv 233 ovirt-sd self-vol ../img-s/self-vol
	lv 234 ovirt-sd deep-child ../../img-d/sub/base-vol
	lv 235 ovirt-sd dot-child ./mid-vol
	lv 236 ovirt-sd rel-cross ../other/other-child
}

# no comment line: umockdev 0.17 rejects anything before the first P:
bed >"$out/tree.umockdev.tmp"
mv "$out/tree.umockdev.tmp" "$out/tree.umockdev"
