/*
 * Channels: endpoints in a process's table (small integer cids), linked in
 * pairs. A channel may be transferred to a "root" in the same process; a
 * root keeps, for itself and its members, the FIFO of waiting senders, the
 * members with pending notification bits and the threads receiving on it.
 */
#include "process.h"

static struct channel channels[MAX_CHANNELS];
static unsigned channels_used;

void channel_init(void) {
    for (int i = 0; i < MAX_CHANNELS; i++)
        channels[i].kind = CH_FREE;
}

struct channel *channel_alloc(struct process *owner, enum channel_kind kind) {
    for (int i = 0; i < MAX_CHANNELS; i++) {
        struct channel *c = &channels[i];
        if (c->kind != CH_FREE)
            continue;
        memset(c, 0, sizeof(*c));
        c->kind = kind;
        c->owner = owner;
        list_init(&c->group);
        list_init(&c->group_node);
        list_init(&c->notified);
        list_init(&c->notified_node);
        list_init(&c->senders);
        list_init(&c->receivers);
        list_init(&c->ksend.node);
        channels_used++;
        return c;
    }
    return NULL;
}

/* Return a channel that was never linked or installed to the pool. */
void channel_free(struct channel *c) {
    if (c) {
        c->kind = CH_FREE;
        channels_used--;
    }
}

unsigned channel_count(void) {
    return channels_used;
}

/* Put c into p's table at the lowest free cid. */
error_t channel_install(struct process *p, struct channel *c) {
    for (cid_t cid = 1; cid < MAX_CIDS; cid++) {
        if (!p->cids[cid]) {
            p->cids[cid] = c;
            c->owner = p;
            c->cid = cid;
            return OK;
        }
    }
    return ERR_NO_RESOURCES;
}

struct channel *channel_get(struct process *p, cid_t cid) {
    if (cid <= 0 || cid >= MAX_CIDS)
        return NULL;
    return p->cids[cid];
}

void channel_link(struct channel *a, struct channel *b) {
    a->peer = b;
    b->peer = a;
    a->was_linked = b->was_linked = true;
}

/* Move c's queued senders and pending bits from old root to new root. */
static void move_queued(struct channel *c, struct channel *from, struct channel *to) {
    LIST_FOR_EACH_SAFE(s, &from->senders, struct sender, node) {
        if (s->arrival == c) {
            list_remove(&s->node);
            list_push_back(&to->senders, &s->node);
        }
    }
    if (c->pending) {
        list_remove(&c->notified_node);
        list_push_back(&to->notified, &c->notified_node);
    }
}

error_t channel_transfer(struct channel *src, struct channel *dst) {
    if (src == dst || dst->transfer_to || !list_is_empty(&src->group))
        return ERR_LOOP;
    if (!list_is_empty(&src->receivers))
        return ERR_IN_USE;
    channel_untransfer(src);
    move_queued(src, src, dst);
    src->transfer_to = dst;
    list_push_back(&dst->group, &src->group_node);
    channel_kick(dst);
    return OK;
}

void channel_untransfer(struct channel *c) {
    struct channel *root = c->transfer_to;
    if (!root)
        return;
    move_queued(c, root, c);
    list_remove(&c->group_node);
    c->transfer_to = NULL;
}

/* Wake receivers of root while something is there for them. */
void channel_kick(struct channel *root) {
    while (!list_is_empty(&root->receivers)
           && (!list_is_empty(&root->notified) || !list_is_empty(&root->senders))) {
        struct thread *t =
            container_of(list_pop_front(&root->receivers), struct thread, wait_node);
        if (ipc_try_receive(t, root))
            thread_wake(t, t->wake_result);
        else
            list_push_front(&root->receivers, &t->wait_node);
    }
}

void channel_notify(struct channel *c, notification_t bits) {
    struct channel *root = channel_root(c);
    if (!c->pending)
        list_push_back(&root->notified, &c->notified_node);
    c->pending |= bits;
    channel_kick(root);
}

/* Senders queued on c (c's own root list) fail; receivers are aborted. */
static void abort_waiters(struct channel *c) {
    LIST_FOR_EACH_SAFE(s, &c->senders, struct sender, node) {
        list_remove(&s->node);
        if (s->thread)
            thread_wake(s->thread, ERR_PEER_CLOSED);
    }
    while (!list_is_empty(&c->receivers)) {
        struct thread *t =
            container_of(list_pop_front(&c->receivers), struct thread, wait_node);
        thread_wake(t, ERR_ABORTED);
    }
}

/* Destroy c. Its peer loses its link and is told with NOTIFY_PEER_CLOSED. */
void channel_close(struct channel *c) {
    while (!list_is_empty(&c->group)) {
        struct channel *m = container_of(c->group.next, struct channel, group_node);
        channel_untransfer(m);
    }
    channel_untransfer(c);
    abort_waiters(c);
    if (c->pending)
        list_remove(&c->notified_node);
    list_remove(&c->ksend.node);
    if (c->kind == CH_USER && c->owner && c->owner->cids[c->cid] == c)
        c->owner->cids[c->cid] = NULL;
    if (c->kind != CH_USER)
        kserver_closed(c);

    struct channel *peer = c->peer;
    c->kind = CH_FREE;
    channels_used--;
    if (peer) {
        peer->peer = NULL;
        if (peer->kind == CH_USER)
            channel_notify(peer, NOTIFY_PEER_CLOSED);
        else
            channel_close(peer); /* a kernel end has no one else to serve */
    }
}
