#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The Python module (python/imgscan, ctypes) against the built library:
# tests/python/test_imgscan.py under pytest, comparing imgscan.probe() and
# imgscan.scan() with `imgscan -J` on images made by qemu-img.  Debian's
# python3 (/usr/bin/python3) first: it has python3-pytest.  Nothing is
# written into the source tree (no __pycache__, no .pytest_cache).
set -u
lib=${LIBIMGSCAN:-${top_builddir:-.}/.libs/libimgscan.so.1}
[ -r "$lib" ] || { echo "not ok - $lib not built"; exit 1; }
py=
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import pytest' 2>/dev/null; then
		py=$p
		break
	fi
done
[ -n "$py" ] || { echo "SKIP: no python3 with pytest (Debian: python3-pytest)"; exit 77; }
command -v qemu-img >/dev/null 2>&1 || { echo "SKIP: qemu-img not installed"; exit 77; }
srcdir=$(cd "$top_srcdir" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# a sanitizer build's library needs its runtime loaded first (python is not
# built with it); python's own allocations are not this test's leaks
san=$(ldd "$lib" 2>/dev/null | awk '/lib(asan|ubsan)\.so/ { printf "%s ", $3 }')
if [ -n "$san" ]; then
	LD_PRELOAD="$san${LD_PRELOAD:+ $LD_PRELOAD}"
	ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
	export LD_PRELOAD ASAN_OPTIONS
	echo "# sanitizer runtime preloaded: $san"
fi
IMGSCAN_LIBRARY=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
PYTHONPATH="$srcdir/python${PYTHONPATH:+:$PYTHONPATH}"
PYTHONDONTWRITEBYTECODE=1
export IMGSCAN_LIBRARY PYTHONPATH PYTHONDONTWRITEBYTECODE
cd "$tmp" || exit 1
exec "$py" -m pytest -q -p no:cacheprovider --basetemp="$tmp/pytest" \
	"$srcdir/tests/python/test_imgscan.py"
