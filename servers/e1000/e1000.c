/*
 * The 8254x device layer: reset, MAC address, the receive and transmit
 * rings, and interrupt causes (e1000.h; docs/e1000.md).
 *
 * Both rings and all their buffers sit in one physically contiguous block
 * of pinned memory: the first page holds the 128 receive descriptors and
 * then the 128 transmit descriptors, then come 128 receive buffers and 128
 * transmit buffers of 2 KiB each. Every descriptor keeps its own buffer for
 * ever, so the buffer addresses are written once, at init, and a frame is
 * copied between a buffer and the client's page: no page is ever handed to
 * the device that could later leave this process.
 *
 * Receive: the device owns the descriptors from RDH up to RDT - 1 (one
 * always stays ours, so a full ring is never mistaken for an empty one);
 * rx_next is the oldest one it may have completed (DD). A descriptor taken
 * by e1000_rx_take() goes back to the device, by moving RDT over it, in
 * e1000_rx_done(), once its frame has been copied out. Transmit: tx_next
 * is our TDT, tx_clean the oldest descriptor whose completion (DD, RS set
 * on every frame) has not been counted yet.
 */
#include "e1000.h"

#define E1000_RESET_TIMEOUT_MS  100
#define E1000_EEPROM_TIMEOUT_MS 10

static uint64_t e1000_tsc_hz = 1000000000;

void e1000_set_tsc_hz(uint64_t hz) {
    if (hz >= 1000000)
        e1000_tsc_hz = hz;
}

static uint64_t e1000_deadline(uint64_t us) {
    return rdtsc() + e1000_tsc_hz / 1000000 * us;
}

static bool e1000_past(uint64_t deadline) {
    return (int64_t) (rdtsc() - deadline) >= 0;
}

static void e1000_delay_us(uint64_t us) {
    uint64_t end = e1000_deadline(us);
    while (!e1000_past(end))
        __asm__ volatile("pause");
}

/* ---- registers ------------------------------------------------------------- */

static uint32_t rd32(struct e1000 *d, uint32_t reg) {
    return *(volatile uint32_t *) (d->regs + reg);
}

/* Descriptor writes before a tail write: x86 keeps stores in order, so a
 * compiler barrier is all that is needed (the "memory" clobber). */
static void wr32(struct e1000 *d, uint32_t reg, uint32_t v) {
    __asm__ volatile("" ::: "memory");
    *(volatile uint32_t *) (d->regs + reg) = v;
}

static uint8_t *e1000_rx_buf(struct e1000 *d, uint32_t i) {
    return d->dma + E1000_RINGS_SIZE + (size_t) i * E1000_BUF_SIZE;
}

static uint8_t *e1000_tx_buf(struct e1000 *d, uint32_t i) {
    return d->dma + E1000_RINGS_SIZE + (size_t) (E1000_RX_DESCS + i) * E1000_BUF_SIZE;
}

static uint64_t e1000_phys(struct e1000 *d, const void *p) {
    return d->dma_phys + (uint64_t) ((const uint8_t *) p - d->dma);
}

/* ---- reset and MAC --------------------------------------------------------- */

static error_t e1000_reset(struct e1000 *d) {
    wr32(d, E1000_IMC, 0xffffffff);
    wr32(d, E1000_RCTL, 0);
    wr32(d, E1000_TCTL, E1000_TCTL_PSP);
    rd32(d, E1000_STATUS); /* flush the writes */
    e1000_delay_us(10000); /* let pending DMA finish (as Linux does) */
    wr32(d, E1000_CTRL, rd32(d, E1000_CTRL) | E1000_CTRL_RST);
    e1000_delay_us(1000);
    uint64_t deadline = e1000_deadline(E1000_RESET_TIMEOUT_MS * 1000);
    while (rd32(d, E1000_CTRL) & E1000_CTRL_RST) {
        if (e1000_past(deadline))
            return ERR_TIMEOUT;
        e1000_delay_us(100);
    }
    wr32(d, E1000_IMC, 0xffffffff);
    rd32(d, E1000_ICR);
    return OK;
}

