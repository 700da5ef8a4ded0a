/* ip.c: IPv4 input and output by route (RFC 791, RFC 1122 3.2) and ICMP echo and errors
 * (RFC 792). */
#include <string.h>

#include "internal.h"

int ip_send(wtcp_stack *st, uint32_t src, uint32_t dst, uint8_t proto, size_t l4_len)
{
    uint32_t nexthop;
    uint8_t ifx = if_route(st, dst, &nexthop);
    if (ifx == IF_NONE) {
        stack_drop(st, WTCP_DROP_IP_NO_ROUTE);
        return WTCP_ENETUNREACH;
    }
    ip_send_via(st, ifx, nexthop, src, dst, proto, l4_len);
    return 0;
}

void ip_send_via(wtcp_stack *st, uint8_t ifx, uint32_t nexthop, uint32_t src, uint32_t dst, uint8_t proto,
                 size_t l4_len)
{
    wire_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.total_len = (uint16_t)(WIRE_IPV4_HDR + l4_len);
    ip.id = st->ip_id++;
    ip.frag = WIRE_IP_DF;
    ip.ttl = st->cfg.ttl;
    ip.proto = proto;
    ip.src = src ? src : st->ifs[ifx].addr;
    ip.dst = dst;
    wire_ipv4_emit(st->tx, &ip);
    st->stats.ip_out++;
    st->stats.ip_out_bytes += ip.total_len;
    if_output(st, ifx, nexthop, st->tx, ip.total_len);
}

/* RFC 1812 / 1122: never answer with ICMP to broadcast, multicast or zero sources. */
static int addr_is_unicast(uint32_t a)
{
    return a != 0 && a != 0xffffffffu && (a >> 28) != 0xe && (a >> 24) != 127;
}

void icmp_send_error(wtcp_stack *st, uint8_t type, uint8_t code, uint32_t rest, const wire_ipv4 *orig)
{
    if (!addr_is_unicast(orig->src))
        return;
    /* Quote the original IP header and the first 8 bytes of its payload (RFC 792). */
    const uint8_t *orig_hdr = orig->payload - orig->hdr_len;
    size_t quote = orig->hdr_len + (orig->payload_len < 8 ? orig->payload_len : 8);
    if (WIRE_IPV4_HDR + WIRE_ICMP_HDR + quote > st->tx_cap)
        return;
    size_t n = wire_icmp_emit(st->tx + WIRE_IPV4_HDR, type, code, rest, orig_hdr, quote);
    st->stats.icmp_out++;
    /* From the address the datagram was sent to, when it is ours. */
    ip_send(st, if_local(st, orig->dst) != IF_NONE ? orig->dst : 0, orig->src, WIRE_PROTO_ICMP, n);
}

static void icmp_input(wtcp_stack *st, const wire_ipv4 *ip)
{
    wire_icmp icmp;
    int r = wire_icmp_parse(ip->payload, ip->payload_len, &icmp);
    if (r != WIRE_OK) {
        stack_drop(st, r);
        return;
    }
    st->stats.icmp_in++;
    if (icmp.type == WIRE_ICMP_ECHO_REQUEST) {
        if (!addr_is_unicast(ip->src) || WIRE_IPV4_HDR + ip->payload_len > st->tx_cap) {
            stack_drop(st, WTCP_DROP_ICMP_IGNORED);
            return;
        }
        size_t n = wire_icmp_emit(st->tx + WIRE_IPV4_HDR, WIRE_ICMP_ECHO_REPLY, 0, icmp.rest,
                                  icmp.payload, icmp.payload_len);
        st->stats.icmp_out++;
        ip_send(st, ip->dst, ip->src, WIRE_PROTO_ICMP, n);
        return;
    }
    if (icmp.type == WIRE_ICMP_DEST_UNREACH || icmp.type == WIRE_ICMP_TIME_EXCEEDED) {
        /* The quoted datagram: its IP header, then at least 8 bytes of TCP. */
        wire_ipv4 q;
        const uint8_t *p = icmp.payload;
        size_t len = icmp.payload_len;
        if (len < WIRE_IPV4_HDR || (p[0] >> 4) != 4 || (size_t)(p[0] & 15) * 4 < WIRE_IPV4_HDR ||
            (size_t)(p[0] & 15) * 4 + 8 > len) {
            stack_drop(st, WTCP_DROP_ICMP_MALFORMED);
            return;
        }
        memset(&q, 0, sizeof q);
        q.hdr_len = (uint8_t)((p[0] & 15) * 4);
        q.proto = p[9];
        q.src = wire_get32(p + 12);
        q.dst = wire_get32(p + 16);
        if (if_local(st, q.src) == IF_NONE || q.proto != WIRE_PROTO_TCP) {
            stack_drop(st, WTCP_DROP_ICMP_IGNORED);
            return;
        }
        tcp_icmp_error(st, &icmp, &q, p + q.hdr_len, len - q.hdr_len);
        return;
    }
    stack_drop(st, WTCP_DROP_ICMP_IGNORED);
}

