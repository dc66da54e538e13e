#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/lib/thin-client.sh -- the imgscan command is a client of
# libimgscan.so.1: it reaches the probe core, the reader, the scan engine,
# the safety checks and libblkid's content naming only through the
# library's public API (scanner/lib/imgscan.h).
#   - the command (the installed program and the uninstalled one the tests
#     run) has DT_NEEDED libimgscan.so.1;
#   - it defines none of the engine's functions (img_probe*, img_scanner*,
#     img_scan_*, img_source*, img_prefetch*, img_content*, img_verdict*,
#     img_check_*, img_policy_*): nm shows them undefined or absent;
#   - none of the command's sources (Makefile.am: IMGSCAN_CMD_SOURCES,
#     libimgcmd_a_SOURCES, TEXT_SOURCES) includes a header of scanner/probe,
#     scanner/io, scanner/scan, scanner/check, or content.h.
set -u
top=${top_srcdir:-.}
build=${top_builddir:-.}
pass=0
fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
nok() { echo "not ok - $*"; fail=$((fail + 1)); }

command -v nm >/dev/null 2>&1 && command -v readelf >/dev/null 2>&1 ||
	{ echo "SKIP: nm/readelf (binutils) not installed"; exit 77; }

ENGINE='^(img_probe|img_scanner|img_scan_|img_source|img_prefetch|img_content|img_verdict|img_check_|img_policy_|img_get|img_mem_reader)'
for bin in "${IMGSCAN:-$build/imgscan-uninstalled}" "$build/.libs/imgscan" "$build/imgscan"; do
	[ -f "$bin" ] || continue
	# libtool's wrapper script stands for .libs/imgscan, checked above
	head -c 4 "$bin" | grep -q 'ELF' || continue
	needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p' | tr '\n' ' ')
	case " $needed" in
	*" libimgscan.so.1 "*) ok "$bin: DT_NEEDED libimgscan.so.1 ($needed)" ;;
	*) nok "$bin: DT_NEEDED $needed: no libimgscan.so.1" ;;
	esac
	defined=$(nm --defined-only "$bin" | awk '{print $3}' | grep -E "$ENGINE" | tr '\n' ' ')
	if [ -z "$defined" ]; then
		ok "$bin: defines no function of the engine"
	else
		nok "$bin: defines the engine's $defined"
	fi
	used=$(nm -D --undefined-only "$bin" | awk '{print $2}' | grep -c '^imgscan_')
	[ "$used" -gt 20 ] && ok "$bin: calls $used functions of libimgscan.so.1" ||
		nok "$bin: calls only $used functions of libimgscan.so.1"
	seen=1
done
[ -n "${seen:-}" ] || nok "no imgscan binary built in $build"

# the command's sources, from the Makefile.am variables that list them
srcs=$(awk '
	/^(IMGSCAN_CMD_SOURCES|libimgcmd_a_SOURCES|TEXT_SOURCES) *=/ { on = 1 }
	on { for (i = 1; i <= NF; i++) if ($i ~ /^scanner\//) print $i
	     if ($0 !~ /\\$/) on = 0 }' "$top/Makefile.am" | sort -u)
n=$(echo "$srcs" | grep -c .)
[ "$n" -gt 20 ] && ok "the command has $n source files" || nok "only $n source files found in Makefile.am"
bad=
for f in $srcs; do
	[ -f "$top/$f" ] || { nok "$f: listed but missing"; continue; }
	inc=$(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"((probe|io|scan|check)/[^"]*|content\.h)"' "$top/$f")
	[ -n "$inc" ] && bad="$bad $f: $inc;"
done
if [ -z "$bad" ]; then
	ok "no source of the command includes a header of probe/, io/, scan/, check/ or content.h"
else
	nok "the command includes the engine's headers:$bad"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
