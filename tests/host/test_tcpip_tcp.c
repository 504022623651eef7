/*
 * Host tests of the TCP state machine (servers/tcpip): handshakes and MSS,
 * closes from either side and at once, TIME_WAIT, resets (closed ports,
 * aborts, sequence validation), connect and user timeouts, the listen
 * backlog, half-open and orphaned connections, 100 connections at once,
 * events and socket ids. Bulk transfers under loss are in
 * test_tcpip_xfer.c.
 *
 * Some tests talk to one core through hand-made segments from a fake
 * host (FAKE_IP) and look at what the core sends back (sim.capture).
 */
#include "check.h"

#include "tcpip_sim.h"

#define SRV_IP  NET_IP(10, 0, 0, 2)
#define CLI_IP  NET_IP(10, 0, 0, 1)
#define FAKE_IP PEER_IP

static struct net *A(struct sim *sim) {
    return sim->node[0].net;
}
static struct net *B(struct sim *sim) {
    return sim->node[1].net;
}

static uint16_t client_port(struct sim *sim, struct conn *c) {
    return addr_of(A(sim), c->csock).local_port;
}

/* ---- the fake host ---------------------------------------------------------------------- */
/* One node (10.0.0.2) that knows the fake host's MAC. */
static void fake_setup(struct sim *sim, uint64_t seed) {
    sim_single(sim, seed);
}

static void fake_tcp(struct sim *sim, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                     uint8_t flags, const void *data, size_t len) {
    uint8_t f[1600];
    size_t n = build_tcp(f, sim->node[0].mac, PEER_MAC, FAKE_IP, sport, SRV_IP, dport, seq, ack,
                         flags, 8192, data, len);
    net_input(sim->node[0].net, f, n);
}

static struct pkt captured_tcp(struct sim *sim, unsigned which) {
    return captured(sim, 6, which);
}

static unsigned captured_tcp_count(struct sim *sim) {
    return captured_count(sim, 6);
}

/* Complete a handshake from the fake host to port 80 of the node; returns
 * the node's ISS. Our ISS is 1000. */
static uint32_t fake_connect(struct sim *sim, uint16_t sport) {
    sim_clear_capture(sim);
    fake_tcp(sim, sport, 80, 1000, 0, T_SYN, NULL, 0);
    struct pkt sa = captured_tcp(sim, 0);
    fake_tcp(sim, sport, 80, 1001, sa.seq + 1, T_ACK, NULL, 0);
    sim_clear_capture(sim);
    return sa.seq;
}

/* ---- handshake ---------------------------------------------------------------------------- */
TEST(handshake_and_mss) {
    struct sim sim;
    sim_pair(&sim, 1, NULL);
    sim.capture = true;
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    int syns = 0;
    for (unsigned i = 0; i < sim.ncap; i++) {
        struct pkt p = parse_pkt(sim.cap[i], sim.cap_len[i]);
        if (p.ip && p.proto == 6 && (p.flags & T_SYN)) {
            CHECK_EQ_UINT(p.mss, 1460);
            CHECK_EQ_UINT(p.wnd, 32768);
            syns++;
        }
    }
    CHECK_EQ_INT(syns, 2);
    struct net_sock_addr a = addr_of(B(&sim), c.ssock);
    CHECK_EQ_UINT(a.local_ip, SRV_IP);
    CHECK_EQ_UINT(a.remote_ip, CLI_IP);
    CHECK_EQ_UINT(a.local_port, 80);
    CHECK(a.remote_port >= 49152);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], a.remote_port, 80), TCP_ESTABLISHED);
    CHECK_EQ_INT(tcp_state_of(&sim.node[1], 80, a.remote_port), TCP_ESTABLISHED);
    CHECK(sock_events(A(&sim), c.csock) & NET_EV_WRITABLE);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).tcp_active_opens, 1);
    CHECK_EQ_UINT(sim_stats(&sim.node[1]).tcp_passive_opens, 1);
    CHECK_EQ_UINT(sim.bad_frames, 0);
    sim_destroy(&sim);
}

TEST(peer_without_mss_option_gets_536) {
    struct sim sim;
    fake_setup(&sim, 2);
    int l = tcp_listen(sim.node[0].net, 80, 4);
    CHECK(l > 0);
    fake_connect(&sim, 5000);
    int s = tcp_accept(sim.node[0].net, l);
    CHECK(s > 0);
    static uint8_t buf[3000];
    CHECK_EQ_INT(tcp_send(sim.node[0].net, s, buf, sizeof(buf)), 3000);
    CHECK(captured_tcp_count(&sim) >= 2);
    CHECK_EQ_UINT(captured_tcp(&sim, 0).dlen, 536);
    sim_destroy(&sim);
}

TEST(duplicate_syn_resends_syn_ack) {
    struct sim sim;
    fake_setup(&sim, 3);
    CHECK(tcp_listen(sim.node[0].net, 80, 4) > 0);
    fake_tcp(&sim, 5000, 80, 1000, 0, T_SYN, NULL, 0);
    fake_tcp(&sim, 5000, 80, 1000, 0, T_SYN, NULL, 0);
    CHECK_EQ_UINT(captured_tcp_count(&sim), 2);
    struct pkt a = captured_tcp(&sim, 0), b = captured_tcp(&sim, 1);
    CHECK_EQ_UINT(a.flags, T_SYN | T_ACK);
    CHECK_EQ_UINT(b.flags, T_SYN | T_ACK);
    CHECK_EQ_UINT(a.seq, b.seq);
    CHECK_EQ_UINT(a.ack, 1001);
    sim_destroy(&sim);
}

TEST(simultaneous_open) {
    struct sim sim;
    fake_setup(&sim, 31);
    int s = tcp_connect(sim.node[0].net, FAKE_IP, 80);
    CHECK(s > 0);
    struct pkt syn = captured_tcp(&sim, 0);
    CHECK_EQ_UINT(syn.flags, T_SYN);
    sim_clear_capture(&sim);
    /* the peer's own SYN crosses ours */
    fake_tcp(&sim, 80, syn.sport, 5000, 0, T_SYN, NULL, 0);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], syn.sport, 80), TCP_SYN_RECEIVED);
    struct pkt sa = captured_tcp(&sim, 0);
    CHECK_EQ_UINT(sa.flags, T_SYN | T_ACK);
    CHECK_EQ_UINT(sa.seq, syn.seq);
    CHECK_EQ_UINT(sa.ack, 5001);
    CHECK(!(sock_events(sim.node[0].net, s) & NET_EV_CONNECTED));
    /* its SYN-ACK (RFC 9293 figure 8) is answered with an ACK ... */
    sim_clear_capture(&sim);
    fake_tcp(&sim, 80, syn.sport, 5000, syn.seq + 1, T_SYN | T_ACK, NULL, 0);
    CHECK_EQ_UINT(captured_tcp(&sim, 0).flags, T_ACK);
    /* ... and its ACK completes the handshake */
    fake_tcp(&sim, 80, syn.sport, 5001, syn.seq + 1, T_ACK, "hi", 2);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], syn.sport, 80), TCP_ESTABLISHED);
    CHECK(sock_events(sim.node[0].net, s) & NET_EV_CONNECTED);
    char buf[4];
    CHECK_EQ_INT(tcp_recv(sim.node[0].net, s, buf, sizeof(buf)), 2);
    sim_destroy(&sim);
}