int ip_input(wtcp_stack *st, uint8_t ifx, const void *packet, size_t len)
{
    st->stats.ip_in++;
    st->stats.ip_in_bytes += len;
    wire_ipv4 ip;
    int r = wire_ipv4_parse(packet, len, &ip);
    if (r != WIRE_OK) {
        stack_drop(st, r);
        return WTCP_EPROTO;
    }
    const wtcp_if *f = &st->ifs[ifx];
    int broadcast = ip.dst == 0xffffffffu || (f->addr && f->mask != 0xffffffffu && ip.dst == (f->addr | ~f->mask));
    int local = if_local(st, ip.dst) != IF_NONE;
    if (!broadcast && !local && !st->nat && !f->intercept && !f->intercept_udp) {
        stack_drop(st, WTCP_DROP_IP_NOT_OURS);
        return WTCP_EADDRNOTAVAIL;
    }
    if ((ip.frag & WIRE_IP_MF) || (ip.frag & WIRE_IP_OFFMASK)) {
        /* Fragments are dropped and counted: every peer of ours does path-MTU discovery
         * (DF set, RFC 1191) and TCP never needs them. See docs/CORE.md. */
        stack_drop(st, WTCP_DROP_IP_FRAGMENT);
        return WTCP_EOPNOTSUPP;
    }
    /* A DHCP server hears clients that have no address yet (source 0.0.0.0). */
    if (f->dhcp && ip.proto == WIRE_PROTO_UDP && ip.payload_len >= WIRE_UDP_HDR &&
        wire_get16(ip.payload + 2) == WIRE_DHCP_SERVER_PORT && (broadcast || ip.dst == f->addr)) {
        dhcp_input(st, ifx, &ip);
        return 0;
    }
    if (!addr_is_unicast(ip.src)) {
        stack_drop(st, WTCP_DROP_IP_BAD_SRC);
        return WTCP_EPROTO;
    }
    if (f->intercept && ip.proto == WIRE_PROTO_TCP && !broadcast && !local) {
        tcp_input(st, &ip); /* a guest's TCP to elsewhere: the interception listener's */
        return 0;
    }
    if (f->intercept_udp && ip.proto == WIRE_PROTO_UDP && !broadcast && !local) {
        udp_intercept_input(st, f->intercept_udp - 1, &ip);
        return 0;
    }
    if (st->nat && !broadcast && nat_input(st, ifx, &ip))
        return 0; /* forwarded (or dropped and counted) */
    if (!broadcast && !local) {
        stack_drop(st, WTCP_DROP_IP_NOT_OURS);
        return WTCP_EADDRNOTAVAIL;
    }
    if (broadcast) { /* only UDP sockets take broadcasts, and nothing answers them with ICMP */
        if (ip.proto == WIRE_PROTO_UDP)
            udp_input(st, &ip);
        else
            stack_drop(st, WTCP_DROP_IP_BROADCAST);
        return 0;
    }
    switch (ip.proto) {
    case WIRE_PROTO_TCP:
        tcp_input(st, &ip);
        break;
    case WIRE_PROTO_UDP:
        udp_input(st, &ip);
        break;
    case WIRE_PROTO_ICMP:
        icmp_input(st, &ip);
        break;
    default:
        stack_drop(st, WTCP_DROP_IP_PROTO);
        icmp_send_error(st, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_PROTO_UNREACH, 0, &ip);
        return WTCP_EOPNOTSUPP;
    }
    return 0;
}
