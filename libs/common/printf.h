/*
 * Formatted output for the kernel log, user printf and snprintf.
 *
 * vformat() is the one formatter: it hands each output character to a
 * caller-supplied sink, so the kernel log, the user runtime's line-buffered
 * printf and snprintf share it.  It supports the C conversions d i u x X o
 * p s c %, the flags - 0 + space #, width and precision (also `*`) and the
 * length modifiers hh h l ll z j t.  There is no floating point and no %n.
 * Differences from C: %p prints "0x" and the hex value (also "0x0" for
 * NULL), %s of NULL prints "(null)", and an unknown conversion is copied to
 * the output as written.  Print an error_t as "%s" with err_name(err).
 *
 * Host unit tests (-DFUMI_HOST_TEST) rename vsnprintf and snprintf to
 * fumi_vsnprintf and fumi_snprintf, as string.h does for its names.
 */
#pragma once

#include "types.h"

#ifdef FUMI_HOST_TEST
#undef vsnprintf
#undef snprintf
#define vsnprintf fumi_vsnprintf
#define snprintf  fumi_snprintf
#endif

/*
 * Format fmt with ap, calling put(ctx, c) for every output character.
 * Returns the number of characters produced (saturated at INT_MAX).
 */
int vformat(void (*put)(void *ctx, char c), void *ctx, const char *fmt, va_list ap)
    PRINTF(3, 0);

/*
 * Format into buf[size].  The result is always NUL-terminated when
 * size > 0 (buf may be NULL when size is 0).  Returns the length the whole
 * output would have: it was truncated iff the result is >= size.
 */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) PRINTF(3, 0);
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF(3, 4);
