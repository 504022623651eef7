/*
 * The isolation test: a program with no rights at all (boot manifest)
 * tries to reach what belongs to other processes and to the kernel.
 *
 * `run isolation` makes every attempt that the kernel or memmgr must
 * refuse with an error (page payloads naming kernel or foreign memory,
 * kernel.map into another process, kernel.unmap of what it does not own,
 * process control, I/O ports, IRQs, MMIO, DMA, printing on a channel
 * without the console right, stealing a registered name, memmgr's `ctl`
 * calls) and prints one PASS/FAIL line per attempt with what came back.
 *
 * An attempt that is a plain instruction (a load or store at a kernel or
 * foreign address, `in`/`out` on a port, a thread started at a kernel
 * address) can only end the process, so each runs alone:
 * `run isolation direct NAME`. It prints "isolation: refused NAME: ERR_X"
 * when the kernel said no, and "isolation: FAIL NAME: survived" when the
 * access went through; otherwise its death (the shell's "exited: cause
 * fault" or "cause pager" line) is the outcome. `run isolation list`
 * prints the names (tests/system/test_fuzz.py runs each one).
 */
#include <user/check.h>
#include <idl.h>

#define KERNEL_IMAGE   0xffffffff80100000ULL /* the kernel's text */
#define DIRECT_MAP     0xffff800000100000ULL /* all RAM, as the kernel sees it */
#define KERNEL_STACKS  0xffffff0000000000ULL
#define NON_CANONICAL  0x0000800000000000ULL
#define VGA_TEXT       0xb8000ULL
#define E1000_BAR0     0xfebc0000ULL /* QEMU's e1000 on the pc machine */

static volatile uint64_t sink;

/* ---- direct accesses: each ends the process (or is a failure) ------------- */

static void load(uint64_t addr) {
    sink = *(volatile uint64_t *) addr;
}

static void store(uint64_t addr) {
    *(volatile uint64_t *) addr = 0x1501a7ed;
}

static void thread_at(uint64_t entry) {
    static uint8_t stack[4096] __attribute__((aligned(16)));
    int32_t tid;
    error_t err = kernel_spawn_thread(CID_KERNEL, 0, entry, (uint64_t) stack + sizeof(stack), 0,
                                      &tid);
    if (err) {
        printf("isolation: refused thread at 0x%lx: %s\n", entry, err_name(err));
        exit(0);
    }
    sleep_ms(500); /* the thread faults at once and takes the process along */
}

struct direct {
    const char *name;
    void (*fn)(uint64_t);
    uint64_t arg;
};

static void in_byte(uint64_t port) {
    uint8_t v;
    __asm__ volatile("inb %w1, %0" : "=a"(v) : "Nd"((uint16_t) port));
    sink = v;
}

static void out_byte(uint64_t port) {
    __asm__ volatile("outb %0, %w1" ::"a"((uint8_t) 0), "Nd"((uint16_t) port));
}

static void out_long(uint64_t port) {
    __asm__ volatile("outl %0, %w1" ::"a"(0x80000000u), "Nd"((uint16_t) port));
}

static const struct direct directs[] = {
    {"load-kernel-image", load, KERNEL_IMAGE},
    {"store-kernel-image", store, KERNEL_IMAGE},
    {"load-direct-map", load, DIRECT_MAP},
    {"store-direct-map", store, DIRECT_MAP},
    {"load-kernel-stacks", load, KERNEL_STACKS},
    {"load-non-canonical", load, NON_CANONICAL},
    /* Where memmgr keeps all free memory, the initfs and the boot info,
     * and where drivers map their devices: in another process, not here. */
    {"load-memmgr-phys-window", load, USER_PHYS_WINDOW},
    {"store-memmgr-phys-window", store, USER_PHYS_WINDOW + 0x100000},
    {"load-memmgr-initfs", load, USER_INITFS_BASE},
    {"load-memmgr-bootinfo", load, USER_BOOTINFO},
    {"load-driver-mmio", load, USER_MMIO_BASE},
    {"in-ata", in_byte, 0x1f0},
    {"out-ata", out_byte, 0x1f7},
    {"in-keyboard", in_byte, 0x60},
    {"out-pci-config", out_long, 0xcf8},
    {"in-pci-config", in_byte, 0xcfc},
    {"thread-at-kernel", thread_at, KERNEL_IMAGE},
    {"thread-non-canonical", thread_at, NON_CANONICAL},
};

