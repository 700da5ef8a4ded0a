/* tcp_rack.c: RACK-TLP loss detection (RFC 8985): a log of the segments in flight with
 * the time each was last sent, time-based loss marking with a reordering window that
 * adapts (D-SACK), lost retransmissions found the same way, and tail loss probes; with
 * the RFC 6675 dupthresh rule (tcp_sack.c) marking losses alongside, as Linux does. */
#include "tcp/tcp.h"

enum {
    TXLOG_START = 16,      /* records allocated at first */
    TXLOG_MAX = 8192,      /* segments in flight at most (a bound, as Linux's skb limits) */
    TLP_DELACK_MS = 200,   /* worst-case delayed ACK of a one-segment flight (WCDelAckT) */
    TLP_EXTRA_MS = 2,
    REO_WND_MULT_MAX = 8,
    REO_WND_PERSIST = 16,  /* recoveries a raised reordering window lasts */
};

static tcp_txrec *rec_at(const tcp_txlog *l, uint32_t i) { return &l->rec[(l->head + i) % l->cap]; }

/* ---- the log ---- */

/* Room for one more record: 1, or 0 when the log is at its bound or memory is short (the
 * caller then sends no new data until ACKs free records). */
int tcp_txlog_room(wtcp_stack *st, tcp_conn *c)
{
    tcp_txlog *l = &c->txlog;
    if (l->count < l->cap)
        return 1;
    if (l->cap >= TXLOG_MAX)
        return 0;
    uint32_t cap = l->cap ? l->cap * 2 : TXLOG_START;
    tcp_txrec *r = wtcp_mem_alloc(st, sizeof *r * cap);
    if (!r)
        return 0;
    for (uint32_t i = 0; i < l->count; i++)
        r[i] = *rec_at(l, i);
    wtcp_mem_free(st, l->rec);
    l->rec = r;
    l->cap = cap;
    l->head = 0;
    return 1;
}

void tcp_txlog_free(wtcp_stack *st, tcp_conn *c)
{
    wtcp_mem_free(st, c->txlog.rec);
    c->txlog.rec = NULL;
    c->txlog.cap = c->txlog.head = c->txlog.count = 0;
}

/* Splits record i at `at` (inside it): i keeps [start, at), a new record i + 1 takes
 * [at, end) with the same time and marks. Returns record i + 1, or NULL when the log cannot
 * grow (the record then stays whole: its marks are a little less precise). */
static tcp_txrec *split(wtcp_stack *st, tcp_conn *c, uint32_t i, uint32_t at)
{
    tcp_txlog *l = &c->txlog;
    if (!tcp_txlog_room(st, c))
        return NULL;
    for (uint32_t k = l->count; k > i + 1; k--)
        *rec_at(l, k) = *rec_at(l, k - 1);
    l->count++;
    tcp_txrec *a = rec_at(l, i), *b = rec_at(l, i + 1);
    *b = *a;
    a->end = at;
    a->flags &= (uint8_t)~TXR_PSH; /* PSH belongs to the end of what was sent */
    b->start = at;
    if (b->flags & TXR_LOST)
        c->rack.lost++; /* both halves are lost */
    return b;
}

/* Data [seq, seq + len) goes out now: a new record at the end, or for a retransmission the
 * records it covers are sent again (no longer lost, timed from now). */
void tcp_txlog_sent(wtcp_stack *st, tcp_conn *c, uint32_t seq, uint32_t len, int psh)
{
    tcp_txlog *l = &c->txlog;
    if (len == 0)
        return;
    if (seq_geq(seq, c->snd_max)) {
        if (l->count == l->cap && !tcp_txlog_room(st, c))
            return; /* callers check room first; never overrun */
        tcp_txrec *r = rec_at(l, l->count++);
        r->start = seq;
        r->end = seq + len;
        r->xmit = st->now;
        r->order = ++c->rack.tx_count;
        r->flags = psh ? TXR_PSH : 0;
        return;
    }
    for (uint32_t i = 0; i < l->count; i++) {
        tcp_txrec *r = rec_at(l, i);
        if (seq_leq(r->end, seq))
            continue;
        if (seq_geq(r->start, seq + len))
            break;
        /* A resend that covers only part of a record (the MSS shrank, SACK options took
         * room): the rest keeps its own time and marks, as a record of its own. (When the
         * log cannot grow, the whole record counts as resent.) */
        if (seq_gt(seq, r->start) && split(st, c, i, seq))
            i++;
        if (seq_lt(seq + len, rec_at(l, i)->end))
            (void)split(st, c, i, seq + len);
        r = rec_at(l, i);
        if (r->flags & TXR_LOST)
            c->rack.lost--;
        r->xmit = st->now;
        r->order = ++c->rack.tx_count;
        r->flags = (uint8_t)((r->flags & ~TXR_LOST) | TXR_RETRANS);
    }
}

