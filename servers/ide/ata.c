/*
 * The ATA device layer: probing, IDENTIFY DEVICE and interrupt-driven PIO
 * transfers on the legacy IDE channels (ata.h; docs/ide.md).
 *
 * Probing is polled and bounded: a floating bus (status 0xff) has no
 * controller, a status of 0 after selecting a drive means no drive, and
 * IDENTIFY DEVICE tells ATA disks from ATAPI/SATA signatures, which are
 * skipped. A channel that stays busy gets a software reset and one retry;
 * so does one found busy or mid-transfer at the start (the ide before this
 * one died in the middle of a command: the device ignores new commands
 * until the transfer ends or a reset).
 *
 * A transfer is split into commands: READ/WRITE SECTORS (LBA28, up to 256
 * sectors) while the whole command lies below LBA 2^28 - 1, the EXT
 * variants (LBA48, up to 65536 sectors) beyond. Every data block is one
 * sector, announced by an interrupt: ata_xfer_step() reads the status
 * register (clearing the device's INTRQ), moves 256 words with rep insw or
 * rep outsw and returns. An interrupt whose status shows no block ready
 * (BSY, or no DRQ) is spurious and ignored, so a stale interrupt can never
 * make the driver move data the device has not asked for. Only the first
 * block of a write is polled for: the device does not interrupt before it.
 * Every wait is bounded by the TSC.
 */
#include "ata.h"


