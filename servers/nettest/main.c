/*
 * nettest: the in-guest test of the e1000 driver through the net_device
 * interface, against QEMU's user-mode network (slirp: gateway 10.0.2.2,
 * DHCP hands out 10.0.2.15). It sends only to slirp's virtual addresses.
 *
 * It looks up "net", checks info, attaches a second channel for the
 * notifications, then: an ARP request for 10.0.2.2 (slirp answers), a
 * DHCP DISCOVER (an OFFER of 10.0.2.15), a burst of 200 ARP requests in
 * one call (the 128-entry transmit ring wraps; stats count all 200) whose
 * replies pile up unreceived, 300 pings to 10.0.2.2 left to pile up the
 * same way and then drained (the receive ring wraps; every reply arrives
 * intact or is counted as dropped), a full-size (1514-byte) frame, every
 * refusal (bad slot counts, frame lengths 0, 13, 1515 and 5000, a batch
 * with one bad frame, missing pages, an unknown message) after which the
 * driver must still answer, a second client taking the NIC over and
 * giving it back, and rounds of traffic and refusals after which neither
 * the driver nor the system may hold a page more than before. The host
 * side (tests/system/test_e1000.py) checks a capture of the same run.
 *
 * "run nettest polled" expects a driver started with "poll" (no interrupts).
 *
 * Output: "nettest: PASS name" / "nettest: FAIL name: why" lines and a
 * closing "nettest: N passed, M failed"; the exit code is M != 0.
 */
#include <user/check.h>
#include <user/netdev.h>
#include <idl.h>
#include "frames.h"

#define RX_SLOTS      32
#define BURST         200 /* ARP requests in one transmit */
#define PINGS         300
#define PING_ID       0x4e54 /* "NT" (the big one "NU"): the host test finds them by it */
#define PING_DATA     56
#define WAIT_MS       3000 /* for an answer from slirp */
#define SETTLE_MS     1000 /* for a pile-up to arrive */

static const ip4_t my_ip = {10, 0, 2, 15};
static const ip4_t gw_ip = {10, 0, 2, 2};

static cid_t net;      /* requests */
static cid_t events;   /* attached: NETDEV_NOTIFY_* arrive here */
static cid_t waitset;  /* events and the timer, transferred here */
static cid_t timer;
static mac_t my_mac, gw_mac;

struct buf {
    uint64_t addr;
    uint64_t len;
};

static struct buf rx_buf;

static error_t buf_alloc(struct buf *b, uint64_t slots) {
    uint64_t len = ALIGN_UP(slots * NETDEV_SLOT_SIZE, PAGE_SIZE);
    return memmgr_alloc_pages(CID_MEMMGR, len, 0, &b->addr, &b->len);
}

static void buf_free(struct buf *b) {
    if (b->len)
        ipc_free_pages(b->addr, b->len);
    b->len = 0;
}

static struct netdev_slot *slot(struct buf *b, size_t i) {
    return netdev_slot((void *) b->addr, i);
}

/* memmgr's free pages plus every page it ever gave the kernel's pool:
 * what is neither in a process nor lost (a donation to the pool, which
 * memmgr makes whenever the pool runs low, does not change it). */
static uint64_t free_pages_now(void) {
    uint64_t pages = 0, total = 0, fast, slow;
    uint32_t procs, procs_max, threads, threads_max, chans, chans_max, pool = 0, pool_free;
    memmgr_memory(CID_MEMMGR, &pages, &total);
    kernel_stats(CID_KERNEL, &procs, &procs_max, &threads, &threads_max, &chans, &chans_max,
                 &pool, &pool_free, &fast, &slow);
    return pages + pool;
}

struct stats {
    uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes, rx_dropped, tx_dropped, rx_errors, irqs;
};

static error_t get_stats(struct stats *s) {
    return net_device_stats(net, &s->rx_packets, &s->tx_packets, &s->rx_bytes, &s->tx_bytes,
                            &s->rx_dropped, &s->tx_dropped, &s->rx_errors, &s->irqs);
}

