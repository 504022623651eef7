/*
 * idetest: the in-guest test of the disk drivers through the blk
 * interface: whichever registered "blk", ide (tests/system/test_ide.py) or
 * ahci (tests/system/test_ahci.py).
 *
 * It needs two disks: a small one (at least 32 MiB) and one larger than
 * 2^28 sectors (a sparse image), at any of units 0-3; it overwrites parts
 * of both, and reads the first and last sector of every unit. The host
 * has written the pattern of seed HOST_SEED to sectors HOST_LBA.. of the
 * small disk. It writes
 * sector patterns across single-sector, multi-sector (up to 4 MiB) and
 * LBA48 requests, reads them back, checks the refusals (range, buffer size,
 * unit) and that refused or abandoned requests leak no pages, runs clients
 * in parallel and flushes.
 *
 * Every sector it writes holds "FUMI-IDE", its LBA (u64 LE), the unit and
 * a seed, then bytes (i * 7 + lba * 13 + seed) & 0xff; each region written
 * is reported as "idetest: wrote unit U lba L count N seed S" so the host
 * can find the same bytes in the images afterwards.
 *
 * "run idetest errors" instead tests device errors on unit 1 (a disk that
 * fails some sectors; test_device_errors()).
 *
 * Output: "idetest: PASS name" / "idetest: FAIL name: why" lines and a
 * closing "idetest: N passed, M failed"; the exit code is M != 0.
 */
#include <user/check.h>
#include <idl.h>

#define SECTOR       512
#define MAX_SECTORS  8192 /* one request: 4 MiB */
#define LBA28_LIMIT  (1ULL << 28)
#define NUM_WORKERS  4
#define WORKER_ROUNDS 3
#define WORKER_COUNT 48u /* sectors per worker request */
#define SMALL_MIN_SECTORS 65536 /* the small disk: its regions end below 54000 */
#define SUSTAINED_CALLS 1000
#define HOST_LBA        60000 /* the host wrote its pattern here, seed HOST_SEED */
#define HOST_COUNT      64
#define HOST_SEED       77
#define ERROR_UNIT      1   /* "idetest errors" */
#define ERROR_READ_LBA  100
#define ERROR_WRITE_LBA 200

static cid_t blk;
static uint32_t small_unit, big_unit, absent_unit = 4; /* found by test_info() */
static uint64_t small_sectors, big_sectors;

/* ---- buffers and patterns -------------------------------------------------- */

struct buf {
    uint64_t addr;
    uint64_t len;
};

static error_t buf_alloc(struct buf *b, uint64_t len) {
    len = (len + PAGE_SIZE - 1) & ~(uint64_t) (PAGE_SIZE - 1);
    return memmgr_alloc_pages(CID_MEMMGR, len, 0, &b->addr, &b->len);
}

static void buf_free(struct buf *b) {
    if (b->len)
        ipc_free_pages(b->addr, b->len);
    b->len = 0;
}

static void fill_sector(uint8_t *p, uint32_t unit, uint64_t lba, uint8_t seed) {
    for (int i = 0; i < SECTOR; i++)
        p[i] = (uint8_t) (i * 7 + lba * 13 + seed);
    memcpy(p, "FUMI-IDE", 8);
    memcpy(p + 8, &lba, 8);
    p[16] = (uint8_t) unit;
    p[17] = seed;
}

/* The first sector of [lba, lba+count) that does not hold its pattern, or
 * count when all do. */
static uint32_t first_bad_sector(const uint8_t *data, uint32_t unit, uint64_t lba,
                                 uint32_t count, uint8_t seed) {
    uint8_t want[SECTOR];
    for (uint32_t s = 0; s < count; s++) {
        fill_sector(want, unit, lba + s, seed);
        if (memcmp(data + (size_t) s * SECTOR, want, SECTOR))
            return s;
    }
    return count;
}

/* ---- blk requests ---------------------------------------------------------- */

/* Write the pattern of [lba, lba+count) from b (allocated if empty); b
 * holds the pages that came back (empty after an error). */
