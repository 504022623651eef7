/*
 * The frame buffer layout of the net_device interface (interfaces/
 * net_device.idl): a page buffer is a row of 2 KiB slots, each a 32-bit
 * frame length followed by the Ethernet frame (no FCS).
 */
#pragma once

#include <common/types.h>

#define NETDEV_SLOT_SIZE   2048
#define NETDEV_FRAME_MAX   1514 /* destination MAC .. payload, no FCS */
#define NETDEV_MTU         1500

/* Notification bits a net_device driver sends to its attached client. */
#define NETDEV_NOTIFY_RX   (1u << 0) /* frames are waiting: call receive */
#define NETDEV_NOTIFY_LINK (1u << 1) /* the link went up or down: call info */

struct netdev_slot {
    uint32_t len;
    uint8_t frame[NETDEV_SLOT_SIZE - sizeof(uint32_t)];
};

_Static_assert(sizeof(struct netdev_slot) == NETDEV_SLOT_SIZE, "slot size");

static inline struct netdev_slot *netdev_slot(void *buf, size_t i) {
    return (struct netdev_slot *) ((uint8_t *) buf + i * NETDEV_SLOT_SIZE);
}
