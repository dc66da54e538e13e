#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/probe-trace.sh -- IMGSCAN_DEBUG=probe: why a volume is raw or
# damaged (imgscan(8), ENVIRONMENT).
#
# Spec followed: with IMGSCAN_DEBUG=probe each magic the probe tries and each
# check that refuses the volume are printed to stderr, one line each,
# "imgscan: probe: PATH: ...", the path escaped as in every error message;
# stdout and the exit status are those of a run without it.  Without the
# variable (or with a list that does not name probe) nothing is printed.
# The damaged image is made by qemu-img and then given a cluster size qemu
# refuses (cluster_bits 5: "Unsupported cluster size", qemu's
# block/qcow2.c qcow2_do_open); qemu-img's own refusal is checked first, so
# the test follows qemu, not imgscan.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_init
e2e_need_cmd qemu-img
T=$E2E_TMP

qemu-img create -q -f qcow2 "$T/bad.qcow2" 64M || e2e_create_failed qcow2
# cluster_bits (big-endian u32 at byte 20) = 5
printf '\000\000\000\005' | dd of="$T/bad.qcow2" bs=1 seek=20 conv=notrunc 2>/dev/null
if qemu-img info "$T/bad.qcow2" 2>&1 | grep -q 'Unsupported cluster size'; then
	e2e_ok "qemu-img refuses the image: Unsupported cluster size"
else
	e2e_notok "qemu-img: $(qemu-img info "$T/bad.qcow2" 2>&1 | head -c 300)"
fi
qemu-img create -q -f vhdx "$T/good.vhdx" 64M || e2e_create_failed vhdx
truncate -s 1M "$T/zero.raw"

# ---- off by default -----------------------------------------------------------
"$IMGSCAN" -J "$T/bad.qcow2" >"$T/off.out" 2>"$T/off.err"
off_rc=$?
e2e_check "without IMGSCAN_DEBUG: nothing on stderr" "$(cat "$T/off.err")" "" "wanted"
IMGSCAN_DEBUG=udev,other "$IMGSCAN" -J "$T/bad.qcow2" >/dev/null 2>"$T/other.err"
e2e_check "IMGSCAN_DEBUG without probe: nothing on stderr" "$(cat "$T/other.err")" "" "wanted"

# ---- the damaged qcow2: the magic, the refusal, the outcome -----------------------
IMGSCAN_DEBUG=probe "$IMGSCAN" -J "$T/bad.qcow2" >"$T/on.out" 2>"$T/on.err"
on_rc=$?
e2e_check "IMGSCAN_DEBUG=probe: same exit status" "$on_rc" "$off_rc" "without it"
e2e_check "IMGSCAN_DEBUG=probe: same stdout" "$(cat "$T/on.out")" "$(cat "$T/off.out")" "without it"
P="imgscan: probe: $T/bad.qcow2: "
e2e_check "the qcow2 magic is shown found" \
	"$(grep -cF "${P}qcow2: magic \"QFI\\xfb\" at offset 0: found" "$T/on.err")" "1" "wanted"
e2e_check "the refusal is shown" \
	"$(grep -cF "${P}qcow2: check failed: Unsupported cluster size" "$T/on.err")" "1" "wanted"
e2e_check "the outcome is shown" "$(grep -cF "${P}result: qcow2 (damaged)" "$T/on.err")" "1" "wanted"
e2e_check "a magic that is not there is shown" \
	"$(grep -cF "${P}qed: magic \"QED\\x00\" at offset 0: not there" "$T/on.err")" "1" "wanted"
e2e_check "every stderr line is a probe trace line" "$(grep -cvF "$P" "$T/on.err")" "0" "wanted"

# ---- a raw volume: every format said no ---------------------------------------------
IMGSCAN_DEBUG=probe "$IMGSCAN" -P "$T/zero.raw" >/dev/null 2>"$T/raw.err"
e2e_check "raw: the outcome is shown" \
	"$(grep -cF "imgscan: probe: $T/zero.raw: result: raw (no format matched)" "$T/raw.err")" \
	"1" "wanted"

# ---- many volumes, read in batches: each traced once (no deferred re-run) ---------
IMGSCAN_DEBUG=probe "$IMGSCAN" --stats -J "$T/bad.qcow2" "$T/good.vhdx" "$T/zero.raw" \
	"$T/good.vhdx" >"$T/many.on" 2>"$T/many.err"
"$IMGSCAN" --stats -J "$T/bad.qcow2" "$T/good.vhdx" "$T/zero.raw" "$T/good.vhdx" \
	>"$T/many.off" 2>/dev/null
e2e_check "four volumes: four outcomes" "$(grep -c ': result: ' "$T/many.err")" "4" "wanted"
# a vhdx needs a read past the first windows: in a batch that read is deferred
# and the probe run again, which must not print its steps twice
e2e_check "vhdx (read in two steps): its magic once per argument" \
	"$(grep -cF "imgscan: probe: $T/good.vhdx: vhdx: magic \"vhdxfile\" at offset 0: found" \
		"$T/many.err")" "2" "wanted"
e2e_check "vhdx: its outcome once per argument" \
	"$(grep -cF "imgscan: probe: $T/good.vhdx: result: vhdx" "$T/many.err")" "2" "wanted"
# the reads per volume are those of an untraced run (--stats counts them)
e2e_check "the same reads with the trace" "$(grep '"reads"' "$T/many.on")" \
	"$(grep '"reads"' "$T/many.off")" "without it"

# ---- a name with a control character is escaped ----------------------------------
nl="$T/a
b.qcow2"
cp "$T/bad.qcow2" "$nl"
IMGSCAN_DEBUG=probe "$IMGSCAN" -P "$nl" >/dev/null 2>"$T/nl.err"
e2e_check "a newline in the name is escaped" \
	"$(grep -cF "imgscan: probe: $T/a\\x0ab.qcow2: result: qcow2 (damaged)" "$T/nl.err")" "1" "wanted"
e2e_check "no line without the prefix" "$(grep -cv '^imgscan: probe: ' "$T/nl.err")" "0" "wanted"

e2e_summary
