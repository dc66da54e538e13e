#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/umockdev/mkbeds.sh -- regenerate the umockdev test beds used by
# tests/e2e/lvm-enum.sh.  Not run by "make check": the beds are committed.
#
#   sh tests/umockdev/mkbeds.sh [OUTDIR]      (default: the script's directory)
#
# Needs qemu-img (beds committed were made with qemu-img 7.2, Debian 12) and od.
#
# Writes two beds in umockdev's record format (umockdev_testbed_add_from_string:
# P: sysfs path, N: node[=HEX contents], E: property, A: sysfs attribute):
#
#   lvm.umockdev        what the kernel puts in sysfs AND what Debian 12's
#                       55-dm.rules (dmsetup 1.02.185) and 56-lvm.rules
#                       (lvm2 2.03.16) leave in the udev database
#                       (docs/udev.md, "Device-mapper and LVM flags").
#                       umockdev has no udev
#                       database: E: lines go to the sysfs "uevent" file, which
#                       libudev reads as properties, so libudev sees the same
#                       DM_* keys it would read from /run/udev/data.
#   lvm-sysfs.umockdev  the same devices with the kernel's uevent keys only
#                       (MAJOR, MINOR, DEVNAME, DEVTYPE, DISKSEQ): a host or
#                       container without udevd, where VG/LV must be split
#                       from dm/name and dm/suspended is the only flag.
#
# Device nodes hold the first KiBs of a real image (trailing zero bytes cut;
# lvm-enum.sh extends each node to its sysfs size with zeros before scanning).
# Internal layers, the suspended and the flagged LV hold a valid qcow2 header
# too, so opening and probing one of them would show up in the output.
#
# Devices (dm minors 200+ and loop minor 250, so that libudev, which reads the
# host's real /run/udev/data/b<maj>:<min> even under umockdev, finds nothing):
#
#   vdb   254:16   disk, LVM2 PV of vg0 (raw)
#   vdc   254:32   disk, LVM2 PV of vg1 (raw)
#   dm-200 vg0-lv_a          plain LV, qcow2 v3 64 MiB
#   dm-201 vg0-lv--b         plain LV "lv-b" (hyphen doubled in the dm name), raw
#   dm-202 vg1-data          plain LV, vmdk 32 MiB
#   dm-203 vg0-pool0_tmeta   thin pool metadata  uuid -tmeta   hidden
#   dm-204 vg0-pool0_tdata   thin pool data      uuid -tdata   hidden
#   dm-205 vg0-pool0-tpool   thin-pool target    uuid -tpool   layer tpool
#   dm-206 vg0-pool0         thin pool (visible) uuid -pool    flags disabled
#   dm-207 vg0-thin1         thin LV, qed 48 MiB
#   dm-208 vg1-origin        snapshot origin, vdi 16 MiB
#   dm-209 vg1-origin-real   origin's real device uuid -real   layer real
#   dm-210 vg1-snap          old-style snapshot (LOW_PRIORITY), vdi 16 MiB
#   dm-211 vg1-snap-cow      snapshot exception store uuid -cow layer cow
#   dm-212 vg1-frozen        suspended LV (dm/suspended 1)
#   dm-213 vg1-fresh         new LV not yet wiped: DM_NOSCAN=1 and
#                            DM_UDEV_DISABLE_OTHER_RULES_FLAG=1 (udev db only)
#   dm-214 luks-...          dm-crypt (CRYPT-LUKS2-... uuid), qcow2 v2 20 MiB
#   dm-216 my--vg-lv--data   plain LV "lv-data" in VG "my-vg", raw
#   dm-215 mpatha            dm device without a table: size 0 (udev db: the
#                            "disable" flags 55-dm.rules sets on such an add)
#   sr0   11:0     CD-ROM drive without a medium: size 0
#   loop250 7:250            loop device without a backing file: size 0
set -eu

out=${1:-$(dirname "$0")}
T=$(mktemp -d "${TMPDIR:-/tmp}/imgscan-mkbeds.XXXXXX")
trap 'rm -rf "$T"' EXIT

