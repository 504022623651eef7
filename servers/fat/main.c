/*
 * The fat server: the `fs` interface over the FAT32 core (fat.h), which
 * reaches the disk through a struct fat_disk that this file implements over
 * the `blk` interface. Sector data travels to and from the disk driver (ide
 * or ahci) in a page buffer that goes back and forth with each request.
 * Open files are handles owned by the client channel that opened them.
 *
 * When the disk driver dies, a request waits (bounded) for "blk" to be
 * registered again, checks that the new driver has the same volume and is
 * sent again (disk_io; docs/fat.md "When the disk driver restarts").
 */
#include <user/server.h>
#include <idl.h>
#include "fat.h"

#define MAX_HANDLES   256
#define CACHE_BLOCKS  1024 /* 4 MiB of cached disk blocks */
#define MAX_UNITS     4
#define PAGES_MAX     (4ULL * 1024 * 1024)
#define FAT_EPOCH     315532800ULL /* 1980-01-01 in seconds since 1970 */
#define BLK_POLL_MS   20

/* The disk drivers of servers/boot.manifest. Each registers "blk" once it
 * has found a disk, or ends; the first to register serves. */
static const char *const blk_drivers[] = {"ide", "ahci"};

/* How long one disk request waits for a disk driver that went away to be
 * back (restarted by the supervisor or by hand) before it fails. */
#define BLK_WAIT_MS 12000

enum blk_op { BLK_OP_READ, BLK_OP_WRITE, BLK_OP_FLUSH };

/* Where the volume is: a channel to "blk" (-1 while the driver is gone)
 * and the unit. */
struct blk_target {
    cid_t ch;
    uint32_t unit;
};

struct blk_dev {
    struct blk_target at;
    uint64_t sectors;      /* the unit's size when mounted */
    bool gave_up;          /* the last wait for a driver ran out */
    uint64_t buf, buf_len; /* the page buffer, here or at the driver */
};

struct handle {
    cid_t owner;
    struct fat_file *file;
};

static struct blk_dev dev = {.at = {.ch = -1}};
static struct fat_fs *fs;
static struct handle handles[MAX_HANDLES];

/* ---- the disk seam over blk ----------------------------------------------- */

static error_t ensure_buffer(struct blk_dev *d, uint64_t bytes) {
    uint64_t need = ALIGN_UP(bytes, PAGE_SIZE);
    if (d->buf_len >= need)
        return OK;
    if (d->buf_len)
        ipc_free_pages(d->buf, d->buf_len);
    d->buf_len = 0;
    error_t err = memmgr_alloc_pages(CID_MEMMGR, need, 0, &d->buf, &d->buf_len);
    if (err)
        d->buf_len = 0;
    return err;
}

/* After a blk call: the pages are back at a new address, or lost with an
 * error (a driver that died took them with it). */
static error_t buffer_back(struct blk_dev *d, error_t err, uint64_t addr, uint64_t len) {
    if (err) {
        d->buf_len = 0;
        return err;
    }
    d->buf = addr;
    d->buf_len = len;
    return OK;
}

/* One blk request to t, the data copied through the page buffer. */
static error_t blk_once(struct blk_dev *d, struct blk_target t, enum blk_op op, uint64_t sector,
                        uint32_t count, void *data) {
    if (op == BLK_OP_FLUSH)
        return blk_flush(t.ch, t.unit);
    uint64_t bytes = (uint64_t) count * FAT_SECTOR_SIZE, addr, len;
    error_t err = ensure_buffer(d, bytes);
    if (err)
        return err;
    if (op == BLK_OP_WRITE) {
        memcpy((void *) d->buf, data, bytes);
        err = blk_write(t.ch, t.unit, sector, count, d->buf, d->buf_len, &addr, &len);
        return buffer_back(d, err, addr, len);
    }
    err = blk_read(t.ch, t.unit, sector, count, d->buf, d->buf_len, &addr, &len);
    if ((err = buffer_back(d, err, addr, len)))
        return err;
    memcpy(data, (const void *) d->buf, bytes);
    return OK;
}

