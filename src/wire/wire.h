/* wire.h: checked parsing and emission of Ethernet II and ARP (RFC 894, 826), IPv4 (RFC
 * 791), ICMP (RFC 792), UDP (RFC 768), TCP headers with options (RFC 9293, 7323, 2018) and
 * DHCP messages (RFC 2131, 2132), plus the Internet checksum (RFC 1071). */
#ifndef WTCP_WIRE_H
#define WTCP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "wtcp.h"

/* Parsers return WIRE_OK, or the enum wtcp_drop_reason that explains the drop. */
#define WIRE_OK (-1)

/* Big-endian loads and stores; never a cast of a struct onto bytes. */
static inline uint16_t wire_get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t wire_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void wire_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void wire_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* ---- Internet checksum (RFC 1071) ----
 * wire_sum adds the bytes as big-endian 16-bit words to a 32-bit accumulator that
 * callers chain; `len` may be odd only for the last chunk. It reads machine words,
 * never byte by byte. wire_fold folds and complements to the 16-bit checksum. */
uint32_t wire_sum(const uint8_t *p, size_t len, uint32_t acc);
uint16_t wire_fold(uint32_t acc);
/* Pseudo-header sum for TCP/UDP (src, dst host order; len = transport length). */
uint32_t wire_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len);

/* ---- IPv4 ---- */
enum { WIRE_IPV4_HDR = 20, WIRE_PROTO_ICMP = 1, WIRE_PROTO_TCP = 6, WIRE_PROTO_UDP = 17 };
#define WIRE_IP_DF 0x4000u
#define WIRE_IP_MF 0x2000u
#define WIRE_IP_OFFMASK 0x1fffu

typedef struct wire_ipv4 {
    uint8_t hdr_len;      /* bytes, 20..60 */
    uint8_t tos;
    uint16_t total_len;
    uint16_t id;
    uint16_t frag;        /* flags + fragment offset, as on the wire */
    uint8_t ttl;
    uint8_t proto;
    uint32_t src, dst;    /* host order */
    const uint8_t *payload;
    size_t payload_len;   /* total_len - hdr_len (bytes beyond total_len are ignored) */
} wire_ipv4;

/* Validates version, IHL, total length against len, and the header checksum. */
int wire_ipv4_parse(const uint8_t *buf, size_t len, wire_ipv4 *out);
/* Writes a 20-byte header (no options) with its checksum from ip's fields
 * (hdr_len is ignored and taken as 20). Returns 20. */
size_t wire_ipv4_emit(uint8_t *buf, const wire_ipv4 *ip);

/* ---- TCP ---- */
enum {
    WIRE_TCP_HDR = 20,
    WIRE_TCP_FIN = 0x01, WIRE_TCP_SYN = 0x02, WIRE_TCP_RST = 0x04,
    WIRE_TCP_PSH = 0x08, WIRE_TCP_ACK = 0x10, WIRE_TCP_URG = 0x20,
    WIRE_TCP_ECE = 0x40, WIRE_TCP_CWR = 0x80,
    WIRE_TCP_MAX_SACK = 4
};

typedef struct wire_tcp_opts {
    uint8_t has_mss, has_wscale, sack_ok, has_ts;
    uint16_t mss;
    uint8_t wscale;          /* as received (callers clamp to 14) */
    uint32_t ts_val, ts_ecr;
    uint8_t sack_count;      /* blocks in sack[] */
    uint32_t sack[WIRE_TCP_MAX_SACK][2]; /* left edge, right edge */
} wire_tcp_opts;

typedef struct wire_tcp {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t hdr_len;         /* bytes incl. options */
    uint8_t flags;
    uint16_t win;            /* raw, unscaled */
    uint16_t urg;
    wire_tcp_opts opt;
    const uint8_t *payload;
    size_t payload_len;
} wire_tcp;

/* Parses header and options of a segment of len bytes. When check_sum is nonzero
 * the checksum is verified with the pseudo-header of src/dst. Unknown options are
 * skipped; a malformed option list (bad length, running past the header) fails. */
int wire_tcp_parse(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst,
                   int check_sum, wire_tcp *out);
/* Length of the option block that wire_tcp_emit writes for opts (multiple of 4). */
size_t wire_tcp_opts_len(const wire_tcp_opts *opts);
/* Writes header + options in Linux's layout (see wire/tcp.c) with checksum 0;
 * returns the header length. hdr->hdr_len is ignored. */
size_t wire_tcp_emit(uint8_t *buf, const wire_tcp *hdr);
/* Computes and stores the checksum of a TCP or UDP segment already in buf. */
void wire_l4_checksum(uint8_t *seg, size_t len, uint32_t src, uint32_t dst, uint8_t proto);

/* ---- UDP ---- */
enum { WIRE_UDP_HDR = 8 };
typedef struct wire_udp {
    uint16_t sport, dport, len;
    const uint8_t *payload;
    size_t payload_len;
} wire_udp;
/* Validates length field against len and the checksum (0 = none, accepted). */
int wire_udp_parse(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst, wire_udp *out);
/* Writes the 8-byte header for payload_len bytes that follow; checksum via wire_l4_checksum. */
size_t wire_udp_emit(uint8_t *buf, uint16_t sport, uint16_t dport, size_t payload_len);

