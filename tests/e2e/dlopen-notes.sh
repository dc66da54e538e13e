#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/dlopen-notes.sh -- the ELF dlopen notes name the libraries each
# binary can load (scanner/dl/dl.h, README.md "Packaging").
#
# Spec followed: the freedesktop.org "ELF dlopen metadata" format
# (https://systemd.io/ELF_DLOPEN_METADATA/): notes of type 0x407c0c0a, owner
# "FDO", in the section .note.dlopen, each descriptor a NUL-terminated JSON
# array of {"feature", "description", "priority", "soname": [...]}.  The
# notes are read back from the built imgscan and libimgscan.so.1 by readelf
# (the note list) and by a walk of the section's bytes (the descriptors), and
# their sonames must be exactly what configure found (config.h *_SONAME):
# all four for the command, libblkid and libjson-c for the library (the only
# two it loads).  systemd-analyze dlopen-metadata, where this systemd has it,
# must read the same sonames.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_init
e2e_need_cmd readelf
e2e_need_cmd objcopy
e2e_need_cmd python3
T=$E2E_TMP

conf()
{
	sed -n "s/^#define $1 \"\(.*\)\"$/\1/p" "${top_builddir:-.}/config.h"
}
for v in BLKID UDEV JSONC SMARTCOLS; do
	so=$(conf "${v}_SONAME")
	[ -n "$so" ] || e2e_skip "no ${v}_SONAME in config.h"
	eval "SO_$v=\$so"
done

# notes FILE: "soname priority feature" per note, sorted, from the section's bytes
notes()
{
	objcopy --dump-section .note.dlopen="$T/sec" "$1" "$T/copy" 2>"$T/objcopy.err" || return 1
	python3 - "$T/sec" <<'PY'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
out, off = [], 0
al = lambda n: (n + 3) & ~3
while off < len(data):
    if off + 12 > len(data):
        sys.exit("truncated note header at %d" % off)
    namesz, descsz, ntype = struct.unpack_from("<III", data, off)
    off += 12
    name = data[off:off + namesz]
    off += al(namesz)
    desc = data[off:off + descsz]
    off += al(descsz)
    if off > len(data):
        sys.exit("note runs past the section")
    if ntype != 0x407c0c0a or name != b"FDO\0":
        sys.exit("note type %#x owner %r" % (ntype, name))
    if not desc.endswith(b"\0"):
        sys.exit("descriptor not NUL-terminated")
    for o in json.loads(desc[:-1].decode("utf-8")):
        if set(o) != {"feature", "description", "priority", "soname"}:
            sys.exit("keys %s" % sorted(o))
        if o["priority"] not in ("required", "recommended", "suggested"):
            sys.exit("priority %r" % o["priority"])
        if not o["description"] or not o["feature"]:
            sys.exit("empty feature or description")
        for s in o["soname"]:
            out.append("%s %s %s" % (s, o["priority"], o["feature"]))
print("\n".join(sorted(out)))
PY
}

# sonames of FILE's notes, one line, sorted
sonames()
{
	notes "$1" >"$T/n" 2>"$T/n.err" || { echo "unreadable: $(head -c 200 "$T/n.err")"; return; }
	cut -d' ' -f1 "$T/n" | sort | tr '\n' ' ' | sed 's/ $//'
}
want_cmd=$(printf '%s\n' "$SO_BLKID" "$SO_UDEV" "$SO_JSONC" "$SO_SMARTCOLS" | sort | tr '\n' ' ' |
	sed 's/ $//')
want_lib=$(printf '%s\n' "$SO_BLKID" "$SO_JSONC" | sort | tr '\n' ' ' | sed 's/ $//')

e2e_check "imgscan: the notes name config.h's sonames" "$(sonames "$IMGSCAN")" "$want_cmd" "wanted"
# readelf sees the same number of FDO notes of that type (a well-formed note list)
e2e_check "imgscan: readelf lists one FDO dlopen note per library" \
	"$(readelf -n "$IMGSCAN" | grep -c '^ *FDO .*0x407c0c0a')" "4" "wanted"
e2e_check "imgscan: every note has a feature and a priority" "$(grep -c '^[^ ]* [a-z]* [^ ]' "$T/n")" \
	"4" "wanted"

if [ -n "${LIBIMGSCAN:-}" ] && [ -f "$LIBIMGSCAN" ]; then
	e2e_check "libimgscan.so.1: the notes name libblkid and libjson-c" "$(sonames "$LIBIMGSCAN")" \
		"$want_lib" "wanted"
	e2e_check "libimgscan.so.1: readelf lists two FDO dlopen notes" \
		"$(readelf -n "$LIBIMGSCAN" | grep -c '^ *FDO .*0x407c0c0a')" "2" "wanted"
else
	printf 'ok - # SKIP libimgscan.so.1 not built\n'
fi

# the reader packagers use, where this systemd has it (systemd 256 and later)
if command -v systemd-analyze >/dev/null 2>&1 &&
	systemd-analyze dlopen-metadata "$IMGSCAN" >"$T/sa" 2>/dev/null; then
	got=""
	for so in $want_cmd; do
		grep -q "$so" "$T/sa" && got="$got $so"
	done
	e2e_check "systemd-analyze dlopen-metadata: the sonames" "${got# }" "$want_cmd" "wanted"
else
	printf 'ok - # SKIP systemd-analyze has no dlopen-metadata verb\n'
fi

e2e_summary
