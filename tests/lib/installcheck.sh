#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make installcheck: the installed library as a user sees it.
#   installcheck.sh SRCDIR DESTDIR LIBDIR INCLUDEDIR PYTHONDIR PYTHON CC
# 1. examples/probe.c is built with CC and `pkg-config --cflags --libs
#    imgscan` from the installed imgscan.pc (PKG_CONFIG_SYSROOT_DIR for a
#    DESTDIR install), run on a qcow2 image rebuilt from fixtures/, and must
#    name its format, virtual size and backing file;
# 2. the installed Python module, over the installed library, must say the same.
set -eu
srcdir=$1 destdir=$2 libdir=$3 includedir=$4 pythondir=$5 python=$6 cc=$7
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

export PKG_CONFIG_PATH="$destdir$libdir/pkgconfig"
[ -z "$destdir" ] || export PKG_CONFIG_SYSROOT_DIR="$destdir"
[ -r "$destdir$includedir/imgscan/imgscan.h" ] ||
	{ echo "installcheck: $destdir$includedir/imgscan/imgscan.h not installed"; exit 1; }
flags=$(pkg-config --cflags --libs imgscan)
echo "installcheck: $cc examples/probe.c $flags"
# shellcheck disable=SC2086
$cc -Wall -Werror -o "$tmp/probe" "$srcdir/examples/probe.c" $flags

fx="$srcdir/fixtures/bad/qcow2-bad-backing-inject"
cp "$fx.head" "$tmp/img.qcow2"
chmod u+w "$tmp/img.qcow2"
truncate -s "$(cat "$fx.size")" "$tmp/img.qcow2"

LD_LIBRARY_PATH="$destdir$libdir" "$tmp/probe" --check "$tmp/img.qcow2" >"$tmp/out"
cat "$tmp/out"
grep -qx "$tmp/img.qcow2: qcow2" "$tmp/out"
grep -qx '  virtual-size=1073741824' "$tmp/out"
grep -q '^  backing-file="evil\\x0aID_IMAGE_FORMAT=raw\\x0a' "$tmp/out"
grep -qx '  safe=0' "$tmp/out"
grep -qx '  ID_IMAGE_UNSAFE=backing-file' "$tmp/out"
# an error names the path and exits 1
if LD_LIBRARY_PATH="$destdir$libdir" "$tmp/probe" "$tmp/missing" 2>"$tmp/err"; then
	echo "installcheck: probe of a missing file succeeded"; exit 1
fi
grep -q "$tmp/missing: cannot open" "$tmp/err"
echo "installcheck: examples/probe.c against the installed library: ok"

if [ "$python" = : ] || [ -z "$python" ]; then
	echo "installcheck: no Python: module not checked"
	exit 0
fi
[ -r "$destdir$pythondir/imgscan/__init__.py" ] ||
	{ echo "installcheck: $destdir$pythondir/imgscan/__init__.py not installed"; exit 1; }
IMGSCAN_LIBRARY="$destdir$libdir/libimgscan.so.1" PYTHONPATH="$destdir$pythondir" \
	"$python" -c '
import sys, imgscan
d = imgscan.probe(sys.argv[1])
assert d["format"] == "qcow2", d
assert d["virtual-size"] == 1073741824, d
assert d["backing-filename"].startswith("evil\nID_IMAGE_FORMAT=raw\n"), d
print("installcheck: the Python module (%s) against the installed library: ok" % imgscan.__file__)
' "$tmp/img.qcow2"
