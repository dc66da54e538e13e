#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/formats-vs-qemu.sh -- imgscan against qemu-img 7.2 on every
# non-qcow2 format qemu-img 7.2 can create (docs/formats.md): qcow, qed,
# vmdk (every subformat), vpc, vhdx, vdi, parallels, luks, raw; plus LUKS1 and
# LUKS2 made by cryptsetup when it is installed.
#
# Spec followed: qemu-img info's JSON (docs/formats.md, "How `qemu-img info
# --output=json` is followed", and each format's section).  For each image
# "imgscan --json IMG" (images[0]) is
# compared with "qemu-img info -U --output=json IMG" on format, virtual-size,
# cluster-size, backing-filename, backing-filename-format, dirty-flag,
# encrypted, format-specific.type, and format-specific.data for vmdk
# (create-type, cid, parent-cid, extents[].filename/format/virtual-size) and
# luks (cipher-alg, cipher-mode, hash-alg, ivgen-alg, uuid).  A key qemu-img
# omits must be omitted by imgscan too.  Images are made in a scratch dir and
# both tools run there on relative names, so qemu's extent file names (which
# it joins to the descriptor's directory) compare with the descriptor's text.
#
# Documented exceptions (qemu-img's 512-byte probe is blind), enforced below:
#
#   image                         qemu-img probe   compared against
#   ----------------------------  ---------------  --------------------------
#   vpc subformat=fixed           raw              qemu-img info -f vpc
#   vpc fixed + force_size=on     raw              qemu-img info -f vpc
#   LUKS2 (cryptsetup)            raw              qemu-img info (raw): qemu's
#                                                  luks driver is LUKS1 only
#                                                  ("LUKS version 2 is not
#                                                  supported"), so imgscan
#                                                  must say raw as well
#
# Each of these also checks that qemu-img's own probe still says raw, so a
# stale entry in this table fails.  One more, where qemu-img reads a file
# imgscan must never open:
#
#   image                         qemu-img         imgscan
#   ----------------------------  ---------------  --------------------------
#   vmdk descriptor file with     cluster-size of  no cluster-size (the key
#   SPARSE extents                the extent file  is omitted): imgscan never
#   (twoGbMaxExtentSparse)                         opens a path named in a
#                                                  header
#
# And one where qemu-img does not report what the header says:
#
#   image                         qemu-img         imgscan
#   ----------------------------  ---------------  --------------------------
#   qed with NEED_CHECK (0x2)     "dirty-flag":    "dirty-flag": true, as the
#                                 false (7.2 does  issue asks: need-check is
#                                 not report it)   qed's dirty flag
#
# Also: every image in ONE imgscan --json call (count, order, same objects).
#
# A format whose imgscan result is still "raw" (placeholder probe) FAILS here
# on purpose.

# Header strings with quotes and $ are meant literally; jq paths in lists too.
# shellcheck disable=SC1091,SC2015,SC2016,SC2034,SC2086,SC2089,SC2090
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_need_cmd qemu-img jq od dd
e2e_init
set -f
cd "$E2E_TMP" || exit 1
SECRET='secret,id=s0,data=x'

FIELDS='.format ."virtual-size" ."cluster-size" ."backing-filename"
."backing-filename-format" ."dirty-flag" .encrypted ."format-specific".type'
VMDK_FIELDS='."format-specific".data."create-type" ."format-specific".data.cid
."format-specific".data."parent-cid"'
VMDK_EXTENTS='[."format-specific".data.extents[]? | {filename, format, "virtual-size"}]'
LUKS_FIELDS='."format-specific".data."cipher-alg"
."format-specific".data."cipher-mode" ."format-specific".data."hash-alg"
."format-specific".data."ivgen-alg" ."format-specific".data.uuid'

IMAGES=

# mk FORMAT NAME SIZE QEMU-IMG-CREATE-ARGS... : create NAME (an empty SIZE
# takes the backing file's); returns 1 after a "not ok" when qemu-img fails
mk()
{
	mk_fmt=$1
	mk_name=$2
	mk_size=$3
	shift 3
	if ! e2e_retry qemu-img create -q -f "$mk_fmt" "$@" "$mk_name" ${mk_size:+"$mk_size"} \
			>"$mk_name.create.err" 2>&1; then
		e2e_create_failed "$mk_name" "$mk_name.create.err"
		return 1
	fi
	return 0
}

# check NAME QEMU-FORMAT [EXTRA-JQPATH...] : compare imgscan with qemu-img
# info (with -f QEMU-FORMAT when it is not empty) on FIELDS + EXTRA
check()
{
	ck_name=$1
	ck_qfmt=$2
	shift 2
	if ! qemu_info "$ck_name" "$ck_qfmt"; then
		e2e_notok "$ck_name: qemu-img info failed: $(head -c 300 "$ck_name.q.err" | tr '\n' ' ')"
		return 1
	fi
	IMAGES="$IMAGES $ck_name"
	scan_json "$ck_name" "$ck_name" || return 1
	# shellcheck disable=SC2086
	compare_fields "$ck_name" "$ck_name" $FIELDS "$@"
	return 0
}

