/*
 * Shared by the corrupt-image tests and the fuzzer: an in-memory disk,
 * and fat_exercise(), which walks a mounted volume (every directory, every
 * file read to its end, with bounds so a corrupt tree cannot keep it busy
 * for long) and then tries a few changes.  Any error is fine here; a
 * crash, a sanitizer report or a hang is not.
 */
#pragma once

#include <stdio.h>
#include <string.h>

#include "../../servers/fat/fat.h"

struct mem_disk {
    uint8_t *data;
    size_t size;
};

static UNUSED error_t mem_read(void *ctx, uint64_t sector, uint32_t count, void *buf) {
    struct mem_disk *m = ctx;
    if (sector * 512 > m->size || (uint64_t) count * 512 > m->size - sector * 512)
        return ERR_IO;
    memcpy(buf, m->data + sector * 512, count * 512ull);
    return OK;
}

static UNUSED error_t mem_write(void *ctx, uint64_t sector, uint32_t count, const void *buf) {
    struct mem_disk *m = ctx;
    if (sector * 512 > m->size || (uint64_t) count * 512 > m->size - sector * 512)
        return ERR_IO;
    memcpy(m->data + sector * 512, buf, count * 512ull);
    return OK;
}

static UNUSED error_t mem_flush(void *ctx) {
    (void) ctx;
    return OK;
}

static UNUSED struct fat_disk mem_disk(struct mem_disk *m) {
    return (struct fat_disk){.ctx = m, .read = mem_read, .write = mem_write, .flush = mem_flush,
                             .sectors = m->size / 512};
}

struct exercise_stats {
    unsigned dirs, files, bytes_read, entries;
};

static UNUSED void exercise_file(struct fat_fs *fs, const char *path, struct exercise_stats *st) {
    struct fat_file *f;
    static uint8_t buf[8192];
    if (fat_open(fs, path, 0, &f) != OK)
        return;
    st->files++;
    uint64_t off = 0;
    size_t got = 0;
    while (off < (1u << 20) && fat_read(fs, f, off, buf, sizeof(buf), &got) == OK && got > 0) {
        off += got;
        st->bytes_read += (unsigned) got;
    }
    fat_close(fs, f);
}

static UNUSED void exercise_dir(struct fat_fs *fs, const char *path, int depth,
                         struct exercise_stats *st) {
    struct fat_dirent de;
    uint32_t index = 0;
    st->dirs++;
    for (int n = 0; n < 300 && st->entries < 3000; n++) {
        if (fat_readdir(fs, path, &index, &de) != OK)
            break;
        st->entries++;
        char sub[FAT_PATH_MAX];
        if ((size_t) snprintf(sub, sizeof(sub), "%s/%s", strcmp(path, "/") ? path : "", de.name) >=
            sizeof(sub))
            continue;
        struct fat_stat s;
        if (fat_stat(fs, sub, &s) != OK)
            continue;
        if (s.is_dir && depth < 6)
            exercise_dir(fs, sub, depth + 1, st);
        else if (!s.is_dir)
            exercise_file(fs, sub, st);
    }
}

/* The first entry of the root, as a path in out; false if there is none. */
static UNUSED bool first_root_entry(struct fat_fs *fs, char *out, size_t n, bool *is_dir) {
    struct fat_dirent de;
    uint32_t index = 0;
    if (fat_readdir(fs, "/", &index, &de) != OK)
        return false;
    snprintf(out, n, "/%s", de.name);
    *is_dir = de.is_dir;
    return true;
}

static UNUSED void exercise_changes(struct fat_fs *fs) {
    static const char text[] = "The quick brown fox jumps over the lazy dog.";
    struct fat_file *f;
    size_t n;
    char path[FAT_PATH_MAX + 8];
    bool is_dir;
    fat_mkdir(fs, "/fuzz dir");
    if (fat_open(fs, "/fuzz dir/a file.txt", FAT_OPEN_CREATE, &f) == OK) {
        fat_write(fs, f, 0, text, sizeof(text), &n);
        fat_write(fs, f, 3000, text, sizeof(text), &n);
        fat_truncate(fs, f, 100);
        fat_close(fs, f);
    }
    fat_rename(fs, "/fuzz dir/a file.txt", "/B.TXT");
    if (first_root_entry(fs, path, sizeof(path), &is_dir)) {
        if (fat_open(fs, path, 0, &f) == OK) {
            fat_write(fs, f, fat_file_size(f), text, 10, &n);
            fat_close(fs, f);
        }
        fat_rename(fs, path, "/fuzz dir/moved");
        if (is_dir)
            fat_rmdir(fs, "/fuzz dir/moved");
        else
            fat_unlink(fs, "/fuzz dir/moved");
    }
    fat_unlink(fs, "/B.TXT");
    fat_rmdir(fs, "/fuzz dir");
    struct fat_statfs sf;
    fat_statfs(fs, &sf);
    fat_sync(fs);
}

/* Mount disk, walk it, change it, unmount. The mount's result. */
static UNUSED error_t fat_exercise(const struct fat_disk *disk, unsigned cache,
                            struct exercise_stats *st) {
    struct fat_fs *fs;
    error_t err = fat_mount(disk, cache, &fs);
    if (err != OK)
        return err;
    exercise_dir(fs, "/", 0, st);
    exercise_changes(fs);
    exercise_dir(fs, "/", 0, st);
    fat_unmount(fs);
    return OK;
}
