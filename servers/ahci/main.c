/*
 * The ahci server: the `blk` interface over AHCI SATA controllers
 * (docs/ahci.md). ahci.c drives the hardware; this file finds the
 * controllers, owns the request queues, the IRQ and timer channels and the
 * replies.
 *
 * Start-up: every PCI function of class 01/06/01 (AHCI 1.x) is taken (up
 * to AHCI_MAX_HBAS): BAR5 (ABAR) mapped, memory decoding and bus mastering
 * on, the HBA taken over from the firmware; every implemented port with a
 * device gets one page of pinned DMA memory (command list, received FISes,
 * command table) and, if it holds an ATA disk, a 128 KiB pinned bounce
 * buffer. The disks become units 0..N-1 in the order found: controllers in
 * PCI bus order, ports in port order. With no disk the driver ends (code
 * 0) without registering "blk"; with some it registers, unless another
 * disk driver (ide) was first, and then it stops its ports and ends.
 *
 * blk.info answers at once. blk.read, blk.write and blk.flush are checked
 * exactly as ide checks them, then queued on their unit and deferred: the
 * head of each queue is on the device, one command at a time per port
 * (ports run in parallel). A transfer is cut into commands of at most
 * AHCI_CHUNK_SECTORS, copied between the caller's pages and the bounce
 * buffer (the caller's pages may leave this process, so they are never
 * DMA targets). The controller's interrupt line (shared with other devices
 * is fine) advances them; when a request completes its pages go back in
 * the reply. An error reply cannot carry pages, so a request that fails
 * once queued has its pages freed first (blk_reply).
 *
 * A one-shot timer per unit watches the running command: when it takes
 * longer than AHCI_CMD_TIMEOUT_MS the port is looked at once more (a lost
 * interrupt), then the request fails with ERR_TIMEOUT and the port is
 * reset. A device error fails the request with ERR_IO and resets the port
 * before the next command. A client that goes away leaves its requests
 * marked orphan: they finish (or are skipped) and their pages are freed.
 */
#include <user/server.h>
#include <idl.h>
#include <user/blk.h>
#include "ahci.h"

#define AHCI_MAX_HBAS    4
#define AHCI_MAX_UNITS   32
#define AHCI_QUEUE_MAX   32                  /* pending requests per unit */
#define AHCI_MAX_SECTORS (4u * 1024 * 1024 / AHCI_SECTOR_SIZE) /* one page window */
#define AHCI_MMIO_STRIDE 0x10000ULL          /* each HBA's ABAR mapping */
#define AHCI_ABAR_MAX    0x1100u             /* host registers and 32 ports */
#define AHCI_POLL_NS     (2 * 1000 * 1000)   /* an HBA without a usable line */

struct ahci_request {
    struct blk_pending req; /* who asked, for what, with which pages */
    enum ahci_op op;
    uint64_t lba;
    uint32_t count; /* sectors of the whole request */
    uint32_t done;  /* sectors moved so far */
    uint32_t chunk; /* sectors of the command on the device */
};

struct ahci_unit {
    struct ahci_port port;
    cid_t timer_ch;
    bool timer_armed;
    bool running;      /* q[head] is on the device */
    uint64_t deadline; /* TSC: when the running command times out */
    size_t head, count;
    struct ahci_request q[AHCI_QUEUE_MAX];
};

struct ahci_controller {
    struct ahci_hba hba;
    cid_t irq_ch; /* the channel of its line (shared by HBAs on one line); 0: polled */
};

struct ahci_server {
    struct server srv;
    struct ahci_controller hba[AHCI_MAX_HBAS];
    size_t num_hbas;
    struct ahci_unit unit[AHCI_MAX_UNITS];
    size_t num_units;
    cid_t poll_ch; /* a periodic timer, when some HBA has no usable line */
};

static struct ahci_server ahci;

static const struct pci_match ahci_match = {.cls = 0x01, .subclass = 0x06, .progif = 0x01};

static struct ahci_unit *ahci_unit(struct ahci_server *s, uint32_t unit) {
    return unit < s->num_units ? &s->unit[unit] : NULL;
}

/* ---- the queue ------------------------------------------------------------- */

