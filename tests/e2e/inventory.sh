#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The README's "Inventory" example, run exactly as written (the lines
# between <!-- inventory:begin --> and <!-- inventory:end -->), with sqlite3.
# Its first command scans every block device; here `imgscan` on PATH is a
# wrapper that runs the built binary on three images made with qemu-img
# (a base, an overlay, an orphan overlay) instead, so the results are known.
# Skips (77) without sqlite3 (Debian: apt-get install sqlite3).
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_need_cmd sqlite3 qemu-img sed
e2e_init
T=$E2E_TMP
readme=${top_srcdir:-.}/README.md
[ -f "$readme" ] || { e2e_notok "README.md not found"; e2e_summary; }

mkdir -p "$T/images" "$T/bin" "$T/run"
qemu-img create -q -f qcow2 "$T/images/base.qcow2" 1G
qemu-img create -q -f qcow2 -b "$T/images/base.qcow2" -F qcow2 "$T/images/vm1.qcow2"
qemu-img create -q -u -f qcow2 -b "$T/gone.qcow2" -F qcow2 "$T/images/vm2.qcow2" 2G
cat >"$T/bin/imgscan" <<WRAP
#!/bin/sh
exec "$IMGSCAN" "\$@" "$T/images/base.qcow2" "$T/images/vm1.qcow2" "$T/images/vm2.qcow2"
WRAP
chmod +x "$T/bin/imgscan"

sed -n '/<!-- inventory:begin -->/,/<!-- inventory:end -->/p' "$readme" |
	sed '1,2d;$d' | sed '$d' >"$T/example.sh"
e2e_check "example found in README.md" "$(grep -c 'json_each' "$T/example.sh")" 1 expected

(cd "$T/run" && PATH="$T/bin:$PATH" sh -e "$T/example.sh") >"$T/out" 2>"$T/err"
e2e_check "example: exit status" "$?" 0 expected
e2e_check "example: no error output" "$(head -c 300 "$T/err")" "" expected
e2e_check "example: images per format" "$(sed -n 1p "$T/out")" "qcow2|3|4294967296" expected
e2e_check "example: the orphan overlay" "$(sed -n 2p "$T/out")" "$T/images/vm2.qcow2|$T/gone.qcow2" expected
e2e_check "example: nothing else" "$(wc -l <"$T/out" | tr -d ' ')" 2 expected

db=$T/run/inventory.db
e2e_check "inventory: rows" "$(sqlite3 "$db" 'SELECT count(*) FROM image')" 3 expected
e2e_check "inventory: overlay's backing" \
	"$(sqlite3 "$db" "SELECT backing || ' ' || backing_format FROM image WHERE path LIKE '%vm1.qcow2'")" \
	"$T/images/base.qcow2 qcow2" expected
e2e_check "inventory: dirty is 0/1" "$(sqlite3 "$db" 'SELECT group_concat(DISTINCT dirty) FROM image')" 0 expected
# a second run appends a snapshot
(cd "$T/run" && PATH="$T/bin:$PATH" sh -e "$T/example.sh") >/dev/null 2>&1
e2e_check "inventory: a second run appends" "$(sqlite3 "$db" 'SELECT count(*) FROM image')" 6 expected

e2e_summary
