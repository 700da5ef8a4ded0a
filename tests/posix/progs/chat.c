/* chat.c: an interactive line client: polls stdin and the socket; typed lines are sent, the server's lines printed; EOF on stdin shuts down the write side: chat HOST PORT. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
    if (argc != 3) {
        fprintf(stderr, "usage: chat HOST PORT\n");
        return 2;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "chat: %s: not an IPv4 address\n", argv[1]);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "chat: connect %s:%s: %s\n", argv[1], argv[2], strerror(errno));
        return 1;
    }
    printf("connected\n");
    fflush(stdout);

    int stdin_open = 1;
    char buf[4096];
    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = STDIN_FILENO, .events = POLLIN}};
        if (poll(p, stdin_open ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("chat: poll");
            return 1;
        }
        if (p[0].revents) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                fprintf(stderr, "chat: recv: %s\n", strerror(errno));
                return 1;
            }
            if (n == 0) {
                printf("server closed the connection\n");
                fflush(stdout);
                break;
            }
            if (n > 0) {
                fwrite(buf, 1, (size_t)n, stdout);
                fflush(stdout);
            }
        }
        if (stdin_open && p[1].revents) {
            ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                fprintf(stderr, "chat: read stdin: %s\n", strerror(errno));
                return 1;
            }
            if (n == 0) {
                stdin_open = 0;
                close(STDIN_FILENO); /* done with it, as netcat does */
                if (shutdown(fd, SHUT_WR) < 0) {
                    fprintf(stderr, "chat: shutdown: %s\n", strerror(errno));
                    return 1;
                }
            } else if (n > 0 && send_all(fd, buf, (size_t)n) < 0) {
                fprintf(stderr, "chat: send: %s\n", strerror(errno));
                return 1;
            }
        }
    }
    close(fd);
    return 0;
}