# check_vmdk NAME : check + the vmdk format-specific data
check_vmdk()
{
	# shellcheck disable=SC2086
	check "$1" '' $VMDK_FIELDS || return
	compare_expr "$1" "$1" "$VMDK_EXTENTS"
}

# check_vmdk_desc NAME : a descriptor with SPARSE extents (exception table):
# every field but cluster-size compared, cluster-size must be absent
check_vmdk_desc()
{
	vd_fields=$FIELDS
	FIELDS=$(printf '%s\n' $FIELDS | grep -v -x -F '."cluster-size"')
	check_vmdk "$1"
	FIELDS=$vd_fields
	[ -f "$1.s1.json" ] || return
	e2e_check "$1: qemu-img reports the extent's cluster-size (documented exception)" \
		"$(e2e_field "$1.q.json" '."cluster-size"')" 65536 "table says"
	expect_field "$1" "$1" '."cluster-size"' '<absent>'
}

# check_qed_need_check NAME : every field but dirty-flag compared; qemu-img
# says false (stale-entry check), imgscan says true
check_qed_need_check()
{
	qn_fields=$FIELDS
	FIELDS=$(printf '%s\n' $FIELDS | grep -v -x -F '."dirty-flag"')
	check "$1" ''
	FIELDS=$qn_fields
	[ -f "$1.q.json" ] || return
	e2e_check "$1: qemu-img reports no dirty flag for need-check (documented exception)" \
		"$(e2e_field "$1.q.json" '."dirty-flag"')" false "table says"
	expect_field "$1" "$1" '."dirty-flag"' true
}

# check_exception NAME QEMU-FORMAT : a documented exception: qemu-img's probe
# must still say raw, and imgscan is compared with qemu-img info -f FORMAT
check_exception()
{
	ex_probe=$(qemu-img info -U --output=json "$1" 2>/dev/null | jq -r .format)
	e2e_check "$1: qemu-img's own probe says raw (documented exception)" \
		"$ex_probe" raw "table says"
	check "$1" "$2"
}

# ---- qcow (version 1) --------------------------------------------------------

qemu-img create -q -f raw base.raw 4M
qemu-img create -q -f qcow2 base.qcow2 4M

mk qcow qcow-plain.qcow 8M && check qcow-plain.qcow ''
mk qcow qcow-odd.qcow 1000001 && check qcow-odd.qcow ''
mk qcow qcow-backing-qcow.qcow '' -b qcow-plain.qcow -F qcow &&
	check qcow-backing-qcow.qcow ''
mk qcow qcow-backing-raw.qcow 8M -b base.raw -F raw &&
	check qcow-backing-raw.qcow ''
mk qcow qcow-backing-hostile.qcow 8M -u -b "$(printf 'a b;$x`y`"\n\377')" -F raw &&
	check qcow-backing-hostile.qcow ''
mk qcow qcow-aes.qcow 8M --object "$SECRET" \
	-o encrypt.format=aes,encrypt.key-secret=s0 && check qcow-aes.qcow ''
mk qcow qcow-aes-backing.qcow 8M -b base.raw -F raw --object "$SECRET" \
	-o encrypt.format=aes,encrypt.key-secret=s0 &&
	check qcow-aes-backing.qcow ''

# ---- qed -------------------------------------------------------------------

mk qed qed-plain.qed 8M && check qed-plain.qed ''
mk qed qed-cluster-4k.qed 8M -o cluster_size=4k &&
	check qed-cluster-4k.qed ''
mk qed qed-backing-raw.qed 8M -b base.raw -F raw && check qed-backing-raw.qed ''
mk qed qed-backing-qcow2.qed 8M -b base.qcow2 -F qcow2 &&
	check qed-backing-qcow2.qed ''
mk qed qed-backing-hostile.qed 8M -u -b "$(printf 'q e\nd$`;\377')" -F raw &&
	check qed-backing-hostile.qed ''
# NEED_CHECK (features bit 1, LE u64 at 16): qemu-img 7.2 still says
# "dirty-flag": false
if mk qed qed-need-check.qed 8M; then
	e2e_byte_or qed-need-check.qed 16 2
	check_qed_need_check qed-need-check.qed
fi

# ---- vmdk ------------------------------------------------------------------

for sub in monolithicSparse monolithicFlat twoGbMaxExtentFlat streamOptimized; do
	mk vmdk "vmdk-$sub.vmdk" 8M -o subformat=$sub && check_vmdk "vmdk-$sub.vmdk"
done
mk vmdk vmdk-twoGbMaxExtentSparse.vmdk 8M -o subformat=twoGbMaxExtentSparse &&
	check_vmdk_desc vmdk-twoGbMaxExtentSparse.vmdk
