#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/io-budget.sh -- the read budget (docs/security.md, rule 9, and
# the targets of docs/performance.md), checked with
# imgscan's own counters (--stats), not with a clock: at most 2 reads and
# 136 KiB per image on average over one image of every format qemu-img and
# cryptsetup write, and per format:
#   - every format but vhdx: 2 reads at most (the first 36 KiB and the last
#     4 KiB), 1 for a volume of at most 40 KiB, at most 40 KiB plus one
#     alignment block;
#   - vhdx: 4 reads (head, tail, headers with region table 1, metadata
#     table with its items), at most 304 KiB;
#   - no format reads anything twice: bytes never exceed the volume size
#     rounded up to the alignment block;
#   - --udev run from udev with no ID_FS_TYPE: the first read is 4 KiB;
#   - --deep memory is bounded whatever --jobs and the targets: 200 qcow2
#     images whose snapshot table fills the 64 MiB deep budget, scanned with
#     64 jobs, stay under 1 GiB (peak RSS from GNU time; 2.3 GiB before
#     deferred reads stopped at 2 MiB a volume and deep scans at 8 workers).
# Needs qemu-img and jq; exits 77 otherwise.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_need_cmd qemu-img jq
e2e_init
T=$E2E_TMP
KiB=1024

mk() { # NAME qemu-img-create-args...
	mk_n=$1
	shift
	qemu-img create -q "$@" >"$T/err" 2>&1 || e2e_create_failed "$mk_n" "$T/err"
}
mk qcow2 -f qcow2 "$T/a.qcow2" 1G
mk qcow2-v2 -f qcow2 -o compat=0.10 "$T/b.qcow2" 1G
mk qcow2-backing -f qcow2 -b "$T/a.qcow2" -F qcow2 "$T/c.qcow2"
mk qcow -f qcow -o size=1G "$T/d.qcow"
mk qed -f qed "$T/e.qed" 1G
mk vmdk -f vmdk "$T/f.vmdk" 1G
mk vmdk-stream -f vmdk -o subformat=streamOptimized "$T/g.vmdk" 1G
mk vpc -f vpc "$T/h.vhd" 1G
mk vpc-fixed -f vpc -o subformat=fixed "$T/i.vhd" 64M
mk vhdx -f vhdx "$T/j.vhdx" 1G
mk vdi -f vdi "$T/k.vdi" 1G
mk parallels -f parallels "$T/l.hds" 1G
mk raw -f raw "$T/n.raw" 64M
if command -v cryptsetup >/dev/null; then
	truncate -s 16M "$T/m.luks"
	printf x | cryptsetup luksFormat -q --type luks1 --pbkdf-force-iterations 1000 \
		--key-file - "$T/m.luks" 2>"$T/err" || rm -f "$T/m.luks"
fi

set -- "$T"/*.qcow2 "$T"/*.qcow "$T"/*.qed "$T"/*.vmdk "$T"/*.vhd "$T"/*.vhdx "$T"/*.vdi \
	"$T"/*.hds "$T"/*.raw
[ -f "$T/m.luks" ] && set -- "$@" "$T/m.luks"
"$IMGSCAN" --json --stats "$@" >"$T/scan.json" 2>"$T/scan.err"
e2e_check "scan of $# images: exit 0" "$?" 0 "wanted"

jq -r '.images[] | "\(.path) \(.format) \(.size) \(.scan.reads) \(.scan.bytes) \(.scan.align)"' \
	"$T/scan.json" >"$T/stats"
e2e_check "every image counted" "$(wc -l <"$T/stats" | tr -d ' ')" "$#" "wanted"
while read -r path format size reads bytes align; do
	name=${path##*/}
	if [ "$format" = vhdx ]; then
		max_reads=4 max_bytes=$((304 * KiB))
	elif [ "$size" -le $((40 * KiB)) ]; then
		max_reads=1 max_bytes=$((40 * KiB + align))
	else
		max_reads=2 max_bytes=$((40 * KiB + align))
	fi
	e2e_check "$name ($format): at most $max_reads reads" \
		"$([ "$reads" -le "$max_reads" ] && echo yes || echo "$reads")" yes "wanted"
	e2e_check "$name ($format): at most $max_bytes bytes" \
		"$([ "$bytes" -le "$max_bytes" ] && echo yes || echo "$bytes")" yes "wanted"
	rounded=$(((size + align - 1) / align * align))
	e2e_check "$name ($format): nothing read twice (at most the volume, $rounded bytes)" \
		"$([ "$bytes" -le "$rounded" ] && echo yes || echo "$bytes")" yes "wanted"
