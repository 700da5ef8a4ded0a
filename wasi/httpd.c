/* httpd.c: wtcp-httpd.wasm PORT DIR, an HTTP/1.1 file server (GET, HEAD, keep-alive) for a preopened directory. */
#define _DEFAULT_SOURCE /* strcasecmp, strncasecmp */

#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define REQ_MAX 8192        /* request line and headers */
#define PATH_MAX_LEN 1024   /* a file name below DIR */
#define CHUNK (64u * 1024u) /* file bytes read per send */

typedef struct conn {
    struct conn *next;
    wtcp_sock s;
    char req[REQ_MAX];
    size_t req_len;
    char head[512]; /* the response header being sent: head[head_off..head_len) */
    size_t head_off, head_len;
    int fd;                  /* file being sent, -1 when none */
    uint64_t body_off, body_end;
    int close_after;         /* close once this response is out */
    int peer_eof;
} conn;

typedef struct server {
    wtcp_sock listener;
    const char *dir;
    conn *conns;
    uint8_t chunk[CHUNK];
} server;

static const struct {
    const char *ext, *type;
} types[] = {
    {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"}, {"css", "text/css"},
    {"js", "text/javascript"},            {"mjs", "text/javascript"},
    {"json", "application/json"},         {"wasm", "application/wasm"},
    {"png", "image/png"},                 {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},               {"gif", "image/gif"},
    {"svg", "image/svg+xml"},             {"ico", "image/x-icon"},
    {"pdf", "application/pdf"},           {"xml", "application/xml"},
};

static const char *content_type(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (!strcasecmp(dot + 1, types[i].ext))
                return types[i].type;
    return "application/octet-stream";
}

static void conn_free(server *sv, conn *c)
{
    for (conn **pp = &sv->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

/* Queues a response header (and sets up the body, if any). */
static void respond(conn *c, int status, const char *reason, const char *type, uint64_t length)
{
    int n = snprintf(c->head, sizeof c->head,
                     "HTTP/1.1 %d %s\r\n"
                     "Server: wtcp-httpd\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %llu\r\n"
                     "%s"
                     "Connection: %s\r\n"
                     "\r\n",
                     status, reason, type, (unsigned long long)length,
                     status == 405 ? "Allow: GET, HEAD\r\n" : "",
                     c->close_after ? "close" : "keep-alive");
    c->head_len = n > 0 && (size_t)n < sizeof c->head ? (size_t)n : 0;
    c->head_off = 0;
}

/* An error response with a one-line text body (none for HEAD). */
static void respond_error(conn *c, int status, const char *reason, int head_only)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status, reason);
    respond(c, status, reason, "text/plain; charset=utf-8", (uint64_t)n);
    if (!head_only && c->head_len + (size_t)n < sizeof c->head) {
        memcpy(c->head + c->head_len, body, (size_t)n);
        c->head_len += (size_t)n;
    }
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* The request target -> "DIR/a/b" in out, *base = the length of DIR in it. Returns 0,
 * or the HTTP status to answer: 400 (not an origin-form path, a bad %-escape, a NUL),
 * 403 (a ".." segment), 414 (too long). "." and empty segments are skipped. */
static int map_path(const char *dir, const char *target, size_t tlen, char *out, size_t cap,
                    size_t *base)
{
    if (tlen == 0 || target[0] != '/')
        return 400;
    char dec[PATH_MAX_LEN];
    size_t dn = 0;
    for (size_t i = 0; i < tlen && target[i] != '?' && target[i] != '#'; i++) {
        int ch = (unsigned char)target[i];
        if (ch == '%') {
            int hi = i + 2 < tlen ? hexval(target[i + 1]) : -1;
            int lo = i + 2 < tlen ? hexval(target[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return 400;
            ch = hi << 4 | lo;
            i += 2;
        }
        if (ch == 0 || ch == '\\')
            return 400;
        if (dn + 1 >= sizeof dec)
            return 414;
        dec[dn++] = (char)ch;
    }
    dec[dn] = 0;
    size_t on = strlen(dir);
    if (on + 1 >= cap)
        return 414;
    memcpy(out, dir, on);
    while (on > 1 && out[on - 1] == '/')
        on--;
    *base = on;
    for (char *seg = dec; *seg;) {
        char *end = strchr(seg, '/');
        size_t sl = end ? (size_t)(end - seg) : strlen(seg);
        if (sl == 2 && seg[0] == '.' && seg[1] == '.')
            return 403;
        if (sl > 0 && !(sl == 1 && seg[0] == '.')) {
            if (on + 1 + sl + 1 > cap)
                return 414;
            out[on++] = '/';
            memcpy(out + on, seg, sl);
            on += sl;
        }
        seg += sl;
        if (*seg == '/')
            seg++;
    }
    out[on] = 0;
    return 0;
}

/* Is a component of path after its first base bytes (DIR) a symbolic link? Links are
 * not followed: one could lead out of DIR, and Node's node:wasi would follow it there. */
static int has_symlink(char *path, size_t base)
{
    struct stat st;
    for (size_t i = base + 1; path[base]; i++) {
        if (path[i] == '/' || path[i] == 0) {
            char c = path[i];
            path[i] = 0;
            int link = lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
            path[i] = c;
            if (link)
                return 1;
            if (!c)
                break;
        }
    }
    return 0;
}

/* Opens the file for path (a directory's index.html). Returns the fd, or -status. */
static int open_file(char *path, size_t cap, size_t base, uint64_t *size)
{
    struct stat st;
    if (has_symlink(path, base))
        return -403;
    int fd = open(path, O_RDONLY);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        size_t n = strlen(path);
        if (n + sizeof "/index.html" > cap)
            return -414;
        memcpy(path + n, "/index.html", sizeof "/index.html");
        if (has_symlink(path, n))
            return -403;
        fd = open(path, O_RDONLY);
    }
    if (fd < 0) {
        switch (errno) {
        case EACCES:
        case EPERM:
#ifdef ENOTCAPABLE
        case ENOTCAPABLE:
#endif
            return -403;
        case ENOENT:
        case ENOTDIR:
        case ELOOP:
        case ENAMETOOLONG:
        case EISDIR:
            return -404;
        default:
            return -500;
        }
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -404;
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

static const char *reason_of(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 505: return "HTTP Version Not Supported";
    default: return "Internal Server Error";
    }
}

/* Does the comma-separated header value contain token (case-insensitive)? */
static int has_token(const char *v, size_t vl, const char *token)
{
    size_t tl = strlen(token);
    size_t i = 0;
    while (i < vl) {
        while (i < vl && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < vl && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && !strncasecmp(v + s, token, tl))
            return 1;
    }
    return 0;
}

/* Handles the request in c->req[0..len) (ending with the empty line). */
static void handle_request(server *sv, conn *c, size_t len)
{
    const char *r = c->req;
    const char *eol = memchr(r, '\r', len);
    const char *sp1 = memchr(r, ' ', (size_t)(eol - r));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || eol - sp2 - 1 < 5 || memcmp(sp2 + 1, "HTTP/", 5) != 0) {
        c->close_after = 1;
        respond_error(c, 400, reason_of(400), 0);
        return;
    }
    if (eol - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        c->close_after = 1;
        respond_error(c, 505, reason_of(505), 0);
        return;
    }
    int minor = sp2[8] - '0';
    int head_only = sp1 - r == 4 && !memcmp(r, "HEAD", 4);
    int get = sp1 - r == 3 && !memcmp(r, "GET", 3);

    /* Headers: only Connection matters; a body is not supported. */
    int keep = minor >= 1, has_body = 0;
    for (const char *h = eol + 2; h < r + len - 2;) {
        const char *he = memchr(h, '\r', (size_t)(r + len - h));
        const char *colon = memchr(h, ':', (size_t)(he - h));
        if (colon) {
            const char *v = colon + 1;
            size_t nl = (size_t)(colon - h), vl = (size_t)(he - v);
            if (nl == 10 && !strncasecmp(h, "Connection", 10)) {
                if (has_token(v, vl, "close"))
                    keep = 0;
                else if (has_token(v, vl, "keep-alive"))
                    keep = 1;
            } else if ((nl == 14 && !strncasecmp(h, "Content-Length", 14)) ||
                       (nl == 17 && !strncasecmp(h, "Transfer-Encoding", 17))) {
                has_body = 1;
            }
        }
        h = he + 2;
    }
    c->close_after = !keep || has_body || minor < 0 || minor > 9;
    if (!get && !head_only) {
        c->close_after = 1;
        respond_error(c, 405, reason_of(405), 0);
        return;
    }
    char path[PATH_MAX_LEN + 64];
    size_t base = 0;
    int status = map_path(sv->dir, sp1 + 1, (size_t)(sp2 - sp1 - 1), path, sizeof path, &base);
    uint64_t size = 0;
    int fd = status ? -status : open_file(path, sizeof path, base, &size);
    if (fd < 0) {
        respond_error(c, -fd, reason_of(-fd), head_only);
        return;
    }
    respond(c, 200, "OK", content_type(path), size);
    if (head_only) {
        close(fd);
        return;
    }
    c->fd = fd;
    c->body_off = 0;
    c->body_end = size;
}

/* Sends what is pending, reads and serves requests, until the connection blocks. */
static void pump(loop *l, server *sv, conn *c)
{
    for (;;) {
        if (c->head_off < c->head_len) {
            int n = wtcp_send(l->stack, c->s, c->head + c->head_off, c->head_len - c->head_off);
            if (n == WTCP_EAGAIN)
                return;
            if (n < 0)
                break;
            c->head_off += (size_t)n;
            continue;
        }
        if (c->fd >= 0 && c->body_off < c->body_end) {
            /* Read no more than the send buffer takes; the file offset is ours, so a
             * short send simply reads the rest again next time. */
            int room = wtcp_writable(l->stack, c->s);
            if (room < 0)
                break;
            uint64_t want = c->body_end - c->body_off;
            if (want > CHUNK)
                want = CHUNK;
            if (want > (uint64_t)room)
                want = room > 0 ? (uint64_t)room : 1; /* 1: the send blocks, WRITABLE follows */
            ssize_t got = pread(c->fd, sv->chunk, (size_t)want, (off_t)c->body_off);
            if (got <= 0) {
                fprintf(stderr, "%s: reading a file: %s; aborting the connection\n", l->prog,
                        got < 0 ? strerror(errno) : "it became shorter");
                wtcp_abort(l->stack, c->s);
                conn_free(sv, c);
                return;
            }
            int n = wtcp_send(l->stack, c->s, sv->chunk, (size_t)got);
            if (n == WTCP_EAGAIN)
                return;
            if (n < 0)
                break;
            c->body_off += (uint64_t)n;
            continue;
        }
        if (c->fd >= 0) {
            close(c->fd);
            c->fd = -1;
        }
        if (c->close_after)
            break;
        /* The next request, if a complete one is buffered (empty lines before it skipped). */
        size_t skip = 0;
        while (c->req_len - skip >= 2 && c->req[skip] == '\r' && c->req[skip + 1] == '\n')
            skip += 2;
        if (skip) {
            memmove(c->req, c->req + skip, c->req_len - skip);
            c->req_len -= skip;
        }
        char *end = NULL;
        for (size_t i = 3; i < c->req_len; i++)
            if (!memcmp(c->req + i - 3, "\r\n\r\n", 4)) {
                end = c->req + i + 1;
                break;
            }
        if (end) {
            size_t len = (size_t)(end - c->req);
            handle_request(sv, c, len);
            memmove(c->req, end, c->req_len - len);
            c->req_len -= len;
            continue;
        }
        if (c->req_len == sizeof c->req) {
            c->close_after = 1;
            respond_error(c, 431, reason_of(431), 0);
            continue;
        }
        if (c->peer_eof)
            break;
        int n = wtcp_recv(l->stack, c->s, c->req + c->req_len, sizeof c->req - c->req_len);
        if (n == WTCP_EAGAIN)
            return;
        if (n < 0)
            break;
        if (n == 0)
            c->peer_eof = 1;
        c->req_len += (size_t)n;
    }
    wtcp_close(l->stack, c->s);
    conn_free(sv, c);
}

static void on_event(loop *l, wtcp_sock s, uint32_t events)
{
    server *sv = l->user;
    if (s == sv->listener) {
        if (!(events & WTCP_EV_ACCEPTABLE))
            return;
        for (;;) {
            int cs = wtcp_accept(l->stack, sv->listener, NULL, NULL);
            if (cs < 0)
                break;
            conn *c = calloc(1, sizeof *c);
            if (!c) {
                wtcp_abort(l->stack, cs);
                continue;
            }
            c->s = cs;
            c->fd = -1;
            c->next = sv->conns;
            sv->conns = c;
            pump(l, sv, c);
        }
        return;
    }
    for (conn *c = sv->conns; c; c = c->next)
        if (c->s == s) {
            pump(l, sv, c);
            return;
        }
}

int main(int argc, char **argv)
{
    const char *prog = "wtcp-httpd";
    uint16_t port;
    if (argc != 3 || loop_parse_port(argv[1], &port) < 0 || !argv[2][0]) {
        fprintf(stderr,
                "usage: %s PORT DIR\n"
                "An HTTP/1.1 server (GET, HEAD, keep-alive) for the files below DIR, a\n"
                "preopened directory. IPv4 packets travel over stdin/stdout, each preceded\n"
                "by a 2-byte big-endian length; WTCP_ADDR, WTCP_PREFIX, WTCP_GATEWAY and\n"
                "WTCP_MTU set the address (default 10.77.0.2/16, MTU 1500).\n",
                prog);
        return 2;
    }
    struct stat st;
    errno = 0;
    if (stat(argv[2], &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: %s: %s (is it preopened?)\n", prog, argv[2],
                errno ? strerror(errno) : "not a directory");
        return 1;
    }
    static server sv; /* holds the 64 KiB chunk buffer */
    loop l;
    if (loop_init(&l, prog) < 0)
        return 1;
    sv.dir = argv[2];
    int s = wtcp_socket(l.stack, WTCP_SOCK_STREAM);
    int r = s < 0 ? s : wtcp_bind(l.stack, s, 0, port);
    if (r >= 0)
        r = wtcp_listen(l.stack, s, 128);
    if (r < 0) {
        fprintf(stderr, "%s: listen on port %u: %s\n", prog, (unsigned)port, wtcp_strerror(r));
        loop_free(&l);
        return 1;
    }
    sv.listener = s;
    l.user = &sv;
    l.on_event = on_event;
    if (l.verbose)
        fprintf(stderr, "%s: serving %s on port %u\n", prog, sv.dir, (unsigned)port);
    int status = loop_run(&l);
    while (sv.conns)
        conn_free(&sv, sv.conns);
    loop_free(&l);
    return status;
}
