/*
 * The AHCI device layer: taking an HBA over, setting ports up, IDENTIFY
 * DEVICE, and one DMA command at a time per port (ahci.h; docs/ahci.md).
 *
 * Take-over (AHCI 1.3.1, 10.1.2 and 10.6.3): the OS asks for ownership if
 * the HBA offers BIOS/OS handoff, sets GHC.AE, keeps GHC.IE off, and stops
 * every port (ST, then FRE; CR and FR must clear within 500 ms); if one
 * does not stop, the whole HBA is reset (GHC.HR). A port with a device is
 * then pointed at its DMA page (PxCLB/PxFB), FIS reception is enabled (the
 * device's first D2H FIS brings its signature into PxSIG), BSY and DRQ
 * must clear (else one COMRESET), and ST is set. IDENTIFY DEVICE is polled
 * at probe time; transfers are interrupt driven.
 *
 * Every command uses slot 0 and one PRD pointing at the port's bounce
 * buffer (or, for IDENTIFY, a 512-byte buffer in the port's page). It is
 * over when PxCI bit 0 clears; PxIS.TFES (or any fatal PxIS bit) or
 * PxTFD.ERR means it failed: the error is logged and the caller resets
 * the port (COMRESET through PxSCTL.DET, then the port is started again)
 * before the next command. Every wait is bounded by the TSC.
 */
#include "ahci.h"


/* ---- time ------------------------------------------------------------------ */

static void ahci_delay_ms(uint64_t ms) {
    uint64_t end = tsc_deadline(ms);
    while (!tsc_past(end))
        __asm__ volatile("pause");
}

/* ---- registers ------------------------------------------------------------- */

static uint32_t hba_read(const struct ahci_hba *h, uint32_t off) {
    return *(volatile uint32_t *) (h->regs + off);
}

static void hba_write(struct ahci_hba *h, uint32_t off, uint32_t v) {
    *(volatile uint32_t *) (h->regs + off) = v;
}

static volatile uint8_t *port_regs(const struct ahci_hba *h, unsigned num) {
    return h->regs + HBA_PORT_BASE + num * HBA_PORT_SIZE;
}

static uint32_t px_read(const struct ahci_port *p, uint32_t off) {
    return *(volatile uint32_t *) (p->regs + off);
}

static void px_write(struct ahci_port *p, uint32_t off, uint32_t v) {
    *(volatile uint32_t *) (p->regs + off) = v;
}

/* Ordinary stores (command table, bounce buffer) stay before the MMIO
 * store that hands them to the HBA; x86 keeps stores in order, so only
 * the compiler needs telling. */
static inline void ahci_barrier(void) {
    __asm__ volatile("" ::: "memory");
}

/* Poll until (register & mask) == want; OK or ERR_TIMEOUT. */
static error_t px_wait(struct ahci_port *p, uint32_t off, uint32_t mask, uint32_t want,
                       uint64_t ms) {
    uint64_t deadline = tsc_deadline(ms);
    for (;;) {
        if ((px_read(p, off) & mask) == want)
            return OK;
        if (tsc_past(deadline))
            return ERR_TIMEOUT;
        __asm__ volatile("pause");
    }
}

static void ahci_log_port(const struct ahci_port *p, const char *what) {
    const struct pci_device *d = &p->hba->pci;
    printf("ahci: port %u of %02x:%02x.%u: %s\n", p->num, d->bus, d->dev, d->fn, what);
}

/* ---- a port's engines ------------------------------------------------------ */

/* Clear ST and wait for the command list engine to stop (CR). */
static error_t ahci_stop_cmd(struct ahci_port *p) {
    uint32_t cmd = px_read(p, PX_CMD);
    if (cmd & PXCMD_ST)
        px_write(p, PX_CMD, cmd & ~PXCMD_ST);
    return px_wait(p, PX_CMD, PXCMD_CR, 0, AHCI_ENGINE_TIMEOUT_MS);
}

/* Both engines off: nothing more is read from or written to the port's
 * memory. */
