/* get.c: wtcp-get.wasm HOST:PORT REQUEST OUT_FILE, a small netcat/curl: send a request, save the whole response. */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_SIZE (64u * 1024u)

typedef struct client {
    wtcp_sock s;
    const char *target, *out_path;
    const uint8_t *req; /* the request: req[req_off..req_len) still to send */
    size_t req_off, req_len;
    int connected, shut, done, out_fd;
    uint64_t received;
    double seconds;     /* -t */
    uint8_t buf[BUF_SIZE];
} client;

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [-r] [-t SECONDS] HOST:PORT REQUEST OUT_FILE\n"
            "Connects to HOST:PORT, sends REQUEST, half-closes, and writes every byte the\n"
            "server sends until it closes into OUT_FILE (in a preopened directory).\n"
            "REQUEST is a file to send (in a preopened directory), or - to send nothing.\n"
            "  -r          REQUEST is the text itself, with \\r \\n \\t \\\\ escapes\n"
            "  -t SECONDS  give up after this long (default: no limit)\n"
            "IPv4 packets travel over stdin/stdout, each preceded by a 2-byte big-endian\n"
            "length; WTCP_ADDR, WTCP_PREFIX, WTCP_GATEWAY and WTCP_MTU set the address\n"
            "(default 10.77.0.2/16, MTU 1500).\n"
            "Exit status: 0 when the server closed cleanly, 1 on errors, 2 on bad usage.\n",
            prog);
}

/* Decodes \r \n \t \\ in place; returns the length. */
static size_t unescape(char *s)
{
    size_t o = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1]) {
            char e = s[++i];
            s[o++] = e == 'r' ? '\r' : e == 'n' ? '\n' : e == 't' ? '\t' : e;
        } else {
            s[o++] = s[i];
        }
    }
    s[o] = 0;
    return o;
}

/* Reads a whole file into memory. Returns NULL with a message on failure. */
static uint8_t *read_file(const char *prog, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s: %s (is its directory preopened?)\n", prog, path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    uint8_t *p = malloc(cap);
    while (p) {
        n += fread(p + n, 1, cap - n, f);
        if (n < cap)
            break;
        uint8_t *q = realloc(p, cap * 2);
        if (!q) {
            free(p);
            p = NULL;
            break;
        }
        p = q;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!p || bad) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, p ? "read error" : "out of memory");
        free(p);
        return NULL;
    }
    *len = n;
    return p;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void finish(loop *l, client *c, int status)
{
    c->done = 1;
    wtcp_close(l->stack, c->s);
    loop_stop(l, status);
}

static void pump(loop *l, client *c)
{
    while (c->req_off < c->req_len) {
        int n = wtcp_send(l->stack, c->s, c->req + c->req_off, c->req_len - c->req_off);
        if (n == WTCP_EAGAIN)
            break;
        if (n < 0) {
            loop_fail(l, "sending to %s: %s", c->target, wtcp_strerror(n));
            finish(l, c, 1);
            return;
        }
        c->req_off += (size_t)n;
    }
    if (c->req_off == c->req_len && !c->shut) {
        wtcp_shutdown(l->stack, c->s, WTCP_SHUT_WR);
        c->shut = 1;
    }
    for (;;) {
        int n = wtcp_recv(l->stack, c->s, c->buf, sizeof c->buf);
        if (n == WTCP_EAGAIN)
            return;
        if (n < 0) {
            loop_fail(l, "receiving from %s: %s", c->target, wtcp_strerror(n));
            finish(l, c, 1);
            return;
        }
        if (n == 0) {
            if (l->verbose)
                fprintf(stderr, "%s: %llu bytes from %s written to %s\n", l->prog,
                        (unsigned long long)c->received, c->target, c->out_path);
            finish(l, c, 0);
            return;
        }
        if (write_all(c->out_fd, c->buf, (size_t)n) < 0) {
            loop_fail(l, "%s: %s", c->out_path, strerror(errno));
            wtcp_abort(l->stack, c->s);
            c->done = 1;
            return;
        }
        c->received += (uint64_t)n;
    }
}

