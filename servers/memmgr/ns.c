/*
 * The name service. A server registers a name with the end of a channel
 * pair (listen). A lookup makes a new linked pair: one end goes to the
 * client in the reply, the other waits here until the server, told by
 * NOTIFY_NS_CONNECT on listen, takes it with ns.accept. A lookup of a name
 * not registered yet waits (deferred reply) until it is.
 *
 * A name registered by a supervised program stays reserved for that
 * program when its process dies: only a later instance of the program may
 * register it again, so nobody can take "fs" while fat restarts (lookups
 * of it wait meanwhile).
 */
#include "memmgr.h"

#define MAX_SERVICES 32
#define MAX_PENDING  16
#define MAX_LOOKUPS  32

struct service {
    char name[32];
    int32_t pid;                /* 0: free, or reserved for owner */
    const struct program *owner; /* a supervised program's name */
    cid_t listen;
    cid_t pending[MAX_PENDING]; /* server ends not accepted yet */
    int num_pending;
};

static struct service services[MAX_SERVICES];
static struct {
    cid_t from;
    char name[32];
} lookups[MAX_LOOKUPS];

static struct service *service_find(const char *name) {
    for (int i = 0; i < MAX_SERVICES; i++)
        if (services[i].pid && !strcmp(services[i].name, name))
            return &services[i];
    return NULL;
}

/* The entry of a name that waits for its supervised program to return. */
static struct service *reservation_find(const char *name) {
    for (int i = 0; i < MAX_SERVICES; i++)
        if (!services[i].pid && services[i].owner && !strcmp(services[i].name, name))
            return &services[i];
    return NULL;
}

/* A new connection to s; returns the client's end. */
static error_t connect(struct service *s, cid_t *client_end) {
    if (s->num_pending == MAX_PENDING)
        return ERR_NO_RESOURCES;
    cid_t a = sys_open(), b = sys_open();
    error_t err = (a < 0) ? a : (b < 0) ? b : sys_link(a, b);
    if (err) {
        if (a > 0)
            sys_close(a);
        if (b > 0)
            sys_close(b);
        return err;
    }
    s->pending[s->num_pending++] = b;
    sys_notify(s->listen, NOTIFY_NS_CONNECT);
    *client_end = a;
    return OK;
}

static void answer_waiting_lookups(struct service *s) {
    for (int i = 0; i < MAX_LOOKUPS; i++) {
        if (!lookups[i].from || strcmp(lookups[i].name, s->name))
            continue;
        struct message m;
        cid_t ch;
        error_t err = connect(s, &ch);
        if (err)
            idl_error_reply(&m, NS_LOOKUP_MSG, err);
        else
            ns_lookup_reply(&m, ch);
        server_reply(lookups[i].from, &m);
        lookups[i].from = 0;
    }
}

static error_t ns_register_h(void *ctx, cid_t from, const char *name, cid_t listen) {
    struct proc *p = proc_by_client(from);
    if (!p)
        return ERR_NOT_PERMITTED;
    if (!name[0] || service_find(name))
        return name[0] ? ERR_ALREADY_EXISTS : ERR_INVALID_ARG;
    struct service *s = reservation_find(name);
    if (s && s->owner != p->program)
        return ERR_NOT_PERMITTED;
    for (int i = 0; i < MAX_SERVICES && !s; i++)
        if (!services[i].pid && !services[i].owner)
            s = &services[i];
    if (!s)
        return ERR_NO_RESOURCES; /* the server loop closes listen */
    memset(s, 0, sizeof(*s));
    strcpy_safe(s->name, name, sizeof(s->name));
    s->pid = p->pid;
    s->owner = p->supervised ? p->program : NULL;
    s->listen = listen;
    answer_waiting_lookups(s);
    return OK;
}

static error_t ns_lookup_h(void *ctx, cid_t from, const char *name, cid_t *ch) {
    if (!name[0])
        return ERR_INVALID_ARG;
    struct service *s = service_find(name);
    if (s)
        return connect(s, ch);
    for (int i = 0; i < MAX_LOOKUPS; i++) {
        if (!lookups[i].from) {
            lookups[i].from = from;
            strcpy_safe(lookups[i].name, name, sizeof(lookups[i].name));
            return IDL_DEFER_REPLY;
        }
    }
    return ERR_NO_RESOURCES;
}

static error_t ns_find_h(void *ctx, cid_t from, const char *name, cid_t *ch) {
    struct service *s = name[0] ? service_find(name) : NULL;
    return s ? connect(s, ch) : name[0] ? ERR_NOT_FOUND : ERR_INVALID_ARG;
}

static error_t ns_accept_h(void *ctx, cid_t from, cid_t *ch) {
    struct proc *p = proc_by_client(from);
    for (int i = 0; p && i < MAX_SERVICES; i++) {
        struct service *s = &services[i];
        if (s->pid == p->pid && s->num_pending > 0) {
            *ch = s->pending[0];
            memmove(&s->pending[0], &s->pending[1], --s->num_pending * sizeof(cid_t));
            return OK;
        }
    }
    return ERR_NOT_FOUND;
}

/* The server died: its names go (a supervised program's stay reserved for
 * it), and so do the connections it never took. */
void ns_process_gone(int32_t pid) {
    for (int i = 0; i < MAX_SERVICES; i++) {
        struct service *s = &services[i];
        if (s->pid != pid)
            continue;
        for (int j = 0; j < s->num_pending; j++)
            sys_close(s->pending[j]);
        if (s->listen)
            sys_close(s->listen);
        s->pid = 0;
        s->listen = 0;
        s->num_pending = 0;
    }
}

/* A client that waited in lookup is gone, or a listen channel closed. */
void ns_channel_closed(cid_t from) {
    for (int i = 0; i < MAX_LOOKUPS; i++)
        if (lookups[i].from == from)
            lookups[i].from = 0;
    for (int i = 0; i < MAX_SERVICES; i++)
        if (services[i].pid && services[i].listen == from)
            services[i].listen = 0;
}

const struct ns_server_ops ns_ops = {
    .register_ = ns_register_h,
    .lookup = ns_lookup_h,
    .accept = ns_accept_h,
    .find = ns_find_h,
};
