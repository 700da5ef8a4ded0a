/* socket.c: the BSD socket calls (POSIX.1-2017 XSH 2.10) on wtcp sockets: socket, bind, listen, accept, connect, send and receive, options, names, and readiness. */
#define _POSIX_C_SOURCE 200809L

#include "posix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#define UDP_MAX 65535

int px_errno(int err)
{
    switch (err) {
#define PX_ERRNO_CASE(name, value, msg) \
    case WTCP_##name:                   \
        return name;
        WTCP_ERRNO_MAP(PX_ERRNO_CASE)
#undef PX_ERRNO_CASE
    default:
        return EIO;
    }
}

/* Sets errno from a WTCP_E* code and returns -1. */
static int fail(int err)
{
    errno = px_errno(err);
    return -1;
}

static int fail_errno(int e)
{
    errno = e;
    return -1;
}

/* The socket behind fd, or NULL with errno EBADF / ENOTSOCK. */
static px_sock *sock_of(int fd)
{
    px_sock *s = px_sock_get(fd);
    if (s)
        return s;
    if (fd < 0 || px_is_link_fd(fd)) {
        errno = EBADF;
        return NULL;
    }
    __wasi_fdstat_t st;
    errno = __wasi_fd_fdstat_get((__wasi_fd_t)fd, &st) == 0 ? ENOTSOCK : EBADF;
    return NULL;
}

static int tcp_state(px_sock *s)
{
    wtcp_info info;
    return wtcp_info_get(px.stack, s->h, &info) == 0 ? info.state : WTCP_CLOSED;
}

/* ---------------------------------------------------------------- readiness */

int px_sock_revents(px_sock *s)
{
    wtcp_stack *st = px.stack;
    if (s->type == SOCK_DGRAM)
        return POLLOUT | (s->peek_len || wtcp_readable(st, s->h) >= 0 ? POLLIN : 0);
    if (s->listening)
        return wtcp_readable(st, s->h) > 0 ? POLLIN : 0;
    if (!s->connecting && !s->connected)
        return POLLOUT | POLLHUP; /* as Linux for a socket never connected */
    int state = tcp_state(s);
    if (state == WTCP_SYN_SENT || state == WTCP_SYN_RECEIVED)
        return 0;
    int r = (int)s->peek_len + (wtcp_readable(st, s->h) > 0 ? 1 : 0);
    int rv = r > 0 ? 1 : wtcp_recv(st, s->h, NULL, 0); /* 0: end of stream; <0: error */
    int pending_error = rv < 0 && rv != WTCP_EAGAIN && rv != WTCP_ENOTCONN;
    if (state == WTCP_CLOSED)
        return POLLIN | POLLOUT | POLLHUP | (pending_error ? POLLERR : 0);
    int ev = 0;
    if (r > 0 || rv == 0 || pending_error)
        ev |= POLLIN;
    if (rv == 0)
        ev |= POLLRDHUP; /* the peer's FIN (or SHUT_RD), as Linux */
    if (s->shut_wr || wtcp_writable(st, s->h) > 0 || pending_error)
        ev |= POLLOUT;
    if (pending_error)
        ev |= POLLERR;
    if (rv == 0 && (s->shut_wr || state == WTCP_TIME_WAIT || state == WTCP_LAST_ACK ||
                    state == WTCP_CLOSING))
        ev |= POLLHUP;
    return ev;
}

int px_wait_sock(px_sock *s, int want, uint64_t deadline_ns)
{
    for (;;) {
        if (px_sock_revents(s) & (want | POLLERR | POLLHUP))
            return 1;
        if (px_now_ns() >= deadline_ns)
            return 0;
        if (px_pump(deadline_ns, NULL, 0, NULL, NULL))
            return -1;
    }
}

/* A wait that did not end ready: EINTR after an alarm, else `timeout` (EAGAIN, EINPROGRESS). */
static int wait_failed(int r, int timeout)
{
    return fail_errno(r < 0 ? EINTR : timeout);
}

/* One look at the link without waiting, for non-blocking calls that found nothing. */
static void pump_once(void) { px_pump(0, NULL, 0, NULL, NULL); }

/* ---------------------------------------------------------------- addresses */

static int addr_in(const struct sockaddr *sa, socklen_t len, uint32_t *addr, uint16_t *port)
{
    if (!sa)
        return fail_errno(EFAULT);
    if (len < (socklen_t)sizeof(struct sockaddr_in))
        return fail_errno(EINVAL);
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    if (in->sin_family != AF_INET)
        return fail_errno(EAFNOSUPPORT);
    *addr = ntohl(in->sin_addr.s_addr);
    *port = ntohs(in->sin_port);
    return 0;
}