static void on_event(loop *l, wtcp_sock s, uint32_t events)
{
    client *c = l->user;
    if (s != c->s || c->done)
        return;
    if (!c->connected && (events & WTCP_EV_ERROR)) {
        int err = 0;
        wtcp_getsockopt(l->stack, s, WTCP_SO_ERROR, &err);
        loop_fail(l, "connect to %s: %s", c->target, wtcp_strerror(err ? err : WTCP_ECONNABORTED));
        finish(l, c, 1);
        return;
    }
    if (events & WTCP_EV_CONNECTED)
        c->connected = 1;
    if (c->connected)
        pump(l, c);
}

static void on_timer(loop *l)
{
    client *c = l->user;
    if (c->done)
        return;
    loop_fail(l, "%s: gave up after %g s (%llu bytes received)", c->target, c->seconds,
              (unsigned long long)c->received);
    wtcp_abort(l->stack, c->s);
    c->done = 1;
}

static int on_net_closed(loop *l)
{
    client *c = l->user;
    if (c->done)
        return 0;
    fprintf(stderr, "%s: the network (stdin) closed before %s closed the connection (%llu bytes received)\n",
            l->prog, c->target, (unsigned long long)c->received);
    return 1;
}

int main(int argc, char **argv)
{
    const char *prog = "wtcp-get";
    int raw = 0, i = 1;
    double seconds = 0;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (!strcmp(argv[i], "-r")) {
            raw = 1;
        } else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
            char *end;
            seconds = strtod(argv[++i], &end);
            if (*end || !(seconds > 0)) {
                usage(prog);
                return 2;
            }
        } else if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else {
            usage(prog);
            return 2;
        }
    }
    static client c;
    uint32_t addr;
    uint16_t port;
    if (argc - i != 3 || loop_parse_hostport(argv[i], &addr, &port) < 0) {
        usage(prog);
        return 2;
    }
    c.target = argv[i];
    c.out_path = argv[i + 2];
    uint8_t *owned = NULL;
    if (raw) {
        c.req_len = unescape(argv[i + 1]);
        c.req = (const uint8_t *)argv[i + 1];
    } else if (strcmp(argv[i + 1], "-") != 0) {
        owned = read_file(prog, argv[i + 1], &c.req_len);
        if (!owned)
            return 1;
        c.req = owned;
    }
    c.out_fd = open(c.out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (c.out_fd < 0) {
        fprintf(stderr, "%s: %s: %s (is its directory preopened?)\n", prog, c.out_path,
                strerror(errno));
        free(owned);
        return 1;
    }

    loop l;
    if (loop_init(&l, prog) < 0) {
        free(owned);
        close(c.out_fd);
        return 1;
    }
    c.seconds = seconds;
    if (seconds > 0) {
        l.timer_at = l.now + (uint64_t)(seconds * 1000);
        l.on_timer = on_timer;
    }
    int s = wtcp_socket(l.stack, WTCP_SOCK_STREAM);
    int r = s;
    if (s >= 0) {
        c.s = s;
        r = wtcp_connect(l.stack, s, addr, port);
    }
    if (r < 0 && r != WTCP_EINPROGRESS) {
        fprintf(stderr, "%s: connect to %s: %s\n", prog, c.target, wtcp_strerror(r));
        loop_free(&l);
        free(owned);
        close(c.out_fd);
        return 1;
    }
    l.user = &c;
    l.on_event = on_event;
    l.on_net_closed = on_net_closed;
    int status = loop_run(&l);
    if (close(c.out_fd) != 0 && status == 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, c.out_path, strerror(errno));
        status = 1;
    }
    loop_free(&l);
    free(owned);
    return status;
}
