/* sock.c: the socket layer: the socket table (slots, handles with generations, the free
 * list, growth up to max_sockets), the event queue, the output list, the timer heap, the
 * TCP 4-tuple hash, the port index and the one ephemeral-port allocator (RFC 6056). */
#include <string.h>

#include "internal.h"

/* ---- the socket table ---- */

wtcp_sock sock_handle(const wtcp_stack *st, uint32_t idx)
{
    return (wtcp_sock)(((uint32_t)(st->socks[idx].gen & 0x7fff) << 16) | (idx + 1));
}

/* Doubles the socket table (and the timer heap's array) up to max_sockets. Slots keep
 * their indices, so handles stay valid; pointers into the table do not. */
static int sock_table_grow(wtcp_stack *st)
{
    uint32_t old = st->nsocks;
    if (old >= st->cfg.max_sockets)
        return -1;
    uint32_t n = old * 2 < st->cfg.max_sockets ? old * 2 : st->cfg.max_sockets;
    sock_slot *socks = wtcp_mem_alloc(st, sizeof(sock_slot) * n);
    uint32_t *heap = wtcp_mem_alloc(st, sizeof(uint32_t) * n);
    if (!socks || !heap) {
        wtcp_mem_free(st, socks);
        wtcp_mem_free(st, heap);
        return -1;
    }
    memcpy(socks, st->socks, sizeof(sock_slot) * old);
    memset(socks + old, 0, sizeof(sock_slot) * (n - old));
    memcpy(heap, st->heap, sizeof(uint32_t) * st->heap_len);
    for (uint32_t i = old; i < n; i++) {
        socks[i].free_next = i + 1 < n ? i + 1 : WTCP_NONE;
        socks[i].heap_pos = WTCP_NONE;
        socks[i].gen = 1;
    }
    wtcp_mem_free(st, st->socks);
    wtcp_mem_free(st, st->heap);
    st->socks = socks;
    st->heap = heap;
    st->nsocks = n;
    st->free_head = old;
    return 0;
}

uint32_t sock_alloc(wtcp_stack *st, int type)
{
    if (st->free_head == WTCP_NONE && sock_table_grow(st) < 0)
        return WTCP_NONE;
    uint32_t idx = st->free_head;
    sock_slot *s = &st->socks[idx];
    st->free_head = s->free_next;
    uint16_t gen = s->gen;
    /* The event and output lists may still link through this slot: keep their links. */
    uint8_t ev_queued = s->ev_queued, in_output_list = s->in_output_list;
    uint32_t ev_next = s->ev_next, out_next = s->out_next;
    memset(s, 0, sizeof *s);
    s->gen = gen;
    s->ev_queued = ev_queued;
    s->ev_next = ev_next;
    s->in_output_list = in_output_list;
    s->out_next = out_next;
    s->in_use = 1;
    s->type = (uint8_t)type;
    s->heap_pos = WTCP_NONE;
    s->hash_next = WTCP_NONE;
    s->port_next = WTCP_NONE;
    s->free_next = WTCP_NONE;
    s->rcvbuf_opt = st->cfg.rcvbuf;
    s->sndbuf_opt = st->cfg.sndbuf;
    s->ka_idle_ms = st->cfg.keepalive_idle_ms;
    s->ka_intvl_ms = st->cfg.keepalive_intvl_ms;
    s->ka_count = st->cfg.keepalive_count;
    s->cc_opt = st->cfg.congestion;
    s->rto_min_opt = st->cfg.rto_min_ms;
    s->u.tcp.parent = WTCP_NONE;
    s->u.tcp.accept_next = WTCP_NONE;
    s->u.tcp.accept_head = s->u.tcp.accept_tail = WTCP_NONE;
    return idx;
}

static void heap_remove(wtcp_stack *st, uint32_t idx);
static void port_unlink(wtcp_stack *st, uint32_t idx);

