/* nat.c: forwarding with network address and port translation (RFC 3022 NAPT; mapping and
 * timeouts after RFC 4787 and 5382): connection tracking for TCP, UDP and ICMP echo, ICMP
 * errors translated with their quoted headers, incremental checksums (RFC 1624), TTL,
 * MSS clamping, fragmentation-needed, and port forwards. */
#include <string.h>

#include "internal.h"

enum {
    NAT_SWEEP_MS = 10000,     /* expired flows are freed at least this often */
    NAT_RST_MS = 10000,       /* a flow after a RST */
    NAT_UNREPLIED_UDP_MS = 30000,
};
enum nat_tcp { NT_NONE = 0, NT_SYN, NT_EST, NT_FIN, NT_CLOSED };
enum {
    NF_REPLIED = 1,           /* a packet came back the other way */
    NF_FORWARD = 2,           /* made by a port forward (it began outside) */
};

typedef struct nat_flow {
    uint8_t in_use, proto, state, flags;
    uint32_t in_addr, rem_addr;        /* the inside host, the remote one */
    uint32_t via;                      /* DNS: the inside address the host asked (0: none) */
    uint16_t in_port, rem_port, out_port; /* ICMP echo: identifiers in in_port/out_port */
    uint64_t expires;
    uint32_t next_out, next_in;        /* hash chains (free flows: next_out links the free list) */
    uint32_t older, newer;             /* least recently used first */
} nat_flow;

typedef struct nat_fwd {
    uint8_t proto;
    uint16_t out_port, in_port;
    uint32_t in_addr;
} nat_fwd;

struct nat_table {
    wtcp_nat_config cfg;
    uint8_t outside;
    nat_flow *f;
    uint32_t cap, count, free_head;
    uint32_t *h_out, *h_in, mask;
    uint32_t oldest, newest;
    nat_fwd fwd[WTCP_NAT_MAX_FORWARDS];
    uint32_t nfwd;
    uint32_t dns;                      /* the resolver port 53 of inside addresses goes to */
    uint64_t next_sweep;
};

/* ---- checksums (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')) ---- */

static void sum_fix16(uint8_t *sum, uint16_t old, uint16_t new_)
{
    uint32_t s = (uint16_t)~wire_get16(sum) + (uint32_t)(uint16_t)~old + new_;
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    wire_put16(sum, (uint16_t)~s);
}

static void sum_fix32(uint8_t *sum, uint32_t old, uint32_t new_)
{
    sum_fix16(sum, (uint16_t)(old >> 16), (uint16_t)(new_ >> 16));
    sum_fix16(sum, (uint16_t)old, (uint16_t)new_);
}

/* Where a packet's transport checksum is, when it covers the pseudo-header and is in use. */
static uint8_t *l4_sum(uint8_t proto, uint8_t *l4, size_t len)
{
    if (proto == WIRE_PROTO_TCP && len >= 18)
        return l4 + 16;
    if (proto == WIRE_PROTO_UDP && len >= 8 && wire_get16(l4 + 6) != 0)
        return l4 + 6;
    return NULL;
}

static void udp_sum_nonzero(uint8_t proto, uint8_t *l4sum)
{
    if (proto == WIRE_PROTO_UDP && l4sum && wire_get16(l4sum) == 0)
        wire_put16(l4sum, 0xffff); /* zero means "none" on the wire (RFC 768) */
}

/* Rewrites the address at ip + at (12 source, 16 destination) and the sums over it. */
static void set_addr(uint8_t *ip, int at, uint32_t v, uint8_t *l4sum)
{
    uint32_t old = wire_get32(ip + at);
    wire_put32(ip + at, v);
    sum_fix32(ip + 10, old, v);
    if (l4sum)
        sum_fix32(l4sum, old, v);
}

static void set_port(uint8_t *field, uint16_t v, uint8_t *sum)
{
    uint16_t old = wire_get16(field);
    wire_put16(field, v);
    if (sum)
        sum_fix16(sum, old, v);
}

