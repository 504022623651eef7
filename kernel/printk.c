/* The kernel log (serial), panics and the symbol lookup for backtraces. */
#include "kernel.h"

static void log_putc(void *ctx UNUSED, char c) {
    serial_putc(c);
}

void printk(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vformat(log_putc, NULL, fmt, ap);
    va_end(ap);
}

void panic(const char *fmt, ...) {
    __asm__ volatile("cli");
    printk("\n[kernel] PANIC: ");
    va_list ap;
    va_start(ap, fmt);
    vformat(log_putc, NULL, fmt, ap);
    va_end(ap);
    printk("\n[kernel] backtrace:\n");
    arch_backtrace((uint64_t) __builtin_frame_address(0));
    printk("[kernel] halted\n");
    arch_poweroff(0x7f);
}

/* The build links a sorted symbol table (tools/mksyms.py) into a second
 * kernel image; the first link sees this weak empty one. */
struct ksym {
    uint64_t addr;
    char name[56];
};
__attribute__((weak)) const struct ksym ksym_table[] = {{0, ""}};
__attribute__((weak)) const uint64_t ksym_count = 0;

const char *ksym_name(uint64_t addr) {
    const char *best = "?";
    for (uint64_t i = 0; i < ksym_count && ksym_table[i].addr <= addr; i++)
        best = ksym_table[i].name;
    return best;
}
