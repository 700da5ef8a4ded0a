/* test_floods.c: what a hostile or broken peer can make a stack hold: out-of-order and
 * tiny-segment floods into one connection, ACK floods, a peer that never reads, and
 * 10,000 connections opened and closed in a loop. Each bound here is in docs/SECURITY.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit.h"
#include "wire/wire.h"
#include "wtcp.h"

#define A_ADDR 0x0a000001u
#define B_ADDR 0x0a000002u
enum { A = 0, B = 1 };

static harness *net_new(void)
{
    harness *n = harness_new(1000);
    wtcp_config c;
    wtcp_config_init(&c);
    c.addr = A_ADDR;
    c.isn_key[0] = 1;
    if (!n || harness_add_stack(n, &c) != A)
        abort();
    c.addr = B_ADDR;
    c.isn_key[0] = 2;
    if (harness_add_stack(n, &c) != B)
        abort();
    harness_faults f = {.delay_ms = 1};
    harness_set_faults_all(n, &f);
    n->strict = 1;
    return n;
}

#define CHECK_NET_DONE(n)                                                      \
    do {                                                                       \
        if ((n)->failed)                                                       \
            printf("    harness: %s\n", (n)->why);                             \
        CHECK(!(n)->failed);                                                   \
        CHECK_EQ_U(harness_free(n), 0);                                        \
    } while (0)

/* What A's last data segment to B looked like: the forger's template. */
typedef struct tpl {
    uint16_t sport, dport;
    uint32_t seq_next; /* A's next sequence number (B's RCV.NXT once delivered) */
    uint32_t ack;      /* B's sequence number A acknowledges */
    uint32_t ts_val, ts_ecr;
} tpl;

/* A sends one byte to B; returns the template taken from that packet in flight. */
static tpl learn(harness *n, int ca)
{
    tpl t;
    memset(&t, 0, sizeof t);
    if (wtcp_send(n->node[A].st, ca, "x", 1) != 1)
        abort();
    harness_poll(n);
    size_t len;
    const uint8_t *p = harness_peek(n, harness_in_flight(n) - 1, &len);
    wire_ipv4 ip;
    wire_tcp seg;
    if (!p || wire_ipv4_parse(p, len, &ip) != WIRE_OK ||
        wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, 1, &seg) != WIRE_OK || seg.payload_len != 1)
        abort();
    t.sport = seg.sport;
    t.dport = seg.dport;
    t.seq_next = seg.seq + 1;
    t.ack = seg.ack;
    t.ts_val = seg.opt.ts_val;
    t.ts_ecr = seg.opt.ts_ecr;
    return t;
}

/* A forged segment "from A" into B, at B's clock; returns wtcp_input's result. */
static int forge(harness *n, const tpl *t, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
                 size_t payload_len)
{
    static uint8_t buf[1600];
    wire_tcp h;
    memset(&h, 0, sizeof h);
    h.sport = t->sport;
    h.dport = t->dport;
    h.seq = seq;
    h.ack = ack;
    h.flags = flags;
    h.win = win;
    h.opt.has_ts = 1;
    h.opt.ts_val = t->ts_val;
    h.opt.ts_ecr = t->ts_ecr;
    uint8_t *l4 = buf + WIRE_IPV4_HDR;
    size_t hl = wire_tcp_emit(l4, &h);
    memset(l4 + hl, 'F', payload_len);
    wire_l4_checksum(l4, hl + payload_len, A_ADDR, B_ADDR, WIRE_PROTO_TCP);
    wire_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.total_len = (uint16_t)(WIRE_IPV4_HDR + hl + payload_len);
    ip.frag = WIRE_IP_DF;
    ip.ttl = 64;
    ip.proto = WIRE_PROTO_TCP;
    ip.src = A_ADDR;
    ip.dst = B_ADDR;
    wire_ipv4_emit(buf, &ip);
    return wtcp_input(n->node[B].st, n->now, buf, ip.total_len);
}

static uint64_t b_out(harness *n)
{
    wtcp_stats s;
    wtcp_stats_get(n->node[B].st, &s);
    return s.ip_out;
}

