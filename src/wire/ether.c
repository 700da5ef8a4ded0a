/* ether.c: checked parsing and emission of Ethernet II headers (RFC 894) and Ethernet/IPv4
 * ARP messages (RFC 826). */
#include <string.h>

#include "wire.h"

int wire_ether_parse(const uint8_t *frame, size_t len, wire_ether *out)
{
    if (len < WIRE_ETH_HDR)
        return WTCP_DROP_ETH_TOO_SHORT;
    out->dst = frame;
    out->src = frame + 6;
    out->type = wire_get16(frame + 12);
    out->payload = frame + WIRE_ETH_HDR;
    out->payload_len = len - WIRE_ETH_HDR;
    return WIRE_OK;
}

void wire_ether_emit(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    wire_put16(buf + 12, type);
}

int wire_arp_parse(const uint8_t *msg, size_t len, wire_arp *out)
{
    /* Bytes past the 28 of the message are the frame's padding. */
    if (len < WIRE_ARP_LEN || wire_get16(msg) != 1 || wire_get16(msg + 2) != WIRE_ETH_IPV4 ||
        msg[4] != 6 || msg[5] != 4)
        return WTCP_DROP_ARP_MALFORMED;
    out->op = wire_get16(msg + 6);
    if (out->op != WIRE_ARP_REQUEST && out->op != WIRE_ARP_REPLY)
        return WTCP_DROP_ARP_MALFORMED;
    memcpy(out->sha, msg + 8, 6);
    out->spa = wire_get32(msg + 14);
    memcpy(out->tha, msg + 18, 6);
    out->tpa = wire_get32(msg + 24);
    return WIRE_OK;
}

size_t wire_arp_emit(uint8_t *buf, const wire_arp *arp)
{
    wire_put16(buf, 1);
    wire_put16(buf + 2, WIRE_ETH_IPV4);
    buf[4] = 6;
    buf[5] = 4;
    wire_put16(buf + 6, arp->op);
    memcpy(buf + 8, arp->sha, 6);
    wire_put32(buf + 14, arp->spa);
    memcpy(buf + 18, arp->tha, 6);
    wire_put32(buf + 24, arp->tpa);
    return WIRE_ARP_LEN;
}
