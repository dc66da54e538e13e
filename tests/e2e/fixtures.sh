#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/fixtures.sh -- golden-output tests of the three machine outputs
# (--udev, --export, --json) on hostile qcow2 images.
#
# Rules followed: docs/udev.md, "Property names and how values are
# encoded"; docs/security.md, rule 4.
# The images are fixtures/bad/NAME.head + NAME.size (made with qemu-img 7.2
# and patched with printf | dd, see fixtures/README): backing and data-file
# names holding newlines, a fake "ID_IMAGE_FORMAT=raw" line, $(...),
# backquotes, quotes, ';|&', '\x41', CR, tab, ESC, DEL, invalid and
# truncated UTF-8, 1023 bytes of '$'; an unknown incompatible bit named by a
# hostile feature table entry; a damaged header.  Each is rebuilt in a
# scratch dir as NAME.img and, for each output:
#   * the output is diffed against fixtures/expected/NAME.{udev,export,json}
#     (IMGSCAN_REGENERATE=1 rewrites those files instead);
#   * --udev: every line matches ^[A-Z_]+=[^[:cntrl:]]*$ and there is one
#     ID_IMAGE_FORMAT line;
#   * --export: eval'd by sh in an empty dir, nothing runs (no PWNED file
#     appears) and $ID_IMAGE_BACKING_FILE / $ID_IMAGE_DATA_FILE hold exactly
#     the header's bytes, \xHH-escaped (checked against the bytes cut out of
#     the header with dd);
#   * --json: valid UTF-8 (iconv), parses (jq), and where qemu-img 7.2 opens
#     the image and prints valid UTF-8, the backing and data-file names equal
#     qemu-img's.
# Finally all images go through ONE --export call (blank-line separated).
#
# Needs od, dd, awk, cmp; jq, iconv and qemu-img only for the checks that use
# them (skipped with a note when missing).

. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_need_cmd od dd awk cmp
e2e_init
export LC_ALL=C
T=$E2E_TMP
BAD=${FIXTURES:-${top_srcdir:-.}/fixtures}/bad
EXPECTED=${FIXTURES:-${top_srcdir:-.}/fixtures}/expected
HAVE_JQ=0
command -v jq >/dev/null 2>&1 && HAVE_JQ=1
HAVE_ICONV=0
command -v iconv >/dev/null 2>&1 && HAVE_ICONV=1
HAVE_QEMU=0
command -v qemu-img >/dev/null 2>&1 && HAVE_QEMU=1

[ -d "$BAD" ] || e2e_skip "no fixtures/bad directory at $BAD"
[ "$HAVE_JQ" = 1 ] || echo "# jq not installed: JSON parse checks skipped"
[ "$HAVE_QEMU" = 1 ] || echo "# qemu-img not installed: comparison with qemu-img skipped"

# golden LABEL FILE GOLDEN : diff FILE against the golden file, or rewrite it
golden()
{
	if [ "${IMGSCAN_REGENERATE:-0}" = 1 ]; then
		if cp "$2" "$3"; then
			e2e_ok "$1: regenerated $(basename "$3")"
		else
			e2e_notok "$1: cannot write $3"
		fi
	elif [ ! -f "$3" ]; then
		e2e_notok "$1: golden file $3 missing (IMGSCAN_REGENERATE=1 makes it)"
	elif cmp -s "$2" "$3"; then
		e2e_ok "$1: matches $(basename "$3")"
	else
		e2e_notok "$1: differs from $(basename "$3"): $(diff "$3" "$2" 2>&1 | head -n 8 | tr '\n' '|')"
	fi
}

# be_u NAME OFFSET BYTES : big-endian unsigned field of the header (decimal)
be_u()
{
	od -An -v -tu1 -j "$2" -N "$3" "$BAD/$1.head" |
		awk '{ for (i = 1; i <= NF; i++) v = v * 256 + $i } END { printf "%.0f\n", v }'
}

