/*
 * Helpers for the FAT32 host tests: a disk image file as a struct
 * fat_disk, making images with mkfs.fat (with or without an MBR), running
 * mtools and fsck.fat on them, and a scratch directory removed at exit.
 * Include after check.h.
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../servers/fat/fat.h"

#define FAT_MBR_LBA 2048

struct img {
    int fd;
    uint64_t sectors;
    uint64_t offset; /* byte offset of the volume (0 or 1 MiB) */
    char path[512];
    long reads, writes;
    long fail_after; /* fail I/O after this many more operations; < 0: never */
};

static UNUSED char fat_tmp_[256];

static UNUSED void fat_tmp_cleanup_(void) {
    char cmd[300];
    if (fat_tmp_[0] && !getenv("FAT_TEST_KEEP")) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fat_tmp_);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", fat_tmp_);
    }
}

/* The scratch directory (made on first use). */
static UNUSED const char *fat_tmp(void) {
    if (!fat_tmp_[0]) {
        snprintf(fat_tmp_, sizeof(fat_tmp_), "/tmp/fumi_fat_XXXXXX");
        if (!mkdtemp(fat_tmp_)) {
            perror("mkdtemp");
            exit(1);
        }
        atexit(fat_tmp_cleanup_);
    }
    return fat_tmp_;
}

