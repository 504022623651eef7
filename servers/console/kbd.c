/*
 * The PS/2 keyboard (i8042 at ports 0x60/0x64, IRQ 1), scan code set 1.
 *
 * The controller is told to raise IRQ 1 and to translate to set 1 (what
 * every BIOS leaves behind anyway).  Each interrupt reads the output
 * buffer and turns make codes into the bytes a serial terminal would send:
 * ASCII with shift, caps lock and ctrl applied, Enter as '\r', Backspace
 * as 0x7f, and the arrow keys as ANSI sequences ESC [ A/B/C/D, so that
 * clients handle one input format whatever the source.
 */
#include "console.h"

#define KBD_DATA   0x60
#define KBD_STATUS 0x64
#define KBD_CMD    0x64

#define STATUS_OUT_FULL 0x01
#define STATUS_IN_FULL  0x02
#define STATUS_AUX      0x20 /* the byte came from the mouse port */

#define CMD_READ_CONFIG  0x20
#define CMD_WRITE_CONFIG 0x60
#define CMD_ENABLE_PORT1 0xae
#define CONFIG_IRQ1      0x01
#define CONFIG_NO_CLOCK1 0x10
#define CONFIG_TRANSLATE 0x40

#define KBD_IRQ      1
#define KBD_SPIN_MAX 100000
#define KBD_DRAIN_MAX 64

#define SC_LSHIFT   0x2a
#define SC_RSHIFT   0x36
#define SC_CTRL     0x1d
#define SC_CAPS     0x3a
#define SC_BREAK    0x80
#define SC_EXTENDED 0xe0
#define SC_PAUSE    0xe1

/* Set 1 make codes 0x00-0x39 of a US keyboard, without and with shift. */
static const char kbd_plain[] = "\0\x1b"
                                "1234567890-=\x7f\t"
                                "qwertyuiop[]\r\0"
                                "asdfghjkl;'`\0\\"
                                "zxcvbnm,./\0*\0 ";
static const char kbd_shifted[] = "\0\x1b"
                                  "!@#$%^&*()_+\x7f\t"
                                  "QWERTYUIOP{}\r\0"
                                  "ASDFGHJKL:\"~\0|"
                                  "ZXCVBNM<>?\0*\0 ";
STATIC_ASSERT(sizeof(kbd_plain) == 0x3a + 1);
STATIC_ASSERT(sizeof(kbd_shifted) == 0x3a + 1);

static bool kbd_wait(uint8_t mask, uint8_t want) {
    for (int i = 0; i < KBD_SPIN_MAX; i++)
        if ((port_in8(KBD_STATUS) & mask) == want)
            return true;
    return false;
}

static bool kbd_command(uint8_t cmd) {
    if (!kbd_wait(STATUS_IN_FULL, 0))
        return false;
    port_out8(KBD_CMD, cmd);
    return true;
}

/* Read the controller configuration, enable IRQ 1 and translation. */
static error_t kbd_configure(void) {
    for (int i = 0; i < KBD_DRAIN_MAX && (port_in8(KBD_STATUS) & STATUS_OUT_FULL); i++)
        (void) port_in8(KBD_DATA);
    if (!kbd_command(CMD_READ_CONFIG) || !kbd_wait(STATUS_OUT_FULL, STATUS_OUT_FULL))
        return ERR_TIMEOUT;
    uint8_t config = port_in8(KBD_DATA);
    config = (uint8_t) ((config | CONFIG_IRQ1 | CONFIG_TRANSLATE) & ~CONFIG_NO_CLOCK1);
    if (!kbd_command(CMD_WRITE_CONFIG) || !kbd_wait(STATUS_IN_FULL, 0))
        return ERR_TIMEOUT;
    port_out8(KBD_DATA, config);
    return kbd_command(CMD_ENABLE_PORT1) ? OK : ERR_TIMEOUT;
}

/* The ANSI sequence of an extended (0xe0-prefixed) make code, or NULL. */
static const char *kbd_extended_seq(uint8_t code) {
    switch (code) {
    case 0x48: return "\x1b[A";
    case 0x50: return "\x1b[B";
    case 0x4d: return "\x1b[C";
    case 0x4b: return "\x1b[D";
    case 0x47: return "\x1b[H";
    case 0x4f: return "\x1b[F";
    case 0x53: return "\x1b[3~";
    case 0x1c: return "\r";
    case 0x35: return "/";
    default: return NULL;
    }
}

/* Track shift/ctrl/caps; true if code was one of them. */
static bool kbd_modifier(struct console *con, uint8_t code, bool make) {
    switch (code) {
    case SC_LSHIFT:
    case SC_RSHIFT: con->kbd_shift = make; return true;
    case SC_CTRL: con->kbd_ctrl = make; return true;
    case SC_CAPS: con->kbd_caps ^= make; return true;
    default: return false;
    }
}

static void kbd_key(struct console *con, uint8_t code) {
    if (code >= sizeof(kbd_plain) - 1)
        return;
    char c = con->kbd_shift ? kbd_shifted[code] : kbd_plain[code];
    if (con->kbd_caps && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
        c ^= 0x20;
    if (con->kbd_ctrl && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
        c &= 0x1f;
    if (c)
        input_push(&con->input, (uint8_t) c);
}

static void kbd_scancode(struct console *con, uint8_t sc) {
    if (con->kbd_skip > 0) {
        con->kbd_skip--;
        return;
    }
    if (sc == SC_PAUSE) {
        con->kbd_skip = 5;
        return;
    }
    if (sc == SC_EXTENDED) {
        con->kbd_extended = true;
        return;
    }
    bool extended = con->kbd_extended, make = !(sc & SC_BREAK);
    uint8_t code = sc & (uint8_t) ~SC_BREAK;
    con->kbd_extended = false;
    if (kbd_modifier(con, code, make) || !make)
        return;
    if (!extended) {
        kbd_key(con, code);
        return;
    }
    const char *seq = kbd_extended_seq(code);
    if (seq)
        input_push_str(&con->input, seq);
}

void kbd_drain(struct console *con) {
    for (int i = 0; i < KBD_DRAIN_MAX; i++) {
        uint8_t status = port_in8(KBD_STATUS);
        if (status == 0xff || !(status & STATUS_OUT_FULL))
            break;
        uint8_t sc = port_in8(KBD_DATA);
        if (!(status & STATUS_AUX))
            kbd_scancode(con, sc);
    }
}

error_t kbd_init(struct console *con) {
    error_t err = kernel_ioport_enable(CID_KERNEL, KBD_DATA, 1);
    if (!err)
        err = kernel_ioport_enable(CID_KERNEL, KBD_STATUS, 1);
    if (err)
        return err;
    if (port_in8(KBD_STATUS) == 0xff)
        return ERR_NOT_FOUND;
    err = kbd_configure();
    cid_t ch;
    if (!err)
        err = kernel_irq_listen(CID_KERNEL, KBD_IRQ, &ch);
    if (err)
        return err;
    err = server_watch(&con->srv, ch);
    if (err) {
        sys_close(ch);
        return err;
    }
    con->kbd_irq = ch;
    kbd_drain(con);
    return kernel_irq_ack(CID_KERNEL, KBD_IRQ);
}
