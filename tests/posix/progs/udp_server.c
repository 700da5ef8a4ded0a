/* udp_server.c: a UDP request/response server: answers each datagram, uppercased, to its sender ("quit" ends it): udp_server PORT. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: udp_server PORT\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("udp_server: socket");
        return 1;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    sa.sin_port = htons((unsigned short)atoi(argv[1]));
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("udp_server: bind");
        return 1;
    }
    printf("listening on %s\n", argv[1]);
    fflush(stdout);

    static char buf[65536]; /* static: not on the stack (64 KiB in a wasm32 program by default) */
    for (int count = 1;; count++) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &plen);
        if (n < 0) {
            perror("udp_server: recvfrom");
            return 1;
        }
        int quit = n == 4 && memcmp(buf, "quit", 4) == 0;
        for (ssize_t i = 0; i < n; i++)
            buf[i] = (char)toupper((unsigned char)buf[i]);
        if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, plen) < 0)
            perror("udp_server: sendto");
        printf("datagram %d: %zd bytes\n", count, n);
        fflush(stdout);
        if (quit)
            break;
    }
    close(fd);
    return 0;
}
