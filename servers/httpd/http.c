/*
 * The request parser (RFC 9112 §2-3, §6, §9.3). The bytes of a connection
 * come in pieces of any size; a request comes out once its head is
 * complete, or the status of the first thing wrong with it.
 *
 * Bytes are taken one at a time into buf, so each limit trips at the exact
 * byte that passes it, however the input is split. Every complete line is
 * then checked and interpreted in place: its end becomes a NUL (and the
 * request line's two spaces too), so method, target, version and the Host
 * value point into buf. Header fields other than Host, Connection,
 * Content-Length and Transfer-Encoding are checked for syntax only.
 *
 * Leniencies, all allowed by RFC 9112: a line may end in a bare LF, and
 * empty lines before the request line are skipped (they count towards
 * HTTP_HEAD_MAX). Everything else that is malformed is a 400.
 */
#include "http.h"
#include "http_int.h"

#include <common/string.h>

void http_parser_init(struct http_request_parser *p) {
    memset(p, 0, offsetof_(struct http_request_parser, buf));
}

bool http_parser_idle(const struct http_request_parser *p) {
    return p->status == HTTP_NEED_MORE && !p->in_headers && p->len == 0;
}

static bool all_tchar(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!http_is_tchar(s[i]))
            return false;
    }
    return n > 0;
}

/* "HTTP/1.x": the minor version (1.2 and up are served as 1.1, RFC 9110
 * §2.5); -HTTP_VERSION_NOT_SUPPORTED for another major, -400 otherwise. */
static int parse_version(const char *v, size_t n) {
    if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || !isdigit_(v[5]) || v[6] != '.' ||
        !isdigit_(v[7]))
        return -HTTP_BAD_REQUEST;
    if (v[5] != '1')
        return -HTTP_VERSION_NOT_SUPPORTED;
    return v[7] == '0' ? 0 : 1;
}

static size_t find_space(const char *s, size_t from, size_t n) {
    while (from < n && s[from] != ' ')
        from++;
    return from;
}

/* method SP request-target SP HTTP-version, with single spaces. Once it
 * splits into those three, they are kept for the log whatever follows. */
static int request_line(struct http_request_parser *p, char *s, size_t n) {
    size_t sp1 = find_space(s, 0, n);
    size_t sp2 = find_space(s, sp1 + 1, n);
    if (sp2 >= n || !all_tchar(s, sp1) || sp2 == sp1 + 1)
        return HTTP_BAD_REQUEST;
    if (sp2 - sp1 - 1 > HTTP_URI_MAX)
        return HTTP_URI_TOO_LONG;
    if (strnlen(s + sp1 + 1, sp2 - sp1 - 1) != sp2 - sp1 - 1)
        return HTTP_BAD_REQUEST;  /* a NUL would hide the rest of the target */
    s[sp1] = s[sp2] = '\0';
    struct http_request *r = &p->req;
    r->method_name = s;
    r->target = s + sp1 + 1;
    r->version = s + sp2 + 1;
    int minor = parse_version(r->version, n - sp2 - 1);
    if (minor < 0)
        return -minor;
    r->minor = minor;
    if (strcmp(s, "GET") == 0)
        r->method = HTTP_METHOD_GET;
    else if (strcmp(s, "HEAD") == 0)
        r->method = HTTP_METHOD_HEAD;
    else
        return HTTP_METHOD_NOT_ALLOWED;
    int status = http_normalize_target(r->target, p->path, sizeof(p->path));
    if (status != 0)
        return status;
    r->path = p->path;
    p->in_headers = true;
    return HTTP_NEED_MORE;
}

/* uri-host [":" port], loosely: the characters of a reg-name, an IPv4 or
 * an IP-literal, and a port. */
static bool host_value_ok(const char *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            continue;
        if (c == '\0' || !strchr("-._~!$&'()*+,;=:[]%", c))
            return false;
    }
    return true;
}

/* Connection: a list of options; only close and keep-alive mean anything. */
static void connection_options(struct http_request_parser *p, const char *v, size_t n) {
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (http_word_is(v + start, i - start, "close"))
            p->conn_close = true;
        else if (http_word_is(v + start, i - start, "keep-alive"))
            p->conn_keep_alive = true;
    }
}

/* Content-Length: 1*DIGIT, once (a list, even "5, 5", is refused). */
static int content_length(struct http_request_parser *p, const char *v, size_t n) {
    if (p->length_seen || n == 0)
        return HTTP_BAD_REQUEST;
    p->length_seen = true;
    uint64_t value = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit_(v[i]))
            return HTTP_BAD_REQUEST;
        value = value > (UINT64_MAX - 9) / 10 ? UINT64_MAX : value * 10 + (uint64_t) (v[i] - '0');
    }
    p->content_length = value;
    return HTTP_NEED_MORE;
}

