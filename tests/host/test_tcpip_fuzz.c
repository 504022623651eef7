/*
 * Robustness of the TCP/IP core (servers/tcpip) under ASan/UBSan: 100,000
 * random and mutated frames (fixed seed) fed to cores that are busy with
 * real traffic, a DHCP client, and random sequences of API calls with good,
 * stale and nonsense socket ids. Nothing may crash or leak, the tables must
 * stay within their bounds, every frame the cores send must still be
 * well formed, and the real connection must still work afterwards.
 */
#include "check.h"

#include "tcpip_sim.h"

#define FUZZ_FRAMES 100000
#define CORPUS_MAX  512

struct corpus {
    uint8_t *f[CORPUS_MAX];
    size_t len[CORPUS_MAX];
    int to[CORPUS_MAX];
    unsigned n;
};

static uint64_t fz_state;

static uint32_t fz(void) {
    fz_state ^= fz_state << 13;
    fz_state ^= fz_state >> 7;
    fz_state ^= fz_state << 17;
    return (uint32_t) (fz_state >> 11);
}

static void corpus_add(struct corpus *c, const uint8_t *f, size_t len, int to) {
    if (c->n == CORPUS_MAX)
        return;
    c->f[c->n] = malloc(len);
    memcpy(c->f[c->n], f, len);
    c->len[c->n] = len;
    c->to[c->n++] = to;
}

static void corpus_free(struct corpus *c) {
    for (unsigned i = 0; i < c->n; i++)
        free(c->f[i]);
    c->n = 0;
}

/* Recompute the IPv4 and transport checksums so a mutation gets past them. */
static void fix_checksums(uint8_t *f, size_t len) {
    if (len < 34 || rd16(f + 12) != 0x0800 || (f[14] & 0x0f) != 5)
        return;
    uint8_t *ip = f + 14;
    fix_ip_checksum(f);
    size_t total = rd16(ip + 2);
    if (total < 20 || total > len - 14)
        return;
    uint8_t *l4 = ip + 20;
    uint16_t l4len = (uint16_t) (total - 20);
    uint32_t src = rd32(ip + 12), dst = rd32(ip + 16);
    if (ip[9] == 1 && l4len >= 8) {
        wr16(l4 + 2, 0);
        wr16(l4 + 2, t_fold(t_sum(0, l4, l4len)));
    } else if (ip[9] == 17 && l4len >= 8) {
        wr16(l4 + 6, 0);
        wr16(l4 + 6, t_fold(t_sum(t_pseudo(src, dst, 17, l4len), l4, l4len)));
    } else if (ip[9] == 6 && l4len >= 20) {
        wr16(l4 + 16, 0);
        wr16(l4 + 16, t_fold(t_sum(t_pseudo(src, dst, 6, l4len), l4, l4len)));
    }
}

static size_t mutate(uint8_t *f, size_t len, size_t cap) {
    unsigned n = 1 + fz() % 6;
    for (unsigned i = 0; i < n; i++) {
        switch (fz() % 9) {
        case 0: /* flip a bit */
        case 1:
            if (len)
                f[fz() % len] ^= (uint8_t) (1u << (fz() % 8));
            break;
        case 2: /* a random byte */
            if (len)
                f[fz() % len] = (uint8_t) fz();
            break;
        case 3: /* an interesting byte in the headers */
            if (len > 14) {
                static const uint8_t vals[] = {0, 1, 0x7f, 0x80, 0xff, 0x45, 0x46, 0x4f, 0x50,
                                               0xf0, 0x02, 0x12, 0x11, 0x14, 0x04};
                f[14 + fz() % (len - 14 < 60 ? len - 14 : 60)] = vals[fz() % sizeof(vals)];
            }
            break;
        case 4: /* truncate */
            if (len)
                len = fz() % (len + 1);
            break;
        case 5: /* extend with garbage */ {
            size_t add = fz() % 64;
            if (len + add > cap)
                add = cap - len;
            for (size_t j = 0; j < add; j++)
                f[len + j] = (uint8_t) fz();
            len += add;
            break;
        }
        case 6: /* a 16-bit field: lengths, ports, windows */
            if (len >= 16) {
                size_t at = 14 + fz() % (len - 15);
                static const uint16_t vals[] = {0, 1, 7, 8, 19, 20, 21, 39, 40, 0x7fff, 0xffff,
                                                0x2000, 0x1fff, 0x4000, 536, 1460, 1500};
                wr16(f + at, vals[fz() % (sizeof(vals) / sizeof(vals[0]))]);
            }
            break;
        case 7: /* a 32-bit field: addresses, sequence numbers */
            if (len >= 18) {
                size_t at = 14 + fz() % (len - 17);
                wr32(f + at, rd32(f + at) + (fz() % 3 == 0 ? fz() : fz() % 70000 - 35000));
            }
            break;
        default: /* swap two bytes */
            if (len >= 2) {
                size_t a = fz() % len, b = fz() % len;
                uint8_t t = f[a];
                f[a] = f[b];
                f[b] = t;
            }
            break;
        }
    }
    if (fz() % 10 < 7)
        fix_checksums(f, len);
    return len;
}

