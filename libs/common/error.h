/*
 * The one error enum of Fumi, shared by the kernel and user space.
 *
 * Every syscall, kernel-server request and server reply returns OK or one of
 * these negative codes; err_name() turns one into its name ("ERR_NOT_FOUND")
 * so that logs and the shell never print a bare number.  The list is an
 * X-macro so the enum and the name table cannot drift apart.
 */
#pragma once

#include "types.h"

#define ERROR_LIST(X)                                                             \
    X(ERR_NO_MEMORY, 1, "out of memory")                                          \
    X(ERR_NO_RESOURCES, 2, "a fixed kernel or server pool is exhausted")          \
    X(ERR_INVALID_ARG, 3, "an argument is out of range or malformed")             \
    X(ERR_INVALID_CID, 4, "no such channel in the caller's table")                \
    X(ERR_PEER_CLOSED, 5, "the channel's peer has been closed or has died")       \
    X(ERR_NOT_LINKED, 6, "the channel is not linked to a peer")                   \
    X(ERR_WOULD_BLOCK, 7, "the operation would block (IPC_NOBLOCK)")              \
    X(ERR_NOT_FOUND, 8, "no such object")                                         \
    X(ERR_NOT_PERMITTED, 9, "the caller lacks the right")                         \
    X(ERR_NOT_SUPPORTED, 10, "the operation is not supported")                    \
    X(ERR_BAD_MESSAGE, 11, "malformed message (type, length or fields)")          \
    X(ERR_ALREADY_EXISTS, 12, "the object already exists")                        \
    X(ERR_TOO_LARGE, 13, "too large")                                             \
    X(ERR_NO_SPACE, 14, "no space left on the device")                            \
    X(ERR_IO, 15, "device I/O error")                                             \
    X(ERR_TIMEOUT, 16, "timed out")                                               \
    X(ERR_IN_USE, 17, "the object is in use")                                     \
    X(ERR_NOT_ACCEPTED, 18, "the receiver does not accept this payload")          \
    X(ERR_BAD_PAGE, 19, "a page payload address or length is invalid")            \
    X(ERR_ABORTED, 20, "aborted")                                                 \
    X(ERR_NOT_DIR, 21, "not a directory")                                         \
    X(ERR_IS_DIR, 22, "is a directory")                                           \
    X(ERR_NOT_EMPTY, 23, "directory not empty")                                   \
    X(ERR_CORRUPT, 24, "on-disk or on-wire data is corrupt")                      \
    X(ERR_EOF, 25, "end of file or stream")                                       \
    X(ERR_UNAVAILABLE, 26, "the service is not available (yet)")                  \
    X(ERR_UNEXPECTED, 27, "unexpected state")                                     \
    X(ERR_LOOP, 28, "the operation would create a loop")                          \
    X(ERR_DEAD, 29, "the target process or thread is dead")

enum error_code {
    OK = 0,
#define ERROR_ENUM(name, num, desc) name = -(num),
    ERROR_LIST(ERROR_ENUM)
#undef ERROR_ENUM
    ERR_END_ = -30,
};

#define IS_ERROR(e) ((e) < 0)
#define IS_OK(e)    ((e) >= 0)

/* "ERR_NOT_FOUND" for ERR_NOT_FOUND, "OK" for 0, "ERR_UNKNOWN" otherwise. */
const char *err_name(int err);
/* A one-line human description of the error. */
const char *err_desc(int err);
