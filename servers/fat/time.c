/*
 * Timestamps: seconds since 1980-01-01 (the fat_disk clock and the API)
 * to and from the FAT date (year-1980:7, month:4, day:5) and time
 * (hour:5, minute:6, seconds/2:5) fields.  Years run 1980..2107.
 */
#include "fat_int.h"

#define SECS_PER_DAY 86400u

static bool leap(uint32_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static uint32_t month_days(uint32_t y, uint32_t m) {
    static const uint8_t days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return days[m - 1] + (m == 2 && leap(y));
}

uint32_t fat_now(const struct fat_fs *fs) {
    return fs->disk.now ? fs->disk.now(fs->disk.ctx) : 0;
}

void time_to_fat(uint32_t secs, uint16_t *date, uint16_t *time) {
    uint32_t days = secs / SECS_PER_DAY, rem = secs % SECS_PER_DAY;
    uint32_t y = 1980, m = 1;
    while (days >= 365u + leap(y) && y < 2107) {
        days -= 365u + leap(y);
        y++;
    }
    while (m < 12 && days >= month_days(y, m)) {
        days -= month_days(y, m);
        m++;
    }
    uint32_t d = MIN(days + 1, month_days(y, m));
    *date = (uint16_t) ((y - 1980) << 9 | m << 5 | d);
    *time = (uint16_t) ((rem / 3600) << 11 | (rem / 60 % 60) << 5 | (rem % 60) / 2);
}

uint32_t time_from_fat(uint16_t date, uint16_t time) {
    uint32_t y = 1980 + (date >> 9), m = (date >> 5) & 15, d = date & 31;
    m = m < 1 ? 1 : m > 12 ? 12 : m;
    d = d < 1 ? 1 : d;
    uint32_t days = d - 1;
    for (uint32_t yy = 1980; yy < y; yy++)
        days += 365u + leap(yy);
    for (uint32_t mm = 1; mm < m; mm++)
        days += month_days(y, mm);
    uint32_t secs = (uint32_t) (time >> 11) * 3600 + ((time >> 5) & 63) * 60 + (time & 31) * 2;
    return days * SECS_PER_DAY + secs;
}