static error_t write_pattern(cid_t ch, struct buf *b, uint32_t unit, uint64_t lba,
                             uint32_t count, uint8_t seed, bool report) {
    error_t err = b->len ? OK : buf_alloc(b, (uint64_t) count * SECTOR);
    if (err)
        return err;
    for (uint32_t s = 0; s < count; s++)
        fill_sector((uint8_t *) b->addr + (size_t) s * SECTOR, unit, lba + s, seed);
    uint64_t sent = b->len;
    err = blk_write(ch, unit, lba, count, b->addr, b->len, &b->addr, &b->len);
    if (err) {
        b->len = 0;
        return err;
    }
    if (b->len != sent)
        return ERR_BAD_PAGE; /* the pages did not all come back */
    if (report)
        printf("idetest: wrote unit %u lba %llu count %u seed %u\n", unit,
               (unsigned long long) lba, count, seed);
    return OK;
}

/* Read [lba, lba+count) into b (allocated if empty) and compare; *bad is
 * the first wrong sector. */
static error_t read_pattern(cid_t ch, struct buf *b, uint32_t unit, uint64_t lba,
                            uint32_t count, uint8_t seed, uint32_t *bad) {
    *bad = count;
    error_t err = b->len ? OK : buf_alloc(b, (uint64_t) count * SECTOR);
    if (err)
        return err;
    memset((void *) b->addr, 0xee, b->len);
    uint64_t sent = b->len;
    err = blk_read(ch, unit, lba, count, b->addr, b->len, &b->addr, &b->len);
    if (err) {
        b->len = 0;
        return err;
    }
    if (b->len != sent)
        return ERR_BAD_PAGE;
    *bad = first_bad_sector((const uint8_t *) b->addr, unit, lba, count, seed);
    return *bad == count ? OK : ERR_CORRUPT;
}

/* Read and compare with fresh pages, freed afterwards. */
static error_t verify(uint32_t unit, uint64_t lba, uint32_t count, uint8_t seed,
                      uint32_t *bad) {
    struct buf b = {0, 0};
    error_t err = read_pattern(blk, &b, unit, lba, count, seed, bad);
    buf_free(&b);
    return err;
}

/* Write, read back and compare one region: one PASS/FAIL line. */
static void round_trip(const char *name, uint32_t unit, uint64_t lba, uint32_t count,
                       uint8_t seed) {
    struct buf b = {0, 0};
    uint64_t t0 = clock_ns();
    error_t err = write_pattern(blk, &b, unit, lba, count, seed, true);
    uint64_t t1 = clock_ns();
    uint32_t bad = count;
    if (!err) {
        memset((void *) b.addr, 0, b.len);
        err = read_pattern(blk, &b, unit, lba, count, seed, &bad);
    }
    uint64_t t2 = clock_ns();
    buf_free(&b);
    check(name, err == OK, "unit %u lba %llu count %u: %s (first bad sector %u)", unit,
          (unsigned long long) lba, count, err_name(err), bad);
    if (!err && count >= 1024)
        printf("idetest: %s: write %llu KiB/s, read %llu KiB/s\n", name,
               (unsigned long long) (count / 2 * 1000000000ULL / MAX(t1 - t0, 1)),
               (unsigned long long) (count / 2 * 1000000000ULL / MAX(t2 - t1, 1)));
}

/* A request the driver must refuse: the pages are gone either way. */
static error_t refused(uint32_t unit, uint64_t lba, uint32_t count, uint64_t pages_len,
                       bool write) {
    struct buf b;
    error_t err = buf_alloc(&b, pages_len);
    if (err)
        return err;
    uint64_t addr = 0, len = 0;
    err = write ? blk_write(blk, unit, lba, count, b.addr, b.len, &addr, &len)
                : blk_read(blk, unit, lba, count, b.addr, b.len, &addr, &len);
    if (!err) {
        struct buf back = {addr, len};
        buf_free(&back);
    }
    return err;
}

static uint64_t free_pages_now(void) {
    uint64_t pages = 0, total = 0;
    memmgr_memory(CID_MEMMGR, &pages, &total);
    return pages;
}

