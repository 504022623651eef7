"""ipcbench prints its one JSON line (no timing is asserted here: numbers
belong to make bench)."""
import json
import re

from guest import Guest


def test_ipcbench_json(t):
    g = Guest(t.build, "ipcbench")
    try:
        g.wait_prompt(30)
        out = g.command("ipcbench", timeout=300)
        m = re.search(r"^\{.*\"bench\":\"ipc_roundtrip\".*\}$", out, re.M)
        t.check("ipcbench: prints a JSON line", m, out)
        if not m:
            return
        r = json.loads(m.group(0))
        t.check("ipcbench: iterations", r.get("iterations", 0) >= 1000, str(r))
        for path in ("fastpath", "slowpath"):
            v = r.get(path, {})
            t.check("ipcbench: %s min <= median" % path,
                    isinstance(v.get("min"), int) and 0 < v["min"] <= v["median"], str(r))
        t.check("ipcbench: unit and emulator",
                r.get("unit") == "tsc_ticks" and r.get("emulator") == "qemu-tcg", str(r))
        t.check("ipcbench: benchsrv is gone afterwards", "benchsrv" not in g.command("ps"))
    finally:
        g.close()
