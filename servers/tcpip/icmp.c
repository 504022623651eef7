/*
 * ICMP (RFC 792): echo requests to our address are answered with the same
 * identifier, sequence number and data; our own pings (net_ping) are kept in
 * a small table until their reply is collected (net_ping_poll). Every other
 * message (unreachable, redirect, ...) is counted and ignored.
 */
#include "net_int.h"

#define ICMP_ECHO_REPLY   0
#define ICMP_ECHO_REQUEST 8

static uint8_t ping_pattern(size_t i) {
    return (uint8_t) (i * 7 + 0x20);
}

static void icmp_echo_reply(struct net *net, const struct ip_info *ii, const uint8_t *pkt,
                            size_t len) {
    if (!ii->to_us || len > IP_PAYLOAD_MAX) {
        net->stats.icmp_other++;
        return;
    }
    uint8_t *r = net->tx + TX_L4;
    memcpy(r, pkt, len);
    r[0] = ICMP_ECHO_REPLY;
    r[1] = 0;
    put16(r + 2, 0);
    put16(r + 2, csum_fold(csum_add(0, r, len)));
    if (ip_output(net, net->ip, ii->src, IP_PROTO_ICMP, len) == OK)
        net->stats.icmp_echo_replied++;
}

static void icmp_ping_reply(struct net *net, const struct ip_info *ii, const uint8_t *pkt,
                            size_t len) {
    uint16_t id = get16(pkt + 4), seq = get16(pkt + 6);
    for (unsigned i = 0; i < NET_PINGS; i++) {
        struct ping_slot *p = &net->pings[i];
        if (!p->used || p->replied || p->id != id || p->seq != seq || p->ip != ii->src)
            continue;
        if (len - ICMP_HLEN != p->len)
            break;
        for (size_t j = 0; j < p->len; j++) {
            if (pkt[ICMP_HLEN + j] != ping_pattern(j))
                goto ignore;
        }
        p->replied = true;
        p->rtt_ms = (uint32_t) MIN(net_now(net) - p->sent, UINT32_MAX);
        net->stats.icmp_ping_replies++;
        return;
    }
ignore:
    net->stats.icmp_other++;
}

void icmp_input(struct net *net, const struct ip_info *ii, const uint8_t *pkt, size_t len) {
    if (len < ICMP_HLEN || csum_fold(csum_add(0, pkt, len)) != 0) {
        net->stats.icmp_bad++;
        return;
    }
    if (pkt[0] == ICMP_ECHO_REQUEST && pkt[1] == 0)
        icmp_echo_reply(net, ii, pkt, len);
    else if (pkt[0] == ICMP_ECHO_REPLY && pkt[1] == 0 && ii->to_us)
        icmp_ping_reply(net, ii, pkt, len);
    else
        net->stats.icmp_other++;
}

/* The slot for a new ping: the same (id, seq), a free one, or the oldest. */
static struct ping_slot *ping_slot(struct net *net, uint16_t id, uint16_t seq) {
    struct ping_slot *best = &net->pings[0];
    for (unsigned i = 0; i < NET_PINGS; i++) {
        struct ping_slot *p = &net->pings[i];
        if (p->used && p->id == id && p->seq == seq)
            return p;
        if (best->used && (!p->used || p->sent < best->sent))
            best = p;
    }
    return best;
}

error_t net_ping(struct net *net, uint32_t ip, uint16_t id, uint16_t seq, size_t payload_len) {
    if (!net->ip)
        return ERR_UNAVAILABLE;
    if (payload_len > IP_PAYLOAD_MAX - ICMP_HLEN)
        return ERR_TOO_LARGE;
    if (ip_is_martian(ip) || ip == NET_IP_BROADCAST)
        return ERR_INVALID_ARG;
    if (ip == net->ip)
        return ERR_NOT_SUPPORTED;
    struct ping_slot *p = ping_slot(net, id, seq);
    *p = (struct ping_slot){.used = true, .id = id, .seq = seq, .len = (uint16_t) payload_len,
                            .ip = ip, .sent = net_now(net)};
    uint8_t *m = net->tx + TX_L4;
    m[0] = ICMP_ECHO_REQUEST;
    m[1] = 0;
    put16(m + 2, 0);
    put16(m + 4, id);
    put16(m + 6, seq);
    for (size_t j = 0; j < payload_len; j++)
        m[ICMP_HLEN + j] = ping_pattern(j);
    put16(m + 2, csum_fold(csum_add(0, m, ICMP_HLEN + payload_len)));
    error_t err = ip_output(net, net->ip, ip, IP_PROTO_ICMP, ICMP_HLEN + payload_len);
    if (err != OK)
        p->used = false;
    return err;
}

error_t net_ping_poll(struct net *net, uint16_t id, uint16_t seq, uint32_t *rtt_ms) {
    for (unsigned i = 0; i < NET_PINGS; i++) {
        struct ping_slot *p = &net->pings[i];
        if (!p->used || p->id != id || p->seq != seq)
            continue;
        if (!p->replied)
            return ERR_WOULD_BLOCK;
        if (rtt_ms)
            *rtt_ms = p->rtt_ms;
        p->used = false;
        return OK;
    }
    return ERR_NOT_FOUND;
}
