/* harness.h: the shared test harness (stacks on a virtual clock, fault link, run loop, event log).
 *
 * Used by the unit tests, simnet, demo-pair, the throughput benchmark and the fuzzer.
 *
 *   harness *h = harness_new(1000);              // virtual clock starts at 1000 ms
 *   wtcp_config c;
 *   wtcp_config_init(&c);
 *   c.addr = 0x0a000001u;
 *   int a = harness_add_stack(h, &c);            // the harness owns output and alloc
 *   c.addr = 0x0a000002u;
 *   int b = harness_add_stack(h, &c);
 *   harness_faults f = {.delay_ms = 1, .loss = 5, .seed = 42};
 *   harness_set_faults_all(h, &f);               // every direction, seeds derived from 42
 *   wtcp_sock ca, cb, lb;
 *   harness_connect_pair(h, a, b, 80, &ca, &cb, &lb);
 *   harness_run(h, 100);                         // deliver, poll, advance (virtual time)
 *   if (harness_free(h) != 0) ...                // blocks the stacks leaked
 *
 * Packets are routed by IPv4 destination address to the stack that owns it. Each
 * direction (sender, receiver) has its own queue, fault model, PRNG and counters; a
 * packet is delivered at now + delay (+ jitter, + a reordering hold-back), earliest
 * first, ties in the order they were sent. Everything is deterministic for a seed.
 *
 * The struct is open so tests can read the clock, the counters and the stacks; the
 * queues and the log behind `link` and `log` are the harness's own. No globals. */
#ifndef WTCP_TEST_HARNESS_H
#define WTCP_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wtcp.h"

#define HARNESS_MAX_STACKS 4

/* ------------------------------------------------------------------ PRNG */

/* xoshiro256** seeded through splitmix64: small, fast, the same on every platform. */
typedef struct harness_rng {
    uint64_t s[4];
} harness_rng;

static inline uint64_t harness_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t harness_splitmix64(uint64_t *x)
{
    return harness_mix64(*x += 0x9e3779b97f4a7c15ull);
}

void harness_rng_seed(harness_rng *r, uint64_t seed);
uint64_t harness_rng_next(harness_rng *r);
uint32_t harness_rng_below(harness_rng *r, uint32_t n); /* uniform in [0, n) */
int harness_rng_chance(harness_rng *r, double pct);     /* 1 with probability pct / 100 */

/* ------------------------------------------------------------------ counting allocator */

/* Every stack allocates through this (cfg.alloc): live blocks and bytes, the peak. */
typedef struct harness_alloc_stats {
    uint64_t live_blocks, live_bytes, peak_bytes, calls;
} harness_alloc_stats;

void *harness_count_alloc(void *user, void *ptr, size_t size); /* user: harness_alloc_stats */

/* ------------------------------------------------------------------ the link */

/* One direction's fault model. All zero: a perfect link with no delay. */
typedef struct harness_faults {
    uint64_t seed;          /* this direction's PRNG */
    double loss;            /* percent of packets dropped */
    double dup;             /* percent delivered twice (the copy may trail by 1 ms) */
    double reorder;         /* percent held back 1..3 ms so that later ones overtake them */
    double corrupt;         /* percent with one random bit flipped (per copy) */
    uint32_t delay_ms;      /* one-way delay */
    uint32_t jitter_ms;     /* plus 0..jitter_ms, uniform */
    uint16_t mtu;           /* larger packets are dropped (0: no limit) */
} harness_faults;

/* One direction's counters. */
typedef struct harness_dir_stats {
    uint64_t sent, bytes;            /* packets (and bytes) the sender emitted */
    uint64_t lost, duped, reordered, corrupted;
    uint64_t too_big;                /* dropped for the link MTU */
    uint64_t overflow;               /* dropped: the queues were full */
    uint64_t vanished, vanished_rst; /* emitted while the link was vanished (in lost too) */
    uint64_t delivered, corrupt_delivered;
    uint64_t rejected;               /* wtcp_input returned < 0 */
    uint64_t syn_seen;
    uint32_t syn_seq;                /* sequence number of the first SYN (trace is relative) */
} harness_dir_stats;

typedef struct harness harness;

/* A stack and what the harness keeps about it. */
typedef struct harness_node {
    harness *h;
    int index;
    wtcp_stack *st;
    uint32_t addr;
    uint16_t mtu;
    harness_alloc_stats mem;
    uint64_t deadline;   /* what wtcp_poll returned last */
    uint64_t last_rx;    /* when a packet was last delivered to it */
    uint64_t unroutable; /* packets it sent to an address no stack has */
    wtcp_state_fn user_on_state;
    void *user_state;
    struct harness_evbits *ev; /* event bits per socket (harness_events) */
    size_t nev, ev_cap;
} harness_node;

struct harness_link;
struct harness_log;

