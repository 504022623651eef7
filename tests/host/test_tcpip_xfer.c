/*
 * Host tests of TCP data transfer (servers/tcpip) over the simulated link:
 * 1 MiB with content checked under loss, reordering, duplication and
 * corruption; fast retransmit; RTO backoff; zero window and persist;
 * sequence numbers wrapping past 2^32; small reads; both directions at once.
 */
#include "check.h"

#include "tcpip_sim.h"

#define MiB (1024u * 1024u)

static void impair_both(struct sim *sim, struct sim_impair imp) {
    sim->node[0].imp = imp;
    sim->node[1].imp = imp;
}

/* Connect, then move total bytes client -> server (closing after it). */
static bool transfer(struct sim *sim, size_t total, bool close, uint64_t max_ms) {
    struct conn c;
    if (!conn_open(sim, 80, &c))
        return false;
    struct xfer x = {.snet = sim->node[0].net, .rnet = sim->node[1].net, .ssock = c.csock,
                     .rsock = c.ssock, .total = total, .close_when_sent = close};
    uint64_t start = sim->now;
    bool ok = xfer_run(sim, &x, max_ms);
    struct net_stats st = sim_stats(&sim->node[0]);
    printf("# %zu bytes in %llu simulated ms: %llu segments, %llu retransmitted, "
           "%llu fast, %llu RTOs\n",
           total, (unsigned long long) (sim->now - start),
           (unsigned long long) st.tcp_segments_out, (unsigned long long) st.tcp_retransmits,
           (unsigned long long) st.tcp_fast_retransmits,
           (unsigned long long) st.tcp_rto_expiries);
    return ok;
}

TEST(one_mib_clean) {
    struct sim sim;
    sim_pair(&sim, 10, NULL);
    CHECK(transfer(&sim, MiB, true, 600000));
    struct net_stats st = sim_stats(&sim.node[0]);
    CHECK_EQ_UINT(st.tcp_retransmits, 0);
    CHECK_EQ_UINT(st.tcp_rto_expiries, 0);
    /* Full-sized segments: not many more than 1 MiB / 1460. */
    CHECK(st.tcp_segments_out < MiB / 1460 + 50);
    CHECK_EQ_UINT(sim.bad_frames, 0);
    sim_destroy(&sim);
}

TEST(one_mib_5pct_loss) {
    struct sim sim;
    sim_pair(&sim, 11, NULL);
    impair_both(&sim, (struct sim_impair){.loss_ppm = 50000, .delay_ms = 1});
    CHECK(transfer(&sim, MiB, true, 3600000));
    struct net_stats st = sim_stats(&sim.node[0]);
    CHECK(st.tcp_retransmits > 0);
    CHECK(st.tcp_fast_retransmits > 0);
    CHECK_EQ_UINT(st.tcp_timeouts, 0);
    CHECK(sim_stats(&sim.node[1]).tcp_ooo_segments > 0);
    CHECK_EQ_UINT(sim.bad_frames, 0);
    sim_destroy(&sim);
}

TEST(one_mib_20pct_loss) {
    struct sim sim;
    /* At 20 % loss each way a retransmission and its ACK both get through
     * only 64 % of the time: the default user timeout (8 RTOs in a row)
     * gives up on about one such transfer in twenty. Allow 15 here. */
    struct net_params p;
    net_params_default(&p);
    p.tcp_max_retries = 15;
    sim_pair(&sim, 12, &p);
    impair_both(&sim, (struct sim_impair){.loss_ppm = 200000, .delay_ms = 2});
    CHECK(transfer(&sim, MiB, true, 36000000));
    CHECK(sim_stats(&sim.node[0]).tcp_rto_expiries > 0);
    CHECK_EQ_UINT(sim.bad_frames, 0);
    sim_destroy(&sim);
}

TEST(one_mib_reorder_and_duplicates) {
    struct sim sim;
    sim_pair(&sim, 13, NULL);
    impair_both(&sim, (struct sim_impair){.reorder_ppm = 100000, .reorder_ms = 7,
                                          .dup_ppm = 50000, .delay_ms = 2});
    CHECK(transfer(&sim, MiB, true, 3600000));
    CHECK(sim_stats(&sim.node[1]).tcp_ooo_segments > 0);
    CHECK(sim_stats(&sim.node[1]).tcp_dup_segments > 0);
    CHECK_EQ_UINT(sim.bad_frames, 0);
    sim_destroy(&sim);
}

