/* tcp_in.c: TCP segment arrival (RFC 9293 3.10.7): LISTEN, SYN-SENT and the synchronized
 * states; RST and SYN rules with RFC 5961 challenge ACKs; PAWS and TS.Recent (RFC 7323);
 * ACK processing with RTT samples, slow start and NewReno (RFC 5681, 6582); reassembly
 * into the receive buffer; FIN handling; ICMP errors (RFC 5927, 1191). */
#include <string.h>

#include "tcp/tcp.h"

/* Negotiated options from a SYN (RFC 7323, 2018, 9293 3.7.1). */
static void tcp_take_syn_options(wtcp_stack *st, uint32_t idx, const wire_tcp *seg)
{
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    const wire_tcp_opts *o = &seg->opt;
    c->peer_mss = o->has_mss ? o->mss : TCP_DEFAULT_MSS;
    if (c->peer_mss < TCP_MIN_MSS)
        c->peer_mss = TCP_MIN_MSS;
    if (o->has_mss)
        c->flags |= TF_PEER_MSS;
    if (o->has_wscale && !st->cfg.no_wscale) {
        c->flags |= TF_WS_OK;
        c->snd_wscale = o->wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : o->wscale;
    } else {
        c->snd_wscale = 0;
        c->rcv_wscale = 0;
    }
    if (o->sack_ok && !st->cfg.no_sack)
        c->flags |= TF_SACK_OK;
    if (o->has_ts && !st->cfg.no_timestamps) {
        c->flags |= TF_TS_OK;
        c->ts_recent = o->ts_val;
        c->ts_recent_stamp = st->now;
    }
    tcp_update_mss(st, idx);
}

static void tcp_queue_to_listener(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    uint32_t p = c->parent;
    tcp_conn *l = tc(st, p);
    if (l->syn_queued)
        l->syn_queued--;
    l->accept_queued++;
    c->accept_next = WTCP_NONE;
    if (l->accept_tail == WTCP_NONE)
        l->accept_head = idx;
    else
        tc(st, l->accept_tail)->accept_next = idx;
    l->accept_tail = idx;
    sock_event(st, p, WTCP_EV_ACCEPTABLE);
}

/* A connection reached ESTABLISHED (from SYN-SENT or SYN-RECEIVED). Its buffers come
 * when data does (tcp_buf.c). */
static void tcp_established(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    c->snd_sml = c->snd_una; /* no small segment in flight yet (Nagle) */
    c->dupthresh = TCP_DUPTHRESH;
    c->ts_rxt_floor = tcp_ts_now(st, c);
    c->recover = c->snd_una;
    c->high_rxt = c->snd_una; /* nothing resent or SACKed yet (zero would compare */
    c->sack_high = c->snd_una; /* by which half of the sequence space the ISN is in) */
    tcp_cc_init(c, sk(st, idx)->cc_opt);
    memset(&c->rack, 0, sizeof c->rack);
    c->rack.min_rtt = UINT32_MAX;
    c->rack.reo_mult = 1;
    c->rack.fack = c->snd_una;
    c->retries = 0;
    c->backoff = 0;
    if (c->srtt8 == 0)
        c->rto = 3000; /* SYN retransmitted, no RTT sample: RFC 6298 5.7 */
    c->last_rcv = st->now;
    if (c->flags & TF_KEEPALIVE)
        tcp_arm(st, idx, TCP_T_KEEPALIVE, st->now + sk(st, idx)->ka_idle_ms);
    /* A close() in SYN-RECEIVED waited for our SYN to be acknowledged: FIN-WAIT-1 now. */
    tcp_set_state(st, idx, (c->flags & TF_FIN_QUEUED) ? WTCP_FIN_WAIT_1 : WTCP_ESTABLISHED);
    if (c->parent != WTCP_NONE && !sk(st, idx)->user_owned) {
        tcp_queue_to_listener(st, idx);
    } else {
        sock_event(st, idx, WTCP_EV_CONNECTED | WTCP_EV_WRITABLE);
    }
}

/* A child of listener lidx for the peer of seg, its options inherited and its receive
 * side started at the peer's ISN; WTCP_NONE when no slot is left (counted). */
static uint32_t tcp_child_new(wtcp_stack *st, uint32_t lidx, const wire_ipv4 *ip, const wire_tcp *seg,
                              uint32_t irs)
{
    uint32_t idx = sock_alloc(st, WTCP_SOCK_STREAM);
    if (idx == WTCP_NONE) {
        stack_drop(st, WTCP_DROP_TCP_NO_MEMORY);
        return WTCP_NONE;
    }
    sock_slot *ls = sk(st, lidx);
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    s->laddr = ip->dst;
    s->lport = ls->lport;
    s->raddr = ip->src;
    s->rport = seg->sport;
    s->rcvbuf_opt = ls->rcvbuf_opt;
    s->sndbuf_opt = ls->sndbuf_opt;
    s->maxseg_opt = ls->maxseg_opt;
    s->ka_idle_ms = ls->ka_idle_ms;
    s->ka_intvl_ms = ls->ka_intvl_ms;
    s->ka_count = ls->ka_count;
    s->user_timeout_ms = ls->user_timeout_ms;
    s->cc_opt = ls->cc_opt;
    s->rto_min_opt = ls->rto_min_opt;
    s->opt_flags = ls->opt_flags;
    c->flags = ls->opt_flags & (TF_NODELAY | TF_KEEPALIVE | TF_LINGER0 | TF_SNDBUF_LOCK);
    c->parent = lidx;
    c->rcvbuf_size = s->rcvbuf_opt;
    c->sndbuf_size = s->sndbuf_opt;
    c->rcv_wscale = tcp_choose_wscale(st, s);
    c->irs = irs;
    c->rcv_nxt = irs + 1;
    c->rcv_adv = c->rcv_nxt;
    c->ts_offset = tcp_ts_offset(st, s);
    c->rto = TCP_RTO_INITIAL_MS;
    c->rto_min = s->rto_min_opt;
    c->rtt_start = st->now;
    c->rcv_mss = TCP_DEFAULT_MSS;
    c->path_mtu = if_mtu_for(st, ip->src);
    c->state = WTCP_LISTEN; /* so that the hook sees LISTEN -> SYN-RECEIVED */
    return idx;
}

static void tcp_synchronized_input(wtcp_stack *st, uint32_t idx, const wire_ipv4 *ip, const wire_tcp *seg);

/* An ACK that found the listener and no connection: if it returns a SYN cookie we sent
 * (within two minutes of the SYN queue overflowing, as Linux), the connection is made
 * now, ESTABLISHED, with the options the cookie kept, and the segment is processed. */
