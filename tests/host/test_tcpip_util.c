/*
 * Host tests of the TCP/IP core's internal helpers (servers/tcpip/net_int.h):
 * sequence-number comparisons across the 2^32 wrap, the Internet checksum
 * against known values, and the byte rings the TCP buffers are made of.
 */
#include "check.h"

#include "../../servers/tcpip/net_int.h"

TEST(sequence_numbers_wrap) {
    CHECK(seq_lt(0xfffffff0u, 0x10u));
    CHECK(seq_gt(0x10u, 0xfffffff0u));
    CHECK(seq_le(0xffffffffu, 0));
    CHECK(seq_ge(0, 0xffffffffu));
    CHECK(!seq_lt(5, 5) && seq_le(5, 5) && seq_ge(5, 5) && !seq_gt(5, 5));
    CHECK(seq_lt(0x7fffffffu, 0x80000000u));
    CHECK(seq_lt(1, 0x7fffffffu));
    CHECK(seq_gt(1, 0x80000002u)); /* more than 2^31 apart: the other way */
    CHECK_EQ_UINT(seq_max(0xffffff00u, 0x100u), 0x100u);
    CHECK_EQ_UINT(seq_max(0x100u, 0xffffff00u), 0x100u);
    uint32_t a = 0xffffff00u;
    for (uint32_t i = 1; i < 0x400; i++)
        CHECK(seq_lt(a, a + i) && seq_gt(a + i, a));
}

TEST(internet_checksum) {
    /* RFC 1071's example: 0001 f203 f4f5 f6f7 sums to ddf2 */
    const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CHECK_EQ_UINT(csum_fold(csum_add(0, d, sizeof(d))), (uint16_t) ~0xddf2);
    /* odd length: a zero byte is implied */
    const uint8_t o[] = {0x12, 0x34, 0x56};
    CHECK_EQ_UINT(csum_fold(csum_add(0, o, 3)), (uint16_t) ~(0x1234 + 0x5600));
    /* a real IPv4 header verifies to 0 */
    const uint8_t ip[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                          0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    CHECK_EQ_UINT(csum_fold(csum_add(0, ip, sizeof(ip))), 0);
    /* sums of many 0xffff words do not overflow */
    static uint8_t ff[65536];
    memset(ff, 0xff, sizeof(ff));
    CHECK_EQ_UINT(csum_fold(csum_add(0xffffffffu, ff, sizeof(ff))), 0);
    CHECK_EQ_UINT(csum_pseudo(0xc0a80001u, 0xc0a800c7u, 17, 8),
                  0xc0a8u + 0x0001u + 0xc0a8u + 0x00c7u + 17u + 8u);
}

TEST(masks) {
    CHECK(ip_mask_valid(0xffffff00u));
    CHECK(ip_mask_valid(0xffffffffu));
    CHECK(ip_mask_valid(0));
    CHECK(!ip_mask_valid(0xff00ff00u));
    CHECK(!ip_mask_valid(0x00ffffffu));
    CHECK(ip_is_martian(0) && ip_is_martian(NET_IP(127, 1, 2, 3)) &&
          ip_is_martian(NET_IP(224, 0, 0, 1)) && ip_is_martian(NET_IP_BROADCAST));
    CHECK(!ip_is_martian(NET_IP(10, 0, 2, 15)));
}

TEST(ring_wraps) {
    struct ring r;
    CHECK(ring_init(&r, 10));
    uint8_t out[16];
    CHECK_EQ_UINT(ring_write(&r, "abcdefgh", 8), 8);
    ring_drop(&r, 6);
    CHECK_EQ_UINT(ring_space(&r), 8);
    CHECK_EQ_UINT(ring_write(&r, "ijklmnopqr", 10), 8); /* wraps, and is cut */
    ring_peek(&r, 0, out, 10);
    CHECK(memcmp(out, "ghijklmnop", 10) == 0);
    ring_peek(&r, 3, out, 4);
    CHECK(memcmp(out, "jklm", 4) == 0);
    ring_drop(&r, 9);
    CHECK_EQ_UINT(r.len, 1);
    /* data stored past len (out of order) keeps its place */
    ring_put_at(&r, 3, "XY", 2);
    CHECK_EQ_UINT(ring_write(&r, "01", 2), 2);
    r.len += 2; /* the hole filled: "p01XY" */
    ring_peek(&r, 0, out, 5);
    CHECK(memcmp(out, "p01XY", 5) == 0);
    ring_drop(&r, 100);
    CHECK_EQ_UINT(r.len, 0);
    ring_free(&r);
    CHECK(r.buf == NULL);
}
