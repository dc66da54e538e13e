#!/bin/sh
# Quick start: install what is missing, build imgscan, make a few real images
# with qemu-img (and, as root, put one on a loop device) and scan them.
#   sh tools/demo.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh tools/deps.sh
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
mkdir -p build && cd build
"$top/configure" -q
make -j"$(nproc)" >/dev/null
IMGSCAN=$PWD/imgscan

D=$(mktemp -d "${TMPDIR:-/tmp}/imgscan-demo.XXXXXX")
LOOP=""
cleanup() {
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
# an interrupted demo (^C, a timeout) leaves no loop device behind either
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

qemu-img create -q -f qcow2 "$D/base.qcow2" 1G
qemu-img create -q -f qcow2 -b "$D/base.qcow2" -F qcow2 -o lazy_refcounts=on "$D/overlay.qcow2"
qemu-img create -q -f qcow2 -o compat=0.10 "$D/old.qcow2" 512M
qemu-img create -q -f vmdk "$D/disk.vmdk" 2G
qemu-img create -q -f vpc -o subformat=fixed "$D/fixed.vhd" 16M
qemu-img create -q -f raw "$D/ext4.raw" 16M && mkfs.ext4 -q -L demo "$D/ext4.raw"
set -- "$D"/*.qcow2 "$D/disk.vmdk" "$D/fixed.vhd" "$D/ext4.raw"
if [ "$(id -u)" = 0 ] && LOOP=$(losetup --find --show --read-only "$D/overlay.qcow2" 2>/dev/null); then
	set -- "$@" "$LOOP"
fi

echo "== imgscan (table)"
"$IMGSCAN" "$@"
echo
echo "== imgscan --json $D/overlay.qcow2"
"$IMGSCAN" --json "$D/overlay.qcow2"
if [ -n "$LOOP" ]; then
	echo
	echo "== imgscan --udev $LOOP   (what the udev rule imports)"
	"$IMGSCAN" --udev "$LOOP"
fi
