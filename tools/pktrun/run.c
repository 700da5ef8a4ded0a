/* run.c: runs one parsed script against a fresh wtcp stack on virtual time.
 *
 * Clock: script time 0 is stack time BASE_MS; the runner's clock `now` counts script
 * milliseconds. Before a line at time T the runner advances: poll, jump to the next
 * deadline while it is <= T, then poll at T. Packets the stack emits are queued with
 * the time they left. A '>' line takes the oldest queued packet (advancing time up to
 * its window's end while none is there) and compares it; a '<' line or a system call
 * finds the queue empty or fails with "unexpected packet" (unless --lenient).
 * Blocking calls are emulated: the core never blocks. See docs/PKTSCRIPT.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktrun.h"
#include "wtcp.h"

#define BASE_MS 1000u
#define LOCAL_ADDR 0xC0A80001u  /* 192.168.0.1 */
#define REMOTE_ADDR 0xC0000201u /* 192.0.2.1 */
#define LOCAL_PORT 8080
#define MAX_FDS 64
#define MAX_FLOWS 16
#define TSMAP 32
#define ANY_WAIT_MS (600 * 1000) /* '*' waits at most this long for a packet */

/* Linux values of the flags the runner interprets itself. */
#define L_O_RDWR 2
#define L_O_NONBLOCK 0x800
#define L_MSG_PEEK 2
#define L_MSG_DONTWAIT 0x40

typedef struct outpkt {
    uint8_t *data;
    size_t len;
    int64_t t_ms;
} outpkt;

typedef struct flow {
    uint16_t lport, rport; /* lport 0: not known yet (active open before its SYN) */
    uint32_t remote_isn;
    int our_isn_known;
    uint32_t our_isn;
    int ts_known;
    uint32_t ts_off;       /* live TS val - script TS val, from the first '>' with TS */
    struct { uint32_t script, live; } tsmap[TSMAP];
    int ntsmap, tsnext;
} flow;

typedef struct fdent {
    int used;
    wtcp_sock h;
    int type;
    int nonblock;
    int flow;               /* index into flows, -1 if none */
    uint64_t written;       /* bytes taken by send (pattern offset) */
    int dgram_peer;         /* connect() on a datagram socket */
    uint32_t peer_addr;
    uint16_t peer_port;
} fdent;

enum call_kind { C_ACCEPT, C_CONNECT, C_READ, C_WRITE };

typedef struct call {
    int active;
    const event *ev;
    int kind;
    int fd;
    int64_t count;          /* read/write length */
    int64_t done;           /* bytes written so far */
    int nonblock;
    int64_t want_fd;        /* accept: the fd number the script expects, -1 lowest free */
    int64_t end_us;         /* blocking: absolute script time of the expected return */
} call;

typedef struct runner {
    const script *sc;
    const run_opts *o;
    run_result *res;
    jmp_buf jb;
    wtcp_stack *st;
    int64_t now;            /* script ms */
    uint64_t deadline;      /* stack ms, from the last poll */
    outpkt *q;
    int qhead, qlen, qcap;
    int64_t tol_us, tick_us;
    int strict_segments;
    flow flows[MAX_FLOWS];
    int nflows, deflow;
    uint16_t bound_port;
    fdent fds[MAX_FDS];
    call pend;
    const event *cur;
    int64_t last_ev_us;     /* adjusted script time of the previous event */
    int last_inbound;
    uint16_t ip_id;
    uint8_t *buf;
    size_t bufcap;
    outpkt *agg;            /* segments being joined (freed on failure) */
    int nagg;
    int sut;                /* the socket under test: fd of the last socket() or accept() */
    code_env *env;          /* %{ }% variables */
    int code_strict_hit;    /* --strict-code: an assert was skipped */
    const char *expect_failure; /* --expect_failure="text": the script must fail with it */
} runner;

static void failf(runner *r, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4), noreturn))
#endif
    ;

static void failf(runner *r, int line, const char *fmt, ...)
{
    char msg[1900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->res->msg, sizeof r->res->msg, "%s:%d: %s", r->sc->path, line, msg);
    longjmp(r->jb, 1);
}

#define FAIL(...) failf(r, r->cur ? r->cur->line : 0, __VA_ARGS__)

