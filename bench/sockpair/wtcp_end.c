/* wtcp_end.c: one end of a benchmark run on wtcp through the public API only: bulk one
 * direction or both (pattern-checked), 64-byte request/response, connection rate. */
#define _GNU_SOURCE
#include "wtcp_end.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SAFETY_MS 120000.0 /* an end that has not finished by then has failed */

int wend_init(wend *e, const bench_opts *o, wtcp_output_fn out, void *out_user)
{
    memset(e, 0, sizeof *e);
    e->o = *o;
    e->lsock = e->sock = -1;
    wtcp_config c;
    wtcp_config_init(&c);
    c.addr = o->role == ROLE_CLIENT ? ADDR_CLIENT : ADDR_SERVER;
    c.mtu = LINK_MTU;
    c.output = out;
    c.output_user = out_user;
    for (size_t i = 0; i < sizeof c.isn_key; i++)
        c.isn_key[i] = (uint8_t)(now_ms() * 131 + i * 7 + (uint64_t)getpid());
    if (o->bufsize)
        c.sndbuf = c.rcvbuf = o->bufsize;
    if (o->congestion)
        c.congestion = (uint8_t)o->congestion;
    if (o->bcase == CASE_CONN) {
        c.max_sockets = o->conns + 64 > 65535 ? 65535 : o->conns + 64;
        c.max_backlog = 1024;
    }
    if (wtcp_stack_new(&c, &e->st) != 0)
        return -1;
    int s = wtcp_socket(e->st, WTCP_SOCK_STREAM);
    if (s < 0)
        return -1;
    if (o->role == ROLE_SERVER) {
        e->lsock = s;
        if (wtcp_bind(e->st, s, 0, SERVER_PORT) < 0 || wtcp_listen(e->st, s, 1024) < 0)
            return -1;
    } else {
        e->sock = s;
        if (o->bcase == CASE_RR)
            wtcp_setsockopt(e->st, s, WTCP_TCP_NODELAY, 1);
        int r = wtcp_connect(e->st, s, ADDR_SERVER, SERVER_PORT);
        if (r < 0 && r != WTCP_EINPROGRESS)
            return -1;
        e->connecting = 1;
    }
    e->start_ms = now_ms_f();
    return 0;
}

static int sends_bulk(const wend *e)
{
    return e->o.bcase == CASE_BULK_BOTH || (e->o.bcase == CASE_BULK_ONE && e->o.role == ROLE_CLIENT);
}

/* bytes 0: a timed run, sending until o.seconds have passed. */
static void send_bulk(wend *e, double now)
{
    uint64_t limit = e->o.bytes ? e->o.bytes : UINT64_MAX;
    if (!e->o.bytes && now - e->start_ms >= e->o.seconds * 1000)
        limit = e->tx_off;
    while (e->tx_off < limit) {
        uint64_t left = limit - e->tx_off;
        size_t n = left < PATTERN_MAX_CHUNK ? (size_t)left : PATTERN_MAX_CHUNK;
        int k = wtcp_send(e->st, e->sock, pattern_at(e->tx_off), n);
        if (k <= 0)
            return;
        e->tx_off += (uint64_t)k;
    }
    if (!e->tx_shut) {
        wtcp_shutdown(e->st, e->sock, WTCP_SHUT_WR);
        e->tx_shut = 1;
    }
}

/* Reads what is there; checks it against the pattern when check is set. */
static void recv_all(wend *e, int check, double now)
{
    for (;;) {
        int k = wtcp_recv(e->st, e->sock, e->buf, sizeof e->buf);
        if (k > 0) {
            if (check && !pattern_check(e->rx_off, e->buf, (size_t)k))
                e->bad_bytes += (uint64_t)k;
            e->rx_off += (uint64_t)k;
            if (e->o.bcase == CASE_RR && e->o.role == ROLE_SERVER)
                wtcp_send(e->st, e->sock, e->buf, (size_t)k); /* 64 bytes always fit */
            continue;
        }
        if (k == 0 && !e->rx_eof) {
            e->rx_eof = 1;
            if (e->o.bcase != CASE_RR)
                e->end_ms = now;
            if (!sends_bulk(e) && !e->tx_shut) {
                wtcp_shutdown(e->st, e->sock, WTCP_SHUT_WR);
                e->tx_shut = 1;
            }
        } else if (k < 0 && k != WTCP_EAGAIN) {
            e->failed = 1;
        }
        return;
    }
}

