/* tcp_syncookie.c: SYN cookies (RFC 4987 3.6), encoded as Linux encodes them: when a
 * listener's SYN queue is full the SYN-ACK's ISN carries a keyed hash of the 4-tuple, a
 * 64-second counter and the index of the peer's MSS in a table; with timestamps our TS
 * value carries its window scale and SACK-permitted. Nothing is kept until the ACK that
 * returns the cookie proves the peer received our SYN-ACK. */
#include <string.h>

#include "tcp/tcp.h"

enum {
    COOKIE_BITS = 24,                      /* the hash's bits; the counter above them */
    COOKIE_MASK = (1u << COOKIE_BITS) - 1,
    COOKIE_PERIOD_MS = 64000,              /* the counter's step (Linux: 60 s) */
    COOKIE_MAX_AGE = 2,                    /* steps a cookie stays valid (Linux) */
    TS_OPT_BITS = 6,                       /* low bits of our TS value: the options */
    TS_OPT_MASK = (1u << TS_OPT_BITS) - 1,
    TS_OPT_WSCALE_MASK = 0xf,              /* 0xf: no window scaling */
    TS_OPT_SACK = 0x10,
};

/* Linux's msstab: the MSS a cookie can say, the largest not above the peer's. */
static const uint16_t msstab[] = { 536, 1300, 1440, 1460 };

static uint32_t cookie_hash(const wtcp_stack *st, const wire_ipv4 *ip, uint16_t sport, uint16_t dport,
                            uint32_t count, uint8_t which)
{
    uint8_t t[18];
    wire_put32(t, ip->src);
    wire_put32(t + 4, ip->dst);
    wire_put16(t + 8, sport);
    wire_put16(t + 10, dport);
    wire_put32(t + 12, count);
    t[16] = which;
    t[17] = 'C'; /* apart from the ISN and timestamp hashes under the same key */
    return (uint32_t)wtcp_siphash(st->cfg.isn_key, t, sizeof t);
}

static uint32_t cookie_count(const wtcp_stack *st) { return (uint32_t)(st->now / COOKIE_PERIOD_MS); }

uint32_t tcp_syncookie_isn(const wtcp_stack *st, const wire_ipv4 *ip, const wire_tcp *syn)
{
    uint32_t mss = syn->opt.has_mss ? syn->opt.mss : TCP_DEFAULT_MSS;
    uint32_t idx = 0;
    for (uint32_t i = sizeof msstab / sizeof msstab[0]; i-- > 0;) {
        if (mss >= msstab[i]) {
            idx = i;
            break;
        }
    }
    uint32_t count = cookie_count(st);
    return cookie_hash(st, ip, syn->sport, syn->dport, 0, 0) + syn->seq + (count << COOKIE_BITS) +
           ((cookie_hash(st, ip, syn->sport, syn->dport, count, 1) + idx) & COOKIE_MASK);
}

uint32_t tcp_syncookie_check(const wtcp_stack *st, const wire_ipv4 *ip, const wire_tcp *ack)
{
    uint32_t cookie = ack->ack - 1, sseq = ack->seq - 1;
    cookie -= cookie_hash(st, ip, ack->sport, ack->dport, 0, 0) + sseq;
    uint32_t count = cookie_count(st);
    uint32_t diff = (count - (cookie >> COOKIE_BITS)) & (UINT32_MAX >> COOKIE_BITS);
    if (diff >= COOKIE_MAX_AGE)
        return 0;
    uint32_t idx = (cookie - cookie_hash(st, ip, ack->sport, ack->dport, count - diff, 1)) & COOKIE_MASK;
    return idx < sizeof msstab / sizeof msstab[0] ? msstab[idx] : 0;
}

/* Our TS value for a cookie SYN-ACK: the clock with its low bits replaced by the peer's
 * window scale (or "none") and SACK-permitted, never ahead of the clock (Linux's
 * cookie_init_timestamp). */
static uint32_t cookie_ts(uint32_t ts_now, const wtcp_stack *st, const wire_tcp *syn)
{
    uint32_t options = syn->opt.has_wscale && !st->cfg.no_wscale
                           ? (syn->opt.wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : syn->opt.wscale)
                           : TS_OPT_WSCALE_MASK;
    if (syn->opt.sack_ok && !st->cfg.no_sack)
        options |= TS_OPT_SACK;
    uint32_t ts = (ts_now >> TS_OPT_BITS) << TS_OPT_BITS | options;
    if (seq_gt(ts, ts_now))
        ts -= 1u << TS_OPT_BITS;
    return ts;
}

