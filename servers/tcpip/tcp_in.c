/*
 * TCP input: the segment arrival rules of RFC 9293 3.10.7, with RFC 5961
 * (exact-sequence RST, challenge ACKs for in-window RSTs and SYNs),
 * RFC 5681/6582 (duplicate ACKs, fast retransmit, NewReno recovery) and
 * RFC 6298 (RTT samples, Karn's rule: retransmitted segments are never
 * timed).
 *
 * Received data goes straight into the receive ring at its place: byte
 * rcv_nxt is at offset rcv.len. Out-of-order data is stored past that and
 * remembered as up to TCP_OOO_MAX sorted, disjoint ranges; when the hole
 * before them fills, rcv_nxt jumps over them. Everything is bounded by the
 * window we offered, so nothing beyond the buffer is ever kept. A FIN
 * beyond a hole is remembered and takes effect when the data before it is
 * in. An ACK is sent at once for out-of-order data and every second
 * segment, else after TCP_DELACK_MS.
 */
#include "tcp_int.h"

/* Free receive space counted from rcv_nxt (what we may accept). */
uint32_t tcp_rcv_space(struct net *net, const struct tcb *t) {
    if (!t->rcv.buf)
        return net->params.tcp_rcvbuf;
    if (t->rcv_discard)
        return t->rcv.size;
    return ring_space(&t->rcv);
}

static uint16_t tcp_peer_mss(uint16_t opt) {
    uint16_t mss = opt ? opt : TCP_MSS_NO_OPTION;
    return MIN(MAX(mss, (uint16_t) TCP_MSS_MIN), (uint16_t) TCP_MSS_LOCAL);
}

/* Check the header and checksum; parse the MSS option of a SYN. */
static bool tcp_parse(const struct ip_info *ii, const uint8_t *p, size_t len,
                      struct tcp_seg *seg) {
    if (len < TCP_HLEN || len > 0xFFFF)
        return false;
    size_t doff = (size_t) (p[12] >> 4) * 4;
    if (doff < TCP_HLEN || doff > len)
        return false;
    if (csum_fold(csum_add(csum_pseudo(ii->src, ii->dst, IP_PROTO_TCP, (uint16_t) len), p, len)))
        return false;
    *seg = (struct tcp_seg){
        .src = ii->src, .dst = ii->dst, .sport = get16(p), .dport = get16(p + 2),
        .seq = get32(p + 4), .ack = get32(p + 8), .flags = p[13] & 0x3F, .wnd = get16(p + 14),
        .data = p + doff, .dlen = (uint32_t) (len - doff),
    };
    if (seg->sport == 0 || seg->dport == 0)
        return false;
    for (size_t i = TCP_HLEN; (seg->flags & TCP_SYN) && i < doff;) {
        uint8_t kind = p[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= doff || p[i + 1] < 2 || i + p[i + 1] > doff)
            break; /* a malformed option ends the list */
        if (kind == 2 && p[i + 1] == 4)
            seg->mss = get16(p + i + 2);
        i += p[i + 1];
    }
    return true;
}

/* The connection seg belongs to, else the listener of its port, else NULL. */
static struct sock *tcp_find(struct net *net, const struct tcp_seg *seg) {
    struct sock *listener = NULL;
    for (unsigned i = 0; i < net->nsocks; i++) {
        struct sock *s = &net->socks[i];
        if (s->kind != SOCK_TCP || s->lport != seg->dport)
            continue;
        if (s->tcb.state == TCP_LISTEN)
            listener = s;
        else if (s->tcb.state != TCP_CLOSED && s->rport == seg->sport && s->rip == seg->src &&
                 s->lip == seg->dst)
            return s;
    }
    return listener;
}

static void tcp_challenge_ack(struct net *net, struct sock *s) {
    net->stats.tcp_challenge_acks++;
    tcp_send_limited_ack(net, s);
}

