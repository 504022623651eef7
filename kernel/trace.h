/*
 * IPC tracing: with `trace` on the command line every message event is
 * written as a libpcap record (DLT_USER0) to the trace port. The hooks
 * cost one predictable branch when tracing is off.
 */
#pragma once

#include "process.h"

enum trace_event {
    TRACE_SEND = 1,     /* a thread (or the kernel) sent; maybe queued */
    TRACE_RECV = 2,     /* the message reached its receiver */
    TRACE_NOTIFY = 3,   /* notification bits delivered */
    TRACE_FASTPATH = 4, /* sent and received through the fastpath */
    TRACE_KCALL = 5,    /* a kernel-server request, or its reply */
};

#define TRACE_PORT 0x504 /* QEMU: -device isa-debugcon,iobase=0x504 */

extern bool trace_enabled;

void trace_init(const char *filter);
void trace_record(enum trace_event ev, struct process *from, struct process *to,
                  const struct channel *arrival, const struct message *m);
void trace_flush(void);

static inline void trace_message(enum trace_event ev, struct process *from, struct process *to,
                                 const struct channel *arrival, const struct message *m) {
    if (UNLIKELY(trace_enabled))
        trace_record(ev, from, to, arrival, m);
}
