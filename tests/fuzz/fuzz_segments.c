/* fuzz_segments.c: libFuzzer target for sequences of segments against an established
 * connection. The input drives a peer that keeps track of the connection from the
 * packets the stack sends (its ISN, SND.UNA and SND.MAX as the peer sees them, its ACK,
 * window and timestamp) and sends mutations of valid segments: flags; sequence numbers at
 * RCV.NXT, at the right edge of the window, whole segments ahead or behind; ACKs at
 * SND.UNA or SND.MAX +- a little, between, or far off; windows from zero up; timestamps
 * new, repeated, old (PAWS) or absent; SACK blocks over what was sent, below SND.UNA
 * (D-SACK) or beyond it; other options (MSS, WS, SACK-permitted, unknown kinds, bad
 * lengths, an early EOL) in front of them; payloads of any length up to two MSS; ICMP
 * errors quoting what is in flight (path MTU, unreachables).
 * Interleaved: the application's writes, reads, shutdowns, closes, aborts and socket
 * options, the clock (to the next deadline, or by ms to minutes), allocation failures,
 * and new connections (passive on a new port, passive on the same port so that a
 * TIME-WAIT is reopened, or active; finished, or left for the fuzzer's segments to
 * finish; through a SYN cookie when SYNs from elsewhere filled the listener's queue), so
 * that recovery, zero windows, the FIN states, TIME-WAIT, the out-of-order queue,
 * keepalive, SYN-SENT, SYN-RECEIVED and SYN cookies are reached.
 *
 * Checked while it runs: every packet the stack sends is well formed; every byte it sends
 * is the byte the application wrote at that offset, never beyond what was written, and
 * its FIN comes right after the last byte; its ACK never goes back and never covers what
 * the peer did not send; every byte the application reads is the byte the peer sent at
 * that sequence number; buffers stay within their sizes and memory within a bound. At the
 * end, once every handle is closed and every timer has run out, the stack holds exactly
 * the blocks it held before the first connection, and nothing once it is freed.
 *
 * Input: [setup] then records. setup: bit 0 timestamps, 1 SACK-permitted, 2 window
 * scaling, 3 MSS 536 (else 1460), 4 active open, 5 NewReno (else CUBIC), 6-7 the ISN's
 * top bits. A record is an op byte; op & 7 picks what:
 *   0-3  a segment: op [s l f k w x] (+ [n] and option bytes when f & 0x80)
 *        op >> 3 & 3: sequence base: RCV.NXT (the peer's next byte), the window's right
 *        edge, the peer's next byte + s MSS, the stack's ACK (a retransmission); s: int8
 *        offset (bytes, or MSS for base 2). l: length, (l & 0x3f) * (l & 0x40 ? 24 : 1), or
 *        when l >= 0xc0 an MSS (+1 if l & 1, twice if l & 2). f: bit 0 PSH, bits 1-3 0 -, 1
 *        FIN, 2 RST, 3 SYN, 4 URG, 5 ECE+CWR, 6 SYN+FIN, 7 no ACK (with bit 0: a bare
 *        SYN); bits 4-5 timestamp new, same, old, none; bit 6 echo reply garbage; bit 7 options follow. k: ACK base (bits
 *        0-1: SND.UNA, SND.MAX, between by k >> 2 / 64, far off) and offset (int6, k >> 2).
 *        w: window (bits 0-1: 65535, 0, w >> 2, (w >> 2) KiB). x: SACK blocks, x & 3 of
 *        them, each over what was sent, below SND.UNA, beyond SND.MAX or backwards (two
 *        bits each, x >> 2). op >> 5: 7 more segments like this one, each advanced by
 *        its length (a burst); with op & 1 the burst is one batch (wtcp_input_more, the
 *        last with wtcp_input).
 *   4    the application writes: op [a b c], ((a << 8 | b) % 8192) bytes
 *   5    the application reads: op [a b c], up to a * 64 + 1 bytes, all there is if b & 1,
 *        nothing if b & 2
 *   6    time passes: op [a b c], a & 3: b ms, b * 100 ms, b * 10 s, or up to b + 1 deadlines
 *   7    control: op [a b c], a & 15: shutdown write, read, both; close; abort; a socket
 *        option (b picks it, c its value); a new connection (b & 3: passive on a new port,
 *        passive on the same port, active; c bit 0: an ISN a TIME-WAIT refuses, bit 1:
 *        handshake unfinished, bit 2: SYN queue filled first); allocations fail beyond
 *        b * 256 bytes more than now (or never when b is 0); an ICMP error (b & 7 its kind,
 *        b >> 3 & 7 the sequence number quoted, b >> 6 the quote's length, c the MTU or an
 *        offset). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wire/wire.h"
#include "wtcp.h"

#define LOCAL 0xc0a80001u  /* 192.168.0.1, the stack */
#define REMOTE 0xc0000201u /* 192.0.2.1, the fuzzer's peer */
#define SERVER_PORT 80
#define PEER_PORT 40000
#define FLOOD_PORT 50000
#define MAX_SOCKETS 8
#define SNDBUF 16384
#define RCVBUF 8192
#define RCVBUF_MAX 65536
/* The bound docs/SECURITY.md gives: per socket slot at most a send and a receive buffer
 * (both capped at rcvbuf_max) and 8,192 records of segments in flight (24 bytes each), plus
 * the stack's own tables and a few TIME-WAIT entries. */
#define TXLOG_BYTES (8192u * 24u)
#define MEMORY_BOUND (64u * 1024 + MAX_SOCKETS * (2u * RCVBUF_MAX + TXLOG_BYTES + 2048u))

/* What the peer knows of the connection it is fuzzing. Sequence numbers of the peer's
 * stream are "peer_*", those of the stack's stream "stack_*". */
