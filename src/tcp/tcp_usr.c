/* tcp_usr.c: the socket calls (RFC 9293 3.10.1-3.10.6: OPEN, SEND, RECEIVE, CLOSE, ABORT,
 * STATUS) for TCP and UDP, handle checking, connection teardown, ISNs (RFC 6528) and
 * ephemeral ports (RFC 6056 algorithm 3). */
#include <string.h>

#include "tcp/tcp.h"

/* ---- helpers shared with tcp_in/tcp_out ---- */

void tcp_set_state(wtcp_stack *st, uint32_t idx, int state)
{
    tcp_conn *c = tc(st, idx);
    int old = c->state;
    if (old == state)
        return;
    c->state = (uint8_t)state;
    if (st->cfg.on_state)
        st->cfg.on_state(st->cfg.state_user, sock_handle(st, idx), old, state);
}

uint32_t tcp_isn(const wtcp_stack *st, const sock_slot *s)
{
    /* RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
     * M a 4-microsecond clock (derived from our millisecond clock). */
    uint8_t t[12];
    wire_put32(t, s->laddr);
    wire_put16(t + 4, s->lport);
    wire_put32(t + 6, s->raddr);
    wire_put16(t + 10, s->rport);
    uint32_t f = (uint32_t)wtcp_siphash(st->cfg.isn_key, t, sizeof t);
    return f + (uint32_t)(st->now * 250);
}

uint32_t tcp_ts_offset(const wtcp_stack *st, const sock_slot *s)
{
    uint8_t t[13];
    wire_put32(t, s->laddr);
    wire_put16(t + 4, s->lport);
    wire_put32(t + 6, s->raddr);
    wire_put16(t + 10, s->rport);
    t[12] = 'T';
    return (uint32_t)(wtcp_siphash(st->cfg.isn_key, t, sizeof t) >> 32);
}

uint8_t tcp_choose_wscale(const wtcp_stack *st, const sock_slot *s)
{
    (void)s;
    if (st->cfg.no_wscale)
        return 0;
    uint8_t ws = 0;
    while (ws < TCP_MAX_WSCALE && (st->cfg.rcvbuf_max >> ws) > 65535)
        ws++;
    return ws;
}

void tcp_update_mss(wtcp_stack *st, uint32_t idx)
{
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    uint32_t mtu = c->path_mtu ? c->path_mtu : st->ifs[0].mtu;
    uint32_t mss = mtu - WIRE_IPV4_HDR - WIRE_TCP_HDR;
    if (c->peer_mss && c->peer_mss < mss)
        mss = c->peer_mss;
    if (s->maxseg_opt && s->maxseg_opt < mss)
        mss = s->maxseg_opt;
    if (c->flags & TF_TS_OK)
        mss -= 12; /* nop, nop, TS on every segment */
    if (mss < TCP_MIN_MSS)
        mss = TCP_MIN_MSS;
    c->snd_mss = mss;
}

static void tcp_unlink_child(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    uint32_t p = c->parent;
    if (p == WTCP_NONE)
        return;
    tcp_conn *l = tc(st, p);
    uint32_t prev = WTCP_NONE;
    int found = 0;
    for (uint32_t i = l->accept_head; i != WTCP_NONE; i = tc(st, i)->accept_next) {
        if (i == idx) {
            if (prev == WTCP_NONE)
                l->accept_head = c->accept_next;
            else
                tc(st, prev)->accept_next = c->accept_next;
            if (l->accept_tail == idx)
                l->accept_tail = prev;
            l->accept_queued--;
            found = 1;
            break;
        }
        prev = i;
    }
    if (!found && l->syn_queued)
        l->syn_queued--;
    c->parent = WTCP_NONE;
    c->accept_next = WTCP_NONE;
}

void tcp_done(wtcp_stack *st, uint32_t idx, int err)
{
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    if (err)
        st->stats.tcp_conn_failed++;
    tcp_set_state(st, idx, WTCP_CLOSED);
    for (int t = 0; t < TCP_T_COUNT; t++)
        c->timer[t] = 0;
    sock_timers_changed(st, idx);
    hash_remove(st, idx);
    if (!s->user_owned) {
        tcp_unlink_child(st, idx);
        sock_release(st, idx);
        return;
    }
    if (err) {
        s->so_error = err;
        sock_event(st, idx, WTCP_EV_ERROR | WTCP_EV_READABLE | WTCP_EV_WRITABLE);
    } else {
        sock_event(st, idx, WTCP_EV_CLOSED | WTCP_EV_READABLE);
    }
}

void tcp_enter_time_wait(wtcp_stack *st, uint32_t idx)
{
    tcp_set_state(st, idx, WTCP_TIME_WAIT);
    tcp_disarm(st, idx, TCP_T_REXMIT);
    tcp_disarm(st, idx, TCP_T_PERSIST);
    tcp_disarm(st, idx, TCP_T_DELACK);
    tcp_disarm(st, idx, TCP_T_KEEPALIVE);
    tcp_arm(st, idx, TCP_T_LINGER, st->now + st->cfg.time_wait_ms);
    /* Nothing more can be sent; keep what the user has not read yet. An orphan becomes a
     * compact TIME-WAIT entry once the segment that brought it here is processed
     * (tcp_input), as a held one does when its owner closes it. */
    if (!sk(st, idx)->user_owned)
        tcp_free_buffers(st, sk(st, idx));
}

