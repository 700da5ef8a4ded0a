/* tcp_buf.c: socket buffers that grow with need and are released when idle: the receive
 * buffer as data arrives (up to SO_RCVBUF), the send buffer with the congestion window (up
 * to SO_SNDBUF, as Linux's tcp_sndbuf_expand), both freed once empty for TCP_BUF_IDLE_MS. */
#include "tcp/tcp.h"

enum {
    TCP_BUF_STEP = 4096,       /* allocation granule */
    TCP_SNDBUF_START = 65536,  /* the send buffer may always hold this much */
    TCP_BUF_IDLE_MS = 1000,    /* an empty buffer is released after this */
};

/* Grows r so that it holds at least `need` bytes: doubling, in steps, never beyond
 * limit (>= need). The first `keep` bytes of the ring's space move along. */
static int ring_reserve(wtcp_stack *st, wtcp_ring *r, uint32_t need, uint32_t limit, uint32_t keep)
{
    if (need <= r->cap)
        return 0;
    uint64_t cap = r->cap ? (uint64_t)r->cap * 2 : TCP_BUF_STEP;
    if (cap < need)
        cap = need;
    cap = (cap + TCP_BUF_STEP - 1) & ~(uint64_t)(TCP_BUF_STEP - 1);
    if (cap > limit)
        cap = limit;
    if (cap < need)
        cap = need;
    uint8_t *nb = wtcp_mem_alloc(st, (size_t)cap);
    if (!nb)
        return -1;
    wtcp_mem_free(st, ring_move(r, nb, (uint32_t)cap, keep));
    return 0;
}

/* Bytes the receive buffer's space holds now: the unread bytes and the out-of-order data
 * beyond them. */
static uint32_t rcvbuf_extent(const tcp_conn *c)
{
    uint32_t ooo_end = c->ooo.count ? c->ooo.end[c->ooo.count - 1] : 0;
    return c->rcvbuf.len + ooo_end;
}

int tcp_rcvbuf_reserve(wtcp_stack *st, tcp_conn *c, uint32_t need)
{
    uint32_t limit = c->rcvbuf_size > need ? c->rcvbuf_size : need;
    uint32_t keep = rcvbuf_extent(c);
    if (keep > c->rcvbuf.cap)
        keep = c->rcvbuf.cap;
    return ring_reserve(st, &c->rcvbuf, need, limit, keep);
}

uint32_t tcp_rcv_space(const tcp_conn *c)
{
    return c->rcvbuf_size > c->rcvbuf.len ? c->rcvbuf_size - c->rcvbuf.len : 0;
}

/* How much the send buffer may hold now: twice the largest congestion window so far
 * (what a window and its retransmissions need; Linux's tcp_sndbuf_expand, which never
 * shrinks it either), at least TCP_SNDBUF_START, at most the configured size; all of
 * SO_SNDBUF when the application set it (as Linux locks it then). */
static uint32_t sndbuf_limit(tcp_conn *c)
{
    if (c->flags & TF_SNDBUF_LOCK)
        return c->sndbuf_size;
    uint64_t want = 2 * (uint64_t)c->cwnd;
    if (want < TCP_SNDBUF_START)
        want = TCP_SNDBUF_START;
    if (want > c->snd_auto)
        c->snd_auto = want > c->sndbuf_size ? c->sndbuf_size : (uint32_t)want;
    return c->snd_auto < c->sndbuf_size ? c->snd_auto : c->sndbuf_size;
}

uint32_t tcp_snd_room(tcp_conn *c)
{
    uint32_t limit = sndbuf_limit(c);
    return limit > c->sndbuf.len ? limit - c->sndbuf.len : 0;
}

uint32_t tcp_sndbuf_write(wtcp_stack *st, tcp_conn *c, const void *buf, uint32_t len, int *nomem)
{
    uint32_t room = tcp_snd_room(c);
    uint32_t n = len < room ? len : room;
    *nomem = 0;
    if (n == 0)
        return 0;
    if (ring_reserve(st, &c->sndbuf, c->sndbuf.len + n, sndbuf_limit(c), c->sndbuf.len) < 0) {
        n = ring_free(&c->sndbuf) < n ? ring_free(&c->sndbuf) : n;
        if (n == 0) {
            *nomem = 1;
            return 0;
        }
    }
    return ring_write(&c->sndbuf, buf, n);
}

/* A buffer became empty: release it later if it stays so. */
void tcp_buf_emptied(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    if (!c->timer[TCP_T_BUFIDLE] && (c->rcvbuf.cap || c->sndbuf.cap || c->txlog.cap))
        tcp_arm(st, idx, TCP_T_BUFIDLE, st->now + TCP_BUF_IDLE_MS);
}

static void ring_release(wtcp_stack *st, wtcp_ring *r)
{
    wtcp_mem_free(st, r->buf);
    r->buf = NULL;
    r->cap = r->head = r->len = 0;
}

void tcp_buf_idle(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    if (c->rcvbuf.cap && c->rcvbuf.len == 0 && c->ooo.count == 0)
        ring_release(st, &c->rcvbuf);
    if (c->sndbuf.cap && c->sndbuf.len == 0)
        ring_release(st, &c->sndbuf);
    if (c->txlog.cap && c->txlog.count == 0)
        tcp_txlog_free(st, c);
}

void tcp_free_buffers(wtcp_stack *st, sock_slot *s)
{
    ring_release(st, &s->u.tcp.sndbuf);
    ring_release(st, &s->u.tcp.rcvbuf);
    tcp_txlog_free(st, &s->u.tcp);
}