/* Run a shell command (output to the scratch log); its exit status. */
__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...) {
    char cmd[4096], full[4400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "(PATH=\"$PATH:/usr/sbin:/sbin\"; %s) >>'%s/log' 2>&1", cmd,
             fat_tmp());
    int st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

static UNUSED void img_name(struct img *im, const char *name) {
    memset(im, 0, sizeof(*im));
    im->fd = -1;
    im->fail_after = -1;
    snprintf(im->path, sizeof(im->path), "%s/%s", fat_tmp(), name);
}

/* A fresh FAT32 image of size_kb KiB, behind an MBR (partition at sector
 * 2048, type 0x0c) if mbr. extra: more mkfs.fat options. */
static UNUSED bool img_make(struct img *im, const char *name, unsigned size_kb, bool mbr,
                     const char *extra) {
    img_name(im, name);
    unlink(im->path);
    if (!mbr)
        return sh("mkfs.fat -F 32 %s -C '%s' %u", extra, im->path, size_kb) == 0;
    im->offset = FAT_MBR_LBA * 512ull;
    uint8_t mbr_sec[512] = {0};
    uint8_t *p = mbr_sec + 446;
    uint32_t count = size_kb * 2;
    p[0] = 0x80;
    p[4] = 0x0C;
    memcpy(p + 8, &(uint32_t){FAT_MBR_LBA}, 4);
    memcpy(p + 12, &count, 4);
    mbr_sec[510] = 0x55;
    mbr_sec[511] = 0xAA;
    int fd = open(im->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    bool ok = fd >= 0 && pwrite(fd, mbr_sec, 512, 0) == 512 &&
              ftruncate(fd, (off_t) (im->offset + size_kb * 1024ull)) == 0;
    if (fd >= 0)
        close(fd);
    return ok && sh("mkfs.fat -F 32 %s --offset %d '%s' %u", extra, FAT_MBR_LBA, im->path,
                    size_kb) == 0;
}

static UNUSED error_t img_read(void *ctx, uint64_t sector, uint32_t count, void *buf) {
    struct img *im = ctx;
    im->reads++;
    if (im->fail_after == 0)
        return ERR_IO;
    if (im->fail_after > 0)
        im->fail_after--;
    if (sector >= im->sectors || count > im->sectors - sector)
        return ERR_IO;
    ssize_t n = pread(im->fd, buf, count * 512ull, (off_t) (sector * 512));
    return n == (ssize_t) (count * 512ull) ? OK : ERR_IO;
}

static UNUSED error_t img_write(void *ctx, uint64_t sector, uint32_t count, const void *buf) {
    struct img *im = ctx;
    im->writes++;
    if (im->fail_after == 0)
        return ERR_IO;
    if (im->fail_after > 0)
        im->fail_after--;
    if (sector >= im->sectors || count > im->sectors - sector)
        return ERR_IO;
    ssize_t n = pwrite(im->fd, buf, count * 512ull, (off_t) (sector * 512));
    return n == (ssize_t) (count * 512ull) ? OK : ERR_IO;
}

static UNUSED error_t img_flush(void *ctx) {
    struct img *im = ctx;
    return fsync(im->fd) == 0 ? OK : ERR_IO;
}

/* 2024-05-06 07:08:10 in seconds since 1980-01-01. */
static UNUSED uint32_t img_now(void *ctx) {
    (void) ctx;
    return 1399446490u;
}

static UNUSED struct fat_disk img_open(struct img *im) {
    if (im->fd < 0)
        im->fd = open(im->path, O_RDWR);
    struct stat st;
    im->sectors = im->fd >= 0 && fstat(im->fd, &st) == 0 ? (uint64_t) st.st_size / 512 : 0;
    return (struct fat_disk){.ctx = im, .read = img_read, .write = img_write, .flush = img_flush,
                             .sectors = im->sectors, .now = img_now};
}

static UNUSED void img_close(struct img *im) {
    if (im->fd >= 0)
        close(im->fd);
    im->fd = -1;
}

/* Run an mtools command ("mcopy", "mmd" ...) on the image; args follow -i. */
__attribute__((format(printf, 3, 4))) static int img_mtools(const struct img *im,
                                                            const char *tool,
                                                            const char *fmt, ...) {
    char args[3000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    return sh("MTOOLS_SKIP_CHECK=1 %s -i '%s@@%llu' %s", tool, im->path,
              (unsigned long long) im->offset, args);
}

/* fsck.fat -n on the volume (copied out first if it is behind an MBR). */
static UNUSED bool img_fsck_clean(const struct img *im) {
    if (im->offset == 0)
        return sh("fsck.fat -n '%s'", im->path) == 0;
    return sh("dd if='%s' of='%s.vol' bs=1M skip=%llu status=none && fsck.fat -n '%s.vol'; "
              "r=$?; rm -f '%s.vol'; exit $r",
              im->path, im->path, (unsigned long long) (im->offset >> 20), im->path,
              im->path) == 0;
}

/* Read a host file into a malloc'd buffer; NULL if it cannot. */
static UNUSED uint8_t *host_read_file(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    uint8_t *buf = malloc((size_t) st.st_size + 1);
    ssize_t n = read(fd, buf, (size_t) st.st_size);
    close(fd);
    if (n != st.st_size) {
        free(buf);
        return NULL;
    }
    *len = (size_t) n;
    return buf;
}

static UNUSED bool host_write_file(const char *path, const void *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return false;
    bool ok = write(fd, data, len) == (ssize_t) len;
    close(fd);
    return ok;
}

/* Read the whole file at path through the core; NULL on any error. */
static UNUSED uint8_t *fat_read_all(struct fat_fs *fs, const char *path, size_t *len) {
    struct fat_file *f;
    if (fat_open(fs, path, 0, &f) != OK)
        return NULL;
    size_t size = (size_t) fat_file_size(f), got = 0;
    uint8_t *buf = malloc(size + 1);
    error_t err = fat_read(fs, f, 0, buf, size + 1, &got);
    fat_close(fs, f);
    if (err != OK || got != size) {
        free(buf);
        return NULL;
    }
    *len = size;
    return buf;
}

/* Write data as the whole of file path (created or truncated). */
static UNUSED error_t fat_write_all(struct fat_fs *fs, const char *path, const void *data, size_t len) {
    struct fat_file *f;
    error_t err = fat_open(fs, path, FAT_OPEN_CREATE | FAT_OPEN_TRUNCATE, &f);
    if (err != OK)
        return err;
    size_t n;
    err = fat_write(fs, f, 0, data, len, &n);
    fat_close(fs, f);
    return err;
}

static UNUSED uint64_t rng_state_ = 88172645463325252ull;

static UNUSED uint64_t rnd(void) {
    rng_state_ ^= rng_state_ << 13;
    rng_state_ ^= rng_state_ >> 7;
    rng_state_ ^= rng_state_ << 17;
    return rng_state_;
}

/* Uniform in [0, n) (n > 0). */
static UNUSED uint32_t rnd_below(uint32_t n) {
    return (uint32_t) (rnd() % n);
}

static UNUSED void rnd_fill(uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t) (rnd() >> 24);
}
