/*
 * TCP (RFC 9293): the user's calls and the life of a connection.
 *
 * A connection lives in a socket slot from the SYN to CLOSED. A listener's
 * children are half-open (SYN_RECEIVED, counted in nsyn, no buffers yet)
 * until the handshake completes; then they get their buffers and wait in
 * the accept queue (nacc) until tcp_accept hands them to the user. Both
 * counts are bounded by the backlog. tcp_close takes the id from the user
 * at once; the connection then sends the rest of its data and its FIN and
 * lingers until the close handshake ends (incoming data is acknowledged
 * and discarded), TIME_WAIT expires, or FIN_WAIT_2 times out.
 */
#include "tcp_int.h"

const char *tcp_state_name(int state) {
    static const char *const names[] = {
        "CLOSED",     "LISTEN",     "SYN_SENT",   "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
        "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",    "LAST_ACK",     "TIME_WAIT",
    };
    return state >= 0 && (size_t) state < ARRAY_SIZE(names) ? names[state] : "?";
}

void tcp_set_state(struct net *net, struct sock *s, uint8_t state) {
    s->tcb.state = state;
    sock_changed(net, s);
}

void tcp_init_conn(struct net *net, struct sock *s) {
    struct tcb *t = &s->tcb;
    t->iss = net_random(net);
    t->snd_una = t->snd_nxt = t->snd_max = t->recover = t->iss;
    t->snd_mss = TCP_MSS_NO_OPTION;
    t->rto_ms = TCP_RTO_INIT_MS;
    t->ssthresh = 1u << 30;
    t->last_rx = net_now(net);
}

bool tcp_alloc_buffers(struct net *net, struct sock *s) {
    struct tcb *t = &s->tcb;
    if (t->snd.buf)
        return true;
    if (ring_init(&t->snd, net->params.tcp_sndbuf) && ring_init(&t->rcv, net->params.tcp_rcvbuf))
        return true;
    ring_free(&t->snd);
    ring_free(&t->rcv);
    return false;
}

void tcp_establish(struct net *net, struct sock *s) {
    struct tcb *t = &s->tcb;
    t->ever_connected = true;
    t->t_rtx = 0;
    t->retries = 0;
    if (t->syn_retransmitted && !t->rtt_valid)
        t->rto_ms = 3000; /* RFC 6298 5.7 */
    t->cwnd = TCP_INIT_CWND_SEGS * t->snd_mss;
    t->recover = t->snd_una;
    t->rcv_adv = t->rcv_nxt + tcp_rcv_space(net, t);
    net->stats.tcp_established++;
    tcp_set_state(net, s, TCP_ESTABLISHED);
}

/* Take a child off its listener's queues. */
static void tcp_unlink_child(struct net *net, struct sock *s) {
    struct tcb *t = &s->tcb;
    struct sock *l = &net->socks[t->parent];
    struct tcb *lt = &l->tcb;
    if (!t->acc_queued) {
        lt->nsyn--;
    } else {
        int16_t me = (int16_t) sock_index(net, s), prev = -1;
        for (int16_t i = lt->acc_head; i >= 0; prev = i, i = net->socks[i].tcb.acc_next) {
            if (i != me)
                continue;
            if (prev < 0)
                lt->acc_head = t->acc_next;
            else
                net->socks[prev].tcb.acc_next = t->acc_next;
            if (lt->acc_tail == me)
                lt->acc_tail = prev;
            break;
        }
        lt->nacc--;
        sock_changed(net, l);
    }
    t->parent = t->acc_next = -1;
    t->acc_queued = false;
}

void tcp_finish(struct net *net, struct sock *s, error_t err) {
    struct tcb *t = &s->tcb;
    if (t->parent >= 0)
        tcp_unlink_child(net, s);
    t->t_rtx = t->t_delack = t->t_linger = 0;
    t->persist = false;
    if (err != OK) {
        s->error = err;
        if (t->rcv.buf)
            ring_drop(&t->rcv, t->rcv.len);
    }
    ring_free(&t->snd);
    if (!s->user) {
        sock_free(net, s);
        return;
    }
    tcp_set_state(net, s, TCP_CLOSED);
}

void tcp_enter_time_wait(struct net *net, struct sock *s, uint64_t now) {
    struct tcb *t = &s->tcb;
    t->t_rtx = 0;
    t->persist = false;
    t->t_linger = now + TCP_TIME_WAIT_MS;
    tcp_set_state(net, s, TCP_TIME_WAIT);
}

void tcp_queue_fin(struct net *net, struct sock *s) {
    struct tcb *t = &s->tcb;
    if (t->fin_queued)
        return;
    t->fin_queued = true;
    t->fin_seq = t->snd_una + t->snd.len;
    tcp_set_state(net, s, t->state == TCP_CLOSE_WAIT ? TCP_LAST_ACK : TCP_FIN_WAIT_1);
}

