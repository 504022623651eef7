/*
 * The in-guest system-call test. It exercises each of the six system calls
 * and each payload kind (inline, page, channel) against a partner process
 * (ktestpeer), with their error cases, plus the kernel server's rights
 * checks, timers, demand paging, programs that fault and a syscall fuzzer.
 * After every hostile step it checks the system still works.
 *
 * Output: one "ktest: PASS name" or "ktest: FAIL name: why" line per check
 * and a closing "ktest: N passed, M failed"; the exit code is M != 0.
 */
#include <user/check.h>
#include <idl.h>

#define ECHO_TYPE MSG_TYPE(TEST_IFACE_ID, 100) /* a type only these tests use */
#define QUIT_TYPE MSG_TYPE(TEST_IFACE_ID, 101)

static cid_t peer;

static void pair(cid_t *a, cid_t *b) {
    *a = sys_open();
    *b = sys_open();
    ASSERT(*a > 0 && *b > 0 && sys_link(*a, *b) == OK);
}

static void set_message(struct message *m, uint32_t type, const void *data, uint32_t len) {
    memset(m, 0, sizeof(*m));
    m->header = msg_header(type, len, 0);
    memcpy(m->data, data, len);
}

/* ---- a thread of this process that echoes on one channel ------------------ */

struct echo_thread {
    cid_t ch;
    volatile int served;
    volatile bool done;
    int delay_ms;
};

static void echo_loop(void *arg) {
    struct echo_thread *e = arg;
    struct message *m = ipc_buffer();
    if (e->delay_ms)
        sleep_ms(e->delay_ms);
    error_t err = sys_ipc(e->ch, IPC_RECV);
    while (err == OK && msg_type(m) != QUIT_TYPE) {
        e->served++;
        cid_t from = m->from;
        unsigned flags = IPC_SEND | IPC_RECV | IPC_NOBLOCK;
        if (msg_type(m) == MSG_NOTIFICATION) {
            err = sys_ipc(e->ch, IPC_RECV);
            continue;
        }
        if (msg_type(m) == TEST_ECHO_MSG) /* the generated test.echo: reply in kind */
            m->header = msg_header(TEST_ECHO_REPLY_MSG, msg_len(m), 0);
        else
            m->header = msg_header(msg_type(m) | MSG_REPLY_FLAG, msg_len(m), 0);
        if (m->notifications == 1)
            flags |= IPC_NOFASTPATH;
        err = sys_ipc(from, flags);
    }
    if (err == OK)
        sys_ipc(m->from, IPC_SEND | IPC_NOBLOCK); /* answer the quit */
    e->done = true;
}

static void start_echo(struct echo_thread *e, cid_t ch, int delay_ms) {
    *e = (struct echo_thread){.ch = ch, .delay_ms = delay_ms};
    ASSERT(thread_spawn(echo_loop, e, NULL) == OK);
}

static void stop_echo(cid_t client, struct echo_thread *e) {
    struct message m;
    set_message(&m, QUIT_TYPE, "", 0);
    ipc_call(client, &m);
    while (!e->done)
        sleep_ms(1);
}

/* ---- the six system calls -------------------------------------------------- */

static void test_open_close(void) {
    cid_t a = sys_open();
    check("open returns a cid", a > 0, "got %d", a);
    CHECK_ERR("close", sys_close(a), OK);
    CHECK_ERR("close twice", sys_close(a), ERR_INVALID_CID);
    CHECK_ERR("close cid 0", sys_close(0), ERR_INVALID_CID);
    CHECK_ERR("close negative cid", sys_close(-7), ERR_INVALID_CID);
    CHECK_ERR("close huge cid", sys_close(1 << 30), ERR_INVALID_CID);
    cid_t many[300];
    int n = 0;
    while (n < 300 && (many[n] = sys_open()) > 0)
        n++;
    check("open until the table is full", n < 300 && many[n] == ERR_NO_RESOURCES,
          "opened %d, then %s", n, n < 300 ? err_name(many[n]) : "no error");
    for (int i = 0; i < n; i++)
        sys_close(many[i]);
}