/* Writes an address as getsockname() does: truncated to *len, *len set to its size. */
static int addr_out(struct sockaddr *sa, socklen_t *len, uint32_t addr, uint16_t port)
{
    if (!sa || !len)
        return fail_errno(EFAULT);
    struct sockaddr_in in;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(addr);
    in.sin_port = htons(port);
    memcpy(sa, &in, *len < sizeof in ? *len : sizeof in);
    *len = sizeof in;
    return 0;
}

/* ---------------------------------------------------------------- creation */

int socket(int domain, int type, int protocol)
{
    int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (domain != AF_INET)
        return fail_errno(EAFNOSUPPORT);
    if (type != SOCK_STREAM && type != SOCK_DGRAM)
        return fail_errno(type == SOCK_RAW || type == SOCK_SEQPACKET ? EPROTONOSUPPORT : EINVAL);
    if (protocol != 0 && protocol != (type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
        return fail_errno(EPROTONOSUPPORT);
    if (px_init() < 0)
        return -1;
    int h = wtcp_socket(px.stack, type == SOCK_STREAM ? WTCP_SOCK_STREAM : WTCP_SOCK_DGRAM);
    if (h < 0)
        return fail(h == WTCP_EMFILE ? WTCP_EMFILE : h);
    px_sock *s = px_sock_new(h, type);
    if (!s) {
        int e = errno;
        wtcp_close(px.stack, h);
        return fail_errno(e);
    }
    s->nonblock = (flags & SOCK_NONBLOCK) != 0;
    return s->fd;
}

int socketpair(int domain, int type, int protocol, int sv[2])
{
    (void)type;
    (void)protocol;
    (void)sv;
    return fail_errno(domain == AF_UNIX ? EAFNOSUPPORT : EOPNOTSUPP);
}

int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
    px_sock *s = sock_of(fd);
    uint32_t addr;
    uint16_t port;
    if (!s || addr_in(sa, len, &addr, &port) < 0)
        return -1;
    if (s->bound)
        return fail_errno(EINVAL);
    int r = wtcp_bind(px.stack, s->h, addr, port);
    if (r < 0)
        return fail(r);
    s->bound = 1;
    return 0;
}

int listen(int fd, int backlog)
{
    px_sock *s = sock_of(fd);
    if (!s)
        return -1;
    if (s->type != SOCK_STREAM)
        return fail_errno(EOPNOTSUPP);
    if (s->connecting || s->connected)
        return fail_errno(EINVAL);
    if (backlog < 0 || backlog > SOMAXCONN)
        backlog = SOMAXCONN;
    int r = wtcp_listen(px.stack, s->h, backlog ? backlog : 1);
    if (r < 0)
        return fail(r);
    s->listening = 1;
    s->bound = 1;
    return 0;
}

int accept4(int fd, struct sockaddr *restrict sa, socklen_t *restrict len, int flags)
{
    px_sock *s = sock_of(fd);
    if (!s)
        return -1;
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
        return fail_errno(EINVAL);
    if (s->type != SOCK_STREAM)
        return fail_errno(EOPNOTSUPP);
    if (!s->listening)
        return fail_errno(EINVAL);
    if (sa && !len)
        return fail_errno(EFAULT);
    uint64_t deadline = px_deadline(s->rcvtimeo_ms);
    for (int tries = 0, w;; tries++) {
        uint32_t addr;
        uint16_t port;
        int h = wtcp_accept(px.stack, s->h, &addr, &port);
        if (h >= 0) {
            px_sock *c = px_sock_new(h, SOCK_STREAM);
            if (!c) {
                int e = errno;
                wtcp_abort(px.stack, h);
                return fail_errno(e);
            }
            c->connected = 1;
            c->bound = 1;
            c->nonblock = (flags & SOCK_NONBLOCK) != 0;
            if (sa)
                addr_out(sa, len, addr, port);
            px_kick();
            return c->fd;
        }
        if (h != WTCP_EAGAIN)
            return fail(h);
        if (s->nonblock) {
            if (tries)
                return fail_errno(EAGAIN);
            pump_once();
        } else if ((w = px_wait_sock(s, POLLIN, deadline)) <= 0) {
            return wait_failed(w, EAGAIN);
        }
    }
}

int accept(int fd, struct sockaddr *restrict sa, socklen_t *restrict len)
{
    return accept4(fd, sa, len, 0);
}

/* The outcome of a connect that has finished: 0, or -1 with its error. */
static int connect_result(px_sock *s)
{
    int state = tcp_state(s);
    if (state == WTCP_SYN_SENT || state == WTCP_SYN_RECEIVED)
        return fail_errno(EALREADY);
    s->connecting = 0;
    if (state != WTCP_CLOSED) {
        s->connected = 1;
        return 0;
    }
    int err = 0;
    wtcp_getsockopt(px.stack, s->h, WTCP_SO_ERROR, &err);
    return fail(err ? err : WTCP_ECONNREFUSED);
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    px_sock *s = sock_of(fd);
    if (!s)
        return -1;
    if (s->type == SOCK_DGRAM) {
        if (sa && len >= (socklen_t)sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC) {
            s->connected = 0; /* dissolves the association */
            return 0;
        }
        uint32_t addr;
        uint16_t port;
        if (addr_in(sa, len, &addr, &port) < 0)
            return -1;
        if (!s->bound) {
            int r = wtcp_bind(px.stack, s->h, 0, 0);
            if (r < 0)
                return fail(r);
            s->bound = 1;
        }
        s->peer_addr = addr;
        s->peer_port = port;
        s->connected = 1;
        return 0;
    }
    uint32_t addr;
    uint16_t port;
    if (addr_in(sa, len, &addr, &port) < 0)
        return -1;
    if (s->listening)
        return fail_errno(EISCONN);
    if (s->connected)
        return fail_errno(EISCONN);
    if (s->connecting) /* as Linux: still going, or its outcome once (0 or the error) */
        return connect_result(s);
    if (addr >> 24 == 127) /* no loopback in the stack: as Linux with nothing listening */
        return fail_errno(ECONNREFUSED);
    int r = wtcp_connect(px.stack, s->h, addr, port);
    if (r < 0 && r != WTCP_EINPROGRESS)
        return fail(r);
    s->connecting = 1;
    s->bound = 1;
    px_kick();
    if (s->nonblock)
        return fail_errno(EINPROGRESS);
    int w = px_wait_sock(s, POLLOUT, px_deadline(s->sndtimeo_ms));
    if (w <= 0) /* SO_SNDTIMEO ran out: EINPROGRESS, as Linux; it goes on meanwhile */
        return wait_failed(w, EINPROGRESS);
    return connect_result(s);
}

/* ---------------------------------------------------------------- receiving */

/* Keeps a copy of what MSG_PEEK saw, for the next read to return first. */
static int peek_fill(px_sock *s, size_t want)
{
    if (want > UDP_MAX)
        want = UDP_MAX;
    if (s->peek_len >= want)
        return 0;
    if (s->peek_cap < want) {
        uint8_t *n = realloc(s->peek, want);
        if (!n)
            return fail_errno(ENOMEM);
        s->peek = n;
        s->peek_cap = want;
    }
    int r = wtcp_recv(px.stack, s->h, s->peek + s->peek_len, want - s->peek_len);
    if (r > 0)
        s->peek_len += (size_t)r;
    return r < 0 && !s->peek_len ? r : 0;
}

static ssize_t tcp_recv(px_sock *s, void *buf, size_t len, int flags)
{
    if (s->listening || (!s->connected && !s->connecting))
        return fail_errno(ENOTCONN);
    int nonblock = s->nonblock || (flags & MSG_DONTWAIT);
    uint64_t deadline = px_deadline(s->rcvtimeo_ms);
    size_t got = 0;
    for (int tries = 0, w;; tries++) {
        int r;
        if (flags & MSG_PEEK) {
            r = peek_fill(s, len);
            if (r == 0 && s->peek_len) {
                size_t n = s->peek_len < len ? s->peek_len : len;
                memcpy(buf, s->peek, n);
                return (ssize_t)n;
            }
            if (r == 0)
                r = wtcp_recv(px.stack, s->h, NULL, 0);
        } else if (s->peek_len) {
            size_t n = s->peek_len < len - got ? s->peek_len : len - got;
            memcpy((uint8_t *)buf + got, s->peek, n);
            memmove(s->peek, s->peek + n, s->peek_len - n);
            s->peek_len -= n;
            r = (int)n;
        } else {
            r = wtcp_recv(px.stack, s->h, (uint8_t *)buf + got, len - got);
        }
        if (r > 0) {
            got += (size_t)r;
            px_kick(); /* a window update, if the read opened the window */
            if (!(flags & MSG_WAITALL) || got == len)
                return (ssize_t)got;
            continue;
        }
        if (r == 0 || (r < 0 && r != WTCP_EAGAIN)) {
            if (got)
                return (ssize_t)got;
            if (r == 0)
                return 0;
            if (r == WTCP_ENOTCONN && s->connected)
                return 0; /* the connection ended and its error was taken */
            if (s->connecting && r == WTCP_ENOTCONN)
                return fail_errno(ENOTCONN);
            return fail(r);
        }
        if (nonblock) {
            if (tries)
                return got ? (ssize_t)got : fail_errno(EAGAIN);
            pump_once();
        } else if ((w = px_wait_sock(s, POLLIN, deadline)) <= 0) {
            return got ? (ssize_t)got : wait_failed(w, EAGAIN);
        }
    }
}

static ssize_t udp_recv(px_sock *s, void *buf, size_t len, int flags, struct sockaddr *sa,
                        socklen_t *salen, int *truncated)
{
    int nonblock = s->nonblock || (flags & MSG_DONTWAIT);
    uint64_t deadline = px_deadline(s->rcvtimeo_ms);
    if (!s->bound) {
        int r = wtcp_bind(px.stack, s->h, 0, 0);
        if (r < 0)
            return fail(r);
        s->bound = 1;
    }
    for (int tries = 0, w;; tries++) {
        if (!s->peek_len) {
            if (s->peek_cap < UDP_MAX) {
                uint8_t *n = realloc(s->peek, UDP_MAX);
                if (!n)
                    return fail_errno(ENOMEM);
                s->peek = n;
                s->peek_cap = UDP_MAX;
            }
            int size = wtcp_readable(px.stack, s->h);
            int r = wtcp_recvfrom(px.stack, s->h, s->peek, UDP_MAX, &s->peek_addr, &s->peek_port);
            if (r >= 0 && s->connected &&
                (s->peek_addr != s->peer_addr || s->peek_port != s->peer_port))
                continue; /* not from the connected peer: dropped, as Linux does */
            if (r >= 0) {
                s->peek_len = (size_t)r;
                s->peek_dgram = 1;
                s->peek_empty = size == 0;
            } else if (r != WTCP_EAGAIN) {
                return fail(r);
            }
        }
        if (s->peek_len || s->peek_empty) {
            size_t n = s->peek_len < len ? s->peek_len : len;
            memcpy(buf, s->peek, n);
            if (truncated)
                *truncated = s->peek_len > len;
            if (sa && salen)
                addr_out(sa, salen, s->peek_addr, s->peek_port);
            if (!(flags & MSG_PEEK))
                s->peek_len = 0, s->peek_empty = 0;
            return (ssize_t)n;
        }
        if (nonblock) {
            if (tries)
                return fail_errno(EAGAIN);
            pump_once();
        } else if ((w = px_wait_sock(s, POLLIN, deadline)) <= 0) {
            return wait_failed(w, EAGAIN);
        }
    }
}

ssize_t px_sock_recv(px_sock *s, void *buf, size_t len, int flags, struct sockaddr *sa,
                     socklen_t *salen, int *truncated)
{
    if (!buf && len)
        return fail_errno(EFAULT);
    if (flags & MSG_OOB)
        return fail_errno(EOPNOTSUPP);
    if (flags & ~(MSG_PEEK | MSG_DONTWAIT | MSG_WAITALL | MSG_NOSIGNAL | MSG_CMSG_CLOEXEC))
        return fail_errno(EOPNOTSUPP);
    if (s->type == SOCK_DGRAM)
        return udp_recv(s, buf, len, flags, sa, salen, truncated);
    if (sa && salen) /* a TCP socket's recvfrom() names no address: Linux leaves it alone */
        *salen = 0;
    return tcp_recv(s, buf, len, flags);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    px_sock *s = sock_of(fd);
    return s ? px_sock_recv(s, buf, len, flags, NULL, NULL, NULL) : -1;
}

ssize_t recvfrom(int fd, void *restrict buf, size_t len, int flags, struct sockaddr *restrict sa,
                 socklen_t *restrict salen)
{
    px_sock *s = sock_of(fd);
    if (!s)
        return -1;
    if (sa && !salen)
        return fail_errno(EFAULT);
    return px_sock_recv(s, buf, len, flags, sa, salen, NULL);
}

/* The socket fd names and the bytes of msg's buffers, or NULL with errno. */
static px_sock *msg_sock(int fd, const struct msghdr *msg, size_t *total)
{
    px_sock *s = sock_of(fd);
    if (!s)
        return NULL;
    if (!msg || (msg->msg_iovlen && !msg->msg_iov)) {
        errno = EFAULT;
        return NULL;
    }
    if (msg->msg_iovlen < 0 || msg->msg_iovlen > IOV_MAX) {
        errno = EMSGSIZE;
        return NULL;
    }
    *total = 0;
    for (int i = 0; i < msg->msg_iovlen; i++) {
        if (msg->msg_iov[i].iov_len > SSIZE_MAX - *total) {
            errno = EINVAL;
            return NULL;
        }
        *total += msg->msg_iov[i].iov_len;
    }
    return s;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    size_t total;
    px_sock *s = msg_sock(fd, msg, &total);
    if (!s)
        return -1;
    uint8_t one[1];
    uint8_t *tmp = msg->msg_iovlen == 1 ? msg->msg_iov[0].iov_base : total ? malloc(total) : one;
    if (!tmp)
        return fail_errno(ENOMEM);
    int truncated = 0;
    socklen_t namelen = msg->msg_namelen;
    ssize_t n = px_sock_recv(s, tmp, total, flags, msg->msg_name,
                             msg->msg_name ? &namelen : NULL, &truncated);
    if (n >= 0 && msg->msg_iovlen != 1) {
        size_t off = 0;
        for (int i = 0; i < msg->msg_iovlen && off < (size_t)n; i++) {
            size_t k = msg->msg_iov[i].iov_len < (size_t)n - off ? msg->msg_iov[i].iov_len : (size_t)n - off;
            memcpy(msg->msg_iov[i].iov_base, tmp + off, k);
            off += k;
        }
    }
    if (tmp != one && msg->msg_iovlen != 1)
        free(tmp);
    if (n >= 0) {
        msg->msg_namelen = msg->msg_name ? namelen : 0;
        msg->msg_controllen = 0;
        msg->msg_flags = truncated ? MSG_TRUNC : 0;
    }
    return n;
}

/* ---------------------------------------------------------------- sending */

static ssize_t tcp_send(px_sock *s, const void *buf, size_t len, int flags)
{
    if (s->listening || (!s->connected && !s->connecting))
        return fail_errno(EPIPE); /* as Linux, for a socket never connected or listening */
    if (s->shut_wr)
        return fail_errno(EPIPE);
    if (s->connecting && !s->connected) {
        int state = tcp_state(s);
        if (state == WTCP_SYN_SENT || state == WTCP_SYN_RECEIVED) {
            if (s->nonblock || (flags & MSG_DONTWAIT))
                return fail_errno(EAGAIN);
            int w = px_wait_sock(s, POLLOUT, px_deadline(s->sndtimeo_ms));
            if (w <= 0)
                return wait_failed(w, EAGAIN);
        }
        if (connect_result(s) < 0)
            return -1;
    }
    int nonblock = s->nonblock || (flags & MSG_DONTWAIT);
    uint64_t deadline = px_deadline(s->sndtimeo_ms);
    size_t off = 0;
    for (int tries = 0, w;;) {
        int r = len - off ? wtcp_send(px.stack, s->h, (const uint8_t *)buf + off, len - off) : 0;
        if (r > 0) {
            off += (size_t)r;
            px_kick();
            if (off == len)
                return (ssize_t)off;
            if (nonblock)
                return (ssize_t)off;
            continue;
        }
        if (r == 0 && len == off)
            return (ssize_t)off;
        if (r < 0 && r != WTCP_EAGAIN)
            return off ? (ssize_t)off : fail(r);
        if (nonblock) {
            if (tries++)
                return off ? (ssize_t)off : fail_errno(EAGAIN);
            pump_once();
        } else if ((w = px_wait_sock(s, POLLOUT, deadline)) <= 0) {
            return off ? (ssize_t)off : wait_failed(w, EAGAIN);
        }
    }
}

static ssize_t udp_send(px_sock *s, const void *buf, size_t len, const struct sockaddr *sa,
                        socklen_t salen)
{
    uint32_t addr = s->peer_addr;
    uint16_t port = s->peer_port;
    if (sa) {
        if (addr_in(sa, salen, &addr, &port) < 0)
            return -1;
    } else if (!s->connected) {
        return fail_errno(EDESTADDRREQ);
    }
    if (len > UDP_MAX - 28)
        return fail_errno(EMSGSIZE);
    int r = wtcp_sendto(px.stack, s->h, buf, len, addr, port);
    if (r < 0)
        return fail(r);
    s->bound = 1;
    px_kick();
    return (ssize_t)len;
}

ssize_t px_sock_send(px_sock *s, const void *buf, size_t len, int flags, const struct sockaddr *sa,
                     socklen_t salen)
{
    if (!buf && len)
        return fail_errno(EFAULT);
    if (flags & MSG_OOB)
        return fail_errno(EOPNOTSUPP);
    if (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE | MSG_EOR | MSG_CONFIRM | MSG_DONTROUTE))
        return fail_errno(EOPNOTSUPP);
    if (s->type == SOCK_DGRAM)
        return udp_send(s, buf, len, sa, salen);
    if (sa && !s->connected)
        return fail_errno(s->connecting ? EALREADY : ENOTCONN);
    return tcp_send(s, buf, len, flags);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    px_sock *s = sock_of(fd);
    return s ? px_sock_send(s, buf, len, flags, NULL, 0) : -1;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *sa,
               socklen_t salen)
{
    px_sock *s = sock_of(fd);
    return s ? px_sock_send(s, buf, len, flags, sa, salen) : -1;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    size_t total;
    px_sock *s = msg_sock(fd, msg, &total);
    if (!s)
        return -1;
    if (msg->msg_iovlen == 1)
        return px_sock_send(s, msg->msg_iov[0].iov_base, msg->msg_iov[0].iov_len, flags,
                            msg->msg_name, msg->msg_namelen);
    uint8_t *tmp = malloc(total ? total : 1);
    if (!tmp)
        return fail_errno(ENOMEM);
    size_t off = 0;
    for (int i = 0; i < msg->msg_iovlen; i++) {
        memcpy(tmp + off, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
        off += msg->msg_iov[i].iov_len;
    }
    ssize_t n = px_sock_send(s, tmp, total, flags, msg->msg_name, msg->msg_namelen);
    free(tmp);
    return n;
}

/* ---------------------------------------------------------------- shutdown and close */

int shutdown(int fd, int how)
{
    px_sock *s = sock_of(fd);
    if (!s)
        return -1;
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return fail_errno(EINVAL);
    if (s->type == SOCK_DGRAM)
        return fail_errno(s->connected ? EOPNOTSUPP : ENOTCONN);
    if (s->listening || (!s->connected && !s->connecting))
        return fail_errno(ENOTCONN);
    /* wasi-libc's SHUT_RD/SHUT_WR are 1 and 2, as WTCP_SHUT_RD/WR. */
    int r = wtcp_shutdown(px.stack, s->h, (how & SHUT_RD ? WTCP_SHUT_RD : 0) | (how & SHUT_WR ? WTCP_SHUT_WR : 0));
    if (r < 0)
        return fail(r);
    if (how & SHUT_RD)
        s->shut_rd = 1;
    if (how & SHUT_WR)
        s->shut_wr = 1;
    px_kick();
    return 0;
}

int px_sock_close(px_sock *s)
{
    wtcp_stack *st = px.stack;
    int state = s->type == SOCK_STREAM ? tcp_state(s) : WTCP_CLOSED;
    int unread = s->peek_len || (s->type == SOCK_STREAM && wtcp_readable(st, s->h) > 0);
    wtcp_sock h = s->h;
    int linger = s->linger_on, linger_s = s->linger_s, nonblock = s->nonblock;
    px_sock_free(s);
    if (linger && linger_s == 0) {
        wtcp_abort(st, h); /* SO_LINGER with l_linger 0: a reset */
    } else if (!unread && (state == WTCP_ESTABLISHED || state == WTCP_CLOSE_WAIT ||
                           state == WTCP_SYN_RECEIVED || state == WTCP_FIN_WAIT_1 ||
                           state == WTCP_CLOSING || state == WTCP_LAST_ACK)) {
        /* Its data and FIN still have to get there: the pump releases it when they have
         * (and exit waits for that, as the kernel would). */
        wtcp_shutdown(st, h, WTCP_SHUT_WR);
        px_closing_add(h);
        if (linger && !nonblock) { /* SO_LINGER: close() waits, at most l_linger s */
            uint64_t deadline = px_now_ns() + (uint64_t)linger_s * 1000000000u;
            for (;;) {
                size_t i = 0;
                while (i < px.nclosing && px.closing[i] != h)
                    i++;
                if (i == px.nclosing || px_now_ns() >= deadline ||
                    px_pump(deadline, NULL, 0, NULL, NULL))
                    break;
            }
        }
    } else {
        wtcp_close(st, h); /* unread data: a reset, as Linux */
    }
    px_kick();
    return 0;
}

/* ---------------------------------------------------------------- options */

static int opt_int(const void *v, socklen_t len, int *out)
{
    if (!v)
        return fail_errno(EFAULT);
    if (len < (socklen_t)sizeof(int))
        return fail_errno(EINVAL);
    memcpy(out, v, sizeof *out);
    return 0;
}

static int opt_timeval(const void *v, socklen_t len, uint32_t *ms)
{
    struct timeval tv;
    if (!v)
        return fail_errno(EFAULT);
    if (len < (socklen_t)sizeof tv)
        return fail_errno(EINVAL);
    memcpy(&tv, v, sizeof tv);
    if (tv.tv_usec < 0 || tv.tv_usec >= 1000000 || tv.tv_sec < 0)
        return fail_errno(tv.tv_sec < 0 ? EINVAL : EDOM);
    uint64_t t = (uint64_t)tv.tv_sec * 1000u + ((uint64_t)tv.tv_usec + 999u) / 1000u;
    *ms = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
    return 0;
}

/* The stack's option for a level and name, or 0. */
static int core_opt(int level, int name)
{
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_REUSEADDR: return WTCP_SO_REUSEADDR;
        case SO_RCVBUF: return WTCP_SO_RCVBUF;
        case SO_SNDBUF: return WTCP_SO_SNDBUF;
        case SO_KEEPALIVE: return WTCP_SO_KEEPALIVE;
        }
    } else if (level == IPPROTO_TCP) {
        switch (name) {
        case TCP_NODELAY: return WTCP_TCP_NODELAY;
        case TCP_MAXSEG: return WTCP_TCP_MAXSEG;
        case TCP_KEEPIDLE: return WTCP_TCP_KEEPIDLE;
        case TCP_KEEPINTVL: return WTCP_TCP_KEEPINTVL;
        case TCP_KEEPCNT: return WTCP_TCP_KEEPCNT;
        case TCP_USER_TIMEOUT: return WTCP_TCP_USER_TIMEOUT;
        }
    }
    return 0;
}