static int run_direct(const char *name) {
    for (size_t i = 0; i < ARRAY_SIZE(directs); i++) {
        if (strcmp(directs[i].name, name))
            continue;
        flush_output();
        directs[i].fn(directs[i].arg);
        printf("isolation: FAIL %s: survived\n", name);
        return 3;
    }
    printf("isolation: no direct attempt \"%s\"\n", name);
    return 2;
}

/* ---- requests the kernel or memmgr must refuse ------------------------------ */

/* One attempt: it must fail. */
static void refused(const char *name, error_t err) {
    check(name, err < 0, "returned %s", err_name(err));
    if (err < 0)
        printf("isolation: %s -> %s\n", name, err_name(err));
}

/* The pid of the first live process called name (kernel.process_info
 * needs no right), or -1. */
static int32_t pid_of(const char *name) {
    int32_t pid = 0, next;
    char pname[32];
    uint32_t state, threads, chans;
    uint64_t pages, sent, received, faults;
    while (kernel_process_info(CID_KERNEL, pid, &next, pname, &state, &threads, &chans, &pages,
                               &sent, &received, &faults) == OK) {
        if (!strcmp(pname, name))
            return next;
        pid = next + 1;
    }
    return -1;
}

/* A page of its own heap, mapped. */
static uint64_t own_page(void) {
    uint64_t p = ALIGN_UP((uint64_t) malloc(2 * PAGE_SIZE), PAGE_SIZE);
    memset((void *) p, 0x5a, PAGE_SIZE);
    return p;
}

/* Send a page payload naming [addr, addr+len) to itself. */
static error_t send_pages_to_self(uint64_t addr, uint64_t len) {
    cid_t a = sys_open(), b = sys_open();
    error_t err = sys_link(a, b);
    if (!err) {
        struct message *m = ipc_buffer();
        memset(m, 0, MSG_HEADER_SIZE);
        m->header = msg_header(TEST_TAKE_PAGES_MSG, 0, MSG_PAGE_BIT);
        m->page_addr = addr;
        m->page_len = len;
        err = sys_ipc(a, IPC_SEND | IPC_NOBLOCK);
        if (err == ERR_WOULD_BLOCK)
            err = OK; /* the payload passed the sender's checks */
    }
    sys_close(a);
    sys_close(b);
    return err;
}

static void foreign_memory(int32_t victim) {
    static const struct { const char *name; uint64_t addr; } bad[] = {
        {"page payload of kernel text", KERNEL_IMAGE},
        {"page payload of the direct map", DIRECT_MAP},
        {"page payload of memmgr's physical window", USER_PHYS_WINDOW},
        {"page payload of its own thread info page", USER_THREAD_INFO_BASE},
        {"page payload of memmgr's initfs", USER_INITFS_BASE},
    };
    char name[96];
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        refused(bad[i].name, send_pages_to_self(bad[i].addr, PAGE_SIZE));
        snprintf(name, sizeof(name), "memmgr.free_pages of %s", bad[i].name + 16);
        refused(name, memmgr_free_pages(CID_MEMMGR, bad[i].addr, PAGE_SIZE));
    }
    uint64_t page = own_page();
    refused("kernel.map of its page into memmgr", kernel_map(CID_KERNEL, 1, USER_HEAP_BASE +
                                                   0x40000000, PROT_WRITE, page, PAGE_SIZE));
    refused("kernel.map of its page into another server",
            kernel_map(CID_KERNEL, victim, USER_HEAP_BASE + 0x40000000, PROT_WRITE, page,
                       PAGE_SIZE));
    refused("kernel.map of its page over the kernel",
            kernel_map(CID_KERNEL, 0, KERNEL_IMAGE, PROT_WRITE, page, PAGE_SIZE));
    uint64_t addr, len;
    refused("kernel.unmap of kernel text", kernel_unmap(CID_KERNEL, KERNEL_IMAGE, PAGE_SIZE,
                                                        &addr, &len));
    refused("kernel.unmap of the direct map", kernel_unmap(CID_KERNEL, DIRECT_MAP, PAGE_SIZE,
                                                           &addr, &len));
    refused("kernel.unmap of memmgr's physical window",
            kernel_unmap(CID_KERNEL, USER_PHYS_WINDOW, PAGE_SIZE, &addr, &len));
    refused("kernel.unmap of its thread info page (kernel pool)",
            kernel_unmap(CID_KERNEL, USER_THREAD_INFO_BASE, PAGE_SIZE, &addr, &len));
    refused("kernel.dma_pin of its own page", kernel_dma_pin(CID_KERNEL, page, PAGE_SIZE, &addr));
    refused("kernel.donate of its own page", kernel_donate(CID_KERNEL, page, PAGE_SIZE));
}