/* ---- closing ------------------------------------------------------------------------------- */
TEST(client_closes_first) {
    struct sim sim;
    sim_pair(&sim, 4, NULL);
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    uint16_t cport = client_port(&sim, &c);
    CHECK_EQ_INT(tcp_send(A(&sim), c.csock, "bye", 3), 3);
    CHECK_EQ_INT(tcp_close(A(&sim), c.csock), OK);
    CHECK_EQ_INT(tcp_send(A(&sim), c.csock, "x", 1), ERR_NOT_FOUND); /* the id is gone */
    sim_advance(&sim, 100);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], cport, 80), TCP_FIN_WAIT_2);
    CHECK_EQ_INT(tcp_state_of(&sim.node[1], 80, cport), TCP_CLOSE_WAIT);
    int ev = sock_events(B(&sim), c.ssock);
    CHECK(ev & NET_EV_READABLE);
    CHECK(ev & NET_EV_HUP);
    char buf[10];
    CHECK_EQ_INT(tcp_recv(B(&sim), c.ssock, buf, sizeof(buf)), 3);
    CHECK(memcmp(buf, "bye", 3) == 0);
    CHECK_EQ_INT(tcp_recv(B(&sim), c.ssock, buf, sizeof(buf)), ERR_EOF);
    /* The server may still send after the client's FIN; the client discards it. */
    CHECK_EQ_INT(tcp_send(B(&sim), c.ssock, "late", 4), 4);
    CHECK_EQ_INT(tcp_close(B(&sim), c.ssock), OK);
    sim_advance(&sim, 100);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], cport, 80), TCP_TIME_WAIT);
    CHECK_EQ_INT(tcp_state_of(&sim.node[1], 80, cport), -1);
    /* TIME_WAIT lasts 2 s. */
    sim_advance(&sim, 1850);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], cport, 80), TCP_TIME_WAIT);
    sim_advance(&sim, 100);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], cport, 80), -1);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).sockets, 0);
    CHECK_EQ_UINT(sim_stats(&sim.node[1]).sockets, 1); /* the listener */
    CHECK_EQ_UINT(sim.bad_frames, 0);
    sim_destroy(&sim);
}

TEST(server_closes_first) {
    struct sim sim;
    sim_pair(&sim, 5, NULL);
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    uint16_t cport = client_port(&sim, &c);
    CHECK_EQ_INT(tcp_send(B(&sim), c.ssock, "HTTP/1.1 200 OK", 15), 15);
    CHECK_EQ_INT(tcp_close(B(&sim), c.ssock), OK);
    sim_advance(&sim, 100);
    CHECK_EQ_INT(tcp_state_of(&sim.node[1], 80, cport), TCP_FIN_WAIT_2);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], cport, 80), TCP_CLOSE_WAIT);
    char buf[32];
    CHECK_EQ_INT(tcp_recv(A(&sim), c.csock, buf, sizeof(buf)), 15);
    CHECK_EQ_INT(tcp_recv(A(&sim), c.csock, buf, sizeof(buf)), ERR_EOF);
    /* still writable in CLOSE_WAIT */
    CHECK(sock_events(A(&sim), c.csock) & NET_EV_WRITABLE);
    CHECK_EQ_INT(tcp_shutdown_write(A(&sim), c.csock), OK);
    sim_advance(&sim, 100);
    /* The client's last ACK came: CLOSED, the user still holds the socket. */
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], cport, 80), TCP_CLOSED);
    CHECK_EQ_INT(tcp_state_of(&sim.node[1], 80, cport), TCP_TIME_WAIT);
    CHECK_EQ_INT(sock_error(A(&sim), c.csock), OK);
    CHECK_EQ_INT(tcp_close(A(&sim), c.csock), OK);
    sim_advance(&sim, 2100);
    CHECK_EQ_INT(tcp_state_of(&sim.node[1], 80, cport), -1);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).sockets, 0);
    CHECK_EQ_UINT(sim.bad_frames, 0);
    sim_destroy(&sim);
}

TEST(simultaneous_close) {
    struct sim sim;
    sim_pair(&sim, 6, NULL);
    sim.node[0].imp.delay_ms = 10;
    sim.node[1].imp.delay_ms = 10;
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    uint16_t cport = client_port(&sim, &c);
    CHECK_EQ_INT(tcp_shutdown_write(A(&sim), c.csock), OK);
    CHECK_EQ_INT(tcp_shutdown_write(B(&sim), c.ssock), OK);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], cport, 80), TCP_FIN_WAIT_1);
    CHECK_EQ_INT(tcp_state_of(&sim.node[1], 80, cport), TCP_FIN_WAIT_1);
    sim_advance(&sim, 12); /* the FINs crossed; the ACKs are on the way */
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], cport, 80), TCP_CLOSING);
    CHECK_EQ_INT(tcp_state_of(&sim.node[1], 80, cport), TCP_CLOSING);
    sim_advance(&sim, 20);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], cport, 80), TCP_TIME_WAIT);
    CHECK_EQ_INT(tcp_state_of(&sim.node[1], 80, cport), TCP_TIME_WAIT);
    sim_advance(&sim, 2100);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], cport, 80), TCP_CLOSED);
    CHECK_EQ_INT(tcp_state_of(&sim.node[1], 80, cport), TCP_CLOSED);
    char b;
    CHECK_EQ_INT(tcp_recv(A(&sim), c.csock, &b, 1), ERR_EOF);
    CHECK_EQ_INT(tcp_recv(B(&sim), c.ssock, &b, 1), ERR_EOF);
    CHECK_EQ_INT(sock_error(A(&sim), c.csock), OK);
    CHECK(sock_events(A(&sim), c.csock) & NET_EV_HUP);
    CHECK_EQ_INT(tcp_close(A(&sim), c.csock), OK);
    CHECK_EQ_INT(tcp_close(B(&sim), c.ssock), OK);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).sockets, 0);
    sim_destroy(&sim);
}

