/*
 * x86_64-specific definitions the portable kernel code may use: port I/O,
 * MSRs, control registers, the trap frame, the per-thread context and the
 * addresses of the kernel's views of physical memory.
 */
#pragma once

#include <common/types.h>

#define KERNEL_BASE     0xffffffff80000000ULL /* kernel image: + physical */
#define DIRECT_MAP_BASE 0xffff800000000000ULL /* all RAM: + physical */
#define KSTACK_BASE     0xffffff0000000000ULL /* kernel stacks with guard pages */

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_USER_DATA   0x1b
#define GDT_USER_CODE   0x23
#define GDT_TSS         0x28

#define MSR_EFER         0xc0000080
#define MSR_STAR         0xc0000081
#define MSR_LSTAR        0xc0000082
#define MSR_FMASK        0xc0000084
#define MSR_FS_BASE      0xc0000100
#define MSR_GS_BASE      0xc0000101
#define MSR_KERNEL_GS    0xc0000102

#define RFLAGS_IF   (1u << 9)
#define RFLAGS_USER (RFLAGS_IF | 0x2)

static inline paddr_t virt_to_phys(const void *p) {
    uintptr_t v = (uintptr_t) p;
    return v >= KERNEL_BASE ? v - KERNEL_BASE : v - DIRECT_MAP_BASE;
}

static inline void *phys_to_virt(paddr_t p) {
    return (void *) (uintptr_t) (p + DIRECT_MAP_BASE);
}

static inline void outb(uint16_t port, uint8_t v) {
    __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v) {
    __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v) {
    __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port) {
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t) hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v) {
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t) v), "d"((uint32_t) (v >> 32)));
}

static inline uint64_t read_cr2(void) {
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
static inline uint64_t read_cr3(void) {
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
static inline void write_cr3(uint64_t v) {
    __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory");
}
static inline void invlpg(vaddr_t va) {
    __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
}
static inline uint64_t rdtsc_(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t) hi << 32) | lo;
}
static inline void cpu_halt(void) {
    __asm__ volatile("sti; hlt; cli" ::: "memory");
}
NORETURN static inline void cpu_stop(void) {
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* Bochs magic breakpoint (xchg %bx,%bx); a no-op elsewhere. */
#define BOCHS_BREAK() __asm__ volatile("xchg %%bx, %%bx" ::: "memory")

/* What the interrupt stubs (entry.S) push, lowest address first. */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

/* Saved kernel context of a thread that is not running. */
struct arch_thread {
    uint64_t rsp;        /* saved by arch_switch */
    uint64_t stack_top;  /* kernel stack top (TSS.rsp0, syscall stack) */
    uint64_t fs_base;    /* the user thread info address */
    uint64_t cr3;        /* its address space */
};

struct thread;
struct process;

void arch_init(void);
void arch_thread_init(struct arch_thread *a, uint64_t stack_top, uint64_t cr3,
                      uint64_t fs_base, uint64_t entry, uint64_t user_stack,
                      uint64_t arg);
void arch_kthread_init(struct arch_thread *a, uint64_t stack_top, void (*fn)(void));
void arch_switch_to(struct arch_thread *prev, struct arch_thread *next);
NORETURN void arch_fastpath_switch(struct arch_thread *prev, struct arch_thread *next);

/* What syscall_entry pushes: user rsp, rip (rcx), rflags (r11), rbp. */
#define SYSCALL_FRAME_SIZE 32
#define THREAD_WAKE_RESULT 0 /* offsetof(struct thread, wake_result) */
void arch_io_switch(struct process *prev, struct process *next);
void arch_backtrace(uint64_t rbp);
void arch_poweroff(uint32_t code) NORETURN;

/* Low-level entry points (entry.S). */
void arch_switch(uint64_t *prev_rsp, uint64_t next_rsp);
extern uint64_t syscall_kernel_rsp;

/* Serial console (serial.c). */
void serial_init(void);
void serial_putc(char c);

/* Legacy PIC and PIT (pic.c). */
void pic_init(void);
void pic_mask(unsigned irq);
void pic_unmask(unsigned irq);
void pic_eoi(unsigned irq);
void pit_init(unsigned hz);
uint64_t tsc_calibrate(void);

/* CMOS clock (rtc.c): seconds since 1970 (UTC), 0 if there is no sane RTC. */
uint64_t rtc_unix_time(void);
