/* packet.h: the relay's IPv4 checks (RFC 791 header, RFC 1071 checksum) and its drop reasons. */
#ifndef WTCP_RELAY_PACKET_H
#define WTCP_RELAY_PACKET_H

#include <stddef.h>
#include <stdint.h>

/* Every reason the relay drops a packet or message; each has a counter. */
enum relay_drop {
    DROP_NONE = -1,
    DROP_NOT_BINARY,  /* a text message where a packet was due */
    DROP_MALFORMED,   /* not IPv4, bad header length, total length != message length */
    DROP_CHECKSUM,    /* IPv4 header checksum wrong */
    DROP_TOO_BIG,     /* longer than the MTU */
    DROP_SPOOFED,     /* source address is not the client's */
    DROP_PEER,        /* client to client, without --allow-peers */
    DROP_NO_ROUTE,    /* from the TUN to an address no client holds */
    DROP_RATE_LIMIT,  /* over --rate-pps or --rate-bytes */
    DROP_QUEUE_FULL,  /* the client's queue is full (slow client) */
    DROP_FAULT_LOSS,  /* fault injection: --loss */
    DROP_WRITE_ERROR, /* the TUN refused the packet */
    DROP_BAD_BATCH,   /* protocol v2: an empty message, a zero length, or a length that
                       * overruns the message (the rest of that message is dropped) */
    DROP_COUNT
};

const char *relay_drop_name(enum relay_drop d);

/* The RFC 1071 checksum of n bytes (the header's own checksum field included: a valid
 * header sums to 0). */
uint16_t ipv4_checksum(const uint8_t *p, size_t n);

/* Checks that p[0..len) is exactly one well-formed IPv4 packet: version 4, header length
 * 20..60 within the packet, total length == len, header checksum right. Returns DROP_NONE,
 * DROP_MALFORMED or DROP_CHECKSUM. */
enum relay_drop ipv4_check(const uint8_t *p, size_t len);

static inline uint32_t ipv4_src(const uint8_t *p)
{
    return (uint32_t)p[12] << 24 | (uint32_t)p[13] << 16 | (uint32_t)p[14] << 8 | p[15];
}

static inline uint32_t ipv4_dst(const uint8_t *p)
{
    return (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 | (uint32_t)p[18] << 8 | p[19];
}

/* "a.b.c.d" into out[16]; returns out. */
char *ipv4_format(uint32_t a, char out[16]);
/* Parses "a.b.c.d" strictly (no leading zeros games, no trailing text). 0 or -1. */
int ipv4_parse(const char *s, uint32_t *out);

#endif