qemu-img create -q -f qcow2 "$T/lv_a" 64M
qemu-img create -q -f vmdk "$T/data" 32M
qemu-img create -q -f qed "$T/thin1" 48M
qemu-img create -q -f vdi "$T/origin" 16M
qemu-img create -q -f qcow2 -o compat=0.10 "$T/crypt" 20M
qemu-img create -q -f qcow2 -o lazy_refcounts=on "$T/hidden" 8M
# an LVM2 PV label: "LABELONE" in sector 1, "LVM2 001" at +24 (raw for imgscan)
{ head -c 512 /dev/zero; printf 'LABELONE'; head -c 16 /dev/zero; printf 'LVM2 001'; } >"$T/pv"
head -c 4096 /dev/zero >"$T/zero"

# hex FILE: the first 4 KiB as one upper-case hex string, trailing zero bytes cut
hex()
{
	head -c 4096 "$1" | od -An -v -tx1 | tr -d ' \n' | tr 'a-f' 'A-F' | sed 's/\(00\)*$//'
}

# node NAME [FILE]: the N: line; umockdev wants at least one hex byte after '='
node()
{
	h=
	if [ -n "${2:-}" ]; then
		h=$(hex "$2")
	fi
	if [ -n "$h" ]; then
		printf 'N: %s=%s\n' "$1" "$h"
	else
		printf 'N: %s\n' "$1"
	fi
}

VG0=Vg0Vg0aaaaBBBBccccDDDDeeeeFFFF01
VG1=Vg1Vg1ggggHHHHiiiiJJJJkkkkLLLL02

# lvuuid N: 32 characters
lvuuid()
{
	printf 'Lv%02dLvmmmmNNNNooooPPPPqqqqRRRRss' "$1"
}

# disk NAME MINOR SECTORS PVUUID CONTENTS
disk()
{
	printf 'P: /devices/pci0000:00/0000:00:%02x.0/virtio%d/block/%s\n' \
		$(($2 / 16 + 5)) $(($2 / 16 + 1)) "$1"
	node "$1" "$5"
	printf 'E: DEVNAME=/dev/%s\nE: DEVTYPE=disk\nE: DISKSEQ=%d\nE: MAJOR=254\nE: MINOR=%d\n' \
		"$1" $(($2 + 100)) "$2"
	printf 'E: SUBSYSTEM=block\n'
	if [ "$mode" = udev ]; then
		printf 'E: ID_FS_TYPE=LVM2_member\nE: ID_FS_USAGE=raid\nE: ID_FS_VERSION=LVM2 001\n'
		printf 'E: ID_FS_UUID=%s\nE: ID_FS_UUID_ENC=%s\n' "$4" "$4"
		printf 'E: DEVLINKS=/dev/disk/by-id/lvm-pv-uuid-%s /dev/disk/by-path/virtio-pci-0000:00:%02x.0\n' \
			"$4" $(($2 / 16 + 5))
		printf 'E: TAGS=:systemd:\nE: CURRENT_TAGS=:systemd:\n'
	fi
	printf 'A: dev=254:%d\\n\nA: size=%d\\n\nA: ro=0\\n\nA: removable=0\\n\nA: hidden=0\\n\n' \
		"$2" "$3"
	printf 'A: queue/logical_block_size=512\\n\nA: queue/physical_block_size=512\\n\n\n'
}

# dm MINOR DMNAME DMUUID SECTORS SUSPENDED CONTENTS [KEY=VALUE (udev db only)...]
dm()
{
	minor=$1 name=$2 uuid=$3 sectors=$4 susp=$5 contents=$6
	shift 6
	printf 'P: /devices/virtual/block/dm-%d\n' "$minor"
	node "dm-$minor" "$contents"
	printf 'E: DEVNAME=/dev/dm-%d\nE: DEVTYPE=disk\nE: DISKSEQ=%d\nE: MAJOR=253\nE: MINOR=%d\n' \
		"$minor" $((minor + 100)) "$minor"
	printf 'E: SUBSYSTEM=block\n'
	if [ "$mode" = udev ]; then
		# 55-dm.rules (coldplug of an active device)
		printf 'E: DM_UDEV_DISABLE_LIBRARY_FALLBACK_FLAG=1\nE: DM_UDEV_PRIMARY_SOURCE_FLAG=1\n'
		printf 'E: DM_UDEV_RULES=1\nE: DM_UDEV_RULES_VSN=2\nE: DM_ACTIVATION=1\n'
		printf 'E: DM_NAME=%s\nE: DM_UUID=%s\nE: DM_SUSPENDED=%d\n' "$name" "$uuid" "$susp"
		for kv in "$@"; do
			printf 'E: %s\n' "$kv"
		done
		printf 'E: TAGS=:systemd:\nE: CURRENT_TAGS=:systemd:\n'
	fi
	printf 'A: dev=253:%d\\n\nA: size=%d\\n\nA: ro=0\\n\nA: removable=0\\n\nA: hidden=0\\n\n' \
		"$minor" "$sectors"
	printf 'A: dm/name=%s\\n\nA: dm/uuid=%s\\n\nA: dm/suspended=%d\\n\nA: dm/use_blk_mq=0\\n\n' \
		"$name" "$uuid" "$susp"
	printf 'A: queue/logical_block_size=512\\n\nA: queue/physical_block_size=512\\n\n\n'
}