/* Node 0 (10.0.0.1) has a UDP socket and a TCP connection to node 1
 * (10.0.0.2), which also listens on port 80. Node 2 is a DHCP client. */
struct world {
    struct sim sim;
    struct conn c;
    int udp;
    uint32_t dhcp_xid;
};

static void world_build(struct world *w, struct corpus *corpus, uint64_t seed) {
    struct sim *sim = &w->sim;
    sim_pair(sim, seed, NULL);
    sim_add(sim, NULL);
    sim->capture = true;
    CHECK(conn_open(sim, 80, &w->c));
    w->udp = udp_open(sim->node[0].net, 53);
    int pu = udp_open(sim->node[1].net, 0);
    CHECK_EQ_INT(udp_sendto(sim->node[1].net, pu, NET_IP(10, 0, 0, 1), 53, "query", 5), 5);
    CHECK_EQ_INT(net_ping(sim->node[1].net, NET_IP(10, 0, 0, 1), 1, 1, 32), OK);
    CHECK_EQ_INT(net_ping(sim->node[0].net, NET_IP(10, 0, 0, 2), 2, 2, 32), OK);
    static uint8_t data[20000];
    CHECK(tcp_send(sim->node[0].net, w->c.csock, data, sizeof(data)) > 0);
    CHECK(tcp_send(sim->node[1].net, w->c.ssock, data, 3000) > 0);
    CHECK_EQ_INT(net_dhcp_start(sim->node[2].net), OK);
    sim_advance(sim, 200);
    /* Everything on the wire so far is the corpus, each frame aimed at
     * the node that did not send it (DHCP at node 2). */
    for (unsigned i = 0; i < sim->ncap; i++) {
        struct pkt p = parse_pkt(sim->cap[i], sim->cap_len[i]);
        if (p.ip && p.proto == 17 && p.dport == 67)
            w->dhcp_xid = rd32(p.data + 4);
        corpus_add(corpus, sim->cap[i], sim->cap_len[i], sim->cap_from[i] == 0 ? 1 : 0);
    }
    /* plus a DHCP OFFER and ACK for node 2 */
    uint8_t msg[300], f[400];
    for (int type = 2; type <= 6; type += 3) {
        memset(msg, 0, sizeof(msg));
        msg[0] = 2;
        msg[1] = 1;
        msg[2] = 6;
        wr32(msg + 4, w->dhcp_xid);
        wr32(msg + 16, NET_IP(10, 0, 0, 50));
        memcpy(msg + 28, sim->node[2].mac, 6);
        wr32(msg + 236, 0x63825363);
        static const uint8_t opts[] = {53, 1, 0, 54, 4, 10, 0, 0, 9, 51, 4, 0, 0, 0, 60,
                                       1,  4, 255, 255, 255, 0, 3, 4, 10, 0, 0, 9, 6, 8, 1,
                                       1,  1, 1, 8, 8, 8, 8, 58, 4, 0, 0, 0, 30, 255};
        memcpy(msg + 240, opts, sizeof(opts));
        msg[242] = (uint8_t) type;
        size_t n = build_udp(f, BCAST_MAC, PEER_MAC, NET_IP(10, 0, 0, 9), 67, 0xffffffffu, 68,
                             msg, sizeof(msg));
        corpus_add(corpus, f, n, 2);
    }
    sim->capture = false;
    sim_clear_capture(sim);
}

