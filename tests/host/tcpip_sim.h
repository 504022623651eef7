/*
 * Helpers for the TCP/IP core's host tests (test_tcpip_*.c): a simulated
 * Ethernet with a controllable clock, and frame builders and parsers.
 *
 * struct sim holds up to SIM_NODES cores (struct net) on one shared
 * segment: a frame one node sends reaches every other node (each core
 * filters by MAC) after the link's delay. Every frame a core sends is first
 * checked by sim_frame_check, an implementation of the IPv4, ICMP, UDP and
 * TCP checksums independent of the core's, so no test passes with a bad
 * checksum on the wire. Then the sender's impairments apply: drop the Nth
 * frame, drop / duplicate / corrupt / delay (reorder) at random with a seeded
 * generator, or a test's own tap. sim_run delivers frames and runs the
 * cores' timers in time order, jumping the clock to the next event, and
 * calls the test's pump after every step; the pump does the application's
 * work and says when it is done.
 *
 * Include after check.h.
 */
#pragma once

#include <string.h>

#include "../../servers/tcpip/net.h"

#define SIM_NODES      4
#define SIM_CAPTURE    4096
#define SIM_LOG_LINES  64
#define SIM_MAX_STEPS  20000000ull

struct sim;

struct sim_impair {
    unsigned loss_ppm;     /* drop a frame with this probability (per million) */
    unsigned dup_ppm;      /* deliver a frame twice */
    unsigned corrupt_ppm;  /* flip one byte of a frame */
    unsigned reorder_ppm;  /* hold a frame back by reorder_ms */
    unsigned reorder_ms;
    unsigned delay_ms;     /* one-way delay of every frame */
    uint64_t drop_nth[8];  /* drop the Nth frame this node sends (1-based, 0 = unused) */
};

struct sim_frame {
    uint64_t at, order;
    int to;
    size_t len;
    uint8_t *data;
};

struct sim_node {
    struct sim *sim;
    int idx;
    struct net *net;
    uint8_t mac[6];
    uint32_t rng;
    uint32_t (*random)(struct sim_node *n); /* overrides the generator if set */
    uint32_t fixed_random;
    uint64_t sent;          /* frames sent */
    struct sim_impair imp;
    char log[SIM_LOG_LINES][160];
    unsigned nlog;
};

struct sim {
    uint64_t now;
    int nnodes;
    struct sim_node node[SIM_NODES];
    struct sim_frame *q;
    size_t qlen, qcap;
    uint64_t order;
    uint64_t rng;
    uint64_t bad_frames;
    char bad_why[200];
    bool link_down;         /* drop everything */
    /* Called for each frame a node sends (after the check, before the
     * impairments); false drops it. May change the frame. */
    bool (*tap)(struct sim *sim, int from, uint8_t *frame, size_t len, void *arg);
    void *tap_arg;
    /* Frames sent, kept when capture is on (for single-node tests). */
    bool capture;
    uint8_t *cap[SIM_CAPTURE];
    size_t cap_len[SIM_CAPTURE];
    int cap_from[SIM_CAPTURE];
    unsigned ncap;
    uint64_t steps;
};

/* ---- byte order ------------------------------------------------------------------ */
static inline uint16_t rd16(const uint8_t *p) {
    return (uint16_t) ((p[0] << 8) | p[1]);
}
static inline uint32_t rd32(const uint8_t *p) {
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}
static inline void wr16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}
static inline void wr32(uint8_t *p, uint32_t v) {
    wr16(p, (uint16_t) (v >> 16));
    wr16(p + 2, (uint16_t) v);
}

/* ---- checksums, written separately from the core's ----------------------------------- */
static UNUSED uint32_t t_sum(uint32_t acc, const uint8_t *p, size_t len) {
    for (size_t i = 0; i + 1 < len; i += 2)
        acc += rd16(p + i);
    if (len & 1)
        acc += (uint32_t) p[len - 1] << 8;
    return acc;
}
static UNUSED uint16_t t_fold(uint32_t acc) {
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t) ~acc;
}
static UNUSED uint32_t t_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len) {
    uint8_t ph[12];
    wr32(ph, src);
    wr32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = proto;
    wr16(ph + 10, len);
    return t_sum(0, ph, 12);
}

