#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/udev-check.sh -- safety verdicts through a real systemd-udevd:
# udev/65-imgscan.rules with the ENV{IMGSCAN_CHECK}="1" opt-in, and
# iso9660/udf devices probed for a header in their system area.
#
# The rule is installed for the test only, as tests/e2e/udev-rule.sh does
# (/run/udev/rules.d/65-imgscan-check-test.rules, @bindir@ replaced by a
# directory under /run holding a copy of $IMGSCAN), with an earlier
# 64-imgscan-check-optin-test.rules setting IMGSCAN_CHECK=1 for the loop
# devices this script attached, except one.  Both files, the loop devices
# and the copy are removed by the EXIT trap.
#
# Checks (udevadm info --query=property after a change event and settle):
#   - a qcow2 with a backing file: ID_IMAGE_SAFE=0, ID_IMAGE_UNSAFE=backing-file;
#   - a clean qcow2: ID_IMAGE_SAFE=1 and no ID_IMAGE_UNSAFE; the same image
#     on a device not opted in: no ID_IMAGE_SAFE (the rule stays without
#     --check);
#   - a zero (raw) device opted in: ID_IMAGE_SAFE=1, no ID_IMAGE_FORMAT;
#   - an ISO 9660 (xorriso) whose system area holds a qcow2 header: blkid
#     says iso9660, the device is probed anyway, ID_IMAGE_AMBIGUOUS and
#     ID_IMAGE_UNSAFE=ambiguous;
#   - a UDF (mkudffs) whose first 32 KiB hold a qcow2 header: probed,
#     ID_IMAGE_SAFE=0 with ambiguous; a plain ISO and a plain UDF: no ID_IMAGE_*
#     without the opt-in, ID_IMAGE_SAFE=1 with it;
#   - what udev stored equals "imgscan --udev --check DEV" run with the
#     device's ID_FS_TYPE in the environment.
#
# Needs root, a running systemd-udevd, udevadm, losetup, qemu-img, xorriso
# and mkudffs; skips (exit 77) otherwise.  Run under
# flock /tmp/imgscan-root-tests.lock.

# DEV_<image> variables are assigned through eval; u_cleanup runs from the EXIT trap
# shellcheck disable=SC2154,SC2317
. "${top_srcdir:-.}/tests/e2e/lib.sh"

RULE_SRC=${top_srcdir:-.}/udev/65-imgscan.rules
RULES_D=/run/udev/rules.d
RULE=$RULES_D/65-imgscan-check-test.rules
OPTIN=$RULES_D/64-imgscan-check-optin-test.rules

[ "$(id -u)" = 0 ] || e2e_skip "needs root (loop devices, /run/udev/rules.d)"
e2e_need_cmd udevadm losetup qemu-img xorriso mkudffs timeout dd truncate
pgrep -x systemd-udevd >/dev/null 2>&1 ||
	e2e_skip "systemd-udevd is not running (start it: /lib/systemd/systemd-udevd --daemon)"
timeout 10 udevadm control --ping >/dev/null 2>&1 ||
	e2e_skip "systemd-udevd does not answer udevadm control --ping"
[ -e /dev/loop-control ] || e2e_skip "no /dev/loop-control (loop driver missing)"

LOOPS=
BINDIR=
RULE_INSTALLED=

u_cleanup()
{
	for u_l in $LOOPS; do
		losetup -d "$u_l" 2>/dev/null
	done
	LOOPS=
	if [ -n "$RULE_INSTALLED" ]; then
		rm -f "$RULE" "$OPTIN"
		udevadm control --reload 2>/dev/null
		timeout 40 udevadm settle --timeout=30 2>/dev/null
	fi
	[ -n "$BINDIR" ] && rm -rf "$BINDIR"
}

e2e_init
E2E_CLEANUP=u_cleanup
T=$E2E_TMP

u_settle()
{
	timeout 40 udevadm settle --timeout=30 2>/dev/null
}

u_props()
{
	udevadm info --query=property --name="$1" >"$2" 2>/dev/null || : >"$2"
}

