/*
 * Message passing: send, receive and call on channels, the payload moves
 * (channel and page payloads change owner, inline bytes are copied), the
 * kernel's own messages (pager requests) and the IPC fastpath.
 *
 * Delivery always goes through try_receive/deliver, which first check
 * everything that could fail (the sender's payloads, the receiver's page
 * window and channel table) and only then copy and move: a failed send
 * leaves both sides as they were.
 */
#include "process.h"
#include "memory.h"
#include "trace.h"

uint64_t ipc_fastpath_count, ipc_slowpath_count;

/* Copy the header and the inline payload (rounded up to 8 bytes): short
 * messages, the common case, cost a few moves, not 256 bytes. */
static inline void copy_message(struct message *dst, const struct message *src) {
    size_t qwords = (MSG_HEADER_SIZE + msg_len(src) + 7) / 8;
    void *d = dst;
    const void *s = src;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(qwords) : : "memory");
}

static struct message *sender_msg(const struct sender *s) {
    return s->thread ? &s->thread->info->ipc : (struct message *) s->kmsg;
}

/* Checks of the sender's own message that need no receiver. */
static error_t check_outgoing(struct process *p, const struct message *m, struct channel *ch) {
    if (msg_len(m) > MSG_INLINE_MAX)
        return ERR_BAD_MESSAGE;
    if (m->header & MSG_CHANNEL_BIT) {
        struct channel *c = channel_get(p, m->channel);
        if (!c)
            return ERR_INVALID_CID;
        if (c == ch || !list_is_empty(&c->group) || !list_is_empty(&c->receivers))
            return ERR_IN_USE;
    }
    if (m->header & MSG_PAGE_BIT)
        return vm_check_movable(&p->vm, m->page_addr, m->page_len);
    return OK;
}

/* Move the message of s into receiver t's buffer, payloads included. */
static error_t deliver(struct sender *s, struct thread *t) {
    struct message *src = sender_msg(s);
    struct process *sp = s->thread ? s->thread->proc : NULL, *rp = t->proc;
    uint32_t header = src->header;
    vaddr_t window = t->info->page_window;
    struct channel *moved = NULL;

    if (sp) {
        error_t err = check_outgoing(sp, src, s->thread->call_ch);
        if (err)
            return err;
    }
    if (header & MSG_CHANNEL_BIT) {
        moved = channel_get(sp, src->channel);
        bool room = false;
        for (cid_t cid = 1; cid < MAX_CIDS && !room; cid++)
            room = rp->cids[cid] == NULL;
        if (!room)
            return ERR_NO_RESOURCES;
    }
    if (header & MSG_PAGE_BIT) {
        if (src->page_len > t->info->page_window_len)
            return ERR_NOT_ACCEPTED;
        error_t err = vm_check_free(&rp->vm, window, src->page_len);
        if (err)
            return err;
    }

    /* Nothing can fail from here on. */
    struct message *dst = &t->info->ipc;
    copy_message(dst, src);
    dst->from = s->arrival->cid;
    if (moved) {
        channel_untransfer(moved);
        sp->cids[moved->cid] = NULL;
        channel_install(rp, moved);
        dst->channel = moved->cid;
    }
    if (header & MSG_PAGE_BIT) {
        vm_move(&sp->vm, src->page_addr, &rp->vm, window, src->page_len,
                PTE_WRITE | PTE_NX);
        dst->page_addr = window;
    }
    if (t->awaiting_request)
        t->serving = msg_type(dst);
    if (sp)
        sp->sent++;
    rp->received++;
    trace_message(TRACE_RECV, sp ? sp : &kernel_process, rp, s->arrival, dst);
    return OK;
}

static void build_notification(struct thread *t, struct channel *c) {
    struct message *m = &t->info->ipc;
    m->header = msg_header(MSG_NOTIFICATION, 0, 0);
    m->from = c->cid;
    m->notifications = c->pending;
    m->channel = 0;
    m->page_addr = m->page_len = 0;
    c->pending = 0;
    list_remove(&c->notified_node);
    if (t->awaiting_request)
        t->serving = MSG_NOTIFICATION;
    trace_message(TRACE_NOTIFY, &kernel_process, t->proc, c, m);
}

