/* compat.c: what real socket programs link against beyond the socket calls (wasi-libc lacks them): realpath, gethostname, res_init and _res, if_nametoindex and getifaddrs, sendfile, and sleeps that keep the stack running. */
#define _DEFAULT_SOURCE 1 /* realpath, usleep (musl's features.h: _BSD_SOURCE) */

#include "posix.h"

#include "../link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- realpath */

/*
 * POSIX realpath over the runtime's preopens: relative paths start at getcwd() (wasi-libc's
 * emulated working directory, "/" at first), `.` and `..` are resolved lexically, every
 * component must exist (lstat), and symbolic links are followed (readlink; ELOOP after 40).
 * A path no preopen covers (ENOTCAPABLE from wasi-libc) does not exist for the program:
 * ENOENT. resolved NULL: the result is malloc()ed.
 */
#define SYMLINK_MAX_HOPS 40

/* Drops the last component of out ("/a/b" -> "/a", "/a" -> "/"). */
static void path_pop(char *out, size_t *olen)
{
    while (*olen > 1 && out[*olen - 1] != '/')
        (*olen)--;
    if (*olen > 1)
        (*olen)--;
    out[*olen] = '\0';
}

char *realpath(const char *restrict path, char *restrict resolved)
{
    char rest[PATH_MAX], out[PATH_MAX], link[PATH_MAX];
    size_t olen, hops = 0;
    if (!path) {
        errno = EINVAL;
        return NULL;
    }
    if (!*path) {
        errno = ENOENT;
        return NULL;
    }
    if (strlen(path) >= sizeof rest) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    strcpy(rest, path);
    if (rest[0] == '/') {
        strcpy(out, "/");
    } else if (!getcwd(out, sizeof out)) {
        return NULL;
    }
    olen = strlen(out);
    size_t p = 0;
    for (;;) {
        while (rest[p] == '/')
            p++;
        if (!rest[p])
            break;
        size_t start = p;
        while (rest[p] && rest[p] != '/')
            p++;
        size_t clen = p - start;
        if (clen == 1 && rest[start] == '.')
            continue;
        if (clen == 2 && rest[start] == '.' && rest[start + 1] == '.') {
            path_pop(out, &olen);
            continue;
        }
        size_t sep = olen > 1 ? 1 : 0;
        if (olen + sep + clen >= sizeof out) {
            errno = ENAMETOOLONG;
            return NULL;
        }
        if (sep)
            out[olen++] = '/';
        memcpy(out + olen, rest + start, clen);
        olen += clen;
        out[olen] = '\0';
        struct stat st;
        if (lstat(out, &st) < 0) {
            if (errno == ENOTCAPABLE)
                errno = ENOENT;
            return NULL;
        }
        if (S_ISLNK(st.st_mode)) {
            if (++hops > SYMLINK_MAX_HOPS) {
                errno = ELOOP;
                return NULL;
            }
            ssize_t n = readlink(out, link, sizeof link - 1);
            if (n < 0)
                return NULL;
            link[n] = '\0';
            size_t tail = strlen(rest + p); /* "" or "/..." */
            if ((size_t)n + tail >= sizeof rest) {
                errno = ENAMETOOLONG;
                return NULL;
            }
            /* rest becomes the link's target followed by what was left of the path */
            memmove(rest + n, rest + p, tail + 1);
            memcpy(rest, link, (size_t)n);
            p = 0;
            if (link[0] == '/') {
                strcpy(out, "/");
                olen = 1;
            } else {
                path_pop(out, &olen);
            }
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            size_t q = p;
            while (rest[q] == '/')
                q++;
            if (rest[q] || rest[p] == '/') { /* "file/..." or "file/" */
                errno = ENOTDIR;
                return NULL;
            }
        }
    }
    if (!resolved)
        return strdup(out);
    memcpy(resolved, out, olen + 1);
    return resolved;
}

/* ---------------------------------------------------------------- names */

/* $WTCP_HOSTNAME when set and not empty, else "localhost" (a name the layer resolves; wasi-libc's
 * uname() says "(none)", which resolves nowhere); ENAMETOOLONG when len is short, as glibc. */
