/*
 * Host tests of ARP in the TCP/IP core (servers/tcpip): resolution,
 * answers to requests, the merge rule and gratuitous ARP, retries and
 * failure, the pending-packet queues, expiry, and the cache bound under
 * floods of requests, replies and IP packets from 10,000 addresses.
 */
#include "check.h"

#include "tcpip_sim.h"

#define ARP 0
#define UDP 17

static struct net *N(struct sim *sim) {
    return sim->node[0].net;
}

static void input(struct sim *sim, const uint8_t *f, size_t len) {
    net_input(N(sim), f, len);
}

static size_t arp_entries(struct sim *sim, struct net_arp_entry *out, size_t max) {
    return net_arp_list(N(sim), out, max);
}

static size_t arp_count(struct sim *sim) {
    struct net_arp_entry e[128];
    return arp_entries(sim, e, 128);
}

/* The entry for ip, or NULL. */
static const struct net_arp_entry *arp_entry(struct sim *sim, uint32_t ip) {
    static struct net_arp_entry e[128];
    size_t n = arp_entries(sim, e, 128);
    for (size_t i = 0; i < n; i++) {
        if (e[i].ip == ip)
            return &e[i];
    }
    return NULL;
}

static size_t queued_total(struct sim *sim) {
    struct net_arp_entry e[128];
    size_t n = arp_entries(sim, e, 128), q = 0;
    for (size_t i = 0; i < n; i++)
        q += e[i].queued;
    return q;
}

/* One node at NODE_IP/16 with an empty cache. */
static void setup(struct sim *sim, uint64_t seed) {
    sim_init(sim, seed);
    sim_add(sim, NULL);
    net_set_static(N(sim), NODE_IP, NET_IP(255, 255, 0, 0), 0);
    sim->capture = true;
}

static void mac_for(uint8_t mac[6], uint32_t i) {
    mac[0] = 0x02;
    mac[1] = 0x11;
    wr32(mac + 2, i);
}

TEST(resolution_between_two_cores) {
    struct sim sim;
    sim_pair(&sim, 1, NULL);
    sim.capture = true;
    CHECK_EQ_INT(net_ping(sim.node[0].net, NET_IP(10, 0, 0, 2), 1, 1, 10), OK);
    sim_advance(&sim, 10);
    struct pkt req = captured(&sim, ARP, 0), rep = captured(&sim, ARP, 1);
    CHECK_EQ_UINT(req.arp_op, 1);
    CHECK(memcmp(sim.cap[0], BCAST_MAC, 6) == 0);
    CHECK_EQ_UINT(rep.arp_op, 2);
    CHECK_EQ_UINT(rep.arp_spa, NET_IP(10, 0, 0, 2));
    CHECK_EQ_UINT(rep.arp_tpa, NET_IP(10, 0, 0, 1));
    CHECK(memcmp(sim.cap[1], sim.node[0].mac, 6) == 0); /* the reply is unicast */
    CHECK_EQ_INT(net_ping_poll(sim.node[0].net, 1, 1, NULL), OK);
    struct net_arp_entry e[4];
    CHECK_EQ_UINT(net_arp_list(sim.node[0].net, e, 4), 1);
    CHECK(e[0].resolved);
    CHECK_EQ_UINT(e[0].ip, NET_IP(10, 0, 0, 2));
    CHECK(memcmp(e[0].mac, sim.node[1].mac, 6) == 0);
    CHECK(e[0].expires_ms > 59000 && e[0].expires_ms <= 60000);
    /* The answering side learned the asker from its request. */
    CHECK_EQ_UINT(net_arp_list(sim.node[1].net, e, 4), 1);
    CHECK_EQ_UINT(e[0].ip, NET_IP(10, 0, 0, 1));
    /* expiry after 60 s */
    sim_advance(&sim, 60001);
    CHECK_EQ_UINT(net_arp_list(sim.node[0].net, e, 4), 0);
    sim_destroy(&sim);
}

