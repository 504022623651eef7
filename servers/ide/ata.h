/*
 * ATA (PIO) register interface and the device layer of the ide server.
 *
 * Register offsets, commands and status bits follow the ATA/ATAPI-6
 * specification (T13/1410D). A legacy IDE channel is a command block of
 * eight ports at `base` and a control block of one port at `ctrl`
 * (alternate status on read, device control on write); the two drives on
 * a channel share its registers and its IRQ line, so one command at a time
 * runs per channel.
 *
 * ata.c drives the hardware and knows nothing of messages: ata_probe()
 * finds the drives, ata_xfer_start() issues the first command of a
 * transfer, and ata_xfer_step() advances it each time the channel's IRQ
 * fires (or a timeout suspects a lost one). main.c owns the request
 * queues, the IRQ/timer channels and the replies.
 */
#pragma once

#include <user/user.h>

/* Command block registers (offsets from base). */
#define ATA_REG_DATA     0 /* 16-bit PIO data */
#define ATA_REG_ERROR    1 /* read */
#define ATA_REG_FEATURES 1 /* write */
#define ATA_REG_COUNT    2 /* sector count */
#define ATA_REG_LBA0     3 /* LBA bits 0-7 (24-31 on the second LBA48 write) */
#define ATA_REG_LBA1     4 /* LBA bits 8-15 (32-39), "cylinder low" */
#define ATA_REG_LBA2     5 /* LBA bits 16-23 (40-47), "cylinder high" */
#define ATA_REG_DEVICE   6 /* drive select, LBA mode, LBA28 bits 24-27 */
#define ATA_REG_STATUS   7 /* read: reading it clears the device's INTRQ */
#define ATA_REG_COMMAND  7 /* write */

/* Control block register (at ctrl). Reading it never clears INTRQ. */
#define ATA_REG_ALTSTATUS 0 /* read */
#define ATA_REG_DEVCTL    0 /* write */

/* Status bits. */
#define ATA_SR_ERR  0x01 /* the command failed: see the error register */
#define ATA_SR_DRQ  0x08 /* the device wants a data block moved */
#define ATA_SR_DF   0x20 /* device fault */
#define ATA_SR_DRDY 0x40 /* device ready for commands */
#define ATA_SR_BSY  0x80 /* device busy: every other bit is invalid */

/* Error register bits (for the log). */
#define ATA_ER_ABRT 0x04 /* command aborted (unsupported, or an ATAPI device) */
#define ATA_ER_IDNF 0x10 /* sector id not found (address out of range) */
#define ATA_ER_UNC  0x40 /* uncorrectable data error */

/* Device register. */
#define ATA_DEV_OBS   0xa0 /* bits 7 and 5: obsolete, written as one */
#define ATA_DEV_LBA   0x40 /* the address is an LBA, not CHS */
#define ATA_DEV_SLAVE 0x10 /* drive 1 */

/* Device control register. */
#define ATA_CTL_NIEN 0x02 /* interrupts off: never set by this driver */
#define ATA_CTL_SRST 0x04 /* software reset of both drives of the channel */
#define ATA_CTL_HOB  0x80 /* read back the high bytes of LBA48 registers */

/* Commands. */
#define ATA_CMD_READ_SECTORS      0x20
#define ATA_CMD_READ_SECTORS_EXT  0x24
#define ATA_CMD_WRITE_SECTORS     0x30
#define ATA_CMD_WRITE_SECTORS_EXT 0x34
#define ATA_CMD_FLUSH_CACHE       0xe7
#define ATA_CMD_FLUSH_CACHE_EXT   0xea
#define ATA_CMD_IDENTIFY          0xec
#define ATA_CMD_IDENTIFY_PACKET   0xa1

/* Signatures left in LBA1/LBA2 after reset or an aborted IDENTIFY. */
#define ATAPI_SIG_LBA1 0x14
#define ATAPI_SIG_LBA2 0xeb
#define SATA_SIG_LBA1  0x3c
#define SATA_SIG_LBA2  0xc3

/* IDENTIFY DEVICE words. */
#define ID_CONFIG        0   /* bit 15 set: not an ATA device */
#define ID_MODEL         27  /* 20 words, two characters each, high byte first */
#define ID_MODEL_WORDS   20
#define ID_CAPABILITIES  49  /* bit 9: LBA supported */
#define ID_LBA28_SECTORS 60  /* 2 words */
#define ID_CMDSET2       83  /* bit 10: 48-bit address feature set */
#define ID_LBA48_SECTORS 100 /* 4 words */
#define ID_CAP_LBA       (1u << 9)
#define ID_CMDSET2_LBA48 (1u << 10)

#define ATA_SECTOR_SIZE   512
#define ATA_LBA28_LIMIT   (1ULL << 28)
#define ATA_LBA28_MAX_CMD 256   /* sectors per LBA28 command (count 0 means 256) */
#define ATA_LBA48_MAX_CMD 65536 /* sectors per LBA48 command (count 0 means 65536) */
#define ATA_MODEL_LEN     40

/* Timeouts (ms). A step is one data block or the completion of a command. */
#define ATA_STEP_TIMEOUT_MS  10000
#define ATA_FLUSH_TIMEOUT_MS 30000
#define ATA_READY_TIMEOUT_MS 1000 /* BSY/DRQ clear before a new command */
#define ATA_RESET_TIMEOUT_MS 5000 /* BSY clear after SRST */

struct ata_channel;

struct ata_device {
    struct ata_channel *chan;
    bool present;
    uint8_t drive; /* 0 master, 1 slave */
    bool lba48;
    uint64_t sectors;
    char model[ATA_MODEL_LEN + 1];
};

struct ata_channel {
    uint16_t base; /* command block */
    uint16_t ctrl; /* control block */
    uint8_t irq;
    uint8_t index; /* 0 primary, 1 secondary: units 2 * index + drive */
    bool floating; /* nothing answers on the bus */
    struct ata_device dev[2];
};

enum ata_op { ATA_OP_READ, ATA_OP_WRITE, ATA_OP_FLUSH };

/* One transfer: a blk request, done as one or more ATA commands. */
struct ata_xfer {
    struct ata_device *dev;
    enum ata_op op;
    uint64_t lba;
    uint32_t count;    /* sectors of the whole transfer */
    uint8_t *buf;      /* count * 512 bytes */
    uint32_t done;     /* sectors moved so far */
    uint32_t cmd_left; /* sectors left in the running command */
};

/* Fill in the channel's devices (present or not). Polled: the caller must
 * ignore the IRQs this raises (they find no transfer running). */
void ata_probe(struct ata_channel *chan);

/* Issue the first command of x. OK: wait for the IRQ; otherwise failed. */
error_t ata_xfer_start(struct ata_xfer *x);

/* Advance x after an IRQ (reads the status register, which clears the
 * device's interrupt). OK: finished; IDL_DEFER_REPLY: wait for the next
 * IRQ; ERR_IO: the device reported an error (logged). */
error_t ata_xfer_step(struct ata_xfer *x);

/* Read the status register (clearing INTRQ) of a channel with nothing
 * running; returns it. */
uint8_t ata_clear_irq(struct ata_channel *chan);

/* Software reset of the channel (both drives); OK once they are ready. */
error_t ata_reset(struct ata_channel *chan);
