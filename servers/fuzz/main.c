/*
 * A seeded, bounded fuzzer. Argument string: "SEED ITERATIONS".
 * Each step makes one random request:
 *  - a system call on its own channels: random cids, flags, notification
 *    bits, message headers, inline lengths, page-payload addresses
 *    (kernel, unmapped, unaligned, huge, its own scratch pages) and
 *    channel payloads;
 *  - a kernel-server request or a memmgr (ns, memmgr) request of the same
 *    kinds;
 *  - a request to a registered server (targets.c: every interface of the
 *    IDL, valid and malformed, with a bounded wait for the reply).
 * It only avoids what would legitimately block it forever or end it
 * (kernel.exit, killing its own thread, starting threads at random
 * addresses, unmapping its own stack; memmgr's deferred ns.lookup /
 * memmgr.wait), never gives away its own stack, image, memmgr or kernel
 * channel or the channels targets.c relies on, and prints nothing random
 * (kernel.print). At the end it closes everything and prints one line per
 * target: "fuzz: target NAME calls=N ok=N timeouts=N closed=N busy=N
 * absent=N bad_reply=N ERR_X=N ... send.ERR_Y=N" (docs/reliability.md).
 */
#include "fuzz.h"

#define MAX_OWN 32
#define SCRATCH_PAGES 16

static uint64_t rng_state;
static cid_t own[MAX_OWN];
static int num_own;
static uint64_t scratch; /* heap pages it may send away */
static struct fuzz_stats sys_stats = {.name = "syscalls"}, kernel_stats_ = {.name = "kernel"},
                         memmgr_stats = {.name = "memmgr"};

uint64_t fuzz_rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

uint64_t fuzz_pick(uint64_t n) {
    return n ? fuzz_rnd() % n : 0;
}

static cid_t random_cid(void) {
    cid_t c;
    switch (fuzz_pick(4)) {
    case 0: c = num_own ? own[fuzz_pick(num_own)] : 0; break;
    case 1: c = (cid_t) fuzz_pick(300) - 20; break;
    case 2: c = (cid_t) fuzz_rnd(); break;
    default: c = num_own ? own[fuzz_pick(num_own)] : CID_KERNEL; break;
    }
    return targets_protected(c) ? 0 : c;
}

uint64_t fuzz_page_addr(void) {
    static const uint64_t bad[] = {
        0, 1, PAGE_SIZE, 0xffff800000000000ULL, 0xffffffff80000000ULL, 0x00007ffffffff000ULL,
        0x0000800000000000ULL, USER_THREAD_INFO_BASE, USER_PHYS_WINDOW, USER_INITFS_BASE,
        0x0000200000000000ULL,
    };
    switch (fuzz_pick(4)) {
    case 0: return bad[fuzz_pick(ARRAY_SIZE(bad))];
    case 1:
        return scratch + fuzz_pick(SCRATCH_PAGES) * PAGE_SIZE
               + (fuzz_pick(4) == 0 ? fuzz_pick(PAGE_SIZE) : 0);
    case 2: return fuzz_rnd();
    default: return ALIGN_DOWN(fuzz_rnd(), PAGE_SIZE);
    }
}

uint64_t fuzz_scratch_pages(uint64_t npages, uint8_t fill) {
    uint64_t addr = scratch + fuzz_pick(SCRATCH_PAGES - npages + 1) * PAGE_SIZE;
    memset((void *) addr, fill, npages * PAGE_SIZE); /* maps again what was sent away */
    return addr;
}

/* Never give away the stack or the program image: they are in use. */
bool fuzz_page_allowed(uint64_t addr, uint64_t len) {
    uint64_t end = addr + (len & 0xffffffffULL);
    if (end >= USER_STACK_TOP - USER_STACK_SIZE - PAGE_SIZE && addr < USER_STACK_TOP)
        return false;
    return !(addr < USER_HEAP_BASE && end > USER_IMAGE_BASE);
}

