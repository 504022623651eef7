/*
 * httpd: a static HTTP/1.1 server for /www of the fat volume, over the
 * tcpip and fs interfaces (docs/httpd.md). The HTTP rules live in the core
 * (http.h); this file is the event loop.
 *
 * One thread runs every connection: it marks what each socket waits for
 * (tcpip.watch) and sleeps in tcpip.wait, with the nearest idle deadline as
 * the timeout. A connection reads (inline recv) until the parser has a whole
 * request head, then sends the response head and streams the body: the
 * file's pages come from fs.read_pages and go to tcpip.send_pages, which
 * returns them with how much it took, so a slow client never blocks the
 * others. A second thread answers httpd.status for the shell.
 *
 * Servers that come back: when fat dies, requests get 503 until a new fs
 * is found (looked up per request); files opened on the old one are cut.
 * When tcpip dies, every connection goes with it; httpd looks "tcpip" up
 * again with backoff, listens again and prints its ready line again.
 *
 * Arguments: port=N (default 80), root=PATH (default /www), idle=SECONDS
 * (default 10): how long a connection may sit between requests or in the
 * middle of one (then 408), log=off: no access-log line per request. A
 * client that takes no byte of a response for SEND_TIMEOUT_MS is dropped.
 */
#include <user/server.h>
#include <user/tcpip.h>
#include <idl.h>
#include "http.h"

#define MAX_CONNS      64
#define BACKLOG        64
#define CHUNK          (256 * 1024) /* file bytes per fs.read_pages */
#define FS_PATH_MAX    200
#define DEFAULT_IDLE_S 10
#define SEND_TIMEOUT_MS 60000 /* a client that takes nothing of a response this long */
#define NET_RETRY_MIN_MS 50   /* first look for a new tcpip after one died */
#define NET_RETRY_MAX_MS 500  /* then doubling up to this */

enum conn_state { C_FREE, C_READING, C_SENDING };

struct conn {
    enum conn_state state;
    uint32_t sock;
    char peer[24];
    uint64_t last_active; /* ms */
    uint64_t started_ns;  /* the current request's first byte (for the log) */
    struct http_request_parser *parser;
    /* Received bytes not yet given to the parser (a pipelined request). */
    uint8_t in[200];
    size_t in_off, in_len;
    /* The response: head (or a whole error response) then the file. */
    char out[HTTP_RESPONSE_MAX];
    size_t out_off, out_len;
    bool head_only, close_after;
    bool again;           /* progress stopped with work left: see progress() */
    int status;
    uint32_t file;        /* fs handle; valid when has_file */
    uint32_t file_gen;    /* the fs_gen it was opened in */
    bool has_file;
    uint64_t file_off, file_left;
    uint64_t pages, pages_len, pages_valid, pages_sent; /* one chunk of the file */
    uint64_t body_sent;
    char log_line[256];   /* formatted when the request is parsed */
};

struct httpd {
    cid_t net, fs;
    uint32_t fs_gen;    /* counts the fs channels dropped: older handles are void */
    uint32_t listener;
    uint32_t announced; /* the address of the last ready line (0: none yet) */
    uint64_t next_check; /* ms: when announce() asks tcpip again */
    uint32_t port;
    char root[FS_PATH_MAX];
    uint64_t idle_ms;
    bool quiet;               /* log=off */
    struct conn conns[MAX_CONNS];
    /* httpd.status */
    uint32_t open;
    uint64_t requests, by_class[6], bytes_sent, errors, started_ns;
};

static struct httpd httpd;

static uint64_t now_ms(void) {
    return clock_ns() / 1000000;
}

/* ---- connections ---------------------------------------------------------------- */

/* c's file is open on the fs channel we hold now (not on one that died:
 * its handle could name another connection's file on the new fat). */
static bool file_current(const struct httpd *h, const struct conn *c) {
    return c->has_file && h->fs >= 0 && c->file_gen == h->fs_gen;
}

static void conn_free_body(struct conn *c) {
    if (file_current(&httpd, c))
        fs_close(httpd.fs, c->file);
    c->has_file = false;
    if (c->pages_len)
        ipc_free_pages(c->pages, c->pages_len);
    c->pages_len = c->pages_valid = c->pages_sent = 0;
}

