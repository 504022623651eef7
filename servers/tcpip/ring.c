/*
 * Byte rings: the send and receive buffers of TCP connections. The
 * receive side also stores out-of-order data past len (ring_put_at), at the
 * place it will have once the holes before it are filled.
 */
#include "net_int.h"

bool ring_init(struct ring *r, uint32_t size) {
    r->buf = malloc(size);
    r->size = r->buf ? size : 0;
    r->head = r->len = 0;
    return r->buf != NULL;
}

void ring_free(struct ring *r) {
    free(r->buf);
    r->buf = NULL;
    r->size = r->head = r->len = 0;
}

/* Copy n bytes between the ring at position pos and a flat buffer. */
static void ring_copy(const struct ring *r, uint32_t pos, uint8_t *flat, uint32_t n,
                      bool to_ring) {
    pos %= r->size;
    uint32_t first = MIN(n, r->size - pos);
    if (to_ring) {
        memcpy(r->buf + pos, flat, first);
        memcpy(r->buf, flat + first, n - first);
    } else {
        memcpy(flat, r->buf + pos, first);
        memcpy(flat + first, r->buf, n - first);
    }
}

uint32_t ring_write(struct ring *r, const void *src, uint32_t n) {
    n = MIN(n, ring_space(r));
    if (n) {
        ring_copy(r, r->head + r->len, (uint8_t *) src, n, true);
        r->len += n;
    }
    return n;
}

void ring_peek(const struct ring *r, uint32_t off, void *dst, uint32_t n) {
    if (n)
        ring_copy(r, r->head + off, dst, n, false);
}

void ring_put_at(struct ring *r, uint32_t off, const void *src, uint32_t n) {
    if (n)
        ring_copy(r, r->head + off, (uint8_t *) src, n, true);
}

void ring_drop(struct ring *r, uint32_t n) {
    n = MIN(n, r->len);
    if (n) {
        r->head = (r->head + n) % r->size;
        r->len -= n;
    }
}
