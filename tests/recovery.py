"""Crash a server of a running Fumi while its web server is under load, and
time how long until the service is back. Shared by the system test
(tests/system/test_recovery.py) and `make bench` (tests/bench.py).

The guest serves a FAT disk's /www on a forwarded 127.0.0.1 port. A
bounded load (a few host threads, each one GET at a time with a short
timeout and a pause) runs throughout. `crash NAME` makes the server fault
(memmgr.crash); the supervisor restarts it; "restored" is the first moment
after the crash at which a fresh GET of a file nobody asked for yet (so
fat must read it from the disk) returns the right bytes, and for the
console, the moment the shell answers again.
"""
import http.client
import os
import random
import re
import subprocess
import sys
import threading
import time

from guest import Guest, free_port

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from mkdisk import PART_START, SECTOR, make_disk  # noqa: E402

SERVERS = ("ide", "fat", "e1000", "tcpip", "httpd", "console")
FRESH_FILES = 16  # fresh/NN.bin: one never-read file per probe
FRESH_SIZE = 96 * 1024
RESTORE_LIMIT = 60  # seconds; a liveness bound, not a performance figure
PROBE_TIMEOUT = 1   # seconds per try of a fresh file (96 KiB take ~20 ms)


def site(root):
    """/www: a page the load fetches, and files each read only once."""
    rnd = random.Random(7)
    files = {"index.html": b"<!DOCTYPE html><title>recovery</title><p>still here</p>\n"}
    for i in range(FRESH_FILES):
        files["fresh/%02d.bin" % i] = rnd.randbytes(FRESH_SIZE)
    for rel, data in files.items():
        path = os.path.join(root, "www", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return files


def get(port, path, timeout=5):
    """(status, body) of one GET on a new connection, or (None, error)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    except (OSError, http.client.HTTPException) as e:
        return None, type(e).__name__
    finally:
        c.close()


class Load:
    """A few threads GETting the index page in a loop until stopped; each
    result is kept as (time, ok)."""

    def __init__(self, port, want, threads=3, pause=0.05):
        self.port, self.want, self.pause = port, want, pause
        self.results = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for th in self.threads:
            th.start()

    def _run(self):
        while not self.stopping.is_set():
            status, body = get(self.port, "/index.html", timeout=3)
            self.results.append((time.monotonic(), status == 200 and body == self.want))
            time.sleep(self.pause)

    def ok_after(self, t):
        return sum(1 for when, ok in list(self.results) if ok and when > t)

    def failed_between(self, t0, t1):
        return sum(1 for when, ok in list(self.results) if not ok and t0 <= when <= t1)

    def stop(self):
        self.stopping.set()
        for th in self.threads:
            th.join(10)


class Site:
    """A guest serving site() from a fresh disk image on a free port."""

    def __init__(self, build, work, name="recovery"):
        root = os.path.join(work, "site")
        self.files = site(root)
        self.image = os.path.join(work, "disk.img")
        make_disk(self.image, 64, root)
        self.port = free_port()
        self.fresh = sorted(p for p in self.files if p.startswith("fresh/"))
        # httpd.log=off: no access-log lines in the middle of shell commands
        self.g = Guest(build, name, "httpd.log=off", extra=[
            "-drive", "file=%s,format=raw,if=ide,index=0" % self.image,
            "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:80" % self.port,
            "-device", "e1000,netdev=n0"])

    def fresh_file_ok(self, timeout=5):
        """Whether the next file never served yet comes back byte for byte
        (then the one after it is next)."""
        path = self.fresh[0]
        status, body = get(self.port, "/" + path, timeout)
        if status != 200 or body != self.files[path]:
            return False
        self.fresh.pop(0)
        return True

    def close(self):
        self.g.close()


def ps(g):
    """{name: (pid, state, restarts)} from the shell's ps."""
    rows = {}
    for line in g.command("ps").splitlines():
        f = line.split()  # PID NAME STATE THREADS CHANNELS PAGES UPTIME RESTARTS LAST...
        if len(f) >= 9 and f[0].isdigit() and f[2] in ("alive", "restart", "failed", "stopped"):
            rows[f[1]] = (int(f[0]), f[2], int(f[7]) if f[7].isdigit() else 0)
    return rows


def crash(site, name):
    """Crash `name` and wait for the service to be back. Returns (seconds
    from the crash to restored or None, what the log said)."""
    g = site.g
    mark = g.mark()
    t0 = time.monotonic()
    g.send("crash %s\r" % name)
    g.expect(r"memmgr: restarted %s \(pid \d+" % re.escape(name), RESTORE_LIMIT, mark)
    deadline = t0 + RESTORE_LIMIT
    if name == "console":
        # the shell's next command goes through the new console
        while time.monotonic() < deadline:
            if "still answering" in g.command("echo still answering", timeout=10):
                break
    else:
        # Short tries: a connection slirp opened while the network was down
        # may wait seconds for TCP's retransmission; a new one is quicker.
        while time.monotonic() < deadline:
            if site.fresh_file_ok(timeout=PROBE_TIMEOUT):
                break
            time.sleep(0.05)
        else:
            return None, g.buf[mark:]
    t1 = time.monotonic()
    g.expect(re.escape("fumi> "), 10, mark)
    return t1 - t0, g.buf[mark:]


def fsck(image):
    """(exit code, report) of fsck.fat -n on the image's partition."""
    part = image + ".part"
    with open(image, "rb") as src, open(part, "wb") as dst:
        src.seek(PART_START * SECTOR)
        while True:
            chunk = src.read(1 << 20)
            if not chunk:
                break
            dst.write(chunk)
    proc = subprocess.run(["fsck.fat", "-n", part], capture_output=True, text=True)
    os.remove(part)
    return proc.returncode, proc.stdout + proc.stderr


def mread(image, path):
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    return subprocess.run(["mtype", "-i", "%s@@%d" % (image, PART_START * SECTOR), "::" + path],
                          env=env, capture_output=True).stdout
