/* tcp_tw.c: TIME-WAIT in compact form (RFC 9293 3.10.7.4 TIME-WAIT, RFC 6191, Linux's
 * inet_timewait_sock): a closed connection keeps 2MSL only what it needs to answer the
 * peer, in a bounded table of its own that recycles its oldest entry when full. */
#include <string.h>

#include "tcp/tcp.h"

enum { TW_START = 64 };

static tcp_tw *tw_at(const wtcp_stack *st, uint32_t i) { return &st->tw.e[i]; }

static uint32_t tw_bucket(const tcp_tw_table *t, uint16_t lport, uint32_t raddr, uint16_t rport)
{
    uint32_t h = raddr * 0x9e3779b1u ^ ((uint32_t)lport << 16 | rport) * 0x85ebca6bu;
    h ^= h >> 15;
    h *= 0xc2b2ae35u;
    h ^= h >> 13;
    return h & t->hash_mask;
}

static uint32_t tw_port_bucket(const tcp_tw_table *t, uint16_t lport) { return (lport * 0x9e3779b1u >> 16) & t->hash_mask; }

/* Onto the chains of its 4-tuple and of its local port. */
static void tw_hash_insert(tcp_tw_table *t, uint32_t i)
{
    tcp_tw *w = &t->e[i];
    uint32_t b = tw_bucket(t, w->lport, w->raddr, w->rport);
    w->hash_next = t->hash[b];
    t->hash[b] = i;
    b = tw_port_bucket(t, w->lport);
    w->port_next = t->ports[b];
    t->ports[b] = i;
}

/* Room for one more entry: doubles the array and the hash (rehashing) up to the bound. */
static int tw_grow(wtcp_stack *st)
{
    tcp_tw_table *t = &st->tw;
    uint32_t max = st->cfg.max_time_wait;
    if (t->cap >= max)
        return -1;
    uint32_t cap = t->cap ? t->cap * 2 : TW_START;
    if (cap > max)
        cap = max;
    uint32_t buckets = 16;
    while (buckets < cap)
        buckets <<= 1;
    tcp_tw *e = wtcp_mem_alloc(st, sizeof *e * cap);
    uint32_t *hash = wtcp_mem_alloc(st, sizeof *hash * buckets * 2); /* 4-tuples, then ports */
    if (!e || !hash) {
        wtcp_mem_free(st, e);
        wtcp_mem_free(st, hash);
        return -1;
    }
    if (t->cap)
        memcpy(e, t->e, sizeof *e * t->cap);
    memset(e + t->cap, 0, sizeof *e * (cap - t->cap));
    for (uint32_t i = t->cap; i < cap; i++)
        e[i].hash_next = i + 1 < cap ? i + 1 : t->free_head; /* free list, new ones first */
    t->free_head = t->cap;
    wtcp_mem_free(st, t->e);
    wtcp_mem_free(st, t->hash);
    t->e = e;
    t->hash = hash;
    t->ports = hash + buckets;
    t->hash_mask = buckets - 1;
    t->cap = cap;
    for (uint32_t b = 0; b < 2 * buckets; b++)
        hash[b] = WTCP_NONE;
    for (uint32_t i = 0; i < cap; i++)
        if (e[i].in_use)
            tw_hash_insert(t, i);
    return 0;
}

/* laddr 0: any local address (the port is the stack's on all of them). */
static uint32_t tw_lookup(const wtcp_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
    const tcp_tw_table *t = &st->tw;
    if (!t->count)
        return WTCP_NONE;
    for (uint32_t i = t->hash[tw_bucket(t, lport, raddr, rport)]; i != WTCP_NONE; i = t->e[i].hash_next) {
        const tcp_tw *w = &t->e[i];
        if (w->lport == lport && w->raddr == raddr && w->rport == rport && (laddr == 0 || w->laddr == laddr))
            return i;
    }
    return WTCP_NONE;
}

static void age_unlink(tcp_tw_table *t, uint32_t i)
{
    tcp_tw *w = &t->e[i];
    if (w->older != WTCP_NONE)
        t->e[w->older].newer = w->newer;
    else
        t->oldest = w->newer;
    if (w->newer != WTCP_NONE)
        t->e[w->newer].older = w->older;
    else
        t->newest = w->older;
}

static void age_append(tcp_tw_table *t, uint32_t i)
{
    tcp_tw *w = &t->e[i];
    w->older = t->newest;
    w->newer = WTCP_NONE;
    if (t->newest != WTCP_NONE)
        t->e[t->newest].newer = i;
    else
        t->oldest = i;
    t->newest = i;
}

