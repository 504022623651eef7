/*
 * Ethernet II framing: accept frames for our MAC or broadcast, at most
 * 1518 bytes (an FCS may be left on), and hand ARP and IPv4 up; put the
 * header on outgoing frames and pad them to 60 bytes. No VLANs, no
 * multicast, no 802.3 length frames.
 */
#include "net_int.h"

static const uint8_t eth_broadcast[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

void eth_input(struct net *net, const uint8_t *frame, size_t len) {
    if (len < ETH_HLEN) {
        net->stats.eth_short++;
        return;
    }
    if (len > ETH_FRAME_MAX + 4) { /* + FCS; no jumbo frames */
        net->stats.eth_too_long++;
        return;
    }
    bool ours = memcmp(frame, net->mac, ETH_ALEN) == 0;
    bool bcast = memcmp(frame, eth_broadcast, ETH_ALEN) == 0;
    /* Our own source address: a frame we sent, looped back. */
    if ((!ours && !bcast) || memcmp(frame + ETH_ALEN, net->mac, ETH_ALEN) == 0) {
        net->stats.eth_not_for_us++;
        return;
    }
    switch (get16(frame + 12)) {
    case ETH_TYPE_ARP:
        arp_input(net, frame + ETH_HLEN, len - ETH_HLEN);
        break;
    case ETH_TYPE_IP:
        ip_input(net, frame + ETH_HLEN, len - ETH_HLEN);
        break;
    default:
        net->stats.eth_unknown_type++;
        break;
    }
}

/* Send the len bytes after the Ethernet header in net->tx, padded to the
 * 60-byte minimum. dst NULL: broadcast. */
void eth_send(struct net *net, const uint8_t dst[ETH_ALEN], uint16_t type, size_t len) {
    uint8_t *f = net->tx;
    memcpy(f, dst ? dst : eth_broadcast, ETH_ALEN);
    memcpy(f + ETH_ALEN, net->mac, ETH_ALEN);
    put16(f + 12, type);
    size_t flen = ETH_HLEN + len;
    if (flen < 60) {
        memset(f + flen, 0, 60 - flen);
        flen = 60;
    }
    net->stats.frames_out++;
    net->stats.bytes_out += flen;
    net->seam.send_frame(net->seam.ctx, f, flen);
}
