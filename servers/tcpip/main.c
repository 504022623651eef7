/*
 * The tcpip server: the `tcpip` interface (interfaces/tcpip.idl) over the
 * TCP/IP core (net.h), which reaches the wire through the seam this file
 * implements over the `net_device` interface (servers/e1000).
 *
 * Frames: two connections to "net". The first is attached (the driver
 * notifies it with NETDEV_NOTIFY_RX) and watched on the main channel; the
 * second carries the calls (receive/transmit), since a channel whose
 * arrivals go to main cannot also wait for its own replies. Received frames
 * come in a page buffer of slots that goes back and forth; frames the core
 * sends are collected in a transmit buffer that goes out after each event.
 *
 * The driver may die (and be restarted): its channels then close. The core
 * keeps its address, lease and sockets; frames to send are dropped, and the
 * timer looks "net" up again (ns.find, with backoff) until a driver with
 * the same MAC answers, so clients are served all the while.
 *
 * Time: one kernel timer, armed for the earliest of the core's deadline
 * and the clients' own (ping and wait timeouts).
 *
 * Clients: sockets are the core's ids, each owned by the client channel
 * that made it. A client has at most one call outstanding; a call that
 * cannot complete now is parked on the client (deferred reply) and tried
 * again whenever the core says the socket's events changed.
 */
#include <user/server.h>
#include <user/netdev.h>
#include <user/tcpip.h>
#include <idl.h>
#include "net.h"

#define MAX_CLIENTS   64
#define MAX_SOCKETS   256
#define SLOTS         64 /* frames per receive / transmit buffer (128 KiB) */
#define BUF_BYTES     (SLOTS * NETDEV_SLOT_SIZE)
#define PING_ID_BASE  0x4600
#define PAGES_MAX     (4ULL * 1024 * 1024)
#define DEV_RETRY_MIN_MS 50   /* first look for a new driver after one died */
#define DEV_RETRY_MAX_MS 500  /* then doubling up to this */

enum pending_kind {
    P_NONE,
    P_ACCEPT,
    P_CONNECT,
    P_SEND,
    P_SEND_PAGES,
    P_RECV,
    P_RECV_PAGES,
    P_UDP_RECV,
    P_PING,
    P_WAIT,
};

/* A call parked until it can complete. */
struct pending {
    enum pending_kind kind;
    uint32_t type;      /* the request's message type (for error replies) */
    int sock;
    uint32_t max;       /* recv: bytes wanted; send_pages: bytes to send */
    uint64_t addr, len; /* send_pages / recv_pages: the caller's pages */
    uint64_t offset;    /* send_pages: where the bytes start in the pages */
    uint64_t sent;      /* send_pages: bytes queued so far */
    uint8_t data[200];  /* send: the bytes */
    size_t data_len;
    uint16_t ping_id, ping_seq;
    uint64_t start_ns;  /* ping: when it went out */
    uint64_t deadline;  /* ms (core clock); 0: none */
};

struct client {
    cid_t ch; /* 0: free slot */
    struct pending p;
};

struct sock_owner {
    int sock; /* 0: free slot */
    cid_t owner;
    uint32_t watch;
};

struct tcpip {
    struct server srv;
    struct net *net;
    cid_t dev;      /* calls to the driver; 0 while there is none */
    cid_t dev_rx;   /* NETDEV_NOTIFY_RX arrives here (watched); 0 with dev */
    uint64_t dev_retry_at;        /* ms: next look for a driver (without one) */
    uint32_t dev_backoff_ms;
    error_t dev_last_err;         /* of the last look (logged when it changes) */
    cid_t timer;
    uint64_t timer_at;
    uint8_t mac[6];
    bool link_up;
    uint64_t rx_addr, rx_len;     /* receive buffer (0: lost, reallocate) */
    uint64_t tx_addr, tx_len;     /* transmit buffer */
    uint32_t tx_count;            /* frames waiting in it */
    uint64_t tx_dropped;          /* frames the driver did not take */
    uint16_t next_ping_id;
    uint32_t rng;
    uint32_t source;              /* TCPIP_SOURCE_* */
    struct client clients[MAX_CLIENTS];
    struct sock_owner socks[MAX_SOCKETS];
};

static struct tcpip tcpip;

/* ---- the seam ------------------------------------------------------------------ */

static error_t ensure_buffer(uint64_t *addr, uint64_t *len) {
    if (*len >= BUF_BYTES)
        return OK;
    error_t err = memmgr_alloc_pages(CID_MEMMGR, BUF_BYTES, 0, addr, len);
    if (err)
        *len = 0;
    return err;
}

/* After a failed call the buffer it carried is given up. An error reply
 * means the driver freed the pages; a call that never reached it (the
 * driver died) left them here, and then they are freed. Page windows are
 * never reused, so freeing pages that did leave is refused, harmlessly. */
static void drop_buffer(uint64_t addr, uint64_t *len) {
    if (*len)
        ipc_free_pages(addr, *len);
    *len = 0;
}

static void dev_lost(struct tcpip *t, error_t why);

