#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/refusals-vs-qemu.sh -- damaged agrees with qemu-img's refusals,
# and fields agree on images at the edge of what qemu accepts.
#
# Images made by qemu-img, patched at one header field; for each, qemu-img
# info either refuses the image or opens it, and imgscan -J must agree:
# "damaged" present exactly when qemu-img refuses, and the same format and
# backing fields when it opens it.  Cases: a qcow2 unknown incompatible
# feature bit; a qcow2 snapshot entry with too much extra data (small
# clusters: the table is in the head, no --deep needed); version 0xffff in
# qcow and qcow2 headers (qemu probes both as qcow2); qcow backing-name and
# L1 table offsets at and past qemu's largest request; an empty qcow2
# backing-format extension; a qed backing name of length 0; format-version
# of vpc and vdi as their specifications write it.
# Needs qemu-img, jq, python3; exits 77 without them.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_need_cmd qemu-img jq python3
e2e_init
T=$E2E_TMP

# poke FILE OFFSET HEX-BYTES
poke()
{
	python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2], 0))
    f.write(bytes.fromhex(sys.argv[3]))' "$@"
}

# agree LABEL IMG : refusal and fields of imgscan against qemu-img
agree()
{
	if qemu-img info -U --output=json "$2" >"$2.q" 2>"$2.qerr"; then q_refuses=no; else q_refuses=yes; fi
	"$IMGSCAN" -J "$2" >"$2.s" 2>"$2.serr"
	e2e_check "$1: imgscan exit status" "$?" 0 expected
	if jq -e '.images[0].damaged' "$2.s" >/dev/null 2>&1; then s_refuses=yes; else s_refuses=no; fi
	if [ "$q_refuses" = yes ]; then
		a_why=" ($(head -n 1 "$2.qerr" | sed "s/^qemu-img: Could not open '[^']*': //"))"
	else
		a_why=""
	fi
	e2e_check "$1: refused: $q_refuses$a_why" "$s_refuses" "$q_refuses" "qemu-img"
	[ "$q_refuses" = no ] || return 0
	for f in format virtual-size backing-filename backing-filename-format; do
		e2e_check "$1: $f" "$(jq -c ".images[0][\"$f\"]" "$2.s")" \
			"$(jq -c ".[\"$f\"]" "$2.q")" "qemu-img"
	done
}

# ---- qcow2: an incompatible feature bit qemu does not know ------------------
qemu-img create -q -f qcow2 "$T/q.qcow2" 16M
cp "$T/q.qcow2" "$T/incompat62.qcow2"
poke "$T/incompat62.qcow2" 72 4000000000000000
agree "qcow2 incompatible bit 62" "$T/incompat62.qcow2"
e2e_check "qcow2 incompatible bit 62: still listed" \
	"$(jq -c '.images[0]."unknown-features"' "$T/incompat62.qcow2.s")" \
	'[{"type":"incompatible","bit":62}]' expected
cp "$T/q.qcow2" "$T/compat62.qcow2"
poke "$T/compat62.qcow2" 80 4000000000000000
agree "qcow2 compatible bit 62" "$T/compat62.qcow2"

