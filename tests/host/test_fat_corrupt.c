/*
 * Host tests of the FAT32 core on corrupt images: insane BPB fields, FAT
 * chains that loop, end early or leave the volume, sizes beyond the
 * chain, bogus directory and long-name entries, truncated images and
 * garbage.  Each must give an error or sane data: never a crash (ASan and
 * UBSan watch) and never a hang.
 */
#include "check.h"

#include "fat_img.h"
#include "fat_exercise.h"

#define KiB 1024u

/* A 34 MiB image (512-byte clusters) with a few files, loaded in memory. */
struct vol {
    uint8_t *data;
    size_t size;
    uint32_t reserved, fat_size, nfats, data_start, root;
};

static uint32_t le32(const uint8_t *p) {
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static bool vol_load(struct vol *v) {
    static uint8_t *cached;
    static size_t cached_size;
    if (!cached) {
        struct img im;
        static uint8_t big[3000];
        for (size_t i = 0; i < sizeof(big); i++)
            big[i] = (uint8_t) (i * 7);
        char host[600];
        snprintf(host, sizeof(host), "%s/big", fat_tmp());
        if (!img_make(&im, "corrupt.img", 34 * KiB, false, "-s 1") ||
            !host_write_file(host, big, sizeof(big)) ||
            img_mtools(&im, "mmd", "::/dir '::/dir/sub dir'") != 0 ||
            img_mtools(&im, "mcopy", "'%s' '::/dir/A long file name.bin'", host) != 0 ||
            img_mtools(&im, "mcopy", "'%s' ::/BIG.BIN", host) != 0)
            return false;
        cached = host_read_file(im.path, &cached_size);
        if (!cached)
            return false;
    }
    v->data = malloc(cached_size);
    memcpy(v->data, cached, cached_size);
    v->size = cached_size;
    v->reserved = v->data[14] | v->data[15] << 8;
    v->nfats = v->data[16];
    v->fat_size = le32(v->data + 36);
    v->data_start = v->reserved + v->nfats * v->fat_size;
    v->root = le32(v->data + 44);
    return true;
}

static uint8_t *cluster_at(struct vol *v, uint32_t c) {
    return v->data + (v->data_start + (c - 2)) * 512ull;
}

/* Set FAT entry c in every copy. */
static void set_fat(struct vol *v, uint32_t c, uint32_t val) {
    for (uint32_t k = 0; k < v->nfats; k++)
        put_le32(v->data + (v->reserved + k * v->fat_size) * 512ull + c * 4, val);
}

/* The short entry of `name11` in directory cluster c (single-cluster dirs). */
static uint8_t *find_entry(struct vol *v, uint32_t c, const char *name11) {
    uint8_t *d = cluster_at(v, c);
    for (int i = 0; i < 16; i++) {
        if (memcmp(d + 32 * i, name11, 11) == 0)
            return d + 32 * i;
    }
    return NULL;
}

static uint32_t entry_first(const uint8_t *e) {
    return (uint32_t) (e[20] | e[21] << 8) << 16 | (uint32_t) (e[26] | e[27] << 8);
}

static error_t mount_vol(struct vol *v, struct mem_disk *m, struct fat_fs **fs) {
    m->data = v->data;
    m->size = v->size;
    struct fat_disk disk = mem_disk(m);
    return fat_mount(&disk, 8, fs);
}

/* Mount, exercise and unmount; the mount's result. */
static error_t exercise_vol(struct vol *v) {
    struct mem_disk m = {v->data, v->size};
    struct fat_disk disk = mem_disk(&m);
    struct exercise_stats st = {0};
    return fat_exercise(&disk, 4, &st);
}

TEST(intact_image_is_fine) {
    struct vol v;
    CHECK(vol_load(&v));
    struct mem_disk m;
    struct fat_fs *fs;
    CHECK_EQ_INT(mount_vol(&v, &m, &fs), OK);
    size_t len;
    uint8_t *d = fat_read_all(fs, "/dir/a long file name.bin", &len);
    CHECK(d && len == 3000 && d[2999] == (uint8_t) (2999 * 7));
    free(d);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    CHECK_EQ_INT(exercise_vol(&v), OK);
    free(v.data);
}

struct bpb_patch {
    const char *what;
    unsigned offset, width;
    uint32_t value;
    error_t want;
};

TEST(bad_bpb_fields) {
    static const struct bpb_patch patches[] = {
        {"bytes/sector 0", 11, 2, 0, ERR_NOT_SUPPORTED},  /* no longer looks like FAT */
        {"bytes/sector 513", 11, 2, 513, ERR_NOT_SUPPORTED},
        {"sectors/cluster 0", 13, 1, 0, ERR_NOT_SUPPORTED},
        {"sectors/cluster 3", 13, 1, 3, ERR_NOT_SUPPORTED},
        {"reserved 0", 14, 2, 0, ERR_NOT_SUPPORTED},
        {"no FATs", 16, 1, 0, ERR_NOT_SUPPORTED},
        {"3 FATs", 16, 1, 3, ERR_NOT_SUPPORTED},
        {"FAT16 root entries", 17, 2, 512, ERR_NOT_SUPPORTED},
        {"total sectors beyond the device", 32, 4, 0x7FFFFFFF, ERR_CORRUPT},
        {"total sectors too small", 32, 4, 100, ERR_CORRUPT},
        {"FAT size huge", 36, 4, 0x10000000, ERR_CORRUPT},
        {"FAT size too small", 36, 4, 8, ERR_CORRUPT},
        {"mirroring off, active FAT 5", 40, 2, 0x85, ERR_CORRUPT},
        {"version 1", 42, 2, 0x100, ERR_NOT_SUPPORTED},
        {"root cluster 0", 44, 4, 0, ERR_CORRUPT},
        {"root cluster 1", 44, 4, 1, ERR_CORRUPT},
        {"root cluster past the end", 44, 4, 0x0FFFFFF0, ERR_CORRUPT},
        {"no signature", 510, 2, 0, ERR_CORRUPT},
    };
    for (size_t i = 0; i < ARRAY_SIZE(patches); i++) {
        const struct bpb_patch *p = &patches[i];
        struct vol v;
        CHECK(vol_load(&v));
        for (unsigned k = 0; k < p->width; k++)
            v.data[p->offset + k] = (uint8_t) (p->value >> (8 * k));
        struct mem_disk m;
        struct fat_fs *fs = NULL;
        error_t err = mount_vol(&v, &m, &fs);
        if (err != p->want)
            printf("# %s: %s\n", p->what, err_name(err));
        CHECK_EQ_INT(err, p->want);
        CHECK(fs == NULL);
        free(v.data);
    }
}

TEST(fsinfo_lies) {
    struct vol v;
    CHECK(vol_load(&v));
    uint8_t *fsinfo = v.data + 512 * (v.data[48] | v.data[49] << 8);
    put_le32(fsinfo + 488, 0); /* "no free clusters" */
    put_le32(fsinfo + 492, 0x0FFFFFF0); /* next free out of range */
    struct mem_disk m;
    struct fat_fs *fs;
    CHECK_EQ_INT(mount_vol(&v, &m, &fs), OK);
    CHECK_EQ_INT(fat_write_all(fs, "/new", "data", 4), OK); /* the count is checked */
    struct fat_statfs sf;
    CHECK_EQ_INT(fat_statfs(fs, &sf), OK);
    CHECK(sf.free_clusters > 60000);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    put_le32(fsinfo, 0x12345678); /* bad signature: ignored */
    CHECK_EQ_INT(mount_vol(&v, &m, &fs), OK);
    CHECK_EQ_INT(fat_statfs(fs, &sf), OK);
    CHECK(sf.free_clusters > 60000);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    free(v.data);
}

/* Apply `val` to the FAT entry after the first cluster of /BIG.BIN, then
 * check that using the file fails with ERR_CORRUPT and nothing hangs. */
static void chain_case(uint32_t (*val)(uint32_t first), bool second) {
    struct vol v;
    CHECK(vol_load(&v));
    uint8_t *e = find_entry(&v, v.root, "BIG     BIN");
    CHECK(e);
    uint32_t first = entry_first(e);
    set_fat(&v, second ? first + 1 : first, val(first));
    struct mem_disk m;
    struct fat_fs *fs;
    struct fat_file *f;
    struct fat_stat st;
    CHECK_EQ_INT(mount_vol(&v, &m, &fs), OK);
    CHECK_EQ_INT(fat_open(fs, "/BIG.BIN", 0, &f), ERR_CORRUPT);
    CHECK_EQ_INT(fat_stat(fs, "/BIG.BIN", &st), ERR_CORRUPT);
    error_t err = fat_unlink(fs, "/BIG.BIN");
    CHECK(err == OK || err == ERR_CORRUPT);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    CHECK_EQ_INT(exercise_vol(&v), OK);
    free(v.data);
}

static uint32_t to_first(uint32_t first) { return first; }
static uint32_t past_end(uint32_t first) { (void) first; return 0x0FFFFF00; }
static uint32_t to_free(uint32_t first) { (void) first; return 0; }
static uint32_t to_bad(uint32_t first) { (void) first; return 0x0FFFFFF7; }
static uint32_t to_one(uint32_t first) { (void) first; return 1; }

TEST(chain_loops) {
    chain_case(to_first, false); /* a cluster pointing at itself */
    chain_case(to_first, true);  /* the second pointing back to the first */
}

TEST(chain_ends_badly) {
    chain_case(past_end, false);
    chain_case(to_free, false);
    chain_case(to_bad, true);
    chain_case(to_one, false);
}

TEST(size_beyond_chain_and_bad_first_cluster) {
    struct vol v;
    CHECK(vol_load(&v));
    uint8_t *e = find_entry(&v, v.root, "BIG     BIN");
    CHECK(e);
    put_le32(e + 28, 1u << 20);
    struct mem_disk m;
    struct fat_fs *fs;
    struct fat_file *f;
    CHECK_EQ_INT(mount_vol(&v, &m, &fs), OK);
    CHECK_EQ_INT(fat_open(fs, "/BIG.BIN", 0, &f), ERR_CORRUPT);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    e[26] = 0xF0; /* first cluster far past the end */
    e[20] = 0x7F;
    CHECK_EQ_INT(mount_vol(&v, &m, &fs), OK);
    CHECK_EQ_INT(fat_open(fs, "/BIG.BIN", 0, &f), ERR_CORRUPT);
    CHECK_EQ_INT(fat_unlink(fs, "/BIG.BIN"), OK); /* the entry can still go */
    CHECK_EQ_INT(fat_unmount(fs), OK);
    e = find_entry(&v, v.root, "DIR        ");
    CHECK(e);
    e[26] = 0; /* a directory with no cluster */
    e[27] = 0;
    CHECK_EQ_INT(mount_vol(&v, &m, &fs), OK);
    uint32_t index = 0;
    struct fat_dirent de;
    CHECK_EQ_INT(fat_readdir(fs, "/dir", &index, &de), ERR_CORRUPT);
    CHECK_EQ_INT(fat_open(fs, "/dir/x", FAT_OPEN_CREATE, &f), ERR_CORRUPT);
    CHECK_EQ_INT(fat_rmdir(fs, "/dir"), ERR_CORRUPT);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    free(v.data);
}

TEST(bogus_long_names_fall_back_to_short) {
    struct vol v;
    CHECK(vol_load(&v));
    uint8_t *e = find_entry(&v, v.root, "DIR        ");
    CHECK(e);
    uint32_t dir = entry_first(e);
    uint8_t *d = cluster_at(&v, dir), *sn = find_entry(&v, dir, "ALONGF~1BIN");
    CHECK(sn);
    int lfn = (int) ((sn - d) / 32) - 2; /* the first of its two long-name parts */
    CHECK(d[32 * lfn + 11] == 0x0F && d[32 * lfn] == 0x42);
    struct mem_disk m;
    struct fat_fs *fs;
    struct fat_dirent de;
    uint32_t index;
    d[32 * lfn + 13] ^= 0xFF; /* checksum */
    CHECK_EQ_INT(mount_vol(&v, &m, &fs), OK);
    index = 0;
    CHECK_EQ_INT(fat_readdir(fs, "/dir", &index, &de), OK);
    while (de.is_dir)
        CHECK_EQ_INT(fat_readdir(fs, "/dir", &index, &de), OK);
    CHECK_EQ_STR(de.name, "ALONGF~1.BIN");
    size_t len;
    uint8_t *data = fat_read_all(fs, "/dir/alongf~1.bin", &len);
    CHECK(data && len == 3000);
    free(data);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    d[32 * lfn + 13] ^= 0xFF;
    d[32 * lfn] = 0x45; /* last part, but sequence 5 */
    CHECK_EQ_INT(mount_vol(&v, &m, &fs), OK);
    struct fat_stat st;
    CHECK_EQ_INT(fat_stat(fs, "/dir/ALONGF~1.BIN", &st), OK);
    CHECK_EQ_INT(fat_stat(fs, "/dir/A long file name.bin", &st), ERR_NOT_FOUND);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    /* An entry with every attribute bit and a name full of '/' and NULs. */
    memset(d + 32 * 6, 0, 32);
    memcpy(d + 32 * 6, "/\x01/\x7f       ", 11);
    d[32 * 6 + 11] = 0x37;
    CHECK_EQ_INT(exercise_vol(&v), OK);
    free(v.data);
}

TEST(directory_chain_loop) {
    struct vol v;
    CHECK(vol_load(&v));
    uint8_t *e = find_entry(&v, v.root, "DIR        ");
    CHECK(e);
    uint32_t dir = entry_first(e);
    set_fat(&v, dir, dir); /* the directory's one cluster loops */
    uint8_t *d = cluster_at(&v, dir);
    for (int i = 0; i < 16; i++) {
        if (d[32 * i] == 0)
            memcpy(d + 32 * i, "FILLER  TXT", 11); /* no end marker */
    }
    struct mem_disk m;
    struct fat_fs *fs;
    CHECK_EQ_INT(mount_vol(&v, &m, &fs), OK);
    uint32_t index = 0;
    struct fat_dirent de;
    int n = 0;
    while (fat_readdir(fs, "/dir", &index, &de) == OK)
        n++;
    CHECK(n <= 65536);
    struct fat_file *f;
    error_t err = fat_open(fs, "/dir/new file", FAT_OPEN_CREATE, &f);
    if (err == OK)
        fat_close(fs, f);
    CHECK(err == OK || err == ERR_NO_SPACE || err == ERR_CORRUPT);
    CHECK_EQ_INT(fat_rmdir(fs, "/dir"), ERR_NOT_EMPTY);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    free(v.data);
}

TEST(truncated_images) {
    struct vol v;
    CHECK(vol_load(&v));
    size_t sizes[] = {0, 100, 512, 4096, 40960, v.size / 2, v.size - 512};
    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        struct mem_disk m = {v.data, sizes[i]};
        struct fat_disk disk = mem_disk(&m);
        struct fat_fs *fs = NULL;
        error_t err = fat_mount(&disk, 4, &fs);
        CHECK(err == ERR_IO || err == ERR_CORRUPT || err == ERR_NOT_SUPPORTED);
    }
    /* A disk that claims more sectors than it can read. */
    struct mem_disk m = {v.data, v.size / 2};
    struct fat_disk disk = mem_disk(&m);
    disk.sectors = v.size / 512;
    struct fat_fs *fs;
    CHECK_EQ_INT(fat_mount(&disk, 4, &fs), OK);
    static uint8_t big[4 << 20];
    CHECK_EQ_INT(fat_write_all(fs, "/big", big, sizeof(big)), OK);
    struct exercise_stats st = {0};
    exercise_dir(fs, "/", 0, &st);
    error_t err = fat_sync(fs); /* data past the readable half cannot be written */
    CHECK(err == OK || err == ERR_IO);
    fat_unmount(fs);
    free(v.data);
}