/* ---- LISTEN and SYN_SENT ------------------------------------------------------------ */
static void tcp_listen_input(struct net *net, struct sock *l, const struct tcp_seg *seg) {
    if (seg->flags & TCP_RST)
        return;
    if (seg->flags & TCP_ACK) {
        tcp_reply_rst(net, seg);
        return;
    }
    if (!(seg->flags & TCP_SYN))
        return;
    struct tcb *lt = &l->tcb;
    struct sock *c = NULL;
    if (lt->nsyn < lt->backlog && lt->nacc < lt->backlog)
        c = sock_alloc(net, SOCK_TCP);
    if (!c) {
        net->stats.tcp_listen_drops++;
        return;
    }
    c->lip = seg->dst;
    c->lport = seg->dport;
    c->rip = seg->src;
    c->rport = seg->sport;
    tcp_init_conn(net, c);
    struct tcb *t = &c->tcb;
    t->irs = seg->seq;
    t->rcv_nxt = seg->seq + 1;
    t->snd_mss = tcp_peer_mss(seg->mss);
    t->snd_wnd = t->max_snd_wnd = seg->wnd;
    t->snd_wl1 = seg->seq;
    t->snd_wl2 = t->iss;
    t->parent = (int16_t) sock_index(net, l);
    lt->nsyn++;
    t->state = TCP_SYN_RECEIVED;
    tcp_send_syn(net, c);
}

static void tcp_syn_sent_input(struct net *net, struct sock *s, const struct tcp_seg *seg) {
    struct tcb *t = &s->tcb;
    bool has_ack = seg->flags & TCP_ACK;
    if (has_ack && (seq_le(seg->ack, t->iss) || seq_gt(seg->ack, t->snd_max))) {
        tcp_reply_rst(net, seg);
        return;
    }
    if (seg->flags & TCP_RST) {
        if (has_ack) {
            net->stats.tcp_resets_in++;
            tcp_finish(net, s, ERR_ABORTED);
        }
        return;
    }
    if (!(seg->flags & TCP_SYN))
        return;
    t->irs = seg->seq;
    t->rcv_nxt = seg->seq + 1;
    t->snd_mss = tcp_peer_mss(seg->mss);
    t->snd_wnd = t->max_snd_wnd = seg->wnd;
    t->snd_wl1 = seg->seq;
    if (!has_ack) { /* simultaneous open */
        t->snd_wl2 = t->iss;
        t->state = TCP_SYN_RECEIVED;
        tcp_send_syn(net, s);
        return;
    }
    t->snd_wl2 = seg->ack;
    t->snd_una = seg->ack;
    if (!t->syn_retransmitted)
        tcp_rtt_sample(t, net_now(net) - t->rtt_start);
    tcp_establish(net, s);
    t->ack_now = true;
    tcp_output(net, s);
}

/* ---- synchronized states -------------------------------------------------------------- */
/* RFC 9293 3.10.7.4, first check: does any of the segment fall in the
 * window? Like BSD and Linux, an empty segment may also sit exactly at the
 * right edge (a sender that filled our window sends its ACKs from there). */
static bool tcp_acceptable(const struct tcb *t, uint32_t seq, uint32_t seglen, uint32_t wnd) {
    uint32_t nxt = t->rcv_nxt;
    if (seglen == 0)
        return seq_ge(seq, nxt) && seq_le(seq, nxt + wnd);
    if (wnd == 0)
        return false;
    uint32_t last = seq + seglen - 1;
    return (seq_ge(seq, nxt) && seq_lt(seq, nxt + wnd)) ||
           (seq_ge(last, nxt) && seq_lt(last, nxt + wnd));
}

/* Move a child from its listener's half-open count to the accept queue. */
static void tcp_child_ready(struct net *net, struct sock *l, struct sock *c) {
    struct tcb *lt = &l->tcb;
    int16_t me = (int16_t) sock_index(net, c);
    lt->nsyn--;
    lt->nacc++;
    c->tcb.acc_queued = true;
    if (lt->acc_tail >= 0)
        net->socks[lt->acc_tail].tcb.acc_next = me;
    else
        lt->acc_head = me;
    lt->acc_tail = me;
    net->stats.tcp_passive_opens++;
    sock_changed(net, l);
}

