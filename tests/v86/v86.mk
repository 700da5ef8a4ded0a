# v86.mk: the v86 guest test's packages (included by the top-level Makefile): seabios's
# BIOS images for v86, cpio for the guest's initramfs; the guest itself is built on demand
# by tests/v86/build-guest.sh (Debian's i386 kernel and busybox-static, downloaded only).
APT_PKGS += seabios cpio xz-utils
