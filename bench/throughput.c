/* throughput.c: bulk-transfer speed of the core: two stacks in one process, a lossless
 * in-memory link, one connection; prints a table of medians over several runs.
 *
 * The stacks and the link (no delay, no faults) are the shared test harness's
 * (tests/harness/); the figures are wall-clock time. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "wtcp.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct result {
    double seconds;
    uint64_t packets;
} result;

static result run(size_t total, uint32_t bufsize, uint16_t mtu)
{
    harness *h = harness_new(1); /* virtual ms: 1 per round trip of the link */
    wtcp_config c;
    if (!h)
        abort();
    wtcp_config_init(&c);
    c.mtu = mtu;
    c.sndbuf = c.rcvbuf = bufsize;
    c.addr = 0x0a000001;
    if (harness_add_stack(h, &c) != 0)
        abort();
    c.addr = 0x0a000002;
    c.isn_key[0] = 1;
    if (harness_add_stack(h, &c) != 1)
        abort();
    wtcp_stack *a = h->node[0].st, *b = h->node[1].st;
    int l = wtcp_socket(b, WTCP_SOCK_STREAM);
    wtcp_bind(b, l, 0, 5001);
    wtcp_listen(b, l, 1);
    int s = wtcp_socket(a, WTCP_SOCK_STREAM);
    wtcp_connect(a, s, 0x0a000002, 5001);
    static uint8_t chunk[1 << 16];
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (uint8_t)(i * 31);
    size_t sent = 0, got = 0;
    int r = -1;
    double t0 = now_s();
    while (got < total) {
        while (sent < total) {
            size_t n = total - sent < sizeof chunk ? total - sent : sizeof chunk;
            int k = wtcp_send(a, s, chunk, n);
            if (k <= 0)
                break;
            sent += (size_t)k;
        }
        harness_poll(h);
        /* With no delay, what the stacks send in answer is due at once: this delivers
         * until both directions are empty. */
        int moved = harness_deliver_due(h);
        if (r < 0)
            r = wtcp_accept(b, l, NULL, NULL);
        if (r > 0) {
            int k;
            while ((k = wtcp_recv(b, r, chunk, sizeof chunk)) > 0)
                got += (size_t)k;
        }
        if (!moved)
            harness_advance(h, h->now + 1);
    }
    result res = { now_s() - t0, h->dir[0][1].sent + h->dir[1][0].sent };
    harness_free(h);
    return res;
}

static int cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
    size_t total = (size_t)(argc > 1 ? atof(argv[1]) : 256) * 1024 * 1024;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (runs < 1 || runs > 101)
        runs = 5;
    static const struct { uint32_t buf; uint16_t mtu; } cfgs[] = {
        { 256 * 1024, 1500 }, { 1024 * 1024, 1500 }, { 1024 * 1024, 9000 }, { 64 * 1024, 1500 },
    };
    printf("wtcp core bulk transfer, two stacks in one process, lossless link, %zu MiB, median of %d runs\n\n",
           total >> 20, runs);
    printf("%-10s %-6s %12s %12s %14s %12s\n", "buffers", "mtu", "MB/s", "Gbit/s", "packets/s", "ns/packet");
    for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; k++) {
        double secs[101];
        uint64_t packets = 0;
        for (int i = 0; i < runs; i++) {
            result r = run(total, cfgs[k].buf, cfgs[k].mtu);
            secs[i] = r.seconds;
            packets = r.packets;
        }
        qsort(secs, (size_t)runs, sizeof secs[0], cmp);
        double med = secs[runs / 2];
        char bufs[16];
        snprintf(bufs, sizeof bufs, "%u KiB", cfgs[k].buf / 1024);
        printf("%-10s %-6u %12.0f %12.2f %14.0f %12.0f\n", bufs, cfgs[k].mtu, total / med / 1e6,
               total * 8 / med / 1e9, packets / med, med * 1e9 / (double)packets);
    }
    printf("\n(packets counts both directions; each packet is built, checksummed, copied through\n"
           " the link and parsed once. A second core of the machine is not used.)\n");
    return 0;
}
