/*
 * Mounting and the volume as a whole: finding the FAT32 volume (sector 0
 * or the first FAT32 partition of an MBR), validating its BPB and FSInfo,
 * sync, statfs and unmount.
 *
 * FAT32 is recognised by the BPB layout (no FAT12/16 root directory, a
 * 32-bit FAT size), not by the cluster count: mkfs.fat -F 32 makes FAT32
 * volumes with fewer than 65525 clusters on small disks (64 KiB and up),
 * and Linux and mtools read those as FAT32 too.  Every geometry field is
 * checked against the others and against the device before use; FSInfo's
 * free count and next-free hint are used only when they are in range.
 */
#include "fat_int.h"

#define FSINFO_LEAD   0x41615252u
#define FSINFO_STRUCT 0x61417272u
#define FSINFO_TRAIL  0xAA550000u
#define FSINFO_UNKNOWN 0xFFFFFFFFu

static bool has_signature(const uint8_t *sec) {
    return sec[510] == 0x55 && sec[511] == 0xAA;
}

static bool power_of_two(uint32_t v) {
    return v && !(v & (v - 1));
}

/* Does sec look like a FAT32 boot sector (rather than an MBR)? */
static bool looks_fat32(const uint8_t *sec) {
    bool jump = (sec[0] == 0xEB && sec[2] == 0x90) || sec[0] == 0xE9;
    return jump && get16(sec + 11) == FAT_SECTOR_SIZE && power_of_two(sec[13]) &&
           get16(sec + 14) >= 1 && sec[16] >= 1 && sec[16] <= 2 && get16(sec + 17) == 0 &&
           get16(sec + 22) == 0 && get32(sec + 36) != 0;
}

/* Find the volume: sector 0 itself or the first FAT32 MBR partition. */
static error_t find_volume(const struct fat_disk *disk, uint8_t *sec, uint64_t *lba) {
    if (disk->sectors == 0)
        return ERR_IO;
    error_t err = disk->read(disk->ctx, 0, 1, sec);
    if (err != OK)
        return err;
    *lba = 0;
    if (looks_fat32(sec))
        return OK;
    if (!has_signature(sec))
        return ERR_NOT_SUPPORTED;
    for (int i = 0; i < 4; i++) {
        const uint8_t *p = sec + 446 + 16 * i;
        uint32_t start = get32(p + 8);
        if ((p[4] == 0x0B || p[4] == 0x0C) && start > 0 && start < disk->sectors) {
            *lba = start;
            return disk->read(disk->ctx, start, 1, sec);
        }
    }
    return ERR_NOT_SUPPORTED;
}

/* Is this a FAT32 BPB we can use? NOT_SUPPORTED for other FATs/sector sizes. */
static error_t bpb_kind(const uint8_t *b) {
    uint32_t bps = get16(b + 11);
    if (!has_signature(b))
        return ERR_CORRUPT;
    if (bps != FAT_SECTOR_SIZE)
        return power_of_two(bps) && bps >= 1024 && bps <= 4096 ? ERR_NOT_SUPPORTED : ERR_CORRUPT;
    if (get16(b + 17) != 0 || get16(b + 22) != 0 || get16(b + 42) != 0)
        return ERR_NOT_SUPPORTED; /* FAT12/16 or a FAT32 version we do not know */
    return OK;
}

/* Fill fs's geometry from BPB b; ERR_CORRUPT if any field is insane. */
static error_t bpb_parse(struct fat_fs *fs, const uint8_t *b) {
    error_t err = bpb_kind(b);
    if (err != OK)
        return err;
    fs->spc = b[13];
    fs->reserved = get16(b + 14);
    fs->nfats = b[16];
    fs->total_sectors = get16(b + 19) ? get16(b + 19) : get32(b + 32);
    fs->fat_size = get32(b + 36);
    fs->root = get32(b + 44);
    if (!power_of_two(fs->spc) || fs->spc > 128 || fs->reserved == 0 || fs->nfats < 1 ||
        fs->nfats > 2 || fs->fat_size == 0)
        return ERR_CORRUPT;
    uint64_t data = fs->reserved + (uint64_t) fs->nfats * fs->fat_size;
    if (data >= fs->total_sectors || fs->total_sectors > fs->disk.sectors - fs->lba)
        return ERR_CORRUPT;
    uint64_t clusters = (fs->total_sectors - data) / fs->spc;
    if (clusters == 0 || clusters > FAT_MAX_CLUSTERS ||
        (clusters + 2) * 4 > (uint64_t) fs->fat_size * FAT_SECTOR_SIZE)
        return ERR_CORRUPT;
    fs->data_start = (uint32_t) data;
    fs->clusters = (uint32_t) clusters;
    fs->cluster_size = fs->spc * FAT_SECTOR_SIZE;
    uint16_t ext = get16(b + 40);
    fs->mirror = !(ext & 0x80);
    if (!fs->mirror && (ext & 0x0F) >= fs->nfats)
        return ERR_CORRUPT;
    fs->fat_start = fs->reserved + (fs->mirror ? 0 : (ext & 0x0F) * fs->fat_size);
    if (!cluster_valid(fs, fs->root))
        return ERR_CORRUPT;
    fs->fsinfo = get16(b + 48);
    memcpy(fs->bpb_label, b[66] == 0x29 ? b + 71 : (const uint8_t *) "           ", 11);
    return OK;
}