static void test_bad_ipc_args(void) {
    cid_t a, b;
    pair(&a, &b);
    CHECK_ERR("ipc bad cid (call)", sys_ipc(9999, IPC_CALL), ERR_INVALID_CID);
    CHECK_ERR("ipc negative cid", sys_ipc(-3, IPC_SEND), ERR_INVALID_CID);
    CHECK_ERR("ipc no flags", sys_ipc(a, 0), ERR_INVALID_ARG);
    CHECK_ERR("ipc unknown flag", sys_ipc(a, IPC_CALL | 0x100), ERR_INVALID_ARG);
    CHECK_ERR("link to itself", sys_link(a, a), ERR_INVALID_ARG);
    CHECK_ERR("link bad cid", sys_link(a, 999), ERR_INVALID_CID);
    cid_t c = sys_open();
    CHECK_ERR("link a linked channel", sys_link(a, c), ERR_ALREADY_EXISTS);
    CHECK_ERR("send unlinked", sys_ipc(c, IPC_SEND), ERR_NOT_LINKED);
    CHECK_ERR("notify unlinked", sys_notify(c, 1), ERR_NOT_LINKED);
    CHECK_ERR("send, nobody receiving, noblock", sys_ipc(a, IPC_SEND | IPC_NOBLOCK),
              ERR_WOULD_BLOCK);
    CHECK_ERR("receive, nothing there, noblock", sys_ipc(b, IPC_RECV | IPC_NOBLOCK),
              ERR_WOULD_BLOCK);
    sys_close(a);
    sys_close(b);
    sys_close(c);
}

static void test_notify(void) {
    cid_t a, b;
    pair(&a, &b);
    CHECK_ERR("notify no bits", sys_notify(a, 0), ERR_INVALID_ARG);
    CHECK_ERR("notify kernel-only bit", sys_notify(a, NOTIFY_PEER_CLOSED), ERR_INVALID_ARG);
    CHECK_ERR("notify", sys_notify(a, 0x5), OK);
    CHECK_ERR("notify again", sys_notify(a, 0x2), OK);
    struct message m;
    error_t err = ipc_recv(b, &m);
    check("notification bits accumulate", err == OK && msg_type(&m) == MSG_NOTIFICATION
          && m.notifications == 0x7 && m.from == b,
          "err %s type %#x bits %#x from %d", err_name(err), msg_type(&m), m.notifications,
          m.from);
    CHECK_ERR("notification consumed", ipc_poll(b, &m), ERR_WOULD_BLOCK);
    sys_close(a);
    sys_close(b);
}

static bool echo_round(cid_t ch, uint32_t len, bool slow, int salt) {
    struct message *m = ipc_buffer();
    m->header = msg_header(ECHO_TYPE, len, 0);
    m->notifications = slow; /* tells the echo thread to reply without fastpath */
    for (uint32_t i = 0; i < len; i++)
        m->data[i] = (uint8_t) (i * 7 + salt);
    if (sys_ipc(ch, IPC_CALL | (slow ? IPC_NOFASTPATH : 0)) != OK)
        return false;
    if (msg_type(m) != (ECHO_TYPE | MSG_REPLY_FLAG) || msg_len(m) != len || m->from != ch)
        return false;
    for (uint32_t i = 0; i < len; i++)
        if (m->data[i] != (uint8_t) (i * 7 + salt))
            return false;
    return true;
}

