#!/usr/bin/env bash
# build-guest.sh: a small Linux guest for v86 from Debian packages only: Debian's non-PAE
# i386 kernel (linux-image-686) and busybox-static, as OUT/bzImage and OUT/initrd.gz (a
# newc cpio whose /init loads the virtio network modules, then runs a shell on the serial
# console). Nothing i386 is installed on the host: the packages are downloaded and unpacked
# in a temporary directory (dpkg --add-architecture i386 and apt-get update only, so apt can
# fetch them).
#
# Usage: tests/v86/build-guest.sh OUT_DIR   (as root; does nothing when both files exist)
set -eu

out=${1:?usage: $0 OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
[ -s "$out/bzImage" ] && [ -s "$out/initrd.gz" ] && exit 0
mkdir -p "$out"
out=$(cd "$out" && pwd)
if ! dpkg --print-foreign-architectures | grep -qx i386; then
    dpkg --add-architecture i386
    apt-get update -q >/dev/null
fi
apt-cache show busybox-static:i386 >/dev/null 2>&1 || apt-get update -q >/dev/null
kernel=$(apt-cache depends linux-image-686:i386 | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-686\):i386$/\1/p' | head -1)
[ -n "$kernel" ] || { echo "build-guest: no linux-image-*-686:i386 in apt" >&2; exit 1; }

tmp=$(mktemp -d)
chmod 755 "$tmp"
id _apt >/dev/null 2>&1 && chown _apt "$tmp" # apt-get download runs as _apt where it can write
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
apt-get download -q "$kernel:i386" busybox-static:i386 >/dev/null
dpkg -x linux-image-*.deb kernel
dpkg -x busybox-static_*.deb bb

root=$tmp/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,lib/modules,www,usr/share/udhcpc}
cp bb/bin/busybox "$root/bin/busybox"
for applet in sh ash ls cat echo mount insmod ip ifconfig udhcpc ping wget sha256sum httpd \
    nslookup sleep mkdir head dd rm uname route hostname seq; do
    ln -s busybox "$root/bin/$applet"
done
mods=$(find kernel/lib/modules -name '*.ko*' | sed -n '/\/virtio\//p;/\/virtio_net\./p;/\/failover\./p;/\/net_failover\./p;/\/virtio_ring\./p;/\/virtio_pci/p')
for m in $mods; do
    case $m in *.ko.xz) xz -dc "$m" >"$root/lib/modules/$(basename "$m" .xz)" ;; *) cp "$m" "$root/lib/modules/" ;; esac
done
cp "$here/guest-init.sh" "$root/init"
cp "$here/../lan/udhcpc.sh" "$root/usr/share/udhcpc/default.script"
chmod 755 "$root/init" "$root/usr/share/udhcpc/default.script"
mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3
mknod -m 666 "$root/dev/ttyS0" c 4 64
echo "a page inside the v86 guest" >"$root/www/guest.txt"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$out/initrd.gz"
cp kernel/boot/vmlinuz-* "$out/bzImage"
echo "build-guest: $out/bzImage ($kernel), $out/initrd.gz ($(du -k "$out/initrd.gz" | cut -f1) KiB)"
