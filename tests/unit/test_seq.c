/* test_seq.c: modular sequence number comparisons (RFC 9293 section 3.4, RFC 1982), above all
 * across the wrap at 2^32 and at the half-space distance 2^31. */
#include <stdint.h>

#include "seq.h"
#include "unit.h"

#define HALF 0x80000000u

TEST(seq_ordinary_order)
{
    CHECK(seq_lt(1, 2));
    CHECK(!seq_lt(2, 1));
    CHECK(!seq_lt(7, 7));
    CHECK(seq_leq(7, 7));
    CHECK(seq_leq(6, 7));
    CHECK(!seq_leq(8, 7));
    CHECK(seq_gt(2, 1));
    CHECK(!seq_gt(7, 7));
    CHECK(seq_geq(7, 7));
    CHECK(seq_geq(8, 7));
    CHECK(!seq_geq(6, 7));
}

TEST(seq_wraps_around_zero)
{
    CHECK(seq_lt(0xffffffffu, 0));
    CHECK(seq_gt(0, 0xffffffffu));
    CHECK(seq_lt(0xfffffff0u, 0x10));
    CHECK(seq_leq(0xfffffff0u, 0x10));
    CHECK(seq_gt(0x10, 0xfffffff0u));
    CHECK(seq_geq(0x10, 0xfffffff0u));
    CHECK(!seq_lt(0x10, 0xfffffff0u));
    CHECK(!seq_geq(0xffffffffu, 0));
}

TEST(seq_diff_is_signed_distance)
{
    CHECK_EQ_I(seq_diff(5, 0xfffffffbu), 10);
    CHECK_EQ_I(seq_diff(0xfffffffbu, 5), -10);
    CHECK_EQ_I(seq_diff(0, 0), 0);
    CHECK_EQ_I(seq_diff(0x7fffffffu, 0), INT32_MAX);
    CHECK_EQ_I(seq_diff(0x80000001u, 0), -INT32_MAX);
    CHECK_EQ_I(seq_diff(HALF, 0), INT32_MIN);
}

TEST(seq_just_under_half_space_is_ordered)
{
    /* a + (2^31 - 1) is still after a; a + (2^31 + 1) is before it. */
    static const uint32_t bases[] = {0, 1, 0x7fffffffu, HALF, 0xfffffffeu, 0xffffffffu, 0x12345678u};
    for (unsigned i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        uint32_t a = bases[i];
        CHECK(seq_lt(a, a + 0x7fffffffu));
        CHECK(seq_gt(a + 0x7fffffffu, a));
        CHECK(seq_gt(a, a + 0x80000001u));
        CHECK(seq_lt(a + 0x80000001u, a));
    }
}

TEST(seq_exactly_half_space_apart_is_before_both_ways)
{
    /* RFC 1982 leaves distance 2^31 undefined; like Linux's before(), each number
     * then counts as before the other. Callers must never compare that far apart. */
    CHECK(seq_lt(0, HALF));
    CHECK(seq_lt(HALF, 0));
    CHECK(!seq_gt(0, HALF));
    CHECK(!seq_gt(HALF, 0));
    CHECK(seq_lt(0x40000000u, 0xc0000000u));
    CHECK(seq_lt(0xc0000000u, 0x40000000u));
}

TEST(seq_relations_agree_with_each_other)
{
    uint32_t x = 0x9e3779b9u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        uint32_t a = x;
        uint32_t b = i % 3 == 0 ? a + (uint32_t)(i % 7) - 3u : x * 2654435761u;
        if (b - a == HALF)
            continue;
        CHECK_EQ_U(seq_lt(a, b), !seq_geq(a, b));
        CHECK_EQ_U(seq_gt(a, b), !seq_leq(a, b));
        CHECK_EQ_U(seq_lt(a, b), seq_gt(b, a));
        CHECK_EQ_U(seq_leq(a, b), seq_geq(b, a));
        CHECK_EQ_U(seq_lt(a, b) + seq_gt(a, b) + (a == b), 1);
    }
}

TEST(seq_in_is_half_open)
{
    CHECK(seq_in(10, 10, 20));
    CHECK(seq_in(19, 10, 20));
    CHECK(!seq_in(20, 10, 20));
    CHECK(!seq_in(9, 10, 20));
    /* An empty window holds nothing. */
    CHECK(!seq_in(10, 10, 10));
}

TEST(seq_in_window_across_the_wrap)
{
    uint32_t lo = 0xfffffff0u, hi = 0x10;
    CHECK(seq_in(0xfffffff0u, lo, hi));
    CHECK(seq_in(0xffffffffu, lo, hi));
    CHECK(seq_in(0, lo, hi));
    CHECK(seq_in(0xf, lo, hi));
    CHECK(!seq_in(0x10, lo, hi));
    CHECK(!seq_in(0xffffffefu, lo, hi));
    CHECK(!seq_in(0x80000000u, lo, hi));
}

TEST(seq_in_window_across_half_space)
{
    uint32_t lo = 0x7ffffff0u, hi = 0x80000010u;
    CHECK(seq_in(0x7ffffff0u, lo, hi));
    CHECK(seq_in(0x7fffffffu, lo, hi));
    CHECK(seq_in(0x80000000u, lo, hi));
    CHECK(seq_in(0x8000000fu, lo, hi));
    CHECK(!seq_in(0x80000010u, lo, hi));
    CHECK(!seq_in(0x7fffffefu, lo, hi));
    CHECK(!seq_in(0, lo, hi));
}

TEST(seq_in_every_offset_of_a_window)
{
    static const uint32_t bases[] = {0, 0xffffff00u, 0x7fffff00u, 0xfffffffbu};
    for (unsigned i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        uint32_t lo = bases[i], hi = lo + 300;
        for (uint32_t k = 0; k < 600; k++)
            CHECK_EQ_U(seq_in(lo - 150 + k, lo, hi), k >= 150 && k < 450);
    }
}

TEST(seq_max_and_min_across_the_wrap)
{
    CHECK_EQ_U(seq_max(1, 2), 2);
    CHECK_EQ_U(seq_min(1, 2), 1);
    CHECK_EQ_U(seq_max(0xffffffffu, 1), 1);
    CHECK_EQ_U(seq_min(0xffffffffu, 1), 0xffffffffu);
    CHECK_EQ_U(seq_max(1, 0xffffffffu), 1);
    CHECK_EQ_U(seq_min(1, 0xffffffffu), 0xffffffffu);
    CHECK_EQ_U(seq_max(0x7fffffffu, 0x80000000u), 0x80000000u);
    CHECK_EQ_U(seq_min(0x7fffffffu, 0x80000000u), 0x7fffffffu);
    CHECK_EQ_U(seq_max(5, 5), 5);
    CHECK_EQ_U(seq_min(5, 5), 5);
}

UNIT_MAIN(
    RUN(seq_ordinary_order),
    RUN(seq_wraps_around_zero),
    RUN(seq_diff_is_signed_distance),
    RUN(seq_just_under_half_space_is_ordered),
    RUN(seq_exactly_half_space_apart_is_before_both_ways),
    RUN(seq_relations_agree_with_each_other),
    RUN(seq_in_is_half_open),
    RUN(seq_in_window_across_the_wrap),
    RUN(seq_in_window_across_half_space),
    RUN(seq_in_every_offset_of_a_window),
    RUN(seq_max_and_min_across_the_wrap)
)