int gethostname(char *name, size_t len)
{
    const char *h = getenv("WTCP_HOSTNAME");
    if (!h || !*h)
        h = "localhost";
    size_t n = strlen(h);
    if (!name || n + 1 > len) {
        errno = name ? ENAMETOOLONG : EFAULT;
        return -1;
    }
    memcpy(name, h, n + 1);
    return 0;
}

/* The resolver is configured from the environment (WTCP_DNS, WTCP_HOSTS) at each lookup:
 * _res is only there for programs that set its options, which change nothing. */
static struct __res_state res_state_one;
static int res_state_ready;

struct __res_state *__res_state(void)
{
    if (!res_state_ready)
        res_init();
    return &res_state_one;
}

int res_init(void)
{
    memset(&res_state_one, 0, sizeof res_state_one);
    res_state_one.retrans = RES_TIMEOUT;
    res_state_one.retry = RES_DFLRETRY;
    res_state_one.options = RES_INIT | RES_DEFAULT;
    res_state_one.ndots = 1;
    res_state_ready = 1;
    return 0;
}

/* ---------------------------------------------------------------- interfaces */

/* The layer has one interface, the link: "eth0", index 1, with WTCP_ADDR/WTCP_PREFIX. The
 * stack has no loopback interface, so there is no "lo". */
#define IF_LINK_NAME "eth0"
#define IF_LINK_INDEX 1u

unsigned int if_nametoindex(const char *name)
{
    if (name && strcmp(name, IF_LINK_NAME) == 0)
        return IF_LINK_INDEX;
    errno = ENODEV;
    return 0;
}

char *if_indextoname(unsigned int index, char *name)
{
    if (index != IF_LINK_INDEX || !name) {
        errno = ENXIO;
        return NULL;
    }
    return strcpy(name, IF_LINK_NAME);
}

struct if_nameindex *if_nameindex(void)
{
    struct {
        struct if_nameindex ni[2];
        char name[IF_NAMESIZE];
    } *r = calloc(1, sizeof *r);
    if (!r) {
        errno = ENOBUFS;
        return NULL;
    }
    strcpy(r->name, IF_LINK_NAME);
    r->ni[0].if_index = IF_LINK_INDEX;
    r->ni[0].if_name = r->name;
    return r->ni; /* ni[1] is the {0, NULL} end */
}

void if_freenameindex(struct if_nameindex *ni) { free(ni); }

static void sin_set(struct sockaddr_in *sin, uint32_t addr)
{
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(addr);
}

/* One entry (the link's address, netmask and broadcast address), in one allocation. */
int getifaddrs(struct ifaddrs **out)
{
    if (!out) {
        errno = EFAULT;
        return -1;
    }
    link_settings ls;
    if (link_settings_read(&ls, "wtcp") < 0) {
        errno = ENETDOWN;
        return -1;
    }
    struct {
        struct ifaddrs ifa;
        struct sockaddr_in addr, mask, bcast;
        char name[IF_NAMESIZE];
    } *r = calloc(1, sizeof *r);
    if (!r) {
        errno = ENOMEM;
        return -1;
    }
    uint32_t mask = ls.prefix ? ~(uint32_t)0 << (32 - ls.prefix) : 0;
    strcpy(r->name, IF_LINK_NAME);
    sin_set(&r->addr, ls.addr);
    sin_set(&r->mask, mask);
    sin_set(&r->bcast, ls.addr | ~mask);
    r->ifa.ifa_name = r->name;
    r->ifa.ifa_flags = IFF_UP | IFF_RUNNING | IFF_BROADCAST;
    r->ifa.ifa_addr = (struct sockaddr *)&r->addr;
    r->ifa.ifa_netmask = (struct sockaddr *)&r->mask;
    r->ifa.ifa_broadaddr = (struct sockaddr *)&r->bcast;
    *out = &r->ifa;
    return 0;
}

void freeifaddrs(struct ifaddrs *ifa) { free(ifa); }

