#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/lvm-enum.sh -- scanning without PATH: block-device and LV
# enumeration, against umockdev test beds (docs/udev.md, "Device-mapper and
# LVM flags" and "Enumerating block devices").
#
# The beds (tests/umockdev/*.umockdev, made by tests/umockdev/mkbeds.sh) mock
# sysfs, the udev properties Debian 12's dm/LVM rules set, and /dev nodes
# holding the first bytes of real images:
#   lvm.umockdev        two VGs with plain LVs, a thin pool and its hidden
#                       layers, an old-style snapshot with -real/-cow, a
#                       suspended LV, a DM_NOSCAN LV, a dm-crypt device, a dm
#                       device without a table, a loop device without backing
#                       file, an empty CD-ROM drive, and the two PV disks
#   lvm-sysfs.umockdev  the same with kernel uevent keys only (no udev db)
#
# Checked: every non-internal device listed with the right VG/LV and format;
# internal layers, suspended and flagged devices are never opened (strace when
# installed, else umockdev's own path log) and are listed as skipped with -v;
# --vg / --lvm filters; PATH operands naming a protected device; --udev;
# --cached (the udev database values, no device opened).
#
# umockdev cannot fake a block device for every caller: its nodes are plain
# files whose stat() says "block device", and BLKGETSIZE64 fails on them, so
# imgscan takes the size from fstat().  Each node is therefore extended with
# zeros to its sysfs size before imgscan runs.  qemu-img refuses these nodes
# ("host_device driver requires a block device"), so the qemu-img comparison
# runs on a copy of each node's contents as a regular file (needs xxd).
#
# Environment: IMGSCAN, top_srcdir.  Exit 0 pass, 1 fail, 77 skip.
set -u
pass=0 fail=0

skip()
{
	echo "SKIP: $*"
	exit 77
}

ok()
{
	pass=$((pass + 1))
	echo "ok - $1"
}

nok()
{
	fail=$((fail + 1))
	echo "not ok - $1"
}

# check_eq NAME EXPECTED ACTUAL
check_eq()
{
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		nok "$1: expected '$2', got '$3'"
	fi
}

finish()
{
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit $?
}

command -v umockdev-run >/dev/null 2>&1 || skip "umockdev-run not installed (Debian: umockdev)"
command -v jq >/dev/null 2>&1 || skip "jq not installed"
IMGSCAN=${IMGSCAN:-${top_builddir:-.}/imgscan}
[ -x "$IMGSCAN" ] || {
	nok "imgscan binary not found: $IMGSCAN"
	finish
}
BEDS=${top_srcdir:-.}/tests/umockdev
if [ ! -r "$BEDS/lvm.umockdev" ] || [ ! -r "$BEDS/lvm-sysfs.umockdev" ]; then
	nok "test beds missing in $BEDS"
	finish
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/imgscan-lvm.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# an ASan build must accept umockdev's LD_PRELOAD library coming first
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

# libudev reads the HOST's /run/udev/data/b<maj>:<min> (umockdev only
# redirects /sys and /dev); the beds use numbers no real host should have
for id in b253:200 b253:205 b253:212 b253:213 b253:215 b7:250; do
	[ -e "/run/udev/data/$id" ] && skip "host udev db has /run/udev/data/$id: it would leak into the bed"
done

out=$(umockdev-run -d "$BEDS/lvm.umockdev" -- cat /sys/class/block/dm-201/dm/name 2>&1)
[ "$out" = "vg0-lv--b" ] || skip "umockdev cannot load the bed here: $out"

# strace when it works; not for a sanitizer build: LeakSanitizer aborts under ptrace
if command -v strace >/dev/null 2>&1 && ! grep -q __asan_init "$IMGSCAN" &&
	strace -f -qq -e trace=open,openat,openat2 -o /dev/null true 2>/dev/null; then
	TRACER=strace
else
	TRACER=umockdev
fi
echo "# open() detection: $TRACER"

