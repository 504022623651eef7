/*
 * The ide server: the `blk` interface over the legacy IDE channels
 * (docs/ide.md). Units 0-3 are primary master/slave, secondary
 * master/slave; ata.c drives the hardware.
 *
 * blk.info answers at once. blk.read, blk.write and blk.flush are checked
 * (unit, range, buffer size) before anything touches the device, then
 * queued on their channel and deferred: the head of each queue is the one
 * command in flight there. The channel's IRQ (NOTIFY_IRQ) advances it one
 * sector at a time; when it completes, the caller's pages go back in the
 * reply and the next request starts. An error reply cannot carry pages, so
 * a request that fails once queued has its pages freed first (blk_reply).
 *
 * A one-shot timer per channel watches the running command: when a step
 * takes longer than ATA_STEP_TIMEOUT_MS the status is examined once more
 * (a lost interrupt), and then the request fails with ERR_TIMEOUT and the
 * channel is reset. A client that goes away leaves its requests in the
 * queue marked orphan: they finish (or are skipped) and their pages freed.
 */
#include <user/server.h>
#include <idl.h>
#include <user/blk.h>
#include "ata.h"

#define IDE_CHANNELS    2
#define IDE_UNITS       (2 * IDE_CHANNELS)
#define IDE_QUEUE_MAX   32                  /* pending requests per channel */
#define IDE_MAX_SECTORS (4u * 1024 * 1024 / ATA_SECTOR_SIZE) /* one page window */

struct ide_request {
    struct blk_pending req; /* who asked, for what, with which pages */
    struct ata_xfer xfer;
};

struct ide_channel {
    struct ata_channel ata;
    cid_t irq_ch;
    cid_t timer_ch;
    bool timer_armed;
    bool running;      /* q[head] is on the device */
    uint64_t deadline; /* TSC: when the running step times out */
    size_t head, count;
    struct ide_request q[IDE_QUEUE_MAX];
};

struct ide {
    struct server srv;
    struct ide_channel chan[IDE_CHANNELS];
};

static struct ide ide = {
    .chan = {
        {.ata = {.base = 0x1f0, .ctrl = 0x3f6, .irq = 14, .index = 0}},
        {.ata = {.base = 0x170, .ctrl = 0x376, .irq = 15, .index = 1}},
    },
};

static struct ata_device *ide_unit(struct ide *d, uint32_t unit) {
    if (unit >= IDE_UNITS)
        return NULL;
    struct ata_device *dev = &d->chan[unit / 2].ata.dev[unit % 2];
    return dev->present ? dev : NULL;
}

/* ---- the queue ------------------------------------------------------------- */

static uint64_t ide_timeout_ms(const struct ide_request *r) {
    return r->xfer.op == ATA_OP_FLUSH ? ATA_FLUSH_TIMEOUT_MS : ATA_STEP_TIMEOUT_MS;
}

/* Push the running step's deadline out; arm the timer if it is not. */
static void ide_arm(struct ide_channel *ch, uint64_t ms) {
    ch->deadline = tsc_deadline(ms);
    if (ch->timer_armed)
        return;
    error_t err = kernel_timer_set(CID_KERNEL, ch->timer_ch, ms * 1000000, 0);
    if (err)
        printf("ide: cannot arm the timeout: %s\n", err_name(err));
    ch->timer_armed = err == OK;
}

/* The head request is over: reply and drop it from the queue. */
static void ide_finish(struct ide_channel *ch, error_t err) {
    blk_reply(&ch->q[ch->head].req, err);
    ch->head = (ch->head + 1) % IDE_QUEUE_MAX;
    ch->count--;
    ch->running = false;
}

/* A command that timed out or could not start leaves the channel in an
 * unknown state: reset it before the next one. */
static void ide_recover(struct ide_channel *ch, error_t err) {
    if (err != ERR_TIMEOUT && err != ERR_IO)
        return;
    error_t rerr = ata_reset(&ch->ata);
    if (rerr)
        printf("ide: channel %u: reset failed: %s\n", ch->ata.index, err_name(rerr));
}

/* Start queued requests until one is on the device or the queue is empty. */
static void ide_kick(struct ide_channel *ch) {
    while (!ch->running && ch->count > 0) {
        struct ide_request *r = &ch->q[ch->head];
        if (r->req.orphan) {
            ide_finish(ch, ERR_ABORTED);
            continue;
        }
        error_t err = ata_xfer_start(&r->xfer);
        if (err) {
            ide_recover(ch, err);
            ide_finish(ch, err);
            continue;
        }
        ch->running = true;
        ide_arm(ch, ide_timeout_ms(r));
    }
}

/* Advance the running request; finish it when it is done or failed.
 * False if the device had nothing for it (a spurious interrupt). */
