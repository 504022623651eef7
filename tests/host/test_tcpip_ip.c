/*
 * Host tests of Ethernet, IPv4, ICMP and UDP in the TCP/IP core
 * (servers/tcpip): every kind of bad header is dropped and counted, echo
 * replies are correct, pings and UDP work between two cores, routing goes
 * through the gateway, and the per-socket UDP queue is bounded.
 */
#include "check.h"

#include "tcpip_sim.h"

#define ICMP 1
#define UDP  17

static struct net *N(struct sim *sim) {
    return sim->node[0].net;
}

/* An ICMP echo request from the peer; returns the frame length. */
static size_t build_echo(uint8_t *f, uint32_t dst, uint16_t id, uint16_t seq, size_t plen) {
    uint8_t *m = build_ip(f, (const uint8_t[6]){0x02, 0, 0, 0, 0, 1}, PEER_MAC, PEER_IP, dst,
                          ICMP, 8 + plen);
    m[0] = 8;
    m[1] = 0;
    wr16(m + 2, 0);
    wr16(m + 4, id);
    wr16(m + 6, seq);
    for (size_t i = 0; i < plen; i++)
        m[8 + i] = (uint8_t) (i ^ 0x5a);
    wr16(m + 2, t_fold(t_sum(0, m, 8 + plen)));
    return 14 + 20 + 8 + plen;
}

static void input(struct sim *sim, const uint8_t *f, size_t len) {
    net_input(N(sim), f, len);
}

TEST(echo_reply_is_correct) {
    struct sim sim;
    sim_single(&sim, 1);
    uint8_t f[1600];
    size_t n = build_echo(f, NODE_IP, 0x1234, 7, 1000);
    input(&sim, f, n);
    CHECK_EQ_UINT(captured_count(&sim, ICMP), 1);
    struct pkt p = captured(&sim, ICMP, 0);
    CHECK_EQ_UINT(p.src, NODE_IP);
    CHECK_EQ_UINT(p.dst, PEER_IP);
    CHECK_EQ_UINT(p.l4len, 1008);
    CHECK_EQ_UINT(p.l4[0], 0);
    CHECK_EQ_UINT(p.l4[1], 0);
    CHECK_EQ_UINT(rd16(p.l4 + 4), 0x1234);
    CHECK_EQ_UINT(rd16(p.l4 + 6), 7);
    CHECK(memcmp(p.l4 + 8, f + 42, 1000) == 0);
    CHECK_EQ_UINT(t_fold(t_sum(0, p.l4, p.l4len)), 0);
    CHECK(memcmp(sim.cap[0], PEER_MAC, 6) == 0);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).icmp_echo_replied, 1);
    /* odd payload lengths too */
    sim_clear_capture(&sim);
    n = build_echo(f, NODE_IP, 1, 2, 37);
    input(&sim, f, n);
    CHECK_EQ_UINT(captured_count(&sim, ICMP), 1);
    sim_destroy(&sim);
}

/* Feed a modified echo request and expect it to be dropped, counted in
 * the stat at offset `stat` of struct net_stats. */
#define EXPECT_DROP(sim, frame, len, field)                                   \
    do {                                                                      \
        uint64_t before_ = sim_stats(&(sim)->node[0]).field;                  \
        sim_clear_capture(sim);                                               \
        input((sim), (frame), (len));                                         \
        CHECK_EQ_UINT(sim_stats(&(sim)->node[0]).field, before_ + 1);         \
        CHECK_EQ_UINT((sim)->ncap, 0);                                        \
    } while (0)

