/*
 * The FAT32 core: everything about the on-disk format, with no IPC. It
 * reaches the disk only through struct fat_disk (two functions and a
 * flush), so the same code runs in the fat server (over the blk
 * interface) and in host unit tests and the fuzzer (over an image file).
 *
 * Paths are absolute and '/'-separated, UTF-8; names may be long (VFAT,
 * up to 255 UTF-16 units) or 8.3. All functions return OK or an ERR_*.
 */
#pragma once

#include <common/error.h>
#include <common/types.h>

#define FAT_SECTOR_SIZE 512
#define FAT_NAME_MAX    255 /* bytes of UTF-8 in a name we hand out */
#define FAT_PATH_MAX    1024

/* The seam to the disk: sector numbers are absolute on the device. */
struct fat_disk {
    void *ctx;
    error_t (*read)(void *ctx, uint64_t sector, uint32_t count, void *buf);
    error_t (*write)(void *ctx, uint64_t sector, uint32_t count, const void *buf);
    error_t (*flush)(void *ctx);
    uint64_t sectors;          /* device size */
    uint32_t (*now)(void *ctx);/* seconds since 1980-01-01 local time, for timestamps; may be NULL */
};

#define FAT_OPEN_CREATE   (1u << 0)
#define FAT_OPEN_TRUNCATE (1u << 1)
#define FAT_OPEN_EXCL     (1u << 2)
#define FAT_OPEN_DIR      (1u << 3)

#define FAT_ATTR_READ_ONLY 0x01
#define FAT_ATTR_HIDDEN    0x02
#define FAT_ATTR_SYSTEM    0x04
#define FAT_ATTR_VOLUME_ID 0x08
#define FAT_ATTR_DIRECTORY 0x10
#define FAT_ATTR_ARCHIVE   0x20

struct fat_fs;    /* a mounted volume (fat.c) */
struct fat_file;  /* an open file or directory, shared by all who open it */

struct fat_stat {
    uint64_t size;
    bool is_dir;
    uint32_t attr;
    uint32_t mtime;     /* seconds since 1980-01-01 */
    uint32_t clusters;  /* clusters in its chain */
};

struct fat_dirent {
    char name[FAT_NAME_MAX + 1];
    uint64_t size;
    bool is_dir;
    uint32_t attr;
    uint32_t mtime;
};

struct fat_statfs {
    uint32_t cluster_size;   /* bytes */
    uint32_t total_clusters;
    uint32_t free_clusters;
    char label[12];
};

/* Mount the FAT32 volume of disk: the first FAT32 partition of an MBR
 * (types 0x0b/0x0c), or a volume that starts at sector 0 (no MBR).
 * Validates the BPB and FSInfo; ERR_CORRUPT / ERR_NOT_SUPPORTED if it is
 * not a sane FAT32. cache_blocks: the block cache size in 4 KiB blocks. */
error_t fat_mount(const struct fat_disk *disk, unsigned cache_blocks, struct fat_fs **out);
/* Sync, then free everything (fs is gone even on error), including the
 * struct fat_file of every file still open. */
error_t fat_unmount(struct fat_fs *fs);

/* Whether disk holds the volume fs has mounted: the same device size
 * and, where the volume starts, the same boot sector byte for byte (BPB,
 * volume serial number, label; fat never writes it). OK, ERR_NOT_FOUND
 * for another disk or volume, or the disk's read error. The disk driver
 * restarting (servers/fat/main.c) checks the new one with this before
 * the cache, dirty blocks included, goes on with it. */
error_t fat_same_volume(const struct fat_fs *fs, const struct fat_disk *disk);

/* Open a file or directory. Opening one that is already open returns the
 * same struct fat_file with one more reference; fat_close drops one.
 * FAT_OPEN_CREATE makes a missing file (its parent must exist; a name the
 * FAT rules forbid gives ERR_INVALID_ARG); with FAT_OPEN_EXCL an existing
 * one gives ERR_ALREADY_EXISTS. FAT_OPEN_TRUNCATE empties a file
 * (ERR_IS_DIR on a directory). FAT_OPEN_DIR insists on a directory
 * (ERR_NOT_DIR); without it a directory opens too, but reads and writes on
 * it give ERR_IS_DIR. ERR_CORRUPT if the entry's cluster chain is broken. */
error_t fat_open(struct fat_fs *fs, const char *path, uint32_t flags, struct fat_file **out);
void fat_close(struct fat_fs *fs, struct fat_file *f);
uint64_t fat_file_size(const struct fat_file *f);
bool fat_file_is_dir(const struct fat_file *f);

/* read: *got < len only at the end of the file. write extends the file
 * (a hole reads as zeros) and may write less than len only on error; in
 * this implementation a write is all or nothing (ERR_NO_SPACE leaves the
 * file as it was). Files end below 4 GiB: ERR_TOO_LARGE past that. */
error_t fat_read(struct fat_fs *fs, struct fat_file *f, uint64_t offset, void *buf, size_t len,
                 size_t *got);
error_t fat_write(struct fat_fs *fs, struct fat_file *f, uint64_t offset, const void *buf,
                  size_t len, size_t *written);
error_t fat_truncate(struct fat_fs *fs, struct fat_file *f, uint64_t size);

error_t fat_stat(struct fat_fs *fs, const char *path, struct fat_stat *st);
/* The first entry at or after *index ("." and ".." and volume labels are
 * skipped); *index is set to where to continue. ERR_EOF at the end. */
error_t fat_readdir(struct fat_fs *fs, const char *path, uint32_t *index, struct fat_dirent *out);
error_t fat_mkdir(struct fat_fs *fs, const char *path);
/* rmdir: ERR_NOT_EMPTY, ERR_IN_USE if open, ERR_INVALID_ARG for the root.
 * unlink: files only (ERR_IS_DIR), ERR_IN_USE if open. */
error_t fat_rmdir(struct fat_fs *fs, const char *path);
error_t fat_unlink(struct fat_fs *fs, const char *path);
/* Rename or move a file or directory. An existing file at `to` is
 * replaced; an existing directory is not (ERR_IS_DIR), nor is a file by a
 * directory (ERR_NOT_DIR). ERR_IN_USE if either is open, ERR_LOOP when a
 * directory would move into itself. Renaming to another case of the same
 * name changes the name's case. */
error_t fat_rename(struct fat_fs *fs, const char *from, const char *to);
/* Write every dirty cached block, both FATs and FSInfo, then flush. */
error_t fat_sync(struct fat_fs *fs);
error_t fat_statfs(struct fat_fs *fs, struct fat_statfs *out);
