/* common.c: the harness's shared pieces: clock, data pattern, the batched packet link over
 * a SOCK_SEQPACKET socket, result lines and the end's argument vector. */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double now_ms_f(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint8_t pattern_table[PATTERN_PERIOD + PATTERN_MAX_CHUNK];

void pattern_init(void)
{
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < PATTERN_PERIOD; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        pattern_table[i] = (uint8_t)x;
    }
    for (size_t i = PATTERN_PERIOD; i < sizeof pattern_table; i++)
        pattern_table[i] = pattern_table[i - PATTERN_PERIOD];
}

const uint8_t *pattern_at(uint64_t offset)
{
    return pattern_table + offset % PATTERN_PERIOD;
}

int pattern_check(uint64_t offset, const uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t k = n < PATTERN_MAX_CHUNK ? n : PATTERN_MAX_CHUNK;
        if (memcmp(p, pattern_at(offset), k) != 0)
            return 0;
        p += k, offset += k, n -= k;
    }
    return 1;
}

/* ---- the pktlink */

void link_init(pktlink *l, int fd)
{
    memset(l, 0, sizeof *l);
    l->fd = fd;
    pthread_mutex_init(&l->mu, NULL);
    l->cap = 1024;
    l->slots = malloc(l->cap * LINK_SLOT);
    l->lens = malloc(l->cap * sizeof *l->lens);
    if (!l->slots || !l->lens)
        abort();
}

void link_free(pktlink *l)
{
    free(l->slots);
    free(l->lens);
    pthread_mutex_destroy(&l->mu);
}

static void link_grow(pktlink *l)
{
    size_t cap = l->cap * 2;
    uint8_t *slots = malloc(cap * LINK_SLOT);
    uint16_t *lens = malloc(cap * sizeof *lens);
    if (!slots || !lens)
        abort();
    for (size_t i = 0; i < l->count; i++) {
        size_t j = (l->head + i) % l->cap;
        memcpy(slots + i * LINK_SLOT, l->slots + j * LINK_SLOT, l->lens[j]);
        lens[i] = l->lens[j];
    }
    free(l->slots);
    free(l->lens);
    l->slots = slots, l->lens = lens, l->cap = cap, l->head = 0;
}

void link_push(pktlink *l, const uint8_t *pkt, size_t len)
{
    if (len > LINK_SLOT)
        abort();
    pthread_mutex_lock(&l->mu);
    if (l->count == l->cap)
        link_grow(l);
    size_t j = (l->head + l->count) % l->cap;
    memcpy(l->slots + j * LINK_SLOT, pkt, len);
    l->lens[j] = (uint16_t)len;
    l->count++;
    pthread_mutex_unlock(&l->mu);
}

size_t link_flush(pktlink *l)
{
    struct mmsghdr msgs[LINK_BATCH];
    struct iovec iov[LINK_BATCH];
    pthread_mutex_lock(&l->mu);
    while (l->count > 0 && !l->eof) {
        size_t n = 0;
        while (n < LINK_BATCH && n < l->count && l->head + n < l->cap) {
            size_t j = l->head + n;
            iov[n].iov_base = l->slots + j * LINK_SLOT;
            iov[n].iov_len = l->lens[j];
            memset(&msgs[n], 0, sizeof msgs[n]);
            msgs[n].msg_hdr.msg_iov = &iov[n];
            msgs[n].msg_hdr.msg_iovlen = 1;
            n++;
        }
        int k = sendmmsg(l->fd, msgs, (unsigned)n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                l->eof = 1; /* EPIPE, ECONNRESET: the other end is gone */
                l->count = 0;
            }
            break;
        }
        l->head = (l->head + (size_t)k) % l->cap;
        l->count -= (size_t)k;
        l->tx_packets += (uint64_t)k;
    }
    size_t left = l->count;
    pthread_mutex_unlock(&l->mu);
    return left;
}

void link_flush_all(pktlink *l)
{
    while (link_flush(l) > 0) {
        struct pollfd p = { .fd = l->fd, .events = POLLOUT };
        poll(&p, 1, 100);
    }
}

