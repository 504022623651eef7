/*
 * Host test of the C that tools/genidl.py generates from fixture.idl, built
 * with ASan/UBSan by tests/host/test_genidl.py.
 *
 * The fake IPC below (ipc_buffer, ipc_call_checked, ipc_send_buffer, see
 * user/user.h here) serves each request in place with fixture_dispatch, as
 * the server loop of libs/user would, so every client wrapper runs the whole
 * path: argument checks -> build -> dispatch -> validation -> handler ->
 * reply builder -> reply checks -> results. The direct tests then feed the
 * dispatcher malformed requests, and check the builders and name tables.
 * Prints "N checks, M failed"; the exit status is 1 on any failure.
 */
#include <idl.h>
#include <stdio.h>
#include <string.h>
#include <user/user.h>

static int checks, failures;

static void check(bool ok, const char *what, int line) {
    checks++;
    if (!ok) {
        failures++;
        printf("test_idl.c:%d: check failed: %s\n", line, what);
    }
}

static void check_err(error_t got, error_t want, const char *what, int line) {
    checks++;
    if (got != want) {
        failures++;
        printf("test_idl.c:%d: %s: got %s, want %s\n", line, what, err_name(got), err_name(want));
    }
}

#define CHECK(c)               check((c), #c, __LINE__)
#define CHECK_ERR(expr, want)  check_err((expr), (want), #expr, __LINE__)

/* ---- the fixture server: handlers record what they were given ---- */

struct server_state {
    int calls;
    cid_t from;
    uint8_t a, c, tag;
    uint16_t b, v;
    uint32_t d, n, id, x;
    int8_t e;
    uint64_t f;
    int16_t g;
    int32_t h, code;
    int64_t k;
    char name[5];
    uint8_t data[7], blob[4];
    size_t data_len, blob_len;
    cid_t ch;
    uint64_t pages_addr, pages_len;
};

static error_t on_ints(void *ctx, cid_t from, uint8_t a, uint16_t b, uint8_t c, uint32_t d,
                       int8_t e, uint64_t f, int16_t g, int32_t h, int64_t k, int64_t *sum,
                       uint8_t *out_a) {
    struct server_state *s = ctx;
    s->calls++;
    s->from = from;
    s->a = a, s->b = b, s->c = c, s->d = d, s->e = e, s->f = f, s->g = g, s->h = h, s->k = k;
    *sum = a + b + c + e + g;
    *out_a = a ^ 0x0f;
    return OK;
}

/* name "nf": ERR_NOT_FOUND; "big": claims 100 result bytes (the builder cuts them to 3). */
static error_t on_text(void *ctx, cid_t from, uint8_t tag, const char *name, const void *data,
                       size_t data_len, uint32_t n, char *out_name, void *out_data,
                       size_t *out_data_len) {
    struct server_state *s = ctx;
    s->calls++;
    s->from = from;
    s->tag = tag, s->n = n, s->data_len = data_len;
    memcpy(s->name, name, sizeof(s->name));
    memcpy(s->data, data, data_len);
    if (strcmp(name, "nf") == 0)
        return ERR_NOT_FOUND;
    snprintf(out_name, 16, "reply-%s", name);
    const uint8_t *in = data;
    uint8_t *out = out_data;
    out[0] = in[2], out[1] = in[1], out[2] = in[0];
    *out_data_len = strcmp(name, "big") == 0 ? 100 : 3;
    return OK;
}

static error_t on_move(void *ctx, cid_t from, cid_t ch, uint64_t pages_addr, uint64_t pages_len,
                       cid_t *out_ch, uint64_t *out_pages_addr, uint64_t *out_pages_len) {
    struct server_state *s = ctx;
    s->calls++;
    s->from = from;
    s->ch = ch, s->pages_addr = pages_addr, s->pages_len = pages_len;
    *out_ch = ch + 1;
    *out_pages_addr = pages_addr + 0x1000;
    *out_pages_len = pages_len * 2;
    return OK;
}

