#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tools/fuzz.sh -- build tests/fuzz/fuzz-probe.c with clang
# -fsanitize=fuzzer,address,undefined and run libFuzzer on it.
#
# Follows docs/security.md, rule 10 (util-linux tools/oss-fuzz.sh,
# systemd tools/oss-fuzz.sh): the seed corpus is every real image piece in
# fixtures/ (NAME.head, NAME.tail, NAME.at-OFFSET) plus fixtures/bad/; a
# dictionary of every format magic is generated; each crasher is copied to
# fixtures/bad/crash-<sha1> with a one-line note appended to fixtures/README,
# so the replay run of `make check` keeps it as a regression input.
#
# usage: tools/fuzz.sh [SECONDS] [JOBS]
#   SECONDS  total fuzzing time (default 60; 0 only builds fuzz-probe)
#   JOBS     parallel libFuzzer workers (-fork=JOBS; default 1)
# environment:
#   FUZZ_BUILD  build dir (default /tmp/imgscan-fuzz-build); the growing corpus
#               stays in FUZZ_BUILD/corpus between runs
#   CC          default clang (needs libclang-rt-14-dev on Debian 12)
#   FUZZ_ARGS   extra libFuzzer options
#   FUZZ_CFLAGS extra compiler flags (e.g. -fno-sanitize=nonnull-attribute to
#               get past a known finding); a change needs a fresh FUZZ_BUILD
#
# Exit status: 0 no crash, 1 crashers found (listed), 2 build failure.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
jobs=${2:-1}
build=${FUZZ_BUILD:-/tmp/imgscan-fuzz-build}
cc=${CC:-clang}
san="address,undefined"

command -v "$cc" >/dev/null 2>&1 || { echo "fuzz.sh: $cc not installed (apt-get install clang libclang-rt-14-dev)"; exit 2; }

mkdir -p "$build" "$build/corpus" "$build/artifacts" "$build/seeds"
cd "$build"

# 1. the probe core and the outputs, instrumented (fuzzer-no-link), through
#    the project's own configure so config.h and flags match
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
	"$top/configure" -q CC="$cc" \
		CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,$san -fno-sanitize-recover=all ${FUZZ_CFLAGS:-}" \
		>configure.log 2>&1 || { cat configure.log; exit 2; }
fi
make -j"$(nproc)" libimgprobe.a libimgcore.a >make.log 2>&1 || { tail -40 make.log; exit 2; }

"$cc" -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,$san -fno-sanitize-recover=all ${FUZZ_CFLAGS:-} \
	-DFUZZING_ENGINE -include config.h -I"$top/scanner" \
	-o fuzz-probe "$top/tests/fuzz/fuzz-probe.c" libimgcore.a libimgprobe.a \
	-lblkid -ljson-c -ludev -lsmartcols -lpthread || exit 2

if [ "$secs" -eq 0 ]; then
	echo "fuzz.sh: built $build/fuzz-probe (0 s: no fuzzing)"
	exit 0
fi

# 2. seeds: every real piece of image, and the known-bad inputs
for f in "$top"/fixtures/*.head "$top"/fixtures/*.tail "$top"/fixtures/*.at-* "$top"/fixtures/bad/*; do
	[ -f "$f" ] || continue
	case $f in *.size) continue ;; esac
	cp "$f" "seeds/$(basename "$f")"
done

# 3. a dictionary of magics and keywords
cat >fuzz-probe.dict <<'EOF'
"QFI\xfb"
"QFI\xfb\x00\x00\x00\x03"
"QEM"
"QED\x00"
"KDMV"
"COWD"
"# Disk DescriptorFile"
"createType=\"monolithicSparse\""
"createType=\"streamOptimized\""
"createType=\"twoGbMaxExtentSparse\""
"parentFileNameHint=\""
"RW 2048 SPARSE \""
"RW 2048 FLAT \""
"ddb.virtualHWVersion"
"conectix"
"cxsparse"
"vhdxfile"
"head"
"regi"
"metadata"
"<<< Oracle VM VirtualBox Disk Image >>>\x0a"
"\x7f\x10\xda\xbe"
"WithoutFreeSpace"
"WithouFreSpacExt"
"Bochs Virtual HD Image"
"Redolog"
"Growing"
"#!/bin/sh\x0a#V2.0 Format\x0a"
"koly"
"mish"
"LUKS\xba\xbe"
"SKUL\xba\xbe"
"\xe2\x79\x2a\xca"
"\x68\x03\xf8\x57"
"\x44\x41\x54\x41"
"\x23\x85\x20\x23"
"json:{"
"\xff\xff\xff\xff"
"\xff\xff\xff\xff\xff\xff\xff\xff"
"\x80\x00\x00\x00"
EOF

# 4. fuzz
set +e
if [ "$jobs" -gt 1 ]; then
	./fuzz-probe -fork="$jobs" -ignore_crashes=1 -max_total_time="$secs" \
		-dict=fuzz-probe.dict -max_len=65536 -timeout=25 -rss_limit_mb=2560 \
		-artifact_prefix=artifacts/ ${FUZZ_ARGS:-} corpus seeds 2>&1 | tail -25
else
	./fuzz-probe -max_total_time="$secs" -dict=fuzz-probe.dict -max_len=65536 \
		-timeout=25 -rss_limit_mb=2560 -print_final_stats=1 \
		-artifact_prefix=artifacts/ ${FUZZ_ARGS:-} corpus seeds 2>&1 | tail -25
fi
set -e

# 5. keep every crasher as a regression file
found=0
for a in artifacts/crash-* artifacts/leak-* artifacts/timeout-* artifacts/oom-*; do
	[ -f "$a" ] || continue
	sum=$(sha1sum "$a" | cut -d' ' -f1)
	dest="$top/fixtures/bad/crash-$sum"
	if [ ! -f "$dest" ]; then
		cp "$a" "$dest"
		echo "bad/crash-$sum: $(basename "$a" | cut -d- -f1) found by tools/fuzz.sh (libFuzzer, clang $("$cc" -dumpversion)); replay: fuzz-probe fixtures/bad/crash-$sum" \
			>>"$top/fixtures/README"
		echo "fuzz.sh: new crasher fixtures/bad/crash-$sum"
	fi
	found=1
done
if [ "$found" -ne 0 ]; then
	echo "fuzz.sh: crashers in $build/artifacts (copied to fixtures/bad/)"
	exit 1
fi
echo "fuzz.sh: no crash in $secs s"