int tcp_txlog_pushed(const tcp_conn *c, uint32_t end)
{
    const tcp_txlog *l = &c->txlog;
    for (uint32_t i = 0; i < l->count; i++) {
        const tcp_txrec *r = rec_at(l, i);
        if (r->end == end)
            return (r->flags & TXR_PSH) != 0;
        if (seq_gt(r->end, end))
            break;
    }
    return 0;
}

/* ---- RACK: what the most recently sent of the delivered segments says ---- */

/* RFC 8985 RACK_sent_after, exactly: the RFC breaks ties of equal timestamps by sequence
 * number, which with a millisecond clock would put a resend behind new data sent in the
 * same millisecond before it; transmission numbers (wrapping) order them as they went. */
static int sent_after(uint32_t order1, uint32_t order2) { return (int32_t)(order1 - order2) > 0; }

/* A record was delivered (cumulatively or by SACK): RFC 8985 6.1 steps 1-3. */
static void rack_delivered(wtcp_stack *st, tcp_conn *c, const tcp_txrec *r, const wire_tcp *seg)
{
    tcp_rack *k = &c->rack;
    uint32_t rtt = (uint32_t)(st->now - r->xmit);
    if (r->flags & TXR_RETRANS) {
        /* Which transmission does the ACK answer? With timestamps the echo tells; else
         * an RTT below the minimum means the original (RFC 8985 6.1 step 2). */
        if ((c->flags & TF_TS_OK) && seg->opt.has_ts &&
            seq_lt(seg->opt.ts_ecr, (uint32_t)r->xmit + c->ts_offset))
            return;
        if (!(c->flags & TF_TS_OK) && k->min_rtt != UINT32_MAX && rtt < k->min_rtt)
            return;
    }
    if (rtt < k->min_rtt)
        k->min_rtt = rtt;
    if (!k->xmit || sent_after(r->order, k->order)) {
        k->rtt = rtt;
        k->xmit = r->xmit;
        k->order = r->order;
        k->end_seq = r->end;
    }
    /* Delivered below what was delivered before, never resent: reordering (6.1 step 4). */
    if (!(r->flags & TXR_RETRANS) && seq_lt(r->end, k->fack))
        k->reord = 1;
    if (seq_gt(r->end, k->fack))
        k->fack = r->end;
}

static int rec_sacked(const tcp_conn *c, const tcp_txrec *r)
{
    uint32_t s = r->start - c->snd_una, e = r->end - c->snd_una;
    return asm_covers(&c->scoreboard, s, e);
}

void tcp_rack_on_ack(wtcp_stack *st, tcp_conn *c, uint32_t old_una, const wire_tcp *seg)
{
    tcp_txlog *l = &c->txlog;
    (void)old_una;
    /* Cumulatively acknowledged records leave the log. */
    while (l->count) {
        tcp_txrec *r = rec_at(l, 0);
        if (seq_gt(r->end, c->snd_una)) {
            if (seq_lt(r->start, c->snd_una))
                r->start = c->snd_una;
            break;
        }
        if (!(r->flags & TXR_SACKED))
            rack_delivered(st, c, r, seg);
        if (r->flags & TXR_LOST)
            c->rack.lost--;
        l->head = (l->head + 1) % l->cap;
        l->count--;
    }
    if (!c->scoreboard.count)
        return;
    for (uint32_t i = 0; i < l->count; i++) {
        tcp_txrec *r = rec_at(l, i);
        if ((r->flags & TXR_SACKED) || !rec_sacked(c, r))
            continue;
        rack_delivered(st, c, r, seg);
        if (r->flags & TXR_LOST)
            c->rack.lost--;
        r->flags = (uint8_t)((r->flags & ~TXR_LOST) | TXR_SACKED);
    }
}

/* RFC 8985 6.2 RACK_update_reo_wnd, in whole milliseconds: no window while the path has
 * shown no reordering and recovery is under way or dupthresh segments are SACKed; else a
 * quarter of the minimum RTT times the multiplier, at least 1 ms per step of the
 * multiplier once reordering was seen (a millisecond clock rounds a LAN's RTT to 0), at
 * most SRTT. */