void e1000_stop(struct e1000 *d) {
    if (e1000_reset(d))
        printf("e1000: the device did not finish its reset\n");
}

static bool e1000_mac_ok(const uint8_t *mac) {
    static const uint8_t zero[6];
    return memcmp(mac, zero, 6) != 0 && !(mac[0] & 1); /* not 0, not multicast */
}

/* One 16-bit word of the EEPROM through EERD. */
static error_t e1000_eeprom_word(struct e1000 *d, uint32_t word, uint16_t *out) {
    wr32(d, E1000_EERD, (word << E1000_EERD_ADDR_SHIFT) | E1000_EERD_START);
    uint64_t deadline = e1000_deadline(E1000_EEPROM_TIMEOUT_MS * 1000);
    for (;;) {
        uint32_t v = rd32(d, E1000_EERD);
        if (v & E1000_EERD_DONE) {
            *out = (uint16_t) (v >> E1000_EERD_DATA_SHIFT);
            return OK;
        }
        if (e1000_past(deadline))
            return ERR_TIMEOUT;
        __asm__ volatile("pause");
    }
}

/* The MAC from receive address 0 (loaded from the EEPROM at reset), else
 * (or if d->mac_eeprom asks for it) straight from EEPROM words 0-2;
 * written back to RAL0/RAH0 as valid. d->mac_eeprom: where it came from. */
static error_t e1000_read_mac(struct e1000 *d) {
    uint32_t lo = rd32(d, E1000_RAL0), hi = rd32(d, E1000_RAH0);
    for (int i = 0; i < 4; i++)
        d->mac[i] = (uint8_t) (lo >> (8 * i));
    d->mac[4] = (uint8_t) hi;
    d->mac[5] = (uint8_t) (hi >> 8);
    if (d->mac_eeprom || !(hi & E1000_RAH_AV) || !e1000_mac_ok(d->mac)) {
        d->mac_eeprom = true;
        for (uint32_t w = 0; w < 3; w++) {
            uint16_t v;
            error_t err = e1000_eeprom_word(d, w, &v);
            if (err)
                return err;
            d->mac[2 * w] = (uint8_t) v;
            d->mac[2 * w + 1] = (uint8_t) (v >> 8);
        }
        if (!e1000_mac_ok(d->mac))
            return ERR_NOT_FOUND;
    }
    lo = d->mac[0] | (uint32_t) d->mac[1] << 8 | (uint32_t) d->mac[2] << 16
         | (uint32_t) d->mac[3] << 24;
    wr32(d, E1000_RAL0, lo);
    wr32(d, E1000_RAH0, d->mac[4] | (uint32_t) d->mac[5] << 8 | E1000_RAH_AV);
    return OK;
}

/* ---- rings ----------------------------------------------------------------- */

static void e1000_rx_init(struct e1000 *d) {
    for (uint32_t i = 0; i < E1000_RX_DESCS; i++)
        d->rx[i] = (struct e1000_rx_desc){.addr = e1000_phys(d, e1000_rx_buf(d, i))};
    uint64_t ring = e1000_phys(d, d->rx);
    wr32(d, E1000_RDBAL, (uint32_t) ring);
    wr32(d, E1000_RDBAH, (uint32_t) (ring >> 32));
    wr32(d, E1000_RDLEN, E1000_RX_DESCS * sizeof(struct e1000_rx_desc));
    wr32(d, E1000_RDH, 0);
    d->rx_next = 0;
    d->rx_tail = E1000_RX_DESCS - 1;
    wr32(d, E1000_RDT, d->rx_tail);
    wr32(d, E1000_RDTR, 0); /* interrupt at once */
    wr32(d, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_SECRC);
}

