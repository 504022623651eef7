/*
 * What every kernel file needs: the common library, logging, panics and
 * assertions, and the kernel's compile-time limits (its fixed pools).
 */
#pragma once

#include <common/abi.h>
#include <common/error.h>
#include <common/list.h>
#include <common/message.h>
#include <common/printf.h>
#include <common/string.h>
#include <common/types.h>
#include "arch/x64/arch.h"

/* Fixed pools (no kernel heap): objects are taken from these arrays. */
#define MAX_PROCS         64
#define MAX_THREADS       128
#define MAX_CHANNELS      2048
#define MAX_CIDS          256  /* per process; cid 0 is never used */
#define MAX_TIMERS        64
#define PAGE_PAYLOAD_MAX  (4UL * 1024 * 1024)
#define KSTACK_SIZE       (12 * 1024)
#define TICK_HZ           1000
#define TIME_SLICE_TICKS  10

void printk(const char *fmt, ...) PRINTF(1, 2);
NORETURN void panic(const char *fmt, ...) PRINTF(1, 2);
const char *ksym_name(uint64_t addr);

/* KASSERT names the function and the broken invariant. */
#define KASSERT(cond)                                                        \
    do {                                                                     \
        if (UNLIKELY(!(cond)))                                               \
            panic("%s: invariant broken: %s (%s:%d)", __func__, #cond,       \
                  __FILE__, __LINE__);                                       \
    } while (0)

/* Kernel command line options (main.c). */
struct kernel_options {
    bool nofastpath;
    bool quiet;
    bool e9; /* mirror the log to port 0xe9 (Bochs, QEMU debugcon) */
};
extern struct kernel_options kopts;
const char *kernel_cmdline(void);

uint64_t *kernel_pml4(void);
uint64_t clock_now_ns(void);
extern uint64_t tsc_frequency;
extern uint64_t boot_unix_time;
void arch_io_refresh(struct process *p);