static void conn_close(struct httpd *h, struct conn *c, bool abort) {
    conn_free_body(c);
    tcpip_close(h->net, c->sock, abort);
    c->state = C_FREE;
    h->open--;
}

/* What the socket must wake us for. */
static void conn_watch(struct httpd *h, struct conn *c) {
    uint32_t ev = c->state == C_SENDING ? TCPIP_EV_WRITABLE : TCPIP_EV_READABLE;
    tcpip_watch(h->net, c->sock, ev | TCPIP_EV_HUP | TCPIP_EV_ERROR);
}

/* Start the response for a status without a file (errors and redirects). */
static void respond_error(struct conn *c, int status, const char *extra) {
    bool head_only = c->parser->req.method == HTTP_METHOD_HEAD && status < 500;
    int64_t date = (int64_t) unix_time();
    if (extra) {
        const char *body = http_error_body(status);
        struct http_response r = {.status = status, .content_type = "text/html; charset=utf-8",
                                  .content_length = body ? strlen(body) : 0,
                                  .keep_alive = !c->close_after, .extra = extra,
                                  .date = date ? date : -1};
        c->out_len = http_format_head(&r, c->out, sizeof(c->out));
        if (body && !head_only && c->out_len + strlen(body) < sizeof(c->out)) {
            strcpy_safe(c->out + c->out_len, body, sizeof(c->out) - c->out_len);
            c->out_len += strlen(body);
        }
    } else {
        c->out_len = http_format_error(status, head_only, !c->close_after, date ? date : -1,
                                       c->out, sizeof(c->out));
    }
    const char *body = http_error_body(status);
    c->body_sent = head_only ? 0 : strlen(body ? body : http_error_body(HTTP_INTERNAL_ERROR));
    c->status = status;
    c->out_off = 0;
    c->state = C_SENDING;
}

/* The file system, looked up again after it went away (or was never
 * there); false while there is none. */
static bool fs_channel(struct httpd *h) {
    if (h->fs < 0 && ns_find(CID_MEMMGR, "fs", &h->fs) != OK)
        h->fs = -1;
    return h->fs >= 0;
}

/* fs failed: 404 for what is not there, 503 while fat is away, else 500. */
static int fs_status(struct httpd *h, error_t err) {
    if (err == ERR_NOT_FOUND || err == ERR_NOT_DIR)
        return HTTP_NOT_FOUND;
    if (err == ERR_PEER_CLOSED || err == ERR_UNAVAILABLE) {
        if (h->fs >= 0) {
            sys_close(h->fs);
            h->fs_gen++;
        }
        h->fs = -1; /* fat restarts: look it up again next time */
        return HTTP_UNAVAILABLE;
    }
    return HTTP_INTERNAL_ERROR;
}

/* A whole request head is in the parser: find the file and start the response. */
static void respond(struct httpd *h, struct conn *c) {
    const struct http_request *req = &c->parser->req;
    c->close_after = !req->keep_alive;
    c->head_only = req->method == HTTP_METHOD_HEAD;
    char path[FS_PATH_MAX + 16];
    int st = http_map_path(req->path, h->root, path, FS_PATH_MAX);
    if (st) {
        respond_error(c, st, NULL);
        return;
    }
    uint64_t size, mtime;
    uint32_t is_dir, attr, clusters;
    if (!fs_channel(h)) {
        respond_error(c, HTTP_UNAVAILABLE, NULL);
        return;
    }
    error_t err = fs_stat(h->fs, path, &size, &is_dir, &attr, &mtime, &clusters);
    if (!err && is_dir) {
        if (!http_path_is_dir(req->path)) {
            char loc[HTTP_PATH_MAX + 32];
            if (http_format_location(req->path, loc, sizeof(loc)) && strlen(loc) < 200)
                respond_error(c, HTTP_MOVED_PERMANENTLY, loc);
            else
                respond_error(c, HTTP_NOT_FOUND, NULL);
            return;
        }
        if (http_append_index(path, FS_PATH_MAX))
            err = ERR_NOT_FOUND;
        else
            err = fs_stat(h->fs, path, &size, &is_dir, &attr, &mtime, &clusters);
    } else if (!err && http_path_is_dir(req->path)) {
        err = ERR_NOT_FOUND; /* "/file.txt/" names no directory */
    }
    if (!err && is_dir)
        err = ERR_NOT_FOUND;
    uint32_t handle = 0, opened_dir;
    if (!err)
        err = fs_open(h->fs, path, 0, &handle, &size, &opened_dir);
    if (err) {
        respond_error(c, fs_status(h, err), NULL);
        return;
    }
    int64_t date = (int64_t) unix_time();
    struct http_response r = {.status = HTTP_OK, .content_type = http_mime_type(path),
                              .content_length = size, .keep_alive = !c->close_after,
                              .date = date ? date : -1};
    c->out_len = http_format_head(&r, c->out, sizeof(c->out));
    c->out_off = 0;
    c->status = HTTP_OK;
    c->has_file = true;
    c->file = handle;
    c->file_gen = h->fs_gen;
    c->file_off = 0;
    c->file_left = c->head_only ? 0 : size;
    c->state = C_SENDING;
}