/* Hand the collected frames to the driver (without one they are dropped). */
static void tx_flush(struct tcpip *t) {
    if (t->tx_count == 0)
        return;
    uint32_t sent = 0;
    error_t err = t->dev ? net_device_transmit(t->dev, t->tx_count, t->tx_addr, t->tx_len,
                                               &sent, &t->tx_addr, &t->tx_len)
                         : ERR_UNAVAILABLE;
    if (err) {
        if (err != ERR_UNAVAILABLE)
            drop_buffer(t->tx_addr, &t->tx_len);
        sent = 0;
    }
    t->tx_dropped += t->tx_count - sent;
    t->tx_count = 0;
    if (err == ERR_PEER_CLOSED)
        dev_lost(t, err);
}

static void seam_send(void *ctx, const void *frame, size_t len) {
    struct tcpip *t = ctx;
    if (len > NETDEV_FRAME_MAX)
        return;
    if (t->tx_count == SLOTS)
        tx_flush(t);
    if (ensure_buffer(&t->tx_addr, &t->tx_len)) {
        t->tx_dropped++;
        return;
    }
    struct netdev_slot *slot = netdev_slot((void *) t->tx_addr, t->tx_count++);
    slot->len = (uint32_t) len;
    memcpy(slot->frame, frame, len);
}

static uint64_t seam_now(void *ctx) {
    (void) ctx;
    return clock_ns() / 1000000;
}

static uint32_t seam_random(void *ctx) {
    struct tcpip *t = ctx;
    uint32_t x = t->rng ^ (uint32_t) rdtsc();
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    t->rng = x;
    return x;
}

static void seam_log(void *ctx, const char *line) {
    (void) ctx;
    printf("tcpip: %s\n", line);
}

/* ---- clients and sockets --------------------------------------------------------- */

static struct client *client_of(struct tcpip *t, cid_t ch, bool create) {
    struct client *free_slot = NULL;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (t->clients[i].ch == ch)
            return &t->clients[i];
        if (!t->clients[i].ch && !free_slot)
            free_slot = &t->clients[i];
    }
    if (!create || !free_slot)
        return NULL;
    *free_slot = (struct client){.ch = ch};
    return free_slot;
}

static struct sock_owner *owner_of(struct tcpip *t, int sock) {
    for (int i = 0; i < MAX_SOCKETS; i++)
        if (t->socks[i].sock == sock && sock > 0)
            return &t->socks[i];
    return NULL;
}

/* The socket sock if from owns it. */
static struct sock_owner *sock_of(struct tcpip *t, cid_t from, uint32_t sock) {
    struct sock_owner *o = sock <= INT32_MAX ? owner_of(t, (int) sock) : NULL;
    return o && o->owner == from ? o : NULL;
}

/* Record a new socket for from; on a full table the socket is closed. */
static int adopt(struct tcpip *t, cid_t from, int sock) {
    if (sock < 0)
        return sock;
    for (int i = 0; i < MAX_SOCKETS; i++) {
        if (!t->socks[i].sock) {
            t->socks[i] = (struct sock_owner){.sock = sock, .owner = from};
            return sock;
        }
    }
    tcp_abort(t->net, sock);
    udp_close(t->net, sock);
    return ERR_NO_RESOURCES;
}

/* Close a socket of any kind (the core has one close per protocol). */
static void drop_socket(struct tcpip *t, struct sock_owner *o, bool abort) {
    error_t err = abort ? tcp_abort(t->net, o->sock) : tcp_close(t->net, o->sock);
    if (err == ERR_NOT_FOUND || err == ERR_INVALID_ARG)
        udp_close(t->net, o->sock);
    o->sock = 0;
}

/* ---- parked calls -------------------------------------------------------------- */

static uint64_t now_ms(void) {
    return clock_ns() / 1000000;
}

/* Reply to a parked call and clear it. Pages still held are freed with
 * an error reply. */
static void finish(struct client *c, struct message *m, error_t err) {
    struct pending *p = &c->p;
    if (err) {
        if ((p->kind == P_SEND_PAGES || p->kind == P_RECV_PAGES) && p->len)
            ipc_free_pages(p->addr, p->len);
        idl_error_reply(m, p->type, err);
    }
    p->kind = P_NONE;
    server_reply(c->ch, m);
}

/* The error to give a call on a socket that cannot make progress. */
static error_t sock_failure(struct tcpip *t, int sock, error_t err) {
    if (err == ERR_WOULD_BLOCK || err == ERR_EOF)
        return err;
    error_t why = sock_error(t->net, sock);
    return why ? why : err;
}

/* The ready (sock, events) pairs of c's watched sockets; returns the count. */
static uint32_t ready_events(struct tcpip *t, struct client *c, uint32_t *pairs) {
    uint32_t n = 0;
    for (int i = 0; i < MAX_SOCKETS && n < TCPIP_WAIT_MAX; i++) {
        struct sock_owner *o = &t->socks[i];
        if (!o->sock || o->owner != c->ch || !o->watch)
            continue;
        int ev = sock_events(t->net, o->sock);
        if (ev < 0)
            ev = TCPIP_EV_ERROR | TCPIP_EV_HUP;
        if ((uint32_t) ev & o->watch) {
            pairs[2 * n] = (uint32_t) o->sock;
            pairs[2 * n + 1] = (uint32_t) ev;
            n++;
        }
    }
    return n;
}

/* Try to complete c's parked call; true if it completed (replied). When
 * timed_out, a call that still cannot complete ends with ERR_TIMEOUT (ping)
 * or an empty result (wait). */
