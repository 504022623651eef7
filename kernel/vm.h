/*
 * Address spaces: one 4-level page table per process whose upper half is
 * shared with the kernel. Page-table pages come from the kernel page pool;
 * every operation that may need new tables can be asked beforehand how
 * many it needs, so callers validate before they change anything.
 */
#pragma once

#include "kernel.h"

/* Leaf flags (x86 PTE bits; the avail bits mark who owns the frame). */
#define PTE_PRESENT (1ULL << 0)
#define PTE_WRITE   (1ULL << 1)
#define PTE_USER    (1ULL << 2)
#define PTE_PCD     (1ULL << 4)
#define PTE_DEVICE  (1ULL << 9)  /* MMIO: never moved, never returned */
#define PTE_KOWNED  (1ULL << 10) /* a kernel pool page (thread info) */
#define PTE_PINNED  (1ULL << 11) /* DMA-pinned: may not move */
#define PTE_NX      (1ULL << 63)
#define PTE_ADDR    0x000ffffffffff000ULL

struct vm_space {
    paddr_t pml4;
};

error_t vm_space_init(struct vm_space *s);
/* Free every table; cb sees each user leaf (frame and flags) first. */
void vm_space_destroy(struct vm_space *s, void (*cb)(paddr_t pa, uint64_t pte, void *ctx),
                      void *ctx);
/* Visit every user leaf without changing anything. */
void vm_space_walk(const struct vm_space *s, void (*cb)(paddr_t pa, uint64_t pte, void *ctx),
                   void *ctx);
uint64_t *vm_lookup(const struct vm_space *s, vaddr_t va);
error_t vm_map(struct vm_space *s, vaddr_t va, paddr_t pa, uint64_t flags);
paddr_t vm_unmap(struct vm_space *s, vaddr_t va);
/* Give back the page tables of [va, va+len) that map nothing any more. */
void vm_prune_range(struct vm_space *s, vaddr_t va, uint64_t len);
unsigned vm_tables_needed(const struct vm_space *s, vaddr_t va, uint64_t len);
bool vm_is_current(const struct vm_space *s);
void vm_map_kernel(vaddr_t va, paddr_t pa, uint64_t flags);

static inline bool vm_user_range(vaddr_t va, uint64_t len) {
    return len <= USER_END && va < USER_END && va + len <= USER_END && va >= PAGE_SIZE;
}

/* Page payloads (vm.c). */
error_t vm_check_movable(const struct vm_space *src, vaddr_t va, uint64_t len);
error_t vm_check_free(const struct vm_space *dst, vaddr_t va, uint64_t len);
void vm_move(struct vm_space *src, vaddr_t src_va, struct vm_space *dst, vaddr_t dst_va,
             uint64_t len, uint64_t flags);
uint64_t prot_to_pte(uint32_t prot);
