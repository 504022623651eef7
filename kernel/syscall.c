/*
 * The six system calls. Each validates its arguments before it changes
 * anything; an invalid cid is ERR_INVALID_CID, never a fault.
 */
#include "process.h"

static error_t sys_open(void) {
    struct channel *c = channel_alloc(current->proc, CH_USER);
    if (!c)
        return ERR_NO_RESOURCES;
    if (channel_install(current->proc, c) != OK) {
        channel_free(c);
        return ERR_NO_RESOURCES;
    }
    return c->cid;
}

static error_t sys_close(cid_t cid) {
    struct channel *c = channel_get(current->proc, cid);
    if (!c)
        return ERR_INVALID_CID;
    channel_close(c);
    return OK;
}

static error_t sys_link(cid_t a, cid_t b) {
    struct channel *ca = channel_get(current->proc, a);
    struct channel *cb = channel_get(current->proc, b);
    if (!ca || !cb)
        return ERR_INVALID_CID;
    if (ca == cb)
        return ERR_INVALID_ARG;
    if (ca->was_linked || cb->was_linked)
        return ERR_ALREADY_EXISTS;
    channel_link(ca, cb);
    return OK;
}

static error_t sys_transfer(cid_t src, cid_t dst) {
    struct channel *cs = channel_get(current->proc, src);
    if (!cs)
        return ERR_INVALID_CID;
    if (dst == 0) {
        channel_untransfer(cs);
        return OK;
    }
    struct channel *cd = channel_get(current->proc, dst);
    if (!cd)
        return ERR_INVALID_CID;
    return channel_transfer(cs, cd);
}

#define NOTIFY_KERNEL_BITS (NOTIFY_PEER_CLOSED | NOTIFY_IRQ | NOTIFY_TIMER | NOTIFY_POOL_LOW)

static error_t sys_notify(cid_t cid, notification_t bits) {
    struct channel *c = channel_get(current->proc, cid);
    if (!c)
        return ERR_INVALID_CID;
    if (bits == 0 || (bits & NOTIFY_KERNEL_BITS))
        return ERR_INVALID_ARG;
    if (!c->peer)
        return c->was_linked ? ERR_PEER_CLOSED : ERR_NOT_LINKED;
    if (c->peer->kind != CH_USER)
        return ERR_NOT_SUPPORTED;
    channel_notify(c->peer, bits);
    return OK;
}

long syscall_handler(uint64_t a0, uint64_t a1, uint64_t a2 UNUSED, uint64_t nr) {
    switch (nr) {
    case SYS_IPC: return ipc_syscall((cid_t) a0, (unsigned) a1);
    case SYS_OPEN: return sys_open();
    case SYS_CLOSE: return sys_close((cid_t) a0);
    case SYS_LINK: return sys_link((cid_t) a0, (cid_t) a1);
    case SYS_TRANSFER: return sys_transfer((cid_t) a0, (cid_t) a1);
    case SYS_NOTIFY: return sys_notify((cid_t) a0, (notification_t) a1);
    default: return ERR_INVALID_ARG;
    }
}