/* Is a frame the core sent well formed with correct checksums? */
static UNUSED bool sim_frame_check(const uint8_t *f, size_t len, char *why, size_t whylen) {
#define BAD(...)                                  \
    do {                                          \
        snprintf(why, whylen, __VA_ARGS__);       \
        return false;                             \
    } while (0)
    if (len < 60 || len > 1514)
        BAD("frame length %zu", len);
    uint16_t type = rd16(f + 12);
    if (type == 0x0806) {
        const uint8_t *a = f + 14;
        if (rd16(a) != 1 || rd16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4 ||
            (rd16(a + 6) != 1 && rd16(a + 6) != 2))
            BAD("bad ARP");
        if (memcmp(a + 8, f + 6, 6) != 0)
            BAD("ARP sender MAC differs from the frame's");
        return true;
    }
    if (type != 0x0800)
        BAD("ethertype %#x", type);
    const uint8_t *ip = f + 14;
    if (ip[0] != 0x45)
        BAD("IP version/ihl %#x", ip[0]);
    uint16_t total = rd16(ip + 2);
    if (total < 20 || total > len - 14)
        BAD("IP total length %u in %zu", total, len);
    if (t_fold(t_sum(0, ip, 20)) != 0)
        BAD("IP header checksum");
    if (ip[8] != 64)
        BAD("TTL %u", ip[8]);
    if ((rd16(ip + 6) & 0x3fff) != 0)
        BAD("fragment bits %#x", rd16(ip + 6));
    uint32_t src = rd32(ip + 12), dst = rd32(ip + 16);
    const uint8_t *l4 = ip + 20;
    uint16_t l4len = (uint16_t) (total - 20);
    switch (ip[9]) {
    case 1:
        if (l4len < 8 || t_fold(t_sum(0, l4, l4len)) != 0)
            BAD("ICMP checksum");
        break;
    case 17:
        if (l4len < 8 || rd16(l4 + 4) != l4len)
            BAD("UDP length");
        if (rd16(l4 + 6) == 0 || t_fold(t_sum(t_pseudo(src, dst, 17, l4len), l4, l4len)) != 0)
            BAD("UDP checksum");
        break;
    case 6:
        if (l4len < 20 || (l4[12] >> 4) * 4 > l4len || (l4[12] >> 4) < 5)
            BAD("TCP header length");
        if (t_fold(t_sum(t_pseudo(src, dst, 6, l4len), l4, l4len)) != 0)
            BAD("TCP checksum");
        break;
    default:
        BAD("IP protocol %u", ip[9]);
    }
    return true;
#undef BAD
}

/* ---- the simulated segment ------------------------------------------------------------- */
static UNUSED uint32_t sim_rand32(struct sim *sim) {
    sim->rng ^= sim->rng << 13;
    sim->rng ^= sim->rng >> 7;
    sim->rng ^= sim->rng << 17;
    return (uint32_t) (sim->rng >> 16);
}

static UNUSED bool sim_chance(struct sim *sim, unsigned ppm) {
    return ppm && sim_rand32(sim) % 1000000u < ppm;
}

static UNUSED void sim_enqueue(struct sim *sim, int to, const uint8_t *f, size_t len,
                               uint64_t at) {
    if (sim->qlen == sim->qcap) {
        sim->qcap = sim->qcap ? sim->qcap * 2 : 256;
        sim->q = realloc(sim->q, sim->qcap * sizeof(*sim->q));
    }
    struct sim_frame *e = &sim->q[sim->qlen++];
    e->at = at;
    e->order = sim->order++;
    e->to = to;
    e->len = len;
    e->data = malloc(len);
    memcpy(e->data, f, len);
}

static UNUSED struct pkt parse_pkt(const uint8_t *f, size_t len);

/* One line per frame sent (TCPIP_TEST_TRACE=1): time, sender, TCP fields. */
static UNUSED void sim_trace(struct sim *sim, int from, const uint8_t *f, size_t len);

