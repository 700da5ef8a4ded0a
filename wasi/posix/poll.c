/* poll.c: poll(), select() and pselect() (POSIX.1-2017) over sockets and ordinary WASI descriptors together, running the stack while they wait. */
#define _POSIX_C_SOURCE 200809L

#include "posix.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/select.h>
#include <time.h>

/* What an ordinary descriptor is, for poll: files and directories are always ready (POSIX),
 * others are watched with poll_oneoff. Returns revents now (0: must be watched), or
 * POLLNVAL. */
static int ordinary_now(int fd, int events)
{
    __wasi_fdstat_t st;
    if (__wasi_fd_fdstat_get((__wasi_fd_t)fd, &st) != 0)
        return POLLNVAL;
    if (st.fs_filetype == __WASI_FILETYPE_REGULAR_FILE || st.fs_filetype == __WASI_FILETYPE_DIRECTORY)
        return events & (POLLIN | POLLOUT);
    return 0;
}

/* revents of fds[i] without waiting, or 0 when it needs watching (*watch set). */
static int revents_now(struct pollfd *p, int *watch)
{
    *watch = 0;
    if (p->fd < 0)
        return 0;
    px_sock *s = px_sock_get(p->fd);
    if (s)
        return px_sock_revents(s) & (p->events | POLLERR | POLLHUP);
    if (px_is_link_fd(p->fd) || px_fd_closed(p->fd))
        return POLLNVAL;
    if (px_stdio_link() && (p->fd == 0 || p->fd == 1)) /* its stdin is empty, its stdout stderr */
        return p->events & (p->fd == 0 ? POLLIN : POLLOUT);
    int r = ordinary_now(p->fd, p->events);
    if (r == 0 && (p->events & (POLLIN | POLLOUT)))
        *watch = 1;
    return r;
}

/* Waits on the ordinary descriptors given (and the link) until the deadline; merges their
 * events into fds. Returns how many fds got events, or -1 when an alarm interrupted it. */
static int wait_ordinary(struct pollfd *fds, nfds_t n, const int *watch, int nwatch,
                         uint64_t deadline)
{
    size_t cap = 2 * (size_t)nwatch + 1;
    __wasi_subscription_t *subs = malloc(cap * sizeof *subs);
    __wasi_event_t *evs = malloc((cap + 2) * sizeof *evs);
    if (!subs || !evs) {
        free(subs);
        free(evs);
        return 0;
    }
    size_t ns = 0;
    for (nfds_t i = 0; i < n; i++) {
        if (!watch[i])
            continue;
        if (fds[i].events & POLLIN) {
            subs[ns] = (__wasi_subscription_t){.userdata = i, .u.tag = __WASI_EVENTTYPE_FD_READ};
            subs[ns++].u.u.fd_read.file_descriptor = (__wasi_fd_t)fds[i].fd;
        }
        if (fds[i].events & POLLOUT) {
            subs[ns] = (__wasi_subscription_t){.userdata = i, .u.tag = __WASI_EVENTTYPE_FD_WRITE};
            subs[ns++].u.u.fd_write.file_descriptor = (__wasi_fd_t)fds[i].fd;
        }
    }
    size_t nev = 0;
    int interrupted = 0;
    if (px.ready) {
        interrupted = px_pump(deadline, subs, ns, evs, &nev);
    } else if (ns && !(interrupted = px_alarm_due(&deadline))) { /* no stack yet: a plain wait */
        size_t na = ns;
        uint64_t now = px_now_ns();
        if (ns > 1 && now + PX_MULTI_FD_SLICE_NS < deadline) /* several descriptors: posix.h */
            deadline = now + PX_MULTI_FD_SLICE_NS;
        if (deadline != UINT64_MAX) {
            subs[na] = (__wasi_subscription_t){.userdata = UINT64_MAX, .u.tag = __WASI_EVENTTYPE_CLOCK};
            subs[na].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
            subs[na].u.u.clock.timeout = deadline > now ? deadline - now : 0;
            subs[na++].u.u.clock.precision = 1000;
        }
        __wasi_size_t got = 0;
        if (__wasi_poll_oneoff(subs, evs, (__wasi_size_t)na, &got) == 0)
            for (__wasi_size_t i = 0; i < got; i++)
                if (evs[i].userdata != UINT64_MAX)
                    evs[nev++] = evs[i];
    }
    int count = 0;
    for (size_t i = 0; i < nev; i++) {
        struct pollfd *p = &fds[evs[i].userdata];
        int before = p->revents;
        if (evs[i].error)
            p->revents |= evs[i].error == __WASI_ERRNO_BADF ? POLLNVAL : POLLERR;
        else if (evs[i].type == __WASI_EVENTTYPE_FD_READ)
            p->revents |= POLLIN;
        else if (evs[i].type == __WASI_EVENTTYPE_FD_WRITE)
            p->revents |= POLLOUT;
        if (evs[i].fd_readwrite.flags & __WASI_EVENTRWFLAGS_FD_READWRITE_HANGUP)
            p->revents |= POLLHUP;
        if (!before && p->revents)
            count++;
    }
    free(subs);
    free(evs);
    if (!interrupted && !px.ready)
        interrupted = px_alarm_due(NULL);
    return interrupted ? -1 : count;
}