/* ---- handle checking ---- */

static int sock_lookup(wtcp_stack *st, wtcp_sock h, int type, uint32_t *out)
{
    if (!st || h <= 0)
        return WTCP_EBADF;
    uint32_t idx = ((uint32_t)h & 0xffff) - 1;
    uint16_t gen = (uint16_t)(((uint32_t)h >> 16) & 0x7fff);
    if (idx >= st->nsocks)
        return WTCP_EBADF;
    sock_slot *s = &st->socks[idx];
    if (!s->in_use || !s->user_owned || s->gen != gen)
        return WTCP_EBADF;
    if (type && s->type != type)
        return WTCP_EOPNOTSUPP;
    *out = idx;
    return 0;
}

#define LOOKUP(type)                                                                          \
    uint32_t idx;                                                                             \
    do {                                                                                      \
        int lookup_err = sock_lookup(st, h, (type), &idx);                                    \
        if (lookup_err < 0)                                                                   \
            return lookup_err;                                                                \
    } while (0)

/* ---- socket calls ---- */

int wtcp_socket(wtcp_stack *st, int type)
{
    if (!st)
        return WTCP_EINVAL;
    if (type != WTCP_SOCK_STREAM && type != WTCP_SOCK_DGRAM)
        return WTCP_EINVAL;
    uint32_t idx = sock_alloc(st, type);
    if (idx == WTCP_NONE)
        return WTCP_EMFILE;
    sock_slot *s = sk(st, idx);
    s->user_owned = 1;
    s->laddr = 0; /* any of the stack's addresses until bind or connect picks one */
    return sock_handle(st, idx);
}

/* A port bind(0) may take: no other socket of the type bound to it, no TIME-WAIT on it. */
static int port_free_for_bind(const wtcp_stack *st, uint32_t idx, uint16_t p, const void *ctx)
{
    (void)ctx;
    return !port_in_use(st, WTCP_SOCK_STREAM, p, idx);
}

int wtcp_bind(wtcp_stack *st, wtcp_sock h, uint32_t addr, uint16_t port)
{
    LOOKUP(0);
    sock_slot *s = sk(st, idx);
    if (addr != 0 && if_local(st, addr) == IF_NONE)
        return WTCP_EADDRNOTAVAIL;
    if (s->bound)
        return WTCP_EINVAL;
    if (s->type == WTCP_SOCK_STREAM && s->u.tcp.state != WTCP_CLOSED)
        return WTCP_EINVAL;
    s->laddr = addr; /* a port is the socket's on every address, whichever it binds */
    if (port == 0) {
        if (s->type == WTCP_SOCK_DGRAM)
            return udp_bind_ephemeral(st, idx);
        uint16_t p = sock_ephemeral_port(st, 0, port_free_for_bind, idx, NULL);
        if (p == 0)
            return WTCP_EADDRINUSE;
        sock_bind_port(st, idx, p);
        return 0;
    }
    if (port_in_use(st, s->type, port, idx)) {
        /* SO_REUSEADDR lets a listener bind over connections left in TIME-WAIT etc. */
        int blocked = !(s->opt_flags & TF_REUSEADDR); /* a compact TIME-WAIT holds it too */
        for (uint32_t i = port_first(st, port); i != WTCP_NONE && !blocked; i = st->socks[i].port_next) {
            const sock_slot *o = &st->socks[i];
            if (i == idx || !o->in_use || o->type != s->type || o->lport != port)
                continue;
            if (s->type == WTCP_SOCK_DGRAM || !(s->opt_flags & TF_REUSEADDR) ||
                o->u.tcp.state == WTCP_LISTEN || (o->user_owned && o->u.tcp.state == WTCP_CLOSED))
                blocked = 1;
        }
        if (blocked)
            return WTCP_EADDRINUSE;
    }
    if (s->type == WTCP_SOCK_DGRAM) {
        udp_set_bound(st, idx, port);
        return 0;
    }
    sock_bind_port(st, idx, port);
    return 0;
}

int wtcp_listen(wtcp_stack *st, wtcp_sock h, int backlog)
{
    LOOKUP(WTCP_SOCK_STREAM);
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    if (c->state == WTCP_LISTEN) {
        c->backlog = backlog < 0 ? 0 : (uint32_t)backlog;
        if (c->backlog > st->cfg.max_backlog)
            c->backlog = st->cfg.max_backlog;
        return 0;
    }
    if (c->state != WTCP_CLOSED || s->raddr)
        return WTCP_EINVAL;
    if (!s->bound) {
        int r = wtcp_bind(st, h, 0, 0);
        if (r < 0)
            return r;
    }
    if (hash_lookup(st, 0, s->lport, 0, 0) != WTCP_NONE)
        return WTCP_EADDRINUSE;
    c->backlog = backlog < 0 ? 0 : (uint32_t)backlog;
    if (c->backlog > st->cfg.max_backlog)
        c->backlog = st->cfg.max_backlog;
    c->accept_head = c->accept_tail = WTCP_NONE;
    s->raddr = 0;
    s->rport = 0;
    hash_insert(st, idx);
    tcp_set_state(st, idx, WTCP_LISTEN);
    return 0;
}

