#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/probe-trace.sh -- IMGSCAN_DEBUG=probe: why a volume is raw or
# damaged (imgscan(8), ENVIRONMENT).
#
# Spec followed: with IMGSCAN_DEBUG=probe each magic the probe tries and each
# check that refuses the volume are printed to stderr, one line each,
# "imgscan: probe: PATH: ...", the path escaped as in every error message;
# stdout and the exit status are those of a run without it.  Without the
# variable (or with a list that does not name probe) nothing is printed.
# The damaged image is made by qemu-img and then given a cluster size qemu
# refuses (cluster_bits 5: "Unsupported cluster size", qemu's
# block/qcow2.c qcow2_do_open); qemu-img's own refusal is checked first, so
# the test follows qemu, not imgscan.
#
# A refusal names the field and its value: for every format a real image
# (qemu-img, cryptsetup, xorriso, mkudffs, or a fixture made by the format's
# own tool, fixtures/README) gets one header field patched, and the trace
# must carry the whole golden line, "FORMAT: no match: FIELD VALUE (...)"
# or "FORMAT: check failed: QEMU'S TEXT (FIELD VALUE ...)", while the
# damaged text the outputs show keeps qemu's words alone.  A header string
# with a newline, a quote and a backslash reaches stderr escaped.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_init
e2e_need_cmd qemu-img
T=$E2E_TMP

qemu-img create -q -f qcow2 "$T/bad.qcow2" 64M || e2e_create_failed qcow2
# cluster_bits (big-endian u32 at byte 20) = 5
printf '\000\000\000\005' | dd of="$T/bad.qcow2" bs=1 seek=20 conv=notrunc 2>/dev/null
if qemu-img info "$T/bad.qcow2" 2>&1 | grep -q 'Unsupported cluster size'; then
	e2e_ok "qemu-img refuses the image: Unsupported cluster size"
else
	e2e_notok "qemu-img: $(qemu-img info "$T/bad.qcow2" 2>&1 | head -c 300)"
fi
qemu-img create -q -f vhdx "$T/good.vhdx" 64M || e2e_create_failed vhdx
truncate -s 1M "$T/zero.raw"

# ---- off by default -----------------------------------------------------------
"$IMGSCAN" -J "$T/bad.qcow2" >"$T/off.out" 2>"$T/off.err"
off_rc=$?
e2e_check "without IMGSCAN_DEBUG: nothing on stderr" "$(cat "$T/off.err")" "" "wanted"
IMGSCAN_DEBUG=udev,other "$IMGSCAN" -J "$T/bad.qcow2" >/dev/null 2>"$T/other.err"
e2e_check "IMGSCAN_DEBUG without probe: nothing on stderr" "$(cat "$T/other.err")" "" "wanted"

# ---- the damaged qcow2: the magic, the refusal, the outcome -----------------------
IMGSCAN_DEBUG=probe "$IMGSCAN" -J "$T/bad.qcow2" >"$T/on.out" 2>"$T/on.err"
on_rc=$?
e2e_check "IMGSCAN_DEBUG=probe: same exit status" "$on_rc" "$off_rc" "without it"
e2e_check "IMGSCAN_DEBUG=probe: same stdout" "$(cat "$T/on.out")" "$(cat "$T/off.out")" "without it"
P="imgscan: probe: $T/bad.qcow2: "
e2e_check "the qcow2 magic is shown found" \
	"$(grep -cF "${P}qcow2: magic \"QFI\\xfb\" at offset 0: found" "$T/on.err")" "1" "wanted"
e2e_check "the refusal is shown" \
	"$(grep -cF "${P}qcow2: check failed: Unsupported cluster size" "$T/on.err")" "1" "wanted"
e2e_check "the outcome is shown" "$(grep -cF "${P}result: qcow2 (damaged)" "$T/on.err")" "1" "wanted"
e2e_check "a magic that is not there is shown" \
	"$(grep -cF "${P}qed: magic \"QED\\x00\" at offset 0: not there" "$T/on.err")" "1" "wanted"
e2e_check "every stderr line is a probe trace line" "$(grep -cvF "$P" "$T/on.err")" "0" "wanted"

# ---- a raw volume: every format said no ---------------------------------------------
IMGSCAN_DEBUG=probe "$IMGSCAN" -P "$T/zero.raw" >/dev/null 2>"$T/raw.err"
e2e_check "raw: the outcome is shown" \
	"$(grep -cF "imgscan: probe: $T/zero.raw: result: raw (no format matched)" "$T/raw.err")" \
	"1" "wanted"

