"""Isolation that pays: crash each of ide, fat, e1000, tcpip, httpd and the
console while the web server is under load (tests/recovery.py). Each must
be restarted by memmgr's supervisor and the service must come back by
itself, with nothing else restarted; files synced before the crashes must
survive them byte for byte with a clean fsck."""
import re
import shutil
import tempfile
import time

import recovery


def test_crash_each_server_under_load(t):
    work = tempfile.mkdtemp(prefix="fumi-recovery-")
    site = recovery.Site(t.build, work)
    g = site.g
    try:
        g.wait_prompt(90)
        g.command("write /www/synced.txt written and synced before the crashes")
        g.command("sync")
        t.check("recovery: a fresh file is served before any crash", site.fresh_file_ok(30))
        load = recovery.Load(site.port, site.files["index.html"])
        try:
            for name in recovery.SERVERS:
                before = recovery.ps(g)
                seconds, log = recovery.crash(site, name)
                t.check("recovery[%s]: restarted and serving again (%s s)"
                        % (name, "%.1f" % seconds if seconds is not None else "never"),
                        seconds is not None, log[-1500:])
                t.check("recovery[%s]: the crash is logged with its cause" % name,
                        re.search(r"memmgr: %s \(pid \d+\) crashed: injected fault at ip 0x"
                                  % name, log), log[-800:])
                after = recovery.ps(g)
                others = [n for n in before if n != name and before[n][1] == "alive"]
                moved = [n for n in others if after.get(n) != before[n]]
                t.check("recovery[%s]: nothing else restarted" % name, not moved,
                        "%s\nbefore %s\nafter %s" % (moved, before, after))
                t.check("recovery[%s]: ps counts the restart" % name,
                        after.get(name, (0, "", 0))[1] == "alive"
                        and after[name][2] == before[name][2] + 1, str(after.get(name)))
            mark = time.monotonic()
            time.sleep(2)
        finally:
            load.stop()
        t.check("recovery: the load is served after the last crash", load.ok_after(mark) > 0,
                str(load.results[-10:]))
        t.check("recovery: the fs still reads", "written and synced" in
                g.command("cat /www/synced.txt"))
        g.send("shutdown\r")
        g.wait_exit(120)
        code, report = recovery.fsck(site.image)
        t.check("recovery: fsck.fat -n is clean", code == 0, report[-1500:])
        t.check("recovery: the synced file is intact",
                recovery.mread(site.image, "/www/synced.txt")
                == b"written and synced before the crashes\n")
        bad = [p for p, data in site.files.items()
               if recovery.mread(site.image, "/www/" + p) != data]
        t.check("recovery: every site file is intact", not bad, str(bad))
    finally:
        site.close()
        shutil.rmtree(work)