static bool retry(struct tcpip *t, struct client *c, bool timed_out) {
    struct pending *p = &c->p;
    struct message m;
    int r;
    switch (p->kind) {
    case P_NONE:
        return false;
    case P_ACCEPT:
        r = tcp_accept(t->net, p->sock);
        if (r == ERR_WOULD_BLOCK)
            return false;
        if ((r = adopt(t, c->ch, r)) < 0) {
            finish(c, &m, r);
            return true;
        }
        struct net_sock_addr a;
        sock_addr(t->net, r, &a);
        tcpip_accept_reply(&m, (uint32_t) r, a.remote_ip, a.remote_port);
        finish(c, &m, OK);
        return true;
    case P_CONNECT: {
        int ev = sock_events(t->net, p->sock);
        if (ev >= 0 && (ev & TCPIP_EV_CONNECTED)) {
            tcpip_connect_reply(&m, (uint32_t) p->sock);
            finish(c, &m, OK);
            return true;
        }
        if (ev >= 0 && !(ev & (TCPIP_EV_ERROR | TCPIP_EV_HUP)))
            return false;
        error_t why = ev < 0 ? ERR_ABORTED : sock_error(t->net, p->sock);
        struct sock_owner *o = owner_of(t, p->sock);
        if (o)
            drop_socket(t, o, true);
        finish(c, &m, why ? why : ERR_ABORTED);
        return true;
    }
    case P_SEND:
        r = tcp_send(t->net, p->sock, p->data, p->data_len);
        if (r == ERR_WOULD_BLOCK)
            return false;
        if (r < 0)
            finish(c, &m, sock_failure(t, p->sock, r));
        else {
            tcpip_send_reply(&m, (uint32_t) r);
            finish(c, &m, OK);
        }
        return true;
    case P_SEND_PAGES:
        while (p->sent < p->max) {
            r = tcp_send(t->net, p->sock, (uint8_t *) p->addr + p->offset + p->sent,
                         p->max - p->sent);
            if (r == ERR_WOULD_BLOCK)
                return false;
            if (r < 0) {
                if (p->sent > 0)
                    break; /* report what went; the next call sees the error */
                finish(c, &m, sock_failure(t, p->sock, r));
                return true;
            }
            p->sent += (uint64_t) r;
        }
        tcpip_send_pages_reply(&m, p->sent, p->addr, p->len);
        finish(c, &m, OK);
        return true;
    case P_RECV: {
        uint8_t data[200];
        r = tcp_recv(t->net, p->sock, data, p->max);
        if (r == ERR_WOULD_BLOCK)
            return false;
        if (r < 0)
            finish(c, &m, sock_failure(t, p->sock, r));
        else {
            tcpip_recv_reply(&m, data, (size_t) r);
            finish(c, &m, OK);
        }
        return true;
    }
    case P_RECV_PAGES:
        r = tcp_recv(t->net, p->sock, (void *) p->addr, p->len);
        if (r == ERR_WOULD_BLOCK)
            return false;
        if (r < 0)
            finish(c, &m, sock_failure(t, p->sock, r));
        else {
            tcpip_recv_pages_reply(&m, (uint64_t) r, p->addr, p->len);
            finish(c, &m, OK);
        }
        return true;
    case P_UDP_RECV: {
        uint8_t data[192];
        uint32_t ip;
        uint16_t port;
        r = udp_recvfrom(t->net, p->sock, data, sizeof(data), &ip, &port);
        if (r == ERR_WOULD_BLOCK)
            return false;
        if (r < 0)
            finish(c, &m, r);
        else {
            tcpip_udp_recv_reply(&m, ip, port, data, (size_t) r);
            finish(c, &m, OK);
        }
        return true;
    }
    case P_PING: {
        uint32_t rtt_ms;
        error_t err = net_ping_poll(t->net, p->ping_id, p->ping_seq, &rtt_ms);
        if (err == ERR_WOULD_BLOCK && !timed_out)
            return false;
        if (err == OK) {
            tcpip_ping_reply(&m, (uint32_t) ((clock_ns() - p->start_ns) / 1000));
            finish(c, &m, OK);
        } else {
            finish(c, &m, err == ERR_WOULD_BLOCK ? ERR_TIMEOUT : err);
        }
        return true;
    }
    case P_WAIT: {
        uint32_t pairs[2 * TCPIP_WAIT_MAX];
        uint32_t n = ready_events(t, c, pairs);
        if (n == 0 && !timed_out)
            return false;
        tcpip_wait_reply(&m, n, pairs, n * 2 * sizeof(uint32_t));
        finish(c, &m, OK);
        return true;
    }
    }
    return false;
}

/* The client from, with no call parked: ERR_IN_USE if it has one (a
 * channel carries one call at a time, so that is a bug in the client),
 * ERR_NO_RESOURCES when the client table is full. */
static error_t idle_client(struct tcpip *t, cid_t from, struct client **out) {
    struct client *c = client_of(t, from, true);
    if (!c)
        return ERR_NO_RESOURCES;
    if (c->p.kind != P_NONE)
        return ERR_IN_USE;
    *out = c;
    return OK;
}

/* ---- the event loop's steps ------------------------------------------------------- */

