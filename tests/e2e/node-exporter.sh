#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# imgscan --prometheus through the real Prometheus node_exporter (Debian
# prometheus-node-exporter): it is started on a loopback port
# (127.0.0.1 only) with only its textfile collector, reading a temporary
# directory; the --prometheus command of imgscan-inventory.service (as the
# unit has it, with the binary and the directory of this test) writes into
# that directory, for images attached read-only to loop devices; /metrics is
# fetched and the series and their values checked, including a backing name
# holding a newline, a double quote, a backslash, a control byte and
# invalid UTF-8, as node_exporter's parser gives it back.  The textfile is
# also checked with `promtool check metrics` (Debian prometheus) when it is
# installed.  The command runs without any capability, as the unit runs it
# (setpriv).  node_exporter is stopped and the loop devices detached by the
# EXIT trap.
#
# IMGSCAN_UNIT=FILE checks an installed unit's command instead of
# systemd/imgscan-inventory.service.  Needs root and loop devices; skips
# (77) without prometheus-node-exporter or curl.
. "${top_srcdir:-.}/tests/e2e/lib.sh"

[ "$(id -u)" = 0 ] || e2e_skip "needs root (loop devices)"
e2e_need_cmd losetup qemu-img curl awk sed od dd
NODE_EXPORTER=$(command -v prometheus-node-exporter || command -v node_exporter) ||
	e2e_skip "node_exporter not installed (apt-get install prometheus-node-exporter)"
[ -e /dev/loop-control ] || e2e_skip "no /dev/loop-control (loop driver missing)"
UNIT=${IMGSCAN_UNIT:-${top_srcdir:-.}/systemd/imgscan-inventory.service}

LOOPS=
NE_PID=
ne_cleanup()
{
	if [ -n "$NE_PID" ]; then
		kill "$NE_PID" 2>/dev/null
		wait "$NE_PID" 2>/dev/null
		NE_PID=
	fi
	for l in $LOOPS; do
		losetup -d "$l" 2>/dev/null
	done
	LOOPS=
}
e2e_init
E2E_CLEANUP=ne_cleanup
T=$E2E_TMP
TF=$T/textfile
mkdir "$TF" "$T/img"

# ------------------------------------------------------------- the images
# shellcheck disable=SC2016
HOSTILE=$(printf 'a\nb"c\\d\001e\377f.qcow2')
qemu-img create -q -f qcow2 "$T/img/base.qcow2" 1G &&
	qemu-img create -q -f qcow2 -b "$T/img/base.qcow2" -F qcow2 "$T/img/overlay.qcow2" &&
	qemu-img create -q -f qcow2 "$T/img/dirty.qcow2" 2G &&
	qemu-img create -q -f qcow2 -u -b "$HOSTILE" -F raw "$T/img/hostile.qcow2" 3G &&
	qemu-img create -q -f vmdk "$T/img/disk.vmdk" 10M &&
	truncate -s 4M "$T/img/zero.raw" || {
	e2e_notok "qemu-img create failed"
	e2e_summary
}
e2e_byte_or "$T/img/dirty.qcow2" 79 1 # qcow2 v3 incompatible feature bit 0: dirty
# whole sectors for the loop driver
truncate -s %1M "$T/img/base.qcow2" "$T/img/overlay.qcow2" "$T/img/dirty.qcow2" "$T/img/hostile.qcow2"
for i in base overlay dirty hostile; do
	eval "IMG_$i=\$T/img/$i.qcow2"
done
IMG_vmdk=$T/img/disk.vmdk
IMG_zero=$T/img/zero.raw
for i in base overlay dirty hostile vmdk zero; do
	eval "f=\$IMG_$i"
	l=$(losetup -r -f --show "$f") || {
		e2e_notok "losetup $f failed"
		e2e_summary
	}
	LOOPS="$LOOPS $l"
	eval "L_$i=$l"
done
# shellcheck disable=SC2154
PATHS="$L_base $L_overlay $L_dirty $L_hostile $L_vmdk $L_zero"

# --------------------------------------------------------- node_exporter
port=
for p in $(awk -v s="$$" 'BEGIN { for (i = 0; i < 20; i++) print 19100 + (s * 7 + i * 37) % 800 }'); do
	"$NODE_EXPORTER" --web.listen-address="127.0.0.1:$p" --collector.disable-defaults \
		--collector.textfile --collector.textfile.directory="$TF" >"$T/ne.log" 2>&1 &
	NE_PID=$!
	i=0
	while [ $i -lt 50 ]; do
		if curl -fsS "http://127.0.0.1:$p/metrics" >/dev/null 2>&1; then
			port=$p
			break
		fi
		kill -0 "$NE_PID" 2>/dev/null || break
		sleep 0.2
		i=$((i + 1))
	done
	[ -n "$port" ] && break
	kill "$NE_PID" 2>/dev/null
	wait "$NE_PID" 2>/dev/null
	NE_PID=
