/* fd.c: the POSIX layer's descriptors: socket descriptors beside WASI's (the lowest free numbers, held by placeholders), and read/write/readv/writev/close/fcntl/ioctl for both kinds. */
#define _POSIX_C_SOURCE 200809L

#include "posix.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FD 65536 /* socket descriptors stay below this */

/* wasi-libc reports a descriptor without the right for a call as EBADF. */
static int wasi_fail(__wasi_errno_t e)
{
    errno = e == __WASI_ERRNO_NOTCAPABLE ? EBADF : e;
    return -1;
}

/* ---------------------------------------------------------------- the table */

px_sock *px_sock_get(int fd)
{
    return fd >= 0 && (size_t)fd < px.nby_fd ? px.by_fd[fd] : NULL;
}

int px_is_link_fd(int fd)
{
    return !px.stdio_link && px.link_in >= 0 && (fd == px.link_in || fd == px.link_out);
}

/* With the link on stdin/stdout the program sees 0 and 1 as an empty input and as
 * stderr; once it closes them (or 2) they are gone for it, the descriptors stay. */
static int stdio_closed[3];

int px_fd_closed(int fd) { return fd >= 0 && fd <= 2 && stdio_closed[fd]; }

int px_stdio_link(void)
{
    if (px.ready || px.failed)
        return px.stdio_link;
    const char *in = getenv("WTCP_LINK_IN");
    return !in || !*in;
}

/* The first preopened directory, where placeholders are opened; -1 when there is none. */
static int find_preopen(void)
{
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        __wasi_prestat_t ps;
        __wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
        if (e == __WASI_ERRNO_BADF)
            break;
        if (e == 0 && ps.tag == __WASI_PREOPENTYPE_DIR)
            return (int)fd;
    }
    return -1;
}

/* A descriptor number for a new socket. The runtime numbers files itself, so the number
 * is held by a real WASI descriptor, a placeholder (the preopened directory opened again):
 * the runtime then gives the lowest free number, as POSIX wants, and never gives it to a
 * file while the socket has it. Without a preopen no file can be opened at all, and the
 * lowest number the runtime does not use is taken. */
static int reserve_fd(int *placeholder)
{
    *placeholder = -1;
    if (px.preopen == -2)
        px.preopen = find_preopen();
    if (px.preopen >= 0) {
        __wasi_fd_t fd;
        __wasi_errno_t e = __wasi_path_open((__wasi_fd_t)px.preopen, 0, ".", __WASI_OFLAGS_DIRECTORY,
                                            0, 0, 0, &fd);
        if (e == 0 && fd < MAX_FD && !px_sock_get((int)fd)) {
            *placeholder = (int)fd;
            return (int)fd;
        }
        if (e == 0)
            (void)__wasi_fd_close(fd);
        if (e == __WASI_ERRNO_MFILE || e == __WASI_ERRNO_NFILE) {
            errno = EMFILE;
            return -1;
        }
    }
    for (int fd = 3; fd < MAX_FD; fd++) {
        __wasi_fdstat_t st;
        if (px_sock_get(fd) || px_is_link_fd(fd))
            continue;
        if (__wasi_fd_fdstat_get((__wasi_fd_t)fd, &st) == __WASI_ERRNO_BADF)
            return fd;
    }
    errno = EMFILE;
    return -1;
}

px_sock *px_sock_new(wtcp_sock h, int type)
{
    int placeholder;
    int fd = reserve_fd(&placeholder);
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= px.nby_fd) {
        size_t n = px.nby_fd ? px.nby_fd : 64;
        while (n <= (size_t)fd)
            n *= 2;
        px_sock **t = realloc(px.by_fd, n * sizeof *t);
        if (!t)
            goto nomem;
        memset(t + px.nby_fd, 0, (n - px.nby_fd) * sizeof *t);
        px.by_fd = t;
        px.nby_fd = n;
    }
    px_sock *s = calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    s->used = 1;
    s->fd = fd;
    s->h = h;
    s->type = type;
    s->placeholder = placeholder;
    px.by_fd[fd] = s;
    px.nsocks++;
    return s;
nomem:
    if (placeholder >= 0)
        (void)__wasi_fd_close((__wasi_fd_t)placeholder);
    errno = ENOMEM;
    return NULL;
}

