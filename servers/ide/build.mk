# ide: the ATA disk driver (PIO, IRQ-driven, LBA48) serving the blk interface (docs/ide.md).
