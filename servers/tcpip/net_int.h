/*
 * Internals of the TCP/IP core shared by its files: wire constants, the
 * limits and timers (docs/tcpip.md lists them), byte order and sequence
 * arithmetic, and the structures of struct net.
 *
 * Frames are built in one buffer, net->tx: a protocol writes its header and
 * payload at TX_L4, ip_output puts the IPv4 header in front and arp_output
 * the Ethernet header (or queues a copy while the next hop is resolved).
 * Nothing may build into net->tx while another frame is half built there.
 */
#pragma once

#include "net_port.h"
#include "net.h"

/* ---- wire ------------------------------------------------------------------ */
#define ETH_ALEN       6
#define ETH_HLEN       14
#define ETH_MTU        1500
#define ETH_FRAME_MAX  (ETH_HLEN + ETH_MTU)
#define ETH_TYPE_IP    0x0800
#define ETH_TYPE_ARP   0x0806
#define IP_HLEN        20
#define IP_TTL         64
#define IP_PROTO_ICMP  1
#define IP_PROTO_TCP   6
#define IP_PROTO_UDP   17
#define IP_PAYLOAD_MAX (ETH_MTU - IP_HLEN)
#define ICMP_HLEN      8
#define UDP_HLEN       8
#define UDP_PAYLOAD_MAX (IP_PAYLOAD_MAX - UDP_HLEN)
#define TCP_HLEN       20
#define TX_L4          (ETH_HLEN + IP_HLEN) /* where a protocol header goes in net->tx */

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

/* ---- limits and timers ------------------------------------------------------ */
#define ARP_ENTRIES         64
#define ARP_QUEUE_PER_ENTRY 4      /* packets waiting for one resolution */
#define ARP_QUEUE_TOTAL     32     /* packets waiting for all of them */
#define ARP_RETRY_MS        1000
#define ARP_TRIES           3      /* requests before giving up */
#define ARP_TIMEOUT_MS      60000  /* a resolved entry lives this long */
#define ARP_KEEP_MS         5000   /* unsolicited ARP never evicts an entry used this recently */

#define NET_PINGS 16

#define TCP_MSS_LOCAL       (ETH_MTU - IP_HLEN - TCP_HLEN) /* 1460 */
#define TCP_MSS_NO_OPTION   536    /* the peer's MSS when its SYN has no option */
#define TCP_MSS_MIN         64     /* a smaller MSS option is raised to this */
#define TCP_RTO_INIT_MS     1000
#define TCP_RTO_MIN_MS      200
#define TCP_RTO_MAX_MS      60000
#define TCP_DELACK_MS       40
#define TCP_TIME_WAIT_MS    2000   /* 2 * MSL with MSL = 1 s */
#define TCP_FIN_WAIT_2_MS   30000  /* an orphan waits this long for the peer's FIN */
#define TCP_SYNACK_RETRIES  4      /* a half-open connection dies after ~31 s */
/* Zero-window probes back off from the RTO up to this: some peers (QEMU's
 * slirp among them) never send a window update when their window opens. */
#define TCP_PERSIST_MAX_MS  1000
#define TCP_PERSIST_IDLE_MS 120000 /* zero-window probes unanswered this long: abort */
#define TCP_OOO_MAX         8      /* holes (out-of-order ranges) kept per connection */
#define TCP_OOW_ACK_MS      500    /* at most one out-of-window/challenge ACK per connection */
#define TCP_BACKLOG_MAX     128
#define TCP_INIT_CWND_SEGS  10
#define PORT_EPHEMERAL_LO   49152
#define PORT_EPHEMERAL_N    16384

#define SOCK_INDEX_BITS 12 /* socket id = generation << 12 | index */
#define SOCK_MAX        (1u << SOCK_INDEX_BITS)

/* ---- byte order, checksums, sequence numbers ---------------------------------- */
static inline uint16_t get16(const uint8_t *p) {
    return (uint16_t) ((p[0] << 8) | p[1]);
}
static inline uint32_t get32(const uint8_t *p) {
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}
static inline void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}
static inline void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}

/* The Internet checksum (RFC 1071): add data to a 32-bit sum, fold it. */
uint32_t csum_add(uint32_t sum, const void *data, size_t len);
uint16_t csum_fold(uint32_t sum);
/* The sum of the TCP/UDP pseudo header. */
uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

/* Sequence numbers compare modulo 2^32 (RFC 9293 3.4). */
static inline bool seq_lt(uint32_t a, uint32_t b) {
    return (int32_t) (a - b) < 0;
}
static inline bool seq_le(uint32_t a, uint32_t b) {
    return (int32_t) (a - b) <= 0;
}
static inline bool seq_gt(uint32_t a, uint32_t b) {
    return (int32_t) (a - b) > 0;
}
static inline bool seq_ge(uint32_t a, uint32_t b) {
    return (int32_t) (a - b) >= 0;
}
static inline uint32_t seq_max(uint32_t a, uint32_t b) {
    return seq_gt(a, b) ? a : b;
}

static inline bool ip_is_martian(uint32_t ip) {
    return ip == 0 || ip >= 0xE0000000u || (ip >> 24) == 127;
}

