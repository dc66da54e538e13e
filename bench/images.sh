# Sourced by the benchmarks: bench_images DIR writes one image of every
# format qemu-img creates (qcow2 v3, v2 and with a backing file, qcow, qed,
# vmdk sparse and stream-optimized, vpc dynamic and fixed, vhdx, vdi,
# parallels), a LUKS image and a raw file into DIR.
bench_images()
{
	S=$1
	qemu-img create -q -f qcow2 "$S/a.qcow2" 1G
	qemu-img create -q -f qcow2 -o compat=0.10 "$S/b.qcow2" 1G
	qemu-img create -q -f qcow2 -b "$S/a.qcow2" -F qcow2 "$S/c.qcow2"
	qemu-img create -q -f qcow -o size=1G "$S/d.qcow"
	qemu-img create -q -f qed "$S/e.qed" 1G
	qemu-img create -q -f vmdk "$S/f.vmdk" 1G
	qemu-img create -q -f vmdk -o subformat=streamOptimized "$S/g.vmdk" 1G
	qemu-img create -q -f vpc "$S/h.vhd" 1G
	qemu-img create -q -f vpc -o subformat=fixed "$S/i.vhd" 64M
	qemu-img create -q -f vhdx "$S/j.vhdx" 1G
	qemu-img create -q -f vdi "$S/k.vdi" 1G
	qemu-img create -q -f parallels "$S/l.hds" 1G
	# qemu-img times its PBKDF and sometimes cannot on a busy VM: again, then
	# cryptsetup; without either the set has no LUKS image
	qemu-img create -q -f luks --object secret,id=s0,data=x -o key-secret=s0,iter-time=10 \
		"$S/m.luks" 16M 2>/dev/null ||
		qemu-img create -q -f luks --object secret,id=s0,data=x -o key-secret=s0,iter-time=10 \
			"$S/m.luks" 16M 2>/dev/null ||
		{ rm -f "$S/m.luks"; truncate -s 16M "$S/m.luks" &&
			printf x | cryptsetup luksFormat -q --type luks1 --pbkdf-force-iterations 1000 \
				--key-file - "$S/m.luks"; } 2>/dev/null || rm -f "$S/m.luks"
	qemu-img create -q -f raw "$S/n.raw" 64M
}
