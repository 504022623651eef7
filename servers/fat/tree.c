/*
 * Operations on the directory tree by path: stat, readdir, mkdir, rmdir,
 * unlink and rename.  Each checks everything it can before it changes
 * the disk, and changes it in the order that keeps the volume consistent
 * if a later step fails for lack of space: a new entry is written before
 * an old one is removed, and clusters are freed last.
 */
#include "fat_int.h"

/* Look up path; ERR_INVALID_ARG for the root when `not_root`. */
static error_t lookup(struct fat_fs *fs, const char *path, bool not_root, struct dir_entry **out) {
    *out = malloc(sizeof(**out));
    if (!*out)
        return ERR_NO_MEMORY;
    error_t err = path_lookup(fs, path, *out);
    if (err == OK && not_root && (*out)->slot == ROOT_SLOT)
        err = ERR_INVALID_ARG;
    if (err != OK) {
        free(*out);
        *out = NULL;
    }
    return err;
}

error_t fat_stat(struct fat_fs *fs, const char *path, struct fat_stat *st) {
    struct dir_entry *e;
    error_t err = lookup(fs, path, false, &e);
    if (err != OK)
        return err;
    uint32_t first = entry_cluster(e->raw);
    st->is_dir = entry_is_dir(e->raw);
    st->size = st->is_dir ? 0 : get32(e->raw + DE_SIZE);
    st->attr = e->raw[DE_ATTR];
    st->mtime = time_from_fat(get16(e->raw + DE_MDATE), get16(e->raw + DE_MTIME));
    st->clusters = 0;
    if (first != 0)
        err = cluster_valid(fs, first) ? chain_count(fs, first, &st->clusters) : ERR_CORRUPT;
    free(e);
    return err;
}

error_t fat_readdir(struct fat_fs *fs, const char *path, uint32_t *index, struct fat_dirent *out) {
    struct dir_entry *e;
    error_t err = lookup(fs, path, false, &e);
    if (err != OK)
        return err;
    uint32_t dir = entry_cluster(e->raw);
    if (!entry_is_dir(e->raw))
        err = ERR_NOT_DIR;
    else if (!cluster_valid(fs, dir))
        err = ERR_CORRUPT;
    else
        err = dir_next(fs, dir, index, e);
    if (err == OK) {
        strcpy_safe(out->name, e->name, sizeof(out->name));
        out->is_dir = entry_is_dir(e->raw);
        out->size = out->is_dir ? 0 : get32(e->raw + DE_SIZE);
        out->attr = e->raw[DE_ATTR];
        out->mtime = time_from_fat(get16(e->raw + DE_MDATE), get16(e->raw + DE_MTIME));
    }
    free(e);
    return err;
}

/* Resolve path's parent and check that its last name is not taken. */
static error_t new_name(struct fat_fs *fs, const char *path, char *buf, uint32_t *dir,
                        const char **name, size_t *len) {
    error_t err = path_parent(fs, path, buf, dir, name, len);
    if (err == ERR_INVALID_ARG && path && path[0] == '/' && *len == 0)
        return ERR_ALREADY_EXISTS; /* the root */
    struct dir_entry *e = malloc(sizeof(*e));
    if (err == OK && !e)
        err = ERR_NO_MEMORY;
    if (err == OK) {
        err = dir_find(fs, *dir, *name, *len, e);
        err = err == OK ? ERR_ALREADY_EXISTS : err == ERR_NOT_FOUND ? OK : err;
    }
    free(e);
    return err;
}

error_t fat_mkdir(struct fat_fs *fs, const char *path) {
    char *buf = malloc(FAT_PATH_MAX);
    struct dir_entry *e = malloc(sizeof(*e));
    uint32_t dir, c, last;
    const char *name;
    size_t len = 0;
    error_t err = buf && e ? new_name(fs, path, buf, &dir, &name, &len) : ERR_NO_MEMORY;
    if (err == OK)
        err = chain_alloc(fs, 1, true, &c, &last);
    if (err == OK) {
        uint8_t proto[DIRENT_SIZE];
        dir_proto(fs, proto, FAT_ATTR_DIRECTORY, c);
        err = dir_init(fs, c, dir);
        if (err == OK)
            err = dir_add(fs, dir, name, len, proto, e);
        if (err != OK)
            chain_free(fs, c);
    }
    free(buf);
    free(e);
    return err;
}

