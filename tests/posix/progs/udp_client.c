/* udp_client.c: a UDP request/response client: sends each MESSAGE, waits for the reply with SO_RCVTIMEO, retries: udp_client HOST PORT MESSAGE... */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TRIES 5

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: udp_client HOST PORT MESSAGE...\n");
        return 2;
    }
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    int gai = getaddrinfo(argv[1], argv[2], &hints, &res);
    if (gai != 0) {
        fprintf(stderr, "udp_client: %s: %s\n", argv[1], gai_strerror(gai));
        return 1;
    }
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd < 0) {
        perror("udp_client: socket");
        return 1;
    }
    struct timeval tv = {.tv_sec = 0, .tv_usec = 500000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
        perror("udp_client: setsockopt SO_RCVTIMEO");
        return 1;
    }

    int failures = 0;
    static char buf[65536]; /* static: not on the stack (64 KiB in a wasm32 program by default) */
    for (int i = 3; i < argc; i++) {
        size_t len = strlen(argv[i]);
        ssize_t n = -1;
        for (int t = 0; t < TRIES && n < 0; t++) {
            if (sendto(fd, argv[i], len, 0, res->ai_addr, res->ai_addrlen) < 0) {
                perror("udp_client: sendto");
                return 1;
            }
            struct sockaddr_storage from;
            socklen_t flen = sizeof from;
            n = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &flen);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                perror("udp_client: recvfrom");
                return 1;
            }
        }
        if (n < 0) {
            printf("no reply to %s\n", argv[i]);
            failures++;
        } else {
            buf[n] = '\0';
            printf("reply: %s\n", buf);
        }
        fflush(stdout);
    }
    freeaddrinfo(res);
    close(fd);
    return failures ? 1 : 0;
}
