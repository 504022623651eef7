/*
 * The pcap writer behind trace.h. Records are buffered and written to the
 * trace port in bursts (rep outsb): a byte-per-OUT port is slow under
 * emulation. The format is documented in docs/tracing.md.
 */
#include "trace.h"

#define PCAP_MAGIC_NS 0xa1b23c4du
#define DLT_USER0     147
#define TRACE_BUF     (32 * 1024)

struct PACKED pcap_global {
    uint32_t magic;
    uint16_t major, minor;
    int32_t thiszone;
    uint32_t sigfigs, snaplen, network;
};

struct PACKED pcap_record {
    uint32_t ts_sec, ts_nsec, incl_len, orig_len;
};

/* The Fumi trace header in front of each 256-byte message. */
struct PACKED trace_header {
    uint8_t version;
    uint8_t event;
    uint16_t header_len;
    uint32_t seq;
    uint64_t time_ns;
    int32_t src_pid, dst_pid;
    int32_t src_cid, dst_cid;
    char src_name[16], dst_name[16];
};
STATIC_ASSERT(sizeof(struct trace_header) == 64);

bool trace_enabled;
static char filter[32];
static uint8_t buf[TRACE_BUF];
static size_t used;
static uint32_t seq;

void trace_flush(void) {
    const uint8_t *p = buf;
    size_t n = used;
    __asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(TRACE_PORT) : "memory");
    used = 0;
}

static void put(const void *data, size_t len) {
    if (used + len > sizeof(buf))
        trace_flush();
    memcpy(buf + used, data, len);
    used += len;
}

void trace_init(const char *name_filter) {
    strcpy_safe(filter, name_filter ? name_filter : "", sizeof(filter));
    struct pcap_global g = {PCAP_MAGIC_NS, 2, 4, 0, 0, 65535, DLT_USER0};
    put(&g, sizeof(g));
    trace_enabled = true;
}

static bool wanted(const struct process *a, const struct process *b) {
    return !filter[0] || !strcmp(a->name, filter) || !strcmp(b->name, filter);
}

void trace_record(enum trace_event ev, struct process *from, struct process *to,
                  const struct channel *arrival, const struct message *m) {
    if (!wanted(from, to))
        return;
    uint64_t now = clock_now_ns();
    struct trace_header h = {
        .version = 1,
        .event = ev,
        .header_len = sizeof(h),
        .seq = seq++,
        .time_ns = now,
        .src_pid = from->pid,
        .dst_pid = to->pid,
        .src_cid = arrival && arrival->peer ? arrival->peer->cid : 0,
        .dst_cid = arrival ? arrival->cid : 0,
    };
    strcpy_safe(h.src_name, from->name, sizeof(h.src_name));
    strcpy_safe(h.dst_name, to->name, sizeof(h.dst_name));
    struct pcap_record r = {
        .ts_sec = now / 1000000000,
        .ts_nsec = now % 1000000000,
        .incl_len = sizeof(h) + MSG_SIZE,
        .orig_len = sizeof(h) + MSG_SIZE,
    };
    put(&r, sizeof(r));
    put(&h, sizeof(h));
    put(m, MSG_SIZE);
}
