"""Drive a Fumi guest in QEMU through its serial console.

A Guest boots build/kernel.elf (or a disk or ISO image) under QEMU's TCG,
collects everything the guest writes to COM1 in a background thread, and
offers expect() and command() to talk to the shell. The full serial log of
every guest is kept in build/test-logs/ for debugging failed runs.
"""
import os
import re
import socket
import subprocess
import threading
import time

PROMPT = "fumi> "
# A whole log line of a server or the kernel ("httpd: ...", "[kernel] ...").
# Servers print whole lines at any time, so one may land between two
# characters of the shell's echo of a typed command.
LOG_LINE = r"(?:(?:[a-z0-9]+: |\[kernel\] )[^\n]*\n)*"


def echo_pattern(line):
    """The shell's echo of line, with log lines allowed anywhere inside."""
    return LOG_LINE.join(re.escape(c) for c in line) + r"\n"


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (for hostfwd)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class GuestError(Exception):
    pass


# Programs whose UBSan reports are deliberate (they test the runtime).
DELIBERATE_UB = ("faulter:", "ubsantest:")


def problems_in(log):
    """Lines of a serial log that fail any test: UBSan reports (except the
    deliberate ones) and kernel panics."""
    return [line for line in log.splitlines()
            if ("UBSAN:" in line and not line.startswith(DELIBERATE_UB)) or "PANIC" in line]


class Guest:
    # Problems (see problems_in) of every guest closed so far, for the runner.
    problems = []

    def __init__(self, build, name, cmdline="", mem=256, kernel=True, extra=(), qemu=None,
                 expect_reports=False, nic="e1000"):
        self.name = name
        self.expect_reports = expect_reports  # a test that breaks things on purpose
        self.buf = ""
        self.lock = threading.Condition()
        os.makedirs(os.path.join(build, "test-logs"), exist_ok=True)
        self.log = open(os.path.join(build, "test-logs", name + ".log"), "w")
        args = [qemu or os.environ.get("QEMU", "qemu-system-x86_64"),
                "-m", str(mem), "-display", "none", "-no-reboot", "-serial", "stdio",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
        if kernel:
            args += ["-kernel", os.path.join(build, "kernel.elf"), "-append", cmdline]
        args += list(extra) + self.network(nic, extra)
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    @staticmethod
    def network(nic, extra):
        """The standard machine's NIC: a nic (QEMU device name) on QEMU's
        user-mode network (slirp: the guest is 10.0.2.15, the host 10.0.2.2),
        none with nic=None, or whatever the test's own extra arguments set
        up (a -netdev of its own, e.g. with a capture filter)."""
        if any(a in ("-nic", "-net", "-netdev") for a in extra):
            return []
        if not nic:
            return ["-nic", "none"]
        return ["-netdev", "user,id=n0", "-device", "%s,netdev=n0" % nic]

    def _read(self):
        while True:
            data = self.proc.stdout.read1(4096)
            if not data:
                break
            text = data.decode("utf-8", "replace").replace("\r", "")
            self.log.write(text)
            self.log.flush()
            with self.lock:
                self.buf += text
                self.lock.notify_all()
        with self.lock:
            self.lock.notify_all()

    def expect(self, pattern, timeout=30, start=0):
        """Wait until pattern (a regex) appears in the output after start."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                m = regex.search(self.buf, start)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and not self.reader.is_alive():
                    tail = self.buf[-600:]
                    raise GuestError("%s: no %r within %ss; last output:\n%s"
                                     % (self.name, pattern, timeout, tail))
                self.lock.wait(min(left, 0.5))

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def mark(self):
        with self.lock:
            return len(self.buf)

    def command(self, line, timeout=30):
        """Type line at the prompt; return what the command printed.

        If the guest shows nothing at all within 20 s, the line is typed once
        more (and that is logged): serial input has been seen to get lost
        under load, an open problem of the console's input path."""
        start = self.mark()
        self.send(line + "\r")
        try:
            echo = self.expect(echo_pattern(line), min(timeout, 20), start)
        except GuestError:
            if self.mark() != start:
                raise
            self.log.write("\n[guest.py: no echo of %r; typing it again]\n" % line)
            self.send(line + "\r")
            echo = self.expect(echo_pattern(line), timeout, start)
        end = self.expect(re.escape(PROMPT), timeout, echo.end())
        return self.buf[echo.end():end.start()]

    def wait_prompt(self, timeout=60):
        """Wait for the shell, for the fat server to have mounted a disk or
        given up, for the e1000 driver to have reported and, with a NIC, for
        httpd to listen, DHCP to give an address and httpd to say it is
        ready (their log lines would otherwise land in the middle of the
        first commands' echo)."""
        m = self.expect(re.escape(PROMPT), timeout)
        self.expect(r"fat: mounted|memmgr: fat \(pid \d+\) exited", timeout)
        nic = self.expect(r"e1000: (no device)?", timeout)
        if not nic.group(1):  # then the network comes up: tcpip, httpd, DHCP
            self.expect(r"httpd: serving|httpd: no|httpd: cannot", timeout)
            self.expect(r"tcpip: dhcp: bound|tcpip: static", timeout)
            self.expect(r"httpd: ready: ", timeout)
        return m

    def wait_exit(self, timeout=60):
        """Wait for the guest to power off by itself; return QEMU's status."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise GuestError("%s: still running after %ss" % (self.name, timeout))

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.reader.join(timeout=5)
        self.log.close()
        if not self.expect_reports:
            Guest.problems += [(self.name, line) for line in problems_in(self.buf)]
        return self.proc.returncode