/* Pages the driver process holds now (0 if it cannot be found). */
static uint64_t driver_pages(void) {
    int32_t pid = 1, out_pid, last = -1;
    char name[32];
    uint32_t state, threads, chans;
    uint64_t pages, sent, received, faults;
    while (kernel_process_info(CID_KERNEL, pid, &out_pid, name, &state, &threads, &chans,
                               &pages, &sent, &received, &faults) == OK && out_pid != last) {
        if (!strcmp(name, "e1000"))
            return pages;
        last = out_pid;
        pid = out_pid + 1;
    }
    return 0;
}

/* ---- sending and receiving --------------------------------------------------- */

/* Transmit the first count slots of b, calling again for what the ring
 * could not take; b holds the pages that came back. */
static error_t send_all(struct buf *b, uint32_t count, uint32_t *calls) {
    uint32_t done = 0;
    *calls = 0;
    while (done < count) {
        uint32_t sent = 0;
        uint64_t len = b->len;
        error_t err = net_device_transmit(net, count - done, b->addr, b->len, &sent, &b->addr,
                                          &b->len);
        (*calls)++;
        if (err) {
            b->len = 0;
            return err;
        }
        if (b->len != len)
            return ERR_BAD_PAGE;
        if (sent > count - done)
            return ERR_UNEXPECTED;
        if (sent == 0) {
            if (*calls > 1000)
                return ERR_TIMEOUT;
            sleep_ms(1);
        }
        memmove((void *) b->addr, (uint8_t *) b->addr + (size_t) sent * NETDEV_SLOT_SIZE,
                (size_t) (count - done - sent) * NETDEV_SLOT_SIZE);
        done += sent;
    }
    return OK;
}

static error_t send_one(const uint8_t *frame, size_t len) {
    struct buf b;
    error_t err = buf_alloc(&b, 1);
    if (err)
        return err;
    slot(&b, 0)->len = (uint32_t) len;
    memcpy(slot(&b, 0)->frame, frame, len);
    uint32_t calls;
    err = send_all(&b, 1, &calls);
    buf_free(&b);
    return err;
}

/* Wait for a notification on events until deadline (clock_ns); true if
 * NETDEV_NOTIFY_RX came. */
static bool wait_rx(uint64_t deadline) {
    for (;;) {
        uint64_t now = clock_ns();
        if (now >= deadline)
            return false;
        kernel_timer_set(CID_KERNEL, timer, deadline - now, 0);
        struct message m;
        if (ipc_recv(waitset, &m) != OK)
            return false;
        if (msg_type(&m) != MSG_NOTIFICATION)
            continue;
        if (m.from == events && (m.notifications & NETDEV_NOTIFY_RX)) {
            kernel_timer_set(CID_KERNEL, timer, 0, 0);
            return true;
        }
    }
}

/* Drop notifications already pending on the wait set. */
static void flush_events(void) {
    struct message m;
    while (ipc_poll(waitset, &m) == OK)
        ;
}

typedef bool (*frame_fn)(const uint8_t *f, size_t len, void *ctx);

/* Receive every waiting frame into rx_buf and pass each to fn; the number
 * of frames, or a negative error. */
static int drain(frame_fn fn, void *ctx, bool *done) {
    int total = 0;
    uint32_t count, more;
    do {
        uint64_t len = rx_buf.len;
        error_t err = net_device_receive(net, rx_buf.addr, rx_buf.len, &count, &more,
                                         &rx_buf.addr, &rx_buf.len);
        if (err) {
            rx_buf.len = 0;
            return err;
        }
        if (rx_buf.len != len || count > RX_SLOTS)
            return ERR_BAD_PAGE;
        for (uint32_t i = 0; i < count; i++) {
            struct netdev_slot *s = slot(&rx_buf, i);
            if (s->len > NETDEV_FRAME_MAX || s->len < ETH_HLEN)
                return ERR_CORRUPT;
            if (fn(s->frame, s->len, ctx))
                *done = true;
        }
        total += (int) count;
    } while (more);
    return total;
}

