/* loop.h: the event loop of the WASI commands: IPv4 packets framed over stdin/stdout, timers through poll(). */
#ifndef WASI_LOOP_H
#define WASI_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <wtcp.h>

/*
 * The link: each packet on stdin (from the relay) and on stdout (to it) is one IPv4
 * packet preceded by its length as 2 bytes, big-endian. stderr is for messages.
 *
 * The stack's settings come from the environment (the relay sets them): link.h.
 *
 * A command fills in on_event (and optionally on_net_closed), creates its sockets, and
 * calls loop_run(), which returns the exit status. Malformed framing on stdin is fatal:
 * a message on stderr and exit status 1.
 */

typedef struct loop loop;

struct loop {
    wtcp_stack *stack;
    const char *prog;   /* name for messages */
    uint32_t addr;      /* host byte order */
    uint32_t gateway;   /* 0: none */
    uint8_t prefix;
    uint16_t mtu;
    int verbose;
    uint64_t now;       /* milliseconds, monotonic; fresh before every call into the stack */

    /* Set by the command. */
    void (*on_event)(loop *l, wtcp_sock s, uint32_t events);
    /* stdin ended cleanly (or stdout broke): returns the exit status (NULL: 0). It must
     * not call into the stack. */
    int (*on_net_closed)(loop *l);
    /* Called once when now reaches timer_at (absolute ms, 0: none). */
    void (*on_timer)(loop *l);
    uint64_t timer_at;
    void *user;

    /* Private. */
    int stopped, status;
    uint8_t *in, *out;
    size_t in_len, in_cap, out_len, out_cap;
    uint64_t in_offset;         /* stdin bytes consumed, for messages */
    uint64_t frames_in, frames_out;
    uint64_t read_retries;      /* read() on stdin said EAGAIN or EINTR */
    int poll_broken;            /* poll() on stdin is unsupported (a regular file) */
    int out_broken;             /* stdout is closed: output is dropped */
};

/* Reads the environment, creates the stack. Returns 0, or prints why and returns -1. */
int loop_init(loop *l, const char *prog);
/* Runs until loop_stop() or the end of stdin; returns the exit status. */
int loop_run(loop *l);
/* Ends loop_run() after this turn with the given exit status (the first one counts). */
void loop_stop(loop *l, int status);
/* Prints "prog: message" on stderr and stops with status 1. */
void loop_fail(loop *l, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Bytes from the link as stdin would bring them (any split): as many as the input buffer
 * takes are added and every complete frame goes to the stack; returns how many were taken.
 * Malformed framing stops the loop (loop_fail's message, status 1). For tests and fuzzing;
 * loop_run reads stdin itself. */
size_t loop_input(loop *l, const uint8_t *data, size_t len);
/* Sends what the stack has queued (wtcp_poll) and writes it out now. */
void loop_flush(loop *l);
void loop_free(loop *l);

/* "a.b.c.d:port" -> host-order address and port. Returns 0 or -1. */
int loop_parse_hostport(const char *text, uint32_t *addr, uint16_t *port);
/* A decimal port 1..65535. Returns 0 or -1. */
int loop_parse_port(const char *text, uint16_t *port);

#endif
