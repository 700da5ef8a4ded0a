/* test_listen.c: listeners under bursts and floods: thousands of simultaneous connects
 * complete without a SYN retransmission, and a SYN flood neither locks out a legitimate
 * client nor stalls an established connection, in bounded memory (SYN cookies, RFC 4987). */
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

static harness *net_new(int strict)
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
    n->strict = strict;
    return n;
}

#define CHECK_NET_DONE(n)                                                      \
    do {                                                                       \
        if ((n)->failed)                                                       \
            printf("    harness: %s\n", (n)->why);                             \
        CHECK(!(n)->failed);                                                   \
        CHECK_EQ_U(harness_free(n), 0);                                        \
    } while (0)

/* N connects at once to a listener with backlog `backlog`: all complete, no SYN is resent. */
static void burst(unit_ctx *unit_, int count, int backlog)
{
    harness *n = net_new(1);
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int l = wtcp_socket(sb, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(sb, l, 0, 80), 0);
    CHECK_EQ_I(wtcp_listen(sb, l, backlog), 0);
    int *c = calloc((size_t)count, sizeof *c);
    for (int i = 0; i < count; i++) {
        c[i] = wtcp_socket(sa, WTCP_SOCK_STREAM);
        CHECK_EQ_I(wtcp_connect(sa, c[i], B_ADDR, 80), WTCP_EINPROGRESS);
    }
    uint64_t t0 = n->now;
    int accepted = 0, r;
    while (accepted < count && n->now - t0 < 10000) {
        harness_run(n, 1);
        while ((r = wtcp_accept(sb, l, NULL, NULL)) > 0)
            accepted++;
    }
    uint64_t ms = n->now - t0;
    int established = 0;
    for (int i = 0; i < count; i++) {
        wtcp_info in;
        if (wtcp_info_get(sa, c[i], &in) == 0 && in.state == WTCP_ESTABLISHED)
            established++;
    }
    wtcp_stats s;
    wtcp_stats_get(sa, &s);
    wtcp_stats sbs;
    wtcp_stats_get(sb, &sbs);
    printf("    %d connects at once, backlog %d: %d accepted in %llu ms (virtual), %llu SYNs resent, %llu cookies\n",
           count, backlog, accepted, (unsigned long long)ms, (unsigned long long)s.tcp_retransmits,
           (unsigned long long)sbs.tcp_syncookies_sent);
    CHECK_EQ_I(accepted, count);
    CHECK_EQ_I(established, count);
    CHECK_EQ_U(s.tcp_retransmits, 0);
    for (int i = 0; i < count; i++)
        wtcp_abort(sa, c[i]);
    free(c);
    harness_run(n, 10);
    CHECK_NET_DONE(n);
}

TEST(burst_of_400_connects_needs_no_syn_retransmission) { burst(unit_, 400, 511); }
TEST(burst_of_4000_connects_needs_no_syn_retransmission) { burst(unit_, 4000, 4096); }

/* A spoofed SYN from a random address and port into B's listener on port 80. */
static void spoofed_syn(harness *n, uint64_t *rnd)
{
    static uint8_t buf[80];
    *rnd = harness_mix64(*rnd + 0x9e3779b97f4a7c15ull);
    wire_tcp h;
    memset(&h, 0, sizeof h);
    h.sport = (uint16_t)(1024 + (*rnd >> 48) % 60000);
    h.dport = 80;
    h.seq = (uint32_t)*rnd;
    h.flags = WIRE_TCP_SYN;
    h.win = 65535;
    h.opt.has_mss = 1;
    h.opt.mss = 1460;
    h.opt.sack_ok = 1;
    h.opt.has_ts = 1;
    h.opt.ts_val = (uint32_t)(*rnd >> 16);
    h.opt.has_wscale = 1;
    h.opt.wscale = 7;
    uint32_t src = 0xc6120000u | (uint32_t)((*rnd >> 20) & 0xffff); /* 198.18.0.0/16 */
    uint8_t *l4 = buf + WIRE_IPV4_HDR;
    size_t hl = wire_tcp_emit(l4, &h);
    wire_l4_checksum(l4, hl, src, B_ADDR, WIRE_PROTO_TCP);
    wire_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.total_len = (uint16_t)(WIRE_IPV4_HDR + hl);
    ip.frag = WIRE_IP_DF;
    ip.ttl = 64;
    ip.proto = WIRE_PROTO_TCP;
    ip.src = src;
    ip.dst = B_ADDR;
    wire_ipv4_emit(buf, &ip);
    wtcp_input(n->node[B].st, n->now, buf, ip.total_len);
}

