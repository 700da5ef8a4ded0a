/* arp.c: address resolution on Ethernet links (RFC 826, RFC 1122 2.3.2.1, announcements
 * as RFC 5227 2.3): a bounded cache with expiry and refresh, packets held while a
 * resolution is pending, requests answered for our own addresses. */
#include <string.h>

#include "internal.h"

static const uint8_t mac_broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mac_zero[6];

static void arp_deadline(wtcp_stack *st, uint64_t t)
{
    if (t < st->arp.next_deadline)
        st->arp.next_deadline = t;
}

static uint32_t arp_find(wtcp_stack *st, uint8_t ifx, uint32_t ip)
{
    arp_table *t = &st->arp;
    if (t->last < t->cap) {
        const arp_entry *e = &t->e[t->last];
        if (e->state != ARP_FREE && e->ip == ip && e->ifx == ifx)
            return t->last;
    }
    for (uint32_t i = 0, seen = 0; i < t->cap && seen < t->count; i++) {
        const arp_entry *e = &t->e[i];
        if (e->state == ARP_FREE)
            continue;
        seen++;
        if (e->ip == ip && e->ifx == ifx) {
            t->last = i;
            return i;
        }
    }
    return WTCP_NONE;
}

/* Drops what waits on entry e (each counted as reason). */
static void arp_drop_queue(wtcp_stack *st, arp_entry *e, int reason)
{
    while (e->queue) {
        arp_pkt *p = e->queue;
        e->queue = p->next;
        st->arp.queued_bytes -= p->len;
        stack_drop(st, reason);
        wtcp_mem_free(st, p);
    }
    e->queue_tail = NULL;
    e->queued = 0;
}

static void arp_release(wtcp_stack *st, arp_entry *e)
{
    arp_drop_queue(st, e, WTCP_DROP_ARP_UNRESOLVED);
    e->state = ARP_FREE;
    st->arp.count--;
}

/* A free entry, evicting the least recently used one when the cache is full (resolved
 * entries before pending ones, so a flood of new addresses cannot starve a working one
 * of its queue). */
static uint32_t arp_take(wtcp_stack *st)
{
    arp_table *t = &st->arp;
    uint32_t victim = WTCP_NONE;
    for (uint32_t i = 0; i < t->cap; i++) {
        arp_entry *e = &t->e[i];
        if (e->state == ARP_FREE)
            return i;
        if (victim == WTCP_NONE || (e->state != ARP_INCOMPLETE && t->e[victim].state == ARP_INCOMPLETE) ||
            ((e->state == ARP_INCOMPLETE) == (t->e[victim].state == ARP_INCOMPLETE) && e->used < t->e[victim].used))
            victim = i;
    }
    arp_release(st, &t->e[victim]);
    st->stats.arp_evicted++;
    return victim;
}

static arp_entry *arp_new(wtcp_stack *st, uint8_t ifx, uint32_t ip, uint8_t state)
{
    uint32_t i = arp_take(st);
    arp_entry *e = &st->arp.e[i];
    memset(e, 0, sizeof *e);
    e->ip = ip;
    e->ifx = ifx;
    e->state = state;
    e->used = st->now;
    st->arp.count++;
    st->arp.last = i;
    return e;
}

void arp_request(wtcp_stack *st, uint8_t ifx, uint32_t ip, const uint8_t *unicast_mac)
{
    const wtcp_if *f = &st->ifs[ifx];
    wire_arp a;
    a.op = WIRE_ARP_REQUEST;
    memcpy(a.sha, f->mac, 6);
    a.spa = f->addr;
    memcpy(a.tha, mac_zero, 6);
    a.tpa = ip;
    size_t n = wire_arp_emit(st->tx, &a);
    st->stats.arp_out++;
    ether_send(st, ifx, unicast_mac ? unicast_mac : mac_broadcast, WIRE_ETH_ARP, st->tx, n);
}

/* The entry is resolved: send what waited, in order. */
static void arp_resolved(wtcp_stack *st, arp_entry *e, const uint8_t mac[6])
{
    memcpy(e->mac, mac, 6);
    e->state = ARP_REACHABLE;
    e->tries = 0;
    e->deadline = st->now + ARP_REACHABLE_MS;
    arp_deadline(st, e->deadline);
    while (e->queue) {
        arp_pkt *p = e->queue;
        e->queue = p->next;
        e->queued--;
        st->arp.queued_bytes -= p->len;
        ether_send(st, e->ifx, e->mac, WIRE_ETH_IPV4, p->data + IF_HEADROOM, p->len);
        wtcp_mem_free(st, p);
    }
    e->queue_tail = NULL;
}

