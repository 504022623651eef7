/*
 * The e1000 server: the net_device interface (interfaces/net_device.idl)
 * over an Intel 8254x NIC (docs/e1000.md). libs/user/pci.c finds the
 * device, e1000.c drives it; this file owns the server loop, the interrupt
 * and the clients.
 *
 * Start-up: find the NIC on the PCI bus (none: log "e1000: no device" and
 * exit 0), map BAR0, take one physically contiguous block of pinned memory
 * for both rings and their buffers, reset and program the device (a driver
 * started after another died finds the NIC still running on the dead one's
 * rings: the reset stops it before it is given new ones), listen on its
 * interrupt line (or, if the firmware routed it nowhere we may listen, or
 * the arguments say "poll", poll every few milliseconds), wait briefly for
 * the link, and only then register as "net", so a client that finds the
 * name (tcpip looking for a driver again) is answered at once.
 *
 * Every request is answered at once; frames are copied between the ring
 * buffers and the caller's page payload, which always goes back in the
 * reply. Requests are checked completely before any frame is queued, and a
 * refused request's pages are freed by the server loop (an error reply
 * cannot carry them). One client at a time is "attached": after each
 * interrupt that leaves received frames waiting it gets NETDEV_NOTIFY_RX,
 * and NETDEV_NOTIFY_LINK when the link changes. Attachments stack: a later
 * attach takes over, and when its channel closes the one before it is
 * attached again (so a test program can borrow the NIC from tcpip and give
 * it back). Frames nobody takes stay in the receive ring; once it is full
 * the NIC counts them as missed.
 */
#include <user/server.h>
#include <user/netdev.h>
#include <user/pci.h>
#include <idl.h>
#include "e1000.h"

#define E1000_POLL_NS  (5 * 1000 * 1000) /* without a usable IRQ line */
#define E1000_LINK_WAIT_MS 1000          /* at start, before the log line */
#define E1000_ATTACH_MAX   8             /* stacked attachments */

/* The 8254x models QEMU emulates (and VMware's virtual e1000 is the
 * 82545EM). They share every register this driver uses. */
static const struct pci_id e1000_ids[] = {
    {0x8086, 0x100e, "82540EM"},
    {0x8086, 0x100f, "82545EM"},
};

static const struct pci_match e1000_match = {
    .cls = 0x02, .subclass = 0x00, .progif = PCI_ANY,
    .ids = e1000_ids, .num_ids = ARRAY_SIZE(e1000_ids),
};

struct nic {
    struct server srv;
    struct e1000 dev;
    struct pci_device pci;
    struct pci_bar bar0;
    cid_t irq_ch;    /* NOTIFY_IRQ from the kernel; 0 when polling */
    cid_t poll_ch;   /* a periodic timer when there is no IRQ */
    cid_t attached[E1000_ATTACH_MAX]; /* the last one is notified */
    size_t num_attached;
    bool link_known; /* link_up has been reported */
    bool link_up;
};

static struct nic nic;

/* ---- events ---------------------------------------------------------------- */

/* The attached channel, or 0. */
static cid_t nic_client(const struct nic *n) {
    return n->num_attached ? n->attached[n->num_attached - 1] : 0;
}

static void nic_detach(struct nic *n, cid_t ch) {
    size_t k = 0;
    for (size_t i = 0; i < n->num_attached; i++)
        if (n->attached[i] != ch)
            n->attached[k++] = n->attached[i];
    n->num_attached = k;
}

/* ch goes on top (the oldest is forgotten when the stack is full). */
static void nic_attach(struct nic *n, cid_t ch) {
    nic_detach(n, ch);
    if (n->num_attached == E1000_ATTACH_MAX) {
        memmove(n->attached, n->attached + 1, (E1000_ATTACH_MAX - 1) * sizeof(cid_t));
        n->num_attached--;
    }
    n->attached[n->num_attached++] = ch;
}

/* Tell the attached client; one that is gone (its close notification is
 * still on the way) is dropped and the one before it told instead. */
