/* test_api.c: the public API: arguments and handles, events, errors surfaced from the
 * network (refused, reset, timed out), UDP, ICMP, malformed input, and the allocator hook. */
#include <stdlib.h>

#include "harness.h"
#include "unit.h"
#include "wire/wire.h"
#include "wtcp.h"

#define A_ADDR 0x0a000001u
#define B_ADDR 0x0a000002u

/* ---- two stacks on the shared harness: 1 ms per hop, every packet in flight is
 * delivered before harness_run returns ---- */

enum { A = 0, B = 1 };

static void no_output(void *u, const uint8_t *p, size_t len)
{
    (void)u;
    (void)p;
    (void)len;
}

static harness *net_new(void)
{
    harness *n = harness_new(1000);
    if (!n)
        abort();
    wtcp_config c;
    wtcp_config_init(&c);
    c.addr = A_ADDR;
    c.isn_key[0] = 1;
    if (harness_add_stack(n, &c) != A)
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

/* The end of a test: the harness saw no bad packet and the stacks leaked nothing. */
#define CHECK_NET_DONE(n)                                                      \
    do {                                                                       \
        if ((n)->failed)                                                       \
            printf("    harness: %s\n", (n)->why);                             \
        CHECK(!(n)->failed);                                                   \
        CHECK_EQ_U(harness_free(n), 0);                                        \
    } while (0)

/* B listens on 80, A connects; returns A's and B's connection handles. */
static int connect_pair(harness *n, int *ca, int *cb, int *lb)
{
    return harness_connect_pair(n, A, B, 80, ca, cb, lb);
}

/* The k-th packet in flight, copied (the link may change under a pointer). */
typedef struct packet {
    uint8_t data[1600];
    size_t len;
} packet;

static packet in_flight(harness *n, size_t k)
{
    packet p = { { 0 }, 0 };
    const uint8_t *d = harness_peek(n, k, &p.len);
    if (!d || p.len > sizeof p.data)
        abort();
    memcpy(p.data, d, p.len);
    return p;
}

/* ---- tests ---- */

TEST(config_rejects_bad_values)
{
    wtcp_config c;
    wtcp_stack *st = NULL;
    wtcp_config_init(&c);
    CHECK_EQ_I(wtcp_stack_new(&c, &st), WTCP_EINVAL); /* no output callback */
    c.output = no_output;
    c.mtu = 100;
    CHECK_EQ_I(wtcp_stack_new(&c, &st), WTCP_EINVAL);
    c.mtu = 1500;
    c.max_sockets = 0;
    CHECK_EQ_I(wtcp_stack_new(&c, &st), WTCP_EINVAL);
    c.max_sockets = 70000;
    CHECK_EQ_I(wtcp_stack_new(&c, &st), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_stack_new(NULL, &st), WTCP_EINVAL);
    CHECK(st == NULL);
    wtcp_stack_free(NULL);
}

TEST(error_names_and_messages)
{
    for (int e = -1; e >= WTCP_ERRNO_MIN; e--) {
        CHECK(strcmp(wtcp_strerror(e), "unknown error") != 0);
        CHECK(wtcp_errname(e)[0] == 'E');
    }
    CHECK(strcmp(wtcp_errname(WTCP_ECONNREFUSED), "ECONNREFUSED") == 0);
    CHECK(strcmp(wtcp_strerror(-999), "unknown error") == 0);
    CHECK(strcmp(wtcp_state_name(WTCP_FIN_WAIT_1), "FIN-WAIT-1") == 0);
    CHECK(strcmp(wtcp_state_name(99), "UNKNOWN") == 0);
    CHECK(strcmp(wtcp_drop_name(WTCP_DROP_IP_CHECKSUM), "ip: bad header checksum") == 0);
}

TEST(address_text)
{
    uint32_t a;
    char s[16];
    CHECK_EQ_U(wtcp_addr_parse("10.77.0.255", &a), 0);
    CHECK_EQ_U(a, 0x0a4d00ffu);
    wtcp_addr_format(a, s);
    CHECK(strcmp(s, "10.77.0.255") == 0);
    CHECK_EQ_I(wtcp_addr_parse("256.1.1.1", &a), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_addr_parse("1.2.3", &a), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_addr_parse("1.2.3.4x", &a), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_addr_parse("", &a), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_addr_parse(NULL, &a), WTCP_EINVAL);
}

TEST(bad_arguments_return_codes)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st;
    uint8_t buf[4];
    CHECK_EQ_I(wtcp_socket(sa, 99), WTCP_EINVAL);
    int s = wtcp_socket(sa, WTCP_SOCK_STREAM);
    CHECK(s > 0);
    CHECK_EQ_I(wtcp_bind(sa, s, B_ADDR, 80), WTCP_EADDRNOTAVAIL);
    CHECK_EQ_I(wtcp_connect(sa, s, B_ADDR, 0), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_connect(sa, s, 0xffffffffu, 80), WTCP_ENETUNREACH);
    CHECK_EQ_I(wtcp_send(sa, s, buf, 4), WTCP_ENOTCONN);
    CHECK_EQ_I(wtcp_recv(sa, s, NULL, 4), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_shutdown(sa, s, 7), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_setsockopt(sa, s, 12345, 1), WTCP_ENOPROTOOPT);
    CHECK_EQ_I(wtcp_getsockopt(sa, s, WTCP_TCP_NODELAY, NULL), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_sendto(sa, s, buf, 4, B_ADDR, 9), WTCP_EOPNOTSUPP);
    CHECK_EQ_U(wtcp_bind(sa, s, 0, 7000), 0);
    int s2 = wtcp_socket(sa, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(sa, s2, 0, 7000), WTCP_EADDRINUSE);
    CHECK_EQ_U(wtcp_listen(sa, s, 1), 0);
    CHECK_EQ_I(wtcp_accept(sa, s, NULL, NULL), WTCP_EAGAIN);
    CHECK_EQ_I(wtcp_connect(sa, s, B_ADDR, 80), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_recv(sa, s, buf, 4), WTCP_ENOTCONN);
    CHECK_EQ_I(wtcp_input(sa, n->now, NULL, 10), WTCP_EINVAL);
    CHECK_NET_DONE(n);
}

TEST(off_link_without_gateway_is_ENETUNREACH)
{
    wtcp_config c;
    wtcp_stack *st;
    wtcp_config_init(&c);
    c.output = no_output;
    c.addr = 0x0a4d0002u; /* 10.77.0.2/16 */
    c.prefix_len = 16;
    CHECK_EQ_I(wtcp_stack_new(&c, &st), 0);
    int s = wtcp_socket(st, WTCP_SOCK_STREAM), u = wtcp_socket(st, WTCP_SOCK_DGRAM);
    CHECK_EQ_I(wtcp_connect(st, s, 0x0a4e0001u, 80), WTCP_ENETUNREACH); /* 10.78.0.1 */
    CHECK_EQ_I(wtcp_sendto(st, u, "x", 1, 0x08080808u, 53), WTCP_ENETUNREACH);
    CHECK_EQ_I(wtcp_readable(st, u), WTCP_EAGAIN);
    CHECK_EQ_I(wtcp_connect(st, s, 0x0a4dff01u, 80), WTCP_EINPROGRESS); /* on-link */
    wtcp_stack_free(st);
    c.gateway = 0x0a4d0001u; /* with a router, anything goes */
    CHECK_EQ_I(wtcp_stack_new(&c, &st), 0);
    s = wtcp_socket(st, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(st, s, 0x08080808u, 443), WTCP_EINPROGRESS);
    wtcp_stack_free(st);
}