# ---- many volumes, read in batches: each traced once (no deferred re-run) ---------
IMGSCAN_DEBUG=probe "$IMGSCAN" --stats -J "$T/bad.qcow2" "$T/good.vhdx" "$T/zero.raw" \
	"$T/good.vhdx" >"$T/many.on" 2>"$T/many.err"
"$IMGSCAN" --stats -J "$T/bad.qcow2" "$T/good.vhdx" "$T/zero.raw" "$T/good.vhdx" \
	>"$T/many.off" 2>/dev/null
e2e_check "four volumes: four outcomes" "$(grep -c ': result: ' "$T/many.err")" "4" "wanted"
# a vhdx needs a read past the first windows: in a batch that read is deferred
# and the probe run again, which must not print its steps twice
e2e_check "vhdx (read in two steps): its magic once per argument" \
	"$(grep -cF "imgscan: probe: $T/good.vhdx: vhdx: magic \"vhdxfile\" at offset 0: found" \
		"$T/many.err")" "2" "wanted"
e2e_check "vhdx: its outcome once per argument" \
	"$(grep -cF "imgscan: probe: $T/good.vhdx: result: vhdx" "$T/many.err")" "2" "wanted"
# the reads per volume are those of an untraced run (--stats counts them)
e2e_check "the same reads with the trace" "$(grep '"reads"' "$T/many.on")" \
	"$(grep '"reads"' "$T/many.off")" "without it"

# ---- a name with a control character is escaped ----------------------------------
nl="$T/a
b.qcow2"
cp "$T/bad.qcow2" "$nl"
IMGSCAN_DEBUG=probe "$IMGSCAN" -P "$nl" >/dev/null 2>"$T/nl.err"
e2e_check "a newline in the name is escaped" \
	"$(grep -cF "imgscan: probe: $T/a\\x0ab.qcow2: result: qcow2 (damaged)" "$T/nl.err")" "1" "wanted"
e2e_check "no line without the prefix" "$(grep -cv '^imgscan: probe: ' "$T/nl.err")" "0" "wanted"

# ---- every format: a patched field is named, with its value ---------------------------------
FIXTURES=${FIXTURES:-${top_srcdir:-.}/fixtures}

# fixture NAME OUT : fixtures/NAME.{head,size} as a sparse OUT
fixture()
{
	fx_s=$(cat "$FIXTURES/$1.size" 2>/dev/null || wc -c <"$FIXTURES/$1.head")
	rm -f "$2"
	truncate -s "$fx_s" "$2" && dd if="$FIXTURES/$1.head" of="$2" conv=notrunc status=none
}

# poke FILE OFFSET OCTAL... : write the bytes (printf octal escapes) at OFFSET
poke()
{
	pk_f=$1
	pk_o=$2
	shift 2
	pk_b=""
	for pk_x in "$@"; do
		pk_b="$pk_b\\$pk_x"
	done
	# shellcheck disable=SC2059
	printf "$pk_b" | dd of="$pk_f" bs=1 seek="$pk_o" conv=notrunc status=none
}

# golden LABEL FILE LINE : the trace of FILE holds exactly this line, once
golden()
{
	IMGSCAN_DEBUG=probe "$IMGSCAN" -P "$2" >/dev/null 2>"$T/g.err"
	gd_n=$(grep -cxF "imgscan: probe: $2: $3" "$T/g.err")
	if [ "$gd_n" = 1 ]; then
		e2e_ok "$1"
	else
		e2e_notok "$1: wanted the line \"$3\"; the trace says: $(grep -F "$2: $(printf '%s' "$3" | cut -d: -f1):" "$T/g.err" | grep -v ': magic ' | head -3 | tr '\n' '|')"
	fi
	# the probe named the field: the generic line is not added beside it
	fmt=$(printf '%s' "$3" | cut -d: -f1)
	e2e_check "$1: no generic line beside it" \
		"$(grep -cF "$2: $fmt: no match: the magic is there" "$T/g.err")" "0" "wanted"
}

# damaged_is FILE TEXT : the JSON output's damaged text is qemu's, no value added
damaged_is()
{
	e2e_check "$1: the output keeps qemu's words" \
		"$("$IMGSCAN" -J "$1" 2>/dev/null | jq -r '.. | objects | .damaged? // empty' | head -1)" "$2" "wanted"
}