/* Receive until fn says done or timeout_ms pass; whether it did. */
static bool receive_until(frame_fn fn, void *ctx, uint64_t timeout_ms) {
    uint64_t deadline = clock_ns() + timeout_ms * 1000000;
    bool done = false;
    for (;;) {
        if (drain(fn, ctx, &done) < 0)
            return false;
        if (done || !wait_rx(deadline))
            return done;
    }
}

/* ---- the tests --------------------------------------------------------------- */

static void test_info(void) {
    uint8_t mac[6];
    size_t mac_len = 0;
    uint32_t link = 0, mtu = 0;
    error_t err = net_device_info(net, mac, &mac_len, &link, &mtu);
    static const uint8_t zero[6];
    check("info", err == OK, "%s", err_name(err));
    check("the MAC is a valid unicast address",
          mac_len == 6 && memcmp(mac, zero, 6) && !(mac[0] & 1),
          "%02x:%02x:%02x:%02x:%02x:%02x (%zu bytes)", mac[0], mac[1], mac[2], mac[3], mac[4],
          mac[5], mac_len);
    check("the link is up", link == 1, "link_up %u", link);
    check("the MTU is 1500", mtu == 1500, "mtu %u", mtu);
    memcpy(my_mac, mac, 6);
}

static error_t attach(void) {
    events = ns_connect("net");
    if (events < 0)
        return events;
    error_t err = net_device_attach(events);
    waitset = sys_open();
    if (!err && waitset < 0)
        err = waitset;
    if (!err)
        err = kernel_timer_create(CID_KERNEL, &timer);
    if (!err)
        err = sys_transfer(events, waitset);
    if (!err)
        err = sys_transfer(timer, waitset);
    return err;
}

struct arp_wait {
    mac_t sha;
    unsigned replies;
};

static bool on_arp_reply(const uint8_t *f, size_t len, void *ctx) {
    struct arp_wait *w = ctx;
    if (!frame_is_arp_reply(f, len, my_mac, gw_ip, w->sha))
        return false;
    w->replies++;
    return true;
}

static bool ignore_frame(const uint8_t *f, size_t len, void *ctx) {
    return false;
}

static void test_arp(void) {
    uint8_t f[ARP_FRAME_LEN];
    size_t len = frame_arp_request(f, my_mac, my_ip, gw_ip);
    bool done = false;
    drain(ignore_frame, NULL, &done); /* anything from before, and its notification */
    flush_events();
    CHECK_ERR("transmit an ARP request", send_one(f, len), OK);
    check("NETDEV_NOTIFY_RX announces the reply",
          wait_rx(clock_ns() + WAIT_MS * 1000000ULL), "no notification within %u ms", WAIT_MS);
    struct arp_wait w = {.replies = 0};
    check("slirp answers the ARP request for 10.0.2.2", receive_until(on_arp_reply, &w, WAIT_MS),
          "no reply within %u ms", WAIT_MS);
    memcpy(gw_mac, w.sha, 6);
    printf("nettest: 10.0.2.2 is at %02x:%02x:%02x:%02x:%02x:%02x\n", gw_mac[0], gw_mac[1],
           gw_mac[2], gw_mac[3], gw_mac[4], gw_mac[5]);
}

struct dhcp_wait {
    uint32_t xid;
    uint8_t type;
    ip4_t yiaddr;
};

static bool on_dhcp(const uint8_t *f, size_t len, void *ctx) {
    struct dhcp_wait *w = ctx;
    return frame_is_dhcp_reply(f, len, w->xid, &w->type, w->yiaddr);
}