TEST(stale_handles_are_EBADF)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st;
    uint8_t buf[4];
    int s = wtcp_socket(sa, WTCP_SOCK_STREAM);
    CHECK_EQ_U(wtcp_close(sa, s), 0);
    CHECK_EQ_I(wtcp_close(sa, s), WTCP_EBADF);
    CHECK_EQ_I(wtcp_send(sa, s, buf, 1), WTCP_EBADF);
    int s2 = wtcp_socket(sa, WTCP_SOCK_STREAM); /* reuses the slot, new generation */
    CHECK(s2 != s);
    CHECK_EQ_I(wtcp_recv(sa, s, buf, 1), WTCP_EBADF);
    CHECK_EQ_I(wtcp_listen(sa, 0, 1), WTCP_EBADF);
    CHECK_EQ_I(wtcp_listen(sa, -5, 1), WTCP_EBADF);
    CHECK_EQ_I(wtcp_listen(sa, 0x7fffffff, 1), WTCP_EBADF);
    CHECK_NET_DONE(n);
}

TEST(socket_table_full_is_EMFILE)
{
    wtcp_config c;
    wtcp_stack *st;
    wtcp_config_init(&c);
    c.output = no_output;
    c.max_sockets = 3;
    CHECK_EQ_U(wtcp_stack_new(&c, &st), 0);
    for (int i = 0; i < 3; i++)
        CHECK(wtcp_socket(st, WTCP_SOCK_STREAM) > 0);
    CHECK_EQ_I(wtcp_socket(st, WTCP_SOCK_STREAM), WTCP_EMFILE);
    wtcp_stack_free(st);
}

/* The port index (sock.c): thousands of bound sockets share its buckets; a port is taken
 * while a socket of the type holds it, free once that socket is closed, whatever its
 * neighbours on the chain; TCP and UDP ports are apart; bind(0) finds the one free port. */
TEST(port_index_tracks_binds_and_closes)
{
    enum { N = 3000, BASE = 20000 };
    wtcp_config c;
    wtcp_stack *st;
    wtcp_config_init(&c);
    c.output = no_output;
    c.max_sockets = 2 * N + 8;
    c.ephemeral_lo = BASE;
    c.ephemeral_hi = BASE + N - 1;
    CHECK_EQ_U(wtcp_stack_new(&c, &st), 0);
    static int tcp[N], udp[N];
    for (int i = 0; i < N; i++) {
        tcp[i] = wtcp_socket(st, WTCP_SOCK_STREAM);
        udp[i] = wtcp_socket(st, WTCP_SOCK_DGRAM);
        CHECK(tcp[i] > 0 && udp[i] > 0);
        /* UDP first: each TCP socket then sits ahead of it on the port's chain */
        CHECK_EQ_I(wtcp_bind(st, udp[i], 0, (uint16_t)(BASE + i)), 0);
        CHECK_EQ_I(wtcp_bind(st, tcp[i], 0, (uint16_t)(BASE + i)), 0);
    }
    int x = wtcp_socket(st, WTCP_SOCK_STREAM);
    CHECK(x > 0);
    for (int i = 0; i < N; i += 97)
        CHECK_EQ_I(wtcp_bind(st, x, 0, (uint16_t)(BASE + i)), WTCP_EADDRINUSE);
    CHECK_EQ_I(wtcp_bind(st, x, 0, 0), WTCP_EADDRINUSE); /* every ephemeral port is taken */
    for (int i = 1; i < N; i += 2)
        CHECK_EQ_I(wtcp_close(st, tcp[i]), 0);
    for (int i = 0; i < N; i++) {
        int y = wtcp_socket(st, WTCP_SOCK_STREAM);
        CHECK(y > 0);
        CHECK_EQ_I(wtcp_bind(st, y, 0, (uint16_t)(BASE + i)), i % 2 ? 0 : WTCP_EADDRINUSE);
        if (i % 2)
            tcp[i] = y;
        else
            CHECK_EQ_I(wtcp_close(st, y), 0);
    }
    /* Every port is taken again, for both types (a chain cut by a reused slot would
     * show here as a port that binds). */
    int pt = wtcp_socket(st, WTCP_SOCK_STREAM), pu = wtcp_socket(st, WTCP_SOCK_DGRAM);
    CHECK(pt > 0 && pu > 0);
    int bound = 0;
    for (int i = 0; i < N; i++)
        bound += (wtcp_bind(st, pt, 0, (uint16_t)(BASE + i)) == 0) + (wtcp_bind(st, pu, 0, (uint16_t)(BASE + i)) == 0);
    CHECK_EQ_I(bound, 0);
    CHECK_EQ_I(wtcp_close(st, tcp[1234]), 0);
    CHECK_EQ_I(wtcp_bind(st, x, 0, 0), 0); /* the one free port */
    wtcp_info info;
    CHECK_EQ_I(wtcp_info_get(st, x, &info), 0);
    CHECK_EQ_I(info.local_port, BASE + 1234);
    wtcp_stack_free(st);
}

TEST(listener_readable_counts_connections_waiting)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int l = wtcp_socket(sb, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(sb, l, 0, 81), 0);
    CHECK_EQ_I(wtcp_listen(sb, l, 8), 0);
    CHECK_EQ_I(wtcp_readable(sb, l), 0);
    int c1 = wtcp_socket(sa, WTCP_SOCK_STREAM), c2 = wtcp_socket(sa, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(sa, c1, B_ADDR, 81), WTCP_EINPROGRESS);
    CHECK_EQ_I(wtcp_connect(sa, c2, B_ADDR, 81), WTCP_EINPROGRESS);
    harness_run(n, 100);
    CHECK_EQ_I(wtcp_readable(sb, l), 2); /* what poll() on a listener asks */
    CHECK(wtcp_accept(sb, l, NULL, NULL) >= 0);
    CHECK_EQ_I(wtcp_readable(sb, l), 1);
    CHECK(wtcp_accept(sb, l, NULL, NULL) >= 0);
    CHECK_EQ_I(wtcp_readable(sb, l), 0);
    CHECK_EQ_I(wtcp_accept(sb, l, NULL, NULL), WTCP_EAGAIN);
    CHECK_NET_DONE(n);
}