# scan TAG BED ARG...: imgscan under BED, nodes extended to their sysfs
# size; stdout in T/TAG.out, imgscan's stderr in T/TAG.err, exit status in
# T/TAG.rc and every open of a /dev node, one path a line, in T/TAG.opens
scan()
{
	tag=$1 bed=$2
	shift 2
	debug=
	if [ "$TRACER" = strace ]; then
		set -- strace -f -qq -e trace=open,openat,openat2 -o "$T/$tag.trace" "$IMGSCAN" "$@"
	else
		set -- "$IMGSCAN" "$@"
		debug=path
	fi
	# shellcheck disable=SC2016 # expanded by the inner shell
	UMOCKDEV_DEBUG=$debug umockdev-run -d "$BEDS/$bed" -- sh -c '
		for n in "$UMOCKDEV_DIR"/dev/*; do
			[ -f "$n" ] || continue
			s=$(cat "/sys/class/block/${n##*/}/size" 2>/dev/null) || continue
			truncate -s $((s * 512)) "$n" || exit 99
		done
		exec "$@"' sh "$@" >"$T/$tag.out" 2>"$T/$tag.log"
	echo $? >"$T/$tag.rc"
	# umockdev's debug lines are not imgscan's messages
	grep -v -e '^testbed ' -e '^  ' -e '^trap_path ' "$T/$tag.log" >"$T/$tag.err"
	if [ "$TRACER" = strace ]; then
		# a node is the testbed's copy: .../umockdev.XXXX/dev/NAME
		sed -n 's|.*open[a-z0-9]*(.*"[^"]*/dev/\([^"/]*\)".*|/dev/\1|p' "$T/$tag.trace"
	else
		sed -n 's|^testbed wrapped [a-z0-9_]*open[a-z0-9_]*(\(/dev/[^)]*\)).*|\1|p' "$T/$tag.log"
	fi | sort -u >"$T/$tag.opens"
}

rc() { cat "$T/$1.rc"; }

# paths TAG: the listed paths, sorted, comma-separated
paths()
{
	jq -r '[.images[].path] | sort | join(",")' "$T/$1.out" 2>/dev/null
}

# field TAG PATH JQ-EXPR: EXPR of the object for PATH ("" when absent)
field()
{
	jq -r --arg p "$2" ".images[] | select(.path == \$p) | ($3) // \"\"" "$T/$1.out" 2>/dev/null
}

# check_not_opened TAG NODE...
check_not_opened()
{
	t=$1
	shift
	for n in "$@"; do
		if grep -qx "$n" "$T/$t.opens"; then
			nok "$t: $n was opened"
		else
			ok "$t: $n not opened"
		fi
	done
}

# check_skipped TAG NODE REASON-SUBSTRING
check_skipped()
{
	if grep -F "imgscan: $2: skipped: " "$T/$1.err" | grep -qF "$3"; then
		ok "$1: $2 listed as skipped ($3)"
	else
		nok "$1: $2 not listed as skipped with '$3'; stderr: $(grep -F "$2:" "$T/$1.err")"
	fi
}

HIDDEN="/dev/dm-203 /dev/dm-204 /dev/dm-205 /dev/dm-206 /dev/dm-209 /dev/dm-211"
PROTECTED="$HIDDEN /dev/dm-212 /dev/dm-213 /dev/dm-215 /dev/loop250 /dev/sr0"
VG0="/dev/dm-200,/dev/dm-201,/dev/dm-207"
VG1="/dev/dm-202,/dev/dm-208,/dev/dm-210"
# sorted, as paths() prints them
LVS="/dev/dm-200,/dev/dm-201,/dev/dm-202,/dev/dm-207,/dev/dm-208,/dev/dm-210,/dev/dm-216"
ALL="/dev/dm-200,/dev/dm-201,/dev/dm-202,/dev/dm-207,/dev/dm-208,/dev/dm-210,/dev/dm-214,/dev/dm-216,/dev/vdb,/dev/vdc"

# ---- everything, with the udev database --------------------------------------
scan all lvm.umockdev -J -v
check_eq "all: exit 0" 0 "$(rc all)"
check_eq "all: every non-internal device listed" "$ALL" "$(paths all)"
check_eq "all: no error objects" 0 "$(jq '[.images[] | select(.error)] | length' "$T/all.out")"