static void sender_done(struct sender *s, error_t result);

/*
 * Give t (which is about to wait on root) whatever is pending there:
 * notifications first, then the oldest sender. Returns false if nothing
 * could be received; otherwise t->wake_result says how it went.
 */
bool ipc_try_receive(struct thread *t, struct channel *root) {
    if (!list_is_empty(&root->notified)) {
        build_notification(t, container_of(root->notified.next, struct channel, notified_node));
        t->wake_result = OK;
        return true;
    }
    while (!list_is_empty(&root->senders)) {
        struct sender *s = container_of(list_pop_front(&root->senders), struct sender, node);
        error_t err = deliver(s, t);
        sender_done(s, err);
        if (err == OK) {
            t->wake_result = OK;
            return true;
        }
    }
    return false;
}

/* Block t receiving on root, unless something is there already. */
static void begin_receive(struct thread *t, struct channel *root) {
    if (ipc_try_receive(t, root)) {
        thread_wake(t, t->wake_result);
        return;
    }
    t->state = THREAD_RECV;
    t->wait_root = root;
    list_push_back(&root->receivers, &t->wait_node);
}

/* The message of s has been taken (err == OK) or refused. */
static void sender_done(struct sender *s, error_t err) {
    struct thread *t = s->thread;
    if (!t) {
        pager_sent(s, err);
        return;
    }
    list_init(&s->node);
    if (err == OK && (t->ipc_flags & IPC_RECV))
        begin_receive(t, channel_root(t->call_ch));
    else
        thread_wake(t, err);
}

/* Queue or deliver a kernel-built message through kernel end kch. */
error_t ipc_kernel_send(struct channel *kch, const struct message *m) {
    struct channel *arrival = kch->peer;
    if (!arrival)
        return ERR_PEER_CLOSED;
    kch->ksend.arrival = arrival;
    kch->ksend.thread = NULL;
    kch->ksend.kmsg = m;
    trace_message(TRACE_SEND, &kernel_process, arrival->owner, arrival, m);
    struct channel *root = channel_root(arrival);
    list_push_back(&root->senders, &kch->ksend.node);
    channel_kick(root);
    return OK;
}

void ipc_cancel_kernel_send(struct channel *kch) {
    list_remove(&kch->ksend.node);
}

/* Send cur's message on ch. *final says the result is the whole ipc's
 * (the thread blocked, and a call's receive phase completed meanwhile). */
static error_t do_send(struct thread *cur, struct channel *ch, unsigned flags, bool *final) {
    struct message *m = &cur->info->ipc;
    struct channel *peer = ch->peer;
    *final = false;
    if (!peer)
        return ch->was_linked ? ERR_PEER_CLOSED : ERR_NOT_LINKED;
    error_t err = check_outgoing(cur->proc, m, ch);
    if (err)
        return err;
    trace_message(TRACE_SEND, cur->proc, peer->owner, peer, m);

    struct channel *root = channel_root(peer);
    struct sender *s = &cur->send;
    s->arrival = peer;
    s->thread = cur;
    s->kmsg = NULL;
    cur->ipc_flags = flags;
    cur->call_ch = ch;
    if (!list_is_empty(&root->receivers)) {
        struct thread *r =
            container_of(list_pop_front(&root->receivers), struct thread, wait_node);
        err = deliver(s, r);
        if (err) {
            list_push_front(&root->receivers, &r->wait_node);
            return err;
        }
        thread_wake(r, OK);
        return OK;
    }
    if (flags & IPC_NOBLOCK)
        return ERR_WOULD_BLOCK;
    cur->state = THREAD_SEND;
    list_push_back(&root->senders, &s->node);
    sched_block();
    *final = true;
    return cur->wake_result;
}

