/*
 * The user runtime: system call stubs, IPC helpers used by the generated
 * client wrappers, console output, threads, time and memory.
 *
 * Every user program includes this one header. Each thread's thread info
 * page (abi.h) is reached through %fs; its IPC buffer is the only place
 * the kernel reads messages from and writes them to.
 */
#pragma once

#include <common/abi.h>
#include <common/error.h>
#include <common/message.h>
#include <common/string.h>
#include <common/printf.h>
#include <common/types.h>

/* The six system calls (syscall.S). */
cid_t sys_open(void);
error_t sys_close(cid_t ch);
error_t sys_link(cid_t a, cid_t b);
error_t sys_transfer(cid_t src, cid_t dst);
error_t sys_notify(cid_t ch, notification_t bits);

/* ipc may return through the kernel's fastpath, which restores only rsp,
 * rbp, rip and rflags: every other register is clobbered. */
static inline error_t sys_ipc(cid_t ch, unsigned flags) {
    register long rax __asm__("rax") = SYS_IPC;
    register long rdi __asm__("rdi") = ch;
    register long rsi __asm__("rsi") = flags;
    __asm__ volatile("syscall"
                     : "+r"(rax), "+r"(rdi), "+r"(rsi)
                     :
                     : "rcx", "rdx", "r8", "r9", "r10", "r11", "rbx", "r12", "r13", "r14",
                       "r15", "memory");
    return (error_t) rax;
}

static inline struct thread_info *thread_info(void) {
    struct thread_info *ti;
    __asm__ volatile("mov %%fs:256, %0" : "=r"(ti));
    return ti;
}

static inline struct message *ipc_buffer(void) {
    return &thread_info()->ipc;
}

/* IPC on the thread's buffer; used by the generated client wrappers. */
error_t ipc_call_checked(cid_t ch, uint32_t reply_type, uint32_t reply_len,
                         uint32_t reply_flags);
error_t ipc_send_buffer(cid_t ch);

/* IPC with a caller-owned message (copied in and out of the buffer). */
error_t ipc_call(cid_t ch, struct message *m);
error_t ipc_send(cid_t ch, const struct message *m);
error_t ipc_send_noblock(cid_t ch, const struct message *m);
error_t ipc_recv(cid_t ch, struct message *m);
error_t ipc_poll(cid_t ch, struct message *m);
/* After any receive: move the page window past a received page payload. */
void ipc_received(const struct message *m);
/* Return a received page payload to memmgr (it is unmapped here). */
error_t ipc_free_pages(uint64_t addr, uint64_t len);

/* Console output through kernel.print (line buffered per thread). */
int printf(const char *fmt, ...) PRINTF(1, 2);
void puts_raw(const char *s, size_t len);
void flush_output(void);

NORETURN void exit(int code);
/* Exit codes of a process the runtime itself stopped. */
#define EXIT_CODE_UBSAN         -70 /* an undefined-behaviour report (make UBSAN=1) */
#define EXIT_CODE_STACK_SMASHED -71 /* the stack protector's canary was overwritten */

/* Bochs magic breakpoint (xchg %bx,%bx): stops Bochs's debugger, a no-op elsewhere. */
#define BOCHS_BREAK() __asm__ volatile("xchg %%bx, %%bx" ::: "memory")
NORETURN void panic_user(const char *fmt, ...) PRINTF(1, 2);
#define ASSERT(c)                                                              \
    do {                                                                       \
        if (UNLIKELY(!(c)))                                                    \
            panic_user("%s:%d: assertion failed: %s", __FILE__, __LINE__, #c); \
    } while (0)

/* Look a service up by name (waits until it is registered). */
cid_t ns_connect(const char *name);

/* Threads: a new thread of this process runs fn(arg) on its own stack. */
error_t thread_spawn(void (*fn)(void *), void *arg, tid_t *tid);

/* Time. */
uint64_t clock_ns(void);
uint64_t tsc_hz(void);
/* TSC deadlines, for drivers that poll a device without a system call per
 * look: the TSC value ms milliseconds from now, whether it has passed, and
 * the milliseconds left (rounded up; 0 once past). */
uint64_t tsc_deadline(uint64_t ms);
bool tsc_past(uint64_t deadline);
uint64_t tsc_ms_left(uint64_t deadline);
uint64_t unix_time(void); /* wall clock (UTC) seconds, 0 if unknown */
void sleep_ms(uint64_t ms);
static inline uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t) hi << 32) | lo;
}

/* Memory: malloc over the zero-filled-on-demand heap (malloc.c). */
void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void free(void *p);

/* The program's name, and the argument string memmgr.spawn gave it. */
extern const char *program_name;
const char *program_args(void);
/* Whether word is one of the space-separated words of the arguments. */
bool program_has_arg(const char *word);
int main(void);