TEST(bad_ipv4_headers_are_dropped_and_counted) {
    struct sim sim;
    sim_single(&sim, 2);
    uint8_t f[1600], g[1600];
    size_t n = build_echo(f, NODE_IP, 1, 1, 32);
    uint8_t *ip = g + 14;
    /* bad header checksum */
    memcpy(g, f, n);
    ip[10] ^= 0x40;
    EXPECT_DROP(&sim, g, n, ip_bad_checksum);
    /* shorter than an IPv4 header */
    EXPECT_DROP(&sim, f, 14 + 19, ip_short);
    /* shorter than an Ethernet header, longer than 1518 bytes */
    EXPECT_DROP(&sim, f, 13, eth_short);
    static uint8_t jumbo[9000];
    memcpy(jumbo, f, n);
    EXPECT_DROP(&sim, jumbo, 1519, eth_too_long);
    EXPECT_DROP(&sim, NULL, 0, eth_short);
    /* total length beyond the frame, or below 20 */
    memcpy(g, f, n);
    wr16(ip + 2, (uint16_t) (n - 14 + 1));
    fix_ip_checksum(g);
    EXPECT_DROP(&sim, g, n, ip_bad_len);
    memcpy(g, f, n);
    wr16(ip + 2, 19);
    fix_ip_checksum(g);
    EXPECT_DROP(&sim, g, n, ip_bad_len);
    /* IHL below 5 */
    memcpy(g, f, n);
    ip[0] = 0x44;
    fix_ip_checksum(g);
    EXPECT_DROP(&sim, g, n, ip_bad_len);
    /* options */
    memcpy(g, f, n);
    ip[0] = 0x46;
    EXPECT_DROP(&sim, g, n, ip_options);
    /* not version 4 */
    memcpy(g, f, n);
    ip[0] = 0x65;
    fix_ip_checksum(g);
    EXPECT_DROP(&sim, g, n, ip_bad_version);
    /* fragments: more-fragments, or an offset */
    memcpy(g, f, n);
    wr16(ip + 6, 0x2000);
    fix_ip_checksum(g);
    EXPECT_DROP(&sim, g, n, ip_fragments);
    memcpy(g, f, n);
    wr16(ip + 6, 0x0010);
    fix_ip_checksum(g);
    EXPECT_DROP(&sim, g, n, ip_fragments);
    /* ... but DF alone is fine */
    memcpy(g, f, n);
    wr16(ip + 6, 0x4000);
    fix_ip_checksum(g);
    sim_clear_capture(&sim);
    input(&sim, g, n);
    CHECK_EQ_UINT(captured_count(&sim, ICMP), 1);
    /* TTL 0 */
    memcpy(g, f, n);
    ip[8] = 0;
    fix_ip_checksum(g);
    EXPECT_DROP(&sim, g, n, ip_bad_ttl);
    /* for another host */
    memcpy(g, f, n);
    wr32(ip + 16, NET_IP(10, 0, 0, 3));
    fix_ip_checksum(g);
    EXPECT_DROP(&sim, g, n, ip_not_for_us);
    /* martian sources */
    static const uint32_t martians[] = {0, NET_IP(127, 0, 0, 1), NET_IP(224, 0, 0, 5),
                                        0xffffffffu, NET_IP(10, 0, 0, 255), NODE_IP};
    for (size_t i = 0; i < sizeof(martians) / sizeof(martians[0]); i++) {
        memcpy(g, f, n);
        wr32(ip + 12, martians[i]);
        fix_ip_checksum(g);
        EXPECT_DROP(&sim, g, n, ip_bad_src);
    }
    /* an unknown protocol */
    memcpy(g, f, n);
    ip[9] = 47;
    fix_ip_checksum(g);
    EXPECT_DROP(&sim, g, n, ip_unknown_proto);
    /* not our MAC */
    memcpy(g, f, n);
    g[5] = 0x99;
    EXPECT_DROP(&sim, g, n, eth_not_for_us);
    /* our own frame coming back */
    memcpy(g, f, n);
    memcpy(g + 6, sim.node[0].mac, 6);
    EXPECT_DROP(&sim, g, n, eth_not_for_us);
    /* not ARP or IPv4 */
    memcpy(g, f, n);
    wr16(g + 12, 0x86dd);
    EXPECT_DROP(&sim, g, n, eth_unknown_type);
    /* bad ICMP checksum */
    memcpy(g, f, n);
    g[14 + 20 + 9] ^= 1;
    EXPECT_DROP(&sim, g, n, icmp_bad);
    /* echo to the broadcast address: not answered */
    memcpy(g, f, n);
    wr32(ip + 16, 0xffffffffu);
    fix_ip_checksum(g);
    EXPECT_DROP(&sim, g, n, icmp_other);
    /* After all that, a good one is still answered. */
    sim_clear_capture(&sim);
    input(&sim, f, n);
    CHECK_EQ_UINT(captured_count(&sim, ICMP), 1);
    sim_destroy(&sim);
}