# ----------------------------------------------------------- the images

if ! qemu-img create -q -f qcow2 "$T/clean.qcow2" 64M ||
	! qemu-img create -q -f qcow2 -u -b /etc/hosts -F raw "$T/backed.qcow2" 64M ||
	! cp "$T/clean.qcow2" "$T/noopt.qcow2" || ! truncate -s 4M "$T/zero.img"; then
	e2e_notok "qemu-img create failed"
	e2e_summary
fi
mkdir "$T/d" && echo hello >"$T/d/file"
# ISO 9660 with a qcow2 header in its system area, and a plain one
head -c 32768 "$T/clean.qcow2" >"$T/sa.bin"
if ! xorriso -as mkisofs -quiet -G "$T/sa.bin" -V POLY -o "$T/poly.iso" "$T/d" 2>"$T/x.err" ||
	! xorriso -as mkisofs -quiet -V PLAIN -o "$T/plain.iso" "$T/d" 2>>"$T/x.err"; then
	e2e_notok "xorriso failed: $(head -c 300 "$T/x.err")"
	e2e_summary
fi
# UDF, plain and with a qcow2 header in its first 32 KiB (UDF leaves them unused)
truncate -s 8M "$T/plain.udf" "$T/poly.udf"
if ! mkudffs -b 2048 --media-type=hd "$T/plain.udf" >/dev/null 2>"$T/u.err" ||
	! mkudffs -b 2048 --media-type=hd "$T/poly.udf" >/dev/null 2>>"$T/u.err"; then
	e2e_notok "mkudffs failed: $(head -c 300 "$T/u.err")"
	e2e_summary
fi
head -c 1024 "$T/clean.qcow2" | dd of="$T/poly.udf" conv=notrunc status=none

IMAGES="clean.qcow2 backed.qcow2 noopt.qcow2 zero.img poly.iso plain.iso poly.udf plain.udf"
for f in clean.qcow2 backed.qcow2 noopt.qcow2; do
	s=$(wc -c <"$T/$f")
	[ $((s % 512)) -eq 0 ] || truncate -s $((s + 512 - s % 512)) "$T/$f"
done

# ------------------------------------------------------ install the rule

BINDIR=$(mktemp -d /run/imgscan-udev-check.XXXXXX 2>/dev/null) || e2e_skip "mktemp -d under /run failed"
chmod 755 "$BINDIR"
if ! cp "$IMGSCAN" "$BINDIR/imgscan" || ! chmod 755 "$BINDIR/imgscan"; then
	e2e_notok "cannot copy $IMGSCAN to $BINDIR"
	e2e_summary
fi
mkdir -p "$RULES_D" || e2e_skip "cannot create $RULES_D"
RULE_INSTALLED=1
sed "s|@bindir@|$BINDIR|g" "$RULE_SRC" >"$RULE" || {
	e2e_notok "cannot write $RULE"
	e2e_summary
}
: >"$OPTIN"
udevadm control --reload

for f in $IMAGES; do
	U_DEV=$(losetup --find --show "$T/$f" 2>"$T/losetup.err") || {
		e2e_notok "losetup $f failed: $(cat "$T/losetup.err")"
		e2e_summary
	}
	LOOPS="$LOOPS $U_DEV"
	eval "DEV_$(echo "$f" | tr . _)=\$U_DEV"
done
# opt every device in but noopt.qcow2
for d in $LOOPS; do
	[ "$d" = "$DEV_noopt_qcow2" ] && continue
	echo "SUBSYSTEM==\"block\", KERNEL==\"${d#/dev/}\", ENV{IMGSCAN_CHECK}=\"1\"" >>"$OPTIN"
done
udevadm control --reload
# shellcheck disable=SC2086
timeout 60 udevadm trigger --action=change --settle $LOOPS 2>/dev/null ||
	timeout 60 udevadm trigger --action=change $LOOPS 2>/dev/null
u_settle

# props F : the udev properties of image F's device into $T/F.p
props()
{
	eval "p_dev=\$DEV_$(echo "$1" | tr . _)"
	u_props "$p_dev" "$T/$1.p"
}