TEST(request_for_us_is_answered) {
    struct sim sim;
    setup(&sim, 2);
    uint8_t f[60];
    build_arp(f, BCAST_MAC, 1, PEER_MAC, PEER_IP, ZERO_MAC, NODE_IP);
    input(&sim, f, sizeof(f));
    CHECK_EQ_UINT(sim.ncap, 1);
    const uint8_t *a = sim.cap[0] + 14;
    CHECK(memcmp(sim.cap[0], PEER_MAC, 6) == 0);
    CHECK_EQ_UINT(rd16(a + 6), 2);
    CHECK(memcmp(a + 8, sim.node[0].mac, 6) == 0);
    CHECK_EQ_UINT(rd32(a + 14), NODE_IP);
    CHECK(memcmp(a + 18, PEER_MAC, 6) == 0);
    CHECK_EQ_UINT(rd32(a + 24), PEER_IP);
    CHECK(arp_entry(&sim, PEER_IP) && arp_entry(&sim, PEER_IP)->resolved);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).arp_requests_in, 1);
    sim_destroy(&sim);
}

TEST(request_for_someone_else_is_ignored) {
    struct sim sim;
    setup(&sim, 3);
    uint8_t f[60];
    build_arp(f, BCAST_MAC, 1, PEER_MAC, PEER_IP, ZERO_MAC, NET_IP(10, 0, 0, 3));
    input(&sim, f, sizeof(f));
    CHECK_EQ_UINT(sim.ncap, 0);
    CHECK(!arp_entry(&sim, PEER_IP)); /* not learned: not aimed at us */
    sim_destroy(&sim);
}

TEST(merge_rule_and_gratuitous_arp) {
    struct sim sim;
    setup(&sim, 4);
    uint8_t f[60], mac2[6] = {0x02, 9, 9, 9, 9, 9};
    /* gratuitous ARP from a stranger: not learned */
    build_arp(f, BCAST_MAC, 1, PEER_MAC, PEER_IP, ZERO_MAC, PEER_IP);
    input(&sim, f, sizeof(f));
    CHECK(!arp_entry(&sim, PEER_IP));
    CHECK_EQ_UINT(sim.ncap, 0);
    /* learn it properly */
    build_arp(f, BCAST_MAC, 1, PEER_MAC, PEER_IP, ZERO_MAC, NODE_IP);
    input(&sim, f, sizeof(f));
    CHECK(memcmp(arp_entry(&sim, PEER_IP)->mac, PEER_MAC, 6) == 0);
    /* now a gratuitous ARP with a new MAC updates it */
    build_arp(f, BCAST_MAC, 1, mac2, PEER_IP, ZERO_MAC, PEER_IP);
    input(&sim, f, sizeof(f));
    CHECK(memcmp(arp_entry(&sim, PEER_IP)->mac, mac2, 6) == 0);
    /* and so does a gratuitous reply */
    build_arp(f, BCAST_MAC, 2, PEER_MAC, PEER_IP, BCAST_MAC, PEER_IP);
    input(&sim, f, sizeof(f));
    CHECK(memcmp(arp_entry(&sim, PEER_IP)->mac, PEER_MAC, 6) == 0);
    /* somebody claiming our address */
    build_arp(f, BCAST_MAC, 1, mac2, NODE_IP, ZERO_MAC, NODE_IP);
    input(&sim, f, sizeof(f));
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).arp_conflicts, 1);
    sim_destroy(&sim);
}

