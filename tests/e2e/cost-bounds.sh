#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/cost-bounds.sh -- what a hostile header can make a probe cost,
# counted in instructions (valgrind's callgrind), never in seconds: the
# budgets of docs/security.md, section "Cost bounds".
#
#   - header probe (img_probe and everything it calls, reads included, no
#     --deep): at most 20,000,000 instructions per volume on every worst
#     case below, and on one image of every format qemu-img writes;
#   - --deep: at most 20,000,000 plus 4,000,000 per MiB read;
#   - -T (img_table_print: resolving the chains and printing them): at most
#     200,000 instructions per image, and at most 2 KiB of output per image;
#   - growth: doubling the input (blank lines, extensions, snapshot table
#     entries, chain length) at most 2.2 times the instructions (a
#     quadratic cost gives about 4).
#
# The worst cases are generated from images qemu-img makes:
#   - vmdk text descriptor, one extent then blank lines to 64 KiB (a line
#     sscanf scans on to the extent from every blank line: 2 to 4 s of CPU
#     per probe before parsing became linear);
#   - vmdk descriptor of 5000 extents (over the 64 KiB parsed: "limit");
#   - vmdk descriptor of blank lines then one line of 30,000 digits;
#   - qcow2 with 2 MiB clusters: 300 unknown extensions of 2 KiB (failed
#     the scan, "Argument list too long", before reads coalesced), the whole
#     cluster of zero-length extensions (262,130), and a feature-name table
#     of 40,000 entries with 63 unknown feature bits to name;
#   - --deep: a snapshot table of 16384 and 32768 entries of 1 KiB;
#   - -T: backing chains 500 and 1000 images deep.
#
# Needs valgrind, qemu-img and jq (tools/deps.sh installs them); exits 77
# with a message otherwise.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_need_cmd valgrind qemu-img jq od
e2e_init
# valgrind cannot run a sanitizer build (ASan maps shadow memory valgrind
# refuses): the counts are the plain build's, which CI runs first
if grep -q __asan_init "$IMGSCAN"; then
	e2e_skip "an ASan build: instructions are counted on the plain build"
fi
T=$E2E_TMP

PROBE_BUDGET=20000000
DEEP_BASE=20000000
DEEP_PER_MIB=4000000
TREE_PER_IMAGE=200000
TREE_BYTES_PER_IMAGE=2048

# count FUNC ARGS...: CNT = instructions spent inside FUNC (inclusive)
# while imgscan runs with ARGS, CRC = imgscan's exit status; its stdout
# goes to $T/out
count()
{
	c_fn=$1
	shift
	rm -f "$T/cg.out"
	valgrind --tool=callgrind --toggle-collect="$c_fn" --callgrind-out-file="$T/cg.out" \
		"$IMGSCAN" "$@" >"$T/out" 2>"$T/cg.err"
	CRC=$?
	CNT=0
	if [ -s "$T/cg.out" ]; then
		# the count as callgrind wrote it (awk would print a large number as 4.2e+09)
		CNT=$(awk '/^summary:/ { n = $2 } END { print (n == "" ? "0" : n) }' "$T/cg.out")
	else
		echo "# callgrind wrote nothing: $(tail -n 3 "$T/cg.err" | tr '\n' ' ')"
	fi
}

# probe_budget LABEL FILE: --udev FILE exits 0 and its probe stays in budget
probe_budget()
{
	count img_probe --udev "$2"
	pb_n=$CNT
	c_rc=$CRC
	echo "# $1: $pb_n instructions in the probe"
	e2e_check "$1: --udev exit status" "$c_rc" 0 "wanted"
	if [ "$pb_n" -gt 0 ] && [ "$pb_n" -le "$PROBE_BUDGET" ]; then
		e2e_ok "$1: $pb_n <= $PROBE_BUDGET instructions"
	else
		e2e_notok "$1: $pb_n instructions, budget $PROBE_BUDGET"
	fi
	PB_LAST=$pb_n
}