/* RFC 4459 / 6691: the MSS a SYN offers, no more than the smaller link can carry. */
static void clamp_mss(uint8_t *tcp, size_t len, uint16_t mss)
{
    size_t hl = (size_t)(tcp[12] >> 4) * 4;
    if (hl < WIRE_TCP_HDR || hl > len)
        return;
    for (size_t o = WIRE_TCP_HDR; o < hl;) {
        uint8_t kind = tcp[o];
        if (kind == 0)
            break;
        if (kind == 1) {
            o++;
            continue;
        }
        if (o + 1 >= hl || tcp[o + 1] < 2 || o + tcp[o + 1] > hl)
            break;
        if (kind == 2 && tcp[o + 1] == 4 && wire_get16(tcp + o + 2) > mss)
            set_port(tcp + o + 2, mss, tcp + 16);
        o += tcp[o + 1];
    }
}

/* ---- the flow table ---- */

static uint32_t nat_hash(const struct nat_table *t, uint8_t proto, uint32_t a, uint16_t pa, uint32_t b, uint16_t pb)
{
    uint32_t h = a * 0x9e3779b1u ^ (b * 0x85ebca6bu);
    h ^= ((uint32_t)pa << 16 | pb) * 0xc2b2ae35u + proto;
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    return h & t->mask;
}

static uint32_t bucket_out(const struct nat_table *t, const nat_flow *f)
{
    return nat_hash(t, f->proto, f->in_addr, f->in_port, f->rem_addr, f->rem_port);
}

static uint32_t bucket_in(const struct nat_table *t, const nat_flow *f)
{
    return nat_hash(t, f->proto, 0, f->out_port, f->rem_addr, f->rem_port);
}

static void lru_unlink(struct nat_table *t, uint32_t i)
{
    nat_flow *f = &t->f[i];
    if (f->older != WTCP_NONE)
        t->f[f->older].newer = f->newer;
    else
        t->oldest = f->newer;
    if (f->newer != WTCP_NONE)
        t->f[f->newer].older = f->older;
    else
        t->newest = f->older;
}

static void lru_push(struct nat_table *t, uint32_t i)
{
    nat_flow *f = &t->f[i];
    f->newer = WTCP_NONE;
    f->older = t->newest;
    if (t->newest != WTCP_NONE)
        t->f[t->newest].newer = i;
    else
        t->oldest = i;
    t->newest = i;
}

static void chain_remove(struct nat_table *t, uint32_t *head, uint32_t i, int in)
{
    uint32_t *link = head;
    while (*link != WTCP_NONE) {
        nat_flow *f = &t->f[*link];
        if (*link == i) {
            *link = in ? f->next_in : f->next_out;
            return;
        }
        link = in ? &f->next_in : &f->next_out;
    }
}

static void flow_free(struct nat_table *t, uint32_t i)
{
    nat_flow *f = &t->f[i];
    chain_remove(t, &t->h_out[bucket_out(t, f)], i, 0);
    chain_remove(t, &t->h_in[bucket_in(t, f)], i, 1);
    lru_unlink(t, i);
    f->in_use = 0;
    f->next_out = t->free_head;
    t->free_head = i;
    t->count--;
}

static int expired(const wtcp_stack *st, const nat_flow *f) { return f->expires <= st->now; }

static uint32_t find_out(const wtcp_stack *st, struct nat_table *t, uint8_t proto, uint32_t in_addr,
                         uint16_t in_port, uint32_t rem_addr, uint16_t rem_port)
{
    uint32_t i = t->h_out[nat_hash(t, proto, in_addr, in_port, rem_addr, rem_port)];
    for (; i != WTCP_NONE; i = t->f[i].next_out) {
        const nat_flow *f = &t->f[i];
        if (f->proto == proto && f->in_addr == in_addr && f->in_port == in_port && f->rem_addr == rem_addr &&
            f->rem_port == rem_port)
            break;
    }
    if (i != WTCP_NONE && expired(st, &t->f[i])) {
        flow_free(t, i);
        return WTCP_NONE;
    }
    return i;
}

static uint32_t find_in(const wtcp_stack *st, struct nat_table *t, uint8_t proto, uint16_t out_port,
                        uint32_t rem_addr, uint16_t rem_port)
{
    uint32_t i = t->h_in[nat_hash(t, proto, 0, out_port, rem_addr, rem_port)];
    for (; i != WTCP_NONE; i = t->f[i].next_in) {
        const nat_flow *f = &t->f[i];
        if (f->proto == proto && f->out_port == out_port && f->rem_addr == rem_addr && f->rem_port == rem_port)
            break;
    }
    if (i != WTCP_NONE && expired(st, &t->f[i])) {
        flow_free(t, i);
        return WTCP_NONE;
    }
    return i;
}

