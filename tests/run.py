#!/usr/bin/env python3
"""Fumi's test runner: every test, one summary.

1. Host unit tests: each build/host/test_* binary (C, built with ASan and
   UBSan) prints PASS/FAIL lines; tests/host/test_genidl.py is a unittest
   suite.
2. System tests: every function test_*(t) in tests/system/test_*.py, in
   file order. They boot Fumi in QEMU (TCG) and drive its serial shell; the
   in-guest program ktest reports its own PASS/FAIL lines, which count here.
   With --ubsan-build they all run again on the UBSan build ("ubsan: ").
   Any UBSan report or kernel panic in a guest's log fails its test, unless
   the test asked for it.

Ends with the line "N passed, N failed" and exits non-zero on any failure.
Usage: run.py [--build DIR] [--ubsan-build DIR] [-k SUBSTRING]
              [--host-only | --system-only]
"""
import argparse
import glob
import importlib.util
import os
import subprocess
import sys
import time
import traceback
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from guest import Guest  # noqa: E402


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("PASS %s" % name, flush=True)
        else:
            self.failed.append(name)
            print("FAIL %s%s" % (name, (": " + detail) if detail else ""), flush=True)
        return ok

    def count_lines(self, prefix, text):
        """Record the PASS/FAIL lines a program printed; return how many."""
        n = 0
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("PASS "):
                self.check(prefix + line[5:], True)
                n += 1
            elif line.startswith("FAIL "):
                name, _, why = line[5:].partition(": ")
                self.check(prefix + name, False, why)
                n += 1
        return n


class Context:
    """What a system test gets: the results (names get the prefix), the
    build directory, and whether it is a UBSan build."""

    def __init__(self, results, build, prefix="", ubsan=False):
        self.results = results
        self.build = build
        self.prefix = prefix
        self.ubsan = ubsan

    def check(self, name, ok, detail=""):
        return self.results.check(self.prefix + name, ok, detail)

    def count_lines(self, prefix, text):
        return self.results.count_lines(self.prefix + prefix, text)


def run_host_tests(results, build):
    binaries = sorted(glob.glob(os.path.join(build, "host", "test_*")))
    for binary in binaries:
        name = os.path.basename(binary)
        proc = subprocess.run([binary], capture_output=True, text=True, timeout=300)
        n = results.count_lines("host: ", proc.stdout)
        results.check("host: %s exits cleanly" % name, proc.returncode == 0 and n > 0,
                      "exit %d, %d checks\n%s" % (proc.returncode, n, proc.stderr[-2000:]))
    suite = unittest.defaultTestLoader.discover(os.path.join(ROOT, "tests", "host"),
                                                pattern="test_*.py",
                                                top_level_dir=os.path.join(ROOT, "tests", "host"))
    suite.run(RecordingResult(results))


class RecordingResult(unittest.TestResult):
    """Reports each unittest outcome as a PASS/FAIL line of ours."""

    def __init__(self, results):
        super().__init__()
        self.results = results

    def addSuccess(self, test):
        self.results.check("host: %s" % test.id(), True)

    def addFailure(self, test, err):
        self.results.check("host: %s" % test.id(), False, self._exc_info_to_string(err, test))

    def addError(self, test, err):
        self.addFailure(test, err)


def load_system_tests(selector):
    tests = []
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "system", "test_*.py"))):
        spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, fn in sorted(vars(module).items(), key=lambda kv: getattr(
                kv[1], "__code__", None) and kv[1].__code__.co_firstlineno or 0):
            full = "%s.%s" % (module.__name__, name)
            if name.startswith("test_") and callable(fn) and (not selector or selector in full):
                tests.append((full, fn))
    return tests


def run_system_tests(results, build, selector, prefix="", ubsan=False):
    ctx = Context(results, build, prefix, ubsan)
    for name, fn in load_system_tests(selector):
        start = time.monotonic()
        try:
            fn(ctx)
        except Exception:
            ctx.check(name, False, traceback.format_exc()[-2500:])
        for guest, line in Guest.problems:
            ctx.check("%s: no UBSan report or panic in %s" % (name, guest), False, line)
        Guest.problems.clear()
        print("  (%s%s: %.1fs)" % (prefix, name, time.monotonic() - start), flush=True)


def main():
    ap = argparse.ArgumentParser(description="Run Fumi's tests.")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--ubsan-build", help="also run the system tests on this UBSan build")
    ap.add_argument("-k", dest="selector", help="only system tests whose name contains this")
    ap.add_argument("--host-only", action="store_true")
    ap.add_argument("--system-only", action="store_true")
    args = ap.parse_args()
    os.chdir(ROOT)
    results = Results()
    start = time.monotonic()
    if not args.system_only and not args.selector:
        run_host_tests(results, args.build)
    if not args.host_only:
        run_system_tests(results, args.build, args.selector)
        if args.ubsan_build:
            run_system_tests(results, args.ubsan_build, args.selector, "ubsan: ", True)
    if results.failed:
        print("\nFailed:\n  " + "\n  ".join(results.failed))
    print("\n(%.0f s)" % (time.monotonic() - start))
    print("%d passed, %d failed" % (results.passed, len(results.failed)))
    sys.exit(1 if results.failed else 0)


if __name__ == "__main__":
    main()