# export_escape : stdin bytes written as --export writes a value (lsblk -P)
export_escape()
{
	od -An -v -tu1 | awk '{
		for (i = 1; i <= NF; i++) {
			b = $i + 0
			if (b >= 32 && b < 127 && b != 34 && b != 92 && b != 96 && b != 36)
				printf "%c", b
			else
				printf "\\x%02x", b
		}
	}'
}

# header_name NAME OFFSET LENGTH : the name's bytes from the header, escaped
header_name()
{
	dd if="$BAD/$1.head" bs=1 skip="$2" count="$3" status=none | export_escape
}

# qcow2 header extension payload of TYPE (hex, e.g. 44415441 for the data
# file): prints "OFFSET LENGTH", nothing when absent
qcow2_ext()
{
	e_off=$(be_u "$1" 100 4) # header_length (v3)
	e_i=0
	while [ "$e_i" -lt 64 ]; do
		e_type=$(od -An -v -tx1 -j "$e_off" -N 4 "$BAD/$1.head" | tr -d ' \n')
		e_len=$(be_u "$1" $((e_off + 4)) 4)
		[ "$e_type" = 00000000 ] && return 0
		if [ "$e_type" = "$2" ]; then
			echo "$((e_off + 8)) $e_len"
			return 0
		fi
		e_off=$((e_off + 8 + (e_len + 7) / 8 * 8))
		e_i=$((e_i + 1))
	done
}

# no_pwned LABEL : nothing an injected command would create exists
no_pwned()
{
	if [ -n "$(find "$T" -name PWNED 2>/dev/null)" ] || [ -e PWNED ]; then
		e2e_notok "$1: an injected command ran (PWNED exists)"
		find "$T" -name PWNED -exec rm -f {} + 2>/dev/null
	else
		e2e_ok "$1: nothing executed"
	fi
}

