/* ring.h: a byte ring buffer for socket send and receive data, with writes at an offset
 * beyond the filled part (out-of-order data) and reads at an offset (retransmission). */
#ifndef WTCP_RING_H
#define WTCP_RING_H

#include <stdint.h>

typedef struct wtcp_ring {
    uint8_t *buf;
    uint32_t cap;   /* bytes */
    uint32_t head;  /* index of the first filled byte */
    uint32_t len;   /* filled bytes */
} wtcp_ring;

static inline uint32_t ring_free(const wtcp_ring *r) { return r->cap - r->len; }
/* Appends up to n bytes; returns bytes copied. */
uint32_t ring_write(wtcp_ring *r, const void *src, uint32_t n);
/* Copies n bytes to position len + off (beyond the filled part) without changing len;
 * the caller guarantees off + n <= ring_free(). */
void ring_write_at(wtcp_ring *r, uint32_t off, const void *src, uint32_t n);
/* Marks n more bytes after the filled part as filled (written earlier by ring_write_at). */
void ring_commit(wtcp_ring *r, uint32_t n);
/* Copies n filled bytes starting at offset off into dst (off + n <= len). */
void ring_peek(const wtcp_ring *r, uint32_t off, void *dst, uint32_t n);
/* Drops n bytes from the front (n <= len). */
void ring_consume(wtcp_ring *r, uint32_t n);
/* Copies up to n bytes from the front into dst and consumes them; returns count. */
uint32_t ring_read(wtcp_ring *r, void *dst, uint32_t n);
/* Moves the first `keep` bytes of the ring's space (filled bytes and whatever was
 * written beyond them) to the start of newbuf, of newcap bytes (keep <= both caps).
 * Returns the old buffer, for the caller to free. */
uint8_t *ring_move(wtcp_ring *r, uint8_t *newbuf, uint32_t newcap, uint32_t keep);

#endif
