/* assembler.c: out-of-order range bookkeeping for TCP reassembly (RFC 9293 3.10.7.4). */
#include "assembler.h"

int asm_add(wtcp_asm *a, uint32_t start, uint32_t end)
{
    if (start >= end)
        return 0;
    /* Find the first range that ends at or after start (touching counts as overlap). */
    uint32_t i = 0;
    while (i < a->count && a->end[i] < start)
        i++;
    /* Ranges i..j-1 overlap or touch [start, end). */
    uint32_t j = i;
    while (j < a->count && a->start[j] <= end)
        j++;
    if (i == j) {
        if (a->count == WTCP_ASM_MAX)
            return -1;
        for (uint32_t k = a->count; k > i; k--) {
            a->start[k] = a->start[k - 1];
            a->end[k] = a->end[k - 1];
        }
        a->start[i] = start;
        a->end[i] = end;
        a->count++;
        a->last = i;
        return 0;
    }
    if (a->start[i] < start)
        start = a->start[i];
    if (a->end[j - 1] > end)
        end = a->end[j - 1];
    a->start[i] = start;
    a->end[i] = end;
    uint32_t removed = j - i - 1;
    for (uint32_t k = i + 1; k + removed < a->count; k++) {
        a->start[k] = a->start[k + removed];
        a->end[k] = a->end[k + removed];
    }
    a->count -= removed;
    a->last = i;
    return 0;
}

void asm_shift(wtcp_asm *a, uint32_t n)
{
    for (uint32_t k = 0; k < a->count; k++) {
        a->start[k] -= n;
        a->end[k] -= n;
    }
}

void asm_advance(wtcp_asm *a, uint32_t n)
{
    uint32_t keep = 0;
    for (uint32_t k = 0; k < a->count; k++) {
        if (a->end[k] <= n)
            continue;
        a->start[keep] = (a->start[k] > n ? a->start[k] : n) - n;
        a->end[keep] = a->end[k] - n;
        keep++;
    }
    a->count = keep;
    a->last = 0;
}

int asm_covers(const wtcp_asm *a, uint32_t start, uint32_t end)
{
    for (uint32_t k = 0; k < a->count; k++)
        if (a->start[k] <= start && end <= a->end[k])
            return 1;
    return 0;
}

uint32_t asm_bytes(const wtcp_asm *a)
{
    uint32_t sum = 0;
    for (uint32_t k = 0; k < a->count; k++)
        sum += a->end[k] - a->start[k];
    return sum;
}

uint32_t asm_take_front(wtcp_asm *a)
{
    if (a->count == 0 || a->start[0] != 0)
        return 0;
    uint32_t n = a->end[0];
    for (uint32_t k = 1; k < a->count; k++) {
        a->start[k - 1] = a->start[k] - n;
        a->end[k - 1] = a->end[k] - n;
    }
    a->count--;
    a->last = a->last > 0 ? a->last - 1 : 0;
    return n;
}