/* In expiry order: usually the newest; a socket whose 2MSL was already running when its
 * owner closed it goes further back. */
static void age_insert(tcp_tw_table *t, uint32_t i)
{
    tcp_tw *w = &t->e[i];
    uint32_t after = t->newest;
    while (after != WTCP_NONE && t->e[after].expires > w->expires)
        after = t->e[after].older;
    if (after == t->newest) {
        age_append(t, i);
        return;
    }
    /* Between `after` (or the front) and the one that follows it. */
    uint32_t before = after == WTCP_NONE ? t->oldest : t->e[after].newer;
    w->older = after;
    w->newer = before;
    t->e[before].older = i;
    if (after != WTCP_NONE)
        t->e[after].newer = i;
    else
        t->oldest = i;
}

static void tw_remove(wtcp_stack *st, uint32_t i)
{
    tcp_tw_table *t = &st->tw;
    tcp_tw *w = &t->e[i];
    uint32_t *link = &t->hash[tw_bucket(t, w->lport, w->raddr, w->rport)];
    while (*link != i)
        link = &t->e[*link].hash_next;
    *link = w->hash_next;
    for (link = &t->ports[tw_port_bucket(t, w->lport)]; *link != i;)
        link = &t->e[*link].port_next;
    *link = w->port_next;
    age_unlink(t, i);
    w->in_use = 0;
    w->hash_next = t->free_head;
    t->free_head = i;
    t->count--;
}

/* 2MSL starts over (a retransmitted FIN, an ACK): the entry becomes the newest. */
static void tw_restart(wtcp_stack *st, uint32_t i)
{
    tw_at(st, i)->expires = st->now + st->cfg.time_wait_ms;
    age_unlink(&st->tw, i);
    age_append(&st->tw, i);
}

static void tw_send_ack(wtcp_stack *st, const tcp_tw *w)
{
    wire_tcp h;
    memset(&h, 0, sizeof h);
    h.sport = w->lport;
    h.dport = w->rport;
    h.seq = w->snd_nxt;
    h.ack = w->rcv_nxt;
    h.flags = WIRE_TCP_ACK;
    h.win = w->win;
    if (w->ts_ok) {
        h.opt.has_ts = 1;
        h.opt.ts_val = (uint32_t)st->now + w->ts_offset;
        h.opt.ts_ecr = w->ts_recent;
    }
    uint8_t *out = st->tx + WIRE_IPV4_HDR;
    size_t hlen = wire_tcp_emit(out, &h);
    wire_l4_checksum(out, hlen, w->laddr, w->raddr, WIRE_PROTO_TCP);
    st->stats.tcp_out++;
    ip_send(st, w->laddr, w->raddr, WIRE_PROTO_TCP, hlen);
}

void tcp_tw_enter(wtcp_stack *st, uint32_t idx)
{
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    tcp_tw_table *t = &st->tw;
    uint64_t expires = c->timer[TCP_T_LINGER] ? c->timer[TCP_T_LINGER] : st->now + st->cfg.time_wait_ms;
    uint32_t old = tw_lookup(st, s->laddr, s->lport, s->raddr, s->rport);
    if (old != WTCP_NONE)
        tw_remove(st, old); /* cannot happen (the tuple was a connection's); be safe */
    if (t->free_head == WTCP_NONE && tw_grow(st) < 0) {
        if (t->oldest == WTCP_NONE) {
            tcp_done(st, idx, 0); /* no room at all (max_time_wait 0 or no memory) */
            return;
        }
        tw_remove(st, t->oldest);
        st->stats.tcp_tw_recycled++;
    }
    uint32_t i = t->free_head;
    tcp_tw *w = &t->e[i];
    t->free_head = w->hash_next;
    memset(w, 0, sizeof *w);
    w->laddr = s->laddr;
    w->raddr = s->raddr;
    w->lport = s->lport;
    w->rport = s->rport;
    w->snd_nxt = c->snd_max;
    w->rcv_nxt = c->rcv_nxt;
    w->ts_ok = (c->flags & TF_TS_OK) != 0;
    w->ts_recent = c->ts_recent;
    w->ts_recent_stamp = c->ts_recent_stamp;
    w->ts_offset = c->ts_offset;
    w->win = (uint16_t)(tcp_select_window(c) >> c->rcv_wscale);
    w->expires = expires;
    w->in_use = 1;
    t->count++;
    tw_hash_insert(t, i);
    age_insert(t, i);
    int ack_due = (c->flags & TF_ACK_NOW) || c->last_ack_sent != c->rcv_nxt;
    tcp_done(st, idx, 0); /* the slot and its buffers go now */
    if (ack_due)
        tw_send_ack(st, w);
}

