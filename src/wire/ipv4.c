/* ipv4.c: checked parsing and emission of the IPv4 header (RFC 791 section 3.1, checksum per RFC 1071). */
#include "wire.h"

int wire_ipv4_parse(const uint8_t *buf, size_t len, wire_ipv4 *out)
{
    if (len < WIRE_IPV4_HDR)
        return WTCP_DROP_IP_TOO_SHORT;
    if ((buf[0] >> 4) != 4)
        return WTCP_DROP_IP_VERSION;
    size_t hdr_len = (size_t)(buf[0] & 0x0f) * 4;
    if (hdr_len < WIRE_IPV4_HDR || hdr_len > len)
        return WTCP_DROP_IP_HDR_LEN;
    size_t total_len = wire_get16(buf + 2);
    if (total_len < hdr_len || total_len > len)
        return WTCP_DROP_IP_TOTAL_LEN;
    if (wire_fold(wire_sum(buf, hdr_len, 0)) != 0)
        return WTCP_DROP_IP_CHECKSUM;

    out->hdr_len = (uint8_t)hdr_len;
    out->tos = buf[1];
    out->total_len = (uint16_t)total_len;
    out->id = wire_get16(buf + 4);
    out->frag = wire_get16(buf + 6);
    out->ttl = buf[8];
    out->proto = buf[9];
    out->src = wire_get32(buf + 12);
    out->dst = wire_get32(buf + 16);
    /* Options are skipped; bytes past total_len are link padding. */
    out->payload = buf + hdr_len;
    out->payload_len = total_len - hdr_len;
    return WIRE_OK;
}

size_t wire_ipv4_emit(uint8_t *buf, const wire_ipv4 *ip)
{
    buf[0] = 0x45;
    buf[1] = ip->tos;
    wire_put16(buf + 2, ip->total_len);
    wire_put16(buf + 4, ip->id);
    wire_put16(buf + 6, ip->frag);
    buf[8] = ip->ttl;
    buf[9] = ip->proto;
    wire_put16(buf + 10, 0);
    wire_put32(buf + 12, ip->src);
    wire_put32(buf + 16, ip->dst);
    wire_put16(buf + 10, wire_fold(wire_sum(buf, WIRE_IPV4_HDR, 0)));
    return WIRE_IPV4_HDR;
}
