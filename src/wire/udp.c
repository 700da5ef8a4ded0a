/* udp.c: checked parsing and emission of the UDP header (RFC 768, checksum per RFC 1071). */
#include "wire.h"

int wire_udp_parse(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst, wire_udp *out)
{
    if (len < WIRE_UDP_HDR)
        return WTCP_DROP_UDP_MALFORMED;
    size_t udp_len = wire_get16(seg + 4);
    if (udp_len < WIRE_UDP_HDR || udp_len > len)
        return WTCP_DROP_UDP_MALFORMED;
    /* A zero checksum field means the sender computed none (RFC 768). */
    if (wire_get16(seg + 6) != 0 &&
        wire_fold(wire_sum(seg, udp_len,
                           wire_pseudo_sum(src, dst, WIRE_PROTO_UDP, (uint32_t)udp_len))) != 0)
        return WTCP_DROP_UDP_CHECKSUM;

    out->sport = wire_get16(seg);
    out->dport = wire_get16(seg + 2);
    out->len = (uint16_t)udp_len;
    out->payload = seg + WIRE_UDP_HDR;
    out->payload_len = udp_len - WIRE_UDP_HDR;
    return WIRE_OK;
}

size_t wire_udp_emit(uint8_t *buf, uint16_t sport, uint16_t dport, size_t payload_len)
{
    wire_put16(buf, sport);
    wire_put16(buf + 2, dport);
    wire_put16(buf + 4, (uint16_t)(WIRE_UDP_HDR + payload_len));
    wire_put16(buf + 6, 0);
    return WIRE_UDP_HDR;
}
