/*
 * A minimal unit-test harness for the host tests.
 *
 * TEST(name) { ... } defines and registers a test; CHECK* macros end the
 * current test at the first failure.  Every test prints exactly one line,
 *     PASS <binary>:<test>
 *     FAIL <binary>:<test>: <file>:<line> <expression>
 * and main (defined here: include this header in one file per binary)
 * exits 1 if any test failed.  The test runner counts these lines.
 *
 * Include this header before the Fumi headers: it pulls in the libc headers
 * the tests use, and string.h/printf.h must come after those (see string.h).
 */
#pragma once

#include <inttypes.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK_MAX_TESTS 256

struct check_test {
    const char *name;
    void (*fn)(void);
};

static struct check_test check_tests_[CHECK_MAX_TESTS];
static int check_num_tests_;
static const char *check_binary_ = "?";
static const char *check_current_;
static jmp_buf check_abort_;

static inline void check_register_(const char *name, void (*fn)(void)) {
    if (check_num_tests_ == CHECK_MAX_TESTS) {
        fprintf(stderr, "check.h: more than %d tests\n", CHECK_MAX_TESTS);
        exit(1);
    }
    check_tests_[check_num_tests_++] = (struct check_test){name, fn};
}

#define TEST(name)                                                      \
    static void test_##name(void);                                      \
    __attribute__((constructor)) static void check_reg_##name(void) {   \
        check_register_(#name, test_##name);                            \
    }                                                                   \
    static void test_##name(void)

/* Report a failure of the current test and leave it. */
__attribute__((noreturn, format(printf, 3, 4))) static inline void
check_fail_(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    printf("FAIL %s:%s: %s:%d ", check_binary_, check_current_, file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    longjmp(check_abort_, 1);
}

static inline int check_streq_(const char *a, const char *b) {
    if (!a || !b)
        return a == b;
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

#define CHECK(cond)                                        \
    do {                                                   \
        if (!(cond))                                       \
            check_fail_(__FILE__, __LINE__, "%s", #cond);  \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                              \
    do {                                                                                \
        intmax_t a_ = (intmax_t) (a), b_ = (intmax_t) (b);                              \
        if (a_ != b_)                                                                   \
            check_fail_(__FILE__, __LINE__, "%s == %s (%" PRIdMAX " != %" PRIdMAX ")",  \
                        #a, #b, a_, b_);                                                \
    } while (0)

#define CHECK_EQ_UINT(a, b)                                                                 \
    do {                                                                                    \
        uintmax_t a_ = (uintmax_t) (a), b_ = (uintmax_t) (b);                               \
        if (a_ != b_)                                                                       \
            check_fail_(__FILE__, __LINE__, "%s == %s (%#" PRIxMAX " != %#" PRIxMAX ")",    \
                        #a, #b, a_, b_);                                                    \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                               \
    do {                                                                                 \
        const char *a_ = (a), *b_ = (b);                                                 \
        if (!check_streq_(a_, b_))                                                       \
            check_fail_(__FILE__, __LINE__, "%s == %s (\"%s\" != \"%s\")", #a, #b,       \
                        a_ ? a_ : "(null)", b_ ? b_ : "(null)");                         \
    } while (0)

/* Run one test; 1 if it failed.  setjmp is kept out of the loop's frame. */
static int check_run_one_(const struct check_test *t) {
    check_current_ = t->name;
    if (setjmp(check_abort_) != 0)
        return 1;
    t->fn();
    printf("PASS %s:%s\n", check_binary_, check_current_);
    return 0;
}

static int check_run_all_(const char *argv0) {
    const char *slash = argv0;
    for (const char *p = argv0; *p; p++) {
        if (*p == '/')
            slash = p + 1;
    }
    check_binary_ = slash;
    setvbuf(stdout, NULL, _IONBF, 0);  /* no buffered lines duplicated by fork() */
    int failed = 0;
    for (int i = 0; i < check_num_tests_; i++)
        failed += check_run_one_(&check_tests_[i]);
    return failed ? 1 : 0;
}

int main(int argc, char **argv) {
    (void) argc;
    return check_run_all_(argv[0]);
}
