#!/bin/sh
# The probe core is pure: bytes in, facts out.  It includes only the C
# headers below, calls no I/O or allocation function, and has no VLA.
set -u
dir="$top_srcdir/scanner/probe"
fail=0
pass=0

allowed='^(stdbool|stddef|stdint|string|errno|limits)\.h$'
# crc32c.c alone: CPU intrinsics and the aarch64 feature bits (no I/O)
cpu_allowed='^(nmmintrin\.h|arm_acle\.h|asm/hwcap\.h|sys/auxv\.h)$'
for f in "$dir"/*.c "$dir"/*.h; do
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p' "$f"); do
		if printf '%s\n' "$inc" | grep -Eq "$allowed" || [ -f "$dir/$inc" ]; then
			: # a C library header on the list, or one of the core's own
		elif [ "$(basename "$f")" = crc32c.c ] &&
		     printf '%s\n' "$inc" | grep -Eq "$cpu_allowed"; then
			: # CRC instructions, and asking the CPU (getauxval) whether it has them
		else
			echo "not ok - $(basename "$f") includes <$inc>"
			fail=$((fail + 1))
		fi
	done
	# calls that would mean I/O or unbounded allocation in the core
	if grep -nE '\b(malloc|calloc|realloc|free|open|openat|read|pread|fopen|mmap|ioctl|printf|fprintf|getenv|system|exec[lv]p?)[[:space:]]*\(' "$f" |
	   grep -vE '^\s*[0-9]+:\s*(\*|/\*)'; then
		echo "not ok - $(basename "$f") calls an I/O or allocation function (above)"
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
