"""The in-guest system-call test (servers/ktest), with the fastpath and with
it switched off, and the system's health after the faulting programs and
the fuzzer it runs."""
import re

from guest import Guest


def run_ktest(t, label, cmdline):
    g = Guest(t.build, "ktest-" + label, cmdline)
    try:
        g.wait_prompt(30)
        out = g.command("run ktest", timeout=300)
        lines = "\n".join(l[len("ktest: "):] for l in out.splitlines()
                          if l.startswith("ktest: "))
        n = t.count_lines("ktest[%s]: " % label, lines)
        summary = re.search(r"ktest: (\d+) passed, (\d+) failed", out)
        t.check("ktest[%s]: ran to the end" % label, summary and n > 100,
                "%d checks seen\n%s" % (n, out[-1500:]))
        t.check("ktest[%s]: exited normally" % label, "ktest exited: cause exit code 0" in out,
                out[-500:])
        ps = g.command("ps")
        for name in ("memmgr", "console", "shell"):
            t.check("ktest[%s]: %s survived" % (label, name), re.search(r"\s%s\s+alive" % name,
                                                                          ps), ps)
        t.check("ktest[%s]: no kernel panic" % label, "PANIC" not in g.buf, g.buf[-800:])
        return g
    except Exception:
        g.close()
        raise


def test_ktest_fastpath(t):
    g = run_ktest(t, "fastpath", "")
    try:
        out = g.command("uptime")
        m = re.search(r"fastpath (\d+)", out)
        t.check("ktest[fastpath]: calls took the fastpath", m and int(m.group(1)) > 0, out)
    finally:
        g.close()


def test_ktest_slowpath_only(t):
    g = run_ktest(t, "nofastpath", "nofastpath")
    try:
        out = g.command("uptime")
        m = re.search(r"fastpath (\d+)", out)
        t.check("ktest[nofastpath]: no call took the fastpath", m and m.group(1) == "0", out)
    finally:
        g.close()
