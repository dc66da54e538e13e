#!/bin/sh
# Benchmark: the two scans an administrator runs first on a host, side by
# side with lsblk, blkid and qemu-img, in one run on this machine.  Prints
# markdown tables (for docs/performance.md).
#
#   host  N loop devices (default 120) attached read-only to copies of images
#         of every format: imgscan --json with no PATH, imgscan --cached,
#         lsblk -J -O, lsblk -J, blkid, and qemu-img info per device, with
#         wall time (median of RUNS) and system calls (strace -c -f); then the
#         same with the loop devices detached (they stay, empty).
#   cold  N distinct files (default 1000; cp --sparse=always, not hard links)
#         on ext4 on a loop device with --direct-io=on, the page cache dropped
#         before each tool: the loop device's own counters (/sys/block/loopN/stat)
#         give the requests and KiB per image of imgscan, qemu-img info and
#         blkid -p; fio gives the device's 4 KiB random-read rate at depth 1,
#         32 and 128, and the floor (imgscan's requests at the best rate) is
#         printed next to the scan, and the scan's CPU time (perf stat's
#         task-clock, every thread) beside its wall time.
#
#   sh bench/host-cold.sh [-n HOST_N] [-c COLD_N] [-i IMGSCAN] [-b BASELINE] [host|cold|all]
#
# -b names another imgscan build (an older one) whose scans are measured in
# the same run, beside IMGSCAN's.
#
# Root only.  Loop devices are created and attached only while holding the
# lock /tmp/imgscan-root-tests.lock (the root e2e tests take it too), and
# every one this script attached is detached, and its filesystem unmounted,
# on exit.  Needs losetup, lsblk, blkid, qemu-img, jq, strace, fio, mkfs.ext4;
# perf (linux-perf), when there, gives the scans' CPU time.
set -eu
HOST_N=120
COLD_N=1000
RUNS=${RUNS:-7}
IMGSCAN=${IMGSCAN:-}
BASELINE=${BASELINE:-}
while getopts n:c:i:b: opt; do
	case $opt in
	n) HOST_N=$OPTARG ;;
	c) COLD_N=$OPTARG ;;
	i) IMGSCAN=$OPTARG ;;
	b) BASELINE=$OPTARG ;;
	*) echo "usage: $0 [-n HOST_N] [-c COLD_N] [-i IMGSCAN] [-b BASELINE] [host|cold|all]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
WHAT=${1:-all}
case $WHAT in host | cold | all) ;; *) echo "bench: host, cold or all" >&2; exit 2 ;; esac
top=$(cd "$(dirname "$0")/.." && pwd)
[ -n "$IMGSCAN" ] || IMGSCAN=$top/build/imgscan-uninstalled
IMGSCAN=$(cd "$(dirname "$IMGSCAN")" && pwd)/$(basename "$IMGSCAN")
[ -x "$IMGSCAN" ] || { echo "bench: build imgscan first (sh tools/check.sh) or pass -i" >&2; exit 2; }
if [ -n "$BASELINE" ]; then
	BASELINE=$(cd "$(dirname "$BASELINE")" && pwd)/$(basename "$BASELINE")
	[ -x "$BASELINE" ] || { echo "bench: -b $BASELINE: not an executable" >&2; exit 2; }
fi
[ "$(id -u)" = 0 ] || { echo "bench: loop devices and drop_caches need root" >&2; exit 2; }
for t in losetup lsblk blkid qemu-img jq strace fio mkfs.ext4 flock udevadm; do
	command -v $t >/dev/null || { echo "bench: $t is needed" >&2; exit 2; }
done

# hold the lock for as long as any loop device of ours exists
LOCK=/tmp/imgscan-root-tests.lock
if [ -z "${IMGSCAN_BENCH_LOCKED:-}" ]; then
	IMGSCAN_BENCH_LOCKED=1 IMGSCAN=$IMGSCAN BASELINE=$BASELINE RUNS=$RUNS exec flock "$LOCK" sh "$0" \
		-n "$HOST_N" -c "$COLD_N" "$WHAT"
fi

