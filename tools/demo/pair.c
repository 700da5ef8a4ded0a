/* pair.c (make demo-pair): two wtcp stacks wired together in memory, an HTTP-like exchange between them.
 *
 * Stack A (10.0.0.1) is the client, stack B (10.0.0.2) runs a server on port 80. The
 * link delays every packet 10 ms each way and loses nothing. Time is virtual: the demo
 * jumps from one deadline to the next, so it prints at once what takes ~0.3 s of
 * "network time" (plus the 60 s TIME-WAIT at the end).
 *
 * The client sends a request, the server answers with a 1 MiB body and half-closes,
 * the client reads it all and closes, the server closes. Printed: every state change
 * as it happens, a TCP_INFO-like table per connection at the end of the transfer, and
 * the stacks' counters. Exit status 0 on success, 1 with a message on failure.
 *
 * The stacks, the link and the clock are the shared test harness's (tests/harness/).
 */
#include <wtcp.h>

#include "harness.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADDR_CLIENT 0x0a000001u /* 10.0.0.1 */
#define ADDR_SERVER 0x0a000002u /* 10.0.0.2 */
#define SERVER_PORT 80
#define ONE_WAY_MS 10
#define BODY_LEN (1u << 20)
#define MAX_VIRTUAL_MS (600u * 1000u)

