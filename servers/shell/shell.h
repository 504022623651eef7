/*
 * The shell's modules: output.c (the console connection, buffered
 * output, input), edit.c (line editing and history on raw input bytes),
 * commands.c (the command table and the commands) and main.c (the
 * read-edit-execute loop).
 */
#pragma once

#include <user/user.h>
#include <idl.h>

#define SHELL_LINE_MAX    160 /* characters of one command line */
#define SHELL_HISTORY_MAX 32
#define SHELL_PROMPT      "fumi> "

/* output.c: everything the user sees goes through the console server. */
void shell_connect(void);
void shell_write(const char *s, size_t len);
void shell_putc(char c);
int shell_printf(const char *fmt, ...) PRINTF(1, 2);
void shell_flush(void);
#define SHELL_READ_MAX 200 /* console.read's bytes[200] */
/* Wait for input; returns 1..SHELL_READ_MAX bytes put in buf. */
size_t shell_read(uint8_t buf[SHELL_READ_MAX]);

/* Collect output instead of showing it (for "command > FILE"). */
void shell_capture_begin(void);
const char *shell_capture_end(size_t *len, bool *overflow);

/* edit.c */
enum edit_result { EDIT_NONE, EDIT_LINE, EDIT_CANCEL };
enum edit_esc { EDIT_TEXT, EDIT_ESC, EDIT_CSI, EDIT_SS3 };

struct edit {
    char line[SHELL_LINE_MAX + 1];
    size_t len, cursor;
    enum edit_esc esc;
    char csi[8]; /* parameter bytes of the escape sequence being read */
    size_t csi_len;
    bool after_cr; /* the last byte was '\r': a following '\n' is the same Enter */
    char history[SHELL_HISTORY_MAX][SHELL_LINE_MAX + 1];
    size_t hist_count, hist_next; /* ring: hist_next is the slot of the next entry */
    int hist_pos;                 /* -1: editing the draft, else 0 = newest entry */
    char draft[SHELL_LINE_MAX + 1];
};

void edit_init(struct edit *e);
/* Feed one input byte; on EDIT_LINE the finished line is in e->line. */
enum edit_result edit_feed(struct edit *e, uint8_t c);
/* Start a new, empty line (after the prompt has been printed). */
void edit_reset(struct edit *e);

/* commands.c */
void shell_execute(char *line);

/* A command handler returns OK, CMD_USAGE (print the usage) or an ERR_*. */
#define CMD_USAGE 1
typedef error_t (*cmd_handler_fn)(int argc, char **argv);

/* fs.c: file commands over the `fs` interface (paths relative to cd). */
error_t cmd_ls(int argc, char **argv);
error_t cmd_cat(int argc, char **argv);
error_t cmd_write(int argc, char **argv);
error_t cmd_cp(int argc, char **argv);
error_t cmd_mv(int argc, char **argv);
error_t cmd_rm(int argc, char **argv);
error_t cmd_mkdir(int argc, char **argv);
error_t cmd_rmdir(int argc, char **argv);
error_t cmd_stat(int argc, char **argv);
error_t cmd_df(int argc, char **argv);
error_t cmd_sync(int argc, char **argv);
error_t cmd_hexdump(int argc, char **argv);
error_t cmd_cd(int argc, char **argv);
error_t cmd_pwd(int argc, char **argv);
/* Write data to path (create or truncate): for "command > FILE". */
error_t fs_write_file(const char *path, const char *data, size_t len);
/* Write data at offset at of path (created; truncated first when at is 0). */
error_t fs_write_file_at(const char *path, uint64_t at, const char *data, size_t len);

/* net.c: network commands over the tcpip interface, and httpd's status. */
error_t cmd_ifconfig(int argc, char **argv);
error_t cmd_dhcp(int argc, char **argv);
error_t cmd_ping(int argc, char **argv);
error_t cmd_arp(int argc, char **argv);
error_t cmd_netstat(int argc, char **argv);
error_t cmd_fetch(int argc, char **argv);
error_t cmd_httpd(int argc, char **argv);