typedef struct conn {
    int synced;           /* the stack's SYN (or SYN-ACK) seen */
    uint16_t lport, rport; /* the stack's port, the peer's */
    uint32_t peer_isn;
    uint32_t peer_nxt;    /* the next new byte the peer sends */
    uint32_t peer_max;    /* beyond everything the peer ever sent (data, SYN, FIN) */
    uint32_t stack_isn;
    uint32_t stack_max;   /* beyond everything the stack sent */
    uint32_t stack_una;   /* the highest ACK the peer sent of what the stack sent */
    uint32_t stack_ack;   /* the last ACK the stack sent */
    int ack_seen;
    uint32_t stack_win;   /* its last window, scaled */
    uint8_t stack_shift;  /* the window scale the stack announced, when in use */
    uint32_t stack_ts;    /* its last TS value */
    uint32_t mss;         /* what the peer uses */
    int ts, sack, wscale;
    uint64_t written;     /* bytes the application gave wtcp_send */
} conn;

typedef struct fuzz {
    wtcp_stack *st;
    uint64_t now;
    uint32_t ts_clock;    /* the peer's timestamp clock */
    conn c;
    int sock;             /* the connection's handle, or -1 */
    int listener;
    uint16_t next_port, flood_port;
    uint8_t setup;
    harness_alloc_stats mem;
    uint64_t mem_cap;     /* allocations fail beyond this many live bytes (0: never) */
    uint32_t sndbuf_max;  /* the largest SO_SNDBUF set */
    uint32_t rd_seq;      /* the peer's sequence number of the next byte the application reads */
    int renewed;          /* out() saw the SYN-ACK of a new connection on the tracked 4-tuple */
    uint32_t last_seq, last_ack, last_end; /* the peer's last segment */
    int input_syn;        /* that segment is a SYN (no ACK) now being input */
    int input_more;       /* more of a batch follows it (wtcp_input_more) */
    int flooding;         /* syn_flood's SYNs are being input (not the tracked tuple) */
    int trace;
} fuzz;

static fuzz F;

/* The bytes both sides send are functions of their sequence numbers (the peer's) or of the
 * offset in the stream (the application's), so each can be checked wherever it shows up. */
static uint8_t peer_byte(uint32_t seq)
{
    return (uint8_t)((seq * 2654435761u) >> 24);
}

static uint8_t app_byte(uint64_t off)
{
    return (uint8_t)((off * 40503u) >> 8 ^ off);
}

static void *fuzz_alloc(void *user, void *ptr, size_t size)
{
    (void)user;
    if (F.mem_cap && size && F.mem.live_bytes + size > F.mem_cap)
        return NULL; /* realloc's growth is refused too: conservative, and simpler */
    void *r = harness_count_alloc(&F.mem, ptr, size);
    if (F.trace > 1)
        fprintf(stderr, "  alloc %p %zu -> %p (%llu blocks)\n", ptr, size, r, (unsigned long long)F.mem.live_blocks);
    return r;
}

static int seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

static void fail(const char *why)
{
    fprintf(stderr, "fuzz_segments: %s\n", why);
    abort();
}

/* Everything the stack sends passes through here: learn from it and check it. */
static void out(void *user, const uint8_t *pkt, size_t len)
{
    (void)user;
    wire_ipv4 ip;
    wire_tcp t;
    if (wire_ipv4_parse(pkt, len, &ip) != WIRE_OK || ip.proto != WIRE_PROTO_TCP ||
        ip.src != LOCAL || ip.dst != REMOTE ||
        wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, 1, &t) != WIRE_OK)
        fail("the stack sent a malformed packet");
    conn *c = &F.c;
    if (F.trace)
        fprintf(stderr, "  < %u>%u %s%s%s%s seq %u ack %u win %u len %zu\n", t.sport, t.dport,
                t.flags & WIRE_TCP_SYN ? "S" : "", t.flags & WIRE_TCP_FIN ? "F" : "",
                t.flags & WIRE_TCP_RST ? "R" : "", t.flags & WIRE_TCP_ACK ? "." : "",
                t.seq - c->stack_isn, t.ack - c->peer_isn, t.win, t.payload_len);
    if (t.dport != c->rport || (c->lport && t.sport != c->lport))
        return; /* an earlier connection, or a reply to a segment for no connection */
    if (t.flags & WIRE_TCP_SYN) {
        if (t.payload_len || (t.flags & WIRE_TCP_FIN))
            fail("the stack sent a SYN with data or FIN");
        if (!c->synced || t.seq != c->stack_isn) { /* a new connection, not a retransmission */
            if (c->synced)
                F.renewed = 1; /* on the tracked 4-tuple, after the old one ended */
            c->synced = 1;
            c->lport = t.sport;
            c->stack_isn = t.seq;
            c->stack_max = c->stack_una = t.seq + 1;
            c->stack_shift = t.opt.has_wscale && c->wscale ? t.opt.wscale : 0;
            c->written = 0;
            c->ack_seen = 0;
            if (t.flags & WIRE_TCP_ACK)
                c->peer_nxt = c->peer_max = t.ack;
        }
        c->stack_win = t.win;
        if (t.flags & WIRE_TCP_ACK) { /* a SYN-ACK: the peer's ISN is the one it acknowledges */
            c->peer_isn = t.ack - 1;
            if (seq_gt(t.ack, c->peer_nxt))
                c->peer_nxt = t.ack;
            if (seq_gt(t.ack, c->peer_max))
                c->peer_max = t.ack;
            c->stack_ack = t.ack;
            c->ack_seen = 1;
        }
    } else if (c->synced && !(t.flags & WIRE_TCP_RST)) {
        /* Data: what the application wrote at that offset, and nothing beyond. */
        uint32_t off = t.seq - (c->stack_isn + 1);
        if (t.payload_len && ((uint64_t)off + t.payload_len > c->written || off > (1u << 30)))
            fail("the stack sent bytes the application never wrote");
        for (size_t i = 0; i < t.payload_len; i++)
            if (t.payload[i] != app_byte((uint64_t)off + i))
                fail("the stack sent a byte that differs from what was written there");
        if ((t.flags & WIRE_TCP_FIN) && (uint64_t)off + t.payload_len != c->written)
            fail("the stack's FIN is not right after the last byte written");
        uint32_t end = t.seq + (uint32_t)t.payload_len + ((t.flags & WIRE_TCP_FIN) ? 1 : 0);
        if (seq_gt(end, c->stack_max))
            c->stack_max = end;
        /* Its ACK: RCV.NXT never goes back, nor beyond what the peer sent. */
        if (t.flags & WIRE_TCP_ACK) {
            if (seq_gt(t.ack, c->peer_max))
                fail("the stack acknowledged what the peer never sent");
            if (c->ack_seen && seq_gt(c->stack_ack, t.ack))
                fail("the stack's ACK went back");
            c->stack_ack = t.ack;
            c->ack_seen = 1;
        }
        c->stack_win = (uint32_t)t.win << c->stack_shift;
    }
    if (t.opt.has_ts)
        c->stack_ts = t.opt.ts_val;
}