# 56-lvm.rules: every LVM device gets the split name; internal ones get the
# three "disable" flags (plus SYSTEMD_READY=0 from 99-systemd is not modelled)
lvm()
{
	printf 'DM_VG_NAME=%s DM_LV_NAME=%s DM_LV_LAYER=%s' "$1" "$2" "$3"
}
HIDDEN='DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG=1 DM_UDEV_DISABLE_DISK_RULES_FLAG=1 DM_UDEV_DISABLE_OTHER_RULES_FLAG=1'

bed()
{
	disk vdb 16 262144 pv0aaa-bbbb-cccc-dddd-eeee-ffff-gggg00 "$T/pv"
	disk vdc 32 262144 pv1aaa-bbbb-cccc-dddd-eeee-ffff-gggg01 "$T/pv"
	# shellcheck disable=SC2046,SC2086 # word splitting of the KEY=VALUE lists is wanted
	{
	dm 200 vg0-lv_a "LVM-$VG0$(lvuuid 0)" 262144 0 "$T/lv_a" $(lvm vg0 lv_a '') \
		'DEVLINKS=/dev/mapper/vg0-lv_a /dev/vg0/lv_a /dev/disk/by-id/dm-name-vg0-lv_a'
	dm 201 vg0-lv--b "LVM-$VG0$(lvuuid 1)" 16384 0 "$T/zero" $(lvm vg0 lv-b '') \
		'DEVLINKS=/dev/mapper/vg0-lv--b /dev/vg0/lv-b /dev/disk/by-id/dm-name-vg0-lv--b'
	dm 202 vg1-data "LVM-$VG1$(lvuuid 2)" 131072 0 "$T/data" $(lvm vg1 data '') \
		'DEVLINKS=/dev/mapper/vg1-data /dev/vg1/data /dev/disk/by-id/dm-name-vg1-data'
	dm 203 vg0-pool0_tmeta "LVM-$VG0$(lvuuid 3)-tmeta" 8192 0 "$T/hidden" \
		$(lvm vg0 pool0_tmeta '') $HIDDEN
	dm 204 vg0-pool0_tdata "LVM-$VG0$(lvuuid 4)-tdata" 524288 0 "$T/hidden" \
		$(lvm vg0 pool0_tdata '') $HIDDEN
	dm 205 vg0-pool0-tpool "LVM-$VG0$(lvuuid 5)-tpool" 524288 0 "$T/hidden" \
		$(lvm vg0 pool0 tpool) $HIDDEN
	dm 206 vg0-pool0 "LVM-$VG0$(lvuuid 5)-pool" 524288 0 "$T/hidden" \
		$(lvm vg0 pool0 '') $HIDDEN
	dm 207 vg0-thin1 "LVM-$VG0$(lvuuid 7)" 98304 0 "$T/thin1" $(lvm vg0 thin1 '') \
		'DEVLINKS=/dev/mapper/vg0-thin1 /dev/vg0/thin1 /dev/disk/by-id/dm-name-vg0-thin1'
	dm 208 vg1-origin "LVM-$VG1$(lvuuid 8)" 32768 0 "$T/origin" $(lvm vg1 origin '') \
		'DEVLINKS=/dev/mapper/vg1-origin /dev/vg1/origin /dev/disk/by-id/dm-name-vg1-origin'
	dm 209 vg1-origin-real "LVM-$VG1$(lvuuid 8)-real" 32768 0 "$T/hidden" \
		$(lvm vg1 origin real) $HIDDEN
	dm 210 vg1-snap "LVM-$VG1$(lvuuid 10)" 32768 0 "$T/origin" $(lvm vg1 snap '') \
		DM_UDEV_LOW_PRIORITY_FLAG=1 \
		'DEVLINKS=/dev/mapper/vg1-snap /dev/vg1/snap /dev/disk/by-id/dm-name-vg1-snap'
	dm 211 vg1-snap-cow "LVM-$VG1$(lvuuid 10)-cow" 8192 0 "$T/hidden" \
		$(lvm vg1 snap cow) $HIDDEN
	dm 212 vg1-frozen "LVM-$VG1$(lvuuid 12)" 16384 1 "$T/hidden" $(lvm vg1 frozen '') \
		DM_UDEV_DISABLE_OTHER_RULES_FLAG=1 \
		ID_IMAGE_FORMAT=qcow2 ID_IMAGE_FORMAT_VERSION=3 ID_IMAGE_VIRTUAL_SIZE=8388608
	if [ "$mode" = udev ]; then
		# without a udev database nothing says "do not open": not in that bed
		dm 213 vg1-fresh "LVM-$VG1$(lvuuid 13)" 16384 0 "$T/hidden" $(lvm vg1 fresh '') \
			DM_SUBSYSTEM_UDEV_FLAG0=1 DM_NOSCAN=1 DM_UDEV_DISABLE_OTHER_RULES_FLAG=1
	fi
	dm 214 luks-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0 \
		CRYPT-LUKS2-0b1c2d3e4f5061728394a5b6c7d8e9f0-luks-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0 \
		40960 0 "$T/crypt" \
		'DEVLINKS=/dev/mapper/luks-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0' \
		ID_IMAGE_FORMAT=qcow2 ID_IMAGE_FORMAT_VERSION=2 ID_IMAGE_COMPAT=0.10
	# VG "my-vg", LV "lv-data": both hyphens doubled in the dm name
	dm 216 my--vg-lv--data "LVM-MyVgMyVgmmmmNNNNooooPPPPqqqqrr03$(lvuuid 16)" 8192 0 "$T/zero" \
		$(lvm my-vg lv-data '') \
		'DEVLINKS=/dev/mapper/my--vg-lv--data /dev/my-vg/lv-data /dev/disk/by-id/dm-name-my--vg-lv--data'
	# 55-dm.rules: an "add" that libdm did not send (no table yet) -> dm_disable
	dm 215 mpatha '' 0 0 '' DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG=1 \
		DM_UDEV_DISABLE_DISK_RULES_FLAG=1 DM_UDEV_DISABLE_OTHER_RULES_FLAG=1
	}
	# a CD-ROM drive without a medium (size 0, SCSI type 5)
	printf 'P: /devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sr0\nN: sr0\n'
	printf 'E: DEVNAME=/dev/sr0\nE: DEVTYPE=disk\nE: DISKSEQ=349\nE: MAJOR=11\nE: MINOR=0\n'
	printf 'E: SUBSYSTEM=block\n'
	printf 'A: dev=11:0\\n\nA: size=0\\n\nA: ro=0\\n\nA: removable=1\\n\nA: device/type=5\\n\n\n'
	printf 'P: /devices/virtual/block/loop250\nN: loop250\n'
	printf 'E: DEVNAME=/dev/loop250\nE: DEVTYPE=disk\nE: DISKSEQ=350\nE: MAJOR=7\nE: MINOR=250\n'
	printf 'E: SUBSYSTEM=block\n'
	printf 'A: dev=7:250\\n\nA: size=0\\n\nA: ro=0\\n\nA: removable=0\\n\nA: hidden=0\\n\n\n'
}

for mode in udev sysfs; do
	case $mode in
	udev) f=$out/lvm.umockdev ;;
	*) f=$out/lvm-sysfs.umockdev ;;
	esac
	# no comment line: umockdev 0.17 rejects anything before the first P:
	bed >"$f.tmp"
	mv "$f.tmp" "$f"
done