/* The response is out: log it, then read the next request or close. */
static void finish_response(struct httpd *h, struct conn *c) {
    uint64_t us = (clock_ns() - c->started_ns) / 1000;
    char line[320];
    http_format_log(line, sizeof(line), c->peer, &c->parser->req, c->status, c->body_sent,
                    (int64_t) us);
    if (!h->quiet)
        printf("httpd: %s\n", line);
    h->requests++;
    h->by_class[MIN(c->status / 100, 5)]++;
    conn_free_body(c);
    if (c->close_after) {
        conn_close(h, c, false);
        return;
    }
    http_parser_init(c->parser);
    c->state = C_READING;
    c->body_sent = 0;
    c->started_ns = clock_ns();
}

/* Feed bytes to the parser; true when a response was started. */
static bool feed(struct httpd *h, struct conn *c) {
    while (c->in_off < c->in_len) {
        size_t used = 0;
        if (http_parser_idle(c->parser))
            c->started_ns = clock_ns();
        int r = http_parse(c->parser, c->in + c->in_off, c->in_len - c->in_off, &used);
        c->in_off += used;
        if (r == HTTP_NEED_MORE)
            continue;
        if (r == HTTP_DONE) {
            respond(h, c);
        } else {
            c->close_after = true; /* a refused request ends the connection */
            respond_error(c, r, NULL);
        }
        return true;
    }
    return false;
}

/* Send what the socket takes now. Returns false when the connection is gone. */
static bool send_some(struct httpd *h, struct conn *c) {
    while (c->out_off < c->out_len) {
        uint32_t sent;
        size_t n = MIN(c->out_len - c->out_off, (size_t) 200);
        error_t err = tcpip_send(h->net, c->sock, TCPIP_NONBLOCK, c->out + c->out_off, n, &sent);
        if (err == ERR_WOULD_BLOCK)
            return true;
        if (err) {
            printf("httpd: %s: sending failed: %s\n", c->peer, err_name(err));
            h->errors++;
            conn_close(h, c, true);
            return false;
        }
        c->out_off += sent;
    }
    while (c->file_left > 0 || c->pages_sent < c->pages_valid) {
        if (c->pages_sent == c->pages_valid) {
            if (c->pages_len) {
                ipc_free_pages(c->pages, c->pages_len);
                c->pages_len = 0;
            }
            uint64_t got = 0;
            error_t err = ERR_PEER_CLOSED; /* opened on a file system that died */
            if (file_current(h, c)) {
                err = fs_read_pages(h->fs, c->file, c->file_off, MIN(c->file_left, CHUNK),
                                    &got, &c->pages, &c->pages_len);
                if (err)
                    fs_status(h, err);
            }
            if (err || got == 0) {
                /* The head promised more: all we can do is cut the connection. */
                printf("httpd: %s: reading the file failed: %s\n", c->peer,
                       err_name(err ? err : ERR_EOF));
                h->errors++;
                conn_close(h, c, true);
                return false;
            }
            c->pages_valid = got;
            c->pages_sent = 0;
            c->file_off += got;
            c->file_left -= MIN(got, c->file_left);
        }
        uint64_t sent;
        error_t err = tcpip_send_pages(h->net, c->sock, TCPIP_NONBLOCK, c->pages_sent,
                                       c->pages_valid - c->pages_sent, c->pages, c->pages_len,
                                       &sent, &c->pages, &c->pages_len);
        if (err) {
            c->pages_len = 0; /* an error reply does not bring the pages back */
            printf("httpd: %s: sending failed: %s\n", c->peer, err_name(err));
            h->errors++;
            conn_close(h, c, true);
            return false;
        }
        if (sent == 0)
            return true; /* the socket is full: wait for WRITABLE */
        c->pages_sent += sent;
        c->body_sent += sent;
        h->bytes_sent += sent;
    }
    finish_response(h, c);
    return c->state != C_FREE;
}

