/* errors.c: the errno of socket calls with bad arguments, one line per check ("name: ENAME" or "name: ok"), then "# unsupported" calls: errors [HOST PORT] (a TCP peer that accepts and stays silent). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define NEVER_OPENED 900 /* a descriptor number nothing here opens */

static const struct {
    int value;
    const char *name;
} names[] = {
    /* where two names share a value (EAGAIN/EWOULDBLOCK, EOPNOTSUPP/ENOTSUP), the first wins */
    {EAGAIN, "EAGAIN"}, {EWOULDBLOCK, "EWOULDBLOCK"}, {EOPNOTSUPP, "EOPNOTSUPP"}, {ENOTSUP, "ENOTSUP"},
    {EBADF, "EBADF"}, {ENOTSOCK, "ENOTSOCK"}, {EINVAL, "EINVAL"}, {EFAULT, "EFAULT"},
    {EAFNOSUPPORT, "EAFNOSUPPORT"}, {EPROTONOSUPPORT, "EPROTONOSUPPORT"}, {EPROTOTYPE, "EPROTOTYPE"},
    {ENOPROTOOPT, "ENOPROTOOPT"}, {EADDRINUSE, "EADDRINUSE"}, {EADDRNOTAVAIL, "EADDRNOTAVAIL"},
    {EISCONN, "EISCONN"}, {ENOTCONN, "ENOTCONN"}, {EPIPE, "EPIPE"}, {EDESTADDRREQ, "EDESTADDRREQ"},
    {ECONNREFUSED, "ECONNREFUSED"}, {ECONNRESET, "ECONNRESET"}, {ETIMEDOUT, "ETIMEDOUT"},
    {EINPROGRESS, "EINPROGRESS"}, {EALREADY, "EALREADY"}, {EDOM, "EDOM"}, {ENOSYS, "ENOSYS"},
    {ENOTTY, "ENOTTY"}, {EPERM, "EPERM"}, {EACCES, "EACCES"}, {ENOENT, "ENOENT"}, {EMSGSIZE, "EMSGSIZE"},
    {ENOBUFS, "ENOBUFS"}, {ENOMEM, "ENOMEM"}, {EMFILE, "EMFILE"}, {ENETUNREACH, "ENETUNREACH"},
    {EHOSTUNREACH, "EHOSTUNREACH"}, {EINTR, "EINTR"}, {EIO, "EIO"}, {ESPIPE, "ESPIPE"},
};

static const char *errname(int e)
{
    static char other[32];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].value == e)
            return names[i].name;
    snprintf(other, sizeof other, "errno %d", e);
    return other;
}

static void check(const char *name, long rc)
{
    int e = errno;
    if (rc >= 0)
        printf("%s: ok\n", name);
    else
        printf("%s: %s\n", name, errname(e));
}

static struct sockaddr_in addr_of(const char *ip, int port)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    inet_pton(AF_INET, ip, &sa.sin_addr);
    return sa;
}

#define SA(p) ((struct sockaddr *)(p))

