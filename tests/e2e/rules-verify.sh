#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/rules-verify.sh -- syntax and policy check of udev/65-imgscan.rules.
#
# Follows udev(7) (rule syntax: comma-separated KEY[{attr}]OP"value" pairs,
# match keys ==/!=, assignment keys =/+=/-=/:=, GOTO jumps forward to a LABEL
# of the same file) and docs/udev.md, "How udev runs imgscan" (the rule
# skeleton imgscan follows).  Three independent checkers:
#
#   1. "udevadm verify FILE" when the installed udev has it (systemd >= 254;
#      Debian 12 ships udev 252, which has no verify verb);
#   2. udev's own rule parser: "udevadm test" run in a private mount
#      namespace (unshare -m, tmpfs on /run) with the rule as
#      /run/udev/rules.d/65-imgscan.rules; every diagnostic naming the file
#      is a failure.  Nothing outside the namespace sees the rule, and the
#      test device is /dev/null, which the rule leaves alone.  Root only;
#   3. a small awk checker (always): every line is a comment, blank, or
#      KEY[{attr}]OP"VALUE" pairs separated by ", "; keys, attributes and
#      operators are valid for their key; every GOTO has a LABEL further
#      down; no LABEL is defined twice or left unused;
#
# plus project policy (sections 4 to 6): one IMPORT{program} naming
# @bindir@/imgscan --udev $devnode and nothing from $env{}; the guard lines
# before it are exactly the guard table of scanner/enum/guard.c, in its order
# (printed by tests/e2e/guard-rules; the check is shown to fail when any one
# rule is dropped from the file or from the table); no
# watch/SYMLINK/OWNER/GROUP/MODE/RUN/SYSTEMD_READY; the IMPORT{db} list
# equals the ID_IMAGE_* names scanner/output/out-udev.c can print.
#
# Output: "ok - ..." / "not ok - ..." lines, then "N passed, N failed".
# Exit 77 only when no checker can run at all.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

RULE_SRC=${top_srcdir:-.}/udev/65-imgscan.rules
OUT_UDEV=${top_srcdir:-.}/scanner/output/out-udev.c

command -v awk >/dev/null 2>&1 || e2e_skip "awk not installed"
[ -r "$RULE_SRC" ] || {
	echo "not ok - rule file not found: $RULE_SRC"
	echo "0 passed, 1 failed"
	exit 1
}
e2e_tmpdir imgscan-rules

T=$E2E_TMP
# the installed form of the rule (make install replaces @bindir@)
sed 's|@bindir@|/usr/local/bin|g' "$RULE_SRC" >"$T/65-imgscan.rules"

# ------------------------------------------------------ 1. udevadm verify

if command -v udevadm >/dev/null 2>&1 &&
		udevadm verify --help >/dev/null 2>&1; then
	if udevadm verify --resolve-names=never "$T/65-imgscan.rules" \
			>"$T/verify.out" 2>&1; then
		e2e_ok "udevadm verify: no error"
	else
		e2e_notok "udevadm verify: $(tr '\n' ' ' <"$T/verify.out")"
	fi
else
	echo "# udevadm verify not available (udev $(udevadm --version 2>/dev/null || echo none))"
fi

# --------------------------------- 2. udev's parser through udevadm test

if [ "$(id -u)" != 0 ]; then
	echo "# udevadm test needs root: skipped"
elif ! command -v udevadm >/dev/null 2>&1 || ! command -v unshare >/dev/null 2>&1; then
	echo "# udevadm or unshare missing: udevadm test skipped"
elif [ ! -e /sys/devices/virtual/mem/null ]; then
	echo "# no /sys/devices/virtual/mem/null: udevadm test skipped"
else
	# shellcheck disable=SC2016
	unshare -m sh -c '
		mount -t tmpfs -o mode=0755 imgscan-rules /run &&
		mkdir -p /run/udev/rules.d &&
		cp "$1" /run/udev/rules.d/65-imgscan.rules &&
		udevadm test --action=add /sys/devices/virtual/mem/null
	' sh "$T/65-imgscan.rules" >"$T/test.out" 2>&1
	rc=$?
	if ! grep -q 'Reading rules file: /run/udev/rules.d/65-imgscan.rules' "$T/test.out"; then
		echo "# udevadm test did not read the rule (rc $rc, $(tail -n 2 "$T/test.out" | tr '\n' ' ')): skipped"
	else
		grep '^/run/udev/rules.d/65-imgscan.rules:' "$T/test.out" >"$T/test.diag"
		if [ -s "$T/test.diag" ]; then
			e2e_notok "udevadm test: the parser complains: $(tr '\n' ' ' <"$T/test.diag")"
		else
			e2e_ok "udevadm test: udev $(udevadm --version) parses the rule without a diagnostic"
		fi
	fi