static bool tap_drop_last_ack(struct sim *sim, int from, uint8_t *f, size_t len, void *arg) {
    (void) sim;
    unsigned *left = arg;
    struct pkt p = parse_pkt(f, len);
    /* the client's pure ACK of the server's FIN */
    if (from == 0 && *left && p.ip && p.proto == 6 && p.flags == T_ACK && p.dlen == 0) {
        (*left)--;
        return false;
    }
    return true;
}

TEST(lost_last_ack_fin_is_acked_again_from_time_wait) {
    struct sim sim;
    sim_pair(&sim, 7, NULL);
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    uint16_t cport = client_port(&sim, &c);
    CHECK_EQ_INT(tcp_close(A(&sim), c.csock), OK);
    sim_advance(&sim, 50);
    unsigned drop = 1;
    sim.tap = tap_drop_last_ack;
    sim.tap_arg = &drop;
    CHECK_EQ_INT(tcp_close(B(&sim), c.ssock), OK);
    sim_advance(&sim, 50);
    CHECK_EQ_UINT(drop, 0);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], cport, 80), TCP_TIME_WAIT);
    CHECK_EQ_INT(tcp_state_of(&sim.node[1], 80, cport), TCP_LAST_ACK);
    sim_advance(&sim, 1500); /* the server's FIN is retransmitted and acked */
    CHECK_EQ_INT(tcp_state_of(&sim.node[1], 80, cport), -1);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], cport, 80), TCP_TIME_WAIT); /* restarted */
    sim_advance(&sim, 2100);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], cport, 80), -1);
    sim_destroy(&sim);
}

TEST(orphan_fin_wait_2_times_out) {
    struct sim sim;
    sim_pair(&sim, 8, NULL);
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    uint16_t cport = client_port(&sim, &c);
    CHECK_EQ_INT(tcp_close(A(&sim), c.csock), OK);
    sim_advance(&sim, 1000);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], cport, 80), TCP_FIN_WAIT_2);
    /* The server never closes: the orphan is freed after 30 s. */
    sim_advance(&sim, 29500);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], cport, 80), -1);
    CHECK_EQ_INT(tcp_state_of(&sim.node[1], 80, cport), TCP_CLOSE_WAIT);
    sim_destroy(&sim);
}

TEST(orphan_discards_late_data_but_acknowledges_it) {
    struct sim sim;
    sim_pair(&sim, 9, NULL);
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    CHECK_EQ_INT(tcp_send(A(&sim), c.csock, "unread", 6), 6);
    sim_advance(&sim, 50);
    CHECK_EQ_INT(tcp_close(B(&sim), c.ssock), OK); /* with unread data */
    sim_advance(&sim, 50);
    static uint8_t big[20000];
    CHECK_EQ_INT(tcp_send(A(&sim), c.csock, big, sizeof(big)), (int) sizeof(big));
    sim_advance(&sim, 500);
    /* Everything was acknowledged. */
    struct net_tcp_info info[4];
    CHECK_EQ_UINT(net_tcp_list(A(&sim), info, 4), 1);
    CHECK_EQ_UINT(info[0].sendq, 0);
    CHECK_EQ_INT(info[0].state, TCP_CLOSE_WAIT);
    CHECK_EQ_INT(tcp_close(A(&sim), c.csock), OK);
    sim_advance(&sim, 3000);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).sockets, 0);
    CHECK_EQ_UINT(sim_stats(&sim.node[1]).sockets, 1);
    sim_destroy(&sim);
}

/* ---- resets ---------------------------------------------------------------------------------- */
TEST(connect_to_closed_port_is_refused) {
    struct sim sim;
    sim_pair(&sim, 10, NULL);
    int s = tcp_connect(A(&sim), SRV_IP, 81);
    CHECK(s > 0);
    sim_advance(&sim, 100);
    CHECK_EQ_INT(sock_error(A(&sim), s), ERR_ABORTED);
    int ev = sock_events(A(&sim), s);
    CHECK(ev & NET_EV_ERROR);
    CHECK(!(ev & NET_EV_CONNECTED));
    CHECK_EQ_UINT(sim_stats(&sim.node[1]).tcp_resets_out, 1);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).tcp_resets_in, 1);
    CHECK_EQ_INT(tcp_close(A(&sim), s), OK);
    sim_destroy(&sim);
}

TEST(rst_replies_follow_rfc_9293) {
    struct sim sim;
    fake_setup(&sim, 11);
    /* With ACK: <SEQ=SEG.ACK><CTL=RST> */
    fake_tcp(&sim, 5000, 81, 100, 7777, T_ACK, "data", 4);
    struct pkt r = captured_tcp(&sim, 0);
    CHECK_EQ_UINT(r.flags, T_RST);
    CHECK_EQ_UINT(r.seq, 7777);
    CHECK_EQ_UINT(r.sport, 81);
    CHECK_EQ_UINT(r.dport, 5000);
    sim_clear_capture(&sim);
    /* Without ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
    fake_tcp(&sim, 5000, 81, 100, 0, T_SYN | T_FIN, "data", 4);
    r = captured_tcp(&sim, 0);
    CHECK_EQ_UINT(r.flags, T_RST | T_ACK);
    CHECK_EQ_UINT(r.seq, 0);
    CHECK_EQ_UINT(r.ack, 106);
    sim_clear_capture(&sim);
    /* Never a RST for a RST. */
    fake_tcp(&sim, 5000, 81, 100, 0, T_RST, NULL, 0);
    CHECK_EQ_UINT(captured_tcp_count(&sim), 0);
    sim_destroy(&sim);
}

