/* tcp_out.c: TCP output (RFC 9293 3.8, 3.10): segments built in place from the send buffer,
 * Linux option layout, window advertisement with receiver SWS avoidance (RFC 1122 4.2.3.3),
 * Nagle/Minshall and sender SWS avoidance (4.2.3.4), RST and challenge ACKs (RFC 5961). */
#include <string.h>

#include "tcp/tcp.h"

uint32_t tcp_ts_now(const wtcp_stack *st, const tcp_conn *c) { return (uint32_t)st->now + c->ts_offset; }

/* The window to advertise (bytes, a multiple of the scale unit). Two rules, in this order:
 * the right edge never lies beyond the buffer's end, so every byte the window offers has
 * room; and the right edge already advertised is kept (RFC 9293 3.8.6.2.2), except that
 * when the old window rounded up to the scale unit would pass the buffer's end it is
 * rounded down by less than one unit (RFC 7323 appendix F). rcv_adv, the edge up to which
 * data is accepted, never moves left, so the peer loses nothing by that rounding.
 * Receiver SWS avoidance (RFC 1122 4.2.3.3): small increases are not offered. */
uint32_t tcp_select_window(const tcp_conn *c)
{
    uint32_t space = tcp_rcv_space(c);
    uint32_t unit = (uint32_t)1 << c->rcv_wscale;
    uint32_t max_wnd = ((uint32_t)65535 << c->rcv_wscale) & ~(unit - 1);
    if (space > max_wnd)
        space = max_wnd;
    uint32_t cur = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    uint32_t sws = c->rcvbuf_size / 2 < c->rcv_mss ? c->rcvbuf_size / 2 : c->rcv_mss;
    uint32_t up = cur > max_wnd - (unit - 1) ? max_wnd : (cur + unit - 1) & ~(unit - 1);
    uint32_t keep = up <= space ? up : cur & ~(unit - 1);
    uint32_t wnd = keep;
    if (space > cur && space - cur >= sws && (space & ~(unit - 1)) > keep)
        wnd = space & ~(unit - 1);
    return wnd;
}

static void tcp_build_options(wtcp_stack *st, uint32_t idx, uint8_t flags, wire_tcp_opts *o)
{
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    memset(o, 0, sizeof *o);
    if (flags & WIRE_TCP_SYN) {
        int synack = (flags & WIRE_TCP_ACK) != 0;
        o->has_mss = 1;
        uint32_t mss = if_mtu_for(st, s->raddr) - WIRE_IPV4_HDR - WIRE_TCP_HDR; /* the link's */
        if (s->maxseg_opt && s->maxseg_opt < mss)
            mss = s->maxseg_opt;
        o->mss = (uint16_t)mss;
        if (synack ? (c->flags & TF_WS_OK) != 0 : !st->cfg.no_wscale) {
            o->has_wscale = 1;
            o->wscale = c->rcv_wscale;
        }
        if (synack ? (c->flags & TF_SACK_OK) != 0 : !st->cfg.no_sack)
            o->sack_ok = 1;
        if (synack ? (c->flags & TF_TS_OK) != 0 : !st->cfg.no_timestamps) {
            o->has_ts = 1;
            o->ts_val = tcp_ts_now(st, c);
            o->ts_ecr = synack ? c->ts_recent : 0;
        }
        return;
    }
    if (c->flags & TF_TS_OK) {
        o->has_ts = 1;
        o->ts_val = tcp_ts_now(st, c);
        o->ts_ecr = c->ts_recent;
    }
    if ((c->flags & TF_SACK_OK) && (flags & WIRE_TCP_ACK) && !(flags & WIRE_TCP_RST) &&
        (c->ooo.count || (c->flags & TF_DSACK))) {
        uint32_t max = o->has_ts ? 3 : 4;
        if (c->flags & TF_DSACK) {
            /* A duplicate we received goes first (D-SACK, RFC 2883 section 4). */
            o->sack[0][0] = c->dsack_start;
            o->sack[0][1] = c->dsack_end;
            o->sack_count = 1;
        }
        /* Most recently changed block first (RFC 2018 section 4), then the others in order. */
        uint32_t last = c->ooo.last < c->ooo.count ? c->ooo.last : 0;
        if (c->ooo.count && o->sack_count < max) {
            o->sack[o->sack_count][0] = c->rcv_nxt + c->ooo.start[last];
            o->sack[o->sack_count][1] = c->rcv_nxt + c->ooo.end[last];
            o->sack_count++;
        }
        for (uint32_t k = 0; k < c->ooo.count && o->sack_count < max; k++) {
            if (k == last)
                continue;
            o->sack[o->sack_count][0] = c->rcv_nxt + c->ooo.start[k];
            o->sack[o->sack_count][1] = c->rcv_nxt + c->ooo.end[k];
            o->sack_count++;
        }
    }
}

