/*
 * Host tests of the HTTP/1.1 core of httpd (servers/httpd without its IPC
 * glue): every status the parser can give, each limit at and one past its
 * boundary, the keep-alive and Host rules, path decoding and traversal,
 * pipelining, the response and log formatters, dates and content types,
 * and 100k mutated requests that must parse the same whole and in random
 * pieces without upsetting ASan or UBSan.
 *
 * Every request goes through parse_n, which feeds it whole and a byte at
 * a time and checks that both give the same result.
 */
#include "check.h"

#include <string.h>

#include "../../servers/httpd/http.h"

static struct http_request_parser pa, pb;

static int feed_whole(struct http_request_parser *p, const void *d, size_t n, size_t *consumed) {
    http_parser_init(p);
    return http_parse(p, d, n, consumed);
}

static int feed_bytes(struct http_request_parser *p, const void *d, size_t n, size_t *consumed) {
    const char *s = d;
    int status = HTTP_NEED_MORE;
    http_parser_init(p);
    *consumed = 0;
    for (size_t i = 0; i < n && status == HTTP_NEED_MORE; i++) {
        size_t c;
        status = http_parse(p, s + i, 1, &c);
        *consumed += c;
    }
    return status;
}

/* Parse d[n] whole (into pa) and a byte at a time (into pb): they must
 * agree. Returns the status; *consumed if wanted. */
static int parse_c(const void *d, size_t n, size_t *consumed) {
    size_t c1, c2;
    int s1 = feed_whole(&pa, d, n, &c1);
    int s2 = feed_bytes(&pb, d, n, &c2);
    CHECK_EQ_INT(s1, s2);
    CHECK_EQ_UINT(c1, c2);
    CHECK(c1 <= n);
    if (s1 == HTTP_NEED_MORE)
        CHECK_EQ_UINT(c1, n);
    if (s1 == HTTP_DONE) {
        CHECK_EQ_STR(pa.req.path, pb.req.path);
        CHECK_EQ_INT(pa.req.keep_alive, pb.req.keep_alive);
        CHECK_EQ_INT(pa.req.method, pb.req.method);
    }
    if (consumed)
        *consumed = c1;
    return s1;
}

static int parse_n(const void *d, size_t n) {
    return parse_c(d, n, NULL);
}

static int parse(const char *s) {
    return parse_n(s, strlen(s));
}

/* A GET of target with a Host, for the target tests. */
static int get(const char *target) {
    char req[HTTP_HEAD_MAX];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
    return parse(req);
}

/* ---- request line -------------------------------------------------------- */

TEST(simple_get) {
    const char *req = "GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
    size_t consumed;
    CHECK_EQ_INT(parse_c(req, strlen(req), &consumed), HTTP_DONE);
    CHECK_EQ_UINT(consumed, strlen(req));
    CHECK_EQ_INT(pa.req.method, HTTP_METHOD_GET);
    CHECK_EQ_STR(pa.req.method_name, "GET");
    CHECK_EQ_STR(pa.req.target, "/index.html?x=1");
    CHECK_EQ_STR(pa.req.version, "HTTP/1.1");
    CHECK_EQ_INT(pa.req.minor, 1);
    CHECK_EQ_STR(pa.req.path, "/index.html");
    CHECK_EQ_STR(pa.req.host, "example.com");
    CHECK(pa.req.keep_alive);
}

TEST(head_request) {
    CHECK_EQ_INT(parse("HEAD / HTTP/1.0\r\n\r\n"), HTTP_DONE);
    CHECK_EQ_INT(pa.req.method, HTTP_METHOD_HEAD);
    CHECK_EQ_INT(pa.req.minor, 0);
    CHECK_EQ_STR(pa.req.path, "/");
    CHECK(pa.req.host == NULL);
    CHECK(!pa.req.keep_alive);
}

TEST(bare_lf_and_mixed_line_ends) {
    CHECK_EQ_INT(parse("GET / HTTP/1.1\nHost: x\n\n"), HTTP_DONE);
    CHECK_EQ_STR(pa.req.host, "x");
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: x\n\r\n"), HTTP_DONE);
    CHECK_EQ_INT(parse("GET / HTTP/1.1\nHost: x\r\n\n"), HTTP_DONE);
}

TEST(leading_empty_lines_skipped) {
    size_t consumed;
    const char *req = "\r\n\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK_EQ_INT(parse_c(req, strlen(req), &consumed), HTTP_DONE);
    CHECK_EQ_UINT(consumed, strlen(req));
    CHECK_EQ_STR(pa.req.method_name, "GET");
    CHECK_EQ_STR(pa.req.path, "/a");
}

TEST(incomplete_needs_more) {
    CHECK_EQ_INT(parse(""), HTTP_NEED_MORE);
    CHECK_EQ_INT(parse("GET / HTTP/1.1"), HTTP_NEED_MORE);
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: x\r\n"), HTTP_NEED_MORE);
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: x\r\n\r"), HTTP_NEED_MORE);
}

TEST(request_line_syntax) {
    static const char *bad[] = {
        "GET  / HTTP/1.1\r\n\r\n",     "GET /  HTTP/1.1\r\n\r\n",  "GET / HTTP/1.1 \r\n\r\n",
        " GET / HTTP/1.1\r\n\r\n",     "GET\t/\tHTTP/1.1\r\n\r\n", "GET /\r\n\r\n",
        "GET\r\n\r\n",                 "GET / \r\n\r\n",           "/ HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\rX\r\n\r\n",   "GET /a\rb HTTP/1.1\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n",
        "G\xc3\x89T / HTTP/1.1\r\n\r\n", "GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n", " \r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i]) != HTTP_BAD_REQUEST)
            CHECK_EQ_STR(bad[i], "(gave no 400)");
    }
}

TEST(nul_in_request_line) {
    static const char target[] = "GET /a\0/../../etc HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK_EQ_INT(parse_n(target, sizeof(target) - 1), HTTP_BAD_REQUEST);
    static const char method[] = "G\0T / HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK_EQ_INT(parse_n(method, sizeof(method) - 1), HTTP_BAD_REQUEST);
    static const char version[] = "GET / HTTP/1.1\0\r\nHost: x\r\n\r\n";
    CHECK_EQ_INT(parse_n(version, sizeof(version) - 1), HTTP_BAD_REQUEST);
}

