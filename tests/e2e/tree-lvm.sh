#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/tree-lvm.sh -- -T backing chains among LVs: names
# resolved only among the scanned targets, as strings: /dev/VG/LV,
# /dev/mapper/DM-NAME (hyphens doubled: VG "ovirt-sd" is "ovirt--sd"),
# /dev/dm-N, oVirt vdsm's "../IMAGE/VOLUME" and bare "VOLUME" on an LV
# (the LV VOLUME of the same VG, never of another VG; docs/udev.md,
# "oVirt/vdsm block storage"), names relative to /dev/VG; unresolved names marked "(not found)",
# loops marked "(loop)" and not followed; --vg; -r and -P in tree order.
#
# The bed tests/umockdev/tree.umockdev (made by tests/umockdev/mktree.sh,
# which lists every LV and its backing name) mocks sysfs, the udev
# properties of Debian 12's dm/LVM rules and /dev nodes holding the first
# 4 KiB of qcow2 images made by qemu-img 7.2.  A second bed without the
# DM_* properties (a host without udevd: VG/LV split from dm/name) is
# derived from it here.  Each node is extended to its sysfs size before
# imgscan runs (as in lvm-enum.sh: imgscan takes the size from fstat()).
#
# Environment: IMGSCAN, top_srcdir.  Exit 0 pass, 1 fail, 77 skip.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_need_cmd umockdev-run awk
e2e_init
LC_ALL=C
export LC_ALL
T=$E2E_TMP

BED=${top_srcdir:-.}/tests/umockdev/tree.umockdev
if [ ! -r "$BED" ]; then
	e2e_notok "test bed missing: $BED"
	e2e_summary
fi
# the same devices with the kernel's keys only: no DM_VG_NAME/DM_LV_NAME
grep -v '^E: DM_' "$BED" >"$T/tree-sysfs.umockdev" || exit 99

# libudev reads the HOST's /run/udev/data/b<maj>:<min> even under umockdev
m=220
while [ $m -le 236 ]; do
	[ -e "/run/udev/data/b253:$m" ] &&
		e2e_skip "host udev db has /run/udev/data/b253:$m: it would leak into the bed"
	m=$((m + 1))
done

# an ASan build must accept umockdev's LD_PRELOAD library coming first
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

out=$(umockdev-run -d "$BED" -- cat /sys/class/block/dm-223/dm/name 2>&1)
[ "$out" = "ovirt--sd-mapper--child" ] || e2e_skip "umockdev cannot load the bed here: $out"

# run TAG BED ARG...: imgscan under BED, nodes extended to their sysfs size;
# stdout in T/TAG.out, stderr in T/TAG.err, exit status in T/TAG.rc
run()
{
	tag=$1 bed=$2
	shift 2
	# shellcheck disable=SC2016 # expanded by the inner shell
	umockdev-run -d "$bed" -- sh -c '
		for n in "$UMOCKDEV_DIR"/dev/*; do
			[ -f "$n" ] || continue
			s=$(cat "/sys/class/block/${n##*/}/size" 2>/dev/null) || continue
			truncate -s $((s * 512)) "$n" || exit 99
		done
		exec "$@"' sh "$@" >"$T/$tag.out" 2>"$T/$tag.err"
	echo $? >"$T/$tag.rc"
}

rc() { cat "$T/$1.rc"; }
# the first lines of TAG's stderr as comments, when it did not exit 0 (a
# failed exit-status check then says why)
why() { [ "$(rc "$1")" = 0 ] || head -n 5 "$T/$1.err" | sed 's/^/# stderr: /'; }

