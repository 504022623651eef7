/*
 * AHCI (Serial ATA Advanced Host Controller Interface 1.3.1) registers and
 * in-memory structures, and the device layer of the ahci server.
 *
 * An HBA (host bus adapter) is one PCI function whose BAR5 (ABAR) holds the
 * generic host registers and, from 0x100, 0x80 bytes of registers per port.
 * A port runs commands from its command list (32 headers of 32 bytes); a
 * header points at a command table holding the command FIS (an ATA
 * register set) and a PRDT (the scatter list of the data); the port writes
 * the FISes the device sends back into its received-FIS area. All three
 * live in DMA memory the driver gives the port.
 *
 * ahci.c drives the hardware and knows nothing of messages: ahci_hba_init()
 * takes a controller over from the firmware, ahci_port_probe() finds and
 * identifies a disk, ahci_cmd_start() issues one command (slot 0) and
 * ahci_cmd_check() tells, after an interrupt, whether it is over.
 * main.c owns the PCI discovery, the request queues, the IRQ/timer
 * channels and the replies.
 */
#pragma once

#include <user/user.h>
#include <user/pci.h>

/* ---- generic host control (offsets in ABAR) ---- */
#define HBA_CAP   0x00
#define HBA_GHC   0x04
#define HBA_IS    0x08 /* one bit per port with an interrupt; write 1 to clear */
#define HBA_PI    0x0c /* ports implemented */
#define HBA_VS    0x10
#define HBA_CAP2  0x24
#define HBA_BOHC  0x28

#define CAP_NP_MASK 0x1fu      /* number of ports - 1 */
#define CAP_SSS     (1u << 27) /* staggered spin-up: PxCMD.SUD spins a port up */
#define CAP_SAM     (1u << 18) /* AHCI only: GHC.AE is read-only 1 */
#define CAP_S64A    (1u << 31) /* 64-bit DMA addresses */

#define GHC_HR (1u << 0)  /* HBA reset */
#define GHC_IE (1u << 1)  /* interrupt enable */
#define GHC_AE (1u << 31) /* AHCI enable */

#define CAP2_BOH  (1u << 0) /* BIOS/OS handoff */
#define BOHC_BOS  (1u << 0) /* BIOS owned semaphore */
#define BOHC_OOS  (1u << 1) /* OS owned semaphore */
#define BOHC_BB   (1u << 4) /* BIOS busy */

/* ---- port registers (offsets from 0x100 + port * 0x80) ---- */
#define HBA_PORT_BASE 0x100
#define HBA_PORT_SIZE 0x80
#define PX_CLB   0x00 /* command list base (1 KiB aligned), low and high */
#define PX_CLBU  0x04
#define PX_FB    0x08 /* received-FIS base (256 B aligned), low and high */
#define PX_FBU   0x0c
#define PX_IS    0x10 /* interrupt status; write 1 to clear */
#define PX_IE    0x14 /* interrupt enable */
#define PX_CMD   0x18
#define PX_TFD   0x20 /* task file: status 7:0, error 15:8 */
#define PX_SIG   0x24
#define PX_SSTS  0x28 /* SStatus: DET 3:0 */
#define PX_SCTL  0x2c /* SControl: DET 3:0 (1: COMRESET), IPM 11:8 */
#define PX_SERR  0x30 /* SError; write 1 to clear */
#define PX_SACT  0x34
#define PX_CI    0x38 /* command issue: one bit per slot */

#define PXCMD_ST  (1u << 0)  /* start: process the command list */
#define PXCMD_SUD (1u << 1)  /* spin-up device */
#define PXCMD_POD (1u << 2)  /* power on device */
#define PXCMD_FRE (1u << 4)  /* FIS receive enable */
#define PXCMD_FR  (1u << 14) /* FIS receive running */
#define PXCMD_CR  (1u << 15) /* command list running */

#define PXIS_DHRS (1u << 0)  /* a D2H register FIS arrived (command done) */
#define PXIS_PSS  (1u << 1)  /* a PIO setup FIS arrived */
#define PXIS_DSS  (1u << 2)  /* a DMA setup FIS arrived */
#define PXIS_SDBS (1u << 3)  /* a set device bits FIS arrived */
#define PXIS_UFS  (1u << 4)  /* an unknown FIS arrived */
#define PXIS_DPS  (1u << 5)  /* a PRD with I set was processed */
#define PXIS_OFS  (1u << 24) /* overflow: the device sent more than the PRDT holds */
#define PXIS_INFS (1u << 26) /* interface non-fatal error */
#define PXIS_IFS  (1u << 27) /* interface fatal error */
#define PXIS_HBDS (1u << 28) /* host bus data error */
#define PXIS_HBFS (1u << 29) /* host bus fatal error */
#define PXIS_TFES (1u << 30) /* task file error: the device set ERR */
/* What fails a command, and what the driver enables. */
#define PXIS_ERRORS  (PXIS_OFS | PXIS_IFS | PXIS_HBDS | PXIS_HBFS | PXIS_TFES)
#define PXIS_ENABLED (PXIS_DHRS | PXIS_PSS | PXIS_DSS | PXIS_SDBS | PXIS_ERRORS)

