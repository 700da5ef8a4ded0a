/* rcvtimeo.c: SO_RCVTIMEO firing on a TCP connection whose peer never sends, and poll()'s timeout, both timed: rcvtimeo HOST PORT MS. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: rcvtimeo HOST PORT MS\n");
        return 2;
    }
    int ms = atoi(argv[3]);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "rcvtimeo: %s: not an IPv4 address\n", argv[1]);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("rcvtimeo: connect");
        return 1;
    }
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
        perror("rcvtimeo: setsockopt SO_RCVTIMEO");
        return 1;
    }
    struct timeval got;
    socklen_t glen = sizeof got;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &got, &glen) < 0) {
        perror("rcvtimeo: getsockopt SO_RCVTIMEO");
        return 1;
    }
    printf("SO_RCVTIMEO: %lld ms\n", (long long)got.tv_sec * 1000 + (long long)got.tv_usec / 1000);

    char buf[100];
    long long t0 = now_ms();
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    int err = errno;
    long long t1 = now_ms();
    if (n >= 0)
        printf("recv: %zd bytes\n", n);
    else if (err == EAGAIN)
        printf("recv: EAGAIN\n");
    else if (err == EWOULDBLOCK)
        printf("recv: EWOULDBLOCK\n");
    else
        printf("recv: %s\n", strerror(err));
    printf("recv elapsed: %lld ms\n", t1 - t0);

    struct pollfd p = {.fd = fd, .events = POLLIN};
    t0 = now_ms();
    int r = poll(&p, 1, ms);
    t1 = now_ms();
    printf("poll: %d\n", r);
    printf("poll elapsed: %lld ms\n", t1 - t0);
    fflush(stdout);
    close(fd);
    return n < 0 && (err == EAGAIN || err == EWOULDBLOCK) && r == 0 ? 0 : 1;
}
