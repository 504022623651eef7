/*
 * Undefined behaviour on purpose, of the kind its argument names, to prove
 * that a `make UBSAN=1` build reports it (check, file, line, values) and
 * stops the process. In a normal build it reports nothing and says so.
 */
#include <user/user.h>

static volatile int zero = 0, big = 0x7fffffff, shift = 40;
static int table[4];

int main(void) {
    program_name = "ubsantest";
    const char *what = program_args();
    volatile int result = 0;
    if (!strcmp(what, "overflow"))
        result = big + 1;
    else if (!strcmp(what, "shift"))
        result = 1 << shift;
    else if (!strcmp(what, "bounds"))
        result = table[big & 7];
    else if (!strcmp(what, "divide"))
        result = big / zero;
    else if (!strcmp(what, "misaligned"))
        result = *(volatile int *) ((uintptr_t) table + 1);
    else
        return 2;
    printf("ubsantest: %s was not reported (result %d)\n", what, result);
    return 1;
}