# growth LABEL SMALL LARGE: LARGE (twice the input) costs at most 2.2x SMALL
growth()
{
	if [ "$2" -gt 0 ] && [ $(($3 * 10)) -le $(($2 * 22)) ]; then
		e2e_ok "$1: doubling the input: $2 -> $3 instructions (<= 2.2x)"
	else
		e2e_notok "$1: doubling the input: $2 -> $3 instructions (more than 2.2x)"
	fi
}

# repeat FILE N: FILE concatenated with itself until it holds 2^N copies
repeat()
{
	r_k=0
	while [ "$r_k" -lt "$2" ]; do
		cat "$1" "$1" >"$1.2" && mv "$1.2" "$1"
		r_k=$((r_k + 1))
	done
}

# ------------------------------------------------------------------- vmdk

# a text descriptor of one extent, then blank lines up to SIZE bytes
blank_vmdk()
{
	printf 'version=1\ncreateType="monolithicFlat"\nRW 32768 FLAT "x" 0\n' >"$1"
	head -c $(($2 - $(wc -c <"$1"))) /dev/zero | tr '\000' '\n' >>"$1"
}
blank_vmdk "$T/blank32.vmdk" 32768
blank_vmdk "$T/blank64.vmdk" 65536
probe_budget "vmdk, one extent then 32 KiB of blank lines" "$T/blank32.vmdk"
n32=$PB_LAST
probe_budget "vmdk, one extent then 64 KiB of blank lines" "$T/blank64.vmdk"
n64=$PB_LAST
growth "vmdk blank lines" "$n32" "$n64"
e2e_check "vmdk blank lines: the one extent counted once" \
	"$(grep '^ID_IMAGE_VIRTUAL_SIZE=' "$T/out")" "ID_IMAGE_VIRTUAL_SIZE=16777216" "wanted"

# 5000 extents: longer than the 64 KiB parsed, the size is not made up
{
	printf '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n'
	printf 'createType="twoGbMaxExtentFlat"\n'
	i=0
	while [ $i -lt 5000 ]; do
		printf 'RW 4194304 FLAT "disk-f%05d.vmdk" 0\n' $i
		i=$((i + 1))
	done
} >"$T/many.vmdk"
probe_budget "vmdk, 5000 extents" "$T/many.vmdk"
e2e_check "vmdk, 5000 extents: ID_IMAGE_LIMIT" "$(grep '^ID_IMAGE_LIMIT=' "$T/out")" \
	"ID_IMAGE_LIMIT=1" "wanted"
e2e_check "vmdk, 5000 extents: no virtual size summed over part of the list" \
	"$(grep -c '^ID_IMAGE_VIRTUAL_SIZE=' "$T/out")" 0 "wanted"

# blank lines then 30,000 digits: every blank line would scan the digits
{
	printf 'version=1\ncreateType="vmfs"\n'
	head -c 30000 /dev/zero | tr '\000' '\n'
	head -c 30000 /dev/zero | tr '\000' '7'
	printf '\n'
} >"$T/digits.vmdk"
probe_budget "vmdk, blank lines then a 30,000-digit line" "$T/digits.vmdk"

# ------------------------------------------------------------------ qcow2

# a qcow2 with 2 MiB clusters, its header extensions replaced by the file EXT
qcow2_ext()
{
	qemu-img create -q -f qcow2 -o cluster_size=2M "$1" 64M ||
		e2e_create_failed "qcow2 2M clusters" /dev/null
	hl=$(od -An -tu4 --endian=big -j100 -N4 "$1" | tr -d ' ')
	head -c $((2097152 - hl)) /dev/zero >"$T/area"
	dd if="$2" of="$T/area" bs=64K conv=notrunc status=none
	dd if="$T/area" of="$1" bs=64K seek="$hl" oflag=seek_bytes conv=notrunc status=none
}

