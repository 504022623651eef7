/*
 * Frames nettest sends to slirp and recognises coming back (frames.h):
 * ARP (RFC 826), IPv4 (RFC 791), ICMP echo (RFC 792), UDP (RFC 768) and a
 * DHCP DISCOVER (RFC 2131). The DHCP message is sent at its full minimum
 * size (548 bytes): slirp ignores shorter BOOTP requests.
 */
#include <common/string.h>
#include "frames.h"

const mac_t mac_broadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const ip4_t ip_zero = {0, 0, 0, 0};
static const ip4_t ip_broadcast = {255, 255, 255, 255};

#define DHCP_MAGIC       0x63825363u
#define DHCP_OPT_MSGTYPE 53
#define DHCP_OPT_END     255
#define BOOTP_REQUEST    1
#define BOOTP_REPLY      2
#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68

uint16_t get16(const uint8_t *p) {
    return (uint16_t) (p[0] << 8 | p[1]);
}

uint32_t get32(const uint8_t *p) {
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}

void put32(uint8_t *p, uint32_t v) {
    put16(p, (uint16_t) (v >> 16));
    put16(p + 2, (uint16_t) v);
}

uint16_t inet_checksum(const uint8_t *p, size_t len, uint32_t sum) {
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += get16(p + i);
    if (len & 1)
        sum += (uint32_t) p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t) ~sum;
}

static void put_eth(uint8_t *f, const mac_t dst, const mac_t src, uint16_t type) {
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    put16(f + 12, type);
}

/* An IPv4 header (no options) for a payload of len bytes. */
static void put_ip(uint8_t *ip, uint8_t proto, const ip4_t src, const ip4_t dst, size_t len,
                   uint16_t id) {
    memset(ip, 0, IP_HLEN);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t) (IP_HLEN + len));
    put16(ip + 4, id);
    ip[8] = 64;
    ip[9] = proto;
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    put16(ip + 10, inet_checksum(ip, IP_HLEN, 0));
}

/* The sum of the UDP pseudo header (RFC 768) for a datagram of len bytes. */
static uint32_t udp_pseudo_sum(const uint8_t *ip, size_t len) {
    return get16(ip + 12) + get16(ip + 14) + get16(ip + 16) + get16(ip + 18) + IP_PROTO_UDP
           + (uint32_t) len;
}

/* The checksum to send (0 is sent as 0xffff: 0 means "none"). */
static uint16_t udp_checksum(const uint8_t *ip, const uint8_t *udp, size_t len) {
    uint16_t c = inet_checksum(udp, len, udp_pseudo_sum(ip, len));
    return c ? c : 0xffff;
}

size_t frame_arp_request(uint8_t *f, const mac_t src, const ip4_t sip, const ip4_t tip) {
    put_eth(f, mac_broadcast, src, ETH_TYPE_ARP);
    uint8_t *a = f + ETH_HLEN;
    put16(a, 1);             /* Ethernet */
    put16(a + 2, ETH_TYPE_IPV4);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, 1);         /* request */
    memcpy(a + 8, src, 6);
    memcpy(a + 14, sip, 4);
    memset(a + 18, 0, 6);
    memcpy(a + 24, tip, 4);
    return ARP_FRAME_LEN;
}

size_t frame_dhcp_discover(uint8_t *f, const mac_t src, uint32_t xid) {
    put_eth(f, mac_broadcast, src, ETH_TYPE_IPV4);
    uint8_t *ip = f + ETH_HLEN, *udp = ip + IP_HLEN, *d = udp + UDP_HLEN;
    memset(d, 0, DHCP_LEN);
    d[0] = BOOTP_REQUEST;
    d[1] = 1; /* Ethernet */
    d[2] = 6;
    put32(d + 4, xid);
    put16(d + 10, 0x8000); /* broadcast flag: we have no address yet */
    memcpy(d + 28, src, 6);
    put32(d + 236, DHCP_MAGIC);
    uint8_t *opt = d + 240;
    opt[0] = DHCP_OPT_MSGTYPE;
    opt[1] = 1;
    opt[2] = DHCP_DISCOVER;
    opt[3] = DHCP_OPT_END;
    put_ip(ip, IP_PROTO_UDP, ip_zero, ip_broadcast, UDP_HLEN + DHCP_LEN, 1);
    put16(udp, DHCP_CLIENT_PORT);
    put16(udp + 2, DHCP_SERVER_PORT);
    put16(udp + 4, UDP_HLEN + DHCP_LEN);
    put16(udp + 6, 0);
    put16(udp + 6, udp_checksum(ip, udp, UDP_HLEN + DHCP_LEN));
    return DHCP_FRAME_LEN;
}

static uint8_t ping_byte(uint16_t id, uint16_t seq, size_t i) {
    return (uint8_t) (i * 31 + seq * 7 + id);
}