/* Wake every parked call whose socket changed; retry parked waits too. */
static void deliver_events(struct tcpip *t) {
    int sock;
    uint32_t events;
    bool any = false;
    while (net_next_event(t->net, &sock, &events)) {
        any = true;
        struct sock_owner *o = owner_of(t, sock);
        if (!o)
            continue;
        struct client *c = client_of(t, o->owner, false);
        if (c && c->p.kind != P_NONE && (c->p.sock == sock || c->p.kind == P_WAIT))
            retry(t, c, false);
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &t->clients[i];
        if (c->ch && (c->p.kind == P_PING || (any && c->p.kind == P_WAIT)))
            retry(t, c, false);
    }
}

/* Time out parked calls whose deadline passed. */
static void expire(struct tcpip *t) {
    uint64_t now = now_ms();
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &t->clients[i];
        if (c->ch && c->p.kind != P_NONE && c->p.deadline && c->p.deadline <= now)
            retry(t, c, true);
    }
}

/* After anything happened: wake clients, send frames, re-arm the timer. */
static void settle(struct tcpip *t) {
    deliver_events(t);
    tx_flush(t);
    uint64_t at = net_next_deadline_ms(t->net);
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &t->clients[i];
        if (c->ch && c->p.kind != P_NONE && c->p.deadline && c->p.deadline < at)
            at = c->p.deadline;
    }
    if (!t->dev && t->dev_retry_at < at)
        at = t->dev_retry_at;
    if (at == t->timer_at)
        return;
    t->timer_at = at;
    if (at == NET_NO_DEADLINE) {
        kernel_timer_set(CID_KERNEL, t->timer, 0, 0);
        return;
    }
    uint64_t now = now_ms();
    uint64_t ms = at > now ? at - now : 1;
    error_t err = kernel_timer_set(CID_KERNEL, t->timer, ms * 1000000, 0);
    if (err)
        printf("tcpip: cannot arm the timer: %s\n", err_name(err));
}

/* ---- the driver ----------------------------------------------------------------- */

/* Make dev (calls) and rx (notifications) the driver's channels: read its
 * MAC (a later driver must have the core's), attach rx and watch it. On
 * failure both channels are closed. */
static error_t dev_attach(struct tcpip *t, cid_t dev, cid_t rx) {
    uint8_t mac[6];
    size_t mac_len;
    uint32_t link, mtu;
    error_t err = net_device_info(dev, mac, &mac_len, &link, &mtu);
    if (!err && t->net && memcmp(mac, t->mac, 6))
        err = ERR_NOT_SUPPORTED; /* the core's MAC is fixed: see docs/tcpip.md */
    if (!err)
        err = net_device_attach(rx);
    if (!err)
        err = server_watch(&t->srv, rx);
    if (err) {
        sys_close(dev);
        sys_close(rx);
        return err;
    }
    memcpy(t->mac, mac, 6);
    t->dev = dev;
    t->dev_rx = rx;
    t->link_up = link;
    t->dev_last_err = OK;
    return OK;
}

/* The driver is gone (its channel closed, or a call found it dead): drop
 * the frames waiting to go out and look for a new driver from the timer.
 * The core, its address and its sockets stay as they are. */
static void dev_lost(struct tcpip *t, error_t why) {
    if (!t->dev)
        return;
    printf("tcpip: lost the driver (%s); looking for \"net\" again\n", err_name(why));
    sys_close(t->dev); /* a close notification still pending on it goes too */
    if (t->dev_rx)
        sys_close(t->dev_rx);
    t->dev = t->dev_rx = 0;
    t->link_up = false;
    t->tx_dropped += t->tx_count;
    t->tx_count = 0;
    t->dev_backoff_ms = DEV_RETRY_MIN_MS;
    t->dev_retry_at = now_ms() + t->dev_backoff_ms;
}

static void receive_frames(struct tcpip *t);

/* Look for a driver (ns.find never waits); try again later if there is
 * none yet, or it will not do. */
static void dev_retry(struct tcpip *t) {
    cid_t dev, rx;
    error_t err = ns_find(CID_MEMMGR, "net", &dev);
    if (!err && (err = ns_find(CID_MEMMGR, "net", &rx)))
        sys_close(dev);
    if (!err)
        err = dev_attach(t, dev, rx);
    if (err) {
        if (err != ERR_NOT_FOUND && err != t->dev_last_err)
            printf("tcpip: cannot attach to the new driver: %s\n", err_name(err));
        t->dev_last_err = err;
        t->dev_backoff_ms = MIN(t->dev_backoff_ms * 2, DEV_RETRY_MAX_MS);
        t->dev_retry_at = now_ms() + t->dev_backoff_ms;
        return;
    }
    printf("tcpip: attached to the driver again, link %s\n", t->link_up ? "up" : "down");
    receive_frames(t);
}

/* Take every waiting frame: the driver notifies when frames arrive, not
 * while some are still waiting, so stopping early could stall the link. */
static void receive_frames(struct tcpip *t) {
    while (t->dev) {
        if (ensure_buffer(&t->rx_addr, &t->rx_len))
            return;
        uint32_t count = 0, more = 0;
        error_t err = net_device_receive(t->dev, t->rx_addr, t->rx_len, &count, &more,
                                         &t->rx_addr, &t->rx_len);
        if (err) {
            drop_buffer(t->rx_addr, &t->rx_len);
            if (err == ERR_PEER_CLOSED)
                dev_lost(t, err);
            else
                printf("tcpip: receive failed: %s\n", err_name(err));
            return;
        }
        for (uint32_t i = 0; i < count && i < t->rx_len / NETDEV_SLOT_SIZE; i++) {
            struct netdev_slot *slot = netdev_slot((void *) t->rx_addr, i);
            if (slot->len <= NETDEV_FRAME_MAX)
                net_input(t->net, slot->frame, slot->len);
        }
        deliver_events(t); /* let clients drain before the next batch */
        tx_flush(t);
        if (!more)
            return;
    }
}

