/* exec.c: `wtcp-relay exec -- COMMAND`: a child process as a client, IPv4 packets on its stdin/stdout (or, with --fifo, on two FIFOs) with a 2-byte big-endian length before each. */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PIPE_READ_CHUNK (64 * 1024)
#define PIPE_READS_PER_CALLBACK 8

static struct lws *adopt(relay *r, int fd)
{
    lws_sock_file_fd_type u;
    u.filefd = fd;
    return lws_adopt_descriptor_vhost(r->vh_raw, LWS_ADOPT_RAW_FILE_DESC, u, "wtcp-raw", NULL);
}

static void child_exec(relay *r, client *c, int in_fd, int out_fd)
{
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (r->fifo_dir[0]) /* --fifo: the FIFOs are the link, stdio stays the command's */
        setenv("WTCP_LINK_DIR", r->fifo_dir, 1);
    else if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0)
        _exit(127);
    /* Nothing of the relay's (listening sockets, lws's own descriptors) leaks into it. */
    close_range(3, ~0u, 0);
    char gw[16], num[16];
    setenv("WTCP_ADDR", c->addr_s, 1);
    snprintf(num, sizeof num, "%u", r->o.prefix);
    setenv("WTCP_PREFIX", num, 1);
    setenv("WTCP_GATEWAY", ipv4_format(r->gateway, gw), 1);
    snprintf(num, sizeof num, "%u", r->o.mtu);
    setenv("WTCP_MTU", num, 1);
    if (r->o.dns)
        setenv("WTCP_DNS", ipv4_format(r->o.dns, gw), 1);
    execvp(r->o.exec_argv[0], r->o.exec_argv);
    fprintf(stderr, "wtcp-relay: exec %s: %s\n", r->o.exec_argv[0], strerror(errno));
    _exit(127);
}

/* --fifo: a private directory with the FIFOs `in` (to the command) and `out` (from it).
 * The relay opens both for reading and writing, so neither its opens nor the command's wait
 * for the other side; like the pipes, in[1]/out[0] are the relay's ends (in[0] and out[1]
 * are -1: the command opens the FIFOs itself). */
static int fifo_open(relay *r, int in[2], int out[2])
{
    const char *tmp = getenv("TMPDIR");
    char path[sizeof r->fifo_dir + 8];
    if (!tmp || !*tmp || strlen(tmp) > sizeof r->fifo_dir - 24)
        tmp = "/tmp";
    snprintf(r->fifo_dir, sizeof r->fifo_dir, "%s/wtcp-link.XXXXXX", tmp);
    if (!mkdtemp(r->fifo_dir)) {
        r->fifo_dir[0] = 0;
        return -1;
    }
    snprintf(path, sizeof path, "%s/in", r->fifo_dir);
    if (mkfifo(path, 0600) < 0 || (in[1] = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/out", r->fifo_dir);
    if (mkfifo(path, 0600) < 0 || (out[0] = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
        close(in[1]);
        return -1;
    }
    in[0] = out[1] = -1;
    return 0;
}

/* Removes the FIFOs and their directory (--fifo). */
void exec_cleanup(relay *r)
{
    if (!r->fifo_dir[0])
        return;
    char path[sizeof r->fifo_dir + 8];
    snprintf(path, sizeof path, "%s/in", r->fifo_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/out", r->fifo_dir);
    unlink(path);
    rmdir(r->fifo_dir);
    r->fifo_dir[0] = 0;
}

static void close_fd(int fd)
{
    if (fd >= 0)
        close(fd);
}

int exec_start(relay *r)
{
    int in[2], out[2]; /* in: the child's stdin; out: its stdout */
    if (r->o.exec_fifo) {
        if (fifo_open(r, in, out) < 0) {
            relay_log("error msg=\"exec --fifo: %s\"", strerror(errno));
            exec_cleanup(r);
            return -1;
        }
    } else if (pipe2(in, O_CLOEXEC) < 0) {
        goto fail_errno;
    } else if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        goto fail_errno;
    }
    client *c = client_new(r, CLIENT_EXEC, "exec");
    if (!c) {
        relay_log("error msg=\"exec: no free address\"");
        goto fail_close;
    }
    c->config_sent = 1; /* the configuration travels in the environment */
    pid_t pid = fork();
    if (pid < 0) {
        client_free(c, "fork_failed");
        goto fail_close_errno;
    }
    if (pid == 0)
        child_exec(r, c, in[0], out[1]);
    close_fd(in[0]);
    close_fd(out[1]);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    r->child = pid;
    r->exec_client = c;
    c->in_wsi = adopt(r, in[1]);
    c->out_wsi = adopt(r, out[0]);
    if (!c->in_wsi || !c->out_wsi) {
        relay_log("error msg=\"exec: cannot watch the pipes\"");
        kill(pid, SIGTERM);
        return -1;
    }
    snprintf(c->peer, sizeof c->peer, "pid:%ld", (long)pid);
    char cmd[256] = "";
    size_t o = 0;
    for (char **a = r->o.exec_argv; *a && o + 1 < sizeof cmd; a++)
        o += (size_t)snprintf(cmd + o, sizeof cmd - o, "%s%s", o ? " " : "", *a);
    relay_log("connect client=%s kind=exec pid=%ld link=%s command=\"%s\"", c->addr_s, (long)pid,
              r->fifo_dir[0] ? r->fifo_dir : "stdio", cmd);
    return 0;

fail_close_errno:
    relay_log("error msg=\"exec: %s\"", strerror(errno));
fail_close:
    close_fd(in[0]);
    close_fd(in[1]);
    close_fd(out[0]);
    close_fd(out[1]);
    exec_cleanup(r);
    return -1;
fail_errno:
    relay_log("error msg=\"exec: %s\"", strerror(errno));
    return -1;
}

int exec_pipe_readable(relay *r, struct lws *wsi)
{
    client *c = r->exec_client;
    if (!c || wsi != c->out_wsi)
        return 0;
    int fd = lws_get_socket_fd(wsi);
    uint8_t buf[PIPE_READ_CHUNK];
    for (int i = 0; i < PIPE_READS_PER_CALLBACK; i++) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0)
            return -1; /* the child closed its stdout */
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        client_pipe_bytes(c, buf, (size_t)n);
        if (r->exec_client != c)
            return 0;
    }
    return 0;
}

/* lws's raw-file role clears POLLOUT after this callback returns, so asking for another
 * writable callback from inside it would be lost (and the child would starve until the
 * next packet); exec_after_service() asks again once lws is done. */
int exec_pipe_writable(relay *r, struct lws *wsi)
{
    client *c = r->exec_client;
    if (!c || wsi != c->in_wsi)
        return 0;
    int fd = lws_get_socket_fd(wsi);
    relay_pkt *p;
    while ((p = c->outq.head)) {
        uint8_t *frame = PKT_DATA(p) - 2;
        frame[0] = (uint8_t)(p->len >> 8);
        frame[1] = (uint8_t)p->len;
        size_t total = (size_t)p->len + 2;
        ssize_t n = write(fd, frame + p->sent, total - p->sent);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                c->pipe_blocked = 1;
                return 0;
            }
            return -1; /* EPIPE: the child closed its stdin */
        }
        p->sent += (uint32_t)n;
        if (p->sent < total) {
            c->pipe_blocked = 1;
            return 0;
        }
        pktq_pop(&c->outq);
        client_count_down(c, p->len);
        free(p);
    }
    return 0;
}