/* Both FINs exchanged and ours acknowledged (or the connection is gone). */
static int closed_cleanly(wend *e)
{
    wtcp_info info;
    if (wtcp_info_get(e->st, e->sock, &info) < 0)
        return 1;
    return info.state == WTCP_TIME_WAIT || info.state == WTCP_CLOSED;
}

static void conn_client_next(wend *e, double now)
{
    if (e->count >= e->o.conns || now - e->start_ms >= e->o.seconds * 1000) {
        e->end_ms = now;
        e->linger_until = now + 50;
        e->connecting = 0;
        return;
    }
    e->sock = wtcp_socket(e->st, WTCP_SOCK_STREAM);
    int r = e->sock < 0 ? e->sock : wtcp_connect(e->st, e->sock, ADDR_SERVER, SERVER_PORT);
    if (r < 0 && r != WTCP_EINPROGRESS) {
        fprintf(stderr, "wtcp conn: connect %d: %s\n", (int)e->count, wtcp_strerror(r));
        e->failed = 1;
        return;
    }
    e->connecting = 1;
}

static void step_conn(wend *e, double now)
{
    wtcp_event ev;
    while (wtcp_next_event(e->st, &ev)) {
        if (e->o.role == ROLE_CLIENT) {
            if (ev.sock != e->sock || !e->connecting)
                continue;
            if (ev.events & WTCP_EV_ERROR) {
                e->failed = 1;
                continue;
            }
            if (ev.events & WTCP_EV_CONNECTED) {
                e->count++;
                wtcp_close(e->st, e->sock);
                e->connecting = 0;
                conn_client_next(e, now);
            }
        } else if (ev.sock == e->lsock) {
            int c;
            while ((c = wtcp_accept(e->st, e->lsock, NULL, NULL)) >= 0)
                e->count++;
        } else if (ev.events & (WTCP_EV_READABLE | WTCP_EV_ERROR | WTCP_EV_CLOSED)) {
            int k = wtcp_recv(e->st, ev.sock, e->buf, sizeof e->buf);
            if (k == 0 || (k < 0 && k != WTCP_EAGAIN))
                wtcp_close(e->st, ev.sock);
        }
    }
    if (e->o.role == ROLE_CLIENT && e->linger_until > 0 && now >= e->linger_until)
        e->done = 1;
}

void wend_step(wend *e, double now)
{
    if (e->done)
        return;
    if (now - e->start_ms > SAFETY_MS + e->o.seconds * 1000) {
        fprintf(stderr, "wtcp end: gave up after %.0f ms\n", now - e->start_ms);
        e->failed = e->done = 1;
        return;
    }
    if (e->o.bcase == CASE_CONN) {
        step_conn(e, now);
        return;
    }
    wtcp_event ev;
    while (wtcp_next_event(e->st, &ev)) {
        if (ev.sock == e->lsock && e->sock < 0) {
            e->sock = wtcp_accept(e->st, e->lsock, NULL, NULL);
            if (e->sock >= 0) {
                e->start_ms = now;
                if (e->o.bcase == CASE_RR)
                    wtcp_setsockopt(e->st, e->sock, WTCP_TCP_NODELAY, 1);
            }
        } else if (ev.sock == e->sock && (ev.events & WTCP_EV_CONNECTED)) {
            e->connecting = 0;
            e->start_ms = now;
        } else if (ev.sock == e->sock && (ev.events & WTCP_EV_ERROR)) {
            int err = 0;
            wtcp_getsockopt(e->st, e->sock, WTCP_SO_ERROR, &err);
            fprintf(stderr, "wtcp end: connection failed: %s\n", wtcp_strerror(err));
            e->failed = e->done = 1;
            return;
        }
    }
    if (e->sock < 0 || e->connecting)
        return;
    if (e->o.bcase == CASE_RR) {
        recv_all(e, e->o.role == ROLE_CLIENT, now);
        if (e->o.role == ROLE_CLIENT && !e->tx_shut) {
            if (e->rx_off == e->tx_off) { /* the answer is complete: the next request */
                if (e->rx_off > 0)
                    e->count++;
                if (now - e->start_ms >= e->o.seconds * 1000) {
                    e->end_ms = now;
                    wtcp_shutdown(e->st, e->sock, WTCP_SHUT_WR);
                    e->tx_shut = 1;
                } else if (wtcp_send(e->st, e->sock, pattern_at(e->tx_off), RR_SIZE) == RR_SIZE) {
                    e->tx_off += RR_SIZE;
                }
            }
        }
    } else {
        if (sends_bulk(e))
            send_bulk(e, now);
        recv_all(e, 1, now);
    }
    if (e->tx_shut && e->rx_eof && closed_cleanly(e))
        e->done = 1;
}