/* Something happened on c's socket: make progress until it blocks, or
 * for a few requests at most (then c->again: the main loop comes back
 * without waiting, after the other connections had their turn). */
static void progress(struct httpd *h, struct conn *c) {
    c->last_active = now_ms();
    c->again = false;
    for (int rounds = 0; c->state != C_FREE; rounds++) {
        if (rounds == 16) {
            c->again = true;
            break;
        }
        if (c->state == C_SENDING) {
            if (!send_some(h, c))
                return;
            if (c->state == C_SENDING)
                break; /* the socket is full: wait for WRITABLE */
            continue;  /* the next pipelined request may be buffered */
        }
        if (feed(h, c))
            continue;
        uint8_t data[200];
        size_t len;
        error_t err = tcpip_recv(h->net, c->sock, TCPIP_NONBLOCK, 200, data, &len);
        if (err == ERR_WOULD_BLOCK)
            break;
        if (err) {
            /* EOF or reset: a half-sent request gets no answer either way. */
            conn_close(h, c, err != ERR_EOF);
            return;
        }
        memcpy(c->in, data, len);
        c->in_off = 0;
        c->in_len = len;
    }
    if (c->state != C_FREE)
        conn_watch(h, c);
}

/* A slot for a new connection: a free one, else that of the connection
 * that has waited longest between requests (a keep-alive client that sent
 * nothing yet loses least: it just reconnects), else none. */
static struct conn *conn_slot(struct httpd *h) {
    struct conn *idle = NULL;
    for (int i = 0; i < MAX_CONNS; i++) {
        struct conn *c = &h->conns[i];
        if (c->state == C_FREE)
            return c;
        if (c->state == C_READING && http_parser_idle(c->parser)
            && (!idle || c->last_active < idle->last_active))
            idle = c;
    }
    if (idle)
        conn_close(h, idle, false);
    return idle;
}

static void accept_all(struct httpd *h) {
    for (;;) {
        uint32_t sock, ip, port;
        error_t err = tcpip_accept(h->net, h->listener, TCPIP_NONBLOCK, &sock, &ip, &port);
        if (err)
            return;
        struct conn *c = conn_slot(h);
        if (!c) {
            /* No slot: a short 503 if the socket takes it, then close. */
            char buf[HTTP_RESPONSE_MAX];
            size_t n = http_format_error(HTTP_UNAVAILABLE, false, false, -1, buf, sizeof(buf));
            uint32_t sent;
            for (size_t off = 0; off < n; off += sent)
                if (tcpip_send(h->net, sock, TCPIP_NONBLOCK, buf + off, MIN(n - off, 200),
                               &sent))
                    break;
            tcpip_close(h->net, sock, 0);
            h->by_class[5]++;
            continue;
        }
        struct http_request_parser *parser = c->parser;
        *c = (struct conn){.state = C_READING, .sock = sock, .parser = parser,
                           .last_active = now_ms(), .started_ns = clock_ns()};
        char a[IP4_STR_MAX];
        snprintf(c->peer, sizeof(c->peer), "%s:%u", ip4_format(ip, a), port);
        http_parser_init(c->parser);
        h->open++;
        progress(h, c);
    }
}