TEST(methods) {
    static const char *other[] = {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE",
                                  "get", "Head", "FOO-BAR", "M!#$%&'*+.^_`|~9"};
    char req[128];
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        snprintf(req, sizeof(req), "%s /x HTTP/1.1\r\nHost: x\r\n\r\n", other[i]);
        CHECK_EQ_INT(parse(req), HTTP_METHOD_NOT_ALLOWED);
        CHECK_EQ_STR(pa.req.method_name, other[i]);
        CHECK_EQ_INT(pa.req.method, HTTP_METHOD_OTHER);
        CHECK_EQ_STR(pa.req.target, "/x");
    }
    CHECK_EQ_INT(parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_METHOD_NOT_ALLOWED);
    CHECK_EQ_INT(parse("CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_METHOD_NOT_ALLOWED);
    /* 405 is known at the request line, before the body's headers. */
    CHECK_EQ_INT(parse("POST / HTTP/1.1\r\n"), HTTP_METHOD_NOT_ALLOWED);
    CHECK_EQ_INT(parse("G<T / HTTP/1.1\r\n\r\n"), HTTP_BAD_REQUEST);
    CHECK(pa.req.method_name == NULL);
}

TEST(versions) {
    CHECK_EQ_INT(parse("GET / HTTP/1.0\r\n\r\n"), HTTP_DONE);
    CHECK_EQ_INT(pa.req.minor, 0);
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_DONE);
    CHECK_EQ_INT(pa.req.minor, 1);
    CHECK_EQ_INT(parse("GET / HTTP/1.2\r\nHost: x\r\n\r\n"), HTTP_DONE);
    CHECK_EQ_INT(pa.req.minor, 1);
    CHECK(pa.req.keep_alive);
    CHECK_EQ_INT(parse("GET / HTTP/1.9\r\n\r\n"), HTTP_BAD_REQUEST); /* 1.x needs Host */
    static const char *unsupported[] = {"HTTP/2.0", "HTTP/0.9", "HTTP/3.0", "HTTP/9.9"};
    static const char *bad[] = {"HTTP/1.10", "http/1.1", "HTTP/1", "HTTP/1.", "HTTP/11",
                                "HTTPS/1.1", "HTTP/a.1", "HTTP/1.x", "HTTP 1.1", "HTTP/1,1"};
    char req[64];
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
        snprintf(req, sizeof(req), "GET / %s\r\nHost: x\r\n\r\n", unsupported[i]);
        CHECK_EQ_INT(parse(req), HTTP_VERSION_NOT_SUPPORTED);
        CHECK_EQ_STR(pa.req.version, unsupported[i]);  /* kept for the log */
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(req, sizeof(req), "GET / %s\r\nHost: x\r\n\r\n", bad[i]);
        CHECK_EQ_INT(parse(req), HTTP_BAD_REQUEST);
    }
    /* The version is checked before the method. */
    CHECK_EQ_INT(parse("POST / HTTP/2.0\r\n\r\n"), HTTP_VERSION_NOT_SUPPORTED);
}

/* ---- header fields ------------------------------------------------------- */

TEST(field_syntax) {
    static const char *bad[] = {
        "Host : x\r\n",          "Host\t: x\r\n",        "Host: x\r\nX-A\r\n",
        "Host: x\r\n: v\r\n",    " Host: x\r\n",         "\tHost: x\r\n",
        "Host: x\r\nX-A: a\r\n b\r\n",                   "Host: x\r\nX-A: a\r\n\tb\r\n",
        "Host: x\r\nX-A: a\x01" "b\r\n",                 "Host: x\r\nX-A: a\x7f" "b\r\n",
        "Host: x\r\nX-A: a\rb\r\n",                      "Host: x\r\nX-A: a\r\r\n",
        "Host: x\r\nX\x80" "A: b\r\n",                   "Host: x\r\nX(A): b\r\n",
        "Host: x\r\nX A: b\r\n",
    };
    char req[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n%s\r\n", bad[i]);
        if (parse(req) != HTTP_BAD_REQUEST)
            CHECK_EQ_STR(bad[i], "(gave no 400)");
    }
    static const char nul[] = "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n";
    CHECK_EQ_INT(parse_n(nul, sizeof(nul) - 1), HTTP_BAD_REQUEST);
}

TEST(field_values_accepted) {
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost:x\r\n\r\n"), HTTP_DONE);
    CHECK_EQ_STR(pa.req.host, "x");
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: \t x \t \r\n\r\n"), HTTP_DONE);
    CHECK_EQ_STR(pa.req.host, "x");
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: x\r\nX-A:\r\nX-B: caf\xc3\xa9 a\tb\r\n"
                       "!#$%&'*+-.^_`|~09aZ: v\r\n\r\n"),
                 HTTP_DONE);
}

TEST(host_rules) {
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\n\r\n"), HTTP_BAD_REQUEST);
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nX-Host: x\r\n\r\n"), HTTP_BAD_REQUEST);
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), HTTP_BAD_REQUEST);
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), HTTP_BAD_REQUEST);
    CHECK_EQ_INT(parse("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"), HTTP_BAD_REQUEST);
    CHECK_EQ_INT(parse("GET http://a/ HTTP/1.1\r\n\r\n"), HTTP_BAD_REQUEST);
    static const char *good[] = {"", "a", "A.example:8080", "10.0.2.15:80", "[::1]:80",
                                 "xn--bcher-kva.example", "a%2Eb"};
    static const char *bad[] = {"a b", "a/b", "a@b", "a?b", "a#b", "a\"b", "a\\b", "a\xc3\xa9"};
    char req[128];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHOST: %s\r\n\r\n", good[i]);
        CHECK_EQ_INT(parse(req), HTTP_DONE);
        CHECK_EQ_STR(pa.req.host, good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(req, sizeof(req), "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", bad[i]);
        CHECK_EQ_INT(parse(req), HTTP_BAD_REQUEST);
    }
}

TEST(keep_alive_matrix) {
    static const struct {
        const char *version;
        const char *fields;
        bool keep_alive;
    } cases[] = {
        {"HTTP/1.1", "", true},
        {"HTTP/1.1", "Connection: close\r\n", false},
        {"HTTP/1.1", "Connection: Close\r\n", false},
        {"HTTP/1.1", "connection: CLOSE\r\n", false},
        {"HTTP/1.1", "Connection: keep-alive\r\n", true},
        {"HTTP/1.1", "Connection: Keep-Alive, Upgrade\r\n", true},
        {"HTTP/1.1", "Connection: upgrade, close\r\n", false},
        {"HTTP/1.1", "Connection: ,, close ,\r\n", false},
        {"HTTP/1.1", "Connection:\tclose\t\r\n", false},
        {"HTTP/1.1", "Connection: closed\r\n", true},
        {"HTTP/1.1", "Connection: \"close\"\r\n", true},
        {"HTTP/1.1", "Connection: keep-alive\r\nConnection: close\r\n", false},
        {"HTTP/1.1", "Connection:\r\n", true},
        {"HTTP/1.2", "", true},
        {"HTTP/1.0", "", false},
        {"HTTP/1.0", "Connection: keep-alive\r\n", true},
        {"HTTP/1.0", "Connection: KEEP-ALIVE\r\n", true},
        {"HTTP/1.0", "Connection: Keep-Alive\r\n", true},
        {"HTTP/1.0", "Connection: close\r\n", false},
        {"HTTP/1.0", "Connection: keep-alive, close\r\n", false},
        {"HTTP/1.0", "Connection: close\r\nConnection: keep-alive\r\n", false},
        {"HTTP/1.0", "Connection: foo,keep-alive\r\n", true},
        {"HTTP/1.0", "Connection: keep-alive-ish\r\n", false},
        {"HTTP/1.0", "Keep-Alive: timeout=5\r\n", false},
    };
    char req[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(req, sizeof(req), "GET / %s\r\nHost: x\r\n%s\r\n", cases[i].version,
                 cases[i].fields);
        CHECK_EQ_INT(parse(req), HTTP_DONE);
        if (pa.req.keep_alive != cases[i].keep_alive)
            CHECK_EQ_STR(req, "(keep_alive differs)");
    }
}

