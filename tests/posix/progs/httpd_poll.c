/* httpd_poll.c: a poll()-based HTTP/1.1 file server (keep-alive, GET/HEAD, non-blocking sockets, files streamed as the socket drains): httpd_poll PORT DIR. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CONNS 256
#define IN_MAX 8192
#define OUT_MAX 65536

struct conn {
    int fd;
    int id;
    int requests;
    int busy;        /* a response is being sent */
    int close_after; /* close once it is sent */
    int status;      /* of the response being sent */
    int file;        /* the file being sent, or -1 */
    long long left;  /* its bytes not yet read */
    size_t in_len, out_len, out_off;
    char in[IN_MAX];
    char out[OUT_MAX];
};

static const char *docroot;
static struct conn *conns[MAX_CONNS];
static int next_id = 1;

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void conn_close(int slot)
{
    struct conn *c = conns[slot];
    printf("close #%d after %d requests\n", c->id, c->requests);
    fflush(stdout);
    if (c->file >= 0)
        close(c->file);
    close(c->fd);
    free(c);
    conns[slot] = NULL;
}

static void respond(struct conn *c, int status, const char *reason, const char *type, long long length)
{
    c->out_len = (size_t)snprintf(c->out, OUT_MAX,
                                  "HTTP/1.1 %d %s\r\nServer: httpd_poll\r\nContent-Type: %s\r\n"
                                  "Content-Length: %lld\r\nConnection: %s\r\n\r\n",
                                  status, reason, type, length, c->close_after ? "close" : "keep-alive");
    c->out_off = 0;
    c->busy = 1;
    c->status = status;
}

static void respond_error(struct conn *c, int status, const char *reason, int is_head)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status, reason);
    respond(c, status, reason, "text/plain", n);
    if (!is_head) {
        memcpy(c->out + c->out_len, body, (size_t)n);
        c->out_len += (size_t)n;
    }
}

/* Starts the response to the next complete request in c->in; 0 if there is none yet. */
static int start_request(struct conn *c)
{
    char *end = NULL;
    for (size_t i = 0; i + 3 < c->in_len; i++) {
        if (memcmp(c->in + i, "\r\n\r\n", 4) == 0) {
            end = c->in + i;
            break;
        }
    }
    if (!end) {
        if (c->in_len == IN_MAX) {
            c->close_after = 1;
            respond_error(c, 431, "Request Header Fields Too Large", 0);
            c->in_len = 0;
            return 1;
        }
        return 0;
    }
    *end = '\0';
    size_t used = (size_t)(end - c->in) + 4;

    char method[16], target[1024], version[16];
    int is_head = 0;
    if (sscanf(c->in, "%15s %1023s %15s", method, target, version) != 3 || target[0] != '/' ||
        strncmp(version, "HTTP/1.", 7) != 0) {
        c->close_after = 1;
        respond_error(c, 400, "Bad Request", 0);
    } else {
        c->requests++;
        is_head = strcmp(method, "HEAD") == 0;
        /* keep-alive: the HTTP/1.1 default; HTTP/1.0 only when asked for */
        c->close_after = strcmp(version, "HTTP/1.0") == 0;
        for (char *h = strstr(c->in, "\r\n"); h; h = strstr(h + 2, "\r\n")) {
            if (strncasecmp(h + 2, "Connection:", 11) == 0) {
                const char *v = h + 13;
                while (*v == ' ')
                    v++;
                if (strncasecmp(v, "close", 5) == 0)
                    c->close_after = 1;
                else if (strncasecmp(v, "keep-alive", 10) == 0)
                    c->close_after = 0;
            }
        }
        char *q = strchr(target, '?');
        if (q)
            *q = '\0';
        char path[2048];
        snprintf(path, sizeof path, "%s%s%s", docroot, target,
                 target[strlen(target) - 1] == '/' ? "index.html" : "");
        struct stat st;
        int fd = -1;
        if (!is_head && strcmp(method, "GET") != 0) {
            c->close_after = 1;
            respond_error(c, 405, "Method Not Allowed", 0);
        } else if (strstr(target, "..")) {
            respond_error(c, 403, "Forbidden", is_head);
        } else if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            if (fd >= 0)
                close(fd);
            respond_error(c, 404, "Not Found", is_head);
        } else {
            size_t n = strlen(path);
            const char *type = n > 5 && strcmp(path + n - 5, ".html") == 0 ? "text/html" : "application/octet-stream";
            respond(c, 200, "OK", type, (long long)st.st_size);
            if (is_head) {
                close(fd);
            } else {
                c->file = fd;
                c->left = (long long)st.st_size;
            }
        }
        printf("#%d %s %s %d\n", c->id, method, target, c->status);
        fflush(stdout);
    }
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    return 1;
}

