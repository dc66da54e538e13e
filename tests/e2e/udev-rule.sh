#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/udev-rule.sh -- udev/65-imgscan.rules through a real
# systemd-udevd.
#
# Follows udev(7) and docs/udev.md, "How udev runs imgscan" (how
# IMPORT{program} output becomes properties: no PATH, values stored raw, one
# property per KEY=value line, each event starts fresh; the rule skeleton)
# and "Property names and how values are encoded".  The rule is installed for the test only:
#
#   /run/udev/rules.d/65-imgscan-test.rules   the rule, @bindir@ replaced by a
#                                             mktemp -d dir under /run holding
#                                             a copy of $IMGSCAN (udevd runs
#                                             programs without PATH and, as a
#                                             service, with PrivateMounts)
#   /run/udev/rules.d/64-imgscan-optout-test.rules   ENV{IMGSCAN_DISABLE}="1"
#                                             for one loop device
#
# Both files, every loop device this script attached and the copy are
# removed by the EXIT trap, followed by "udevadm control --reload".
#
# IMGSCAN_RULE=FILE tests an installed rule instead (a package's, such as
# /lib/udev/rules.d/65-imgscan.rules): it is used as it is, must run
# $IMGSCAN (IMGSCAN=/usr/bin/imgscan), and is left in place.
#
# Checks (udevadm info --query=property --name=/dev/loopN after a change
# event and "udevadm settle"):
#   - qcow2 v3 lazy_refcounts, qcow2 v2 with a hostile backing name (spaces,
#     $, quotes, backquote, ;, UTF-8, invalid UTF-8), qcow2 with a quoted
#     backing name, vmdk, vpc dynamic, luks: ID_IMAGE_FORMAT,
#     ID_IMAGE_VIRTUAL_SIZE, ID_IMAGE_COMPAT as qemu-img info reports them;
#     ID_IMAGE_FEATURES; ID_IMAGE_BACKING_FILE_ENC decodes to the exact name;
#     the stored ID_IMAGE_* set equals "imgscan --udev /dev/loopN"; no value
#     holds a control character;
#   - a qcow2 (with a backing file) whose last 512 bytes are a fixed VHD's
#     footer, as a guest can write into its LV's last cluster: the qcow2
#     properties stand (ID_IMAGE_FORMAT=qcow2, the backing file) and
#     ID_IMAGE_AMBIGUOUS=qcow2,vpc lists the footer;
#   - zeros: no ID_IMAGE_*; ext4 with a qcow2 header in its boot block: no
#     ID_IMAGE_* (the ID_FS_TYPE guard);
#   - a qcow2 header written onto an attached zero device makes the
#     properties appear (inotify watch), zeros written over it make them go;
#   - the IMGSCAN_DISABLE opt-out; detaching leaves no ID_IMAGE_* behind.
#
# Needs root, a running systemd-udevd, udevadm, losetup and qemu-img; skips
# (exit 77) otherwise.  Output: "ok - ..." / "not ok - ..." lines, then
# "N passed, N failed".

# DEV_<image> variables are assigned through eval; udev_cleanup runs from
# the EXIT trap
# shellcheck disable=SC2154,SC2317
. "${top_srcdir:-.}/tests/e2e/lib.sh"

RULE_SRC=${top_srcdir:-.}/udev/65-imgscan.rules
RULES_D=/run/udev/rules.d
RULE=$RULES_D/65-imgscan-test.rules
INSTALLED_RULE=${IMGSCAN_RULE:-}
OPTOUT=$RULES_D/64-imgscan-optout-test.rules

[ "$(id -u)" = 0 ] || e2e_skip "needs root (loop devices, /run/udev/rules.d)"
e2e_need_cmd udevadm losetup qemu-img jq timeout od awk dd truncate
pgrep -x systemd-udevd >/dev/null 2>&1 ||
	e2e_skip "systemd-udevd is not running (start it: /lib/systemd/systemd-udevd --daemon)"
timeout 10 udevadm control --ping >/dev/null 2>&1 ||
	e2e_skip "systemd-udevd does not answer udevadm control --ping"
[ -e /dev/loop-control ] || e2e_skip "no /dev/loop-control (loop driver missing)"
[ -r "$RULE_SRC" ] || {
	echo "not ok - rule file not found: $RULE_SRC"
	echo "0 passed, 1 failed"
	exit 1
}

