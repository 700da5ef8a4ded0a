/* echo.c: wtcp-echo.wasm PORT, a TCP echo server (RFC 862) on the packet link of loop.c. */
#include "loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_SIZE 16384

typedef struct conn {
    struct conn *next;
    wtcp_sock s;
    size_t off, len; /* bytes received and not yet sent back: buf[off..len) */
    int eof;         /* the peer finished sending */
    uint8_t buf[BUF_SIZE];
} conn;

typedef struct server {
    wtcp_sock listener;
    conn *conns;
} server;

static void conn_free(server *sv, conn *c)
{
    for (conn **pp = &sv->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    free(c);
}

/* Moves bytes from the receive side to the send side until one of them blocks. */
static void pump(loop *l, server *sv, conn *c)
{
    for (;;) {
        if (c->off < c->len) {
            int n = wtcp_send(l->stack, c->s, c->buf + c->off, c->len - c->off);
            if (n == WTCP_EAGAIN)
                return; /* WTCP_EV_WRITABLE comes back here */
            if (n < 0)
                break;
            c->off += (size_t)n;
            if (c->off < c->len)
                return;
        }
        c->off = c->len = 0;
        if (c->eof)
            break; /* all echoed: close (FIN) */
        int n = wtcp_recv(l->stack, c->s, c->buf, sizeof c->buf);
        if (n == WTCP_EAGAIN)
            return;
        if (n < 0)
            break;
        if (n == 0)
            c->eof = 1;
        c->len = (size_t)n;
    }
    wtcp_close(l->stack, c->s);
    conn_free(sv, c);
}

static void on_event(loop *l, wtcp_sock s, uint32_t events)
{
    server *sv = l->user;
    if (s == sv->listener) {
        if (!(events & WTCP_EV_ACCEPTABLE))
            return;
        for (;;) {
            int cs = wtcp_accept(l->stack, sv->listener, NULL, NULL);
            if (cs < 0)
                break;
            conn *c = calloc(1, sizeof *c);
            if (!c) {
                wtcp_abort(l->stack, cs);
                continue;
            }
            c->s = cs;
            c->next = sv->conns;
            sv->conns = c;
            pump(l, sv, c);
        }
        return;
    }
    for (conn *c = sv->conns; c; c = c->next)
        if (c->s == s) {
            pump(l, sv, c);
            return;
        }
}

int main(int argc, char **argv)
{
    const char *prog = "wtcp-echo";
    uint16_t port;
    if (argc != 2 || loop_parse_port(argv[1], &port) < 0) {
        fprintf(stderr,
                "usage: %s PORT\n"
                "A TCP echo server on PORT. IPv4 packets travel over stdin/stdout, each\n"
                "preceded by a 2-byte big-endian length; WTCP_ADDR, WTCP_PREFIX, WTCP_GATEWAY\n"
                "and WTCP_MTU set the address (default 10.77.0.2/16, MTU 1500).\n",
                prog);
        return 2;
    }
    loop l;
    if (loop_init(&l, prog) < 0)
        return 1;
    server sv = {0};
    int s = wtcp_socket(l.stack, WTCP_SOCK_STREAM);
    int r = s < 0 ? s : wtcp_bind(l.stack, s, 0, port);
    if (r >= 0)
        r = wtcp_listen(l.stack, s, 128);
    if (r < 0) {
        fprintf(stderr, "%s: listen on port %u: %s\n", prog, (unsigned)port, wtcp_strerror(r));
        loop_free(&l);
        return 1;
    }
    sv.listener = s;
    l.user = &sv;
    l.on_event = on_event;
    if (l.verbose)
        fprintf(stderr, "%s: echoing on port %u\n", prog, (unsigned)port);
    int status = loop_run(&l);
    while (sv.conns)
        conn_free(&sv, sv.conns);
    loop_free(&l);
    return status;
}
