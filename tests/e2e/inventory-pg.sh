#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# docs/inventory.md's PostgreSQL fleet inventory (the lines between
# <!-- inventory-pg:begin --> and <!-- inventory-pg:end -->), run as written
# against a real PostgreSQL server: a throwaway cluster made by initdb in a
# temporary directory, listening on a Unix socket there only (no TCP), run
# as nobody when the test runs as root, and stopped by the EXIT trap.
#
# Two "hosts" are images made with qemu-img in two directories, each scanned
# with `imgscan --json --write` into snapshots/HOST.json:
#   hosta: base.qcow2, vm1.qcow2 (backing "base.qcow2", relative),
#          orphan.qcow2 (backing /nowhere/gone.qcow2), dirty.qcow2 (dirty
#          bit set), a raw file, and a PATH that does not exist;
#   hostb: shared.qcow2 (backing hosta's base.qcow2 by absolute path: on a
#          scanned host), disk.vmdk, corrupt.qcow2 (corrupt bit set),
#          hostile.qcow2 whose backing name holds 0xff, a newline, a
#          double quote and a backslash.
# An older snapshot of hosta is loaded first: the queries must answer from
# the newest one.  Every query's answer is compared in full.
# Skips (77) without PostgreSQL (Debian: apt-get install postgresql).
. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_need_cmd psql qemu-img sed od dd date
PGBIN=
for d in /usr/lib/postgresql/*/bin; do
	[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && PGBIN=$d
done
[ -n "$PGBIN" ] || e2e_skip "no PostgreSQL server (initdb, pg_ctl): apt-get install postgresql"
doc=${top_srcdir:-.}/docs/inventory.md

PGDATA_DIR=
pg_as()
{
	if [ "$(id -u)" = 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}
pg_stop()
{
	if [ -n "$PGDATA_DIR" ]; then
		pg_as "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w stop >/dev/null 2>&1
		PGDATA_DIR=
	fi
}
e2e_init
E2E_CLEANUP=pg_stop
T=$E2E_TMP
[ -f "$doc" ] || { e2e_notok "docs/inventory.md not found"; e2e_summary; }

# ------------------------------------------------------------- the server
# nobody must reach its directory: the scratch dir is 0700 root otherwise
chmod 0711 "$T"
mkdir "$T/pg" "$T/pg/sock"
[ "$(id -u)" = 0 ] && chown nobody "$T/pg" "$T/pg/sock"
if ! pg_as "$PGBIN/initdb" -D "$T/pg/data" -U imgscan --auth=trust -E UTF8 --locale=C.UTF-8 \
		>"$T/initdb.log" 2>&1; then
	e2e_notok "initdb failed: $(tail -n 5 "$T/initdb.log" | tr '\n' ' ')"
	e2e_summary
fi
PGDATA_DIR=$T/pg/data
if ! pg_as "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -w -t 60 -l "$T/pg/log" \
		-o "-c listen_addresses='' -k $T/pg/sock -c fsync=off" start >/dev/null 2>&1; then
	PGDATA_DIR=
	e2e_notok "pg_ctl start failed: $(tail -n 5 "$T/pg/log" | tr '\n' ' ')"
	e2e_summary
fi
PGHOST=$T/pg/sock PGUSER=imgscan PGDATABASE=postgres
export PGHOST PGUSER PGDATABASE
e2e_check "server answers on its socket" "$(psql -X -At -c 'SELECT 1' 2>&1)" 1 expected

# ------------------------------------------------------------- the images
A=$T/a B=$T/b
mkdir "$A" "$B" "$T/run" "$T/run/snapshots"
qemu-img create -q -f qcow2 "$A/base.qcow2" 1G &&
	(cd "$A" && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 vm1.qcow2) &&
	qemu-img create -q -f qcow2 -u -b /nowhere/gone.qcow2 -F qcow2 "$A/orphan.qcow2" 2G &&
	qemu-img create -q -f qcow2 "$A/dirty.qcow2" 1G &&
	truncate -s 1M "$A/raw.img" &&
	qemu-img create -q -f qcow2 -b "$A/base.qcow2" -F qcow2 "$B/shared.qcow2" &&
	qemu-img create -q -f vmdk "$B/disk.vmdk" 10M &&
	qemu-img create -q -f qcow2 "$B/corrupt.qcow2" 1G &&
	qemu-img create -q -f qcow2 -u -b hostile-XXXX-name.qcow2 -F qcow2 "$B/hostile.qcow2" 1G || {
	e2e_notok "qemu-img create failed"
	e2e_summary
}
# qcow2 v3 incompatible features (offset 72, big-endian): bit 0 dirty, bit 1 corrupt
e2e_byte_or "$A/dirty.qcow2" 79 1
e2e_byte_or "$B/corrupt.qcow2" 79 2
# the backing name's offset: header bytes 8..15, big-endian; "XXXX" starts at 8
off=0
for b in $(od -An -tu1 -j 8 -N 8 "$B/hostile.qcow2"); do
	off=$((off * 256 + b))
done
printf '\377\n"\\' | dd of="$B/hostile.qcow2" bs=1 seek=$((off + 8)) conv=notrunc status=none

S=$T/run/snapshots
"$IMGSCAN" --json --write "$S/hosta.json" "$A/base.qcow2" 2>/dev/null
e2e_check "old hosta snapshot written" "$?" 0 expected
touch -d '2026-01-01 09:00:00Z' "$S/hosta.json"

# ------------------------------------------------------------ the example
sed -n '/<!-- inventory-pg:begin -->/,/<!-- inventory-pg:end -->/p' "$doc" |
	sed '1,2d;$d' | sed '$d' >"$T/block.sh"
e2e_check "example found in docs/inventory.md" "$(grep -c "jsonb_array_elements(replace(:'snap'" "$T/block.sh")" 1 expected
# the example as written, its psql printing unaligned rows without headings
{
	printf '%s\n' 'psql() { command psql -A -t "$@"; }'
	cat "$T/block.sh"
} >"$T/example.sh"
run_example()
{
	(cd "$T/run" && sh -e "$T/example.sh") >"$T/out" 2>"$T/err"
}

run_example
e2e_check "old snapshot: exit status" "$?" 0 expected
e2e_check "old snapshot: no error output" "$(head -c 300 "$T/err")" "" expected
e2e_check "old snapshot: one image per format" "$(cat "$T/out")" "hosta|qcow2|1|1073741824" expected

"$IMGSCAN" --json --check --write "$S/hosta.json" "$A/base.qcow2" "$A/vm1.qcow2" "$A/orphan.qcow2" \
	"$A/dirty.qcow2" "$A/raw.img" "$A/missing.qcow2" 2>/dev/null
e2e_check "hosta snapshot: exit status 1 (a PATH is missing)" "$?" 1 expected
"$IMGSCAN" --json --check --write "$S/hostb.json" "$B/shared.qcow2" "$B/disk.vmdk" \
	"$B/corrupt.qcow2" "$B/hostile.qcow2" 2>/dev/null
e2e_check "hostb snapshot written (3: an overlay fails backing-file)" "$?" 3 expected
e2e_check "hostb snapshot: the hostile name in JSON" \
	"$(grep -cF "\"backing-filename\": \"hostile-$(printf '\357\277\275')\\n\\\"\\\\-name.qcow2\"" \
		"$S/hostb.json")" 1 expected
touch -d '2026-01-01 10:00:00Z' "$S/hosta.json"
touch -d '2026-01-01 10:05:00Z' "$S/hostb.json"

run_example
e2e_check "two hosts: exit status" "$?" 0 expected
e2e_check "two hosts: no error output" "$(head -c 300 "$T/err")" "" expected
nl='
'
want="hosta|qcow2|4|5368709120
hostb|qcow2|3|3221225472
hostb|vmdk|1|10485760
hosta|$A/orphan.qcow2|/nowhere/gone.qcow2
hostb|$B/hostile.qcow2|hostile-$(printf '\357\277\275')${nl}\"\\-name.qcow2
hosta|$A/dirty.qcow2|qcow2|t|f||
hosta|$A/orphan.qcow2|qcow2|f|f||backing-file
hosta|$A/vm1.qcow2|qcow2|f|f||backing-file
hostb|$B/corrupt.qcow2|qcow2|f|t||
hostb|$B/hostile.qcow2|qcow2|f|f||backing-file
hostb|$B/shared.qcow2|qcow2|f|f||backing-file
hosta|$A/missing.qcow2|No such file or directory"
e2e_check "two hosts: every query's answer" "$(cat "$T/out")" "$want" expected
if [ "$(cat "$T/out")" != "$want" ]; then
	printf '# got:\n%s\n# wanted:\n%s\n' "$(cat "$T/out")" "$want" | sed 's/^/# /'
fi

q()
{
	psql -X -At -v ON_ERROR_STOP=1 -c "$1" 2>&1
}
e2e_check "table: the old snapshot and both new ones" "$(q 'SELECT count(*) FROM image')" 11 expected
e2e_check "latest: newest snapshot per host" \
	"$(q "SELECT host || ' ' || count(*) || ' ' || min(scanned_at) FROM latest GROUP BY host ORDER BY host" | tr '\n' ';')" \
	"hosta 6 2026-01-01 10:00:00+00;hostb 4 2026-01-01 10:05:00+00;" expected
e2e_check "jsonb: the relative backing name as written" \
	"$(q "SELECT image ->> 'backing-filename' FROM latest WHERE path = '$A/vm1.qcow2'")" base.qcow2 expected
e2e_check "jsonb: the raw volume is there, with its size" \
	"$(q "SELECT image ->> 'format' || ' ' || (image ->> 'size') FROM latest WHERE path = '$A/raw.img'")" \
	"raw 1048576" expected

# loading the same files again adds nothing
run_example
e2e_check "reload: exit status" "$?" 0 expected
e2e_check "reload: same answers" "$(cat "$T/out")" "$want" expected
e2e_check "reload: no row added" "$(q 'SELECT count(*) FROM image')" 11 expected

[ -n "$KEEP" ] || # a NUL byte in a header name is \u0000 in imgscan's JSON, which jsonb
# refuses: the loader makes it U+FFFD (a snapshot of its own, in a database
# of its own)
q 'CREATE DATABASE nul' >/dev/null
mkdir "$T/run2" "$T/run2/snapshots"
sed 's/"hostile-/"hostile-\\u0000/' "$S/hostb.json" >"$T/run2/snapshots/hostc.json"
e2e_check "hostc snapshot holds \\u0000" "$(grep -c 'hostile-\\u0000' "$T/run2/snapshots/hostc.json")" 1 expected
(cd "$T/run2" && PGDATABASE=nul sh -e "$T/example.sh") >"$T/out2" 2>"$T/err2"
e2e_check "NUL: exit status" "$?" 0 expected
e2e_check "NUL: no error output" "$(head -c 300 "$T/err2")" "" expected
e2e_check "NUL: loaded as U+FFFD" \
	"$(PGDATABASE=nul q "SELECT count(*) FROM image WHERE image ->> 'backing-filename' LIKE 'hostile-' || chr(65533) || chr(65533) || '%'")" \
	1 expected

pg_stop
e2e_check "server stopped" "$(ls "$T/pg/sock" | grep -c '^\.s\.PGSQL' ; ls -a "$T/pg/sock" | grep -c '\.s\.PGSQL')" "0${nl}0" expected
e2e_summary
