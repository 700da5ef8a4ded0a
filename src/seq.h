/* seq.h: modular 32-bit sequence number comparisons (RFC 9293 section 3.4, RFC 1982). */
#ifndef WTCP_SEQ_H
#define WTCP_SEQ_H

#include <stdint.h>

static inline int32_t seq_diff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }
static inline int seq_lt(uint32_t a, uint32_t b) { return seq_diff(a, b) < 0; }
static inline int seq_leq(uint32_t a, uint32_t b) { return seq_diff(a, b) <= 0; }
static inline int seq_gt(uint32_t a, uint32_t b) { return seq_diff(a, b) > 0; }
static inline int seq_geq(uint32_t a, uint32_t b) { return seq_diff(a, b) >= 0; }
/* lo <= x < hi, in sequence space. */
static inline int seq_in(uint32_t x, uint32_t lo, uint32_t hi) { return seq_leq(lo, x) && seq_lt(x, hi); }
static inline uint32_t seq_max(uint32_t a, uint32_t b) { return seq_gt(a, b) ? a : b; }
static inline uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }

#endif