TEST(ethernet_padding_is_ignored) {
    struct sim sim;
    sim_single(&sim, 3);
    uint8_t f[100];
    memset(f, 0xee, sizeof(f));
    size_t n = build_echo(f, NODE_IP, 9, 9, 4); /* 46 bytes of 100 */
    (void) n;
    input(&sim, f, 100);
    CHECK_EQ_UINT(captured_count(&sim, ICMP), 1);
    CHECK_EQ_UINT(captured(&sim, ICMP, 0).l4len, 12);
    sim_destroy(&sim);
}

TEST(bad_udp_and_tcp_are_dropped) {
    struct sim sim;
    sim_single(&sim, 4);
    int u = udp_open(N(&sim), 5000);
    CHECK(u > 0);
    uint8_t f[200], g[200];
    size_t n = build_udp(f, sim.node[0].mac, PEER_MAC, PEER_IP, 6000, NODE_IP, 5000, "hello", 5);
    memcpy(g, f, n);
    g[14 + 20 + 8] ^= 1; /* payload changed, checksum not */
    EXPECT_DROP(&sim, g, n, udp_bad);
    memcpy(g, f, n);
    wr16(g + 14 + 20 + 4, 100); /* UDP length past the packet */
    EXPECT_DROP(&sim, g, n, udp_bad);
    memcpy(g, f, n);
    wr16(g + 14 + 20 + 4, 7);
    EXPECT_DROP(&sim, g, n, udp_bad);
    /* checksum 0 means none */
    memcpy(g, f, n);
    wr16(g + 14 + 20 + 6, 0);
    input(&sim, g, n);
    input(&sim, f, n);
    char buf[16];
    CHECK_EQ_INT(udp_recvfrom(N(&sim), u, buf, sizeof(buf), NULL, NULL), 5);
    CHECK_EQ_INT(udp_recvfrom(N(&sim), u, buf, sizeof(buf), NULL, NULL), 5);
    CHECK_EQ_INT(udp_recvfrom(N(&sim), u, buf, sizeof(buf), NULL, NULL), ERR_WOULD_BLOCK);
    /* nobody on the port */
    n = build_udp(f, sim.node[0].mac, PEER_MAC, PEER_IP, 6000, NODE_IP, 5001, "x", 1);
    EXPECT_DROP(&sim, f, n, udp_no_port);
    /* TCP: bad checksum, bad data offset, to a broadcast address */
    n = build_tcp(f, sim.node[0].mac, PEER_MAC, PEER_IP, 6000, NODE_IP, 80, 1, 0, T_SYN, 1000,
                  NULL, 0);
    memcpy(g, f, n);
    g[14 + 20 + 4] ^= 1;
    EXPECT_DROP(&sim, g, n, tcp_bad);
    memcpy(g, f, n);
    g[14 + 20 + 12] = 0x40; /* data offset 16 bytes */
    wr16(g + 14 + 20 + 16, 0);
    wr16(g + 14 + 20 + 16, t_fold(t_sum(t_pseudo(PEER_IP, NODE_IP, 6, 20), g + 34, 20)));
    EXPECT_DROP(&sim, g, n, tcp_bad);
    memcpy(g, f, n);
    g[14 + 20 + 12] = 0xf0; /* data offset 60 bytes > segment */
    wr16(g + 14 + 20 + 16, 0);
    wr16(g + 14 + 20 + 16, t_fold(t_sum(t_pseudo(PEER_IP, NODE_IP, 6, 20), g + 34, 20)));
    EXPECT_DROP(&sim, g, n, tcp_bad);
    n = build_tcp(f, BCAST_MAC, PEER_MAC, PEER_IP, 6000, 0xffffffffu, 80, 1, 0, T_SYN, 1000,
                  NULL, 0);
    EXPECT_DROP(&sim, f, n, ip_not_for_us);
    sim_destroy(&sim);
}