LOOPS=
BINDIR=
RULE_INSTALLED=

udev_cleanup()
{
	for u_l in $LOOPS; do
		losetup -d "$u_l" 2>/dev/null
	done
	LOOPS=
	if [ -n "$RULE_INSTALLED" ]; then
		[ -n "$INSTALLED_RULE" ] || rm -f "$RULE"
		rm -f "$OPTOUT"
		udevadm control --reload 2>/dev/null
		timeout 40 udevadm settle --timeout=30 2>/dev/null
	fi
	if [ -n "$BINDIR" ]; then
		rm -rf "$BINDIR"
	fi
}

e2e_init
E2E_CLEANUP=udev_cleanup

# ---------------------------------------------------------------- helpers

u_settle()
{
	timeout 40 udevadm settle --timeout=30 2>/dev/null
}

# u_trigger DEV... : synthesise a change event and wait for it
u_trigger()
{
	timeout 60 udevadm trigger --action=change --settle "$@" 2>/dev/null ||
		timeout 60 udevadm trigger --action=change "$@" 2>/dev/null
	u_settle
}

# u_props DEV FILE : the device's udev properties into FILE
u_props()
{
	udevadm info --query=property --name="$1" >"$2" 2>/dev/null || : >"$2"
}

# u_has_image FILE : true when FILE holds any ID_IMAGE_* property
u_has_image()
{
	grep -q '^ID_IMAGE_' "$1"
}

# u_wait DEV FILE present|absent : poll (up to ~15 s) until the device's
# ID_IMAGE_* properties are present/absent; FILE holds the last snapshot
u_wait()
{
	u_n=0
	while :; do
		u_settle
		u_props "$1" "$2"
		if u_has_image "$2"; then
			[ "$3" = present ] && return 0
		else
			[ "$3" = absent ] && return 0
		fi
		u_n=$((u_n + 1))
		[ "$u_n" -ge 30 ] && return 1
		sleep 0.5
	done
}

# u_attach FILE : attach FILE to a free loop device, whose name goes into
# U_DEV (not run in a subshell: LOOPS must reach the EXIT trap)
u_attach()
{
	U_DEV=$(losetup --find --show "$1" 2>"$E2E_TMP/losetup.err") || {
		echo "# losetup $1 failed: $(cat "$E2E_TMP/losetup.err")"
		return 1
	}
	LOOPS="$LOOPS $U_DEV"
}

u_detach()
{
	losetup -d "$1" 2>/dev/null
	u_rest=
	for u_l in $LOOPS; do
		[ "$u_l" = "$1" ] || u_rest="$u_rest $u_l"
	done
	LOOPS=$u_rest
}

# u_pad FILE : round the file size up to a multiple of 512 (zeros at the
# end) so the loop device covers every byte qemu-img wrote
u_pad()
{
	u_sz=$(wc -c <"$1")
	u_r=$((u_sz % 512))
	[ "$u_r" -eq 0 ] || truncate -s $((u_sz + 512 - u_r)) "$1"
}

# u_hex : stdin as one line of hex bytes
u_hex()
{
	od -An -v -tx1 | tr -d ' \n'
}

# u_decode_enc : undo the \xHH encoding of an _ENC value (stdin, one line)
u_decode_enc()
{
	LC_ALL=C awk 'BEGIN { for (i = 0; i < 256; i++) h[sprintf("%02x", i)] = i }
	{
		s = $0; o = ""
		while ((i = index(s, "\\x")) > 0) {
			o = o substr(s, 1, i - 1)
			c = tolower(substr(s, i + 2, 2))
			if (c in h) { o = o sprintf("%c", h[c]); s = substr(s, i + 4) }
			else { o = o "\\x"; s = substr(s, i + 2) }
		}
		printf "%s", o s
	}'
}

# u_qemu FILE JQEXPR : one field of qemu-img info (empty when absent)
u_qemu()
{
	qemu-img info -U --output=json "$1" 2>/dev/null | jq -r "$2 // empty" 2>/dev/null
}

