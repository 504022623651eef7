"""The network and the web server: e1000, tcpip and httpd serving /www of the
FAT disk, driven from the host over QEMU user networking (slirp). Traffic
goes only to 127.0.0.1 (the forwarded port) and to slirp's virtual hosts.

One guest serves a site with files of known content (a 0-byte, a 1-byte, a
1 MiB and a 4 MiB file); the host checks DHCP, ping, the files byte for
byte, HEAD, 404, keep-alive, a bounded ab load, bad input of every kind,
and finally the frames the guest sent, captured by QEMU's filter-dump:
valid IP/TCP/UDP checksums and well-formed handshakes and teardowns.
"""
import hashlib
import http.client
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

from guest import Guest, free_port

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from mkdisk import make_disk  # noqa: E402

GUEST = "10.0.2.15"


def site(work):
    """The site: index.html, an empty file, a 1-byte file, 1 MiB, 4 MiB."""
    root = os.path.join(work, "site")
    os.makedirs(os.path.join(root, "www", "sub"))
    files = {
        "index.html": b"<!DOCTYPE html><title>net test</title><p>hello from the disk</p>\n",
        "empty.txt": b"",
        "one.txt": b"x",
        "sub/mid.bin": os.urandom(1 << 20),
        "big.bin": os.urandom(4 << 20),
        "sub/index.html": b"<p>sub</p>\n",
    }
    for rel, data in files.items():
        with open(os.path.join(root, "www", rel), "wb") as f:
            f.write(data)
    return root, files


def get(port, path, method="GET", headers=None, timeout=60):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body


