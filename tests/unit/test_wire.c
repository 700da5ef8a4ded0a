/* test_wire.c: unit tests of the wire layer: Internet checksum (RFC 1071), IPv4 (RFC 791),
 * TCP header and options in Linux's layout (RFC 9293, 7323, 2018), UDP (RFC 768), ICMP (RFC 792). */
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "wire/wire.h"

/* ---- helpers ---- */

/* Byte-by-byte RFC 1071 sum, folded but not complemented: the reference for wire_sum. */
static uint16_t ref_sum(const uint8_t *p, size_t len, uint32_t acc)
{
    uint64_t s = acc;
    for (size_t i = 0; i < len; i += 2)
        s += (uint64_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

static uint16_t folded(uint32_t acc) { return (uint16_t)~wire_fold(acc); }

/* Deterministic filler (xorshift32). */
static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed ? seed : 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static size_t unhex(uint8_t *out, const char *hex)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[k];
            v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        out[n++] = (uint8_t)v;
    }
    return n;
}

#define SRC 0xc0000201u /* 192.0.2.1 */
#define DST 0xc0a80001u /* 192.168.0.1 */

/* ---- checksum ---- */

TEST(checksum_rfc1071_example)
{
    static const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CHECK_EQ_U(folded(wire_sum(b, sizeof b, 0)), 0xddf2);
    CHECK_EQ_U(wire_fold(wire_sum(b, sizeof b, 0)), 0x220d);
    /* The same bytes at an odd address. */
    uint8_t shifted[9];
    memcpy(shifted + 1, b, sizeof b);
    CHECK_EQ_U(folded(wire_sum(shifted + 1, sizeof b, 0)), 0xddf2);
}

TEST(checksum_captured_ipv4_header_verifies)
{
    uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                     0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    CHECK_EQ_U(wire_fold(wire_sum(h, sizeof h, 0)), 0);
    h[10] = h[11] = 0;
    CHECK_EQ_U(wire_fold(wire_sum(h, sizeof h, 0)), 0xb861);
}

TEST(checksum_odd_lengths_pad_the_last_byte_high)
{
    static const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05};
    CHECK_EQ_U(folded(wire_sum(b, 0, 0)), 0);
    CHECK_EQ_U(folded(wire_sum(b, 1, 0)), 0x0100);
    CHECK_EQ_U(folded(wire_sum(b, 3, 0)), 0x0102 + 0x0300);
    CHECK_EQ_U(folded(wire_sum(b, 5, 0)), 0x0102 + 0x0304 + 0x0500);
    CHECK_EQ_U(folded(wire_sum(b, 5, 0x10000)), 0x0102 + 0x0304 + 0x0500 + 1);
}

TEST(checksum_matches_reference_at_every_alignment_and_length)
{
    uint8_t buf[256 + 8];
    for (uint32_t seed = 1; seed <= 3; seed++) {
        fill(buf, sizeof buf, seed);
        for (size_t off = 0; off < 8; off++) {
            for (size_t len = 0; len <= 200; len++) {
                CHECK_EQ_U(folded(wire_sum(buf + off, len, 0)), ref_sum(buf + off, len, 0));
                CHECK_EQ_U(folded(wire_sum(buf + off, len, 0x1234abcd)),
                           ref_sum(buf + off, len, 0x1234abcd));
            }
        }
    }
}

TEST(checksum_carries_survive_all_ones_and_large_accumulators)
{
    static uint8_t ones[9000];
    memset(ones, 0xff, sizeof ones);
    for (size_t len = 0; len <= sizeof ones; len += 997) {
        CHECK_EQ_U(folded(wire_sum(ones, len, 0)), ref_sum(ones, len, 0));
        CHECK_EQ_U(folded(wire_sum(ones + 1, len, 0xffffffffu)), ref_sum(ones + 1, len, 0xffffffffu));
    }
    /* 32-bit accumulator overflow must wrap with end-around carry. */
    static const uint8_t b[] = {0xff, 0xff, 0xff, 0xfe};
    CHECK_EQ_U(folded(wire_sum(b, sizeof b, 0xfffffffeu)), ref_sum(b, sizeof b, 0xfffffffeu));
    uint8_t big[4096];
    fill(big, sizeof big, 42);
    CHECK_EQ_U(folded(wire_sum(big, sizeof big, 0)), ref_sum(big, sizeof big, 0));
}

TEST(checksum_chains_across_even_chunks)
{
    uint8_t buf[101];
    fill(buf, sizeof buf, 7);
    uint16_t whole = folded(wire_sum(buf, sizeof buf, 0));
    for (size_t cut = 0; cut <= 100; cut += 2) {
        uint32_t acc = wire_sum(buf, cut, 0);
        CHECK_EQ_U(folded(wire_sum(buf + cut, sizeof buf - cut, acc)), whole);
    }
    /* Three chunks, the last odd. */
    uint32_t acc = wire_sum(buf, 10, 0);
    acc = wire_sum(buf + 10, 64, acc);
    CHECK_EQ_U(folded(wire_sum(buf + 74, 27, acc)), whole);
}

TEST(checksum_fold_edge_values)
{
    CHECK_EQ_U(wire_fold(0), 0xffff);
    CHECK_EQ_U(wire_fold(0xffff), 0);
    CHECK_EQ_U(wire_fold(0x1fffe), 0); /* 0xfffe + 1 */
    CHECK_EQ_U(wire_fold(0xffffffffu), 0);
    CHECK_EQ_U(wire_fold(0x12345), ~(0x2345 + 1) & 0xffff);
}

TEST(checksum_pseudo_header_equals_summed_bytes)
{
    uint8_t ph[12];
    wire_put32(ph, SRC);
    wire_put32(ph + 4, DST);
    ph[8] = 0;
    ph[9] = WIRE_PROTO_TCP;
    wire_put16(ph + 10, 1480);
    CHECK_EQ_U(folded(wire_pseudo_sum(SRC, DST, WIRE_PROTO_TCP, 1480)), ref_sum(ph, sizeof ph, 0));
    wire_put32(ph, 0xffffffffu);
    wire_put32(ph + 4, 0xfffefffdu);
    ph[9] = WIRE_PROTO_UDP;
    wire_put16(ph + 10, 0xffff);
    CHECK_EQ_U(folded(wire_pseudo_sum(0xffffffffu, 0xfffefffdu, WIRE_PROTO_UDP, 0xffff)),
               ref_sum(ph, sizeof ph, 0));
}

/* ---- IPv4 ---- */

