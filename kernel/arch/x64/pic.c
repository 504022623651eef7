/*
 * The legacy 8259 PIC pair (IRQs 0-15 at vectors 32-47) and the 8254 PIT
 * (the scheduler tick on IRQ 0, and TSC calibration on channel 2).
 */
#include "arch.h"

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xa0
#define PIC2_DATA 0xa1
#define PIT_HZ    1193182u

static uint16_t pic_masks = 0xffff;

static void pic_write_masks(void) {
    outb(PIC1_DATA, pic_masks & 0xff);
    outb(PIC2_DATA, pic_masks >> 8);
}

void pic_init(void) {
    outb(PIC1_CMD, 0x11);
    outb(PIC2_CMD, 0x11);
    outb(PIC1_DATA, 32);
    outb(PIC2_DATA, 40);
    outb(PIC1_DATA, 4);
    outb(PIC2_DATA, 2);
    outb(PIC1_DATA, 1);
    outb(PIC2_DATA, 1);
    pic_masks = 0xffff & ~(1u << 2); /* cascade */
    pic_write_masks();
}

void pic_mask(unsigned irq) {
    pic_masks |= 1u << irq;
    pic_write_masks();
}

void pic_unmask(unsigned irq) {
    pic_masks &= ~(1u << irq);
    pic_write_masks();
}

void pic_eoi(unsigned irq) {
    if (irq >= 8)
        outb(PIC2_CMD, 0x20);
    outb(PIC1_CMD, 0x20);
}

void pit_init(unsigned hz) {
    unsigned div = PIT_HZ / hz;
    outb(0x43, 0x34); /* channel 0, lo/hi, mode 2 (rate generator) */
    outb(0x40, div & 0xff);
    outb(0x40, div >> 8);
}

/* Count TSC ticks over a 50 ms one-shot of PIT channel 2 (mode 0, waiting
 * for the whole period; see RECIPES.md on calibrations that end early). */
uint64_t tsc_calibrate(void) {
    const unsigned ms = 50, count = PIT_HZ * ms / 1000;
    outb(0x61, (inb(0x61) & ~0x02) | 0x01); /* gate on, speaker off */
    outb(0x43, 0xb0);                       /* channel 2, lo/hi, mode 0 */
    outb(0x42, count & 0xff);
    outb(0x42, count >> 8);
    uint64_t start = rdtsc_();
    while (!(inb(0x61) & 0x20))
        ;
    uint64_t hz = (rdtsc_() - start) * (1000 / ms);
    return hz ? hz : 1000000000ULL;
}