TEST(malformed_arp_is_dropped) {
    struct sim sim;
    setup(&sim, 5);
    uint8_t f[60], g[60];
    build_arp(f, BCAST_MAC, 1, PEER_MAC, PEER_IP, ZERO_MAC, NODE_IP);
    struct {
        size_t off;
        uint8_t val;
    } breaks[] = {{15, 6}, {17, 0xdd}, {18, 8}, {19, 16}, {21, 3}, {21, 0}};
    for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++) {
        memcpy(g, f, 60);
        g[breaks[i].off] = breaks[i].val;
        input(&sim, g, 60);
    }
    input(&sim, f, 14 + 27); /* short */
    memcpy(g, f, 60);
    g[22] = 0x01; /* multicast sender MAC */
    input(&sim, g, 60);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).arp_bad, 8);
    CHECK_EQ_UINT(sim.ncap, 0);
    CHECK(!arp_entry(&sim, PEER_IP));
    /* a sender of 0.0.0.0 (a probe) is answered but not learned */
    memcpy(g, f, 60);
    wr32(g + 28, 0);
    input(&sim, g, 60);
    CHECK_EQ_UINT(sim.ncap, 1);
    CHECK_EQ_UINT(arp_count(&sim), 0);
    sim_destroy(&sim);
}

TEST(unanswered_request_retries_then_gives_up) {
    struct sim sim;
    setup(&sim, 6);
    int u = udp_open(N(&sim), 0);
    uint64_t t0 = sim.now;
    CHECK_EQ_INT(udp_sendto(N(&sim), u, PEER_IP, 9, "x", 1), 1);
    CHECK_EQ_UINT(arp_entry(&sim, PEER_IP)->queued, 1);
    CHECK(!arp_entry(&sim, PEER_IP)->resolved);
    CHECK_EQ_UINT(net_next_deadline_ms(N(&sim)), t0 + 1000);
    sim_advance(&sim, 10000);
    CHECK_EQ_UINT(captured_count(&sim, ARP), 3);
    CHECK(!arp_entry(&sim, PEER_IP));
    struct net_stats st = sim_stats(&sim.node[0]);
    CHECK_EQ_UINT(st.arp_requests_out, 3);
    CHECK_EQ_UINT(st.arp_failed, 1);
    CHECK_EQ_UINT(st.arp_queue_drops, 1);
    CHECK_EQ_UINT(captured_count(&sim, UDP), 0);
    CHECK_EQ_UINT(net_next_deadline_ms(N(&sim)), NET_NO_DEADLINE);
    sim_destroy(&sim);
}

TEST(pending_queue_per_address_keeps_the_latest) {
    struct sim sim;
    setup(&sim, 7);
    int u = udp_open(N(&sim), 0);
    for (int i = 0; i < 10; i++) {
        uint8_t d = (uint8_t) i;
        CHECK_EQ_INT(udp_sendto(N(&sim), u, PEER_IP, 9, &d, 1), 1);
    }
    CHECK_EQ_UINT(arp_entry(&sim, PEER_IP)->queued, 4);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).arp_queue_drops, 6);
    CHECK_EQ_UINT(captured_count(&sim, ARP), 1); /* one request, not ten */
    uint8_t f[60];
    build_arp(f, sim.node[0].mac, 2, PEER_MAC, PEER_IP, sim.node[0].mac, NODE_IP);
    input(&sim, f, sizeof(f));
    CHECK_EQ_UINT(captured_count(&sim, UDP), 4);
    for (unsigned i = 0; i < 4; i++)
        CHECK_EQ_UINT(captured(&sim, UDP, i).data[0], 6 + i);
    CHECK_EQ_UINT(arp_entry(&sim, PEER_IP)->queued, 0);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).arp_replies_in, 1);
    sim_destroy(&sim);
}

TEST(pending_queue_is_bounded_globally) {
    struct sim sim;
    setup(&sim, 8);
    int u = udp_open(N(&sim), 0);
    for (uint32_t h = 0; h < 20; h++) {
        for (int i = 0; i < 4; i++)
            CHECK_EQ_INT(udp_sendto(N(&sim), u, NET_IP(10, 0, 1, 1 + h), 9, "x", 1), 1);
    }
    CHECK_EQ_UINT(queued_total(&sim), 32);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).arp_queue_drops, 48);
    sim_advance(&sim, 10000);
    CHECK_EQ_UINT(queued_total(&sim), 0);
    CHECK_EQ_UINT(arp_count(&sim), 0);
    sim_destroy(&sim);
}