/* poll with a deadline in ns (UINT64_MAX: none). */
static int poll_until(struct pollfd *fds, nfds_t n, uint64_t deadline)
{
    int *watch = n ? calloc(n, sizeof *watch) : NULL;
    if (n && !watch) {
        errno = ENOMEM;
        return -1;
    }
    int count;
    for (;;) {
        count = 0;
        int nwatch = 0;
        for (nfds_t i = 0; i < n; i++) {
            fds[i].revents = (short)revents_now(&fds[i], &watch[i]);
            nwatch += watch[i];
            if (fds[i].revents)
                count++;
        }
        uint64_t now = px_now_ns();
        if (count || now >= deadline) {
            int more = nwatch ? wait_ordinary(fds, n, watch, nwatch, 0) : 0;
            if (more > 0) /* the ordinary ones that are ready too */
                count += more;
            break;
        }
        if (!px.ready && !nwatch) { /* nothing to watch: sleep (an alarm ends it: EINTR) */
            struct timespec ts = {.tv_sec = (time_t)((deadline - now) / 1000000000u),
                                  .tv_nsec = (long)((deadline - now) % 1000000000u)};
            if (nanosleep(&ts, NULL) < 0) {
                count = -1;
                break;
            }
            continue;
        }
        count = wait_ordinary(fds, n, watch, nwatch, deadline);
        if (count < 0) {
            errno = EINTR;
            break;
        }
        if (count) {
            /* sockets may have become ready in the same turn */
            for (nfds_t i = 0; i < n; i++) {
                if (!watch[i] && fds[i].fd >= 0) {
                    int w;
                    int r = revents_now(&fds[i], &w);
                    if (r && !fds[i].revents)
                        count++;
                    fds[i].revents = (short)(fds[i].revents | r);
                }
            }
            break;
        }
    }
    free(watch);
    return count;
}

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    if (n && !fds) {
        errno = EFAULT;
        return -1;
    }
    if (n > 1048576) {
        errno = EINVAL;
        return -1;
    }
    uint64_t deadline = timeout < 0 ? UINT64_MAX : px_now_ns() + (uint64_t)timeout * 1000000u;
    return poll_until(fds, n, deadline);
}

/* select and pselect: the sets (wasi-libc's fd_set is a list of descriptors) become a
 * pollfd array, and poll's answer the sets. */
static int select_until(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, uint64_t deadline)
{
    if (nfds < 0 || nfds > FD_SETSIZE * 16) {
        errno = EINVAL;
        return -1;
    }
    fd_set *sets[3] = {rd, wr, ex};
    size_t total = 0;
    for (int k = 0; k < 3; k++)
        if (sets[k])
            total += sets[k]->__nfds;
    struct pollfd *p = total ? calloc(total, sizeof *p) : NULL;
    if (total && !p) {
        errno = ENOMEM;
        return -1;
    }
    nfds_t n = 0;
    for (int k = 0; k < 3; k++) {
        if (!sets[k])
            continue;
        for (size_t i = 0; i < sets[k]->__nfds; i++) {
            int fd = sets[k]->__fds[i];
            if (fd < 0 || fd >= nfds)
                continue;
            nfds_t j = 0;
            while (j < n && p[j].fd != fd)
                j++;
            if (j == n)
                p[n++] = (struct pollfd){.fd = fd};
            p[j].events |= (short)(k == 0 ? POLLIN : k == 1 ? POLLOUT : 0);
        }
    }
    int r = poll_until(p, n, deadline);
    if (r < 0) {
        free(p);
        return -1;
    }
    for (nfds_t j = 0; j < n; j++) {
        if (p[j].revents & POLLNVAL) {
            free(p);
            errno = EBADF;
            return -1;
        }
    }
    int count = 0;
    for (int k = 0; k < 3; k++) {
        if (!sets[k])
            continue;
        size_t keep = 0;
        for (size_t i = 0; i < sets[k]->__nfds; i++) {
            int fd = sets[k]->__fds[i];
            nfds_t j = 0;
            while (j < n && p[j].fd != fd)
                j++;
            short re = j < n ? p[j].revents : 0;
            int ready = k == 0   ? (re & (POLLIN | POLLHUP | POLLERR)) != 0
                        : k == 1 ? (re & (POLLOUT | POLLERR)) != 0
                                 : 0;
            if (ready)
                sets[k]->__fds[keep++] = fd;
        }
        sets[k]->__nfds = keep;
        count += (int)keep;
    }
    free(p);
    return count;
}

int select(int nfds, fd_set *restrict rd, fd_set *restrict wr, fd_set *restrict ex,
           struct timeval *restrict tv)
{
    uint64_t deadline = UINT64_MAX;
    if (tv) {
        if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000) {
            errno = EINVAL;
            return -1;
        }
        deadline = px_now_ns() + (uint64_t)tv->tv_sec * 1000000000u + (uint64_t)tv->tv_usec * 1000u;
    }
    return select_until(nfds, rd, wr, ex, deadline);
}

int pselect(int nfds, fd_set *restrict rd, fd_set *restrict wr, fd_set *restrict ex,
            const struct timespec *restrict ts, const sigset_t *restrict mask)
{
    (void)mask; /* WASI has no signals */
    uint64_t deadline = UINT64_MAX;
    if (ts) {
        if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000) {
            errno = EINVAL;
            return -1;
        }
        deadline = px_now_ns() + (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
    }
    return select_until(nfds, rd, wr, ex, deadline);
}