int setsockopt(int fd, int level, int name, const void *v, socklen_t len)
{
    px_sock *s = sock_of(fd);
    if (!s)
        return -1;
    int val;
    if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO))
        return opt_timeval(v, len, name == SO_RCVTIMEO ? &s->rcvtimeo_ms : &s->sndtimeo_ms);
    if (level == SOL_SOCKET && name == SO_LINGER) {
        struct linger l;
        if (!v)
            return fail_errno(EFAULT);
        if (len < (socklen_t)sizeof l)
            return fail_errno(EINVAL);
        memcpy(&l, v, sizeof l);
        s->linger_on = l.l_onoff != 0;
        s->linger_s = l.l_linger < 0 ? 0 : l.l_linger;
        if (s->type == SOCK_STREAM)
            wtcp_setsockopt(px.stack, s->h, WTCP_SO_LINGER0, s->linger_on && !s->linger_s);
        return 0;
    }
    if (level == IPPROTO_IP && name == IP_OPTIONS) /* none can be set: only clearing them */
        return len == 0 ? 0 : fail_errno(EINVAL);
    int opt = core_opt(level, name);
    if (!opt) {
        if ((level == SOL_SOCKET && (name == SO_BROADCAST || name == SO_REUSEPORT || name == SO_OOBINLINE)) ||
            (level == IPPROTO_IP && (name == IP_TOS || name == IP_TTL)))
            return opt_int(v, len, &val); /* accepted, without effect (docs/POSIX.md) */
        return fail_errno(ENOPROTOOPT);
    }
    if (opt_int(v, len, &val) < 0)
        return -1;
    if (level == IPPROTO_TCP && s->type != SOCK_STREAM)
        return fail_errno(ENOPROTOOPT);
    if (opt == WTCP_SO_RCVBUF || opt == WTCP_SO_SNDBUF) {
        /* Linux doubles the value (room for its bookkeeping) and has a floor. */
        if (val < 2304)
            val = 2304;
    }
    if ((opt == WTCP_SO_REUSEADDR || opt == WTCP_SO_KEEPALIVE || opt == WTCP_TCP_NODELAY) && val)
        val = 1;
    int r = wtcp_setsockopt(px.stack, s->h, opt, val);
    if (r < 0)
        return fail(r);
    px_kick();
    return 0;
}

