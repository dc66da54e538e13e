#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tools/valgrind.sh -- the unit tests and imgscan under valgrind memcheck
# (docs/security.md, rule 10: a second, non-compiler memory checker beside
# ASan/UBSan; catches uninitialised reads that ASan does not).
#
# usage: tools/valgrind.sh BUILD-DIR
#   BUILD-DIR  a configured, NON-sanitizer build (configure --enable-unit-tests)
#              in which `make check` (or `make imgscan check_PROGRAMS`) ran
# Runs every tests/unit/test-* binary of BUILD-DIR, then imgscan (--json,
# --udev, --export, --json --deep) over images rebuilt from fixtures/ and
# fixtures/bad/ (NAME.head + NAME.size), each under
#   valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect
# Exit status: 0 clean, 1 any valgrind error or leak, 77 valgrind missing.
# VALGRIND_SKIP: space-separated unit test names to leave out (slow ones).
set -u

build=${1:?usage: tools/valgrind.sh BUILD-DIR}
top=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
command -v valgrind >/dev/null 2>&1 || { echo "SKIP: valgrind not installed"; exit 77; }
build=$(cd "$build" && pwd)
[ -x "$build/imgscan-uninstalled" ] || { echo "valgrind.sh: $build/imgscan-uninstalled missing"; exit 1; }

VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --track-origins=yes"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/imgscan-vg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

run()
{
	label=$1
	shift
	$VG "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 99 ] || grep -q '^==[0-9]*==' "$tmp/err"; then
		echo "not ok - $label"
		grep '^==[0-9]*==' "$tmp/err" | head -n 20
		fail=$((fail + 1))
	else
		echo "ok - $label (exit $rc)"
		pass=$((pass + 1))
	fi
}

# 1. unit tests
for t in "$build"/tests/unit/test-*; do
	[ -x "$t" ] || continue
	case $t in *.o | *.log | *.trs) continue ;; esac
	name=$(basename "$t")
	case " ${VALGRIND_SKIP:-} " in *" $name "*) echo "# $name skipped"; continue ;; esac
	# a test linked against libimgscan.la is a libtool wrapper script: run the binary
	if [ -x "$(dirname "$t")/.libs/$name" ] && head -c 2 "$t" | grep -q '^#!'; then
		LD_LIBRARY_PATH="$build/.libs" FIXTURES="$top/fixtures" \
			run "unit $name" "$(dirname "$t")/.libs/$name"
		continue
	fi
	FIXTURES="$top/fixtures" run "unit $name" "$t"
done

# 2. imgscan over the fixtures, rebuilt as sparse files
mkdir "$tmp/img"
for head in "$top"/fixtures/*.head "$top"/fixtures/bad/*.head; do
	[ -f "$head" ] || continue
	d=$(dirname "$head")
	b=$(basename "$head" .head)
	img="$tmp/img/$(basename "$d")-$b.img"
	cp "$head" "$img"
	if [ -f "$d/$b.size" ]; then
		truncate -s "$(cat "$d/$b.size")" "$img"
	fi
	if [ -f "$d/$b.tail" ]; then
		tl=$(stat -c %s "$d/$b.tail")
		dd if="$d/$b.tail" of="$img" bs=1 seek=$(( $(stat -c %s "$img") - tl )) conv=notrunc status=none
	fi
done
for img in "$tmp"/img/*; do
	run "imgscan --udev $(basename "$img")" "$build/imgscan-uninstalled" --udev "$img"
done
# one process over every image, each output mode
run "imgscan --json (all)" "$build/imgscan-uninstalled" --json "$tmp"/img/*
run "imgscan --json --deep (all)" "$build/imgscan-uninstalled" --json --deep "$tmp"/img/*
run "imgscan --export (all)" "$build/imgscan-uninstalled" --export "$tmp"/img/*
run "imgscan table (all)" "$build/imgscan-uninstalled" "$tmp"/img/*
if [ -x "$build/fuzz-probe" ]; then
	run "fuzz-probe replay" "$build/fuzz-probe" "$top/fixtures" "$top/fixtures/bad"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