static UNUSED void sim_send_frame(void *ctx, const void *frame, size_t len) {
    struct sim_node *n = ctx;
    struct sim *sim = n->sim;
    n->sent++;
    char why[160];
    if (!sim_frame_check(frame, len, why, sizeof(why))) {
        if (!sim->bad_frames)
            snprintf(sim->bad_why, sizeof(sim->bad_why), "node %d: %s", n->idx, why);
        sim->bad_frames++;
    }
    uint8_t *f = malloc(len);
    memcpy(f, frame, len);
    if (sim->capture && sim->ncap < SIM_CAPTURE) {
        sim->cap[sim->ncap] = malloc(len);
        memcpy(sim->cap[sim->ncap], f, len);
        sim->cap_len[sim->ncap] = len;
        sim->cap_from[sim->ncap++] = n->idx;
    }
    bool keep = !sim->link_down && (!sim->tap || sim->tap(sim, n->idx, f, len, sim->tap_arg));
    if (getenv("TCPIP_TEST_TRACE"))
        sim_trace(sim, n->idx, f, len);
    for (unsigned i = 0; keep && i < 8; i++) {
        if (n->imp.drop_nth[i] == n->sent)
            keep = false;
    }
    if (keep && sim_chance(sim, n->imp.loss_ppm))
        keep = false;
    if (keep) {
        int copies = sim_chance(sim, n->imp.dup_ppm) ? 2 : 1;
        if (sim_chance(sim, n->imp.corrupt_ppm))
            f[sim_rand32(sim) % len] ^= (uint8_t) (1u << (sim_rand32(sim) % 8));
        for (int c = 0; c < copies; c++) {
            uint64_t at = sim->now + n->imp.delay_ms;
            if (sim_chance(sim, n->imp.reorder_ppm))
                at += n->imp.reorder_ms;
            for (int to = 0; to < sim->nnodes; to++) {
                if (to != n->idx && sim->node[to].net)
                    sim_enqueue(sim, to, f, len, at);
            }
        }
    }
    free(f);
}

static UNUSED uint64_t sim_now_ms(void *ctx) {
    return ((struct sim_node *) ctx)->sim->now;
}

static UNUSED uint32_t sim_node_random(void *ctx) {
    struct sim_node *n = ctx;
    if (n->random)
        return n->random(n);
    if (n->fixed_random)
        return n->fixed_random;
    n->rng ^= n->rng << 13;
    n->rng ^= n->rng >> 17;
    n->rng ^= n->rng << 5;
    return n->rng;
}

static UNUSED void sim_log(void *ctx, const char *line) {
    struct sim_node *n = ctx;
    snprintf(n->log[n->nlog % SIM_LOG_LINES], sizeof(n->log[0]), "%s", line);
    n->nlog++;
    if (getenv("TCPIP_TEST_VERBOSE"))
        printf("# node %d @%llu: %s\n", n->idx, (unsigned long long) n->sim->now, line);
}

/* Is there a log line of node n containing text? */
static UNUSED bool sim_logged(struct sim_node *n, const char *text) {
    unsigned first = n->nlog > SIM_LOG_LINES ? n->nlog - SIM_LOG_LINES : 0;
    for (unsigned i = first; i < n->nlog; i++) {
        if (strstr(n->log[i % SIM_LOG_LINES], text))
            return true;
    }
    return false;
}

/* TCPIP_TEST_SEED=n in the environment varies every seed (to hunt for
 * bugs that one fixed seed does not hit); the default runs are fixed. */
static UNUSED void sim_init(struct sim *sim, uint64_t seed) {
    const char *vary = getenv("TCPIP_TEST_SEED");
    if (vary)
        seed = seed * 1000003u + strtoull(vary, NULL, 0);
    memset(sim, 0, sizeof(*sim));
    sim->now = 1000000; /* not 0: deadlines of 0 mean "none" in places */
    sim->rng = seed * 0x9E3779B97F4A7C15ull + 1;
}

/* Add a node with MAC 02:00:00:00:00:(i+1); params NULL for the defaults. */
static UNUSED struct sim_node *sim_add(struct sim *sim, const struct net_params *params) {
    int i = sim->nnodes++;
    struct sim_node *n = &sim->node[i];
    memset(n, 0, sizeof(*n));
    n->sim = sim;
    n->idx = i;
    uint8_t mac[6] = {0x02, 0, 0, 0, 0, (uint8_t) (i + 1)};
    memcpy(n->mac, mac, 6);
    n->rng = (uint32_t) (sim->rng >> 7) ^ (0x1234567u * (unsigned) (i + 1)) ^ 0xA5A5A5A5u;
    if (!n->rng)
        n->rng = 1;
    struct net_seam seam = {
        .ctx = n, .send_frame = sim_send_frame, .now_ms = sim_now_ms,
        .random = sim_node_random, .log = sim_log,
    };
    if (net_create(&seam, mac, params, &n->net) != OK)
        n->net = NULL;
    return n;
}

