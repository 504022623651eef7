#!/usr/bin/env python3
"""make bench: run the benchmarks and print their JSON lines.

The IPC round trip (ipcbench) runs in QEMU under TCG and in Bochs, where
rdtsc counts executed instructions (the deterministic figure); with --kvm
also in QEMU with KVM (only meaningful on hosts with real hardware
virtualization); and once more in Bochs with the IPC trace on (its JSON
line has "trace":"on"), to show what tracing costs. fsbench measures the
file system in QEMU, next to the host reading the same image with mtools.
The HTTP benchmark loads Fumi's web server with wrk, and then the same
files served by busybox httpd on Debian's Linux kernel in the same QEMU
(tools/linuxref.py). The recovery benchmark crashes each server under a
light web load and times how long until the service is back
(tests/recovery.py). --only runs some of them. Benchmarks are never
pass/fail: only the JSON lines go to stdout, progress goes to stderr.
"""
import argparse
import http.client
import json
import os
import random
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
import linuxref  # noqa: E402
import recovery  # noqa: E402
from guest import Guest, GuestError, free_port  # noqa: E402
from mkdisk import PART_START, SECTOR, make_disk  # noqa: E402

JSON_LINE = r"^\{\"bench\":.*\}$"
BENCHES = ("ipc", "fs", "http", "recovery")
RECOVERY_ROUNDS = 3


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


# The HTTP benchmark, WRK_SECONDS per run after a warm-up: each file at 1
# connection (one wrk thread) and at 16 (two threads, the host's two
# cores), with keep-alive; then the small file once more with the client
# asking for a new connection per request (busybox httpd closes after every
# response whatever the client asks, so that is the like-for-like figure).
HTTP_FILES = {"small": "small.html", "big": "big.bin"}
HTTP_RUNS = (  # (file, connections, wrk threads, keep-alive)
    ("small", 1, 1, True), ("small", 16, 2, True), ("big", 1, 1, True), ("big", 16, 2, True),
    ("small", 1, 1, False), ("small", 16, 2, False))