#define IP_FMT "%u.%u.%u.%u"
#define IP_ARGS(ip)                                                                     \
    (unsigned) ((ip) >> 24), (unsigned) (((ip) >> 16) & 255), (unsigned) (((ip) >> 8) & 255), \
        (unsigned) ((ip) & 255)

/* A netmask: ones, then zeros. */
static inline bool ip_mask_valid(uint32_t mask) {
    uint32_t host = ~mask;
    return (host & (host + 1)) == 0;
}

/* ---- byte rings (send and receive buffers) ------------------------------------- */
struct ring {
    uint8_t *buf;
    uint32_t size, head, len; /* len bytes from head are the contents */
};
bool ring_init(struct ring *r, uint32_t size);
void ring_free(struct ring *r);
static inline uint32_t ring_space(const struct ring *r) {
    return r->size - r->len;
}
/* Append up to n bytes; returns how many fitted. */
uint32_t ring_write(struct ring *r, const void *src, uint32_t n);
/* Copy n bytes from offset off of the contents (off + n <= len). */
void ring_peek(const struct ring *r, uint32_t off, void *dst, uint32_t n);
/* Store n bytes at offset off from head, maybe past len (off + n <= size). */
void ring_put_at(struct ring *r, uint32_t off, const void *src, uint32_t n);
void ring_drop(struct ring *r, uint32_t n);

/* ---- TCP connection state --------------------------------------------------------- */
struct seq_range {
    uint32_t start, end; /* [start, end) */
};

struct tcb {
    uint8_t state;         /* enum tcp_state */
    bool fin_queued;       /* a FIN follows the data: it has sequence number fin_seq */
    bool fin_received;     /* the peer's FIN is in rcv_nxt */
    bool fin_ooo;          /* the peer's FIN (at fin_ooo_seq) arrived beyond a hole */
    bool rcv_discard;      /* the user is gone: data is acknowledged and dropped */
    bool ever_connected;   /* reached ESTABLISHED */
    bool rtt_timing;       /* timing the segment that ends at rtt_seq */
    bool rtt_valid;        /* srtt8/rttvar8 hold a measurement */
    bool persist;          /* t_rtx runs the persist timer, not the retransmit timer */
    bool in_recovery;      /* fast recovery until snd_una reaches recover */
    bool ack_now;          /* send an ACK on the next output */
    bool syn_retransmitted;
    uint8_t retries;       /* RTO expiries (or SYN retransmissions) in a row */
    uint8_t dupacks;
    uint8_t unacked_segs;  /* data segments received since our last ACK */
    uint8_t persist_shift;
    uint8_t nooo;
    uint16_t snd_mss;
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2, max_snd_wnd;
    uint32_t fin_seq;
    uint32_t irs, rcv_nxt, rcv_adv, fin_ooo_seq; /* rcv_adv: right edge advertised */
    uint32_t cwnd, ssthresh, recover;
    uint32_t srtt8, rttvar8, rto_ms; /* srtt and rttvar in 1/8 ms */
    uint32_t rtt_seq;
    uint64_t rtt_start;
    uint64_t t_rtx, t_delack, t_linger; /* deadlines in ms, 0 = off */
    uint64_t last_rx;      /* when the peer last sent anything */
    uint64_t oow_ack_at;   /* when the last rate-limited ACK went out */
    bool oow_ack_sent;
    struct ring snd;       /* unacknowledged and unsent data, from snd_una */
    struct ring rcv;       /* unread data from the user's position; holes after len */
    struct seq_range ooo[TCP_OOO_MAX];
    /* listeners and their children */
    bool acc_queued;       /* in the listener's accept queue (else half-open) */
    int16_t parent;        /* listener of a child not yet accepted, else -1 */
    int16_t acc_next;      /* next in the listener's accept queue */
    int16_t acc_head, acc_tail;
    uint16_t backlog, nsyn, nacc;
};

/* ---- sockets ----------------------------------------------------------------------- */
enum { SOCK_FREE, SOCK_TCP, SOCK_UDP };

struct udp_dgram {
    struct udp_dgram *next;
    uint32_t ip;
    uint16_t port, len;
    uint8_t data[];
};

struct sock {
    uint8_t kind;
    bool user;         /* the user holds the id */
    bool changed;      /* in net->changed (kept across reuse of the slot) */
    uint16_t gen;      /* bumped on every free, so stale ids fail */
    error_t error;
    uint32_t lip, rip; /* lip 0: any (listeners, UDP) */
    uint16_t lport, rport;
    struct tcb tcb;
    struct udp_dgram *uq_head, *uq_tail;
    unsigned uq_len;
};

/* ---- ARP, ICMP, DHCP ------------------------------------------------------------------ */
struct arp_pkt {
    struct arp_pkt *next;
    uint16_t len;
    uint8_t data[]; /* an IPv4 packet */
};

enum { ARP_FREE, ARP_PENDING, ARP_RESOLVED };