static void nic_notify_client(struct nic *n, notification_t bits) {
    cid_t ch;
    while ((ch = nic_client(n)) && sys_notify(ch, bits) != OK)
        nic_detach(n, ch);
}

static void nic_link_changed(struct nic *n) {
    bool up = n->dev.link_up;
    if (n->link_known && up == n->link_up)
        return;
    n->link_known = true;
    n->link_up = up;
    printf("e1000: link %s\n", up ? "up" : "down");
    nic_notify_client(n, NETDEV_NOTIFY_LINK);
}

/* An interrupt (or a poll): read and clear the causes, then tell the
 * client what is waiting. Several frames per interrupt are normal; they
 * all wait in the ring for the client's receive. */
static void nic_service(struct nic *n) {
    uint32_t cause = e1000_intr(&n->dev);
    if (cause & E1000_INT_LSC)
        nic_link_changed(n);
    if (cause & E1000_INT_TXDW)
        e1000_tx_reclaim(&n->dev);
    if (e1000_rx_ready(&n->dev))
        nic_notify_client(n, NETDEV_NOTIFY_RX);
}

static void nic_notify(struct server *s, cid_t from, notification_t bits) {
    struct nic *n = s->ctx;
    if (from == n->irq_ch && n->irq_ch && (bits & NOTIFY_IRQ)) {
        n->dev.stats.irqs++;
        nic_service(n);
        kernel_irq_ack(CID_KERNEL, n->pci.irq);
    } else if (from == n->poll_ch && n->poll_ch && (bits & NOTIFY_TIMER)) {
        nic_service(n);
    }
}

/* A client went away. If it was attached, the one before it is again, and
 * hears at once of frames already waiting. */
static void nic_closed(struct server *s, cid_t from) {
    struct nic *n = s->ctx;
    cid_t top = nic_client(n);
    nic_detach(n, from);
    if (top == from && e1000_rx_ready(&n->dev))
        nic_notify_client(n, NETDEV_NOTIFY_RX);
}

/* ---- net_device handlers --------------------------------------------------- */

static error_t nic_info_h(void *ctx, cid_t from, void *mac, size_t *mac_len, uint32_t *link_up,
                          uint32_t *mtu) {
    struct nic *n = ctx;
    memcpy(mac, n->dev.mac, 6);
    *mac_len = 6;
    *link_up = e1000_link_status(&n->dev);
    *mtu = NETDEV_MTU;
    return OK;
}

/* The reply goes out before the first notification: a notification that
 * reached the channel while the client still waited for this reply would
 * be taken for it. */
static error_t nic_attach_h(void *ctx, cid_t from) {
    struct nic *n = ctx;
    struct message m;
    nic_attach(n, from);
    net_device_attach_reply(&m);
    server_reply(from, &m);
    if (e1000_rx_ready(&n->dev))
        nic_notify_client(n, NETDEV_NOTIFY_RX);
    return IDL_DEFER_REPLY;
}

/* Every one of the first count slots holds a frame we can send. */
static error_t nic_check_frames(uint32_t count, uint64_t addr, uint64_t len) {
    if (count == 0)
        return ERR_INVALID_ARG;
    if ((uint64_t) count * NETDEV_SLOT_SIZE > len)
        return ERR_BAD_PAGE;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t flen = netdev_slot((void *) addr, i)->len;
        if (flen < E1000_FRAME_MIN || flen > NETDEV_FRAME_MAX)
            return ERR_INVALID_ARG;
    }
    return OK;
}

/* Queue the frames while there is room. A full ring is kicked and
 * reclaimed once more (a fast device, or QEMU, which sends at the tail
 * write, frees it at once) before the rest is left to the caller. */
static uint32_t nic_send(struct nic *n, uint32_t count, uint64_t addr) {
    uint32_t sent = 0;
    e1000_tx_reclaim(&n->dev);
    while (sent < count) {
        const struct netdev_slot *slot = netdev_slot((void *) addr, sent);
        if (!e1000_tx_queue(&n->dev, slot->frame, slot->len)) {
            e1000_tx_kick(&n->dev);
            if (e1000_tx_reclaim(&n->dev) == 0)
                break;
            continue;
        }
        sent++;
    }
    e1000_tx_kick(&n->dev);
    return sent;
}