int wtcp_accept(wtcp_stack *st, wtcp_sock h, uint32_t *addr, uint16_t *port)
{
    LOOKUP(WTCP_SOCK_STREAM);
    tcp_conn *l = tc(st, idx);
    if (l->state != WTCP_LISTEN)
        return WTCP_EINVAL;
    uint32_t child = l->accept_head;
    if (child == WTCP_NONE)
        return WTCP_EAGAIN;
    tcp_conn *c = tc(st, child);
    l->accept_head = c->accept_next;
    if (l->accept_head == WTCP_NONE)
        l->accept_tail = WTCP_NONE;
    l->accept_queued--;
    c->parent = WTCP_NONE;
    c->accept_next = WTCP_NONE;
    sock_slot *cs = sk(st, child);
    cs->user_owned = 1;
    if (!cs->intercepted) /* an intercepted connection's port is the guest's destination's */
        sock_bind_port(st, child, cs->lport);
    if (addr)
        *addr = cs->raddr;
    if (port)
        *port = cs->rport;
    /* Report what happened while it waited in the queue. */
    uint32_t ev = WTCP_EV_WRITABLE;
    if (c->rcvbuf.len || (c->flags & TF_RCVD_FIN))
        ev |= WTCP_EV_READABLE;
    sock_event(st, child, ev);
    if (l->accept_head != WTCP_NONE)
        sock_event(st, idx, WTCP_EV_ACCEPTABLE);
    return sock_handle(st, child);
}

/* A port connect() may take towards raddr:rport: no connection or listener on it, no
 * TIME-WAIT for that 4-tuple, and no other socket bound to it. */
struct remote {
    uint32_t addr;
    uint16_t port;
};

static int port_free_for_connect(const wtcp_stack *st, uint32_t idx, uint16_t p, const void *ctx)
{
    const struct remote *r = ctx;
    return hash_lookup(st, 0, p, r->addr, r->port) == WTCP_NONE && hash_lookup(st, 0, p, 0, 0) == WTCP_NONE &&
           !tcp_tw_exists(st, p, r->addr, r->port) && !port_in_use(st, WTCP_SOCK_STREAM, p, idx);
}

/* RFC 6056 algorithm 3: the search starts at a keyed hash of the remote end. */
static int tcp_pick_port(wtcp_stack *st, uint32_t idx, uint32_t raddr, uint16_t rport)
{
    uint8_t t[6];
    wire_put32(t, raddr);
    wire_put16(t + 4, rport);
    uint32_t offset = (uint32_t)wtcp_siphash(st->cfg.isn_key, t, sizeof t);
    struct remote r = { raddr, rport };
    uint16_t p = sock_ephemeral_port(st, offset, port_free_for_connect, idx, &r);
    if (p == 0)
        return WTCP_EADDRNOTAVAIL;
    sock_bind_port(st, idx, p);
    return 0;
}

static int addr_reachable(const wtcp_stack *st, uint32_t addr)
{
    if (addr == 0 || addr == 0xffffffffu || (addr >> 28) == 0xe)
        return 0;
    uint32_t nexthop;
    return if_route(st, addr, &nexthop) != IF_NONE; /* off every prefix only a gateway reaches it */
}

int wtcp_connect(wtcp_stack *st, wtcp_sock h, uint32_t addr, uint16_t port)
{
    LOOKUP(0);
    sock_slot *s = sk(st, idx);
    if (s->type == WTCP_SOCK_DGRAM) {
        return WTCP_EOPNOTSUPP;
    }
    tcp_conn *c = &s->u.tcp;
    switch (c->state) {
    case WTCP_CLOSED:
        break;
    case WTCP_SYN_SENT:
    case WTCP_SYN_RECEIVED:
        return WTCP_EALREADY;
    case WTCP_LISTEN:
        return WTCP_EINVAL;
    default:
        return WTCP_EISCONN;
    }
    if (s->so_error)
        return WTCP_EINVAL; /* a failed socket is not reused (as POSIX leaves it) */
    if (port == 0)
        return WTCP_EINVAL;
    if (!addr_reachable(st, addr))
        return WTCP_ENETUNREACH;
    if (s->bound) {
        if (hash_lookup(st, 0, s->lport, addr, port) != WTCP_NONE)
            return WTCP_EADDRINUSE;
        s->raddr = addr;
        s->rport = port;
    } else {
        int r = tcp_pick_port(st, idx, addr, port);
        if (r < 0)
            return r;
        s->raddr = addr;
        s->rport = port;
    }
    if (s->laddr == 0)
        s->laddr = if_source_for(st, addr);
    memset(c, 0, sizeof *c);
    c->parent = c->accept_next = c->accept_head = c->accept_tail = WTCP_NONE;
    c->flags = TF_ACTIVE | (s->opt_flags & (TF_NODELAY | TF_KEEPALIVE | TF_LINGER0 | TF_SNDBUF_LOCK));
    c->rcvbuf_size = s->rcvbuf_opt;
    c->sndbuf_size = s->sndbuf_opt;
    c->rcv_wscale = tcp_choose_wscale(st, s);
    c->iss = tcp_isn(st, s);
    c->ts_offset = tcp_ts_offset(st, s);
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->rto = TCP_RTO_INITIAL_MS;
    c->rto_min = s->rto_min_opt;
    c->rtt_start = st->now;
    c->rcv_mss = TCP_DEFAULT_MSS;
    c->path_mtu = if_mtu_for(st, addr);
    c->peer_mss = 0;
    if (!st->cfg.no_timestamps)
        c->flags |= TF_TS_OK; /* tentatively, for the MSS; SYN-ACK decides */
    tcp_update_mss(st, idx);
    c->flags &= ~(uint32_t)TF_TS_OK;
    hash_insert(st, idx);
    st->stats.tcp_active_opens++;
    tcp_set_state(st, idx, WTCP_SYN_SENT);
    sock_want_output(st, idx);
    return WTCP_EINPROGRESS;
}