static void on_notify(struct server *s, cid_t from, notification_t bits) {
    struct tcpip *t = s->ctx;
    bool dev = t->dev_rx && from == t->dev_rx;
    if (dev && (bits & NETDEV_NOTIFY_LINK)) {
        uint8_t mac[6];
        size_t mac_len;
        uint32_t link, mtu;
        error_t err = net_device_info(t->dev, mac, &mac_len, &link, &mtu);
        if (err == ERR_PEER_CLOSED) {
            dev_lost(t, err);
        } else if (!err && (bool) link != t->link_up) {
            t->link_up = link;
            printf("tcpip: link %s\n", link ? "up" : "down");
        }
    }
    if (dev && (bits & NETDEV_NOTIFY_RX))
        receive_frames(t);
    if (from == t->timer && (bits & NOTIFY_TIMER)) {
        t->timer_at = NET_NO_DEADLINE;
        net_tick(t->net);
        expire(t);
        if (!t->dev && now_ms() >= t->dev_retry_at)
            dev_retry(t);
    }
    settle(t);
}

/* A client went away: close its sockets (gracefully) and drop its call.
 * Or the driver did (its attached channel closed). */
static void on_closed(struct server *s, cid_t from) {
    struct tcpip *t = s->ctx;
    if (t->dev_rx && from == t->dev_rx) {
        t->dev_rx = 0; /* the server loop closes it */
        dev_lost(t, ERR_PEER_CLOSED);
        settle(t);
        return;
    }
    struct client *c = client_of(t, from, false);
    if (c) {
        if ((c->p.kind == P_SEND_PAGES || c->p.kind == P_RECV_PAGES) && c->p.len)
            ipc_free_pages(c->p.addr, c->p.len);
        *c = (struct client){0};
    }
    for (int i = 0; i < MAX_SOCKETS; i++)
        if (t->socks[i].sock && t->socks[i].owner == from)
            drop_socket(t, &t->socks[i], false);
    settle(t);
}

/* ---- tcpip handlers -------------------------------------------------------------- */

static error_t h_info(void *ctx, cid_t from, void *mac, size_t *mac_len, uint32_t *link_up,
                      uint32_t *ip, uint32_t *mask, uint32_t *gw, uint32_t *dns,
                      uint32_t *source, uint32_t *dhcp_state, uint32_t *lease_left) {
    struct tcpip *t = ctx;
    struct net_config cfg;
    net_get_config(t->net, &cfg);
    memcpy(mac, cfg.mac, 6);
    *mac_len = 6;
    *link_up = t->link_up;
    *ip = cfg.ip;
    *mask = cfg.mask;
    *gw = cfg.gw;
    *dns = cfg.dns[0];
    *source = cfg.ip == 0 ? TCPIP_SOURCE_NONE : t->source;
    *dhcp_state = (uint32_t) cfg.dhcp_state;
    *lease_left = cfg.lease_left_s;
    return OK;
}

static error_t h_configure(void *ctx, cid_t from, uint32_t ip, uint32_t mask, uint32_t gw) {
    struct tcpip *t = ctx;
    error_t err;
    if (ip == 0) {
        err = net_dhcp_start(t->net);
        if (!err)
            t->source = TCPIP_SOURCE_DHCP;
    } else {
        err = net_set_static(t->net, ip, mask, gw);
        if (!err)
            t->source = TCPIP_SOURCE_STATIC;
    }
    settle(t);
    return err;
}

static error_t h_ping(void *ctx, cid_t from, uint32_t ip, uint32_t seq, uint32_t len,
                      uint32_t timeout_ms, uint32_t *rtt_us) {
    struct tcpip *t = ctx;
    if (len > 1472 || timeout_ms == 0 || timeout_ms > 60000)
        return ERR_INVALID_ARG;
    struct client *c;
    error_t err = idle_client(t, from, &c);
    if (err)
        return err;
    struct pending p = {
        .kind = P_PING,
        .type = TCPIP_PING_MSG,
        .ping_id = (uint16_t) (PING_ID_BASE + t->next_ping_id++),
        .ping_seq = (uint16_t) seq,
        .start_ns = clock_ns(),
        .deadline = now_ms() + timeout_ms,
    };
    if ((err = net_ping(t->net, ip, p.ping_id, p.ping_seq, len)))
        return err;
    c->p = p;
    settle(t);
    return IDL_DEFER_REPLY;
}

static error_t h_arp(void *ctx, cid_t from, uint32_t index, uint32_t *next, uint32_t *ip,
                     void *mac, size_t *mac_len, uint32_t *state, uint32_t *age_ms) {
    struct tcpip *t = ctx;
    static struct net_arp_entry entries[64];
    size_t n = net_arp_list(t->net, entries, 64);
    if (index >= n)
        return ERR_EOF;
    struct net_arp_entry *e = &entries[index];
    *next = index + 1;
    *ip = e->ip;
    memcpy(mac, e->mac, 6);
    *mac_len = 6;
    *state = e->resolved ? 1 : 0;
    *age_ms = e->expires_ms; /* time left: see docs/tcpip.md */
    return OK;
}