static bool ide_step(struct ide_channel *ch) {
    struct ide_request *r = &ch->q[ch->head];
    uint32_t before = r->xfer.done;
    error_t err = ata_xfer_step(&r->xfer);
    if (err != IDL_DEFER_REPLY) {
        ide_finish(ch, err);
        return true;
    }
    if (r->xfer.done == before)
        return false;
    ide_arm(ch, ide_timeout_ms(r));
    return true;
}

static void ide_irq(struct ide_channel *ch) {
    if (ch->running)
        ide_step(ch);
    else
        ata_clear_irq(&ch->ata); /* spurious, or left over from probing */
    kernel_irq_ack(CID_KERNEL, ch->ata.irq);
    ide_kick(ch);
}

/* The running step's deadline passed: look at the device once more (the
 * interrupt may have been lost), else fail the request and reset. */
static void ide_timeout(struct ide_channel *ch) {
    const char *what = ch->q[ch->head].xfer.op == ATA_OP_FLUSH ? "flush" : "transfer";
    if (ide_step(ch)) {
        printf("ide: channel %u: lost interrupt during a %s\n", ch->ata.index, what);
    } else {
        printf("ide: channel %u: %s timed out\n", ch->ata.index, what);
        ide_recover(ch, ERR_TIMEOUT);
        ide_finish(ch, ERR_TIMEOUT);
    }
    ide_kick(ch);
}

static void ide_timer(struct ide_channel *ch) {
    ch->timer_armed = false;
    if (!ch->running)
        return;
    if (tsc_past(ch->deadline)) {
        ide_timeout(ch);
        return;
    }
    uint64_t deadline = ch->deadline; /* not extended: just waited for */
    ide_arm(ch, tsc_ms_left(deadline));
    ch->deadline = deadline;
}

/* ---- blk handlers ---------------------------------------------------------- */

static error_t ide_check_range(const struct ata_device *dev, uint64_t lba, uint32_t count,
                               uint64_t len) {
    if (count == 0 || count > IDE_MAX_SECTORS)
        return ERR_INVALID_ARG;
    if (lba >= dev->sectors || count > dev->sectors - lba)
        return ERR_INVALID_ARG;
    if (len < (uint64_t) count * ATA_SECTOR_SIZE)
        return ERR_BAD_PAGE;
    return OK;
}

/* Check and queue a request; IDL_DEFER_REPLY once queued. A refusal
 * returns the error before the pages are touched (the server loop frees
 * them). */
static error_t ide_submit(struct ide *d, cid_t from, uint32_t type, uint32_t unit, uint64_t lba,
                          uint32_t count, uint64_t addr, uint64_t len) {
    struct ata_device *dev = ide_unit(d, unit);
    if (!dev)
        return ERR_NOT_FOUND;
    if (type != BLK_FLUSH_MSG) {
        error_t err = ide_check_range(dev, lba, count, len);
        if (err)
            return err;
    }
    struct ide_channel *ch = &d->chan[unit / 2];
    if (ch->count == IDE_QUEUE_MAX)
        return ERR_NO_RESOURCES;
    struct ide_request *r = &ch->q[(ch->head + ch->count++) % IDE_QUEUE_MAX];
    enum ata_op op = type == BLK_READ_MSG    ? ATA_OP_READ
                     : type == BLK_WRITE_MSG ? ATA_OP_WRITE
                                             : ATA_OP_FLUSH;
    *r = (struct ide_request){
        .req = {.from = from, .type = type, .addr = addr, .len = len},
        .xfer = {.dev = dev, .op = op, .lba = lba, .count = count, .buf = (uint8_t *) addr},
    };
    ide_kick(ch);
    return IDL_DEFER_REPLY;
}

static error_t ide_info_h(void *ctx, cid_t from, uint32_t unit, uint64_t *sectors,
                          uint32_t *sector_size, uint32_t *lba48, char *model) {
    struct ata_device *dev = ide_unit(ctx, unit);
    if (!dev)
        return ERR_NOT_FOUND;
    *sectors = dev->sectors;
    *sector_size = ATA_SECTOR_SIZE;
    *lba48 = dev->lba48;
    strcpy_safe(model, dev->model, ATA_MODEL_LEN + 1);
    return OK;
}

static error_t ide_read_h(void *ctx, cid_t from, uint32_t unit, uint64_t lba, uint32_t count,
                          uint64_t buf_addr, uint64_t buf_len, uint64_t *out_buf_addr,
                          uint64_t *out_buf_len) {
    return ide_submit(ctx, from, BLK_READ_MSG, unit, lba, count, buf_addr, buf_len);
}

