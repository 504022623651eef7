/*
 * A stand-in for libs/user/user.h in the host test of the generated IDL
 * code: just the IPC entry points the client wrappers use. test_idl.c
 * implements them by calling the generated dispatcher directly.
 */
#pragma once

#include <common/message.h>

struct message *ipc_buffer(void);
error_t ipc_call_checked(cid_t ch, uint32_t reply_type, uint32_t reply_len, uint32_t reply_flags);
error_t ipc_send_buffer(cid_t ch);