void tcp_send_segment(wtcp_stack *st, uint32_t idx, uint32_t seq, uint8_t flags, uint32_t len)
{
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    wire_tcp h;
    memset(&h, 0, sizeof h);
    h.sport = s->lport;
    h.dport = s->rport;
    h.seq = seq;
    h.flags = flags;
    tcp_build_options(st, idx, flags, &h.opt);
    if (flags & WIRE_TCP_ACK)
        h.ack = c->rcv_nxt;
    if (flags & WIRE_TCP_SYN) {
        /* Windows in SYN segments are never scaled (RFC 7323 2.2). */
        uint32_t space = tcp_rcv_space(c);
        uint32_t mss = h.opt.mss ? h.opt.mss : TCP_DEFAULT_MSS;
        uint32_t w = space < 65535 ? space : 65535;
        if (w > mss)
            w -= w % mss;
        h.win = (uint16_t)w;
        if (seq_lt(c->rcv_adv, c->rcv_nxt + w))
            c->rcv_adv = c->rcv_nxt + w;
    } else if (!(flags & WIRE_TCP_RST)) {
        uint32_t w = tcp_select_window(c);
        h.win = (uint16_t)(w >> c->rcv_wscale);
        if (seq_lt(c->rcv_adv, c->rcv_nxt + w))
            c->rcv_adv = c->rcv_nxt + w;
    }
    /* Never build more than the link takes: shed SACK blocks, then payload. */
    while (WIRE_IPV4_HDR + WIRE_TCP_HDR + wire_tcp_opts_len(&h.opt) + len > st->tx_cap && h.opt.sack_count)
        h.opt.sack_count--;
    if (WIRE_IPV4_HDR + WIRE_TCP_HDR + wire_tcp_opts_len(&h.opt) + len > st->tx_cap)
        len = (uint32_t)(st->tx_cap - WIRE_IPV4_HDR - WIRE_TCP_HDR - wire_tcp_opts_len(&h.opt));
    /* A resend keeps the PSH its original carried (Linux keeps an skb's flags). */
    if (len && seq_lt(seq, c->snd_max) && tcp_txlog_pushed(c, seq + len))
        h.flags |= WIRE_TCP_PSH;
    if (len)
        tcp_txlog_sent(st, c, seq, len, (h.flags & WIRE_TCP_PSH) != 0); /* before SND.MAX moves */
    uint8_t *seg = st->tx + WIRE_IPV4_HDR;
    size_t hlen = wire_tcp_emit(seg, &h);
    if (len) {
        uint32_t off = seq - c->snd_una;
        ring_peek(&c->sndbuf, off, seg + hlen, len);
    }
    wire_l4_checksum(seg, hlen + len, s->laddr, s->raddr, WIRE_PROTO_TCP);
    if (flags & WIRE_TCP_ACK) {
        c->last_ack_sent = c->rcv_nxt;
        c->flags &= ~(uint32_t)(TF_ACK_NOW | TF_DSACK | TF_ACK_ALONE);
        c->unacked_segs = 0;
        if (c->quickacks)
            c->quickacks--;
        if (c->timer[TCP_T_DELACK])
            tcp_disarm(st, idx, TCP_T_DELACK);
    }
    c->segs_out++;
    c->bytes_sent += len;
    tcp_cc_on_sent(c, len);
    st->stats.tcp_out++;
    if (flags & WIRE_TCP_RST)
        st->stats.tcp_rst_out++;
    ip_send(st, s->laddr, s->raddr, WIRE_PROTO_TCP, hlen + len);
}

/* Segments without text carry SND.MAX, not SND.NXT: after a timeout SND.NXT goes back,
 * and an ACK numbered below what the peer has received would be unacceptable to it,
 * its acknowledgment ignored (Linux's snd_nxt is our snd_max). */
