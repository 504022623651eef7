/*
 * IPv4 (RFC 791) for a host on one Ethernet: checks every received header
 * (version, length, checksum) and drops what a small host need not handle:
 * options, fragments (no reassembly), TTL 0, martian sources and packets for
 * other hosts, each counted. Broadcasts are passed to UDP and ICMP only, and
 * while we have no address any UDP is accepted (the DHCP client's offers
 * may be unicast to the address being offered). Sends with TTL 64, DF set
 * (we never fragment) and a rolling identification; routes to on-link
 * hosts directly and to everything else through the gateway.
 */
#include "net_int.h"

bool ip_on_link(struct net *net, uint32_t ip) {
    return net->ip && ((ip ^ net->ip) & net->mask) == 0;
}

/* The limited broadcast or our subnet's directed broadcast. */
static bool ip_is_broadcast(struct net *net, uint32_t ip) {
    if (ip == NET_IP_BROADCAST)
        return true;
    return net->ip && net->mask != 0xFFFFFFFFu && ip == (net->ip | ~net->mask);
}

/* The header checks; true if the packet may go up. */
static bool ip_check(struct net *net, const uint8_t *pkt, size_t len) {
    if (len < IP_HLEN) {
        net->stats.ip_short++;
        return false;
    }
    if ((pkt[0] >> 4) != 4) {
        net->stats.ip_bad_version++;
        return false;
    }
    unsigned ihl = (pkt[0] & 15u) * 4;
    if (ihl > IP_HLEN) {
        net->stats.ip_options++;
        return false;
    }
    uint16_t total = get16(pkt + 2);
    if (ihl < IP_HLEN || total < IP_HLEN || total > len) {
        net->stats.ip_bad_len++;
        return false;
    }
    if (csum_fold(csum_add(0, pkt, IP_HLEN)) != 0) {
        net->stats.ip_bad_checksum++;
        return false;
    }
    if (get16(pkt + 6) & 0x3FFF) { /* more fragments, or an offset */
        net->stats.ip_fragments++;
        return false;
    }
    if (pkt[8] == 0) {
        net->stats.ip_bad_ttl++;
        return false;
    }
    return true;
}

void ip_input(struct net *net, const uint8_t *pkt, size_t len) {
    if (!ip_check(net, pkt, len))
        return;
    struct ip_info ii = {.src = get32(pkt + 12), .dst = get32(pkt + 16)};
    uint8_t proto = pkt[9];
    if (ip_is_martian(ii.src) || ip_is_broadcast(net, ii.src) || ii.src == net->ip) {
        net->stats.ip_bad_src++;
        return;
    }
    ii.to_us = net->ip && ii.dst == net->ip;
    bool accept = ii.to_us || (proto != IP_PROTO_TCP && ip_is_broadcast(net, ii.dst)) ||
                  (!net->ip && proto == IP_PROTO_UDP);
    if (!accept) {
        net->stats.ip_not_for_us++;
        return;
    }
    const uint8_t *payload = pkt + IP_HLEN;
    size_t plen = get16(pkt + 2) - IP_HLEN;
    switch (proto) {
    case IP_PROTO_ICMP:
        icmp_input(net, &ii, payload, plen);
        break;
    case IP_PROTO_UDP:
        udp_input(net, &ii, payload, plen);
        break;
    case IP_PROTO_TCP:
        tcp_input(net, &ii, payload, plen);
        break;
    default:
        net->stats.ip_unknown_proto++;
        break;
    }
}

error_t ip_output(struct net *net, uint32_t src, uint32_t dst, uint8_t proto, size_t len) {
    uint32_t nexthop;
    if (ip_is_broadcast(net, dst))
        nexthop = NET_IP_BROADCAST;
    else if (ip_on_link(net, dst))
        nexthop = dst;
    else if (net->ip && net->gw)
        nexthop = net->gw;
    else {
        net->stats.ip_no_route++;
        return ERR_NOT_FOUND;
    }
    uint8_t *h = net->tx + ETH_HLEN;
    h[0] = 0x45;
    h[1] = 0;
    put16(h + 2, (uint16_t) (IP_HLEN + len));
    put16(h + 4, net->ip_id++);
    put16(h + 6, 0x4000); /* DF */
    h[8] = IP_TTL;
    h[9] = proto;
    put16(h + 10, 0);
    put32(h + 12, src);
    put32(h + 16, dst);
    put16(h + 10, csum_fold(csum_add(0, h, IP_HLEN)));
    arp_output(net, nexthop, IP_HLEN + len);
    return OK;
}