static error_t on_mixed(void *ctx, cid_t from, uint32_t id, cid_t ch, uint64_t *pages_addr,
                        uint64_t *pages_len, uint64_t *len) {
    struct server_state *s = ctx;
    s->calls++;
    s->from = from;
    s->id = id, s->ch = ch;
    *pages_addr = (uint64_t) id << 12;
    *pages_len = 0x2000;
    *len = (uint64_t) ch;
    return OK;
}

static error_t on_empty(void *ctx, cid_t from) {
    struct server_state *s = ctx;
    s->calls++;
    s->from = from;
    return OK;
}

static error_t on_later(void *ctx, cid_t from, uint32_t x, uint32_t *y) {
    struct server_state *s = ctx;
    s->calls++;
    s->from = from;
    s->x = x;
    *y = x;
    return IDL_DEFER_REPLY;
}

/* v 0: ERR_INVALID_ARG; v 2: a positive result other than IDL_DEFER_REPLY (a handler bug). */
static error_t on_default(void *ctx, cid_t from, uint16_t v) {
    struct server_state *s = ctx;
    s->calls++;
    s->from = from;
    s->v = v;
    return v == 0 ? ERR_INVALID_ARG : v == 2 ? 2 : OK;
}

static error_t on_note(void *ctx, cid_t from, int32_t code, const void *blob, size_t blob_len,
                       uint64_t pages_addr, uint64_t pages_len) {
    struct server_state *s = ctx;
    s->calls++;
    s->from = from;
    s->code = code, s->blob_len = blob_len, s->pages_addr = pages_addr, s->pages_len = pages_len;
    memcpy(s->blob, blob, blob_len);
    return OK;
}

static const struct fixture_server_ops fixture_ops = {
    .ints = on_ints,
    .text = on_text,
    .move = on_move,
    .mixed = on_mixed,
    .empty = on_empty,
    .later = on_later,
    .default_ = on_default,
    .note = on_note,
    .missing = NULL,
};

static struct server_state server;

/* ---- the fake IPC used by idl_client.c ---- */

#define FROM_CID 7 /* the cid requests "arrive on" at the server */

static struct message ipc_buf;
static int ipc_calls;
static cid_t ipc_last_channel;
static void (*corrupt_reply)(struct message *reply);

struct message *ipc_buffer(void) {
    return &ipc_buf;
}

/* One turn of a server loop: dispatch in place; an unknown type gets ERR_NOT_SUPPORTED. */
static void serve_in_place(cid_t ch) {
    ipc_calls++;
    ipc_last_channel = ch;
    ipc_buf.from = FROM_CID;
    uint32_t type = msg_type(&ipc_buf);
    if (!fixture_dispatch(&fixture_ops, &server, &ipc_buf, &ipc_buf))
        idl_error_reply(&ipc_buf, type, ERR_NOT_SUPPORTED);
}

error_t ipc_call_checked(cid_t ch, uint32_t reply_type, uint32_t reply_len, uint32_t reply_flags) {
    serve_in_place(ch);
    if (corrupt_reply)
        corrupt_reply(&ipc_buf);
    if (msg_is_error(&ipc_buf))
        return msg_error(&ipc_buf);
    uint32_t flags = ipc_buf.header & (MSG_PAGE_BIT | MSG_CHANNEL_BIT);
    if (msg_type(&ipc_buf) != reply_type || msg_len(&ipc_buf) != reply_len || flags != reply_flags)
        return ERR_BAD_MESSAGE;
    return OK;
}

error_t ipc_send_buffer(cid_t ch) {
    serve_in_place(ch);
    return ipc_buf.header == 0 ? OK : ERR_UNEXPECTED; /* a oneway message has no reply */
}

/* ---- client wrapper -> dispatch -> handler -> reply -> results ---- */

