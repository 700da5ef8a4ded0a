/* peer.c: the network for wasi/test.sh: a native wtcp stack that talks framed packets with a WASI command over its stdin/stdout.
 *
 * usage: peer [--timeout SECONDS] [--status N] MODE ARGS... -- COMMAND [ARG]...
 *
 * Runs COMMAND (e.g. node wasi/run.mjs build/wasi/wtcp-httpd.wasm 80 /www) with pipes as
 * its stdin and stdout, and plays the relay's side of the link: the child is 10.77.0.2
 * (its defaults), the peer's own stack is 10.77.0.1. Then, per MODE:
 *
 *   http PORT OUTPREFIX REQ...  one keep-alive connection to the child's PORT; each REQ
 *                               ("PATH" for GET, or "HEAD PATH") is sent after the previous
 *                               response; response i's body goes to OUTPREFIX.i and a line
 *                               "i METHOD PATH STATUS BYTES MS MB/s" to stdout (from the
 *                               request to the last body byte). Then a
 *                               half-close, the server's close, and the end of its stdin.
 *   echo PORT BYTES             sends BYTES of a pattern to the child's PORT, checks that
 *                               the same bytes come back, closes, ends the child's stdin.
 *   serve PORT FILE             listens on PORT; answers the first connection's request
 *                               with "HTTP/1.1 200 OK", Content-Length and FILE, closes;
 *                               waits for the child to exit on its own.
 *   raw PORT TEXT OUTFILE       connects to the child's PORT, sends TEXT (\r \n escapes),
 *                               half-closes, writes all it receives until the child
 *                               closes to OUTFILE, then ends the child's stdin.
 *   idle                        only the link: waits for the child to exit on its own.
 *
 * Exit status 0 when the scenario succeeded and the child exited with status N (--status,
 * default 0); 1 otherwise, with the reason on stderr.
 */
#define _POSIX_C_SOURCE 200809L

#include <wtcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PEER_ADDR 0x0a4d0001u  /* 10.77.0.1 */
#define CHILD_ADDR 0x0a4d0002u /* 10.77.0.2 */
#define IN_CAP (1u << 20)

enum mode { M_HTTP, M_ECHO, M_SERVE, M_RAW, M_IDLE };

typedef struct peer {
    wtcp_stack *st;
    int mode;
    uint16_t port;
    pid_t child;
    int to_child, from_child; /* pipe ends; -1 when closed */
    uint8_t *outq;            /* framed packets for the child's stdin */
    size_t outq_len, outq_cap;
    uint8_t *in;
    size_t in_len;
    int done, failed;
    wtcp_sock s, listener;
    uint64_t now;

    /* http */
    char **reqs;
    int nreqs, cur;
    const char *outprefix;
    FILE *body;
    char head[8192];
    size_t head_len;
    int in_body, status, is_head, got_eof;
    long long clen, got;
    uint64_t t_start; /* µs */

    /* raw */
    char *text;
    FILE *raw_out;

    /* echo */
    uint64_t total, sent, checked;

    /* serve */
    uint8_t *file;
    size_t file_len, file_off;
    char req[8192];
    size_t req_len;
    int answered;
} peer;

static uint64_t clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void fail(peer *p, const char *fmt, ...)
{
    va_list ap;
    fputs("peer: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    p->failed = 1;
    p->done = 1;
}

static void on_output(void *user, const uint8_t *pkt, size_t len)
{
    peer *p = user;
    if (p->outq_len + 2 + len > p->outq_cap) {
        size_t cap = p->outq_cap * 2 + 2 + len;
        uint8_t *q = realloc(p->outq, cap);
        if (!q) {
            fail(p, "out of memory");
            return;
        }
        p->outq = q;
        p->outq_cap = cap;
    }
    p->outq[p->outq_len++] = (uint8_t)(len >> 8);
    p->outq[p->outq_len++] = (uint8_t)len;
    memcpy(p->outq + p->outq_len, pkt, len);
    p->outq_len += len;
}

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)(i * 7 + (i >> 9));
}

/* ------------------------------------------------------------------ http */

