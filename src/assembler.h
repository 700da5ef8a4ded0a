/* assembler.h: bookkeeping of out-of-order byte ranges received beyond RCV.NXT
 * (RFC 9293 section 3.10.7.4 "segment text"; also the source of SACK blocks, RFC 2018). */
#ifndef WTCP_ASSEMBLER_H
#define WTCP_ASSEMBLER_H

#include <stdint.h>

#define WTCP_ASM_MAX 8

typedef struct wtcp_asm {
    uint32_t count;
    /* Sorted, disjoint, non-adjacent ranges [start, end) as offsets from RCV.NXT. */
    uint32_t start[WTCP_ASM_MAX], end[WTCP_ASM_MAX];
    uint32_t last;  /* index of the range touched most recently (first SACK block) */
} wtcp_asm;

/* Records [start, end). Returns 0, or -1 when it would need more than WTCP_ASM_MAX
 * ranges (the data must then be dropped). */
int asm_add(wtcp_asm *a, uint32_t start, uint32_t end);
/* When a range starts at offset 0, removes it, shifts the others down by its length
 * and returns that length; otherwise 0. */
uint32_t asm_take_front(wtcp_asm *a);
/* Shifts every range down by n after n in-order bytes arrived (ranges must start >= n). */
void asm_shift(wtcp_asm *a, uint32_t n);
/* Moves the origin forward by n: drops what lies below n, trims a range across it,
 * shifts the rest down (the sender's scoreboard when SND.UNA advances). */
void asm_advance(wtcp_asm *a, uint32_t n);
/* 1 when [start, end) lies entirely inside one range. */
int asm_covers(const wtcp_asm *a, uint32_t start, uint32_t end);
/* Bytes covered by all ranges. */
uint32_t asm_bytes(const wtcp_asm *a);

#endif
