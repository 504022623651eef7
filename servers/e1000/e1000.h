/*
 * The Intel 8254x ("e1000") register interface and the device layer of the
 * e1000 server.
 *
 * Register offsets and bits follow the PCI/PCI-X Family of Gigabit Ethernet
 * Controllers Software Developer's Manual (Intel 317453, "8254x SDM"),
 * chapter 13; descriptor layouts its section 3.2.3 (legacy receive) and
 * 3.3.3 (legacy transmit). Only what this driver uses is named here.
 *
 * e1000.c drives the device and knows nothing of messages: e1000_init()
 * resets it and sets up both rings in one block of pinned DMA memory,
 * e1000_rx_take()/e1000_rx_done() hand out received frames,
 * e1000_tx_queue() puts frames on the transmit ring, and e1000_intr()
 * reads the interrupt cause. libs/user/pci.c finds the device; main.c
 * owns the server loop, the IRQ channel and the client.
 */
#pragma once

#include <user/user.h>

/* ---- registers (byte offsets into BAR0) ------------------------------------ */
#define E1000_CTRL   0x0000 /* device control */
#define E1000_STATUS 0x0008 /* device status */
#define E1000_EERD   0x0014 /* EEPROM read */
#define E1000_ICR    0x00c0 /* interrupt cause read (clears on read) */
#define E1000_IMS    0x00d0 /* interrupt mask set */
#define E1000_IMC    0x00d8 /* interrupt mask clear */
#define E1000_RCTL   0x0100 /* receive control */
#define E1000_TCTL   0x0400 /* transmit control */
#define E1000_TIPG   0x0410 /* transmit inter-packet gap */
#define E1000_RDBAL  0x2800 /* receive ring base, low 32 bits */
#define E1000_RDBAH  0x2804
#define E1000_RDLEN  0x2808 /* receive ring length in bytes (multiple of 128) */
#define E1000_RDH    0x2810 /* receive head (the device's) */
#define E1000_RDT    0x2818 /* receive tail (ours: one past the last free buffer) */
#define E1000_RDTR   0x2820 /* receive interrupt delay */
#define E1000_TDBAL  0x3800
#define E1000_TDBAH  0x3804
#define E1000_TDLEN  0x3808
#define E1000_TDH    0x3810
#define E1000_TDT    0x3818
#define E1000_MPC    0x4010 /* missed packets count (clears on read) */
#define E1000_MTA    0x5200 /* multicast table array, 128 registers */
#define E1000_RAL0   0x5400 /* receive address 0, low: MAC bytes 0-3 */
#define E1000_RAH0   0x5404 /* receive address 0, high: MAC bytes 4-5 and AV */

#define E1000_RAH_AV    (1u << 31) /* the receive address is valid */
#define E1000_MTA_COUNT 128
#define E1000_BAR_SIZE  (128 * 1024) /* the register window of BAR0 */

/* CTRL bits. */
#define E1000_CTRL_LRST    (1u << 3)  /* link reset */
#define E1000_CTRL_ASDE    (1u << 5)  /* auto-speed detection */
#define E1000_CTRL_SLU     (1u << 6)  /* set link up */
#define E1000_CTRL_ILOS    (1u << 7)  /* invert loss-of-signal */
#define E1000_CTRL_RST     (1u << 26) /* device reset (self-clearing) */
#define E1000_CTRL_VME     (1u << 30) /* VLAN mode */
#define E1000_CTRL_PHY_RST (1u << 31)

/* STATUS bits. */
#define E1000_STATUS_LU (1u << 1) /* link up */

/* EERD: write START with the word address, poll DONE, data in 31:16. */
#define E1000_EERD_START      (1u << 0)
#define E1000_EERD_DONE       (1u << 4)
#define E1000_EERD_ADDR_SHIFT 8
#define E1000_EERD_DATA_SHIFT 16

/* Interrupt causes (ICR, IMS, IMC). */
#define E1000_INT_TXDW   (1u << 0) /* a transmit descriptor was written back */
#define E1000_INT_LSC    (1u << 2) /* link status change */
#define E1000_INT_RXDMT0 (1u << 4) /* free receive descriptors below the threshold */
#define E1000_INT_RXO    (1u << 6) /* receiver overrun (frames missed) */
#define E1000_INT_RXT0   (1u << 7) /* receive timer: frames written back */
#define E1000_INT_WANTED \
    (E1000_INT_TXDW | E1000_INT_LSC | E1000_INT_RXDMT0 | E1000_INT_RXO | E1000_INT_RXT0)

/* RCTL bits. BSIZE 00 with BSEX clear: 2048-byte buffers. */
#define E1000_RCTL_EN    (1u << 1)
#define E1000_RCTL_BAM   (1u << 15) /* accept broadcast */
#define E1000_RCTL_SECRC (1u << 26) /* strip the Ethernet CRC */

/* TCTL bits and fields. */
#define E1000_TCTL_EN        (1u << 1)
#define E1000_TCTL_PSP       (1u << 3)  /* pad short packets to 64 bytes */
#define E1000_TCTL_CT_SHIFT  4          /* collision threshold */
#define E1000_TCTL_COLD_SHIFT 12        /* collision distance */
#define E1000_TCTL_CT        0x0f       /* the SDM's recommended values */
#define E1000_TCTL_COLD_FD   0x40       /* full duplex */
/* TIPG for copper (IPGT 10, IPGR1 8, IPGR2 6), SDM 13.4.34. */
#define E1000_TIPG_COPPER (10u | (8u << 10) | (6u << 20))

