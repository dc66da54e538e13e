#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/dlopen.sh -- the optional libraries are loaded with dlopen only
# by the modes that need them (scanner/dl/, README.md "Packaging").
#
# Spec followed: the --udev start-up contract (udev/65-imgscan.rules runs
# `imgscan --udev PATH` once per block device: it must start with libc only,
# no DT_NEEDED libblkid/libudev/libjson-c/libsmartcols/liburing, and load
# none of them at run time), and the failure contract of a missing library:
# one message naming the feature, the soname and the Debian package, and
# exit status 1 (see imgscan --help), never a crash.
#
# A missing library is simulated with IMGSCAN_DLOPEN_FAIL=SONAME[,SONAME]
# or "all" (a test hook of scanner/dl/dl.c that can only make a load fail).
# Loaded libraries are read from the dynamic loader's own trace
# (LD_DEBUG=libs, glibc); that part is skipped where the loader has none.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_init
e2e_need_cmd qemu-img
T=$E2E_TMP
OPTLIBS='libblkid|libudev|libjson-c|libsmartcols|liburing'

# the sonames and packages configure found (config.h)
conf()
{
	sed -n "s/^#define $1 \"\(.*\)\"$/\1/p" "${top_builddir:-.}/config.h"
}
for v in BLKID UDEV JSONC SMARTCOLS; do
	so=$(conf "${v}_SONAME") pkg=$(conf "${v}_PACKAGE")
	[ -n "$so" ] && [ -n "$pkg" ] || e2e_skip "no ${v}_SONAME in config.h"
	eval "SO_$v=\$so PKG_$v=\$pkg"
done

qemu-img create -q -f qcow2 "$T/a.qcow2" 64M || e2e_create_failed qcow2
# a raw volume with a filesystem signature: its content is named through libblkid
if command -v mkfs.ext4 >/dev/null 2>&1; then
	truncate -s 8M "$T/fs.img" && mkfs.ext4 -q -F "$T/fs.img" >/dev/null 2>&1 || rm -f "$T/fs.img"
fi

# ---- 1. the binary needs libc and libimgscan.so.1 only (plus the sanitizer runtimes) -
if command -v readelf >/dev/null 2>&1; then
	needed=$(readelf -d "$IMGSCAN" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p' |
		grep -Ev '^(libc|libimgscan|libasan|libubsan|libtsan|liblsan|libdl|libpthread|libm|libgcc_s)\.so' |
		tr '\n' ' ')
	e2e_check "DT_NEEDED: no optional library" "${needed:-none}" "none" "wanted"
fi

# ---- 2. what each mode loads (LD_DEBUG=libs) -------------------------------------
# loaded CMD... : the optional libraries the run opened, sorted, space-separated
loaded()
{
	LD_DEBUG=libs "$@" 2>"$T/ld" >/dev/null
	grep -q 'calling init' "$T/ld" || return 1
	# "calling init: /usr/lib/x86_64-linux-gnu/libblkid.so.1"
	sed -n 's/.*calling init: .*\/\([^/]*\)$/\1/p' "$T/ld" | grep -E "^($OPTLIBS)\\." |
		sed 's/\.so.*//' | sort -u | tr '\n' ' ' | sed 's/ $//'
}

if loaded "$IMGSCAN" --udev "$T/a.qcow2" >"$T/l"; then
	e2e_check "--udev FILE loads no optional library" "$(cat "$T/l")" "" "wanted"
	e2e_check "--udev --no-direct FILE loads no optional library" \
		"$(loaded "$IMGSCAN" --udev --no-direct "$T/a.qcow2")" "" "wanted"
	e2e_check "table loads libsmartcols" "$(loaded "$IMGSCAN" "$T/a.qcow2")" "libsmartcols" "wanted"
	e2e_check "-J loads libjson-c" "$(loaded "$IMGSCAN" -J "$T/a.qcow2")" "libjson-c" "wanted"
	e2e_check "-P loads nothing" "$(loaded "$IMGSCAN" -P "$T/a.qcow2")" "" "wanted"
	e2e_check "--export loads nothing" "$(loaded "$IMGSCAN" --export "$T/a.qcow2")" "" "wanted"
	if [ -f "$T/fs.img" ]; then
		e2e_check "--export of a raw volume loads libblkid" \
			"$(loaded "$IMGSCAN" --export "$T/fs.img")" "libblkid" "wanted"
		e2e_check "--udev of a raw volume loads nothing" \
			"$(loaded "$IMGSCAN" --udev "$T/fs.img")" "" "wanted"
	fi
	# the udev database is read directly; libudev is its fallback only
	e2e_check "--cached loads no optional library" "$(loaded "$IMGSCAN" --cached)" "" "wanted"
	e2e_check "--cached with IMGSCAN_UDEV_DB=libudev loads libudev" \
		"$(loaded env IMGSCAN_UDEV_DB=libudev "$IMGSCAN" --cached)" "libudev" "wanted"
else
	printf 'ok - # SKIP the dynamic loader has no LD_DEBUG=libs trace\n'
