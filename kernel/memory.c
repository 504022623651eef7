#include "memory.h"

/* The part of the multiboot info we read (multiboot 0.6.96, section 3.3). */
struct PACKED mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
    uint32_t mods_count, mods_addr, syms[4];
    uint32_t mmap_length, mmap_addr;
};

struct PACKED mb_mmap_entry {
    uint32_t size;
    uint64_t base, len;
    uint32_t type;
};

#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MMAP    (1u << 6)
#define MB_RAM          1

extern char __bss_end[];

static struct mem_range free_ranges[MEM_MAX_RANGES];
static struct mem_range ram_ranges[MEM_MAX_RANGES];
static int num_free, num_ram;
static uint64_t total_pages;
static char cmdline[BOOTINFO_CMDLINE_MAX];

static paddr_t kpool_head;     /* free list linked through the pages */
static unsigned kpool_free, kpool_total;
static bool kpool_low;         /* below KPOOL_LOW_MARK since memmgr was told */
bool kpool_low_pending;
static uint32_t *frame_next;   /* reclaim list links, one per frame */
static uint64_t frame_count;
static uint32_t reclaim_head;  /* pfn + 1; 0 = empty */

const char *kernel_cmdline(void) {
    return cmdline;
}

/* Remove [base, end) from the free ranges (the kernel image, low memory). */
static void carve(paddr_t base, paddr_t end) {
    for (int i = 0; i < num_free; i++) {
        paddr_t rb = free_ranges[i].base, re = rb + free_ranges[i].len;
        if (end <= rb || base >= re)
            continue;
        if (base > rb && end < re && num_free < MEM_MAX_RANGES) {
            free_ranges[num_free++] = (struct mem_range){end, re - end};
            free_ranges[i].len = base - rb;
        } else if (base <= rb) {
            free_ranges[i].base = MIN(end, re);
            free_ranges[i].len = re - free_ranges[i].base;
        } else {
            free_ranges[i].len = base - rb;
        }
    }
}

static void add_ram(uint64_t base, uint64_t len) {
    paddr_t b = ALIGN_UP(base, PAGE_SIZE), e = ALIGN_DOWN(base + len, PAGE_SIZE);
    if (e <= b || num_ram == MEM_MAX_RANGES)
        return;
    ram_ranges[num_ram++] = (struct mem_range){b, e - b};
    free_ranges[num_free++] = (struct mem_range){b, e - b};
    total_pages += (e - b) / PAGE_SIZE;
}

static void parse_multiboot(const struct mb_info *mb) {
    if (mb->flags & MB_INFO_CMDLINE)
        strcpy_safe(cmdline, phys_to_virt(mb->cmdline), sizeof(cmdline));
    if (!(mb->flags & MB_INFO_MMAP)) {
        add_ram(0x100000, (uint64_t) mb->mem_upper * 1024);
        return;
    }
    uint64_t p = mb->mmap_addr, end = p + mb->mmap_length;
    while (p < end) {
        const struct mb_mmap_entry *e = phys_to_virt(p);
        if (e->type == MB_RAM)
            add_ram(e->base, e->len);
        p += e->size + 4;
    }
}

paddr_t boot_alloc_page(void) {
    for (int i = 0; i < num_free; i++) {
        if (free_ranges[i].len >= PAGE_SIZE) {
            paddr_t pa = free_ranges[i].base;
            free_ranges[i].base += PAGE_SIZE;
            free_ranges[i].len -= PAGE_SIZE;
            memset(phys_to_virt(pa), 0, PAGE_SIZE);
            return pa;
        }
    }
    panic("boot_alloc_page: out of memory during boot");
}