static void e1000_tx_init(struct e1000 *d) {
    for (uint32_t i = 0; i < E1000_TX_DESCS; i++)
        d->tx[i] = (struct e1000_tx_desc){.addr = e1000_phys(d, e1000_tx_buf(d, i))};
    uint64_t ring = e1000_phys(d, d->tx);
    wr32(d, E1000_TDBAL, (uint32_t) ring);
    wr32(d, E1000_TDBAH, (uint32_t) (ring >> 32));
    wr32(d, E1000_TDLEN, E1000_TX_DESCS * sizeof(struct e1000_tx_desc));
    wr32(d, E1000_TDH, 0);
    wr32(d, E1000_TDT, 0);
    d->tx_next = d->tx_clean = 0;
    wr32(d, E1000_TIPG, E1000_TIPG_COPPER);
    wr32(d, E1000_TCTL, E1000_TCTL_EN | E1000_TCTL_PSP | E1000_TCTL_CT << E1000_TCTL_CT_SHIFT
                            | E1000_TCTL_COLD_FD << E1000_TCTL_COLD_SHIFT);
}

error_t e1000_init(struct e1000 *d) {
    STATIC_ASSERT(E1000_RX_DESCS * sizeof(struct e1000_rx_desc)
                      + E1000_TX_DESCS * sizeof(struct e1000_tx_desc) <= E1000_RINGS_SIZE);
    d->rx = (struct e1000_rx_desc *) d->dma;
    d->tx = (struct e1000_tx_desc *) (d->dma + E1000_RX_DESCS * sizeof(struct e1000_rx_desc));
    error_t err = e1000_reset(d);
    if (err)
        return err;
    uint32_t ctrl = rd32(d, E1000_CTRL);
    ctrl &= ~(E1000_CTRL_LRST | E1000_CTRL_PHY_RST | E1000_CTRL_ILOS | E1000_CTRL_VME);
    wr32(d, E1000_CTRL, ctrl | E1000_CTRL_SLU | E1000_CTRL_ASDE);
    if ((err = e1000_read_mac(d)))
        return err;
    for (uint32_t i = 0; i < E1000_MTA_COUNT; i++)
        wr32(d, E1000_MTA + 4 * i, 0);
    e1000_rx_init(d);
    e1000_tx_init(d);
    d->link_up = (rd32(d, E1000_STATUS) & E1000_STATUS_LU) != 0;
    d->mpc_mode = E1000_MPC_UNKNOWN;
    d->mpc_last = rd32(d, E1000_MPC); /* see e1000_count_missed() */
    rd32(d, E1000_ICR);
    wr32(d, E1000_IMS, E1000_INT_WANTED);
    return OK;
}

bool e1000_link_status(struct e1000 *d) {
    return (rd32(d, E1000_STATUS) & E1000_STATUS_LU) != 0;
}

/* MPC counts frames missed for want of a free receive buffer. The 8254x
 * clears it on read (and at reset); QEMU's model (7.2 at least) does
 * neither. e1000_init() reads it once: that clears a real one and is the
 * base of QEMU's. The first non-zero value after that is read twice to
 * tell which it is: a clearing register then reads (all but always) 0,
 * QEMU's the same value again. From then on a clearing MPC is added as
 * read, a cumulative one by how much it grew. */
static void e1000_count_missed(struct e1000 *d) {
    uint32_t v = rd32(d, E1000_MPC);
    if (d->mpc_mode == E1000_MPC_UNKNOWN) {
        if (v == 0)
            return;
        uint32_t again = rd32(d, E1000_MPC);
        if (again < v) {
            d->mpc_mode = E1000_MPC_CLEARS;
            d->stats.rx_dropped += v + again;
            return;
        }
        d->mpc_mode = E1000_MPC_CUMULATIVE;
        v = again;
    }
    if (d->mpc_mode == E1000_MPC_CLEARS) {
        d->stats.rx_dropped += v;
    } else {
        d->stats.rx_dropped += v >= d->mpc_last ? v - d->mpc_last : v; /* reset or wrapped */
        d->mpc_last = v;
    }
}