static error_t h_connection(void *ctx, cid_t from, uint32_t index, uint32_t *next,
                            uint32_t *proto, uint32_t *state, uint32_t *local_ip,
                            uint32_t *local_port, uint32_t *remote_ip, uint32_t *remote_port,
                            uint32_t *send_queue, uint32_t *recv_queue) {
    struct tcpip *t = ctx;
    static struct net_tcp_info rows[MAX_SOCKETS];
    size_t n = net_tcp_list(t->net, rows, MAX_SOCKETS);
    if (index >= n)
        return ERR_EOF;
    struct net_tcp_info *r = &rows[index];
    *next = index + 1;
    *proto = 6;
    *state = (uint32_t) r->state;
    *local_ip = r->addr.local_ip;
    *local_port = r->addr.local_port;
    *remote_ip = r->addr.remote_ip;
    *remote_port = r->addr.remote_port;
    *send_queue = r->sendq;
    *recv_queue = r->recvq;
    return OK;
}

static error_t h_stats(void *ctx, cid_t from, uint64_t *frames_in, uint64_t *frames_out,
                       uint64_t *dropped, uint32_t *tcp_active, uint64_t *tcp_retransmits,
                       uint64_t *tcp_resets, uint32_t *arp_entries, uint32_t *sockets) {
    struct tcpip *t = ctx;
    struct net_stats st;
    net_get_stats(t->net, &st);
    static struct net_arp_entry entries[64];
    *frames_in = st.frames_in;
    *frames_out = st.frames_out;
    *dropped = st.eth_short + st.eth_not_for_us + st.eth_unknown_type + st.arp_bad +
               st.ip_short + st.ip_bad_version + st.ip_options + st.ip_bad_len +
               st.ip_bad_checksum + st.ip_fragments + st.ip_bad_ttl + st.ip_bad_src +
               st.ip_not_for_us + st.ip_unknown_proto + st.icmp_bad + st.udp_bad +
               st.udp_no_port + st.udp_queue_drops + st.dhcp_bad + st.tcp_bad + t->tx_dropped;
    *tcp_active = (uint32_t) st.tcp_conns;
    *tcp_retransmits = st.tcp_retransmits;
    *tcp_resets = st.tcp_resets_in + st.tcp_resets_out;
    *arp_entries = (uint32_t) net_arp_list(t->net, entries, 64);
    *sockets = (uint32_t) st.sockets;
    return OK;
}

static error_t h_listen(void *ctx, cid_t from, uint32_t port, uint32_t backlog, uint32_t *sock) {
    struct tcpip *t = ctx;
    if (port == 0 || port > 65535 || backlog == 0 || backlog > 128)
        return ERR_INVALID_ARG;
    int r = adopt(t, from, tcp_listen(t->net, (uint16_t) port, backlog));
    if (r < 0)
        return r;
    *sock = (uint32_t) r;
    return OK;
}

/* Try a call now; park it (unless TCPIP_NONBLOCK) if it would block. */
static error_t try_or_park(struct tcpip *t, cid_t from, uint32_t flags, struct pending *p) {
    struct client *c;
    error_t err = idle_client(t, from, &c);
    if (err)
        return err;
    c->p = *p;
    if (retry(t, c, false)) {
        settle(t);
        return IDL_DEFER_REPLY; /* already replied */
    }
    if (flags & TCPIP_NONBLOCK) {
        c->p.kind = P_NONE; /* the pages, if any, go back with the error */
        return ERR_WOULD_BLOCK;
    }
    settle(t);
    return IDL_DEFER_REPLY;
}

static error_t h_accept(void *ctx, cid_t from, uint32_t sock, uint32_t flags, uint32_t *conn,
                        uint32_t *ip, uint32_t *port) {
    struct tcpip *t = ctx;
    if (!sock_of(t, from, sock))
        return ERR_NOT_FOUND;
    struct pending p = {.kind = P_ACCEPT, .type = TCPIP_ACCEPT_MSG, .sock = (int) sock};
    return try_or_park(t, from, flags, &p);
}

static error_t h_connect(void *ctx, cid_t from, uint32_t ip, uint32_t port, uint32_t flags,
                         uint32_t *sock) {
    struct tcpip *t = ctx;
    if (port == 0 || port > 65535 || ip == 0)
        return ERR_INVALID_ARG;
    struct client *c;
    error_t err = idle_client(t, from, &c); /* before a socket exists */
    if (err)
        return err;
    int r = adopt(t, from, tcp_connect(t->net, ip, (uint16_t) port));
    if (r < 0)
        return r;
    if (flags & TCPIP_NONBLOCK) {
        settle(t);
        *sock = (uint32_t) r;
        return OK;
    }
    struct pending p = {.kind = P_CONNECT, .type = TCPIP_CONNECT_MSG, .sock = r};
    return try_or_park(t, from, 0, &p);
}

static error_t h_send(void *ctx, cid_t from, uint32_t sock, uint32_t flags, const void *data,
                      size_t data_len, uint32_t *sent) {
    struct tcpip *t = ctx;
    if (!sock_of(t, from, sock))
        return ERR_NOT_FOUND;
    if (data_len == 0)
        return ERR_INVALID_ARG;
    struct pending p = {.kind = P_SEND, .type = TCPIP_SEND_MSG, .sock = (int) sock,
                        .data_len = data_len};
    memcpy(p.data, data, data_len);
    return try_or_park(t, from, flags, &p);
}

