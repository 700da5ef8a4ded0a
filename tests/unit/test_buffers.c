/* test_buffers.c: the ring buffer (send/receive data) and the out-of-order assembler. */
#include <stdlib.h>

#include "assembler.h"
#include "ring.h"
#include "unit.h"

static uint8_t storage[64];

static wtcp_ring ring_of(uint32_t cap)
{
    wtcp_ring r = { storage, cap, 0, 0 };
    memset(storage, 0xee, sizeof storage);
    return r;
}

TEST(ring_write_read_wraps)
{
    wtcp_ring r = ring_of(10);
    uint8_t out[16];
    CHECK_EQ_U(ring_write(&r, "abcdefg", 7), 7);
    CHECK_EQ_U(ring_read(&r, out, 5), 5);
    CHECK_MEM(out, "abcde", 5);
    /* 2 left; 8 free; the write wraps around the end. */
    CHECK_EQ_U(ring_free(&r), 8);
    CHECK_EQ_U(ring_write(&r, "hijklmnopq", 10), 8);
    CHECK_EQ_U(r.len, 10);
    CHECK_EQ_U(ring_read(&r, out, 16), 10);
    CHECK_MEM(out, "fghijklmno", 10);
    CHECK_EQ_U(ring_read(&r, out, 16), 0);
}

TEST(ring_full_is_a_short_write)
{
    wtcp_ring r = ring_of(4);
    CHECK_EQ_U(ring_write(&r, "abcdef", 6), 4);
    CHECK_EQ_U(ring_write(&r, "x", 1), 0);
    CHECK_EQ_U(ring_free(&r), 0);
}

TEST(ring_peek_at_offset_across_the_wrap)
{
    wtcp_ring r = ring_of(8);
    uint8_t out[8];
    ring_write(&r, "012345", 6);
    ring_consume(&r, 5);
    ring_write(&r, "6789ab", 6); /* occupies 5..7 and 0..3 */
    ring_peek(&r, 1, out, 6);
    CHECK_MEM(out, "6789ab", 6);
    ring_peek(&r, 3, out, 2);
    CHECK_MEM(out, "89", 2);
    CHECK_EQ_U(r.len, 7);
}

TEST(ring_write_at_then_commit)
{
    wtcp_ring r = ring_of(8);
    uint8_t out[8];
    ring_write(&r, "ab", 2);
    ring_write_at(&r, 2, "ef", 2); /* out of order: offset 2 beyond the filled part */
    CHECK_EQ_U(r.len, 2);
    ring_write_at(&r, 0, "cd", 2);
    ring_commit(&r, 4);
    CHECK_EQ_U(r.len, 6);
    CHECK_EQ_U(ring_read(&r, out, 8), 6);
    CHECK_MEM(out, "abcdef", 6);
}

TEST(ring_emptied_keeps_out_of_order_data_in_place)
{
    /* Reading everything must not move the base under data written beyond len. */
    wtcp_ring r = ring_of(8);
    uint8_t out[8];
    ring_write(&r, "abc", 3);
    ring_write_at(&r, 1, "e", 1);
    CHECK_EQ_U(ring_read(&r, out, 8), 3);
    ring_write_at(&r, 0, "d", 1);
    ring_commit(&r, 2);
    CHECK_EQ_U(ring_read(&r, out, 8), 2);
    CHECK_MEM(out, "de", 2);
}

TEST(ring_random_against_model)
{
    static uint8_t big[1000];
    wtcp_ring r = { big, 997, 0, 0 };
    static uint8_t model[1 << 16];
    uint32_t mhead = 0, mlen = 0, next = 0;
    uint64_t x = 42;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint32_t n = (uint32_t)(x % 300);
        uint8_t tmp[300];
        if (x & (1u << 20)) {
            for (uint32_t k = 0; k < n; k++)
                tmp[k] = (uint8_t)(next + k);
            uint32_t w = ring_write(&r, tmp, n);
            CHECK_EQ_U(w, n < 997 - mlen ? n : 997 - mlen);
            for (uint32_t k = 0; k < w; k++)
                model[(mhead + mlen + k) & 0xffff] = (uint8_t)(next + k);
            next += w;
            mlen += w;
        } else {
            uint32_t got = ring_read(&r, tmp, n);
            CHECK_EQ_U(got, n < mlen ? n : mlen);
            for (uint32_t k = 0; k < got; k++)
                CHECK_EQ_U(tmp[k], model[(mhead + k) & 0xffff]);
            mhead += got;
            mlen -= got;
        }
        CHECK_EQ_U(r.len, mlen);
    }
}