TEST(rst_needs_the_exact_sequence_number) {
    struct sim sim;
    fake_setup(&sim, 12);
    int l = tcp_listen(sim.node[0].net, 80, 4);
    uint32_t iss = fake_connect(&sim, 5000);
    int s = tcp_accept(sim.node[0].net, l);
    CHECK(s > 0);
    /* In the window but not rcv_nxt: a challenge ACK, the connection lives. */
    fake_tcp(&sim, 5000, 80, 1500, 0, T_RST, NULL, 0);
    CHECK_EQ_UINT(captured_tcp_count(&sim), 1);
    struct pkt ch = captured_tcp(&sim, 0);
    CHECK_EQ_UINT(ch.flags, T_ACK);
    CHECK_EQ_UINT(ch.ack, 1001);
    CHECK_EQ_UINT(ch.seq, iss + 1);
    CHECK_EQ_INT(sock_error(sim.node[0].net, s), OK);
    sim_clear_capture(&sim);
    /* Out of the window: ignored. */
    fake_tcp(&sim, 5000, 80, 1000 + 100000, 0, T_RST, NULL, 0);
    CHECK_EQ_UINT(captured_tcp_count(&sim), 0);
    CHECK_EQ_INT(sock_error(sim.node[0].net, s), OK);
    /* A SYN in a synchronized state: a challenge ACK too, but at most one
     * per 500 ms. */
    fake_tcp(&sim, 5000, 80, 1200, 0, T_SYN, NULL, 0);
    CHECK_EQ_UINT(captured_tcp_count(&sim), 0);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).tcp_acks_limited, 1);
    sim.now += 500;
    fake_tcp(&sim, 5000, 80, 1200, 0, T_SYN, NULL, 0);
    CHECK_EQ_UINT(captured_tcp_count(&sim), 1);
    CHECK_EQ_UINT(captured_tcp(&sim, 0).flags, T_ACK);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).tcp_challenge_acks, 3);
    /* Exactly rcv_nxt: the connection is reset. */
    fake_tcp(&sim, 5000, 80, 1001, 0, T_RST, NULL, 0);
    CHECK_EQ_INT(sock_error(sim.node[0].net, s), ERR_ABORTED);
    char buf[4];
    CHECK_EQ_INT(tcp_recv(sim.node[0].net, s, buf, 4), ERR_ABORTED);
    CHECK_EQ_INT(tcp_send(sim.node[0].net, s, buf, 4), ERR_ABORTED);
    CHECK_EQ_INT(tcp_close(sim.node[0].net, s), OK);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).sockets, 1);
    sim_destroy(&sim);
}

TEST(abort_in_the_middle_of_a_transfer) {
    struct sim sim;
    sim_pair(&sim, 13, NULL);
    sim.node[0].imp.delay_ms = 2;
    sim.node[1].imp.delay_ms = 2;
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    static uint8_t buf[60000];
    CHECK(tcp_send(A(&sim), c.csock, buf, sizeof(buf)) > 0);
    sim_advance(&sim, 3);
    char r[100];
    CHECK(tcp_recv(B(&sim), c.ssock, r, sizeof(r)) > 0);
    CHECK_EQ_INT(tcp_abort(B(&sim), c.ssock), OK);
    CHECK_EQ_UINT(sim_stats(&sim.node[1]).tcp_resets_out, 1);
    CHECK_EQ_UINT(sim_stats(&sim.node[1]).sockets, 1);
    sim_advance(&sim, 100);
    CHECK_EQ_INT(sock_error(A(&sim), c.csock), ERR_ABORTED);
    CHECK_EQ_INT(tcp_send(A(&sim), c.csock, buf, 10), ERR_ABORTED);
    /* The rest of the client's data in flight met a closed port: RSTs,
     * which the client (now CLOSED) ignores. */
    CHECK(sim_stats(&sim.node[0]).tcp_resets_in >= 1);
    CHECK_EQ_INT(tcp_close(A(&sim), c.csock), OK);
    sim_advance(&sim, 100);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).sockets, 0);
    CHECK_EQ_UINT(sim.bad_frames, 0);
    sim_destroy(&sim);
}

/* ---- timeouts -------------------------------------------------------------------------------- */
struct syn_times {
    uint64_t t[16];
    unsigned n;
};

static bool tap_syns(struct sim *sim, int from, uint8_t *f, size_t len, void *arg) {
    struct syn_times *st = arg;
    struct pkt p = parse_pkt(f, len);
    if (from == 0 && p.ip && p.proto == 6 && (p.flags & T_SYN) && st->n < 16)
        st->t[st->n++] = sim->now;
    return !(p.ip && p.proto == 6); /* TCP is black-holed, ARP works */
}

TEST(connect_times_out_with_backoff) {
    struct sim sim;
    sim_pair(&sim, 14, NULL);
    struct syn_times st = {.n = 0};
    sim.tap = tap_syns;
    sim.tap_arg = &st;
    CHECK(tcp_listen(B(&sim), 80, 4) > 0);
    int s = tcp_connect(A(&sim), SRV_IP, 80);
    uint64_t start = sim.now;
    CHECK(s > 0);
    CHECK_EQ_INT(tcp_send(A(&sim), s, "x", 1), ERR_WOULD_BLOCK);
    sim_advance(&sim, 200000);
    CHECK_EQ_INT(sock_error(A(&sim), s), ERR_TIMEOUT);
    CHECK_EQ_UINT(st.n, 6); /* the SYN and 5 retransmissions */
    uint64_t expect = 1000;
    for (unsigned i = 1; i < st.n; i++) {
        CHECK_EQ_UINT(st.t[i] - st.t[i - 1], expect);
        expect *= 2;
    }
    /* failed 32 s after the last one */
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).tcp_timeouts, 1);
    (void) start;
    sim_destroy(&sim);
}

TEST(connect_to_missing_host_times_out) {
    struct sim sim;
    sim_pair(&sim, 15, NULL);
    int s = tcp_connect(A(&sim), NET_IP(10, 0, 0, 99), 80);
    CHECK(s > 0);
    sim_advance(&sim, 30000);
    CHECK_EQ_INT(sock_error(A(&sim), s), OK); /* still trying */
    sim_advance(&sim, 40000);
    CHECK_EQ_INT(sock_error(A(&sim), s), ERR_TIMEOUT);
    CHECK(sim_stats(&sim.node[0]).arp_failed >= 1);
    uint32_t ev;
    int id;
    bool seen = false;
    while (net_next_event(A(&sim), &id, &ev)) {
        if (id == s && (ev & NET_EV_ERROR))
            seen = true;
    }
    CHECK(seen);
    sim_destroy(&sim);
}

TEST(peer_vanishes_user_timeout) {
    struct sim sim;
    sim_pair(&sim, 16, NULL);
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    sim.link_down = true;
    static uint8_t buf[10000];
    CHECK(tcp_send(A(&sim), c.csock, buf, sizeof(buf)) > 0);
    sim_advance(&sim, 60000);
    CHECK_EQ_INT(sock_error(A(&sim), c.csock), OK);
    sim_advance(&sim, 100000);
    CHECK_EQ_INT(sock_error(A(&sim), c.csock), ERR_TIMEOUT);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).tcp_rto_expiries, 9);
    /* The server never heard of it: still ESTABLISHED (no keepalive). */
    CHECK_EQ_INT(sock_error(B(&sim), c.ssock), OK);
    sim_destroy(&sim);
}

