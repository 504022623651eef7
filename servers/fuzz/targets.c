/*
 * Fuzzing every server. Each registered service (found with the
 * non-blocking ns.find, so one that is down is counted "absent", not
 * waited for) gets requests of its own interface built from the IDL table
 * with chosen field values and exactly the right header, requests of other
 * interfaces, garbage types, wrong lengths (beyond MSG_INLINE_MAX too),
 * wrong payload flags, random channel payloads and page payloads (its own
 * scratch pages, kernel, unmapped, unaligned, huge).
 *
 * Replies are awaited with a bound: every target channel and a kernel
 * timer are transferred to one receive channel; the request goes out as a
 * call with IPC_NOBLOCK (refused, not queued, while the server is busy) and
 * the call's receive phase ends with the reply or with the timer. A
 * request left unanswered drops its channel (the server sees its client
 * go: the orphan path of a deferred reply) and the next request to that
 * server looks the name up again, so a server that died and came back
 * (restarted from the shell or by the supervisor) is fuzzed again.
 *
 * It avoids what would harm the system under test rather than test a
 * server's defences:
 *  - tcpip.configure: a new address or a DHCP restart cuts every
 *    connection and the test's port forward;
 *  - test.quit: it ends ktest's partner, which ktest still needs;
 *  - blk.write to sectors that exist: only sectors past the end of every
 *    unit (and none at all until blk.info said where the ends are);
 *  - fs changes outside /fuzz/: open, mkdir, rmdir, unlink and rename get
 *    paths under /fuzz/ without ".." parts (stat and readdir may look
 *    anywhere), and no offset or size between 256 KiB and 4 GiB (a write
 *    there fills the disk with zeros for minutes); /fuzz/ is emptied at
 *    the end;
 *  - traffic to other hosts: net_device.transmit frames carry the local
 *    experimental Ethertype 0x88b5 that no stack routes, tcpip.ping may
 *    reach this guest or its gateway, connect and udp_send this guest or
 *    0.0.0.0 only;
 *  - console bytes that are not printable (control sequences for the
 *    terminal);
 *  - a second channel to one server, so a net_device.attach from here
 *    never pushes tcpip out of e1000's stack of attached clients.
 */
#include "fuzz.h"
#include <user/netdev.h>

#define REPLY_MS        250    /* how long a request may stay unanswered */
#define BUSY_TRIES      20     /* ERR_WOULD_BLOCK retries, 1 ms apart */
#define HANDLES         8      /* remembered handle-like reply values */
#define SAFE_OFFSET_MAX (256 * 1024)
#define BLK_UNITS       8
#define LOCAL_ETHERTYPE 0x88b5 /* IEEE 802 local experimental */
#define SCRATCH         "/fuzz"

struct target {
    const char *name;  /* the name it registers */
    uint32_t iface;    /* the interface it serves */
    cid_t ch;          /* 0: not connected */
    uint32_t handles[HANDLES]; /* first u32 of success replies on ch */
    struct fuzz_stats st;
};

/* Every name a server of the tree registers (server_init / server_register). */
static struct target targets[] = {
    {.name = "console", .iface = CONSOLE_IFACE_ID},
    {.name = "blk", .iface = BLK_IFACE_ID},
    {.name = "fs", .iface = FS_IFACE_ID},
    {.name = "net", .iface = NET_DEVICE_IFACE_ID},
    {.name = "tcpip", .iface = TCPIP_IFACE_ID},
    {.name = "httpd", .iface = HTTPD_IFACE_ID},
    {.name = "bench", .iface = BENCH_IFACE_ID},
    {.name = "ktestpeer", .iface = TEST_IFACE_ID},
};

static cid_t rx;    /* every target channel and the timer arrive here */
static cid_t timer;
static uint32_t self_ip, gateway_ip;
static bool blk_known;       /* blk.info answered */
static uint64_t blk_end;     /* no unit has a sector at or past this */

/* Request types never sent (see the top of the file). */
static bool skipped(uint32_t type) {
    return type == TCPIP_CONFIGURE_MSG || type == TEST_QUIT_MSG;
}

bool targets_protected(cid_t cid) {
    if (cid <= 0)
        return false;
    if (cid == rx || cid == timer)
        return true;
    for (size_t i = 0; i < ARRAY_SIZE(targets); i++)
        if (targets[i].ch == cid)
            return true;
    return false;
}

