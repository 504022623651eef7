"""Hostile programs against the whole system (docs/reliability.md, "Fuzzing
and isolation"): the fuzzer (servers/fuzz) with several seeds against every
server of a guest with a disk and networking, then the isolation test
(servers/isolation). Afterwards nothing may have died, the web server must
still serve and the file system still read, and the kernel's pools, the
channels and memmgr's free memory must be back where they were.
Network traffic goes only to 127.0.0.1 (the forwarded port)."""
import http.client
import os
import re
import shutil
import sys
import tempfile

from guest import Guest, free_port

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from mkdisk import make_disk  # noqa: E402

SEEDS = (1, 2, 3, 4, 5)
ITERATIONS = 4000
SERVERS = ("console", "blk", "fs", "net", "tcpip", "httpd")
ALIVE = ("memmgr", "console", "ide", "e1000", "shell", "fat", "tcpip", "httpd")
INDEX = b"<!DOCTYPE html><p>still serving</p>\n"
HELLO = "hello from before the fuzzer"
# Kernel pool pages a long-running server may keep for page tables of the
# page windows it received into (one per 2 MiB window region it touched).
POOL_SLACK = 16
# Pages the servers' heaps may grow by (caches, buffers they keep); a leak
# per request would be thousands after 20000 iterations.
MEM_SLACK = 32


def http_get(g, port, path):
    """GET path; wait for httpd's log line so it cannot land in the echo of
    the next command."""
    start = g.mark()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", path)
        r = c.getresponse()
        result = r.status, r.read()
    finally:
        c.close()
    g.expect(r'httpd: .*"GET %s HTTP/1.1" \d+' % re.escape(path), 30, start)
    return result


def alive(g):
    """{pid: name} of the live processes (ps)."""
    out = g.command("ps")
    return {int(m.group(1)): m.group(2)
            for m in re.finditer(r"^\s*(\d+) (\S+)\s+alive", out, re.M)}


def counts(g):
    out = g.command("uptime") + g.command("mem")
    m = re.search(r"processes (\d+)/\d+, threads (\d+)/\d+, channels (\d+)/", out)
    pool = re.search(r"kernel pool pages (\d+) free", out)
    mem = re.search(r"memory: (\d+) free", out)
    if not (m and pool and mem):
        raise AssertionError("no counts in %r" % out)
    return {"processes": int(m.group(1)), "threads": int(m.group(2)),
            "channels": int(m.group(3)), "pool_free": int(pool.group(1)),
            "mem_free": int(mem.group(1))}


def summaries(out):
    """{target: {key: int}} from the fuzzer's "fuzz: target ..." lines."""
    result = {}
    for m in re.finditer(r"^fuzz: target (\S+) (.*)$", out, re.M):
        result[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\S+)=(\d+)", m.group(2))}
    return result


def start_guest(t, work, port):
    root = os.path.join(work, "site")
    os.makedirs(os.path.join(root, "www"))
    with open(os.path.join(root, "www", "index.html"), "wb") as f:
        f.write(INDEX)
    with open(os.path.join(root, "hello.txt"), "w") as f:
        f.write(HELLO + "\n")
    image = os.path.join(work, "disk.img")
    make_disk(image, 64, root)
    return Guest(t.build, "fuzz", "", extra=[
        "-drive", "file=%s,format=raw,if=ide,index=0" % image,
        "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:80" % port,
        "-device", "e1000,netdev=n0"])


def run_fuzzer(t, g):
    for seed in SEEDS:
        out = g.command("run fuzz %d %d" % (seed, ITERATIONS), timeout=300)
        t.check("fuzz %d: ran to the end" % seed,
                "fuzz: seed %d: %d iterations done" % (seed, ITERATIONS) in out
                and "fuzz exited: cause exit code 0" in out, out[-800:])
        s = summaries(out)
        for name in SERVERS:
            st = s.get(name, {})
            t.check("fuzz %d: %s was fuzzed and answered" % (seed, name),
                    st.get("calls", 0) > 50 and st.get("ok", 0) > 0
                    and st.get("absent", 1) == 0, str(st))
            t.check("fuzz %d: %s never dropped a client or sent a wrong reply" % (seed, name),
                    st.get("closed", 1) == 0 and st.get("bad_reply", 1) == 0, str(st))
        cleanup = re.search(r"fuzz: cleanup /fuzz removed=(\d+) failed=(\d+)", out)
        t.check("fuzz %d: its scratch directory was emptied" % seed,
                cleanup and cleanup.group(2) == "0", cleanup and cleanup.group(0))


