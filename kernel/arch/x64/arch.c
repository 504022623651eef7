/*
 * CPU set-up: the GDT with a TSS (kernel stack and I/O permission bitmap),
 * the IDT, the syscall MSRs, thread contexts and switching, and power-off.
 */
#include "arch.h"
#include "../../kernel.h"
#include "../../process.h"

struct PACKED tss {
    uint32_t reserved0;
    uint64_t rsp0, rsp1, rsp2;
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
    uint8_t iomap[8192 + 1]; /* one bit per port, 1 = denied; 0xff ends it */
};

struct PACKED idt_entry {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type;
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
};

struct PACKED desc_ptr {
    uint16_t limit;
    uint64_t base;
};

static struct tss tss ALIGNED(16);
/* A double fault (say, a kernel stack run into its guard page) gets a
 * stack of its own (IST 1), so the panic can still print. */
static uint8_t double_fault_stack[8192] ALIGNED(16);
static uint64_t gdt[7] ALIGNED(16);
static struct idt_entry idt[48] ALIGNED(16);
extern const uint64_t isr_table[48];
extern char syscall_entry[], user_entry_trampoline[], fastpath_resume[];

static void gdt_init(void) {
    gdt[0] = 0;
    gdt[1] = 0x00af9a000000ffffULL; /* 0x08 kernel code */
    gdt[2] = 0x00cf92000000ffffULL; /* 0x10 kernel data */
    gdt[3] = 0x00cff2000000ffffULL; /* 0x18 user data */
    gdt[4] = 0x00affa000000ffffULL; /* 0x20 user code (64-bit) */
    uint64_t base = (uint64_t) &tss, limit = sizeof(tss) - 1;
    gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40)
             | (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[6] = base >> 32;

    memset(&tss, 0, sizeof(tss));
    tss.ist[0] = (uint64_t) double_fault_stack + sizeof(double_fault_stack);
    tss.iomap_base = offsetof_(struct tss, iomap);
    memset(tss.iomap, 0xff, sizeof(tss.iomap));

    struct desc_ptr p = {sizeof(gdt) - 1, (uint64_t) gdt};
    __asm__ volatile("lgdt %0" ::"m"(p));
    __asm__ volatile("mov %0, %%ds; mov %0, %%es; mov %0, %%ss" ::"r"(GDT_KERNEL_DATA));
    __asm__ volatile("xor %%eax, %%eax; mov %%eax, %%fs; mov %%eax, %%gs" ::: "rax");
    __asm__ volatile("pushq %0; lea 1f(%%rip), %%rax; pushq %%rax; lretq; 1:"
                     ::"i"(GDT_KERNEL_CODE) : "rax", "memory");
    __asm__ volatile("ltr %w0" ::"r"(GDT_TSS));
}

static void idt_init(void) {
    for (unsigned i = 0; i < ARRAY_SIZE(idt); i++) {
        uint64_t off = isr_table[i];
        idt[i] = (struct idt_entry){
            .offset_lo = off & 0xffff,
            .selector = GDT_KERNEL_CODE,
            .ist = i == 8 ? 1 : 0,
            .type = 0x8e, /* present, DPL 0, interrupt gate */
            .offset_mid = (off >> 16) & 0xffff,
            .offset_hi = off >> 32,
        };
    }
    struct desc_ptr p = {sizeof(idt) - 1, (uint64_t) idt};
    __asm__ volatile("lidt %0" ::"m"(p));
}

static void syscall_init(void) {
    /* sysret: CS = 0x10 + 16 | 3 = 0x23, SS = 0x10 + 8 | 3 = 0x1b. */
    wrmsr(MSR_STAR, ((uint64_t) 0x10 << 48) | ((uint64_t) GDT_KERNEL_CODE << 32));
    wrmsr(MSR_LSTAR, (uint64_t) syscall_entry);
    wrmsr(MSR_FMASK, RFLAGS_IF | (1u << 8) /* TF */ | (1u << 10) /* DF */ | (1u << 18) /* AC */);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | 1);
}

void arch_init(void) {
    gdt_init();
    idt_init();
    syscall_init();
}

/* Build a kernel stack whose first arch_switch "returns" to user mode. */
void arch_thread_init(struct arch_thread *a, uint64_t stack_top, uint64_t cr3,
                      uint64_t fs_base, uint64_t entry, uint64_t user_stack,
                      uint64_t arg) {
    uint64_t *sp = (uint64_t *) stack_top;
    *--sp = GDT_USER_DATA;        /* ss */
    *--sp = user_stack;           /* rsp */
    *--sp = RFLAGS_USER;          /* rflags */
    *--sp = GDT_USER_CODE;        /* cs */
    *--sp = entry;                /* rip */
    *--sp = arg;                  /* popped into rdi */
    *--sp = (uint64_t) user_entry_trampoline;
    for (int i = 0; i < 6; i++)   /* rbp rbx r12-r15 */
        *--sp = 0;
    a->rsp = (uint64_t) sp;
    a->stack_top = stack_top;
    a->cr3 = cr3;
    a->fs_base = fs_base;
}