TEST(content_length) {
    static const struct {
        const char *fields;
        int status;
    } cases[] = {
        {"Content-Length: 0\r\n", HTTP_DONE},
        {"content-length: 000\r\n", HTTP_DONE},
        {"Content-Length: 5\r\n", HTTP_CONTENT_TOO_LARGE},
        {"Content-Length: 1\r\n", HTTP_CONTENT_TOO_LARGE},
        {"Content-Length: 99999999999999999999999999999\r\n", HTTP_CONTENT_TOO_LARGE},
        {"Content-Length: 18446744073709551616\r\n", HTTP_CONTENT_TOO_LARGE},
        {"Content-Length: 0\r\nContent-Length: 0\r\n", HTTP_BAD_REQUEST},
        {"Content-Length: 5\r\nContent-Length: 6\r\n", HTTP_BAD_REQUEST},
        {"Content-Length: 5, 5\r\n", HTTP_BAD_REQUEST},
        {"Content-Length: -1\r\n", HTTP_BAD_REQUEST},
        {"Content-Length: +1\r\n", HTTP_BAD_REQUEST},
        {"Content-Length: 0x10\r\n", HTTP_BAD_REQUEST},
        {"Content-Length: 1 0\r\n", HTTP_BAD_REQUEST},
        {"Content-Length:\r\n", HTTP_BAD_REQUEST},
        {"Content-Length: abc\r\n", HTTP_BAD_REQUEST},
    };
    char req[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: x\r\n%s\r\n", cases[i].fields);
        if (parse(req) != cases[i].status)
            CHECK_EQ_STR(req, "(wrong status)");
    }
    CHECK_EQ_INT(parse("HEAD / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"), HTTP_CONTENT_TOO_LARGE);
}

TEST(transfer_encoding) {
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
                 HTTP_NOT_IMPLEMENTED);
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: x\r\ntransfer-encoding: gzip, chunked\r\n\r\n"),
                 HTTP_NOT_IMPLEMENTED);
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                       "Content-Length: 0\r\n\r\n"),
                 HTTP_BAD_REQUEST);
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n"),
                 HTTP_BAD_REQUEST);
    CHECK_EQ_INT(parse("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), HTTP_BAD_REQUEST);
    /* Host is checked first. */
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), HTTP_BAD_REQUEST);
}

/* ---- limits -------------------------------------------------------------- */

/* A GET of exactly total bytes: the head grows through one padding field. */
static char *request_of_size(size_t total, const char *lead) {
    const char *head = "GET / HTTP/1.1\r\nHost: x\r\nX: ";
    size_t fixed = strlen(lead) + strlen(head) + 4;
    char *req = malloc(total + 1);
    CHECK(req && total > fixed);
    snprintf(req, total + 1, "%s%s", lead, head);
    memset(req + fixed - 4, 'p', total - fixed);
    memcpy(req + total - 4, "\r\n\r\n", 5);
    CHECK_EQ_UINT(strlen(req), total);
    return req;
}

TEST(head_size_limit) {
    static const char *leads[] = {"", "\r\n\r\n"};
    for (size_t i = 0; i < 2; i++) {
        char *req = request_of_size(HTTP_HEAD_MAX, leads[i]);
        size_t consumed;
        CHECK_EQ_INT(parse_c(req, HTTP_HEAD_MAX, &consumed), HTTP_DONE);
        CHECK_EQ_UINT(consumed, HTTP_HEAD_MAX);
        free(req);
        req = request_of_size(HTTP_HEAD_MAX + 1, leads[i]);
        CHECK_EQ_INT(parse_c(req, HTTP_HEAD_MAX + 1, &consumed), HTTP_FIELDS_TOO_LARGE);
        CHECK_EQ_UINT(consumed, HTTP_HEAD_MAX + 1);
        free(req);
    }
}

TEST(head_limit_in_request_line) {
    /* A method or version that fills the limit is a 400, not a 414/431. */
    char *req = malloc(HTTP_HEAD_MAX + 16);
    CHECK(req);
    memset(req, 'A', HTTP_HEAD_MAX + 16);
    size_t consumed;
    CHECK_EQ_INT(parse_c(req, HTTP_HEAD_MAX + 16, &consumed), HTTP_BAD_REQUEST);
    CHECK_EQ_UINT(consumed, HTTP_HEAD_MAX + 1);
    CHECK_EQ_INT(parse_c(req, HTTP_HEAD_MAX, &consumed), HTTP_NEED_MORE);
    memcpy(req, "GET / ", 6);
    CHECK_EQ_INT(parse_c(req, HTTP_HEAD_MAX + 16, &consumed), HTTP_BAD_REQUEST);
    /* Empty lines before the request line count too. */
    for (size_t i = 0; i < HTTP_HEAD_MAX + 16; i += 2)
        memcpy(req + i, "\r\n", 2);
    CHECK_EQ_INT(parse_c(req, HTTP_HEAD_MAX, &consumed), HTTP_NEED_MORE);
    CHECK_EQ_INT(parse_c(req, HTTP_HEAD_MAX + 16, &consumed), HTTP_BAD_REQUEST);
    CHECK_EQ_UINT(consumed, HTTP_HEAD_MAX + 1);
    free(req);
}

/* "GET /aaa... HTTP/1.1" with a target of target_len bytes. */
static char *long_target_request(size_t target_len, const char *method) {
    char *req = malloc(target_len + 64);
    CHECK(req);
    size_t m = strlen(method);
    memcpy(req, method, m);
    req[m] = ' ';
    req[m + 1] = '/';
    memset(req + m + 2, 'a', target_len - 1);
    strcpy(req + m + 1 + target_len, " HTTP/1.1\r\nHost: x\r\n\r\n");
    return req;
}

TEST(uri_limit) {
    char *req = long_target_request(HTTP_URI_MAX, "GET");
    CHECK_EQ_INT(parse(req), HTTP_DONE);
    CHECK_EQ_UINT(strlen(pa.req.target), HTTP_URI_MAX);
    CHECK_EQ_UINT(strlen(pa.req.path), HTTP_URI_MAX);
    free(req);
    req = long_target_request(HTTP_URI_MAX + 1, "GET");
    size_t consumed;
    CHECK_EQ_INT(parse_c(req, strlen(req), &consumed), HTTP_URI_TOO_LONG);
    /* Refused at the byte that passed the limit, not at the end of line. */
    CHECK_EQ_UINT(consumed, 4 + HTTP_URI_MAX + 1);
    CHECK_EQ_INT(parse_n(req, 4 + HTTP_URI_MAX), HTTP_NEED_MORE);
    free(req);
    req = long_target_request(HTTP_URI_MAX + 1, "POST");
    CHECK_EQ_INT(parse(req), HTTP_URI_TOO_LONG);
    free(req);
    /* A target of the limit without a version is malformed, not too long. */
    req = long_target_request(HTTP_URI_MAX, "GET");
    strcpy(req + 4 + HTTP_URI_MAX, "\r\n\r\n");
    CHECK_EQ_INT(parse(req), HTTP_BAD_REQUEST);
    free(req);
}

