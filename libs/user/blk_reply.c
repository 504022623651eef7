/* The deferred reply of a blk request (blk.h), shared by the disk drivers. */
#include <user/blk.h>
#include <user/server.h>
#include <idl.h>

void blk_reply(const struct blk_pending *r, error_t err) {
    struct message m;
    if (r->orphan || err) {
        if (r->len)
            ipc_free_pages(r->addr, r->len);
        if (r->orphan)
            return;
        idl_error_reply(&m, r->type, err);
    } else if (r->type == BLK_READ_MSG) {
        blk_read_reply(&m, r->addr, r->len);
    } else if (r->type == BLK_WRITE_MSG) {
        blk_write_reply(&m, r->addr, r->len);
    } else {
        blk_flush_reply(&m);
    }
    /* A client that cannot take the pages gets an error reply from
     * server_reply itself, which also frees them. */
    server_reply(r->from, &m);
}
