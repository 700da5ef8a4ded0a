/* test_api.c: the public API: arguments and handles, events, errors surfaced from the
 * network (refused, reset, timed out), UDP, ICMP, malformed input, and the allocator hook. */
#include <stdlib.h>

#include "unit.h"
#include "wire/wire.h"
#include "wtcp.h"

#define A_ADDR 0x0a000001u
#define B_ADDR 0x0a000002u

/* ---- a two-stack harness on virtual time ---- */

typedef struct pkt {
    uint8_t data[1600];
    size_t len;
    int to_b;
} pkt;

typedef struct net {
    wtcp_stack *a, *b;
    pkt q[4096];
    size_t n;
    uint64_t now;
    int drop_all;     /* the link loses everything */
    long allocs;      /* live allocations through the hook */
} net;

static void out_a(void *u, const uint8_t *p, size_t len)
{
    net *n = u;
    if (n->n < 4096 && len <= 1600) {
        memcpy(n->q[n->n].data, p, len);
        n->q[n->n].len = len;
        n->q[n->n].to_b = 1;
        n->n++;
    }
}

static void out_b(void *u, const uint8_t *p, size_t len)
{
    net *n = u;
    if (n->n < 4096 && len <= 1600) {
        memcpy(n->q[n->n].data, p, len);
        n->q[n->n].len = len;
        n->q[n->n].to_b = 0;
        n->n++;
    }
}

static void *count_alloc(void *user, void *ptr, size_t size)
{
    net *n = user;
    if (size == 0) {
        if (ptr)
            n->allocs--;
        free(ptr);
        return NULL;
    }
    void *p = realloc(ptr, size);
    if (p && !ptr)
        n->allocs++;
    return p;
}

static net *net_new(void)
{
    net *n = calloc(1, sizeof *n);
    wtcp_config c;
    wtcp_config_init(&c);
    c.addr = A_ADDR;
    c.output = out_a;
    c.output_user = n;
    c.alloc = count_alloc;
    c.alloc_user = n;
    c.isn_key[0] = 1;
    if (wtcp_stack_new(&c, &n->a) != 0)
        abort();
    c.addr = B_ADDR;
    c.output = out_b;
    c.isn_key[0] = 2;
    if (wtcp_stack_new(&c, &n->b) != 0)
        abort();
    n->now = 1000;
    return n;
}

static long net_free(net *n)
{
    wtcp_stack_free(n->a);
    wtcp_stack_free(n->b);
    long left = n->allocs;
    free(n);
    return left;
}

/* Delivers queued packets (1 ms per hop) and runs timers until quiet or `ms` passed. */
static void net_run(net *n, uint64_t ms)
{
    uint64_t end = n->now + ms;
    for (;;) {
        uint64_t da = wtcp_poll(n->a, n->now), db = wtcp_poll(n->b, n->now);
        if (n->n) {
            static pkt batch[4096];
            size_t k = n->n;
            memcpy(batch, n->q, k * sizeof(pkt));
            n->n = 0;
            n->now += 1;
            for (size_t i = 0; i < k; i++)
                if (!n->drop_all)
                    wtcp_input(batch[i].to_b ? n->b : n->a, n->now, batch[i].data, batch[i].len);
            continue;
        }
        uint64_t d = da < db ? da : db;
        if (d == WTCP_NEVER || d > end) {
            n->now = end;
            wtcp_poll(n->a, n->now);
            wtcp_poll(n->b, n->now);
            if (n->n)
                continue;
            return;
        }
        n->now = d;
    }
}

static uint32_t events_of(wtcp_stack *st, int sock)
{
    wtcp_event ev;
    uint32_t bits = 0;
    while (wtcp_next_event(st, &ev))
        if (ev.sock == sock)
            bits |= ev.events;
    return bits;
}

/* B listens on 80, A connects; returns A's and B's connection handles. */
static int connect_pair(net *n, int *ca, int *cb, int *lb)
{
    *lb = wtcp_socket(n->b, WTCP_SOCK_STREAM);
    if (wtcp_bind(n->b, *lb, 0, 80) || wtcp_listen(n->b, *lb, 4))
        return -1;
    *ca = wtcp_socket(n->a, WTCP_SOCK_STREAM);
    if (wtcp_connect(n->a, *ca, B_ADDR, 80) != WTCP_EINPROGRESS)
        return -1;
    net_run(n, 100);
    *cb = wtcp_accept(n->b, *lb, NULL, NULL);
    return *cb > 0 ? 0 : -1;
}

/* ---- tests ---- */

