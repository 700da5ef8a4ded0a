/* echo_select.c: a classic select()-based multi-client TCP echo server: echo_select PORT. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 128

struct client {
    int fd;           /* -1: free slot */
    int id;           /* connection number, from 1 */
    long long bytes;  /* echoed so far */
};

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: echo_select PORT\n");
        return 2;
    }
    int port = atoi(argv[1]);

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) {
        perror("echo_select: socket");
        return 1;
    }
    int one = 1;
    if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        perror("echo_select: setsockopt SO_REUSEADDR");
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    sa.sin_port = htons((unsigned short)port);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("echo_select: bind");
        return 1;
    }
    if (listen(lfd, 64) < 0) {
        perror("echo_select: listen");
        return 1;
    }
    printf("listening on %d\n", port);
    fflush(stdout);

    struct client clients[MAX_CLIENTS];
    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].fd = -1;
    int next_id = 1;
    char buf[16384];

    for (;;) {
        fd_set rfds;
        FD_ZERO(&rfds);
        FD_SET(lfd, &rfds);
        int maxfd = lfd;
        for (int i = 0; i < MAX_CLIENTS; i++) {
            if (clients[i].fd >= 0) {
                FD_SET(clients[i].fd, &rfds);
                if (clients[i].fd > maxfd)
                    maxfd = clients[i].fd;
            }
        }
        int n = select(maxfd + 1, &rfds, NULL, NULL, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("echo_select: select");
            return 1;
        }

        if (FD_ISSET(lfd, &rfds)) {
            struct sockaddr_in peer;
            socklen_t plen = sizeof peer;
            int cfd = accept(lfd, (struct sockaddr *)&peer, &plen);
            if (cfd < 0) {
                perror("echo_select: accept");
            } else {
                int slot = -1;
                for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
                    if (clients[i].fd < 0)
                        slot = i;
                if (slot < 0) {
                    printf("too many clients, closing\n");
                    close(cfd);
                } else {
                    char addr[INET_ADDRSTRLEN];
                    inet_ntop(AF_INET, &peer.sin_addr, addr, sizeof addr);
                    clients[slot].fd = cfd;
                    clients[slot].id = next_id++;
                    clients[slot].bytes = 0;
                    printf("open #%d from %s\n", clients[slot].id, addr);
                }
                fflush(stdout);
            }
        }

        for (int i = 0; i < MAX_CLIENTS; i++) {
            struct client *c = &clients[i];
            if (c->fd < 0 || !FD_ISSET(c->fd, &rfds))
                continue;
            ssize_t r = recv(c->fd, buf, sizeof buf, 0);
            if (r > 0) {
                if (send_all(c->fd, buf, (size_t)r) == 0) {
                    c->bytes += r;
                    continue;
                }
                printf("close #%d after %lld bytes (send: %s)\n", c->id, c->bytes, strerror(errno));
            } else if (r < 0) {
                printf("close #%d after %lld bytes (recv: %s)\n", c->id, c->bytes, strerror(errno));
            } else {
                printf("close #%d after %lld bytes\n", c->id, c->bytes);
            }
            fflush(stdout);
            close(c->fd);
            c->fd = -1;
        }
    }
}