static void test_calls_between_threads(void) {
    cid_t a, b;
    pair(&a, &b);
    struct echo_thread e;
    start_echo(&e, b, 0);
    int bad = -1;
    for (int i = 0; i < 600 && bad < 0; i++)
        if (!echo_round(a, i % (MSG_INLINE_MAX + 1), i % 2, i))
            bad = i;
    check("600 calls of every inline length, fast and slow path", bad < 0, "round %d failed",
          bad);

    struct message m;
    set_message(&m, ECHO_TYPE, "x", 1);
    m.header = msg_header(ECHO_TYPE, 300, 0);
    CHECK_ERR("inline length over 224", ipc_call(a, &m), ERR_BAD_MESSAGE);
    m.header = msg_header(ECHO_TYPE, MSG_LEN_MASK, 0);
    CHECK_ERR("inline length 2047", ipc_call(a, &m), ERR_BAD_MESSAGE);
    check("receiver still waits after a bad send", echo_round(a, 5, false, 9), "echo failed");
    stop_echo(a, &e);
    check("echo thread served", e.served >= 601, "served %d", e.served);

    /* A blocking send waits until the receiver comes. */
    start_echo(&e, b, 30);
    uint64_t t0 = clock_ns();
    check("call waits for a late receiver", echo_round(a, 8, false, 3), "echo failed");
    check("and it really waited", clock_ns() - t0 >= 20 * 1000000ULL, "waited %lu ns",
          clock_ns() - t0);
    stop_echo(a, &e);
    sys_close(a);
    sys_close(b);
}

struct closer {
    cid_t ch;
    volatile error_t result;
    volatile bool done;
};

static void blocked_caller(void *arg) {
    struct closer *c = arg;
    struct message *m = ipc_buffer();
    m->header = msg_header(ECHO_TYPE, 0, 0);
    c->result = sys_ipc(c->ch, IPC_SEND);
    c->done = true;
}

static void test_peer_closed(void) {
    cid_t a, b;
    pair(&a, &b);
    struct closer c = {.ch = a};
    ASSERT(thread_spawn(blocked_caller, &c, NULL) == OK);
    sleep_ms(20);
    check("sender blocks while nobody receives", !c.done, "it returned %s",
          err_name(c.result));
    sys_close(b);
    for (int i = 0; i < 100 && !c.done; i++)
        sleep_ms(1);
    check("blocked sender sees the close", c.done && c.result == ERR_PEER_CLOSED,
          "done %d result %s", c.done, err_name(c.result));
    CHECK_ERR("send to a closed peer", sys_ipc(a, IPC_SEND), ERR_PEER_CLOSED);
    CHECK_ERR("notify a dead peer", sys_notify(a, 1), ERR_PEER_CLOSED);
    struct message m;
    error_t err = ipc_recv(a, &m);
    check("peer-closed notification", err == OK && msg_type(&m) == MSG_NOTIFICATION
          && (m.notifications & NOTIFY_PEER_CLOSED), "err %s bits %#x", err_name(err),
          m.notifications);
    CHECK_ERR("receive on a closed channel", ipc_recv(a, &m), ERR_PEER_CLOSED);
    sys_close(a);
}

static void test_transfer(void) {
    cid_t m = sys_open(), x1, y1, x2, y2;
    pair(&x1, &y1);
    pair(&x2, &y2);
    CHECK_ERR("transfer", sys_transfer(y1, m), OK);
    CHECK_ERR("transfer a second", sys_transfer(y2, m), OK);
    CHECK_ERR("transfer into a transferred channel", sys_transfer(x1, y1), ERR_LOOP);
    CHECK_ERR("transfer a root (loop)", sys_transfer(m, y1), ERR_LOOP);
    CHECK_ERR("transfer to itself", sys_transfer(x1, x1), ERR_LOOP);
    CHECK_ERR("transfer bad cid", sys_transfer(999, m), ERR_INVALID_CID);
    sys_notify(x1, 1);
    sys_notify(x2, 2);
    struct message msg;
    error_t e1 = ipc_recv(m, &msg);
    cid_t f1 = msg.from;
    notification_t b1 = msg.notifications;
    error_t e2 = ipc_recv(m, &msg);
    check("both arrive at the root, each with its own from",
          !e1 && !e2 && f1 == y1 && b1 == 1 && msg.from == y2 && msg.notifications == 2,
          "from %d/%d bits %#x/%#x", f1, msg.from, b1, msg.notifications);

    struct echo_thread e;
    start_echo(&e, m, 0); /* serves every channel transferred to m */
    check("calls through a transferred channel", echo_round(x1, 10, false, 1)
          && echo_round(x2, 20, true, 2), "echo failed");
    stop_echo(x1, &e);
    CHECK_ERR("untransfer", sys_transfer(y1, 0), OK);
    sys_notify(x1, 4);
    error_t err = ipc_poll(y1, &msg);
    check("after untransfer it arrives at the channel itself",
          err == OK && msg.notifications == 4 && msg.from == y1, "err %s", err_name(err));
    sys_close(m);
    sys_notify(x2, 8);
    err = ipc_poll(y2, &msg);
    check("closing the root hands its members back", err == OK && msg.notifications == 8,
          "err %s", err_name(err));
    sys_close(x1), sys_close(y1), sys_close(x2), sys_close(y2);
}

