/*
 * Host tests of libs/user/malloc.c, run as fumi_malloc etc. over a region
 * taken from the host's allocator.  Heap corruption must end in panic_user,
 * which here aborts; those tests run the bad call in a forked child and
 * check that it died of SIGABRT with the expected message.
 */
#include "check.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <common/string.h>

void *fumi_malloc(size_t size);
void *fumi_calloc(size_t n, size_t size);
void *fumi_realloc(void *p, size_t size);
void fumi_free(void *p);
void malloc_test_region(void *base, size_t len);

#define MiB        (1024 * 1024UL)
#define PAGE       4096UL
#define REGION_MAX (64 * MiB)

static uint8_t *region;

__attribute__((noreturn, format(printf, 1, 2))) void panic_user(const char *fmt, ...);
void panic_user(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "panic: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

/* A fresh, empty heap of len bytes (page aligned). */
static void heap_reset(size_t len) {
    if (!region)
        region = aligned_alloc(PAGE, REGION_MAX);
    CHECK(region != NULL && len <= REGION_MAX);
    malloc_test_region(region, len);
}

static bool in_region(const void *p, size_t len) {
    uintptr_t a = (uintptr_t) p, base = (uintptr_t) region;
    return a >= base && a + len <= base + REGION_MAX && a + len >= a;
}

static uint8_t pattern(unsigned seed, size_t i) {
    return (uint8_t) (seed * 151 + i * 31 + (i >> 8));
}

static void fill(void *p, size_t len, unsigned seed) {
    uint8_t *b = p;
    for (size_t i = 0; i < len; i++)
        b[i] = pattern(seed, i);
}

static bool holds(const void *p, size_t len, unsigned seed) {
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++) {
        if (b[i] != pattern(seed, i))
            return false;
    }
    return true;
}

static bool contains(const char *haystack, const char *needle) {
    size_t n = strlen(needle);
    for (; *haystack; haystack++) {
        if (strncmp(haystack, needle, n) == 0)
            return true;
    }
    return false;
}

/* Run fn in a child: true if it aborted and said `needle` on stderr. */
static bool panics_with(void (*fn)(void), const char *needle) {
    int fds[2];
    if (pipe(fds) != 0)
        return false;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn();
        _exit(0);
    }
    close(fds[1]);
    char out[1024];
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
        len += (size_t) n;
    out[len] = '\0';
    close(fds[0]);
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return false;
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT || !contains(out, needle)) {
        printf("# child status %#x, stderr: %s\n", status, out);
        return false;
    }
    return true;
}

TEST(small_blocks_aligned_distinct_and_usable) {
    heap_reset(4 * MiB);
    void *blocks[64];
    for (size_t i = 0; i < ARRAY_SIZE(blocks); i++) {
        size_t size = i * 67 + 1;
        blocks[i] = fumi_malloc(size);
        CHECK(blocks[i] != NULL);
        CHECK(((uintptr_t) blocks[i] & 15) == 0);
        CHECK(in_region(blocks[i], size));
        fill(blocks[i], size, (unsigned) i);
    }
    for (size_t i = 0; i < ARRAY_SIZE(blocks); i++)
        CHECK(holds(blocks[i], i * 67 + 1, (unsigned) i));  /* no overlaps */
    for (size_t i = 0; i < ARRAY_SIZE(blocks); i++)
        fumi_free(blocks[i]);
}

TEST(malloc_zero_and_free_null) {
    heap_reset(1 * MiB);
    void *a = fumi_malloc(0), *b = fumi_malloc(0);
    CHECK(a != NULL && b != NULL && a != b);
    fumi_free(a);
    fumi_free(b);
    fumi_free(NULL);
}

TEST(freed_small_block_is_reused) {
    heap_reset(1 * MiB);
    void *p = fumi_malloc(100);
    fumi_free(p);
    CHECK(fumi_malloc(120) == p);  /* same class (128) */
    void *q = fumi_malloc(100);
    CHECK(q != p);
}

TEST(large_blocks_first_fit_and_coalesce) {
    heap_reset(1 * MiB + 4 * PAGE);
    void *a = fumi_malloc(200 * 1024), *b = fumi_malloc(200 * 1024);
    void *c = fumi_malloc(200 * 1024), *d = fumi_malloc(200 * 1024);
    CHECK(a && b && c && d);
    CHECK(((uintptr_t) a & (PAGE - 1)) == 16);  /* header at the page start */
    CHECK(fumi_malloc(300 * 1024) == NULL);     /* only ~200 KiB left */

    fumi_free(b);
    void *b2 = fumi_malloc(150 * 1024);  /* first fit: inside b's pages */
    CHECK((uint8_t *) b2 >= (uint8_t *) b - 16 && (uint8_t *) b2 < (uint8_t *) c);
    fumi_free(b2);

    fumi_free(a);
    fumi_free(c);  /* a, b, c merge into one run */
    void *big = fumi_malloc(600 * 1024);
    CHECK(big != NULL);
    fumi_free(big);
    fumi_free(d);  /* everything is free: the whole region is one block again */
    void *all = fumi_malloc(1 * MiB + 4 * PAGE - 16);
    CHECK(all != NULL);
    fill(all, 1 * MiB + 4 * PAGE - 16, 9);
    fumi_free(all);
}