static void test_dhcp(void) {
    static uint8_t f[DHCP_FRAME_LEN];
    struct dhcp_wait w = {.xid = (uint32_t) rdtsc() | 1};
    size_t len = frame_dhcp_discover(f, my_mac, w.xid);
    CHECK_ERR("transmit a DHCP DISCOVER", send_one(f, len), OK);
    bool got = receive_until(on_dhcp, &w, WAIT_MS);
    check("slirp answers the DISCOVER", got, "no DHCP reply within %u ms", WAIT_MS);
    if (got)
        check("it is an OFFER of 10.0.2.15", w.type == DHCP_OFFER && !memcmp(w.yiaddr, my_ip, 4),
              "type %u, yiaddr %u.%u.%u.%u", w.type, w.yiaddr[0], w.yiaddr[1], w.yiaddr[2],
              w.yiaddr[3]);
}

static bool count_arp_reply(const uint8_t *f, size_t len, void *ctx) {
    mac_t sha;
    if (frame_is_arp_reply(f, len, my_mac, gw_ip, sha))
        (*(unsigned *) ctx)++;
    return false;
}

/* Receive until nothing more comes for a while; frames seen. */
static int drain_all(frame_fn fn, void *ctx) {
    int total = 0;
    bool done = false;
    for (;;) {
        int n = drain(fn, ctx, &done);
        if (n < 0)
            return n;
        total += n;
        if (!wait_rx(clock_ns() + 500 * 1000000ULL))
            return total;
    }
}

/* BURST ARP requests in one transmit: the ring (128) wraps and the driver
 * sends them all. Their replies are left to pile up and drained after. */
static void test_tx_burst(void) {
    struct buf b;
    struct stats before, after;
    error_t err = buf_alloc(&b, BURST);
    if (!err)
        err = get_stats(&before);
    if (err) {
        check("transmit burst set-up", false, "%s", err_name(err));
        return;
    }
    for (uint32_t i = 0; i < BURST; i++)
        slot(&b, i)->len = (uint32_t) frame_arp_request(slot(&b, i)->frame, my_mac, my_ip, gw_ip);
    uint32_t calls = 0;
    err = send_all(&b, BURST, &calls);
    buf_free(&b);
    check("a burst of 200 frames is sent", err == OK, "%s after %u calls", err_name(err), calls);
    printf("nettest: the burst took %u transmit call(s)\n", calls);
    sleep_ms(SETTLE_MS); /* the replies pile up in the receive ring */
    err = get_stats(&after);
    check("stats count the 200 frames sent",
          !err && after.tx_packets - before.tx_packets >= BURST
              && after.tx_bytes - before.tx_bytes >= BURST * ARP_FRAME_LEN
              && after.tx_dropped == before.tx_dropped,
          "%s: %llu packets, %llu bytes, %llu dropped", err_name(err),
          (unsigned long long) (after.tx_packets - before.tx_packets),
          (unsigned long long) (after.tx_bytes - before.tx_bytes),
          (unsigned long long) (after.tx_dropped - before.tx_dropped));
    check("nothing is received while nobody asks", after.rx_packets == before.rx_packets,
          "%llu frames", (unsigned long long) (after.rx_packets - before.rx_packets));
    unsigned replies = 0;
    int frames = drain_all(count_arp_reply, &replies);
    struct stats end;
    get_stats(&end);
    uint64_t dropped = end.rx_dropped - before.rx_dropped;
    check("every ARP reply of the burst arrives or is counted as dropped",
          frames >= 0 && replies + dropped >= BURST && replies >= 127,
          "%d frames, %u replies, %llu dropped", frames, replies, (unsigned long long) dropped);
}

struct pongs {
    uint8_t seen[PINGS];
    unsigned count, dups, other;
};

static bool on_pong(const uint8_t *f, size_t len, void *ctx) {
    struct pongs *p = ctx;
    uint16_t seq;
    size_t data_len;
    if (frame_is_pong(f, len, gw_ip, PING_ID, &seq, &data_len) && seq < PINGS
        && data_len == PING_DATA) {
        if (p->seen[seq]++)
            p->dups++;
        else
            p->count++;
    } else {
        p->other++;
    }
    return false;
}

/* PINGS echo requests to 10.0.2.2; the replies pile up past the receive
 * ring's size before anything is received, then all are drained. */
