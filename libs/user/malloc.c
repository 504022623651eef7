/*
 * malloc, calloc, realloc and free over the heap region of abi.h.
 *
 * Every page in [USER_HEAP_BASE, USER_HEAP_END) is zero-filled by the pager
 * on first touch, so no system call is needed: the heap grows by bumping
 * `top`.  Memory is handed out in whole pages by a page allocator that
 * keeps the free page runs below `top` on an address-ordered list, takes
 * from the first that fits, merges each freed run with its neighbours and
 * lowers `top` when the highest run becomes free.
 *
 * Each block starts with a 16-byte header, so payloads are 16-byte aligned.
 *   - Small blocks (up to 4 KiB) come in power-of-two size classes from
 *     16 B.  A class takes pages from the page allocator, cuts them into
 *     blocks and keeps freed blocks on its own list; those pages are never
 *     given back.
 *   - Large blocks are page runs with the header at the start of the first
 *     page; freeing one returns the pages.
 * The header's magic tells in-use from free blocks: free() of a free block,
 * of a pointer not returned by malloc, or of a block whose header was
 * overwritten calls panic_user() (best effort: a reused block looks valid).
 *
 * Not thread-safe: a program whose threads allocate must serialize the
 * calls itself.
 *
 * Host unit tests (-DFUMI_HOST_TEST) get the functions as fumi_malloc etc.
 * and hand the allocator its region with malloc_test_region().
 */
#ifdef FUMI_HOST_TEST
#define malloc  fumi_malloc
#define calloc  fumi_calloc
#define realloc fumi_realloc
#define free    fumi_free
#endif

#include <common/list.h>
#include <user/user.h>

#define HEADER_SIZE     16
#define MIN_CLASS_SHIFT 4  /* 16 B */
#define MAX_CLASS_SHIFT 12 /* 4 KiB */
#define NUM_CLASSES     (MAX_CLASS_SHIFT - MIN_CLASS_SHIFT + 1)
#define SMALL_MAX       (1UL << MAX_CLASS_SHIFT)
#define REFILL_BLOCKS   8  /* a class takes pages for at least this many blocks */

#define MAGIC_SMALL 0x5ba11b10u /* small block in use */
#define MAGIC_LARGE 0x1a46eb10u /* large block in use */
#define MAGIC_FREE  0xf4eeb10cu /* small block on its class's free list */
#define MAGIC_RUN   0xf4ee4a9eu /* first page of a free run, or a freed large block */

struct block {
    uint32_t magic;
    uint32_t cls;                   /* small: size class index */
    union {
        uint64_t npages;            /* large: pages in the block */
        struct block *next_free;    /* small and free: the class's list */
    };
};
STATIC_ASSERT(sizeof(struct block) == HEADER_SIZE);

struct run {
    uint32_t magic;
    uint32_t unused;
    uint64_t npages;
    struct list_head link;          /* in heap.runs, ordered by address */
};

static struct {
    uintptr_t base, top, end;
    struct list_head runs;
    struct block *free_small[NUM_CLASSES];
} heap = {
    .base = USER_HEAP_BASE,
    .top = USER_HEAP_BASE,
    .end = USER_HEAP_END,
    .runs = {&heap.runs, &heap.runs},
};

static uintptr_t run_end(const struct run *r) {
    return (uintptr_t) r + r->npages * PAGE_SIZE;
}

/* The first run that fits, or the top of the heap; 0 when out of memory. */
static uintptr_t pages_alloc(size_t npages) {
    LIST_FOR_EACH(r, &heap.runs, struct run, link) {
        if (r->npages < npages)
            continue;
        r->npages -= npages;  /* take the tail: the run stays where it is */
        if (r->npages == 0)
            list_remove(&r->link);
        return run_end(r);
    }
    if (npages > (heap.end - heap.top) / PAGE_SIZE)
        return 0;
    uintptr_t addr = heap.top;
    heap.top += npages * PAGE_SIZE;
    return addr;
}

