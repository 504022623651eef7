/*
 * ARP (RFC 826) over Ethernet for IPv4: a cache of ARP_ENTRIES entries and
 * the packets waiting for a resolution.
 *
 * An entry is PENDING (requests sent every ARP_RETRY_MS, ARP_TRIES times,
 * then it is dropped with its packets) or RESOLVED (for ARP_TIMEOUT_MS).
 * Packets to an unresolved next hop are copied into the entry's queue: at
 * most ARP_QUEUE_PER_ENTRY per entry (the oldest goes first) and
 * ARP_QUEUE_TOTAL in all (then new ones are dropped). A full table evicts
 * its least recently used entry. Incoming ARP follows the RFC's merge
 * rule: a known sender's MAC is updated; an unknown sender is added only
 * when the packet is aimed at our address, and such unsolicited entries may
 * only evict resolved entries unused for ARP_KEEP_MS, so a flood from many
 * addresses cannot push out the entries in use, and memory stays bounded.
 */
#include "net_int.h"

#define ARP_LEN        28
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY   2

static struct arp_entry *arp_find(struct net *net, uint32_t ip) {
    for (unsigned i = 0; i < ARP_ENTRIES; i++) {
        if (net->arp[i].state != ARP_FREE && net->arp[i].ip == ip)
            return &net->arp[i];
    }
    return NULL;
}

static void arp_drop_queue(struct net *net, struct arp_entry *e) {
    while (e->queue) {
        struct arp_pkt *p = e->queue;
        e->queue = p->next;
        free(p);
        net->stats.arp_queue_drops++;
    }
    net->arp_queued -= e->nqueued;
    e->nqueued = 0;
}

static void arp_clear(struct net *net, struct arp_entry *e) {
    arp_drop_queue(net, e);
    memset(e, 0, sizeof(*e));
}

/* A slot for a new entry: a free one, else the least recently used.
 * Unsolicited learning never takes a pending entry nor one in use. */
static struct arp_entry *arp_slot(struct net *net, uint64_t now, bool unsolicited) {
    struct arp_entry *victim = NULL;
    for (unsigned i = 0; i < ARP_ENTRIES; i++) {
        struct arp_entry *e = &net->arp[i];
        if (e->state == ARP_FREE)
            return e;
        if (unsolicited && (e->state == ARP_PENDING || now - e->last_used < ARP_KEEP_MS))
            continue;
        if (!victim || e->last_used < victim->last_used)
            victim = e;
    }
    if (victim) {
        net->stats.arp_evictions++;
        arp_clear(net, victim);
    }
    return victim;
}

static void arp_send(struct net *net, uint16_t op, const uint8_t *tha, uint32_t tpa) {
    uint8_t *p = net->tx + ETH_HLEN;
    put16(p, 1);
    put16(p + 2, ETH_TYPE_IP);
    p[4] = ETH_ALEN;
    p[5] = 4;
    put16(p + 6, op);
    memcpy(p + 8, net->mac, ETH_ALEN);
    put32(p + 14, net->ip);
    if (tha)
        memcpy(p + 18, tha, ETH_ALEN);
    else
        memset(p + 18, 0, ETH_ALEN);
    put32(p + 24, tpa);
    eth_send(net, op == ARP_OP_REQUEST ? NULL : tha, ETH_TYPE_ARP, ARP_LEN);
}

static void arp_request(struct net *net, struct arp_entry *e, uint64_t now) {
    e->tries++;
    e->deadline = now + ARP_RETRY_MS;
    net->stats.arp_requests_out++;
    arp_send(net, ARP_OP_REQUEST, NULL, e->ip);
}

/* Record ip's MAC and send what waited for it. */
static void arp_resolved(struct net *net, struct arp_entry *e, const uint8_t *mac, uint64_t now) {
    memcpy(e->mac, mac, ETH_ALEN);
    e->state = ARP_RESOLVED;
    e->tries = 0;
    e->deadline = now + ARP_TIMEOUT_MS;
    while (e->queue) {
        struct arp_pkt *p = e->queue;
        e->queue = p->next;
        e->nqueued--;
        net->arp_queued--;
        size_t len = p->len;
        memcpy(net->tx + ETH_HLEN, p->data, len);
        free(p);
        eth_send(net, e->mac, ETH_TYPE_IP, len);
    }
}