static int header_field(struct http_request_parser *p, const char *name, size_t name_len,
                        const char *v, size_t n) {
    if (http_word_is(name, name_len, "host")) {
        if (p->host_seen || !host_value_ok(v, n))
            return HTTP_BAD_REQUEST;
        p->host_seen = true;
        p->req.host = v;
    } else if (http_word_is(name, name_len, "connection")) {
        connection_options(p, v, n);
    } else if (http_word_is(name, name_len, "content-length")) {
        return content_length(p, v, n);
    } else if (http_word_is(name, name_len, "transfer-encoding")) {
        p->coding_seen = true;
    }
    return HTTP_NEED_MORE;
}

/* field-vchar, SP, HTAB and obs-text: anything but the controls. */
static bool value_byte_ok(char c) {
    uint8_t b = (uint8_t) c;
    return b == '\t' || (b >= ' ' && b != 0x7f);
}

/* field-name ":" OWS field-value OWS. A leading space (obs-fold, or
 * whitespace after the request line) and a space before ':' are 400. */
static int header_line(struct http_request_parser *p, char *s, size_t n) {
    if (++p->fields > HTTP_FIELDS_MAX)
        return HTTP_FIELDS_TOO_LARGE;
    size_t colon = 0;
    while (colon < n && http_is_tchar(s[colon]))
        colon++;
    if (colon == 0 || colon == n || s[colon] != ':')
        return HTTP_BAD_REQUEST;
    char *v = s + colon + 1, *end = s + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    for (const char *c = v; c < end; c++) {
        if (!value_byte_ok(*c))
            return HTTP_BAD_REQUEST;
    }
    *end = '\0';
    return header_field(p, s, colon, v, (size_t) (end - v));
}

/* The empty line: the checks that need every field, then keep-alive. */
static int end_of_head(struct http_request_parser *p) {
    struct http_request *r = &p->req;
    if (r->minor == 1 && !p->host_seen)
        return HTTP_BAD_REQUEST;
    if (p->coding_seen)  /* RFC 9112 §6.1 */
        return p->length_seen || r->minor == 0 ? HTTP_BAD_REQUEST : HTTP_NOT_IMPLEMENTED;
    if (p->content_length > 0)
        return HTTP_CONTENT_TOO_LARGE;
    r->keep_alive = !p->conn_close && (r->minor == 1 || p->conn_keep_alive);
    return HTTP_DONE;
}

/* buf[line..len) is a line with its LF: cut off the line end, act on it. */
static int end_of_line(struct http_request_parser *p) {
    char *s = p->buf + p->line;
    size_t n = p->len - 1 - p->line;
    if (n > 0 && s[n - 1] == '\r')
        n--;
    s[n] = '\0';
    p->line = p->len;
    if (p->in_headers)
        return n == 0 ? end_of_head(p) : header_line(p, s, n);
    if (n == 0) {  /* an empty line before the request line */
        p->len = p->line = 0;
        return HTTP_NEED_MORE;
    }
    return request_line(p, s, n);
}

/* In the request line the target is what follows the first space: 414 as
 * soon as it is longer than HTTP_URI_MAX, before the line is complete. */
static bool target_too_long(struct http_request_parser *p, char c) {
    if (c == ' ') {
        if (p->target_start == 0)
            p->target_start = p->len;
        else
            p->target_end = true;
        return false;
    }
    return p->target_start != 0 && !p->target_end && c != '\r' && c != '\n' &&
           p->len - p->target_start > HTTP_URI_MAX;
}

static int parse_byte(struct http_request_parser *p, char c) {
    if (p->total++ == HTTP_HEAD_MAX)
        return p->in_headers ? HTTP_FIELDS_TOO_LARGE : HTTP_BAD_REQUEST;
    p->buf[p->len++] = c;
    if (!p->in_headers && target_too_long(p, c))
        return HTTP_URI_TOO_LONG;
    return c == '\n' ? end_of_line(p) : HTTP_NEED_MORE;
}

int http_parse(struct http_request_parser *p, const void *data, size_t len, size_t *consumed) {
    const char *d = data;
    size_t i = 0;
    while (p->status == HTTP_NEED_MORE && i < len)
        p->status = parse_byte(p, d[i++]);
    *consumed = i;
    return p->status;
}
