#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tools/cross.sh -- the probe core must give the same answers on every CPU:
# a 32-bit one (size_t and long are 32 bits) and a big-endian one (on-disk
# fields read without img_le32()/img_be64()... come out byte-swapped).
#
# usage: tools/cross.sh [-s] [-k DIR] [FIXTURE-DIR...]
#   -s      also run the native build with -fsanitize=address,undefined
#   -k DIR  keep the binaries and dumps in DIR (default: a temporary dir)
#   FIXTURE-DIR  default: fixtures and fixtures/bad of this tree
#
# Builds tests/cross/probe-dump.c with the probe core (scanner/probe/*.c)
# the safety checks (scanner/check/check.c) and the pure C writers
# (scanner/output/encode.c, out-udev.c, out-export.c; no json-c,
# libsmartcols, libudev nor autotools) three ways,
# all with -std=c11 -O2 -Wall -Wextra -Werror:
#   native   gcc                                (x86-64 here)
#   i386     gcc -m32                           (32-bit, little-endian)
#   s390x    s390x-linux-gnu-gcc -static        (64-bit, big-endian), run
#            under qemu-s390x-static (or qemu-s390x)
# runs each over the fixtures, diffs the dumps and prints one verdict line.
# Missing tools are installed with apt-get (as root): gcc-N-multilib (N the
# version of gcc), gcc-s390x-linux-gnu and libc6-dev-s390x-cross,
# qemu-user-static (else qemu-user).
# CROSS_NO_INSTALL=1: never run apt-get.
# Exit status: 0 all agree, 1 they differ or a build/run failed,
# 77 a tool is missing and could not be installed.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
sanitize=0
keep=
while getopts sk: opt; do
	case $opt in
	s) sanitize=1 ;;
	k) keep=$OPTARG ;;
	*) sed -n '4,/^set -u/{/^#/p}' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -eq 0 ]; then
	# relative names, so the dump does not depend on where the tree is
	cd "$top" || exit 1
	set -- fixtures fixtures/bad
fi

CFLAGS="-std=c11 -O2 -Wall -Wextra -Werror"
SRCS="scanner/probe/*.c scanner/check/check.c scanner/output/encode.c scanner/output/out-udev.c
scanner/output/out-export.c tests/cross/probe-dump.c"

# ---- tools ----------------------------------------------------------------

if [ -n "$keep" ]; then
	mkdir -p "$keep" || exit 1
	out=$(cd "$keep" && pwd)
else
	out=$(mktemp -d "${TMPDIR:-/tmp}/imgscan-cross.XXXXXX") || exit 1
	trap 'rm -rf "$out"' EXIT
	trap 'exit 1' HUP INT TERM
fi

# The Linux <asm/*.h> of x86-64 serve -m32 too (they test __i386__).  The
# gcc-multilib metapackage links /usr/include/asm to them, but it conflicts
# with every Debian cross compiler: take gcc-N-multilib instead and put the
# link in a private directory searched last.
mkdir -p "$out/inc32"
asmdir=/usr/include/$(gcc -print-multiarch 2>/dev/null)/asm
[ -d "$asmdir" ] && ln -sfn "$asmdir" "$out/inc32/asm"
M32="-m32 -idirafter $out/inc32"

try_cc()
{
	printf '#include <errno.h>\n#include <stdio.h>\nint main(void){return ERANGE == 0;}\n' |
		"$@" -x c -o "$out/try" - >/dev/null 2>&1
}

find_qemu()
{
	for q in qemu-s390x-static qemu-s390x; do
		if command -v "$q" >/dev/null 2>&1; then
			echo "$q"
			return 0
		fi
	done
	return 1
}

check()
{
	missing=
	# shellcheck disable=SC2086
	try_cc gcc $M32 || missing="$missing gcc-$(gcc -dumpversion | cut -d. -f1)-multilib"
	try_cc s390x-linux-gnu-gcc -static ||
		missing="$missing gcc-s390x-linux-gnu libc6-dev-s390x-cross"
	find_qemu >/dev/null || missing="$missing qemu-user-static"
	[ -z "$missing" ]
}

