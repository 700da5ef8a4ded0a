/* common.h: what both harness binaries share: options, the data pattern, the clock, the
 * packet link over an AF_UNIX SOCK_SEQPACKET socket and the result line an end reports. */
#ifndef SOCKPAIR_COMMON_H
#define SOCKPAIR_COMMON_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define ADDR_CLIENT 0x0a000001u /* 10.0.0.1 */
#define ADDR_SERVER 0x0a000002u /* 10.0.0.2 */
#define SERVER_PORT 5001
#define LINK_MTU 1500
#define LINK_SLOT 2048          /* bytes per queued packet: MTU 1500 fits */
#define LINK_BATCH 64           /* packets per sendmmsg/recvmmsg */
#define RR_SIZE 64

/* What one run does; the driver passes it to each end (as arguments when it execs one). */
enum bench_case { CASE_BULK_ONE, CASE_BULK_BOTH, CASE_RR, CASE_CONN, CASE_LINK };
enum bench_role { ROLE_CLIENT, ROLE_SERVER };

typedef struct bench_opts {
    int bcase;
    int role;
    uint64_t bytes;      /* bulk: bytes each sender moves */
    double seconds;      /* rr, conn, link: how long the client runs */
    uint32_t conns;      /* conn: at most this many connections */
    int congestion;      /* wtcp: WTCP_CC_* (0: the stack's default) */
    uint32_t bufsize;    /* wtcp: send and receive buffer bytes */
    int link_fd, result_fd;
} bench_opts;

/* What an end measured; written as one text line "key=value ..." to the result pipe. */
typedef struct bench_result {
    uint64_t rx_bytes, tx_bytes;
    double rx_ms;          /* receiver: established (first byte for lwIP) to end of stream */
    uint64_t bad_bytes;    /* chunks that did not match the pattern */
    uint64_t drops, drops_oow, retransmits; /* wtcp counters; lwIP: -1 (not known) */
    uint64_t drops_dup;                     /* wtcp: segments dropped as duplicates */
    uint64_t timeouts, recoveries, tlp_probes, rack_losses; /* wtcp's sender, for the loss rows */
    uint64_t count;        /* rr: round trips, conn: connections, link: packets */
    double count_ms;       /* over how long */
    int failed;            /* 1: the end gave up (timeout, error) */
} bench_result;

#define RESULT_UNKNOWN UINT64_MAX

double now_ms_f(void);
uint64_t now_ms(void);

/* The data pattern: stream offset o holds pattern_table[o % PATTERN_PERIOD]; a prime
 * period, so a misplaced segment never matches by accident. */
#define PATTERN_PERIOD 65521u
#define PATTERN_MAX_CHUNK 65536u
void pattern_init(void);
const uint8_t *pattern_at(uint64_t offset); /* valid for PATTERN_MAX_CHUNK bytes */
int pattern_check(uint64_t offset, const uint8_t *p, size_t n); /* 1: matches */

/* The link: a queue of packets to send (so no end ever blocks on a full socket and two
 * senders cannot deadlock) and batched non-blocking I/O. push may be called from any
 * thread (lwIP's tcpip thread); the owner thread pumps with link_recv/link_flush. */
typedef struct pktlink {
    int fd;
    int eof;                /* the other end hung up */
    pthread_mutex_t mu;
    uint8_t *slots;         /* ring of LINK_SLOT-byte packets */
    uint16_t *lens;
    size_t cap, head, count;
    uint64_t tx_packets, rx_packets;
} pktlink;

void link_init(pktlink *l, int fd);
void link_free(pktlink *l);
void link_push(pktlink *l, const uint8_t *pkt, size_t len);
/* Sends what it can without blocking; returns packets still queued. */
size_t link_flush(pktlink *l);
/* Blocks until everything queued is sent (or the peer is gone). */
void link_flush_all(pktlink *l);
typedef void (*link_packet_fn)(void *user, const uint8_t *pkt, size_t len);
/* Reads every waiting packet (up to max) and hands each to fn; returns how many. */
size_t link_recv(pktlink *l, link_packet_fn fn, void *user, size_t max);
/* Waits up to timeout_ms (-1: forever) for input, or room when packets are queued. */
void link_wait(pktlink *l, int timeout_ms);

/* The server end is listening: the driver starts the client only then. */
void end_ready(const bench_opts *o);
void result_write(int fd, const bench_result *r);
int result_read(int fd, bench_result *r); /* 0 on success */

/* Argument vector for an end, and its parser (the lwIP binary is exec'd with it). */
int opts_to_argv(const bench_opts *o, char buf[][32], char **argv, int max);
int opts_parse(int argc, char **argv, bench_opts *o);

#endif
