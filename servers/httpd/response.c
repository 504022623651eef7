/*
 * What httpd writes: status lines and header fields, error pages, the
 * Location of a directory redirect, IMF-fixdate dates (RFC 9110 §5.6.7)
 * and access-log lines. Everything is built with a small appender that
 * notes when the buffer is full, so a head is either whole or not written
 * at all, and a log line is cut short.
 */
#include "http.h"
#include "http_int.h"

#include <common/string.h>

/* Appends to buf[len], always leaving room for the NUL. */
struct out {
    char *buf;
    size_t len, pos;
    bool full;
};

static void put_char(struct out *o, char c) {
    if (o->pos + 1 < o->len)
        o->buf[o->pos++] = c;
    else
        o->full = true;
}

static void put_str(struct out *o, const char *s) {
    while (*s)
        put_char(o, *s++);
}

static void put_uint(struct out *o, uint64_t v, int min_digits) {
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v > 0 || n < min_digits);
    while (n > 0)
        put_char(o, digits[--n]);
}

static void put_hex_byte(struct out *o, const char *prefix, uint8_t b) {
    static const char hex[] = "0123456789ABCDEF";
    put_str(o, prefix);
    put_char(o, hex[b >> 4]);
    put_char(o, hex[b & 15]);
}

/* NUL-terminate; the length, or 0 when something did not fit. */
static size_t finish_whole(struct out *o) {
    if (o->len > 0)
        o->buf[o->pos] = '\0';
    return o->full ? 0 : o->pos;
}