TEST(one_mib_everything_at_once) {
    struct sim sim;
    sim_pair(&sim, 14, NULL);
    impair_both(&sim, (struct sim_impair){.loss_ppm = 50000, .reorder_ppm = 50000,
                                          .reorder_ms = 5, .dup_ppm = 30000,
                                          .corrupt_ppm = 20000, .delay_ms = 3});
    CHECK(transfer(&sim, MiB, true, 3600000));
    /* Corrupted frames are caught by a checksum somewhere. */
    struct net_stats a = sim_stats(&sim.node[0]), b = sim_stats(&sim.node[1]);
    CHECK(a.tcp_bad + b.tcp_bad + a.ip_bad_checksum + b.ip_bad_checksum + a.eth_not_for_us +
              b.eth_not_for_us + a.eth_unknown_type + b.eth_unknown_type + a.ip_not_for_us +
              b.ip_not_for_us + a.ip_bad_version + b.ip_bad_version + a.ip_bad_len +
              b.ip_bad_len + a.ip_options + b.ip_options + a.ip_fragments + b.ip_fragments >
          0);
    CHECK_EQ_UINT(sim.bad_frames, 0);
    sim_destroy(&sim);
}

TEST(both_directions_at_once) {
    struct sim sim;
    sim_pair(&sim, 15, NULL);
    impair_both(&sim, (struct sim_impair){.loss_ppm = 30000, .delay_ms = 2});
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    size_t total = 256 * 1024;
    uint8_t *a = malloc(total), *b = malloc(total), *ra = malloc(total), *rb = malloc(total);
    fill_pattern(a, total, 1);
    fill_pattern(b, total, 2);
    size_t sa = 0, sb = 0, ga = 0, gb = 0;
    struct net *na = sim.node[0].net, *nb = sim.node[1].net;
    for (int round = 0; round < 100000 && (ga < total || gb < total); round++) {
        int r;
        if (sa < total && (r = tcp_send(na, c.csock, a + sa, total - sa)) > 0)
            sa += (size_t) r;
        if (sb < total && (r = tcp_send(nb, c.ssock, b + sb, total - sb)) > 0)
            sb += (size_t) r;
        while (ga < total && (r = tcp_recv(nb, c.ssock, ra + ga, total - ga)) > 0)
            ga += (size_t) r;
        while (gb < total && (r = tcp_recv(na, c.csock, rb + gb, total - gb)) > 0)
            gb += (size_t) r;
        sim_advance(&sim, 5);
    }
    if (ga != total || gb != total) {
        struct net_tcp_info i0[4], i1[4];
        net_tcp_list(na, i0, 4);
        net_tcp_list(nb, i1, 4);
        printf("# a err %d state %s sendq %u recvq %u wnd %u cwnd %u rto %u; sa %zu gb %zu\n",
               sock_error(na, c.csock), tcp_state_name(i0[0].state), i0[0].sendq, i0[0].recvq,
               i0[0].snd_wnd, i0[0].cwnd, i0[0].rto_ms, sa, gb);
        printf("# b err %d state %s sendq %u recvq %u wnd %u cwnd %u rto %u; sb %zu ga %zu\n",
               sock_error(nb, c.ssock), tcp_state_name(i1[1].state), i1[1].sendq, i1[1].recvq,
               i1[1].snd_wnd, i1[1].cwnd, i1[1].rto_ms, sb, ga);
    }
    CHECK_EQ_UINT(ga, total);
    CHECK_EQ_UINT(gb, total);
    CHECK(memcmp(a, ra, total) == 0);
    CHECK(memcmp(b, rb, total) == 0);
    free(a);
    free(b);
    free(ra);
    free(rb);
    CHECK_EQ_UINT(sim.bad_frames, 0);
    sim_destroy(&sim);
}

TEST(small_reads_and_window_updates) {
    struct sim sim;
    sim_pair(&sim, 16, NULL);
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    struct xfer x = {.snet = sim.node[0].net, .rnet = sim.node[1].net, .ssock = c.csock,
                     .rsock = c.ssock, .total = 300000, .rchunk = 97};
    CHECK(xfer_run(&sim, &x, 600000));
    CHECK_EQ_UINT(sim.bad_frames, 0);
    sim_destroy(&sim);
}

