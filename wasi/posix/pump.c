/* pump.c: the POSIX layer's stack and link (framed IPv4 packets on stdin/stdout or on two FIFOs), and the pump every blocking call runs: packets in, timers, packets out. */
#define _POSIX_C_SOURCE 200809L

#include "posix.h"

#include "../link.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IN_CHUNK (256u * 1024u)  /* one read of the link */
#define OUT_CAP (256u * 1024u)   /* output batch: written when full and after every turn */
#define LINK_USERDATA UINT64_MAX /* the link's subscription among the caller's */
#define CLOCK_USERDATA (UINT64_MAX - 1)
#define MAX_SUBS 64              /* subscriptions on the stack; more are allocated */

px_state px = {.link_in = -1, .link_out = -1, .preopen = -2};

uint64_t px_now_ns(void)
{
    __wasi_timestamp_t t = 0;
    if (__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1000, &t) != 0)
        return 0;
    return t;
}

uint64_t px_now_ms(void) { return px_now_ns() / 1000000u; }

uint64_t px_deadline(uint32_t timeout_ms)
{
    return timeout_ms ? px_now_ns() + (uint64_t)timeout_ms * 1000000u : UINT64_MAX;
}

/* ---------------------------------------------------------------- the link */

static void link_ended(const char *why)
{
    px.link_down = 1;
    if (px.exiting) /* already on the way out (at_exit): nothing more to send */
        return;
    if (px.verbose)
        fprintf(stderr, "wtcp: the network link ended (%s): exiting\n", why);
    /* The network is gone for good: as a server whose relay went away, the program ends. */
    exit(0);
}

static void link_broken(const char *fmt, const char *detail)
{
    px.link_down = 1;
    if (px.exiting)
        return;
    fprintf(stderr, "wtcp: bad packet framing on the link after %llu frames: ",
            (unsigned long long)px.frames_in);
    fprintf(stderr, fmt, detail);
    fprintf(stderr, "; the link carries IPv4 packets, each preceded by its length as 2 bytes big-endian\n");
    exit(1);
}

static void write_out(void)
{
    size_t off = 0;
    while (off < px.out_len && !px.link_down) {
        __wasi_ciovec_t iov = {.buf = px.out + off, .buf_len = px.out_len - off};
        __wasi_size_t n = 0;
        __wasi_errno_t e = __wasi_fd_write((__wasi_fd_t)px.link_out, &iov, 1, &n);
        if (e == 0 && n > 0) {
            off += n;
            continue;
        }
        if (e == __WASI_ERRNO_AGAIN || e == __WASI_ERRNO_INTR) {
            __wasi_subscription_t s = {.userdata = 0, .u.tag = __WASI_EVENTTYPE_FD_WRITE};
            s.u.u.fd_write.file_descriptor = (__wasi_fd_t)px.link_out;
            __wasi_event_t ev;
            __wasi_size_t nev;
            (void)__wasi_poll_oneoff(&s, &ev, 1, &nev);
            continue;
        }
        px.out_len = 0;
        link_ended(e == __WASI_ERRNO_PIPE ? "its output is closed" : strerror(e));
    }
    px.out_len = 0;
}

static void on_output(void *user, const uint8_t *packet, size_t len)
{
    (void)user;
    if (len == 0 || len > 65535)
        return;
    if (px.out_len + 2 + len > px.out_cap)
        write_out();
    link_frame_put(px.out + px.out_len, packet, len);
    px.out_len += 2 + len;
    px.frames_out++;
}

static void take_frames(uint64_t now_ms)
{
    size_t off = 0;
    for (;;) {
        size_t len;
        char why[160];
        int r = link_frame_check(px.in + off, px.in_len - off, px.mtu, &len, why, sizeof why);
        if (r == LINK_FRAME_SHORT)
            break;
        if (r == LINK_FRAME_BAD) {
            link_broken("%s", why); /* returns only while exiting: the rest is dropped */
            px.in_len = 0;
            return;
        }
        wtcp_input(px.stack, now_ms, px.in + off + 2, len);
        px.frames_in++;
        off += 2 + len;
    }
    if (off > 0) {
        memmove(px.in, px.in + off, px.in_len - off);
        px.in_len -= off;
    }
}