mk vmdk vmdk-compat6.vmdk 8M -o compat6=on && check_vmdk vmdk-compat6.vmdk
mk vmdk vmdk-zeroed-grain.vmdk 8M -o zeroed_grain=on &&
	check_vmdk vmdk-zeroed-grain.vmdk
mk vmdk vmdk-adapter-ide.vmdk 8M -o adapter_type=ide,hwversion=4 &&
	check_vmdk vmdk-adapter-ide.vmdk
mk vmdk vmdk-backing.vmdk '' -b vmdk-monolithicSparse.vmdk -F vmdk &&
	check_vmdk vmdk-backing.vmdk
mk vmdk vmdk-backing-2gb.vmdk '' -o subformat=twoGbMaxExtentSparse \
	-b vmdk-monolithicSparse.vmdk -F vmdk && check_vmdk_desc vmdk-backing-2gb.vmdk

# ---- vpc -------------------------------------------------------------------

mk vpc vpc-dynamic.vhd 8M && check vpc-dynamic.vhd ''
mk vpc vpc-dynamic-force-size.vhd 8M -o force_size=on &&
	check vpc-dynamic-force-size.vhd ''
mk vpc vpc-fixed.vhd 8M -o subformat=fixed && check_exception vpc-fixed.vhd vpc
mk vpc vpc-fixed-force-size.vhd 8M -o subformat=fixed,force_size=on &&
	check_exception vpc-fixed-force-size.vhd vpc

# ---- vhdx ------------------------------------------------------------------

mk vhdx vhdx-dynamic.vhdx 8M && check vhdx-dynamic.vhdx ''
mk vhdx vhdx-fixed.vhdx 8M -o subformat=fixed && check vhdx-fixed.vhdx ''
mk vhdx vhdx-block-1M.vhdx 64M -o block_size=1M && check vhdx-block-1M.vhdx ''
mk vhdx vhdx-block-32M.vhdx 64M -o block_size=32M && check vhdx-block-32M.vhdx ''
mk vhdx vhdx-log-4M.vhdx 8M -o log_size=4M && check vhdx-log-4M.vhdx ''

# ---- vdi -------------------------------------------------------------------

mk vdi vdi-dynamic.vdi 8M && check vdi-dynamic.vdi ''
mk vdi vdi-static.vdi 8M -o static=on && check vdi-static.vdi ''

# ---- parallels -------------------------------------------------------------

mk parallels parallels-default.hds 8M && check parallels-default.hds ''
mk parallels parallels-cluster-64k.hds 8M -o cluster_size=64k &&
	check parallels-cluster-64k.hds ''
mk parallels parallels-cluster-4M.hds 16M -o cluster_size=4M &&
	check parallels-cluster-4M.hds ''

# ---- luks ------------------------------------------------------------------

mk luks luks-qemu.luks 8M --object "$SECRET" -o key-secret=s0,iter-time=10 &&
	check luks-qemu.luks '' $LUKS_FIELDS
mk luks luks-qemu-cbc.luks 8M --object "$SECRET" \
	-o key-secret=s0,iter-time=10,cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=sha256,hash-alg=sha1 &&
	check luks-qemu-cbc.luks '' $LUKS_FIELDS

if command -v cryptsetup >/dev/null 2>&1; then
	printf 'x' >keyfile
	truncate -s 32M luks1-cryptsetup.img
	if cryptsetup luksFormat -q --type luks1 --iter-time 1 \
			--key-file keyfile luks1-cryptsetup.img >cs1.err 2>&1; then
		check luks1-cryptsetup.img '' $LUKS_FIELDS
	else
		e2e_notok "luks1-cryptsetup.img: cryptsetup luksFormat failed: $(head -c 300 cs1.err | tr '\n' ' ')"
	fi
	truncate -s 32M luks2-cryptsetup.img
	if cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --iter-time 1 \
			--key-file keyfile luks2-cryptsetup.img >cs2.err 2>&1; then
		# qemu: raw ("LUKS version 2 is not supported"); imgscan: raw too
		check_exception luks2-cryptsetup.img ''
		expect_field luks2-cryptsetup.img luks2-cryptsetup.img .format '"raw"'
	else
		e2e_notok "luks2-cryptsetup.img: cryptsetup luksFormat failed: $(head -c 300 cs2.err | tr '\n' ' ')"
	fi
else
	echo "# cryptsetup not installed: LUKS1/LUKS2 cryptsetup images not tested"
fi

# ---- raw -------------------------------------------------------------------

mk raw raw-zero.img 4M && check raw-zero.img ''
mk raw raw-odd.img 1000001 && check raw-odd.img ''
printf 'just some text, not an image\n' >raw-text.img
check raw-text.img ''

# ---- every image in one call -------------------------------------------------

# shellcheck disable=SC2086
scan_many "one call" $IMAGES

e2e_summary
