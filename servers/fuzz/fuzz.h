/*
 * What the fuzzer's parts share: the seeded generator, the scratch pages
 * it may send away, the per-target counters its summary prints, and the
 * message table generated from the IDL (genmsgs.py -> fuzz_msgs.h).
 */
#pragma once

#include <user/user.h>
#include <idl.h>

#define FUZZ_FIELDS_MAX 8

/* Field kinds of the generated table. */
enum fuzz_kind { FUZZ_INT = 1, FUZZ_STRING, FUZZ_BYTES, FUZZ_PAGE, FUZZ_CHANNEL };

struct fuzz_field {
    const char *name;
    uint8_t kind;
    uint16_t offset, size;  /* in the inline payload (page, channel: 0) */
    uint16_t n;             /* string[n], bytes[n] */
    uint16_t data_offset;   /* bytes: where the data follows its u16 length */
    uint8_t is_signed;
};

struct fuzz_msg {
    const char *name;  /* "fs.open" */
    uint32_t type;
    uint16_t len;      /* the request's exact inline length */
    uint16_t flags;    /* MSG_PAGE_BIT / MSG_CHANNEL_BIT it must carry */
    uint8_t num_fields;
    struct fuzz_field fields[FUZZ_FIELDS_MAX];
};

#include "fuzz_msgs.h"

#define FUZZ_ERRORS 32 /* counters per error code (-ERR_*) */

/* What became of the requests sent to one target. */
struct fuzz_stats {
    const char *name;
    uint64_t calls;    /* requests sent (or system calls made) */
    uint64_t ok;       /* success replies (OK results) */
    uint64_t timeouts; /* no reply within FUZZ_REPLY_MS: the channel was dropped */
    uint64_t closed;   /* the server closed our channel or died */
    uint64_t busy;     /* the server never took the request (ERR_WOULD_BLOCK) */
    uint64_t absent;   /* ns.find: nobody serves the name now */
    uint64_t bad_reply; /* a reply of the wrong type */
    uint64_t errors[FUZZ_ERRORS];      /* error replies (or results) by code */
    uint64_t send_errors[FUZZ_ERRORS]; /* the kernel refused the send */
};

uint64_t fuzz_rnd(void);
uint64_t fuzz_pick(uint64_t n);
/* A random page-payload address: kernel, unmapped, unaligned, huge, or
 * inside the scratch pages. */
uint64_t fuzz_page_addr(void);
/* Whether a page payload may name [addr, addr+len): never the stack or
 * the program image, which are in use. */
bool fuzz_page_allowed(uint64_t addr, uint64_t len);
/* npages (1-8) of the scratch area, mapped and filled with fill. */
uint64_t fuzz_scratch_pages(uint64_t npages, uint8_t fill);
void fuzz_count(struct fuzz_stats *st, error_t err);
void fuzz_print_stats(const struct fuzz_stats *st);

/* targets.c: every registered server. */
struct target;
/* A random request of interface iface (0: any) that may be sent at all. */
const struct fuzz_msg *fuzz_random_msg(uint32_t iface);
/* *m: a request of type fm with the right header and chosen field values
 * for target t (NULL: the kernel or memmgr); *fresh gets a channel it
 * opened for a channel payload, *keep the other end of its pair. */
void fuzz_build_request(struct target *t, const struct fuzz_msg *fm, struct message *m,
                        cid_t *fresh, cid_t *keep);
void targets_init(void);
void targets_fuzz_one(void);
/* Whether cid is one of the channels the server fuzzer relies on (the
 * syscall fuzzer must not send, transfer or link them away). */
bool targets_protected(cid_t cid);
void targets_finish(void);