# u_common LABEL DEV FILE PROPS : the checks every image gets
u_common()
{
	u_lab=$1
	u_dev=$2
	u_img=$3
	u_p=$4
	e2e_check "$u_lab: ID_IMAGE_FORMAT" "$(udev_get "$u_p" ID_IMAGE_FORMAT)" \
		"$(u_qemu "$u_img" .format)"
	e2e_check "$u_lab: ID_IMAGE_VIRTUAL_SIZE" \
		"$(udev_get "$u_p" ID_IMAGE_VIRTUAL_SIZE)" \
		"$(u_qemu "$u_img" '."virtual-size"')"
	u_compat=$(u_qemu "$u_img" '."format-specific".data.compat')
	if [ -n "$u_compat" ]; then
		e2e_check "$u_lab: ID_IMAGE_COMPAT" \
			"$(udev_get "$u_p" ID_IMAGE_COMPAT)" "$u_compat"
	fi
	# what udev stored is exactly what the program printed
	grep '^ID_IMAGE_' "$u_p" | LC_ALL=C sort >"$u_p.db"
	# (a value that starts with a quote is printed wrapped in single quotes,
	# which udev strips: compare what udev stores)
	"$IMGSCAN" --udev "$u_dev" 2>/dev/null |
		sed "s/^\([A-Z_]*\)='\(.*\)'\$/\1=\2/" | LC_ALL=C sort >"$u_p.cli"
	if cmp -s "$u_p.db" "$u_p.cli"; then
		e2e_ok "$u_lab: udev db ID_IMAGE_* = imgscan --udev $u_dev"
	else
		e2e_notok "$u_lab: udev db ID_IMAGE_* differs from imgscan --udev $u_dev: $(diff "$u_p.cli" "$u_p.db" | grep '^[<>]' | tr '\n' ' ')"
	fi
	if grep '^ID_IMAGE_' "$u_p" | LC_ALL=C grep -q '[[:cntrl:]]'; then
		e2e_notok "$u_lab: control character in an ID_IMAGE_* value"
	else
		e2e_ok "$u_lab: no control character in ID_IMAGE_* values"
	fi
}

# u_has_feature PROPS NAME : NAME is in the comma list ID_IMAGE_FEATURES
u_has_feature()
{
	case ",$(udev_get "$1" ID_IMAGE_FEATURES)," in
	*",$2,"*) return 0 ;;
	esac
	return 1
}

# u_backing LABEL PROPS NAME : ID_IMAGE_BACKING_FILE_ENC decodes to NAME
u_backing()
{
	u_enc=$(udev_get "$2" ID_IMAGE_BACKING_FILE_ENC)
	u_got=$(printf '%s\n' "$u_enc" | u_decode_enc | u_hex)
	u_want=$(printf '%s' "$3" | u_hex)
	e2e_check "$1: ID_IMAGE_BACKING_FILE_ENC decodes to the name" \
		"$u_got" "$u_want" "name bytes"
	# only the allowlist, \xHH and valid UTF-8 may remain
	if printf '%s' "$u_enc" | LC_ALL=C grep -q '[][ 	"$`;'"'"'/|&(){}<>*?!~^,%]'; then
		e2e_notok "$1: ID_IMAGE_BACKING_FILE_ENC holds an unencoded special character: $u_enc"
	else
		e2e_ok "$1: ID_IMAGE_BACKING_FILE_ENC holds only safe bytes"
	fi
	if udev_get "$2" ID_IMAGE_BACKING_FILE | LC_ALL=C grep -q '[[:space:]]'; then
		e2e_notok "$1: ID_IMAGE_BACKING_FILE holds whitespace"
	else
		e2e_ok "$1: ID_IMAGE_BACKING_FILE holds no whitespace"
	fi
	e2e_check "$1: ID_IMAGE_BACKING_FORMAT" \
		"$(udev_get "$2" ID_IMAGE_BACKING_FORMAT)" raw expected
}

# ------------------------------------------------------ install the rule

if [ -n "$INSTALLED_RULE" ]; then
	RULE=$INSTALLED_RULE
	[ -r "$RULE" ] || {
		e2e_notok "installed rule not found: $RULE"
		e2e_summary
	}
	e2e_check "installed rule runs $IMGSCAN" \
		"$(grep -c "IMPORT{program}=\"$IMGSCAN --udev " "$RULE")" 1 expected
	mkdir -p "$RULES_D" || e2e_skip "cannot create $RULES_D"
	RULE_INSTALLED=1
	rm -f "$OPTOUT"
	if udevadm control --reload; then
		e2e_ok "testing the installed rule $RULE"
	else
		e2e_notok "udevadm control --reload failed"
	fi
