/*
 * Paths: absolute, '/'-separated.  "." and ".." are resolved by the text
 * alone (FAT has no links, so "a/.." is always the directory holding a),
 * then the walk goes down from the root one directory lookup at a time.
 * The root has no entry of its own: path_root_entry makes one up.
 */
#include "fat_int.h"

void path_root_entry(const struct fat_fs *fs, struct dir_entry *out) {
    memset(out, 0, sizeof(*out));
    out->dir = 0;
    out->slot = out->first_slot = ROOT_SLOT;
    memset(out->raw, ' ', 11);
    out->raw[DE_ATTR] = FAT_ATTR_DIRECTORY;
    entry_set_cluster(out->raw, fs->root);
    out->name[0] = '/';
}

/* Copy path into buf as "/a/b" with no ".", "..", empty parts or trailing '/'. */
static error_t path_normalize(const char *path, char buf[FAT_PATH_MAX]) {
    if (!path || path[0] != '/')
        return ERR_INVALID_ARG;
    size_t at = 0;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t) (p - start);
        if (len == 0 || (len == 1 && start[0] == '.'))
            continue;
        if (len == 2 && start[0] == '.' && start[1] == '.') {
            while (at > 0 && buf[--at] != '/') {
            }
            continue;
        }
        if (at + 1 + len >= FAT_PATH_MAX)
            return ERR_TOO_LARGE;
        buf[at++] = '/';
        memcpy(buf + at, start, len);
        at += len;
    }
    buf[at] = '\0';
    return OK;
}

/* The directory cluster that entry e stands for, or an error. */
static error_t entry_dir_cluster(const struct fat_fs *fs, const struct dir_entry *e,
                                 uint32_t *dir) {
    if (!entry_is_dir(e->raw))
        return ERR_NOT_DIR;
    *dir = entry_cluster(e->raw);
    return cluster_valid(fs, *dir) ? OK : ERR_CORRUPT;
}

/* Walk the normalized path norm[0..len) from the root. */
static error_t walk(struct fat_fs *fs, const char *norm, size_t len, struct dir_entry *out) {
    path_root_entry(fs, out);
    for (size_t at = 0; at < len;) {
        size_t start = at + 1, end = start;
        while (end < len && norm[end] != '/')
            end++;
        uint32_t dir;
        error_t err = entry_dir_cluster(fs, out, &dir);
        if (err == OK)
            err = dir_find(fs, dir, norm + start, end - start, out);
        if (err != OK)
            return err;
        at = end;
    }
    return OK;
}

error_t path_lookup(struct fat_fs *fs, const char *path, struct dir_entry *out) {
    char *buf = malloc(FAT_PATH_MAX);
    if (!buf)
        return ERR_NO_MEMORY;
    error_t err = path_normalize(path, buf);
    if (err == OK)
        err = walk(fs, buf, strlen(buf), out);
    free(buf);
    return err;
}

error_t path_parent(struct fat_fs *fs, const char *path, char buf[FAT_PATH_MAX], uint32_t *dir,
                    const char **name, size_t *len) {
    error_t err = path_normalize(path, buf);
    if (err != OK)
        return err;
    const char *slash = strrchr(buf, '/');
    if (!slash)
        return ERR_INVALID_ARG; /* the root has no parent */
    struct dir_entry *parent = malloc(sizeof(*parent));
    if (!parent)
        return ERR_NO_MEMORY;
    err = walk(fs, buf, (size_t) (slash - buf), parent);
    if (err == OK)
        err = entry_dir_cluster(fs, parent, dir);
    free(parent);
    *name = slash + 1;
    *len = strlen(slash + 1);
    return err;
}
