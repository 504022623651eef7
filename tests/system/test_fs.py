"""Disk and files: the ide and fat servers under the shell and the in-guest
fstest, checked from the host with fsck.fat and mtools (byte for byte): many
files, a full disk, corrupt images and a killed fat server."""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

from guest import Guest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from mkdisk import PART_START, SECTOR, make_disk  # noqa: E402

M = (1 << 64) - 1
OFFSET = PART_START * SECTOR


def splitmix(x):
    x = (x + 0x9e3779b97f4a7c15) & M
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M
    return x ^ (x >> 31)


def content(seed, size, hole_start=0, hole_end=0):
    """What servers/fstest writes: byte i is byte i%8 of splitmix(seed + i/8)."""
    words = (size + 7) // 8
    data = b"".join(splitmix((seed + w) & M).to_bytes(8, "little") for w in range(words))
    data = bytearray(data[:size])
    data[hole_start:hole_end] = bytes(max(0, min(hole_end, size) - hole_start))
    return bytes(data)


def mtools(cmd, image, *args, check=True):
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    return subprocess.run([cmd, "-i", "%s@@%d" % (image, OFFSET)] + list(args), check=check,
                          env=env, capture_output=True)


def mread(image, path):
    return mtools("mtype", image, "::" + path).stdout


def fsck(image):
    """fsck.fat -n on the partition (fsck.fat has no offset option)."""
    part = image + ".part"
    with open(image, "rb") as src, open(part, "wb") as dst:
        src.seek(OFFSET)
        shutil.copyfileobj(src, dst)
    proc = subprocess.run(["fsck.fat", "-n", part], capture_output=True, text=True)
    os.remove(part)
    return proc.returncode, proc.stdout + proc.stderr


def boot(t, name, image, cmdline="", mem=256):
    g = Guest(t.build, name, cmdline, mem=mem,
              extra=["-drive", "file=%s,format=raw,if=ide,index=0" % image])
    g.wait_prompt(60)
    return g


def wait_mounted(g):
    g.expect(r"fat: mounted", 60)


def power_off(g):
    g.send("shutdown\r")
    g.wait_exit(120)
    g.close()


def run_fstest(t, g, label, args, timeout=900):
    out = g.command("run fstest " + args, timeout=timeout)
    lines = "\n".join(l[len("fstest: "):] for l in out.splitlines() if l.startswith("fstest: "))
    n = t.count_lines("fs[%s]: " % label, lines)
    t.check("fs[%s]: fstest ran to the end" % label,
            re.search(r"fstest: \d+ passed, 0 failed", out) and n > 0, out[-1500:])


def host_files(image):
    """Files of known content on the disk before boot, listed in /host/MANIFEST."""
    work = tempfile.mkdtemp()
    specs = [(11, 0, "empty.txt"), (12, 1, "one.bin"), (13, 511, "ODD.DAT"),
             (14, 4096, "a page.bin"), (15, 70000, "sub/a file with a rather long name.data"),
             (16, 1500000, "sub/deeper/big.bin"), (17, 33, "sub/deeper/Mixed Case.Txt")]
    lines = []
    for seed, size, rel in specs:
        path = os.path.join(work, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content(seed, size))
        lines.append("%d %d %s" % (seed, size, rel))
    with open(os.path.join(work, "MANIFEST"), "w") as f:
        f.write("\n".join(lines) + "\n")
    mtools("mmd", image, "::/host")
    mtools("mcopy", image, "-s", *[os.path.join(work, e) for e in os.listdir(work)], "::/host/")
    shutil.rmtree(work)


def test_files_byte_for_byte(t):
    work = tempfile.mkdtemp(prefix="fumi-fs-")
    image = os.path.join(work, "disk.img")
    try:
        make_disk(image, 160)
        host_files(image)
        g = boot(t, "fs-churn", image)
        try:
            wait_mounted(g)
            run_fstest(t, g, "host files", "verify /host")
            run_fstest(t, g, "churn", "churn 42 300")
            power_off(g)
        finally:
            g.close()
        code, report = fsck(image)
        t.check("fs: fsck.fat -n finds the image clean after the guest's writes",
                code == 0 and "differ" not in report and "Free cluster summary" not in report,
                report[-1500:])
        manifest = mread(image, "/fstest/MANIFEST").decode().splitlines()
        bad = []
        for line in manifest:
            seed, size, hs, he, path = line.split(" ", 4)
            data = mread(image, path)
            if data != content(int(seed), int(size), int(hs), int(he)):
                bad.append("%s (%d bytes, want %s)" % (path, len(data), size))
        t.check("fs: every file the guest wrote is identical on the host (%d files)"
                % len(manifest), manifest and not bad, "; ".join(bad[:5]))
    finally:
        shutil.rmtree(work)


