#!/usr/bin/env python3
"""Make a raw disk image: an MBR with one FAT32 partition, filled from a folder.

Usage: mkdisk.py OUT --size MIB [--dir DIR] [--label NAME] [--bootable]

No loop devices or mounts: the MBR is written here, mkfs.fat formats the
partition in place (--offset) and mtools copies the folder's files in. The
cluster size is the largest (up to 4 KiB) that still gives the volume the
65525 clusters FAT32 requires.
"""
import argparse
import os
import struct
import subprocess
import sys

SECTOR = 512
PART_START = 2048  # sectors: 1 MiB, room for a boot loader


def write_mbr(path, total_sectors, bootable):
    count = total_sectors - PART_START
    entry = struct.pack("<B3sB3sII", 0x80 if bootable else 0, b"\xfe\xff\xff", 0x0c,
                        b"\xfe\xff\xff", PART_START, count)
    with open(path, "r+b") as f:
        f.seek(446)
        f.write(entry + b"\0" * 48 + b"\x55\xaa")
    return count


def cluster_sectors(part_sectors):
    for spc in (8, 4, 2, 1):
        if part_sectors // spc >= 66000:
            return spc
    sys.exit("mkdisk: %d sectors are too few for FAT32" % part_sectors)


def mtools(cmd, image, *args):
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    subprocess.run([cmd, "-i", "%s@@%d" % (image, PART_START * SECTOR)] + list(args),
                   check=True, env=env, capture_output=True)


def copy_tree(image, root):
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        target = "::/" + ("" if rel == "." else rel.replace(os.sep, "/") + "/")
        for d in sorted(dirnames):
            mtools("mmd", image, target + d)
        for name in sorted(filenames):
            mtools("mcopy", image, os.path.join(dirpath, name), target + name)


def make_disk(out, size_mib, folder=None, label="FUMI", bootable=False):
    total = size_mib * 1024 * 1024 // SECTOR
    with open(out, "wb") as f:
        f.truncate(total * SECTOR)
    part = write_mbr(out, total, bootable)
    subprocess.run(["mkfs.fat", "-F", "32", "-n", label, "-s", str(cluster_sectors(part)),
                    "--offset", str(PART_START), out, str(part * SECTOR // 1024)],
                   check=True, capture_output=True)
    if folder:
        copy_tree(out, folder)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=64, help="MiB")
    ap.add_argument("--dir", help="folder whose contents go into the root")
    ap.add_argument("--label", default="FUMI")
    ap.add_argument("--bootable", action="store_true")
    args = ap.parse_args()
    make_disk(args.out, args.size, args.dir, args.label, args.bootable)


if __name__ == "__main__":
    main()