#define PAGE(code, reason)                                                          \
    {code, reason,                                                                  \
     "<!DOCTYPE html>\n<html><head><title>" #code " " reason "</title></head>\n"  \
     "<body><h1>" #code " " reason "</h1></body></html>\n"}

static const struct {
    int status;
    const char *reason;
    const char *body;
} statuses[] = {
    {HTTP_OK, "OK", NULL},
    PAGE(301, "Moved Permanently"),
    PAGE(400, "Bad Request"),
    PAGE(404, "Not Found"),
    PAGE(405, "Method Not Allowed"),
    PAGE(408, "Request Timeout"),
    PAGE(413, "Content Too Large"),
    PAGE(414, "URI Too Long"),
    PAGE(431, "Request Header Fields Too Large"),
    PAGE(500, "Internal Server Error"),
    PAGE(501, "Not Implemented"),
    PAGE(503, "Service Unavailable"),
    PAGE(505, "HTTP Version Not Supported"),
};

const char *http_reason(int status) {
    for (size_t i = 0; i < ARRAY_SIZE(statuses); i++) {
        if (statuses[i].status == status)
            return statuses[i].reason;
    }
    return "Unknown";
}

const char *http_error_body(int status) {
    for (size_t i = 0; i < ARRAY_SIZE(statuses); i++) {
        if (statuses[i].status == status)
            return statuses[i].body;
    }
    return NULL;
}

static void put_field(struct out *o, const char *name, const char *value) {
    put_str(o, name);
    put_str(o, ": ");
    put_str(o, value);
    put_str(o, "\r\n");
}

size_t http_format_head(const struct http_response *r, char *buf, size_t len) {
    struct out o = {buf, len, 0, false};
    put_str(&o, "HTTP/1.1 ");
    put_uint(&o, (uint64_t) r->status, 3);
    put_char(&o, ' ');
    put_str(&o, http_reason(r->status));
    put_str(&o, "\r\n");
    put_field(&o, "Server", "fumi");
    char date[HTTP_DATE_SIZE];
    if (r->date >= 0 && http_format_date((uint64_t) r->date, date, sizeof(date)) > 0)
        put_field(&o, "Date", date);
    if (r->content_type)
        put_field(&o, "Content-Type", r->content_type);
    put_str(&o, "Content-Length: ");
    put_uint(&o, r->content_length, 1);
    put_str(&o, "\r\n");
    if (r->status == HTTP_METHOD_NOT_ALLOWED)
        put_field(&o, "Allow", "GET, HEAD");
    put_field(&o, "Connection", r->keep_alive ? "keep-alive" : "close");
    if (r->extra)
        put_str(&o, r->extra);
    put_str(&o, "\r\n");
    return finish_whole(&o);
}

size_t http_format_error(int status, bool head_only, bool keep_alive, int64_t date, char *buf,
                         size_t len) {
    const char *body = http_error_body(status);
    if (!body) {
        status = HTTP_INTERNAL_ERROR;
        body = http_error_body(status);
    }
    struct http_response r = {
        .status = status,
        .content_type = "text/html; charset=utf-8",
        .content_length = strlen(body),
        .keep_alive = keep_alive,
        .date = date,
    };
    size_t n = http_format_head(&r, buf, len);
    if (n == 0 || head_only)
        return n;
    struct out o = {buf, len, n, false};
    put_str(&o, body);
    return finish_whole(&o);
}

/* pchar and '/' stay (RFC 3986 §3.3); every other byte is %-encoded. */
static bool location_byte_plain(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("-._~!$&'()*+,;=:@/", c) != NULL;
}

size_t http_format_location(const char *path, char *buf, size_t len) {
    struct out o = {buf, len, 0, false};
    put_str(&o, "Location: ");
    for (const char *c = path; *c; c++) {
        if (location_byte_plain(*c))
            put_char(&o, *c);
        else
            put_hex_byte(&o, "%", (uint8_t) *c);
    }
    put_str(&o, "/\r\n");
    return finish_whole(&o);
}

/* Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
 * civil_from_days: years counted from March, in 400-year eras). */
static void civil_from_days(uint64_t days, uint64_t *year, unsigned *month, unsigned *day) {
    uint64_t z = days + 719468;
    uint64_t era = z / 146097;
    unsigned doe = (unsigned) (z - era * 146097);                         /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    unsigned mp = (5 * doy + 2) / 153;                                    /* March = 0 */
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = yoe + era * 400 + (*month <= 2);
}

size_t http_format_date(uint64_t unix_seconds, char *buf, size_t len) {
    static const char weekdays[7][4] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    uint64_t days = unix_seconds / 86400, secs = unix_seconds % 86400, year;
    unsigned month, day;
    if (len < HTTP_DATE_SIZE || days > 2932896)  /* 9999-12-31 */
        return 0;
    civil_from_days(days, &year, &month, &day);
    struct out o = {buf, len, 0, false};
    put_str(&o, weekdays[days % 7]);
    put_str(&o, ", ");
    put_uint(&o, day, 2);
    put_char(&o, ' ');
    put_str(&o, months[month - 1]);
    put_char(&o, ' ');
    put_uint(&o, year, 4);
    put_char(&o, ' ');
    put_uint(&o, secs / 3600, 2);
    put_char(&o, ':');
    put_uint(&o, secs / 60 % 60, 2);
    put_char(&o, ':');
    put_uint(&o, secs % 60, 2);
    put_str(&o, " GMT");
    return finish_whole(&o);
}

static void put_escaped(struct out *o, const char *s) {
    for (; *s; s++) {
        if (*s < ' ' || *s > '~' || *s == '"' || *s == '\\')
            put_hex_byte(o, "\\x", (uint8_t) *s);
        else
            put_char(o, *s);
    }
}

static void put_request_line(struct out *o, const struct http_request *req) {
    if (!req || !req->method_name) {
        put_char(o, '-');
        return;
    }
    put_escaped(o, req->method_name);
    put_char(o, ' ');
    put_escaped(o, req->target);
    put_char(o, ' ');
    put_escaped(o, req->version);
}

size_t http_format_log(char *buf, size_t len, const char *peer, const struct http_request *req,
                       int status, uint64_t bytes, int64_t duration_us) {
    struct out o = {buf, len, 0, false};
    put_str(&o, peer ? peer : "-");
    put_str(&o, " \"");
    put_request_line(&o, req);
    put_str(&o, "\" ");
    put_uint(&o, (uint64_t) (status < 0 ? 0 : status), 1);
    put_char(&o, ' ');
    put_uint(&o, bytes, 1);
    if (duration_us >= 0) {
        put_char(&o, ' ');
        put_uint(&o, (uint64_t) duration_us / 1000, 1);
        put_char(&o, '.');
        put_uint(&o, (uint64_t) duration_us % 1000, 3);
        put_str(&o, "ms");
    }
    if (len > 0)
        buf[o.pos] = '\0';
    return o.pos;
}