TEST(half_open_connection_is_cleaned_up) {
    struct sim sim;
    fake_setup(&sim, 17);
    int l = tcp_listen(sim.node[0].net, 80, 4);
    fake_tcp(&sim, 5000, 80, 1000, 0, T_SYN, NULL, 0);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).tcp_conns, 1);
    sim_advance(&sim, 100000);
    /* SYN-ACK and 4 retransmissions (1, 2, 4, 8 s), then freed after 16 s more. */
    unsigned synacks = 0;
    for (unsigned i = 0; i < captured_tcp_count(&sim); i++)
        synacks += captured_tcp(&sim, i).flags == (T_SYN | T_ACK);
    CHECK_EQ_UINT(synacks, 5);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).tcp_conns, 0);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).sockets, 1);
    CHECK_EQ_INT(tcp_accept(sim.node[0].net, l), ERR_WOULD_BLOCK);
    struct net_tcp_info info[2];
    CHECK_EQ_UINT(net_tcp_list(sim.node[0].net, info, 2), 1);
    CHECK_EQ_UINT(info[0].sendq, 0); /* half-open count */
    sim_destroy(&sim);
}

/* ---- the listen backlog --------------------------------------------------------------------- */
TEST(listen_backlog_overflow) {
    struct sim sim;
    sim_pair(&sim, 18, NULL);
    int l = tcp_listen(B(&sim), 80, 2);
    CHECK(l > 0);
    /* Resolve ARP first: its queue holds only 4 packets per address. */
    CHECK_EQ_INT(net_ping(A(&sim), SRV_IP, 1, 1, 0), OK);
    sim_advance(&sim, 10);
    int cs[5];
    for (int i = 0; i < 5; i++) {
        cs[i] = tcp_connect(A(&sim), SRV_IP, 80);
        CHECK(cs[i] > 0);
    }
    sim_advance(&sim, 500);
    int connected = 0;
    for (int i = 0; i < 5; i++)
        connected += (sock_events(A(&sim), cs[i]) & NET_EV_CONNECTED) != 0;
    CHECK_EQ_INT(connected, 2);
    CHECK(sim_stats(&sim.node[1]).tcp_listen_drops >= 3);
    struct net_tcp_info info[8];
    CHECK(net_tcp_list(B(&sim), info, 8) >= 1);
    CHECK_EQ_UINT(info[0].recvq, 2); /* waiting for accept */
    int accepted = 0;
    for (int round = 0; round < 100 && accepted < 5; round++) {
        while (tcp_accept(B(&sim), l) > 0)
            accepted++;
        sim_advance(&sim, 1000);
    }
    CHECK_EQ_INT(accepted, 5);
    for (int i = 0; i < 5; i++)
        CHECK(sock_events(A(&sim), cs[i]) & NET_EV_CONNECTED);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).tcp_timeouts, 0);
    sim_destroy(&sim);
}

TEST(closing_a_listener_resets_its_queue) {
    struct sim sim;
    sim_pair(&sim, 19, NULL);
    int l = tcp_listen(B(&sim), 80, 4);
    int s = tcp_connect(A(&sim), SRV_IP, 80);
    sim_advance(&sim, 100);
    CHECK(sock_events(A(&sim), s) & NET_EV_CONNECTED);
    CHECK_EQ_INT(tcp_listen(B(&sim), 80, 4), ERR_IN_USE);
    CHECK_EQ_INT(tcp_close(B(&sim), l), OK);
    sim_advance(&sim, 100);
    CHECK_EQ_INT(sock_error(A(&sim), s), ERR_ABORTED);
    CHECK_EQ_UINT(sim_stats(&sim.node[1]).sockets, 0);
    /* the port is free again */
    CHECK(tcp_listen(B(&sim), 80, 4) > 0);
    sim_destroy(&sim);
}

/* ---- many connections ------------------------------------------------------------------------ */
#define NCONN 100
#define NBYTES 5000

struct many {
    struct sim *sim;
    int lsock;
    int cli[NCONN];
    int srv[NCONN];
    size_t srv_n;
    uint8_t *out[NCONN], *in[NCONN];
    size_t sent[NCONN], got[NCONN], echoed[NCONN];
    int done;
};

/* Each client sends NBYTES; the server echoes everything back. */
static bool pump_many(struct sim *sim, void *arg) {
    struct many *m = arg;
    struct net *a = sim->node[0].net, *b = sim->node[1].net;
    int s;
    while ((s = tcp_accept(b, m->lsock)) > 0)
        m->srv[m->srv_n++] = s;
    for (size_t i = 0; i < m->srv_n; i++) {
        uint8_t buf[2048];
        int r;
        while ((r = tcp_recv(b, m->srv[i], buf, sizeof(buf))) > 0) {
            int w = tcp_send(b, m->srv[i], buf, (size_t) r);
            if (w != r)
                return true; /* the test sees the short count */
        }
    }
    m->done = 0;
    for (int i = 0; i < NCONN; i++) {
        if (!(sock_events(a, m->cli[i]) & NET_EV_CONNECTED))
            continue;
        if (m->sent[i] < NBYTES) {
            int w = tcp_send(a, m->cli[i], m->out[i] + m->sent[i], NBYTES - m->sent[i]);
            if (w > 0)
                m->sent[i] += (size_t) w;
        }
        int r;
        while (m->got[i] < NBYTES &&
               (r = tcp_recv(a, m->cli[i], m->in[i] + m->got[i], NBYTES - m->got[i])) > 0)
            m->got[i] += (size_t) r;
        m->done += m->got[i] == NBYTES;
    }
    return m->done == NCONN;
}