int wtcp_send(wtcp_stack *st, wtcp_sock h, const void *buf, size_t len)
{
    LOOKUP(WTCP_SOCK_STREAM);
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    if (!buf && len)
        return WTCP_EINVAL;
    if (s->so_error)
        return s->so_error;
    switch (c->state) {
    case WTCP_ESTABLISHED:
    case WTCP_CLOSE_WAIT:
        break;
    case WTCP_SYN_SENT:
    case WTCP_SYN_RECEIVED:
        return WTCP_EAGAIN;
    case WTCP_CLOSED:
    case WTCP_LISTEN:
        return WTCP_ENOTCONN;
    default:
        return WTCP_EPIPE;
    }
    if (c->flags & TF_FIN_QUEUED)
        return WTCP_EPIPE;
    if (len > 0x7fffffff)
        len = 0x7fffffff;
    int nomem;
    uint32_t n = tcp_sndbuf_write(st, c, buf, (uint32_t)len, &nomem);
    if (n < len)
        c->flags |= TF_SND_BLOCKED;
    if (n == 0)
        return len ? (nomem ? WTCP_ENOMEM : WTCP_EAGAIN) : 0;
    sock_want_output(st, idx);
    return (int)n;
}

int wtcp_recv(wtcp_stack *st, wtcp_sock h, void *buf, size_t len)
{
    LOOKUP(WTCP_SOCK_STREAM);
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    if (!buf && len)
        return WTCP_EINVAL;
    if (c->rcvbuf.len > 0) { /* after SHUT_RD too: Linux still delivers queued data */
        if (len > 0x7fffffff)
            len = 0x7fffffff;
        uint32_t cur = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
        uint32_t n = ring_read(&c->rcvbuf, buf, (uint32_t)len);
        if (c->rcvbuf.len == 0 && c->ooo.count == 0)
            tcp_buf_emptied(st, idx);
        /* Window update when the read at least doubled the window we can advertise
         * (Linux tcp_cleanup_rbuf); never when it cannot grow (the clamp). */
        if (tcp_have_established(c->state) && c->state != WTCP_TIME_WAIT && !(c->flags & TF_RCVD_FIN)) {
            uint32_t clamp = (uint32_t)65535 << c->rcv_wscale;
            uint32_t wnd = tcp_select_window(c);
            if (2 * (uint64_t)cur <= clamp && wnd > cur && wnd >= 2 * (uint64_t)cur) {
                c->flags |= TF_ACK_NOW;
                sock_want_output(st, idx);
            }
        }
        return (int)n;
    }
    if (c->flags & (TF_RCVD_FIN | TF_RD_SHUT))
        return 0;
    if (s->so_error)
        return s->so_error;
    switch (c->state) {
    case WTCP_LISTEN:
        return WTCP_ENOTCONN;
    case WTCP_CLOSED:
        return WTCP_ENOTCONN;
    default:
        return WTCP_EAGAIN;
    }
}

int wtcp_readable(wtcp_stack *st, wtcp_sock h)
{
    LOOKUP(0);
    sock_slot *s = sk(st, idx);
    if (s->type == WTCP_SOCK_DGRAM) {
        const wtcp_ring *q = &s->u.udp.queue;
        if (q->len < 8)
            return WTCP_EAGAIN; /* no datagram (an empty one would be 0) */
        uint8_t rec[8];
        ring_peek(q, 0, rec, sizeof rec);
        return (int)wire_get16(rec + 6);
    }
    if (s->u.tcp.state == WTCP_LISTEN)
        return (int)s->u.tcp.accept_queued;
    return (int)s->u.tcp.rcvbuf.len;
}

int wtcp_writable(wtcp_stack *st, wtcp_sock h)
{
    LOOKUP(WTCP_SOCK_STREAM);
    tcp_conn *c = tc(st, idx);
    if (!tcp_have_established(c->state) || (c->flags & TF_FIN_QUEUED))
        return 0;
    return (int)tcp_snd_room(c);
}

static void tcp_start_fin(wtcp_stack *st, uint32_t idx)
{
    tcp_conn *c = tc(st, idx);
    c->flags |= TF_FIN_QUEUED;
    if (c->state == WTCP_CLOSE_WAIT)
        tcp_set_state(st, idx, WTCP_LAST_ACK);
    else
        tcp_set_state(st, idx, WTCP_FIN_WAIT_1);
    sock_want_output(st, idx);
}

