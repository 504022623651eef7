/*
 * PCI configuration mechanism #1 (pci.h). Every access is a whole aligned
 * dword: write the address to 0xcf8, then read or write 0xcfc. The bus is
 * scanned by brute force (256 buses x 32 devices), which needs no knowledge
 * of bridges and takes a few milliseconds; a function whose vendor reads
 * 0xffff is absent.
 */
#include <user/pci.h>

static inline void outl(uint16_t port, uint32_t v) {
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t inl(uint16_t port) {
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static uint32_t pci_address(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t reg) {
    return 0x80000000u | (uint32_t) bus << 16 | (uint32_t) dev << 11 | (uint32_t) fn << 8
           | (reg & 0xfcu);
}

static uint32_t pci_read(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t reg) {
    outl(PCI_CONFIG_ADDRESS, pci_address(bus, dev, fn, reg));
    return inl(PCI_CONFIG_DATA);
}

uint32_t pci_config_read(const struct pci_device *p, uint8_t reg) {
    return pci_read(p->bus, p->dev, p->fn, reg);
}

void pci_config_write(const struct pci_device *p, uint8_t reg, uint32_t v) {
    outl(PCI_CONFIG_ADDRESS, pci_address(p->bus, p->dev, p->fn, reg));
    outl(PCI_CONFIG_DATA, v);
}

/* The command register with the status half written as 0 (its bits are
 * cleared by writing 1). */
static void pci_set_command(const struct pci_device *p, uint16_t cmd) {
    pci_config_write(p, PCI_COMMAND, cmd);
}

static uint16_t pci_command(const struct pci_device *p) {
    return (uint16_t) pci_config_read(p, PCI_COMMAND);
}

/* Base and size of a memory BAR: all ones written and read back (with
 * decoding off meanwhile, so the BAR never answers at a half-written
 * address), then the original value restored. */
error_t pci_bar(const struct pci_device *p, unsigned n, struct pci_bar *out) {
    if (n >= PCI_BARS)
        return ERR_INVALID_ARG;
    uint8_t reg = (uint8_t) (PCI_BAR0 + 4 * n);
    uint32_t lo = pci_config_read(p, reg);
    *out = (struct pci_bar){.io = lo & PCI_BAR_IO};
    if (out->io) {
        out->base = lo & ~3u;
        return OK;
    }
    out->is64 = (lo & PCI_BAR_TYPE_MASK) == PCI_BAR_TYPE_64;
    if (out->is64 && n == PCI_BARS - 1)
        return ERR_INVALID_ARG;
    uint32_t hi = out->is64 ? pci_config_read(p, reg + 4) : 0;
    uint16_t cmd = pci_command(p);
    pci_set_command(p, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
    pci_config_write(p, reg, 0xffffffff);
    uint64_t mask = pci_config_read(p, reg) & PCI_BAR_MEM_MASK;
    pci_config_write(p, reg, lo);
    if (out->is64) {
        pci_config_write(p, reg + 4, 0xffffffff);
        mask |= (uint64_t) pci_config_read(p, reg + 4) << 32;
        pci_config_write(p, reg + 4, hi);
    } else {
        mask |= 0xffffffff00000000ULL;
    }
    pci_set_command(p, cmd);
    out->base = (lo & PCI_BAR_MEM_MASK) | (uint64_t) hi << 32;
    out->size = mask & PCI_BAR_MEM_MASK ? ~mask + 1 : 0;
    return OK;
}

static const struct pci_id *pci_match_id(const struct pci_match *m, uint16_t vendor,
                                         uint16_t device) {
    for (size_t i = 0; i < m->num_ids; i++)
        if (vendor == m->ids[i].vendor && device == m->ids[i].device)
            return &m->ids[i];
    return NULL;
}

/* Whether function (bus, dev, fn) is one m wants; fills *out if so. */
static bool pci_probe_fn(uint8_t bus, uint8_t dev, uint8_t fn, const struct pci_match *m,
                         struct pci_device *out) {
    uint32_t ids = pci_read(bus, dev, fn, PCI_VENDOR_ID);
    uint32_t class_rev = pci_read(bus, dev, fn, PCI_CLASS_REVISION);
    struct pci_device p = {
        .bus = bus, .dev = dev, .fn = fn,
        .vendor = (uint16_t) ids, .device = (uint16_t) (ids >> 16),
        .cls = (uint8_t) (class_rev >> 24), .subclass = (uint8_t) (class_rev >> 16),
        .progif = (uint8_t) (class_rev >> 8),
    };
    if (p.cls != m->cls || p.subclass != m->subclass
        || (m->progif != PCI_ANY && p.progif != m->progif))
        return false;
    if (m->ids && !(p.id = pci_match_id(m, p.vendor, p.device)))
        return false;
    uint32_t intr = pci_config_read(&p, PCI_INTERRUPT);
    p.irq = (uint8_t) intr;
    p.pin = (uint8_t) (intr >> 8);
    *out = p;
    return true;
}

size_t pci_find_all(const struct pci_match *m, struct pci_device *out, size_t max) {
    size_t found = 0;
    for (unsigned bus = 0; bus < 256; bus++) {
        for (uint8_t dev = 0; dev < 32; dev++) {
            if ((pci_read((uint8_t) bus, dev, 0, PCI_VENDOR_ID) & 0xffff) == 0xffff)
                continue;
            uint32_t header = pci_read((uint8_t) bus, dev, 0, PCI_HEADER_TYPE) >> 16;
            uint8_t fns = (header & 0x80) ? 8 : 1;
            for (uint8_t fn = 0; fn < fns; fn++) {
                struct pci_device p;
                if ((pci_read((uint8_t) bus, dev, fn, PCI_VENDOR_ID) & 0xffff) == 0xffff
                    || !pci_probe_fn((uint8_t) bus, dev, fn, m, &p))
                    continue;
                if (found < max)
                    out[found] = p;
                found++;
            }
        }
    }
    return found;
}

error_t pci_find(const struct pci_match *m, struct pci_device *out) {
    return pci_find_all(m, out, 1) ? OK : ERR_NOT_FOUND;
}

void pci_enable(const struct pci_device *p) {
    uint16_t cmd = pci_command(p) | PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER;
    pci_set_command(p, cmd & ~PCI_COMMAND_INTX_DISABLE);
}
