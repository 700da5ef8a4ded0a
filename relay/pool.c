/* pool.c: address pool and address-to-client table (open addressing, backward-shift deletion). */
#include "pool.h"

#include <stdlib.h>

static size_t slot_of(const relay_pool *p, uint32_t addr)
{
    return (size_t)((addr * 2654435761u) >> 7) & (p->cap - 1);
}

int pool_init(relay_pool *p, uint32_t net, unsigned prefix, uint32_t reserved, size_t max)
{
    p->slots = NULL;
    if (prefix < 1 || prefix > 30 || max == 0)
        return -1;
    uint32_t mask = 0xffffffffu << (32 - prefix);
    net &= mask;
    p->first = net + 1;
    p->last = (net | ~mask) - 1;
    p->reserved = reserved;
    p->cursor = p->first;
    p->max = max;
    p->used = 0;
    p->cap = 16;
    while (p->cap < 2 * max)
        p->cap *= 2;
    p->slots = calloc(p->cap, sizeof *p->slots);
    return p->slots ? 0 : -1;
}

void pool_destroy(relay_pool *p)
{
    free(p->slots);
    p->slots = NULL;
}

uint64_t pool_capacity(const relay_pool *p)
{
    uint64_t n = (uint64_t)p->last - p->first + 1;
    if (p->reserved >= p->first && p->reserved <= p->last)
        n--;
    return n;
}

void *pool_find(const relay_pool *p, uint32_t addr)
{
    if (!addr || !p->slots)
        return NULL;
    for (size_t i = slot_of(p, addr);; i = (i + 1) & (p->cap - 1)) {
        if (p->slots[i].addr == addr)
            return p->slots[i].owner;
        if (!p->slots[i].addr)
            return NULL;
    }
}

static void insert(relay_pool *p, uint32_t addr, void *owner)
{
    size_t i = slot_of(p, addr);
    while (p->slots[i].addr)
        i = (i + 1) & (p->cap - 1);
    p->slots[i].addr = addr;
    p->slots[i].owner = owner;
    p->used++;
}

uint32_t pool_take(relay_pool *p, void *owner)
{
    if (p->used >= p->max)
        return 0;
    uint64_t span = (uint64_t)p->last - p->first + 1;
    uint32_t a = p->cursor;
    for (uint64_t tried = 0; tried < span; tried++) {
        uint32_t next = a == p->last ? p->first : a + 1;
        if (a != p->reserved && !pool_find(p, a)) {
            insert(p, a, owner);
            p->cursor = next;
            return a;
        }
        a = next;
    }
    return 0;
}

void pool_release(relay_pool *p, uint32_t addr)
{
    if (!addr || !p->slots)
        return;
    size_t i = slot_of(p, addr);
    while (p->slots[i].addr != addr) {
        if (!p->slots[i].addr)
            return;
        i = (i + 1) & (p->cap - 1);
    }
    /* Backward-shift: pull later entries of the probe run into the hole. */
    size_t hole = i;
    for (size_t j = (i + 1) & (p->cap - 1); p->slots[j].addr; j = (j + 1) & (p->cap - 1)) {
        size_t home = slot_of(p, p->slots[j].addr);
        /* j may move to hole if home is not cyclically in (hole, j]. */
        int in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!in_range) {
            p->slots[hole] = p->slots[j];
            hole = j;
        }
    }
    p->slots[hole].addr = 0;
    p->slots[hole].owner = NULL;
    p->used--;
}
