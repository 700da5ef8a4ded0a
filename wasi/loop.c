/* loop.c: the WASI commands' event loop: framed packets on stdin/stdout, poll() with the stack's deadline. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime() */

#include "loop.h"
#include "link.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IN_CHUNK (256u * 1024u)  /* stdin read size */
#define OUT_CAP (256u * 1024u)   /* stdout batch: written when full and once per turn */
#define MAX_TIMEOUT_MS 60000     /* poll() at least this often */
#define EVENT_ROUNDS 64          /* poll/event rounds per turn before waiting again */

static uint64_t clock_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void loop_stop(loop *l, int status)
{
    if (!l->stopped) {
        l->stopped = 1;
        l->status = status;
    }
}

void loop_fail(loop *l, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", l->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    loop_stop(l, 1);
}

/* ---------------------------------------------------------------- stdout */

/* Writes the whole batch, waiting through poll() when stdout is non-blocking and full. */
static void write_out(loop *l)
{
    size_t off = 0;
    if (l->out_broken)
        l->out_len = 0;
    while (off < l->out_len) {
        ssize_t n = write(1, l->out + off, l->out_len - off);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = 1, .events = POLLOUT};
            if (poll(&p, 1, -1) >= 0 || errno == EINTR)
                continue;
        }
        if (n < 0 && errno == EPIPE) {
            /* The relay is gone: like the end of stdin. */
            l->out_broken = 1;
            if (!l->stopped)
                loop_stop(l, l->on_net_closed ? l->on_net_closed(l) : 0);
        } else {
            loop_fail(l, "writing packets to stdout: %s", n < 0 ? strerror(errno) : "no progress");
        }
        break;
    }
    l->out_len = 0;
}

/* The stack's output callback: one IPv4 packet, framed into the batch. */
static void on_output(void *user, const uint8_t *packet, size_t len)
{
    loop *l = user;
    if (len == 0 || len > 65535) /* cannot be framed; never happens with a valid MTU */
        return;
    if (l->out_len + 2 + len > l->out_cap)
        write_out(l);
    link_frame_put(l->out + l->out_len, packet, len);
    l->out_len += 2 + len;
    l->frames_out++;
}

/* ---------------------------------------------------------------- stdin */

static void framing_error(loop *l, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void framing_error(loop *l, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: bad packet framing on stdin at byte %llu (frame %llu): ", l->prog,
            (unsigned long long)l->in_offset, (unsigned long long)l->frames_in + 1);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("; stdin must carry IPv4 packets, each preceded by its length as 2 bytes big-endian\n",
          stderr);
    loop_stop(l, 1);
}

/* Feeds every complete frame in the input buffer to the stack; keeps a partial one. */
static void take_frames(loop *l)
{
    size_t off = 0;
    while (!l->stopped) {
        size_t len;
        char why[160];
        int r = link_frame_check(l->in + off, l->in_len - off, l->mtu, &len, why, sizeof why);
        if (r == LINK_FRAME_SHORT)
            break;
        if (r == LINK_FRAME_BAD) {
            framing_error(l, "%s", why);
            break;
        }
        wtcp_input(l->stack, l->now, l->in + off + 2, len);
        l->frames_in++;
        off += 2 + len;
        l->in_offset += 2 + len;
    }
    if (off > 0) {
        memmove(l->in, l->in + off, l->in_len - off);
        l->in_len -= off;
    }
}

size_t loop_input(loop *l, const uint8_t *data, size_t len)
{
    size_t room = l->in_cap - l->in_len;
    size_t n = len < room ? len : room;
    memcpy(l->in + l->in_len, data, n);
    l->in_len += n;
    take_frames(l);
    return n;
}

static void stdin_ended(loop *l)
{
    if (l->in_len == 1)
        framing_error(l, "stdin ended after 1 byte of a 2-byte frame header");
    else if (l->in_len >= 2)
        framing_error(l, "stdin ended inside a frame: its header announces %u bytes, only %zu followed",
                      (unsigned)(l->in[0] << 8 | l->in[1]), l->in_len - 2);
    else
        loop_stop(l, l->on_net_closed ? l->on_net_closed(l) : 0);
}

/* One read() from stdin. EAGAIN (a non-blocking stdin, as Node's after a poll) is fine:
 * the caller goes back to poll(). */
static void read_in(loop *l)
{
    ssize_t n = read(0, l->in + l->in_len, l->in_cap - l->in_len);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
            l->read_retries++;
            return;
        }
        loop_fail(l, "reading packets from stdin: %s", strerror(errno));
        return;
    }
    l->now = clock_ms();
    if (n == 0) {
        stdin_ended(l);
        return;
    }
    l->in_len += (size_t)n;
    take_frames(l);
}

/* ---------------------------------------------------------------- the loop */

/* Runs timers and the command's event handlers until the stack is quiet; returns the
 * next deadline. */