TEST(connect_accept_echo_close_with_events)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int ca, cb, lb;
    uint8_t buf[64];
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    CHECK(harness_events(n, A, ca) & WTCP_EV_CONNECTED);
    CHECK_EQ_U(wtcp_send(sa, ca, "hello", 5), 5);
    harness_run(n, 100);
    CHECK(harness_events(n, B, cb) & WTCP_EV_READABLE);
    CHECK_EQ_U(wtcp_readable(sb, cb), 5);
    CHECK_EQ_U(wtcp_recv(sb, cb, buf, sizeof buf), 5);
    CHECK_MEM(buf, "hello", 5);
    CHECK_EQ_I(wtcp_recv(sb, cb, buf, sizeof buf), WTCP_EAGAIN);
    uint32_t addr;
    uint16_t port;
    CHECK_EQ_U(wtcp_getpeername(sb, cb, &addr, &port), 0);
    CHECK_EQ_U(addr, A_ADDR);
    CHECK_EQ_U(wtcp_getsockname(sb, cb, &addr, &port), 0);
    CHECK_EQ_U(port, 80);
    wtcp_info info;
    CHECK_EQ_U(wtcp_info_get(sa, ca, &info), 0);
    CHECK_EQ_U(info.state, WTCP_ESTABLISHED);
    CHECK_EQ_U(info.bytes_acked, 5);
    CHECK(info.ts_ok && info.sack_ok);
    CHECK_EQ_U(info.snd_mss, 1448);
    /* Half-close from A; B still sends. */
    CHECK_EQ_U(wtcp_shutdown(sa, ca, WTCP_SHUT_WR), 0);
    harness_run(n, 100);
    CHECK_EQ_U(wtcp_recv(sb, cb, buf, sizeof buf), 0);
    CHECK_EQ_U(wtcp_info_get(sb, cb, &info), 0);
    CHECK_EQ_U(info.state, WTCP_CLOSE_WAIT);
    CHECK_EQ_I(wtcp_send(sa, ca, "x", 1), WTCP_EPIPE);
    CHECK_EQ_U(wtcp_send(sb, cb, "bye", 3), 3);
    harness_run(n, 100);
    CHECK_EQ_U(wtcp_recv(sa, ca, buf, sizeof buf), 3);
    CHECK_EQ_U(wtcp_close(sb, cb), 0);
    harness_run(n, 100);
    CHECK_EQ_U(wtcp_recv(sa, ca, buf, sizeof buf), 0);
    CHECK_EQ_U(wtcp_info_get(sa, ca, &info), 0);
    CHECK_EQ_U(info.state, WTCP_TIME_WAIT);
    harness_run(n, 61000);
    CHECK_EQ_U(wtcp_info_get(sa, ca, &info), 0);
    CHECK_EQ_U(info.state, WTCP_CLOSED);
    CHECK(harness_events(n, A, ca) & WTCP_EV_CLOSED);
    CHECK_EQ_U(wtcp_close(sa, ca), 0);
    CHECK_NET_DONE(n);
}

TEST(connect_to_closed_port_is_ECONNREFUSED)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int s = wtcp_socket(sa, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(sa, s, B_ADDR, 81), WTCP_EINPROGRESS);
    harness_run(n, 100);
    CHECK(harness_events(n, A, s) & WTCP_EV_ERROR);
    int err = 0;
    CHECK_EQ_U(wtcp_getsockopt(sa, s, WTCP_SO_ERROR, &err), 0);
    CHECK_EQ_I(err, WTCP_ECONNREFUSED);
    CHECK_EQ_U(wtcp_getsockopt(sa, s, WTCP_SO_ERROR, &err), 0);
    CHECK_EQ_U(err, 0); /* reading SO_ERROR clears it */
    wtcp_stats st;
    wtcp_stats_get(sb, &st);
    CHECK_EQ_U(st.drop[WTCP_DROP_TCP_NO_SOCKET], 1);
    CHECK_EQ_U(st.tcp_rst_out, 1);
    CHECK_NET_DONE(n);
}

TEST(abort_resets_the_peer)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int ca, cb, lb;
    uint8_t buf[8];
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    harness_events(n, B, cb);
    CHECK_EQ_U(wtcp_abort(sa, ca), 0);
    harness_run(n, 100);
    CHECK(harness_events(n, B, cb) & WTCP_EV_ERROR);
    CHECK_EQ_I(wtcp_recv(sb, cb, buf, sizeof buf), WTCP_ECONNRESET);
    CHECK_EQ_I(wtcp_send(sb, cb, buf, 1), WTCP_ECONNRESET);
    CHECK_NET_DONE(n);
}

TEST(close_with_unread_data_sends_RST)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int ca, cb, lb;
    uint8_t buf[8];
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    wtcp_send(sa, ca, "data", 4);
    harness_run(n, 100);
    CHECK_EQ_U(wtcp_close(sb, cb), 0); /* 4 bytes never read */
    harness_run(n, 100);
    CHECK_EQ_I(wtcp_recv(sa, ca, buf, sizeof buf), WTCP_ECONNRESET);
    CHECK_NET_DONE(n);
}

TEST(syn_to_vanished_peer_times_out)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st;
    harness_vanish(n, 1);
    int s = wtcp_socket(sa, WTCP_SOCK_STREAM);
    wtcp_connect(sa, s, B_ADDR, 80);
    harness_run(n, 120000);
    wtcp_info info;
    wtcp_info_get(sa, s, &info);
    CHECK_EQ_U(info.state, WTCP_SYN_SENT); /* SYNs at 0, 1, 3, 7, 15, 31, 63 s */
    CHECK_EQ_U(info.retransmits, 6);
    harness_run(n, 10000);
    wtcp_info_get(sa, s, &info);
    CHECK_EQ_U(info.state, WTCP_CLOSED); /* gave up at 127 s */
    int err;
    wtcp_getsockopt(sa, s, WTCP_SO_ERROR, &err);
    CHECK_EQ_I(err, WTCP_ETIMEDOUT);
    CHECK_NET_DONE(n);
}

TEST(data_to_vanished_peer_times_out)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st;
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    harness_vanish(n, 1);
    CHECK_EQ_U(wtcp_send(sa, ca, "lost", 4), 4);
    harness_run(n, 3600 * 1000);
    wtcp_info info;
    wtcp_info_get(sa, ca, &info);
    CHECK_EQ_U(info.state, WTCP_CLOSED);
    CHECK_EQ_U(info.retransmits, 15);
    CHECK_EQ_I(wtcp_send(sa, ca, "x", 1), WTCP_ETIMEDOUT);
    CHECK_NET_DONE(n);
}

TEST(rto_floor_is_chosen_per_socket_and_per_stack)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st;
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    int v = 0;
    CHECK_EQ_I(wtcp_getsockopt(sa, ca, WTCP_TCP_RTO_MIN, &v), 0);
    CHECK_EQ_I(v, 200);
    CHECK_EQ_I(wtcp_setsockopt(sa, ca, WTCP_TCP_RTO_MIN, 0), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_setsockopt(sa, ca, WTCP_TCP_RTO_MIN, 20), 0);
    /* A few exchanges so that an RTT sample applies the new floor (RTT 2 ms here). */
    for (int i = 0; i < 3; i++) {
        uint8_t b[4];
        CHECK_EQ_U(wtcp_send(sa, ca, "ping", 4), 4);
        harness_run(n, 50);
        CHECK_EQ_U(wtcp_recv(n->node[B].st, cb, b, sizeof b), 4);
    }
    wtcp_info info;
    wtcp_info_get(sa, ca, &info);
    CHECK(info.rto_ms >= 20 && info.rto_ms < 40);
    /* A lost segment is resent after about 20 ms, not 200. */
    harness_vanish(n, 1);
    CHECK_EQ_U(wtcp_send(sa, ca, "lost", 4), 4);
    harness_run(n, 40);
    wtcp_info_get(sa, ca, &info);
    CHECK(info.retransmits >= 1);
    harness_vanish(n, 0);
    harness_run(n, 1000);
    /* The stack's default: cfg.rto_min_ms; 0 means 200, more than 120 s is refused. */
    wtcp_config c;
    wtcp_config_init(&c);
    CHECK_EQ_U(c.rto_min_ms, 200);
    c.output = no_output;
    c.rto_min_ms = 120001;
    wtcp_stack *st = NULL;
    CHECK_EQ_I(wtcp_stack_new(&c, &st), WTCP_EINVAL);
    c.rto_min_ms = 5;
    CHECK_EQ_I(wtcp_stack_new(&c, &st), 0);
    int s = wtcp_socket(st, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_getsockopt(st, s, WTCP_TCP_RTO_MIN, &v), 0);
    CHECK_EQ_I(v, 5);
    wtcp_stack_free(st);
    CHECK_NET_DONE(n);
}