/* One read of the link: returns 1 when bytes came. */
static int read_in(void)
{
    __wasi_iovec_t iov = {.buf = px.in + px.in_len, .buf_len = px.in_cap - px.in_len};
    __wasi_size_t n = 0;
    __wasi_errno_t e = __wasi_fd_read((__wasi_fd_t)px.link_in, &iov, 1, &n);
    if (e == __WASI_ERRNO_AGAIN || e == __WASI_ERRNO_INTR)
        return 0; /* Node's node:wasi after a poll that timed out: poll again */
    if (e != 0)
        link_ended(strerror(e));
    if (n == 0) {
        if (px.in_len > 0)
            link_broken("%s", "the input ended inside a frame");
        link_ended("end of input");
    }
    px.in_len += n;
    take_frames(px_now_ms());
    return 1;
}

/* ---------------------------------------------------------------- closing connections */

void px_closing_add(wtcp_sock h)
{
    if (px.nclosing == px.closing_cap) {
        size_t cap = px.closing_cap ? 2 * px.closing_cap : 16;
        wtcp_sock *n = realloc(px.closing, cap * sizeof *n);
        if (!n) {
            wtcp_close(px.stack, h); /* cannot wait for it: the stack finishes it alone */
            return;
        }
        px.closing = n;
        px.closing_cap = cap;
    }
    px.closing[px.nclosing++] = h;
}

/* Releases closed connections whose data and FIN are delivered (or that failed); one
 * that received data after its close is released with a reset, as Linux does. */
static void closing_check(void)
{
    size_t j = 0;
    for (size_t i = 0; i < px.nclosing; i++) {
        wtcp_sock h = px.closing[i];
        wtcp_info info;
        if (wtcp_info_get(px.stack, h, &info) < 0)
            continue;
        int done = info.state == WTCP_FIN_WAIT_2 || info.state == WTCP_TIME_WAIT ||
                   info.state == WTCP_CLOSED || wtcp_readable(px.stack, h) > 0;
        if (done)
            wtcp_close(px.stack, h);
        else
            px.closing[j++] = h;
    }
    px.nclosing = j;
}

/* ---------------------------------------------------------------- the pump */

void px_kick(void)
{
    if (!px.ready)
        return;
    wtcp_poll(px.stack, px_now_ms());
    write_out();
}

static uint64_t service(void)
{
    uint64_t now = px_now_ms();
    uint64_t next = wtcp_poll(px.stack, now);
    wtcp_event ev;
    while (wtcp_next_event(px.stack, &ev))
        ; /* readiness is asked of the stack directly (px_sock_revents) */
    if (px.nclosing)
        closing_check();
    write_out();
    return next;
}

/* ---------------------------------------------------------------- alarm() */

/* wasi-libc has SIGALRM and raise() only in its signal emulation (-lwasi-emulated-signal,
 * which a program with a SIGALRM handler links for signal()). Without it SIGALRM has its
 * default action: the program ends. */
extern int raise(int sig) __attribute__((weak));
#define PX_SIGALRM 14

unsigned alarm(unsigned seconds)
{
    uint64_t now = px_now_ns();
    unsigned left = 0;
    if (px.alarm_at)
        left = px.alarm_at > now ? (unsigned)((px.alarm_at - now + 999999999u) / 1000000000u) : 1;
    px.alarm_at = seconds ? now + (uint64_t)seconds * 1000000000u : 0;
    return left;
}