#define SSTS_DET_MASK    0xfu
#define SSTS_DET_PRESENT 3u /* device present, PHY communication established */
#define SCTL_DET_COMRESET 1u
#define SCTL_IPM_NONE    (3u << 8) /* no partial/slumber power states */

#define SIG_ATA   0x00000101u
#define SIG_ATAPI 0xeb140101u
#define SIG_NONE  0xffffffffu /* no D2H FIS since reset */

/* ATA status / error bits (PxTFD). */
#define ATA_SR_ERR  0x01
#define ATA_SR_DRQ  0x08
#define ATA_SR_BSY  0x80
#define ATA_ER_ABRT 0x04
#define ATA_ER_IDNF 0x10
#define ATA_ER_UNC  0x40

/* ATA commands (ACS-3). */
#define ATA_CMD_READ_DMA_EXT    0x25
#define ATA_CMD_WRITE_DMA_EXT   0x35
#define ATA_CMD_FLUSH_CACHE_EXT 0xea
#define ATA_CMD_IDENTIFY        0xec

/* IDENTIFY DEVICE words. */
#define ID_CONFIG        0  /* bit 15 set: not an ATA device */
#define ID_MODEL         27 /* 20 words, two characters each, high byte first */
#define ID_MODEL_WORDS   20
#define ID_CMDSET2       83 /* bit 10: 48-bit address feature set (bits 15:14 = 01) */
#define ID_LBA48_SECTORS 100 /* 4 words */
#define ID_SECTOR_SIZE   106 /* bit 12: logical sectors longer than 256 words */
#define ID_CMDSET2_LBA48 (1u << 10)

/* ---- in-memory structures ---- */
#define FIS_TYPE_REG_H2D 0x27
#define FIS_H2D_COMMAND  0x80 /* byte 1: the FIS updates the command register */
#define ATA_DEV_LBA      0x40

/* A register FIS, host to device (SATA 3.2, 10.5.5). */
struct fis_h2d {
    uint8_t type, flags, command, feature_lo;
    uint8_t lba0, lba1, lba2, device;
    uint8_t lba3, lba4, lba5, feature_hi;
    uint8_t count_lo, count_hi, icc, control;
    uint8_t reserved[4];
};
_Static_assert(sizeof(struct fis_h2d) == 20, "H2D register FIS");

#define CMDH_CFL_H2D (sizeof(struct fis_h2d) / 4) /* command FIS length in dwords */
#define CMDH_WRITE   (1u << 6)                     /* data goes to the device */

/* A command header: one of the 32 of a command list. */
struct ahci_cmd_header {
    uint32_t flags;  /* CFL 4:0, A 5, W 6, P 7, ..., PRDTL 31:16 */
    uint32_t prdbc;  /* bytes transferred (the HBA writes it) */
    uint32_t ctba;   /* command table base (128 B aligned), low and high */
    uint32_t ctbau;
    uint32_t reserved[4];
};
_Static_assert(sizeof(struct ahci_cmd_header) == 32, "command header");

#define PRD_MAX_BYTES (4u << 20) /* one entry: at most 4 MiB, an even count */

struct ahci_prd {
    uint32_t dba, dbau; /* data base address (word aligned) */
    uint32_t reserved;
    uint32_t dbc;       /* byte count - 1 (21:0); bit 31: interrupt when done */
};

/* A command table with one PRD: the bounce buffer is contiguous. */
struct ahci_cmd_table {
    uint8_t cfis[64];
    uint8_t acmd[16];
    uint8_t reserved[48];
    struct ahci_prd prdt[1];
};
_Static_assert(sizeof(struct ahci_cmd_table) == 0x90, "command table");

/* The one DMA page of a port: command list, received FISes, command table
 * and a 512-byte buffer for IDENTIFY. */