TEST(keepalive_probes_a_live_peer_and_fails_a_vanished_one)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    CHECK_EQ_I(wtcp_setsockopt(sa, ca, WTCP_TCP_KEEPIDLE, 10), 0);
    CHECK_EQ_I(wtcp_setsockopt(sa, ca, WTCP_TCP_KEEPINTVL, 2), 0);
    CHECK_EQ_I(wtcp_setsockopt(sa, ca, WTCP_TCP_KEEPCNT, 3), 0);
    CHECK_EQ_I(wtcp_setsockopt(sa, ca, WTCP_SO_KEEPALIVE, 1), 0);
    int v = 0;
    CHECK_EQ_I(wtcp_getsockopt(sa, ca, WTCP_TCP_KEEPINTVL, &v), 0);
    CHECK_EQ_I(v, 2);
    CHECK_EQ_I(wtcp_setsockopt(sa, ca, WTCP_TCP_KEEPCNT, 0), WTCP_EINVAL);
    wtcp_stats before, after;
    wtcp_stats_get(sb, &before);
    harness_run(n, 100 * 1000); /* the peer answers every probe: still connected */
    wtcp_stats_get(sb, &after);
    CHECK(after.tcp_in >= before.tcp_in + 9); /* a probe about every 10 s */
    wtcp_info info;
    wtcp_info_get(sa, ca, &info);
    CHECK_EQ_U(info.state, WTCP_ESTABLISHED);
    harness_vanish(n, 1);
    harness_run(n, 10 * 1000 + 3 * 2000 - 200); /* idle, then 3 probes 2 s apart */
    wtcp_info_get(sa, ca, &info);
    CHECK_EQ_U(info.state, WTCP_ESTABLISHED);
    harness_run(n, 400);
    wtcp_info_get(sa, ca, &info);
    CHECK_EQ_U(info.state, WTCP_CLOSED);
    int err;
    wtcp_getsockopt(sa, ca, WTCP_SO_ERROR, &err);
    CHECK_EQ_I(err, WTCP_ETIMEDOUT);
    CHECK_NET_DONE(n);
}

TEST(user_timeout_bounds_unacknowledged_data)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st;
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    CHECK_EQ_I(wtcp_setsockopt(sa, ca, WTCP_TCP_USER_TIMEOUT, 5000), 0);
    harness_vanish(n, 1);
    CHECK_EQ_I(wtcp_send(sa, ca, "lost", 4), 4);
    harness_run(n, 4500);
    wtcp_info info;
    wtcp_info_get(sa, ca, &info);
    CHECK_EQ_U(info.state, WTCP_ESTABLISHED);
    /* RTOs at 0.2, 0.6, 1.4 and 3 s; the next (6.2 s) is clamped to the user timeout, as
     * Linux's tcp_clamp_rto_to_user_timeout: it gives up at 5 s, not at 6.2. */
    harness_run(n, 700);
    wtcp_info_get(sa, ca, &info);
    CHECK_EQ_U(info.state, WTCP_CLOSED);
    CHECK(info.retransmits < 15);
    CHECK_NET_DONE(n);
}

TEST(backlog_bounds_pending_connections)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int l = wtcp_socket(sb, WTCP_SOCK_STREAM);
    wtcp_bind(sb, l, 0, 80);
    wtcp_listen(sb, l, 1); /* Linux: backlog + 1 may wait in the accept queue */
    int c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = wtcp_socket(sa, WTCP_SOCK_STREAM);
        wtcp_connect(sa, c[i], B_ADDR, 80);
    }
    harness_run(n, 100);
    /* One SYN fills the SYN queue (backlog 1); the others get SYN cookies, and the
     * returning ACKs make connections while the accept queue has room (2). */
    int accepted = 0;
    while (wtcp_accept(sb, l, NULL, NULL) > 0)
        accepted++;
    CHECK_EQ_U(accepted, 2);
    wtcp_stats st;
    wtcp_stats_get(sb, &st);
    CHECK_EQ_U(st.tcp_syncookies_sent, 3);
    CHECK(st.drop[WTCP_DROP_TCP_BACKLOG_FULL] >= 2);
    /* The clients whose ACK found no room think they are connected: the request each
     * sends is resent until the accept queue has room, its ACK still carries the cookie. */
    for (int i = 0; i < 4; i++)
        CHECK_EQ_I(wtcp_send(sa, c[i], "GET", 3), 3);
    harness_run(n, 5000);
    while (wtcp_accept(sb, l, NULL, NULL) > 0)
        accepted++;
    CHECK_EQ_U(accepted, 4);
    wtcp_stats_get(sb, &st);
    CHECK_EQ_U(st.tcp_syncookies_recv, 3 + 2); /* the two that waited came twice at least */
    CHECK_NET_DONE(n);
}

TEST(two_thousand_concurrent_connections)
{
    /* The 4-tuple hash, the timer heap and the event queue with many live connections. */
    harness *n = harness_new(0);
    wtcp_config c;
    wtcp_config_init(&c);
    c.max_sockets = 4100;
    c.sndbuf = c.rcvbuf = 4096;
    c.max_backlog = 4096;
    c.addr = A_ADDR;
    CHECK_EQ_I(harness_add_stack(n, &c), A);
    c.addr = B_ADDR;
    CHECK_EQ_I(harness_add_stack(n, &c), B);
    harness_faults f = {.delay_ms = 1};
    harness_set_faults_all(n, &f);
    n->strict = 1;
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    enum { N = 2000 };
    static int ca[N], cb[N];
    int l = wtcp_socket(sb, WTCP_SOCK_STREAM);
    wtcp_bind(sb, l, 0, 80);
    wtcp_listen(sb, l, N);
    int accepted = 0;
    for (int i = 0; i < N; i++) {
        ca[i] = wtcp_socket(sa, WTCP_SOCK_STREAM);
        CHECK(ca[i] > 0);
        CHECK_EQ_I(wtcp_connect(sa, ca[i], B_ADDR, 80), WTCP_EINPROGRESS);
        if (i % 500 == 499) { /* a few at a time, as when the link queue held 4096 packets */
            harness_run(n, 5);
            while (accepted < N && (cb[accepted] = wtcp_accept(sb, l, NULL, NULL)) > 0)
                accepted++;
        }
    }
    harness_run(n, 50);
    while (accepted < N && (cb[accepted] = wtcp_accept(sb, l, NULL, NULL)) > 0)
        accepted++;
    CHECK_EQ_U(accepted, N);
    for (int i = 0; i < N; i++) {
        char msg[16];
        int len = snprintf(msg, sizeof msg, "conn %d", i);
        CHECK_EQ_I(wtcp_send(sa, ca[i], msg, (size_t)len), len);
        if (i % 500 == 499)
            harness_run(n, 5);
    }
    harness_run(n, 100);
    /* Each server connection got exactly its own client's bytes. */
    int seen = 0;
    for (int i = 0; i < N; i++) {
        char buf[32] = { 0 };
        uint32_t addr;
        uint16_t port;
        int r = wtcp_recv(sb, cb[i], buf, sizeof buf - 1);
        CHECK(r > 5);
        int k = atoi(buf + 5);
        CHECK(k >= 0 && k < N);
        CHECK_EQ_I(wtcp_getpeername(sb, cb[i], &addr, &port), 0);
        uint16_t cport;
        CHECK_EQ_I(wtcp_getsockname(sa, ca[k], NULL, &cport), 0);
        CHECK_EQ_U(port, cport);
        seen++;
    }
    CHECK_EQ_U(seen, N);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_I(wtcp_close(sa, ca[i]), 0);
        CHECK_EQ_I(wtcp_close(sb, cb[i]), 0);
    }
    harness_run(n, 200);
    harness_run(n, 61000); /* TIME-WAIT ends: every slot is free again */
    int free_slots = 0;
    while (wtcp_socket(sa, WTCP_SOCK_STREAM) > 0)
        free_slots++;
    CHECK_EQ_U(free_slots, 4100);
    CHECK_NET_DONE(n);
}

