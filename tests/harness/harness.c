/* harness.c: the shared test harness: stacks, the seeded fault link, the run loop, the event log.
 *
 * The link's fault model (loss, duplication, reordering, corruption, delay, jitter, MTU,
 * vanish) and its packet checks came from simnet, which set the figures its cells are
 * judged by: the order of the PRNG draws per packet is part of that contract. */
#include "harness.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ PRNG */

void harness_rng_seed(harness_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = harness_splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t harness_rng_next(harness_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t harness_rng_below(harness_rng *r, uint32_t n)
{
    return (uint32_t)(((harness_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

int harness_rng_chance(harness_rng *r, double pct)
{
    if (pct <= 0.0)
        return 0;
    return (double)(harness_rng_next(r) >> 11) * 0x1p-53 < pct / 100.0;
}

/* ------------------------------------------------------------------ counting allocator */

/* A header in front of every block remembers its size, so frees can be counted. */
typedef union alloc_hdr {
    max_align_t align;
    size_t size;
} alloc_hdr;

void *harness_count_alloc(void *user, void *ptr, size_t size)
{
    harness_alloc_stats *as = user;
    as->calls++;
    alloc_hdr *h = ptr ? (alloc_hdr *)ptr - 1 : NULL;
    if (size == 0) {
        if (h) {
            as->live_blocks--;
            as->live_bytes -= h->size;
            free(h);
        }
        return NULL;
    }
    size_t old = h ? h->size : 0;
    alloc_hdr *n = realloc(h, sizeof(alloc_hdr) + size);
    if (!n)
        return NULL;
    if (!h)
        as->live_blocks++;
    as->live_bytes = as->live_bytes - old + size;
    if (as->live_bytes > as->peak_bytes)
        as->peak_bytes = as->live_bytes;
    n->size = size;
    return n + 1;
}

/* ------------------------------------------------------------------ bytes */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += rd16(p + i);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* ------------------------------------------------------------------ the log */

enum log_kind { LOG_DELIVERED, LOG_LINK_DROP, LOG_EVENT, LOG_STATE, LOG_NOTE };

enum link_verdict { DROP_LOST = 1, DROP_VANISHED, DROP_TOO_BIG, DROP_OVERFLOW, DROP_NO_ROUTE };

#define LOG_BYTES 120 /* IP and TCP headers with options, or a note */

typedef struct log_rec {
    uint64_t t;
    uint8_t kind, from, to, corrupted;
    int32_t a, b, c; /* delivered: result, drop reason (-1: none); link drop: verdict;
                      * event: sock, bits; state: sock, old, new */
    uint32_t len;
    uint8_t bytes[LOG_BYTES];
} log_rec;

struct harness_log {
    log_rec *recs;
    size_t cap, next, count;
    FILE *echo;
    uint64_t echo_from;
};

char harness_name(int i) { return (char)('A' + i); }

/* Flags, relative seq/ack, length, window and SACK blocks of a logged TCP packet. */
static int fmt_packet(const harness *h, const log_rec *r, char *out, size_t cap)
{
    const uint8_t *d = r->bytes;
    size_t have = r->len < LOG_BYTES ? r->len : LOG_BYTES;
    char dir[8];
    snprintf(dir, sizeof dir, "%c>%c", harness_name(r->from), harness_name(r->to));
    if (have < 20 || (d[0] >> 4) != 4)
        return snprintf(out, cap, "%8" PRIu64 " %s not IPv4 (%" PRIu32 " bytes)", r->t, dir,
                        r->len);
    size_t ihl = (size_t)(d[0] & 15) * 4;
    if (d[9] == 17 && have >= ihl + 8)
        return snprintf(out, cap, "%8" PRIu64 " %s udp %u > %u len %" PRIu32, r->t, dir,
                        rd16(d + ihl), rd16(d + ihl + 2), r->len);
    if (d[9] == 1 && have >= ihl + 4)
        return snprintf(out, cap, "%8" PRIu64 " %s icmp type %u code %u len %" PRIu32, r->t,
                        dir, d[ihl], d[ihl + 1], r->len);
    if (d[9] != 6 || r->len < ihl + 20 || have < ihl + 20)
        return snprintf(out, cap, "%8" PRIu64 " %s short packet (%" PRIu32 " bytes)", r->t,
                        dir, r->len);
    const uint8_t *t = d + ihl;
    size_t hl = (size_t)(t[12] >> 4) * 4;
    char fl[9];
    int n = 0;
    static const char names[] = "FSRPAUEC";
    for (int b = 0; b < 8; b++)
        if (t[13] & (1u << b))
            fl[n++] = names[b];
    fl[n] = 0;
    uint32_t iss = h->dir[r->from][r->to].syn_seq, irs = h->dir[r->to][r->from].syn_seq;
    /* SACK blocks, relative to the receiver's sequence numbers like the ACK field. */
    char sack[128] = "";
    size_t sl = 0;
    for (size_t o = 20; o < hl && ihl + hl <= have;) {
        uint8_t kind = t[o];
        if (kind == 0)
            break;
        if (kind == 1) {
            o++;
            continue;
        }
        uint8_t olen = o + 1 < hl ? t[o + 1] : 0;
        if (olen < 2 || o + olen > hl)
            break;
        for (size_t b = 2; kind == 5 && b + 8 <= olen && sl < sizeof sack - 24; b += 8)
            sl += (size_t)snprintf(sack + sl, sizeof sack - sl, " sack %" PRIu32 ":%" PRIu32,
                                   rd32(t + o + b) - irs, rd32(t + o + b + 4) - irs);
        o += olen;
    }
    return snprintf(out, cap,
                    "%8" PRIu64 " %s %-4s seq %10" PRIu32 " ack %10" PRIu32 " len %4zu win %5u%s%s%s",
                    r->t, dir, fl, rd32(t + 4) - iss, (t[13] & 0x10) ? rd32(t + 8) - irs : 0,
                    r->len >= ihl + hl ? r->len - ihl - hl : 0, rd16(t + 14),
                    hl > 20 ? " opt" : "", sack, r->corrupted ? " CORRUPT" : "");
}

static const char *verdict_name(int v)
{
    switch (v) {
    case DROP_LOST:
        return "lost by the link";
    case DROP_VANISHED:
        return "into the void (link vanished)";
    case DROP_TOO_BIG:
        return "dropped: larger than the link MTU";
    case DROP_OVERFLOW:
        return "dropped: link queues full";
    case DROP_NO_ROUTE:
        return "dropped: no stack has the destination";
    default:
        return "dropped";
    }
}

static void fmt_events(uint32_t bits, char *out, size_t cap)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{WTCP_EV_READABLE, "readable"}, {WTCP_EV_WRITABLE, "writable"},
                 {WTCP_EV_CONNECTED, "connected"}, {WTCP_EV_ACCEPTABLE, "acceptable"},
                 {WTCP_EV_CLOSED, "closed"}, {WTCP_EV_ERROR, "error"}};
    size_t l = 0;
    out[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if ((bits & names[i].bit) && l < cap)
            l += (size_t)snprintf(out + l, cap - l, "%s%s", l ? "," : "", names[i].name);
    if (!l)
        snprintf(out, cap, "0x%" PRIx32, bits);
}

static void fmt_rec(const harness *h, const log_rec *r, char *out, size_t cap)
{
    int n;
    char ev[96];
    switch (r->kind) {
    case LOG_DELIVERED:
        n = fmt_packet(h, r, out, cap);
        if (n > 0 && (size_t)n < cap)
            snprintf(out + n, cap - (size_t)n, " -> %" PRId32 "%s%s", r->a,
                     r->b >= 0 ? " dropped: " : "", r->b >= 0 ? wtcp_drop_name(r->b) : "");
        break;
    case LOG_LINK_DROP:
        n = fmt_packet(h, r, out, cap);
        if (n > 0 && (size_t)n < cap)
            snprintf(out + n, cap - (size_t)n, " %s", verdict_name(r->a));
        break;
    case LOG_EVENT:
        fmt_events((uint32_t)r->b, ev, sizeof ev);
        snprintf(out, cap, "%8" PRIu64 " %c sock %" PRId32 " event %s", r->t,
                 harness_name(r->from), r->a, ev);
        break;
    case LOG_STATE:
        snprintf(out, cap, "%8" PRIu64 " %c sock %" PRId32 " %s -> %s", r->t,
                 harness_name(r->from), r->a, wtcp_state_name(r->b), wtcp_state_name(r->c));
        break;
    default:
        snprintf(out, cap, "%8" PRIu64 " %.*s", r->t, LOG_BYTES, (const char *)r->bytes);
        break;
    }
}

static log_rec *log_add(harness *h, int kind)
{
    struct harness_log *lg = h->log;
    if (!lg)
        return NULL;
    log_rec *r = &lg->recs[lg->next];
    lg->next = (lg->next + 1) % lg->cap;
    if (lg->count < lg->cap)
        lg->count++;
    memset(r, 0, offsetof(log_rec, bytes));
    r->t = h->now;
    r->kind = (uint8_t)kind;
    return r;
}

static void log_done(harness *h, const log_rec *r)
{
    struct harness_log *lg = h->log;
    if (lg->echo && r->t >= lg->echo_from) {
        char line[512];
        fmt_rec(h, r, line, sizeof line);
        fprintf(lg->echo, "    %s\n", line);
    }
}

static void log_packet(harness *h, int kind, int from, int to, const uint8_t *p, size_t len,
                       int corrupted, int a, int b)
{
    log_rec *r = log_add(h, kind);
    if (!r)
        return;
    r->from = (uint8_t)from;
    r->to = (uint8_t)to;
    r->corrupted = (uint8_t)corrupted;
    r->a = a;
    r->b = b;
    r->len = (uint32_t)len;
    memcpy(r->bytes, p, len < LOG_BYTES ? len : LOG_BYTES);
    log_done(h, r);
}

int harness_log_enable(harness *h, size_t records)
{
    if (h->log) {
        free(h->log->recs);
        free(h->log);
        h->log = NULL;
    }
    if (!records)
        return 0;
    struct harness_log *lg = calloc(1, sizeof *lg);
    if (!lg || !(lg->recs = calloc(records, sizeof *lg->recs))) {
        free(lg);
        return WTCP_ENOMEM;
    }
    lg->cap = records;
    lg->echo_from = WTCP_NEVER;
    h->log = lg;
    return 0;
}

void harness_log_echo(harness *h, FILE *f, uint64_t from_ms)
{
    if (!h->log)
        return;
    h->log->echo = f;
    h->log->echo_from = from_ms;
}

void harness_log_note(harness *h, const char *fmt, ...)
{
    log_rec *r = log_add(h, LOG_NOTE);
    if (!r)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf((char *)r->bytes, LOG_BYTES, fmt, ap);
    va_end(ap);
    log_done(h, r);
}

void harness_log_print(const harness *h, FILE *f, size_t last)
{
    const struct harness_log *lg = h->log;
    if (!lg || !lg->count)
        return;
    size_t n = last < lg->count ? last : lg->count;
    fprintf(f, "    last %zu of %zu log entries:\n", n, lg->count);
    for (size_t k = 0; k < n; k++) {
        const log_rec *r = &lg->recs[(lg->next + lg->cap - n + k) % lg->cap];
        char line[512];
        fmt_rec(h, r, line, sizeof line);
        fprintf(f, "    %s\n", line);
    }
}

/* ------------------------------------------------------------------ setup */

void harness_fail(harness *h, const char *fmt, ...)
{
    if (h->failed)
        return;
    h->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->why, sizeof h->why, fmt, ap);
    va_end(ap);
    harness_log_note(h, "FAIL: %.100s", h->why);
}

typedef struct hpkt {
    uint64_t t, order;
    uint8_t from, to, corrupted;
    uint32_t flip_bit; /* which bit was flipped, when corrupted */
    size_t len, cap;
    struct hpkt *next_free;
    uint8_t data[];
} hpkt;

/* One direction's packets, earliest (t, order) first. While they are pushed in that order
 * (no jitter, reordering or trailing copies) the queue is a FIFO with O(1) pop; the first
 * push out of order turns it into a binary heap (a sorted array already is one) until
 * it empties. */
typedef struct pkt_heap {
    hpkt **a;
    size_t head, len, cap; /* packets a[head .. head + len); head is 0 as a heap */
    int heap;
} pkt_heap;

struct harness_link {
    pkt_heap q[HARNESS_MAX_STACKS][HARNESS_MAX_STACKS]; /* [from][to] */
    size_t pkts, bytes;
    uint64_t order;
    hpkt **peek; /* harness_peek: packets in the order sent */
    size_t peek_cap;
    /* Delivered packets' blocks are reused, so a packet costs no malloc: every block
     * holds the largest MTU of the stacks, and the spare ones at most 8 MiB in all. */
    hpkt *free_list;
    size_t free_bytes, block_cap;
};

#define FREE_LIST_BYTES ((size_t)8 << 20)

static hpkt *pkt_alloc(struct harness_link *l, size_t len)
{
    hpkt *p = l->free_list;
    if (p && p->cap >= len) {
        l->free_list = p->next_free;
        l->free_bytes -= p->cap;
        return p;
    }
    size_t cap = len < l->block_cap ? l->block_cap : len;
    p = malloc(sizeof *p + cap);
    if (p)
        p->cap = cap;
    return p;
}

static void pkt_free(struct harness_link *l, hpkt *p)
{
    if (p->cap < l->block_cap || l->free_bytes + p->cap > FREE_LIST_BYTES) {
        free(p);
        return;
    }
    l->free_bytes += p->cap;
    p->next_free = l->free_list;
    l->free_list = p;
}

typedef struct harness_evbits {
    wtcp_sock sock;
    uint32_t bits;
} harness_evbits;

harness *harness_new(uint64_t start_ms)
{
    harness *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->link = calloc(1, sizeof *h->link);
    if (!h->link) {
        free(h);
        return NULL;
    }
    h->now = start_ms;
    h->pump = 1;
    h->max_inflight_pkts = 200000;
    h->max_inflight_bytes = (size_t)256 << 20;
    h->ms_at = WTCP_NEVER;
    return h;
}

static void link_output(void *user, const uint8_t *packet, size_t len);

static void on_state(void *user, int32_t sock, int old_state, int new_state)
{
    harness_node *nd = user;
    log_rec *r = log_add(nd->h, LOG_STATE);
    if (r) {
        r->from = (uint8_t)nd->index;
        r->a = sock;
        r->b = old_state;
        r->c = new_state;
        log_done(nd->h, r);
    }
    if (nd->user_on_state)
        nd->user_on_state(nd->user_state, sock, old_state, new_state);
}

int harness_add_stack(harness *h, const wtcp_config *cfg)
{
    if (h->n >= HARNESS_MAX_STACKS)
        return WTCP_ENOBUFS;
    int i = h->n;
    harness_node *nd = &h->node[i];
    memset(nd, 0, sizeof *nd);
    nd->h = h;
    nd->index = i;
    nd->addr = cfg->addr;
    nd->mtu = cfg->mtu;
    nd->deadline = WTCP_NEVER;
    nd->user_on_state = cfg->on_state;
    nd->user_state = cfg->state_user;
    wtcp_config c = *cfg;
    c.output = link_output;
    c.output_user = nd;
    c.alloc = harness_count_alloc;
    c.alloc_user = &nd->mem;
    c.on_state = on_state;
    c.state_user = nd;
    int r = wtcp_stack_new(&c, &nd->st);
    if (r < 0)
        return r;
    if (cfg->mtu > h->link->block_cap)
        h->link->block_cap = cfg->mtu;
    h->n++;
    return i;
}

uint64_t harness_free_stack(harness *h, int i)
{
    harness_node *nd = &h->node[i];
    if (nd->st) {
        wtcp_stack_free(nd->st);
        nd->st = NULL;
    }
    free(nd->ev);
    nd->ev = NULL;
    nd->nev = nd->ev_cap = 0;
    return nd->mem.live_blocks;
}

static hpkt *link_pop_min(harness *h);

uint64_t harness_free(harness *h)
{
    if (!h)
        return 0;
    uint64_t left = 0;
    for (int i = 0; i < h->n; i++)
        left += harness_free_stack(h, i);
    hpkt *p;
    while ((p = link_pop_min(h)))
        free(p);
    while ((p = h->link->free_list)) {
        h->link->free_list = p->next_free;
        free(p);
    }
    for (int f = 0; f < HARNESS_MAX_STACKS; f++)
        for (int t = 0; t < HARNESS_MAX_STACKS; t++)
            free(h->link->q[f][t].a);
    free(h->link->peek);
    free(h->link);
    harness_log_enable(h, 0);
    free(h);
    return left;
}

int harness_find(const harness *h, uint32_t addr)
{
    for (int i = 0; i < h->n; i++)
        if (h->node[i].addr == addr)
            return i;
    return -1;
}

uint64_t harness_dir_seed(int from, int to)
{
    /* The two directions of the first pair keep the constants simnet always used. */
    if (from == 0 && to == 1)
        return 0xa0a0a0a0a0a0a0a0ull;
    if (from == 1 && to == 0)
        return 0x0b0b0b0b0b0b0b0bull;
    return harness_mix64(((uint64_t)from << 32 | (uint64_t)to) + 0x5bd1e995u);
}

void harness_set_faults(harness *h, int from, int to, const harness_faults *f)
{
    h->faults[from][to] = *f;
    harness_rng_seed(&h->rng[from][to], f->seed);
}

void harness_set_faults_all(harness *h, const harness_faults *f)
{
    for (int a = 0; a < HARNESS_MAX_STACKS; a++)
        for (int b = 0; b < HARNESS_MAX_STACKS; b++) {
            harness_faults g = *f;
            g.seed = f->seed ^ harness_dir_seed(a, b);
            harness_set_faults(h, a, b, &g);
        }
}

/* ------------------------------------------------------------------ queues */

static int pkt_before(const hpkt *a, const hpkt *b)
{
    return a->t < b->t || (a->t == b->t && a->order < b->order);
}

static hpkt *q_top(const pkt_heap *q) { return q->a[q->head]; }

static int heap_push(pkt_heap *q, hpkt *p)
{
    if (!q->heap && q->len && pkt_before(p, q->a[q->head + q->len - 1])) {
        memmove(q->a, q->a + q->head, q->len * sizeof *q->a);
        q->head = 0;
        q->heap = 1;
    }
    if (q->head + q->len == q->cap) {
        if (q->head) { /* FIFO: reclaim the popped front first */
            memmove(q->a, q->a + q->head, q->len * sizeof *q->a);
            q->head = 0;
        }
        if (q->len == q->cap) {
            size_t cap = q->cap ? q->cap * 2 : 256;
            hpkt **n = realloc(q->a, cap * sizeof *n);
            if (!n)
                return -1;
            q->a = n;
            q->cap = cap;
        }
    }
    size_t i = q->head + q->len++;
    while (q->heap && i > 0) {
        size_t parent = (i - 1) / 2;
        if (!pkt_before(p, q->a[parent]))
            break;
        q->a[i] = q->a[parent];
        i = parent;
    }
    q->a[i] = p;
    return 0;
}

static hpkt *heap_pop(pkt_heap *q)
{
    if (!q->len)
        return NULL;
    if (!q->heap) {
        hpkt *top = q->a[q->head];
        q->len--;
        q->head = q->len ? q->head + 1 : 0;
        return top;
    }
    hpkt *top = q->a[0];
    hpkt *last = q->a[--q->len];
    size_t i = 0, n = q->len;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const hpkt *best = last;
        if (l < n && pkt_before(q->a[l], best)) {
            m = l;
            best = q->a[l];
        }
        if (r < n && pkt_before(q->a[r], best))
            m = r;
        if (m == i)
            break;
        q->a[i] = q->a[m];
        i = m;
    }
    if (n)
        q->a[i] = last;
    else
        q->heap = 0; /* empty: a FIFO again */
    return top;
}

/* The direction whose head is due first (ties: sent first), or NULL. */
static pkt_heap *link_min(const harness *h)
{
    pkt_heap *best = NULL;
    for (int f = 0; f < h->n; f++)
        for (int t = 0; t < h->n; t++) {
            pkt_heap *q = &h->link->q[f][t];
            if (q->len && (!best || pkt_before(q_top(q), q_top(best))))
                best = q;
        }
    return best;
}

static hpkt *link_pop_min(harness *h)
{
    pkt_heap *q = link_min(h);
    if (!q)
        return NULL;
    hpkt *p = heap_pop(q);
    h->link->pkts--;
    h->link->bytes -= p->len;
    return p;
}

size_t harness_in_flight(const harness *h) { return h->link->pkts; }

uint64_t harness_next_due(const harness *h)
{
    const pkt_heap *q = link_min(h);
    return q ? q_top(q)->t : WTCP_NEVER;
}

static int by_order(const void *a, const void *b)
{
    const hpkt *x = *(hpkt *const *)a, *y = *(hpkt *const *)b;
    return x->order < y->order ? -1 : x->order > y->order;
}

const uint8_t *harness_peek(harness *h, size_t k, size_t *len)
{
    struct harness_link *l = h->link;
    if (k >= l->pkts)
        return NULL;
    if (l->peek_cap < l->pkts) {
        hpkt **n = realloc(l->peek, l->pkts * sizeof *n);
        if (!n)
            return NULL;
        l->peek = n;
        l->peek_cap = l->pkts;
    }
    size_t m = 0;
    for (int f = 0; f < h->n; f++)
        for (int t = 0; t < h->n; t++)
            for (size_t i = 0; i < l->q[f][t].len; i++)
                l->peek[m++] = l->q[f][t].a[l->q[f][t].head + i];
    qsort(l->peek, m, sizeof *l->peek, by_order);
    if (len)
        *len = l->peek[k]->len;
    return l->peek[k]->data;
}

void harness_drop_in_flight(harness *h)
{
    hpkt *p;
    while ((p = link_pop_min(h))) {
        h->dir[p->from][p->to].lost++;
        pkt_free(h->link, p);
    }
}

void harness_vanish(harness *h, int on)
{
    h->vanished = on;
    if (!on)
        return;
    h->vanished_at = h->now;
    harness_drop_in_flight(h);
    harness_log_note(h, "the link vanishes");
}

/* ------------------------------------------------------------------ the link */

/* Checks a packet a stack emitted (strict mode): a well-formed IPv4 packet within the
 * sender's MTU with correct checksums, from its own address. NULL or what is wrong. */
static const char *check_output(const harness_node *nd, const uint8_t *p, size_t len)
{
    if (len < 20)
        return "shorter than an IPv4 header";
    if (len > nd->mtu)
        return "larger than the MTU";
    if ((p[0] >> 4) != 4)
        return "not IPv4";
    size_t ihl = (size_t)(p[0] & 15) * 4;
    if (ihl < 20 || ihl > len)
        return "bad IHL";
    if (rd16(p + 2) != len)
        return "IP total length differs from the packet length";
    if (csum_fold(csum_add(0, p, ihl)) != 0xffff)
        return "bad IP header checksum";
    if (rd32(p + 12) != nd->addr)
        return "wrong IP source address";
    if (harness_find(nd->h, rd32(p + 16)) < 0)
        return "to an address no stack has";
    size_t tl = len - ihl;
    const uint8_t *t = p + ihl;
    uint32_t sum = csum_add(0, p + 12, 8) + p[9] + (uint32_t)tl;
    switch (p[9]) {
    case 6:
        if (tl < 20 || (size_t)(t[12] >> 4) * 4 < 20 || (size_t)(t[12] >> 4) * 4 > tl)
            return "bad TCP header length";
        if (csum_fold(csum_add(sum, t, tl)) != 0xffff)
            return "bad TCP checksum";
        return NULL;
    case 17:
        if (tl < 8 || rd16(t + 4) != tl)
            return "bad UDP length";
        if (rd16(t + 6) && csum_fold(csum_add(sum, t, tl)) != 0xffff)
            return "bad UDP checksum";
        return NULL;
    case 1:
        if (tl < 8)
            return "short ICMP message";
        if (csum_fold(csum_add(0, t, tl)) != 0xffff)
            return "bad ICMP checksum";
        return NULL;
    default:
        return "not TCP, UDP or ICMP";
    }
}

static void link_output(void *user, const uint8_t *packet, size_t len)
{
    harness_node *nd = user;
    harness *h = nd->h;
    int from = nd->index;
    if (h->strict) {
        const char *bad = check_output(nd, packet, len);
        if (bad) {
            size_t ihl = len >= 20 ? (size_t)(packet[0] & 15) * 4 : 0;
            size_t thl = ihl && len >= ihl + 20 ? (size_t)(packet[ihl + 12] >> 4) * 4 : 0;
            harness_fail(h,
                         "stack %c emitted a bad packet (%zu bytes: IP header %zu, TCP header "
                         "%zu, payload %zu, flags 0x%02x) at t=%" PRIu64 " ms: %s",
                         harness_name(from), len, ihl, thl,
                         len >= ihl + thl ? len - ihl - thl : 0, thl ? packet[ihl + 13] : 0,
                         h->now, bad);
            return;
        }
    }
    int to = len >= 20 ? harness_find(h, rd32(packet + 16)) : -1;
    if (to < 0) {
        nd->unroutable++;
        return;
    }
    harness_dir_stats *d = &h->dir[from][to];
    d->sent++;
    d->bytes += len;
    size_t ihl = (size_t)(packet[0] & 15) * 4;
    int is_tcp = packet[9] == 6 && len >= ihl + 20;
    if (is_tcp && (packet[ihl + 13] & 0x02) && !d->syn_seen++)
        d->syn_seq = rd32(packet + ihl + 4);
    const harness_faults *c = &h->faults[from][to];
    if (h->vanished) {
        d->lost++;
        d->vanished++;
        if (is_tcp && (packet[ihl + 13] & 0x04))
            d->vanished_rst++;
        log_packet(h, LOG_LINK_DROP, from, to, packet, len, 0, DROP_VANISHED, 0);
        return;
    }
    if (c->mtu && len > c->mtu) {
        d->too_big++;
        log_packet(h, LOG_LINK_DROP, from, to, packet, len, 0, DROP_TOO_BIG, 0);
        return;
    }
    harness_rng *r = &h->rng[from][to];
    if (harness_rng_chance(r, c->loss)) {
        d->lost++;
        log_packet(h, LOG_LINK_DROP, from, to, packet, len, 0, DROP_LOST, 0);
        return;
    }
    int copies = 1;
    if (harness_rng_chance(r, c->dup)) {
        copies = 2;
        d->duped++;
    }
    struct harness_link *l = h->link;
    for (int k = 0; k < copies; k++) {
        hpkt *p = NULL;
        if (l->pkts >= h->max_inflight_pkts || l->bytes + len > h->max_inflight_bytes ||
            !(p = pkt_alloc(l, len))) {
            d->overflow++;
            log_packet(h, LOG_LINK_DROP, from, to, packet, len, 0, DROP_OVERFLOW, 0);
            continue;
        }
        memcpy(p->data, packet, len);
        p->len = len;
        p->from = (uint8_t)from;
        p->to = (uint8_t)to;
        p->corrupted = 0;
        if (harness_rng_chance(r, c->corrupt)) {
            uint32_t bit = harness_rng_below(r, (uint32_t)len * 8);
            p->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            p->corrupted = 1;
            p->flip_bit = bit;
            d->corrupted++;
        }
        p->t = h->now + c->delay_ms + (c->jitter_ms ? harness_rng_below(r, c->jitter_ms + 1) : 0);
        if (k == 1)
            p->t += harness_rng_below(r, 2); /* the copy may trail a little */
        if (harness_rng_chance(r, c->reorder)) {
            p->t += 1 + harness_rng_below(r, 3); /* held back: later packets overtake it */
            d->reordered++;
        }
        p->order = l->order++;
        if (heap_push(&l->q[from][to], p) < 0) {
            pkt_free(l, p);
            d->overflow++;
            continue;
        }
        l->pkts++;
        l->bytes += len;
    }
}

int harness_damage_reason(int k)
{
    return k <= WTCP_DROP_IP_BAD_SRC || k == WTCP_DROP_TCP_CHECKSUM ||
           k == WTCP_DROP_TCP_MALFORMED || k == WTCP_DROP_UDP_CHECKSUM ||
           k == WTCP_DROP_UDP_MALFORMED || k == WTCP_DROP_ICMP_CHECKSUM ||
           k == WTCP_DROP_ICMP_MALFORMED;
}

/* Delivers the packet at the head of queue q. */
static void deliver(harness *h, pkt_heap *q)
{
    hpkt *p = heap_pop(q);
    h->link->pkts--;
    h->link->bytes -= p->len;
    harness_dir_stats *d = &h->dir[p->from][p->to];
    harness_node *to = &h->node[p->to];
    d->delivered++;
    to->last_rx = h->now;
    if (p->corrupted)
        d->corrupt_delivered++;
    if (!to->st) { /* freed already */
        pkt_free(h->link, p);
        return;
    }
    int watch = h->strict || h->log;
    wtcp_stats before, after;
    if (watch)
        wtcp_stats_get(to->st, &before);
    int r = wtcp_input(to->st, h->now, p->data, p->len);
    if (r < 0)
        d->rejected++;
    if (watch) {
        wtcp_stats_get(to->st, &after);
        int damage_k = -1, drop_k = -1;
        for (int k = 0; k < WTCP_DROP_COUNT; k++) {
            if (after.drop[k] != before.drop[k]) {
                drop_k = k;
                if (harness_damage_reason(k))
                    damage_k = k;
            }
        }
        log_packet(h, LOG_DELIVERED, p->from, p->to, p->data, p->len, p->corrupted, r, drop_k);
        uint64_t dropped = after.drops - before.drops;
        if (h->strict) {
            if (dropped && r >= 0)
                h->ret0_drops++;
            if (!dropped && r < 0)
                h->retneg_kept++;
            if (p->corrupted && damage_k < 0)
                harness_fail(h,
                             "stack %c took a corrupted packet at t=%" PRIu64
                             " ms (%zu bytes, bit %u of byte %u flipped; wtcp_input returned "
                             "%d, %" PRIu64 " drops counted, none as damage)",
                             harness_name(p->to), h->now, p->len, (unsigned)(p->flip_bit % 8),
                             (unsigned)(p->flip_bit / 8), r, dropped);
            else if (!p->corrupted && damage_k >= 0)
                harness_fail(h,
                             "stack %c dropped an undamaged packet (%zu bytes) at t=%" PRIu64
                             " ms as %s",
                             harness_name(p->to), p->len, h->now, wtcp_drop_name(damage_k));
        }
    }
    pkt_free(h->link, p);
}

int harness_deliver_one(harness *h)
{
    if (h->ms_at != h->now) {
        h->ms_at = h->now;
        h->ms_pkts = 0;
    }
    pkt_heap *q = link_min(h);
    if (!q || q_top(q)->t > h->now || h->failed)
        return 0;
    /* At a delay of 0, packets that answer packets arrive at this same millisecond:
     * two stacks that keep answering each other would never let delivery end. */
    if (h->storm_limit && ++h->ms_pkts > h->storm_limit) {
        harness_fail(h, "packet storm: more than %" PRIu64 " packets delivered at t=%" PRIu64 " ms",
                     h->storm_limit, h->now);
        return 0;
    }
    deliver(h, q);
    return 1;
}

int harness_deliver_due(harness *h)
{
    int n = 0;
    while (harness_deliver_one(h))
        n++;
    return n;
}

/* ------------------------------------------------------------------ running */

uint64_t harness_poll(harness *h)
{
    uint64_t next = WTCP_NEVER;
    for (int i = 0; i < h->n; i++) {
        harness_node *nd = &h->node[i];
        nd->deadline = nd->st ? wtcp_poll(nd->st, h->now) : WTCP_NEVER;
        if (nd->deadline < next)
            next = nd->deadline;
    }
    return next;
}

uint64_t harness_poll_quiet(harness *h, harness_events_fn fn, void *user)
{
    for (int round = 0;; round++) {
        uint64_t next = harness_poll(h);
        if (!fn || h->failed)
            return next;
        int ev = 0;
        for (int i = 0; i < h->n; i++)
            if (h->node[i].st)
                ev += fn(user, h, i);
        if (!ev)
            return next;
        if (round > 10000) {
            harness_fail(h, "event storm: events keep coming at t=%" PRIu64 " ms", h->now);
            return next;
        }
    }
}

uint64_t harness_next(const harness *h)
{
    uint64_t next = harness_next_due(h);
    for (int i = 0; i < h->n; i++)
        if (h->node[i].st && h->node[i].deadline < next)
            next = h->node[i].deadline;
    return next;
}

void harness_advance(harness *h, uint64_t t)
{
    if (t > h->now)
        h->now = t;
}

int harness_run_with(harness *h, uint64_t ms, harness_events_fn fn, void *user)
{
    uint64_t end = h->now + ms;
    uint64_t same_time = 0;
    for (;;) {
        int delivered = harness_deliver_due(h);
        harness_poll_quiet(h, fn, user);
        if (h->failed)
            return -1;
        uint64_t next = harness_next(h);
        if (next > end && !(h->pump && harness_in_flight(h))) {
            if (h->now >= end)
                return 0;
            h->now = end; /* once more at the end: what is due then runs */
            continue;
        }
        if (next > h->now) {
            h->now = next;
            same_time = 0;
        } else if (!delivered && ++same_time > 1000) {
            harness_fail(h, "time does not advance: deadline %" PRIu64 " <= now %" PRIu64, next,
                         h->now);
            return -1;
        }
    }
}

int harness_run(harness *h, uint64_t ms) { return harness_run_with(h, ms, NULL, NULL); }

/* ------------------------------------------------------------------ helpers */

int harness_connect_pair(harness *h, int client, int server, uint16_t port, wtcp_sock *csock,
                         wtcp_sock *ssock, wtcp_sock *lsock)
{
    wtcp_stack *c = h->node[client].st, *s = h->node[server].st;
    *lsock = wtcp_socket(s, WTCP_SOCK_STREAM);
    if (*lsock < 0 || wtcp_bind(s, *lsock, 0, port) || wtcp_listen(s, *lsock, 4))
        return -1;
    *csock = wtcp_socket(c, WTCP_SOCK_STREAM);
    if (*csock < 0 || wtcp_connect(c, *csock, h->node[server].addr, port) != WTCP_EINPROGRESS)
        return -1;
    harness_run(h, 100);
    *ssock = wtcp_accept(s, *lsock, NULL, NULL);
    return *ssock > 0 ? 0 : -1;
}

int harness_next_event(harness *h, int i, wtcp_event *ev)
{
    if (!wtcp_next_event(h->node[i].st, ev))
        return 0;
    log_rec *r = log_add(h, LOG_EVENT);
    if (r) {
        r->from = (uint8_t)i;
        r->a = ev->sock;
        r->b = (int32_t)ev->events;
        log_done(h, r);
    }
    return 1;
}

static harness_evbits *evbits_of(harness_node *nd, wtcp_sock sock, int create)
{
    harness_evbits *free_slot = NULL;
    for (size_t k = 0; k < nd->nev; k++) {
        if (nd->ev[k].sock == sock)
            return &nd->ev[k];
        if (!nd->ev[k].bits && !free_slot)
            free_slot = &nd->ev[k];
    }
    if (!create)
        return NULL;
    if (free_slot) {
        free_slot->sock = sock;
        return free_slot;
    }
    if (nd->nev == nd->ev_cap) {
        size_t cap = nd->ev_cap ? nd->ev_cap * 2 : 16;
        harness_evbits *n = realloc(nd->ev, cap * sizeof *n);
        if (!n)
            return NULL;
        nd->ev = n;
        nd->ev_cap = cap;
    }
    nd->ev[nd->nev] = (harness_evbits){sock, 0};
    return &nd->ev[nd->nev++];
}

uint32_t harness_events(harness *h, int i, wtcp_sock sock)
{
    harness_node *nd = &h->node[i];
    wtcp_event ev;
    while (harness_next_event(h, i, &ev)) {
        harness_evbits *e = evbits_of(nd, ev.sock, 1);
        if (e)
            e->bits |= ev.events;
    }
    harness_evbits *e = evbits_of(nd, sock, 0);
    if (!e)
        return 0;
    uint32_t bits = e->bits;
    e->bits = 0;
    return bits;
}
