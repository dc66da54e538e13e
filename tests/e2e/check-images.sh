# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh
#
# tests/e2e/check-images.sh -- sourced by check.sh and check-vs-nova.sh: the
# images the safety checks are tested on.  Real images made by qemu-img,
# xorriso and mkfs, and hostile ones made from them the way an attacker
# would (a byte patched in a header, a descriptor written by hand, a header
# written at sector 0 of a raw disk by its guest).
#
# ci_build DIR : make every image in DIR and write DIR/MANIFEST, one line per
# image: NAME|OPTIONS|FAILED, where OPTIONS are extra imgscan options (the
# policy; "-" for none) and FAILED the checks imgscan must fail, sorted and
# comma-separated ("-" for a safe image).  Returns non-zero when a tool
# failed; the reason is on stderr.

# ci_poke FILE OFFSET OCTAL... : write bytes (octal escapes) at OFFSET
ci_poke()
{
	ci_f=$1
	ci_o=$2
	shift 2
	ci_b=
	for ci_x in "$@"; do
		ci_b="$ci_b\\$ci_x"
	done
	# shellcheck disable=SC2059
	printf "$ci_b" | dd of="$ci_f" bs=1 seek="$ci_o" conv=notrunc status=none
}

# ci_or FILE OFFSET MASK : OR a byte with MASK (decimal)
ci_or()
{
	ci_v=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
	ci_poke "$1" "$2" "$(printf '%03o' $((ci_v | $3)))"
}

ci_add()
{
	echo "$1|$2|$3" >>"$CI_DIR/MANIFEST"
}

# ci_pad FILE : a whole number of sectors (a loop device covers every byte)
ci_pad()
{
	ci_s=$(wc -c <"$1")
	[ $((ci_s % 512)) -eq 0 ] || truncate -s $((ci_s + 512 - ci_s % 512)) "$1"
}