uint32_t e1000_intr(struct e1000 *d) {
    uint32_t cause = rd32(d, E1000_ICR);
    d->link_up = e1000_link_status(d);
    e1000_count_missed(d);
    return cause;
}

void e1000_update_stats(struct e1000 *d) {
    e1000_count_missed(d);
    e1000_tx_reclaim(d);
}

/* ---- receive --------------------------------------------------------------- */

bool e1000_rx_ready(struct e1000 *d) {
    return (((volatile struct e1000_rx_desc *) d->rx)[d->rx_next].status & E1000_RXD_STAT_DD)
           != 0;
}

/* A frame we do not hand out: one with errors, of a bad length, or split
 * over several buffers (which a 2 KiB buffer without jumbo frames never
 * needs), whose every part is counted once. */
static bool e1000_rx_bad(const struct e1000_rx_desc *desc) {
    return (desc->errors & E1000_RXD_ERR_FRAME) || !(desc->status & E1000_RXD_STAT_EOP)
           || desc->length < E1000_FRAME_MIN || desc->length > E1000_FRAME_MAX;
}

bool e1000_rx_take(struct e1000 *d, const uint8_t **frame, uint32_t *len) {
    while (e1000_rx_ready(d)) {
        uint32_t i = d->rx_next;
        struct e1000_rx_desc desc = ((volatile struct e1000_rx_desc *) d->rx)[i];
        __asm__ volatile("" ::: "memory"); /* the status before the buffer */
        d->rx[i].status = 0;
        d->rx_next = (i + 1) % E1000_RX_DESCS;
        if (e1000_rx_bad(&desc)) {
            d->stats.rx_errors++;
            continue;
        }
        *frame = e1000_rx_buf(d, i);
        *len = desc.length;
        d->stats.rx_packets++;
        d->stats.rx_bytes += desc.length;
        return true;
    }
    return false;
}

void e1000_rx_done(struct e1000 *d) {
    uint32_t tail = (d->rx_next + E1000_RX_DESCS - 1) % E1000_RX_DESCS;
    if (tail != d->rx_tail) {
        d->rx_tail = tail;
        wr32(d, E1000_RDT, tail);
    }
}

/* ---- transmit -------------------------------------------------------------- */

uint32_t e1000_tx_reclaim(struct e1000 *d) {
    volatile struct e1000_tx_desc *tx = d->tx;
    while (d->tx_clean != d->tx_next && (tx[d->tx_clean].status & E1000_TXD_STAT_DD)) {
        uint32_t i = d->tx_clean;
        if (tx[i].status & (E1000_TXD_STAT_EC | E1000_TXD_STAT_LC)) {
            d->stats.tx_dropped++;
        } else {
            d->stats.tx_packets++;
            d->stats.tx_bytes += tx[i].length;
        }
        tx[i].status = 0;
        d->tx_clean = (i + 1) % E1000_TX_DESCS;
    }
    uint32_t used = (d->tx_next + E1000_TX_DESCS - d->tx_clean) % E1000_TX_DESCS;
    return E1000_TX_DESCS - 1 - used;
}

bool e1000_tx_queue(struct e1000 *d, const uint8_t *frame, uint32_t len) {
    uint32_t i = d->tx_next, next = (i + 1) % E1000_TX_DESCS;
    if (next == d->tx_clean)
        return false;
    memcpy(e1000_tx_buf(d, i), frame, len);
    struct e1000_tx_desc *desc = &d->tx[i];
    desc->length = (uint16_t) len;
    desc->cso = 0;
    desc->cmd = E1000_TXD_CMD_EOP | E1000_TXD_CMD_IFCS | E1000_TXD_CMD_RS;
    desc->status = 0;
    desc->css = 0;
    desc->special = 0;
    d->tx_next = next;
    return true;
}

void e1000_tx_kick(struct e1000 *d) {
    wr32(d, E1000_TDT, d->tx_next);
}