static error_t nic_transmit_h(void *ctx, cid_t from, uint32_t count, uint64_t buf_addr,
                              uint64_t buf_len, uint32_t *sent, uint64_t *out_buf_addr,
                              uint64_t *out_buf_len) {
    error_t err = nic_check_frames(count, buf_addr, buf_len);
    if (err)
        return err;
    *sent = nic_send(ctx, count, buf_addr);
    *out_buf_addr = buf_addr;
    *out_buf_len = buf_len;
    return OK;
}

static error_t nic_receive_h(void *ctx, cid_t from, uint64_t buf_addr, uint64_t buf_len,
                             uint32_t *count, uint32_t *more, uint64_t *out_buf_addr,
                             uint64_t *out_buf_len) {
    struct nic *n = ctx;
    uint64_t slots = buf_len / NETDEV_SLOT_SIZE;
    if (slots == 0)
        return ERR_BAD_PAGE;
    uint32_t got = 0;
    const uint8_t *frame;
    uint32_t len;
    while (got < slots && e1000_rx_take(&n->dev, &frame, &len)) {
        struct netdev_slot *slot = netdev_slot((void *) buf_addr, got++);
        slot->len = len;
        memcpy(slot->frame, frame, len);
    }
    e1000_rx_done(&n->dev);
    *count = got;
    *more = e1000_rx_ready(&n->dev);
    *out_buf_addr = buf_addr;
    *out_buf_len = buf_len;
    return OK;
}

static error_t nic_stats_h(void *ctx, cid_t from, uint64_t *rx_packets, uint64_t *tx_packets,
                           uint64_t *rx_bytes, uint64_t *tx_bytes, uint64_t *rx_dropped,
                           uint64_t *tx_dropped, uint64_t *rx_errors, uint64_t *irqs) {
    struct nic *n = ctx;
    e1000_update_stats(&n->dev);
    const struct e1000_stats *st = &n->dev.stats;
    *rx_packets = st->rx_packets;
    *tx_packets = st->tx_packets;
    *rx_bytes = st->rx_bytes;
    *tx_bytes = st->tx_bytes;
    *rx_dropped = st->rx_dropped;
    *tx_dropped = st->tx_dropped;
    *rx_errors = st->rx_errors;
    *irqs = st->irqs;
    return OK;
}

static const struct net_device_server_ops nic_ops = {
    .info = nic_info_h,
    .attach = nic_attach_h,
    .transmit = nic_transmit_h,
    .receive = nic_receive_h,
    .stats = nic_stats_h,
};

static bool nic_dispatch(struct server *s, const struct message *req, struct message *reply) {
    return net_device_dispatch(&nic_ops, s->ctx, req, reply);
}

/* ---- start-up -------------------------------------------------------------- */

/* BAR0 mapped, the DMA block allocated and pinned. */
static error_t nic_map(struct nic *n) {
    const struct pci_bar *b = &n->bar0;
    if (b->io || !b->base || b->size < E1000_BAR_SIZE || !IS_ALIGNED(b->base, PAGE_SIZE)) {
        printf("e1000: BAR0 is unusable (base %#llx, size %#llx)\n",
               (unsigned long long) b->base, (unsigned long long) b->size);
        return ERR_NOT_SUPPORTED;
    }
    error_t err = kernel_mmio_map(CID_KERNEL, b->base, E1000_BAR_SIZE, USER_MMIO_BASE);
    if (err) {
        printf("e1000: cannot map BAR0 at %#llx: %s\n", (unsigned long long) b->base,
               err_name(err));
        return err;
    }
    n->dev.regs = (volatile uint8_t *) USER_MMIO_BASE;
    uint64_t addr, len;
    err = memmgr_alloc_pages(CID_MEMMGR, ALIGN_UP(E1000_DMA_SIZE, PAGE_SIZE), 1, &addr, &len);
    if (!err)
        err = kernel_dma_pin(CID_KERNEL, addr, len, &n->dev.dma_phys);
    if (err) {
        printf("e1000: no DMA memory: %s\n", err_name(err));
        return err;
    }
    n->dev.dma = (uint8_t *) addr;
    return OK;
}