void arch_kthread_init(struct arch_thread *a, uint64_t stack_top, void (*fn)(void)) {
    uint64_t *sp = (uint64_t *) stack_top;
    *--sp = 0;                    /* keeps fn's frame 16-byte aligned */
    *--sp = (uint64_t) fn;
    for (int i = 0; i < 6; i++)
        *--sp = 0;
    a->rsp = (uint64_t) sp;
    a->stack_top = stack_top;
    a->cr3 = virt_to_phys(kernel_pml4());
    a->fs_base = 0;
}

void arch_switch_to(struct arch_thread *prev, struct arch_thread *next) {
    tss.rsp0 = next->stack_top;
    syscall_kernel_rsp = next->stack_top;
    if (prev->cr3 != next->cr3)
        write_cr3(next->cr3);
    if (prev->fs_base != next->fs_base)
        wrmsr(MSR_FS_BASE, next->fs_base);
    arch_switch(&prev->rsp, next->rsp);
}

/*
 * The fastpath's switch: block prev so that a later ordinary switch to it
 * returns its wake_result from its system call (fastpath_resume), then
 * return to next's user mode straight through next's syscall frame at the
 * top of its kernel stack. next's kernel stack below that frame is dropped:
 * a thread waiting in receive has nothing else to do when it wakes.
 */
void arch_fastpath_switch(struct arch_thread *prev, struct arch_thread *next) {
    uint64_t *prev_frame = (uint64_t *) (prev->stack_top - SYSCALL_FRAME_SIZE);
    prev_frame[-1] = (uint64_t) fastpath_resume;
    prev->rsp = (uint64_t) (prev_frame - 7); /* six callee-saved slots + ret */
    tss.rsp0 = next->stack_top;
    syscall_kernel_rsp = next->stack_top;
    if (prev->cr3 != next->cr3)
        write_cr3(next->cr3);
    if (prev->fs_base != next->fs_base)
        wrmsr(MSR_FS_BASE, next->fs_base);
    __asm__ volatile("mov %0, %%rsp\n"
                     "xor %%eax, %%eax\n"
                     "xor %%ebx, %%ebx\n"
                     "xor %%r12d, %%r12d\n"
                     "xor %%r13d, %%r13d\n"
                     "xor %%r14d, %%r14d\n"
                     "xor %%r15d, %%r15d\n"
                     "jmp syscall_exit"
                     :
                     : "r"(next->stack_top - SYSCALL_FRAME_SIZE)
                     : "memory");
    __builtin_unreachable();
}

static void iomap_set(const struct process *p, bool allow) {
    for (int i = 0; i < p->num_io; i++) {
        for (unsigned port = p->io[i].base; port < (unsigned) p->io[i].base + p->io[i].len; port++) {
            if (allow)
                tss.iomap[port / 8] &= ~(1u << (port % 8));
            else
                tss.iomap[port / 8] |= 1u << (port % 8);
        }
    }
}

/* Only processes with granted ports touch the bitmap, so the IPC
 * fastpath between ordinary servers never pays for it. */
void arch_io_switch(struct process *prev, struct process *next) {
    if (prev == next)
        return;
    if (prev && prev->num_io)
        iomap_set(prev, false);
    if (next && next->num_io)
        iomap_set(next, true);
}

void arch_io_refresh(struct process *p) {
    iomap_set(p, true);
}

void arch_backtrace(uint64_t rbp) {
    for (int depth = 0; rbp && depth < 16; depth++) {
        if (rbp < KERNEL_BASE && rbp < DIRECT_MAP_BASE)
            break;
        uint64_t *frame = (uint64_t *) rbp;
        uint64_t ret = frame[1];
        if (ret < KERNEL_BASE)
            break;
        printk("  #%d %p %s\n", depth, (void *) ret, ksym_name(ret));
        rbp = frame[0];
    }
}

/* QEMU isa-debug-exit (exit status (code << 1) | 1), then Bochs, then ACPI. */
void arch_poweroff(uint32_t code) {
    outb(0xf4, code);
    const char *s = "Shutdown";
    while (*s)
        outb(0x8900, *s++);
    outw(0xb004, 0x2000);
    outw(0x604, 0x2000);
    cpu_stop();
}
