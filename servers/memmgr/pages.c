/*
 * memmgr's page allocator. Free memory starts as the boot ranges (all
 * mapped here at USER_PHYS_WINDOW + physical address, so consecutive
 * addresses are physically contiguous: good for DMA). Single pages come
 * from a free list linked through the free pages themselves, then from the
 * ranges. Pages come back through memmgr.free_pages and kernel.reclaim.
 */
#include "memmgr.h"

#define GATHER_BASE 0x0000450000000000ULL /* where pages_gather builds runs */

static struct {
    uint64_t next, end; /* untouched part of a boot range (addresses here) */
} ranges[BOOTINFO_MAX_RANGES];
static int num_ranges;
static uint64_t free_list, free_count, total;
static uint64_t gather_next = GATHER_BASE;

void pages_init(const struct boot_info *bi) {
    for (uint64_t i = 0; i < bi->num_ranges; i++) {
        ranges[num_ranges].next = USER_PHYS_WINDOW + bi->ranges[i].base;
        ranges[num_ranges].end = USER_PHYS_WINDOW + bi->ranges[i].base + bi->ranges[i].len;
        free_count += bi->ranges[i].len / PAGE_SIZE;
        num_ranges++;
    }
    total = bi->total_pages;
}

void page_free(uint64_t va) {
    *(uint64_t *) va = free_list;
    free_list = va;
    free_count++;
}

static uint64_t take_single(void) {
    if (free_list) {
        uint64_t va = free_list;
        free_list = *(uint64_t *) va;
        free_count--;
        return va;
    }
    return pages_alloc_contiguous(1);
}

/* Pages that reach memmgr in a message (memmgr.free_pages, or dropped
 * with a refused request) join the free list; see libs/user/ipc.c. */
error_t ipc_free_pages(uint64_t addr, uint64_t len) {
    for (uint64_t off = 0; off < len; off += PAGE_SIZE)
        page_free(addr + off);
    return OK;
}

uint64_t page_alloc(void) {
    uint64_t va = take_single();
    if (!va) {
        pages_reclaim();
        va = take_single();
    }
    if (va)
        memset((void *) va, 0, PAGE_SIZE);
    return va;
}

uint64_t pages_alloc_contiguous(uint64_t n) {
    for (int i = 0; i < num_ranges; i++) {
        if (ranges[i].end - ranges[i].next >= n * PAGE_SIZE) {
            uint64_t va = ranges[i].next;
            ranges[i].next += n * PAGE_SIZE;
            free_count -= n;
            memset((void *) va, 0, n * PAGE_SIZE);
            return va;
        }
    }
    return 0;
}

uint64_t pages_free_count(void) {
    return free_count;
}

uint64_t pages_total(void) {
    return total;
}

/* Frames of destroyed processes come back at USER_PHYS_WINDOW + frame. */
void pages_reclaim(void) {
    uint32_t count, pfns[50];
    size_t len;
    while (kernel_reclaim(CID_KERNEL, &count, pfns, &len) == OK && count > 0)
        for (uint32_t i = 0; i < count; i++)
            page_free(USER_PHYS_WINDOW + (uint64_t) pfns[i] * PAGE_SIZE);
}

/* Give the kernel n pages for its page tables and thread info pages. */
error_t pages_donate(unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        uint64_t va = page_alloc();
        if (!va)
            return ERR_NO_MEMORY;
        error_t err = kernel_donate(CID_KERNEL, va, PAGE_SIZE);
        if (err)
            return err;
    }
    return OK;
}

/* Run a kernel request; when the kernel's pool is short, top it up and retry. */
error_t kernel_retry(error_t (*op)(void *), void *arg) {
    error_t err;
    for (int tries = 0; tries < 8; tries++) {
        err = op(arg);
        if (err != ERR_NO_MEMORY)
            return err;
        if (pages_donate(64) != OK)
            return ERR_NO_MEMORY;
    }
    return err;
}

struct map_args {
    uint64_t src, dst;
};

static error_t map_op(void *arg) {
    struct map_args *a = arg;
    return kernel_map(CID_KERNEL, 0, a->dst, PROT_WRITE, a->src, PAGE_SIZE);
}

/* n pages at consecutive addresses here (not physically contiguous). */
error_t pages_gather(uint64_t n, uint64_t *va) {
    uint64_t v = pages_alloc_contiguous(n);
    if (v) {
        *va = v;
        return OK;
    }
    if (n > free_count)
        return ERR_NO_MEMORY;
    uint64_t base = gather_next;
    gather_next += n * PAGE_SIZE;
    for (uint64_t i = 0; i < n; i++) {
        struct map_args a = {page_alloc(), base + i * PAGE_SIZE};
        error_t err = a.src ? kernel_retry(map_op, &a) : ERR_NO_MEMORY;
        if (err) {
            if (a.src)
                page_free(a.src);
            while (i-- > 0)
                page_free(base + i * PAGE_SIZE);
            return err;
        }
    }
    *va = base;
    return OK;
}