static const char request[] = "GET /big.bin HTTP/1.1\r\n"
                              "Host: 10.0.0.2\r\n"
                              "User-Agent: wtcp-demo/0.1\r\n"
                              "Connection: close\r\n"
                              "\r\n";

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("demo: FAILED: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ------------------------------------------------------------------ state trace */

/* The state hook must not call back into the stack, so it only records; the main loop
 * prints the records (and looks up addresses) once the stack has returned. */
typedef struct state_rec {
    uint64_t t;
    int side;
    int32_t sock;
    int old_state, new_state;
} state_rec;

typedef struct endpoint {
    int side;
    int32_t sock;
    uint32_t laddr, raddr;
    uint16_t lport, rport;
} endpoint;

typedef struct demo {
    harness *h; /* stack 0 the client, 1 the server; 10 ms each way */
    wtcp_stack *st[2];
    state_rec recs[64];
    int nrecs;
    endpoint eps[16];
    int neps;
    uint16_t client_port;
    int32_t listener;
} demo;

typedef struct hook_ctx {
    demo *d;
    int side;
} hook_ctx;

static void on_state(void *user, int32_t sock, int old_state, int new_state)
{
    hook_ctx *h = user;
    demo *d = h->d;
    if (d->nrecs < (int)(sizeof d->recs / sizeof d->recs[0]))
        d->recs[d->nrecs++] = (state_rec){d->h->now, h->side, sock, old_state, new_state};
}

static endpoint *find_ep(demo *d, int side, int32_t sock)
{
    for (int i = 0; i < d->neps; i++)
        if (d->eps[i].side == side && d->eps[i].sock == sock)
            return &d->eps[i];
    return NULL;
}

/* Learns a socket's addresses while its handle is valid. */
static void remember(demo *d, int side, int32_t sock)
{
    endpoint e = {.side = side, .sock = sock};
    if (wtcp_getsockname(d->st[side], sock, &e.laddr, &e.lport) < 0)
        return;
    if (wtcp_getpeername(d->st[side], sock, &e.raddr, &e.rport) < 0)
        e.raddr = 0, e.rport = 0;
    endpoint *old = find_ep(d, side, sock);
    if (old) {
        if (e.rport || !old->rport)
            *old = e;
        return;
    }
    if (d->neps < (int)(sizeof d->eps / sizeof d->eps[0]))
        d->eps[d->neps++] = e;
}

static void fmt_ep(char *out, size_t n, uint32_t addr, uint16_t port)
{
    char a[16];
    wtcp_addr_format(addr, a);
    snprintf(out, n, "%s:%u", a, port);
}

static void flush_states(demo *d)
{
    for (int i = 0; i < d->nrecs; i++) {
        state_rec *r = &d->recs[i];
        remember(d, r->side, r->sock);
        endpoint *e = find_ep(d, r->side, r->sock);
        char l[24] = "?", rm[24] = "*";
        uint32_t laddr = r->side ? ADDR_SERVER : ADDR_CLIENT;
        uint16_t lport = r->side ? SERVER_PORT : d->client_port;
        uint32_t raddr = 0;
        uint16_t rport = 0;
        if (e) {
            laddr = e->laddr;
            lport = e->lport;
            raddr = e->raddr;
            rport = e->rport;
        }
        /* A connection the server has not accepted yet, or has closed, may not tell its
         * addresses: in this demo there is only one, so its peer is the client. */
        if (!rport && r->side == 1 && r->sock != d->listener)
            raddr = ADDR_CLIENT, rport = d->client_port;
        if (!rport && r->side == 0)
            raddr = ADDR_SERVER, rport = SERVER_PORT;
        fmt_ep(l, sizeof l, laddr, lport);
        if (rport)
            fmt_ep(rm, sizeof rm, raddr, rport);
        printf("  t=%6" PRIu64 " ms  %-6s  %-21s -> %-21s  %s -> %s\n", r->t,
               r->side ? "server" : "client", l, rm, wtcp_state_name(r->old_state),
               wtcp_state_name(r->new_state));
    }
    d->nrecs = 0;
}

/* ------------------------------------------------------------------ applications */

typedef struct client {
    wtcp_sock sock;
    int connected, sent_request, done;
    size_t req_off;
    char head[1024];
    size_t head_len;
    int head_done;
    uint64_t content_length, body_got;
    uint64_t t_connected, t_first_byte, t_done;
    wtcp_info info;
} client;

typedef struct server {
    wtcp_sock lsock, sock;
    char req[2048];
    size_t req_len;
    int got_request, shut, done;
    char head[256];
    size_t head_len, head_off;
    uint64_t body_off;
    wtcp_info info;
} server;

static uint8_t body_byte(uint64_t i) { return (uint8_t)((i * 131u + (i >> 16)) & 0xff); }

static void check(int r, const char *what)
{
    if (r < 0 && r != WTCP_EAGAIN && r != WTCP_EINPROGRESS)
        die("%s: %s (%s)", what, wtcp_strerror(r), wtcp_errname(r));
}

static void client_io(demo *d, client *c)
{
    wtcp_stack *st = d->st[0];
    if (!c->connected || c->done)
        return;
    while (c->req_off < sizeof request - 1) {
        int n = wtcp_send(st, c->sock, request + c->req_off, sizeof request - 1 - c->req_off);
        if (n == WTCP_EAGAIN)
            break;
        check(n, "client send");
        c->req_off += (size_t)n;
    }
    if (c->req_off == sizeof request - 1 && !c->sent_request) {
        c->sent_request = 1;
        printf("  t=%6" PRIu64 " ms  client  sent request (%zu bytes): GET /big.bin\n",
               d->h->now, sizeof request - 1);
    }
    uint8_t buf[16384];
    for (;;) {
        int n = wtcp_recv(st, c->sock, buf, sizeof buf);
        if (n == WTCP_EAGAIN)
            return;
        check(n, "client recv");
        if (n == 0) {
            if (!c->head_done)
                die("client: connection closed before the response header");
            if (c->body_got != c->content_length)
                die("client: body ended after %" PRIu64 " of %" PRIu64 " bytes", c->body_got,
                    c->content_length);
            c->t_done = d->h->now;
            printf("  t=%6" PRIu64 " ms  client  end of stream: %" PRIu64
                   " body bytes, all verified; closing\n",
                   d->h->now, c->body_got);
            check(wtcp_info_get(st, c->sock, &c->info), "client info");
            check(wtcp_close(st, c->sock), "client close");
            c->done = 1;
            return;
        }
        if (!c->t_first_byte)
            c->t_first_byte = d->h->now;
        size_t i = 0;
        while (!c->head_done && i < (size_t)n) {
            if (c->head_len + 1 >= sizeof c->head)
                die("client: response header too long");
            c->head[c->head_len++] = (char)buf[i++];
            c->head[c->head_len] = 0;
            if (c->head_len >= 4 && !memcmp(c->head + c->head_len - 4, "\r\n\r\n", 4)) {
                c->head_done = 1;
                if (strncmp(c->head, "HTTP/1.1 200 ", 13) != 0)
                    die("client: unexpected status line");
                const char *cl = strstr(c->head, "Content-Length: ");
                if (!cl)
                    die("client: no Content-Length");
                c->content_length = strtoull(cl + 16, NULL, 10);
                printf("  t=%6" PRIu64 " ms  client  response: HTTP/1.1 200 OK, Content-Length %" PRIu64
                       "\n",
                       d->h->now, c->content_length);
            }
        }
        for (; i < (size_t)n; i++, c->body_got++) {
            if (c->body_got >= c->content_length)
                die("client: more body than Content-Length");
            if (buf[i] != body_byte(c->body_got))
                die("client: wrong body byte at offset %" PRIu64, c->body_got);
        }
    }
}

static void server_io(demo *d, server *s)
{
    wtcp_stack *st = d->st[1];
    if (s->sock < 0 || s->done)
        return;
    uint8_t buf[16384];
    for (;;) {
        int n = wtcp_recv(st, s->sock, buf, sizeof buf);
        if (n == WTCP_EAGAIN)
            break;
        check(n, "server recv");
        if (n == 0) {
            if (!s->shut)
                die("server: client closed before the response was sent");
            printf("  t=%6" PRIu64 " ms  server  client closed its side; closing\n",
                   d->h->now);
            check(wtcp_info_get(st, s->sock, &s->info), "server info");
            check(wtcp_close(st, s->sock), "server close");
            s->done = 1;
            return;
        }
        if (s->got_request)
            die("server: data after the request");
        if (s->req_len + (size_t)n >= sizeof s->req)
            die("server: request too long");
        memcpy(s->req + s->req_len, buf, (size_t)n);
        s->req_len += (size_t)n;
        s->req[s->req_len] = 0;
        if (strstr(s->req, "\r\n\r\n")) {
            s->got_request = 1;
            char line[64];
            size_t k = strcspn(s->req, "\r");
            snprintf(line, sizeof line, "%.*s", (int)(k < 60 ? k : 60), s->req);
            printf("  t=%6" PRIu64 " ms  server  request: %s; answering with %u bytes\n",
                   d->h->now, line, BODY_LEN);
            s->head_len = (size_t)snprintf(s->head, sizeof s->head,
                                           "HTTP/1.1 200 OK\r\n"
                                           "Content-Type: application/octet-stream\r\n"
                                           "Content-Length: %u\r\n"
                                           "Connection: close\r\n"
                                           "\r\n",
                                           BODY_LEN);
        }
    }
    if (!s->got_request || s->shut)
        return;
    while (s->head_off < s->head_len) {
        int n = wtcp_send(st, s->sock, s->head + s->head_off, s->head_len - s->head_off);
        if (n == WTCP_EAGAIN)
            return;
        check(n, "server send");
        s->head_off += (size_t)n;
    }
    while (s->body_off < BODY_LEN) {
        uint8_t chunk[16384];
        size_t want = BODY_LEN - s->body_off;
        if (want > sizeof chunk)
            want = sizeof chunk;
        for (size_t i = 0; i < want; i++)
            chunk[i] = body_byte(s->body_off + i);
        int n = wtcp_send(st, s->sock, chunk, want);
        if (n == WTCP_EAGAIN)
            return;
        check(n, "server send");
        s->body_off += (uint64_t)n;
        if ((size_t)n < want)
            return;
    }
    printf("  t=%6" PRIu64 " ms  server  whole response queued; shutdown(SHUT_WR)\n",
           d->h->now);
    check(wtcp_shutdown(st, s->sock, WTCP_SHUT_WR), "server shutdown");
    s->shut = 1;
}

static int client_events(demo *d, client *c)
{
    wtcp_event ev;
    int n = 0;
    while (harness_next_event(d->h, 0, &ev)) {
        n++;
        if (ev.sock != c->sock || c->done)
            continue;
        if (ev.events & WTCP_EV_ERROR) {
            int err = 0;
            wtcp_getsockopt(d->st[0], c->sock, WTCP_SO_ERROR, &err);
            die("client: connection failed: %s", wtcp_strerror(err));
        }
        if ((ev.events & WTCP_EV_CONNECTED) && !c->connected) {
            c->connected = 1;
            c->t_connected = d->h->now;
            remember(d, 0, c->sock);
        }
        client_io(d, c);
    }
    return n;
}

static int server_events(demo *d, server *s)
{
    wtcp_event ev;
    int n = 0;
    while (harness_next_event(d->h, 1, &ev)) {
        n++;
        if (ev.sock == s->lsock && (ev.events & WTCP_EV_ACCEPTABLE)) {
            uint32_t addr;
            uint16_t port;
            int k = wtcp_accept(d->st[1], s->lsock, &addr, &port);
            if (k == WTCP_EAGAIN)
                continue;
            check(k, "accept");
            char peer[24];
            fmt_ep(peer, sizeof peer, addr, port);
            printf("  t=%6" PRIu64 " ms  server  accepted a connection from %s\n", d->h->now,
                   peer);
            s->sock = k;
            remember(d, 1, k);
            server_io(d, s);
            continue;
        }
        if (ev.sock != s->sock || s->done)
            continue;
        if (ev.events & WTCP_EV_ERROR) {
            int err = 0;
            wtcp_getsockopt(d->st[1], s->sock, WTCP_SO_ERROR, &err);
            die("server: connection failed: %s", wtcp_strerror(err));
        }
        server_io(d, s);
    }
    return n;
}

typedef struct apps {
    demo *d;
    client *c;
    server *s;
} apps;

/* After both stacks were polled: the client's events, then the server's. State changes
 * print before the client handles anything, and after the server did. */
static int app_events(void *user, harness *h, int i)
{
    apps *a = user;
    (void)h;
    if (i == 0) {
        flush_states(a->d);
        return client_events(a->d, a->c);
    }
    int n = server_events(a->d, a->s);
    flush_states(a->d);
    return n;
}

/* ------------------------------------------------------------------ report */

static void print_info(const client *c, const server *s)
{
    const wtcp_info *in[2] = {&c->info, &s->info};
    char a[2][24], b[2][24];
    for (int i = 0; i < 2; i++) {
        fmt_ep(a[i], sizeof a[i], in[i]->local_addr, in[i]->local_port);
        fmt_ep(b[i], sizeof b[i], in[i]->remote_addr, in[i]->remote_port);
    }
    printf("\nConnection figures at the end of the transfer (wtcp_info_get):\n\n");
    printf("  %-22s %-22s %-22s\n", "", "client", "server");
    printf("  %-22s %-22s %-22s\n", "local", a[0], a[1]);
    printf("  %-22s %-22s %-22s\n", "remote", b[0], b[1]);
    printf("  %-22s %-22s %-22s\n", "state", wtcp_state_name(in[0]->state),
           wtcp_state_name(in[1]->state));
#define ROW_U64(label, field)                                                                \
    printf("  %-22s %-22" PRIu64 " %-22" PRIu64 "\n", label, (uint64_t)in[0]->field,         \
           (uint64_t)in[1]->field)
#define ROW_MS(label, field)                                                                 \
    do {                                                                                     \
        char x[2][24];                                                                       \
        for (int i = 0; i < 2; i++)                                                          \
            snprintf(x[i], sizeof x[i], "%" PRIu32 " ms", in[i]->field);                     \
        printf("  %-22s %-22s %-22s\n", label, x[0], x[1]);                                  \
    } while (0)
    ROW_U64("bytes sent", bytes_sent);
    ROW_U64("bytes acked", bytes_acked);
    ROW_U64("bytes received", bytes_received);
    ROW_U64("segments in", segs_in);
    ROW_U64("segments out", segs_out);
    ROW_U64("retransmits", retransmits);
    ROW_U64("bytes in flight", unacked);
    ROW_U64("cwnd (bytes)", cwnd);
    {
        char x[2][24];
        for (int i = 0; i < 2; i++) {
            if (in[i]->ssthresh >= 0x7fffffffu)
                snprintf(x[i], sizeof x[i], "infinite");
            else
                snprintf(x[i], sizeof x[i], "%" PRIu32, in[i]->ssthresh);
        }
        printf("  %-22s %-22s %-22s\n", "ssthresh (bytes)", x[0], x[1]);
    }
    ROW_MS("srtt", srtt_ms);
    ROW_MS("rttvar", rttvar_ms);
    ROW_MS("rto", rto_ms);
    ROW_U64("rto backoff", backoff);
    ROW_U64("send window (peer)", snd_wnd);
    ROW_U64("receive window", rcv_wnd);
    {
        char x[2][24];
        for (int i = 0; i < 2; i++)
            snprintf(x[i], sizeof x[i], "%u / %u", in[i]->snd_wscale, in[i]->rcv_wscale);
        printf("  %-22s %-22s %-22s\n", "wscale snd / rcv", x[0], x[1]);
        for (int i = 0; i < 2; i++)
            snprintf(x[i], sizeof x[i], "%" PRIu32 " / %" PRIu32, in[i]->snd_mss, in[i]->rcv_mss);
        printf("  %-22s %-22s %-22s\n", "mss snd / rcv", x[0], x[1]);
        for (int i = 0; i < 2; i++)
            snprintf(x[i], sizeof x[i], "%s%s%s", in[i]->ts_ok ? "timestamps " : "",
                     in[i]->sack_ok ? "sack" : "",
                     !in[i]->ts_ok && !in[i]->sack_ok ? "-" : "");
        printf("  %-22s %-22s %-22s\n", "options", x[0], x[1]);
    }
    ROW_U64("send buffer used", snd_buf_used);
    ROW_U64("receive buffer used", rcv_buf_used);
#undef ROW_U64
#undef ROW_MS
}

static void print_stats(demo *d)
{
    wtcp_stats s[2];
    wtcp_stats_get(d->st[0], &s[0]);
    wtcp_stats_get(d->st[1], &s[1]);
    printf("\nStack counters (wtcp_stats_get):\n\n");
    printf("  %-22s %-22s %-22s\n", "", "A 10.0.0.1 (client)", "B 10.0.0.2 (server)");
#define ROW(label, field)                                                                    \
    printf("  %-22s %-22" PRIu64 " %-22" PRIu64 "\n", label, s[0].field, s[1].field)
    ROW("ip packets in", ip_in);
    ROW("ip packets out", ip_out);
    ROW("ip bytes in", ip_in_bytes);
    ROW("ip bytes out", ip_out_bytes);
    ROW("tcp segments in", tcp_in);
    ROW("tcp segments out", tcp_out);
    ROW("tcp retransmits", tcp_retransmits);
    ROW("tcp RSTs sent", tcp_rst_out);
    ROW("tcp challenge ACKs", tcp_challenge_acks);
    ROW("active opens", tcp_active_opens);
    ROW("passive opens", tcp_passive_opens);
    ROW("failed connections", tcp_conn_failed);
    ROW("drops", drops);
#undef ROW
    for (int k = 0; k < WTCP_DROP_COUNT; k++)
        if (s[0].drop[k] || s[1].drop[k])
            printf("    %-40s %8" PRIu64 " %8" PRIu64 "\n", wtcp_drop_name(k), s[0].drop[k],
                   s[1].drop[k]);
}

/* ------------------------------------------------------------------ main */

int main(void)
{
    static demo d;
    hook_ctx hooks[2] = {{&d, 0}, {&d, 1}};
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!(d.h = harness_new(0)))
        die("out of memory");
    for (int i = 0; i < 2; i++) {
        wtcp_config cfg;
        wtcp_config_init(&cfg);
        cfg.addr = i ? ADDR_SERVER : ADDR_CLIENT;
        cfg.prefix_len = 24;
        cfg.mtu = 1500;
        for (int k = 0; k < 16; k++) /* a demo: fixed keys, so every run prints the same */
            cfg.isn_key[k] = (uint8_t)(0x5a ^ (k * 29) ^ (i * 101));
        cfg.on_state = on_state;
        cfg.state_user = &hooks[i];
        int r = harness_add_stack(d.h, &cfg);
        if (r < 0)
            die("wtcp_stack_new: %s", wtcp_strerror(r));
        d.st[i] = d.h->node[r].st;
    }
    harness_faults link = {.delay_ms = ONE_WAY_MS};
    harness_set_faults_all(d.h, &link);

    printf("wtcp %d.%d demo: two stacks in memory, %d ms one way, no loss (virtual time)\n",
           WTCP_VERSION_MAJOR, WTCP_VERSION_MINOR, ONE_WAY_MS);
    printf("  client: stack A 10.0.0.1    server: stack B 10.0.0.2 port %d\n\n", SERVER_PORT);

    server s = {.lsock = -1, .sock = -1};
    client c = {.sock = -1};
    int r;
    check(r = wtcp_socket(d.st[1], WTCP_SOCK_STREAM), "server socket");
    s.lsock = r;
    d.listener = r;
    check(wtcp_bind(d.st[1], s.lsock, 0, SERVER_PORT), "bind");
    check(wtcp_listen(d.st[1], s.lsock, 16), "listen");
    remember(&d, 1, s.lsock);
    flush_states(&d);

    check(r = wtcp_socket(d.st[0], WTCP_SOCK_STREAM), "client socket");
    c.sock = r;
    r = wtcp_connect(d.st[0], c.sock, ADDR_SERVER, SERVER_PORT);
    if (r != WTCP_EINPROGRESS)
        check(r < 0 ? r : WTCP_EINVAL, "connect");
    {
        uint32_t a;
        uint16_t p;
        if (wtcp_getsockname(d.st[0], c.sock, &a, &p) == 0)
            d.client_port = p;
    }
    remember(&d, 0, c.sock);
    flush_states(&d);

    apps ctx = {&d, &c, &s};
    int finished = 0;
    for (;;) {
        while (harness_deliver_one(d.h))
            flush_states(&d);
        harness_poll_quiet(d.h, app_events, &ctx);
        flush_states(&d);
        if (d.h->failed)
            die("%s", d.h->why);
        if (c.done && s.done && !finished) {
            finished = 1;
            printf("  t=%6" PRIu64 " ms  both applications done; the stacks finish the close "
                   "(TIME-WAIT lasts 60 s)\n",
                   d.h->now);
        }
        uint64_t next = harness_next(d.h);
        if (next == WTCP_NEVER)
            break;
        harness_advance(d.h, next);
        if (d.h->now > MAX_VIRTUAL_MS)
            die("not finished after %u s of virtual time (client %s, server %s)",
                MAX_VIRTUAL_MS / 1000, c.done ? "done" : "busy", s.done ? "done" : "busy");
    }
    if (!c.done || !s.done)
        die("the stacks went idle before the exchange finished (client %s, server %s)",
            c.done ? "done" : "busy", s.done ? "done" : "busy");
    printf("  t=%6" PRIu64 " ms  both stacks idle: nothing in flight, no timers\n",
           d.h->now);

    print_info(&c, &s);
    print_stats(&d);

    double secs = (double)(c.t_done - c.t_connected) / 1000.0;
    printf("\nResult: %u-byte body received and verified; connect %" PRIu64
           " ms, first byte %" PRIu64 " ms, done %" PRIu64 " ms",
           BODY_LEN, c.t_connected, c.t_first_byte, c.t_done);
    if (secs > 0)
        printf(" (%.1f Mbit/s over a %d ms RTT)", (double)BODY_LEN * 8 / secs / 1e6,
               2 * ONE_WAY_MS);
    printf(".\n");
    wtcp_close(d.st[1], s.lsock);
    uint64_t leaked = harness_free(d.h);
    if (leaked)
        die("the stacks leaked %" PRIu64 " blocks", leaked);
    printf("demo: OK\n");
    return 0;
}
