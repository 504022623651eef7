/*
 * Program start-up and the small services every program uses: console
 * output (kernel.print), exit, name lookup, threads and time.
 */
#include <user/user.h>
#include <common/ubsan.h>
#include <idl.h>

#define THREAD_STACK (64 * 1024)

const char *program_name = "?";
void ipc_new_window(void);

uintptr_t __stack_chk_guard = 0x6a09e667f3bcc908ULL;

/* Never returns, so changing the guard under its own frame is safe. */
__attribute__((no_stack_protector)) NORETURN void runtime_start(uint64_t arg) {
    (void) arg;
    __stack_chk_guard ^= rdtsc() * 0x9e3779b97f4a7c15ULL;
    ipc_new_window();
    exit(main());
}

void __stack_chk_fail(void) {
    printf("%s: stack smashing detected: stopped\n", program_name);
    exit(EXIT_CODE_STACK_SMASHED);
}

void ubsan_print(const char *fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    printf("%s: %s", program_name, line);
}

void ubsan_stop(void) {
    exit(EXIT_CODE_UBSAN);
}

void puts_raw(const char *s, size_t len) {
    while (len > 0) {
        size_t n = MIN(len, 200);
        kernel_print(CID_KERNEL, s, n);
        s += n;
        len -= n;
    }
}

struct out_buf {
    char data[200];
    size_t len;
};

static void out_putc(void *ctx, char c) {
    struct out_buf *b = ctx;
    if (b->len == sizeof(b->data)) {
        puts_raw(b->data, b->len);
        b->len = 0;
    }
    b->data[b->len++] = c;
}

int printf(const char *fmt, ...) {
    struct out_buf b = {.len = 0};
    va_list ap;
    va_start(ap, fmt);
    int n = vformat(out_putc, &b, fmt, ap);
    va_end(ap);
    puts_raw(b.data, b.len);
    return n;
}

void flush_output(void) {
}

NORETURN void exit(int code) {
    kernel_exit(CID_KERNEL, code);
    for (;;)
        __asm__ volatile("ud2"); /* not reached: the kernel never replies */
}

NORETURN void panic_user(const char *fmt, ...) {
    struct out_buf b = {.len = 0};
    va_list ap;
    va_start(ap, fmt);
    vformat(out_putc, &b, fmt, ap);
    va_end(ap);
    printf("%s: panic: %.*s\n", program_name, (int) b.len, b.data);
    exit(-1);
}

const char *program_args(void) {
    static char args[128];
    static bool fetched;
    if (!fetched && memmgr_args(CID_MEMMGR, args) == OK)
        fetched = true;
    return args;
}

bool program_has_arg(const char *word) {
    const char *a = program_args();
    size_t len = strlen(word);
    while (*a) {
        while (*a == ' ')
            a++;
        size_t n = 0;
        while (a[n] && a[n] != ' ')
            n++;
        if (n == len && !memcmp(a, word, len))
            return true;
        a += n;
    }
    return false;
}

cid_t ns_connect(const char *name) {
    cid_t ch;
    error_t err = ns_lookup(CID_MEMMGR, name, &ch);
    return err ? err : ch;
}

struct thread_start {
    void (*fn)(void *);
    void *arg;
    void *stack;
};

static NORETURN void thread_entry(struct thread_start *ts) {
    ipc_new_window();
    ts->fn(ts->arg);
    int32_t tid = thread_info()->tid;
    free(ts);
    kernel_kill_thread(CID_KERNEL, tid);
    for (;;)
        __asm__ volatile("ud2");
}

error_t thread_spawn(void (*fn)(void *), void *arg, tid_t *tid) {
    struct thread_start *ts = malloc(sizeof(*ts));
    uint8_t *stack = malloc(THREAD_STACK);
    if (!ts || !stack) {
        free(ts);
        free(stack);
        return ERR_NO_MEMORY;
    }
    *ts = (struct thread_start){fn, arg, stack};
    uint64_t top = ALIGN_DOWN((uint64_t) stack + THREAD_STACK, 16) - 8; /* as after a call */
    int32_t id;
    error_t err = kernel_spawn_thread(CID_KERNEL, 0, (uint64_t) thread_entry, top,
                                      (uint64_t) ts, &id);
    if (err) {
        free(ts);
        free(stack);
        return err;
    }
    if (tid)
        *tid = id;
    return OK;
}

uint64_t clock_ns(void) {
    uint64_t ns = 0;
    kernel_clock(CID_KERNEL, &ns, NULL, NULL);
    return ns;
}

uint64_t tsc_hz(void) {
    static uint64_t hz; /* constant: asked once */
    if (!hz)
        kernel_clock(CID_KERNEL, NULL, &hz, NULL);
    return hz >= 1000000 ? hz : 1000000000;
}

uint64_t tsc_deadline(uint64_t ms) {
    return rdtsc() + tsc_hz() / 1000 * ms;
}

bool tsc_past(uint64_t deadline) {
    return (int64_t) (rdtsc() - deadline) >= 0;
}

uint64_t tsc_ms_left(uint64_t deadline) {
    int64_t left = (int64_t) (deadline - rdtsc());
    return left <= 0 ? 0 : (uint64_t) left / (tsc_hz() / 1000) + 1;
}

uint64_t unix_time(void) {
    uint64_t ns = 0, boot = 0;
    kernel_clock(CID_KERNEL, &ns, NULL, &boot);
    return boot ? boot + ns / 1000000000 : 0;
}

void sleep_ms(uint64_t ms) {
    cid_t timer;
    if (ms == 0 || kernel_timer_create(CID_KERNEL, &timer) != OK)
        return;
    struct message m;
    if (kernel_timer_set(CID_KERNEL, timer, ms * 1000000, 0) == OK)
        ipc_recv(timer, &m);
    sys_close(timer);
}