TEST(uri_limit_percent_encoded) {
    /* The limit is on the target as sent: 2048 bytes decode to fewer. */
    char *req = long_target_request(HTTP_URI_MAX, "GET");
    for (size_t i = 5; i + 3 <= 4 + HTTP_URI_MAX; i += 3)
        memcpy(req + i, "%41", 3);
    CHECK_EQ_INT(parse(req), HTTP_DONE);
    CHECK(strlen(pa.req.path) < HTTP_URI_MAX);
    free(req);
}

static char *many_fields(unsigned count) {
    char *req = malloc(32 + count * 16);
    CHECK(req);
    size_t n = (size_t) sprintf(req, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (unsigned i = 1; i < count; i++)
        n += (size_t) sprintf(req + n, "X-%u: %u\r\n", i, i);
    strcpy(req + n, "\r\n");
    return req;
}

TEST(field_count_limit) {
    char *req = many_fields(HTTP_FIELDS_MAX);
    CHECK_EQ_INT(parse(req), HTTP_DONE);
    free(req);
    req = many_fields(HTTP_FIELDS_MAX + 1);
    CHECK_EQ_INT(parse(req), HTTP_FIELDS_TOO_LARGE);
    free(req);
}

/* ---- targets and paths --------------------------------------------------- */

TEST(target_normalisation) {
    static const struct {
        const char *target, *path;
    } cases[] = {
        {"/", "/"},
        {"/index.html", "/index.html"},
        {"/a/b/", "/a/b/"},
        {"//a///b", "/a/b"},
        {"/./a/./b/.", "/a/b/"},
        {"/a/.", "/a/"},
        {"/a/..", "/"},
        {"/a/../", "/"},
        {"/a/../b", "/b"},
        {"/a/b/../../c/", "/c/"},
        {"/a/b/c/../../../d", "/d"},
        {"/a?x=1", "/a"},
        {"/a?x=/../..", "/a"},
        {"/?", "/"},
        {"/%41%62c", "/Abc"},
        {"/a%2Fb", "/a/b"},
        {"/a%2fb%2F", "/a/b/"},
        {"/%2e/a", "/a"},
        {"/a/%2E%2E/b", "/b"},
        {"/...", "/..."},
        {"/..a/b../.../", "/..a/b../.../"},
        {"/%25", "/%"},
        {"/%25%32%65", "/%2e"},
        {"/%C3%A9t%c3%a9.txt", "/\xc3\xa9t\xc3\xa9.txt"},
        {"/a%3Fb", "/a?b"},
        {"/a%20b", "/a b"},
        {"/a%23b", "/a#b"},
        {"/a\"b<c>", "/a\"b<c>"},
        {"http://example.com/a/b?q", "/a/b"},
        {"HTTP://Example.COM:8080", "/"},
        {"http://h?q", "/"},
        {"http://h/a/../b", "/b"},
    };
    char out[HTTP_PATH_MAX];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int status = http_normalize_target(cases[i].target, out, sizeof(out));
        if (status != 0)
            CHECK_EQ_STR(cases[i].target, "(refused)");
        CHECK_EQ_STR(out, cases[i].path);
        CHECK_EQ_INT(get(cases[i].target), HTTP_DONE);
        CHECK_EQ_STR(pa.req.path, cases[i].path);
    }
}

TEST(target_refused) {
    static const char *bad[] = {
        "*", "example.com:80", "https://x/", "http:///a", "http://", "http:/a", "a/b",
        "/a#frag", "/#", "/a\\b", "\\", "/%5C", "/%5c..", "/%00", "/a%00b", "/%0a", "/%0D",
        "/%7F", "/%1f", "/%", "/%4", "/%G1", "/%4g", "/a%", "/\x7f",
    };
    char out[HTTP_PATH_MAX];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (http_normalize_target(bad[i], out, sizeof(out)) != HTTP_BAD_REQUEST)
            CHECK_EQ_STR(bad[i], "(not refused)");
        if (get(bad[i]) != HTTP_BAD_REQUEST)
            CHECK_EQ_STR(bad[i], "(parser did not refuse)");
    }
    CHECK_EQ_INT(http_normalize_target("", out, sizeof(out)), HTTP_BAD_REQUEST);
}

TEST(traversal_refused) {
    static const char *bad[] = {
        "/..", "/../", "/../etc", "/../etc/passwd", "/a/../../x", "/a/b/../../../x",
        "/./../", "/%2e%2e/", "/%2E%2E", "/.%2e/", "/%2e./x", "/..%2f", "/..%2F..%2Fetc",
        "/a/..%2f..%2fx", "/a%2f..%2f..%2fx", "//..", "/a/./../..", "http://h/../x",
        "http://h/a/%2e%2e/%2e%2e/x",
    };
    char out[HTTP_PATH_MAX];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (http_normalize_target(bad[i], out, sizeof(out)) != HTTP_BAD_REQUEST)
            CHECK_EQ_STR(bad[i], "(not refused)");
        if (get(bad[i]) != HTTP_BAD_REQUEST)
            CHECK_EQ_STR(bad[i], "(parser did not refuse)");
        CHECK(pa.req.path == NULL);
    }
}

TEST(normalize_small_buffer) {
    char out[8];
    CHECK_EQ_INT(http_normalize_target("/abcdef", out, 8), 0);
    CHECK_EQ_STR(out, "/abcdef");
    CHECK_EQ_INT(http_normalize_target("/abcdefg", out, 8), HTTP_URI_TOO_LONG);
    CHECK_EQ_INT(http_normalize_target("/%41%41%41%41%41%41", out, 8), 0);
    CHECK_EQ_INT(http_normalize_target("http://h", out, 1), HTTP_URI_TOO_LONG);
    CHECK_EQ_INT(http_normalize_target("http://h", out, 2), 0);
    CHECK_EQ_STR(out, "/");
    CHECK_EQ_INT(http_normalize_target("/", out, 0), HTTP_URI_TOO_LONG);
}

static void check_map(const char *path, const char *root, const char *want) {
    char out[HTTP_PATH_MAX + 16];
    CHECK_EQ_INT(http_map_path(path, root, out, sizeof(out)), 0);
    CHECK_EQ_STR(out, want);
}

TEST(map_path) {
    check_map("/", "/www", "/www");
    check_map("/a/b/", "/www", "/www/a/b");
    check_map("/index.html", "/www/", "/www/index.html");
    check_map("/index.html", "/www//", "/www/index.html");
    check_map("/", "/", "/");
    check_map("/", "", "/");
    check_map("/a", "", "/a");
    check_map("/a/", "/", "/a");
    check_map("/a/./b//c", "/www", "/www/a/b/c");
    check_map("/a/../b", "/www", "/www/b");
    check_map("/a b/\xc3\xa9", "/www", "/www/a b/\xc3\xa9");
    char out[64];
    CHECK_EQ_INT(http_map_path("/../x", "/www", out, sizeof(out)), HTTP_BAD_REQUEST);
    CHECK_EQ_INT(http_map_path("/a/../..", "/www", out, sizeof(out)), HTTP_BAD_REQUEST);
    CHECK_EQ_INT(http_map_path("/..", "", out, sizeof(out)), HTTP_BAD_REQUEST);
    CHECK_EQ_INT(http_map_path("a", "/www", out, sizeof(out)), HTTP_BAD_REQUEST);
    CHECK_EQ_INT(http_map_path("", "/www", out, sizeof(out)), HTTP_BAD_REQUEST);
    CHECK_EQ_INT(http_map_path("/a\\b", "/www", out, sizeof(out)), HTTP_BAD_REQUEST);
    CHECK_EQ_INT(http_map_path("/a\nb", "/www", out, sizeof(out)), HTTP_BAD_REQUEST);
    /* Exactly-sized heap buffers, so ASan sees any overrun. */
    char *small = malloc(9);
    CHECK_EQ_INT(http_map_path("/abcd", "/www", small, 9), HTTP_URI_TOO_LONG);
    CHECK_EQ_INT(http_map_path("/abc", "/www", small, 9), 0);
    CHECK_EQ_STR(small, "/www/abc");
    CHECK_EQ_INT(http_map_path("/abc/", "/www", small, 9), HTTP_URI_TOO_LONG);
    free(small);
}

