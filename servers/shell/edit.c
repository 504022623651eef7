/*
 * Line editing on the raw bytes a terminal (or the console's keyboard
 * decoder) sends, with a history of the last SHELL_HISTORY_MAX lines.
 *
 * Bytes arrive one at a time and the escape-sequence state lives in
 * struct edit, so a sequence split across console reads is still
 * recognised.  Keys: printable characters insert at the cursor; Backspace
 * (0x7f or 0x08) deletes before it and ESC [ 3 ~ (Delete) under it;
 * ESC [ C / D move right / left, ESC [ H / F (also 1~ 4~ 7~ 8~) and
 * Ctrl-A / Ctrl-E go to the start / end; ESC [ A / B walk the history;
 * Ctrl-U clears the line, Ctrl-C abandons it; '\r', '\n' or "\r\n" ends
 * it.  ESC O x (application cursor mode) is treated like ESC [ x.  Other
 * control bytes are ignored.
 *
 * The screen is redrawn with plain bytes only ('\b' moves left, the text
 * after the cursor is rewritten and padded with spaces), which works the
 * same on a serial terminal and on the VGA screen.
 */
#include "shell.h"

#define KEY_CTRL_A 0x01
#define KEY_CTRL_C 0x03
#define KEY_CTRL_E 0x05
#define KEY_BS     0x08
#define KEY_CTRL_U 0x15
#define KEY_ESC    0x1b
#define KEY_DEL    0x7f

static void edit_backs(size_t n) {
    while (n-- > 0)
        shell_putc('\b');
}

static void edit_spaces(size_t n) {
    while (n-- > 0)
        shell_putc(' ');
}

void edit_init(struct edit *e) {
    memset(e, 0, sizeof(*e));
    e->hist_pos = -1;
}

void edit_reset(struct edit *e) {
    e->len = e->cursor = 0;
    e->line[0] = '\0';
    e->hist_pos = -1;
}

/* Rewrite from the cursor to the end, erase `erased` stale cells after it,
 * and put the terminal cursor back at e->cursor. */
static void edit_redraw_tail(struct edit *e, size_t erased) {
    shell_write(e->line + e->cursor, e->len - e->cursor);
    edit_spaces(erased);
    edit_backs(e->len - e->cursor + erased);
}

static void edit_insert(struct edit *e, char c) {
    if (e->len == SHELL_LINE_MAX)
        return;
    memmove(e->line + e->cursor + 1, e->line + e->cursor, e->len - e->cursor);
    e->line[e->cursor] = c;
    e->len++;
    shell_putc(c);
    e->cursor++;
    edit_redraw_tail(e, 0);
}

/* Delete the character under the cursor. */
static void edit_delete(struct edit *e) {
    if (e->cursor == e->len)
        return;
    memmove(e->line + e->cursor, e->line + e->cursor + 1, e->len - e->cursor - 1);
    e->len--;
    edit_redraw_tail(e, 1);
}

static void edit_backspace(struct edit *e) {
    if (e->cursor == 0)
        return;
    e->cursor--;
    shell_putc('\b');
    edit_delete(e);
}

static void edit_move(struct edit *e, size_t to) {
    if (to < e->cursor)
        edit_backs(e->cursor - to);
    else
        shell_write(e->line + e->cursor, to - e->cursor);
    e->cursor = to;
}

/* Replace the whole line by text, leaving the cursor at its end. */
static void edit_replace(struct edit *e, const char *text) {
    size_t old_len = e->len, n = strnlen(text, SHELL_LINE_MAX);
    edit_backs(e->cursor);
    memmove(e->line, text, n);
    e->len = e->cursor = n;
    shell_write(e->line, n);
    if (n < old_len) {
        edit_spaces(old_len - n);
        edit_backs(old_len - n);
    }
}

static char *edit_history_entry(struct edit *e, size_t age) {
    size_t slot = (e->hist_next + SHELL_HISTORY_MAX - 1 - age) % SHELL_HISTORY_MAX;
    return e->history[slot];
}