TEST(out_of_order_flood_is_bounded_by_the_receive_buffer)
{
    harness *n = net_new();
    int ca, cb, l;
    CHECK_EQ_I(harness_connect_pair(n, A, B, 80, &ca, &cb, &l), 0);
    tpl t = learn(n, ca);
    harness_drop_in_flight(n); /* the byte never arrives: RCV.NXT stays, a hole forms */
    uint64_t base = n->node[B].mem.live_bytes;
    uint64_t rnd = 7;
    for (int i = 0; i < 100000; i++) {
        rnd = harness_mix64(rnd + (uint64_t)i);
        uint32_t off = 1 + (uint32_t)(rnd % 300000); /* inside and beyond the 256 KiB window */
        size_t len = 1 + (size_t)((rnd >> 32) % 1448);
        forge(n, &t, t.seq_next - 1 + off, t.ack, WIRE_TCP_ACK, 2048, len);
    }
    uint64_t held = n->node[B].mem.live_bytes - base;
    printf("    100,000 out-of-order segments: the receiver holds %llu bytes more (%llu blocks in all)\n",
           (unsigned long long)held, (unsigned long long)n->node[B].mem.live_blocks);
    CHECK(held <= 256 * 1024 + 4096); /* the receive buffer, and nothing per segment */
    wtcp_info info;
    CHECK_EQ_I(wtcp_info_get(n->node[B].st, cb, &info), 0);
    CHECK_EQ_U(info.state, WTCP_ESTABLISHED);
    wtcp_abort(n->node[A].st, ca);
    wtcp_abort(n->node[B].st, cb);
    wtcp_close(n->node[B].st, l);
    harness_run(n, 10);
    CHECK_NET_DONE(n);
}

TEST(tiny_segment_flood_costs_nothing_per_segment)
{
    harness *n = net_new();
    int ca, cb, l;
    CHECK_EQ_I(harness_connect_pair(n, A, B, 80, &ca, &cb, &l), 0);
    tpl t = learn(n, ca);
    harness_run(n, 5);
    uint8_t b[8];
    CHECK_EQ_I(wtcp_recv(n->node[B].st, cb, b, sizeof b), 1);
    uint64_t base = n->node[B].mem.live_bytes, blocks = n->node[B].mem.live_blocks;
    /* 300,000 one-byte segments in order while B's application reads nothing: the first
     * 256 KiB fill the buffer, the rest fall outside the window and are dropped. */
    for (uint32_t i = 0; i < 300000; i++)
        forge(n, &t, t.seq_next + i, t.ack, WIRE_TCP_ACK | WIRE_TCP_PSH, 2048, 1);
    wtcp_info info;
    CHECK_EQ_I(wtcp_info_get(n->node[B].st, cb, &info), 0);
    uint64_t held = n->node[B].mem.live_bytes - base;
    printf("    300,000 one-byte segments: %u bytes queued, %llu bytes and %llu blocks more held\n",
           info.rcv_buf_used, (unsigned long long)held,
           (unsigned long long)(n->node[B].mem.live_blocks - blocks));
    CHECK(info.rcv_buf_used <= 256 * 1024);
    CHECK(held <= 256 * 1024 + 4096);
    CHECK(n->node[B].mem.live_blocks - blocks <= 2);
    wtcp_abort(n->node[A].st, ca);
    wtcp_abort(n->node[B].st, cb);
    wtcp_close(n->node[B].st, l);
    harness_run(n, 10);
    CHECK_NET_DONE(n);
}

TEST(ack_floods_draw_a_bounded_number_of_replies)
{
    harness *n = net_new();
    int ca, cb, l;
    CHECK_EQ_I(harness_connect_pair(n, A, B, 80, &ca, &cb, &l), 0);
    tpl t = learn(n, ca);
    harness_run(n, 5);
    uint64_t base = n->node[B].mem.live_bytes, out0 = b_out(n);
    /* Within one second: 100,000 duplicate ACKs, 100,000 ACKs of data B never sent, and
     * 100,000 ACKs from far below SND.UNA (RFC 5961 5.2). */
    for (int i = 0; i < 100000; i++)
        forge(n, &t, t.seq_next, t.ack, WIRE_TCP_ACK, 2048, 0);
    uint64_t dup_replies = b_out(n) - out0;
    for (int i = 0; i < 100000; i++)
        forge(n, &t, t.seq_next, t.ack + 100000 + (uint32_t)i, WIRE_TCP_ACK, 2048, 0);
    for (int i = 0; i < 100000; i++)
        forge(n, &t, t.seq_next, t.ack - 0x40000000u, WIRE_TCP_ACK, 2048, 0);
    uint64_t replies = b_out(n) - out0;
    printf("    300,000 forged ACKs in a second: %llu replies (%llu to the duplicates)\n",
           (unsigned long long)replies, (unsigned long long)dup_replies);
    CHECK_EQ_U(dup_replies, 0);
    CHECK(replies <= 1000); /* RFC 5961 7: ACKs to unacceptable ACKs are rate-limited */
    CHECK_EQ_U(n->node[B].mem.live_bytes, base);
    /* The connection still works. */
    CHECK_EQ_I(wtcp_send(n->node[B].st, cb, "ok", 2), 2);
    harness_run(n, 50);
    uint8_t b[8];
    CHECK_EQ_I(wtcp_recv(n->node[A].st, ca, b, sizeof b), 2);
    wtcp_close(n->node[A].st, ca);
    wtcp_close(n->node[B].st, cb);
    wtcp_close(n->node[B].st, l);
    harness_run(n, 61000);
    CHECK_NET_DONE(n);
}

