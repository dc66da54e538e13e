#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/faults.sh -- device and permission faults (docs/security.md,
# rules 7 and 10; util-linux tests/ts/blkid/dm-err).
#
#   1. a loop device whose backing file is truncated below the header after
#      attaching (the kernel then fails reads with EIO): imgscan names the
#      PATH and the cause, still reports the other PATHs, exits 1; the same
#      with only the tail unreadable (truncated inside the device);
#   2. a device detached while a list of many PATHs is being scanned (best
#      effort: the detach races the scan): every other PATH is reported,
#      no crash, exit 0 or 1;
#   3. permission errors as an unprivileged user (runuser -u nobody): a 0600
#      file and a loop device: a message naming the PATH, exit 1, the
#      readable PATH still reported;
#   4. a device-mapper "error" target (dmsetup create, table "0 N error")
#      when device-mapper is available: EIO reported, exit 1; and a linear +
#      error map whose head is readable and whose tail fails.
#   5. a PATH that does not exist, a directory, a FIFO among good PATHs.
#
# Needs root and losetup (else 77); parts needing runuser or a working
# dmsetup are skipped with a note when missing.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	e2e_skip "needs root for loop devices"
fi
e2e_need_cmd losetup qemu-img jq timeout truncate
e2e_init
set -f
T=$E2E_TMP
export LC_ALL=C
chmod 755 "$T"

DEVS=
DMS=
E2E_CLEANUP='for m in $DMS; do dmsetup remove "$m" 2>/dev/null; done; for d in $DEVS; do losetup -d "$d" 2>/dev/null; done'

attach()
{
	a_dev=$(losetup --find --show "$@" 2>"$T/losetup.err") || {
		e2e_notok "losetup $*: $(cat "$T/losetup.err")"
		return 1
	}
	DEVS="$DEVS $a_dev"
	echo "$a_dev"
}
detach()
{
	losetup -d "$1" 2>/dev/null
	n_devs=
	for d in $DEVS; do
		[ "$d" = "$1" ] || n_devs="$n_devs $d"
	done
	DEVS=$n_devs
}

qemu-img create -q -f qcow2 "$T/good.qcow2" 16M
qemu-img create -q -f vpc -o subformat=fixed "$T/good.vhd" 4M

# expect_fail LABEL PATTERN-IN-STDERR BAD-PATH GOOD-PATH [RUNAS...] : run
# imgscan --json GOOD BAD GOOD; exit 1, stderr names BAD-PATH and the cause,
# the JSON has three objects, the good ones probed
expect_fail()
{
	ef_l=$1
	ef_pat=$2
	ef_bad=$3
	ef_good=$4
	shift 4
	timeout 30 "$@" "$IMGSCAN" --json "$ef_good" "$ef_bad" "$ef_good" >"$T/out" 2>"$T/err"
	e2e_check "$ef_l: exit status" "$?" 1 expected
	if grep -qF "$ef_bad" "$T/err" && grep -qiE "$ef_pat" "$T/err"; then
		e2e_ok "$ef_l: stderr names the PATH and the cause"
	else
		e2e_notok "$ef_l: stderr: $(head -c 300 "$T/err" | tr '\n' ' ')"
	fi
	e2e_check "$ef_l: objects in the JSON" "$(jq '.images | length' "$T/out" 2>&1)" 3 expected
	e2e_check "$ef_l: the failing PATH has an error" \
		"$(jq -r '.images[1] | has("error")' "$T/out" 2>&1)" true expected
	e2e_check "$ef_l: the other PATHs are still probed" \
		"$(jq -r '[.images[0].format, .images[2].format] | join(",")' "$T/out" 2>&1)" \
		"$(jq -r '.images[0].format' "$T/out" 2>/dev/null),$(jq -r '.images[0].format' "$T/out" 2>/dev/null)" expected
	e2e_check "$ef_l: the good PATH is qcow2 or vpc" \
		"$(jq -r '.images[0].format | test("qcow2|vpc")' "$T/out" 2>&1)" true expected
	# --udev on the failing PATH alone: exit 1, no property imported
	timeout 30 "$@" "$IMGSCAN" --udev "$ef_bad" >"$T/out" 2>"$T/err"
	e2e_check "$ef_l: --udev exit status" "$?" 1 expected
	if grep -q '^ID_IMAGE_FORMAT=' "$T/out"; then
		e2e_notok "$ef_l: --udev printed a format for an unreadable PATH"
	else
		e2e_ok "$ef_l: --udev printed no format"
	fi
}

# 1. backing file truncated after attaching: EIO on every read
cp "$T/good.qcow2" "$T/shrink.qcow2"
truncate -s 4M "$T/shrink.qcow2"
if dev=$(attach -r "$T/shrink.qcow2"); then
	truncate -s 0 "$T/shrink.qcow2"
	expect_fail "truncated backing file ($dev)" 'input/output error|I/O error' "$dev" "$T/good.qcow2"
	timeout 30 "$IMGSCAN" --json --no-direct "$dev" >"$T/out" 2>"$T/err"
	e2e_check "truncated backing file: --no-direct exit status" "$?" 1 expected
	detach "$dev"