TEST(exhaustion_returns_null) {
    heap_reset(256 * 1024);
    CHECK(fumi_malloc(1 * MiB) == NULL);
    CHECK(fumi_malloc(SIZE_MAX) == NULL);
    CHECK(fumi_malloc(SIZE_MAX - 8) == NULL);
    void *blocks[4096];
    size_t n = 0;
    while (n < ARRAY_SIZE(blocks) && (blocks[n] = fumi_malloc(1000)) != NULL)
        n++;
    CHECK(n > 100 && n < ARRAY_SIZE(blocks));
    CHECK(fumi_malloc(1000) == NULL);
    fumi_free(blocks[n / 2]);
    CHECK(fumi_malloc(1000) == blocks[n / 2]);
    for (size_t i = 0; i < n; i++)
        fumi_free(blocks[i]);
}

TEST(calloc_zeroes_and_checks_overflow) {
    heap_reset(4 * MiB);
    CHECK(fumi_calloc(SIZE_MAX / 2 + 1, 2) == NULL);
    CHECK(fumi_calloc(SIZE_MAX, SIZE_MAX) == NULL);
    CHECK(fumi_calloc(2, SIZE_MAX / 2 + 1) == NULL);
    CHECK(fumi_calloc((size_t) 1 << 33, (size_t) 1 << 31) == NULL);  /* wraps to 0 */
    void *z = fumi_calloc(0, 5);
    CHECK(z != NULL);
    fumi_free(z);

    uint8_t *p = fumi_malloc(64);
    memset(p, 0xff, 64);
    fumi_free(p);
    uint8_t *q = fumi_calloc(4, 16);
    CHECK(q == p);  /* the dirty block came back, and must be zeroed */
    for (size_t i = 0; i < 64; i++)
        CHECK_EQ_INT(q[i], 0);

    p = fumi_malloc(20000);
    memset(p, 0xee, 20000);
    fumi_free(p);
    q = fumi_calloc(1, 20000);
    CHECK(q != NULL);
    for (size_t i = 0; i < 20000; i++)
        CHECK_EQ_INT(q[i], 0);
}

TEST(realloc_preserves_contents) {
    heap_reset(8 * MiB);
    uint8_t *p = fumi_realloc(NULL, 10);  /* as malloc */
    CHECK(p != NULL);
    fill(p, 10, 1);
    p = fumi_realloc(p, 16);  /* same class: in place */
    CHECK(holds(p, 10, 1));
    uint8_t *q = fumi_realloc(p, 1000);
    CHECK(q != NULL && holds(q, 10, 1));
    fill(q, 1000, 2);
    p = fumi_realloc(q, 50000);  /* small to large */
    CHECK(p != NULL && holds(p, 1000, 2));
    fill(p, 50000, 3);

    q = fumi_realloc(p, 200000);  /* large at the top grows in place */
    CHECK(q == p && holds(q, 50000, 3));
    fill(q, 200000, 4);
    p = fumi_realloc(q, 30);  /* large to small */
    CHECK(p != NULL && holds(p, 30, 4));
    fumi_free(p);
}

TEST(realloc_shrink_returns_tail_pages) {
    heap_reset(64 * PAGE);
    uint8_t *p = fumi_malloc(40 * PAGE);
    uint8_t *guard = fumi_malloc(10 * PAGE);  /* keeps the tail off the top */
    CHECK(p && guard);
    fill(p, 40 * PAGE, 5);
    CHECK(fumi_realloc(p, 8 * PAGE) == p);
    CHECK(holds(p, 8 * PAGE, 5));
    void *tail = fumi_malloc(30 * PAGE);  /* fits only in the pages given back */
    CHECK(tail != NULL && (uint8_t *) tail > p && (uint8_t *) tail < guard);
}

TEST(realloc_failure_keeps_block) {
    heap_reset(64 * PAGE);
    uint8_t *p = fumi_malloc(100);
    fill(p, 100, 6);
    CHECK(fumi_realloc(p, 1 * MiB) == NULL);
    CHECK(fumi_realloc(p, SIZE_MAX) == NULL);
    CHECK(holds(p, 100, 6));
    CHECK(fumi_realloc(p, 0) == NULL);  /* frees */
    CHECK(fumi_malloc(100) == p);
}

static void double_free_small(void) {
    void *p = fumi_malloc(32);
    fumi_free(p);
    fumi_free(p);
}

