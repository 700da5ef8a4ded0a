/* tcp_sack.c: the sender's SACK scoreboard (RFC 2018) and the bookkeeping of SACK-based
 * loss recovery (RFC 6675): which holes count as lost by the dupthresh rule (tcp_rack.c
 * keeps the segments and their marks), the SACKed ranges a resend skips;
 * and undoing a reduction that D-SACKs show was caused by reordering (RFC 3708). */
#include "tcp/tcp.h"

void tcp_sack_update(tcp_conn *c, const wire_tcp *seg)
{
    for (uint32_t k = 0; k < seg->opt.sack_count; k++) {
        uint32_t left = seg->opt.sack[k][0], right = seg->opt.sack[k][1];
        /* Below SND.UNA (a D-SACK, RFC 2883) or beyond what we sent: nothing to record. */
        if (seq_leq(right, c->snd_una) || seq_gt(right, c->snd_max) || !seq_lt(left, right))
            continue;
        if (seq_lt(left, c->snd_una))
            left = c->snd_una;
        /* A full scoreboard loses the block; recovery then works from fewer facts. */
        (void)asm_add(&c->scoreboard, left - c->snd_una, right - c->snd_una);
    }
}

/* A D-SACK (RFC 2883: the first block lies below the ACK, or inside the second block)
 * says a segment arrived twice. Once every retransmission of the episode is reported
 * so, none was needed: restore the window (RFC 3708) and expect more reordering. */
int tcp_sack_dsack(tcp_conn *c, const wire_tcp *seg)
{
    if (seg->opt.sack_count == 0)
        return 0;
    uint32_t l = seg->opt.sack[0][0], r = seg->opt.sack[0][1];
    int dsack = seq_leq(r, seg->ack) ||
                (seg->opt.sack_count > 1 && seq_geq(l, seg->opt.sack[1][0]) && seq_leq(r, seg->opt.sack[1][1]));
    if (!dsack)
        return 0;
    if (c->undo_retrans == 0 || c->undo_cwnd == 0 || --c->undo_retrans > 0)
        return 1;
    tcp_cc_undo(c);
    c->in_recovery = 0;
    return 1;
}

void tcp_sack_advance(tcp_conn *c, uint32_t acked) { asm_advance(&c->scoreboard, acked); }

void tcp_sack_clear(tcp_conn *c)
{
    c->scoreboard.count = 0;
    c->scoreboard.last = 0;
}

/* The duplicate threshold in force: the measured reordering (c->dupthresh), but when the
 * whole flight is that small, half the flight and at least TCP_DUPTHRESH segments, so a
 * raised threshold never leaves a loss to the retransmission timer (Linux's
 * tcp_time_to_recover does the same for small windows). */
uint32_t tcp_dupthresh(const tcp_conn *c)
{
    uint32_t flight = (c->snd_max - c->snd_una + c->snd_mss - 1) / c->snd_mss;
    if (c->dupthresh <= TCP_DUPTHRESH || flight > c->dupthresh)
        return c->dupthresh;
    uint32_t half = flight / 2;
    return half > TCP_DUPTHRESH ? half : TCP_DUPTHRESH;
}

/* RFC 6675 IsLost: a hole is lost once DupThresh discontiguous ranges, or more than
 * (DupThresh - 1) * SMSS bytes, were SACKed above it. Returns the offset (from SND.UNA)
 * below which every hole is lost; 0 when none is. */
uint32_t tcp_sack_loss_point(const tcp_conn *c)
{
    const wtcp_asm *sb = &c->scoreboard;
    uint32_t thresh = tcp_dupthresh(c);
    uint32_t ranges = 0, bytes = 0;
    for (uint32_t k = sb->count; k-- > 0;) {
        ranges++;
        bytes += sb->end[k] - sb->start[k];
        if (ranges >= thresh || bytes > (thresh - 1) * c->snd_mss)
            return sb->start[k];
    }
    return 0;
}

/* SACKed bytes inside [from, to) (offsets). */
uint32_t tcp_sack_bytes_in(const tcp_conn *c, uint32_t from, uint32_t to)
{
    const wtcp_asm *sb = &c->scoreboard;
    uint32_t sum = 0;
    for (uint32_t k = 0; k < sb->count; k++) {
        uint32_t s = sb->start[k] > from ? sb->start[k] : from;
        uint32_t e = sb->end[k] < to ? sb->end[k] : to;
        if (s < e)
            sum += e - s;
    }
    return sum;
}

uint32_t tcp_sack_skip(const tcp_conn *c, uint32_t seq, uint32_t *room)
{
    const wtcp_asm *sb = &c->scoreboard;
    uint32_t off = seq - c->snd_una;
    for (uint32_t k = 0; k < sb->count; k++) {
        if (off >= sb->end[k])
            continue;
        if (off >= sb->start[k]) {
            off = sb->end[k]; /* already at the receiver: jump over it */
            continue;
        }
        *room = sb->start[k] - off;
        return c->snd_una + off;
    }
    *room = UINT32_MAX;
    return c->snd_una + off;
}
