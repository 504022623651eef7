/*
 * The server loop: a server supplies a dispatch function (usually the
 * generated <iface>_dispatch) and optional notification handlers; the
 * library registers the name, accepts clients, receives, dispatches,
 * replies without ever blocking on a client, and closes dead clients.
 */
#pragma once

#include <user/user.h>

struct server;

/* Handle one request. Return false if the type is not understood (the
 * library then replies ERR_NOT_SUPPORTED). Fill reply or leave its header
 * 0 (oneway message or a deferred reply). */
typedef bool (*server_dispatch_fn)(struct server *s, const struct message *req,
                                   struct message *reply);

struct server {
    const char *name;
    cid_t main;   /* every client channel is transferred here */
    cid_t listen; /* the name-service channel pair end (NOTIFY_NS_CONNECT) */
    server_dispatch_fn dispatch;
    /* Notification bits other than NS_CONNECT / PEER_CLOSED, from a channel
     * the server transferred to main (IRQ, timer, its own bits). */
    void (*notify)(struct server *s, cid_t from, notification_t bits);
    /* A client's channel closed; the library closes `from` afterwards. */
    void (*closed)(struct server *s, cid_t from);
    void *ctx;
};

/* Open the main channel and register name (NULL: no registration). */
error_t server_init(struct server *s, const char *name);
/* Register name later (a server that must set itself up before clients
 * can find it). */
error_t server_register(struct server *s, const char *name);
/* Receive on main forever. */
NORETURN void server_run(struct server *s);
/* Send a deferred reply (never blocks; a client that is gone is ignored). */
error_t server_reply(cid_t to, struct message *reply);
/* Deliver what arrives at ch (an IRQ or timer channel, a client) to main. */
error_t server_watch(struct server *s, cid_t ch);