# qcow2 made by qemu-img, cluster_bits 5: the value in the trace, not in the output
golden "qcow2: cluster_bits named" "$T/bad.qcow2" \
	"qcow2: check failed: Unsupported cluster size (cluster_bits 5, 9..21)"
damaged_is "$T/bad.qcow2" "Unsupported cluster size"

# qcow made by qemu-img, version 7: qcow refuses it; qcow2 (the same magic) calls it damaged
qemu-img create -q -f qcow "$T/v7.qcow" 64M || e2e_create_failed qcow
e2e_put_be32 "$T/v7.qcow" 4 7
golden "qcow: version named" "$T/v7.qcow" \
	"qcow: no match: version 7 (qcow is version 1; 2 and 3 are qcow2)"
golden "qcow2: version named" "$T/v7.qcow" \
	"qcow2: check failed: Unsupported qcow2 version (version 7, 2 or 3)"
if qemu-img info "$T/v7.qcow" 2>&1 | grep -q 'Unsupported qcow2 version 7'; then
	e2e_ok "qemu-img refuses version 7 as qcow2"
else
	e2e_notok "qemu-img on version 7: $(qemu-img info "$T/v7.qcow" 2>&1 | head -c 300)"
fi
damaged_is "$T/v7.qcow" "Unsupported qcow2 version"

# qcow2 made by qemu-img, version 1: qcow2 refuses it by name
qemu-img create -q -f qcow2 "$T/v1.qcow2" 64M || e2e_create_failed qcow2
e2e_put_be32 "$T/v1.qcow2" 4 1
golden "qcow2: version 1 named" "$T/v1.qcow2" \
	"qcow2: no match: version 1 (qcow2 is version 2 or 3; 1 is qcow)"

# qed made by qemu-img, cluster_size (LE u32 at 4) 1000
qemu-img create -q -f qed "$T/c.qed" 64M || e2e_create_failed qed
poke "$T/c.qed" 4 350 003 000 000
golden "qed: cluster_size named" "$T/c.qed" \
	"qed: check failed: QED cluster size is invalid (cluster_size 1000, a power of two 4096..67108864)"
damaged_is "$T/c.qed" "QED cluster size is invalid"

# vmdk made by qemu-img: KDMV version (LE u32 at 4) 4
qemu-img create -q -f vmdk "$T/v4.vmdk" 64M || e2e_create_failed vmdk
poke "$T/v4.vmdk" 4 004 000 000 000
golden "vmdk: version named" "$T/v4.vmdk" \
	"vmdk: check failed: Unsupported VMDK version (version 4, 1..3)"
# a descriptor (qemu-img's monolithicFlat) of version 4: not a vmdk for qemu
qemu-img create -q -f vmdk -o subformat=monolithicFlat "$T/d.vmdk" 1M ||
	e2e_create_failed vmdk-flat
sed -i 's/^version=1$/version=4/' "$T/d.vmdk"
d_at=$(grep -bo '^version=4' "$T/d.vmdk" | cut -d: -f1)
golden "vmdk: descriptor version named" "$T/d.vmdk" \
	"vmdk: no match: descriptor line \"version=4\" at byte $d_at (version=1, 2 or 3)"

# a vmdk descriptor (qemu-img's monolithicFlat) whose createType holds a tab: escaped
qemu-img create -q -f vmdk -o subformat=monolithicFlat "$T/ct.vmdk" 1M || e2e_create_failed vmdk-flat
sed -i "s/^createType=\"monolithicFlat\"/createType=\"mono$(printf '\t')lithic\"/" "$T/ct.vmdk"
ct_at=$(($(grep -bo '^createType="' "$T/ct.vmdk" | cut -d: -f1) + 12))
golden "vmdk: a hostile createType is escaped" "$T/ct.vmdk" \
	"vmdk: check failed: Unsupported image type (createType \"mono\\x09lithic\" at byte $ct_at)"
damaged_is "$T/ct.vmdk" "Unsupported image type"
# ... and one whose FLAT extent line lost its offset: the line is shown
qemu-img create -q -f vmdk -o subformat=monolithicFlat "$T/el.vmdk" 1M || e2e_create_failed vmdk-flat
sed -i 's/^\(RW [0-9]* FLAT "[^"]*"\) 0$/\1/' "$T/el.vmdk"
el_at=$(grep -bo '^RW ' "$T/el.vmdk" | cut -d: -f1)
el_line=$(grep '^RW ' "$T/el.vmdk" | sed 's/"/\\x22/g')
golden "vmdk: the refused extent line shown" "$T/el.vmdk" \
	"vmdk: check failed: Invalid extent line (\"$el_line\" at byte $el_at)"
