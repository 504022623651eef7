/*
 * What a disk driver (servers/ide, servers/ahci) keeps of a queued blk
 * request until it can answer, and the one way to answer it.
 */
#pragma once

#include <user/user.h>

struct blk_pending {
    cid_t from;
    uint32_t type; /* BLK_READ_MSG, BLK_WRITE_MSG or BLK_FLUSH_MSG */
    bool orphan;   /* the client went away: no reply, just free the pages */
    uint64_t addr; /* the caller's pages (len 0: none) */
    uint64_t len;
};

/* Reply to r: its pages back on success; on err (or for an orphan) the
 * pages are freed, and the client gets the error. */
void blk_reply(const struct blk_pending *r, error_t err);
