#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/e2e/check.sh -- --check on real and hostile images (check-images.sh):
#   - for every image and policy of the manifest, the JSON "safety" object
#     names exactly the expected checks, "safe" agrees, every failed entry
#     has a one-line reason, and the exit status is 3 when a check failed,
#     else 0;
#   - -P gives SAFE and FAILED, the table shows them by default, --udev
#     gives ID_IMAGE_SAFE and ID_IMAGE_UNSAFE (and exits 0);
#   - without --check nothing changes: no "safety", no SAFE column;
#   - exit status: 1 (a PATH that cannot be probed) wins over 3;
#   - usage errors (unknown check, format, createType) exit 2;
#   - a vmdk sparse image's extents[0].filename is the path given, as
#     qemu-img prints it, even when its embedded descriptor names /etc/hosts;
#   - cost: 1000 volumes (hard links to the images) read with --stats make
#     the same number of reads and bytes with --check as without.
. "${top_srcdir:-.}/tests/e2e/lib.sh"
. "${top_srcdir:-.}/tests/e2e/check-images.sh"

e2e_need_cmd qemu-img jq xorriso mkudffs od dd truncate
e2e_init
T=$E2E_TMP
FIXTURES=${FIXTURES:-${top_srcdir:-.}/fixtures}

if ! ci_build "$T" 2>"$T/build.err"; then
	e2e_notok "making the images failed: $(head -c 400 "$T/build.err")"
	e2e_summary
fi

# ---- every image of the manifest
while IFS='|' read -r name opts want; do
	[ "$opts" = - ] && opts=
	# shellcheck disable=SC2086
	"$IMGSCAN" --check $opts -J "$T/$name" >"$T/out.json" 2>"$T/err"
	rc=$?
	got=$(jq -r '[.images[0].safety.failed[].check] | sort | join(",")' "$T/out.json" 2>/dev/null) ||
		got="<jq error>"
	[ -n "$got" ] || got=-
	label="$name${opts:+ ($opts)}"
	e2e_check "$label: failed checks" "$got" "$want" expected
	safe=$(jq -r '.images[0].safety.safe' "$T/out.json" 2>/dev/null)
	if [ "$want" = - ]; then
		e2e_check "$label: safe, exit 0" "$safe $rc" "true 0" expected
	else
		e2e_check "$label: unsafe, exit 3" "$safe $rc" "false 3" expected
	fi
	bad=$(jq -r '.images[0].safety.failed[] | select((.reason | length) == 0 or (.reason | test("[[:cntrl:]]"))) | .check' "$T/out.json" 2>/dev/null)
	e2e_check "$label: every reason is one non-empty line" "${bad:-none}" none expected
done <"$T/MANIFEST"

# ---- outputs
"$IMGSCAN" --check -P -o NAME,SAFE,FAILED "$T/backing.qcow2" "$T/clean.qcow2" >"$T/p" 2>&1
rc=$?
e2e_check "-P: SAFE and FAILED" "$(sed "s|$T/||" "$T/p" | tr '\n' ' ')" \
	'NAME="backing.qcow2" SAFE="no" FAILED="backing-file" NAME="clean.qcow2" SAFE="yes" FAILED="" ' expected
e2e_check "-P: exit 3" "$rc" 3 expected
"$IMGSCAN" --check "$T/clean.qcow2" >"$T/t" 2>&1
e2e_check "table: SAFE and FAILED by default" "$(head -n 1 "$T/t" | grep -o 'SAFE FAILED')" "SAFE FAILED" expected
"$IMGSCAN" "$T/clean.qcow2" >"$T/t" 2>&1
e2e_check "table without --check: no SAFE column" "$(head -n 1 "$T/t" | grep -c SAFE)" 0 expected
"$IMGSCAN" -J "$T/backing.qcow2" >"$T/j" 2>&1
rc=$?
e2e_check "JSON without --check: no safety, exit 0" "$(jq -r '.images[0] | has("safety")' "$T/j") $rc" "false 0" expected
"$IMGSCAN" --udev --check "$T/json-backing.qcow2" >"$T/u" 2>&1
rc=$?
e2e_check "--udev --check: ID_IMAGE_SAFE" "$(udev_get "$T/u" ID_IMAGE_SAFE)" 0 expected
e2e_check "--udev --check: ID_IMAGE_UNSAFE" "$(udev_get "$T/u" ID_IMAGE_UNSAFE)" backing-file expected
e2e_check "--udev --check: exit 0 (udev imports nothing on failure)" "$rc" 0 expected
"$IMGSCAN" --udev "$T/json-backing.qcow2" >"$T/u" 2>&1
e2e_check "--udev without --check: no ID_IMAGE_SAFE" "$(grep -c '^ID_IMAGE_SAFE' "$T/u")" 0 expected
"$IMGSCAN" --export --check "$T/backing.qcow2" >"$T/e" 2>&1
e2e_check "--export --check: ID_IMAGE_UNSAFE" "$(grep '^ID_IMAGE_UNSAFE' "$T/e")" 'ID_IMAGE_UNSAFE="backing-file"' expected
"$IMGSCAN" --export --check "$T/bootflag.raw" >"$T/e" 2>&1
e2e_check "--export --check, raw volume: the verdict" "$(grep '^ID_IMAGE_' "$T/e" | tr '\n' ' ')" \
	'ID_IMAGE_FORMAT="raw" ID_IMAGE_SAFE="0" ID_IMAGE_UNSAFE="partition-table" ' expected