def test_shell_file_commands(t):
    work = tempfile.mkdtemp(prefix="fumi-fs-")
    image = os.path.join(work, "disk.img")
    try:
        make_disk(image, 64, os.path.join(os.path.dirname(__file__), "..", "..", "disk"))
        g = boot(t, "fs-shell", image)
        try:
            wait_mounted(g)
            out = g.command("ls")
            t.check("shell: ls lists the disk", "hello.txt" in out and "www/" in out, out)
            out = g.command("ls -l /")
            t.check("shell: ls -l shows sizes", re.search(r"-\s+66\s+.*hello.txt", out), out)
            out = g.command("cat hello.txt")
            t.check("shell: cat", "Hello from the disk." in out, out)
            g.command("mkdir notes")
            g.command("cd notes")
            t.check("shell: cd and pwd", g.command("pwd").strip() == "/notes")
            g.command("write first.txt one two three")
            g.command("echo redirected output > second.txt")
            g.command("cp first.txt copy.txt")
            g.command("mv copy.txt moved.txt")
            out = g.command("ls")
            t.check("shell: write, redirect, cp, mv",
                    all(n in out for n in ("first.txt", "second.txt", "moved.txt"))
                    and "copy.txt" not in out, out)
            t.check("shell: cat of a moved copy", "one two three" in g.command("cat moved.txt"))
            out = g.command("stat first.txt")
            t.check("shell: stat", "file, 14 bytes" in out, out)
            out = g.command("hexdump first.txt")
            t.check("shell: hexdump", "6f 6e 65 20 74 77 6f" in out and "|one two three.|" in out,
                    out)
            out = g.command("df")
            t.check("shell: df", re.search(r"volume FUMI.*KiB free", out), out)
            g.command("rm moved.txt")
            t.check("shell: rm", "moved.txt" not in g.command("ls"))
            out = g.command("rmdir /notes")
            t.check("shell: rmdir refuses a full directory", "ERR_NOT_EMPTY" in out, out)
            out = g.command("cat nothing-here")
            t.check("shell: cat of a missing file", "ERR_NOT_FOUND" in out, out)
            g.command("cd /")
            g.command("mkdir empty")
            g.command("rmdir empty")
            t.check("shell: mkdir and rmdir", "empty" not in g.command("ls"))
            g.command("sync")
            power_off(g)
        finally:
            g.close()
        t.check("shell: files written in Fumi are on the host",
                mread(image, "/notes/first.txt") == b"one two three\n"
                and mread(image, "/notes/second.txt") == b"redirected output\n")
        code, report = fsck(image)
        t.check("shell: fsck clean afterwards", code == 0, report[-1500:])
    finally:
        shutil.rmtree(work)


def test_full_disk(t):
    work = tempfile.mkdtemp(prefix="fumi-fs-")
    image = os.path.join(work, "disk.img")
    try:
        make_disk(image, 40)
        g = boot(t, "fs-full", image)
        try:
            wait_mounted(g)
            run_fstest(t, g, "full", "fill")
            power_off(g)
        finally:
            g.close()
        code, report = fsck(image)
        t.check("fs: fsck clean after a full disk", code == 0, report[-1500:])
        t.check("fs: the write after freeing space is there", mread(image, "/after.txt") == b"after\n")
    finally:
        shutil.rmtree(work)


def bpb(image):
    with open(image, "rb") as f:
        f.seek(OFFSET)
        b = f.read(512)
    reserved, nfats = struct.unpack_from("<HB", b, 14)
    fat_size, root = struct.unpack_from("<II", b, 36)[0], struct.unpack_from("<I", b, 44)[0]
    spc = b[13]
    return {"reserved": reserved, "nfats": nfats, "fat_size": fat_size, "root": root, "spc": spc}


def patch(image, offset, data):
    with open(image, "r+b") as f:
        f.seek(offset)
        f.write(data)


