/*
 * The server loop (server.h). A request that gets an error reply has its
 * payloads (channel, pages) dropped here, so handlers that fail must not
 * consume them themselves. Replies go out with IPC_SEND | IPC_RECV |
 * IPC_NOBLOCK on the client's channel: the reply never waits for a client
 * that is not listening, and the same system call receives the next
 * request on the main channel (the client channel is transferred there).
 */
#include <user/server.h>
#include <idl.h>

void ipc_discard(const struct message *m);

error_t server_init(struct server *s, const char *name) {
    s->name = NULL;
    s->listen = 0;
    s->main = sys_open();
    if (s->main < 0)
        return s->main;
    return name ? server_register(s, name) : OK;
}

error_t server_register(struct server *s, const char *name) {
    s->name = name;
    cid_t mine = sys_open(), theirs = sys_open();
    if (mine < 0 || theirs < 0)
        return ERR_NO_RESOURCES;
    error_t err = sys_link(mine, theirs);
    if (!err)
        err = sys_transfer(mine, s->main);
    if (!err)
        err = ns_register(CID_MEMMGR, name, theirs);
    if (err)
        return err;
    s->listen = mine;
    return OK;
}

error_t server_watch(struct server *s, cid_t ch) {
    return sys_transfer(ch, s->main);
}

/* A reply did not reach its client. Its payloads are still ours: drop them.
 * If the client is waiting but could not take the payloads (its window or
 * table, or the kernel's page-table pool), tell it with an error reply
 * rather than leave it waiting for ever. */
static void reply_failed(cid_t to, const struct message *reply, error_t err) {
    ipc_discard(reply);
    bool had_payload = reply->header & (MSG_PAGE_BIT | MSG_CHANNEL_BIT);
    if (had_payload && err != ERR_WOULD_BLOCK && err != ERR_PEER_CLOSED) {
        struct message e;
        idl_error_reply(&e, msg_type(reply) & ~MSG_REPLY_FLAG, err);
        ipc_send_noblock(to, &e);
    }
}

error_t server_reply(cid_t to, struct message *reply) {
    error_t err = ipc_send_noblock(to, reply);
    if (err)
        reply_failed(to, reply, err);
    return err;
}

static void accept_clients(struct server *s) {
    cid_t ch;
    while (ns_accept(CID_MEMMGR, &ch) == OK) {
        if (sys_transfer(ch, s->main) != OK)
            sys_close(ch);
    }
}

static void handle_notification(struct server *s, const struct message *m) {
    notification_t bits = m->notifications;
    if (m->from == s->listen && (bits & NOTIFY_NS_CONNECT))
        accept_clients(s);
    bits &= ~NOTIFY_NS_CONNECT;
    if ((bits & NOTIFY_PEER_CLOSED) && m->from != s->listen) {
        if (s->closed)
            s->closed(s, m->from);
        sys_close(m->from);
    }
    bits &= ~NOTIFY_PEER_CLOSED;
    if (bits && s->notify)
        s->notify(s, m->from, bits);
}

void server_run(struct server *s) {
    struct message *buf = ipc_buffer();
    struct message req, reply = {.header = 0};
    error_t err = sys_ipc(s->main, IPC_RECV);
    for (;;) {
        if (err) {
            if (err != ERR_ABORTED && reply.header)
                reply_failed(req.from, &reply, err);
            reply.header = 0;
            err = sys_ipc(s->main, IPC_RECV);
            continue;
        }
        ipc_received(buf);
        memcpy(&req, buf, MSG_SIZE);
        reply.header = 0;
        uint32_t type = msg_type(&req);
        if (type == MSG_NOTIFICATION) {
            handle_notification(s, &req);
        } else if (MSG_IS_REPLY(type)) {
            ipc_discard(&req); /* nobody asked: drop it */
        } else if (!s->dispatch(s, &req, &reply)) {
            ipc_discard(&req);
            idl_error_reply(&reply, type, ERR_NOT_SUPPORTED);
        } else if (msg_is_error(&reply)) {
            ipc_discard(&req); /* a refused request's payloads are ours to drop */
        }
        if (!reply.header) {
            err = sys_ipc(s->main, IPC_RECV);
            continue;
        }
        memcpy(buf, &reply, MSG_HEADER_SIZE + msg_len(&reply));
        err = sys_ipc(req.from, IPC_SEND | IPC_RECV | IPC_NOBLOCK);
    }
}