static void test_client_ints(void) {
    int64_t sum = 0;
    uint8_t out_a = 0;
    CHECK_ERR(fixture_ints(3, 0xf1, 0xfffe, 7, 0xfffffff0u, -128, UINT64_MAX - 1, -32768,
                           INT32_MIN, INT64_MIN + 5, &sum, &out_a), OK);
    CHECK(ipc_last_channel == 3 && server.from == FROM_CID);
    CHECK(server.a == 0xf1 && server.b == 0xfffe && server.c == 7 && server.d == 0xfffffff0u);
    CHECK(server.e == -128 && server.f == UINT64_MAX - 1 && server.g == -32768);
    CHECK(server.h == INT32_MIN && server.k == INT64_MIN + 5);
    CHECK(sum == 0xf1 + 0xfffe + 7 - 128 - 32768);
    CHECK(out_a == (0xf1 ^ 0x0f));
    CHECK_ERR(fixture_ints(3, 1, 2, 3, 4, 5, 6, 7, 8, 9, NULL, NULL), OK);
}

static void test_client_text(void) {
    const uint8_t data[7] = {1, 2, 3, 4, 5, 6, 7};
    char name[16];
    uint8_t out[3] = {0};
    size_t out_len = 0;
    CHECK_ERR(fixture_text(3, 9, "abcd", data, 7, 99, name, out, &out_len), OK);
    CHECK(server.tag == 9 && server.n == 99 && strcmp(server.name, "abcd") == 0);
    CHECK(server.data_len == 7 && memcmp(server.data, data, 7) == 0);
    CHECK(strcmp(name, "reply-abcd") == 0);
    CHECK(out_len == 3 && out[0] == 3 && out[1] == 2 && out[2] == 1);

    CHECK_ERR(fixture_text(3, 9, "big", data, 3, 0, name, out, &out_len), OK);
    CHECK(out_len == 3); /* the reply builder cut the handler's 100 bytes to bytes[3] */

    CHECK_ERR(fixture_text(3, 9, "", NULL, 0, 0, NULL, NULL, NULL), OK);
    CHECK(server.name[0] == '\0' && server.data_len == 0);

    out_len = 42;
    CHECK_ERR(fixture_text(3, 9, "nf", data, 1, 0, name, out, &out_len), ERR_NOT_FOUND);
    CHECK(out_len == 42);
}

static void test_client_checks_arguments_first(void) {
    const uint8_t data[8] = {0};
    memset(&ipc_buf, 0x5a, sizeof(ipc_buf));
    struct message before = ipc_buf;
    int calls = ipc_calls;
    CHECK_ERR(fixture_text(3, 0, "abcde", data, 1, 0, NULL, NULL, NULL), ERR_TOO_LARGE);
    CHECK_ERR(fixture_text(3, 0, "abcd", data, 8, 0, NULL, NULL, NULL), ERR_TOO_LARGE);
    CHECK_ERR(fixture_note(3, 0, data, 5, 0, 0), ERR_TOO_LARGE);
    CHECK(ipc_calls == calls && memcmp(&ipc_buf, &before, sizeof(before)) == 0);
}

static void unterminate_name(struct message *reply) {
    memset(reply->data + offsetof_(struct fixture_text_rep, name), 'x', 16);
}

static void overlong_data(struct message *reply) {
    uint16_t len = 4;
    memcpy(reply->data + offsetof_(struct fixture_text_rep, data_len), &len, sizeof(len));
}

static void test_client_checks_reply(void) {
    char name[16] = "untouched";
    size_t out_len = 42;
    uint8_t out[3];
    corrupt_reply = unterminate_name;
    CHECK_ERR(fixture_text(3, 0, "a", "xyz", 3, 0, name, out, &out_len), ERR_BAD_MESSAGE);
    corrupt_reply = overlong_data;
    CHECK_ERR(fixture_text(3, 0, "a", "xyz", 3, 0, name, out, &out_len), ERR_BAD_MESSAGE);
    corrupt_reply = NULL;
    CHECK(strcmp(name, "untouched") == 0 && out_len == 42);
}

