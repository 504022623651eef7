"""The AHCI driver (servers/ahci) on QEMU's q35, whose -drive if=ide disks
hang off the ICH9 AHCI controller (00:1f.2, 8086:2922) and where the
legacy IDE ports are empty, through the in-guest idetest program (it tests
whichever driver registered "blk") and from the host side: the sectors
idetest says it wrote must be in the images at lba * 512, byte for byte.

Machines:
- q35 with a 64 MiB disk on port 0, a CD-ROM drive on port 2 (the driver
  skips it), a sparse 200 GiB disk on port 3 and a 16 MiB disk on a second
  AHCI controller behind a PCIe root port (bus 1): units 0, 1 and 2 in
  controller (PCI bus) and port order.
  The e1000 sits in slot 4, on the same IRQ line as the AHCI controller
  (10 under SeaBIOS), and nettest runs after idetest: a shared line. Then
  the driver is killed and started again with "reset" (GHC.HR): it takes
  the controllers over from the dead driver and idetest passes again.
- q35 with a disk whose reads of sector 100 and writes of sector 200 fail
  (QEMU blkdebug) as unit 1: "idetest errors".
- q35 booting with a FAT32 disk made by tools/mkdisk.py: fat mounts it
  through ahci; files read and written from the shell, checked with mtools
  and fsck.fat on the host.
- a pc with an IDE disk and an AHCI controller with another disk: both
  drivers find one, the first to register "blk" serves and the other ends.
- q35 without a disk (only the default CD-ROM): ahci says so and ends,
  fat has nothing to serve, the system runs on.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from guest import Guest, GuestError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_ide as ide  # noqa: E402  (the sector patterns and blkdebug set-up)
import test_e1000 as e1000  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from mkdisk import PART_START, SECTOR, make_disk  # noqa: E402

SMALL_SIZE = 64 << 20
BIG_SIZE = 200 << 30
THIRD_SIZE = 16 << 20
HBA_RE = (r"ahci: 00:1f\.2 8086:2922: AHCI \d+\.\d+, 6 ports \(PI 0x3f\), irq (\d+), "
          r"abar (0x[0-9a-f]+)\n")


def q35_disk(path, port, name, bus="ide", extra_opts=""):
    """A disk on AHCI port `port` of controller `bus` (q35's is "ide")."""
    return ["-drive", "if=none,id=%s,file=%s,format=raw%s" % (name, path, extra_opts),
            "-device", "ide-hd,bus=%s.%d,drive=%s" % (bus, port, name)]


def sparse(path, size, host_pattern=False):
    with open(path, "wb") as f:
        f.truncate(size)
    if host_pattern:  # for idetest's "sectors the host wrote read back"
        with open(path, "r+b") as f:
            f.seek(ide.HOST_LBA * ide.SECTOR)
            f.write(ide.region_pattern(0, ide.HOST_LBA, ide.HOST_COUNT, ide.HOST_SEED))


def found(g, pattern):
    try:
        return g.expect(pattern, 10)
    except GuestError:
        return None


def run_idetest(t, g, label, args=""):
    """Run idetest against ahci; record its checks; return its output."""
    out = g.command(("run idetest " + args).strip(), timeout=300)
    lines = "\n".join(l[len("idetest: "):] for l in out.splitlines()
                      if l.startswith("idetest: "))
    n = t.count_lines(label + ": ", lines)
    summary = re.search(r"idetest: (\d+) passed, (\d+) failed", out)
    t.check(label + ": idetest ran to the end", summary and n >= (40 if not args else 9),
            "%d checks seen\n%s" % (n, out[-1500:]))
    t.check(label + ": idetest exited normally", "idetest exited: cause exit code 0" in out,
            out[-500:])
    ps = g.command("ps")
    t.check(label + ": the driver survived", re.search(r"\sahci\s+alive", ps), ps)
    return out


def check_region(t, label, path, unit, lba, count, seed):
    with open(path, "rb") as f:
        f.seek(lba * ide.SECTOR)
        data = f.read(count * ide.SECTOR)
    want = ide.region_pattern(unit, lba, count, seed)
    bad = next((s for s in range(count)
                if data[s * ide.SECTOR:(s + 1) * ide.SECTOR]
                != want[s * ide.SECTOR:(s + 1) * ide.SECTOR]), None)
    t.check("%s: image of unit %d holds lba %d+%d" % (label, unit, lba, count), bad is None,
            "sector %s differs" % (None if bad is None else lba + bad))


def restart(t, g):
    """Stop the driver (its ports keep their last command lists, in pages
    the kernel must now withhold) and start it again with an HBA reset:
    it takes both controllers over from the dead one."""
    out = g.command("stop ahci")
    t.check("ahci[restart]: the driver is killed", "stopped pid" in out, out)
    # 3 disks x (1 + 32 pages) + the CD-ROM's port page
    t.check("ahci[restart]: the kernel withholds its DMA-pinned pages",
            g.expect(r"\[kernel\] ahci \(pid \d+\): 100 DMA-pinned pages withheld", 10),
            g.buf[-800:])
    mark = g.mark()
    out = g.command("start ahci reset")
    t.check("ahci[restart]: the driver starts again", "started ahci" in out, out)
    try:
        g.expect(r'ahci: unit 2: "QEMU HARDDISK", 32768 sectors', 30, mark)
        ok = len(re.findall(r"ahci: (00:1f\.2|01:00\.0): HBA reset", g.buf[mark:])) == 2 \
            and len(re.findall(r"ahci: unit \d", g.buf[mark:])) == 3
    except GuestError:
        ok = False
    t.check("ahci[restart]: both HBAs reset, the same three units", ok, g.buf[mark:][-1500:])


def test_ahci(t):
    with tempfile.TemporaryDirectory(prefix="fumi-ahci-") as tmp:
        images = {0: os.path.join(tmp, "small.img"), 1: os.path.join(tmp, "big.img"),
                  2: os.path.join(tmp, "third.img")}
        sparse(images[0], SMALL_SIZE, host_pattern=True)
        sparse(images[1], BIG_SIZE)
        sparse(images[2], THIRD_SIZE)
        extra = ["-M", "q35", "-drive", "file=%s,format=raw,if=ide" % images[0]]
        extra += ["-drive", "if=none,id=cd,media=cdrom", "-device", "ide-cd,bus=ide.2,drive=cd"]
        extra += q35_disk(images[1], 3, "big")
        extra += ["-device", "pcie-root-port,id=rp1,chassis=1,addr=7",
                  "-device", "ahci,id=ahci1,bus=rp1"] + q35_disk(images[2], 0, "third", "ahci1")
        extra += ["-netdev", "user,id=n0", "-device", "e1000,netdev=n0,addr=4"]
        g = Guest(t.build, "ahci", extra=extra)
        try:
            g.wait_prompt(60)
            g.expect(r"httpd: ready", 30)  # its line would land inside a command's echo
            hba = found(g, HBA_RE)
            t.check("ahci: the ICH9 controller is found", hba, g.buf[-1500:])
            for name, pattern in (
                    ("unit 0 is port 0",
                     r'ahci: unit 0: "QEMU HARDDISK", 131072 sectors \(64 MiB\), '
                     r'port 0 of 00:1f\.2'),
                    ("the CD-ROM on port 2 is skipped",
                     r"ahci: port 2 of 00:1f\.2: ATAPI device"),
                    ("unit 1 is port 3, beyond 2^28 sectors",
                     r'ahci: unit 1: "QEMU HARDDISK", 419430400 sectors \(204800 MiB\), '
                     r'port 3 of 00:1f\.2'),
                    ("unit 2 is on the second controller",
                     r'ahci: unit 2: "QEMU HARDDISK", 32768 sectors \(16 MiB\), '
                     r'port 0 of 01:00\.0'),
                    ("ide finds no disk on q35 and ends",
                     r"ide: no ATA disks\n(.|\n)*"
                     r"\[kernel\] ide \(pid \d+\) exited: cause 0 code 0")):
                t.check("ahci: " + name, found(g, pattern), g.buf[-1500:])
            nic = e1000.start_line(t, g, "ahci[e1000]")
            t.check("ahci: the AHCI controller and the e1000 share an IRQ line",
                    hba and nic.group(3) == "irq " + hba.group(1),
                    "%s / %s" % (hba and hba.group(0), nic.group(0)))
            out = run_idetest(t, g, "ahci")
            e1000.run_nettest(t, g, "ahci[shared irq]")
            restart(t, g)
            out2 = g.command("run idetest", timeout=300)
            t.check("ahci[restart]: idetest passes on the restarted driver",
                    re.search(r"idetest: \d+ passed, 0 failed", out2), out2[-1500:])
        finally:
            g.close()
        regions = [tuple(int(x) for x in m.groups()) for m in re.finditer(
            r"idetest: wrote unit (\d+) lba (\d+) count (\d+) seed (\d+)", out)]
        t.check("ahci: idetest reported its writes", len(regions) >= 15,
                "%d regions" % len(regions))
        for unit, lba, count, seed in regions:
            check_region(t, "ahci", images[unit], unit, lba, count, seed)
        with open(images[0], "rb") as f:
            f.seek(1 * ide.SECTOR)
            gap = f.read(7 * ide.SECTOR)
        t.check("ahci: unwritten sectors of unit 0 are untouched", gap == bytes(len(gap)))
        with open(images[2], "rb") as f:
            third = f.read()
        t.check("ahci: unit 2 (only read) is untouched", third == bytes(THIRD_SIZE))
        t.check("ahci: the images kept their sizes",
                os.path.getsize(images[0]) == SMALL_SIZE and os.path.getsize(images[1]) == BIG_SIZE)


def test_ahci_device_errors(t):
    with tempfile.TemporaryDirectory(prefix="fumi-ahci-") as tmp:
        good, image = os.path.join(tmp, "good.img"), os.path.join(tmp, "bad.img")
        conf = os.path.join(tmp, "blkdebug.conf")
        sparse(good, 1 << 20)
        sparse(image, 1 << 20)
        with open(conf, "w") as f:
            f.write(ide.BLKDEBUG)
        extra = ["-M", "q35", "-drive", "file=%s,format=raw,if=ide" % good]
        extra += q35_disk("blkdebug:%s:%s" % (conf, image), 1, "bad",
                          extra_opts=",rerror=report,werror=report")
        g = Guest(t.build, "ahci-errors", extra=extra, nic=None)
        try:
            g.wait_prompt(60)
            out = run_idetest(t, g, "ahci[errors]", "errors")
            t.check("ahci[errors]: the driver logged the device's errors",
                    re.search(r"ahci: unit 1: read at lba 100\+1 failed: status 0x.. error 0x.. "
                              r"ABRT", g.buf)
                    and "ahci: unit 1: write at lba 200+1 failed" in g.buf, g.buf[-1500:])
            t.check("ahci[errors]: no port reset failed", "reset failed" not in g.buf,
                    g.buf[-1500:])
        finally:
            g.close()
        for unit, lba, count, seed in [tuple(int(x) for x in m.groups()) for m in re.finditer(
                r"idetest: wrote unit (\d+) lba (\d+) count (\d+) seed (\d+)", out)]:
            check_region(t, "ahci[errors]", image, unit, lba, count, seed)


def mtools(cmd, image, *args):
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    return subprocess.run([cmd, "-i", "%s@@%d" % (image, PART_START * SECTOR)] + list(args),
                          check=True, env=env, capture_output=True)


def fat_disk(path, files, size_mib=40):
    make_disk(path, size_mib)
    for name, data in files.items():
        src = path + "." + name
        with open(src, "wb") as f:
            f.write(data)
        mtools("mcopy", path, src, "::/" + name)
        os.remove(src)


def test_ahci_fat(t):
    """The whole storage stack on q35: fat over ahci."""
    work = tempfile.mkdtemp(prefix="fumi-ahci-")
    try:
        image = os.path.join(work, "fat.img")
        hello = b"hello from the host, read through AHCI\n"
        big = bytes((i * 31 + 7) & 0xff for i in range(300000))  # > 2 bounce buffers
        fat_disk(image, {"hello.txt": hello, "big.bin": big})
        g = Guest(t.build, "ahci-fat", extra=[
            "-M", "q35", "-drive", "file=%s,format=raw,if=ide" % image], nic=None)
        try:
            g.wait_prompt(60)
            t.check("ahci[fat]: fat mounted the disk through ahci",
                    re.search(r'ahci: unit 0: "QEMU HARDDISK"', g.buf)
                    and found(g, r"fat: mounted the FAT32 volume of disk 0 \(QEMU HARDDISK"),
                    g.buf[-1500:])
            out = g.command("cat /hello.txt", timeout=60)
            t.check("ahci[fat]: cat /hello.txt", out == hello.decode(), repr(out))
            out = g.command("ls /", timeout=60)
            t.check("ahci[fat]: ls / lists the files",
                    "hello.txt" in out and "big.bin" in out, out)
            out = g.command("hexdump /big.bin 299990 10", timeout=60)
            t.check("ahci[fat]: the end of the host's big file",
                    " ".join("%02x" % b for b in big[299990:]) in out, out)
            out = g.command("cp /big.bin /copy.bin", timeout=120)
            t.check("ahci[fat]: cp of a 300 KB file", "ERR_" not in out, out)
            g.command("write /ahci.txt written on q35 through ahci", timeout=60)
            g.command("mkdir /dir", timeout=60)
            g.command("write /dir/inner.txt inner", timeout=60)
            out = g.command("cat /ahci.txt", timeout=60)
            t.check("ahci[fat]: a written file reads back",
                    out == "written on q35 through ahci\n", repr(out))
            out = g.command("sync", timeout=60)
            t.check("ahci[fat]: sync", "ERR_" not in out, out)
            g.send("shutdown\r")
            g.wait_exit(120)
        finally:
            g.close()
        t.check("ahci[fat]: the host reads the file fat wrote",
                mtools("mtype", image, "::/ahci.txt").stdout == b"written on q35 through ahci\n")
        t.check("ahci[fat]: and the one in the new directory",
                mtools("mtype", image, "::/dir/inner.txt").stdout == b"inner\n")
        t.check("ahci[fat]: the host's big file is intact, fat's copy equal to it",
                mtools("mtype", image, "::/big.bin").stdout == big
                and mtools("mtype", image, "::/copy.bin").stdout == big)
        part = image + ".part"
        with open(image, "rb") as src, open(part, "wb") as dst:
            src.seek(PART_START * SECTOR)
            shutil.copyfileobj(src, dst)
        proc = subprocess.run(["fsck.fat", "-n", part], capture_output=True, text=True)
        t.check("ahci[fat]: fsck.fat finds the volume clean", proc.returncode == 0,
                (proc.stdout + proc.stderr)[-1500:])
    finally:
        shutil.rmtree(work)


def test_ahci_and_ide(t):
    """A pc with an IDE disk and an AHCI controller with a disk: the first
    driver to register "blk" serves, the other ends; fat mounts the
    winner's disk."""
    work = tempfile.mkdtemp(prefix="fumi-ahci-")
    try:
        ide_img, ahci_img = os.path.join(work, "ide.img"), os.path.join(work, "ahci.img")
        fat_disk(ide_img, {"which.txt": b"ide\n"})
        fat_disk(ahci_img, {"which.txt": b"ahci\n"})
        g = Guest(t.build, "ahci-and-ide", extra=[
            "-drive", "file=%s,format=raw,if=ide,index=0" % ide_img,
            "-device", "ahci,id=ahci0,addr=6"] + q35_disk(ahci_img, 0, "a0", "ahci0"), nic=None)
        try:
            g.wait_prompt(60)
            both = found(g, r'ide: unit 0: "QEMU HARDDISK"') and \
                found(g, r'ahci: unit 0: "QEMU HARDDISK"')
            t.check("ahci+ide: both drivers find their disk", both, g.buf[-1500:])
            loser = found(g, r'(ide|ahci): cannot register "blk": ERR_ALREADY_EXISTS')
            t.check("ahci+ide: one driver finds blk taken", loser, g.buf[-1500:])
            if not loser:
                return
            winner = "ide" if loser.group(1) == "ahci" else "ahci"
            t.check("ahci+ide: and ends cleanly", found(
                g, r"\[kernel\] %s \(pid \d+\) exited: cause 0 code 0" % loser.group(1)),
                g.buf[-1500:])
            out = g.command("cat /which.txt", timeout=60)
            t.check("ahci+ide: fat mounted the winner's (%s) disk" % winner,
                    out == winner + "\n", repr(out))
            ps = g.command("ps")
            t.check("ahci+ide: the winner serves on",
                    re.search(r"\s%s\s+alive" % winner, ps)
                    and not re.search(r"\s%s\s+alive" % loser.group(1), ps), ps)
        finally:
            g.close()
    finally:
        shutil.rmtree(work)


def test_ahci_no_disk(t):
    g = Guest(t.build, "ahci-no-disk", extra=["-M", "q35"], nic=None)
    try:
        g.wait_prompt(60)
        t.check("ahci[no disk]: the CD-ROM is skipped, no disk",
                found(g, r"ahci: port 2 of 00:1f\.2: ATAPI device(.|\n)*ahci: no disks"),
                g.buf[-1500:])
        t.check("ahci[no disk]: the driver ends cleanly",
                found(g, r"\[kernel\] ahci \(pid \d+\) exited: cause 0 code 0"), g.buf[-1500:])
        t.check("ahci[no disk]: fat has nothing to serve",
                found(g, r"fat: nothing to serve: ERR_NOT_FOUND"), g.buf[-1500:])
        ps = g.command("ps")
        t.check("ahci[no disk]: the system runs on",
                re.search(r"\sshell\s+alive", ps)
                and not re.search(r"\s(ahci|ide|fat)\s+(alive|restart|failed)", ps),
                ps)
    finally:
        g.close()
