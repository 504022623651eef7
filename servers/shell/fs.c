/*
 * The shell's file commands, over the fs interface of the fat server. The
 * shell keeps a current directory; relative paths are resolved against it
 * and "." / ".." are folded before a path is sent. Large transfers (cat,
 * cp) move pages: cp hands the pages of each read straight to the write.
 *
 * When fat restarts, the old channel answers ERR_PEER_CLOSED: the commands
 * that only read (ls, cat, hexdump, stat, cd, df) look "fs" up again
 * (bounded, fs()) and resend their request, cat and hexdump from where
 * they were; the others report the error (fs_retry).
 */
#include "shell.h"

#define FS_PATH_MAX 200   /* fs.idl: string[200] */
#define FS_CHUNK    (1024 * 1024)

#define FS_WAIT_MS  15000 /* how long a command waits for fat to be back */
#define FS_POLL_MS  50
#define FS_RETRIES  3     /* times an idempotent request is sent to a new fat */

static cid_t fs_ch = -1;
static char cwd[FS_PATH_MAX] = "/";

/* Whether fat runs (perhaps still mounting) or is due to be restarted by
 * the supervisor, and so may register "fs" soon. */
static bool fs_may_come_back(void) {
    int32_t pid = 0, found, code;
    char name[32];
    uint32_t state, restarts, cause, msg;
    uint64_t started;
    while (memmgr_process_info(CID_MEMMGR, pid, &found, name, &state, &restarts, &cause, &code,
                               &msg, &started) == OK && found >= pid) {
        name[sizeof(name) - 1] = '\0';
        if (!strcmp(name, "fat") && (state == PSTATE_RUNNING || state == PSTATE_WAITING))
            return true;
        pid = found + 1;
    }
    return false;
}

/* A channel to the file system. While fat may come back, wait for it to
 * register "fs" (at most FS_WAIT_MS); else ERR_UNAVAILABLE at once. */
static error_t fs(cid_t *ch) {
    uint64_t deadline = tsc_deadline(FS_WAIT_MS);
    while (fs_ch < 0) {
        bool may = fs_may_come_back(); /* before the look-up: no race */
        error_t err = ns_find(CID_MEMMGR, "fs", &fs_ch);
        if (!err)
            break;
        fs_ch = -1;
        if (err != ERR_NOT_FOUND)
            return err;
        if (!may || tsc_past(deadline))
            return ERR_UNAVAILABLE;
        sleep_ms(FS_POLL_MS);
    }
    *ch = fs_ch;
    return OK;
}

/* After a failed call: forget a dead server so the next command reconnects. */
static error_t fs_check(error_t err) {
    if (err == ERR_PEER_CLOSED && fs_ch >= 0) {
        sys_close(fs_ch);
        fs_ch = -1;
    }
    return err;
}

/* After an idempotent request failed: true if fat went away and the
 * request may be sent again (at most FS_RETRIES times, to the fat that
 * fs() finds next). Requests that change the file system (write, cp, mv,
 * rm, mkdir, rmdir) and sync (the old server's cache is gone with it) are
 * not retried: they report ERR_PEER_CLOSED. */
static bool fs_retry(error_t err, int *tries) {
    fs_check(err);
    return err == ERR_PEER_CLOSED && (*tries)++ < FS_RETRIES;
}

/* Make path absolute and fold "." and ".." (never above "/"). */
static error_t resolve(const char *path, char *out) {
    char tmp[FS_PATH_MAX * 2];
    if (path[0] == '/')
        strcpy_safe(tmp, path, sizeof(tmp));
    else
        snprintf(tmp, sizeof(tmp), "%s/%s", cwd, path);
    size_t len = 0;
    out[0] = '\0';
    for (char *part = tmp, *next; part; part = next) {
        next = strchr(part, '/');
        if (next)
            *next++ = '\0';
        if (!*part || !strcmp(part, "."))
            continue;
        if (!strcmp(part, "..")) {
            while (len > 0 && out[--len] != '/')
                ;
            out[len] = '\0';
            continue;
        }
        if (len + 1 + strlen(part) >= FS_PATH_MAX)
            return ERR_TOO_LARGE;
        out[len++] = '/';
        strcpy_safe(out + len, part, FS_PATH_MAX - len);
        len += strlen(part);
    }
    if (len == 0)
        strcpy_safe(out, "/", FS_PATH_MAX);
    return OK;
}

