/* fuzz_ether.c: libFuzzer target for a gateway stack: frames into an Ethernet interface
 * with ARP, a DHCP server, a TCP listener, a UDP socket and TCP interception (held SYNs
 * completed or refused), and NAT onto an IP uplink (a port forward too), packets into the uplink, with the clock moving between them. Most
 * inputs are shaped (our MAC or broadcast, valid IPv4 header and transport sums, DHCP's
 * cookie, destinations beyond the uplink) so that the fuzzer reaches ARP, DHCP and NAT
 * logic; the counting allocator turns a leak into a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wire/wire.h"
#include "wtcp.h"

#define GW 0x0a000202u    /* 10.0.2.2, the gateway's LAN address */
#define GUEST 0x0a00020fu /* 10.0.2.15 */
#define OUTSIDE 0x0a4d0002u /* 10.77.0.2, the uplink's */
#define REMOTE 0xc0000201u  /* 192.0.2.1, beyond it */
static const uint8_t MAC_GW[6] = {0x02, 0, 0, 0, 0, 0x0a};

static uint64_t frames_out;
static void sink(void *user, const uint8_t *p, size_t len)
{
    (void)user;
    (void)p;
    (void)len;
    frames_out++;
}

/* Makes the fuzzer's bytes a plausible frame unless the control byte asks for them raw. */
static size_t shape(uint8_t *f, size_t len, uint8_t ctl)
{
    if ((ctl & 3) == 0 || len < 14)
        return len;
    if (ctl & 4)
        memset(f, 0xff, 6);
    else
        memcpy(f, MAC_GW, 6);
    f[6] &= 0xfe; /* a unicast source */
    if ((ctl & 3) == 1) { /* ARP */
        wire_put16(f + 12, WIRE_ETH_ARP);
        if (len >= 14 + 28) {
            wire_put16(f + 14, 1);
            wire_put16(f + 16, WIRE_ETH_IPV4);
            f[18] = 6, f[19] = 4;
            f[21] = (uint8_t)(1 + (f[21] & 1));
            if (ctl & 8)
                wire_put32(f + 14 + 24, GW);
        }
        return len;
    }
    wire_put16(f + 12, WIRE_ETH_IPV4);
    uint8_t *ip = f + 14;
    size_t n = len - 14;
    if (n < 20)
        return len;
    ip[0] = 0x45;
    wire_put16(ip + 2, (uint16_t)n);
    ip[6] &= 0x40;
    ip[7] = 0;
    if ((ctl & 3) == 2) { /* UDP to the DHCP server, or to the socket on 5353 */
        ip[9] = WIRE_PROTO_UDP;
        wire_put32(ip + 12, (ctl & 8) ? 0 : GUEST);
        wire_put32(ip + 16, (ctl & 16) ? GW : 0xffffffffu);
        if (n >= 28) {
            uint8_t *u = ip + 20;
            wire_put16(u + 2, (ctl & 32) ? 5353 : WIRE_DHCP_SERVER_PORT);
            wire_put16(u + 4, (uint16_t)(n - 20));
            if (n >= 28 + WIRE_DHCP_MIN) {
                uint8_t *m = u + 8;
                m[0] = 1, m[1] = 1, m[2] = 6;
                wire_put32(m + WIRE_DHCP_FIXED, 0x63825363u);
            }
            wire_l4_checksum(u, n - 20, wire_get32(ip + 12), wire_get32(ip + 16), WIRE_PROTO_UDP);
        }
    } else { /* TCP, UDP or ICMP to us, or beyond the uplink (NAT; TCP: interception) */
        ip[9] = (ctl & 8) ? WIRE_PROTO_ICMP : (ctl & 32) ? WIRE_PROTO_UDP : WIRE_PROTO_TCP;
        uint32_t dst = (ctl & 16) ? REMOTE + (uint32_t)(ip[1] & 3) : GW; /* 4 remotes, by TOS */
        wire_put32(ip + 12, GUEST);
        wire_put32(ip + 16, dst);
        uint8_t *l4 = ip + 20;
        if (ip[9] == WIRE_PROTO_UDP && n >= 28) {
            wire_put16(l4 + 4, (uint16_t)(n - 20));
            wire_l4_checksum(l4, n - 20, GUEST, dst, WIRE_PROTO_UDP);
        } else if (ip[9] == WIRE_PROTO_TCP && n >= 40) {
            if (!(ctl & 16))
                wire_put16(l4 + 2, 80);
            wire_l4_checksum(l4, n - 20, GUEST, dst, WIRE_PROTO_TCP);
        } else if (ip[9] == WIRE_PROTO_ICMP && n >= 28) {
            wire_put16(l4 + 2, 0);
            wire_put16(l4 + 2, wire_fold(wire_sum(l4, n - 20, 0)));
        }
    }
    wire_put16(ip + 10, 0);
    wire_put16(ip + 10, wire_fold(wire_sum(ip, 20, 0)));
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    harness_alloc_stats mem = {0};
    wtcp_config cfg;
    wtcp_config_init(&cfg);
    cfg.addr = 0x0a4d0002u;
    cfg.prefix_len = 16;
    cfg.gateway = 0x0a4d0001u;
    cfg.output = sink;
    cfg.alloc = harness_count_alloc;
    cfg.alloc_user = &mem;
    cfg.max_sockets = 16;
    cfg.arp_max = 8;
    cfg.sndbuf = cfg.rcvbuf = 4096;
    cfg.rcvbuf_max = 65536;
    wtcp_stack *st;
    if (wtcp_stack_new(&cfg, &st) != 0)
        abort();
    wtcp_iface_config ic;
    wtcp_iface_config_init(&ic);
    ic.addr.v4 = GW;
    ic.addr.prefix_len = 24;
    memcpy(ic.mac, MAC_GW, 6);
    ic.output = sink;
    if (wtcp_iface_add(st, &ic) != 1)
        abort();
    wtcp_dhcp_config dc;
    wtcp_dhcp_config_init(&dc);
    dc.pool_first = 0x0a00020fu;
    dc.pool_last = 0x0a000212u; /* four addresses: exhaustion is near */
    dc.lease_s = 60;
    if (wtcp_dhcp_enable(st, 1, &dc) != 0)
        abort();
    wtcp_nat_config nc;
    wtcp_nat_config_init(&nc);
    nc.max_entries = 16;
    nc.port_lo = 61000;
    nc.port_hi = 61007; /* eight ports: running out is near too */
    if (wtcp_nat_enable(st, 0, &nc) != 0 || wtcp_nat_forward(st, WTCP_PROTO_TCP, 8080, GUEST, 80) != 0)
        abort();
    static const uint8_t fixed_mac[6] = {0x52, 0x54, 0, 0, 0, 1};
    wtcp_dhcp_static(st, 1, fixed_mac, 0x0a000205u);
    int l = wtcp_socket(st, WTCP_SOCK_STREAM);
    wtcp_bind(st, l, 0, 80);
    wtcp_listen(st, l, 4);
    int u = wtcp_socket(st, WTCP_SOCK_DGRAM);
    wtcp_bind(st, u, 0, 5353);
    int il = wtcp_intercept_listen(st, 1, 4); /* TCP to elsewhere: held, then completed or refused */
    if (il <= 0)
        abort();
    uint64_t now = 1000;
    int conns[8];
    int nconns = 0;
    static uint8_t frame[2048], buf[2048];
    /* Input: records of [ctl][len][bytes...]. */
    size_t off = 0;
    while (off + 2 <= size) {
        uint8_t ctl = data[off];
        size_t len = data[off + 1] * 8u + (ctl >> 5);
        off += 2;
        if (len > size - off)
            len = size - off;
        memcpy(frame, data + off, len);
        off += len;
        if ((ctl & 3) == 3 && (ctl & 4) && len >= 14 + 28) {
            /* From the uplink to the outside address: answers to NAT's flows (the ports it
             * maps from), ICMP errors, the port forward, or the stack's own. */
            uint8_t *ip = frame + 14;
            size_t n = len - 14;
            ip[0] = 0x45;
            wire_put16(ip + 2, (uint16_t)n);
            ip[6] &= 0x40, ip[7] = 0;
            ip[9] = (ctl & 8) ? WIRE_PROTO_ICMP : (ctl & 32) ? WIRE_PROTO_UDP : WIRE_PROTO_TCP;
            wire_put32(ip + 12, REMOTE);
            wire_put32(ip + 16, OUTSIDE);
            uint8_t *l4 = ip + 20;
            if (ip[9] != WIRE_PROTO_ICMP)
                wire_put16(l4 + 2, (ctl & 16) ? 8080 : (uint16_t)(61000 + (l4[2] & 7)));
            if (ip[9] == WIRE_PROTO_UDP)
                wire_put16(l4 + 4, (uint16_t)(n - 20));
            if (ip[9] == WIRE_PROTO_ICMP) {
                wire_put16(l4 + 2, 0);
                wire_put16(l4 + 2, wire_fold(wire_sum(l4, n - 20, 0)));
            } else if (n >= 40 || ip[9] == WIRE_PROTO_UDP) {
                wire_l4_checksum(l4, n - 20, REMOTE, OUTSIDE, ip[9]);
            }
            wire_put16(ip + 10, 0);
            wire_put16(ip + 10, wire_fold(wire_sum(ip, 20, 0)));
            wtcp_input(st, now, ip, n);
        } else {
            len = shape(frame, len, ctl);
            wtcp_iface_input(st, 1, now, frame, len);
        }
        now += (ctl & 64) ? 1500 : 1; /* ARP retries and offers lapse at the slow pace */
        wtcp_poll(st, now);
        int a = wtcp_accept(st, l, NULL, NULL);
        if (a > 0 && nconns < 8)
            conns[nconns++] = a;
        int held = wtcp_accept(st, il, NULL, NULL);
        if (held > 0) {
            if ((ctl & 0x30) == 0x30)
                wtcp_intercept_refuse(st, held, ctl & 3 ? (ctl & 3) - 1 : 0);
            else if (wtcp_intercept_complete(st, held) == 0 && nconns < 8)
                conns[nconns++] = held;
            else
                wtcp_close(st, held);
        }
        for (int i = 0; i < nconns; i++) {
            while (wtcp_recv(st, conns[i], buf, sizeof buf) > 0) {
            }
            if (ctl & 128)
                wtcp_send(st, conns[i], buf, 600);
        }
        uint32_t from;
        uint16_t port;
        while (wtcp_recvfrom(st, u, buf, sizeof buf, &from, &port) >= 0)
            wtcp_sendto(st, u, buf, 8, from, port);
        wtcp_dhcp_lease lease;
        for (uint32_t k = 0; wtcp_dhcp_lease_get(st, 1, k, &lease) == 1; k++) {
        }
        wtcp_stats s;
        wtcp_stats_get(st, &s);
        if (s.arp_entries > 8 || s.dhcp_leases > 5 || s.nat_flows > 16)
            abort(); /* a table past its bound */
        wtcp_event ev;
        while (wtcp_next_event(st, &ev)) {
        }
    }
    for (int i = 0; i < 64; i++) {
        uint64_t next = wtcp_poll(st, now);
        if (next == WTCP_NEVER)
            break;
        now = next;
    }
    wtcp_stack_free(st);
    if (mem.live_bytes != 0)
        abort(); /* the stack leaked memory */
    return 0;
}