static error_t ide_write_h(void *ctx, cid_t from, uint32_t unit, uint64_t lba, uint32_t count,
                           uint64_t buf_addr, uint64_t buf_len, uint64_t *out_buf_addr,
                           uint64_t *out_buf_len) {
    return ide_submit(ctx, from, BLK_WRITE_MSG, unit, lba, count, buf_addr, buf_len);
}

static error_t ide_flush_h(void *ctx, cid_t from, uint32_t unit) {
    return ide_submit(ctx, from, BLK_FLUSH_MSG, unit, 0, 0, 0, 0);
}

static const struct blk_server_ops ide_ops = {
    .info = ide_info_h,
    .read = ide_read_h,
    .write = ide_write_h,
    .flush = ide_flush_h,
};

/* ---- the server ------------------------------------------------------------ */

static bool ide_dispatch(struct server *s, const struct message *req, struct message *reply) {
    return blk_dispatch(&ide_ops, s->ctx, req, reply);
}

static void ide_notify(struct server *s, cid_t from, notification_t bits) {
    struct ide *d = s->ctx;
    for (int i = 0; i < IDE_CHANNELS; i++) {
        struct ide_channel *ch = &d->chan[i];
        if (from == ch->irq_ch && ch->irq_ch && (bits & NOTIFY_IRQ))
            ide_irq(ch);
        else if (from == ch->timer_ch && ch->timer_ch && (bits & NOTIFY_TIMER))
            ide_timer(ch);
    }
}

static void ide_closed(struct server *s, cid_t from) {
    struct ide *d = s->ctx;
    for (int i = 0; i < IDE_CHANNELS; i++) {
        struct ide_channel *ch = &d->chan[i];
        for (size_t k = 0; k < ch->count; k++) {
            struct ide_request *r = &ch->q[(ch->head + k) % IDE_QUEUE_MAX];
            if (r->req.from == from)
                r->req.orphan = true;
        }
    }
}

/* Ports, IRQ and timer of one channel; then find its drives. */
static error_t ide_channel_init(struct ide *d, struct ide_channel *ch) {
    error_t err = kernel_ioport_enable(CID_KERNEL, ch->ata.base, 8);
    if (!err)
        err = kernel_ioport_enable(CID_KERNEL, ch->ata.ctrl, 1);
    if (!err)
        err = kernel_irq_listen(CID_KERNEL, ch->ata.irq, &ch->irq_ch);
    if (!err)
        err = server_watch(&d->srv, ch->irq_ch);
    if (!err)
        err = kernel_timer_create(CID_KERNEL, &ch->timer_ch);
    if (!err)
        err = server_watch(&d->srv, ch->timer_ch);
    if (err)
        return err;
    ata_probe(&ch->ata);
    ata_clear_irq(&ch->ata);
    return kernel_irq_ack(CID_KERNEL, ch->ata.irq);
}

/* Log every disk found; how many there are. */
static int ide_report_units(struct ide *d) {
    int found = 0;
    for (uint32_t unit = 0; unit < IDE_UNITS; unit++) {
        struct ata_device *dev = ide_unit(d, unit);
        if (!dev)
            continue;
        found++;
        printf("ide: unit %u: \"%s\", %llu sectors (%llu MiB)%s\n", unit, dev->model,
               (unsigned long long) dev->sectors, (unsigned long long) (dev->sectors >> 11),
               dev->lba48 ? ", LBA48" : "");
    }
    return found;
}

/* "blk" is registered only once a disk is found: without one the driver
 * ends (code 0), so that a client waiting for "blk" (fat) is served by
 * whichever disk driver has a disk (ahci on AHCI machines), or learns
 * that none has. If another driver registered "blk" first, it serves and
 * this one ends. */
int main(void) {
    program_name = "ide";
    struct ide *d = &ide;
    d->srv.dispatch = ide_dispatch;
    d->srv.notify = ide_notify;
    d->srv.closed = ide_closed;
    d->srv.ctx = d;
    error_t err = server_init(&d->srv, NULL);
    if (err) {
        printf("ide: cannot start the server: %s\n", err_name(err));
        return 1;
    }
    for (int i = 0; i < IDE_CHANNELS; i++) {
        err = ide_channel_init(d, &d->chan[i]);
        if (err)
            printf("ide: channel %d (0x%x) unavailable: %s\n", i, d->chan[i].ata.base,
                   err_name(err));
    }
    if (!ide_report_units(d)) {
        printf("ide: no ATA disks\n");
        return 0;
    }
    if ((err = server_register(&d->srv, "blk"))) {
        printf("ide: cannot register \"blk\": %s%s\n", err_name(err),
               err == ERR_ALREADY_EXISTS ? " (another disk driver serves it)" : "");
        return err == ERR_ALREADY_EXISTS ? 0 : 1;
    }
    server_run(&d->srv);
}
