/*
 * The CMOS real-time clock, read once at boot for the wall-clock time
 * (kernel.clock's boot_unix). Registers 0x00-0x09 through ports 0x70/0x71,
 * BCD or binary and 12/24-hour as status register B says; the time is
 * taken as UTC. Read twice until two reads agree (no update in between).
 */
#include "arch.h"

struct rtc_time {
    unsigned sec, min, hour, day, mon, year;
};

static uint8_t cmos(uint8_t reg) {
    outb(0x70, reg);
    return inb(0x71);
}

static void rtc_read_raw(struct rtc_time *t) {
    for (int i = 0; i < 100000 && (cmos(0x0a) & 0x80); i++)
        ; /* update in progress */
    t->sec = cmos(0x00);
    t->min = cmos(0x02);
    t->hour = cmos(0x04);
    t->day = cmos(0x07);
    t->mon = cmos(0x08);
    t->year = cmos(0x09);
}

static unsigned from_bcd(unsigned v) {
    return (v & 0x0f) + (v >> 4) * 10;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static uint64_t days_since_epoch(unsigned y, unsigned m, unsigned d) {
    y -= m <= 2;
    uint64_t era = y / 400, yoe = y - era * 400;
    uint64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    uint64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

uint64_t rtc_unix_time(void) {
    struct rtc_time a, b;
    rtc_read_raw(&b);
    do {
        a = b;
        rtc_read_raw(&b);
    } while (a.sec != b.sec || a.min != b.min || a.hour != b.hour || a.day != b.day);
    uint8_t status_b = cmos(0x0b);
    bool pm = a.hour & 0x80;
    a.hour &= 0x7f;
    if (!(status_b & 0x04)) { /* BCD */
        a.sec = from_bcd(a.sec), a.min = from_bcd(a.min), a.hour = from_bcd(a.hour);
        a.day = from_bcd(a.day), a.mon = from_bcd(a.mon), a.year = from_bcd(a.year);
    }
    if (!(status_b & 0x02) && pm) /* 12-hour clock */
        a.hour = (a.hour % 12) + 12;
    if (a.mon < 1 || a.mon > 12 || a.day < 1 || a.day > 31 || a.hour > 23 || a.min > 59)
        return 0; /* no sane RTC */
    unsigned year = 2000 + a.year;
    return days_since_epoch(year, a.mon, a.day) * 86400 + a.hour * 3600 + a.min * 60 + a.sec;
}