/* The direct map covers the first GiB from boot.S; extend it over all RAM. */
static void direct_map_extend(void) {
    paddr_t top = 0;
    for (int i = 0; i < num_ram; i++)
        top = MAX(top, ram_ranges[i].base + ram_ranges[i].len);
    uint64_t *pml4 = kernel_pml4();
    uint64_t *pdpt = phys_to_virt(pml4[256] & ~0xfffULL);
    for (paddr_t gib = 1; gib < ALIGN_UP(top, 1ULL << 30) >> 30 && gib < 512; gib++) {
        paddr_t pd_pa = boot_alloc_page();
        uint64_t *pd = phys_to_virt(pd_pa);
        for (int i = 0; i < 512; i++)
            pd[i] = ((gib << 30) + ((uint64_t) i << 21)) | 0x83;
        pdpt[gib] = pd_pa | 0x3;
    }
}

void memory_init(uint32_t mb_info_pa) {
    /* The boot map covers the first GiB: alias it as the direct map. */
    uint64_t *pml4 = kernel_pml4();
    pml4[256] = pml4[0];
    parse_multiboot(phys_to_virt(mb_info_pa));
    carve(0, 0x100000);
    carve(0x100000, ALIGN_UP((paddr_t) __bss_end, PAGE_SIZE));
    /* Boot allocations must come from the first GiB (mapped already). */
    direct_map_extend();

    paddr_t top = 0;
    for (int i = 0; i < num_ram; i++)
        top = MAX(top, ram_ranges[i].base + ram_ranges[i].len);
    frame_count = top / PAGE_SIZE;
    uint64_t table_pages = ALIGN_UP(frame_count * sizeof(uint32_t), PAGE_SIZE) / PAGE_SIZE;
    paddr_t first = boot_alloc_page();
    for (uint64_t i = 1; i < table_pages; i++) {
        paddr_t pa = boot_alloc_page();
        KASSERT(pa == first + i * PAGE_SIZE); /* one range is large enough */
    }
    frame_next = phys_to_virt(first);
}

const struct mem_range *memory_free_ranges(int *count) {
    *count = num_free;
    return free_ranges;
}

uint64_t memory_total_pages(void) {
    return total_pages;
}

bool memory_is_ram(paddr_t pa) {
    for (int i = 0; i < num_ram; i++)
        if (pa >= ram_ranges[i].base && pa - ram_ranges[i].base < ram_ranges[i].len)
            return true;
    return false;
}

void kpage_free(paddr_t pa) {
    *(paddr_t *) phys_to_virt(pa) = kpool_head;
    kpool_head = pa;
    kpool_free++;
}

void kpage_reserve(unsigned pages) {
    for (unsigned i = 0; i < pages; i++) {
        kpage_free(boot_alloc_page());
        kpool_total++;
    }
}

paddr_t kpage_alloc(void) {
    if (!kpool_head)
        return 0;
    paddr_t pa = kpool_head;
    kpool_head = *(paddr_t *) phys_to_virt(pa);
    kpool_free--;
    if (kpool_free < KPOOL_LOW_MARK && !kpool_low) {
        kpool_low = true;
        kpool_low_pending = true; /* told at the next tick (sched_tick) */
    }
    memset(phys_to_virt(pa), 0, PAGE_SIZE);
    return pa;
}

unsigned kpage_free_count(void) {
    return kpool_free;
}

unsigned kpage_total(void) {
    return kpool_total;
}

/* kernel.donate: the page now belongs to the kernel for good. */
void kpage_donate(paddr_t pa) {
    kpage_free(pa);
    kpool_total++;
    if (kpool_free >= KPOOL_LOW_MARK)
        kpool_low = false;
}

void reclaim_push(paddr_t pa) {
    uint64_t pfn = pa / PAGE_SIZE;
    KASSERT(pfn < frame_count);
    frame_next[pfn] = reclaim_head;
    reclaim_head = (uint32_t) pfn + 1;
}

int reclaim_pop(uint32_t *pfns, int max) {
    int n = 0;
    while (n < max && reclaim_head) {
        uint32_t pfn = reclaim_head - 1;
        pfns[n++] = pfn;
        reclaim_head = frame_next[pfn];
    }
    return n;
}
