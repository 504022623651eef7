/*
 * The TCP/IP core: Ethernet, ARP, IPv4, ICMP echo, UDP, a DHCP client and
 * TCP, with no IPC. It reaches the world only through struct net_seam
 * (send a frame, read a clock, draw a random number, log a line), so the
 * same code runs in the tcpip server (over the e1000 driver and a kernel
 * timer) and in the host unit tests (two cores wired back to back through a
 * simulated, lossy link). docs/tcpip.md describes the design.
 *
 * The core is single-threaded and never blocks. The glue feeds it frames
 * (net_input), calls net_tick when net_next_deadline_ms says a timer is due,
 * and calls the socket functions, which return ERR_WOULD_BLOCK where a
 * blocking API would wait; net_next_event tells it which sockets to look at
 * again. Any call may emit frames through seam->send_frame.
 *
 * Addresses are IPv4 in host byte order (10.0.2.15 is NET_IP(10, 0, 2, 15)),
 * ports in host byte order. Socket ids are positive ints; functions that
 * return "a socket id, a byte count or an ERR_*" return a negative ERR_* on
 * failure.
 */
#pragma once

#include <common/error.h>
#include <common/types.h>

#define NET_IP(a, b, c, d) \
    (((uint32_t) (a) << 24) | ((uint32_t) (b) << 16) | ((uint32_t) (c) << 8) | (uint32_t) (d))
#define NET_IP_BROADCAST 0xFFFFFFFFu
#define NET_NO_DEADLINE  UINT64_MAX

/* The seam to the world. send_frame gets one Ethernet frame without FCS;
 * the frame is only valid during the call, and send_frame must not call
 * back into the core. now_ms is monotonic. log may be NULL. */
struct net_seam {
    void *ctx;
    void (*send_frame)(void *ctx, const void *frame, size_t len);
    uint64_t (*now_ms)(void *ctx);
    uint32_t (*random)(void *ctx); /* ISNs, DHCP xids, ephemeral ports, jitter */
    void (*log)(void *ctx, const char *line); /* one line, no newline */
};

/* Sizes fixed at net_create; net_params_default fills in the defaults. */
struct net_params {
    unsigned max_sockets;     /* TCP + UDP sockets, connections lingering after close
                                 and half-open ones included (default 128, at most 4096) */
    uint32_t tcp_sndbuf;      /* send buffer per connection (default 64 KiB) */
    uint32_t tcp_rcvbuf;      /* receive buffer = largest window (default 32 KiB,
                                 at most 65535: no window scaling) */
    unsigned tcp_max_retries; /* RTO expiries in a row before ERR_TIMEOUT (default 8) */
    unsigned tcp_syn_retries; /* SYN retransmissions before connect fails (default 5) */
    unsigned udp_queue;       /* datagrams queued per UDP socket (default 16) */
};

struct net;

void net_params_default(struct net_params *p);
/* params may be NULL for the defaults. ERR_INVALID_ARG for a bad seam or
 * params, ERR_NO_MEMORY. The interface starts unconfigured (address 0). */
error_t net_create(const struct net_seam *seam, const uint8_t mac[6],
                   const struct net_params *params, struct net **out);
/* Free everything at once: no frames are sent (no FIN, no RST). */
void net_destroy(struct net *net);

/* One received Ethernet frame (with or without FCS padding). Anything
 * malformed, corrupt or not for us is dropped and counted in the stats. */
void net_input(struct net *net, const void *frame, size_t len);
/* Run every timer that is due (ARP, DHCP, TCP). Cheap to call early. */
void net_tick(struct net *net);
/* The now_ms time at which net_tick must run next, or NET_NO_DEADLINE.
 * It changes after any other call: ask again before sleeping. */
uint64_t net_next_deadline_ms(struct net *net);

/* ---- configuration ------------------------------------------------------ */
enum net_dhcp_state {
    NET_DHCP_OFF,        /* static or unconfigured */
    NET_DHCP_SELECTING,  /* DISCOVER sent, waiting for an OFFER */
    NET_DHCP_REQUESTING, /* REQUEST sent, waiting for the ACK */
    NET_DHCP_BOUND,
    NET_DHCP_RENEWING,   /* past T1: unicast REQUESTs to our server */
    NET_DHCP_REBINDING,  /* past T2: broadcast REQUESTs */
};

