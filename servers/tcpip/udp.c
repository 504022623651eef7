/*
 * UDP (RFC 768): sockets bound to a port, each with a queue of at most
 * params.udp_queue datagrams (later ones are dropped and counted).
 * Checksums are verified when present and always generated. Datagrams to
 * port 68 go to the DHCP client while it runs. No ICMP port unreachable.
 */
#include "net_int.h"

#define DHCP_CLIENT_PORT 68
#define DHCP_SERVER_PORT 67

static struct sock *udp_find(struct net *net, uint16_t port) {
    for (unsigned i = 0; i < net->nsocks; i++) {
        struct sock *s = &net->socks[i];
        if (s->kind == SOCK_UDP && s->lport == port)
            return s;
    }
    return NULL;
}

static void udp_queue(struct net *net, struct sock *s, uint32_t ip, uint16_t port,
                      const uint8_t *data, size_t len) {
    if (s->uq_len >= net->params.udp_queue) {
        net->stats.udp_queue_drops++;
        return;
    }
    struct udp_dgram *d = malloc(sizeof(*d) + len);
    if (!d) {
        net->stats.udp_queue_drops++;
        return;
    }
    d->next = NULL;
    d->ip = ip;
    d->port = port;
    d->len = (uint16_t) len;
    memcpy(d->data, data, len);
    if (s->uq_tail)
        s->uq_tail->next = d;
    else
        s->uq_head = d;
    s->uq_tail = d;
    s->uq_len++;
    sock_changed(net, s);
}

void udp_input(struct net *net, const struct ip_info *ii, const uint8_t *pkt, size_t len) {
    uint16_t ulen = len >= UDP_HLEN ? get16(pkt + 4) : 0;
    if (ulen < UDP_HLEN || ulen > len) {
        net->stats.udp_bad++;
        return;
    }
    if (get16(pkt + 6) != 0 &&
        csum_fold(csum_add(csum_pseudo(ii->src, ii->dst, IP_PROTO_UDP, ulen), pkt, ulen)) != 0) {
        net->stats.udp_bad++;
        return;
    }
    uint16_t sport = get16(pkt), dport = get16(pkt + 2);
    if (dport == DHCP_CLIENT_PORT && sport == DHCP_SERVER_PORT &&
        net->dhcp.state != NET_DHCP_OFF) {
        dhcp_input(net, pkt + UDP_HLEN, ulen - UDP_HLEN);
        return;
    }
    if (!net->ip && ii->dst != NET_IP_BROADCAST) {
        net->stats.ip_not_for_us++;
        return;
    }
    struct sock *s = udp_find(net, dport);
    if (!s) {
        net->stats.udp_no_port++;
        return;
    }
    udp_queue(net, s, ii->src, sport, pkt + UDP_HLEN, ulen - UDP_HLEN);
}

error_t udp_output(struct net *net, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                   size_t len) {
    uint8_t *u = net->tx + TX_L4;
    uint16_t ulen = (uint16_t) (UDP_HLEN + len);
    put16(u, sport);
    put16(u + 2, dport);
    put16(u + 4, ulen);
    put16(u + 6, 0);
    uint16_t sum = csum_fold(csum_add(csum_pseudo(src, dst, IP_PROTO_UDP, ulen), u, ulen));
    put16(u + 6, sum ? sum : 0xFFFF);
    return ip_output(net, src, dst, IP_PROTO_UDP, ulen);
}

void udp_sock_clear(struct sock *s) {
    while (s->uq_head) {
        struct udp_dgram *d = s->uq_head;
        s->uq_head = d->next;
        free(d);
    }
    s->uq_tail = NULL;
    s->uq_len = 0;
}

int udp_open(struct net *net, uint16_t port) {
    if (port == DHCP_CLIENT_PORT && net->dhcp.state != NET_DHCP_OFF)
        return ERR_IN_USE;
    if (port == 0)
        port = port_ephemeral(net, SOCK_UDP);
    else if (port_in_use(net, SOCK_UDP, port))
        return ERR_IN_USE;
    if (port == 0)
        return ERR_NO_RESOURCES;
    struct sock *s = sock_alloc(net, SOCK_UDP);
    if (!s)
        return ERR_NO_RESOURCES;
    s->lport = port;
    s->user = true;
    return sock_id(net, s);
}

int udp_sendto(struct net *net, int sock, uint32_t ip, uint16_t port, const void *buf,
               size_t len) {
    struct sock *s = sock_lookup(net, sock, SOCK_UDP);
    if (!s)
        return ERR_NOT_FOUND;
    if (len > UDP_PAYLOAD_MAX)
        return ERR_TOO_LARGE;
    if (port == 0 || (ip != NET_IP_BROADCAST && ip_is_martian(ip)))
        return ERR_INVALID_ARG;
    if (!net->ip)
        return ERR_UNAVAILABLE;
    if (ip == net->ip)
        return ERR_NOT_SUPPORTED;
    memcpy(net->tx + TX_L4 + UDP_HLEN, buf, len);
    error_t err = udp_output(net, net->ip, s->lport, ip, port, len);
    return err == OK ? (int) len : err;
}

int udp_recvfrom(struct net *net, int sock, void *buf, size_t len, uint32_t *ip,
                 uint16_t *port) {
    struct sock *s = sock_lookup(net, sock, SOCK_UDP);
    if (!s)
        return ERR_NOT_FOUND;
    struct udp_dgram *d = s->uq_head;
    if (!d)
        return ERR_WOULD_BLOCK;
    s->uq_head = d->next;
    if (!s->uq_head)
        s->uq_tail = NULL;
    s->uq_len--;
    size_t n = MIN(len, (size_t) d->len);
    memcpy(buf, d->data, n);
    if (ip)
        *ip = d->ip;
    if (port)
        *port = d->port;
    free(d);
    return (int) n;
}

error_t udp_close(struct net *net, int sock) {
    struct sock *s = sock_lookup(net, sock, SOCK_UDP);
    if (!s)
        return ERR_NOT_FOUND;
    sock_free(net, s);
    return OK;
}
