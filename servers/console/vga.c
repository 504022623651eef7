/*
 * VGA text mode output: the 80x25 screen at physical 0xb8000.
 *
 * Bytes are drawn at a software cursor that the hardware cursor (CRTC
 * registers 0x0e/0x0f through ports 0x3d4/0x3d5) follows after each
 * write.  '\n' starts a new line, '\r' returns to column 0, '\b' moves
 * left without erasing (also back over a line wrap), '\t' advances to the
 * next multiple of 8; other control bytes are ignored and ANSI escape
 * sequences (ESC [ ... final, or ESC and one byte) are stripped, since the
 * screen has no terminal emulator.  As on a terminal, a character in the
 * last column defers the wrap until the next character, so an 80-column
 * line followed by '\n' takes one row.  Writing past the last row scrolls
 * the screen up.
 */
#include "console.h"

#define VGA_PHYS     0xb8000
#define VGA_MAP_LEN  0x8000
#define VGA_COLS     80
#define VGA_ROWS     25
#define VGA_ATTR     0x0700 /* light grey on black */
#define VGA_CRTC_IDX 0x3d4
#define VGA_CRTC_DAT 0x3d5
#define VGA_CURSOR_HI 0x0e
#define VGA_CURSOR_LO 0x0f

enum vga_esc { VGA_TEXT, VGA_ESC, VGA_CSI };

static volatile uint16_t *const vga_mem = (volatile uint16_t *) USER_MMIO_BASE;
static int vga_row, vga_col;
static bool vga_wrap; /* the last column was written: wrap before the next character */
static enum vga_esc vga_esc_state;

static void vga_clear_row(int row) {
    for (int c = 0; c < VGA_COLS; c++)
        vga_mem[row * VGA_COLS + c] = VGA_ATTR | ' ';
}

static void vga_newline(void) {
    vga_col = 0;
    vga_wrap = false;
    if (++vga_row < VGA_ROWS)
        return;
    for (int i = 0; i < (VGA_ROWS - 1) * VGA_COLS; i++)
        vga_mem[i] = vga_mem[i + VGA_COLS];
    vga_clear_row(VGA_ROWS - 1);
    vga_row = VGA_ROWS - 1;
}

/* Move within the row; any motion cancels a pending wrap. */
static void vga_set_col(int col) {
    vga_col = col;
    vga_wrap = false;
}

/* '\b': one position left, counting a pending wrap as the position after
 * the last column and going from column 0 to the end of the row above, so
 * that a client can redraw an input line that wrapped by counting bytes. */
static void vga_back(void) {
    if (vga_wrap) {
        vga_wrap = false;
        return;
    }
    if (vga_col > 0 || vga_row == 0) {
        vga_set_col(vga_col > 0 ? vga_col - 1 : 0);
        return;
    }
    vga_row--;
    vga_set_col(VGA_COLS - 1);
}

static void vga_put(uint8_t c) {
    switch (c) {
    case '\n': vga_newline(); return;
    case '\r': vga_set_col(0); return;
    case '\b': vga_back(); return;
    case '\t': vga_set_col(MIN((vga_col + 8) & ~7, VGA_COLS - 1)); return;
    default: break;
    }
    if (c < 0x20 || c > 0x7e)
        return;
    if (vga_wrap)
        vga_newline();
    vga_mem[vga_row * VGA_COLS + vga_col] = (uint16_t) (VGA_ATTR | c);
    if (vga_col == VGA_COLS - 1)
        vga_wrap = true;
    else
        vga_col++;
}

/* Feed c through the escape-sequence filter; true if it is text. */
static bool vga_filter(uint8_t c) {
    switch (vga_esc_state) {
    case VGA_ESC:
        vga_esc_state = c == '[' ? VGA_CSI : VGA_TEXT;
        return false;
    case VGA_CSI:
        if (c >= 0x40 && c <= 0x7e)
            vga_esc_state = VGA_TEXT;
        return false;
    default:
        if (c != 0x1b)
            return true;
        vga_esc_state = VGA_ESC;
        return false;
    }
}

static void vga_update_cursor(void) {
    uint16_t pos = (uint16_t) (vga_row * VGA_COLS + vga_col);
    port_out8(VGA_CRTC_IDX, VGA_CURSOR_HI);
    port_out8(VGA_CRTC_DAT, (uint8_t) (pos >> 8));
    port_out8(VGA_CRTC_IDX, VGA_CURSOR_LO);
    port_out8(VGA_CRTC_DAT, (uint8_t) pos);
}

void vga_write(const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (vga_filter(data[i]))
            vga_put(data[i]);
    vga_update_cursor();
}

/* Map the text buffer and check that memory answers there. */
error_t vga_init(void) {
    error_t err = kernel_mmio_map(CID_KERNEL, VGA_PHYS, VGA_MAP_LEN, USER_MMIO_BASE);
    if (!err)
        err = kernel_ioport_enable(CID_KERNEL, VGA_CRTC_IDX, 2);
    if (err)
        return err;
    vga_mem[0] = 0x1234;
    if (vga_mem[0] != 0x1234)
        return ERR_NOT_FOUND;
    for (int r = 0; r < VGA_ROWS; r++)
        vga_clear_row(r);
    vga_row = vga_col = 0;
    vga_update_cursor();
    return OK;
}
