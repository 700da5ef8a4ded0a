/* http_get.c: a blocking HTTP/1.0 client: resolves the host with getaddrinfo, saves the body to a file: http_get URL OUTFILE. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
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
        fprintf(stderr, "usage: http_get http://HOST[:PORT]/PATH OUTFILE\n");
        return 2;
    }
    /* http://host[:port][/path] */
    const char *url = argv[1];
    if (strncmp(url, "http://", 7) != 0) {
        fprintf(stderr, "http_get: %s: only http:// URLs\n", url);
        return 2;
    }
    char host[256], port[16] = "80";
    const char *h = url + 7;
    const char *slash = strchr(h, '/');
    const char *path = slash ? slash : "/";
    size_t hlen = slash ? (size_t)(slash - h) : strlen(h);
    const char *colon = memchr(h, ':', hlen);
    size_t namelen = colon ? (size_t)(colon - h) : hlen;
    if (namelen == 0 || namelen >= sizeof host || (colon && hlen - namelen - 1 >= sizeof port)) {
        fprintf(stderr, "http_get: %s: bad URL\n", url);
        return 2;
    }
    memcpy(host, h, namelen);
    host[namelen] = '\0';
    if (colon) {
        memcpy(port, colon + 1, hlen - namelen - 1);
        port[hlen - namelen - 1] = '\0';
    }

    struct addrinfo hints, *res, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        fprintf(stderr, "http_get: %s: %s\n", host, gai_strerror(gai));
        return 1;
    }
    int fd = -1, err = 0;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "http_get: connect to %s port %s: %s\n", host, port, strerror(err));
        return 1;
    }

    char req[2048];
    int rn = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: http_get\r\n\r\n", path, host);
    if (rn < 0 || (size_t)rn >= sizeof req) {
        fprintf(stderr, "http_get: URL too long\n");
        return 2;
    }
    for (int off = 0; off < rn;) {
        ssize_t w = send(fd, req + off, (size_t)(rn - off), MSG_NOSIGNAL);
        if (w < 0) {
            fprintf(stderr, "http_get: send: %s\n", strerror(errno));
            return 1;
        }
        off += (int)w;
    }

    int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) {
        fprintf(stderr, "http_get: %s: %s\n", argv[2], strerror(errno));
        return 1;
    }

    static char buf[65536];
    char head[16384];
    size_t head_len = 0;
    int in_body = 0, status = 0;
    long long length = -1, body = 0;
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "http_get: recv: %s\n", strerror(errno));
            return 1;
        }
        if (r == 0)
            break;
        const char *p = buf;
        size_t n = (size_t)r;
        if (!in_body) {
            /* collect the head; the rest of this read is body */
            size_t take = n < sizeof head - 1 - head_len ? n : sizeof head - 1 - head_len;
            memcpy(head + head_len, p, take);
            head_len += take;
            head[head_len] = '\0';
            char *end = strstr(head, "\r\n\r\n");
            if (!end) {
                if (head_len == sizeof head - 1) {
                    fprintf(stderr, "http_get: response head too long\n");
                    return 1;
                }
                continue;
            }
            size_t body_start = (size_t)(end - head) + 4;
            size_t already = head_len - take; /* head bytes from earlier reads */
            p += body_start - already;
            n -= body_start - already;
            *end = '\0';
            if (sscanf(head, "HTTP/%*d.%*d %d", &status) != 1) {
                fprintf(stderr, "http_get: not an HTTP response\n");
                return 1;
            }
            for (char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n"))
                if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
                    length = atoll(l + 17);
            in_body = 1;
        }
        if (write_all(out, p, n) < 0) {
            fprintf(stderr, "http_get: write %s: %s\n", argv[2], strerror(errno));
            return 1;
        }
        body += (long long)n;
        if (length >= 0 && body >= length)
            break;
    }
    close(fd);
    if (close(out) < 0) {
        fprintf(stderr, "http_get: close %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    if (!in_body) {
        fprintf(stderr, "http_get: the connection closed before a response\n");
        return 1;
    }
    printf("status %d, %lld bytes\n", status, body);
    fflush(stdout);
    if (length >= 0 && body != length) {
        fprintf(stderr, "http_get: %lld of %lld bytes\n", body, length);
        return 1;
    }
    return status >= 200 && status < 300 ? 0 : 1;
}
