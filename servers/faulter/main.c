/*
 * A program that faults on purpose, in the way its argument names, so
 * ktest can check that only it dies and how its death is reported.
 */
#include <user/user.h>

static volatile uint64_t sink;

/* Deep enough to run off the 256 KiB stack; the depth check keeps GCC
 * from calling it infinite recursion. */
static int recurse(int depth) {
    volatile char pad[512];
    pad[0] = (char) depth;
    if (depth > 100000000)
        return pad[0];
    return recurse(depth + 1) + pad[0];
}

/* Writes past a local array: the stack protector must stop the program.
 * The address goes through a volatile integer so that not even UBSan's
 * object-size check can see which array it is. */
static __attribute__((noinline)) void smash(size_t len) {
    char buf[16];
    volatile uintptr_t addr = (uintptr_t) buf;
    for (size_t i = 0; i < len; i++)
        ((volatile char *) addr)[i] = 'A';
}

int main(void) {
    program_name = "faulter";
    const char *how = program_args();
    if (!strcmp(how, "null"))
        sink = *(volatile uint64_t *) 0;
    else if (!strcmp(how, "kernel"))
        *(volatile uint64_t *) 0xffffffff80100000ULL = 1;
    else if (!strcmp(how, "ud"))
        __asm__ volatile("ud2");
    else if (!strcmp(how, "divide"))
        __asm__ volatile("xor %%ecx, %%ecx; div %%ecx" ::: "rax", "rcx", "rdx");
    else if (!strcmp(how, "privileged"))
        __asm__ volatile("cli; hlt");
    else if (!strcmp(how, "io"))
        __asm__ volatile("inb $0x60, %%al" ::: "rax");
    else if (!strcmp(how, "stack"))
        sink = recurse(0);
    else if (!strcmp(how, "exec"))
        ((void (*)(void)) 0x0000001000000000ULL)();
    else if (!strcmp(how, "smash"))
        smash(64);
    else if (!strcmp(how, "text"))
        *(volatile uint8_t *) (uintptr_t) main = 0xc3;
    printf("faulter: unknown or survived fault \"%s\"\n", how);
    return 3;
}