/* A random message in the IPC buffer, of type `type`. */
static void random_message(uint32_t type) {
    struct message *m = ipc_buffer();
    uint64_t *words = (uint64_t *) m;
    for (size_t i = 0; i < MSG_SIZE / 8; i++)
        words[i] = fuzz_rnd();
    uint32_t len = fuzz_pick(3) == 0 ? fuzz_pick(MSG_LEN_MASK + 1) : fuzz_pick(MSG_INLINE_MAX + 1);
    uint32_t flags = 0;
    if (fuzz_pick(4) == 0)
        flags |= MSG_PAGE_BIT;
    if (fuzz_pick(4) == 0)
        flags |= MSG_CHANNEL_BIT;
    m->header = msg_header(type, len, flags);
    m->page_addr = fuzz_page_addr();
    m->page_len = fuzz_pick(3) == 0 ? fuzz_rnd() : fuzz_pick(8) * PAGE_SIZE;
    m->channel = random_cid();
    if (!fuzz_page_allowed(m->page_addr, m->page_len))
        m->header &= ~MSG_PAGE_BIT;
    if (m->channel == CID_KERNEL || m->channel == CID_MEMMGR)
        m->header &= ~MSG_CHANNEL_BIT;
}

void fuzz_count(struct fuzz_stats *st, error_t err) {
    st->calls++;
    if (err >= 0)
        st->ok++;
    else if (-err < FUZZ_ERRORS)
        st->errors[-err]++;
}

/* One machine-readable line (tests/system/test_fuzz.py reads it). */
void fuzz_print_stats(const struct fuzz_stats *st) {
    printf("fuzz: target %s calls=%lu ok=%lu timeouts=%lu closed=%lu busy=%lu absent=%lu "
           "bad_reply=%lu",
           st->name, st->calls, st->ok, st->timeouts, st->closed, st->busy, st->absent,
           st->bad_reply);
    for (int e = 1; e < FUZZ_ERRORS; e++)
        if (st->errors[e])
            printf(" %s=%lu", err_name(-e), st->errors[e]);
    for (int e = 1; e < FUZZ_ERRORS; e++)
        if (st->send_errors[e])
            printf(" send.%s=%lu", err_name(-e), st->send_errors[e]);
    printf("\n");
}

/* A channel sent as a payload has left this table (or come back under a
 * new number): forget it, so that its old number is never closed later. */
static void forget_own(cid_t c) {
    for (int i = 0; i < num_own; i++) {
        if (own[i] == c) {
            own[i] = own[--num_own];
            return;
        }
    }
}

static void fuzz_own_channels(void) {
    struct fuzz_stats *st = &sys_stats;
    switch (fuzz_pick(7)) {
    case 0: {
        cid_t c = sys_open();
        fuzz_count(st, c < 0 ? c : OK);
        if (c > 0 && num_own < MAX_OWN)
            own[num_own++] = c;
        else if (c > 0)
            sys_close(c);
        break;
    }
    case 1: {
        if (!num_own)
            break;
        int i = fuzz_pick(num_own);
        if (!targets_protected(own[i]))
            fuzz_count(st, sys_close(own[i]));
        own[i] = own[--num_own];
        break;
    }
    case 2: fuzz_count(st, sys_link(random_cid(), random_cid())); break;
    case 3: fuzz_count(st, sys_transfer(random_cid(), fuzz_pick(5) == 0 ? 0 : random_cid())); break;
    case 4: fuzz_count(st, sys_notify(random_cid(), (notification_t) fuzz_rnd())); break;
    default: {
        cid_t c = random_cid();
        if (c == CID_KERNEL || c == CID_MEMMGR)
            break;
        random_message(fuzz_pick(2) ? (uint32_t) fuzz_rnd() & 0xffff : TEST_ECHO_MSG);
        struct message *m = ipc_buffer();
        cid_t moved = (m->header & MSG_CHANNEL_BIT) ? m->channel : 0;
        unsigned flags = ((unsigned) fuzz_rnd() & IPC_FLAGS_ALL) | IPC_NOBLOCK;
        if (fuzz_pick(8) == 0)
            flags = (unsigned) fuzz_rnd();   /* garbage flags too */
        if ((flags & IPC_CALL) == IPC_CALL && !(flags & ~IPC_FLAGS_ALL))
            flags &= ~IPC_RECV;         /* a call's receive phase would wait */
        error_t err = sys_ipc(c, flags | IPC_NOBLOCK);
        fuzz_count(st, err);
        if (err == OK && (flags & IPC_SEND) && moved)
            forget_own(moved);
        break;
    }
    }
}