/* Sends what it can; -1 when the connection is to be closed. */
static int on_writable(struct conn *c)
{
    while (c->busy) {
        if (c->out_off < c->out_len) {
            ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
            if (w < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
            c->out_off += (size_t)w;
            continue;
        }
        if (c->file >= 0 && c->left > 0) {
            size_t want = c->left < OUT_MAX ? (size_t)c->left : OUT_MAX;
            ssize_t r = read(c->file, c->out, want);
            if (r <= 0)
                return -1;
            c->left -= r;
            c->out_len = (size_t)r;
            c->out_off = 0;
            continue;
        }
        if (c->file >= 0) {
            close(c->file);
            c->file = -1;
        }
        c->busy = 0;
        if (c->close_after)
            return -1;
        start_request(c); /* a pipelined request already here */
    }
    return 0;
}

static int on_readable(struct conn *c)
{
    if (c->in_len < IN_MAX) {
        ssize_t r = recv(c->fd, c->in + c->in_len, IN_MAX - c->in_len, 0);
        if (r == 0)
            return -1;
        if (r < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        c->in_len += (size_t)r;
    }
    if (!c->busy && start_request(c))
        return on_writable(c);
    return 0;
}

static void accept_all(int lfd)
{
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                perror("httpd_poll: accept");
            return;
        }
        int slot = 0;
        while (slot < MAX_CONNS && conns[slot])
            slot++;
        struct conn *c = slot < MAX_CONNS ? malloc(sizeof *c) : NULL;
        if (!c || set_nonblocking(fd) < 0) {
            fprintf(stderr, "httpd_poll: no room for a connection\n");
            free(c);
            close(fd);
            continue;
        }
        memset(c, 0, offsetof(struct conn, in));
        c->fd = fd;
        c->id = next_id++;
        c->file = -1;
        conns[slot] = c;
        printf("open #%d\n", c->id);
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: httpd_poll PORT DIR\n");
        return 2;
    }
    int port = atoi(argv[1]);
    docroot = argv[2];

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) {
        perror("httpd_poll: socket");
        return 1;
    }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    sa.sin_port = htons((unsigned short)port);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 128) < 0 || set_nonblocking(lfd) < 0) {
        perror("httpd_poll: bind/listen");
        return 1;
    }
    printf("listening on %d\n", port);
    fflush(stdout);

    struct pollfd pfd[MAX_CONNS + 1];
    int slot_of[MAX_CONNS + 1];
    for (;;) {
        int n = 0;
        pfd[n].fd = lfd;
        pfd[n].events = POLLIN;
        slot_of[n++] = -1;
        for (int i = 0; i < MAX_CONNS; i++) {
            if (!conns[i])
                continue;
            pfd[n].fd = conns[i]->fd;
            pfd[n].events = conns[i]->busy ? POLLOUT : POLLIN;
            slot_of[n++] = i;
        }
        if (poll(pfd, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("httpd_poll: poll");
            return 1;
        }
        for (int k = 1; k < n; k++) {
            struct conn *c = conns[slot_of[k]];
            short re = pfd[k].revents;
            if (!re)
                continue;
            int r = 0;
            if (re & (POLLOUT | POLLERR | POLLHUP)) {
                if (c->busy)
                    r = on_writable(c);
            }
            if (r == 0 && (re & (POLLIN | POLLERR | POLLHUP)) && !c->busy)
                r = on_readable(c);
            if (r < 0)
                conn_close(slot_of[k]);
        }
        if (pfd[0].revents & POLLIN)
            accept_all(lfd);
    }
}
