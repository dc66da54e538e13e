#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/never-follow.sh -- imgscan never opens, stats or follows a path
# named inside a header (docs/security.md, rule 1: CVE-2008-2004,
# CVE-2010-2237/2238, CVE-2015-5163, CVE-2022-47951, CVE-2024-32498,
# CVE-2024-4467).
#
# Images whose qcow2 / qcow / qed backing file, qcow2 external data file,
# vmdk extents and parentFileNameHint and vhd parent name point at an
# existing file, a FIFO and a character device node (all inside the scratch
# dir, so any access to them is unambiguous), by absolute and relative
# names and as a json: spec.  imgscan runs on each (--json, --json --deep,
# --udev) under strace -f -e trace=%file; the trace must name none of the
# targets, and every path it names must be the PATH given or the usual
# run-time ones (/dev, /sys, /proc, shared libraries, locale, udev data).
# A FIFO never blocks: imgscan on an image naming it, and on the FIFO
# itself, finishes within a timeout.
#
# Needs qemu-img, strace, perl; the device node needs root (mknod), else
# it is left out.  Exits 77 without strace.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_need_cmd qemu-img strace perl timeout
e2e_init
set -f
T=$E2E_TMP
export LC_ALL=C
# LeakSanitizer cannot run under ptrace: a sanitizer build traced by strace
# would fail on exit (leaks are checked by the other tests)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS
mkdir "$T/img" "$T/run"

# the targets
printf 'SECRET-CONTENT\n' >"$T/target.raw"
mkfifo "$T/fifo"
TARGETS="$T/target.raw $T/fifo"
if [ "$(id -u)" -eq 0 ] && mknod "$T/devnode" c 1 3 2>/dev/null; then
	TARGETS="$TARGETS $T/devnode"
else
	echo "# not root (or mknod refused): no device-node target"
fi