done
if [ -z "$port" ]; then
	e2e_notok "node_exporter did not start: $(tail -n 3 "$T/ne.log" | tr '\n' ' ')"
	e2e_summary
fi
e2e_ok "node_exporter listening on 127.0.0.1:$port, textfile directory $TF"

# ---------------------------------------------------- the unit's command
cmd=$(sed -n 's/^ExecStart=-\{0,1\}\(.*--prometheus.*\)$/\1/p' "$UNIT")
e2e_check "the unit has one --prometheus command" "$(printf '%s\n' "$cmd" | grep -c .)" 1 expected
bin=${cmd%% *}
args=${cmd#* }
case $bin in
/usr/bin/imgscan | @bindir@/imgscan) ;;
*) e2e_notok "unexpected binary in $UNIT: $bin" ;;
esac
args=$(printf '%s' "$args" | sed "s|/var/lib/prometheus/node-exporter|$TF|")
e2e_check "the unit writes into node_exporter's directory" \
	"$(printf '%s' "$args" | grep -c -- "--write $TF/imgscan.prom")" 1 expected
# as the unit runs it: root without any capability (CapabilityBoundingSet=
# empty, NoNewPrivileges=yes), which must suffice to read the devices and
# write the file
CAPLESS=
if command -v setpriv >/dev/null 2>&1; then
	CAPLESS="setpriv --no-new-privs --bounding-set -all --inh-caps -all --ambient-caps -all --"
	e2e_check "no capability left under setpriv" \
		"$($CAPLESS sh -c 'grep "^CapEff:" /proc/self/status' | tr -d ' \t')" \
		"CapEff:0000000000000000" expected
else
	echo "# setpriv not installed: the command runs with root's capabilities"
fi
# shellcheck disable=SC2086
$CAPLESS "$IMGSCAN" $args $PATHS 2>"$T/err"
# 3: the unit runs --check, and the overlay has a backing file
e2e_check "imgscan --prometheus: exit status" "$?" 3 expected
e2e_check "imgscan --prometheus: no error output" "$(head -c 300 "$T/err")" "" expected
e2e_check "only imgscan.prom in the directory (the temporary file renamed)" \
	"$(ls -A "$TF")" imgscan.prom expected
e2e_check "imgscan.prom is 0644" "$(stat -c %a "$TF/imgscan.prom")" 644 expected

if command -v promtool >/dev/null 2>&1; then
	promtool check metrics <"$TF/imgscan.prom" >"$T/promtool" 2>&1
	e2e_check "promtool check metrics: exit status" "$?" 0 expected
	e2e_check "promtool check metrics: no complaint" "$(head -c 300 "$T/promtool")" "" expected
else
	echo "# promtool not installed (apt-get install prometheus): not run"
fi

# ------------------------------------------------------------- /metrics
curl -fsS "http://127.0.0.1:$port/metrics" >"$T/metrics" 2>"$T/curl.err"
e2e_check "GET /metrics" "$?" 0 expected
e2e_check "textfile collector: no scrape error" \
	"$(awk '$1 == "node_textfile_scrape_error" { print $2 }' "$T/metrics")" 0 expected
e2e_check "textfile collector: imgscan.prom read" \
	"$(grep -c '^node_textfile_mtime_seconds{file="[^"]*imgscan.prom"}' "$T/metrics")" 1 expected

# series NAME DEV : the value of NAME{...path="DEV"...} as an integer, or <absent>
series()
{
	awk -v name="$1" -v path="path=\"$2\"" '
		index($0, name "{") == 1 && index($0, path) { printf "%.0f", $NF; found = 1 }
		END { if (!found) printf "<absent>" }' "$T/metrics"
}
# label NAME DEV LABEL : a label's value, as written in /metrics
label()
{
	grep "^$1{" "$T/metrics" | grep -F "path=\"$2\"" |
		sed -n "s/.*[{,]$3=\"\(\([^\"\\\\]\|\\\\.\)*\)\".*/\1/p"
}
e2e_check "images: info series" "$(grep -c '^imgscan_image_info{' "$T/metrics")" 5 expected
e2e_check "raw volume: only the --check series" \
	"$(grep "path=\"$L_zero\"" "$T/metrics" | grep -vc '^imgscan_image_unsafe{')" 0 expected