TEST(config_rejects_bad_values)
{
    wtcp_config c;
    wtcp_stack *st = NULL;
    wtcp_config_init(&c);
    CHECK_EQ_I(wtcp_stack_new(&c, &st), WTCP_EINVAL); /* no output callback */
    c.output = out_a;
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
    net *n = net_new();
    uint8_t buf[4];
    CHECK_EQ_I(wtcp_socket(n->a, 99), WTCP_EINVAL);
    int s = wtcp_socket(n->a, WTCP_SOCK_STREAM);
    CHECK(s > 0);
    CHECK_EQ_I(wtcp_bind(n->a, s, B_ADDR, 80), WTCP_EADDRNOTAVAIL);
    CHECK_EQ_I(wtcp_connect(n->a, s, B_ADDR, 0), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_connect(n->a, s, 0xffffffffu, 80), WTCP_ENETUNREACH);
    CHECK_EQ_I(wtcp_send(n->a, s, buf, 4), WTCP_ENOTCONN);
    CHECK_EQ_I(wtcp_recv(n->a, s, NULL, 4), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_shutdown(n->a, s, 7), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_setsockopt(n->a, s, 12345, 1), WTCP_ENOPROTOOPT);
    CHECK_EQ_I(wtcp_getsockopt(n->a, s, WTCP_TCP_NODELAY, NULL), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_sendto(n->a, s, buf, 4, B_ADDR, 9), WTCP_EOPNOTSUPP);
    CHECK_EQ_U(wtcp_bind(n->a, s, 0, 7000), 0);
    int s2 = wtcp_socket(n->a, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(n->a, s2, 0, 7000), WTCP_EADDRINUSE);
    CHECK_EQ_U(wtcp_listen(n->a, s, 1), 0);
    CHECK_EQ_I(wtcp_accept(n->a, s, NULL, NULL), WTCP_EAGAIN);
    CHECK_EQ_I(wtcp_connect(n->a, s, B_ADDR, 80), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_recv(n->a, s, buf, 4), WTCP_ENOTCONN);
    CHECK_EQ_I(wtcp_input(n->a, n->now, NULL, 10), WTCP_EINVAL);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(off_link_without_gateway_is_ENETUNREACH)
{
    wtcp_config c;
    wtcp_stack *st;
    wtcp_config_init(&c);
    c.output = out_a;
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
    net *n = net_new();
    uint8_t buf[4];
    int s = wtcp_socket(n->a, WTCP_SOCK_STREAM);
    CHECK_EQ_U(wtcp_close(n->a, s), 0);
    CHECK_EQ_I(wtcp_close(n->a, s), WTCP_EBADF);
    CHECK_EQ_I(wtcp_send(n->a, s, buf, 1), WTCP_EBADF);
    int s2 = wtcp_socket(n->a, WTCP_SOCK_STREAM); /* reuses the slot, new generation */
    CHECK(s2 != s);
    CHECK_EQ_I(wtcp_recv(n->a, s, buf, 1), WTCP_EBADF);
    CHECK_EQ_I(wtcp_listen(n->a, 0, 1), WTCP_EBADF);
    CHECK_EQ_I(wtcp_listen(n->a, -5, 1), WTCP_EBADF);
    CHECK_EQ_I(wtcp_listen(n->a, 0x7fffffff, 1), WTCP_EBADF);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(socket_table_full_is_EMFILE)
{
    wtcp_config c;
    wtcp_stack *st;
    wtcp_config_init(&c);
    c.output = out_a;
    c.max_sockets = 3;
    CHECK_EQ_U(wtcp_stack_new(&c, &st), 0);
    for (int i = 0; i < 3; i++)
        CHECK(wtcp_socket(st, WTCP_SOCK_STREAM) > 0);
    CHECK_EQ_I(wtcp_socket(st, WTCP_SOCK_STREAM), WTCP_EMFILE);
    wtcp_stack_free(st);
}

TEST(connect_accept_echo_close_with_events)
{
    net *n = net_new();
    int ca, cb, lb;
    uint8_t buf[64];
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    CHECK(events_of(n->a, ca) & WTCP_EV_CONNECTED);
    CHECK_EQ_U(wtcp_send(n->a, ca, "hello", 5), 5);
    net_run(n, 100);
    CHECK(events_of(n->b, cb) & WTCP_EV_READABLE);
    CHECK_EQ_U(wtcp_readable(n->b, cb), 5);
    CHECK_EQ_U(wtcp_recv(n->b, cb, buf, sizeof buf), 5);
    CHECK_MEM(buf, "hello", 5);
    CHECK_EQ_I(wtcp_recv(n->b, cb, buf, sizeof buf), WTCP_EAGAIN);
    uint32_t addr;
    uint16_t port;
    CHECK_EQ_U(wtcp_getpeername(n->b, cb, &addr, &port), 0);
    CHECK_EQ_U(addr, A_ADDR);
    CHECK_EQ_U(wtcp_getsockname(n->b, cb, &addr, &port), 0);
    CHECK_EQ_U(port, 80);
    wtcp_info info;
    CHECK_EQ_U(wtcp_info_get(n->a, ca, &info), 0);
    CHECK_EQ_U(info.state, WTCP_ESTABLISHED);
    CHECK_EQ_U(info.bytes_acked, 5);
    CHECK(info.ts_ok && info.sack_ok);
    CHECK_EQ_U(info.snd_mss, 1448);
    /* Half-close from A; B still sends. */
    CHECK_EQ_U(wtcp_shutdown(n->a, ca, WTCP_SHUT_WR), 0);
    net_run(n, 100);
    CHECK_EQ_U(wtcp_recv(n->b, cb, buf, sizeof buf), 0);
    CHECK_EQ_U(wtcp_info_get(n->b, cb, &info), 0);
    CHECK_EQ_U(info.state, WTCP_CLOSE_WAIT);
    CHECK_EQ_I(wtcp_send(n->a, ca, "x", 1), WTCP_EPIPE);
    CHECK_EQ_U(wtcp_send(n->b, cb, "bye", 3), 3);
    net_run(n, 100);
    CHECK_EQ_U(wtcp_recv(n->a, ca, buf, sizeof buf), 3);
    CHECK_EQ_U(wtcp_close(n->b, cb), 0);
    net_run(n, 100);
    CHECK_EQ_U(wtcp_recv(n->a, ca, buf, sizeof buf), 0);
    CHECK_EQ_U(wtcp_info_get(n->a, ca, &info), 0);
    CHECK_EQ_U(info.state, WTCP_TIME_WAIT);
    net_run(n, 61000);
    CHECK_EQ_U(wtcp_info_get(n->a, ca, &info), 0);
    CHECK_EQ_U(info.state, WTCP_CLOSED);
    CHECK(events_of(n->a, ca) & WTCP_EV_CLOSED);
    CHECK_EQ_U(wtcp_close(n->a, ca), 0);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(connect_to_closed_port_is_ECONNREFUSED)
{
    net *n = net_new();
    int s = wtcp_socket(n->a, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(n->a, s, B_ADDR, 81), WTCP_EINPROGRESS);
    net_run(n, 100);
    CHECK(events_of(n->a, s) & WTCP_EV_ERROR);
    int err = 0;
    CHECK_EQ_U(wtcp_getsockopt(n->a, s, WTCP_SO_ERROR, &err), 0);
    CHECK_EQ_I(err, WTCP_ECONNREFUSED);
    CHECK_EQ_U(wtcp_getsockopt(n->a, s, WTCP_SO_ERROR, &err), 0);
    CHECK_EQ_U(err, 0); /* reading SO_ERROR clears it */
    wtcp_stats st;
    wtcp_stats_get(n->b, &st);
    CHECK_EQ_U(st.drop[WTCP_DROP_TCP_NO_SOCKET], 1);
    CHECK_EQ_U(st.tcp_rst_out, 1);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(abort_resets_the_peer)
{
    net *n = net_new();
    int ca, cb, lb;
    uint8_t buf[8];
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    events_of(n->b, cb);
    CHECK_EQ_U(wtcp_abort(n->a, ca), 0);
    net_run(n, 100);
    CHECK(events_of(n->b, cb) & WTCP_EV_ERROR);
    CHECK_EQ_I(wtcp_recv(n->b, cb, buf, sizeof buf), WTCP_ECONNRESET);
    CHECK_EQ_I(wtcp_send(n->b, cb, buf, 1), WTCP_ECONNRESET);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(close_with_unread_data_sends_RST)
{
    net *n = net_new();
    int ca, cb, lb;
    uint8_t buf[8];
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    wtcp_send(n->a, ca, "data", 4);
    net_run(n, 100);
    CHECK_EQ_U(wtcp_close(n->b, cb), 0); /* 4 bytes never read */
    net_run(n, 100);
    CHECK_EQ_I(wtcp_recv(n->a, ca, buf, sizeof buf), WTCP_ECONNRESET);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(syn_to_vanished_peer_times_out)
{
    net *n = net_new();
    n->drop_all = 1;
    int s = wtcp_socket(n->a, WTCP_SOCK_STREAM);
    wtcp_connect(n->a, s, B_ADDR, 80);
    net_run(n, 120000);
    wtcp_info info;
    wtcp_info_get(n->a, s, &info);
    CHECK_EQ_U(info.state, WTCP_SYN_SENT); /* SYNs at 0, 1, 3, 7, 15, 31, 63 s */
    CHECK_EQ_U(info.retransmits, 6);
    net_run(n, 10000);
    wtcp_info_get(n->a, s, &info);
    CHECK_EQ_U(info.state, WTCP_CLOSED); /* gave up at 127 s */
    int err;
    wtcp_getsockopt(n->a, s, WTCP_SO_ERROR, &err);
    CHECK_EQ_I(err, WTCP_ETIMEDOUT);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(data_to_vanished_peer_times_out)
{
    net *n = net_new();
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    n->drop_all = 1;
    CHECK_EQ_U(wtcp_send(n->a, ca, "lost", 4), 4);
    net_run(n, 3600 * 1000);
    wtcp_info info;
    wtcp_info_get(n->a, ca, &info);
    CHECK_EQ_U(info.state, WTCP_CLOSED);
    CHECK_EQ_U(info.retransmits, 15);
    CHECK_EQ_I(wtcp_send(n->a, ca, "x", 1), WTCP_ETIMEDOUT);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(keepalive_probes_a_live_peer_and_fails_a_vanished_one)
{
    net *n = net_new();
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    CHECK_EQ_I(wtcp_setsockopt(n->a, ca, WTCP_TCP_KEEPIDLE, 10), 0);
    CHECK_EQ_I(wtcp_setsockopt(n->a, ca, WTCP_TCP_KEEPINTVL, 2), 0);
    CHECK_EQ_I(wtcp_setsockopt(n->a, ca, WTCP_TCP_KEEPCNT, 3), 0);
    CHECK_EQ_I(wtcp_setsockopt(n->a, ca, WTCP_SO_KEEPALIVE, 1), 0);
    int v = 0;
    CHECK_EQ_I(wtcp_getsockopt(n->a, ca, WTCP_TCP_KEEPINTVL, &v), 0);
    CHECK_EQ_I(v, 2);
    CHECK_EQ_I(wtcp_setsockopt(n->a, ca, WTCP_TCP_KEEPCNT, 0), WTCP_EINVAL);
    wtcp_stats before, after;
    wtcp_stats_get(n->b, &before);
    net_run(n, 100 * 1000); /* the peer answers every probe: still connected */
    wtcp_stats_get(n->b, &after);
    CHECK(after.tcp_in >= before.tcp_in + 9); /* a probe about every 10 s */
    wtcp_info info;
    wtcp_info_get(n->a, ca, &info);
    CHECK_EQ_U(info.state, WTCP_ESTABLISHED);
    n->drop_all = 1;
    net_run(n, 10 * 1000 + 3 * 2000 - 200); /* idle, then 3 probes 2 s apart */
    wtcp_info_get(n->a, ca, &info);
    CHECK_EQ_U(info.state, WTCP_ESTABLISHED);
    net_run(n, 400);
    wtcp_info_get(n->a, ca, &info);
    CHECK_EQ_U(info.state, WTCP_CLOSED);
    int err;
    wtcp_getsockopt(n->a, ca, WTCP_SO_ERROR, &err);
    CHECK_EQ_I(err, WTCP_ETIMEDOUT);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(user_timeout_bounds_unacknowledged_data)
{
    net *n = net_new();
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    CHECK_EQ_I(wtcp_setsockopt(n->a, ca, WTCP_TCP_USER_TIMEOUT, 5000), 0);
    n->drop_all = 1;
    CHECK_EQ_I(wtcp_send(n->a, ca, "lost", 4), 4);
    net_run(n, 4500);
    wtcp_info info;
    wtcp_info_get(n->a, ca, &info);
    CHECK_EQ_U(info.state, WTCP_ESTABLISHED);
    net_run(n, 6000); /* the next timeout after 5 s gives up (RTO 200, 400, ... 3200 ms) */
    wtcp_info_get(n->a, ca, &info);
    CHECK_EQ_U(info.state, WTCP_CLOSED);
    CHECK(info.retransmits < 15);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(backlog_bounds_pending_connections)
{
    net *n = net_new();
    int l = wtcp_socket(n->b, WTCP_SOCK_STREAM);
    wtcp_bind(n->b, l, 0, 80);
    wtcp_listen(n->b, l, 1); /* Linux: backlog + 1 may wait in the accept queue */
    int c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = wtcp_socket(n->a, WTCP_SOCK_STREAM);
        wtcp_connect(n->a, c[i], B_ADDR, 80);
    }
    net_run(n, 100);
    int accepted = 0;
    while (wtcp_accept(n->b, l, NULL, NULL) > 0)
        accepted++;
    CHECK_EQ_U(accepted, 2);
    wtcp_stats st;
    wtcp_stats_get(n->b, &st);
    CHECK(st.drop[WTCP_DROP_TCP_BACKLOG_FULL] >= 2);
    /* The others get in once there is room, when their SYNs are retransmitted. */
    net_run(n, 5000);
    while (wtcp_accept(n->b, l, NULL, NULL) > 0)
        accepted++;
    CHECK_EQ_U(accepted, 4);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(two_thousand_concurrent_connections)
{
    /* The 4-tuple hash, the timer heap and the event queue with many live connections. */
    net *n = calloc(1, sizeof *n);
    wtcp_config c;
    wtcp_config_init(&c);
    c.max_sockets = 4100;
    c.sndbuf = c.rcvbuf = 4096;
    c.max_backlog = 4096;
    c.addr = A_ADDR;
    c.output = out_a;
    c.output_user = n;
    c.alloc = count_alloc;
    c.alloc_user = n;
    CHECK_EQ_I(wtcp_stack_new(&c, &n->a), 0);
    c.addr = B_ADDR;
    c.output = out_b;
    CHECK_EQ_I(wtcp_stack_new(&c, &n->b), 0);
    enum { N = 2000 };
    static int ca[N], cb[N];
    int l = wtcp_socket(n->b, WTCP_SOCK_STREAM);
    wtcp_bind(n->b, l, 0, 80);
    wtcp_listen(n->b, l, N);
    int accepted = 0;
    for (int i = 0; i < N; i++) {
        ca[i] = wtcp_socket(n->a, WTCP_SOCK_STREAM);
        CHECK(ca[i] > 0);
        CHECK_EQ_I(wtcp_connect(n->a, ca[i], B_ADDR, 80), WTCP_EINPROGRESS);
        if (i % 500 == 499) { /* the in-memory link queue holds 4096 packets */
            net_run(n, 5);
            while (accepted < N && (cb[accepted] = wtcp_accept(n->b, l, NULL, NULL)) > 0)
                accepted++;
        }
    }
    net_run(n, 50);
    while (accepted < N && (cb[accepted] = wtcp_accept(n->b, l, NULL, NULL)) > 0)
        accepted++;
    CHECK_EQ_U(accepted, N);
    for (int i = 0; i < N; i++) {
        char msg[16];
        int len = snprintf(msg, sizeof msg, "conn %d", i);
        CHECK_EQ_I(wtcp_send(n->a, ca[i], msg, (size_t)len), len);
        if (i % 500 == 499)
            net_run(n, 5);
    }
    net_run(n, 100);
    /* Each server connection got exactly its own client's bytes. */
    int seen = 0;
    for (int i = 0; i < N; i++) {
        char buf[32] = { 0 };
        uint32_t addr;
        uint16_t port;
        int r = wtcp_recv(n->b, cb[i], buf, sizeof buf - 1);
        CHECK(r > 5);
        int k = atoi(buf + 5);
        CHECK(k >= 0 && k < N);
        CHECK_EQ_I(wtcp_getpeername(n->b, cb[i], &addr, &port), 0);
        uint16_t cport;
        CHECK_EQ_I(wtcp_getsockname(n->a, ca[k], NULL, &cport), 0);
        CHECK_EQ_U(port, cport);
        seen++;
    }
    CHECK_EQ_U(seen, N);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_I(wtcp_close(n->a, ca[i]), 0);
        CHECK_EQ_I(wtcp_close(n->b, cb[i]), 0);
    }
    net_run(n, 200);
    net_run(n, 61000); /* TIME-WAIT ends: every slot is free again */
    int free_slots = 0;
    while (wtcp_socket(n->a, WTCP_SOCK_STREAM) > 0)
        free_slots++;
    CHECK_EQ_U(free_slots, 4100);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(udp_exchange_and_port_unreachable)
{
    net *n = net_new();
    uint8_t buf[32];
    uint32_t addr;
    uint16_t port;
    int ua = wtcp_socket(n->a, WTCP_SOCK_DGRAM), ub = wtcp_socket(n->b, WTCP_SOCK_DGRAM);
    CHECK_EQ_U(wtcp_bind(n->b, ub, 0, 53), 0);
    CHECK_EQ_U(wtcp_sendto(n->a, ua, "query", 5, B_ADDR, 53), 5);
    net_run(n, 10);
    CHECK(events_of(n->b, ub) & WTCP_EV_READABLE);
    CHECK_EQ_U(wtcp_readable(n->b, ub), 5);
    CHECK_EQ_U(wtcp_recvfrom(n->b, ub, buf, sizeof buf, &addr, &port), 5);
    CHECK_MEM(buf, "query", 5);
    CHECK_EQ_U(addr, A_ADDR);
    CHECK_EQ_U(wtcp_sendto(n->b, ub, "answer", 6, addr, port), 6);
    net_run(n, 10);
    CHECK_EQ_U(wtcp_recvfrom(n->a, ua, buf, 3, NULL, NULL), 3); /* truncated */
    CHECK_MEM(buf, "ans", 3);
    CHECK_EQ_I(wtcp_recvfrom(n->a, ua, buf, sizeof buf, NULL, NULL), WTCP_EAGAIN);
    CHECK_EQ_U(wtcp_sendto(n->a, ua, "x", 1, B_ADDR, 54), 1);
    net_run(n, 10);
    wtcp_stats st;
    wtcp_stats_get(n->b, &st);
    CHECK_EQ_U(st.drop[WTCP_DROP_UDP_NO_PORT], 1);
    CHECK_EQ_U(st.icmp_out, 1);
    wtcp_stats_get(n->a, &st);
    CHECK_EQ_U(st.icmp_in, 1);
    static uint8_t big[2000];
    CHECK_EQ_I(wtcp_sendto(n->a, ua, big, sizeof big, B_ADDR, 53), WTCP_EMSGSIZE);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(icmp_echo_is_answered)
{
    net *n = net_new();
    uint8_t pkt[64];
    wire_ipv4 ip = { 0 };
    ip.total_len = 20 + 8 + 4;
    ip.ttl = 64;
    ip.proto = WIRE_PROTO_ICMP;
    ip.src = A_ADDR;
    ip.dst = B_ADDR;
    wire_ipv4_emit(pkt, &ip);
    wire_icmp_emit(pkt + 20, WIRE_ICMP_ECHO_REQUEST, 0, 0x12340001, (const uint8_t *)"ping", 4);
    CHECK_EQ_U(wtcp_input(n->b, n->now, pkt, ip.total_len), 0);
    CHECK_EQ_U(n->n, 1);
    wire_ipv4 rip;
    wire_icmp ric;
    CHECK_EQ_I(wire_ipv4_parse(n->q[0].data, n->q[0].len, &rip), WIRE_OK);
    CHECK_EQ_U(rip.dst, A_ADDR);
    CHECK_EQ_I(wire_icmp_parse(rip.payload, rip.payload_len, &ric), WIRE_OK);
    CHECK_EQ_U(ric.type, WIRE_ICMP_ECHO_REPLY);
    CHECK_EQ_U(ric.rest, 0x12340001);
    CHECK_MEM(ric.payload, "ping", 4);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(icmp_port_unreachable_fails_connect)
{
    net *n = net_new();
    int s = wtcp_socket(n->a, WTCP_SOCK_STREAM);
    wtcp_connect(n->a, s, B_ADDR, 80);
    wtcp_poll(n->a, n->now);
    CHECK_EQ_U(n->n, 1); /* the SYN */
    /* B answers with ICMP port unreachable quoting the SYN. */
    wire_ipv4 syn;
    CHECK_EQ_I(wire_ipv4_parse(n->q[0].data, n->q[0].len, &syn), WIRE_OK);
    uint8_t pkt[128];
    size_t qlen = 20 + 8;
    wire_ipv4 ip = { 0 };
    ip.total_len = (uint16_t)(20 + 8 + qlen);
    ip.ttl = 64;
    ip.proto = WIRE_PROTO_ICMP;
    ip.src = B_ADDR;
    ip.dst = A_ADDR;
    wire_ipv4_emit(pkt, &ip);
    wire_icmp_emit(pkt + 20, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_PORT_UNREACH, 0, n->q[0].data, qlen);
    n->n = 0;
    CHECK_EQ_U(wtcp_input(n->a, n->now, pkt, ip.total_len), 0);
    CHECK(events_of(n->a, s) & WTCP_EV_ERROR);
    int err;
    wtcp_getsockopt(n->a, s, WTCP_SO_ERROR, &err);
    CHECK_EQ_I(err, WTCP_ECONNREFUSED);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(icmp_frag_needed_lowers_mss_and_resends)
{
    net *n = net_new();
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    static uint8_t data[4000];
    CHECK_EQ_I(wtcp_send(n->a, ca, data, sizeof data), 4000);
    wtcp_poll(n->a, n->now);
    CHECK_EQ_U(n->n, 3); /* 1448 + 1448 + 1104 */
    CHECK_EQ_U(n->q[0].len, 1500);
    static pkt first;
    first = n->q[0];
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
    n->n = 0;
    CHECK_EQ_I(wtcp_input(n->a, n->now, pkt, ip.total_len), 0);
    wtcp_info info;
    wtcp_info_get(n->a, ca, &info);
    CHECK_EQ_U(info.snd_mss, 1000 - 40 - 12);
    /* What no longer fits is sent again in segments that do. */
    CHECK(n->n >= 1);
    for (size_t i = 0; i < n->n; i++)
        CHECK(n->q[i].len <= 1000);
    net_run(n, 100);
    uint8_t buf[8192];
    CHECK_EQ_I(wtcp_recv(n->b, cb, buf, sizeof buf), 4000);
    /* The same error again, now that segment 1 is acknowledged: the quoted sequence
     * number is no longer in flight, so it is ignored (RFC 5927). */
    wire_icmp_emit(pkt + 20, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 600, first.data, qlen);
    wtcp_stats before, after;
    wtcp_stats_get(n->a, &before);
    wtcp_input(n->a, n->now, pkt, ip.total_len);
    wtcp_stats_get(n->a, &after);
    CHECK_EQ_U(after.drop[WTCP_DROP_ICMP_IGNORED], before.drop[WTCP_DROP_ICMP_IGNORED] + 1);
    wtcp_info_get(n->a, ca, &info);
    CHECK_EQ_U(info.snd_mss, 948);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(malformed_packets_are_dropped_and_counted)
{
    net *n = net_new();
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    wtcp_send(n->a, ca, "0123456789", 10);
    wtcp_poll(n->a, n->now);
    CHECK_EQ_U(n->n, 1);
    pkt good = n->q[0];
    n->n = 0;
    wtcp_stats before, after;
    wtcp_stats_get(n->b, &before);
    /* Every single-bit flip of a real segment must be caught or harmless. */
    uint64_t x = 99;
    for (size_t bit = 0; bit < good.len * 8; bit++) {
        pkt p = good;
        p.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        wtcp_input(n->b, n->now, p.data, p.len);
    }
    /* Truncations and random garbage. */
    for (size_t len = 0; len < good.len; len++)
        wtcp_input(n->b, n->now, good.data, len);
    for (int i = 0; i < 20000; i++) {
        uint8_t junk[80];
        for (size_t k = 0; k < sizeof junk; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            junk[k] = (uint8_t)x;
        }
        if (i & 1) /* plausible IPv4 headers reach deeper parsers */
            memcpy(junk, good.data, 20 + (size_t)(i % 20));
        wtcp_input(n->b, n->now, junk, (size_t)(x % sizeof junk));
    }
    wtcp_stats_get(n->b, &after);
    CHECK(after.drops > before.drops + good.len * 8 - 64);
    CHECK(after.drop[WTCP_DROP_IP_CHECKSUM] > 0);
    CHECK(after.drop[WTCP_DROP_TCP_CHECKSUM] > 0);
    CHECK(after.drop[WTCP_DROP_IP_TOO_SHORT] > 0);
    /* The connection is unharmed: the real segment still arrives intact. */
    n->n = 0;
    wtcp_input(n->b, n->now, good.data, good.len);
    uint8_t buf[16];
    CHECK_EQ_U(wtcp_recv(n->b, cb, buf, sizeof buf), 10);
    CHECK_MEM(buf, "0123456789", 10);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(fragments_are_dropped_and_counted)
{
    net *n = net_new();
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
    CHECK_EQ_I(wtcp_input(n->b, n->now, pkt, 28), WTCP_EOPNOTSUPP);
    wtcp_stats st;
    wtcp_stats_get(n->b, &st);
    CHECK_EQ_U(st.drop[WTCP_DROP_IP_FRAGMENT], 1);
    CHECK_EQ_U(net_free(n), 0);
}

TEST(send_buffer_full_is_a_short_write_and_writable_follows)
{
    net *n = net_new();
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    static uint8_t big[1 << 20];
    int total = 0, r;
    /* The send buffer grows with cwnd (64 KiB at first, SO_SNDBUF at most). */
    int room = wtcp_writable(n->a, ca);
    CHECK(room >= 64 * 1024 && room <= 256 * 1024);
    while ((r = wtcp_send(n->a, ca, big, sizeof big)) > 0)
        total += r;
    CHECK_EQ_I(r, WTCP_EAGAIN);
    CHECK_EQ_I(total, room);
    events_of(n->a, ca);
    net_run(n, 50); /* B does not read: its window fills */
    uint8_t sink[65536];
    int got = 0;
    for (int round = 0; round < 100 && got < 2 * 256 * 1024; round++) {
        while ((r = wtcp_recv(n->b, cb, sink, sizeof sink)) > 0)
            got += r;
        net_run(n, 50);
        if (events_of(n->a, ca) & WTCP_EV_WRITABLE)
            while ((r = wtcp_send(n->a, ca, big, sizeof big)) > 0 && total < 2 * 256 * 1024)
                total += r;
    }
    CHECK(total >= 2 * 256 * 1024);
    CHECK(got >= 256 * 1024);
    CHECK_EQ_U(net_free(n), 0);
}

/* A receiver that takes in every waiting packet before it reads (as a process pumping a
 * socket does) lets its buffer fill: no segment inside the window it advertised may be
 * dropped for want of room, on a link that loses nothing. */
TEST(full_receive_buffer_drops_nothing_the_window_offered)
{
    net *n = net_new();
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
               (r = wtcp_send(n->a, ca, src + sent % sizeof src,
                              (size_t)(sizeof src - sent % sizeof src))) > 0)
            sent += (uint64_t)r;
        net_run(n, 1); /* every packet in flight arrives before B reads */
        /* B reads less per millisecond than the link carries: its buffer fills. */
        if ((r = wtcp_recv(n->b, cb, sink, sizeof sink)) > 0) {
            for (int i = 0; i < r; i++)
                bad |= sink[i] != src[(got + (uint64_t)i) % sizeof src];
            got += (uint64_t)r;
        }
    }
    CHECK_EQ_U(got, total);
    CHECK_EQ_I(bad, 0);
    wtcp_stats sb;
    wtcp_stats_get(n->b, &sb);
    CHECK_EQ_U(sb.drop[WTCP_DROP_TCP_OUT_OF_WINDOW], 0);
    wtcp_info ia;
    CHECK_EQ_I(wtcp_info_get(n->a, ca, &ia), 0);
    CHECK_EQ_U(ia.retransmits, 0);
    CHECK_EQ_U(net_free(n), 0);
}

/* WTCP_TCP_CONGESTION: CUBIC by default, NewReno on request, per socket and per stack; bad
 * values are EINVAL and change nothing; info reports the controller in use. */
TEST(congestion_control_is_chosen_per_socket)
{
    net *n = net_new();
    int ca, cb, lb, v = 0;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    CHECK_EQ_I(wtcp_getsockopt(n->a, ca, WTCP_TCP_CONGESTION, &v), 0);
    CHECK_EQ_I(v, WTCP_CC_CUBIC);
    CHECK_EQ_I(wtcp_setsockopt(n->a, ca, WTCP_TCP_CONGESTION, 99), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_setsockopt(n->a, ca, WTCP_TCP_CONGESTION, 0), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_setsockopt(n->a, ca, WTCP_TCP_CONGESTION, WTCP_CC_NEWRENO), 0);
    CHECK_EQ_I(wtcp_getsockopt(n->a, ca, WTCP_TCP_CONGESTION, &v), 0);
    CHECK_EQ_I(v, WTCP_CC_NEWRENO);
    wtcp_info in;
    CHECK_EQ_I(wtcp_info_get(n->a, ca, &in), 0);
    CHECK_EQ_U(in.congestion, WTCP_CC_NEWRENO);
    CHECK_EQ_U(in.cwnd, 10 * in.snd_mss);
    int u = wtcp_socket(n->a, WTCP_SOCK_DGRAM);
    CHECK_EQ_I(wtcp_setsockopt(n->a, u, WTCP_TCP_CONGESTION, WTCP_CC_CUBIC), WTCP_ENOPROTOOPT);
    CHECK(!strcmp(wtcp_congestion_name(WTCP_CC_CUBIC), "cubic"));
    CHECK(!strcmp(wtcp_congestion_name(WTCP_CC_NEWRENO), "newreno"));
    CHECK(wtcp_congestion_name(7) == NULL);
    CHECK_EQ_U(net_free(n), 0);

    /* A stack-wide default; a bad one is refused by wtcp_stack_new. */
    wtcp_config c;
    wtcp_config_init(&c);
    CHECK_EQ_U(c.congestion, WTCP_CC_CUBIC);
    c.output = out_a;
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
    net *n = net_new();
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    CHECK_EQ_I(wtcp_setsockopt(n->a, ca, WTCP_SO_SNDBUF, 10000), 0);
    CHECK_EQ_I(wtcp_setsockopt(n->b, cb, WTCP_SO_RCVBUF, 8192), 0);
    static uint8_t big[150000];
    CHECK_EQ_I(wtcp_writable(n->a, ca), 10000);
    CHECK_EQ_I(wtcp_send(n->a, ca, big, sizeof big), 10000);
    CHECK_EQ_I(wtcp_send(n->a, ca, big, sizeof big), WTCP_EAGAIN);
    net_run(n, 200);
    /* B takes all of it: the window it offered before stands (it never shrinks)... */
    wtcp_info ib;
    CHECK_EQ_I(wtcp_info_get(n->b, cb, &ib), 0);
    CHECK_EQ_U(ib.rcv_buf_used, 10000);
    wtcp_stats sb;
    wtcp_stats_get(n->b, &sb);
    CHECK_EQ_U(sb.drop[WTCP_DROP_TCP_OUT_OF_WINDOW], 0);
    uint8_t sink[20000];
    int got = 0, r;
    while ((r = wtcp_recv(n->b, cb, sink, sizeof sink)) > 0)
        got += r;
    CHECK_EQ_I(got, 10000);
    /* ... and once the data has used up that offer, what it offers is what the new
     * buffer holds. */
    for (int i = 0; i < 40; i++) {
        if ((r = wtcp_send(n->a, ca, big, sizeof big)) > 0)
            got += r;
        net_run(n, 20);
        while ((r = wtcp_recv(n->b, cb, sink, sizeof sink)) > 0)
            ;
    }
    CHECK(got > 100000);
    CHECK_EQ_I(wtcp_info_get(n->b, cb, &ib), 0);
    CHECK(ib.rcv_wnd <= 8192);
    CHECK_EQ_I(wtcp_info_get(n->a, ca, &ib), 0);
    CHECK(ib.snd_wnd <= 8192);
    int v = 0;
    CHECK_EQ_I(wtcp_getsockopt(n->a, ca, WTCP_SO_SNDBUF, &v), 0);
    CHECK_EQ_I(v, 10000);
    CHECK_EQ_U(net_free(n), 0);
}

/* Buffers come with data and go when idle: an established connection that has moved
 * data and then stays idle holds no buffer at all. */
TEST(idle_connection_releases_its_buffers)
{
    net *n = net_new();
    int ca, cb, lb;
    CHECK_EQ_U(connect_pair(n, &ca, &cb, &lb), 0);
    long idle_allocs = n->allocs;
    static uint8_t buf[60000];
    CHECK_EQ_I(wtcp_send(n->a, ca, buf, sizeof buf), (int)sizeof buf);
    CHECK_EQ_I(wtcp_send(n->b, cb, buf, 5000), 5000);
    net_run(n, 100);
    CHECK(n->allocs > idle_allocs);
    int got = 0, r;
    while ((r = wtcp_recv(n->b, cb, buf, sizeof buf)) > 0)
        got += r;
    CHECK_EQ_I(got, (int)sizeof buf);
    CHECK_EQ_I(wtcp_recv(n->a, ca, buf, sizeof buf), 5000);
    net_run(n, 2000);
    CHECK_EQ_I(n->allocs, idle_allocs);
    /* And they come back when data does. */
    CHECK_EQ_I(wtcp_send(n->a, ca, "again", 5), 5);
    net_run(n, 10);
    CHECK_EQ_I(wtcp_recv(n->b, cb, buf, sizeof buf), 5);
    CHECK_EQ_U(net_free(n), 0);
}

/* An allocator that counts live bytes (a size header in front of each block). */
static size_t live_bytes;
static void *byte_alloc(void *user, void *ptr, size_t size)
{
    (void)user;
    size_t *h = ptr ? (size_t *)ptr - 1 : NULL;
    if (h)
        live_bytes -= *h;
    if (size == 0) {
        free(h);
        return NULL;
    }
    size_t *nh = realloc(h, size + sizeof *nh);
    if (!nh)
        return NULL;
    *nh = size;
    live_bytes += size;
    return nh + 1;
}

/* Ten thousand established, idle connections fit with the default configuration, and
 * each costs at most 4 KiB: buffers come only with data, the socket table grows. */
TEST(ten_thousand_idle_connections_with_defaults)
{
    net *n = calloc(1, sizeof *n);
    wtcp_config c;
    wtcp_config_init(&c);
    c.addr = A_ADDR;
    c.output = out_a;
    c.output_user = n;
    c.alloc = byte_alloc;
    c.max_backlog = 4096;
    live_bytes = 0;
    CHECK_EQ_I(wtcp_stack_new(&c, &n->a), 0);
    c.addr = B_ADDR;
    c.output = out_b;
    CHECK_EQ_I(wtcp_stack_new(&c, &n->b), 0);
    size_t base = live_bytes;
    enum { N = 10000 };
    static int ca[N], cb[N];
    int l = wtcp_socket(n->b, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(n->b, l, 0, 80), 0);
    CHECK_EQ_I(wtcp_listen(n->b, l, N), 0);
    int accepted = 0;
    for (int i = 0; i < N; i++) {
        ca[i] = wtcp_socket(n->a, WTCP_SOCK_STREAM);
        CHECK(ca[i] > 0);
        CHECK_EQ_I(wtcp_connect(n->a, ca[i], B_ADDR, 80), WTCP_EINPROGRESS);
        if (i % 100 == 99 || i == N - 1) {
            net_run(n, 5);
            while (accepted < N && (cb[accepted] = wtcp_accept(n->b, l, NULL, NULL)) > 0)
                accepted++;
        }
    }
    CHECK_EQ_I(accepted, N);
    /* Each side says one thing, then all stay idle past the buffer release. */
    uint8_t b[16];
    for (int i = 0; i < N; i += 97)
        CHECK_EQ_I(wtcp_send(n->a, ca[i], "ping", 4), 4);
    net_run(n, 50);
    int pings = 0, r;
    for (int i = 0; i < N; i++) /* accept order need not be connect order */
        if ((r = wtcp_recv(n->b, cb[i], b, sizeof b)) > 0)
            pings += r;
    CHECK_EQ_I(pings, 4 * ((N + 96) / 97));
    net_run(n, 2000);
    size_t per_conn = (live_bytes - base) / N; /* both ends of each connection */
    printf("    %d idle connections: %zu bytes each (both ends), %zu in all\n", N, per_conn,
           live_bytes);
    CHECK(per_conn <= 4096);
    wtcp_info ia;
    CHECK_EQ_I(wtcp_info_get(n->a, ca[N - 1], &ia), 0);
    CHECK_EQ_I(ia.state, WTCP_ESTABLISHED);
    wtcp_stack_free(n->a);
    wtcp_stack_free(n->b);
    free(n);
    CHECK_EQ_U(live_bytes, 0);
}

UNIT_MAIN(RUN(config_rejects_bad_values), RUN(error_names_and_messages), RUN(address_text),
          RUN(bad_arguments_return_codes), RUN(off_link_without_gateway_is_ENETUNREACH), RUN(stale_handles_are_EBADF), RUN(socket_table_full_is_EMFILE),
          RUN(connect_accept_echo_close_with_events), RUN(connect_to_closed_port_is_ECONNREFUSED),
          RUN(abort_resets_the_peer), RUN(close_with_unread_data_sends_RST),
          RUN(syn_to_vanished_peer_times_out), RUN(data_to_vanished_peer_times_out), RUN(keepalive_probes_a_live_peer_and_fails_a_vanished_one),
          RUN(user_timeout_bounds_unacknowledged_data),
          RUN(backlog_bounds_pending_connections), RUN(two_thousand_concurrent_connections), RUN(udp_exchange_and_port_unreachable),
          RUN(icmp_echo_is_answered), RUN(icmp_port_unreachable_fails_connect), RUN(icmp_frag_needed_lowers_mss_and_resends),
          RUN(malformed_packets_are_dropped_and_counted), RUN(fragments_are_dropped_and_counted),
          RUN(send_buffer_full_is_a_short_write_and_writable_follows),
          RUN(full_receive_buffer_drops_nothing_the_window_offered),
          RUN(congestion_control_is_chosen_per_socket),
          RUN(buffer_sizes_apply_to_an_established_connection), RUN(idle_connection_releases_its_buffers),
          RUN(ten_thousand_idle_connections_with_defaults))