void wend_peer_gone(wend *e, double now)
{
    if (e->done)
        return;
    if (e->o.bcase == CASE_CONN && e->o.role == ROLE_SERVER) {
        e->end_ms = now;
        e->done = 1;
        return;
    }
    /* Our part is over when the stream ended both ways; only the last ACK may be missing. */
    if (!(e->rx_eof && e->tx_shut)) {
        fprintf(stderr, "wtcp end (%s): the peer hung up early\n", e->o.role == ROLE_CLIENT ? "client" : "server");
        e->failed = 1;
    }
    e->done = 1;
}

void wend_result(wend *e, bench_result *r)
{
    memset(r, 0, sizeof *r);
    wtcp_stats s;
    wtcp_stats_get(e->st, &s);
    r->rx_bytes = e->rx_off;
    r->tx_bytes = e->tx_off;
    r->rx_ms = e->end_ms - e->start_ms;
    r->bad_bytes = e->bad_bytes;
    r->drops = s.drops;
    r->drops_oow = s.drop[WTCP_DROP_TCP_OUT_OF_WINDOW];
    r->drops_dup = s.drop[WTCP_DROP_TCP_DUPLICATE];
    r->retransmits = s.tcp_retransmits;
    r->timeouts = s.tcp_timeouts;
    r->recoveries = s.tcp_recoveries;
    r->tlp_probes = s.tcp_tlp_probes;
    r->rack_losses = s.tcp_rack_losses;
    r->count = e->count;
    r->count_ms = e->end_ms - e->start_ms;
    r->failed = e->failed;
}

void wend_free(wend *e)
{
    if (e->st)
        wtcp_stack_free(e->st);
    e->st = NULL;
}

/* ---- the end in its own process */

static void out_to_link(void *user, const uint8_t *p, size_t n)
{
    link_push(user, p, n);
}

typedef struct feeder {
    wtcp_stack *st;
    uint64_t now;
} feeder;

static void feed(void *user, const uint8_t *p, size_t n)
{
    feeder *f = user;
    /* One recvmmsg batch is one batch for the stack: wtcp_poll below sends its ACK. */
    wtcp_input_more(f->st, f->now, p, n);
}

int wtcp_end_main(const bench_opts *o)
{
    static wend e;
    static pktlink l;
    link_init(&l, o->link_fd);
    pattern_init();
    if (wend_init(&e, o, out_to_link, &l) != 0) {
        fprintf(stderr, "wtcp end: set-up failed\n");
        return 1;
    }
    end_ready(o);
    while (!e.done) {
        feeder f = { e.st, now_ms() };
        link_recv(&l, feed, &f, 4096);
        double now = now_ms_f();
        wend_step(&e, now);
        uint64_t t = now_ms();
        uint64_t deadline = wtcp_poll(e.st, t);
        link_flush(&l);
        if (l.eof) {
            wend_peer_gone(&e, now_ms_f());
            break;
        }
        if (e.done)
            break;
        int timeout = 100;
        if (deadline != WTCP_NEVER)
            timeout = deadline <= t ? 0 : (int)(deadline - t < 100 ? deadline - t : 100);
        if (e.linger_until > 0)
            timeout = timeout > 5 ? 5 : timeout;
        link_wait(&l, timeout);
    }
    link_flush_all(&l);
    bench_result r;
    wend_result(&e, &r);
    result_write(o->result_fd, &r);
    wend_free(&e);
    link_free(&l);
    return r.failed;
}