static void http_send_request(peer *p)
{
    const char *r = p->reqs[p->cur];
    p->is_head = !strncmp(r, "HEAD ", 5);
    const char *path = p->is_head ? r + 5 : r;
    char req[2048];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 10.77.0.2\r\nUser-Agent: wtcp-peer\r\n\r\n",
                     p->is_head ? "HEAD" : "GET", path);
    if (n < 0 || (size_t)n >= sizeof req || wtcp_send(p->st, p->s, req, (size_t)n) != n) {
        fail(p, "cannot send request %d", p->cur);
        return;
    }
    char name[1024];
    snprintf(name, sizeof name, "%s.%d", p->outprefix, p->cur);
    p->body = fopen(name, "wb");
    if (!p->body) {
        fail(p, "%s: %s", name, strerror(errno));
        return;
    }
    p->head_len = 0;
    p->in_body = 0;
    p->clen = -1;
    p->got = 0;
    p->t_start = clock_us();
}

static void http_response_done(peer *p)
{
    uint64_t us = clock_us() - p->t_start;
    fclose(p->body);
    p->body = NULL;
    printf("%d %s %s %d %lld %.1f %.1f\n", p->cur, p->is_head ? "HEAD" : "GET",
           p->is_head ? p->reqs[p->cur] + 5 : p->reqs[p->cur], p->status, p->got,
           (double)us / 1000.0, us ? (double)p->got / (double)us : 0.0);
    fflush(stdout);
    p->cur++;
    if (p->cur < p->nreqs)
        http_send_request(p);
    else
        wtcp_shutdown(p->st, p->s, WTCP_SHUT_WR);
}

/* Consumes response bytes: headers, then Content-Length bytes of body. */
static void http_take(peer *p, const uint8_t *d, size_t n)
{
    while (n > 0 && !p->done) {
        if (p->cur >= p->nreqs) {
            fail(p, "%zu bytes after the last response", n);
            return;
        }
        if (!p->in_body) {
            size_t k = 0;
            while (k < n && p->head_len < sizeof p->head - 1) {
                p->head[p->head_len++] = (char)d[k++];
                if (p->head_len >= 4 && !memcmp(p->head + p->head_len - 4, "\r\n\r\n", 4))
                    break;
            }
            d += k;
            n -= k;
            p->head[p->head_len] = 0;
            if (p->head_len < 4 || memcmp(p->head + p->head_len - 4, "\r\n\r\n", 4)) {
                if (p->head_len == sizeof p->head - 1)
                    fail(p, "response header too long");
                return;
            }
            if (sscanf(p->head, "HTTP/1.1 %d", &p->status) != 1) {
                fail(p, "bad status line: %.60s", p->head);
                return;
            }
            const char *cl = strstr(p->head, "\r\nContent-Length: ");
            if (!cl) {
                fail(p, "response without Content-Length");
                return;
            }
            p->clen = atoll(cl + 18);
            p->in_body = 1;
            if (p->is_head)
                p->clen = 0;
        }
        size_t take = (uint64_t)(p->clen - p->got) < n ? (size_t)(p->clen - p->got) : n;
        if (take && fwrite(d, 1, take, p->body) != take) {
            fail(p, "writing a body: %s", strerror(errno));
            return;
        }
        p->got += (long long)take;
        d += take;
        n -= take;
        if (p->got == p->clen)
            http_response_done(p);
    }
}

static void http_event(peer *p, uint32_t ev)
{
    if (ev & WTCP_EV_CONNECTED)
        http_send_request(p);
    if (!(ev & (WTCP_EV_READABLE | WTCP_EV_ERROR)))
        return;
    static uint8_t buf[65536];
    for (;;) {
        int n = wtcp_recv(p->st, p->s, buf, sizeof buf);
        if (n == WTCP_EAGAIN)
            return;
        if (n < 0) {
            fail(p, "connection: %s", wtcp_strerror(n));
            return;
        }
        if (n == 0) {
            if (p->cur < p->nreqs)
                fail(p, "the server closed the connection during response %d", p->cur);
            else
                p->done = 1;
            wtcp_close(p->st, p->s);
            p->s = -1;
            return;
        }
        http_take(p, buf, (size_t)n);
        if (p->done)
            return;
    }
}

/* ------------------------------------------------------------------ echo */