ci_build()
{
	CI_DIR=$1
	: >"$CI_DIR/MANIFEST"
	ci_add clean.qcow2 - -
	ci_add v2.qcow2 - -
	ci_add lazy.qcow2 - -
	ci_add qcow1.qcow - -
	ci_add qed.qed - -
	ci_add qed.qed "--deny-formats qed" format-denied
	ci_add sparse.vmdk - -
	ci_add stream.vmdk - -
	ci_add dynamic.vhd - -
	ci_add fixed.vhd - -
	ci_add dyn.vhdx - -
	ci_add disk.vdi - -
	ci_add disk.parallels - -
	ci_add zero.raw - -
	ci_add zero.raw "--expect-format raw" -
	ci_add zero.raw "--expect-format qcow2" format-mismatch
	ci_add clean.qcow2 "--expect-format qcow2" -
	ci_add qcow1.qcow "--expect-format qcow2" format-mismatch
	ci_add clean.qcow2 "--max-virtual-size 1048576" virtual-size
	ci_add backing.qcow2 - backing-file
	ci_add backing.qcow2 "--allow backing-file" -
	ci_add json-backing.qcow2 - backing-file
	ci_add v2-backing.qcow2 - backing-file
	ci_add backing.qed - backing-file
	ci_add backing.qcow - backing-file
	ci_add child.vmdk - backing-file
	ci_add datafile.qcow2 - data-file
	ci_add datafile-bit.qcow2 - data-file
	ci_add unknown-incompat.qcow2 - damaged,unknown-features
	ci_add v2-byte79.qcow2 - -
	ci_add flat.vmdk - vmdk-create-type,vmdk-extent
	ci_add flat.vmdk "--vmdk-types monolithicFlat" vmdk-extent
	ci_add hostfile.vmdk - vmdk-create-type,vmdk-extent
	ci_add device-desc.vmdk - vmdk-create-type,vmdk-extent
	ci_add embedded-slash.vmdk - vmdk-extent
	ci_add footer-ok.vmdk - -
	ci_add footer-bad.vmdk - vmdk-footer
	ci_add iso-qcow2.iso - ambiguous
	ci_add plain.iso - -
	ci_add udf-qcow2.udf - ambiguous
	ci_add plain.udf - -
	ci_add vmdk-in.qcow2 - -
	ci_add guest.raw - backing-file
	ci_add guest.raw "--expect-format raw" backing-file,format-mismatch
	ci_add guest-clean.raw "--expect-format raw" format-mismatch
	ci_add mbr.raw - -
	ci_add bootflag.raw - partition-table
	ci_add pmbr-extra.raw - partition-table
	(
		set -e
		cd "$CI_DIR"
		q() { qemu-img create -q "$@" >/dev/null; }

		# ---- clean images of every format qemu-img makes
		q -f qcow2 clean.qcow2 64M
		q -f qcow2 -o compat=0.10 v2.qcow2 64M
		q -f qcow2 -o compat=1.1,lazy_refcounts=on lazy.qcow2 64M
		q -f qcow qcow1.qcow 64M
		q -f qed qed.qed 64M
		q -f vmdk sparse.vmdk 64M
		qemu-img convert -O vmdk -o subformat=streamOptimized clean.qcow2 stream.vmdk
		q -f vpc -o subformat=dynamic dynamic.vhd 64M
		q -f vpc -o subformat=fixed fixed.vhd 64M
		q -f vhdx dyn.vhdx 64M
		q -f vdi disk.vdi 64M
		q -f parallels disk.parallels 64M
		truncate -s 64M zero.raw

		# ---- backing files and parents
		q -f qcow2 -b clean.qcow2 -F qcow2 backing.qcow2
		q -f qcow2 -u -b 'json:{"file.driver":"file","file.filename":"/etc/passwd"}' -F raw json-backing.qcow2 64M
		q -f qcow2 -o compat=0.10 -u -b /etc/shadow -F raw v2-backing.qcow2 64M
		q -f qed -b clean.qcow2 -F qcow2 backing.qed
		q -f qcow -b clean.qcow2 -F qcow2 backing.qcow
		q -f vmdk -b sparse.vmdk -F vmdk child.vmdk

		# ---- external data file: the extension, and the bit alone
		q -f qcow2 -o data_file=data.raw datafile.qcow2 64M
		cp clean.qcow2 datafile-bit.qcow2
		ci_or datafile-bit.qcow2 79 4

		# ---- feature bits: unknown incompatible bit 6; the same byte in a v2 header
		cp clean.qcow2 unknown-incompat.qcow2
		ci_or unknown-incompat.qcow2 79 64
		cp v2.qcow2 v2-byte79.qcow2
		ci_or v2-byte79.qcow2 79 4

		# ---- vmdk descriptors: flat, and a hand-written one naming host files
		q -f vmdk -o subformat=monolithicFlat flat.vmdk 64M
		printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 131072 FLAT "/etc/hosts" 0\n' >hostfile.vmdk
		printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 131072 FLAT "/dev/sda" 0\n' >device-desc.vmdk
		# a sparse image whose embedded descriptor names /etc/hosts (qemu ignores it)
		cp sparse.vmdk embedded-slash.vmdk
		ci_off=$(grep -abo '"sparse.vmdk"' embedded-slash.vmdk | head -n 1 | cut -d: -f1)
		[ -n "$ci_off" ]
		printf '"/etc/hosts" ' | dd of=embedded-slash.vmdk bs=1 seek="$ci_off" conv=notrunc status=none

		# ---- a stream-optimized footer that disagrees with the header (VMware's image)
		ci_sz=$(cat "$FIXTURES/vmdk-vmware-stream-1G.size")
		truncate -s "$ci_sz" footer-ok.vmdk
		dd if="$FIXTURES/vmdk-vmware-stream-1G.head" of=footer-ok.vmdk conv=notrunc status=none
		dd if="$FIXTURES/vmdk-vmware-stream-1G.tail" of=footer-ok.vmdk bs=512 \
			seek=$(((ci_sz - 1536) / 512)) conv=notrunc status=none
		cp footer-ok.vmdk footer-bad.vmdk
		ci_poke footer-bad.vmdk $((ci_sz - 1024 + 16)) 004

		# ---- polyglots: ISO 9660 with a qcow2 header in its system area
		mkdir -p isodir && echo hello >isodir/file
		head -c 32768 clean.qcow2 >sa.bin
		xorriso -as mkisofs -quiet -G sa.bin -V POLY -o iso-qcow2.iso isodir 2>/dev/null
		xorriso -as mkisofs -quiet -V PLAIN -o plain.iso isodir 2>/dev/null
		# ... and UDF (mkudffs), which leaves the same 32 KiB free
		truncate -s 8M plain.udf
		mkudffs -b 2048 --media-type=hd plain.udf >/dev/null
		cp plain.udf udf-qcow2.udf
		dd if=clean.qcow2 of=udf-qcow2.udf bs=1024 count=1 conv=notrunc status=none

		# ---- a qcow2 whose guest disk is a vmdk naming /etc/passwd (only the outer format counts)
		printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 2048 FLAT "/etc/passwd" 0\n' >inner.vmdk
		truncate -s 1M inner.vmdk
		qemu-img convert -f raw -O qcow2 inner.vmdk vmdk-in.qcow2

		# ---- a raw guest disk whose guest wrote a qcow2 header at sector 0
		truncate -s 64M guest.raw
		dd if=backing.qcow2 of=guest.raw bs=65536 count=1 conv=notrunc status=none
		cp zero.raw guest-clean.raw
		dd if=clean.qcow2 of=guest-clean.raw bs=512 count=1 conv=notrunc status=none

		# ---- raw volumes with partition tables, sane and crafted
		# (entries written byte by byte: boot flag, CHS, type, CHS, first LBA, sectors)
		truncate -s 64M mbr.raw bootflag.raw pmbr-extra.raw
		for ci_f in mbr.raw bootflag.raw pmbr-extra.raw; do
			ci_poke "$ci_f" 510 125 252
		done
		ci_poke mbr.raw 446 200 000 000 000 203 000 000 000 000 010 000 000 000 020 000 000
		ci_poke bootflag.raw 446 001 000 000 000 203 000 000 000 000 010 000 000 000 020 000 000
		ci_poke pmbr-extra.raw 446 000 000 000 000 356 000 000 000 001 000 000 000 377 377 377 377
		ci_poke pmbr-extra.raw 462 000 000 000 000 203 000 000 000 000 010 000 000 000 020 000 000
	) || return 1
	# (set -e does not hold in a function called from a condition: check the results)
	while IFS='|' read -r ci_n _; do
		[ -s "$CI_DIR/$ci_n" ] || {
			echo "check-images.sh: $ci_n was not made" >&2
			return 1
		}
	done <"$CI_DIR/MANIFEST"
	for ci_f in "$CI_DIR"/*.qcow2 "$CI_DIR"/*.vmdk "$CI_DIR"/*.vhd "$CI_DIR"/*.qed "$CI_DIR"/*.qcow; do
		ci_pad "$ci_f"
	done

	return 0
}
