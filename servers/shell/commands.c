/*
 * The shell's commands: a table of {name, usage, help, handler} that
 * `help` prints and shell_execute() searches after splitting the line
 * into words (spaces separate words; "double quotes" group them, and
 * \" or \\ inside quotes stand for the character).
 *
 * A handler returns OK, CMD_USAGE (shell_execute prints the usage line)
 * or an ERR_* code (printed as "NAME: ERR_X"); a failing command never
 * ends the shell.  Process and memory commands ask the kernel server
 * (process_info, stats, clock) and memmgr (spawn, wait, kill, stop, crash,
 * process_info, memory).
 */
#include "shell.h"

#define CMD_MAX_ARGS 16
#define PROC_NAME_MAX 32  /* string[32] of process names */
#define PROC_ARGS_MAX 128 /* memmgr.spawn's args: string[128] */

struct command {
    const char *name;
    const char *usage;
    const char *help;
    cmd_handler_fn handler;
};

static const struct command cmd_table[];

/* One row of kernel.process_info. */
struct cmd_proc {
    int32_t pid;
    char name[PROC_NAME_MAX];
    uint32_t state, threads, channels;
    uint64_t pages, sent, received, faults;
};

/* The first live process with pid >= pid. */
static error_t cmd_proc_info(int32_t pid, struct cmd_proc *p) {
    error_t err = kernel_process_info(CID_KERNEL, pid, &p->pid, p->name, &p->state, &p->threads,
                                      &p->channels, &p->pages, &p->sent, &p->received,
                                      &p->faults);
    if (!err && p->pid < pid)
        return ERR_UNEXPECTED; /* the walk must move forward */
    p->name[PROC_NAME_MAX - 1] = '\0';
    return err;
}

static const char *cmd_state_name(uint32_t state) {
    switch (state) {
    case 1: return "alive";
    case 2: return "zombie";
    default: return "?";
    }
}

/* One row of memmgr.process_info: the supervisor's view. */
struct cmd_sv {
    int32_t pid;
    char name[PROC_NAME_MAX];
    uint32_t state, restarts, cause, msg;
    int32_t code;
    uint64_t started_ns;
};

#define CMD_MAX_PROCS 64

/* kernel.stats: the kernel's pools and IPC path counts. */
struct cmd_kstats {
    uint32_t procs, procs_max, threads, threads_max, chans, chans_max, pool, pool_free;
    uint64_t fast, slow;
};

static error_t cmd_kernel_stats(struct cmd_kstats *k) {
    return kernel_stats(CID_KERNEL, &k->procs, &k->procs_max, &k->threads, &k->threads_max,
                        &k->chans, &k->chans_max, &k->pool, &k->pool_free, &k->fast, &k->slow);
}

/* Every process memmgr knows (live ones and supervised ones that are down),
 * by pid. */
static int cmd_sv_list(struct cmd_sv *rows, int max) {
    int n = 0;
    for (int32_t pid = 0; n < max; pid = rows[n++].pid + 1) {
        struct cmd_sv *r = &rows[n];
        if (memmgr_process_info(CID_MEMMGR, pid, &r->pid, r->name, &r->state, &r->restarts,
                                &r->cause, &r->code, &r->msg, &r->started_ns) != OK
            || r->pid < pid)
            break;
        r->name[PROC_NAME_MAX - 1] = '\0';
    }
    return n;
}

/* How a process last ended, in a few words: "page fault in fs.read". */
static void cmd_end_text(const struct cmd_sv *r, char *buf, size_t size) {
    switch (r->cause) {
    case EXIT_NONE: snprintf(buf, size, "-"); return;
    case EXIT_NORMAL: snprintf(buf, size, "exit %d", r->code); break;
    case EXIT_FAULT: snprintf(buf, size, "fault (vector %d)", r->code); break;
    case EXIT_PAGER: snprintf(buf, size, "page fault"); break;
    case EXIT_KILLED: snprintf(buf, size, "killed"); break;
    case EXIT_INJECTED: snprintf(buf, size, "crash (injected)"); break;
    default: snprintf(buf, size, "cause %u", r->cause); break;
    }
    const char *msg = r->msg ? idl_msg_name(r->msg) : NULL;
    if (msg) {
        strcat_safe(buf, " in ", size);
        strcat_safe(buf, msg, size);
    }
}

