/* icmp.c: checked parsing and emission of ICMP messages (RFC 792, checksum per RFC 1071). */
#include <string.h>

#include "wire.h"

int wire_icmp_parse(const uint8_t *msg, size_t len, wire_icmp *out)
{
    if (len < WIRE_ICMP_HDR)
        return WTCP_DROP_ICMP_MALFORMED;
    if (wire_fold(wire_sum(msg, len, 0)) != 0)
        return WTCP_DROP_ICMP_CHECKSUM;
    out->type = msg[0];
    out->code = msg[1];
    out->rest = wire_get32(msg + 4);
    out->payload = msg + WIRE_ICMP_HDR;
    out->payload_len = len - WIRE_ICMP_HDR;
    return WIRE_OK;
}

size_t wire_icmp_emit(uint8_t *buf, uint8_t type, uint8_t code, uint32_t rest,
                      const uint8_t *payload, size_t payload_len)
{
    /* Payload first: it may overlap buf (an echo reply built in place, or an error
     * quoting the datagram that sits where the header goes). */
    if (payload_len > 0)
        memmove(buf + WIRE_ICMP_HDR, payload, payload_len);
    buf[0] = type;
    buf[1] = code;
    wire_put16(buf + 2, 0);
    wire_put32(buf + 4, rest);
    size_t len = WIRE_ICMP_HDR + payload_len;
    wire_put16(buf + 2, wire_fold(wire_sum(buf, len, 0)));
    return len;
}