# 300 unknown extensions of 2 KiB each (qemu opens the image)
{ printf '\022\064\126\170\000\000\010\000'; head -c 2048 /dev/zero; } >"$T/ext1"
: >"$T/ext"
i=0
while [ $i -lt 300 ]; do
	cat "$T/ext1" >>"$T/ext"
	i=$((i + 1))
done
qcow2_ext "$T/ext300.qcow2" "$T/ext"
if qemu-img info "$T/ext300.qcow2" >/dev/null 2>&1; then
	e2e_ok "qcow2, 300 extensions of 2 KiB: qemu-img opens it"
else
	e2e_notok "qcow2, 300 extensions of 2 KiB: qemu-img refuses it"
fi
probe_budget "qcow2, 300 extensions of 2 KiB" "$T/ext300.qcow2"
e2e_check "qcow2, 300 extensions of 2 KiB: ID_IMAGE_FORMAT" \
	"$(grep '^ID_IMAGE_FORMAT=' "$T/out")" "ID_IMAGE_FORMAT=qcow2" "wanted"
e2e_check "qcow2, 300 extensions of 2 KiB: not damaged" \
	"$(grep -c '^ID_IMAGE_DAMAGED=' "$T/out")" 0 "wanted"

# zero-length unknown extensions: 1 MiB of them (then the end marker), and
# the whole 2 MiB cluster without an end marker
printf '\042\042\042\042\000\000\000\000' >"$T/z"
repeat "$T/z" 17
qcow2_ext "$T/ext1m.qcow2" "$T/z"
cat "$T/z" "$T/z" >"$T/z2"
qcow2_ext "$T/ext2m.qcow2" "$T/z2"
if qemu-img info "$T/ext2m.qcow2" >/dev/null 2>&1; then
	e2e_ok "qcow2, a cluster of zero-length extensions: qemu-img opens it"
else
	e2e_notok "qcow2, a cluster of zero-length extensions: qemu-img refuses it"
fi
probe_budget "qcow2, 1 MiB of zero-length extensions" "$T/ext1m.qcow2"
z1=$PB_LAST
probe_budget "qcow2, 2 MiB of zero-length extensions" "$T/ext2m.qcow2"
z2=$PB_LAST
growth "qcow2 zero-length extensions" "$z1" "$z2"
e2e_check "qcow2, 262,130 zero-length extensions: not damaged" \
	"$(grep -c '^ID_IMAGE_DAMAGED=' "$T/out")" 0 "wanted"

# a feature-name table of 40,000 entries (1.9 MB) and 63 unknown
# compatible bits: the table is walked to its end to name them
# (every entry names incompatible bit 0, which is known: none names them)
{ printf '\000\000x'; head -c 45 /dev/zero; } >"$T/entry"
repeat "$T/entry" 15 # 32768 entries
{
	printf '\150\003\370\127\000\035\114\000' # type 0x6803f857, 40000 * 48 bytes
	cat "$T/entry"
	head -c $(((40000 - 32768) * 48)) "$T/entry"
} >"$T/ftab"
qcow2_ext "$T/feat.qcow2" "$T/ftab"
# compatible_features (80): every bit but lazy_refcounts
printf '\377\377\377\377\377\377\377\376' |
	dd of="$T/feat.qcow2" bs=1 seek=80 conv=notrunc status=none
probe_budget "qcow2, feature-name table of 40,000 entries" "$T/feat.qcow2"

# ------------------------------------------------- every format qemu-img writes

for spec in qcow2:qcow2 qcow:qcow qed:qed vmdk:vmdk vpc:vhd vhdx:vhdx vdi:vdi \
		parallels:hds; do
	f=${spec%%:*}
	if qemu-img create -q -f "$f" "$T/plain.${spec#*:}" 1G >/dev/null 2>&1; then
		probe_budget "$f made by qemu-img" "$T/plain.${spec#*:}"
	fi
done

# ------------------------------------------------------------------ --deep