/* The option block: a SYN's options, then fuzzer-chosen ones (so that an early EOL hides
 * what follows), then the timestamp and SACK blocks, NOP-aligned as Linux sends them.
 * Written here, not by the core's encoder, so that the two do not share mistakes. */
typedef struct seg {
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win, urg;
    size_t len;
    int syn_mss, syn_sack_ok, syn_wscale; /* 0 / -1: absent */
    int with_ts;
    uint32_t ts_val, ts_ecr;
    uint32_t sack[3][2];
    int nsack;
    const uint8_t *extra;
    size_t nextra;
} seg;

static size_t put_options(uint8_t *o, const seg *s)
{
    size_t n = 0;
    if (s->syn_mss) {
        o[n] = 2, o[n + 1] = 4;
        wire_put16(o + n + 2, (uint16_t)s->syn_mss);
        n += 4;
    }
    if (s->syn_sack_ok)
        o[n] = 1, o[n + 1] = 1, o[n + 2] = 4, o[n + 3] = 2, n += 4;
    if (s->syn_wscale >= 0)
        o[n] = 1, o[n + 1] = 3, o[n + 2] = 3, o[n + 3] = (uint8_t)s->syn_wscale, n += 4;
    size_t tail = (s->with_ts ? 12 : 0) + (s->nsack ? 4 + 8 * (size_t)s->nsack : 0);
    for (size_t i = 0; i < s->nextra && n + tail < 40; i++) {
        uint8_t g = s->extra[i];
        size_t room = 40 - tail - n;
        switch (g & 7) {
        case 0: /* NOP */
            if (room >= 1)
                o[n++] = 1;
            break;
        case 1: /* EOL: what follows is padding to a parser */
            if (room >= 1)
                o[n++] = 0;
            break;
        case 2: /* MSS outside a SYN */
            if (room >= 4)
                o[n] = 2, o[n + 1] = 4, o[n + 2] = (uint8_t)(g >> 3), o[n + 3] = g, n += 4;
            break;
        case 3: /* window scale outside a SYN */
            if (room >= 3)
                o[n] = 3, o[n + 1] = 3, o[n + 2] = (uint8_t)(g >> 3), n += 3;
            break;
        case 4: /* SACK-permitted outside a SYN */
            if (room >= 2)
                o[n] = 4, o[n + 1] = 2, n += 2;
            break;
        case 5: { /* an unknown kind, well formed */
            size_t l = 2 + (size_t)(g >> 6);
            if (room >= l) {
                o[n] = (uint8_t)(30 + (g >> 3));
                o[n + 1] = (uint8_t)l;
                memset(o + n + 2, g, l - 2);
                n += l;
            }
            break;
        }
        case 6: /* a known kind with a bad length */
            if (room >= 2) {
                static const uint8_t kinds[4] = {2, 5, 8, 3};
                static const uint8_t lens[4] = {0, 1, 3, 41};
                o[n] = kinds[(g >> 3) & 3], o[n + 1] = lens[(g >> 5) & 3], n += 2;
            }
            break;
        default: /* a second timestamp option, garbage */
            if (room >= 10) {
                o[n] = 8, o[n + 1] = 10;
                memset(o + n + 2, g, 8);
                n += 10;
            }
            break;
        }
    }
    if (s->with_ts) {
        o[n] = 1, o[n + 1] = 1, o[n + 2] = 8, o[n + 3] = 10;
        wire_put32(o + n + 4, s->ts_val);
        wire_put32(o + n + 8, s->ts_ecr);
        n += 12;
    }
    if (s->nsack) {
        o[n] = 1, o[n + 1] = 1, o[n + 2] = 5, o[n + 3] = (uint8_t)(2 + 8 * s->nsack);
        n += 4;
        for (int i = 0; i < s->nsack; i++, n += 8) {
            wire_put32(o + n, s->sack[i][0]);
            wire_put32(o + n + 4, s->sack[i][1]);
        }
    }
    while (n % 4)
        o[n++] = 0;
    return n;
}

