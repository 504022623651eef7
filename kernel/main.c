/*
 * Boot: bring up the CPU, memory and the fixed pools, load memmgr from the
 * initfs, give it the kernel server and all free memory, and start the
 * scheduler. After this the kernel only runs on behalf of system calls,
 * interrupts and exceptions.
 */
#include "process.h"
#include "memory.h"
#include "trace.h"

#define MULTIBOOT_MAGIC 0x2badb002
#define ELF_PT_LOAD     1
#define ELF_PF_X        1
#define ELF_PF_W        2
#define MEMMGR_STACK    (64 * 1024)

struct elf64_ehdr {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

struct kernel_options kopts;
static char selftest[24]; /* kselftest=WHAT (debug.c) */
uint64_t tsc_frequency;
uint64_t boot_unix_time;
static uint64_t tsc_boot, tsc_mult;
extern char __initfs_start[], __initfs_end[];

uint64_t clock_now_ns(void) {
    return (uint64_t) (((unsigned __int128) (rdtsc_() - tsc_boot) * tsc_mult) >> 32);
}

static bool cmdline_has(const char *word, const char **value) {
    size_t n = strlen(word);
    for (const char *p = kernel_cmdline(); *p;) {
        while (*p == ' ')
            p++;
        const char *end = strchr(p, ' ');
        size_t len = end ? (size_t) (end - p) : strlen(p);
        if (len >= n && !strncmp(p, word, n) && (len == n || p[n] == '=')) {
            if (value)
                *value = len > n ? p + n + 1 : "";
            return true;
        }
        p += len;
    }
    return false;
}

static void copy_word(char *dst, const char *src, size_t size) {
    size_t i = 0;
    while (src[i] && src[i] != ' ' && i < size - 1) {
        dst[i] = src[i];
        i++;
    }
    dst[i] = '\0';
}

static void parse_options(void) {
    const char *v;
    if (cmdline_has("kselftest", &v))
        copy_word(selftest, v, sizeof(selftest));
    kopts.nofastpath = cmdline_has("nofastpath", NULL);
    kopts.quiet = cmdline_has("quiet", NULL);
    kopts.e9 = cmdline_has("e9", NULL);
    if (cmdline_has("trace", &v)) {
        char filter[32];
        copy_word(filter, v, sizeof(filter));
        trace_init(filter);
    }
}

static const struct initfs_file *initfs_find(const char *name) {
    const struct initfs_header *h = (const void *) __initfs_start;
    KASSERT(h->magic == INITFS_MAGIC);
    const struct initfs_file *f = (const void *) (h + 1);
    for (uint32_t i = 0; i < h->num_files; i++)
        if (!strcmp(f[i].name, name))
            return &f[i];
    return NULL;
}

static void map_new_page(struct process *p, vaddr_t va, uint64_t flags, const void *data,
                         size_t len) {
    paddr_t pa = boot_alloc_page();
    if (len)
        memcpy(phys_to_virt(pa), data, len);
    KASSERT(vm_map(&p->vm, va, pa, flags) == OK);
}

/* memmgr has no pager: load all of it now. */
static vaddr_t load_elf(struct process *p, const uint8_t *image, size_t size) {
    const struct elf64_ehdr *eh = (const void *) image;
    if (size < sizeof(*eh) || memcmp(eh->ident, "\x7f" "ELF\x02", 5) || eh->machine != 62
        || eh->phoff + (uint64_t) eh->phnum * sizeof(struct elf64_phdr) > size)
        panic("load_elf: memmgr is not an x86_64 ELF image");
    const struct elf64_phdr *ph = (const void *) (image + eh->phoff);
    for (int i = 0; i < eh->phnum; i++) {
        if (ph[i].type != ELF_PT_LOAD)
            continue;
        if (ph[i].offset + ph[i].filesz > size || ph[i].filesz > ph[i].memsz)
            panic("load_elf: memmgr segment %d is out of the file", i);
        uint64_t flags = ((ph[i].flags & ELF_PF_W) ? PTE_WRITE : 0)
                         | ((ph[i].flags & ELF_PF_X) ? 0 : PTE_NX);
        vaddr_t start = ALIGN_DOWN(ph[i].vaddr, PAGE_SIZE);
        for (vaddr_t va = start; va < ph[i].vaddr + ph[i].memsz; va += PAGE_SIZE) {
            paddr_t pa = boot_alloc_page();
            /* copy the part of the file that lands in this page */
            uint64_t seg_lo = MAX(va, ph[i].vaddr), seg_hi = MIN(va + PAGE_SIZE, ph[i].vaddr + ph[i].filesz);
            if (seg_hi > seg_lo)
                memcpy((uint8_t *) phys_to_virt(pa) + (seg_lo - va),
                       image + ph[i].offset + (seg_lo - ph[i].vaddr), seg_hi - seg_lo);
            if (vm_map(&p->vm, va, pa, flags) != OK)
                panic("load_elf: memmgr segments overlap at %p", (void *) va);
        }
    }
    return eh->entry;
}

static void give_memory(struct process *p, struct boot_info *bi) {
    int n;
    const struct mem_range *r = memory_free_ranges(&n);
    for (int i = 0; i < n; i++) {
        if (r[i].len == 0)
            continue;
        if (bi->num_ranges == BOOTINFO_MAX_RANGES)
            break;
        bi->ranges[bi->num_ranges].base = r[i].base;
        bi->ranges[bi->num_ranges].len = r[i].len;
        bi->num_ranges++;
        for (uint64_t off = 0; off < r[i].len; off += PAGE_SIZE)
            if (vm_map(&p->vm, USER_PHYS_WINDOW + r[i].base + off, r[i].base + off,
                       PTE_WRITE | PTE_NX) != OK)
                panic("give_memory: the kernel page pool is too small");
    }
}

static void start_memmgr(void) {
    const struct initfs_file *f = initfs_find("memmgr");
    if (!f)
        panic("start_memmgr: no memmgr in the initfs");
    struct process *p = process_create("memmgr");
    KASSERT(p != NULL);
    vaddr_t entry = load_elf(p, (const uint8_t *) __initfs_start + f->offset, f->size);
    for (vaddr_t va = USER_STACK_TOP - MEMMGR_STACK; va < USER_STACK_TOP; va += PAGE_SIZE)
        map_new_page(p, va, PTE_WRITE | PTE_NX, NULL, 0);

    paddr_t initfs_pa = virt_to_phys(__initfs_start);
    uint64_t initfs_size = ALIGN_UP((uint64_t) (__initfs_end - __initfs_start), PAGE_SIZE);
    KASSERT(IS_ALIGNED(initfs_pa, PAGE_SIZE));
    for (uint64_t off = 0; off < initfs_size; off += PAGE_SIZE)
        KASSERT(vm_map(&p->vm, USER_INITFS_BASE + off, initfs_pa + off, PTE_NX | PTE_DEVICE) == OK);

    paddr_t bi_pa = boot_alloc_page();
    struct boot_info *bi = phys_to_virt(bi_pa);
    bi->initfs_size = __initfs_end - __initfs_start;
    bi->total_pages = memory_total_pages();
    strcpy_safe(bi->cmdline, kernel_cmdline(), sizeof(bi->cmdline));
    KASSERT(vm_map(&p->vm, USER_BOOTINFO, bi_pa, PTE_NX | PTE_DEVICE) == OK);

    kserver_boot_channel(p);
    error_t err;
    KASSERT(thread_create(p, entry, USER_STACK_TOP, USER_BOOTINFO, &err) != NULL);
    give_memory(p, bi); /* last: every boot allocation is done */
}

/* Page tables for memmgr's window over all free memory, plus room for the
 * first processes before memmgr tops the pool up (kernel.donate). */
static unsigned kpool_estimate(void) {
    int n;
    memory_free_ranges(&n);
    return memory_total_pages() / 512 + 8 * n + 256;
}

static void selftest_thread(void) {
    kselftest(selftest);
    for (;;)
        sched_block(); /* a kernel thread never returns */
}

void kmain(uint32_t magic, uint32_t mb_info) {
    stack_guard_init();
    serial_init();
    arch_init();
    if (magic != MULTIBOOT_MAGIC)
        panic("kmain: not booted by a multiboot loader (magic %#x)", magic);
    memory_init(mb_info);
    parse_options();
    if (!kopts.quiet)
        printk("\n[kernel] Fumi booting: %lu MiB of RAM, command line \"%s\"\n",
               memory_total_pages() / 256, kernel_cmdline());

    kpage_reserve(kpool_estimate());
    process_init();
    channel_init();
    sched_init();
    pic_init();
    tsc_frequency = tsc_calibrate();
    tsc_mult = (1000000000ULL << 32) / tsc_frequency;
    tsc_boot = rdtsc_();
    boot_unix_time = rtc_unix_time();
    pit_init(TICK_HZ);
    pic_unmask(0);
    kernel_pml4()[0] = 0; /* the identity map of boot.S is no longer used */
    write_cr3(read_cr3());

    if (selftest[0])
        kthread_create(selftest_thread); /* runs first, on a guarded stack */
    if (cmdline_has("bochsbreak", NULL)) {
        printk("[kernel] bochsbreak: stopping in the Bochs debugger\n");
        BOCHS_BREAK();
    }
    start_memmgr();
    if (!kopts.quiet)
        printk("[kernel] TSC %lu MHz, fastpath %s, tracing %s; starting memmgr\n",
               tsc_frequency / 1000000, kopts.nofastpath ? "off" : "on",
               trace_enabled ? "on" : "off");
    sched_start();
}