TEST(map_every_parsed_path) {
    /* What the parser accepts always maps, and below the root. */
    static const char *targets[] = {"/", "/a/", "/a/b/../c", "/%2e/x/", "http://h"};
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        CHECK_EQ_INT(get(targets[i]), HTTP_DONE);
        char out[HTTP_PATH_MAX + 8];
        CHECK_EQ_INT(http_map_path(pa.req.path, "/www", out, sizeof(out)), 0);
        CHECK(strncmp(out, "/www", 4) == 0);
    }
}

TEST(directory_helpers) {
    CHECK(http_path_is_dir("/"));
    CHECK(http_path_is_dir("/a/"));
    CHECK(!http_path_is_dir("/a"));
    CHECK(!http_path_is_dir(""));
    char buf[32] = "/www/docs";
    CHECK_EQ_INT(http_append_index(buf, sizeof(buf)), 0);
    CHECK_EQ_STR(buf, "/www/docs/index.html");
    strcpy(buf, "/");
    CHECK_EQ_INT(http_append_index(buf, sizeof(buf)), 0);
    CHECK_EQ_STR(buf, "/index.html");
    char *small = malloc(15);
    strcpy(small, "/www");
    CHECK_EQ_INT(http_append_index(small, 15), HTTP_URI_TOO_LONG);
    CHECK_EQ_STR(small, "/www");
    free(small);
    small = malloc(16);
    strcpy(small, "/www");
    CHECK_EQ_INT(http_append_index(small, 16), 0);
    CHECK_EQ_STR(small, "/www/index.html");
    free(small);
}

/* ---- the parser's life cycle --------------------------------------------- */

TEST(pipelined_requests) {
    const char *stream = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                         "HEAD /b HTTP/1.0\r\n\r\n"
                         "\r\nGET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                         "POST /d HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
    static const struct {
        int status;
        const char *path;
        bool keep_alive;
    } want[] = {{HTTP_DONE, "/a", true}, {HTTP_DONE, "/b", false}, {HTTP_DONE, "/c", false},
                {HTTP_METHOD_NOT_ALLOWED, NULL, false}};
    size_t off = 0, len = strlen(stream);
    for (size_t i = 0; i < 4; i++) {
        size_t consumed;
        http_parser_init(&pa);
        CHECK_EQ_INT(http_parse(&pa, stream + off, len - off, &consumed), want[i].status);
        off += consumed;
        if (want[i].status == HTTP_DONE) {
            CHECK_EQ_STR(pa.req.path, want[i].path);
            CHECK_EQ_INT(pa.req.keep_alive, want[i].keep_alive);
        }
    }
    CHECK_EQ_UINT(off, strlen(stream) - strlen("Host: x\r\nContent-Length: 3\r\n\r\nabc"));
}

/* Feed stream in chunks of the sizes rng gives, as the server loop would:
 * on DONE, init and feed what is left of the chunk. Writes the statuses
 * and paths of the requests into log, one per line. */
static uint64_t rng_state;

static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void feed_chunked(struct http_request_parser *p, const char *stream, size_t len,
                         size_t max_chunk, char *log, size_t log_len) {
    size_t off = 0, log_pos = 0;
    int status = HTTP_NEED_MORE;
    http_parser_init(p);
    log[0] = '\0';
    while (off < len && status < HTTP_BAD_REQUEST) {
        size_t chunk = 1 + rng() % max_chunk, used = 0;
        chunk = chunk > len - off ? len - off : chunk;
        while (used < chunk) {
            size_t consumed;
            status = http_parse(p, stream + off + used, chunk - used, &consumed);
            used += consumed;
            if (status == HTTP_NEED_MORE)
                break;
            log_pos += (size_t) snprintf(log + log_pos, log_len - log_pos, "%d %s %d\n", status,
                                         p->req.path ? p->req.path : "-", p->req.keep_alive);
            CHECK(log_pos < log_len);
            if (status != HTTP_DONE)
                break;
            http_parser_init(p);
        }
        off += used;
    }
}

TEST(pipelining_in_random_pieces) {
    const char *stream = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                         "HEAD /3/ HTTP/1.1\nHost: x\n\n"
                         "GET /4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                         "GET /../5 HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /6 HTTP/1.1\r\nHost: x\r\n\r\n";
    const char *want = "1 /1 1\n1 /2 1\n1 /3/ 1\n1 /4 0\n400 - 0\n";
    char log[512];
    rng_state = 42;
    for (size_t max_chunk = 1; max_chunk < 300; max_chunk++) {
        feed_chunked(&pa, stream, strlen(stream), max_chunk, log, sizeof(log));
        CHECK_EQ_STR(log, want);
    }
}

TEST(results_stick) {
    size_t consumed;
    const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next";
    http_parser_init(&pa);
    CHECK_EQ_INT(http_parse(&pa, req, strlen(req), &consumed), HTTP_DONE);
    CHECK_EQ_UINT(consumed, strlen(req) - strlen("GET /next"));
    CHECK_EQ_INT(http_parse(&pa, "GET", 3, &consumed), HTTP_DONE);
    CHECK_EQ_UINT(consumed, 0);
    CHECK_EQ_STR(pa.req.path, "/");
    http_parser_init(&pa);
    CHECK_EQ_INT(http_parse(&pa, "GET /\x01 ", 7, &consumed), HTTP_NEED_MORE);
    CHECK_EQ_INT(http_parse(&pa, "HTTP/1.1\r\nHost: x", 17, &consumed), HTTP_BAD_REQUEST);
    CHECK_EQ_UINT(consumed, 10);
    CHECK_EQ_INT(http_parse(&pa, "\r\n\r\n", 4, &consumed), HTTP_BAD_REQUEST);
    CHECK_EQ_UINT(consumed, 0);
    http_parser_init(&pa);
    CHECK_EQ_INT(http_parse(&pa, "", 0, &consumed), HTTP_NEED_MORE);
    CHECK_EQ_UINT(consumed, 0);
}

TEST(idle) {
    size_t consumed;
    http_parser_init(&pa);
    CHECK(http_parser_idle(&pa));
    CHECK_EQ_INT(http_parse(&pa, "\r\n\n", 3, &consumed), HTTP_NEED_MORE);
    CHECK(http_parser_idle(&pa));
    CHECK_EQ_INT(http_parse(&pa, "G", 1, &consumed), HTTP_NEED_MORE);
    CHECK(!http_parser_idle(&pa));
    CHECK_EQ_INT(http_parse(&pa, "ET / HTTP/1.1\r\n", 15, &consumed), HTTP_NEED_MORE);
    CHECK(!http_parser_idle(&pa));
    CHECK_EQ_INT(http_parse(&pa, "Host: x\r\n\r\n", 11, &consumed), HTTP_DONE);
    CHECK(!http_parser_idle(&pa));
    http_parser_init(&pa);
    CHECK(http_parser_idle(&pa));
}

