"""The ATA driver (servers/ide) through the in-guest idetest program, and
from the host side: the sectors idetest says it wrote must be in the disk
images at lba * 512, byte for byte, and nothing else may have changed.

Disks: unit 0 a 64 MiB image (primary master), unit 2 a CD-ROM drive the
driver must skip (secondary master), unit 3 a sparse 200 GiB image, beyond
LBA28's 2^28 sectors (secondary slave). A second boot gives unit 1 a disk
whose reads of sector 100 and writes of sector 200 fail (QEMU's blkdebug)
and runs "idetest errors".
"""
import os
import re
import tempfile

from guest import Guest, GuestError

SECTOR = 512
SMALL_SIZE = 64 << 20
BIG_SIZE = 200 << 30
HOST_LBA, HOST_COUNT, HOST_SEED = 60000, 64, 77  # as in servers/idetest/main.c

# Sector bodies by (lba * 13 + seed) & 0xff: byte i is (i * 7 + that) & 0xff.
BODIES = [bytes((i * 7 + k) & 0xff for i in range(SECTOR)) for k in range(256)]


def sector_pattern(unit, lba, seed):
    """What servers/idetest/main.c's fill_sector() writes."""
    head = b"FUMI-IDE" + lba.to_bytes(8, "little") + bytes([unit, seed])
    return head + BODIES[(lba * 13 + seed) & 0xff][len(head):]


def region_pattern(unit, lba, count, seed):
    return b"".join(sector_pattern(unit, lba + s, seed) for s in range(count))


def drive(path, index):
    return ["-drive", "file=%s,format=raw,if=ide,index=%d" % (path, index)]


def found(g, pattern):
    """Whether the guest printed pattern (the driver and the shell start
    together, so its boot lines may come before or after the prompt)."""
    try:
        g.expect(pattern, 10)
        return True
    except GuestError:
        return False


def run_idetest(t, g, args=""):
    """Run idetest; record its checks; return its output."""
    out = g.command(("run idetest " + args).strip(), timeout=300)
    lines = "\n".join(l[len("idetest: "):] for l in out.splitlines()
                      if l.startswith("idetest: "))
    label = "ide%s: " % ("[%s]" % args if args else "")
    n = t.count_lines(label, lines)
    summary = re.search(r"idetest: (\d+) passed, (\d+) failed", out)
    t.check(label + "idetest ran to the end", summary and n >= (40 if not args else 9),
            "%d checks seen\n%s" % (n, out[-1500:]))
    t.check(label + "idetest exited normally", "idetest exited: cause exit code 0" in out,
            out[-500:])
    ps = g.command("ps")
    t.check(label + "the driver survived", re.search(r"\side\s+alive", ps), ps)
    return out


def written_regions(out):
    return [tuple(int(x) for x in m.groups()) for m in re.finditer(
        r"idetest: wrote unit (\d+) lba (\d+) count (\d+) seed (\d+)", out)]


def check_region(t, path, unit, lba, count, seed):
    with open(path, "rb") as f:
        f.seek(lba * SECTOR)
        data = f.read(count * SECTOR)
    want = region_pattern(unit, lba, count, seed)
    bad = next((s for s in range(count)
                if data[s * SECTOR:(s + 1) * SECTOR] != want[s * SECTOR:(s + 1) * SECTOR]), None)
    t.check("ide: image of unit %d holds lba %d+%d" % (unit, lba, count), bad is None,
            "sector %s differs" % (None if bad is None else lba + bad))


def check_images(t, images, out):
    """Every region idetest reported is on its image; the sectors between
    two of them on unit 0 are still zero."""
    regions = written_regions(out)
    t.check("ide: idetest reported its writes", len(regions) >= 15, "%d regions" % len(regions))
    for unit, lba, count, seed in regions:
        check_region(t, images[unit], unit, lba, count, seed)
    with open(images[0], "rb") as f:
        f.seek(1 * SECTOR)
        gap = f.read(7 * SECTOR)
    t.check("ide: unwritten sectors of unit 0 are untouched", gap == bytes(len(gap)))
    t.check("ide: the images kept their sizes",
            os.path.getsize(images[0]) == SMALL_SIZE and os.path.getsize(images[3]) == BIG_SIZE)


def test_ide(t):
    with tempfile.TemporaryDirectory(prefix="fumi-ide-") as tmp:
        images = {0: os.path.join(tmp, "small.img"), 3: os.path.join(tmp, "big.img")}
        for unit, size in ((0, SMALL_SIZE), (3, BIG_SIZE)):
            with open(images[unit], "wb") as f:
                f.truncate(size)
        with open(images[0], "r+b") as f:  # for idetest's "sectors the host wrote read back"
            f.seek(HOST_LBA * SECTOR)
            f.write(region_pattern(0, HOST_LBA, HOST_COUNT, HOST_SEED))
        extra = drive(images[0], 0) + drive(images[3], 3) + \
            ["-drive", "if=ide,index=2,media=cdrom"]
        g = Guest(t.build, "ide", extra=extra)
        try:
            g.wait_prompt(30)
            for name, pattern in (
                    ("unit 0 found", r'ide: unit 0: "QEMU HARDDISK", 131072 sectors'),
                    ("unit 3 found with LBA48",
                     r'ide: unit 3: "QEMU HARDDISK", 419430400 sectors .*LBA48'),
                    ("the CD-ROM is skipped", r"ide: unit 2: ATAPI device")):
                t.check("ide: " + name, found(g, pattern), g.buf[-800:])
            out = run_idetest(t, g)
        finally:
            g.close()
        check_images(t, images, out)


BLKDEBUG = """\
[inject-error]
event = "read_aio"
errno = "5"
sector = "100"
once = "off"

[inject-error]
event = "write_aio"
errno = "5"
sector = "200"
once = "off"
"""


def test_ide_device_errors(t):
    with tempfile.TemporaryDirectory(prefix="fumi-ide-") as tmp:
        image, conf = os.path.join(tmp, "bad.img"), os.path.join(tmp, "blkdebug.conf")
        with open(image, "wb") as f:
            f.truncate(1 << 20)
        with open(conf, "w") as f:
            f.write(BLKDEBUG)
        g = Guest(t.build, "ide-errors", extra=[
            "-drive", "file=blkdebug:%s:%s,format=raw,if=ide,index=1,rerror=report,"
            "werror=report" % (conf, image)])
        try:
            g.wait_prompt(30)
            out = run_idetest(t, g, "errors")
            t.check("ide[errors]: the driver logged the device's errors",
                    re.search(r"ide: unit 1: read at lba 100 failed: status 0x.. error 0x.. ABRT",
                              g.buf) and "ide: unit 1: write at lba 200 failed" in g.buf,
                    g.buf[-1500:])
        finally:
            g.close()
        for unit, lba, count, seed in written_regions(out):
            check_region(t, image, unit, lba, count, seed)
