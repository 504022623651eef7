/*
 * Names: UTF-8 <-> UTF-16 for long (VFAT) names, the 8.3 short names and
 * how one is made from a long name (the basis name and its "~N" numeric
 * tail, as the Microsoft FAT specification describes), the long-name
 * checksum, and case-insensitive comparison.
 *
 * Case folding covers ASCII and Latin-1 letters; other characters compare
 * exactly.  Short-name bytes outside ASCII (an OEM code page we do not
 * know) are shown as '_', so such names are reachable but not exact.
 */
#include "fat_int.h"

static bool utf8_cont(const char *s, size_t len, size_t i) {
    return i < len && ((uint8_t) s[i] & 0xC0) == 0x80;
}

/* Decode one code point at s[*i]; -1 if malformed. */
static int32_t utf8_decode(const char *s, size_t len, size_t *i) {
    uint8_t c = (uint8_t) s[*i];
    int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2
                                              : (c & 0xF8) == 0xF0 ? 3 : -1;
    static const int32_t min[4] = {0, 0x80, 0x800, 0x10000};
    if (n < 0)
        return -1;
    int32_t cp = n == 0 ? c : c & (0x3F >> n);
    for (int k = 1; k <= n; k++) {
        if (!utf8_cont(s, len, *i + k))
            return -1;
        cp = cp << 6 | ((uint8_t) s[*i + k] & 0x3F);
    }
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *i += n + 1;
    return cp;
}

static bool lfn_char_ok(int32_t cp) {
    if (cp < 0x20 || cp == 0x7F)
        return false;
    for (const char *bad = "\"*/:<>?\\|"; *bad; bad++) {
        if (cp == *bad)
            return false;
    }
    return true;
}

int name_to_utf16(const char *s, size_t len, uint16_t *out) {
    if (len == 0 || s[len - 1] == '.' || s[len - 1] == ' ')
        return ERR_INVALID_ARG;
    int n = 0;
    for (size_t i = 0; i < len;) {
        int32_t cp = utf8_decode(s, len, &i);
        if (cp < 0 || !lfn_char_ok(cp) || n + (cp > 0xFFFF ? 2 : 1) > LFN_MAX)
            return ERR_INVALID_ARG;
        if (cp > 0xFFFF) {
            cp -= 0x10000;
            out[n++] = (uint16_t) (0xD800 | cp >> 10);
            out[n++] = (uint16_t) (0xDC00 | (cp & 0x3FF));
        } else {
            out[n++] = (uint16_t) cp;
        }
    }
    return n;
}

/* Append code point cp as UTF-8 to out[*at..max); false if it does not fit. */
static bool utf8_put(uint32_t cp, char *out, size_t *at, size_t max) {
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (*at + n >= max)
        return false;
    if (n == 1) {
        out[(*at)++] = (char) cp;
        return true;
    }
    static const uint8_t lead[5] = {0, 0, 0xC0, 0xE0, 0xF0};
    out[(*at)++] = (char) (lead[n] | cp >> (6 * (n - 1)));
    for (size_t k = n - 1; k-- > 0;)
        out[(*at)++] = (char) (0x80 | ((cp >> (6 * k)) & 0x3F));
    return true;
}

bool name_from_utf16(const uint16_t *s, size_t n, char *out, size_t max) {
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = s[i];
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < n && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (s[i + 1] - 0xDC00);
            i++;
        } else if ((cp >= 0xD800 && cp <= 0xDFFF) || !lfn_char_ok((int32_t) cp)) {
            return false;
        }
        if (!utf8_put(cp, out, &at, max))
            return false;
    }
    out[at] = '\0';
    return at > 0;
}

/* A character allowed in a short name as it is (upper case ASCII). */
static bool short_char_ok(uint32_t c) {
    if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c < 0x80 && c != 0 && strchr("!#$%&'()-@^_`{}~", (int) c) != NULL;
}

bool name_short_exact(const char *s, size_t len, uint8_t out[11]) {
    memset(out, ' ', 11);
    size_t base = 0, ext = 0;
    bool in_ext = false;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t) s[i];
        if (c == '.' && !in_ext && base > 0) {
            in_ext = true;
            continue;
        }
        if (!short_char_ok(c) || (in_ext ? ext == 3 : base == 8))
            return false;
        if (in_ext)
            out[8 + ext++] = c;
        else
            out[base++] = c;
    }
    return base > 0 && (!in_ext || ext > 0);
}