/* Free pages of the kernel's pool (page tables), for the log. */
static uint32_t kernel_pool_free(void) {
    uint32_t procs, procs_max, threads, threads_max, chans, chans_max, pool = 0, pool_free = 0;
    uint64_t fast, slow;
    kernel_stats(CID_KERNEL, &procs, &procs_max, &threads, &threads_max, &chans, &chans_max,
                 &pool, &pool_free, &fast, &slow);
    return pool_free;
}

/* Read one sector into fresh pages (freed afterwards). */
static error_t read_sector(uint32_t unit, uint64_t lba) {
    struct buf b;
    error_t err = buf_alloc(&b, SECTOR);
    if (err)
        return err;
    err = blk_read(blk, unit, lba, 1, b.addr, b.len, &b.addr, &b.len);
    if (err)
        b.len = 0;
    buf_free(&b);
    return err;
}

/* ---- the tests --------------------------------------------------------------- */

/* Every unit answers with sane values or ERR_NOT_FOUND; the first small
 * disk and the first beyond 2^28 sectors are the ones the tests use. */
static void test_info(void) {
    for (uint32_t unit = 0; unit < 4; unit++) {
        uint64_t sectors = 0;
        uint32_t size = 0, lba48 = 0;
        char model[41] = "", name[32];
        error_t err = blk_info(blk, unit, &sectors, &size, &lba48, model);
        if (err)
            printf("idetest: unit %u: %s\n", unit, err_name(err));
        else
            printf("idetest: unit %u: \"%s\" sectors %llu size %u lba48 %u\n", unit, model,
                   (unsigned long long) sectors, size, lba48);
        snprintf(name, sizeof(name), "info unit %u", unit);
        check(name, err == ERR_NOT_FOUND || (!err && sectors > 0 && size == SECTOR && model[0]),
              "%s, %llu sectors of %u, model \"%s\"", err_name(err),
              (unsigned long long) sectors, size, model);
        if (err == ERR_NOT_FOUND && absent_unit == 4)
            absent_unit = unit;
        if (!err && sectors > 0) {
            snprintf(name, sizeof(name), "read the ends of unit %u", unit);
            error_t first = read_sector(unit, 0), last = read_sector(unit, sectors - 1);
            check(name, first == OK && last == OK, "sector 0: %s, sector %llu: %s",
                  err_name(first), (unsigned long long) (sectors - 1), err_name(last));
        }
        if (!err && sectors > LBA28_LIMIT && !big_sectors) {
            big_unit = unit;
            big_sectors = sectors;
        } else if (!err && sectors >= SMALL_MIN_SECTORS && !small_sectors) {
            small_unit = unit;
            small_sectors = sectors;
        }
    }
    check("a small disk", small_sectors > 0, "none of at least %u sectors", SMALL_MIN_SECTORS);
    check("a disk beyond 2^28 sectors", big_sectors > 0, "none");
    uint64_t sectors;
    uint32_t size, lba48;
    char model[41];
    CHECK_ERR("info unit 4", blk_info(blk, 4, &sectors, &size, &lba48, model), ERR_NOT_FOUND);
    CHECK_ERR("info unit 0xffffffff", blk_info(blk, 0xffffffffu, &sectors, &size, &lba48, model),
              ERR_NOT_FOUND);
}

static void test_small_disk(void) {
    if (!small_sectors) {
        check("small disk transfers", false, "no small disk");
        return;
    }
    round_trip("one sector at lba 0", small_unit, 0, 1, 1);
    round_trip("8 sectors (one page)", small_unit, 8, 8, 2);
    round_trip("3 sectors (part of a page)", small_unit, 17, 3, 3);
    round_trip("300 sectors (two LBA28 commands)", small_unit, 1000, 300, 4);
    round_trip("8192 sectors (4 MiB, 32 commands)", small_unit, 4096, MAX_SECTORS, 5);
    round_trip("last sector of the small disk", small_unit, small_sectors - 1, 1, 6);
    uint32_t bad;
    error_t err = verify(small_unit, 4096 + 1234, 77, 5, &bad);
    check("read inside a written region", err == OK, "%s (first bad sector %u)", err_name(err),
          bad);
    err = verify(small_unit, 1, 7, 0, &bad);
    check("unwritten sectors are not patterns", err == ERR_CORRUPT && bad == 0, "%s, bad %u",
          err_name(err), bad);
    err = verify(small_unit, HOST_LBA, HOST_COUNT, HOST_SEED, &bad);
    check("sectors the host wrote read back", err == OK, "lba %u+%u: %s (first bad sector %u)",
          HOST_LBA, HOST_COUNT, err_name(err), bad);
}