static void sweep(wtcp_stack *st, struct nat_table *t)
{
    for (uint32_t i = t->oldest, next; i != WTCP_NONE; i = next) {
        next = t->f[i].newer;
        if (expired(st, &t->f[i]))
            flow_free(t, i);
    }
    t->next_sweep = st->now + NAT_SWEEP_MS;
}

static int assured(const nat_flow *f)
{
    return (f->flags & NF_REPLIED) && (f->proto != WIRE_PROTO_TCP || f->state == NT_EST);
}

/* A free flow: expired ones first, then the least recently used one not yet assured
 * (Linux's early_drop); WTCP_NONE when every flow is live and assured. */
static uint32_t flow_take(wtcp_stack *st, struct nat_table *t)
{
    if (t->free_head == WTCP_NONE)
        sweep(st, t);
    if (t->free_head == WTCP_NONE) {
        uint32_t i = t->oldest;
        while (i != WTCP_NONE && assured(&t->f[i]))
            i = t->f[i].newer;
        if (i == WTCP_NONE)
            return WTCP_NONE;
        flow_free(t, i);
        st->stats.nat_evicted++;
    }
    uint32_t i = t->free_head;
    t->free_head = t->f[i].next_out;
    return i;
}

/* Whether out_port is free for a new mapping of proto toward rem_addr:rem_port: no flow
 * holds it, no forward, no socket of the stack's on it (on the outside address). */
static int port_free(const wtcp_stack *st, struct nat_table *t, uint8_t proto, uint16_t port, uint32_t rem_addr,
                     uint16_t rem_port)
{
    if (find_in(st, t, proto, port, rem_addr, rem_port) != WTCP_NONE)
        return 0;
    for (uint32_t k = 0; k < t->nfwd; k++)
        if (t->fwd[k].proto == proto && t->fwd[k].out_port == port)
            return 0;
    if (proto == WIRE_PROTO_ICMP)
        return 1;
    for (uint32_t i = port_first(st, port); i != WTCP_NONE; i = st->socks[i].port_next)
        if (st->socks[i].in_use && st->socks[i].lport == port &&
            (st->socks[i].type == WTCP_SOCK_DGRAM) == (proto == WIRE_PROTO_UDP))
            return 0;
    return 1;
}

static uint32_t flow_new(wtcp_stack *st, struct nat_table *t, uint8_t proto, uint32_t in_addr, uint16_t in_port,
                         uint32_t rem_addr, uint16_t rem_port, uint16_t out_port)
{
    if (out_port == 0) { /* a port from the range, starting where a keyed hash says */
        uint32_t range = (uint32_t)t->cfg.port_hi - t->cfg.port_lo + 1;
        uint8_t key[13];
        wire_put32(key, in_addr);
        wire_put16(key + 4, in_port);
        wire_put32(key + 6, rem_addr);
        wire_put16(key + 10, rem_port);
        key[12] = proto;
        uint32_t start = (uint32_t)(wtcp_siphash(st->cfg.isn_key, key, sizeof key) % range);
        for (uint32_t k = 0; k < range && !out_port; k++) {
            uint16_t p = (uint16_t)(t->cfg.port_lo + (start + k) % range);
            if (port_free(st, t, proto, p, rem_addr, rem_port))
                out_port = p;
        }
        if (!out_port) {
            stack_drop(st, WTCP_DROP_NAT_NO_PORT);
            return WTCP_NONE;
        }
    }
    uint32_t i = flow_take(st, t);
    if (i == WTCP_NONE) {
        stack_drop(st, WTCP_DROP_NAT_TABLE_FULL);
        return WTCP_NONE;
    }
    nat_flow *f = &t->f[i];
    memset(f, 0, sizeof *f);
    f->in_use = 1;
    f->proto = proto;
    f->in_addr = in_addr;
    f->in_port = in_port;
    f->rem_addr = rem_addr;
    f->rem_port = rem_port;
    f->out_port = out_port;
    f->expires = st->now + 1;
    uint32_t b = bucket_out(t, f);
    f->next_out = t->h_out[b];
    t->h_out[b] = i;
    b = bucket_in(t, f);
    f->next_in = t->h_in[b];
    t->h_in[b] = i;
    lru_push(t, i);
    t->count++;
    return i;
}

