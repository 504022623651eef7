/*
 * The few lines that differ between the fat core in Fumi and in host
 * builds (unit tests, fuzzer): where malloc/free and the string functions
 * come from.  On the host, libc's headers come first; libs/common/string.h
 * then renames memcpy etc. to fumi_* so the core links against our own
 * string.c exactly as it does in Fumi.
 */
#pragma once

#ifdef FUMI_HOST_TEST
#include <stdlib.h>
#include <common/string.h>
#else
#include <user/user.h>
#endif
