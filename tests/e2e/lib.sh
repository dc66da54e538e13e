# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/lib.sh -- helpers shared by the end-to-end scripts (POSIX sh).
#
# Sourced as  . "$top_srcdir/tests/e2e/lib.sh"  by scripts that automake's
# test harness runs with $(SHELL).  Environment (tests/Makefile-tests.am):
# IMGSCAN (absolute path of the built binary), FIXTURES, top_srcdir,
# top_builddir.
#
# Conventions (util-linux low-probe style, reported TAP-like):
#   one line per check:   "ok - LABEL: WHAT"
#                         "not ok - LABEL: WHAT: imgscan X, qemu-img Y"
#   last line:            "N passed, N failed"
#   exit status:          0 pass, 1 fail, 77 skip (with "SKIP: reason").
#
# Every image lives in $E2E_TMP (mktemp -d), removed by an EXIT trap that
# first runs $E2E_CLEANUP (e.g. losetup -d).  Nothing is written into the
# source or build tree, so "make distcheck" (read-only srcdir) works.
#
# JSON comparison: "imgscan --json IMG" prints {"images":[{...}]}; its first
# object is compared with "qemu-img info -U --output=json IMG" field by field.
# A field is either a JSON value or absent; absent on one side and present on
# the other is a mismatch ("A field qemu-img omits must be omitted by imgscan
# too"), shown as <absent>.

E2E_PASS=0
E2E_FAIL=0
E2E_CLEANUP=
E2E_TMP=

e2e_skip()
{
	printf 'SKIP: %s\n' "$*"
	exit 77
}

# e2e_need_cmd CMD... : skip unless every command is installed
e2e_need_cmd()
{
	for e2e_c in "$@"; do
		command -v "$e2e_c" >/dev/null 2>&1 ||
			e2e_skip "$e2e_c not installed"
	done
}

e2e_cleanup()
{
	if [ -n "$E2E_CLEANUP" ]; then
		eval "$E2E_CLEANUP"
	fi
	if [ -n "$E2E_TMP" ] && [ -d "$E2E_TMP" ]; then
		rm -rf "$E2E_TMP"
	fi
}

# e2e_init : locate imgscan, make the scratch dir and install the trap
e2e_init()
{
	if [ -z "$IMGSCAN" ]; then
		IMGSCAN=${top_builddir:-.}/imgscan
	fi
	if [ ! -x "$IMGSCAN" ]; then
		printf 'not ok - imgscan binary not found or not executable: %s\n' "$IMGSCAN"
		echo "0 passed, 1 failed"
		exit 1
	fi
	e2e_tmpdir imgscan-e2e
}