/* Whether a disk driver is still running or about to be restarted by the
 * supervisor (and so may register "blk"). */
static bool blk_driver_running(void) {
    int32_t pid = 0, found;
    char name[32];
    uint32_t state, restarts, cause, msg;
    int32_t code;
    uint64_t started;
    while (memmgr_process_info(CID_MEMMGR, pid, &found, name, &state, &restarts, &cause, &code,
                               &msg, &started) == OK && found >= pid) {
        name[sizeof(name) - 1] = '\0';
        for (size_t i = 0; i < ARRAY_SIZE(blk_drivers); i++)
            if (!strcmp(name, blk_drivers[i])
                && (state == PSTATE_RUNNING || state == PSTATE_WAITING))
                return true;
        pid = found + 1;
    }
    return false;
}

/* A channel to "blk", or ERR_NOT_FOUND once every disk driver has ended
 * without registering it (a machine without disks). The drivers are
 * started before fat (manifest order), so one that has not registered yet
 * is still probing. */
static cid_t blk_connect(void) {
    for (;;) {
        bool running = blk_driver_running(); /* before the look-up: no race */
        cid_t ch;
        error_t err = ns_find(CID_MEMMGR, "blk", &ch);
        if (err != ERR_NOT_FOUND)
            return err ? err : ch;
        if (!running)
            return ERR_NOT_FOUND;
        sleep_ms(BLK_POLL_MS);
    }
}

/* ---- when the disk driver restarts ------------------------------------------ */

struct blk_probe {
    struct blk_dev *d;
    struct blk_target t;
};

static error_t probe_read(void *ctx, uint64_t sector, uint32_t count, void *out) {
    struct blk_probe *p = ctx;
    return blk_once(p->d, p->t, BLK_OP_READ, sector, count, out);
}

/* Find our volume behind a new "blk" channel: the unit we had first, then
 * the others (another driver may number its disks differently). */
static error_t blk_find_volume(struct blk_dev *d, cid_t ch) {
    for (uint32_t i = 0; i < MAX_UNITS; i++) {
        struct blk_probe p = {d, {ch, (d->at.unit + i) % MAX_UNITS}};
        uint64_t sectors;
        uint32_t sector_size, lba48;
        char model[41];
        error_t err = blk_info(ch, p.t.unit, &sectors, &sector_size, &lba48, model);
        if (err == ERR_PEER_CLOSED)
            return err;
        if (err || sector_size != FAT_SECTOR_SIZE)
            continue;
        struct fat_disk disk = {&p, probe_read, NULL, NULL, sectors, NULL};
        err = fat_same_volume(fs, &disk);
        if (err == OK) {
            d->at = p.t;
            return OK;
        }
        if (err != ERR_NOT_FOUND)
            return err;
    }
    return ERR_NOT_FOUND;
}

/* Wait (until deadline) for "blk" to be registered again by a driver that
 * serves our volume, and use it. ERR_UNAVAILABLE if none comes or the one
 * that comes has another disk: then the cache keeps what it holds, dirty
 * blocks included, and a later request tries again. */
static error_t blk_reconnect(struct blk_dev *d, uint64_t deadline) {
    for (;;) {
        cid_t ch;
        error_t err = ns_find(CID_MEMMGR, "blk", &ch);
        if (err == OK) {
            err = blk_find_volume(d, ch);
            if (err == OK) {
                d->at.ch = ch;
                d->gave_up = false;
                printf("fat: the disk driver is back: disk %u holds our volume; "
                       "going on\n", d->at.unit);
                return OK;
            }
            sys_close(ch);
            if (err == ERR_NOT_FOUND) {
                printf("fat: the disk driver is back without our volume (no disk has its "
                       "size and boot sector): not using it\n");
                return ERR_UNAVAILABLE;
            }
            if (err != ERR_PEER_CLOSED)
                return err;
        } else if (err != ERR_NOT_FOUND) {
            return err;
        }
        if (tsc_past(deadline))
            break;
        sleep_ms(BLK_POLL_MS);
    }
    if (!d->gave_up)
        printf("fat: no disk driver came back within %u s: requests fail with %s until "
               "one does\n", BLK_WAIT_MS / 1000, err_name(ERR_UNAVAILABLE));
    d->gave_up = true;
    return ERR_UNAVAILABLE;
}

