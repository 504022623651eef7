"""IPC traces (docs/tracing.md): record one with `trace` on the kernel
command line, read it with tshark and tools/wireshark/fumi.lua, and check
the names, the field values, the call/reply pairs and the `trace=NAME`
filter. Also: malformed records get expert warnings (no Lua error), the
dissector works from Wireshark's personal plugin folder, and its
notification bit names agree with libs/common/abi.h."""
import importlib.util
import os
import re
import shutil
import struct
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(ROOT, "tools")
DISSECTOR = os.path.join(TOOLS, "wireshark", "fumi.lua")
MESSAGES = os.path.join(TOOLS, "wireshark", "fumi_messages.lua")

# tools/trace.py, loaded by path: "trace" is also a standard library module.
_spec = importlib.util.spec_from_file_location("fumi_trace", os.path.join(TOOLS, "trace.py"))
fumi_trace = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fumi_trace)

# Short: boot, the shell, ps (kernel.process_info), a program started by
# memmgr that pings its server over the fastpath.
WORKLOAD = ["echo tracing", "ps", "run ipcbench 20"]
FILTER_WORKLOAD = ["echo filtered", "ps"]

EXPECTED_TYPES = ["console.write", "console.write.reply", "console.read", "console.read.reply",
                  "kernel.process_info", "kernel.process_info.reply", "kernel.print",
                  "memmgr.spawn", "memmgr.spawn.reply", "ns.lookup", "ns.lookup.reply",
                  "pager.fill", "bench.ping", "bench.ping.reply", "notification"]

FIELDS = ["frame.number", "fumi.event", "fumi.type", "fumi.type_name", "fumi.src", "fumi.dst",
          "fumi.src_pid", "fumi.request_in", "fumi.response_in", "fumi.latency_ns",
          "_ws.expert.message", "_ws.malformed", "_ws.col.Info"]

EVENT_RECV, EVENT_FASTPATH, EVENT_KCALL = 2, 4, 5


def tshark(pcap, *args, env=None):
    """Run tshark with the dissector (two passes, so requests know their responses)."""
    cmd = ["tshark", "-X", "lua_script:" + DISSECTOR, "-2", "-r", pcap] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


def lua_trouble(stderr):
    """Lines of tshark's stderr that are not the harmless running-as-root warning."""
    return [line for line in stderr.splitlines()
            if line.strip() and "Running as user" not in line]


def dissect(t, label, pcap):
    """Every record as a dict of FIELDS; checks tshark ran cleanly."""
    proc = tshark(pcap, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
                  *[a for f in FIELDS for a in ("-e", f)])
    trouble = lua_trouble(proc.stderr)
    t.check("%s: tshark runs the dissector without errors" % label,
            proc.returncode == 0 and not trouble, proc.stderr[-2000:])
    rows = []
    for line in proc.stdout.splitlines():
        values = line.split("\t")
        rows.append(dict(zip(FIELDS, values + [""] * (len(FIELDS) - len(values)))))
    return rows


def count(pcap, display_filter):
    proc = tshark(pcap, "-Y", display_filter)
    return len(proc.stdout.splitlines()) if proc.returncode == 0 else -1


def keep(t, pcap, name):
    """Move a recorded trace into test-logs/ (build/trace.pcap belongs to make trace)."""
    dest = os.path.join(t.build, "test-logs", name)
    shutil.move(pcap, dest)
    return dest


