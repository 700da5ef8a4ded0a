/* test_harness.c: the shared test harness itself: routing among several stacks, the link's
 * MTU and vanish switch, seeded determinism, pump mode, event bits and the log. */
#include <stdlib.h>

#include "harness.h"
#include "unit.h"
#include "wtcp.h"

#define ADDR(i) (0x0a000001u + (uint32_t)(i))

static harness *make(int nstacks, const harness_faults *f)
{
    harness *h = harness_new(1000);
    if (!h)
        abort();
    for (int i = 0; i < nstacks; i++) {
        wtcp_config c;
        wtcp_config_init(&c);
        c.addr = ADDR(i);
        c.isn_key[0] = (uint8_t)(i + 1);
        if (harness_add_stack(h, &c) != i)
            abort();
    }
    harness_set_faults_all(h, f);
    h->strict = 1;
    return h;
}

TEST(three_stacks_route_by_destination_address)
{
    harness_faults f = { .delay_ms = 1 };
    harness *h = make(3, &f);
    wtcp_sock ab, ba, bl, ac, ca, cl;
    uint8_t buf[16];
    CHECK_EQ_I(harness_connect_pair(h, 0, 1, 80, &ab, &ba, &bl), 0);
    CHECK_EQ_I(harness_connect_pair(h, 0, 2, 81, &ac, &ca, &cl), 0);
    CHECK_EQ_I(wtcp_send(h->node[0].st, ab, "to-b", 4), 4);
    CHECK_EQ_I(wtcp_send(h->node[0].st, ac, "to-c", 4), 4);
    CHECK_EQ_I(harness_run(h, 100), 0);
    CHECK_EQ_I(wtcp_recv(h->node[1].st, ba, buf, sizeof buf), 4);
    CHECK_MEM(buf, "to-b", 4);
    CHECK_EQ_I(wtcp_recv(h->node[2].st, ca, buf, sizeof buf), 4);
    CHECK_MEM(buf, "to-c", 4);
    CHECK(h->dir[0][1].delivered > 0 && h->dir[0][2].delivered > 0);
    CHECK_EQ_U(h->dir[1][2].sent + h->dir[2][1].sent, 0);
    CHECK(!h->failed);
    CHECK_EQ_U(harness_free(h), 0);
}

TEST(link_mtu_drops_larger_packets)
{
    harness_faults f = { .delay_ms = 1 };
    harness *h = make(2, &f);
    wtcp_sock a, b, l;
    CHECK_EQ_I(harness_connect_pair(h, 0, 1, 80, &a, &b, &l), 0);
    f.mtu = 1000; /* a black hole for full-sized segments, A to B only */
    harness_set_faults(h, 0, 1, &f);
    static uint8_t data[4000];
    uint64_t sent = h->dir[0][1].sent;
    CHECK_EQ_I(wtcp_send(h->node[0].st, a, data, sizeof data), 4000);
    CHECK_EQ_I(harness_run(h, 50), 0);
    /* 1448 + 1448 + 1104 bytes, each with headers, then a tail loss probe and resends:
     * every one of them too big. */
    CHECK(h->dir[0][1].too_big >= 3);
    CHECK_EQ_U(h->dir[0][1].too_big, h->dir[0][1].sent - sent);
    CHECK_EQ_I(wtcp_readable(h->node[1].st, b), 0); /* nothing got through */
    CHECK_EQ_U(harness_free(h), 0);
}

/* A transfer over a lossy, reordering link: figures that must replay exactly. */
static void lossy_run(uint64_t seed, uint64_t out[4])
{
    harness_faults f = { .delay_ms = 2, .jitter_ms = 1, .loss = 5, .reorder = 10, .seed = seed };
    harness *h = make(2, &f);
    wtcp_sock a, b, l;
    static uint8_t data[1 << 16], sink[1 << 16];
    uint64_t got = 0;
    memset(out, 0, 4 * sizeof *out);
    if (harness_connect_pair(h, 0, 1, 80, &a, &b, &l) == 0) {
        wtcp_send(h->node[0].st, a, data, sizeof data);
        for (int i = 0; i < 200 && got < sizeof data; i++) {
            harness_run(h, 10);
            int r;
            while ((r = wtcp_recv(h->node[1].st, b, sink, sizeof sink)) > 0)
                got += (uint64_t)r;
        }
    }
    out[0] = got;
    out[1] = h->now;
    out[2] = h->dir[0][1].lost + h->dir[1][0].lost;
    out[3] = h->dir[0][1].sent;
    harness_free(h);
}

