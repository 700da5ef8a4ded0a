/* tcp_timer.c: per-connection deadlines: retransmission with RFC 6298 RTO, Karn's rule and
 * exponential backoff; zero-window persist; delayed ACK (RFC 1122 4.2.3.2); TIME-WAIT 2MSL
 * and the orphaned FIN-WAIT-2 timeout. */
#include "tcp/tcp.h"

void tcp_arm(wtcp_stack *st, uint32_t idx, int timer, uint64_t when)
{
    if (when == 0)
        when = 1;
    tc(st, idx)->timer[timer] = when;
    sock_timers_changed(st, idx);
}

void tcp_disarm(wtcp_stack *st, uint32_t idx, int timer)
{
    if (!tc(st, idx)->timer[timer])
        return;
    tc(st, idx)->timer[timer] = 0;
    sock_timers_changed(st, idx);
}

uint32_t tcp_rto_backed_off(const tcp_conn *c)
{
    uint64_t rto = (uint64_t)c->rto << (c->backoff < 20 ? c->backoff : 20);
    return rto > TCP_RTO_MAX_MS ? TCP_RTO_MAX_MS : (uint32_t)rto;
}

/* RFC 6298 section 2 with Linux's floor: RTO = SRTT + max(4 * RTTVAR, RTO_MIN), RTO_MIN
 * 200 ms unless cfg.rto_min_ms or WTCP_TCP_RTO_MIN chose another (Linux's per-route
 * rto_min and TCP_RTO_MIN_US). */
void tcp_rtt_sample(tcp_conn *c, uint32_t rtt)
{
    if (rtt > TCP_RTO_MAX_MS)
        rtt = TCP_RTO_MAX_MS;
    if (c->srtt8 == 0) {
        c->srtt8 = rtt ? rtt * 8 : 1;
        c->rttvar4 = rtt * 2; /* RTTVAR = R/2, stored x4 */
    } else {
        int32_t err = (int32_t)rtt - (int32_t)(c->srtt8 / 8);
        uint32_t aerr = (uint32_t)(err < 0 ? -err : err);
        /* RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|;  SRTT = 7/8 SRTT + 1/8 R */
        c->rttvar4 = c->rttvar4 - c->rttvar4 / 4 + aerr;
        c->srtt8 = c->srtt8 - c->srtt8 / 8 + rtt;
        if (c->srtt8 == 0)
            c->srtt8 = 1;
    }
    uint32_t var = c->rttvar4; /* = 4 * RTTVAR */
    if (var < c->rto_min)
        var = c->rto_min;
    uint32_t rto = c->srtt8 / 8 + var;
    c->rto = rto > TCP_RTO_MAX_MS ? TCP_RTO_MAX_MS : rto;
}

static void tcp_timeout_rexmit(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    uint32_t limit;
    if (c->state == WTCP_SYN_SENT)
        limit = st->cfg.syn_retries;
    else if (tcp_syn_unacked(c))
        limit = st->cfg.synack_retries;
    else
        limit = st->cfg.data_retries;
    if (c->snd_una == c->snd_max && !tcp_syn_unacked(c))
        return; /* nothing outstanding */
    uint32_t user_timeout = sk(st, idx)->user_timeout_ms;
    if (user_timeout ? st->now - c->una_since >= user_timeout : c->retries >= limit) {
        int err = c->soft_error ? c->soft_error : WTCP_ETIMEDOUT;
        tcp_done(st, idx, err);
        return;
    }
    c->retries++;
    c->backoff++;
    st->stats.tcp_timeouts++;
    c->flags &= ~(uint32_t)TF_RTT_TIMING; /* Karn: never time a retransmitted segment */
    if (tcp_syn_unacked(c)) {
        c->flags |= TF_SYN_REXMIT;
        c->snd_nxt = c->iss;
        c->total_retrans++;
        c->ts_rxt_floor = tcp_ts_now(st, c);
        st->stats.tcp_retransmits++;
    } else {
        /* RFC 5681 section 3.1, (4): after a timeout, one segment and slow start. */
        c->dupthresh = TCP_DUPTHRESH; /* waiting for more duplicates cost a timeout (Linux) */
        tcp_cc_on_rto(c, c->retries == 1);
        c->dupacks = 0;
        /* No fast retransmit for what the timeout resends: RFC 6582 4.1 for NewReno; with
         * SACK only when the timeout cut a recovery short (RFC 6675 5.1). */
        if (!(c->flags & TF_SACK_OK) || c->in_recovery)
            c->recover = c->snd_max;
        c->in_recovery = 0;
        c->high_rxt = c->snd_una;
        tcp_rack_on_rto(c); /* everything not SACKed is lost (RFC 8985 6.3) */
        tcp_disarm(st, idx, TCP_T_RACK);
        tcp_disarm(st, idx, TCP_T_TLP);
        c->snd_nxt = c->snd_una; /* go back N: resend from the first unacknowledged byte */
    }
    uint64_t when = st->now + tcp_rto_backed_off(c);
    if (user_timeout && c->una_since + user_timeout < when) /* Linux's tcp_clamp_rto_to_user_timeout */
        when = c->una_since + user_timeout > st->now ? c->una_since + user_timeout : st->now + 1;
    tcp_arm(st, idx, TCP_T_REXMIT, when);
    tcp_output(st, idx);
}

