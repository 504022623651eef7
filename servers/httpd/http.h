/*
 * The HTTP/1.1 core of httpd: request parsing, request-target to file path,
 * response heads, error pages, content types, dates and the access log,
 * with no IPC and no allocation. The server loop (main.c) feeds what a
 * connection receives to http_parse and, once a request head is complete,
 * maps its path into the served tree and formats the response with the
 * functions below; the same code runs in the host unit tests
 * (tests/host/test_http.c). docs/httpd.md has the rules in full.
 *
 * Functions that can refuse a request return 0 or an HTTP status code
 * (400, 414, ...); the formatters return the length they wrote.
 */
#pragma once

#include <common/types.h>

/* Limits on a request; each is inclusive (a head of exactly HTTP_HEAD_MAX
 * bytes is accepted, one byte more is not). HTTP_HEAD_MAX counts from the
 * first byte (empty lines before the request line too) to the LF of the
 * empty line that ends the head; past it is 431, or 400 while still in the
 * request line. HTTP_URI_MAX counts the request-target as sent. */
#define HTTP_HEAD_MAX   8192 /* bytes of head: 431 */
#define HTTP_URI_MAX    2048 /* bytes of request-target: 414 */
#define HTTP_FIELDS_MAX 64   /* header field lines: 431 */
#define HTTP_PATH_MAX   (HTTP_URI_MAX + 2) /* a decoded path and its NUL always fit */

/* A buffer this big always holds http_format_error's response, and
 * http_format_head's head when extra is at most 200 bytes and the type
 * comes from http_mime_type. */
#define HTTP_RESPONSE_MAX 512
/* "Sun, 06 Nov 1994 08:49:37 GMT" and its NUL. */
#define HTTP_DATE_SIZE 30

#define HTTP_MIME_DEFAULT "application/octet-stream"

/* The status codes the core produces or the server loop is expected to. */
enum http_status {
    HTTP_OK = 200,
    HTTP_MOVED_PERMANENTLY = 301,    /* a directory asked for without its '/' */
    HTTP_BAD_REQUEST = 400,
    HTTP_NOT_FOUND = 404,
    HTTP_METHOD_NOT_ALLOWED = 405,   /* a method other than GET and HEAD */
    HTTP_REQUEST_TIMEOUT = 408,      /* a request started but not finished in time */
    HTTP_CONTENT_TOO_LARGE = 413,    /* a request with a body */
    HTTP_URI_TOO_LONG = 414,
    HTTP_FIELDS_TOO_LARGE = 431,
    HTTP_INTERNAL_ERROR = 500,
    HTTP_NOT_IMPLEMENTED = 501,      /* Transfer-Encoding on a request */
    HTTP_UNAVAILABLE = 503,          /* e.g. no free connection slot */
    HTTP_VERSION_NOT_SUPPORTED = 505,/* HTTP/0.x, HTTP/2 and up */
};

/* http_parse's results other than an error status (which are all >= 400). */
#define HTTP_NEED_MORE 0
#define HTTP_DONE      1

enum http_method {
    HTTP_METHOD_OTHER = 0, /* a valid token we do not serve: 405 */
    HTTP_METHOD_GET,
    HTTP_METHOD_HEAD,
};

/* A request as parsed. The strings point into the parser and stay valid
 * until http_parser_init; each is NULL until the part that sets it has been
 * accepted, so after an error some may still be NULL. */
struct http_request {
    enum http_method method;
    const char *method_name; /* as sent ("GET"), set with target and version */
    const char *target;      /* request-target as sent, query included */
    const char *version;     /* "HTTP/1.0" or "HTTP/1.1" (or "HTTP/1.5": minor 1) */
    int minor;               /* 0 for HTTP/1.0, 1 for HTTP/1.1 and later 1.x */
    const char *path;        /* decoded, normalised: "/", "/a/b", "/dir/" */
    const char *host;        /* the Host value, trimmed; NULL without one */
    bool keep_alive;         /* RFC 9112 §9.3; meaningful after HTTP_DONE */
};

/* One per connection (about 10 KiB). Only req is for reading. */
struct http_request_parser {
    struct http_request req;
    /* Private to http.c. Everything up to buf is zeroed by http_parser_init. */
    int status;              /* HTTP_NEED_MORE, HTTP_DONE or the error */
    bool in_headers;         /* the request line is done */
    size_t total;            /* bytes of this request taken so far */
    size_t len;              /* bytes in buf */
    size_t line;             /* where the current line starts in buf */
    size_t target_start;     /* request line: offset after its first SP, 0 before it */
    bool target_end;         /* request line: its second SP has been seen */
    unsigned fields;         /* header lines so far */
    bool host_seen, length_seen, coding_seen, conn_close, conn_keep_alive;
    uint64_t content_length; /* saturated */
    char buf[HTTP_HEAD_MAX];
    char path[HTTP_PATH_MAX];
};

/* Make p ready for a request: before the first one on a connection, and
 * again after each HTTP_DONE (which invalidates the previous p->req). */
void http_parser_init(struct http_request_parser *p);