static void test_big_disk(void) {
    if (!big_sectors) {
        check("LBA48 transfers", false, "no disk beyond 2^28 sectors");
        return;
    }
    round_trip("LBA48 64 sectors at 2^28 + 12345", big_unit, LBA28_LIMIT + 12345, 64, 7);
    round_trip("LBA28/LBA48 split across 2^28", big_unit, LBA28_LIMIT - 600, 1000, 8);
    round_trip("LBA48 8192 sectors at 300000000", big_unit, 300000000, MAX_SECTORS, 9);
    round_trip("last sector of the big disk", big_unit, big_sectors - 1, 1, 10);
    round_trip("low sectors of the big disk", big_unit, 0, 16, 11);
}

static void test_refusals(void) {
    uint64_t before = free_pages_now();
    CHECK_ERR("read at lba = size", refused(small_unit, small_sectors, 1, 4096, false),
              ERR_INVALID_ARG);
    CHECK_ERR("write across the end", refused(small_unit, small_sectors - 1, 2, 4096, true),
              ERR_INVALID_ARG);
    CHECK_ERR("read of 0 sectors", refused(small_unit, 0, 0, 4096, false), ERR_INVALID_ARG);
    CHECK_ERR("read of 8193 sectors", refused(small_unit, 0, MAX_SECTORS + 1, 4 << 20, false),
              ERR_INVALID_ARG);
    CHECK_ERR("lba + count overflows", refused(big_unit, ~0ULL - 1, 4, 4096, false),
              ERR_INVALID_ARG);
    CHECK_ERR("LBA48 read past the end", refused(big_unit, big_sectors - 8, 16, 8192, false),
              ERR_INVALID_ARG);
    CHECK_ERR("9 sectors in one page", refused(small_unit, 0, 9, 4096, false), ERR_BAD_PAGE);
    CHECK_ERR("write of 4 MiB from 2 MiB", refused(small_unit, 0, MAX_SECTORS, 2 << 20, true),
              ERR_BAD_PAGE);
    CHECK_ERR("read of an absent unit", refused(absent_unit, 0, 1, 4096, false), ERR_NOT_FOUND);
    CHECK_ERR("write to unit 4", refused(4, 0, 1, 4096, true), ERR_NOT_FOUND);
    CHECK_ERR("flush of an absent unit", blk_flush(blk, absent_unit), ERR_NOT_FOUND);
    uint64_t after = free_pages_now();
    /* The refused requests carried 1.6k pages; a leak of them would show. */
    check("refused requests leak no pages", after + 16 >= before,
          "%llu free pages before, %llu after",
          (unsigned long long) before, (unsigned long long) after);
    uint32_t bad;
    error_t err = verify(small_unit, 0, 1, 1, &bad);
    check("the driver works after refusals", err == OK, "%s", err_name(err));
}

/* Requests whose client goes away before the replies: the driver must
 * finish or skip them and free their pages. */
static void test_abandoned(void) {
    uint64_t before = free_pages_now();
    cid_t ch = ns_connect("blk");
    if (ch < 0) {
        check("abandoned requests", false, "connect: %s", err_name(ch));
        return;
    }
    struct message *m = ipc_buffer();
    error_t err = OK;
    for (int i = 0; i < 3 && !err; i++) {
        struct buf b;
        err = buf_alloc(&b, 4 << 20);
        if (err)
            break;
        blk_read_build(m, i == 1 ? big_unit : small_unit, 4096, MAX_SECTORS, b.addr, b.len);
        err = sys_ipc(ch, IPC_SEND); /* no receive: nobody waits for the reply */
    }
    sys_close(ch);
    check("abandoned requests are accepted", err == OK, "%s", err_name(err));
    /* Queued behind the abandoned ones on both channels: they are over. */
    uint32_t bad, bad_big;
    err = verify(small_unit, 4096, MAX_SECTORS, 5, &bad);
    error_t err_big = verify(big_unit, LBA28_LIMIT + 12345, 64, 7, &bad_big);
    check("the driver works after abandoned requests", err == OK && err_big == OK,
          "%s (bad %u), %s (bad %u)", err_name(err), bad, err_name(err_big), bad_big);
    uint64_t after = free_pages_now();
    check("abandoned requests leak no pages", after + 16 >= before,
          "%llu free pages before, %llu after", (unsigned long long) before,
          (unsigned long long) after);
}

