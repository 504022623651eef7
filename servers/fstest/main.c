/*
 * The in-guest file-system test, driven by its argument string:
 *
 *   fstest churn SEED FILES     create FILES files of random sizes (0 B to
 *       4 MiB) in nested directories, then overwrite, extend, truncate,
 *       leave holes, rename files and directories and delete, checking every
 *       file against a model; sync, and write /fstest/MANIFEST for the host
 *       (path, seed, size, hole) so it can check the image byte for byte.
 *   fstest verify DIR           check the files the host put in DIR against
 *       DIR/MANIFEST (written by the test on the host).
 *   fstest fill                 write until ERR_NO_SPACE, check the volume
 *       still works, free the space, sync.
 *
 * File contents are a function of (seed, offset) that the host test
 * computes the same way (tests/system/test_fs.py, content()).
 * Output: "fstest: PASS name" / "fstest: FAIL name: why", then a summary.
 */
#include <user/check.h>
#include <idl.h>

#define MAX_FILES 512
#define PATH_MAX_ 200
#define CHUNK     (256 * 1024)
#define ROOT      "/fstest"

struct file_model {
    char path[PATH_MAX_];
    uint64_t seed, size, hole_start, hole_end; /* bytes in the hole are zero */
    bool live;
};

static cid_t fs;
static struct file_model files[MAX_FILES];
static int num_files;
static uint64_t rng;
static uint8_t *buf;

static uint64_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t splitmix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* The expected byte at offset of a file: the host computes the same. */
static void expected(const struct file_model *f, uint64_t off, uint8_t *out, size_t len) {
    for (size_t i = 0; i < len; i++) {
        uint64_t pos = off + i;
        out[i] = (pos >= f->hole_start && pos < f->hole_end)
                     ? 0 : (uint8_t) (splitmix(f->seed + pos / 8) >> ((pos % 8) * 8));
    }
}

/* Random sizes: mostly small, some large, a few several MiB. */
static uint64_t random_size(void) {
    uint64_t r = rnd() % 100;
    if (r < 5)
        return 0;
    if (r < 70)
        return rnd() % 8192;
    if (r < 95)
        return rnd() % (256 * 1024);
    return rnd() % (4 * 1024 * 1024);
}

/* Write [off, off+len) of f's model content, in chunks of random sizes. */
static error_t write_range(uint32_t h, const struct file_model *f, uint64_t off, uint64_t len) {
    while (len > 0) {
        uint64_t piece = rnd() % 3 == 0 ? 1 + rnd() % 200 : CHUNK; /* MIN evaluates twice */
        uint64_t n = MIN(len, piece);
        expected(f, off, buf, n);
        error_t err;
        if (n <= 200) {
            uint32_t w;
            err = fs_write(fs, h, off, buf, n, &w);
        } else {
            uint64_t addr, plen, w;
            if ((err = memmgr_alloc_pages(CID_MEMMGR, ALIGN_UP(n, PAGE_SIZE), 0, &addr, &plen)))
                return err;
            memcpy((void *) addr, buf, n);
            err = fs_write_pages(fs, h, off, n, addr, plen, &w);
        }
        if (err)
            return err;
        off += n;
        len -= n;
    }
    return OK;
}

static error_t open_file(const char *path, uint32_t flags, uint32_t *h, uint64_t *size) {
    uint32_t is_dir;
    return fs_open(fs, path, flags, h, size, &is_dir);
}

/* Read f back through both read paths and compare with the model. */
static bool verify_file(const struct file_model *f, char *why, size_t why_len) {
    uint32_t h;
    uint64_t size;
    error_t err = open_file(f->path, 0, &h, &size);
    if (err || size != f->size) {
        snprintf(why, why_len, "%s: open %s size %lu want %lu", f->path, err_name(err),
                 err ? 0 : size, f->size);
        if (!err)
            fs_close(fs, h);
        return false;
    }
    static uint8_t want[CHUNK];
    bool ok = true;
    for (uint64_t off = 0; ok && off < size;) {
        uint64_t got = 0;
        if (off % 3 == 1) { /* sometimes the inline path */
            size_t n;
            err = fs_read(fs, h, off, 200, buf, &n);
            got = n;
        } else {
            uint64_t addr, plen;
            err = fs_read_pages(fs, h, off, MIN(size - off, (uint64_t) CHUNK), &got, &addr, &plen);
            if (!err) {
                memcpy(buf, (const void *) addr, got);
                ipc_free_pages(addr, plen);
            }
        }
        if (err || got == 0) {
            snprintf(why, why_len, "%s: read at %lu: %s", f->path, off, err_name(err));
            ok = false;
            break;
        }
        expected(f, off, want, got);
        if (memcmp(buf, want, got)) {
            snprintf(why, why_len, "%s: bytes differ near offset %lu", f->path, off);
            ok = false;
        }
        off += got;
    }
    fs_close(fs, h);
    return ok;
}