static int put_opt(void *v, socklen_t *len, const void *value, socklen_t size)
{
    if (!v || !len)
        return fail_errno(EFAULT);
    if (*len > size)
        *len = size;
    memcpy(v, value, *len); /* a shorter buffer gets the start, as Linux */
    return 0;
}

int getsockopt(int fd, int level, int name, void *restrict v, socklen_t *restrict len)
{
    px_sock *s = sock_of(fd);
    if (!s)
        return -1;
    if (!len)
        return fail_errno(EFAULT);
    if ((int)*len < 0)
        return fail_errno(EINVAL);
    int val = 0;
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_TYPE:
            val = s->type;
            return put_opt(v, len, &val, sizeof val);
        case SO_DOMAIN:
            val = AF_INET;
            return put_opt(v, len, &val, sizeof val);
        case SO_PROTOCOL:
            val = s->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
            return put_opt(v, len, &val, sizeof val);
        case SO_ACCEPTCONN:
            val = s->listening;
            return put_opt(v, len, &val, sizeof val);
        case SO_ERROR: {
            int err = 0;
            wtcp_getsockopt(px.stack, s->h, WTCP_SO_ERROR, &err);
            val = err ? px_errno(err) : 0;
            if (s->connecting && s->type == SOCK_STREAM) {
                int state = tcp_state(s);
                if (state != WTCP_SYN_SENT && state != WTCP_SYN_RECEIVED) {
                    s->connecting = 0;
                    s->connected = state != WTCP_CLOSED;
                }
            }
            return put_opt(v, len, &val, sizeof val);
        }
        case SO_LINGER: {
            struct linger l = {.l_onoff = s->linger_on, .l_linger = s->linger_s};
            return put_opt(v, len, &l, sizeof l);
        }
        case SO_RCVTIMEO:
        case SO_SNDTIMEO: {
            uint32_t ms = name == SO_RCVTIMEO ? s->rcvtimeo_ms : s->sndtimeo_ms;
            struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
            return put_opt(v, len, &tv, sizeof tv);
        }
        case SO_BROADCAST:
        case SO_REUSEPORT:
        case SO_OOBINLINE:
            return put_opt(v, len, &val, sizeof val);
        }
    }
    if (level == IPPROTO_IP) {
        switch (name) {
        case IP_OPTIONS: /* none */
            *len = 0;
            return 0;
        case IP_TOS:
            return put_opt(v, len, &val, sizeof val);
        case IP_TTL:
            val = 64;
            return put_opt(v, len, &val, sizeof val);
        }
    }
    int opt = core_opt(level, name);
    if (!opt)
        return fail_errno(ENOPROTOOPT);
    if (level == IPPROTO_TCP && s->type != SOCK_STREAM)
        return fail_errno(ENOPROTOOPT);
    int r = wtcp_getsockopt(px.stack, s->h, opt, &val);
    if (r < 0)
        return fail(r);
    return put_opt(v, len, &val, sizeof val);
}

