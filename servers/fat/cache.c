/*
 * The block cache: fs->nblocks blocks of 4 KiB (8 sectors), least recently
 * used evicted first, write-back.  Callers get a pointer to one 512-byte
 * sector inside a cached block; asking with write = true marks that sector
 * dirty.  Dirty sectors reach the disk when their block is evicted and on
 * cache_flush; a dirty sector of the FAT we use is also written to the
 * same place in every other FAT copy (when mirroring is on), so the copies
 * stay in step.  Blocks are aligned to the volume start; the last one may
 * be partial and holds only the sectors inside the volume.
 */
#include "fat_int.h"

error_t cache_init(struct fat_fs *fs, unsigned nblocks) {
    if (nblocks < 2)
        nblocks = 2;
    fs->blocks = calloc(nblocks, sizeof(*fs->blocks));
    if (!fs->blocks)
        return ERR_NO_MEMORY;
    fs->nblocks = nblocks;
    for (unsigned i = 0; i < nblocks; i++) {
        fs->blocks[i].data = malloc(FAT_BLOCK_SIZE);
        if (!fs->blocks[i].data)
            return ERR_NO_MEMORY;
    }
    return OK;
}

void cache_destroy(struct fat_fs *fs) {
    if (!fs->blocks)
        return;
    for (unsigned i = 0; i < fs->nblocks; i++)
        free(fs->blocks[i].data);
    free(fs->blocks);
    fs->blocks = NULL;
}

/* Sectors of block b inside the volume (8 except for a partial last one). */
static uint32_t block_sectors(const struct fat_fs *fs, uint32_t b) {
    uint32_t start = b * FAT_BLOCK_SECTORS;
    return MIN((uint32_t) FAT_BLOCK_SECTORS, fs->total_sectors - start);
}

/* Write sectors [s, s + n) of the volume from buf, plus their copies in
 * the other FATs for the part that lies in the FAT we use. */
static error_t write_sectors(struct fat_fs *fs, uint32_t s, uint32_t n, const uint8_t *buf) {
    error_t err = fs->disk.write(fs->disk.ctx, fs->lba + s, n, buf);
    if (err != OK || !fs->mirror)
        return err;
    uint32_t lo = MAX(s, fs->fat_start), hi = MIN(s + n, fs->fat_start + fs->fat_size);
    for (uint32_t k = 1; lo < hi && k < fs->nfats; k++) {
        err = fs->disk.write(fs->disk.ctx, fs->lba + lo + k * fs->fat_size, hi - lo,
                             buf + (lo - s) * FAT_SECTOR_SIZE);
        if (err != OK)
            return err;
    }
    return OK;
}

/* Write the dirty sectors of one block, run by run. */
static error_t block_write_back(struct fat_fs *fs, struct cache_block *b) {
    uint32_t base = b->block * FAT_BLOCK_SECTORS;
    for (uint32_t i = 0; i < FAT_BLOCK_SECTORS; i++) {
        if (!(b->dirty & (1u << i)))
            continue;
        uint32_t j = i;
        while (j + 1 < FAT_BLOCK_SECTORS && (b->dirty & (1u << (j + 1))))
            j++;
        error_t err = write_sectors(fs, base + i, j - i + 1, b->data + i * FAT_SECTOR_SIZE);
        if (err != OK)
            return err;
        i = j;
    }
    b->dirty = 0;
    return OK;
}

/* The cached block number b, or NULL. */
static struct cache_block *block_find(struct fat_fs *fs, uint32_t b) {
    struct cache_block *hit = &fs->blocks[fs->last_hit];
    if (hit->valid && hit->block == b)
        return hit;
    for (unsigned i = 0; i < fs->nblocks; i++) {
        if (fs->blocks[i].valid && fs->blocks[i].block == b) {
            fs->last_hit = i;
            return &fs->blocks[i];
        }
    }
    return NULL;
}

/* Free a slot (writing back the least recently used block) and read b. */
static error_t block_load(struct fat_fs *fs, uint32_t b, struct cache_block **out) {
    unsigned victim = 0;
    for (unsigned i = 0; i < fs->nblocks; i++) {
        if (!fs->blocks[i].valid) {
            victim = i;
            break;
        }
        if (fs->blocks[i].last_use < fs->blocks[victim].last_use)
            victim = i;
    }
    struct cache_block *blk = &fs->blocks[victim];
    if (blk->valid) {
        error_t err = block_write_back(fs, blk);
        if (err != OK)
            return err;
        blk->valid = false;
    }
    error_t err = fs->disk.read(fs->disk.ctx, fs->lba + (uint64_t) b * FAT_BLOCK_SECTORS,
                                block_sectors(fs, b), blk->data);
    if (err != OK)
        return err;
    blk->block = b;
    blk->valid = true;
    blk->dirty = 0;
    fs->last_hit = victim;
    *out = blk;
    return OK;
}

error_t cache_sector(struct fat_fs *fs, uint32_t sector, bool write, uint8_t **out) {
    if (sector >= fs->total_sectors)
        return ERR_CORRUPT;
    uint32_t b = sector / FAT_BLOCK_SECTORS, i = sector % FAT_BLOCK_SECTORS;
    struct cache_block *blk = block_find(fs, b);
    if (!blk) {
        error_t err = block_load(fs, b, &blk);
        if (err != OK)
            return err;
    }
    blk->last_use = ++fs->clock;
    if (write)
        blk->dirty |= (uint8_t) (1u << i);
    *out = blk->data + i * FAT_SECTOR_SIZE;
    return OK;
}

error_t cache_flush(struct fat_fs *fs) {
    error_t first_err = OK;
    for (unsigned i = 0; i < fs->nblocks; i++) {
        struct cache_block *b = &fs->blocks[i];
        if (b->valid && b->dirty) {
            error_t err = block_write_back(fs, b);
            if (err != OK && first_err == OK)
                first_err = err;
        }
    }
    return first_err;
}