static void print_time(uint64_t unix_secs) {
    if (!unix_secs) {
        shell_printf("                ");
        return;
    }
    uint64_t days = unix_secs / 86400, secs = unix_secs % 86400;
    /* civil from days (Howard Hinnant's algorithm) */
    int64_t z = days + 719468, era = z / 146097;
    uint64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    unsigned y = yoe + era * 400 + (m <= 2);
    shell_printf("%04u-%02u-%02u %02u:%02u", y, m, d, (unsigned) (secs / 3600),
                 (unsigned) (secs / 60 % 60));
}

error_t cmd_ls(int argc, char **argv) {
    bool longfmt = argc > 1 && !strcmp(argv[1], "-l");
    int first = longfmt ? 2 : 1;
    if (argc > first + 1)
        return CMD_USAGE;
    char path[FS_PATH_MAX];
    cid_t ch;
    int tries = 0;
    error_t err = resolve(argc > first ? argv[first] : ".", path);
    for (uint32_t index = 0; !err;) {
        char name[160];
        uint64_t size;
        uint32_t is_dir, mtime;
        err = fs(&ch);
        if (!err)
            err = fs_readdir(ch, path, index, &index, name, &size, &is_dir, &mtime);
        if (err && fs_retry(err, &tries)) {
            err = OK; /* the same index again: readdir keeps no state */
            continue;
        }
        if (err)
            break;
        if (longfmt) {
            shell_printf("%s %10lu  ", is_dir ? "d" : "-", size);
            print_time(mtime);
            shell_printf("  %s%s\n", name, is_dir ? "/" : "");
        } else {
            shell_printf("%s%s\n", name, is_dir ? "/" : "");
        }
    }
    return err == ERR_EOF ? OK : fs_check(err);
}

/* Open path; the caller closes the handle. */
static error_t open_path(const char *arg, uint32_t flags, cid_t *ch, uint32_t *h, uint64_t *size) {
    char path[FS_PATH_MAX];
    uint32_t is_dir;
    error_t err = resolve(arg, path);
    if (!err)
        err = fs(ch);
    if (!err)
        err = fs_open(*ch, path, flags, h, size, &is_dir);
    return fs_check(err);
}

/* Print arg from *off on, moving *off past what was printed. */
static error_t cat_from(const char *arg, uint64_t *off) {
    cid_t ch;
    uint32_t h;
    uint64_t size;
    error_t err = open_path(arg, 0, &ch, &h, &size);
    if (err)
        return err;
    while (!err && *off < size) {
        uint64_t got, addr, len;
        err = fs_read_pages(ch, h, *off, MIN(size - *off, (uint64_t) FS_CHUNK), &got, &addr,
                            &len);
        if (err)
            break;
        shell_write((const char *) addr, got);
        ipc_free_pages(addr, len);
        *off += got;
        if (got == 0)
            break;
    }
    if (err != ERR_PEER_CLOSED)
        fs_close(ch, h);
    return err;
}

/* A cat that fat's restart interrupts goes on where it was, in a new open. */
static error_t cat_one(const char *arg) {
    uint64_t off = 0;
    int tries = 0;
    error_t err;
    do
        err = cat_from(arg, &off);
    while (err && fs_retry(err, &tries));
    return err;
}

error_t cmd_cat(int argc, char **argv) {
    if (argc < 2)
        return CMD_USAGE;
    for (int i = 1; i < argc; i++) {
        error_t err = cat_one(argv[i]);
        if (err)
            return err;
    }
    return OK;
}

error_t fs_write_file(const char *arg, const char *data, size_t len) {
    return fs_write_file_at(arg, 0, data, len);
}

