/*
 * Host tests of the DHCP client (servers/tcpip/dhcp.c) against a fake
 * DHCP server in the test: DISCOVER/OFFER/REQUEST/ACK, retransmission
 * backoff, NAK, renewal at T1 (unicast), rebinding at T2 (broadcast),
 * lease expiry, and malformed replies (option lengths past the end, bad
 * lengths, wrong xid/MAC/cookie) that must be dropped safely.
 */
#include "check.h"

#include "tcpip_sim.h"

#define SERVER_IP NET_IP(10, 0, 2, 2)
#define OFFER_IP  NET_IP(10, 0, 2, 15)
#define DNS_IP    NET_IP(10, 0, 2, 3)

enum { DISCOVER = 1, OFFER, REQUEST, DECLINE, ACK, NAK };

static const uint8_t SERVER_MAC[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};

struct dhcp_msg {
    uint8_t op, type;
    uint32_t xid, ciaddr, src_ip, dst_ip, req_ip, server_id;
    bool has_req_ip, has_server_id, bcast_mac;
    uint64_t at;
};

struct dhcp_srv {
    uint32_t lease, t1, t2;   /* t1, t2: 0 = not sent */
    bool silent;              /* answer nothing */
    bool ignore_unicast;      /* do not answer unicast REQUESTs (renewals) */
    bool ignore_requests;     /* do not answer REQUESTs at all */
    bool bcast_replies;       /* send replies to the broadcast addresses */
    unsigned nak;             /* NAK this many REQUESTs */
    struct dhcp_msg msg[64];  /* what the client sent */
    unsigned n;
};

/* ---- the fake server ----------------------------------------------------------------------- */
static bool parse_dhcp(const uint8_t *f, size_t len, struct dhcp_msg *m) {
    struct pkt p = parse_pkt(f, len);
    if (!p.ip || p.proto != 17 || p.dport != 67 || p.dlen < 240)
        return false;
    memset(m, 0, sizeof(*m));
    const uint8_t *d = p.data;
    m->op = d[0];
    m->xid = rd32(d + 4);
    m->ciaddr = rd32(d + 12);
    m->src_ip = p.src;
    m->dst_ip = p.dst;
    m->bcast_mac = memcmp(f, BCAST_MAC, 6) == 0;
    for (size_t i = 240; i + 1 < p.dlen && d[i] != 255;) {
        if (d[i] == 0) {
            i++;
            continue;
        }
        uint8_t code = d[i], l = d[i + 1];
        const uint8_t *v = d + i + 2;
        if (code == 53)
            m->type = v[0];
        if (code == 50) {
            m->has_req_ip = true;
            m->req_ip = rd32(v);
        }
        if (code == 54) {
            m->has_server_id = true;
            m->server_id = rd32(v);
        }
        i += 2 + (size_t) l;
    }
    return true;
}

static size_t put_opt32(uint8_t *o, uint8_t code, uint32_t v) {
    o[0] = code;
    o[1] = 4;
    wr32(o + 2, v);
    return 6;
}

/* A BOOTREPLY of type for xid; returns its length (options in msg). */
static size_t dhcp_reply_msg(uint8_t *msg, const struct dhcp_srv *s, uint8_t type, uint32_t xid,
                             const uint8_t *chaddr) {
    memset(msg, 0, 600);
    msg[0] = 2;
    msg[1] = 1;
    msg[2] = 6;
    wr32(msg + 4, xid);
    if (type != NAK)
        wr32(msg + 16, OFFER_IP);
    wr32(msg + 20, SERVER_IP);
    memcpy(msg + 28, chaddr, 6);
    wr32(msg + 236, 0x63825363);
    uint8_t *o = msg + 240;
    *o++ = 53;
    *o++ = 1;
    *o++ = type;
    o += put_opt32(o, 54, SERVER_IP);
    if (type != NAK) {
        o += put_opt32(o, 51, s->lease);
        o += put_opt32(o, 1, NET_IP(255, 255, 255, 0));
        o += put_opt32(o, 3, SERVER_IP);
        o += put_opt32(o, 6, DNS_IP);
        if (s->t1)
            o += put_opt32(o, 58, s->t1);
        if (s->t2)
            o += put_opt32(o, 59, s->t2);
    }
    *o++ = 255;
    size_t len = (size_t) (o - msg);
    return len < 300 ? 300 : len;
}