int tcp_tw_input(wtcp_stack *st, const wire_ipv4 *ip, const wire_tcp *seg)
{
    uint32_t i = tw_lookup(st, ip->dst, seg->dport, ip->src, seg->sport);
    if (i == WTCP_NONE)
        return 0;
    tcp_tw *w = tw_at(st, i);
    uint8_t f = seg->flags;
    int paws_reject = w->ts_ok && seg->opt.has_ts && !(f & WIRE_TCP_RST) &&
                      seq_lt(seg->opt.ts_val, w->ts_recent) &&
                      st->now - w->ts_recent_stamp < 24ull * 24 * 3600 * 1000;
    uint32_t seglen = (uint32_t)seg->payload_len + ((f & WIRE_TCP_SYN) ? 1 : 0) + ((f & WIRE_TCP_FIN) ? 1 : 0);
    /* In the window, only an RST or a bare ACK: the RST ends TIME-WAIT (Linux's default,
     * tcp_rfc1337=0, as RFC 9293 says), the ACK restarts 2MSL and draws nothing. */
    if (!paws_reject && seg->seq == w->rcv_nxt && (seglen == 0 || (f & WIRE_TCP_RST))) {
        if (f & WIRE_TCP_RST) {
            tw_remove(st, i);
            return 1;
        }
        if (w->ts_ok && seg->opt.has_ts) {
            w->ts_recent = seg->opt.ts_val;
            w->ts_recent_stamp = st->now;
        }
        tw_restart(st, i);
        return 1;
    }
    /* A new incarnation's SYN (RFC 6191; RFC 1122 4.2.2.13): above RCV.NXT, or with a
     * newer timestamp, it ends TIME-WAIT and opens through the listener. */
    if ((f & WIRE_TCP_SYN) && !(f & (WIRE_TCP_RST | WIRE_TCP_ACK)) && !paws_reject &&
        (seq_gt(seg->seq, w->rcv_nxt) || (w->ts_ok && seg->opt.has_ts && seq_gt(seg->opt.ts_val, w->ts_recent)))) {
        uint32_t lidx = hash_lookup(st, ip->dst, seg->dport, 0, 0);
        if (lidx != WTCP_NONE && tc(st, lidx)->state == WTCP_LISTEN) {
            tw_remove(st, i);
            tcp_listen_input(st, lidx, ip, seg);
            return 1;
        }
    }
    if (f & WIRE_TCP_RST)
        return 1; /* out of the window: ignored */
    if (paws_reject)
        stack_drop(st, WTCP_DROP_TCP_PAWS);
    /* Anything else (a retransmitted FIN, old data, an old SYN) is answered with an ACK;
     * an ACK-bearing one restarts 2MSL (an ACK-less SYN may be an old duplicate). */
    if (paws_reject || (f & WIRE_TCP_ACK))
        tw_restart(st, i);
    tw_send_ack(st, w);
    return 1;
}

/* The 4-tuple is in TIME-WAIT (connect's port choice avoids it). */
int tcp_tw_exists(const wtcp_stack *st, uint16_t lport, uint32_t raddr, uint16_t rport)
{
    return tw_lookup(st, 0, lport, raddr, rport) != WTCP_NONE;
}

int tcp_tw_port_used(const wtcp_stack *st, uint16_t lport)
{
    const tcp_tw_table *t = &st->tw;
    if (!t->count)
        return 0;
    for (uint32_t i = t->ports[tw_port_bucket(t, lport)]; i != WTCP_NONE; i = t->e[i].port_next)
        if (t->e[i].lport == lport)
            return 1;
    return 0;
}

void tcp_tw_expire(wtcp_stack *st)
{
    tcp_tw_table *t = &st->tw;
    while (t->oldest != WTCP_NONE && t->e[t->oldest].expires <= st->now)
        tw_remove(st, t->oldest);
    /* All gone (expired, ended by an RST, reopened by a SYN): so is the table, memory is
     * back where it started. */
    if (t->count == 0 && t->e) {
        tcp_tw_free_all(st);
        t->free_head = t->oldest = t->newest = WTCP_NONE;
    }
}

uint64_t tcp_tw_next_deadline(const wtcp_stack *st)
{
    const tcp_tw_table *t = &st->tw;
    return t->oldest == WTCP_NONE ? WTCP_NEVER : t->e[t->oldest].expires;
}

void tcp_tw_free_all(wtcp_stack *st)
{
    wtcp_mem_free(st, st->tw.e);
    wtcp_mem_free(st, st->tw.hash);
    memset(&st->tw, 0, sizeof st->tw);
}