#define PORT_MEM_CLB   0x000 /* 1 KiB, 1 KiB aligned */
#define PORT_MEM_FB    0x400 /* 256 B, 256 B aligned */
#define PORT_MEM_CT    0x500 /* 0x90 B, 128 B aligned */
#define PORT_MEM_ID    0x800 /* 512 B */
#define RFIS_D2H       0x40  /* the D2H register FIS inside the received-FIS area */

#define AHCI_SECTOR_SIZE   512
#define AHCI_CHUNK_SECTORS 256 /* one command: the bounce buffer, 128 KiB */
#define AHCI_CHUNK_BYTES   (AHCI_CHUNK_SECTORS * AHCI_SECTOR_SIZE)
#define AHCI_MODEL_LEN     40

/* Timeouts (ms). */
#define AHCI_CMD_TIMEOUT_MS    10000 /* one read/write command */
#define AHCI_FLUSH_TIMEOUT_MS  30000
#define AHCI_ENGINE_TIMEOUT_MS 500   /* PxCMD.CR / FR to clear (AHCI 10.1.2) */
#define AHCI_READY_TIMEOUT_MS  5000  /* BSY/DRQ clear, the signature, after a reset */
#define AHCI_LINK_TIMEOUT_MS   1000  /* PxSSTS.DET = 3 after COMRESET */
#define AHCI_HANDOFF_TIMEOUT_MS 2000 /* BIOS busy after the OS asked for ownership */

struct ahci_hba {
    struct pci_device pci;
    uint64_t abar;          /* BAR5: physical address */
    volatile uint8_t *regs; /* ABAR, mapped */
    uint32_t cap, pi, version;
    size_t nports;          /* port registers that fit in the mapped ABAR */
};

enum ahci_op { AHCI_OP_READ, AHCI_OP_WRITE, AHCI_OP_FLUSH };

struct ahci_port {
    struct ahci_hba *hba;
    unsigned num;                /* port number on its HBA */
    uint32_t unit;               /* blk unit number (for the log) */
    volatile uint8_t *regs;
    uint8_t *mem;                /* the port's DMA page (PORT_MEM_*) */
    uint64_t mem_phys;
    uint8_t *bounce;             /* AHCI_CHUNK_BYTES of DMA memory */
    uint64_t bounce_phys;
    /* The disk, from IDENTIFY DEVICE. */
    uint64_t sectors;
    char model[AHCI_MODEL_LEN + 1];
    /* The command on the device (slot 0). */
    bool busy;
    enum ahci_op op;
    uint64_t lba;
    uint32_t count;
};

/* Take the HBA over: BIOS/OS handoff, AHCI mode, interrupts off, every
 * port stopped (an HBA reset if one does not stop, or if reset is true)
 * and its interrupts masked and cleared. */
error_t ahci_hba_init(struct ahci_hba *h, bool reset);

/* Let the HBA interrupt (after every port is set up). */
void ahci_hba_enable_irq(struct ahci_hba *h);

/* Ports with an interrupt (IS); ahci_hba_ack() clears those bits once
 * each port's PxIS has been cleared. */
uint32_t ahci_hba_pending(struct ahci_hba *h);
void ahci_hba_ack(struct ahci_hba *h, uint32_t ports);

/* Whether port num may hold a device (implemented, PHY up). */
bool ahci_port_present(struct ahci_hba *h, unsigned num);

/* Set port p (hba, num, unit filled in) up on its DMA page: stop it, point
 * it at the page, start it and identify the device. OK: p is an ATA disk
 * (sectors, model filled in) and its port runs, with interrupts enabled;
 * ERR_NOT_FOUND: no ATA disk there (logged; the port is left stopped);
 * another error: the port does not work (logged). */
error_t ahci_port_probe(struct ahci_port *p, uint8_t *mem, uint64_t mem_phys);

/* Stop a port's engines (no more DMA to its memory). */
void ahci_port_stop(struct ahci_port *p);

/* Issue one command in slot 0: read or write count sectors (at most
 * AHCI_CHUNK_SECTORS) at lba through the bounce buffer, or flush. */
error_t ahci_cmd_start(struct ahci_port *p, enum ahci_op op, uint64_t lba, uint32_t count);

/* After an interrupt (or a timeout): read and clear PxIS. OK: the command
 * completed; IDL_DEFER_REPLY: still running; ERR_IO: it failed (logged, the
 * port needs ahci_port_reset). */
error_t ahci_cmd_check(struct ahci_port *p);

/* COMRESET the link and restart the port (after an error or a timeout). */
error_t ahci_port_reset(struct ahci_port *p);