get()
{
	udev_get "$T/$1.p" "$2"
}

for f in $IMAGES; do
	props "$f"
done

e2e_check "backed qcow2: ID_IMAGE_SAFE" "$(get backed.qcow2 ID_IMAGE_SAFE)" 0 expected
e2e_check "backed qcow2: ID_IMAGE_UNSAFE" "$(get backed.qcow2 ID_IMAGE_UNSAFE)" backing-file expected
e2e_check "clean qcow2: ID_IMAGE_SAFE" "$(get clean.qcow2 ID_IMAGE_SAFE)" 1 expected
e2e_check "clean qcow2: no ID_IMAGE_UNSAFE" "$(get clean.qcow2 ID_IMAGE_UNSAFE)" "" expected
e2e_check "clean qcow2: ID_IMAGE_FORMAT" "$(get clean.qcow2 ID_IMAGE_FORMAT)" qcow2 expected
e2e_check "not opted in: ID_IMAGE_FORMAT" "$(get noopt.qcow2 ID_IMAGE_FORMAT)" qcow2 expected
e2e_check "not opted in: no ID_IMAGE_SAFE" "$(get noopt.qcow2 ID_IMAGE_SAFE)" "" expected
e2e_check "zero device: ID_IMAGE_SAFE" "$(get zero.img ID_IMAGE_SAFE)" 1 expected
e2e_check "zero device: no ID_IMAGE_FORMAT" "$(get zero.img ID_IMAGE_FORMAT)" "" expected

e2e_check "iso+qcow2: blkid says iso9660" "$(get poly.iso ID_FS_TYPE)" iso9660 blkid
e2e_check "iso+qcow2: ID_IMAGE_AMBIGUOUS" "$(get poly.iso ID_IMAGE_AMBIGUOUS)" qcow2,iso expected
e2e_check "iso+qcow2: ID_IMAGE_SAFE" "$(get poly.iso ID_IMAGE_SAFE)" 0 expected
e2e_check "iso+qcow2: ID_IMAGE_UNSAFE" "$(get poly.iso ID_IMAGE_UNSAFE)" ambiguous expected
e2e_check "plain iso: ID_IMAGE_SAFE" "$(get plain.iso ID_IMAGE_SAFE)" 1 expected
e2e_check "plain iso: no ID_IMAGE_FORMAT" "$(get plain.iso ID_IMAGE_FORMAT)" "" expected

e2e_check "udf+qcow2: blkid says udf" "$(get poly.udf ID_FS_TYPE)" udf blkid
e2e_check "udf+qcow2: ID_IMAGE_SAFE" "$(get poly.udf ID_IMAGE_SAFE)" 0 expected
e2e_check "udf+qcow2: ID_IMAGE_UNSAFE" "$(get poly.udf ID_IMAGE_UNSAFE)" ambiguous expected
e2e_check "plain udf: ID_IMAGE_SAFE" "$(get plain.udf ID_IMAGE_SAFE)" 1 expected

# what udev stored is what the program prints with the same environment
for f in backed.qcow2 poly.iso poly.udf; do
	eval "d=\$DEV_$(echo "$f" | tr . _)"
	grep '^ID_IMAGE_' "$T/$f.p" | LC_ALL=C sort >"$T/$f.db"
	env SUBSYSTEM=block DEVPATH=/x ID_FS_TYPE="$(get "$f" ID_FS_TYPE)" \
		ID_FS_USAGE="$(get "$f" ID_FS_USAGE)" IMGSCAN_CHECK=1 \
		"$IMGSCAN" --udev "$d" 2>/dev/null | LC_ALL=C sort >"$T/$f.cli"
	if cmp -s "$T/$f.db" "$T/$f.cli"; then
		e2e_ok "$f: udev db ID_IMAGE_* = imgscan --udev with IMGSCAN_CHECK=1"
	else
		e2e_notok "$f: udev db differs: $(diff "$T/$f.cli" "$T/$f.db" | grep '^[<>]' | tr '\n' ' ')"
	fi
done

e2e_summary