D=$(mktemp -d /var/tmp/imgscan-bench-host.XXXXXX)
LOOPS=$D/loops
MNT=
SHM=
: >"$LOOPS"
cleanup()
{
	set +e
	[ -n "$SHM" ] && rm -rf "$SHM"
	[ -n "$MNT" ] && mountpoint -q "$MNT" && umount "$MNT"
	while read -r l; do losetup -d "$l" 2>/dev/null; done <"$LOOPS"
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# attach FILE [losetup options]: the loop device, recorded for the cleanup
attach()
{
	f=$1
	shift
	l=$(losetup -f --show "$@" "$f")
	echo "$l" >>"$LOOPS"
	echo "$l"
}

# ---- the images: one of each format qemu-img writes, LUKS1, raw --------------
S=$D/src
mkdir "$S"
. "$top/bench/images.sh"
bench_images "$S"
NSRC=$(find "$S" -type f | wc -l)

# copies DIR N: N distinct files in DIR (cp --sparse=always, not links),
# the images of $S in turn, named NNNNN-IMAGE
copies()
{
	c_dir=$1
	c_n=$2
	c_i=0
	set -- "$S"/*
	while [ $c_i -lt "$c_n" ]; do
		for f in "$@"; do
			[ $c_i -lt "$c_n" ] || break
			cp --sparse=always "$f" "$c_dir/$(printf '%05d' $c_i)-${f##*/}"
			c_i=$((c_i + 1))
		done
	done
}

now_us() { date +%s%6N; }
# median MICROSECONDS...: the median, then min and max
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }'; }
# timed CMD...: median of RUNS runs in microseconds (one untimed run first)
timed()
{
	"$@" >/dev/null 2>&1 || true
	ts=
	r=0
	while [ $r -lt "$RUNS" ]; do
		t0=$(now_us)
		"$@" >/dev/null 2>&1 || true
		t1=$(now_us)
		ts="$ts $((t1 - t0))"
		r=$((r + 1))
	done
	# shellcheck disable=SC2086 # a list of numbers
	median $ts
}
# syscalls CMD...: "openat-calls all-calls" of one run (strace -c -f)
syscalls()
{
	strace -f -c -o "$D/sc" "$@" >/dev/null 2>&1 || true
	awk '$NF == "openat" { o = $4 } $NF == "total" { t = $4 } END { print o + 0, t + 0 }' "$D/sc"
}
ms() { echo "$1" | awk '{ printf "%.1f", $1 / 1000 }'; }
per() { echo "$1 $2" | awk '{ printf "%.1f", $1 / $2 }'; }
ratio() { echo "$1 $2" | awk '{ printf "%.2f", $1 / $2 }'; }

echo "Machine: $(nproc) CPUs, $(awk '/model name/ { $1=$2=$3=""; print; exit }' /proc/cpuinfo | sed 's/^ *//'), kernel $(uname -r); $(qemu-img --version | head -1); util-linux $(lsblk --version | sed 's/.*util-linux \([0-9.]*\).*/\1/'); $(fio --version). Other engineers' builds shared the machine: the ratios are indicative."
echo

# ---- host: every block device, N loop devices holding images -----------------
# row LABEL CMD...: time and syscalls of CMD, a table row; sets ROW_US
row()
{
	label=$1
	shift
	# shellcheck disable=SC2046 # three numbers
	set -- $(timed "$@") "$@"
	ROW_US=$1
	mn=$2 mx=$3
	shift 3
	# shellcheck disable=SC2046 # two numbers
	set -- $(syscalls "$@")
	echo "| $label | $(ms "$ROW_US") ($(ms "$mn") to $(ms "$mx")) | $1 | $(per "$1" "$NDEV") | $2 |"
}

host_table()
{
	NDEV=$(find /sys/class/block/ -mindepth 1 -maxdepth 1 | wc -l)
	echo "| what | ms (median of $RUNS; min to max) | openat | openat per device | system calls |"
	echo "|---|---:|---:|---:|---:|"
	row "imgscan --json, no PATH" "$IMGSCAN" --json
	scan=$ROW_US
	row "imgscan --cached" "$IMGSCAN" --cached
	cached=$ROW_US
	row "imgscan --cached --json" "$IMGSCAN" --cached --json
	if [ -n "$BASELINE" ]; then
		row "baseline build: imgscan --json, no PATH" "$BASELINE" --json
		row "baseline build: imgscan --cached" "$BASELINE" --cached
	fi
	row "lsblk -J -O" lsblk -J -O
	lsblk_o=$ROW_US
	row "lsblk -J" lsblk -J
	lsblk=$ROW_US
	row "blkid" blkid
	blkid=$ROW_US
	if [ -s "$LOOPS" ]; then
		# shellcheck disable=SC2046 # one PATH per loop device
		row "imgscan --json on the $HOST_N loop devices as PATHs (their probe alone)" \
			"$IMGSCAN" --json $(cat "$LOOPS")
		probe=$ROW_US
	else
		probe=0
	fi
	echo
	echo "$NDEV block devices.  imgscan --json with no PATH takes $(ratio "$scan" "$((lsblk_o + probe))")x the time of lsblk -J -O plus the probe of the loop devices (target: at most 1.2); --cached takes $(ratio "$cached" "$lsblk")x the time of lsblk -J (target: at most 1.0); blkid takes $(ratio "$blkid" "$scan")x imgscan's."
}

