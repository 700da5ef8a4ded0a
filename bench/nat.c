/* nat.c: NAT forwarding rate of the core, native: a gateway stack (an IP uplink and an
 * Ethernet guest LAN, NAT on) fed UDP datagrams of 64 flows as Ethernet frames from a
 * guest (outward: frame in, packet out on the uplink) and the answers as packets from the
 * uplink (inward: packet in, frame out on the LAN), one core, no I/O. Prints a table.
 *
 * Usage: wtcp-bench-nat [PACKETS=2000000]   (bench/lan.sh runs it beside the wasm build) */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire/wire.h"
#include "wtcp.h"

#define GW 0x0a000202u
#define GUEST 0x0a00020fu
#define OUTSIDE 0x0a4d0002u
#define REMOTE 0xc0000201u
enum { FLOWS = 64 };
static const uint8_t MAC_GW[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t MAC_GUEST[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x56};

typedef struct sink {
    uint64_t count, bytes;
    uint16_t port[FLOWS]; /* outside port seen for each flow (by its source port) */
} sink;

static void up_out(void *user, const uint8_t *p, size_t len)
{
    sink *s = user;
    s->count++;
    s->bytes += len;
    if (len >= 28) {
        unsigned flow = (unsigned)(wire_get16(p + 22) - 9000) % FLOWS; /* dport 9000 + flow */
        s->port[flow] = wire_get16(p + 20);
    }
}

static void lan_out(void *user, const uint8_t *p, size_t len)
{
    sink *s = user;
    (void)p;
    s->count++;
    s->bytes += len;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* An IPv4/UDP packet at p (payload n bytes); returns its length. */
static size_t udp_packet(uint8_t *p, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, size_t n)
{
    memset(p + 28, 'x', n);
    wire_udp_emit(p + 20, sport, dport, n);
    wire_l4_checksum(p + 20, 8 + n, src, dst, WIRE_PROTO_UDP);
    wire_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.total_len = (uint16_t)(28 + n);
    ip.frag = WIRE_IP_DF;
    ip.ttl = 64;
    ip.proto = WIRE_PROTO_UDP;
    ip.src = src;
    ip.dst = dst;
    wire_ipv4_emit(p, &ip);
    return 28 + n;
}

int main(int argc, char **argv)
{
    long packets = argc > 1 ? atol(argv[1]) : 2000000;
    sink up = {0}, lan = {0};
    wtcp_config c;
    wtcp_config_init(&c);
    c.addr = OUTSIDE;
    c.prefix_len = 16;
    c.gateway = 0x0a4d0001u;
    c.output = up_out;
    c.output_user = &up;
    wtcp_stack *st;
    if (wtcp_stack_new(&c, &st) != 0)
        return 1;
    wtcp_iface_config ic;
    wtcp_iface_config_init(&ic);
    ic.addr.v4 = GW;
    ic.addr.prefix_len = 24;
    memcpy(ic.mac, MAC_GW, 6);
    ic.output = lan_out;
    ic.output_user = &lan;
    wtcp_nat_config nc;
    wtcp_nat_config_init(&nc);
    if (wtcp_iface_add(st, &ic) != 1 || wtcp_nat_enable(st, 0, &nc) != 0)
        return 1;
    uint64_t now = 1000;
    wtcp_poll(st, now);
    /* The guest introduces itself (ARP), so the answers need no resolution. */
    uint8_t arp[60] = {0};
    memcpy(arp, "\xff\xff\xff\xff\xff\xff", 6);
    memcpy(arp + 6, MAC_GUEST, 6);
    wire_put16(arp + 12, WIRE_ETH_ARP);
    wire_arp a = {.op = WIRE_ARP_REQUEST, .spa = GUEST, .tpa = GW};
    memcpy(a.sha, MAC_GUEST, 6);
    wire_arp_emit(arp + 14, &a);
    wtcp_iface_input(st, 1, now, arp, sizeof arp);

    static const size_t sizes[] = {18, 1472};
    printf("NAT forwarding, native (one core, %ld packets per row, %d UDP flows)\n", packets, FLOWS);
    printf("%-10s %-9s %12s %12s\n", "direction", "packet", "Mpps", "Gbit/s");
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        static uint8_t out_frames[FLOWS][14 + 1500], in_pkts[FLOWS][1500];
        size_t flen = 0, plen = 0;
        for (int f = 0; f < FLOWS; f++) {
            memcpy(out_frames[f], MAC_GW, 6);
            memcpy(out_frames[f] + 6, MAC_GUEST, 6);
            wire_put16(out_frames[f] + 12, WIRE_ETH_IPV4);
            flen = 14 + udp_packet(out_frames[f] + 14, GUEST, (uint16_t)(5000 + f), REMOTE, (uint16_t)(9000 + f), n);
            wtcp_iface_input(st, 1, now, out_frames[f], flen); /* opens the flow */
        }
        for (int f = 0; f < FLOWS; f++)
            plen = udp_packet(in_pkts[f], REMOTE, (uint16_t)(9000 + f), OUTSIDE, up.port[f], n);
        /* Outward. */
        uint64_t c0 = up.count;
        double t0 = now_s();
        for (long i = 0; i < packets; i++)
            wtcp_iface_input(st, 1, now, out_frames[i % FLOWS], flen);
        double t1 = now_s();
        uint64_t moved = up.count - c0;
        printf("%-10s %-9zu %12.2f %12.2f\n", "out", plen, moved / (t1 - t0) / 1e6, moved * plen * 8 / (t1 - t0) / 1e9);
        /* Inward. */
        c0 = lan.count;
        t0 = now_s();
        for (long i = 0; i < packets; i++)
            wtcp_input(st, now, in_pkts[i % FLOWS], plen);
        t1 = now_s();
        moved = lan.count - c0;
        printf("%-10s %-9zu %12.2f %12.2f\n", "in", plen, moved / (t1 - t0) / 1e6, moved * plen * 8 / (t1 - t0) / 1e9);
        if (moved != (uint64_t)packets)
            fprintf(stderr, "nat bench: %llu of %ld answers forwarded\n", (unsigned long long)moved, packets);
    }
    wtcp_stats s;
    wtcp_stats_get(st, &s);
    printf("(flows %llu, drops %llu)\n", (unsigned long long)s.nat_flows, (unsigned long long)s.drops);
    wtcp_stack_free(st);
    return 0;
}