static void test_rx_pileup(void) {
    static struct pongs p;
    struct buf b;
    struct stats before, after;
    error_t err = buf_alloc(&b, PINGS);
    if (!err)
        err = get_stats(&before);
    if (err) {
        check("receive pile-up set-up", false, "%s", err_name(err));
        return;
    }
    for (uint16_t i = 0; i < PINGS; i++)
        slot(&b, i)->len = (uint32_t) frame_ping(slot(&b, i)->frame, my_mac, gw_mac, my_ip,
                                                 gw_ip, PING_ID, i, PING_DATA);
    uint32_t calls;
    err = send_all(&b, PINGS, &calls);
    buf_free(&b);
    CHECK_ERR("300 pings to 10.0.2.2 are sent", err, OK);
    sleep_ms(SETTLE_MS);
    int frames = drain_all(on_pong, &p);
    err = get_stats(&after);
    uint64_t dropped = after.rx_dropped - before.rx_dropped;
    printf("nettest: pile-up: %d frames, %u replies, %llu dropped, %u duplicates, %u other\n",
           frames, p.count, (unsigned long long) dropped, p.dups, p.other);
    check("the pile-up wraps the receive ring", frames > 128, "%d frames", frames);
    check("every echo reply arrives intact or is counted as dropped",
          frames >= 0 && p.count + dropped >= PINGS && p.dups == 0,
          "%u of %u replies, %llu dropped, %u duplicates", p.count, PINGS,
          (unsigned long long) dropped, p.dups);
    check("receive stats match what arrived",
          !err && after.rx_packets - before.rx_packets == (uint64_t) frames
              && after.rx_errors == before.rx_errors,
          "%llu packets counted, %d received, %llu errors",
          (unsigned long long) (after.rx_packets - before.rx_packets), frames,
          (unsigned long long) (after.rx_errors - before.rx_errors));
}

struct big_pong {
    size_t data;
    bool got;
};

static bool on_big_pong(const uint8_t *f, size_t len, void *ctx) {
    struct big_pong *w = ctx;
    uint16_t seq;
    size_t data_len;
    if (frame_is_pong(f, len, gw_ip, PING_ID + 1, &seq, &data_len) && len == NETDEV_FRAME_MAX
        && data_len == w->data)
        w->got = true;
    return w->got;
}

/* A frame of the largest size goes out and its echo comes back whole. */
static void test_full_size(void) {
    static uint8_t f[NETDEV_FRAME_MAX];
    struct big_pong w = {.data = NETDEV_FRAME_MAX - ETH_HLEN - IP_HLEN - ICMP_HLEN};
    size_t len = frame_ping(f, my_mac, gw_mac, my_ip, gw_ip, PING_ID + 1, 0, w.data);
    CHECK_ERR("transmit a 1514-byte frame", send_one(f, len), OK);
    check("its 1514-byte echo reply comes back intact", receive_until(on_big_pong, &w, WAIT_MS),
          "no such reply within %u ms", WAIT_MS);
}

/* Hand-made requests the generated wrappers cannot produce. */
static error_t raw_call(struct message *m) {
    error_t err = ipc_call(net, m);
    if (err)
        return err;
    if (msg_is_error(m))
        return msg_error(m);
    return OK;
}

#define GOOD 0xffffffffu /* in a lens[] list: a valid ARP request */

/* Transmit count frames from a buffer of slots slots whose first n hold
 * frames of lengths lens[]; the pages are gone either way. */
static error_t transmit_refused(uint32_t count, uint64_t slots, const uint32_t *lens, size_t n) {
    struct buf b;
    error_t err = buf_alloc(&b, slots);
    if (err)
        return err;
    for (size_t i = 0; i < n; i++) {
        size_t len = frame_arp_request(slot(&b, i)->frame, my_mac, my_ip, gw_ip);
        slot(&b, i)->len = lens[i] == GOOD ? (uint32_t) len : lens[i];
    }
    uint32_t sent = 0;
    uint64_t addr = 0, len = 0;
    err = net_device_transmit(net, count, b.addr, b.len, &sent, &addr, &len);
    if (!err) {
        struct buf back = {addr, len};
        buf_free(&back);
    }
    return err;
}