/* Two nodes, 10.0.0.1 and 10.0.0.2 /24, no gateway. */
static UNUSED void sim_pair(struct sim *sim, uint64_t seed, const struct net_params *params) {
    sim_init(sim, seed);
    sim_add(sim, params);
    sim_add(sim, params);
    net_set_static(sim->node[0].net, NET_IP(10, 0, 0, 1), NET_IP(255, 255, 255, 0), 0);
    net_set_static(sim->node[1].net, NET_IP(10, 0, 0, 2), NET_IP(255, 255, 255, 0), 0);
}

static UNUSED void sim_clear_capture(struct sim *sim) {
    for (unsigned i = 0; i < sim->ncap; i++)
        free(sim->cap[i]);
    sim->ncap = 0;
}

static UNUSED void sim_drop_queue(struct sim *sim) {
    for (size_t i = 0; i < sim->qlen; i++)
        free(sim->q[i].data);
    sim->qlen = 0;
}

/* Free everything; the test fails if any node sent a malformed frame. */
static UNUSED void sim_destroy(struct sim *sim) {
    for (int i = 0; i < sim->nnodes; i++)
        net_destroy(sim->node[i].net);
    sim_drop_queue(sim);
    free(sim->q);
    sim_clear_capture(sim);
    if (sim->bad_frames)
        check_fail_(__FILE__, __LINE__, "%llu bad frames sent, first: %s",
                    (unsigned long long) sim->bad_frames, sim->bad_why);
}

/* Deliver frames and run timers in time order until pump (called after
 * every step, may be NULL) returns true or max_ms pass. The clock jumps to
 * the next frame or deadline. Returns pump's last answer. */
static UNUSED bool sim_run(struct sim *sim, uint64_t max_ms, bool (*pump)(struct sim *, void *),
                           void *arg) {
    uint64_t end = sim->now + max_ms;
    for (;;) {
        if (pump && pump(sim, arg))
            return true;
        if (++sim->steps > SIM_MAX_STEPS) {
            printf("# sim_run: step limit (a frame storm?)\n");
            return false;
        }
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < sim->qlen; i++) {
            if (best == SIZE_MAX || sim->q[i].at < sim->q[best].at ||
                (sim->q[i].at == sim->q[best].at && sim->q[i].order < sim->q[best].order))
                best = i;
        }
        uint64_t t_timer = UINT64_MAX;
        for (int i = 0; i < sim->nnodes; i++) {
            if (sim->node[i].net) {
                uint64_t d = net_next_deadline_ms(sim->node[i].net);
                if (d < t_timer)
                    t_timer = d;
            }
        }
        uint64_t t_frame = best == SIZE_MAX ? UINT64_MAX : sim->q[best].at;
        uint64_t t = t_frame < t_timer ? t_frame : t_timer;
        if (t > end) {
            sim->now = end;
            return pump ? pump(sim, arg) : false;
        }
        if (t > sim->now)
            sim->now = t;
        if (t_frame <= t_timer) {
            struct sim_frame f = sim->q[best];
            sim->q[best] = sim->q[--sim->qlen];
            net_input(sim->node[f.to].net, f.data, f.len);
            free(f.data);
        } else {
            for (int i = 0; i < sim->nnodes; i++) {
                if (sim->node[i].net && net_next_deadline_ms(sim->node[i].net) <= sim->now)
                    net_tick(sim->node[i].net);
            }
        }
    }
}

/* Run for ms of simulated time. */
static UNUSED void sim_advance(struct sim *sim, uint64_t ms) {
    sim_run(sim, ms, NULL, NULL);
}

/* ---- frame builders for hand-made input ----------------------------------------------- */
/* Ethernet + IPv4 header into f; returns a pointer to the L4 header. */
static UNUSED uint8_t *build_ip(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6],
                               uint32_t src, uint32_t dst, uint8_t proto, size_t l4len) {
    memcpy(f, dst_mac, 6);
    memcpy(f + 6, src_mac, 6);
    wr16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    wr16(ip + 2, (uint16_t) (20 + l4len));
    wr16(ip + 4, 0x1234);
    ip[8] = 64;
    ip[9] = proto;
    wr32(ip + 12, src);
    wr32(ip + 16, dst);
    wr16(ip + 10, t_fold(t_sum(0, ip, 20)));
    return ip + 20;
}

