/* middle.h: the simulated link between the two ends: delay, seeded random loss, reordering. */
#ifndef SOCKPAIR_MIDDLE_H
#define SOCKPAIR_MIDDLE_H

#include <stdint.h>

typedef struct middle_opts {
    double rtt_ms;      /* round-trip delay, split evenly between the directions */
    double loss_pct;    /* each packet, each direction */
    double reorder_pct; /* a packet is held back until the next one has passed */
    uint64_t seed;
} middle_opts;

/* Forwards between fd_a and fd_b until either side hangs up; returns 0. Prints a summary
 * of what it did to stderr when verbose. */
int middle_main(int fd_a, int fd_b, const middle_opts *m, int verbose);

#endif
