/*
 * IPC helpers on the thread's buffer, and the per-thread page window: each
 * thread names a fresh, unmapped 4 MiB window where the next page payload
 * it receives is mapped; once one arrives the thread moves on to the next.
 */
#include <user/user.h>
#include <idl.h>

#define WINDOW_SIZE (4ULL * 1024 * 1024)

static uint64_t window_next = USER_WINDOW_BASE;

void ipc_new_window(void) {
    struct thread_info *ti = thread_info();
    ti->page_window = __atomic_fetch_add(&window_next, WINDOW_SIZE, __ATOMIC_RELAXED);
    ti->page_window_len = WINDOW_SIZE;
}

void ipc_received(const struct message *m) {
    if (m->header & MSG_PAGE_BIT)
        ipc_new_window();
}

/* Weak: memmgr, which owns free memory, keeps such pages itself. */
__attribute__((weak)) error_t ipc_free_pages(uint64_t addr, uint64_t len) {
    return memmgr_free_pages(CID_MEMMGR, addr, len);
}

/* Drop payloads nobody asked for: close the channel, return the pages. */
void ipc_discard(const struct message *m) {
    cid_t ch = (m->header & MSG_CHANNEL_BIT) ? m->channel : 0;
    uint64_t addr = m->page_addr, len = m->page_len;
    bool pages = (m->header & MSG_PAGE_BIT) != 0;
    if (ch)
        sys_close(ch);
    if (pages)
        ipc_free_pages(addr, len);
}

error_t ipc_call_checked(cid_t ch, uint32_t reply_type, uint32_t reply_len,
                         uint32_t reply_flags) {
    struct message *m = ipc_buffer();
    error_t err = sys_ipc(ch, IPC_CALL);
    if (err)
        return err;
    ipc_received(m);
    uint32_t type = msg_type(m);
    if (type == MSG_NOTIFICATION)
        return (m->notifications & NOTIFY_PEER_CLOSED) ? ERR_PEER_CLOSED : ERR_UNEXPECTED;
    if (type == reply_type && msg_is_error(m)) {
        err = msg_error(m);
    } else if (type != reply_type || msg_len(m) != reply_len
               || (m->header & (MSG_PAGE_BIT | MSG_CHANNEL_BIT)) != reply_flags) {
        err = ERR_BAD_MESSAGE;
    }
    if (err)
        ipc_discard(m);
    return err;
}

error_t ipc_send_buffer(cid_t ch) {
    return sys_ipc(ch, IPC_SEND);
}

static void load(const struct message *m) {
    memcpy(ipc_buffer(), m, MSG_HEADER_SIZE + MIN(msg_len(m), MSG_INLINE_MAX));
}

static error_t finish_receive(error_t err, struct message *m) {
    if (err == OK) {
        ipc_received(ipc_buffer());
        memcpy(m, ipc_buffer(), MSG_SIZE);
    }
    return err;
}

error_t ipc_call(cid_t ch, struct message *m) {
    load(m);
    return finish_receive(sys_ipc(ch, IPC_CALL), m);
}

error_t ipc_send(cid_t ch, const struct message *m) {
    load(m);
    return sys_ipc(ch, IPC_SEND);
}

error_t ipc_send_noblock(cid_t ch, const struct message *m) {
    load(m);
    return sys_ipc(ch, IPC_SEND | IPC_NOBLOCK);
}

error_t ipc_recv(cid_t ch, struct message *m) {
    return finish_receive(sys_ipc(ch, IPC_RECV), m);
}

error_t ipc_poll(cid_t ch, struct message *m) {
    return finish_receive(sys_ipc(ch, IPC_RECV | IPC_NOBLOCK), m);
}
