/* onebox.h: wtcp runs with both stacks in one process: the same cases as the two-process
 * harness, and many idle connections with a counting allocator. */
#ifndef SOCKPAIR_ONEBOX_H
#define SOCKPAIR_ONEBOX_H

#include "common.h"

/* Runs client and server ends of o->bcase in this process; fills both results. */
int onebox_run(const bench_opts *o, bench_result *client, bench_result *server);

typedef struct idle_result {
    uint32_t conns;
    double open_ms;                  /* first connect to the last accepted and established */
    uint64_t client_bytes, server_bytes; /* heap in use by each stack's connections */
    int failed;
} idle_result;

/* Opens n connections between two stacks and leaves them idle. */
int onebox_idle(uint32_t n, idle_result *r);

#endif