static struct target *target_of(cid_t cid) {
    for (size_t i = 0; i < ARRAY_SIZE(targets); i++)
        if (targets[i].ch && targets[i].ch == cid)
            return &targets[i];
    return NULL;
}

/* ---- what the fuzzer must know of the system first ---------------------- */

static void learn_blk(void) {
    cid_t ch;
    if (ns_find(CID_MEMMGR, "blk", &ch) != OK)
        return;
    for (uint32_t unit = 0; unit < BLK_UNITS; unit++) {
        uint64_t sectors;
        uint32_t sector_size, lba48;
        char model[41];
        error_t err = blk_info(ch, unit, &sectors, &sector_size, &lba48, model);
        if (err == OK && sectors > blk_end)
            blk_end = sectors;
        if (err == OK || err == ERR_NOT_FOUND)
            blk_known = true;
    }
    sys_close(ch);
}

static void learn_network(void) {
    cid_t ch;
    if (ns_find(CID_MEMMGR, "tcpip", &ch) != OK)
        return;
    uint8_t mac[6];
    size_t mac_len;
    uint32_t link, mask, dns, source, state, lease;
    tcpip_info(ch, mac, &mac_len, &link, &self_ip, &mask, &gateway_ip, &dns, &source, &state,
               &lease);
    sys_close(ch);
}

static void make_scratch_dir(void) {
    cid_t ch;
    if (ns_find(CID_MEMMGR, "fs", &ch) != OK)
        return;
    fs_mkdir(ch, SCRATCH);
    sys_close(ch);
}

void targets_init(void) {
    rx = sys_open();
    if (rx < 0 || kernel_timer_create(CID_KERNEL, &timer) != OK
        || sys_transfer(timer, rx) != OK)
        panic_user("fuzz: cannot set up the reply channel");
    for (size_t i = 0; i < ARRAY_SIZE(targets); i++)
        targets[i].st.name = targets[i].name;
    learn_blk();
    learn_network();
    make_scratch_dir();
}

/* ---- connections ----------------------------------------------------------- */

static bool target_connect(struct target *t) {
    if (t->ch)
        return true;
    cid_t ch;
    if (ns_find(CID_MEMMGR, t->name, &ch) != OK) {
        t->st.absent++;
        return false;
    }
    if (sys_transfer(ch, rx) != OK) {
        sys_close(ch);
        t->st.absent++;
        return false;
    }
    t->ch = ch;
    memset(t->handles, 0, sizeof(t->handles));
    if (t->iface == BLK_IFACE_ID && !blk_known)
        learn_blk();
    return true;
}

static void target_drop(struct target *t) {
    if (t->ch)
        sys_close(t->ch);
    t->ch = 0;
}

/* ---- field values ------------------------------------------------------------ */

static uint64_t interesting(void) {
    static const uint64_t values[] = {
        0, 1, 2, 3, 7, 8, 16, 200, 224, 255, 256, 511, 512, 4095, 4096, 4097, 65535, 65536,
        0x7fffffffULL, 0x80000000ULL, 0xffffffffULL, 0x100000000ULL, 0x7fffffffffffffffULL,
        0x8000000000000000ULL, ~0ULL,
    };
    switch (fuzz_pick(4)) {
    case 0: return values[fuzz_pick(ARRAY_SIZE(values))];
    case 1: return fuzz_pick(16);
    case 2: return (1ULL << fuzz_pick(64)) + fuzz_pick(3) - 1;
    default: return fuzz_rnd();
    }
}

/* Only this guest (and, for ICMP, its gateway) or nobody. */
static uint64_t safe_ip(uint32_t type) {
    if (type == TCPIP_PING_MSG && fuzz_pick(3) == 0)
        return gateway_ip;
    return fuzz_pick(4) ? self_ip : 0;
}

/* fs offsets and sizes: small, or at/over 4 GiB where FAT32 must refuse. */
static uint64_t fs_offset(void) {
    if (fuzz_pick(8))
        return fuzz_pick(2) ? fuzz_pick(SAFE_OFFSET_MAX) : fuzz_pick(4) * 4096;
    return 0x100000000ULL + (fuzz_pick(2) ? fuzz_pick(4096) : fuzz_rnd() >> 1);
}