void tcp_send_ack(wtcp_stack *st, uint32_t idx)
{
    tcp_send_segment(st, idx, tc(st, idx)->snd_max, WIRE_TCP_ACK, 0);
}

void tcp_send_challenge_ack(wtcp_stack *st, uint32_t idx)
{
    /* RFC 5961 section 7: at most TCP_CHALLENGE_ACK_LIMIT per second per stack. */
    if (st->now - st->challenge_window_start >= 1000) {
        st->challenge_window_start = st->now;
        st->challenge_count = 0;
    }
    if (st->challenge_count >= TCP_CHALLENGE_ACK_LIMIT)
        return;
    st->challenge_count++;
    st->stats.tcp_challenge_acks++;
    tcp_send_ack(st, idx);
}

void tcp_send_rst(wtcp_stack *st, uint32_t idx)
{
    tcp_send_segment(st, idx, tc(st, idx)->snd_max, WIRE_TCP_RST | WIRE_TCP_ACK, 0);
}

void tcp_send_reset_reply(wtcp_stack *st, const wire_ipv4 *ip, const wire_tcp *seg)
{
    if (seg->flags & WIRE_TCP_RST)
        return;
    wire_tcp h;
    memset(&h, 0, sizeof h);
    h.sport = seg->dport;
    h.dport = seg->sport;
    if (seg->flags & WIRE_TCP_ACK) {
        h.seq = seg->ack;
        h.flags = WIRE_TCP_RST;
    } else {
        h.seq = 0;
        h.ack = seg->seq + (uint32_t)seg->payload_len + ((seg->flags & WIRE_TCP_SYN) ? 1 : 0) +
                ((seg->flags & WIRE_TCP_FIN) ? 1 : 0);
        h.flags = WIRE_TCP_RST | WIRE_TCP_ACK;
    }
    uint8_t *out = st->tx + WIRE_IPV4_HDR;
    size_t hlen = wire_tcp_emit(out, &h);
    wire_l4_checksum(out, hlen, ip->dst, ip->src, WIRE_PROTO_TCP);
    st->stats.tcp_out++;
    st->stats.tcp_rst_out++;
    ip_send(st, ip->dst, ip->src, WIRE_PROTO_TCP, hlen);
}

/* Payload that fits in one segment now: SACK blocks we are about to send take room
 * from the data, as Linux's tcp_current_mss does. */
uint32_t tcp_mss_now(const tcp_conn *c)
{
    uint32_t count = c->ooo.count + ((c->flags & TF_DSACK) ? 1 : 0);
    if (!(c->flags & TF_SACK_OK) || count == 0)
        return c->snd_mss;
    uint32_t max = (c->flags & TF_TS_OK) ? 3 : 4;
    uint32_t blocks = count < max ? count : max;
    uint32_t opt = 4 + 8 * blocks;
    return c->snd_mss > opt + TCP_MIN_MSS ? c->snd_mss - opt : TCP_MIN_MSS;
}

/* Bookkeeping for every data retransmission: counters, the D-SACK undo count, the
 * timestamp floor below which echoes give no RTT sample, Karn's rule. */
static void tcp_count_retransmit(wtcp_stack *st, tcp_conn *c)
{
    c->total_retrans++;
    c->undo_retrans++;
    c->ts_rxt_floor = tcp_ts_now(st, c);
    st->stats.tcp_retransmits++;
    c->flags &= ~(uint32_t)TF_RTT_TIMING; /* Karn */
}

/* Sequence number just past the last byte the user has written (until our FIN is
 * acknowledged: SND.UNA then lies past the FIN). */
static uint32_t tcp_data_end(const tcp_conn *c) { return c->snd_una + c->sndbuf.len; }

