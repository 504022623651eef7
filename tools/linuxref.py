#!/usr/bin/env python3
"""The reference Linux guest of the HTTP benchmark: Debian's kernel and busybox httpd.

Usage: linuxref.py [--build DIR] [--boot PORT]

make bench measures Fumi's web server next to this guest, booted by the
same QEMU (TCG, 256 MiB, one CPU, an e1000 on the user-mode network) and
loaded with the same wrk runs. Its initramfs is written here in pure Python
(a newc cpio archive, gzipped; no root, no mounts, no cpio tool):

  /bin/busybox     from busybox-static, with a symlink per applet /init uses
  /lib/modules/    the e1000 module and its dependencies (modules.dep
                   order), decompressed when Debian ships them as .xz/.zst
  /dev/console     the node the kernel opens for init's standard streams
  /www/            the files to serve
  /init            mounts proc, sys and dev, loads the modules, gives eth0
                   slirp's address (10.0.2.15/24, gateway 10.0.2.2) and
                   starts `httpd -p 80 -h /www`, then prints READY

busybox httpd goes to the background only once it listens, so READY on
the serial console means the server accepts connections. The kernel is
the newest /boot/vmlinuz-RELEASE whose /lib/modules/RELEASE has e1000
(linux-image-amd64 has it as a module; linux-image-cloud-amd64 has no
e1000 at all); `tools/setup.sh bench` installs it and busybox-static.

The archive is cached as BUILD/linuxref.cpio.gz and rebuilt only when its
contents (kernel modules, busybox, /init, the files) change.
"""
import argparse
import gzip
import hashlib
import lzma
import os
import re
import struct
import subprocess
import sys

BUSYBOX = "/bin/busybox"
E1000 = "e1000.ko"
READY = "linuxref: httpd serving /www on port 80"
APPLETS = ("sh", "mount", "insmod", "ip", "httpd", "echo", "sleep", "cat")
CMDLINE = "console=ttyS0 quiet panic=1"  # panic=1 + -no-reboot: a failed init ends QEMU

INIT = """#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
{insmods}
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0
ip link set eth0 up
ip route add default via 10.0.2.2
httpd -p 80 -h /www || echo "linuxref: httpd failed"
echo "{ready}"
while :; do sleep 3600; done
"""


class LinuxRefError(Exception):
    pass


def _version_key(release):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", release)]


def find_kernel():
    """(vmlinuz path, modules dir, e1000 module path relative to it, or None
    when e1000 is built in) of the newest installed kernel with e1000."""
    releases = [name[len("vmlinuz-"):] for name in os.listdir("/boot")
                if name.startswith("vmlinuz-")] if os.path.isdir("/boot") else []
    for release in sorted(releases, key=_version_key, reverse=True):
        moddir = os.path.join("/lib/modules", release)
        for line in _read_lines(os.path.join(moddir, "modules.builtin")):
            if os.path.basename(line) == E1000:
                return os.path.join("/boot", "vmlinuz-" + release), moddir, None
        for line in _read_lines(os.path.join(moddir, "modules.dep")):
            path = line.split(":", 1)[0]
            if re.search(r"/e1000\.ko(\.xz|\.zst|\.gz)?$", path):
                return os.path.join("/boot", "vmlinuz-" + release), moddir, path
    raise LinuxRefError("no kernel with e1000 in /boot and /lib/modules "
                        "(run tools/setup.sh bench as root: linux-image-amd64)")


def _read_lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except OSError:
        return []


def module_order(moddir, module):
    """module and everything it needs, in the order to insmod them.

    modules.dep lists a module's dependencies so that the last one must be
    loaded first (modprobe loads them in reverse)."""
    deps = {}
    for line in _read_lines(os.path.join(moddir, "modules.dep")):
        name, _, rest = line.partition(":")
        deps[name] = rest.split()
    order = []

    def visit(name):
        for dep in reversed(deps.get(name, [])):
            visit(dep)
        if name not in order:
            order.append(name)
    visit(module)
    return order


def read_module(path):
    """A module's bytes, decompressed (insmod in busybox loads plain ELF)."""
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    return data


