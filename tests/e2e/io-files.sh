#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/io-files.sh -- imgscan on regular files on ext4 (the normal
# $TMPDIR) and on a tmpfs mount made here: every format gives the
# same answers on both, at offset 0 and at an unaligned --offset, and the
# O_DIRECT counters of "--stats" tell the truth.
#
# Spec followed: the imgscan CLI contract (--json / --udev / --export /
# --offset / --stats), docs/security.md, rule 8 (O_DIRECT: ext4 files accept
# it; tmpfs may refuse it at open with EINVAL, and then "direct-refused": true
# with buffered reads is the correct answer, with equal results) and
# docs/formats.md (where each format's header or trailer lives).
#
# The images (io_build) cover every format: qcow2 (plain, and with a hostile
# backing name), qcow, qed, vmdk (monolithicSparse, streamOptimized, a
# VMware-style stream image whose header is in the footer, an ESX COWD
# file), vpc (dynamic; fixed, found by its footer at the END), vhdx, vdi
# (dynamic, static), parallels, luks (cryptsetup luks1 and luks2; qemu-img's
# own when its PBKDF timing works here), dmg (koly trailer at the END),
# bochs and cloop (rebuilt from fixtures/ as sparse files) and raw (a size
# that is not a multiple of 4096 too).  For --offset an image is placed after
# 12345 random bytes (io_place); zero padding makes the whole a multiple of
# 4096 and is put BEFORE the trailer of the formats found at the end (fixed
# vpc footer, dmg koly, stream-vmdk footer), so the trailer stays last.
# The plain reference file of such a case is the padded image alone.
#
# The reference answers (plain files on $TMPDIR) are checked once against
# qemu-img info (format and virtual-size), so "equal" means "right".
#
# This file doubles as the image builder of loopdev.sh: sourced with
# IO_FILES_LIB=1 it only defines the io_* functions.

# Header strings with quotes and $ are meant literally.
# shellcheck disable=SC1091,SC2015,SC2016,SC2034,SC2086

IO_PREFIX=12345