void tcp_retransmit_head(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    /* Resend only what was sent before: never past SND.MAX (the MSS may have grown
     * since, when SACK blocks no longer take room). */
    uint32_t fin_out = (c->flags & (TF_FIN_SENT | TF_FIN_ACKED)) == TF_FIN_SENT;
    uint32_t data_out = c->snd_max - c->snd_una - fin_out;
    uint32_t mss = tcp_mss_now(c);
    uint32_t len = c->sndbuf.len < mss ? c->sndbuf.len : mss;
    if (len > data_out)
        len = data_out;
    if (c->scoreboard.count && len > c->scoreboard.start[0])
        len = c->scoreboard.start[0]; /* up to what the peer already SACKed */
    uint8_t flags = WIRE_TCP_ACK;
    if (fin_out && c->snd_una + len == tcp_data_end(c))
        flags |= WIRE_TCP_FIN;
    if (len == 0 && !(flags & WIRE_TCP_FIN))
        return;
    if (len && c->snd_una + len == tcp_data_end(c))
        flags |= WIRE_TCP_PSH;
    tcp_send_segment(st, idx, c->snd_una, flags, len);
    if (seq_gt(c->snd_una + len, c->high_rxt))
        c->high_rxt = c->snd_una + len;
    tcp_count_retransmit(st, c);
}

void tcp_send_window_probe(wtcp_stack *st, uint32_t idx)
{
    /* A segment the peer must answer: one already acknowledged sequence number. */
    tcp_conn *c = tc(st, idx);
    tcp_send_segment(st, idx, c->snd_una - 1, WIRE_TCP_ACK, 0);
}

/* The last segment sent, again: a tail loss probe with no new data to send. */
int tcp_retransmit_tail(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    uint32_t fin_out = (c->flags & (TF_FIN_SENT | TF_FIN_ACKED)) == TF_FIN_SENT;
    uint32_t data_end = c->snd_max - fin_out;
    uint32_t out = data_end - c->snd_una;
    uint32_t mss = tcp_mss_now(c);
    uint32_t len = out < mss ? out : mss;
    uint8_t flags = WIRE_TCP_ACK | (fin_out ? WIRE_TCP_FIN : 0) | (len ? WIRE_TCP_PSH : 0);
    if (len == 0 && !fin_out)
        return 0;
    tcp_send_segment(st, idx, data_end - len, flags, len);
    tcp_count_retransmit(st, c);
    return 1;
}

int tcp_output_probe_new(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    uint32_t end = tcp_data_end(c);
    if (!seq_lt(c->snd_max, end) || seq_lt(c->snd_nxt, c->snd_max) || !tcp_txlog_room(st, c))
        return 0;
    uint32_t wnd_end = c->snd_una + c->snd_wnd;
    uint32_t room = seq_lt(c->snd_max, wnd_end) ? wnd_end - c->snd_max : 0;
    uint32_t len = end - c->snd_max;
    uint32_t mss = tcp_mss_now(c);
    if (len > mss)
        len = mss;
    if (len > room || (c->flags & TF_FIN_SENT))
        return 0;
    uint32_t seq = c->snd_max;
    tcp_send_segment(st, idx, seq, WIRE_TCP_ACK | (seq + len == end ? WIRE_TCP_PSH : 0), len);
    c->snd_max = c->snd_nxt = seq + len;
    c->last_send = st->now;
    return 1;
}

/* SACK-based loss recovery (RFC 6675 5, steps 4-5, with RACK's marks): while the pipe
 * leaves room in cwnd, resend the next lost segment, else send new data. Returns 1 if it
 * sent anything. */
static int tcp_output_recovery(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    int sent = 0;
    for (uint32_t guard = 0; guard < 1024; guard++) {
        uint32_t mss = tcp_mss_now(c);
        uint32_t pipe = tcp_rack_pipe(c);
        uint32_t seq, len;
        if (tcp_rack_next_lost(c, &seq, &len)) {
            if (len > mss)
                len = mss;
            uint32_t end = tcp_data_end(c);
            if (seq_gt(seq + len, end))
                len = end - seq; /* a hole that is only our FIN is left to the timer */
            /* cwnd counts bytes: a lost sliver goes when it fits, not only a full segment
             * (else a one-segment cwnd with a segment in flight could never resend it). */
            if (len == 0 || pipe + len > c->cwnd)
                break;
            /* The last data resent carries the FIN again when it was sent (as Linux's
             * FIN rides on the last segment). */
            uint32_t fin_out = (c->flags & (TF_FIN_SENT | TF_FIN_ACKED)) == TF_FIN_SENT;
            uint8_t flags = WIRE_TCP_ACK | (seq + len == end ? WIRE_TCP_PSH : 0) |
                            (fin_out && seq + len == end ? WIRE_TCP_FIN : 0);
            tcp_send_segment(st, idx, seq, flags, len);
            c->high_rxt = seq + len;
            tcp_count_retransmit(st, c);
            sent = 1;
            continue;
        }
        /* No hole to resend: new data, within the peer's window. */
        if (pipe + mss > c->cwnd)
            break;
        uint32_t end = tcp_data_end(c);
        uint32_t avail = seq_lt(c->snd_max, end) ? end - c->snd_max : 0;
        uint32_t wnd_end = c->snd_una + c->snd_wnd;
        uint32_t room = seq_lt(c->snd_max, wnd_end) ? wnd_end - c->snd_max : 0;
        len = avail < room ? avail : room;
        if (len > mss)
            len = mss;
        if (len == 0 || (len < mss && len < avail) || !tcp_txlog_room(st, c))
            break;
        seq = c->snd_max;
        tcp_send_segment(st, idx, seq, WIRE_TCP_ACK | (seq + len == end ? WIRE_TCP_PSH : 0), len);
        c->snd_max = c->snd_nxt = seq + len;
        sent = 1;
    }
    return sent;
}