fi

# ---- 3. --udev works with every optional library missing ----------------------
"$IMGSCAN" --udev "$T/a.qcow2" >"$T/u.ok" 2>&1
IMGSCAN_DLOPEN_FAIL=all "$IMGSCAN" --udev "$T/a.qcow2" >"$T/u.none" 2>&1
rc=$?
e2e_check "--udev without the libraries: exit status" "$rc" "0" "wanted"
e2e_check "--udev without the libraries: same output" "$(cat "$T/u.none")" "$(cat "$T/u.ok")" "with them"

# ---- 4. a missing library: one clear message, exit status 1 --------------------
# missing SONAME PACKAGE LABEL ARGS... : exit 1 and the message
missing()
{
	m_so=$1 m_pkg=$2 m_label=$3
	shift 3
	IMGSCAN_DLOPEN_FAIL=$m_so "$@" >"$T/m.out" 2>"$T/m.err"
	m_rc=$?
	e2e_check "$m_label without $m_so: exit status" "$m_rc" "1" "wanted"
	if grep -q "^imgscan: .* needs $m_so (Debian package $m_pkg): " "$T/m.err"; then
		e2e_ok "$m_label without $m_so: message names the library and the package"
	else
		e2e_notok "$m_label without $m_so: message: $(head -c 300 "$T/m.err")"
	fi
	e2e_check "$m_label without $m_so: one message" \
		"$(grep -c "needs $m_so" "$T/m.err")" "1" "wanted"
}

missing "$SO_SMARTCOLS" "$PKG_SMARTCOLS" "table" "$IMGSCAN" "$T/a.qcow2" "$T/a.qcow2"
missing "$SO_SMARTCOLS" "$PKG_SMARTCOLS" "tree" "$IMGSCAN" -T "$T/a.qcow2"
missing "$SO_JSONC" "$PKG_JSONC" "-J" "$IMGSCAN" -J "$T/a.qcow2"
e2e_check "-J without $SO_JSONC: nothing on stdout" "$(cat "$T/m.out")" "" "wanted"
"$IMGSCAN" --cached >"$T/c.ok" 2>&1
IMGSCAN_DLOPEN_FAIL=$SO_UDEV "$IMGSCAN" --cached >"$T/c.none" 2>&1
e2e_check "--cached without $SO_UDEV: exit status" "$?" "0" "wanted"
e2e_check "--cached without $SO_UDEV: same output" "$(cat "$T/c.none")" "$(cat "$T/c.ok")" "with it"
missing "$SO_UDEV" "$PKG_UDEV" "--monitor" "$IMGSCAN" --monitor
if [ -f "$T/fs.img" ]; then
	# the volume is still listed, without its content (the scan itself worked)
	IMGSCAN_DLOPEN_FAIL=$SO_BLKID "$IMGSCAN" --export "$T/fs.img" "$T/fs.img" \
		>"$T/b.out" 2>"$T/b.err"
	e2e_check "raw volume without $SO_BLKID: exit 1 (content not named)" "$?" "1" "wanted"
	e2e_check "raw volume without $SO_BLKID: one message" \
		"$(grep -c "^imgscan: .* needs $SO_BLKID (Debian package $PKG_BLKID): " "$T/b.err")" \
		"1" "wanted"
	e2e_check "raw volume without $SO_BLKID: still listed" \
		"$(grep -c '^DEVNAME=' "$T/b.out")" "2" "wanted"
fi

# ---- 5. a library that really cannot be loaded (root: a private mount namespace) -
# the real file of libsmartcols, as the loader found it for a table
LD_DEBUG=libs "$IMGSCAN" "$T/a.qcow2" 2>"$T/ld" >/dev/null
scols=$(sed -n "s/.*calling init: \(.*\/$SO_SMARTCOLS\)$/\1/p" "$T/ld" | sed 1q)
if [ "$(id -u)" = 0 ] && [ -n "$scols" ] && command -v unshare >/dev/null 2>&1 &&
	unshare -m --propagation private true 2>/dev/null; then
	# /dev/null over the library, seen by this one process tree only
	unshare -m --propagation private sh -c \
		'mount --bind /dev/null "$(readlink -f "$1")" && shift && exec "$@"' sh "$scols" \
		"$IMGSCAN" "$T/a.qcow2" >"$T/r.out" 2>"$T/r.err"
	e2e_check "table, $SO_SMARTCOLS unloadable: exit status" "$?" "1" "wanted"
	if grep -q "^imgscan: .* needs $SO_SMARTCOLS (Debian package $PKG_SMARTCOLS): .*$SO_SMARTCOLS" \
		"$T/r.err"; then
		e2e_ok "table, $SO_SMARTCOLS unloadable: message with dlerror"
	else
		e2e_notok "table, $SO_SMARTCOLS unloadable: message: $(head -c 300 "$T/r.err")"
	fi
else
	printf 'ok - # SKIP an unloadable library needs root and unshare -m\n'
fi

e2e_summary
