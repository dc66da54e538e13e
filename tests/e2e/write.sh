#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# --write FILE: the output replaces FILE in one step (a temporary file beside
# it, renamed), or FILE stays as it was.  Checks: the file holds exactly what
# standard output would; mode 0644; no temporary file left; an existing FILE
# is replaced by a new inode (a reader holding the old one keeps a whole
# document); a directory that does not exist and a write that fails half
# way (RLIMIT_FSIZE, EFBIG) exit 1 with the path in the message and leave
# the old FILE untouched and no temporary file behind.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_need_cmd qemu-img stat cmp
e2e_init
T=$E2E_TMP
mkdir "$T/out"
for i in 1 2 3 4 5 6; do
	qemu-img create -q -f qcow2 -o compat=1.1 "$T/img$i.qcow2" ${i}G || {
		e2e_notok "qemu-img create failed"
		e2e_summary
	}
done
IMGS="$T/img1.qcow2 $T/img2.qcow2 $T/img3.qcow2 $T/img4.qcow2 $T/img5.qcow2 $T/img6.qcow2"
F=$T/out/scan.json

# shellcheck disable=SC2086
"$IMGSCAN" -J $IMGS >"$T/stdout.json"
# shellcheck disable=SC2086
"$IMGSCAN" -J --write "$F" $IMGS
e2e_check "new file: exit status" "$?" 0 expected
e2e_check "new file: what stdout gets" "$(cmp "$F" "$T/stdout.json" 2>&1)" "" expected
e2e_check "new file: mode 0644" "$(stat -c %a "$F")" 644 expected
e2e_check "new file: nothing else in the directory" "$(ls -A "$T/out")" scan.json expected

# shellcheck disable=SC2086
"$IMGSCAN" --prometheus --write "$T/out/m.prom" $IMGS
e2e_check "--prometheus: written" "$(grep -c '^imgscan_image_info{' "$T/out/m.prom")" 6 expected
rm -f "$T/out/m.prom"

ino=$(stat -c %i "$F")
"$IMGSCAN" -J --write "$F" "$T/img1.qcow2"
e2e_check "replace: exit status" "$?" 0 expected
e2e_check "replace: a new inode (renamed over)" "$([ "$(stat -c %i "$F")" != "$ino" ] && echo new)" new expected
e2e_check "replace: the new document" "$(grep -c '"path"' "$F")" 1 expected
cp "$F" "$T/old.json"

"$IMGSCAN" -J --write "$T/nowhere/scan.json" "$T/img1.qcow2" 2>"$T/err"
e2e_check "no directory: exit status 1" "$?" 1 expected
e2e_check "no directory: the message names the file" \
	"$(grep -c "^imgscan: --write $T/nowhere/scan.json: cannot create a temporary file" "$T/err")" 1 expected

# a write that fails half way: the file size limit (EFBIG, SIGXFSZ ignored)
# shellcheck disable=SC2086
(trap '' XFSZ; ulimit -f 2 && exec "$IMGSCAN" -J --write "$F" $IMGS) 2>"$T/err"
e2e_check "write error: exit status 1" "$?" 1 expected
e2e_check "write error: reported" "$(grep -c 'write error.*is left as it was' "$T/err")" 1 expected
e2e_check "write error: the old file untouched" "$(cmp "$F" "$T/old.json" 2>&1)" "" expected
e2e_check "write error: no temporary file left" "$(ls -A "$T/out")" scan.json expected

"$IMGSCAN" --udev --write "$F" "$T/img1.qcow2" 2>/dev/null
e2e_check "--udev --write: usage error" "$?" 2 expected
e2e_summary