/* Make [addr, addr + npages pages) a free run, merged with its neighbours. */
static void pages_free(uintptr_t addr, size_t npages) {
    struct run *prev = NULL, *next = NULL;
    LIST_FOR_EACH(r, &heap.runs, struct run, link) {
        if ((uintptr_t) r > addr) {
            next = r;
            break;
        }
        prev = r;
    }
    uintptr_t end = addr + npages * PAGE_SIZE;
    if ((prev && run_end(prev) > addr) || (next && end > (uintptr_t) next) || end > heap.top)
        panic_user("malloc: pages_free: %#lx+%zu pages overlap a free run", addr, npages);

    struct run *run = prev;
    if (prev && run_end(prev) == addr) {
        prev->npages += npages;
    } else {
        run = (struct run *) addr;
        run->magic = MAGIC_RUN;
        run->npages = npages;
        /* Pushing "back" onto a node links in front of it: before next. */
        list_push_back(next ? &next->link : &heap.runs, &run->link);
    }
    if (next && run_end(run) == (uintptr_t) next) {
        run->npages += next->npages;
        list_remove(&next->link);
    }
    if (run_end(run) == heap.top) {  /* the highest run gives its pages back to top */
        list_remove(&run->link);
        heap.top = (uintptr_t) run;
    }
}

static size_t class_size(unsigned cls) {
    return 1UL << (cls + MIN_CLASS_SHIFT);
}

static unsigned class_of(size_t size) {
    unsigned cls = 0;
    while (class_size(cls) < size)
        cls++;
    return cls;
}

/* Cut fresh pages into free blocks of class cls; false when out of memory. */
static bool class_refill(unsigned cls) {
    size_t stride = HEADER_SIZE + class_size(cls);
    size_t npages = ALIGN_UP(stride * REFILL_BLOCKS, PAGE_SIZE) / PAGE_SIZE;
    uintptr_t addr = pages_alloc(npages);
    if (!addr)
        return false;
    for (size_t i = npages * PAGE_SIZE / stride; i > 0; i--) {  /* lowest first out */
        struct block *b = (struct block *) (addr + (i - 1) * stride);
        b->magic = MAGIC_FREE;
        b->cls = cls;
        b->next_free = heap.free_small[cls];
        heap.free_small[cls] = b;
    }
    return true;
}

static void *small_alloc(size_t size) {
    unsigned cls = class_of(size);
    if (!heap.free_small[cls] && !class_refill(cls))
        return NULL;
    struct block *b = heap.free_small[cls];
    if (b->magic != MAGIC_FREE || b->cls != cls)
        panic_user("malloc: free list of class %u corrupted at %p", cls, (void *) b);
    heap.free_small[cls] = b->next_free;
    b->magic = MAGIC_SMALL;
    return b + 1;
}

static size_t large_pages(size_t size) {
    return (size + HEADER_SIZE + PAGE_SIZE - 1) / PAGE_SIZE;
}

static void *large_alloc(size_t size) {
    if (size > heap.end - heap.base)
        return NULL;
    size_t npages = large_pages(size);
    struct block *b = (struct block *) pages_alloc(npages);
    if (!b)
        return NULL;
    b->magic = MAGIC_LARGE;
    b->cls = 0;
    b->npages = npages;
    return b + 1;
}

/* The header of p, a block in use; any other pointer is fatal.  (A header at
 * or above top may be read: a fresh page there is merely filled in.) */
