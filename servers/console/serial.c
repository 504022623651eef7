/*
 * COM1 (16550 UART at 0x3f8): polled output, interrupt-driven input.
 *
 * The kernel has already programmed 115200 8N1 and writes its own log to
 * the same port, polled; this module only lowers the receive FIFO trigger
 * to one byte, enables the "data available" interrupt and listens on
 * IRQ 4.  Each interrupt drains the receive FIFO into the input ring; the
 * caller then acknowledges the line (kernel.irq_ack).
 */
#include "console.h"

#define COM1      0x3f8
#define UART_DATA (COM1 + 0)
#define UART_IER  (COM1 + 1)
#define UART_FCR  (COM1 + 2)
#define UART_IIR  (COM1 + 2)
#define UART_MCR  (COM1 + 4)
#define UART_LSR  (COM1 + 5)

#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20
#define IER_RX_DATA    0x01
#define FCR_ENABLE     0x01 /* trigger level 1 byte; FIFOs are not cleared */
#define MCR_DTR_RTS_OUT2 0x0b

#define SERIAL_IRQ      4
#define SERIAL_SPIN_MAX 100000 /* polls of LSR before a byte is sent anyway */
#define SERIAL_DRAIN_MAX 4096  /* bytes per interrupt: a stuck LSR cannot hang us */

static void serial_putc(uint8_t c) {
    for (int i = 0; i < SERIAL_SPIN_MAX && !(port_in8(UART_LSR) & LSR_THR_EMPTY); i++)
        ;
    port_out8(UART_DATA, c);
}

void serial_write(const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n')
            serial_putc('\r');
        serial_putc(data[i]);
    }
}

void serial_drain(struct console *con) {
    for (int i = 0; i < SERIAL_DRAIN_MAX; i++) {
        uint8_t lsr = port_in8(UART_LSR);
        if (lsr == 0xff || !(lsr & LSR_DATA_READY))
            break;
        input_push(&con->input, port_in8(UART_DATA));
    }
    (void) port_in8(UART_IIR);
}

error_t serial_init(struct console *con) {
    error_t err = kernel_ioport_enable(CID_KERNEL, COM1, 8);
    if (err)
        return err;
    if (port_in8(UART_LSR) == 0xff)
        return ERR_NOT_FOUND; /* nothing answers at 0x3f8 */
    cid_t ch;
    con->serial_on = true; /* output works from here on */
    err = kernel_irq_listen(CID_KERNEL, SERIAL_IRQ, &ch);
    if (err)
        return err;
    err = server_watch(&con->srv, ch);
    if (err) {
        sys_close(ch);
        return err;
    }
    con->serial_irq = ch;
    port_out8(UART_FCR, FCR_ENABLE);
    port_out8(UART_MCR, MCR_DTR_RTS_OUT2);
    port_out8(UART_IER, IER_RX_DATA);
    serial_drain(con);
    return kernel_irq_ack(CID_KERNEL, SERIAL_IRQ);
}
