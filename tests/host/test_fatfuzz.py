"""The FAT32 core's libFuzzer target (tests/host/fat_fuzz.c).

Builds build/host/fat_fuzz with clang, replays the seed corpus in
tests/host/fat_corpus/ and then fuzzes for FAT_FUZZ_SECONDS (default 30).
Passes with a note when clang or its libFuzzer runtime is missing.

    python3 tests/host/test_fatfuzz.py            # run as a unittest
    python3 tests/host/test_fatfuzz.py --regen    # remake the seed corpus
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("FUMI_BUILD", os.path.join(ROOT, "build"))
CORPUS = os.path.join(HERE, "fat_corpus")
FUZZ_CC = os.environ.get("FUZZ_CC", "clang")


def note(text):
    print("note: test_fatfuzz: %s" % text, file=sys.stderr, flush=True)


def fuzzer_available():
    """Can FUZZ_CC link a libFuzzer program? (None, or why not.)"""
    if not shutil.which(FUZZ_CC):
        return "%s not found" % FUZZ_CC
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write("int LLVMFuzzerTestOneInput(const char *d, unsigned long n)"
                    " { return 0; }\n")
        proc = subprocess.run([FUZZ_CC, "-fsanitize=fuzzer,address,undefined", src,
                               "-o", os.path.join(tmp, "probe")], capture_output=True)
        if proc.returncode != 0:
            return "%s has no libFuzzer runtime" % FUZZ_CC
    return None


def make(target):
    return subprocess.run(["make", "-s", "BUILD=" + BUILD, "FUZZ_CC=" + FUZZ_CC, target],
                          cwd=ROOT, capture_output=True, text=True)


def run(cmd, **kw):
    env = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, **kw)


def make_seed(tmp, name, size_kb, mkfs_opts, mbr_lba=0):
    """One seed: mkfs.fat (behind an MBR if mbr_lba), filled by fat_mkseed."""
    img = os.path.join(tmp, name + ".img")
    if mbr_lba:
        with open(img, "wb") as f:
            mbr = bytearray(512)
            entry = bytes([0x80, 0, 0, 0, 0x0C, 0, 0, 0]) + mbr_lba.to_bytes(4, "little") + \
                (size_kb * 2).to_bytes(4, "little")
            mbr[446:462] = entry
            mbr[510:512] = b"\x55\xaa"
            f.write(mbr)
            f.truncate(mbr_lba * 512 + size_kb * 1024)
        cmd = ["mkfs.fat", "-F", "32"] + mkfs_opts + ["--offset", str(mbr_lba), img,
                                                      str(size_kb)]
    else:
        cmd = ["mkfs.fat", "-F", "32"] + mkfs_opts + ["-C", img, str(size_kb)]
    proc = run(cmd)
    if proc.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), proc.stderr))
    proc = run([os.path.join(BUILD, "host", "fat_mkseed"), img, os.path.join(CORPUS, name)])
    if proc.returncode != 0:
        raise RuntimeError("fat_mkseed %s: %s" % (name, proc.stderr))


def regen_corpus():
    proc = make(os.path.join(BUILD, "host", "fat_mkseed"))
    if proc.returncode != 0:
        raise RuntimeError(proc.stdout + proc.stderr)
    os.makedirs(CORPUS, exist_ok=True)
    for old in glob.glob(os.path.join(CORPUS, "*")):
        os.unlink(old)
    with tempfile.TemporaryDirectory() as tmp:
        make_seed(tmp, "tree-64k-512b", 64, ["-s", "1"])
        make_seed(tmp, "tree-128k-512b", 128, ["-s", "1", "-n", "SEED"])
        make_seed(tmp, "tree-120k-2k-one-fat", 120, ["-s", "4", "-f", "1"])
        make_seed(tmp, "mbr-tree-100k", 100, ["-s", "1"], mbr_lba=1)


class FatFuzz(unittest.TestCase):
    def test_replay_corpus_and_fuzz(self):
        why = fuzzer_available()
        if why:
            note("skipped: %s (install clang to fuzz the FAT core)" % why)
            return
        binary = os.path.join(BUILD, "host", "fat_fuzz")
        proc = make(binary)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        seeds = sorted(glob.glob(os.path.join(CORPUS, "*")))
        self.assertTrue(seeds, "no seeds in %s" % CORPUS)
        proc = run([binary] + seeds, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        seconds = int(os.environ.get("FAT_FUZZ_SECONDS", "30"))
        with tempfile.TemporaryDirectory() as work:
            proc = run([binary, "-max_total_time=%d" % seconds, "-timeout=10",
                        "-max_len=262144", "-rss_limit_mb=2048", "-print_final_stats=1",
                        work, CORPUS], timeout=seconds + 300)
        tail = proc.stderr[-3000:]
        self.assertEqual(proc.returncode, 0, tail)
        runs = [l for l in proc.stderr.splitlines() if l.startswith("stat::number_of_executed_units")]
        note("fuzzed %ds: %s" % (seconds, runs[0].split(":")[-1].strip() + " runs" if runs else "?"))


if __name__ == "__main__":
    if sys.argv[1:] == ["--regen"]:
        regen_corpus()
        for path in sorted(glob.glob(os.path.join(CORPUS, "*"))):
            print("%8d %s" % (os.path.getsize(path), os.path.relpath(path, ROOT)))
    else:
        unittest.main()