/* A packet of flow i went by (out: from the inside): its state and timeout. */
static void flow_seen(wtcp_stack *st, struct nat_table *t, uint32_t i, int out, uint8_t tcp_flags)
{
    nat_flow *f = &t->f[i];
    int from_originator = out != ((f->flags & NF_FORWARD) != 0);
    if (!from_originator)
        f->flags |= NF_REPLIED;
    uint64_t ms;
    if (f->proto == WIRE_PROTO_TCP) {
        if (tcp_flags & WIRE_TCP_RST)
            f->state = NT_CLOSED;
        else if (tcp_flags & WIRE_TCP_FIN)
            f->state = f->state == NT_CLOSED ? NT_CLOSED : NT_FIN;
        else if ((tcp_flags & WIRE_TCP_SYN) && f->state == NT_NONE)
            f->state = NT_SYN;
        else if (f->state == NT_SYN && (f->flags & NF_REPLIED) && !(tcp_flags & WIRE_TCP_SYN))
            f->state = NT_EST;
        ms = f->state == NT_CLOSED ? NAT_RST_MS
             : f->state == NT_EST  ? (uint64_t)t->cfg.tcp_established_s * 1000
                                   : (uint64_t)t->cfg.tcp_transitory_s * 1000;
    } else if (f->proto == WIRE_PROTO_UDP) {
        ms = (f->flags & NF_REPLIED) ? (uint64_t)t->cfg.udp_s * 1000 : NAT_UNREPLIED_UDP_MS;
    } else {
        ms = (uint64_t)t->cfg.icmp_s * 1000;
    }
    f->expires = st->now + ms;
    lru_unlink(t, i);
    lru_push(t, i);
}

/* ---- forwarding ---- */

/* Copies the packet into st->tx (room for a link header before it) with its TTL lowered;
 * sends time exceeded or fragmentation needed instead when it cannot go on. */
static uint8_t *forward_copy(wtcp_stack *st, const wire_ipv4 *ip, uint8_t out_if)
{
    if (ip->ttl <= 1) {
        stack_drop(st, WTCP_DROP_NAT_TTL);
        icmp_send_error(st, WIRE_ICMP_TIME_EXCEEDED, 0, 0, ip);
        return NULL;
    }
    uint16_t mtu = st->ifs[out_if].mtu;
    if (ip->total_len > mtu) { /* no fragmentation here: say so, or drop (DF clear) */
        stack_drop(st, WTCP_DROP_NAT_TOO_BIG);
        if (ip->frag & WIRE_IP_DF)
            icmp_send_error(st, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, mtu, ip);
        return NULL;
    }
    uint8_t *p = st->tx;
    memcpy(p, ip->payload - ip->hdr_len, ip->total_len);
    uint16_t old = wire_get16(p + 8);
    p[8]--;
    sum_fix16(p + 10, old, wire_get16(p + 8));
    return p;
}

static uint16_t link_mss(const wtcp_stack *st, uint8_t a, uint8_t b)
{
    uint16_t m = st->ifs[a].mtu < st->ifs[b].mtu ? st->ifs[a].mtu : st->ifs[b].mtu;
    return (uint16_t)(m - WIRE_IPV4_HDR - WIRE_TCP_HDR);
}

/* An ICMP error whose quoted datagram belongs to flow i (from the outside when in): the
 * quoted inner header is rewritten as the outer one is, and the ICMP sum recomputed. */
static void icmp_error_rewrite(const nat_flow *f, uint8_t *icmp, size_t icmp_len, int in, uint32_t outside_addr)
{
    uint8_t *q = icmp + WIRE_ICMP_HDR;
    size_t qhl = (size_t)(q[0] & 15) * 4;
    uint8_t *ql4 = q + qhl;
    size_t qlen = icmp_len - WIRE_ICMP_HDR - qhl;
    uint8_t *qsum = f->proto == WIRE_PROTO_UDP && qlen >= 8 && wire_get16(ql4 + 6) ? ql4 + 6 : NULL;
    uint8_t *qport = f->proto == WIRE_PROTO_ICMP ? ql4 + 4 : in ? ql4 : ql4 + 2; /* an echo: its id */
    if (in) { /* quoted: from us (outside) to the remote: make it from the inside host */
        set_addr(q, 12, f->in_addr, qsum);
        set_port(qport, f->in_port, qsum);
        if (f->via)
            set_addr(q, 16, f->via, qsum); /* to the address it asked */
    } else { /* quoted: from the remote to the inside host: make it to us */
        set_addr(q, 16, outside_addr, qsum);
        set_port(qport, f->out_port, qsum);
    }
    udp_sum_nonzero(f->proto, qsum);
    wire_put16(icmp + 2, 0);
    wire_put16(icmp + 2, wire_fold(wire_sum(icmp, icmp_len, 0)));
}