/* ---- fast retransmit and RTO ------------------------------------------------------------ */
struct drop_one {
    uint32_t seq_offset; /* drop the first data segment at iss + 1 + offset */
    uint32_t iss;
    bool have_iss, dropped;
    uint64_t sent_at[64];
    unsigned nsent;       /* transmissions of that segment */
};

static bool tap_drop_one(struct sim *sim, int from, uint8_t *f, size_t len, void *arg) {
    (void) sim;
    struct drop_one *d = arg;
    struct pkt p = parse_pkt(f, len);
    if (from != 0 || !p.ip || p.proto != 6)
        return true;
    if (p.flags & T_SYN) {
        d->iss = p.seq;
        d->have_iss = true;
        return true;
    }
    if (d->have_iss && p.dlen && p.seq == d->iss + 1 + d->seq_offset) {
        if (d->nsent < 64)
            d->sent_at[d->nsent] = sim->now;
        d->nsent++;
        if (!d->dropped) {
            d->dropped = true;
            return false;
        }
    }
    return true;
}

TEST(fast_retransmit_after_three_dup_acks) {
    struct sim sim;
    sim_pair(&sim, 20, NULL);
    struct drop_one d = {.seq_offset = 1460 * 20};
    sim.tap = tap_drop_one;
    sim.tap_arg = &d;
    impair_both(&sim, (struct sim_impair){.delay_ms = 5});
    CHECK(transfer(&sim, 200000, false, 600000));
    CHECK(d.dropped);
    CHECK_EQ_UINT(d.nsent, 2);
    struct net_stats st = sim_stats(&sim.node[0]);
    CHECK_EQ_UINT(st.tcp_fast_retransmits, 1);
    CHECK_EQ_UINT(st.tcp_rto_expiries, 0);
    /* The hole was repaired within a few RTTs (10 ms), not an RTO. */
    CHECK(d.sent_at[1] - d.sent_at[0] < 100);
    sim_destroy(&sim);
}

struct blackhole {
    bool active;
    uint64_t times[64];
    unsigned n;
};

static bool tap_blackhole(struct sim *sim, int from, uint8_t *f, size_t len, void *arg) {
    struct blackhole *b = arg;
    struct pkt p = parse_pkt(f, len);
    if (!b->active)
        return true;
    if (from == 0 && p.ip && p.proto == 6 && p.dlen && b->n < 64)
        b->times[b->n++] = sim->now;
    return false;
}

TEST(rto_backs_off_then_user_timeout) {
    struct sim sim;
    sim_pair(&sim, 21, NULL);
    struct blackhole b = {0};
    sim.tap = tap_blackhole;
    sim.tap_arg = &b;
    impair_both(&sim, (struct sim_impair){.delay_ms = 10});
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    struct net *na = sim.node[0].net;
    /* A few exchanges to get an RTT estimate (20 ms). */
    for (int i = 0; i < 5; i++) {
        char buf[100];
        CHECK_EQ_INT(tcp_send(na, c.csock, "ping", 4), 4);
        sim_advance(&sim, 100);
        CHECK_EQ_INT(tcp_recv(sim.node[1].net, c.ssock, buf, sizeof(buf)), 4);
    }
    struct net_tcp_info info[4];
    CHECK_EQ_UINT(net_tcp_list(na, info, 4), 1);
    /* 20 ms, plus the delayed ACKs of the pings and the ARP exchange before the SYN */
    CHECK(info[0].srtt_ms >= 20 && info[0].srtt_ms <= 60);
    CHECK_EQ_UINT(info[0].rto_ms, 200); /* the floor */
    b.active = true;
    CHECK_EQ_INT(tcp_send(na, c.csock, "lost", 4), 4);
    sim_advance(&sim, 400000);
    /* First send + 8 retransmissions, each interval twice the last (<= 60 s). */
    CHECK_EQ_UINT(b.n, 9);
    uint64_t expect = 200;
    for (unsigned i = 1; i < b.n; i++) {
        CHECK_EQ_UINT(b.times[i] - b.times[i - 1], expect);
        expect = expect * 2 > 60000 ? 60000 : expect * 2;
    }
    CHECK_EQ_INT(sock_error(na, c.csock), ERR_TIMEOUT);
    int ev = sock_events(na, c.csock);
    CHECK(ev & NET_EV_ERROR);
    CHECK(ev & NET_EV_HUP);
    CHECK_EQ_INT(tcp_send(na, c.csock, "x", 1), ERR_TIMEOUT);
    CHECK_EQ_INT(tcp_recv(na, c.csock, info, 1), ERR_TIMEOUT);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).tcp_timeouts, 1);
    CHECK_EQ_INT(tcp_close(na, c.csock), OK);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).tcp_conns, 0);
    sim_destroy(&sim);
}