static void test_client_header_payloads(void) {
    cid_t ch = 0;
    uint64_t addr = 0, len = 0, inline_len = 0;
    CHECK_ERR(fixture_move(3, 11, 0x5000, 0x2000, &ch, &addr, &len), OK);
    CHECK(server.ch == 11 && server.pages_addr == 0x5000 && server.pages_len == 0x2000);
    CHECK(ch == 12 && addr == 0x6000 && len == 0x4000);

    CHECK_ERR(fixture_mixed(3, 4, 9, &addr, &len, &inline_len), OK);
    CHECK(server.id == 4 && server.ch == 9);
    CHECK(addr == 0x4000 && len == 0x2000 && inline_len == 9);
}

static void test_client_other_calls(void) {
    int calls = server.calls;
    CHECK_ERR(fixture_empty(3), OK);
    CHECK(server.calls == calls + 1);
    CHECK_ERR(fixture_default(3, 513), OK);
    CHECK(server.v == 513);
    CHECK_ERR(fixture_default(3, 0), ERR_INVALID_ARG);
    CHECK_ERR(fixture_default(3, 2), ERR_UNEXPECTED);
    CHECK_ERR(fixture_missing(3), ERR_NOT_SUPPORTED);

    CHECK_ERR(fixture_note(4, -5, "\x01\x02\x03\x04", 4, 0x7000, 0x1000), OK);
    CHECK(ipc_last_channel == 4);
    CHECK(server.code == -5 && server.blob_len == 4);
    CHECK(memcmp(server.blob, "\x01\x02\x03\x04", 4) == 0);
    CHECK(server.pages_addr == 0x7000 && server.pages_len == 0x1000);
}

/* ---- the dispatcher on its own, with malformed requests ---- */

static struct message req, reply;

/* Dispatch req into a reply buffer full of a marker byte. */
static bool dispatch(void) {
    memset(&reply, 0xa5, sizeof(reply));
    return fixture_dispatch(&fixture_ops, &server, &req, &reply);
}

static bool reply_untouched(void) {
    for (size_t i = 0; i < sizeof(reply); i++) {
        if (((uint8_t *) &reply)[i] != 0xa5)
            return false;
    }
    return true;
}

static bool is_error_reply(uint32_t req_type, error_t err) {
    uint8_t code[4];
    int32_t want = err;
    memcpy(code, &want, sizeof(code));
    return reply.header == msg_header(req_type | MSG_REPLY_FLAG, 4, MSG_ERROR_BIT)
           && msg_is_error(&reply) && msg_error(&reply) == err && memcmp(reply.data, code, 4) == 0;
}

/* The request is a complete, well-formed message of its type: dispatch rejects it when broken. */
static void check_rejected(uint32_t type, const char *what, int line) {
    int calls = server.calls;
    bool handled = dispatch();
    check(handled && is_error_reply(type, ERR_BAD_MESSAGE) && server.calls == calls, what, line);
}
#define CHECK_REJECTED(type, what) check_rejected((type), (what), __LINE__)

static void set_u16(size_t offset, uint16_t value) {
    memcpy(req.data + offset, &value, sizeof(value));
}

