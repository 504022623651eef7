"""The e1000 NIC driver (servers/e1000) through the in-guest nettest program
on QEMU's user-mode network (slirp), and from the host side: a capture of
the guest's network (QEMU's filter-dump) must hold exactly the frames the
driver says it sent, byte counts included, the DHCP DISCOVER with a UDP
checksum the host agrees with, slirp's OFFER, and nothing addressed outside
slirp's 10.0.2.0/24.

Machines: the standard pc with an 82540EM (PCI 8086:100e) in slot 3 (IRQ
11 under SeaBIOS), q35 with one in slot 4 (IRQ 10), a pc with an 82545EM
(8086:100f) behind a PCI bridge (bus 1), and a pc without any NIC, where
the driver must say "no device" and end cleanly. After nettest on q35 the
driver is killed (the kernel must withhold its DMA-pinned pages and
everything else run on) and started again with "poll eeprom": it must take
over the NIC the dead one left running, read the same MAC from the
EEPROM, be found again by tcpip, and pass nettest without interrupts.
"""
import os
import re
import struct
import tempfile

from guest import Guest

GUEST_MAC = bytes.fromhex("525400123456")  # QEMU's default
PCI_IRQS = (5, 9, 10, 11)                   # what servers/boot.manifest grants
DMA_PAGES = 129                             # servers/e1000/e1000.h: E1000_DMA_SIZE
START_RE = (r"e1000: ([0-9a-f]{2}(?::[0-9a-f]{2}){5}) link (up|down), (irq \d+|polled), "
            r"bar (0x[0-9a-f]+)( \(MAC from the EEPROM\))?\n")  # the whole line


def start_line(t, g, label):
    """The driver's start line: MAC, link up, a granted IRQ, a BAR in the
    manifest's MMIO window."""
    m = g.expect(START_RE, 30)
    mac, link, irq, bar = m.group(1), m.group(2), m.group(3), int(m.group(4), 16)
    t.check("%s: the driver found the NIC" % label,
            mac == "52:54:00:12:34:56" and not m.group(5), m.group(0))
    t.check("%s: link up at start" % label, link == "up", m.group(0))
    t.check("%s: listens on a PCI IRQ line" % label,
            irq.startswith("irq ") and int(irq[4:]) in PCI_IRQS, m.group(0))
    t.check("%s: BAR0 in the PCI hole" % label, 0x80000000 <= bar < 0xfec00000, m.group(0))
    return m


def run_nettest(t, g, label, args=""):
    """Run nettest; record its checks; return its output."""
    out = g.command(("run nettest " + args).strip(), timeout=300)
    lines = "\n".join(l[len("nettest: "):] for l in out.splitlines()
                      if l.startswith("nettest: "))
    n = t.count_lines(label + ": ", lines)
    summary = re.search(r"nettest: (\d+) passed, (\d+) failed", out)
    t.check(label + ": nettest ran to the end", summary and n >= 40,
            "%d checks seen\n%s" % (n, out[-1500:]))
    t.check(label + ": nettest exited normally", "nettest exited: cause exit code 0" in out,
            out[-500:])
    ps = g.command("ps")
    t.check(label + ": the driver survived", re.search(r"\se1000\s+alive", ps), ps)
    return out


# ---- the capture -------------------------------------------------------------

def read_pcap(path):
    """Frames of a libpcap file (QEMU's filter-dump: Ethernet, both ways)."""
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack_from("<I", data, 0)
    if magic not in (0xa1b2c3d4, 0xa1b23c4d):
        raise ValueError("not a little-endian pcap file")
    frames, off = [], 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack_from("<IIII", data, off)
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


def inet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def udp_ok(ip, udp):
    """The UDP checksum verifies (over the pseudo header), or is 0."""
    if struct.unpack_from("!H", udp, 6)[0] == 0:
        return True
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, len(udp))
    return inet_checksum(pseudo + udp) == 0xffff