/* ---- zero window --------------------------------------------------------------------------- */
struct wnd_tap {
    unsigned drop_updates; /* drop this many of the receiver's pure ACKs with a window > 0 */
    unsigned dropped;
    unsigned zero_wnd_acks, probes;
};

static bool tap_window(struct sim *sim, int from, uint8_t *f, size_t len, void *arg) {
    (void) sim;
    struct wnd_tap *w = arg;
    struct pkt p = parse_pkt(f, len);
    if (!p.ip || p.proto != 6)
        return true;
    if (from == 1 && p.wnd == 0 && !(p.flags & T_SYN))
        w->zero_wnd_acks++;
    if (from == 0 && p.dlen == 1)
        w->probes++;
    if (from == 1 && w->drop_updates && p.dlen == 0 && p.wnd > 0) {
        w->drop_updates--;
        w->dropped++;
        return false;
    }
    return true;
}

TEST(zero_window_persist_then_open) {
    struct sim sim;
    sim_pair(&sim, 22, NULL);
    struct wnd_tap w = {0};
    sim.tap = tap_window;
    sim.tap_arg = &w;
    impair_both(&sim, (struct sim_impair){.delay_ms = 1});
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    struct xfer x = {.snet = sim.node[0].net, .rnet = sim.node[1].net, .ssock = c.csock,
                     .rsock = c.ssock, .total = 200000, .reader_paused = true};
    uint8_t *src = malloc(x.total), *dst = malloc(x.total + 1);
    fill_pattern(src, x.total, 7);
    x.src = src;
    x.dst = dst;
    /* The reader sleeps: the sender fills the 32 KiB window and then probes. */
    sim_run(&sim, 30000, pump_xfer, &x);
    CHECK_EQ_UINT(x.recvd, 0);
    CHECK(w.zero_wnd_acks > 0);
    struct net_stats st = sim_stats(&sim.node[0]);
    CHECK(st.tcp_persist_probes >= 3);
    CHECK_EQ_UINT(st.tcp_timeouts, 0);
    CHECK_EQ_INT(sock_error(sim.node[0].net, c.csock), OK);
    /* The receiver wakes, but its window update is lost: a probe finds
     * the open window. */
    w.drop_updates = 1;
    x.reader_paused = false;
    x.rchunk = 65536; /* one read, one window update */
    xfer_read(&x);
    CHECK(x.recvd == 32768);
    uint64_t probes_before = sim_stats(&sim.node[0]).tcp_persist_probes;
    CHECK(sim_run(&sim, 600000, pump_xfer, &x));
    CHECK_EQ_UINT(w.dropped, 1);
    CHECK(sim_stats(&sim.node[0]).tcp_persist_probes > probes_before);
    CHECK_EQ_UINT(x.recvd, x.total);
    CHECK(memcmp(src, dst, x.total) == 0);
    free(src);
    free(dst);
    CHECK_EQ_UINT(sim.bad_frames, 0);
    sim_destroy(&sim);
}

TEST(zero_window_held_for_minutes_survives) {
    struct sim sim;
    sim_pair(&sim, 23, NULL);
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    static uint8_t buf[100000];
    int n = tcp_send(sim.node[0].net, c.csock, buf, sizeof(buf));
    CHECK_EQ_INT(n, 65536);
    sim_advance(&sim, 10 * 60 * 1000);
    /* Probes were answered all along: no timeout, and at most one a
     * second (TCP_PERSIST_MAX_MS). */
    CHECK_EQ_INT(sock_error(sim.node[0].net, c.csock), OK);
    uint64_t probes = sim_stats(&sim.node[0]).tcp_persist_probes;
    CHECK(probes >= 590 && probes <= 601);
    uint8_t rbuf[4096];
    size_t got = 0;
    for (int i = 0; i < 1000 && got < 65536; i++) {
        int r = tcp_recv(sim.node[1].net, c.ssock, rbuf, sizeof(rbuf));
        if (r > 0)
            got += (size_t) r;
        else
            sim_advance(&sim, 50);
    }
    CHECK_EQ_UINT(got, 65536);
    sim_destroy(&sim);
}