static uint64_t unit_timeout_ms(const struct ahci_request *r) {
    return r->op == AHCI_OP_FLUSH ? AHCI_FLUSH_TIMEOUT_MS : AHCI_CMD_TIMEOUT_MS;
}

/* Push the running command's deadline out; arm the timer if it is not. */
static void unit_arm(struct ahci_unit *u, uint64_t ms) {
    u->deadline = tsc_deadline(ms);
    if (u->timer_armed)
        return;
    error_t err = kernel_timer_set(CID_KERNEL, u->timer_ch, ms * 1000000, 0);
    if (err)
        printf("ahci: cannot arm the timeout: %s\n", err_name(err));
    u->timer_armed = err == OK;
}

/* The head request is over: reply and drop it from the queue. */
static void unit_finish(struct ahci_unit *u, error_t err) {
    blk_reply(&u->q[u->head].req, err);
    u->head = (u->head + 1) % AHCI_QUEUE_MAX;
    u->count--;
    u->running = false;
}

/* A failed or timed-out command leaves the port in an unknown state:
 * reset it before the next one. */
static void unit_recover(struct ahci_unit *u, error_t err) {
    if (err == ERR_IO || err == ERR_TIMEOUT)
        ahci_port_reset(&u->port);
}

static uint8_t *request_data(const struct ahci_request *r) {
    return (uint8_t *) r->req.addr + (size_t) r->done * AHCI_SECTOR_SIZE;
}

/* Put the next command of the head request on the device. */
static error_t unit_issue(struct ahci_unit *u) {
    struct ahci_request *r = &u->q[u->head];
    if (r->op == AHCI_OP_FLUSH)
        return ahci_cmd_start(&u->port, AHCI_OP_FLUSH, 0, 0);
    r->chunk = MIN(r->count - r->done, (uint32_t) AHCI_CHUNK_SECTORS);
    if (r->op == AHCI_OP_WRITE)
        memcpy(u->port.bounce, request_data(r), (size_t) r->chunk * AHCI_SECTOR_SIZE);
    return ahci_cmd_start(&u->port, r->op, r->lba + r->done, r->chunk);
}

/* The command on the device completed: OK when the request is complete,
 * IDL_DEFER_REPLY when its next command is on the device. */
static error_t unit_command_done(struct ahci_unit *u) {
    struct ahci_request *r = &u->q[u->head];
    if (r->op == AHCI_OP_FLUSH)
        return OK;
    if (r->op == AHCI_OP_READ)
        memcpy(request_data(r), u->port.bounce, (size_t) r->chunk * AHCI_SECTOR_SIZE);
    r->done += r->chunk;
    if (r->done == r->count)
        return OK;
    error_t err = unit_issue(u);
    return err ? err : IDL_DEFER_REPLY;
}

/* Start queued requests until one is on the device or the queue is empty. */
static void unit_kick(struct ahci_unit *u) {
    while (!u->running && u->count > 0) {
        struct ahci_request *r = &u->q[u->head];
        if (r->req.orphan) {
            unit_finish(u, ERR_ABORTED);
            continue;
        }
        error_t err = unit_issue(u);
        if (err) {
            unit_recover(u, err);
            unit_finish(u, err);
            continue;
        }
        u->running = true;
        unit_arm(u, unit_timeout_ms(r));
    }
}

/* Look at the running command; finish the request when it is done or
 * failed. False if nothing happened (still running). */
static bool unit_step(struct ahci_unit *u) {
    error_t err = ahci_cmd_check(&u->port);
    if (err == IDL_DEFER_REPLY)
        return false;
    if (err == OK)
        err = unit_command_done(u);
    if (err == IDL_DEFER_REPLY) {
        unit_arm(u, unit_timeout_ms(&u->q[u->head]));
        return true;
    }
    unit_recover(u, err);
    unit_finish(u, err);
    return true;
}

/* An interrupt (or a poll) of one HBA: every port's PxIS is read and
 * cleared (finishing what completed), then the HBA's IS. */
static void ahci_service(struct ahci_server *s, struct ahci_hba *h) {
    uint32_t pending = ahci_hba_pending(h);
    for (size_t i = 0; i < s->num_units; i++) {
        struct ahci_unit *u = &s->unit[i];
        if (u->port.hba != h)
            continue;
        if (u->running)
            unit_step(u);
        else
            ahci_cmd_check(&u->port); /* just clears PxIS */
    }
    ahci_hba_ack(h, pending);
    for (size_t i = 0; i < s->num_units; i++)
        if (s->unit[i].port.hba == h)
            unit_kick(&s->unit[i]);
}