static struct block *block_of(const void *p, const char *who) {
    uintptr_t addr = (uintptr_t) p;
    if (!IS_ALIGNED(addr, HEADER_SIZE) || addr < heap.base + HEADER_SIZE || addr >= heap.end)
        panic_user("%s: %p is not a heap block", who, p);
    struct block *b = (struct block *) p - 1;
    if (b->magic == MAGIC_FREE || b->magic == MAGIC_RUN)
        panic_user("%s: double free of %p", who, p);
    if (addr >= heap.top)
        panic_user("%s: %p is not a heap block (above the heap's top)", who, p);
    switch (b->magic) {
    case MAGIC_SMALL:
        if (b->cls >= NUM_CLASSES || class_size(b->cls) > heap.top - addr)
            panic_user("%s: header of %p corrupted (class %u)", who, p, b->cls);
        return b;
    case MAGIC_LARGE:
        if (!IS_ALIGNED((uintptr_t) b, PAGE_SIZE) || b->npages == 0 ||
            b->npages > (heap.top - (uintptr_t) b) / PAGE_SIZE)
            panic_user("%s: header of %p corrupted (%lu pages)", who, p,
                       (unsigned long) b->npages);
        return b;
    default:
        panic_user("%s: %p is not a heap block or its header was overwritten (magic %#x)",
                   who, p, b->magic);
    }
}

static size_t block_usable(const struct block *b) {
    if (b->magic == MAGIC_SMALL)
        return class_size(b->cls);
    return b->npages * PAGE_SIZE - HEADER_SIZE;
}

void *malloc(size_t size) {
    return size <= SMALL_MAX ? small_alloc(size) : large_alloc(size);
}

void *calloc(size_t n, size_t size) {
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    void *p = malloc(n * size);
    if (p)
        memset(p, 0, n * size);  /* freed blocks are reused, so not all are zero */
    return p;
}

void free(void *p) {
    if (!p)
        return;
    struct block *b = block_of(p, "free");
    if (b->magic == MAGIC_SMALL) {
        b->magic = MAGIC_FREE;
        b->next_free = heap.free_small[b->cls];
        heap.free_small[b->cls] = b;
    } else {
        b->magic = MAGIC_RUN;  /* stays so if pages_free merges it into a lower run */
        pages_free((uintptr_t) b, b->npages);
    }
}

/* Resize a large block where it is: give back tail pages or take pages from
 * the top of the heap.  False if it cannot. */
static bool large_resize(struct block *b, size_t size) {
    size_t npages = large_pages(size);
    uintptr_t end = (uintptr_t) b + b->npages * PAGE_SIZE;
    if (npages <= b->npages) {
        if (npages < b->npages)
            pages_free((uintptr_t) b + npages * PAGE_SIZE, b->npages - npages);
        b->npages = npages;
        return true;
    }
    size_t extra = npages - b->npages;
    if (end != heap.top || extra > (heap.end - heap.top) / PAGE_SIZE)
        return false;
    heap.top += extra * PAGE_SIZE;
    b->npages = npages;
    return true;
}

/* realloc(p, 0) frees p and returns NULL; on failure p is left untouched. */
void *realloc(void *p, size_t size) {
    if (!p)
        return malloc(size);
    if (size == 0) {
        free(p);
        return NULL;
    }
    struct block *b = block_of(p, "realloc");
    if (b->magic == MAGIC_SMALL && size <= block_usable(b))
        return p;
    if (b->magic == MAGIC_LARGE && size > SMALL_MAX && size <= heap.end - heap.base &&
        large_resize(b, size))
        return p;
    void *q = malloc(size);
    if (!q)
        return NULL;
    memcpy(q, p, MIN(size, block_usable(b)));
    free(p);
    return q;
}

#ifdef FUMI_HOST_TEST
void malloc_test_region(void *base, size_t len);

/* Forget every block and manage [base, base + len) from now on. */
void malloc_test_region(void *base, size_t len) {
    heap.base = ALIGN_UP((uintptr_t) base, PAGE_SIZE);
    heap.end = ALIGN_DOWN((uintptr_t) base + len, PAGE_SIZE);
    heap.top = heap.base;
    list_init(&heap.runs);
    for (unsigned i = 0; i < NUM_CLASSES; i++)
        heap.free_small[i] = NULL;
}
#endif