/* ---------------------------------------------------------------- sendfile */

/* Linux's sendfile: up to count bytes from in_fd (at *offset with pread, which leaves its
 * position alone, or from its position) written to out_fd. Returns the bytes written; a
 * short write stops it (with in_fd's position or *offset just past what was written). */
ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    char buf[16384];
    size_t done = 0;
    off_t pos = offset ? *offset : 0;
    if (offset && pos < 0) {
        errno = EINVAL;
        return -1;
    }
    if (count > SSIZE_MAX)
        count = SSIZE_MAX;
    while (done < count) {
        size_t want = count - done < sizeof buf ? count - done : sizeof buf;
        ssize_t r = offset ? pread(in_fd, buf, want, pos) : read(in_fd, buf, want);
        if (r < 0) {
            if (done)
                break;
            return -1;
        }
        if (r == 0)
            break;
        ssize_t w = write(out_fd, buf, (size_t)r);
        if (w < 0) {
            int e = errno;
            if (!offset)
                (void)(lseek)(in_fd, -(off_t)r, SEEK_CUR);
            if (done)
                break;
            errno = e;
            return -1;
        }
        done += (size_t)w;
        if (offset)
            pos += w;
        if (w < r) {
            if (!offset)
                (void)(lseek)(in_fd, -(off_t)(r - w), SEEK_CUR);
            break;
        }
    }
    if (offset)
        *offset = pos;
    return (ssize_t)done;
}

/* ---------------------------------------------------------------- sleeping */

/* Once the stack runs, a sleep goes on running it (ACKs, retransmissions, connections
 * arriving in the backlog), as the kernel would; before, it is the runtime's sleep. An
 * alarm() that falls due ends it with EINTR. */
int nanosleep(const struct timespec *req, struct timespec *rem)
{
    if (!req || req->tv_nsec < 0 || req->tv_nsec >= 1000000000L || req->tv_sec < 0) {
        errno = EINVAL;
        return -1;
    }
    uint64_t ns = (uint64_t)req->tv_sec * 1000000000u + (uint64_t)req->tv_nsec;
    uint64_t now = px_now_ns();
    uint64_t deadline = ns > UINT64_MAX - now ? UINT64_MAX - 1 : now + ns;
    for (;;) {
        now = px_now_ns();
        if (now >= deadline)
            break;
        int interrupted;
        if (!px.ready || px.failed) {
            uint64_t until = deadline;
            if (!(interrupted = px_alarm_due(&until))) {
                struct timespec t = {.tv_sec = (time_t)((until - now) / 1000000000u),
                                     .tv_nsec = (long)((until - now) % 1000000000u)};
                int e = clock_nanosleep(CLOCK_MONOTONIC, 0, &t, NULL);
                if (e) {
                    errno = e;
                    return -1;
                }
                interrupted = px_alarm_due(NULL);
            }
        } else {
            interrupted = px_pump(deadline, NULL, 0, NULL, NULL);
        }
        if (interrupted) { /* an alarm: EINTR with what was left, as POSIX */
            now = px_now_ns();
            if (rem) {
                uint64_t left = deadline > now ? deadline - now : 0;
                rem->tv_sec = (time_t)(left / 1000000000u);
                rem->tv_nsec = (long)(left % 1000000000u);
            }
            errno = EINTR;
            return -1;
        }
    }
    if (rem)
        rem->tv_sec = rem->tv_nsec = 0;
    return 0;
}

unsigned sleep(unsigned seconds)
{
    struct timespec ts = {.tv_sec = (time_t)seconds, .tv_nsec = 0}, rem;
    if (nanosleep(&ts, &rem) == 0)
        return 0;
    return (unsigned)rem.tv_sec + (rem.tv_nsec > 0); /* what was left (after an alarm) */
}

int usleep(unsigned usec)
{
    struct timespec ts = {.tv_sec = (time_t)(usec / 1000000u), .tv_nsec = (long)(usec % 1000000u) * 1000};
    return nanosleep(&ts, NULL);
}
