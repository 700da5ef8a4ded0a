/* simnet.c: two wtcp stacks over an in-memory link with a seeded fault injector.
 *
 * Stack A (10.0.0.1) connects to stack B (10.0.0.2) port 5001 and both send N bytes
 * (default 16 MiB) to each other at the same time on that one connection. The link
 * between them loses, reorders, duplicates, corrupts and delays packets, each direction
 * from its own deterministic PRNG, so every run of a cell with a given seed replays
 * exactly. Time is virtual (milliseconds); a cell runs as fast as the CPU allows.
 *
 * A cell passes when both sides have read end-of-stream with every byte verified
 * against the pattern, the stacks' figures agree, every corrupted packet was rejected
 * and counted, and the stacks freed all their memory.
 *
 * The link, per direction: loss %, reordering % (a packet held back 1..3 ms so later ones
 * overtake it), duplication %, corruption % (one random bit flipped anywhere: the stack
 * must drop and count it), a fixed one-way delay plus optional jitter. The stacks, the
 * link, the virtual clock and the event log are the shared test harness's
 * (tests/harness/): this file holds the applications, the cells and their checks. A
 * failing cell prints the last entries of the harness's log.
 *
 * Table: vtime = virtual seconds until both sides read EOF; pkts = packets each stack
 * emitted; lost = dropped by the link (incl. queue overflow); corr, dup, reord = packets
 * the link corrupted, duplicated, held back; retrans = wtcp_info retransmits of A and
 * B; drops = the two stacks' drop counters; wall = real seconds.
 *
 * Three groups of cells: the default cells (this table), the vanished-peer cells (--vanish:
 * the link dies for good and the connection must fail with ETIMEDOUT within a window
 * derived from the retry and keepalive settings; a keepalive control with the peer there)
 * and the matrix (--matrix: 64 cells, loss 0/1/5/20 % x reordering 0/10 % x duplication
 * 0/5 % x corruption 0/1 % x one-way delay 0/50 ms, each under a virtual-time bound to
 * finish and a bound on the longest silence; the table ends with the slowest cells).
 * Without a group option the default and vanished-peer cells run.
 *
 * Usage: simnet [--default] [--vanish] [--matrix] [--cell NAME[,NAME...]] [--seed N]
 *               [--seeds N] [--bytes N[K|M|G]] [--wall S] [--no-sack] [--no-ts]
 *               [--no-wscale] [--trace MS] [--no-fork] [--list] [-v]
 *
 * Where the platform has fork(), each cell runs in a child process, so a crash or a hang
 * inside the stack fails that cell and the others still run.
 */
#if defined(__unix__) || defined(__APPLE__)
#define _POSIX_C_SOURCE 200809L
#define SIMNET_FORK 1 /* each cell runs in a child process: a crash fails one cell */
#else
#define SIMNET_FORK 0
#endif

#include <wtcp.h>

#include "harness.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if SIMNET_FORK
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#define ADDR_A 0x0a000001u /* 10.0.0.1 */
#define ADDR_B 0x0a000002u /* 10.0.0.2 */
#define PORT_B 5001
#define CHUNK_MAX 65536

#define MAX_INFLIGHT_PKTS 200000u            /* link queue bound (packets) */
#define MAX_INFLIGHT_BYTES (256u << 20)      /* link queue bound (bytes) */
#define DEFAULT_VLIMIT_MS (3600u * 1000u)    /* a cell must finish within 1 h virtual */
#define DEFAULT_STALL_MS (600u * 1000u)      /* ... and make progress every 10 min */
#define DEFAULT_WALL_LIMIT_S 120.0
#define DRAIN_MS (1800u * 1000u) /* after close: TIME-WAIT (60 s) and FIN retries end */
/* Packets delivered within one virtual millisecond before it is called a storm. At a
 * delay of 0 a whole 16 MiB transfer (~35,000 packets) can happen in one millisecond. */
#define SAME_MS_PKTS_MAX 1000000u

static int verbose;
static int opt_no_sack, opt_no_ts, opt_no_wscale;
static int use_fork = SIMNET_FORK;
static uint64_t trace_from = UINT64_MAX; /* --trace MS: print packets from this time */
static double wall_limit_s = DEFAULT_WALL_LIMIT_S;

/* ------------------------------------------------------------------ data pattern */

/* Byte i of a stream is byte (i % 8) of harness_mix64(key + (i / 8) * golden): no short period,
 * so a segment placed at a wrong offset never verifies by accident. */
static void pat_fill(uint64_t key, uint64_t off, uint8_t *buf, size_t n)
{
    uint64_t blk = UINT64_MAX, w = 0;
    for (size_t k = 0; k < n; k++) {
        uint64_t i = off + k;
        if ((i >> 3) != blk) {
            blk = i >> 3;
            w = harness_mix64(key + blk * 0x9e3779b97f4a7c15ull);
        }
        buf[k] = (uint8_t)(w >> ((i & 7) * 8));
    }
}

/* ------------------------------------------------------------------ wall clock */