def ipv4(frame):
    """(header, payload) of an IPv4 frame, else None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    ihl = (frame[14] & 0xf) * 4
    total = struct.unpack_from("!H", frame, 16)[0]
    return frame[14:14 + ihl], frame[14 + ihl:14 + total]


def in_slirp_net(addr):
    return addr[:3] == bytes([10, 0, 2]) or addr == b"\xff\xff\xff\xff"


def check_capture(t, label, frames, out):
    """What the guest sent, from the capture. tcpip (a boot server) shares
    the NIC and sends its own DHCP and ARP; nettest's frames are told apart
    by their sizes and ids."""
    sent = [f for f in frames if f[6:12] == GUEST_MAC]
    stats = re.search(r"nettest: stats: rx \d+/\d+ B, tx (\d+)/(\d+) B", out)
    t.check(label + ": nettest printed its stats", stats, out[-800:])
    if not stats:
        return
    tx_packets, tx_bytes = int(stats.group(1)), int(stats.group(2))
    t.check(label + ": the capture holds every frame the driver sent, and no other",
            len(sent) == tx_packets, "%d frames captured, tx_packets %d" % (len(sent), tx_packets))
    t.check(label + ": ... byte for byte in length",
            sum(len(f) for f in sent) == tx_bytes,
            "%d bytes captured, tx_bytes %d" % (sum(len(f) for f in sent), tx_bytes))
    t.check(label + ": no refused frame reached the wire",
            all(14 <= len(f) <= 1514 for f in sent), str(sorted({len(f) for f in sent})))
    arp = [f for f in sent if f[12:14] == b"\x08\x06"]
    t.check(label + ": ARP only inside 10.0.2.0/24",
            sum(f[38:42] == bytes([10, 0, 2, 2]) for f in arp) >= 201
            and all(f[38:41] == bytes([10, 0, 2]) for f in arp), "%d ARP frames" % len(arp))
    ips = [ipv4(f) for f in sent if f[12:14] == b"\x08\x00"]
    t.check(label + ": IPv4 only to slirp's addresses",
            ips and all(p and in_slirp_net(p[0][16:20]) for p in ips), "%d IPv4 frames" % len(ips))
    dhcp = [p for p in ips if p and p[0][9] == 17 and p[1][2:4] == b"\x00\x43"]
    mine = [p for p in dhcp if len(p[1]) == 8 + 548]
    t.check(label + ": nettest's DHCP DISCOVER went out once, its UDP checksum right",
            len(mine) == 1 and struct.unpack_from("!H", mine[0][1], 6)[0] and udp_ok(*mine[0]),
            "%d DHCP frames, %d of nettest's" % (len(dhcp), len(mine)))
    t.check(label + ": every DHCP request's UDP checksum is right",
            all(udp_ok(*p) for p in dhcp), "%d DHCP frames" % len(dhcp))
    pings = [p for p in ips if p and p[0][9] == 1 and p[1][0] == 8 and p[1][4:6] == b"NT"]
    big = [p for p in ips if p and p[0][9] == 1 and p[1][0] == 8 and p[1][4:6] == b"NU"]
    t.check(label + ": 300 pings, and one full 1514-byte frame",
            len(pings) == 300 and len(big) == 1 and len(big[0][0]) + len(big[0][1]) == 1500,
            "%d pings, %d big" % (len(pings), len(big)))
    if not mine:
        return
    xid = mine[0][1][8 + 4:8 + 8]
    got = [ipv4(f) for f in frames if f[6:12] != GUEST_MAC and f[:6] in (GUEST_MAC, b"\xff" * 6)]
    offers = [p for p in got if p and p[0][9] == 17 and p[1][2:4] == b"\x00\x44"
              and p[1][8 + 4:8 + 8] == xid]
    t.check(label + ": slirp offered 10.0.2.15 to nettest's DISCOVER",
            any(p[1][8 + 16:8 + 20] == bytes([10, 0, 2, 15]) for p in offers),
            "%d replies for its xid" % len(offers))


# ---- the tests ---------------------------------------------------------------

def test_e1000(t):
    with tempfile.TemporaryDirectory(prefix="fumi-e1000-") as tmp:
        pcap = os.path.join(tmp, "net.pcap")
        g = Guest(t.build, "e1000", extra=[
            "-netdev", "user,id=n0", "-device", "e1000,netdev=n0",
            "-object", "filter-dump,id=f0,netdev=n0,file=%s" % pcap])
        try:
            g.wait_prompt(60)
            start_line(t, g, "e1000")
            out = run_nettest(t, g, "e1000")
        finally:
            g.close()
        check_capture(t, "e1000", read_pcap(pcap), out)


def test_e1000_q35(t):
    """q35, then the driver killed (its DMA memory must be withheld) and
    started again, polling, on a NIC the dead driver left running."""
    g = Guest(t.build, "e1000-q35", extra=[
        "-M", "q35", "-netdev", "user,id=n0", "-device", "e1000,netdev=n0,addr=4"])
    try:
        g.wait_prompt(60)
        start_line(t, g, "e1000[q35]")
        run_nettest(t, g, "e1000[q35]")
        out = g.command("stop e1000")
        t.check("e1000[kill]: the driver is killed", "stopped pid" in out, out)
        t.check("e1000[kill]: the kernel withholds its DMA-pinned pages",
                g.expect(r"\[kernel\] e1000 \(pid \d+\): %d DMA-pinned pages withheld"
                         % DMA_PAGES, 10), g.buf[-800:])
        out = g.command("ps")
        t.check("e1000[kill]: the rest runs on",
                re.search(r"\sshell\s+alive", out) and re.search(r"\se1000\s+stopped", out), out)
        mark = g.mark()
        out = g.command("start e1000 poll eeprom")
        t.check("e1000[poll]: the driver starts again", "started e1000" in out, out)
        m = g.expect(START_RE, 30, mark)
        t.check("e1000[poll]: polling, link up", m.group(3) == "polled" and m.group(2) == "up",
                m.group(0))
        t.check("e1000[poll]: the same MAC from the EEPROM",
                m.group(1) == "52:54:00:12:34:56" and m.group(5), m.group(0))
        # tcpip attaches to it by itself; nettest then borrows the NIC from it
        # as from the first driver (an attach after nettest's would take over).
        t.check("e1000[poll]: tcpip attaches to the new driver",
                g.expect(r"tcpip: attached to the driver again, link up", 30, mark),
                g.buf[mark:][-800:])
        run_nettest(t, g, "e1000[poll]", "polled")
    finally:
        g.close()


def test_e1000_82545em(t):
    """An 82545EM behind a PCI-to-PCI bridge: found on bus 1."""
    g = Guest(t.build, "e1000-82545em", extra=[
        "-device", "pci-bridge,id=br1,chassis_nr=1,addr=0x5",
        "-netdev", "user,id=n0", "-device", "e1000-82545em,netdev=n0,bus=br1,addr=0x3"])
    try:
        g.wait_prompt(60)
        start_line(t, g, "e1000[82545EM]")
        run_nettest(t, g, "e1000[82545EM]")
    finally:
        g.close()


def test_e1000_no_nic(t):
    g = Guest(t.build, "e1000-none", nic=None)
    try:
        g.wait_prompt(60)
        t.check("e1000[none]: the driver finds no device", "e1000: no device" in g.buf,
                g.buf[-800:])
        t.check("e1000[none]: and ends cleanly",
                re.search(r"\[kernel\] e1000 \(pid \d+\) exited: cause 0 code 0", g.buf)
                and re.search(r"memmgr: e1000 \(pid \d+\) exited with code 0; not restarted",
                              g.buf), g.buf[-800:])
        out = g.command("ps")
        t.check("e1000[none]: the system runs without it",
                re.search(r"\sshell\s+alive", out) and re.search(r"\se1000\s+stopped", out), out)
    finally:
        g.close()
