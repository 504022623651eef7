/*
 * Just enough Ethernet, ARP, IPv4, ICMP, UDP and DHCP for nettest to talk
 * to QEMU's user-mode network (slirp): build a few requests, recognise the
 * answers. Pure functions over byte buffers (fields big-endian on the wire,
 * read and written byte by byte: frames sit at any alignment).
 */
#pragma once

#include <common/types.h>

#define ETH_HLEN       14
#define ETH_TYPE_IPV4  0x0800
#define ETH_TYPE_ARP   0x0806
#define ARP_FRAME_LEN  (ETH_HLEN + 28)
#define IP_HLEN        20
#define UDP_HLEN       8
#define ICMP_HLEN      8
#define IP_PROTO_ICMP  1
#define IP_PROTO_UDP   17
#define DHCP_LEN       548 /* BOOTP's 236 bytes and a 312-byte option area */
#define DHCP_FRAME_LEN (ETH_HLEN + IP_HLEN + UDP_HLEN + DHCP_LEN)
#define DHCP_DISCOVER  1
#define DHCP_OFFER     2

typedef uint8_t mac_t[6];
typedef uint8_t ip4_t[4];

extern const mac_t mac_broadcast;

uint16_t get16(const uint8_t *p);
uint32_t get32(const uint8_t *p);
void put16(uint8_t *p, uint16_t v);
void put32(uint8_t *p, uint32_t v);

/* The Internet checksum (RFC 1071) of len bytes, starting from sum. */
uint16_t inet_checksum(const uint8_t *p, size_t len, uint32_t sum);

/* Each builder writes a whole frame at f and returns its length. */
size_t frame_arp_request(uint8_t *f, const mac_t src, const ip4_t sip, const ip4_t tip);
size_t frame_dhcp_discover(uint8_t *f, const mac_t src, uint32_t xid);
/* An ICMP echo request with data_len bytes of pattern(id, seq). */
size_t frame_ping(uint8_t *f, const mac_t src, const mac_t dst, const ip4_t sip,
                  const ip4_t dip, uint16_t id, uint16_t seq, size_t data_len);

/* Recognisers: true if f (len bytes) is the frame described. */
/* An ARP reply from sip to us (tha == mac); the sender's MAC in *sha. */
bool frame_is_arp_reply(const uint8_t *f, size_t len, const mac_t mac, const ip4_t sip,
                        mac_t sha);
/* A DHCP message for xid to the client port; its type (option 53) and
 * yiaddr. The UDP checksum, if not 0, must be right. */
bool frame_is_dhcp_reply(const uint8_t *f, size_t len, uint32_t xid, uint8_t *type,
                         ip4_t yiaddr);
/* An ICMP echo reply with identifier id from sip, whose data is the
 * pattern frame_ping() sent and whose IP and ICMP checksums are right. */
bool frame_is_pong(const uint8_t *f, size_t len, const ip4_t sip, uint16_t id, uint16_t *seq,
                   size_t *data_len);