int wtcp_shutdown(wtcp_stack *st, wtcp_sock h, int how)
{
    LOOKUP(WTCP_SOCK_STREAM);
    tcp_conn *c = tc(st, idx);
    if (how < WTCP_SHUT_RD || how > WTCP_SHUT_RDWR)
        return WTCP_EINVAL;
    if (c->state == WTCP_CLOSED || c->state == WTCP_SYN_SENT || c->state == WTCP_LISTEN)
        return WTCP_ENOTCONN;
    if (how & WTCP_SHUT_RD)
        c->flags |= TF_RD_SHUT;
    if ((how & WTCP_SHUT_WR) && !(c->flags & TF_FIN_QUEUED) &&
        (c->state == WTCP_ESTABLISHED || c->state == WTCP_CLOSE_WAIT || c->state == WTCP_SYN_RECEIVED))
        tcp_start_fin(st, idx);
    return 0;
}

static void tcp_close_listener(wtcp_stack *st, uint32_t idx)
{
    /* Children not yet accepted: established ones are reset, embryonic ones dropped. */
    for (uint32_t i = 0; i < st->nsocks; i++) {
        sock_slot *o = &st->socks[i];
        if (!o->in_use || o->type != WTCP_SOCK_STREAM || o->user_owned || o->u.tcp.parent != idx)
            continue;
        if (o->u.tcp.state != WTCP_SYN_RECEIVED)
            tcp_send_rst(st, i);
        tcp_done(st, i, WTCP_ECONNABORTED);
    }
}

/* ---- interception ---- */

int wtcp_intercept_listen(wtcp_stack *st, int iface, int backlog)
{
    if (!st || iface < 0 || iface >= st->nifs || !st->ifs[iface].link || st->ifs[iface].intercept)
        return WTCP_EINVAL;
    uint32_t idx = sock_alloc(st, WTCP_SOCK_STREAM);
    if (idx == WTCP_NONE)
        return WTCP_EMFILE;
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    s->user_owned = 1;
    s->intercepted = 1;
    s->laddr = 0;
    c->backlog = backlog < 1 ? 1 : (uint32_t)backlog;
    if (c->backlog > st->cfg.max_backlog)
        c->backlog = st->cfg.max_backlog;
    c->accept_head = c->accept_tail = WTCP_NONE;
    c->parent = c->accept_next = WTCP_NONE;
    tcp_set_state(st, idx, WTCP_LISTEN); /* in no table: only interception feeds it */
    st->ifs[iface].intercept = idx + 1;
    return sock_handle(st, idx);
}

int wtcp_intercept_complete(wtcp_stack *st, wtcp_sock h)
{
    LOOKUP(WTCP_SOCK_STREAM);
    tcp_conn *c = tc(st, idx);
    if (!(c->flags & TF_HELD) || c->state != WTCP_SYN_RECEIVED)
        return WTCP_EINVAL;
    c->flags &= ~(uint32_t)TF_HELD;
    sock_want_output(st, idx); /* the SYN-ACK, at the next wtcp_poll */
    return 0;
}

int wtcp_intercept_refuse(wtcp_stack *st, wtcp_sock h, int how)
{
    LOOKUP(WTCP_SOCK_STREAM);
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    if (!(c->flags & TF_HELD) || how < WTCP_REFUSE_RESET || how > WTCP_REFUSE_HOST_UNREACH)
        return WTCP_EINVAL;
    /* What the guest's SYN looked like: the RST answers it, the ICMP error quotes it. */
    uint8_t q[WIRE_IPV4_HDR + 8];
    wire_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.total_len = WIRE_IPV4_HDR + WIRE_TCP_HDR;
    ip.ttl = 64;
    ip.proto = WIRE_PROTO_TCP;
    ip.src = s->raddr;
    ip.dst = s->laddr;
    wire_ipv4_emit(q, &ip);
    wire_put16(q + 20, s->rport);
    wire_put16(q + 22, s->lport);
    wire_put32(q + 24, c->irs);
    ip.hdr_len = WIRE_IPV4_HDR;
    ip.payload = q + WIRE_IPV4_HDR;
    ip.payload_len = 8;
    if (how == WTCP_REFUSE_RESET) {
        wire_tcp seg;
        memset(&seg, 0, sizeof seg);
        seg.sport = s->rport;
        seg.dport = s->lport;
        seg.seq = c->irs;
        seg.flags = WIRE_TCP_SYN;
        tcp_send_reset_reply(st, &ip, &seg);
    } else {
        icmp_send_error(st, WIRE_ICMP_DEST_UNREACH,
                        how == WTCP_REFUSE_NET_UNREACH ? WIRE_ICMP_NET_UNREACH : WIRE_ICMP_HOST_UNREACH, 0, &ip);
    }
    s->user_owned = 0;
    tcp_done(st, idx, 0);
    return 0;
}

int wtcp_abort(wtcp_stack *st, wtcp_sock h)
{
    LOOKUP(0);
    sock_slot *s = sk(st, idx);
    if (s->type == WTCP_SOCK_DGRAM) {
        sock_release(st, idx);
        return 0;
    }
    tcp_conn *c = &s->u.tcp;
    if (c->state == WTCP_LISTEN)
        tcp_close_listener(st, idx);
    else if (c->state >= WTCP_SYN_RECEIVED && c->state != WTCP_TIME_WAIT)
        tcp_send_rst(st, idx);
    s->user_owned = 0;
    if (c->state != WTCP_CLOSED)
        tcp_done(st, idx, 0);
    else
        sock_release(st, idx);
    return 0;
}

