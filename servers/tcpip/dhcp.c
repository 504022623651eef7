/*
 * The DHCP client (RFC 2131, options from RFC 2132).
 *
 * SELECTING: DISCOVERs are broadcast until an OFFER comes; REQUESTING: the
 * offer is requested (broadcast, with the server id) until an ACK binds the
 * address or a NAK restarts; after DHCP_REQUEST_TRIES unanswered REQUESTs
 * we start over. Both retransmit after 4, 8, 16, 32, 64, 64 ... seconds,
 * each +-1 s at random. BOUND until T1 (option 58 or half the lease), then
 * RENEWING: REQUESTs unicast to our server; from T2 (option 59 or 7/8 of
 * the lease) REBINDING: broadcast; both retransmit after half the time left
 * (at least 60 s). When the lease ends the address is dropped and we start
 * over. A NAK in any state drops the address and starts over.
 *
 * Replies are checked (BOOTREPLY, our xid and MAC, the magic cookie) and
 * the option list is walked with every length checked against the end of
 * the message; a malformed list drops the whole message. The file and sname
 * fields are never parsed (no option overload). No ARP probe of the offered
 * address (no DECLINE), no INIT-REBOOT, no RELEASE.
 */
#include "net_int.h"

#define DHCP_CLIENT_PORT   68
#define DHCP_SERVER_PORT   67
#define DHCP_OPTIONS       240 /* fixed part (236) + magic cookie */
#define DHCP_MIN_LEN       300 /* BOOTP size; some servers want it */
#define DHCP_COOKIE        0x63825363u
#define DHCP_REQUEST_TRIES 4
#define DHCP_LEASE_DEFAULT 3600 /* an ACK without a lease time */
#define DHCP_LEASE_MIN     10
#define DHCP_RENEW_MIN_MS  60000

enum { DHCPDISCOVER = 1, DHCPOFFER, DHCPREQUEST, DHCPDECLINE, DHCPACK, DHCPNAK, DHCPRELEASE };

enum {
    OPT_PAD = 0,
    OPT_MASK = 1,
    OPT_ROUTER = 3,
    OPT_DNS = 6,
    OPT_REQUESTED_IP = 50,
    OPT_LEASE = 51,
    OPT_MSG_TYPE = 53,
    OPT_SERVER = 54,
    OPT_PARAMS = 55,
    OPT_MAX_SIZE = 57,
    OPT_T1 = 58,
    OPT_T2 = 59,
    OPT_CLIENT_ID = 61,
    OPT_END = 255,
};

struct dhcp_opts {
    uint8_t type;
    bool has_mask, has_router, has_server, has_lease, has_t1, has_t2;
    uint32_t mask, router, dns[2], server, lease, t1, t2;
};

/* ---- sending -------------------------------------------------------------------- */
static uint8_t *opt_put(uint8_t *o, uint8_t code, uint8_t len, const void *val) {
    o[0] = code;
    o[1] = len;
    memcpy(o + 2, val, len);
    return o + 2 + len;
}

static uint8_t *opt_put32(uint8_t *o, uint8_t code, uint32_t v) {
    uint8_t b[4];
    put32(b, v);
    return opt_put(o, code, 4, b);
}

