#!/usr/bin/env python3
"""Build a GRUB (BIOS) ISO that boots build/kernel.elf with a command line.

Usage: mkiso.py KERNEL OUT.iso [CMDLINE]

Used by Bochs runs (Bochs cannot load multiboot files itself) and by the
GRUB boot test. The serial console is GRUB's terminal too, so a serial log
shows the whole boot.
"""
import os
import shutil
import subprocess
import sys
import tempfile

GRUB_CFG = """serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry "Fumi" {
    multiboot /boot/kernel.elf %s
    boot
}
"""


def make_iso(kernel, out, cmdline=""):
    work = tempfile.mkdtemp(prefix="fumi-iso-")
    try:
        os.makedirs(os.path.join(work, "boot", "grub"))
        shutil.copy(kernel, os.path.join(work, "boot", "kernel.elf"))
        with open(os.path.join(work, "boot", "grub", "grub.cfg"), "w") as f:
            f.write(GRUB_CFG % cmdline)
        subprocess.run(["grub-mkrescue", "-o", out, work], check=True, capture_output=True)
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    make_iso(sys.argv[1], sys.argv[2], " ".join(sys.argv[3:]))