int wtcp_close(wtcp_stack *st, wtcp_sock h)
{
    LOOKUP(0);
    sock_slot *s = sk(st, idx);
    if (s->type == WTCP_SOCK_DGRAM) {
        sock_release(st, idx);
        return 0;
    }
    tcp_conn *c = &s->u.tcp;
    switch (c->state) {
    case WTCP_CLOSED:
        s->user_owned = 0;
        sock_release(st, idx);
        return 0;
    case WTCP_LISTEN:
    case WTCP_SYN_SENT:
        return wtcp_abort(st, h);
    default:
        break;
    }
    /* Unread data, or SO_LINGER 0: abortive close with RST (RFC 2525 2.17, Linux). */
    if ((c->rcvbuf.len > 0 || (c->flags & TF_LINGER0)) && c->state != WTCP_TIME_WAIT)
        return wtcp_abort(st, h);
    c->flags |= TF_RD_SHUT;
    if (!(c->flags & TF_FIN_QUEUED) &&
        (c->state == WTCP_ESTABLISHED || c->state == WTCP_CLOSE_WAIT || c->state == WTCP_SYN_RECEIVED))
        tcp_start_fin(st, idx);
    s->user_owned = 0;
    s->events = 0;
    if (c->state == WTCP_FIN_WAIT_2)
        tcp_arm(st, idx, TCP_T_LINGER, st->now + TCP_FIN_TIMEOUT_MS);
    if (c->state == WTCP_TIME_WAIT)
        tcp_tw_enter(st, idx);
    return 0;
}

/* ---- options and status ---- */

int wtcp_setsockopt(wtcp_stack *st, wtcp_sock h, int opt, int value)
{
    LOOKUP(0);
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    int tcp = s->type == WTCP_SOCK_STREAM;
    uint32_t flag = 0;
    switch (opt) {
    case WTCP_SO_REUSEADDR:
        flag = TF_REUSEADDR;
        break;
    case WTCP_SO_KEEPALIVE:
        flag = TF_KEEPALIVE;
        break;
    case WTCP_TCP_NODELAY:
        flag = TF_NODELAY;
        break;
    case WTCP_SO_LINGER0:
        flag = TF_LINGER0;
        break;
    case WTCP_SO_RCVBUF:
    case WTCP_SO_SNDBUF: {
        if (value < 0)
            return WTCP_EINVAL;
        uint32_t v = (uint32_t)value;
        if (v < 2048)
            v = 2048;
        if (v > st->cfg.rcvbuf_max)
            v = st->cfg.rcvbuf_max;
        /* Takes effect at once, on an established connection too: the buffers grow to
         * the new size as data needs them (a smaller receive buffer still takes what the
         * window already offered), and connections a listener makes inherit it. */
        if (opt == WTCP_SO_RCVBUF) {
            s->rcvbuf_opt = v;
        } else {
            s->sndbuf_opt = v;
            s->opt_flags |= TF_SNDBUF_LOCK;
            if (tcp)
                c->flags |= TF_SNDBUF_LOCK;
        }
        if (tcp) {
            c->rcvbuf_size = s->rcvbuf_opt;
            c->sndbuf_size = s->sndbuf_opt;
        }
        return 0;
    }
    case WTCP_TCP_MAXSEG:
        if (!tcp)
            return WTCP_ENOPROTOOPT;
        if (value < TCP_MIN_MSS || value > 65535 - 40)
            return WTCP_EINVAL;
        s->maxseg_opt = (uint32_t)value;
        if (c->state != WTCP_CLOSED && c->state != WTCP_LISTEN)
            tcp_update_mss(st, idx);
        return 0;
    case WTCP_TCP_KEEPIDLE:
    case WTCP_TCP_KEEPINTVL:
        if (!tcp)
            return WTCP_ENOPROTOOPT;
        if (value < 1 || value > 32767) /* seconds, Linux's bounds */
            return WTCP_EINVAL;
        if (opt == WTCP_TCP_KEEPIDLE)
            s->ka_idle_ms = (uint32_t)value * 1000;
        else
            s->ka_intvl_ms = (uint32_t)value * 1000;
        if (opt == WTCP_TCP_KEEPIDLE && (c->flags & TF_KEEPALIVE) && c->timer[TCP_T_KEEPALIVE])
            tcp_arm(st, idx, TCP_T_KEEPALIVE, c->last_rcv + s->ka_idle_ms);
        return 0;
    case WTCP_TCP_KEEPCNT:
        if (!tcp)
            return WTCP_ENOPROTOOPT;
        if (value < 1 || value > 127)
            return WTCP_EINVAL;
        s->ka_count = (uint32_t)value;
        return 0;
    case WTCP_TCP_USER_TIMEOUT:
        if (!tcp)
            return WTCP_ENOPROTOOPT;
        if (value < 0)
            return WTCP_EINVAL;
        s->user_timeout_ms = (uint32_t)value;
        return 0;
    case WTCP_TCP_CONGESTION:
        if (!tcp)
            return WTCP_ENOPROTOOPT;
        if (!wtcp_congestion_name(value))
            return WTCP_EINVAL;
        s->cc_opt = (uint8_t)value;
        if (tcp_have_established(c->state))
            tcp_cc_select(c, s->cc_opt);
        return 0;
    case WTCP_TCP_RTO_MIN:
        if (!tcp)
            return WTCP_ENOPROTOOPT;
        if (value < 1 || value > TCP_RTO_MAX_MS)
            return WTCP_EINVAL;
        s->rto_min_opt = (uint32_t)value;
        c->rto_min = (uint32_t)value; /* from the next RTT sample on */
        return 0;
    case WTCP_SO_ERROR:
        return WTCP_ENOPROTOOPT;
    default:
        return WTCP_ENOPROTOOPT;
    }
    if ((flag == TF_NODELAY || flag == TF_LINGER0 || flag == TF_KEEPALIVE) && !tcp)
        return WTCP_ENOPROTOOPT;
    if (value)
        s->opt_flags |= flag;
    else
        s->opt_flags &= ~flag;
    if (tcp && flag != TF_REUSEADDR) {
        if (value)
            c->flags |= flag;
        else
            c->flags &= ~flag;
        if (flag == TF_NODELAY && value)
            sock_want_output(st, idx); /* push anything Nagle was holding */
        if (flag == TF_KEEPALIVE && tcp_have_established(c->state) && c->state != WTCP_TIME_WAIT) {
            if (value)
                tcp_arm(st, idx, TCP_T_KEEPALIVE, c->last_rcv + s->ka_idle_ms);
            else
                tcp_disarm(st, idx, TCP_T_KEEPALIVE);
        }
    }
    return 0;
}