static void send_to_client(struct sim *sim, const uint8_t *msg, size_t len, bool bcast) {
    uint8_t f[1600];
    size_t n = build_udp(f, bcast ? BCAST_MAC : sim->node[0].mac, SERVER_MAC, SERVER_IP, 67,
                         bcast ? 0xffffffffu : OFFER_IP, 68, msg, len);
    sim_enqueue(sim, 0, f, n, sim->now + 1);
}

static bool tap_server(struct sim *sim, int from, uint8_t *f, size_t len, void *arg) {
    struct dhcp_srv *s = arg;
    (void) from;
    struct pkt p = parse_pkt(f, len);
    if (p.arp && p.arp_op == 1 && p.arp_tpa == SERVER_IP) {
        uint8_t r[60];
        build_arp(r, sim->node[0].mac, 2, SERVER_MAC, SERVER_IP, sim->node[0].mac, p.arp_spa);
        sim_enqueue(sim, 0, r, sizeof(r), sim->now + 1);
        return false;
    }
    struct dhcp_msg m;
    if (!parse_dhcp(f, len, &m))
        return false;
    m.at = sim->now;
    if (s->n < 64)
        s->msg[s->n++] = m;
    if (s->silent)
        return false;
    uint8_t msg[600];
    size_t mlen = 0;
    if (m.type == DISCOVER) {
        mlen = dhcp_reply_msg(msg, s, OFFER, m.xid, f + 6);
    } else if (m.type == REQUEST && s->nak) {
        s->nak--;
        mlen = dhcp_reply_msg(msg, s, NAK, m.xid, f + 6);
    } else if (m.type == REQUEST && !s->ignore_requests &&
               !(s->ignore_unicast && m.dst_ip != 0xffffffffu)) {
        mlen = dhcp_reply_msg(msg, s, ACK, m.xid, f + 6);
    }
    if (mlen)
        send_to_client(sim, msg, mlen, s->bcast_replies);
    return false;
}

static void setup(struct sim *sim, struct dhcp_srv *s, uint64_t seed) {
    sim_init(sim, seed);
    sim_add(sim, NULL);
    memset(s, 0, sizeof(*s));
    s->lease = 86400;
    sim->tap = tap_server;
    sim->tap_arg = s;
}

static struct net_config config(struct sim *sim) {
    struct net_config c;
    net_get_config(sim->node[0].net, &c);
    return c;
}

static unsigned count_type(const struct dhcp_srv *s, uint8_t type) {
    unsigned n = 0;
    for (unsigned i = 0; i < s->n; i++)
        n += s->msg[i].type == type;
    return n;
}

static const struct dhcp_msg *last_of(const struct dhcp_srv *s, uint8_t type) {
    for (unsigned i = s->n; i-- > 0;) {
        if (s->msg[i].type == type)
            return &s->msg[i];
    }
    return NULL;
}

/* ---- the tests --------------------------------------------------------------------------------- */
TEST(discover_offer_request_ack) {
    struct sim sim;
    struct dhcp_srv s;
    setup(&sim, &s, 1);
    CHECK_EQ_INT(config(&sim).dhcp_state, NET_DHCP_OFF);
    CHECK_EQ_INT(net_dhcp_start(sim.node[0].net), OK);
    CHECK_EQ_INT(config(&sim).dhcp_state, NET_DHCP_SELECTING);
    sim_advance(&sim, 100);
    struct net_config c = config(&sim);
    CHECK_EQ_INT(c.dhcp_state, NET_DHCP_BOUND);
    CHECK_EQ_STR(net_dhcp_state_name(c.dhcp_state), "bound");
    CHECK_EQ_UINT(c.ip, OFFER_IP);
    CHECK_EQ_UINT(c.mask, NET_IP(255, 255, 255, 0));
    CHECK_EQ_UINT(c.gw, SERVER_IP);
    CHECK_EQ_UINT(c.dns[0], DNS_IP);
    CHECK_EQ_UINT(c.dhcp_server, SERVER_IP);
    CHECK_EQ_UINT(c.lease_s, 86400);
    CHECK(c.lease_left_s >= 86399 && c.lease_left_s <= 86400);
    CHECK(sim_logged(&sim.node[0], "dhcp: bound 10.0.2.15/24 gw 10.0.2.2 lease 86400s"));
    CHECK_EQ_UINT(s.n, 2);
    const struct dhcp_msg *d = &s.msg[0], *r = &s.msg[1];
    CHECK_EQ_UINT(d->type, DISCOVER);
    CHECK_EQ_UINT(d->op, 1);
    CHECK_EQ_UINT(d->src_ip, 0);
    CHECK_EQ_UINT(d->dst_ip, 0xffffffffu);
    CHECK(d->bcast_mac);
    CHECK_EQ_UINT(r->type, REQUEST);
    CHECK_EQ_UINT(r->xid, d->xid);
    CHECK(r->has_req_ip && r->req_ip == OFFER_IP);
    CHECK(r->has_server_id && r->server_id == SERVER_IP);
    CHECK_EQ_UINT(r->ciaddr, 0);
    CHECK_EQ_UINT(r->dst_ip, 0xffffffffu);
    sim_destroy(&sim);
}

