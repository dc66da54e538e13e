#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# -T/--tree: backing chains resolved among the scanned PATHs only, as
# strings (relative to the image's directory, absolute, "./" and ".."
# folded), names no target matches shown "(not found)", loops (two images
# naming each other, an image naming itself) shown "(loop)" and never
# followed, long chains, and the raw/pairs forms (tree order, no tree art).
# Images are made with qemu-img 7.2 (-u: the backing need not exist).
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_need_cmd qemu-img od dd
e2e_init
LC_ALL=C
export LC_ALL

T=$E2E_TMP
mkdir -p "$T/img/sub"
cd "$T/img" || exit 99

mk() { # NAME BACKING
	qemu-img create -q -u -f qcow2 -b "$2" -F qcow2 "$1" 64M
}
qemu-img create -q -f qcow2 base.qcow2 64M
mk mid.qcow2 base.qcow2
mk sub/top.qcow2 "$T/img/mid.qcow2"
mk sib.qcow2 ./sub/../mid.qcow2
mk orphan.qcow2 ../gone.qcow2
mk loopA.qcow2 loopB.qcow2
mk loopB.qcow2 loopA.qcow2
mk onloop.qcow2 loopA.qcow2
mk sub/up.qcow2 ../base.qcow2
# an image naming itself: qemu-img refuses to make one, so patch the name
mk self.qcow2 zzzz.qcow2
boff=$(od -An -tu8 --endian=big -j 8 -N 8 self.qcow2 | tr -d ' ')
printf 'self.qcow2' | dd of=self.qcow2 bs=1 seek="$boff" conv=notrunc status=none

ALL="base.qcow2 mid.qcow2 sub/top.qcow2 sib.qcow2 orphan.qcow2 loopA.qcow2 loopB.qcow2 onloop.qcow2 sub/up.qcow2 self.qcow2"

# the tree, C locale: ASCII tree art
# shellcheck disable=SC2086
"$IMGSCAN" -T -o NAME $ALL >"$T/tree" 2>"$T/tree.err"
e2e_check "-T: exit status" "$?" 0 expected
cat >"$T/tree.want" <<'EOF'
NAME
base.qcow2
|-mid.qcow2
| |-sub/top.qcow2
| `-sib.qcow2
`-sub/up.qcow2
orphan.qcow2
`--> ../gone.qcow2 (not found)
loopA.qcow2
|--> loopB.qcow2 (loop)
|-loopB.qcow2
`-onloop.qcow2
self.qcow2
`--> self.qcow2 (loop)
EOF
if cmp -s "$T/tree" "$T/tree.want"; then
	e2e_ok "-T: base at the root, children below, not found and loops marked"
else
	e2e_notok "-T: tree differs: $(diff "$T/tree.want" "$T/tree" | tr '\n' '|')"
fi

# raw and pairs: tree order, no tree art, no marker rows
# shellcheck disable=SC2086
got=$("$IMGSCAN" -T -r -n -o NAME $ALL | tr '\n' ' ')
e2e_check "-T -r: rows in tree order" "$got" \
	"base.qcow2 mid.qcow2 sub/top.qcow2 sib.qcow2 sub/up.qcow2 orphan.qcow2 loopA.qcow2 loopB.qcow2 onloop.qcow2 self.qcow2 " \
	expected
# shellcheck disable=SC2086
got=$("$IMGSCAN" -T -P -o NAME,BACKING base.qcow2 mid.qcow2 | tr '\n' '|')
e2e_check "-T -P: pairs in tree order" "$got" \
	'NAME="base.qcow2" BACKING=""|NAME="mid.qcow2" BACKING="base.qcow2"|' expected

# input order does not matter: the child given first is still below its base
got=$("$IMGSCAN" -T -r -n -o NAME sub/top.qcow2 mid.qcow2 base.qcow2 | tr '\n' ' ')
e2e_check "-T: children given before their base" "$got" \
	"base.qcow2 mid.qcow2 sub/top.qcow2 " expected

# absolute PATHs and a relative backing name; relative PATHs from another cwd
got=$(cd "$T" && "$IMGSCAN" -T -r -n -o NAME "$T/img/base.qcow2" img/mid.qcow2 | tr '\n' ' ')
e2e_check "-T: absolute and relative PATHs matched as strings" "$got" \
	"$T/img/base.qcow2 img/mid.qcow2 " expected

# the base not among the targets: not found, nothing opened to find it
got=$("$IMGSCAN" -T -o NAME mid.qcow2 | sed -n 3p)
e2e_check "-T: backing present on disk but not scanned: not found" "$got" \
	'`--> base.qcow2 (not found)' expected

# UTF-8: the arrow and tree art of lsblk
if locale -a 2>/dev/null | grep -qi '^c\.utf-\?8$'; then
	got=$(LC_ALL=C.UTF-8 "$IMGSCAN" -T -o NAME orphan.qcow2 | sed -n 3p)
	e2e_check "-T: UTF-8 arrow" "$got" "└─⟶ ../gone.qcow2 (not found)" expected
fi

# a hostile backing name: control bytes never reach the terminal
mk evil.qcow2 "$(printf 'x\033[2J\001y')"
got=$("$IMGSCAN" -T -o NAME evil.qcow2 | sed -n 3p | od -An -c | tr -s ' \n' '  ')
case "$got" in
*033*|*001*) e2e_notok "-T: a control byte of a backing name reached the output: $got" ;;
*) e2e_ok "-T: no control byte of a backing name in the output" ;;
esac

# a long chain: 60 images, each backed by the previous
qemu-img create -q -f qcow2 c0.qcow2 1M
i=1
list=c0.qcow2
while [ $i -lt 60 ]; do
	mk "c$i.qcow2" "c$((i - 1)).qcow2"
	list="c$i.qcow2 $list"
	i=$((i + 1))
done
# shellcheck disable=SC2086
got=$("$IMGSCAN" -T -r -n -o NAME $list | head -n 1)
e2e_check "-T: 60-image chain, base first" "$got" c0.qcow2 expected
# shellcheck disable=SC2086
got=$("$IMGSCAN" -T -n -o NAME $list | tail -n 1 | sed 's/^[ |`-]*//')
e2e_check "-T: 60-image chain, deepest last" "$got" c59.qcow2 expected

# usage: not with --json / --export
"$IMGSCAN" -T -J base.qcow2 >/dev/null 2>&1
e2e_check "-T with --json: exit 2" "$?" 2 expected
"$IMGSCAN" -T --export base.qcow2 >/dev/null 2>&1
e2e_check "-T with --export: exit 2" "$?" 2 expected

cd / || exit 99
e2e_summary