static uint64_t service(loop *l)
{
    if (l->timer_at && l->now >= l->timer_at) {
        l->timer_at = 0;
        if (l->on_timer)
            l->on_timer(l);
    }
    uint64_t deadline = wtcp_poll(l->stack, l->now);
    for (int round = 0; round < EVENT_ROUNDS; round++) {
        wtcp_event ev;
        int n = 0;
        while (wtcp_next_event(l->stack, &ev)) {
            n++;
            if (l->on_event)
                l->on_event(l, ev.sock, ev.events);
        }
        if (n == 0)
            break;
        deadline = wtcp_poll(l->stack, l->now); /* send what the handlers queued */
    }
    if (l->timer_at && l->timer_at < deadline)
        deadline = l->timer_at;
    return deadline;
}

void loop_flush(loop *l)
{
    wtcp_poll(l->stack, l->now);
    write_out(l);
}

int loop_run(loop *l)
{
    while (!l->stopped) {
        l->now = clock_ms();
        uint64_t deadline = service(l);
        write_out(l);
        if (l->stopped)
            break;
        int timeout = -1;
        if (deadline != WTCP_NEVER) {
            uint64_t now = clock_ms();
            timeout = deadline <= now ? 0
                      : deadline - now > MAX_TIMEOUT_MS ? MAX_TIMEOUT_MS
                                                        : (int)(deadline - now);
        }
        if (l->poll_broken) {
            read_in(l); /* stdin is a regular file: reads never wait */
            continue;
        }
        struct pollfd p = {.fd = 0, .events = POLLIN};
        int r = poll(&p, 1, timeout);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            /* Node's node:wasi cannot poll a regular file: read it without poll(). */
            l->poll_broken = 1;
            continue;
        }
        if (r > 0)
            read_in(l);
    }
    l->now = clock_ms();
    loop_flush(l);
    if (l->verbose) {
        wtcp_stats st;
        wtcp_stats_get(l->stack, &st);
        fprintf(stderr,
                "%s: frames in %llu, out %llu (stdin reads retried %llu); tcp in %llu, out %llu, "
                "retransmits %llu; drops %llu; exit status %d\n",
                l->prog, (unsigned long long)l->frames_in, (unsigned long long)l->frames_out,
                (unsigned long long)l->read_retries,
                (unsigned long long)st.tcp_in, (unsigned long long)st.tcp_out,
                (unsigned long long)st.tcp_retransmits, (unsigned long long)st.drops, l->status);
    }
    return l->status;
}

/* ---------------------------------------------------------------- set-up */

int loop_init(loop *l, const char *prog)
{
    memset(l, 0, sizeof *l);
    l->prog = prog;
    link_settings s;
    wtcp_config cfg;
    if (link_settings_read(&s, prog) < 0 || link_settings_config(&s, prog, &cfg) < 0)
        return -1;
    l->addr = s.addr;
    l->gateway = s.gateway;
    l->prefix = s.prefix;
    l->mtu = s.mtu;
    l->verbose = s.verbose;
    cfg.output = on_output;
    cfg.output_user = l;
    l->in_cap = IN_CHUNK + 2 + 65535;
    l->out_cap = OUT_CAP + 2 + 65535;
    l->in = malloc(l->in_cap);
    l->out = malloc(l->out_cap);
    if (!l->in || !l->out) {
        fprintf(stderr, "%s: out of memory\n", prog);
        loop_free(l);
        return -1;
    }
    int r = wtcp_stack_new(&cfg, &l->stack);
    if (r < 0) {
        fprintf(stderr, "%s: cannot create the stack: %s\n", prog, wtcp_strerror(r));
        loop_free(l);
        return -1;
    }
    l->now = clock_ms();
    if (l->verbose) {
        char a[16], g[16];
        wtcp_addr_format(l->addr, a);
        wtcp_addr_format(l->gateway, g);
        fprintf(stderr, "%s: address %s/%u, gateway %s, MTU %u\n", prog, a, (unsigned)l->prefix,
                l->gateway ? g : "none", (unsigned)l->mtu);
    }
    return 0;
}

void loop_free(loop *l)
{
    if (l->stack)
        wtcp_stack_free(l->stack);
    free(l->in);
    free(l->out);
    l->stack = NULL;
    l->in = l->out = NULL;
}

int loop_parse_port(const char *text, uint16_t *port)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || text[0] == '+' || n < 1 || n > 65535)
        return -1;
    *port = (uint16_t)n;
    return 0;
}

int loop_parse_hostport(const char *text, uint32_t *addr, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    char host[16];
    if (!colon || (size_t)(colon - text) >= sizeof host)
        return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = 0;
    if (wtcp_addr_parse(host, addr) < 0)
        return -1;
    return loop_parse_port(colon + 1, port);
}
