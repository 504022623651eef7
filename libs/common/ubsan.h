/*
 * Hooks the UBSan runtime (ubsan.c) needs from its host: the kernel and the
 * user runtime each define them (kernel/printk.c, libs/user/runtime.c).
 */
#pragma once

#include "types.h"

void ubsan_print(const char *fmt, ...) PRINTF(1, 2);
NORETURN void ubsan_stop(void);