else
BINDIR=$(mktemp -d /run/imgscan-udev-test.XXXXXX 2>/dev/null) ||
	BINDIR=$(mktemp -d "${TMPDIR:-/tmp}/imgscan-udev-bin.XXXXXX") || {
	e2e_notok "mktemp -d for the imgscan copy failed"
	e2e_summary
}
chmod 755 "$BINDIR"
if ! cp "$IMGSCAN" "$BINDIR/imgscan" || ! chmod 755 "$BINDIR/imgscan"; then
	e2e_notok "cannot copy $IMGSCAN to $BINDIR"
	e2e_summary
fi
for d in /etc/udev/rules.d /run/udev/rules.d /usr/lib/udev/rules.d \
		/lib/udev/rules.d /usr/local/lib/udev/rules.d; do
	[ -e "$d/65-imgscan.rules" ] &&
		echo "# note: an installed $d/65-imgscan.rules is active as well"
done
mkdir -p "$RULES_D" || e2e_skip "cannot create $RULES_D"
RULE_INSTALLED=1
sed "s|@bindir@|$BINDIR|g" "$RULE_SRC" >"$RULE" || {
	e2e_notok "cannot write $RULE"
	e2e_summary
}
if grep -q '@bindir@' "$RULE"; then
	e2e_notok "rule: @bindir@ left in $RULE"
fi
rm -f "$OPTOUT"
if udevadm control --reload; then
	e2e_ok "rule installed as $RULE (imgscan copy in $BINDIR)"
else
	e2e_notok "udevadm control --reload failed"
fi
fi

# ----------------------------------------------------------- the images

T=$E2E_TMP
# shellcheck disable=SC2016
HOSTILE=$(printf 'my disk $HOME "q" '"'"'s`id`;x \303\251 \377\376.img')
QUOTED='"quoted"'

qemu-img create -q -f qcow2 -o compat=1.1,lazy_refcounts=on "$T/lazy.qcow2" 64M &&
qemu-img create -q -f qcow2 -o compat=0.10 -u -b "$HOSTILE" -F raw \
	"$T/hostile.qcow2" 32M &&
qemu-img create -q -f qcow2 -u -b "$QUOTED" -F raw "$T/quoted.qcow2" 16M &&
qemu-img create -q -f vmdk "$T/disk.vmdk" 100M &&
qemu-img create -q -f vpc -o subformat=dynamic "$T/disk.vhd" 100M || {
	e2e_notok "qemu-img create failed"
	e2e_summary
}
# luks: qemu-img's PBKDF benchmark sometimes fails ("Unable to get accurate
# CPU usage"); a short iter-time and a few tries make it reliable
HAVE_LUKS=
for it in 10 10 50; do
	if qemu-img create -q -f luks --object secret,id=s0,data=imgscan \
			-o key-secret=s0,iter-time=$it "$T/disk.luks" 16M 2>"$T/luks.err"; then
		HAVE_LUKS=1
		break
	fi
done
[ -n "$HAVE_LUKS" ] || echo "# luks image not made: $(cat "$T/luks.err")"
for f in lazy.qcow2 hostile.qcow2 quoted.qcow2 disk.vmdk disk.vhd; do
	u_pad "$T/$f"
done
# a qcow2 whose last 512 bytes are the footer of a fixed VHD of its size
HAVE_FOOTER=
if qemu-img create -q -f vpc -o subformat=fixed,force_size=on "$T/fixed.vhd" 8M &&
		qemu-img create -q -f qcow2 -u -b base.qcow2 -F qcow2 "$T/footer.qcow2" 32M &&
		truncate -s 8M "$T/footer.qcow2" &&
		tail -c 512 "$T/fixed.vhd" >>"$T/footer.qcow2" &&
		[ "$(wc -c <"$T/footer.qcow2")" -eq "$(wc -c <"$T/fixed.vhd")" ]; then
	HAVE_FOOTER=1
else
	e2e_notok "could not make the qcow2 with a VHD footer"