static uint64_t int_value(struct target *t, uint32_t type, const struct fuzz_field *f) {
    const char *n = f->name;
    if (!strcmp(n, "ip"))
        return safe_ip(type);
    if (!strcmp(n, "port"))
        return fuzz_pick(3) ? 1 + fuzz_pick(65535) : (fuzz_pick(2) ? 80 : interesting());
    if (!strcmp(n, "timeout_ms"))
        return fuzz_pick(2 * REPLY_MS);
    if (!strcmp(n, "handle") || !strcmp(n, "sock") || !strcmp(n, "conn"))
        return t && fuzz_pick(4) ? t->handles[fuzz_pick(HANDLES)] : interesting();
    if (MSG_IFACE(type) == FS_IFACE_ID && (!strcmp(n, "offset") || !strcmp(n, "size")))
        return fs_offset();
    if (type == BLK_WRITE_MSG && !strcmp(n, "lba"))
        return blk_end + (fuzz_pick(2) ? fuzz_pick(64) : fuzz_rnd() >> fuzz_pick(16));
    if (!strcmp(n, "unit"))
        return fuzz_pick(4) ? fuzz_pick(BLK_UNITS + 2) : interesting();
    if (type == NET_DEVICE_TRANSMIT_MSG && !strcmp(n, "count"))
        return fuzz_pick(4) ? fuzz_pick(4) : interesting();
    return interesting();
}

static char random_char(bool printable) {
    if (printable || fuzz_pick(8))
        return (char) (' ' + fuzz_pick(95));
    return (char) (1 + fuzz_pick(255));
}

/* A path under /fuzz/ with no ".." part, or random junk that cannot name
 * an existing file (it may be refused as malformed). */
static void scratch_path(char *buf, size_t n) {
    static const char chars[] = "abcxyzABC019._- ~";
    size_t at = strcpy_safe(buf, SCRATCH, n);
    for (uint64_t parts = fuzz_pick(4); parts > 0 && at + 2 < n; parts--) {
        buf[at++] = '/';
        size_t start = at;
        uint64_t len = 1 + (fuzz_pick(8) ? fuzz_pick(12) : fuzz_pick(n));
        for (; len > 0 && at + 1 < n; len--)
            buf[at++] = fuzz_pick(16) ? chars[fuzz_pick(sizeof(chars) - 1)]
                                      : (char) (0x80 + fuzz_pick(128));
        if (at - start == 2 && buf[start] == '.' && buf[start + 1] == '.')
            buf[start] = 'x';
    }
    buf[at] = '\0';
}

/* Any path at all, for calls that only look. */
static void any_path(char *buf, size_t n) {
    static const char *const paths[] = {
        "/", "/www", "/www/index.html", SCRATCH, "/..", "/../..", "//", "", "relative",
        "/www/../www/./index.html", "/a/b/c/d/e/f/g", "/WWW/INDEX.HTM", "/www/index.html/x",
    };
    if (fuzz_pick(2)) {
        strcpy_safe(buf, paths[fuzz_pick(ARRAY_SIZE(paths))], n);
        return;
    }
    size_t len = fuzz_pick(n);
    buf[0] = '/';
    for (size_t i = 1; i < len; i++)
        buf[i] = random_char(false);
    buf[len ? len : 1] = '\0';
}

static void string_value(uint32_t type, const struct fuzz_field *f, char *buf) {
    size_t n = f->n;
    if (strncmp(f->name, "path", 4) && strcmp(f->name, "old_path") && strcmp(f->name, "new_path")) {
        size_t len = fuzz_pick(n + 1); /* n: no NUL at all */
        for (size_t i = 0; i < len && i < n; i++)
            buf[i] = random_char(false);
        if (len < n)
            buf[len] = '\0';
        return;
    }
    if ((type == FS_STAT_MSG || type == FS_READDIR_MSG) && fuzz_pick(2))
        any_path(buf, n);
    else
        scratch_path(buf, n);
}

static void bytes_value(uint32_t type, const struct fuzz_field *f, uint8_t *at) {
    uint16_t len = fuzz_pick(8) ? (uint16_t) fuzz_pick(f->n + 1) : (uint16_t) fuzz_rnd();
    memcpy(at + f->offset, &len, sizeof(len));
    for (size_t i = 0; i < f->n; i++)
        at[f->data_offset + i] = type == CONSOLE_WRITE_MSG ? (uint8_t) random_char(true)
                                                           : (uint8_t) fuzz_rnd();
}

/* Frames only for nobody: every slot gets the local experimental
 * Ethertype, whatever length it claims. */
