/*
 * TCP output: building segments and deciding what to send.
 *
 * Data is sent from the send ring, where byte 0 is snd_una, so a segment
 * is (re)built from the ring for any sequence number between snd_una and
 * the end of the data; nothing else is kept per segment. tcp_output sends
 * from snd_nxt as far as min(peer's window, cwnd) allows, in segments of at
 * most snd_mss, with the FIN after the last byte once it is queued. A
 * retransmission timeout moves snd_nxt back to snd_una (go-back-N);
 * snd_max remembers the highest sequence number sent.
 *
 * No Nagle: data goes out as soon as the window allows, which suits a
 * request/response server. Sender-side silly window avoidance (RFC 9293
 * 3.8.6.2.1) holds back a short segment only while data is in flight and
 * more is waiting. A zero window (with data waiting) starts the persist
 * timer instead; probes are one byte beyond the window.
 */
#include "tcp_int.h"

/* The window to put in an outgoing segment, with receiver-side silly
 * window avoidance (RFC 9293 3.8.6.2.2): the right edge only moves once
 * it can move by min(buffer / 2, MSS). It never moves left. */
static uint16_t tcp_advertise(struct net *net, struct tcb *t) {
    uint32_t space = tcp_rcv_space(net, t);
    if (t->state < TCP_ESTABLISHED)
        return (uint16_t) MIN(space, 65535u);
    uint32_t right = t->rcv_nxt + space;
    uint32_t size = t->rcv.size ? t->rcv.size : net->params.tcp_rcvbuf;
    uint32_t step = MIN(size / 2, (uint32_t) t->snd_mss);
    if (seq_lt(t->rcv_adv, t->rcv_nxt) || seq_ge(right, t->rcv_adv + step))
        t->rcv_adv = right;
    return (uint16_t) MIN(t->rcv_adv - t->rcv_nxt, 65535u);
}

bool tcp_window_update_due(struct net *net, struct sock *s) {
    struct tcb *t = &s->tcb;
    uint32_t right = t->rcv_nxt + tcp_rcv_space(net, t);
    uint32_t step = MIN(t->rcv.size / 2, (uint32_t) t->snd_mss);
    return seq_ge(right, t->rcv_adv + step);
}

/* Build and send one segment of connection s: dlen bytes of the send ring
 * from sequence number seq. */
static void tcp_xmit(struct net *net, struct sock *s, uint32_t seq, uint32_t dlen, uint8_t flags) {
    struct tcb *t = &s->tcb;
    uint8_t *h = net->tx + TX_L4;
    size_t hlen = TCP_HLEN + ((flags & TCP_SYN) ? 4 : 0);
    put16(h, s->lport);
    put16(h + 2, s->rport);
    put32(h + 4, seq);
    put32(h + 8, (flags & TCP_ACK) ? t->rcv_nxt : 0);
    h[12] = (uint8_t) ((hlen / 4) << 4);
    h[13] = flags;
    put16(h + 14, (flags & TCP_RST) ? 0 : tcp_advertise(net, t));
    put32(h + 16, 0); /* checksum, urgent pointer */
    if (flags & TCP_SYN) {
        h[20] = 2; /* MSS */
        h[21] = 4;
        put16(h + 22, TCP_MSS_LOCAL);
    }
    if (dlen)
        ring_peek(&t->snd, seq - t->snd_una, h + hlen, dlen);
    uint16_t len = (uint16_t) (hlen + dlen);
    put16(h + 16, csum_fold(csum_add(csum_pseudo(s->lip, s->rip, IP_PROTO_TCP, len), h, len)));
    net->stats.tcp_segments_out++;
    if (flags & TCP_ACK) {
        t->ack_now = false;
        t->unacked_segs = 0;
        t->t_delack = 0;
    }
    ip_output(net, s->lip, s->rip, IP_PROTO_TCP, len);
}

void tcp_send_syn(struct net *net, struct sock *s) {
    struct tcb *t = &s->tcb;
    uint64_t now = net_now(net);
    tcp_xmit(net, s, t->iss, 0, TCP_SYN | (t->state == TCP_SYN_RECEIVED ? TCP_ACK : 0));
    t->snd_nxt = t->iss + 1;
    t->snd_max = seq_max(t->snd_max, t->snd_nxt);
    if (!t->syn_retransmitted)
        t->rtt_start = now;
    t->t_rtx = now + t->rto_ms;
}

/* A pure ACK carries snd_max, not snd_nxt: while going back N after a
 * timeout snd_nxt is behind what the peer already has, and an ACK with
 * that sequence number would be out of its window, ignored and answered
 * with another such ACK, forever (BSD does the same). */
void tcp_send_ack(struct net *net, struct sock *s) {
    tcp_xmit(net, s, s->tcb.snd_max, 0, TCP_ACK);
}

void tcp_send_limited_ack(struct net *net, struct sock *s) {
    struct tcb *t = &s->tcb;
    uint64_t now = net_now(net);
    if (t->oow_ack_sent && now - t->oow_ack_at < TCP_OOW_ACK_MS) {
        net->stats.tcp_acks_limited++;
        return;
    }
    t->oow_ack_sent = true;
    t->oow_ack_at = now;
    tcp_send_ack(net, s);
}