static void test_refusals(void) {
    struct stats before, after;
    uint64_t pages_before = free_pages_now();
    get_stats(&before);
    static const uint32_t ok2[] = {GOOD, GOOD}, zero[] = {0}, tiny[] = {13},
                          huge[] = {5000}, over[] = {NETDEV_FRAME_MAX + 1},
                          mixed[] = {GOOD, GOOD, 5000, GOOD};
    CHECK_ERR("transmit of more frames than the buffer has slots",
              transmit_refused(3, 2, ok2, 2), ERR_BAD_PAGE);
    CHECK_ERR("transmit of 4 billion frames", transmit_refused(0xffffffff, 2, ok2, 2),
              ERR_BAD_PAGE);
    CHECK_ERR("transmit of 0 frames", transmit_refused(0, 2, ok2, 2), ERR_INVALID_ARG);
    CHECK_ERR("a frame of length 0", transmit_refused(1, 2, zero, 1), ERR_INVALID_ARG);
    CHECK_ERR("a frame of 13 bytes", transmit_refused(1, 2, tiny, 1), ERR_INVALID_ARG);
    CHECK_ERR("a frame of 5000 bytes", transmit_refused(1, 2, huge, 1), ERR_INVALID_ARG);
    CHECK_ERR("a frame of 1515 bytes", transmit_refused(1, 2, over, 1), ERR_INVALID_ARG);
    CHECK_ERR("a batch with one bad frame", transmit_refused(4, 4, mixed, 4), ERR_INVALID_ARG);

    struct message m;
    net_device_receive_build(&m, 0, 0);
    m.header &= ~MSG_PAGE_BIT;
    CHECK_ERR("receive without pages", raw_call(&m), ERR_BAD_MESSAGE);
    net_device_transmit_build(&m, 1, 0, 0);
    m.header &= ~MSG_PAGE_BIT;
    CHECK_ERR("transmit without pages", raw_call(&m), ERR_BAD_MESSAGE);
    net_device_info_build(&m);
    m.header = msg_header(MSG_TYPE(NET_DEVICE_IFACE_ID, 99), 0, 0);
    CHECK_ERR("an unknown net_device message", raw_call(&m), ERR_NOT_SUPPORTED);
    net_device_stats_build(&m);
    m.header = msg_header(NET_DEVICE_STATS_MSG, 8, 0);
    CHECK_ERR("stats with a stray inline payload", raw_call(&m), ERR_BAD_MESSAGE);

    get_stats(&after);
    check("refused transmits send nothing", after.tx_packets == before.tx_packets,
          "%llu frames went out", (unsigned long long) (after.tx_packets - before.tx_packets));
    uint64_t pages_after = free_pages_now();
    check("refused requests leak no pages", pages_after + 4 >= pages_before,
          "%llu free pages before, %llu after", (unsigned long long) pages_before,
          (unsigned long long) pages_after);
    uint8_t mac[6];
    size_t mac_len;
    uint32_t link, mtu;
    CHECK_ERR("the driver still answers", net_device_info(net, mac, &mac_len, &link, &mtu), OK);
}

/* A second attach takes over; when its channel closes, ours (events) is
 * attached again. */