static void local_frames(uint64_t addr, uint64_t len) {
    for (uint64_t off = 0; off + NETDEV_SLOT_SIZE <= len; off += NETDEV_SLOT_SIZE) {
        struct netdev_slot *s = (struct netdev_slot *) (addr + off);
        s->len = fuzz_pick(4) ? 14 + fuzz_pick(NETDEV_FRAME_MAX - 13) : (uint32_t) interesting();
        for (int i = 0; i < 12; i++)
            s->frame[i] = (uint8_t) fuzz_rnd();
        s->frame[12] = LOCAL_ETHERTYPE >> 8;
        s->frame[13] = LOCAL_ETHERTYPE & 0xff;
    }
}

static void page_value(uint32_t type, struct message *m) {
    if (fuzz_pick(4)) {
        uint64_t n = 1 + fuzz_pick(4);
        m->page_addr = fuzz_scratch_pages(n, (uint8_t) fuzz_rnd());
        m->page_len = n * PAGE_SIZE;
    } else {
        m->page_addr = fuzz_page_addr();
        m->page_len = fuzz_pick(3) == 0 ? fuzz_rnd() : fuzz_pick(8) * PAGE_SIZE;
        if (!fuzz_page_allowed(m->page_addr, m->page_len))
            m->page_addr = 0;
    }
    if (type == NET_DEVICE_TRANSMIT_MSG)
        m->header &= ~MSG_PAGE_BIT; /* only scratch pages, rewritten below */
}

/* A channel payload: a fresh unlinked channel, one end of a pair whose
 * other end *keep is closed after the call, or a number that may be no
 * channel at all (never memmgr's, the kernel's or a protected one). What
 * it opened is in *fresh: still ours if the send fails. */
static cid_t channel_value(cid_t *fresh, cid_t *keep) {
    if (fuzz_pick(4) == 0) {
        cid_t c = (cid_t) interesting();
        return c == CID_MEMMGR || c == CID_KERNEL || targets_protected(c) ? -1 : c;
    }
    cid_t a = sys_open();
    *fresh = a;
    if (fuzz_pick(2))
        return a;
    cid_t b = sys_open();
    if (a > 0 && b > 0 && sys_link(a, b) == OK)
        *keep = b;
    else if (b > 0)
        sys_close(b);
    return a;
}

/* A request of type fm with the right header and chosen field values
 * (t: the server it goes to, for handles it gave out; NULL for none). */
void fuzz_build_request(struct target *t, const struct fuzz_msg *fm, struct message *m,
                          cid_t *sent, cid_t *keep) {
    memset(m, 0, sizeof(*m));
    m->header = msg_header(fm->type, fm->len, fm->flags);
    for (unsigned i = 0; i < fm->num_fields; i++) {
        const struct fuzz_field *f = &fm->fields[i];
        switch (f->kind) {
        case FUZZ_INT: {
            uint64_t v = int_value(t, fm->type, f);
            memcpy(m->data + f->offset, &v, f->size); /* little endian: the low bytes */
            break;
        }
        case FUZZ_STRING: string_value(fm->type, f, (char *) m->data + f->offset); break;
        case FUZZ_BYTES: bytes_value(fm->type, f, m->data); break;
        case FUZZ_PAGE: page_value(fm->type, m); break;
        case FUZZ_CHANNEL: m->channel = channel_value(sent, keep); break;
        }
    }
    if (fm->type == NET_DEVICE_TRANSMIT_MSG) {
        uint64_t n = 1 + fuzz_pick(2);
        m->page_addr = fuzz_scratch_pages(n, 0);
        m->page_len = n * PAGE_SIZE;
        local_frames(m->page_addr, m->page_len);
        m->header |= MSG_PAGE_BIT;
    }
}

/* Break the header: length (past MSG_INLINE_MAX too) or payload flags. */
static void mangle(struct message *m, uint32_t type, cid_t *sent, cid_t *keep) {
    uint32_t len = fuzz_pick(3) == 0 ? (uint32_t) fuzz_pick(MSG_LEN_MASK + 1)
                                     : (uint32_t) fuzz_pick(MSG_INLINE_MAX + 1);
    uint32_t flags = m->header & (MSG_PAGE_BIT | MSG_CHANNEL_BIT);
    if (fuzz_pick(2))
        flags ^= fuzz_pick(2) ? MSG_PAGE_BIT : MSG_CHANNEL_BIT;
    if (fuzz_pick(8) == 0)
        flags |= MSG_ERROR_BIT;
    if (type == NET_DEVICE_TRANSMIT_MSG)
        flags &= ~MSG_PAGE_BIT; /* its pages hold only local frames */
    if ((flags & MSG_PAGE_BIT) && !(m->header & MSG_PAGE_BIT))
        page_value(type, m);
    if ((flags & MSG_CHANNEL_BIT) && !(m->header & MSG_CHANNEL_BIT))
        m->channel = channel_value(sent, keep);
    m->header = msg_header(type, fuzz_pick(2) ? len : m->header & MSG_LEN_MASK, flags);
}