/* One disk request as the core asked for it. When the driver went away
 * (ERR_PEER_CLOSED) the request waits up to BLK_WAIT_MS for it to be
 * back and is sent again: block reads and writes are idempotent. After a
 * wait that ran out, later requests wait again only while a disk driver
 * runs or is due to restart; otherwise they look once and fail at once. */
static error_t disk_io(struct blk_dev *d, enum blk_op op, uint64_t sector, uint32_t count,
                       void *data) {
    uint64_t deadline = 0;
    for (;;) {
        if (d->at.ch >= 0) {
            error_t err = blk_once(d, d->at, op, sector, count, data);
            if (err != ERR_PEER_CLOSED || !fs)
                return err; /* before the mount there is nothing to lose */
            printf("fat: the disk driver went away: waiting up to %u s for it\n",
                   BLK_WAIT_MS / 1000);
            sys_close(d->at.ch);
            d->at.ch = -1;
        }
        if (!deadline) {
            bool wait = !d->gave_up || blk_driver_running();
            deadline = tsc_deadline(wait ? BLK_WAIT_MS : 0);
        }
        error_t err = blk_reconnect(d, deadline);
        if (err)
            return err;
    }
}

static error_t disk_read(void *ctx, uint64_t sector, uint32_t count, void *out) {
    return disk_io(ctx, BLK_OP_READ, sector, count, out);
}

static error_t disk_write(void *ctx, uint64_t sector, uint32_t count, const void *data) {
    return disk_io(ctx, BLK_OP_WRITE, sector, count, (void *) data);
}

static error_t disk_flush(void *ctx) {
    return disk_io(ctx, BLK_OP_FLUSH, 0, 0, NULL);
}

static uint32_t disk_now(void *ctx) {
    uint64_t t = unix_time();
    return t > FAT_EPOCH ? (uint32_t) (t - FAT_EPOCH) : 0;
}

/* Mount the first unit that holds a FAT32 volume. */
static error_t mount_first_volume(void) {
    error_t err = ERR_NOT_FOUND;
    for (uint32_t unit = 0; unit < MAX_UNITS; unit++) {
        uint64_t sectors;
        uint32_t sector_size, lba48;
        char model[41];
        if (blk_info(dev.at.ch, unit, &sectors, &sector_size, &lba48, model) != OK
            || sector_size != FAT_SECTOR_SIZE)
            continue;
        dev.at.unit = unit;
        dev.sectors = sectors;
        struct fat_disk disk = {&dev, disk_read, disk_write, disk_flush, sectors, disk_now};
        err = fat_mount(&disk, CACHE_BLOCKS, &fs);
        if (err == OK) {
            printf("fat: mounted the FAT32 volume of disk %u (%s, %lu MiB)\n", unit, model,
                   sectors / 2048);
            return OK;
        }
        printf("fat: disk %u (%s): no FAT32 volume: %s\n", unit, model, err_name(err));
    }
    return err;
}

/* ---- handles ---------------------------------------------------------------- */

static struct handle *handle_get(cid_t from, uint32_t h) {
    if (h >= MAX_HANDLES || !handles[h].file || handles[h].owner != from)
        return NULL;
    return &handles[h];
}