def run_isolation(t, g):
    out = g.command("run isolation", timeout=120)
    n = t.count_lines("isolation: ", "\n".join(
        l[len("isolation: "):] for l in out.splitlines() if l.startswith("isolation: ")))
    t.check("isolation: every refusal was checked", n > 50
            and re.search(r"isolation: \d+ passed, 0 failed", out), out[-800:])
    names = re.findall(r"isolation: direct (\S+)", g.command("run isolation list"))
    t.check("isolation: it lists its direct attempts", len(names) > 10, str(names))
    for name in names:
        out = g.command("run isolation direct " + name, timeout=60)
        died = re.search(r"isolation exited: cause (fault|pager) ", out)
        refused = re.search(r"isolation: refused .*: ERR_\w+", out)
        t.check("isolation: %s ends only the attacker or is refused" % name,
                (died or refused) and "survived" not in out, out.strip()[-300:])


def test_fuzz_and_isolation(t):
    work = tempfile.mkdtemp(prefix="fumi-fuzz-")
    port = free_port()
    g = start_guest(t, work, port)
    try:
        g.wait_prompt(90)
        # Warm up what the shell keeps (its fs channel) and the servers'
        # first-use state before the baseline.
        g.command("cat /hello.txt")
        g.command("run fuzz 99 200", timeout=120)
        http_get(g, port, "/")
        before_ps = alive(g)
        base = counts(g)
        for name in ALIVE:
            t.check("fuzz: %s runs before" % name, name in before_ps.values(), str(before_ps))

        run_fuzzer(t, g)
        after_fuzz = counts(g)
        run_isolation(t, g)
        after = counts(g)

        t.check("fuzz: no process died or was replaced", alive(g) == before_ps,
                "%s -> %s" % (before_ps, alive(g)))
        status, body = http_get(g, port, "/")
        t.check("fuzz: httpd still serves the page", status == 200 and body == INDEX,
                "%s %r" % (status, body[:80]))
        out = g.command("cat /hello.txt")
        t.check("fuzz: fat still reads a file", HELLO in out, out)
        for key in ("processes", "threads", "channels"):
            t.check("fuzz: %s back to the baseline" % key,
                    after_fuzz[key] == base[key] and after[key] == base[key],
                    "%d -> %d (fuzz) -> %d (isolation)" % (base[key], after_fuzz[key],
                                                           after[key]))
        t.check("fuzz: kernel pool pages back to the baseline",
                after["pool_free"] >= base["pool_free"] - POOL_SLACK,
                "%d -> %d -> %d free" % (base["pool_free"], after_fuzz["pool_free"],
                                         after["pool_free"]))
        t.check("fuzz: memmgr's free memory back to the baseline",
                after["mem_free"] >= base["mem_free"] - MEM_SLACK,
                "%d -> %d -> %d free pages" % (base["mem_free"], after_fuzz["mem_free"],
                                               after["mem_free"]))
        # A supervised server's name stays reserved while it is down.
        g.command("stop httpd")
        out = g.command("run isolation register httpd")
        t.check("isolation: nobody takes a stopped server's name",
                "ERR_NOT_PERMITTED" in out and "1 passed, 0 failed" in out, out)
        mark = g.mark()
        g.command("start httpd")
        t.check("isolation: the server itself registers its name again",
                g.expect(r"httpd: ready: ", 60, mark), g.buf[mark:][-500:])
        t.check("fuzz: no kernel panic", "PANIC" not in g.buf, g.buf[-800:])
        t.check("fuzz: no UBSan report", "UBSAN:" not in g.buf, g.buf[-800:])
    finally:
        g.close()
        shutil.rmtree(work)