static int tcp_syncookie_accept(wtcp_stack *st, uint32_t lidx, const wire_ipv4 *ip, const wire_tcp *seg)
{
    tcp_conn *l = tc(st, lidx);
    if (st->cfg.no_syncookies || !l->cookie_at || st->now - l->cookie_at > TCP_SYNCOOKIE_RECENT_MS ||
        (seg->flags & (WIRE_TCP_SYN | WIRE_TCP_RST)))
        return 0;
    uint32_t mss = tcp_syncookie_check(st, ip, seg);
    uint8_t ws_ok, ws, sack_ok;
    if (mss == 0 || tcp_syncookie_options(st, seg, &ws_ok, &ws, &sack_ok) < 0) {
        st->stats.tcp_syncookies_failed++;
        return 0;
    }
    st->stats.tcp_syncookies_recv++;
    if (l->accept_queued > l->backlog) {
        stack_drop(st, WTCP_DROP_TCP_BACKLOG_FULL); /* the peer's resends may find room */
        return 1;
    }
    uint32_t idx = tcp_child_new(st, lidx, ip, seg, seg->seq - 1);
    if (idx == WTCP_NONE)
        return 1;
    l = tc(st, lidx);
    tcp_conn *c = tc(st, idx);
    c->iss = seg->ack - 1;
    c->snd_una = c->snd_nxt = c->snd_max = seg->ack;
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = seg->ack;
    c->peer_mss = mss;
    c->flags |= TF_PEER_MSS;
    if (ws_ok) {
        c->flags |= TF_WS_OK;
        c->snd_wscale = ws;
    } else {
        c->snd_wscale = c->rcv_wscale = 0;
    }
    if (sack_ok)
        c->flags |= TF_SACK_OK;
    if (seg->opt.has_ts) {
        c->flags |= TF_TS_OK;
        c->ts_recent = seg->opt.ts_val;
        c->ts_recent_stamp = st->now;
    }
    c->snd_wnd = (uint32_t)seg->win << c->snd_wscale;
    c->max_snd_wnd = c->snd_wnd;
    c->last_ack_sent = c->rcv_nxt;
    c->rcv_adv = c->rcv_nxt + tcp_syncookie_window(st, lidx, ip->src); /* what the SYN-ACK offered */
    tcp_update_mss(st, idx);
    hash_insert(st, idx);
    l->syn_queued++; /* tcp_established moves it to the accept queue */
    st->stats.tcp_passive_opens++;
    tcp_set_state(st, idx, WTCP_SYN_RECEIVED);
    tcp_established(st, idx);
    c->rto = TCP_RTO_INITIAL_MS; /* no RTT sample (the cookie's TS value lost its low bits),
                                  * but no SYN-ACK was resent either (RFC 6298 5.7) */
    if (seg->payload_len || (seg->flags & WIRE_TCP_FIN))
        tcp_synchronized_input(st, idx, ip, seg); /* data with the ACK */
    return 1;
}

void tcp_listen_input(wtcp_stack *st, uint32_t lidx, const wire_ipv4 *ip, const wire_tcp *seg)
{
    tcp_conn *l = tc(st, lidx);
    if (seg->flags & WIRE_TCP_RST)
        return;
    if (seg->flags & WIRE_TCP_ACK) {
        if (!tcp_syncookie_accept(st, lidx, ip, seg))
            tcp_send_reset_reply(st, ip, seg);
        return;
    }
    if (!(seg->flags & WIRE_TCP_SYN) || (seg->flags & WIRE_TCP_FIN)) {
        stack_drop(st, WTCP_DROP_TCP_BAD_FLAGS);
        return;
    }
    /* Linux: a full accept queue drops SYNs. The SYN queue (half-open connections) is
     * bounded by the backlog too; when it is full, a SYN cookie answers (RFC 4987). */
    if (l->accept_queued > l->backlog) {
        stack_drop(st, WTCP_DROP_TCP_BACKLOG_FULL);
        return;
    }
    if (l->syn_queued >= l->backlog) {
        if (st->cfg.no_syncookies) {
            stack_drop(st, WTCP_DROP_TCP_BACKLOG_FULL);
            return;
        }
        l->cookie_at = st->now ? st->now : 1;
        tcp_syncookie_send_synack(st, lidx, ip, seg);
        return;
    }
    uint32_t idx = tcp_child_new(st, lidx, ip, seg, seg->seq);
    if (idx == WTCP_NONE)
        return;
    l = tc(st, lidx);
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    c->iss = tcp_isn(st, s);
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->snd_wnd = seg->win; /* unscaled in a SYN */
    c->max_snd_wnd = c->snd_wnd;
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = c->iss;
    tcp_take_syn_options(st, idx, seg);
    hash_insert(st, idx);
    l->syn_queued++;
    st->stats.tcp_passive_opens++;
    tcp_set_state(st, idx, WTCP_SYN_RECEIVED);
    tcp_output(st, idx); /* SYN-ACK */
}

/* A guest's segment to an address not ours, on an interface with an interception listener:
 * a SYN becomes a held connection in the listener's accept queue at once (its SYN-ACK
 * waits for wtcp_intercept_complete); anything else, with no connection, gets a RST. */
static void tcp_intercept_syn(wtcp_stack *st, const wire_ipv4 *ip, const wire_tcp *seg)
{
    uint8_t ifx = st->rx_if;
    if (ifx == IF_NONE || !st->ifs[ifx].intercept) {
        stack_drop(st, WTCP_DROP_IP_NOT_OURS);
        return;
    }
    uint32_t lidx = st->ifs[ifx].intercept - 1;
    if ((seg->flags & (WIRE_TCP_SYN | WIRE_TCP_ACK | WIRE_TCP_RST | WIRE_TCP_FIN)) != WIRE_TCP_SYN) {
        stack_drop(st, WTCP_DROP_TCP_NO_SOCKET);
        tcp_send_reset_reply(st, ip, seg);
        return;
    }
    tcp_conn *l = tc(st, lidx);
    if (l->accept_queued >= l->backlog) {
        stack_drop(st, WTCP_DROP_TCP_BACKLOG_FULL); /* the guest retries its SYN */
        return;
    }
    uint32_t idx = tcp_child_new(st, lidx, ip, seg, seg->seq);
    if (idx == WTCP_NONE)
        return;
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    s->lport = seg->dport; /* the guest's destination, not a port of ours */
    s->intercepted = 1;
    c->iss = tcp_isn(st, s);
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->snd_wnd = seg->win; /* unscaled in a SYN */
    c->max_snd_wnd = c->snd_wnd;
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = c->iss;
    tcp_take_syn_options(st, idx, seg);
    c->flags |= TF_HELD;
    hash_insert(st, idx);
    st->stats.tcp_passive_opens++;
    tcp_set_state(st, idx, WTCP_SYN_RECEIVED);
    tc(st, lidx)->syn_queued++;
    tcp_queue_to_listener(st, idx);
}

