/* tcp_cc.c: congestion control behind one interface (RFC 5681): slow start as Linux does
 * it, NewReno (RFC 6582), CUBIC (RFC 9438) with HyStart++ (RFC 9406), and Proportional
 * Rate Reduction during loss recovery (RFC 6937). Every write of cwnd and ssthresh is here. */
#include "tcp/tcp.h"

/* ---- the algorithms: what differs between them ---- */

typedef struct tcp_cc_algo {
    /* ssthresh after a congestion event (loss found by ACKs or by a timeout), given the
     * flight size; may record the algorithm's own state (CUBIC's W_max). */
    uint32_t (*ssthresh)(tcp_conn *c, uint32_t flight);
    /* Growth in congestion avoidance for `acked` newly acknowledged bytes. */
    void (*cong_avoid)(const wtcp_stack *st, tcp_conn *c, uint32_t acked);
    /* The connection starts again from a small window (timeout, idle restart). */
    void (*restart)(tcp_conn *c);
} tcp_cc_algo;

static uint32_t cc_floor(const tcp_conn *c) { return 2 * c->snd_mss; }

static void cwnd_set(tcp_conn *c, uint64_t cwnd)
{
    if (cwnd > (1u << 30))
        cwnd = 1u << 30;
    if (cwnd < c->snd_mss)
        cwnd = c->snd_mss;
    c->cwnd = (uint32_t)cwnd;
}

/* NewReno: half the flight on a loss, as RFC 5681 (3.1 equation 4, 3.2 step 2) says:
 * FlightSize without what limited transmit added, so no more than cwnd; one segment per
 * window of ACKed bytes above ssthresh (appropriate byte counting). */
static uint32_t reno_ssthresh(tcp_conn *c, uint32_t flight)
{
    uint32_t half = flight / 2;
    return half > cc_floor(c) ? half : cc_floor(c);
}

static void reno_cong_avoid(const wtcp_stack *st, tcp_conn *c, uint32_t acked)
{
    (void)st;
    c->cc.acked_ca += acked;
    if (c->cc.acked_ca >= c->cwnd) {
        c->cc.acked_ca -= c->cwnd;
        cwnd_set(c, (uint64_t)c->cwnd + c->snd_mss);
    }
}

static void reno_restart(tcp_conn *c) { c->cc.acked_ca = 0; }

/* CUBIC (RFC 9438), in bytes and milliseconds with integer arithmetic: the window
 * follows W_cubic(t) = C * (t - K)^3 + W_max, C = 0.4 segments/s^3, beta = 0.7, with
 * fast convergence and the Reno-friendly estimate W_est. */
enum { CUBIC_BETA_PCT = 70, CUBIC_ALPHA_PERMILLE = 529 /* 3 (1 - beta) / (1 + beta) */ };