struct net_config {
    uint8_t mac[6];
    uint32_t ip, mask, gw;   /* 0 when unknown */
    uint32_t dns[2];         /* 0 when unknown */
    int dhcp_state;          /* enum net_dhcp_state */
    uint32_t dhcp_server;    /* the server we are bound to */
    uint32_t lease_s;        /* the lease granted */
    uint32_t lease_left_s;   /* seconds until it expires (0xFFFFFFFF: infinite) */
};

/* A static address (stops DHCP). ip 0 unconfigures the interface. mask
 * must be contiguous; gw 0 means no default route, else it must be inside
 * the subnet. TCP connections using another local address are reset. */
error_t net_set_static(struct net *net, uint32_t ip, uint32_t mask, uint32_t gw);
error_t net_set_dns(struct net *net, uint32_t dns0, uint32_t dns1);
/* Start (or restart) the DHCP client: sends a DISCOVER now. It logs
 * "dhcp: bound 10.0.2.15/24 gw 10.0.2.2 lease 86400s" when it gets an
 * address and "dhcp: renewed ..." on every renewal. */
error_t net_dhcp_start(struct net *net);
void net_get_config(struct net *net, struct net_config *out);
const char *net_dhcp_state_name(int state);

/* ---- ARP, ICMP ------------------------------------------------------------ */
struct net_arp_entry {
    uint32_t ip;
    uint8_t mac[6];      /* zero while unresolved */
    bool resolved;
    uint32_t expires_ms; /* until the entry expires (resolved) or the next retry */
    unsigned queued;     /* packets waiting for the answer */
};
/* Copy up to max entries of the ARP cache; returns how many were copied. */
size_t net_arp_list(struct net *net, struct net_arp_entry *out, size_t max);

/* Send an echo request with payload_len bytes of pattern (at most 1472).
 * ERR_UNAVAILABLE without an address, ERR_NOT_FOUND if there is no route,
 * ERR_NOT_SUPPORTED for our own address (no loopback).
 * The last 16 pings are remembered. */
error_t net_ping(struct net *net, uint32_t ip, uint16_t id, uint16_t seq, size_t payload_len);
/* OK and the round-trip time once the reply (with the payload intact) came
 * back, which forgets the ping; ERR_WOULD_BLOCK while waiting; ERR_NOT_FOUND
 * for a ping we do not know (or forgot). The glue polls it after
 * net_input, or when its own timeout runs out. */
error_t net_ping_poll(struct net *net, uint16_t id, uint16_t seq, uint32_t *rtt_ms);

/* ---- sockets -------------------------------------------------------------- */
#define NET_EV_READABLE   (1u << 0) /* recv will not say ERR_WOULD_BLOCK */
#define NET_EV_WRITABLE   (1u << 1) /* send will queue at least one byte */
#define NET_EV_ACCEPTABLE (1u << 2) /* accept will return a connection */
#define NET_EV_CONNECTED  (1u << 3) /* the handshake completed (stays set) */
#define NET_EV_HUP        (1u << 4) /* nothing more will arrive: peer's FIN, reset or timeout */
#define NET_EV_ERROR      (1u << 5) /* sock_error has the reason */

/* The events of a socket now, or ERR_NOT_FOUND for an id that is not open. */
int sock_events(struct net *net, int sock);
/* OK, or why the connection died: ERR_ABORTED (reset, also "refused"),
 * ERR_TIMEOUT (connect or user timeout), ERR_UNAVAILABLE (address lost). */
error_t sock_error(struct net *net, int sock);
/* The next socket whose events may have changed since it was last
 * returned here (a FIFO with each socket at most once), with its events
 * now; false when there is none. The glue calls it after every call into
 * the core until it says false and wakes the clients blocked on those
 * sockets. Closed ids never come out. */
bool net_next_event(struct net *net, int *sock, uint32_t *events);

/* Addresses of a socket (a listener or unbound UDP socket has remote 0). */
struct net_sock_addr {
    uint32_t local_ip, remote_ip;
    uint16_t local_port, remote_port;
};
error_t sock_addr(struct net *net, int sock, struct net_sock_addr *out);