static void tcp_syn_sent_input(wtcp_stack *st, uint32_t idx, const wire_ipv4 *ip, const wire_tcp *seg)
{
    tcp_conn *c = tc(st, idx);
    int ack_ok = 0;
    if (seg->flags & WIRE_TCP_ACK) {
        if (seq_leq(seg->ack, c->iss) || seq_gt(seg->ack, c->snd_max)) {
            if (!(seg->flags & WIRE_TCP_RST))
                tcp_send_reset_reply(st, ip, seg);
            stack_drop(st, WTCP_DROP_TCP_BAD_ACK);
            return;
        }
        ack_ok = 1;
    }
    if (seg->flags & WIRE_TCP_RST) {
        if (ack_ok)
            tcp_done(st, idx, WTCP_ECONNREFUSED);
        else
            stack_drop(st, WTCP_DROP_TCP_RST_IGNORED);
        return;
    }
    if (!(seg->flags & WIRE_TCP_SYN)) {
        stack_drop(st, WTCP_DROP_TCP_BAD_FLAGS);
        return;
    }
    c->irs = seg->seq;
    c->rcv_nxt = seg->seq + 1;
    c->rcv_adv = c->rcv_nxt;
    tcp_take_syn_options(st, idx, seg);
    if (c->flags & TF_TS_OK)
        c->ts_recent = seg->opt.ts_val;
    if (ack_ok) {
        c->snd_una = seg->ack;
        c->snd_wnd = seg->win; /* never scaled in a SYN */
        c->max_snd_wnd = c->snd_wnd;
        c->snd_wl1 = seg->seq;
        c->snd_wl2 = seg->ack;
        if (!(c->flags & TF_SYN_REXMIT)) {
            if ((c->flags & TF_TS_OK) && seg->opt.ts_ecr)
                tcp_rtt_sample(c, tcp_ts_now(st, c) - seg->opt.ts_ecr);
            else
                tcp_rtt_sample(c, (uint32_t)(st->now - c->rtt_start));
        }
        tcp_disarm(st, idx, TCP_T_REXMIT);
        tcp_established(st, idx);
        c->flags |= TF_ACK_NOW;
        tcp_output(st, idx);
        return;
    }
    /* Simultaneous open (RFC 9293 figure 8): answer with SYN-ACK on our ISS. */
    c->snd_wnd = seg->win;
    c->max_snd_wnd = c->snd_wnd;
    c->snd_wl1 = seg->seq;
    c->snd_nxt = c->iss;
    tcp_set_state(st, idx, WTCP_SYN_RECEIVED);
    tcp_output(st, idx);
}

/* RFC 9293 3.10.7.4, first check: is the segment acceptable? */
static int tcp_seq_acceptable(const tcp_conn *c, uint32_t seq, uint32_t seglen)
{
    uint32_t wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    if (seglen == 0) {
        if (wnd == 0)
            return seq == c->rcv_nxt;
        /* A bare ACK exactly at the right edge is acceptable too (Linux tcp_sequence):
         * else two full windows answer each other's ACKs forever. */
        return seq_leq(c->rcv_nxt, seq) && seq_leq(seq, c->rcv_nxt + wnd);
    }
    if (wnd == 0)
        return seq == c->rcv_nxt; /* as Linux: take its ACK; the text is dropped later */
    return seq_in(seq, c->rcv_nxt, c->rcv_nxt + wnd) ||
           seq_in(seq + seglen - 1, c->rcv_nxt, c->rcv_nxt + wnd);
}

static void tcp_reset_received(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    int err;
    switch (c->state) {
    case WTCP_SYN_RECEIVED:
        /* Passive: back to LISTEN (the embryonic connection just goes away). */
        err = (c->flags & TF_ACTIVE) ? WTCP_ECONNREFUSED : WTCP_ECONNRESET;
        break;
    case WTCP_CLOSING:
    case WTCP_LAST_ACK:
    case WTCP_TIME_WAIT:
        err = 0;
        break;
    default:
        err = WTCP_ECONNRESET;
        break;
    }
    tcp_done(st, idx, err);
}

/* ---- ACK processing, one job per function ---- */

/* The send window (RFC 9293 3.10.7.4 fifth): taken from a segment newer than the last
 * update (SND.WL1/WL2), and from every segment that advances SND.UNA (Linux's
 * tcp_may_update_window): the window counts from the ACK that carried it, and a
 * retransmitted segment of the peer's (an older SEQ) with a newer ACK would otherwise move
 * SND.UNA on under the old window, so that we send past the peer's edge, and our
 * segments beyond it, ACKs included, are then unacceptable to it. Returns 1 when the
 * window changed. */
static int tcp_ack_window(wtcp_stack *st, uint32_t idx, const wire_tcp *seg)
{
    tcp_conn *c = tc(st, idx);
    uint32_t ack = seg->ack;
    if (!seq_leq(c->snd_una, ack) ||
        !(seq_lt(c->snd_una, ack) || seq_lt(c->snd_wl1, seg->seq) ||
          (c->snd_wl1 == seg->seq && seq_leq(c->snd_wl2, ack))))
        return 0;
    uint32_t win = (uint32_t)seg->win << c->snd_wscale;
    int changed = win != c->snd_wnd;
    c->snd_wnd = win;
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = ack;
    if (win > c->max_snd_wnd)
        c->max_snd_wnd = win;
    if (win > 0 && c->timer[TCP_T_PERSIST]) {
        tcp_disarm(st, idx, TCP_T_PERSIST);
        c->backoff = 0;
    }
    return changed;
}

/* An RTT sample from an ACK of new data: timestamps when negotiated, otherwise the timed
 * segment (Karn's rule). Only a valid sample undoes the backoff (RFC 6298 5.7, as
 * Linux). Returns the sample in ms, or UINT32_MAX when there is none. */
static uint32_t tcp_ack_rtt(wtcp_stack *st, tcp_conn *c, const wire_tcp *seg)
{
    uint32_t rtt = UINT32_MAX;
    if ((c->flags & TF_TS_OK) && seg->opt.has_ts && seg->opt.ts_ecr &&
        seq_geq(seg->opt.ts_ecr, c->ts_rxt_floor)) {
        /* An echo of a segment sent before our last retransmission may have waited for
         * that repair at the receiver (RFC 7323 4.3): no sample from it. */
        uint32_t r = tcp_ts_now(st, c) - seg->opt.ts_ecr;
        if (r < TCP_RTO_MAX_MS)
            rtt = r;
    } else if ((c->flags & TF_RTT_TIMING) && seq_gt(seg->ack, c->rtt_seq)) {
        rtt = (uint32_t)(st->now - c->rtt_start);
        c->flags &= ~(uint32_t)TF_RTT_TIMING;
    }
    if (rtt != UINT32_MAX) {
        tcp_rtt_sample(c, rtt);
        c->backoff = 0;
    }
    return rtt;
}

/* The highest sequence SACKed so far. Returns 1 when this segment SACKs data above it:
 * RFC 6675's DupAck, which counts even when the segment carries data (full duplex). */