# io_put FILE OFFSET OCTAL-ESCAPED-BYTES : write bytes into FILE at OFFSET
io_put()
{
	# shellcheck disable=SC2059
	printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# io_le32 VALUE : printf escapes of a little-endian u32
io_le32()
{
	printf '\\%03o\\%03o\\%03o\\%03o' $(( $1 & 255 )) $(( ($1 >> 8) & 255 )) \
		$(( ($1 >> 16) & 255 )) $(( ($1 >> 24) & 255 ))
}

# io_fixture NAME OUT : rebuild fixtures/NAME.{head,size,tail} as a sparse OUT
io_fixture()
{
	iof_d=${FIXTURES:-${top_srcdir:-.}/fixtures}
	[ -f "$iof_d/$1.head" ] || return 1
	rm -f "$2"
	if [ -f "$iof_d/$1.size" ]; then
		iof_s=$(cat "$iof_d/$1.size")
	else
		iof_s=$(wc -c <"$iof_d/$1.head")
	fi
	truncate -s "$iof_s" "$2" &&
		dd if="$iof_d/$1.head" of="$2" conv=notrunc status=none || return 1
	if [ -f "$iof_d/$1.tail" ]; then
		iof_t=$(wc -c <"$iof_d/$1.tail")
		dd if="$iof_d/$1.tail" of="$2" bs=512 seek=$((iof_s - iof_t)) \
			oflag=seek_bytes conv=notrunc status=none || return 1
	fi
}

# io_pad_to SIZE PREFIX ALIGN : the smallest N >= SIZE with (PREFIX+N) % ALIGN == 0
io_pad_to()
{
	echo $(( $1 + (($3 - ($2 + $1) % $3) % $3) ))
}

# io_place SRC INNER OUTER PREFIX TRAILER : INNER = SRC grown with zeros to
# io_pad_to(size, PREFIX, 4096) bytes, the zeros inserted before SRC's last
# TRAILER bytes (0: appended); OUTER = PREFIX random bytes + INNER.  Sparse.
io_place()
{
	iop_s=$(wc -c <"$1")
	iop_n=$(io_pad_to "$iop_s" "$4" 4096)
	rm -f "$2" "$3"
	truncate -s "$iop_n" "$2" &&
		dd if="$1" of="$2" bs=65536 count=$((iop_s - $5)) iflag=count_bytes \
			conv=notrunc,sparse status=none || return 1
	if [ "$5" -gt 0 ]; then
		dd if="$1" of="$2" bs=512 skip=$((iop_s - $5)) seek=$((iop_n - $5)) \
			iflag=skip_bytes oflag=seek_bytes conv=notrunc status=none ||
			return 1
	fi
	[ -n "$3" ] || return 0
	head -c "$4" /dev/urandom >"$3" &&
		dd if="$2" of="$3" bs=65536 seek="$4" oflag=seek_bytes \
			conv=notrunc,sparse status=none &&
		truncate -s $(($4 + iop_n)) "$3"
}

# io_mk_cowd FILE : an ESX COWD vmdk, one 64 KiB file: header LE u32s
# version 1, flags 3, 4096 sectors, granularity 64, L1 at sector 4 with 1
# entry, 128 file sectors; the embedded descriptor at 0x200 holds the CID
# qemu reads
io_mk_cowd()
{
	truncate -s 65536 "$1" &&
		io_put "$1" 0 "COWD$(io_le32 1)$(io_le32 3)$(io_le32 4096)$(io_le32 64)$(io_le32 4)$(io_le32 1)$(io_le32 128)" &&
		io_put "$1" 512 'CID=abcdef01\nparentCID=ffffffff\n'
}

# io_mk_dmg FILE : the 1124-byte hand-built dmg fixture grown to 4 KiB with
# zeros between its plist and its koly trailer (qemu finds koly at the end)
io_mk_dmg()
{
	io_fixture dmg-zero-1M "$1.src" && io_place "$1.src" "$1" "" 0 512 &&
		rm -f "$1.src"
}

# io_build DIR : make every image in DIR and list them in DIR/cases, one
# "FILE FORMAT TRAILER QEMU-F" line each (TRAILER: bytes that must stay at the
# end; QEMU-F: the -f qemu-img needs, - when its probe sees the format).
# Images that cannot be made are reported as not ok (or left out with a
# note, for qemu's LUKS PBKDF timing) and not listed.
io_build()
{
	iob=$1
	: >"$iob/cases"
	# io_case FILE FORMAT TRAILER QEMU-F
	io_case() { echo "$1 $2 $3 $4" >>"$iob/cases"; }
	# io_mk FILE FORMAT TRAILER QEMU-F COMMAND...
	io_mk()
	{
		iom_f=$1 iom_fmt=$2 iom_t=$3 iom_q=$4
		shift 4
		if "$@" >"$iob/mk.err" 2>&1; then
			io_case "$iom_f" "$iom_fmt" "$iom_t" "$iom_q"
		else
			e2e_notok "$iom_f: cannot make it: $(head -c 300 "$iob/mk.err" | tr '\n' ' ')"
		fi
	}
	io_mk qcow2.qcow2 qcow2 0 - qemu-img create -q -f qcow2 "$iob/qcow2.qcow2" 64M
	io_mk backing.qcow2 qcow2 0 - qemu-img create -q -f qcow2 -u \
		-b 'back ing;$x.qcow2' -F qcow2 -o lazy_refcounts=on "$iob/backing.qcow2" 64M
	io_mk qcow.qcow qcow 0 - qemu-img create -q -f qcow "$iob/qcow.qcow" 64M
	io_mk qed.qed qed 0 - qemu-img create -q -f qed "$iob/qed.qed" 64M
	io_mk sparse.vmdk vmdk 0 - qemu-img create -q -f vmdk "$iob/sparse.vmdk" 64M
	io_mk stream.vmdk vmdk 0 - qemu-img create -q -f vmdk \
		-o subformat=streamOptimized "$iob/stream.vmdk" 64M
	io_mk vmware-stream.vmdk vmdk 1536 - io_fixture vmdk-vmware-stream-1G \
		"$iob/vmware-stream.vmdk"
	# ESX COWD: header LE u32s version 1, flags 3, 4096 sectors, granularity
	# 64, L1 at sector 4 with 1 entry, 128 file sectors; embedded descriptor
	# at 0x200 (qemu reads the CID there); one 64 KiB file
	io_mk cowd.vmdk vmdk 0 - io_mk_cowd "$iob/cowd.vmdk"
	io_mk dynamic.vhd vpc 0 - qemu-img create -q -f vpc "$iob/dynamic.vhd" 64M
	# fixed: CHS-rounded size (8M), and 8 MiB exactly (a multiple of 4096)
	io_mk fixed.vhd vpc 512 vpc qemu-img create -q -f vpc -o subformat=fixed \
		"$iob/fixed.vhd" 8M
	io_mk fixed-4k.vhd vpc 512 vpc qemu-img create -q -f vpc \
		-o subformat=fixed,force_size=on "$iob/fixed-4k.vhd" 8388096
	io_mk vhdx.vhdx vhdx 0 - qemu-img create -q -f vhdx "$iob/vhdx.vhdx" 64M
	io_mk dynamic.vdi vdi 0 - qemu-img create -q -f vdi "$iob/dynamic.vdi" 64M
	io_mk static.vdi vdi 0 - qemu-img create -q -f vdi -o static=on \
		"$iob/static.vdi" 8M
	io_mk parallels.hdd parallels 0 - qemu-img create -q -f parallels \
		"$iob/parallels.hdd" 64M
	if command -v cryptsetup >/dev/null 2>&1; then
		io_mk luks1.luks luks 0 - sh -c 'truncate -s 4M "$1" &&
			printf pw | cryptsetup luksFormat -q --type luks1 \
				--pbkdf-force-iterations 1000 --key-file - "$1"' sh \
			"$iob/luks1.luks"
		# qemu 7.2 reads LUKS version 1 only: LUKS2 is raw to it
		io_mk luks2.luks raw 0 - sh -c 'truncate -s 20M "$1" &&
			printf pw | cryptsetup luksFormat -q --type luks2 \
				--pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file - "$1"' sh \
			"$iob/luks2.luks"
	else
		echo "# cryptsetup not installed: cryptsetup LUKS images left out"
	fi
	if e2e_retry qemu-img create -q -f luks --object secret,id=s0,data=pw \
		-o key-secret=s0,iter-time=10 "$iob/qemu.luks" 16M >"$iob/mk.err" 2>&1; then
		io_case qemu.luks luks 0 -
	else
		e2e_create_failed qemu.luks "$iob/mk.err"
	fi
	# dmg: the 1124-byte hand-built fixture grown to 4 KiB with zeros
	# between its plist and its koly trailer (qemu finds koly at the end)
	io_mk dmg.dmg dmg 512 dmg io_mk_dmg "$iob/dmg.dmg"
	io_mk bochs-10M.img bochs 0 - io_fixture bochs-10M "$iob/bochs-10M.img"
	io_mk bochs-1G.img bochs 0 - io_fixture bochs-1G "$iob/bochs-1G.img"
	io_mk cloop.img cloop 0 cloop io_fixture cloop-2M "$iob/cloop.img"
	io_mk raw.raw raw 0 raw qemu-img create -q -f raw "$iob/raw.raw" 8M
	io_mk odd.raw raw 0 raw truncate -s $((8 * 1048576 + 1536)) "$iob/odd.raw"
	unset -f io_mk io_case
}

# io_norm JSONFILE PATH : images[0] without the per-target fields (path,
# size, offset, scan, device); a string equal to PATH (the extent file name of
# a KDMV/COWD vmdk) becomes <PATH>
io_norm()
{
	jq -cS --arg p "$2" '.images[0] | del(.path, .size, .offset, .scan, .device)
		| walk(if . == $p then "<PATH>" else . end)' "$1" 2>/dev/null ||
		echo "<invalid JSON>"
}

# io_outputs PREFIX TARGET [OPTIONS...] : PREFIX.json (--json --stats),
# PREFIX.rc (its exit status), PREFIX.udev (--udev, sorted) and
# PREFIX.export (--export) without the per-target lines DEVNAME and
# ID_IMAGE_OFFSET (kept in PREFIX.offset)
io_outputs()
{
	ioo_p=$1
	ioo_t=$2
	shift 2
	"$IMGSCAN" --json --stats "$@" "$ioo_t" >"$ioo_p.json" 2>"$ioo_p.err"
	echo $? >"$ioo_p.rc"
	"$IMGSCAN" --udev "$@" "$ioo_t" 2>/dev/null | sort >"$ioo_p.udev.all"
	grep -v '^ID_IMAGE_OFFSET=' "$ioo_p.udev.all" >"$ioo_p.udev"
	grep '^ID_IMAGE_OFFSET=' "$ioo_p.udev.all" >"$ioo_p.offset"
	"$IMGSCAN" --export "$@" "$ioo_t" 2>/dev/null |
		grep -v '^DEVNAME=\|^ID_IMAGE_OFFSET=' >"$ioo_p.export"
}

# io_offset LABEL PREFIX FORMAT OFFSET : the --offset run says where the image
# is: "offset" in JSON, ID_IMAGE_OFFSET in --udev (nothing at all for raw)
io_offset()
{
	e2e_check "$1: --json offset" \
		"$(jq -r '.images[0].offset' "$2.json" 2>/dev/null)" "$4" expected
	if [ "$3" = raw ]; then
		e2e_check "$1: --udev prints nothing for raw" "$(cat "$2.udev.all")" "" expected
	else
		e2e_check "$1: --udev ID_IMAGE_OFFSET" "$(cat "$2.offset")" \
			"ID_IMAGE_OFFSET=$4" expected
	fi
}

# io_same LABEL PREFIX TARGET REFPREFIX REFTARGET : exit 0, no error object,
# and --json/--udev/--export equal to the reference's
io_same()
{
	e2e_check "$1: --json exit status" "$(cat "$2.rc")" 0 expected
	ios_e=$(jq -c '.images[0] | select(has("error"))' "$2.json" 2>/dev/null)
	if [ -n "$ios_e" ]; then
		e2e_notok "$1: error object $ios_e"
		return
	fi
	e2e_check "$1: --json equals the plain file's (but path/size/offset/scan/device)" \
		"$(io_norm "$2.json" "$3")" "$(io_norm "$4.json" "$5")" "plain file"
	e2e_check "$1: --udev equals the plain file's" \
		"$(cat "$2.udev")" "$(cat "$4.udev")" "plain file"
	e2e_check "$1: --export equals the plain file's (but DEVNAME)" \
		"$(cat "$2.export")" "$(cat "$4.export")" "plain file"
}

# io_scan JSONFILE : "direct direct-refused" of images[0].scan
io_scan()
{
	jq -r '.images[0].scan | "\(.direct) \(."direct-refused")"' "$1" 2>/dev/null ||
		echo "<invalid JSON>"
}

if [ "${IO_FILES_LIB:-0}" = 1 ]; then
	return 0
fi

. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_need_cmd qemu-img jq dd truncate
e2e_init
set -f
T=$E2E_TMP
IMGS=$T/img
mkdir "$IMGS"

TMPFS=
E2E_CLEANUP='if [ -n "$TMPFS" ]; then umount "$TMPFS" 2>/dev/null; rmdir "$TMPFS"; fi'

io_build "$IMGS"

# where the plain files are: ext4 when $TMPDIR is on ext4
FSTYPE=$(findmnt -n -o FSTYPE -T "$IMGS" 2>/dev/null || stat -f -c %T "$IMGS")
echo "# reference files on $FSTYPE ($IMGS)"

# 1. the reference answers against qemu-img (format, virtual-size)
while read -r f fmt trailer qf; do
	[ "$qf" != - ] || qf=
	qemu_info "$IMGS/$f" "$qf"
	io_outputs "$IMGS/$f.ref" "$IMGS/$f"
	if jq -e '.images[0] | has("error")' "$IMGS/$f.ref.json" >/dev/null 2>&1; then
		e2e_notok "$f: imgscan error on the plain file: $(jq -c '.images[0]' "$IMGS/$f.ref.json")"
		continue
	fi
	jq '.images[0]' "$IMGS/$f.ref.json" >"$IMGS/$f.s1.json" 2>/dev/null
	e2e_check "$f: format" "$(jq -r .format "$IMGS/$f.s1.json")" "$fmt" expected
	compare_fields "$IMGS/$f" "$f" .format '."virtual-size"'
done <"$IMGS/cases"

# check_files LABEL DIR : every image in DIR (a copy of $IMGS) and its
# --offset placement equal the reference; the --stats counters are truthful
# for the file system (WANT-DIRECT: ok = direct read, or "refused-ok" when
# O_DIRECT may be refused)
check_files()
{
	cf_l=$1
	cf_d=$2
	cf_fs=$3
	while read -r f fmt trailer qf; do
	[ "$qf" != - ] || qf=
		[ -f "$IMGS/$f.ref.json" ] || continue
		if [ "$cf_d" != "$IMGS" ]; then
			cp --sparse=always "$IMGS/$f" "$cf_d/$f" ||
				{ e2e_notok "$cf_l $f: cp failed"; continue; }
			io_outputs "$cf_d/$f.o" "$cf_d/$f"
			io_same "$cf_l $f" "$cf_d/$f.o" "$cf_d/$f" "$IMGS/$f.ref" "$IMGS/$f"
			check_stats "$cf_l $f" "$cf_d/$f.o.json" "$cf_fs"
		else
			check_stats "$cf_l $f" "$IMGS/$f.ref.json" "$cf_fs"
		fi
		# at an unaligned offset: INNER is the reference, OUTER is probed
		if ! io_place "$IMGS/$f" "$cf_d/$f.in" "$cf_d/$f.out" $IO_PREFIX "$trailer"; then
			e2e_notok "$cf_l $f: cannot place it at offset $IO_PREFIX"
			continue
		fi
		io_outputs "$cf_d/$f.in" "$cf_d/$f.in"
		if [ "$cf_d" = "$IMGS" ]; then
			# the padded image (the reference of the --offset run) is
			# still read as qemu-img reads it
			# still read as qemu-img reads it (it rounds the size up to
			# 512); where qemu-img refuses it imgscan must say damaged
			cf_pl="$f padded to $(wc -c <"$cf_d/$f.in") bytes"
			jq '.images[0]' "$cf_d/$f.in.json" >"$cf_d/$f.in.s1.json" 2>/dev/null
			if qemu_info "$cf_d/$f.in" "$qf"; then
				compare_fields "$cf_d/$f.in" "$cf_pl" .format '."virtual-size"'
			else
				e2e_check "$cf_pl: qemu-img refuses it ($(head -c 80 "$cf_d/$f.in.q.err" | tr '\n' ' ')): damaged" \
					"$(jq -r 'has("damaged")' "$cf_d/$f.in.s1.json")" true expected
			fi
		fi
		io_outputs "$cf_d/$f.off" "$cf_d/$f.out" --offset $IO_PREFIX
		io_same "$cf_l $f at --offset $IO_PREFIX" "$cf_d/$f.off" "$cf_d/$f.out" \
			"$cf_d/$f.in" "$cf_d/$f.in"
		io_offset "$cf_l $f at --offset $IO_PREFIX" "$cf_d/$f.off" "$fmt" $IO_PREFIX
		check_stats "$cf_l $f at --offset $IO_PREFIX" "$cf_d/$f.off.json" "$cf_fs"
		rm -f "$cf_d/$f.in" "$cf_d/$f.out"
	done <"$IMGS/cases"
}

# check_stats LABEL JSON FS : ext4 (and every other fs with O_DIRECT):
# direct true, refused false; tmpfs: either that, or direct false with
# direct-refused true (O_DIRECT refused at open, buffered reads)
check_stats()
{
	cs_s=$(io_scan "$2")
	case "$3:$cs_s" in
	*:"true false") e2e_ok "$1: --stats direct read" ;;
	tmpfs:"false true") e2e_ok "$1: --stats O_DIRECT refused, buffered read" ;;
	*) e2e_notok "$1: --stats scan direct/direct-refused: imgscan $cs_s, expected true false${3:+ ($3)}" ;;
	esac
}

check_files "$FSTYPE" "$IMGS" "$FSTYPE"

# 2. the same files on a tmpfs mount (root only)
if [ "$(id -u)" -ne 0 ]; then
	echo "# not root: tmpfs checks skipped"
else
	TMPFS=$(mktemp -d "${TMPDIR:-/tmp}/imgscan-tmpfs.XXXXXX") || TMPFS=
	if [ -n "$TMPFS" ] && mount -t tmpfs -o size=512m imgscan-e2e "$TMPFS" 2>"$T/mount.err"; then
		check_files tmpfs "$TMPFS" tmpfs
	else
		echo "# cannot mount a tmpfs: $(head -c 200 "$T/mount.err" 2>/dev/null): tmpfs checks skipped"
		[ -z "$TMPFS" ] || rmdir "$TMPFS"
		TMPFS=
	fi
fi

e2e_summary