static void dhcp_send(struct net *net, uint8_t type) {
    struct dhcp *d = &net->dhcp;
    bool leased = d->state == NET_DHCP_RENEWING || d->state == NET_DHCP_REBINDING;
    uint8_t *m = net->tx + TX_L4 + UDP_HLEN;
    memset(m, 0, DHCP_MIN_LEN);
    m[0] = 1; /* BOOTREQUEST */
    m[1] = 1;
    m[2] = ETH_ALEN;
    put32(m + 4, d->xid);
    if (leased)
        put32(m + 12, net->ip);
    memcpy(m + 28, net->mac, ETH_ALEN);
    put32(m + 236, DHCP_COOKIE);
    uint8_t *o = m + DHCP_OPTIONS;
    o = opt_put(o, OPT_MSG_TYPE, 1, &type);
    uint8_t client_id[1 + ETH_ALEN] = {1};
    memcpy(client_id + 1, net->mac, ETH_ALEN);
    o = opt_put(o, OPT_CLIENT_ID, sizeof(client_id), client_id);
    if (type == DHCPREQUEST && d->state == NET_DHCP_REQUESTING) {
        o = opt_put32(o, OPT_REQUESTED_IP, d->offer_ip);
        o = opt_put32(o, OPT_SERVER, d->server);
    }
    static const uint8_t params[] = {OPT_MASK, OPT_ROUTER, OPT_DNS, OPT_LEASE,
                                     OPT_SERVER, OPT_T1, OPT_T2};
    o = opt_put(o, OPT_PARAMS, sizeof(params), params);
    uint8_t max_size[2];
    put16(max_size, UDP_PAYLOAD_MAX);
    o = opt_put(o, OPT_MAX_SIZE, 2, max_size);
    *o++ = OPT_END;
    size_t len = MAX((size_t) (o - m), (size_t) DHCP_MIN_LEN);
    uint32_t src = leased ? net->ip : 0;
    uint32_t dst = d->state == NET_DHCP_RENEWING ? d->server : NET_IP_BROADCAST;
    udp_output(net, src, DHCP_CLIENT_PORT, dst, DHCP_SERVER_PORT, len);
}

/* When to retransmit in SELECTING and REQUESTING: 4 s doubling to 64 s, +-1 s. */
static uint64_t dhcp_backoff(struct net *net, uint64_t now) {
    uint64_t base = 4000ull << MIN(net->dhcp.tries, 4);
    return now + base - 1000 + net_random(net) % 2001;
}

/* Half the time left until limit, at least DHCP_RENEW_MIN_MS, at most limit. */
static uint64_t dhcp_half_way(uint64_t now, uint64_t limit) {
    if (limit <= now)
        return now;
    uint64_t t = now + MAX((limit - now) / 2, (uint64_t) DHCP_RENEW_MIN_MS);
    return MIN(t, limit);
}

static void dhcp_discover(struct net *net, uint64_t now) {
    struct dhcp *d = &net->dhcp;
    d->state = NET_DHCP_SELECTING;
    d->xid = net_random(net);
    d->tries = 0;
    d->offer_ip = d->server = 0;
    dhcp_send(net, DHCPDISCOVER);
    d->t_next = dhcp_backoff(net, now);
}

/* Forget the lease (and the address) and send a DISCOVER. */
static void dhcp_restart(struct net *net, uint64_t now) {
    if (net->dhcp.state >= NET_DHCP_BOUND)
        net_set_addr(net, 0, 0, 0);
    net->dns[0] = net->dns[1] = 0;
    dhcp_discover(net, now);
}

error_t net_dhcp_start(struct net *net) {
    net_set_addr(net, 0, 0, 0);
    net->dns[0] = net->dns[1] = 0;
    dhcp_discover(net, net_now(net));
    return OK;
}

/* ---- receiving -------------------------------------------------------------------- */
/* Record one option; false if its length is impossible for its code. */
static bool dhcp_option(struct dhcp_opts *out, uint8_t code, uint8_t n, const uint8_t *v) {
    bool four = n == 4, list = n >= 4 && n % 4 == 0;
    switch (code) {
    case OPT_MSG_TYPE:
        out->type = n == 1 ? v[0] : 0;
        return n == 1;
    case OPT_MASK:
        out->has_mask = four;
        out->mask = four ? get32(v) : 0;
        return four;
    case OPT_ROUTER:
        out->has_router = list;
        out->router = list ? get32(v) : 0;
        return list;
    case OPT_DNS:
        out->dns[0] = list ? get32(v) : 0;
        out->dns[1] = list && n >= 8 ? get32(v + 4) : 0;
        return list;
    case OPT_SERVER:
        out->has_server = four;
        out->server = four ? get32(v) : 0;
        return four;
    case OPT_LEASE:
        out->has_lease = four;
        out->lease = four ? get32(v) : 0;
        return four;
    case OPT_T1:
        out->has_t1 = four;
        out->t1 = four ? get32(v) : 0;
        return four;
    case OPT_T2:
        out->has_t2 = four;
        out->t2 = four ? get32(v) : 0;
        return four;
    default:
        return true;
    }
}