TEST(broadcast_replies_work_too) {
    struct sim sim;
    struct dhcp_srv s;
    setup(&sim, &s, 2);
    s.bcast_replies = true;
    net_dhcp_start(sim.node[0].net);
    sim_advance(&sim, 100);
    CHECK_EQ_INT(config(&sim).dhcp_state, NET_DHCP_BOUND);
    sim_destroy(&sim);
}

TEST(unanswered_discover_backs_off) {
    struct sim sim;
    struct dhcp_srv s;
    setup(&sim, &s, 3);
    s.silent = true;
    net_dhcp_start(sim.node[0].net);
    sim_advance(&sim, 300000);
    CHECK(s.n >= 7);
    uint32_t xid = s.msg[0].xid;
    for (unsigned i = 1; i < s.n; i++) {
        uint64_t gap = s.msg[i].at - s.msg[i - 1].at;
        uint64_t base = 4000ull << (i - 1 < 4 ? i - 1 : 4);
        CHECK(gap >= base - 1000 && gap <= base + 1000);
        CHECK_EQ_UINT(s.msg[i].type, DISCOVER);
        CHECK_EQ_UINT(s.msg[i].xid, xid); /* retransmissions keep the xid */
    }
    /* the server wakes up: bound at the next retransmission */
    s.silent = false;
    sim_advance(&sim, 70000);
    CHECK_EQ_INT(config(&sim).dhcp_state, NET_DHCP_BOUND);
    sim_destroy(&sim);
}

TEST(nak_starts_over) {
    struct sim sim;
    struct dhcp_srv s;
    setup(&sim, &s, 4);
    s.nak = 1;
    net_dhcp_start(sim.node[0].net);
    sim_advance(&sim, 100);
    CHECK_EQ_INT(config(&sim).dhcp_state, NET_DHCP_BOUND);
    CHECK_EQ_UINT(count_type(&s, DISCOVER), 2);
    CHECK_EQ_UINT(count_type(&s, REQUEST), 2);
    CHECK(s.msg[2].xid != s.msg[0].xid); /* a new transaction */
    CHECK(sim_logged(&sim.node[0], "NAK"));
    sim_destroy(&sim);
}

TEST(unanswered_request_starts_over) {
    struct sim sim;
    struct dhcp_srv s;
    setup(&sim, &s, 5);
    s.ignore_requests = true;
    net_dhcp_start(sim.node[0].net);
    sim_advance(&sim, 70000); /* after 4, 8, 16 and 32 s (+-1 s each) */
    CHECK(s.n >= 6);
    for (unsigned i = 1; i <= 4; i++)
        CHECK_EQ_UINT(s.msg[i].type, REQUEST);
    CHECK_EQ_UINT(s.msg[5].type, DISCOVER);
    CHECK(s.msg[5].xid != s.msg[0].xid);
    CHECK_EQ_INT(config(&sim).ip, 0);
    sim_destroy(&sim);
}

