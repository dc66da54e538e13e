#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The table (lsblk conventions, docs/udev.md): default columns,
# -o LIST / -o +LIST / -O, unknown columns (exit 2, named), -n -r -b, the
# columns against qemu-img 7.2 (VSIZE, CLUSTER, BACKING, SNAPSHOTS, USED =
# qemu-img check's image-end-offset with --deep), -P pairs that stay
# eval-safe whatever bytes a header holds, and the man page: every long
# option of --help documented in doc/imgscan.8.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_need_cmd qemu-img jq od
e2e_init
LC_ALL=C
export LC_ALL
T=$E2E_TMP

qemu-img create -q -f qcow2 -o cluster_size=128k "$T/base.qcow2" 100M
qemu-img create -q -f qcow2 -b "$T/base.qcow2" -F qcow2 "$T/over.qcow2"
qemu-img snapshot -c s1 "$T/base.qcow2"
qemu-img snapshot -c s2 "$T/base.qcow2"
qemu-img create -q -f vpc -o subformat=fixed "$T/f.vhd" 8M

# default columns
got=$("$IMGSCAN" -r "$T/base.qcow2" | head -n 1)
e2e_check "default columns" "$got" "NAME FORMAT VER VSIZE SIZE CLUSTER BACKING BFMT FEATURES ENC CONTENT" expected
got=$("$IMGSCAN" -r -o +TYPE,dirty "$T/base.qcow2" | head -n 1)
e2e_check "-o +LIST appends (case-insensitive)" "$got" \
	"NAME FORMAT VER VSIZE SIZE CLUSTER BACKING BFMT FEATURES ENC CONTENT TYPE DIRTY" expected
got=$("$IMGSCAN" -r -n -o NAME,FORMAT,TYPE,SUBFORMAT "$T/f.vhd")
e2e_check "-o LIST, -n, -r" "$got" "$T/f.vhd vpc file fixed" expected
all=$("$IMGSCAN" --list-columns | awk '{print $1}' | tr '\n' ' ')
got=$("$IMGSCAN" -r -O "$T/base.qcow2" | head -n 1)
e2e_check "-O: every column of --list-columns" "$got " "$all" expected

# unknown column: usage error naming it
"$IMGSCAN" -o NAME,BOGUS "$T/base.qcow2" >"$T/out" 2>"$T/err"
e2e_check "unknown column: exit 2" "$?" 2 expected
e2e_check "unknown column: named" "$(grep -c "BOGUS" "$T/err")" 1 expected
e2e_check "unknown column: nothing on stdout" "$(wc -c <"$T/out" | tr -d ' ')" 0 expected
"$IMGSCAN" -o +, "$T/base.qcow2" >/dev/null 2>&1
e2e_check "empty column name: exit 2" "$?" 2 expected

# values against qemu-img
qemu_info "$T/base.qcow2"
qemu_info "$T/over.qcow2"
got=$("$IMGSCAN" -r -n -b -o VSIZE,CLUSTER,SNAPSHOTS "$T/base.qcow2")
want="$(jq -r '.["virtual-size"]' "$T/base.qcow2.q.json") $(jq -r '.["cluster-size"]' "$T/base.qcow2.q.json") $(jq -r '.snapshots | length' "$T/base.qcow2.q.json")"
e2e_check "VSIZE CLUSTER SNAPSHOTS (-b)" "$got" "$want"
got=$("$IMGSCAN" -r -n -o VSIZE,CLUSTER "$T/base.qcow2")
e2e_check "human sizes" "$got" "100M 128K" expected
got=$("$IMGSCAN" -r -n -o BACKING,BFMT "$T/over.qcow2")
want="$(jq -r '.["backing-filename"]' "$T/over.qcow2.q.json") $(jq -r '.["backing-filename-format"]' "$T/over.qcow2.q.json")"
e2e_check "BACKING BFMT" "$got" "$want"
got=$("$IMGSCAN" -r -n -o DIRTY,CORRUPT,COMPAT "$T/base.qcow2")
want="$(jq -r '.["dirty-flag"] | if . then 1 else 0 end' "$T/base.qcow2.q.json") $(jq -r '.["format-specific"].data.corrupt | if . then 1 else 0 end' "$T/base.qcow2.q.json") $(jq -r '.["format-specific"].data.compat' "$T/base.qcow2.q.json")"
e2e_check "DIRTY CORRUPT COMPAT" "$got" "$want"
qemu-img check --output=json "$T/base.qcow2" >"$T/check.json" 2>/dev/null
got=$("$IMGSCAN" --deep -r -n -b -o USED "$T/base.qcow2")
e2e_check "USED (--deep) = image-end-offset" "$got" "$(jq -r '.["image-end-offset"]' "$T/check.json")" \
	"qemu-img check"