static void cmd_print_duration(uint64_t ns) {
    uint64_t s = ns / 1000000000;
    shell_printf(" %4lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
}

static error_t cmd_help(int argc, char **argv) {
    for (const struct command *c = cmd_table; c->name; c++)
        shell_printf("  %-20s %s\n", c->usage, c->help);
    return OK;
}

static error_t cmd_echo(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        shell_printf("%s%s", i > 1 ? " " : "", argv[i]);
    shell_putc('\n');
    return OK;
}

/* The kernel's live processes merged with memmgr's supervised ones that
 * are down (they keep their last pid): state, uptime, restarts, last end. */
static error_t cmd_ps(int argc, char **argv) {
    static const char *const states[] = {[PSTATE_RUNNING] = "alive", [PSTATE_WAITING] = "restart",
                                         [PSTATE_FAILED] = "failed", [PSTATE_STOPPED] = "stopped"};
    static struct cmd_sv sv[CMD_MAX_PROCS];
    if (argc != 1)
        return CMD_USAGE;
    int nsv = cmd_sv_list(sv, CMD_MAX_PROCS), i = 0;
    uint64_t now = clock_ns();
    shell_printf("%5s %-12s %-7s %7s %8s %6s %8s %8s  %s\n", "PID", "NAME", "STATE", "THREADS",
                 "CHANNELS", "PAGES", "UPTIME", "RESTARTS", "LAST END");
    struct cmd_proc p;
    error_t err = OK;
    for (int32_t pid = 0; !err || i < nsv; pid = p.pid + 1) {
        err = cmd_proc_info(pid, &p);
        if (err && err != ERR_NOT_FOUND)
            return err;
        /* memmgr's rows up to this pid: those not alive are down */
        for (; i < nsv && (err || sv[i].pid <= p.pid); i++) {
            if (!err && sv[i].pid == p.pid)
                break;
            char end[64];
            cmd_end_text(&sv[i], end, sizeof(end));
            shell_printf("%5d %-12s %-7s %7s %8s %6s %8s %8u  %s\n", sv[i].pid, sv[i].name,
                         sv[i].state < ARRAY_SIZE(states) ? states[sv[i].state] : "?", "-", "-",
                         "-", "-", sv[i].restarts, end);
        }
        if (err)
            break;
        shell_printf("%5d %-12s %-7s %7u %8u %6lu", p.pid, p.name, cmd_state_name(p.state),
                     p.threads, p.channels, p.pages);
        if (i < nsv && sv[i].pid == p.pid) {
            char end[64];
            cmd_end_text(&sv[i], end, sizeof(end));
            cmd_print_duration(now - sv[i].started_ns);
            shell_printf(" %8u  %s\n", sv[i].restarts, end);
            i++;
        } else {
            cmd_print_duration(now); /* memmgr: up since boot */
            shell_printf(" %8s  %s\n", "-", "-");
        }
    }
    return OK;
}

/* Per-process message counts (kernel.process_info) and the IPC paths. */
static error_t cmd_stat_ipc(void) {
    shell_printf("%5s %-12s %10s %10s %8s %8s\n", "PID", "NAME", "SENT", "RECEIVED", "FAULTS",
                 "CHANNELS");
    struct cmd_proc p;
    uint64_t sent = 0, received = 0;
    for (int32_t pid = 0;; pid = p.pid + 1) {
        error_t err = cmd_proc_info(pid, &p);
        if (err == ERR_NOT_FOUND)
            break;
        if (err)
            return err;
        shell_printf("%5d %-12s %10lu %10lu %8lu %8u\n", p.pid, p.name, p.sent, p.received,
                     p.faults, p.channels);
        sent += p.sent;
        received += p.received;
    }
    struct cmd_kstats k;
    error_t err = cmd_kernel_stats(&k);
    if (err)
        return err;
    shell_printf("total: %lu sent, %lu received (by live processes); ipc calls: fastpath %lu, "
                 "slowpath %lu\n", sent, received, k.fast, k.slow);
    return OK;
}

/* `stat ipc` shows the IPC counters; any other `stat PATH` is the file's. */
static error_t cmd_stat_any(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "ipc"))
        return cmd_stat_ipc();
    return cmd_stat(argc, argv);
}