int tcp_events(struct net *net, struct sock *s) {
    (void) net;
    const struct tcb *t = &s->tcb;
    if (t->state == TCP_LISTEN)
        return t->acc_head >= 0 ? NET_EV_ACCEPTABLE : 0;
    int ev = t->ever_connected ? NET_EV_CONNECTED : 0;
    if (s->error)
        return ev | NET_EV_ERROR | NET_EV_HUP | NET_EV_READABLE | NET_EV_WRITABLE;
    if (t->rcv.len > 0 || t->fin_received || t->state == TCP_CLOSED)
        ev |= NET_EV_READABLE;
    if (t->fin_received || t->state == TCP_CLOSED)
        ev |= NET_EV_HUP;
    if ((t->state == TCP_ESTABLISHED || t->state == TCP_CLOSE_WAIT) && !t->fin_queued &&
        ring_space(&t->snd) > 0)
        ev |= NET_EV_WRITABLE;
    return ev;
}

/* ---- the user's calls ------------------------------------------------------------ */
int tcp_listen(struct net *net, uint16_t port, unsigned backlog) {
    if (port == 0)
        return ERR_INVALID_ARG;
    for (unsigned i = 0; i < net->nsocks; i++) {
        const struct sock *o = &net->socks[i];
        if (o->kind == SOCK_TCP && o->tcb.state == TCP_LISTEN && o->lport == port)
            return ERR_IN_USE;
    }
    struct sock *s = sock_alloc(net, SOCK_TCP);
    if (!s)
        return ERR_NO_RESOURCES;
    s->lport = port;
    s->tcb.backlog = (uint16_t) MIN(MAX(backlog, 1u), (unsigned) TCP_BACKLOG_MAX);
    s->tcb.state = TCP_LISTEN;
    s->user = true;
    return sock_id(net, s);
}

int tcp_accept(struct net *net, int lsock) {
    struct sock *l = sock_lookup(net, lsock, SOCK_TCP);
    if (!l)
        return ERR_NOT_FOUND;
    struct tcb *lt = &l->tcb;
    if (lt->state != TCP_LISTEN)
        return ERR_INVALID_ARG;
    if (lt->acc_head < 0)
        return ERR_WOULD_BLOCK;
    struct sock *c = &net->socks[lt->acc_head];
    tcp_unlink_child(net, c);
    c->user = true;
    sock_changed(net, c);
    return sock_id(net, c);
}

int tcp_connect(struct net *net, uint32_t ip, uint16_t port) {
    if (!net->ip)
        return ERR_UNAVAILABLE;
    if (port == 0 || ip_is_martian(ip) || ip == NET_IP_BROADCAST)
        return ERR_INVALID_ARG;
    if (ip == net->ip)
        return ERR_NOT_SUPPORTED;
    if (!ip_on_link(net, ip) && !net->gw)
        return ERR_NOT_FOUND;
    uint16_t lport = port_ephemeral(net, SOCK_TCP);
    struct sock *s = lport ? sock_alloc(net, SOCK_TCP) : NULL;
    if (!s)
        return ERR_NO_RESOURCES;
    if (!tcp_alloc_buffers(net, s)) {
        sock_free(net, s);
        return ERR_NO_MEMORY;
    }
    s->lip = net->ip;
    s->lport = lport;
    s->rip = ip;
    s->rport = port;
    s->user = true;
    tcp_init_conn(net, s);
    s->tcb.state = TCP_SYN_SENT;
    net->stats.tcp_active_opens++;
    tcp_send_syn(net, s);
    return sock_id(net, s);
}

/* The user's connection (not a listener), or NULL. */
static struct sock *tcp_user_conn(struct net *net, int sock, error_t *err) {
    struct sock *s = sock_lookup(net, sock, SOCK_TCP);
    *err = !s ? ERR_NOT_FOUND : s->tcb.state == TCP_LISTEN ? ERR_INVALID_ARG : OK;
    return *err == OK ? s : NULL;
}

int tcp_send(struct net *net, int sock, const void *buf, size_t len) {
    error_t err;
    struct sock *s = tcp_user_conn(net, sock, &err);
    if (!s)
        return err;
    struct tcb *t = &s->tcb;
    if (s->error)
        return s->error;
    if (t->state == TCP_SYN_SENT || t->state == TCP_SYN_RECEIVED)
        return ERR_WOULD_BLOCK;
    if (t->fin_queued || (t->state != TCP_ESTABLISHED && t->state != TCP_CLOSE_WAIT))
        return ERR_EOF;
    if (len == 0)
        return 0;
    uint32_t n = ring_write(&t->snd, buf, (uint32_t) MIN(len, (size_t) INT32_MAX));
    if (n == 0)
        return ERR_WOULD_BLOCK;
    tcp_output(net, s);
    return (int) n;
}

