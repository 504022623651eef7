/*
 * Internals of the FAT32 core shared by its files: the mounted volume,
 * the block cache, cluster chains, directory entries, names and times.
 *
 * Sector numbers inside the core are relative to the start of the volume
 * (32 bits: a FAT32 volume has at most 2^32 - 1 sectors); only the cache
 * adds the volume's first device sector when it talks to the disk.
 */
#pragma once

#include "fat_port.h"
#include "fat.h"

#define FAT_BLOCK_SIZE    4096
#define FAT_BLOCK_SECTORS (FAT_BLOCK_SIZE / FAT_SECTOR_SIZE)
#define FAT_ENTRY_MASK    0x0FFFFFFFu
#define FAT_BAD_CLUSTER   0x0FFFFFF7u
#define FAT_EOC_MIN       0x0FFFFFF8u
#define FAT_EOC           0x0FFFFFFFu
#define FAT_MAX_CLUSTERS  0x0FFFFFF5u /* so that the last cluster is < FAT_BAD_CLUSTER */
#define FAT_FILE_MAX      0xFFFFFFFFull
#define DIRENT_SIZE       32
#define DIR_MAX_SLOTS     65536 /* a directory holds at most 2 MiB of entries */
#define LFN_CHARS         13    /* UTF-16 units per long-name entry */
#define LFN_MAX           255   /* UTF-16 units in a long name */
#define ATTR_LFN          0x0F
#define ROOT_SLOT         0xFFFFFFFFu /* the root directory has no entry */

/* Offsets in a 32-byte directory entry. */
#define DE_NAME     0
#define DE_ATTR     11
#define DE_NTRES    12
#define DE_CTIME_MS 13
#define DE_CTIME    14
#define DE_CDATE    16
#define DE_ADATE    18
#define DE_CLUS_HI  20
#define DE_MTIME    22
#define DE_MDATE    24
#define DE_CLUS_LO  26
#define DE_SIZE     28
#define DE_FREE     0xE5
#define DE_END      0x00

struct cache_block {
    uint32_t block;    /* volume sector / FAT_BLOCK_SECTORS */
    uint32_t last_use; /* LRU stamp */
    uint8_t dirty;     /* one bit per dirty sector */
    bool valid;
    uint8_t *data;
};

struct fat_fs {
    struct fat_disk disk;
    uint64_t lba;            /* device sector of the volume's boot sector */
    uint32_t total_sectors;
    uint32_t reserved;       /* sectors before the first FAT */
    uint32_t fat_size;       /* sectors per FAT */
    uint32_t nfats;
    uint32_t fat_start;      /* first sector of the FAT we read */
    bool mirror;             /* write every FAT copy */
    uint32_t data_start;
    uint32_t spc;            /* sectors per cluster */
    uint32_t cluster_size;   /* bytes */
    uint32_t clusters;       /* data clusters: valid numbers are 2 .. clusters + 1 */
    uint32_t root;           /* root directory's first cluster */
    uint32_t fsinfo;         /* FSInfo sector, 0 if absent or invalid */
    uint32_t free_count;     /* UINT32_MAX: unknown */
    uint32_t next_free;      /* where the next allocation search starts */
    bool fsinfo_dirty;
    char bpb_label[12];
    uint8_t boot[FAT_SECTOR_SIZE]; /* the boot sector as mounted (fat_same_volume) */
    struct cache_block *blocks;
    unsigned nblocks;
    unsigned last_hit;
    uint32_t clock;
    struct fat_file *files;  /* open files */
};

/* An open file or directory; (dir, slot) names its entry and identifies it. */
struct fat_file {
    struct fat_file *next;
    unsigned refs;
    bool is_dir;
    uint32_t dir;       /* first cluster of the directory holding the entry; 0 for the root */
    uint32_t slot;      /* index of its short entry there; ROOT_SLOT for the root */
    uint32_t first;     /* first cluster, 0 when empty */
    uint32_t size;
    uint32_t nclusters; /* length of the chain */
    uint32_t hint_index, hint_cluster; /* a known (index, cluster) pair of the chain */
};

/* A directory entry found by a lookup. */
struct dir_entry {
    uint32_t dir;        /* first cluster of the directory that holds it (0: root itself) */
    uint32_t slot;       /* its short entry */
    uint32_t first_slot; /* its first long-name slot (== slot without a long name) */
    uint8_t raw[DIRENT_SIZE];
    char name[FAT_NAME_MAX + 1];
};

/* A position in a directory's chain, so that slot lookups go forward. */
struct dir_pos {
    uint32_t first;   /* the directory's first cluster */
    uint32_t index;   /* cluster index of `cluster` in the chain */
    uint32_t cluster;
};