# vhd_parent IMG NAME : make a dynamic vhd differencing with parent NAME
vhd_parent()
{
	perl -e '
		use strict;
		my ($p, $name) = @ARGV;
		open(my $f, "+<", $p) or die; binmode $f;
		my $size = -s $p;
		sub csum { my ($b, $off) = @_; substr($b, $off, 4) = "\0\0\0\0";
			my $s = 0; $s += $_ for unpack("C*", $b);
			substr($b, $off, 4) = pack("N", ~$s & 0xffffffff); $b }
		for my $at (0, $size - 512) {
			seek($f, $at, 0); read($f, my $ft, 512);
			substr($ft, 60, 4) = pack("N", 4);
			seek($f, $at, 0); print $f csum($ft, 64);
		}
		seek($f, 512, 0); read($f, my $dh, 1024);
		my $u = join("", map { pack("n", ord($_)) } split(//, $name));
		substr($dh, 64, 512) = $u . ("\0" x (512 - length($u)));
		seek($f, 512, 0); print $f csum($dh, 36); close $f;' "$1" "$2"
}

# vmdk_desc IMG EXTENT HINT : a monolithicFlat descriptor
vmdk_desc()
{
	{
		printf '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=87654321\n'
		printf 'createType="monolithicFlat"\nparentFileNameHint="%s"\n' "$3"
		printf '\n# Extent description\nRW 1 FLAT "%s" 0\n' "$2"
		printf 'RW 1 SPARSE "%s"\n' "$2"
		printf '\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = "4"\n'
	} >"$1"
}

k=0
for tgt in $TARGETS; do
	rel=$(basename "$tgt")
	for nm in "$tgt" "$rel" "../$rel" "json:{\"driver\":\"raw\",\"file\":{\"driver\":\"file\",\"filename\":\"$tgt\"}}"; do
		k=$((k + 1))
		# -u: qemu-img itself must not open the targets (a FIFO would block it)
		timeout 10 qemu-img create -q -f qcow2 -u -b "$nm" -F raw "$T/img/q2-$k.qcow2" 1M
		timeout 10 qemu-img create -q -f qcow -u -b "$nm" -F raw "$T/img/q1-$k.qcow" 1M
		timeout 10 qemu-img create -q -f qed -u -b "$nm" -F raw "$T/img/qed-$k.qed" 1M
		vmdk_desc "$T/img/vd-$k.vmdk" "$nm" "$nm"
		timeout 10 qemu-img create -q -f vpc "$T/img/vhd-$k.vhd" 4M
		vhd_parent "$T/img/vhd-$k.vhd" "$nm"
	done
done
# qcow2 external data files: qemu-img creates them, so point at a second
# file, then poke the name in place to the FIFO / device node of the same
# length (the header extension keeps its length)
timeout 10 qemu-img create -q -f qcow2 -o "data_file=$T/target.raw.df,data_file_raw=on" "$T/img/df-file.qcow2" 1M
for tgt in $TARGETS; do
	[ "$tgt" = "$T/target.raw" ] && continue
	b=$(basename "$tgt")
	pad=$(perl -e 'print "x" x (length($ARGV[0]) - length($ARGV[1]))' "$T/target.raw.df" "$T/$b")
	[ -n "$pad" ] || continue
	cp "$T/img/df-file.qcow2" "$T/img/df-$b.qcow2"
	perl -e '
		my ($p, $from, $to) = @ARGV;
		open(my $f, "+<", $p) or die; binmode $f; read($f, my $h, 65536);
		my $i = index($h, $from); die "no name" if $i < 0;
		seek($f, $i, 0); print $f $to; close $f;' \
		"$T/img/df-$b.qcow2" "$T/target.raw.df" "$T/$pad/../$b" 2>/dev/null ||
		rm -f "$T/img/df-$b.qcow2"
done
TARGETS="$TARGETS $T/target.raw.df"

# the directories of the binary's own RUNPATH (an uninstalled imgscan's: the
# build tree's .libs and, under distcheck, the prefix it is to be installed in),
# where the dynamic loader looks for libimgscan.so.1 and libc
RUNPATH_DIRS=$(readelf -d "$IMGSCAN" 2>/dev/null |
	sed -n 's/.*(RUNPATH).*\[\(.*\)\].*/\1/p; s/.*(RPATH).*\[\(.*\)\].*/\1/p' | tr ':' ' ')

# allowed PATH: everything strace shows must be one of these
allowed()
{
	for al_d in $RUNPATH_DIRS; do
		case $1 in "$al_d" | "$al_d"/*) return 0 ;; esac
	done
	case $1 in
	"$2") return 0 ;;
	# the dynamic loader looking for the libraries of an uninstalled imgscan in its rpath
	"${LIBIMGSCAN%/*}"/*) [ -n "${LIBIMGSCAN:-}" ] && return 0 ;;
	/dev/* | /sys/* | /proc/* | /run/udev/* | /etc/ld.so.* | /lib/* | /lib64/* | \
	/usr/lib/* | /usr/lib64/* | /usr/share/locale/* | \
	/etc/localtime | /usr/share/zoneinfo/* | /etc/blkid.conf | /etc/blkid.tab | \
	/run/blkid/* | /usr/share/misc/* | /etc/nsswitch.conf | /etc/udev/*) return 0 ;;
	esac
	return 1
}

# traced LABEL IMG ARGS... : run imgscan IMG under strace in $T/run (so a
# relative name would resolve to ../NAME or NAME inside $T/run, which we
# also watch)
traced()
{
	tr_l=$1
	tr_i=$2
	shift 2
	(cd "$T/run" && timeout 20 strace -f -qq -o "$T/trace" -e trace=%file \
		"$IMGSCAN" "$@" "$tr_i" >"$T/out" 2>"$T/err")
	tr_rc=$?
	if [ "$tr_rc" -eq 124 ]; then
		e2e_notok "$tr_l: imgscan $* blocked (timeout)"
		return
	fi
	e2e_check "$tr_l: imgscan $* exit status" "$tr_rc" 0 expected
	# every quoted path in the trace
	sed -n 's/^[0-9]* *[a-z_0-9]*([^"]*"\([^"]*\)".*/\1/p' "$T/trace" | sort -u >"$T/paths"
	# the PATH given (whose own name may contain a target's name) aside
	grep -vxF -e "$tr_i" -e "$IMGSCAN" "$T/paths" >"$T/paths.other"
	tr_bad=
	for tgt in $TARGETS; do
		tr_b=$(basename "$tgt")
		if grep -qF -e "$tr_b" "$T/paths.other"; then
			tr_bad="$tr_bad $tr_b"
		fi
	done
	if [ -n "$tr_bad" ]; then
		e2e_notok "$tr_l: imgscan $* touched a header-named path:$tr_bad ($(grep -F "$(echo $tr_bad | cut -d' ' -f1)" "$T/paths.other" | head -2 | tr '\n' ' '))"
	else
		e2e_ok "$tr_l: imgscan $* touched no header-named path"
	fi
	tr_other=
	while IFS= read -r p; do
		[ -n "$p" ] || continue  # fstatat(fd, "", AT_EMPTY_PATH)
		allowed "$p" "$tr_i" || tr_other="$tr_other $p"
	done <"$T/paths.other"
	if [ -n "$tr_other" ]; then
		e2e_notok "$tr_l: imgscan $* opened unexpected paths:$tr_other"
	else
		e2e_ok "$tr_l: imgscan $* opened only PATH and run-time files"
	fi
}

set +f
for img in "$T"/img/*; do
	set -f
	b=$(basename "$img")
	traced "$b" "$img" --json
	traced "$b" "$img" --json --deep
	traced "$b" "$img" --udev
	set +f
done
set -f

# the FIFO itself as PATH: refused at once, never blocks
timeout 10 "$IMGSCAN" --json "$T/fifo" >"$T/out" 2>"$T/err"
rc=$?
e2e_check "FIFO as PATH: imgscan exit status (refused, no hang)" "$rc" 1 expected
if [ "$(id -u)" -eq 0 ] && [ -c "$T/devnode" ]; then
	timeout 10 "$IMGSCAN" --json "$T/devnode" >"$T/out" 2>"$T/err"
	e2e_check "char device as PATH: imgscan exit status (refused)" "$?" 1 expected
fi
# the targets are untouched
e2e_check "target file unchanged" "$(cat "$T/target.raw")" "SECRET-CONTENT" expected

e2e_summary
