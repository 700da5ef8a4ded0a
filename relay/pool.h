/* pool.h: the relay's address pool and the table from a client's address to the client. */
#ifndef WTCP_RELAY_POOL_H
#define WTCP_RELAY_POOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct pool_slot {
    uint32_t addr; /* 0: empty */
    void *owner;
} pool_slot;

typedef struct relay_pool {
    uint32_t first, last; /* assignable addresses, inclusive (host order) */
    uint32_t reserved;    /* the relay's own address, never assigned */
    uint32_t cursor;      /* where the search for a free address starts */
    size_t max;           /* at most this many assigned at once */
    size_t used;
    size_t cap;           /* slots, a power of two >= 2 * max */
    pool_slot *slots;
} relay_pool;

/* The subnet net/prefix (prefix 1..30) minus its network and broadcast addresses and
 * `reserved`; at most `max` addresses out at once. 0, or -1 (bad subnet, no memory). */
int pool_init(relay_pool *p, uint32_t net, unsigned prefix, uint32_t reserved, size_t max);
void pool_destroy(relay_pool *p);
/* Hands out a free address and remembers its owner. Addresses are handed out in turn
 * (the search goes on after the last one given), so a freed address is not reused at
 * once. 0 when the pool is exhausted or `max` are out. */
uint32_t pool_take(relay_pool *p, void *owner);
/* The owner of addr, or NULL. */
void *pool_find(const relay_pool *p, uint32_t addr);
void pool_release(relay_pool *p, uint32_t addr);
/* How many addresses the subnet can give out. */
uint64_t pool_capacity(const relay_pool *p);

#endif