/* The handshake's last ACK arrived in SYN_RECEIVED. false: drop the segment. */
static bool tcp_syn_received_ack(struct net *net, struct sock *s, const struct tcp_seg *seg) {
    struct tcb *t = &s->tcb;
    if (seq_le(seg->ack, t->snd_una) || seq_gt(seg->ack, t->snd_max)) {
        tcp_reply_rst(net, seg);
        return false;
    }
    struct sock *l = t->parent >= 0 ? &net->socks[t->parent] : NULL;
    if (l && l->tcb.nacc >= l->tcb.backlog) {
        net->stats.tcp_listen_drops++;
        return false; /* the accept queue is full: the peer will retransmit */
    }
    if (!tcp_alloc_buffers(net, s)) {
        net->stats.tcp_listen_drops++;
        tcp_send_rst(net, s);
        tcp_finish(net, s, ERR_NO_MEMORY);
        return false;
    }
    if (!t->syn_retransmitted)
        tcp_rtt_sample(t, net_now(net) - t->rtt_start);
    t->snd_una = t->iss + 1;
    t->snd_wnd = seg->wnd;
    t->max_snd_wnd = MAX(t->max_snd_wnd, (uint32_t) seg->wnd);
    t->snd_wl1 = seg->seq;
    t->snd_wl2 = seg->ack;
    if (l)
        tcp_child_ready(net, l, s);
    tcp_establish(net, s);
    return true;
}

static void tcp_dup_ack(struct net *net, struct sock *s, uint64_t now) {
    struct tcb *t = &s->tcb;
    t->dupacks++;
    if (t->in_recovery) {
        t->cwnd += t->snd_mss;
        return;
    }
    if (t->dupacks != 3 || seq_lt(t->snd_una, t->recover))
        return;
    uint32_t flight = t->snd_max - t->snd_una;
    t->ssthresh = MAX(flight / 2, 2u * t->snd_mss);
    t->recover = t->snd_max;
    t->in_recovery = true;
    t->rtt_timing = false;
    net->stats.tcp_fast_retransmits++;
    tcp_retransmit_first(net, s);
    t->cwnd = t->ssthresh + 3u * t->snd_mss;
    t->t_rtx = now + t->rto_ms;
}

/* The ACK field covers new data (or our SYN/FIN) up to ack. */
static void tcp_new_ack(struct net *net, struct sock *s, uint32_t ack, uint64_t now) {
    struct tcb *t = &s->tcb;
    uint32_t acked = ack - t->snd_una;
    ring_drop(&t->snd, MIN(acked, t->snd.len));
    if (t->rtt_timing && seq_ge(ack, t->rtt_seq)) {
        t->rtt_timing = false;
        tcp_rtt_sample(t, now - t->rtt_start);
    }
    t->snd_una = ack;
    if (seq_lt(t->snd_nxt, ack))
        t->snd_nxt = ack;
    t->retries = 0;
    t->dupacks = 0;
    uint32_t mss = t->snd_mss;
    if (t->in_recovery && seq_ge(ack, t->recover)) {
        t->in_recovery = false;
        t->cwnd = t->ssthresh;
    } else if (t->in_recovery) { /* a partial ACK: the next hole is lost too */
        tcp_retransmit_first(net, s);
        t->cwnd = t->cwnd - MIN(acked, t->cwnd) + mss;
    } else if (t->cwnd < t->ssthresh) {
        t->cwnd += MIN(acked, mss);
    } else {
        t->cwnd += MAX(1u, mss * mss / t->cwnd);
    }
    t->cwnd = MIN(t->cwnd, 1u << 24);
    if (!t->persist)
        t->t_rtx = t->snd_una == t->snd_nxt ? 0 : now + t->rto_ms;
    sock_changed(net, s);
}

/* Take the segment's window if it is newer than the last (RFC 9293
 * 3.10.7.4: SND.WL1, SND.WL2); a window opening ends the persist state. */
static void tcp_window_input(struct net *net, struct sock *s, const struct tcp_seg *seg) {
    struct tcb *t = &s->tcb;
    if (!seq_le(t->snd_una, seg->ack) ||
        !(seq_lt(t->snd_wl1, seg->seq) || (t->snd_wl1 == seg->seq && seq_le(t->snd_wl2, seg->ack))))
        return;
    if (t->snd_wnd < seg->wnd)
        sock_changed(net, s);
    t->snd_wnd = seg->wnd;
    t->max_snd_wnd = MAX(t->max_snd_wnd, (uint32_t) seg->wnd);
    t->snd_wl1 = seg->seq;
    t->snd_wl2 = seg->ack;
    if (t->persist && seg->wnd > 0) {
        t->persist = false;
        t->t_rtx = 0;
    }
}