static void tcp_timeout_persist(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    if (c->snd_max != c->snd_una || c->sndbuf.len == 0 || !tcp_have_established(c->state))
        return;
    /* Probes the peer answers never end the connection; unanswered ones do, as data
     * retransmissions would (Linux: tcp_retries2). Any segment heard resets the count. */
    if (c->ka_probes >= st->cfg.data_retries) {
        tcp_done(st, idx, c->soft_error ? c->soft_error : WTCP_ETIMEDOUT);
        return;
    }
    if (c->backoff < 30)
        c->backoff++;
    if (c->snd_wnd == 0) {
        c->ka_probes++;
        tcp_send_window_probe(st, idx);
    } else {
        /* Window open but too small for sender SWS rules: send what fits. */
        uint32_t len = c->snd_wnd < c->sndbuf.len ? c->snd_wnd : c->sndbuf.len;
        if (len > tcp_mss_now(c))
            len = tcp_mss_now(c);
        uint8_t flags = WIRE_TCP_ACK | (len == c->sndbuf.len ? WIRE_TCP_PSH : 0);
        tcp_send_segment(st, idx, c->snd_nxt, flags, len);
        c->snd_nxt += len;
        if (seq_gt(c->snd_nxt, c->snd_max))
            c->snd_max = c->snd_nxt;
        tcp_arm(st, idx, TCP_T_REXMIT, st->now + tcp_rto_backed_off(c));
        return;
    }
    tcp_arm(st, idx, TCP_T_PERSIST, st->now + tcp_rto_backed_off(c));
}

/* Keepalive (RFC 1122 4.2.3.6, Linux's tcp_keepalive_timer): after ka_idle_ms without
 * hearing from the peer, a probe every ka_intvl_ms; ka_count unanswered probes (or the
 * user timeout) end the connection with ETIMEDOUT and a RST. */
static void tcp_timeout_keepalive(wtcp_stack *st, uint32_t idx)
{
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    if (!(c->flags & TF_KEEPALIVE) ||
        !(c->state == WTCP_ESTABLISHED || c->state == WTCP_CLOSE_WAIT || c->state == WTCP_FIN_WAIT_2))
        return;
    uint64_t elapsed = st->now - c->last_rcv;
    if (c->snd_max != c->snd_una || c->sndbuf.len) {
        /* Data is outstanding: retransmission or persist covers the peer's liveness. */
        tcp_arm(st, idx, TCP_T_KEEPALIVE, st->now + s->ka_idle_ms);
        return;
    }
    if (elapsed < s->ka_idle_ms && c->ka_probes == 0) {
        tcp_arm(st, idx, TCP_T_KEEPALIVE, c->last_rcv + s->ka_idle_ms);
        return;
    }
    if ((s->user_timeout_ms && c->ka_probes > 0 && elapsed >= s->user_timeout_ms) ||
        (!s->user_timeout_ms && c->ka_probes >= s->ka_count)) {
        tcp_send_rst(st, idx);
        tcp_done(st, idx, WTCP_ETIMEDOUT);
        return;
    }
    tcp_send_window_probe(st, idx); /* <SEQ=SND.UNA-1>: the peer must answer with an ACK */
    c->ka_probes++;
    tcp_arm(st, idx, TCP_T_KEEPALIVE, st->now + s->ka_intvl_ms);
}

/* RACK's reordering window ran out for segments that might have been late only: those
 * still missing are lost; recovery starts (or goes on) and resends them (RFC 8985 6.2,
 * Linux's tcp_rack_reo_timeout). */
static void tcp_timeout_rack(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    if (!tcp_have_established(c->state) || !(c->flags & TF_SACK_OK) || c->snd_una == c->snd_max)
        return;
    if (tcp_rack_detect_loss(st, idx) == 0)
        return;
    if (!c->in_recovery && seq_geq(c->snd_una, c->recover))
        tcp_enter_recovery(st, idx);
    if (c->in_recovery)
        tcp_cc_prr_ack(c, 0, tcp_rack_pipe(c));
    tcp_output(st, idx);
}

void tcp_timers_run(wtcp_stack *st, uint32_t idx)
{
    sock_slot *s = sk(st, idx);
    for (int t = 0; t < TCP_T_COUNT; t++) {
        if (!s->in_use || s->type != WTCP_SOCK_STREAM)
            return;
        tcp_conn *c = &s->u.tcp;
        uint64_t when = c->timer[t];
        if (!when || when > st->now)
            continue;
        c->timer[t] = 0;
        switch (t) {
        case TCP_T_REXMIT:
            tcp_timeout_rexmit(st, idx);
            break;
        case TCP_T_PERSIST:
            tcp_timeout_persist(st, idx);
            break;
        case TCP_T_DELACK:
            if (c->state != WTCP_CLOSED)
                tcp_send_ack(st, idx);
            break;
        case TCP_T_KEEPALIVE:
            tcp_timeout_keepalive(st, idx);
            break;
        case TCP_T_BUFIDLE:
            tcp_buf_idle(st, idx);
            break;
        case TCP_T_RACK:
            tcp_timeout_rack(st, idx);
            break;
        case TCP_T_TLP:
            if (tcp_have_established(c->state))
                tcp_tlp_fire(st, idx);
            break;
        case TCP_T_LINGER:
            /* TIME-WAIT over, or an orphaned FIN-WAIT-2 gave up on the peer. */
            tcp_done(st, idx, 0);
            return;
        }
    }
}