/* The running command's deadline passed: look at the port once more (the
 * interrupt may have been lost), else fail the request and reset. */
static void unit_timeout(struct ahci_unit *u) {
    const char *what = u->q[u->head].op == AHCI_OP_FLUSH ? "flush" : "transfer";
    if (unit_step(u)) {
        printf("ahci: unit %u: lost interrupt during a %s\n", u->port.unit, what);
    } else {
        printf("ahci: unit %u: %s timed out\n", u->port.unit, what);
        unit_recover(u, ERR_TIMEOUT);
        unit_finish(u, ERR_TIMEOUT);
    }
    unit_kick(u);
}

static void unit_timer(struct ahci_unit *u) {
    u->timer_armed = false;
    if (!u->running)
        return;
    if (tsc_past(u->deadline)) {
        unit_timeout(u);
        return;
    }
    uint64_t deadline = u->deadline; /* not extended: just waited for */
    unit_arm(u, tsc_ms_left(deadline));
    u->deadline = deadline;
}

/* ---- blk handlers ---------------------------------------------------------- */

static error_t ahci_check_range(const struct ahci_port *p, uint64_t lba, uint32_t count,
                                uint64_t len) {
    if (count == 0 || count > AHCI_MAX_SECTORS)
        return ERR_INVALID_ARG;
    if (lba >= p->sectors || count > p->sectors - lba)
        return ERR_INVALID_ARG;
    if (len < (uint64_t) count * AHCI_SECTOR_SIZE)
        return ERR_BAD_PAGE;
    return OK;
}

/* Check and queue a request; IDL_DEFER_REPLY once queued. A refusal
 * returns the error before the pages are touched (the server loop frees
 * them). */
static error_t ahci_submit(struct ahci_server *s, cid_t from, uint32_t type, uint32_t unit,
                           uint64_t lba, uint32_t count, uint64_t addr, uint64_t len) {
    struct ahci_unit *u = ahci_unit(s, unit);
    if (!u)
        return ERR_NOT_FOUND;
    if (type != BLK_FLUSH_MSG) {
        error_t err = ahci_check_range(&u->port, lba, count, len);
        if (err)
            return err;
    }
    if (u->count == AHCI_QUEUE_MAX)
        return ERR_NO_RESOURCES;
    struct ahci_request *r = &u->q[(u->head + u->count++) % AHCI_QUEUE_MAX];
    *r = (struct ahci_request){
        .req = {.from = from, .type = type, .addr = addr, .len = len},
        .op = type == BLK_READ_MSG    ? AHCI_OP_READ
              : type == BLK_WRITE_MSG ? AHCI_OP_WRITE
                                      : AHCI_OP_FLUSH,
        .lba = lba,
        .count = count,
    };
    unit_kick(u);
    return IDL_DEFER_REPLY;
}

static error_t ahci_info_h(void *ctx, cid_t from, uint32_t unit, uint64_t *sectors,
                           uint32_t *sector_size, uint32_t *lba48, char *model) {
    struct ahci_unit *u = ahci_unit(ctx, unit);
    if (!u)
        return ERR_NOT_FOUND;
    *sectors = u->port.sectors;
    *sector_size = AHCI_SECTOR_SIZE;
    *lba48 = 1; /* every unit is (ahci_parse_identify) */
    strcpy_safe(model, u->port.model, AHCI_MODEL_LEN + 1);
    return OK;
}

static error_t ahci_read_h(void *ctx, cid_t from, uint32_t unit, uint64_t lba, uint32_t count,
                           uint64_t buf_addr, uint64_t buf_len, uint64_t *out_buf_addr,
                           uint64_t *out_buf_len) {
    return ahci_submit(ctx, from, BLK_READ_MSG, unit, lba, count, buf_addr, buf_len);
}

static error_t ahci_write_h(void *ctx, cid_t from, uint32_t unit, uint64_t lba, uint32_t count,
                            uint64_t buf_addr, uint64_t buf_len, uint64_t *out_buf_addr,
                            uint64_t *out_buf_len) {
    return ahci_submit(ctx, from, BLK_WRITE_MSG, unit, lba, count, buf_addr, buf_len);
}