# e2e_nobody_copy DEST : a copy of $IMGSCAN at DEST that any user can run,
# whatever the modes of the build tree's directories (a checkout under a 0700
# mktemp -d directory); DEST's directory must be searchable.  An uninstalled
# imgscan finds libimgscan.so.1 through its RUNPATH in that build tree: the
# library ($LIBIMGSCAN) is copied beside it, and DEST is a script that runs
# the copy with the loader pointed there.
e2e_nobody_copy()
{
	en_dir=${1%/*}
	if readelf -d "$IMGSCAN" 2>/dev/null | grep -qE '\((RUNPATH|RPATH)\)' &&
		[ -r "${LIBIMGSCAN:-}" ]; then
		cp "$IMGSCAN" "$1.bin" && cp "$LIBIMGSCAN" "$en_dir/libimgscan.so.1" &&
			chmod 0755 "$1.bin" && chmod 0644 "$en_dir/libimgscan.so.1" || return 1
		printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "'$en_dir'" "'$1.bin'" >"$1" &&
			chmod 0755 "$1"
	else
		cp "$IMGSCAN" "$1" && chmod 0755 "$1"
	fi
}

# e2e_tmpdir PREFIX : the scratch dir $E2E_TMP, removed (with $E2E_CLEANUP
# run first) by the trap installed here, whatever ends the test
e2e_tmpdir()
{
	E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || {
		echo "not ok - mktemp -d failed"
		echo "0 passed, 1 failed"
		exit 1
	}
	trap 'e2e_cleanup' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

e2e_ok()
{
	E2E_PASS=$((E2E_PASS + 1))
	printf 'ok - %s\n' "$*"
}

e2e_notok()
{
	E2E_FAIL=$((E2E_FAIL + 1))
	printf 'not ok - %s\n' "$*"
}

# e2e_check LABEL GOT WANT [REF] : plain string comparison; REF names the
# source of WANT in the failure message (default qemu-img)
e2e_check()
{
	if [ "$2" = "$3" ] && [ "$2" != "<jq error>" ]; then
		e2e_ok "$1"
	else
		# values are shown up to 300 bytes each
		e2e_notok "$1: imgscan $(printf '%.300s' "$2"), ${4:-qemu-img} $(printf '%.300s' "$3")"
	fi
}

# e2e_summary : print the summary line and exit with the result
e2e_summary()
{
	echo "$E2E_PASS passed, $E2E_FAIL failed"
	if [ "$E2E_FAIL" -ne 0 ]; then
		exit 1
	fi
	if [ "$E2E_PASS" -eq 0 ]; then
		echo "no check ran"
		exit 1
	fi
	exit 0
}

# e2e_retry CMD... : run CMD up to 3 times.  qemu-img's LUKS PBKDF benchmark
# fails now and then on a busy machine ("Unable to get accurate CPU usage").
e2e_retry()
{
	"$@" && return 0
	for e2e_try in 1 2 3 4; do
		sleep 1
		"$@" && return 0
	done
	return 1
}

# e2e_create_failed NAME ERRFILE : report a qemu-img create that failed.  When
# the cause is qemu's LUKS PBKDF timing ("Unable to get accurate CPU usage",
# an artefact of a loaded or virtualised CPU, not of imgscan) the image is
# left out with a note: LUKS headers are still compared through the images
# cryptsetup makes.  Anything else fails.
e2e_create_failed()
{
	if grep -q 'Unable to get accurate CPU usage' "$2" 2>/dev/null; then
		e2e_ok "$1: not made: qemu-img cannot time its LUKS PBKDF on this machine (left out)"
	else
		e2e_notok "$1: qemu-img create failed: $(head -c 300 "$2" | tr '\n' ' ')"
	fi
}

# e2e_byte_or FILE OFFSET MASK : set bits MASK in the byte at OFFSET
e2e_byte_or()
{
	e2e_b=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
	e2e_b=$(( ${e2e_b:-0} | $3 ))
	# shellcheck disable=SC2059
	printf "$(printf '\\%03o' "$e2e_b")" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# e2e_put_be32 FILE OFFSET VALUE : write a big-endian u32
e2e_put_be32()
{
	# shellcheck disable=SC2059
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o' \
		$(( ($3 >> 24) & 255 )) $(( ($3 >> 16) & 255 )) \
		$(( ($3 >> 8) & 255 )) $(( $3 & 255 )))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# jq function field(PATH): the JSON text of the field named by the path
# expression, or <absent> when the key (or array element) does not exist.
# shellcheck disable=SC2016
e2e_jq_def()
{
	printf '%s\n' '
def field(f):
  (try ([path(f)] | first) catch null) as $p
  | if $p == null then "<absent>"
    elif ($p | length) == 0 then tojson
    else (try getpath($p[:-1]) catch null) as $par
      | $p[-1] as $k
      | if ($par | type) == "object" and ($k | type) == "string"
            and ($par | has($k)) then ($par[$k] | tojson)
        elif ($par | type) == "array" and ($k | type) == "number"
            and $k < ($par | length) then ($par[$k] | tojson)
        else "<absent>" end
    end;'
}

# jq program printing field($1)
e2e_jq_field()
{
	e2e_jq_def
	printf 'field(%s)\n' "$1"
}

# e2e_field JSONFILE JQPATH : the field's JSON text or <absent>
e2e_field()
{
	jq -r "$(e2e_jq_field "$2")" "$1" 2>/dev/null || echo "<jq error>"
}

# qemu_info IMG [FORMAT] : qemu-img info -U --output=json into IMG.q.json
qemu_info()
{
	if [ -n "$2" ]; then
		qemu-img info -U --output=json -f "$2" "$1" >"$1.q.json" 2>"$1.q.err"
	else
		qemu-img info -U --output=json "$1" >"$1.q.json" 2>"$1.q.err"
	fi
}

# scan_json LABEL IMG [OPTIONS...] : imgscan --json IMG into IMG.s.json (whole
# document) and IMG.s1.json (images[0]); reports the exit code and JSON
# validity as checks.  Returns 1 when there is nothing to compare.
scan_json()
{
	e2e_l=$1
	e2e_i=$2
	shift 2
	"$IMGSCAN" --json "$@" "$e2e_i" >"$e2e_i.s.json" 2>"$e2e_i.s.err"
	e2e_rc=$?
	if [ "$e2e_rc" -ne 0 ]; then
		e2e_notok "$e2e_l: imgscan --json exit status $e2e_rc ($(head -c 200 "$e2e_i.s.err" | tr '\n' ' '))"
	fi
	if ! jq -e '.images | type == "array" and length == 1' \
			"$e2e_i.s.json" >/dev/null 2>&1; then
		e2e_notok "$e2e_l: imgscan --json did not print {\"images\":[one object]}"
		return 1
	fi
	jq '.images[0]' "$e2e_i.s.json" >"$e2e_i.s1.json"
	if jq -e 'has("error")' "$e2e_i.s1.json" >/dev/null; then
		e2e_notok "$e2e_l: imgscan error $(jq -c . "$e2e_i.s1.json")"
		return 1
	fi
	return 0
}

# compare_field IMG JQPATH [LABEL] : compare one field of IMG.s1.json
# (imgscan) with IMG.q.json (qemu-img)
compare_field()
{
	e2e_got=$(e2e_field "$1.s1.json" "$2")
	e2e_want=$(e2e_field "$1.q.json" "$2")
	e2e_check "${3:-$(basename "$1")}: $2" "$e2e_got" "$e2e_want"
}

# compare_fields IMG LABEL JQPATH... : compare_field for each path (one jq
# run per document; tojson keeps every value on one line without tabs)
compare_fields()
{
	e2e_img=$1
	e2e_lab=$2
	shift 2
	e2e_prog="$(e2e_jq_def)"
	e2e_sep=
	: >"$e2e_img.fields"
	for e2e_f in "$@"; do
		e2e_prog="$e2e_prog$e2e_sep field($e2e_f)"
		e2e_sep=,
		printf '%s\n' "$e2e_f" >>"$e2e_img.fields"
	done
	jq -r "$e2e_prog" "$e2e_img.s1.json" >"$e2e_img.got" 2>&1 ||
		echo "<jq error>" >"$e2e_img.got"
	jq -r "$e2e_prog" "$e2e_img.q.json" >"$e2e_img.want" 2>&1 ||
		echo "<jq error>" >"$e2e_img.want"
	paste "$e2e_img.fields" "$e2e_img.got" "$e2e_img.want" >"$e2e_img.cmp"
	while IFS='	' read -r e2e_f e2e_got e2e_want; do
		[ -n "$e2e_f" ] || continue
		e2e_check "$e2e_lab: $e2e_f" "${e2e_got:-<missing>}" "${e2e_want:-<missing>}"
	done <"$e2e_img.cmp"
}

# compare_expr IMG LABEL JQEXPR : compare the compact output of an arbitrary
# jq expression (e.g. '[.extents[]?.filename]') on both documents
compare_expr()
{
	e2e_got=$(jq -c "$3" "$1.s1.json" 2>&1)
	e2e_want=$(jq -c "$3" "$1.q.json" 2>&1)
	e2e_check "$2: $3" "$e2e_got" "$e2e_want"
}

# expect_field IMG LABEL JQPATH WANT : check an imgscan field against a
# fixed JSON text (for documented exceptions)
expect_field()
{
	e2e_got=$(e2e_field "$1.s1.json" "$3")
	e2e_check "$2: $3" "$e2e_got" "$4" expected
}

# udev_get FILE KEY : value of KEY=value in an --udev output file
udev_get()
{
	sed -n "s/^$2=//p" "$1" | head -n 1
}

# scan_many LABEL IMG... : one imgscan --json call with every IMG; checks the
# count, the order (path) and that each object equals the single-path run
# (IMG.s1.json) apart from the "scan" counters.
scan_many()
{
	e2e_l=$1
	shift
	e2e_many=$E2E_TMP/many.json
	"$IMGSCAN" --json "$@" >"$e2e_many" 2>"$e2e_many.err"
	e2e_rc=$?
	e2e_check "$e2e_l: exit status of one call with $# paths" "$e2e_rc" 0 expected
	e2e_n=$(jq '.images | length' "$e2e_many" 2>/dev/null)
	e2e_check "$e2e_l: number of objects" "${e2e_n:-invalid JSON}" "$#" expected
	e2e_k=0
	for e2e_i in "$@"; do
		e2e_p=$(jq -r --argjson k "$e2e_k" '.images[$k].path' "$e2e_many" 2>/dev/null)
		e2e_check "$e2e_l: images[$e2e_k].path" "$e2e_p" "$e2e_i" expected
		if [ -f "$e2e_i.s1.json" ]; then
			e2e_a=$(jq -cS --argjson k "$e2e_k" '.images[$k] | del(.scan)' \
				"$e2e_many" 2>/dev/null)
			e2e_b=$(jq -cS 'del(.scan)' "$e2e_i.s1.json")
			if [ "$e2e_a" = "$e2e_b" ]; then
				e2e_ok "$e2e_l: images[$e2e_k] equals the single-path result"
			else
				e2e_notok "$e2e_l: images[$e2e_k] differs from the single-path result: $e2e_a vs $e2e_b"
			fi
		fi
		e2e_k=$((e2e_k + 1))
	done
}