static void test_dispatch_valid(void) {
    fixture_ints_build(&req, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    req.from = 5;
    CHECK(dispatch());
    CHECK(server.from == 5 && server.k == 9);
    CHECK(reply.header == msg_header(FIXTURE_INTS_REPLY_MSG, sizeof(struct fixture_ints_rep), 0));
    struct fixture_ints_rep rep;
    memcpy(&rep, reply.data, sizeof(rep));
    CHECK(rep.sum == 1 + 2 + 3 + 5 + 7 && rep.a == (1 ^ 0x0f));

    fixture_move_build(&req, 4, 0x1000, 0x3000);
    CHECK(dispatch());
    CHECK(reply.header == msg_header(FIXTURE_MOVE_REPLY_MSG, 0, MSG_CHANNEL_BIT | MSG_PAGE_BIT));
    CHECK(reply.channel == 5 && reply.page_addr == 0x2000 && reply.page_len == 0x6000);

    fixture_text_build(&req, 1, "abcd", "1234567", 7, 2); /* the largest valid sizes */
    CHECK(dispatch() && msg_type(&reply) == FIXTURE_TEXT_REPLY_MSG && !msg_is_error(&reply));
}

static void test_dispatch_rejects_malformed(void) {
    fixture_ints_build(&req, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    req.header += 1;
    CHECK_REJECTED(FIXTURE_INTS_MSG, "inline length too long");
    req.header -= 2;
    CHECK_REJECTED(FIXTURE_INTS_MSG, "inline length too short");

    fixture_ints_build(&req, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    req.header |= MSG_CHANNEL_BIT;
    CHECK_REJECTED(FIXTURE_INTS_MSG, "undeclared channel payload");

    fixture_ints_build(&req, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    req.header |= MSG_ERROR_BIT;
    CHECK_REJECTED(FIXTURE_INTS_MSG, "error bit on a request");

    fixture_move_build(&req, 4, 0x1000, 0x3000);
    req.header &= ~MSG_PAGE_BIT;
    CHECK_REJECTED(FIXTURE_MOVE_MSG, "missing page payload");

    fixture_move_build(&req, 4, 0x1000, 0x3000);
    req.header &= ~MSG_CHANNEL_BIT;
    CHECK_REJECTED(FIXTURE_MOVE_MSG, "missing channel payload");

    fixture_text_build(&req, 1, "ab", "xyz", 3, 2);
    memset(req.data + offsetof_(struct fixture_text_req, name), 'x', 5);
    CHECK_REJECTED(FIXTURE_TEXT_MSG, "unterminated string");

    fixture_text_build(&req, 1, "ab", "xyz", 3, 2);
    set_u16(offsetof_(struct fixture_text_req, data_len), 8);
    CHECK_REJECTED(FIXTURE_TEXT_MSG, "bytes length > N");

    fixture_empty_build(&req);
    req.header += 4;
    CHECK_REJECTED(FIXTURE_EMPTY_MSG, "inline bytes on an empty request");
}

static void test_dispatch_declines_foreign_types(void) {
    fixture_ints_reply(&req, 1, 2);
    CHECK(!dispatch() && reply_untouched()); /* a reply type sent as a request */
    req.header = msg_header(MSG_TYPE(FIXTURE_IFACE_ID, 99), 0, 0);
    CHECK(!dispatch() && reply_untouched()); /* unknown method */
    req.header = msg_header(MSG_TYPE(FIXTURE_IFACE_ID + 1, FIXTURE_INTS_MSG & 0x7f), 40, 0);
    CHECK(!dispatch() && reply_untouched()); /* another interface */
    req.header = msg_header(MSG_NOTIFICATION, 0, 0);
    CHECK(!dispatch() && reply_untouched());
}

static void test_dispatch_results(void) {
    int calls = server.calls;
    fixture_missing_build(&req);
    CHECK(dispatch() && is_error_reply(FIXTURE_MISSING_MSG, ERR_NOT_SUPPORTED));

    fixture_later_build(&req, 77);
    CHECK(dispatch() && reply.header == 0 && server.x == 77); /* deferred */

    fixture_default_build(&req, 0);
    CHECK(dispatch() && is_error_reply(FIXTURE_DEFAULT_MSG, ERR_INVALID_ARG));

    fixture_note_build(&req, 1, "ab", 2, 0x1000, 0x1000);
    CHECK(dispatch() && reply.header == 0 && server.code == 1);
    CHECK(server.calls == calls + 3);

    fixture_note_build(&req, 2, "ab", 2, 0x1000, 0x1000);
    req.header &= ~MSG_PAGE_BIT;
    CHECK(dispatch() && reply.header == 0); /* a malformed oneway is dropped silently */
    fixture_note_build(&req, 2, "ab", 2, 0x1000, 0x1000);
    set_u16(offsetof_(struct fixture_note_req, blob_len), 5);
    CHECK(dispatch() && reply.header == 0);
    CHECK(server.calls == calls + 3 && server.code == 1);
}

/* ---- builders, types and names ---- */

static void test_builders(void) {
    struct message m;
    memset(&m, 0xaa, sizeof(m));
    fixture_text_build(&m, 1, "abcdefgh", "0123456789", 100, 0x01020304);
    CHECK(msg_type(&m) == FIXTURE_TEXT_MSG && msg_len(&m) == sizeof(struct fixture_text_req));
    CHECK((m.header & (MSG_PAGE_BIT | MSG_CHANNEL_BIT | MSG_ERROR_BIT)) == 0);
    CHECK(m.from == 0 && m.notifications == 0 && m.channel == 0 && m.page_addr == 0);
    struct fixture_text_req r;
    memcpy(&r, m.data, sizeof(r));
    CHECK(memcmp(r.name, "abcd", 5) == 0); /* cut to string[5], NUL kept */
    CHECK(r.data_len == 7 && memcmp(r.data, "0123456", 7) == 0);
    CHECK(m.data[15] == 0); /* padding before n */
    bool rest_zero = true;
    for (size_t i = sizeof(r); i < MSG_INLINE_MAX; i++)
        rest_zero &= m.data[i] == 0;
    CHECK(rest_zero);

    fixture_move_build(&m, 2, 0x3000, 0x1000);
    CHECK(m.header == msg_header(FIXTURE_MOVE_MSG, 0, MSG_PAGE_BIT | MSG_CHANNEL_BIT));
    fixture_text_reply(&m, "r", "ab", 2);
    CHECK(msg_type(&m) == FIXTURE_TEXT_REPLY_MSG && msg_len(&m) == 22);

    CHECK(FIXTURE_IFACE_ID == 200);
    CHECK(FIXTURE_TEXT_MSG == 0xc802 && FIXTURE_TEXT_REPLY_MSG == 0xc882);
}

static void test_error_reply(void) {
    struct message m;
    memset(&m, 0xaa, sizeof(m));
    idl_error_reply(&m, FIXTURE_EMPTY_MSG, ERR_BAD_MESSAGE);
    CHECK(m.header == ((uint32_t) FIXTURE_EMPTY_REPLY_MSG << 16 | MSG_ERROR_BIT | 4));
    CHECK(m.data[0] == 0xf5 && m.data[1] == 0xff && m.data[2] == 0xff && m.data[3] == 0xff);
    CHECK(m.data[4] == 0 && m.from == 0 && m.channel == 0);
}

static void test_names(void) {
    CHECK(strcmp(idl_msg_name(FIXTURE_INTS_MSG), "fixture.ints") == 0);
    CHECK(strcmp(idl_msg_name(FIXTURE_INTS_REPLY_MSG), "fixture.ints.reply") == 0);
    CHECK(strcmp(idl_msg_name(FIXTURE_DEFAULT_MSG), "fixture.default") == 0);
    CHECK(strcmp(idl_msg_name(FIXTURE_NOTE_MSG), "fixture.note") == 0);
    CHECK(idl_msg_name(FIXTURE_NOTE_MSG | MSG_REPLY_FLAG) == NULL); /* oneway: no reply */
    CHECK(strcmp(idl_msg_name(MSG_NOTIFICATION), "notification") == 0);
    CHECK(idl_msg_name(MSG_TYPE(FIXTURE_IFACE_ID, 99)) == NULL);
    CHECK(strcmp(idl_iface_name(FIXTURE_IFACE_ID), "fixture") == 0);
    CHECK(idl_iface_name(FIXTURE_IFACE_ID + 1) == NULL);
}

int main(void) {
    test_client_ints();
    test_client_text();
    test_client_checks_arguments_first();
    test_client_checks_reply();
    test_client_header_payloads();
    test_client_other_calls();
    test_dispatch_valid();
    test_dispatch_rejects_malformed();
    test_dispatch_declines_foreign_types();
    test_dispatch_results();
    test_builders();
    test_error_reply();
    test_names();
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