WRK_SECONDS = 10
WARMUP_SECONDS = 3
# wrk's own summary, exact (its report rounds): one line from a Lua hook.
WRK_SCRIPT = """done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("wrk-summary %d %d %d %d %d %d %d %d\\n", summary.requests,
    summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def http_site():
    """The files both systems serve: a 512-byte page and 1 MiB of seeded
    random bytes (the same bytes on every run)."""
    head = b"<!DOCTYPE html>\n<title>Fumi HTTP benchmark</title>\n<p>"
    tail = b"</p>\n"
    small = head + b"The same 512 bytes for both systems. " * 14
    small = small[:512 - len(tail)] + tail
    return {"small.html": small, "big.bin": random.Random(1).randbytes(1 << 20)}


def http_check(port, files):
    """None if the server gives every file byte for byte, else what it gave."""
    for name, want in files.items():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            c.request("GET", "/" + name)
            r = c.getresponse()
            body = r.read()
        except (OSError, http.client.HTTPException) as e:
            return "/%s: %s" % (name, e)
        finally:
            c.close()
        if r.status != 200 or body != want:
            return "/%s: status %d, %d bytes" % (name, r.status, len(body))
    return None


def wrk(url, connections, threads, seconds, script, keepalive=True):
    """Run wrk; return (summary dict, its whole output)."""
    args = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds,
            "--timeout", "30s", "-s", script, url]
    if not keepalive:
        args[1:1] = ["-H", "Connection: close"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 120)
    out = proc.stdout + proc.stderr
    m = re.search(r"^wrk-summary (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.M)
    if proc.returncode != 0 or not m:
        return None, out
    keys = ("requests", "duration_us", "bytes", "connect", "read", "write", "status", "timeout")
    return dict(zip(keys, map(int, m.groups()))), out


def http_measure(system, port, files, work, log):
    """The wrk runs against one system, a JSON line each."""
    script = os.path.join(work, "summary.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT)
    for label, connections, threads, keepalive in HTTP_RUNS:
        name = HTTP_FILES[label]
        url = "http://127.0.0.1:%d/%s" % (port, name)
        wrk(url, connections, threads, WARMUP_SECONDS, script, keepalive)
        s, out = wrk(url, connections, threads, WRK_SECONDS, script, keepalive)
        log.write("== %s %s, %d connections, keep-alive %s\n%s\n"
                  % (system, name, connections, keepalive, out))
        log.flush()
        if not s:
            print("bench: wrk failed on %s %s:\n%s" % (system, url, out), file=sys.stderr)
            continue
        secs = s["duration_us"] / 1e6
        errors = sum(s[k] for k in ("connect", "read", "write", "status", "timeout"))
        if errors:
            print("bench: %s: %d errors under wrk:\n%s" % (system, errors, out), file=sys.stderr)
        size = len(files[name])
        print(json.dumps({"bench": "http", "system": system, "file": label, "bytes": size,
                          "connections": connections, "keepalive": keepalive,
                          "requests_per_s": round(s["requests"] / secs, 1),
                          "mb_per_s": round(s["requests"] * size / secs / 1e6, 3),
                          "errors": errors, "emulator": "qemu-tcg"},
                         separators=(",", ":")), flush=True)


def http_guest(build, system, work, files, port):
    """Boot one system serving files on 127.0.0.1:port; return its Guest
    once it serves."""
    net = ["-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:80" % port,
           "-device", "e1000,netdev=n0"]
    if system == "linux":
        vmlinuz, initrd = linuxref.build(build, files)
        g = Guest(build, "bench-http-linux", kernel=False,
                  extra=net + linuxref.qemu_args(vmlinuz, initrd))
    else:
        g = http_fumi(build, work, files, net)
    try:
        if system == "linux":
            g.expect(re.escape(linuxref.READY), 300)
        else:
            g.wait_prompt(300)
    except GuestError:
        g.close()
        raise
    return g


def http_fumi(build, work, files, net):
    """Fumi with the files in /www of a fresh FAT disk."""
    root = os.path.join(work, "site")
    os.makedirs(os.path.join(root, "www"))
    for name, data in files.items():
        with open(os.path.join(root, "www", name), "wb") as f:
            f.write(data)
    image = os.path.join(work, "disk.img")
    make_disk(image, 64, root)
    return Guest(build, "bench-http-fumi", "",
                 extra=["-drive", "file=%s,format=raw,if=ide,index=0" % image] + net)


def http_bench(build):
    """Fumi's httpd, then busybox httpd on Debian's kernel (the reference),
    one guest at a time, under the same wrk runs. wrk's full reports go
    to build/test-logs/bench-http.wrk.txt."""
    files = http_site()
    work = tempfile.mkdtemp(prefix="fumi-bench-http-")
    os.makedirs(os.path.join(build, "test-logs"), exist_ok=True)
    try:
        with open(os.path.join(build, "test-logs", "bench-http.wrk.txt"), "w") as log:
            for system in ("fumi", "linux"):
                print("bench: http on %s in QEMU (TCG), wrk" % system, file=sys.stderr)
                port = free_port()
                try:
                    g = http_guest(build, system, os.path.join(work, system), files, port)
                except (linuxref.LinuxRefError, GuestError) as e:
                    print("bench: http on %s skipped: %s" % (system, e), file=sys.stderr)
                    continue
                try:
                    wrong = http_check(port, files)
                    if wrong:
                        print("bench: %s serves wrong content: %s" % (system, wrong),
                              file=sys.stderr)
                    else:
                        http_measure(system, port, files, work, log)
                finally:
                    g.close()
    finally:
        shutil.rmtree(work)


def recovery_bench(build):
    """Seconds from `crash NAME` to the service restored, per server, the
    median of RECOVERY_ROUNDS crashes, and the load's failed requests."""
    work = tempfile.mkdtemp(prefix="fumi-bench-recovery-")
    site = recovery.Site(build, work, "bench-recovery")
    try:
        site.g.wait_prompt(120)
        load = recovery.Load(site.port, site.files["index.html"])
        try:
            for name in recovery.SERVERS:
                times, failed = [], 0
                for _ in range(RECOVERY_ROUNDS):
                    t0 = time.monotonic()
                    seconds, log = recovery.crash(site, name)
                    if seconds is None:
                        print("bench: %s did not come back:\n%s" % (name, log[-800:]),
                              file=sys.stderr)
                        return
                    times.append(seconds)
                    failed += load.failed_between(t0, t0 + seconds)
                    time.sleep(1)
                times.sort()
                print(json.dumps({"bench": "recovery", "server": name, "rounds": len(times),
                                  "median_s": round(times[len(times) // 2], 3),
                                  "max_s": round(times[-1], 3), "failed_requests": failed,
                                  "emulator": "qemu-tcg"}, separators=(",", ":")), flush=True)
        finally:
            load.stop()
    finally:
        site.close()
        shutil.rmtree(work)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--kvm", action="store_true")
    ap.add_argument("--only", action="append", choices=BENCHES,
                    help="run only this benchmark (may be given more than once)")
    args = ap.parse_args()
    only = set(args.only or BENCHES)
    if "ipc" in only:
        print("bench: ipcbench in QEMU (TCG)", file=sys.stderr)
        qemu_ipcbench(args.build)
    if "fs" in only:
        print("bench: fsbench in QEMU (TCG), and mtools on the host", file=sys.stderr)
        fs_bench(args.build)
    if "ipc" in only:
        if args.kvm:
            print("bench: ipcbench in QEMU (KVM)", file=sys.stderr)
            qemu_ipcbench(args.build, kvm=True)
        print("bench: ipcbench in Bochs", file=sys.stderr)
        until = r"\"bench\":.*\}\n"
        emit(bochs.run(args.build, "autostart=ipcbench", until=until), "bochs")
        print("bench: ipcbench in Bochs with the IPC trace on", file=sys.stderr)
        emit(bochs.run(args.build, "autostart=ipcbench trace=ipcbench", until=until), "bochs",
             trace="on")
    if "http" in only:
        http_bench(args.build)
    if "recovery" in only:
        print("bench: recovery after a crash, per server, in QEMU (TCG)", file=sys.stderr)
        recovery_bench(args.build)


if __name__ == "__main__":
    main()