/* ---- descriptors ----------------------------------------------------------- */
struct e1000_rx_desc {
    uint64_t addr;   /* buffer (physical) */
    uint16_t length; /* bytes written back */
    uint16_t csum;
    uint8_t status;
    uint8_t errors;
    uint16_t special;
};
STATIC_ASSERT(sizeof(struct e1000_rx_desc) == 16);

#define E1000_RXD_STAT_DD  (1u << 0) /* descriptor done */
#define E1000_RXD_STAT_EOP (1u << 1) /* last descriptor of a frame */
/* RXD errors: CE, SE, SEQ, CXE, RXE (bits 0-2 and 5-7; 4 is reserved). */
#define E1000_RXD_ERR_FRAME 0xe7u

struct e1000_tx_desc {
    uint64_t addr;
    uint16_t length;
    uint8_t cso;
    uint8_t cmd;
    uint8_t status;
    uint8_t css;
    uint16_t special;
};
STATIC_ASSERT(sizeof(struct e1000_tx_desc) == 16);

#define E1000_TXD_CMD_EOP  (1u << 0) /* end of packet */
#define E1000_TXD_CMD_IFCS (1u << 1) /* insert the FCS */
#define E1000_TXD_CMD_RS   (1u << 3) /* report status (DD) */
#define E1000_TXD_STAT_DD  (1u << 0)
#define E1000_TXD_STAT_EC  (1u << 1) /* excess collisions: not sent */
#define E1000_TXD_STAT_LC  (1u << 2) /* late collision: not sent */

/* ---- the device layer ------------------------------------------------------ */
#define E1000_RX_DESCS  128  /* each ring: 2 KiB, a multiple of 128 bytes */
#define E1000_TX_DESCS  128
#define E1000_BUF_SIZE  2048 /* one receive or transmit buffer */
#define E1000_FRAME_MIN 14   /* an Ethernet header */
#define E1000_FRAME_MAX 1514 /* without the FCS (no jumbo frames, no VLAN tag) */

/* The DMA block: both rings in the first page, then the buffers. */
#define E1000_RINGS_SIZE PAGE_SIZE
#define E1000_DMA_SIZE \
    (E1000_RINGS_SIZE + (E1000_RX_DESCS + E1000_TX_DESCS) * E1000_BUF_SIZE)

struct e1000_stats {
    uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes;
    uint64_t rx_dropped; /* missed by the NIC (MPC): no free receive buffer */
    uint64_t tx_dropped; /* the NIC gave up on them (excess or late collision) */
    uint64_t rx_errors;  /* bad frames (CRC, symbol, length, split) thrown away */
    uint64_t irqs;
};

struct e1000 {
    volatile uint8_t *regs; /* BAR0, mapped uncached */
    uint8_t *dma;           /* E1000_DMA_SIZE bytes, physically contiguous */
    uint64_t dma_phys;
    struct e1000_rx_desc *rx;
    struct e1000_tx_desc *tx;
    uint8_t mac[6];
    bool mac_eeprom;   /* in: read the MAC from the EEPROM; out: it was */
    bool link_up;   /* as of the last e1000_intr() or e1000_init() */
    uint32_t rx_next;  /* the next descriptor the device completes */
    uint32_t rx_tail;  /* our RDT: the last descriptor the device may fill */
    uint32_t tx_next;  /* the next free transmit descriptor (our TDT) */
    uint32_t tx_clean; /* the oldest descriptor not yet reclaimed */
    enum { E1000_MPC_UNKNOWN, E1000_MPC_CLEARS, E1000_MPC_CUMULATIVE } mpc_mode;
    uint32_t mpc_last; /* a cumulative MPC's last value (at init: its base) */
    struct e1000_stats stats;
};

/* Reset d (regs, dma and dma_phys set by the caller), read its MAC, set up
 * both rings and enable receive, transmit and interrupts. */
error_t e1000_init(struct e1000 *d);

/* Mask every interrupt and reset the device: it stops touching memory. */
void e1000_stop(struct e1000 *d);

/* Read and clear the interrupt causes (E1000_INT_*); refreshes link_up
 * and the missed-packet count. */
uint32_t e1000_intr(struct e1000 *d);

/* STATUS.LU, read now. */
bool e1000_link_status(struct e1000 *d);

/* Bring stats up to date: missed packets, completed transmissions. */
void e1000_update_stats(struct e1000 *d);

/* Whether a received frame waits at the head of the ring. */
bool e1000_rx_ready(struct e1000 *d);

/* The next good received frame: its bytes and length (bad frames on the
 * way are recycled and counted). False when none waits. The frame stays
 * valid until e1000_rx_done(). */
bool e1000_rx_take(struct e1000 *d, const uint8_t **frame, uint32_t *len);

/* Give the descriptors taken since the last call back to the device. */
void e1000_rx_done(struct e1000 *d);

/* Descriptors the device has finished sending: reclaim them; the number of
 * free transmit descriptors. */
uint32_t e1000_tx_reclaim(struct e1000 *d);

/* Copy one frame (E1000_FRAME_MIN..E1000_FRAME_MAX bytes, checked by the
 * caller) into the next transmit buffer; false if the ring is full. The
 * device sees it at the next e1000_tx_kick(). */
bool e1000_tx_queue(struct e1000 *d, const uint8_t *frame, uint32_t len);
void e1000_tx_kick(struct e1000 *d);

/* Time, from the TSC: set once by main.c. */
void e1000_set_tsc_hz(uint64_t hz);