static void echo_event(peer *p, uint32_t ev)
{
    static uint8_t buf[65536];
    if (ev & WTCP_EV_ERROR) {
        int err = 0;
        wtcp_getsockopt(p->st, p->s, WTCP_SO_ERROR, &err);
        fail(p, "connection: %s", wtcp_strerror(err));
        return;
    }
    while (p->sent < p->total) {
        size_t n = p->total - p->sent < sizeof buf ? (size_t)(p->total - p->sent) : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(p->sent + i);
        int w = wtcp_send(p->st, p->s, buf, n);
        if (w == WTCP_EAGAIN || w == WTCP_ENOTCONN)
            break;
        if (w < 0) {
            fail(p, "send: %s", wtcp_strerror(w));
            return;
        }
        p->sent += (uint64_t)w;
        if (p->sent == p->total)
            wtcp_shutdown(p->st, p->s, WTCP_SHUT_WR);
    }
    for (;;) {
        int n = wtcp_recv(p->st, p->s, buf, sizeof buf);
        if (n == WTCP_EAGAIN || n == WTCP_ENOTCONN)
            return;
        if (n < 0) {
            fail(p, "recv: %s", wtcp_strerror(n));
            return;
        }
        if (n == 0) {
            if (p->checked != p->total)
                fail(p, "echo ended after %llu of %llu bytes", (unsigned long long)p->checked,
                     (unsigned long long)p->total);
            else
                p->done = 1;
            wtcp_close(p->st, p->s);
            p->s = -1;
            return;
        }
        for (int i = 0; i < n; i++, p->checked++)
            if (buf[i] != pattern(p->checked)) {
                fail(p, "echoed byte %llu differs", (unsigned long long)p->checked);
                return;
            }
    }
}

/* ------------------------------------------------------------------ serve */

static void serve_event(peer *p, wtcp_sock s, uint32_t ev)
{
    if (s == p->listener) {
        if ((ev & WTCP_EV_ACCEPTABLE) && p->s < 0)
            p->s = wtcp_accept(p->st, p->listener, NULL, NULL);
        if (p->s < 0)
            return;
    } else if (s != p->s) {
        return;
    }
    while (!p->answered) {
        int n = wtcp_recv(p->st, p->s, p->req + p->req_len, sizeof p->req - 1 - p->req_len);
        if (n == WTCP_EAGAIN)
            return;
        if (n < 0) {
            fail(p, "connection: %s", wtcp_strerror(n));
            return;
        }
        p->req_len += (size_t)n;
        p->req[p->req_len] = 0;
        if (n == 0 || strstr(p->req, "\r\n\r\n") || p->req_len == sizeof p->req - 1) {
            char head[256];
            int hn = snprintf(head, sizeof head,
                              "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                              p->file_len);
            if (wtcp_send(p->st, p->s, head, (size_t)hn) != hn) {
                fail(p, "cannot send the response header");
                return;
            }
            p->answered = 1;
        }
    }
    while (p->file_off < p->file_len) {
        int n = wtcp_send(p->st, p->s, p->file + p->file_off, p->file_len - p->file_off);
        if (n == WTCP_EAGAIN)
            return;
        if (n < 0) {
            fail(p, "send: %s", wtcp_strerror(n));
            return;
        }
        p->file_off += (size_t)n;
    }
    wtcp_close(p->st, p->s); /* FIN after the data (unread request bytes would mean RST) */
    p->s = -1;
}

/* ------------------------------------------------------------------ raw */

static void raw_event(peer *p, uint32_t ev)
{
    static uint8_t buf[65536];
    if (ev & WTCP_EV_CONNECTED) {
        size_t n = strlen(p->text);
        if (wtcp_send(p->st, p->s, p->text, n) != (int)n) {
            fail(p, "cannot send the text");
            return;
        }
        wtcp_shutdown(p->st, p->s, WTCP_SHUT_WR);
    }
    for (;;) {
        int n = wtcp_recv(p->st, p->s, buf, sizeof buf);
        if (n == WTCP_EAGAIN || n == WTCP_ENOTCONN)
            return;
        if (n < 0) {
            fail(p, "connection: %s", wtcp_strerror(n));
            return;
        }
        if (n == 0) {
            p->done = 1;
            wtcp_close(p->st, p->s);
            p->s = -1;
            return;
        }
        if (fwrite(buf, 1, (size_t)n, p->raw_out) != (size_t)n) {
            fail(p, "writing: %s", strerror(errno));
            return;
        }
    }
}

/* Decodes \r \n \t \\ in place. */
static void unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            *o++ = *s == 'r' ? '\r' : *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
}

/* ------------------------------------------------------------------ the link */

static void take_frames(peer *p)
{
    size_t off = 0;
    while (p->in_len - off >= 2) {
        size_t len = (size_t)p->in[off] << 8 | p->in[off + 1];
        if (len == 0) {
            fail(p, "the child sent a zero-length frame");
            return;
        }
        if (p->in_len - off - 2 < len)
            break;
        wtcp_input(p->st, p->now, p->in + off + 2, len);
        off += 2 + len;
    }
    memmove(p->in, p->in + off, p->in_len - off);
    p->in_len -= off;
}