if qemu-img info "$T/el.vmdk" 2>&1 | grep -q 'Invalid extent line'; then
	e2e_ok "qemu-img refuses the extent line"
else
	e2e_notok "qemu-img on the extent line: $(qemu-img info "$T/el.vmdk" 2>&1 | head -c 300)"
fi

# luks1 (cryptsetup fixture): key slot 0's stripes (BE u32 at 208 + 44) 3999
fixture luks-cryptsetup-luks1-32M "$T/s.luks"
e2e_put_be32 "$T/s.luks" 252 3999
IMGSCAN_DEBUG=probe "$IMGSCAN" -P "$T/s.luks" >/dev/null 2>"$T/s.err"
e2e_check "luks: the key slot named with its fields" \
	"$(grep -c "^imgscan: probe: $T/s.luks: luks: check failed: Keyslot is corrupted (stripes != 4000) (key slot 0: active 0x00ac71f3, iterations [0-9]*, key_material_offset [0-9]*, stripes 3999; payload_offset [0-9]*)\$" "$T/s.err")" \
	"1" "wanted"
damaged_is "$T/s.luks" "Keyslot is corrupted (stripes != 4000)"

# vpc made by qemu-img (dynamic): block_size (BE u32 at 512 + 32) 1000
qemu-img create -q -f vpc "$T/b.vpc" 64M || e2e_create_failed vpc
e2e_put_be32 "$T/b.vpc" 544 1000
golden "vpc: block_size named" "$T/b.vpc" "vpc: check failed: Invalid block size (block_size 1000)"
damaged_is "$T/b.vpc" "Invalid block size"
# a fixed vpc's footer alone, disk_type (BE u32 at 60 of the footer) 5
qemu-img create -q -f vpc -o subformat=fixed "$T/f.vpc" 4M || e2e_create_failed vpc-fixed
e2e_put_be32 "$T/f.vpc" $(($(wc -c <"$T/f.vpc") - 512 + 60)) 5
golden "vpc: footer disk_type named" "$T/f.vpc" \
	"vpc: no match: footer disk_type 5 (a footer alone is a fixed disk, type 2)"

# vhdx made by qemu-img: both header signatures broken, one with a newline
qemu-img create -q -f vhdx "$T/h.vhdx" 64M || e2e_create_failed vhdx
poke "$T/h.vhdx" 65536 150 145 012 144
poke "$T/h.vhdx" 131072 150 145 141 170
IMGSCAN_DEBUG=probe "$IMGSCAN" -P "$T/h.vhdx" >/dev/null 2>"$T/h.err"
e2e_check "vhdx: both headers named, the newline escaped" \
	"$(grep -c "^imgscan: probe: $T/h.vhdx: vhdx: check failed: No valid VHDX header found (header 1: signature \"he\\\\x0ad\", version 1, checksum 0x[0-9a-f]\{8\} (computed 0x[0-9a-f]\{8\}); header 2: signature \"heax\", version 1, checksum 0x[0-9a-f]\{8\} (computed 0x[0-9a-f]\{8\}); \"head\", version 1)\$" "$T/h.err")" \
	"1" "wanted"
e2e_check "vhdx: no raw control character on stderr" \
	"$(LC_ALL=C tr -d '\n' <"$T/h.err" | LC_ALL=C tr -d '[:print:]' | wc -c)" "0" "wanted"
damaged_is "$T/h.vhdx" "No valid VHDX header found"
# ... and one whose region table 1 signature (at 192 KiB) is broken
qemu-img create -q -f vhdx "$T/r.vhdx" 64M || e2e_create_failed vhdx
poke "$T/r.vhdx" 196608 170
IMGSCAN_DEBUG=probe "$IMGSCAN" -P "$T/r.vhdx" >/dev/null 2>"$T/r.err"
e2e_check "vhdx: region table 1 named" \
	"$(grep -c "^imgscan: probe: $T/r.vhdx: vhdx: check failed: VHDX region table checksum mismatch (region table 1 at 196608: signature \"xegi\", checksum 0x[0-9a-f]\{8\} (computed 0x[0-9a-f]\{8\}), entry_count 2, at most 2047)\$" "$T/r.err")" \
	"1" "wanted"
