"""Network recovery: e1000, tcpip, httpd and fat killed (the shell's `kill
NAME`) and restarted by memmgr's supervisor, or stopped and started by hand
(`stop NAME` / `start NAME`) for the longer outages, while the host keeps
fetching pages through a port forwarded to 127.0.0.1. Traffic goes only
there.

For each restart: pages must be served again within RECOVERY_LIMIT_S of the
kill, byte for byte as on the disk; the host may see failures only during
the outage (each request has a short timeout, so they are bounded); every
other server keeps its pid. The time from the kill to the first page served
is printed as a `RECOVERY {...}` JSON line (for make bench). Then: the
shell's network commands find a restarted tcpip by themselves, give up in
bounded time while there is none, and httpd, looking for tcpip with
backoff meanwhile, comes back after a longer outage too.
"""
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time

import recovery
from guest import Guest, GuestError, free_port

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from mkdisk import make_disk  # noqa: E402

RECOVERY_LIMIT_S = 20   # kill -> first page again (TCG, two busy cores)
REQUEST_TIMEOUT_S = 3   # per request of the load
SETTLED_S = 1.0         # after the first page again, nothing may fail any more
LOAD_PATHS = ("index.html", "mid.bin")
SERVERS = ("console", "ide", "e1000", "shell", "fat", "tcpip", "httpd")


def site(work):
    root = os.path.join(work, "site")
    os.makedirs(os.path.join(root, "www"))
    files = {
        "index.html": b"<!DOCTYPE html><title>recovery</title><p>still here</p>\n",
        "mid.bin": os.urandom(256 << 10),
        # Larger than every buffer between httpd and the host (the host
        # kernel's send buffer of slirp's socket alone grows to 4 MiB).
        "big1.bin": os.urandom(12 << 20),
        "big2.bin": os.urandom(8 << 20),
    }
    for rel, data in files.items():
        with open(os.path.join(root, "www", rel), "wb") as f:
            f.write(data)
    return root, files


def fetch(port, path, timeout=REQUEST_TIMEOUT_S):
    """(status, body) or (None, why) for a GET on a new connection."""
    return recovery.get(port, path, timeout)