/* ---- ping ------------------------------------------------------------------------------------- */
TEST(ping_between_two_cores) {
    struct sim sim;
    sim_pair(&sim, 5, NULL);
    sim.node[0].imp.delay_ms = 3;
    sim.node[1].imp.delay_ms = 3;
    struct net *a = sim.node[0].net;
    uint32_t rtt = 0;
    CHECK_EQ_INT(net_ping_poll(a, 7, 1, &rtt), ERR_NOT_FOUND);
    CHECK_EQ_INT(net_ping(a, NET_IP(10, 0, 0, 2), 7, 1, 56), OK);
    CHECK_EQ_INT(net_ping_poll(a, 7, 1, &rtt), ERR_WOULD_BLOCK);
    sim_advance(&sim, 100);
    CHECK_EQ_INT(net_ping_poll(a, 7, 1, &rtt), OK);
    CHECK_EQ_UINT(rtt, 12); /* ARP there and back, then the echo */
    CHECK_EQ_INT(net_ping_poll(a, 7, 1, &rtt), ERR_NOT_FOUND); /* collected */
    CHECK_EQ_INT(net_ping(a, NET_IP(10, 0, 0, 2), 7, 2, 1472), OK);
    sim_advance(&sim, 100);
    CHECK_EQ_INT(net_ping_poll(a, 7, 2, &rtt), OK);
    CHECK_EQ_UINT(rtt, 6);
    CHECK_EQ_INT(net_ping(a, NET_IP(10, 0, 0, 2), 7, 3, 1473), ERR_TOO_LARGE);
    CHECK_EQ_INT(net_ping(a, NET_IP(8, 8, 8, 8), 7, 3, 10), ERR_NOT_FOUND); /* no gateway */
    /* nobody there */
    CHECK_EQ_INT(net_ping(a, NET_IP(10, 0, 0, 50), 7, 4, 10), OK);
    sim_advance(&sim, 5000);
    CHECK_EQ_INT(net_ping_poll(a, 7, 4, &rtt), ERR_WOULD_BLOCK);
    CHECK_EQ_UINT(sim_stats(&sim.node[1]).icmp_echo_replied, 2);
    sim_destroy(&sim);
}

TEST(ping_reply_must_match) {
    struct sim sim;
    sim_single(&sim, 6);
    CHECK_EQ_INT(net_ping(N(&sim), PEER_IP, 5, 6, 8), OK);
    struct pkt req = captured(&sim, ICMP, 0);
    uint8_t f[200];
    /* a reply with the wrong payload, then with the wrong sequence number */
    uint8_t *m = build_ip(f, sim.node[0].mac, PEER_MAC, PEER_IP, NODE_IP, ICMP, 16);
    memcpy(m, req.l4, 16);
    m[0] = 0;
    m[10] ^= 1;
    wr16(m + 2, 0);
    wr16(m + 2, t_fold(t_sum(0, m, 16)));
    input(&sim, f, 14 + 20 + 16);
    CHECK_EQ_INT(net_ping_poll(N(&sim), 5, 6, NULL), ERR_WOULD_BLOCK);
    m[10] ^= 1;
    wr16(m + 6, 7);
    wr16(m + 2, 0);
    wr16(m + 2, t_fold(t_sum(0, m, 16)));
    input(&sim, f, 14 + 20 + 16);
    CHECK_EQ_INT(net_ping_poll(N(&sim), 5, 6, NULL), ERR_WOULD_BLOCK);
    wr16(m + 6, 6);
    wr16(m + 2, 0);
    wr16(m + 2, t_fold(t_sum(0, m, 16)));
    input(&sim, f, 14 + 20 + 16);
    CHECK_EQ_INT(net_ping_poll(N(&sim), 5, 6, NULL), OK);
    sim_destroy(&sim);
}

TEST(no_address_no_ping) {
    struct sim sim;
    sim_init(&sim, 7);
    sim_add(&sim, NULL);
    CHECK_EQ_INT(net_ping(N(&sim), PEER_IP, 1, 1, 1), ERR_UNAVAILABLE);
    int u = udp_open(N(&sim), 0);
    CHECK(u > 0);
    CHECK_EQ_INT(udp_sendto(N(&sim), u, PEER_IP, 9, "x", 1), ERR_UNAVAILABLE);
    /* an echo request to an unconfigured node is not answered */
    sim.capture = true;
    uint8_t f[200];
    size_t n = build_echo(f, PEER_IP, 1, 1, 1);
    input(&sim, f, n);
    CHECK_EQ_UINT(sim.ncap, 0);
    sim_destroy(&sim);
}