static void check_bounds(struct world *w) {
    for (int i = 0; i < 3; i++) {
        struct net_arp_entry e[128];
        CHECK(net_arp_list(w->sim.node[i].net, e, 128) <= 64);
        struct net_stats st = sim_stats(&w->sim.node[i]);
        CHECK(st.sockets <= 128);
        size_t queued = 0, n = net_arp_list(w->sim.node[i].net, e, 128);
        for (size_t j = 0; j < n; j++)
            queued += e[j].queued;
        CHECK(queued <= 32);
    }
}

TEST(hundred_thousand_mutated_frames) {
    static struct world w;
    static struct corpus corpus;
    memset(&w, 0, sizeof(w));
    fz_state = 0x5eed1234abcdull;
    if (getenv("TCPIP_TEST_SEED"))
        fz_state += strtoull(getenv("TCPIP_TEST_SEED"), NULL, 0) * 0x9E3779B97F4A7C15ull;
    world_build(&w, &corpus, 1);
    CHECK(corpus.n > 20);
    static uint8_t f[2048];
    for (unsigned i = 0; i < FUZZ_FRAMES; i++) {
        size_t len;
        int to;
        if (fz() % 10 == 0) {
            /* pure garbage, but often with a plausible Ethernet header */
            len = fz() % 1600;
            for (size_t j = 0; j < len; j++)
                f[j] = (uint8_t) fz();
            to = (int) (fz() % 3);
            if (len >= 14 && fz() % 2) {
                memcpy(f, w.sim.node[to].mac, 6);
                wr16(f + 12, fz() % 2 ? 0x0800 : 0x0806);
                if (len > 14)
                    f[14] = 0x45;
                fix_checksums(f, len);
            }
        } else {
            unsigned k = fz() % corpus.n;
            len = corpus.len[k];
            memcpy(f, corpus.f[k], len);
            to = corpus.to[k];
            len = mutate(f, len, sizeof(f));
        }
        net_input(w.sim.node[to].net, f, len);
        if (i % 500 == 0) {
            sim_advance(&w.sim, fz() % 3000);
            check_bounds(&w);
        }
    }
    struct net_stats st = sim_stats(&w.sim.node[0]);
    printf("# target: %llu frames in, %llu out; tcp_bad %llu ip_bad_checksum %llu "
           "resets out %llu, arp_bad %llu\n",
           (unsigned long long) st.frames_in, (unsigned long long) st.frames_out,
           (unsigned long long) st.tcp_bad, (unsigned long long) st.ip_bad_checksum,
           (unsigned long long) st.tcp_resets_out, (unsigned long long) st.arp_bad);
    printf("# dhcp client: bad %llu ignored %llu\n",
           (unsigned long long) sim_stats(&w.sim.node[2]).dhcp_bad,
           (unsigned long long) sim_stats(&w.sim.node[2]).dhcp_ignored);
    CHECK(st.frames_in >= FUZZ_FRAMES / 3);
    check_bounds(&w);
    /* The cores still work: a fresh connection carries data intact. */
    sim_advance(&w.sim, 200000); /* let every timer run out */
    net_set_static(w.sim.node[0].net, NET_IP(10, 0, 0, 1), NET_IP(255, 255, 255, 0), 0);
    net_set_static(w.sim.node[1].net, NET_IP(10, 0, 0, 2), NET_IP(255, 255, 255, 0), 0);
    struct conn c2;
    c2.lsock = tcp_listen(w.sim.node[1].net, 8080, 4);
    c2.ssock = 0;
    c2.csock = tcp_connect(w.sim.node[0].net, NET_IP(10, 0, 0, 2), 8080);
    CHECK(c2.lsock > 0 && c2.csock > 0);
    bool connected = sim_run(&w.sim, 120000, pump_connected, &c2);
    if (!connected) {
        struct net_tcp_info info[130];
        for (int n = 0; n < 2; n++) {
            size_t cnt = net_tcp_list(w.sim.node[n].net, info, 130);
            struct net_stats st = sim_stats(&w.sim.node[n]);
            printf("# node %d: %zu tcp sockets, %llu slots used, listen drops %llu\n", n, cnt,
                   (unsigned long long) st.sockets, (unsigned long long) st.tcp_listen_drops);
            for (size_t i = 0; i < cnt && i < 8; i++)
                printf("#   %s %u -> %u sock %d\n", tcp_state_name(info[i].state),
                       info[i].addr.local_port, info[i].addr.remote_port, info[i].sock);
        }
    }
    CHECK(connected);
    struct xfer x = {.snet = w.sim.node[0].net, .rnet = w.sim.node[1].net, .ssock = c2.csock,
                     .rsock = c2.ssock, .total = 100000, .close_when_sent = true};
    CHECK(xfer_run(&w.sim, &x, 600000));
    corpus_free(&corpus);
    sim_destroy(&w.sim);
}