TEST(renewal_at_t1_is_unicast) {
    struct sim sim;
    struct dhcp_srv s;
    setup(&sim, &s, 6);
    s.lease = 100;
    net_dhcp_start(sim.node[0].net);
    sim_advance(&sim, 100);
    CHECK_EQ_INT(config(&sim).dhcp_state, NET_DHCP_BOUND);
    unsigned before = s.n;
    sim_advance(&sim, 49000);
    CHECK_EQ_UINT(s.n, before);
    sim_advance(&sim, 1000);
    CHECK_EQ_UINT(s.n, before + 1);
    const struct dhcp_msg *r = &s.msg[before];
    CHECK_EQ_UINT(r->type, REQUEST);
    CHECK_EQ_UINT(r->dst_ip, SERVER_IP);
    CHECK_EQ_UINT(r->src_ip, OFFER_IP);
    CHECK_EQ_UINT(r->ciaddr, OFFER_IP);
    CHECK(!r->has_req_ip);
    CHECK(!r->has_server_id);
    CHECK(!r->bcast_mac);
    sim_advance(&sim, 100);
    struct net_config c = config(&sim);
    CHECK_EQ_INT(c.dhcp_state, NET_DHCP_BOUND);
    CHECK(c.lease_left_s >= 99);
    CHECK(sim_logged(&sim.node[0], "dhcp: renewed 10.0.2.15/24 gw 10.0.2.2 lease 100s"));
    /* and again 50 s later */
    sim_advance(&sim, 50000);
    CHECK_EQ_UINT(count_type(&s, REQUEST), 3);
    sim_destroy(&sim);
}

TEST(rebinding_at_t2_is_broadcast) {
    struct sim sim;
    struct dhcp_srv s;
    setup(&sim, &s, 7);
    s.lease = 1000;
    net_dhcp_start(sim.node[0].net);
    sim_advance(&sim, 100);
    s.ignore_unicast = true;
    uint64_t bound = sim.now - 100;
    /* T1 = 500 s: unicast, retransmitted after half the time to T2 (187.5 s) */
    sim_advance(&sim, 700000);
    CHECK_EQ_INT(config(&sim).dhcp_state, NET_DHCP_RENEWING);
    const struct dhcp_msg *r1 = last_of(&s, REQUEST);
    CHECK_EQ_UINT(r1->dst_ip, SERVER_IP);
    sim_advance(&sim, 200000); /* past T2 = 875 s */
    const struct dhcp_msg *r2 = last_of(&s, REQUEST);
    CHECK_EQ_UINT(r2->dst_ip, 0xffffffffu);
    CHECK_EQ_UINT(r2->ciaddr, OFFER_IP);
    CHECK(r2->at >= bound + 875000 - 2);
    CHECK_EQ_INT(config(&sim).dhcp_state, NET_DHCP_BOUND);
    CHECK(sim_logged(&sim.node[0], "dhcp: renewed"));
    sim_destroy(&sim);
}

TEST(lease_expiry_drops_the_address) {
    struct sim sim;
    struct dhcp_srv s;
    setup(&sim, &s, 8);
    s.lease = 100;
    net_dhcp_start(sim.node[0].net);
    uint64_t start = sim.now;
    sim_advance(&sim, 100);
    CHECK_EQ_UINT(config(&sim).ip, OFFER_IP);
    s.silent = true;
    sim_advance(&sim, 99000);
    CHECK_EQ_UINT(config(&sim).ip, OFFER_IP);
    CHECK_EQ_INT(config(&sim).dhcp_state, NET_DHCP_REBINDING);
    sim_advance(&sim, 1500);
    struct net_config c = config(&sim);
    CHECK_EQ_UINT(c.ip, 0);
    CHECK_EQ_UINT(c.gw, 0);
    CHECK_EQ_INT(c.dhcp_state, NET_DHCP_SELECTING);
    CHECK(last_of(&s, DISCOVER)->at >= start + 100000);
    CHECK(last_of(&s, DISCOVER)->at <= start + 100003);
    CHECK(sim_logged(&sim.node[0], "expired"));
    sim_destroy(&sim);
}

TEST(t1_and_t2_options_are_honoured) {
    struct sim sim;
    struct dhcp_srv s;
    setup(&sim, &s, 9);
    s.lease = 100;
    s.t1 = 30;
    s.t2 = 40;
    s.ignore_unicast = true;
    net_dhcp_start(sim.node[0].net);
    sim_advance(&sim, 100);
    uint64_t bound = sim.now - 100;
    sim_advance(&sim, 45000);
    const struct dhcp_msg *u = NULL, *b = NULL;
    for (unsigned i = 2; i < s.n; i++) {
        if (!u && s.msg[i].dst_ip == SERVER_IP)
            u = &s.msg[i];
        if (!b && s.msg[i].dst_ip == 0xffffffffu)
            b = &s.msg[i];
    }
    CHECK(u && b);
    CHECK(u->at >= bound + 30000 && u->at <= bound + 30005);
    CHECK(b->at >= bound + 40000 && b->at <= bound + 40005);
    sim_destroy(&sim);
}