class Load:
    """A bounded load: `threads` host threads, each GETting the pages in
    turn, one connection and at most REQUEST_TIMEOUT_S per request. Every
    request is recorded as (start, end, path, ok, why); ok means 200 and
    the body byte-identical to the file on the disk."""

    def __init__(self, port, files, threads=2):
        self.port = port
        self.files = files
        self.results = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(threads)]

    def _run(self, i):
        paths = LOAD_PATHS
        n = i
        while not self.stopping.is_set():
            path = paths[n % len(paths)]
            n += 1
            start = time.monotonic()
            status, body = fetch(self.port, "/" + path)
            if status is None:
                ok, why = False, body
            elif status != 200:
                ok, why = False, "status %d" % status
            elif body != self.files[path]:
                ok, why = False, "body differs (%d bytes)" % len(body)
            else:
                ok, why = True, ""
            with self.lock:
                self.results.append((start, time.monotonic(), path, ok, why))
            if not ok:
                time.sleep(0.1)  # the host backs off a little, as clients do

    def start(self):
        for th in self.threads:
            th.start()
        return self

    def stop(self):
        self.stopping.set()
        for th in self.threads:
            th.join(REQUEST_TIMEOUT_S * 3)

    def first_ok_after(self, t0):
        with self.lock:
            ends = [end for start, end, path, ok, why in self.results if ok and start >= t0]
        return min(ends) if ends else None

    def wait_ok_after(self, t0, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            first = self.first_ok_after(t0)
            if first is not None:
                return first
            time.sleep(0.1)
        return None


def ps(g):
    """{name: pid} of the live processes."""
    out = g.command("ps")
    return {m.group(2): int(m.group(1))
            for m in re.finditer(r"^\s*(\d+)\s+(\S+)\s+alive\b", out, re.M)}


def type_line(g, line, pattern, timeout=30):
    """Type a command while other servers log (the echo may be cut by their
    lines, so guest.command cannot be used); return the match of pattern in
    what follows."""
    start = g.mark()
    g.send(line + "\r")
    return g.expect(pattern, timeout, start)


def restart_under_load(t, g, port, files, name):
    """Kill name while the host fetches pages and let the supervisor start it
    again; check and report the outage. Returns the serial mark taken
    before the kill."""
    before = ps(g)
    load = Load(port, files).start()
    time.sleep(1.5)
    mark = g.mark()
    type_line(g, "kill " + name, r"killed pid %d\n" % before[name])
    t0 = time.monotonic()  # the old process is gone: nothing it served counts
    started = g.expect(r"memmgr: restarted %s \(pid (\d+)," % name, RECOVERY_LIMIT_S, mark)
    first = load.wait_ok_after(t0, RECOVERY_LIMIT_S)
    time.sleep(3)
    load.stop()
    res = list(load.results)
    label = "recovery[%s]" % name
    served = first is not None
    t.check("%s: pages served again within %d s of the kill%s"
            % (label, RECOVERY_LIMIT_S, " (%.2f s)" % (first - t0) if served else ""), served,
            "no page after the kill; last results: %s" % res[-6:])
    bad_bodies = [r for r in res if r[4].startswith("body differs")]
    t.check("%s: every page served is byte-identical to the disk (%d pages)"
            % (label, sum(1 for r in res if r[3])), not bad_bodies, str(bad_bodies[:5]))
    before_kill = [r for r in res if r[1] < t0 and not r[3]]
    t.check("%s: no failures before the kill" % label, res and not before_kill,
            str(before_kill[:5]))
    failed = [r for r in res if not r[3]]
    if served:
        late = [r for r in failed if r[0] >= first + SETTLED_S]
        after = [r for r in res if r[0] >= first + SETTLED_S]
        t.check("%s: no failures once serving again (%d requests)" % (label, len(after)),
                not late and len(after) > 0, str(late[:5]))
        print("RECOVERY " + json.dumps({
            "server": name, "kill_to_first_page_s": round(first - t0, 3),
            "failed_requests": len(failed), "requests": len(res),
            "failures": sorted(set(r[4] for r in failed))}), flush=True)
    time.sleep(1)
    after = ps(g)
    new_pid = int(started.group(1))
    others = {s: (before.get(s), after.get(s)) for s in SERVERS
              if s != name and before.get(s) != after.get(s)}
    t.check("%s: the others kept their pids, %s is pid %d now" % (label, name, new_pid),
            not others and after.get(name) == new_pid and before[name] != new_pid,
            "changed: %s; %s: %s -> %s" % (others, name, before[name], after.get(name)))
    return mark


def check_e1000(t, g, port, files):
    mark = restart_under_load(t, g, port, files, "e1000")
    log = g.buf[mark:]
    t.check("recovery[e1000]: tcpip re-attached to the new driver",
            "tcpip: attached to the driver again, link up" in log, log[-800:])
    t.check("recovery[e1000]: tcpip kept its address (no new DHCP)",
            "dhcp: bound" not in log, log[-800:])
    out = g.command("ifconfig")
    t.check("recovery[e1000]: ifconfig shows the lease and the new driver's counters",
            "inet 10.0.2.15/24" in out and "dhcp bound" in out and "interrupts" in out, out)


def check_tcpip(t, g, port, files):
    g.command("ifconfig")  # the shell keeps a channel to this tcpip
    mark = restart_under_load(t, g, port, files, "tcpip")
    log = g.buf[mark:]
    t.check("recovery[tcpip]: httpd noticed, listened again and printed its ready line",
            re.search(r"httpd: tcpip is gone .*\n(.*\n)*httpd: serving /www on port 80\n"
                      r"(.*\n)*httpd: ready: http://10\.0\.2\.15:80/", log), log[-1500:])
    out = g.command("ifconfig")
    t.check("recovery[tcpip]: the shell's ifconfig finds the new tcpip by itself",
            "eth0  mac" in out and "inet 10.0.2.15/24" in out and "ERR_" not in out, out)


def check_httpd(t, g, port, files):
    mark = restart_under_load(t, g, port, files, "httpd")
    log = g.buf[mark:]
    t.check("recovery[httpd]: the new httpd listened on port 80 at once",
            "httpd: serving /www on port 80" in log and "cannot listen" not in log, log[-800:])
    out = g.command("netstat")
    listeners = re.findall(r"^tcp\s+\S+:80\s+\S+\s+LISTEN\b", out, re.M)
    t.check("recovery[httpd]: one listener on port 80 (the old one was released)",
            len(listeners) == 1, out)


class SlowReader:
    """A GET whose client stops reading after `take` bytes, so that httpd,
    once every buffer on the way is full, holds the file open in the middle
    of the response until read() is called."""

    def __init__(self, port, path, take=32 << 10):
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        self.s.settimeout(30)
        self.s.connect(("127.0.0.1", port))
        self.s.sendall(b"GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode())
        self.data = b""
        while len(self.data) < take:
            chunk = self.s.recv(4096)
            if not chunk:
                break
            self.data += chunk

    def read(self):
        """The body, read until the server closes or stops sending."""
        self.s.settimeout(15)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    break
                self.data += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        self.s.close()
        head, _, body = self.data.partition(b"\r\n\r\n")
        return head, body


def check_fat_handles(t, g, port, files):
    """A response that was being sent from a file of the fat that died must
    be cut, never continued with whatever the new fat's same handle number
    names (here: another connection's file)."""
    a = SlowReader(port, "big1.bin")
    time.sleep(3)  # every buffer on the way fills: httpd holds the file, mid-response
    held = '"GET /big1.bin HTTP/1.1"' not in g.buf  # not logged: not all of it sent yet
    g.command("kill fat")  # the supervisor starts it again
    deadline = time.monotonic() + RECOVERY_LIMIT_S
    while time.monotonic() < deadline and fetch(port, "/index.html", 10)[0] != 200:
        time.sleep(0.2)
    b = SlowReader(port, "big2.bin")  # its file is open on the new fat now
    head_a, body_a = a.read()
    head_b, body_b = b.read()
    t.check("recovery[fat]: a response from the dead fat's file is cut, not continued with "
            "another file (%d of %d bytes)" % (len(body_a), len(files["big1.bin"])),
            held and b" 200 " in head_a and len(body_a) < len(files["big1.bin"])
            and files["big1.bin"].startswith(body_a),
            repr(head_a[:100]) if held else "httpd sent all of big1.bin before fat died: the "
            "host buffers more than the file, make it larger")
    t.check("recovery[fat]: the other connection gets its whole file",
            b" 200 " in head_b and body_b == files["big2.bin"], "%r, %d bytes"
            % (head_b[:40], len(body_b)))


def check_fat(t, g, port, files):
    check_fat_handles(t, g, port, files)
    before = ps(g)
    out = g.command("stop fat")
    t.check("recovery[fat]: fat stopped", "stopped pid %d" % before["fat"] in out, out)
    statuses = [fetch(port, "/index.html", timeout=10)[0] for _ in range(3)]
    t.check("recovery[fat]: 503 while there is no file system", statuses == [503] * 3,
            str(statuses))
    t0 = time.monotonic()
    out = g.command("start fat")
    new_pid = re.search(r"started fat: pid (\d+)", out)
    ok = False
    while time.monotonic() - t0 < RECOVERY_LIMIT_S and not ok:
        status, body = fetch(port, "/index.html", timeout=10)
        ok = status == 200 and body == files["index.html"]
        if not ok:
            time.sleep(0.2)
    t.check("recovery[fat]: pages served again once fat is back (%.2f s)"
            % (time.monotonic() - t0), ok)
    status, body = fetch(port, "/mid.bin", timeout=30)
    t.check("recovery[fat]: a 256 KiB file byte-identical after the restart",
            status == 200 and body == files["mid.bin"], "status %s" % status)
    after = ps(g)
    changed = [s for s in SERVERS if s != "fat" and before.get(s) != after.get(s)]
    t.check("recovery[fat]: the others kept their pids", new_pid and not changed
            and after.get("fat") == int(new_pid.group(1)), "changed: %s" % changed)


def check_long_outage(t, g, port, files):
    """tcpip away for a while: the shell gives up in bounded time, httpd
    keeps looking and comes back once tcpip does."""
    g.command("arp")  # a channel to the tcpip about to die
    g.command("stop tcpip")
    start = time.monotonic()
    out = g.command("netstat", timeout=60)
    took = time.monotonic() - start
    t.check("recovery[shell]: netstat without tcpip gives up in bounded time (%.1f s)" % took,
            "netstat: ERR_UNAVAILABLE" in out and took < 15, out)
    time.sleep(3)
    status, _ = fetch(port, "/index.html")
    t.check("recovery[shell]: nothing is served while tcpip is away", status is None,
            str(status))
    mark = g.mark()
    t0 = time.monotonic()
    g.command("start tcpip")
    ok = False
    while time.monotonic() - t0 < RECOVERY_LIMIT_S and not ok:
        status, body = fetch(port, "/index.html")
        ok = status == 200 and body == files["index.html"]
    t.check("recovery[shell]: after 6 s without tcpip, httpd serves again (%.2f s after start)"
            % (time.monotonic() - t0), ok)
    g.expect(r"httpd: ready: ", 30, mark)
    # late access-log lines (requests slirp held during the outage) may cut
    # the echo: look for the answer, not the echo
    mark = g.mark()
    try:
        type_line(g, "arp", r"10\.0\.2\.2\s+52:55:0a:00:02:02")
        found = "arp: ERR_" not in g.buf[mark:]
    except GuestError:
        found = False
    t.check("recovery[shell]: arp finds the new tcpip", found, g.buf[mark:][-500:])


def test_recovery_net(t):
    work = tempfile.mkdtemp(prefix="fumi-recovery-")
    root, files = site(work)
    image = os.path.join(work, "disk.img")
    make_disk(image, 64, root)
    port = free_port()
    g = Guest(t.build, "recovery_net", "", extra=[
        "-drive", "file=%s,format=raw,if=ide,index=0" % image,
        "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:80" % port,
        "-device", "e1000,netdev=n0"])
    try:
        g.wait_prompt(90)
        status, body = fetch(port, "/index.html", timeout=30)
        t.check("recovery: the site is served at first", status == 200
                and body == files["index.html"], str(status))
        check_e1000(t, g, port, files)
        check_tcpip(t, g, port, files)
        check_httpd(t, g, port, files)
        check_fat(t, g, port, files)
        check_long_outage(t, g, port, files)
        out = g.command("ps")
        t.check("recovery: every server is alive at the end",
                all(re.search(r"\s%s\s+alive" % s, out) for s in SERVERS), out)
    finally:
        g.close()
        shutil.rmtree(work)
