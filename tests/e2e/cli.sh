#!/bin/sh
# The command line: exit codes, error messages that name the path and the
# cause, one bad PATH never stopping the others, --offset, and the outputs'
# basic shape.
set -u
. "${top_srcdir:-.}/tests/e2e/lib.sh"
pass=0 fail=0
skip() { echo "SKIP: $*"; exit 77; }
check_eq() { # NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then pass=$((pass + 1)); echo "ok - $1"
	else fail=$((fail + 1)); echo "not ok - $1: expected '$2', got '$3'"; fi
}
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

command -v qemu-img >/dev/null 2>&1 || skip "qemu-img not installed (Debian: qemu-utils)"
command -v jq >/dev/null 2>&1 || skip "jq not installed"

T=$(mktemp -d "${TMPDIR:-/tmp}/imgscan-cli.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
qemu-img create -q -f qcow2 "$T/a.qcow2" 64M
qemu-img create -q -f raw "$T/r.raw" 1M
mkfifo "$T/fifo"

# usage errors: exit 2
"$IMGSCAN" --vg vg0 "$T/a.qcow2" >/dev/null 2>&1; check_eq "--vg with a PATH: exit 2" 2 $?
"$IMGSCAN" --jobs 0 "$T/a.qcow2" >/dev/null 2>&1; check_eq "--jobs 0: exit 2" 2 $?
"$IMGSCAN" --timeout 86401 "$T/a.qcow2" >/dev/null 2>&1; check_eq "--timeout 86401: exit 2" 2 $?
"$IMGSCAN" --timeout 1.5 "$T/a.qcow2" >/dev/null 2>&1; check_eq "--timeout 1.5: exit 2" 2 $?
"$IMGSCAN" --udev --timeout 5 "$T/a.qcow2" >/dev/null 2>&1; check_eq "--timeout with --udev: exit 2" 2 $?
"$IMGSCAN" --monitor --timeout 5 >/dev/null 2>&1; check_eq "--timeout with --monitor: exit 2" 2 $?
for to in 0 1 86400; do
	"$IMGSCAN" --json --timeout $to "$T/a.qcow2" "$T/r.raw" >"$T/to.json" 2>/dev/null
	check_eq "--timeout $to: exit 0" 0 $?
	check_eq "--timeout $to: both answers" "qcow2 raw" "$(jq -r '[.images[].format] | join(" ")' "$T/to.json")"
done
"$IMGSCAN" --udev "$T/a.qcow2" "$T/r.raw" >/dev/null 2>&1; check_eq "--udev with two PATHs: exit 2" 2 $?
"$IMGSCAN" --offset -5 "$T/a.qcow2" >/dev/null 2>&1; check_eq "negative --offset: exit 2" 2 $?
"$IMGSCAN" --offset 12x "$T/a.qcow2" >/dev/null 2>&1; check_eq "bad --offset: exit 2" 2 $?
"$IMGSCAN" --bogus >/dev/null 2>&1; check_eq "unknown option: exit 2" 2 $?
"$IMGSCAN" --help >"$T/help" 2>&1; check_eq "--help: exit 0" 0 $?
grep -q 'Exit status' "$T/help"; check_eq "--help documents exit codes" 0 $?
"$IMGSCAN" --version | grep -q '^imgscan [0-9]'; check_eq "--version" 0 $?

# errors name the path and the cause; the other PATHs are still reported
"$IMGSCAN" --json "$T/a.qcow2" "$T/missing" "$T" "$T/fifo" "$T/r.raw" >"$T/out.json" 2>"$T/err"
check_eq "a failed PATH: exit 1" 1 $?
check_eq "missing: message" 1 "$(grep -c "$T/missing: cannot open: No such file or directory" "$T/err")"
check_eq "directory: message" 1 "$(grep -c "$T: cannot open: not a regular file or block device" "$T/err")"
check_eq "fifo: message (and no hang)" 1 "$(grep -c "$T/fifo: cannot open: not a regular file or block device" "$T/err")"
check_eq "json: one object per PATH" 5 "$(jq '.images | length' "$T/out.json")"
check_eq "json: order kept" "qcow2,,,,raw" "$(jq -r '[.images[] | .format // ""] | join(",")' "$T/out.json")"
check_eq "json: error object" "No such file or directory" "$(jq -r '.images[1].error' "$T/out.json")"
check_eq "json: path" "$T/missing" "$(jq -r '.images[1].path' "$T/out.json")"

# permission errors, as an unprivileged user
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null 2>&1; then
	cp "$T/a.qcow2" "$T/secret.qcow2"
	chmod 0600 "$T/secret.qcow2"
	chmod 0755 "$T"
	e2e_nobody_copy "$T/imgscan-copy"
	runuser -u nobody -- "$T/imgscan-copy" "$T/secret.qcow2" "$T/r.raw" >/dev/null 2>"$T/err"
	check_eq "permission denied: exit 1" 1 $?
	check_eq "permission denied: message" 1 \
		"$(grep -c "$T/secret.qcow2: cannot open: Permission denied" "$T/err")"
	check_eq "permission denied: what to do" 1 "$(grep -c '(run as root; ' "$T/err")"
else
	echo "ok - permission test skipped (needs root and runuser)"
fi

# --udev: nothing for raw, KEY=value for an image
out=$("$IMGSCAN" --udev "$T/r.raw"); rc=$?
check_eq "--udev raw: exit 0" 0 $rc
check_eq "--udev raw: prints nothing" "" "$out"
"$IMGSCAN" --udev "$T/a.qcow2" >"$T/udev"
check_eq "--udev qcow2: format" "ID_IMAGE_FORMAT=qcow2" "$(grep '^ID_IMAGE_FORMAT=' "$T/udev")"
check_eq "--udev: only ID_IMAGE_ keys" 0 "$(grep -vc '^ID_IMAGE_[A-Z_]*=' "$T/udev")"

# --udev from a udev rule: blkid's verdict in the environment is trusted.  An
# ISO 9660 carrying a qcow2 header is ambiguous; under udev, with no
# ID_FS_TYPE (blkid found no filesystem), the ISO block is not read at all
cp "$FIXTURES/iso-qcow2-polyglot.head" "$T/poly.iso"
truncate -s "$(cat "$FIXTURES/iso-qcow2-polyglot.size")" "$T/poly.iso"
check_eq "--udev polyglot: only ID_IMAGE_AMBIGUOUS" "ID_IMAGE_AMBIGUOUS=qcow2,iso" \
	"$("$IMGSCAN" --udev "$T/poly.iso")"
check_eq "--udev under udev, ID_FS_TYPE=iso9660: ambiguous" "ID_IMAGE_AMBIGUOUS=qcow2,iso" \
	"$(env SUBSYSTEM=block DEVPATH=/devices/virtual/block/loop9 ID_FS_TYPE=iso9660 \
		"$IMGSCAN" --udev "$T/poly.iso")"
check_eq "--udev under udev, no ID_FS_TYPE: the ISO signature is not looked for" qcow2 \
	"$(env SUBSYSTEM=block DEVPATH=/devices/virtual/block/loop9 "$IMGSCAN" --udev "$T/poly.iso" |
		sed -n 's/^ID_IMAGE_FORMAT=//p')"