struct arp_entry {
    uint8_t state;
    uint8_t tries;
    uint8_t nqueued;
    uint8_t mac[ETH_ALEN];
    uint32_t ip;
    uint64_t deadline;  /* resolved: expiry; pending: next retry */
    uint64_t last_used;
    struct arp_pkt *queue;
};

struct ping_slot {
    bool used, replied;
    uint16_t id, seq, len;
    uint32_t ip, rtt_ms;
    uint64_t sent;
};

struct dhcp {
    uint8_t state;        /* enum net_dhcp_state */
    uint8_t tries;
    uint32_t xid;
    uint32_t offer_ip, server;
    uint32_t lease_s;
    uint64_t t_next;      /* next retransmission or state change */
    uint64_t t1, t2, t_end;
    uint64_t bound_at;
};

struct net {
    struct net_seam seam;
    struct net_params params;
    uint8_t mac[ETH_ALEN];
    uint32_t ip, mask, gw, dns[2];
    uint8_t *tx;          /* ETH_FRAME_MAX bytes */
    uint16_t ip_id;
    struct net_stats stats;
    struct arp_entry arp[ARP_ENTRIES];
    unsigned arp_queued;
    struct ping_slot pings[NET_PINGS];
    struct dhcp dhcp;
    struct sock *socks;
    unsigned nsocks;
    uint16_t *changed;    /* FIFO of socket indexes, nsocks long */
    unsigned changed_head, changed_len;
};

static inline uint64_t net_now(struct net *net) {
    return net->seam.now_ms(net->seam.ctx);
}
static inline uint32_t net_random(struct net *net) {
    return net->seam.random(net->seam.ctx);
}
void net_logf(struct net *net, const char *fmt, ...) PRINTF(2, 3);
/* The earlier of two deadlines where 0 means "none". */
static inline uint64_t deadline_min(uint64_t a, uint64_t b) {
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

/* ---- layers ---------------------------------------------------------------------------- */
/* What the IP layer tells the protocols about a received packet. */
struct ip_info {
    uint32_t src, dst;
    bool to_us;   /* dst is our unicast address */
};

void eth_input(struct net *net, const uint8_t *frame, size_t len);
/* Send the len bytes after the Ethernet header in net->tx to dst (NULL:
 * broadcast). */
void eth_send(struct net *net, const uint8_t dst[ETH_ALEN], uint16_t type, size_t len);

void arp_input(struct net *net, const uint8_t *pkt, size_t len);
/* Send the IPv4 packet of len bytes at net->tx + ETH_HLEN to nexthop
 * (NET_IP_BROADCAST: the broadcast MAC), or queue it until ARP answers. */
void arp_output(struct net *net, uint32_t nexthop, size_t len);
void arp_tick(struct net *net, uint64_t now);
uint64_t arp_deadline(struct net *net);
void arp_flush(struct net *net);

void ip_input(struct net *net, const uint8_t *pkt, size_t len);
/* Send the len bytes at TX_L4 as an IPv4 packet from src to dst. OK, or
 * ERR_NOT_FOUND (no route: dst off-link without a gateway). */
error_t ip_output(struct net *net, uint32_t src, uint32_t dst, uint8_t proto, size_t len);
bool ip_on_link(struct net *net, uint32_t ip);

void icmp_input(struct net *net, const struct ip_info *ii, const uint8_t *pkt, size_t len);

void udp_input(struct net *net, const struct ip_info *ii, const uint8_t *pkt, size_t len);
/* Send the len payload bytes at TX_L4 + UDP_HLEN. */
error_t udp_output(struct net *net, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                   size_t len);
void udp_sock_clear(struct sock *s);

void dhcp_input(struct net *net, const uint8_t *msg, size_t len);
void dhcp_tick(struct net *net, uint64_t now);
uint64_t dhcp_deadline(struct net *net);
/* Take a new address (or none); TCP connections on the old one are reset. */
void net_set_addr(struct net *net, uint32_t ip, uint32_t mask, uint32_t gw);

void tcp_input(struct net *net, const struct ip_info *ii, const uint8_t *pkt, size_t len);
void tcp_tick(struct net *net, uint64_t now);
uint64_t tcp_deadline(struct net *net);
void tcp_addr_lost(struct net *net, uint32_t old_ip);
int tcp_events(struct net *net, struct sock *s);

/* ---- sockets (sock.c) ---------------------------------------------------------------------- */
/* A free slot for kind (not yet held by the user), or NULL if the table
 * is full even after recycling the oldest TIME_WAIT orphan. */
struct sock *sock_alloc(struct net *net, uint8_t kind);
void sock_free(struct net *net, struct sock *s);
static inline int sock_index(const struct net *net, const struct sock *s) {
    return (int) (s - net->socks);
}
int sock_id(const struct net *net, const struct sock *s);
/* The user's open socket of that kind with that id, or NULL. */
struct sock *sock_lookup(struct net *net, int id, uint8_t kind);
/* Queue s for net_next_event (if the user holds it). */
void sock_changed(struct net *net, struct sock *s);
bool port_in_use(struct net *net, uint8_t kind, uint16_t port);
/* A free ephemeral port of that kind, or 0. */
uint16_t port_ephemeral(struct net *net, uint8_t kind);