static error_t cmd_uptime(int argc, char **argv) {
    if (argc != 1)
        return CMD_USAGE;
    uint64_t ms = clock_ns() / 1000000;
    shell_printf("up %lu:%02lu:%02lu.%03lu\n", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
                 ms % 1000);
    struct cmd_kstats k;
    error_t err = cmd_kernel_stats(&k);
    if (err)
        return err;
    shell_printf("processes %u/%u, threads %u/%u, channels %u/%u\n", k.procs, k.procs_max,
                 k.threads, k.threads_max, k.chans, k.chans_max);
    shell_printf("kernel pool pages %u free / %u total\n", k.pool_free, k.pool);
    shell_printf("ipc fastpath %lu, slowpath %lu\n", k.fast, k.slow);
    return OK;
}

/* A pid given as a number, or the first live process named `arg`. */
static error_t cmd_resolve_pid(const char *arg, int32_t *pid) {
    int n;
    if (str_to_int(arg, &n) == OK) {
        *pid = n;
        return OK;
    }
    struct cmd_proc p;
    for (int32_t next = 0;; next = p.pid + 1) {
        error_t err = cmd_proc_info(next, &p);
        if (err)
            return err;
        if (p.state == 1 && !strcmp(p.name, arg)) {
            *pid = p.pid;
            return OK;
        }
    }
}

/* kill, stop and crash: a memmgr call on one process named by pid or name. */
static error_t cmd_on_process(int argc, char **argv, error_t (*call)(cid_t, int32_t),
                              const char *done) {
    if (argc != 2)
        return CMD_USAGE;
    int32_t pid;
    error_t err = cmd_resolve_pid(argv[1], &pid);
    if (!err)
        err = call(CID_MEMMGR, pid);
    if (!err)
        shell_printf("%s pid %d\n", done, pid);
    return err;
}

static error_t cmd_kill(int argc, char **argv) {
    return cmd_on_process(argc, argv, memmgr_kill, "killed");
}

static error_t cmd_stop(int argc, char **argv) {
    return cmd_on_process(argc, argv, memmgr_stop, "stopped");
}

static error_t cmd_crash(int argc, char **argv) {
    return cmd_on_process(argc, argv, memmgr_crash, "crashed");
}

static const char *cmd_cause_name(uint32_t cause) {
    static const char *const names[] = {"exit", "fault", "killed", "pager", "injected"};
    return cause < ARRAY_SIZE(names) ? names[cause] : "?";
}

/* Start program `name` with the argument string args and wait until it ends. */
static error_t cmd_run_program(const char *name, const char *args) {
    if (strlen(name) >= PROC_NAME_MAX)
        return ERR_INVALID_ARG;
    shell_flush();
    int32_t pid;
    error_t err = memmgr_spawn(CID_MEMMGR, name, args, &pid);
    if (err)
        return err;
    uint32_t cause;
    int32_t code;
    err = memmgr_wait(CID_MEMMGR, pid, &cause, &code);
    if (err)
        return err;
    shell_printf("%s exited: cause %s code %d\n", name, cmd_cause_name(cause), code);
    return OK;
}