static inline uint8_t inb(uint16_t port) {
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void outb(uint16_t port, uint8_t v) {
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void insw(uint16_t port, void *buf, size_t words) {
    __asm__ volatile("rep insw" : "+D"(buf), "+c"(words) : "d"(port) : "memory");
}

static inline void outsw(uint16_t port, const void *buf, size_t words) {
    __asm__ volatile("rep outsw" : "+S"(buf), "+c"(words) : "d"(port) : "memory");
}

/* ---- time ------------------------------------------------------------------ */

static void ata_delay_us(uint64_t us) {
    uint64_t end = rdtsc() + tsc_hz() / 1000000 * us;
    while ((int64_t) (rdtsc() - end) < 0)
        __asm__ volatile("pause");
}

/* ---- registers ------------------------------------------------------------- */

static uint8_t ata_altstatus(struct ata_channel *c) {
    return inb(c->ctrl + ATA_REG_ALTSTATUS);
}

/* A device may take 400 ns after a command or a drive select to show its
 * new status (BSY): four alternate status reads take at least that long. */
static void ata_delay400(struct ata_channel *c) {
    for (int i = 0; i < 4; i++)
        ata_altstatus(c);
}

/* Poll the alternate status until BSY clears; the status (0xff on a
 * floating bus) or ERR_TIMEOUT. */
static int ata_wait_idle(struct ata_channel *c, uint64_t ms) {
    uint64_t deadline = tsc_deadline(ms);
    for (;;) {
        uint8_t st = ata_altstatus(c);
        if (st == 0xff || !(st & ATA_SR_BSY))
            return st;
        if (tsc_past(deadline))
            return ERR_TIMEOUT;
        __asm__ volatile("pause");
    }
}

static unsigned ata_unit(const struct ata_device *d) {
    return d->chan->index * 2u + d->drive;
}

static uint8_t ata_device_bits(const struct ata_device *d) {
    return ATA_DEV_OBS | (d->drive ? ATA_DEV_SLAVE : 0);
}

/* Select d (with the device register's LBA bits) once the channel is idle;
 * OK when d shows neither BSY nor DRQ. */
static error_t ata_select(struct ata_device *d, uint8_t lba_bits) {
    struct ata_channel *c = d->chan;
    int st = ata_wait_idle(c, ATA_READY_TIMEOUT_MS);
    if (st < 0)
        return st;
    outb(c->base + ATA_REG_DEVICE, ata_device_bits(d) | lba_bits);
    ata_delay400(c);
    st = ata_wait_idle(c, ATA_READY_TIMEOUT_MS);
    if (st < 0)
        return st;
    return st == 0xff || (st & ATA_SR_DRQ) ? ERR_IO : OK; /* DRQ: stuck mid-transfer */
}

uint8_t ata_clear_irq(struct ata_channel *c) {
    return inb(c->base + ATA_REG_STATUS);
}

error_t ata_reset(struct ata_channel *c) {
    outb(c->ctrl + ATA_REG_DEVCTL, ATA_CTL_SRST);
    ata_delay_us(5);
    outb(c->ctrl + ATA_REG_DEVCTL, 0); /* nIEN clear: the drives interrupt */
    ata_delay_us(2000);
    int st = ata_wait_idle(c, ATA_RESET_TIMEOUT_MS);
    return st < 0 ? st : OK;
}

/* ---- probing --------------------------------------------------------------- */

/* The model string: two characters per word, high byte first, trimmed. */
static void ata_parse_model(const uint16_t *id, char *model) {
    for (int i = 0; i < ID_MODEL_WORDS; i++) {
        model[2 * i] = (char) (id[ID_MODEL + i] >> 8);
        model[2 * i + 1] = (char) (id[ID_MODEL + i] & 0xff);
    }
    model[ATA_MODEL_LEN] = '\0';
    for (int i = 0; i < ATA_MODEL_LEN; i++) {
        if (model[i] < 0x20 || model[i] > 0x7e)
            model[i] = model[i] ? '?' : ' ';
    }
    int end = ATA_MODEL_LEN;
    while (end > 0 && model[end - 1] == ' ')
        model[--end] = '\0';
    int start = 0;
    while (model[start] == ' ')
        start++;
    memmove(model, model + start, end - start + 1);
}

/* Fill d from its IDENTIFY DEVICE data; false if it is no usable disk. */
static bool ata_parse_identify(struct ata_device *d, const uint16_t *id) {
    if (id[ID_CONFIG] & 0x8000)
        return false;
    ata_parse_model(id, d->model);
    if (!(id[ID_CAPABILITIES] & ID_CAP_LBA)) {
        printf("ide: unit %u: %s: CHS only, skipped\n", ata_unit(d), d->model);
        return false;
    }
    uint64_t lba28 = id[ID_LBA28_SECTORS] | ((uint64_t) id[ID_LBA28_SECTORS + 1] << 16);
    uint64_t lba48 = 0;
    for (int i = 3; i >= 0; i--)
        lba48 = (lba48 << 16) | id[ID_LBA48_SECTORS + i];
    /* Word 83 is valid when bits 15:14 are 01. */
    d->lba48 = (id[ID_CMDSET2] & 0xc000) == 0x4000 && (id[ID_CMDSET2] & ID_CMDSET2_LBA48);
    d->sectors = d->lba48 && lba48 ? lba48 : lba28;
    return d->sectors > 0;
}

/* Why IDENTIFY found no ATA disk, from the signature in LBA1/LBA2 (00 00:
 * an absent drive whose partner answers for it, which needs no log). */
static void ata_report_signature(struct ata_device *d) {
    uint8_t l1 = inb(d->chan->base + ATA_REG_LBA1), l2 = inb(d->chan->base + ATA_REG_LBA2);
    if (l1 == ATAPI_SIG_LBA1 && l2 == ATAPI_SIG_LBA2)
        printf("ide: unit %u: ATAPI device (CD-ROM?), skipped\n", ata_unit(d));
    else if (l1 == SATA_SIG_LBA1 && l2 == SATA_SIG_LBA2)
        printf("ide: unit %u: SATA signature, skipped\n", ata_unit(d));
    else if (l1 || l2)
        printf("ide: unit %u: unknown signature %02x %02x, skipped\n", ata_unit(d), l1, l2);
}

/* IDENTIFY DEVICE on d: OK (d->present set or not) or ERR_TIMEOUT when the
 * channel stays busy. */
static error_t ata_identify(struct ata_device *d) {
    struct ata_channel *c = d->chan;
    outb(c->base + ATA_REG_DEVICE, ata_device_bits(d));
    ata_delay400(c);
    int st = ata_altstatus(c);
    if (st == 0 || st == 0xff)
        return OK; /* nothing drives the status register */
    if ((st = ata_wait_idle(c, ATA_READY_TIMEOUT_MS)) < 0)
        return st;
    for (int r = ATA_REG_COUNT; r <= ATA_REG_LBA2; r++)
        outb(c->base + r, 0);
    outb(c->base + ATA_REG_COMMAND, ATA_CMD_IDENTIFY);
    ata_delay400(c);
    if (ata_altstatus(c) == 0)
        return OK;
    if ((st = ata_wait_idle(c, ATA_READY_TIMEOUT_MS)) < 0)
        return st;
    st = inb(c->base + ATA_REG_STATUS);
    if ((st & ATA_SR_ERR) || !(st & ATA_SR_DRQ)
        || inb(c->base + ATA_REG_LBA1) || inb(c->base + ATA_REG_LBA2)) {
        ata_report_signature(d);
        return OK;
    }
    uint16_t id[256];
    insw(c->base + ATA_REG_DATA, id, 256);
    ata_clear_irq(c);
    d->present = ata_parse_identify(d, id);
    return OK;
}

void ata_probe(struct ata_channel *c) {
    for (int i = 0; i < 2; i++)
        c->dev[i] = (struct ata_device){.chan = c, .drive = (uint8_t) i};
    c->floating = inb(c->base + ATA_REG_STATUS) == 0xff;
    if (c->floating)
        return;
    outb(c->ctrl + ATA_REG_DEVCTL, 0); /* nIEN clear */
    uint8_t st = ata_altstatus(c);
    if (st & (ATA_SR_BSY | ATA_SR_DRQ)) { /* a driver that died mid-command left it so */
        printf("ide: channel 0x%x left mid-command (status 0x%02x): software reset\n", c->base,
               st);
        ata_reset(c);
    }
    for (int i = 0; i < 2; i++) {
        error_t err = ata_identify(&c->dev[i]);
        if (err == ERR_TIMEOUT) {
            printf("ide: channel 0x%x drive %d stuck busy: software reset\n", c->base, i);
            err = ata_reset(c);
            if (!err)
                err = ata_identify(&c->dev[i]);
        }
        if (err)
            printf("ide: unit %u: probe failed: %s\n", ata_unit(&c->dev[i]), err_name(err));
    }
}

/* ---- transfers ------------------------------------------------------------- */

static const char *ata_op_name(enum ata_op op) {
    return op == ATA_OP_READ ? "read" : op == ATA_OP_WRITE ? "write" : "flush";
}

/* Log a failed command and return ERR_IO. */
static error_t ata_fail(struct ata_xfer *x, uint8_t st) {
    uint8_t er = inb(x->dev->chan->base + ATA_REG_ERROR);
    /* A write fails on the block moved last; a read on the next one. */
    uint64_t at = x->lba + x->done - (x->op == ATA_OP_WRITE && x->done > 0);
    printf("ide: unit %u: %s at lba %llu failed: status 0x%02x error 0x%02x%s%s%s%s\n",
           ata_unit(x->dev), ata_op_name(x->op), (unsigned long long) at, st,
           er, (st & ATA_SR_DF) ? " DF" : "", (er & ATA_ER_ABRT) ? " ABRT" : "",
           (er & ATA_ER_IDNF) ? " IDNF" : "", (er & ATA_ER_UNC) ? " UNC" : "");
    return ERR_IO;
}

/* LBA28 commands while the whole command lies below 2^28 - 1 (as Linux
 * does: some drives mishandle the very last LBA28 sector). */
static bool ata_lba28_ok(uint64_t lba, uint32_t n) {
    return lba + n < ATA_LBA28_LIMIT - 1;
}

static void ata_write_taskfile(struct ata_channel *c, uint64_t lba, uint32_t n, bool ext) {
    if (ext) { /* the high bytes first: the registers are two-deep FIFOs */
        outb(c->base + ATA_REG_COUNT, (uint8_t) (n >> 8));
        outb(c->base + ATA_REG_LBA0, (uint8_t) (lba >> 24));
        outb(c->base + ATA_REG_LBA1, (uint8_t) (lba >> 32));
        outb(c->base + ATA_REG_LBA2, (uint8_t) (lba >> 40));
    }
    outb(c->base + ATA_REG_COUNT, (uint8_t) n); /* 0 means 256 (65536 for EXT) */
    outb(c->base + ATA_REG_LBA0, (uint8_t) lba);
    outb(c->base + ATA_REG_LBA1, (uint8_t) (lba >> 8));
    outb(c->base + ATA_REG_LBA2, (uint8_t) (lba >> 16));
}

static uint8_t *ata_block(struct ata_xfer *x) {
    return x->buf + (size_t) x->done * ATA_SECTOR_SIZE;
}

/* Write the next block when the device asks for it (DRQ). */
static void ata_put_block(struct ata_xfer *x) {
    outsw(x->dev->chan->base + ATA_REG_DATA, ata_block(x), ATA_SECTOR_SIZE / 2);
    x->done++;
    x->cmd_left--;
}

/* The first block of a write: the device asks by DRQ, without an IRQ. */
static error_t ata_write_first(struct ata_xfer *x) {
    int st = ata_wait_idle(x->dev->chan, ATA_STEP_TIMEOUT_MS);
    if (st < 0)
        return st;
    if (st & (ATA_SR_ERR | ATA_SR_DF) || !(st & ATA_SR_DRQ))
        return ata_fail(x, (uint8_t) st);
    ata_put_block(x);
    return OK;
}

/* Issue the command for the next part of x. */
static error_t ata_issue_next(struct ata_xfer *x) {
    struct ata_device *d = x->dev;
    uint64_t lba = x->lba + x->done;
    uint32_t left = x->count - x->done;
    uint32_t n = MIN(left, (uint32_t) ATA_LBA28_MAX_CMD);
    bool ext = d->lba48 && !ata_lba28_ok(lba, n);
    if (ext)
        n = MIN(left, (uint32_t) ATA_LBA48_MAX_CMD);
    error_t err = ata_select(d, ATA_DEV_LBA | (ext ? 0 : (uint8_t) ((lba >> 24) & 0x0f)));
    if (err)
        return err;
    ata_write_taskfile(d->chan, lba, n, ext);
    uint8_t cmd = x->op == ATA_OP_READ ? (ext ? ATA_CMD_READ_SECTORS_EXT : ATA_CMD_READ_SECTORS)
                                       : (ext ? ATA_CMD_WRITE_SECTORS_EXT : ATA_CMD_WRITE_SECTORS);
    outb(d->chan->base + ATA_REG_COMMAND, cmd);
    ata_delay400(d->chan);
    x->cmd_left = n;
    return x->op == ATA_OP_WRITE ? ata_write_first(x) : OK;
}

static error_t ata_issue_flush(struct ata_xfer *x) {
    error_t err = ata_select(x->dev, 0);
    if (err)
        return err;
    outb(x->dev->chan->base + ATA_REG_COMMAND,
         x->dev->lba48 ? ATA_CMD_FLUSH_CACHE_EXT : ATA_CMD_FLUSH_CACHE);
    ata_delay400(x->dev->chan);
    return OK;
}

error_t ata_xfer_start(struct ata_xfer *x) {
    x->done = 0;
    x->cmd_left = 0;
    return x->op == ATA_OP_FLUSH ? ata_issue_flush(x) : ata_issue_next(x);
}

/* The running command moved its last block: OK if the transfer is
 * complete, else the next command is issued. */
static error_t ata_command_done(struct ata_xfer *x) {
    if (x->done == x->count)
        return OK;
    error_t err = ata_issue_next(x);
    return err ? err : IDL_DEFER_REPLY;
}

static error_t ata_read_step(struct ata_xfer *x, uint8_t st) {
    struct ata_channel *c = x->dev->chan;
    if (!(st & ATA_SR_DRQ) || x->cmd_left == 0)
        return IDL_DEFER_REPLY; /* spurious: no block ready */
    insw(c->base + ATA_REG_DATA, ata_block(x), ATA_SECTOR_SIZE / 2);
    x->done++;
    if (--x->cmd_left > 0)
        return IDL_DEFER_REPLY;
    ata_delay400(c);
    st = ata_altstatus(c);
    if (st & (ATA_SR_ERR | ATA_SR_DF))
        return ata_fail(x, st);
    return ata_command_done(x);
}

static error_t ata_write_step(struct ata_xfer *x, uint8_t st) {
    if (st & ATA_SR_DRQ) {
        if (x->cmd_left == 0)
            return ata_fail(x, st); /* the device wants more than we asked */
        ata_put_block(x);
        return IDL_DEFER_REPLY;
    }
    if (x->cmd_left > 0)
        return IDL_DEFER_REPLY; /* spurious: the device has not asked yet */
    return ata_command_done(x);
}

error_t ata_xfer_step(struct ata_xfer *x) {
    uint8_t st = inb(x->dev->chan->base + ATA_REG_STATUS);
    if (st & ATA_SR_BSY)
        return IDL_DEFER_REPLY;
    if (st & (ATA_SR_ERR | ATA_SR_DF))
        return ata_fail(x, st);
    switch (x->op) {
    case ATA_OP_READ:
        return ata_read_step(x, st);
    case ATA_OP_WRITE:
        return ata_write_step(x, st);
    case ATA_OP_FLUSH:
        return OK; /* BSY clear 400 ns after the command: it completed */
    }
    return ERR_UNEXPECTED;
}
