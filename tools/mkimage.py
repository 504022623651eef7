#!/usr/bin/env python3
"""Make Fumi's bootable disk image: MBR, GRUB 2 for BIOS, one FAT32 partition.

Usage: mkimage.py OUT --kernel ELF [--site DIR] [--files DIR] [--size MIB]
                  [--cmdline "tcpip.ip=... httpd.port=..."]

The partition holds /boot/kernel.elf, /boot/grub/grub.cfg, the files of
--files (disk/: README, hello.txt, ...) and /www from --site (default: the
www folder of --files). GRUB's boot.img goes into the MBR's first 440
bytes and its core.img (biosdisk, part_msdos, fat, multiboot, serial, ...)
into the gap before the partition at sector 2048. No loop devices, no
mounts, no root: mkdisk.py formats the partition in place and mtools fills
it (docs/deploy.md).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mkdisk import PART_START, SECTOR, make_disk  # noqa: E402

GRUB_DIR = "/usr/lib/grub/i386-pc"
GRUB_MODULES = ["biosdisk", "part_msdos", "fat", "normal", "configfile", "multiboot",
                "serial", "terminal", "echo"]

GRUB_CFG = """\
# Fumi's boot menu (tools/mkimage.py). The serial console is what clouds
# show; the kernel command line options are in docs/deploy.md.
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry "Fumi" {{
    echo "Loading Fumi..."
    multiboot /boot/kernel.elf {cmdline}
    boot
}}
"""


def stage(root, kernel, site, files, cmdline):
    if files:
        shutil.copytree(files, root, dirs_exist_ok=True)
    www = os.path.join(root, "www")
    if site:
        if os.path.isdir(www):
            shutil.rmtree(www)
        shutil.copytree(site, www)
    if not os.path.isdir(www):
        sys.exit("mkimage: no site: give --site DIR or a --files folder with www/")
    if not os.path.exists(os.path.join(www, "index.html")):
        print("mkimage: warning: %s has no index.html (/ will be 404)" % (site or www),
              file=sys.stderr)
    os.makedirs(os.path.join(root, "boot", "grub"), exist_ok=True)
    shutil.copy(kernel, os.path.join(root, "boot", "kernel.elf"))
    with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(GRUB_CFG.format(cmdline=cmdline))


def install_grub(image, work):
    core = os.path.join(work, "core.img")
    subprocess.run(["grub-mkimage", "-O", "i386-pc", "-o", core, "-p",
                    "(hd0,msdos1)/boot/grub"] + GRUB_MODULES, check=True)
    size = os.path.getsize(core)
    if size > (PART_START - 1) * SECTOR:
        sys.exit("mkimage: core.img is %d bytes, more than the gap before the partition" % size)
    with open(os.path.join(GRUB_DIR, "boot.img"), "rb") as f:
        boot = f.read(440)  # the code only: the partition table stays
    with open(image, "r+b") as img, open(core, "rb") as c:
        img.seek(0)
        img.write(boot)
        img.seek(SECTOR)
        img.write(c.read())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--site", help="folder served as /www")
    ap.add_argument("--files", help="folder copied to the root of the partition")
    ap.add_argument("--size", type=int, default=128, help="MiB")
    ap.add_argument("--cmdline", default="", help="kernel command line")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="fumi-image-")
    try:
        root = os.path.join(work, "root")
        os.makedirs(root)
        stage(root, args.kernel, args.site, args.files, args.cmdline)
        tmp = args.out + ".tmp"
        make_disk(tmp, args.size, root, bootable=True)
        install_grub(tmp, work)
        os.replace(tmp, args.out)
    finally:
        shutil.rmtree(work)
    print("mkimage: %s: %d MiB, GRUB + FAT32 with /boot and /www" % (args.out, args.size))


if __name__ == "__main__":
    main()