TEST(static_address_stops_dhcp) {
    struct sim sim;
    struct dhcp_srv s;
    setup(&sim, &s, 10);
    s.silent = true;
    net_dhcp_start(sim.node[0].net);
    sim_advance(&sim, 1000);
    CHECK_EQ_INT(net_set_static(sim.node[0].net, NET_IP(192, 168, 0, 9), NET_IP(255, 255, 255, 0),
                                0),
                 OK);
    unsigned n = s.n;
    sim_advance(&sim, 100000);
    CHECK_EQ_UINT(s.n, n);
    CHECK_EQ_INT(config(&sim).dhcp_state, NET_DHCP_OFF);
    CHECK_EQ_UINT(net_next_deadline_ms(sim.node[0].net), NET_NO_DEADLINE);
    sim_destroy(&sim);
}

/* ---- malformed replies ---------------------------------------------------------------------------- */
struct mal {
    struct sim sim;
    struct dhcp_srv s;
    uint32_t xid;
};

static void mal_setup(struct mal *m, uint64_t seed) {
    setup(&m->sim, &m->s, seed);
    m->s.silent = true;
    net_dhcp_start(m->sim.node[0].net);
    m->xid = m->s.msg[0].xid;
}

/* Deliver an OFFER made by dhcp_reply_msg and then changed by the test. */
static void deliver(struct mal *m, const uint8_t *msg, size_t len) {
    uint8_t f[1600];
    size_t n = build_udp(f, BCAST_MAC, SERVER_MAC, SERVER_IP, 67, 0xffffffffu, 68, msg, len);
    net_input(m->sim.node[0].net, f, n);
}

static uint64_t bad(struct mal *m) {
    return sim_stats(&m->sim.node[0]).dhcp_bad;
}

static uint64_t ignored(struct mal *m) {
    return sim_stats(&m->sim.node[0]).dhcp_ignored;
}

TEST(malformed_options_are_dropped) {
    static struct mal m;
    mal_setup(&m, 11);
    uint8_t msg[600];
    size_t len = dhcp_reply_msg(msg, &m.s, OFFER, m.xid, m.sim.node[0].mac);
    /* an option whose length runs past the end of the message */
    uint8_t g[600];
    memcpy(g, msg, 600);
    size_t end = 240 + 3 + 6; /* after type and server id */
    g[end] = 1;
    g[end + 1] = 200;
    deliver(&m, g, end + 10);
    CHECK_EQ_UINT(bad(&m), 1);
    /* an option code as the very last byte, with no length */
    memcpy(g, msg, 600);
    g[end] = 3;
    deliver(&m, g, end + 1);
    CHECK_EQ_UINT(bad(&m), 2);
    /* a subnet mask of 3 bytes */
    memcpy(g, msg, 600);
    g[end] = 1;
    g[end + 1] = 3;
    deliver(&m, g, len);
    CHECK_EQ_UINT(bad(&m), 3);
    /* a message type of 2 bytes */
    memcpy(g, msg, 600);
    g[241] = 2;
    deliver(&m, g, len);
    CHECK_EQ_UINT(bad(&m), 4);
    /* a router list of 5 bytes */
    memcpy(g, msg, 600);
    g[end] = 3;
    g[end + 1] = 5;
    deliver(&m, g, len);
    CHECK_EQ_UINT(bad(&m), 5);
    /* no message type at all */
    memcpy(g, msg, 600);
    g[240] = 0; /* pads over the type */
    g[241] = 0;
    g[242] = 0;
    deliver(&m, g, len);
    CHECK_EQ_UINT(bad(&m), 6);
    /* shorter than the fixed part, or a bad magic cookie */
    deliver(&m, msg, 239);
    CHECK_EQ_UINT(bad(&m), 7);
    memcpy(g, msg, 600);
    g[236] = 0x64;
    deliver(&m, g, len);
    CHECK_EQ_UINT(bad(&m), 8);
    CHECK_EQ_INT(config(&m.sim).dhcp_state, NET_DHCP_SELECTING);
    /* options that end without an END byte are fine */
    deliver(&m, msg, len - (len - (240 + 3 + 6 + 6 * 4)));
    CHECK_EQ_INT(config(&m.sim).dhcp_state, NET_DHCP_REQUESTING);
    sim_destroy(&m.sim);
}