static inline uint16_t get16(const uint8_t *p) {
    return (uint16_t) (p[0] | p[1] << 8);
}
static inline uint32_t get32(const uint8_t *p) {
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}
static inline void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
}
static inline void put32(uint8_t *p, uint32_t v) {
    put16(p, (uint16_t) v);
    put16(p + 2, (uint16_t) (v >> 16));
}
static inline uint32_t entry_cluster(const uint8_t *e) {
    return (uint32_t) get16(e + DE_CLUS_HI) << 16 | get16(e + DE_CLUS_LO);
}
static inline void entry_set_cluster(uint8_t *e, uint32_t c) {
    put16(e + DE_CLUS_HI, (uint16_t) (c >> 16));
    put16(e + DE_CLUS_LO, (uint16_t) c);
}
static inline bool entry_is_dir(const uint8_t *e) {
    return (e[DE_ATTR] & FAT_ATTR_DIRECTORY) != 0;
}

/* cache.c */
error_t cache_init(struct fat_fs *fs, unsigned nblocks);
void cache_destroy(struct fat_fs *fs);
error_t cache_sector(struct fat_fs *fs, uint32_t sector, bool write, uint8_t **out);
error_t cache_flush(struct fat_fs *fs);

/* cluster.c */
bool cluster_valid(const struct fat_fs *fs, uint32_t c);
uint32_t cluster_sector(const struct fat_fs *fs, uint32_t c);
error_t cluster_next(struct fat_fs *fs, uint32_t c, uint32_t *next);
error_t cluster_zero(struct fat_fs *fs, uint32_t c);
error_t chain_alloc(struct fat_fs *fs, uint32_t n, bool zero, uint32_t *first, uint32_t *last);
error_t chain_link(struct fat_fs *fs, uint32_t last, uint32_t next);
error_t chain_free(struct fat_fs *fs, uint32_t first);
error_t chain_end_at(struct fat_fs *fs, uint32_t c);
error_t chain_count(struct fat_fs *fs, uint32_t first, uint32_t *n);
error_t fat_count_free(struct fat_fs *fs);

/* dir.c */
error_t dir_slot(struct fat_fs *fs, struct dir_pos *pos, uint32_t slot, bool write,
                 uint8_t **out);
error_t dir_next(struct fat_fs *fs, uint32_t dir, uint32_t *index, struct dir_entry *out);
error_t dir_find(struct fat_fs *fs, uint32_t dir, const char *name, size_t len,
                 struct dir_entry *out);
error_t dir_add(struct fat_fs *fs, uint32_t dir, const char *name, size_t len,
                const uint8_t proto[DIRENT_SIZE], struct dir_entry *out);
error_t dir_remove(struct fat_fs *fs, const struct dir_entry *e);
error_t dir_update(struct fat_fs *fs, const struct fat_file *f, bool touch);
error_t dir_init(struct fat_fs *fs, uint32_t cluster, uint32_t parent);
error_t dir_is_empty(struct fat_fs *fs, uint32_t dir);
error_t dir_parent_of(struct fat_fs *fs, uint32_t dir, uint32_t *parent);
error_t dir_set_parent(struct fat_fs *fs, uint32_t dir, uint32_t parent);
error_t dir_label(struct fat_fs *fs, char label[12]);
void dir_proto(struct fat_fs *fs, uint8_t raw[DIRENT_SIZE], uint8_t attr, uint32_t cluster);

/* path.c */
error_t path_lookup(struct fat_fs *fs, const char *path, struct dir_entry *out);
error_t path_parent(struct fat_fs *fs, const char *path, char buf[FAT_PATH_MAX], uint32_t *dir,
                    const char **name, size_t *len);
void path_root_entry(const struct fat_fs *fs, struct dir_entry *out);

/* file.c */
struct fat_file *file_find(struct fat_fs *fs, uint32_t dir, uint32_t slot);
void file_close_all(struct fat_fs *fs);

/* name.c */
int name_to_utf16(const char *s, size_t len, uint16_t *out);
bool name_from_utf16(const uint16_t *s, size_t n, char *out, size_t max);
bool name_short_exact(const char *s, size_t len, uint8_t out[11]);
bool name_basis(const uint16_t *lfn, size_t n, uint8_t out[11]);
void name_with_tail(const uint8_t basis[11], uint32_t n, uint8_t out[11]);
uint8_t name_checksum(const uint8_t sn[11]);
void name_short_display(const uint8_t *e, char out[13]);
bool name_eq_utf16(const uint16_t *a, size_t an, const uint16_t *b, size_t bn);
bool name_eq_short(const char *s, size_t len, const char *shortname);

/* time.c */
uint32_t fat_now(const struct fat_fs *fs);
void time_to_fat(uint32_t secs, uint16_t *date, uint16_t *time);
uint32_t time_from_fat(uint16_t date, uint16_t time);