static double wall_now(void)
{
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
        return 0.0;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------ cells */

typedef struct cell {
    const char *name;
    uint64_t seed;
    double loss, reorder, dup, corrupt; /* percent, per direction */
    uint32_t delay_ms, jitter_ms;       /* one way */
    uint64_t bytes;                     /* 0: the global default */
    uint32_t sndbuf, rcvbuf;            /* 0: stack default */
    uint16_t mtu;                       /* 0: 1500 */
    uint32_t slow_read_bytes;           /* B reads at most this much ... */
    uint32_t slow_read_ms;              /* ... every this many ms (0: no limit) */
    int seq_wrap;                       /* pick ISN keys so that both directions wrap */
    uint32_t vlimit_s;                  /* 0: DEFAULT_VLIMIT_MS */
    uint32_t stall_s;                   /* 0: DEFAULT_STALL_MS */
    int kind;                           /* enum cell_kind */
    uint64_t vanish_after;              /* CELL_VANISH_DATA: bytes both sides have read */
    uint32_t ka_idle_s, ka_intvl_s, ka_cnt; /* keepalive on A (CELL_VANISH_IDLE, CELL_KA_IDLE) */
    uint32_t idle_s;                    /* CELL_KA_IDLE: idle this long with the peer there */
} cell;

/* What a cell does. A transfer moves the bytes both ways and closes. The vanished-peer
 * cells cut the link for good at some point ("every packet is dropped from then on",
 * including those already in flight) and expect the connection to fail with ETIMEDOUT
 * inside a window derived from the configured limits. */
enum cell_kind {
    CELL_TRANSFER = 0,
    CELL_VANISH_DATA, /* the link dies mid-transfer: both senders time out */
    CELL_VANISH_IDLE, /* idle connection, keepalive on A: the link dies, A times out */
    CELL_KA_IDLE,     /* control: the same with the peer there for idle_s: A survives,
                       * then the transfer completes and the connection closes cleanly */
};

static const cell cells[] = {
    {.name = "clean", .seed = 1, .delay_ms = 1},
    {.name = "clean-s2", .seed = 2, .delay_ms = 1},
    {.name = "clean-s3", .seed = 3, .delay_ms = 1},
    {.name = "loss1", .seed = 101, .loss = 1, .delay_ms = 1},
    {.name = "loss5", .seed = 105, .loss = 5, .delay_ms = 1},
    /* 20% loss each way makes ~36% of round trips fail: recovery is mostly RTO-driven
     * (200 ms minimum against a 2 ms RTT), and RTT samples from the echoed timestamps of
     * hole-filling segments include the RTO waits (RFC 7323 4.3), so SRTT and the RTO
     * grow to seconds. 16 MiB takes 15 min to 4 h of virtual time depending on the seed
     * (under a second of wall time), with silences of several minutes. */
    {.name = "loss20", .seed = 120, .loss = 20, .delay_ms = 1, .vlimit_s = 8 * 3600,
     .stall_s = 1800},
    {.name = "reorder10", .seed = 210, .reorder = 10, .delay_ms = 1},
    {.name = "dup5", .seed = 305, .dup = 5, .delay_ms = 1},
    {.name = "corrupt1", .seed = 401, .corrupt = 1, .delay_ms = 1},
    {.name = "delay50", .seed = 550, .delay_ms = 50},
    {.name = "jitter", .seed = 610, .delay_ms = 20, .jitter_ms = 10},
    {.name = "mixed", .seed = 700, .loss = 5, .reorder = 10, .dup = 5, .corrupt = 1, .delay_ms = 50},
    {.name = "seqwrap", .seed = 800, .loss = 1, .reorder = 2, .delay_ms = 1, .seq_wrap = 1},
    {.name = "smallbuf", .seed = 900, .loss = 1, .delay_ms = 5, .sndbuf = 16384, .rcvbuf = 16384},
    {.name = "slowrecv", .seed = 950, .delay_ms = 5, .slow_read_bytes = 200000, .slow_read_ms = 50},
    {.name = "mtu576", .seed = 976, .loss = 1, .reorder = 5, .delay_ms = 2, .mtu = 576},
};
#define NCELLS (sizeof cells / sizeof cells[0])

/* The vanished peer (issue 3). Fixed sizes: --bytes does not apply to these. Delay 20 ms
 * one way, so the RTO is SRTT + the 200 ms floor = ~240 ms rather than the bare floor.
 * vanish-data: 4 MiB each way; once both sides have read 1 MiB the link drops everything.
 *   Both senders must fail with ETIMEDOUT after data_retries (15) backed-off RTOs capped
 *   at 120 s: the window is computed from the RTO at the moment of the vanish (for
 *   240 ms: 122.6 s of doubling, then 7 x 120 s, ~16 min).
 * vanish-idle: 64 KiB each way, connection held open, keepalive on A (idle 60 s,
 *   interval 10 s, count 5). When every byte is acknowledged both ways the link dies; A
 *   must fail with ETIMEDOUT 60+50..60+60 s after it last heard from B.
 * keepalive-idle: the control: the same with B there for an hour of idle. A's probes
 *   (one per 60 s) are each answered; afterwards 64 KiB more each way and a clean
 *   close. */
static const cell vanish_cells[] = {
    {.name = "vanish-data", .seed = 1101, .delay_ms = 20, .kind = CELL_VANISH_DATA,
     .bytes = 4u << 20, .vanish_after = 1u << 20, .vlimit_s = 3600},
    {.name = "vanish-idle", .seed = 1102, .delay_ms = 20, .kind = CELL_VANISH_IDLE,
     .bytes = 64u << 10, .ka_idle_s = 60, .ka_intvl_s = 10, .ka_cnt = 5, .vlimit_s = 3600},
    {.name = "keepalive-idle", .seed = 1103, .delay_ms = 20, .kind = CELL_KA_IDLE,
     .bytes = 64u << 10, .ka_idle_s = 60, .ka_intvl_s = 10, .ka_cnt = 5, .idle_s = 3600,
     .vlimit_s = 7200},
};
#define NVANISH (sizeof vanish_cells / sizeof vanish_cells[0])
#define VANISH_KA_EXTRA (64u << 10) /* keepalive-idle: bytes each way after the idle hour */

/* The matrix (issue 3): every combination of loss 0/1/5/20 %, reordering 0/10 %,
 * duplication 0/5 %, corruption 0/1 % and one-way delay 0/50 ms, each direction, named
 * l5-r10-d0-c1-50ms. A delay of 0 is literal: a round trip takes no virtual time, so
 * only timers (delayed ACK, RTO) and reordering hold-backs make time pass. Each cell's
 * seed spells its parameters: 1 LL RR D C DD (l5-r10-d0-c1-50ms: 105100150). */
static const double mx_loss[] = {0, 1, 5, 20};
static const double mx_reorder[] = {0, 10};
static const double mx_dup[] = {0, 5};
static const double mx_corrupt[] = {0, 1};
static const uint32_t mx_delay[] = {0, 50};
#define NMATRIX 64

/* Virtual-time bounds of a matrix cell: the time to finish, by loss rate and delay, and
 * the longest silence (no application progress) allowed, by loss rate. Set from a sweep
 * of the 64 cells at 100 seeds each (their own seed and the 99 after it; the core
 * as of the D-SACK undo commit), 16 MiB each way. Worst seen -> bound:
 *
 *   loss  delay   finish: worst -> bound    silence (either delay): worst -> bound
 *    0 %   0 ms          12.6 s ->   40 s                           1.1 s ->   60 s
 *    0 %  50 ms         135.3 s ->  410 s
 *    1 %   0 ms          18.9 s ->   60 s                           2.8 s ->   60 s
 *    1 %  50 ms         204.2 s ->  620 s
 *    5 %   0 ms          61.8 s ->  190 s                          20.0 s ->   60 s
 *    5 %  50 ms         407.5 s -> 1300 s
 *   20 %   0 ms        2155.0 s -> 6500 s                         900.1 s -> 2700 s
 *   20 %  50 ms        2604.9 s -> 7900 s
 *
 * Finish bounds are ~3x the worst, rounded up. Silences grow by doubling (each further
 * loss of the same retransmission doubles the RTO, up to 120 s), so 3x is only about 1.6
 * more losses in a row; the silence bound is 3x the worst with a floor of 60 s (from a
 * 200 ms RTO, 8 losses of one segment in a row). At 20 % loss the worst silences come
 * from the RTO backoff outliving the episode that raised it (ACKs of retransmitted data
 * advance SND.UNA without resetting it), so one unlucky stretch starts at a large RTO. */
static const uint32_t mx_vlimit_s[4][2] = {
    {40, 410},
    {60, 620},
    {190, 1300},
    {6500, 7900},
};
static const uint32_t mx_stall_s[4] = {60, 60, 60, 2700};

static cell matrix_cells[NMATRIX];
static char matrix_names[NMATRIX][64];

static void matrix_init(void)
{
    size_t k = 0;
    for (size_t l = 0; l < 4; l++)
        for (size_t r = 0; r < 2; r++)
            for (size_t d = 0; d < 2; d++)
                for (size_t x = 0; x < 2; x++)
                    for (size_t y = 0; y < 2; y++, k++) {
                        cell *c = &matrix_cells[k];
                        memset(c, 0, sizeof *c);
                        snprintf(matrix_names[k], sizeof matrix_names[k],
                                 "l%g-r%g-d%g-c%g-%ums", mx_loss[l], mx_reorder[r], mx_dup[d],
                                 mx_corrupt[x], mx_delay[y]);
                        c->name = matrix_names[k];
                        c->loss = mx_loss[l];
                        c->reorder = mx_reorder[r];
                        c->dup = mx_dup[d];
                        c->corrupt = mx_corrupt[x];
                        c->delay_ms = mx_delay[y];
                        c->seed = 100000000u + (uint64_t)mx_loss[l] * 1000000u +
                                  (uint64_t)mx_reorder[r] * 10000u + (uint64_t)mx_dup[d] * 1000u +
                                  (uint64_t)mx_corrupt[x] * 100u + mx_delay[y];
                        c->vlimit_s = mx_vlimit_s[l][y];
                        c->stall_s = mx_stall_s[l];
                    }
}

enum cell_group { GROUP_DEFAULT = 1, GROUP_VANISH = 2, GROUP_MATRIX = 4 };

typedef struct cell_ref {
    const cell *c;
    int group;
} cell_ref;

/* ------------------------------------------------------------------ link */

typedef struct sim sim;

typedef struct app {
    sim *sim;
    int side;             /* 0 A, 1 B */
    wtcp_stack *st;
    wtcp_sock lsock, sock;
    uint64_t total, sent, recvd;
    uint64_t tx_key, rx_key;
    int connected, shut_wr, eof, closed_ev;
    harness_rng rng;
    uint32_t slow_bytes, slow_ms, budget;
    uint64_t next_tick;
    uint64_t reads, writes, short_writes, events;
    int hold_open;        /* do not shut down after the last byte (keepalive cells) */
    int err;              /* vanished peer: the error the connection failed with */
    uint64_t err_at;      /* ... and when (0: not failed) */
} app;

struct sim {
    const cell *c;
    harness *h; /* the stacks (A index 0, B index 1), the link, the clock */
    uint16_t mtu;
    app app[2];
    uint64_t last_progress;
    uint64_t state_changes;
    int stop_after_synack; /* ISN probe mode */
    uint64_t max_gap;      /* longest time without application progress (transfer) */
    uint32_t rto0[2], backoff0[2]; /* each side's RTO and backoff when the link died */
    uint32_t data_retries; /* the stacks' configured data_retries */
    uint8_t scratch_tx[CHUNK_MAX], scratch_rx[CHUNK_MAX], scratch_ex[CHUNK_MAX];
};

/* The harness keeps the first failure; a cell stops at it. */
#define fail(s, ...) harness_fail((s)->h, __VA_ARGS__)
/* Counters of the direction from stack `from` (0 A, 1 B) to the other. */
#define D(s, from) (&(s)->h->dir[(from)][!(from)])

/* ------------------------------------------------------------------ application */

static const char *side_name(int side) { return side ? "B" : "A"; }

static uint32_t chunk_size(app *a)
{
    switch (harness_rng_below(&a->rng, 5)) {
    case 0:
        return 1 + harness_rng_below(&a->rng, 100);
    case 1:
        return 1 + harness_rng_below(&a->rng, 3000);
    case 2:
        return 1 + harness_rng_below(&a->rng, 20000);
    case 3:
        return 1 + harness_rng_below(&a->rng, CHUNK_MAX);
    default:
        return CHUNK_MAX;
    }
}

static void progress(app *a) { a->sim->last_progress = a->sim->h->now; }

static void app_write(app *a)
{
    sim *s = a->sim;
    if (a->sock < 0 || !a->connected || a->shut_wr || a->err_at || s->h->failed)
        return;
    while (a->sent < a->total) {
        uint64_t left = a->total - a->sent;
        size_t want = chunk_size(a);
        if (want > left)
            want = (size_t)left;
        pat_fill(a->tx_key, a->sent, s->scratch_tx, want);
        int n = wtcp_send(a->st, a->sock, s->scratch_tx, want);
        a->writes++;
        if (n == WTCP_EAGAIN) {
            a->short_writes++;
            int w = wtcp_writable(a->st, a->sock);
            if (w > 0 && (size_t)w >= want)
                fail(s, "%s: send returned EAGAIN but writable says %d (wanted %zu)",
                     side_name(a->side), w, want);
            break;
        }
        if (n < 0) {
            fail(s, "%s: send(%zu) at offset %" PRIu64 " failed: %s", side_name(a->side), want,
                 a->sent, wtcp_errname(n));
            return;
        }
        if (n == 0 || (size_t)n > want) {
            fail(s, "%s: send(%zu) returned %d", side_name(a->side), want, n);
            return;
        }
        a->sent += (uint64_t)n;
        progress(a);
        if ((size_t)n < want) {
            a->short_writes++;
            break;
        }
    }
    if (a->sent == a->total && !a->shut_wr && !a->hold_open) {
        int r = wtcp_shutdown(a->st, a->sock, WTCP_SHUT_WR);
        if (r < 0)
            fail(s, "%s: shutdown(SHUT_WR) failed: %s", side_name(a->side), wtcp_errname(r));
        a->shut_wr = 1;
    }
}

static void app_read(app *a)
{
    sim *s = a->sim;
    if (a->sock < 0 || a->eof || a->err_at || s->h->failed)
        return;
    for (;;) {
        size_t want = chunk_size(a);
        if (a->slow_ms) {
            if (!a->budget)
                return;
            if (want > a->budget)
                want = a->budget;
        }
        int ready = wtcp_readable(a->st, a->sock);
        int n = wtcp_recv(a->st, a->sock, s->scratch_rx, want);
        a->reads++;
        if (n == WTCP_EAGAIN) {
            if (ready > 0)
                fail(s, "%s: recv returned EAGAIN but readable said %d", side_name(a->side),
                     ready);
            return;
        }
        if (n < 0) {
            fail(s, "%s: recv at offset %" PRIu64 " failed: %s", side_name(a->side), a->recvd,
                 wtcp_errname(n));
            return;
        }
        if (n == 0) {
            if (a->recvd != a->total) {
                fail(s, "%s: end of stream after %" PRIu64 " of %" PRIu64 " bytes",
                     side_name(a->side), a->recvd, a->total);
                return;
            }
            a->eof = 1;
            progress(a);
            if (verbose)
                printf("    t=%" PRIu64 " ms: %s read EOF after %" PRIu64 " bytes\n", s->h->now,
                       side_name(a->side), a->recvd);
            return;
        }
        if ((size_t)n > want) {
            fail(s, "%s: recv(%zu) returned %d", side_name(a->side), want, n);
            return;
        }
        if (a->recvd + (uint64_t)n > a->total) {
            fail(s, "%s: received %" PRIu64 " bytes, more than the %" PRIu64 " sent",
                 side_name(a->side), a->recvd + (uint64_t)n, a->total);
            return;
        }
        pat_fill(a->rx_key, a->recvd, s->scratch_ex, (size_t)n);
        if (memcmp(s->scratch_ex, s->scratch_rx, (size_t)n) != 0) {
            size_t i = 0;
            while (s->scratch_ex[i] == s->scratch_rx[i])
                i++;
            fail(s, "%s: wrong byte at stream offset %" PRIu64 ": got 0x%02x, expected 0x%02x",
                 side_name(a->side), a->recvd + i, s->scratch_rx[i], s->scratch_ex[i]);
            return;
        }
        a->recvd += (uint64_t)n;
        if (a->slow_ms)
            a->budget -= (uint32_t)n;
        progress(a);
    }
}

static void app_connected(app *a)
{
    a->connected = 1;
    progress(a);
    app_write(a);
    app_read(a);
}

static int app_events(app *a)
{
    sim *s = a->sim;
    wtcp_event ev;
    int handled = 0;
    while (!s->h->failed && harness_next_event(s->h, a->side, &ev)) {
        handled++;
        a->events++;
        if (ev.sock == a->lsock && a->lsock >= 0) {
            if (!(ev.events & WTCP_EV_ACCEPTABLE))
                continue;
            for (;;) {
                uint32_t addr = 0;
                uint16_t port = 0;
                int c = wtcp_accept(a->st, a->lsock, &addr, &port);
                if (c == WTCP_EAGAIN)
                    break;
                if (c < 0) {
                    fail(s, "%s: accept failed: %s", side_name(a->side), wtcp_errname(c));
                    break;
                }
                if (a->sock >= 0) {
                    fail(s, "%s: a second connection was accepted", side_name(a->side));
                    break;
                }
                if (addr != ADDR_A) {
                    fail(s, "%s: accepted a connection from 0x%08" PRIx32, side_name(a->side),
                         addr);
                    break;
                }
                a->sock = c;
                if (verbose)
                    printf("    t=%" PRIu64 " ms: B accepted from port %u\n", s->h->now, port);
                app_connected(a);
            }
            continue;
        }
        if (ev.sock != a->sock || a->sock < 0)
            continue; /* a handle we do not own (e.g. already closed) */
        if (a->err_at)
            continue; /* failed already (vanished peer) */
        if (ev.events & WTCP_EV_ERROR) {
            int err = 0;
            wtcp_getsockopt(a->st, a->sock, WTCP_SO_ERROR, &err);
            if (s->h->vanished) { /* expected: the cell checks the error and the time */
                a->err = err;
                a->err_at = s->h->now;
                if (verbose)
                    printf("    t=%" PRIu64 " ms: %s: connection failed: %s\n", s->h->now,
                           side_name(a->side), err ? wtcp_errname(err) : "(SO_ERROR empty)");
                continue;
            }
            fail(s, "%s: connection failed at t=%" PRIu64 " ms: %s", side_name(a->side), s->h->now,
                 err ? wtcp_errname(err) : "(SO_ERROR empty)");
            return handled;
        }
        if ((ev.events & WTCP_EV_CONNECTED) && !a->connected)
            app_connected(a);
        if (ev.events & WTCP_EV_READABLE)
            app_read(a);
        if (ev.events & WTCP_EV_WRITABLE)
            app_write(a);
        if (ev.events & WTCP_EV_CLOSED)
            a->closed_ev = 1;
    }
    return handled;
}

/* ------------------------------------------------------------------ one cell */

typedef struct result {
    uint64_t seed, bytes;
    double vtime_s, wall_s;
    uint64_t pkts[2], lost, corrupted, duped, reordered, overflow;
    uint64_t retrans[2], stack_drops[2], rst_out;
    uint32_t isn[2];
    double max_gap_s;      /* longest silence without application progress */
    double vlimit_s;       /* the virtual-time bound the cell ran under */
    /* vanished-peer cells */
    double vanish_s;       /* when the link died */
    double fail_dt_s[2];   /* each side's time from its reference to ETIMEDOUT (-1: none) */
    double win_lo_s[2], win_hi_s[2]; /* the window it had to fall in */
    uint32_t rto0[2];      /* RTO at the vanish (vanish-data) */
    uint32_t retries;      /* the configured data_retries */
    uint64_t void_pkts[2]; /* packets sent after the vanish */
    uint64_t probes[2];    /* keepalive-idle: packets each side sent during the idle hour */
    int ok;
    char warn[512];
} result;

static void on_state(void *user, int32_t sock, int old_state, int new_state)
{
    sim *s = user;
    s->state_changes++;
    if (verbose && !s->stop_after_synack)
        printf("    t=%" PRIu64 " ms: sock %" PRId32 " %s -> %s\n", s->h->now, sock,
               wtcp_state_name(old_state), wtcp_state_name(new_state));
}

static void make_key(uint8_t key[16], uint64_t seed, int side, uint64_t k)
{
    uint64_t x = seed * 0x100000001b3ull ^ ((uint64_t)side << 56) ^ (k * 0x9e3779b97f4a7c15ull);
    for (int i = 0; i < 16; i += 8) {
        uint64_t v = harness_splitmix64(&x);
        for (int j = 0; j < 8; j++)
            key[i + j] = (uint8_t)(v >> (8 * j));
    }
}

static void print_info(const char *who, wtcp_stack *st, wtcp_sock sock)
{
    wtcp_info in;
    int r = sock >= 0 ? wtcp_info_get(st, sock, &in) : WTCP_EBADF;
    if (r < 0) {
        printf("      %s: no info (%s)\n", who, wtcp_errname(r));
        return;
    }
    printf("      %s: %s una=%" PRIu32 " cwnd=%" PRIu32 " ssthresh=%" PRIu32 " snd_wnd=%" PRIu32
           " rcv_wnd=%" PRIu32 " rto=%" PRIu32 " backoff=%" PRIu32 " srtt=%" PRIu32
           " retrans=%" PRIu32 " sndbuf=%" PRIu32 " rcvbuf=%" PRIu32 " sent=%" PRIu64
           " acked=%" PRIu64 " rcvd=%" PRIu64 "\n",
           who, wtcp_state_name(in.state), in.unacked, in.cwnd, in.ssthresh, in.snd_wnd,
           in.rcv_wnd, in.rto_ms, in.backoff, in.srtt_ms, in.retransmits, in.snd_buf_used,
           in.rcv_buf_used, in.bytes_sent, in.bytes_acked, in.bytes_received);
}

static void dump_state(sim *s, uint64_t dl[2])
{
    printf("    at t=%" PRIu64 " ms: %zu packets in flight, deadlines A=%s%" PRIu64
           " B=%s%" PRIu64 "\n",
           s->h->now, harness_in_flight(s->h), dl[0] == WTCP_NEVER ? "never/" : "", dl[0],
           dl[1] == WTCP_NEVER ? "never/" : "", dl[1]);
    for (int i = 0; i < 2; i++) {
        app *a = &s->app[i];
        printf("      app %s: sent %" PRIu64 "/%" PRIu64 " recvd %" PRIu64
               " connected=%d shut_wr=%d eof=%d\n",
               side_name(i), a->sent, a->total, a->recvd, a->connected, a->shut_wr, a->eof);
        print_info(side_name(i), a->st, a->sock);
    }
    harness_log_print(s->h, stdout, 24);
}

static int app_events_of(void *user, harness *h, int i)
{
    (void)h;
    return app_events(&((sim *)user)->app[i]);
}

static int discard_events(void *user, harness *h, int i)
{
    (void)user;
    wtcp_event e;
    int n = 0;
    while (harness_next_event(h, i, &e))
        n++;
    return n;
}

/* Polls both stacks and runs the applications until no events are left, so that
 * what the applications queued has been sent. Fills the next deadlines. */
static void poll_quiet(sim *s, uint64_t dl[2], int with_apps)
{
    harness_poll_quiet(s->h, with_apps ? app_events_of : discard_events, s);
    dl[0] = s->h->node[0].deadline;
    dl[1] = s->h->node[1].deadline;
}

/* The peer vanishes: from now on the link drops every packet, those in flight too. */
static void vanish_now(sim *s)
{
    harness_vanish(s->h, 1);
    for (int i = 0; i < 2; i++) {
        wtcp_info in;
        if (s->app[i].sock >= 0 && wtcp_info_get(s->h->node[i].st, s->app[i].sock, &in) == 0) {
            s->rto0[i] = in.rto_ms;
            s->backoff0[i] = in.backoff;
        }
    }
    if (verbose)
        printf("    t=%" PRIu64 " ms: the link dies (A read %" PRIu64 ", B read %" PRIu64
               " bytes; RTO A %" PRIu32 " ms, B %" PRIu32 " ms)\n",
               s->h->now, s->app[0].recvd, s->app[1].recvd, s->rto0[0], s->rto0[1]);
}

/* Idle cells: every byte written has been read and acknowledged, both ways. */
static int all_acked(sim *s, uint64_t total)
{
    if (harness_in_flight(s->h))
        return 0;
    for (int i = 0; i < 2; i++) {
        app *a = &s->app[i];
        wtcp_info in;
        if (a->sock < 0 || a->sent != total || a->recvd != total ||
            wtcp_info_get(s->h->node[i].st, a->sock, &in) < 0 || in.unacked || in.snd_buf_used)
            return 0;
    }
    return 1;
}

/* The RTO limit the window of vanish-data assumes: the core's TCP_RTO_MAX_MS, which the
 * API does not expose (issue 3: "the default 15 retransmissions with a 120 s RTO cap"). */
#define RTO_CAP_MS 120000u

/* Checks a vanished-peer cell after its connections failed: the error and when. */
static void vanish_checks(sim *s, const cell *c, result *res)
{
    for (int i = 0; i < 2; i++) {
        res->fail_dt_s[i] = -1;
        res->void_pkts[i] = D(s, i)->vanished;
    }
    if (c->kind == CELL_VANISH_DATA) {
        /* Each side: its retransmission timer was last restarted by an ACK before the
         * vanish, so the first timeout comes within one RTO of it; then data_retries more,
         * each RTO doubled up to the cap; the last one ends the connection. */
        for (int i = 0; i < 2; i++) {
            uint64_t lo = 0, hi = 0;
            for (uint32_t k = 0; k <= s->data_retries; k++) {
                uint64_t w = (uint64_t)s->rto0[i] << (k < 40 ? k : 40);
                if (w > RTO_CAP_MS)
                    w = RTO_CAP_MS;
                if (k)
                    lo += w;
                hi += w;
            }
            hi += 1000; /* slack for timer granularity */
            res->rto0[i] = s->rto0[i];
            res->retries = s->data_retries;
            res->win_lo_s[i] = (double)lo / 1000.0;
            res->win_hi_s[i] = (double)hi / 1000.0;
            app *a = &s->app[i];
            if (s->backoff0[i])
                snprintf(res->warn + strlen(res->warn), sizeof res->warn - strlen(res->warn),
                         "%s was backed off (%" PRIu32 ") when the link died; ", side_name(i),
                         s->backoff0[i]);
            if (!a->err_at) {
                fail(s, "%s: no error %.1f s after the peer vanished", side_name(i),
                     (double)(s->h->now - s->h->vanished_at) / 1000.0);
                continue;
            }
            uint64_t dt = a->err_at - s->h->vanished_at;
            res->fail_dt_s[i] = (double)dt / 1000.0;
            if (a->err != WTCP_ETIMEDOUT)
                fail(s, "%s: connection failed with %s, expected ETIMEDOUT", side_name(i),
                     a->err ? wtcp_errname(a->err) : "no error");
            else if (dt < lo || dt > hi)
                fail(s, "%s: ETIMEDOUT %.3f s after the peer vanished, outside %.3f..%.3f s "
                        "(%" PRIu32 " retries, RTO %" PRIu32 " ms doubling to %u s)",
                     side_name(i), (double)dt / 1000.0, (double)lo / 1000.0,
                     (double)hi / 1000.0, s->data_retries, s->rto0[i], RTO_CAP_MS / 1000);
        }
    } else {
        /* Keepalive on A: first probe ka_idle after A last heard from B, then one every
         * ka_intvl; after ka_cnt unanswered probes the next expiry ends it (Linux's
         * tcp_keepalive_timer): at ka_idle + ka_cnt * ka_intvl, with up to one interval of
         * slack, not including a whole extra probe. Exactly ka_cnt probes go out (and
         * possibly a RST). B (no keepalive) has nothing to notice. */
        uint64_t lo = ((uint64_t)c->ka_idle_s + (uint64_t)c->ka_cnt * c->ka_intvl_s) * 1000;
        uint64_t hi = lo + (uint64_t)c->ka_intvl_s * 1000;
        res->win_lo_s[0] = (double)lo / 1000.0;
        res->win_hi_s[0] = (double)hi / 1000.0;
        app *a = &s->app[0];
        if (!a->err_at) {
            fail(s, "A: no error %.1f s after the peer vanished",
                 (double)(s->h->now - s->h->vanished_at) / 1000.0);
        } else {
            uint64_t dt = a->err_at - s->h->node[0].last_rx;
            res->fail_dt_s[0] = (double)dt / 1000.0;
            if (a->err != WTCP_ETIMEDOUT)
                fail(s, "A: connection failed with %s, expected ETIMEDOUT",
                     a->err ? wtcp_errname(a->err) : "no error");
            else if (dt < lo || dt >= hi)
                fail(s, "A: ETIMEDOUT %.3f s after it last heard from B, outside %.0f..<%.0f s "
                        "(keepalive idle %u s, interval %u s, count %u)",
                     (double)dt / 1000.0, (double)lo / 1000.0, (double)hi / 1000.0,
                     c->ka_idle_s, c->ka_intvl_s, c->ka_cnt);
            res->probes[0] = D(s, 0)->vanished - D(s, 0)->vanished_rst;
            if (!s->h->failed && res->probes[0] != c->ka_cnt)
                fail(s, "A: sent %" PRIu64 " probes after the peer vanished, expected the %u "
                        "of TCP_KEEPCNT",
                     res->probes[0], c->ka_cnt);
        }
        if (s->app[1].err_at)
            fail(s, "B: failed (%s) although it has no keepalive and nothing to send",
                 wtcp_errname(s->app[1].err));
    }
    for (int i = 0; i < 2; i++) {
        app *a = &s->app[i];
        wtcp_info in;
        if (!a->err_at || a->sock < 0)
            continue;
        int r = wtcp_info_get(s->h->node[i].st, a->sock, &in);
        if (r == 0) {
            res->retrans[i] = in.retransmits;
            if (in.state != WTCP_CLOSED)
                fail(s, "%s: state %s after the connection failed", side_name(i),
                     wtcp_state_name(in.state));
        }
        int n = wtcp_send(s->h->node[i].st, a->sock, "x", 1);
        if (n >= 0 || n == WTCP_EAGAIN)
            fail(s, "%s: send on the failed connection returned %d", side_name(i), n);
    }
}

static int run_cell(const cell *c, uint64_t seed, uint64_t bytes, const uint8_t keys[2][16],
                    int stop_after_synack, result *res)
{
    sim *s = calloc(1, sizeof *s);
    if (!s || !(s->h = harness_new(0)) || harness_log_enable(s->h, 256) < 0) {
        fprintf(stderr, "simnet: out of memory\n");
        exit(2);
    }
    double wall0 = wall_now();
    uint64_t dl[2] = {WTCP_NEVER, WTCP_NEVER};
    uint64_t iter = 0, same_time = 0, done_at = 0;
    int done = 0, vanish_done = 0;
    s->c = c;
    s->mtu = c->mtu ? c->mtu : 1500;
    s->stop_after_synack = stop_after_synack;
    {
        /* Each direction from its own PRNG: seed ^ harness_dir_seed(from, to). */
        harness_faults f = {.seed = seed, .loss = c->loss, .dup = c->dup, .reorder = c->reorder,
                            .corrupt = c->corrupt, .delay_ms = c->delay_ms,
                            .jitter_ms = c->jitter_ms};
        harness_set_faults_all(s->h, &f);
    }
    s->h->strict = 1;
    s->h->storm_limit = SAME_MS_PKTS_MAX;
    s->h->max_inflight_pkts = MAX_INFLIGHT_PKTS;
    s->h->max_inflight_bytes = MAX_INFLIGHT_BYTES;
    harness_log_echo(s->h, stdout, trace_from);
    memset(res, 0, sizeof *res);
    res->seed = seed;
    res->bytes = bytes;

    for (int i = 0; i < 2; i++) {
        wtcp_config cfg;
        wtcp_config_init(&cfg);
        cfg.addr = i ? ADDR_B : ADDR_A;
        cfg.prefix_len = 24;
        cfg.mtu = s->mtu;
        memcpy(cfg.isn_key, keys[i], 16);
        if (c->sndbuf)
            cfg.sndbuf = c->sndbuf;
        if (c->rcvbuf)
            cfg.rcvbuf = c->rcvbuf;
        cfg.no_sack = (uint8_t)opt_no_sack;
        cfg.no_timestamps = (uint8_t)opt_no_ts;
        cfg.no_wscale = (uint8_t)opt_no_wscale;
        cfg.on_state = on_state;
        cfg.state_user = s;
        s->data_retries = cfg.data_retries;
        int r = harness_add_stack(s->h, &cfg);
        if (r < 0) {
            fail(s, "wtcp_stack_new(%s) failed: %s", side_name(i), wtcp_errname(r));
            goto out;
        }
        app *a = &s->app[i];
        a->sim = s;
        a->side = i;
        a->st = s->h->node[i].st;
        a->lsock = a->sock = -1;
        a->total = bytes;
        a->hold_open = c->kind == CELL_VANISH_IDLE || c->kind == CELL_KA_IDLE;
        a->tx_key = harness_mix64(seed + (uint64_t)i * 0x1234567ull + 17);
        harness_rng_seed(&a->rng, seed * 31 + (uint64_t)i + 5);
    }
    s->app[0].rx_key = s->app[1].tx_key;
    s->app[1].rx_key = s->app[0].tx_key;
    if (c->slow_read_ms) {
        s->app[1].slow_bytes = c->slow_read_bytes;
        s->app[1].slow_ms = c->slow_read_ms;
        s->app[1].budget = c->slow_read_bytes;
        s->app[1].next_tick = c->slow_read_ms;
    }

    /* B listens, A connects. */
    {
        app *b = &s->app[1], *a = &s->app[0];
        int r = b->lsock = wtcp_socket(b->st, WTCP_SOCK_STREAM);
        if (r < 0 || (r = wtcp_bind(b->st, b->lsock, ADDR_B, PORT_B)) < 0 ||
            (r = wtcp_listen(b->st, b->lsock, 8)) < 0) {
            fail(s, "B: socket/bind/listen failed: %s", wtcp_errname(r));
            goto out;
        }
        r = a->sock = wtcp_socket(a->st, WTCP_SOCK_STREAM);
        if (r < 0) {
            fail(s, "A: socket failed: %s", wtcp_errname(r));
            goto out;
        }
        if (c->ka_idle_s) {
            if ((r = wtcp_setsockopt(a->st, a->sock, WTCP_SO_KEEPALIVE, 1)) < 0 ||
                (r = wtcp_setsockopt(a->st, a->sock, WTCP_TCP_KEEPIDLE, (int)c->ka_idle_s)) < 0 ||
                (r = wtcp_setsockopt(a->st, a->sock, WTCP_TCP_KEEPINTVL, (int)c->ka_intvl_s)) < 0 ||
                (r = wtcp_setsockopt(a->st, a->sock, WTCP_TCP_KEEPCNT, (int)c->ka_cnt)) < 0) {
                fail(s, "A: keepalive options failed: %s", wtcp_errname(r));
                goto out;
            }
        }
        r = wtcp_connect(a->st, a->sock, ADDR_B, PORT_B);
        if (r != WTCP_EINPROGRESS) {
            fail(s, "A: connect returned %d (%s), expected EINPROGRESS", r, wtcp_errname(r));
            goto out;
        }
    }

    uint64_t vlimit = c->vlimit_s ? (uint64_t)c->vlimit_s * 1000 : DEFAULT_VLIMIT_MS;
    uint64_t stall_ms = c->stall_s ? (uint64_t)c->stall_s * 1000 : DEFAULT_STALL_MS;
    uint64_t total = bytes; /* each way; keepalive-idle adds VANISH_KA_EXTRA after the idle */
    uint64_t idle_at = 0, idle_end = WTCP_NEVER, idle_pkts[2] = {0, 0};
    int idle = 0;
    int idle_cell = c->kind == CELL_VANISH_IDLE || c->kind == CELL_KA_IDLE;
    res->vlimit_s = (double)vlimit / 1000.0;
    for (;;) {
        int delivered = harness_deliver_due(s->h);
        app *b = &s->app[1];
        if (b->slow_ms && s->h->now >= b->next_tick) {
            b->budget = b->slow_bytes;
            while (b->next_tick <= s->h->now)
                b->next_tick += b->slow_ms;
            app_read(b);
        }
        poll_quiet(s, dl, 1);
        if (s->h->failed)
            break;
        if (stop_after_synack && D(s, 0)->syn_seen && D(s, 1)->syn_seen)
            break;
        if (c->kind == CELL_VANISH_DATA && !s->h->vanished && s->app[0].recvd >= c->vanish_after &&
            s->app[1].recvd >= c->vanish_after)
            vanish_now(s);
        if (idle_cell && !idle_at && all_acked(s, total)) {
            idle = 1;
            idle_at = s->h->now;
            idle_pkts[0] = D(s, 0)->sent;
            idle_pkts[1] = D(s, 1)->sent;
            if (verbose)
                printf("    t=%" PRIu64 " ms: idle, every byte acknowledged both ways\n", s->h->now);
            if (c->kind == CELL_VANISH_IDLE)
                vanish_now(s);
            else
                idle_end = idle_at + (uint64_t)c->idle_s * 1000;
        }
        if (idle && s->h->now >= idle_end) {
            /* keepalive-idle: an hour with the peer there. A's probes, one per ka_idle,
             * must each have had exactly one answer, and the connection must still work. */
            idle = 0;
            for (int i = 0; i < 2; i++)
                res->probes[i] = D(s, i)->sent - idle_pkts[i];
            uint64_t want_lo = c->idle_s / (c->ka_idle_s + 1), want_hi =
                (c->idle_s + c->ka_idle_s - 1) / c->ka_idle_s;
            wtcp_info in;
            int r = wtcp_info_get(s->h->node[0].st, s->app[0].sock, &in);
            if (r < 0 || in.state != WTCP_ESTABLISHED)
                fail(s, "A: %s after %u s idle with keepalive and the peer there",
                     r < 0 ? wtcp_errname(r) : wtcp_state_name(in.state), c->idle_s);
            else if (res->probes[0] < want_lo || res->probes[0] > want_hi)
                fail(s, "A sent %" PRIu64 " keepalive probes in %u s idle, expected %" PRIu64
                        "..%" PRIu64 " (one per %u s)",
                     res->probes[0], c->idle_s, want_lo, want_hi, c->ka_idle_s);
            else if (res->probes[1] != res->probes[0])
                fail(s, "B answered A's %" PRIu64 " keepalive probes with %" PRIu64 " packets",
                     res->probes[0], res->probes[1]);
            if (s->h->failed)
                break;
            if (verbose)
                printf("    t=%" PRIu64 " ms: %u s idle over: %" PRIu64 " probes answered; "
                       "%u more bytes each way, then close\n",
                       s->h->now, c->idle_s, res->probes[0], VANISH_KA_EXTRA);
            total += VANISH_KA_EXTRA;
            for (int i = 0; i < 2; i++) {
                s->app[i].total = total;
                s->app[i].hold_open = 0;
                app_write(&s->app[i]);
            }
            progress(&s->app[0]);
            poll_quiet(s, dl, 1);
            if (s->h->failed)
                break;
        }
        if (s->h->vanished) {
            if (c->kind == CELL_VANISH_DATA ? s->app[0].err_at && s->app[1].err_at
                                            : s->app[0].err_at != 0) {
                vanish_done = 1;
                done_at = s->h->now;
                break;
            }
        } else if (!idle && s->app[0].eof && s->app[1].eof && s->app[0].sent == total &&
                   s->app[1].sent == total) {
            done = 1;
            done_at = s->h->now;
            break;
        }
        uint64_t next = dl[0] < dl[1] ? dl[0] : dl[1];
        if (harness_next_due(s->h) < next)
            next = harness_next_due(s->h);
        if (b->slow_ms && !b->eof && b->next_tick < next)
            next = b->next_tick;
        if (idle && idle_end < next)
            next = idle_end;
        if (next == WTCP_NEVER) {
            if (s->h->vanished)
                fail(s, "%.3f s after the peer vanished no timer is armed: the connection "
                        "would never fail",
                     (double)(s->h->now - s->h->vanished_at) / 1000.0);
            else
                fail(s, "deadlock at t=%" PRIu64 " ms: no packet in flight and no timer armed",
                     s->h->now);
            break;
        }
        if (next <= s->h->now) {
            /* Packets due at the same millisecond are normal (at a delay of 0 whole round
             * trips are; harness_deliver_due bounds them); a deadline that stays due with nothing
             * delivered is not. */
            if (!delivered && ++same_time > 1000) {
                fail(s, "time does not advance: poll keeps returning deadline %" PRIu64
                        " <= now %" PRIu64,
                     next, s->h->now);
                break;
            }
        } else {
            same_time = 0;
            s->h->now = next;
        }
        if (s->h->now > vlimit) {
            fail(s, "virtual time limit (%" PRIu64 " s) exceeded", vlimit / 1000);
            break;
        }
        if (!idle && !s->h->vanished) {
            uint64_t gap = s->h->now - s->last_progress;
            if (gap > s->max_gap)
                s->max_gap = gap;
            if (gap > stall_ms) {
                fail(s, "stall: no application progress since t=%" PRIu64 " ms (limit %" PRIu64
                        " s)",
                     s->last_progress, stall_ms / 1000);
                break;
            }
        }
        if ((++iter & 1023) == 0 && wall_now() - wall0 > wall_limit_s) {
            fail(s, "wall-clock limit (%.0f s) exceeded at virtual t=%" PRIu64 " ms",
                 wall_limit_s, s->h->now);
            break;
        }
    }
    if (s->h->failed && !stop_after_synack) {
        printf("  FAIL %s (seed %" PRIu64 "): %s\n", c->name, seed, s->h->why);
        dump_state(s, dl);
    }
    res->vtime_s = (double)(done || vanish_done ? done_at : s->h->now) / 1000.0;
    res->vanish_s = (double)s->h->vanished_at / 1000.0;
    res->max_gap_s = (double)s->max_gap / 1000.0;
    res->isn[0] = D(s, 0)->syn_seq;
    res->isn[1] = D(s, 1)->syn_seq;
    if (stop_after_synack || (!done && !vanish_done))
        goto out;

    if (vanish_done) {
        vanish_checks(s, c, res);
        if (s->h->failed) {
            printf("  FAIL %s (seed %" PRIu64 "): %s\n", c->name, seed, s->h->why);
            dump_state(s, dl);
            goto out;
        }
        /* Release the handles; the stacks are freed without running further. */
        wtcp_close(s->h->node[0].st, s->app[0].sock);
        if (s->app[1].sock >= 0)
            wtcp_close(s->h->node[1].st, s->app[1].sock);
        wtcp_close(s->h->node[1].st, s->app[1].lsock);
        s->app[0].sock = s->app[1].sock = s->app[1].lsock = -1;
        goto counters;
    }

    /* Figures while the connections still have handles. */
    for (int i = 0; i < 2; i++) {
        wtcp_info in;
        int r = wtcp_info_get(s->h->node[i].st, s->app[i].sock, &in);
        if (r < 0) {
            fail(s, "%s: wtcp_info_get failed: %s", side_name(i), wtcp_errname(r));
            break;
        }
        res->retrans[i] = in.retransmits;
        if (in.bytes_received != total)
            fail(s, "%s: info.bytes_received %" PRIu64 " != %" PRIu64, side_name(i),
                 in.bytes_received, total);
        if (in.bytes_sent < total)
            fail(s, "%s: info.bytes_sent %" PRIu64 " < %" PRIu64, side_name(i), in.bytes_sent,
                 total);
        if (in.bytes_acked > total)
            fail(s, "%s: info.bytes_acked %" PRIu64 " > %" PRIu64, side_name(i),
                 in.bytes_acked, total);
        if (in.state != WTCP_CLOSED && in.state < WTCP_CLOSE_WAIT)
            fail(s, "%s: state %s after both sides read EOF", side_name(i),
                 wtcp_state_name(in.state));
    }
    if (s->h->failed) {
        printf("  FAIL %s (seed %" PRIu64 "): %s\n", c->name, seed, s->h->why);
        goto out;
    }

    /* Close everything and let FIN retransmissions and TIME-WAIT run out. */
    wtcp_close(s->h->node[0].st, s->app[0].sock);
    wtcp_close(s->h->node[1].st, s->app[1].sock);
    wtcp_close(s->h->node[1].st, s->app[1].lsock);
    s->app[0].sock = s->app[1].sock = s->app[1].lsock = -1;
    {
        uint64_t end = s->h->now + DRAIN_MS;
        same_time = 0;
        for (;;) {
            int delivered = harness_deliver_due(s->h);
            poll_quiet(s, dl, 0);
            if (s->h->failed)
                break;
            uint64_t next = dl[0] < dl[1] ? dl[0] : dl[1];
            if (harness_next_due(s->h) < next)
                next = harness_next_due(s->h);
            if (next == WTCP_NEVER || next > end)
                break;
            if (next > s->h->now) {
                s->h->now = next;
                same_time = 0;
            } else if (!delivered && ++same_time > 1000) {
                fail(s, "time does not advance after close at t=%" PRIu64 " ms", s->h->now);
                break;
            }
        }
        if (s->h->failed) {
            printf("  FAIL %s (seed %" PRIu64 "): %s\n", c->name, seed, s->h->why);
            goto out;
        }
        if (harness_in_flight(s->h) || dl[0] != WTCP_NEVER || dl[1] != WTCP_NEVER)
            snprintf(res->warn + strlen(res->warn), sizeof res->warn - strlen(res->warn),
                     "%s still busy %u s after close (packets in flight %zu, deadlines %s/%s); ",
                     c->name, DRAIN_MS / 1000, harness_in_flight(s->h), dl[0] == WTCP_NEVER ? "never" : "set",
                     dl[1] == WTCP_NEVER ? "never" : "set");
    }

counters:
    for (int i = 0; i < 2; i++) {
        wtcp_stats st;
        wtcp_stats_get(s->h->node[i].st, &st);
        res->stack_drops[i] = st.drops;
        res->rst_out += st.tcp_rst_out;
        uint64_t sum = 0, csum_class = 0;
        for (int k = 0; k < WTCP_DROP_COUNT; k++) {
            sum += st.drop[k];
            if (harness_damage_reason(k))
                csum_class += st.drop[k];
        }
        if (sum != st.drops)
            fail(s, "%s: stats.drops %" PRIu64 " != sum of drop[] %" PRIu64, side_name(i),
                 st.drops, sum);
        uint64_t bad = D(s, !i)->corrupt_delivered;
        if (csum_class != bad)
            fail(s, "%s: %" PRIu64 " corrupted packets delivered but %" PRIu64
                    " dropped as IP/TCP malformed or bad checksum",
                 side_name(i), bad, csum_class);
        if (st.ip_in != D(s, !i)->delivered)
            fail(s, "%s: stats.ip_in %" PRIu64 " != %" PRIu64 " packets delivered", side_name(i),
                 st.ip_in, D(s, !i)->delivered);
        if (st.ip_out != D(s, i)->sent)
            fail(s, "%s: stats.ip_out %" PRIu64 " != %" PRIu64 " packets emitted", side_name(i),
                 st.ip_out, D(s, i)->sent);
        if (verbose) {
            printf("    stack %s: ip_in %" PRIu64 " ip_out %" PRIu64 " retrans %" PRIu64
                   " (timeouts %" PRIu64 ", recoveries %" PRIu64 ", RACK losses %" PRIu64
                   ", tail probes %" PRIu64 ") rst_out %" PRIu64 " challenge_acks %" PRIu64
                   " drops %" PRIu64 ":",
                   side_name(i), st.ip_in, st.ip_out, st.tcp_retransmits, st.tcp_timeouts,
                   st.tcp_recoveries, st.tcp_rack_losses, st.tcp_tlp_probes, st.tcp_rst_out,
                   st.tcp_challenge_acks, st.drops);
            for (int k = 0; k < WTCP_DROP_COUNT; k++)
                if (st.drop[k])
                    printf(" %s=%" PRIu64, wtcp_drop_name(k), st.drop[k]);
            printf("\n    stack %s memory: peak %" PRIu64 " bytes, %" PRIu64 " alloc calls\n",
                   side_name(i), s->h->node[i].mem.peak_bytes, s->h->node[i].mem.calls);
        }
    }
    /* wtcp.h: "Returns 0 when the packet was accepted, or a negative code naming why
     * not". Shown with -v: whether a TCP-level drop should make it negative is open. */
    if (s->h->ret0_drops && verbose)
        snprintf(res->warn + strlen(res->warn), sizeof res->warn - strlen(res->warn),
                 "%s: wtcp_input returned 0 for %" PRIu64 " packets the stack counted as "
                 "dropped; ",
                 c->name, s->h->ret0_drops);
    if (s->h->retneg_kept && verbose)
        snprintf(res->warn + strlen(res->warn), sizeof res->warn - strlen(res->warn),
                 "%s: wtcp_input returned an error for %" PRIu64 " packets with no drop "
                 "counted; ",
                 c->name, s->h->retneg_kept);
    if (s->h->failed)
        printf("  FAIL %s (seed %" PRIu64 "): %s\n", c->name, seed, s->h->why);

out:
    for (int i = 0; i < 2; i++) {
        if (s->h->node[i].st) {
            if (harness_free_stack(s->h, i) && !s->h->failed) {
                fail(s, "%s: %" PRIu64 " blocks (%" PRIu64 " bytes) still allocated after "
                        "wtcp_stack_free",
                     side_name(i), s->h->node[i].mem.live_blocks, s->h->node[i].mem.live_bytes);
                printf("  FAIL %s (seed %" PRIu64 "): %s\n", c->name, seed, s->h->why);
            }
        }
    }
    res->pkts[0] = D(s, 0)->sent;
    res->pkts[1] = D(s, 1)->sent;
    for (int i = 0; i < 2; i++) {
        res->lost += D(s, i)->lost;
        res->corrupted += D(s, i)->corrupted;
        res->duped += D(s, i)->duped;
        res->reordered += D(s, i)->reordered;
        res->overflow += D(s, i)->overflow;
    }
    int ok = !s->h->failed && (done || vanish_done || stop_after_synack);
    if (!ok && !s->h->failed)
        printf("  FAIL %s (seed %" PRIu64 ")\n", c->name, seed);
    harness_free(s->h);
    free(s);
    res->wall_s = wall_now() - wall0;
    return ok;
}

/* For the seqwrap cell: finds ISN keys such that both directions' sequence numbers wrap
 * past 2^32 in the middle of the transfer. ISNs are a keyed hash of the 4-tuple and the
 * (virtual) clock, so a trial handshake with the same keys at the same time gives the
 * same ISN as the real run. */
static void find_wrap_keys(const cell *c, uint64_t seed, uint64_t bytes, uint8_t keys[2][16])
{
    uint64_t lo = bytes / 4 ? bytes / 4 : 1, hi = bytes - bytes / 4;
    if (hi <= lo)
        hi = lo + 1;
    result r;
    for (int side = 0; side < 2; side++) {
        int found = 0;
        for (uint64_t k = 0; k < 200000 && !found; k++) {
            make_key(keys[side], seed, side, k);
            if (!run_cell(c, seed, bytes, (const uint8_t(*)[16])keys, 1, &r))
                break;
            uint64_t to_wrap = (1ull << 32) - (uint64_t)r.isn[side];
            if (to_wrap >= lo && to_wrap <= hi)
                found = 1;
        }
        if (!found) {
            printf("  note: %s: no ISN key found for side %s that wraps mid-transfer\n",
                   c->name, side_name(side));
            make_key(keys[side], seed, side, 0);
        }
    }
}

/* ------------------------------------------------------------------ main */

static uint64_t parse_size(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    switch (*end) {
    case 'k':
    case 'K':
        v <<= 10;
        end++;
        break;
    case 'm':
    case 'M':
        v <<= 20;
        end++;
        break;
    case 'g':
    case 'G':
        v <<= 30;
        end++;
        break;
    default:
        break;
    }
    if (*end || end == s) {
        fprintf(stderr, "simnet: bad size '%s'\n", s);
        exit(2);
    }
    return v;
}

static int cell_selected(const char *name, const char *list)
{
    if (!list)
        return 1;
    size_t n = strlen(name);
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

#define EXIT_CELL_PASS 10
#define EXIT_CELL_FAIL 11

static void print_header(int group, uint64_t bytes, uint64_t mx_scale)
{
    switch (group) {
    case GROUP_DEFAULT:
        printf("simnet: A 10.0.0.1 <-> B 10.0.0.2:%d, full duplex, %" PRIu64
               " bytes each way\n",
               PORT_B, bytes);
        printf("%-10s %6s %9s %8s %8s %6s %5s %5s %6s %11s %7s %7s  %s\n", "cell", "seed",
               "vtime(s)", "pkts A>B", "pkts B>A", "lost", "corr", "dup", "reord",
               "retrans A/B", "drops", "wall(s)", "result");
        break;
    case GROUP_VANISH:
        printf("simnet vanished peer: the link drops every packet from some point on; the "
               "connection must fail with ETIMEDOUT in time\n");
        printf("%-14s %6s %9s %7s  %s\n", "cell", "seed", "vtime(s)", "wall(s)", "result");
        break;
    case GROUP_MATRIX:
        printf("simnet matrix: loss x reordering x duplication x corruption x delay, per "
               "direction, %" PRIu64 " bytes each way\n",
               bytes);
        printf("  bounds (virtual): finish within");
        for (size_t l = 0; l < 4; l++)
            printf("%s %g%% loss %" PRIu32 "/%" PRIu32 " s", l ? "," : "", mx_loss[l],
                   mx_vlimit_s[l][0], mx_vlimit_s[l][1]);
        printf(" (delay 0/50 ms)");
        if (mx_scale > 1)
            printf(", times %" PRIu64 " for %" PRIu64 " bytes", mx_scale, bytes);
        printf(";\n  longest silence without application progress");
        for (size_t l = 0; l < 4; l++)
            printf("%s %g%% loss %" PRIu32 " s", l ? "," : "", mx_loss[l], mx_stall_s[l]);
        printf("\n");
        printf("%-19s %9s %9s %8s %9s %11s %6s %7s  %s\n", "cell", "seed", "vtime(s)",
               "limit(s)", "silent(s)", "retrans A/B", "lost", "wall(s)", "result");
        break;
    }
}

/* Runs one cell and prints its row (and any warnings); returns 1 when it passed. */
static int do_cell(const cell *c, int group, uint64_t seed, uint64_t n, result *out)
{
    uint8_t keys[2][16];
    make_key(keys[0], seed, 0, 0);
    make_key(keys[1], seed, 1, 0);
    if (c->seq_wrap)
        find_wrap_keys(c, seed, n, keys);
    result r;
    int ok = run_cell(c, seed, n, (const uint8_t(*)[16])keys, 0, &r);
    r.ok = ok;
    char rt[32];
    snprintf(rt, sizeof rt, "%" PRIu64 "/%" PRIu64, r.retrans[0], r.retrans[1]);
    if (group == GROUP_MATRIX) {
        printf("%-19s %9" PRIu64 " %9.3f %8.0f %9.3f %11s %6" PRIu64 " %7.2f  %s\n", c->name,
               seed, r.vtime_s, r.vlimit_s, r.max_gap_s, rt, r.lost + r.overflow, r.wall_s,
               ok ? "pass" : "FAIL");
    } else if (group == GROUP_VANISH) {
        printf("%-14s %6" PRIu64 " %9.3f %7.2f  %s\n", c->name, seed, r.vtime_s, r.wall_s,
               ok ? "pass" : "FAIL");
        if (c->kind == CELL_KA_IDLE) {
            printf("    %u s idle with keepalive (idle %u s, interval %u s, count %u): %" PRIu64
                   " probes from A, %" PRIu64 " answers from B; then %u more bytes each way "
                   "and a clean close\n",
                   c->idle_s, c->ka_idle_s, c->ka_intvl_s, c->ka_cnt, r.probes[0], r.probes[1],
                   VANISH_KA_EXTRA);
        } else {
            printf("    link died at t=%.3f s%s\n", r.vanish_s,
                   c->kind == CELL_VANISH_DATA ? " (mid-transfer)" : " (idle, all acknowledged)");
            for (int i = 0; i < (c->kind == CELL_VANISH_DATA ? 2 : 1); i++) {
                if (r.fail_dt_s[i] < 0 && r.win_hi_s[i] <= 0)
                    continue;
                char got[48];
                if (r.fail_dt_s[i] < 0)
                    snprintf(got, sizeof got, "no ETIMEDOUT");
                else
                    snprintf(got, sizeof got, "ETIMEDOUT %.3f s", r.fail_dt_s[i]);
                if (c->kind == CELL_VANISH_DATA)
                    printf("    %s: %s after the link died (window %.3f..%.3f s: RTO %" PRIu32
                           " ms doubling to %u s, %u retries); %" PRIu64
                           " packets into the void\n",
                           side_name(i), got, r.win_lo_s[i], r.win_hi_s[i], r.rto0[i],
                           RTO_CAP_MS / 1000, r.retries, r.void_pkts[i]);
                else
                    printf("    A: %s after it last heard from B (window %.0f..<%.0f s: keepalive "
                           "idle %u s + %u probes x %u s); %" PRIu64 " probes and %" PRIu64
                           " other packets into the void\n",
                           got, r.win_lo_s[i], r.win_hi_s[i], c->ka_idle_s, c->ka_cnt,
                           c->ka_intvl_s, r.probes[i], r.void_pkts[i] - r.probes[i]);
            }
        }
    } else {
        printf("%-10s %6" PRIu64 " %9.3f %8" PRIu64 " %8" PRIu64 " %6" PRIu64 " %5" PRIu64
               " %5" PRIu64 " %6" PRIu64 " %11s %7" PRIu64 " %7.2f  %s\n",
               c->name, seed, r.vtime_s, r.pkts[0], r.pkts[1], r.lost + r.overflow, r.corrupted,
               r.duped, r.reordered, rt, r.stack_drops[0] + r.stack_drops[1], r.wall_s,
               ok ? "pass" : "FAIL");
    }
    if (c->seq_wrap && verbose)
        printf("    ISN A %" PRIu32 " B %" PRIu32 ": sequence numbers wrap after %" PRIu64
               " and %" PRIu64 " bytes\n",
               r.isn[0], r.isn[1], (uint64_t)((1ull << 32) - r.isn[0] - 1),
               (uint64_t)((1ull << 32) - r.isn[1] - 1));
    if (r.warn[0])
        printf("  warning: %s\n", r.warn);
    *out = r;
    return ok;
}

/* One finished run, for the matrix summary. */
typedef struct run_rec {
    const cell *c;
    uint64_t seed;
    int ran; /* 0: crashed, no figures */
    result r;
} run_rec;

static int cmp_vtime(const void *a, const void *b)
{
    const run_rec *x = a, *y = b;
    double fx = x->ran ? x->r.vtime_s : 1e300; /* crashed runs first */
    double fy = y->ran ? y->r.vtime_s : 1e300;
    return fx < fy ? 1 : fx > fy ? -1 : 0;
}

static void matrix_summary(run_rec *recs, size_t n)
{
    if (!n)
        return;
    double vsum = 0, wsum = 0, worst_gap = -1, worst_frac = -1;
    run_rec gap_rec = {0}, frac_rec = {0};
    for (size_t i = 0; i < n; i++) {
        if (!recs[i].ran)
            continue;
        vsum += recs[i].r.vtime_s;
        wsum += recs[i].r.wall_s;
        if (recs[i].r.vtime_s / recs[i].r.vlimit_s > worst_frac) {
            worst_frac = recs[i].r.vtime_s / recs[i].r.vlimit_s;
            frac_rec = recs[i];
        }
        if (recs[i].r.max_gap_s > worst_gap) {
            worst_gap = recs[i].r.max_gap_s;
            gap_rec = recs[i];
        }
    }
    qsort(recs, n, sizeof *recs, cmp_vtime);
    size_t show = n < 8 ? n : 8;
    printf("slowest matrix cells (virtual time, and against the cell's limit):\n");
    for (size_t i = 0; i < show; i++) {
        const run_rec *q = &recs[i];
        if (!q->ran) {
            printf("  %-19s seed %9" PRIu64 "  crashed\n", q->c->name, q->seed);
            continue;
        }
        printf("  %-19s seed %9" PRIu64 "  %9.3f s of %6.0f s (%4.1f%%)  longest silence "
               "%8.3f s of %6" PRIu32 " s  %s\n",
               q->c->name, q->seed, q->r.vtime_s, q->r.vlimit_s,
               100.0 * q->r.vtime_s / q->r.vlimit_s, q->r.max_gap_s, q->c->stall_s,
               q->r.ok ? "pass" : "FAIL");
    }
    if (frac_rec.c)
        printf("closest to its limit: %s (seed %" PRIu64 "), %.3f s of %.0f s (%.1f%%)\n",
               frac_rec.c->name, frac_rec.seed, frac_rec.r.vtime_s, frac_rec.r.vlimit_s,
               100.0 * worst_frac);
    if (gap_rec.c)
        printf("longest silence: %.3f s in %s (seed %" PRIu64 ", limit %" PRIu32 " s)\n",
               worst_gap, gap_rec.c->name, gap_rec.seed, gap_rec.c->stall_s);
    printf("matrix: %zu runs, %.1f s virtual in all, %.2f s wall in cells\n", n, vsum, wsum);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: simnet [--default] [--vanish] [--matrix] [--cell NAME[,NAME...]] [--seed N]\n"
            "              [--seeds N] [--bytes N[K|M|G]] [--wall S] [--no-sack] [--no-ts]\n"
            "              [--no-wscale] [--trace MS] [--no-fork] [--list] [-v]\n"
            "  --default     the default cells (loss, reordering, ... see --list)\n"
            "  --vanish      the vanished-peer cells (retransmission timeout, keepalive)\n"
            "  --matrix      the 64-cell matrix loss 0/1/5/20 x reorder 0/10 x dup 0/5 x\n"
            "                corrupt 0/1 x delay 0/50 ms\n"
            "                (no group given: --default --vanish; groups add up)\n"
            "  --cell NAMES  run only these cells, from any group (see --list)\n"
            "  --seed N      override every selected cell's seed\n"
            "  --seeds N     run each cell with N consecutive seeds from its own (or --seed)\n"
            "  --bytes N     bytes each way (default 16M; not for the vanished-peer cells)\n"
            "  --wall S      wall-clock limit per cell in seconds (default 120)\n"
            "  --no-sack, --no-ts, --no-wscale  configure both stacks without that option\n"
            "  --trace MS    print the harness log (packets, link drops, events) from MS on\n"
            "  --no-fork     run cells in this process (for a debugger)\n"
            "  --list        list the cells\n"
            "  -v            trace state changes and print stack counters\n");
}

static void list_cell(const cell *c)
{
    printf("%-19s seed %-9" PRIu64 " loss %4.1f%% reorder %4.1f%% dup %4.1f%% "
           "corrupt %4.1f%% delay %2u ms jitter %2u ms",
           c->name, c->seed, c->loss, c->reorder, c->dup, c->corrupt, c->delay_ms,
           c->jitter_ms);
    if (c->vlimit_s)
        printf(" limit %" PRIu32 " s", c->vlimit_s);
    if (c->stall_s)
        printf(" stall %" PRIu32 " s", c->stall_s);
    printf("%s%s%s%s%s%s\n", c->sndbuf ? " small buffers" : "",
           c->slow_read_ms ? " slow reader" : "", c->mtu ? " small MTU" : "",
           c->kind == CELL_VANISH_DATA ? " peer vanishes mid-transfer" : "",
           c->kind == CELL_VANISH_IDLE ? " peer vanishes when idle, keepalive" : "",
           c->kind == CELL_KA_IDLE ? " idle hour with keepalive, peer there" : "");
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    int have_seed = 0, groups = 0;
    uint64_t seed_override = 0, bytes = 16u << 20, nseeds = 1;
    int have_bytes = 0, list = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    matrix_init();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--cell") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(a, "--seed") && i + 1 < argc) {
            seed_override = strtoull(argv[++i], NULL, 0);
            have_seed = 1;
        } else if (!strcmp(a, "--bytes") && i + 1 < argc) {
            bytes = parse_size(argv[++i]);
            have_bytes = 1;
        } else if (!strcmp(a, "--seeds") && i + 1 < argc) {
            nseeds = strtoull(argv[++i], NULL, 0);
            if (nseeds == 0)
                nseeds = 1;
        } else if (!strcmp(a, "--wall") && i + 1 < argc)
            wall_limit_s = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--trace") && i + 1 < argc)
            trace_from = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(a, "--default"))
            groups |= GROUP_DEFAULT;
        else if (!strcmp(a, "--vanish"))
            groups |= GROUP_VANISH;
        else if (!strcmp(a, "--matrix"))
            groups |= GROUP_MATRIX;
        else if (!strcmp(a, "--no-fork"))
            use_fork = 0;
        else if (!strcmp(a, "--no-sack"))
            opt_no_sack = 1;
        else if (!strcmp(a, "--no-ts"))
            opt_no_ts = 1;
        else if (!strcmp(a, "--no-wscale"))
            opt_no_wscale = 1;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
            verbose = 1;
        else if (!strcmp(a, "--list"))
            list = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }

    /* The matrix bounds are for 16 MiB each way: more bytes scale the time to finish. */
    uint64_t mx_scale = 1;
    if (bytes > (16u << 20)) {
        mx_scale = (bytes + (16u << 20) - 1) / (16u << 20);
        for (size_t k = 0; k < NMATRIX; k++) {
            uint64_t v = (uint64_t)matrix_cells[k].vlimit_s * mx_scale;
            matrix_cells[k].vlimit_s = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
        }
    }

    /* Every cell, in running order: the default cells, the vanished peer, the matrix. */
    cell_ref all[NCELLS + NVANISH + NMATRIX];
    size_t nall = 0;
    for (size_t k = 0; k < NCELLS; k++)
        all[nall++] = (cell_ref){&cells[k], GROUP_DEFAULT};
    for (size_t k = 0; k < NVANISH; k++)
        all[nall++] = (cell_ref){&vanish_cells[k], GROUP_VANISH};
    for (size_t k = 0; k < NMATRIX; k++)
        all[nall++] = (cell_ref){&matrix_cells[k], GROUP_MATRIX};
    /* --cell picks from every group unless groups were named too. */
    if (!groups)
        groups = only ? GROUP_DEFAULT | GROUP_VANISH | GROUP_MATRIX : GROUP_DEFAULT | GROUP_VANISH;

    if (list) {
        for (size_t k = 0; k < nall; k++)
            if ((all[k].group & groups) && cell_selected(all[k].c->name, only))
                list_cell(all[k].c);
        return 0;
    }
    if (bytes == 0) {
        fprintf(stderr, "simnet: --bytes must be > 0\n");
        return 2;
    }
    if (only) {
        /* Every listed name must exist. */
        const char *p = only;
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            int ok = 0;
            for (size_t k = 0; k < nall; k++)
                if (strlen(all[k].c->name) == len && !strncmp(all[k].c->name, p, len))
                    ok = 1;
            if (!ok) {
                fprintf(stderr, "simnet: no cell '%.*s' (see --list)\n", (int)len, p);
                return 2;
            }
            if (!comma)
                break;
            p = comma + 1;
        }
    }

    run_rec *recs = calloc(NMATRIX * (size_t)(nseeds < 1000 ? nseeds : 1000), sizeof *recs);
    size_t nrecs = 0, rec_cap = recs ? NMATRIX * (size_t)(nseeds < 1000 ? nseeds : 1000) : 0;
    int passed = 0, failed = 0, last_group = 0;
    double wall_start = wall_now();
    for (size_t k = 0; k < nall; k++) {
        const cell *c = all[k].c;
        int group = all[k].group;
        if (!(group & groups) || !cell_selected(c->name, only))
            continue;
        if (group != last_group) {
            if (last_group)
                printf("\n");
            print_header(group, bytes, mx_scale);
            last_group = group;
        }
        for (uint64_t si = 0; si < nseeds; si++) {
            uint64_t seed = (have_seed ? seed_override : c->seed) + si;
            uint64_t n = group == GROUP_VANISH ? c->bytes
                         : have_bytes          ? bytes
                                               : (c->bytes ? c->bytes : bytes);
            int ok, ran = 0;
            result r;
            memset(&r, 0, sizeof r);
    #if SIMNET_FORK
            if (use_fork) {
                double t0 = wall_now();
                int fds[2] = {-1, -1};
                if (pipe(fds) < 0)
                    fds[0] = fds[1] = -1;
                fflush(stdout);
                fflush(stderr);
                pid_t pid = fork();
                if (pid == 0) {
                    /* A core stuck inside one call never returns to the wall-clock check. */
                    alarm((unsigned)wall_limit_s + 30);
                    if (fds[0] >= 0)
                        close(fds[0]);
                    int rc = do_cell(c, group, seed, n, &r);
                    fflush(stdout);
                    if (fds[1] >= 0) {
                        /* Smaller than PIPE_BUF's 64 KiB capacity: never blocks. */
                        ssize_t w = write(fds[1], &r, sizeof r);
                        (void)w;
                        close(fds[1]);
                    }
                    exit(rc ? EXIT_CELL_PASS : EXIT_CELL_FAIL);
                }
                if (fds[1] >= 0)
                    close(fds[1]);
                int status = 0;
                if (pid < 0 || waitpid(pid, &status, 0) != pid) {
                    perror("simnet: fork/waitpid");
                    ok = do_cell(c, group, seed, n, &r);
                    ran = 1;
                } else if (WIFEXITED(status) && (WEXITSTATUS(status) == EXIT_CELL_PASS ||
                                                 WEXITSTATUS(status) == EXIT_CELL_FAIL)) {
                    ok = WEXITSTATUS(status) == EXIT_CELL_PASS;
                    ran = fds[0] >= 0 && read(fds[0], &r, sizeof r) == (ssize_t)sizeof r;
                } else {
                    char why[64];
                    if (WIFSIGNALED(status))
                        snprintf(why, sizeof why, "crashed: signal %d%s", WTERMSIG(status),
                                 WTERMSIG(status) == SIGALRM ? " (wall-clock limit)" : "");
                    else
                        snprintf(why, sizeof why, "crashed: exit status %d", WEXITSTATUS(status));
                    printf("  FAIL %s (seed %" PRIu64 "): %s\n", c->name, seed, why);
                    printf("%-10s %6" PRIu64 " %9s %7.2f  FAIL\n", c->name, seed, "-",
                           wall_now() - t0);
                    ok = 0;
                }
                if (fds[0] >= 0)
                    close(fds[0]);
            } else
    #endif
            {
                ok = do_cell(c, group, seed, n, &r);
                ran = 1;
            }
            if (group == GROUP_MATRIX && nrecs < rec_cap)
                recs[nrecs++] = (run_rec){c, seed, ran, r};
            if (ok)
                passed++;
            else
                failed++;
        }
    }
    if (!last_group)
        printf("simnet: no cell selected\n");
    if (nrecs) {
        printf("\n");
        matrix_summary(recs, nrecs);
    }
    free(recs);
    printf("wall time %.1f s\n", wall_now() - wall_start);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