/* ---- payloads across processes -------------------------------------------- */

static void test_peer_echo(void) {
    char out[200], back[200];
    size_t len;
    bool ok = true;
    for (int i = 0; i < 200 && ok; i++) {
        for (int j = 0; j < i; j++)
            out[j] = (char) (i + j);
        ok = test_echo(peer, out, i, back, &len) == OK && len == (size_t) i
             && !memcmp(out, back, i);
    }
    check("200 echo calls to another process", ok, "mismatch");
}

static uint64_t sum_bytes(uint64_t addr, uint64_t len) {
    uint64_t s = 0;
    for (uint64_t i = 0; i < len; i++)
        s += ((const uint8_t *) addr)[i];
    return s;
}

static void test_pages(void) {
    uint64_t addr, len, sum, where;
    error_t err = memmgr_alloc_pages(CID_MEMMGR, 3 * PAGE_SIZE, 0, &addr, &len);
    check("memmgr gives pages", err == OK && len == 3 * PAGE_SIZE && IS_ALIGNED(addr, PAGE_SIZE),
          "err %s len %lu", err_name(err), len);
    if (err)
        return;
    for (uint64_t i = 0; i < len; i++)
        ((uint8_t *) addr)[i] = (uint8_t) i;
    uint64_t want = sum_bytes(addr, len);
    err = test_take_pages(peer, addr, len, &sum, &where);
    check("page payload arrives intact", err == OK && sum == want && IS_ALIGNED(where, PAGE_SIZE),
          "err %s sum %lu want %lu", err_name(err), sum, want);
    CHECK_ERR("pages moved: sending them again", test_take_pages(peer, addr, len, &sum, &where),
              ERR_BAD_PAGE);

    uint64_t good, glen;
    ASSERT(memmgr_alloc_pages(CID_MEMMGR, PAGE_SIZE, 0, &good, &glen) == OK);
    CHECK_ERR("page payload unaligned", test_take_pages(peer, good + 8, PAGE_SIZE, &sum, &where),
              ERR_BAD_PAGE);
    CHECK_ERR("page payload length 0", test_take_pages(peer, good, 0, &sum, &where),
              ERR_BAD_PAGE);
    CHECK_ERR("page payload length not a page multiple",
              test_take_pages(peer, good, 100, &sum, &where), ERR_BAD_PAGE);
    CHECK_ERR("page payload unmapped",
              test_take_pages(peer, 0x0000200000000000ULL, PAGE_SIZE, &sum, &where), ERR_BAD_PAGE);
    CHECK_ERR("page payload kernel address",
              test_take_pages(peer, 0xffff800000100000ULL, PAGE_SIZE, &sum, &where), ERR_BAD_PAGE);
    CHECK_ERR("page payload huge", test_take_pages(peer, good, 1ULL << 40, &sum, &where),
              ERR_BAD_PAGE);
    CHECK_ERR("page payload thread info page",
              test_take_pages(peer, (uint64_t) thread_info(), PAGE_SIZE, &sum, &where),
              ERR_BAD_PAGE);
    memset((void *) good, 1, PAGE_SIZE);
    err = test_take_pages(peer, good, PAGE_SIZE, &sum, &where);
    check("a good page after the bad ones", err == OK && sum == PAGE_SIZE, "err %s sum %lu",
          err_name(err), sum);

    err = test_give_pages(peer, 2 * PAGE_SIZE, 0x5a, &addr, &len);
    bool all = err == OK && len == 2 * PAGE_SIZE;
    for (uint64_t i = 0; all && i < len; i++)
        all = ((uint8_t *) addr)[i] == 0x5a;
    check("page payload in a reply", all, "err %s len %lu", err_name(err), len);
    if (err == OK)
        CHECK_ERR("pages go back to memmgr", ipc_free_pages(addr, len), OK);
}

