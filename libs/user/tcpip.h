/*
 * Constants of the tcpip interface (interfaces/tcpip.idl) and IPv4 address
 * helpers for its clients (shell, httpd, tests). Addresses are host byte
 * order: 10.0.2.15 is 0x0a00020f.
 */
#pragma once

#include <common/types.h>

#define TCPIP_NONBLOCK (1u << 0) /* flags: ERR_WOULD_BLOCK instead of waiting */

/* Socket events (tcpip.watch / tcpip.wait); the same bits as the core's
 * NET_EV_* (servers/tcpip/net.h). */
#define TCPIP_EV_READABLE   (1u << 0) /* recv has data or the end of the stream */
#define TCPIP_EV_WRITABLE   (1u << 1) /* send takes at least one byte */
#define TCPIP_EV_ACCEPTABLE (1u << 2) /* accept has a connection */
#define TCPIP_EV_CONNECTED  (1u << 3) /* the handshake completed */
#define TCPIP_EV_HUP        (1u << 4) /* nothing more will arrive */
#define TCPIP_EV_ERROR      (1u << 5) /* the connection died */

#define TCPIP_WAIT_MAX 25 /* (sock, events) pairs in one wait reply */

/* tcpip.info's source. */
#define TCPIP_SOURCE_NONE   0
#define TCPIP_SOURCE_STATIC 1
#define TCPIP_SOURCE_DHCP   2

#define IP4(a, b, c, d) \
    (((uint32_t) (a) << 24) | ((uint32_t) (b) << 16) | ((uint32_t) (c) << 8) | (uint32_t) (d))
#define IP4_STR_MAX 16 /* "255.255.255.255" and its NUL */

/* "a.b.c.d" into buf (at least IP4_STR_MAX bytes); returns buf. */
char *ip4_format(uint32_t ip, char *buf);
/* Parse a dotted quad that ends at the string's end or at one of the
 * characters of stop ("" or NULL: only the end); *end (may be NULL) gets
 * where it stopped. false if it is not exactly four numbers 0-255. */
bool ip4_parse(const char *s, const char *stop, uint32_t *ip, const char **end);
/* The netmask of a prefix length 0-32. */
uint32_t ip4_mask(unsigned prefix);
/* The prefix length of a contiguous mask, or -1. */
int ip4_prefix(uint32_t mask);
