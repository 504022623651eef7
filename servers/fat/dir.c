/*
 * Directories: 32-byte entries in a cluster chain.  A name is one short
 * (8.3) entry, preceded by long-name (VFAT) entries unless it is a valid
 * upper-case 8.3 name.  Scans assemble long names from entries whose
 * sequence numbers and checksums agree with the short entry that follows;
 * anything else (a bad checksum, a missing or out-of-order part) falls
 * back to the short name.  A 0x00 first byte ends the directory, 0xE5
 * marks a free slot; new entries reuse runs of free slots and otherwise
 * go at the end, extending the chain by a zeroed cluster when it is full.
 * Short names made for long names are the basis name, or the basis with
 * the smallest "~N" tail that no other entry of the directory uses.
 */
#include "fat_int.h"

#define LFN_LAST   0x40
#define LFN_PARTS  20 /* ceil(255 / 13) */
#define TAILS_MAX  (DIR_MAX_SLOTS + 2)

/* Where the 13 UTF-16 units of a long-name entry live. */
static const uint8_t lfn_offsets[LFN_CHARS] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};

struct lfn_state {
    uint16_t units[LFN_PARTS * LFN_CHARS];
    int next;        /* sequence number expected next; 0: complete; -1: none */
    int parts;
    uint8_t sum;
    uint32_t start;  /* slot of the first part */
};

error_t dir_slot(struct fat_fs *fs, struct dir_pos *pos, uint32_t slot, bool write,
                 uint8_t **out) {
    uint32_t per_cluster = fs->cluster_size / DIRENT_SIZE, ci = slot / per_cluster;
    if (slot >= DIR_MAX_SLOTS)
        return ERR_EOF;
    if (pos->cluster == 0 || ci < pos->index) {
        if (!cluster_valid(fs, pos->first))
            return ERR_CORRUPT;
        pos->cluster = pos->first;
        pos->index = 0;
    }
    while (pos->index < ci) {
        uint32_t next;
        error_t err = cluster_next(fs, pos->cluster, &next);
        if (err != OK)
            return err;
        if (next == 0)
            return ERR_EOF; /* pos stays at the last cluster */
        pos->cluster = next;
        pos->index++;
    }
    uint32_t off = (slot % per_cluster) * DIRENT_SIZE;
    uint8_t *sec;
    error_t err = cache_sector(fs, cluster_sector(fs, pos->cluster) + off / FAT_SECTOR_SIZE,
                               write, &sec);
    if (err == OK)
        *out = sec + off % FAT_SECTOR_SIZE;
    return err;
}

static bool is_lfn(const uint8_t *e) {
    return (e[DE_ATTR] & 0x3F) == ATTR_LFN;
}

/* Take one long-name entry into st. */
static void lfn_feed(struct lfn_state *st, const uint8_t *e, uint32_t slot) {
    int ord = e[0] & 0x1F;
    if (e[0] & LFN_LAST) {
        st->next = st->parts = ord;
        st->sum = e[13];
        st->start = slot;
    }
    if (ord == 0 || ord > LFN_PARTS || ord != st->next || e[13] != st->sum ||
        (e[0] & 0xA0) != 0) {
        st->next = -1;
        return;
    }
    for (int i = 0; i < LFN_CHARS; i++)
        st->units[(ord - 1) * LFN_CHARS + i] = get16(e + lfn_offsets[i]);
    st->next--;
}

/* The length of st's completed name if it belongs to short entry e, else 0. */
static size_t lfn_length(const struct lfn_state *st, const uint8_t *e) {
    if (st->next != 0 || st->sum != name_checksum(e))
        return 0;
    size_t n = 0, max = (size_t) st->parts * LFN_CHARS;
    while (n < max && st->units[n] != 0)
        n++;
    return n <= LFN_MAX ? n : 0;
}

/* The next live file or directory entry at or after *index, with its
 * long name in lfn[0..*lfn_len) (0 when it has none). ERR_EOF at the end. */
static error_t dir_scan(struct fat_fs *fs, struct dir_pos *pos, uint32_t *index,
                        struct dir_entry *out, struct lfn_state *st, size_t *lfn_len) {
    st->next = -1;
    for (uint32_t slot = *index;; slot++) {
        uint8_t *e;
        error_t err = dir_slot(fs, pos, slot, false, &e);
        if (err != OK)
            return err;
        if (e[0] == DE_END)
            return ERR_EOF;
        if (e[0] != DE_FREE && is_lfn(e)) {
            lfn_feed(st, e, slot);
            continue;
        }
        if (e[0] == DE_FREE || (e[DE_ATTR] & FAT_ATTR_VOLUME_ID) || e[0] == '.') {
            st->next = -1;
            continue;
        }
        *lfn_len = lfn_length(st, e);
        out->dir = pos->first;
        out->slot = slot;
        out->first_slot = *lfn_len ? st->start : slot;
        memcpy(out->raw, e, DIRENT_SIZE);
        if (!*lfn_len || !name_from_utf16(st->units, *lfn_len, out->name, sizeof(out->name)))
            name_short_display(e, out->name);
        *index = slot + 1;
        return OK;
    }
}