/* ---- UDP ---------------------------------------------------------------------------------------- */
TEST(udp_round_trip) {
    struct sim sim;
    sim_pair(&sim, 8, NULL);
    struct net *a = sim.node[0].net, *b = sim.node[1].net;
    int sa = udp_open(a, 0), sb = udp_open(b, 53);
    CHECK(sa > 0 && sb > 0);
    CHECK_EQ_INT(udp_open(b, 53), ERR_IN_USE);
    uint16_t pa = addr_of(a, sa).local_port;
    CHECK(pa >= 49152);
    uint8_t msg[1472];
    fill_pattern(msg, sizeof(msg), 3);
    CHECK_EQ_INT(udp_sendto(a, sa, NET_IP(10, 0, 0, 2), 53, msg, sizeof(msg)), 1472);
    CHECK_EQ_INT(udp_sendto(a, sa, NET_IP(10, 0, 0, 2), 53, msg, 1473), ERR_TOO_LARGE);
    CHECK_EQ_INT(udp_sendto(a, sa, NET_IP(10, 0, 0, 2), 0, msg, 1), ERR_INVALID_ARG);
    sim_advance(&sim, 10);
    CHECK(sock_events(b, sb) & NET_EV_READABLE);
    uint8_t buf[2000];
    uint32_t ip;
    uint16_t port;
    CHECK_EQ_INT(udp_recvfrom(b, sb, buf, sizeof(buf), &ip, &port), 1472);
    CHECK(memcmp(buf, msg, 1472) == 0);
    CHECK_EQ_UINT(ip, NET_IP(10, 0, 0, 1));
    CHECK_EQ_UINT(port, pa);
    CHECK(!(sock_events(b, sb) & NET_EV_READABLE));
    /* reply, and an empty datagram */
    CHECK_EQ_INT(udp_sendto(b, sb, ip, port, "pong", 4), 4);
    CHECK_EQ_INT(udp_sendto(b, sb, ip, port, "", 0), 0);
    CHECK_EQ_INT(net_ping(b, NET_IP(10, 0, 0, 2), 1, 1, 0), ERR_NOT_SUPPORTED);
    sim_advance(&sim, 10);
    CHECK_EQ_INT(udp_recvfrom(a, sa, buf, sizeof(buf), &ip, &port), 4);
    CHECK(memcmp(buf, "pong", 4) == 0);
    CHECK_EQ_UINT(port, 53);
    CHECK_EQ_INT(udp_recvfrom(a, sa, buf, sizeof(buf), &ip, &port), 0);
    CHECK_EQ_INT(udp_recvfrom(a, sa, buf, sizeof(buf), &ip, &port), ERR_WOULD_BLOCK);
    /* a datagram longer than the buffer is cut */
    CHECK_EQ_INT(udp_sendto(b, sb, NET_IP(10, 0, 0, 1), pa, "0123456789", 10), 10);
    CHECK_EQ_INT(udp_sendto(b, sb, NET_IP(10, 0, 0, 2), pa, "me", 2), ERR_NOT_SUPPORTED);
    sim_advance(&sim, 10);
    CHECK_EQ_INT(udp_recvfrom(a, sa, buf, 4, NULL, NULL), 4);
    CHECK_EQ_INT(udp_recvfrom(a, sa, buf, 4, NULL, NULL), ERR_WOULD_BLOCK);
    CHECK_EQ_INT(udp_close(a, sa), OK);
    CHECK_EQ_INT(udp_close(a, sa), ERR_NOT_FOUND);
    sim_destroy(&sim);
}

TEST(udp_broadcast) {
    struct sim sim;
    sim_pair(&sim, 9, NULL);
    struct net *a = sim.node[0].net, *b = sim.node[1].net;
    int sa = udp_open(a, 0), sb = udp_open(b, 999);
    sim.capture = true;
    CHECK_EQ_INT(udp_sendto(a, sa, 0xffffffffu, 999, "all", 3), 3);
    CHECK_EQ_INT(udp_sendto(a, sa, NET_IP(10, 0, 0, 255), 999, "net", 3), 3);
    sim_advance(&sim, 10);
    CHECK(memcmp(sim.cap[0], BCAST_MAC, 6) == 0); /* no ARP for broadcasts */
    CHECK(memcmp(sim.cap[1], BCAST_MAC, 6) == 0);
    char buf[8];
    CHECK_EQ_INT(udp_recvfrom(b, sb, buf, sizeof(buf), NULL, NULL), 3);
    CHECK_EQ_INT(udp_recvfrom(b, sb, buf, sizeof(buf), NULL, NULL), 3);
    sim_destroy(&sim);
}

