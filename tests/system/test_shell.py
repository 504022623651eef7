"""Boot to the shell and use it: ps, echo, help, uptime, line editing,
history, bad input. One guest for the whole module."""
import re
import time

from guest import Guest

BOOT_SECONDS = 30


def test_boot_and_shell(t):
    start = time.monotonic()
    g = Guest(t.build, "shell")
    try:
        g.wait_prompt(BOOT_SECONDS)
        t.check("shell: boots to the prompt", True, "")
        print("  boot to prompt: %.1fs" % (time.monotonic() - start))

        out = g.command("ps")
        for name in ("memmgr", "console", "shell"):
            t.check("shell: ps lists %s" % name,
                    re.search(r"^\s*\d+\s+%s\s+alive\s+\d+\s+\d+" % name, out, re.M), out)
        t.check("shell: ps has a header", "PID" in out and "CHANNELS" in out, out)

        out = g.command('echo hello   "big world"')
        t.check("shell: echo", out.strip() == "hello big world", repr(out))

        out = g.command("help")
        for cmd in ("echo", "ps", "uptime", "kill", "ipcbench", "run", "help"):
            t.check("shell: help mentions %s" % cmd, re.search(r"\b%s\b" % cmd, out), out)

        out = g.command("uptime")
        t.check("shell: uptime", re.search(r"up \d+:\d\d:\d\d", out), out)

        out = g.command("frobnicate")
        t.check("shell: unknown command", "unknown command: frobnicate" in out, out)

        # Backspace, then Ctrl-U clearing a line, then arrows inserting mid-line.
        start_mark = g.mark()
        g.send("ecx\x7fho edited\r")
        g.expect(r"\nedited\n", 10, start_mark)
        t.check("shell: backspace edits the line", True)
        g.send("garbage\x15echo cleared\r")
        g.expect(r"\ncleared\n", 10, start_mark)
        t.check("shell: ctrl-u clears the line", True)
        g.send("echo ac\x1b[Db\r")
        g.expect(r"\nabc\n", 10, start_mark)
        t.check("shell: left arrow inserts mid-line", True)
        mark = g.mark()
        g.send("\x1b[A\r")
        g.expect(r"\nabc\n", 10, mark)
        t.check("shell: up arrow recalls history", True)
        g.wait_prompt()

        out = g.command("kill nosuchprocess")
        t.check("shell: kill of an unknown name fails cleanly", "ERR_NOT_FOUND" in out, out)
        out = g.command("run nosuchprogram")
        t.check("shell: run of an unknown program fails cleanly", "ERR_NOT_FOUND" in out, out)

        g.send("\x01\x02\x03\x1b[99~\x1b\x1b[Z\x7f\x7f\x7f\r")
        out = g.command("echo still here")
        t.check("shell: survives control bytes and stray escapes", "still here" in out, out)
    finally:
        g.close()