static void test_channels(void) {
    cid_t x, y;
    pair(&x, &y);
    struct echo_thread e;
    start_echo(&e, x, 0);
    int32_t result = -1;
    error_t err = test_take_channel(peer, y, &result);
    check("channel payload: the peer calls us through it", err == OK && result == OK,
          "err %s result %s", err_name(err), err_name(result));
    CHECK_ERR("the moved channel is gone from our table", sys_close(y), ERR_INVALID_CID);
    for (int i = 0; i < 100 && !e.done; i++)
        sleep_ms(1);
    check("the peer's close reached us", e.done, "echo thread still waiting");
    CHECK_ERR("channel payload bad cid", test_take_channel(peer, 999, &result),
              ERR_INVALID_CID);
    CHECK_ERR("channel payload is the channel sent on", test_take_channel(peer, peer, &result),
              ERR_IN_USE);
    sys_close(x);
}

/* ---- the kernel server ----------------------------------------------------- */

static error_t raw_kernel_call(uint32_t type, uint32_t len) {
    struct message *m = ipc_buffer();
    memset(m, 0, MSG_SIZE);
    m->header = msg_header(type, len, 0);
    error_t err = sys_ipc(CID_KERNEL, IPC_CALL);
    if (err)
        return err;
    return msg_is_error(m) ? msg_error(m) : OK;
}

static void test_kernel_server(void) {
    cid_t a, b;
    int32_t out;
    pair(&a, &b);
    CHECK_ERR("create_process needs admin", kernel_create_process(CID_KERNEL, "evil", a, &out),
              ERR_NOT_PERMITTED);
    CHECK_ERR("destroy_process needs admin", kernel_destroy_process(CID_KERNEL, 1),
              ERR_NOT_PERMITTED);
    CHECK_ERR("give_channel needs admin", kernel_give_channel(CID_KERNEL, 1, a, &out),
              ERR_NOT_PERMITTED);
    CHECK_ERR("irq_listen needs the right", kernel_irq_listen(CID_KERNEL, 5, &out),
              ERR_NOT_PERMITTED);
    CHECK_ERR("ioport_enable needs the right", kernel_ioport_enable(CID_KERNEL, 0x60, 1),
              ERR_NOT_PERMITTED);
    CHECK_ERR("mmio_map needs the right",
              kernel_mmio_map(CID_KERNEL, 0xfebc0000, PAGE_SIZE, USER_MMIO_BASE),
              ERR_NOT_PERMITTED);
    CHECK_ERR("dma_pin needs the right", kernel_dma_pin(CID_KERNEL, USER_HEAP_BASE, PAGE_SIZE,
              (uint64_t *) &out), ERR_NOT_PERMITTED);
    CHECK_ERR("shutdown needs admin", kernel_shutdown(CID_KERNEL, 0), ERR_NOT_PERMITTED);
    CHECK_ERR("spawn_thread in another process", kernel_spawn_thread(CID_KERNEL, 1, 0x400000,
              USER_STACK_TOP, 0, &out), ERR_NOT_PERMITTED);
    CHECK_ERR("kill an unknown thread", kernel_kill_thread(CID_KERNEL, 1 << 30), ERR_NOT_FOUND);
    CHECK_ERR("spawn_thread at a kernel address", kernel_spawn_thread(CID_KERNEL, 0,
              0xffffffff80100000ULL, USER_STACK_TOP, 0, &out), ERR_INVALID_ARG);
    uint16_t io[4] = {0x60, 0, 0, 0}, iolen[4] = {1, 0, 0, 0};
    uint64_t mm[4] = {0}, mmlen[4] = {0};
    CHECK_ERR("open_narrowed cannot widen", kernel_open_narrowed(CID_KERNEL, KRIGHT_IO, 0, io,
              sizeof(io), iolen, sizeof(iolen), mm, sizeof(mm), mmlen, sizeof(mmlen), &out),
              ERR_NOT_PERMITTED);
    CHECK_ERR("kernel request of the wrong length", raw_kernel_call(KERNEL_CLOCK_MSG, 7),
              ERR_BAD_MESSAGE);
    CHECK_ERR("unknown kernel method", raw_kernel_call(MSG_TYPE(KERNEL_IFACE_ID, 99), 0),
              ERR_NOT_SUPPORTED);
    CHECK_ERR("another interface's type to the kernel", raw_kernel_call(MSG_TYPE(77, 1), 0),
              ERR_NOT_SUPPORTED);
    CHECK_ERR("a reply type to the kernel", raw_kernel_call(KERNEL_CLOCK_REPLY_MSG, 0),
              ERR_NOT_SUPPORTED);
    CHECK_ERR("notify the kernel server", sys_notify(CID_KERNEL, 1), ERR_NOT_SUPPORTED);
    sys_close(a);
    sys_close(b);
}