void sock_release(wtcp_stack *st, uint32_t idx)
{
    for (uint8_t i = 0; i < st->nifs; i++) /* an interception listener: interception ends */
        if (st->ifs[i].intercept == idx + 1)
            st->ifs[i].intercept = 0;
        else if (st->ifs[i].intercept_udp == idx + 1)
            st->ifs[i].intercept_udp = 0;
    sock_slot *s = &st->socks[idx];
    if (!s->in_use)
        return;
    hash_remove(st, idx);
    port_unlink(st, idx);
    if (s->type == WTCP_SOCK_STREAM)
        tcp_free_buffers(st, s);
    else
        udp_free(st, s);
    heap_remove(st, idx);
    /* Leave it on the event/output lists with nothing pending; they skip it. */
    s->events = 0;
    s->in_use = 0;
    s->user_owned = 0;
    s->gen = (uint16_t)((s->gen + 1) & 0x7fff);
    if (s->gen == 0)
        s->gen = 1;
    s->free_next = st->free_head;
    st->free_head = idx;
}

/* ---- events ---- */

void sock_event(wtcp_stack *st, uint32_t idx, uint32_t bits)
{
    sock_slot *s = &st->socks[idx];
    if (!s->user_owned)
        return;
    s->events |= bits;
    if (s->ev_queued)
        return;
    s->ev_queued = 1;
    s->ev_next = WTCP_NONE;
    if (st->ev_tail == WTCP_NONE)
        st->ev_head = idx;
    else
        st->socks[st->ev_tail].ev_next = idx;
    st->ev_tail = idx;
}

int wtcp_next_event(wtcp_stack *st, wtcp_event *ev)
{
    if (!st || !ev)
        return 0;
    while (st->ev_head != WTCP_NONE) {
        uint32_t idx = st->ev_head;
        sock_slot *s = &st->socks[idx];
        st->ev_head = s->ev_next;
        if (st->ev_head == WTCP_NONE)
            st->ev_tail = WTCP_NONE;
        s->ev_queued = 0;
        if (s->in_use && s->user_owned && s->events) {
            ev->sock = sock_handle(st, idx);
            ev->events = s->events;
            s->events = 0;
            return 1;
        }
        s->events = 0;
    }
    return 0;
}

void sock_want_output(wtcp_stack *st, uint32_t idx)
{
    sock_slot *s = &st->socks[idx];
    if (s->in_output_list)
        return;
    s->in_output_list = 1;
    s->out_next = st->out_head;
    st->out_head = idx;
}

/* ---- timer heap: sockets ordered by their earliest armed timer ---- */

static void heap_swap(wtcp_stack *st, uint32_t a, uint32_t b)
{
    uint32_t ia = st->heap[a], ib = st->heap[b];
    st->heap[a] = ib;
    st->heap[b] = ia;
    st->socks[ib].heap_pos = a;
    st->socks[ia].heap_pos = b;
}

static uint64_t heap_key(const wtcp_stack *st, uint32_t pos) { return st->socks[st->heap[pos]].deadline; }

static void heap_fix(wtcp_stack *st, uint32_t pos)
{
    while (pos > 0 && heap_key(st, (pos - 1) / 2) > heap_key(st, pos)) {
        heap_swap(st, pos, (pos - 1) / 2);
        pos = (pos - 1) / 2;
    }
    for (;;) {
        uint32_t l = 2 * pos + 1, r = l + 1, m = pos;
        if (l < st->heap_len && heap_key(st, l) < heap_key(st, m))
            m = l;
        if (r < st->heap_len && heap_key(st, r) < heap_key(st, m))
            m = r;
        if (m == pos)
            break;
        heap_swap(st, pos, m);
        pos = m;
    }
}

static void heap_remove(wtcp_stack *st, uint32_t idx)
{
    uint32_t pos = st->socks[idx].heap_pos;
    if (pos == WTCP_NONE)
        return;
    st->heap_len--;
    if (pos != st->heap_len) {
        heap_swap(st, pos, st->heap_len);
        st->socks[idx].heap_pos = WTCP_NONE;
        heap_fix(st, pos);
    }
    st->socks[idx].heap_pos = WTCP_NONE;
}

void sock_timers_changed(wtcp_stack *st, uint32_t idx)
{
    sock_slot *s = &st->socks[idx];
    uint64_t d = 0;
    if (s->in_use && s->type == WTCP_SOCK_STREAM) {
        for (int t = 0; t < TCP_T_COUNT; t++) {
            uint64_t when = s->u.tcp.timer[t];
            if (when && (d == 0 || when < d))
                d = when;
        }
    }
    if (d == 0) {
        heap_remove(st, idx);
        return;
    }
    s->deadline = d;
    if (s->heap_pos == WTCP_NONE) {
        s->heap_pos = st->heap_len;
        st->heap[st->heap_len++] = idx;
    }
    heap_fix(st, s->heap_pos);
}

