/*
 * Internals shared by the TCP files: tcp.c (user calls, connection life),
 * tcp_in.c (segment arrival), tcp_out.c (segment building and sending) and
 * tcp_timer.c (retransmission, persist, delayed ACK, TIME_WAIT).
 */
#pragma once

#include "net_int.h"

/* A received segment, parsed and checksummed. */
struct tcp_seg {
    uint32_t src, dst;     /* remote and local address */
    uint16_t sport, dport; /* remote and local port */
    uint32_t seq, ack;
    uint16_t wnd;
    uint16_t mss;          /* the MSS option of a SYN, 0 if absent */
    uint8_t flags;
    const uint8_t *data;
    uint32_t dlen;
    bool had_text;         /* data or FIN was cut off: never a duplicate ACK */
};

static inline uint32_t tcp_seg_len(const struct tcp_seg *seg) {
    return seg->dlen + !!(seg->flags & TCP_SYN) + !!(seg->flags & TCP_FIN);
}

/* States where our data (and FIN) may still be sent or resent. */
static inline bool tcp_sending_state(uint8_t st) {
    return st == TCP_ESTABLISHED || st == TCP_CLOSE_WAIT || st == TCP_FIN_WAIT_1 ||
           st == TCP_CLOSING || st == TCP_LAST_ACK;
}

/* States where the peer's data is still accepted. */
static inline bool tcp_receiving_state(uint8_t st) {
    return st == TCP_ESTABLISHED || st == TCP_FIN_WAIT_1 || st == TCP_FIN_WAIT_2;
}

static inline bool tcp_fin_acked(const struct tcb *t) {
    return t->fin_queued && seq_gt(t->snd_una, t->fin_seq);
}

/* tcp.c */
void tcp_set_state(struct net *net, struct sock *s, uint8_t state);
/* Set up a new connection's sequence numbers and timers. */
void tcp_init_conn(struct net *net, struct sock *s);
bool tcp_alloc_buffers(struct net *net, struct sock *s);
/* The handshake is done (buffers are allocated). */
void tcp_establish(struct net *net, struct sock *s);
/* The connection is over (err OK: normally): freed if the user is gone,
 * else left CLOSED with err for the user to see. */
void tcp_finish(struct net *net, struct sock *s, error_t err);
void tcp_enter_time_wait(struct net *net, struct sock *s, uint64_t now);
/* Queue a FIN after the data: ESTABLISHED -> FIN_WAIT_1, CLOSE_WAIT -> LAST_ACK. */
void tcp_queue_fin(struct net *net, struct sock *s);

/* tcp_in.c */
uint32_t tcp_rcv_space(struct net *net, const struct tcb *t);

/* tcp_out.c */
/* Send what the windows allow (data, FIN) and a pending ACK; true if a
 * segment went out. */
bool tcp_output(struct net *net, struct sock *s);
void tcp_send_syn(struct net *net, struct sock *s);
void tcp_send_ack(struct net *net, struct sock *s);
/* An ACK answering a segment outside the window, an ACK of data we never
 * sent, or an in-window RST or SYN (a challenge ACK): at most one per
 * TCP_OOW_ACK_MS per connection. Two ends that disagree about the
 * sequence numbers (after a forged segment, say) would otherwise answer
 * each other's ACKs forever. */
void tcp_send_limited_ack(struct net *net, struct sock *s);
void tcp_send_rst(struct net *net, struct sock *s);
/* A RST answering seg, which has no connection (RFC 9293 3.10.7.1). */
void tcp_reply_rst(struct net *net, const struct tcp_seg *seg);
/* Resend the first unacknowledged segment (fast retransmit). */
void tcp_retransmit_first(struct net *net, struct sock *s);
/* Send one byte past a zero window. */
void tcp_send_probe(struct net *net, struct sock *s);
/* Does the window we would advertise now grow enough to be worth an ACK? */
bool tcp_window_update_due(struct net *net, struct sock *s);

/* tcp_timer.c */
void tcp_rtt_sample(struct tcb *t, uint64_t ms);
uint32_t tcp_persist_interval(const struct tcb *t);