/* Recompute the IPv4 header checksum after a change. */
static UNUSED void fix_ip_checksum(uint8_t *f) {
    wr16(f + 24, 0);
    wr16(f + 24, t_fold(t_sum(0, f + 14, 20)));
}

/* A UDP frame; returns its length. */
static UNUSED size_t build_udp(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6],
                               uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                               const void *data, size_t len) {
    uint8_t *u = build_ip(f, dst_mac, src_mac, src, dst, 17, 8 + len);
    wr16(u, sport);
    wr16(u + 2, dport);
    wr16(u + 4, (uint16_t) (8 + len));
    wr16(u + 6, 0);
    memcpy(u + 8, data, len);
    uint16_t s = t_fold(t_sum(t_pseudo(src, dst, 17, (uint16_t) (8 + len)), u, 8 + len));
    wr16(u + 6, s ? s : 0xffff);
    return 14 + 20 + 8 + len;
}

/* A TCP segment frame (no options); returns its length. */
static UNUSED size_t build_tcp(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6],
                               uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                               uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
                               const void *data, size_t len) {
    uint8_t *t = build_ip(f, dst_mac, src_mac, src, dst, 6, 20 + len);
    wr16(t, sport);
    wr16(t + 2, dport);
    wr32(t + 4, seq);
    wr32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    wr16(t + 14, wnd);
    wr32(t + 16, 0);
    if (len)
        memcpy(t + 20, data, len);
    wr16(t + 16, t_fold(t_sum(t_pseudo(src, dst, 6, (uint16_t) (20 + len)), t, 20 + len)));
    return 14 + 20 + 20 + len;
}

static UNUSED size_t build_arp(uint8_t *f, const uint8_t dst_mac[6], uint16_t op,
                               const uint8_t sha[6], uint32_t spa, const uint8_t tha[6],
                               uint32_t tpa) {
    memset(f, 0, 60);
    memcpy(f, dst_mac, 6);
    memcpy(f + 6, sha, 6);
    wr16(f + 12, 0x0806);
    uint8_t *a = f + 14;
    wr16(a, 1);
    wr16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    wr16(a + 6, op);
    memcpy(a + 8, sha, 6);
    wr32(a + 14, spa);
    memcpy(a + 18, tha, 6);
    wr32(a + 24, tpa);
    return 60;
}