/* ---- picking a message ------------------------------------------------------- */

const struct fuzz_msg *fuzz_random_msg(uint32_t iface) {
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(fuzz_msgs); i++)
        if ((iface == 0 || MSG_IFACE(fuzz_msgs[i].type) == iface) && !skipped(fuzz_msgs[i].type))
            n++;
    size_t k = fuzz_pick(n);
    for (size_t i = 0; i < ARRAY_SIZE(fuzz_msgs); i++)
        if ((iface == 0 || MSG_IFACE(fuzz_msgs[i].type) == iface) && !skipped(fuzz_msgs[i].type)
            && k-- == 0)
            return &fuzz_msgs[i];
    return NULL;
}

/* ---- calls ----------------------------------------------------------------- */

static void discard(const struct message *m) {
    cid_t ch = (m->header & MSG_CHANNEL_BIT) ? m->channel : 0;
    uint64_t addr = m->page_addr, len = m->page_len;
    bool pages = (m->header & MSG_PAGE_BIT) != 0;
    if (ch > 0 && !targets_protected(ch))
        sys_close(ch);
    if (pages)
        ipc_free_pages(addr, len);
}

/* A notification that arrived at rx. Returns whether it ends t's call. */
static bool notification(struct target *t, const struct message *m) {
    if (m->from == timer) {
        if (!(m->notifications & NOTIFY_TIMER) || !t)
            return false;
        t->st.timeouts++;
        target_drop(t);
        return true;
    }
    struct target *o = target_of(m->from);
    if (!o || !(m->notifications & NOTIFY_PEER_CLOSED))
        return false; /* a server's own bits (net_device's RX and LINK) */
    o->st.closed++;
    target_drop(o);
    return o == t;
}

/* What arrived at rx during t's call of type req_type. Returns whether
 * the call is over. */
static bool incoming(struct target *t, struct message *m, uint32_t req_type) {
    uint32_t type = msg_type(m);
    if (type == MSG_NOTIFICATION)
        return notification(t, m);
    if (m->from != t->ch) {
        discard(m); /* nothing else should send to rx */
        return false;
    }
    if (type != (req_type | MSG_REPLY_FLAG)) {
        t->st.bad_reply++;
    } else if (msg_is_error(m)) {
        fuzz_count(&t->st, msg_len(m) >= 4 ? msg_error(m) : ERR_BAD_MESSAGE);
    } else {
        t->st.ok++;
        if (msg_len(m) >= 4)
            memcpy(&t->handles[fuzz_pick(HANDLES)], m->data, 4);
    }
    discard(m);
    return true;
}

/* Take whatever is still queued at rx (a timer that fired just after the
 * reply, a server's notifications) without waiting. */
static void drain(void) {
    while (sys_ipc(rx, IPC_RECV | IPC_NOBLOCK) == OK) {
        struct message *m = ipc_buffer();
        ipc_received(m);
        if (msg_type(m) == MSG_NOTIFICATION)
            notification(NULL, m);
        else
            discard(m);
    }
}

/* Send *req to t and wait at most REPLY_MS for the reply. sent is a
 * channel payload that is still ours if the send fails; keep the other
 * end of its pair. */