TEST(hundred_concurrent_connections) {
    struct sim sim;
    sim_pair(&sim, 20, NULL);
    sim.node[0].imp = (struct sim_impair){.loss_ppm = 20000, .delay_ms = 1};
    sim.node[1].imp = (struct sim_impair){.loss_ppm = 20000, .delay_ms = 1};
    static struct many m;
    memset(&m, 0, sizeof(m));
    m.lsock = tcp_listen(B(&sim), 80, 128);
    for (int i = 0; i < NCONN; i++) {
        m.cli[i] = tcp_connect(A(&sim), SRV_IP, 80);
        CHECK(m.cli[i] > 0);
        m.out[i] = malloc(NBYTES);
        m.in[i] = malloc(NBYTES);
        fill_pattern(m.out[i], NBYTES, (uint32_t) i);
    }
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).tcp_conns, NCONN);
    bool ok = sim_run(&sim, 600000, pump_many, &m);
    printf("# %d connections echoed %d bytes each: %llu frames, %llu steps, %llu sim ms\n",
           NCONN, NBYTES, (unsigned long long) sim_stats(&sim.node[0]).frames_out,
           (unsigned long long) sim.steps, (unsigned long long) (sim.now - 1000000));
    CHECK_EQ_INT(m.done, NCONN);
    CHECK(ok);
    CHECK_EQ_UINT(m.srv_n, NCONN);
    for (int i = 0; i < NCONN; i++) {
        CHECK(memcmp(m.out[i], m.in[i], NBYTES) == 0);
        free(m.out[i]);
        free(m.in[i]);
    }
    /* 100 distinct ports */
    for (int i = 0; i < NCONN; i++) {
        for (int j = 0; j < i; j++)
            CHECK(addr_of(A(&sim), m.cli[i]).local_port != addr_of(A(&sim), m.cli[j]).local_port);
    }
    for (int i = 0; i < NCONN; i++) {
        CHECK_EQ_INT(tcp_close(A(&sim), m.cli[i]), OK);
        CHECK_EQ_INT(tcp_close(B(&sim), m.srv[i]), OK);
    }
    sim_advance(&sim, 60000);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).sockets, 0);
    CHECK_EQ_UINT(sim_stats(&sim.node[1]).sockets, 1);
    CHECK_EQ_UINT(sim.bad_frames, 0);
    sim_destroy(&sim);
}

TEST(full_socket_table) {
    struct sim sim;
    struct net_params p;
    net_params_default(&p);
    p.max_sockets = 4;
    sim_pair(&sim, 21, &p);
    int l = tcp_listen(B(&sim), 80, 8);
    CHECK(l > 0);
    int s[4];
    for (int i = 0; i < 4; i++)
        s[i] = tcp_connect(A(&sim), SRV_IP, 80);
    CHECK_EQ_INT(tcp_connect(A(&sim), SRV_IP, 80), ERR_NO_RESOURCES);
    CHECK_EQ_INT(udp_open(A(&sim), 0), ERR_NO_RESOURCES);
    sim_advance(&sim, 2000);
    /* The server has room for 3 connections beside its listener. */
    int connected = 0;
    for (int i = 0; i < 4; i++)
        connected += (sock_events(A(&sim), s[i]) & NET_EV_CONNECTED) != 0;
    CHECK_EQ_INT(connected, 3);
    CHECK(sim_stats(&sim.node[1]).tcp_listen_drops > 0);
    sim_destroy(&sim);
}

TEST(time_wait_is_recycled_when_the_table_is_full) {
    struct sim sim;
    struct net_params p;
    net_params_default(&p);
    p.max_sockets = 2;
    sim_pair(&sim, 22, &p);
    int l = tcp_listen(B(&sim), 80, 8);
    CHECK(l > 0);
    int s = tcp_connect(A(&sim), SRV_IP, 80);
    sim_advance(&sim, 100);
    int srv = tcp_accept(B(&sim), l);
    CHECK(srv > 0);
    CHECK_EQ_INT(tcp_close(B(&sim), srv), OK); /* the server closes first */
    sim_advance(&sim, 50);
    CHECK_EQ_INT(tcp_close(A(&sim), s), OK);
    sim_advance(&sim, 50);
    CHECK_EQ_UINT(sim_stats(&sim.node[1]).sockets, 2); /* listener + TIME_WAIT */
    s = tcp_connect(A(&sim), SRV_IP, 80);
    sim_advance(&sim, 100);
    CHECK(sock_events(A(&sim), s) & NET_EV_CONNECTED);
    CHECK_EQ_UINT(sim_stats(&sim.node[1]).tcp_time_wait_reused, 1);
    sim_destroy(&sim);
}

/* ---- events and ids --------------------------------------------------------------------------- */
static uint32_t events_for(struct net *net, int sock, int *count) {
    int id;
    uint32_t ev, all = 0;
    *count = 0;
    while (net_next_event(net, &id, &ev)) {
        if (id == sock) {
            all |= ev;
            (*count)++;
        }
    }
    return all;
}

TEST(events_report_changes_once) {
    struct sim sim;
    sim_pair(&sim, 23, NULL);
    int l = tcp_listen(B(&sim), 80, 4);
    int s = tcp_connect(A(&sim), SRV_IP, 80);
    int n;
    events_for(A(&sim), s, &n);
    sim_advance(&sim, 100);
    uint32_t ev = events_for(A(&sim), s, &n);
    CHECK_EQ_INT(n, 1);
    CHECK(ev & NET_EV_CONNECTED);
    CHECK(ev & NET_EV_WRITABLE);
    ev = events_for(B(&sim), l, &n);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_UINT(ev, NET_EV_ACCEPTABLE);
    int srv = tcp_accept(B(&sim), l);
    CHECK(srv > 0);
    CHECK_EQ_INT(sock_events(B(&sim), l), 0);
    events_for(B(&sim), srv, &n);
    CHECK_EQ_INT(tcp_send(A(&sim), s, "abc", 3), 3);
    sim_advance(&sim, 100);
    ev = events_for(B(&sim), srv, &n);
    CHECK_EQ_INT(n, 1);
    CHECK(ev & NET_EV_READABLE);
    CHECK(!(ev & NET_EV_HUP));
    CHECK_EQ_INT(tcp_close(A(&sim), s), OK);
    sim_advance(&sim, 100);
    ev = events_for(B(&sim), srv, &n);
    CHECK(ev & NET_EV_HUP);
    /* nothing changed since */
    ev = events_for(B(&sim), srv, &n);
    CHECK_EQ_INT(n, 0);
    /* a closed id never comes out */
    CHECK_EQ_INT(tcp_close(B(&sim), srv), OK);
    int id;
    uint32_t e;
    while (net_next_event(B(&sim), &id, &e))
        CHECK(id != srv);
    sim_destroy(&sim);
}

