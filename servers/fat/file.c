/*
 * Open files: one struct fat_file per file or directory however often it
 * is opened (found by the place of its directory entry, with a reference
 * count), and reading, writing and truncating file data.
 *
 * A file's chain always holds exactly the clusters its size needs once it
 * has been written: growth allocates every missing cluster first (all or
 * nothing) and only then writes, so a full disk leaves the file as it was.
 * Bytes between the old end and a later write or a larger truncate are
 * zeroed.  Size, first cluster and mtime go to the directory entry (in
 * the cache) at every change.
 */
#include "fat_int.h"

struct fat_file *file_find(struct fat_fs *fs, uint32_t dir, uint32_t slot) {
    for (struct fat_file *f = fs->files; f; f = f->next) {
        if (f->dir == dir && f->slot == slot)
            return f;
    }
    return NULL;
}

void file_close_all(struct fat_fs *fs) {
    while (fs->files) {
        struct fat_file *f = fs->files;
        fs->files = f->next;
        free(f);
    }
}

/* Check entry e's chain against its size and make its open-file object. */
static error_t file_new(struct fat_fs *fs, const struct dir_entry *e, struct fat_file **out) {
    struct fat_file f = {
        .refs = 1, .is_dir = entry_is_dir(e->raw), .dir = e->dir, .slot = e->slot,
        .first = entry_cluster(e->raw), .size = get32(e->raw + DE_SIZE),
    };
    if (f.is_dir) {
        f.size = 0;
        if (!cluster_valid(fs, f.first))
            return ERR_CORRUPT;
    } else if (f.first == 0 ? f.size != 0 : !cluster_valid(fs, f.first)) {
        return ERR_CORRUPT;
    } else {
        error_t err = chain_count(fs, f.first, &f.nclusters);
        if (err != OK)
            return err;
        if (f.size > (uint64_t) f.nclusters * fs->cluster_size)
            return ERR_CORRUPT;
    }
    struct fat_file *p = malloc(sizeof(*p));
    if (!p)
        return ERR_NO_MEMORY;
    *p = f;
    p->next = fs->files;
    fs->files = p;
    *out = p;
    return OK;
}

/* Find path, creating it as an empty file if flags say so. */
static error_t open_entry(struct fat_fs *fs, const char *path, uint32_t flags,
                          struct dir_entry *e) {
    error_t err = path_lookup(fs, path, e);
    if (err == OK && (flags & FAT_OPEN_CREATE) && (flags & FAT_OPEN_EXCL))
        return ERR_ALREADY_EXISTS;
    if (err != ERR_NOT_FOUND || !(flags & FAT_OPEN_CREATE) || (flags & FAT_OPEN_DIR))
        return err;
    char *buf = malloc(FAT_PATH_MAX);
    if (!buf)
        return ERR_NO_MEMORY;
    uint32_t dir;
    const char *name;
    size_t len;
    err = path_parent(fs, path, buf, &dir, &name, &len);
    if (err == OK) {
        uint8_t proto[DIRENT_SIZE];
        dir_proto(fs, proto, FAT_ATTR_ARCHIVE, 0);
        err = dir_add(fs, dir, name, len, proto, e);
    }
    free(buf);
    return err;
}

error_t fat_open(struct fat_fs *fs, const char *path, uint32_t flags, struct fat_file **out) {
    struct dir_entry *e = malloc(sizeof(*e));
    if (!e)
        return ERR_NO_MEMORY;
    error_t err = open_entry(fs, path, flags, e);
    bool is_dir = entry_is_dir(e->raw);
    if (err == OK && (flags & FAT_OPEN_DIR) && !is_dir)
        err = ERR_NOT_DIR;
    if (err == OK && (flags & FAT_OPEN_TRUNCATE) && is_dir)
        err = ERR_IS_DIR;
    struct fat_file *f = err == OK ? file_find(fs, e->dir, e->slot) : NULL;
    if (f)
        f->refs++;
    else if (err == OK)
        err = file_new(fs, e, &f);
    free(e);
    if (err == OK && (flags & FAT_OPEN_TRUNCATE) && f->size > 0) {
        err = fat_truncate(fs, f, 0);
        if (err != OK)
            fat_close(fs, f);
    }
    if (err == OK)
        *out = f;
    return err;
}

void fat_close(struct fat_fs *fs, struct fat_file *f) {
    if (--f->refs > 0)
        return;
    for (struct fat_file **p = &fs->files; *p; p = &(*p)->next) {
        if (*p == f) {
            *p = f->next;
            break;
        }
    }
    free(f);
}

uint64_t fat_file_size(const struct fat_file *f) {
    return f->size;
}

bool fat_file_is_dir(const struct fat_file *f) {
    return f->is_dir;
}

/* The index-th cluster of f's chain, walking on from the hint when it can. */
static error_t file_cluster(struct fat_fs *fs, struct fat_file *f, uint32_t index, uint32_t *out) {
    if (index >= f->nclusters)
        return ERR_CORRUPT;
    uint32_t i = 0, c = f->first;
    if (f->hint_cluster && f->hint_index <= index) {
        i = f->hint_index;
        c = f->hint_cluster;
    }
    for (; i < index; i++) {
        error_t err = cluster_next(fs, c, &c);
        if (err != OK)
            return err;
        if (c == 0)
            return ERR_CORRUPT;
    }
    f->hint_index = index;
    f->hint_cluster = c;
    *out = c;
    return OK;
}

