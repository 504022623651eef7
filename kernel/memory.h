/*
 * Physical memory in the kernel: the multiboot memory map, the boot-time
 * page allocator, the kernel page pool (page tables and thread info pages;
 * boot-reserved, topped up by memmgr through kernel.donate) and the list of
 * frames returned to memmgr when processes are destroyed (kernel.reclaim).
 */
#pragma once

#include "kernel.h"

struct mem_range {
    paddr_t base;
    uint64_t len;
};

#define MEM_MAX_RANGES 64

void memory_init(uint32_t mb_info);
paddr_t boot_alloc_page(void);
/* The free RAM left after the kernel's own boot allocations. */
const struct mem_range *memory_free_ranges(int *count);
uint64_t memory_total_pages(void);
bool memory_is_ram(paddr_t pa);

/* The kernel page pool: zeroed pages, addressed physically. Below
 * KPOOL_LOW_MARK free pages memmgr is asked (NOTIFY_POOL_LOW on its
 * kernel-events channel) to donate more. */
#define KPOOL_LOW_MARK 256
extern bool kpool_low_pending;
paddr_t kpage_alloc(void);
void kpage_free(paddr_t pa);
void kpage_reserve(unsigned pages);
unsigned kpage_free_count(void);
unsigned kpage_total(void);

/* Frames destroyed processes gave back to memmgr. */
void reclaim_push(paddr_t pa);
int reclaim_pop(uint32_t *pfns, int max);
void kpage_donate(paddr_t pa);