static error_t ahci_stop_engines(struct ahci_port *p) {
    error_t err = ahci_stop_cmd(p);
    if (err)
        return err;
    uint32_t cmd = px_read(p, PX_CMD);
    if (cmd & PXCMD_FRE)
        px_write(p, PX_CMD, cmd & ~PXCMD_FRE);
    return px_wait(p, PX_CMD, PXCMD_FR, 0, AHCI_ENGINE_TIMEOUT_MS);
}

/* ---- the HBA --------------------------------------------------------------- */

/* AHCI 10.6.3: ask the firmware to let go of the HBA and wait until it has
 * (it may finish an outstanding command first: BIOS busy). */
static void ahci_handoff(struct ahci_hba *h) {
    hba_write(h, HBA_BOHC, hba_read(h, HBA_BOHC) | BOHC_OOS);
    uint64_t deadline = tsc_deadline(AHCI_HANDOFF_TIMEOUT_MS);
    while (hba_read(h, HBA_BOHC) & (BOHC_BOS | BOHC_BB)) {
        if (tsc_past(deadline)) {
            printf("ahci: %02x:%02x.%u: the BIOS does not let go (BOHC 0x%x): taking it\n",
                   h->pci.bus, h->pci.dev, h->pci.fn, hba_read(h, HBA_BOHC));
            return;
        }
        __asm__ volatile("pause");
    }
}

/* AHCI mode on, interrupts off; false if AE does not stick. */
static bool ahci_enable(struct ahci_hba *h) {
    uint32_t ghc = hba_read(h, HBA_GHC) | GHC_AE;
    hba_write(h, HBA_GHC, ghc);
    hba_write(h, HBA_GHC, ghc & ~(GHC_IE | GHC_HR));
    return hba_read(h, HBA_GHC) & GHC_AE;
}

/* GHC.HR: every port and the HBA back to their reset state (the ports
 * COMRESET their links). PI is written by firmware on some HBAs and may
 * read 0 afterwards: it is put back. */
static error_t ahci_hba_reset(struct ahci_hba *h) {
    hba_write(h, HBA_GHC, GHC_AE);
    hba_write(h, HBA_GHC, GHC_AE | GHC_HR);
    uint64_t deadline = tsc_deadline(AHCI_LINK_TIMEOUT_MS);
    while (hba_read(h, HBA_GHC) & GHC_HR) {
        if (tsc_past(deadline))
            return ERR_TIMEOUT;
        __asm__ volatile("pause");
    }
    if (!ahci_enable(h))
        return ERR_NOT_SUPPORTED;
    if (!hba_read(h, HBA_PI))
        hba_write(h, HBA_PI, h->pi);
    /* Links that see a device come back up (DET 1 -> 3) within a second. */
    deadline = tsc_deadline(AHCI_LINK_TIMEOUT_MS);
    for (unsigned i = 0; i < h->nports; i++) {
        volatile uint32_t *ssts = (volatile uint32_t *) (port_regs(h, i) + PX_SSTS);
        while ((h->pi & (1u << i)) && (*ssts & SSTS_DET_MASK) == 1 && !tsc_past(deadline))
            __asm__ volatile("pause");
    }
    return OK;
}

/* Stop every implemented port (a previous driver, or the firmware, may
 * have left them running); false if one does not stop. */
static bool ahci_stop_all_ports(struct ahci_hba *h) {
    bool stopped = true;
    for (unsigned i = 0; i < h->nports; i++) {
        if (!(h->pi & (1u << i)))
            continue;
        struct ahci_port p = {.hba = h, .num = i, .regs = port_regs(h, i)};
        px_write(&p, PX_IE, 0);
        if (ahci_stop_engines(&p)) {
            ahci_log_port(&p, "does not stop");
            stopped = false;
        }
    }
    return stopped;
}