/* The quoted datagram of an ICMP error: its protocol and ports, or 0 when too short. */
static int quoted(const wire_ipv4 *ip, uint8_t *proto, uint32_t *qsrc, uint32_t *qdst, uint16_t *sport,
                  uint16_t *dport)
{
    const uint8_t *q = ip->payload + WIRE_ICMP_HDR;
    size_t len = ip->payload_len - WIRE_ICMP_HDR;
    if (ip->payload_len < WIRE_ICMP_HDR + WIRE_IPV4_HDR + 8 || (q[0] >> 4) != 4)
        return 0;
    size_t hl = (size_t)(q[0] & 15) * 4;
    if (hl < WIRE_IPV4_HDR || hl + 8 > len)
        return 0;
    *proto = q[9];
    *qsrc = wire_get32(q + 12);
    *qdst = wire_get32(q + 16);
    *sport = wire_get16(q + hl);
    *dport = wire_get16(q + hl + 2);
    if (*proto == WIRE_PROTO_ICMP) { /* an echo's identifier stands for both ports */
        *sport = *dport = wire_get16(q + hl + 4);
        if (q[hl] != WIRE_ICMP_ECHO_REQUEST && q[hl] != WIRE_ICMP_ECHO_REPLY)
            return 0;
    }
    return *proto == WIRE_PROTO_TCP || *proto == WIRE_PROTO_UDP || *proto == WIRE_PROTO_ICMP;
}

static int is_icmp_error(uint8_t type)
{
    return type == WIRE_ICMP_DEST_UNREACH || type == WIRE_ICMP_TIME_EXCEEDED || type == 12;
}

/* From an inside interface to a destination beyond the outside one (dst: where it goes,
 * which differs from ip->dst only for DNS sent to our inside address, via). */
