/*
 * IPC round-trip benchmark: times an empty call to benchsrv (a server in
 * another process, already waiting) and its reply with rdtsc, N times with
 * the fastpath and N times with IPC_NOFASTPATH, and prints one JSON line:
 *
 * {"bench":"ipc_roundtrip","iterations":N,"fastpath":{"min":..,"median":..},
 *  "slowpath":{"min":..,"median":..},"unit":"tsc_ticks","emulator":"..."}
 *
 * It also times a system call that does nothing ("null_syscall"): two of
 * those plus two address-space switches are the floor of a round trip.
 * The argument string may give the iteration count (default 20000). In
 * Bochs rdtsc counts executed instructions, so its figures are exact.
 */
#include <user/user.h>
#include <idl.h>

#define DEFAULT_ITERATIONS 20000
#define WARMUP             200

struct result {
    uint64_t min, median;
};

static void sort(uint64_t *a, size_t n) {
    /* Shell sort with Ciura's gaps: no recursion, fine for 10^5 samples. */
    static const size_t gaps[] = {1750, 701, 301, 132, 57, 23, 10, 4, 1};
    for (size_t g = 0; g < ARRAY_SIZE(gaps); g++) {
        for (size_t i = gaps[g]; i < n; i++) {
            uint64_t v = a[i];
            size_t j = i;
            for (; j >= gaps[g] && a[j - gaps[g]] > v; j -= gaps[g])
                a[j] = a[j - gaps[g]];
            a[j] = v;
        }
    }
}

static error_t measure(cid_t ch, uint32_t type, unsigned flags, uint64_t *samples, int n,
                       struct result *r) {
    struct message *m = ipc_buffer();
    for (int i = -WARMUP; i < n; i++) {
        m->header = msg_header(type, 0, 0);
        uint64_t t0 = rdtsc();
        error_t err = sys_ipc(ch, flags);
        uint64_t t1 = rdtsc();
        if (err)
            return err;
        if (msg_type(m) != (type | MSG_REPLY_FLAG))
            return ERR_BAD_MESSAGE;
        if (i >= 0)
            samples[i] = t1 - t0;
    }
    sort(samples, n);
    r->min = samples[0];
    r->median = samples[n / 2];
    return OK;
}

/* The floor: a system call that does nothing (close of cid 0 fails at once). */
static void measure_null(uint64_t *samples, int n, struct result *r) {
    for (int i = -WARMUP; i < n; i++) {
        uint64_t t0 = rdtsc();
        sys_close(0);
        uint64_t t1 = rdtsc();
        if (i >= 0)
            samples[i] = t1 - t0;
    }
    sort(samples, n);
    r->min = samples[0];
    r->median = samples[n / 2];
}

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d) {
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

/* KVM and QEMU's TCG name themselves in the hypervisor CPUID leaf; Bochs
 * sets no hypervisor bit. */
static const char *emulator(void) {
    uint32_t a, b, c, d;
    char sig[13] = {0};
    cpuid(1, &a, &b, &c, &d);
    if (!(c & (1u << 31)))
        return "bochs";
    cpuid(0x40000000, &a, &b, &c, &d);
    memcpy(sig, &b, 4);
    memcpy(sig + 4, &c, 4);
    memcpy(sig + 8, &d, 4);
    if (!strncmp(sig, "KVMKVMKVM", 9))
        return "kvm";
    return "qemu-tcg";
}

int main(void) {
    program_name = "ipcbench";
    int n = DEFAULT_ITERATIONS;
    const char *args = program_args();
    if (args[0] && (str_to_int(args, &n) != OK || n < 10 || n > 1000000)) {
        printf("ipcbench: bad iteration count \"%s\"\n", args);
        return 2;
    }
    int32_t pid;
    error_t err = memmgr_spawn(CID_MEMMGR, "benchsrv", "", &pid);
    if (err) {
        printf("ipcbench: cannot start benchsrv: %s\n", err_name(err));
        return 1;
    }
    cid_t ch = ns_connect("bench");
    uint64_t *samples = malloc(n * sizeof(uint64_t));
    if (ch < 0 || !samples) {
        printf("ipcbench: set-up failed: %s\n", ch < 0 ? err_name(ch) : "no memory");
        memmgr_kill(CID_MEMMGR, pid);
        return 1;
    }
    memset(samples, 0, n * sizeof(uint64_t)); /* fault the pages in now */
    struct result fast, slow, null;
    measure_null(samples, n, &null);
    err = measure(ch, BENCH_PING_MSG, IPC_CALL, samples, n, &fast);
    if (!err)
        err = measure(ch, BENCH_PING_SLOW_MSG, IPC_CALL | IPC_NOFASTPATH, samples, n, &slow);
    memmgr_kill(CID_MEMMGR, pid);
    if (err) {
        printf("ipcbench: a call failed: %s\n", err_name(err));
        return 1;
    }
    printf("{\"bench\":\"ipc_roundtrip\",\"iterations\":%d,"
           "\"fastpath\":{\"min\":%lu,\"median\":%lu},"
           "\"slowpath\":{\"min\":%lu,\"median\":%lu},"
           "\"null_syscall\":{\"min\":%lu,\"median\":%lu},"
           "\"unit\":\"tsc_ticks\",\"emulator\":\"%s\"}\n",
           n, fast.min, fast.median, slow.min, slow.median, null.min, null.median, emulator());
    return 0;
}
