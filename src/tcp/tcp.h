/* tcp.h: functions shared by the TCP input, output, timer and user-call modules (RFC 9293). */
#ifndef WTCP_TCP_H
#define WTCP_TCP_H

#include "internal.h"

static inline sock_slot *sk(wtcp_stack *st, uint32_t idx) { return &st->socks[idx]; }
static inline tcp_conn *tc(wtcp_stack *st, uint32_t idx) { return &st->socks[idx].u.tcp; }

/* "Have received a SYN": states in which the connection is synchronized. */
static inline int tcp_have_established(int state) { return state >= WTCP_ESTABLISHED; }

/* Our SYN is not acknowledged yet: SYN-SENT, SYN-RECEIVED, or FIN-WAIT-1 entered by a
 * close() in SYN-RECEIVED (RFC 9293 3.10.4). */
static inline int tcp_syn_unacked(const tcp_conn *c)
{
    return c->state == WTCP_SYN_SENT || c->state == WTCP_SYN_RECEIVED ||
           (c->state == WTCP_FIN_WAIT_1 && c->snd_una == c->iss);
}

/* tcp_tw.c: compact TIME-WAIT. tcp_tw_enter turns an orphaned connection in TIME-WAIT
 * into an entry and frees its slot; tcp_tw_input answers a segment for an entry (1) or
 * finds none (0). */
void tcp_tw_enter(wtcp_stack *st, uint32_t idx);
int tcp_tw_input(wtcp_stack *st, const wire_ipv4 *ip, const wire_tcp *seg);
int tcp_tw_exists(const wtcp_stack *st, uint16_t lport, uint32_t raddr, uint16_t rport);
void tcp_listen_input(wtcp_stack *st, uint32_t lidx, const wire_ipv4 *ip, const wire_tcp *seg);

/* tcp_syncookie.c: SYN cookies (RFC 4987). The ISN for a SYN; the MSS a returning ACK's
 * cookie holds (0: not a valid cookie); the window scale and SACK-permitted it kept in our
 * TS value (-1: unusable); the stateless SYN-ACK. */
uint32_t tcp_syncookie_isn(const wtcp_stack *st, const wire_ipv4 *ip, const wire_tcp *syn);
uint32_t tcp_syncookie_check(const wtcp_stack *st, const wire_ipv4 *ip, const wire_tcp *ack);
int tcp_syncookie_options(const wtcp_stack *st, const wire_tcp *ack, uint8_t *wscale_ok, uint8_t *wscale,
                          uint8_t *sack_ok);
void tcp_syncookie_send_synack(wtcp_stack *st, uint32_t lidx, const wire_ipv4 *ip, const wire_tcp *syn);
uint32_t tcp_syncookie_window(const wtcp_stack *st, uint32_t lidx, uint32_t raddr);

/* tcp_out.c */
uint32_t tcp_ts_now(const wtcp_stack *st, const tcp_conn *c);
/* Sends one segment of the connection: SYN options when flags has SYN, otherwise
 * timestamps and SACK blocks as negotiated; len payload bytes from the send buffer at
 * sequence seq. Sets ACK fields, window and ACK bookkeeping. */
void tcp_send_segment(wtcp_stack *st, uint32_t idx, uint32_t seq, uint8_t flags, uint32_t len);
void tcp_send_ack(wtcp_stack *st, uint32_t idx);
void tcp_send_challenge_ack(wtcp_stack *st, uint32_t idx);
/* RST for a segment that found no connection (RFC 9293 3.10.7.1). */
void tcp_send_reset_reply(wtcp_stack *st, const wire_ipv4 *ip, const wire_tcp *seg);
/* RST from a connection (abort): <SEQ=SND.MAX><CTL=RST,ACK>. */
void tcp_send_rst(wtcp_stack *st, uint32_t idx);
/* Resend the segment at SND.UNA now (fast retransmit, probe). */
void tcp_retransmit_head(wtcp_stack *st, uint32_t idx);
void tcp_send_window_probe(wtcp_stack *st, uint32_t idx);
/* A tail loss probe's two forms: one new segment if the peer's window allows (not
 * cwnd), or the last segment sent, again. Each returns 1 when it sent. */
int tcp_output_probe_new(wtcp_stack *st, uint32_t idx);
int tcp_retransmit_tail(wtcp_stack *st, uint32_t idx);
uint32_t tcp_mss_now(const tcp_conn *c);
/* The receive window to advertise now (bytes); has no side effects. */
uint32_t tcp_select_window(const tcp_conn *c);

/* tcp_sack.c: sender scoreboard and RFC 6675 recovery */
void tcp_sack_update(tcp_conn *c, const wire_tcp *seg);
void tcp_sack_advance(tcp_conn *c, uint32_t acked);
/* Returns 1 when the segment carries a D-SACK (RFC 2883). */
int tcp_sack_dsack(tcp_conn *c, const wire_tcp *seg);
void tcp_sack_clear(tcp_conn *c);
uint32_t tcp_dupthresh(const tcp_conn *c);
/* RFC 6675 IsLost: the offset from SND.UNA below which every hole is lost (0: none). */
uint32_t tcp_sack_loss_point(const tcp_conn *c);
/* SACKed bytes inside [from, to) (offsets from SND.UNA). */
uint32_t tcp_sack_bytes_in(const tcp_conn *c, uint32_t from, uint32_t to);
/* For a resend from seq after a timeout: the first sequence at or above seq the peer has
 * not SACKed, and in *room how far it may go before the next SACKed range. */