static void tcp_output_data(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    int sent = 0;
    /* Recovery, and lost segments outside it (after a timeout, or when a new recovery
     * must wait for the end of this window, RFC 6582 4.1): the marks say what to resend. */
    if ((c->flags & TF_SACK_OK) && (c->in_recovery || c->rack.lost)) {
        if (seq_lt(c->snd_nxt, c->snd_max))
            c->snd_nxt = c->snd_max; /* recovery resends holes itself */
        sent = tcp_output_recovery(st, idx);
    }
    /* Restart after idle (RFC 5681 4.1): a connection silent for an RTO starts again
     * from the initial window. */
    if (c->snd_max == c->snd_una && c->last_send && st->now - c->last_send >= c->rto)
        tcp_cc_after_idle(c);
    for (;;) {
        uint32_t end = tcp_data_end(c);
        uint32_t room = UINT32_MAX;
        if (seq_lt(c->snd_nxt, c->snd_max) && (c->flags & TF_SACK_OK)) {
            /* Resending after a timeout: skip what the peer SACKed. */
            c->snd_nxt = tcp_sack_skip(c, c->snd_nxt, &room);
            if (seq_geq(c->snd_nxt, c->snd_max)) {
                c->snd_nxt = c->snd_max;
                room = UINT32_MAX;
            }
        }
        uint32_t avail = seq_lt(c->snd_nxt, end) ? end - c->snd_nxt : 0;
        uint32_t inflight = c->snd_nxt - c->snd_una;
        uint32_t cwnd = c->cwnd;
        if (!c->in_recovery && c->dupacks > 0 && c->dupacks < tcp_dupthresh(c) && c->dupacks <= 2 &&
            !seq_lt(c->snd_nxt, c->snd_max))
            cwnd += c->dupacks * c->snd_mss; /* limited transmit (RFC 3042) */
        uint32_t wnd = c->snd_wnd < cwnd ? c->snd_wnd : cwnd;
        uint32_t usable = wnd > inflight ? wnd - inflight : 0;
        uint32_t len = avail < usable ? avail : usable;
        uint32_t mss = tcp_mss_now(c);
        if (len > mss)
            len = mss;
        if (len > room)
            len = room;
        int fin = (c->flags & (TF_FIN_QUEUED | TF_FIN_ACKED)) == TF_FIN_QUEUED && c->snd_nxt + len == end &&
                  len == avail;
        if (len == 0 && !(fin && avail == 0))
            break;
        /* The window or cwnd leaves room for only part of a segment while more waits and
         * an ACK is due: wait for it rather than send a sliver (cwnd counts bytes, and
         * segments with SACK options are shorter than snd_mss). */
        if (len < mss && len == usable && len < avail && len < room && inflight > 0)
            break;
        /* Retransmissions go out as they were sent: no Nagle or SWS holds. */
        if (len < mss && !fin && !seq_lt(c->snd_nxt, c->snd_max)) {
            if (len < avail) {
                /* Window-limited: sender SWS avoidance (RFC 1122 4.2.3.4). */
                if (len < c->max_snd_wnd / 2 || len == 0)
                    break;
            } else if (!(c->flags & TF_NODELAY) && seq_gt(c->snd_sml, c->snd_una)) {
                /* Nagle, Minshall's variant: one small segment in flight at a time. */
                break;
            }
        }
        uint8_t flags = WIRE_TCP_ACK;
        if (len && c->snd_nxt + len == end)
            flags |= WIRE_TCP_PSH;
        if (fin)
            flags |= WIRE_TCP_FIN;
        uint32_t seq = c->snd_nxt;
        int retrans = seq_lt(seq, c->snd_max);
        if (!retrans && len && !tcp_txlog_room(st, c))
            break; /* as many segments in flight as the log holds: wait for ACKs */
        if (!retrans && !(c->flags & (TF_RTT_TIMING | TF_TS_OK)) && len) {
            c->flags |= TF_RTT_TIMING;
            c->rtt_seq = seq;
            c->rtt_start = st->now;
        }
        tcp_send_segment(st, idx, seq, flags, len);
        if (retrans) {
            if (seq_gt(seq + len, c->high_rxt))
                c->high_rxt = seq + len;
            tcp_count_retransmit(st, c);
        }
        if (len)
            c->last_send = st->now;
        if (len < mss)
            c->snd_sml = seq + len;
        c->snd_nxt = seq + len + (fin ? 1 : 0);
        if (fin)
            c->flags |= TF_FIN_SENT;
        if (seq_gt(c->snd_nxt, c->snd_max))
            c->snd_max = c->snd_nxt;
        sent = 1;
        if (fin)
            break;
    }
    if (sent && !c->timer[TCP_T_REXMIT]) {
        c->una_since = st->now; /* the oldest unacknowledged data leaves now */
        tcp_arm(st, idx, TCP_T_REXMIT, st->now + tcp_rto_backed_off(c));
        tcp_disarm(st, idx, TCP_T_PERSIST);
    }
    if (sent)
        tcp_tlp_schedule(st, idx); /* the probe timer counts from the last transmission */
    /* Nothing in flight but data waiting on the window: probe it (persist). */
    if (c->snd_max == c->snd_una && seq_lt(c->snd_nxt, tcp_data_end(c)) && !c->timer[TCP_T_PERSIST] &&
        !c->timer[TCP_T_REXMIT])
        tcp_arm(st, idx, TCP_T_PERSIST, st->now + tcp_rto_backed_off(c));
}

