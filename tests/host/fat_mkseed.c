/*
 * Makes a fuzzer seed: fills a small FAT32 image (made by mkfs.fat, which
 * mtools cannot fill below 65525 clusters) with a tree through the core,
 * then writes it out without its trailing zeros (the fuzzer pads them
 * back).  Usage: fat_mkseed IMAGE OUTPUT.  Used by tests/host/test_fatfuzz.py
 * to regenerate tests/host/fat_corpus/ (see docs/fat.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fat_exercise.h"

static void fill(struct fat_fs *fs) {
    static uint8_t data[3000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t) (i * 13);
    static const struct { const char *path; size_t size; } files[] = {
        {"/README.TXT", 600}, {"/empty", 0}, {"/one", 1}, {"/Docs/A long file name.text", 3000},
        {"/Docs/sub dir/deep.bin", 1500}, {"/Docs/sub dir/x", 10}, {"/deleted.tmp", 100},
    };
    fat_mkdir(fs, "/Docs");
    fat_mkdir(fs, "/Docs/sub dir");
    fat_mkdir(fs, "/EMPTYDIR");
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        struct fat_file *f;
        size_t n;
        if (fat_open(fs, files[i].path, FAT_OPEN_CREATE, &f) != OK)
            continue;
        fat_write(fs, f, 0, data, files[i].size, &n);
        fat_close(fs, f);
    }
    fat_unlink(fs, "/deleted.tmp");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: fat_mkseed IMAGE OUTPUT\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "rb");
    static uint8_t buf[1 << 20];
    size_t size = in ? fread(buf, 1, sizeof(buf), in) : 0;
    if (in)
        fclose(in);
    struct mem_disk m = {buf, size};
    struct fat_disk disk = mem_disk(&m);
    struct fat_fs *fs;
    error_t err = fat_mount(&disk, 8, &fs);
    if (err != OK) {
        fprintf(stderr, "fat_mkseed: mount %s: %s\n", argv[1], err_name(err));
        return 1;
    }
    fill(fs);
    fat_unmount(fs);
    while (size > 0 && buf[size - 1] == 0)
        size--;
    FILE *out = fopen(argv[2], "wb");
    if (!out || fwrite(buf, 1, size, out) != size || fclose(out) != 0) {
        fprintf(stderr, "fat_mkseed: cannot write %s\n", argv[2]);
        return 1;
    }
    return 0;
}