"$IMGSCAN" --export "$T/bootflag.raw" >"$T/e" 2>&1
e2e_check "--export without --check, raw volume: unchanged" "$(grep -c '^ID_IMAGE_' "$T/e")" 1 expected

# ---- every check of --help is documented in imgscan(8) and docs/safety.md
man=${top_srcdir:-.}/doc/imgscan.8
doc=${top_srcdir:-.}/docs/safety.md
checks=$("$IMGSCAN" --help | sed -n '/^Checks/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
missing=
for c in $checks; do
	grep -q "^\.B $(printf '%s' "$c" | sed 's/-/\\\\-/g')\$" "$man" || missing="$missing man:$c"
	grep -qF "| \`$c\` |" "$doc" || missing="$missing safety.md:$c"
done
e2e_check "every check ($(printf "%s\n" "$checks" | wc -l)) documented" "${missing:-none}" none expected
e2e_check "--help: the checks fit 80 columns" \
	"$("$IMGSCAN" --help | sed -n '/^Checks/,/^$/p' | awk 'length > 80' | head -n 1)" "" expected

# ---- exit status: 1 wins over 3
"$IMGSCAN" --check "$T/backing.qcow2" "$T/does-not-exist" >/dev/null 2>&1
e2e_check "unprobed PATH beside an unsafe one: exit 1" "$?" 1 expected
"$IMGSCAN" --check "$T/clean.qcow2" "$T/zero.raw" >/dev/null 2>&1
e2e_check "all safe: exit 0" "$?" 0 expected

# ---- usage errors
for bad in "--allow nonsense" "--expect-format qcow3" "--expect-format iso" \
		"--deny-formats qed,bogus" "--vmdk-types monolithicsparse" \
		"--max-virtual-size 1G" "--check --monitor"; do
	# shellcheck disable=SC2086
	"$IMGSCAN" $bad "$T/clean.qcow2" >/dev/null 2>"$T/err"
	e2e_check "usage error: $bad exits 2" "$?" 2 expected
done

# ---- vmdk: the extent of a sparse image is the image itself, whatever the embedded descriptor says
for f in sparse.vmdk embedded-slash.vmdk stream.vmdk; do
	got=$("$IMGSCAN" -J "$T/$f" | jq -r '.images[0]."format-specific".data.extents[0].filename')
	want=$(qemu-img info -U --output=json "$T/$f" | jq -r '."format-specific".data.extents[0].filename')
	e2e_check "$f: extents[0].filename" "$got" "$want"
done
e2e_check "embedded-slash.vmdk: no /etc/hosts in the JSON" \
	"$("$IMGSCAN" -J "$T/embedded-slash.vmdk" | grep -c /etc/hosts)" 0 expected

# ---- cost: --check makes no extra reads (1000 volumes)
mkdir "$T/many"
i=0
names=$(cut -d'|' -f1 "$T/MANIFEST" | sort -u)
while [ $i -lt 1000 ]; do
	for n in $names; do
		[ $i -ge 1000 ] && break
		ln "$T/$n" "$T/many/$i.$n" 2>/dev/null || cp "$T/$n" "$T/many/$i.$n"
		i=$((i + 1))
	done
done
"$IMGSCAN" --stats -J "$T"/many/* >"$T/plain.json" 2>/dev/null
"$IMGSCAN" --stats --check -J "$T"/many/* >"$T/checked.json" 2>/dev/null
sum='[.images[].scan.reads] | add'
bytes='[.images[].scan.bytes] | add'
n=$(jq '.images | length' "$T/checked.json")
e2e_check "1000 volumes judged" "$n $(jq '[.images[] | select(has("safety"))] | length' "$T/checked.json")" "1000 1000" expected
e2e_check "1000 volumes: reads with --check = without ($(jq "$sum" "$T/plain.json"))" \
	"$(jq "$sum" "$T/checked.json")" "$(jq "$sum" "$T/plain.json")" "without --check"
e2e_check "1000 volumes: bytes with --check = without ($(jq "$bytes" "$T/plain.json"))" \
	"$(jq "$bytes" "$T/checked.json")" "$(jq "$bytes" "$T/plain.json")" "without --check"

e2e_summary