damaged_is "$T/r.vhdx" "VHDX region table checksum mismatch"

# vdi made by qemu-img: version (LE u32 at 68) 0x00020000
qemu-img create -q -f vdi "$T/v.vdi" 64M || e2e_create_failed vdi
poke "$T/v.vdi" 68 000 000 002 000
golden "vdi: version named" "$T/v.vdi" \
	"vdi: check failed: unsupported VDI image (version) (version 0x00020000, only 0x00010001 (1.1))"
damaged_is "$T/v.vdi" "unsupported VDI image (version)"

# parallels made by qemu-img: version (LE u32 at 16) 3
qemu-img create -q -f parallels "$T/p.prl" 64M || e2e_create_failed parallels
poke "$T/p.prl" 16 003 000 000 000
golden "parallels: version named" "$T/p.prl" "parallels: no match: version 3 (parallels is version 2)"

# bochs (bximage fixture): version (LE u32 at 64) 0x00030000, then a hostile type field
fixture bochs-10M "$T/b.bochs"
poke "$T/b.bochs" 64 000 000 003 000
golden "bochs: version named" "$T/b.bochs" \
	"bochs: no match: version 0x00030000 (0x00010000 or 0x00020000)"
fixture bochs-10M "$T/t.bochs"
# type "Redo\nlog\"\\" and the rest of its 16 bytes zero
poke "$T/t.bochs" 32 122 145 144 157 012 154 157 147 042 134 000 000 000 000 000 000
golden "bochs: a hostile type field is escaped" "$T/t.bochs" \
	'bochs: no match: type "Redo\x0alog\x22\x5c\x00\x00\x00\x00\x00\x00" ("Redolog")'

# cloop (create_compressed_fs fixture): block_size (BE u32 at 128) 1000; the preamble
fixture cloop-2M "$T/b.cloop"
e2e_put_be32 "$T/b.cloop" 128 1000
golden "cloop: block_size named" "$T/b.cloop" \
	"cloop: check failed: block_size must be a multiple of 512 (block_size 1000)"
damaged_is "$T/b.cloop" "block_size must be a multiple of 512"
fixture cloop-2M "$T/p.cloop"
poke "$T/p.cloop" 32 170 # the first byte past the 32-byte magic
# shellcheck disable=SC2016 # the preamble's own $0 and $1
golden "cloop: the preamble shown" "$T/p.cloop" \
	'cloop: no match: the V2.0 preamble: "#!/bin/sh\x0a#V2.0 Format\x0amodprobe xloop file=$0 && mount -r -t iso9660 /dev/cloop $1\x0a"'

# dmg (hdiutil fixture): the koly block's version (BE u32 at koly + 4) 5
fixture dmg-zero-1M "$T/v.dmg"
koly=$(($(wc -c <"$T/v.dmg") - 512))
e2e_put_be32 "$T/v.dmg" $((koly + 4)) 5
golden "dmg: version named" "$T/v.dmg" "dmg: no match: koly at $koly: version 5 (dmg is version 4)"

# luks (cryptsetup fixture, LUKS2): version 2 is raw for qemu
fixture luks-luks2-32M "$T/l2.luks"
golden "luks: version named" "$T/l2.luks" "luks: no match: version 2 (qemu opens LUKS version 1)"

# iso 9660 with a qcow2 header in its system area (xorriso fixture): descriptor version 2
fixture iso-qcow2-polyglot "$T/v.iso"
poke "$T/v.iso" $((32768 + 6)) 002
golden "iso: descriptor version named" "$T/v.iso" "iso: no match: volume descriptor version 2 (1)"

# udf made by mkudffs, a qcow2 header at 0, its NSR descriptor gone
if command -v mkudffs >/dev/null 2>&1; then
	truncate -s 8M "$T/n.udf"
	mkudffs -b 2048 --media-type=hd "$T/n.udf" >/dev/null
	dd if="$T/v1.qcow2" of="$T/n.udf" bs=512 count=1 conv=notrunc status=none
	e2e_put_be32 "$T/n.udf" 4 3 # the qcow2 header back to version 3
	poke "$T/n.udf" $((32768 + 2048 + 1)) 130 130 130
	golden "udf: the missing NSR descriptor named" "$T/n.udf" \
		"udf: no match: no NSR02/NSR03 descriptor at 34816 or 36864"
else
	e2e_notok "mkudffs not installed (tools/deps.sh installs udftools)"
fi

e2e_summary
