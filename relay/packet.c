/* packet.c: IPv4 header checks (RFC 791 section 3.1, RFC 1071 checksum) and address text. */
#include "packet.h"

#include <stdio.h>

static const char *const drop_names[DROP_COUNT] = {
    [DROP_NOT_BINARY] = "not_binary",   [DROP_MALFORMED] = "malformed",
    [DROP_CHECKSUM] = "bad_checksum",   [DROP_TOO_BIG] = "too_big",
    [DROP_SPOOFED] = "spoofed",         [DROP_PEER] = "peer",
    [DROP_NO_ROUTE] = "no_route",       [DROP_RATE_LIMIT] = "rate_limit",
    [DROP_QUEUE_FULL] = "queue_full",   [DROP_FAULT_LOSS] = "fault_loss",
    [DROP_WRITE_ERROR] = "write_error", [DROP_BAD_BATCH] = "bad_batch",
};

const char *relay_drop_name(enum relay_drop d)
{
    return d >= 0 && d < DROP_COUNT ? drop_names[d] : "none";
}

uint16_t ipv4_checksum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    size_t i = 0;
    for (; i + 1 < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (i < n)
        sum += (uint32_t)p[i] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

enum relay_drop ipv4_check(const uint8_t *p, size_t len)
{
    if (len < 20 || (p[0] >> 4) != 4)
        return DROP_MALFORMED;
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    size_t total = (size_t)p[2] << 8 | p[3];
    if (ihl < 20 || ihl > len || total != len)
        return DROP_MALFORMED;
    if (ipv4_checksum(p, ihl) != 0)
        return DROP_CHECKSUM;
    return DROP_NONE;
}

char *ipv4_format(uint32_t a, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", (unsigned)(a >> 24), (unsigned)(a >> 16 & 255),
             (unsigned)(a >> 8 & 255), (unsigned)(a & 255));
    return out;
}

int ipv4_parse(const char *s, uint32_t *out)
{
    uint32_t a = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0 && *s++ != '.')
            return -1;
        if (*s < '0' || *s > '9')
            return -1;
        unsigned v = 0, digits = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (unsigned)(*s++ - '0');
            if (++digits > 3 || v > 255)
                return -1;
        }
        a = a << 8 | v;
    }
    if (*s)
        return -1;
    *out = a;
    return 0;
}
