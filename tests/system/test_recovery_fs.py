"""Storage recovery: fat keeps serving while its disk driver (ide) dies and
comes back, fat itself restarts and mounts again, and the shell's file
commands follow a restarted fat. Each guest's disk is checked from the host
afterwards with fsck.fat -n and mtools, byte for byte.

Until memmgr's supervisor restarts servers by itself, a restart is the
shell's `kill NAME` then `start NAME`; with the supervisor (the shell then
has `stop`), `kill` alone restarts and `stop` keeps a server down."""
import os
import re
import sys
import tempfile
import shutil
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import Guest  # noqa: E402
from test_fs import (boot, content, fsck, make_disk, mread, mtools,  # noqa: E402
                     power_off, wait_mounted)

READER_FILES = [(21, 6000000, "r1.bin"), (22, 5000000, "sub/r2.bin"), (23, 7000000, "r3.bin"),
                (24, 3333, "small.txt")]  # 18 MB: several times fat's 4 MiB cache
BLK_WAIT_S = 12  # servers/fat/main.c BLK_WAIT_MS


def put_host_files(image, folder, specs):
    """Files of known content (fstest's content()) under ::/folder, with the
    MANIFEST that `fstest verify /folder` reads."""
    work = tempfile.mkdtemp()
    try:
        for seed, size, rel in specs:
            path = os.path.join(work, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(content(seed, size))
        with open(os.path.join(work, "MANIFEST"), "w") as f:
            f.write("".join("%d %d %s\n" % spec for spec in specs))
        mtools("mmd", image, "::/" + folder)
        mtools("mcopy", image, "-s", *[os.path.join(work, e) for e in os.listdir(work)],
               "::/%s/" % folder)
    finally:
        shutil.rmtree(work)


def host_files_intact(image, folder, specs):
    return [rel for seed, size, rel in specs
            if mread(image, "/%s/%s" % (folder, rel)) != content(seed, size)]


def fsck_clean(image):
    """fsck.fat -n finds nothing: no error, no wrong FSInfo free count, no
    FAT copies that differ, no dirty bit left set."""
    code, report = fsck(image)
    return code == 0 and not re.search(r"Free cluster summary|differ|Dirty bit", report), report


def pid_of(g, name):
    """The pid `ps` shows for a live process called name, or None."""
    m = re.search(r"^\s*(\d+) %s\s+alive" % re.escape(name), g.command("ps"), re.M)
    return int(m.group(1)) if m else None


def supervised(g):
    """Whether memmgr restarts a killed server by itself (the supervisor,
    which brings the shell's `stop`)."""
    return re.search(r"^\s+stop\s", g.command("help"), re.M) is not None


def restart(g, name, supervisor, pause=0.0):
    """Kill server name and have it come back (after pause seconds)."""
    out = g.command("kill " + name)
    time.sleep(pause)
    if not supervisor:
        out += g.command("start " + name)
    return out


def boot_on(t, name, image, driver):
    """A guest whose disk is served by driver: ide (the PC's IDE channel)
    or ahci (q35's SATA controller, where ide finds nothing and ends)."""
    if driver == "ide":
        return boot(t, name, image)
    g = Guest(t.build, name, extra=["-M", "q35", "-drive", "file=%s,format=raw,if=ide" % image])
    g.wait_prompt(60)
    return g


def driver_restart_case(t, driver):
    """fstest reads while driver is killed and comes back."""
    p = "%s restart: " % driver
    work = tempfile.mkdtemp(prefix="fumi-rec-")
    image = os.path.join(work, "disk.img")
    try:
        make_disk(image, 160)
        put_host_files(image, "host", READER_FILES)
        g = boot_on(t, "rec-%s-restart" % driver, image, driver)
        try:
            wait_mounted(g)
            sup = supervised(g)
            g.command("write /synced.txt written and synced before the driver died")
            g.command("sync")
            g.command("write /dirty.txt written but still in fat's cache when the driver died")
            fat_pid = pid_of(g, "fat")
            start = g.mark()
            out = g.command("start fstest verify /host")
            t.check(p + "the reader runs", "started fstest" in out, out)
            time.sleep(2)  # it is reading now
            out = restart(g, driver, sup, pause=3)
            killed = g.buf.find("memmgr: killing %s" % driver, start)
            summary = re.search(r"fstest: \d+ passed", g.buf[start:])
            t.check(p + "the driver was killed while fstest read",
                    "killed pid" in out and killed >= 0
                    and (not summary or start + summary.start() > killed), out)
            g.expect(r"fat: the disk driver went away", 30, start)
            g.expect(r"fat: the disk driver is back: disk 0 holds our volume", 60, start)
            done = g.expect(r"fstest: (\d+) passed, (\d+) failed", 600, start)
            # its exit line comes next: let it pass before typing a command
            g.expect(r"\[kernel\] fstest \(pid \d+\) exited", 30, done.end())
            t.count_lines(p + "reader: ", "\n".join(
                l[len("fstest: "):] for l in g.buf[start:done.end()].splitlines()
                if l.startswith("fstest: ")))
            t.check(p + "the reader read every byte right across the restart",
                    done.group(2) == "0" and int(done.group(1)) > 0, done.group(0))
            t.check(p + "fat did not restart (same pid)",
                    fat_pid is not None and pid_of(g, "fat") == fat_pid)
            t.check(p + "a new driver serves", pid_of(g, driver) is not None)
            out = g.command("cat /synced.txt /dirty.txt")
            t.check(p + "files written before are read back",
                    "written and synced before the driver died" in out
                    and "still in fat's cache when the driver died" in out, out)
            out = g.command("sync")
            t.check(p + "sync writes the cache to the new driver", out.strip() == "", out)
            power_off(g)
        finally:
            g.close()
        t.check(p + "the dirty data reached the disk after the restart",
                mread(image, "/dirty.txt")
                == b"written but still in fat's cache when the driver died\n"
                and mread(image, "/synced.txt") == b"written and synced before the driver died\n")
        bad = host_files_intact(image, "host", READER_FILES)
        t.check(p + "the host's files are unchanged", not bad, ", ".join(bad))
        ok, report = fsck_clean(image)
        t.check(p + "fsck.fat -n finds the volume clean", ok, report[-1500:])
    finally:
        shutil.rmtree(work)


def test_fat_survives_ide_restart(t):
    driver_restart_case(t, "ide")


def test_fat_survives_ahci_restart(t):
    driver_restart_case(t, "ahci")


def test_fat_restart_keeps_files(t):
    work = tempfile.mkdtemp(prefix="fumi-rec-")
    image = os.path.join(work, "disk.img")
    try:
        make_disk(image, 40)
        g = boot(t, "rec-fat-restart", image)
        try:
            wait_mounted(g)
            sup = supervised(g)
            g.command("mkdir /keep")
            g.command("write /keep/a.txt the first file")
            g.command("echo the second file > /keep/b.txt")
            g.command("cp /keep/a.txt /keep/c.txt")
            g.command("sync")
            fat_pid = pid_of(g, "fat")
            out = g.command("kill fat")
            t.check("fat restart: fat is killed", "killed pid" in out, out)
            if not sup:  # fat stays down until started: look at the disk now
                ok, report = fsck_clean(image)
                t.check("fat restart: after kill following sync, fsck.fat -n is clean", ok,
                        report[-1500:])
                g.command("start fat")
            # The shell's channel is to the dead fat: cat must find the new one.
            out = g.command("cat /keep/a.txt", timeout=60)
            t.check("fat restart: cat follows the new fat", "the first file" in out, out)
            new_pid = pid_of(g, "fat")
            t.check("fat restart: a new fat serves",
                    new_pid is not None and new_pid != fat_pid, "%s -> %s" % (fat_pid, new_pid))
            out = g.command("ls /keep")
            t.check("fat restart: ls", all(n in out for n in ("a.txt", "b.txt", "c.txt")), out)
            out = g.command("cat /keep/b.txt /keep/c.txt")
            t.check("fat restart: the files are intact",
                    "the second file" in out and "the first file" in out, out)
            # Once more, this time with a directory walk as the first request.
            restart(g, "fat", sup)
            out = g.command("ls -l /keep", timeout=60)
            t.check("fat restart: ls follows a second restart", "c.txt" in out, out)
            out = g.command("stat /keep/a.txt")
            t.check("fat restart: stat", "file, 15 bytes" in out, out)
            g.command("write /keep/d.txt written after two restarts")
            g.command("sync")
            power_off(g)
        finally:
            g.close()
        t.check("fat restart: every file is on the host",
                mread(image, "/keep/a.txt") == b"the first file\n"
                and mread(image, "/keep/b.txt") == b"the second file\n"
                and mread(image, "/keep/c.txt") == b"the first file\n"
                and mread(image, "/keep/d.txt") == b"written after two restarts\n")
        ok, report = fsck_clean(image)
        t.check("fat restart: fsck.fat -n clean at the end", ok, report[-1500:])
    finally:
        shutil.rmtree(work)


def test_ide_gone_then_back(t):
    work = tempfile.mkdtemp(prefix="fumi-rec-")
    image = os.path.join(work, "disk.img")
    cold = [(31, 100000, "cold.bin")]
    try:
        make_disk(image, 40)
        put_host_files(image, "cold", cold)
        g = boot(t, "rec-ide-gone", image)
        try:
            wait_mounted(g)
            sup = supervised(g)
            g.command("write /warm.txt in the cache only while ide is away")
            fat_pid = pid_of(g, "fat")
            out = g.command("stop ide" if sup else "kill ide")
            t.check("ide gone: ide is down", pid_of(g, "ide") is None, out)
            # The end of cold.bin was never read: reading it needs the disk.
            t0 = time.monotonic()
            out = g.command("hexdump /cold/cold.bin 50000 16", timeout=120)
            waited = time.monotonic() - t0
            t.check("ide gone: an fs request fails with a clear error",
                    "hexdump: ERR_UNAVAILABLE" in out, out)
            t.check("ide gone: ... within the bound (%.1f s, bound %d s)" % (waited, BLK_WAIT_S),
                    BLK_WAIT_S - 1 <= waited <= BLK_WAIT_S + 30, "%.1f s" % waited)
            t.check("ide gone: fat said why", "fat: no disk driver came back within" in g.buf)
            t0 = time.monotonic()
            out = g.command("sync", timeout=60)
            waited = time.monotonic() - t0
            t.check("ide gone: with no driver left, the next request fails at once (%.1f s)"
                    % waited, "sync: ERR_UNAVAILABLE" in out and waited < BLK_WAIT_S - 2, out)
            t.check("ide gone: fat is still alive (same pid)", pid_of(g, "fat") == fat_pid)
            out = g.command("start ide")
            t.check("ide gone: ide starts again", "started ide" in out, out)
            out = g.command("hexdump /cold/cold.bin 50000 16", timeout=60)
            want = " ".join("%02x" % b for b in content(31, 100000)[50000:50016])
            t.check("ide gone: the disk works again", "0000c360" not in out and
                    re.search(r"^0000c350  %s" % want, out, re.M), out)
            t.check("ide gone: fat checked the volume", "fat: the disk driver is back" in g.buf)
            out = g.command("sync")
            t.check("ide gone: the data held back is written now", out.strip() == "", out)
            t.check("ide gone: fat never restarted", pid_of(g, "fat") == fat_pid)
            power_off(g)
        finally:
            g.close()
        t.check("ide gone: the cached write survived",
                mread(image, "/warm.txt") == b"in the cache only while ide is away\n")
        t.check("ide gone: host file intact", not host_files_intact(image, "cold", cold))
        ok, report = fsck_clean(image)
        t.check("ide gone: fsck.fat -n clean", ok, report[-1500:])
    finally:
        shutil.rmtree(work)
