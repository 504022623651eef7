/* Host tests of libs/common/string.c (run as fumi_memcpy etc., see string.h). */
#include "check.h"

#include <common/error.h>
#include <common/string.h>

#define GUARD 0xa5

/* Fill buf[len] with a pattern that differs at every position. */
static void fill_pattern(uint8_t *buf, size_t len, unsigned seed) {
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t) (i * 7 + seed * 13 + 1);
}

TEST(memcpy_sizes_and_offsets) {
    uint8_t src[96], dst[96];
    fill_pattern(src, sizeof(src), 1);
    for (size_t off = 0; off < 8; off++) {
        for (size_t n = 0; n <= 64; n++) {
            for (size_t i = 0; i < sizeof(dst); i++)
                dst[i] = GUARD;
            CHECK(memcpy(dst + off, src + (off ^ 3), n) == dst + off);
            for (size_t i = 0; i < sizeof(dst); i++) {
                if (i >= off && i < off + n)
                    CHECK_EQ_INT(dst[i], src[(off ^ 3) + i - off]);
                else
                    CHECK_EQ_INT(dst[i], GUARD);
            }
        }
    }
}

TEST(memset_value_and_bounds) {
    uint8_t buf[80];
    for (size_t n = 0; n <= 64; n++) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = GUARD;
        CHECK(memset(buf + 3, 0x1ab, n) == buf + 3);  /* converted to unsigned char */
        for (size_t i = 0; i < sizeof(buf); i++)
            CHECK_EQ_INT(buf[i], i >= 3 && i < 3 + n ? 0xab : GUARD);
    }
}

/* memmove within one buffer for every (src, dst, len), against a reference. */
TEST(memmove_overlap_both_directions) {
    enum { N = 40 };
    uint8_t buf[N], want[N], tmp[N];
    for (size_t src = 0; src < N; src++) {
        for (size_t dst = 0; dst < N; dst++) {
            for (size_t len = 0; src + len <= N && dst + len <= N; len++) {
                fill_pattern(buf, N, 2);
                fill_pattern(want, N, 2);
                for (size_t i = 0; i < len; i++)
                    tmp[i] = want[src + i];
                for (size_t i = 0; i < len; i++)
                    want[dst + i] = tmp[i];
                CHECK(memmove(buf + dst, buf + src, len) == buf + dst);
                for (size_t i = 0; i < N; i++)
                    CHECK_EQ_INT(buf[i], want[i]);
            }
        }
    }
}

TEST(memcmp_is_unsigned_and_bounded) {
    CHECK_EQ_INT(memcmp("abc", "abd", 0), 0);
    CHECK_EQ_INT(memcmp("abc", "abd", 2), 0);
    CHECK(memcmp("abc", "abd", 3) < 0);
    CHECK(memcmp("abd", "abc", 3) > 0);
    CHECK(memcmp("\x80", "\x01", 1) > 0);
    CHECK(memcmp("a\0b", "a\0c", 3) < 0);  /* does not stop at NUL */
    CHECK_EQ_INT(memcmp("same bytes", "same bytes", 11), 0);
}

TEST(strlen_strnlen) {
    CHECK_EQ_INT(strlen(""), 0);
    CHECK_EQ_INT(strlen("hello"), 5);
    CHECK_EQ_INT(strnlen("hello", 0), 0);
    CHECK_EQ_INT(strnlen("hello", 3), 3);
    CHECK_EQ_INT(strnlen("hello", 5), 5);
    CHECK_EQ_INT(strnlen("hello", 100), 5);
    char unterminated[4] = {'a', 'b', 'c', 'd'};
    CHECK_EQ_INT(strnlen(unterminated, sizeof(unterminated)), 4);  /* ASan: no overread */
}

TEST(strcmp_strncmp) {
    CHECK_EQ_INT(strcmp("", ""), 0);
    CHECK_EQ_INT(strcmp("abc", "abc"), 0);
    CHECK(strcmp("abc", "abd") < 0);
    CHECK(strcmp("abd", "abc") > 0);
    CHECK(strcmp("ab", "abc") < 0);
    CHECK(strcmp("abc", "ab") > 0);
    CHECK(strcmp("\xff", "a") > 0);  /* compared as unsigned char */
    CHECK_EQ_INT(strncmp("abcx", "abcy", 3), 0);
    CHECK(strncmp("abcx", "abcy", 4) < 0);
    CHECK_EQ_INT(strncmp("abc", "xyz", 0), 0);
    CHECK_EQ_INT(strncmp("ab", "ab", 10), 0);  /* stops at the NUL */
    CHECK(strncmp("ab", "abc", 10) < 0);
    CHECK(strncmp("\x80", "\x7f", 1) > 0);
}

TEST(strchr_strrchr) {
    const char *s = "a/b/c";
    CHECK(strchr(s, '/') == s + 1);
    CHECK(strrchr(s, '/') == s + 3);
    CHECK(strchr(s, 'a') == s);
    CHECK(strrchr(s, 'a') == s);
    CHECK(strchr(s, 'z') == NULL);
    CHECK(strrchr(s, 'z') == NULL);
    CHECK(strchr(s, '\0') == s + 5);
    CHECK(strrchr(s, '\0') == s + 5);
    CHECK(strchr("", 'a') == NULL);
    CHECK(strchr("x\xe9y", 0xe9) != NULL);  /* c is converted to char */
}