static void process_control(int32_t victim) {
    cid_t ch = sys_open();
    int32_t out;
    refused("kernel.create_process", kernel_create_process(CID_KERNEL, "evil", ch, &out));
    refused("kernel.give_channel to memmgr", kernel_give_channel(CID_KERNEL, 1, ch, &out));
    refused("kernel.give_channel to another server",
            kernel_give_channel(CID_KERNEL, victim, ch, &out));
    sys_close(ch);
    refused("kernel.destroy_process of another server",
            kernel_destroy_process(CID_KERNEL, victim));
    refused("kernel.destroy_process of memmgr", kernel_destroy_process(CID_KERNEL, 1));
    refused("kernel.spawn_thread in another server",
            kernel_spawn_thread(CID_KERNEL, victim, USER_IMAGE_BASE, USER_STACK_TOP, 0, &out));
    refused("kernel.inject_fault into another server", kernel_inject_fault(CID_KERNEL, victim));
    int32_t self = thread_info()->tid;
    char name[64];
    for (int32_t tid = 1; tid <= 8; tid++) {
        if (tid == self)
            continue;
        snprintf(name, sizeof(name), "kernel.kill_thread of tid %d", tid);
        refused(name, kernel_kill_thread(CID_KERNEL, tid));
    }
    uint32_t count;
    uint8_t pfns[200];
    size_t pfns_len;
    refused("kernel.reclaim", kernel_reclaim(CID_KERNEL, &count, pfns, &pfns_len));
    refused("kernel.shutdown", kernel_shutdown(CID_KERNEL, 7));
    refused("memmgr.spawn without ctl", memmgr_spawn(CID_MEMMGR, "fuzz", "1 10", &out));
    refused("memmgr.kill without ctl", memmgr_kill(CID_MEMMGR, victim));
    refused("memmgr.crash without ctl", memmgr_crash(CID_MEMMGR, victim));
    refused("memmgr.stop without ctl", memmgr_stop(CID_MEMMGR, victim));
    refused("memmgr.shutdown without ctl", memmgr_shutdown(CID_MEMMGR, 7));
    cid_t mine = sys_open(), theirs = sys_open();
    sys_link(mine, theirs);
    refused("ns.register of a name a server holds (console)",
            ns_register(CID_MEMMGR, "console", theirs));
    sys_close(mine);
}