static void send_seg(const seg *s)
{
    conn *c = &F.c;
    static uint8_t buf[WIRE_IPV4_HDR + 60 + 3000];
    uint8_t *l4 = buf + WIRE_IPV4_HDR;
    size_t hl = 20 + put_options(l4 + 20, s);
    size_t len = s->len < sizeof buf - WIRE_IPV4_HDR - hl ? s->len : sizeof buf - WIRE_IPV4_HDR - hl;
    uint32_t data_seq = s->seq + ((s->flags & WIRE_TCP_SYN) ? 1 : 0);
    wire_put16(l4, c->rport);
    wire_put16(l4 + 2, c->lport);
    wire_put32(l4 + 4, s->seq);
    wire_put32(l4 + 8, s->ack);
    l4[12] = (uint8_t)(hl / 4 << 4);
    l4[13] = s->flags;
    wire_put16(l4 + 14, s->win);
    wire_put16(l4 + 16, 0);
    wire_put16(l4 + 18, s->urg);
    for (size_t i = 0; i < len; i++)
        l4[hl + i] = peer_byte(data_seq + (uint32_t)i);
    wire_l4_checksum(l4, hl + len, REMOTE, LOCAL, WIRE_PROTO_TCP);
    wire_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.total_len = (uint16_t)(WIRE_IPV4_HDR + hl + len);
    ip.frag = WIRE_IP_DF;
    ip.ttl = 64;
    ip.proto = WIRE_PROTO_TCP;
    ip.src = REMOTE;
    ip.dst = LOCAL;
    wire_ipv4_emit(buf, &ip);
    /* Beyond everything the peer sent: what the stack may acknowledge at most. */
    uint32_t end = data_seq + (uint32_t)len + ((s->flags & WIRE_TCP_FIN) ? 1 : 0);
    if (seq_gt(end, c->peer_max) && (uint32_t)(end - c->peer_isn) < (1u << 30))
        c->peer_max = end; /* a SYN that starts a new stream resets it where the stack says so */
    F.last_seq = s->seq;
    F.last_ack = s->ack;
    F.last_end = end;
    F.input_syn = (s->flags & (WIRE_TCP_SYN | WIRE_TCP_ACK)) == WIRE_TCP_SYN;
    if (F.trace)
        fprintf(stderr, "  > %u>%u %s%s%s%s seq %u ack %u win %u len %zu%s%s%s\n", c->rport,
                c->lport, s->flags & WIRE_TCP_SYN ? "S" : "", s->flags & WIRE_TCP_FIN ? "F" : "",
                s->flags & WIRE_TCP_RST ? "R" : "", s->flags & WIRE_TCP_ACK ? "." : "",
                s->seq - c->peer_isn, s->ack - c->stack_isn, s->win, len, s->with_ts ? " ts" : "",
                s->nsack ? " sack" : "", s->nextra ? " opts" : "");
    if (F.input_more)
        wtcp_input_more(F.st, F.now, buf, ip.total_len);
    else
        wtcp_input(F.st, F.now, buf, ip.total_len);
    F.input_syn = 0;
}

/* The peer's timestamp clock ticks once a millisecond. */
static void advance(uint64_t to)
{
    if (to > F.now) {
        F.ts_clock += (uint32_t)(to - F.now);
        F.now = to;
    }
}

/* The tracked connection, once the listener has it; any other it completed (one the
 * peer left for a new one) is closed. */
static void try_accept(void)
{
    int a;
    uint16_t port;
    while (F.sock < 0 && (a = wtcp_accept(F.st, F.listener, NULL, &port)) > 0) {
        if (port != F.c.rport) {
            wtcp_close(F.st, a);
            continue;
        }
        F.sock = a;
        F.rd_seq = F.c.peer_isn + 1;
    }
}

static void poll_stack(void)
{
    wtcp_poll(F.st, F.now);
    wtcp_event ev;
    while (wtcp_next_event(F.st, &ev)) {
    }
    if (F.renewed) {
        /* A new connection on the tracked 4-tuple (a SYN-ACK for a SYN the fuzzer sent
         * the listener after the old one ended, or an ACK a SYN cookie let in): the old
         * handle goes, the new one comes. */
        F.renewed = 0;
        if (F.sock >= 0)
            wtcp_close(F.st, F.sock);
        F.sock = -1;
    }
    try_accept();
}

/* SYNs from other ports that nobody answers: the listener's SYN queue fills, so the next
 * SYN is answered with a SYN cookie (RFC 4987). */
static void syn_flood(int n)
{
    conn saved = F.c;
    F.flooding = 1;
    seg s;
    memset(&s, 0, sizeof s);
    s.flags = WIRE_TCP_SYN;
    s.win = 65535;
    s.syn_mss = 1460;
    s.syn_wscale = -1;
    for (int i = 0; i < n; i++) {
        F.c.rport = F.flood_port++;
        F.c.lport = SERVER_PORT;
        s.seq = 0x9e3779b9u * F.c.rport;
        send_seg(&s);
    }
    F.c = saved;
    F.flooding = 0;
}

enum { HS_ACTIVE = 1, HS_UNFINISHED = 2, HS_COOKIE = 4 };

/* A handshake, passive (the peer's SYN to the listener) or active (wtcp_connect), with
 * the options of the setup byte; HS_UNFINISHED leaves out its last segment (the peer's
 * ACK, or its SYN-ACK) for the fuzzer's segments to supply, HS_COOKIE fills the listener's
 * SYN queue first. Leaves F.sock at the new connection (once accepted), or -1 when the
 * stack did not take it (a SYN into a TIME-WAIT that may not be reopened, say). */
static void handshake(int how, uint16_t port, uint32_t isn)
{
    conn *c = &F.c;
    if (F.sock >= 0)
        wtcp_close(F.st, F.sock); /* the old connection finishes as an orphan */
    F.sock = -1;
    if (how & HS_COOKIE)
        syn_flood(3);
    memset(c, 0, sizeof *c);
    c->rport = port;
    c->ts = F.setup & 1;
    c->sack = (F.setup >> 1) & 1;
    c->wscale = (F.setup >> 2) & 1;
    c->mss = (F.setup & 8) ? 536 : 1460;
    c->peer_isn = isn;
    c->peer_nxt = c->peer_max = isn + 1;
    seg s;
    memset(&s, 0, sizeof s);
    s.seq = isn;
    s.win = 65535;
    s.syn_mss = (int)c->mss;
    s.syn_sack_ok = c->sack;
    s.syn_wscale = c->wscale ? 7 : -1;
    s.with_ts = c->ts;
    s.ts_val = F.ts_clock;
    if (how & HS_ACTIVE) {
        int sock = wtcp_socket(F.st, WTCP_SOCK_STREAM);
        if (sock < 0)
            return;
        if (wtcp_connect(F.st, sock, REMOTE, port) != WTCP_EINPROGRESS) {
            wtcp_close(F.st, sock);
            return;
        }
        wtcp_poll(F.st, F.now); /* sends the SYN: out() learns its ISN and port */
        if (!c->synced) {
            wtcp_close(F.st, sock);
            return;
        }
        F.sock = sock;
        if (!(how & HS_UNFINISHED)) {
            s.flags = WIRE_TCP_SYN | WIRE_TCP_ACK;
            s.ack = c->stack_isn + 1;
            s.ts_ecr = c->stack_ts;
            send_seg(&s);
        }
    } else {
        c->lport = SERVER_PORT;
        s.flags = WIRE_TCP_SYN;
        send_seg(&s);
        if (!c->synced)
            return;
        if (!(how & HS_UNFINISHED)) {
            memset(&s, 0, sizeof s);
            s.seq = isn + 1;
            s.ack = c->stack_isn + 1;
            s.flags = WIRE_TCP_ACK;
            s.win = 65535;
            s.syn_wscale = -1;
            s.with_ts = c->ts;
            s.ts_val = ++F.ts_clock;
            s.ts_ecr = c->stack_ts;
            send_seg(&s);
        }
    }
    F.renewed = 0;
    poll_stack();
}