static error_t handle_new(cid_t from, struct fat_file *f, uint32_t *h) {
    for (uint32_t i = 0; i < MAX_HANDLES; i++) {
        if (!handles[i].file) {
            handles[i] = (struct handle){from, f};
            *h = i;
            return OK;
        }
    }
    return ERR_NO_RESOURCES;
}

static void handle_close(struct handle *h) {
    fat_close(fs, h->file);
    h->file = NULL;
}

#define GET_FILE(var, from, h)                    \
    struct handle *var = handle_get(from, h);     \
    if (!var)                                     \
        return ERR_NOT_FOUND

/* ---- the fs interface -------------------------------------------------------- */

static error_t fs_open_h(void *ctx, cid_t from, const char *path, uint32_t flags,
                         uint32_t *handle, uint64_t *size, uint32_t *is_dir) {
    if (flags & ~(FAT_OPEN_CREATE | FAT_OPEN_TRUNCATE | FAT_OPEN_EXCL | FAT_OPEN_DIR))
        return ERR_INVALID_ARG;
    struct fat_file *f;
    error_t err = fat_open(fs, path, flags, &f);
    if (err)
        return err;
    if ((err = handle_new(from, f, handle))) {
        fat_close(fs, f);
        return err;
    }
    *size = fat_file_size(f);
    *is_dir = fat_file_is_dir(f);
    return OK;
}

static error_t fs_close_h(void *ctx, cid_t from, uint32_t h) {
    GET_FILE(hd, from, h);
    handle_close(hd);
    return OK;
}

static error_t fs_read_h(void *ctx, cid_t from, uint32_t h, uint64_t offset, uint32_t len,
                         void *data, size_t *data_len) {
    GET_FILE(hd, from, h);
    return fat_read(fs, hd->file, offset, data, MIN(len, 200u), data_len);
}

static error_t fs_read_pages_h(void *ctx, cid_t from, uint32_t h, uint64_t offset, uint64_t len,
                               uint64_t *out_len, uint64_t *addr, uint64_t *pages_len) {
    GET_FILE(hd, from, h);
    if (len > PAGES_MAX)
        return ERR_INVALID_ARG;
    uint64_t a, l;
    error_t err = memmgr_alloc_pages(CID_MEMMGR, MAX(ALIGN_UP(len, PAGE_SIZE), PAGE_SIZE), 0, &a,
                                     &l);
    if (err)
        return err;
    size_t got = 0;
    if ((err = fat_read(fs, hd->file, offset, (void *) a, len, &got))) {
        ipc_free_pages(a, l);
        return err;
    }
    *out_len = got;
    *addr = a;
    *pages_len = l;
    return OK;
}

static error_t fs_write_h(void *ctx, cid_t from, uint32_t h, uint64_t offset, const void *data,
                          size_t len, uint32_t *written) {
    GET_FILE(hd, from, h);
    size_t n = 0;
    error_t err = fat_write(fs, hd->file, offset, data, len, &n);
    *written = n;
    return err;
}

static error_t fs_write_pages_h(void *ctx, cid_t from, uint32_t h, uint64_t offset,
                                uint64_t len, uint64_t addr, uint64_t pages_len,
                                uint64_t *written) {
    GET_FILE(hd, from, h);
    if (len > pages_len)
        return ERR_INVALID_ARG;
    size_t n = 0;
    error_t err = fat_write(fs, hd->file, offset, (const void *) addr, len, &n);
    if (err)
        return err; /* the server loop returns the pages */
    ipc_free_pages(addr, pages_len);
    *written = n;
    return OK;
}

static error_t fs_truncate_h(void *ctx, cid_t from, uint32_t h, uint64_t size) {
    GET_FILE(hd, from, h);
    return fat_truncate(fs, hd->file, size);
}

static error_t fs_stat_h(void *ctx, cid_t from, const char *path, uint64_t *size,
                         uint32_t *is_dir, uint32_t *attr, uint64_t *mtime, uint32_t *clusters) {
    struct fat_stat st;
    error_t err = fat_stat(fs, path, &st);
    if (err)
        return err;
    *size = st.size;
    *is_dir = st.is_dir;
    *attr = st.attr;
    *mtime = st.mtime ? st.mtime + FAT_EPOCH : 0;
    *clusters = st.clusters;
    return OK;
}