void exec_pipe_closed(relay *r, struct lws *wsi)
{
    client *c = r->exec_client;
    if (!c)
        return;
    if (wsi == c->out_wsi) {
        c->out_wsi = NULL;
        /* No more packets from the child: stop sending it any. */
        if (c->in_wsi)
            lws_set_timeout(c->in_wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
    } else if (wsi == c->in_wsi) {
        c->in_wsi = NULL;
    } else {
        return;
    }
    if (!c->in_wsi && !c->out_wsi)
        client_free(c, r->stopping ? "relay_stopping" : "pipes_closed");
}

/* After each turn of the event loop. A pipe's write end whose reader has gone polls as
 * POLLERR, which lws's raw-file role does not act on: look for it here. And ask again for
 * the writable callback a full pipe needs (see exec_pipe_writable). */
void exec_after_service(relay *r)
{
    client *c = r->exec_client;
    if (!c || !c->in_wsi)
        return;
    struct pollfd pfd = {.fd = lws_get_socket_fd(c->in_wsi), .events = POLLOUT};
    if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))) {
        lws_set_timeout(c->in_wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_SYNC);
        return;
    }
    if (c->pipe_blocked) {
        c->pipe_blocked = 0;
        if (c->outq.head)
            lws_callback_on_writable(c->in_wsi);
    }
}

void exec_child_exited(relay *r, int status)
{
    r->child_status = WIFEXITED(status) ? WEXITSTATUS(status)
                      : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
    if (WIFSIGNALED(status))
        relay_log("exec-exit pid=%ld signal=%d status=%d", (long)r->child, WTERMSIG(status),
                  r->child_status);
    else
        relay_log("exec-exit pid=%ld status=%d", (long)r->child, r->child_status);
    r->child = 0;
    if (!r->stopping) {
        r->stopping = 1;
        r->exit_code = r->child_status;
    }
}

/* Shutting down: end of file on the child's stdin is the network going away (the wtcp
 * WASI commands then exit); the caller sends SIGTERM, then SIGKILL, if it lingers. */
void exec_stop(relay *r)
{
    client *c = r->exec_client;
    if (c && c->in_wsi) {
        struct lws *w = c->in_wsi;
        lws_set_timeout(w, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_SYNC);
    }
}