/* An ICMP error about the connection from a router on the path (RFC 792, RFC 1191, RFC
 * 5927): fragmentation needed (with an MTU or without), unreachables, time exceeded,
 * source quench; quoting a sequence number at or around what is in flight, and 8 bytes
 * of TCP header or fewer. */
static void icmp_op(uint8_t b, uint8_t v)
{
    conn *c = &F.c;
    static const uint8_t kinds[8][2] = {{3, 4}, {3, 4}, {3, 1}, {3, 3}, {3, 2}, {11, 0}, {4, 0}, {3, 0}};
    uint8_t type = kinds[b & 7][0], code = kinds[b & 7][1];
    uint16_t mtu = (b & 7) == 0 ? (uint16_t)(68 + v * 6) : 0;
    uint32_t seq;
    switch ((b >> 3) & 7) {
    case 0: seq = c->stack_una; break;
    case 1: seq = c->stack_max - 1; break;
    case 2: seq = c->stack_max; break;
    case 3: seq = c->stack_una - 1; break;
    case 4: seq = c->stack_una + (uint32_t)v * c->mss; break;
    default: seq = c->stack_una + v; break;
    }
    size_t quote = (b >> 6) == 3 ? (size_t)(v & 7) : 8 + (size_t)(b >> 6) * 4;
    static uint8_t buf[WIRE_IPV4_HDR + 8 + WIRE_IPV4_HDR + 20];
    uint8_t *icmp = buf + WIRE_IPV4_HDR, *q = icmp + 8, *ql4 = q + WIRE_IPV4_HDR;
    wire_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.total_len = WIRE_IPV4_HDR + 20; /* the packet the stack sent, as the router saw it */
    ip.frag = WIRE_IP_DF;
    ip.ttl = 1;
    ip.proto = WIRE_PROTO_TCP;
    ip.src = LOCAL;
    ip.dst = REMOTE;
    wire_ipv4_emit(q, &ip);
    memset(ql4, 0, 20);
    wire_put16(ql4, c->lport);
    wire_put16(ql4 + 2, c->rport);
    wire_put32(ql4 + 4, seq);
    wire_put32(ql4 + 8, c->stack_ack);
    ql4[12] = 5 << 4;
    ql4[13] = WIRE_TCP_ACK;
    size_t icmp_len = 8 + WIRE_IPV4_HDR + quote;
    icmp[0] = type;
    icmp[1] = code;
    wire_put16(icmp + 2, 0);
    wire_put32(icmp + 4, mtu);
    wire_put16(icmp + 2, wire_fold(wire_sum(icmp, icmp_len, 0)));
    ip.total_len = (uint16_t)(WIRE_IPV4_HDR + icmp_len);
    ip.ttl = 64;
    ip.proto = WIRE_PROTO_ICMP;
    ip.src = 0xc0000202u; /* 192.0.2.2, a router */
    ip.dst = LOCAL;
    wire_ipv4_emit(buf, &ip);
    if (F.trace)
        fprintf(stderr, "  > icmp %u/%u mtu %u seq %u quote %zu\n", type, code, mtu, seq - c->stack_isn, quote);
    wtcp_input(F.st, F.now, buf, ip.total_len);
}