static int tcp_ack_sack_high(tcp_conn *c, const wire_tcp *seg)
{
    int sack_new = 0;
    if (!(c->flags & TF_SACK_OK) || !seg->opt.sack_count)
        return 0;
    if (seq_lt(c->sack_high, c->snd_una))
        c->sack_high = c->snd_una;
    for (uint32_t k = 0; k < seg->opt.sack_count; k++) {
        uint32_t right = seg->opt.sack[k][1];
        if (seq_gt(right, c->sack_high) && seq_leq(right, c->snd_max)) {
            c->sack_high = right;
            sack_new = 1;
        }
    }
    return sack_new;
}

/* A hole below SACKed data filled without a retransmission: the network reorders by this
 * many segments; wait for that many duplicates (as Linux's tp->reordering), up to
 * TCP_MAX_DUPTHRESH. (A real loss above the hole can inflate this past the window;
 * tcp_dupthresh() then uses half the flight.) */
static void tcp_ack_reordering(tcp_conn *c)
{
    if (!(c->flags & TF_SACK_OK) || c->in_recovery || !c->scoreboard.count ||
        !seq_geq(c->snd_una, c->high_rxt) || !seq_gt(c->sack_high, c->snd_una))
        return;
    uint32_t degree = (c->sack_high - c->snd_una) / c->snd_mss + 1;
    if (degree > TCP_MAX_DUPTHRESH)
        degree = TCP_MAX_DUPTHRESH;
    if (degree > c->dupthresh)
        c->dupthresh = degree;
}

/* SND.UNA advances to ack: the send buffer releases what was delivered, marks move up
 * with it. Returns the data bytes acknowledged; *fin_acked when it covers our FIN. */
static uint32_t tcp_ack_advance(wtcp_stack *st, uint32_t idx, uint32_t ack, int *fin_acked)
{
    tcp_conn *c = tc(st, idx);
    uint32_t acked = ack - c->snd_una;
    uint32_t data_acked = acked < c->sndbuf.len ? acked : c->sndbuf.len;
    if (data_acked && tcp_snd_room(c) == 0)
        c->flags |= TF_SND_BLOCKED; /* it was full: report the room this ACK makes */
    ring_consume(&c->sndbuf, data_acked);
    if (data_acked && c->sndbuf.len == 0)
        tcp_buf_emptied(st, idx);
    c->bytes_acked += data_acked;
    *fin_acked = (c->flags & TF_FIN_SENT) && acked > data_acked;
    if (*fin_acked)
        c->flags |= TF_FIN_ACKED;
    tcp_ack_reordering(c);
    c->snd_una = ack;
    if (seq_lt(c->snd_nxt, c->snd_una))
        c->snd_nxt = c->snd_una;
    /* Marks below SND.UNA move up with it, so that they never fall 2^31 behind and
     * compare the wrong way round. */
    if (seq_lt(c->sack_high, c->snd_una))
        c->sack_high = c->snd_una;
    if (seq_lt(c->high_rxt, c->snd_una))
        c->high_rxt = c->snd_una;
    tcp_sack_advance(c, acked);
    c->retries = 0;
    c->soft_error = 0; /* the path works again (Linux clears sk_err_soft too) */
    c->una_since = st->now;
    c->dupacks = 0;
    if (c->snd_una == c->snd_max)
        tcp_disarm(st, idx, TCP_T_REXMIT);
    else
        tcp_arm(st, idx, TCP_T_REXMIT, st->now + tcp_rto_backed_off(c));
    tcp_tlp_schedule(st, idx);
    if ((c->flags & TF_SND_BLOCKED) && tcp_snd_room(c) > 0 && !(c->flags & TF_FIN_QUEUED)) {
        c->flags &= ~(uint32_t)TF_SND_BLOCKED;
        sock_event(st, idx, WTCP_EV_WRITABLE);
    }
    return data_acked;
}

/* Our FIN is acknowledged (RFC 9293 3.10.7.4 fifth, per state). Returns -1 when the
 * connection is gone. */
static int tcp_ack_fin(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    switch (c->state) {
    case WTCP_FIN_WAIT_1:
        tcp_set_state(st, idx, WTCP_FIN_WAIT_2);
        if (!sk(st, idx)->user_owned)
            tcp_arm(st, idx, TCP_T_LINGER, st->now + TCP_FIN_TIMEOUT_MS);
        return 0;
    case WTCP_CLOSING:
        tcp_enter_time_wait(st, idx);
        return 0;
    case WTCP_LAST_ACK:
        tcp_done(st, idx, 0);
        return -1;
    default:
        return 0;
    }
}

void tcp_enter_recovery(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    tcp_cc_enter_recovery(c);
    st->stats.tcp_recoveries++;
    c->recover = c->snd_max;
    c->in_recovery = 1;
    tcp_disarm(st, idx, TCP_T_TLP);
    if (c->flags & TF_SACK_OK) {
        /* RFC 6675 5 step 4: the first hole goes at once; PRR leaves room for it. */
        c->high_rxt = c->snd_una;
        if (c->rack.lost == 0)
            tcp_rack_mark_head_lost(st, c);
    } else {
        tcp_retransmit_head(st, idx); /* RFC 6582 3.2 step 2 */
    }
    tcp_arm(st, idx, TCP_T_REXMIT, st->now + tcp_rto_backed_off(c));
}

/* Loss recovery driven by this ACK (RFC 6675 with RACK and PRR, or RFC 6582 without SACK):
 * leave it on a full acknowledgment, mark losses, enter it when there are some, and pace
 * what recovery sends. acked: how far SND.UNA moved; delivered: that plus the change in
 * SACKed bytes. */
static void tcp_ack_recovery(wtcp_stack *st, uint32_t idx, uint32_t acked, uint32_t delivered)
{
    tcp_conn *c = tc(st, idx);
    int sack = (c->flags & TF_SACK_OK) != 0;
    if (c->in_recovery && acked && seq_geq(c->snd_una, c->recover)) {
        /* Full acknowledgment: recovery is over (RFC 6582 3.2 step 3, RFC 6937). */
        c->in_recovery = 0;
        tcp_cc_exit_recovery(c);
        tcp_rack_recovery_done(c);
    }
    if (c->in_recovery && acked && !sack) {
        /* Partial acknowledgment: resend the next hole, deflate (RFC 6582 step 4). */
        tcp_retransmit_head(st, idx);
        tcp_cc_newreno_partial_ack(c, acked);
    }
    /* RACK (and the dupthresh rule beside it) marks what is lost, lost retransmissions
     * included (RFC 8985 6.2). */
    if (sack && c->snd_max != c->snd_una)
        tcp_rack_detect_loss(st, idx);
    /* Enter loss recovery once something is lost (or three duplicate ACKs came), once per
     * window of data (RFC 6582 4.1). */
    if (!c->in_recovery && c->snd_max != c->snd_una && seq_geq(c->snd_una, c->recover) &&
        ((sack && c->rack.lost > 0) || c->dupacks >= tcp_dupthresh(c)))
        tcp_enter_recovery(st, idx);
    if (c->in_recovery && sack)
        tcp_cc_prr_ack(c, delivered, tcp_rack_pipe(c));
}

