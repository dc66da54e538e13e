#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/qcow2-vs-qemu.sh -- imgscan against qemu-img 7.2 on qcow2 images
# made at test time with every qcow2 option qemu-img 7.2 has.
#
# Spec followed: qemu docs/interop/qcow2.rst and qemu-img info's JSON
# (docs/formats.md, "qcow2" and "How `qemu-img info --output=json` is
# followed").  For each image,
# "imgscan --json IMG" (images[0]) is compared with
# "qemu-img info -U --output=json IMG" on these keys; a key qemu-img omits
# must be omitted by imgscan too:
#   format virtual-size cluster-size backing-filename backing-filename-format
#   encrypted dirty-flag format-specific.type and format-specific.data.
#   {compat lazy-refcounts refcount-bits corrupt extended-l2 compression-type
#    data-file data-file-raw encrypt.format}
# Then all images in ONE imgscan --json call (count, order, same objects),
# and imgscan --udev on a few (ID_IMAGE_FORMAT, _COMPAT, _VIRTUAL_SIZE,
# _DIRTY, _ENCRYPTION, _BITMAPS, _SNAPSHOTS) plus a raw image (no output).
#
# How the harder cases are made with qemu-img 7.2:
#   * no recorded backing format: 7.2 refuses create/rebase without -F, so
#     the image is created with -F raw and the backing-format extension's
#     type (first extension, at header_length: 112 for v3, 72 for v2) is
#     patched to an unknown type 0x12345678, which qemu skips;
#   * hostile / long backing names: create -u -b NAME -F raw (never opened);
#   * aes: -o encrypt.format=aes,encrypt.key-secret=s0 (tools-only in 7.2);
#   * dirty / corrupt: bits 0 / 1 of byte 79 (incompatible features, BE u64
#     at 72) set with printf | dd; qemu-img info -U still reads them.

# Header strings with quotes and $ are meant literally; jq paths in lists too.
# shellcheck disable=SC1091,SC2015,SC2016,SC2034,SC2086,SC2089,SC2090
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_need_cmd qemu-img jq od dd
e2e_init
set -f
T=$E2E_TMP
SECRET='secret,id=s0,data=x'

FIELDS='.format ."virtual-size" ."cluster-size" ."backing-filename"
."backing-filename-format" .encrypted ."dirty-flag" ."format-specific".type
."format-specific".data.compat ."format-specific".data."lazy-refcounts"
."format-specific".data."refcount-bits" ."format-specific".data.corrupt
."format-specific".data."extended-l2" ."format-specific".data."compression-type"
."format-specific".data."data-file" ."format-specific".data."data-file-raw"
."format-specific".data.encrypt.format'

IMAGES=

# mk NAME SIZE QEMU-IMG-CREATE-ARGS... : create $T/NAME.qcow2 into $IMG;
# returns 1 (after a "not ok") when qemu-img fails
mk()
{
	mk_name=$1
	mk_size=$2
	shift 2
	IMG=$T/$mk_name.qcow2
	# an empty SIZE takes the size of the backing file
	if ! e2e_retry qemu-img create -q -f qcow2 "$@" "$IMG" ${mk_size:+"$mk_size"} \
			>"$IMG.create.err" 2>&1; then
		e2e_create_failed "$mk_name" "$IMG.create.err"
		return 1
	fi
	return 0
}

# check NAME : compare imgscan with qemu-img on $T/NAME.qcow2 ($IMG)
check()
{
	if ! qemu_info "$IMG"; then
		e2e_notok "$1: qemu-img info failed: $(head -c 300 "$IMG.q.err" | tr '\n' ' ')"
		return
	fi
	IMAGES="$IMAGES $IMG"
	scan_json "$1" "$IMG" || return
	# shellcheck disable=SC2086
	compare_fields "$IMG" "$1" $FIELDS
}

# mkcheck NAME SIZE ARGS... : mk + check
mkcheck()
{
	mk "$@" && check "$1"
}

# ---- plain variants --------------------------------------------------------

mkcheck v3-default 64M
mkcheck compat-0.10 64M -o compat=0.10
mkcheck compat-1.1 64M -o compat=1.1
for cs in 512 1k 4k 64k 2M; do
	mkcheck "cluster-$cs" 64M -o cluster_size=$cs
done
mkcheck compat-0.10-cluster-512 1M -o compat=0.10,cluster_size=512
for rb in 1 2 4 8 16 32 64; do
	mkcheck "refcount-bits-$rb" 16M -o refcount_bits=$rb