static error_t ahci_flush_h(void *ctx, cid_t from, uint32_t unit) {
    return ahci_submit(ctx, from, BLK_FLUSH_MSG, unit, 0, 0, 0, 0);
}

static const struct blk_server_ops ahci_ops = {
    .info = ahci_info_h,
    .read = ahci_read_h,
    .write = ahci_write_h,
    .flush = ahci_flush_h,
};

/* ---- the server ------------------------------------------------------------ */

static bool ahci_dispatch(struct server *srv, const struct message *req, struct message *reply) {
    return blk_dispatch(&ahci_ops, srv->ctx, req, reply);
}

/* An interrupt on a line: every HBA on it is serviced, then the line
 * acknowledged once (the kernel knows one listener per process and line). */
static void ahci_irq(struct ahci_server *s, cid_t ch) {
    uint8_t line = PCI_IRQ_NONE;
    for (size_t i = 0; i < s->num_hbas; i++) {
        if (s->hba[i].irq_ch != ch)
            continue;
        line = s->hba[i].hba.pci.irq;
        ahci_service(s, &s->hba[i].hba);
    }
    if (line != PCI_IRQ_NONE)
        kernel_irq_ack(CID_KERNEL, line);
}

static void ahci_notify(struct server *srv, cid_t from, notification_t bits) {
    struct ahci_server *s = srv->ctx;
    if ((bits & NOTIFY_TIMER) && from == s->poll_ch && s->poll_ch) {
        for (size_t i = 0; i < s->num_hbas; i++)
            if (!s->hba[i].irq_ch)
                ahci_service(s, &s->hba[i].hba);
        return;
    }
    if (bits & NOTIFY_IRQ) {
        ahci_irq(s, from);
        return;
    }
    for (size_t i = 0; i < s->num_units; i++)
        if ((bits & NOTIFY_TIMER) && from == s->unit[i].timer_ch)
            unit_timer(&s->unit[i]);
}

static void ahci_closed(struct server *srv, cid_t from) {
    struct ahci_server *s = srv->ctx;
    for (size_t i = 0; i < s->num_units; i++) {
        struct ahci_unit *u = &s->unit[i];
        for (size_t k = 0; k < u->count; k++) {
            struct ahci_request *r = &u->q[(u->head + k) % AHCI_QUEUE_MAX];
            if (r->req.from == from)
                r->req.orphan = true;
        }
    }
}

/* ---- start-up -------------------------------------------------------------- */

/* len bytes of zeroed, physically contiguous, pinned memory. */
static error_t ahci_dma_alloc(uint64_t len, uint8_t **virt, uint64_t *phys) {
    uint64_t addr, got;
    error_t err = memmgr_alloc_pages(CID_MEMMGR, len, 1, &addr, &got);
    if (err)
        return err;
    err = kernel_dma_pin(CID_KERNEL, addr, got, phys);
    if (err) {
        ipc_free_pages(addr, got);
        return err;
    }
    *virt = (uint8_t *) addr;
    return OK;
}

/* Map the HBA's ABAR (BAR5) at its slot of the MMIO area. */
static error_t ahci_map(struct ahci_hba *h, size_t index) {
    struct pci_bar bar;
    error_t err = pci_bar(&h->pci, 5, &bar);
    if (err || bar.io || !bar.base || bar.size < HBA_PORT_BASE + HBA_PORT_SIZE) {
        printf("ahci: %02x:%02x.%u: BAR5 is unusable (base %#llx, size %#llx)\n", h->pci.bus,
               h->pci.dev, h->pci.fn, (unsigned long long) bar.base,
               (unsigned long long) bar.size);
        return ERR_NOT_SUPPORTED;
    }
    uint64_t size = MIN(bar.size, (uint64_t) AHCI_ABAR_MAX);
    uint64_t start = ALIGN_DOWN(bar.base, PAGE_SIZE);
    uint64_t len = ALIGN_UP(bar.base + size, PAGE_SIZE) - start;
    uint64_t vaddr = USER_MMIO_BASE + index * AHCI_MMIO_STRIDE;
    err = kernel_mmio_map(CID_KERNEL, start, len, vaddr);
    if (err) {
        printf("ahci: %02x:%02x.%u: cannot map BAR5 at %#llx: %s\n", h->pci.bus, h->pci.dev,
               h->pci.fn, (unsigned long long) bar.base, err_name(err));
        return err;
    }
    h->abar = bar.base;
    h->regs = (volatile uint8_t *) (vaddr + (bar.base - start));
    h->nports = MIN((size - HBA_PORT_BASE) / HBA_PORT_SIZE, (uint64_t) 32);
    return OK;
}

