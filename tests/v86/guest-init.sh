#!/bin/sh
# /init of the v86 test guest (tests/v86/build-guest.sh): mounts /proc and /sys, loads the
# virtio network driver's modules in dependency order, then runs a shell on the serial
# console for tests/v86/guest.mjs to type into.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net; do
    [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko
done
ip link set lo up
hostname v86-guest
echo "GUEST-READY $(uname -r) $(ls /sys/class/net | tr '\n' ' ')"
exec sh </dev/console >/dev/console 2>&1