void px_sock_free(px_sock *s)
{
    px.by_fd[s->fd] = NULL;
    px.nsocks--;
    if (s->placeholder >= 0)
        (void)__wasi_fd_close((__wasi_fd_t)s->placeholder);
    free(s->peek);
    free(s);
}

/* ---------------------------------------------------------------- read and write */

ssize_t read(int fd, void *buf, size_t len)
{
    px_sock *s = px_sock_get(fd);
    if (s)
        return px_sock_recv(s, buf, len, 0, NULL, NULL, NULL);
    if (px_is_link_fd(fd)) {
        errno = EBADF;
        return -1;
    }
    if (px_fd_closed(fd)) {
        errno = EBADF;
        return -1;
    }
    if (fd == 0 && px_stdio_link())
        return 0; /* stdin carries the packets: the program sees an empty input */
    __wasi_iovec_t iov = {.buf = buf, .buf_len = len};
    __wasi_size_t n;
    __wasi_errno_t e = __wasi_fd_read((__wasi_fd_t)fd, &iov, 1, &n);
    return e ? wasi_fail(e) : (ssize_t)n;
}

/* The descriptor a write to fd goes to: stdout's to stderr while stdout carries packets. */
static int write_target(int fd)
{
    if (px_fd_closed(fd)) {
        errno = EBADF;
        return -1;
    }
    return fd == 1 && px_stdio_link() ? 2 : fd;
}

ssize_t write(int fd, const void *buf, size_t len)
{
    px_sock *s = px_sock_get(fd);
    if (s)
        return px_sock_send(s, buf, len, 0, NULL, 0);
    if (px_is_link_fd(fd)) {
        errno = EBADF;
        return -1;
    }
    if ((fd = write_target(fd)) < 0)
        return -1;
    __wasi_ciovec_t iov = {.buf = buf, .buf_len = len};
    __wasi_size_t n;
    __wasi_errno_t e = __wasi_fd_write((__wasi_fd_t)fd, &iov, 1, &n);
    return e ? wasi_fail(e) : (ssize_t)n;
}

ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
    if (iovcnt < 0 || iovcnt > IOV_MAX) {
        errno = EINVAL;
        return -1;
    }
    px_sock *s = px_sock_get(fd);
    if (s) {
        struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt};
        return recvmsg(fd, &m, 0);
    }
    if (px_is_link_fd(fd)) {
        errno = EBADF;
        return -1;
    }
    if (px_fd_closed(fd) || (fd == 0 && px_stdio_link()))
        return read(fd, NULL, 0);
    __wasi_size_t n;
    __wasi_errno_t e = __wasi_fd_read((__wasi_fd_t)fd, (const __wasi_iovec_t *)iov, (size_t)iovcnt, &n);
    return e ? wasi_fail(e) : (ssize_t)n;
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    if (iovcnt < 0 || iovcnt > IOV_MAX) {
        errno = EINVAL;
        return -1;
    }
    px_sock *s = px_sock_get(fd);
    if (s) {
        struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt};
        return sendmsg(fd, &m, 0);
    }
    if (px_is_link_fd(fd)) {
        errno = EBADF;
        return -1;
    }
    if ((fd = write_target(fd)) < 0)
        return -1;
    __wasi_size_t n;
    __wasi_errno_t e = __wasi_fd_write((__wasi_fd_t)fd, (const __wasi_ciovec_t *)iov, (size_t)iovcnt, &n);
    return e ? wasi_fail(e) : (ssize_t)n;
}

int close(int fd)
{
    px_sock *s = px_sock_get(fd);
    if (s)
        return px_sock_close(s);
    if (px_is_link_fd(fd)) {
        errno = EBADF;
        return -1;
    }
    if (fd >= 0 && fd <= 2) {
        /* The descriptor stays open (it may carry the link; and Node's node:wasi aborts
         * the process when a program closes 0, 1 or 2: libuv asserts fd > 2); for the
         * program it is closed. */
        if (stdio_closed[fd]) {
            errno = EBADF;
            return -1;
        }
        stdio_closed[fd] = 1;
        return 0;
    }
    __wasi_errno_t e = __wasi_fd_close((__wasi_fd_t)fd);
    return e ? wasi_fail(e) : 0;
}

/* ---------------------------------------------------------------- fcntl and ioctl */