/* Port num of h: its page, the probe, and for a disk its bounce buffer;
 * true if it became a unit. */
static bool ahci_add_port(struct ahci_server *s, struct ahci_hba *h, unsigned num) {
    if (s->num_units == AHCI_MAX_UNITS) {
        printf("ahci: more than %u disks: port %u ignored\n", AHCI_MAX_UNITS, num);
        return false;
    }
    struct ahci_unit *u = &s->unit[s->num_units];
    *u = (struct ahci_unit){.port = {.hba = h, .num = num, .unit = (uint32_t) s->num_units}};
    uint8_t *mem;
    uint64_t phys;
    error_t err = ahci_dma_alloc(PAGE_SIZE, &mem, &phys);
    if (!err)
        err = ahci_port_probe(&u->port, mem, phys);
    if (err == OK)
        err = ahci_dma_alloc(AHCI_CHUNK_BYTES, &u->port.bounce, &u->port.bounce_phys);
    if (err == OK && !(h->cap & CAP_S64A)
        && u->port.bounce_phys + AHCI_CHUNK_BYTES > (1ULL << 32))
        err = ERR_NOT_SUPPORTED; /* a 32-bit HBA cannot reach it */
    if (err == OK) {
        s->num_units++;
        return true;
    }
    if (u->port.mem)
        ahci_port_stop(&u->port);
    if (err != ERR_NOT_FOUND)
        printf("ahci: port %u of %02x:%02x.%u: unusable: %s\n", num, h->pci.bus, h->pci.dev,
               h->pci.fn, err_name(err));
    return false;
}

static void ahci_log_hba(const struct ahci_hba *h, const char *irq) {
    printf("ahci: %02x:%02x.%u %04x:%04x: AHCI %u.%u, %u ports (PI 0x%x), %s, abar %#llx\n",
           h->pci.bus, h->pci.dev, h->pci.fn, h->pci.vendor, h->pci.device, h->version >> 16,
           (h->version >> 8) & 0xff, (h->cap & CAP_NP_MASK) + 1, h->pi, irq,
           (unsigned long long) h->abar);
}

/* Take one controller and its disks. */
static void ahci_add_hba(struct ahci_server *s, const struct pci_device *pci) {
    struct ahci_hba *h = &s->hba[s->num_hbas].hba;
    *h = (struct ahci_hba){.pci = *pci};
    pci_enable(pci);
    error_t err = ahci_map(h, s->num_hbas);
    if (!err && (err = ahci_hba_init(h, program_has_arg("reset"))))
        printf("ahci: %02x:%02x.%u: cannot take the HBA over: %s\n", pci->bus, pci->dev,
               pci->fn, err_name(err));
    if (err)
        return;
    s->num_hbas++;
    for (unsigned num = 0; num < h->nports; num++)
        if (ahci_port_present(h, num))
            ahci_add_port(s, h, num);
}

/* The HBA's line, shared with an HBA before it on the same line, or 0
 * (polled) when the line is unknown or not ours. */
static cid_t ahci_listen(struct ahci_server *s, struct ahci_controller *c) {
    uint8_t line = c->hba.pci.irq;
    for (struct ahci_controller *o = s->hba; o < c; o++)
        if (o->irq_ch && o->hba.pci.irq == line)
            return o->irq_ch;
    cid_t ch = 0;
    error_t err = line == PCI_IRQ_NONE ? ERR_NOT_FOUND
                  : line >= 16        ? ERR_INVALID_ARG
                                      : kernel_irq_listen(CID_KERNEL, line, &ch);
    if (!err && (err = server_watch(&s->srv, ch)))
        sys_close(ch);
    if (!err)
        return ch;
    printf("ahci: cannot listen on irq %u (%s): polling\n", line, err_name(err));
    return 0;
}