/* Close connections idle past their deadline (408 if a request was started). */
static uint64_t expire_idle(struct httpd *h) {
    uint64_t now = now_ms(), next = now + h->idle_ms;
    for (int i = 0; i < MAX_CONNS; i++) {
        struct conn *c = &h->conns[i];
        if (c->state == C_FREE)
            continue;
        uint64_t deadline = c->last_active + (c->state == C_SENDING ? SEND_TIMEOUT_MS
                                                                      : h->idle_ms);
        if (deadline > now) {
            next = MIN(next, deadline);
            continue;
        }
        if (c->state == C_READING && !http_parser_idle(c->parser)) {
            c->close_after = true;
            respond_error(c, HTTP_REQUEST_TIMEOUT, NULL);
            c->last_active = now;
            next = MIN(next, now + h->idle_ms);
            if (send_some(h, c) && c->state == C_SENDING)
                conn_watch(h, c);
            continue;
        }
        if (c->state == C_SENDING)
            printf("httpd: %s: stalled sending for %lu ms: head %lu/%lu, file %lu left, "
                   "chunk %lu/%lu\n", c->peer, now - c->last_active, c->out_off, c->out_len,
                   c->file_left, c->pages_sent, c->pages_valid);
        conn_close(h, c, c->state == C_SENDING); /* a stalled reader loses its response */
    }
    return next;
}

/* Print the ready line (clouds show the serial console) once the
 * interface has an address, and again if the address changes. True while
 * there is no address yet. */
static bool announce(struct httpd *h) {
    if (now_ms() < h->next_check)
        return h->announced == 0;
    h->next_check = now_ms() + (h->announced ? 5000 : 500);
    uint8_t mac[6];
    size_t mac_len;
    uint32_t link, ip, mask, gw, dns, source, dhcp, lease;
    if (tcpip_info(h->net, mac, &mac_len, &link, &ip, &mask, &gw, &dns, &source, &dhcp, &lease))
        return false;
    if (ip && ip != h->announced) {
        char a[IP4_STR_MAX];
        printf("httpd: ready: http://%s:%u/\n", ip4_format(ip, a), h->port);
        h->announced = ip;
    }
    return ip == 0;
}

/* ---- tcpip ----------------------------------------------------------------------- */

/* Listen on the port through ch, a new channel to tcpip; then it is h->net. */
static error_t net_listen(struct httpd *h, cid_t ch) {
    error_t err = tcpip_listen(ch, h->port, BACKLOG, &h->listener);
    if (!err)
        err = tcpip_watch(ch, h->listener, TCPIP_EV_ACCEPTABLE);
    if (err)
        return err;
    h->net = ch;
    h->announced = 0; /* a new tcpip: say where we serve once it has an address */
    h->next_check = 0;
    printf("httpd: serving %s on port %u\n", h->root, h->port);
    return OK;
}

/* tcpip died (a call on its channel failed): every connection went with
 * it. Free what they held, then look "tcpip" up again (ns.find, which
 * never waits) with backoff until one lets us listen. The loop has nothing
 * else to do meanwhile; httpd.status is answered by the other thread. */
static void net_recover(struct httpd *h, error_t why) {
    printf("httpd: tcpip is gone (%s); dropping %u connections, looking for it again\n",
           err_name(why), h->open);
    for (int i = 0; i < MAX_CONNS; i++) {
        if (h->conns[i].state != C_FREE)
            conn_free_body(&h->conns[i]);
        h->conns[i].state = C_FREE;
    }
    h->open = 0;
    sys_close(h->net);
    h->net = -1;
    error_t last = OK;
    for (uint32_t backoff = NET_RETRY_MIN_MS;; backoff = MIN(backoff * 2, NET_RETRY_MAX_MS)) {
        sleep_ms(backoff);
        cid_t ch;
        error_t err = ns_find(CID_MEMMGR, "tcpip", &ch);
        if (!err && (err = net_listen(h, ch)))
            sys_close(ch);
        if (!err)
            return;
        if (err != ERR_NOT_FOUND && err != last)
            printf("httpd: cannot listen on port %u yet: %s\n", h->port, err_name(err));
        last = err;
    }
}

/* ---- httpd.status (second thread) ----------------------------------------------- */

static error_t h_status(void *ctx, cid_t from, uint32_t *port, uint32_t *connections,
                        uint64_t *requests, uint64_t *s2, uint64_t *s3, uint64_t *s4,
                        uint64_t *s5, uint64_t *bytes_sent, uint64_t *errors,
                        uint64_t *started_ns) {
    struct httpd *h = ctx;
    *port = h->port;
    *connections = h->open;
    *requests = h->requests;
    *s2 = h->by_class[2];
    *s3 = h->by_class[3];
    *s4 = h->by_class[4];
    *s5 = h->by_class[5];
    *bytes_sent = h->bytes_sent;
    *errors = h->errors;
    *started_ns = h->started_ns;
    return OK;
}