# a qcow2 whose last 512 bytes are a fixed VHD's footer (a guest can write
# it): the footer never hides the header at the start, and is listed
qemu-img create -q -f vpc -o subformat=fixed,force_size=on "$T/fixed.vhd" 8M
qemu-img create -q -f qcow2 -u -b base.qcow2 -F qcow2 "$T/foot.qcow2" 32M
truncate -s 8M "$T/foot.qcow2"
tail -c 512 "$T/fixed.vhd" >>"$T/foot.qcow2"
"$IMGSCAN" --udev "$T/foot.qcow2" >"$T/foot.udev"
check_eq "--udev qcow2 + VHD footer: the qcow2 stands" "ID_IMAGE_FORMAT=qcow2" \
	"$(grep '^ID_IMAGE_FORMAT=' "$T/foot.udev")"
check_eq "--udev qcow2 + VHD footer: its backing file" "ID_IMAGE_BACKING_FILE=base.qcow2" \
	"$(grep '^ID_IMAGE_BACKING_FILE=' "$T/foot.udev")"
check_eq "--udev qcow2 + VHD footer: both candidates" "ID_IMAGE_AMBIGUOUS=qcow2,vpc" \
	"$(grep '^ID_IMAGE_AMBIGUOUS=' "$T/foot.udev")"
check_eq "--json qcow2 + VHD footer: format, virtual size, ambiguous" \
	'qcow2 33554432 ["qcow2","vpc"]' \
	"$("$IMGSCAN" --json "$T/foot.qcow2" |
		jq -r '.images[0] | "\(.format) \(."virtual-size") \(.ambiguous | tojson)"')"
check_eq "table qcow2 + VHD footer: FORMAT, FEATURES" 'FORMAT="qcow2" FEATURES="ambiguous"' \
	"$("$IMGSCAN" -P -o FORMAT,FEATURES "$T/foot.qcow2")"