static int usage(void)
{
    fputs("usage: peer [--timeout SECONDS] [--status N] http PORT OUTPREFIX REQ... -- COMMAND...\n"
          "       peer [--timeout SECONDS] [--status N] echo PORT BYTES -- COMMAND...\n"
          "       peer [--timeout SECONDS] [--status N] serve PORT FILE -- COMMAND...\n"
          "       peer [--timeout SECONDS] [--status N] raw PORT TEXT OUTFILE -- COMMAND...\n"
          "       peer [--timeout SECONDS] [--status N] idle -- COMMAND...\n",
          stderr);
    return 2;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *d = malloc(n > 0 ? (size_t)n : 1);
    if (d && n > 0 && fread(d, 1, (size_t)n, f) != (size_t)n) {
        free(d);
        d = NULL;
    }
    fclose(f);
    *len = n > 0 ? (size_t)n : 0;
    return d;
}

int main(int argc, char **argv)
{
    static peer p;
    double timeout_s = 60;
    int want_status = 0;
    int i = 1;
    for (; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--timeout"))
            timeout_s = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--status"))
            want_status = atoi(argv[i + 1]);
        else
            break;
    }
    int dash = i;
    while (dash < argc && strcmp(argv[dash], "--"))
        dash++;
    if (dash + 1 >= argc || dash == i)
        return usage();
    const char *mode = argv[i];
    p.port = dash - i > 1 ? (uint16_t)atoi(argv[i + 1]) : 0;
    p.s = p.listener = -1;
    if (!strcmp(mode, "idle") && dash - i == 1) {
        p.mode = M_IDLE;
    } else if (dash - i < 3) {
        return usage();
    } else if (!strcmp(mode, "http")) {
        p.mode = M_HTTP;
        p.outprefix = argv[i + 2];
        p.reqs = argv + i + 3;
        p.nreqs = dash - i - 3;
        if (p.nreqs < 1)
            return usage();
    } else if (!strcmp(mode, "echo") && dash - i == 3) {
        p.mode = M_ECHO;
        p.total = strtoull(argv[i + 2], NULL, 10);
    } else if (!strcmp(mode, "raw") && dash - i == 4) {
        p.mode = M_RAW;
        p.text = argv[i + 2];
        unescape(p.text);
        p.raw_out = fopen(argv[i + 3], "wb");
        if (!p.raw_out) {
            fprintf(stderr, "peer: %s: %s\n", argv[i + 3], strerror(errno));
            return 1;
        }
    } else if (!strcmp(mode, "serve") && dash - i == 3) {
        p.mode = M_SERVE;
        p.file = slurp(argv[i + 2], &p.file_len);
        if (!p.file) {
            fprintf(stderr, "peer: %s: %s\n", argv[i + 2], strerror(errno));
            return 1;
        }
    } else {
        return usage();
    }

    wtcp_config cfg;
    wtcp_config_init(&cfg);
    cfg.addr = PEER_ADDR;
    cfg.prefix_len = 16;
    cfg.output = on_output;
    cfg.output_user = &p;
    memset(cfg.isn_key, 0x42, sizeof cfg.isn_key);
    if (wtcp_stack_new(&cfg, &p.st) < 0)
        return 1;
    p.in = malloc(IN_CAP);
    if (!p.in)
        return 1;

    int to[2], from[2];
    if (pipe(to) < 0 || pipe(from) < 0) {
        perror("peer: pipe");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    p.child = fork();
    if (p.child < 0) {
        perror("peer: fork");
        return 1;
    }
    if (p.child == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        execvp(argv[dash + 1], argv + dash + 1);
        fprintf(stderr, "peer: %s: %s\n", argv[dash + 1], strerror(errno));
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    p.to_child = to[1];
    p.from_child = from[0];
    fcntl(p.to_child, F_SETFL, fcntl(p.to_child, F_GETFL) | O_NONBLOCK);

    p.now = clock_ms();
    uint64_t start = p.now;
    uint64_t give_up = p.now + (uint64_t)(timeout_s * 1000);
    if (p.mode == M_SERVE) {
        p.listener = wtcp_socket(p.st, WTCP_SOCK_STREAM);
        wtcp_bind(p.st, p.listener, 0, p.port);
        wtcp_listen(p.st, p.listener, 8);
    } else if (p.mode != M_IDLE) {
        p.s = wtcp_socket(p.st, WTCP_SOCK_STREAM);
        wtcp_connect(p.st, p.s, CHILD_ADDR, p.port);
    }

    int child_status = -1;
    while (p.from_child >= 0) {
        p.now = clock_ms();
        if (p.now >= give_up) {
            fail(&p, "timed out after %g s; killing the child", timeout_s);
            kill(p.child, SIGKILL);
            break;
        }
        uint64_t deadline = wtcp_poll(p.st, p.now);
        wtcp_event ev;
        while (wtcp_next_event(p.st, &ev)) {
            if (p.done)
                continue;
            if (p.mode == M_HTTP && ev.sock == p.s)
                http_event(&p, ev.events);
            else if (p.mode == M_ECHO && ev.sock == p.s)
                echo_event(&p, ev.events);
            else if (p.mode == M_RAW && ev.sock == p.s)
                raw_event(&p, ev.events);
            else if (p.mode == M_SERVE)
                serve_event(&p, ev.sock, ev.events);
        }
        deadline = wtcp_poll(p.st, p.now);
        /* Feed the child; once the scenario is over and everything is out, end its stdin
         * (serve: the child ends on its own). */
        while (p.to_child >= 0 && p.outq_len > 0) {
            ssize_t w = write(p.to_child, p.outq, p.outq_len);
            if (w <= 0) {
                if (w < 0 && errno == EPIPE)
                    p.outq_len = 0;
                break;
            }
            memmove(p.outq, p.outq + w, p.outq_len - (size_t)w);
            p.outq_len -= (size_t)w;
        }
        if ((p.done || p.failed) && p.to_child >= 0 && p.outq_len == 0) {
            close(p.to_child);
            p.to_child = -1;
        }
        struct pollfd fds[2] = {{.fd = p.from_child, .events = POLLIN},
                                {.fd = p.outq_len ? p.to_child : -1, .events = POLLOUT}};
        uint64_t wake = deadline < give_up ? deadline : give_up;
        p.now = clock_ms();
        int timeout = wake <= p.now ? 0 : wake - p.now > 1000 ? 1000 : (int)(wake - p.now);
        if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
            perror("peer: poll");
            break;
        }
        if (fds[0].revents) {
            ssize_t n = read(p.from_child, p.in + p.in_len, IN_CAP - p.in_len);
            p.now = clock_ms();
            if (n > 0) {
                p.in_len += (size_t)n;
                take_frames(&p);
            } else if (n == 0 || errno != EINTR) {
                if (p.in_len)
                    fail(&p, "the child's stdout ended inside a frame");
                close(p.from_child);
                p.from_child = -1;
            }
        }
    }
    if (p.to_child >= 0)
        close(p.to_child);
    waitpid(p.child, &child_status, 0);
    if (p.mode == M_SERVE && !p.failed && p.file_off < p.file_len)
        fail(&p, "the child exited after %zu of %zu bytes", p.file_off, p.file_len);
    if (!p.failed && !p.done && p.mode != M_SERVE && p.mode != M_IDLE)
        fail(&p, "the child exited before the scenario finished");
    int ok = !p.failed && WIFEXITED(child_status) && WEXITSTATUS(child_status) == want_status;
    if (!p.failed && !ok)
        fprintf(stderr, "peer: the child ended with %s %d (expected status %d)\n",
                WIFEXITED(child_status) ? "status" : "signal",
                WIFEXITED(child_status) ? WEXITSTATUS(child_status) : WTERMSIG(child_status),
                want_status);
    uint64_t took = clock_ms() - start;
    if (!ok || took > 5000) {
        /* Slow or failed: the peer's counters say whether packets were lost or dropped. */
        wtcp_stats stats;
        wtcp_stats_get(p.st, &stats);
        fprintf(stderr, "peer: %.1f s; peer stack: tcp in %llu, out %llu, retransmits %llu, drops %llu",
                (double)took / 1000, (unsigned long long)stats.tcp_in,
                (unsigned long long)stats.tcp_out, (unsigned long long)stats.tcp_retransmits,
                (unsigned long long)stats.drops);
        for (int k = 0; k < WTCP_DROP_COUNT; k++)
            if (stats.drop[k])
                fprintf(stderr, ", %s: %llu", wtcp_drop_name(k), (unsigned long long)stats.drop[k]);
        fputc('\n', stderr);
    }
    if (p.body)
        fclose(p.body);
    if (p.raw_out)
        fclose(p.raw_out);
    wtcp_stack_free(p.st);
    free(p.in);
    free(p.outq);
    free(p.file);
    return ok ? 0 : 1;
}