static void nat_outbound(wtcp_stack *st, struct nat_table *t, uint8_t in_if, const wire_ipv4 *ip, uint32_t nexthop,
                         uint32_t dst, uint32_t via)
{
    const wtcp_if *fi = &st->ifs[in_if];
    uint32_t outside_addr = st->ifs[t->outside].addr;
    if ((ip->src & fi->mask) != (fi->addr & fi->mask) || ip->src == fi->addr) {
        stack_drop(st, WTCP_DROP_IP_BAD_SRC); /* not from the inside prefix: spoofed */
        return;
    }
    const uint8_t *l4 = ip->payload;
    size_t l4len = ip->payload_len;
    uint8_t proto = ip->proto, flags = 0;
    uint32_t i;
    int icmp_error = 0;
    uint16_t sport, dport;
    if (proto == WIRE_PROTO_TCP || proto == WIRE_PROTO_UDP) {
        if (l4len < (proto == WIRE_PROTO_TCP ? WIRE_TCP_HDR : WIRE_UDP_HDR)) {
            stack_drop(st, proto == WIRE_PROTO_TCP ? WTCP_DROP_TCP_MALFORMED : WTCP_DROP_UDP_MALFORMED);
            return;
        }
        sport = wire_get16(l4);
        dport = wire_get16(l4 + 2);
        flags = proto == WIRE_PROTO_TCP ? l4[13] : 0;
        i = find_out(st, t, proto, ip->src, sport, dst, dport);
        if (i == WTCP_NONE) {
            if (proto == WIRE_PROTO_TCP && (flags & (WIRE_TCP_SYN | WIRE_TCP_ACK | WIRE_TCP_RST)) != WIRE_TCP_SYN) {
                stack_drop(st, WTCP_DROP_NAT_NO_FLOW);
                return;
            }
            i = flow_new(st, t, proto, ip->src, sport, dst, dport, 0);
            if (i != WTCP_NONE)
                t->f[i].via = via;
        }
    } else if (proto == WIRE_PROTO_ICMP && l4len >= WIRE_ICMP_HDR && l4[0] == WIRE_ICMP_ECHO_REQUEST) {
        sport = wire_get16(l4 + 4);
        i = find_out(st, t, proto, ip->src, sport, ip->dst, 0);
        if (i == WTCP_NONE)
            i = flow_new(st, t, proto, ip->src, sport, ip->dst, 0, 0);
    } else if (proto == WIRE_PROTO_ICMP && l4len >= WIRE_ICMP_HDR && is_icmp_error(l4[0])) {
        /* The inside host's error about a packet that came in (a forward, or a reply). */
        uint8_t qp;
        uint32_t qs, qd;
        if (!quoted(ip, &qp, &qs, &qd, &sport, &dport) || qd != ip->src) {
            stack_drop(st, WTCP_DROP_NAT_UNSUPPORTED);
            return;
        }
        i = find_out(st, t, qp, qd, dport, qs, qp == WIRE_PROTO_ICMP ? 0 : sport);
        icmp_error = 1;
    } else {
        stack_drop(st, WTCP_DROP_NAT_UNSUPPORTED);
        return;
    }
    if (i == WTCP_NONE) {
        if (icmp_error)
            stack_drop(st, WTCP_DROP_NAT_UNSUPPORTED);
        return; /* the reason was counted */
    }
    uint8_t *p = forward_copy(st, ip, t->outside);
    if (!p)
        return;
    nat_flow *f = &t->f[i];
    uint8_t *pl4 = p + ip->hdr_len;
    if (icmp_error) {
        icmp_error_rewrite(f, pl4, l4len, 0, outside_addr);
        set_addr(p, 12, outside_addr, NULL);
    } else if (proto == WIRE_PROTO_ICMP) {
        set_addr(p, 12, outside_addr, NULL);
        set_port(pl4 + 4, f->out_port, pl4 + 2);
        flow_seen(st, t, i, 1, 0);
    } else {
        uint8_t *sum = l4_sum(proto, pl4, l4len);
        set_addr(p, 12, outside_addr, sum);
        set_port(pl4, f->out_port, sum);
        if (f->via)
            set_addr(p, 16, f->rem_addr, sum);
        if (proto == WIRE_PROTO_TCP && (flags & WIRE_TCP_SYN))
            clamp_mss(pl4, l4len, link_mss(st, in_if, t->outside));
        udp_sum_nonzero(proto, sum);
        flow_seen(st, t, i, 1, flags);
    }
    st->stats.nat_out++;
    if_output(st, t->outside, nexthop, p, ip->total_len);
}

/* From the outside to our outside address: 1 when it was a flow's (or a forward's) and
 * went on to the inside, 0 when it is the stack's own. */