/* TCP. listen: a listener on port for any local address; backlog (1..128)
 * bounds both the half-open connections and the ones waiting for accept;
 * SYNs beyond that are dropped (the peer retries). ERR_IN_USE if another
 * listener has the port. */
int tcp_listen(struct net *net, uint16_t port, unsigned backlog);
/* The next established connection of a listener, or ERR_WOULD_BLOCK. */
int tcp_accept(struct net *net, int lsock);
/* Start an active open from an ephemeral port; the socket reports
 * NET_EV_CONNECTED, or NET_EV_ERROR with ERR_ABORTED (refused) or
 * ERR_TIMEOUT. ERR_UNAVAILABLE without an address, ERR_NOT_FOUND without a
 * route, ERR_NOT_SUPPORTED for our own address, ERR_NO_RESOURCES when the
 * socket table or the ephemeral ports are full. */
int tcp_connect(struct net *net, uint32_t ip, uint16_t port);
/* Queue up to len bytes: the count queued (> 0; 0 for len 0), ERR_WOULD_BLOCK
 * if the send buffer is full or the handshake is not done, ERR_EOF after
 * tcp_shutdown_write, the connection's error after it died. */
int tcp_send(struct net *net, int sock, const void *buf, size_t len);
/* Take up to len bytes: the count (> 0), ERR_WOULD_BLOCK, ERR_EOF once the
 * peer's FIN was read past, or the connection's error (a reset discards
 * what was not read yet). */
int tcp_recv(struct net *net, int sock, void *buf, size_t len);
/* Send a FIN after the queued data; receiving goes on. */
error_t tcp_shutdown_write(struct net *net, int sock);
/* Graceful close: the id is gone at once; the connection sends what is
 * queued, then a FIN, and lingers inside the core (unread and later data
 * is discarded). On a listener: resets the connections not yet accepted. */
error_t tcp_close(struct net *net, int sock);
/* Reset the connection (RST) and free the id at once. */
error_t tcp_abort(struct net *net, int sock);

/* UDP. port 0 picks an ephemeral port. ERR_IN_USE if the port is taken. */
int udp_open(struct net *net, uint16_t port);
/* Send one datagram (at most 1472 bytes: no fragmentation); returns len.
 * ip may be NET_IP_BROADCAST. ERR_UNAVAILABLE without an address,
 * ERR_TOO_LARGE, ERR_NOT_FOUND if there is no route, ERR_NOT_SUPPORTED for
 * our own address. */
int udp_sendto(struct net *net, int sock, uint32_t ip, uint16_t port, const void *buf,
               size_t len);
/* The next datagram: its length (cut to len if longer, the rest is lost),
 * the sender in *ip, *port (either may be NULL); ERR_WOULD_BLOCK if none. */
int udp_recvfrom(struct net *net, int sock, void *buf, size_t len, uint32_t *ip,
                 uint16_t *port);
error_t udp_close(struct net *net, int sock);