done
mkcheck lazy-refcounts 16M -o lazy_refcounts=on
mkcheck extended-l2 16M -o extended_l2=on,cluster_size=128k
mkcheck zstd 16M -o compression_type=zstd
mkcheck zstd-extl2-lazy 16M \
	-o compression_type=zstd,extended_l2=on,cluster_size=64k,lazy_refcounts=on
mkcheck odd-size 1000001

# ---- backing files ---------------------------------------------------------

qemu-img create -q -f raw "$T/base.raw" 4M
qemu-img create -q -f qcow2 "$T/base.qcow2" 4M
mkcheck backing-qcow2 8M -b "$T/base.qcow2" -F qcow2
mkcheck backing-raw 8M -b "$T/base.raw" -F raw
mkcheck backing-relative 8M -u -b base.qcow2 -F qcow2
mkcheck backing-v2 8M -o compat=0.10 -b "$T/base.qcow2" -F qcow2
mkcheck backing-implicit-size '' -b "$T/base.qcow2" -F qcow2

# no backing format recorded: patch the backing-format extension away
if mk backing-noformat 8M -b "$T/base.raw" -F raw; then
	e2e_put_be32 "$IMG" 112 305419896
	check backing-noformat
fi
if mk backing-noformat-v2 8M -o compat=0.10 -b "$T/base.raw" -F raw; then
	e2e_put_be32 "$IMG" 72 305419896
	check backing-noformat-v2
fi

# long and hostile names, stored with -u (never opened)
long=$(printf '%01023d' 0 | tr 0 L)
mkcheck backing-1023 8M -u -b "$long" -F raw
long=/$(printf '%01022d' 0 | tr 0 d)
mkcheck backing-1023-abs-v2 8M -o compat=0.10 -u -b "$long" -F qcow2
mkcheck backing-space 8M -u -b 'name with  spaces' -F raw
mkcheck backing-quotes 8M -u -b "it's \"quoted\"" -F raw
mkcheck backing-dollar 8M -u -b '$HOME${IFS}$(id)' -F raw
mkcheck backing-backquote 8M -u -b '`id`.img' -F raw
mkcheck backing-semicolon 8M -u -b 'a;rm -rf x;b' -F raw
mkcheck backing-newline 8M -u -b "$(printf 'line1\nline2')" -F raw
mkcheck backing-backslash 8M -u -b 'back\slash\x41\n' -F raw
mkcheck backing-control 8M -u -b "$(printf 'tab\there\033[31mesc\001')" -F raw
mkcheck backing-utf8 8M -u -b "$(printf 'caf\303\251-\346\227\245.img')" -F raw
mkcheck backing-invalid-utf8 8M -u -b "$(printf 'bad\377\376utf8\303')" -F raw
mkcheck backing-all 8M -u \
	-b "$(printf ' -x "q" '"'"'s'"'"' $v `c` ;\\ \n\377 end')" -F raw

# ---- external data file ----------------------------------------------------

mkcheck data-file 8M -o data_file="$T/data-file.raw"
mkcheck data-file-raw 8M -o data_file="$T/data-file-raw.raw",data_file_raw=on
# qemu-img makes a relative data file relative to its working directory
cd "$T" || exit 1
mkcheck data-file-relative 8M -o data_file=data-file-relative.raw
# incompatible bit 2 without a name extension (qemu: data-file-raw false)
if mk data-file-bit-only 8M; then
	e2e_byte_or "$IMG" 79 4
	check data-file-bit-only
fi

# ---- encryption ------------------------------------------------------------

mkcheck luks 8M --object "$SECRET" \
	-o encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10
mkcheck aes 8M --object "$SECRET" -o encrypt.format=aes,encrypt.key-secret=s0
mkcheck aes-v2 8M --object "$SECRET" \
	-o compat=0.10,encrypt.format=aes,encrypt.key-secret=s0

# ---- bitmaps and snapshots -------------------------------------------------

if mk bitmaps 8M; then
	qemu-img bitmap --add "$IMG" b0 &&
		qemu-img bitmap --add -g 128k "$IMG" b1 &&
		qemu-img bitmap --add --disable "$IMG" b2 ||
		e2e_notok "bitmaps: qemu-img bitmap --add failed"
	check bitmaps
fi
if mk snapshots 8M; then
	qemu-img snapshot -c s1 "$IMG" && qemu-img snapshot -c s2 "$IMG" ||
		e2e_notok "snapshots: qemu-img snapshot -c failed"
	check snapshots
