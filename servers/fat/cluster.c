/*
 * The file allocation table: reading and writing 28-bit entries, walking
 * and freeing cluster chains, and allocating clusters.
 *
 * Every walk is bounded by the cluster count, so a chain that loops or
 * points outside the data area ends in ERR_CORRUPT instead of a hang.
 * Allocation searches from the next-free hint and wraps once around the
 * FAT; chain_alloc gets all n clusters or none (it frees what it took
 * when the disk fills), so a failed write never leaves clusters allocated
 * but unlinked.  The free count is kept exact once it is known (from a
 * sane FSInfo or from counting) and written back to FSInfo on sync.
 */
#include "fat_int.h"

bool cluster_valid(const struct fat_fs *fs, uint32_t c) {
    return c >= 2 && c - 2 < fs->clusters;
}

uint32_t cluster_sector(const struct fat_fs *fs, uint32_t c) {
    return fs->data_start + (c - 2) * fs->spc;
}

static error_t fat_get(struct fat_fs *fs, uint32_t c, uint32_t *val) {
    uint8_t *sec;
    error_t err = cache_sector(fs, fs->fat_start + c / (FAT_SECTOR_SIZE / 4), false, &sec);
    if (err != OK)
        return err;
    *val = get32(sec + (c % (FAT_SECTOR_SIZE / 4)) * 4) & FAT_ENTRY_MASK;
    return OK;
}

/* Set entry c, keeping the 4 reserved high bits; track the free count. */
static error_t fat_set(struct fat_fs *fs, uint32_t c, uint32_t val) {
    uint8_t *sec;
    error_t err = cache_sector(fs, fs->fat_start + c / (FAT_SECTOR_SIZE / 4), true, &sec);
    if (err != OK)
        return err;
    uint8_t *p = sec + (c % (FAT_SECTOR_SIZE / 4)) * 4;
    uint32_t old = get32(p);
    put32(p, (old & ~FAT_ENTRY_MASK) | (val & FAT_ENTRY_MASK));
    bool was_free = (old & FAT_ENTRY_MASK) == 0, now_free = val == 0;
    if (fs->free_count != UINT32_MAX && was_free != now_free) {
        if (now_free)
            fs->free_count = MIN(fs->free_count + 1, fs->clusters);
        else if (fs->free_count > 0)
            fs->free_count--;
    }
    fs->fsinfo_dirty = true;
    return OK;
}

error_t cluster_next(struct fat_fs *fs, uint32_t c, uint32_t *next) {
    if (!cluster_valid(fs, c))
        return ERR_CORRUPT;
    uint32_t v;
    error_t err = fat_get(fs, c, &v);
    if (err != OK)
        return err;
    if (v >= FAT_EOC_MIN) {
        *next = 0;
        return OK;
    }
    if (!cluster_valid(fs, v))
        return ERR_CORRUPT; /* free, bad or out of range inside a chain */
    *next = v;
    return OK;
}

error_t cluster_zero(struct fat_fs *fs, uint32_t c) {
    uint32_t s = cluster_sector(fs, c);
    for (uint32_t i = 0; i < fs->spc; i++) {
        uint8_t *sec;
        error_t err = cache_sector(fs, s + i, true, &sec);
        if (err != OK)
            return err;
        memset(sec, 0, FAT_SECTOR_SIZE);
    }
    return OK;
}

/* Find a free cluster from the hint on, wrapping once; ERR_NO_SPACE if none. */
static error_t find_free(struct fat_fs *fs, uint32_t *out) {
    uint32_t c = cluster_valid(fs, fs->next_free) ? fs->next_free : 2;
    for (uint32_t n = 0; n < fs->clusters; n++) {
        uint32_t v;
        error_t err = fat_get(fs, c, &v);
        if (err != OK)
            return err;
        if (v == 0) {
            *out = c;
            return OK;
        }
        c = cluster_valid(fs, c + 1) ? c + 1 : 2;
    }
    fs->free_count = 0;
    return ERR_NO_SPACE;
}

error_t chain_alloc(struct fat_fs *fs, uint32_t n, bool zero, uint32_t *first, uint32_t *last) {
    uint32_t head = 0, tail = 0;
    if (fs->free_count != UINT32_MAX && fs->free_count < n) {
        error_t err = fat_count_free(fs); /* the hint may be stale: count */
        if (err != OK)
            return err;
        if (fs->free_count < n)
            return ERR_NO_SPACE;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t c;
        error_t err = find_free(fs, &c);
        if (err == OK)
            err = fat_set(fs, c, FAT_EOC);
        if (err == OK && tail)
            err = fat_set(fs, tail, c);
        if (err == OK && zero)
            err = cluster_zero(fs, c);
        if (err != OK) {
            if (head)
                chain_free(fs, head);
            return err;
        }
        head = head ? head : c;
        tail = c;
        fs->next_free = c + 1;
    }
    *first = head;
    *last = tail;
    return OK;
}

error_t chain_link(struct fat_fs *fs, uint32_t last, uint32_t next) {
    if (!cluster_valid(fs, last))
        return ERR_CORRUPT;
    return fat_set(fs, last, next);
}

error_t chain_free(struct fat_fs *fs, uint32_t first) {
    uint32_t c = first;
    for (uint32_t n = 0; c != 0; n++) {
        if (n >= fs->clusters || !cluster_valid(fs, c))
            return ERR_CORRUPT;
        uint32_t v;
        error_t err = fat_get(fs, c, &v);
        if (err == OK)
            err = fat_set(fs, c, 0);
        if (err != OK)
            return err;
        if (c < fs->next_free || !cluster_valid(fs, fs->next_free))
            fs->next_free = c;
        c = v >= FAT_EOC_MIN ? 0 : v;
        if (c != 0 && !cluster_valid(fs, c))
            return ERR_CORRUPT;
    }
    return OK;
}

/* Make c the last cluster of its chain and free what followed it. */
error_t chain_end_at(struct fat_fs *fs, uint32_t c) {
    uint32_t next;
    error_t err = cluster_next(fs, c, &next);
    if (err != OK)
        return err;
    err = fat_set(fs, c, FAT_EOC);
    if (err != OK || next == 0)
        return err;
    return chain_free(fs, next);
}

error_t chain_count(struct fat_fs *fs, uint32_t first, uint32_t *n) {
    uint32_t count = 0;
    for (uint32_t c = first; c != 0; count++) {
        if (count >= fs->clusters)
            return ERR_CORRUPT; /* a loop */
        error_t err = cluster_next(fs, c, &c);
        if (err != OK)
            return err;
    }
    *n = count;
    return OK;
}

error_t fat_count_free(struct fat_fs *fs) {
    uint32_t count = 0;
    for (uint32_t c = 2; cluster_valid(fs, c); c++) {
        uint32_t v;
        error_t err = fat_get(fs, c, &v);
        if (err != OK)
            return err;
        count += v == 0;
    }
    fs->fsinfo_dirty |= fs->free_count != count;
    fs->free_count = count;
    return OK;
}