/* Remove entry e and free its chain (if it has a sane one). */
static error_t remove_entry(struct fat_fs *fs, const struct dir_entry *e) {
    uint32_t first = entry_cluster(e->raw);
    error_t err = dir_remove(fs, e);
    if (err == OK && cluster_valid(fs, first))
        err = chain_free(fs, first);
    return err;
}

error_t fat_rmdir(struct fat_fs *fs, const char *path) {
    struct dir_entry *e;
    error_t err = lookup(fs, path, true, &e);
    if (err != OK)
        return err;
    uint32_t dir = entry_cluster(e->raw);
    if (!entry_is_dir(e->raw))
        err = ERR_NOT_DIR;
    else if (file_find(fs, e->dir, e->slot))
        err = ERR_IN_USE;
    else if (!cluster_valid(fs, dir))
        err = ERR_CORRUPT;
    else
        err = dir_is_empty(fs, dir);
    if (err == OK)
        err = remove_entry(fs, e);
    free(e);
    return err;
}

error_t fat_unlink(struct fat_fs *fs, const char *path) {
    struct dir_entry *e;
    error_t err = lookup(fs, path, false, &e);
    if (err != OK)
        return err;
    if (entry_is_dir(e->raw))
        err = ERR_IS_DIR;
    else if (file_find(fs, e->dir, e->slot))
        err = ERR_IN_USE;
    else
        err = remove_entry(fs, e);
    free(e);
    return err;
}

/* ERR_LOOP if directory `moved` is `dir` or one of its ancestors. */
static error_t check_not_inside(struct fat_fs *fs, uint32_t moved, uint32_t dir) {
    for (uint32_t n = 0; dir != fs->root; n++) {
        if (dir == moved)
            return ERR_LOOP;
        if (n >= fs->clusters)
            return ERR_CORRUPT;
        error_t err = dir_parent_of(fs, dir, &dir);
        if (err != OK)
            return err;
    }
    return OK;
}

/* May src be renamed onto the existing entry dst? *replace: dst must go. */
static error_t check_target(struct fat_fs *fs, const struct dir_entry *src,
                            const struct dir_entry *dst, bool *replace) {
    *replace = !(dst->dir == src->dir && dst->slot == src->slot);
    if (!*replace)
        return OK; /* the same entry: a change of case */
    if (entry_is_dir(dst->raw))
        return ERR_IS_DIR;
    if (entry_is_dir(src->raw))
        return ERR_NOT_DIR;
    return file_find(fs, dst->dir, dst->slot) ? ERR_IN_USE : OK;
}

struct rename_ctx {
    char buf[FAT_PATH_MAX];
    struct dir_entry src, dst, added;
};

static error_t do_rename(struct fat_fs *fs, struct rename_ctx *r, const char *to) {
    uint32_t dir;
    const char *name;
    size_t len;
    bool replace = false, same = false, is_dir = entry_is_dir(r->src.raw);
    if (file_find(fs, r->src.dir, r->src.slot))
        return ERR_IN_USE;
    error_t err = path_parent(fs, to, r->buf, &dir, &name, &len);
    if (err == OK && is_dir)
        err = check_not_inside(fs, entry_cluster(r->src.raw), dir);
    if (err == OK) {
        err = dir_find(fs, dir, name, len, &r->dst);
        if (err == OK) {
            err = check_target(fs, &r->src, &r->dst, &replace);
            same = !replace;
        } else if (err == ERR_NOT_FOUND) {
            err = OK;
        }
    }
    if (err == OK && same && strlen(r->src.name) == len && memcmp(r->src.name, name, len) == 0)
        return OK; /* renamed to itself */
    if (err == OK)
        err = dir_add(fs, dir, name, len, r->src.raw, &r->added);
    if (err == OK && replace)
        err = remove_entry(fs, &r->dst);
    if (err == OK)
        err = dir_remove(fs, &r->src);
    if (err == OK && is_dir && dir != r->src.dir)
        err = dir_set_parent(fs, entry_cluster(r->src.raw), dir);
    return err;
}

error_t fat_rename(struct fat_fs *fs, const char *from, const char *to) {
    struct rename_ctx *r = malloc(sizeof(*r));
    if (!r)
        return ERR_NO_MEMORY;
    error_t err = path_lookup(fs, from, &r->src);
    if (err == OK && r->src.slot == ROOT_SLOT)
        err = ERR_INVALID_ARG;
    if (err == OK)
        err = do_rename(fs, r, to);
    free(r);
    return err;
}