done <"$T/stats"

avg=$(awk '{ r += $4; b += $5; n++ } END { printf "%s %s", (r <= 2 * n ? "yes" : r / n), (b <= 136 * 1024 * n ? "yes" : b / n) }' "$T/stats")
e2e_check "at most 2 reads per image on average" "${avg% *}" yes "wanted"
e2e_check "at most 136 KiB per image on average" "${avg#* }" yes "wanted"

# --udev from udev, blkid having found no filesystem: no ISO 9660 block, 4 KiB first
out=$(env SUBSYSTEM=block DEVPATH=/devices/virtual/block/loop9 "$IMGSCAN" -v --udev "$T/a.qcow2" \
	2>&1 >/dev/null | sed -n 's/.*: \([0-9]*\) read(s), \([0-9]*\) bytes.*/\1 \2/p')
e2e_check "--udev under udev: 2 reads" "${out% *}" 2 "wanted"
e2e_check "--udev under udev: under 12 KiB" "$([ "${out#* }" -lt $((12 * KiB)) ] && echo yes || echo "${out#* }")" \
	yes "wanted"

# --deep: memory bounded whatever --jobs.  A qcow2 whose snapshot table
# (65536 entries of 1064 bytes, each with 1 KiB of extra data) fills the
# 64 MiB --deep budget: hostile, but qemu-img reads it too.
if [ ! -x /usr/bin/time ]; then
	e2e_ok "--deep memory: not measured, GNU time is not installed (Debian: time)"
elif grep -q __asan_init "$IMGSCAN"; then
	e2e_ok "--deep memory: not measured, an ASan build keeps freed memory in quarantine"
else
	cp "$T/a.qcow2" "$T/snap.qcow2"
	# nb_snapshots 65535 at 60, snapshots_offset 1 MiB at 64 (big-endian)
	printf '\000\000\377\377\000\000\000\000\000\020\000\000' |
		dd of="$T/snap.qcow2" bs=1 seek=60 conv=notrunc 2>/dev/null
	# one entry: 40-byte header with extra_data_size 1024 at 36, the extra data
	{ head -c 36 /dev/zero; printf '\000\000\004\000'; head -c 1024 /dev/zero; } >"$T/tab"
	k=0
	while [ $k -lt 16 ]; do
		cat "$T/tab" "$T/tab" >"$T/tab2" && mv "$T/tab2" "$T/tab"
		k=$((k + 1))
	done
	dd if="$T/tab" of="$T/snap.qcow2" bs=1M seek=1 conv=notrunc 2>/dev/null
	truncate -s 80M "$T/snap.qcow2"
	rm -f "$T/tab"
	mkdir "$T/deep"
	i=0
	while [ $i -lt 200 ]; do
		ln "$T/snap.qcow2" "$T/deep/$i.qcow2"
		i=$((i + 1))
	done
	/usr/bin/time -f %M -o "$T/rss" "$IMGSCAN" -j 64 --deep --json "$T"/deep/* >"$T/deep.json" 2>"$T/deep.err"
	e2e_check "--deep, 200 images with a 64 MiB snapshot table, -j 64: exit 0" "$?" 0 "wanted"
	e2e_check "--deep: the snapshot table read up to the budget" \
		"$(jq -r '.images[199]."deep-incomplete"' "$T/deep.json")" "snapshots: more than the result can list" "wanted"
	kib=$(tail -n 1 "$T/rss")
	e2e_check "--deep, -j 64: under 1 GiB of memory" \
		"$([ "$kib" -lt 1048576 ] && echo yes || echo "$kib KiB")" yes "wanted"
fi

e2e_summary
