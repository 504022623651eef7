/*
 * memmgr start-up and message loop. Every channel memmgr serves (each
 * process's CID_MEMMGR end and pager end) is transferred to one main
 * channel; requests are dispatched to the pager, name-service and memmgr
 * interfaces.
 */
#include "memmgr.h"

cid_t memmgr_main;
static const struct boot_info *boot_info = (const void *) USER_BOOTINFO;

const uint8_t *initfs_lookup(const char *name, uint64_t *size) {
    const struct initfs_header *h = (const void *) USER_INITFS_BASE;
    const struct initfs_file *f = (const void *) (h + 1);
    if (h->magic != INITFS_MAGIC)
        return NULL;
    for (uint32_t i = 0; i < h->num_files; i++) {
        if (!strncmp(f[i].name, name, INITFS_NAME_MAX)) {
            if (f[i].offset > boot_info->initfs_size
                || f[i].size > boot_info->initfs_size - f[i].offset)
                return NULL;
            *size = f[i].size;
            return (const uint8_t *) USER_INITFS_BASE + f[i].offset;
        }
    }
    return NULL;
}

static bool dispatch(struct server *s, const struct message *m, struct message *reply) {
    return pager_dispatch(&pager_ops, s, m, reply) || ns_dispatch(&ns_ops, s, m, reply)
           || memmgr_dispatch(&memmgr_ops, s, m, reply);
}

/* The kernel's page pool runs low: give it a MiB. Or the supervisor's
 * timer: a restart is due. */
static void notified(struct server *s, cid_t from, notification_t bits) {
    if (bits & NOTIFY_TIMER)
        supervisor_timer(from);
    if (from == CID_KERNEL_EVENTS && (bits & NOTIFY_POOL_LOW)) {
        error_t err = pages_donate(256);
        if (err)
            printf("memmgr: cannot refill the kernel page pool: %s\n", err_name(err));
    }
}

static void closed(struct server *s, cid_t from) {
    proc_channel_closed(from);
    ns_channel_closed(from);
}

/* The value of `key=` on the kernel command line, copied into buf. */
static bool cmdline_value(const char *key, char *buf, size_t size) {
    size_t n = strlen(key);
    for (const char *p = boot_info->cmdline; *p; p++) {
        if ((p == boot_info->cmdline || p[-1] == ' ') && !strncmp(p, key, n) && p[n] == '=') {
            size_t i = 0;
            for (p += n + 1; *p && *p != ' ' && i < size - 1; p++)
                buf[i++] = *p;
            buf[i] = '\0';
            return true;
        }
    }
    return false;
}

/* A boot program's arguments from the kernel command line: every word
 * NAME.KEY=VALUE becomes KEY=VALUE (tcpip.ip=10.0.0.5/24 gives tcpip
 * "ip=10.0.0.5/24"). */
static void cmdline_args(const char *name, char *buf, size_t size) {
    size_t n = strlen(name), len = 0;
    buf[0] = '\0';
    for (const char *p = boot_info->cmdline; *p; p++) {
        if ((p != boot_info->cmdline && p[-1] != ' ') || strncmp(p, name, n) || p[n] != '.')
            continue;
        const char *word = p + n + 1, *end = word;
        while (*end && *end != ' ')
            end++;
        size_t wlen = (size_t) (end - word);
        if (len + wlen + 2 > size) {
            printf("memmgr: %s: arguments longer than %zu bytes, \"%.*s\" dropped\n", name,
                   size - 1, (int) wlen, word);
            continue;
        }
        if (len)
            buf[len++] = ' ';
        memcpy(buf + len, word, wlen);
        len += wlen;
        buf[len] = '\0';
    }
}

static void start(const char *name) {
    int32_t pid;
    char args[128];
    cmdline_args(name, args, sizeof(args));
    error_t err = proc_spawn(name, args, &pid);
    if (err)
        printf("memmgr: cannot start %s: %s\n", name, err_name(err));
}

/* The manifest's boot programs, then those named by autostart=a,b,... */
static void start_programs(void) {
    char list[128];
    for (int i = 0; i < num_programs; i++)
        if (programs[i].boot)
            start(programs[i].name);
    if (!cmdline_value("autostart", list, sizeof(list)))
        return;
    for (char *name = list; *name;) {
        char *comma = strchr(name, ',');
        if (comma)
            *comma = '\0';
        if (*name)
            start(name);
        if (!comma)
            break;
        name = comma + 1;
    }
}

int main(void) {
    program_name = "memmgr";
    pages_init(boot_info);
    uint64_t size;
    const uint8_t *manifest = initfs_lookup("manifest", &size);
    if (!manifest)
        panic_user("no boot manifest in the initfs");
    num_programs = manifest_load((const char *) manifest, size, programs, MAX_PROGRAMS);

    static struct server server = {.dispatch = dispatch, .notify = notified, .closed = closed};
    if (server_init(&server, NULL) != OK || server_watch(&server, CID_KERNEL_EVENTS) != OK)
        panic_user("cannot open the main channel");
    memmgr_main = server.main;
    supervisor_init(&server);
    printf("memmgr: %lu MiB free, %d programs in the manifest\n",
           pages_free_count() / 256, num_programs);
    start_programs();
    server_run(&server);
}
