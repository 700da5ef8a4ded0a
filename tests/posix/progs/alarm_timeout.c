/* alarm_timeout.c: a read timeout the classic way, with alarm(), a SIGALRM handler and longjmp (as netcat's -w): alarm_timeout HOST PORT SECONDS. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static jmp_buf timed_out;

static void on_alarm(int sig)
{
    (void)sig;
    longjmp(timed_out, 1);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: alarm_timeout HOST PORT SECONDS\n");
        return 2;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "alarm_timeout: %s: not an IPv4 address\n", argv[1]);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("alarm_timeout: connect");
        return 1;
    }
    printf("connected\n");
    fflush(stdout);
    signal(SIGALRM, on_alarm);
    static long long t0;
    t0 = now_ms();
    if (setjmp(timed_out)) {
        printf("timed out after %lld ms\n", now_ms() - t0);
        return 3;
    }
    alarm((unsigned)atoi(argv[3]));
    char buf[100];
    ssize_t n = recv(fd, buf, sizeof buf, 0); /* the peer never sends */
    alarm(0);
    printf("recv returned %zd\n", n);
    return 0;
}
