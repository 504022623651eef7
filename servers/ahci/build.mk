# ahci: the AHCI SATA disk driver (PCI, MMIO, DMA, IRQ) serving the blk interface (docs/ahci.md).