/* argv[2..] joined by single spaces: the argument string of a program. */
static error_t cmd_join_args(int argc, char **argv, char *args, size_t size) {
    args[0] = '\0';
    for (int i = 2; i < argc; i++) {
        if (i > 2)
            strcat_safe(args, " ", size);
        if (strcat_safe(args, argv[i], size) >= size)
            return ERR_TOO_LARGE;
    }
    return OK;
}

static error_t cmd_run(int argc, char **argv) {
    if (argc < 2)
        return CMD_USAGE;
    char args[PROC_ARGS_MAX];
    error_t err = cmd_join_args(argc, argv, args, sizeof(args));
    return err ? err : cmd_run_program(argv[1], args);
}

static error_t cmd_start(int argc, char **argv) {
    if (argc < 2)
        return CMD_USAGE;
    char args[PROC_ARGS_MAX];
    int32_t pid;
    error_t err = cmd_join_args(argc, argv, args, sizeof(args));
    if (!err)
        err = memmgr_spawn(CID_MEMMGR, argv[1], args, &pid);
    if (!err)
        shell_printf("started %s: pid %d\n", argv[1], pid);
    return err;
}

static error_t cmd_shutdown(int argc, char **argv) {
    int code = 0;
    if (argc > 2 || (argc == 2 && (str_to_int(argv[1], &code) != OK || code < 0 || code > 255)))
        return CMD_USAGE;
    shell_flush();
    return memmgr_shutdown(CID_MEMMGR, (uint32_t) code);
}

static error_t cmd_ipcbench(int argc, char **argv) {
    return argc == 1 ? cmd_run_program("ipcbench", "") : CMD_USAGE;
}

static error_t cmd_mem(int argc, char **argv) {
    if (argc != 1)
        return CMD_USAGE;
    uint64_t free_pages, total_pages;
    error_t err = memmgr_memory(CID_MEMMGR, &free_pages, &total_pages);
    if (err)
        return err;
    uint64_t per_mib = (1024 * 1024) / PAGE_SIZE;
    shell_printf("memory: %lu free / %lu total pages (%lu MiB free / %lu MiB total)\n",
                 free_pages, total_pages, free_pages / per_mib, total_pages / per_mib);
    return OK;
}

static const struct command cmd_table[] = {
    {"help", "help", "list the commands", cmd_help},
    {"echo", "echo ARGS...", "print the arguments", cmd_echo},
    {"ps", "ps", "processes: state, uptime, restarts and how each last ended", cmd_ps},
    {"uptime", "uptime", "time since boot and kernel pool usage", cmd_uptime},
    {"kill", "kill PID|NAME", "kill a process (its supervisor may restart it)", cmd_kill},
    {"stop", "stop PID|NAME", "kill a process and keep it down (start starts it)", cmd_stop},
    {"crash", "crash PID|NAME", "make a process fault now (tests the supervisor)", cmd_crash},
    {"run", "run NAME [ARGS...]", "start a program with arguments and wait for it", cmd_run},
    {"start", "start NAME [ARGS...]", "start a program and do not wait for it", cmd_start},
    {"ipcbench", "ipcbench", "run the IPC benchmark (same as run ipcbench)", cmd_ipcbench},
    {"shutdown", "shutdown [CODE]", "power off (QEMU exits with CODE*2+1)", cmd_shutdown},
    {"mem", "mem", "free and total memory managed by memmgr", cmd_mem},
    {"ls", "ls [-l] [PATH]", "list a directory", cmd_ls},
    {"cat", "cat FILE...", "print files", cmd_cat},
    {"write", "write FILE TEXT...", "write the text and a newline to FILE", cmd_write},
    {"cp", "cp FROM TO", "copy a file", cmd_cp},
    {"mv", "mv FROM TO", "rename or move a file or directory", cmd_mv},
    {"rm", "rm FILE...", "remove files", cmd_rm},
    {"mkdir", "mkdir DIR...", "make directories", cmd_mkdir},
    {"rmdir", "rmdir DIR...", "remove empty directories", cmd_rmdir},
    {"stat", "stat PATH | stat ipc", "a file's size, type, clusters and time; or the "
     "message counts of every process", cmd_stat_any},
    {"df", "df", "size and free space of the file system", cmd_df},
    {"sync", "sync", "write all cached data to the disk", cmd_sync},
    {"hexdump", "hexdump FILE [OFFSET [LEN]]", "show bytes of a file in hex", cmd_hexdump},
    {"cd", "cd [DIR]", "change the current directory", cmd_cd},
    {"pwd", "pwd", "print the current directory", cmd_pwd},
    {"ifconfig", "ifconfig [IP/PREFIX [GATEWAY] | dhcp]", "show or set the network address",
     cmd_ifconfig},
    {"dhcp", "dhcp", "get an address by DHCP again and wait for it", cmd_dhcp},
    {"ping", "ping IP [COUNT]", "ICMP echo round trips", cmd_ping},
    {"arp", "arp", "the ARP cache", cmd_arp},
    {"netstat", "netstat", "TCP connections and listeners, packet counters", cmd_netstat},
    {"fetch", "fetch http://IP[:PORT]/PATH [FILE]", "HTTP GET: show the body or save it",
     cmd_fetch},
    {"httpd", "httpd", "the web server's status", cmd_httpd},
    {NULL, NULL, NULL, NULL},
};