def raw(port, data, timeout=20, shut=False):
    """Send raw bytes, return everything the server answers until it closes
    (or the timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
            if shut:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (and closed) before taking it all
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def status_of(resp):
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", resp)
    return int(m.group(1)) if m else None


class Net:
    def __init__(self, t):
        self.t = t
        self.work = tempfile.mkdtemp(prefix="fumi-net-")
        root, self.files = site(self.work)
        self.image = os.path.join(self.work, "disk.img")
        make_disk(self.image, 64, root)
        self.port = free_port()
        self.pcap = os.path.join(self.work, "net.pcap")
        self.g = Guest(t.build, "net", "", extra=[
            "-drive", "file=%s,format=raw,if=ide,index=0" % self.image,
            "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:80" % self.port,
            "-device", "e1000,netdev=n0",
            "-object", "filter-dump,id=f0,netdev=n0,file=%s" % self.pcap])

    def close(self):
        self.g.close()
        shutil.rmtree(self.work)


def check_basics(t, n):
    g = n.g
    g.wait_prompt(60)
    m = g.expect(r"dhcp: bound (\S+)/(\d+) gw (\S+)", 60)
    t.check("net: DHCP lease obtained", m.group(1) == GUEST and m.group(3) == "10.0.2.2",
            m.group(0))
    g.expect(r"httpd: serving /www on port 80", 60)
    out = g.command("ping 10.0.2.2 3", timeout=30)
    t.check("net: the guest pings the gateway", "3 sent, 3 received" in out, out)
    out = g.command("ifconfig")
    t.check("net: ifconfig shows the lease", "inet 10.0.2.15/24" in out and "dhcp bound" in out,
            out)
    out = g.command("arp")
    t.check("net: arp shows the gateway", re.search(r"10\.0\.2\.2\s+52:55:0a:00:02:02", out), out)

    r, body = get(n.port, "/")
    t.check("http: / is index.html", r.status == 200 and body == n.files["index.html"]
            and r.getheader("Content-Type") == "text/html; charset=utf-8",
            "%s %r" % (r.status, body[:100]))
    for rel in ("empty.txt", "one.txt", "sub/mid.bin", "big.bin"):
        r, body = get(n.port, "/" + rel)
        want = n.files[rel]
        t.check("http: /%s byte-identical (%d bytes)" % (rel, len(want)),
                r.status == 200 and hashlib.sha256(body).digest() == hashlib.sha256(want).digest()
                and int(r.getheader("Content-Length")) == len(want),
                "status %s, %d bytes" % (r.status, len(body)))
    r, body = get(n.port, "/sub/")
    t.check("http: a directory serves its index.html", r.status == 200 and body == b"<p>sub</p>\n")
    r, body = get(n.port, "/sub")
    t.check("http: a directory without / is redirected", r.status == 301
            and r.getheader("Location") == "/sub/", "%s %s" % (r.status, r.getheader("Location")))
    r, body = get(n.port, "/big.bin", method="HEAD")
    t.check("http: HEAD has the length and no body", r.status == 200 and body == b""
            and int(r.getheader("Content-Length")) == len(n.files["big.bin"]))
    r, body = get(n.port, "/no/such/file.html")
    t.check("http: 404", r.status == 404 and b"Not Found" in body, r.status)

    c = http.client.HTTPConnection("127.0.0.1", n.port, timeout=30)
    ok = True
    for path in ("/", "/one.txt", "/empty.txt", "/sub/mid.bin", "/missing", "/"):
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        ok = ok and r.getheader("Connection") == "keep-alive"
    sock = c.sock
    c.close()
    t.check("http: keep-alive, six requests on one connection", ok and sock is not None)

    out = g.command("fetch http://10.0.2.2:%d/one.txt" % n.port, timeout=60)
    t.check("shell: fetch from the host through slirp", "fetch: HTTP/1.1 200 OK, 1 bytes" in out,
            out)
    g.command("fetch http://10.0.2.2:%d/sub/mid.bin /fetched.bin" % n.port, timeout=120)
    out = g.command("stat /fetched.bin")
    t.check("shell: fetch into a file", re.search(r"\b1048576\b", out), out)


def check_load(t, n):
    proc = subprocess.run(["ab", "-q", "-n", "2000", "-c", "16", "-s", "30",
                           "http://127.0.0.1:%d/index.html" % n.port],
                          capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    complete = re.search(r"Complete requests:\s+(\d+)", out)
    failed = re.search(r"Failed requests:\s+(\d+)", out)
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    t.check("load: ab 2000 requests at 16 concurrent, zero failures",
            proc.returncode == 0 and complete and int(complete.group(1)) == 2000
            and failed and int(failed.group(1)) == 0 and not non2xx, out[-1500:])
    mark = n.g.mark()
    proc = subprocess.run(["ab", "-q", "-k", "-n", "200", "-c", "8", "-s", "30",
                           "http://127.0.0.1:%d/sub/mid.bin" % n.port],
                          capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    failed = re.search(r"Failed requests:\s+(\d+)", out)
    odd = [line for line in n.g.buf[mark:].splitlines()
           if line.startswith("httpd:") and '" 200 1048576 ' not in line]
    t.check("load: ab keep-alive 200 x 1 MiB at 8 connections, zero failures",
            proc.returncode == 0 and failed and int(failed.group(1)) == 0,
            out[-1200:] + "\nhttpd lines other than 200s: %s" % odd[:10])
    r, body = get(n.port, "/")
    t.check("load: the server answers afterwards", r.status == 200)


def check_bad_input(t, n):
    port = n.port
    resp = raw(port, bytes(range(256)) * 4 + b"\r\n\r\n")
    t.check("bad: garbage bytes get 400", status_of(resp) == 400, repr(resp[:200]))
    resp = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n" + (b"X-Filler: " + b"a" * 1000 + b"\r\n") * 100
               + b"\r\n")
    t.check("bad: 100 KiB of headers get 431", status_of(resp) == 431, repr(resp[:200]))
    resp = raw(port, b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    t.check("bad: a 5000-byte URI gets 414", status_of(resp) == 414, repr(resp[:200]))
    for path in (b"/../../etc/passwd", b"/sub/../../x", b"/%2e%2e/%2e%2e/x", b"/..%2f..%2fx"):
        resp = raw(port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        t.check("bad: traversal %s refused" % path.decode(), status_of(resp) in (400, 404),
                repr(resp[:200]))
    resp = raw(port, b"DELETE /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
    t.check("bad: an unknown method gets 405 with Allow", status_of(resp) == 405
            and b"Allow: GET, HEAD" in resp, repr(resp[:300]))
    resp = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
    t.check("bad: a request body gets 413", status_of(resp) == 413, repr(resp[:200]))

    # Half-open connections and a request that never ends: the server
    # serves others meanwhile, then drops them after its idle timeout.
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
    slow = socket.create_connection(("127.0.0.1", port))
    slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    r, body = get(port, "/one.txt")
    t.check("bad: served while 9 connections hang", r.status == 200 and body == b"x")
    slow.settimeout(30)
    start = time.monotonic()
    try:
        resp = slow.recv(4096)
    except socket.timeout:
        resp = b"(timeout)"
    t.check("bad: an unfinished request times out with 408", status_of(resp) == 408,
            "%r after %.1f s" % (resp[:100], time.monotonic() - start))
    for s in idle + [slow]:
        s.close()

    # RST in the middle of a 4 MiB transfer.
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(65536)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    r, body = get(port, "/big.bin")
    t.check("bad: after resets mid-transfer the server still serves",
            r.status == 200 and body == n.files["big.bin"])
    out = n.g.command("ps")
    t.check("bad: every server is alive", all(re.search(r"\s%s\s+alive" % s, out) for s in
                                               ("tcpip", "httpd", "e1000", "fat", "ide")), out)
    out = n.g.command("httpd")
    t.check("shell: httpd status counts the requests", re.search(r"\d{4,} requests", out), out)


def tshark(pcap, *args):
    return subprocess.run(["tshark", "-r", pcap, "-o", "ip.check_checksum:TRUE",
                           "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"]
                          + list(args), capture_output=True, text=True, timeout=300).stdout


def check_capture(t, n):
    sent = "ip.src == %s" % GUEST
    total = tshark(n.pcap, "-Y", sent, "-T", "fields", "-e", "frame.number").split()
    bad = tshark(n.pcap, "-Y", "%s && (ip.checksum.status == \"Bad\" || tcp.checksum.status == "
                 "\"Bad\" || udp.checksum.status == \"Bad\" || icmp.checksum.status == \"Bad\" "
                 "|| _ws.malformed)" % sent, "-T", "fields", "-e", "frame.number").split()
    t.check("capture: every frame the guest sent has valid checksums (%d frames)" % len(total),
            len(total) > 1000 and not bad, "bad frames: %s" % bad[:20])
    # Handshakes: each SYN-ACK the guest sent answers a SYN and is ACKed.
    fields = tshark(n.pcap, "-Y", "tcp", "-T", "fields", "-e", "tcp.stream", "-e", "ip.src",
                    "-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "tcp.flags.fin",
                    "-e", "tcp.flags.reset")
    streams = {}
    for line in fields.splitlines():
        parts = line.split("\t")
        if len(parts) != 6:
            continue
        stream, src, syn, ack, fin, rst = parts
        streams.setdefault(stream, []).append((src == GUEST, syn == "1", ack == "1", fin == "1",
                                               rst == "1"))
    well = 0
    broken = []
    for stream, segs in streams.items():
        if not segs or not segs[0][1] or segs[0][0]:
            continue  # not a connection to the guest's server seen from the start
        synack = any(g and syn and ack for g, syn, ack, fin, rst in segs)
        guest_fin = any(g and fin for g, syn, ack, fin, rst in segs)
        reset = any(rst for g, syn, ack, fin, rst in segs)
        if synack and (guest_fin or reset):
            well += 1
        else:
            broken.append(stream)
    t.check("capture: handshakes and teardowns are well-formed (%d connections)" % well,
            well > 100 and len(broken) <= 2, "incomplete streams: %s" % broken[:20])


def test_web_server(t):
    n = Net(t)
    try:
        check_basics(t, n)
        check_load(t, n)
        check_bad_input(t, n)
        n.g.send("shutdown\r")
        n.g.wait_exit(120)
        n.g.close()
        check_capture(t, n)
    finally:
        n.close()