static const struct httpd_server_ops status_ops = {.status = h_status};

static bool status_dispatch(struct server *s, const struct message *m, struct message *reply) {
    return httpd_dispatch(&status_ops, s->ctx, m, reply);
}

static void status_thread(void *arg) {
    static struct server s = {.dispatch = status_dispatch};
    s.ctx = arg;
    error_t err = server_init(&s, "httpd");
    if (err) {
        printf("httpd: no status service: %s\n", err_name(err));
        return;
    }
    server_run(&s);
}

/* ---- start-up -------------------------------------------------------------------- */

static void parse_args(struct httpd *h, const char *args) {
    h->port = 80;
    h->idle_ms = DEFAULT_IDLE_S * 1000;
    strcpy_safe(h->root, "/www", sizeof(h->root));
    for (const char *a = args; *a;) {
        while (*a == ' ')
            a++;
        const char *end = a;
        while (*end && *end != ' ')
            end++;
        char *e;
        if (!strncmp(a, "port=", 5)) {
            unsigned long v = strtoul_(a + 5, &e, 10);
            if (v >= 1 && v <= 65535 && e == end)
                h->port = (uint32_t) v;
            else
                printf("httpd: bad port, using %u\n", h->port);
        } else if (!strncmp(a, "idle=", 5)) {
            unsigned long v = strtoul_(a + 5, &e, 10);
            if (v >= 1 && v <= 3600 && e == end)
                h->idle_ms = v * 1000;
        } else if (end - a == 7 && !strncmp(a, "log=off", 7)) {
            h->quiet = true;
        } else if (!strncmp(a, "root=", 5) && end - a - 5 < (long) sizeof(h->root)) {
            memcpy(h->root, a + 5, (size_t) (end - a - 5));
            h->root[end - a - 5] = '\0';
        }
        a = end;
    }
}

int main(void) {
    program_name = "httpd";
    struct httpd *h = &httpd;
    char args[128];
    if (memmgr_args(CID_MEMMGR, args) != OK)
        args[0] = '\0';
    parse_args(h, args);
    for (int i = 0; i < MAX_CONNS; i++) {
        h->conns[i].parser = malloc(sizeof(struct http_request_parser));
        if (!h->conns[i].parser) {
            printf("httpd: out of memory\n");
            return 1;
        }
    }
    /* No network: wait (silently) for one. No file system: answer 503
     * until one appears (fs_channel). */
    cid_t net = ns_connect("tcpip");
    if (net < 0) {
        printf("httpd: no tcpip: %s\n", err_name(net));
        return 1;
    }
    h->fs = -1;
    error_t err = net_listen(h, net);
    if (err) {
        printf("httpd: cannot listen on port %u: %s\n", h->port, err_name(err));
        return 1;
    }
    h->started_ns = clock_ns();
    tid_t tid;
    if ((err = thread_spawn(status_thread, h, &tid)))
        printf("httpd: no status thread: %s\n", err_name(err));
    for (;;) {
        uint64_t next = expire_idle(h), now = now_ms();
        if (announce(h))
            next = MIN(next, now + 500); /* no address yet: look again soon */
        bool again = false;
        for (int j = 0; j < MAX_CONNS; j++)
            again |= h->conns[j].state != C_FREE && h->conns[j].again;
        uint32_t count, pairs[2 * TCPIP_WAIT_MAX];
        size_t len;
        err = tcpip_wait(h->net, again ? 0 : (uint32_t) (next > now ? next - now : 1), &count,
                         pairs, &len);
        if (err) {
            net_recover(h, err);
            continue;
        }
        for (uint32_t i = 0; i < count; i++) {
            uint32_t sock = pairs[2 * i];
            if (sock == h->listener) {
                accept_all(h);
                continue;
            }
            for (int j = 0; j < MAX_CONNS; j++)
                if (h->conns[j].state != C_FREE && h->conns[j].sock == sock)
                    progress(h, &h->conns[j]);
        }
        for (int j = 0; j < MAX_CONNS; j++)
            if (h->conns[j].state != C_FREE && h->conns[j].again)
                progress(h, &h->conns[j]);
    }
}