static void call_target(struct target *t, const struct message *req, cid_t sent, cid_t keep) {
    struct fuzz_stats *st = &t->st;
    uint32_t type = msg_type(req);
    /* A "reply" or a fake notification gets no answer: send it only. A
     * notification may make the server drop this client: start afresh. */
    bool oneway = MSG_IS_REPLY(type) || type == MSG_NOTIFICATION;
    st->calls++;
    kernel_timer_set(CID_KERNEL, timer, REPLY_MS * 1000000ULL, 0);
    error_t err;
    for (int tries = 0;; tries++) {
        memcpy(ipc_buffer(), req, MSG_SIZE);
        err = sys_ipc(t->ch, (oneway ? IPC_SEND : IPC_CALL) | IPC_NOBLOCK);
        if (err != ERR_WOULD_BLOCK || tries == BUSY_TRIES)
            break;
        sleep_ms(1);
    }
    if (err == ERR_WOULD_BLOCK) {
        st->busy++;
    } else if (err == ERR_PEER_CLOSED) {
        st->closed++;
        target_drop(t);
    } else if (err) {
        if (-err < FUZZ_ERRORS)
            st->send_errors[-err]++;
    } else if (oneway) {
        st->ok++;
        if (type == MSG_NOTIFICATION)
            target_drop(t);
    } else {
        for (;;) {
            ipc_received(ipc_buffer());
            if (incoming(t, ipc_buffer(), type) || !t->ch || sys_ipc(rx, IPC_RECV) != OK)
                break;
        }
    }
    bool moved = !err && (req->header & MSG_CHANNEL_BIT) && req->channel == sent;
    if (sent > 0 && !moved)
        sys_close(sent); /* never left: still ours */
    if (keep > 0)
        sys_close(keep);
    kernel_timer_set(CID_KERNEL, timer, 0, 0);
    drain();
}

void targets_fuzz_one(void) {
    struct target *t = &targets[fuzz_pick(ARRAY_SIZE(targets))];
    if (!target_connect(t))
        return;
    const struct fuzz_msg *fm;
    switch (fuzz_pick(8)) {
    case 0: fm = fuzz_random_msg(0); break;  /* any interface's message */
    default: fm = fuzz_random_msg(t->iface); break;
    }
    if (fm && fm->type == BLK_WRITE_MSG && !blk_known)
        return;
    struct message m;
    cid_t sent = 0, keep = 0;
    uint32_t type = fm ? fm->type : 0;
    if (fm)
        fuzz_build_request(t, fm, &m, &sent, &keep);
    else
        memset(&m, 0, sizeof(m));
    if (!fm || fuzz_pick(6) == 0) {
        if (!fm || fuzz_pick(2)) { /* a garbage type */
            do {
                type = (uint32_t) fuzz_rnd() & 0xffff;
                if (fuzz_pick(4))
                    type &= ~MSG_REPLY_FLAG;
            } while (skipped(type & ~MSG_REPLY_FLAG) || type == BLK_WRITE_MSG
                     || type == NET_DEVICE_TRANSMIT_MSG);
            for (size_t i = 0; i < MSG_INLINE_MAX; i++)
                m.data[i] = (uint8_t) fuzz_rnd();
            m.notifications = (notification_t) fuzz_rnd();
        }
        mangle(&m, type, &sent, &keep);
    }
    call_target(t, &m, sent, keep);
}

/* ---- the end ----------------------------------------------------------------- */

/* Remove everything below dir (depth-first, bounded); count what stays. */
static void remove_tree(cid_t fs, const char *dir, int depth, uint64_t *removed,
                        uint64_t *failed) {
    uint32_t index = 0, next, is_dir, mtime;
    uint64_t size;
    char name[160], path[200];
    for (int n = 0; n < 1000; n++) {
        if (fs_readdir(fs, dir, index, &next, name, &size, &is_dir, &mtime) != OK)
            break;
        index = next;
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            continue;
        strcpy_safe(path, dir, sizeof(path));
        strcat_safe(path, "/", sizeof(path));
        if (strcat_safe(path, name, sizeof(path)) >= sizeof(path)) {
            (*failed)++;
            continue;
        }
        if (is_dir && depth < 8)
            remove_tree(fs, path, depth + 1, removed, failed);
        if ((is_dir ? fs_rmdir(fs, path) : fs_unlink(fs, path)) == OK)
            (*removed)++;
        else
            (*failed)++;
    }
}

static void clean_scratch_dir(void) {
    cid_t fs;
    if (ns_find(CID_MEMMGR, "fs", &fs) != OK)
        return;
    uint64_t removed = 0, failed = 0;
    remove_tree(fs, SCRATCH, 0, &removed, &failed);
    printf("fuzz: cleanup %s removed=%lu failed=%lu\n", SCRATCH, removed, failed);
    sys_close(fs);
}

void targets_finish(void) {
    for (size_t i = 0; i < ARRAY_SIZE(targets); i++)
        target_drop(&targets[i]);
    sys_close(timer);
    sys_close(rx);
    timer = rx = 0;
    clean_scratch_dir();
    for (size_t i = 0; i < ARRAY_SIZE(targets); i++)
        fuzz_print_stats(&targets[i].st);
}