int tcp_syncookie_options(const wtcp_stack *st, const wire_tcp *ack, uint8_t *wscale_ok, uint8_t *wscale,
                          uint8_t *sack_ok)
{
    *wscale_ok = *sack_ok = 0;
    *wscale = 0;
    if (!ack->opt.has_ts)
        return 0; /* no timestamps: the cookie said only the MSS */
    if (st->cfg.no_timestamps)
        return -1;
    uint32_t options = ack->opt.ts_ecr & TS_OPT_MASK;
    *sack_ok = (options & TS_OPT_SACK) != 0;
    if ((options & TS_OPT_WSCALE_MASK) != TS_OPT_WSCALE_MASK) {
        *wscale_ok = 1;
        *wscale = (uint8_t)(options & TS_OPT_WSCALE_MASK);
        if (*wscale > TCP_MAX_WSCALE)
            return -1;
    }
    return 0;
}

/* Our MSS and the (unscaled) window of a cookie SYN-ACK from listener lidx. */
static uint32_t synack_mss(const wtcp_stack *st, const sock_slot *ls, uint32_t raddr)
{
    uint32_t mss = if_mtu_for(st, raddr) - WIRE_IPV4_HDR - WIRE_TCP_HDR;
    return ls->maxseg_opt && ls->maxseg_opt < mss ? ls->maxseg_opt : mss;
}

uint32_t tcp_syncookie_window(const wtcp_stack *st, uint32_t lidx, uint32_t raddr)
{
    const sock_slot *ls = &st->socks[lidx];
    uint32_t mss = synack_mss(st, ls, raddr);
    uint32_t w = ls->rcvbuf_opt < 65535 ? ls->rcvbuf_opt : 65535;
    return w > mss ? w - w % mss : w;
}

/* The SYN-ACK for a SYN that gets a cookie, built from the SYN and the listener alone.
 * Without timestamps it offers neither window scaling nor SACK, since the cookie could
 * not bring them back (Linux). */
void tcp_syncookie_send_synack(wtcp_stack *st, uint32_t lidx, const wire_ipv4 *ip, const wire_tcp *syn)
{
    const sock_slot *ls = sk(st, lidx);
    sock_slot tuple; /* the would-be child's addresses, for the per-tuple values */
    memset(&tuple, 0, sizeof tuple);
    tuple.laddr = ip->dst;
    tuple.lport = ls->lport;
    tuple.raddr = ip->src;
    tuple.rport = syn->sport;
    tuple.rcvbuf_opt = ls->rcvbuf_opt;
    wire_tcp h;
    memset(&h, 0, sizeof h);
    h.sport = syn->dport;
    h.dport = syn->sport;
    h.seq = tcp_syncookie_isn(st, ip, syn);
    h.ack = syn->seq + 1;
    h.flags = WIRE_TCP_SYN | WIRE_TCP_ACK;
    h.opt.has_mss = 1;
    h.opt.mss = (uint16_t)synack_mss(st, ls, ip->src);
    int ts = syn->opt.has_ts && !st->cfg.no_timestamps;
    if (ts) {
        h.opt.has_ts = 1;
        h.opt.ts_val = cookie_ts((uint32_t)st->now + tcp_ts_offset(st, &tuple), st, syn);
        h.opt.ts_ecr = syn->opt.ts_val;
        if (syn->opt.has_wscale && !st->cfg.no_wscale) {
            h.opt.has_wscale = 1;
            h.opt.wscale = tcp_choose_wscale(st, &tuple);
        }
        if (syn->opt.sack_ok && !st->cfg.no_sack)
            h.opt.sack_ok = 1;
    }
    h.win = (uint16_t)tcp_syncookie_window(st, lidx, ip->src); /* never scaled in a SYN */
    uint8_t *out = st->tx + WIRE_IPV4_HDR;
    size_t hlen = wire_tcp_emit(out, &h);
    wire_l4_checksum(out, hlen, ip->dst, ip->src, WIRE_PROTO_TCP);
    st->stats.tcp_out++;
    st->stats.tcp_syncookies_sent++;
    ip_send(st, ip->dst, ip->src, WIRE_PROTO_TCP, hlen);
}