/* Random API calls with random arguments between two cores. */
TEST(random_api_calls) {
    struct sim sim;
    struct net_params p;
    net_params_default(&p);
    p.max_sockets = 24;
    p.tcp_sndbuf = 4096;
    p.tcp_rcvbuf = 2048;
    sim_pair(&sim, 2, &p);
    sim.node[0].imp = (struct sim_impair){.loss_ppm = 100000, .dup_ppm = 50000,
                                          .reorder_ppm = 100000, .reorder_ms = 3,
                                          .delay_ms = 1};
    sim.node[1].imp = sim.node[0].imp;
    fz_state = 0xfeedfaceull;
    if (getenv("TCPIP_TEST_SEED"))
        fz_state += strtoull(getenv("TCPIP_TEST_SEED"), NULL, 0) * 0x9E3779B97F4A7C15ull;
    int ids[2][64];
    unsigned nids[2] = {0, 0};
    static uint8_t buf[8192];
    for (unsigned step = 0; step < 40000; step++) {
        int side = (int) (fz() % 2);
        struct net *n = sim.node[side].net;
        int id;
        unsigned r = fz() % 100;
        if (nids[side] && r < 85)
            id = ids[side][fz() % nids[side]];
        else if (r < 95)
            id = (int) (fz() % 0x10000);
        else
            id = -(int) (fz() % 0x40000000);
        int res = 0;
        unsigned op = fz() % 14;
        switch (op) {
        case 0:
            res = tcp_listen(n, (uint16_t) (1 + fz() % 4), fz() % 5);
            break;
        case 1:
            res = tcp_connect(n, NET_IP(10, 0, 0, 1 + (fz() % 3)), (uint16_t) (1 + fz() % 4));
            break;
        case 2:
            res = tcp_accept(n, id);
            break;
        case 3:
        case 4:
            res = tcp_send(n, id, buf, fz() % sizeof(buf));
            break;
        case 5:
        case 6:
            res = tcp_recv(n, id, buf, fz() % sizeof(buf));
            break;
        case 7:
            res = tcp_shutdown_write(n, id);
            break;
        case 8:
            res = fz() % 4 ? tcp_close(n, id) : tcp_abort(n, id);
            break;
        case 9:
            res = udp_open(n, (uint16_t) (fz() % 3));
            break;
        case 10:
            res = udp_sendto(n, id, NET_IP(10, 0, 0, 1 + (fz() % 3)), (uint16_t) (fz() % 3), buf,
                             fz() % 1600);
            break;
        case 11:
            res = udp_recvfrom(n, id, buf, fz() % 100, NULL, NULL);
            break;
        case 12:
            res = fz() % 2 ? udp_close(n, id) : sock_events(n, id);
            break;
        default: {
            int ev_id;
            uint32_t ev;
            while (net_next_event(n, &ev_id, &ev))
                CHECK(sock_events(n, ev_id) >= 0);
            sim_advance(&sim, fz() % 500);
            break;
        }
        }
        bool gives_id = op <= 2 || op == 9;
        if (gives_id && res > 0) {
            if (nids[side] < 64)
                ids[side][nids[side]++] = res;
            else
                ids[side][fz() % 64] = res;
        }
        if (step % 1000 == 0)
            CHECK(sim_stats(&sim.node[side]).sockets <= 24);
    }
    struct net_tcp_info info[32];
    CHECK(net_tcp_list(sim.node[0].net, info, 32) <= 24);
    sim_advance(&sim, 400000);
    sim_destroy(&sim);
}
