/* udp.c: UDP sockets (RFC 768): bind, sendto, recvfrom, checksums, port unreachable. */
#include <string.h>

#include "internal.h"

enum { UDP_REC_HDR = 8 }; /* queue record: addr(4) port(2) len(2) */

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
    sock_slot *s = &st->socks[idx];
    wtcp_ring *q = &s->u.udp.queue;
    if (!q->buf) {
        q->cap = s->rcvbuf_opt < UDP_DEFAULT_QUEUE ? UDP_DEFAULT_QUEUE : s->rcvbuf_opt;
        q->buf = wtcp_mem_alloc(st, q->cap);
        if (!q->buf) {
            q->cap = 0;
            stack_drop(st, WTCP_DROP_UDP_QUEUE_FULL);
            return;
        }
    }
    if (ring_free(q) < UDP_REC_HDR + u.payload_len) {
        stack_drop(st, WTCP_DROP_UDP_QUEUE_FULL);
        return;
    }
    uint8_t rec[UDP_REC_HDR];
    wire_put32(rec, ip->src);
    wire_put16(rec + 4, u.sport);
    wire_put16(rec + 6, (uint16_t)u.payload_len);
    ring_write(q, rec, UDP_REC_HDR);
    ring_write(q, u.payload, (uint32_t)u.payload_len);
    sock_event(st, idx, WTCP_EV_READABLE);
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
    uint8_t *seg = st->tx + WIRE_IPV4_HDR;
    size_t n = wire_udp_emit(seg, s->lport, port, len);
    if (len)
        memcpy(seg + n, buf, len);
    uint32_t src = s->laddr ? s->laddr : if_source_for(st, addr);
    if (src == 0)
        return WTCP_ENETUNREACH;
    wire_l4_checksum(seg, n + len, src, addr, WIRE_PROTO_UDP);
    st->stats.udp_out++;
    ip_send(st, src, addr, WIRE_PROTO_UDP, n + len);
    return (int)len;
}

int udp_recvfrom(wtcp_stack *st, uint32_t idx, void *buf, size_t len, uint32_t *addr, uint16_t *port)
{
    wtcp_ring *q = &st->socks[idx].u.udp.queue;
    if (q->len < UDP_REC_HDR)
        return WTCP_EAGAIN;
    uint8_t rec[UDP_REC_HDR];
    ring_read(q, rec, UDP_REC_HDR);
    uint32_t dlen = wire_get16(rec + 6);
    uint32_t take = dlen < len ? dlen : (uint32_t)len;
    ring_peek(q, 0, buf, take);
    ring_consume(q, dlen);
    if (addr)
        *addr = wire_get32(rec);
    if (port)
        *port = wire_get16(rec + 4);
    if (q->len >= UDP_REC_HDR)
        sock_event(st, idx, WTCP_EV_READABLE);
    return (int)take;
}
