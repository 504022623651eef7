/*
 * Debugging aids: the UBSan and stack-protector hooks of the kernel (both
 * panic), the kernel-stack canaries checked on every context switch, and
 * the `kselftest=` command-line option that breaks one of these on purpose
 * so the tests can see that each is caught.
 */
#include "process.h"
#include <common/ubsan.h>

uintptr_t __stack_chk_guard = 0x2f8dc5a1e63b9d07ULL;

void ubsan_print(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char line[256];
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    printk("[kernel] %s", line);
}

void ubsan_stop(void) {
    panic("ubsan_stop: undefined behaviour in the kernel");
}

void __stack_chk_fail(void) {
    panic("__stack_chk_fail: kernel stack smashing detected");
}

/* Called before anything that returns, so no frame sees the guard change. */
__attribute__((no_stack_protector)) void stack_guard_init(void) {
    __stack_chk_guard ^= rdtsc_() * 0x9e3779b97f4a7c15ULL;
}

void kstack_canary_set(uint64_t stack_top, uint64_t size) {
    *(uint64_t *) (stack_top - size) = KSTACK_CANARY;
}

void kstack_canary_broken(const struct thread *t) {
    panic("kstack_canary_check: the kernel stack of thread %d (%s) overflowed its canary",
          t->tid, t->proc->name);
}

/* kselftest=canary|stackprotector|overflow|ubsan|kassert: break on purpose. */
static NORETURN void recurse_forever(volatile int depth) {
    volatile char pad[256];
    pad[0] = (char) depth;
    recurse_forever(depth + pad[0] + 1);
}

static __attribute__((noinline)) void smash(const char *src, size_t len) {
    char buf[16];
    volatile uintptr_t addr = (uintptr_t) buf; /* hidden from UBSan's size check */
    for (size_t i = 0; i < len; i++)
        ((volatile char *) addr)[i] = src[i % 8];
    printk("[kernel] kselftest: wrote %lu bytes into a 16-byte buffer\n", len);
}

/* Runs as a kernel thread on a pool stack (with its canary and guard page). */
void kselftest(const char *what) {
    printk("[kernel] kselftest=%s\n", what);
    if (!strcmp(what, "canary")) {
        *(uint64_t *) (current->arch.stack_top - KSTACK_SIZE) = 0;
        sched_yield(); /* the switch away checks it */
    } else if (!strcmp(what, "stackprotector")) {
        smash("overflow", 64);
    } else if (!strcmp(what, "overflow")) {
        recurse_forever(0);
    } else if (!strcmp(what, "ubsan")) {
        volatile int shift = 40;
        printk("[kernel] 1 << 40 = %d\n", 1 << shift);
    } else if (!strcmp(what, "kassert")) {
        KASSERT(what[0] == '!');
    }
    printk("[kernel] kselftest=%s: nothing caught it\n", what);
}