/* ---- sequence numbers near 2^32 ------------------------------------------------------------- */
static void wrap_pair(struct sim *sim, uint64_t seed) {
    sim_pair(sim, seed, NULL);
    sim->node[0].fixed_random = 0xffffff00u;
    sim->node[1].fixed_random = 0xfffff000u;
}

TEST(sequence_wraparound) {
    struct sim sim;
    wrap_pair(&sim, 30);
    sim.capture = true;
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    struct pkt syn = {0};
    for (unsigned i = 0; i < sim.ncap && !syn.flags; i++) {
        syn = parse_pkt(sim.cap[i], sim.cap_len[i]);
        if (!syn.ip || syn.proto != 6)
            syn.flags = 0;
    }
    CHECK(syn.flags & T_SYN);
    CHECK_EQ_UINT(syn.seq, 0xffffff00u);
    sim.capture = false;
    sim_clear_capture(&sim);
    struct xfer x = {.snet = sim.node[0].net, .rnet = sim.node[1].net, .ssock = c.csock,
                     .rsock = c.ssock, .total = 300000};
    CHECK(xfer_run(&sim, &x, 600000));
    /* and back the other way, past the server's wrap */
    struct xfer y = {.snet = sim.node[1].net, .rnet = sim.node[0].net, .ssock = c.ssock,
                     .rsock = c.csock, .total = 300000, .close_when_sent = true};
    CHECK(xfer_run(&sim, &y, 600000));
    sim_destroy(&sim);
}

TEST(sequence_wraparound_with_loss_and_reordering) {
    struct sim sim;
    wrap_pair(&sim, 31);
    impair_both(&sim, (struct sim_impair){.loss_ppm = 50000, .reorder_ppm = 100000,
                                          .reorder_ms = 5, .dup_ppm = 20000, .delay_ms = 1});
    CHECK(transfer(&sim, 512 * 1024, true, 3600000));
    CHECK(sim_stats(&sim.node[1]).tcp_ooo_segments > 0);
    CHECK_EQ_UINT(sim.bad_frames, 0);
    sim_destroy(&sim);
}

TEST(mss_of_peer_is_respected) {
    struct sim sim;
    sim_pair(&sim, 32, NULL);
    sim.node[1].imp.delay_ms = 5;
    struct conn c;
    c.lsock = tcp_listen(sim.node[1].net, 80, 4);
    c.ssock = 0;
    c.csock = tcp_connect(sim.node[0].net, NET_IP(10, 0, 0, 2), 80);
    CHECK(c.csock > 0);
    /* The SYN-ACK waits 5 ms in the link, where its MSS option is
     * rewritten to 536. */
    bool patched = false;
    for (int ms = 0; ms < 50 && !patched; ms++) {
        sim_advance(&sim, 1);
        for (size_t i = 0; i < sim.qlen; i++) {
        struct sim_frame *f = &sim.q[i];
        struct pkt p = parse_pkt(f->data, f->len);
        if (p.ip && p.proto == 6 && (p.flags & (T_SYN | T_ACK)) == (T_SYN | T_ACK) && p.mss) {
            uint8_t *t = f->data + 34;
            wr16(t + 22, 536);
            wr16(t + 16, 0);
            wr16(t + 16, t_fold(t_sum(t_pseudo(p.src, p.dst, 6, (uint16_t) p.l4len), t,
                                      p.l4len)));
            patched = true;
        }
        }
    }
    CHECK(patched);
    CHECK(sim_run(&sim, 10000, pump_connected, &c));
    sim.capture = true;
    struct xfer x = {.snet = sim.node[0].net, .rnet = sim.node[1].net, .ssock = c.csock,
                     .rsock = c.ssock, .total = 20000};
    CHECK(xfer_run(&sim, &x, 60000));
    size_t biggest = 0;
    for (unsigned i = 0; i < sim.ncap; i++) {
        struct pkt p = parse_pkt(sim.cap[i], sim.cap_len[i]);
        if (sim.cap_from[i] == 0 && p.ip && p.proto == 6 && p.dlen > biggest)
            biggest = p.dlen;
    }
    CHECK_EQ_UINT(biggest, 536);
    /* and the other way the client's 1460 holds */
    struct xfer y = {.snet = sim.node[1].net, .rnet = sim.node[0].net, .ssock = c.ssock,
                     .rsock = c.csock, .total = 20000};
    sim_clear_capture(&sim);
    CHECK(xfer_run(&sim, &y, 60000));
    biggest = 0;
    for (unsigned i = 0; i < sim.ncap; i++) {
        struct pkt p = parse_pkt(sim.cap[i], sim.cap_len[i]);
        if (sim.cap_from[i] == 1 && p.ip && p.proto == 6 && p.dlen > biggest)
            biggest = p.dlen;
    }
    CHECK_EQ_UINT(biggest, 1460);
    sim_destroy(&sim);
}

