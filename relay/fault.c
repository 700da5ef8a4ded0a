/* fault.c: seeded fault injection per client and direction: loss, delay with jitter, reordering, duplication. */
#include "relay.h"

#include <stdlib.h>

/* A packet picked for reordering waits for the next packet to pass, but no longer than
 * this (so the last packet of a burst is not held forever). */
#define REORDER_MAX_HOLD_US 10000

/* splitmix64: small, fast, and the same sequence for the same --seed everywhere. */
uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double rng_percent(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * (100.0 / 9007199254740992.0);
}

static void line_run(relay_line *l);

static void line_timer(lws_sorted_usec_list_t *sul)
{
    line_run(lws_container_of(sul, relay_line, sul));
}

static void line_run(relay_line *l)
{
    client *c = l->c;
    int64_t now = lws_now_usecs();
    while (l->q.head && l->q.head->due_us <= now) {
        relay_pkt *p = pktq_pop(&l->q);
        client_emit(c, l->dir, p);
        if (l->held) {
            relay_pkt *h = l->held;
            l->held = NULL;
            client_emit(c, l->dir, h);
        }
    }
    if (l->held && l->held->due_us <= now) {
        relay_pkt *h = l->held;
        l->held = NULL;
        client_emit(c, l->dir, h);
    }
    int64_t next = 0;
    if (l->q.head)
        next = l->q.head->due_us;
    if (l->held && (!next || l->held->due_us < next))
        next = l->held->due_us;
    if (next)
        lws_sul_schedule(c->r->ctx, 0, &l->sul, line_timer, next - now);
    else
        lws_sul_cancel(&l->sul);
}

static void line_add(client *c, int dir, relay_pkt *p, int64_t now)
{
    relay *r = c->r;
    relay_line *l = &c->line[dir];
    const relay_fault *f = &r->o.fault[dir];
    int64_t due = now + (int64_t)f->delay_ms * 1000;
    if (f->jitter_ms) {
        int64_t span = (int64_t)f->jitter_ms * 1000;
        due += (int64_t)(rng_next(&r->rng) % (uint64_t)(2 * span + 1)) - span;
    }
    /* Jitter alone does not reorder: a packet never leaves before the one ahead of it. */
    if (due < l->last_due)
        due = l->last_due;
    if (due < now)
        due = now;
    l->last_due = due;
    if (due > now)
        r->st.delayed[dir]++;
    p->due_us = due;
    if (f->reorder > 0 && !l->held && rng_percent(&r->rng) < f->reorder) {
        p->due_us = due + REORDER_MAX_HOLD_US;
        l->held = p;
        r->st.reordered[dir]++;
        return;
    }
    if (pktq_full(r, &l->q, p)) {
        client_drop(r, c, dir, DROP_QUEUE_FULL);
        free(p);
        return;
    }
    pktq_push(&l->q, p);
}

void fault_submit(client *c, int dir, relay_pkt *p)
{
    relay *r = c->r;
    if (!r->fault_active[dir]) {
        client_emit(c, dir, p);
        return;
    }
    const relay_fault *f = &r->o.fault[dir];
    if (f->loss > 0 && rng_percent(&r->rng) < f->loss) {
        client_drop(r, c, dir, DROP_FAULT_LOSS);
        free(p);
        return;
    }
    relay_pkt *copy = NULL;
    if (f->duplicate > 0 && rng_percent(&r->rng) < f->duplicate) {
        copy = pkt_new(PKT_DATA(p), p->len);
        if (copy)
            r->st.duplicated[dir]++;
    }
    int64_t now = lws_now_usecs();
    relay_line *l = &c->line[dir];
    l->c = c;
    l->dir = dir;
    line_add(c, dir, p, now);
    if (copy)
        line_add(c, dir, copy, now);
    line_run(l);
}

void fault_cancel(client *c)
{
    for (int d = 0; d < DIR_COUNT; d++) {
        relay_line *l = &c->line[d];
        lws_sul_cancel(&l->sul);
        pktq_free(&l->q);
        free(l->held);
        l->held = NULL;
    }
}
