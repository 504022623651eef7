/*
 * The shell's connection to the console server.
 *
 * Output collects in a 200-byte buffer (one console.write message) that is
 * sent when it fills and at shell_flush(); the main loop flushes before it
 * waits for input or for a program.  If the console dies, the next write or
 * read reconnects through the name service, as every client of a
 * restartable server does.  Diagnostics that concern the console itself go
 * to the kernel log with printf.
 */
#include "shell.h"

#define OUT_CHUNK 200 /* console.write's bytes[200] */

static cid_t out_console = -1;
static char out_buf[OUT_CHUNK];
static size_t out_len;
static struct {
    bool on;
    char *data;
    size_t len, cap;
    bool overflow;
} capture; /* "command > FILE": output collects here instead */

void shell_capture_begin(void) {
    capture.on = true;
    capture.len = 0;
    capture.overflow = false;
}

/* Stop capturing; returns the captured bytes (valid until the next capture). */
const char *shell_capture_end(size_t *len, bool *overflow) {
    capture.on = false;
    *len = capture.len;
    *overflow = capture.overflow;
    return capture.data;
}

static void capture_putc(char c) {
    if (capture.len == capture.cap) {
        size_t cap = capture.cap ? capture.cap * 2 : 1024;
        char *p = cap <= (1u << 20) ? realloc(capture.data, cap) : NULL;
        if (!p) {
            capture.overflow = true;
            return;
        }
        capture.data = p;
        capture.cap = cap;
    }
    capture.data[capture.len++] = c;
}

void shell_connect(void) {
    if (out_console >= 0)
        sys_close(out_console);
    for (;;) {
        out_console = ns_connect("console");
        if (out_console >= 0)
            return;
        printf("shell: cannot reach the console: %s\n", err_name(out_console));
        sleep_ms(500);
    }
}

static bool out_lost_console(error_t err) {
    return err == ERR_PEER_CLOSED || err == ERR_INVALID_CID || err == ERR_NOT_LINKED;
}

void shell_flush(void) {
    if (out_len == 0)
        return;
    error_t err = console_write(out_console, out_buf, out_len);
    if (out_lost_console(err)) {
        shell_connect();
        err = console_write(out_console, out_buf, out_len);
    }
    if (err)
        printf("shell: console.write: %s\n", err_name(err));
    out_len = 0;
}

void shell_putc(char c) {
    if (capture.on) {
        capture_putc(c);
        return;
    }
    if (out_len == sizeof(out_buf))
        shell_flush();
    out_buf[out_len++] = c;
}

void shell_write(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        shell_putc(s[i]);
}

static void out_sink(void *ctx, char c) {
    shell_putc(c);
}

int shell_printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vformat(out_sink, NULL, fmt, ap);
    va_end(ap);
    return n;
}

size_t shell_read(uint8_t buf[SHELL_READ_MAX]) {
    for (;;) {
        size_t len = 0;
        error_t err = console_read(out_console, buf, &len);
        if (!err && len > 0)
            return len;
        if (out_lost_console(err)) {
            shell_connect();
        } else if (err) {
            printf("shell: console.read: %s\n", err_name(err));
            sleep_ms(100);
        }
    }
}
