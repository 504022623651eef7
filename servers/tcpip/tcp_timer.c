/*
 * TCP timers. Each connection has three deadlines (0 = off): t_rtx (the
 * retransmission timer, or the persist timer while the peer's window is
 * zero), t_delack (a delayed ACK) and t_linger (TIME_WAIT, or an orphan's
 * FIN_WAIT_2 timeout). net_tick runs the ones due; tcp_deadline is the
 * earliest of them all.
 *
 * The RTO follows RFC 6298: SRTT/RTTVAR from samples (never of
 * retransmitted segments), RTO = SRTT + max(1 ms, 4 RTTVAR) within
 * [TCP_RTO_MIN_MS, TCP_RTO_MAX_MS], starting at TCP_RTO_INIT_MS, doubled on
 * every expiry and kept until the next sample. Data is abandoned with
 * ERR_TIMEOUT after params.tcp_max_retries expiries in a row, a SYN after
 * params.tcp_syn_retries retransmissions, a SYN-ACK after
 * TCP_SYNACK_RETRIES (the half-open connection is then freed quietly).
 */
#include "tcp_int.h"

void tcp_rtt_sample(struct tcb *t, uint64_t ms) {
    uint32_t r = (uint32_t) MIN(ms, (uint64_t) TCP_RTO_MAX_MS) * 8;
    if (!t->rtt_valid) {
        t->srtt8 = r;
        t->rttvar8 = r / 2;
        t->rtt_valid = true;
    } else {
        uint32_t delta = t->srtt8 > r ? t->srtt8 - r : r - t->srtt8;
        t->rttvar8 = t->rttvar8 - t->rttvar8 / 4 + delta / 4;
        t->srtt8 = t->srtt8 - t->srtt8 / 8 + r / 8;
    }
    uint32_t rto = (t->srtt8 + MAX(8u, 4 * t->rttvar8)) / 8;
    t->rto_ms = MIN(MAX(rto, (uint32_t) TCP_RTO_MIN_MS), (uint32_t) TCP_RTO_MAX_MS);
}

uint32_t tcp_persist_interval(const struct tcb *t) {
    uint64_t iv = (uint64_t) t->rto_ms << MIN(t->persist_shift, 16);
    return (uint32_t) MIN(iv, (uint64_t) TCP_PERSIST_MAX_MS);
}

static void tcp_backoff(struct tcb *t) {
    t->rto_ms = MIN(t->rto_ms * 2, (uint32_t) TCP_RTO_MAX_MS);
}

static void tcp_timeout(struct net *net, struct sock *s) {
    net->stats.tcp_timeouts++;
    tcp_finish(net, s, ERR_TIMEOUT);
}

/* The retransmission timer of SYN_SENT / SYN_RECEIVED. */
static void tcp_syn_expired(struct net *net, struct sock *s) {
    struct tcb *t = &s->tcb;
    unsigned limit = t->state == TCP_SYN_SENT || s->user ? net->params.tcp_syn_retries
                                                          : TCP_SYNACK_RETRIES;
    if (++t->retries > limit) {
        tcp_timeout(net, s);
        return;
    }
    tcp_backoff(t);
    t->syn_retransmitted = true;
    net->stats.tcp_retransmits++;
    tcp_send_syn(net, s);
}

static void tcp_persist_expired(struct net *net, struct sock *s, uint64_t now) {
    struct tcb *t = &s->tcb;
    if (now - t->last_rx > TCP_PERSIST_IDLE_MS) {
        tcp_timeout(net, s);
        return;
    }
    if (t->snd_wnd != 0 || t->snd.len == 0) {
        t->persist = false;
        tcp_output(net, s);
        return;
    }
    tcp_send_probe(net, s);
    if (t->persist_shift < 16)
        t->persist_shift++;
    t->t_rtx = now + tcp_persist_interval(t);
}

static void tcp_rtx_expired(struct net *net, struct sock *s, uint64_t now) {
    struct tcb *t = &s->tcb;
    t->t_rtx = 0;
    if (t->persist) {
        tcp_persist_expired(net, s, now);
        return;
    }
    if (t->state == TCP_SYN_SENT || t->state == TCP_SYN_RECEIVED) {
        net->stats.tcp_rto_expiries++;
        tcp_syn_expired(net, s);
        return;
    }
    if (!tcp_sending_state(t->state) || t->snd_una == t->snd_max)
        return;
    net->stats.tcp_rto_expiries++;
    if (++t->retries > net->params.tcp_max_retries) {
        tcp_timeout(net, s);
        return;
    }
    tcp_backoff(t);
    uint32_t flight = t->snd_max - t->snd_una;
    t->ssthresh = MAX(flight / 2, 2u * t->snd_mss);
    t->cwnd = t->snd_mss;
    t->in_recovery = false;
    t->dupacks = 0;
    t->recover = t->snd_max;
    t->rtt_timing = false;
    t->snd_nxt = t->snd_una; /* go back N */
    tcp_output(net, s);
    if (!t->t_rtx && !t->persist)
        t->t_rtx = now + t->rto_ms;
}

void tcp_tick(struct net *net, uint64_t now) {
    for (unsigned i = 0; i < net->nsocks; i++) {
        struct sock *s = &net->socks[i];
        struct tcb *t = &s->tcb;
        if (s->kind != SOCK_TCP)
            continue;
        if (t->t_rtx && t->t_rtx <= now)
            tcp_rtx_expired(net, s, now);
        if (s->kind != SOCK_TCP)
            continue;
        if (t->t_delack && t->t_delack <= now) {
            t->t_delack = 0;
            t->ack_now = true;
            tcp_output(net, s);
        }
        if (t->t_linger && t->t_linger <= now)
            tcp_finish(net, s, OK);
    }
}

uint64_t tcp_deadline(struct net *net) {
    uint64_t d = 0;
    for (unsigned i = 0; i < net->nsocks; i++) {
        const struct sock *s = &net->socks[i];
        if (s->kind != SOCK_TCP)
            continue;
        d = deadline_min(d, s->tcb.t_rtx);
        d = deadline_min(d, s->tcb.t_delack);
        d = deadline_min(d, s->tcb.t_linger);
    }
    return d;
}
