/*
 * The shell's network commands, over the tcpip interface (and httpd's
 * status). Hosts are dotted quads: there is no DNS resolver.
 *
 * The channel to tcpip is kept between commands. When tcpip dies under it
 * (ERR_PEER_CLOSED) it is forgotten; the queries that change nothing
 * (ifconfig, arp, netstat) then wait a bounded time for a new tcpip and
 * ask it once more, the others report the error and the next command
 * looks tcpip up again.
 */
#include "shell.h"
#include <user/tcpip.h>

#define FETCH_TIMEOUT_MS 10000
#define FETCH_BUF        (64 * 1024)
#define RESTART_WAIT_MS  5000 /* for a new tcpip after the old one died */
#define RESTART_POLL_MS  100

static cid_t tcpip_ch = -1;

/* A channel to tcpip; fails at once if there is none. */
static error_t net(cid_t *ch) {
    if (tcpip_ch < 0) {
        error_t err = ns_find(CID_MEMMGR, "tcpip", &tcpip_ch);
        if (err) {
            tcpip_ch = -1;
            return err == ERR_NOT_FOUND ? ERR_UNAVAILABLE : err;
        }
    }
    *ch = tcpip_ch;
    return OK;
}

/* After a failed call: forget a dead server so the next command reconnects. */
static error_t net_check(error_t err) {
    if (err == ERR_PEER_CLOSED && tcpip_ch >= 0) {
        sys_close(tcpip_ch);
        tcpip_ch = -1;
    }
    return err;
}

/* Run query (which changes nothing in tcpip) on a channel to tcpip. If
 * tcpip died under it, wait up to RESTART_WAIT_MS for a new one (a
 * supervisor or `start tcpip` brings it back) and run it once more. */
static error_t net_query(error_t (*query)(cid_t ch)) {
    cid_t ch;
    error_t err = net(&ch);
    if (err || (err = net_check(query(ch))) != ERR_PEER_CLOSED)
        return err;
    for (int waited = 0; waited < RESTART_WAIT_MS; waited += RESTART_POLL_MS) {
        sleep_ms(RESTART_POLL_MS);
        if ((err = net(&ch)) == ERR_UNAVAILABLE)
            continue; /* not registered again yet */
        if (err)
            return err;
        shell_printf("(tcpip was restarted: asking the new one)\n");
        if ((err = net_check(query(ch))) != ERR_PEER_CLOSED)
            return err;
    }
    return err;
}

