/*
 * The few lines that differ between the TCP/IP core in Fumi and in the host
 * unit tests: where malloc/free, the string functions and snprintf come
 * from. On the host, libc's headers come first; libs/common/string.h and
 * printf.h then rename memcpy, snprintf etc. to fumi_* so the core links
 * against our own string.c and printf.c exactly as it does in Fumi.
 */
#pragma once

#ifdef FUMI_HOST_TEST
#include <stdlib.h>
#include <common/string.h>
#include <common/printf.h>
#else
#include <user/user.h>
#endif