TEST(udp_exchange_and_port_unreachable)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    uint8_t buf[32];
    uint32_t addr;
    uint16_t port;
    int ua = wtcp_socket(sa, WTCP_SOCK_DGRAM), ub = wtcp_socket(sb, WTCP_SOCK_DGRAM);
    CHECK_EQ_U(wtcp_bind(sb, ub, 0, 53), 0);
    CHECK_EQ_U(wtcp_sendto(sa, ua, "query", 5, B_ADDR, 53), 5);
    harness_run(n, 10);
    CHECK(harness_events(n, B, ub) & WTCP_EV_READABLE);
    CHECK_EQ_U(wtcp_readable(sb, ub), 5);
    CHECK_EQ_U(wtcp_recvfrom(sb, ub, buf, sizeof buf, &addr, &port), 5);
    CHECK_MEM(buf, "query", 5);
    CHECK_EQ_U(addr, A_ADDR);
    CHECK_EQ_U(wtcp_sendto(sb, ub, "answer", 6, addr, port), 6);
    harness_run(n, 10);
    CHECK_EQ_U(wtcp_recvfrom(sa, ua, buf, 3, NULL, NULL), 3); /* truncated */
    CHECK_MEM(buf, "ans", 3);
    CHECK_EQ_I(wtcp_recvfrom(sa, ua, buf, sizeof buf, NULL, NULL), WTCP_EAGAIN);
    CHECK_EQ_U(wtcp_sendto(sa, ua, "x", 1, B_ADDR, 54), 1);
    harness_run(n, 10);
    wtcp_stats st;
    wtcp_stats_get(sb, &st);
    CHECK_EQ_U(st.drop[WTCP_DROP_UDP_NO_PORT], 1);
    CHECK_EQ_U(st.icmp_out, 1);
    wtcp_stats_get(sa, &st);
    CHECK_EQ_U(st.icmp_in, 1);
    static uint8_t big[2000];
    CHECK_EQ_I(wtcp_sendto(sa, ua, big, sizeof big, B_ADDR, 53), WTCP_EMSGSIZE);
    CHECK_NET_DONE(n);
}

TEST(icmp_echo_is_answered)
{
    harness *n = net_new();
    wtcp_stack *sb = n->node[B].st;
    uint8_t pkt[64];
    wire_ipv4 ip = { 0 };
    ip.total_len = 20 + 8 + 4;
    ip.ttl = 64;
    ip.proto = WIRE_PROTO_ICMP;
    ip.src = A_ADDR;
    ip.dst = B_ADDR;
    wire_ipv4_emit(pkt, &ip);
    wire_icmp_emit(pkt + 20, WIRE_ICMP_ECHO_REQUEST, 0, 0x12340001, (const uint8_t *)"ping", 4);
    CHECK_EQ_U(wtcp_input(sb, n->now, pkt, ip.total_len), 0);
    CHECK_EQ_U(harness_in_flight(n), 1);
    packet reply = in_flight(n, 0);
    wire_ipv4 rip;
    wire_icmp ric;
    CHECK_EQ_I(wire_ipv4_parse(reply.data, reply.len, &rip), WIRE_OK);
    CHECK_EQ_U(rip.dst, A_ADDR);
    CHECK_EQ_I(wire_icmp_parse(rip.payload, rip.payload_len, &ric), WIRE_OK);
    CHECK_EQ_U(ric.type, WIRE_ICMP_ECHO_REPLY);
    CHECK_EQ_U(ric.rest, 0x12340001);
    CHECK_MEM(ric.payload, "ping", 4);
    CHECK_NET_DONE(n);
}

TEST(icmp_port_unreachable_fails_connect)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st;
    int s = wtcp_socket(sa, WTCP_SOCK_STREAM);
    wtcp_connect(sa, s, B_ADDR, 80);
    wtcp_poll(sa, n->now);
    CHECK_EQ_U(harness_in_flight(n), 1); /* the SYN */
    /* B answers with ICMP port unreachable quoting the SYN. */
    packet synp = in_flight(n, 0);
    wire_ipv4 syn;
    CHECK_EQ_I(wire_ipv4_parse(synp.data, synp.len, &syn), WIRE_OK);
    uint8_t pkt[128];
    size_t qlen = 20 + 8;
    wire_ipv4 ip = { 0 };
    ip.total_len = (uint16_t)(20 + 8 + qlen);
    ip.ttl = 64;
    ip.proto = WIRE_PROTO_ICMP;
    ip.src = B_ADDR;
    ip.dst = A_ADDR;
    wire_ipv4_emit(pkt, &ip);
    wire_icmp_emit(pkt + 20, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_PORT_UNREACH, 0, synp.data, qlen);
    harness_drop_in_flight(n);
    CHECK_EQ_U(wtcp_input(sa, n->now, pkt, ip.total_len), 0);
    CHECK(harness_events(n, A, s) & WTCP_EV_ERROR);
    int err;
    wtcp_getsockopt(sa, s, WTCP_SO_ERROR, &err);
    CHECK_EQ_I(err, WTCP_ECONNREFUSED);
    CHECK_NET_DONE(n);
}

TEST(icmp_frag_needed_lowers_mss_and_resends)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    static uint8_t data[4000];
    CHECK_EQ_I(wtcp_send(sa, ca, data, sizeof data), 4000);
    wtcp_poll(sa, n->now);
    CHECK_EQ_U(harness_in_flight(n), 3); /* 1448 + 1448 + 1104 */
    static packet first;
    first = in_flight(n, 0);
    CHECK_EQ_U(first.len, 1500);
    /* A router on the way has MTU 1000: ICMP fragmentation needed, quoting segment 1. */
    uint8_t pkt[128];
    size_t qlen = 20 + 8;
    wire_ipv4 ip = { 0 };
    ip.total_len = (uint16_t)(20 + 8 + qlen);
    ip.ttl = 64;
    ip.proto = WIRE_PROTO_ICMP;
    ip.src = 0x0a0000feu;
    ip.dst = A_ADDR;
    wire_ipv4_emit(pkt, &ip);
    wire_icmp_emit(pkt + 20, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 1000, first.data, qlen);
    harness_drop_in_flight(n);
    CHECK_EQ_I(wtcp_input(sa, n->now, pkt, ip.total_len), 0);
    wtcp_info info;
    wtcp_info_get(sa, ca, &info);
    CHECK_EQ_U(info.snd_mss, 1000 - 40 - 12);
    /* What no longer fits is sent again in segments that do. */
    CHECK(harness_in_flight(n) >= 1);
    for (size_t i = 0; i < harness_in_flight(n); i++)
        CHECK(in_flight(n, i).len <= 1000);
    harness_run(n, 100);
    uint8_t buf[8192];
    CHECK_EQ_I(wtcp_recv(sb, cb, buf, sizeof buf), 4000);
    /* The same error again, now that segment 1 is acknowledged: the quoted sequence
     * number is no longer in flight, so it is ignored (RFC 5927). */
    wire_icmp_emit(pkt + 20, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 600, first.data, qlen);
    wtcp_stats before, after;
    wtcp_stats_get(sa, &before);
    wtcp_input(sa, n->now, pkt, ip.total_len);
    wtcp_stats_get(sa, &after);
    CHECK_EQ_U(after.drop[WTCP_DROP_ICMP_IGNORED], before.drop[WTCP_DROP_ICMP_IGNORED] + 1);
    wtcp_info_get(sa, ca, &info);
    CHECK_EQ_U(info.snd_mss, 948);
    CHECK_NET_DONE(n);
}

