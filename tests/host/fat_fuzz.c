/*
 * libFuzzer target for the FAT32 core: the input is the start of a disk
 * (zero-padded to at least 128 KiB), held in memory.  It is mounted with
 * a 4-block cache, every directory is walked and every file read, a few
 * files and directories are created, written, renamed and removed, and
 * the volume is synced and unmounted.  Seeds: tests/host/fat_corpus/.
 * Build: make build/host/fat_fuzz (clang); see docs/fat.md.
 */
#include <stdlib.h>
#include <string.h>

#include "fat_exercise.h"

#define DISK_MIN (128u * 1024u)
#define DISK_MAX (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > DISK_MAX)
        return 0;
    size_t disk_size = (size + 511) / 512 * 512;
    if (disk_size < DISK_MIN)
        disk_size = DISK_MIN;
    uint8_t *buf = calloc(disk_size, 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    struct mem_disk m = {buf, disk_size};
    struct fat_disk disk = mem_disk(&m);
    struct exercise_stats st = {0};
    fat_exercise(&disk, 4, &st);
    free(buf);
    return 0;
}