TEST(syn_flood_neither_locks_out_clients_nor_stalls_a_connection)
{
    /* 100,000 spoofed SYNs over 10 s against a listener with backlog 128; B's SYN-ACKs to
     * the spoofed addresses go nowhere (strict mode off for that reason). */
    harness *n = net_new(0);
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int ca, cb, l;
    CHECK_EQ_I(harness_connect_pair(n, A, B, 80, &ca, &cb, &l), 0);
    CHECK_EQ_I(wtcp_listen(sb, l, 128), 0); /* harness_connect_pair listened already */
    uint64_t base = n->node[B].mem.live_bytes, peak = 0;
    static uint8_t chunk[16384];
    uint64_t moved = 0, rnd = 1;
    int legit = -1, legit_cb = -1;
    uint64_t legit_at = 0, legit_ms = 0;
    for (int ms = 0; ms < 10000; ms++) {
        for (int k = 0; k < 10; k++)
            spoofed_syn(n, &rnd);
        wtcp_send(sa, ca, chunk, sizeof chunk);
        harness_run(n, 1);
        int r;
        uint8_t buf[16384];
        while ((r = wtcp_recv(sb, cb, buf, sizeof buf)) > 0)
            moved += (uint64_t)r;
        if (ms == 5000) {
            legit = wtcp_socket(sa, WTCP_SOCK_STREAM);
            CHECK_EQ_I(wtcp_connect(sa, legit, B_ADDR, 80), WTCP_EINPROGRESS);
            legit_at = n->now;
        }
        if (legit > 0 && legit_cb < 0 && (legit_cb = wtcp_accept(sb, l, NULL, NULL)) > 0)
            legit_ms = n->now - legit_at;
        if (n->node[B].mem.live_bytes > peak)
            peak = n->node[B].mem.live_bytes;
    }
    wtcp_stats s;
    wtcp_stats_get(sb, &s);
    printf("    100,000 spoofed SYNs in 10 s: %llu cookies sent; the connection moved %llu MB meanwhile; a new client\n"
           "    was accepted %llu ms after connect(); the victim's memory peaked %llu bytes above its start\n",
           (unsigned long long)s.tcp_syncookies_sent, (unsigned long long)(moved / 1000000),
           (unsigned long long)legit_ms, (unsigned long long)(peak - base));
    CHECK(legit_cb > 0);
    CHECK(legit_ms <= 1000);
    CHECK(moved >= 100u * 1000 * 1000); /* at least 10 MB/s through the flood */
    CHECK(s.tcp_syncookies_sent >= 90000);
    CHECK(peak - base <= 2u * 1024 * 1024); /* 128 half-open slots, the buffers in use */
    wtcp_abort(sa, ca);
    wtcp_abort(sa, legit);
    wtcp_abort(sb, cb);
    wtcp_abort(sb, legit_cb);
    wtcp_close(sb, l);
    harness_run(n, 100);
    CHECK_NET_DONE(n);
}

UNIT_MAIN(RUN(burst_of_400_connects_needs_no_syn_retransmission), RUN(burst_of_4000_connects_needs_no_syn_retransmission),
          RUN(syn_flood_neither_locks_out_clients_nor_stalls_a_connection))