/* Split s into words in place; the count, or ERR_INVALID_ARG / ERR_TOO_LARGE. */
static int cmd_tokenize(char *s, char **argv, int max) {
    int argc = 0;
    char *out = s;
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            return argc;
        if (argc == max)
            return ERR_TOO_LARGE;
        argv[argc++] = out;
        bool quoted = false;
        for (; *s && (quoted || (*s != ' ' && *s != '\t')); s++) {
            if (*s == '"') {
                quoted = !quoted;
                continue;
            }
            if (quoted && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
                s++;
            *out++ = *s;
        }
        if (quoted)
            return ERR_INVALID_ARG;
        if (*s)
            s++;
        *out++ = '\0';
    }
}

static const struct command *cmd_find(const char *name) {
    for (const struct command *c = cmd_table; c->name; c++)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

void shell_execute(char *line) {
    char *argv[CMD_MAX_ARGS + 1];
    int argc = cmd_tokenize(line, argv, CMD_MAX_ARGS);
    if (argc == ERR_INVALID_ARG || argc == ERR_TOO_LARGE) {
        shell_printf("shell: %s\n", argc == ERR_INVALID_ARG ? "unterminated quote"
                                                            : "too many arguments");
        return;
    }
    if (argc == 0)
        return;
    argv[argc] = NULL;
    const struct command *c = cmd_find(argv[0]);
    if (!c) {
        shell_printf("unknown command: %s (try help)\n", argv[0]);
        return;
    }
    /* "command ... > FILE" writes the command's output to FILE. */
    const char *redirect = NULL;
    if (argc >= 3 && !strcmp(argv[argc - 2], ">")) {
        redirect = argv[argc - 1];
        argc -= 2;
        argv[argc] = NULL;
        shell_capture_begin();
    }
    error_t err = c->handler(argc, argv);
    if (redirect) {
        size_t len;
        bool overflow;
        const char *out = shell_capture_end(&len, &overflow);
        if (overflow)
            shell_printf("shell: output too large for %s: cut to %lu bytes\n", redirect, len);
        error_t werr = fs_write_file(redirect, out, len);
        if (werr)
            shell_printf("%s: %s\n", redirect, err_name(werr));
    }
    if (err == CMD_USAGE)
        shell_printf("usage: %s\n", c->usage);
    else if (err)
        shell_printf("%s: %s\n", c->name, err_name(err));
}
