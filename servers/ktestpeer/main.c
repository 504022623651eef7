/*
 * ktest's partner: a separate process serving the `test` interface, so the
 * in-guest system-call test can move pages and channels across address
 * spaces and watch what arrives on the other side.
 */
#include <user/server.h>
#include <idl.h>

static error_t echo(void *ctx, cid_t from, const void *data, size_t len, void *out,
                    size_t *out_len) {
    memcpy(out, data, len);
    *out_len = len;
    return OK;
}

static error_t take_pages(void *ctx, cid_t from, uint64_t addr, uint64_t len, uint64_t *sum,
                          uint64_t *where) {
    uint64_t s = 0;
    for (uint64_t i = 0; i < len; i++)
        s += ((const uint8_t *) addr)[i];
    *sum = s;
    *where = addr;
    ipc_free_pages(addr, len);
    return OK;
}

static error_t give_pages(void *ctx, cid_t from, uint64_t len, uint8_t fill, uint64_t *addr,
                          uint64_t *out_len) {
    uint64_t a, l;
    error_t err = memmgr_alloc_pages(CID_MEMMGR, len, 0, &a, &l);
    if (err)
        return err;
    memset((void *) a, fill, l);
    *addr = a;
    *out_len = l;
    return OK;
}

static error_t take_channel(void *ctx, cid_t from, cid_t ch, int32_t *result) {
    char reply[8];
    size_t len;
    error_t err = test_echo(ch, "ping", 4, reply, &len);
    if (!err && (len != 4 || memcmp(reply, "ping", 4)))
        err = ERR_BAD_MESSAGE;
    sys_close(ch);
    *result = err;
    return OK;
}

static error_t quit(void *ctx, cid_t from) {
    struct message m;
    test_quit_reply(&m);
    server_reply(from, &m);
    exit(0);
}

static const struct test_server_ops ops = {
    .echo = echo,
    .take_pages = take_pages,
    .give_pages = give_pages,
    .take_channel = take_channel,
    .quit = quit,
};

static bool dispatch(struct server *s, const struct message *m, struct message *reply) {
    return test_dispatch(&ops, s, m, reply);
}

int main(void) {
    program_name = "ktestpeer";
    static struct server s = {.dispatch = dispatch};
    error_t err = server_init(&s, "ktestpeer");
    if (err) {
        printf("ktestpeer: cannot register: %s\n", err_name(err));
        return 1;
    }
    server_run(&s);
}