static void double_free_large(void) {
    void *p = fumi_malloc(5 * PAGE);
    void *q = fumi_malloc(5 * PAGE);
    void *guard = fumi_malloc(5 * PAGE);
    (void) guard;
    fumi_free(p);
    fumi_free(q);  /* q merges into p's run: its own header must still catch this */
    fumi_free(q);
}

static void double_free_at_top(void) {
    void *p = fumi_malloc(5 * PAGE);
    fumi_free(p);  /* its pages go back to the top of the heap */
    fumi_free(p);
}

static void realloc_after_free(void) {
    void *p = fumi_malloc(64);
    fumi_free(p);
    fumi_realloc(p, 128);
}

static void free_interior_pointer(void) {
    uint8_t *p = fumi_malloc(256);
    memset(p, 0, 256);
    fumi_free(p + 64);
}

static void free_misaligned_pointer(void) {
    uint8_t *p = fumi_malloc(256);
    fumi_free(p + 1);
}

static void free_stack_pointer(void) {
    int local;
    fumi_free(&local);
}

static void free_overwritten_header(void) {
    uint8_t *p = fumi_malloc(64);
    memset(p - 16, 0x41, 16);  /* an underflowing write */
    fumi_free(p);
}

static void corrupt_large_header(void) {
    uint8_t *p = fumi_malloc(3 * PAGE);
    ((uint64_t *) p)[-1] = 1000000;  /* npages */
    fumi_free(p);
}

TEST(bad_frees_panic) {
    heap_reset(1 * MiB);
    CHECK(panics_with(double_free_small, "double free"));
    CHECK(panics_with(double_free_large, "double free"));
    CHECK(panics_with(double_free_at_top, "double free"));
    CHECK(panics_with(realloc_after_free, "realloc: double free"));
    CHECK(panics_with(free_interior_pointer, "not a heap block"));
    CHECK(panics_with(free_misaligned_pointer, "not a heap block"));
    CHECK(panics_with(free_stack_pointer, "not a heap block"));
    CHECK(panics_with(free_overwritten_header, "header was overwritten"));
    CHECK(panics_with(corrupt_large_header, "corrupted"));
}

/* A deterministic generator, so that a failure can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t random_size(void) {
    unsigned r = (unsigned) (rng() % 100);
    if (r < 70)
        return rng() % 257;
    if (r < 90)
        return 257 + rng() % (4096 - 256);
    if (r < 99)
        return 4097 + rng() % (60 * 1024);
    return rng() % (512 * 1024);
}

struct shadow {
    uint8_t *p;
    size_t size;
    unsigned seed;
};

/*
 * Random malloc/calloc/realloc/free against a shadow of what each block must
 * hold.  With a tight heap, allocations may fail but must leave every block
 * intact (a failed realloc keeps the old one).
 */
static void stress(size_t heap_len, bool may_fail, int ops) {
    enum { SLOTS = 600 };
    static struct shadow live[SLOTS];
    heap_reset(heap_len);
    unsigned next_seed = 1;
    int failures = 0;
    for (int op = 0; op < ops; op++) {
        struct shadow *s = &live[rng() % SLOTS];
        unsigned kind = (unsigned) (rng() % 4);
        size_t size = random_size();
        if (s->p)
            CHECK(holds(s->p, s->size, s->seed));
        uint8_t *q;
        if (s->p && kind == 0) {
            fumi_free(s->p);
            s->p = NULL;
            continue;
        } else if (s->p && kind == 1) {
            q = fumi_realloc(s->p, size);
            if (size == 0) {  /* freed */
                s->p = NULL;
                continue;
            }
            if (q)
                CHECK(holds(q, MIN(size, s->size), s->seed));
        } else if (!s->p) {
            q = kind == 2 ? fumi_calloc(1, size) : fumi_malloc(size);
            for (size_t i = 0; q && kind == 2 && i < size; i++)
                CHECK_EQ_INT(q[i], 0);
        } else {
            continue;
        }
        if (!q) {
            CHECK(may_fail);
            failures++;
            continue;
        }
        CHECK(((uintptr_t) q & 15) == 0 && in_region(q, size));
        *s = (struct shadow){q, size, next_seed++};
        fill(q, size, s->seed);
    }
    for (size_t i = 0; i < SLOTS; i++) {  /* every survivor is intact */
        if (live[i].p) {
            CHECK(holds(live[i].p, live[i].size, live[i].seed));
            fumi_free(live[i].p);
            live[i].p = NULL;
        }
    }
    CHECK(!may_fail || failures > 0);  /* the tight heap was really tight */
}

TEST(random_stress_roomy_heap) {
    stress(REGION_MAX, false, 60000);
}

TEST(random_stress_tight_heap) {
    stress(6 * MiB, true, 60000);
}
