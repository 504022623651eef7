/*
 * The core's entry points: creating and destroying a struct net, feeding
 * it frames, running its timers, the interface's address configuration and
 * the statistics.
 */
#include "net_int.h"

void net_params_default(struct net_params *p) {
    p->max_sockets = 128;
    p->tcp_sndbuf = 64 * 1024;
    p->tcp_rcvbuf = 32 * 1024;
    p->tcp_max_retries = 8;
    p->tcp_syn_retries = 5;
    p->udp_queue = 16;
}

static bool params_valid(const struct net_params *p) {
    return p->max_sockets >= 1 && p->max_sockets <= SOCK_MAX && p->tcp_sndbuf >= 1024 &&
           p->tcp_sndbuf <= (1u << 24) && p->tcp_rcvbuf >= 1024 && p->tcp_rcvbuf <= 65535 &&
           p->tcp_max_retries >= 1 && p->tcp_max_retries <= 30 && p->tcp_syn_retries >= 1 &&
           p->tcp_syn_retries <= 30 && p->udp_queue >= 1 && p->udp_queue <= 4096;
}

error_t net_create(const struct net_seam *seam, const uint8_t mac[6],
                   const struct net_params *params, struct net **out) {
    struct net_params defaults;
    net_params_default(&defaults);
    if (!params)
        params = &defaults;
    if (!seam || !seam->send_frame || !seam->now_ms || !seam->random || !mac || (mac[0] & 1) ||
        !params_valid(params))
        return ERR_INVALID_ARG;
    struct net *net = calloc(1, sizeof(*net));
    if (!net)
        return ERR_NO_MEMORY;
    net->seam = *seam;
    net->params = *params;
    memcpy(net->mac, mac, ETH_ALEN);
    net->nsocks = params->max_sockets;
    net->socks = calloc(net->nsocks, sizeof(*net->socks));
    net->changed = calloc(net->nsocks, sizeof(*net->changed));
    net->tx = malloc(ETH_FRAME_MAX);
    if (!net->socks || !net->changed || !net->tx) {
        net_destroy(net);
        return ERR_NO_MEMORY;
    }
    for (unsigned i = 0; i < net->nsocks; i++)
        net->socks[i].gen = 1;
    net->ip_id = (uint16_t) net_random(net);
    *out = net;
    return OK;
}

void net_destroy(struct net *net) {
    if (!net)
        return;
    for (unsigned i = 0; net->socks && i < net->nsocks; i++) {
        if (net->socks[i].kind != SOCK_FREE)
            sock_free(net, &net->socks[i]);
    }
    arp_flush(net);
    free(net->socks);
    free(net->changed);
    free(net->tx);
    free(net);
}

void net_input(struct net *net, const void *frame, size_t len) {
    net->stats.frames_in++;
    net->stats.bytes_in += len;
    if (frame)
        eth_input(net, frame, len);
    else
        net->stats.eth_short++;
}

void net_tick(struct net *net) {
    uint64_t now = net_now(net);
    arp_tick(net, now);
    dhcp_tick(net, now);
    tcp_tick(net, now);
}

uint64_t net_next_deadline_ms(struct net *net) {
    uint64_t d = deadline_min(arp_deadline(net), deadline_min(dhcp_deadline(net),
                                                             tcp_deadline(net)));
    return d ? d : NET_NO_DEADLINE;
}

void net_set_addr(struct net *net, uint32_t ip, uint32_t mask, uint32_t gw) {
    uint32_t old = net->ip;
    net->ip = ip;
    net->mask = ip ? mask : 0;
    net->gw = ip ? gw : 0;
    if (old && old != ip)
        tcp_addr_lost(net, old);
}

error_t net_set_static(struct net *net, uint32_t ip, uint32_t mask, uint32_t gw) {
    if (ip) {
        bool host_part_ok = mask >= 0xFFFFFFFEu || ((ip & ~mask) != 0 && (ip | mask) != ~0u);
        if (ip_is_martian(ip) || !ip_mask_valid(mask) || !host_part_ok)
            return ERR_INVALID_ARG;
        if (gw && (ip_is_martian(gw) || ((gw ^ ip) & mask) != 0 || gw == ip))
            return ERR_INVALID_ARG;
    }
    net->dhcp.state = NET_DHCP_OFF;
    net->dhcp.server = 0;
    net_set_addr(net, ip, mask, gw);
    return OK;
}

error_t net_set_dns(struct net *net, uint32_t dns0, uint32_t dns1) {
    net->dns[0] = dns0;
    net->dns[1] = dns1;
    return OK;
}

void net_get_config(struct net *net, struct net_config *out) {
    memset(out, 0, sizeof(*out));
    memcpy(out->mac, net->mac, ETH_ALEN);
    out->ip = net->ip;
    out->mask = net->mask;
    out->gw = net->gw;
    out->dns[0] = net->dns[0];
    out->dns[1] = net->dns[1];
    out->dhcp_state = net->dhcp.state;
    bool leased = net->dhcp.state >= NET_DHCP_BOUND;
    if (leased) {
        uint64_t now = net_now(net);
        out->dhcp_server = net->dhcp.server;
        out->lease_s = net->dhcp.lease_s;
        if (net->dhcp.t_end == UINT64_MAX)
            out->lease_left_s = 0xFFFFFFFFu;
        else
            out->lease_left_s = net->dhcp.t_end > now ? (uint32_t) ((net->dhcp.t_end - now) / 1000)
                                                      : 0;
    }
}

const char *net_dhcp_state_name(int state) {
    static const char *const names[] = {"off", "selecting", "requesting",
                                        "bound", "renewing", "rebinding"};
    return state >= 0 && (size_t) state < ARRAY_SIZE(names) ? names[state] : "?";
}

void net_get_stats(struct net *net, struct net_stats *out) {
    *out = net->stats;
    out->tcp_conns = out->sockets = 0;
    for (unsigned i = 0; i < net->nsocks; i++) {
        const struct sock *s = &net->socks[i];
        if (s->kind == SOCK_FREE)
            continue;
        out->sockets++;
        if (s->kind == SOCK_TCP && s->tcb.state != TCP_LISTEN && s->tcb.state != TCP_CLOSED)
            out->tcp_conns++;
    }
}
