/*
 * The formatter behind the kernel log, user printf and snprintf (printf.h).
 *
 * vformat() walks the format once.  Each conversion is parsed into a
 * struct spec (flags, width, precision, length, conversion); integers are
 * then laid out as   [spaces] [sign or 0x] [zeros] digits [spaces]
 * following C's rules for which flag wins, and strings and characters as
 * [spaces] text [spaces].  Output goes one character at a time to a sink.
 */
#include "printf.h"
#include "string.h"

#define INT_MAX_ __INT_MAX__

enum length { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_J, LEN_T };

struct spec {
    bool left;      /* '-': pad on the right */
    bool zero;      /* '0': pad numbers with zeros */
    bool plus;      /* '+': always print a sign */
    bool space;     /* ' ': a space where '+' would be */
    bool alt;       /* '#': 0x for hex, a leading 0 for octal */
    int width;      /* minimum field width, 0 if none */
    int precision;  /* minimum digits or maximum characters, -1 if none */
    enum length length;
    char conv;
};

struct out {
    void (*put)(void *ctx, char c);
    void *ctx;
    size_t count;
};

static void emit(struct out *o, char c) {
    o->put(o->ctx, c);
    o->count++;
}

static void emit_repeat(struct out *o, char c, int n) {
    for (; n > 0; n--)
        emit(o, c);
}

static void emit_text(struct out *o, const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        emit(o, s[i]);
}

/* A decimal number at *p (advanced), saturating well below INT_MAX. */
static int parse_number(const char **p) {
    int n = 0;
    for (; isdigit_(**p); (*p)++) {
        if (n < INT_MAX_ / 16)
            n = n * 10 + (**p - '0');
    }
    return n;
}

static void parse_flags(const char **p, struct spec *s) {
    for (;; (*p)++) {
        switch (**p) {
        case '-': s->left = true; break;
        case '0': s->zero = true; break;
        case '+': s->plus = true; break;
        case ' ': s->space = true; break;
        case '#': s->alt = true; break;
        default: return;
        }
    }
}

static void parse_width(const char **p, struct spec *s, va_list *ap) {
    if (**p != '*') {
        s->width = parse_number(p);
        return;
    }
    (*p)++;
    int w = va_arg(*ap, int);
    if (w < 0) {  /* a negative `*` width means '-' and its magnitude */
        s->left = true;
        w = w == -INT_MAX_ - 1 ? INT_MAX_ : -w;
    }
    s->width = MIN(w, INT_MAX_ / 16);
}

static void parse_precision(const char **p, struct spec *s, va_list *ap) {
    if (**p != '.')
        return;
    (*p)++;
    if (**p != '*') {
        s->precision = parse_number(p);
        return;
    }
    (*p)++;
    int prec = va_arg(*ap, int);
    s->precision = prec < 0 ? -1 : MIN(prec, INT_MAX_ / 16);  /* < 0: as if omitted */
}

static void parse_length(const char **p, struct spec *s) {
    switch (**p) {
    case 'h':
        s->length = (*p)[1] == 'h' ? LEN_HH : LEN_H;
        break;
    case 'l':
        s->length = (*p)[1] == 'l' ? LEN_LL : LEN_L;
        break;
    case 'z': s->length = LEN_Z; break;
    case 'j': s->length = LEN_J; break;
    case 't': s->length = LEN_T; break;
    default: return;
    }
    *p += (s->length == LEN_HH || s->length == LEN_LL) ? 2 : 1;
}

/* Parse the conversion after '%' at *p; *p ends after the conversion. */
static void parse_spec(const char **p, struct spec *s, va_list *ap) {
    *s = (struct spec){.precision = -1};
    parse_flags(p, s);
    parse_width(p, s, ap);
    parse_precision(p, s, ap);
    parse_length(p, s);
    s->conv = **p;
    if (s->conv)
        (*p)++;
}

static long long fetch_signed(enum length len, va_list *ap) {
    switch (len) {
    case LEN_HH: return (signed char) va_arg(*ap, int);
    case LEN_H: return (short) va_arg(*ap, int);
    case LEN_L: return va_arg(*ap, long);
    case LEN_LL: return va_arg(*ap, long long);
    case LEN_Z: return va_arg(*ap, ptrdiff_t);  /* the signed size_t */
    case LEN_J: return va_arg(*ap, intmax_t);
    case LEN_T: return va_arg(*ap, ptrdiff_t);
    default: return va_arg(*ap, int);
    }
}

static unsigned long long fetch_unsigned(enum length len, va_list *ap) {
    switch (len) {
    case LEN_HH: return (unsigned char) va_arg(*ap, unsigned);
    case LEN_H: return (unsigned short) va_arg(*ap, unsigned);
    case LEN_L: return va_arg(*ap, unsigned long);
    case LEN_LL: return va_arg(*ap, unsigned long long);
    case LEN_Z: return va_arg(*ap, size_t);
    case LEN_J: return va_arg(*ap, uintmax_t);
    case LEN_T: return (size_t) va_arg(*ap, ptrdiff_t);
    default: return va_arg(*ap, unsigned);
    }
}