TEST(malformed_packets_are_dropped_and_counted)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    wtcp_send(sa, ca, "0123456789", 10);
    wtcp_poll(sa, n->now);
    CHECK_EQ_U(harness_in_flight(n), 1);
    packet good = in_flight(n, 0);
    harness_drop_in_flight(n);
    wtcp_stats before, after;
    wtcp_stats_get(sb, &before);
    /* Every single-bit flip of a real segment must be caught or harmless. */
    uint64_t x = 99;
    for (size_t bit = 0; bit < good.len * 8; bit++) {
        packet p = good;
        p.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        wtcp_input(sb, n->now, p.data, p.len);
    }
    /* Truncations and random garbage. */
    for (size_t len = 0; len < good.len; len++)
        wtcp_input(sb, n->now, good.data, len);
    for (int i = 0; i < 20000; i++) {
        uint8_t junk[80];
        for (size_t k = 0; k < sizeof junk; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            junk[k] = (uint8_t)x;
        }
        if (i & 1) /* plausible IPv4 headers reach deeper parsers */
            memcpy(junk, good.data, 20 + (size_t)(i % 20));
        wtcp_input(sb, n->now, junk, (size_t)(x % sizeof junk));
    }
    wtcp_stats_get(sb, &after);
    CHECK(after.drops > before.drops + good.len * 8 - 64);
    CHECK(after.drop[WTCP_DROP_IP_CHECKSUM] > 0);
    CHECK(after.drop[WTCP_DROP_TCP_CHECKSUM] > 0);
    CHECK(after.drop[WTCP_DROP_IP_TOO_SHORT] > 0);
    /* The connection is unharmed: the real segment still arrives intact. */
    harness_drop_in_flight(n);
    wtcp_input(sb, n->now, good.data, good.len);
    uint8_t buf[16];
    CHECK_EQ_U(wtcp_recv(sb, cb, buf, sizeof buf), 10);
    CHECK_MEM(buf, "0123456789", 10);
    CHECK_NET_DONE(n);
}

TEST(fragments_are_dropped_and_counted)
{
    harness *n = net_new();
    wtcp_stack *sb = n->node[B].st;
    uint8_t pkt[40];
    wire_ipv4 ip = { 0 };
    ip.total_len = 28;
    ip.ttl = 64;
    ip.proto = WIRE_PROTO_UDP;
    ip.frag = WIRE_IP_MF;
    ip.src = A_ADDR;
    ip.dst = B_ADDR;
    wire_ipv4_emit(pkt, &ip);
    memset(pkt + 20, 0, 8);
    CHECK_EQ_I(wtcp_input(sb, n->now, pkt, 28), WTCP_EOPNOTSUPP);
    wtcp_stats st;
    wtcp_stats_get(sb, &st);
    CHECK_EQ_U(st.drop[WTCP_DROP_IP_FRAGMENT], 1);
    CHECK_NET_DONE(n);
}

TEST(send_buffer_full_is_a_short_write_and_writable_follows)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    static uint8_t big[1 << 20];
    int total = 0, r;
    /* The send buffer grows with cwnd (64 KiB at first, SO_SNDBUF at most). */
    int room = wtcp_writable(sa, ca);
    CHECK(room >= 64 * 1024 && room <= 256 * 1024);
    while ((r = wtcp_send(sa, ca, big, sizeof big)) > 0)
        total += r;
    CHECK_EQ_I(r, WTCP_EAGAIN);
    CHECK_EQ_I(total, room);
    harness_events(n, A, ca);
    harness_run(n, 50); /* B does not read: its window fills */
    uint8_t sink[65536];
    int got = 0;
    for (int round = 0; round < 100 && got < 2 * 256 * 1024; round++) {
        while ((r = wtcp_recv(sb, cb, sink, sizeof sink)) > 0)
            got += r;
        harness_run(n, 50);
        if (harness_events(n, A, ca) & WTCP_EV_WRITABLE)
            while ((r = wtcp_send(sa, ca, big, sizeof big)) > 0 && total < 2 * 256 * 1024)
                total += r;
    }
    CHECK(total >= 2 * 256 * 1024);
    CHECK(got >= 256 * 1024);
    CHECK_NET_DONE(n);
}

/* Packets fed with wtcp_input_more are one batch: nothing goes out until its last packet
 * (wtcp_input), and then one ACK covers all of it; wtcp_poll also ends a batch. Fed one
 * by one, the same segments draw an ACK for every second one. */
static uint64_t ip_out_of(wtcp_stack *st)
{
    wtcp_stats s;
    wtcp_stats_get(st, &s);
    return s.ip_out;
}

/* A sends len bytes; the segments that leave are taken off the link into batch[] for the
 * test to feed to B itself. Returns how many there were, or 0 if the send fell short or
 * more than 16 left. */
static size_t capture_flight(harness *n, wtcp_stack *sa, int ca, const uint8_t *data, size_t len,
                             packet batch[16])
{
    if (wtcp_send(sa, ca, data, len) != (int)len)
        return 0;
    wtcp_poll(sa, n->now);
    size_t k = harness_in_flight(n);
    if (k > 16)
        return 0;
    for (size_t i = 0; i < k; i++)
        batch[i] = in_flight(n, i);
    harness_drop_in_flight(n);
    return k;
}

TEST(a_batch_of_segments_is_answered_by_one_ack)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    static uint8_t data[8 * 1460], sink[sizeof data];
    static packet batch[16];
    for (int round = 0; round < 3; round++) {
        size_t k = capture_flight(n, sa, ca, data, sizeof data, batch);
        CHECK(k >= 8);
        uint64_t before = ip_out_of(sb);
        for (size_t i = 0; i < k; i++) {
            if (round == 0 || (round == 2 && i + 1 < k)) {
                CHECK_EQ_I(wtcp_input_more(sb, n->now, batch[i].data, batch[i].len), 0);
                CHECK_EQ_U(ip_out_of(sb), before); /* held for the end of the batch */
            } else {
                CHECK_EQ_I(wtcp_input(sb, n->now, batch[i].data, batch[i].len), 0);
            }
        }
        if (round == 0)
            wtcp_poll(sb, n->now); /* a batch may also end at wtcp_poll */
        uint64_t acks = ip_out_of(sb) - before;
        if (round == 1)
            CHECK(acks >= k / 2);
        else
            CHECK_EQ_U(acks, 1);
        CHECK_EQ_I(wtcp_recv(sb, cb, sink, sizeof sink), (int)sizeof data);
        harness_run(n, 50); /* the ACKs reach A */
    }
    CHECK_EQ_I(wtcp_input_more(NULL, 0, data, 20), WTCP_EINVAL);
    CHECK_NET_DONE(n);
}