uint32_t tcp_rack_reo_wnd(const tcp_conn *c)
{
    const tcp_rack *k = &c->rack;
    if (!k->reord) {
        if (c->in_recovery || c->backoff)
            return 0;
        if (asm_bytes(&c->scoreboard) >= TCP_DUPTHRESH * c->snd_mss)
            return 0;
    }
    uint32_t min_rtt = k->min_rtt == UINT32_MAX ? 0 : k->min_rtt;
    uint32_t w = k->reo_mult * min_rtt / 4;
    if (k->reord && w < k->reo_mult)
        w = k->reo_mult;
    uint32_t srtt = c->srtt8 / 8;
    if (srtt < 1)
        srtt = 1;
    return w < srtt ? w : srtt;
}

static void mark_lost(wtcp_stack *st, tcp_conn *c, tcp_txrec *r)
{
    r->flags |= TXR_LOST;
    c->rack.lost++;
    st->stats.tcp_rack_losses++;
}

/* RFC 8985 6.2 RACK_detect_loss, and the RFC 6675 rule beside it: records sent before the
 * most recently sent delivered one, by more than its RTT and the reordering window, are
 * lost; so are holes the dupthresh rule finds lost. Arms the reordering timer for records
 * that may still arrive. Returns how many records were newly marked. */
uint32_t tcp_rack_detect_loss(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    tcp_txlog *l = &c->txlog;
    tcp_rack *k = &c->rack;
    uint32_t lost_before = k->lost;
    uint32_t loss_point = tcp_sack_loss_point(c);
    uint64_t timeout = 0;
    uint32_t reo = tcp_rack_reo_wnd(c);
    k->reo_wnd = reo;
    for (uint32_t i = 0; i < l->count; i++) {
        tcp_txrec *r = rec_at(l, i);
        if (r->flags & (TXR_SACKED | TXR_LOST))
            continue;
        if (!(r->flags & TXR_RETRANS) && r->end - c->snd_una <= loss_point) {
            mark_lost(st, c, r); /* RFC 6675 IsLost */
            continue;
        }
        if (!k->xmit || !sent_after(k->order, r->order)) {
            /* Sent after the newest delivered segment and beyond the dupthresh point:
             * first sends go out in sequence order and a resend only later, so every
             * record after this one is too. On a clean path that is the first record,
             * and the scan costs nothing per ACK. */
            if (!(r->flags & TXR_RETRANS))
                break;
            continue;
        }
        uint64_t due = r->xmit + k->rtt + reo;
        if (st->now >= due)
            mark_lost(st, c, r);
        else if (due - st->now > timeout)
            timeout = due - st->now;
    }
    if (timeout)
        tcp_arm(st, idx, TCP_T_RACK, st->now + timeout);
    else
        tcp_disarm(st, idx, TCP_T_RACK);
    return k->lost - lost_before;
}

/* Recovery entered on duplicate ACKs alone (SACK blocks lost or too few to tell): the
 * first segment not SACKed is the one to resend (RFC 6675 5 step 4). */
void tcp_rack_mark_head_lost(wtcp_stack *st, tcp_conn *c)
{
    tcp_txlog *l = &c->txlog;
    for (uint32_t i = 0; i < l->count; i++) {
        tcp_txrec *r = rec_at(l, i);
        if (r->flags & TXR_SACKED)
            continue;
        if (!(r->flags & TXR_LOST))
            mark_lost(st, c, r);
        return;
    }
}

/* A D-SACK showed a needless retransmission: widen the reordering window, at most once
 * per round trip, for the next REO_WND_PERSIST recoveries (RFC 8985 6.2 step 4). */
void tcp_rack_dsack(wtcp_stack *st, tcp_conn *c)
{
    tcp_rack *k = &c->rack;
    k->reord = 1;
    if (k->dsack_at && st->now - k->dsack_at < c->srtt8 / 8 + 1)
        return;
    k->dsack_at = st->now;
    if (k->reo_mult < REO_WND_MULT_MAX)
        k->reo_mult++;
    k->reo_persist = REO_WND_PERSIST;
}

void tcp_rack_recovery_done(tcp_conn *c)
{
    tcp_rack *k = &c->rack;
    if (k->reo_persist && --k->reo_persist == 0)
        k->reo_mult = 1;
}