static const uint8_t captured_ip[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                        0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

TEST(ipv4_parses_captured_header)
{
    uint8_t pkt[0x73];
    fill(pkt, sizeof pkt, 3);
    memcpy(pkt, captured_ip, sizeof captured_ip);
    wire_ipv4 ip;
    CHECK_EQ_I(wire_ipv4_parse(pkt, sizeof pkt, &ip), WIRE_OK);
    CHECK_EQ_U(ip.hdr_len, 20);
    CHECK_EQ_U(ip.tos, 0);
    CHECK_EQ_U(ip.total_len, 0x73);
    CHECK_EQ_U(ip.id, 0);
    CHECK_EQ_U(ip.frag, WIRE_IP_DF);
    CHECK_EQ_U(ip.ttl, 64);
    CHECK_EQ_U(ip.proto, WIRE_PROTO_UDP);
    CHECK_EQ_U(ip.src, 0xc0a80001u);
    CHECK_EQ_U(ip.dst, 0xc0a800c7u);
    CHECK(ip.payload == pkt + 20);
    CHECK_EQ_U(ip.payload_len, 0x73 - 20);
}

TEST(ipv4_emit_reproduces_captured_header)
{
    wire_ipv4 ip = {0};
    ip.tos = 0;
    ip.total_len = 0x73;
    ip.id = 0;
    ip.frag = WIRE_IP_DF;
    ip.ttl = 64;
    ip.proto = WIRE_PROTO_UDP;
    ip.src = 0xc0a80001u;
    ip.dst = 0xc0a800c7u;
    ip.hdr_len = 60; /* ignored */
    uint8_t out[20];
    CHECK_EQ_U(wire_ipv4_emit(out, &ip), 20);
    CHECK_MEM(out, captured_ip, 20);
}

TEST(ipv4_round_trip)
{
    wire_ipv4 ip = {0}, back;
    ip.tos = 0xb8;
    ip.total_len = 48;
    ip.id = 0xbeef;
    ip.frag = WIRE_IP_MF | 0x0123;
    ip.ttl = 1;
    ip.proto = WIRE_PROTO_TCP;
    ip.src = SRC;
    ip.dst = DST;
    uint8_t pkt[48];
    fill(pkt, sizeof pkt, 9);
    CHECK_EQ_U(wire_ipv4_emit(pkt, &ip), 20);
    CHECK_EQ_I(wire_ipv4_parse(pkt, sizeof pkt, &back), WIRE_OK);
    CHECK_EQ_U(back.hdr_len, 20);
    CHECK_EQ_U(back.tos, ip.tos);
    CHECK_EQ_U(back.total_len, ip.total_len);
    CHECK_EQ_U(back.id, ip.id);
    CHECK_EQ_U(back.frag, ip.frag);
    CHECK_EQ_U(back.ttl, ip.ttl);
    CHECK_EQ_U(back.proto, ip.proto);
    CHECK_EQ_U(back.src, ip.src);
    CHECK_EQ_U(back.dst, ip.dst);
    CHECK(back.payload == pkt + 20);
    CHECK_EQ_U(back.payload_len, 28);
}

/* A valid 20-byte header for total_len bytes, checksum fixed by emit. */
static void make_ip(uint8_t *buf, uint16_t total_len)
{
    wire_ipv4 ip = {0};
    ip.total_len = total_len;
    ip.ttl = 64;
    ip.proto = WIRE_PROTO_TCP;
    ip.src = SRC;
    ip.dst = DST;
    wire_ipv4_emit(buf, &ip);
}

static void fix_ip_checksum(uint8_t *buf)
{
    size_t hl = (size_t)(buf[0] & 15) * 4;
    wire_put16(buf + 10, 0);
    wire_put16(buf + 10, wire_fold(wire_sum(buf, hl, 0)));
}

TEST(ipv4_too_short)
{
    uint8_t pkt[40];
    make_ip(pkt, 19);
    wire_ipv4 ip;
    CHECK_EQ_I(wire_ipv4_parse(pkt, 19, &ip), WTCP_DROP_IP_TOO_SHORT);
    CHECK_EQ_I(wire_ipv4_parse(pkt, 0, &ip), WTCP_DROP_IP_TOO_SHORT);
}

TEST(ipv4_version_6_rejected)
{
    uint8_t pkt[40];
    make_ip(pkt, 40);
    pkt[0] = 0x65;
    fix_ip_checksum(pkt);
    wire_ipv4 ip;
    CHECK_EQ_I(wire_ipv4_parse(pkt, sizeof pkt, &ip), WTCP_DROP_IP_VERSION);
}

TEST(ipv4_ihl_below_5_rejected)
{
    uint8_t pkt[40];
    make_ip(pkt, 40);
    pkt[0] = 0x44;
    wire_ipv4 ip;
    CHECK_EQ_I(wire_ipv4_parse(pkt, sizeof pkt, &ip), WTCP_DROP_IP_HDR_LEN);
}

TEST(ipv4_ihl_beyond_buffer_rejected)
{
    uint8_t pkt[40];
    make_ip(pkt, 40);
    pkt[0] = 0x4f; /* 60 bytes */
    wire_ipv4 ip;
    CHECK_EQ_I(wire_ipv4_parse(pkt, sizeof pkt, &ip), WTCP_DROP_IP_HDR_LEN);
}

TEST(ipv4_total_len_beyond_buffer_rejected)
{
    uint8_t pkt[40];
    make_ip(pkt, 41);
    wire_ipv4 ip;
    CHECK_EQ_I(wire_ipv4_parse(pkt, sizeof pkt, &ip), WTCP_DROP_IP_TOTAL_LEN);
}

TEST(ipv4_total_len_below_header_rejected)
{
    uint8_t pkt[40];
    make_ip(pkt, 19);
    wire_ipv4 ip;
    CHECK_EQ_I(wire_ipv4_parse(pkt, sizeof pkt, &ip), WTCP_DROP_IP_TOTAL_LEN);
    pkt[0] = 0x46; /* 24-byte header, total_len 20 */
    make_ip(pkt, 20);
    pkt[0] = 0x46;
    fix_ip_checksum(pkt);
    CHECK_EQ_I(wire_ipv4_parse(pkt, sizeof pkt, &ip), WTCP_DROP_IP_TOTAL_LEN);
}

TEST(ipv4_bad_checksum_rejected)
{
    uint8_t pkt[40];
    make_ip(pkt, 40);
    wire_ipv4 ip;
    CHECK_EQ_I(wire_ipv4_parse(pkt, sizeof pkt, &ip), WIRE_OK);
    pkt[8] ^= 0x01; /* ttl */
    CHECK_EQ_I(wire_ipv4_parse(pkt, sizeof pkt, &ip), WTCP_DROP_IP_CHECKSUM);
    pkt[8] ^= 0x01;
    pkt[11] ^= 0x80;
    CHECK_EQ_I(wire_ipv4_parse(pkt, sizeof pkt, &ip), WTCP_DROP_IP_CHECKSUM);
}

TEST(ipv4_options_are_covered_by_checksum_and_skipped)
{
    uint8_t pkt[32];
    make_ip(pkt, 32);
    pkt[0] = 0x46;
    pkt[20] = 0x94; /* router alert, RFC 2113 */
    pkt[21] = 0x04;
    pkt[22] = 0x00;
    pkt[23] = 0x00;
    memcpy(pkt + 24, "payload!", 8);
    fix_ip_checksum(pkt);
    wire_ipv4 ip;
    CHECK_EQ_I(wire_ipv4_parse(pkt, sizeof pkt, &ip), WIRE_OK);
    CHECK_EQ_U(ip.hdr_len, 24);
    CHECK(ip.payload == pkt + 24);
    CHECK_EQ_U(ip.payload_len, 8);
    pkt[22] = 1; /* the checksum covers the options */
    CHECK_EQ_I(wire_ipv4_parse(pkt, sizeof pkt, &ip), WTCP_DROP_IP_CHECKSUM);
}

TEST(ipv4_trailing_link_padding_ignored)
{
    uint8_t pkt[60];
    memset(pkt, 0, sizeof pkt);
    make_ip(pkt, 28);
    wire_ipv4 ip;
    CHECK_EQ_I(wire_ipv4_parse(pkt, sizeof pkt, &ip), WIRE_OK);
    CHECK_EQ_U(ip.total_len, 28);
    CHECK_EQ_U(ip.payload_len, 8);
}

/* ---- TCP ---- */

static wire_tcp tcp_hdr(uint8_t flags)
{
    wire_tcp t;
    memset(&t, 0, sizeof t);
    t.sport = 8080;
    t.dport = 40000;
    t.seq = 0x01020304u;
    t.ack = 0xa0b0c0d0u;
    t.flags = flags;
    t.win = 65535;
    return t;
}

/* Emits t and checks the option bytes, the data offset and opts_len, then parses it
 * back (with checksum) and checks every option field survives. */
static void check_layout(unit_ctx *unit_, const wire_tcp *t, const uint8_t *opts, size_t n)
{
    uint8_t seg[80];
    memset(seg, 0xee, sizeof seg);
    CHECK_EQ_U(wire_tcp_opts_len(&t->opt), n);
    CHECK_EQ_U(n % 4, 0);
    size_t hl = wire_tcp_emit(seg, t);
    CHECK_EQ_U(hl, 20 + n);
    CHECK_EQ_U(seg[12], (hl / 4) << 4);
    CHECK_MEM(seg + 20, opts, n);
    CHECK_EQ_U(seg[hl], 0xee); /* nothing written past the header */

    wire_l4_checksum(seg, hl, SRC, DST, WIRE_PROTO_TCP);
    wire_tcp p;
    CHECK_EQ_I(wire_tcp_parse(seg, hl, SRC, DST, 1, &p), WIRE_OK);
    CHECK_EQ_U(p.hdr_len, hl);
    CHECK_EQ_U(p.opt.has_mss, t->opt.has_mss);
    if (t->opt.has_mss)
        CHECK_EQ_U(p.opt.mss, t->opt.mss);
    CHECK_EQ_U(p.opt.has_wscale, t->opt.has_wscale);
    if (t->opt.has_wscale)
        CHECK_EQ_U(p.opt.wscale, t->opt.wscale);
    CHECK_EQ_U(p.opt.sack_ok, t->opt.sack_ok);
    CHECK_EQ_U(p.opt.has_ts, t->opt.has_ts);
    if (t->opt.has_ts) {
        CHECK_EQ_U(p.opt.ts_val, t->opt.ts_val);
        CHECK_EQ_U(p.opt.ts_ecr, t->opt.ts_ecr);
    }
    CHECK_EQ_U(p.opt.sack_count, t->opt.sack_count);
    for (size_t b = 0; b < p.opt.sack_count; b++) {
        CHECK_EQ_U(p.opt.sack[b][0], t->opt.sack[b][0]);
        CHECK_EQ_U(p.opt.sack[b][1], t->opt.sack[b][1]);
    }
}

TEST(tcp_emit_fixed_header_fields)
{
    wire_tcp t = tcp_hdr(WIRE_TCP_ACK | WIRE_TCP_PSH | WIRE_TCP_URG);
    t.urg = 0x1234;
    t.win = 0x5678;
    t.hdr_len = 60; /* ignored */
    uint8_t seg[20];
    CHECK_EQ_U(wire_tcp_emit(seg, &t), 20);
    static const uint8_t want[20] = {0x1f, 0x90, 0x9c, 0x40, 0x01, 0x02, 0x03, 0x04, 0xa0, 0xb0,
                                     0xc0, 0xd0, 0x50, 0x38, 0x56, 0x78, 0x00, 0x00, 0x12, 0x34};
    CHECK_MEM(seg, want, 20);
    CHECK_EQ_U(wire_tcp_opts_len(&t.opt), 0);
}

TEST(tcp_layout_syn_mss_sackok_ts_nop_wscale)
{
    wire_tcp t = tcp_hdr(WIRE_TCP_SYN);
    t.opt.has_mss = 1;
    t.opt.mss = 1460;
    t.opt.sack_ok = 1;
    t.opt.has_ts = 1;
    t.opt.ts_val = 0x11223344u;
    t.opt.ts_ecr = 0;
    t.opt.has_wscale = 1;
    t.opt.wscale = 7;
    static const uint8_t want[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0x11, 0x22, 0x33, 0x44,
                                   0, 0, 0, 0, 1, 3, 3, 7};
    check_layout(unit_, &t, want, sizeof want);
}

TEST(tcp_layout_syn_without_ts_mss_nop_nop_sackok_nop_wscale)
{
    wire_tcp t = tcp_hdr(WIRE_TCP_SYN | WIRE_TCP_ACK);
    t.opt.has_mss = 1;
    t.opt.mss = 1460;
    t.opt.sack_ok = 1;
    t.opt.has_wscale = 1;
    t.opt.wscale = 14;
    static const uint8_t want[] = {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 14};
    check_layout(unit_, &t, want, sizeof want);
}

TEST(tcp_layout_mss_only)
{
    wire_tcp t = tcp_hdr(WIRE_TCP_SYN);
    t.opt.has_mss = 1;
    t.opt.mss = 536;
    static const uint8_t want[] = {2, 4, 0x02, 0x18};
    check_layout(unit_, &t, want, sizeof want);
}

TEST(tcp_layout_mss_ts_no_sack_is_nop_nop_ts)
{
    wire_tcp t = tcp_hdr(WIRE_TCP_SYN);
    t.opt.has_mss = 1;
    t.opt.mss = 1460;
    t.opt.has_ts = 1;
    t.opt.ts_val = 1;
    t.opt.ts_ecr = 0xfffffffeu;
    t.opt.has_wscale = 1;
    t.opt.wscale = 0;
    static const uint8_t want[] = {2, 4, 0x05, 0xb4, 1, 1, 8, 10, 0, 0, 0, 1,
                                   0xff, 0xff, 0xff, 0xfe, 1, 3, 3, 0};
    check_layout(unit_, &t, want, sizeof want);
}

TEST(tcp_layout_mss_wscale)
{
    wire_tcp t = tcp_hdr(WIRE_TCP_SYN);
    t.opt.has_mss = 1;
    t.opt.mss = 1460;
    t.opt.has_wscale = 1;
    t.opt.wscale = 8;
    static const uint8_t want[] = {2, 4, 0x05, 0xb4, 1, 3, 3, 8};
    check_layout(unit_, &t, want, sizeof want);
}

TEST(tcp_layout_mss_sackok)
{
    wire_tcp t = tcp_hdr(WIRE_TCP_SYN);
    t.opt.has_mss = 1;
    t.opt.mss = 1460;
    t.opt.sack_ok = 1;
    static const uint8_t want[] = {2, 4, 0x05, 0xb4, 1, 1, 4, 2};
    check_layout(unit_, &t, want, sizeof want);
}

TEST(tcp_layout_ts_only_nop_nop_ts)
{
    wire_tcp t = tcp_hdr(WIRE_TCP_ACK);
    t.opt.has_ts = 1;
    t.opt.ts_val = 0xdeadbeefu;
    t.opt.ts_ecr = 0x01020304u;
    static const uint8_t want[] = {1, 1, 8, 10, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4};
    check_layout(unit_, &t, want, sizeof want);
}

TEST(tcp_layout_ts_and_one_sack_block)
{
    wire_tcp t = tcp_hdr(WIRE_TCP_ACK);
    t.opt.has_ts = 1;
    t.opt.ts_val = 100;
    t.opt.ts_ecr = 200;
    t.opt.sack_count = 1;
    t.opt.sack[0][0] = 0x10000000u;
    t.opt.sack[0][1] = 0x10000100u;
    static const uint8_t want[] = {1, 1, 8, 10, 0, 0, 0, 100, 0, 0, 0, 200,
                                   1, 1, 5, 10, 0x10, 0, 0, 0, 0x10, 0, 1, 0};
    check_layout(unit_, &t, want, sizeof want);
}

TEST(tcp_layout_sack_blocks_1_to_4_without_ts)
{
    for (uint8_t n = 1; n <= 4; n++) {
        wire_tcp t = tcp_hdr(WIRE_TCP_ACK);
        t.opt.sack_count = n;
        uint8_t want[4 + 32] = {1, 1, 5, (uint8_t)(2 + 8 * n)};
        for (uint8_t b = 0; b < 4; b++) { /* only the first n count */
            t.opt.sack[b][0] = 0x11111111u * (b + 1u);
            t.opt.sack[b][1] = 0x11111111u * (b + 1u) + 0x1000u;
            wire_put32(want + 4 + 8 * b, t.opt.sack[b][0]);
            wire_put32(want + 8 + 8 * b, t.opt.sack[b][1]);
        }
        check_layout(unit_, &t, want, 4 + 8u * n);
        if (unit_->failed)
            return;
    }
}

TEST(tcp_layout_sack_clamped_to_option_space)
{
    /* With timestamps only 3 blocks fit in 40 bytes (Linux does the same). */
    wire_tcp t = tcp_hdr(WIRE_TCP_ACK);
    t.opt.has_ts = 1;
    t.opt.ts_val = 1;
    t.opt.ts_ecr = 2;
    t.opt.sack_count = 4;
    for (uint32_t b = 0; b < 4; b++) {
        t.opt.sack[b][0] = 1000 * b;
        t.opt.sack[b][1] = 1000 * b + 500;
    }
    CHECK_EQ_U(wire_tcp_opts_len(&t.opt), 40);
    uint8_t seg[64];
    CHECK_EQ_U(wire_tcp_emit(seg, &t), 60);
    CHECK_EQ_U(seg[12], 0xf0);
    CHECK_EQ_U(seg[20 + 12 + 3], 2 + 3 * 8);
    wire_tcp p;
    CHECK_EQ_I(wire_tcp_parse(seg, 60, SRC, DST, 0, &p), WIRE_OK);
    CHECK_EQ_U(p.opt.sack_count, 3);
    CHECK_EQ_U(p.opt.sack[2][0], 2000);
    /* A SYN-sized option set leaves room for two. */
    t.opt.has_mss = 1;
    t.opt.sack_ok = 1;
    t.opt.has_wscale = 1;
    CHECK_EQ_U(wire_tcp_opts_len(&t.opt), 20 + 4 + 16);
    /* Counts above WIRE_TCP_MAX_SACK are capped. */
    wire_tcp u = tcp_hdr(WIRE_TCP_ACK);
    u.opt.sack_count = 9;
    CHECK_EQ_U(wire_tcp_opts_len(&u.opt), 4 + 32);
}

TEST(tcp_layout_sackok_ts_wscale_without_mss)
{
    wire_tcp t = tcp_hdr(WIRE_TCP_SYN);
    t.opt.sack_ok = 1;
    t.opt.has_ts = 1;
    t.opt.ts_val = 5;
    t.opt.ts_ecr = 6;
    t.opt.has_wscale = 1;
    t.opt.wscale = 2;
    static const uint8_t want[] = {4, 2, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6, 1, 3, 3, 2};
    check_layout(unit_, &t, want, sizeof want);
}

TEST(tcp_layout_sackok_wscale_without_mss_or_ts)
{
    wire_tcp t = tcp_hdr(WIRE_TCP_SYN);
    t.opt.sack_ok = 1;
    t.opt.has_wscale = 1;
    t.opt.wscale = 9;
    static const uint8_t want[] = {1, 1, 4, 2, 1, 3, 3, 9};
    check_layout(unit_, &t, want, sizeof want);
}

TEST(tcp_layout_wscale_only)
{
    wire_tcp t = tcp_hdr(WIRE_TCP_SYN);
    t.opt.has_wscale = 1;
    t.opt.wscale = 3;
    static const uint8_t want[] = {1, 3, 3, 3};
    check_layout(unit_, &t, want, sizeof want);
}

/* Segments captured from Linux 6.18 on loopback (TCP checksums completed offline, since
 * loopback leaves them partial): emit must reproduce them byte for byte. */
static const char linux_syn_hex[] =
    "b3f692095fd93f8200000000a002ffd79a9f00000204ffd70402080ace6201a1000000000103030a";
static const char linux_synack_hex[] =
    "9209b3f6a37be0c75fd93f83a012ffcb520c00000204ffd70402080a57d76c73ce6201a10103030a";
static const char linux_data_hex[] =
    "b3f692095fd93f83a37be0c880180040b61d00000101080ace6201a157d76c73616263";
#define LO 0x7f000001u

static void check_linux_capture(unit_ctx *unit_, const char *hex)
{
    uint8_t seg[64], out[64];
    size_t len = unhex(seg, hex);
    wire_tcp p;
    CHECK_EQ_I(wire_tcp_parse(seg, len, LO, LO, 1, &p), WIRE_OK);
    size_t hl = wire_tcp_emit(out, &p);
    CHECK_EQ_U(hl, p.hdr_len);
    memcpy(out + hl, p.payload, p.payload_len);
    wire_l4_checksum(out, len, LO, LO, WIRE_PROTO_TCP);
    CHECK_MEM(out, seg, len);
}

TEST(tcp_linux_syn_round_trips_byte_for_byte)
{
    uint8_t seg[64];
    size_t len = unhex(seg, linux_syn_hex);
    wire_tcp p;
    CHECK_EQ_I(wire_tcp_parse(seg, len, LO, LO, 1, &p), WIRE_OK);
    CHECK_EQ_U(p.sport, 46070);
    CHECK_EQ_U(p.dport, 37385);
    CHECK_EQ_U(p.seq, 0x5fd93f82u);
    CHECK_EQ_U(p.flags, WIRE_TCP_SYN);
    CHECK_EQ_U(p.hdr_len, 40);
    CHECK_EQ_U(p.win, 65495);
    CHECK(p.opt.has_mss && p.opt.mss == 65495);
    CHECK(p.opt.sack_ok);
    CHECK(p.opt.has_ts && p.opt.ts_val == 0xce6201a1u && p.opt.ts_ecr == 0);
    CHECK(p.opt.has_wscale && p.opt.wscale == 10);
    CHECK_EQ_U(p.opt.sack_count, 0);
    CHECK_EQ_U(p.payload_len, 0);
    check_linux_capture(unit_, linux_syn_hex);
}

TEST(tcp_linux_synack_and_data_round_trip_byte_for_byte)
{
    check_linux_capture(unit_, linux_synack_hex);
    if (unit_->failed)
        return;
    uint8_t seg[64];
    size_t len = unhex(seg, linux_data_hex);
    wire_tcp p;
    CHECK_EQ_I(wire_tcp_parse(seg, len, LO, LO, 1, &p), WIRE_OK);
    CHECK_EQ_U(p.flags, WIRE_TCP_ACK | WIRE_TCP_PSH);
    CHECK_EQ_U(p.payload_len, 3);
    CHECK_MEM(p.payload, "abc", 3);
    check_linux_capture(unit_, linux_data_hex);
}

/* Builds a segment whose option block is opts (n bytes, n % 4 == 0 not required:
 * the header is padded with zeros, i.e. EOL) and parses it without checksum. */
static int parse_with_options(const uint8_t *opts, size_t n, wire_tcp *p)
{
    uint8_t seg[60];
    memset(seg, 0, sizeof seg);
    wire_tcp t = tcp_hdr(WIRE_TCP_SYN);
    wire_tcp_emit(seg, &t);
    size_t hl = 20 + (n + 3) / 4 * 4;
    memcpy(seg + 20, opts, n);
    seg[12] = (uint8_t)((hl / 4) << 4);
    return wire_tcp_parse(seg, hl, SRC, DST, 0, p);
}

TEST(tcp_parse_sack_blocks_1_to_4)
{
    for (unsigned n = 1; n <= 4; n++) {
        uint8_t opts[2 + 2 + 32] = {1, 1, 5, (uint8_t)(2 + 8 * n)};
        for (unsigned b = 0; b < 4; b++) { /* only the first n are passed on */
            wire_put32(opts + 4 + 8 * b, 0xfffffff0u + b);
            wire_put32(opts + 8 + 8 * b, 0x00000010u + b);
        }
        wire_tcp p;
        CHECK_EQ_I(parse_with_options(opts, 4 + 8 * n, &p), WIRE_OK);
        CHECK_EQ_U(p.opt.sack_count, n);
        for (unsigned b = 0; b < n; b++) {
            CHECK_EQ_U(p.opt.sack[b][0], 0xfffffff0u + b);
            CHECK_EQ_U(p.opt.sack[b][1], 0x00000010u + b);
        }
    }
}

TEST(tcp_parse_unknown_options_skipped)
{
    static const uint8_t opts[] = {
        30, 4, 0x10, 0x00,                 /* MPTCP-like, unknown here */
        254, 6, 0xf9, 0x89, 0xaa, 0xbb,    /* experimental (RFC 6994) */
        2, 4, 0x05, 0x78,                  /* mss 1400 */
        19, 18, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, /* MD5 (RFC 2385) */
        1, 1};
    wire_tcp p;
    CHECK_EQ_I(parse_with_options(opts, sizeof opts, &p), WIRE_OK);
    CHECK(p.opt.has_mss);
    CHECK_EQ_U(p.opt.mss, 1400);
    CHECK(!p.opt.has_ts && !p.opt.sack_ok && !p.opt.has_wscale && p.opt.sack_count == 0);
}

TEST(tcp_parse_eol_ends_option_list)
{
    static const uint8_t opts[] = {3, 3, 7, 0, 2, 4, 0x05, 0xb4, 8, 0, 0xff, 0xff};
    wire_tcp p;
    CHECK_EQ_I(parse_with_options(opts, sizeof opts, &p), WIRE_OK);
    CHECK(p.opt.has_wscale);
    CHECK_EQ_U(p.opt.wscale, 7);
    CHECK(!p.opt.has_mss); /* after EOL: padding, not options */
}

TEST(tcp_parse_known_option_with_wrong_length_ignored)
{
    static const uint8_t opts[] = {
        2, 3, 0x05,                        /* mss, length 3 */
        3, 4, 7, 0,                        /* wscale, length 4 */
        4, 3, 0,                           /* sackOK, length 3 */
        8, 6, 0, 0, 0, 1,                  /* TS, length 6 */
        5, 7, 0, 0, 0, 1, 0,               /* SACK, not 2+8n */
        5, 2,                              /* SACK without blocks */
        1, 1};
    wire_tcp p;
    CHECK_EQ_I(parse_with_options(opts, sizeof opts, &p), WIRE_OK);
    CHECK(!p.opt.has_mss && !p.opt.has_wscale && !p.opt.sack_ok && !p.opt.has_ts);
    CHECK_EQ_U(p.opt.sack_count, 0);
}

TEST(tcp_parse_option_length_0_or_1_is_malformed)
{
    static const uint8_t len0[] = {1, 1, 2, 0};
    static const uint8_t len1[] = {8, 1, 1, 1};
    static const uint8_t unknown_len0[] = {99, 0, 1, 1};
    wire_tcp p;
    CHECK_EQ_I(parse_with_options(len0, sizeof len0, &p), WTCP_DROP_TCP_MALFORMED);
    CHECK_EQ_I(parse_with_options(len1, sizeof len1, &p), WTCP_DROP_TCP_MALFORMED);
    CHECK_EQ_I(parse_with_options(unknown_len0, sizeof unknown_len0, &p), WTCP_DROP_TCP_MALFORMED);
}

TEST(tcp_parse_option_running_past_header_is_malformed)
{
    static const uint8_t ts_past[] = {1, 1, 8, 10, 0, 0, 0, 1};     /* 6 of 10 bytes */
    static const uint8_t kind_last[] = {1, 1, 1, 2};                /* no length byte */
    static const uint8_t unknown_past[] = {77, 9, 0, 0, 0, 0, 0, 0}; /* 9 > 8 */
    wire_tcp p;
    CHECK_EQ_I(parse_with_options(ts_past, sizeof ts_past, &p), WTCP_DROP_TCP_MALFORMED);
    CHECK_EQ_I(parse_with_options(kind_last, sizeof kind_last, &p), WTCP_DROP_TCP_MALFORMED);
    CHECK_EQ_I(parse_with_options(unknown_past, sizeof unknown_past, &p), WTCP_DROP_TCP_MALFORMED);
    /* Payload bytes after the header are not option space. */
    uint8_t seg[40];
    wire_tcp t = tcp_hdr(WIRE_TCP_ACK);
    wire_tcp_emit(seg, &t);
    seg[12] = 0x60;
    static const uint8_t opts[] = {1, 1, 8, 10};
    memcpy(seg + 20, opts, 4);
    memset(seg + 24, 0, 16);
    CHECK_EQ_I(wire_tcp_parse(seg, sizeof seg, SRC, DST, 0, &p), WTCP_DROP_TCP_MALFORMED);
}

TEST(tcp_parse_option_exactly_filling_header_is_fine)
{
    static const uint8_t opts[] = {1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8};
    wire_tcp p;
    CHECK_EQ_I(parse_with_options(opts, sizeof opts, &p), WIRE_OK);
    CHECK(p.opt.has_ts);
    CHECK_EQ_U(p.opt.ts_val, 9);
    CHECK_EQ_U(p.opt.ts_ecr, 8);
}

TEST(tcp_parse_data_offset_below_5_is_malformed)
{
    uint8_t seg[40];
    wire_tcp t = tcp_hdr(WIRE_TCP_ACK);
    wire_tcp_emit(seg, &t);
    memset(seg + 20, 0, 20);
    wire_tcp p;
    for (uint8_t doff = 0; doff < 5; doff++) {
        seg[12] = (uint8_t)(doff << 4);
        CHECK_EQ_I(wire_tcp_parse(seg, sizeof seg, SRC, DST, 0, &p), WTCP_DROP_TCP_MALFORMED);
    }
}

TEST(tcp_parse_data_offset_beyond_segment_is_malformed)
{
    uint8_t seg[40];
    wire_tcp t = tcp_hdr(WIRE_TCP_ACK);
    wire_tcp_emit(seg, &t);
    memset(seg + 20, 1, 20); /* NOPs */
    seg[12] = 0xb0;          /* 44 bytes */
    wire_tcp p;
    CHECK_EQ_I(wire_tcp_parse(seg, sizeof seg, SRC, DST, 0, &p), WTCP_DROP_TCP_MALFORMED);
    seg[12] = 0xa0;          /* 40 bytes: fits */
    CHECK_EQ_I(wire_tcp_parse(seg, sizeof seg, SRC, DST, 0, &p), WIRE_OK);
    CHECK_EQ_U(p.payload_len, 0);
}

TEST(tcp_parse_truncated_header_is_malformed)
{
    uint8_t seg[20];
    wire_tcp t = tcp_hdr(WIRE_TCP_ACK);
    wire_tcp_emit(seg, &t);
    wire_tcp p;
    for (size_t len = 0; len < 20; len++)
        CHECK_EQ_I(wire_tcp_parse(seg, len, SRC, DST, 0, &p), WTCP_DROP_TCP_MALFORMED);
    CHECK_EQ_I(wire_tcp_parse(seg, 20, SRC, DST, 0, &p), WIRE_OK);
}

TEST(tcp_checksum_verifies_good_and_rejects_bad)
{
    uint8_t seg[20 + 12 + 5];
    wire_tcp t = tcp_hdr(WIRE_TCP_ACK | WIRE_TCP_PSH);
    t.opt.has_ts = 1;
    t.opt.ts_val = 77;
    t.opt.ts_ecr = 66;
    size_t hl = wire_tcp_emit(seg, &t);
    CHECK_EQ_U(hl, 32);
    memcpy(seg + hl, "hello", 5); /* odd length */
    wire_l4_checksum(seg, sizeof seg, SRC, DST, WIRE_PROTO_TCP);
    /* Against the reference sum over pseudo-header and segment. */
    uint8_t ph[12 + sizeof seg];
    wire_put32(ph, SRC);
    wire_put32(ph + 4, DST);
    ph[8] = 0;
    ph[9] = WIRE_PROTO_TCP;
    wire_put16(ph + 10, sizeof seg);
    memcpy(ph + 12, seg, sizeof seg);
    CHECK_EQ_U(ref_sum(ph, sizeof ph, 0), 0xffff);

    wire_tcp p;
    CHECK_EQ_I(wire_tcp_parse(seg, sizeof seg, SRC, DST, 1, &p), WIRE_OK);
    CHECK_EQ_U(p.payload_len, 5);
    CHECK(p.payload == seg + 32);
    CHECK_EQ_U(p.flags, WIRE_TCP_ACK | WIRE_TCP_PSH);
    CHECK_EQ_I(wire_tcp_parse(seg, sizeof seg, SRC + 1, DST, 1, &p), WTCP_DROP_TCP_CHECKSUM);
    seg[sizeof seg - 1] ^= 0x20;
    CHECK_EQ_I(wire_tcp_parse(seg, sizeof seg, SRC, DST, 1, &p), WTCP_DROP_TCP_CHECKSUM);
    CHECK_EQ_I(wire_tcp_parse(seg, sizeof seg, SRC, DST, 0, &p), WIRE_OK);
    /* A recomputation replaces whatever was in the field. */
    wire_put16(seg + 16, 0xabcd);
    wire_l4_checksum(seg, sizeof seg, SRC, DST, WIRE_PROTO_TCP);
    CHECK_EQ_I(wire_tcp_parse(seg, sizeof seg, SRC, DST, 1, &p), WIRE_OK);
}

TEST(tcp_parse_reports_all_flags)
{
    uint8_t seg[20];
    wire_tcp t = tcp_hdr(0xff);
    wire_tcp_emit(seg, &t);
    seg[12] |= 0x0f; /* reserved bits and AE do not leak into flags or the offset */
    wire_tcp p;
    CHECK_EQ_I(wire_tcp_parse(seg, 20, SRC, DST, 0, &p), WIRE_OK);
    CHECK_EQ_U(p.flags, 0xff);
    CHECK_EQ_U(p.hdr_len, 20);
}

/* ---- UDP ---- */

TEST(udp_round_trip)
{
    uint8_t seg[8 + 5];
    memcpy(seg + 8, "hello", 5);
    CHECK_EQ_U(wire_udp_emit(seg, 5353, 53, 5), 8);
    CHECK_EQ_U(wire_get16(seg + 4), 13);
    CHECK_EQ_U(wire_get16(seg + 6), 0);
    wire_l4_checksum(seg, sizeof seg, SRC, DST, WIRE_PROTO_UDP);
    CHECK(wire_get16(seg + 6) != 0);
    wire_udp u;
    CHECK_EQ_I(wire_udp_parse(seg, sizeof seg, SRC, DST, &u), WIRE_OK);
    CHECK_EQ_U(u.sport, 5353);
    CHECK_EQ_U(u.dport, 53);
    CHECK_EQ_U(u.len, 13);
    CHECK(u.payload == seg + 8);
    CHECK_EQ_U(u.payload_len, 5);
}

TEST(udp_bad_checksum_rejected)
{
    uint8_t seg[8 + 4] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    wire_udp_emit(seg, 1, 2, 4);
    wire_l4_checksum(seg, sizeof seg, SRC, DST, WIRE_PROTO_UDP);
    wire_udp u;
    CHECK_EQ_I(wire_udp_parse(seg, sizeof seg, SRC, DST, &u), WIRE_OK);
    seg[9] ^= 1;
    CHECK_EQ_I(wire_udp_parse(seg, sizeof seg, SRC, DST, &u), WTCP_DROP_UDP_CHECKSUM);
    seg[9] ^= 1;
    CHECK_EQ_I(wire_udp_parse(seg, sizeof seg, SRC, DST ^ 0x100, &u), WTCP_DROP_UDP_CHECKSUM);
}

TEST(udp_zero_checksum_means_none)
{
    uint8_t seg[8 + 4] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    wire_udp_emit(seg, 1, 2, 4);
    wire_udp u;
    CHECK_EQ_I(wire_udp_parse(seg, sizeof seg, SRC, DST, &u), WIRE_OK);
    seg[11] = 99;
    CHECK_EQ_I(wire_udp_parse(seg, sizeof seg, SRC, DST, &u), WIRE_OK);
}

TEST(udp_computed_zero_is_sent_as_ffff)
{
    uint8_t seg[8 + 2] = {0};
    wire_udp_emit(seg, 1000, 2000, 2);
    /* Choose the payload word so that the ones' complement sum is 0xffff. */
    uint16_t s = (uint16_t)~wire_fold(wire_sum(seg, sizeof seg,
                                               wire_pseudo_sum(SRC, DST, WIRE_PROTO_UDP, sizeof seg)));
    wire_put16(seg + 8, (uint16_t)(0xffff - s));
    wire_l4_checksum(seg, sizeof seg, SRC, DST, WIRE_PROTO_UDP);
    CHECK_EQ_U(wire_get16(seg + 6), 0xffff);
    wire_udp u;
    CHECK_EQ_I(wire_udp_parse(seg, sizeof seg, SRC, DST, &u), WIRE_OK);
}

TEST(udp_bad_lengths_rejected)
{
    uint8_t seg[16] = {0};
    wire_udp u;
    wire_udp_emit(seg, 1, 2, 8);
    CHECK_EQ_I(wire_udp_parse(seg, 7, SRC, DST, &u), WTCP_DROP_UDP_MALFORMED);
    CHECK_EQ_I(wire_udp_parse(seg, 15, SRC, DST, &u), WTCP_DROP_UDP_MALFORMED); /* field 16 > 15 */
    wire_put16(seg + 4, 7);
    CHECK_EQ_I(wire_udp_parse(seg, sizeof seg, SRC, DST, &u), WTCP_DROP_UDP_MALFORMED);
    wire_put16(seg + 4, 0);
    CHECK_EQ_I(wire_udp_parse(seg, sizeof seg, SRC, DST, &u), WTCP_DROP_UDP_MALFORMED);
}

TEST(udp_payload_bounded_by_length_field)
{
    uint8_t seg[32];
    memset(seg, 0x5a, sizeof seg);
    wire_udp_emit(seg, 7, 7, 4);
    wire_l4_checksum(seg, 12, SRC, DST, WIRE_PROTO_UDP);
    wire_udp u;
    CHECK_EQ_I(wire_udp_parse(seg, sizeof seg, SRC, DST, &u), WIRE_OK);
    CHECK_EQ_U(u.len, 12);
    CHECK_EQ_U(u.payload_len, 4);
    wire_udp_emit(seg, 7, 7, 0);
    CHECK_EQ_I(wire_udp_parse(seg, 8, SRC, DST, &u), WIRE_OK);
    CHECK_EQ_U(u.payload_len, 0);
}

/* ---- ICMP ---- */

TEST(icmp_echo_known_bytes)
{
    uint8_t msg[8];
    CHECK_EQ_U(wire_icmp_emit(msg, WIRE_ICMP_ECHO_REQUEST, 0, 0x00010001u, NULL, 0), 8);
    static const uint8_t want[8] = {0x08, 0x00, 0xf7, 0xfd, 0x00, 0x01, 0x00, 0x01};
    CHECK_MEM(msg, want, 8);
}

TEST(icmp_echo_round_trip)
{
    uint8_t msg[8 + 9];
    CHECK_EQ_U(wire_icmp_emit(msg, WIRE_ICMP_ECHO_REQUEST, 0, 0x12340007u,
                              (const uint8_t *)"abcdefghi", 9), 17);
    wire_icmp m;
    CHECK_EQ_I(wire_icmp_parse(msg, sizeof msg, &m), WIRE_OK);
    CHECK_EQ_U(m.type, WIRE_ICMP_ECHO_REQUEST);
    CHECK_EQ_U(m.code, 0);
    CHECK_EQ_U(m.rest, 0x12340007u);
    CHECK(m.payload == msg + 8);
    CHECK_EQ_U(m.payload_len, 9);
    CHECK_MEM(m.payload, "abcdefghi", 9);
    /* An echo reply built in place from the request. */
    CHECK_EQ_U(wire_icmp_emit(msg, WIRE_ICMP_ECHO_REPLY, 0, m.rest, m.payload, m.payload_len), 17);
    CHECK_EQ_I(wire_icmp_parse(msg, sizeof msg, &m), WIRE_OK);
    CHECK_EQ_U(m.type, WIRE_ICMP_ECHO_REPLY);
    CHECK_MEM(m.payload, "abcdefghi", 9);
}

TEST(icmp_error_quotes_overlapping_datagram)
{
    /* The offending datagram sits at the start of buf, where the header goes. */
    uint8_t buf[8 + 28], orig[28];
    fill(orig, sizeof orig, 11);
    memcpy(buf, orig, sizeof orig);
    CHECK_EQ_U(wire_icmp_emit(buf, WIRE_ICMP_DEST_UNREACH, WIRE_ICMP_FRAG_NEEDED, 1280,
                              buf, sizeof orig), 36);
    wire_icmp m;
    CHECK_EQ_I(wire_icmp_parse(buf, sizeof buf, &m), WIRE_OK);
    CHECK_EQ_U(m.type, WIRE_ICMP_DEST_UNREACH);
    CHECK_EQ_U(m.code, WIRE_ICMP_FRAG_NEEDED);
    CHECK_EQ_U(m.rest, 1280);
    CHECK_MEM(m.payload, orig, sizeof orig);
}

TEST(icmp_bad_checksum_rejected)
{
    uint8_t msg[12];
    wire_icmp_emit(msg, WIRE_ICMP_ECHO_REQUEST, 0, 1, (const uint8_t *)"ping", 4);
    wire_icmp m;
    CHECK_EQ_I(wire_icmp_parse(msg, sizeof msg, &m), WIRE_OK);
    msg[11] ^= 0x40;
    CHECK_EQ_I(wire_icmp_parse(msg, sizeof msg, &m), WTCP_DROP_ICMP_CHECKSUM);
    msg[11] ^= 0x40;
    /* The checksum covers all len bytes, not just the header. */
    CHECK_EQ_I(wire_icmp_parse(msg, 10, &m), WTCP_DROP_ICMP_CHECKSUM);
}

TEST(icmp_truncated_rejected)
{
    uint8_t msg[8];
    wire_icmp_emit(msg, WIRE_ICMP_ECHO_REPLY, 0, 0, NULL, 0);
    wire_icmp m;
    for (size_t len = 0; len < 8; len++)
        CHECK_EQ_I(wire_icmp_parse(msg, len, &m), WTCP_DROP_ICMP_MALFORMED);
    CHECK_EQ_I(wire_icmp_parse(msg, 8, &m), WIRE_OK);
}

UNIT_MAIN(
    RUN(checksum_rfc1071_example),
    RUN(checksum_captured_ipv4_header_verifies),
    RUN(checksum_odd_lengths_pad_the_last_byte_high),
    RUN(checksum_matches_reference_at_every_alignment_and_length),
    RUN(checksum_carries_survive_all_ones_and_large_accumulators),
    RUN(checksum_chains_across_even_chunks),
    RUN(checksum_fold_edge_values),
    RUN(checksum_pseudo_header_equals_summed_bytes),
    RUN(ipv4_parses_captured_header),
    RUN(ipv4_emit_reproduces_captured_header),
    RUN(ipv4_round_trip),
    RUN(ipv4_too_short),
    RUN(ipv4_version_6_rejected),
    RUN(ipv4_ihl_below_5_rejected),
    RUN(ipv4_ihl_beyond_buffer_rejected),
    RUN(ipv4_total_len_beyond_buffer_rejected),
    RUN(ipv4_total_len_below_header_rejected),
    RUN(ipv4_bad_checksum_rejected),
    RUN(ipv4_options_are_covered_by_checksum_and_skipped),
    RUN(ipv4_trailing_link_padding_ignored),
    RUN(tcp_emit_fixed_header_fields),
    RUN(tcp_layout_syn_mss_sackok_ts_nop_wscale),
    RUN(tcp_layout_syn_without_ts_mss_nop_nop_sackok_nop_wscale),
    RUN(tcp_layout_mss_only),
    RUN(tcp_layout_mss_ts_no_sack_is_nop_nop_ts),
    RUN(tcp_layout_mss_wscale),
    RUN(tcp_layout_mss_sackok),
    RUN(tcp_layout_ts_only_nop_nop_ts),
    RUN(tcp_layout_ts_and_one_sack_block),
    RUN(tcp_layout_sack_blocks_1_to_4_without_ts),
    RUN(tcp_layout_sack_clamped_to_option_space),
    RUN(tcp_layout_sackok_ts_wscale_without_mss),
    RUN(tcp_layout_sackok_wscale_without_mss_or_ts),
    RUN(tcp_layout_wscale_only),
    RUN(tcp_linux_syn_round_trips_byte_for_byte),
    RUN(tcp_linux_synack_and_data_round_trip_byte_for_byte),
    RUN(tcp_parse_sack_blocks_1_to_4),
    RUN(tcp_parse_unknown_options_skipped),
    RUN(tcp_parse_eol_ends_option_list),
    RUN(tcp_parse_known_option_with_wrong_length_ignored),
    RUN(tcp_parse_option_length_0_or_1_is_malformed),
    RUN(tcp_parse_option_running_past_header_is_malformed),
    RUN(tcp_parse_option_exactly_filling_header_is_fine),
    RUN(tcp_parse_data_offset_below_5_is_malformed),
    RUN(tcp_parse_data_offset_beyond_segment_is_malformed),
    RUN(tcp_parse_truncated_header_is_malformed),
    RUN(tcp_checksum_verifies_good_and_rejects_bad),
    RUN(tcp_parse_reports_all_flags),
    RUN(udp_round_trip),
    RUN(udp_bad_checksum_rejected),
    RUN(udp_zero_checksum_means_none),
    RUN(udp_computed_zero_is_sent_as_ffff),
    RUN(udp_bad_lengths_rejected),
    RUN(udp_payload_bounded_by_length_field),
    RUN(icmp_echo_known_bytes),
    RUN(icmp_echo_round_trip),
    RUN(icmp_error_quotes_overlapping_datagram),
    RUN(icmp_bad_checksum_rejected),
    RUN(icmp_truncated_rejected)
)