error_t fs_write_file_at(const char *arg, uint64_t at, const char *data, size_t len) {
    cid_t ch;
    uint32_t h;
    uint64_t size;
    error_t err = open_path(arg, at == 0 ? 1 | 2 : 1, &ch, &h, &size); /* create, truncate */
    if (err)
        return err;
    for (size_t off = 0; !err && off < len;) {
        size_t piece = MIN(len - off, (size_t) FS_CHUNK);
        if (piece <= 200) {
            uint32_t n = 0;
            err = fs_write(ch, h, at + off, data + off, piece, &n);
            off += n;
            continue;
        }
        uint64_t addr, plen, n = 0;
        err = memmgr_alloc_pages(CID_MEMMGR, ALIGN_UP(piece, PAGE_SIZE), 0, &addr, &plen);
        if (!err) {
            memcpy((void *) addr, data + off, piece);
            err = fs_write_pages(ch, h, at + off, piece, addr, plen, &n); /* takes the pages */
        }
        off += n;
    }
    fs_close(ch, h);
    return fs_check(err);
}

error_t cmd_write(int argc, char **argv) {
    if (argc < 2)
        return CMD_USAGE;
    char text[SHELL_LINE_MAX + 2] = "";
    for (int i = 2; i < argc; i++) {
        if (i > 2)
            strcat_safe(text, " ", sizeof(text));
        strcat_safe(text, argv[i], sizeof(text));
    }
    strcat_safe(text, "\n", sizeof(text));
    return fs_write_file(argv[1], text, strlen(text));
}

/* cp: each read's pages become the next write's pages. */
error_t cmd_cp(int argc, char **argv) {
    if (argc != 3)
        return CMD_USAGE;
    cid_t ch;
    uint32_t src, dst;
    uint64_t size, dsize;
    error_t err = open_path(argv[1], 0, &ch, &src, &size);
    if (err)
        return err;
    if ((err = open_path(argv[2], 1 | 2, &ch, &dst, &dsize))) {
        fs_close(ch, src);
        return err;
    }
    for (uint64_t off = 0; !err && off < size;) {
        uint64_t got, addr, len, written;
        err = fs_read_pages(ch, src, off, MIN(size - off, (uint64_t) FS_CHUNK), &got, &addr, &len);
        if (!err && got == 0)
            break;
        if (!err)
            err = fs_write_pages(ch, dst, off, got, addr, len, &written);
        off += err ? 0 : written;
    }
    fs_close(ch, src);
    fs_close(ch, dst);
    return fs_check(err);
}

static error_t path_op(int argc, char **argv, error_t (*op)(cid_t, const char *)) {
    if (argc < 2)
        return CMD_USAGE;
    for (int i = 1; i < argc; i++) {
        char path[FS_PATH_MAX];
        cid_t ch;
        error_t err = resolve(argv[i], path);
        if (!err)
            err = fs(&ch);
        if (!err)
            err = op(ch, path);
        if (err)
            return fs_check(err);
    }
    return OK;
}

error_t cmd_rm(int argc, char **argv) {
    return path_op(argc, argv, fs_unlink);
}

error_t cmd_mkdir(int argc, char **argv) {
    return path_op(argc, argv, fs_mkdir);
}

error_t cmd_rmdir(int argc, char **argv) {
    return path_op(argc, argv, fs_rmdir);
}

error_t cmd_mv(int argc, char **argv) {
    if (argc != 3)
        return CMD_USAGE;
    char from[FS_PATH_MAX], to[FS_PATH_MAX];
    cid_t ch;
    error_t err = resolve(argv[1], from);
    if (!err)
        err = resolve(argv[2], to);
    if (!err && (strlen(from) >= 108 || strlen(to) >= 108))
        err = ERR_TOO_LARGE;
    if (!err)
        err = fs(&ch);
    return fs_check(err ? err : fs_rename(ch, from, to));
}

struct stat_result {
    uint64_t size, mtime;
    uint32_t is_dir, attr, clusters;
};

/* fs.stat, sent again to a restarted fat. */
static error_t stat_path(const char *path, struct stat_result *st) {
    int tries = 0;
    error_t err;
    do {
        cid_t ch;
        err = fs(&ch);
        if (!err)
            err = fs_stat(ch, path, &st->size, &st->is_dir, &st->attr, &st->mtime,
                          &st->clusters);
    } while (err && fs_retry(err, &tries));
    return err;
}

