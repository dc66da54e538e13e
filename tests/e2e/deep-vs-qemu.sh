#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/deep-vs-qemu.sh -- imgscan --deep against qemu-img 7.2 on qcow2
# images made at test time (--deep: beyond the header).
#
# Spec followed: qemu docs/interop/qcow2.rst; qemu-img info's top-level
# "snapshots" and format-specific "bitmaps" / "encrypt", and qemu-img check's
# "image-end-offset" (scanner/probe/qcow2-deep.c).  For each image
# "imgscan --json --deep IMG" (images[0]) is compared with
# "qemu-img info -U --output=json IMG": .snapshots (whole list, key order
# included), ."format-specific".data.bitmaps, .encrypt, the key order of
# ."format-specific".data; and with "qemu-img check --output=json IMG":
# ."image-end-offset".  Without --deep none of these may appear (the LUKS
# details stay {"format":"luks"}).
#
# Images: qemu-img create / snapshot -c / bitmap --add (--granularity,
# --disable) / convert, data written with qemu-io (qemu-utils), v2 and v3,
# refcount_bits 1 and 64, cluster_size 512 and 2M.  LUKS: qemu-img 7.2 here
# cannot create LUKS images ("Unable to get accurate CPU usage"), so a
# cryptsetup LUKS1 header is put behind a qcow2 image with dd, as
# fixtures/README describes for qcow2-luks (skipped without cryptsetup).

# shellcheck disable=SC1091,SC2016,SC2086
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_need_cmd qemu-img qemu-io jq od dd truncate
e2e_init
T=$E2E_TMP

# deep_cmp LABEL IMG : every --deep field against qemu-img info and check
deep_cmp()
{
	qemu_info "$2" || { e2e_notok "$1: qemu-img info failed: $(head -c 200 "$2.q.err")"; return; }
	scan_json "$1" "$2" --deep || return
	compare_fields "$2" "$1" .snapshots '."format-specific".data.bitmaps' \
		'."format-specific".data.encrypt'
	compare_expr "$2" "$1" '."format-specific".data | keys_unsorted'
	compare_expr "$2" "$1" '[.snapshots[]? | keys_unsorted]'
	qemu-img check -U --output=json "$2" >"$2.c.json" 2>/dev/null
	e2e_check "$1: image-end-offset" "$(e2e_field "$2.s1.json" '."image-end-offset"')" \
		"$(e2e_field "$2.c.json" '."image-end-offset"')" "qemu-img check"
	e2e_check "$1: deep-incomplete" "$(e2e_field "$2.s1.json" '."deep-incomplete"')" \
		"<absent>" "expected"
	e2e_check "$1: not damaged" "$(jq -c '.damaged // .error // "none"' "$2.s1.json")" \
		'"none"' "expected"
}

# shallow LABEL IMG : without --deep, nothing past the header
shallow()
{
	"$IMGSCAN" --json "$2" >"$2.n.json" 2>/dev/null
	e2e_check "$1: no --deep: no snapshots list" \
		"$(jq -c '.images[0] | [has("snapshots"), has("image-end-offset"), (."format-specific".data | has("bitmaps"))]' "$2.n.json")" \
		'[false,false,false]' "expected"
}

mk()
{
	qemu-img create -q -f qcow2 "$@" >/dev/null 2>&1
}

# 1. empty v3
I=$T/empty.qcow2
mk -o compat=1.1 "$I" 1G && deep_cmp empty "$I"

# 2. data, two snapshots, an enabled and a disabled bitmap
I=$T/full.qcow2
if mk "$I" 64M && qemu-io -c 'write -P 1 0 1M' "$I" >/dev/null 2>&1 &&
		qemu-img snapshot -c snap1 "$I" && qemu-io -c 'write -P 2 4M 512k' "$I" >/dev/null 2>&1 &&
		qemu-img snapshot -c "second snapshot" "$I" &&
		qemu-img bitmap --add "$I" b1 &&
		qemu-img bitmap --add --granularity 131072 --disable "$I" b2-disabled; then
	deep_cmp full "$I"
	shallow full "$I"