# a qcow2 whose snapshot table holds N entries of 1064 bytes at 1 MiB
snap_qcow2()
{
	qemu-img create -q -f qcow2 "$1" 1G
	e2e_put_be32 "$1" 60 "$2"
	e2e_put_be32 "$1" 64 0
	e2e_put_be32 "$1" 68 1048576
	{ head -c 36 /dev/zero; printf '\000\000\004\000'; head -c 1024 /dev/zero; } >"$T/tab"
	repeat "$T/tab" "$3"
	dd if="$T/tab" of="$1" bs=1M seek=1 conv=notrunc status=none
	rm -f "$T/tab"
}
for n in 14 15; do
	snap_qcow2 "$T/snap$n.qcow2" $((1 << n)) "$n"
	count img_probe --deep --json --stats "$T/snap$n.qcow2"
	d_n=$CNT
	d_bytes=$(jq -r '.images[0].scan.bytes' "$T/out")
	d_budget=$((DEEP_BASE + DEEP_PER_MIB * ((d_bytes + 1048575) / 1048576)))
	echo "# --deep, $((1 << n)) snapshots: $d_n instructions for $d_bytes bytes read"
	if [ "$d_n" -gt 0 ] && [ "$d_n" -le "$d_budget" ]; then
		e2e_ok "--deep, $((1 << n)) snapshots: $d_n <= $d_budget instructions"
	else
		e2e_notok "--deep, $((1 << n)) snapshots: $d_n instructions, budget $d_budget"
	fi
	eval "deep$n=\$d_n"
done
# shellcheck disable=SC2154
growth "--deep snapshot table" "$deep14" "$deep15"

# ---------------------------------------------------------------------- -T

# a chain of N qcow2 images, cNNNNN backed by the one before
chain()
{
	mkdir "$1"
	qemu-img create -q -f qcow2 "$1/c00000.qcow2" 1M
	qemu-img create -q -f qcow2 -u -b c00000.qcow2 -F qcow2 "$1/tmpl" 1M
	boff=$(od -An -tu8 --endian=big -j8 -N8 "$1/tmpl" | tr -d ' ')
	i=1
	while [ $i -lt "$2" ]; do
		cp "$1/tmpl" "$1/c$(printf %05d $i).qcow2"
		printf 'c%05d.qcow2' $((i - 1)) |
			dd of="$1/c$(printf %05d $i).qcow2" bs=1 seek="$boff" conv=notrunc status=none
		i=$((i + 1))
	done
	rm -f "$1/tmpl"
}
chain "$T/ch500" 500
chain "$T/ch1000" 1000
for n in 500 1000; do
	count img_table_print -T -- "$T/ch$n"/c*.qcow2
	t_n=$CNT
	t_bytes=$(wc -c <"$T/out")
	echo "# -T, a chain of $n: $t_n instructions, $t_bytes bytes"
	if [ "$t_n" -gt 0 ] && [ "$t_n" -le $((TREE_PER_IMAGE * n)) ]; then
		e2e_ok "-T, a chain of $n: $t_n <= $((TREE_PER_IMAGE * n)) instructions"
	else
		e2e_notok "-T, a chain of $n: $t_n instructions, budget $((TREE_PER_IMAGE * n))"
	fi
	if [ "$t_bytes" -le $((TREE_BYTES_PER_IMAGE * n)) ]; then
		e2e_ok "-T, a chain of $n: $t_bytes bytes of output <= $((TREE_BYTES_PER_IMAGE * n))"
	else
		e2e_notok "-T, a chain of $n: $t_bytes bytes of output, budget $((TREE_BYTES_PER_IMAGE * n))"
	fi
	e2e_check "-T, a chain of $n: every image listed" \
		"$(grep -c 'c[0-9]*\.qcow2 *qcow2' "$T/out")" "$n" "wanted"
	eval "tree$n=\$t_n"
done
# shellcheck disable=SC2154
growth "-T chain" "$tree500" "$tree1000"

e2e_summary
