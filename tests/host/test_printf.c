/*
 * Host tests of libs/common/printf.c.  The host libc's snprintf is the
 * reference for every standard conversion; Fumi's own choices (%p of NULL,
 * "(null)", unknown conversions) are checked against literals.
 */
#include "check.h"

#include <stdint.h>

/* Taken before printf.h renames snprintf to fumi_snprintf. */
static int (*const libc_snprintf)(char *, size_t, const char *, ...) = snprintf;

#include <common/error.h>
#include <common/printf.h>
#include <common/string.h>

/* Both formatters must give the same text and the same length. */
#define SAME(...)                                                   \
    do {                                                            \
        char want_[512], got_[512];                                 \
        int wn_ = libc_snprintf(want_, sizeof(want_), __VA_ARGS__); \
        int gn_ = snprintf(got_, sizeof(got_), __VA_ARGS__);        \
        CHECK_EQ_STR(got_, want_);                                  \
        CHECK_EQ_INT(gn_, wn_);                                     \
    } while (0)

/* SAME for formats GCC rightly flags (a flag that another one overrides). */
#define SAME_UNCHECKED(fmt, ...)                 \
    do {                                         \
        const char *volatile fmt_ = (fmt);       \
        SAME(fmt_, __VA_ARGS__);                 \
    } while (0)

#define EXPECT(want, ...)                                   \
    do {                                                    \
        char got_[512];                                     \
        int gn_ = snprintf(got_, sizeof(got_), __VA_ARGS__); \
        CHECK_EQ_STR(got_, want);                           \
        CHECK_EQ_INT(gn_, (int) strlen(want));              \
    } while (0)

TEST(decimal) {
    EXPECT("0 1 -1", "%d %d %d", 0, 1, -1);
    EXPECT("-2147483648 2147483647", "%d %i", INT32_MIN, INT32_MAX);
    EXPECT("-9223372036854775808", "%lld", (long long) INT64_MIN);
    EXPECT("9223372036854775807", "%ld", (long) INT64_MAX);
    EXPECT("18446744073709551615", "%llu", (unsigned long long) UINT64_MAX);
    SAME("%d|%i|%u", -42, 42, 4294967295u);
    SAME("%ld %lu", (long) INT64_MIN, (unsigned long) UINT64_MAX);
    SAME("%jd %ju", (intmax_t) INT64_MIN, (uintmax_t) UINT64_MAX);
}

TEST(hex_octal_pointer) {
    EXPECT("ff FF 377", "%x %X %o", 255u, 255u, 255u);
    EXPECT("0xdeadbeef", "%#x", 0xdeadbeefu);
    EXPECT("0", "%#x", 0u);  /* no prefix for zero */
    EXPECT("0x0000ff", "%#08x", 255u);
    SAME("%x %X %o", 4294967295u, 4294967295u, 4294967295u);
    SAME("%llx %llo", (unsigned long long) UINT64_MAX, (unsigned long long) UINT64_MAX);
    SAME("%#o %#o %#.0o %#5o %#.5o", 0u, 8u, 0u, 8u, 8u);
    SAME("%#X|%-#10x|%#10.4x", 0xabcu, 0xabcu, 0xabcu);
    SAME("%p", (void *) 0x1234);
    SAME("%p|%20p|%-20p|", (void *) 0xffff800000001000ULL, (void *) 0x10, (void *) 0x10);
    EXPECT("0x0", "%p", (void *) NULL);
}

TEST(flags_width_precision) {
    SAME("[%5d][%-5d][%05d][%+d][%+d][% d][% 05d]", 42, 42, -42, 5, -5, 5, 7);
    SAME_UNCHECKED("[%+ d][% +d]", 5, 5);  /* '+' beats ' ' */
    SAME("[%.3d][%.3d][%8.3d][%-8.3d][%+.3d]", 7, -7, -7, -7, 7);
    SAME_UNCHECKED("[%08.3d][%08.3x]", 7, 7u);  /* precision beats '0' */
    SAME("[%.0d][%5.0d][%+.0d][%.0x][%.0u]", 0, 0, 0, 0u, 0u);
    SAME_UNCHECKED("[%+u][% u][%+x]", 5u, 5u, 5u);  /* sign flags are for signed conversions */
    SAME_UNCHECKED("[%-05d][%0-5d]", 3, 3);       /* '-' beats '0' */
    SAME("[%1d][%2d]", 12345, -12345);    /* width never truncates */
    SAME("[%030d][%.25d]", INT32_MIN, INT32_MIN);
}

