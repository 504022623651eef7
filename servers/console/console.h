/*
 * The console server's shared state and its device modules.
 *
 * main.c owns the message loop, the input ring and the queue of clients
 * waiting in console.read; serial.c (COM1), kbd.c (PS/2 keyboard, scan
 * code set 1) and vga.c (80x25 text mode) each drive one device and reach
 * the rest only through the functions declared here.  Devices other than
 * the serial port are optional: a failed set-up leaves them switched off.
 */
#pragma once

#include <user/server.h>
#include <idl.h>

#define CONSOLE_RING_SIZE   1024 /* buffered input bytes (a power of two) */
#define CONSOLE_MAX_READERS 16   /* clients waiting in console.read */
#define CONSOLE_READ_MAX    200  /* bytes per console.read reply */

struct console_input {
    uint8_t data[CONSOLE_RING_SIZE];
    size_t head;    /* index of the oldest byte */
    size_t count;
    uint64_t dropped;
};

struct console {
    struct server srv;
    struct console_input input;
    cid_t readers[CONSOLE_MAX_READERS]; /* FIFO of deferred console.read callers */
    size_t num_readers;
    cid_t serial_irq; /* watched IRQ channels; 0 when the device is off */
    cid_t kbd_irq;
    bool serial_on;
    bool vga_on;
    /* kbd.c's decoder state */
    bool kbd_shift, kbd_ctrl, kbd_caps, kbd_extended;
    int kbd_skip; /* bytes left of a Pause sequence */
};

static inline uint8_t port_in8(uint16_t port) {
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void port_out8(uint16_t port, uint8_t v) {
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

/* input.c: the ring of received bytes (overflow drops the new byte). */
void input_push(struct console_input *in, uint8_t c);
void input_push_str(struct console_input *in, const char *s);
size_t input_peek(const struct console_input *in, uint8_t *buf, size_t max);
void input_consume(struct console_input *in, size_t n);

/* serial.c */
error_t serial_init(struct console *con);
void serial_write(const uint8_t *data, size_t len);
void serial_drain(struct console *con);

/* kbd.c */
error_t kbd_init(struct console *con);
void kbd_drain(struct console *con);

/* vga.c */
error_t vga_init(void);
void vga_write(const uint8_t *data, size_t len);