error_t cmd_stat(int argc, char **argv) {
    if (argc != 2)
        return CMD_USAGE;
    char path[FS_PATH_MAX];
    struct stat_result st;
    error_t err = resolve(argv[1], path);
    if (!err)
        err = stat_path(path, &st);
    if (err)
        return err;
    shell_printf("%s: %s, %lu bytes, %u clusters, attributes %#x, modified ", path,
                 st.is_dir ? "directory" : "file", st.size, st.clusters, st.attr);
    print_time(st.mtime);
    shell_printf("\n");
    return OK;
}

error_t cmd_df(int argc, char **argv) {
    if (argc != 1)
        return CMD_USAGE;
    uint32_t csize, total, free_clusters;
    char label[12];
    int tries = 0;
    error_t err;
    do {
        cid_t ch;
        err = fs(&ch);
        if (!err)
            err = fs_statfs(ch, &csize, &total, &free_clusters, label);
    } while (err && fs_retry(err, &tries));
    if (err)
        return err;
    shell_printf("volume %s: %u clusters of %u bytes, %lu KiB total, %lu KiB used, %lu KiB free\n",
                 label, total, csize, (uint64_t) total * csize / 1024,
                 (uint64_t) (total - free_clusters) * csize / 1024,
                 (uint64_t) free_clusters * csize / 1024);
    return OK;
}

/* Not retried: a new fat has nothing of what the old one had to write. */
error_t cmd_sync(int argc, char **argv) {
    cid_t ch;
    error_t err = argc == 1 ? fs(&ch) : CMD_USAGE;
    return err ? err : fs_check(fs_sync(ch));
}

/* Hex lines of arg from *pos to end, moving *pos past what was printed. */
static error_t hexdump_from(const char *arg, unsigned long *pos, unsigned long end) {
    cid_t ch;
    uint32_t h;
    uint64_t size;
    error_t err = open_path(arg, 0, &ch, &h, &size);
    if (err)
        return err;
    for (; !err && *pos < end && *pos < size; *pos += 16) {
        uint8_t line[16];
        size_t n;
        if ((err = fs_read(ch, h, *pos, 16, line, &n)) || n == 0)
            break;
        n = MIN(n, end - *pos);
        shell_printf("%08lx ", *pos);
        for (size_t i = 0; i < 16; i++) {
            if (i < n)
                shell_printf(" %02x", line[i]);
            else
                shell_printf("   ");
        }
        shell_printf("  |");
        for (size_t i = 0; i < n; i++)
            shell_putc(line[i] >= 32 && line[i] < 127 ? (char) line[i] : '.');
        shell_printf("|\n");
    }
    if (err != ERR_PEER_CLOSED)
        fs_close(ch, h);
    return err;
}

error_t cmd_hexdump(int argc, char **argv) {
    unsigned long offset = 0, count = 256;
    if (argc < 2 || argc > 4)
        return CMD_USAGE;
    if (argc > 2)
        offset = strtoul_(argv[2], NULL, 0);
    if (argc > 3)
        count = strtoul_(argv[3], NULL, 0);
    unsigned long end = offset + count;
    int tries = 0;
    error_t err;
    do
        err = hexdump_from(argv[1], &offset, end);
    while (err && fs_retry(err, &tries));
    return err;
}

error_t cmd_cd(int argc, char **argv) {
    if (argc > 2)
        return CMD_USAGE;
    char path[FS_PATH_MAX];
    struct stat_result st;
    error_t err = resolve(argc == 2 ? argv[1] : "/", path);
    if (!err && strcmp(path, "/")) {
        err = stat_path(path, &st);
        if (!err && !st.is_dir)
            err = ERR_NOT_DIR;
    }
    if (!err)
        strcpy_safe(cwd, path, sizeof(cwd));
    return err;
}

error_t cmd_pwd(int argc, char **argv) {
    shell_printf("%s\n", cwd);
    return argc == 1 ? OK : CMD_USAGE;
}
