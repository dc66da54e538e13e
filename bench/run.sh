#!/bin/sh
# Benchmark: imgscan against qemu-img info and blkid -p on N images of every
# format (default 1000; hard links of a few real images), in one run, on this
# machine.  Prints a markdown table (for docs/performance.md) with
# microseconds per image, reads and KiB per image, and the ratios.
#   sh bench/run.sh [-n N] [-i IMGSCAN]
set -eu
N=1000
IMGSCAN=${IMGSCAN:-}
while getopts n:i: opt; do
	case $opt in
	n) N=$OPTARG ;;
	i) IMGSCAN=$OPTARG ;;
	*) echo "usage: $0 [-n N] [-i IMGSCAN]" >&2; exit 2 ;;
	esac
done
top=$(cd "$(dirname "$0")/.." && pwd)
[ -n "$IMGSCAN" ] || IMGSCAN=$top/build/imgscan-uninstalled
[ -x "$IMGSCAN" ] || { echo "bench: build imgscan first (sh tools/check.sh) or pass -i" >&2; exit 2; }
for t in qemu-img blkid jq; do
	command -v $t >/dev/null || { echo "bench: $t is needed" >&2; exit 2; }
done

D=$(mktemp -d "${TMPDIR:-/tmp}/imgscan-bench.XXXXXX")
trap 'rm -rf "$D"' EXIT
mkdir "$D/src" "$D/set"
S=$D/src
. "$top/bench/images.sh"
bench_images "$S"
set -- "$S"/*
k=0
i=0
while [ "$i" -lt "$N" ]; do
	for f in "$@"; do
		[ "$i" -lt "$N" ] || break
		ln "$f" "$D/set/$(printf '%05d' "$i")-$(basename "$f")"
		i=$((i + 1))
	done
	k=$((k + 1))
done

now_us() { date +%s%6N; }

# imgscan: one process for the whole set, with counters.  Its O_DIRECT
# reads go to the device whatever the page cache holds; the caches of file
# names and inodes are warm for it as for qemu-img and blkid (one untimed
# run first).  Run $RUNS times, the median taken: one run of ~50 ms moves
# with whatever else the machine does.
RUNS=${RUNS:-7}
# time_scan DIR: median, min and max microseconds of RUNS scans of DIR/set/*
time_scan() {
	: >"$D/scan.times"
	"$IMGSCAN" --json "$1"/set/* >/dev/null
	r=0
	while [ $r -lt "$RUNS" ]; do
		t0=$(now_us)
		"$IMGSCAN" --json --stats "$1"/set/* >"$D/imgscan.json"
		t1=$(now_us)
		echo $((t1 - t0)) >>"$D/scan.times"
		r=$((r + 1))
	done
	sort -n "$D/scan.times" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }'
}
set -- $(time_scan "$D")
scan_us=$1 scan_min=$2 scan_max=$3
reads=$(jq '[.images[].scan.reads] | add' "$D/imgscan.json")
bytes=$(jq '[.images[].scan.bytes] | add' "$D/imgscan.json")

# the same set on tmpfs (RAM, O_DIRECT supported since Linux 6.6): what the
# scan costs when the device is not the limit
shm_us=
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	M=$(mktemp -d /dev/shm/imgscan-bench.XXXXXX)
	trap 'rm -rf "$D" "$M"' EXIT
	mkdir "$M/set"
	cp "$S"/* "$M/"
	for f in "$D"/set/*; do
		b=${f##*/}
		ln "$M/${b#*-}" "$M/set/$b"
	done
	set -- $(time_scan "$M")
	shm_us=$1 shm_min=$2 shm_max=$3
	rm -rf "$M"
fi

