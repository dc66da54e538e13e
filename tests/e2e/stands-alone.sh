#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/stands-alone.sh -- the project stands alone: no file cites
# material outside the repository.  What the code relies on is written in
# docs/formats.md, docs/security.md and docs/udev.md with its public
# sources, and comments cite those ("docs/security.md, rule 3",
# 'docs/formats.md, "vpc"').  Flagged, with file:line:
#
#   - paths of a build machine or of research notes kept beside a checkout
#     (the shared reference directory, reached relatively or absolutely);
#   - the file names of those notes (a bare formats or style note name is
#     allowed only as docs/NAME, the project's own file);
#   - the notes' rule numbers (a capital R and a number, standing alone);
#     the project's rules are "docs/security.md, rule N";
#   - issue numbers of a tracker ("issue" and a number): say what the thing
#     is instead.
#
# Scanned: the text files under $top_srcdir that the project ships or
# keeps (scanner/ tests/ tools/ docs/ doc/ udev/ bench/, the top-level
# README.md NEWS configure.ac Makefile.am autogen.sh, and fixtures/README);
# build directories, test logs and binary files are skipped.  It needs no .git, so it runs from a distcheck tarball.
#
# The checker is first run on a scratch tree with one planted line of each
# kind (each must be flagged, by file and line) and lines it must allow
# (each must not be), so this test cannot pass by matching nothing.  The
# patterns are built from pieces below, so this file does not match itself.

# shellcheck disable=SC1091
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_tmpdir imgscan-e2e

src=${top_srcdir:-.}

# ---- the patterns, from pieces ----------------------------------------------
sh_dir='shar''ed'
p_rel="\\.\\./$sh_dir"                    # the notes reached relatively
p_ref="/$sh_dir/ref""erence"              # the notes' directory
p_work='/wo''rk/'                         # the build machine's tree
n_sec='security''-io'
n_udev='udev''-lvm'
p_notes="($n_sec|$n_udev)\\.md"           # note names never used by the project
p_own="(form""ats|sty""le)\\.md"          # allowed only as docs/NAME
p_rule='(^|[^A-Za-z0-9_])R''(10|[1-9])([^A-Za-z0-9_]|$)'
p_issue='[Ii]ss''ues? #?[0-9]'
STANDALONE_BAD="$p_rel|$p_ref|$p_work|$p_notes|$p_own|$p_rule|$p_issue"
STANDALONE_OWN="docs/$p_own"
export STANDALONE_BAD STANDALONE_OWN

# scan ROOT: print "FILE:LINE: TEXT" (FILE relative to ROOT) for every
# offending line of the text files under ROOT
scan()
(
	cd "$1" || exit 2
	dirs=
	for d in scanner tests tools docs doc udev bench; do
		[ -d "$d" ] && dirs="$dirs $d"
	done
	files=
	for f in README.md NEWS configure.ac Makefile.am autogen.sh fixtures/README; do
		[ -f "$f" ] && files="$files $f"
	done
	# shellcheck disable=SC2086
	{
		[ -n "$dirs" ] && find $dirs \
			\( -name build -o -name '_build' -o -name .deps -o -name .libs -o \
			   -name autom4te.cache -o -name .git \) -prune -o \
			-type f ! -name '*.log' ! -name '*.trs' ! -name '*.o' ! -name '*.a' -print
		for f in $files; do
			echo "$f"
		done
	} | LC_ALL=C sort | while IFS= read -r f; do
		# text files only (grep -I: a file with a NUL byte is binary)
		if LC_ALL=C grep -Iq . "$f" 2>/dev/null; then
			printf '%s\n' "$f"
		fi
	done | {
		n=0
		while IFS= read -r f; do
			LC_ALL=C awk '{
				t = $0
				gsub(ENVIRON["STANDALONE_OWN"], "", t)
				if (t ~ ENVIRON["STANDALONE_BAD"])
					printf "%s:%d: %s\n", FILENAME, FNR, $0
			}' "$f"
			n=$((n + 1))
		done
		echo "$n" >"$E2E_TMP/nfiles"
	}
)