static const char *dhcp_state_name(uint32_t s) {
    static const char *const names[] = {"off", "selecting", "requesting", "bound", "renewing",
                                        "rebinding"};
    return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* The driver's own counters (net_device.stats), if there is a driver. */
static void show_driver(void) {
    cid_t dev;
    if (ns_find(CID_MEMMGR, "net", &dev))
        return;
    uint64_t rxp, txp, rxb, txb, rxd, txd, rxe, irqs;
    if (!net_device_stats(dev, &rxp, &txp, &rxb, &txb, &rxd, &txd, &rxe, &irqs))
        shell_printf("      rx %lu packets %lu bytes (%lu dropped, %lu errors), tx %lu packets "
                     "%lu bytes (%lu dropped), %lu interrupts\n", rxp, rxb, rxd, rxe, txp, txb,
                     txd, irqs);
    sys_close(dev);
}

static error_t show_config(cid_t ch) {
    uint8_t mac[6];
    size_t mac_len;
    uint32_t link, ip, mask, gw, dns, source, dhcp, lease;
    error_t err = tcpip_info(ch, mac, &mac_len, &link, &ip, &mask, &gw, &dns, &source, &dhcp,
                             &lease);
    if (err)
        return err;
    char a[IP4_STR_MAX], g[IP4_STR_MAX], d[IP4_STR_MAX];
    shell_printf("eth0  mac %02x:%02x:%02x:%02x:%02x:%02x  link %s\n", mac[0], mac[1], mac[2],
                 mac[3], mac[4], mac[5], link ? "up" : "down");
    if (!ip) {
        shell_printf("      no address (dhcp %s)\n", dhcp_state_name(dhcp));
        return OK;
    }
    shell_printf("      inet %s/%d  gateway %s  dns %s\n", ip4_format(ip, a), ip4_prefix(mask),
                 ip4_format(gw, g), ip4_format(dns, d));
    if (source == TCPIP_SOURCE_DHCP)
        shell_printf("      dhcp %s, lease %u s left\n", dhcp_state_name(dhcp), lease);
    else
        shell_printf("      static\n");
    show_driver();
    return OK;
}

/* ifconfig | ifconfig IP/PREFIX [GATEWAY] | ifconfig dhcp */
error_t cmd_ifconfig(int argc, char **argv) {
    if (argc == 1)
        return net_query(show_config);
    cid_t ch;
    error_t err = net(&ch);
    if (err)
        return err;
    if (argc == 2 && !strcmp(argv[1], "dhcp"))
        return net_check(tcpip_configure(ch, 0, 0, 0));
    uint32_t ip, gw = 0;
    const char *end;
    if (argc > 3 || !ip4_parse(argv[1], "/", &ip, &end) || ip == 0)
        return CMD_USAGE;
    unsigned prefix = 24;
    if (*end == '/') {
        char *e;
        prefix = (unsigned) strtoul_(end + 1, &e, 10);
        if (*e || prefix > 32)
            return CMD_USAGE;
    }
    if (argc == 3 && !ip4_parse(argv[2], NULL, &gw, NULL))
        return CMD_USAGE;
    err = tcpip_configure(ch, ip, ip4_mask(prefix), gw);
    return net_check(err ? err : show_config(ch));
}

/* dhcp: start DHCP again and wait (up to 15 s) for an address. */
error_t cmd_dhcp(int argc, char **argv) {
    cid_t ch;
    error_t err = net(&ch);
    if (err || (err = tcpip_configure(ch, 0, 0, 0)))
        return net_check(err);
    for (int i = 0; i < 150; i++) {
        uint8_t mac[6];
        size_t mac_len;
        uint32_t link, ip, mask, gw, dns, source, dhcp, lease;
        err = tcpip_info(ch, mac, &mac_len, &link, &ip, &mask, &gw, &dns, &source, &dhcp,
                         &lease);
        if (err)
            return net_check(err);
        if (dhcp == 3 /* bound */ && ip)
            return show_config(ch);
        sleep_ms(100);
    }
    shell_printf("dhcp: no lease yet (still trying in the background)\n");
    return ERR_TIMEOUT;
}

/* ping HOST [COUNT] */
error_t cmd_ping(int argc, char **argv) {
    uint32_t ip;
    if (argc < 2 || argc > 3 || !ip4_parse(argv[1], NULL, &ip, NULL))
        return CMD_USAGE;
    unsigned count = argc == 3 ? (unsigned) strtoul_(argv[2], NULL, 10) : 4;
    if (count == 0 || count > 1000)
        return CMD_USAGE;
    cid_t ch;
    error_t err = net(&ch);
    if (err)
        return err;
    unsigned got = 0;
    uint32_t min = UINT32_MAX, max = 0;
    uint64_t total = 0;
    for (unsigned seq = 1; seq <= count; seq++) {
        uint32_t rtt;
        err = tcpip_ping(ch, ip, seq, 56, 2000, &rtt);
        if (err == ERR_TIMEOUT) {
            shell_printf("seq %u: no reply\n", seq);
            continue;
        }
        if (err)
            return net_check(err);
        got++;
        total += rtt;
        min = MIN(min, rtt);
        max = MAX(max, rtt);
        shell_printf("64 bytes from %s: seq %u time %u.%03u ms\n", argv[1], seq, rtt / 1000,
                     rtt % 1000);
        shell_flush();
        if (seq < count)
            sleep_ms(200);
    }
    shell_printf("%u sent, %u received", count, got);
    if (got)
        shell_printf(", rtt min/avg/max %u/%lu/%u us", min, total / got, max);
    shell_printf("\n");
    return got ? OK : ERR_TIMEOUT;
}

static error_t show_arp(cid_t ch) {
    error_t err;
    shell_printf("%-16s %-18s %s\n", "ADDRESS", "MAC", "STATE");
    uint32_t index = 0, next, ip, state, age;
    uint8_t mac[6];
    size_t mac_len;
    while (!(err = tcpip_arp(ch, index, &next, &ip, mac, &mac_len, &state, &age))) {
        char a[IP4_STR_MAX];
        shell_printf("%-16s %02x:%02x:%02x:%02x:%02x:%02x  %s\n", ip4_format(ip, a), mac[0],
                     mac[1], mac[2], mac[3], mac[4], mac[5], state ? "reachable" : "incomplete");
        index = next;
    }
    return err == ERR_EOF ? OK : err;
}

error_t cmd_arp(int argc, char **argv) {
    return net_query(show_arp);
}

static const char *tcp_state(uint32_t s) {
    static const char *const names[] = {"CLOSED",     "LISTEN",     "SYN_SENT",   "SYN_RCVD",
                                        "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
                                        "CLOSING",    "LAST_ACK",   "TIME_WAIT"};
    return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static error_t show_netstat(cid_t ch) {
    error_t err;
    shell_printf("PROTO %-22s %-22s %-12s SENDQ RECVQ\n", "LOCAL", "REMOTE", "STATE");
    uint32_t index = 0, next, proto, state, lip, lport, rip, rport, sq, rq;
    while (!(err = tcpip_connection(ch, index, &next, &proto, &state, &lip, &lport, &rip, &rport,
                                    &sq, &rq))) {
        char l[32], r[32], a[IP4_STR_MAX];
        snprintf(l, sizeof(l), "%s:%u", ip4_format(lip, a), lport);
        snprintf(r, sizeof(r), "%s:%u", ip4_format(rip, a), rport);
        shell_printf("%-5s %-22s %-22s %-12s %5u %5u\n", proto == 6 ? "tcp" : "udp", l, r,
                     tcp_state(state), sq, rq);
        index = next;
    }
    if (err != ERR_EOF)
        return err;
    uint64_t in, out, dropped, retx, resets;
    uint32_t active, arp, socks;
    if ((err = tcpip_stats(ch, &in, &out, &dropped, &active, &retx, &resets, &arp, &socks)))
        return err;
    shell_printf("frames in %lu out %lu dropped %lu; tcp connections %u, retransmits %lu, "
                 "resets %lu\n", in, out, dropped, active, retx, resets);
    return OK;
}

error_t cmd_netstat(int argc, char **argv) {
    return net_query(show_netstat);
}

/* Split http://A.B.C.D[:PORT][/PATH] */
static bool parse_url(const char *url, uint32_t *ip, uint32_t *port, const char **path) {
    if (strncmp(url, "http://", 7))
        return false;
    const char *end;
    if (!ip4_parse(url + 7, ":/", ip, &end))
        return false;
    *port = 80;
    if (*end == ':') {
        char *e;
        *port = (uint32_t) strtoul_(end + 1, &e, 10);
        if (*port == 0 || *port > 65535 || (*e && *e != '/'))
            return false;
        end = e;
    }
    *path = *end ? end : "/";
    return true;
}

/* The first "\r\n\r\n" in s (NUL-terminated), or NULL. */
static char *head_end(char *s) {
    for (; *s; s++)
        if (!strncmp(s, "\r\n\r\n", 4))
            return s;
    return NULL;
}

/* Wait until sock has one of events (or an error/hangup); ERR_TIMEOUT. */
static error_t wait_for(cid_t ch, uint32_t sock, uint32_t events) {
    error_t err = tcpip_watch(ch, sock, events | TCPIP_EV_HUP | TCPIP_EV_ERROR);
    if (err)
        return err;
    uint32_t count, pairs[2 * TCPIP_WAIT_MAX];
    size_t len;
    if ((err = tcpip_wait(ch, FETCH_TIMEOUT_MS, &count, pairs, &len)))
        return err;
    return count ? OK : ERR_TIMEOUT;
}

static error_t send_all(cid_t ch, uint32_t sock, const char *data, size_t len) {
    while (len > 0) {
        uint32_t sent;
        error_t err = wait_for(ch, sock, TCPIP_EV_WRITABLE);
        if (!err)
            err = tcpip_send(ch, sock, TCPIP_NONBLOCK, data, MIN(len, 200), &sent);
        if (err == ERR_WOULD_BLOCK)
            continue;
        if (err)
            return err;
        data += sent;
        len -= sent;
    }
    return OK;
}

/* fetch URL [FILE]: GET the URL; print the status line and the size, and
 * the body (or save it to FILE). */
error_t cmd_fetch(int argc, char **argv) {
    uint32_t ip, port;
    const char *path;
    if (argc < 2 || argc > 3 || !parse_url(argv[1], &ip, &port, &path))
        return CMD_USAGE;
    cid_t ch;
    error_t err = net(&ch);
    if (err)
        return err;
    uint32_t sock;
    if ((err = tcpip_connect(ch, ip, port, 0, &sock)))
        return net_check(err);
    char req[240];
    char host[IP4_STR_MAX];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
                     "User-Agent: fumi-fetch\r\n\r\n", path, ip4_format(ip, host));
    if (n <= 0 || (size_t) n >= sizeof(req)) {
        tcpip_close(ch, sock, 1);
        return ERR_TOO_LARGE;
    }
    err = send_all(ch, sock, req, (size_t) n);
    uint64_t buf = 0, buf_len = 0, total = 0, body_at = 0;
    char *data = malloc(FETCH_BUF);
    if (!err && !data)
        err = ERR_NO_MEMORY;
    if (!err)
        err = memmgr_alloc_pages(CID_MEMMGR, 16 * PAGE_SIZE, 0, &buf, &buf_len);
    /* Read the whole response: the head into data, the body out as it comes. */
    size_t head_len = 0;
    bool in_body = false;
    char status[80] = "";
    while (!err) {
        uint64_t got;
        if ((err = wait_for(ch, sock, TCPIP_EV_READABLE)))
            break;
        err = tcpip_recv_pages(ch, sock, TCPIP_NONBLOCK, buf, buf_len, &got, &buf, &buf_len);
        if (err) {
            buf_len = 0; /* an error reply does not bring the pages back */
            break;
        }
        if (got == 0)
            continue;
        const char *p = (const char *) buf;
        total += got;
        if (!in_body) {
            size_t take = MIN(got, FETCH_BUF - 1 - head_len);
            memcpy(data + head_len, p, take);
            head_len += take;
            data[head_len] = '\0';
            char *end = head_end(data);
            if (!end) {
                if (head_len == FETCH_BUF - 1)
                    err = ERR_TOO_LARGE;
                continue;
            }
            in_body = true;
            *strchr(data, '\r') = '\0';
            strcpy_safe(status, data, sizeof(status));
            body_at = (uint64_t) (end + 4 - data);
            size_t body_here = head_len - body_at;
            if (argc == 2)
                shell_write(end + 4, body_here);
            else
                err = fs_write_file_at(argv[2], 0, end + 4, body_here);
            continue;
        }
        if (argc == 2)
            shell_write(p, got);
        else
            err = fs_write_file_at(argv[2], total - got - body_at, p, got);
    }
    tcpip_close(ch, sock, err && err != ERR_EOF);
    if (buf_len)
        ipc_free_pages(buf, buf_len);
    free(data);
    if (err == ERR_EOF)
        err = OK;
    if (argc == 2 && in_body)
        shell_printf("\n");
    if (in_body)
        shell_printf("fetch: %s, %lu bytes of body\n", status, total - body_at);
    else if (!err)
        err = ERR_CORRUPT; /* the connection ended before a whole response head */
    return net_check(err);
}

/* httpd: the web server's status. */
error_t cmd_httpd(int argc, char **argv) {
    cid_t ch;
    error_t err = ns_find(CID_MEMMGR, "httpd", &ch);
    if (err)
        return err == ERR_NOT_FOUND ? ERR_UNAVAILABLE : err;
    uint32_t port, conns;
    uint64_t reqs, s2, s3, s4, s5, bytes, errors, started;
    err = httpd_status(ch, &port, &conns, &reqs, &s2, &s3, &s4, &s5, &bytes, &errors, &started);
    sys_close(ch);
    if (err)
        return err;
    uint64_t up = (clock_ns() - started) / 1000000000ULL;
    shell_printf("httpd: port %u, up %lu s, %u open connections\n", port, up, conns);
    shell_printf("       %lu requests: %lu 2xx, %lu 3xx, %lu 4xx, %lu 5xx; %lu bytes sent, "
                 "%lu connection errors\n", reqs, s2, s3, s4, s5, bytes, errors);
    return OK;
}
