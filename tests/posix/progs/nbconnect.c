/* nbconnect.c: a non-blocking connect with poll() for POLLOUT, then SO_ERROR and getpeername: nbconnect HOST PORT TIMEOUT_MS [USER_TIMEOUT_MS]. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int verdict(int err)
{
    if (err == 0) {
        printf("connected\n");
        return 0;
    }
    if (err == ECONNREFUSED)
        printf("refused\n");
    else if (err == ETIMEDOUT)
        printf("timed out\n");
    else
        printf("error: %s\n", strerror(err));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: nbconnect HOST PORT TIMEOUT_MS [USER_TIMEOUT_MS]\n");
        return 2;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "nbconnect: %s: not an IPv4 address\n", argv[1]);
        return 2;
    }
    int timeout_ms = atoi(argv[3]);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("nbconnect: socket");
        return 1;
    }
    if (argc == 5) { /* the stack gives up on the SYNs itself: SO_ERROR says ETIMEDOUT */
        unsigned int ut = (unsigned int)atoi(argv[4]);
        if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof ut) < 0) {
            perror("nbconnect: setsockopt TCP_USER_TIMEOUT");
            return 1;
        }
    }
    int fl = fcntl(fd, F_GETFL, 0);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        perror("nbconnect: fcntl");
        return 1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return verdict(0);
    if (errno != EINPROGRESS)
        return verdict(errno);

    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int n = poll(&p, 1, timeout_ms);
    if (n < 0) {
        perror("nbconnect: poll");
        return 1;
    }
    if (n == 0) {
        printf("timeout\n");
        close(fd);
        return 1;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
        perror("nbconnect: getsockopt SO_ERROR");
        return 1;
    }
    if (err == 0) {
        /* the way many programs confirm it */
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0) {
            printf("error: getpeername: %s\n", strerror(errno));
            return 1;
        }
        if (peer.sin_addr.s_addr != sa.sin_addr.s_addr || peer.sin_port != sa.sin_port) {
            printf("error: getpeername gives another address\n");
            return 1;
        }
    }
    int rc = verdict(err);
    close(fd);
    return rc;
}