static void make_dirs(void) {
    static const char *dirs[] = {ROOT, ROOT "/a", ROOT "/a/deep", ROOT "/a/deep/deeper",
                                 ROOT "/b", ROOT "/Long Directory Name With Spaces", ROOT "/c"};
    bool ok = true;
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        error_t err = fs_mkdir(fs, dirs[i]);
        ok &= err == OK || err == ERR_ALREADY_EXISTS;
    }
    check("mkdir nested directories", ok, "mkdir failed");
}

static const char *dir_of(uint64_t r) {
    static const char *dirs[] = {ROOT, ROOT "/a", ROOT "/a/deep", ROOT "/a/deep/deeper",
                                 ROOT "/b", ROOT "/Long Directory Name With Spaces"};
    return dirs[r % ARRAY_SIZE(dirs)];
}

static void create_files(int count) {
    int bad = 0;
    char why[160] = "";
    for (int i = 0; i < count && num_files < MAX_FILES; i++) {
        struct file_model *f = &files[num_files];
        *f = (struct file_model){.seed = rnd(), .size = random_size(), .live = true};
        if (i % 3 == 0)
            snprintf(f->path, sizeof(f->path), "%s/F%d.DAT", dir_of(rnd()), i);
        else
            snprintf(f->path, sizeof(f->path), "%s/file number %d with a long name.bin",
                     dir_of(rnd()), i);
        uint32_t h;
        uint64_t size;
        error_t err = open_file(f->path, 1 | 2 | 4, &h, &size); /* create, truncate, excl */
        if (!err) {
            err = write_range(h, f, 0, f->size);
            fs_close(fs, h);
        }
        if (err && !bad++)
            snprintf(why, sizeof(why), "%s: %s", f->path, err_name(err));
        num_files++;
    }
    check("create files of random sizes", bad == 0, "%d failed; first %s", bad, why);
}

static struct file_model *random_live(void) {
    for (int tries = 0; tries < 100; tries++) {
        struct file_model *f = &files[rnd() % num_files];
        if (f->live)
            return f;
    }
    return NULL;
}

/* One random change to one file, applied to the disk and the model. */
static error_t mutate(struct file_model *f, const char **what) {
    uint32_t h;
    uint64_t size;
    error_t err = open_file(f->path, 0, &h, &size);
    if (err)
        return err;
    uint64_t r = rnd() % 5, n;
    bool no_hole = f->hole_end == 0;
    if (r == 0) {
        *what = "rewrite";
        f->seed = rnd();
        f->hole_start = f->hole_end = 0;
        err = write_range(h, f, 0, f->size);
    } else if (r == 1) {
        *what = "extend";
        n = rnd() % (64 * 1024);
        err = write_range(h, f, f->size, n);
        f->size += err ? 0 : n;
    } else if (r == 2) {
        *what = "shrink";
        f->size = f->size ? rnd() % f->size : 0;
        f->hole_end = MIN(f->hole_end, f->size);
        f->hole_start = MIN(f->hole_start, f->hole_end);
        err = fs_truncate(fs, h, f->size);
    } else if (r == 3 && no_hole) {
        *what = "grow by truncate";
        n = rnd() % (300 * 1024);
        f->hole_start = f->size;
        f->hole_end = f->size + n;
        f->size += n;
        err = fs_truncate(fs, h, f->size);
    } else if (no_hole) {
        *what = "write past the end";
        n = 1 + rnd() % (100 * 1024);
        f->hole_start = f->size;
        f->hole_end = f->size + n;
        uint64_t tail = 1 + rnd() % 5000;
        err = write_range(h, f, f->hole_end, tail);
        f->size = f->hole_end + tail;
    } else {
        *what = "none";
    }
    fs_close(fs, h);
    return err;
}