# ---- the checker catches what it must and only that -------------------------
plant=$E2E_TMP/tree
mkdir -p "$plant/scanner/probe" "$plant/tests/e2e" "$plant/docs" "$plant/build/scanner"
{
	echo "/* fine: docs/security.md, rule 3 */"                 # 1
	echo " * as summarised in /wo""rk/x/notes/a.txt"             # 2 bad
	echo " * see ../$sh_dir/notes"                             # 3 bad
	echo " * see $p_ref/x"                                     # 4 bad (literal pieces)
	echo " * follows $n_sec.md"                                # 5 bad
	echo " * follows $n_udev.md"                               # 6 bad
	echo " * follows form""ats.md, section 2"                  # 7 bad
	echo " * fine: docs/form""ats.md, \"vpc\""                 # 8
	echo " * checked (R""4)"                                   # 9 bad
	echo " * rules R""10 apply"                                # 10 bad
	echo " * fine: R""AID, ROUND, qemu-iotest 080, CVE-2014-0144" # 11
	echo " * done in iss""ue 4"                                # 12 bad
	echo " * see Iss""ues #12"                                 # 13 bad
	echo " * fine: the issues of the tracker"                  # 14
	echo " * mixed: docs/form""ats.md and sty""le.md"          # 15 bad
} >"$plant/scanner/probe/fmt-x.c"
printf 'plain line\n# iss''ue 7\n' >"$plant/tests/e2e/x.sh"    # line 2 bad
printf 'fine\n' >"$plant/docs/x.md"
printf '# iss''ue 9\n' >"$plant/NEWS"                         # line 1 bad
printf 'iss''ue 5\n' >"$plant/build/scanner/skipped.c"         # build dir: skipped
printf 'iss''ue 6\n' >"$plant/tests/e2e/x.log"                 # test log: skipped
printf 'a\000b iss''ue 8\n' >"$plant/scanner/binary.bin"       # binary: skipped

scan "$plant" >"$E2E_TMP/planted.out"
got=$(cut -d: -f1,2 "$E2E_TMP/planted.out" | tr '\n' ' ')
want="NEWS:1 scanner/probe/fmt-x.c:2 scanner/probe/fmt-x.c:3 scanner/probe/fmt-x.c:4 \
scanner/probe/fmt-x.c:5 scanner/probe/fmt-x.c:6 scanner/probe/fmt-x.c:7 scanner/probe/fmt-x.c:9 \
scanner/probe/fmt-x.c:10 scanner/probe/fmt-x.c:12 scanner/probe/fmt-x.c:13 \
scanner/probe/fmt-x.c:15 tests/e2e/x.sh:2 "
if [ "$got" = "$want" ]; then
	e2e_ok "planted citations flagged by file:line, allowed lines and skipped files not"
else
	e2e_notok "planted citations: flagged [$got], expected [$want]"
	sed 's/^/    /' "$E2E_TMP/planted.out"
fi

# ---- the project ------------------------------------------------------------
if [ ! -f "$src/scanner/probe/probe.h" ] || [ ! -f "$src/NEWS" ]; then
	e2e_notok "top_srcdir '$src' does not look like the imgscan source tree"
	e2e_summary
fi
scan "$src" >"$E2E_TMP/project.out"
nfiles=$(cat "$E2E_TMP/nfiles" 2>/dev/null)
# a tree this size has hundreds of text files: a scan of a handful missed it
if [ "${nfiles:-0}" -lt 50 ]; then
	e2e_notok "only ${nfiles:-0} files scanned under $src"
else
	e2e_ok "$nfiles text files scanned under $src"
fi
if [ -s "$E2E_TMP/project.out" ]; then
	e2e_notok "citations of material outside the project (cite docs/*.md instead):"
	sed 's/^/    /' "$E2E_TMP/project.out"
else
	e2e_ok "no file cites notes outside the project, a build machine path, or an issue number"
fi

e2e_summary
