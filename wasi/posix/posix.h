/* posix.h: the POSIX layer's insides: one wtcp stack per program, its link, the socket descriptor table, and the pump blocking calls run. */
#ifndef WASI_POSIX_H
#define WASI_POSIX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <wasi/api.h>
#include <wtcp.h>

/* A socket descriptor. The program sees `fd`; the stack knows `h`. */
typedef struct px_sock {
    int used;
    int fd;
    wtcp_sock h;
    int type;            /* SOCK_STREAM or SOCK_DGRAM (wasi-libc's values) */
    int nonblock;        /* O_NONBLOCK */
    int listening;
    int connecting;      /* a TCP connect() whose outcome was not yet taken */
    int connected;       /* TCP: established once (connect or accept); UDP: has a peer */
    int bound;
    int shut_rd, shut_wr;
    uint32_t peer_addr;  /* UDP connect(): the default destination, host order */
    uint16_t peer_port;
    uint32_t rcvtimeo_ms, sndtimeo_ms; /* 0: wait forever */
    int linger_on, linger_s;
    int placeholder;     /* the WASI descriptor that holds `fd`'s number, or -1 */
    /* Bytes taken from the stack by MSG_PEEK (TCP), or the next datagram (UDP), which the
     * next read returns first. */
    uint8_t *peek;
    size_t peek_len, peek_cap;
    int peek_dgram, peek_empty;   /* UDP: a datagram is held (peek_empty: of 0 bytes) */
    uint32_t peek_addr;           /* UDP: its source */
    uint16_t peek_port;
} px_sock;

/* The layer's state: one per program (the POSIX API has no handle to carry it). */
typedef struct px_state {
    int ready;           /* px_init() succeeded */
    int failed;          /* px_init() failed: every socket call says ENETDOWN */
    wtcp_stack *stack;
    uint16_t mtu;
    int verbose;
    int link_in, link_out;     /* WASI descriptors of the link */
    int stdio_link;            /* the link is stdin/stdout (the default) */
    int link_down;             /* the link ended (end of input, or a write failed) */
    int exiting;               /* at_exit() runs: the link's end no longer exits */
    int poll_failed;           /* poll_oneoff failed (reported once) */
    uint64_t alarm_at;         /* alarm(): when SIGALRM is due (ns, 0: none) */
    uint8_t *in, *out;
    size_t in_len, in_cap, out_len, out_cap;
    uint64_t frames_in, frames_out, frames_bad;
    px_sock **by_fd;           /* indexed by descriptor */
    size_t nby_fd;
    int nsocks;
    int preopen;               /* a preopened directory for placeholders, -1: none, -2: unknown */
    wtcp_sock *closing;        /* closed by the program, still delivering their data */
    size_t nclosing, closing_cap;
    uint64_t linger_ms;        /* how long exit waits for them (WTCP_LINGER_MS) */
} px_state;

extern px_state px;

/* Node's node:wasi (uvwasi) returns from a poll_oneoff that watches several descriptors
 * only when every one of them is ready, or at its clock: a wait on more than one
 * descriptor is cut into slices of this many ns, after which the ready ones are seen. */
#define PX_MULTI_FD_SLICE_NS (10u * 1000000u)

/* Clock: monotonic nanoseconds and milliseconds. */
uint64_t px_now_ns(void);
uint64_t px_now_ms(void);

/* Creates the stack and opens the link on first use; 0 or -1 with errno (ENETDOWN). */
int px_init(void);
/* Sends what the stack has queued now. */
void px_kick(void);
/* Runs the stack once: takes what the link has, runs timers, sends; waits at most until
 * deadline_ns (absolute, 0: no waiting, UINT64_MAX: until something happens) for the
 * link or for one of the nsub extra subscriptions (whose events go to ev, *nev). Returns
 * 1 when an alarm() fell due and its SIGALRM handler returned: a blocking call then says
 * EINTR (a handler that longjmps never comes back). */
int px_pump(uint64_t deadline_ns, const __wasi_subscription_t *sub, size_t nsub,
            __wasi_event_t *ev, size_t *nev);
/* alarm(): raises SIGALRM once its time has come (1) or says 0; *deadline_ns is lowered
 * to the alarm's time when it is sooner. */
int px_alarm_due(uint64_t *deadline_ns);
/* A connection the program closed that still has data to deliver: released by the pump
 * when it is done, or at exit. */
void px_closing_add(wtcp_sock h);

/* Descriptors. */
px_sock *px_sock_get(int fd);           /* NULL when fd is not a socket */
px_sock *px_sock_new(wtcp_sock h, int type); /* a descriptor for h, or NULL with errno */
void px_sock_free(px_sock *s);          /* releases the descriptor (not the stack's socket) */
int px_is_link_fd(int fd);              /* one of the link's own descriptors */
/* The link is (or will be) stdin/stdout: the program's stdin then reads as empty and its
 * stdout goes to stderr. */
int px_stdio_link(void);
/* 0, 1 or 2 after the program closed it (the WASI descriptor stays open). */
int px_fd_closed(int fd);

/* The socket halves of recv/send/close (socket.c), for read/write/close (fd.c). */
ssize_t px_sock_recv(px_sock *s, void *buf, size_t len, int flags, struct sockaddr *sa,
                     socklen_t *salen, int *truncated);
ssize_t px_sock_send(px_sock *s, const void *buf, size_t len, int flags, const struct sockaddr *sa,
                     socklen_t salen);
int px_sock_close(px_sock *s);

/* WTCP_E* -> errno. */
int px_errno(int wtcp_err);
/* Readiness of a socket as poll() reports it (POLLIN, POLLOUT, POLLERR, POLLHUP). */
int px_sock_revents(px_sock *s);
/* Waits until px_sock_revents(s) & want, or the deadline (ns, UINT64_MAX: none); returns 1
 * when ready, 0 at the deadline, -1 when an alarm interrupted it (EINTR). */
int px_wait_sock(px_sock *s, int want, uint64_t deadline_ns);
/* A deadline from a timeout in ms (0: none). */
uint64_t px_deadline(uint32_t timeout_ms);

#endif
