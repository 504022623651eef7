/*
 * x86_64 4-level paging behind the portable vm.h interface. Tables of
 * user address spaces come from the kernel page pool; the kernel's own
 * (boot-time) tables come from the boot allocator.
 */
#include "../../vm.h"
#include "../../memory.h"

#define TABLE_FLAGS (PTE_PRESENT | PTE_WRITE | PTE_USER)

extern uint64_t boot_pml4[];

uint64_t *kernel_pml4(void) {
    return (uint64_t *) ((uintptr_t) boot_pml4 + KERNEL_BASE);
}

static unsigned pt_index(vaddr_t va, int level) {
    return (va >> (12 + 9 * level)) & 511;
}

static uint64_t *table_at(uint64_t entry) {
    return phys_to_virt(entry & PTE_ADDR);
}

/* The leaf entry for va, creating tables with alloc (NULL: don't create). */
static uint64_t *walk(paddr_t pml4, vaddr_t va, paddr_t (*alloc)(void)) {
    uint64_t *table = phys_to_virt(pml4);
    for (int level = 3; level > 0; level--) {
        uint64_t *e = &table[pt_index(va, level)];
        if (!(*e & PTE_PRESENT)) {
            if (!alloc)
                return NULL;
            paddr_t pa = alloc();
            if (!pa)
                return NULL;
            *e = pa | TABLE_FLAGS;
        }
        table = table_at(*e);
    }
    return &table[pt_index(va, 0)];
}

error_t vm_space_init(struct vm_space *s) {
    paddr_t pa = kpage_alloc();
    if (!pa)
        return ERR_NO_MEMORY;
    uint64_t *pml4 = phys_to_virt(pa);
    memcpy(&pml4[256], &kernel_pml4()[256], 256 * sizeof(uint64_t));
    s->pml4 = pa;
    return OK;
}

/* Visit the leaves under table; free the tables too if free_tables. */
static void walk_level(uint64_t *table, int level, bool free_tables,
                       void (*cb)(paddr_t, uint64_t, void *), void *ctx) {
    for (int i = 0; i < 512; i++) {
        if (!(table[i] & PTE_PRESENT))
            continue;
        if (level == 0) {
            cb(table[i] & PTE_ADDR, table[i], ctx);
        } else {
            walk_level(table_at(table[i]), level - 1, free_tables, cb, ctx);
            if (free_tables)
                kpage_free(table[i] & PTE_ADDR);
        }
    }
}

static void walk_user_half(const struct vm_space *s, bool free_tables,
                           void (*cb)(paddr_t, uint64_t, void *), void *ctx) {
    uint64_t *pml4 = phys_to_virt(s->pml4);
    for (int i = 0; i < 256; i++) {
        if (pml4[i] & PTE_PRESENT) {
            walk_level(table_at(pml4[i]), 2, free_tables, cb, ctx);
            if (free_tables)
                kpage_free(pml4[i] & PTE_ADDR);
        }
    }
}

void vm_space_walk(const struct vm_space *s, void (*cb)(paddr_t, uint64_t, void *), void *ctx) {
    walk_user_half(s, false, cb, ctx);
}

void vm_space_destroy(struct vm_space *s, void (*cb)(paddr_t, uint64_t, void *), void *ctx) {
    walk_user_half(s, true, cb, ctx);
    kpage_free(s->pml4);
    s->pml4 = 0;
}

uint64_t *vm_lookup(const struct vm_space *s, vaddr_t va) {
    uint64_t *e = walk(s->pml4, va, NULL);
    return (e && (*e & PTE_PRESENT)) ? e : NULL;
}

error_t vm_map(struct vm_space *s, vaddr_t va, paddr_t pa, uint64_t flags) {
    uint64_t *e = walk(s->pml4, va, kpage_alloc);
    if (!e)
        return ERR_NO_MEMORY;
    if (*e & PTE_PRESENT)
        return ERR_ALREADY_EXISTS;
    *e = pa | flags | PTE_PRESENT | PTE_USER;
    return OK;
}

paddr_t vm_unmap(struct vm_space *s, vaddr_t va) {
    uint64_t *e = vm_lookup(s, va);
    if (!e)
        return 0;
    paddr_t pa = *e & PTE_ADDR;
    *e = 0;
    if (vm_is_current(s))
        invlpg(va);
    return pa;
}

static bool table_empty(const uint64_t *table) {
    for (int i = 0; i < 512; i++)
        if (table[i])
            return false;
    return true;
}

/* Free the page tables on the way to va that no longer map anything (pages
 * left by a move), from the page table up; the PML4 stays. */
static void prune(struct vm_space *s, vaddr_t va) {
    uint64_t *entry[4], *table = phys_to_virt(s->pml4);
    for (int level = 3; level > 0; level--) {
        entry[level] = &table[pt_index(va, level)];
        if (!(*entry[level] & PTE_PRESENT))
            return;
        table = table_at(*entry[level]);
    }
    bool freed = false;
    for (int level = 1; level <= 3 && table_empty(table); level++) {
        kpage_free(*entry[level] & PTE_ADDR);
        *entry[level] = 0;
        table = (uint64_t *) ALIGN_DOWN((uintptr_t) entry[level], PAGE_SIZE);
        freed = true;
    }
    if (freed && vm_is_current(s))
        invlpg(va); /* drops the paging-structure caches for va too */
}

void vm_prune_range(struct vm_space *s, vaddr_t va, uint64_t len) {
    const uint64_t span = 1ULL << 21; /* one page table */
    for (vaddr_t a = ALIGN_DOWN(va, span); a < va + len; a += span)
        prune(s, a);
}

unsigned vm_tables_needed(const struct vm_space *s, vaddr_t va, uint64_t len) {
    unsigned needed = 0;
    vaddr_t end = va + len;
    /* Count each missing table once: step by the span one table covers. */
    for (int level = 3; level > 0; level--) {
        uint64_t span = 1ULL << (12 + 9 * level);
        for (vaddr_t a = ALIGN_DOWN(va, span); a < end; a += span) {
            uint64_t *table = phys_to_virt(s->pml4);
            bool missing = false;
            for (int l = 3; l >= level; l--) {
                uint64_t e = table[pt_index(a, l)];
                if (!(e & PTE_PRESENT)) {
                    missing = true;
                    break;
                }
                table = table_at(e);
            }
            needed += missing;
        }
    }
    return needed;
}

bool vm_is_current(const struct vm_space *s) {
    return read_cr3() == s->pml4;
}

void vm_map_kernel(vaddr_t va, paddr_t pa, uint64_t flags) {
    uint64_t *e = walk(virt_to_phys(kernel_pml4()), va, boot_alloc_page);
    KASSERT(e != NULL);
    *e = pa | flags | PTE_PRESENT;
}
