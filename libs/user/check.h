/*
 * PASS/FAIL reporting for in-guest test programs (ktest, fstest, idetest).
 * Each check prints "PROGRAM: PASS name" or "PROGRAM: FAIL name: why";
 * check_summary() prints "PROGRAM: N passed, M failed" (what tests/run.py
 * counts) and returns the exit code. Safe to call from several threads.
 */
#pragma once

#include <user/user.h>

extern int check_passed, check_failed;

void check(const char *name, bool ok, const char *fmt, ...) PRINTF(3, 4);
int check_summary(void);

#define CHECK_ERR(name, expr, want)                                                  \
    do {                                                                             \
        error_t got_ = (expr);                                                       \
        check(name, got_ == (want), "%s returned %s, expected %s", #expr,            \
              err_name(got_), err_name(want));                                       \
    } while (0)
