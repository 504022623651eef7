/* PASS/FAIL reporting for in-guest test programs (check.h). */
#include <user/check.h>

int check_passed, check_failed;

void check(const char *name, bool ok, const char *fmt, ...) {
    if (ok) {
        __atomic_fetch_add(&check_passed, 1, __ATOMIC_RELAXED);
        printf("%s: PASS %s\n", program_name, name);
        return;
    }
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    __atomic_fetch_add(&check_failed, 1, __ATOMIC_RELAXED);
    printf("%s: FAIL %s: %s\n", program_name, name, why);
}

int check_summary(void) {
    printf("%s: %d passed, %d failed\n", program_name, check_passed, check_failed);
    return check_failed != 0;
}
