/* wtcp_end.h: one end of a benchmark run on a wtcp stack, as a step function, so the same
 * logic runs in its own process (over the socketpair) or beside the other end in one. */
#ifndef SOCKPAIR_WTCP_END_H
#define SOCKPAIR_WTCP_END_H

#include "common.h"
#include "wtcp.h"

typedef struct wend {
    bench_opts o;
    wtcp_stack *st;
    wtcp_sock lsock, sock;
    double start_ms, end_ms;  /* receiver: established .. end of stream; rr/conn: the run */
    uint64_t tx_off, rx_off, bad_bytes, count;
    int tx_shut, rx_eof, done, failed, connecting;
    double linger_until;      /* conn client: keeps pumping briefly for the last FINs */
    uint8_t buf[65536];
} wend;

/* Creates the stack (address by role) and the first socket. 0 on success. */
int wend_init(wend *e, const bench_opts *o, wtcp_output_fn out, void *out_user);
/* Handles events and moves data; sets e->done when this end's part is over. */
void wend_step(wend *e, double now);
/* The other end is gone: finishes (conn server) or fails what is unfinished. */
void wend_peer_gone(wend *e, double now);
void wend_result(wend *e, bench_result *r);
void wend_free(wend *e);

/* The whole end in this process over o->link_fd; writes the result to o->result_fd. */
int wtcp_end_main(const bench_opts *o);

#endif