/* ACK processing in the synchronized states. Returns 0 to go on with the segment,
 * -1 when it was dropped or the connection is gone. */
static int tcp_process_ack(wtcp_stack *st, uint32_t idx, const wire_tcp *seg)
{
    tcp_conn *c = tc(st, idx);
    uint32_t ack = seg->ack;
    if (seq_gt(ack, c->snd_max)) {
        /* Acknowledges something never sent: ACK and drop (RFC 9293), the ACK being a
         * challenge ACK under RFC 5961's rate limit (5.2, 7), so a flood of forged ACKs
         * draws at most TCP_CHALLENGE_ACK_LIMIT replies a second. */
        tcp_send_challenge_ack(st, idx);
        stack_drop(st, WTCP_DROP_TCP_BAD_ACK);
        return -1;
    }
    if (seq_lt(ack, c->snd_una - c->max_snd_wnd)) {
        tcp_send_challenge_ack(st, idx);
        stack_drop(st, WTCP_DROP_TCP_BAD_ACK);
        return -1;
    }
    uint32_t old_una = c->snd_una;
    int window_changed = tcp_ack_window(st, idx, seg);
    int sack_new = tcp_ack_sack_high(c, seg);
    uint32_t sacked_before = asm_bytes(&c->scoreboard);
    uint32_t acked = 0, data_acked = 0;
    int fin_acked = 0;
    if (seq_gt(ack, c->snd_una)) {
        acked = ack - c->snd_una;
        uint32_t flight = c->snd_max - c->snd_una;
        uint32_t rtt = tcp_ack_rtt(st, c, seg);
        data_acked = tcp_ack_advance(st, idx, ack, &fin_acked);
        if (!c->in_recovery)
            tcp_cc_on_ack(st, c, ack, data_acked ? data_acked : acked, flight, rtt);
    } else if (ack == c->snd_una && c->snd_max != c->snd_una &&
               (sack_new || (seg->payload_len == 0 && !window_changed &&
                             !(seg->flags & (WIRE_TCP_SYN | WIRE_TCP_FIN))))) {
        /* Duplicate ACK (RFC 5681 section 2). */
        c->dupacks++;
        if (c->in_recovery && !(c->flags & TF_SACK_OK))
            tcp_cc_newreno_dupack(c); /* a segment left the network */
    }
    int dsack = 0;
    if ((c->flags & TF_SACK_OK) && seg->opt.sack_count) {
        dsack = tcp_sack_dsack(c, seg);
        if (dsack)
            tcp_rack_dsack(st, c);
        tcp_sack_update(c, seg);
    }
    tcp_rack_on_ack(st, c, old_una, seg);
    tcp_tlp_on_ack(c, dsack);
    uint32_t sacked_after = asm_bytes(&c->scoreboard);
    uint32_t delivered = acked + sacked_after - sacked_before; /* RFC 6937 DeliveredData */
    if ((int32_t)delivered < 0)
        delivered = 0;
    tcp_ack_recovery(st, idx, acked, delivered);
    if (fin_acked && tcp_ack_fin(st, idx) < 0)
        return -1;
    return 0;
}

/* Puts segment text into the receive buffer (RFC 9293 3.10.7.4, seventh). */
static void tcp_receive_data(wtcp_stack *st, uint32_t idx, uint32_t seq, const uint8_t *data, uint32_t len)
{
    tcp_conn *c = tc(st, idx);
    if (seq_lt(seq, c->rcv_nxt)) {
        uint32_t skip = c->rcv_nxt - seq;
        if (c->flags & TF_SACK_OK) {
            /* Report what arrived twice (D-SACK, RFC 2883). */
            c->dsack_start = seq;
            c->dsack_end = skip < len ? c->rcv_nxt : seq + len;
            c->flags |= TF_DSACK;
        }
        if (skip >= len) {
            c->flags |= TF_ACK_NOW | TF_ACK_ALONE; /* a duplicate: tell the peer where we are */
            if (c->quickacks < TCP_MAX_QUICKACKS)
                c->quickacks = TCP_MAX_QUICKACKS; /* as tcp_quickack_on_dup */
            return;
        }
        seq += skip;
        data += skip;
        len -= skip;
    }
    uint32_t off = seq - c->rcv_nxt;
    /* Keep what the window we advertised offered: tcp_select_window never offers more
     * than SO_RCVBUF holds, and the buffer grows to take it. */
    uint32_t room = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    if (off >= room) {
        stack_drop(st, WTCP_DROP_TCP_OUT_OF_WINDOW);
        c->flags |= TF_ACK_NOW;
        return;
    }
    if (len > room - off)
        len = room - off;
    if (tcp_rcvbuf_reserve(st, c, c->rcvbuf.len + off + len) < 0) {
        stack_drop(st, WTCP_DROP_TCP_NO_MEMORY); /* the peer resends it */
        c->flags |= TF_ACK_NOW;
        return;
    }
    if (len > c->rcv_mss && len <= c->snd_mss + 64)
        c->rcv_mss = len;
    if (c->rcv_mss < len && len <= 65535)
        c->rcv_mss = len;
    if (off > 0) {
        if ((c->flags & TF_SACK_OK) && asm_covers(&c->ooo, off, off + len)) {
            c->dsack_start = seq; /* out-of-order data we already hold: D-SACK it */
            c->dsack_end = seq + len;
            c->flags |= TF_DSACK;
        }
        if (asm_add(&c->ooo, off, off + len) < 0) {
            stack_drop(st, WTCP_DROP_TCP_OOO_FULL);
        } else {
            ring_write_at(&c->rcvbuf, off, data, len);
        }
        c->flags |= TF_ACK_NOW | TF_ACK_ALONE; /* out of order: ACK at once (RFC 5681 4.2) */
        return;
    }
    int had_holes = c->ooo.count > 0;
    ring_write_at(&c->rcvbuf, 0, data, len);
    uint32_t n;
    if (asm_add(&c->ooo, 0, len) == 0) {
        n = asm_take_front(&c->ooo); /* with whatever out-of-order data it now joins */
    } else {
        /* The range list is full and this segment touches none of them: it is in
         * order all the same, so deliver it and move the ranges down. */
        n = len;
        asm_shift(&c->ooo, len);
    }
    ring_commit(&c->rcvbuf, n);
    c->rcv_nxt += n;
    c->bytes_received += n;
    sock_event(st, idx, WTCP_EV_READABLE);
    if (c->quickacks == 0 && c->bytes_received == n) {
        /* First data: start in quick-ACK mode as Linux does (tcp_incr_quickack). */
        uint32_t q = tcp_rcv_space(c) / (2 * c->rcv_mss);
        c->quickacks = q < 2 ? 2 : q > TCP_MAX_QUICKACKS ? TCP_MAX_QUICKACKS : q;
    }
    /* More than one full segment unacknowledged: ACK now (Linux's __tcp_ack_snd_check).
     * Not "two full segments": segments that carry SACK blocks are shorter than rcv_mss,
     * and two of them would wait for the delayed-ACK timer. */
    /* A hole filled: the sender just repaired a loss with a small window; ACK every
     * segment for a while so its ACK clock does not wait on our delayed-ACK timer (Linux
     * did so on out-of-order data before it compressed SACKs; RFC 5681 4.2 allows it). */
    if (had_holes) {
        c->flags |= TF_ACK_ALONE;
        if (c->quickacks < TCP_MAX_QUICKACKS)
            c->quickacks = TCP_MAX_QUICKACKS;
    }
    if (had_holes || c->quickacks > 0 || c->rcv_nxt - c->last_ack_sent > c->rcv_mss)
        c->flags |= TF_ACK_NOW;
    else if (!c->timer[TCP_T_DELACK])
        tcp_arm(st, idx, TCP_T_DELACK, st->now + TCP_DELACK_MS);
}

