/*
 * Small helpers of the core: the Internet checksum (RFC 1071) and the log.
 */
#include "net_int.h"

uint32_t csum_add(uint32_t sum, const void *data, size_t len) {
    const uint8_t *p = data;
    uint64_t s = sum;
    while (len >= 2) {
        s += (uint32_t) ((p[0] << 8) | p[1]);
        p += 2;
        len -= 2;
    }
    if (len)
        s += (uint32_t) (p[0] << 8);
    while (s >> 32)
        s = (s & 0xFFFFFFFFu) + (s >> 32);
    return (uint32_t) s;
}

uint16_t csum_fold(uint32_t sum) {
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t) ~sum;
}

uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len) {
    uint64_t s = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF);
    s += proto;
    s += len;
    return (uint32_t) s;
}

void net_logf(struct net *net, const char *fmt, ...) {
    if (!net->seam.log)
        return;
    char line[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    net->seam.log(net->seam.ctx, line);
}
