#!/bin/sh
# Install the Debian packages a make target needs, when a tool is missing.
# Usage: tools/setup.sh build|run|test|bench|image. Runs apt-get only as root;
# otherwise it names the packages to install. Each need is TOOL:PACKAGE, a
# command on the PATH or an absolute path that the package installs.
set -e
need="gcc:gcc ld:binutils make:make python3:python3"
test_need="qemu-system-x86_64:qemu-system-x86 bochs:bochs /usr/share/bochs/BIOS-bochs-latest:bochsbios
      /usr/share/seabios/vgabios-stdvga.bin:seabios grub-mkrescue:grub-common
      /usr/lib/grub/i386-pc/boot.img:grub-pc-bin xorriso:xorriso mtools:mtools mkfs.fat:dosfstools
      tshark:tshark curl:curl ab:apache2-utils wrk:wrk clang:clang qemu-img:qemu-utils
      grub-mkimage:grub-common
      /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-14-dev"
# The HTTP benchmark's reference Linux guest (tools/linuxref.py): Debian's
# kernel (the cloud flavour has no e1000) and a busybox that needs no libc.
# Both are known by dpkg's file list: the dynamic busybox package also
# installs /bin/busybox, and the kernel's files are named by its version.
bench_need="/var/lib/dpkg/info/busybox-static.list:busybox-static
      /var/lib/dpkg/info/linux-image-amd64.list:linux-image-amd64"
case "$1" in
run) need="$need qemu-system-x86_64:qemu-system-x86 mtools:mtools mkfs.fat:dosfstools" ;;
test) need="$need $test_need" ;;
image) need="$need mtools:mtools mkfs.fat:dosfstools grub-mkimage:grub-common
      /usr/lib/grub/i386-pc/boot.img:grub-pc-bin qemu-img:qemu-utils" ;;
bench) need="$need $test_need $bench_need" ;;
esac
missing=""
for pair in $need; do
    tool=${pair%%:*}
    pkg=${pair#*:}
    case "$tool" in
    /*) [ -e "$tool" ] || missing="$missing $pkg" ;;
    *) command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || [ -x "/sbin/$tool" ] \
        || missing="$missing $pkg" ;;
    esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "setup: missing packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
    exit 1
fi
echo "setup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
