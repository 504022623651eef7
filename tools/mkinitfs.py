#!/usr/bin/env python3
"""Pack files into the initfs archive linked into the kernel.

Usage: mkinitfs.py -o OUT NAME=PATH ...

Layout (little endian, see struct initfs_header / initfs_file in
libs/common/abi.h): a header (magic "FIFS", file count, total size), one
entry per file (32-byte NUL-padded name, offset, size), then the file
contents, each starting at a 16-byte aligned offset.
"""
import argparse
import struct
import sys

MAGIC = 0x53464946
NAME_MAX = 32


def pack(files):
    header_size = 16 + len(files) * (NAME_MAX + 16)
    offset = (header_size + 15) & ~15
    entries, blobs = [], []
    for name, data in files:
        if len(name.encode()) >= NAME_MAX:
            sys.exit("mkinitfs: name too long: %s" % name)
        entries.append(struct.pack("<32sQQ", name.encode(), offset, len(data)))
        pad = (-len(data)) % 16
        blobs.append(data + b"\0" * pad)
        offset += len(data) + pad
    head = struct.pack("<IIQ", MAGIC, len(files), offset) + b"".join(entries)
    head += b"\0" * ((-len(head)) % 16)
    return head + b"".join(blobs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("files", nargs="+", metavar="NAME=PATH")
    args = ap.parse_args()
    files = []
    for spec in args.files:
        name, _, path = spec.partition("=")
        with open(path, "rb") as f:
            files.append((name, f.read()))
    with open(args.output, "wb") as f:
        f.write(pack(files))


if __name__ == "__main__":
    main()