static void tcp_fin_received(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    c->rcv_nxt++;
    c->flags |= TF_RCVD_FIN | TF_ACK_NOW;
    c->flags &= ~(uint32_t)TF_OOO_FIN;
    sock_event(st, idx, WTCP_EV_READABLE);
    switch (c->state) {
    case WTCP_SYN_RECEIVED:
    case WTCP_ESTABLISHED:
        tcp_set_state(st, idx, WTCP_CLOSE_WAIT);
        break;
    case WTCP_FIN_WAIT_1:
        /* Our FIN not yet acknowledged (else we would be in FIN-WAIT-2): simultaneous close. */
        tcp_set_state(st, idx, WTCP_CLOSING);
        break;
    case WTCP_FIN_WAIT_2:
        tcp_disarm(st, idx, TCP_T_LINGER);
        tcp_enter_time_wait(st, idx);
        break;
    default:
        break;
    }
}

static void tcp_time_wait_fin(wtcp_stack *st, uint32_t idx);

/* A segment dropped unprocessed (PAWS, outside the window) that carried data we already
 * have: say so with a D-SACK (RFC 2883; Linux's tcp_send_dupack), so the sender can undo a
 * needless retransmission. A reordered original that arrives after its retransmission
 * fails PAWS, so without this a path that reorders never undoes a reduction. */
static void tcp_dsack_old_data(tcp_conn *c, const wire_tcp *seg)
{
    uint32_t end = seg->seq + (uint32_t)seg->payload_len;
    if (!(c->flags & TF_SACK_OK) || !seg->payload_len || !seq_lt(seg->seq, c->rcv_nxt))
        return;
    c->dsack_start = seg->seq;
    c->dsack_end = seq_gt(end, c->rcv_nxt) ? c->rcv_nxt : end;
    c->flags |= TF_DSACK;
}

/* Data arrived again or outside the window: the sender is retransmitting, so its window is
 * small and it waits on our ACKs; ACK every segment for a while (Linux's
 * tcp_enter_quickack_mode in tcp_data_queue). */
static void tcp_quickack_on_dup(tcp_conn *c, const wire_tcp *seg)
{
    if (seg->payload_len && c->quickacks < TCP_MAX_QUICKACKS)
        c->quickacks = TCP_MAX_QUICKACKS;
}

static void tcp_update_ts_recent(const wtcp_stack *st, tcp_conn *c, const wire_tcp *seg)
{
    if ((c->flags & TF_TS_OK) && seg->opt.has_ts && seq_leq(seg->seq, c->last_ack_sent) &&
        seq_geq(seg->opt.ts_val, c->ts_recent)) {
        c->ts_recent = seg->opt.ts_val;
        c->ts_recent_stamp = st->now;
    }
}