static void test_reattach(void) {
    cid_t second = ns_connect("net");
    CHECK_ERR("a second client attaches", second < 0 ? second : net_device_attach(second), OK);
    if (second < 0)
        return;
    flush_events(); /* from before the takeover */
    uint8_t f[ARP_FRAME_LEN];
    frame_arp_request(f, my_mac, my_ip, gw_ip);
    send_one(f, ARP_FRAME_LEN);
    struct message m;
    error_t err = ERR_TIMEOUT;
    for (int i = 0; i < 300 && err == ERR_TIMEOUT; i++) {
        err = ipc_poll(second, &m);
        if (err == ERR_WOULD_BLOCK) {
            err = ERR_TIMEOUT;
            sleep_ms(10);
        }
    }
    check("the new client is notified", err == OK && msg_type(&m) == MSG_NOTIFICATION
                                            && (m.notifications & NETDEV_NOTIFY_RX),
          "%s", err_name(err));
    check("the old one is not", !wait_rx(clock_ns() + 200 * 1000000ULL), "it was");
    unsigned replies = 0;
    drain_all(count_arp_reply, &replies);
    check("the reply is received", replies >= 1, "%u ARP replies", replies);
    sys_close(second);
    send_one(f, ARP_FRAME_LEN);
    check("the old client is attached again when the new one closes",
          wait_rx(clock_ns() + WAIT_MS * 1000000ULL), "no notification within %u ms", WAIT_MS);
    replies = 0;
    drain_all(count_arp_reply, &replies);
    check("and receives", replies >= 1, "%u ARP replies", replies);
}

/* Traffic and refusals again, three times: the driver must not grow (its
 * first pass through each path may fault in stack or heap pages; these
 * rounds come after all of them). */
static void test_driver_leaks(void) {
    static const uint32_t ok2[] = {GOOD, GOOD}, huge[] = {5000};
    uint64_t before = driver_pages(), free_before = free_pages_now();
    for (int round = 0; round < 3; round++) {
        struct buf b;
        uint32_t calls;
        if (buf_alloc(&b, 100))
            break;
        for (uint32_t i = 0; i < 100; i++)
            slot(&b, i)->len =
                (uint32_t) frame_arp_request(slot(&b, i)->frame, my_mac, my_ip, gw_ip);
        send_all(&b, 100, &calls);
        buf_free(&b);
        unsigned replies = 0;
        drain_all(count_arp_reply, &replies);
        transmit_refused(3, 2, ok2, 2);
        transmit_refused(1, 2, huge, 1);
    }
    uint64_t after = driver_pages(), free_after = free_pages_now();
    check("the driver does not grow with traffic and refusals", before && after == before,
          "%llu pages before, %llu after", (unsigned long long) before,
          (unsigned long long) after);
    check("no pages leak in the system", free_after + 2 >= free_before,
          "%llu free pages before, %llu after", (unsigned long long) free_before,
          (unsigned long long) free_after);
}

int main(void) {
    program_name = "nettest";
    net = ns_connect("net");
    error_t err = net < 0 ? net : attach();
    if (!err)
        err = buf_alloc(&rx_buf, RX_SLOTS);
    if (err) {
        check("set-up", false, "%s", err_name(err));
        return check_summary();
    }
    test_info();
    test_arp();
    test_dhcp();
    test_tx_burst();
    test_rx_pileup();
    test_full_size();
    test_refusals();
    test_reattach();
    test_driver_leaks();
    struct stats s;
    err = get_stats(&s);
    printf("nettest: stats: rx %llu/%llu B, tx %llu/%llu B, rx dropped %llu, tx dropped %llu, "
           "rx errors %llu, irqs %llu\n",
           (unsigned long long) s.rx_packets, (unsigned long long) s.rx_bytes,
           (unsigned long long) s.tx_packets, (unsigned long long) s.tx_bytes,
           (unsigned long long) s.rx_dropped, (unsigned long long) s.tx_dropped,
           (unsigned long long) s.rx_errors, (unsigned long long) s.irqs);
    bool polled = !strcmp(program_args(), "polled");
    check(polled ? "the polled driver took no interrupts and saw no bad frames"
                 : "the driver took interrupts and saw no bad frames",
          !err && (polled ? s.irqs == 0 : s.irqs > 0) && s.rx_errors == 0,
          "%s, %llu irqs, %llu errors", err_name(err), (unsigned long long) s.irqs,
          (unsigned long long) s.rx_errors);
    buf_free(&rx_buf);
    sys_close(events);
    sys_close(net);
    return check_summary();
}