static void mutate_files(int rounds) {
    int bad = 0;
    char why[160] = "";
    for (int i = 0; i < rounds; i++) {
        struct file_model *f = random_live();
        const char *what = "?";
        error_t err = f ? mutate(f, &what) : OK;
        if (err && !bad++)
            snprintf(why, sizeof(why), "%s of %s: %s", what, f->path, err_name(err));
    }
    check("overwrite, extend, truncate and holes", bad == 0, "%d failed; first %s", bad, why);
}

static void rename_and_delete(void) {
    int bad = 0;
    for (int i = 0; i < num_files / 8; i++) {
        struct file_model *f = random_live();
        if (!f)
            break;
        char to[PATH_MAX_];
        snprintf(to, sizeof(to), "%s/renamed %d.txt", dir_of(rnd()), i);
        if (strlen(f->path) >= 108 || strlen(to) >= 108)
            continue;
        error_t err = fs_rename(fs, f->path, to);
        if (err)
            bad++;
        else
            strcpy_safe(f->path, to, sizeof(f->path));
    }
    check("rename files across directories", bad == 0, "%d renames failed", bad);

    bad = 0;
    for (int i = 0; i < num_files / 6; i++) {
        struct file_model *f = random_live();
        if (f && fs_unlink(fs, f->path) == OK)
            f->live = false;
        else if (f)
            bad++;
    }
    check("delete files", bad == 0, "%d deletes failed", bad);

    /* Move a whole directory, then fix the model's paths. */
    error_t err = fs_rename(fs, ROOT "/c", ROOT "/b/c-moved");
    check("rename a directory", err == OK, "%s", err_name(err));
    err = fs_rename(fs, ROOT "/a", ROOT "/b/a-moved");
    check("move a directory with files into another", err == OK, "%s", err_name(err));
    for (int i = 0; !err && i < num_files; i++) {
        const char *prefix = ROOT "/a/";
        if (!strncmp(files[i].path, prefix, strlen(prefix))) {
            char moved[PATH_MAX_];
            snprintf(moved, sizeof(moved), ROOT "/b/a-moved/%s", files[i].path + strlen(prefix));
            strcpy_safe(files[i].path, moved, sizeof(files[i].path));
        }
    }
    check("rmdir refuses a full directory", fs_rmdir(fs, ROOT "/b") == ERR_NOT_EMPTY, "wrong");
    check("rmdir of an empty directory", fs_rmdir(fs, ROOT "/b/c-moved") == OK, "failed");
    check("unlink of a missing file", fs_unlink(fs, ROOT "/nope") == ERR_NOT_FOUND, "wrong");
}

static void verify_all(const char *label) {
    int bad = 0, live = 0;
    char why[200] = "";
    for (int i = 0; i < num_files; i++) {
        if (!files[i].live)
            continue;
        live++;
        char w[200];
        if (!verify_file(&files[i], w, sizeof(w)) && !bad++)
            strcpy_safe(why, w, sizeof(why));
    }
    char name[80];
    snprintf(name, sizeof(name), "%s: %d files read back identical", label, live);
    check(name, bad == 0, "%d differ; first %s", bad, why);
}

/* The list the host test reads: "seed size hole_start hole_end path". */
static void write_manifest(void) {
    uint32_t h;
    uint64_t size, off = 0;
    error_t err = open_file(ROOT "/MANIFEST", 1 | 2, &h, &size);
    for (int i = 0; !err && i < num_files; i++) {
        if (!files[i].live)
            continue;
        char line[260];
        int n = snprintf(line, sizeof(line), "%lu %lu %lu %lu %s\n", files[i].seed,
                         files[i].size, files[i].hole_start, files[i].hole_end, files[i].path);
        for (int done = 0; !err && done < n;) {
            uint32_t w;
            err = fs_write(fs, h, off, line + done, MIN(n - done, 200), &w);
            done += w;
            off += w;
        }
    }
    if (!err)
        fs_close(fs, h);
    check("write the manifest", err == OK, "%s", err_name(err));
}

static void churn(uint64_t seed, int count) {
    rng = seed * 2654435761ULL + 1;
    make_dirs();
    create_files(count);
    verify_all("after create");
    mutate_files(count);
    verify_all("after changes");
    rename_and_delete();
    verify_all("after renames and deletes");
    write_manifest();
    check("sync", fs_sync(fs) == OK, "failed");
}