static void tcp_synchronized_input(wtcp_stack *st, uint32_t idx, const wire_ipv4 *ip, const wire_tcp *seg)
{
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    uint32_t seglen = (uint32_t)seg->payload_len + ((seg->flags & WIRE_TCP_SYN) ? 1 : 0) +
                      ((seg->flags & WIRE_TCP_FIN) ? 1 : 0);

    /* A retransmitted SYN in SYN-RECEIVED: our SYN-ACK was lost; send it again. */
    if (tcp_syn_unacked(c) && !(c->flags & TF_ACTIVE) && (seg->flags & WIRE_TCP_SYN) && !(seg->flags & WIRE_TCP_ACK) &&
        !(seg->flags & WIRE_TCP_RST) && seg->seq == c->irs) {
        c->snd_nxt = c->iss;
        tcp_output(st, idx);
        return;
    }

    /* Simultaneous open: the peer's SYN-ACK that exactly answers ours is its ACK of our
     * SYN, not a new SYN (RFC 9293 figure 8; Linux's exception to RFC 5961 4.2). */
    int simopen_synack = tcp_syn_unacked(c) && (c->flags & TF_ACTIVE) &&
                         (seg->flags & (WIRE_TCP_SYN | WIRE_TCP_ACK | WIRE_TCP_RST)) ==
                             (WIRE_TCP_SYN | WIRE_TCP_ACK) &&
                         seg->seq + 1 == c->rcv_nxt && seq_in(seg->ack, c->iss + 1, c->snd_max + 1) &&
                         seg->payload_len == 0;

    c->last_rcv = st->now; /* the peer is alive (keepalive) */
    c->ka_probes = 0;

    /* PAWS (RFC 7323 5.3). */
    if ((c->flags & TF_TS_OK) && seg->opt.has_ts && !(seg->flags & WIRE_TCP_RST) &&
        seq_lt(seg->opt.ts_val, c->ts_recent) &&
        st->now - c->ts_recent_stamp < 24ull * 24 * 3600 * 1000) {
        stack_drop(st, WTCP_DROP_TCP_PAWS);
        tcp_dsack_old_data(c, seg);
        tcp_quickack_on_dup(c, seg);
        tcp_send_ack(st, idx);
        return;
    }

    if (!simopen_synack && !tcp_seq_acceptable(c, seg->seq, seglen)) {
        if (c->state == WTCP_TIME_WAIT && (seg->flags & WIRE_TCP_FIN) && !(seg->flags & WIRE_TCP_RST) &&
            seg->seq + (uint32_t)seg->payload_len + 1 == c->rcv_nxt) {
            tcp_time_wait_fin(st, idx); /* the peer's FIN again: our ACK was lost */
            return;
        }
        /* Data all below RCV.NXT is a duplicate (a needless resend, or one the network
         * copied), counted apart from what really lies outside the window. */
        int dup = seg->payload_len && !(seg->flags & (WIRE_TCP_SYN | WIRE_TCP_RST)) &&
                  seq_leq(seg->seq + (uint32_t)seg->payload_len, c->rcv_nxt);
        stack_drop(st, dup ? WTCP_DROP_TCP_DUPLICATE : WTCP_DROP_TCP_OUT_OF_WINDOW);
        if (!(seg->flags & WIRE_TCP_RST)) {
            tcp_dsack_old_data(c, seg);
            tcp_quickack_on_dup(c, seg);
            tcp_send_ack(st, idx);
        }
        return;
    }

    if (seg->flags & WIRE_TCP_RST) {
        /* RFC 5961 3.2: exact match resets, otherwise a challenge ACK. */
        if (seg->seq == c->rcv_nxt)
            tcp_reset_received(st, idx);
        else {
            stack_drop(st, WTCP_DROP_TCP_RST_IGNORED);
            tcp_send_challenge_ack(st, idx);
        }
        return;
    }

    if ((seg->flags & WIRE_TCP_SYN) && !simopen_synack && c->state == WTCP_SYN_RECEIVED &&
        !(c->flags & TF_ACTIVE)) {
        /* RFC 9293 3.10.7.4 fourth: from a passive OPEN, back to LISTEN: the embryonic
         * connection goes away without a reply. */
        stack_drop(st, WTCP_DROP_TCP_BAD_FLAGS);
        tcp_done(st, idx, 0);
        return;
    }
    if ((seg->flags & WIRE_TCP_SYN) && !simopen_synack) {
        /* RFC 5961 4.2: a SYN in a synchronized state gets a challenge ACK. */
        stack_drop(st, WTCP_DROP_TCP_BAD_FLAGS);
        tcp_send_challenge_ack(st, idx);
        return;
    }

    if (!(seg->flags & WIRE_TCP_ACK)) {
        stack_drop(st, WTCP_DROP_TCP_BAD_FLAGS);
        return;
    }

    if (tcp_syn_unacked(c)) {
        if (!(seq_lt(c->snd_una, seg->ack) && seq_leq(seg->ack, c->snd_max))) {
            tcp_send_reset_reply(st, ip, seg);
            stack_drop(st, WTCP_DROP_TCP_BAD_ACK);
            return;
        }
        if (c->parent != WTCP_NONE && !s->user_owned) {
            tcp_conn *l = tc(st, c->parent);
            if (l->accept_queued > l->backlog) {
                /* Accept queue full: ignore the ACK, the SYN-ACK will be resent (Linux). */
                stack_drop(st, WTCP_DROP_TCP_BACKLOG_FULL);
                return;
            }
        }
        if (!(c->flags & TF_SYN_REXMIT)) {
            if ((c->flags & TF_TS_OK) && seg->opt.has_ts && seg->opt.ts_ecr)
                tcp_rtt_sample(c, tcp_ts_now(st, c) - seg->opt.ts_ecr);
            else
                tcp_rtt_sample(c, (uint32_t)(st->now - c->rtt_start));
        }
        c->snd_una = seg->ack;
        if (seq_lt(c->snd_nxt, c->snd_una))
            c->snd_nxt = c->snd_una;
        c->snd_wnd = (uint32_t)seg->win << c->snd_wscale;
        c->max_snd_wnd = c->snd_wnd;
        c->snd_wl1 = seg->seq;
        c->snd_wl2 = seg->ack;
        tcp_disarm(st, idx, TCP_T_REXMIT);
        tcp_established(st, idx);
        if (c->flags & TF_FIN_SENT) {
            /* FIN-WAIT-1 since a close() in SYN-RECEIVED: this ACK may cover our FIN too. */
            if (seq_gt(c->snd_una, c->iss + 1)) {
                c->flags |= TF_FIN_ACKED;
                tcp_set_state(st, idx, WTCP_FIN_WAIT_2);
                if (!s->user_owned)
                    tcp_arm(st, idx, TCP_T_LINGER, st->now + TCP_FIN_TIMEOUT_MS);
            } else {
                tcp_arm(st, idx, TCP_T_REXMIT, st->now + tcp_rto_backed_off(c));
            }
        }
    } else {
        /* TS.Recent first, so segments sent while processing this ACK (a fast
         * retransmit) echo this segment (RFC 7323 4.3; Linux updates it in tcp_ack). */
        if (seq_leq(seg->ack, c->snd_max))
            tcp_update_ts_recent(st, c, seg);
        if (tcp_process_ack(st, idx, seg) < 0)
            return;
        if (!sk(st, idx)->in_use || c->state == WTCP_CLOSED)
            return;
    }

    /* TS.Recent (RFC 7323 4.3), only from a segment whose ACK was acceptable (Linux). */
    tcp_update_ts_recent(st, c, seg);

    /* Segment text. */
    if (seg->payload_len) {
        if (c->state == WTCP_ESTABLISHED || c->state == WTCP_FIN_WAIT_1 || c->state == WTCP_FIN_WAIT_2) {
            if (!s->user_owned && (c->flags & TF_RD_SHUT) && seq_gt(seg->seq + (uint32_t)seg->payload_len, c->rcv_nxt)) {
                /* Data for a socket nobody will read: abort (RFC 9293 3.10.4 / Linux). */
                tcp_send_rst(st, idx);
                tcp_done(st, idx, WTCP_ECONNABORTED);
                return;
            }
            tcp_receive_data(st, idx, seg->seq, seg->payload, (uint32_t)seg->payload_len);
        } else if (seq_gt(seg->seq + (uint32_t)seg->payload_len, c->rcv_nxt)) {
            /* Text after the peer's FIN: nothing legitimate; ACK what we have. */
            c->flags |= TF_ACK_NOW;
        }
    }

    /* FIN (eighth). */
    if ((seg->flags & WIRE_TCP_FIN) && !(c->flags & TF_RCVD_FIN)) {
        uint32_t fin_seq = seg->seq + (uint32_t)seg->payload_len;
        if (fin_seq == c->rcv_nxt) {
            tcp_fin_received(st, idx);
        } else if (seq_gt(fin_seq, c->rcv_nxt)) {
            c->flags |= TF_OOO_FIN | TF_ACK_NOW;
            c->rcv_fin_seq = fin_seq;
        }
    } else if ((seg->flags & WIRE_TCP_FIN) && c->state == WTCP_TIME_WAIT) {
        tcp_time_wait_fin(st, idx);
        return;
    } else if ((seg->flags & WIRE_TCP_FIN)) {
        c->flags |= TF_ACK_NOW; /* retransmitted FIN: our ACK was lost */
    }
    if ((c->flags & TF_OOO_FIN) && c->rcv_nxt == c->rcv_fin_seq)
        tcp_fin_received(st, idx);

    /* A batch merges the ACKs of in-order data as Linux's GRO merges the segments; data
     * out of order, a duplicate, or one that filled a hole is ACKed at once (TF_ACK_ALONE):
     * the sender then recovers a loss with a small window, each ACK clocks out a segment,
     * and one ACK for several can be lost with nothing behind it but the RTO (at 5 % loss
     * merged ACKs gave 1.7 times the timeouts). */
    if (st->input_more && !(tc(st, idx)->flags & TF_ACK_ALONE)) {
        /* More packets follow in this batch: one ACK (and one burst of new data) for
         * all of them, sent when the batch ends (wtcp_input_more). */
        sock_want_output(st, idx);
        st->output_deferred = 1;
        return;
    }
    tcp_output(st, idx);
}

