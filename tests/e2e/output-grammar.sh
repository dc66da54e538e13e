#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/output-grammar.sh -- hostile names through every output
# (docs/security.md, rule 4; CVE-2014-9114 blkid output injection).
#
# Images whose header strings are hostile: qcow2 backing file and external
# data file names holding ; | & $() backquotes quotes, a newline, invalid
# UTF-8 and 1023 bytes; a vmdk descriptor with hostile extent names and
# parentFileNameHint; a differencing vhd with a hostile parent name; plus
# every fixtures/bad/*.head image.  For each:
#   --udev    every line is ^ID_IMAGE_[A-Z_]+=[[:print:]]*$ (C locale)
#   --export  eval'd by sh -c in a scratch dir: a canary command inside the
#             names must never run, and each value decodes (\xHH) back to
#             the header bytes
#   --json    jq parses it and iconv -f UTF-8 accepts it; a valid-UTF-8
#             backing name reads back unchanged
# Needs qemu-img, jq, iconv, perl (Debian: perl-base is essential); exits
# 77 without them.

. "${top_srcdir:-.}/tests/e2e/lib.sh"

e2e_need_cmd qemu-img jq iconv perl
e2e_init
set -f
T=$E2E_TMP
export LC_ALL=C
# a UTF-8 locale for [[:print:]] on UTF-8 values (C.UTF-8 ships with libc-bin)
U8=C.UTF-8
locale -a 2>/dev/null | grep -qi '^c\.utf-\?8$' || U8=C
mkdir "$T/img" "$T/eval"

# the canary: any of these names, run as a command, creates $T/eval/PWNED

# NAME-FILE: a name's exact bytes live in a file (newlines and all)
n=0
name()
{
	n=$((n + 1))
	printf "$1" >"$T/name.$n"
}
# shellcheck disable=SC2016
name 'a;b|c&d$(touch PWNED)e'
name 'x`touch PWNED`y'
name '"; touch PWNED; echo "'
name "'; touch PWNED; echo '"
name 'line1\nID_IMAGE_FORMAT=raw\nRUN+="/bin/sh -c touch PWNED"'
name 'bad-utf8-\377\376\300\257-\355\240\200-end'
name 'tab\there\rcr\033[31mesc'
name '$PWD ${IFS} \\\\ back\\slash <>&|'
name 'json:{"driver":"file","filename":"/etc/passwd"}'
name '/etc/passwd'
# C1 controls (U+009B is the 8-bit CSI, U+0085 NEL) and DEL: valid UTF-8 that
# no output may carry raw
name 'csi\302\23331m-nel\302\205-first\302\200-last\302\237-del\177-end'
name '\302\233\302\233'
# 1023 bytes: the longest qcow2 backing name
perl -e 'print "\$(touch PWNED)" . ("A" x (1023 - 14))' >"$T/name.$((n + 1))"
n=$((n + 1))
NAMES=$n

# has_c1 FILE: FILE holds a C1 control as UTF-8 (c2 80 .. c2 9f)
has_c1()
{
	LC_ALL=C grep -q "$(printf '\302[\200-\237]')" "$1"
}