/* ---- ICMP ---- */
enum {
    WIRE_ICMP_HDR = 8,
    WIRE_ICMP_ECHO_REPLY = 0, WIRE_ICMP_DEST_UNREACH = 3, WIRE_ICMP_ECHO_REQUEST = 8,
    WIRE_ICMP_TIME_EXCEEDED = 11,
    WIRE_ICMP_NET_UNREACH = 0, WIRE_ICMP_HOST_UNREACH = 1, WIRE_ICMP_PROTO_UNREACH = 2,
    WIRE_ICMP_PORT_UNREACH = 3, WIRE_ICMP_FRAG_NEEDED = 4
};
typedef struct wire_icmp {
    uint8_t type, code;
    uint32_t rest;           /* bytes 4..7: id/seq, or unused + next-hop MTU */
    const uint8_t *payload;  /* after the 8-byte header */
    size_t payload_len;
} wire_icmp;
/* Verifies the checksum over all len bytes. */
int wire_icmp_parse(const uint8_t *msg, size_t len, wire_icmp *out);
/* Writes header + copies payload (which may overlap buf), computes checksum; returns length. */
size_t wire_icmp_emit(uint8_t *buf, uint8_t type, uint8_t code, uint32_t rest,
                      const uint8_t *payload, size_t payload_len);

/* ---- Ethernet II (RFC 894) and ARP (RFC 826) ---- */
enum {
    WIRE_ETH_HDR = 14, WIRE_ETH_MIN_FRAME = 60, /* without the FCS */
    WIRE_ETH_IPV4 = 0x0800, WIRE_ETH_ARP = 0x0806,
    WIRE_ARP_LEN = 28, WIRE_ARP_REQUEST = 1, WIRE_ARP_REPLY = 2
};
typedef struct wire_ether {
    const uint8_t *dst, *src; /* 6 bytes each, inside the frame */
    uint16_t type;
    const uint8_t *payload;
    size_t payload_len;       /* to the end of the frame (IPv4 takes its total length) */
} wire_ether;
/* Group (multicast or broadcast) MAC addresses have the low bit of the first byte set. */
static inline int wire_mac_is_group(const uint8_t *mac) { return mac[0] & 1; }
static inline int wire_mac_is_broadcast(const uint8_t *mac)
{
    return (mac[0] & mac[1] & mac[2] & mac[3] & mac[4] & mac[5]) == 0xff;
}
int wire_ether_parse(const uint8_t *frame, size_t len, wire_ether *out);
/* Writes the 14-byte header. */
void wire_ether_emit(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t type);

typedef struct wire_arp {
    uint16_t op;              /* WIRE_ARP_REQUEST or WIRE_ARP_REPLY */
    uint8_t sha[6], tha[6];   /* sender's and target's hardware addresses */
    uint32_t spa, tpa;        /* sender's and target's IPv4 addresses, host order */
} wire_arp;
/* Ethernet/IPv4 ARP only (htype 1, ptype 0x0800, hlen 6, plen 4), op request or reply. */
int wire_arp_parse(const uint8_t *msg, size_t len, wire_arp *out);
/* Writes the 28-byte message; returns 28. */
size_t wire_arp_emit(uint8_t *buf, const wire_arp *arp);

/* ---- DHCP (RFC 2131 section 2, options RFC 2132) ---- */
enum {
    WIRE_DHCP_FIXED = 236,        /* the BOOTP header before the magic cookie */
    WIRE_DHCP_MIN = 240,          /* ... with the cookie */
    WIRE_DHCP_SERVER_PORT = 67, WIRE_DHCP_CLIENT_PORT = 68,
    WIRE_DHCP_BOOTREQUEST = 1, WIRE_DHCP_BOOTREPLY = 2,
    WIRE_DHCP_DISCOVER = 1, WIRE_DHCP_OFFER = 2, WIRE_DHCP_REQUEST = 3, WIRE_DHCP_DECLINE = 4,
    WIRE_DHCP_ACK = 5, WIRE_DHCP_NAK = 6, WIRE_DHCP_RELEASE = 7, WIRE_DHCP_INFORM = 8,
    WIRE_DHCP_FLAG_BROADCAST = 0x8000,
    /* option codes */
    WIRE_DHCPO_PAD = 0, WIRE_DHCPO_SUBNET = 1, WIRE_DHCPO_ROUTER = 3, WIRE_DHCPO_DNS = 6,
    WIRE_DHCPO_HOSTNAME = 12, WIRE_DHCPO_MTU = 26, WIRE_DHCPO_BROADCAST = 28,
    WIRE_DHCPO_REQUESTED = 50, WIRE_DHCPO_LEASE = 51, WIRE_DHCPO_OVERLOAD = 52,
    WIRE_DHCPO_TYPE = 53, WIRE_DHCPO_SERVER = 54, WIRE_DHCPO_MESSAGE = 56, WIRE_DHCPO_T1 = 58,
    WIRE_DHCPO_T2 = 59, WIRE_DHCPO_END = 255
};
typedef struct wire_dhcp {
    uint8_t op, htype, hlen;
    uint32_t xid;
    uint16_t secs, flags;
    uint32_t ciaddr, yiaddr, siaddr, giaddr; /* host order */
    uint8_t chaddr[16];
    uint8_t type;             /* option 53 */
    uint8_t has_requested, has_server;
    uint32_t requested;       /* option 50 */
    uint32_t server;          /* option 54 */
} wire_dhcp;
/* A DHCP message (a BOOTP one without option 53 is refused): the magic cookie, options
 * that each fit the message, 50/53/54 of their right lengths, an END or the message's end. */
int wire_dhcp_parse(const uint8_t *msg, size_t len, wire_dhcp *out);

#endif