/* Copy n bytes between buf and f at offset (buf NULL: write zeros). The
 * clusters must exist. */
static error_t data_io(struct fat_fs *fs, struct fat_file *f, uint64_t offset, uint8_t *rbuf,
                       const uint8_t *wbuf, size_t n, bool write) {
    while (n > 0) {
        uint32_t c;
        error_t err = file_cluster(fs, f, (uint32_t) (offset / fs->cluster_size), &c);
        uint32_t in = (uint32_t) (offset % fs->cluster_size), in_sec = in % FAT_SECTOR_SIZE;
        size_t chunk = MIN(n, (size_t) (FAT_SECTOR_SIZE - in_sec));
        uint8_t *sec;
        if (err == OK)
            err = cache_sector(fs, cluster_sector(fs, c) + in / FAT_SECTOR_SIZE, write, &sec);
        if (err != OK)
            return err;
        if (!write)
            memcpy(rbuf, sec + in_sec, chunk);
        else if (wbuf)
            memcpy(sec + in_sec, wbuf, chunk);
        else
            memset(sec + in_sec, 0, chunk);
        rbuf = rbuf ? rbuf + chunk : NULL;
        wbuf = wbuf ? wbuf + chunk : NULL;
        offset += chunk;
        n -= chunk;
    }
    return OK;
}

error_t fat_read(struct fat_fs *fs, struct fat_file *f, uint64_t offset, void *buf, size_t len,
                 size_t *got) {
    *got = 0;
    if (f->is_dir)
        return ERR_IS_DIR;
    if (offset >= f->size)
        return OK;
    size_t n = (size_t) MIN((uint64_t) len, f->size - offset);
    error_t err = data_io(fs, f, offset, buf, NULL, n, false);
    if (err == OK)
        *got = n;
    return err;
}

/* Give f the clusters that `bytes` of data need (all or none). */
static error_t file_reserve(struct fat_fs *fs, struct fat_file *f, uint64_t bytes) {
    uint32_t want = (uint32_t) ((bytes + fs->cluster_size - 1) / fs->cluster_size), tail = 0;
    if (want <= f->nclusters)
        return OK;
    error_t err = f->nclusters ? file_cluster(fs, f, f->nclusters - 1, &tail) : OK;
    uint32_t first, last;
    if (err == OK)
        err = chain_alloc(fs, want - f->nclusters, false, &first, &last);
    if (err != OK)
        return err;
    err = tail ? chain_link(fs, tail, first) : OK;
    if (err != OK) {
        chain_free(fs, first);
        return err;
    }
    if (!tail)
        f->first = first;
    f->nclusters = want;
    return dir_update(fs, f, false);
}

error_t fat_write(struct fat_fs *fs, struct fat_file *f, uint64_t offset, const void *buf,
                  size_t len, size_t *written) {
    *written = 0;
    if (f->is_dir)
        return ERR_IS_DIR;
    if (len == 0)
        return OK;
    if (offset > FAT_FILE_MAX || len > FAT_FILE_MAX - offset)
        return ERR_TOO_LARGE;
    error_t err = file_reserve(fs, f, offset + len);
    if (err == OK && offset > f->size)
        err = data_io(fs, f, f->size, NULL, NULL, offset - f->size, true);
    if (err == OK)
        err = data_io(fs, f, offset, NULL, buf, len, true);
    if (err != OK)
        return err;
    f->size = (uint32_t) MAX((uint64_t) f->size, offset + len);
    *written = len;
    return dir_update(fs, f, true);
}

/* Drop the clusters past the first `keep`. */
static error_t file_shrink(struct fat_fs *fs, struct fat_file *f, uint32_t keep) {
    error_t err;
    if (keep == 0) {
        err = chain_free(fs, f->first);
        f->first = 0;
    } else {
        uint32_t c;
        err = file_cluster(fs, f, keep - 1, &c);
        if (err == OK)
            err = chain_end_at(fs, c);
    }
    f->nclusters = keep;
    f->hint_cluster = 0;
    return err;
}

error_t fat_truncate(struct fat_fs *fs, struct fat_file *f, uint64_t size) {
    if (f->is_dir)
        return ERR_IS_DIR;
    if (size > FAT_FILE_MAX)
        return ERR_TOO_LARGE;
    error_t err = OK;
    if (size > f->size) {
        err = file_reserve(fs, f, size);
        if (err == OK)
            err = data_io(fs, f, f->size, NULL, NULL, size - f->size, true);
    } else {
        uint32_t keep = (uint32_t) ((size + fs->cluster_size - 1) / fs->cluster_size);
        if (keep < f->nclusters)
            err = file_shrink(fs, f, keep);
    }
    if (err != OK)
        return err;
    f->size = (uint32_t) size;
    return dir_update(fs, f, true);
}