TEST(table_is_bounded_with_lru_eviction) {
    struct sim sim;
    setup(&sim, 9);
    int u = udp_open(N(&sim), 0);
    /* 100 resolutions in turn: each answered at once */
    for (uint32_t h = 0; h < 100; h++) {
        uint32_t ip = NET_IP(10, 0, 2, 1 + h);
        uint8_t mac[6], f[60];
        mac_for(mac, h);
        CHECK_EQ_INT(udp_sendto(N(&sim), u, ip, 9, "x", 1), 1);
        build_arp(f, sim.node[0].mac, 2, mac, ip, sim.node[0].mac, NODE_IP);
        input(&sim, f, sizeof(f));
        sim.now += 10;
    }
    struct net_arp_entry e[128];
    CHECK_EQ_UINT(arp_entries(&sim, e, 128), 64);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).arp_evictions, 36);
    CHECK(!arp_entry(&sim, NET_IP(10, 0, 2, 1)));   /* the oldest went */
    CHECK(arp_entry(&sim, NET_IP(10, 0, 2, 100))); /* the newest stayed */
    CHECK_EQ_UINT(captured_count(&sim, UDP), 100);
    sim_destroy(&sim);
}

TEST(flood_of_requests_from_10000_addresses) {
    struct sim sim;
    setup(&sim, 10);
    /* the gateway-like entry in use */
    int u = udp_open(N(&sim), 0);
    uint8_t f[60];
    build_arp(f, BCAST_MAC, 1, PEER_MAC, PEER_IP, ZERO_MAC, NODE_IP);
    input(&sim, f, sizeof(f));
    for (uint32_t i = 0; i < 10000; i++) {
        uint8_t mac[6];
        mac_for(mac, i);
        build_arp(f, BCAST_MAC, (i & 1) ? 1 : 2, mac, NET_IP(10, 0, 0, 0) + 256 + i, ZERO_MAC,
                  NODE_IP);
        input(&sim, f, sizeof(f));
        if (i % 100 == 0) {
            CHECK_EQ_INT(udp_sendto(N(&sim), u, PEER_IP, 9, "x", 1), 1); /* keep it in use */
            sim.now += 1;
            sim_clear_capture(&sim);
        }
        CHECK(arp_count(&sim) <= 64);
    }
    struct net_arp_entry e[128];
    CHECK_EQ_UINT(arp_entries(&sim, e, 128), 64);
    CHECK(arp_entry(&sim, PEER_IP)); /* the entry in use survived */
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).arp_requests_in, 5001);
    sim_destroy(&sim);
}

TEST(flood_of_ip_from_10000_unresolved_addresses) {
    struct sim sim;
    setup(&sim, 11);
    /* echo requests from 10,000 hosts whose MACs we do not know: every
     * answer needs a resolution */
    for (uint32_t i = 0; i < 10000; i++) {
        uint8_t f[200], mac[6];
        mac_for(mac, i);
        uint32_t src = NET_IP(10, 0, 0, 0) + 256 + i;
        uint8_t *m = build_ip(f, sim.node[0].mac, mac, src, NODE_IP, 1, 8);
        memset(m, 0, 8);
        m[0] = 8;
        wr16(m + 2, t_fold(t_sum(0, m, 8)));
        input(&sim, f, 14 + 20 + 8);
        if (i % 1000 == 999) {
            CHECK(arp_count(&sim) <= 64);
            CHECK(queued_total(&sim) <= 32);
            sim_clear_capture(&sim);
            sim.now += 100;
            net_tick(N(&sim));
        }
    }
    CHECK_EQ_UINT(arp_count(&sim), 64);
    CHECK(queued_total(&sim) <= 32);
    sim_advance(&sim, 10000);
    CHECK_EQ_UINT(arp_count(&sim), 0);
    CHECK_EQ_UINT(queued_total(&sim), 0);
    sim_destroy(&sim);
}