/* Our FIN was acknowledged. false: the connection is gone. */
static bool tcp_fin_was_acked(struct net *net, struct sock *s, uint64_t now) {
    struct tcb *t = &s->tcb;
    switch (t->state) {
    case TCP_FIN_WAIT_1:
        tcp_set_state(net, s, TCP_FIN_WAIT_2);
        t->t_rtx = 0;
        if (!s->user)
            t->t_linger = now + TCP_FIN_WAIT_2_MS;
        return true;
    case TCP_CLOSING:
        tcp_enter_time_wait(net, s, now);
        return true;
    case TCP_LAST_ACK:
        tcp_finish(net, s, OK);
        return false;
    default:
        return true;
    }
}

/* The ACK processing of RFC 9293 3.10.7.4, fifth check. false: the
 * segment is done with (dropped, or the connection is gone). */
static bool tcp_ack_input(struct net *net, struct sock *s, const struct tcp_seg *seg,
                          uint64_t now) {
    struct tcb *t = &s->tcb;
    uint32_t ack = seg->ack;
    if (seq_gt(ack, t->snd_max)) {
        tcp_send_limited_ack(net, s);
        return false;
    }
    /* RFC 5681: no data, same ACK and window, data outstanding */
    bool dup = ack == t->snd_una && seg->dlen == 0 && !seg->had_text &&
               !(seg->flags & (TCP_SYN | TCP_FIN)) &&
               seg->wnd == t->snd_wnd && seg->wnd != 0 && t->snd_max != t->snd_una &&
               !t->persist;
    tcp_window_input(net, s, seg);
    if (seq_gt(ack, t->snd_una))
        tcp_new_ack(net, s, ack, now);
    else if (dup)
        tcp_dup_ack(net, s, now);
    else if (ack == t->snd_una)
        t->dupacks = 0;
    return tcp_fin_acked(t) ? tcp_fin_was_acked(net, s, now) : true;
}

/* Add [start, end) to the out-of-order ranges, merging; false if that
 * would need more than TCP_OOO_MAX ranges. */
static bool tcp_ooo_add(struct tcb *t, uint32_t start, uint32_t end) {
    struct seq_range out[TCP_OOO_MAX + 1];
    unsigned n = 0;
    bool placed = false;
    for (unsigned i = 0; i < t->nooo; i++) {
        struct seq_range r = t->ooo[i];
        if (seq_lt(r.end, start)) {
            out[n++] = r;
        } else if (seq_lt(end, r.start)) {
            if (!placed)
                out[n++] = (struct seq_range){start, end};
            placed = true;
            out[n++] = r;
        } else {
            start = seq_lt(r.start, start) ? r.start : start;
            end = seq_gt(r.end, end) ? r.end : end;
        }
        if (n > TCP_OOO_MAX)
            return false;
    }
    if (!placed)
        out[n++] = (struct seq_range){start, end};
    if (n > TCP_OOO_MAX)
        return false;
    memcpy(t->ooo, out, n * sizeof(out[0]));
    t->nooo = (uint8_t) n;
    return true;
}

/* rcv_nxt moved: take in the out-of-order ranges it reached. */
static void tcp_ooo_advance(struct tcb *t) {
    while (t->nooo && seq_le(t->ooo[0].start, t->rcv_nxt)) {
        if (seq_gt(t->ooo[0].end, t->rcv_nxt)) {
            t->rcv.len += t->ooo[0].end - t->rcv_nxt;
            t->rcv_nxt = t->ooo[0].end;
        }
        t->nooo--;
        memmove(t->ooo, t->ooo + 1, t->nooo * sizeof(t->ooo[0]));
    }
}