int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    int arg = cmd == F_SETFL || cmd == F_SETFD ? va_arg(ap, int) : 0;
    va_end(ap);
    px_sock *s = px_sock_get(fd);
    if (!s && px_is_link_fd(fd)) {
        errno = EBADF;
        return -1;
    }
    switch (cmd) {
    case F_GETFD: /* no exec in WASI: every descriptor acts close-on-exec (as wasi-libc) */
        if (!s) {
            __wasi_fdstat_t st;
            __wasi_errno_t e = __wasi_fd_fdstat_get((__wasi_fd_t)fd, &st);
            if (e)
                return wasi_fail(e);
        }
        return FD_CLOEXEC;
    case F_SETFD:
        return 0;
    case F_GETFL: {
        if (s)
            return O_RDWR | (s->nonblock ? O_NONBLOCK : 0);
        __wasi_fdstat_t st;
        __wasi_errno_t e = __wasi_fd_fdstat_get((__wasi_fd_t)fd, &st);
        if (e)
            return wasi_fail(e);
        int fl = st.fs_flags;
        int rd = (st.fs_rights_base & (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_READDIR)) != 0;
        int wr = (st.fs_rights_base & __WASI_RIGHTS_FD_WRITE) != 0;
        return fl | (rd && wr ? O_RDWR : rd ? O_RDONLY : wr ? O_WRONLY : O_SEARCH);
    }
    case F_SETFL: {
        if (s) {
            s->nonblock = (arg & O_NONBLOCK) != 0;
            return 0;
        }
        __wasi_errno_t e = __wasi_fd_fdstat_set_flags((__wasi_fd_t)fd, (__wasi_fdflags_t)(arg & 0xfff));
        return e ? wasi_fail(e) : 0;
    }
    default:
        errno = EINVAL;
        return -1;
    }
}

int ioctl(int fd, int request, ...)
{
    va_list ap;
    va_start(ap, request);
    int *arg = va_arg(ap, int *);
    va_end(ap);
    px_sock *s = px_sock_get(fd);
    if (!s && px_is_link_fd(fd)) {
        errno = EBADF;
        return -1;
    }
    if (request != FIONREAD && request != FIONBIO) {
        errno = ENOTTY;
        return -1;
    }
    if (!arg) {
        errno = EFAULT;
        return -1;
    }
    if (s) {
        if (request == FIONBIO) {
            s->nonblock = *arg != 0;
            return 0;
        }
        if (s->listening) {
            errno = EINVAL;
            return -1;
        }
        int r = wtcp_readable(px.stack, s->h);
        *arg = (int)s->peek_len + (r > 0 && !(s->type == SOCK_DGRAM && s->peek_len) ? r : 0);
        return 0;
    }
    __wasi_fdstat_t fst;
    __wasi_errno_t bad = __wasi_fd_fdstat_get((__wasi_fd_t)fd, &fst);
    if (bad)
        return wasi_fail(bad);
    if (request == FIONBIO) {
        __wasi_fdstat_t st;
        __wasi_errno_t e = __wasi_fd_fdstat_get((__wasi_fd_t)fd, &st);
        if (!e) {
            __wasi_fdflags_t fl = st.fs_flags;
            fl = *arg ? (fl | __WASI_FDFLAGS_NONBLOCK) : (fl & ~__WASI_FDFLAGS_NONBLOCK);
            e = __wasi_fd_fdstat_set_flags((__wasi_fd_t)fd, fl);
        }
        return e ? wasi_fail(e) : 0;
    }
    /* FIONREAD on an ordinary descriptor: what a poll says is there (as wasi-libc). */
    __wasi_subscription_t sub = {.userdata = 0, .u.tag = __WASI_EVENTTYPE_FD_READ};
    sub.u.u.fd_read.file_descriptor = (__wasi_fd_t)fd;
    __wasi_subscription_t subs[2] = {sub, {.userdata = 1, .u.tag = __WASI_EVENTTYPE_CLOCK}};
    subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    __wasi_event_t ev[2];
    __wasi_size_t n;
    __wasi_errno_t e = __wasi_poll_oneoff(subs, ev, 2, &n);
    if (e)
        return wasi_fail(e);
    *arg = 0;
    for (__wasi_size_t i = 0; i < n; i++) {
        if (ev[i].userdata != 0)
            continue;
        if (ev[i].error)
            return wasi_fail(ev[i].error);
        *arg = (int)ev[i].fd_readwrite.nbytes;
    }
    return 0;
}