static error_t do_receive(struct thread *cur, struct channel *ch, unsigned flags) {
    struct channel *root = channel_root(ch);
    if (ipc_try_receive(cur, root))
        return cur->wake_result;
    if (!ch->peer && ch->was_linked && root == ch && list_is_empty(&ch->group))
        return ERR_PEER_CLOSED;
    if (flags & IPC_NOBLOCK)
        return ERR_WOULD_BLOCK;
    cur->state = THREAD_RECV;
    cur->wait_root = root;
    list_push_back(&root->receivers, &cur->wait_node);
    sched_block();
    return cur->wake_result;
}

/*
 * The fastpath: a call on a linked channel, inline payload only, the
 * receiver already waiting, nothing pending for the caller, no I/O-port
 * bitmap to switch. Every check comes first; after them it copies the
 * message and returns straight to the receiver's user mode. Anything
 * unusual returns to take the general path.
 */
static inline void ipc_fastpath(struct thread *cur, cid_t cid) {
    if ((unsigned) cid >= MAX_CIDS)
        return;
    struct channel *ch = cur->proc->cids[cid];
    if (!ch || !ch->peer || ch->peer->kind != CH_USER)
        return;
    struct channel *peer = ch->peer;
    struct channel *root = channel_root(peer);
    struct channel *myroot = channel_root(ch);
    struct message *m = &cur->info->ipc;
    if (list_is_empty(&root->receivers) || !list_is_empty(&myroot->notified)
        || !list_is_empty(&myroot->senders) || (m->header & (MSG_PAGE_BIT | MSG_CHANNEL_BIT))
        || msg_len(m) > MSG_INLINE_MAX)
        return;
    struct thread *r = container_of(root->receivers.next, struct thread, wait_node);
    if (cur->proc->num_io | r->proc->num_io)
        return;

    /* Committed: nothing below can fail. */
    struct message *dst = &r->info->ipc;
    copy_message(dst, m);
    dst->from = peer->cid;
    if (r->awaiting_request)
        r->serving = msg_type(m);
    cur->awaiting_request = false;
    list_remove(&r->wait_node);
    cur->state = THREAD_RECV;
    cur->wait_root = myroot;
    list_push_back(&myroot->receivers, &cur->wait_node);
    cur->proc->sent++;
    r->proc->received++;
    ipc_fastpath_count++;
    trace_message(TRACE_FASTPATH, cur->proc, r->proc, peer, dst);
    sched_fastpath_switch(cur, r);
}

static error_t __attribute__((noinline)) ipc_slowpath(struct thread *cur, cid_t cid,
                                                      unsigned flags) {
    ipc_slowpath_count++;
    if ((flags & ~IPC_FLAGS_ALL) || !(flags & IPC_CALL))
        return ERR_INVALID_ARG;
    struct channel *ch = channel_get(cur->proc, cid);
    if (!ch)
        return ERR_INVALID_CID;
    cur->awaiting_request = !(flags & IPC_SEND); /* a server asks for its next request */
    if (flags & IPC_SEND) {
        struct channel *peer = ch->peer;
        bool final = false;
        error_t err;
        if (peer && peer->kind == CH_KSERVER)
            return kserver_call(cur, ch, peer);
        if (peer && peer->kind == CH_PAGER)
            err = pager_reply(cur, peer);
        else if (peer && peer->kind != CH_USER)
            err = ERR_NOT_SUPPORTED;
        else
            err = do_send(cur, ch, flags, &final);
        if (err || final || !(flags & IPC_RECV))
            return err;
        flags &= ~IPC_NOBLOCK; /* a call's receive phase always waits */
    }
    return do_receive(cur, ch, flags);
}

error_t ipc_syscall(cid_t cid, unsigned flags) {
    struct thread *cur = current;
    if ((flags & ~IPC_NOBLOCK) == IPC_CALL && !kopts.nofastpath)
        ipc_fastpath(cur, cid); /* does not return if it took the call */
    return ipc_slowpath(cur, cid, flags);
}