static uint16_t upcase(uint16_t c) {
    if ((c >= 'a' && c <= 'z') || (c >= 0xE0 && c <= 0xFE && c != 0xF7))
        return (uint16_t) (c - 0x20);
    return c;
}

/* Copy lfn[from, to) into dst (at most max chars) as short-name characters,
 * skipping spaces and periods; *lossy is set if anything was changed or
 * left out. Returns the count copied. */
static size_t basis_part(const uint16_t *lfn, size_t from, size_t to, uint8_t *dst, size_t max,
                         bool *lossy) {
    size_t n = 0;
    for (size_t i = from; i < to; i++) {
        uint16_t c = upcase(lfn[i]);
        if (c == ' ' || c == '.') {
            *lossy = true;
            continue;
        }
        if (n == max) {
            *lossy = true;
            break;
        }
        if (!short_char_ok(c)) {
            c = '_';
            *lossy = true;
        }
        dst[n++] = (uint8_t) c;
    }
    return n;
}

bool name_basis(const uint16_t *lfn, size_t n, uint8_t out[11]) {
    memset(out, ' ', 11);
    size_t start = 0, last_dot = n;
    bool lossy = false;
    while (start < n && (lfn[start] == '.' || lfn[start] == ' ')) {
        start++;
        lossy = true;
    }
    for (size_t i = start; i < n; i++) {
        if (lfn[i] == '.')
            last_dot = i;
    }
    size_t base = basis_part(lfn, start, last_dot, out, 8, &lossy);
    if (last_dot < n)
        basis_part(lfn, last_dot + 1, n, out + 8, 3, &lossy);
    if (base == 0) {
        out[0] = '_';
        lossy = true;
    }
    return !lossy;
}

void name_with_tail(const uint8_t basis[11], uint32_t n, uint8_t out[11]) {
    char tail[12];
    int len = 0;
    for (uint32_t v = n; v > 0 && len < 10; v /= 10)
        tail[len++] = (char) ('0' + v % 10);
    tail[len++] = '~';
    memcpy(out, basis, 11);
    int base = 0;
    while (base < 8 && basis[base] != ' ')
        base++;
    int at = MIN(base, 8 - len);
    while (len > 0)
        out[at++] = (uint8_t) tail[--len];
}

uint8_t name_checksum(const uint8_t sn[11]) {
    uint8_t sum = 0;
    for (int i = 0; i < 11; i++)
        sum = (uint8_t) (((sum & 1) << 7) + (sum >> 1) + sn[i]);
    return sum;
}

static char short_display_char(uint8_t c, bool lower) {
    if (c < 0x20 || c >= 0x7F || c == '/' || c == '\\')
        return '_';
    if (lower && c >= 'A' && c <= 'Z')
        return (char) (c + 0x20);
    return (char) c;
}

void name_short_display(const uint8_t *e, char out[13]) {
    int n = 0, base = 8, ext = 3;
    while (base > 0 && e[base - 1] == ' ')
        base--;
    while (ext > 0 && e[8 + ext - 1] == ' ')
        ext--;
    for (int i = 0; i < base; i++) {
        uint8_t c = i == 0 && e[0] == 0x05 ? 0xE5 : e[i];
        out[n++] = short_display_char(c, e[DE_NTRES] & 0x08);
    }
    if (ext > 0)
        out[n++] = '.';
    for (int i = 0; i < ext; i++)
        out[n++] = short_display_char(e[8 + i], e[DE_NTRES] & 0x10);
    out[n] = '\0';
}

bool name_eq_utf16(const uint16_t *a, size_t an, const uint16_t *b, size_t bn) {
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++) {
        if (upcase(a[i]) != upcase(b[i]))
            return false;
    }
    return true;
}

bool name_eq_short(const char *s, size_t len, const char *shortname) {
    size_t i = 0;
    for (; i < len && shortname[i]; i++) {
        if (upcase((uint8_t) s[i]) != upcase((uint8_t) shortname[i]))
            return false;
    }
    return i == len && shortname[i] == '\0';
}
