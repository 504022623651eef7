/*
 * Interrupts and exceptions. A user page fault goes to the pager; any
 * other user exception kills only the faulting process. An exception in
 * the kernel is a bug: panic with the registers and a backtrace.
 */
#include "process.h"

static const char *exception_names[32] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
    "invalid opcode", "device not available", "double fault", "coprocessor overrun",
    "invalid TSS", "segment not present", "stack fault", "general protection",
    "page fault", "reserved", "x87 error", "alignment check", "machine check",
    "SIMD error", "virtualization", "control protection",
};

static void kernel_exception(struct trap_frame *f) {
    if (f->vector == 8)
        printk("[kernel] double fault: a kernel stack probably ran into its guard page\n");
    const char *name = exception_names[f->vector] ? exception_names[f->vector] : "exception";
    printk("[kernel] %s (vector %lu, error %#lx) at %p %s\n", name, f->vector, f->error,
           (void *) f->rip, ksym_name(f->rip));
    printk("  cr2 %p rsp %p rbp %p rax %#lx rdi %#lx rsi %#lx\n", (void *) read_cr2(),
           (void *) f->rsp, (void *) f->rbp, f->rax, f->rdi, f->rsi);
    arch_backtrace(f->rbp);
    panic("trap_handler: exception in the kernel (thread %d of %s)",
          current ? current->tid : -1, current ? current->proc->name : "-");
}

static void user_exception(struct trap_frame *f) {
    if (f->vector == 14) {
        pager_fault(current, read_cr2(), (uint32_t) f->error, f->rip);
        return;
    }
    process_exit(current->proc, EXIT_FAULT, (int32_t) f->vector, f->rip,
                 f->vector == 14 ? read_cr2() : 0);
}

static void handle_irq(unsigned irq) {
    if (irq == 0) {
        pic_eoi(0);
        sched_tick();
        return;
    }
    if (irq == 7 || irq == 15) { /* spurious unless the ISR bit says so */
        uint16_t port = irq == 7 ? 0x20 : 0xa0;
        outb(port, 0x0b);
        if (!(inb(port) & 0x80)) {
            if (irq == 15)
                pic_eoi(2);
            return;
        }
    }
    pic_mask(irq); /* until the driver acknowledges (kernel.irq_ack) */
    pic_eoi(irq);
    irq_notify(irq);
}

void trap_handler(struct trap_frame *f) {
    bool from_user = (f->cs & 3) == 3;
    if (f->vector >= 32) {
        handle_irq(f->vector - 32);
    } else if (!from_user) {
        kernel_exception(f);
    } else {
        user_exception(f);
    }
    if (from_user && need_resched)
        sched_yield();
}