fi
truncate -s 4M "$T/zero.img"
cp "$T/lazy.qcow2" "$T/optout.qcow2"
HAVE_EXT4=
if command -v mkfs.ext4 >/dev/null 2>&1 &&
		truncate -s 8M "$T/ext4.img" &&
		mkfs.ext4 -q -F "$T/ext4.img" >/dev/null 2>&1; then
	# a qcow2 header in the ext4 boot block (bytes 0..1023, unused by
	# ext4): imgscan alone sees qcow2, blkid sees ext4
	head -c 1024 "$T/lazy.qcow2" |
		dd of="$T/ext4.img" conv=notrunc status=none
	HAVE_EXT4=1
else
	echo "# mkfs.ext4 not available: ext4 guard not tested"
fi

IMAGES="lazy.qcow2 hostile.qcow2 quoted.qcow2 disk.vmdk disk.vhd zero.img optout.qcow2"
[ -n "$HAVE_LUKS" ] && IMAGES="$IMAGES disk.luks"
[ -n "$HAVE_EXT4" ] && IMAGES="$IMAGES ext4.img"
[ -n "$HAVE_FOOTER" ] && IMAGES="$IMAGES footer.qcow2"

# attach; the device of image F is in variable DEV_<F with . -> _>
for f in $IMAGES; do
	v=DEV_$(echo "$f" | tr . _)
	u_attach "$T/$f" || {
		e2e_notok "losetup --find --show $f failed"
		e2e_summary
	}
	eval "$v=\$U_DEV"
done
u_settle

# the kernel's change event on attach already runs the rule
u_props "$DEV_lazy_qcow2" "$T/lazy.attach"
if u_has_image "$T/lazy.attach"; then
	e2e_ok "lazy qcow2: ID_IMAGE_* set by the attach event ($DEV_lazy_qcow2)"
else
	e2e_notok "lazy qcow2: no ID_IMAGE_* after the attach event ($DEV_lazy_qcow2)"
fi

ALLDEVS=
for f in $IMAGES; do
	v=DEV_$(echo "$f" | tr . _)
	eval "ALLDEVS=\"\$ALLDEVS \$$v\""
done
# shellcheck disable=SC2086
u_trigger $ALLDEVS

# ------------------------------------------------------ per-image checks

u_props "$DEV_lazy_qcow2" "$T/p.lazy"
u_common "qcow2 v3 lazy_refcounts ($DEV_lazy_qcow2)" "$DEV_lazy_qcow2" \
	"$T/lazy.qcow2" "$T/p.lazy"
if u_has_feature "$T/p.lazy" lazy_refcounts; then
	e2e_ok "qcow2 v3: ID_IMAGE_FEATURES has lazy_refcounts"
else
	e2e_notok "qcow2 v3: ID_IMAGE_FEATURES is '$(udev_get "$T/p.lazy" ID_IMAGE_FEATURES)', no lazy_refcounts"
fi
e2e_check "qcow2 v3: ID_IMAGE_FORMAT_VERSION" \
	"$(udev_get "$T/p.lazy" ID_IMAGE_FORMAT_VERSION)" 3 expected

# --cached reads the same values from the database without opening anything,
# also as an unprivileged user
"$IMGSCAN" --cached >"$T/cached" 2>&1
e2e_check "--cached: lists $DEV_lazy_qcow2 as qcow2" \
	"$(awk -v d="DEVNAME=\"$DEV_lazy_qcow2\"" '$0 == d { f = 1; next } /^$/ { f = 0 } f && /^ID_IMAGE_FORMAT=/ { print }' "$T/cached")" \
	'ID_IMAGE_FORMAT="qcow2"'
if command -v runuser >/dev/null 2>&1; then
	chmod 0755 "$T"
	e2e_nobody_copy "$T/imgscan-nobody"
	runuser -u nobody -- "$T/imgscan-nobody" --cached -J >"$T/cached.json" 2>&1
	e2e_check "--cached -J as nobody: $DEV_lazy_qcow2 is qcow2" \
		"$(jq -r --arg d "$DEV_lazy_qcow2" '.images[] | select(.path == $d) | .udev.ID_IMAGE_FORMAT' "$T/cached.json")" \
		qcow2
fi

u_props "$DEV_hostile_qcow2" "$T/p.hostile"
u_common "qcow2 v2 hostile backing ($DEV_hostile_qcow2)" "$DEV_hostile_qcow2" \
	"$T/hostile.qcow2" "$T/p.hostile"
