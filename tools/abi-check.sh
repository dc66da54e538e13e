#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The ABI of libimgscan.so.1 against the one recorded in libimgscan.abi
# (abidw from Debian's abigail-tools; the library's debug information
# describes the types, so build with -g, configure's default): an incompatible change (a function
# removed, a parameter or return type changed, an enum value moved) fails;
# a compatible one (a function added) passes with a note to record it.
#
#   sh tools/abi-check.sh [BUILD-DIR]            check (default BUILD-DIR: build)
#   sh tools/abi-check.sh --update [BUILD-DIR]   record the built library's ABI
#
# An intended incompatible change needs a new soname (-version-info in
# Makefile.am) and a new version node in scanner/lib/libimgscan.sym, then
# --update.  The handles are opaque: changes inside struct imgscan_probe,
# imgscan_batch and imgscan_policy are suppressed (scanner/lib/libimgscan.abignore).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
update=
if [ "${1:-}" = --update ]; then
	update=1
	shift
fi
build=${1:-$top/build}
lib="$build/.libs/libimgscan.so.1"
abi="$top/libimgscan.abi"
command -v abidiff >/dev/null 2>&1 ||
	{ echo "abi-check: abidiff not installed (Debian: abigail-tools)"; exit 1; }
[ -r "$lib" ] || { echo "abi-check: $lib not built"; exit 1; }

if [ -n "$update" ]; then
	abidw --no-corpus-path --no-comp-dir-path --short-locs --drop-undefined-syms \
		--out-file "$abi" "$lib"
	echo "abi-check: $abi written ($(grep -c '<elf-symbol ' "$abi") symbols)"
	exit 0
fi

rc=0
abidiff --suppressions "$top/scanner/lib/libimgscan.abignore" "$abi" "$lib" >"$build/abi-check.log" 2>&1 || rc=$?
cat "$build/abi-check.log"
# abidiff's status is a bit field: 1 error, 2 usage, 4 ABI change, 8 incompatible change
if [ $((rc & 3)) -ne 0 ]; then
	echo "abi-check: abidiff failed (status $rc)"
	exit 1
fi
# a changed ([C]) or deleted ([D]) function or variable is as bad as status 8:
# abidiff calls a parameter's type changing size only "an ABI change"
if [ $((rc & 8)) -ne 0 ] || grep -q '^[[:space:]]*\[[CD]\]' "$build/abi-check.log"; then
	echo "abi-check: INCOMPATIBLE change to libimgscan.so.1 (above): restore the ABI, or bump the soname and run tools/abi-check.sh --update"
	exit 1
fi
if [ $((rc & 4)) -ne 0 ]; then
	echo "abi-check: compatible ABI change (above): record it with tools/abi-check.sh --update"
	exit 0
fi
echo "abi-check: libimgscan.so.1 matches libimgscan.abi"