TEST(star_width_and_precision) {
    SAME("[%*d][%-*d][%*d]", 6, 42, 6, 42, -6, 42);  /* negative width: left */
    SAME("[%.*d][%.*d][%*.*d]", 4, 7, -1, 7, 8, 3, -5);  /* negative precision: none */
    SAME("[%*.*s][%.*s]", 7, 2, "abcdef", -3, "xyz");
    SAME("[%0*d]", 5, -3);
}

TEST(length_modifiers) {
    const char *volatile narrow = "%hhd %hhu %hd %hu";  /* ints that do not fit */
    EXPECT("-56 44 -25536 4464", narrow, 200, 300, 40000, 70000);
    SAME_UNCHECKED("%hhx %hx %hho", 0x1ff, 0x1ffff, 0x1ff);
    SAME("%zu %zx %zd", (size_t) SIZE_MAX, (size_t) 0x1234, (ptrdiff_t) -5);
    SAME("%td %tu", (ptrdiff_t) PTRDIFF_MIN, (size_t) 7);
    SAME("%lld %lli %llu", (long long) -1, (long long) INT64_MIN, 0ULL);
    SAME("%d %ld %d %lld %d", 1, 2L, 3, 4LL, 5);  /* mixed sizes stay in step */
}

TEST(strings_and_chars) {
    SAME("[%s][%5s][%-5s][%.2s][%.0s][%5.1s][%.10s][%s]", "abc", "abc", "abc", "abc",
         "abc", "abc", "abc", "");
    SAME("[%c][%3c][%-3c]", 'x', 'y', 'z');
    SAME("%s=%d (%#x)%c", "key", 10, 10u, '!');
    SAME("100%% [%%] %d%%", 5);

    const char unterminated[3] = {'a', 'b', 'c'};  /* precision bounds the read */
    EXPECT("abc", "%.3s", unterminated);
    EXPECT("ab", "%.2s", unterminated);

    const char *volatile null = NULL;
    EXPECT("(null)", "%s", null);
    EXPECT("  (null)|(null)  |", "%8s|%-8s|", null, null);

    char buf[8];
    CHECK_EQ_INT(snprintf(buf, sizeof(buf), "a%cb", 0), 3);  /* an embedded NUL */
    CHECK(buf[0] == 'a' && buf[1] == '\0' && buf[2] == 'b' && buf[3] == '\0');
}

TEST(many_arguments) {
    /* More arguments than registers: the rest are read from the stack. */
    SAME("%d %d %d %d %d %d %d %d %d %d %s %lld", 1, -2, 3, -4, 5, -6, 7, -8, 9, -10, "end",
         (long long) INT64_MIN);
}

TEST(fumi_choices) {
    const char *volatile fmt;
    fmt = "[%y][%5y][%";  /* unknown conversions are copied as written */
    EXPECT("[%y][%5y][%", fmt, 1);
    fmt = "abc%";
    EXPECT("abc%", fmt, 0);
    EXPECT("ERR_NOT_FOUND", "%s", err_name(ERR_NOT_FOUND));
    EXPECT("", "%s", "");
    EXPECT("plain text", "plain text");
}

TEST(truncation) {
    char buf[16];
    memset(buf, 'Z', sizeof(buf));
    CHECK_EQ_INT(snprintf(buf, 5, "%d", 123456), 6);
    CHECK_EQ_STR(buf, "1234");
    CHECK_EQ_INT(buf[5], 'Z');  /* nothing past size */

    CHECK_EQ_INT(snprintf(buf, 7, "%d", 123456), 6);  /* exact fit */
    CHECK_EQ_STR(buf, "123456");
    CHECK_EQ_INT(snprintf(buf, 6, "%d", 123456), 6);  /* one short */
    CHECK_EQ_STR(buf, "12345");

    buf[0] = 'Q';
    CHECK_EQ_INT(snprintf(buf, 1, "%s", "hello"), 5);
    CHECK_EQ_INT(buf[0], '\0');
    CHECK_EQ_INT(snprintf(NULL, 0, "%s-%d", "hello", 42), 8);

    CHECK_EQ_INT(snprintf(buf, sizeof(buf), "%1000d", 1), 1000);
    CHECK_EQ_INT(strlen(buf), sizeof(buf) - 1);
    CHECK_EQ_STR(buf, "               ");
}