void arp_output(wtcp_stack *st, uint8_t ifx, uint32_t nexthop, uint8_t *pkt, size_t len)
{
    uint32_t i = arp_find(st, ifx, nexthop);
    arp_entry *e = i == WTCP_NONE ? NULL : &st->arp.e[i];
    if (e && e->state != ARP_INCOMPLETE) {
        e->used = st->now;
        ether_send(st, ifx, e->mac, WIRE_ETH_IPV4, pkt, len);
        return;
    }
    /* Hold a copy (with room for the link header and padding) while we ask. */
    int fresh = e == NULL;
    if (fresh)
        e = arp_new(st, ifx, nexthop, ARP_INCOMPLETE);
    e->used = st->now;
    size_t room = len < WIRE_ETH_MIN_FRAME ? WIRE_ETH_MIN_FRAME : len;
    arp_pkt *p = NULL;
    if (len <= ARP_QUEUE_BYTES) {
        while (e->queue && (e->queued >= ARP_QUEUE_MAX || st->arp.queued_bytes + len > ARP_QUEUE_BYTES)) {
            arp_pkt *old = e->queue; /* the oldest goes, as Linux's arp_queue */
            e->queue = old->next;
            e->queued--;
            st->arp.queued_bytes -= old->len;
            stack_drop(st, WTCP_DROP_ARP_QUEUE_FULL);
            wtcp_mem_free(st, old);
        }
        if (!e->queue)
            e->queue_tail = NULL;
        if (st->arp.queued_bytes + len <= ARP_QUEUE_BYTES)
            p = wtcp_mem_alloc(st, sizeof *p + IF_HEADROOM + room);
    }
    if (p) {
        p->next = NULL;
        p->len = (uint32_t)len;
        memcpy(p->data + IF_HEADROOM, pkt, len);
        if (e->queue_tail)
            e->queue_tail->next = p;
        else
            e->queue = p;
        e->queue_tail = p;
        e->queued++;
        st->arp.queued_bytes += (uint32_t)len;
    } else {
        stack_drop(st, WTCP_DROP_ARP_QUEUE_FULL);
    }
    if (fresh) { /* the packet is safe in the queue: st->tx may build the request */
        e->tries = 1;
        e->deadline = st->now + ARP_RETRY_MS;
        arp_deadline(st, e->deadline);
        arp_request(st, ifx, nexthop, NULL);
    }
}

void arp_learn(wtcp_stack *st, uint8_t ifx, uint32_t ip, const uint8_t mac[6], int replace)
{
    uint32_t i = arp_find(st, ifx, ip);
    if (i != WTCP_NONE && !replace && st->arp.e[i].state != ARP_INCOMPLETE)
        return;
    arp_entry *e = i == WTCP_NONE ? arp_new(st, ifx, ip, ARP_REACHABLE) : &st->arp.e[i];
    e->used = st->now;
    arp_resolved(st, e, mac);
}

void arp_input(wtcp_stack *st, uint8_t ifx, const uint8_t *msg, size_t len)
{
    const wtcp_if *f = &st->ifs[ifx];
    wire_arp a;
    int r = wire_arp_parse(msg, len, &a);
    if (r == WIRE_OK && (wire_mac_is_group(a.sha) || a.spa == 0xffffffffu || (a.spa >> 28) == 0xe))
        r = WTCP_DROP_ARP_MALFORMED;
    if (r != WIRE_OK) {
        stack_drop(st, r);
        return;
    }
    st->stats.arp_in++;
    if (f->addr == 0 || (a.spa == f->addr && a.spa != 0)) {
        /* No address to answer for, or someone else claims ours (RFC 5227 conflict):
         * never learn our own address as another host's. */
        stack_drop(st, WTCP_DROP_ARP_NOT_OURS);
        return;
    }
    /* RFC 826's merge: refresh what we know of the sender; learn it only when the
     * message is for us (so a broadcast on the LAN cannot fill the cache). A sender of
     * 0.0.0.0 is an RFC 5227 probe and teaches nothing. */
    int for_us = a.tpa == f->addr;
    uint32_t i = a.spa ? arp_find(st, ifx, a.spa) : WTCP_NONE;
    if (i != WTCP_NONE)
        arp_resolved(st, &st->arp.e[i], a.sha);
    else if (for_us && a.spa)
        arp_resolved(st, arp_new(st, ifx, a.spa, ARP_REACHABLE), a.sha);
    if (!for_us) {
        if (i == WTCP_NONE)
            stack_drop(st, WTCP_DROP_ARP_NOT_OURS);
        return;
    }
    if (a.op == WIRE_ARP_REQUEST) {
        wire_arp reply;
        reply.op = WIRE_ARP_REPLY;
        memcpy(reply.sha, f->mac, 6);
        reply.spa = f->addr;
        memcpy(reply.tha, a.sha, 6);
        reply.tpa = a.spa;
        size_t n = wire_arp_emit(st->tx, &reply);
        st->stats.arp_out++;
        ether_send(st, ifx, a.sha, WIRE_ETH_ARP, st->tx, n);
    }
}

uint64_t arp_timers(wtcp_stack *st)
{
    arp_table *t = &st->arp;
    if (st->now < t->next_deadline)
        return t->next_deadline;
    uint64_t next = WTCP_NEVER;
    for (uint32_t i = 0; i < t->cap; i++) {
        arp_entry *e = &t->e[i];
        if (e->state == ARP_FREE)
            continue;
        if (e->deadline <= st->now) {
            if (e->state == ARP_REACHABLE) {
                if (e->used + ARP_REACHABLE_MS <= st->now) {
                    arp_release(st, e); /* unused since it was confirmed */
                    continue;
                }
                e->state = ARP_PROBE; /* in use: confirm by unicast, keep sending meanwhile */
                e->tries = 0;
            }
            if (e->tries >= ARP_TRIES) {
                arp_release(st, e); /* no answer: what waited is dropped */
                continue;
            }
            e->tries++;
            e->deadline = st->now + ARP_RETRY_MS;
            arp_request(st, e->ifx, e->ip, e->state == ARP_PROBE ? e->mac : NULL);
        }
        if (e->deadline < next)
            next = e->deadline;
    }
    t->next_deadline = next;
    return next;
}

void arp_free_all(wtcp_stack *st)
{
    arp_table *t = &st->arp;
    for (uint32_t i = 0; t->e && i < t->cap; i++) {
        arp_entry *e = &t->e[i];
        while (e->queue) {
            arp_pkt *p = e->queue;
            e->queue = p->next;
            wtcp_mem_free(st, p);
        }
    }
    wtcp_mem_free(st, t->e);
    memset(t, 0, sizeof *t);
}