struct worker {
    uint32_t unit;
    uint64_t lba;
    cid_t ch;      /* its own connection */
    struct buf b;  /* its pages, reused round after round */
    volatile bool done;
    error_t err;
    uint32_t rounds;
};

/* One client of its own: write and read back its region, round after
 * round, while the others do the same on both channels. It sends only to
 * the ide server (the main thread connects and allocates for it). */
static void worker_main(void *arg) {
    struct worker *w = arg;
    for (uint32_t r = 0; r < WORKER_ROUNDS && !w->err; r++) {
        uint8_t seed = (uint8_t) (100 + r);
        uint32_t bad;
        w->err = write_pattern(w->ch, &w->b, w->unit, w->lba, WORKER_COUNT, seed, false);
        if (!w->err)
            w->err = read_pattern(w->ch, &w->b, w->unit, w->lba, WORKER_COUNT, seed, &bad);
        if (!w->err)
            w->rounds++;
    }
    w->done = true;
}

static void start_worker(struct worker *w) {
    w->ch = ns_connect("blk");
    w->err = w->ch < 0 ? w->ch : buf_alloc(&w->b, WORKER_COUNT * SECTOR);
    if (!w->err)
        w->err = thread_spawn(worker_main, w, NULL);
    if (w->err)
        w->done = true;
}

static void test_parallel_clients(void) {
    static struct worker workers[NUM_WORKERS];
    for (int i = 0; i < NUM_WORKERS; i++) {
        workers[i] = (struct worker){
            .unit = (i & 1) ? big_unit : small_unit,
            .lba = ((i & 1) ? LBA28_LIMIT + 100000 : 50000) + (uint64_t) i * 1000,
        };
        start_worker(&workers[i]);
    }
    for (int waited = 0; waited < 600; waited++) {
        bool all = true;
        for (int i = 0; i < NUM_WORKERS; i++)
            all = all && workers[i].done;
        if (all)
            break;
        sleep_ms(100);
    }
    for (int i = 0; i < NUM_WORKERS; i++) {
        struct worker *w = &workers[i];
        char name[48];
        snprintf(name, sizeof(name), "parallel client %d (unit %u)", i, w->unit);
        check(name, w->done && w->err == OK && w->rounds == WORKER_ROUNDS,
              "%s, %u of %u rounds%s", err_name(w->err), w->rounds, WORKER_ROUNDS,
              w->done ? "" : ", still running");
        if (!w->done)
            continue;
        if (w->rounds == WORKER_ROUNDS)
            printf("idetest: wrote unit %u lba %llu count %u seed %u\n", w->unit,
                   (unsigned long long) w->lba, WORKER_COUNT, 100u + WORKER_ROUNDS - 1);
        buf_free(&w->b);
        if (w->ch > 0)
            sys_close(w->ch);
    }
}

/* Many page-payload calls in a row: each leaves the page tables of a
 * fresh receive window behind in both processes, and once the kernel's
 * pool is empty a call fails with ERR_NO_MEMORY, or a reply is lost and
 * its caller hangs (the kernel issue this check guards; docs/ide.md). A
 * thread makes the calls so that a hang is reported, not suffered. */
struct sustained {
    cid_t ch;
    struct buf b;
    uint32_t calls;
    error_t err;
    volatile bool done;
};