uint32_t tcp_sack_skip(const tcp_conn *c, uint32_t seq, uint32_t *room);

/* tcp_cc.c: congestion control; the only writer of cwnd and ssthresh */
void tcp_cc_init(tcp_conn *c, uint8_t cc);
void tcp_cc_select(tcp_conn *c, int cc);
/* New data acknowledged outside recovery: ack is the new SND.UNA, flight what was in
 * flight before it, rtt_ms this ACK's RTT sample or UINT32_MAX. */
void tcp_cc_on_ack(wtcp_stack *st, tcp_conn *c, uint32_t ack, uint32_t acked, uint32_t flight,
                   uint32_t rtt_ms);
void tcp_cc_enter_recovery(tcp_conn *c);
void tcp_cc_prr_ack(tcp_conn *c, uint32_t delivered, uint32_t pipe);
void tcp_cc_on_sent(tcp_conn *c, uint32_t len);
void tcp_cc_newreno_dupack(tcp_conn *c);
void tcp_cc_newreno_partial_ack(tcp_conn *c, uint32_t acked);
void tcp_cc_exit_recovery(tcp_conn *c);
void tcp_cc_on_rto(tcp_conn *c, int first);
void tcp_cc_after_idle(tcp_conn *c);
void tcp_cc_undo_arm(tcp_conn *c);
void tcp_cc_undo(tcp_conn *c);
/* A tail loss probe repaired a loss (RFC 8985 7.4): the reduction a recovery would make. */
void tcp_cc_loss_repaired(tcp_conn *c);

/* tcp_buf.c: buffers that grow with need */
/* Room for `need` bytes in the receive buffer's space (0, or -1: no memory). */
int tcp_rcvbuf_reserve(wtcp_stack *st, tcp_conn *c, uint32_t need);
/* Free receive buffer space for the window: SO_RCVBUF less the unread bytes. */
uint32_t tcp_rcv_space(const tcp_conn *c);
/* What a send may add now. */
uint32_t tcp_snd_room(tcp_conn *c);
/* Appends up to len bytes to the send buffer; *nomem when nothing fit for want of memory. */
uint32_t tcp_sndbuf_write(wtcp_stack *st, tcp_conn *c, const void *buf, uint32_t len, int *nomem);
void tcp_buf_emptied(wtcp_stack *st, uint32_t idx);
void tcp_buf_idle(wtcp_stack *st, uint32_t idx);

/* tcp_rack.c: RACK-TLP (RFC 8985) */
int tcp_txlog_room(wtcp_stack *st, tcp_conn *c);
void tcp_txlog_sent(wtcp_stack *st, tcp_conn *c, uint32_t seq, uint32_t len, int psh);
/* The segment in flight that ends at `end` was first sent with PSH (a resend keeps it). */
int tcp_txlog_pushed(const tcp_conn *c, uint32_t end);
void tcp_txlog_free(wtcp_stack *st, tcp_conn *c);
void tcp_rack_on_ack(wtcp_stack *st, tcp_conn *c, uint32_t old_una, const wire_tcp *seg);
uint32_t tcp_rack_detect_loss(wtcp_stack *st, uint32_t idx);
uint32_t tcp_rack_reo_wnd(const tcp_conn *c);
void tcp_rack_dsack(wtcp_stack *st, tcp_conn *c);
void tcp_rack_recovery_done(tcp_conn *c);
void tcp_rack_on_rto(tcp_conn *c);
void tcp_rack_mark_head_lost(wtcp_stack *st, tcp_conn *c);
uint32_t tcp_rack_pipe(const tcp_conn *c);
/* The first lost segment not yet resent (its part the peer has not SACKed): 1, or 0. */
int tcp_rack_next_lost(const tcp_conn *c, uint32_t *seq, uint32_t *len);
void tcp_tlp_schedule(wtcp_stack *st, uint32_t idx);
void tcp_tlp_fire(wtcp_stack *st, uint32_t idx);
void tcp_tlp_on_ack(tcp_conn *c, int dsack);

/* tcp_timer.c */
void tcp_arm(wtcp_stack *st, uint32_t idx, int timer, uint64_t when);
void tcp_disarm(wtcp_stack *st, uint32_t idx, int timer);
uint32_t tcp_rto_backed_off(const tcp_conn *c);
void tcp_rtt_sample(tcp_conn *c, uint32_t rtt_ms);

/* tcp_usr.c / tcp_in.c */
void tcp_set_state(wtcp_stack *st, uint32_t idx, int state);
/* The connection is over: state CLOSED, timers and tuple released; err (0 or WTCP_E*)
 * is reported to the user, or the slot is freed when nobody holds a handle. */
void tcp_done(wtcp_stack *st, uint32_t idx, int err);
void tcp_enter_time_wait(wtcp_stack *st, uint32_t idx);
/* tcp_in.c: start SACK or NewReno loss recovery (fast retransmit). */
void tcp_enter_recovery(wtcp_stack *st, uint32_t idx);
void tcp_update_mss(wtcp_stack *st, uint32_t idx);
uint32_t tcp_isn(const wtcp_stack *st, const sock_slot *s);
uint32_t tcp_ts_offset(const wtcp_stack *st, const sock_slot *s);
uint8_t tcp_choose_wscale(const wtcp_stack *st, const sock_slot *s);

#endif