for i in base overlay dirty hostile vmdk; do
	eval "l=\$L_$i"
	e2e_check "$i: info is 1" "$(series imgscan_image_info "$l")" 1 expected
	e2e_check "$i: device label" "$(label imgscan_image_info "$l" device)" "${l#/dev/}" expected
done
e2e_check "base: format" "$(label imgscan_image_info "$L_base" format)" qcow2 expected
e2e_check "base: virtual size" "$(series imgscan_image_virtual_size_bytes "$L_base")" 1073741824 expected
e2e_check "base: no backing label" "$(label imgscan_image_info "$L_base" backing)" "" expected
e2e_check "overlay: backing" "$(label imgscan_image_info "$L_overlay" backing)" "$T/img/base.qcow2" expected
e2e_check "overlay: backing_format" "$(label imgscan_image_info "$L_overlay" backing_format)" qcow2 expected
e2e_check "overlay: virtual size from its header" \
	"$(series imgscan_image_virtual_size_bytes "$L_overlay")" 1073741824 expected
e2e_check "dirty: dirty 1" "$(series imgscan_image_dirty "$L_dirty")" 1 expected
e2e_check "base: dirty 0" "$(series imgscan_image_dirty "$L_base")" 0 expected
e2e_check "base: corrupt 0" "$(series imgscan_image_corrupt "$L_base")" 0 expected
e2e_check "dirty: virtual size" "$(series imgscan_image_virtual_size_bytes "$L_dirty")" 2147483648 expected
e2e_check "vmdk: format" "$(label imgscan_image_info "$L_vmdk" format)" vmdk expected
e2e_check "vmdk: virtual size" "$(series imgscan_image_virtual_size_bytes "$L_vmdk")" 10485760 expected
e2e_check "vmdk: no corrupt series" "$(series imgscan_image_corrupt "$L_vmdk")" "<absent>" expected
# node_exporter parsed the escapes and wrote them again: the same text
e2e_check "hostile: backing as escaped" "$(label imgscan_image_info "$L_hostile" backing)" \
	'a\nb\"c\\d\\x01e\\xfff.qcow2' expected
e2e_check "hostile: one line per series" "$(grep -c "path=\"$L_hostile\"" "$T/metrics")" 5 expected
e2e_check "hostile: virtual size" "$(series imgscan_image_virtual_size_bytes "$L_hostile")" 3221225472 expected
e2e_check "scan: volumes" "$(awk '$1 == "imgscan_scan_volumes" { print $2 }' "$T/metrics")" 6 expected
e2e_check "scan: errors" "$(awk '$1 == "imgscan_scan_errors_total" { print $2 }' "$T/metrics")" 0 expected
e2e_check "scan: duration served" \
	"$(awk '$1 == "imgscan_scan_duration_seconds" && $2 >= 0 { n++ } END { print n + 0 }' "$T/metrics")" 1 expected
# --check: every volume, the raw one too, gets imgscan_image_unsafe
e2e_check "unsafe series" "$(grep -c '^imgscan_image_unsafe{' "$T/metrics")" 6 expected
e2e_check "base: safe" "$(series imgscan_image_unsafe "$L_base")" 0 expected
e2e_check "base: no failed label" "$(label imgscan_image_unsafe "$L_base" failed)" "" expected
e2e_check "overlay: unsafe" "$(series imgscan_image_unsafe "$L_overlay")" 1 expected
e2e_check "overlay: failed backing-file" "$(label imgscan_image_unsafe "$L_overlay" failed)" \
	backing-file expected
e2e_check "raw volume: safe" "$(series imgscan_image_unsafe "$L_zero")" 0 expected
e2e_check "HELP and TYPE lines kept" \
	"$(grep -c '^# TYPE imgscan_\(image_info\|image_virtual_size_bytes\|image_dirty\|image_corrupt\|image_unsafe\|scan_errors_total\|scan_duration_seconds\) ' "$T/metrics")" \
	7 expected

# a volume that cannot be probed is counted, and the file replaced in one step
"$IMGSCAN" $args $PATHS "$T/img/missing.qcow2" 2>/dev/null
e2e_check "a missing PATH: exit status 1" "$?" 1 expected
curl -fsS "http://127.0.0.1:$port/metrics" >"$T/metrics" 2>/dev/null
e2e_check "a missing PATH: counted" \
	"$(awk '$1 == "imgscan_scan_errors_total" { print $2 }' "$T/metrics")" 1 expected
e2e_check "a missing PATH: the images still there" "$(grep -c '^imgscan_image_info{' "$T/metrics")" 5 expected

pid=$NE_PID
ne_cleanup
e2e_check "node_exporter stopped" "$(kill -0 "$pid" 2>/dev/null && echo running)" "" expected
e2e_summary