/* In a batch, only in-order data shares one ACK (as GRO merges only in-order segments):
 * a segment beyond a hole, and the one that fills it, are each ACKed at once, so that a
 * sender recovering with a small window does not hang on one ACK that may be lost. */
TEST(a_batch_acks_out_of_order_data_at_once)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    static uint8_t data[6 * 1460], sink[sizeof data];
    static packet batch[16];
    size_t k = capture_flight(n, sa, ca, data, sizeof data, batch);
    CHECK(k >= 6);
    /* The first segment is late: each of the others is out of order. */
    for (size_t i = 1; i < k; i++) {
        uint64_t before = ip_out_of(sb);
        CHECK_EQ_I(wtcp_input_more(sb, n->now, batch[i].data, batch[i].len), 0);
        CHECK_EQ_U(ip_out_of(sb) - before, 1);
    }
    uint64_t before = ip_out_of(sb);
    CHECK_EQ_I(wtcp_input_more(sb, n->now, batch[0].data, batch[0].len), 0); /* fills the hole */
    CHECK_EQ_U(ip_out_of(sb) - before, 1);
    wtcp_poll(sb, n->now);
    CHECK_EQ_U(ip_out_of(sb) - before, 1); /* nothing was left for the end of the batch */
    CHECK_EQ_I(wtcp_recv(sb, cb, sink, sizeof sink), (int)sizeof data);
    harness_run(n, 50);
    CHECK_NET_DONE(n);
}

/* A receiver that takes in every waiting packet before it reads (as a process pumping a
 * socket does) lets its buffer fill: no segment inside the window it advertised may be
 * dropped for want of room, on a link that loses nothing. */
TEST(full_receive_buffer_drops_nothing_the_window_offered)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    static uint8_t src[1 << 16], sink[3000];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 7 + i / 251);
    const uint64_t total = 8u << 20;
    uint64_t sent = 0, got = 0;
    int r, bad = 0;
    for (int step = 0; step < 200000 && got < total; step++) {
        while (sent < total &&
               (r = wtcp_send(sa, ca, src + sent % sizeof src,
                              (size_t)(sizeof src - sent % sizeof src))) > 0)
            sent += (uint64_t)r;
        harness_run(n, 1); /* every packet in flight arrives before B reads */
        /* B reads less per millisecond than the link carries: its buffer fills. */
        if ((r = wtcp_recv(sb, cb, sink, sizeof sink)) > 0) {
            for (int i = 0; i < r; i++)
                bad |= sink[i] != src[(got + (uint64_t)i) % sizeof src];
            got += (uint64_t)r;
        }
    }
    CHECK_EQ_U(got, total);
    CHECK_EQ_I(bad, 0);
    wtcp_stats stb;
    wtcp_stats_get(sb, &stb);
    CHECK_EQ_U(stb.drop[WTCP_DROP_TCP_OUT_OF_WINDOW], 0);
    wtcp_info ia;
    CHECK_EQ_I(wtcp_info_get(sa, ca, &ia), 0);
    CHECK_EQ_U(ia.retransmits, 0);
    CHECK_NET_DONE(n);
}

/* WTCP_TCP_CONGESTION: CUBIC by default, NewReno on request, per socket and per stack; bad
 * values are EINVAL and change nothing; info reports the controller in use. */
TEST(congestion_control_is_chosen_per_socket)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st;
    int ca, cb, lb, v = 0;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    CHECK_EQ_I(wtcp_getsockopt(sa, ca, WTCP_TCP_CONGESTION, &v), 0);
    CHECK_EQ_I(v, WTCP_CC_CUBIC);
    CHECK_EQ_I(wtcp_setsockopt(sa, ca, WTCP_TCP_CONGESTION, 99), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_setsockopt(sa, ca, WTCP_TCP_CONGESTION, 0), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_setsockopt(sa, ca, WTCP_TCP_CONGESTION, WTCP_CC_NEWRENO), 0);
    CHECK_EQ_I(wtcp_getsockopt(sa, ca, WTCP_TCP_CONGESTION, &v), 0);
    CHECK_EQ_I(v, WTCP_CC_NEWRENO);
    wtcp_info in;
    CHECK_EQ_I(wtcp_info_get(sa, ca, &in), 0);
    CHECK_EQ_U(in.congestion, WTCP_CC_NEWRENO);
    CHECK_EQ_U(in.cwnd, 10 * in.snd_mss);
    int u = wtcp_socket(sa, WTCP_SOCK_DGRAM);
    CHECK_EQ_I(wtcp_setsockopt(sa, u, WTCP_TCP_CONGESTION, WTCP_CC_CUBIC), WTCP_ENOPROTOOPT);
    CHECK(!strcmp(wtcp_congestion_name(WTCP_CC_CUBIC), "cubic"));
    CHECK(!strcmp(wtcp_congestion_name(WTCP_CC_NEWRENO), "newreno"));
    CHECK(wtcp_congestion_name(7) == NULL);
    CHECK_NET_DONE(n);

    /* A stack-wide default; a bad one is refused by wtcp_stack_new. */
    wtcp_config c;
    wtcp_config_init(&c);
    CHECK_EQ_U(c.congestion, WTCP_CC_CUBIC);
    c.output = no_output;
    c.congestion = 9;
    wtcp_stack *st = NULL;
    CHECK_EQ_I(wtcp_stack_new(&c, &st), WTCP_EINVAL);
    c.congestion = WTCP_CC_NEWRENO;
    CHECK_EQ_I(wtcp_stack_new(&c, &st), 0);
    int s = wtcp_socket(st, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_getsockopt(st, s, WTCP_TCP_CONGESTION, &v), 0);
    CHECK_EQ_I(v, WTCP_CC_NEWRENO);
    wtcp_stack_free(st);
}

/* SO_SNDBUF and SO_RCVBUF set on an established connection take effect at once: a
 * 150,000-byte write into a 10,000-byte send buffer is a short write, and the receiver
 * offers no more window than its new buffer holds. */