error_t ahci_hba_init(struct ahci_hba *h, bool reset) {
    h->cap = hba_read(h, HBA_CAP);
    if (hba_read(h, HBA_CAP2) & CAP2_BOH)
        ahci_handoff(h);
    if (!ahci_enable(h))
        return ERR_NOT_SUPPORTED;
    h->pi = hba_read(h, HBA_PI);
    h->version = hba_read(h, HBA_VS);
    if (!ahci_stop_all_ports(h) || reset) {
        printf("ahci: %02x:%02x.%u: HBA reset\n", h->pci.bus, h->pci.dev, h->pci.fn);
        error_t err = ahci_hba_reset(h);
        if (err)
            return err;
        if (!ahci_stop_all_ports(h))
            return ERR_TIMEOUT;
    }
    for (unsigned i = 0; i < h->nports; i++)
        if (h->pi & (1u << i))
            *(volatile uint32_t *) (port_regs(h, i) + PX_IS) = 0xffffffff;
    hba_write(h, HBA_IS, 0xffffffff);
    return OK;
}

void ahci_hba_enable_irq(struct ahci_hba *h) {
    hba_write(h, HBA_GHC, (hba_read(h, HBA_GHC) | GHC_AE | GHC_IE) & ~GHC_HR);
}

uint32_t ahci_hba_pending(struct ahci_hba *h) {
    return hba_read(h, HBA_IS);
}

void ahci_hba_ack(struct ahci_hba *h, uint32_t ports) {
    if (ports)
        hba_write(h, HBA_IS, ports);
}

bool ahci_port_present(struct ahci_hba *h, unsigned num) {
    if (num >= h->nports || !(h->pi & (1u << num)))
        return false;
    uint32_t ssts = *(volatile uint32_t *) (port_regs(h, num) + PX_SSTS);
    return (ssts & SSTS_DET_MASK) == SSTS_DET_PRESENT;
}

/* ---- ports ------------------------------------------------------------------- */

void ahci_port_stop(struct ahci_port *p) {
    px_write(p, PX_IE, 0);
    if (ahci_stop_engines(p))
        ahci_log_port(p, "does not stop");
    px_write(p, PX_IS, 0xffffffff);
}

/* The device has sent its first D2H FIS since reset (PxSIG) and is
 * neither busy nor waiting for data. */
static error_t ahci_wait_device(struct ahci_port *p) {
    uint64_t deadline = tsc_deadline(AHCI_READY_TIMEOUT_MS);
    for (;;) {
        if (px_read(p, PX_SIG) != SIG_NONE
            && !(px_read(p, PX_TFD) & (ATA_SR_BSY | ATA_SR_DRQ)))
            return OK;
        if (tsc_past(deadline))
            return ERR_TIMEOUT;
        __asm__ volatile("pause");
    }
}

/* COMRESET (SATA's hard reset) with ST clear: PxSCTL.DET = 1 for at least
 * 1 ms, then 0; the link comes back (PxSSTS.DET = 3), the device sends a
 * fresh signature. Power states stay disabled (IPM = 3). */
static error_t ahci_comreset(struct ahci_port *p) {
    uint32_t sctl = px_read(p, PX_SCTL) & ~(SSTS_DET_MASK | (0xfu << 8));
    px_write(p, PX_SCTL, sctl | SCTL_IPM_NONE | SCTL_DET_COMRESET);
    ahci_delay_ms(2);
    px_write(p, PX_SCTL, sctl | SCTL_IPM_NONE);
    error_t err = px_wait(p, PX_SSTS, SSTS_DET_MASK, SSTS_DET_PRESENT, AHCI_LINK_TIMEOUT_MS);
    px_write(p, PX_SERR, 0xffffffff);
    if (!err)
        err = ahci_wait_device(p);
    px_write(p, PX_IS, 0xffffffff);
    return err;
}

static void ahci_start_cmd(struct ahci_port *p) {
    px_write(p, PX_CMD, px_read(p, PX_CMD) | PXCMD_ST);
}