def test_trace_record_and_dissect(t):
    if not t.check("trace: tshark is installed", shutil.which("tshark") is not None):
        return
    pcap = keep(t, fumi_trace.record(t.build, "", WORKLOAD), "trace.pcap")
    with open(pcap, "rb") as f:
        head = f.read(24)
    magic, _, _, _, _, _, linktype = struct.unpack("<IHHiIII", head)
    t.check("trace: pcap with nanosecond magic, DLT_USER0",
            (magic, linktype) == (0xa1b23c4d, 147), "%#x %d" % (magic, linktype))

    rows = dissect(t, "trace", pcap)
    t.check("trace: has records", len(rows) > 100, "%d records" % len(rows))
    bad = [r for r in rows if r["_ws.expert.message"] or r["_ws.malformed"]]
    t.check("trace: every record dissects without expert warnings", not bad,
            "; ".join("#%s %s %s" % (r["frame.number"], r["_ws.col.Info"],
                                     r["_ws.expert.message"]) for r in bad[:5]))
    unnamed = [r for r in rows if not r["fumi.type_name"] or r["fumi.type_name"].startswith("0x")]
    t.check("trace: every record has a type name", not unnamed,
            "; ".join(r["_ws.col.Info"] for r in unnamed[:5]))

    names = {r["fumi.type_name"] for r in rows}
    for name in EXPECTED_TYPES:
        t.check("trace: %s appears" % name, name in names, " ".join(sorted(names)))

    events = {int(r["fumi.event"]) for r in rows if r["fumi.event"]}
    t.check("trace: fastpath, kcall, send, recv and notify events",
            {1, 2, 3, 4, 5} <= events, str(sorted(events)))
    fastpath = [r for r in rows if r["fumi.event"] == str(EVENT_FASTPATH)]
    t.check("trace: bench.ping goes through the fastpath",
            any(r["fumi.type_name"] == "bench.ping" for r in fastpath), "")
    t.check("trace: columns name(pid) and the event in Info",
            all(re.match(r"\S+\(\d+\) → \S+\(\d+\) \S+.* \[(send|recv|notify|fastpath|kcall)\]",
                         r["_ws.col.Info"]) for r in rows),
            next((r["_ws.col.Info"] for r in rows if "→" not in r["_ws.col.Info"]), ""))

    # Field values.
    t.check("trace: a console.write carries 'tracing'",
            count(pcap, 'fumi.type_name == "console.write" && '
                        'fumi.field.data contains "tracing"') > 0)
    t.check("trace: a kernel.process_info reply names memmgr",
            count(pcap, 'fumi.type_name == "kernel.process_info.reply" && '
                        'fumi.field.name == "memmgr"') > 0)
    t.check("trace: ps ends on an ERR_NOT_FOUND error reply",
            count(pcap, 'fumi.type == 0x0193 && fumi.flags.error == 1 && '
                        'fumi.error_name == "ERR_NOT_FOUND"') > 0)
    t.check("trace: memmgr.spawn names ipcbench",
            count(pcap, 'fumi.type_name == "memmgr.spawn" && '
                        'fumi.field.name == "ipcbench"') > 0)

    # Pairs: every delivered reply of these types points back at its request.
    delivered = [r for r in rows if r["fumi.event"] in
                 (str(EVENT_RECV), str(EVENT_FASTPATH), str(EVENT_KCALL))]
    by_frame = {r["frame.number"]: r for r in rows}
    for name in ("kernel.process_info", "console.write", "bench.ping", "ns.lookup"):
        replies = [r for r in delivered if r["fumi.type_name"] == name + ".reply"]
        unpaired = [r["frame.number"] for r in replies
                    if not r["fumi.request_in"] or not r["fumi.latency_ns"]
                    or by_frame.get(r["fumi.request_in"], {}).get("fumi.type_name") != name
                    or by_frame[r["fumi.request_in"]].get("fumi.response_in")
                    != r["frame.number"]]
        t.check("trace: every %s.reply has its request and a latency" % name,
                replies and not unpaired, "%d replies, unpaired %s" % (len(replies),
                                                                        unpaired[:10]))
    info = next((r["_ws.col.Info"] for r in rows if r["fumi.request_in"]), "")
    t.check("trace: Info of a reply says 'reply to #N' and the latency",
            re.search(r"reply to #\d+, [\d.]+ (ns|µs|ms|s)$", info), info)


def test_trace_filter(t):
    if not shutil.which("tshark"):
        return
    pcap = keep(t, fumi_trace.record(t.build, "console", FILTER_WORKLOAD), "trace-console.pcap")
    rows = dissect(t, "trace=console", pcap)
    t.check("trace=console: has records", len(rows) > 10, "%d records" % len(rows))
    others = [r for r in rows if "console" not in (r["fumi.src"], r["fumi.dst"])]
    t.check("trace=console: only messages to or from console", not others,
            "; ".join(r["_ws.col.Info"] for r in others[:5]))
    names = {r["fumi.type_name"] for r in rows}
    t.check("trace=console: console.write is kept, kernel.process_info is not",
            "console.write" in names and "kernel.process_info" not in names, str(sorted(names)))