size_t frame_ping(uint8_t *f, const mac_t src, const mac_t dst, const ip4_t sip,
                  const ip4_t dip, uint16_t id, uint16_t seq, size_t data_len) {
    put_eth(f, dst, src, ETH_TYPE_IPV4);
    uint8_t *ip = f + ETH_HLEN, *icmp = ip + IP_HLEN;
    icmp[0] = 8; /* echo request */
    icmp[1] = 0;
    put16(icmp + 2, 0);
    put16(icmp + 4, id);
    put16(icmp + 6, seq);
    for (size_t i = 0; i < data_len; i++)
        icmp[ICMP_HLEN + i] = ping_byte(id, seq, i);
    put16(icmp + 2, inet_checksum(icmp, ICMP_HLEN + data_len, 0));
    put_ip(ip, IP_PROTO_ICMP, sip, dip, ICMP_HLEN + data_len, seq);
    return ETH_HLEN + IP_HLEN + ICMP_HLEN + data_len;
}

bool frame_is_arp_reply(const uint8_t *f, size_t len, const mac_t mac, const ip4_t sip,
                        mac_t sha) {
    const uint8_t *a = f + ETH_HLEN;
    if (len < ARP_FRAME_LEN || get16(f + 12) != ETH_TYPE_ARP || get16(a + 6) != 2)
        return false;
    if (memcmp(a + 14, sip, 4) || memcmp(a + 18, mac, 6) || memcmp(f, mac, 6))
        return false;
    memcpy(sha, a + 8, 6);
    return true;
}

/* The IPv4 payload of f if it is an unfragmented IPv4 packet of proto with
 * a correct header checksum; its length in *plen. */
static const uint8_t *ip_payload(const uint8_t *f, size_t len, uint8_t proto, size_t *plen) {
    const uint8_t *ip = f + ETH_HLEN;
    if (len < ETH_HLEN + IP_HLEN || get16(f + 12) != ETH_TYPE_IPV4 || ip[0] != 0x45
        || ip[9] != proto || inet_checksum(ip, IP_HLEN, 0) != 0)
        return NULL;
    size_t total = get16(ip + 2);
    if (total < IP_HLEN || total > len - ETH_HLEN || (get16(ip + 6) & 0x3fff))
        return NULL;
    *plen = total - IP_HLEN;
    return ip + IP_HLEN;
}

/* Option 53 in a DHCP option area, or 0. */
static uint8_t dhcp_msg_type(const uint8_t *opt, size_t len) {
    for (size_t i = 0; i < len && opt[i] != DHCP_OPT_END;) {
        if (opt[i] == 0) {
            i++;
            continue;
        }
        if (i + 2 > len || i + 2 + opt[i + 1] > len)
            return 0;
        if (opt[i] == DHCP_OPT_MSGTYPE && opt[i + 1] == 1)
            return opt[i + 2];
        i += 2 + opt[i + 1];
    }
    return 0;
}

bool frame_is_dhcp_reply(const uint8_t *f, size_t len, uint32_t xid, uint8_t *type,
                         ip4_t yiaddr) {
    size_t plen;
    const uint8_t *udp = ip_payload(f, len, IP_PROTO_UDP, &plen);
    if (!udp || plen < UDP_HLEN + 240 || get16(udp) != DHCP_SERVER_PORT
        || get16(udp + 2) != DHCP_CLIENT_PORT)
        return false;
    size_t ulen = get16(udp + 4);
    if (ulen < UDP_HLEN + 240 || ulen > plen)
        return false;
    if (get16(udp + 6) && inet_checksum(udp, ulen, udp_pseudo_sum(udp - IP_HLEN, ulen)) != 0)
        return false;
    const uint8_t *d = udp + UDP_HLEN;
    if (d[0] != BOOTP_REPLY || get32(d + 4) != xid || get32(d + 236) != DHCP_MAGIC)
        return false;
    *type = dhcp_msg_type(d + 240, ulen - UDP_HLEN - 240);
    memcpy(yiaddr, d + 16, 4);
    return true;
}

bool frame_is_pong(const uint8_t *f, size_t len, const ip4_t sip, uint16_t id, uint16_t *seq,
                   size_t *data_len) {
    size_t plen;
    const uint8_t *icmp = ip_payload(f, len, IP_PROTO_ICMP, &plen);
    if (!icmp || plen < ICMP_HLEN || memcmp(icmp - IP_HLEN + 12, sip, 4) || icmp[0] != 0
        || get16(icmp + 4) != id || inet_checksum(icmp, plen, 0) != 0)
        return false;
    *seq = get16(icmp + 6);
    *data_len = plen - ICMP_HLEN;
    for (size_t i = 0; i < *data_len; i++)
        if (icmp[ICMP_HLEN + i] != ping_byte(id, *seq, i))
            return false;
    return true;
}