static uint64_t cube_root(uint64_t v)
{
    uint64_t lo = 0, hi = 2642246; /* 2642246^3 > 2^64 - 1 */
    while (lo < hi) {
        uint64_t mid = (lo + hi + 1) / 2;
        if (mid * mid * mid <= v)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* C * d^3 in bytes, d in ms: 0.4 * mss * d^3 / 10^9, d clamped to 100 s. */
static uint64_t cubic_delta(const tcp_conn *c, uint64_t d_ms)
{
    if (d_ms > 100000)
        d_ms = 100000;
    return (d_ms * d_ms * d_ms / 10000) * 4 * c->snd_mss / 1000000;
}

/* ssthresh = beta * cwnd, as Linux computes it (RFC 9438 4.6 allows cwnd for flight_size
 * when cwnd cannot grow while the sender is application-limited: cwnd_limited()). */
static uint32_t cubic_ssthresh(tcp_conn *c, uint32_t flight)
{
    (void)flight;
    /* Fast convergence (RFC 9438 4.7): below the last maximum, release bandwidth. */
    if (c->cwnd < c->cc.w_max)
        c->cc.w_max = (uint32_t)((uint64_t)c->cwnd * (100 + CUBIC_BETA_PCT) / 200);
    else
        c->cc.w_max = c->cwnd;
    c->cc.epoch_start = 0;
    uint32_t t = (uint32_t)((uint64_t)c->cwnd * CUBIC_BETA_PCT / 100);
    return t > cc_floor(c) ? t : cc_floor(c);
}

static void cubic_cong_avoid(const wtcp_stack *st, tcp_conn *c, uint32_t acked)
{
    tcp_cc_state *k = &c->cc;
    if (k->epoch_start == 0) {
        /* A new epoch (RFC 9438 4.2): K is the time to climb back to W_max. */
        k->epoch_start = st->now ? st->now : 1;
        k->w_est = c->cwnd;
        k->acc = 0;
        if (c->cwnd < k->w_max) {
            uint64_t segs_x = (uint64_t)(k->w_max - c->cwnd) * 2500000000u / c->snd_mss;
            k->k_ms = (uint32_t)cube_root(segs_x);
            k->origin = k->w_max;
        } else {
            k->k_ms = 0;
            k->origin = c->cwnd;
        }
    }
    /* Target: W_cubic one RTT from now, within [cwnd, 1.5 cwnd] (RFC 9438 4.2). */
    uint64_t t = st->now - k->epoch_start + c->srtt8 / 8;
    uint64_t target;
    if (t < k->k_ms) {
        uint64_t d = cubic_delta(c, k->k_ms - t);
        target = d < k->origin ? k->origin - d : 0;
    } else {
        target = (uint64_t)k->origin + cubic_delta(c, t - k->k_ms);
    }
    if (target < c->cwnd)
        target = c->cwnd;
    if (target > (uint64_t)c->cwnd * 3 / 2)
        target = (uint64_t)c->cwnd * 3 / 2;
    /* Reno-friendly region (RFC 9438 4.3): W_est grows by alpha segments per window. */
    k->w_est += (uint32_t)((uint64_t)acked * c->snd_mss * CUBIC_ALPHA_PERMILLE / 1000 / c->cwnd);
    if (k->w_est > target)
        target = k->w_est;
    /* cwnd += (target - cwnd) / cwnd per acknowledged byte, remainders kept. */
    k->acc += (target - c->cwnd) * acked;
    uint64_t inc = k->acc / c->cwnd;
    k->acc -= inc * c->cwnd;
    cwnd_set(c, (uint64_t)c->cwnd + inc);
}

static void cubic_restart(tcp_conn *c)
{
    c->cc.epoch_start = 0;
    c->cc.acc = 0;
}

static const tcp_cc_algo cc_newreno = { reno_ssthresh, reno_cong_avoid, reno_restart };
static const tcp_cc_algo cc_cubic = { cubic_ssthresh, cubic_cong_avoid, cubic_restart };

static const tcp_cc_algo *algo(const tcp_conn *c)
{
    return c->cc.algo == WTCP_CC_NEWRENO ? &cc_newreno : &cc_cubic;
}

/* ---- HyStart++ (RFC 9406): leave slow start when the RTT starts to grow ---- */

enum {
    HS_MIN_RTT_THRESH = 4, HS_MAX_RTT_THRESH = 16, HS_MIN_RTT_DIVISOR = 8,
    HS_N_RTT_SAMPLE = 8, HS_CSS_GROWTH_DIVISOR = 4, HS_CSS_ROUNDS = 5,
};
#define HS_NO_RTT UINT32_MAX

static void hystart_reset(tcp_conn *c)
{
    c->cc.hs_state = c->cc.algo == WTCP_CC_CUBIC ? TCP_HS_SLOW_START : TCP_HS_OFF;
    c->cc.hs_round_end = c->snd_max;
    c->cc.hs_last_min = HS_NO_RTT;
    c->cc.hs_cur_min = HS_NO_RTT;
    c->cc.hs_samples = 0;
    c->cc.hs_css_base = HS_NO_RTT;
    c->cc.hs_css_rounds = 0;
}

/* One ACK in slow start with an RTT sample (HS_NO_RTT when it had none). */
static void hystart_on_ack(tcp_conn *c, uint32_t ack, uint32_t rtt)
{
    tcp_cc_state *k = &c->cc;
    if (k->hs_state == TCP_HS_OFF)
        return;
    if (seq_geq(ack, k->hs_round_end)) {
        /* A round (one window of data) ended. */
        k->hs_last_min = k->hs_cur_min;
        k->hs_cur_min = HS_NO_RTT;
        k->hs_samples = 0;
        k->hs_round_end = c->snd_max;
        if (k->hs_state == TCP_HS_CSS && ++k->hs_css_rounds >= HS_CSS_ROUNDS) {
            c->ssthresh = c->cwnd; /* CSS lasted long enough: congestion avoidance */
            k->hs_state = TCP_HS_OFF;
            return;
        }
    }
    if (rtt == HS_NO_RTT)
        return;
    if (rtt < k->hs_cur_min)
        k->hs_cur_min = rtt;
    k->hs_samples++;
    if (k->hs_samples < HS_N_RTT_SAMPLE)
        return;
    if (k->hs_state == TCP_HS_SLOW_START) {
        if (k->hs_cur_min == HS_NO_RTT || k->hs_last_min == HS_NO_RTT)
            return;
        uint32_t thresh = k->hs_last_min / HS_MIN_RTT_DIVISOR;
        if (thresh < HS_MIN_RTT_THRESH)
            thresh = HS_MIN_RTT_THRESH;
        if (thresh > HS_MAX_RTT_THRESH)
            thresh = HS_MAX_RTT_THRESH;
        if (k->hs_cur_min >= k->hs_last_min + thresh) {
            k->hs_css_base = k->hs_cur_min;
            k->hs_css_rounds = 0;
            k->hs_state = TCP_HS_CSS;
        }
    } else if (k->hs_cur_min < k->hs_css_base) {
        /* The RTT fell back: the increase was spurious; slow start again. */
        k->hs_css_base = HS_NO_RTT;
        k->hs_state = TCP_HS_SLOW_START;
    }
}

/* ---- the interface ---- */

void tcp_cc_select(tcp_conn *c, int cc)
{
    c->cc.algo = (uint8_t)cc;
    algo(c)->restart(c);
    if (c->cc.hs_state != TCP_HS_OFF || c->cwnd == 0)
        hystart_reset(c);
}

void tcp_cc_init(tcp_conn *c, uint8_t cc)
{
    c->cc.algo = cc;
    c->cwnd = TCP_INIT_CWND_SEGS * c->snd_mss; /* RFC 6928 */
    c->ssthresh = TCP_INFINITE_SSTHRESH;
    c->cc.w_max = 0;
    algo(c)->restart(c);
    hystart_reset(c);
}

/* The window is what limits sending (RFC 7661's idea, Linux's tcp_is_cwnd_limited): an
 * application-limited sender keeps its cwnd. In slow start, using half of it counts. */
static int cwnd_limited(const tcp_conn *c, uint32_t flight)
{
    if (c->cwnd < c->ssthresh)
        return 2 * (uint64_t)flight >= c->cwnd;
    return flight + c->snd_mss >= c->cwnd;
}

void tcp_cc_on_ack(wtcp_stack *st, tcp_conn *c, uint32_t ack, uint32_t acked, uint32_t flight,
                   uint32_t rtt_ms)
{
    if (c->cwnd < c->ssthresh)
        hystart_on_ack(c, ack, rtt_ms);
    if (!cwnd_limited(c, flight))
        return;
    if (c->cwnd < c->ssthresh) {
        /* Slow start credits every byte the ACK covers (Linux's tcp_slow_start, which
         * has no RFC 3465 limit), never past ssthresh; what is left over counts in
         * congestion avoidance. HyStart++'s conservative phase grows a quarter as fast. */
        uint32_t room = c->ssthresh - c->cwnd;
        uint32_t grow = acked;
        if (c->cc.hs_state == TCP_HS_CSS)
            grow = acked / HS_CSS_GROWTH_DIVISOR;
        if (grow > room)
            grow = room;
        cwnd_set(c, (uint64_t)c->cwnd + grow);
        if (c->cc.hs_state == TCP_HS_CSS || grow == acked || c->cwnd < c->ssthresh)
            return;
        acked -= grow;
    }
    algo(c)->cong_avoid(st, c, acked);
}

void tcp_cc_undo_arm(tcp_conn *c)
{
    c->undo_cwnd = c->cwnd;
    c->undo_ssthresh = c->ssthresh;
    c->undo_w_max = c->cc.w_max;
    c->undo_retrans = 0;
}

void tcp_cc_undo(tcp_conn *c)
{
    if (c->cwnd < c->undo_cwnd)
        c->cwnd = c->undo_cwnd;
    if (c->ssthresh < c->undo_ssthresh)
        c->ssthresh = c->undo_ssthresh;
    c->cc.w_max = c->undo_w_max;
    algo(c)->restart(c);
    c->undo_cwnd = 0;
}

/* Loss found by ACKs: the new ssthresh, and PRR's starting point (RFC 6937 section 3). */
void tcp_cc_enter_recovery(tcp_conn *c)
{
    tcp_cc_undo_arm(c);
    /* FlightSize without the limited-transmit segments (RFC 5681 3.2 step 2). */
    uint32_t flight = c->snd_max - c->snd_una;
    c->ssthresh = algo(c)->ssthresh(c, flight < c->cwnd ? flight : c->cwnd);
    c->cc.hs_state = TCP_HS_OFF;
    c->cc.prr_delivered = 0;
    c->cc.prr_out = 0;
    c->cc.recover_fs = c->snd_max - c->snd_una;
    if (c->cc.recover_fs == 0)
        c->cc.recover_fs = c->snd_mss;
    if (!(c->flags & TF_SACK_OK))
        cwnd_set(c, (uint64_t)c->ssthresh + 3 * c->snd_mss); /* RFC 6582 3.2 step 2 */
}

/* PRR (RFC 6937 section 3, with its slow-start reduction bound): for each ACK in
 * SACK recovery, cwnd = pipe + what may be sent now, so that the window comes down to
 * ssthresh in proportion to what the network delivered, and climbs back to it by slow
 * start when the pipe has fallen below it. */
void tcp_cc_prr_ack(tcp_conn *c, uint32_t delivered, uint32_t pipe)
{
    tcp_cc_state *k = &c->cc;
    k->prr_delivered += delivered;
    uint64_t sndcnt;
    if (pipe > c->ssthresh) {
        uint64_t want = ((uint64_t)k->prr_delivered * c->ssthresh + k->recover_fs - 1) / k->recover_fs;
        sndcnt = want > k->prr_out ? want - k->prr_out : 0;
    } else {
        /* PRR-SSRB, RFC 6937's default: what was delivered and not yet sent again, at
         * least what this ACK delivered, plus one segment. RFC 9937 keeps the extra
         * segment for ACKs that advance SND.UNA; without it, a recovery whose only
         * segment in flight is a resend sends nothing else, and a lost resend waits for
         * the RTO: RACK sees it lost only when something sent after it arrives (with 5 %
         * loss and reordering that cost 3-6 times more timeouts). */
        uint64_t limit = k->prr_delivered > k->prr_out ? k->prr_delivered - k->prr_out : 0;
        if (limit < delivered)
            limit = delivered;
        limit += c->snd_mss;
        uint32_t gap = c->ssthresh - pipe;
        sndcnt = limit < gap ? limit : gap;
    }
    if (sndcnt < c->snd_mss && k->prr_out == 0)
        sndcnt = c->snd_mss; /* the fast retransmit itself always goes out */
    cwnd_set(c, (uint64_t)pipe + sndcnt);
}

void tcp_cc_on_sent(tcp_conn *c, uint32_t len)
{
    if (c->in_recovery)
        c->cc.prr_out += len;
}

/* NewReno without SACK (RFC 6582 3.2): inflate per duplicate ACK, deflate on a partial
 * ACK by what it acknowledged, less one segment. */
void tcp_cc_newreno_dupack(tcp_conn *c) { cwnd_set(c, (uint64_t)c->cwnd + c->snd_mss); }

void tcp_cc_newreno_partial_ack(tcp_conn *c, uint32_t acked)
{
    uint32_t w = c->cwnd > acked ? c->cwnd - acked : c->snd_mss;
    cwnd_set(c, (uint64_t)w + c->snd_mss);
}

/* Recovery is over: the window is ssthresh (RFC 6937's end, RFC 6582 3.2 step 3 bounded
 * by what is in flight so that no burst follows). */
void tcp_cc_exit_recovery(tcp_conn *c)
{
    uint32_t flight = c->snd_max - c->snd_una;
    if (c->flags & TF_SACK_OK) {
        cwnd_set(c, c->ssthresh);
    } else {
        if (flight < c->snd_mss)
            flight = c->snd_mss;
        cwnd_set(c, c->ssthresh < flight + c->snd_mss ? c->ssthresh : flight + c->snd_mss);
    }
    algo(c)->restart(c);
}

void tcp_cc_loss_repaired(tcp_conn *c)
{
    tcp_cc_undo_arm(c);
    uint32_t flight = c->snd_max - c->snd_una;
    c->ssthresh = algo(c)->ssthresh(c, flight < c->cwnd ? flight : c->cwnd);
    c->cc.hs_state = TCP_HS_OFF;
    cwnd_set(c, c->ssthresh < c->cwnd ? c->ssthresh : c->cwnd);
    algo(c)->restart(c);
}

/* Retransmission timeout (RFC 5681 3.1 (4)): ssthresh from the algorithm, one segment. */
void tcp_cc_on_rto(tcp_conn *c, int first)
{
    if (!c->in_recovery && first)
        tcp_cc_undo_arm(c);
    /* Only the first timeout of a loss episode sets ssthresh (Linux's tcp_enter_loss):
     * the backed-off ones would compute it from the one-segment window. */
    if (first)
        c->ssthresh = algo(c)->ssthresh(c, c->snd_max - c->snd_una);
    c->cwnd = c->snd_mss;
    c->cc.hs_state = TCP_HS_OFF;
    algo(c)->restart(c);
}

/* Restart after idle (RFC 5681 4.1, Linux's tcp_cwnd_restart): a connection silent for
 * an RTO starts again from the initial window; CUBIC starts a new epoch. */
void tcp_cc_after_idle(tcp_conn *c)
{
    uint32_t iw = TCP_INIT_CWND_SEGS * c->snd_mss;
    if (c->cwnd > iw)
        c->cwnd = iw;
    algo(c)->restart(c);
}