static void devices(void) {
    static const struct { uint16_t base, len; } ports[] = {
        {0x1f0, 8}, {0x60, 1}, {0xcf8, 8}, {0x3f8, 8}, {0, 0xffff},
    };
    char name[64];
    for (size_t i = 0; i < ARRAY_SIZE(ports); i++) {
        snprintf(name, sizeof(name), "kernel.ioport_enable 0x%x:%u", ports[i].base, ports[i].len);
        refused(name, kernel_ioport_enable(CID_KERNEL, ports[i].base, ports[i].len));
    }
    static const uint32_t irqs[] = {1, 14, 10, 4, 11};
    cid_t ch;
    for (size_t i = 0; i < ARRAY_SIZE(irqs); i++) {
        snprintf(name, sizeof(name), "kernel.irq_listen %u", irqs[i]);
        refused(name, kernel_irq_listen(CID_KERNEL, irqs[i], &ch));
    }
    refused("kernel.irq_ack 14", kernel_irq_ack(CID_KERNEL, 14));
    refused("kernel.mmio_map of VGA text", kernel_mmio_map(CID_KERNEL, VGA_TEXT, 0x8000,
                                                          USER_MMIO_BASE));
    refused("kernel.mmio_map of the e1000 registers",
            kernel_mmio_map(CID_KERNEL, E1000_BAR0, 0x20000, USER_MMIO_BASE));
    refused("kernel.mmio_map of RAM (the kernel)",
            kernel_mmio_map(CID_KERNEL, 0x100000, PAGE_SIZE, USER_MMIO_BASE));
}

/* Narrowing may only take rights away: asking for more is refused, and a
 * channel narrowed to nothing cannot print. */
static void narrowing(void) {
    uint16_t io_base[4] = {0x1f0}, io_len[4] = {8};
    uint64_t mmio_base[4] = {VGA_TEXT}, mmio_len[4] = {0x8000};
    uint16_t no_io[4] = {0};
    uint64_t no_mmio[4] = {0};
    cid_t ch;
    refused("kernel.open_narrowed to every right",
            kernel_open_narrowed(CID_KERNEL, KRIGHT_ALL, 0xffff, no_io, sizeof(no_io), no_io,
                                 sizeof(no_io), no_mmio, sizeof(no_mmio), no_mmio,
                                 sizeof(no_mmio), &ch));
    refused("kernel.open_narrowed to ATA ports",
            kernel_open_narrowed(CID_KERNEL, KRIGHT_IO, 0, io_base, sizeof(io_base), io_len,
                                 sizeof(io_len), no_mmio, sizeof(no_mmio), no_mmio,
                                 sizeof(no_mmio), &ch));
    refused("kernel.open_narrowed to VGA memory",
            kernel_open_narrowed(CID_KERNEL, KRIGHT_MMIO, 0, no_io, sizeof(no_io), no_io,
                                 sizeof(no_io), mmio_base, sizeof(mmio_base), mmio_len,
                                 sizeof(mmio_len), &ch));
    error_t err = kernel_open_narrowed(CID_KERNEL, 0, 0, no_io, sizeof(no_io), no_io,
                                       sizeof(no_io), no_mmio, sizeof(no_mmio), no_mmio,
                                       sizeof(no_mmio), &ch);
    check("kernel.open_narrowed to no rights works", err == OK, "%s", err_name(err));
    if (err == OK) {
        refused("kernel.print without the console right", kernel_print(ch, "x\n", 2));
        refused("kernel.ioport_enable on the narrowed channel",
                kernel_ioport_enable(ch, 0x1f0, 8));
        sys_close(ch);
    }
}

int main(void) {
    program_name = "isolation";
    const char *args = program_args();
    if (!strncmp(args, "direct ", 7))
        return run_direct(args + 7);
    if (!strncmp(args, "register ", 9)) {
        /* a supervised server's name while it is down: reserved for it */
        cid_t mine = sys_open(), theirs = sys_open();
        sys_link(mine, theirs);
        refused("ns.register of a supervised server's name", ns_register(CID_MEMMGR, args + 9,
                                                                         theirs));
        sys_close(mine);
        return check_summary();
    }
    if (!strcmp(args, "list")) {
        for (size_t i = 0; i < ARRAY_SIZE(directs); i++)
            printf("isolation: direct %s\n", directs[i].name);
        return 0;
    }
    if (args[0]) {
        printf("isolation: usage: isolation [list | direct NAME | register NAME]\n");
        return 2;
    }
    int32_t victim = pid_of("httpd");
    if (victim < 0)
        victim = pid_of("console");
    foreign_memory(victim);
    process_control(victim);
    devices();
    narrowing();
    check("the victim is still alive", pid_of("httpd") == victim || pid_of("console") == victim,
          "pid %d is gone", victim);
    return check_summary();
}