int px_alarm_due(uint64_t *deadline_ns)
{
    if (!px.alarm_at || px.exiting)
        return 0;
    if (px_now_ns() < px.alarm_at) {
        if (deadline_ns && px.alarm_at < *deadline_ns)
            *deadline_ns = px.alarm_at;
        return 0;
    }
    px.alarm_at = 0;
    if (!raise) {
        fprintf(stderr, "Alarm clock\n");
        _Exit(128 + PX_SIGALRM);
    }
    raise(PX_SIGALRM); /* the handler may longjmp: no state of the pump is held here */
    return 1;
}

int px_pump(uint64_t deadline_ns, const __wasi_subscription_t *sub, size_t nsub,
            __wasi_event_t *out, size_t *nout)
{
    if (nout)
        *nout = 0;
    if (px_alarm_due(&deadline_ns))
        return 1;
    uint64_t next_ms = service();
    uint64_t now = px_now_ns();
    uint64_t until = deadline_ns;
    /* The stack keeps whole milliseconds: its deadline is due once the clock has passed
     * into that millisecond's end, and waking at its start would wake twice for it. */
    if (next_ms != WTCP_NEVER && (next_ms + 1) * 1000000u < until)
        until = (next_ms + 1) * 1000000u;
    if (nsub > 0 && now + PX_MULTI_FD_SLICE_NS < until) /* the link and others: see posix.h */
        until = now + PX_MULTI_FD_SLICE_NS;

    __wasi_subscription_t subs_small[MAX_SUBS + 2];
    __wasi_event_t evs_small[MAX_SUBS + 2];
    __wasi_subscription_t *subs = subs_small;
    __wasi_event_t *evs = evs_small;
    if (nsub > MAX_SUBS) {
        subs = malloc((nsub + 2) * sizeof *subs);
        evs = malloc((nsub + 2) * sizeof *evs);
        if (!subs || !evs) {
            free(subs);
            free(evs);
            subs = subs_small;
            evs = evs_small;
            nsub = MAX_SUBS; /* the rest are looked at on the next call */
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < nsub; i++)
        subs[n++] = sub[i];
    subs[n] = (__wasi_subscription_t){.userdata = LINK_USERDATA, .u.tag = __WASI_EVENTTYPE_FD_READ};
    subs[n++].u.u.fd_read.file_descriptor = (__wasi_fd_t)px.link_in;
    if (until != UINT64_MAX) {
        subs[n] = (__wasi_subscription_t){.userdata = CLOCK_USERDATA, .u.tag = __WASI_EVENTTYPE_CLOCK};
        subs[n].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
        subs[n].u.u.clock.timeout = until > now ? until - now : 0;
        subs[n].u.u.clock.precision = 1000;
        n++;
    }
    __wasi_size_t got = 0;
    __wasi_errno_t e = __wasi_poll_oneoff(subs, evs, (__wasi_size_t)n, &got);
    if (e != 0 && !px.poll_failed++) /* said once: a blocking call keeps trying */
        fprintf(stderr, "wtcp: poll_oneoff: %s\n", strerror(e));
    int link_ready = 0;
    for (__wasi_size_t i = 0; e == 0 && i < got; i++) {
        if (evs[i].userdata == LINK_USERDATA)
            link_ready = 1;
        else if (evs[i].userdata != CLOCK_USERDATA && out && nout)
            out[(*nout)++] = evs[i];
    }
    if (subs != subs_small) {
        free(subs);
        free(evs);
    }
    if (link_ready)
        read_in();
    service(); /* answer what came in, run what fell due */
    return px_alarm_due(NULL);
}

/* ---------------------------------------------------------------- set-up */

static void at_exit(void);

static int open_link_fifo(const char *in_path, const char *out_path)
{
    /* The relay holds both FIFOs open for reading and writing, so neither open waits. */
    px.link_in = open(in_path, O_RDONLY);
    if (px.link_in < 0) {
        fprintf(stderr, "wtcp: WTCP_LINK_IN=%s: %s\n", in_path, strerror(errno));
        return -1;
    }
    px.link_out = open(out_path, O_WRONLY);
    if (px.link_out < 0) {
        fprintf(stderr, "wtcp: WTCP_LINK_OUT=%s: %s\n", out_path, strerror(errno));
        return -1;
    }
    return 0;
}

int px_init(void)
{
    if (px.ready)
        return 0;
    if (px.failed) {
        errno = ENETDOWN;
        return -1;
    }
    px.failed = 1; /* until it works: a broken set-up is reported once */
    link_settings s;
    wtcp_config cfg;
    if (link_settings_read(&s, "wtcp") < 0 || link_settings_config(&s, "wtcp", &cfg) < 0) {
        errno = ENETDOWN;
        return -1;
    }
    px.mtu = s.mtu;
    px.verbose = s.verbose;
    const char *lin = getenv("WTCP_LINK_IN"), *lout = getenv("WTCP_LINK_OUT");
    if ((lin && *lin) || (lout && *lout)) {
        if (!lin || !*lin || !lout || !*lout) {
            fprintf(stderr, "wtcp: WTCP_LINK_IN and WTCP_LINK_OUT go together\n");
            errno = ENETDOWN;
            return -1;
        }
        if (open_link_fifo(lin, lout) < 0) {
            errno = ENETDOWN;
            return -1;
        }
    } else {
        px.link_in = 0;
        px.link_out = 1;
        px.stdio_link = 1;
    }
    const char *linger = getenv("WTCP_LINGER_MS");
    px.linger_ms = linger && *linger ? strtoull(linger, NULL, 10) : 10000;
    px.in_cap = IN_CHUNK + 2 + 65535;
    px.out_cap = OUT_CAP + 2 + 65535;
    px.in = malloc(px.in_cap);
    px.out = malloc(px.out_cap);
    cfg.output = on_output;
    int r = px.in && px.out ? wtcp_stack_new(&cfg, &px.stack) : WTCP_ENOMEM;
    if (r < 0) {
        fprintf(stderr, "wtcp: cannot create the stack: %s\n", wtcp_strerror(r));
        errno = ENOMEM;
        return -1;
    }
    if (px.verbose) {
        char a[16], g[16];
        wtcp_addr_format(s.addr, a);
        wtcp_addr_format(s.gateway, g);
        fprintf(stderr, "wtcp: address %s/%u, gateway %s, MTU %u, link %s\n", a, (unsigned)s.prefix,
                s.gateway ? g : "none", (unsigned)s.mtu, px.stdio_link ? "stdin/stdout" : "FIFOs");
    }
    px.failed = 0;
    px.ready = 1;
    atexit(at_exit);
    return 0;
}

/* At exit, as the kernel would after a process ends: open sockets are closed, and what
 * they still had to send is delivered (for WTCP_LINGER_MS at most, default 10 s). */
static void at_exit(void)
{
    if (!px.ready || px.link_down)
        return;
    px.exiting = 1; /* exit() must not be called again from here */
    for (size_t fd = 0; fd < px.nby_fd; fd++)
        if (px.by_fd[fd])
            close((int)fd);
    uint64_t deadline = px_now_ns() + px.linger_ms * 1000000u;
    while (px.nclosing && px_now_ns() < deadline)
        px_pump(deadline, NULL, 0, NULL, NULL);
    px_kick();
    if (px.verbose) {
        wtcp_stats st;
        wtcp_stats_get(px.stack, &st);
        fprintf(stderr, "wtcp: frames in %llu, out %llu; tcp in %llu, out %llu, retransmits %llu; drops %llu\n",
                (unsigned long long)px.frames_in, (unsigned long long)px.frames_out,
                (unsigned long long)st.tcp_in, (unsigned long long)st.tcp_out,
                (unsigned long long)st.tcp_retransmits, (unsigned long long)st.drops);
    }
}
