/* udp.c: UDP sockets (RFC 768): bind, sendto, recvfrom, checksums, port unreachable, and
 * the interception socket that takes a guest's datagrams to elsewhere. */
#include <string.h>

#include "internal.h"

enum {
    UDP_REC_HDR = 8,      /* queue record: addr(4) port(2) len(2) */
    UDP_REC_HDR_DST = 14, /* an interception socket's: then the destination, addr(4) port(2) */
};

/* The socket bound to port on laddr (or on every address); laddr 0: any on port. */
static uint32_t udp_find(const wtcp_stack *st, uint32_t laddr, uint16_t port)
{
    uint32_t idx = hash_lookup(st, laddr, port, UDP_HASH_RADDR, 0);
    if (idx != WTCP_NONE && st->socks[idx].type != WTCP_SOCK_DGRAM)
        return WTCP_NONE;
    return idx;
}

void udp_set_bound(wtcp_stack *st, uint32_t idx, uint16_t port)
{
    sock_slot *s = &st->socks[idx];
    sock_bind_port(st, idx, port);
    s->raddr = UDP_HASH_RADDR;
    s->rport = 0;
    hash_insert(st, idx);
}

void udp_free(wtcp_stack *st, sock_slot *s)
{
    wtcp_mem_free(st, s->u.udp.queue.buf);
    memset(&s->u.udp.queue, 0, sizeof s->u.udp.queue);
}

/* Queues a datagram for socket idx (with its destination when it is an interception socket). */
static void udp_queue(wtcp_stack *st, uint32_t idx, const wire_ipv4 *ip, const wire_udp *u)
{
    sock_slot *s = &st->socks[idx];
    wtcp_ring *q = &s->u.udp.queue;
    uint32_t hdr = s->intercepted ? UDP_REC_HDR_DST : UDP_REC_HDR;
    if (!q->buf) {
        q->cap = s->rcvbuf_opt < UDP_DEFAULT_QUEUE ? UDP_DEFAULT_QUEUE : s->rcvbuf_opt;
        q->buf = wtcp_mem_alloc(st, q->cap);
        if (!q->buf) {
            q->cap = 0;
            stack_drop(st, WTCP_DROP_UDP_QUEUE_FULL);
            return;
        }
    }
    if (ring_free(q) < hdr + u->payload_len) {
        stack_drop(st, WTCP_DROP_UDP_QUEUE_FULL);
        return;
    }
    uint8_t rec[UDP_REC_HDR_DST];
    wire_put32(rec, ip->src);
    wire_put16(rec + 4, u->sport);
    wire_put16(rec + 6, (uint16_t)u->payload_len);
    wire_put32(rec + 8, ip->dst);
    wire_put16(rec + 12, u->dport);
    ring_write(q, rec, hdr);
    ring_write(q, u->payload, (uint32_t)u->payload_len);
    sock_event(st, idx, WTCP_EV_READABLE);
}

void udp_input(wtcp_stack *st, const wire_ipv4 *ip)
{
    wire_udp u;
    int r = wire_udp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, &u);
    if (r != WIRE_OK) {
        stack_drop(st, r);
        return;
    }
    st->stats.udp_in++;
    uint32_t idx = udp_find(st, ip->dst, u.dport);
    if (idx == WTCP_NONE) {
        stack_drop(st, WTCP_DROP_UDP_NO_PORT);
        if (if_local(st, ip->dst) != IF_NONE) /* never for a broadcast (RFC 1122 3.2.2) */
            icmp_send_error(st, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_PORT_UNREACH, 0, ip);
        return;
    }
    udp_queue(st, idx, ip, &u);
}

void udp_intercept_input(wtcp_stack *st, uint32_t idx, const wire_ipv4 *ip)
{
    wire_udp u;
    int r = wire_udp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, &u);
    if (r != WIRE_OK) {
        stack_drop(st, r);
        return;
    }
    st->stats.udp_in++;
    udp_queue(st, idx, ip, &u);
}

static int port_free_for_udp(const wtcp_stack *st, uint32_t idx, uint16_t port, const void *ctx)
{
    (void)idx;
    (void)ctx;
    return udp_find(st, 0, port) == WTCP_NONE;
}

int udp_bind_ephemeral(wtcp_stack *st, uint32_t idx)
{
    uint16_t port = sock_ephemeral_port(st, 0, port_free_for_udp, idx, NULL);
    if (port == 0)
        return WTCP_EADDRNOTAVAIL;
    udp_set_bound(st, idx, port);
    return 0;
}

/* A datagram from from:from_port (ours, or a destination an interception socket took). */
int udp_send_from(wtcp_stack *st, const void *buf, size_t len, uint32_t from, uint16_t from_port, uint32_t to,
                  uint16_t to_port)
{
    if (len > st->tx_cap - WIRE_IPV4_HDR - WIRE_UDP_HDR || len > 65507)
        return WTCP_EMSGSIZE;
    uint8_t *seg = st->tx + WIRE_IPV4_HDR;
    size_t n = wire_udp_emit(seg, from_port, to_port, len);
    if (len)
        memcpy(seg + n, buf, len);
    wire_l4_checksum(seg, n + len, from, to, WIRE_PROTO_UDP);
    st->stats.udp_out++;
    int r = ip_send(st, from, to, WIRE_PROTO_UDP, n + len);
    return r < 0 ? r : (int)len;
}

int udp_sendto(wtcp_stack *st, uint32_t idx, const void *buf, size_t len, uint32_t addr, uint16_t port)
{
    sock_slot *s = &st->socks[idx];
    if (port == 0 || addr == 0)
        return WTCP_EINVAL;
    if (len > st->tx_cap - WIRE_IPV4_HDR - WIRE_UDP_HDR || len > 65507)
        return WTCP_EMSGSIZE;
    if (!s->bound) {
        int r = udp_bind_ephemeral(st, idx);
        if (r < 0)
            return r;
    }
    uint32_t src = s->laddr ? s->laddr : if_source_for(st, addr);
    if (src == 0)
        return WTCP_ENETUNREACH;
    return udp_send_from(st, buf, len, src, s->lport, addr, port);
}

int udp_recvfrom(wtcp_stack *st, uint32_t idx, void *buf, size_t len, uint32_t *addr, uint16_t *port,
                 uint32_t *dst, uint16_t *dst_port)
{
    wtcp_ring *q = &st->socks[idx].u.udp.queue;
    uint32_t hdr = st->socks[idx].intercepted ? UDP_REC_HDR_DST : UDP_REC_HDR;
    if (q->len < hdr)
        return WTCP_EAGAIN;
    uint8_t rec[UDP_REC_HDR_DST];
    ring_read(q, rec, hdr);
    if (dst)
        *dst = hdr == UDP_REC_HDR_DST ? wire_get32(rec + 8) : 0;
    if (dst_port)
        *dst_port = hdr == UDP_REC_HDR_DST ? wire_get16(rec + 12) : 0;
    uint32_t dlen = wire_get16(rec + 6);
    uint32_t take = dlen < len ? dlen : (uint32_t)len;
    ring_peek(q, 0, buf, take);
    ring_consume(q, dlen);
    if (addr)
        *addr = wire_get32(rec);
    if (port)
        *port = wire_get16(rec + 4);
    if (q->len >= hdr)
        sock_event(st, idx, WTCP_EV_READABLE);
    return (int)take;
}
