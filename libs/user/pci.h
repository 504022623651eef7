/*
 * PCI configuration space for device drivers (e1000, ahci), through
 * configuration mechanism #1 (I/O ports 0xcf8 address, 0xcfc data; PCI
 * Local Bus Specification 3.0, 3.2.2.3.2): find devices by class and ids,
 * size and decode a BAR, read the interrupt line, and turn on memory
 * decoding and bus mastering. The caller needs the ports 0xcf8-0xcff
 * (kernel.ioport_enable with PCI_CONFIG_PORTS); nothing else is kept.
 */
#pragma once

#include <user/user.h>

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA    0xcfc
#define PCI_CONFIG_PORTS   8 /* 0xcf8-0xcff: what the manifest grants */

/* Configuration header (type 0) offsets. */
#define PCI_VENDOR_ID      0x00 /* 16 bits; device id in the upper 16 */
#define PCI_COMMAND        0x04 /* 16 bits; status in the upper 16 */
#define PCI_CLASS_REVISION 0x08 /* class 31:24, subclass 23:16, prog-if 15:8 */
#define PCI_HEADER_TYPE    0x0e /* byte; bit 7: multifunction */
#define PCI_BAR0           0x10 /* BARs 0-5, 4 bytes each */
#define PCI_INTERRUPT      0x3c /* line 7:0, pin 15:8 */

#define PCI_COMMAND_IO           (1u << 0)
#define PCI_COMMAND_MEMORY       (1u << 1)
#define PCI_COMMAND_BUS_MASTER   (1u << 2)
#define PCI_COMMAND_INTX_DISABLE (1u << 10)

#define PCI_BAR_IO        (1u << 0)
#define PCI_BAR_TYPE_64   (2u << 1) /* bits 2:1 == 10: a 64-bit memory BAR */
#define PCI_BAR_TYPE_MASK (3u << 1)
#define PCI_BAR_MEM_MASK  0xfffffff0u
#define PCI_BARS          6

#define PCI_IRQ_NONE 0xff   /* interrupt line "unknown / not connected" */
#define PCI_ANY      0xffff /* struct pci_match: any prog-if */

struct pci_id {
    uint16_t vendor, device;
    const char *name;
};

/* What pci_find looks for: class and subclass, a prog-if (or PCI_ANY),
 * and vendor/device ids (ids NULL: any). */
struct pci_match {
    uint8_t cls, subclass;
    uint16_t progif;
    const struct pci_id *ids;
    size_t num_ids;
};

struct pci_device {
    uint8_t bus, dev, fn;
    uint16_t vendor, device;
    uint8_t cls, subclass, progif;
    const struct pci_id *id; /* the entry of the match's ids, or NULL */
    uint8_t irq;             /* the interrupt line the firmware routed, or PCI_IRQ_NONE */
    uint8_t pin;             /* 1-4 for INTA-INTD, 0 for none */
};

struct pci_bar {
    uint64_t base; /* physical address (memory) or port (I/O) */
    uint64_t size; /* memory BARs only: from sizing it; 0 if unimplemented */
    bool io;
    bool is64;     /* a 64-bit memory BAR (it uses the next BAR too) */
};

/* Scan every bus, device and function (functions 1-7 only of
 * multifunction devices) in bus order; fill out[0..max) with the devices m
 * matches and return how many there are (which may exceed max). */
size_t pci_find_all(const struct pci_match *m, struct pci_device *out, size_t max);

/* The first device m matches: OK with *out filled, or ERR_NOT_FOUND. */
error_t pci_find(const struct pci_match *m, struct pci_device *out);

/* Decode and size BAR n (0-5). ERR_INVALID_ARG for n > 5 or a 64-bit
 * BAR in slot 5. */
error_t pci_bar(const struct pci_device *p, unsigned n, struct pci_bar *out);

/* Let p decode its memory BARs, master the bus (DMA) and raise INTx. */
void pci_enable(const struct pci_device *p);

/* Raw configuration dwords (reg is rounded down to a multiple of 4). */
uint32_t pci_config_read(const struct pci_device *p, uint8_t reg);
void pci_config_write(const struct pci_device *p, uint8_t reg, uint32_t v);