static void tcp_time_wait_fin(wtcp_stack *st, uint32_t idx)
{
    /* A retransmitted FIN: ACK it and restart the 2MSL wait (RFC 9293 3.10.7.4). */
    tc(st, idx)->flags |= TF_ACK_NOW;
    tcp_arm(st, idx, TCP_T_LINGER, st->now + st->cfg.time_wait_ms);
    tcp_output(st, idx);
}

void tcp_input(wtcp_stack *st, const wire_ipv4 *ip)
{
    wire_tcp seg;
    int r = wire_tcp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, 1, &seg);
    if (r != WIRE_OK) {
        stack_drop(st, r);
        return;
    }
    st->stats.tcp_in++;
    uint8_t f = seg.flags;
    if (((f & WIRE_TCP_SYN) && (f & WIRE_TCP_FIN)) || ((f & WIRE_TCP_SYN) && (f & WIRE_TCP_RST)) ||
        seg.sport == 0 || seg.dport == 0) {
        stack_drop(st, WTCP_DROP_TCP_BAD_FLAGS);
        return;
    }
    uint32_t idx = hash_lookup(st, ip->dst, seg.dport, ip->src, seg.sport);
    if (idx != WTCP_NONE) {
        tcp_conn *c = tc(st, idx);
        c->segs_in++;
        if (c->flags & TF_HELD) { /* the guest's SYN again, while the application decides */
            if (f & WIRE_TCP_RST)
                tcp_done(st, idx, WTCP_ECONNRESET);
            else
                stack_drop(st, WTCP_DROP_TCP_DUPLICATE);
            return;
        }
        if (c->state == WTCP_TIME_WAIT && (f & WIRE_TCP_SYN) && !(f & WIRE_TCP_ACK)) {
            /* RFC 6191 / 1122 4.2.2.13: a new SYN above RCV.NXT (or with a newer timestamp)
             * may reopen the connection through a listener. */
            uint32_t lidx = hash_lookup(st, ip->dst, seg.dport, 0, 0);
            int newer = seq_gt(seg.seq, c->rcv_nxt) ||
                        ((c->flags & TF_TS_OK) && seg.opt.has_ts && seq_gt(seg.opt.ts_val, c->ts_recent));
            if (lidx != WTCP_NONE && newer) {
                tcp_done(st, idx, 0);
                tcp_listen_input(st, lidx, ip, &seg);
                return;
            }
        }
        if (c->state == WTCP_SYN_SENT)
            tcp_syn_sent_input(st, idx, ip, &seg);
        else if (c->state == WTCP_LISTEN)
            tcp_listen_input(st, idx, ip, &seg);
        else if (c->state == WTCP_CLOSED)
            tcp_send_reset_reply(st, ip, &seg);
        else
            tcp_synchronized_input(st, idx, ip, &seg);
        sock_slot *s = sk(st, idx);
        if (s->in_use && !s->user_owned && s->type == WTCP_SOCK_STREAM && s->u.tcp.state == WTCP_TIME_WAIT)
            tcp_tw_enter(st, idx);
        return;
    }
    if (tcp_tw_input(st, ip, &seg))
        return;
    if (if_local(st, ip->dst) == IF_NONE) { /* to elsewhere: only interception gets here */
        tcp_intercept_syn(st, ip, &seg);
        return;
    }
    idx = hash_lookup(st, ip->dst, seg.dport, 0, 0);
    if (idx != WTCP_NONE && tc(st, idx)->state == WTCP_LISTEN) {
        tc(st, idx)->segs_in++;
        tcp_listen_input(st, idx, ip, &seg);
        return;
    }
    stack_drop(st, WTCP_DROP_TCP_NO_SOCKET);
    tcp_send_reset_reply(st, ip, &seg);
}

void tcp_icmp_error(wtcp_stack *st, const wire_icmp *icmp, const wire_ipv4 *qip, const uint8_t *ql4,
                    size_t qlen)
{
    if (qlen < 8) {
        stack_drop(st, WTCP_DROP_ICMP_MALFORMED);
        return;
    }
    uint16_t sport = wire_get16(ql4), dport = wire_get16(ql4 + 2);
    uint32_t seq = wire_get32(ql4 + 4);
    uint32_t idx = hash_lookup(st, qip->src, sport, qip->dst, dport);
    if (idx == WTCP_NONE) {
        stack_drop(st, WTCP_DROP_ICMP_IGNORED);
        return;
    }
    tcp_conn *c = tc(st, idx);
    /* RFC 5927 4.1: only believe errors that quote a sequence number in flight. */
    if (!(seq_leq(c->snd_una, seq) && seq_lt(seq, c->snd_max)) && !(c->snd_una == seq)) {
        stack_drop(st, WTCP_DROP_ICMP_IGNORED);
        return;
    }
    if (icmp->type != WIRE_ICMP_DEST_UNREACH) {
        stack_drop(st, WTCP_DROP_ICMP_IGNORED);
        return;
    }
    switch (icmp->code) {
    case WIRE_ICMP_FRAG_NEEDED: {
        /* RFC 1191: lower the path MTU; resend what no longer fits. */
        uint32_t mtu = icmp->rest & 0xffff;
        if (mtu < 68 || mtu >= c->path_mtu)
            return;
        if (mtu < 576)
            mtu = 576;
        c->path_mtu = mtu;
        uint32_t old = c->snd_mss;
        tcp_update_mss(st, idx);
        if (c->snd_mss < old && c->snd_max != c->snd_una && tcp_have_established(c->state)) {
            c->snd_nxt = c->snd_una;
            c->flags &= ~(uint32_t)TF_RTT_TIMING;
            tcp_output(st, idx);
        }
        return;
    }
    case WIRE_ICMP_PORT_UNREACH:
    case WIRE_ICMP_PROTO_UNREACH:
        if (c->state == WTCP_SYN_SENT) {
            tcp_done(st, idx, WTCP_ECONNREFUSED);
            return;
        }
        c->soft_error = WTCP_ECONNREFUSED;
        return;
    case WIRE_ICMP_NET_UNREACH:
        c->soft_error = WTCP_ENETUNREACH;
        return;
    default:
        c->soft_error = WTCP_EHOSTUNREACH;
        return;
    }
}