/* Files the host wrote: MANIFEST lines "seed size path". */
static void verify_host_files(const char *dir) {
    char path[PATH_MAX_];
    snprintf(path, sizeof(path), "%s/MANIFEST", dir);
    uint32_t h;
    uint64_t size;
    error_t err = open_file(path, 0, &h, &size);
    static char text[16384]; /* buf is verify_file's */
    check("open the host's manifest", err == OK && size < sizeof(text), "%s: %s", path,
          err_name(err));
    if (err || size >= sizeof(text))
        return;
    size_t got = 0;
    while (got < size) {
        size_t n;
        if (fs_read(fs, h, got, 200, text + got, &n) || n == 0)
            break;
        got += n;
    }
    fs_close(fs, h);
    text[got] = '\0';
    int count = 0, bad = 0;
    char why[200] = "";
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *end;
        struct file_model f = {.seed = strtoul_(line, &end, 10), .live = true};
        f.size = strtoul_(end, &end, 10);
        snprintf(f.path, sizeof(f.path), "%s/%s", dir, end + 1);
        char w[200];
        count++;
        if (!verify_file(&f, w, sizeof(w)) && !bad++)
            strcpy_safe(why, w, sizeof(why));
    }
    char name[80];
    snprintf(name, sizeof(name), "%d files written by the host read identical", count);
    check(name, count > 0 && bad == 0, "%d differ; first %s", bad, why);
}

static void fill(void) {
    rng = 0x5eed; /* xorshift stays 0 forever from a 0 state */
    uint32_t h;
    uint64_t size, off = 0;
    error_t err = open_file("/fill.bin", 1 | 2, &h, &size);
    struct file_model f = {.seed = 7, .live = true};
    strcpy_safe(f.path, "/fill.bin", sizeof(f.path));
    /* A write that does not fit fails whole (docs/fat.md): halve the
     * piece until not even one byte fits. */
    for (uint64_t piece = CHUNK; piece > 0;) {
        err = write_range(h, &f, off, piece);
        if (!err)
            off += piece;
        else if (err == ERR_NO_SPACE)
            piece /= 2;
        else
            break;
    }
    check("a full disk gives ERR_NO_SPACE", err == ERR_NO_SPACE, "got %s after %lu bytes",
          err_name(err), off);
    uint64_t fsize;
    uint32_t is_dir, attr, clusters;
    uint64_t mtime;
    err = fs_stat(fs, "/fill.bin", &fsize, &is_dir, &attr, &mtime, &clusters);
    check("the full file is consistent", err == OK && fsize >= off, "%s size %lu written %lu",
          err_name(err), fsize, off);
    uint32_t h2;
    err = open_file("/another.txt", 1, &h2, &size);
    if (!err) {
        uint32_t w;
        err = fs_write(fs, h2, 0, "x", 1, &w);
        fs_close(fs, h2);
    }
    check("nothing more fits", err == ERR_NO_SPACE, "got %s", err_name(err));
    fs_close(fs, h);
    err = fs_unlink(fs, "/fill.bin");
    check("deleting frees the space", err == OK, "%s", err_name(err));
    err = fs_unlink(fs, "/another.txt");
    err = open_file("/after.txt", 1 | 2, &h, &size);
    if (!err) {
        uint32_t w;
        err = fs_write(fs, h, 0, "after\n", 6, &w);
        fs_close(fs, h);
    }
    check("the volume works after being full", err == OK, "%s", err_name(err));
    check("sync", fs_sync(fs) == OK, "failed");
}

int main(void) {
    program_name = "fstest";
    char args[128];
    strcpy_safe(args, program_args(), sizeof(args));
    buf = malloc(CHUNK + 1);
    fs = ns_connect("fs");
    if (fs < 0 || !buf) {
        printf("fstest: FAIL set-up: no file system: %s\n", err_name(fs));
        printf("fstest: 0 passed, 1 failed\n");
        return 1;
    }
    char *rest;
    if (!strncmp(args, "churn ", 6)) {
        uint64_t seed = strtoul_(args + 6, &rest, 10);
        churn(seed, (int) strtoul_(rest, NULL, 10));
    } else if (!strncmp(args, "verify ", 7)) {
        verify_host_files(args + 7);
    } else if (!strcmp(args, "fill")) {
        fill();
    } else {
        printf("fstest: usage: churn SEED FILES | verify DIR | fill\n");
        return 2;
    }
    return check_summary();
}