/* ---- request/response soak: every close order, under loss ------------------------------------ */
#define RR_CONNS 30

/* mode 0: the client closes first; 1: the server closes right after its
 * response (with the response still queued); 2: both shut down writing
 * as soon as they are done, then close on EOF. */
struct rr_cli {
    int sock, mode;
    size_t req_len, resp_len, sent, got;
    uint8_t *req, *resp;
    bool closed, ok;
};

struct rr_srv {
    int sock, idx;
    uint8_t hdr[8];
    size_t hdr_got, body_got, resp_sent;
    bool shut, closed;
};

struct rr {
    int lsock;
    struct rr_cli cli[RR_CONNS];
    struct rr_srv srv[RR_CONNS];
    int nsrv, done;
    error_t err;
};

static void rr_client(struct net *n, struct rr *r, struct rr_cli *c) {
    int k;
    r->done += c->closed;
    if (c->closed || !(sock_events(n, c->sock) & NET_EV_CONNECTED))
        return;
    if (c->sent < c->req_len && (k = tcp_send(n, c->sock, c->req + c->sent,
                                                c->req_len - c->sent)) > 0)
        c->sent += (size_t) k;
    uint8_t buf[4096];
    while ((k = tcp_recv(n, c->sock, buf, sizeof(buf))) > 0) {
        for (int i = 0; i < k; i++) {
            if (c->got >= c->resp_len || buf[i] != c->resp[c->got])
                r->err = ERR_CORRUPT;
            c->got++;
        }
    }
    if (k != ERR_WOULD_BLOCK && k != ERR_EOF)
        r->err = k;
    bool complete = c->got == c->resp_len;
    if (complete && c->mode == 0) {
        tcp_close(n, c->sock);
        c->closed = c->ok = true;
    } else if (complete && c->mode == 2 && tcp_shutdown_write(n, c->sock) == OK && k == ERR_EOF) {
        tcp_close(n, c->sock);
        c->closed = c->ok = true;
    } else if (complete && c->mode == 1 && k == ERR_EOF) {
        tcp_close(n, c->sock);
        c->closed = c->ok = true;
    }
}

static void rr_server(struct net *n, struct rr *r, struct rr_srv *s) {
    if (s->closed)
        return;
    int k;
    while (s->hdr_got < 8 && (k = tcp_recv(n, s->sock, s->hdr + s->hdr_got, 8 - s->hdr_got)) > 0)
        s->hdr_got += (size_t) k;
    if (s->hdr_got < 8)
        return;
    s->idx = (int) rd32(s->hdr);
    struct rr_cli *c = &r->cli[s->idx % RR_CONNS];
    uint8_t buf[4096];
    while (s->body_got < c->req_len - 8 &&
           (k = tcp_recv(n, s->sock, buf, MIN(sizeof(buf), c->req_len - 8 - s->body_got))) > 0) {
        for (int i = 0; i < k; i++) {
            if (buf[i] != c->req[8 + s->body_got + (size_t) i])
                r->err = ERR_CORRUPT;
        }
        s->body_got += (size_t) k;
    }
    if (s->body_got < c->req_len - 8)
        return;
    if (s->resp_sent < c->resp_len &&
        (k = tcp_send(n, s->sock, c->resp + s->resp_sent, c->resp_len - s->resp_sent)) > 0)
        s->resp_sent += (size_t) k;
    if (s->resp_sent < c->resp_len)
        return;
    if (c->mode == 1) {
        tcp_close(n, s->sock);
        s->closed = true;
        return;
    }
    if (c->mode == 2 && !s->shut) {
        tcp_shutdown_write(n, s->sock);
        s->shut = true;
    }
    if (tcp_recv(n, s->sock, buf, 1) == ERR_EOF) {
        tcp_close(n, s->sock);
        s->closed = true;
    }
}

