#!/bin/sh
# The Debian package as an admin gets it (CI, as root, on Debian 12):
#   1. build it from this checkout and run lintian (tools/deb.sh);
#   2. install it with apt-get install ./imgscan_*.deb;
#   3. run the end-to-end tests against the installed files: the udev
#      rule in udev's rules directory and /usr/bin/imgscan (udev-rule.sh,
#      with a running systemd-udevd), the README's inventory scan
#      (inventory.sh), the inventory unit's metrics command through
#      node_exporter (node-exporter.sh) and the PostgreSQL inventory
#      (inventory-pg.sh); the installed unit's systemd-analyze score;
#   4. purge it and check that nothing it installed or made is left.
# Tests that use loop devices or udev run under the shared root-test lock.
#   sh tools/deb-test.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "$(id -u)" = 0 ] || { echo "tools/deb-test.sh: run as root (installs a package)" >&2; exit 1; }
if dpkg-query -W -f='${Status}\n' imgscan 2>/dev/null | grep -q 'ok installed'; then
	echo "tools/deb-test.sh: imgscan is installed already: remove it first" >&2
	exit 1
fi
out=$(mktemp -d)
lock=${IMGSCAN_LOCK:-/tmp/imgscan-root-tests.lock}
fail=0
# a failed run leaves nothing installed either
cleanup() {
	if dpkg-query -W -f='${Status}\n' imgscan 2>/dev/null | grep -q ' installed$\| config-files$'; then
		apt-get purge -y -qq imgscan >/dev/null 2>&1
	fi
	rm -rf "$out"
}
trap cleanup EXIT

check() { # check LABEL CMD...: run CMD, say ok/not ok
	l=$1
	shift
	if "$@"; then echo "ok - $l"; else echo "not ok - $l"; fail=1; fi
}

sh tools/deb.sh "$out"

# the udev rules directory Debian 12's udev.pc names (/lib/udev: on a
# merged /usr the same file as /usr/lib/udev/rules.d)
udevdir=$(pkg-config --variable=udevdir udev 2>/dev/null || echo /lib/udev)
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "$out"/imgscan_*_*.deb >/dev/null
check "installed: /usr/bin/imgscan runs" /usr/bin/imgscan --version
check "installed: the rule in $udevdir/rules.d" test -f "$udevdir/rules.d/65-imgscan.rules"
check "installed: the rule seen in /usr/lib/udev/rules.d" test -f /usr/lib/udev/rules.d/65-imgscan.rules
check "installed: the rule runs /usr/bin/imgscan" \
	grep -q 'IMPORT{program}="/usr/bin/imgscan --udev ' "$udevdir/rules.d/65-imgscan.rules"
check "installed: the service and the timer" \
	test -f "$unitdir/imgscan-inventory.service" -a -f "$unitdir/imgscan-inventory.timer"
check "installed: the man page" test -f /usr/share/man/man8/imgscan.8.gz
check "installed: the timer is enabled" \
	test -L /etc/systemd/system/timers.target.wants/imgscan-inventory.timer
check "installed: the units verify" systemd-analyze verify --man=no \
	"$unitdir/imgscan-inventory.service" "$unitdir/imgscan-inventory.timer"
# docs/inventory.md records 0.9: fail when the unit's hardening gets worse
check "installed: systemd-analyze security <= 1.0" sh -c 'systemd-analyze security --offline=true \
	--threshold=10 --no-pager "$1" >/dev/null' sh "$unitdir/imgscan-inventory.service"
systemd-analyze security --offline=true --no-pager "$unitdir/imgscan-inventory.service" |
	grep 'Overall exposure' || true

run_e2e() { # run_e2e TEST [VAR=value...]
	t=$1
	shift
	rc=0
	env top_srcdir="$top" IMGSCAN=/usr/bin/imgscan FIXTURES="$top/fixtures" "$@" \
		flock "$lock" sh "tests/e2e/$t.sh" >"$out/$t.log" 2>&1 || rc=$?
	case $rc in
	0) echo "ok - installed: $t ($(tail -n 1 "$out/$t.log"))" ;;
	77) echo "not ok - installed: $t skipped: $(grep '^SKIP' "$out/$t.log")"; fail=1 ;;
	*) grep '^not ok' "$out/$t.log" | head -n 20; echo "not ok - installed: $t"; fail=1 ;;
	esac
}
run_e2e udev-rule IMGSCAN_RULE="$udevdir/rules.d/65-imgscan.rules"
run_e2e inventory
run_e2e node-exporter IMGSCAN_UNIT="$unitdir/imgscan-inventory.service"
run_e2e inventory-pg

files=$(dpkg-query -L imgscan)
apt-get purge -y -qq imgscan >/dev/null
left=
for f in $files; do
	# directories other packages own stay
	[ -d "$f" ] && continue
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
for f in /var/lib/imgscan /var/lib/prometheus/node-exporter/imgscan.prom \
		/etc/systemd/system/timers.target.wants/imgscan-inventory.timer \
		/var/lib/systemd/deb-systemd-helper-enabled/imgscan-inventory.timer.dsh-also \
		/var/lib/systemd/deb-systemd-helper-enabled/timers.target.wants/imgscan-inventory.timer; do
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
check "purged: nothing left${left:+:$left}" test -z "$left"
check "purged: dpkg forgets it" sh -c \
	'! dpkg-query -W -f="\${Status}\n" imgscan 2>/dev/null | grep -q " installed$\| config-files$"'
[ "$fail" -eq 0 ] && echo "deb-test: ok"
exit "$fail"