/* The input, one byte at a time; zeros past its end. */
typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint8_t take(reader *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

static uint32_t sack_block_edge(uint32_t base, uint32_t mss, uint32_t i)
{
    return base + mss * i;
}

static void segment_op(uint8_t op, reader *r)
{
    conn *c = &F.c;
    uint8_t sb = take(r), l = take(r), f = take(r), k = take(r), w = take(r), x = take(r);
    uint8_t extra[15];
    size_t nextra = 0;
    if (f & 0x80) {
        nextra = take(r) & 15;
        for (size_t i = 0; i < nextra; i++)
            extra[i] = take(r);
    }
    int8_t so = (int8_t)sb;
    uint32_t mss = c->mss;
    seg s;
    memset(&s, 0, sizeof s);
    s.syn_wscale = -1;
    switch ((op >> 3) & 3) {
    case 0: s.seq = c->peer_nxt + (uint32_t)(int32_t)so; break;
    case 1: s.seq = c->stack_ack + c->stack_win + (uint32_t)(int32_t)so; break;
    case 2: s.seq = c->peer_nxt + (uint32_t)((int32_t)so * (int32_t)mss); break;
    default: s.seq = (c->ack_seen ? c->stack_ack : c->peer_nxt) + (uint32_t)(int32_t)so; break;
    }
    if (l >= 0xc0)
        s.len = (size_t)mss * ((l & 2) ? 2 : 1) + (l & 1);
    else
        s.len = (size_t)(l & 0x3f) * ((l & 0x40) ? 24 : 1);
    static const uint8_t flag_sets[8] = {
        0, WIRE_TCP_FIN, WIRE_TCP_RST, WIRE_TCP_SYN, WIRE_TCP_URG,
        WIRE_TCP_ECE | WIRE_TCP_CWR, WIRE_TCP_SYN | WIRE_TCP_FIN, 0};
    s.flags = (uint8_t)(WIRE_TCP_ACK | flag_sets[(f >> 1) & 7] | ((f & 1) ? WIRE_TCP_PSH : 0));
    if (((f >> 1) & 7) == 7) /* no ACK: a bare segment, or (with the PSH bit) a bare SYN */
        s.flags = (f & 1) ? WIRE_TCP_SYN : 0;
    if (s.flags & WIRE_TCP_URG)
        s.urg = (uint16_t)(s.len ? s.len : 1);
    /* The acknowledgment, relative to what the stack sent. */
    int32_t ko = (int8_t)(k & 0xfc) >> 2; /* -32..31 */
    uint32_t span = c->stack_max - c->stack_una;
    switch (k & 3) {
    case 0: s.ack = c->stack_una + (uint32_t)ko; break;
    case 1: s.ack = c->stack_max + (uint32_t)ko; break;
    case 2: s.ack = c->stack_una + (uint32_t)((uint64_t)span * (uint32_t)(k >> 2) / 63); break;
    default: /* far: below SND.UNA by up to 128 KiB, or beyond SND.MAX */
        s.ack = ko < 0 ? c->stack_una + (uint32_t)(ko * 4096) : c->stack_max + (uint32_t)(ko + 1) * 4096;
        break;
    }
    switch (w & 3) {
    case 0: s.win = 65535; break;
    case 1: s.win = 0; break;
    case 2: s.win = (uint16_t)(w >> 2); break;
    default: s.win = (uint16_t)((w >> 2) * 1024 > 65535 ? 65535 : (w >> 2) * 1024); break;
    }
    switch ((f >> 4) & 3) {
    case 0: s.with_ts = 1, s.ts_val = ++F.ts_clock; break;
    case 1: s.with_ts = 1, s.ts_val = F.ts_clock; break;
    case 2: s.with_ts = 1, s.ts_val = F.ts_clock - ((sb & 1) ? 0x7fffffffu : 1u + (k & 15)); break;
    default: break;
    }
    s.ts_ecr = (f & 0x40) ? (uint32_t)k * 0x01010101u : c->stack_ts;
    /* SACK blocks: over what was sent, below SND.UNA (D-SACK), beyond SND.MAX, backwards. */
    s.nsack = x & 3;
    uint32_t segs = span / (mss ? mss : 1) + 1;
    for (int i = 0; i < s.nsack; i++) {
        uint32_t *b = s.sack[i];
        switch ((x >> (2 + 2 * i)) & 3) {
        case 0:
            b[0] = sack_block_edge(c->stack_una, mss, ((uint32_t)sb * 31u + (uint32_t)i * 7u + k) % segs);
            b[1] = b[0] + mss * (1 + (uint32_t)(x + i) % 3);
            if (seq_gt(b[1], c->stack_max))
                b[1] = c->stack_max;
            if (!seq_gt(b[1], b[0]))
                b[0] = c->stack_una, b[1] = c->stack_max;
            break;
        case 1:
            b[0] = c->stack_una - mss * (1 + (uint32_t)i);
            b[1] = b[0] + mss;
            break;
        case 2:
            b[0] = c->stack_max + mss * (uint32_t)i;
            b[1] = b[0] + mss;
            break;
        default:
            b[1] = c->stack_una + mss * (uint32_t)i;
            b[0] = b[1] + ((x & 0x80) ? 0 : mss);
            break;
        }
    }
    s.extra = extra;
    s.nextra = nextra;
    /* A burst: more segments like it, each where the last ended; the FIN on the last. */
    int burst = 1 + (op >> 5);
    uint8_t fin = s.flags & WIRE_TCP_FIN;
    for (int j = 0; j < burst; j++) {
        if (j > 0) {
            s.seq += (uint32_t)s.len;
            if (s.with_ts && ((f >> 4) & 3) == 0)
                s.ts_val = ++F.ts_clock;
        }
        s.flags = (uint8_t)((s.flags & ~WIRE_TCP_FIN) | (j == burst - 1 ? fin : 0));
        F.input_more = (op & 1) && j + 1 < burst;
        send_seg(&s);
        F.input_more = 0;
        /* The peer's stream moves on when this segment continued it. */
        if (!(s.flags & (WIRE_TCP_RST | WIRE_TCP_SYN)) && !seq_gt(s.seq, c->peer_nxt)) {
            uint32_t end = s.seq + (uint32_t)s.len + ((s.flags & WIRE_TCP_FIN) ? 1 : 0);
            if (seq_gt(end, c->peer_nxt))
                c->peer_nxt = end;
        }
        if ((s.flags & WIRE_TCP_ACK) && !(s.flags & (WIRE_TCP_RST | WIRE_TCP_SYN)) &&
            seq_gt(s.ack, c->stack_una) && !seq_gt(s.ack, c->stack_max))
            c->stack_una = s.ack;
    }
}

static int sockopt(uint8_t which, uint8_t v)
{
    int s = F.sock;
    switch (which % 12) {
    case 0: return wtcp_setsockopt(F.st, s, WTCP_TCP_NODELAY, v & 1);
    case 1: return wtcp_setsockopt(F.st, s, WTCP_SO_RCVBUF, v * 512);
    case 2: {
        int r = wtcp_setsockopt(F.st, s, WTCP_SO_SNDBUF, v * 512);
        int got;
        if (r == 0 && wtcp_getsockopt(F.st, s, WTCP_SO_SNDBUF, &got) == 0 && (uint32_t)got > F.sndbuf_max)
            F.sndbuf_max = (uint32_t)got;
        return r;
    }
    case 3:
        wtcp_setsockopt(F.st, s, WTCP_TCP_KEEPIDLE, 1 + v % 10);
        wtcp_setsockopt(F.st, s, WTCP_TCP_KEEPCNT, 1 + (v >> 4));
        return wtcp_setsockopt(F.st, s, WTCP_SO_KEEPALIVE, 1);
    case 4: return wtcp_setsockopt(F.st, s, WTCP_TCP_USER_TIMEOUT, v * 100);
    case 5: return wtcp_setsockopt(F.st, s, WTCP_TCP_CONGESTION, 1 + (v & 1));
    case 6: return wtcp_setsockopt(F.st, s, WTCP_TCP_RTO_MIN, v + 1);
    case 7: return wtcp_setsockopt(F.st, s, WTCP_TCP_MAXSEG, v * 8);
    case 8: return wtcp_setsockopt(F.st, s, WTCP_SO_LINGER0, v & 1);
    case 9: return wtcp_setsockopt(F.st, s, WTCP_TCP_KEEPINTVL, 1 + v % 5);
    case 10: return wtcp_setsockopt(F.st, s, WTCP_SO_KEEPALIVE, 0);
    default: {
        int e;
        return wtcp_getsockopt(F.st, s, WTCP_SO_ERROR, &e);
    }
    }
}

static void app_write(uint8_t a, uint8_t b)
{
    static uint8_t wbuf[8192];
    size_t n = ((size_t)a << 8 | b) % sizeof wbuf;
    for (size_t i = 0; i < n; i++)
        wbuf[i] = app_byte(F.c.written + i);
    int r = wtcp_send(F.st, F.sock, wbuf, n);
    if (r > 0)
        F.c.written += (uint64_t)r;
}

static void app_read(uint8_t a, uint8_t b)
{
    static uint8_t rbuf[16385];
    if (b & 2)
        return;
    size_t want = (size_t)a * 64 + 1;
    int r;
    do {
        r = wtcp_recv(F.st, F.sock, rbuf, want);
        for (int i = 0; i < r; i++)
            if (rbuf[i] != peer_byte(F.rd_seq + (uint32_t)i))
                fail("the application read a byte that differs from what the peer sent there");
        if (r > 0)
            F.rd_seq += (uint32_t)r;
    } while (r > 0 && (b & 1));
}

static void control_op(uint8_t a, uint8_t b, uint8_t v)
{
    switch (a & 15) {
    case 0: wtcp_shutdown(F.st, F.sock, WTCP_SHUT_WR); break;
    case 1: wtcp_shutdown(F.st, F.sock, WTCP_SHUT_RD); break;
    case 2: wtcp_shutdown(F.st, F.sock, WTCP_SHUT_RDWR); break;
    case 3:
        wtcp_close(F.st, F.sock);
        F.sock = -1;
        break;
    case 4:
        wtcp_abort(F.st, F.sock);
        F.sock = -1;
        break;
    case 5: case 6: sockopt(b, v); break;
    case 7: { /* a new connection */
        uint16_t old = F.c.rport;
        uint32_t isn = F.c.peer_max + ((v & 1) ? 0u - 1000u : 100000u); /* acceptable, or not, to a TIME-WAIT */
        int how = ((v & 2) ? HS_UNFINISHED : 0) | ((v & 4) ? HS_COOKIE : 0);
        switch (b & 3) {
        case 0: handshake(how, F.next_port++, isn); break;
        case 1: handshake(how, old, isn); break;
        default: handshake(how | HS_ACTIVE, (uint16_t)(SERVER_PORT + (b & 1)), isn); break;
        }
        break;
    }
    case 8:
        F.mem_cap = b ? F.mem.live_bytes + (uint64_t)b * 256 : 0;
        break;
    case 9:
        icmp_op(b, v);
        break;
    default:
        break;
    }
}

/* Cheap checks after every step. */
static void check(void)
{
    if (F.mem.live_bytes > MEMORY_BOUND)
        fail("memory beyond its bound");
    wtcp_info in;
    if (F.sock < 0 || wtcp_info_get(F.st, F.sock, &in) != 0)
        return;
    conn *c = &F.c;
    uint32_t sndbuf = F.sndbuf_max > SNDBUF ? F.sndbuf_max : SNDBUF;
    if (in.state < 0 || in.state >= WTCP_NUM_STATES)
        fail("a state that does not exist");
    if (in.rcv_buf_used > RCVBUF_MAX)
        fail("receive buffer beyond rcvbuf_max");
    if (in.snd_buf_used > sndbuf || in.snd_buf_used > c->written)
        fail("send buffer beyond SO_SNDBUF or beyond what was written");
    if (in.unacked > c->written + 2)
        fail("more in flight than was written (+ SYN and FIN)");
    if (in.bytes_received > (uint32_t)(c->peer_max - c->peer_isn))
        fail("more bytes received than the peer sent");
    /* (FIN-WAIT-1 may be entered before the SYN is acknowledged, after a close() in
     * SYN-RECEIVED; the congestion window starts with that ACK.) */
    if (in.state >= WTCP_ESTABLISHED && in.state != WTCP_FIN_WAIT_1 && in.cwnd == 0)
        fail("a congestion window of 0");
}

static void on_state(void *user, int32_t sock, int old_state, int new_state)
{
    (void)user;
    if (F.trace)
        fprintf(stderr, "  [%d] %s -> %s\n", sock, wtcp_state_name(old_state), wtcp_state_name(new_state));
    conn *c = &F.c;
    if (old_state == WTCP_LISTEN && F.input_syn && !F.flooding) {
        /* The peer's SYN made a new connection on the tracked tuple (after the old one
         * ended, or into its TIME-WAIT): its SYN-ACK starts the tracking over, even when
         * its ISN is the old one's (same tuple, same clock). */
        c->synced = 0;
        F.renewed = 1;
    } else if (old_state == WTCP_LISTEN && !F.flooding) {
        /* An ACK that a SYN cookie let in: the connection starts where that ACK says
         * (ISS = ACK - 1, IRS = SEQ - 1, as Linux's cookie_v4_check takes them), which
         * is not where the cookie's SYN-ACK put it when the peer moved both by the same
         * amount (the cookie is linear in both, as Linux's is). */
        c->stack_isn = F.last_ack - 1;
        c->stack_max = c->stack_una = F.last_ack;
        c->peer_isn = F.last_seq - 1;
        c->peer_nxt = c->peer_max = F.last_end; /* a new stream */
        c->written = 0;
        c->ack_seen = 0;
        F.renewed = 1; /* the old handle, if any, goes (a replayed ACK of a cookie
                        * handshake makes a new connection after an RST ended the old) */
    }
    if (sock != F.sock)
        return;
    if (old_state == WTCP_SYN_SENT) {
        /* The peer's segment being processed was its SYN-ACK (to ESTABLISHED) or its SYN
         * (a simultaneous open, to SYN-RECEIVED, which may close before it is ever
         * ESTABLISHED): the stream starts after its SYN either way. */
        c->peer_isn = F.last_seq; /* a new stream: anywhere in sequence space */
        c->peer_nxt = c->peer_max = F.last_end;
        F.rd_seq = c->peer_isn + 1;
    } /* an accepted connection's stream is known from its SYN-ACK (try_accept) */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    F.trace = getenv("FUZZ_TRACE") ? atoi(getenv("FUZZ_TRACE")) : 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int trace = F.trace;
    memset(&F, 0, sizeof F);
    F.trace = trace;
    F.now = 1000;
    F.ts_clock = 5000;
    F.sock = -1;
    F.next_port = PEER_PORT;
    F.flood_port = FLOOD_PORT;
    reader r = {data, size};
    F.setup = take(&r);
    wtcp_config cfg;
    wtcp_config_init(&cfg);
    cfg.addr = LOCAL;
    cfg.output = out;
    cfg.alloc = fuzz_alloc;
    cfg.on_state = on_state;
    cfg.max_sockets = MAX_SOCKETS;
    cfg.sndbuf = SNDBUF;
    cfg.rcvbuf = RCVBUF;
    cfg.rcvbuf_max = RCVBUF_MAX;
    cfg.max_time_wait = 4;
    cfg.time_wait_ms = 5000;
    cfg.congestion = (F.setup & 0x20) ? WTCP_CC_NEWRENO : WTCP_CC_CUBIC;
    if (wtcp_stack_new(&cfg, &F.st) != 0)
        abort();
    F.listener = wtcp_socket(F.st, WTCP_SOCK_STREAM);
    wtcp_bind(F.st, F.listener, 0, SERVER_PORT);
    wtcp_listen(F.st, F.listener, 2);
    uint64_t blocks_before = F.mem.live_blocks;
    handshake((F.setup >> 4) & 1 ? HS_ACTIVE : 0, (F.setup >> 4) & 1 ? SERVER_PORT : F.next_port++,
              0x40000000u * (uint32_t)(F.setup >> 6) + 0x1000u);
    while (r.n > 0) {
        uint8_t op = take(&r);
        if ((op & 7) < 4) {
            segment_op(op, &r);
        } else {
            uint8_t a = take(&r), b = take(&r), v = take(&r);
            if (F.trace)
                fprintf(stderr, "op %u %u %u %u\n", op & 7, a, b, v);
            switch (op & 7) {
            case 4: app_write(a, b); break;
            case 5: app_read(a, b); break;
            case 6:
                switch (a & 3) {
                case 0: advance(F.now + b); break;
                case 1: advance(F.now + (uint64_t)b * 100); break;
                case 2: advance(F.now + (uint64_t)b * 10000); break;
                default:
                    for (int i = 0; i <= b; i++) {
                        uint64_t next = wtcp_poll(F.st, F.now);
                        if (next == WTCP_NEVER)
                            break;
                        advance(next);
                    }
                    break;
                }
                break;
            default: control_op(a, b, v); break;
            }
        }
        poll_stack();
        check();
    }
    /* The application lets go; every timer runs out: retransmissions, TIME-WAIT, the
     * orphaned FIN-WAIT-2, keepalive, buffer release. */
    F.mem_cap = 0;
    if (F.sock >= 0)
        wtcp_close(F.st, F.sock);
    F.sock = -1;
    int i;
    for (i = 0; i < 5000; i++) {
        int a;
        while ((a = wtcp_accept(F.st, F.listener, NULL, NULL)) > 0)
            wtcp_close(F.st, a); /* one the listener completed but nobody accepted */
        uint64_t next = wtcp_poll(F.st, F.now);
        wtcp_event ev;
        while (wtcp_next_event(F.st, &ev)) {
        }
        if (next == WTCP_NEVER)
            break;
        advance(next > F.now ? next : F.now + 1);
    }
    if (i == 5000)
        fail("timers still running long after every connection was closed");
    if (F.trace) {
        wtcp_stats t;
        wtcp_stats_get(F.st, &t);
        fprintf(stderr, "stats: retransmits %llu recoveries %llu timeouts %llu rack_losses %llu tlp %llu "
                "challenge_acks %llu rst_out %llu tw_recycled %llu cookies %llu/%llu/%llu peak_bytes %llu\n",
                (unsigned long long)t.tcp_retransmits, (unsigned long long)t.tcp_recoveries,
                (unsigned long long)t.tcp_timeouts, (unsigned long long)t.tcp_rack_losses,
                (unsigned long long)t.tcp_tlp_probes, (unsigned long long)t.tcp_challenge_acks,
                (unsigned long long)t.tcp_rst_out, (unsigned long long)t.tcp_tw_recycled,
                (unsigned long long)t.tcp_syncookies_sent, (unsigned long long)t.tcp_syncookies_recv,
                (unsigned long long)t.tcp_syncookies_failed,
                (unsigned long long)F.mem.peak_bytes);
        for (int d = 0; d < WTCP_DROP_COUNT; d++)
            if (t.drop[d])
                fprintf(stderr, "drop: %s\n", wtcp_drop_name(d));
    }
    if (F.mem.live_blocks != blocks_before)
        fail("memory not back where it was before the first connection, with every one closed");
    wtcp_close(F.st, F.listener);
    wtcp_stack_free(F.st);
    F.st = NULL;
    if (F.mem.live_blocks != 0)
        fail("the stack leaked memory");
    return 0;
}