/* a TCP socket connected to the peer, or -1 */
static int connected(const struct sockaddr_in *peer)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, SA(peer), sizeof *peer) == 0)
        return fd;
    fprintf(stderr, "errors: connect to the peer: %s\n", strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

int main(int argc, char **argv)
{
    if (argc != 1 && argc != 3) {
        fprintf(stderr, "usage: errors [HOST PORT]\n");
        return 2;
    }
    char buf[64] = "x";
    int one = 1, v = 0;
    socklen_t len;
    struct sockaddr_in any = addr_of("0.0.0.0", 0), sa;

    /* ---- descriptors that are not (or no longer) sockets */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    close(fd);
    check("close closed socket", close(fd));
    check("send closed socket", send(fd, buf, 1, MSG_NOSIGNAL));
    check("recv closed socket", recv(fd, buf, 1, 0));
    check("read closed socket", read(fd, buf, 1));
    check("write closed socket", write(fd, buf, 1));
    check("fcntl closed socket", fcntl(fd, F_GETFL, 0));
    check("ioctl FIONREAD closed socket", ioctl(fd, FIONREAD, &v));
    check("close never opened", close(NEVER_OPENED));
    check("send never opened", send(NEVER_OPENED, buf, 1, MSG_NOSIGNAL));
    check("recv never opened", recv(NEVER_OPENED, buf, 1, 0));
    check("connect never opened", connect(NEVER_OPENED, SA(&any), sizeof any));
    check("getsockopt never opened", (len = sizeof v, getsockopt(NEVER_OPENED, SOL_SOCKET, SO_ERROR, &v, &len)));
    {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, 0);
        printf("poll closed socket: %d%s\n", n, n == 1 && (p.revents & POLLNVAL) ? " POLLNVAL" : "");
        fd_set r;
        FD_ZERO(&r);
        FD_SET(fd, &r);
        struct timeval tv = {0, 0};
        check("select closed socket", select(fd + 1, &r, NULL, NULL, &tv));
    }
    int file = STDERR_FILENO; /* an ordinary descriptor */
    check("bind on stderr", bind(file, SA(&any), sizeof any));
    check("listen on stderr", listen(file, 1));
    check("accept on stderr", accept(file, NULL, NULL));
    check("connect on stderr", connect(file, SA(&any), sizeof any));
    check("send on stderr", send(file, buf, 1, MSG_NOSIGNAL));
    check("recv on stderr", recv(file, buf, 1, MSG_DONTWAIT));
    check("shutdown on stderr", shutdown(file, SHUT_RDWR));
    check("getsockopt on stderr", (len = sizeof v, getsockopt(file, SOL_SOCKET, SO_ERROR, &v, &len)));
    check("setsockopt on stderr", setsockopt(file, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
    check("getsockname on stderr", (len = sizeof sa, getsockname(file, SA(&sa), &len)));

    /* ---- socket() */
    check("socket type 99", fd = socket(AF_INET, 99, 0));
    check("socket family 12345", fd = socket(12345, SOCK_STREAM, 0));
    check("socket stream with IPPROTO_UDP", fd = socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
    check("socket dgram with IPPROTO_TCP", fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
    {
        int a = socket(AF_INET, SOCK_STREAM, 0);
        close(a);
        int b = socket(AF_INET, SOCK_DGRAM, 0);
        printf("socket reuses the lowest free descriptor: %s\n", a >= 0 && a == b ? "ok" : "no");
        close(b);
    }

    /* ---- bind, listen, accept, connect on unconnected TCP */
    int t = socket(AF_INET, SOCK_STREAM, 0);
    check("bind short addrlen", bind(t, SA(&any), sizeof any - 1));
    check("bind NULL address", bind(t, NULL, sizeof any));
    sa = any;
    sa.sin_family = AF_INET6;
    check("bind family AF_INET6 in sockaddr_in", bind(t, SA(&sa), sizeof sa));
    sa = addr_of("192.0.2.1", 0);
    check("bind non-local address", bind(t, SA(&sa), sizeof sa));
    check("getpeername unconnected", (len = sizeof sa, getpeername(t, SA(&sa), &len)));
    check("recv unconnected", recv(t, buf, 1, 0));
    check("send unconnected", send(t, buf, 1, MSG_NOSIGNAL));
    check("shutdown unconnected", shutdown(t, SHUT_WR));
    check("shutdown how 99", shutdown(t, 99));
    check("accept not listening", accept(t, NULL, NULL));
    check("connect short addrlen", connect(t, SA(&any), sizeof any - 1));
    check("connect NULL address", connect(t, NULL, sizeof any));
    check("SO_ERROR fresh", (len = sizeof v, getsockopt(t, SOL_SOCKET, SO_ERROR, &v, &len)));
    printf("SO_ERROR fresh value: %d\n", v);
    check("bind", bind(t, SA(&any), sizeof any));
    check("bind twice", bind(t, SA(&any), sizeof any));
    len = sizeof sa;
    getsockname(t, SA(&sa), &len);
    int port = ntohs(sa.sin_port);
    printf("getsockname after bind to port 0: %s\n", port > 0 ? "a port" : "none");
    int t2 = socket(AF_INET, SOCK_STREAM, 0);
    sa = addr_of("0.0.0.0", port);
    check("bind address in use", bind(t2, SA(&sa), sizeof sa));
    close(t2);
    check("listen", listen(t, 4));
    check("listen again", listen(t, 8));
    check("recv on listener", recv(t, buf, 1, MSG_DONTWAIT));
    check("send on listener", send(t, buf, 1, MSG_NOSIGNAL));
    sa = addr_of("127.0.0.1", 9);
    check("connect on listener", connect(t, SA(&sa), sizeof sa));
    fcntl(t, F_SETFL, fcntl(t, F_GETFL, 0) | O_NONBLOCK);
    check("accept non-blocking, none pending", accept(t, NULL, NULL));
    close(t);
    t = socket(AF_INET, SOCK_STREAM, 0);
    check("connect to 127.0.0.1, nothing listening", connect(t, SA(&sa), sizeof sa));
    close(t);

    /* ---- options */
    t = socket(AF_INET, SOCK_STREAM, 0);
    check("getsockopt unknown option", (len = sizeof v, getsockopt(t, SOL_SOCKET, 12345, &v, &len)));
    check("setsockopt unknown option", setsockopt(t, SOL_SOCKET, 12345, &one, sizeof one));
    check("getsockopt unknown TCP option", (len = sizeof v, getsockopt(t, IPPROTO_TCP, 12345, &v, &len)));
    check("setsockopt short optlen", setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, 1));
    check("setsockopt TCP_NODELAY short optlen", setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, 1));
    check("setsockopt NULL optval", setsockopt(t, SOL_SOCKET, SO_REUSEADDR, NULL, sizeof one));
    check("getsockopt NULL optlen", getsockopt(t, SOL_SOCKET, SO_ERROR, &v, NULL));
    len = 2;
    v = -1;
    check("getsockopt SO_ERROR optlen 2", getsockopt(t, SOL_SOCKET, SO_ERROR, &v, &len));
    printf("getsockopt SO_ERROR optlen 2 gives optlen: %d\n", (int)len);
    check("getsockopt negative optlen", (len = (socklen_t)-1, getsockopt(t, SOL_SOCKET, SO_ERROR, &v, &len)));
    {
        struct timeval tv = {.tv_sec = 0, .tv_usec = 2000000};
        check("SO_RCVTIMEO tv_usec 2000000", setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
        tv.tv_usec = 0;
        check("SO_RCVTIMEO short optlen", setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv - 1));
        struct linger lg = {1, 0};
        check("SO_LINGER short optlen", setsockopt(t, SOL_SOCKET, SO_LINGER, &lg, sizeof lg - 1));
    }
    check("SO_KEEPALIVE", setsockopt(t, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one));
    check("TCP_NODELAY", setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
    len = sizeof v;
    v = 0;
    getsockopt(t, IPPROTO_TCP, TCP_NODELAY, &v, &len);
    printf("TCP_NODELAY reads back: %s, optlen %d\n", v ? "set" : "clear", (int)len);
    close(t);

    /* ---- UDP */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    check("listen on UDP", listen(u, 1));
    check("accept on UDP", accept(u, NULL, NULL));
    check("setsockopt TCP_NODELAY on UDP", setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
    check("sendto without address", sendto(u, buf, 1, 0, NULL, 0));
    sa = addr_of(argc == 3 ? argv[1] : "127.0.0.1", 9);
    check("sendto short addrlen", sendto(u, buf, 1, 0, SA(&sa), sizeof sa - 1));
    check("sendto NULL buffer", sendto(u, NULL, 10, 0, SA(&sa), sizeof sa));
    check("connect UDP short addrlen", connect(u, SA(&sa), sizeof sa - 1));
    check("recv MSG_DONTWAIT nothing queued", recv(u, buf, sizeof buf, MSG_DONTWAIT));
    close(u);
    u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    check("recvfrom SOCK_NONBLOCK nothing queued", recvfrom(u, buf, sizeof buf, 0, NULL, NULL));
    close(u);

    /* ---- address conversion */
    struct in_addr ia;
    printf("inet_pton \"1.2.3\": %d\n", inet_pton(AF_INET, "1.2.3", &ia));
    printf("inet_pton \"256.1.1.1\": %d\n", inet_pton(AF_INET, "256.1.1.1", &ia));
    check("inet_pton family 12345", inet_pton(12345, "1.2.3.4", &ia));

    /* ---- against a peer: connected sockets */
    int c = -1;
    struct sockaddr_in peer;
    if (argc == 3) {
        peer = addr_of(argv[1], atoi(argv[2]));
        c = connected(&peer);
    }
    if (c >= 0) {
        check("connect when connected", connect(c, SA(&peer), sizeof peer));
        check("listen when connected", listen(c, 1));
        check("bind when connected", bind(c, SA(&any), sizeof any));
        check("recv MSG_DONTWAIT nothing sent", recv(c, buf, 1, MSG_DONTWAIT));
        check("shutdown SHUT_WR", shutdown(c, SHUT_WR));
        check("send after SHUT_WR", send(c, buf, 1, MSG_NOSIGNAL));
        check("close", close(c));
        c = connected(&peer);
    }

    /* ---- what the layer does not support (Linux does) */
    printf("# unsupported\n");
    check("socket AF_INET6 stream", fd = socket(AF_INET6, SOCK_STREAM, 0));
    if (fd >= 0)
        close(fd);
    check("socket AF_INET6 dgram", fd = socket(AF_INET6, SOCK_DGRAM, 0));
    if (fd >= 0)
        close(fd);
    check("socket AF_UNIX stream", fd = socket(AF_UNIX, SOCK_STREAM, 0));
    if (fd >= 0)
        close(fd);
#ifdef MSG_OOB
    if (c >= 0)
        check("send MSG_OOB", send(c, buf, 1, MSG_OOB | MSG_NOSIGNAL));
#else
    printf("send MSG_OOB: MSG_OOB is not defined\n");
#endif
    if (c >= 0)
        close(c);
    fflush(stdout);
    return 0;
}