/* Write the digits of v in base into buf, most significant first. */
static int to_digits(char *buf, unsigned long long v, unsigned base, bool upper) {
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char rev[24];  /* 22 octal digits for 64 bits */
    int n = 0;
    do {
        rev[n++] = set[v % base];
        v /= base;
    } while (v);
    for (int i = 0; i < n; i++)
        buf[i] = rev[n - 1 - i];
    return n;
}

/* Lay out one integer: the sign comes from `negative`, the rest from s. */
static void format_int(struct out *o, const struct spec *s, unsigned long long mag,
                       bool negative, unsigned base) {
    char digits[24], prefix[2];
    int ndigits = 0, nprefix = 0;
    bool is_signed = s->conv == 'd' || s->conv == 'i';

    if (mag != 0 || s->precision != 0)  /* "%.0d" of 0 prints no digits */
        ndigits = to_digits(digits, mag, base, s->conv == 'X');
    int zeros = s->precision > ndigits ? s->precision - ndigits : 0;
    if (s->conv == 'o' && s->alt && zeros == 0 && (ndigits == 0 || mag != 0))
        zeros = 1;  /* '#' makes the first octal digit a 0 */

    if (is_signed && negative)
        prefix[nprefix++] = '-';
    else if (is_signed && s->plus)
        prefix[nprefix++] = '+';
    else if (is_signed && s->space)
        prefix[nprefix++] = ' ';
    if (s->conv == 'p' || (s->alt && mag != 0 && (s->conv == 'x' || s->conv == 'X'))) {
        prefix[nprefix++] = '0';
        prefix[nprefix++] = s->conv == 'X' ? 'X' : 'x';
    }

    int pad = s->width - (nprefix + zeros + ndigits);
    if (s->zero && !s->left && s->precision < 0) {  /* '0' pads like precision */
        zeros += MAX(pad, 0);
        pad = 0;
    }
    if (!s->left)
        emit_repeat(o, ' ', pad);
    emit_text(o, prefix, (size_t) nprefix);
    emit_repeat(o, '0', zeros);
    emit_text(o, digits, (size_t) ndigits);
    if (s->left)
        emit_repeat(o, ' ', pad);
}

static void format_text(struct out *o, const struct spec *s, const char *text, size_t len) {
    int pad = (size_t) s->width > len ? s->width - (int) len : 0;
    if (!s->left)
        emit_repeat(o, ' ', pad);
    emit_text(o, text, len);
    if (s->left)
        emit_repeat(o, ' ', pad);
}

static void format_string(struct out *o, const struct spec *s, const char *str) {
    if (!str)
        str = "(null)";
    size_t len = s->precision >= 0 ? strnlen(str, (size_t) s->precision) : strlen(str);
    format_text(o, s, str, len);
}

static void format_one(struct out *o, const struct spec *s, const char *start,
                       const char *end, va_list *ap) {
    char c;
    long long v;

    switch (s->conv) {
    case 'd':
    case 'i':
        v = fetch_signed(s->length, ap);
        format_int(o, s, v < 0 ? 0ULL - (unsigned long long) v : (unsigned long long) v,
                   v < 0, 10);
        break;
    case 'u': format_int(o, s, fetch_unsigned(s->length, ap), false, 10); break;
    case 'x':
    case 'X': format_int(o, s, fetch_unsigned(s->length, ap), false, 16); break;
    case 'o': format_int(o, s, fetch_unsigned(s->length, ap), false, 8); break;
    case 'p': format_int(o, s, (uintptr_t) va_arg(*ap, void *), false, 16); break;
    case 's': format_string(o, s, va_arg(*ap, const char *)); break;
    case 'c':
        c = (char) va_arg(*ap, int);
        format_text(o, s, &c, 1);
        break;
    case '%': emit(o, '%'); break;
    default: emit_text(o, start, (size_t) (end - start)); break;  /* copy it as written */
    }
}

int vformat(void (*put)(void *ctx, char c), void *ctx, const char *fmt, va_list ap) {
    struct out o = {.put = put, .ctx = ctx, .count = 0};
    va_list args;
    va_copy(args, ap);  /* a va_list parameter cannot be passed on by address */
    for (const char *p = fmt; *p;) {
        if (*p != '%') {
            emit(&o, *p++);
            continue;
        }
        const char *start = p++;
        struct spec s;
        parse_spec(&p, &s, &args);
        format_one(&o, &s, start, p, &args);
    }
    va_end(args);
    return o.count > (size_t) INT_MAX_ ? INT_MAX_ : (int) o.count;
}

struct buf_sink {
    char *buf;
    size_t size;
    size_t pos;
};

static void buf_put(void *ctx, char c) {
    struct buf_sink *b = ctx;
    if (b->pos + 1 < b->size)  /* keep the last byte for the NUL */
        b->buf[b->pos] = c;
    b->pos++;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
    struct buf_sink b = {.buf = buf, .size = size, .pos = 0};
    int len = vformat(buf_put, &b, fmt, ap);
    if (size > 0)
        buf[MIN(b.pos, size - 1)] = '\0';
    return len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return len;
}
