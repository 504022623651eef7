/*
 * File-system benchmark (make bench): sequential write and read of a
 * 16 MiB file in 1 MiB page payloads, and the rate of creating and reading
 * small (1 KiB) files. Prints one JSON line; times come from the kernel's
 * monotonic clock.
 */
#include <user/user.h>
#include <idl.h>

#define BIG_SIZE   (16ULL * 1024 * 1024)
#define CHUNK      (1024ULL * 1024)
#define SMALL_N    200
#define SMALL_SIZE 1024

static cid_t fs;

/* count per second of ns, with two decimals (no floating point here). */
static void rate(char *out, size_t size, uint64_t count, uint64_t ns) {
    uint64_t hundredths = ns ? count * 100 * 1000000000ULL / ns : 0; /* count < 10^8 */
    snprintf(out, size, "%lu.%02lu", hundredths / 100, hundredths % 100);
}

static error_t write_big(uint64_t *ns) {
    uint32_t h, is_dir;
    uint64_t size;
    error_t err = fs_open(fs, "/fsbench.bin", 1 | 2, &h, &size, &is_dir);
    uint64_t t0 = clock_ns();
    for (uint64_t off = 0; !err && off < BIG_SIZE; off += CHUNK) {
        uint64_t addr, len, written;
        err = memmgr_alloc_pages(CID_MEMMGR, CHUNK, 0, &addr, &len);
        if (!err) {
            memset((void *) addr, (int) (off >> 20), CHUNK);
            err = fs_write_pages(fs, h, off, CHUNK, addr, len, &written);
        }
    }
    if (!err)
        err = fs_sync(fs);
    *ns = clock_ns() - t0;
    fs_close(fs, h);
    return err;
}

static error_t read_big(uint64_t *ns) {
    uint32_t h, is_dir;
    uint64_t size;
    error_t err = fs_open(fs, "/fsbench.bin", 0, &h, &size, &is_dir);
    uint64_t t0 = clock_ns();
    for (uint64_t off = 0; !err && off < size;) {
        uint64_t got, addr, len;
        err = fs_read_pages(fs, h, off, CHUNK, &got, &addr, &len);
        if (!err) {
            if (((uint8_t *) addr)[0] != (uint8_t) (off >> 20))
                err = ERR_CORRUPT;
            ipc_free_pages(addr, len);
            off += got;
        }
    }
    *ns = clock_ns() - t0;
    fs_close(fs, h);
    return err;
}

static error_t small_files(bool create, uint64_t *ns) {
    static char data[SMALL_SIZE];
    error_t err = create ? fs_mkdir(fs, "/fsbench") : OK;
    if (err == ERR_ALREADY_EXISTS)
        err = OK;
    uint64_t t0 = clock_ns();
    for (int i = 0; !err && i < SMALL_N; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/fsbench/small file %d.txt", i);
        uint32_t h, is_dir;
        uint64_t size;
        if ((err = fs_open(fs, path, create ? 1 | 2 : 0, &h, &size, &is_dir)))
            break;
        for (size_t off = 0; !err && off < SMALL_SIZE;) {
            size_t n;
            uint32_t w;
            if (create) {
                err = fs_write(fs, h, off, data + off, MIN((size_t) 200, SMALL_SIZE - off), &w);
                n = w;
            } else {
                err = fs_read(fs, h, off, 200, data + off, &n);
            }
            off += n;
            if (!n)
                break;
        }
        fs_close(fs, h);
    }
    if (!err && create)
        err = fs_sync(fs);
    *ns = clock_ns() - t0;
    return err;
}

int main(void) {
    program_name = "fsbench";
    fs = ns_connect("fs");
    uint64_t wns, rns, cns, sns;
    error_t err = fs < 0 ? fs : write_big(&wns);
    if (!err)
        err = read_big(&rns);
    if (!err)
        err = small_files(true, &cns);
    if (!err)
        err = small_files(false, &sns);
    if (err) {
        printf("fsbench: failed: %s\n", err_name(err));
        return 1;
    }
    char w[32], r[32], c[32], s[32];
    rate(w, sizeof(w), 16, wns); /* MiB */
    rate(r, sizeof(r), 16, rns);
    rate(c, sizeof(c), SMALL_N, cns);
    rate(s, sizeof(s), SMALL_N, sns);
    printf("{\"bench\":\"fs\",\"file_mib\":16,\"seq_write_mib_s\":%s,\"seq_read_mib_s\":%s,"
           "\"small_files\":%d,\"small_create_per_s\":%s,\"small_read_per_s\":%s}\n",
           w, r, SMALL_N, c, s);
    return 0;
}