IMGS=
for head in "$BAD"/*.head; do
	[ -f "$head" ] || continue
	name=$(basename "$head" .head)
	img=$name.img
	size=$(cat "$BAD/$name.size" 2>/dev/null || wc -c <"$head")
	cp "$head" "$T/$img" &&
		dd if=/dev/null of="$T/$img" bs=1 seek="$size" status=none || {
		e2e_notok "$name: cannot build the image"
		continue
	}
	IMGS="$IMGS $img"
	cd "$T" || exit 1

	# ---- --udev
	"$IMGSCAN" --udev "$img" >"$name.udev" 2>"$name.udev.err"
	e2e_check "$name: --udev exit status" "$?" 0 expected
	golden "$name: --udev" "$name.udev" "$EXPECTED/$name.udev"
	bad_lines=$(grep -c -v '^[A-Z_][A-Z_]*=[^[:cntrl:]]*$' "$name.udev")
	e2e_check "$name: --udev lines that are not KEY=value without control bytes" \
		"$bad_lines" 0 expected
	e2e_check "$name: --udev ID_IMAGE_FORMAT lines" \
		"$(grep -c '^ID_IMAGE_FORMAT=' "$name.udev")" 1 expected

	# ---- --export
	"$IMGSCAN" --export "$img" >"$name.export" 2>"$name.export.err"
	e2e_check "$name: --export exit status" "$?" 0 expected
	golden "$name: --export" "$name.export" "$EXPECTED/$name.export"
	mkdir -p "$T/eval" && cd "$T/eval" || exit 1
	# what sh makes of it, each variable's value on its own line
	# shellcheck disable=SC2016
	sh -c 'eval "$(cat "$1")" || exit 1
		printf "%s\n" "$DEVNAME" "$ID_IMAGE_FORMAT" "$ID_IMAGE_BACKING_FILE" "$ID_IMAGE_DATA_FILE"' \
		sh "$T/$name.export" >"$T/$name.eval" 2>"$T/$name.eval.err"
	e2e_check "$name: eval of --export exit status" "$?" 0 expected
	cd "$T" || exit 1
	no_pwned "$name: eval of --export"
	e2e_check "$name: eval DEVNAME" "$(sed -n 1p "$name.eval")" "$img" expected
	e2e_check "$name: eval ID_IMAGE_FORMAT" "$(sed -n 2p "$name.eval")" qcow2 expected

	# the backing name (offset BE64 at 8, length BE32 at 16) and data-file
	# extension (0x44415441) straight from the header
	b_off=$(be_u "$name" 8 8)
	b_len=$(be_u "$name" 16 4)
	want=
	[ "$b_off" -ne 0 ] && want=$(header_name "$name" "$b_off" "$b_len")
	got=$(sed -n 3p "$name.eval")
	if [ -z "$got" ] && grep -q '^ID_IMAGE_DAMAGED=1$' "$name.udev"; then
		e2e_ok "$name: damaged header, no backing name reported"
	else
		e2e_check "$name: eval ID_IMAGE_BACKING_FILE = header bytes" \
			"$got" "$want" "header"
	fi
	ext=$(qcow2_ext "$name" 44415441)
	want=
	# shellcheck disable=SC2086
	[ -n "$ext" ] && want=$(header_name "$name" $ext)
	e2e_check "$name: eval ID_IMAGE_DATA_FILE = header bytes" \
		"$(sed -n 4p "$name.eval")" "$want" "header"

	# ---- --json
	"$IMGSCAN" --json "$img" >"$name.json" 2>"$name.json.err"
	e2e_check "$name: --json exit status" "$?" 0 expected
	golden "$name: --json" "$name.json" "$EXPECTED/$name.json"
	if [ "$HAVE_ICONV" = 1 ]; then
		if iconv -f UTF-8 -t UTF-8 "$name.json" >/dev/null 2>&1; then
			e2e_ok "$name: --json is valid UTF-8"
		else
			e2e_notok "$name: --json is not valid UTF-8"
		fi
	fi
	if [ "$HAVE_JQ" = 1 ]; then
		if jq -e '.images | length == 1' "$name.json" >/dev/null 2>&1; then
			e2e_ok "$name: --json parses"
		else
			e2e_notok "$name: --json does not parse"
		fi
		if [ "$HAVE_QEMU" = 1 ] &&
			qemu-img info -U --output=json -f qcow2 "$img" >"$name.q.json" 2>/dev/null &&
			{ [ "$HAVE_ICONV" = 0 ] ||
				iconv -f UTF-8 -t UTF-8 "$name.q.json" >/dev/null 2>&1; }; then
			jq '.images[0]' "$name.json" >"$name.s1.json"
			for f in '."backing-filename"' '."backing-filename-format"' \
				'."format-specific".data."data-file"'; do
				compare_field "$name" "$f" "$name vs qemu-img"
			done
		fi
	fi
	cd "$T" || exit 1
done

[ -n "$IMGS" ] || e2e_skip "no fixtures in $BAD"

# every image in one --export call: blocks separated by one blank line
cd "$T" || exit 1
# shellcheck disable=SC2086
"$IMGSCAN" --export $IMGS >all.export 2>all.export.err
e2e_check "all: --export exit status" "$?" 0 expected
golden "all: --export" all.export "$EXPECTED/all.export"
: >all.want
first=1
for img in $IMGS; do
	[ "$first" = 1 ] || echo >>all.want
	cat "${img%.img}.export" >>all.want
	first=0
done
if cmp -s all.export all.want; then
	e2e_ok "all: one --export call = the single outputs joined by blank lines"
else
	e2e_notok "all: one --export call differs from the single outputs joined by blank lines"
fi
mkdir -p "$T/eval" && cd "$T/eval" || exit 1
# shellcheck disable=SC2016
sh -c 'eval "$(cat "$1")"' sh "$T/all.export" >/dev/null 2>&1
e2e_check "all: eval of --export exit status" "$?" 0 expected
cd "$T" || exit 1
no_pwned "all: eval of --export"

e2e_summary