# PATH FORMAT VIRTUAL-SIZE VG LV TYPE DEVNUM (qemu-img 7.2 on the source images)
while read -r p fmt vsize vg lv type devnum; do
	[ "$vg" = - ] && vg=
	[ "$lv" = - ] && lv=
	check_eq "all: $p format" "$fmt" "$(field all "$p" .format)"
	check_eq "all: $p virtual-size" "$vsize" "$(field all "$p" '.["virtual-size"]')"
	check_eq "all: $p device.vg/lv" "$vg/$lv" "$(field all "$p" '"\(.device.vg // "")/\(.device.lv // "")"')"
	check_eq "all: $p device.type" "$type" "$(field all "$p" .device.type)"
	check_eq "all: $p device.devnum" "$devnum" "$(field all "$p" .device.devnum)"
	check_eq "all: $p device.name" "${p#/dev/}" "$(field all "$p" .device.name)"
	check_eq "all: $p not damaged" "" "$(field all "$p" 'select(.damaged == true) | "damaged"')"
done <<EOF
/dev/dm-200 qcow2 67108864 vg0 lv_a lvm 253:200
/dev/dm-201 raw 8388608 vg0 lv-b lvm 253:201
/dev/dm-202 vmdk 33554432 vg1 data lvm 253:202
/dev/dm-207 qed 50331648 vg0 thin1 lvm 253:207
/dev/dm-208 vdi 16777216 vg1 origin lvm 253:208
/dev/dm-210 vdi 16777216 vg1 snap lvm 253:210
/dev/dm-214 qcow2 20971520 - - crypt 253:214
/dev/dm-216 raw 4194304 my-vg lv-data lvm 253:216
/dev/vdb raw 134217728 - - disk 254:16
/dev/vdc raw 134217728 - - disk 254:32
EOF
check_eq "all: dm-201 dm-name keeps the doubled hyphen" "vg0-lv--b" \
	"$(field all /dev/dm-201 '.device["dm-name"]')"
check_eq "all: dm-200 dm-uuid" "LVM-Vg0Vg0aaaaBBBBccccDDDDeeeeFFFF01Lv00LvmmmmNNNNooooPPPPqqqqRRRRss" \
	"$(field all /dev/dm-200 '.device["dm-uuid"]')"
check_eq "all: dm-200 device.size from sysfs" 134217728 "$(field all /dev/dm-200 .device.size)"
check_eq "all: dm-210 (old-style snapshot) flagged" true "$(field all /dev/dm-210 .device.snapshot)"
check_eq "all: dm-208 (origin) not flagged" "" "$(field all /dev/dm-208 .device.snapshot)"
check_eq "all: dm-214 qcow2 compat" "0.10" "$(field all /dev/dm-214 '.["format-specific"].data.compat')"

for n in $HIDDEN; do
	check_skipped all "$n" "LVM internal layer"
done
check_skipped all /dev/dm-212 "suspended"
check_skipped all /dev/dm-213 "DM_UDEV_DISABLE_OTHER_RULES_FLAG=1"
check_skipped all /dev/dm-215 "DM_UDEV_DISABLE_OTHER_RULES_FLAG=1"
check_skipped all /dev/loop250 "loop device without a backing file"
check_skipped all /dev/sr0 "no medium"
# shellcheck disable=SC2086
check_not_opened all $PROTECTED
if grep -qx /dev/dm-200 "$T/all.opens"; then
	ok "all: /dev/dm-200 opened (the open detection works)"
else
	nok "all: the open of /dev/dm-200 was not seen: the open detection is blind"
fi
check_eq "all: no skipped line without -v" 0 \
	"$(scan allq lvm.umockdev -J && grep -c 'skipped' "$T/allq.err")"

# ---- qemu-img on the same bytes -------------------------------------------------
if command -v qemu-img >/dev/null 2>&1 && command -v xxd >/dev/null 2>&1; then
	for p in /dev/dm-200 /dev/dm-202 /dev/dm-207 /dev/dm-208 /dev/dm-214; do
		n=${p#/dev/}
		hex=$(sed -n "s/^N: $n=//p" "$BEDS/lvm.umockdev")
		sectors=$(awk -v d="/devices/virtual/block/$n" \
			'$1 == "P:" { cur = $2 } cur == d && /^A: size=/ { sub(/^A: size=/, ""); sub(/\\n$/, ""); print }' \
			"$BEDS/lvm.umockdev")
		printf '%s' "$hex" | xxd -r -p >"$T/$n.img"
		truncate -s $((sectors * 512)) "$T/$n.img"
		q=$(qemu-img info -U --output=json "$T/$n.img" 2>/dev/null |
			jq -r '"\(.format) \(.["virtual-size"])"')
		check_eq "qemu-img: $p format and virtual-size" "$q" \
			"$(field all "$p" '"\(.format) \(.["virtual-size"])"')"
	done
else
	echo "# qemu-img comparison not run (needs qemu-img and xxd)"
fi

# ---- --vg and --lvm --------------------------------------------------------------
scan vg0 lvm.umockdev -J -v --vg vg0
check_eq "--vg vg0: exit 0" 0 "$(rc vg0)"
check_eq "--vg vg0: only vg0's LVs" "$VG0" "$(paths vg0)"
check_eq "--vg vg0: every LV has vg0" "vg0" \
	"$(jq -r '[.images[].device.vg] | unique | join(",")' "$T/vg0.out")"
check_skipped vg0 /dev/dm-205 "LVM internal layer"
check_eq "--vg vg0: vg1's devices not mentioned" 0 "$(grep -c 'dm-21[0-3]\|dm-209' "$T/vg0.err")"
# shellcheck disable=SC2086
check_not_opened vg0 $PROTECTED /dev/dm-202 /dev/dm-214 /dev/vdb

scan vg1 lvm.umockdev -J --vg vg1
check_eq "--vg vg1: only vg1's LVs" "$VG1" "$(paths vg1)"

scan vg01 lvm.umockdev -J --vg vg0 --vg vg1
check_eq "--vg vg0 --vg vg1: both" \
	"/dev/dm-200,/dev/dm-201,/dev/dm-202,/dev/dm-207,/dev/dm-208,/dev/dm-210" "$(paths vg01)"

scan vgh lvm.umockdev -J --vg my-vg
check_eq "--vg my-vg: hyphenated VG name" "/dev/dm-216" "$(paths vgh)"

scan lvm lvm.umockdev -J -v --lvm
check_eq "--lvm: exit 0" 0 "$(rc lvm)"
check_eq "--lvm: only LVs (not the crypt device, not the disks)" "$LVS" "$(paths lvm)"
check_eq "--lvm: every object is an lvm device" "lvm" \
	"$(jq -r '[.images[].device.type] | unique | join(",")' "$T/lvm.out")"
check_eq "--lvm: non-LVs not listed as skipped" 0 "$(grep -c 'loop250\|sr0\|dm-215' "$T/lvm.err")"
# shellcheck disable=SC2086
check_not_opened lvm $PROTECTED /dev/dm-214 /dev/vdb /dev/vdc

scan nosuch lvm.umockdev -J --vg nosuch
check_eq "--vg nosuch: exit 0" 0 "$(rc nosuch)"
check_eq "--vg nosuch: no image" 0 "$(jq '.images | length' "$T/nosuch.out")"
check_eq "--vg nosuch: said on stderr" 1 "$(grep -c -e '--vg nosuch: no active logical volume' "$T/nosuch.err")"
check_eq "--vg vg0: nothing said of vg0" 0 "$(grep -c -e '--vg vg0: no active' "$T/vg0.err")"

scan vgpath lvm.umockdev --vg vg0 /dev/dm-200
check_eq "--vg with a PATH: exit 2" 2 "$(rc vgpath)"

scan table lvm.umockdev --lvm
check_eq "table --lvm: exit 0" 0 "$(rc table)"
check_eq "table --lvm: one line per LV" 7 "$(grep -c '^/dev/dm-' "$T/table.out")"

# ---- PATH operands naming protected devices ------------------------------------
scan ops lvm.umockdev -J /dev/dm-205 /dev/dm-212 /dev/dm-213 /dev/dm-200
check_eq "PATH operands: a protected one makes exit 1" 1 "$(rc ops)"
check_eq "PATH operands: one object each, in order" \
	"/dev/dm-205,/dev/dm-212,/dev/dm-213,/dev/dm-200" \
	"$(jq -r '[.images[].path] | join(",")' "$T/ops.out")"
for p in /dev/dm-205 /dev/dm-212 /dev/dm-213; do
	check_eq "PATH operands: $p error-op" open "$(field ops "$p" '.["error-op"]')"
	check_eq "PATH operands: $p no format" "" "$(field ops "$p" .format)"
done
check_eq "PATH operands: dm-200 still probed" qcow2 "$(field ops /dev/dm-200 .format)"
check_not_opened ops /dev/dm-205 /dev/dm-212 /dev/dm-213

# ---- --udev (IMPORT{program}) -----------------------------------------------------
scan udev200 lvm.umockdev --udev /dev/dm-200
check_eq "--udev dm-200: format" "ID_IMAGE_FORMAT=qcow2" "$(grep '^ID_IMAGE_FORMAT=' "$T/udev200.out")"
scan udev205 lvm.umockdev --udev /dev/dm-205
check_eq "--udev tpool layer (sysfs uuid suffix): exit 0" 0 "$(rc udev205)"
check_eq "--udev tpool layer: prints nothing" "" "$(cat "$T/udev205.out")"
check_not_opened udev205 /dev/dm-205
scan udev212 lvm.umockdev --udev /dev/dm-212
check_eq "--udev suspended (sysfs): prints nothing" "0:" "$(rc udev212):$(cat "$T/udev212.out")"
check_not_opened udev212 /dev/dm-212
(DM_UDEV_DISABLE_OTHER_RULES_FLAG=1 && export DM_UDEV_DISABLE_OTHER_RULES_FLAG &&
	scan udevflag lvm.umockdev --udev /dev/dm-200)
check_eq "--udev with DISABLE_OTHER=1 in the env: prints nothing" "0:" \
	"$(rc udevflag):$(cat "$T/udevflag.out")"
check_not_opened udevflag /dev/dm-200
(DM_LV_LAYER=real && export DM_LV_LAYER && scan udevlayer lvm.umockdev --udev /dev/dm-200)
check_eq "--udev with DM_LV_LAYER=real in the env: prints nothing" "0:" \
	"$(rc udevlayer):$(cat "$T/udevlayer.out")"
check_not_opened udevlayer /dev/dm-200

# ---- --cached: the udev database, no device opened ------------------------------
# the bed holds ID_IMAGE_* for dm-212 (suspended: the last values before the
# suspend) and dm-214 (crypt)
scan cached lvm.umockdev -J --cached
if [ "$(rc cached)" = 2 ]; then
	nok "--cached: not implemented ($(head -n 1 "$T/cached.err"))"
else
	check_eq "--cached: exit 0" 0 "$(rc cached)"
	check_eq "--cached: no /dev node opened" "" "$(grep -E '^/dev/(dm-|vd|sr|loop)' "$T/cached.opens" | tr '\n' ' ')"
	check_eq "--cached: the devices the db has values for" "/dev/dm-212,/dev/dm-214" "$(paths cached)"
	check_eq "--cached: dm-212 values" "qcow2 3 8388608" \
		"$(field cached /dev/dm-212 '.udev | "\(.ID_IMAGE_FORMAT) \(.ID_IMAGE_FORMAT_VERSION) \(.ID_IMAGE_VIRTUAL_SIZE)"')"
	check_eq "--cached: dm-212 device vg/lv" "vg1/frozen" \
		"$(field cached /dev/dm-212 '"\(.device.vg)/\(.device.lv)"')"
	check_eq "--cached: dm-214 compat" "0.10" "$(field cached /dev/dm-214 .udev.ID_IMAGE_COMPAT)"
	scan cachedlvm lvm.umockdev -J --cached --lvm
	check_eq "--cached --lvm: the LV only" "/dev/dm-212" "$(paths cachedlvm)"
	scan cachedvg lvm.umockdev -J --cached --vg vg0
	check_eq "--cached --vg vg0: none" "" "$(paths cachedvg)"
	scan cachedexp lvm.umockdev --cached
	check_eq "--cached export: DEVNAME blocks" \
		'DEVNAME="/dev/dm-212",DEVNAME="/dev/dm-214"' \
		"$(grep '^DEVNAME=' "$T/cachedexp.out" | paste -sd, -)"
	check_eq "--cached export: no /dev node opened" "" "$(grep -E '^/dev/(dm-|vd|sr|loop)' "$T/cachedexp.opens" | tr '\n' ' ')"
fi

# ---- no udev database: sysfs alone ----------------------------------------------
scan sys lvm-sysfs.umockdev -J -v
check_eq "sysfs: exit 0" 0 "$(rc sys)"
check_eq "sysfs: every non-internal device listed" "$ALL" "$(paths sys)"
while read -r p vg lv; do
	check_eq "sysfs: $p vg/lv split from the dm name" "$vg/$lv" \
		"$(field sys "$p" '"\(.device.vg // "")/\(.device.lv // "")"')"
done <<EOF
/dev/dm-200 vg0 lv_a
/dev/dm-201 vg0 lv-b
/dev/dm-202 vg1 data
/dev/dm-207 vg0 thin1
/dev/dm-210 vg1 snap
/dev/dm-216 my-vg lv-data
EOF
check_eq "sysfs: dm-214 is crypt" crypt "$(field sys /dev/dm-214 .device.type)"
for n in $HIDDEN; do
	check_skipped sys "$n" "LVM internal layer"
done
check_skipped sys /dev/dm-212 "suspended"
check_skipped sys /dev/dm-215 "empty device"
# shellcheck disable=SC2086
check_not_opened sys $HIDDEN /dev/dm-212 /dev/dm-215 /dev/loop250 /dev/sr0

scan sysvg lvm-sysfs.umockdev -J --vg vg0
check_eq "sysfs --vg vg0" "$VG0" "$(paths sysvg)"
scan sysvgh lvm-sysfs.umockdev -J --vg my-vg
check_eq "sysfs --vg my-vg" "/dev/dm-216" "$(paths sysvgh)"
scan syslvm lvm-sysfs.umockdev -J --lvm
check_eq "sysfs --lvm" "$LVS" "$(paths syslvm)"

finish