int wtcp_getsockopt(wtcp_stack *st, wtcp_sock h, int opt, int *value)
{
    LOOKUP(0);
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    if (!value)
        return WTCP_EINVAL;
    switch (opt) {
    case WTCP_SO_REUSEADDR:
        *value = (s->opt_flags & TF_REUSEADDR) != 0;
        return 0;
    case WTCP_SO_KEEPALIVE:
        *value = (s->opt_flags & TF_KEEPALIVE) != 0;
        return 0;
    case WTCP_TCP_NODELAY:
        *value = (s->opt_flags & TF_NODELAY) != 0;
        return 0;
    case WTCP_SO_LINGER0:
        *value = (s->opt_flags & TF_LINGER0) != 0;
        return 0;
    case WTCP_SO_RCVBUF:
        *value = (int)s->rcvbuf_opt;
        return 0;
    case WTCP_SO_SNDBUF:
        *value = (int)s->sndbuf_opt;
        return 0;
    case WTCP_TCP_MAXSEG:
        if (s->type != WTCP_SOCK_STREAM)
            return WTCP_ENOPROTOOPT;
        *value = (int)(c->snd_mss ? c->snd_mss : (s->maxseg_opt ? s->maxseg_opt : TCP_DEFAULT_MSS));
        return 0;
    case WTCP_TCP_KEEPIDLE:
        *value = (int)(s->ka_idle_ms / 1000);
        return 0;
    case WTCP_TCP_KEEPINTVL:
        *value = (int)(s->ka_intvl_ms / 1000);
        return 0;
    case WTCP_TCP_KEEPCNT:
        *value = (int)s->ka_count;
        return 0;
    case WTCP_TCP_USER_TIMEOUT:
        *value = (int)s->user_timeout_ms;
        return 0;
    case WTCP_TCP_CONGESTION:
        if (s->type != WTCP_SOCK_STREAM)
            return WTCP_ENOPROTOOPT;
        *value = s->cc_opt;
        return 0;
    case WTCP_TCP_RTO_MIN:
        if (s->type != WTCP_SOCK_STREAM)
            return WTCP_ENOPROTOOPT;
        *value = (int)s->rto_min_opt;
        return 0;
    case WTCP_SO_ERROR:
        *value = s->so_error;
        s->so_error = 0;
        return 0;
    default:
        return WTCP_ENOPROTOOPT;
    }
}

int wtcp_getsockname(wtcp_stack *st, wtcp_sock h, uint32_t *addr, uint16_t *port)
{
    LOOKUP(0);
    sock_slot *s = sk(st, idx);
    if (addr)
        *addr = s->laddr;
    if (port)
        *port = s->lport;
    return 0;
}

int wtcp_getpeername(wtcp_stack *st, wtcp_sock h, uint32_t *addr, uint16_t *port)
{
    LOOKUP(WTCP_SOCK_STREAM);
    sock_slot *s = sk(st, idx);
    if (!s->raddr || s->u.tcp.state == WTCP_LISTEN)
        return WTCP_ENOTCONN;
    if (addr)
        *addr = s->raddr;
    if (port)
        *port = s->rport;
    return 0;
}