static error_t h_send_pages(void *ctx, cid_t from, uint32_t sock, uint32_t flags,
                            uint64_t offset, uint64_t len, uint64_t addr, uint64_t pages_len,
                            uint64_t *sent, uint64_t *out_addr, uint64_t *out_len) {
    struct tcpip *t = ctx;
    if (!sock_of(t, from, sock))
        return ERR_NOT_FOUND;
    if (!pages_len || pages_len > PAGES_MAX)
        return ERR_BAD_PAGE;
    if (len == 0 || offset > pages_len || len > pages_len - offset)
        return ERR_INVALID_ARG;
    addr += offset; /* the reply gives back the whole pages: see below */
    struct pending p = {.kind = P_SEND_PAGES, .type = TCPIP_SEND_PAGES_MSG, .sock = (int) sock,
                        .addr = addr - offset, .len = pages_len, .max = (uint32_t) len,
                        .offset = offset};
    if (flags & TCPIP_NONBLOCK) {
        /* Queue what fits now; the rest is the caller's to send again. */
        uint64_t done = 0;
        while (done < len) {
            int r = tcp_send(t->net, (int) sock, (uint8_t *) addr + done, len - done);
            if (r < 0) {
                if (done || r == ERR_WOULD_BLOCK)
                    break; /* sent 0: the pages still go back */
                return sock_failure(t, (int) sock, r);
            }
            done += (uint64_t) r;
        }
        settle(t);
        *sent = done;
        *out_addr = addr - offset;
        *out_len = pages_len;
        return OK;
    }
    return try_or_park(t, from, 0, &p);
}

static error_t h_recv(void *ctx, cid_t from, uint32_t sock, uint32_t flags, uint32_t max,
                      void *data, size_t *data_len) {
    struct tcpip *t = ctx;
    if (!sock_of(t, from, sock))
        return ERR_NOT_FOUND;
    if (max == 0 || max > 200)
        return ERR_INVALID_ARG;
    struct pending p = {.kind = P_RECV, .type = TCPIP_RECV_MSG, .sock = (int) sock, .max = max};
    return try_or_park(t, from, flags, &p);
}

static error_t h_recv_pages(void *ctx, cid_t from, uint32_t sock, uint32_t flags,
                            uint64_t addr, uint64_t len, uint64_t *got, uint64_t *out_addr,
                            uint64_t *out_len) {
    struct tcpip *t = ctx;
    if (!sock_of(t, from, sock))
        return ERR_NOT_FOUND;
    if (!len || len > PAGES_MAX)
        return ERR_BAD_PAGE;
    if (flags & TCPIP_NONBLOCK) {
        int r = tcp_recv(t->net, (int) sock, (void *) addr, len);
        if (r < 0 && r != ERR_WOULD_BLOCK)
            return sock_failure(t, (int) sock, r);
        settle(t); /* the window may have opened */
        *got = r < 0 ? 0 : (uint64_t) r; /* 0: nothing yet, the pages go back */
        *out_addr = addr;
        *out_len = len;
        return OK;
    }
    struct pending p = {.kind = P_RECV_PAGES, .type = TCPIP_RECV_PAGES_MSG, .sock = (int) sock,
                        .addr = addr, .len = len};
    return try_or_park(t, from, 0, &p);
}

static error_t h_close(void *ctx, cid_t from, uint32_t sock, uint32_t abort) {
    struct tcpip *t = ctx;
    struct sock_owner *o = sock_of(t, from, sock);
    if (!o)
        return ERR_NOT_FOUND;
    drop_socket(t, o, abort != 0);
    settle(t);
    return OK;
}

static error_t h_shutdown(void *ctx, cid_t from, uint32_t sock) {
    struct tcpip *t = ctx;
    if (!sock_of(t, from, sock))
        return ERR_NOT_FOUND;
    error_t err = tcp_shutdown_write(t->net, (int) sock);
    settle(t);
    return err;
}

static error_t h_watch(void *ctx, cid_t from, uint32_t sock, uint32_t events) {
    struct sock_owner *o = sock_of(ctx, from, sock);
    if (!o)
        return ERR_NOT_FOUND;
    o->watch = events;
    return OK;
}

static error_t h_wait(void *ctx, cid_t from, uint32_t timeout_ms, uint32_t *count, void *events,
                      size_t *events_len) {
    struct tcpip *t = ctx;
    struct client *c;
    error_t err = idle_client(t, from, &c);
    if (err)
        return err;
    c->p = (struct pending){.kind = P_WAIT, .type = TCPIP_WAIT_MSG,
                            .deadline = now_ms() + timeout_ms};
    retry(t, c, timeout_ms == 0);
    settle(t);
    return IDL_DEFER_REPLY;
}

static error_t h_udp_open(void *ctx, cid_t from, uint32_t port, uint32_t *sock,
                          uint32_t *out_port) {
    struct tcpip *t = ctx;
    if (port > 65535)
        return ERR_INVALID_ARG;
    int r = adopt(t, from, udp_open(t->net, (uint16_t) port));
    if (r < 0)
        return r;
    struct net_sock_addr a;
    sock_addr(t->net, r, &a);
    *sock = (uint32_t) r;
    *out_port = a.local_port;
    return OK;
}

