/*
 * The socket table: params.max_sockets slots shared by UDP sockets, TCP
 * listeners and TCP connections, including connections the user closed
 * that still linger (FIN_WAIT, TIME_WAIT ...) and half-open ones. An id is
 * generation << SOCK_INDEX_BITS | index: the generation changes whenever
 * a slot is freed, so a stale id is ERR_NOT_FOUND, never someone else's
 * socket. Sockets whose events may have changed wait in a FIFO (each at
 * most once) for net_next_event.
 */
#include "net_int.h"


static void sock_reset(struct sock *s, uint8_t kind) {
    uint16_t gen = s->gen;
    bool changed = s->changed;
    memset(s, 0, sizeof(*s));
    s->gen = gen;
    s->changed = changed;
    s->kind = kind;
    s->tcb.parent = s->tcb.acc_next = s->tcb.acc_head = s->tcb.acc_tail = -1;
}

struct sock *sock_alloc(struct net *net, uint8_t kind) {
    struct sock *victim = NULL;
    for (unsigned i = 0; i < net->nsocks; i++) {
        struct sock *s = &net->socks[i];
        if (s->kind == SOCK_FREE) {
            sock_reset(s, kind);
            return s;
        }
        if (s->kind == SOCK_TCP && !s->user && s->tcb.state == TCP_TIME_WAIT &&
            (!victim || s->tcb.t_linger < victim->tcb.t_linger))
            victim = s;
    }
    if (!victim)
        return NULL;
    net->stats.tcp_time_wait_reused++;
    sock_free(net, victim);
    sock_reset(victim, kind);
    return victim;
}

void sock_free(struct net *net, struct sock *s) {
    (void) net;
    if (s->kind == SOCK_TCP) {
        ring_free(&s->tcb.snd);
        ring_free(&s->tcb.rcv);
    }
    udp_sock_clear(s);
    s->kind = SOCK_FREE;
    s->user = false;
    s->gen = (uint16_t) (s->gen % 0x7FFF + 1);
}

int sock_id(const struct net *net, const struct sock *s) {
    return (int) ((uint32_t) s->gen << SOCK_INDEX_BITS) | sock_index(net, s);
}

struct sock *sock_lookup(struct net *net, int id, uint8_t kind) {
    if (id <= 0)
        return NULL;
    unsigned index = (unsigned) id & (SOCK_MAX - 1);
    unsigned gen = (unsigned) id >> SOCK_INDEX_BITS;
    if (index >= net->nsocks)
        return NULL;
    struct sock *s = &net->socks[index];
    if (s->gen != gen || !s->user || s->kind == SOCK_FREE)
        return NULL;
    return kind == SOCK_FREE || s->kind == kind ? s : NULL;
}

void sock_changed(struct net *net, struct sock *s) {
    if (!s->user || s->changed)
        return;
    net->changed[(net->changed_head + net->changed_len) % net->nsocks] =
        (uint16_t) sock_index(net, s);
    net->changed_len++;
    s->changed = true;
}

static int sock_events_of(struct net *net, struct sock *s) {
    if (s->kind == SOCK_TCP)
        return tcp_events(net, s);
    return NET_EV_WRITABLE | (s->uq_head ? NET_EV_READABLE : 0);
}

bool net_next_event(struct net *net, int *sock, uint32_t *events) {
    while (net->changed_len) {
        struct sock *s = &net->socks[net->changed[net->changed_head]];
        net->changed_head = (net->changed_head + 1) % net->nsocks;
        net->changed_len--;
        s->changed = false;
        if (!s->user)
            continue;
        *sock = sock_id(net, s);
        *events = (uint32_t) sock_events_of(net, s);
        return true;
    }
    return false;
}

int sock_events(struct net *net, int sock) {
    struct sock *s = sock_lookup(net, sock, SOCK_FREE);
    return s ? sock_events_of(net, s) : ERR_NOT_FOUND;
}

error_t sock_error(struct net *net, int sock) {
    struct sock *s = sock_lookup(net, sock, SOCK_FREE);
    return s ? s->error : ERR_NOT_FOUND;
}

error_t sock_addr(struct net *net, int sock, struct net_sock_addr *out) {
    struct sock *s = sock_lookup(net, sock, SOCK_FREE);
    if (!s)
        return ERR_NOT_FOUND;
    out->local_ip = s->lip ? s->lip : net->ip;
    out->local_port = s->lport;
    out->remote_ip = s->rip;
    out->remote_port = s->rport;
    return OK;
}

bool port_in_use(struct net *net, uint8_t kind, uint16_t port) {
    for (unsigned i = 0; i < net->nsocks; i++) {
        if (net->socks[i].kind == kind && net->socks[i].lport == port)
            return true;
    }
    return false;
}

uint16_t port_ephemeral(struct net *net, uint8_t kind) {
    unsigned start = net_random(net) % PORT_EPHEMERAL_N;
    for (unsigned i = 0; i < PORT_EPHEMERAL_N; i++) {
        uint16_t port = (uint16_t) (PORT_EPHEMERAL_LO + (start + i) % PORT_EPHEMERAL_N);
        if (!port_in_use(net, kind, port))
            return port;
    }
    return 0;
}
