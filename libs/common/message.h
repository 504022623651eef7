/*
 * The 256-byte Fumi message and its header bits (DESIGN.md, "Messages").
 *
 *   offset size field
 *        0    4 header: bits 0-10 inline length, 11 page payload, 12 channel
 *                       payload, 13 error reply, 16-31 message type
 *        4    4 from: the receiver-side cid the message arrived on
 *        8    4 notification bits (notification messages only)
 *       12    4 channel payload (a cid of the sender, moved to the receiver)
 *       16    8 page payload address (page aligned, in the sender's space)
 *       24    8 page payload length (a multiple of PAGE_SIZE)
 *       32  224 inline payload: the fields of the type, generated from the IDL
 *
 * A message type is (interface id << 8) | (reply ? 0x80 : 0) | method id.
 * Type 0 is reserved for notifications delivered by the kernel.
 */
#pragma once

#include "error.h"
#include "types.h"

#define MSG_SIZE        256
#define MSG_HEADER_SIZE 32
#define MSG_INLINE_MAX  224

#define MSG_LEN_MASK     0x7ffu
#define MSG_PAGE_BIT     (1u << 11)
#define MSG_CHANNEL_BIT  (1u << 12)
#define MSG_ERROR_BIT    (1u << 13)
#define MSG_TYPE_SHIFT   16
#define MSG_REPLY_FLAG   0x80u /* in the type: bit 7 of the low byte */

#define MSG_TYPE(iface, method) ((uint32_t) (((iface) << 8) | (method)))
#define MSG_NOTIFICATION        0u

struct message {
    uint32_t header;
    cid_t from;
    notification_t notifications;
    cid_t channel;
    uint64_t page_addr;
    uint64_t page_len;
    uint8_t data[MSG_INLINE_MAX];
};

STATIC_ASSERT(sizeof(struct message) == MSG_SIZE);
STATIC_ASSERT(offsetof_(struct message, from) == 4);
STATIC_ASSERT(offsetof_(struct message, notifications) == 8);
STATIC_ASSERT(offsetof_(struct message, channel) == 12);
STATIC_ASSERT(offsetof_(struct message, page_addr) == 16);
STATIC_ASSERT(offsetof_(struct message, page_len) == 24);
STATIC_ASSERT(offsetof_(struct message, data) == MSG_HEADER_SIZE);

static inline uint32_t msg_type(const struct message *m) {
    return m->header >> MSG_TYPE_SHIFT;
}

static inline uint32_t msg_len(const struct message *m) {
    return m->header & MSG_LEN_MASK;
}

static inline bool msg_is_error(const struct message *m) {
    return (m->header & MSG_ERROR_BIT) != 0;
}

static inline uint32_t msg_header(uint32_t type, uint32_t len, uint32_t flags) {
    return (type << MSG_TYPE_SHIFT) | (len & MSG_LEN_MASK) | flags;
}

/* The interface id and method id of a type, and whether it is a reply. */
#define MSG_IFACE(type)    (((type) >> 8) & 0xff)
#define MSG_METHOD(type)   ((type) & 0x7f)
#define MSG_IS_REPLY(type) (((type) & MSG_REPLY_FLAG) != 0)

/* A server handler returns this to send its reply later (it keeps `from`). */
#define IDL_DEFER_REPLY 1

/* An error reply carries the negative ERR_* in the first 4 inline bytes. */
static inline error_t msg_error(const struct message *m) {
    int32_t e;
    __builtin_memcpy(&e, m->data, sizeof(e));
    return e < 0 ? e : ERR_BAD_MESSAGE;
}
