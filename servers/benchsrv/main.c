/*
 * The server side of the IPC benchmark: registers "bench" and answers
 * bench.ping with an empty reply. Its loop is the shortest correct one: the
 * reply is written in place in the IPC buffer and sent with the receive of
 * the next request in one ipc (SEND | RECV | NOBLOCK on the client's
 * channel), which the kernel's fastpath handles; bench.ping_slow replies
 * with IPC_NOFASTPATH so both paths can be measured.
 */
#include <user/server.h>
#include <idl.h>

void ipc_discard(const struct message *m);

static void accept_clients(cid_t main_ch) {
    cid_t ch;
    while (ns_accept(CID_MEMMGR, &ch) == OK)
        if (sys_transfer(ch, main_ch) != OK)
            sys_close(ch);
}

int main(void) {
    program_name = "benchsrv";
    struct server s = {0};
    error_t err = server_init(&s, "bench");
    if (err) {
        printf("benchsrv: cannot register: %s\n", err_name(err));
        return 1;
    }
    struct message *m = ipc_buffer();
    err = sys_ipc(s.main, IPC_RECV);
    for (;;) {
        if (err) {
            err = sys_ipc(s.main, IPC_RECV);
            continue;
        }
        uint32_t type = msg_type(m);
        cid_t from = m->from;
        unsigned extra = 0;
        if (type == BENCH_PING_MSG) {
            m->header = msg_header(BENCH_PING_REPLY_MSG, 0, 0);
        } else if (type == BENCH_PING_SLOW_MSG) {
            m->header = msg_header(BENCH_PING_SLOW_REPLY_MSG, 0, 0);
            extra = IPC_NOFASTPATH;
        } else {
            if (type == MSG_NOTIFICATION && (m->notifications & NOTIFY_NS_CONNECT))
                accept_clients(s.main);
            else if (type == MSG_NOTIFICATION && (m->notifications & NOTIFY_PEER_CLOSED))
                sys_close(from);
            else if (type != MSG_NOTIFICATION)
                ipc_discard(m);
            err = sys_ipc(s.main, IPC_RECV);
            continue;
        }
        err = sys_ipc(from, IPC_SEND | IPC_RECV | IPC_NOBLOCK | extra);
    }
}
