/*
 * Memory and string functions (string.h).
 *
 * GCC turns byte loops into calls to memcpy/memset/memmove, which inside
 * those very functions would recurse forever.  On x86_64 memcpy and memset
 * are therefore `rep movsb`/`rep stosb` (fast on every CPU with ERMSB), and
 * every remaining loop is compiled without loop-pattern distribution.  The
 * host test build uses the plain loops so that ASan sees each access.
 */
#include "string.h"
#include "error.h"

#if defined(__GNUC__) && !defined(__clang__)
#define NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_LIBCALLS /* clang emits no libcalls with -ffreestanding/-fno-builtin */
#endif

#if defined(__x86_64__) && !defined(FUMI_HOST_TEST)
#define STRING_USE_REP 1
#endif

NO_LIBCALLS void *memcpy(void *dst, const void *src, size_t n) {
#ifdef STRING_USE_REP
    void *d = dst;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
#else
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--)
        *d++ = *s++;
#endif
    return dst;
}

NO_LIBCALLS void *memset(void *dst, int c, size_t n) {
#ifdef STRING_USE_REP
    void *d = dst;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
#else
    uint8_t *d = dst;
    while (n--)
        *d++ = (uint8_t) c;
#endif
    return dst;
}

NO_LIBCALLS void *memmove(void *dst, const void *src, size_t n) {
    uintptr_t d = (uintptr_t) dst, s = (uintptr_t) src;
    if (d - s >= n)  /* dst before src, or no overlap: a forward copy is safe */
        return memcpy(dst, src, n);
    uint8_t *dp = dst;
    const uint8_t *sp = src;
    while (n--)
        dp[n] = sp[n];
    return dst;
}

NO_LIBCALLS int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i])
            return x[i] - y[i];
    }
    return 0;
}

NO_LIBCALLS size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

NO_LIBCALLS size_t strnlen(const char *s, size_t max) {
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b) {
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (uint8_t) *a - (uint8_t) *b;
}

int strncmp(const char *a, const char *b, size_t n) {
    for (; n > 0; n--, a++, b++) {
        if (*a != *b || !*a)
            return (uint8_t) *a - (uint8_t) *b;
    }
    return 0;
}

char *strchr(const char *s, int c) {
    for (;; s++) {
        if (*s == (char) c)
            return (char *) s;
        if (!*s)
            return NULL;
    }
}

char *strrchr(const char *s, int c) {
    const char *last = NULL;
    for (;; s++) {
        if (*s == (char) c)
            last = s;
        if (!*s)
            return (char *) last;
    }
}

size_t strcpy_safe(char *dst, const char *src, size_t dst_size) {
    size_t len = strlen(src);
    if (dst_size > 0) {
        size_t n = MIN(len, dst_size - 1);
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

size_t strcat_safe(char *dst, const char *src, size_t dst_size) {
    size_t used = strnlen(dst, dst_size);  /* dst_size if dst is unterminated */
    return used + strcpy_safe(dst + used, src, dst_size - used);
}

/* The value of c as a digit in base 36, or 36 if it is none. */
static int digit_value(char c) {
    if (isdigit_(c))
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 36;
}

static bool has_hex_prefix(const char *p) {
    return p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && isxdigit_(p[2]);
}

unsigned long strtoul_(const char *s, char **end, int base) {
    const char *p = s;
    unsigned long value = 0;
    bool any = false, overflow = false;

    if (base != 0 && (base < 2 || base > 36))
        goto done;
    while (isspace_(*p))
        p++;
    if (*p == '+')
        p++;
    if ((base == 0 || base == 16) && has_hex_prefix(p)) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = 10;
    }
    for (int d; (d = digit_value(*p)) < base; p++, any = true) {
        if (value > (__LONG_MAX__ * 2UL + 1 - (unsigned) d) / (unsigned) base)
            overflow = true;
        else
            value = value * (unsigned) base + (unsigned) d;
    }
done:
    if (end)
        *end = (char *) (any ? p : s);
    if (!any)
        return 0;
    return overflow ? __LONG_MAX__ * 2UL + 1 : value;
}

error_t str_to_int(const char *s, int *out) {
    const char *p = s;
    bool negative = false;
    while (isspace_(*p))
        p++;
    if (*p == '+' || *p == '-')
        negative = *p++ == '-';
    if (!isdigit_(*p))
        return ERR_INVALID_ARG;

    /* Accumulate the magnitude; -INT_MIN is INT_MAX + 1. */
    unsigned long limit = (unsigned long) __INT_MAX__ + (negative ? 1 : 0);
    unsigned long value = 0;
    for (; isdigit_(*p); p++) {
        value = value * 10 + (unsigned long) (*p - '0');
        if (value > limit)
            return ERR_INVALID_ARG;
    }
    while (isspace_(*p))
        p++;
    if (*p != '\0')
        return ERR_INVALID_ARG;
    *out = negative && value ? -(int) (value - 1) - 1 : (int) value;
    return OK;
}