int wtcp_info_get(wtcp_stack *st, wtcp_sock h, wtcp_info *info)
{
    LOOKUP(WTCP_SOCK_STREAM);
    if (!info)
        return WTCP_EINVAL;
    sock_slot *s = sk(st, idx);
    tcp_conn *c = &s->u.tcp;
    memset(info, 0, sizeof *info);
    info->state = c->state;
    info->local_addr = s->laddr;
    info->remote_addr = s->raddr;
    info->local_port = s->lport;
    info->remote_port = s->rport;
    info->snd_mss = c->snd_mss;
    info->rcv_mss = c->rcv_mss;
    info->snd_wnd = c->snd_wnd;
    info->rcv_wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    info->snd_wscale = c->snd_wscale;
    info->rcv_wscale = c->rcv_wscale;
    info->ts_ok = (c->flags & TF_TS_OK) != 0;
    info->sack_ok = (c->flags & TF_SACK_OK) != 0;
    info->cwnd = c->cwnd;
    info->ssthresh = c->ssthresh;
    info->srtt_ms = c->srtt8 / 8;
    info->rttvar_ms = c->rttvar4 / 4;
    info->rto_ms = c->rto;
    info->backoff = c->backoff;
    info->retransmits = c->total_retrans;
    info->unacked = c->snd_max - c->snd_una;
    info->snd_buf_used = c->sndbuf.len;
    info->rcv_buf_used = c->rcvbuf.len;
    info->bytes_sent = c->bytes_sent;
    info->bytes_acked = c->bytes_acked;
    info->bytes_received = c->bytes_received;
    info->segs_in = c->segs_in;
    info->segs_out = c->segs_out;
    info->congestion = s->cc_opt;
    /* Linux's ca_state: recovery, loss (after a timeout, until what was outstanding then is
     * acknowledged), disorder (duplicate ACKs or SACKed data), open. */
    if (c->in_recovery)
        info->ca_state = 2;
    else if (c->backoff && c->snd_una != c->snd_max)
        info->ca_state = 3;
    else if (c->dupacks || c->scoreboard.count)
        info->ca_state = 1;
    info->reordering = c->dupthresh;
    info->lost = c->rack.lost;
    info->rack_reo_wnd_ms = c->rack.reo_wnd;
    info->tlp_probes = c->rack.tlp_probes;
    return 0;
}

/* ---- UDP entry points ---- */

int wtcp_sendto(wtcp_stack *st, wtcp_sock h, const void *buf, size_t len, uint32_t addr, uint16_t port)
{
    LOOKUP(WTCP_SOCK_DGRAM);
    if (!buf && len)
        return WTCP_EINVAL;
    if (!addr_reachable(st, addr))
        return WTCP_ENETUNREACH;
    return udp_sendto(st, idx, buf, len, addr, port);
}

int wtcp_recvfrom(wtcp_stack *st, wtcp_sock h, void *buf, size_t len, uint32_t *addr, uint16_t *port)
{
    LOOKUP(WTCP_SOCK_DGRAM);
    if (!buf && len)
        return WTCP_EINVAL;
    return udp_recvfrom(st, idx, buf, len, addr, port, NULL, NULL);
}

int wtcp_intercept_udp(wtcp_stack *st, int iface)
{
    if (!st || iface < 0 || iface >= st->nifs || !st->ifs[iface].link || st->ifs[iface].intercept_udp)
        return WTCP_EINVAL;
    uint32_t idx = sock_alloc(st, WTCP_SOCK_DGRAM);
    if (idx == WTCP_NONE)
        return WTCP_EMFILE;
    sock_slot *s = sk(st, idx);
    s->user_owned = 1;
    s->intercepted = 1; /* bound to no port: interception alone feeds it */
    st->ifs[iface].intercept_udp = idx + 1;
    return sock_handle(st, idx);
}

/* The interception socket h (not any UDP socket). */
#define LOOKUP_UDP_INTERCEPT()                                                                \
    LOOKUP(WTCP_SOCK_DGRAM);                                                                  \
    if (!sk(st, idx)->intercepted)                                                            \
        return WTCP_EINVAL

int wtcp_intercept_recvfrom(wtcp_stack *st, wtcp_sock h, void *buf, size_t len, uint32_t *src, uint16_t *src_port,
                            uint32_t *dst, uint16_t *dst_port)
{
    LOOKUP_UDP_INTERCEPT();
    if (!buf && len)
        return WTCP_EINVAL;
    return udp_recvfrom(st, idx, buf, len, src, src_port, dst, dst_port);
}

int wtcp_intercept_sendto(wtcp_stack *st, wtcp_sock h, const void *buf, size_t len, uint32_t from,
                          uint16_t from_port, uint32_t to, uint16_t to_port)
{
    LOOKUP_UDP_INTERCEPT();
    if ((!buf && len) || !from || !from_port || !to_port || if_local(st, to) != IF_NONE)
        return WTCP_EINVAL;
    if (!addr_reachable(st, to))
        return WTCP_ENETUNREACH;
    return udp_send_from(st, buf, len, from, from_port, to, to_port);
}

int wtcp_intercept_unreachable(wtcp_stack *st, wtcp_sock h, uint32_t from, uint16_t from_port, uint32_t to,
                               uint16_t to_port)
{
    LOOKUP_UDP_INTERCEPT();
    if (!from || !to || !from_port || !to_port || !addr_reachable(st, to))
        return WTCP_EINVAL;
    /* Quote the headers of the datagram it answers (to:to_port -> from:from_port). */
    uint8_t q[WIRE_IPV4_HDR + WIRE_UDP_HDR];
    wire_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.total_len = WIRE_IPV4_HDR + WIRE_UDP_HDR;
    ip.ttl = 64;
    ip.proto = WIRE_PROTO_UDP;
    ip.src = to;
    ip.dst = from;
    wire_ipv4_emit(q, &ip);
    wire_udp_emit(q + WIRE_IPV4_HDR, to_port, from_port, 0);
    size_t n = wire_icmp_emit(st->tx + WIRE_IPV4_HDR, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_PORT_UNREACH, 0, q, sizeof q);
    st->stats.icmp_out++;
    return ip_send(st, from, to, WIRE_PROTO_ICMP, n); /* from the host that is not there */
}