static void test_timer(void) {
    cid_t t;
    error_t err = kernel_timer_create(CID_KERNEL, &t);
    check("timer_create", err == OK, "%s", err_name(err));
    if (err)
        return;
    CHECK_ERR("timer_set on a non-timer channel", kernel_timer_set(CID_KERNEL, CID_MEMMGR,
              1000000, 0), ERR_INVALID_CID);
    uint64_t t0 = clock_ns();
    CHECK_ERR("timer_set 10 ms", kernel_timer_set(CID_KERNEL, t, 10000000, 0), OK);
    struct message m;
    err = ipc_recv(t, &m);
    uint64_t waited = clock_ns() - t0;
    check("one-shot timer fires after 10 ms", err == OK && (m.notifications & NOTIFY_TIMER)
          && waited >= 10000000, "err %s waited %lu ns", err_name(err), waited);
    CHECK_ERR("periodic 2 ms", kernel_timer_set(CID_KERNEL, t, 2000000, 1), OK);
    int fired = 0;
    for (int i = 0; i < 3; i++)
        fired += ipc_recv(t, &m) == OK && (m.notifications & NOTIFY_TIMER);
    check("periodic timer keeps firing", fired == 3, "fired %d", fired);
    CHECK_ERR("disarm", kernel_timer_set(CID_KERNEL, t, 0, 0), OK);
    sys_close(t);
}

static void test_memory(void) {
    size_t size = 3 * 1024 * 1024;
    uint8_t *p = malloc(size);
    check("malloc 3 MiB", p != NULL, "NULL");
    if (!p)
        return;
    for (size_t i = 0; i < size; i += 512)
        p[i] = (uint8_t) (i >> 9);
    bool ok = true;
    for (size_t i = 0; i < size && ok; i += 512)
        ok = p[i] == (uint8_t) (i >> 9);
    check("demand-paged heap keeps its contents", ok, "mismatch");
    free(p);
}

/* ---- hostile programs ------------------------------------------------------ */