# check_image LABEL IMG [NAMEFILE] : every output of one image
check_image()
{
	ci_l=$1
	ci_i=$2
	ci_n=${3:-}

	"$IMGSCAN" --udev "$ci_i" >"$T/out.udev" 2>"$T/err"
	ci_rc=$?
	e2e_check "$ci_l: --udev exit status" "$ci_rc" 0 expected
	# [[:print:]] in a UTF-8 locale: plain values keep valid UTF-8 as
	# blkid_safe_string does (udev stores UTF-8 labels); every byte below
	# 0x20 and DEL is refused, and the whole output must be valid UTF-8
	if LC_ALL=$U8 grep -qvE '^ID_IMAGE_[A-Z_]+=[[:print:]]*$' "$T/out.udev" ||
	   LC_ALL=C grep -q "$(printf '[\001-\037\177]')" "$T/out.udev" || has_c1 "$T/out.udev" ||
	   ! iconv -f UTF-8 -t UTF-8 "$T/out.udev" >/dev/null 2>&1; then
		e2e_notok "$ci_l: --udev line outside the grammar: $(LC_ALL=$U8 grep -vE '^ID_IMAGE_[A-Z_]+=[[:print:]]*$' "$T/out.udev" | head -c 200 | od -c | head -3 | tr '\n' ' ')"
	else
		e2e_ok "$ci_l: --udev grammar ($(wc -l <"$T/out.udev") lines)"
	fi

	"$IMGSCAN" --export "$ci_i" >"$T/out.export" 2>"$T/err"
	e2e_check "$ci_l: --export exit status" "$?" 0 expected
	rm -f "$T/eval/PWNED"
	(cd "$T/eval" && sh -c '
		eval "$(cat "$1")" || exit 3
		for v in DEVNAME ID_IMAGE_FORMAT ID_IMAGE_BACKING_FILE ID_IMAGE_DATA_FILE; do
			eval "printf \"%s\" \"\${$v-}\"" >"$2.$v"
		done' sh "$T/out.export" "$T/val")
	e2e_check "$ci_l: --export eval status" "$?" 0 expected
	if [ -e "$T/eval/PWNED" ]; then
		e2e_notok "$ci_l: --export eval ran the canary command"
	else
		e2e_ok "$ci_l: --export eval ran nothing"
	fi
	e2e_check "$ci_l: --export DEVNAME" "$(cat "$T/val.DEVNAME")" "$ci_i" expected
	if [ -n "$ci_n" ] && [ -s "$T/val.ID_IMAGE_BACKING_FILE" ]; then
		# \xHH -> byte: the decoded value must be the header bytes
		perl -pe 's/\\x([0-9a-fA-F]{2})/chr(hex($1))/ge' \
			"$T/val.ID_IMAGE_BACKING_FILE" >"$T/decoded"
		if cmp -s "$T/decoded" "$ci_n"; then
			e2e_ok "$ci_l: --export backing name decodes to the header bytes"
		else
			e2e_notok "$ci_l: --export backing name decodes to $(od -c "$T/decoded" | head -2 | tr '\n' ' ')"
		fi
	fi

	"$IMGSCAN" --json "$ci_i" >"$T/out.json" 2>"$T/err"
	e2e_check "$ci_l: --json exit status" "$?" 0 expected
	if jq -e '.images | length == 1' "$T/out.json" >/dev/null 2>&1; then
		e2e_ok "$ci_l: --json parses"
	else
		e2e_notok "$ci_l: --json does not parse: $(head -c 200 "$T/out.json")"
	fi
	if iconv -f UTF-8 -t UTF-8 "$T/out.json" >/dev/null 2>&1; then
		e2e_ok "$ci_l: --json is valid UTF-8"
	else
		e2e_notok "$ci_l: --json is not valid UTF-8"
	fi
	if LC_ALL=C grep -q "$(printf '[\001-\010\013\014\016-\037\177]')" "$T/out.json" ||
	   has_c1 "$T/out.json"; then
		e2e_notok "$ci_l: --json holds raw control characters"
	else
		e2e_ok "$ci_l: --json holds no raw control character"
	fi

	# the table, the tree and -P: no C0 other than the line ends, no DEL, no C1
	for ci_o in "-o NAME,BACKING,BFMT" "-T -o NAME,BACKING" "-P -o NAME,BACKING,BFMT"; do
		# shellcheck disable=SC2086
		"$IMGSCAN" $ci_o "$ci_i" >"$T/out.tab" 2>"$T/err"
		if LC_ALL=C grep -q "$(printf '[\001-\011\013-\037\177]')" "$T/out.tab" ||
		   has_c1 "$T/out.tab"; then
			e2e_notok "$ci_l: imgscan $ci_o holds raw control characters: $(od -c "$T/out.tab" | head -4 | tr '\n' ' ')"
		else
			e2e_ok "$ci_l: imgscan $ci_o holds no raw control character"
		fi
	done
	# a valid-UTF-8 name without NUL must read back unchanged from the JSON
	if [ -n "$ci_n" ] && iconv -f UTF-8 -t UTF-8 "$ci_n" >/dev/null 2>&1; then
		jq -j '.images[0]["backing-filename"] // .images[0]["format-specific"].data["data-file"] // ""' \
			"$T/out.json" >"$T/jname" 2>/dev/null
		if cmp -s "$T/jname" "$ci_n"; then
			e2e_ok "$ci_l: --json name reads back unchanged"
		else
			e2e_notok "$ci_l: --json name reads back as $(od -c "$T/jname" | head -2 | tr '\n' ' ')"
		fi
	fi
}

# 1. qcow2 backing file names
i=1
while [ "$i" -le "$NAMES" ]; do
	img="$T/img/backing-$i.qcow2"
	if qemu-img create -q -f qcow2 -u -b "$(cat "$T/name.$i")" -F raw "$img" 1M 2>"$T/qerr"; then
		check_image "qcow2 backing #$i" "$img" "$T/name.$i"
	else
		e2e_notok "qcow2 backing #$i: qemu-img create failed: $(head -c 200 "$T/qerr")"
	fi
	i=$((i + 1))
done

# 1b. qed and qcow backing file names
for i in 5 6 7 11 12; do
	for f in qed qcow; do
		img="$T/img/backing-$i.$f"
		if qemu-img create -q -f $f -u -b "$(cat "$T/name.$i")" -F raw "$img" 1M 2>"$T/qerr"; then
			check_image "$f backing #$i" "$img" "$T/name.$i"
		else
			e2e_notok "$f backing #$i: qemu-img create failed: $(head -c 200 "$T/qerr")"
		fi
	done
done

# 2. qcow2 external data file names (qemu-img creates the data file: only
#    names without '/' are possible, made inside a scratch dir)
mkdir "$T/df"
for i in 1 2 3 4 6 7 11 12; do
	img="$T/img/datafile-$i.qcow2"
	if (cd "$T/df" && qemu-img create -q -f qcow2 \
			-o "data_file=$(sed 's/,/,,/g' "$T/name.$i"),data_file_raw=on" "$img" 1M) 2>"$T/qerr"; then
		check_image "qcow2 data file #$i" "$img"
		"$IMGSCAN" --json "$img" >"$T/df.json" 2>/dev/null
		jq -j '.images[0]["format-specific"].data["data-file"] // ""' "$T/df.json" >"$T/jname"
		if iconv -f UTF-8 -t UTF-8 "$T/name.$i" >/dev/null 2>&1; then
			if cmp -s "$T/jname" "$T/name.$i"; then
				e2e_ok "qcow2 data file #$i: --json data-file reads back unchanged"
			else
				e2e_notok "qcow2 data file #$i: --json data-file is $(od -c "$T/jname" | head -2 | tr '\n' ' ')"
			fi
		fi
	else
		echo "# qcow2 data file #$i: qemu-img refused the name: $(head -c 120 "$T/qerr")"
	fi
done

# 3. vmdk descriptors with hostile extents and parentFileNameHint
vmdk_desc()
{
	# $1 file, $2 extent name, $3 parent hint
	{
		printf '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=87654321\n'
		printf 'createType="monolithicFlat"\n'
		printf 'parentFileNameHint="%s"\n' "$3"
		printf '\n# Extent description\nRW 2048 FLAT "%s" 0\n' "$2"
		printf 'RW 2048 FLAT "second`touch PWNED`$(touch PWNED)" 0\n'
		printf '\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = "4"\n'
		printf 'ddb.adapterType = "ide"\n'
	} >"$1"
}
vmdk_desc "$T/img/d1.vmdk" 'ext;$(touch PWNED)|&' '$(touch PWNED)`touch PWNED`;|&'
vmdk_desc "$T/img/d2.vmdk" "$(printf 'ext\377\376bad')" "$(printf 'hint\300\257\033[0m\302\2332J\177')"
vmdk_desc "$T/img/d3.vmdk" '/dev/null' '/etc/shadow'
vmdk_desc "$T/img/d4.vmdk" "$(perl -e 'print "E" x 2000')" "$(perl -e 'print "\$(touch PWNED)" x 200')"
for f in d1 d2 d3 d4; do
	check_image "vmdk descriptor $f" "$T/img/$f.vmdk"
done
# a sparse vmdk whose embedded descriptor gets a hostile parent hint
qemu-img create -q -f vmdk "$T/img/s.vmdk" 1M
perl -e '
	open(my $f, "+<", $ARGV[0]) or die; binmode $f;
	seek($f, 512, 0); read($f, my $d, 1024);
	$d =~ s/parentCID=ffffffff/parentCID=ffffffff\nparentFileNameHint="\$(touch PWNED)\n`x`\xff"/;
	$d = substr($d, 0, 1024);
	seek($f, 512, 0); print $f $d; close $f;' "$T/img/s.vmdk"
check_image "vmdk sparse with hostile parentFileNameHint" "$T/img/s.vmdk"

# 4. a differencing vhd with a hostile parent name (UTF-16BE at 512+64)
qemu-img create -q -f vpc "$T/img/diff.vhd" 8M
perl -e '
	use strict;
	my ($p) = @ARGV;
	open(my $f, "+<", $p) or die; binmode $f;
	my $size = -s $p;
	sub csum { my ($b, $off) = @_; substr($b, $off, 4) = "\0\0\0\0";
		my $s = 0; $s += $_ for unpack("C*", $b); substr($b, $off, 4) = pack("N", ~$s & 0xffffffff); $b }
	# footer copies: type 4 (differencing)
	for my $at (0, $size - 512) {
		seek($f, $at, 0); read($f, my $ft, 512);
		substr($ft, 60, 4) = pack("N", 4);
		seek($f, $at, 0); print $f csum($ft, 64);
	}
	seek($f, 512, 0); read($f, my $dh, 1024);
	my $name = "\$(touch PWNED)`x`\n;|&\x{ff}\x{d800}\x{9b}\x{85}\x{7f}";
	my $u = join("", map { pack("n", ord($_)) } split(//, $name));
	substr($dh, 64, 512) = $u . ("\0" x (512 - length($u)));
	seek($f, 512, 0); print $f csum($dh, 36); close $f;' "$T/img/diff.vhd" 2>"$T/perr" ||
	e2e_notok "vhd differencing: perl poke failed: $(head -c 200 "$T/perr")"
check_image "vhd differencing with hostile parent" "$T/img/diff.vhd"

# 5. every fixtures/bad image (head + size)
BAD=${FIXTURES:-${top_srcdir:-.}/fixtures}/bad
for head in "$BAD"/*.head; do
	[ -f "$head" ] || continue
	b=$(basename "$head" .head)
	cp "$head" "$T/img/$b.img"
	if [ -f "$BAD/$b.size" ]; then
		truncate -s "$(cat "$BAD/$b.size")" "$T/img/$b.img"
	fi
	check_image "bad/$b" "$T/img/$b.img"
done

# 6. one call with every image: --export blocks separated, no canary, JSON
#    parses
set +f
"$IMGSCAN" --export "$T"/img/* >"$T/all.export" 2>/dev/null
(cd "$T/eval" && sh -c 'eval "$(cat "$1")"' sh "$T/all.export")
e2e_check "all images: one --export eval status" "$?" 0 expected
if [ -e "$T/eval/PWNED" ]; then
	e2e_notok "all images: --export eval ran the canary"
else
	e2e_ok "all images: --export eval ran nothing"
fi
"$IMGSCAN" --json "$T"/img/* >"$T/all.json" 2>/dev/null
e2e_check "all images: one --json document, one object per PATH" \
	"$(jq '.images | length' "$T/all.json" 2>&1)" "$(ls "$T"/img | wc -l)" expected
if iconv -f UTF-8 -t UTF-8 "$T/all.json" >/dev/null 2>&1; then
	e2e_ok "all images: --json valid UTF-8"
else
	e2e_notok "all images: --json invalid UTF-8"
fi
set -f

# 7. golden values of the C1/DEL name (#11) in every output: one definition
#    of a control character (C0, DEL, C1), each output's own escape
img="$T/img/backing-11.qcow2"
golden()
{
	# golden LABEL GOT WANT
	if [ "$2" = "$3" ]; then
		e2e_ok "C1 golden: $1"
	else
		e2e_notok "C1 golden: $1: got $(printf '%s' "$2" | od -An -c | tr -s ' \n' ' '), want $3"
	fi
}
safe='csi_31m-nel_-first_-last_-del_-end'
hex='csi\xc2\x9b31m-nel\xc2\x85-first\xc2\x80-last\xc2\x9f-del\x7f-end'
golden "table" "$("$IMGSCAN" -n -o BACKING "$img" | sed 's/ *$//')" "$safe"
# the tree adds a marker line ("`-" tree art, then "-> NAME (not found)" in the C locale)
golden "tree" "$("$IMGSCAN" -n -T -o BACKING "$img" | sed 's/ *$//')" \
	"$(printf '%s\n`--> %s (not found)' "$safe" "$safe")"
golden "-P" "$("$IMGSCAN" -P -o BACKING "$img")" "BACKING=\"$hex\""
golden "--export" "$("$IMGSCAN" --export "$img" | grep '^ID_IMAGE_BACKING_FILE=')" \
	"ID_IMAGE_BACKING_FILE=\"$hex\""
golden "--udev" "$("$IMGSCAN" --udev "$img" | grep '^ID_IMAGE_BACKING_FILE=')" \
	"ID_IMAGE_BACKING_FILE=$safe"
golden "--udev _ENC" "$("$IMGSCAN" --udev "$img" | grep '^ID_IMAGE_BACKING_FILE_ENC=')" \
	"ID_IMAGE_BACKING_FILE_ENC=$hex"
golden "--json" "$("$IMGSCAN" --json "$img" | grep '"backing-filename"' | sed 's/^ *//')" \
	'"backing-filename": "csi\u009b31m-nel\u0085-first\u0080-last\u009f-del\u007f-end",'

# 8. a command-line path or argument with control characters comes back on
#    stderr escaped (\xNN) as the table shows it, never raw
bad=$(printf 'nope\033[2J\302\233\177\001')
for a in "$T/$bad" "--offset=$bad" "--jobs=$bad" "-o $bad" "--$bad"; do
	# shellcheck disable=SC2086
	case $a in
	-o*) "$IMGSCAN" -o "$bad" "$T/img/d1.vmdk" >/dev/null 2>"$T/err" ;;
	*) "$IMGSCAN" "$a" >/dev/null 2>"$T/err" ;;
	esac
	if ! [ -s "$T/err" ]; then
		e2e_notok "stderr for $(printf '%s' "$a" | od -An -c | tr -s ' \n' ' '): no message"
	elif LC_ALL=C grep -q "$(printf '[\001-\011\013-\037\177]')" "$T/err" || has_c1 "$T/err"; then
		e2e_notok "stderr for an argument with controls holds them raw: $(od -c "$T/err" | head -3 | tr '\n' ' ')"
	elif grep -qF 'nope\x1b[2J\xc2\x9b\x7f\x01' "$T/err"; then
		e2e_ok "stderr escapes the controls of $(head -c 40 "$T/err")..."
	else
		e2e_notok "stderr does not show the argument escaped: $(head -c 200 "$T/err")"
	fi
done

e2e_summary