# and the first read is one 4 KiB block instead of 36 KiB (qcow2: head + tail)
reads_bytes() { sed -n 's/.*: \([0-9]*\) read(s), \([0-9]*\) bytes.*/\1 \2/p'; }
check_eq "--udev under udev, no ID_FS_TYPE: 2 reads, under 16 KiB" "2 yes" \
	"$(env SUBSYSTEM=block DEVPATH=/devices/virtual/block/loop9 "$IMGSCAN" -v --udev "$T/a.qcow2" 2>&1 >/dev/null |
		reads_bytes | awk '{ print $1, ($2 < 16384 ? "yes" : "no") }')"
check_eq "--udev outside udev: 2 reads, the first holding the ISO 9660 block" "2 yes" \
	"$("$IMGSCAN" -v --udev "$T/a.qcow2" 2>&1 >/dev/null | reads_bytes |
		awk '{ print $1, ($2 >= 36864 ? "yes" : "no") }')"
check_eq "--udev under udev, DM_UDEV_DISABLE_OTHER_RULES_FLAG=1: nothing" "" \
	"$(env SUBSYSTEM=block DEVPATH=/x DM_UDEV_DISABLE_OTHER_RULES_FLAG=1 "$IMGSCAN" --udev "$T/a.qcow2")"

# --offset: an image that starts at an unaligned offset inside a bigger file
dd if=/dev/urandom of="$T/outer" bs=12345 count=1 2>/dev/null
cat "$T/a.qcow2" >>"$T/outer"
check_eq "--offset: found" qcow2 "$("$IMGSCAN" --json --offset 12345 "$T/outer" | jq -r '.images[0].format')"
check_eq "--offset: recorded" 12345 "$("$IMGSCAN" --json --offset 12345 "$T/outer" | jq -r '.images[0].offset')"
check_eq "--offset: udev" "ID_IMAGE_OFFSET=12345" "$("$IMGSCAN" --udev --offset 12345 "$T/outer" | grep OFFSET)"
check_eq "--offset 0 on the outer file: raw" raw "$("$IMGSCAN" --json "$T/outer" | jq -r '.images[0].format')"
"$IMGSCAN" --offset 999999999 "$T/a.qcow2" >/dev/null 2>"$T/err"; check_eq "--offset past the end: exit 1" 1 $?
grep -q 'check --offset' "$T/err"; check_eq "--offset past the end: hint" 0 $?

# --jobs: many PATHs probed at once, output in input order
i=0; set --
while [ $i -lt 40 ]; do
	if [ $((i % 3)) = 0 ]; then set -- "$@" "$T/r.raw"; else set -- "$@" "$T/a.qcow2"; fi
	i=$((i + 1))
done
"$IMGSCAN" --json -j 1 "$@" | jq -c '[.images[] | .format]' >"$T/j1"
"$IMGSCAN" --json -j 8 "$@" | jq -c '[.images[] | .format]' >"$T/j8"
check_eq "--jobs 8: same answers in the same order as -j 1" "$(cat "$T/j1")" "$(cat "$T/j8")"
check_eq "--jobs: 40 objects" 40 "$(jq 'length' "$T/j8")"
# more targets than the window of slots (2 x jobs x 16), a missing one among
# them: every job count gives the same paths, answers and errors in order
qemu-img create -q -f vpc "$T/v.vhd" 64M
i=0; set --
while [ $i -lt 300 ]; do
	case $((i % 7)) in
	0) set -- "$@" "$T/r.raw" ;;
	3) set -- "$@" "$T/v.vhd" ;;
	5) [ $i = 40 ] && set -- "$@" "$T/missing-$i" || set -- "$@" "$T/a.qcow2" ;;
	*) set -- "$@" "$T/a.qcow2" ;;
	esac
	i=$((i + 1))
done
"$IMGSCAN" --json -j 1 "$@" 2>"$T/j1.err" | jq -c '.images[] | [.path, .format]' >"$T/w1"
for j in 2 3 8 64; do
	"$IMGSCAN" --json -j $j "$@" 2>"$T/j$j.err" | jq -c '.images[] | [.path, .format]' >"$T/w$j"
	check_eq "--jobs $j, 300 targets: same paths and answers in the same order as -j 1" \
		"$(cksum <"$T/w1")" "$(cksum <"$T/w$j")"
	check_eq "--jobs $j: the missing target reported once" 1 "$(grep -c 'missing-40' "$T/j$j.err")"