def check_static(path):
    """busybox must not need a dynamic loader: the initramfs has no libc."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            raise LinuxRefError("%s is not a 64-bit ELF" % path)
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            if struct.unpack("<I", f.read(4))[0] == 3:  # PT_INTERP
                raise LinuxRefError("%s is dynamically linked: install busybox-static" % path)


class Cpio:
    """A newc ("070701") cpio archive, the format the kernel unpacks into
    its initramfs. Entries are written with mtime 0 and owner root so the
    same inputs give the same bytes."""

    def __init__(self):
        self.out = bytearray()
        self.ino = 1

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        fields = (self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name) + 1, 0)
        self.ino += 1
        self.out += b"070701" + b"".join(b"%08X" % v for v in fields)
        self.out += name.encode() + b"\0"
        self.out += b"\0" * (-len(self.out) % 4)
        self.out += data
        self.out += b"\0" * (-len(self.out) % 4)

    def dir(self, name):
        self._entry(name, 0o040755)

    def file(self, name, data, mode=0o644):
        self._entry(name, 0o100000 | mode, data)

    def symlink(self, name, target):
        self._entry(name, 0o120777, target.encode())

    def chardev(self, name, major, minor):
        self._entry(name, 0o020600, rdev=(major, minor))

    def finish(self):
        self._entry("TRAILER!!!", 0)
        return bytes(self.out)


def make_archive(files, moddir, module):
    """The uncompressed initramfs: files maps names under /www to bytes."""
    check_static(BUSYBOX)
    a = Cpio()
    for d in ("bin", "dev", "proc", "sys", "lib", "lib/modules", "www"):
        a.dir(d)
    a.chardev("dev/console", 5, 1)
    with open(BUSYBOX, "rb") as f:
        a.file("bin/busybox", f.read(), 0o755)
    for applet in APPLETS:
        a.symlink("bin/" + applet, "busybox")
    insmods = []
    for rel in module_order(moddir, module) if module else []:
        name = re.sub(r"\.ko(\.xz|\.zst|\.gz)?$", ".ko", os.path.basename(rel))
        a.file("lib/modules/" + name, read_module(os.path.join(moddir, rel)))
        insmods.append("insmod /lib/modules/" + name)
    a.file("init", INIT.format(insmods="\n".join(insmods), ready=READY).encode(), 0o755)
    for name in sorted(files):
        a.file("www/" + name, files[name])
    return a.finish()


def build(build_dir, files):
    """Write BUILD/linuxref.cpio.gz unless an identical one is there; return
    (vmlinuz path, initramfs path)."""
    vmlinuz, moddir, module = find_kernel()
    archive = make_archive(files, moddir, module)
    digest = hashlib.sha256(archive).hexdigest()
    out = os.path.join(build_dir, "linuxref.cpio.gz")
    stamp = out + ".sha256"
    if not (os.path.exists(out) and _read_lines(stamp) == [digest]):
        os.makedirs(build_dir, exist_ok=True)
        with open(out, "wb") as f:
            f.write(gzip.compress(archive, compresslevel=6, mtime=0))
        with open(stamp, "w") as f:
            f.write(digest + "\n")
    return vmlinuz, out


def qemu_args(vmlinuz, initrd):
    """What to add to the standard QEMU command line (tests/guest.py's)."""
    return ["-kernel", vmlinuz, "-initrd", initrd, "-append", CMDLINE]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(root, "build"))
    ap.add_argument("--boot", type=int, metavar="PORT",
                    help="boot it, serving on 127.0.0.1:PORT, until QEMU is ended")
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(root, "tests"))
    from bench import http_site  # the benchmark's files
    try:
        vmlinuz, initrd = build(args.build, http_site())
    except LinuxRefError as e:
        sys.exit("linuxref: %s" % e)
    print("%s %s" % (vmlinuz, initrd))
    if args.boot:
        os.execvp("qemu-system-x86_64", [
            "qemu-system-x86_64", "-m", "256", "-display", "none", "-no-reboot",
            "-serial", "stdio", "-netdev",
            "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:80" % args.boot,
            "-device", "e1000,netdev=n0"] + qemu_args(vmlinuz, initrd))


if __name__ == "__main__":
    main()