error_t dir_next(struct fat_fs *fs, uint32_t dir, uint32_t *index, struct dir_entry *out) {
    struct dir_pos pos = {.first = dir};
    struct lfn_state *st = malloc(sizeof(*st));
    if (!st)
        return ERR_NO_MEMORY;
    size_t lfn_len;
    error_t err = dir_scan(fs, &pos, index, out, st, &lfn_len);
    free(st);
    return err;
}

error_t dir_find(struct fat_fs *fs, uint32_t dir, const char *name, size_t len,
                 struct dir_entry *out) {
    uint16_t want[LFN_MAX];
    int n = name_to_utf16(name, len, want);
    if (n < 0)
        return n;
    struct lfn_state *st = malloc(sizeof(*st));
    if (!st)
        return ERR_NO_MEMORY;
    struct dir_pos pos = {.first = dir};
    error_t err;
    for (uint32_t index = 0;;) {
        size_t lfn_len;
        char shortname[13];
        err = dir_scan(fs, &pos, &index, out, st, &lfn_len);
        if (err != OK)
            break;
        name_short_display(out->raw, shortname);
        if ((lfn_len && name_eq_utf16(st->units, lfn_len, want, (size_t) n)) ||
            name_eq_short(name, len, shortname))
            break;
    }
    free(st);
    return err == ERR_EOF ? ERR_NOT_FOUND : err;
}

/* Mark in used[] the tails N of the short names "basis~N" in dir, and
 * whether the basis itself is taken. */
static error_t collect_tails(struct fat_fs *fs, uint32_t dir, const uint8_t basis[11],
                             uint8_t *used, bool *basis_used) {
    struct dir_pos pos = {.first = dir};
    *basis_used = false;
    for (uint32_t slot = 0;; slot++) {
        uint8_t *e, cand[11];
        error_t err = dir_slot(fs, &pos, slot, false, &e);
        if (err == ERR_EOF || (err == OK && e[0] == DE_END))
            return OK;
        if (err != OK)
            return err;
        if (e[0] == DE_FREE || is_lfn(e))
            continue;
        *basis_used |= memcmp(e, basis, 11) == 0;
        int tilde = 7;
        while (tilde > 0 && e[tilde] != '~')
            tilde--;
        uint32_t v = 0;
        for (int i = tilde + 1; i < 8 && e[i] >= '0' && e[i] <= '9' && v < TAILS_MAX; i++)
            v = v * 10 + (e[i] - '0');
        if (tilde == 0 || v == 0 || v >= TAILS_MAX)
            continue;
        name_with_tail(basis, v, cand);
        if (memcmp(cand, e, 11) == 0)
            used[v / 8] |= (uint8_t) (1u << (v % 8));
    }
}

/* A short name for long name lfn[0..n), unique in dir. */
static error_t make_short(struct fat_fs *fs, uint32_t dir, const uint16_t *lfn, size_t n,
                          uint8_t out[11]) {
    uint8_t basis[11];
    bool fits = name_basis(lfn, n, basis), basis_used;
    uint8_t *used = calloc(TAILS_MAX / 8 + 1, 1);
    if (!used)
        return ERR_NO_MEMORY;
    error_t err = collect_tails(fs, dir, basis, used, &basis_used);
    if (err == OK && fits && !basis_used) {
        memcpy(out, basis, 11);
    } else if (err == OK) {
        uint32_t v = 1;
        while (v < TAILS_MAX && (used[v / 8] & (1u << (v % 8))))
            v++;
        name_with_tail(basis, v, out);
    }
    free(used);
    return err;
}

/* Extend dir (whose last cluster is pos->cluster) by one zeroed cluster. */
static error_t dir_extend(struct fat_fs *fs, struct dir_pos *pos) {
    uint32_t c, last;
    error_t err = chain_alloc(fs, 1, true, &c, &last);
    if (err != OK)
        return err;
    err = chain_link(fs, pos->cluster, c);
    if (err != OK)
        chain_free(fs, c);
    return err;
}

/* The first slot of a run of n free slots, extending the directory if
 * needed; *at_end: the run reaches past the end marker. */
