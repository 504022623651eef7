"""The debugging aids catch what they are for: kernel-stack canaries, the
stack protector, kernel stack guard pages, KASSERT and (in UBSan builds)
UBSan, each with a symbolised backtrace; deliberate undefined behaviour in
a user program; and Fumi boots in Bochs with port 0xe9 output and a magic
breakpoint."""
import os
import re
import sys

from guest import Guest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import bochs  # noqa: E402

SELFTESTS = {
    "canary": r"kstack_canary_check: the kernel stack of thread \d+ \(kernel\) overflowed",
    "stackprotector": r"__stack_chk_fail: kernel stack smashing detected",
    "overflow": r"double fault: a kernel stack probably ran into its guard page",
    "kassert": r"kselftest: invariant broken: what\[0\] == '!' \(kernel/debug.c:\d+\)",
}


def kernel_selftest(t, what, pattern, symbol):
    g = Guest(t.build, "kselftest-" + what, "kselftest=" + what, expect_reports=True)
    try:
        g.expect(pattern, 30)
        g.expect(r"halted", 30)
        status = g.wait_exit(30)
        t.check("kselftest=%s: caught" % what, True)
        t.check("kselftest=%s: backtrace names %s" % (what, symbol),
                re.search(r"#\d+ 0x[0-9a-f]+ %s" % symbol, g.buf), g.buf[-800:])
        t.check("kselftest=%s: QEMU powered off with the panic code" % what, status == 255,
                "exit status %s" % status)
    finally:
        g.close()


def test_kernel_selftests(t):
    symbols = {"canary": "kstack_canary_broken", "stackprotector": "__stack_chk_fail",
               "overflow": "recurse_forever", "kassert": "kselftest"}
    for what, pattern in SELFTESTS.items():
        kernel_selftest(t, what, pattern, symbols[what])
    if t.ubsan:
        kernel_selftest(t, "ubsan", r"UBSAN: shift out of bounds: 1 << 40 .* at kernel/debug.c",
                        "ubsan_stop")


def test_user_stack_and_ubsan(t):
    g = Guest(t.build, "debug-user")
    try:
        g.wait_prompt(30)
        out = g.command("run faulter smash")
        t.check("stack protector stops a user program",
                "stack smashing detected" in out and "cause exit code -71" in out, out)
        for what, check in (("shift", "shift out of bounds: 1 << 40"),
                            ("overflow", "signed integer overflow: 2147483647 + 1"),
                            ("bounds", "index 7 out of bounds"),
                            ("divide", "division overflow or by zero"),
                            ("misaligned", "misaligned address")):
            out = g.command("run ubsantest " + what)
            if t.ubsan:
                t.check("ubsan reports %s with file and line" % what,
                        re.search(r"ubsantest: UBSAN: .*%s.* at servers/ubsantest/main.c:\d+"
                                  % re.escape(check), out) and "cause exit code -70" in out, out)
            elif what != "divide":
                t.check("without UBSan, %s goes unreported" % what, "was not reported" in out,
                        out)
        out = g.command("ps")
        t.check("the shell survives them all", re.search(r"\sshell\s+alive", out), out)
    finally:
        g.close()


def test_bochs_boot(t):
    serial = bochs.run(t.build, "e9 bochsbreak", until=r"fumi> ", timeout=300,
                       name="bochs-test")
    t.check("bochs: boots to the shell prompt", "fumi> " in serial, serial[-800:])
    with open(os.path.join(t.build, "bochs-test", "console.txt"), errors="replace") as f:
        console = f.read()
    t.check("bochs: kernel log on port 0xe9", "[kernel] Fumi booting" in console, console[-800:])
    t.check("bochs: magic breakpoint stops the debugger", "Magic breakpoint" in console,
            console[-800:])
