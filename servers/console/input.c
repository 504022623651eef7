/*
 * The console's input ring: bytes from the serial port and the keyboard
 * wait here until a client's console.read takes them.  A full ring drops
 * new bytes (and counts them) rather than overwriting unread input.
 */
#include "console.h"

void input_push(struct console_input *in, uint8_t c) {
    if (in->count == CONSOLE_RING_SIZE) {
        in->dropped++;
        return;
    }
    in->data[(in->head + in->count) % CONSOLE_RING_SIZE] = c;
    in->count++;
}

void input_push_str(struct console_input *in, const char *s) {
    while (*s)
        input_push(in, (uint8_t) *s++);
}

/* Copy up to max of the oldest bytes into buf without removing them. */
size_t input_peek(const struct console_input *in, uint8_t *buf, size_t max) {
    size_t n = MIN(max, in->count);
    for (size_t i = 0; i < n; i++)
        buf[i] = in->data[(in->head + i) % CONSOLE_RING_SIZE];
    return n;
}

void input_consume(struct console_input *in, size_t n) {
    n = MIN(n, in->count);
    in->head = (in->head + n) % CONSOLE_RING_SIZE;
    in->count -= n;
}
