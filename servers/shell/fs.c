/*
 * The shell's file commands, over the fs interface of the fat server. The
 * shell keeps a current directory; relative paths are resolved against it
 * and "." / ".." are folded before a path is sent. Large transfers (cat,
 * cp) move pages: cp hands the pages of each read straight to the write.
 */
#include "shell.h"

#define FS_PATH_MAX 200   /* fs.idl: string[200] */
#define FS_CHUNK    (1024 * 1024)

static cid_t fs_ch = -1;
static char cwd[FS_PATH_MAX] = "/";

/* A channel to the file system; fails at once if there is none. */
static error_t fs(cid_t *ch) {
    if (fs_ch < 0) {
        error_t err = ns_find(CID_MEMMGR, "fs", &fs_ch);
        if (err) {
            fs_ch = -1;
            return err == ERR_NOT_FOUND ? ERR_UNAVAILABLE : err;
        }
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
    error_t err = resolve(argc > first ? argv[first] : ".", path);
    if (!err)
        err = fs(&ch);
    for (uint32_t index = 0; !err;) {
        char name[160];
        uint64_t size;
        uint32_t is_dir, mtime;
        err = fs_readdir(ch, path, index, &index, name, &size, &is_dir, &mtime);
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

static error_t cat_one(const char *arg) {
    cid_t ch;
    uint32_t h;
    uint64_t size, off = 0;
    error_t err = open_path(arg, 0, &ch, &h, &size);
    if (err)
        return err;
    while (!err && off < size) {
        uint64_t got, addr, len;
        err = fs_read_pages(ch, h, off, MIN(size - off, (uint64_t) FS_CHUNK), &got, &addr, &len);
        if (err)
            break;
        shell_write((const char *) addr, got);
        ipc_free_pages(addr, len);
        off += got;
        if (got == 0)
            break;
    }
    fs_close(ch, h);
    return fs_check(err);
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

error_t cmd_stat(int argc, char **argv) {
    if (argc != 2)
        return CMD_USAGE;
    char path[FS_PATH_MAX];
    cid_t ch;
    uint64_t size, mtime;
    uint32_t is_dir, attr, clusters;
    error_t err = resolve(argv[1], path);
    if (!err)
        err = fs(&ch);
    if (!err)
        err = fs_stat(ch, path, &size, &is_dir, &attr, &mtime, &clusters);
    if (err)
        return fs_check(err);
    shell_printf("%s: %s, %lu bytes, %u clusters, attributes %#x, modified ", path,
                 is_dir ? "directory" : "file", size, clusters, attr);
    print_time(mtime);
    shell_printf("\n");
    return OK;
}

error_t cmd_df(int argc, char **argv) {
    cid_t ch;
    uint32_t csize, total, free_clusters;
    char label[12];
    error_t err = argc == 1 ? fs(&ch) : CMD_USAGE;
    if (!err)
        err = fs_statfs(ch, &csize, &total, &free_clusters, label);
    if (err)
        return err == CMD_USAGE ? err : fs_check(err);
    shell_printf("volume %s: %u clusters of %u bytes, %lu KiB total, %lu KiB used, %lu KiB free\n",
                 label, total, csize, (uint64_t) total * csize / 1024,
                 (uint64_t) (total - free_clusters) * csize / 1024,
                 (uint64_t) free_clusters * csize / 1024);
    return OK;
}

error_t cmd_sync(int argc, char **argv) {
    cid_t ch;
    error_t err = argc == 1 ? fs(&ch) : CMD_USAGE;
    return err ? err : fs_check(fs_sync(ch));
}

error_t cmd_hexdump(int argc, char **argv) {
    unsigned long offset = 0, count = 256;
    if (argc < 2 || argc > 4)
        return CMD_USAGE;
    if (argc > 2)
        offset = strtoul_(argv[2], NULL, 0);
    if (argc > 3)
        count = strtoul_(argv[3], NULL, 0);
    cid_t ch;
    uint32_t h;
    uint64_t size;
    error_t err = open_path(argv[1], 0, &ch, &h, &size);
    if (err)
        return err;
    for (unsigned long pos = offset; !err && pos < offset + count && pos < size; pos += 16) {
        uint8_t line[16];
        size_t n;
        if ((err = fs_read(ch, h, pos, 16, line, &n)) || n == 0)
            break;
        n = MIN(n, offset + count - pos);
        shell_printf("%08lx ", pos);
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
    fs_close(ch, h);
    return fs_check(err);
}

error_t cmd_cd(int argc, char **argv) {
    if (argc > 2)
        return CMD_USAGE;
    char path[FS_PATH_MAX];
    cid_t ch;
    uint64_t size, mtime;
    uint32_t is_dir, attr, clusters;
    error_t err = resolve(argc == 2 ? argv[1] : "/", path);
    if (!err && strcmp(path, "/")) {
        if (!(err = fs(&ch)))
            err = fs_stat(ch, path, &size, &is_dir, &attr, &mtime, &clusters);
        if (!err && !is_dir)
            err = ERR_NOT_DIR;
    }
    if (!err)
        strcpy_safe(cwd, path, sizeof(cwd));
    return fs_check(err);
}

error_t cmd_pwd(int argc, char **argv) {
    shell_printf("%s\n", cwd);
    return argc == 1 ? OK : CMD_USAGE;
}
