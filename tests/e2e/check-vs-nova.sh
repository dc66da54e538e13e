#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/check-vs-nova.sh -- imgscan --check beside OpenStack Nova's
# format_inspector (nova/image/format_inspector.py, Debian 12's python3-nova:
# detect_file_format(path), then .safety_check()) on the images of
# check-images.sh, with imgscan's default policy.
#
# Writes the table image | imgscan verdict | inspector verdict (into the log),
# and checks it against the table in docs/safety.md:
#   - every row of the run is in docs/safety.md with the same two verdicts
#     (the document is the measured table, not a wish);
#   - an image the inspector rejects (unsafe, or an error) that imgscan calls
#     safe fails the test unless its row in docs/safety.md gives the reason
#     (fourth column non-empty).
#
# The inspector is found at $NOVA_INSPECTOR, in the installed python3-nova,
# or where tools/deps.sh unpacks it (apt-get download python3-nova; dpkg -x
# into /var/cache/imgscan-tests/nova); it runs with /usr/bin/python3 and
# python3-oslo.log, python3-oslo.utils.  Skips (77) when any is missing.
. "${top_srcdir:-.}/tests/e2e/lib.sh"
. "${top_srcdir:-.}/tests/e2e/check-images.sh"

PY=/usr/bin/python3
DOC=${top_srcdir:-.}/docs/safety.md
e2e_need_cmd qemu-img jq xorriso mkudffs od dd truncate
[ -x "$PY" ] || e2e_skip "$PY not installed"
for f in "${NOVA_INSPECTOR:-}" \
		/usr/lib/python3/dist-packages/nova/image/format_inspector.py \
		/var/cache/imgscan-tests/nova/usr/lib/python3/dist-packages/nova/image/format_inspector.py; do
	if [ -n "$f" ] && [ -r "$f" ]; then
		INSPECTOR=$f
		break
	fi
done
[ -n "${INSPECTOR:-}" ] || e2e_skip "nova's format_inspector.py not found (tools/deps.sh unpacks python3-nova)"
"$PY" -c 'import oslo_log, oslo_utils' 2>/dev/null ||
	e2e_skip "python3-oslo.log or python3-oslo.utils not installed"
[ -r "$DOC" ] || e2e_skip "docs/safety.md not found"
# the package root: .../dist-packages (nova/image/format_inspector.py below it)
NOVA_ROOT=$(dirname "$(dirname "$(dirname "$INSPECTOR")")")

e2e_init
T=$E2E_TMP
FIXTURES=${FIXTURES:-${top_srcdir:-.}/fixtures}
mkdir "$T/img"
if ! ci_build "$T/img" 2>"$T/build.err"; then
	e2e_notok "making the images failed: $(head -c 400 "$T/build.err")"
	e2e_summary
fi

# images judged with the default policy (the inspector has no policy)
grep '|-|' "$T/img/MANIFEST" | cut -d'|' -f1 >"$T/names"

# the inspector's verdict, one line per image: NAME<TAB>VERDICT
cat >"$T/nova_verdict.py" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
from nova.image import format_inspector as fi
for path in sys.argv[2:]:
    try:
        insp = fi.detect_file_format(path)
        try:
            ok = insp.safety_check()
            verdict = '%s: %s' % (insp, 'safe' if ok else 'unsafe')
        except fi.ImageFormatError as e:
            verdict = '%s: unsafe (%s)' % (insp, e)
    except fi.ImageFormatError as e:
        verdict = 'rejected (%s)' % e
    print('%s\t%s' % (path, verdict.replace('|', '/')))
EOF
(cd "$T/img" && xargs "$PY" "$T/nova_verdict.py" "$NOVA_ROOT" <"$T/names" >"$T/nova" 2>"$T/nova.err")
[ -s "$T/nova" ] || {
	e2e_notok "the inspector did not run: $(head -c 400 "$T/nova.err")"
	e2e_summary
}

# the table, and the checks against docs/safety.md
echo "# | image | imgscan | nova format_inspector |"
while read -r name; do
	(cd "$T/img" && "$IMGSCAN" --check -P -o FAILED "$name") >"$T/p" 2>/dev/null
	failed=$(sed -n 's/^FAILED="\(.*\)"$/\1/p' "$T/p")
	if [ -n "$failed" ]; then
		mine="unsafe: $failed"
	else
		mine=safe
	fi
	nova=$(awk -F '\t' -v n="$name" '$1 == n { print $2 }' "$T/nova")
	echo "# | \`$name\` | $mine | $nova |"
	row=$(grep -F "| \`$name\` |" "$DOC" | head -n 1)
	if [ -z "$row" ]; then
		e2e_notok "$name: no row in docs/safety.md (| \`$name\` | $mine | $nova | why |)"
		continue
	fi
	doc_mine=$(printf '%s\n' "$row" | awk -F '|' '{ gsub(/^ +| +$/, "", $3); print $3 }')
	doc_nova=$(printf '%s\n' "$row" | awk -F '|' '{ gsub(/^ +| +$/, "", $4); print $4 }')
	why=$(printf '%s\n' "$row" | awk -F '|' '{ gsub(/^ +| +$/, "", $5); print $5 }')
	e2e_check "$name: imgscan verdict as docs/safety.md says" "$mine" "$doc_mine" docs/safety.md
	e2e_check "$name: inspector verdict as docs/safety.md says" "$nova" "$doc_nova" docs/safety.md
	case $nova in
	*": safe") ;;
	*)
		if [ "$mine" = safe ] && [ -z "$why" ]; then
			e2e_notok "$name: imgscan passes what the inspector rejects ($nova), and docs/safety.md gives no reason"
		else
			e2e_ok "$name: no undocumented pass of an image the inspector rejects"
		fi
		;;
	esac
done <"$T/names"

e2e_summary