def malformed_pcap(path):
    """A pcap of broken records, each of which must raise an expert warning."""
    def header(version=1, event=2, header_len=64):
        return struct.pack("<BBHIQiiii16s16s", version, event, header_len, 0, 1000, 3, 2, 1, 7,
                           b"shell", b"console")

    def message(msg_type, length, flags=0, data=b"", size=256):
        m = struct.pack("<IiIiQQ", msg_type << 16 | length | flags, 0, 0, 0, 0, 0) + data
        return (m + bytes(256))[:size]

    records = [
        b"\x01\x02\x40",                                         # shorter than a trace header
        header(header_len=10) + message(0x0501, 202),            # header_len too small
        header(header_len=400) + message(0x0501, 202),           # header_len past the end
        header() + message(0x0501, 300),                         # inline length > 224
        header() + message(0x7f01, 0),                           # unknown type
        header() + message(0x0501, 202, size=20),                # message cut in its header
        header(version=9, event=77) + message(0x0501, 202),      # unknown version and event
        header() + message(0x0501, 202, data=struct.pack("<H", 250)),   # data_len > 200
        header() + message(0x0101, 32, 0x1000, b"A" * 32),      # string without NUL
        header() + message(0x0581, 4, 0x2000, struct.pack("<i", -999)),  # unknown error
        header() + message(0x0282, 0),                           # reply to a oneway message
        b"",                                                     # empty record
        header() + message(0x0501, 7),                           # length not the IDL's
        header(),                                                # no message
        header() + message(0x0501, 202, size=40),                # cut inside the payload
    ]
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 65535, 147))
        for i, r in enumerate(records):
            f.write(struct.pack("<IIII", 0, i, len(r), len(r)) + r)
    return len(records)


def test_trace_malformed_records(t):
    if not shutil.which("tshark"):
        return
    path = os.path.join(t.build, "test-logs", "trace-malformed.pcap")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    n = malformed_pcap(path)
    rows = dissect(t, "trace: malformed records", path)
    t.check("trace: every malformed record is shown", len(rows) == n, "%d of %d" % (len(rows), n))
    quiet = [r["frame.number"] for r in rows if not r["_ws.expert.message"]]
    t.check("trace: every malformed record has an expert warning", not quiet, str(quiet))
    lua = [r["frame.number"] for r in rows if "fumi.lua:" in r["_ws.expert.message"]]
    t.check("trace: no Lua error on malformed records", not lua, str(lua))


def test_trace_plugin_folder(t):
    """Both files copied into ~/.local/lib/wireshark/plugins work with no -X option."""
    if not shutil.which("tshark"):
        return
    with tempfile.TemporaryDirectory() as home:
        plugins = os.path.join(home, ".local", "lib", "wireshark", "plugins")
        os.makedirs(plugins)
        for f in (DISSECTOR, MESSAGES):
            shutil.copy(f, plugins)
        path = os.path.join(home, "one.pcap")
        malformed_pcap(path)
        env = dict(os.environ, HOME=home)
        proc = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "fumi.type_name"],
                              capture_output=True, text=True, timeout=60, env=env)
        t.check("trace: the plugin folder install names messages",
                "console.write" in proc.stdout.split() and not lua_trouble(proc.stderr),
                proc.stdout[-500:] + proc.stderr[-1000:])


def test_trace_notification_names(t):
    """fumi.lua's notification bits are those of libs/common/abi.h."""
    with open(os.path.join(ROOT, "libs", "common", "abi.h")) as f:
        abi = dict(re.findall(r"#define NOTIFY_(\w+)\s+\(1u << (\d+)\)", f.read()))
    with open(DISSECTOR) as f:
        lua = re.findall(r'bit = (0x[0-9a-f]+), name = "(\w+)"', f.read())
    ours = {name: int(bit, 16) for bit, name in lua}
    t.check("trace: fumi.lua knows abi.h's notification bits",
            abi and ours == {name: 1 << int(shift) for name, shift in abi.items()},
            "abi.h %s, fumi.lua %s" % (abi, ours))