TEST(same_seed_same_run)
{
    uint64_t x[4], y[4], z[4];
    lossy_run(7, x);
    lossy_run(7, y);
    lossy_run(8, z);
    CHECK_EQ_U(x[0], 1 << 16);
    CHECK_MEM(x, y, sizeof x);
    CHECK(x[2] > 0);
    CHECK(memcmp(x, z, sizeof x) != 0);
}

TEST(pump_mode_delivers_everything_before_returning)
{
    harness_faults f = { .delay_ms = 5 };
    harness *h = make(2, &f);
    h->pump = 0;
    wtcp_sock s = wtcp_socket(h->node[0].st, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(h->node[0].st, s, ADDR(1), 80), WTCP_EINPROGRESS);
    CHECK_EQ_I(harness_run(h, 1), 0); /* the SYN is still on the wire */
    CHECK_EQ_U(h->now, 1001);
    CHECK_EQ_U(harness_in_flight(h), 1);
    h->pump = 1;
    CHECK_EQ_I(harness_run(h, 1), 0); /* SYN at 1005, then the RST back at 1010 */
    CHECK_EQ_U(harness_in_flight(h), 0);
    CHECK_EQ_U(h->now, 1010);
    CHECK(harness_events(h, 0, s) & WTCP_EV_ERROR);
    CHECK_EQ_U(harness_events(h, 0, s), 0); /* read once */
    CHECK_EQ_U(harness_free(h), 0);
}

TEST(vanish_drops_what_is_in_flight_and_everything_after)
{
    harness_faults f = { .delay_ms = 5 };
    harness *h = make(2, &f);
    wtcp_sock a, b, l;
    CHECK_EQ_I(harness_connect_pair(h, 0, 1, 80, &a, &b, &l), 0);
    CHECK_EQ_I(wtcp_send(h->node[0].st, a, "x", 1), 1);
    harness_poll(h);
    CHECK_EQ_U(harness_in_flight(h), 1);
    harness_vanish(h, 1);
    CHECK_EQ_U(harness_in_flight(h), 0);
    CHECK_EQ_I(harness_run(h, 1000), 0); /* retransmissions go into the void */
    CHECK(h->dir[0][1].vanished >= 1);
    harness_vanish(h, 0);
    CHECK_EQ_I(harness_run(h, 5000), 0);
    CHECK_EQ_I(wtcp_readable(h->node[1].st, b), 1);
    CHECK_EQ_U(harness_free(h), 0);
}

TEST(log_keeps_the_last_entries)
{
    harness_faults f = { .delay_ms = 1 };
    harness *h = make(2, &f);
    CHECK_EQ_I(harness_log_enable(h, 8), 0);
    wtcp_sock a, b, l;
    CHECK_EQ_I(harness_connect_pair(h, 0, 1, 80, &a, &b, &l), 0);
    harness_events(h, 0, a);
    harness_log_note(h, "marker %d", 42);
    FILE *f_out = tmpfile();
    CHECK(f_out != NULL);
    harness_log_print(h, f_out, 100);
    rewind(f_out);
    char line[512];
    int lines = 0, marker = 0, packet = 0;
    while (fgets(line, sizeof line, f_out)) {
        lines++;
        marker |= strstr(line, "marker 42") != NULL;
        packet |= strstr(line, "A>B") != NULL || strstr(line, "B>A") != NULL;
    }
    fclose(f_out);
    CHECK_EQ_I(lines, 1 + 8); /* a heading and the 8 kept */
    CHECK(marker && packet);
    CHECK_EQ_U(harness_free(h), 0);
}

UNIT_MAIN(RUN(three_stacks_route_by_destination_address), RUN(link_mtu_drops_larger_packets),
          RUN(same_seed_same_run), RUN(pump_mode_delivers_everything_before_returning),
          RUN(vanish_drops_what_is_in_flight_and_everything_after),
          RUN(log_keeps_the_last_entries))