TEST(garbage) {
    struct vol v;
    CHECK(vol_load(&v));
    uint8_t *clean = malloc(v.size);
    memcpy(clean, v.data, v.size);
    int mounted = 0;
    for (int round = 0; round < 300; round++) {
        memcpy(v.data, clean, v.size);
        int hits = 1 + (int) rnd_below(40);
        for (int i = 0; i < hits; i++) {
            /* Mostly the boot sector, FATs, and the first directory clusters. */
            size_t span = rnd_below(3) == 0 ? 1024 : (v.data_start + 64) * 512ull;
            v.data[rnd_below((uint32_t) span)] = (uint8_t) rnd();
        }
        if (round % 50 == 0) /* a whole garbage sector in the data area */
            for (int i = 0; i < 512; i++)
                v.data[(v.data_start + round / 50) * 512ull + i] = (uint8_t) rnd();
        mounted += exercise_vol(&v) == OK;
    }
    printf("# garbage: %d of 300 mutated images mounted\n", mounted);
    CHECK(mounted > 0);
    free(clean);
    free(v.data);
}

TEST(mbr_without_fat32_partition) {
    uint8_t disk_data[4096] = {0};
    disk_data[446 + 4] = 0x83; /* Linux */
    disk_data[446 + 8] = 1;
    disk_data[510] = 0x55;
    disk_data[511] = 0xAA;
    struct mem_disk m = {disk_data, sizeof(disk_data)};
    struct fat_disk disk = mem_disk(&m);
    struct fat_fs *fs;
    CHECK_EQ_INT(fat_mount(&disk, 4, &fs), ERR_NOT_SUPPORTED);
    disk_data[446 + 4] = 0x0C; /* FAT32, but garbage at its start */
    CHECK_EQ_INT(fat_mount(&disk, 4, &fs), ERR_CORRUPT);
    disk_data[446 + 8] = 100; /* starts past the end of the disk */
    CHECK_EQ_INT(fat_mount(&disk, 4, &fs), ERR_NOT_SUPPORTED);
}
