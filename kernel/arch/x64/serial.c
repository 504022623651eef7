/* COM1 output for the kernel log: polled, 115200 8N1. */
#include "arch.h"

#define COM1 0x3f8

void serial_init(void) {
    outb(COM1 + 1, 0x00); /* no interrupts (the console server enables them) */
    outb(COM1 + 3, 0x80); /* DLAB */
    outb(COM1 + 0, 0x01); /* divisor 1: 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1 */
    outb(COM1 + 2, 0xc7); /* FIFO on, cleared */
    outb(COM1 + 4, 0x0b); /* DTR, RTS, OUT2 */
}

void serial_putc(char c) {
    if (c == '\n')
        serial_putc('\r');
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
        ;
    outb(COM1, c);
}
