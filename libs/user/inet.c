/* IPv4 address helpers (tcpip.h). */
#include <user/tcpip.h>
#include <common/printf.h>
#include <common/string.h>

char *ip4_format(uint32_t ip, char *buf) {
    snprintf(buf, IP4_STR_MAX, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
             ip & 0xff);
    return buf;
}

bool ip4_parse(const char *s, const char *stop, uint32_t *ip, const char **end) {
    uint32_t value = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0 && *s++ != '.')
            return false;
        unsigned n = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4) {
            n = n * 10 + (unsigned) (*s++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || n > 255)
            return false;
        value = value << 8 | n;
    }
    if (*s && !(stop && strchr(stop, *s)))
        return false;
    *ip = value;
    if (end)
        *end = s;
    return true;
}

uint32_t ip4_mask(unsigned prefix) {
    return prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

int ip4_prefix(uint32_t mask) {
    int n = 0;
    while (n < 32 && (mask & (0x80000000u >> n)))
        n++;
    return ip4_mask((unsigned) n) == mask ? n : -1;
}