TEST(asm_in_order_front)
{
    wtcp_asm a = { 0 };
    CHECK_EQ_U(asm_add(&a, 0, 10), 0);
    CHECK_EQ_U(asm_take_front(&a), 10);
    CHECK_EQ_U(a.count, 0);
    CHECK_EQ_U(asm_take_front(&a), 0);
}

TEST(asm_hole_then_fill_merges)
{
    wtcp_asm a = { 0 };
    asm_add(&a, 10, 20);
    asm_add(&a, 30, 40);
    CHECK_EQ_U(a.count, 2);
    CHECK_EQ_U(asm_take_front(&a), 0);
    asm_add(&a, 0, 10); /* touches [10,20) */
    CHECK_EQ_U(asm_take_front(&a), 20);
    CHECK_EQ_U(a.count, 1);
    CHECK_EQ_U(a.start[0], 10); /* shifted by 20 */
    CHECK_EQ_U(a.end[0], 20);
}

TEST(asm_overlaps_and_duplicates)
{
    wtcp_asm a = { 0 };
    asm_add(&a, 5, 10);
    asm_add(&a, 20, 25);
    asm_add(&a, 8, 22); /* bridges both */
    CHECK_EQ_U(a.count, 1);
    CHECK_EQ_U(a.start[0], 5);
    CHECK_EQ_U(a.end[0], 25);
    asm_add(&a, 6, 7); /* inside */
    CHECK_EQ_U(a.count, 1);
    CHECK_EQ_U(a.end[0], 25);
    asm_add(&a, 1, 3);
    CHECK_EQ_U(a.count, 2);
    CHECK_EQ_U(a.start[0], 1);
    CHECK_EQ_U(a.last, 0);
}

TEST(asm_bounded)
{
    wtcp_asm a = { 0 };
    for (uint32_t i = 0; i < WTCP_ASM_MAX; i++)
        CHECK_EQ_U(asm_add(&a, 10 + 10 * i, 15 + 10 * i), 0);
    CHECK(asm_add(&a, 200, 210) == -1);
    CHECK_EQ_U(a.count, WTCP_ASM_MAX);
    /* Merging into an existing range still works when full. */
    CHECK_EQ_U(asm_add(&a, 15, 20), 0);
    CHECK_EQ_U(a.count, WTCP_ASM_MAX - 1);
}

TEST(asm_random_against_bitmap)
{
    uint64_t x = 7;
    for (int round = 0; round < 200; round++) {
        wtcp_asm a = { 0 };
        uint8_t have[256] = { 0 };
        uint32_t base = 0;
        for (int i = 0; i < 40; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            uint32_t s = (uint32_t)(x % 200), len = 1 + (uint32_t)((x >> 8) % 30);
            if (asm_add(&a, s, s + len) == 0)
                for (uint32_t k = s; k < s + len; k++)
                    have[k] = 1;
            uint32_t n = asm_take_front(&a);
            uint32_t expect = 0;
            while (have[expect])
                expect++;
            CHECK_EQ_U(n, expect);
            memmove(have, have + n, 256 - n);
            memset(have + 256 - n, 0, n);
            base += n;
            for (uint32_t k = 0; k < a.count; k++) {
                CHECK(a.start[k] < a.end[k]);
                if (k)
                    CHECK(a.end[k - 1] < a.start[k]);
                for (uint32_t b = a.start[k]; b < a.end[k]; b++)
                    CHECK(have[b]);
            }
        }
        (void)base;
    }
}

UNIT_MAIN(RUN(ring_write_read_wraps), RUN(ring_full_is_a_short_write),
          RUN(ring_peek_at_offset_across_the_wrap), RUN(ring_write_at_then_commit),
          RUN(ring_emptied_keeps_out_of_order_data_in_place), RUN(ring_random_against_model),
          RUN(asm_in_order_front), RUN(asm_hole_then_fill_merges), RUN(asm_overlaps_and_duplicates),
          RUN(asm_bounded), RUN(asm_random_against_bitmap))
