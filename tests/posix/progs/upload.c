/* upload.c: sends MIB mebibytes of a pattern to HOST:PORT and returns from main at once, with or without close(): upload HOST PORT MIB [close]. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char chunk[1 << 20];

int main(int argc, char **argv)
{
    if (argc != 4 && !(argc == 5 && !strcmp(argv[4], "close"))) {
        fprintf(stderr, "usage: upload HOST PORT MIB [close]\n");
        return 2;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "upload: %s: not an IPv4 address\n", argv[1]);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("upload: connect");
        return 1;
    }
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (char)('a' + i % 26);
    int mib = atoi(argv[3]);
    for (int i = 0; i < mib; i++) {
        size_t off = 0;
        while (off < sizeof chunk) {
            ssize_t n = write(fd, chunk + off, sizeof chunk - off);
            if (n < 0) {
                perror("upload: write");
                return 1;
            }
            off += (size_t)n;
        }
    }
    printf("sent %d MiB\n", mib);
    if (argc == 5)
        close(fd);
    return 0; /* the kernel (or the layer) delivers what is still queued */
}