# The disk's own time for what one scan asked of it.  The device's counters
# (/sys/dev/block/MAJ:MIN/stat: requests and sectors completed) around one
# scan give the requests the disk really served (ext4 answers holes without
# it, and splits a read at each hole); fio prices a request at this disk's
# rate for 4 KiB and 36 KiB O_DIRECT reads at depth 32, as cost = a + b * KiB.
# No other process should use the disk meanwhile.
floor_us=
dev_req=
dev_kib=
devstat=/sys/dev/block/$(stat -c '%Hd:%Ld' "$D")/stat
if command -v fio >/dev/null && [ -r "$devstat" ]; then
	set -- $(cat "$devstat")
	r0=$1 s0=$3 b0=${10} q0=${11}
	t0=$(now_us)
	"$IMGSCAN" --json "$D"/set/* >/dev/null
	t1=$(now_us)
	set -- $(cat "$devstat")
	dev_req=$(($1 - r0)) dev_kib=$((($3 - s0) / 2))
	# milliseconds with a request in flight, and the mean depth meanwhile
	dev_busy=$(echo "${10} $b0 ${11} $q0 $t0 $t1" | awk '{ b = $1 - $2; d = 0
		if (b > 0) d = ($3 - $4) / b
		printf "the disk had requests in flight %d%% of that scan, %.0f at a time on average", 100 * b * 1000 / ($6 - $5), d }')
	fio_iops() {
		fio --name=floor --filename="$D/fio.dat" --size=256M --direct=1 --rw=randread \
			--bs="$1" --iodepth=32 --ioengine=io_uring --runtime=3 --time_based \
			--output-format=json 2>/dev/null | jq '.jobs[0].read.iops'
	}
	iops4=$(fio_iops 4k)
	iops36=$(fio_iops 36k)
	floor_us=$(echo "$iops4 $iops36 $dev_req $dev_kib $N" | awk '$1 > 0 && $2 > 0 {
		t4 = 1e6 / $1; t36 = 1e6 / $2; b = (t36 - t4) / 32; a = t4 - 4 * b
		printf "%.1f", (a * $3 + b * $4) / $5 }')
	fio_note="fio: $(echo "$iops4" | awk '{ printf "%.0f", $1 }') reads/s of 4 KiB, $(echo "$iops36" | awk '{ printf "%.0f", $1 }') of 36 KiB"
	rm -f "$D/fio.dat"
fi
set -- "$S"/*

t0=$(now_us)
for f in "$D"/set/*; do qemu-img info -U --output=json "$f" >/dev/null 2>&1 || true; done
t1=$(now_us)
qemu_us=$((t1 - t0))

t0=$(now_us)
for f in "$D"/set/*; do blkid -p -o udev "$f" >/dev/null 2>&1 || true; done
t1=$(now_us)
blkid_us=$((t1 - t0))

# one device per process: imgscan --udev against blkid -p -o udev, same
# image, 500 runs each, alternating in rounds of 20 so drift hits both alike.
# imgscan runs with the environment udev gives the rule's program on a
# volume where blkid found no filesystem (SUBSYSTEM and DEVPATH set,
# ID_FS_TYPE unset), as on a qcow2 LV; its first read is then 4 KiB.
one=$S/a.qcow2
unset ID_FS_TYPE
udev_t=0
blkid1_t=0
k=0
while [ $k -lt 25 ]; do
	t0=$(now_us)
	j=0; while [ $j -lt 20 ]; do
		SUBSYSTEM=block DEVPATH=/devices/virtual/block/bench "$IMGSCAN" --udev "$one" >/dev/null
		j=$((j + 1))
	done
	t1=$(now_us)
	j=0; while [ $j -lt 20 ]; do blkid -p -o udev "$one" >/dev/null 2>&1 || true; j=$((j + 1)); done
	t2=$(now_us)
	udev_t=$((udev_t + t1 - t0))
	blkid1_t=$((blkid1_t + t2 - t1))
	k=$((k + 1))
done
udev_us=$((udev_t / 500))
blkid1_us=$((blkid1_t / 500))

per() { echo "$1 $N" | awk '{ printf "%.1f", $1 / $2 }'; }
ratio() { echo "$1 $2" | awk '{ printf "%.1f", $1 / $2 }'; }
ratio2() { echo "$1 $2" | awk '{ printf "%.2f", $1 / $2 }'; }
cat <<TXT
Machine: $(nproc) CPUs, $(awk '/model name/ { $1=$2=$3=""; print; exit }' /proc/cpuinfo | sed 's/^ *//'), kernel $(uname -r); $(qemu-img --version | head -1); blkid $(blkid --version | sed 's/.*util-linux \([0-9.]*\).*/\1/'); files on $(df -T "$D" | awk 'NR==2 { print $2 }').
Set: $N images ($# distinct images of every format, hard-linked).

| what | µs per image | reads per image | KiB per image |
|---|---:|---:|---:|
| imgscan --json, one process for all (median of $RUNS; $(per $scan_min) to $(per $scan_max)) | $(per $scan_us) | $(per $reads) | $(echo "$bytes $N" | awk '{ printf "%.1f", $1 / 1024 / $2 }') |
| qemu-img info --output=json, one process per image | $(per $qemu_us) | | |
| blkid -p -o udev, one process per image | $(per $blkid_us) | | |
$([ -n "$shm_us" ] && echo "| imgscan --json, the same set on tmpfs (median of $RUNS; $(per $shm_min) to $(per $shm_max)) | $(per $shm_us) | | |")
$([ -n "$floor_us" ] && echo "| the disk alone, for the requests one scan made of it (device counters; $fio_note at depth 32) | $floor_us | $(per $dev_req) | $(per $dev_kib) |")
| imgscan --udev, one process for one device (as udev runs it: first read 4 KiB) | $udev_us | | |
| blkid -p -o udev, one process for one device | $blkid1_us | | |

Ratios: scan vs qemu-img info $(ratio $qemu_us $scan_us)x faster; scan vs blkid -p $(ratio $blkid_us $scan_us)x faster; imgscan --udev on one device takes $(ratio2 $udev_us $blkid1_us)x the time of blkid -p -o udev (target: at most 1.0).
$([ -n "$floor_us" ] && echo "Device counters: $dev_busy.")
$([ -n "$shm_us" ] && echo "On tmpfs: scan vs qemu-img info $(ratio $qemu_us $shm_us)x faster; scan vs blkid -p $(ratio $blkid_us $shm_us)x faster.")
TXT