TEST(udp_queue_is_bounded) {
    struct sim sim;
    sim_pair(&sim, 10, NULL);
    struct net *a = sim.node[0].net, *b = sim.node[1].net;
    int sa = udp_open(a, 0), sb = udp_open(b, 7);
    CHECK_EQ_INT(net_ping(a, NET_IP(10, 0, 0, 2), 1, 1, 0), OK); /* resolve ARP first */
    sim_advance(&sim, 10);
    for (int i = 0; i < 30; i++) {
        uint8_t d = (uint8_t) i;
        CHECK_EQ_INT(udp_sendto(a, sa, NET_IP(10, 0, 0, 2), 7, &d, 1), 1);
    }
    sim_advance(&sim, 10);
    CHECK_EQ_UINT(sim_stats(&sim.node[1]).udp_queue_drops, 14);
    for (int i = 0; i < 16; i++) {
        uint8_t d;
        CHECK_EQ_INT(udp_recvfrom(b, sb, &d, 1, NULL, NULL), 1);
        CHECK_EQ_UINT(d, (unsigned) i);
    }
    uint8_t d;
    CHECK_EQ_INT(udp_recvfrom(b, sb, &d, 1, NULL, NULL), ERR_WOULD_BLOCK);
    sim_destroy(&sim);
}

TEST(off_link_traffic_goes_through_the_gateway) {
    struct sim sim;
    sim_init(&sim, 11);
    sim_add(&sim, NULL);
    sim.capture = true;
    CHECK_EQ_INT(net_set_static(N(&sim), NET_IP(192, 168, 1, 10), NET_IP(255, 255, 255, 0),
                                NET_IP(192, 168, 1, 1)),
                 OK);
    struct net_config cfg;
    net_get_config(N(&sim), &cfg);
    CHECK_EQ_UINT(cfg.gw, NET_IP(192, 168, 1, 1));
    CHECK_EQ_INT(cfg.dhcp_state, NET_DHCP_OFF);
    int u = udp_open(N(&sim), 0);
    CHECK_EQ_INT(udp_sendto(N(&sim), u, NET_IP(8, 8, 8, 8), 53, "q", 1), 1);
    struct pkt arp = captured(&sim, 0, 0);
    CHECK(arp.arp);
    CHECK_EQ_UINT(arp.arp_op, 1);
    CHECK_EQ_UINT(arp.arp_tpa, NET_IP(192, 168, 1, 1));
    CHECK_EQ_UINT(arp.arp_spa, NET_IP(192, 168, 1, 10));
    /* the gateway answers; the datagram goes to its MAC, addressed to 8.8.8.8 */
    uint8_t f[60];
    build_arp(f, sim.node[0].mac, 2, PEER_MAC, NET_IP(192, 168, 1, 1), sim.node[0].mac,
              NET_IP(192, 168, 1, 10));
    input(&sim, f, sizeof(f));
    struct pkt p = captured(&sim, UDP, 0);
    CHECK_EQ_UINT(p.dst, NET_IP(8, 8, 8, 8));
    CHECK(memcmp(sim.cap[1], PEER_MAC, 6) == 0);
    sim_destroy(&sim);
}

TEST(ip_ids_change_and_df_is_set) {
    struct sim sim;
    sim_single(&sim, 12);
    int u = udp_open(N(&sim), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(udp_sendto(N(&sim), u, PEER_IP, 9, "x", 1), 1);
    CHECK_EQ_UINT(sim.ncap, 3);
    uint16_t id0 = rd16(sim.cap[0] + 18), id1 = rd16(sim.cap[1] + 18);
    CHECK(id0 != id1);
    CHECK_EQ_UINT(rd16(sim.cap[2] + 20), 0x4000);
    sim_destroy(&sim);
}

TEST(stats_count_frames) {
    struct sim sim;
    sim_single(&sim, 13);
    uint8_t f[200];
    size_t n = build_echo(f, NODE_IP, 1, 1, 10);
    struct net_stats before = sim_stats(&sim.node[0]);
    input(&sim, f, n);
    struct net_stats after = sim_stats(&sim.node[0]);
    CHECK_EQ_UINT(after.frames_in, before.frames_in + 1);
    CHECK_EQ_UINT(after.bytes_in, before.bytes_in + n);
    CHECK_EQ_UINT(after.frames_out, before.frames_out + 1);
    CHECK_EQ_UINT(after.bytes_out, before.bytes_out + 60);
    sim_destroy(&sim);
}