static int nat_inbound(wtcp_stack *st, struct nat_table *t, const wire_ipv4 *ip)
{
    const uint8_t *l4 = ip->payload;
    size_t l4len = ip->payload_len;
    uint8_t proto = ip->proto, flags = 0;
    uint32_t i = WTCP_NONE;
    int icmp_error = 0;
    uint16_t sport, dport;
    if (proto == WIRE_PROTO_TCP || proto == WIRE_PROTO_UDP) {
        if (l4len < (proto == WIRE_PROTO_TCP ? WIRE_TCP_HDR : WIRE_UDP_HDR))
            return 0;
        sport = wire_get16(l4);
        dport = wire_get16(l4 + 2);
        flags = proto == WIRE_PROTO_TCP ? l4[13] : 0;
        i = find_in(st, t, proto, dport, ip->src, sport);
        if (i == WTCP_NONE) {
            for (uint32_t k = 0; k < t->nfwd; k++) {
                const nat_fwd *w = &t->fwd[k];
                if (w->proto != proto || w->out_port != dport)
                    continue;
                if (proto == WIRE_PROTO_TCP && (flags & (WIRE_TCP_SYN | WIRE_TCP_ACK | WIRE_TCP_RST)) != WIRE_TCP_SYN) {
                    stack_drop(st, WTCP_DROP_NAT_NO_FLOW);
                    return 1;
                }
                i = flow_new(st, t, proto, w->in_addr, w->in_port, ip->src, sport, dport);
                if (i == WTCP_NONE)
                    return 1;
                t->f[i].flags |= NF_FORWARD;
                break;
            }
        }
    } else if (proto == WIRE_PROTO_ICMP && l4len >= WIRE_ICMP_HDR && l4[0] == WIRE_ICMP_ECHO_REPLY) {
        i = find_in(st, t, proto, wire_get16(l4 + 4), ip->src, 0);
    } else if (proto == WIRE_PROTO_ICMP && l4len >= WIRE_ICMP_HDR && is_icmp_error(l4[0])) {
        uint8_t qp;
        uint32_t qs, qd;
        if (quoted(ip, &qp, &qs, &qd, &sport, &dport) && qs == ip->dst)
            i = find_in(st, t, qp, sport, qd, qp == WIRE_PROTO_ICMP ? 0 : dport);
        icmp_error = 1;
    }
    if (i == WTCP_NONE)
        return 0;
    nat_flow *f = &t->f[i];
    uint32_t nexthop;
    uint8_t out = if_route(st, f->in_addr, &nexthop);
    if (out == IF_NONE || out == t->outside)
        return 0; /* the inside is gone (an interface changed): the stack's to answer */
    uint8_t *p = forward_copy(st, ip, out);
    if (!p)
        return 1;
    uint8_t *pl4 = p + ip->hdr_len;
    if (icmp_error) {
        icmp_error_rewrite(f, pl4, l4len, 1, 0);
        set_addr(p, 16, f->in_addr, NULL);
    } else if (proto == WIRE_PROTO_ICMP) {
        set_addr(p, 16, f->in_addr, NULL);
        set_port(pl4 + 4, f->in_port, pl4 + 2);
        flow_seen(st, t, i, 0, 0);
    } else {
        uint8_t *sum = l4_sum(proto, pl4, l4len);
        set_addr(p, 16, f->in_addr, sum);
        set_port(pl4 + 2, f->in_port, sum);
        if (f->via)
            set_addr(p, 12, f->via, sum); /* the answer comes from the address asked */
        if (proto == WIRE_PROTO_TCP && (flags & WIRE_TCP_SYN))
            clamp_mss(pl4, l4len, link_mss(st, out, t->outside));
        udp_sum_nonzero(proto, sum);
        flow_seen(st, t, i, 0, flags);
    }
    st->stats.nat_in++;
    if_output(st, out, nexthop, p, ip->total_len);
    return 1;
}

int nat_input(wtcp_stack *st, uint8_t ifx, const wire_ipv4 *ip)
{
    struct nat_table *t = st->nat;
    if (ifx == t->outside)
        return ip->dst == st->ifs[ifx].addr ? nat_inbound(st, t, ip) : 0;
    uint32_t nexthop;
    uint8_t local = if_local(st, ip->dst);
    if (local != IF_NONE) { /* for the gateway itself, unless it is DNS and a resolver is set */
        if (!t->dns || local == t->outside || (ip->proto != WIRE_PROTO_UDP && ip->proto != WIRE_PROTO_TCP) ||
            ip->payload_len < 4 || wire_get16(ip->payload + 2) != 53 ||
            if_route(st, t->dns, &nexthop) != t->outside)
            return 0;
        nat_outbound(st, t, ifx, ip, nexthop, t->dns, ip->dst);
        return 1;
    }
    if (if_route(st, ip->dst, &nexthop) != t->outside)
        return 0; /* only inside -> outside is forwarded */
    nat_outbound(st, t, ifx, ip, nexthop, ip->dst, 0);
    return 1;
}

uint64_t nat_poll(wtcp_stack *st)
{
    struct nat_table *t = st->nat;
    if (!t->count)
        return WTCP_NEVER;
    if (st->now >= t->next_sweep)
        sweep(st, t);
    return t->count ? t->next_sweep : WTCP_NEVER;
}

uint32_t nat_flow_count(const wtcp_stack *st) { return st->nat ? st->nat->count : 0; }

/* ---- configuration ---- */

void wtcp_nat_config_init(wtcp_nat_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->max_entries = 4096;
    cfg->port_lo = 61000;
    cfg->port_hi = 65535;
    cfg->tcp_established_s = 7440;
    cfg->tcp_transitory_s = 240;
    cfg->udp_s = 300;
    cfg->icmp_s = 60;
}

void nat_free(wtcp_stack *st)
{
    if (!st->nat)
        return;
    wtcp_mem_free(st, st->nat->f);
    wtcp_mem_free(st, st->nat->h_out);
    wtcp_mem_free(st, st->nat);
    st->nat = NULL;
}