/* ---- statistics ------------------------------------------------------------ */
#define NET_STATS_LIST(X)                                                        \
    X(frames_in, "frames received")                                              \
    X(frames_out, "frames sent")                                                 \
    X(bytes_in, "bytes received")                                                \
    X(bytes_out, "bytes sent")                                                   \
    X(eth_short, "dropped: frame shorter than an Ethernet header")               \
    X(eth_too_long, "dropped: frame longer than 1518 bytes")                     \
    X(eth_not_for_us, "dropped: destination MAC not ours or broadcast")          \
    X(eth_unknown_type, "dropped: not ARP or IPv4")                              \
    X(arp_bad, "dropped: malformed or unsupported ARP")                          \
    X(arp_requests_in, "ARP requests for our address answered")                  \
    X(arp_replies_in, "ARP replies accepted")                                    \
    X(arp_requests_out, "ARP requests sent")                                     \
    X(arp_evictions, "ARP entries evicted to make room")                         \
    X(arp_failed, "ARP resolutions that gave up")                                \
    X(arp_queue_drops, "packets dropped waiting for ARP (queue full or no answer)") \
    X(arp_conflicts, "ARP packets claiming our address")                         \
    X(ip_short, "dropped: IPv4 shorter than its header")                         \
    X(ip_bad_version, "dropped: not IPv4")                                       \
    X(ip_options, "dropped: IPv4 options")                                       \
    X(ip_bad_len, "dropped: IPv4 total length inconsistent")                     \
    X(ip_bad_checksum, "dropped: IPv4 header checksum")                          \
    X(ip_fragments, "dropped: IPv4 fragments")                                   \
    X(ip_bad_ttl, "dropped: TTL 0")                                              \
    X(ip_bad_src, "dropped: martian source address")                             \
    X(ip_not_for_us, "dropped: IPv4 for another host")                           \
    X(ip_unknown_proto, "dropped: not ICMP, UDP or TCP")                         \
    X(ip_no_route, "packets not sent: no route or no address")                   \
    X(icmp_bad, "dropped: short or bad ICMP checksum")                           \
    X(icmp_echo_replied, "echo requests answered")                               \
    X(icmp_ping_replies, "echo replies matched to a ping")                       \
    X(icmp_other, "ICMP messages ignored")                                       \
    X(udp_bad, "dropped: short, bad length or bad UDP checksum")                 \
    X(udp_no_port, "dropped: UDP to a port nobody listens on")                   \
    X(udp_queue_drops, "dropped: UDP socket queue full")                         \
    X(dhcp_bad, "dropped: malformed DHCP (options, lengths, cookie)")            \
    X(dhcp_ignored, "DHCP messages not for us or not expected")                  \
    X(tcp_bad, "dropped: short, bad offset or bad TCP checksum")                 \
    X(tcp_active_opens, "connections opened by tcp_connect")                     \
    X(tcp_passive_opens, "connections accepted from a listener")                 \
    X(tcp_established, "connections that reached ESTABLISHED")                  \
    X(tcp_listen_drops, "SYNs dropped: backlog full or no memory")               \
    X(tcp_resets_in, "RSTs accepted")                                            \
    X(tcp_resets_out, "RSTs sent")                                               \
    X(tcp_challenge_acks, "challenge ACKs sent (RFC 5961)")                      \
    X(tcp_acks_limited, "out-of-window ACKs not sent (rate limit)")              \
    X(tcp_segments_in, "TCP segments accepted for processing")                   \
    X(tcp_segments_out, "TCP segments sent")                                     \
    X(tcp_retransmits, "segments retransmitted")                                 \
    X(tcp_fast_retransmits, "fast retransmits (3 duplicate ACKs)")               \
    X(tcp_rto_expiries, "retransmission timeouts")                               \
    X(tcp_timeouts, "connections aborted by a timeout")                          \
    X(tcp_persist_probes, "zero-window probes sent")                             \
    X(tcp_dup_segments, "segments entirely old (duplicates)")                    \
    X(tcp_ooo_segments, "segments queued out of order")                          \
    X(tcp_ooo_drops, "out-of-order segments dropped (too many holes)")           \
    X(tcp_time_wait_reused, "TIME_WAIT connections recycled")

struct net_stats {
#define NET_STATS_FIELD(name, desc) uint64_t name;
    NET_STATS_LIST(NET_STATS_FIELD)
#undef NET_STATS_FIELD
    uint64_t tcp_conns;   /* connections now (not LISTEN or CLOSED) */
    uint64_t sockets;     /* socket slots in use now */
};
void net_get_stats(struct net *net, struct net_stats *out);

enum tcp_state {
    TCP_CLOSED,
    TCP_LISTEN,
    TCP_SYN_SENT,
    TCP_SYN_RECEIVED,
    TCP_ESTABLISHED,
    TCP_FIN_WAIT_1,
    TCP_FIN_WAIT_2,
    TCP_CLOSE_WAIT,
    TCP_CLOSING,
    TCP_LAST_ACK,
    TCP_TIME_WAIT,
};
const char *tcp_state_name(int state);

/* One row of netstat. */
struct net_tcp_info {
    int sock;                  /* the user's id, or -1 once closed by the user */
    int state;                 /* enum tcp_state */
    struct net_sock_addr addr;
    uint32_t sendq, recvq;     /* bytes queued; for a listener: half-open, waiting accept */
    uint32_t rto_ms, srtt_ms;  /* srtt 0 before the first sample */
    uint32_t snd_wnd, cwnd;
};
/* Copy up to max TCP sockets; returns how many were copied. */
size_t net_tcp_list(struct net *net, struct net_tcp_info *out, size_t max);
