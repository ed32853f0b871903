#!/bin/bash
# Run the probe package's tests inside a QEMU guest booted from a kernel
# image, with the test binary as /init. This is the developer's check that
# the fentry/fexit/kprobe programs load and fire on the target kernel (the
# host kernel may refuse them); the harness wires the definitive scenarios.
#
# usage: guest-test.sh BZIMAGE [go test flags...]
#   e.g. guest-test.sh build/kernel/base/_obj/arch/x86/boot/bzImage -test.run=FUSE
# Environment: GUEST_TIMEOUT (seconds, default 1200), KEEP=1 keeps the work dir.
set -euo pipefail

kernel=${1:?usage: $0 BZIMAGE [go test flags...]}
shift
root=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d /tmp/probe-guest.XXXXXX)
[ "${KEEP:-}" = 1 ] || trap 'rm -rf "$work"' EXIT

# A private copy: the kernel build may replace the image while we run.
cp "$kernel" "$work/bzImage"

(cd "$root" && CGO_ENABLED=0 nice go test -c -o "$work/initrd/init" ./harness/probe)
mkdir -p "$work/initrd"/{dev,proc,sys,tmp}
(cd "$work/initrd" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz"

truncate -s 64M "$work/ext4.img" "$work/ext4-noextent.img"
truncate -s 320M "$work/xfs.img"
mkfs.ext4 -q -F "$work/ext4.img"
mkfs.ext4 -q -F -O ^extent,^64bit "$work/ext4-noextent.img"
mkfs.xfs -q -f "$work/xfs.img"

append="console=ttyS0 panic=-1 oops=panic"
append+=" PROBE_EXT4_DEV=/dev/vda PROBE_EXT4_NOEXTENT_DEV=/dev/vdb PROBE_XFS_DEV=/dev/vdc"
append+=" -- -test.v -test.count=1 $*"

# thread=single: multi-threaded TCG runs stale INT3s after the kernel
# patches text (these tests attach and detach probes); see harness/vm.
timeout "${GUEST_TIMEOUT:-1200}" nice qemu-system-x86_64 \
	-accel tcg,thread=single -cpu max -smp 2 -m 2G -nographic -no-reboot \
	-kernel "$work/bzImage" -initrd "$work/initrd.gz" -append "$append" \
	-drive file="$work/ext4.img",if=virtio,format=raw \
	-drive file="$work/ext4-noextent.img",if=virtio,format=raw \
	-drive file="$work/xfs.img",if=virtio,format=raw \
	| tee "$work/console.log"

code=$(sed -n 's/.*PROBE-GUEST-EXIT \([0-9]*\).*/\1/p' "$work/console.log" | tail -1)
if [ -z "$code" ]; then
	echo "guest-test: no exit line (guest crashed or timed out)" >&2
	exit 2
fi
exit "$code"