static void vlog(runner *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void vlog(runner *r, const char *fmt, ...)
{
    if (!r->o->verbose)
        return;
    printf("  [%5lld.%03lld] ", (long long)(r->now / 1000), (long long)(r->now % 1000));
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static uint8_t pattern(uint64_t off) { return (uint8_t)(off % 251u); }

static uint8_t *scratch(runner *r, size_t n)
{
    if (n > r->bufcap) {
        uint8_t *nb = realloc(r->buf, n);
        if (!nb)
            FAIL("out of memory (%zu bytes)", n);
        r->buf = nb;
        r->bufcap = n;
    }
    return r->buf;
}

/* ---- flows ---- */
static int flow_find(runner *r, uint16_t lport, uint16_t rport, int create)
{
    for (int i = 0; i < r->nflows; i++)
        if (r->flows[i].lport == lport && r->flows[i].rport == rport)
            return i;
    if (!create)
        return -1;
    if (r->nflows == MAX_FLOWS)
        FAIL("too many connections (at most %d)", MAX_FLOWS);
    flow *f = &r->flows[r->nflows];
    memset(f, 0, sizeof *f);
    f->lport = lport;
    f->rport = rport;
    f->remote_isn = r->o->remote_isn;
    return r->nflows++;
}

static int flow_for_spec(runner *r, const pkt_spec *p)
{
    if (!p->has_ports)
        return r->deflow;
    if (p->dir == '<')
        return flow_find(r, p->dport, p->sport, 1);
    return flow_find(r, p->sport, p->dport, 1);
}

/* ---- stack callbacks ---- */
static void print_live(runner *r, strbuf *sb, const live_pkt *lp, int fi);

static void on_output(void *user, const uint8_t *pkt, size_t len)
{
    runner *r = user;
    if (r->qhead + r->qlen == r->qcap) {
        if (r->qhead > 0) {
            memmove(r->q, r->q + r->qhead, sizeof *r->q * (size_t)r->qlen);
            r->qhead = 0;
        } else {
            int cap = r->qcap ? r->qcap * 2 : 64;
            outpkt *nq = realloc(r->q, sizeof *nq * (size_t)cap);
            if (!nq) {
                fprintf(stderr, "wtcp-pktrun: out of memory\n");
                exit(2);
            }
            r->q = nq;
            r->qcap = cap;
        }
    }
    outpkt *o = &r->q[r->qhead + r->qlen];
    o->data = malloc(len ? len : 1);
    if (!o->data) {
        fprintf(stderr, "wtcp-pktrun: out of memory\n");
        exit(2);
    }
    memcpy(o->data, pkt, len);
    o->len = len;
    o->t_ms = r->now;
    r->qlen++;
    if (r->o->verbose) {
        int fi = r->deflow;
        live_pkt lp;
        decode_live(pkt, len, &lp);
        if (lp.ok && (lp.proto == 6 || lp.proto == 17)) {
            int f = flow_find(r, lp.sport, lp.dport, 0);
            if (f >= 0)
                fi = f;
        }
        strbuf sb = {0};
        print_live(r, &sb, &lp, fi);
        vlog(r, "    sent %s", sb.buf);
        sb_free(&sb);
    }
}

static void on_state(void *user, int32_t sock, int old_state, int new_state)
{
    runner *r = user;
    if (new_state >= 0 && new_state < WTCP_NUM_STATES)
        r->res->states |= 1u << new_state;
    vlog(r, "state %s -> %s (handle %ld)", wtcp_state_name(old_state), wtcp_state_name(new_state),
         (long)sock);
}

/* ---- printing live packets in script space ---- */
static void print_live(runner *r, strbuf *sb, const live_pkt *lp, int fi)
{
    if (!lp->ok) {
        sb_printf(sb, "[undecodable: %s]", lp->err);
        return;
    }
    sb_printf(sb, "> ");
    if (lp->proto == 1) {
        sb_printf(sb, "icmp %s", icmp_type_name(lp->icmp_type));
        const char *cn = icmp_code_name(lp->icmp_type, lp->icmp_code);
        if (cn)
            sb_printf(sb, " %s", cn);
        if (lp->icmp_type == 3 && lp->icmp_code == 4)
            sb_printf(sb, " mtu %u", (unsigned)(lp->icmp_rest & 0xffff));
        return;
    }
    const flow *f = fi >= 0 ? &r->flows[fi] : NULL;
    int ports = !f || lp->sport != f->lport || lp->dport != f->rport;
    if (lp->proto == 17) {
        sb_printf(sb, "udp %u>%u (%zu)", lp->sport, lp->dport, lp->paylen);
        return;
    }
    if (ports)
        sb_printf(sb, "%u>%u ", lp->sport, lp->dport);
    uint16_t fl = lp->flags;
    if (!(fl & ~F_ACK)) {
        sb_printf(sb, "%s", fl & F_ACK ? "." : "-");
    } else {
        static const struct { uint16_t bit; char c; } order[] = {
            { F_FIN, 'F' }, { F_SYN, 'S' }, { F_RST, 'R' }, { F_PSH, 'P' },
            { F_URG, 'U' }, { F_ECE, 'E' }, { F_CWR, 'W' }, { F_AE, 'A' },
        };
        for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
            if (fl & order[i].bit)
                sb_printf(sb, "%c", order[i].c);
        if (fl & F_ACK)
            sb_printf(sb, ".");
    }
    uint32_t isn = f && f->our_isn_known ? f->our_isn : 0;
    if ((fl & F_SYN) && f && !f->our_isn_known)
        isn = lp->seq;
    uint32_t rseq = lp->seq - isn;
    sb_printf(sb, " %u:%u(%zu)", (unsigned)rseq, (unsigned)(rseq + (uint32_t)lp->paylen), lp->paylen);
    uint32_t risn = f ? f->remote_isn : 0;
    if (fl & F_ACK)
        sb_printf(sb, " ack %u", (unsigned)(lp->ack - risn));
    sb_printf(sb, " win %u", lp->win);
    if (fl & F_URG)
        sb_printf(sb, " urg %u", lp->urg);
    if (lp->optlen) {
        tcp_opt opts[MAX_OPTS];
        char err[96];
        int n = decode_tcp_opts(lp->opt, lp->optlen, opts, MAX_OPTS, err, sizeof err);
        if (n < 0) {
            sb_printf(sb, " <%s>", err);
        } else {
            for (int i = 0; i < n; i++) {
                if (opts[i].kind == OPT_TS && f && f->ts_known)
                    opts[i].a -= f->ts_off;
                if (opts[i].kind == OPT_SACK)
                    for (int b = 0; b < opts[i].nsack; b++) {
                        opts[i].sack[b][0] -= risn;
                        opts[i].sack[b][1] -= risn;
                    }
            }
            sb_printf(sb, " ");
            print_tcp_opts(sb, opts, n);
        }
    }
    if (lp->ok && lp->proto == 6 && (lp->tos & 3))
        sb_printf(sb, " [%s]", (lp->tos & 3) == 3 ? "ce" : (lp->tos & 3) == 2 ? "ect0" : "ect1");
}

static const char *live_str(runner *r, const outpkt *op, int fi)
{
    static strbuf sb;
    sb_free(&sb);
    live_pkt lp;
    decode_live(op->data, op->len, &lp);
    print_live(r, &sb, &lp, fi);
    sb_printf(&sb, " at ");
    fmt_secs(&sb, op->t_ms * 1000);
    return sb.buf;
}

static const char *spec_str(const pkt_spec *p)
{
    static strbuf sb;
    sb_free(&sb);
    print_pkt_spec(&sb, p);
    return sb.buf;
}

static const char *secs(int64_t us)
{
    static char ring[4][32];
    static int k;
    strbuf sb = {0};
    fmt_secs(&sb, us);
    char *o = ring[k++ & 3];
    snprintf(o, 32, "%s", sb.buf);
    sb_free(&sb);
    return o;
}

/* ---- polling and time ---- */
static void drain_events(runner *r)
{
    wtcp_event ev;
    int guard = 0;
    while (wtcp_next_event(r->st, &ev) == 1) {
        if (++guard > 100000)
            FAIL("wtcp_next_event keeps returning events");
        if (r->o->verbose) {
            int fd = -1;
            for (int i = 0; i < MAX_FDS; i++)
                if (r->fds[i].used && r->fds[i].h == ev.sock)
                    fd = i;
            vlog(r, "event handle %ld (fd %d):%s%s%s%s%s%s", (long)ev.sock, fd,
                 ev.events & WTCP_EV_READABLE ? " READABLE" : "",
                 ev.events & WTCP_EV_WRITABLE ? " WRITABLE" : "",
                 ev.events & WTCP_EV_CONNECTED ? " CONNECTED" : "",
                 ev.events & WTCP_EV_ACCEPTABLE ? " ACCEPTABLE" : "",
                 ev.events & WTCP_EV_CLOSED ? " CLOSED" : "",
                 ev.events & WTCP_EV_ERROR ? " ERROR" : "");
        }
    }
}

static void do_poll(runner *r)
{
    r->deadline = wtcp_poll(r->st, BASE_MS + (uint64_t)r->now);
    drain_events(r);
}

static int try_call(runner *r, call *c, int64_t *ret, const char **err);
static void finish_call(runner *r, call *c, int64_t ret, const char *err);

/* A pending blocking call: complete it if it can, fail if its window has passed. */
static void check_pending(runner *r)
{
    if (!r->pend.active)
        return;
    int64_t ret;
    const char *err;
    if (try_call(r, &r->pend, &ret, &err)) {
        call c = r->pend;
        r->pend.active = 0;
        do_poll(r);
        finish_call(r, &c, ret, err);
        return;
    }
    if (r->now * 1000 > r->pend.end_us + r->tol_us)
        failf(r, r->pend.ev->line,
              "timing error: expected blocking %s() to return at %s (tolerance %s) but it is "
              "still blocked at %s", r->pend.ev->sc->name, secs(r->pend.end_us), secs(r->tol_us),
              secs(r->now * 1000));
}

static void step_to(runner *r, int64_t t)
{
    if (t > r->now)
        r->now = t;
    do_poll(r);
    check_pending(r);
    if (r->qlen > 100000)
        FAIL("more than 100000 packets sent and not claimed by '>' lines");
}

/* Packets nobody claimed. Before a '<' line every queued packet is unexpected (the
 * script says the stack sends it after that packet arrives); before a system call only
 * packets sent earlier than the line's time minus the tolerance are (a later '>' line
 * could still claim the others, as in packetdrill). */
enum { CHK_NONE, CHK_SYSCALL, CHK_INBOUND };

static void check_unexpected(runner *r, int mode, int64_t line_us)
{
    if (r->o->lenient || r->qlen == 0 || mode == CHK_NONE)
        return;
    outpkt *op = &r->q[r->qhead];
    if (mode == CHK_SYSCALL && op->t_ms * 1000 >= line_us - r->tol_us)
        return;
    live_pkt lp;
    decode_live(op->data, op->len, &lp);
    int fi = r->deflow;
    if (lp.ok && lp.proto == 6) {
        int f = flow_find(r, lp.sport, lp.dport, 0);
        if (f >= 0)
            fi = f;
    }
    FAIL("unexpected packet %s (before this line)", live_str(r, op, fi));
}

/* The next time something happens on its own: a stack deadline or the end of a
 * pending call's window. */
static int64_t next_wakeup(runner *r)
{
    int64_t next = INT64_MAX;
    if (r->deadline != WTCP_NEVER)
        next = r->deadline <= BASE_MS ? 0 : (int64_t)(r->deadline - BASE_MS);
    if (r->pend.active) {
        int64_t p = (r->pend.end_us + r->tol_us) / 1000 + 1;
        if (p < next)
            next = p;
    }
    return next;
}

static void advance(runner *r, int64_t target, int check, int64_t line_us)
{
    int guard = 0;
    for (;;) {
        check_unexpected(r, check, line_us);
        int64_t next = next_wakeup(r);
        if (next > target)
            break;
        if (next <= r->now) {
            if (++guard > 1000)
                FAIL("wtcp_poll keeps returning a deadline that is not in the future "
                     "(deadline %llu, now %llu)", (unsigned long long)r->deadline,
                     (unsigned long long)(BASE_MS + (uint64_t)r->now));
            next = r->now;
        } else {
            guard = 0;
        }
        step_to(r, next);
    }
    if (target > r->now)
        step_to(r, target);
    check_unexpected(r, check, line_us);
}

static void pop_packet(runner *r, outpkt *out)
{
    *out = r->q[r->qhead];
    r->qhead++;
    r->qlen--;
    if (r->qlen == 0)
        r->qhead = 0;
}

/* ---- injecting ---- */
static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static size_t ip_header(runner *r, uint8_t *b, const pkt_spec *p, uint8_t proto, size_t total,
                        uint32_t src, uint32_t dst)
{
    b[0] = 0x45;
    uint8_t tos = p && p->has_tos ? p->tos : 0;
    if (p && p->ecn != ECN_UNSPEC && p->ecn != ECN_ECT01)
        tos = (uint8_t)((tos & ~3u) | (unsigned)p->ecn);
    b[1] = tos;
    put16(b + 2, (uint32_t)total);
    put16(b + 4, r->ip_id++);
    put16(b + 6, 0x4000); /* DF */
    b[8] = p && p->has_ttl ? p->ttl : 64;
    b[9] = proto;
    put16(b + 10, 0);
    put32(b + 12, src);
    put32(b + 16, dst);
    put16(b + 10, csum_fold(csum_add(b, 20, 0)));
    return 20;
}

static uint32_t pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, size_t len)
{
    uint8_t ph[12];
    put32(ph, src);
    put32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = proto;
    put16(ph + 10, (uint32_t)len);
    return csum_add(ph, 12, 0);
}

static uint32_t map_ecr(runner *r, flow *f, uint32_t script_ecr)
{
    for (int i = 0; i < f->ntsmap; i++)
        if (f->tsmap[i].script == script_ecr)
            return f->tsmap[i].live;
    if (f->ts_known)
        return script_ecr + f->ts_off;
    (void)r;
    return script_ecr;
}

static size_t build_tcp(runner *r, const pkt_spec *p, int fi, uint8_t *b, size_t cap)
{
    flow *f = &r->flows[fi];
    if (f->lport == 0)
        FAIL("cannot inject: the local port of this connection is not known yet "
             "(no SYN from the stack seen)");
    tcp_opt opts[MAX_OPTS];
    memcpy(opts, p->opts, sizeof opts[0] * (size_t)p->nopts);
    uint32_t our = f->our_isn_known ? f->our_isn : 0;
    for (int i = 0; i < p->nopts; i++) {
        if (opts[i].kind == OPT_SACK)
            for (int k = 0; k < opts[i].nsack; k++) {
                opts[i].sack[k][0] += our;
                opts[i].sack[k][1] += our;
            }
        if (opts[i].kind == OPT_TS && (p->flags & F_ACK))
            opts[i].b = map_ecr(r, f, opts[i].b);
    }
    uint8_t ob[64];
    int olen = encode_tcp_opts(opts, p->nopts, ob, sizeof ob);
    size_t thl = 20 + (size_t)olen, total = 20 + thl + p->len;
    if (olen < 0 || total > cap)
        FAIL("packet too large");
    uint8_t *t = b + 20;
    put16(t, f->rport);
    put16(t + 2, f->lport);
    put32(t + 4, f->remote_isn + p->seq);
    put32(t + 8, (p->flags & F_ACK) ? our + p->ack : p->ack);
    t[12] = (uint8_t)((thl / 4) << 4 | ((p->flags & F_AE) ? 1 : 0));
    t[13] = (uint8_t)p->flags;
    put16(t + 14, p->win);
    put16(t + 16, 0);
    put16(t + 18, p->urg);
    memcpy(t + 20, ob, (size_t)olen);
    for (uint32_t i = 0; i < p->len; i++)
        t[thl + i] = pattern((uint64_t)(p->seq - 1) + i);
    put16(t + 16, csum_fold(csum_add(t, thl + p->len, pseudo_sum(REMOTE_ADDR, LOCAL_ADDR, 6, thl + p->len))));
    ip_header(r, b, p, 6, total, REMOTE_ADDR, LOCAL_ADDR);
    return total;
}

static size_t build_udp(runner *r, const pkt_spec *p, int fi, uint8_t *b, size_t cap)
{
    flow *f = &r->flows[fi];
    size_t total = 28 + p->udp_len;
    if (total > cap)
        FAIL("packet too large");
    uint8_t *u = b + 20;
    put16(u, f->rport);
    put16(u + 2, f->lport ? f->lport : LOCAL_PORT);
    put16(u + 4, (uint32_t)(8 + p->udp_len));
    put16(u + 6, 0);
    for (uint32_t i = 0; i < p->udp_len; i++)
        u[8 + i] = pattern(i);
    uint16_t c = csum_fold(csum_add(u, 8 + p->udp_len, pseudo_sum(REMOTE_ADDR, LOCAL_ADDR, 17, 8 + p->udp_len)));
    put16(u + 6, c ? c : 0xffff);
    ip_header(r, b, p, 17, total, REMOTE_ADDR, LOCAL_ADDR);
    return total;
}

/* ICMP error quoting our (the local side's) packet: IP header + first 8 bytes. */
static size_t build_icmp(runner *r, const pkt_spec *p, int fi, uint8_t *b, size_t cap)
{
    flow *f = &r->flows[fi];
    uint8_t inner[28];
    size_t ilen = 0;
    if (p->echo_proto == PR_TCP || p->echo_proto == PR_UDP) {
        int tcp = p->echo_proto == PR_TCP;
        size_t l4 = tcp ? 20 : 8;
        ip_header(r, inner, NULL, tcp ? 6 : 17, 20 + l4 + p->echo_len, LOCAL_ADDR, REMOTE_ADDR);
        put16(inner + 20, f->lport);
        put16(inner + 22, f->rport);
        if (tcp)
            put32(inner + 24, (f->our_isn_known ? f->our_isn : 0) + p->echo_seq);
        else {
            put16(inner + 24, (uint32_t)(8 + p->echo_len));
            put16(inner + 26, 0);
        }
        ilen = 28;
    }
    size_t raw = p->echo_proto == -1 ? p->echo_len : 0;
    size_t mlen = 8 + ilen + raw, total = 20 + mlen;
    if (total > cap)
        FAIL("packet too large");
    uint8_t *m = b + 20;
    m[0] = p->icmp_type;
    m[1] = p->icmp_code;
    put16(m + 2, 0);
    uint32_t rest = 0;
    if (p->has_mtu)
        rest = p->mtu & 0xffff;
    if (p->has_id)
        rest = p->id << 16;
    put32(m + 4, rest);
    memcpy(m + 8, inner, ilen);
    memset(m + 8 + ilen, 0, raw);
    put16(m + 2, csum_fold(csum_add(m, mlen, 0)));
    ip_header(r, b, p, 1, total, REMOTE_ADDR, LOCAL_ADDR);
    return total;
}

static void inject(runner *r, const event *e)
{
    const pkt_spec *p = e->pkt;
    int fi = flow_for_spec(r, p);
    uint8_t *b = scratch(r, 65536 + 128);
    size_t len;
    if (p->proto == PR_TCP)
        len = build_tcp(r, p, fi, b, 65536 + 128);
    else if (p->proto == PR_UDP)
        len = build_udp(r, p, fi, b, 65536 + 128);
    else
        len = build_icmp(r, p, fi, b, 65536 + 128);
    wtcp_stats before, after;
    if (r->o->verbose) {
        vlog(r, "%d: %s", e->line, spec_str(p));
        wtcp_stats_get(r->st, &before);
    }
    int rc = wtcp_input(r->st, BASE_MS + (uint64_t)r->now, b, len);
    if (r->o->verbose) {
        wtcp_stats_get(r->st, &after);
        char why[200] = "";
        for (int k = 0; k < WTCP_DROP_COUNT; k++)
            if (after.drop[k] != before.drop[k])
                snprintf(why + strlen(why), sizeof why - strlen(why), " [%s]", wtcp_drop_name(k));
        if (rc < 0 || why[0])
            vlog(r, "    dropped:%s%s%s", why, rc < 0 ? " wtcp_input: " : "", rc < 0 ? wtcp_errname(rc) : "");
    }
    do_poll(r);
    check_pending(r);
}

/* ---- comparing an emitted packet with a '>' line ---- */
static int tcp_opts_compare(runner *r, flow *f, const pkt_spec *p, const live_pkt *lp, char *why,
                            size_t whysz)
{
    tcp_opt live[MAX_OPTS];
    char err[96];
    int n = decode_tcp_opts(lp->opt, lp->optlen, live, MAX_OPTS, err, sizeof err);
    if (n < 0) {
        snprintf(why, whysz, "%s", err);
        return -1;
    }
    if (n != p->nopts) {
        snprintf(why, whysz, "bad outbound TCP options (%d options, script has %d)", n, p->nopts);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const tcp_opt *s = &p->opts[i], *l = &live[i];
        if (s->kind != l->kind) {
            snprintf(why, whysz, "bad outbound TCP options (option %d is kind %u, script has kind %u)",
                     i + 1, l->kind, s->kind);
            return -1;
        }
    }
    if ((int)lp->optlen != p->opt_bytes) {
        snprintf(why, whysz, "TCP options are %zu bytes, script's are %d", lp->optlen, p->opt_bytes);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const tcp_opt *s = &p->opts[i], *l = &live[i];
        switch (s->kind) {
        case OPT_EOL:
        case OPT_NOP:
        case OPT_SACKOK:
            break;
        case OPT_MSS:
        case OPT_WSCALE:
            if (s->a != l->a) {
                snprintf(why, whysz, "bad %s: %u, script has %u", s->kind == OPT_MSS ? "mss" : "wscale",
                         (unsigned)l->a, (unsigned)s->a);
                return -1;
            }
            break;
        case OPT_SACK:
            if (s->nsack != l->nsack) {
                snprintf(why, whysz, "bad sack: %u blocks, script has %u", l->nsack, s->nsack);
                return -1;
            }
            for (int b = 0; b < s->nsack; b++)
                for (int k = 0; k < 2; k++)
                    if (l->sack[b][k] - f->remote_isn != s->sack[b][k]) {
                        snprintf(why, whysz, "bad sack block %d: %u:%u, script has %u:%u", b + 1,
                                 (unsigned)(l->sack[b][0] - f->remote_isn),
                                 (unsigned)(l->sack[b][1] - f->remote_isn), (unsigned)s->sack[b][0],
                                 (unsigned)s->sack[b][1]);
                        return -1;
                    }
            break;
        case OPT_TS: {
            if (!f->ts_known) {
                f->ts_known = 1;
                f->ts_off = l->a - s->a;
            }
            /* remember script val -> live val for inbound ecr mapping */
            int k;
            for (k = 0; k < f->ntsmap; k++)
                if (f->tsmap[k].script == s->a)
                    break;
            if (k == f->ntsmap) {
                if (f->ntsmap < TSMAP)
                    k = f->ntsmap++;
                else
                    k = f->tsnext++ % TSMAP;
            }
            f->tsmap[k].script = s->a;
            f->tsmap[k].live = l->a;
            if (r->tick_us > 0) {
                int32_t d = (int32_t)(l->a - (s->a + f->ts_off));
                int64_t ad = d < 0 ? -(int64_t)d : d;
                if (ad > r->tol_us / r->tick_us + 1) {
                    snprintf(why, whysz, "bad outbound TCP timestamp value: TS val %u, script has %u "
                             "(tick %lld us, tolerance %lld us)", (unsigned)(l->a - f->ts_off),
                             (unsigned)s->a, (long long)r->tick_us, (long long)r->tol_us);
                    return -1;
                }
            }
            if (!r->o->no_ecr_check && l->b != s->b) {
                snprintf(why, whysz, "bad TS ecr %u, script has %u", (unsigned)l->b, (unsigned)s->b);
                return -1;
            }
            break;
        }
        default:
            if (s->dlen != l->dlen || memcmp(s->data, l->data, s->dlen)) {
                snprintf(why, whysz, "bad value in TCP option kind %u", s->kind);
                return -1;
            }
            break;
        }
    }
    return 0;
}

/* Returns NULL when lp matches p, else the reason. */
static const char *compare(runner *r, const pkt_spec *p, int fi, const live_pkt *lp, int64_t t_us,
                           int64_t lo_us, int64_t hi_us, int any)
{
    static char why[400];
    if (!lp->ok) {
        snprintf(why, sizeof why, "malformed outbound packet: %s", lp->err);
        return why;
    }
    if (lp->src != LOCAL_ADDR || lp->dst != REMOTE_ADDR) {
        char s[16], d[16];
        wtcp_addr_format(lp->src, s);
        wtcp_addr_format(lp->dst, d);
        snprintf(why, sizeof why, "bad addresses %s > %s (want 192.168.0.1 > 192.0.2.1)", s, d);
        return why;
    }
    if (!lp->ip_csum_ok)
        return "bad outbound IP checksum";
    if (!lp->l4_csum_ok)
        return lp->proto == 6 ? "bad outbound TCP checksum" : lp->proto == 17 ? "bad outbound UDP checksum"
                                                                               : "bad outbound ICMP checksum";
    if (p->ecn != ECN_UNSPEC) {
        int e = lp->tos & 3;
        if (p->ecn == ECN_ECT01 ? (e != 1 && e != 2) : e != p->ecn) {
            snprintf(why, sizeof why, "bad ECN bits %d in IP TOS", e);
            return why;
        }
    }
    if (p->has_tos && (lp->tos & ~3u) != (p->tos & ~3u)) {
        snprintf(why, sizeof why, "bad IP TOS 0x%02x", lp->tos);
        return why;
    }
    if (p->has_ttl && lp->ttl != p->ttl) {
        snprintf(why, sizeof why, "bad IP TTL %u", lp->ttl);
        return why;
    }
    int want_proto = p->proto == PR_TCP ? 6 : p->proto == PR_UDP ? 17 : 1;
    if (lp->proto != want_proto) {
        snprintf(why, sizeof why, "wrong protocol %u", lp->proto);
        return why;
    }
    flow *f = &r->flows[fi];
    if (p->proto == PR_ICMP) {
        if (lp->icmp_type != p->icmp_type || lp->icmp_code != p->icmp_code)
            return "bad ICMP type/code";
        if (p->has_mtu && (lp->icmp_rest & 0xffff) != p->mtu)
            return "bad ICMP next-hop MTU";
    } else {
        /* ports */
        if (p->has_ports) {
            if (lp->sport != p->sport || lp->dport != p->dport)
                return "bad ports";
        } else {
            if (f->lport == 0 && lp->dport == f->rport)
                f->lport = lp->sport; /* active open: learn our port */
            if (lp->sport != f->lport || lp->dport != f->rport) {
                snprintf(why, sizeof why, "packet of another connection (%u>%u, expected %u>%u)", lp->sport,
                         lp->dport, f->lport, f->rport);
                return why;
            }
        }
        if (p->proto == PR_UDP) {
            if (lp->paylen != p->udp_len)
                return "bad UDP payload length";
        } else {
            if (lp->flags & F_SYN) {
                if (f->our_isn_known && f->our_isn != lp->seq) {
                    /* a new connection on the same ports: forget the old TS mapping */
                    f->ts_known = 0;
                    f->ntsmap = 0;
                    f->tsnext = 0;
                }
                f->our_isn = lp->seq;
                f->our_isn_known = 1;
            }
            uint32_t isn = f->our_isn_known ? f->our_isn : 0;
            uint32_t rseq = lp->seq - isn;
            if (lp->flags != p->flags)
                return "bad TCP flags";
            if (rseq != p->seq)
                return "bad sequence number";
            if (lp->paylen != p->len)
                return "bad payload length";
            if ((p->flags & F_ACK) && lp->ack - f->remote_isn != (p->has_ack ? p->ack : 0))
                return "bad ack number";
            if (p->has_win && lp->win != p->win)
                return "bad window";
            if (p->has_urg && lp->urg != p->urg)
                return "bad urgent pointer";
            if (!p->opts_any) {
                char owhy[300];
                if (tcp_opts_compare(r, f, p, lp, owhy, sizeof owhy) < 0) {
                    snprintf(why, sizeof why, "%s", owhy);
                    return why;
                }
            }
            if (!r->o->no_payload_check && f->our_isn_known && !(lp->flags & F_SYN) && rseq >= 1) {
                for (size_t j = 0; j < lp->paylen; j++)
                    if (lp->payload[j] != pattern((uint64_t)(rseq - 1) + j)) {
                        snprintf(why, sizeof why, "payload byte at relative seq %u is not the data written",
                                 (unsigned)(rseq + j));
                        return why;
                    }
            }
        }
    }
    if (!any) {
        if (t_us < lo_us - r->tol_us) {
            snprintf(why, sizeof why, "packet too early: expected at %s%s%s (tolerance %s), sent at %s",
                     secs(lo_us), hi_us != lo_us ? "~" : "", hi_us != lo_us ? secs(hi_us) : "",
                     secs(r->tol_us), secs(t_us));
            return why;
        }
        if (t_us > hi_us + r->tol_us) {
            snprintf(why, sizeof why, "packet too late: expected at %s%s%s (tolerance %s), sent at %s",
                     secs(lo_us), hi_us != lo_us ? "~" : "", hi_us != lo_us ? secs(hi_us) : "",
                     secs(r->tol_us), secs(t_us));
            return why;
        }
    }
    return NULL;
}

/* Waits (advancing time up to limit) until a packet is queued, and takes it. */
static void wait_packet(runner *r, const pkt_spec *p, int64_t limit, int64_t lo_us, int64_t hi_us, int any,
                        outpkt *op, const char *what)
{
    int guard = 0;
    while (r->qlen == 0) {
        int64_t next = next_wakeup(r);
        if (next > limit) {
            if (next == INT64_MAX || any)
                FAIL("expected %s but no %s came (the stack has nothing scheduled)", spec_str(p), what);
            FAIL("expected %s at %s%s%s but no %s came by %s", spec_str(p), secs(lo_us),
                 hi_us != lo_us ? "~" : "", hi_us != lo_us ? secs(hi_us) : "", what,
                 secs(hi_us + r->tol_us));
        }
        if (next <= r->now) {
            if (++guard > 1000)
                FAIL("wtcp_poll keeps returning a deadline that is not in the future");
            next = r->now;
        } else {
            guard = 0;
        }
        step_to(r, next);
    }
    pop_packet(r, op);
}

/* packetdrill without --strict_segments: consecutive segments whose payloads add up
 * to the script's length are taken as one (as TSO/GSO would have sent them). Each
 * must continue the previous one (same ports, ack, window, SYN/RST/ACK/URG/ECE, header
 * length, contiguous seq) and all but the last must carry as much as the first. The
 * result has the last segment's headers with the first's seq and CWR. */
static void aggregate(runner *r, const event *e, int64_t limit, int64_t lo_us, int64_t hi_us, int any,
                      outpkt *op)
{
    const pkt_spec *p = e->pkt;
    live_pkt first;
    decode_live(op->data, op->len, &first);
    if (!first.ok || first.proto != 6 || first.paylen == 0 || first.paylen >= p->len ||
        !first.ip_csum_ok || !first.l4_csum_ok)
        return;
    int n = 1, cap = 8;
    outpkt *parts = malloc(sizeof *parts * (size_t)cap);
    if (!parts)
        FAIL("out of memory");
    parts[0] = *op;
    op->data = NULL;
    r->agg = parts;
    r->nagg = 1;
    size_t total = first.paylen, unit = first.paylen;
    while (total < p->len) {
        outpkt nx;
        wait_packet(r, p, limit, lo_us, hi_us, any, &nx, "further segment");
        if (n == cap) {
            cap *= 2;
            outpkt *np = realloc(parts, sizeof *parts * (size_t)cap);
            if (!np)
                FAIL("out of memory");
            parts = np;
            r->agg = parts;
        }
        parts[n++] = nx;
        r->nagg = n;
        live_pkt prev, l;
        decode_live(parts[n - 2].data, parts[n - 2].len, &prev);
        decode_live(nx.data, nx.len, &l);
        const char *bad = NULL;
        if (!l.ok || l.proto != 6)
            bad = "not a TCP segment";
        else if (!l.ip_csum_ok || !l.l4_csum_ok)
            bad = "bad checksum";
        else if (l.sport != prev.sport || l.dport != prev.dport || l.src != prev.src || l.dst != prev.dst)
            bad = "another connection";
        else if ((l.flags & ~(F_FIN | F_PSH | F_CWR)) != (prev.flags & ~(F_FIN | F_PSH | F_CWR)))
            bad = "different flags";
        else if (l.seq != prev.seq + (uint32_t)prev.paylen)
            bad = "sequence gap";
        else if (l.ack != prev.ack || l.win != prev.win || l.urg != prev.urg || l.thl != prev.thl)
            bad = "different ack/window/header length";
        else if (total + l.paylen > p->len)
            bad = "more data than the script's segment";
        else if (total + l.paylen < p->len && l.paylen != unit)
            bad = "uneven segment sizes";
        if (bad) {
            char got[600], frag[600];
            int fi = flow_for_spec(r, p);
            snprintf(got, sizeof got, "%s", live_str(r, &parts[0], fi));
            snprintf(frag, sizeof frag, "%s", live_str(r, &nx, fi));
            FAIL("expected `%s`: got `%s`, then `%s` which cannot join it (%s)", spec_str(p), got, frag, bad);
        }
        total += l.paylen;
    }
    /* The aggregate: last's IP+TCP headers, first's seq and CWR, all the payload. */
    live_pkt l;
    decode_live(parts[n - 1].data, parts[n - 1].len, &l);
    size_t hdr = (size_t)l.ihl + l.thl, len = hdr + total;
    uint8_t *b = malloc(len);
    if (!b) {
        fprintf(stderr, "wtcp-pktrun: out of memory\n");
        exit(2);
    }
    memcpy(b, parts[n - 1].data, hdr);
    size_t off = hdr;
    for (int i = 0; i < n; i++) {
        live_pkt x;
        decode_live(parts[i].data, parts[i].len, &x);
        memcpy(b + off, x.payload, x.paylen);
        off += x.paylen;
    }
    uint8_t *t = b + l.ihl;
    put16(b + 2, (uint32_t)len);
    put16(b + 10, 0);
    put16(b + 10, csum_fold(csum_add(b, l.ihl, 0)));
    put32(t + 4, first.seq);
    t[13] = (uint8_t)((t[13] & ~F_CWR) | (first.flags & F_CWR));
    put16(t + 16, 0);
    put16(t + 16, csum_fold(csum_add(t, len - l.ihl, pseudo_sum(l.src, l.dst, 6, len - l.ihl))));
    vlog(r, "    (%d segments joined into one of %zu bytes, as packetdrill does without --strict_segments)", n,
         total);
    op->t_ms = parts[n - 1].t_ms;
    for (int i = 0; i < n; i++)
        free(parts[i].data);
    free(parts);
    r->agg = NULL;
    r->nagg = 0;
    op->data = b;
    op->len = len;
}

static void expect_packet(runner *r, const event *e, int64_t lo_us, int64_t hi_us, int any)
{
    const pkt_spec *p = e->pkt;
    int fi = flow_for_spec(r, p);
    int64_t limit = any ? r->now + ANY_WAIT_MS : (hi_us + r->tol_us) / 1000;
    outpkt op;
    wait_packet(r, p, limit, lo_us, hi_us, any, &op, "packet");
    if (p->proto == PR_TCP && p->len > 0 && !r->strict_segments)
        aggregate(r, e, limit, lo_us, hi_us, any, &op);
    live_pkt lp;
    decode_live(op.data, op.len, &lp);
    const char *why = compare(r, p, fi, &lp, op.t_ms * 1000, lo_us, hi_us, any);
    if (why) {
        char got[600];
        snprintf(got, sizeof got, "%s", live_str(r, &op, fi));
        free(op.data);
        FAIL("%s: expected `%s` got `%s`", why, spec_str(p), got);
    }
    vlog(r, "%d: %s  ok", e->line, spec_str(p));
    free(op.data);
}

/* ---- system calls ---- */
static int64_t eval_int(runner *r, const expr *e, const char *what)
{
    int64_t v;
    switch (e->kind) {
    case EX_INT:
        return e->ival;
    case EX_WORD:
        if (sym_lookup(e->s, &v) == 0)
            return v;
        FAIL("unknown symbol '%s' in %s", e->s, what);
    case EX_OR:
        v = 0;
        for (int i = 0; i < e->n; i++)
            v |= eval_int(r, e->items[i], what);
        return v;
    case EX_ARRAY:
        if (e->n == 1)
            return eval_int(r, e->items[0], what);
        break;
    default:
        break;
    }
    strbuf sb = {0};
    print_expr(&sb, e);
    char tmp[200];
    snprintf(tmp, sizeof tmp, "%s", sb.buf ? sb.buf : "");
    sb_free(&sb);
    FAIL("expected an integer for %s but found %s", what, tmp);
}

static const expr *arg(runner *r, const event *e, int i, const char *what)
{
    if (i >= e->sc->nargs)
        FAIL("%s() needs %s (argument %d)", e->sc->name, what, i + 1);
    return e->sc->args[i];
}

static int get_fd(runner *r, const event *e, int i)
{
    int64_t fd = eval_int(r, arg(r, e, i, "a file descriptor"), "file descriptor");
    if (fd < 0 || fd >= MAX_FDS || !r->fds[fd].used)
        return -1;
    return (int)fd;
}

static int alloc_fd(runner *r, int64_t want)
{
    if (want >= 3 && want < MAX_FDS && !r->fds[want].used)
        return (int)want;
    if (want >= 0 && want < MAX_FDS && r->fds[want].used)
        FAIL("script expects fd %lld but it is in use", (long long)want);
    for (int i = 3; i < MAX_FDS; i++)
        if (!r->fds[i].used)
            return i;
    FAIL("too many file descriptors");
}

/* sockaddr: {sa_family=AF_INET, sin_port=htons(N), sin_addr=inet_addr("a.b.c.d")} */
static void parse_sockaddr(runner *r, const expr *e, uint32_t *addr, uint16_t *port)
{
    if (e->kind == EX_ELLIPSIS)
        return;
    if (e->kind != EX_STRUCT)
        FAIL("expected ... or {sa_family=AF_INET, sin_port=htons(N), sin_addr=inet_addr(\"a.b.c.d\")}");
    for (int i = 0; i < e->n; i++) {
        const expr *m = e->items[i];
        if (m->kind != EX_ASSIGN)
            continue;
        const expr *v = m->items[0];
        if (!strcmp(m->s, "sin_port")) {
            if (v->kind == EX_CALL && !strcmp(v->s, "htons") && v->n == 1)
                *port = (uint16_t)eval_int(r, v->items[0], "sin_port");
            else
                *port = (uint16_t)eval_int(r, v, "sin_port");
        } else if (!strcmp(m->s, "sin_addr")) {
            if (v->kind == EX_CALL && !strcmp(v->s, "inet_addr") && v->n == 1 && v->items[0]->kind == EX_STRING) {
                if (wtcp_addr_parse(v->items[0]->s, addr) < 0)
                    FAIL("bad address \"%s\"", v->items[0]->s);
            } else {
                *addr = (uint32_t)eval_int(r, v, "sin_addr");
            }
        } else if (!strcmp(m->s, "sa_family")) {
            int64_t fam = eval_int(r, v, "sa_family");
            if (fam != 2)
                FAIL("only AF_INET addresses are supported");
        }
    }
}

/* Tries a (possibly blocking) call once. Returns 1 with *ret (>= 0) or *err set
 * (*ret = -1), or 0 when it would block. */
static int try_call(runner *r, call *c, int64_t *ret, const char **err)
{
    fdent *fd = &r->fds[c->fd];
    *err = NULL;
    *ret = 0;
    if (!fd->used) {
        *ret = -1;
        *err = "EBADF";
        return 1;
    }
    switch (c->kind) {
    case C_ACCEPT: {
        uint32_t a;
        uint16_t port;
        int h = wtcp_accept(r->st, fd->h, &a, &port);
        if (h == WTCP_EAGAIN && !c->nonblock)
            return 0;
        if (h < 0) {
            *ret = -1;
            *err = wtcp_errname(h);
            return 1;
        }
        int nfd = alloc_fd(r, c->want_fd);
        fdent *n = &r->fds[nfd];
        memset(n, 0, sizeof *n);
        n->used = 1;
        n->h = h;
        n->type = WTCP_SOCK_STREAM;
        n->flow = flow_find(r, fd->flow >= 0 ? r->flows[fd->flow].lport : LOCAL_PORT, port, 1);
        r->sut = nfd;
        *ret = nfd;
        return 1;
    }
    case C_CONNECT: {
        wtcp_info info;
        int rc = wtcp_info_get(r->st, fd->h, &info);
        if (rc < 0) {
            *ret = -1;
            *err = wtcp_errname(rc);
            return 1;
        }
        if (info.state >= WTCP_ESTABLISHED)
            return 1;
        if (info.state == WTCP_CLOSED) {
            int e = 0;
            wtcp_getsockopt(r->st, fd->h, WTCP_SO_ERROR, &e);
            *ret = -1;
            *err = e < 0 ? wtcp_errname(e) : "ECONNABORTED";
            return 1;
        }
        return 0;
    }
    case C_READ: {
        size_t n = (size_t)c->count;
        uint8_t *b = scratch(r, n ? n : 1);
        int rc = wtcp_recv(r->st, fd->h, b, n);
        if (rc == WTCP_EAGAIN && !c->nonblock)
            return 0;
        if (rc < 0) {
            *ret = -1;
            *err = wtcp_errname(rc);
            return 1;
        }
        *ret = rc;
        return 1;
    }
    case C_WRITE: {
        for (;;) {
            size_t n = (size_t)(c->count - c->done);
            if (n == 0) {
                *ret = c->done;
                return 1;
            }
            uint8_t *b = scratch(r, n);
            for (size_t i = 0; i < n; i++)
                b[i] = pattern(fd->written + i);
            int rc = wtcp_send(r->st, fd->h, b, n);
            if (rc > 0) {
                fd->written += (uint64_t)rc;
                c->done += rc;
                if (c->nonblock) {
                    *ret = c->done;
                    return 1;
                }
                continue;
            }
            if (rc == WTCP_EAGAIN || rc == 0) {
                if (c->nonblock) {
                    if (c->done > 0) {
                        *ret = c->done;
                        return 1;
                    }
                    if (rc == 0) {
                        *ret = 0;
                        return 1;
                    }
                    *ret = -1;
                    *err = "EAGAIN";
                    return 1;
                }
                return 0;
            }
            if (c->done > 0) {
                *ret = c->done;
                return 1;
            }
            *ret = -1;
            *err = wtcp_errname(rc);
            return 1;
        }
    }
    }
    return 1;
}

static void describe_result(char *out, size_t n, int64_t ret, const char *err)
{
    if (ret < 0 && err)
        snprintf(out, n, "-1 %s", err);
    else
        snprintf(out, n, "%lld", (long long)ret);
}

/* Compares a result with the script's "= value [ERRNO]". */
static void check_result(runner *r, const event *e, int64_t ret, const char *err)
{
    const syscall_spec *s = e->sc;
    char got[80];
    describe_result(got, sizeof got, ret, err);
    if (s->result->kind == EX_ELLIPSIS)
        return;
    int64_t want = eval_int(r, s->result, "the expected result");
    if (want != ret) {
        failf(r, e->line, "%s() returned %s but the script expects %lld%s%s", s->name, got, (long long)want,
              s->errno_name ? " " : "", s->errno_name ? s->errno_name : "");
    }
    if (ret < 0 && s->errno_name && err && strcmp(errno_canon(s->errno_name), errno_canon(err)) != 0)
        failf(r, e->line, "%s() returned %s but the script expects -1 %s", s->name, got, s->errno_name);
}

static void finish_call(runner *r, call *c, int64_t ret, const char *err)
{
    const event *e = c->ev;
    char got[80];
    describe_result(got, sizeof got, ret, err);
    if (c->kind == C_ACCEPT && ret >= 0 && e->sc->result->kind == EX_INT && e->sc->result->ival != ret)
        failf(r, e->line, "accept() returned fd %lld but the script expects %lld", (long long)ret,
              (long long)e->sc->result->ival);
    check_result(r, e, ret, err);
    if (e->sc->has_end) {
        int64_t t = r->now * 1000;
        if (t < c->end_us - r->tol_us || t > c->end_us + r->tol_us)
            failf(r, e->line, "timing error: expected %s() to return at %s (tolerance %s) but it returned "
                  "at %s", e->sc->name, secs(c->end_us), secs(r->tol_us), secs(t));
    }
    vlog(r, "    %s() (line %d) returned %s", e->sc->name, e->line, got);
}

/* Starts a call that may block: completes it, makes it pending (start...end) or fails. */
static void blocking_call(runner *r, const event *e, call *c, int64_t end_us)
{
    c->ev = e;
    c->end_us = end_us;
    int64_t ret;
    const char *err;
    int done = try_call(r, c, &ret, &err);
    do_poll(r);
    if (done) {
        finish_call(r, c, ret, err);
        check_pending(r);
        return;
    }
    if (!e->sc->has_end)
        FAIL("%s() would block; write it as a blocking call with start...end "
             "(e.g. +0...0.1 %s(...)), or make the socket non-blocking", e->sc->name, e->sc->name);
    vlog(r, "    blocks (must return at %s)", secs(end_us));
    r->pend = *c;
    r->pend.active = 1;
}

static int level_is(int64_t level, int want) { return level == want; }

static int map_sockopt(runner *r, int64_t level, int64_t name, const char **label)
{
    /* SOL_SOCKET = 1, SOL_TCP = IPPROTO_TCP = 6 */
    static const struct { int level, name, opt; const char *label; } map[] = {
        { 1, 2, WTCP_SO_REUSEADDR, "SO_REUSEADDR" }, { 1, 8, WTCP_SO_RCVBUF, "SO_RCVBUF" },
        { 1, 7, WTCP_SO_SNDBUF, "SO_SNDBUF" },       { 1, 9, WTCP_SO_KEEPALIVE, "SO_KEEPALIVE" },
        { 1, 4, WTCP_SO_ERROR, "SO_ERROR" },         { 6, 1, WTCP_TCP_NODELAY, "TCP_NODELAY" },
        { 6, 2, WTCP_TCP_MAXSEG, "TCP_MAXSEG" },     { 1, 13, WTCP_SO_LINGER0, "SO_LINGER" },
        { 6, 4, WTCP_TCP_KEEPIDLE, "TCP_KEEPIDLE" }, { 6, 5, WTCP_TCP_KEEPINTVL, "TCP_KEEPINTVL" },
        { 6, 6, WTCP_TCP_KEEPCNT, "TCP_KEEPCNT" },   { 6, 18, WTCP_TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT" },
        { 6, 13, WTCP_TCP_CONGESTION, "TCP_CONGESTION" },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (level_is(level, map[i].level) && name == map[i].name) {
            *label = map[i].label;
            return map[i].opt;
        }
    (void)r;
    return -1;
}

static const char *opt_text(const expr *e)
{
    static strbuf sb;
    sb_free(&sb);
    print_expr(&sb, e);
    return sb.buf ? sb.buf : "";
}

/* {onoff=N, linger=M} -> onoff, linger */
static void linger_value(runner *r, const expr *v, int64_t *onoff, int64_t *linger)
{
    *onoff = *linger = -1;
    if (v->kind != EX_STRUCT)
        FAIL("SO_LINGER needs {onoff=N, linger=M}");
    for (int i = 0; i < v->n; i++) {
        const expr *m = v->items[i];
        if (m->kind == EX_ASSIGN && !strcmp(m->s, "onoff"))
            *onoff = eval_int(r, m->items[0], "onoff");
        else if (m->kind == EX_ASSIGN && !strcmp(m->s, "linger"))
            *linger = eval_int(r, m->items[0], "linger");
    }
    if (*onoff < 0 || *linger < 0)
        FAIL("SO_LINGER needs {onoff=N, linger=M}");
}

static void sys_setsockopt(runner *r, const event *e, int fd)
{
    int64_t level = eval_int(r, arg(r, e, 1, "a level"), "level");
    const expr *ne = arg(r, e, 2, "an option name");
    int64_t name = -1;
    if (ne->kind != EX_WORD || sym_lookup(ne->s, &name) == 0)
        name = eval_int(r, ne, "option name");
    const expr *v = arg(r, e, 3, "a value");
    const char *label = "";
    int opt = name < 0 ? -1 : map_sockopt(r, level, name, &label);
    if (opt < 0 || opt == WTCP_SO_ERROR)
        FAIL("setsockopt(%s) is not supported by wtcp", opt_text(ne));
    int value;
    if (opt == WTCP_SO_LINGER0) {
        int64_t onoff, linger;
        linger_value(r, v, &onoff, &linger);
        if (onoff && linger)
            FAIL("SO_LINGER with a nonzero linger time is not supported by wtcp (only {onoff=1, linger=0})");
        value = onoff ? 1 : 0;
    } else if (opt == WTCP_TCP_CONGESTION) {
        /* Linux names the algorithm: "reno" is NewReno there. */
        if (v->kind != EX_STRING)
            FAIL("TCP_CONGESTION needs a name such as \"cubic\" or \"reno\"");
        if (!strcmp(v->s, "cubic"))
            value = WTCP_CC_CUBIC;
        else if (!strcmp(v->s, "reno") || !strcmp(v->s, "newreno"))
            value = WTCP_CC_NEWRENO;
        else
            FAIL("TCP_CONGESTION \"%s\" is not in wtcp (cubic, reno)", v->s);
    } else {
        value = (int)eval_int(r, v, label);
    }
    int rc = fd < 0 ? WTCP_EBADF : wtcp_setsockopt(r->st, r->fds[fd].h, opt, value);
    do_poll(r);
    vlog(r, "    setsockopt(%s, %d) returned %d%s%s", label, value, rc < 0 ? -1 : rc,
         rc < 0 ? " " : "", rc < 0 ? wtcp_errname(rc) : "");
    check_result(r, e, rc < 0 ? -1 : rc, rc < 0 ? wtcp_errname(rc) : NULL);
}

/* A value in getsockopt(TCP_INFO, {...}): numbers, Linux symbols, TCP_* constants. */
static int64_t info_value(runner *r, const expr *e, const char *what)
{
    int64_t v;
    if (e->kind == EX_WORD && tcpinfo_const(e->s, &v) == 0)
        return v;
    if (e->kind == EX_OR) {
        v = 0;
        for (int i = 0; i < e->n; i++)
            v |= info_value(r, e->items[i], what);
        return v;
    }
    return eval_int(r, e, what);
}

/* getsockopt(fd, SOL_TCP, TCP_INFO, {tcpi_snd_cwnd=10, ...}, len): every field written is
 * compared (`...` as a member or a value: not compared), the length is not checked. */
static void sys_getsockopt_tcp_info(runner *r, const event *e, int fd)
{
    const expr *v = arg(r, e, 3, "a value");
    if (v->kind == EX_ARRAY && v->n == 1)
        v = v->items[0];
    if (v->kind != EX_ELLIPSIS && v->kind != EX_STRUCT)
        FAIL("getsockopt(TCP_INFO) needs {tcpi_name=value, ...} or ... as its value, not %s", opt_text(v));
    for (int i = 0; v->kind == EX_STRUCT && i < v->n; i++) {
        const expr *m = v->items[i];
        if (m->kind == EX_ELLIPSIS)
            continue;
        if (m->kind != EX_ASSIGN || m->n != 1)
            FAIL("getsockopt(TCP_INFO): expected tcpi_name=value but found %s", opt_text(m));
    }
    wtcp_info info;
    int rc = fd < 0 ? WTCP_EBADF : r->fds[fd].type != WTCP_SOCK_STREAM ? WTCP_EOPNOTSUPP
             : wtcp_info_get(r->st, r->fds[fd].h, &info);
    do_poll(r);
    vlog(r, "    getsockopt(TCP_INFO) returned %d%s%s", rc < 0 ? -1 : 0, rc < 0 ? " " : "",
         rc < 0 ? wtcp_errname(rc) : "");
    check_result(r, e, rc < 0 ? -1 : 0, rc < 0 ? wtcp_errname(rc) : NULL);
    if (rc < 0 || v->kind == EX_ELLIPSIS)
        return;
    char diff[1200];
    size_t dl = 0;
    int bad = 0;
    diff[0] = 0;
    for (int i = 0; i < v->n; i++) {
        const expr *m = v->items[i];
        if (m->kind == EX_ELLIPSIS || m->items[0]->kind == EX_ELLIPSIS)
            continue;
        int64_t got;
        int frc = tcpinfo_field(&info, m->s, &got);
        if (frc < 0) {
            char b[160];
            FAIL("getsockopt(TCP_INFO): %s", tcpinfo_error(m->s, frc, b, sizeof b));
        }
        int64_t want = info_value(r, m->items[0], m->s);
        vlog(r, "    %s = %lld", m->s, (long long)got);
        if (got != want && dl < sizeof diff) {
            int w = snprintf(diff + dl, sizeof diff - dl, "%s%s is %lld, the script expects %lld",
                             bad ? "; " : "", m->s, (long long)got, (long long)want);
            dl += w > 0 ? (size_t)w : 0;
            bad++;
        }
    }
    if (bad)
        FAIL("getsockopt(TCP_INFO): %s", diff);
}

static void sys_getsockopt(runner *r, const event *e, int fd)
{
    int64_t level = eval_int(r, arg(r, e, 1, "a level"), "level");
    const expr *ne = arg(r, e, 2, "an option name");
    int64_t name = -1;
    if (ne->kind != EX_WORD || sym_lookup(ne->s, &name) == 0)
        name = eval_int(r, ne, "option name");
    if (level == 6 && name == 11) { /* SOL_TCP, TCP_INFO */
        sys_getsockopt_tcp_info(r, e, fd);
        return;
    }
    const expr *v = arg(r, e, 3, "a value");
    const char *label = "";
    int opt = name < 0 ? -1 : map_sockopt(r, level, name, &label);
    if (opt < 0)
        FAIL("getsockopt(%s) is not supported by wtcp", opt_text(ne));
    int value = 0;
    int rc = fd < 0 ? WTCP_EBADF : wtcp_getsockopt(r->st, r->fds[fd].h, opt, &value);
    do_poll(r);
    vlog(r, "    getsockopt(%s) returned %d, value %d", label, rc < 0 ? -1 : rc, value);
    check_result(r, e, rc < 0 ? -1 : rc, rc < 0 ? wtcp_errname(rc) : NULL);
    if (rc < 0 || v->kind == EX_ELLIPSIS)
        return;
    if (opt == WTCP_SO_LINGER0) {
        int64_t onoff, linger;
        linger_value(r, v, &onoff, &linger);
        if ((onoff != 0) != (value != 0) || (value && linger != 0))
            FAIL("getsockopt(SO_LINGER) value {onoff=%d, linger=0} but the script expects %s", value ? 1 : 0,
                 opt_text(v));
        return;
    }
    const expr *ve = v;
    if (ve->kind == EX_ARRAY && ve->n == 1)
        ve = ve->items[0];
    if (ve->kind == EX_ELLIPSIS)
        return;
    if (opt == WTCP_SO_ERROR) {
        const char *got = value < 0 ? wtcp_errname(value) : value == 0 ? "0" : "?";
        if (ve->kind == EX_WORD && sym_lookup(ve->s, &(int64_t){0}) < 0) {
            if (strcmp(errno_canon(ve->s), errno_canon(got)) != 0)
                FAIL("getsockopt(SO_ERROR) value %s but the script expects %s", got, ve->s);
            return;
        }
        int64_t want = eval_int(r, ve, "SO_ERROR value");
        if (!(want == 0 && value == 0))
            FAIL("getsockopt(SO_ERROR) value %s but the script expects %lld", got, (long long)want);
        return;
    }
    int64_t want = eval_int(r, ve, label);
    if (want != value)
        FAIL("getsockopt(%s) value %d but the script expects %lld", label, value, (long long)want);
}

static void run_syscall(runner *r, const event *e, int64_t end_us)
{
    const syscall_spec *s = e->sc;
    const char *nm = s->name;
    if (r->pend.active)
        FAIL("%s() while the blocking %s() of line %d is still in progress", nm, r->pend.ev->sc->name,
             r->pend.ev->line);
    int blocking_name = !strcmp(nm, "accept") || !strcmp(nm, "connect") || !strcmp(nm, "read") ||
                        !strcmp(nm, "recv") || !strcmp(nm, "write") || !strcmp(nm, "send");
    if (s->has_end && !blocking_name)
        FAIL("%s() cannot block (start...end is for accept, connect, read, recv, write, send)", nm);

    if (!strcmp(nm, "socket")) {
        int64_t type = eval_int(r, arg(r, e, 1, "a type"), "socket type");
        const expr *pe = arg(r, e, 2, "a protocol");
        int64_t proto = pe->kind == EX_ELLIPSIS ? 0 : eval_int(r, pe, "protocol");
        const expr *de = arg(r, e, 0, "a domain");
        if (de->kind != EX_ELLIPSIS && eval_int(r, de, "domain") != 2)
            FAIL("only AF_INET sockets are supported");
        int base = (int)(type & 0xf);
        int rc;
        const char *err = NULL;
        if (base == 1 && (proto == 0 || proto == 6))
            rc = wtcp_socket(r->st, WTCP_SOCK_STREAM);
        else if (base == 2 && (proto == 0 || proto == 17))
            rc = wtcp_socket(r->st, WTCP_SOCK_DGRAM);
        else
            rc = -1000;
        if (rc == -1000) {
            check_result(r, e, -1, "EPROTONOSUPPORT");
            return;
        }
        if (rc < 0) {
            err = wtcp_errname(rc);
            check_result(r, e, -1, err);
            return;
        }
        int64_t want = s->result->kind == EX_INT ? s->result->ival : -1;
        int fd = alloc_fd(r, want);
        fdent *f = &r->fds[fd];
        memset(f, 0, sizeof *f);
        f->used = 1;
        f->h = rc;
        f->type = base == 1 ? WTCP_SOCK_STREAM : WTCP_SOCK_DGRAM;
        f->nonblock = (type & L_O_NONBLOCK) != 0;
        f->flow = -1;
        r->sut = fd;
        vlog(r, "    returned %d (handle %d)", fd, rc);
        check_result(r, e, fd, NULL);
        return;
    }

    static const char *const known[] = { "close", "bind", "listen", "accept", "connect", "read", "recv",
                                         "write", "send", "shutdown", "setsockopt", "getsockopt",
                                         "fcntl", "ioctl" };
    int is_known = 0;
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        is_known |= !strcmp(nm, known[k]);
    if (!is_known)
        FAIL("system call %s() is not supported by wtcp-pktrun", nm);
    int fd = get_fd(r, e, 0);
    int64_t ret = 0;
    const char *err = NULL;

    if (!strcmp(nm, "close")) {
        if (fd < 0) {
            ret = -1;
            err = "EBADF";
        } else {
            int rc = wtcp_close(r->st, r->fds[fd].h);
            r->fds[fd].used = 0;
            if (rc < 0) {
                ret = -1;
                err = wtcp_errname(rc);
            }
        }
    } else if (!strcmp(nm, "bind")) {
        uint32_t addr = 0;
        uint16_t port = LOCAL_PORT;
        if (s->nargs > 1)
            parse_sockaddr(r, s->args[1], &addr, &port);
        if (fd < 0) {
            ret = -1;
            err = "EBADF";
        } else {
            int rc = wtcp_bind(r->st, r->fds[fd].h, addr, port);
            if (rc < 0) {
                ret = -1;
                err = wtcp_errname(rc);
            } else {
                uint16_t lp = port;
                if (lp == 0)
                    wtcp_getsockname(r->st, r->fds[fd].h, NULL, &lp);
                r->bound_port = lp;
                r->fds[fd].flow = flow_find(r, lp, r->o->remote_port, 1);
                r->deflow = r->fds[fd].flow;
            }
        }
    } else if (!strcmp(nm, "listen")) {
        int64_t backlog = s->nargs > 1 && s->args[1]->kind != EX_ELLIPSIS ? eval_int(r, s->args[1], "backlog") : 128;
        if (fd < 0) {
            ret = -1;
            err = "EBADF";
        } else {
            int rc = wtcp_listen(r->st, r->fds[fd].h, (int)backlog);
            if (rc < 0) {
                ret = -1;
                err = wtcp_errname(rc);
            } else {
                uint16_t lp = LOCAL_PORT;
                wtcp_getsockname(r->st, r->fds[fd].h, NULL, &lp);
                r->fds[fd].flow = flow_find(r, lp, r->o->remote_port, 1);
                r->deflow = r->fds[fd].flow;
            }
        }
    } else if (!strcmp(nm, "accept") || !strcmp(nm, "connect") || !strcmp(nm, "read") ||
               !strcmp(nm, "recv") || !strcmp(nm, "write") || !strcmp(nm, "send")) {
        if (fd < 0) {
            check_result(r, e, -1, "EBADF");
            return;
        }
        fdent *f = &r->fds[fd];
        call c;
        memset(&c, 0, sizeof c);
        c.fd = fd;
        c.nonblock = f->nonblock;
        c.want_fd = -1;
        if (!strcmp(nm, "accept")) {
            c.kind = C_ACCEPT;
            if (s->result->kind == EX_INT)
                c.want_fd = s->result->ival;
        } else if (!strcmp(nm, "connect")) {
            uint32_t addr = REMOTE_ADDR;
            uint16_t port = LOCAL_PORT;
            if (s->nargs > 1)
                parse_sockaddr(r, s->args[1], &addr, &port);
            if (f->type == WTCP_SOCK_DGRAM) {
                f->dgram_peer = 1;
                f->peer_addr = addr;
                f->peer_port = port;
                uint16_t lp = 0;
                wtcp_getsockname(r->st, f->h, NULL, &lp);
                f->flow = flow_find(r, lp ? lp : LOCAL_PORT, port, 1);
                r->deflow = f->flow;
                check_result(r, e, 0, NULL);
                return;
            }
            int rc = wtcp_connect(r->st, f->h, addr, port);
            uint16_t lp = 0;
            wtcp_getsockname(r->st, f->h, NULL, &lp);
            if (rc == WTCP_EINPROGRESS || rc == 0) {
                f->flow = flow_find(r, lp, port, 1);
                r->deflow = f->flow;
            }
            if (rc != WTCP_EINPROGRESS || f->nonblock) {
                do_poll(r);
                ret = rc < 0 ? -1 : rc;
                err = rc < 0 ? wtcp_errname(rc) : NULL;
                vlog(r, "    returned %lld%s%s", (long long)ret, err ? " " : "", err ? err : "");
                check_result(r, e, ret, err);
                return;
            }
            c.kind = C_CONNECT;
        } else {
            int is_read = nm[0] == 'r';
            c.kind = is_read ? C_READ : C_WRITE;
            const expr *ce = arg(r, e, 2, "a length");
            c.count = eval_int(r, ce, "length");
            if (c.count < 0 || c.count > (1 << 26))
                FAIL("length %lld out of range", (long long)c.count);
            if (!strcmp(nm, "recv") || !strcmp(nm, "send")) {
                int64_t flags = s->nargs > 3 && s->args[3]->kind != EX_ELLIPSIS ? eval_int(r, s->args[3], "flags") : 0;
                if (flags & L_MSG_DONTWAIT)
                    c.nonblock = 1;
                if (flags & L_MSG_PEEK)
                    FAIL("MSG_PEEK is not supported by wtcp");
            }
            if (f->type == WTCP_SOCK_DGRAM) {
                int rc;
                if (is_read) {
                    uint8_t *b = scratch(r, (size_t)(c.count ? c.count : 1));
                    rc = wtcp_recvfrom(r->st, f->h, b, (size_t)c.count, NULL, NULL);
                } else {
                    if (!f->dgram_peer)
                        FAIL("%s() on a datagram socket needs connect() first", nm);
                    uint8_t *b = scratch(r, (size_t)(c.count ? c.count : 1));
                    for (int64_t i = 0; i < c.count; i++)
                        b[i] = pattern((uint64_t)i);
                    rc = wtcp_sendto(r->st, f->h, b, (size_t)c.count, f->peer_addr, f->peer_port);
                }
                if (rc == WTCP_EAGAIN && !c.nonblock && is_read)
                    FAIL("blocking reads on datagram sockets are not supported; make it non-blocking");
                do_poll(r);
                check_result(r, e, rc < 0 ? -1 : rc, rc < 0 ? wtcp_errname(rc) : NULL);
                return;
            }
        }
        blocking_call(r, e, &c, end_us);
        return;
    } else if (!strcmp(nm, "shutdown")) {
        int64_t how = eval_int(r, arg(r, e, 1, "how"), "how");
        int wh = how == 0 ? WTCP_SHUT_RD : how == 1 ? WTCP_SHUT_WR : how == 2 ? WTCP_SHUT_RDWR : -1;
        if (fd < 0) {
            ret = -1;
            err = "EBADF";
        } else if (wh < 0) {
            ret = -1;
            err = "EINVAL";
        } else {
            int rc = wtcp_shutdown(r->st, r->fds[fd].h, wh);
            if (rc < 0) {
                ret = -1;
                err = wtcp_errname(rc);
            }
        }
    } else if (!strcmp(nm, "setsockopt")) {
        sys_setsockopt(r, e, fd);
        return;
    } else if (!strcmp(nm, "getsockopt")) {
        sys_getsockopt(r, e, fd);
        return;
    } else if (!strcmp(nm, "fcntl")) {
        int64_t cmd = eval_int(r, arg(r, e, 1, "a command"), "fcntl command");
        if (fd < 0) {
            ret = -1;
            err = "EBADF";
        } else if (cmd == 3) { /* F_GETFL */
            ret = L_O_RDWR | (r->fds[fd].nonblock ? L_O_NONBLOCK : 0);
        } else if (cmd == 4) { /* F_SETFL */
            int64_t fl = eval_int(r, arg(r, e, 2, "flags"), "fcntl flags");
            r->fds[fd].nonblock = (fl & L_O_NONBLOCK) != 0;
        } else if (cmd == 1 || cmd == 2) { /* F_GETFD / F_SETFD */
            ret = 0;
        } else {
            FAIL("fcntl command %lld is not supported", (long long)cmd);
        }
    } else if (!strcmp(nm, "ioctl")) {
        int64_t req = eval_int(r, arg(r, e, 1, "a request"), "ioctl request");
        if (req != 0x541B)
            FAIL("ioctl request %lld is not supported (only FIONREAD/SIOCINQ)", (long long)req);
        if (fd < 0) {
            ret = -1;
            err = "EBADF";
        } else {
            int rc = wtcp_readable(r->st, r->fds[fd].h);
            if (rc < 0) {
                ret = -1;
                err = wtcp_errname(rc);
            } else if (s->nargs > 2) {
                const expr *v = s->args[2];
                if (v->kind == EX_ARRAY && v->n == 1 && v->items[0]->kind != EX_ELLIPSIS) {
                    int64_t want = eval_int(r, v->items[0], "FIONREAD value");
                    if (want != rc)
                        FAIL("ioctl(FIONREAD) value %d but the script expects %lld", rc, (long long)want);
                }
            }
        }
    } else {
        FAIL("system call %s() is not supported by wtcp-pktrun", nm);
    }
    do_poll(r);
    char got[80];
    describe_result(got, sizeof got, ret, err);
    vlog(r, "    returned %s", got);
    check_result(r, e, ret, err);
}

/* ---- %{ }% code ---- */
static void code_note(void *user, int line, const char *msg)
{
    runner *r = user;
    if (r->o->strict_code)
        r->code_strict_hit = line;
    if (!r->o->quiet)
        fprintf(stderr, "note: %s:%d: %s\n", r->sc->path, line, msg);
}

static void code_print(void *user, int line, const char *text)
{
    runner *r = user;
    vlog(r, "%d: print: %s", line, text);
}

/* Runs a block against the TCP_INFO of the socket under test, taken now (packetdrill
 * takes it when the block's time has come, then runs all blocks after the script). */
static void run_code(runner *r, const event *e)
{
    if (!e->code) {
        if (r->o->strict_code)
            FAIL("code block not evaluated (--strict-code): %s", e->code_why ? e->code_why : "?");
        code_poison(r->env, e->text);
        vlog(r, "%d: skipped code block (%s)", e->line, e->code_why ? e->code_why : "");
        return;
    }
    wtcp_info info;
    const wtcp_info *ip = NULL;
    char why[160] = "";
    int rc;
    if (r->sut < 0)
        snprintf(why, sizeof why, "no socket under test (no socket() or accept() yet)");
    else if (!r->fds[r->sut].used)
        snprintf(why, sizeof why, "the socket under test (fd %d) is closed", r->sut);
    else if (r->fds[r->sut].type != WTCP_SOCK_STREAM)
        snprintf(why, sizeof why, "the socket under test (fd %d) is not a TCP socket", r->sut);
    else if ((rc = wtcp_info_get(r->st, r->fds[r->sut].h, &info)) < 0)
        snprintf(why, sizeof why, "TCP_INFO of fd %d: %s", r->sut, wtcp_errname(rc));
    else
        ip = &info;
    code_io io = { ip, why, code_note, code_print, r };
    int line = e->line;
    char msg[1500];
    r->code_strict_hit = 0;
    if (code_run(e->code, r->env, &io, &line, msg, sizeof msg) < 0)
        failf(r, line, "%s", msg);
    if (r->code_strict_hit)
        failf(r, r->code_strict_hit, "assert not evaluated (--strict-code)");
    vlog(r, "%d: code block: %d assert%s passed (fd %d)", e->line, code_nasserts(e->code),
         code_nasserts(e->code) == 1 ? "" : "s", r->sut);
}

/* ---- the script ---- */
static int is_inbound(const event *e) { return e->type == EV_PACKET && e->pkt->dir == '<'; }
static int is_abs(const ev_time *t) { return t->kind == TM_ABS || t->kind == TM_ABS_RANGE; }

static void apply_options(runner *r)
{
    for (int i = 0; i < r->sc->nopts; i++) {
        const script_opt *o = &r->sc->opts[i];
        const char *v = o->value;
        char *end = NULL;
        long long n = v ? strtoll(v, &end, 0) : 0;
        int num = v && *v && end && !*end;
        if (!strcmp(o->name, "tolerance_usecs")) {
            if (!num || n < 0)
                failf(r, o->line, "--tolerance_usecs needs a number");
            r->tol_us = n;
        } else if (!strcmp(o->name, "tcp_ts_tick_usecs")) {
            if (!num || n < 0)
                failf(r, o->line, "--tcp_ts_tick_usecs needs a number");
            r->tick_us = n;
        } else if (!strcmp(o->name, "strict_segments")) {
            r->strict_segments = 1;
        } else if (!strcmp(o->name, "expect_failure")) {
            if (!v || !*v)
                failf(r, o->line, "--expect_failure needs the text of the expected failure");
            r->expect_failure = v;
        } else if (!strcmp(o->name, "ip_version")) {
            if (!v || strcmp(v, "ipv4"))
                failf(r, o->line, "--ip_version=%s: only ipv4 is supported", v ? v : "");
        } else if (!r->o->quiet) {
            fprintf(stderr, "note: %s:%d: ignored option --%s%s%s\n", r->sc->path, o->line, o->name,
                    v ? "=" : "", v ? v : "");
        }
    }
}

static void run_events(runner *r)
{
    const script *sc = r->sc;
    for (int i = 0; i < sc->nev; i++) {
        const event *e = &sc->ev[i];
        const event *prev = i ? &sc->ev[i - 1] : NULL;
        r->cur = e;
        int64_t now_us = r->now * 1000;
        int64_t off = (prev && r->last_inbound && is_inbound(e)) ? r->last_ev_us : now_us;
        int64_t lo = e->t.us, hi = e->t.us;
        int any = 0;
        switch (e->t.kind) {
        case TM_ABS:
            break;
        case TM_ABS_RANGE:
            hi = e->t.us_end;
            break;
        case TM_REL:
            lo = hi = off + e->t.us;
            break;
        case TM_REL_RANGE:
            lo = off + e->t.us;
            hi = off + e->t.us_end;
            break;
        case TM_ANY:
            lo = hi = now_us;
            any = 1;
            break;
        }
        if (prev && is_abs(&prev->t) && is_abs(&e->t) && e->t.us < prev->t.us)
            FAIL("time goes backward in script from %s to %s", secs(prev->t.us), secs(e->t.us));
        if (e->type == EV_PACKET && e->pkt->dir == '>') {
            expect_packet(r, e, lo, hi, any);
        } else {
            int64_t t_ms = (lo + 500) / 1000;
            if (!any && lo + r->tol_us < now_us)
                FAIL("timing error: this line is at %s but the script already reached %s", secs(lo), secs(now_us));
            advance(r, t_ms, is_inbound(e) ? CHK_INBOUND : CHK_SYSCALL, lo);
            if (e->type == EV_PACKET) {
                inject(r, e);
            } else if (e->type == EV_SYSCALL) {
                if (r->o->verbose) {
                    strbuf sb = {0};
                    print_syscall(&sb, e->sc, &e->t);
                    vlog(r, "%d: %s", e->line, sb.buf);
                    sb_free(&sb);
                }
                int64_t end_us = 0;
                if (e->sc->has_end)
                    end_us = (e->t.kind == TM_REL || e->sc->end_rel) ? off + e->sc->end_us : e->sc->end_us;
                run_syscall(r, e, end_us);
            } else if (e->type == EV_CODE) {
                run_code(r, e);
            } else {
                vlog(r, "%d: skipped shell command", e->line);
            }
        }
        r->last_ev_us = lo;
        r->last_inbound = is_inbound(e);
    }
    /* A blocking call still pending gets its window to finish (no other checks). */
    if (r->pend.active) {
        r->cur = r->pend.ev;
        advance(r, (r->pend.end_us + r->tol_us) / 1000 + 1, CHK_NONE, 0);
        if (r->pend.active)
            failf(r, r->pend.ev->line, "script ended while %s() was still blocked", r->pend.ev->sc->name);
    }
}

void run_script(const script *sc, const run_opts *o, run_result *res)
{
    memset(res, 0, sizeof *res);
    runner *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(res->msg, sizeof res->msg, "out of memory");
        return;
    }
    r->sc = sc;
    r->o = o;
    r->res = res;
    r->tol_us = o->tolerance_us;
    r->tick_us = o->ts_tick_us;
    r->strict_segments = o->strict_segments;
    r->sut = -1;
    r->env = code_env_new();
    if (setjmp(r->jb) == 0) {
        apply_options(r);
        wtcp_config cfg;
        wtcp_config_init(&cfg);
        cfg.addr = LOCAL_ADDR;
        cfg.prefix_len = 0;
        cfg.mtu = 1500;
        cfg.output = on_output;
        cfg.output_user = r;
        for (int i = 0; i < 16; i++)
            cfg.isn_key[i] = (uint8_t)(0x5a ^ (i * 37));
        cfg.on_state = on_state;
        cfg.state_user = r;
        int rc = wtcp_stack_new(&cfg, &r->st);
        if (rc < 0)
            failf(r, 0, "wtcp_stack_new failed: %s", wtcp_strerror(rc));
        r->deflow = flow_find(r, LOCAL_PORT, o->remote_port, 1);
        if (o->verbose)
            printf("%s:\n", sc->path);
        run_events(r);
        res->ok = 1;
    }
    if (r->expect_failure) {
        /* A self-test: the script must fail, with a message that contains the text. */
        if (res->ok) {
            res->ok = 0;
            snprintf(res->msg, sizeof res->msg, "%s: passed, but --expect_failure wants it to fail with "
                     "\"%s\"", sc->path, r->expect_failure);
        } else if (strstr(res->msg, r->expect_failure)) {
            res->ok = 1;
            res->expected_failure = 1;
        } else {
            char got[sizeof res->msg];
            snprintf(got, sizeof got, "%s", res->msg);
            snprintf(res->msg, sizeof res->msg, "%s: failed, but not with the expected \"%.200s\": %.1700s",
                     sc->path, r->expect_failure, got);
        }
    }
    code_env_free(r->env);
    if (r->st)
        wtcp_stack_free(r->st);
    for (int i = 0; i < r->qlen; i++)
        free(r->q[r->qhead + i].data);
    free(r->q);
    free(r->buf);
    for (int i = 0; i < r->nagg; i++)
        free(r->agg[i].data);
    free(r->agg);
    free(r);
}