/* ---- the TCP 4-tuple table ---- */

static uint32_t hash_bucket(const wtcp_stack *st, uint16_t lport, uint32_t raddr, uint16_t rport)
{
    uint32_t h = raddr * 0x9e3779b1u;
    h ^= ((uint32_t)lport << 16 | rport) * 0x85ebca6bu;
    h ^= h >> 15;
    h *= 0xc2b2ae35u;
    h ^= h >> 13;
    return h & st->hash_mask;
}

void hash_insert(wtcp_stack *st, uint32_t idx)
{
    sock_slot *s = &st->socks[idx];
    uint32_t b = hash_bucket(st, s->lport, s->raddr, s->rport);
    s->hash_next = st->hash[b];
    st->hash[b] = idx;
}

void hash_remove(wtcp_stack *st, uint32_t idx)
{
    sock_slot *s = &st->socks[idx];
    uint32_t b = hash_bucket(st, s->lport, s->raddr, s->rport);
    uint32_t *link = &st->hash[b];
    while (*link != WTCP_NONE) {
        if (*link == idx) {
            *link = s->hash_next;
            s->hash_next = WTCP_NONE;
            return;
        }
        link = &st->socks[*link].hash_next;
    }
}

uint32_t hash_lookup(const wtcp_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
    uint32_t i = st->hash[hash_bucket(st, lport, raddr, rport)];
    while (i != WTCP_NONE) {
        const sock_slot *s = &st->socks[i];
        if (s->lport == lport && s->raddr == raddr && s->rport == rport &&
            (laddr == 0 || s->laddr == 0 || s->laddr == laddr))
            return i;
        i = s->hash_next;
    }
    return WTCP_NONE;
}

/* ---- the port index: bound sockets by local port ---- */

static uint32_t port_bucket_of(const wtcp_stack *st, uint16_t port) { return (port * 0x9e3779b1u >> 16) & st->ports_mask; }

static uint32_t *port_bucket(wtcp_stack *st, uint16_t port) { return &st->ports[port_bucket_of(st, port)]; }

uint32_t port_first(const wtcp_stack *st, uint16_t port) { return st->ports[port_bucket_of(st, port)]; }

void sock_bind_port(wtcp_stack *st, uint32_t idx, uint16_t port)
{
    sock_slot *s = &st->socks[idx];
    if (s->bound)
        return;
    uint32_t *b = port_bucket(st, port);
    s->lport = port;
    s->bound = 1;
    s->port_next = *b;
    *b = idx;
}

static void port_unlink(wtcp_stack *st, uint32_t idx)
{
    sock_slot *s = &st->socks[idx];
    if (!s->bound)
        return;
    for (uint32_t *link = port_bucket(st, s->lport); *link != WTCP_NONE; link = &st->socks[*link].port_next) {
        if (*link == idx) {
            *link = s->port_next;
            break;
        }
    }
    s->port_next = WTCP_NONE;
}

int port_in_use(const wtcp_stack *st, int type, uint16_t port, uint32_t except)
{
    for (uint32_t i = port_first(st, port); i != WTCP_NONE; i = st->socks[i].port_next) {
        const sock_slot *s = &st->socks[i];
        if (i != except && s->in_use && s->type == type && s->lport == port)
            return 1;
    }
    return type == WTCP_SOCK_STREAM && tcp_tw_port_used(st, port);
}

/* ---- the one ephemeral-port allocator (RFC 6056 algorithm 3 when given an offset) ---- */

/* Tries the ports of [ephemeral_lo, ephemeral_hi] from offset + port_seq on, and takes the
 * first that usable() accepts; port_seq moves past it, so the next search starts beyond.
 * Returns the port, or 0 when every port is taken. */
uint16_t sock_ephemeral_port(wtcp_stack *st, uint32_t offset, port_usable_fn usable, uint32_t idx, const void *ctx)
{
    uint32_t span = (uint32_t)st->cfg.ephemeral_hi - st->cfg.ephemeral_lo + 1;
    for (uint32_t i = 0; i < span; i++) {
        uint16_t p = (uint16_t)(st->cfg.ephemeral_lo + (offset + st->port_seq + i) % span);
        if (usable(st, idx, p, ctx)) {
            st->port_seq += i + 1;
            return p;
        }
    }
    return 0;
}
