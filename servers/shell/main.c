/*
 * The shell: reads raw bytes from the console, edits a line (edit.c) and
 * runs it as a command (commands.c); see docs/shell.md.  It talks to the
 * user only through the console server and keeps running whatever a
 * command does.
 */
#include "shell.h"

static struct edit shell_edit;

static void shell_prompt(struct edit *e) {
    edit_reset(e);
    shell_write(SHELL_PROMPT, sizeof(SHELL_PROMPT) - 1);
}

static void shell_feed(struct edit *e, const uint8_t *buf, size_t len) {
    for (size_t i = 0; i < len; i++) {
        switch (edit_feed(e, buf[i])) {
        case EDIT_LINE:
            shell_flush(); /* the echoed line before anything the command causes */
            shell_execute(e->line);
            shell_prompt(e);
            break;
        case EDIT_CANCEL: shell_prompt(e); break;
        default: break;
        }
    }
}

int main(void) {
    struct edit *e = &shell_edit;
    shell_connect();
    edit_init(e);
    shell_printf("\nFumi shell. Type help for the commands.\n");
    shell_prompt(e);
    for (;;) {
        uint8_t buf[SHELL_READ_MAX];
        shell_flush();
        size_t len = shell_read(buf);
        shell_feed(e, buf, len);
    }
}