TEST(buffer_sizes_apply_to_an_established_connection)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    CHECK_EQ_I(wtcp_setsockopt(sa, ca, WTCP_SO_SNDBUF, 10000), 0);
    CHECK_EQ_I(wtcp_setsockopt(sb, cb, WTCP_SO_RCVBUF, 8192), 0);
    static uint8_t big[150000];
    CHECK_EQ_I(wtcp_writable(sa, ca), 10000);
    CHECK_EQ_I(wtcp_send(sa, ca, big, sizeof big), 10000);
    CHECK_EQ_I(wtcp_send(sa, ca, big, sizeof big), WTCP_EAGAIN);
    harness_run(n, 200);
    /* B takes all of it: the window it offered before stands (it never shrinks)... */
    wtcp_info ib;
    CHECK_EQ_I(wtcp_info_get(sb, cb, &ib), 0);
    CHECK_EQ_U(ib.rcv_buf_used, 10000);
    wtcp_stats stb;
    wtcp_stats_get(sb, &stb);
    CHECK_EQ_U(stb.drop[WTCP_DROP_TCP_OUT_OF_WINDOW], 0);
    uint8_t sink[20000];
    int got = 0, r;
    while ((r = wtcp_recv(sb, cb, sink, sizeof sink)) > 0)
        got += r;
    CHECK_EQ_I(got, 10000);
    /* ... and once the data has used up that offer, what it offers is what the new
     * buffer holds. */
    for (int i = 0; i < 40; i++) {
        if ((r = wtcp_send(sa, ca, big, sizeof big)) > 0)
            got += r;
        harness_run(n, 20);
        while ((r = wtcp_recv(sb, cb, sink, sizeof sink)) > 0)
            ;
    }
    CHECK(got > 100000);
    CHECK_EQ_I(wtcp_info_get(sb, cb, &ib), 0);
    CHECK(ib.rcv_wnd <= 8192);
    CHECK_EQ_I(wtcp_info_get(sa, ca, &ib), 0);
    CHECK(ib.snd_wnd <= 8192);
    int v = 0;
    CHECK_EQ_I(wtcp_getsockopt(sa, ca, WTCP_SO_SNDBUF, &v), 0);
    CHECK_EQ_I(v, 10000);
    CHECK_NET_DONE(n);
}

/* Buffers come with data and go when idle: an established connection that has moved
 * data and then stays idle holds no buffer at all. */
TEST(idle_connection_releases_its_buffers)
{
    harness *n = net_new();
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    uint64_t idle_blocks = n->node[A].mem.live_blocks + n->node[B].mem.live_blocks;
    static uint8_t buf[60000];
    CHECK_EQ_I(wtcp_send(sa, ca, buf, sizeof buf), (int)sizeof buf);
    CHECK_EQ_I(wtcp_send(sb, cb, buf, 5000), 5000);
    harness_run(n, 100);
    CHECK(n->node[A].mem.live_blocks + n->node[B].mem.live_blocks > idle_blocks);
    int got = 0, r;
    while ((r = wtcp_recv(sb, cb, buf, sizeof buf)) > 0)
        got += r;
    CHECK_EQ_I(got, (int)sizeof buf);
    CHECK_EQ_I(wtcp_recv(sa, ca, buf, sizeof buf), 5000);
    harness_run(n, 2000);
    CHECK_EQ_U(n->node[A].mem.live_blocks + n->node[B].mem.live_blocks, idle_blocks);
    /* And they come back when data does. */
    CHECK_EQ_I(wtcp_send(sa, ca, "again", 5), 5);
    harness_run(n, 10);
    CHECK_EQ_I(wtcp_recv(sb, cb, buf, sizeof buf), 5);
    CHECK_NET_DONE(n);
}

/* Ten thousand established, idle connections fit with the default configuration, and
 * each costs at most 4 KiB: buffers come only with data, the socket table grows. */
TEST(ten_thousand_idle_connections_with_defaults)
{
    harness *n = harness_new(1000);
    wtcp_config c;
    wtcp_config_init(&c);
    c.max_backlog = 4096;
    c.addr = A_ADDR;
    CHECK_EQ_I(harness_add_stack(n, &c), A);
    c.addr = B_ADDR;
    CHECK_EQ_I(harness_add_stack(n, &c), B);
    harness_faults f = {.delay_ms = 1};
    harness_set_faults_all(n, &f);
    n->strict = 1;
    wtcp_stack *sa = n->node[A].st, *sb = n->node[B].st;
    uint64_t base = n->node[A].mem.live_bytes + n->node[B].mem.live_bytes;
    enum { N = 10000 };
    static int ca[N], cb[N];
    int l = wtcp_socket(sb, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(sb, l, 0, 80), 0);
    CHECK_EQ_I(wtcp_listen(sb, l, N), 0);
    int accepted = 0;
    for (int i = 0; i < N; i++) {
        ca[i] = wtcp_socket(sa, WTCP_SOCK_STREAM);
        CHECK(ca[i] > 0);
        CHECK_EQ_I(wtcp_connect(sa, ca[i], B_ADDR, 80), WTCP_EINPROGRESS);
        if (i % 100 == 99 || i == N - 1) {
            harness_run(n, 5);
            while (accepted < N && (cb[accepted] = wtcp_accept(sb, l, NULL, NULL)) > 0)
                accepted++;
        }
    }
    CHECK_EQ_I(accepted, N);
    /* Some of them say something, then all stay idle past the buffer release. */
    uint8_t b[16];
    for (int i = 0; i < N; i += 97)
        CHECK_EQ_I(wtcp_send(sa, ca[i], "ping", 4), 4);
    harness_run(n, 50);
    int pings = 0, r;
    for (int i = 0; i < N; i++) /* accept order need not be connect order */
        if ((r = wtcp_recv(sb, cb[i], b, sizeof b)) > 0)
            pings += r;
    CHECK_EQ_I(pings, 4 * ((N + 96) / 97));
    harness_run(n, 2000);
    uint64_t live = n->node[A].mem.live_bytes + n->node[B].mem.live_bytes;
    uint64_t per_conn = (live - base) / N; /* both ends of each connection */
    printf("    %d idle connections: %llu bytes each (both ends), %llu in all\n", N,
           (unsigned long long)per_conn, (unsigned long long)live);
    CHECK(per_conn <= 4096);
    wtcp_info ia;
    CHECK_EQ_I(wtcp_info_get(sa, ca[N - 1], &ia), 0);
    CHECK_EQ_I(ia.state, WTCP_ESTABLISHED);
    CHECK_NET_DONE(n);
}

UNIT_MAIN(RUN(config_rejects_bad_values), RUN(error_names_and_messages), RUN(address_text),
          RUN(bad_arguments_return_codes), RUN(off_link_without_gateway_is_ENETUNREACH), RUN(stale_handles_are_EBADF), RUN(socket_table_full_is_EMFILE),
          RUN(listener_readable_counts_connections_waiting), RUN(connect_accept_echo_close_with_events), RUN(connect_to_closed_port_is_ECONNREFUSED),
          RUN(abort_resets_the_peer), RUN(close_with_unread_data_sends_RST),
          RUN(syn_to_vanished_peer_times_out), RUN(data_to_vanished_peer_times_out), RUN(keepalive_probes_a_live_peer_and_fails_a_vanished_one),
          RUN(user_timeout_bounds_unacknowledged_data), RUN(rto_floor_is_chosen_per_socket_and_per_stack),
          RUN(backlog_bounds_pending_connections), RUN(two_thousand_concurrent_connections), RUN(udp_exchange_and_port_unreachable),
          RUN(icmp_echo_is_answered), RUN(icmp_port_unreachable_fails_connect), RUN(icmp_frag_needed_lowers_mss_and_resends),
          RUN(malformed_packets_are_dropped_and_counted), RUN(fragments_are_dropped_and_counted),
          RUN(send_buffer_full_is_a_short_write_and_writable_follows),
          RUN(a_batch_of_segments_is_answered_by_one_ack), RUN(a_batch_acks_out_of_order_data_at_once),
          RUN(full_receive_buffer_drops_nothing_the_window_offered),
          RUN(congestion_control_is_chosen_per_socket),
          RUN(buffer_sizes_apply_to_an_established_connection), RUN(idle_connection_releases_its_buffers),
          RUN(ten_thousand_idle_connections_with_defaults), RUN(port_index_tracks_binds_and_closes))