/*
 * Feed the next len bytes a connection received. Returns
 *   HTTP_NEED_MORE  all len bytes taken, the head is not complete yet;
 *   HTTP_DONE       p->req is a GET or HEAD request without a body; the
 *                   head ended at data[*consumed - 1], and what follows is
 *                   the next (pipelined) request: http_parser_init, then
 *                   feed it again;
 *   400..505        the request is refused with that status; the server
 *                   answers with it and closes the connection.
 * *consumed is the number of bytes of data taken. Once DONE or an error
 * has been returned, every later call returns it again and takes nothing.
 * The result does not depend on how the bytes are split between calls.
 */
int http_parse(struct http_request_parser *p, const void *data, size_t len, size_t *consumed);

/* No byte of a request has arrived since http_parser_init (empty lines
 * before a request do not count): a connection that times out or is
 * closed now can be closed without an answer; otherwise answer 408. */
bool http_parser_idle(const struct http_request_parser *p);

/*
 * The path of a request-target, as http_parse computes req.path: the
 * origin-form "/p?q" or the absolute-form "http://authority/p?q" (any host)
 * loses its query; %XX escapes are decoded (%2F becomes a '/'); then "."
 * segments and empty segments go and ".." removes the segment before it.
 * 400 for any other form, a byte outside '!'..'~', a raw '#' or '\',
 * a bad escape, a decoded control byte (%00-%1F, %7F) or '\', and a ".."
 * that would climb above "/". 414 if out[outlen] is too small (it never
 * is with HTTP_PATH_MAX bytes and a target from http_parse). A trailing
 * '/' is kept ("/a/.." gives "/").
 */
int http_normalize_target(const char *target, char *out, size_t outlen);

/*
 * The file-system path of a request path: root (say "/www"; "" or "/" for
 * the whole volume) followed by path normalised again, without its
 * trailing '/' ("/" gives "/www", "/docs/" gives "/www/docs"). 400 if path
 * does not start with '/', holds a control byte or '\', or climbs above
 * the root; 414 if out[outlen] is too small.
 */
int http_map_path(const char *path, const char *root, char *out, size_t outlen);

/* path (a req.path) ends with '/': it may only name a directory. */
bool http_path_is_dir(const char *path);

/* Append "/index.html" to a file-system path; 414 if it does not fit. */
int http_append_index(char *fspath, size_t outlen);

/* The Content-Type for a file, by the extension of its last path segment,
 * ignoring case; text types carry "; charset=utf-8". HTTP_MIME_DEFAULT for
 * an unknown or missing extension. */
const char *http_mime_type(const char *path);

/* "Not Found" for 404, "Unknown" for a status not in enum http_status. */
const char *http_reason(int status);
/* A small HTML page for an error status (all of enum http_status but
 * 200); NULL for 200 and unknown statuses. */
const char *http_error_body(int status);

/* What http_format_head writes. */
struct http_response {
    int status;
    const char *content_type;   /* NULL: no Content-Type */
    uint64_t content_length;    /* always sent, also for HEAD */
    bool keep_alive;            /* Connection: keep-alive, else close */
    const char *extra;          /* more header lines, each ending "\r\n"; may be NULL */
    int64_t date;               /* unix seconds for Date; < 0: no Date */
};

/*
 * The status line and header fields of a response, through the empty line:
 *   HTTP/1.1 <status> <reason>, Server: fumi, Date, Content-Type,
 *   Content-Length, Allow: GET, HEAD (for 405 only), Connection, extra.
 * Returns the length written (NUL-terminated), or 0 if buf[len] is too
 * small: a head is never truncated.
 */
size_t http_format_head(const struct http_response *r, char *buf, size_t len);

/* A whole error response: head (text/html) and http_error_body, or the
 * head alone with head_only (a HEAD request). A status without an error
 * page is sent as 500. Returns the length, or 0 if buf[len] is too small
 * (never with HTTP_RESPONSE_MAX). */
size_t http_format_error(int status, bool head_only, bool keep_alive, int64_t date, char *buf,
                         size_t len);

/* "Location: <path, %-encoded>/\r\n", the extra header of a 301 that sends
 * a directory asked for without its trailing '/' to path + "/". Returns the
 * length, or 0 if buf[len] is too small. */
size_t http_format_location(const char *path, char *buf, size_t len);

/* The IMF-fixdate of unix_seconds ("Thu, 01 Jan 1970 00:00:00 GMT").
 * Returns 29, or 0 if len < HTTP_DATE_SIZE or the year is past 9999. */
size_t http_format_date(uint64_t unix_seconds, char *buf, size_t len);

/*
 * One access-log line (no newline):
 *   10.0.2.2:51234 "GET /index.html HTTP/1.1" 200 1234 0.734ms
 * peer as the server loop prints it (NULL: "-"); the request line as sent,
 * "-" when req or its request line is missing, with '"', '\' and bytes
 * outside ' '..'~' written as \xHH; bytes: the body bytes sent; the
 * duration only when duration_us >= 0. Truncated to fit buf[len]; returns
 * the length written.
 */
size_t http_format_log(char *buf, size_t len, const char *peer, const struct http_request *req,
                       int status, uint64_t bytes, int64_t duration_us);