static error_t find_free_run(struct fat_fs *fs, uint32_t dir, uint32_t n, uint32_t *out,
                             bool *at_end_out) {
    struct dir_pos pos = {.first = dir};
    uint32_t run = 0;
    bool at_end = false;
    for (uint32_t slot = 0; slot < DIR_MAX_SLOTS; slot++) {
        uint8_t *e;
        error_t err = dir_slot(fs, &pos, slot, false, &e);
        if (err == ERR_EOF) {
            err = dir_extend(fs, &pos);
            if (err == OK)
                err = dir_slot(fs, &pos, slot, false, &e);
        }
        if (err != OK)
            return err;
        at_end |= e[0] == DE_END;
        run = (at_end || e[0] == DE_FREE) ? run + 1 : 0;
        if (run == n) {
            *out = slot + 1 - n;
            *at_end_out = at_end;
            return OK;
        }
    }
    return ERR_NO_SPACE;
}

/* Write the long-name entries of lfn[0..n) at slots first.. for short name sn. */
static error_t write_lfn(struct fat_fs *fs, uint32_t dir, uint32_t first, const uint16_t *lfn,
                         size_t n, const uint8_t sn[11]) {
    struct dir_pos pos = {.first = dir};
    uint32_t parts = (uint32_t) (n + LFN_CHARS - 1) / LFN_CHARS;
    for (uint32_t i = 0; i < parts; i++) {
        uint32_t ord = parts - i;
        uint8_t *e;
        error_t err = dir_slot(fs, &pos, first + i, true, &e);
        if (err != OK)
            return err;
        memset(e, 0, DIRENT_SIZE);
        e[0] = (uint8_t) (ord | (i == 0 ? LFN_LAST : 0));
        e[DE_ATTR] = ATTR_LFN;
        e[13] = name_checksum(sn);
        for (uint32_t k = 0; k < LFN_CHARS; k++) {
            size_t at = (ord - 1) * LFN_CHARS + k;
            put16(e + lfn_offsets[k], at < n ? lfn[at] : at == n ? 0 : 0xFFFF);
        }
    }
    return OK;
}

/* Entries used past the end marker: keep one after them (if the chain
 * has room) so that whatever followed the old marker stays unused. */
static error_t end_marker_after(struct fat_fs *fs, uint32_t dir, uint32_t slot) {
    struct dir_pos pos = {.first = dir};
    uint8_t *e;
    error_t err = dir_slot(fs, &pos, slot, false, &e);
    if (err == ERR_EOF)
        return OK;
    if (err == OK && e[0] != DE_END) {
        err = dir_slot(fs, &pos, slot, true, &e);
        if (err == OK)
            e[0] = DE_END;
    }
    return err;
}

error_t dir_add(struct fat_fs *fs, uint32_t dir, const char *name, size_t len,
                const uint8_t proto[DIRENT_SIZE], struct dir_entry *out) {
    uint16_t lfn[LFN_MAX];
    int n = name_to_utf16(name, len, lfn);
    if (n < 0)
        return n;
    uint8_t sn[11];
    bool long_name = !name_short_exact(name, len, sn);
    error_t err = long_name ? make_short(fs, dir, lfn, (size_t) n, sn) : OK;
    uint32_t slots = long_name ? 1 + (uint32_t) (n + LFN_CHARS - 1) / LFN_CHARS : 1, first;
    bool at_end = false;
    if (err == OK)
        err = find_free_run(fs, dir, slots, &first, &at_end);
    if (err == OK && at_end)
        err = end_marker_after(fs, dir, first + slots);
    if (err == OK && long_name)
        err = write_lfn(fs, dir, first, lfn, (size_t) n, sn);
    struct dir_pos pos = {.first = dir};
    uint8_t *e;
    if (err == OK)
        err = dir_slot(fs, &pos, first + slots - 1, true, &e);
    if (err != OK)
        return err;
    memcpy(e, proto, DIRENT_SIZE);
    memcpy(e, sn, 11);
    e[DE_NTRES] = 0;
    *out = (struct dir_entry){.dir = dir, .slot = first + slots - 1, .first_slot = first};
    memcpy(out->raw, e, DIRENT_SIZE);
    memcpy(out->name, name, MIN(len, (size_t) FAT_NAME_MAX));
    out->name[MIN(len, (size_t) FAT_NAME_MAX)] = '\0';
    return OK;
}

error_t dir_remove(struct fat_fs *fs, const struct dir_entry *e) {
    struct dir_pos pos = {.first = e->dir};
    for (uint32_t slot = e->first_slot; slot <= e->slot; slot++) {
        uint8_t *p;
        error_t err = dir_slot(fs, &pos, slot, true, &p);
        if (err != OK)
            return err;
        p[0] = DE_FREE;
    }
    return OK;
}