TEST(stale_ids_are_not_found) {
    struct sim sim;
    sim_pair(&sim, 24, NULL);
    int u = udp_open(A(&sim), 1000);
    CHECK(u > 0);
    CHECK_EQ_INT(udp_close(A(&sim), u), OK);
    int t = tcp_listen(A(&sim), 80, 1); /* the same slot */
    CHECK(t > 0);
    CHECK(t != u);
    CHECK_EQ_INT(udp_close(A(&sim), u), ERR_NOT_FOUND);
    CHECK_EQ_INT(tcp_close(A(&sim), u), ERR_NOT_FOUND);
    CHECK_EQ_INT(sock_events(A(&sim), u), ERR_NOT_FOUND);
    CHECK_EQ_INT(sock_events(A(&sim), -5), ERR_NOT_FOUND);
    CHECK_EQ_INT(sock_events(A(&sim), 0), ERR_NOT_FOUND);
    CHECK_EQ_INT(sock_events(A(&sim), 0x7fffffff), ERR_NOT_FOUND);
    CHECK_EQ_INT(tcp_recv(A(&sim), t, &u, 1), ERR_INVALID_ARG); /* a listener */
    CHECK_EQ_INT(tcp_accept(A(&sim), t), ERR_WOULD_BLOCK);
    CHECK_EQ_INT(udp_sendto(A(&sim), t, SRV_IP, 1, "x", 1), ERR_NOT_FOUND); /* not UDP */
    sim_destroy(&sim);
}

TEST(api_argument_checks) {
    struct sim sim;
    sim_init(&sim, 25);
    sim_add(&sim, NULL);
    struct net *n = sim.node[0].net;
    CHECK_EQ_INT(tcp_connect(n, SRV_IP, 80), ERR_UNAVAILABLE); /* no address yet */
    CHECK_EQ_INT(net_set_static(n, NET_IP(10, 0, 0, 1), NET_IP(255, 0, 255, 0), 0),
                 ERR_INVALID_ARG);
    CHECK_EQ_INT(net_set_static(n, NET_IP(10, 0, 0, 0), NET_IP(255, 255, 255, 0), 0),
                 ERR_INVALID_ARG);
    CHECK_EQ_INT(net_set_static(n, NET_IP(10, 0, 0, 1), NET_IP(255, 255, 255, 0),
                                NET_IP(10, 0, 1, 1)),
                 ERR_INVALID_ARG);
    CHECK_EQ_INT(net_set_static(n, NET_IP(127, 0, 0, 1), NET_IP(255, 0, 0, 0), 0),
                 ERR_INVALID_ARG);
    CHECK_EQ_INT(net_set_static(n, NET_IP(10, 0, 0, 1), NET_IP(255, 255, 255, 0), 0), OK);
    CHECK_EQ_INT(tcp_connect(n, NET_IP(8, 8, 8, 8), 80), ERR_NOT_FOUND); /* no gateway */
    CHECK_EQ_INT(tcp_connect(n, NET_IP(10, 0, 0, 1), 80), ERR_NOT_SUPPORTED); /* no loopback */
    CHECK_EQ_INT(tcp_connect(n, NET_IP(10, 0, 0, 2), 0), ERR_INVALID_ARG);
    CHECK_EQ_INT(tcp_connect(n, NET_IP(224, 0, 0, 1), 80), ERR_INVALID_ARG);
    CHECK_EQ_INT(tcp_listen(n, 0, 1), ERR_INVALID_ARG);
    int s = tcp_connect(n, NET_IP(10, 0, 0, 2), 80);
    CHECK(s > 0);
    CHECK_EQ_INT(tcp_recv(n, s, &s, 1), ERR_WOULD_BLOCK);
    CHECK_EQ_INT(tcp_abort(n, s), OK);
    struct net *bad;
    struct net_seam seam = {0};
    CHECK_EQ_INT(net_create(&seam, sim.node[0].mac, NULL, &bad), ERR_INVALID_ARG);
    struct net_params p;
    net_params_default(&p);
    p.tcp_rcvbuf = 100000;
    seam.send_frame = sim_send_frame;
    seam.now_ms = sim_now_ms;
    seam.random = sim_node_random;
    seam.ctx = &sim.node[0];
    CHECK_EQ_INT(net_create(&seam, sim.node[0].mac, &p, &bad), ERR_INVALID_ARG);
    uint8_t mcast[6] = {1, 0, 0x5e, 0, 0, 1};
    CHECK_EQ_INT(net_create(&seam, mcast, NULL, &bad), ERR_INVALID_ARG);
    sim_destroy(&sim);
}

TEST(address_change_resets_connections) {
    struct sim sim;
    sim_pair(&sim, 26, NULL);
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    CHECK_EQ_INT(net_set_static(A(&sim), NET_IP(10, 0, 0, 5), NET_IP(255, 255, 255, 0), 0), OK);
    CHECK_EQ_INT(sock_error(A(&sim), c.csock), ERR_UNAVAILABLE);
    CHECK(sock_events(A(&sim), c.csock) & NET_EV_ERROR);
    sim_destroy(&sim);
}

TEST(time_wait_taken_over_by_a_new_syn) {
    struct sim sim;
    fake_setup(&sim, 27);
    int l = tcp_listen(sim.node[0].net, 80, 4);
    fake_connect(&sim, 6000);
    int s = tcp_accept(sim.node[0].net, l);
    CHECK_EQ_INT(tcp_close(sim.node[0].net, s), OK); /* FIN from the node */
    struct pkt fin = captured_tcp(&sim, 0);
    CHECK(fin.flags & T_FIN);
    fake_tcp(&sim, 6000, 80, 1001, fin.seq + 1, T_ACK | T_FIN, NULL, 0);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], 80, 6000), TCP_TIME_WAIT);
    sim_clear_capture(&sim);
    /* An old SYN (seq not above rcv_nxt) is only acknowledged. */
    fake_tcp(&sim, 6000, 80, 500, 0, T_SYN, NULL, 0);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], 80, 6000), TCP_TIME_WAIT);
    sim_clear_capture(&sim);
    /* A new one starts a new connection at once. */
    fake_tcp(&sim, 6000, 80, 50000, 0, T_SYN, NULL, 0);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], 80, 6000), TCP_SYN_RECEIVED);
    CHECK_EQ_UINT(captured_tcp(&sim, 0).flags, T_SYN | T_ACK);
    CHECK_EQ_UINT(captured_tcp(&sim, 0).ack, 50001);
    sim_destroy(&sim);
}