fi
if mk snapshots-v2 8M -o compat=0.10; then
	qemu-img snapshot -c s1 "$IMG" ||
		e2e_notok "snapshots-v2: qemu-img snapshot -c failed"
	check snapshots-v2
fi

# ---- dirty and corrupt bits (byte 79) --------------------------------------

if mk dirty 8M; then
	e2e_byte_or "$IMG" 79 1
	check dirty
fi
if mk corrupt 8M; then
	e2e_byte_or "$IMG" 79 2
	check corrupt
fi
if mk dirty-corrupt 8M; then
	e2e_byte_or "$IMG" 79 3
	check dirty-corrupt
fi
if mk dirty-lazy-zstd 8M -o lazy_refcounts=on,compression_type=zstd; then
	e2e_byte_or "$IMG" 79 1
	check dirty-lazy-zstd
fi

# ---- every image in one call -----------------------------------------------

# shellcheck disable=SC2086
scan_many "one call" $IMAGES

# ---- --udev ----------------------------------------------------------------

# udev_check NAME : imgscan --udev $T/NAME.qcow2 against its qemu-img JSON
udev_check()
{
	uc_img=$T/$1.qcow2
	[ -f "$uc_img.q.json" ] || return
	"$IMGSCAN" --udev "$uc_img" >"$uc_img.udev" 2>"$uc_img.udev.err"
	e2e_check "$1 --udev: exit status" "$?" 0 expected
	e2e_check "$1 --udev: ID_IMAGE_FORMAT" \
		"$(udev_get "$uc_img.udev" ID_IMAGE_FORMAT)" \
		"$(jq -r '.format' "$uc_img.q.json")"
	e2e_check "$1 --udev: ID_IMAGE_COMPAT" \
		"$(udev_get "$uc_img.udev" ID_IMAGE_COMPAT)" \
		"$(jq -r '."format-specific".data.compat' "$uc_img.q.json")"
	e2e_check "$1 --udev: ID_IMAGE_VIRTUAL_SIZE" \
		"$(udev_get "$uc_img.udev" ID_IMAGE_VIRTUAL_SIZE)" \
		"$(jq -r '."virtual-size"' "$uc_img.q.json")"
	# 0/1; "0" may also be left out
	uc_got=$(udev_get "$uc_img.udev" ID_IMAGE_DIRTY)
	uc_want=$(jq -r 'if ."dirty-flag" then "1" else "0" end' "$uc_img.q.json")
	[ "$uc_want" = 0 ] && [ -z "$uc_got" ] && uc_got=0
	e2e_check "$1 --udev: ID_IMAGE_DIRTY" "$uc_got" "$uc_want"
	e2e_check "$1 --udev: ID_IMAGE_ENCRYPTION" \
		"$(udev_get "$uc_img.udev" ID_IMAGE_ENCRYPTION)" \
		"$(jq -r '."format-specific".data.encrypt.format // ""' "$uc_img.q.json")"
	# counts; a count of 0 may also be left out
	uc_got=$(udev_get "$uc_img.udev" ID_IMAGE_BITMAPS)
	uc_want=$(jq -r '."format-specific".data.bitmaps // [] | length' "$uc_img.q.json")
	[ "$uc_want" = 0 ] && [ -z "$uc_got" ] && uc_got=0
	e2e_check "$1 --udev: ID_IMAGE_BITMAPS" "$uc_got" "$uc_want"
	uc_got=$(udev_get "$uc_img.udev" ID_IMAGE_SNAPSHOTS)
	uc_want=$(jq -r '.snapshots // [] | length' "$uc_img.q.json")
	[ "$uc_want" = 0 ] && [ -z "$uc_got" ] && uc_got=0
	e2e_check "$1 --udev: ID_IMAGE_SNAPSHOTS" "$uc_got" "$uc_want"
}

for n in v3-default compat-0.10 lazy-refcounts zstd dirty dirty-corrupt \
	luks aes aes-v2 bitmaps snapshots snapshots-v2 backing-qcow2; do
	udev_check "$n"
done

# a raw image: --udev prints nothing and exits 0
qemu-img create -q -f raw "$T/plain.raw" 4M
"$IMGSCAN" --udev "$T/plain.raw" >"$T/plain.raw.udev" 2>"$T/plain.raw.udev.err"
e2e_check "raw --udev: exit status" "$?" 0 expected
e2e_check "raw --udev: output" "$(cat "$T/plain.raw.udev")" "" expected

e2e_summary