if [ "$WHAT" != cold ]; then
	H=$D/host
	mkdir "$H"
	copies "$H" "$HOST_N"
	for g in "$H"/*; do
		attach "$g" -r >/dev/null
	done
	udevadm settle -t 60 || true

	echo "## Host: $HOST_N loop devices attached ($NSRC images of every format, copied)"
	echo
	host_table
	# qemu-img info, one process per device
	t0=$(now_us)
	while read -r l; do qemu-img info -U --output=json "$l" >/dev/null 2>&1 || true; done <"$LOOPS"
	t1=$(now_us)
	qemu=$((t1 - t0))
	echo "qemu-img info, one process per loop device: $(ms $qemu) ms for $HOST_N ($(per "$qemu" "$HOST_N") µs each): $(ratio "$qemu" "$scan")x the whole imgscan scan."

	# one device per process: --udev against blkid -p -o udev, alternating
	one=$(head -n 1 "$LOOPS")
	u=0 b=0 k=0
	while [ $k -lt 10 ]; do
		t0=$(now_us)
		j=0; while [ $j -lt 20 ]; do
			SUBSYSTEM=block DEVPATH=/devices/virtual/block/bench "$IMGSCAN" --udev "$one" >/dev/null 2>&1 || true
			j=$((j + 1))
		done
		t1=$(now_us)
		j=0; while [ $j -lt 20 ]; do blkid -p -o udev "$one" >/dev/null 2>&1 || true; j=$((j + 1)); done
		t2=$(now_us)
		u=$((u + t1 - t0)) b=$((b + t2 - t1))
		k=$((k + 1))
	done
	echo "One device ($one, qcow2): imgscan --udev $((u / 200)) µs, blkid -p -o udev $((b / 200)) µs: $(ratio $u $b)x (target: at most 1.0)."
	echo

	while read -r l; do losetup -d "$l"; done <"$LOOPS"
	: >"$LOOPS"
	udevadm settle -t 60 || true
	rm -rf "$H"
	echo "## Host: the same loop devices detached (they stay, empty)"
	echo
	host_table
	echo
fi

# ---- cold: distinct files on ext4, page cache dropped ------------------------
if [ "$WHAT" != host ]; then
	truncate -s 2G "$D/fs.img"
	mkfs.ext4 -q -F "$D/fs.img"
	DEV=$(attach "$D/fs.img" --direct-io=on)
	STAT=/sys/block/${DEV##*/}/stat
	MNT=$D/mnt
	mkdir "$MNT"
	mount -o noatime "$DEV" "$MNT"
	mkdir "$MNT/set"
	copies "$MNT/set" "$COLD_N"
	sync

	drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
	# cold LABEL CMD...: one run from a dropped cache; the device's counters
	cold()
	{
		label=$1
		shift
		drop
		# untimed, between the drop and the run: what is to be cached already
		[ -z "${COLD_PRE:-}" ] || $COLD_PRE >/dev/null 2>&1
		# fields 1, 3, 10: reads completed, sectors read, milliseconds busy
		eval "$(awk '{ printf "r0=%s s0=%s b0=%s", $1, $3, $10 }' "$STAT")"
		t0=$(now_us)
		"$@"
		t1=$(now_us)
		eval "$(awk '{ printf "r1=%s s1=%s b1=%s", $1, $3, $10 }' "$STAT")"
		# shellcheck disable=SC2154 # set by the eval lines above
		COLD_US=$((t1 - t0)) COLD_REQ=$((r1 - r0)) COLD_KIB=$(((s1 - s0) / 2)) COLD_BUSY=$((b1 - b0))
		cpu=" | "
		if [ -s "$CPU_FILE" ]; then
			read -r w c <"$CPU_FILE"
			COLD_US=$w
			cpu="$(per "$c" "$COLD_N") | $(echo "$c $w" | awk '{ printf "%.2f", $1 / $2 }')"
			rm -f "$CPU_FILE"
		fi
		echo "| $label | $(per $COLD_US "$COLD_N") | $(per $COLD_REQ "$COLD_N") | $(per $COLD_KIB "$COLD_N") | $(ratio $((COLD_BUSY * 100000)) $COLD_US)% | $cpu |"
	}
	# the scan's wall time and CPU time (every thread, the kernel's included)
	# in µs, into $CPU_FILE, from perf stat's task-clock and duration_time (the
	# wall time without perf's own start); without perf, the wall time only
	CPU_FILE=$D/cpu
	cpu_run()
	{
		if ! command -v perf >/dev/null 2>&1; then
			"$@" >/dev/null 2>&1 || true
			return
		fi
		perf stat -x, -e task-clock,duration_time -o "$CPU_FILE.perf" -- "$@" >/dev/null 2>&1 || true
		awk -F, '$3 == "task-clock" { c = $1 * 1000 } $3 == "duration_time" { w = $1 / 1000 }
			END { if (c && w) printf "%d %d\n", w, c }' "$CPU_FILE.perf" >"$CPU_FILE"
		rm -f "$CPU_FILE.perf"
	}
	scan_files() { cpu_run "$IMGSCAN" --json "$@"; }
	base_files() { cpu_run "$BASELINE" --json "$@"; }
	qemu_files() { for f; do qemu-img info -U --output=json "$f" >/dev/null 2>&1 || true; done; }
	blkid_files() { for f; do blkid -p -o udev "$f" >/dev/null 2>&1 || true; done; }

	fio_iops()
	{
		fio --name=floor --filename="$MNT/fio.dat" --size=256M --direct=1 --rw=randread \
			--bs=4k --iodepth="$1" --ioengine=io_uring --runtime=3 --time_based \
			--output-format=json 2>/dev/null | jq '.jobs[0].read.iops | floor'
	}
	iops1=$(fio_iops 1)
	iops32=$(fio_iops 32)
	iops128=$(fio_iops 128)
	rm -f "$MNT/fio.dat"
	best=$iops1
	[ "$iops32" -gt "$best" ] && best=$iops32
	[ "$iops128" -gt "$best" ] && best=$iops128

	set -- "$MNT"/set/*
	echo "## Cold: $COLD_N distinct files on ext4 on ${DEV} (--direct-io=on), page cache dropped before each"
	echo
	echo "| what | µs per image | device requests per image | KiB per image | device busy | CPU µs per image | CPUs busy |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	scans=
	r=0
	while [ $r -lt 3 ]; do
		cold "imgscan --json, one process for all (run $((r + 1)) of 3)" scan_files "$@"
		scans="$scans $COLD_US:$COLD_REQ"
		r=$((r + 1))
	done
	if [ -n "$BASELINE" ]; then
		cold "baseline build: imgscan --json, one process for all" base_files "$@"
	fi
	# what holds the scan: the lookups (directory and inodes cached first), or the CPU
	COLD_PRE="ls -l $MNT/set"
	cold "imgscan --json, directory and inodes cached first (ls -l, untimed)" scan_files "$@"
	COLD_PRE=
	shm=
	if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
		M=$(mktemp -d /dev/shm/imgscan-bench.XXXXXX)
		SHM=$M
		cp -a --sparse=always "$MNT/set" "$M/"
		set -- "$M"/set/*
		# shellcheck disable=SC2046 # three numbers
		set -- $(timed "$IMGSCAN" --json "$@")
		shm=$1
		rm -rf "$M"
		set -- "$MNT"/set/*
	fi
	cold "qemu-img info -U --output=json, one process per image" qemu_files "$@"
	cold "blkid -p -o udev, one process per image" blkid_files "$@"
	echo
	# the median scan and its floor: its requests at the device's best 4 KiB rate
	# shellcheck disable=SC2046 # two numbers
	set -- $(echo "$scans" | tr ' ' '\n' | sed '/^$/d' | sort -t: -n -k1,1 | sed -n 2p | tr ':' ' ')
	floor=$(echo "$2 $best $COLD_N" | awk '{ printf "%.1f", $1 / $2 * 1e6 / $3 }')
	echo "fio, 4 KiB O_DIRECT random reads on the same filesystem: $iops1/s at depth 1, $iops32/s at depth 32, $iops128/s at depth 128."
	[ -z "$shm" ] || echo "The same files copied to tmpfs (no disk; O_DIRECT there needs Linux 6.6): $(per "$shm" "$COLD_N") µs per image (median of $RUNS): the scan's own CPU time."
	echo "Floor: the median scan's $(per "$2" "$COLD_N") requests per image at $best/s = $floor µs per image; the scan takes $(per "$1" "$COLD_N") µs per image, $(echo "$1 $COLD_N $floor" | awk '{ printf "%.1f", $1 / $2 / $3 }')x the floor (target: at most 2)."
fi
