/*
 * Memory and string functions for the kernel and user programs.
 *
 * The classic functions keep their standard names and semantics, so the
 * compiler's own calls to memcpy/memset/memmove/memcmp land here in a
 * freestanding build.  The few extras are bounded: strcpy_safe/strcat_safe
 * behave like BSD strlcpy/strlcat, str_to_int reports garbage and overflow
 * as ERR_INVALID_ARG instead of returning a silent 0.
 *
 * Host unit tests (-DFUMI_HOST_TEST) link against the host libc too.  There
 * every standard name is renamed to fumi_<name> by a macro defined before
 * the declarations, so a test that includes this header calls our code and
 * libc keeps its own.  Include libc headers before this one in such a test.
 */
#pragma once

#include "types.h"

#ifdef FUMI_HOST_TEST
#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#undef strlen
#undef strnlen
#undef strcmp
#undef strncmp
#undef strchr
#undef strrchr
#define memcpy  fumi_memcpy
#define memmove fumi_memmove
#define memset  fumi_memset
#define memcmp  fumi_memcmp
#define strlen  fumi_strlen
#define strnlen fumi_strnlen
#define strcmp  fumi_strcmp
#define strncmp fumi_strncmp
#define strchr  fumi_strchr
#define strrchr fumi_strrchr
#endif

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);

/*
 * Copy src into dst[dst_size], truncating if needed; dst is always
 * NUL-terminated when dst_size > 0.  Returns strlen(src): the copy was
 * truncated iff the result is >= dst_size.
 */
size_t strcpy_safe(char *dst, const char *src, size_t dst_size);
/*
 * Append src to the string in dst[dst_size], truncating if needed.  Returns
 * strnlen(dst, dst_size) + strlen(src), the length it tried to create.
 */
size_t strcat_safe(char *dst, const char *src, size_t dst_size);

/*
 * Parse an unsigned number after optional white space and an optional '+'.
 * base 0 means 16 after a "0x"/"0X" prefix and 10 otherwise (a leading 0
 * does NOT mean octal); bases 2..36 are accepted, and base 16 allows the
 * 0x prefix.  Saturates at ULONG_MAX.  *end (if end) points after the last
 * digit used, or at s when there was no number.
 */
unsigned long strtoul_(const char *s, char **end, int base);

/*
 * Parse the whole of s as a decimal int: optional white space, an optional
 * sign, digits, optional white space.  Anything else, or a value outside
 * int, gives ERR_INVALID_ARG and leaves *out unchanged.
 */
error_t str_to_int(const char *s, int *out);

static inline bool isspace_(int c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline bool isdigit_(int c) {
    return c >= '0' && c <= '9';
}

static inline bool isxdigit_(int c) {
    return isdigit_(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