/* A timeout: every record not SACKed is lost (RFC 8985 6.3; Linux's tcp_enter_loss). */
void tcp_rack_on_rto(tcp_conn *c)
{
    tcp_txlog *l = &c->txlog;
    for (uint32_t i = 0; i < l->count; i++) {
        tcp_txrec *r = rec_at(l, i);
        if (!(r->flags & (TXR_SACKED | TXR_LOST))) {
            r->flags |= TXR_LOST;
            c->rack.lost++;
        }
    }
    c->rack.tlp_end = 0;
}

/* Lost bytes not yet resent, and the pipe: every byte sent and not acknowledged that is
 * neither SACKed nor lost (RFC 6675 SetPipe, with RACK's marks). */
uint32_t tcp_rack_pipe(const tcp_conn *c)
{
    const tcp_txlog *l = &c->txlog;
    uint32_t pipe = 0;
    for (uint32_t i = 0; i < l->count; i++) {
        const tcp_txrec *r = rec_at(l, i);
        if (r->flags & (TXR_SACKED | TXR_LOST))
            continue;
        uint32_t s = r->start - c->snd_una, e = r->end - c->snd_una;
        pipe += (e - s) - tcp_sack_bytes_in(c, s, e);
    }
    return pipe;
}

int tcp_rack_next_lost(const tcp_conn *c, uint32_t *seq, uint32_t *len)
{
    const tcp_txlog *l = &c->txlog;
    for (uint32_t i = 0; i < l->count; i++) {
        const tcp_txrec *r = rec_at(l, i);
        if (!(r->flags & TXR_LOST))
            continue;
        /* The part of it the peer has not SACKed. */
        uint32_t room;
        uint32_t s = tcp_sack_skip(c, r->start, &room);
        if (seq_geq(s, r->end))
            continue;
        uint32_t e = r->end;
        if (room != UINT32_MAX && seq_lt(s + room, e))
            e = s + room;
        *seq = s;
        *len = e - s;
        return 1;
    }
    return 0;
}

/* ---- TLP (RFC 8985 7) ---- */

/* After data is sent or acknowledged in the open state: arm the probe timer, PTO =
 * 2 SRTT (+ the worst-case delayed ACK when one segment is out), within the RTO. */
void tcp_tlp_schedule(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    tcp_disarm(st, idx, TCP_T_TLP);
    if (!(c->flags & TF_SACK_OK) || c->in_recovery || c->backoff || c->rack.tlp_end ||
        c->snd_una == c->snd_max || c->srtt8 == 0 || !tcp_have_established(c->state))
        return;
    uint32_t pto = 2 * (c->srtt8 / 8);
    uint32_t fin_out = (c->flags & (TF_FIN_SENT | TF_FIN_ACKED)) == TF_FIN_SENT;
    pto += c->snd_max - c->snd_una - fin_out <= c->snd_mss ? TLP_DELACK_MS : TLP_EXTRA_MS;
    uint32_t rto = tcp_rto_backed_off(c);
    if (pto >= rto)
        return; /* the RTO comes first anyway */
    tcp_arm(st, idx, TCP_T_TLP, st->now + pto);
}

/* The probe timer fired: one segment that makes the peer say what it has. New data when
 * the window allows, else the last segment again (RFC 8985 7.3). */
void tcp_tlp_fire(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    if (c->snd_una == c->snd_max || c->in_recovery || c->rack.tlp_end || c->backoff)
        return;
    uint32_t before = c->snd_max;
    uint32_t segs = c->segs_out;
    tcp_output_probe_new(st, idx);
    if (c->segs_out != segs && seq_gt(c->snd_max, before)) {
        c->rack.tlp_retrans = 0;
    } else {
        if (!tcp_retransmit_tail(st, idx))
            return;
        c->rack.tlp_retrans = 1;
    }
    c->rack.tlp_end = c->snd_max;
    c->rack.tlp_probes++;
    st->stats.tcp_tlp_probes++;
    tcp_arm(st, idx, TCP_T_REXMIT, st->now + tcp_rto_backed_off(c));
}

/* The ACKs after a probe (RFC 8985 7.4): once everything up to the probe is acknowledged,
 * a probe that resent data and drew no D-SACK repaired a real loss: the congestion
 * controller hears of it. */
void tcp_tlp_on_ack(tcp_conn *c, int dsack)
{
    tcp_rack *k = &c->rack;
    if (!k->tlp_end)
        return;
    if (dsack && k->tlp_retrans) {
        k->tlp_end = 0; /* the probe was needless */
        return;
    }
    if (seq_lt(c->snd_una, k->tlp_end))
        return;
    if (k->tlp_retrans && !c->in_recovery)
        tcp_cc_loss_repaired(c);
    k->tlp_end = 0;
}