TEST(peer_that_never_reads_bounds_the_sender)
{
    harness *n = net_new();
    int ca, cb, l;
    CHECK_EQ_I(harness_connect_pair(n, A, B, 80, &ca, &cb, &l), 0);
    wtcp_stack *sb = n->node[B].st;
    static uint8_t chunk[65536];
    uint64_t queued = 0;
    int r;
    for (int round = 0; round < 100; round++) {
        while ((r = wtcp_send(sb, cb, chunk, sizeof chunk)) > 0)
            queued += (uint64_t)r;
        CHECK_EQ_I(r, WTCP_EAGAIN);
        harness_run(n, 10);
    }
    uint64_t out0 = b_out(n), mem = n->node[B].mem.live_bytes;
    harness_run(n, 600000); /* ten minutes of a zero window */
    uint64_t probes = b_out(n) - out0;
    wtcp_info info;
    CHECK_EQ_I(wtcp_info_get(sb, cb, &info), 0);
    printf("    a peer that never reads: %llu bytes taken, %llu held by the sender, %llu packets in 10 min\n",
           (unsigned long long)queued, (unsigned long long)mem, (unsigned long long)probes);
    CHECK(queued <= 1024 * 1024);        /* its send buffer, plus the peer's receive buffer */
    CHECK(mem <= 1024 * 1024);
    CHECK(probes <= 40);                 /* zero-window probes, backed off to 2 min */
    CHECK_EQ_U(info.state, WTCP_ESTABLISHED);
    wtcp_abort(n->node[A].st, ca);
    wtcp_abort(sb, cb);
    wtcp_close(sb, l);
    harness_run(n, 10);
    CHECK_NET_DONE(n);
}

TEST(ten_thousand_connections_opened_and_closed_return_memory)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int l = wtcp_socket(sb, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(sb, l, 0, 80), 0);
    CHECK_EQ_I(wtcp_listen(sb, l, 128), 0);
    harness_run(n, 10);
    uint64_t base_a = n->node[A].mem.live_bytes, base_b = n->node[B].mem.live_bytes, peak = 0;
    int done = 0;
    for (int i = 0; i < 10000; i++) {
        int ca = wtcp_socket(sa, WTCP_SOCK_STREAM);
        if (wtcp_connect(sa, ca, B_ADDR, 80) != WTCP_EINPROGRESS)
            break;
        harness_run(n, 3);
        int cb = wtcp_accept(sb, l, NULL, NULL);
        uint8_t b[16];
        if (cb <= 0 || wtcp_send(sa, ca, "0123456789", 10) != 10)
            break;
        harness_run(n, 3);
        if (wtcp_recv(sb, cb, b, sizeof b) != 10)
            break;
        wtcp_close(sb, cb); /* the server closes first: B keeps the TIME-WAIT */
        harness_run(n, 3);
        wtcp_close(sa, ca);
        harness_run(n, 3);
        uint64_t live = n->node[A].mem.live_bytes + n->node[B].mem.live_bytes;
        if (live > peak)
            peak = live;
        done++;
    }
    CHECK_EQ_I(done, 10000);
    harness_run(n, 61000);
    printf("    10,000 connections opened and closed: peak %llu bytes (both stacks), then back to %llu + %llu\n",
           (unsigned long long)peak, (unsigned long long)n->node[A].mem.live_bytes,
           (unsigned long long)n->node[B].mem.live_bytes);
    CHECK_EQ_U(n->node[A].mem.live_bytes, base_a);
    CHECK_EQ_U(n->node[B].mem.live_bytes, base_b);
    CHECK_EQ_I(wtcp_close(sb, l), 0);
    CHECK_NET_DONE(n);
}

UNIT_MAIN(RUN(out_of_order_flood_is_bounded_by_the_receive_buffer), RUN(tiny_segment_flood_costs_nothing_per_segment),
          RUN(ack_floods_draw_a_bounded_number_of_replies), RUN(peer_that_never_reads_bounds_the_sender),
          RUN(ten_thousand_connections_opened_and_closed_return_memory))
