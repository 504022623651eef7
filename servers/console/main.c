/*
 * The console server: one `console` interface over COM1, the PS/2
 * keyboard and the VGA text screen (docs/console.md).
 *
 * console.write sends the bytes to the serial port and, when present, the
 * screen.  Input from both devices is interrupt driven and collects in a
 * ring; console.read takes up to 200 bytes from it, or, when it is empty,
 * joins a FIFO of waiting readers whose replies are deferred until input
 * arrives.  A waiting reader whose channel closes is forgotten.
 */
#include "console.h"

static struct console console;

/* Answer waiting readers, oldest first, while there is input. */
static void console_serve_readers(struct console *con) {
    while (con->num_readers > 0 && con->input.count > 0) {
        uint8_t buf[CONSOLE_READ_MAX];
        size_t n = input_peek(&con->input, buf, sizeof(buf));
        struct message m;
        console_read_reply(&m, buf, n);
        if (server_reply(con->readers[0], &m) == OK)
            input_consume(&con->input, n);
        con->num_readers--;
        memmove(con->readers, con->readers + 1, con->num_readers * sizeof(cid_t));
    }
}

static void console_forget_reader(struct console *con, cid_t from) {
    for (size_t i = 0; i < con->num_readers; i++) {
        if (con->readers[i] == from) {
            con->num_readers--;
            memmove(con->readers + i, con->readers + i + 1,
                    (con->num_readers - i) * sizeof(cid_t));
            return;
        }
    }
}

static error_t console_write_h(void *ctx, cid_t from, const void *data, size_t len) {
    struct console *con = ctx;
    if (con->serial_on)
        serial_write(data, len);
    if (con->vga_on)
        vga_write(data, len);
    return OK;
}

static error_t console_read_h(void *ctx, cid_t from, void *data, size_t *len) {
    struct console *con = ctx;
    if (con->input.count > 0) {
        *len = input_peek(&con->input, data, CONSOLE_READ_MAX);
        input_consume(&con->input, *len);
        return OK;
    }
    if (con->num_readers == CONSOLE_MAX_READERS)
        return ERR_NO_RESOURCES;
    con->readers[con->num_readers++] = from;
    return IDL_DEFER_REPLY;
}

static const struct console_server_ops console_ops = {
    .write = console_write_h,
    .read = console_read_h,
};

static bool console_dispatch_fn(struct server *s, const struct message *req,
                                struct message *reply) {
    return console_dispatch(&console_ops, s->ctx, req, reply);
}

static void console_notify(struct server *s, cid_t from, notification_t bits) {
    struct console *con = s->ctx;
    if (!(bits & NOTIFY_IRQ))
        return;
    if (from == con->serial_irq && con->serial_irq) {
        serial_drain(con);
        kernel_irq_ack(CID_KERNEL, 4);
    } else if (from == con->kbd_irq && con->kbd_irq) {
        kbd_drain(con);
        kernel_irq_ack(CID_KERNEL, 1);
    }
    console_serve_readers(con);
}

static void console_closed(struct server *s, cid_t from) {
    console_forget_reader(s->ctx, from);
}

/* Bring up the devices; only a failed serial port makes input impossible. */
static void console_init_devices(struct console *con) {
    error_t err = serial_init(con);
    if (err)
        printf("console: serial input unavailable: %s\n", err_name(err));
    err = vga_init();
    con->vga_on = err == OK;
    if (err)
        printf("console: no VGA text screen (%s), serial only\n", err_name(err));
    err = kbd_init(con);
    if (err)
        printf("console: no PS/2 keyboard (%s), serial only\n", err_name(err));
}

int main(void) {
    struct console *con = &console;
    con->srv.dispatch = console_dispatch_fn;
    con->srv.notify = console_notify;
    con->srv.closed = console_closed;
    con->srv.ctx = con;
    error_t err = server_init(&con->srv, "console");
    if (err) {
        printf("console: cannot start the server: %s\n", err_name(err));
        return 1;
    }
    console_init_devices(con);
    server_run(&con->srv);
}