/* ---- responses ----------------------------------------------------------- */

TEST(dates) {
    static const struct {
        uint64_t t;
        const char *date;
    } cases[] = {
        {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
        {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
        {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
        {1000000000, "Sun, 09 Sep 2001 01:46:40 GMT"},
        {1709164800, "Thu, 29 Feb 2024 00:00:00 GMT"},
        {2147483647, "Tue, 19 Jan 2038 03:14:07 GMT"},
        {4294967295, "Sun, 07 Feb 2106 06:28:15 GMT"},
        {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"},
    };
    char buf[HTTP_DATE_SIZE];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_EQ_UINT(http_format_date(cases[i].t, buf, sizeof(buf)), 29);
        CHECK_EQ_STR(buf, cases[i].date);
    }
    CHECK_EQ_UINT(http_format_date(253402300800, buf, sizeof(buf)), 0);
    CHECK_EQ_UINT(http_format_date(UINT64_MAX, buf, sizeof(buf)), 0);
    CHECK_EQ_UINT(http_format_date(0, buf, HTTP_DATE_SIZE - 1), 0);
}

TEST(dates_every_day) {
    /* Walk day by day from 1970 to 2400: weekday, day and month advance
     * one at a time, and the day resets exactly at month ends. */
    static const char *wd = "ThuFriSatSunMonTueWed";
    static const char *mon = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char buf[HTTP_DATE_SIZE];
    int year = 1970, month = 0, day = 1;
    for (uint64_t d = 0; year < 2400; d++) {
        CHECK_EQ_UINT(http_format_date(d * 86400 + 86399, buf, sizeof(buf)), 29);
        char want[64];
        snprintf(want, sizeof(want), "%.3s, %02d %.3s %04d 23:59:59 GMT", wd + d % 7 * 3, day,
                 mon + month * 3, year);
        CHECK_EQ_STR(buf, want);
        static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        int last = mdays[month] + (month == 1 && leap);
        if (++day > last) {
            day = 1;
            if (++month == 12) {
                month = 0;
                year++;
            }
        }
    }
}

TEST(format_head) {
    char buf[HTTP_RESPONSE_MAX];
    struct http_response r = {
        .status = 200,
        .content_type = "text/html; charset=utf-8",
        .content_length = 1234,
        .keep_alive = true,
        .date = 784111777,
    };
    const char *want = "HTTP/1.1 200 OK\r\n"
                       "Server: fumi\r\n"
                       "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                       "Content-Type: text/html; charset=utf-8\r\n"
                       "Content-Length: 1234\r\n"
                       "Connection: keep-alive\r\n"
                       "\r\n";
    CHECK_EQ_UINT(http_format_head(&r, buf, sizeof(buf)), strlen(want));
    CHECK_EQ_STR(buf, want);
    r = (struct http_response){.status = 301, .content_length = 0, .date = -1,
                               .extra = "Location: /docs/\r\n"};
    want = "HTTP/1.1 301 Moved Permanently\r\n"
           "Server: fumi\r\n"
           "Content-Length: 0\r\n"
           "Connection: close\r\n"
           "Location: /docs/\r\n"
           "\r\n";
    CHECK_EQ_UINT(http_format_head(&r, buf, sizeof(buf)), strlen(want));
    CHECK_EQ_STR(buf, want);
    r = (struct http_response){.status = 200, .content_length = UINT64_MAX, .date = -1};
    CHECK(http_format_head(&r, buf, sizeof(buf)) > 0);
    CHECK(strstr(buf, "Content-Length: 18446744073709551615\r\n"));
}

TEST(format_head_never_truncates) {
    struct http_response r = {.status = 405, .content_type = "text/plain", .content_length = 7,
                              .keep_alive = false, .date = 0};
    char full[HTTP_RESPONSE_MAX];
    size_t n = http_format_head(&r, full, sizeof(full));
    CHECK(n > 0);
    CHECK(strstr(full, "\r\nAllow: GET, HEAD\r\n"));
    for (size_t len = 0; len <= n + 1; len++) {
        char *buf = malloc(len ? len : 1);
        size_t got = http_format_head(&r, len ? buf : NULL, len);
        CHECK_EQ_UINT(got, len > n ? n : 0);
        if (got)
            CHECK_EQ_STR(buf, full);
        free(buf);
    }
}

static const int all_statuses[] = {301, 400, 404, 405, 408, 413, 414, 431, 500, 501, 503, 505};

TEST(reasons_and_pages) {
    CHECK_EQ_STR(http_reason(200), "OK");
    CHECK_EQ_STR(http_reason(404), "Not Found");
    CHECK_EQ_STR(http_reason(413), "Content Too Large");
    CHECK_EQ_STR(http_reason(431), "Request Header Fields Too Large");
    CHECK_EQ_STR(http_reason(505), "HTTP Version Not Supported");
    CHECK_EQ_STR(http_reason(299), "Unknown");
    CHECK(http_error_body(200) == NULL);
    CHECK(http_error_body(299) == NULL);
    for (size_t i = 0; i < sizeof(all_statuses) / sizeof(all_statuses[0]); i++) {
        int s = all_statuses[i];
        CHECK(strcmp(http_reason(s), "Unknown") != 0);
        const char *body = http_error_body(s);
        CHECK(body);
        char h1[80];
        snprintf(h1, sizeof(h1), "<h1>%d %s</h1>", s, http_reason(s));
        CHECK(strstr(body, h1));
        CHECK(strncmp(body, "<!DOCTYPE html>", 15) == 0);
    }
}

TEST(format_error) {
    char buf[HTTP_RESPONSE_MAX];
    size_t n = http_format_error(404, false, true, -1, buf, sizeof(buf));
    const char *body = http_error_body(404);
    char want[HTTP_RESPONSE_MAX];
    snprintf(want, sizeof(want),
             "HTTP/1.1 404 Not Found\r\nServer: fumi\r\n"
             "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n"
             "Connection: keep-alive\r\n\r\n%s",
             strlen(body), body);
    CHECK_EQ_UINT(n, strlen(want));
    CHECK_EQ_STR(buf, want);
    /* HEAD: the same head, no body. */
    n = http_format_error(404, true, true, -1, buf, sizeof(buf));
    CHECK_EQ_UINT(n, strlen(want) - strlen(body));
    CHECK(strncmp(buf, want, n) == 0);
    CHECK_EQ_UINT(strlen(buf), n);
    /* A status without a page is a 500. */
    n = http_format_error(200, false, false, -1, buf, sizeof(buf));
    CHECK(strncmp(buf, "HTTP/1.1 500 Internal Server Error\r\n", 36) == 0);
    CHECK(strstr(buf, http_error_body(500)));
    /* Every error fits HTTP_RESPONSE_MAX, with the longest fields. */
    for (size_t i = 0; i < sizeof(all_statuses) / sizeof(all_statuses[0]); i++) {
        int s = all_statuses[i];
        n = http_format_error(s, false, true, 253402300799, buf, sizeof(buf));
        CHECK(n > 0);
        CHECK(strstr(buf, "Date: Fri, 31 Dec 9999 23:59:59 GMT\r\n"));
        CHECK_EQ_INT(strstr(buf, "\r\nAllow: GET, HEAD\r\n") != NULL, s == 405);
        char *end = strstr(buf, "\r\n\r\n");
        CHECK(end);
        CHECK_EQ_STR(end + 4, http_error_body(s));
        /* Too small: nothing half written is reported as sent. */
        CHECK_EQ_UINT(http_format_error(s, false, true, 0, buf, n), 0);
    }
}

TEST(head_fits_with_200_bytes_of_extra) {
    char extra[201];
    memset(extra, 'x', 198);
    memcpy(extra + 198, "\r\n", 3);
    struct http_response r = {.status = 431, .content_type = "text/javascript; charset=utf-8",
                              .content_length = UINT64_MAX, .keep_alive = true,
                              .extra = extra, .date = 253402300799};
    char buf[HTTP_RESPONSE_MAX];
    CHECK(http_format_head(&r, buf, sizeof(buf)) > 0);
    r.status = 405;
    CHECK(http_format_head(&r, buf, sizeof(buf)) > 0);
}

TEST(location) {
    char buf[64];
    CHECK_EQ_UINT(http_format_location("/docs", buf, sizeof(buf)), strlen("Location: /docs/\r\n"));
    CHECK_EQ_STR(buf, "Location: /docs/\r\n");
    http_format_location("/a b/\xc3\xa9?#%\"", buf, sizeof(buf));
    CHECK_EQ_STR(buf, "Location: /a%20b/%C3%A9%3F%23%25%22/\r\n");
    http_format_location("/a-._~!$&'()*+,;=:@z", buf, sizeof(buf));
    CHECK_EQ_STR(buf, "Location: /a-._~!$&'()*+,;=:@z/\r\n");
    CHECK_EQ_UINT(http_format_location("/docs", buf, 18), 0);
    CHECK_EQ_UINT(http_format_location("/docs", buf, 19), 18);
}

/* ---- content types ------------------------------------------------------- */

TEST(mime_types) {
    static const struct {
        const char *path, *type;
    } cases[] = {
        {"/www/index.html", "text/html; charset=utf-8"},
        {"/www/INDEX.HTM", "text/html; charset=utf-8"},
        {"/s.Css", "text/css; charset=utf-8"},
        {"/app.js", "text/javascript; charset=utf-8"},
        {"/m.mjs", "text/javascript; charset=utf-8"},
        {"/d.json", "application/json"},
        {"/r.txt", "text/plain; charset=utf-8"},
        {"/r.md", "text/markdown; charset=utf-8"},
        {"/t.csv", "text/csv; charset=utf-8"},
        {"/p.png", "image/png"},
        {"/p.PNG", "image/png"},
        {"/p.jpg", "image/jpeg"},
        {"/p.JPEG", "image/jpeg"},
        {"/p.gif", "image/gif"},
        {"/p.webp", "image/webp"},
        {"/p.svg", "image/svg+xml"},
        {"/favicon.ico", "image/x-icon"},
        {"/m.wasm", "application/wasm"},
        {"/d.pdf", "application/pdf"},
        {"/d.xml", "application/xml"},
        {"/f.woff", "font/woff"},
        {"/f.woff2", "font/woff2"},
        {"/v.mp4", "video/mp4"},
        {"/v.webm", "video/webm"},
        {"/a.mp3", "audio/mpeg"},
        {"/a.zip", "application/zip"},
        {"/a.tar.gz", "application/gzip"},
        {"/archive.tar", HTTP_MIME_DEFAULT},
        {"/README", HTTP_MIME_DEFAULT},
        {"/.htaccess", HTTP_MIME_DEFAULT},
        {"/.html", HTTP_MIME_DEFAULT},
        {"/x.", HTTP_MIME_DEFAULT},
        {"/x.htmlx", HTTP_MIME_DEFAULT},
        {"/x.ht", HTTP_MIME_DEFAULT},
        {"/dir.html/file", HTTP_MIME_DEFAULT},
        {"/www/", HTTP_MIME_DEFAULT},
        {"", HTTP_MIME_DEFAULT},
        {"plain.txt", "text/plain; charset=utf-8"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (strcmp(http_mime_type(cases[i].path), cases[i].type) != 0)
            CHECK_EQ_STR(cases[i].path, cases[i].type);
    }
}

/* ---- the access log ------------------------------------------------------ */

TEST(log_lines) {
    char buf[256];
    CHECK_EQ_INT(parse("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_DONE);
    const char *want = "10.0.2.2:51234 \"GET /index.html HTTP/1.1\" 200 1234";
    CHECK_EQ_UINT(http_format_log(buf, sizeof(buf), "10.0.2.2:51234", &pa.req, 200, 1234, -1),
                  strlen(want));
    CHECK_EQ_STR(buf, want);
    http_format_log(buf, sizeof(buf), "10.0.2.2:51234", &pa.req, 200, 1234, 734);
    CHECK_EQ_STR(buf, "10.0.2.2:51234 \"GET /index.html HTTP/1.1\" 200 1234 0.734ms");
    http_format_log(buf, sizeof(buf), "p", &pa.req, 304, 0, 12345678);
    CHECK_EQ_STR(buf, "p \"GET /index.html HTTP/1.1\" 304 0 12345.678ms");
    http_format_log(buf, sizeof(buf), NULL, NULL, 400, 0, 0);
    CHECK_EQ_STR(buf, "- \"-\" 400 0 0.000ms");
    /* A refused request logs what was parsed of it. */
    CHECK_EQ_INT(parse("G@T / HTTP/1.1\r\n\r\n"), HTTP_BAD_REQUEST);
    http_format_log(buf, sizeof(buf), "p", &pa.req, 400, 0, -1);
    CHECK_EQ_STR(buf, "p \"-\" 400 0");
    CHECK_EQ_INT(parse("DELETE /x HTTP/1.1\r\n"), HTTP_METHOD_NOT_ALLOWED);
    http_format_log(buf, sizeof(buf), "p", &pa.req, 405, 0, -1);
    CHECK_EQ_STR(buf, "p \"DELETE /x HTTP/1.1\" 405 0");
    CHECK_EQ_INT(parse("GET /a\"b\\c%22 HTTP/1.0\r\n\r\n"), HTTP_BAD_REQUEST);
    http_format_log(buf, sizeof(buf), "p", &pa.req, 400, 0, -1);
    CHECK_EQ_STR(buf, "p \"GET /a\\x22b\\x5Cc%22 HTTP/1.0\" 400 0");
    CHECK_EQ_INT(parse("GET /a\"b HTTP/1.0\r\n\r\n"), HTTP_DONE);
    http_format_log(buf, sizeof(buf), "p\n", &pa.req, 200, 0, -1);
    CHECK_EQ_STR(buf, "p\n \"GET /a\\x22b HTTP/1.0\" 200 0");
}

TEST(log_truncates) {
    CHECK_EQ_INT(parse("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_DONE);
    char full[128];
    size_t n = http_format_log(full, sizeof(full), "10.0.2.2:1", &pa.req, 200, 99, 5);
    for (size_t len = 0; len <= n + 1; len++) {
        char *buf = malloc(len ? len : 1);
        size_t got = http_format_log(len ? buf : NULL, len, "10.0.2.2:1", &pa.req, 200, 99, 5);
        CHECK_EQ_UINT(got, len == 0 ? 0 : (len - 1 < n ? len - 1 : n));
        if (len > 0) {
            CHECK_EQ_UINT(strlen(buf), got);
            CHECK(strncmp(buf, full, got) == 0);
        }
        free(buf);
    }
}

/* ---- random inputs ------------------------------------------------------- */

static const char *seeds[] = {
    "GET / HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n",
    "HEAD /a/b/c.html?x=1&y=%20 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "GET /%2e%2e/..%2f/a//./b/../c/ HTTP/1.1\r\nHost: [::1]\r\nConnection: close, upgrade\r\n\r\n",
    "GET http://example.com:80/x HTTP/1.1\nHost: e\nContent-Length: 0\n\n",
    "POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    ("\r\nGET /%C3%A9 HTTP/1.2\r\nHost: x\r\nX-Long: \xff\xfe value \t\r\n\r\n"
     "GET /second HTTP/1.1\r\nHost: y\r\n\r\n"),
};

/* Bytes a mutation likes to put in: the grammar's delimiters. */
static const char interesting[] = " \t\r\n:,%/.?#\\\0\x7f\x80\xff" "0129aAfF";

static size_t mutate(char *buf, size_t len, size_t cap) {
    unsigned rounds = 1 + (unsigned) (rng() % 8);
    for (unsigned k = 0; k < rounds; k++) {
        size_t at = len ? rng() % len : 0;
        switch (rng() % 7) {
        case 0:  /* replace a byte */
            if (len && (rng() & 1))
                buf[at] = (char) rng();
            else if (len)
                buf[at] = interesting[rng() % (sizeof(interesting) - 1)];
            break;
        case 1:  /* insert a byte */
            if (len < cap) {
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = interesting[rng() % (sizeof(interesting) - 1)];
                len++;
            }
            break;
        case 2:  /* delete a run */
            if (len) {
                size_t n = 1 + rng() % 8;
                n = n > len - at ? len - at : n;
                memmove(buf + at, buf + at + n, len - at - n);
                len -= n;
            }
            break;
        case 3: {  /* repeat a run, up to the limits and past them */
            size_t n = 1 + rng() % 64, times = 1 + rng() % 200;
            n = n > len - at ? len - at : n;
            for (size_t t = 0; t < times && len + n <= cap; t++) {
                memmove(buf + at + n, buf + at, len - at);
                len += n;
            }
            break;
        }
        case 4:  /* truncate */
            len = at;
            break;
        case 5: {  /* splice in a piece of a seed */
            const char *s = seeds[rng() % (sizeof(seeds) / sizeof(seeds[0]))];
            size_t sl = strlen(s), from = rng() % sl, n = 1 + rng() % (sl - from);
            if (len + n <= cap) {
                memmove(buf + at + n, buf + at, len - at);
                memcpy(buf + at, s + from, n);
                len += n;
            }
            break;
        }
        default:  /* flip a bit */
            if (len)
                buf[at] ^= (char) (1u << (rng() % 8));
            break;
        }
    }
    return len;
}

static bool status_known(int s) {
    switch (s) {
    case HTTP_NEED_MORE: case HTTP_DONE: case 400: case 405: case 413: case 414: case 431:
    case 501: case 505:
        return true;
    default:
        return false;
    }
}

/* What every accepted request must look like. */
static void check_accepted(const struct http_request *r) {
    const char *p = r->path;
    CHECK(p && p[0] == '/');
    CHECK(r->method == HTTP_METHOD_GET || r->method == HTTP_METHOD_HEAD);
    CHECK(r->minor == 0 || r->minor == 1);
    CHECK(!strstr(p, "//") && !strstr(p, "/./") && !strstr(p, "/../"));
    size_t n = strlen(p);
    CHECK(!(n >= 2 && strcmp(p + n - 2, "/.") == 0) && !(n >= 3 && strcmp(p + n - 3, "/..") == 0));
    for (const char *c = p; *c; c++)
        CHECK((unsigned char) *c >= ' ' && *c != 0x7f && *c != '\\');
    CHECK(r->minor == 0 || r->host);
    char out[HTTP_PATH_MAX + 8];
    CHECK_EQ_INT(http_map_path(p, "/www", out, sizeof(out)), 0);
    CHECK(strncmp(out, "/www", 4) == 0 && (out[4] == '\0' || out[4] == '/'));
    (void) http_mime_type(out);
}

TEST(random_requests) {
    enum { CAP = HTTP_HEAD_MAX + 4096, INPUTS = 100000 };
    char *buf = malloc(CAP);
    char log[512];
    unsigned counts[6] = {0};
    rng_state = 0x9e3779b97f4a7c15ull;
    for (unsigned i = 0; i < INPUTS; i++) {
        const char *seed = seeds[rng() % (sizeof(seeds) / sizeof(seeds[0]))];
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        if (i % 50 == 0) {  /* now and then, pure noise */
            len = rng() % 600;
            for (size_t k = 0; k < len; k++)
                buf[k] = (char) rng();
        }
        len = mutate(buf, len, CAP);
        size_t consumed;
        int whole = feed_whole(&pa, buf, len, &consumed);
        CHECK(status_known(whole));
        CHECK(consumed <= len);
        counts[whole == HTTP_NEED_MORE ? 0 : whole == HTTP_DONE ? 1 : whole < 430 ? 2 : 3]++;
        /* The same bytes in random pieces give the same answer. */
        size_t got = 0;
        int pieces = HTTP_NEED_MORE;
        http_parser_init(&pb);
        while (got < len && pieces == HTTP_NEED_MORE) {
            size_t chunk = 1 + rng() % (i % 3 == 0 ? 4 : 512), c;
            chunk = chunk > len - got ? len - got : chunk;
            pieces = http_parse(&pb, buf + got, chunk, &c);
            got += c;
        }
        CHECK_EQ_INT(pieces, whole);
        CHECK_EQ_UINT(got, consumed);
        if (whole == HTTP_DONE) {
            CHECK_EQ_STR(pa.req.path, pb.req.path);
            CHECK_EQ_INT(pa.req.keep_alive, pb.req.keep_alive);
            check_accepted(&pa.req);
            /* Whatever follows is the next request. */
            http_parser_init(&pb);
            int next = http_parse(&pb, buf + consumed, len - consumed, &got);
            CHECK(status_known(next));
            if (next == HTTP_DONE)
                check_accepted(&pb.req);
        }
        size_t cut = rng() % sizeof(log);
        http_format_log(log, cut, "10.0.2.2:1", &pa.req, whole, len, (int64_t) i - 10);
        CHECK(cut == 0 || strlen(log) < cut);
    }
    free(buf);
    printf("# random_requests: %u need more, %u done, %u 400-414, %u 431-505\n", counts[0],
           counts[1], counts[2], counts[3]);
    CHECK(counts[1] > INPUTS / 50);  /* the mutations leave many requests valid */
}