TEST(strcpy_safe_fits_and_truncates) {
    char buf[8];
    memset(buf, GUARD, sizeof(buf));
    CHECK_EQ_INT(strcpy_safe(buf, "abc", sizeof(buf)), 3);
    CHECK_EQ_STR(buf, "abc");
    CHECK_EQ_INT((uint8_t) buf[4], GUARD);  /* nothing written past the NUL */

    CHECK_EQ_INT(strcpy_safe(buf, "1234567", sizeof(buf)), 7);  /* exact fit */
    CHECK_EQ_STR(buf, "1234567");

    CHECK_EQ_INT(strcpy_safe(buf, "truncated string", sizeof(buf)), 16);
    CHECK_EQ_STR(buf, "truncat");

    CHECK_EQ_INT(strcpy_safe(buf, "xyz", 1), 3);
    CHECK_EQ_STR(buf, "");

    buf[0] = 'Q';
    CHECK_EQ_INT(strcpy_safe(buf, "xyz", 0), 3);  /* size 0 writes nothing */
    CHECK_EQ_INT(buf[0], 'Q');
}

TEST(strcat_safe_appends_and_truncates) {
    char buf[10];
    strcpy_safe(buf, "abc", sizeof(buf));
    CHECK_EQ_INT(strcat_safe(buf, "def", sizeof(buf)), 6);
    CHECK_EQ_STR(buf, "abcdef");
    CHECK_EQ_INT(strcat_safe(buf, "ghijkl", sizeof(buf)), 12);
    CHECK_EQ_STR(buf, "abcdefghi");
    CHECK_EQ_INT(strcat_safe(buf, "more", sizeof(buf)), 13);  /* already full */
    CHECK_EQ_STR(buf, "abcdefghi");
    CHECK_EQ_INT(strcat_safe(buf, "", sizeof(buf)), 9);

    char unterminated[4] = {'w', 'x', 'y', 'z'};
    CHECK_EQ_INT(strcat_safe(unterminated, "ab", sizeof(unterminated)), 6);
    CHECK_EQ_INT(unterminated[3], 'z');  /* left alone */
}

TEST(strtoul_bases_and_prefixes) {
    char *end;
    const char *s;
    CHECK_EQ_UINT(strtoul_("123", &end, 10), 123);
    s = "  +42xyz";
    CHECK_EQ_UINT(strtoul_(s, &end, 0), 42);
    CHECK(end == s + 5);
    s = "0x1Fg";
    CHECK_EQ_UINT(strtoul_(s, &end, 0), 31);
    CHECK(end == s + 4);
    CHECK_EQ_UINT(strtoul_("0XfF", NULL, 16), 255);
    CHECK_EQ_UINT(strtoul_("ff", NULL, 16), 255);
    CHECK_EQ_UINT(strtoul_("010", NULL, 0), 10);  /* no octal */
    CHECK_EQ_UINT(strtoul_("777", NULL, 8), 511);
    CHECK_EQ_UINT(strtoul_("1012", NULL, 2), 5);
    CHECK_EQ_UINT(strtoul_("zZ", NULL, 36), 35 * 36 + 35);
    s = "0x";  /* a 0 followed by an x that starts no number */
    CHECK_EQ_UINT(strtoul_(s, &end, 16), 0);
    CHECK(end == s + 1);
    s = "0x10";
    CHECK_EQ_UINT(strtoul_(s, &end, 10), 0);
    CHECK(end == s + 1);
}

TEST(strtoul_rejects_and_saturates) {
    char *end;
    const char *s;
    s = "";
    CHECK_EQ_UINT(strtoul_(s, &end, 0), 0);
    CHECK(end == s);
    s = "   ";
    CHECK_EQ_UINT(strtoul_(s, &end, 10), 0);
    CHECK(end == s);
    s = "-1";
    CHECK_EQ_UINT(strtoul_(s, &end, 10), 0);
    CHECK(end == s);
    s = "12";
    CHECK_EQ_UINT(strtoul_(s, &end, 1), 0);
    CHECK(end == s);
    CHECK_EQ_UINT(strtoul_(s, &end, 37), 0);
    CHECK(end == s);
    CHECK_EQ_UINT(strtoul_("18446744073709551615", NULL, 10), UINT64_MAX);
    s = "18446744073709551616 ";
    CHECK_EQ_UINT(strtoul_(s, &end, 10), UINT64_MAX);
    CHECK(end == s + 20);
    CHECK_EQ_UINT(strtoul_("0xffffffffffffffff", NULL, 0), UINT64_MAX);
    CHECK_EQ_UINT(strtoul_("0x10000000000000000", NULL, 0), UINT64_MAX);
    CHECK_EQ_UINT(strtoul_("99999999999999999999999999", NULL, 10), UINT64_MAX);
}

TEST(str_to_int_accepts) {
    static const struct {
        const char *s;
        int want;
    } cases[] = {
        {"0", 0}, {"-0", 0}, {"42", 42}, {"+5", 5}, {" -17 \n", -17}, {"007", 7},
        {"2147483647", 2147483647}, {"-2147483648", -2147483647 - 1}, {"\t99", 99},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int out = 12345;
        CHECK_EQ_INT(str_to_int(cases[i].s, &out), OK);
        CHECK_EQ_INT(out, cases[i].want);
    }
}

TEST(str_to_int_rejects) {
    static const char *bad[] = {
        "", " ", "-", "+", "abc", "12a", "1 2", "0x10", "--1", "+-1", "2147483648",
        "-2147483649", "99999999999999999999", "4294967296", "1.5",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int out = 12345;
        CHECK_EQ_INT(str_to_int(bad[i], &out), ERR_INVALID_ARG);
        CHECK_EQ_INT(out, 12345);
    }
}

TEST(ctype_helpers) {
    for (int c = -1; c < 256; c++) {
        int space = c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
        int digit = c >= '0' && c <= '9';
        int xdigit = digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        CHECK_EQ_INT(isspace_(c), space);
        CHECK_EQ_INT(isdigit_(c), digit);
        CHECK_EQ_INT(isxdigit_(c), xdigit);
    }
}