u_backing "qcow2 v2 hostile backing" "$T/p.hostile" "$HOSTILE"
if u_has_feature "$T/p.hostile" lazy_refcounts; then
	e2e_notok "qcow2 v2: ID_IMAGE_FEATURES has lazy_refcounts"
else
	e2e_ok "qcow2 v2: no lazy_refcounts feature"
fi

u_props "$DEV_quoted_qcow2" "$T/p.quoted"
u_common "qcow2 quoted backing ($DEV_quoted_qcow2)" "$DEV_quoted_qcow2" \
	"$T/quoted.qcow2" "$T/p.quoted"
u_backing "qcow2 quoted backing" "$T/p.quoted" "$QUOTED"

u_props "$DEV_disk_vmdk" "$T/p.vmdk"
u_common "vmdk ($DEV_disk_vmdk)" "$DEV_disk_vmdk" "$T/disk.vmdk" "$T/p.vmdk"

u_props "$DEV_disk_vhd" "$T/p.vhd"
u_common "vpc dynamic ($DEV_disk_vhd)" "$DEV_disk_vhd" "$T/disk.vhd" "$T/p.vhd"
e2e_check "vpc dynamic: ID_IMAGE_SUBFORMAT" \
	"$(udev_get "$T/p.vhd" ID_IMAGE_SUBFORMAT)" dynamic expected

if [ -n "$HAVE_FOOTER" ]; then
	# the footer is a guest's to write: it must not hide the host's qcow2 facts
	u_props "$DEV_footer_qcow2" "$T/p.footer"
	u_common "qcow2 with a VHD footer ($DEV_footer_qcow2)" "$DEV_footer_qcow2" \
		"$T/footer.qcow2" "$T/p.footer"
	e2e_check "qcow2 with a VHD footer: ID_IMAGE_AMBIGUOUS lists both" \
		"$(udev_get "$T/p.footer" ID_IMAGE_AMBIGUOUS)" qcow2,vpc expected
	e2e_check "qcow2 with a VHD footer: ID_IMAGE_BACKING_FILE kept" \
		"$(udev_get "$T/p.footer" ID_IMAGE_BACKING_FILE)" base.qcow2 expected
	e2e_check "qcow2 with a VHD footer: ID_IMAGE_CLUSTER_SIZE kept" \
		"$(udev_get "$T/p.footer" ID_IMAGE_CLUSTER_SIZE)" 65536 expected
fi

if [ -n "$HAVE_LUKS" ]; then
	u_props "$DEV_disk_luks" "$T/p.luks"
	e2e_check "luks: blkid ran first (ID_FS_TYPE)" \
		"$(udev_get "$T/p.luks" ID_FS_TYPE)" crypto_LUKS expected
	u_common "luks ($DEV_disk_luks)" "$DEV_disk_luks" "$T/disk.luks" "$T/p.luks"
fi

u_props "$DEV_zero_img" "$T/p.zero"
if u_has_image "$T/p.zero"; then
	e2e_notok "zeros ($DEV_zero_img): ID_IMAGE_* present: $(grep '^ID_IMAGE_' "$T/p.zero" | tr '\n' ' ')"
else
	e2e_ok "zeros ($DEV_zero_img): no ID_IMAGE_*"
fi

if [ -n "$HAVE_EXT4" ]; then
	u_props "$DEV_ext4_img" "$T/p.ext4"
	e2e_check "ext4 ($DEV_ext4_img): ID_FS_TYPE" \
		"$(udev_get "$T/p.ext4" ID_FS_TYPE)" ext4 expected
	u_alone=$("$IMGSCAN" --udev "$DEV_ext4_img" 2>/dev/null | udev_get /dev/stdin ID_IMAGE_FORMAT)
	echo "# ext4 with a qcow2 boot block: imgscan --udev alone says format '${u_alone:-<none>}'"
	if u_has_image "$T/p.ext4"; then
		e2e_notok "ext4 ($DEV_ext4_img): ID_IMAGE_* present despite the blkid guard"
	else
		e2e_ok "ext4 ($DEV_ext4_img): no ID_IMAGE_* (blkid guard)"
	fi
fi

# ------------------------------------ write onto an attached device (watch)