static UNUSED const uint8_t BCAST_MAC[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static UNUSED const uint8_t ZERO_MAC[6] = {0};
static UNUSED const uint8_t PEER_MAC[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};

/* Parsed view of a captured IPv4 frame. */
struct pkt {
    bool ip, arp;
    uint16_t arp_op;
    uint32_t arp_spa, arp_tpa;
    uint32_t src, dst;
    uint8_t proto;
    const uint8_t *l4;
    size_t l4len;
    uint16_t sport, dport;      /* UDP, TCP */
    uint32_t seq, ack;          /* TCP */
    uint8_t flags;
    uint16_t wnd, mss;
    const uint8_t *data;        /* UDP, TCP payload */
    size_t dlen;
};

static UNUSED struct pkt parse_pkt(const uint8_t *f, size_t len) {
    struct pkt p;
    memset(&p, 0, sizeof(p));
    if (len < 14)
        return p;
    if (rd16(f + 12) == 0x0806 && len >= 42) {
        p.arp = true;
        p.arp_op = rd16(f + 20);
        p.arp_spa = rd32(f + 28);
        p.arp_tpa = rd32(f + 38);
        return p;
    }
    if (rd16(f + 12) != 0x0800 || len < 34)
        return p;
    const uint8_t *ip = f + 14;
    p.ip = true;
    p.src = rd32(ip + 12);
    p.dst = rd32(ip + 16);
    p.proto = ip[9];
    p.l4 = ip + 20;
    p.l4len = rd16(ip + 2) - 20u;
    if (p.proto == 17 && p.l4len >= 8) {
        p.sport = rd16(p.l4);
        p.dport = rd16(p.l4 + 2);
        p.data = p.l4 + 8;
        p.dlen = p.l4len - 8;
    } else if (p.proto == 6 && p.l4len >= 20) {
        p.sport = rd16(p.l4);
        p.dport = rd16(p.l4 + 2);
        p.seq = rd32(p.l4 + 4);
        p.ack = rd32(p.l4 + 8);
        p.flags = p.l4[13];
        p.wnd = rd16(p.l4 + 14);
        size_t doff = (size_t) (p.l4[12] >> 4) * 4;
        if (doff >= 24 && p.l4[20] == 2 && p.l4[21] == 4)
            p.mss = rd16(p.l4 + 22);
        p.data = p.l4 + doff;
        p.dlen = p.l4len - doff;
    }
    return p;
}

static UNUSED void sim_trace(struct sim *sim, int from, const uint8_t *f, size_t len) {
    struct pkt p = parse_pkt(f, len);
    if (p.ip && p.proto == 6)
        printf("# %llu n%d %u>%u seq %u ack %u %s%s%s%s len %zu wnd %u\n",
               (unsigned long long) sim->now, from, p.sport, p.dport, p.seq, p.ack,
               (p.l4[13] & 2) ? "S" : "", (p.l4[13] & 1) ? "F" : "", (p.l4[13] & 4) ? "R" : "",
               (p.l4[13] & 16) ? "." : "", p.dlen, p.wnd);
    else
        printf("# %llu n%d frame %zu bytes\n", (unsigned long long) sim->now, from, len);
}

#define T_FIN 0x01
#define T_SYN 0x02
#define T_RST 0x04
#define T_PSH 0x08
#define T_ACK 0x10

/* The stats of a node. */
static UNUSED struct net_stats sim_stats(struct sim_node *n) {
    struct net_stats st;
    net_get_stats(n->net, &st);
    return st;
}

/* ---- TCP helpers ---------------------------------------------------------------------- */
/* A connection between a client on node 0 and a server on node 1. */
struct conn {
    int lsock; /* the server's listener */
    int csock; /* the client's socket */
    int ssock; /* the server's accepted socket */
};

static UNUSED bool pump_connected(struct sim *sim, void *arg) {
    struct conn *c = arg;
    if (c->ssock <= 0) {
        int r = tcp_accept(sim->node[1].net, c->lsock);
        if (r > 0)
            c->ssock = r;
    }
    int ev = sock_events(sim->node[0].net, c->csock);
    return c->ssock > 0 && ev >= 0 && (ev & NET_EV_CONNECTED);
}

/* Listen on node 1's port, connect from node 0, wait for both ends. */
static UNUSED bool conn_open(struct sim *sim, uint16_t port, struct conn *c) {
    c->ssock = 0;
    c->lsock = tcp_listen(sim->node[1].net, port, 8);
    if (c->lsock <= 0)
        return false;
    c->csock = tcp_connect(sim->node[0].net, NET_IP(10, 0, 0, 2), port);
    if (c->csock <= 0)
        return false;
    return sim_run(sim, 120000, pump_connected, c);
}

/* Deterministic test data. */
static UNUSED void fill_pattern(uint8_t *p, size_t len, uint32_t seed) {
    uint32_t x = seed * 2654435761u + 12345;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345;
        p[i] = (uint8_t) (x >> 16);
    }
}

/* One-way bulk transfer driven only by net_next_event, as the glue would:
 * a missed event stalls it. */
struct xfer {
    struct net *snet, *rnet;
    int ssock, rsock;
    const uint8_t *src;
    uint8_t *dst;
    size_t total, sent, recvd;
    size_t rchunk;        /* bytes asked per tcp_recv */
    bool close_when_sent; /* tcp_close the sender after the last byte */
    bool started, closed, eof;
    error_t error;        /* an unexpected error from send/recv */
    bool reader_paused;   /* the receiver does not read */
};

static UNUSED void xfer_write(struct xfer *x) {
    while (x->sent < x->total) {
        int r = tcp_send(x->snet, x->ssock, x->src + x->sent, x->total - x->sent);
        if (r == ERR_WOULD_BLOCK)
            return;
        if (r <= 0) {
            x->error = r;
            return;
        }
        x->sent += (size_t) r;
    }
    if (x->close_when_sent && !x->closed) {
        x->closed = true;
        tcp_close(x->snet, x->ssock);
    }
}

static UNUSED void xfer_read(struct xfer *x) {
    while (!x->eof && !x->reader_paused) {
        size_t want = x->rchunk ? x->rchunk : 4096;
        if (x->recvd + want > x->total + 1)
            want = x->total + 1 - x->recvd;
        int r = tcp_recv(x->rnet, x->rsock, x->dst + x->recvd, want);
        if (r == ERR_WOULD_BLOCK)
            return;
        if (r == ERR_EOF) {
            x->eof = true;
            return;
        }
        if (r <= 0) {
            x->error = r;
            return;
        }
        x->recvd += (size_t) r;
    }
}

