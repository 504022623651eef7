# e1000: the Intel 8254x NIC driver (PCI, MMIO, DMA rings, IRQ) serving net_device (docs/e1000.md).