/* The interrupt line, or a poll timer when asked to ("poll" as the
 * argument) or when the line is unknown or not ours. */
static error_t nic_listen(struct nic *n, bool poll) {
    error_t err = poll                           ? ERR_NOT_SUPPORTED
                  : n->pci.irq == PCI_IRQ_NONE ? ERR_NOT_FOUND
                  : n->pci.irq >= 16           ? ERR_INVALID_ARG
                                               : kernel_irq_listen(CID_KERNEL, n->pci.irq,
                                                                   &n->irq_ch);
    if (!err)
        return server_watch(&n->srv, n->irq_ch);
    if (!poll)
        printf("e1000: cannot listen on irq %u (%s): polling\n", n->pci.irq, err_name(err));
    n->irq_ch = 0;
    if ((err = kernel_timer_create(CID_KERNEL, &n->poll_ch)))
        return err;
    if ((err = server_watch(&n->srv, n->poll_ch)))
        return err;
    return kernel_timer_set(CID_KERNEL, n->poll_ch, E1000_POLL_NS, 1);
}

static void nic_wait_link(struct nic *n) {
    for (int ms = 0; ms < E1000_LINK_WAIT_MS && !e1000_link_status(&n->dev); ms += 10)
        sleep_ms(10);
    n->dev.link_up = e1000_link_status(&n->dev);
    n->link_known = true;
    n->link_up = n->dev.link_up;
}

static void nic_log_start(struct nic *n) {
    const uint8_t *m = n->dev.mac;
    char irq[16];
    if (n->irq_ch)
        snprintf(irq, sizeof(irq), "irq %u", n->pci.irq);
    else
        strcpy_safe(irq, "polled", sizeof(irq));
    printf("e1000: %02x:%02x:%02x:%02x:%02x:%02x link %s, %s, bar %#llx%s\n", m[0], m[1], m[2],
           m[3], m[4], m[5], n->link_up ? "up" : "down", irq, (unsigned long long) n->bar0.base,
           n->dev.mac_eeprom ? " (MAC from the EEPROM)" : "");
}

int main(void) {
    program_name = "e1000";
    struct nic *n = &nic;
    e1000_set_tsc_hz(tsc_hz());
    error_t err = kernel_ioport_enable(CID_KERNEL, PCI_CONFIG_ADDRESS, PCI_CONFIG_PORTS);
    if (err) {
        printf("e1000: no access to PCI configuration space: %s\n", err_name(err));
        return 1;
    }
    if (pci_find(&e1000_match, &n->pci) != OK) {
        printf("e1000: no device\n");
        return 0;
    }
    if ((err = pci_bar(&n->pci, 0, &n->bar0)))
        return 1;
    pci_enable(&n->pci);
    if ((err = nic_map(n)))
        return 1;
    n->dev.mac_eeprom = program_has_arg("eeprom");
    if ((err = e1000_init(&n->dev))) {
        printf("e1000: %s at %02x:%02x.%u does not start: %s\n", n->pci.id->name, n->pci.bus,
               n->pci.dev, n->pci.fn, err_name(err));
        e1000_stop(&n->dev);
        return 1;
    }
    n->srv = (struct server){.dispatch = nic_dispatch, .notify = nic_notify,
                             .closed = nic_closed, .ctx = n};
    if ((err = server_init(&n->srv, NULL)) || (err = nic_listen(n, program_has_arg("poll")))) {
        printf("e1000: cannot start the server: %s\n", err_name(err));
        e1000_stop(&n->dev);
        return 1;
    }
    nic_wait_link(n);
    nic_log_start(n);
    if ((err = server_register(&n->srv, "net"))) {
        printf("e1000: cannot register \"net\": %s\n", err_name(err));
        e1000_stop(&n->dev);
        return 1;
    }
    if (n->irq_ch) /* anything that came before we listened */
        kernel_irq_ack(CID_KERNEL, n->pci.irq);
    server_run(&n->srv);
}