error_t ahci_port_reset(struct ahci_port *p) {
    p->busy = false;
    px_write(p, PX_IE, 0);
    if (ahci_stop_cmd(p))
        ahci_log_port(p, "command engine does not stop; reset anyway");
    error_t err = ahci_comreset(p);
    if (err) {
        printf("ahci: unit %u: reset failed: %s (SSTS 0x%x TFD 0x%x)\n", p->unit,
               err_name(err), px_read(p, PX_SSTS), px_read(p, PX_TFD));
        return err;
    }
    ahci_start_cmd(p);
    px_write(p, PX_IE, PXIS_ENABLED);
    return OK;
}

/* ---- commands -------------------------------------------------------------- */

static struct ahci_cmd_header *ahci_header(struct ahci_port *p) {
    return (struct ahci_cmd_header *) (p->mem + PORT_MEM_CLB);
}

/* Fill slot 0 for ATA command cmd: an LBA48 register FIS, and one PRD of
 * len bytes at phys (none when len is 0). */
static void ahci_build(struct ahci_port *p, uint8_t cmd, uint64_t lba, uint32_t count,
                       uint64_t phys, uint32_t len, bool write) {
    struct ahci_cmd_table *t = (struct ahci_cmd_table *) (p->mem + PORT_MEM_CT);
    memset(t, 0, sizeof(*t));
    struct fis_h2d *f = (struct fis_h2d *) t->cfis;
    *f = (struct fis_h2d){
        .type = FIS_TYPE_REG_H2D, .flags = FIS_H2D_COMMAND, .command = cmd,
        .lba0 = (uint8_t) lba, .lba1 = (uint8_t) (lba >> 8), .lba2 = (uint8_t) (lba >> 16),
        .device = cmd == ATA_CMD_IDENTIFY ? 0 : ATA_DEV_LBA,
        .lba3 = (uint8_t) (lba >> 24), .lba4 = (uint8_t) (lba >> 32),
        .lba5 = (uint8_t) (lba >> 40),
        .count_lo = (uint8_t) count, .count_hi = (uint8_t) (count >> 8),
    };
    uint32_t prdtl = len ? 1 : 0;
    if (len)
        t->prdt[0] = (struct ahci_prd){
            .dba = (uint32_t) phys, .dbau = (uint32_t) (phys >> 32), .dbc = len - 1};
    uint64_t ct = p->mem_phys + PORT_MEM_CT;
    *ahci_header(p) = (struct ahci_cmd_header){
        .flags = CMDH_CFL_H2D | (write ? CMDH_WRITE : 0) | prdtl << 16,
        .ctba = (uint32_t) ct, .ctbau = (uint32_t) (ct >> 32)};
}

/* Hand slot 0 to the HBA; ERR_IO if the device is not ready for it. */
static error_t ahci_issue(struct ahci_port *p) {
    if (px_read(p, PX_TFD) & (ATA_SR_BSY | ATA_SR_DRQ) || !(px_read(p, PX_CMD) & PXCMD_ST))
        return ERR_IO;
    ahci_barrier();
    px_write(p, PX_CI, 1);
    return OK;
}

static const char *ahci_op_name(enum ahci_op op) {
    return op == AHCI_OP_READ ? "read" : op == AHCI_OP_WRITE ? "write" : "flush";
}

error_t ahci_cmd_start(struct ahci_port *p, enum ahci_op op, uint64_t lba, uint32_t count) {
    if (op == AHCI_OP_FLUSH)
        ahci_build(p, ATA_CMD_FLUSH_CACHE_EXT, 0, 0, 0, 0, false);
    else if (count == 0 || count > AHCI_CHUNK_SECTORS)
        return ERR_INVALID_ARG;
    else
        ahci_build(p, op == AHCI_OP_READ ? ATA_CMD_READ_DMA_EXT : ATA_CMD_WRITE_DMA_EXT, lba,
                   count, p->bounce_phys, count * AHCI_SECTOR_SIZE, op == AHCI_OP_WRITE);
    error_t err = ahci_issue(p);
    if (err) {
        printf("ahci: unit %u: %s at lba %llu: the device is not ready (TFD 0x%x)\n", p->unit,
               ahci_op_name(op), (unsigned long long) lba, px_read(p, PX_TFD));
        return err;
    }
    p->busy = true;
    p->op = op;
    p->lba = lba;
    p->count = count;
    return OK;
}