TEST(out_of_order_fin_waits_for_the_hole) {
    struct sim sim;
    fake_setup(&sim, 28);
    int l = tcp_listen(sim.node[0].net, 80, 4);
    uint32_t iss = fake_connect(&sim, 7000);
    int s = tcp_accept(sim.node[0].net, l);
    fake_tcp(&sim, 7000, 80, 1006, iss + 1, T_ACK | T_FIN, "world", 5);
    char buf[16];
    CHECK_EQ_INT(tcp_recv(sim.node[0].net, s, buf, sizeof(buf)), ERR_WOULD_BLOCK);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], 80, 7000), TCP_ESTABLISHED);
    struct pkt dup = captured_tcp(&sim, 0);
    CHECK_EQ_UINT(dup.ack, 1001); /* an immediate duplicate ACK */
    fake_tcp(&sim, 7000, 80, 1001, iss + 1, T_ACK, "hello", 5);
    CHECK_EQ_INT(tcp_state_of(&sim.node[0], 80, 7000), TCP_CLOSE_WAIT);
    CHECK_EQ_INT(tcp_recv(sim.node[0].net, s, buf, sizeof(buf)), 10);
    CHECK(memcmp(buf, "helloworld", 10) == 0);
    CHECK_EQ_INT(tcp_recv(sim.node[0].net, s, buf, sizeof(buf)), ERR_EOF);
    struct pkt last = captured_tcp(&sim, captured_tcp_count(&sim) - 1);
    CHECK_EQ_UINT(last.ack, 1012);
    sim_destroy(&sim);
}

TEST(too_many_holes_drops_but_recovers) {
    struct sim sim;
    fake_setup(&sim, 29);
    int l = tcp_listen(sim.node[0].net, 80, 4);
    uint32_t iss = fake_connect(&sim, 7001);
    int s = tcp_accept(sim.node[0].net, l);
    /* 12 one-byte islands with holes between them: 8 are kept. */
    for (int i = 0; i < 12; i++) {
        char ch = (char) ('a' + 2 * i + 1);
        fake_tcp(&sim, 7001, 80, 1001 + 2 * (uint32_t) i + 1, iss + 1, T_ACK, &ch, 1);
    }
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).tcp_ooo_segments, 8);
    CHECK_EQ_UINT(sim_stats(&sim.node[0]).tcp_ooo_drops, 4);
    /* Fill everything in order: 24 bytes a..x */
    char all[24];
    for (int i = 0; i < 24; i++)
        all[i] = (char) ('a' + i);
    fake_tcp(&sim, 7001, 80, 1001, iss + 1, T_ACK, all, 24);
    char buf[32];
    CHECK_EQ_INT(tcp_recv(sim.node[0].net, s, buf, sizeof(buf)), 24);
    CHECK(memcmp(buf, all, 24) == 0);
    sim_destroy(&sim);
}

/* A forged segment makes one end accept bytes the other never sent: from
 * then on each end's ACKs are out of the other's window, and the answers
 * would bounce forever without the rate limit. */
TEST(desynchronized_ends_do_not_storm) {
    struct sim sim;
    sim_pair(&sim, 32, NULL);
    sim.node[0].imp.delay_ms = 1;
    sim.node[1].imp.delay_ms = 1;
    struct conn c;
    CHECK(conn_open(&sim, 80, &c));
    uint16_t cport = client_port(&sim, &c);
    /* the server's next sequence number, from its ACK of one byte */
    sim.capture = true;
    CHECK_EQ_INT(tcp_send(A(&sim), c.csock, "x", 1), 1);
    sim_advance(&sim, 100);
    uint32_t srv_seq = 0, srv_ack = 0;
    for (unsigned i = 0; i < sim.ncap; i++) {
        struct pkt p = parse_pkt(sim.cap[i], sim.cap_len[i]);
        if (sim.cap_from[i] == 1 && p.ip && p.proto == 6) {
            srv_seq = p.seq;
            srv_ack = p.ack;
        }
    }
    sim.capture = false;
    sim_clear_capture(&sim);
    /* two forged bytes "from the server", exactly in sequence */
    uint8_t f[100];
    size_t n = build_tcp(f, sim.node[0].mac, sim.node[1].mac, SRV_IP, 80, CLI_IP, cport,
                         srv_seq, srv_ack, T_ACK | T_PSH, 1000, "zz", 2);
    uint64_t frames = sim_stats(&sim.node[0]).frames_out + sim_stats(&sim.node[1]).frames_out;
    net_input(A(&sim), f, n);
    sim_advance(&sim, 10000);
    uint64_t after = sim_stats(&sim.node[0]).frames_out + sim_stats(&sim.node[1]).frames_out;
    /* a few ACKs a second at most, not a storm */
    CHECK(after - frames < 100);
    CHECK(sim_stats(&sim.node[0]).tcp_acks_limited + sim_stats(&sim.node[1]).tcp_acks_limited > 0);
    sim_destroy(&sim);
}

TEST(data_beyond_the_window_is_trimmed) {
    struct sim sim;
    fake_setup(&sim, 30);
    int l = tcp_listen(sim.node[0].net, 80, 4);
    uint32_t iss = fake_connect(&sim, 7002);
    int s = tcp_accept(sim.node[0].net, l);
    static uint8_t big[1400];
    uint32_t seq = 1001;
    /* 32768 bytes fit; send 24 segments of 1400 = 33600 */
    for (int i = 0; i < 24; i++) {
        fill_pattern(big, sizeof(big), (uint32_t) i);
        fake_tcp(&sim, 7002, 80, seq, iss + 1, T_ACK, big, sizeof(big));
        seq += sizeof(big);
    }
    struct pkt last = captured_tcp(&sim, captured_tcp_count(&sim) - 1);
    CHECK_EQ_UINT(last.ack, 1001 + 32768);
    CHECK_EQ_UINT(last.wnd, 0);
    struct net_tcp_info info[2];
    net_tcp_list(sim.node[0].net, info, 2);
    CHECK_EQ_UINT(info[1].recvq, 32768);
    /* a zero-window probe gets an ACK with the same numbers */
    sim_clear_capture(&sim);
    fake_tcp(&sim, 7002, 80, 1001 + 32768, iss + 1, T_ACK, "p", 1);
    CHECK_EQ_UINT(captured_tcp(&sim, 0).ack, 1001 + 32768);
    CHECK_EQ_UINT(captured_tcp(&sim, 0).wnd, 0);
    /* reading opens the window with an update */
    sim_clear_capture(&sim);
    static uint8_t rbuf[40000];
    CHECK_EQ_INT(tcp_recv(sim.node[0].net, s, rbuf, sizeof(rbuf)), 32768);
    CHECK_EQ_UINT(captured_tcp_count(&sim), 1);
    CHECK_EQ_UINT(captured_tcp(&sim, 0).wnd, 32768);
    sim_destroy(&sim);
}