TEST(replies_not_for_us_are_ignored) {
    static struct mal m;
    mal_setup(&m, 12);
    uint8_t msg[600], g[600];
    size_t len = dhcp_reply_msg(msg, &m.s, OFFER, m.xid, m.sim.node[0].mac);
    memcpy(g, msg, 600);
    wr32(g + 4, m.xid + 1); /* another transaction */
    deliver(&m, g, len);
    memcpy(g, msg, 600);
    g[33] ^= 1; /* another client's MAC */
    deliver(&m, g, len);
    memcpy(g, msg, 600);
    g[0] = 1; /* a BOOTREQUEST */
    deliver(&m, g, len);
    CHECK_EQ_UINT(ignored(&m), 3);
    /* an OFFER without a server id, or of an impossible address */
    struct dhcp_srv s2 = m.s;
    size_t l2 = dhcp_reply_msg(g, &s2, OFFER, m.xid, m.sim.node[0].mac);
    g[243] = 0; /* option 54 -> pad bytes */
    memset(g + 243, 0, 6);
    deliver(&m, g, l2);
    memcpy(g, msg, 600);
    wr32(g + 16, 0xffffffffu);
    deliver(&m, g, len);
    memcpy(g, msg, 600);
    wr32(g + 16, 0);
    deliver(&m, g, len);
    /* an ACK while selecting */
    dhcp_reply_msg(g, &m.s, ACK, m.xid, m.sim.node[0].mac);
    deliver(&m, g, len);
    CHECK_EQ_UINT(ignored(&m), 7);
    CHECK_EQ_UINT(bad(&m), 0);
    CHECK_EQ_INT(config(&m.sim).dhcp_state, NET_DHCP_SELECTING);
    /* the real thing */
    deliver(&m, msg, len);
    CHECK_EQ_INT(config(&m.sim).dhcp_state, NET_DHCP_REQUESTING);
    /* an ACK from another server, or for another address, is ignored */
    dhcp_reply_msg(g, &m.s, ACK, m.xid, m.sim.node[0].mac);
    wr32(g + 245, NET_IP(10, 0, 2, 99));
    deliver(&m, g, len);
    dhcp_reply_msg(g, &m.s, ACK, m.xid, m.sim.node[0].mac);
    wr32(g + 16, NET_IP(10, 0, 2, 16));
    deliver(&m, g, len);
    CHECK_EQ_INT(config(&m.sim).dhcp_state, NET_DHCP_REQUESTING);
    dhcp_reply_msg(g, &m.s, ACK, m.xid, m.sim.node[0].mac);
    deliver(&m, g, len);
    CHECK_EQ_INT(config(&m.sim).dhcp_state, NET_DHCP_BOUND);
    sim_destroy(&m.sim);
}

TEST(odd_values_are_made_sane) {
    static struct mal m;
    mal_setup(&m, 13);
    uint8_t msg[600];
    size_t len = dhcp_reply_msg(msg, &m.s, OFFER, m.xid, m.sim.node[0].mac);
    deliver(&m, msg, len);
    /* an ACK with a non-contiguous mask, a router off the subnet and a lease of 0 */
    len = dhcp_reply_msg(msg, &m.s, ACK, m.xid, m.sim.node[0].mac);
    size_t o = 240 + 3 + 6;
    wr32(msg + o + 2, 0);                           /* lease 0 */
    wr32(msg + o + 6 + 2, NET_IP(255, 0, 255, 0));  /* mask */
    wr32(msg + o + 12 + 2, NET_IP(192, 168, 9, 9)); /* router */
    deliver(&m, msg, len);
    struct net_config c = config(&m.sim);
    CHECK_EQ_INT(c.dhcp_state, NET_DHCP_BOUND);
    CHECK_EQ_UINT(c.mask, NET_IP(255, 0, 0, 0)); /* class A default */
    CHECK_EQ_UINT(c.gw, 0);
    CHECK_EQ_UINT(c.lease_s, 10); /* the minimum */
    sim_destroy(&m.sim);
}
