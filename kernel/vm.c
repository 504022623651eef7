/*
 * Page payloads: a page moves from one address space to another, never
 * shared. Callers check both sides (and the pool, for new tables) first,
 * then vm_move commits, which cannot fail.
 */
#include "vm.h"
#include "memory.h"

uint64_t prot_to_pte(uint32_t prot) {
    return ((prot & PROT_WRITE) ? PTE_WRITE : 0) | ((prot & PROT_EXEC) ? 0 : PTE_NX);
}

/* Every page of [va, va+len) is an ordinary user page that may move. */
error_t vm_check_movable(const struct vm_space *src, vaddr_t va, uint64_t len) {
    if (!IS_ALIGNED(va, PAGE_SIZE) || !IS_ALIGNED(len, PAGE_SIZE) || len == 0
        || len > PAGE_PAYLOAD_MAX || !vm_user_range(va, len))
        return ERR_BAD_PAGE;
    for (vaddr_t a = va; a < va + len; a += PAGE_SIZE) {
        uint64_t *e = vm_lookup(src, a);
        if (!e || (*e & (PTE_DEVICE | PTE_KOWNED | PTE_PINNED)))
            return ERR_BAD_PAGE;
    }
    return OK;
}

/* [va, va+len) is unmapped user space and the pool can hold its tables. */
error_t vm_check_free(const struct vm_space *dst, vaddr_t va, uint64_t len) {
    if (!IS_ALIGNED(va, PAGE_SIZE) || !vm_user_range(va, len))
        return ERR_NOT_ACCEPTED;
    for (vaddr_t a = va; a < va + len; a += PAGE_SIZE)
        if (vm_lookup(dst, a))
            return ERR_NOT_ACCEPTED;
    if (vm_tables_needed(dst, va, len) > kpage_free_count())
        return ERR_NO_MEMORY;
    return OK;
}

void vm_move(struct vm_space *src, vaddr_t src_va, struct vm_space *dst, vaddr_t dst_va,
             uint64_t len, uint64_t flags) {
    for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
        paddr_t pa = vm_unmap(src, src_va + off);
        KASSERT(pa != 0);
        error_t err = vm_map(dst, dst_va + off, pa, flags);
        KASSERT(err == OK); /* checked by vm_check_free */
    }
    /* Received windows are never reused: without this every payload would
     * keep its page tables until the sender dies. */
    vm_prune_range(src, src_va, len);
}