static UNUSED bool pump_xfer(struct sim *sim, void *arg) {
    (void) sim;
    struct xfer *x = arg;
    int id;
    uint32_t ev;
    if (!x->started) {
        x->started = true;
        xfer_write(x);
        xfer_read(x);
    }
    while (net_next_event(x->snet, &id, &ev)) {
        if (id == x->ssock && (ev & NET_EV_WRITABLE))
            xfer_write(x);
    }
    while (net_next_event(x->rnet, &id, &ev)) {
        if (id == x->rsock && (ev & NET_EV_READABLE))
            xfer_read(x);
    }
    if (x->error)
        return true;
    return x->close_when_sent ? x->eof : x->recvd == x->total;
}

/* Send total bytes from (snet, ssock) to (rnet, rsock); true if they all
 * arrived intact (and the EOF after them when close_when_sent). */
static UNUSED bool xfer_run(struct sim *sim, struct xfer *x, uint64_t max_ms) {
    uint8_t *src = malloc(x->total ? x->total : 1);
    fill_pattern(src, x->total, (uint32_t) x->total);
    x->src = src;
    x->dst = malloc(x->total + 1);
    bool done = sim_run(sim, max_ms, pump_xfer, x);
    bool ok = done && !x->error && x->recvd == x->total && memcmp(src, x->dst, x->total) == 0;
    if (!ok)
        printf("# xfer: done %d error %d sent %zu recvd %zu of %zu\n", done, x->error, x->sent,
               x->recvd, x->total);
    free(src);
    free(x->dst);
    x->src = x->dst = NULL;
    return ok;
}

/* The state of node n's TCP socket with local port lport and remote port
 * rport (-1 if there is none). */
static UNUSED int tcp_state_of(struct sim_node *n, uint16_t lport, uint16_t rport) {
    struct net_tcp_info info[256];
    size_t cnt = net_tcp_list(n->net, info, 256);
    for (size_t i = 0; i < cnt; i++) {
        if (info[i].addr.local_port == lport && info[i].addr.remote_port == rport)
            return info[i].state;
    }
    return -1;
}

static UNUSED struct net_sock_addr addr_of(struct net *net, int sock) {
    struct net_sock_addr a;
    memset(&a, 0, sizeof(a));
    sock_addr(net, sock, &a);
    return a;
}

/* ---- one node and a fake peer ---------------------------------------------------------- */
#define NODE_IP NET_IP(10, 0, 0, 2)
#define PEER_IP NET_IP(10, 0, 0, 77)

/* One node (NODE_IP/24) that already knows PEER_IP is at PEER_MAC;
 * capture on. */
static UNUSED void sim_single(struct sim *sim, uint64_t seed) {
    sim_init(sim, seed);
    sim_add(sim, NULL);
    net_set_static(sim->node[0].net, NODE_IP, NET_IP(255, 255, 255, 0), 0);
    uint8_t f[60];
    build_arp(f, BCAST_MAC, 1, PEER_MAC, PEER_IP, ZERO_MAC, NODE_IP);
    net_input(sim->node[0].net, f, sizeof(f));
    sim->capture = true;
    sim_clear_capture(sim);
}

/* The which-th captured frame with IP protocol proto (0: ARP). */
static UNUSED struct pkt captured(struct sim *sim, uint8_t proto, unsigned which) {
    for (unsigned i = 0; i < sim->ncap; i++) {
        struct pkt p = parse_pkt(sim->cap[i], sim->cap_len[i]);
        if (((proto == 0 && p.arp) || (p.ip && p.proto == proto)) && which-- == 0)
            return p;
    }
    struct pkt none;
    memset(&none, 0, sizeof(none));
    return none;
}

static UNUSED unsigned captured_count(struct sim *sim, uint8_t proto) {
    unsigned n = 0;
    for (unsigned i = 0; i < sim->ncap; i++) {
        struct pkt p = parse_pkt(sim->cap[i], sim->cap_len[i]);
        n += (proto == 0 && p.arp) || (p.ip && p.proto == proto);
    }
    return n;
}