# ---- qcow2: snapshot extra data, the table inside the first clusters --------
qemu-img create -q -f qcow2 -o cluster_size=512 "$T/snap.qcow2" 1M
for s in s1 s2 s3; do qemu-img snapshot -c $s "$T/snap.qcow2"; done
# offset of the third entry's extra_data_size
extra3=$(python3 -c 'import struct, sys
d = open(sys.argv[1], "rb").read()
off = struct.unpack(">Q", d[64:72])[0]
for i in range(3):
    off = (off + 7) & ~7
    ids, ns = struct.unpack(">HH", d[off + 12:off + 16])
    ex = struct.unpack(">I", d[off + 36:off + 40])[0]
    if i == 2:
        print(off + 36)
    off += 40 + ex + ids + ns' "$T/snap.qcow2")
cp "$T/snap.qcow2" "$T/snap-1025.qcow2"
poke "$T/snap-1025.qcow2" "$extra3" 00000401
agree "qcow2 snapshot entry with 1025 bytes of extra data" "$T/snap-1025.qcow2"
cp "$T/snap.qcow2" "$T/snap-1024.qcow2"
poke "$T/snap-1024.qcow2" "$extra3" 00000400
agree "qcow2 snapshot entry with 1024 bytes of extra data" "$T/snap-1024.qcow2"
agree "qcow2 with three snapshots" "$T/snap.qcow2"

# ---- version 0xffff: qemu probes qcow and qcow2 headers as qcow2 ------------
qemu-img create -q -f qcow "$T/q1.qcow" 16M
for f in q.qcow2 q1.qcow; do
	cp "$T/$f" "$T/v65535-$f"
	poke "$T/v65535-$f" 4 0000ffff
	agree "$f with version 65535" "$T/v65535-$f"
	e2e_check "$f with version 65535: format" \
		"$(jq -r '.images[0].format' "$T/v65535-$f.s")" qcow2 expected
done

# ---- qcow: offsets past qemu's largest request (BDRV_MAX_LENGTH) ------------
qemu-img create -q -f qcow -u -b base.raw -F raw "$T/qb.qcow" 16M
for case in "ffffffff00000000 00000004" "7fffffffbffffff0 00000010" \
	"7fffffffbffffff0 00000011" "7fffffffc0000001 00000000"; do
	# shellcheck disable=SC2086 # split into offset and length on purpose
	set -- $case
	cp "$T/qb.qcow" "$T/qb-$1-$2.qcow"
	poke "$T/qb-$1-$2.qcow" 8 "$1"
	poke "$T/qb-$1-$2.qcow" 16 "$2"
	agree "qcow backing name at 0x$1, $2 bytes" "$T/qb-$1-$2.qcow"
done
for off in fffffffffffffff0 7fffffffbffff000 7fffffffbffff001 0000000100000000; do
	qemu-img create -q -f qcow "$T/l1-$off.qcow" 1G
	poke "$T/l1-$off.qcow" 40 "$off"
	agree "qcow L1 table at 0x$off" "$T/l1-$off.qcow"
done

# ---- qcow2: an empty backing-format extension ------------------------------
qemu-img create -q -f qcow2 -u -b base.raw -F raw "$T/bf.qcow2" 16M
python3 -c 'import struct, sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
assert struct.unpack(">I", d[112:116])[0] == 0xE2792ACA
n = struct.unpack(">I", d[116:120])[0]
pad = (n + 7) & ~7
# the extension keeps its place with length 0; what followed it moves up
d[116:120] = struct.pack(">I", 0)
rest = d[120 + pad:4096]
d[120:120 + len(rest)] = rest
bo = struct.unpack(">Q", d[8:16])[0]
d[8:16] = struct.pack(">Q", bo - pad)
open(p, "wb").write(d)' "$T/bf.qcow2"
agree "qcow2 with an empty backing-format extension" "$T/bf.qcow2"

# ---- qed: a backing name of length 0 with the "backing is raw" flag ---------
qemu-img create -q -f qed -u -b base.raw -F raw "$T/qb.qed" 16M
agree "qed backing raw" "$T/qb.qed"
cp "$T/qb.qed" "$T/qb0.qed"
poke "$T/qb0.qed" 60 00000000
agree "qed backing raw, name length 0" "$T/qb0.qed"
qemu-img create -q -f qed -u -b base.qcow2 -F qcow2 "$T/qbp.qed" 16M
agree "qed backing probed" "$T/qbp.qed"

# ---- format-version as the specifications write it --------------------------
qemu-img create -q -f vpc "$T/v.vhd" 16M
qemu-img create -q -f vdi "$T/v.vdi" 16M
e2e_check "vpc format-version" "$("$IMGSCAN" -J "$T/v.vhd" | jq -c '.images[0]."format-version"')" \
	'"1.0"' expected
e2e_check "vdi format-version" "$("$IMGSCAN" -J "$T/v.vdi" | jq -c '.images[0]."format-version"')" \
	'"1.1"' expected
e2e_check "vdi ID_IMAGE_FORMAT_VERSION" \
	"$("$IMGSCAN" --udev "$T/v.vdi" | sed -n 's/^ID_IMAGE_FORMAT_VERSION=//p')" 1.1 expected
e2e_check "vpc VER column" "$("$IMGSCAN" -n -o VER "$T/v.vhd" | tr -d ' ')" 1.0 expected

e2e_summary
