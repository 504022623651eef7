/*
 * Basic types shared by the kernel, the servers and the host tests.
 *
 * Everything here is freestanding: no libc header is included, so the same
 * definitions compile into the kernel, into user programs and (through the
 * compiler's own headers) into host unit tests.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

typedef int32_t cid_t;            /* channel id: an index into a process's channel table */
typedef int32_t pid_t_;           /* process id (trailing _ avoids clashing with host libc) */
typedef int32_t tid_t;            /* thread id */
typedef int32_t error_t;          /* OK (0) or a negative ERR_* (see error.h) */
typedef uint32_t notification_t;  /* notification bits */
typedef uint64_t paddr_t;         /* physical address */
typedef uint64_t vaddr_t;         /* virtual address */

#define PAGE_SIZE  4096UL
#define PAGE_SHIFT 12

#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define ALIGN_UP(x, a)   ALIGN_DOWN((x) + (a) - 1, (a))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define ARRAY_SIZE(a)    (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)        ((a) < (b) ? (a) : (b))
#define MAX(a, b)        ((a) > (b) ? (a) : (b))
#define STATIC_ASSERT(c) _Static_assert(c, #c)

#define UNUSED       __attribute__((unused))
#define NORETURN     __attribute__((noreturn))
#define PACKED       __attribute__((packed))
#define ALIGNED(n)   __attribute__((aligned(n)))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))
#define LIKELY(x)    __builtin_expect(!!(x), 1)
#define UNLIKELY(x)  __builtin_expect(!!(x), 0)

#define offsetof_(t, m) __builtin_offsetof(t, m)
#define container_of(ptr, type, member) \
    ((type *) ((uintptr_t) (ptr) - offsetof_(type, member)))
