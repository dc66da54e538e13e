#!/bin/sh
# Build imgscan and run the whole test suite: unit tests, end-to-end tests
# against qemu-img (and, as root, on loop devices), then `make distcheck`.
# Arguments are passed to ./configure (CI adds --enable-werror).
#   sh tools/check.sh [CONFIGURE-OPTION...]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh tools/deps.sh
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
build=${BUILD_DIR:-$top/build}
mkdir -p "$build"
cd "$build"
"$top/configure" -q --enable-unit-tests "$@"
make -j"$(nproc)" >/dev/null
status=0
make -j"$(nproc)" check || status=$?
if [ "$status" -ne 0 ]; then
	# show what failed, then stop
	for f in $(find . -name '*.log' ! -name config.log ! -name test-suite.log); do
		if grep -q '^FAIL\|^ERROR' "${f%.log}.trs" 2>/dev/null; then
			echo "======== $f"; tail -n 60 "$f"
		fi
	done
	exit "$status"
fi
if [ "${SKIP_DISTCHECK:-0}" != 1 ]; then
	make -j"$(nproc)" distcheck >/dev/null
	echo "distcheck: ok"
fi