/* Interrupts (or the poll timer) and one timeout timer per unit. */
static error_t ahci_start_events(struct ahci_server *s) {
    error_t err;
    for (size_t i = 0; i < s->num_hbas; i++) {
        struct ahci_controller *c = &s->hba[i];
        c->irq_ch = ahci_listen(s, c);
        if (!c->irq_ch && !s->poll_ch) {
            if ((err = kernel_timer_create(CID_KERNEL, &s->poll_ch))
                || (err = server_watch(&s->srv, s->poll_ch))
                || (err = kernel_timer_set(CID_KERNEL, s->poll_ch, AHCI_POLL_NS, 1)))
                return err;
        }
        char irq[16];
        if (c->irq_ch)
            snprintf(irq, sizeof(irq), "irq %u", c->hba.pci.irq);
        else
            strcpy_safe(irq, "polled", sizeof(irq));
        ahci_log_hba(&c->hba, irq);
        ahci_hba_enable_irq(&c->hba);
    }
    for (size_t i = 0; i < s->num_units; i++) {
        struct ahci_unit *u = &s->unit[i];
        if ((err = kernel_timer_create(CID_KERNEL, &u->timer_ch))
            || (err = server_watch(&s->srv, u->timer_ch)))
            return err;
    }
    return OK;
}

static void ahci_report_units(const struct ahci_server *s) {
    for (size_t i = 0; i < s->num_units; i++) {
        const struct ahci_port *p = &s->unit[i].port;
        const struct pci_device *d = &p->hba->pci;
        printf("ahci: unit %u: \"%s\", %llu sectors (%llu MiB), port %u of %02x:%02x.%u\n",
               p->unit, p->model, (unsigned long long) p->sectors,
               (unsigned long long) (p->sectors >> 11), p->num, d->bus, d->dev, d->fn);
    }
}

/* No DMA into our pages once we are gone (the kernel withholds pinned
 * pages of a dead process anyway). */
static void ahci_stop_all(struct ahci_server *s) {
    for (size_t i = 0; i < s->num_units; i++)
        ahci_port_stop(&s->unit[i].port);
}

int main(void) {
    program_name = "ahci";
    struct ahci_server *s = &ahci;
    error_t err = kernel_ioport_enable(CID_KERNEL, PCI_CONFIG_ADDRESS, PCI_CONFIG_PORTS);
    if (err) {
        printf("ahci: no access to PCI configuration space: %s\n", err_name(err));
        return 1;
    }
    struct pci_device pci[AHCI_MAX_HBAS];
    size_t found = pci_find_all(&ahci_match, pci, AHCI_MAX_HBAS);
    if (!found) {
        printf("ahci: no controller\n");
        return 0;
    }
    if (found > AHCI_MAX_HBAS)
        printf("ahci: %zu controllers: only the first %u are used\n", found, AHCI_MAX_HBAS);
    s->srv = (struct server){.dispatch = ahci_dispatch, .notify = ahci_notify,
                             .closed = ahci_closed, .ctx = s};
    if ((err = server_init(&s->srv, NULL))) {
        printf("ahci: cannot start the server: %s\n", err_name(err));
        return 1;
    }
    for (size_t i = 0; i < MIN(found, (size_t) AHCI_MAX_HBAS); i++)
        ahci_add_hba(s, &pci[i]);
    if ((err = ahci_start_events(s))) {
        printf("ahci: cannot start the server: %s\n", err_name(err));
        ahci_stop_all(s);
        return 1;
    }
    if (!s->num_units) {
        printf("ahci: no disks\n");
        return 0;
    }
    ahci_report_units(s);
    if ((err = server_register(&s->srv, "blk"))) {
        printf("ahci: cannot register \"blk\": %s%s\n", err_name(err),
               err == ERR_ALREADY_EXISTS ? " (another disk driver serves it): disks unused" : "");
        ahci_stop_all(s);
        return err == ERR_ALREADY_EXISTS ? 0 : 1;
    }
    for (size_t i = 0; i < s->num_hbas; i++) /* anything that came before we listened */
        if (s->hba[i].irq_ch)
            kernel_irq_ack(CID_KERNEL, s->hba[i].hba.pci.irq);
    server_run(&s->srv);
}