static bool pump_rr(struct sim *sim, void *arg) {
    struct rr *r = arg;
    struct net *a = sim->node[0].net, *b = sim->node[1].net;
    int s;
    while (r->nsrv < RR_CONNS && (s = tcp_accept(b, r->lsock)) > 0)
        r->srv[r->nsrv++] = (struct rr_srv){.sock = s};
    for (int i = 0; i < r->nsrv; i++)
        rr_server(b, r, &r->srv[i]);
    r->done = 0;
    for (int i = 0; i < RR_CONNS; i++)
        rr_client(a, r, &r->cli[i]);
    int srv_closed = 0;
    for (int i = 0; i < r->nsrv; i++)
        srv_closed += r->srv[i].closed;
    return r->err || (r->done == RR_CONNS && srv_closed == RR_CONNS);
}

TEST(request_response_soak_under_loss) {
    struct sim sim;
    sim_pair(&sim, 40, NULL);
    impair_both(&sim, (struct sim_impair){.loss_ppm = 100000, .reorder_ppm = 50000,
                                          .reorder_ms = 4, .dup_ppm = 30000, .delay_ms = 2});
    static struct rr r;
    memset(&r, 0, sizeof(r));
    r.lsock = tcp_listen(sim.node[1].net, 80, 64);
    uint32_t x = 12345;
    for (int i = 0; i < RR_CONNS; i++) {
        struct rr_cli *c = &r.cli[i];
        x = x * 1103515245u + 12345;
        c->mode = i % 3;
        c->req_len = 8 + (x >> 8) % 20000;
        c->resp_len = (x >> 3) % 70000;
        c->req = malloc(c->req_len);
        c->resp = malloc(c->resp_len + 1);
        fill_pattern(c->req, c->req_len, (uint32_t) i);
        fill_pattern(c->resp, c->resp_len, (uint32_t) i + 1000);
        wr32(c->req, (uint32_t) i);
        c->sock = tcp_connect(sim.node[0].net, NET_IP(10, 0, 0, 2), 80);
        CHECK(c->sock > 0);
    }
    bool ok = sim_run(&sim, 3600000, pump_rr, &r);
    if (!ok) {
        printf("# nsrv %d done %d now %llu steps %llu\n", r.nsrv, r.done,
               (unsigned long long) sim.now, (unsigned long long) sim.steps);
        for (int i = 0; i < RR_CONNS; i++)
            printf("# cli %d mode %d sent %zu/%zu got %zu/%zu closed %d err %d\n", i,
                   r.cli[i].mode, r.cli[i].sent, r.cli[i].req_len, r.cli[i].got,
                   r.cli[i].resp_len, r.cli[i].closed, sock_error(sim.node[0].net, r.cli[i].sock));
        for (int i = 0; i < r.nsrv; i++)
            printf("# srv %d idx %d body %zu resp %zu closed %d\n", i, r.srv[i].idx,
                   r.srv[i].body_got, r.srv[i].resp_sent, r.srv[i].closed);
    }
    CHECK_EQ_INT(r.err, OK);
    CHECK(ok);
    for (int i = 0; i < RR_CONNS; i++) {
        CHECK(r.cli[i].ok);
        free(r.cli[i].req);
        free(r.cli[i].resp);
    }
    /* Every lingering connection ends: only the listener is left. */
    sim_advance(&sim, 600000);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).sockets, 0);
    CHECK_EQ_UINT(sim_stats(&sim.node[1]).sockets, 1);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).tcp_timeouts + sim_stats(&sim.node[1]).tcp_timeouts, 0);
    printf("# soak: %llu + %llu retransmits\n",
           (unsigned long long) sim_stats(&sim.node[0]).tcp_retransmits,
           (unsigned long long) sim_stats(&sim.node[1]).tcp_retransmits);
    sim_destroy(&sim);
}