size_t link_recv(pktlink *l, link_packet_fn fn, void *user, size_t max)
{
    static _Thread_local uint8_t bufs[LINK_BATCH][LINK_SLOT];
    struct mmsghdr msgs[LINK_BATCH];
    struct iovec iov[LINK_BATCH];
    size_t total = 0;
    while (total < max && !l->eof) {
        for (int i = 0; i < LINK_BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = LINK_SLOT;
            memset(&msgs[i], 0, sizeof msgs[i]);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int k = recvmmsg(l->fd, msgs, LINK_BATCH, MSG_DONTWAIT, NULL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                l->eof = 1;
            break;
        }
        if (k == 0) {
            l->eof = 1;
            break;
        }
        for (int i = 0; i < k; i++) {
            if (msgs[i].msg_len == 0) { /* SEQPACKET: a zero-length read is the peer's close */
                l->eof = 1;
                break;
            }
            l->rx_packets++;
            total++;
            fn(user, bufs[i], msgs[i].msg_len);
        }
        if (k < LINK_BATCH)
            break;
    }
    return total;
}

void link_wait(pktlink *l, int timeout_ms)
{
    if (l->eof)
        return;
    pthread_mutex_lock(&l->mu);
    short ev = POLLIN | (l->count > 0 ? POLLOUT : 0);
    pthread_mutex_unlock(&l->mu);
    struct pollfd p = { .fd = l->fd, .events = ev };
    poll(&p, 1, timeout_ms);
}

/* ---- results */

void end_ready(const bench_opts *o)
{
    if (o->role == ROLE_SERVER && write(o->result_fd, "R", 1) != 1)
        perror("ready write");
}

void result_write(int fd, const bench_result *r)
{
    char line[512];
    int n = snprintf(line, sizeof line,
                     "rx_bytes=%" PRIu64 " tx_bytes=%" PRIu64 " rx_ms=%.3f bad_bytes=%" PRIu64
                     " drops=%" PRIu64 " drops_oow=%" PRIu64 " retransmits=%" PRIu64
                     " count=%" PRIu64 " count_ms=%.3f failed=%d timeouts=%" PRIu64
                     " recoveries=%" PRIu64 " tlp=%" PRIu64 " rack=%" PRIu64 " dup=%" PRIu64 "\n",
                     r->rx_bytes, r->tx_bytes, r->rx_ms, r->bad_bytes, r->drops, r->drops_oow,
                     r->retransmits, r->count, r->count_ms, r->failed, r->timeouts, r->recoveries,
                     r->tlp_probes, r->rack_losses, r->drops_dup);
    if (write(fd, line, (size_t)n) != n)
        perror("result write");
}

int result_read(int fd, bench_result *r)
{
    char line[512];
    size_t got = 0;
    for (;;) {
        ssize_t k = read(fd, line + got, sizeof line - 1 - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
        if (got == sizeof line - 1 || memchr(line, '\n', got))
            break;
    }
    line[got] = 0;
    memset(r, 0, sizeof *r);
    r->failed = 1;
    return sscanf(line,
                  "rx_bytes=%" SCNu64 " tx_bytes=%" SCNu64 " rx_ms=%lf bad_bytes=%" SCNu64
                  " drops=%" SCNu64 " drops_oow=%" SCNu64 " retransmits=%" SCNu64
                  " count=%" SCNu64 " count_ms=%lf failed=%d timeouts=%" SCNu64
                  " recoveries=%" SCNu64 " tlp=%" SCNu64 " rack=%" SCNu64 " dup=%" SCNu64,
                  &r->rx_bytes, &r->tx_bytes, &r->rx_ms, &r->bad_bytes, &r->drops, &r->drops_oow,
                  &r->retransmits, &r->count, &r->count_ms, &r->failed, &r->timeouts,
                  &r->recoveries, &r->tlp_probes, &r->rack_losses, &r->drops_dup) == 15
               ? 0
               : -1;
}

/* ---- an end's arguments: --end CASE ROLE BYTES SECONDS CONNS CC BUF LINKFD RESFD */

int opts_to_argv(const bench_opts *o, char buf[][32], char **argv, int max)
{
    if (max < 11)
        return -1;
    argv[0] = "--end";
    snprintf(buf[0], 32, "%d", o->bcase);
    snprintf(buf[1], 32, "%d", o->role);
    snprintf(buf[2], 32, "%" PRIu64, o->bytes);
    snprintf(buf[3], 32, "%.6f", o->seconds);
    snprintf(buf[4], 32, "%u", o->conns);
    snprintf(buf[5], 32, "%d", o->congestion);
    snprintf(buf[6], 32, "%u", o->bufsize);
    snprintf(buf[7], 32, "%d", o->link_fd);
    snprintf(buf[8], 32, "%d", o->result_fd);
    for (int i = 0; i < 9; i++)
        argv[1 + i] = buf[i];
    argv[10] = NULL;
    return 10;
}

int opts_parse(int argc, char **argv, bench_opts *o)
{
    if (argc < 10 || strcmp(argv[0], "--end") != 0)
        return -1;
    memset(o, 0, sizeof *o);
    o->bcase = atoi(argv[1]);
    o->role = atoi(argv[2]);
    o->bytes = strtoull(argv[3], NULL, 10);
    o->seconds = atof(argv[4]);
    o->conns = (uint32_t)strtoul(argv[5], NULL, 10);
    o->congestion = atoi(argv[6]);
    o->bufsize = (uint32_t)strtoul(argv[7], NULL, 10);
    o->link_fd = atoi(argv[8]);
    o->result_fd = atoi(argv[9]);
    return 0;
}