fi

# ------------------------------------------------------- 3. awk checker

# prints "ok - ..." / "not ok - ..." lines; the shell counts them
LC_ALL=C awk -v file="$(basename "$RULE_SRC")" '
function bad(msg) { errs++; print "not ok - syntax: " file ":" lno ": " msg }
function set_has(list, w) { return index(" " list " ", " " w " ") > 0 }
BEGIN {
	match_only = "ACTION DEVPATH KERNEL KERNELS SUBSYSTEM SUBSYSTEMS DRIVER DRIVERS ATTRS TAGS TEST PROGRAM RESULT CONST"
	assign_only = "OWNER GROUP MODE SECLABEL RUN LABEL GOTO OPTIONS"
	both = "NAME SYMLINK ENV ATTR SYSCTL TAG IMPORT"
	need_attr = "ATTR ATTRS SYSCTL ENV CONST SECLABEL IMPORT"
	opt_attr = "TEST RUN"
	import_types = "program builtin file db cmdline parent"
	run_types = "program builtin"
	const_names = "arch virt"
}
{
	lno = NR
	line = $0
	# continuation lines
	while (line ~ /\\$/ && (getline nxt) > 0) {
		line = substr(line, 1, length(line) - 1) nxt
	}
	if (line ~ /^[ \t]*$/ || line ~ /^[ \t]*#/)
		next
	if (line ~ /^[ \t]/) bad("leading whitespace")
	s = line
	sub(/^[ \t]+/, "", s)
	npairs = 0
	while (s != "") {
		if (!match(s, /^[A-Z_]+/)) { bad("expected a KEY at \"" substr(s, 1, 20) "\""); break }
		key = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
		attr = ""; hasattr = 0
		if (substr(s, 1, 1) == "{") {
			if (!match(s, /^\{[^{}"]*\}/)) { bad("unterminated {attribute} after " key); break }
			attr = substr(s, 2, RLENGTH - 2); hasattr = 1; s = substr(s, RLENGTH + 1)
		}
		if (!match(s, /^(==|!=|\+=|-=|:=|=)/)) { bad("expected an operator after " key); break }
		op = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
		if (substr(s, 1, 1) != "\"") { bad(key " value is not double-quoted"); break }
		# the value: up to the next double quote not preceded by a backslash
		val = ""; s = substr(s, 2); closed = 0
		while (s != "") {
			c = substr(s, 1, 1)
			if (c == "\\" && length(s) > 1) { val = val substr(s, 1, 2); s = substr(s, 3); continue }
			s = substr(s, 2)
			if (c == "\"") { closed = 1; break }
			val = val c
		}
		if (!closed) { bad(key " value has no closing quote"); break }
		npairs++
		# key, attribute and operator
		ismatch = (op == "==" || op == "!=")
		if (set_has(match_only, key)) {
			if (!ismatch) bad(key " is a match key, operator " op)
		} else if (set_has(assign_only, key)) {
			if (ismatch) bad(key " is an assignment key, operator " op)
			if ((key == "LABEL" || key == "GOTO") && op != "=") bad(key " takes \"=\", not " op)
		} else if (set_has(both, key)) {
			if (key == "IMPORT" && op != "=" && op != "!=") bad("IMPORT takes \"=\" or \"!=\", not " op)
		} else {
			bad("unknown key " key)
		}
		if (set_has(need_attr, key) && (!hasattr || attr == "")) bad(key " needs {attribute}")
		if (hasattr && !set_has(need_attr, key) && !set_has(opt_attr, key)) bad(key " takes no {attribute}")
		if (key == "IMPORT" && !set_has(import_types, attr)) bad("IMPORT{" attr "}: unknown type")
		if (key == "RUN" && hasattr && !set_has(run_types, attr)) bad("RUN{" attr "}: unknown type")
		if (key == "CONST" && !set_has(const_names, attr)) bad("CONST{" attr "}: unknown name")
		if (key == "LABEL") {
			if (val in label_line) bad("LABEL=\"" val "\" defined twice")
			label_line[val] = lno
		}
		if (key == "GOTO") { ngoto++; goto_val[ngoto] = val; goto_line[ngoto] = lno }
		# separator: end of line, or ", " and the next pair
		if (s ~ /^[ \t]*$/) break
		if (substr(s, 1, 2) != ", " || substr(s, 3, 1) ~ /[ \t]/ || length(s) < 3) {
			bad("pairs must be separated by \", \" (at \"" substr(s, 1, 20) "\")")
			break
		}
		s = substr(s, 3)
	}
}
END {
	for (i = 1; i <= ngoto; i++) {
		v = goto_val[i]
		used[v] = 1
		if (!(v in label_line)) {
			lno = goto_line[i]; bad("GOTO=\"" v "\" has no LABEL")
		} else if (label_line[v] < goto_line[i]) {
			lno = goto_line[i]; bad("GOTO=\"" v "\" jumps backwards (udev only jumps forward)")
		}
	}
	for (v in label_line)
		if (!(v in used)) { lno = label_line[v]; bad("LABEL=\"" v "\" is never used") }
	if (errs == 0)
		print "ok - syntax: " file ": " NR " lines, every pair and GOTO/LABEL valid"
}' "$RULE_SRC" >"$T/awk.out"
while IFS= read -r l; do
	case $l in
	"ok - "*) e2e_ok "${l#ok - }" ;;
	"not ok - "*) e2e_notok "${l#not ok - }" ;;
	*) echo "$l" ;;
	esac
done <"$T/awk.out"

# ------------------------------------------------------------ 4. policy

# rule lines only (no comments/blank), with their line numbers
grep -n -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$RULE_SRC" >"$T/lines"

# p_line REGEX : line number of the first rule line matching REGEX (ERE)
p_line()
{
	grep -E -- "$1" "$T/lines" | head -n 1 | cut -d: -f1
}

n_prog=$(grep -c 'IMPORT{program}' "$T/lines")
e2e_check "policy: number of IMPORT{program} lines" "$n_prog" 1 expected
prog_val=$(sed -n 's/.*IMPORT{program}="\([^"]*\)".*/\1/p' "$T/lines" | head -n 1)
e2e_check "policy: IMPORT{program} command" "$prog_val" \
	'@bindir@/imgscan --udev $devnode' expected
if grep -q '\$env{' "$T/lines"; then
	e2e_notok "policy: \$env{} substituted into a rule (argv injection, docs/udev.md)"
else
	e2e_ok "policy: no \$env{} substitution"
fi

# ---------------------------------------- 5. the guards = the guard table
#
# tests/e2e/guard-rules prints each rule of the guard table
# (scanner/enum/guard.c) that the udev rule carries, as its line of the rule
# file, in the table's order.  The rule lines before IMPORT{program} that
# match something (== or !=) must be exactly those lines, in that order: a
# rule missing from the file, a guard the table lacks, a changed pattern or
# verdict (GOTO target) or another order all differ.
GUARD_RULES=${top_builddir:-.}/tests/e2e/guard-rules

# guards_of FILE: its match lines before the first IMPORT{program}, in order
guards_of()
{
	awk '
		/^[ \t]*#/ || /^[ \t]*$/ { next }
		/IMPORT\{program\}/ { exit }
		/(==|!=)/ { sub(/[ \t]+$/, ""); print }
	' "$1"
}

# same_guards TABLE-LINES RULE-FILE: exit 0 when the file says what the table says
same_guards()
{
	guards_of "$2" >"$T/guards.file"
	cmp -s "$1" "$T/guards.file"
}

if [ ! -x "$GUARD_RULES" ]; then
	e2e_notok "guard table: $GUARD_RULES not built (make check builds it)"
elif ! "$GUARD_RULES" >"$T/guards.table" 2>"$T/guards.err"; then
	e2e_notok "guard table: guard-rules failed: $(tr '\n' ' ' <"$T/guards.err")"
else
	ntab=$(wc -l <"$T/guards.table")
	agree=no
	if [ "$ntab" -lt 5 ]; then
		e2e_notok "guard table: only $ntab rule lines printed"
	elif same_guards "$T/guards.table" "$RULE_SRC"; then
		agree=yes
		e2e_ok "guard table: the rule file holds its $ntab guard lines, in its order, and no other guard"
	else
		e2e_notok "guard table and rule file differ (< table only, > rule file only): $(diff "$T/guards.table" "$T/guards.file" | grep '^[<>]' | tr '\n' ' ')"
	fi
	# after IMPORT{program} nothing is matched any more
	if awk '/IMPORT\{program\}/ { p = 1; next } p && !/^[ \t]*#/ && /(==|!=)/ { bad = 1 } END { exit !bad }' "$RULE_SRC"; then
		e2e_notok "guard table: a match line after IMPORT{program}"
	else
		e2e_ok "guard table: every guard comes before IMPORT{program}"
	fi

	# the comparison itself: dropping any one rule from either side must fail it
	# (shown on the agreeing pair only)
	[ "$agree" = yes ] || ntab=0
	missed=""
	i=0
	while [ "$i" -lt "$ntab" ]; do
		i=$((i + 1))
		line=$(sed -n "${i}p" "$T/guards.table")
		# from the rule file
		grep -v -x -F -- "$line" "$RULE_SRC" >"$T/mut.rules"
		if same_guards "$T/guards.table" "$T/mut.rules"; then
			missed="$missed file-$i"
		fi
		# from the table
		sed "${i}d" "$T/guards.table" >"$T/mut.table"
		if same_guards "$T/mut.table" "$RULE_SRC"; then
			missed="$missed table-$i"
		fi
	done
	# two guards swapped: the order counts
	{ sed -n 2p "$T/guards.table"; sed -n 1p "$T/guards.table"; sed 1,2d "$T/guards.table"; } >"$T/mut.table"
	if [ "$ntab" -gt 0 ] && same_guards "$T/mut.table" "$RULE_SRC"; then
		missed="$missed swap-1-2"
	fi
	if [ "$agree" != yes ]; then
		:
	elif [ -z "$missed" ]; then
		e2e_ok "guard table: each of the $ntab rules removed from the file or from the table, and a swap, is caught"
	else
		e2e_notok "guard table: the comparison misses:$missed"
	fi
fi

# ------------------------------------------------------ 6. other policy

FORBID='OPTIONS[^,]*watch|SYSTEMD_READY|(^|[ :,])(SYMLINK|OWNER|GROUP|MODE|RUN|NAME)(\{[^}]*\})?(=|\+=|:=)'
if grep -E -q "$FORBID" "$T/lines"; then
	e2e_notok "policy: the rule sets watch/SYMLINK/OWNER/GROUP/MODE/RUN/SYSTEMD_READY/NAME: $(grep -E "$FORBID" "$T/lines" | tr '\n' ' ')"
else
	e2e_ok "policy: no watch, SYMLINK, OWNER, GROUP, MODE, RUN, SYSTEMD_READY or NAME"
fi
if grep -E 'ENV\{[^}]*\}(=|\+=|:=)"' "$T/lines" | grep -v -q 'ENV{ID_IMAGE_'; then
	e2e_notok "policy: the rule assigns a property outside ID_IMAGE_*"
else
	e2e_ok "policy: the rule assigns no property outside ID_IMAGE_*"
fi

# IMPORT{db} list = the names out-udev.c prints
sed -n 's/.*IMPORT{db}="\([^"]*\)".*/\1/p' "$RULE_SRC" | LC_ALL=C sort -u >"$T/db.names"
if [ -r "$OUT_UDEV" ]; then
	grep -o '"ID_IMAGE_[A-Z0-9_]*"' "$OUT_UDEV" | tr -d '"' |
		LC_ALL=C sort -u >"$T/src.names"
	if cmp -s "$T/db.names" "$T/src.names"; then
		e2e_ok "policy: IMPORT{db} list = the $(wc -l <"$T/src.names") ID_IMAGE_* names of out-udev.c"
	else
		e2e_notok "policy: IMPORT{db} list differs from out-udev.c (< source only, > rule only): $(diff "$T/src.names" "$T/db.names" | grep '^[<>]' | tr '\n' ' ')"
	fi
else
	echo "# $OUT_UDEV not readable: IMPORT{db} list not compared"
fi
db_from=$(p_line 'IMPORT\{db\}')
lab_at=$(p_line 'LABEL="imgscan_import_db"')
if [ -n "$db_from" ] && [ -n "$lab_at" ] && [ "$db_from" -gt "$lab_at" ]; then
	e2e_ok "policy: IMPORT{db} lines follow LABEL=\"imgscan_import_db\""
else
	e2e_notok "policy: IMPORT{db} lines not after LABEL=\"imgscan_import_db\""
fi

e2e_summary