int tcp_recv(struct net *net, int sock, void *buf, size_t len) {
    error_t err;
    struct sock *s = tcp_user_conn(net, sock, &err);
    if (!s)
        return err;
    struct tcb *t = &s->tcb;
    if (t->rcv.len > 0) {
        uint32_t n = (uint32_t) MIN(len, (size_t) t->rcv.len);
        ring_peek(&t->rcv, 0, buf, n);
        ring_drop(&t->rcv, n);
        if (tcp_receiving_state(t->state) && tcp_window_update_due(net, s)) {
            t->ack_now = true;
            tcp_output(net, s);
        }
        return (int) n;
    }
    if (s->error)
        return s->error;
    if (t->fin_received || t->state == TCP_CLOSED)
        return ERR_EOF;
    return ERR_WOULD_BLOCK;
}

error_t tcp_shutdown_write(struct net *net, int sock) {
    error_t err;
    struct sock *s = tcp_user_conn(net, sock, &err);
    if (!s)
        return err;
    struct tcb *t = &s->tcb;
    if (s->error)
        return s->error;
    if (t->state == TCP_SYN_SENT || t->state == TCP_SYN_RECEIVED) {
        if (t->state == TCP_SYN_RECEIVED)
            tcp_send_rst(net, s);
        tcp_finish(net, s, OK);
        return OK;
    }
    if (t->state == TCP_ESTABLISHED || t->state == TCP_CLOSE_WAIT) {
        tcp_queue_fin(net, s);
        tcp_output(net, s);
    }
    return OK;
}

/* Close a listener: its children not yet accepted are reset. */
static void tcp_close_listener(struct net *net, struct sock *l) {
    int16_t me = (int16_t) sock_index(net, l);
    for (unsigned i = 0; i < net->nsocks; i++) {
        struct sock *c = &net->socks[i];
        if (c->kind != SOCK_TCP || c->tcb.parent != me)
            continue;
        tcp_send_rst(net, c);
        tcp_finish(net, c, ERR_ABORTED);
    }
    sock_free(net, l);
}

error_t tcp_close(struct net *net, int sock) {
    struct sock *s = sock_lookup(net, sock, SOCK_TCP);
    if (!s)
        return ERR_NOT_FOUND;
    struct tcb *t = &s->tcb;
    if (t->state == TCP_LISTEN) {
        tcp_close_listener(net, s);
        return OK;
    }
    s->user = false;
    switch (t->state) {
    case TCP_CLOSED:
    case TCP_SYN_SENT:
        sock_free(net, s);
        return OK;
    case TCP_SYN_RECEIVED:
        tcp_send_rst(net, s);
        sock_free(net, s);
        return OK;
    case TCP_ESTABLISHED:
    case TCP_CLOSE_WAIT:
        tcp_queue_fin(net, s);
        break;
    case TCP_FIN_WAIT_2:
        t->t_linger = net_now(net) + TCP_FIN_WAIT_2_MS;
        break;
    default:
        break;
    }
    t->rcv_discard = true;
    ring_drop(&t->rcv, t->rcv.len);
    t->nooo = 0;
    t->fin_ooo = false;
    tcp_output(net, s);
    return OK;
}

error_t tcp_abort(struct net *net, int sock) {
    struct sock *s = sock_lookup(net, sock, SOCK_TCP);
    if (!s)
        return ERR_NOT_FOUND;
    uint8_t st = s->tcb.state;
    if (st == TCP_LISTEN) {
        tcp_close_listener(net, s);
        return OK;
    }
    if (st != TCP_CLOSED && st != TCP_SYN_SENT && st != TCP_TIME_WAIT)
        tcp_send_rst(net, s);
    sock_free(net, s);
    return OK;
}

void tcp_addr_lost(struct net *net, uint32_t old_ip) {
    for (unsigned i = 0; i < net->nsocks; i++) {
        struct sock *s = &net->socks[i];
        if (s->kind == SOCK_TCP && s->lip == old_ip && s->tcb.state != TCP_CLOSED &&
            s->tcb.state != TCP_LISTEN)
            tcp_finish(net, s, ERR_UNAVAILABLE);
    }
}

size_t net_tcp_list(struct net *net, struct net_tcp_info *out, size_t max) {
    size_t n = 0;
    for (unsigned i = 0; i < net->nsocks && n < max; i++) {
        struct sock *s = &net->socks[i];
        if (s->kind != SOCK_TCP)
            continue;
        const struct tcb *t = &s->tcb;
        struct net_tcp_info *o = &out[n++];
        memset(o, 0, sizeof(*o));
        o->sock = s->user ? sock_id(net, s) : -1;
        o->state = t->state;
        o->addr.local_ip = s->lip;
        o->addr.local_port = s->lport;
        o->addr.remote_ip = s->rip;
        o->addr.remote_port = s->rport;
        if (t->state == TCP_LISTEN) {
            o->sendq = t->nsyn;
            o->recvq = t->nacc;
            continue;
        }
        o->sendq = t->snd.len;
        o->recvq = t->rcv.len;
        o->rto_ms = t->rto_ms;
        o->srtt_ms = t->rtt_valid ? t->srtt8 / 8 : 0;
        o->snd_wnd = t->snd_wnd;
        o->cwnd = t->cwnd;
    }
    return n;
}