static void sustained_main(void *arg) {
    struct sustained *t = arg;
    uint32_t bad;
    for (; t->calls < SUSTAINED_CALLS && !t->err; t->calls++)
        t->err = read_pattern(t->ch, &t->b, small_unit, 0, 1, 1, &bad);
    t->done = true;
}

static void test_sustained(void) {
    static struct sustained t;
    uint32_t pool_before = kernel_pool_free();
    t.ch = ns_connect("blk");
    t.err = t.ch < 0 ? t.ch : buf_alloc(&t.b, PAGE_SIZE);
    if (!t.err)
        t.err = thread_spawn(sustained_main, &t, NULL);
    if (t.err)
        t.done = true;
    for (int waited = 0; waited < 300 && !t.done; waited++)
        sleep_ms(100);
    check("sustained page-payload calls", t.done && t.err == OK,
          "%s after %u of %u calls (kernel pool: %u free pages before, %u after)",
          t.done ? err_name(t.err) : "hung", t.calls, SUSTAINED_CALLS, pool_before,
          kernel_pool_free());
    if (t.done) {
        buf_free(&t.b);
        sys_close(t.ch);
    }
}

static void test_flush(void) {
    CHECK_ERR("flush the small disk", blk_flush(blk, small_unit), OK);
    CHECK_ERR("flush the big disk", blk_flush(blk, big_unit), OK);
}

/* "idetest errors": unit 1 is a disk whose reads touching sector
 * ERROR_READ_LBA and writes touching ERROR_WRITE_LBA fail (QEMU blkdebug,
 * see tests/system/test_ide.py); the driver must report ERR_IO, free the
 * pages and carry on. */
static void test_device_errors(void) {
    uint64_t sectors = 0;
    uint32_t size, lba48;
    char model[41];
    error_t err = blk_info(blk, ERROR_UNIT, &sectors, &size, &lba48, model);
    if (err || sectors <= ERROR_WRITE_LBA + 64) {
        check("error disk present", false, "unit %u: %s, %llu sectors", ERROR_UNIT,
              err_name(err), (unsigned long long) sectors);
        return;
    }
    uint64_t before = free_pages_now();
    uint32_t bad;
    struct buf b = {0, 0};
    round_trip("transfers before the bad sectors", ERROR_UNIT, 0, 8, 19);
    CHECK_ERR("read of the bad sector", verify(ERROR_UNIT, ERROR_READ_LBA, 1, 0, &bad), ERR_IO);
    CHECK_ERR("read failing on its 5th sector", verify(ERROR_UNIT, ERROR_READ_LBA - 4, 8, 0, &bad),
              ERR_IO);
    CHECK_ERR("read of 300 sectors over the bad one",
              verify(ERROR_UNIT, ERROR_READ_LBA - 50, 300, 0, &bad), ERR_IO);
    CHECK_ERR("write of the bad sector",
              write_pattern(blk, &b, ERROR_UNIT, ERROR_WRITE_LBA, 1, 20, false), ERR_IO);
    CHECK_ERR("write failing on its 11th sector",
              write_pattern(blk, &b, ERROR_UNIT, ERROR_WRITE_LBA - 10, 20, 21, false), ERR_IO);
    uint64_t after = free_pages_now();
    check("failed transfers leak no pages", after + 16 >= before,
          "%llu free pages before, %llu after", (unsigned long long) before,
          (unsigned long long) after);
    round_trip("transfers work after device errors", ERROR_UNIT, ERROR_WRITE_LBA + 16, 32, 22);
    CHECK_ERR("flush after device errors", blk_flush(blk, ERROR_UNIT), OK);
}

int main(void) {
    program_name = "idetest";
    blk = ns_connect("blk");
    if (blk < 0) {
        printf("idetest: FAIL set-up: no blk server: %s\n", err_name(blk));
        printf("idetest: 0 passed, 1 failed\n");
        return 1;
    }
    if (!strcmp(program_args(), "errors")) {
        test_device_errors();
        return check_summary();
    }
    test_info();
    test_small_disk();
    test_big_disk();
    test_parallel_clients();
    test_refusals();
    test_abandoned();
    test_flush();
    test_sustained();
    sys_close(blk);
    return check_summary();
}