D=$DEV_zero_img
head -c 65536 "$T/lazy.qcow2" >"$T/hdr.bin"
if dd if="$T/hdr.bin" of="$D" bs=65536 conv=notrunc,fsync status=none; then
	if u_wait "$D" "$T/p.w1" present; then
		e2e_ok "write: qcow2 header written onto $D makes ID_IMAGE_* appear (watch)"
	else
		e2e_notok "write: no ID_IMAGE_* 15 s after writing a qcow2 header onto $D (no watch event?)"
		u_trigger "$D"
		u_props "$D" "$T/p.w1"
	fi
	e2e_check "write: ID_IMAGE_FORMAT after the header write" \
		"$(udev_get "$T/p.w1" ID_IMAGE_FORMAT)" qcow2 expected
else
	e2e_notok "write: dd onto $D failed"
fi
# udevd takes its inotify watch off a device while an event of it is
# processed and puts it back after the database is written: a write in that
# gap has no event.  Let the first event finish before the second write.
u_settle
sleep 1
if dd if=/dev/zero of="$D" bs=65536 count=1 conv=notrunc,fsync status=none; then
	if u_wait "$D" "$T/p.w2" absent; then
		e2e_ok "write: zeros written over the header make ID_IMAGE_* go"
	else
		e2e_notok "write: ID_IMAGE_* still present 15 s after zeroing $D"
		u_trigger "$D"
		u_props "$D" "$T/p.w2"
		u_has_image "$T/p.w2" &&
			e2e_notok "write: ID_IMAGE_* still present after a change trigger on zeroed $D"
	fi
else
	e2e_notok "write: dd of zeros onto $D failed"
fi

# ------------------------------------------------------------ the opt-out

O=$DEV_optout_qcow2
u_props "$O" "$T/p.o1"
if u_has_image "$T/p.o1"; then
	e2e_ok "opt-out: $O has ID_IMAGE_* before the opt-out rule"
else
	e2e_notok "opt-out: $O has no ID_IMAGE_* even before the opt-out rule"
fi
printf 'KERNEL=="%s", ENV{IMGSCAN_DISABLE}="1"\n' "${O#/dev/}" >"$OPTOUT"
udevadm control --reload
u_trigger "$O" "$DEV_lazy_qcow2"
u_props "$O" "$T/p.o2"
if u_has_image "$T/p.o2"; then
	e2e_notok "opt-out: IMGSCAN_DISABLE=1 on $O but ID_IMAGE_* present: $(grep '^ID_IMAGE_' "$T/p.o2" | tr '\n' ' ')"
else
	e2e_ok "opt-out: IMGSCAN_DISABLE=1 keeps $O free of ID_IMAGE_*"
fi
e2e_check "opt-out: IMGSCAN_DISABLE stored on $O" \
	"$(udev_get "$T/p.o2" IMGSCAN_DISABLE)" 1 expected
u_props "$DEV_lazy_qcow2" "$T/p.o3"
if u_has_image "$T/p.o3"; then
	e2e_ok "opt-out: another device ($DEV_lazy_qcow2) still has ID_IMAGE_*"
else
	e2e_notok "opt-out: another device ($DEV_lazy_qcow2) lost ID_IMAGE_*"
fi
rm -f "$OPTOUT"
udevadm control --reload
u_trigger "$O"
u_props "$O" "$T/p.o4"
if u_has_image "$T/p.o4"; then
	e2e_ok "opt-out: removing the opt-out rule brings ID_IMAGE_* back on $O"
else
	e2e_notok "opt-out: no ID_IMAGE_* on $O after removing the opt-out rule"
fi

# ---------------------------------------------------------------- detach

for f in lazy.qcow2 hostile.qcow2 disk.vhd; do
	v=DEV_$(echo "$f" | tr . _)
	eval "d=\$$v"
	u_detach "$d"
	u_settle
	n=${d#/dev/}
	if [ -e "/sys/block/$n/loop/backing_file" ]; then
		# someone else attached the freed device in the meantime
		echo "# detach: $d was re-attached by another process, not checked"
		continue
	fi
	if u_wait "$d" "$T/p.d.$n" absent; then
		e2e_ok "detach: $d ($f) has no ID_IMAGE_* after losetup -d"
	else
		e2e_notok "detach: $d ($f) still has ID_IMAGE_* after losetup -d: $(grep '^ID_IMAGE_' "$T/p.d.$n" | tr '\n' ' ')"
	fi
done

e2e_summary