static void tcp_fin_in(struct net *net, struct sock *s, uint64_t now) {
    struct tcb *t = &s->tcb;
    t->rcv_nxt++;
    t->fin_received = true;
    t->fin_ooo = false;
    t->ack_now = true;
    switch (t->state) {
    case TCP_ESTABLISHED:
        tcp_set_state(net, s, TCP_CLOSE_WAIT);
        break;
    case TCP_FIN_WAIT_1:
        if (tcp_fin_acked(t))
            tcp_enter_time_wait(net, s, now);
        else
            tcp_set_state(net, s, TCP_CLOSING);
        break;
    case TCP_FIN_WAIT_2:
        tcp_enter_time_wait(net, s, now);
        break;
    default:
        break;
    }
}

/* Text of a segment (already trimmed to the window, starting at or after
 * rcv_nxt); returns how much of it was kept in order. */
static void tcp_data_input(struct net *net, struct sock *s, uint32_t seq, const uint8_t *data,
                           uint32_t dlen, uint64_t now) {
    struct tcb *t = &s->tcb;
    if (t->rcv_discard) {
        if (seq == t->rcv_nxt)
            t->rcv_nxt += dlen;
        t->ack_now = true;
        return;
    }
    uint32_t off = seq - t->rcv_nxt, space = ring_space(&t->rcv);
    if (off >= space)
        return;
    dlen = MIN(dlen, space - off);
    if (off > 0) {
        if (tcp_ooo_add(t, seq, seq + dlen)) {
            ring_put_at(&t->rcv, t->rcv.len + off, data, dlen);
            net->stats.tcp_ooo_segments++;
        } else {
            net->stats.tcp_ooo_drops++;
        }
        t->ack_now = true; /* a duplicate ACK tells the sender of the hole */
        return;
    }
    ring_put_at(&t->rcv, t->rcv.len, data, dlen);
    t->rcv.len += dlen;
    t->rcv_nxt += dlen;
    bool had_holes = t->nooo > 0;
    tcp_ooo_advance(t);
    sock_changed(net, s);
    if (had_holes || ++t->unacked_segs >= 2)
        t->ack_now = true;
    else if (!t->t_delack)
        t->t_delack = now + TCP_DELACK_MS;
}

/* A FIN at fin_seq: take it now, or remember it past a hole. */
static void tcp_fin_input(struct net *net, struct sock *s, uint32_t fin_seq, uint64_t now) {
    struct tcb *t = &s->tcb;
    if (t->fin_received || !tcp_receiving_state(t->state))
        return;
    if (fin_seq == t->rcv_nxt) {
        tcp_fin_in(net, s, now);
    } else if (seq_gt(fin_seq, t->rcv_nxt) && !t->rcv_discard) {
        t->fin_ooo = true;
        t->fin_ooo_seq = fin_seq;
        t->ack_now = true;
    }
}

/* A segment that failed the window check: answer with an ACK (rate
 * limited unless it probes our zero window). Its ACK
 * field is still taken when it is old (a retransmission: like BSD, so that
 * duplicates carry acknowledgments through heavy loss) or probes our zero
 * window (RFC 9293 3.10.7.4). */
static void tcp_unacceptable(struct net *net, struct sock *s, const struct tcp_seg *seg,
                             uint64_t now) {
    struct tcb *t = &s->tcb;
    if (seg->flags & TCP_RST)
        return;
    if (seq_lt(seg->seq, t->rcv_nxt))
        net->stats.tcp_dup_segments++;
    if (t->state == TCP_TIME_WAIT && (seg->flags & TCP_FIN))
        t->t_linger = now + TCP_TIME_WAIT_MS; /* our last ACK was lost */
    if (seq_le(seg->seq, t->rcv_nxt) && (seg->flags & TCP_ACK) && !(seg->flags & TCP_SYN) &&
        t->state != TCP_SYN_RECEIVED) {
        struct tcp_seg ack_only = *seg;
        ack_only.had_text = seg->dlen || (seg->flags & TCP_FIN);
        ack_only.dlen = 0;
        ack_only.flags &= (uint8_t) ~TCP_FIN;
        if (!tcp_ack_input(net, s, &ack_only, now))
            return;
    }
    if (seg->seq == t->rcv_nxt) { /* a probe of our zero window: always answered */
        t->ack_now = true;
        tcp_output(net, s);
    } else if (!tcp_output(net, s)) {
        tcp_send_limited_ack(net, s);
    }
}

