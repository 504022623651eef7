#!/usr/bin/env python3
"""Run Fumi in Bochs, headless, from a GRUB ISO.

Usage: bochs.py BUILD_DIR [--cmdline ...] [--until REGEX] [--timeout S]
       bochs.py BUILD_DIR --interactive [--cmdline ...]      (make bochs)

Debian's Bochs has no "nogui" display and stops at its debugger prompt:
we use the rfb display with no wait, answer the prompt with "c"
(continue; each magic breakpoint xchg %bx,%bx stops again and is continued
the same way), log COM1 to a file and port 0xe9 to Bochs's own output.
Bochs always exits 1, so callers decide from the serial log. With --until
we stop Bochs as soon as the pattern appears in the serial log.
"""
import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mkiso import make_iso  # noqa: E402

BOCHSRC = """megs: {mem}
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/seabios/vgabios-stdvga.bin
{boot}
display_library: rfb, options="timeout=0"
sound: driver=dummy
com1: enabled=1, mode=file, dev={serial}
port_e9_hack: enabled=1
magic_break: enabled=1
clock: sync=none
cpu: count=1, ips=50000000
log: {log}
"""


# The machine of a deployed image (docs/deploy.md): the disk on the first
# IDE channel and an e1000 on Bochs's own user-mode network (slirp, DHCP).
DISK_BOOT = """ata0-master: type=disk, path={disk}, mode=flat
boot: disk
pci: enabled=1, chipset=i440fx, slot1=e1000
e1000: enabled=1, mac=52:54:00:12:34:56, ethmod=slirp
"""
ISO_BOOT = """ata0-master: type=cdrom, path={iso}, status=inserted
boot: cdrom
"""


def run(build, cmdline="", until=None, timeout=300, mem=128, name="bochs", disk=None):
    """Boot in Bochs from a GRUB ISO of the kernel with cmdline, or from the
    bootable disk image `disk` (with a NIC); return the serial log
    (stopping at `until` if given)."""
    out = os.path.join(build, name)
    os.makedirs(out, exist_ok=True)
    serial = os.path.join(out, "serial.txt")
    rc = os.path.join(out, "bochsrc")
    if disk:
        boot = DISK_BOOT.format(disk=os.path.abspath(disk))
    else:
        iso = os.path.join(out, "fumi.iso")
        make_iso(os.path.join(build, "kernel.elf"), iso, cmdline)
        boot = ISO_BOOT.format(iso=iso)
    with open(rc, "w") as f:
        f.write(BOCHSRC.format(mem=mem, boot=boot, serial=serial,
                               log=os.path.join(out, "bochs.log")))
    if os.path.exists(serial):
        os.remove(serial)
    with open(os.path.join(out, "console.txt"), "w") as console:
        # stdbuf: Bochs's own output (and port 0xe9) reaches the file at once,
        # since the run ends with a kill.
        proc = subprocess.Popen(["stdbuf", "-o0", "-e0", "bochs", "-q", "-f", rc],
                                stdin=subprocess.PIPE,
                                stdout=console, stderr=subprocess.STDOUT)
        proc.stdin.write(b"c\n" * 64)  # continue at start and at magic breaks
        proc.stdin.flush()
        deadline = time.monotonic() + timeout
        text = ""
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
            if os.path.exists(serial):
                with open(serial, errors="replace") as f:
                    text = f.read()
                if until and re.search(until, text):
                    break
        proc.kill()
        proc.wait()
    if os.path.exists(serial):
        with open(serial, errors="replace") as f:
            text = f.read()
    return text.replace("\r", "")


def interactive(build, cmdline=""):
    """make bochs: the Bochs debugger on this terminal, the serial log
    streamed beside it; `c` continues (also after each BOCHS_BREAK), Ctrl-C
    stops in the debugger, `q` quits."""
    out = os.path.join(build, "bochs")
    os.makedirs(out, exist_ok=True)
    iso = os.path.join(out, "fumi.iso")
    serial = os.path.join(out, "serial.txt")
    rc = os.path.join(out, "bochsrc")
    make_iso(os.path.join(build, "kernel.elf"), iso, cmdline)
    with open(rc, "w") as f:
        f.write(BOCHSRC.format(mem=128, boot=ISO_BOOT.format(iso=iso), serial=serial,
                               log=os.path.join(out, "bochs.log")))
    open(serial, "w").close()
    tail = subprocess.Popen(["tail", "-f", serial])
    print("bochs: serial console below (also in %s); debugger: c, Ctrl-C, q" % serial)
    try:
        subprocess.call(["bochs", "-q", "-f", rc])
    finally:
        tail.terminate()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--cmdline", default="")
    ap.add_argument("--until")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--interactive", action="store_true")
    args = ap.parse_args()
    if args.interactive:
        interactive(args.build, args.cmdline)
    else:
        sys.stdout.write(run(args.build, args.cmdline, args.until, args.timeout))


if __name__ == "__main__":
    main()