/* Log a failed command and return ERR_IO. */
static error_t ahci_fail(struct ahci_port *p, uint32_t is) {
    uint32_t tfd = px_read(p, PX_TFD);
    uint8_t st = (uint8_t) tfd, er = (uint8_t) (tfd >> 8);
    printf("ahci: unit %u: %s at lba %llu+%u failed: status 0x%02x error 0x%02x%s%s%s"
           " (PxIS 0x%08x, SERR 0x%x)\n",
           p->unit, ahci_op_name(p->op), (unsigned long long) p->lba, p->count, st, er,
           (er & ATA_ER_ABRT) ? " ABRT" : "", (er & ATA_ER_IDNF) ? " IDNF" : "",
           (er & ATA_ER_UNC) ? " UNC" : "", is, px_read(p, PX_SERR));
    p->busy = false;
    return ERR_IO;
}

error_t ahci_cmd_check(struct ahci_port *p) {
    uint32_t is = px_read(p, PX_IS);
    if (is)
        px_write(p, PX_IS, is);
    if (!p->busy)
        return OK;
    if (is & PXIS_ERRORS)
        return ahci_fail(p, is);
    if (px_read(p, PX_CI) & 1)
        return IDL_DEFER_REPLY;
    ahci_barrier(); /* the data in the bounce buffer is read after CI */
    if (px_read(p, PX_TFD) & ATA_SR_ERR)
        return ahci_fail(p, is);
    p->busy = false;
    return OK;
}

/* ---- probing --------------------------------------------------------------- */

/* The model string: two characters per word, high byte first, trimmed. */
static void ahci_parse_model(const uint16_t *id, char *model) {
    for (int i = 0; i < ID_MODEL_WORDS; i++) {
        model[2 * i] = (char) (id[ID_MODEL + i] >> 8);
        model[2 * i + 1] = (char) (id[ID_MODEL + i] & 0xff);
    }
    model[AHCI_MODEL_LEN] = '\0';
    for (int i = 0; i < AHCI_MODEL_LEN; i++)
        if (model[i] < 0x20 || model[i] > 0x7e)
            model[i] = model[i] ? '?' : ' ';
    int end = AHCI_MODEL_LEN;
    while (end > 0 && model[end - 1] == ' ')
        model[--end] = '\0';
    int start = 0;
    while (model[start] == ' ')
        start++;
    memmove(model, model + start, end - start + 1);
}

/* Fill p from its IDENTIFY DEVICE data; ERR_NOT_FOUND (logged) if it is
 * no disk this driver can use. */
static error_t ahci_parse_identify(struct ahci_port *p, const uint16_t *id) {
    char why[80];
    if (id[ID_CONFIG] & 0x8000) {
        ahci_log_port(p, "not an ATA device, skipped");
        return ERR_NOT_FOUND;
    }
    ahci_parse_model(id, p->model);
    p->sectors = 0;
    for (int i = 3; i >= 0; i--)
        p->sectors = (p->sectors << 16) | id[ID_LBA48_SECTORS + i];
    /* Word 83 (and 106) is valid when bits 15:14 are 01. */
    bool lba48 = (id[ID_CMDSET2] & 0xc000) == 0x4000 && (id[ID_CMDSET2] & ID_CMDSET2_LBA48);
    bool long_sectors = (id[ID_SECTOR_SIZE] & 0xc000) == 0x4000
                        && (id[ID_SECTOR_SIZE] & (1u << 12));
    const char *problem = !lba48 || !p->sectors ? "no 48-bit addressing"
                          : long_sectors        ? "logical sectors longer than 512 bytes"
                                                : NULL;
    if (!problem)
        return OK;
    snprintf(why, sizeof(why), "\"%s\": %s, skipped", p->model, problem);
    ahci_log_port(p, why);
    return ERR_NOT_FOUND;
}

