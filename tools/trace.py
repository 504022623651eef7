#!/usr/bin/env python3
"""Record or stream Fumi's IPC trace (kernel command line `trace`).

  trace.py record BUILD [--filter NAME]   make trace: boot, run a scripted
        workload through the shell, power off; leaves BUILD/trace.pcap
  trace.py live BUILD [--filter NAME]     make trace-live: the shell on this
        terminal, the trace streamed into Wireshark (or tshark) through a FIFO

The kernel writes a libpcap stream (DLT_USER0, nanosecond timestamps) to
I/O port 0x504, which QEMU's isa-debugcon device sends to a file or FIFO.
Read it with: tshark -X lua_script:tools/wireshark/fumi.lua -r build/trace.pcap
"""
import argparse
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from guest import Guest  # noqa: E402

DISSECTOR = os.path.join(ROOT, "tools", "wireshark", "fumi.lua")

# Shell commands that make several servers talk (memmgr, console, the
# kernel server, the benchmark pair, fat and ide reading the disk).
WORKLOAD = ["echo tracing", "ps", "uptime", "mem", "run ipcbench 100", "ls /", "cat /hello.txt"]


def trace_device(path):
    return ["-chardev", "file,id=trace,path=" + path,
            "-device", "isa-debugcon,iobase=0x504,chardev=trace"]


def cmdline(filter_name):
    return "trace=" + filter_name if filter_name else "trace"


def disk(build):
    """A scratch copy of build/disk.img, if there is one (make builds it)."""
    image = os.path.join(build, "disk.img")
    if not os.path.exists(image):
        return []
    scratch = os.path.join(build, "trace-disk.img")
    shutil.copy(image, scratch)
    return ["-drive", "file=%s,format=raw,if=ide,index=0" % scratch]


def record(build, filter_name, workload=WORKLOAD):
    pcap = os.path.join(build, "trace.pcap")
    drive = disk(build)
    g = Guest(build, "trace", cmdline(filter_name), extra=trace_device(pcap) + drive)
    try:
        g.wait_prompt(60)
        if drive:
            g.expect(r"fat: mounted", 60)
        for line in workload:
            g.command(line, timeout=300)
        g.send("shutdown\r")  # the kernel flushes the trace buffer first
        g.wait_exit(60)
    finally:
        g.close()
    print("trace: %s (%d bytes)" % (pcap, os.path.getsize(pcap)))
    return pcap


def live(build, filter_name):
    fifo = os.path.join(build, "trace.fifo")
    if os.path.exists(fifo):
        os.remove(fifo)
    os.mkfifo(fifo)
    if os.environ.get("DISPLAY") and shutil.which("wireshark"):
        viewer = subprocess.Popen(["wireshark", "-X", "lua_script:" + DISSECTOR, "-k", "-i", fifo])
        print("trace-live: Wireshark reads %s" % fifo)
    else:
        out = open(os.path.join(build, "trace-live.txt"), "w")
        viewer = subprocess.Popen(["tshark", "-l", "-X", "lua_script:" + DISSECTOR, "-i", fifo],
                                  stdout=out, stderr=subprocess.STDOUT)
        print("trace-live: no display; tshark writes %s (tail -f it)" % out.name)
    qemu = [os.environ.get("QEMU", "qemu-system-x86_64"), "-kernel",
            os.path.join(build, "kernel.elf"), "-append", cmdline(filter_name), "-m", "256",
            "-display", "none", "-no-reboot", "-serial", "mon:stdio",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"] + trace_device(fifo) + disk(build)
    try:
        subprocess.call(qemu)
    finally:
        viewer.terminate()
        os.remove(fifo)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["record", "live"])
    ap.add_argument("build")
    ap.add_argument("--filter", default="", help="only messages to or from this process")
    args = ap.parse_args()
    if args.mode == "record":
        record(args.build, args.filter)
    else:
        live(args.build, args.filter)


if __name__ == "__main__":
    main()