static void edit_history_add(struct edit *e) {
    if (e->len == 0 || (e->hist_count > 0 && !strcmp(edit_history_entry(e, 0), e->line)))
        return;
    strcpy_safe(e->history[e->hist_next], e->line, sizeof(e->history[0]));
    e->hist_next = (e->hist_next + 1) % SHELL_HISTORY_MAX;
    if (e->hist_count < SHELL_HISTORY_MAX)
        e->hist_count++;
}

static void edit_history_up(struct edit *e) {
    if ((size_t) (e->hist_pos + 1) >= e->hist_count)
        return;
    if (e->hist_pos < 0) {
        e->line[e->len] = '\0';
        strcpy_safe(e->draft, e->line, sizeof(e->draft));
    }
    e->hist_pos++;
    edit_replace(e, edit_history_entry(e, (size_t) e->hist_pos));
}

static void edit_history_down(struct edit *e) {
    if (e->hist_pos < 0)
        return;
    e->hist_pos--;
    edit_replace(e, e->hist_pos < 0 ? e->draft : edit_history_entry(e, (size_t) e->hist_pos));
}

/* The key an escape sequence with these parameters and final byte means. */
static void edit_sequence(struct edit *e, char final) {
    e->csi[e->csi_len] = '\0';
    if (final == '~') {
        if (!strcmp(e->csi, "3"))
            edit_delete(e);
        else if (!strcmp(e->csi, "1") || !strcmp(e->csi, "7"))
            edit_move(e, 0);
        else if (!strcmp(e->csi, "4") || !strcmp(e->csi, "8"))
            edit_move(e, e->len);
        return;
    }
    switch (final) {
    case 'A': edit_history_up(e); break;
    case 'B': edit_history_down(e); break;
    case 'C': edit_move(e, e->cursor < e->len ? e->cursor + 1 : e->len); break;
    case 'D': edit_move(e, e->cursor > 0 ? e->cursor - 1 : 0); break;
    case 'H': edit_move(e, 0); break;
    case 'F': edit_move(e, e->len); break;
    default: break;
    }
}

/* Continue an escape sequence with c; back to EDIT_TEXT when it ends. */
static void edit_escape(struct edit *e, uint8_t c) {
    if (e->esc == EDIT_ESC) {
        e->csi_len = 0;
        e->esc = c == '[' ? EDIT_CSI : c == 'O' ? EDIT_SS3 : EDIT_TEXT;
        return;
    }
    if (e->esc == EDIT_CSI && c >= 0x20 && c <= 0x3f) {
        if (e->csi_len < sizeof(e->csi) - 1)
            e->csi[e->csi_len++] = (char) c;
        return;
    }
    e->esc = EDIT_TEXT;
    if (c >= 0x40 && c <= 0x7e)
        edit_sequence(e, (char) c);
}

static enum edit_result edit_enter(struct edit *e) {
    e->line[e->len] = '\0';
    edit_move(e, e->len);
    shell_putc('\n');
    edit_history_add(e);
    return EDIT_LINE;
}

static enum edit_result edit_control(struct edit *e, uint8_t c) {
    switch (c) {
    case '\r':
    case '\n': return edit_enter(e);
    case KEY_DEL:
    case KEY_BS: edit_backspace(e); break;
    case KEY_CTRL_U: edit_replace(e, ""); break;
    case KEY_CTRL_A: edit_move(e, 0); break;
    case KEY_CTRL_E: edit_move(e, e->len); break;
    case KEY_ESC: e->esc = EDIT_ESC; break;
    case KEY_CTRL_C:
        edit_move(e, e->len);
        shell_write("^C\n", 3);
        return EDIT_CANCEL;
    default: break;
    }
    return EDIT_NONE;
}

enum edit_result edit_feed(struct edit *e, uint8_t c) {
    bool same_enter = c == '\n' && e->after_cr;
    e->after_cr = c == '\r';
    if (same_enter)
        return EDIT_NONE;
    if (e->esc != EDIT_TEXT) {
        edit_escape(e, c);
        return EDIT_NONE;
    }
    if (c >= 0x20 && c < 0x7f) {
        edit_insert(e, (char) c);
        return EDIT_NONE;
    }
    return edit_control(e, c);
}