/* Use FSInfo's hints if its signatures hold and its values are in range. */
static error_t fsinfo_load(struct fat_fs *fs) {
    fs->free_count = UINT32_MAX;
    fs->next_free = 2;
    if (fs->fsinfo == 0 || fs->fsinfo >= fs->reserved || fs->fsinfo == 0xFFFF) {
        fs->fsinfo = 0;
        return OK;
    }
    uint8_t *s;
    error_t err = cache_sector(fs, fs->fsinfo, false, &s);
    if (err != OK)
        return err;
    if (get32(s) != FSINFO_LEAD || get32(s + 484) != FSINFO_STRUCT ||
        get32(s + 508) != FSINFO_TRAIL) {
        fs->fsinfo = 0;
        return OK;
    }
    if (get32(s + 488) <= fs->clusters)
        fs->free_count = get32(s + 488);
    if (cluster_valid(fs, get32(s + 492)))
        fs->next_free = get32(s + 492);
    return OK;
}

static void fs_free(struct fat_fs *fs) {
    file_close_all(fs);
    cache_destroy(fs);
    free(fs);
}

error_t fat_mount(const struct fat_disk *disk, unsigned cache_blocks, struct fat_fs **out) {
    *out = NULL;
    struct fat_fs *fs = calloc(1, sizeof(*fs));
    uint8_t *sec = malloc(FAT_SECTOR_SIZE);
    error_t err = fs && sec ? OK : ERR_NO_MEMORY;
    if (err == OK) {
        fs->disk = *disk;
        err = find_volume(disk, sec, &fs->lba);
    }
    if (err == OK)
        err = bpb_parse(fs, sec);
    if (err == OK) {
        memcpy(fs->boot, sec, FAT_SECTOR_SIZE);
        err = cache_init(fs, cache_blocks);
    }
    if (err == OK)
        err = fsinfo_load(fs);
    free(sec);
    if (err != OK) {
        if (fs)
            fs_free(fs);
        return err;
    }
    *out = fs;
    return OK;
}

error_t fat_same_volume(const struct fat_fs *fs, const struct fat_disk *disk) {
    if (disk->sectors != fs->disk.sectors)
        return ERR_NOT_FOUND;
    uint8_t *sec = malloc(FAT_SECTOR_SIZE);
    if (!sec)
        return ERR_NO_MEMORY;
    error_t err = disk->read(disk->ctx, fs->lba, 1, sec);
    if (err == OK && memcmp(sec, fs->boot, FAT_SECTOR_SIZE) != 0)
        err = ERR_NOT_FOUND;
    free(sec);
    return err;
}

/* Put the free count and next-free hint into the cached FSInfo sector. */
static error_t fsinfo_store(struct fat_fs *fs) {
    if (fs->fsinfo == 0 || !fs->fsinfo_dirty)
        return OK;
    uint8_t *s;
    error_t err = cache_sector(fs, fs->fsinfo, true, &s);
    if (err != OK)
        return err;
    put32(s + 488, fs->free_count == UINT32_MAX ? FSINFO_UNKNOWN : fs->free_count);
    put32(s + 492, cluster_valid(fs, fs->next_free) ? fs->next_free : FSINFO_UNKNOWN);
    fs->fsinfo_dirty = false;
    return OK;
}

error_t fat_sync(struct fat_fs *fs) {
    error_t err = fsinfo_store(fs);
    error_t err2 = cache_flush(fs);
    error_t err3 = fs->disk.flush ? fs->disk.flush(fs->disk.ctx) : OK;
    return err != OK ? err : err2 != OK ? err2 : err3;
}

error_t fat_unmount(struct fat_fs *fs) {
    error_t err = fat_sync(fs);
    fs_free(fs);
    return err;
}

error_t fat_statfs(struct fat_fs *fs, struct fat_statfs *out) {
    error_t err = fs->free_count == UINT32_MAX ? fat_count_free(fs) : OK;
    if (err == OK)
        err = dir_label(fs, out->label);
    out->cluster_size = fs->cluster_size;
    out->total_clusters = fs->clusters;
    out->free_clusters = fs->free_count == UINT32_MAX ? 0 : fs->free_count;
    return err;
}