/* Walk the options; false if a length runs past the end or a known
 * option has a length it cannot have. A missing END is tolerated. */
static bool dhcp_parse(const uint8_t *o, size_t len, struct dhcp_opts *out) {
    memset(out, 0, sizeof(*out));
    size_t i = 0;
    while (i < len && o[i] != OPT_END) {
        if (o[i] == OPT_PAD) {
            i++;
            continue;
        }
        if (i + 2 > len || i + 2 + o[i + 1] > len)
            return false;
        if (!dhcp_option(out, o[i], o[i + 1], o + i + 2))
            return false;
        i += 2 + (size_t) o[i + 1];
    }
    return true;
}

static uint32_t mask_classful(uint32_t ip) {
    if (ip < 0x80000000u)
        return 0xFF000000u;
    return ip < 0xC0000000u ? 0xFFFF0000u : 0xFFFFFF00u;
}

static int mask_bits(uint32_t mask) {
    int n = 0;
    while (mask & 0x80000000u) {
        n++;
        mask <<= 1;
    }
    return n;
}

static void dhcp_bind(struct net *net, uint32_t ip, const struct dhcp_opts *o, uint64_t now) {
    struct dhcp *d = &net->dhcp;
    bool renewed = d->state >= NET_DHCP_RENEWING && net->ip == ip;
    uint32_t mask = o->has_mask && o->mask && ip_mask_valid(o->mask) ? o->mask
                                                                    : mask_classful(ip);
    uint32_t gw = o->has_router && !ip_is_martian(o->router) && o->router != ip &&
                          ((o->router ^ ip) & mask) == 0
                      ? o->router
                      : 0;
    uint32_t lease = o->has_lease ? MAX(o->lease, (uint32_t) DHCP_LEASE_MIN) : DHCP_LEASE_DEFAULT;
    if (o->has_server)
        d->server = o->server;
    d->state = NET_DHCP_BOUND;
    d->lease_s = lease;
    d->bound_at = now;
    if (lease == 0xFFFFFFFFu) {
        d->t1 = d->t2 = d->t_end = UINT64_MAX;
        d->t_next = 0;
    } else {
        uint32_t t2 = o->has_t2 && o->t2 < lease ? o->t2 : (uint32_t) ((uint64_t) lease * 7 / 8);
        uint32_t t1 = o->has_t1 && o->t1 < t2 ? o->t1 : MIN(lease / 2, t2);
        d->t1 = now + (uint64_t) t1 * 1000;
        d->t2 = now + (uint64_t) t2 * 1000;
        d->t_end = now + (uint64_t) lease * 1000;
        d->t_next = d->t1;
    }
    net_set_addr(net, ip, mask, gw);
    net->dns[0] = o->dns[0];
    net->dns[1] = o->dns[1];
    net_logf(net, "dhcp: %s " IP_FMT "/%d gw " IP_FMT " lease %us", renewed ? "renewed" : "bound",
             IP_ARGS(ip), mask_bits(mask), IP_ARGS(gw), lease);
}

static bool dhcp_header_ok(struct net *net, const uint8_t *m, size_t len) {
    if (len < DHCP_OPTIONS || get32(m + 236) != DHCP_COOKIE) {
        net->stats.dhcp_bad++;
        return false;
    }
    if (m[0] != 2 || m[1] != 1 || m[2] != ETH_ALEN || get32(m + 4) != net->dhcp.xid ||
        memcmp(m + 28, net->mac, ETH_ALEN) != 0) {
        net->stats.dhcp_ignored++;
        return false;
    }
    return true;
}