done
check_eq "300 targets: 300 objects" 300 "$(wc -l <"$T/w1")"
check_eq "300 targets: input order" "$(printf '%s\n' "$@" | sed -n 41p)" "$(sed -n '41s/^\["\([^"]*\)".*/\1/p' "$T/w1")"

# a bulk scan stopped and continued again and again (^Z, fg): a signal cuts
# the workers' io_uring waits short, which must not give their reads up (a
# ring given up while reads were in flight once freed sources still in use)
mkdir "$T/many"
i=0
while [ $i -lt 2000 ]; do
	case $((i % 3)) in 0) f=a.qcow2 ;; 1) f=v.vhd ;; *) f=r.raw ;; esac
	ln "$T/$f" "$T/many/$i-$f"
	i=$((i + 1))
done
"$IMGSCAN" --json "$T"/many/* >"$T/calm.json"
"$IMGSCAN" -v --json "$T"/many/* >"$T/stopped.json" 2>"$T/stopped.err" &
pid=$!
k=0
while [ $k -lt 1000 ] && kill -STOP $pid 2>/dev/null; do
	sleep 0.003
	kill -CONT $pid 2>/dev/null
	sleep 0.005
	k=$((k + 1))
done
kill -CONT $pid 2>/dev/null
wait $pid
check_eq "scan stopped and continued $k times: exit 0" 0 $?
check_eq "scan stopped and continued: the same output as undisturbed" \
	"$(cksum <"$T/calm.json")" "$(cksum <"$T/stopped.json")"
check_eq "scan stopped and continued: no io_uring wait given up" "" \
	"$(grep 'io_uring' "$T/stopped.err")"
# a small stack limit (64 KiB: /bin/true, ls and qemu-img info run in it):
# no result of ~72 KiB on the stack any more (not under ASan, whose frames
# are larger by design)
if grep -q __asan_init "$IMGSCAN"; then
	echo "ok - ulimit -s 64: not checked on an ASan build"
elif command -v prlimit >/dev/null 2>&1; then
	prlimit --stack=65536 "$IMGSCAN" --udev "$T/a.qcow2" >/dev/null 2>&1
	check_eq "ulimit -s 64: --udev runs" 0 $?
	# 100 targets: execve allows 128 KiB of arguments under this limit
	"$IMGSCAN" --json "$T"/many/1[0-9][0-9]-* >"$T/calm100.json" 2>/dev/null
	prlimit --stack=65536 "$IMGSCAN" --json "$T"/many/1[0-9][0-9]-* >"$T/smallstack.json" 2>/dev/null
	check_eq "ulimit -s 64: a bulk scan runs" 0 $?
	check_eq "ulimit -s 64: the same output as with the usual limit" \
		"$(cksum <"$T/calm100.json")" "$(cksum <"$T/smallstack.json")"
fi
# a low open-file limit: fewer volumes at once, none failing with EMFILE
for j in 4 64; do
	(ulimit -n 24 && "$IMGSCAN" --json -j $j "$T"/many/* >"$T/lowfd.json" 2>"$T/lowfd.err")
	check_eq "ulimit -n 24, --jobs $j: exit 0" 0 $?
	check_eq "ulimit -n 24, --jobs $j: the same output as with the usual limit" \
		"$(cksum <"$T/calm.json")" "$(cksum <"$T/lowfd.json")"
done

# --stats: I/O counters
check_eq "--stats: reads counted" true \
	"$("$IMGSCAN" --json --stats "$T/a.qcow2" | jq '.images[0].scan.reads >= 1')"

# the table
"$IMGSCAN" "$T/a.qcow2" "$T/r.raw" >"$T/table"; check_eq "table: exit 0" 0 $?
check_eq "table: headings" 1 "$(grep -c '^NAME  *FORMAT' "$T/table")"
check_eq "table: qcow2 row" 1 "$(grep -c "a.qcow2  *qcow2  *3 " "$T/table")"
"$IMGSCAN" -n -b -r "$T/a.qcow2" >"$T/table"
check_eq "table: -n -b -r" "$T/a.qcow2 qcow2 3 67108864 $(stat -c %s "$T/a.qcow2") 65536" \
	"$(cut -d' ' -f1-6 "$T/table")"

# contradictory options: every pair of the table in scanner/main.c (excl_rules)
# is refused with exit 2 and a message that names both.  A row is "A...|B...":
# each A with each B; a row without B is a group, any two of it.  PATH is a
# PATH operand, PATH2 a second one.
excl_rows='--json --pairs --udev --export --prometheus --monitor|
--tree|--json --udev --export --prometheus --monitor --cached
--noheadings --bytes --raw --output --output-all|--json --udev --export --prometheus --monitor --cached
--pairs|--noheadings --raw
--stats|--udev --export --prometheus --cached
--cached|--pairs --udev --prometheus --monitor --offset --deep --no-direct --jobs --timeout --write PATH --check --expect-format --deny-formats --vmdk-types --max-virtual-size --allow
--monitor|PATH --timeout --jobs --vg --lvm --write --check --expect-format --deny-formats --vmdk-types --max-virtual-size --allow
--udev|PATH2 --jobs --deep --timeout --write --vg --lvm
--vg --lvm|PATH'
excl_args() { # OPTION: the words that give it on a command line
	case $1 in
	PATH) echo "$T/a.qcow2" ;;
	PATH2) echo "$T/a.qcow2 $T/r.raw" ;;
	--output) echo "--output NAME" ;;
	--offset) echo "--offset 0" ;;
	--jobs) echo "--jobs 2" ;;
	--timeout) echo "--timeout 5" ;;
	--write) echo "--write $T/excl.out" ;;
	--expect-format) echo "--expect-format raw" ;;
	--deny-formats) echo "--deny-formats qed" ;;
	--vmdk-types) echo "--vmdk-types monolithicSparse" ;;
	--max-virtual-size) echo "--max-virtual-size 1" ;;
	--allow) echo "--allow backing-file" ;;
	--vg) echo "--vg vg0" ;;
	*) echo "$1" ;;
	esac
}
excl_name() { # OPTION: how the message names it
	case $1 in PATH) echo "a PATH" ;; PATH2) echo "a second PATH" ;; *) echo "$1" ;; esac
}
excl_pair() { # A B: refused, exit 2, both named (in either order on the command line)
	for order in "$1 $2" "$2 $1"; do
		set -- $order
		# shellcheck disable=SC2046 # word splitting wanted; no path here has a space
		timeout 20 "$IMGSCAN" $(excl_args "$1") $(excl_args "$2") >/dev/null 2>"$T/excl.err"
		rc=$?
		n1=$(excl_name "$1") n2=$(excl_name "$2")
		if [ $rc -eq 2 ] && grep -qF -- "$n1" "$T/excl.err" && grep -qF -- "$n2" "$T/excl.err" &&
			[ "$(wc -l <"$T/excl.err")" -eq 1 ]; then
			excl_ok=$((excl_ok + 1))
		else
			check_eq "$1 with $2: exit 2, one line naming both" "2: $n1, $n2" "$rc: $(cat "$T/excl.err")"
		fi
	done
	excl_n=$((excl_n + 1))
}
excl_ok=0 excl_n=0
printf '%s\n' "$excl_rows" >"$T/excl.rows"
while IFS='|' read -r a b; do
	if [ -z "$b" ]; then
		set -- $a
		while [ $# -gt 1 ]; do
			x=$1; shift
			for y in "$@"; do excl_pair "$x" "$y"; done
		done
	else
		for x in $a; do for y in $b; do excl_pair "$x" "$y"; done; done
	fi
done <"$T/excl.rows"
check_eq "every exclusive pair refused both ways ($excl_n pairs)" $((2 * excl_n)) "$excl_ok"
[ -e "$T/excl.out" ]; check_eq "a refused --write writes nothing" 1 $?
# combinations that are not contradictions still run
"$IMGSCAN" -T -P -o NAME,BACKING "$T/a.qcow2" >/dev/null 2>&1; check_eq "-T -P -o: accepted" 0 $?
"$IMGSCAN" --udev --check --offset 0 "$T/a.qcow2" >/dev/null 2>&1; check_eq "--udev --check --offset: accepted" 0 $?
"$IMGSCAN" --stats -n -b -r -O "$T/a.qcow2" >/dev/null 2>&1; check_eq "table options with --stats: accepted" 0 $?
"$IMGSCAN" --json --stats --deep --jobs 2 --timeout 5 --check "$T/a.qcow2" "$T/r.raw" >/dev/null 2>&1
check_eq "--json with --stats, --deep, --jobs, --timeout, --check: accepted" 0 $?
"$IMGSCAN" --cached --json --vg vg0 >/dev/null 2>"$T/excl.err"
check_eq "--cached --json --vg: not a usage error" 0 "$(grep -c 'cannot be given together' "$T/excl.err")"
"$IMGSCAN" --udev >/dev/null 2>&1; check_eq "--udev without PATH: exit 2" 2 $?

finish