static void run_program(const char *name, const char *args, uint32_t want_cause, int want_code) {
    char label[96];
    int32_t pid;
    uint32_t cause = 99;
    int32_t code = -999;
    error_t err = memmgr_spawn(CID_MEMMGR, name, args, &pid);
    if (!err)
        err = memmgr_wait(CID_MEMMGR, pid, &cause, &code);
    snprintf(label, sizeof(label), "%s %s ends with cause %u code %d", name, args, want_cause,
             want_code);
    check(label, err == OK && cause == want_cause && (want_code < 0 || code == want_code),
          "err %s cause %u code %d", err_name(err), cause, code);
}

struct pool_counts {
    uint32_t procs, threads, channels, pool_free;
};

static struct pool_counts pools(void) {
    struct pool_counts c;
    uint32_t max, pool;
    uint64_t fast, slow;
    kernel_stats(CID_KERNEL, &c.procs, &max, &c.threads, &max, &c.channels, &max, &pool,
                 &c.pool_free, &fast, &slow);
    return c;
}

static void test_faulting_programs(void) {
    struct pool_counts before = pools();
#ifdef FUMI_UBSAN
    run_program("faulter", "null", EXIT_NORMAL, EXIT_CODE_UBSAN); /* UBSan sees it first */
#else
    run_program("faulter", "null", EXIT_PAGER, -1);
#endif
    run_program("faulter", "smash", EXIT_NORMAL, EXIT_CODE_STACK_SMASHED);
    run_program("faulter", "kernel", EXIT_FAULT, 14);
    run_program("faulter", "ud", EXIT_FAULT, 6);
    run_program("faulter", "divide", EXIT_FAULT, 0);
    run_program("faulter", "privileged", EXIT_FAULT, 13);
    run_program("faulter", "io", EXIT_FAULT, 13);
    run_program("faulter", "exec", EXIT_FAULT, 14);
    run_program("faulter", "text", EXIT_FAULT, 14);
    run_program("faulter", "stack", EXIT_PAGER, -1);
    struct pool_counts after = pools();
    check("no kernel objects leaked by dead programs",
          after.procs == before.procs && after.threads == before.threads
          && after.channels == before.channels,
          "procs %u->%u threads %u->%u channels %u->%u", before.procs, after.procs,
          before.threads, after.threads, before.channels, after.channels);
    test_peer_echo();
}

static void test_fuzz(void) {
    struct pool_counts before = pools();
    run_program("fuzz", "1 4000", EXIT_NORMAL, 0);
    run_program("fuzz", "2 4000", EXIT_NORMAL, 0);
    run_program("fuzz", "3 4000", EXIT_NORMAL, 0);
    struct pool_counts after = pools();
    check("fuzzing leaked no kernel objects",
          after.procs == before.procs && after.threads == before.threads
          && after.channels == before.channels,
          "procs %u->%u threads %u->%u channels %u->%u", before.procs, after.procs,
          before.threads, after.threads, before.channels, after.channels);
    test_peer_echo();
}

static void test_peer_quits(void) {
    CHECK_ERR("partner quits", test_quit(peer), OK);
    char back[8];
    size_t len;
    CHECK_ERR("calling a dead partner", test_echo(peer, "x", 1, back, &len), ERR_PEER_CLOSED);
    sys_close(peer);
}

int main(void) {
    program_name = "ktest";
    int32_t pid;
    error_t err = memmgr_spawn(CID_MEMMGR, "ktestpeer", "", &pid);
    peer = err ? err : ns_connect("ktestpeer");
    if (peer < 0) {
        printf("ktest: FAIL set-up: cannot start ktestpeer: %s\n", err_name(peer));
        printf("ktest: 0 passed, 1 failed\n");
        return 1;
    }
    test_open_close();
    test_bad_ipc_args();
    test_notify();
    test_calls_between_threads();
    test_peer_closed();
    test_transfer();
    test_peer_echo();
    test_pages();
    test_channels();
    test_kernel_server();
    test_timer();
    test_memory();
    test_faulting_programs();
    test_fuzz();
    test_peer_quits();
    memmgr_wait(CID_MEMMGR, pid, NULL, NULL);
    return check_summary();
}
