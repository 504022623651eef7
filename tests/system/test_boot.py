"""Boot paths: a small machine (32 MiB), a large one, and GRUB (multiboot
from an ISO), each to a working shell."""
import os
import re
import shutil
import subprocess
import tempfile

from guest import Guest


def boot_and_ps(t, label, **kw):
    g = Guest(t.build, "boot-" + label, **kw)
    try:
        g.wait_prompt(60)
        out = g.command("ps")
        t.check("boot[%s]: shell works" % label, re.search(r"\sshell\s+alive", out), out)
        out = g.command("mem")
        t.check("boot[%s]: memmgr reports memory" % label, re.search(r"\d+ MiB", out), out)
        return out
    finally:
        g.close()


def test_small_memory(t):
    boot_and_ps(t, "32MiB", mem=32)


def test_large_memory(t):
    boot_and_ps(t, "3GiB", mem=3072)


def test_grub_iso(t):
    if not shutil.which("grub-mkrescue"):
        t.check("boot[grub]: grub-mkrescue installed", False, "run tools/setup.sh test")
        return
    work = tempfile.mkdtemp(prefix="fumi-iso-")
    try:
        os.makedirs(os.path.join(work, "iso/boot/grub"))
        shutil.copy(os.path.join(t.build, "kernel.elf"), os.path.join(work, "iso/boot"))
        with open(os.path.join(work, "iso/boot/grub/grub.cfg"), "w") as f:
            f.write("serial --unit=0 --speed=115200\nterminal_input serial console\n"
                    "terminal_output serial console\nset timeout=0\n"
                    "menuentry Fumi {\n multiboot /boot/kernel.elf\n boot\n}\n")
        iso = os.path.join(work, "fumi.iso")
        subprocess.run(["grub-mkrescue", "-o", iso, os.path.join(work, "iso")],
                       check=True, capture_output=True)
        boot_and_ps(t, "grub", kernel=False, extra=["-cdrom", iso, "-boot", "d"])
    finally:
        shutil.rmtree(work)