if ! check; then
	if [ "$(id -u)" != 0 ] || [ "${CROSS_NO_INSTALL:-0}" = 1 ]; then
		echo "cross: SKIP: missing$missing (run as root to install)"
		exit 77
	fi
	echo "cross: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >"$out/apt.log" 2>&1
	# shellcheck disable=SC2086
	if ! apt-get install -y -qq --no-install-recommends $missing >>"$out/apt.log" 2>&1; then
		# qemu-user-static conflicts with qemu-user-binfmt: take qemu-user then
		# shellcheck disable=SC2046,SC2086
		apt-get install -y -qq --no-install-recommends \
			$(echo "$missing" | sed 's/qemu-user-static/qemu-user/') >>"$out/apt.log" 2>&1
	fi
	if ! check; then
		echo "cross: SKIP: could not install$missing:"
		tail -n 5 "$out/apt.log"
		exit 77
	fi
fi
qemu=$(find_qemu)

# ---- build ----------------------------------------------------------------

native=$(uname -m)
fail=0

build()
{
	name=$1
	shift
	rm -f "$out/probe-dump.$name"
	# shellcheck disable=SC2086
	if ! (cd "$top" && "$@" $CFLAGS -Iscanner $SRCS -o "$out/probe-dump.$name") \
		2>"$out/build.$name.log"; then
		echo "cross: $name build failed:"
		head -n 30 "$out/build.$name.log"
	fi
}

build "$native" gcc &
# shellcheck disable=SC2086
build i386 gcc $M32 &
build s390x s390x-linux-gnu-gcc -static &
wait
for n in "$native" i386 s390x; do
	[ -x "$out/probe-dump.$n" ] || { echo "cross: FAIL: the $n build failed"; exit 1; }
done
if [ "$sanitize" = 1 ]; then
	build "$native-asan" gcc -fsanitize=address,undefined -fno-sanitize-recover=all -g
	[ -x "$out/probe-dump.$native-asan" ] || { echo "cross: FAIL: sanitizer build failed"; exit 1; }
fi

# ---- run ------------------------------------------------------------------

run()
{
	name=$1
	shift
	if ! "$@" >"$out/dump.$name" 2>"$out/err.$name"; then
		echo "cross: $name run failed:"
		head -n 20 "$out/err.$name"
		fail=1
	elif [ -s "$out/err.$name" ]; then
		echo "cross: $name wrote to stderr:"
		head -n 20 "$out/err.$name"
		fail=1
	fi
}

run "$native" "$out/probe-dump.$native" "$@"
run i386 "$out/probe-dump.i386" "$@"
run s390x "$qemu" "$out/probe-dump.s390x" "$@"
if [ "$sanitize" = 1 ]; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		run "$native-asan" "$out/probe-dump.$native-asan" "$@"
fi

fixtures=$(grep -c '^=== ' "$out/dump.$native")
lines=$(wc -l <"$out/dump.$native" | tr -d ' ')
if [ "$fixtures" -eq 0 ]; then
	echo "cross: FAIL: no fixture found in $*"
	exit 1
fi
others="i386 s390x"
[ "$sanitize" = 1 ] && others="$others $native-asan"
differ=
for n in $others; do
	if ! cmp -s "$out/dump.$native" "$out/dump.$n"; then
		differ="$differ $n"
		echo "cross: $native and $n differ:"
		diff -u "$out/dump.$native" "$out/dump.$n" | head -n 60 | cut -c 1-200
	fi
done
if [ -n "$differ" ] || [ "$fail" -ne 0 ]; then
	echo "cross: FAIL: $native vs${differ:- (runs failed)} over $fixtures fixtures${keep:+ (dumps in $out)}"
	exit 1
fi
asan=
[ "$sanitize" = 1 ] && asan=", $native ASan+UBSan clean"
echo "cross: OK: $native, i386 and s390x (big-endian, $qemu) agree on $fixtures fixtures ($lines lines)$asan"
exit 0