static const struct fuzz_msg *table_entry(uint32_t type) {
    for (size_t i = 0; i < ARRAY_SIZE(fuzz_msgs); i++)
        if (fuzz_msgs[i].type == type)
            return &fuzz_msgs[i];
    return NULL;
}

/* Put a request of type in the IPC buffer: half of them well formed from
 * the IDL table (chosen field values), the rest random. *fresh is a
 * channel it opened for the payload, *keep the other end of its pair. */
static void request(uint32_t type, cid_t *fresh, cid_t *keep) {
    const struct fuzz_msg *fm = table_entry(type);
    if (!fm || fuzz_pick(2)) {
        random_message(type);
        return;
    }
    struct message m;
    fuzz_build_request(NULL, fm, &m, fresh, keep);
    memcpy(ipc_buffer(), &m, MSG_SIZE);
}

/* A request to the kernel or memmgr (answered at once) and its reply. */
static void call_now(cid_t server, uint32_t type, struct fuzz_stats *st) {
    cid_t fresh = 0, keep = 0;
    request(type, &fresh, &keep);
    struct message *m = ipc_buffer();
    cid_t moved = (m->header & MSG_CHANNEL_BIT) ? m->channel : 0;
    error_t err = sys_ipc(server, IPC_CALL);
    ipc_received(m);
    fuzz_count(st, err ? err : msg_is_error(m) ? msg_error(m) : OK);
    if (!err && moved)
        forget_own(moved); /* taken, or closed with the error reply */
    if (fresh > 0 && (err || moved != fresh))
        sys_close(fresh); /* never left */
    if (keep > 0)
        sys_close(keep);
    if (err)
        return;
    if (m->header & MSG_CHANNEL_BIT)
        sys_close(m->channel);
    if (m->header & MSG_PAGE_BIT)
        ipc_free_pages(m->page_addr, m->page_len);
}

static void fuzz_kernel(void) {
    uint32_t type;
    do {
        type = fuzz_pick(3) ? MSG_TYPE(KERNEL_IFACE_ID, 1 + fuzz_pick(30))
                            : (uint32_t) fuzz_rnd() & 0xffff;
    } while (type == KERNEL_EXIT_MSG || type == KERNEL_KILL_THREAD_MSG
             || type == KERNEL_SPAWN_THREAD_MSG || type == KERNEL_UNMAP_MSG
             || type == KERNEL_PRINT_MSG);
    call_now(CID_KERNEL, type, &kernel_stats_);
}

/* memmgr answers every call of these interfaces except the deferred ones. */
static void fuzz_memmgr(void) {
    uint32_t type;
    do {
        uint32_t iface = fuzz_pick(2) ? NS_IFACE_ID : MEMMGR_IFACE_ID;
        type = MSG_TYPE(iface, 1 + fuzz_pick(12));
    } while (type == NS_LOOKUP_MSG || type == MEMMGR_WAIT_MSG);
    call_now(CID_MEMMGR, type, &memmgr_stats);
}

int main(void) {
    program_name = "fuzz";
    unsigned long seed = 1, iterations = 5000;
    char *end;
    const char *args = program_args();
    seed = strtoul_(args, &end, 0);
    if (*end == ' ')
        iterations = strtoul_(end + 1, &end, 0);
    rng_state = seed * 2654435761ULL + 1;
    scratch = ALIGN_UP((uint64_t) malloc((SCRATCH_PAGES + 4) * PAGE_SIZE), PAGE_SIZE);
    memset((void *) scratch, 0xab, SCRATCH_PAGES * PAGE_SIZE);
    targets_init();

    for (unsigned long i = 0; i < iterations; i++) {
        switch (fuzz_pick(8)) {
        case 0: fuzz_kernel(); break;
        case 1: fuzz_memmgr(); break;
        case 2:
        case 3:
        case 4: targets_fuzz_one(); break;
        default: fuzz_own_channels(); break;
        }
    }
    for (int i = 0; i < num_own; i++)
        if (!targets_protected(own[i]))
            sys_close(own[i]);
    num_own = 0;
    targets_finish();
    fuzz_print_stats(&sys_stats);
    fuzz_print_stats(&kernel_stats_);
    fuzz_print_stats(&memmgr_stats);
    printf("fuzz: seed %lu: %lu iterations done\n", seed, iterations);
    return 0;
}
