#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# libimgscan.so.1 exports exactly the functions its version script lists
# (scanner/lib/libimgscan.sym), every one of them marked IMGSCAN_EXPORT in
# the installed header, all in the version node IMGSCAN_0.1; its soname is
# libimgscan.so.1; and it needs none of the libraries the command loads only
# with dlopen (libudev, libsmartcols, libjson-c, libblkid).
set -u
lib=${LIBIMGSCAN:-${top_builddir:-.}/.libs/libimgscan.so.1}
sym="$top_srcdir/scanner/lib/libimgscan.sym"
hdr="$top_srcdir/scanner/lib/imgscan.h"
pass=0
fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
nok() { echo "not ok - $*"; fail=$((fail + 1)); }

command -v nm >/dev/null 2>&1 && command -v readelf >/dev/null 2>&1 ||
	{ echo "SKIP: nm/readelf (binutils) not installed"; exit 77; }
[ -r "$lib" ] || { echo "not ok - $lib not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the names between "global:" and "local:"
sed -n '/global:/,/local:/p' "$sym" | sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);.*/\1/p' |
	sort >"$tmp/script"
nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^IMGSCAN_0\.[0-9]*$' >"$tmp/nm.raw"
sed 's/@.*//' "$tmp/nm.raw" | sort >"$tmp/nm"
grep -v '^#' "$hdr" | grep -o 'IMGSCAN_EXPORT [^(]*(' | sed 's/.*[ *]\([a-z_0-9]*\)($/\1/' | sort >"$tmp/hdr"

n=$(wc -l <"$tmp/script")
[ "$n" -gt 40 ] && ok "the version script lists $n functions" ||
	nok "the version script lists only $n functions: cannot be read"
if diff -u "$tmp/script" "$tmp/nm"; then
	ok "nm -D --defined-only == the version script ($(wc -l <"$tmp/nm") symbols)"
else
	nok "exported symbols differ from the version script (above: - script, + nm)"
fi
if diff -u "$tmp/script" "$tmp/hdr"; then
	ok "every IMGSCAN_EXPORT in imgscan.h is in the version script, and only those"
else
	nok "imgscan.h's IMGSCAN_EXPORT functions differ from the version script (+ header)"
fi
# each symbol in the node the version script lists it in (NAME@@IMGSCAN_0.N)
awk '/^IMGSCAN_[0-9.]* *\{/ { node = $1 }
     /^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*;/ { sub(/^[[:space:]]*/, ""); sub(/;.*/, "");
        if (node != "") print $0 "@@" node }' "$sym" | sort >"$tmp/script.ver"
sort "$tmp/nm.raw" >"$tmp/nm.ver"
nodes=$(sed 's/.*@@//' "$tmp/script.ver" | sort -u | tr '\n' ' ')
if diff -u "$tmp/script.ver" "$tmp/nm.ver"; then
	ok "every symbol is versioned in the node the version script gives it: $nodes"
else
	nok "symbols versioned otherwise than the version script says (above: - script, + nm)"
fi
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libimgscan.so.1 ] && ok "soname $soname" || nok "soname '$soname', not libimgscan.so.1"
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
case " $needed" in
*" libudev."* | *" libsmartcols."* | *" libjson-c."* | *" libblkid."*)
	nok "DT_NEEDED: $needed (libudev, libsmartcols, libjson-c and libblkid must be dlopen'ed)" ;;
*)
	ok "DT_NEEDED: $needed" ;;
esac
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