int wtcp_nat_enable(wtcp_stack *st, int outside, const wtcp_nat_config *cfg)
{
    if (!st || !cfg || outside < 0 || outside >= st->nifs || !st->ifs[outside].link || !st->ifs[outside].addr ||
        cfg->max_entries == 0 || cfg->max_entries > (1u << 20) || cfg->port_lo == 0 || cfg->port_lo > cfg->port_hi ||
        !cfg->tcp_established_s || !cfg->tcp_transitory_s || !cfg->udp_s || !cfg->icmp_s)
        return WTCP_EINVAL;
    uint32_t buckets = 16;
    while (buckets < cfg->max_entries)
        buckets <<= 1;
    struct nat_table *t = wtcp_mem_alloc(st, sizeof *t);
    nat_flow *f = wtcp_mem_alloc(st, sizeof *f * cfg->max_entries);
    uint32_t *h = wtcp_mem_alloc(st, sizeof *h * 2 * (size_t)buckets);
    if (!t || !f || !h) {
        wtcp_mem_free(st, t);
        wtcp_mem_free(st, f);
        wtcp_mem_free(st, h);
        return WTCP_ENOMEM;
    }
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    t->outside = (uint8_t)outside;
    t->f = f;
    t->cap = cfg->max_entries;
    t->h_out = h;
    t->h_in = h + buckets;
    t->mask = buckets - 1;
    for (uint32_t i = 0; i < 2 * buckets; i++)
        h[i] = WTCP_NONE;
    for (uint32_t i = 0; i < t->cap; i++) {
        f[i].in_use = 0;
        f[i].next_out = i + 1 < t->cap ? i + 1 : WTCP_NONE;
    }
    t->free_head = 0;
    t->oldest = t->newest = WTCP_NONE;
    if (st->nat) { /* the forwards and the resolver stay */
        memcpy(t->fwd, st->nat->fwd, sizeof t->fwd);
        t->nfwd = st->nat->nfwd;
        t->dns = st->nat->dns;
        nat_free(st);
    }
    st->nat = t;
    return 0;
}

int wtcp_nat_forward(wtcp_stack *st, int proto, uint16_t outside_port, uint32_t inside_addr, uint16_t inside_port)
{
    if (!st || !st->nat || (proto != WTCP_PROTO_TCP && proto != WTCP_PROTO_UDP) || !outside_port || !inside_port)
        return WTCP_EINVAL;
    struct nat_table *t = st->nat;
    uint32_t nexthop;
    uint8_t via = if_route(st, inside_addr, &nexthop);
    if (via == IF_NONE || via == t->outside || if_local(st, inside_addr) != IF_NONE)
        return WTCP_EINVAL;
    for (uint32_t k = 0; k < t->nfwd; k++)
        if (t->fwd[k].proto == proto && t->fwd[k].out_port == outside_port)
            return WTCP_EADDRINUSE;
    if (t->nfwd >= WTCP_NAT_MAX_FORWARDS)
        return WTCP_ENOBUFS;
    nat_fwd *w = &t->fwd[t->nfwd++];
    w->proto = (uint8_t)proto;
    w->out_port = outside_port;
    w->in_addr = inside_addr;
    w->in_port = inside_port;
    return 0;
}

int wtcp_nat_dns(wtcp_stack *st, uint32_t resolver)
{
    uint32_t nexthop;
    if (!st || !st->nat || (resolver && (if_route(st, resolver, &nexthop) != st->nat->outside ||
                                         if_local(st, resolver) != IF_NONE)))
        return WTCP_EINVAL;
    st->nat->dns = resolver;
    return 0;
}

int wtcp_nat_unforward(wtcp_stack *st, int proto, uint16_t outside_port)
{
    if (!st || !st->nat)
        return WTCP_EINVAL;
    struct nat_table *t = st->nat;
    for (uint32_t k = 0; k < t->nfwd; k++) {
        if (t->fwd[k].proto != proto || t->fwd[k].out_port != outside_port)
            continue;
        t->fwd[k] = t->fwd[--t->nfwd];
        for (uint32_t i = t->oldest, next; i != WTCP_NONE; i = next) {
            next = t->f[i].newer;
            if ((t->f[i].flags & NF_FORWARD) && t->f[i].proto == proto && t->f[i].out_port == outside_port)
                flow_free(t, i);
        }
        return 0;
    }
    return WTCP_EINVAL;
}
