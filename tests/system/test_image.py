"""The deployable disk image (make image, docs/deploy.md), booted as a cloud VM
boots it: the BIOS loads GRUB from the disk, no -kernel, the disk on the
machine's IDE/AHCI controller, an e1000 NIC on QEMU's user network, DHCP.

Each boot must reach httpd's ready line and serve the page and a 1 MiB file
byte for byte over the forwarded port (127.0.0.1 only), under -M pc and
-M q35 with 64 MiB and 1 GiB of RAM; a site given with SITE= must be the
one served; the qcow2 conversion boots too; Bochs boots the image to the
ready line.
"""
import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request

import bochs
from guest import Guest, free_port

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
READY = r"httpd: ready: http://(\d+\.\d+\.\d+\.\d+):(\d+)/"


def make_image(build, out, site=None, fmt=None, cmdline=None):
    cmd = ["make", "-s", "-C", ROOT, "BUILD=" + os.path.abspath(build),
           "image-" + fmt if fmt else "image", "IMAGE=" + out]
    if site:
        cmd.append("SITE=" + site)
    if cmdline:
        cmd.append("CMDLINE_IMAGE=" + cmdline)
    subprocess.run(cmd, check=True, capture_output=True)
    return out.rsplit(".", 1)[0] + "." + fmt if fmt else out


def fetch(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=60) as r:
        return r.status, r.read()


def boot_and_serve(t, label, image, files, machine="pc", mem=256, fmt="raw",
                   guest=("10.0.2.15", 80), dhcp=True, drive=""):
    """Boot image; check the ready line and that every file comes back."""
    port = free_port()
    g = Guest(t.build, "image-" + label, kernel=False, mem=mem, extra=[
        "-M", machine, "-drive", "file=%s,format=%s,if=ide%s" % (image, fmt, drive),
        "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-%s:%d" % (port, guest[0], guest[1]),
        "-device", "e1000,netdev=n0"])
    try:
        m = g.expect(READY, 180)
        t.check("image[%s]: boots from the disk to the ready line" % label,
                (m.group(1), int(m.group(2))) == guest, m.group(0))
        if dhcp:
            t.check("image[%s]: DHCP gave the address" % label,
                    re.search(r"tcpip: dhcp: bound 10\.0\.2\.15/24", g.buf), g.buf[-500:])
        else:
            t.check("image[%s]: the static address from grub.cfg, no DHCP" % label,
                    "tcpip: static address" in g.buf and "dhcp: bound" not in g.buf,
                    g.buf[-500:])
        for path, want in files.items():
            status, body = fetch(port, path)
            t.check("image[%s]: %s served byte for byte (%d bytes)" % (label, path, len(want)),
                    status == 200 and hashlib.sha256(body).digest()
                    == hashlib.sha256(want).digest(), "status %d, %d bytes" % (status, len(body)))
        g.send("shutdown\r")
        g.wait_exit(120)
    finally:
        g.close()


def test_conversions(t):
    """make image-vmdk, image-vhd and image-gce give what clouds import."""
    work = tempfile.mkdtemp(prefix="fumi-image-")
    try:
        out = os.path.join(work, "fumi.img")
        for fmt, name in (("vmdk", "vmdk"), ("vhd", "vpc")):
            conv = make_image(t.build, out, fmt=fmt)
            # A fixed VHD is the raw disk plus a footer: name the format.
            info = subprocess.run(["qemu-img", "info", "-f", name, conv], capture_output=True,
                                  text=True).stdout
            t.check("image: make image-%s gives a %s image of the disk" % (fmt, name),
                    re.search(r"file format: %s\b" % name, info)
                    and re.search(r"virtual size: 128 MiB", info), info)
        subprocess.run(["make", "-s", "-C", ROOT, "BUILD=" + os.path.abspath(t.build),
                        "image-gce", "IMAGE=" + out], check=True, capture_output=True)
        with tarfile.open(os.path.join(work, "fumi-gce.tar.gz")) as tar:
            members = tar.getmembers()
        t.check("image: make image-gce gives disk.raw of 1 GiB in a tar.gz",
                [(m.name, m.size) for m in members] == [("disk.raw", 1 << 30)],
                [(m.name, m.size) for m in members])
    finally:
        shutil.rmtree(work)


def test_default_image(t):
    """make image with the repository's site (disk/www)."""
    with open(os.path.join(ROOT, "disk", "www", "index.html"), "rb") as f:
        index = f.read()
    work = tempfile.mkdtemp(prefix="fumi-image-")
    try:
        image = make_image(t.build, os.path.join(work, "fumi.img"))
        boot_and_serve(t, "pc-64M", image, {"/": index}, mem=64)
        # The disk need not be the primary master.
        boot_and_serve(t, "secondary-slave", image, {"/": index}, drive=",index=3")
        # Options on the kernel command line in grub.cfg: a static address
        # and another port.
        image = make_image(t.build, os.path.join(work, "fumi.img"),
                           cmdline="tcpip.ip=10.0.2.99/24 tcpip.gw=10.0.2.2 httpd.port=8080")
        boot_and_serve(t, "static", image, {"/": index}, guest=("10.0.2.99", 8080), dhcp=False)
    finally:
        shutil.rmtree(work)


def test_site_image(t):
    """make image SITE=...: the machines, the memory sizes, qcow2 and Bochs."""
    work = tempfile.mkdtemp(prefix="fumi-image-")
    try:
        site = os.path.join(work, "site")
        os.makedirs(site)
        files = {"/": b"<!DOCTYPE html><title>my site</title><p>made by make image SITE=</p>\n",
                 "/big.bin": os.urandom(1 << 20)}
        with open(os.path.join(site, "index.html"), "wb") as f:
            f.write(files["/"])
        with open(os.path.join(site, "big.bin"), "wb") as f:
            f.write(files["/big.bin"])
        image = make_image(t.build, os.path.join(work, "fumi.img"), site)
        for machine in ("pc", "q35"):
            for mem in (64, 1024):
                boot_and_serve(t, "%s-%dM" % (machine, mem), image, files, machine, mem)
        qcow2 = make_image(t.build, os.path.join(work, "fumi.img"), site, fmt="qcow2")
        boot_and_serve(t, "qcow2", qcow2, {"/": files["/"]}, fmt="qcow2")
        out = bochs.run(t.build, until=READY, disk=image, timeout=900, name="bochs-image")
        t.check("image[bochs]: boots to the ready line", re.search(READY, out), out[-1500:])
    finally:
        shutil.rmtree(work)