void tcp_send_rst(struct net *net, struct sock *s) {
    net->stats.tcp_resets_out++;
    tcp_xmit(net, s, s->tcb.snd_max, 0, TCP_RST | TCP_ACK);
}

void tcp_reply_rst(struct net *net, const struct tcp_seg *seg) {
    if (seg->flags & TCP_RST)
        return;
    uint8_t *h = net->tx + TX_L4;
    bool acked = seg->flags & TCP_ACK;
    put16(h, seg->dport);
    put16(h + 2, seg->sport);
    put32(h + 4, acked ? seg->ack : 0);
    put32(h + 8, acked ? 0 : seg->seq + tcp_seg_len(seg));
    h[12] = (TCP_HLEN / 4) << 4;
    h[13] = acked ? TCP_RST : TCP_RST | TCP_ACK;
    put16(h + 14, 0);
    put32(h + 16, 0);
    put16(h + 16, csum_fold(csum_add(csum_pseudo(seg->dst, seg->src, IP_PROTO_TCP, TCP_HLEN), h,
                                     TCP_HLEN)));
    net->stats.tcp_resets_out++;
    net->stats.tcp_segments_out++;
    ip_output(net, seg->dst, seg->src, IP_PROTO_TCP, TCP_HLEN);
}

/* Data bytes sent from snd_una on (at most the ring's contents). */
static uint32_t tcp_sent_data(const struct tcb *t) {
    return MIN(t->snd_max - t->snd_una, t->snd.len);
}

void tcp_retransmit_first(struct net *net, struct sock *s) {
    struct tcb *t = &s->tcb;
    uint32_t n = MIN(tcp_sent_data(t), (uint32_t) t->snd_mss);
    bool fin = t->fin_queued && seq_gt(t->snd_max, t->fin_seq) && t->snd_una + n == t->fin_seq;
    if (n == 0 && !fin)
        return;
    net->stats.tcp_retransmits++;
    tcp_xmit(net, s, t->snd_una, n, TCP_ACK | (fin ? TCP_FIN : 0) | (n ? TCP_PSH : 0));
}

void tcp_send_probe(struct net *net, struct sock *s) {
    struct tcb *t = &s->tcb;
    if (t->snd.len == 0)
        return;
    net->stats.tcp_persist_probes++;
    tcp_xmit(net, s, t->snd_una, 1, TCP_ACK);
    t->snd_max = seq_max(t->snd_max, t->snd_una + 1);
}

/* The peer's window is zero and data waits: stop sending, start probing. */
static void tcp_enter_persist(struct sock *s, uint64_t now) {
    struct tcb *t = &s->tcb;
    if (t->persist)
        return;
    t->snd_nxt = t->snd_una;
    t->rtt_timing = false;
    t->retries = 0;
    t->persist = true;
    t->persist_shift = 0;
    t->t_rtx = now + tcp_persist_interval(t);
}

/* Send new (or, after a timeout, old) data and the FIN; true if a segment
 * went out. */
static bool tcp_output_data(struct net *net, struct sock *s, uint64_t now) {
    struct tcb *t = &s->tcb;
    uint32_t data_end = t->snd_una + t->snd.len;
    if (t->snd_wnd == 0 && seq_lt(t->snd_una, data_end)) {
        tcp_enter_persist(s, now);
        return false;
    }
    if (t->persist)
        return false;
    bool sent = false;
    for (;;) {
        uint32_t inflight = t->snd_nxt - t->snd_una;
        uint32_t avail = seq_lt(t->snd_nxt, data_end) ? data_end - t->snd_nxt : 0;
        uint32_t wnd = MIN(t->snd_wnd, t->cwnd);
        uint32_t usable = wnd > inflight ? wnd - inflight : 0;
        uint32_t n = MIN(MIN(avail, usable), (uint32_t) t->snd_mss);
        bool fin = t->fin_queued && seq_le(t->snd_nxt, data_end) && n == avail;
        if (n == 0 && !fin)
            break;
        if (n < t->snd_mss && n < avail && inflight > 0 && n < t->max_snd_wnd / 2)
            break; /* silly window: wait for the ACKs in flight */
        bool rexmit = seq_lt(t->snd_nxt, t->snd_max);
        if (rexmit) {
            net->stats.tcp_retransmits++;
        } else if (!t->rtt_timing) {
            t->rtt_timing = true;
            t->rtt_seq = t->snd_nxt + n + fin;
            t->rtt_start = now;
        }
        tcp_xmit(net, s, t->snd_nxt, n,
                 TCP_ACK | (fin ? TCP_FIN : 0) | (n && n == avail ? TCP_PSH : 0));
        t->snd_nxt += n + fin;
        t->snd_max = seq_max(t->snd_max, t->snd_nxt);
        sent = true;
        if (fin)
            break;
    }
    if (t->snd_nxt != t->snd_una && !t->t_rtx)
        t->t_rtx = now + t->rto_ms;
    return sent;
}

bool tcp_output(struct net *net, struct sock *s) {
    struct tcb *t = &s->tcb;
    bool sent = false;
    if (tcp_sending_state(t->state))
        sent = tcp_output_data(net, s, net_now(net));
    if (!sent && t->ack_now && t->state >= TCP_SYN_RECEIVED) {
        tcp_send_ack(net, s);
        sent = true;
    }
    return sent;
}