static error_t fs_readdir_h(void *ctx, cid_t from, const char *path, uint32_t index,
                            uint32_t *next, char *name, uint64_t *size, uint32_t *is_dir,
                            uint32_t *mtime) {
    struct fat_dirent e;
    error_t err = fat_readdir(fs, path, &index, &e);
    if (err)
        return err;
    if (strlen(e.name) >= 160)
        return ERR_TOO_LARGE;
    strcpy_safe(name, e.name, 160);
    *next = index;
    *size = e.size;
    *is_dir = e.is_dir;
    *mtime = e.mtime ? (uint32_t) (e.mtime + FAT_EPOCH) : 0;
    return OK;
}

static error_t fs_mkdir_h(void *ctx, cid_t from, const char *path) {
    return fat_mkdir(fs, path);
}

static error_t fs_rmdir_h(void *ctx, cid_t from, const char *path) {
    return fat_rmdir(fs, path);
}

static error_t fs_unlink_h(void *ctx, cid_t from, const char *path) {
    return fat_unlink(fs, path);
}

static error_t fs_rename_h(void *ctx, cid_t from, const char *old, const char *new) {
    return fat_rename(fs, old, new);
}

static error_t fs_sync_h(void *ctx, cid_t from) {
    return fat_sync(fs);
}

static error_t fs_statfs_h(void *ctx, cid_t from, uint32_t *cluster_size,
                           uint32_t *total, uint32_t *free_clusters, char *label) {
    struct fat_statfs st;
    error_t err = fat_statfs(fs, &st);
    if (err)
        return err;
    *cluster_size = st.cluster_size;
    *total = st.total_clusters;
    *free_clusters = st.free_clusters;
    strcpy_safe(label, st.label, 12);
    return OK;
}

static const struct fs_server_ops ops = {
    .open = fs_open_h,
    .close = fs_close_h,
    .read = fs_read_h,
    .read_pages = fs_read_pages_h,
    .write = fs_write_h,
    .write_pages = fs_write_pages_h,
    .truncate = fs_truncate_h,
    .stat = fs_stat_h,
    .readdir = fs_readdir_h,
    .mkdir = fs_mkdir_h,
    .rmdir = fs_rmdir_h,
    .unlink = fs_unlink_h,
    .rename = fs_rename_h,
    .sync = fs_sync_h,
    .statfs = fs_statfs_h,
};

static bool dispatch(struct server *s, const struct message *m, struct message *reply) {
    return fs_dispatch(&ops, s, m, reply);
}

/* A client went away: its open files close with it. */
static void client_closed(struct server *s, cid_t from) {
    for (int i = 0; i < MAX_HANDLES; i++)
        if (handles[i].file && handles[i].owner == from)
            handle_close(&handles[i]);
}

int main(void) {
    program_name = "fat";
    dev.at.ch = blk_connect();
    if (dev.at.ch == ERR_NOT_FOUND) {
        printf("fat: nothing to serve: %s (no disk driver found a disk)\n",
               err_name(ERR_NOT_FOUND));
        return 0; /* not a failure: the supervisor leaves it down */
    }
    if (dev.at.ch < 0) {
        printf("fat: no block device service: %s\n", err_name(dev.at.ch));
        return 1;
    }
    error_t err = mount_first_volume();
    if (err) {
        printf("fat: nothing to serve: %s\n", err_name(err));
        return 0; /* no volume: starting again would find none either */
    }
    static struct server s = {.dispatch = dispatch, .closed = client_closed};
    if ((err = server_init(&s, "fs"))) {
        printf("fat: cannot register: %s\n", err_name(err));
        return 1;
    }
    server_run(&s);
}
