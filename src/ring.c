/* ring.c: byte ring buffer used by TCP send/receive buffers and UDP queues. */
#include "ring.h"

#include <string.h>

static void copy_in(wtcp_ring *r, uint32_t pos, const uint8_t *src, uint32_t n)
{
    uint32_t first = r->cap - pos;
    if (first > n)
        first = n;
    memcpy(r->buf + pos, src, first);
    if (n > first)
        memcpy(r->buf, src + first, n - first);
}

static uint32_t wrap(const wtcp_ring *r, uint64_t pos)
{
    return (uint32_t)(pos % r->cap);
}

uint32_t ring_write(wtcp_ring *r, const void *src, uint32_t n)
{
    if (n > ring_free(r))
        n = ring_free(r);
    if (n == 0)
        return 0;
    copy_in(r, wrap(r, (uint64_t)r->head + r->len), src, n);
    r->len += n;
    return n;
}

void ring_write_at(wtcp_ring *r, uint32_t off, const void *src, uint32_t n)
{
    if (n == 0)
        return;
    copy_in(r, wrap(r, (uint64_t)r->head + r->len + off), src, n);
}

void ring_commit(wtcp_ring *r, uint32_t n) { r->len += n; }

void ring_peek(const wtcp_ring *r, uint32_t off, void *dst, uint32_t n)
{
    if (n == 0)
        return;
    uint32_t pos = wrap(r, (uint64_t)r->head + off);
    uint32_t first = r->cap - pos;
    if (first > n)
        first = n;
    memcpy(dst, r->buf + pos, first);
    if (n > first)
        memcpy((uint8_t *)dst + first, r->buf, n - first);
}

void ring_consume(wtcp_ring *r, uint32_t n)
{
    if (r->cap == 0)
        return;
    /* head moves even when the ring empties: out-of-order data may sit beyond len. */
    r->len -= n;
    r->head = wrap(r, (uint64_t)r->head + n);
}

uint8_t *ring_move(wtcp_ring *r, uint8_t *newbuf, uint32_t newcap, uint32_t keep)
{
    uint8_t *old = r->buf;
    if (keep)
        ring_peek(r, 0, newbuf, keep);
    r->buf = newbuf;
    r->cap = newcap;
    r->head = 0;
    return old;
}

uint32_t ring_read(wtcp_ring *r, void *dst, uint32_t n)
{
    if (n > r->len)
        n = r->len;
    ring_peek(r, 0, dst, n);
    ring_consume(r, n);
    return n;
}