static void arp_enqueue(struct net *net, struct arp_entry *e, size_t len) {
    if (e->nqueued == ARP_QUEUE_PER_ENTRY) {
        struct arp_pkt *old = e->queue;
        e->queue = old->next;
        e->nqueued--;
        net->arp_queued--;
        free(old);
        net->stats.arp_queue_drops++;
    } else if (net->arp_queued >= ARP_QUEUE_TOTAL) {
        net->stats.arp_queue_drops++;
        return;
    }
    struct arp_pkt *p = malloc(sizeof(*p) + len);
    if (!p) {
        net->stats.arp_queue_drops++;
        return;
    }
    p->next = NULL;
    p->len = (uint16_t) len;
    memcpy(p->data, net->tx + ETH_HLEN, len);
    struct arp_pkt **tail = &e->queue;
    while (*tail)
        tail = &(*tail)->next;
    *tail = p;
    e->nqueued++;
    net->arp_queued++;
}

void arp_output(struct net *net, uint32_t nexthop, size_t len) {
    if (nexthop == NET_IP_BROADCAST) {
        eth_send(net, NULL, ETH_TYPE_IP, len);
        return;
    }
    uint64_t now = net_now(net);
    struct arp_entry *e = arp_find(net, nexthop);
    if (e && e->state == ARP_RESOLVED) {
        e->last_used = now;
        eth_send(net, e->mac, ETH_TYPE_IP, len);
        return;
    }
    bool fresh = !e;
    if (fresh) {
        e = arp_slot(net, now, false);
        e->state = ARP_PENDING;
        e->ip = nexthop;
    }
    e->last_used = now;
    /* Copy the packet out of net->tx before the request overwrites it. */
    arp_enqueue(net, e, len);
    if (fresh)
        arp_request(net, e, now);
}

static bool arp_valid_header(const uint8_t *p, size_t len) {
    if (len < ARP_LEN)
        return false;
    uint16_t op = get16(p + 6);
    return get16(p) == 1 && get16(p + 2) == ETH_TYPE_IP && p[4] == ETH_ALEN && p[5] == 4 &&
           (op == ARP_OP_REQUEST || op == ARP_OP_REPLY);
}

void arp_input(struct net *net, const uint8_t *p, size_t len) {
    if (!arp_valid_header(p, len)) {
        net->stats.arp_bad++;
        return;
    }
    uint16_t op = get16(p + 6);
    const uint8_t *sha = p + 8;
    uint32_t spa = get32(p + 14), tpa = get32(p + 24);
    if (sha[0] & 1) { /* a multicast or broadcast sender */
        net->stats.arp_bad++;
        return;
    }
    if (net->ip && spa == net->ip) {
        net->stats.arp_conflicts++;
        return;
    }
    bool sender_ok = !ip_is_martian(spa) && spa != NET_IP_BROADCAST;
    uint64_t now = net_now(net);
    struct arp_entry *e = sender_ok ? arp_find(net, spa) : NULL;
    if (e)
        arp_resolved(net, e, sha, now);
    if (!net->ip || tpa != net->ip)
        return;
    if (!e && sender_ok) {
        e = arp_slot(net, now, true);
        if (e) {
            e->ip = spa;
            e->last_used = now;
            arp_resolved(net, e, sha, now);
        }
    }
    if (op == ARP_OP_REQUEST) {
        net->stats.arp_requests_in++;
        arp_send(net, ARP_OP_REPLY, sha, spa);
    } else {
        net->stats.arp_replies_in++;
    }
}

void arp_tick(struct net *net, uint64_t now) {
    for (unsigned i = 0; i < ARP_ENTRIES; i++) {
        struct arp_entry *e = &net->arp[i];
        if (e->state == ARP_FREE || e->deadline > now)
            continue;
        if (e->state == ARP_PENDING && e->tries < ARP_TRIES) {
            arp_request(net, e, now);
            continue;
        }
        if (e->state == ARP_PENDING)
            net->stats.arp_failed++;
        arp_clear(net, e);
    }
}

uint64_t arp_deadline(struct net *net) {
    uint64_t d = 0;
    for (unsigned i = 0; i < ARP_ENTRIES; i++) {
        if (net->arp[i].state != ARP_FREE)
            d = deadline_min(d, net->arp[i].deadline);
    }
    return d;
}

void arp_flush(struct net *net) {
    for (unsigned i = 0; i < ARP_ENTRIES; i++)
        arp_clear(net, &net->arp[i]);
}

size_t net_arp_list(struct net *net, struct net_arp_entry *out, size_t max) {
    uint64_t now = net_now(net);
    size_t n = 0;
    for (unsigned i = 0; i < ARP_ENTRIES && n < max; i++) {
        const struct arp_entry *e = &net->arp[i];
        if (e->state == ARP_FREE)
            continue;
        struct net_arp_entry *o = &out[n++];
        o->ip = e->ip;
        o->resolved = e->state == ARP_RESOLVED;
        memcpy(o->mac, e->mac, ETH_ALEN);
        o->expires_ms = e->deadline > now ? (uint32_t) MIN(e->deadline - now, UINT32_MAX) : 0;
        o->queued = e->nqueued;
    }
    return n;
}