/* Every flag set x width x precision x conversion x value, against libc. */
TEST(integer_combinations) {
    static const char *const flags[] = {"", "-", "0", "+", " ", "#", "-+", "0+", "0 ",
                                        "-#", "0#", "+ ", "-0+ #"};
    static const char *const widths[] = {"", "1", "6", "14"};
    static const char *const precs[] = {"", ".0", ".1", ".5", ".15"};
    static const char convs[] = "diuxXo";
    static const long long values[] = {0, 1, -1, 42, -42, 255, 0x7fff, INT32_MIN, INT32_MAX,
                                       INT64_MIN, INT64_MAX};
    char fmt[32], want[128], got[128];
    for (size_t f = 0; f < ARRAY_SIZE(flags); f++)
        for (size_t w = 0; w < ARRAY_SIZE(widths); w++)
            for (size_t p = 0; p < ARRAY_SIZE(precs); p++)
                for (size_t c = 0; c < sizeof(convs) - 1; c++)
                    for (size_t v = 0; v < ARRAY_SIZE(values); v++) {
                        bool is_signed = convs[c] == 'd' || convs[c] == 'i';
                        if (is_signed && strchr(flags[f], '#'))
                            continue;  /* undefined in C */
                        libc_snprintf(fmt, sizeof(fmt), "[%%%s%s%sll%c]", flags[f], widths[w],
                                      precs[p], convs[c]);
                        int wn = libc_snprintf(want, sizeof(want), fmt, values[v]);
                        int gn = snprintf(got, sizeof(got), fmt, values[v]);
                        if (gn != wn || strcmp(got, want) != 0)
                            check_fail_(__FILE__, __LINE__, "fmt \"%s\" of %lld: \"%s\" != \"%s\"",
                                        fmt, values[v], got, want);
                    }
}

TEST(string_combinations) {
    static const char *const specs[] = {"", "-", "3", "-3", "10", "-10", ".0", ".2", "8.4",
                                        "-8.4", ".20"};
    static const char *const strs[] = {"", "a", "hello", "exactly-ten"};
    char fmt[32], want[64], got[64];
    for (size_t i = 0; i < ARRAY_SIZE(specs); i++) {
        for (size_t j = 0; j < ARRAY_SIZE(strs); j++) {
            libc_snprintf(fmt, sizeof(fmt), "<%%%ss>", specs[i]);
            int wn = libc_snprintf(want, sizeof(want), fmt, strs[j]);
            int gn = snprintf(got, sizeof(got), fmt, strs[j]);
            if (gn != wn || strcmp(got, want) != 0)
                check_fail_(__FILE__, __LINE__, "fmt \"%s\": \"%s\" != \"%s\"", fmt, got, want);
        }
        libc_snprintf(fmt, sizeof(fmt), "<%%%sc>", specs[i]);
        if (strchr(fmt, '.'))
            continue;  /* precision with %c is undefined */
        int wn = libc_snprintf(want, sizeof(want), fmt, 'q');
        int gn = snprintf(got, sizeof(got), fmt, 'q');
        if (gn != wn || strcmp(got, want) != 0)
            check_fail_(__FILE__, __LINE__, "fmt \"%s\": \"%s\" != \"%s\"", fmt, got, want);
    }
}

struct collect {
    char text[64];
    int calls;
};

static void collect_put(void *ctx, char c) {
    struct collect *col = ctx;
    if (col->calls < (int) sizeof(col->text) - 1)
        col->text[col->calls] = c;
    col->calls++;
}

static int collect_format(struct collect *col, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vformat(collect_put, col, fmt, ap);
    va_end(ap);
    col->text[MIN(col->calls, (int) sizeof(col->text) - 1)] = '\0';
    return n;
}

TEST(vformat_sink) {
    struct collect col = {.calls = 0};
    CHECK_EQ_INT(collect_format(&col, "%s:%04x%c", "id", 0xbeu, '.'), 8);
    CHECK_EQ_INT(col.calls, 8);
    CHECK_EQ_STR(col.text, "id:00be.");
    col.calls = 0;
    CHECK_EQ_INT(collect_format(&col, "%s", ""), 0);
    CHECK_EQ_INT(col.calls, 0);
}

static int wrap_vsnprintf(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

TEST(vsnprintf_wrapper) {
    char buf[8];
    CHECK_EQ_INT(wrap_vsnprintf(buf, sizeof(buf), "%d-%s", -12, "abcdef"), 10);
    CHECK_EQ_STR(buf, "-12-abc");
}
