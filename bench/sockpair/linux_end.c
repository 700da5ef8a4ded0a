/* linux_end.c: the reference ends on Linux's own TCP over loopback (127.0.0.1): 64-byte
 * request/response and connection rate, the same loops as the stacks' ends. */
#define _GNU_SOURCE
#include "linux_end.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int full_read(int fd, uint8_t *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, p + got, n - got);
        if (k <= 0)
            return (int)got;
        got += (size_t)k;
    }
    return (int)got;
}

int linux_listen(uint16_t *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1024) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) < 0) {
        perror("linux listen");
        return -1;
    }
    *port = ntohs(a.sin_port);
    return s;
}

static int linux_connect(uint16_t port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("linux connect");
        close(s);
        return -1;
    }
    return s;
}

int linux_end_main(const bench_opts *o, int lsock, uint16_t port)
{
    bench_result r;
    memset(&r, 0, sizeof r);
    r.drops = r.drops_oow = r.retransmits = RESULT_UNKNOWN;
    uint8_t buf[RR_SIZE];
    int one = 1;
    end_ready(o);
    if (o->role == ROLE_SERVER) {
        for (;;) { /* until the driver stops this process (conn) or the one stream ends (rr) */
            int c = accept(lsock, NULL, NULL);
            if (c < 0)
                break;
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            ssize_t k;
            while ((k = read(c, buf, sizeof buf)) > 0)
                if (write(c, buf, (size_t)k) != k)
                    break;
            close(c);
            r.count++;
            if (o->bcase == CASE_RR)
                break;
        }
    } else if (o->bcase == CASE_RR) {
        int s = linux_connect(port);
        if (s < 0)
            return 1;
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        double t0 = now_ms_f(), t = t0;
        uint64_t off = 0;
        while (t - t0 < o->seconds * 1000) {
            if (write(s, pattern_at(off), RR_SIZE) != RR_SIZE || full_read(s, buf, RR_SIZE) != RR_SIZE) {
                r.failed = 1;
                break;
            }
            if (!pattern_check(off, buf, RR_SIZE))
                r.bad_bytes += RR_SIZE;
            off += RR_SIZE;
            r.count++;
            t = now_ms_f();
        }
        r.count_ms = t - t0;
        r.rx_bytes = r.tx_bytes = off;
        close(s);
    } else {
        double t0 = now_ms_f(), t = t0;
        while (r.count < o->conns && t - t0 < o->seconds * 1000) {
            int s = linux_connect(port);
            if (s < 0) {
                r.failed = 1;
                break;
            }
            close(s);
            r.count++;
            t = now_ms_f();
        }
        r.count_ms = t - t0;
    }
    result_write(o->result_fd, &r);
    return r.failed;
}