static bool dhcp_addr_ok(uint32_t ip) {
    return !ip_is_martian(ip) && ip != NET_IP_BROADCAST;
}

void dhcp_input(struct net *net, const uint8_t *m, size_t len) {
    struct dhcp *d = &net->dhcp;
    struct dhcp_opts o;
    if (!dhcp_header_ok(net, m, len))
        return;
    if (!dhcp_parse(m + DHCP_OPTIONS, len - DHCP_OPTIONS, &o) || !o.type) {
        net->stats.dhcp_bad++;
        return;
    }
    uint32_t yiaddr = get32(m + 16);
    uint64_t now = net_now(net);
    bool from_server = !o.has_server || o.server == d->server;
    if (d->state == NET_DHCP_SELECTING && o.type == DHCPOFFER && dhcp_addr_ok(yiaddr) &&
        o.has_server) {
        d->state = NET_DHCP_REQUESTING;
        d->offer_ip = yiaddr;
        d->server = o.server;
        d->tries = 0;
        dhcp_send(net, DHCPREQUEST);
        d->t_next = dhcp_backoff(net, now);
    } else if (d->state >= NET_DHCP_REQUESTING && d->state != NET_DHCP_BOUND &&
               o.type == DHCPACK && from_server && dhcp_addr_ok(yiaddr) &&
               (d->state != NET_DHCP_REQUESTING || yiaddr == d->offer_ip)) {
        dhcp_bind(net, yiaddr, &o, now);
    } else if (d->state >= NET_DHCP_REQUESTING && d->state != NET_DHCP_BOUND &&
               o.type == DHCPNAK && from_server) {
        net_logf(net, "dhcp: NAK from " IP_FMT ", starting over", IP_ARGS(d->server));
        dhcp_restart(net, now);
    } else {
        net->stats.dhcp_ignored++;
    }
}

/* ---- timers -------------------------------------------------------------------------- */
/* BOUND past T1, RENEWING, REBINDING: ask again, or give up at the end. */
static void dhcp_renew_tick(struct net *net, uint64_t now) {
    struct dhcp *d = &net->dhcp;
    if (d->state == NET_DHCP_BOUND) {
        d->state = NET_DHCP_RENEWING;
        d->xid = net_random(net);
    }
    if (d->state == NET_DHCP_RENEWING && now >= d->t2)
        d->state = NET_DHCP_REBINDING;
    if (now >= d->t_end) {
        net_logf(net, "dhcp: lease of " IP_FMT " expired, starting over", IP_ARGS(net->ip));
        dhcp_restart(net, now);
        return;
    }
    dhcp_send(net, DHCPREQUEST);
    d->t_next = dhcp_half_way(now, d->state == NET_DHCP_RENEWING ? d->t2 : d->t_end);
}

void dhcp_tick(struct net *net, uint64_t now) {
    struct dhcp *d = &net->dhcp;
    if (d->state == NET_DHCP_OFF || !d->t_next || d->t_next > now)
        return;
    if (d->state == NET_DHCP_SELECTING) {
        d->tries++;
        dhcp_send(net, DHCPDISCOVER);
        d->t_next = dhcp_backoff(net, now);
    } else if (d->state == NET_DHCP_REQUESTING) {
        if (++d->tries >= DHCP_REQUEST_TRIES) {
            dhcp_discover(net, now);
            return;
        }
        dhcp_send(net, DHCPREQUEST);
        d->t_next = dhcp_backoff(net, now);
    } else {
        dhcp_renew_tick(net, now);
    }
}

uint64_t dhcp_deadline(struct net *net) {
    return net->dhcp.state == NET_DHCP_OFF ? 0 : net->dhcp.t_next;
}