/* IDENTIFY DEVICE, polled (interrupts are still off). */
static error_t ahci_identify(struct ahci_port *p) {
    ahci_build(p, ATA_CMD_IDENTIFY, 0, 0, p->mem_phys + PORT_MEM_ID, 512, false);
    memset(p->mem + PORT_MEM_ID, 0, 512);
    error_t err = ahci_issue(p);
    if (!err)
        err = px_wait(p, PX_CI, 1, 0, AHCI_READY_TIMEOUT_MS);
    ahci_barrier();
    uint32_t is = px_read(p, PX_IS), tfd = px_read(p, PX_TFD);
    px_write(p, PX_IS, is);
    if (!err && ((is & PXIS_ERRORS) || (tfd & ATA_SR_ERR)))
        err = ERR_IO;
    if (err) {
        char why[80];
        snprintf(why, sizeof(why), "IDENTIFY DEVICE failed: %s (TFD 0x%x, PxIS 0x%x)",
                 err_name(err), tfd, is);
        ahci_log_port(p, why);
        return err;
    }
    return ahci_parse_identify(p, (const uint16_t *) (p->mem + PORT_MEM_ID));
}

/* Point the stopped port at its memory and let it receive FISes. */
static void ahci_port_setup(struct ahci_port *p) {
    memset(p->mem, 0, PAGE_SIZE);
    uint64_t clb = p->mem_phys + PORT_MEM_CLB, fb = p->mem_phys + PORT_MEM_FB;
    px_write(p, PX_CLB, (uint32_t) clb);
    px_write(p, PX_CLBU, (uint32_t) (clb >> 32));
    px_write(p, PX_FB, (uint32_t) fb);
    px_write(p, PX_FBU, (uint32_t) (fb >> 32));
    px_write(p, PX_SERR, 0xffffffff);
    px_write(p, PX_IS, 0xffffffff);
    ahci_barrier();
    px_write(p, PX_CMD, px_read(p, PX_CMD) | PXCMD_FRE | PXCMD_SUD | PXCMD_POD);
}

/* Which device the signature names; OK for an ATA disk. */
static error_t ahci_check_signature(struct ahci_port *p) {
    uint32_t sig = px_read(p, PX_SIG);
    if (sig == SIG_ATA)
        return OK;
    char why[64];
    if (sig == SIG_ATAPI)
        snprintf(why, sizeof(why), "ATAPI device (CD-ROM?), skipped");
    else
        snprintf(why, sizeof(why), "signature 0x%08x (no ATA disk), skipped", sig);
    ahci_log_port(p, why);
    return ERR_NOT_FOUND;
}

error_t ahci_port_probe(struct ahci_port *p, uint8_t *mem, uint64_t mem_phys) {
    p->regs = port_regs(p->hba, p->num);
    p->mem = mem;
    p->mem_phys = mem_phys;
    p->busy = false;
    if (!(p->hba->cap & CAP_S64A) && mem_phys + PAGE_SIZE > (1ULL << 32)) {
        ahci_log_port(p, "memory above 4 GiB for a 32-bit HBA, skipped");
        return ERR_NOT_SUPPORTED;
    }
    px_write(p, PX_IE, 0);
    if (ahci_stop_engines(p)) {
        ahci_log_port(p, "does not stop, skipped");
        return ERR_TIMEOUT;
    }
    ahci_port_setup(p);
    error_t err = ahci_wait_device(p);
    if (err) { /* no signature yet, or stuck busy: a hard reset, once */
        ahci_log_port(p, "device not ready: COMRESET");
        err = ahci_comreset(p);
    }
    if (!err)
        err = ahci_check_signature(p);
    if (!err) {
        ahci_start_cmd(p);
        err = ahci_identify(p);
    }
    if (err) {
        if (err == ERR_TIMEOUT)
            ahci_log_port(p, "device not ready, skipped");
        ahci_port_stop(p);
        return err;
    }
    px_write(p, PX_IS, 0xffffffff);
    px_write(p, PX_IE, PXIS_ENABLED);
    return OK;
}