got=$("$IMGSCAN" -r -n -o USED "$T/base.qcow2")
e2e_check "USED empty without --deep" "$got" "" expected

# errors: a row with FORMAT error and the cause
"$IMGSCAN" -r -n -o NAME,FORMAT,ERROR "$T/missing" >"$T/out" 2>/dev/null
e2e_check "missing PATH: exit 1" "$?" 1 expected
e2e_check "missing PATH: ERROR column" "$(cat "$T/out")" \
	"$T/missing error No\\x20such\\x20file\\x20or\\x20directory" expected

# -P: eval-safe whatever the header holds
evil="\$(touch $T/pwned)\`touch $T/pwned2\`\"'; x\\y	$(printf '\001\033\377')"
qemu-img create -q -u -f qcow2 -b "$evil" -F qcow2 "$T/evil.qcow2" 64M
"$IMGSCAN" -P -o NAME,FORMAT,BACKING,VSIZE "$T/evil.qcow2" >"$T/pairs"
e2e_check "-P: exit status" "$?" 0 expected
e2e_check "-P: one line" "$(wc -l <"$T/pairs" | tr -d ' ')" 1 expected
(
	cd "$T" || exit 1
	eval "$(cat "$T/pairs")"
	printf '%s' "$BACKING" >"$T/backing.esc"
	printf '%s\n' "$FORMAT $VSIZE" >"$T/fmt"
)
e2e_check "-P: eval ran no command" "$(ls "$T" | grep -c pwned)" 0 expected
e2e_check "-P: FORMAT and VSIZE (bytes)" "$(cat "$T/fmt")" "qcow2 67108864" expected
# one \xHH decoding pass gives the header's exact bytes back
# (sh's printf %b knows \0ooo, not \xHH: awk turns each \xHH into \0ooo first)
hexoct=$(awk '{
	out = ""; s = $0
	while ((i = index(s, "\\x")) > 0) {
		out = out substr(s, 1, i - 1)
		h = tolower(substr(s, i + 2, 2))
		v = (index("0123456789abcdef", substr(h, 1, 1)) - 1) * 16 + index("0123456789abcdef", substr(h, 2, 1)) - 1
		out = out sprintf("\\0%o", v)
		s = substr(s, i + 4)
	}
	printf "%s", out s
}' "$T/backing.esc")
printf '%b' "$hexoct" >"$T/backing.dec"
printf '%s' "$evil" >"$T/backing.want"
if cmp -s "$T/backing.dec" "$T/backing.want"; then
	e2e_ok "-P: BACKING decodes to the header's exact bytes"
else
	e2e_notok "-P: BACKING $(od -An -c "$T/backing.dec" | tr -s ' \n' '  ')"
fi
got=$(LC_ALL=C tr -d '\040-\176' <"$T/pairs" | tr -d '\n' | wc -c | tr -d ' ')
e2e_check "-P: only printable ASCII" "$got" 0 expected
# the table shows it made safe: no control byte reaches the terminal
got=$("$IMGSCAN" -o BACKING "$T/evil.qcow2" | LC_ALL=C tr -d '\040-\176\n' | wc -c | tr -d ' ')
e2e_check "table: no control byte from a header" "$got" 0 expected

# the man page documents every long option of --help
man=${top_srcdir:-.}/doc/imgscan.8
if [ -f "$man" ]; then
	missing=
	for opt in $("$IMGSCAN" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		name=${opt#--}
		grep -qF -- "\\-\\-$(printf '%s' "$name" | sed 's/-/\\-/g')" "$man" ||
			missing="$missing $opt"
	done
	e2e_check "man page: every long option of --help" "${missing:-none}" none expected
	for col in $("$IMGSCAN" --list-columns | awk '{print $1}'); do
		grep -q "^\\.B $col\$" "$man" || missing="$missing $col"
	done
	e2e_check "man page: every column" "${missing:-none}" none expected
	if command -v groff >/dev/null 2>&1; then
		got=$(groff -man -ww -z "$man" 2>&1 | head -n 3)
		e2e_check "man page: groff -ww warnings" "${got:-none}" none expected
	fi
else
	e2e_notok "man page $man not found"
fi

e2e_summary