static error_t h_udp_send(void *ctx, cid_t from, uint32_t sock, uint32_t ip, uint32_t port,
                          const void *data, size_t data_len) {
    struct tcpip *t = ctx;
    if (!sock_of(t, from, sock))
        return ERR_NOT_FOUND;
    if (port == 0 || port > 65535)
        return ERR_INVALID_ARG;
    int r = udp_sendto(t->net, (int) sock, ip, (uint16_t) port, data, data_len);
    settle(t);
    return r < 0 ? r : OK;
}

static error_t h_udp_recv(void *ctx, cid_t from, uint32_t sock, uint32_t flags, uint32_t *ip,
                          uint32_t *port, void *data, size_t *data_len) {
    struct tcpip *t = ctx;
    if (!sock_of(t, from, sock))
        return ERR_NOT_FOUND;
    struct pending p = {.kind = P_UDP_RECV, .type = TCPIP_UDP_RECV_MSG, .sock = (int) sock};
    return try_or_park(t, from, flags, &p);
}

static const struct tcpip_server_ops ops = {
    .info = h_info,
    .configure = h_configure,
    .ping = h_ping,
    .arp = h_arp,
    .connection = h_connection,
    .stats = h_stats,
    .listen = h_listen,
    .accept = h_accept,
    .connect = h_connect,
    .send = h_send,
    .send_pages = h_send_pages,
    .recv = h_recv,
    .recv_pages = h_recv_pages,
    .close = h_close,
    .shutdown = h_shutdown,
    .watch = h_watch,
    .wait = h_wait,
    .udp_open = h_udp_open,
    .udp_send = h_udp_send,
    .udp_recv = h_udp_recv,
};

static bool dispatch(struct server *s, const struct message *m, struct message *reply) {
    return tcpip_dispatch(&ops, s->ctx, m, reply);
}

/* ---- start-up ------------------------------------------------------------------- */

/* Arguments: "ip=A.B.C.D/N gw=A.B.C.D" for a static address; DHCP otherwise. */
static error_t configure_from_args(struct tcpip *t, const char *args) {
    uint32_t ip = 0, gw = 0, mask = 0;
    for (const char *a = args; a && *a;) {
        while (*a == ' ')
            a++;
        const char *end;
        if (!strncmp(a, "ip=", 3)) {
            if (!ip4_parse(a + 3, "/ ", &ip, &end))
                return ERR_INVALID_ARG;
            unsigned prefix = 24;
            if (*end == '/') {
                prefix = (unsigned) strtoul_(end + 1, (char **) &end, 10);
                if (prefix > 32)
                    return ERR_INVALID_ARG;
            }
            mask = ip4_mask(prefix);
            a = end;
        } else if (!strncmp(a, "gw=", 3)) {
            if (!ip4_parse(a + 3, " ", &gw, &end))
                return ERR_INVALID_ARG;
            a = end;
        } else {
            while (*a && *a != ' ')
                a++;
        }
    }
    if (ip) {
        t->source = TCPIP_SOURCE_STATIC;
        printf("tcpip: static address from the arguments\n");
        return net_set_static(t->net, ip, mask, gw);
    }
    t->source = TCPIP_SOURCE_DHCP;
    return net_dhcp_start(t->net);
}

static error_t start(struct tcpip *t) {
    error_t err;
    /* Without a NIC this waits (silently) until a driver registers. */
    cid_t dev = ns_connect("net"), rx = dev < 0 ? dev : ns_connect("net");
    if (rx < 0) {
        if (dev >= 0)
            sys_close(dev);
        return rx;
    }
    if ((err = dev_attach(t, dev, rx)))
        return err;
    if ((err = kernel_timer_create(CID_KERNEL, &t->timer)) ||
        (err = server_watch(&t->srv, t->timer)))
        return err;
    t->timer_at = NET_NO_DEADLINE;
    t->rng = (uint32_t) rdtsc() * 2654435761u + 1;
    static const struct net_seam seam = {
        .ctx = &tcpip,
        .send_frame = seam_send,
        .now_ms = seam_now,
        .random = seam_random,
        .log = seam_log,
    };
    if ((err = net_create(&seam, t->mac, NULL, &t->net)))
        return err;
    char args[128];
    if (memmgr_args(CID_MEMMGR, args) != OK)
        args[0] = '\0';
    if ((err = configure_from_args(t, args)))
        printf("tcpip: bad arguments \"%s\": %s\n", args, err_name(err));
    receive_frames(t); /* anything that came before the attach */
    settle(t);
    return OK;
}

int main(void) {
    program_name = "tcpip";
    struct tcpip *t = &tcpip;
    t->srv.dispatch = dispatch;
    t->srv.notify = on_notify;
    t->srv.closed = on_closed;
    t->srv.ctx = t;
    /* The name is registered once the stack runs: before, clients are
     * told at once that there is no network (ns.find), rather than hang. */
    error_t err = server_init(&t->srv, NULL);
    if (!err)
        err = start(t);
    if (!err)
        err = server_register(&t->srv, "tcpip");
    if (err) {
        printf("tcpip: cannot start: %s\n", err_name(err));
        return 1;
    }
    char mac[18];
    snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", t->mac[0], t->mac[1],
             t->mac[2], t->mac[3], t->mac[4], t->mac[5]);
    printf("tcpip: up on %s, link %s\n", mac, t->link_up ? "up" : "down");
    server_run(&t->srv);
}