/* An acceptable RST (RFC 5961 3.2): exactly rcv_nxt resets the
 * connection, anything else in the window gets a challenge ACK. */
static void tcp_rst_input(struct net *net, struct sock *s, const struct tcp_seg *seg) {
    struct tcb *t = &s->tcb;
    if (seg->seq != t->rcv_nxt) {
        tcp_challenge_ack(net, s);
    } else if (t->state != TCP_TIME_WAIT) { /* RFC 1337: TIME_WAIT ignores RSTs */
        net->stats.tcp_resets_in++;
        tcp_finish(net, s, ERR_ABORTED);
    }
}

/* Cut what we already have from the front of an acceptable segment and
 * what does not fit the window from its end (and with it the FIN). */
static void tcp_trim(const struct tcb *t, struct tcp_seg *seg, uint32_t wnd) {
    if (seq_lt(seg->seq, t->rcv_nxt)) {
        uint32_t skip = MIN(t->rcv_nxt - seg->seq, seg->dlen);
        seg->data += skip;
        seg->dlen -= skip;
        seg->seq = t->rcv_nxt; /* what is left starts here, if only a FIN */
    }
    uint32_t room = wnd - (seg->seq - t->rcv_nxt);
    if (seg->dlen > room) {
        seg->dlen = room;
        seg->flags &= (uint8_t) ~TCP_FIN;
    }
}

static void tcp_conn_input(struct net *net, struct sock *s, struct tcp_seg *seg) {
    struct tcb *t = &s->tcb;
    uint64_t now = net_now(net);
    t->last_rx = now;
    if (t->state == TCP_SYN_RECEIVED && (seg->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN &&
        seg->seq == t->irs) {
        tcp_send_syn(net, s); /* our SYN-ACK was lost */
        return;
    }
    uint32_t wnd = tcp_rcv_space(net, t);
    if (!tcp_acceptable(t, seg->seq, tcp_seg_len(seg), wnd)) {
        tcp_unacceptable(net, s, seg, now);
        return;
    }
    if (seg->flags & TCP_RST) {
        tcp_rst_input(net, s, seg);
        return;
    }
    if (seg->flags & TCP_SYN) {
        tcp_challenge_ack(net, s);
        return;
    }
    if (!(seg->flags & TCP_ACK))
        return;
    tcp_trim(t, seg, wnd);
    if (t->state == TCP_SYN_RECEIVED && !tcp_syn_received_ack(net, s, seg))
        return;
    if (!tcp_ack_input(net, s, seg, now))
        return;
    if (seg->dlen && tcp_receiving_state(t->state))
        tcp_data_input(net, s, seg->seq, seg->data, seg->dlen, now);
    if (t->fin_ooo && t->fin_ooo_seq == t->rcv_nxt)
        tcp_fin_in(net, s, now);
    if (seg->flags & TCP_FIN)
        tcp_fin_input(net, s, seg->seq + seg->dlen, now);
    tcp_output(net, s);
}

void tcp_input(struct net *net, const struct ip_info *ii, const uint8_t *pkt, size_t len) {
    struct tcp_seg seg;
    if (!ii->to_us || !tcp_parse(ii, pkt, len, &seg)) {
        net->stats.tcp_bad++;
        return;
    }
    struct sock *s = tcp_find(net, &seg);
    /* A new SYN may take over a TIME_WAIT connection (RFC 9293 3.6.1). */
    if (s && s->tcb.state == TCP_TIME_WAIT &&
        (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN && seq_gt(seg.seq, s->tcb.rcv_nxt)) {
        net->stats.tcp_time_wait_reused++;
        tcp_finish(net, s, OK);
        s = tcp_find(net, &seg);
    }
    if (!s) {
        tcp_reply_rst(net, &seg);
        return;
    }
    net->stats.tcp_segments_in++;
    if (s->tcb.state == TCP_LISTEN)
        tcp_listen_input(net, s, &seg);
    else if (s->tcb.state == TCP_SYN_SENT)
        tcp_syn_sent_input(net, s, &seg);
    else
        tcp_conn_input(net, s, &seg);
}