def corrupt_variants(image):
    """(name, function that corrupts a copy of a good image)."""
    p = bpb(image)
    fat0 = OFFSET + p["reserved"] * SECTOR

    def bad_bpb(img):
        patch(img, OFFSET + 11, struct.pack("<H", 1000))  # bytes per sector

    def zero_bpb(img):
        patch(img, OFFSET, bytes(512))

    def loop_chain(img):
        # file.bin's chain: make its first cluster point to itself.
        first = int(mtools("mshowfat", img, "::/file.bin").stdout.split(b"<")[1].split(b"-")[0])
        for n in range(p["nfats"]):
            patch(img, fat0 + n * p["fat_size"] * SECTOR + first * 4, struct.pack("<I", first))

    def chain_past_end(img):
        first = int(mtools("mshowfat", img, "::/file.bin").stdout.split(b"<")[1].split(b"-")[0])
        for n in range(p["nfats"]):
            patch(img, fat0 + n * p["fat_size"] * SECTOR + first * 4, struct.pack("<I", 0x0ffffff0 - 1))

    def truncated(img):
        with open(img, "r+b") as f:
            f.truncate(OFFSET + (p["reserved"] + 8) * SECTOR)

    def garbage_dir(img):
        data_start = fat0 + p["nfats"] * p["fat_size"] * SECTOR
        root = data_start + (p["root"] - 2) * p["spc"] * SECTOR
        patch(img, root, bytes((i * 37 + 11) & 0xff for i in range(p["spc"] * SECTOR)))

    return [("bad BPB", bad_bpb, False), ("zeroed boot sector", zero_bpb, False),
            ("cluster chain loop", loop_chain, True), ("chain past the end", chain_past_end, True),
            ("truncated image", truncated, None), ("garbage root directory", garbage_dir, True)]


def test_corrupt_images(t):
    work = tempfile.mkdtemp(prefix="fumi-fs-")
    good = os.path.join(work, "good.img")
    try:
        make_disk(good, 40)
        src = os.path.join(work, "file.bin")
        with open(src, "wb") as f:
            f.write(content(5, 100000))
        mtools("mcopy", good, src, "::/file.bin")
        for name, corrupt, mounts in corrupt_variants(good):
            image = os.path.join(work, "bad.img")
            shutil.copy(good, image)
            corrupt(image)
            g = boot(t, "fs-corrupt-" + name.replace(" ", "-"), image)
            try:
                g.expect(r"fat: (mounted|nothing to serve|disk \d)", 60)
                if mounts is not False:
                    for cmd in ("ls /", "cat /file.bin", "write /new.txt hello", "sync"):
                        g.command(cmd, timeout=60)
                out = g.command("ps")
                t.check("corrupt[%s]: the system keeps running" % name,
                        re.search(r"\sshell\s+alive", out) and re.search(r"\sconsole\s+alive", out)
                        and re.search(r"\side\s+alive", out), out)
                if mounts is False:
                    t.check("corrupt[%s]: fat refuses the volume" % name,
                            re.search(r"no FAT32 volume: ERR_(CORRUPT|NOT_SUPPORTED)", g.buf),
                            g.buf[-800:])
                if name in ("cluster chain loop", "chain past the end"):
                    t.check("corrupt[%s]: reading the file is an error, not a hang" % name,
                            re.search(r"cat: ERR_(CORRUPT|IO)", g.buf), g.buf[-800:])
                    t.check("corrupt[%s]: fat survives" % name, re.search(r"\sfat\s+alive", out),
                            out)
            finally:
                g.close()
    finally:
        shutil.rmtree(work)


def test_killed_fat_keeps_synced_data(t):
    work = tempfile.mkdtemp(prefix="fumi-fs-")
    image = os.path.join(work, "disk.img")
    try:
        make_disk(image, 40)
        g = boot(t, "fs-kill", image)
        try:
            wait_mounted(g)
            g.command("write /synced.txt this was synced")
            g.command("sync")
            out = g.command("kill fat")
            t.check("kill: fat is killed", "killed pid" in out, out)
            out = g.command("ps")
            t.check("kill: the rest runs on", re.search(r"\sshell\s+alive", out)
                    and re.search(r"\side\s+alive", out), out)
            power_off(g)
        finally:
            g.close()
        t.check("kill: synced data survived", mread(image, "/synced.txt") == b"this was synced\n")
        code, report = fsck(image)
        t.check("kill: fsck clean", code == 0, report[-1500:])
    finally:
        shutil.rmtree(work)