struct harness {
    uint64_t now;   /* virtual milliseconds */
    int n;          /* stacks */
    harness_node node[HARNESS_MAX_STACKS];
    harness_faults faults[HARNESS_MAX_STACKS][HARNESS_MAX_STACKS]; /* [from][to] */
    harness_rng rng[HARNESS_MAX_STACKS][HARNESS_MAX_STACKS];
    harness_dir_stats dir[HARNESS_MAX_STACKS][HARNESS_MAX_STACKS];
    int vanished;          /* the link drops every packet (harness_vanish) */
    uint64_t vanished_at;
    /* Settings (defaults from harness_new). */
    int pump;              /* harness_run: deliver everything in flight before returning */
    int strict;            /* check every emitted packet and every delivery (see below) */
    uint64_t storm_limit;  /* fail when more packets than this arrive in one ms (0: off) */
    size_t max_inflight_pkts, max_inflight_bytes;
    /* strict mode: packets with a bad header, checksum or source, larger than the
     * sender's MTU, or to an address no stack has fail the run; so does a corrupted
     * packet not dropped as damage, and an undamaged one dropped as damage. */
    uint64_t ret0_drops;   /* strict: dropped (per counters) yet wtcp_input returned 0 */
    uint64_t retneg_kept;  /* strict: wtcp_input < 0 yet no drop counted */
    /* The first failure, sticky. */
    int failed;
    char why[512];
    /* Internal. */
    struct harness_link *link;
    struct harness_log *log;
    uint64_t ms_at, ms_pkts;
};

/* A harness with no stacks, its clock at start_ms, pump mode on, strict off, no faults. */
harness *harness_new(uint64_t start_ms);
/* Creates a stack from *cfg with output, alloc and on_state pointed at the harness (the
 * caller's on_state is still called). Returns the stack's index or a WTCP_E* code. */
int harness_add_stack(harness *h, const wtcp_config *cfg);
/* Frees stack i; returns the blocks its allocator still holds (a leak when not 0). */
uint64_t harness_free_stack(harness *h, int i);
/* Frees every stack, the queues and h; returns the blocks the stacks leaked. */
uint64_t harness_free(harness *h);

/* Records the first failure (printf-style); later ones are ignored. */
void harness_fail(harness *h, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

void harness_set_faults(harness *h, int from, int to, const harness_faults *f);
/* Every direction; direction (from, to) gets seed f->seed ^ harness_dir_seed(from, to). */
void harness_set_faults_all(harness *h, const harness_faults *f);
uint64_t harness_dir_seed(int from, int to);
/* The vanish switch: on drops every packet in flight and every packet sent from now on. */
void harness_vanish(harness *h, int on);

/* Packets in flight, the time the earliest is due (WTCP_NEVER: none), and the k-th in
 * the order sent (valid until the link changes). harness_drop_in_flight counts as lost. */
size_t harness_in_flight(const harness *h);
uint64_t harness_next_due(const harness *h);
const uint8_t *harness_peek(harness *h, size_t k, size_t *len);
void harness_drop_in_flight(harness *h);

/* 1 for the drop reasons a packet can legitimately cause only when it was damaged on
 * the wire (bad checksums, malformed headers, addresses). */
int harness_damage_reason(int drop_reason);

/* ------------------------------------------------------------------ running */

/* Called by harness_poll_quiet for each stack after all were polled: handle stack i's
 * events; return how many there were (0 ends the rounds). */
typedef int (*harness_events_fn)(void *user, harness *h, int i);

/* Delivers every packet due at h->now (those sent meanwhile too when due); returns how
 * many were delivered. harness_deliver_one: the earliest one, if it is due (1 or 0). */
int harness_deliver_due(harness *h);
int harness_deliver_one(harness *h);
/* wtcp_poll on every stack at h->now; returns the earliest deadline. */
uint64_t harness_poll(harness *h);
/* harness_poll, then fn for each stack, again and again until no stack had events (fails
 * the run after 10,000 rounds). fn NULL: one poll, events left queued. Returns the
 * earliest deadline. */
uint64_t harness_poll_quiet(harness *h, harness_events_fn fn, void *user);
/* The earliest deadline of the last poll and of the packets in flight. */
uint64_t harness_next(const harness *h);
/* Moves the clock forward to t (never back). */
void harness_advance(harness *h, uint64_t t);
/* Deliver what is due, poll (with fn), advance to the next deadline, for ms of virtual
 * time; in pump mode every packet in flight is delivered before it returns, even past
 * the end. The clock ends at now + ms or later. Returns 0, or -1 when the run failed. */
int harness_run_with(harness *h, uint64_t ms, harness_events_fn fn, void *user);
int harness_run(harness *h, uint64_t ms);

/* ------------------------------------------------------------------ helpers */

/* Stack `server` listens on port, `client` connects to it, the harness runs until the
 * connection is accepted (at most 1 s). Returns 0 and the three handles, or -1. */
int harness_connect_pair(harness *h, int client, int server, uint16_t port, wtcp_sock *csock,
                         wtcp_sock *ssock, wtcp_sock *lsock);
/* wtcp_next_event through the log. */
int harness_next_event(harness *h, int i, wtcp_event *ev);
/* Drains stack i's events into bits per socket, then returns and clears sock's bits. */
uint32_t harness_events(harness *h, int i, wtcp_sock sock);
/* The stack with this address, or -1. */
int harness_find(const harness *h, uint32_t addr);
/* "A", "B", ...: the stack's name in the log. */
char harness_name(int i);

/* ------------------------------------------------------------------ event log */

/* Keeps the last `records` entries: packets delivered or dropped by the link (decoded
 * when printed), socket events, state changes and notes. 0 turns it off. */
int harness_log_enable(harness *h, size_t records);
/* Entries at virtual time >= t are also printed to f as they happen (WTCP_NEVER: off). */
void harness_log_echo(harness *h, FILE *f, uint64_t from_ms);
void harness_log_note(harness *h, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints the last `last` entries, oldest first. */
void harness_log_print(const harness *h, FILE *f, size_t last);

#endif
