/* checksum.c: the Internet checksum (RFC 1071), incremental and word-at-a-time, with the TCP/UDP pseudo-header (RFC 9293 section 3.1, RFC 768). */
#include <string.h>

#include "wire.h"

/* Bytes summed per pass before the 64-bit accumulator is folded: each 8-byte word adds
 * less than 2^33, so 2^27 words stay far below 2^64. */
#define SUM_PASS ((size_t)1 << 30)

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w); /* any alignment; compiles to one load */
    return w;
}

/* Adds the two 32-bit halves: the carries pile up in the high half of the 64-bit
 * accumulator instead of needing an add-with-carry per word. */
static uint64_t add_halves(uint64_t sum, uint64_t w)
{
    return sum + (w & 0xffffffffu) + (w >> 32);
}

uint32_t wire_sum(const uint8_t *p, size_t len, uint32_t acc)
{
    /* RFC 1071 section 2(B): summing in native byte order and swapping the folded
     * result gives the same ones' complement sum as summing big-endian words. */
    uint64_t sum = 0;

    while (len >= 8) {
        size_t n = len & ~(size_t)7;
        if (n > SUM_PASS)
            n = SUM_PASS;
        len -= n;
        for (; n >= 32; n -= 32, p += 32) {
            sum = add_halves(sum, load64(p));
            sum = add_halves(sum, load64(p + 8));
            sum = add_halves(sum, load64(p + 16));
            sum = add_halves(sum, load64(p + 24));
        }
        for (; n >= 8; n -= 8, p += 8)
            sum = add_halves(sum, load64(p));
        sum = (sum & 0xffffffffu) + (sum >> 32);
    }
    if (len > 0) {
        /* Zero padding after the last byte makes an odd final byte the high byte of
         * its big-endian word, whatever the host order. */
        uint8_t tail[8] = {0};
        memcpy(tail, p, len);
        sum = add_halves(sum, load64(tail));
    }

    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    if (host_is_little_endian())
        sum = ((sum & 0xffu) << 8) | (sum >> 8);

    uint32_t total = acc + (uint32_t)sum;
    if (total < acc)
        total++; /* end-around carry: 2^32 is 1 modulo 0xffff */
    return total;
}

uint16_t wire_fold(uint32_t acc)
{
    acc = (acc & 0xffffu) + (acc >> 16);
    acc = (acc & 0xffffu) + (acc >> 16);
    return (uint16_t)~acc;
}

uint32_t wire_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len)
{
    return (src >> 16) + (src & 0xffffu) + (dst >> 16) + (dst & 0xffffu) + proto +
           (len >> 16) + (len & 0xffffu);
}
