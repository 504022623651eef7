#!/usr/bin/env python3
"""make bench: run the benchmarks and print their JSON lines.

The IPC round trip (ipcbench) runs in QEMU under TCG and in Bochs, where
rdtsc counts executed instructions (the deterministic figure); with --kvm
also in QEMU with KVM (only meaningful on hosts with real hardware
virtualization); and once more in Bochs with the IPC trace on (its JSON
line has "trace":"on"), to show what tracing costs. fsbench measures the
file system in QEMU, next to the host reading the same image with mtools.
Benchmarks are never pass/fail: only the JSON lines go to stdout, progress
goes to stderr.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import bochs  # noqa: E402
from guest import Guest  # noqa: E402
from mkdisk import PART_START, SECTOR, make_disk  # noqa: E402

JSON_LINE = r"^\{\"bench\":.*\}$"


def emit(text, where, **extra):
    """Print the JSON line found in text, with extra keys added."""
    for line in re.findall(JSON_LINE, text, re.M):
        result = json.loads(line)
        result.update(extra)
        print(json.dumps(result, separators=(",", ":")), flush=True)
        return
    print("bench: no result from %s" % where, file=sys.stderr)


def qemu_ipcbench(build, kvm=False):
    extra = ["-enable-kvm", "-cpu", "host"] if kvm else []
    g = Guest(build, "bench-qemu" + ("-kvm" if kvm else ""), "autostart=ipcbench", extra=extra)
    try:
        m = g.expect(r"\{\"bench\":.*\}\n", 600)  # the whole line
        emit(m.group(0), "qemu")
    finally:
        g.close()


def fs_bench(build):
    """fsbench in the guest on a fresh 128 MiB disk, then the host reading
    the same 16 MiB file from the image with mtools, as the reference."""
    work = tempfile.mkdtemp(prefix="fumi-bench-")
    image = os.path.join(work, "disk.img")
    try:
        make_disk(image, 128)
        g = Guest(build, "bench-fs", "autostart=fsbench",
                  extra=["-drive", "file=%s,format=raw,if=ide,index=0" % image])
        try:
            m = g.expect(r"\{\"bench\":\"fs\".*\}\n", 900)
            emit(m.group(0), "fsbench", emulator="qemu-tcg")
            g.send("shutdown\r")
            g.wait_exit(120)
        finally:
            g.close()
        env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
        start = time.monotonic()
        subprocess.run(["mcopy", "-n", "-i", "%s@@%d" % (image, PART_START * SECTOR),
                        "::/fsbench.bin", os.path.join(work, "out.bin")], check=True, env=env)
        secs = time.monotonic() - start
        print(json.dumps({"bench": "fs_host_mtools", "file_mib": 16,
                          "seq_read_mib_s": round(16 / secs, 2)}, separators=(",", ":")),
              flush=True)
    finally:
        shutil.rmtree(work)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--kvm", action="store_true")
    args = ap.parse_args()
    print("bench: ipcbench in QEMU (TCG)", file=sys.stderr)
    qemu_ipcbench(args.build)
    print("bench: fsbench in QEMU (TCG), and mtools on the host", file=sys.stderr)
    fs_bench(args.build)
    if args.kvm:
        print("bench: ipcbench in QEMU (KVM)", file=sys.stderr)
        qemu_ipcbench(args.build, kvm=True)
    print("bench: ipcbench in Bochs", file=sys.stderr)
    until = r"\"bench\":.*\}\n"
    emit(bochs.run(args.build, "autostart=ipcbench", until=until), "bochs")
    print("bench: ipcbench in Bochs with the IPC trace on", file=sys.stderr)
    emit(bochs.run(args.build, "autostart=ipcbench trace=ipcbench", until=until), "bochs",
         trace="on")


if __name__ == "__main__":
    main()
