/* onebox.c: both wtcp stacks in one process, joined by in-memory packet queues: bulk,
 * request/response and connection rate as in the two-process harness (real time), and
 * N idle established connections measured through a counting allocator (cfg.alloc). */
#define _GNU_SOURCE
#include "onebox.h"

#include "wtcp_end.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct memq {
    uint8_t *buf; /* 2-byte length, then the packet, back to back */
    size_t len, cap;
} memq;

static void memq_put(void *user, const uint8_t *p, size_t n)
{
    memq *q = user;
    if (q->len + n + 2 > q->cap) {
        q->cap = (q->len + n + 2) * 2;
        q->buf = realloc(q->buf, q->cap);
        if (!q->buf)
            abort();
    }
    q->buf[q->len] = (uint8_t)(n >> 8);
    q->buf[q->len + 1] = (uint8_t)n;
    memcpy(q->buf + q->len + 2, p, n);
    q->len += n + 2;
}

/* Hands everything queued on q to st (which may queue more on the other queue). */
static int memq_deliver(memq *q, memq *spare, wtcp_stack *st, uint64_t now)
{
    if (q->len == 0)
        return 0;
    memq tmp = *q;
    *q = *spare;
    q->len = 0;
    for (size_t off = 0; off < tmp.len;) {
        size_t n = (size_t)tmp.buf[off] << 8 | tmp.buf[off + 1];
        const uint8_t *p = tmp.buf + off + 2;
        off += n + 2;
        if (off < tmp.len)
            wtcp_input_more(st, now, p, n); /* one batch: one ACK, after the last */
        else
            wtcp_input(st, now, p, n);
    }
    *spare = tmp;
    return 1;
}

int onebox_run(const bench_opts *o, bench_result *client, bench_result *server)
{
    static wend a, b;
    memq ab = { 0 }, ba = { 0 }, spare = { 0 };
    pattern_init();
    bench_opts oc = *o, os = *o;
    oc.role = ROLE_CLIENT;
    os.role = ROLE_SERVER;
    if (wend_init(&b, &os, memq_put, &ba) != 0 || wend_init(&a, &oc, memq_put, &ab) != 0)
        return -1;
    while (!(a.done && b.done)) {
        uint64_t t = now_ms();
        double now = now_ms_f();
        int moved = memq_deliver(&ab, &spare, b.st, t) | memq_deliver(&ba, &spare, a.st, t);
        wend_step(&a, now);
        wend_step(&b, now);
        if (a.done && !b.done && o->bcase == CASE_CONN)
            wend_peer_gone(&b, now);
        uint64_t da = wtcp_poll(a.st, t), db = wtcp_poll(b.st, t);
        if (!moved && ab.len == 0 && ba.len == 0) {
            uint64_t d = da < db ? da : db;
            int timeout = d == WTCP_NEVER ? 10 : d <= t ? 0 : (int)(d - t > 10 ? 10 : d - t);
            if (timeout > 0)
                poll(NULL, 0, timeout);
        }
    }
    wend_result(&a, client);
    wend_result(&b, server);
    wend_free(&a);
    wend_free(&b);
    free(ab.buf);
    free(ba.buf);
    free(spare.buf);
    return 0;
}

/* ---- idle connections */

typedef struct counter {
    uint64_t in_use;
} counter;

/* A size header in front of every block, so frees and reallocs can be counted. */
static void *counting_alloc(void *user, void *ptr, size_t size)
{
    counter *c = user;
    size_t *h = ptr ? (size_t *)ptr - 2 : NULL;
    if (h)
        c->in_use -= h[0];
    if (size == 0) {
        free(h);
        return NULL;
    }
    size_t *n = realloc(h, size + 2 * sizeof(size_t));
    if (!n) {
        if (h)
            c->in_use += h[0];
        return NULL;
    }
    n[0] = size;
    c->in_use += size;
    return n + 2;
}

int onebox_idle(uint32_t n, idle_result *r)
{
    memset(r, 0, sizeof *r);
    r->conns = n;
    counter ca = { 0 }, cb = { 0 };
    memq ab = { 0 }, ba = { 0 }, spare = { 0 };
    wtcp_config c;
    wtcp_stack *a, *b;
    wtcp_config_init(&c);
    c.max_sockets = n + 16 > 65535 ? 65535 : n + 16;
    c.max_backlog = 1024;
    c.addr = ADDR_CLIENT;
    c.output = memq_put;
    c.output_user = &ab;
    c.alloc = counting_alloc;
    c.alloc_user = &ca;
    if (wtcp_stack_new(&c, &a))
        return -1;
    c.addr = ADDR_SERVER;
    c.output_user = &ba;
    c.alloc_user = &cb;
    c.isn_key[0] = 1;
    if (wtcp_stack_new(&c, &b))
        return -1;
    int l = wtcp_socket(b, WTCP_SOCK_STREAM);
    if (wtcp_bind(b, l, 0, SERVER_PORT) < 0 || wtcp_listen(b, l, 1024) < 0)
        return -1;
    uint64_t base_a = ca.in_use, base_b = cb.in_use;
    uint32_t opened = 0, established = 0, accepted = 0;
    uint64_t t0 = now_ms();
    double start = now_ms_f();
    while (established < n || accepted < n) {
        /* Keep at most 256 handshakes in flight: the listen queue is bounded. */
        while (opened < n && opened - accepted < 256) {
            int s = wtcp_socket(a, WTCP_SOCK_STREAM);
            int k = s < 0 ? s : wtcp_connect(a, s, ADDR_SERVER, SERVER_PORT);
            if (k < 0 && k != WTCP_EINPROGRESS) {
                fprintf(stderr, "idle: connect %u: %s\n", opened, wtcp_strerror(k));
                r->failed = 1;
                return -1;
            }
            opened++;
        }
        uint64_t t = now_ms();
        wtcp_poll(a, t);
        memq_deliver(&ab, &spare, b, t);
        memq_deliver(&ba, &spare, a, t);
        wtcp_poll(b, t);
        wtcp_event ev;
        while (wtcp_next_event(a, &ev))
            if (ev.events & WTCP_EV_CONNECTED)
                established++;
            else if (ev.events & WTCP_EV_ERROR) {
                fprintf(stderr, "idle: a connection failed\n");
                r->failed = 1;
                return -1;
            }
        while (wtcp_next_event(b, &ev))
            if (ev.sock == l)
                while (wtcp_accept(b, l, NULL, NULL) >= 0)
                    accepted++;
        if (t - t0 > 120000) {
            fprintf(stderr, "idle: only %u established, %u accepted after 120 s\n", established, accepted);
            r->failed = 1;
            return -1;
        }
    }
    r->open_ms = now_ms_f() - start;
    /* Let the last ACKs land, then measure the idle state. */
    for (int i = 0; i < 3; i++) {
        uint64_t t = now_ms();
        wtcp_poll(a, t);
        wtcp_poll(b, t);
        memq_deliver(&ab, &spare, b, t);
        memq_deliver(&ba, &spare, a, t);
    }
    r->client_bytes = ca.in_use - base_a;
    r->server_bytes = cb.in_use - base_b;
    wtcp_stack_free(a);
    wtcp_stack_free(b);
    free(ab.buf);
    free(ba.buf);
    free(spare.buf);
    return 0;
}