fi
# 1b. only the tail unreadable: a fixed vhd (its footer is in the last 512
#     bytes) truncated by 64 KiB after attaching
cp "$T/good.vhd" "$T/tail.vhd"
if dev=$(attach -r "$T/tail.vhd"); then
	truncate -s $(( $(stat -c %s "$T/good.vhd") - 65536 )) "$T/tail.vhd"
	timeout 30 "$IMGSCAN" --json "$T/good.qcow2" "$dev" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq 1 ] && grep -qF "$dev" "$T/err"; then
		e2e_ok "unreadable tail ($dev): exit 1, PATH named ($(head -c 120 "$T/err" | tr '\n' ' '))"
	elif [ "$rc" -eq 0 ]; then
		# a head-only answer is acceptable; it must not claim a footer it could not read
		e2e_check "unreadable tail ($dev): no vpc from an unread footer" \
			"$(jq -r '.images[1].format' "$T/out")" raw expected
	else
		e2e_notok "unreadable tail ($dev): exit $rc: $(head -c 200 "$T/err" | tr '\n' ' ')"
	fi
	e2e_check "unreadable tail: the other PATH is probed" \
		"$(jq -r '.images[0].format' "$T/out" 2>&1)" qcow2 expected
	detach "$dev"
fi

# 2. a device detached while a long list is scanned (best effort)
i=0
LIST=
while [ $i -lt 40 ]; do
	cp "$T/good.qcow2" "$T/many-$i.qcow2"
	LIST="$LIST $T/many-$i.qcow2"
	i=$((i + 1))
done
cp "$T/good.qcow2" "$T/vanish.qcow2"
if dev=$(attach -r "$T/vanish.qcow2"); then
	# shellcheck disable=SC2086
	( sleep 0.05; losetup -d "$dev" 2>/dev/null ) &
	dpid=$!
	# shellcheck disable=SC2086
	timeout 60 "$IMGSCAN" --json --jobs 1 $LIST "$dev" $LIST >"$T/out" 2>"$T/err"
	rc=$?
	wait "$dpid"
	detach "$dev"
	if [ "$rc" -le 1 ]; then
		e2e_ok "device detached mid-scan: exit status $rc (0 or 1; $(head -c 100 "$T/err" | tr '\n' ' '))"
	else
		e2e_notok "device detached mid-scan: exit status $rc: $(head -c 300 "$T/err")"
	fi
	e2e_check "device detached mid-scan: every PATH reported" \
		"$(jq '.images | length' "$T/out" 2>&1)" 81 expected
	e2e_check "device detached mid-scan: every file PATH probed" \
		"$(jq '[.images[] | select(.path | endswith(".qcow2")) | select(.format == "qcow2")] | length' "$T/out" 2>&1)" 80 expected
fi

# 3. permission errors as nobody
if command -v runuser >/dev/null 2>&1 && id nobody >/dev/null 2>&1; then
	cp "$T/good.qcow2" "$T/secret.qcow2"
	chmod 600 "$T/secret.qcow2"
	cp "$T/good.qcow2" "$T/open.qcow2"
	chmod 644 "$T/open.qcow2"
	# a copy nobody can run (as in cli.sh)
	chmod 0755 "$T"
	e2e_nobody_copy "$T/imgscan-nobody"
	ef_saved=$IMGSCAN
	IMGSCAN=$T/imgscan-nobody
	expect_fail "0600 file as nobody" 'permission denied' "$T/secret.qcow2" "$T/open.qcow2" \
		runuser -u nobody --
	if dev=$(attach -r "$T/good.qcow2"); then
		chmod 600 "$dev"
		expect_fail "loop device as nobody ($dev)" 'permission denied' "$dev" "$T/open.qcow2" \
			runuser -u nobody --
		detach "$dev"
	fi
	IMGSCAN=$ef_saved
else
	echo "# runuser or user nobody missing: permission checks skipped"
fi

# 4. device-mapper error targets
if command -v dmsetup >/dev/null 2>&1 && dmsetup version >/dev/null 2>&1; then
	name="imgscan-test-err-$$"
	if dmsetup create "$name" --table "0 8192 error" 2>"$T/dm.err"; then
		DMS="$DMS $name"
		udevadm settle 2>/dev/null || true
		expect_fail "dm error target" 'input/output error|I/O error' "/dev/mapper/$name" "$T/good.qcow2"
	else
		e2e_notok "dmsetup create error target: $(cat "$T/dm.err")"
	fi
	# readable head (a qcow2 on a loop device), failing tail
	if dev=$(attach -r "$T/good.qcow2"); then
		sz=$(blockdev --getsz "$dev")
		lname="imgscan-test-tail-$$"
		if printf '0 %s linear %s 0\n%s 8 error\n' "$((sz - 8))" "$dev" "$((sz - 8))" |
				dmsetup create "$lname" 2>"$T/dm.err"; then
			DMS="$lname $DMS"
			udevadm settle 2>/dev/null || true
			timeout 30 "$IMGSCAN" --json "/dev/mapper/$lname" >"$T/out" 2>"$T/err"
			rc=$?
			if [ "$rc" -le 1 ]; then
				e2e_ok "dm linear + error tail: exit $rc ($(jq -c '.images[0] | {format, error}' "$T/out" 2>&1))"
			else
				e2e_notok "dm linear + error tail: exit $rc"
			fi
		fi
	fi
else
	echo "# device-mapper not available (dmsetup version failed): dm error target skipped"
fi

# 5. a missing PATH, a directory, a FIFO among good ones: each reported
mkfifo "$T/fifo"
mkdir "$T/dir"
for bad in "$T/does-not-exist" "$T/dir" "$T/fifo"; do
	expect_fail "bad PATH $(basename "$bad")" \
		'no such file|not a block device|directory|regular file|not supported|cannot' \
		"$bad" "$T/good.qcow2"
done

e2e_summary