void dir_proto(struct fat_fs *fs, uint8_t raw[DIRENT_SIZE], uint8_t attr, uint32_t cluster) {
    uint16_t date, time;
    time_to_fat(fat_now(fs), &date, &time);
    memset(raw, 0, DIRENT_SIZE);
    memset(raw, ' ', 11);
    raw[DE_ATTR] = attr;
    put16(raw + DE_CTIME, time);
    put16(raw + DE_CDATE, date);
    put16(raw + DE_ADATE, date);
    put16(raw + DE_MTIME, time);
    put16(raw + DE_MDATE, date);
    entry_set_cluster(raw, cluster);
}

error_t dir_update(struct fat_fs *fs, const struct fat_file *f, bool touch) {
    if (f->slot == ROOT_SLOT)
        return OK;
    struct dir_pos pos = {.first = f->dir};
    uint8_t *e;
    error_t err = dir_slot(fs, &pos, f->slot, true, &e);
    if (err != OK)
        return err;
    entry_set_cluster(e, f->first);
    put32(e + DE_SIZE, f->is_dir ? 0 : f->size);
    if (touch) {
        uint16_t date, time;
        time_to_fat(fat_now(fs), &date, &time);
        put16(e + DE_MTIME, time);
        put16(e + DE_MDATE, date);
        put16(e + DE_ADATE, date);
        e[DE_ATTR] |= FAT_ATTR_ARCHIVE;
    }
    return OK;
}

error_t dir_init(struct fat_fs *fs, uint32_t cluster, uint32_t parent) {
    struct dir_pos pos = {.first = cluster};
    for (uint32_t slot = 0; slot < 2; slot++) {
        uint8_t *e;
        error_t err = dir_slot(fs, &pos, slot, true, &e);
        if (err != OK)
            return err;
        dir_proto(fs, e, FAT_ATTR_DIRECTORY, slot == 0 ? cluster : parent == fs->root ? 0 : parent);
        e[0] = '.';
        e[1] = slot == 0 ? ' ' : '.';
    }
    return OK;
}

error_t dir_is_empty(struct fat_fs *fs, uint32_t dir) {
    struct dir_pos pos = {.first = dir};
    for (uint32_t slot = 0;; slot++) {
        uint8_t *e;
        error_t err = dir_slot(fs, &pos, slot, false, &e);
        if (err == ERR_EOF || (err == OK && e[0] == DE_END))
            return OK;
        if (err != OK)
            return err;
        if (e[0] != DE_FREE && e[0] != '.' && !is_lfn(e))
            return ERR_NOT_EMPTY;
    }
}

/* The ".." entry of dir (its second slot). */
static error_t dotdot(struct fat_fs *fs, uint32_t dir, bool write, uint8_t **out) {
    struct dir_pos pos = {.first = dir};
    error_t err = dir_slot(fs, &pos, 1, write, out);
    if (err == ERR_EOF || (err == OK && memcmp(*out, "..         ", 11) != 0))
        return ERR_CORRUPT;
    return err;
}

error_t dir_parent_of(struct fat_fs *fs, uint32_t dir, uint32_t *parent) {
    uint8_t *e;
    error_t err = dotdot(fs, dir, false, &e);
    if (err == OK)
        *parent = entry_cluster(e) ? entry_cluster(e) : fs->root;
    return err;
}

error_t dir_set_parent(struct fat_fs *fs, uint32_t dir, uint32_t parent) {
    uint8_t *e;
    error_t err = dotdot(fs, dir, true, &e);
    if (err == OK)
        entry_set_cluster(e, parent == fs->root ? 0 : parent);
    return err;
}

/* The volume label: the root's volume-ID entry, else the boot sector's. */
error_t dir_label(struct fat_fs *fs, char label[12]) {
    struct dir_pos pos = {.first = fs->root};
    const uint8_t *src = (const uint8_t *) fs->bpb_label;
    for (uint32_t slot = 0;; slot++) {
        uint8_t *e;
        error_t err = dir_slot(fs, &pos, slot, false, &e);
        if (err == ERR_EOF || (err == OK && e[0] == DE_END))
            break;
        if (err != OK)
            return err;
        if (e[0] != DE_FREE && !is_lfn(e) && (e[DE_ATTR] & FAT_ATTR_VOLUME_ID)) {
            src = e;
            break;
        }
    }
    int n = 11;
    while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\0'))
        n--;
    for (int i = 0; i < n; i++)
        label[i] = (char) (src[i] >= 0x20 && src[i] < 0x7F ? src[i] : '_');
    label[n] = '\0';
    return OK;
}