void tcp_output(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    switch (c->state) {
    case WTCP_CLOSED:
    case WTCP_LISTEN:
        return;
    case WTCP_SYN_SENT:
    case WTCP_SYN_RECEIVED:
    case WTCP_FIN_WAIT_1:
        if (!tcp_syn_unacked(c))
            break;
        if (c->snd_nxt == c->iss) {
            uint8_t flags = WIRE_TCP_SYN | (c->state != WTCP_SYN_SENT ? WIRE_TCP_ACK : 0);
            tcp_send_segment(st, idx, c->iss, flags, 0);
            if (c->snd_max == c->iss)
                c->una_since = st->now;
            c->snd_nxt = c->iss + 1;
            if (seq_gt(c->snd_nxt, c->snd_max))
                c->snd_max = c->snd_nxt;
            if (!c->timer[TCP_T_REXMIT])
                tcp_arm(st, idx, TCP_T_REXMIT, st->now + tcp_rto_backed_off(c));
        }
        if (c->state == WTCP_FIN_WAIT_1 && c->snd_nxt == c->iss + 1) {
            /* close() in SYN-RECEIVED: the FIN follows the SYN at once (RFC 9293 3.10.4). */
            tcp_send_segment(st, idx, c->iss + 1, WIRE_TCP_FIN | WIRE_TCP_ACK, 0);
            c->snd_nxt = c->snd_max = c->iss + 2;
            c->flags |= TF_FIN_SENT;
        }
        c->flags &= ~(uint32_t)TF_ACK_NOW;
        return;
    case WTCP_TIME_WAIT:
        if (c->flags & TF_ACK_NOW)
            tcp_send_ack(st, idx);
        return;
    default:
        break;
    }
    uint32_t out_before = c->segs_out;
    tcp_output_data(st, idx);
    if ((c->flags & TF_ACK_NOW) && c->segs_out == out_before)
        tcp_send_ack(st, idx);
}
