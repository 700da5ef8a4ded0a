/* middle.c: the simulated link between the two ends (a process of its own): a constant
 * one-way delay, seeded random loss and reordering (a chosen packet is held back until the
 * next one in its direction has passed), as relay/fault.c does for the relay. */
#define _GNU_SOURCE
#include "middle.h"

#include "common.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

typedef struct mpkt {
    uint64_t due;
    uint16_t len;
    uint8_t data[LINK_SLOT];
} mpkt;

/* One direction: a FIFO in due order (the delay is constant) and one held-back packet. */
typedef struct dir {
    int in, out;
    mpkt *q;
    size_t cap, head, count;
    mpkt held;
    int has_held;
    uint64_t rx, lost, reordered, sent;
} dir;

static uint64_t rng_state;
static double rng_pct(void) /* uniform in [0, 100) */
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / (double)(1ull << 53) * 100.0;
}

static void enqueue(dir *d, const uint8_t *p, size_t n, uint64_t due)
{
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 1024;
        mpkt *q = malloc(cap * sizeof *q);
        if (!q)
            abort();
        for (size_t i = 0; i < d->count; i++)
            q[i] = d->q[(d->head + i) % d->cap];
        free(d->q);
        d->q = q, d->cap = cap, d->head = 0;
    }
    mpkt *m = &d->q[(d->head + d->count) % d->cap];
    m->due = due;
    m->len = (uint16_t)n;
    memcpy(m->data, p, n);
    d->count++;
}

static const middle_opts *mo;
static uint64_t one_way_us;

static void arrive(void *user, const uint8_t *p, size_t n)
{
    dir *d = user;
    uint64_t due = now_us() + one_way_us;
    d->rx++;
    if (rng_pct() < mo->loss_pct) {
        d->lost++;
        return;
    }
    if (!d->has_held && rng_pct() < mo->reorder_pct) {
        d->held.due = due;
        d->held.len = (uint16_t)n;
        memcpy(d->held.data, p, n);
        d->has_held = 1;
        d->reordered++;
        return;
    }
    enqueue(d, p, n, due);
    if (d->has_held) { /* the held one goes right after the packet that overtook it */
        enqueue(d, d->held.data, d->held.len, due);
        d->has_held = 0;
    }
}

/* Sends every due packet it can; returns the next due time (UINT64_MAX: none). */
static uint64_t deliver(dir *d, uint64_t now)
{
    if (d->has_held && now >= d->held.due + 5000) { /* nothing overtook it: let it go */
        enqueue(d, d->held.data, d->held.len, now);
        d->has_held = 0;
    }
    while (d->count > 0) {
        mpkt *m = &d->q[d->head];
        if (m->due > now)
            return m->due;
        ssize_t k = send(d->out, m->data, m->len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0; /* wait for room */
            if (errno == EINTR)
                continue;
            return UINT64_MAX;
        }
        d->sent++;
        d->head = (d->head + 1) % d->cap;
        d->count--;
    }
    return d->has_held ? d->held.due + 5000 : UINT64_MAX;
}

int middle_main(int fd_a, int fd_b, const middle_opts *m, int verbose)
{
    mo = m;
    one_way_us = (uint64_t)(m->rtt_ms * 500.0);
    rng_state = m->seed * 0x9E3779B97F4A7C15ull + 1;
    static dir d[2];
    static pktlink la, lb;
    d[0].in = fd_a, d[0].out = fd_b;
    d[1].in = fd_b, d[1].out = fd_a;
    link_init(&la, fd_a);
    link_init(&lb, fd_b);
    for (;;) {
        link_recv(&la, arrive, &d[0], 4096);
        link_recv(&lb, arrive, &d[1], 4096);
        if (la.eof || lb.eof)
            break;
        uint64_t now = now_us();
        uint64_t n0 = deliver(&d[0], now), n1 = deliver(&d[1], now);
        struct pollfd p[2] = { { .fd = fd_a, .events = POLLIN }, { .fd = fd_b, .events = POLLIN } };
        if (n0 == 0)
            p[1].events |= POLLOUT;
        if (n1 == 0)
            p[0].events |= POLLOUT;
        uint64_t next = n0 < n1 ? n0 : n1;
        int timeout = -1;
        if (next == 0)
            timeout = 100;
        else if (next != UINT64_MAX)
            timeout = next <= now ? 0 : (int)((next - now + 999) / 1000);
        poll(p, 2, timeout);
    }
    if (verbose)
        fprintf(stderr, "middle: a->b %llu in, %llu lost, %llu reordered; b->a %llu in, %llu lost, %llu reordered\n",
                (unsigned long long)d[0].rx, (unsigned long long)d[0].lost, (unsigned long long)d[0].reordered,
                (unsigned long long)d[1].rx, (unsigned long long)d[1].lost, (unsigned long long)d[1].reordered);
    return 0;
}
