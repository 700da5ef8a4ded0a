/* test_time_wait.c: compact TIME-WAIT (tcp_tw.c): closed connections wait 2MSL outside the
 * socket table, in a bounded table that recycles its oldest entry, and free it all after. */
#include <stdio.h>

#include "harness.h"
#include "unit.h"
#include "wtcp.h"

#define A_ADDR 0x0a000001u
#define B_ADDR 0x0a000002u
enum { A = 0, B = 1 };

/* A (client) and B (server) on 1 ms links; B's config adjusted by the caller's values. */
static harness *net_new(uint32_t b_max_sockets, uint32_t b_max_time_wait, uint16_t a_ports)
{
    harness *n = harness_new(1000);
    wtcp_config c;
    wtcp_config_init(&c);
    c.addr = A_ADDR;
    c.isn_key[0] = 1;
    if (a_ports)
        c.ephemeral_hi = (uint16_t)(c.ephemeral_lo + a_ports - 1);
    if (harness_add_stack(n, &c) != A)
        return NULL;
    wtcp_config_init(&c);
    c.addr = B_ADDR;
    c.isn_key[0] = 2;
    if (b_max_sockets)
        c.max_sockets = b_max_sockets;
    if (b_max_time_wait)
        c.max_time_wait = b_max_time_wait;
    if (harness_add_stack(n, &c) != B)
        return NULL;
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

/* One request/response as an HTTP/1.0 server does it: A sends, B answers and closes
 * first (B ends in TIME-WAIT), A reads to EOF and closes. Returns 1 when it all worked. */
static int one_exchange(harness *n, int l)
{
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int ca = wtcp_socket(sa, WTCP_SOCK_STREAM);
    if (ca <= 0 || wtcp_connect(sa, ca, B_ADDR, 80) != WTCP_EINPROGRESS)
        return 0;
    harness_run(n, 5);
    int cb = wtcp_accept(sb, l, NULL, NULL);
    if (cb <= 0 || wtcp_send(sa, ca, "GET", 3) != 3)
        return 0;
    harness_run(n, 5);
    uint8_t buf[16];
    if (wtcp_recv(sb, cb, buf, sizeof buf) != 3 || wtcp_send(sb, cb, "200", 3) != 3 || wtcp_close(sb, cb) != 0)
        return 0;
    harness_run(n, 5);
    if (wtcp_recv(sa, ca, buf, sizeof buf) != 3 || wtcp_recv(sa, ca, buf, sizeof buf) != 0)
        return 0;
    wtcp_close(sa, ca);
    harness_run(n, 5);
    return 1;
}

/* One connection A opens to B's listener l and closes first, so its tuple waits in A's
 * TIME-WAIT table. Returns A's local port, 0 when something failed. */
static uint16_t client_closes_first(harness *n, int l)
{
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int ca = wtcp_socket(sa, WTCP_SOCK_STREAM);
    if (ca <= 0 || wtcp_connect(sa, ca, B_ADDR, 80) != WTCP_EINPROGRESS)
        return 0;
    harness_run(n, 5);
    int cb = wtcp_accept(sb, l, NULL, NULL);
    wtcp_info info;
    if (cb <= 0 || wtcp_info_get(sa, ca, &info) != 0 || wtcp_close(sa, ca) != 0)
        return 0;
    harness_run(n, 5);
    if (wtcp_close(sb, cb) != 0)
        return 0;
    harness_run(n, 5);
    return info.local_port;
}

TEST(server_closing_first_never_runs_out_of_sockets)
{
    /* 16 socket slots on B, 2,000 connections closed by B within 2MSL: each waits in the
     * compact table, none holds a slot (before, the 16th connection found no slot). */
    harness *n = net_new(16, 0, 0);
    CHECK(n != NULL);
    wtcp_stack *sb = n->node[B].st;
    int l = wtcp_socket(sb, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(sb, l, 0, 80), 0);
    CHECK_EQ_I(wtcp_listen(sb, l, 128), 0);
    harness_run(n, 10);
    uint64_t base = n->node[B].mem.live_bytes;
    enum { N = 2000 };
    int ok = 0;
    for (int i = 0; i < N; i++)
        ok += one_exchange(n, l);
    CHECK_EQ_I(ok, N);
    wtcp_stats s;
    wtcp_stats_get(sb, &s);
    CHECK_EQ_U(s.tcp_time_wait, N);
    CHECK_EQ_U(s.tcp_tw_recycled, 0);
    uint64_t per = (n->node[B].mem.live_bytes - base) / N;
    printf("    %d connections in TIME-WAIT on a 16-slot stack: %llu bytes each\n", N, (unsigned long long)per);
    CHECK(per <= 128);
    /* 2MSL later the table is empty and freed: B's memory is back where it started. */
    harness_run(n, 61000);
    wtcp_stats_get(sb, &s);
    CHECK_EQ_U(s.tcp_time_wait, 0);
    CHECK_EQ_U(n->node[B].mem.live_bytes, base);
    CHECK_EQ_I(wtcp_close(sb, l), 0);
    CHECK_NET_DONE(n);
}

TEST(full_time_wait_table_recycles_the_oldest)
{
    harness *n = net_new(0, 8, 0);
    CHECK(n != NULL);
    wtcp_stack *sb = n->node[B].st;
    int l = wtcp_socket(sb, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(sb, l, 0, 80), 0);
    CHECK_EQ_I(wtcp_listen(sb, l, 128), 0);
    int ok = 0;
    for (int i = 0; i < 20; i++)
        ok += one_exchange(n, l);
    CHECK_EQ_I(ok, 20);
    wtcp_stats s;
    wtcp_stats_get(sb, &s);
    CHECK_EQ_U(s.tcp_time_wait, 8);
    CHECK_EQ_U(s.tcp_tw_recycled, 12);
    CHECK_EQ_I(wtcp_close(sb, l), 0);
    CHECK_NET_DONE(n);
}

TEST(held_socket_in_time_wait_becomes_compact_when_closed)
{
    harness *n = net_new(0, 0, 0);
    CHECK(n != NULL);
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int ca, cb, l;
    CHECK_EQ_I(harness_connect_pair(n, A, B, 80, &ca, &cb, &l), 0);
    /* A closes its side first but keeps the handle: TIME-WAIT in the socket, as before. */
    CHECK_EQ_I(wtcp_shutdown(sa, ca, WTCP_SHUT_WR), 0);
    harness_run(n, 10);
    CHECK_EQ_I(wtcp_close(sb, cb), 0);
    harness_run(n, 10);
    wtcp_info info;
    CHECK_EQ_I(wtcp_info_get(sa, ca, &info), 0);
    CHECK_EQ_U(info.state, WTCP_TIME_WAIT);
    wtcp_stats s;
    wtcp_stats_get(sa, &s);
    CHECK_EQ_U(s.tcp_time_wait, 0);
    /* Closed: the handle is gone, the tuple waits out its 2MSL in the table. */
    CHECK_EQ_I(wtcp_close(sa, ca), 0);
    CHECK_EQ_I(wtcp_info_get(sa, ca, &info), WTCP_EBADF);
    wtcp_stats_get(sa, &s);
    CHECK_EQ_U(s.tcp_time_wait, 1);
    harness_run(n, 59000);
    wtcp_stats_get(sa, &s);
    CHECK_EQ_U(s.tcp_time_wait, 1);
    harness_run(n, 1100); /* 60 s after TIME-WAIT began, not after the close */
    wtcp_stats_get(sa, &s);
    CHECK_EQ_U(s.tcp_time_wait, 0);
    CHECK_EQ_I(wtcp_close(sb, l), 0);
    CHECK_NET_DONE(n);
}

TEST(connect_skips_local_ports_whose_tuple_is_in_time_wait)
{
    /* Four ephemeral ports on A; A closes first each time, so each tuple A used waits in
     * A's table: the fifth connect has no port left (Linux without tcp_tw_reuse). */
    harness *n = net_new(0, 0, 4);
    CHECK(n != NULL);
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int l = wtcp_socket(sb, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(sb, l, 0, 80), 0);
    CHECK_EQ_I(wtcp_listen(sb, l, 16), 0);
    for (int i = 0; i < 4; i++)
        CHECK(client_closes_first(n, l) != 0);
    wtcp_stats s;
    wtcp_stats_get(sa, &s);
    CHECK_EQ_U(s.tcp_time_wait, 4);
    int ca = wtcp_socket(sa, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(sa, ca, B_ADDR, 80), WTCP_EADDRNOTAVAIL);
    CHECK_EQ_I(wtcp_close(sa, ca), 0);
    /* After 2MSL the ports are free again. */
    harness_run(n, 61000);
    ca = wtcp_socket(sa, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(sa, ca, B_ADDR, 80), WTCP_EINPROGRESS);
    harness_run(n, 5);
    int cb = wtcp_accept(sb, l, NULL, NULL);
    CHECK(cb > 0);
    CHECK_EQ_I(wtcp_abort(sa, ca), 0);
    harness_run(n, 5);
    wtcp_close(sb, cb);
    CHECK_EQ_I(wtcp_close(sb, l), 0);
    harness_run(n, 5);
    CHECK_NET_DONE(n);
}

TEST(bind_refuses_a_port_in_time_wait_until_2msl)
{
    /* A closes 30 connections first, from 30 of its 40 ephemeral ports: each port waits in
     * A's table (its port index), so bind refuses exactly those (without SO_REUSEADDR),
     * takes the other 10, and takes all 40 after 2MSL. */
    enum { PORTS = 40, CONNS = 30 };
    harness *n = net_new(0, 0, PORTS);
    CHECK(n != NULL);
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int l = wtcp_socket(sb, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(sb, l, 0, 80), 0);
    CHECK_EQ_I(wtcp_listen(sb, l, 64), 0);
    uint8_t in_tw[PORTS] = {0};
    wtcp_config c;
    wtcp_config_init(&c);
    uint16_t lo = c.ephemeral_lo;
    for (int i = 0; i < CONNS; i++) {
        uint16_t port = client_closes_first(n, l);
        CHECK(port >= lo && port < lo + PORTS);
        in_tw[port - lo] = 1;
    }
    wtcp_stats st;
    wtcp_stats_get(sa, &st);
    CHECK_EQ_U(st.tcp_time_wait, CONNS);
    int refused = 0;
    for (int p = 0; p < PORTS; p++) {
        int x = wtcp_socket(sa, WTCP_SOCK_STREAM);
        int r = wtcp_bind(sa, x, 0, (uint16_t)(lo + p));
        CHECK_EQ_I(r, in_tw[p] ? WTCP_EADDRINUSE : 0);
        refused += r != 0;
        CHECK_EQ_I(wtcp_close(sa, x), 0);
    }
    CHECK_EQ_I(refused, CONNS);
    harness_run(n, 61000);
    for (int p = 0; p < PORTS; p++) {
        int x = wtcp_socket(sa, WTCP_SOCK_STREAM);
        CHECK_EQ_I(wtcp_bind(sa, x, 0, (uint16_t)(lo + p)), 0);
        CHECK_EQ_I(wtcp_close(sa, x), 0);
    }
    CHECK_EQ_I(wtcp_close(sb, l), 0);
    harness_run(n, 5);
    CHECK_NET_DONE(n);
}

TEST(table_is_freed_when_a_reopening_syn_takes_its_last_entry)
{
    /* Found by fuzz_segments: the table was freed only when its last entry expired, so
     * one emptied by a new incarnation's SYN (or an RST) stayed allocated. A has one
     * ephemeral port, so its next connect reuses the tuple B keeps in TIME-WAIT. */
    harness *n = net_new(0, 0, 1);
    CHECK(n != NULL);
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int l = wtcp_socket(sb, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(sb, l, 0, 80), 0);
    CHECK_EQ_I(wtcp_listen(sb, l, 16), 0);
    harness_run(n, 10);
    uint64_t base = n->node[B].mem.live_bytes;
    CHECK_EQ_I(one_exchange(n, l), 1);
    wtcp_stats s;
    wtcp_stats_get(sb, &s);
    CHECK_EQ_U(s.tcp_time_wait, 1);
    int ca = wtcp_socket(sa, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(sa, ca, B_ADDR, 80), WTCP_EINPROGRESS);
    harness_run(n, 5);
    int cb = wtcp_accept(sb, l, NULL, NULL);
    CHECK(cb > 0); /* the SYN reopened the tuple: its TIME-WAIT entry is gone */
    wtcp_stats_get(sb, &s);
    CHECK_EQ_U(s.tcp_time_wait, 0);
    CHECK_EQ_I(wtcp_abort(sa, ca), 0);
    harness_run(n, 5);
    CHECK_EQ_I(wtcp_close(sb, cb), 0);
    harness_run(n, 1100); /* past the 1 s after which idle buffers go; far from 2MSL */
    CHECK_EQ_U(n->node[B].mem.live_bytes, base);
    CHECK_EQ_I(wtcp_close(sb, l), 0);
    CHECK_NET_DONE(n);
}

UNIT_MAIN(RUN(server_closing_first_never_runs_out_of_sockets), RUN(full_time_wait_table_recycles_the_oldest),
          RUN(held_socket_in_time_wait_becomes_compact_when_closed),
          RUN(connect_skips_local_ports_whose_tuple_is_in_time_wait),
          RUN(table_is_freed_when_a_reopening_syn_takes_its_last_entry),
          RUN(bind_refuses_a_port_in_time_wait_until_2msl))