/* ---------------------------------------------------------------- names */

int getsockname(int fd, struct sockaddr *restrict sa, socklen_t *restrict len)
{
    px_sock *s = sock_of(fd);
    if (!s)
        return -1;
    uint32_t addr = 0;
    uint16_t port = 0;
    if (s->bound || s->connected || s->connecting)
        wtcp_getsockname(px.stack, s->h, &addr, &port);
    return addr_out(sa, len, addr, port);
}

int getpeername(int fd, struct sockaddr *restrict sa, socklen_t *restrict len)
{
    px_sock *s = sock_of(fd);
    if (!s)
        return -1;
    if (!sa || !len)
        return fail_errno(EFAULT);
    if (s->type == SOCK_DGRAM) {
        if (!s->connected)
            return fail_errno(ENOTCONN);
        return addr_out(sa, len, s->peer_addr, s->peer_port);
    }
    /* After a non-blocking connect, programs ask this to learn whether it worked. */
    int state = s->listening ? WTCP_LISTEN : tcp_state(s);
    if (s->listening || (!s->connected && !s->connecting) || state == WTCP_SYN_SENT ||
        state == WTCP_SYN_RECEIVED || state == WTCP_CLOSED)
        return fail_errno(ENOTCONN);
    uint32_t addr;
    uint16_t port;
    int r = wtcp_getpeername(px.stack, s->h, &addr, &port);
    if (r < 0)
        return fail(r);
    return addr_out(sa, len, addr, port);
}

int sockatmark(int fd)
{
    px_sock *s = sock_of(fd);
    if (!s)
        return -1;
    return 0; /* urgent data is not supported: never at the mark */
}