else
	e2e_notok "full: making the image failed"
fi

# 3. converted from raw data
R=$T/data.raw
I=$T/conv.qcow2
if truncate -s 20M "$R" && printf 'some data' | dd of="$R" bs=1 seek=7340032 conv=notrunc status=none &&
		qemu-img convert -f raw -O qcow2 "$R" "$I"; then
	deep_cmp convert "$I"
fi

# 4. v2 with a snapshot and data
I=$T/v2.qcow2
if mk -o compat=0.10 "$I" 32M && qemu-io -c 'write -P 3 1M 2M' "$I" >/dev/null 2>&1 &&
		qemu-img snapshot -c old "$I"; then
	deep_cmp v2 "$I"
fi

# 5. refcount widths and cluster sizes
for opts in refcount_bits=1 refcount_bits=64 cluster_size=512 cluster_size=2M \
		cluster_size=4096,refcount_bits=2 cluster_size=1024,refcount_bits=4; do
	I=$T/rc-$(echo "$opts" | tr ',=' '__').qcow2
	if mk -o "$opts" "$I" 48M && qemu-io -c 'write -P 4 0 3M' -c 'write -P 5 40M 64k' "$I" \
			>/dev/null 2>&1 && qemu-img snapshot -c s "$I"; then
		deep_cmp "$opts" "$I"
	fi
done

# 6. many bitmaps and snapshots
I=$T/many.qcow2
if mk "$I" 16M; then
	n=0
	while [ $n -lt 12 ]; do
		qemu-img bitmap --add "$I" "bm-$n" && qemu-img snapshot -c "sn-$n" "$I" || break
		n=$((n + 1))
	done
	deep_cmp many "$I"
fi

# 7. LUKS: a cryptsetup LUKS1 header at 256 KiB behind a 16 MiB qcow2
if command -v cryptsetup >/dev/null 2>&1; then
	I=$T/luks.qcow2
	L=$T/l1.img
	head -c 32 /dev/urandom >"$T/key"
	if truncate -s 4M "$L" &&
			cryptsetup luksFormat -q --type luks1 --pbkdf-force-iterations 1000 \
				--key-file "$T/key" "$L" >/dev/null 2>&1 &&
			mk "$I" 16M; then
		# shift the extensions at 112 by 24 bytes, insert the FDE pointer
		dd if="$I" of="$T/ext" bs=1 skip=112 count=$((65536 - 112 - 24)) status=none
		dd if="$T/ext" of="$I" bs=1 seek=136 conv=notrunc status=none
		e2e_put_be32 "$I" 112 $((0x0537BE77))
		e2e_put_be32 "$I" 116 16
		e2e_put_be32 "$I" 120 0
		e2e_put_be32 "$I" 124 262144
		e2e_put_be32 "$I" 128 0
		e2e_put_be32 "$I" 132 4096
		e2e_put_be32 "$I" 32 2
		truncate -s 262144 "$I"
		dd if="$L" of="$I" bs=4096 count=1 seek=64 conv=notrunc status=none
		qemu_info "$I"
		if scan_json luks "$I" --deep; then
			compare_fields "$I" luks '."format-specific".data.encrypt' .encrypted
			compare_expr "$I" luks '."format-specific".data | keys_unsorted'
		fi
		"$IMGSCAN" --json "$I" >"$I.n.json" 2>/dev/null
		e2e_check "luks: no --deep: encrypt format only" \
			"$(jq -c '.images[0]."format-specific".data.encrypt' "$I.n.json")" \
			'{"format":"luks"}' "expected"
	else
		e2e_notok "luks: making the image failed"
	fi
else
	echo "# cryptsetup not installed: LUKS case skipped"
fi

e2e_summary