# rel TAG: the tree of T/TAG.out (-o NAME, C locale) as "NAME PARENT" lines
# (PARENT "-" for a root) and "OWNER --> MARKER" lines for the marker rows
rel()
{
	awk 'NR == 1 { next }
	{
		i = index($0, "--> ")
		if (i > 0) {
			d = int(i / 2)           # "`--> " below a node of depth d-1
			print name[d - 1] " --> " substr($0, i + 4)
			next
		}
		match($0, /^[|` -]*/)
		d = RLENGTH / 2
		name[d] = substr($0, RLENGTH + 1)
		print name[d] " " (d ? name[d - 1] : "-")
	}' "$T/$1.out"
}

# check_rel TAG LABEL: every line of T/want.rel (LINE # WHAT) is in rel TAG,
# and nothing else is
check_rel()
{
	rel "$1" >"$T/$1.rel"
	n=0
	while IFS='#' read -r line what; do
		line=${line% }
		[ -n "$line" ] || continue
		n=$((n + 1))
		if grep -qxF "$line" "$T/$1.rel"; then
			e2e_ok "$2:${what}"
		else
			e2e_notok "$2:${what}: no line '$line' in: $(tr '\n' '|' <"$T/$1.rel")"
		fi
	done <"$T/want.rel"
	e2e_check "$2: number of rows" "$(wc -l <"$T/$1.rel" | tr -d ' ')" "$n" expected
}

# ---- every block device, with the udev database ---------------------------------
cat >"$T/want.rel" <<'EOF'
/dev/dm-220 - # ovirt-sd/base-vol (no backing) is a root
/dev/dm-221 /dev/dm-220 # mid-vol "../img-uuid-1/base-vol" -> ovirt-sd/base-vol, not other/base-vol
/dev/dm-222 /dev/dm-221 # top-vol "/dev/ovirt-sd/mid-vol" -> mid-vol
/dev/dm-223 /dev/dm-220 # mapper-child "/dev/mapper/ovirt--sd-base--vol" -> base-vol
/dev/dm-224 - # lost is a root
/dev/dm-224 --> ../img-x/missing-vol (not found) # lost "../img-x/missing-vol" not found
/dev/dm-225 - # loop-a: the loop is broken at loop-a
/dev/dm-225 --> ../img-l/loop-b (loop) # loop-a marked (loop)
/dev/dm-226 /dev/dm-225 # loop-b below loop-a
/dev/dm-227 - # other/base-vol is a root
/dev/dm-228 /dev/dm-220 # bare-child "base-vol" (newer vdsm) -> ovirt-sd/base-vol
/dev/dm-229 /dev/dm-227 # cross-child "/dev/other/base-vol" -> other/base-vol
/dev/dm-230 - # bad-mapper is a root
/dev/dm-230 --> /dev/mapper/ovirt-sd-base-vol (not found) # "/dev/mapper/ovirt-sd-base-vol" (hyphens not doubled) not found
/dev/dm-231 /dev/dm-220 # node-child "/dev/dm-220" -> base-vol
/dev/dm-232 /dev/dm-227 # other/other-child "../img-o/base-vol" -> other/base-vol, not ovirt-sd's
/dev/dm-233 - # self-vol naming itself is a root
/dev/dm-233 --> ../img-s/self-vol (loop) # self-vol marked (loop)
/dev/dm-234 - # deep-child is a root
/dev/dm-234 --> ../../img-d/sub/base-vol (not found) # "../../img-d/sub/base-vol" (no vdsm shape) not found
/dev/dm-235 /dev/dm-221 # dot-child "./mid-vol" (from /dev/ovirt-sd) -> mid-vol
/dev/dm-236 /dev/dm-232 # rel-cross "../other/other-child" (from /dev/ovirt-sd) -> other/other-child
EOF
run all "$BED" "$IMGSCAN" -T -o NAME
e2e_check "-T: exit status" "$(rc all)" 0 expected
e2e_check "-T: no message" "$(cat "$T/all.err")" "" expected
check_rel all "-T"

# the expected tree as printed: roots in scan order, children below
cat >"$T/all.want" <<'EOF'
NAME
/dev/dm-220
|-/dev/dm-221
| |-/dev/dm-222
| `-/dev/dm-235
|-/dev/dm-223
|-/dev/dm-228
`-/dev/dm-231
/dev/dm-224
`--> ../img-x/missing-vol (not found)
/dev/dm-225
|--> ../img-l/loop-b (loop)
`-/dev/dm-226
/dev/dm-227
|-/dev/dm-229
`-/dev/dm-232
  `-/dev/dm-236
/dev/dm-230
`--> /dev/mapper/ovirt-sd-base-vol (not found)
/dev/dm-233
`--> ../img-s/self-vol (loop)
/dev/dm-234
`--> ../../img-d/sub/base-vol (not found)
EOF
sed 's/ *$//' "$T/all.out" >"$T/all.trim"
if cmp -s "$T/all.trim" "$T/all.want"; then
	e2e_ok "-T: the whole tree as printed"
else
	e2e_notok "-T: tree differs: $(diff "$T/all.want" "$T/all.trim" | tr '\n' '|')"
fi

# raw and pairs: the same tree order, no art, no marker rows
run raw "$BED" "$IMGSCAN" -T -r -n -o NAME
e2e_check "-T -r: rows in tree order" "$(tr '\n' ' ' <"$T/raw.out")" \
	"$(grep -v -- '-->' "$T/all.want" | sed -n '2,$s/^[|` -]*//p' | tr '\n' ' ')" expected
run pairs "$BED" "$IMGSCAN" -T -P -o NAME,VG,LV,BACKING
e2e_check "-T -P: exit status" "$(rc pairs)" 0 expected
why pairs
cat >"$T/pairs.want" <<'EOF'
NAME="/dev/dm-220" VG="ovirt-sd" LV="base-vol" BACKING=""
NAME="/dev/dm-221" VG="ovirt-sd" LV="mid-vol" BACKING="../img-uuid-1/base-vol"
NAME="/dev/dm-222" VG="ovirt-sd" LV="top-vol" BACKING="/dev/ovirt-sd/mid-vol"
NAME="/dev/dm-235" VG="ovirt-sd" LV="dot-child" BACKING="./mid-vol"
NAME="/dev/dm-223" VG="ovirt-sd" LV="mapper-child" BACKING="/dev/mapper/ovirt--sd-base--vol"
NAME="/dev/dm-228" VG="ovirt-sd" LV="bare-child" BACKING="base-vol"
NAME="/dev/dm-231" VG="ovirt-sd" LV="node-child" BACKING="/dev/dm-220"
NAME="/dev/dm-224" VG="ovirt-sd" LV="lost" BACKING="../img-x/missing-vol"
NAME="/dev/dm-225" VG="ovirt-sd" LV="loop-a" BACKING="../img-l/loop-b"
NAME="/dev/dm-226" VG="ovirt-sd" LV="loop-b" BACKING="../img-l/loop-a"
NAME="/dev/dm-227" VG="other" LV="base-vol" BACKING=""
NAME="/dev/dm-229" VG="ovirt-sd" LV="cross-child" BACKING="/dev/other/base-vol"
NAME="/dev/dm-232" VG="other" LV="other-child" BACKING="../img-o/base-vol"
NAME="/dev/dm-236" VG="ovirt-sd" LV="rel-cross" BACKING="../other/other-child"
NAME="/dev/dm-230" VG="ovirt-sd" LV="bad-mapper" BACKING="/dev/mapper/ovirt-sd-base-vol"
NAME="/dev/dm-233" VG="ovirt-sd" LV="self-vol" BACKING="../img-s/self-vol"
NAME="/dev/dm-234" VG="ovirt-sd" LV="deep-child" BACKING="../../img-d/sub/base-vol"
EOF
if cmp -s "$T/pairs.out" "$T/pairs.want"; then
	e2e_ok "-T -P: pairs in tree order with VG, LV and the backing names"
else
	e2e_notok "-T -P: differs: $(diff "$T/pairs.want" "$T/pairs.out" | tr '\n' '|')"
fi

# ---- --vg: the other VG is not scanned, so names into it are not found ---------
cat >"$T/want.rel" <<'EOF'
/dev/dm-220 - # base-vol is a root
/dev/dm-221 /dev/dm-220 # mid-vol -> base-vol
/dev/dm-222 /dev/dm-221 # top-vol -> mid-vol
/dev/dm-223 /dev/dm-220 # mapper-child -> base-vol
/dev/dm-224 - # lost is a root
/dev/dm-224 --> ../img-x/missing-vol (not found) # lost not found
/dev/dm-225 - # loop-a is a root
/dev/dm-225 --> ../img-l/loop-b (loop) # loop-a marked (loop)
/dev/dm-226 /dev/dm-225 # loop-b below loop-a
/dev/dm-228 /dev/dm-220 # bare-child -> base-vol
/dev/dm-229 - # cross-child is a root
/dev/dm-229 --> /dev/other/base-vol (not found) # "/dev/other/base-vol" not scanned: not found
/dev/dm-230 - # bad-mapper is a root
/dev/dm-230 --> /dev/mapper/ovirt-sd-base-vol (not found) # bad-mapper not found
/dev/dm-231 /dev/dm-220 # node-child -> base-vol
/dev/dm-233 - # self-vol is a root
/dev/dm-233 --> ../img-s/self-vol (loop) # self-vol marked (loop)
/dev/dm-234 - # deep-child is a root
/dev/dm-234 --> ../../img-d/sub/base-vol (not found) # deep-child not found
/dev/dm-235 /dev/dm-221 # dot-child -> mid-vol
/dev/dm-236 - # rel-cross is a root
/dev/dm-236 --> ../other/other-child (not found) # "../other/other-child" not scanned: not found
EOF
run vg "$BED" "$IMGSCAN" -T --vg ovirt-sd -o NAME
e2e_check "-T --vg ovirt-sd: exit status" "$(rc vg)" 0 expected
check_rel vg "-T --vg ovirt-sd"

cat >"$T/want.rel" <<'EOF'
/dev/dm-227 - # other/base-vol is a root
/dev/dm-232 /dev/dm-227 # other-child -> other/base-vol
EOF
run vgo "$BED" "$IMGSCAN" -T --vg other -o NAME
e2e_check "-T --vg other: exit status" "$(rc vgo)" 0 expected
check_rel vgo "-T --vg other"

# ---- PATH operands: the same-named LV of another VG is never picked -------------
cat >"$T/want.rel" <<'EOF'
/dev/dm-227 - # other/base-vol is a root
/dev/dm-221 - # mid-vol is a root
/dev/dm-221 --> ../img-uuid-1/base-vol (not found) # mid-vol "../img-uuid-1/base-vol": ovirt-sd/base-vol not scanned, other/base-vol not picked
/dev/dm-232 /dev/dm-227 # other-child -> other/base-vol
EOF
run ops "$BED" "$IMGSCAN" -T -o NAME /dev/dm-221 /dev/dm-227 /dev/dm-232
e2e_check "-T PATHs: exit status" "$(rc ops)" 0 expected
check_rel ops "-T PATHs"

# ---- no udev database: VG and LV split from dm/name -----------------------------
run sys "$T/tree-sysfs.umockdev" "$IMGSCAN" -T -o NAME
e2e_check "-T sysfs only: exit status" "$(rc sys)" 0 expected
sed 's/ *$//' "$T/sys.out" >"$T/sys.trim"
if cmp -s "$T/sys.trim" "$T/all.want"; then
	e2e_ok "-T sysfs only: the same tree as with the udev database"
else
	e2e_notok "-T sysfs only: tree differs: $(diff "$T/all.want" "$T/sys.trim" | tr '\n' '|')"
fi
run syspairs "$T/tree-sysfs.umockdev" "$IMGSCAN" -T -P -o NAME,VG,LV,BACKING
if cmp -s "$T/syspairs.out" "$T/pairs.want"; then
	e2e_ok "-T -P sysfs only: VG/LV split from the dm names (hyphens undoubled)"
else
	e2e_notok "-T -P sysfs only: differs: $(diff "$T/pairs.want" "$T/syspairs.out" | tr '\n' '|')"
fi

# ---- never follow: no backing name is opened, stat()ed or read as a link -------
if command -v strace >/dev/null 2>&1 && ! grep -q __asan_init "$IMGSCAN" &&
	strace -f -qq -e trace=%file -o /dev/null true 2>/dev/null; then
	run trace "$BED" strace -f -qq -e trace=%file -o "$T/trace" "$IMGSCAN" -T -o NAME
	e2e_check "-T under strace: exit status" "$(rc trace)" 0 expected
	got=$(grep -E 'img-|/dev/(ovirt-sd|other|mapper)/|missing-vol|mid-vol|base-vol' "$T/trace" | head -n 3 | tr '\n' '|')
	e2e_check "-T: no file call on a backing name" "$got" "" expected
else
	e2e_ok "-T never-follow trace: strace not usable here (left out)"
fi

e2e_summary
