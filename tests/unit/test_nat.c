/* test_nat.c: forwarding with NAT (nat.c): a guest stack on the gateway's Ethernet LAN and
 * a remote stack beyond its IP uplink, plus packets written here; TCP, UDP and ICMP echo
 * through the translation both ways with every checksum checked, ICMP errors with their
 * quoted headers translated back, TTL and fragmentation-needed, MSS clamping, port
 * forwards, the flow table bounded under a flood, and the stack's own services beside. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lan.h"
#include "unit.h"
#include "wire/wire.h"
#include "wtcp.h"

#define IP LAN_IP
#define GW IP(10, 0, 2, 2)
#define GUEST IP(10, 0, 2, 15)
#define TESTER IP(10, 0, 2, 77)
#define OUTSIDE IP(10, 77, 0, 2)
#define REMOTE IP(192, 0, 2, 1)
static const uint8_t MAC_GW[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t MAC_GUEST[6] = {0x02, 0, 0, 0, 0, 0x0b};
static const uint8_t MAC_T[6] = {0x02, 0, 0, 0, 0, 0x77};

typedef struct net {
    lan *l;
    wtcp_stack *gw, *guest, *remote;
    int gw_port, t;
} net;

/* Gateway (uplink MTU up_mtu, NAT on it, max_flows), guest, remote, tester. */
static int net_init(net *n, uint16_t up_mtu, uint32_t max_flows)
{
    memset(n, 0, sizeof *n);
    n->l = lan_new();
    n->l->gateway_up_mtu = up_mtu;
    n->gw_port = n->l->nports;
    n->gw = lan_add_gateway(n->l, GW, MAC_GW);
    if (!n->gw)
        return 0;
    n->guest = lan_add_ether_stack(n->l, GUEST, MAC_GUEST, GW);
    n->remote = lan_add_remote(n->l, n->gw_port, REMOTE);
    n->t = lan_add_tester(n->l);
    n->l->tester_ip = TESTER;
    memcpy(n->l->tester_mac, MAC_T, 6);
    if (!n->guest || !n->remote)
        return 0;
    wtcp_nat_config c;
    wtcp_nat_config_init(&c);
    if (max_flows)
        c.max_entries = max_flows;
    if (wtcp_nat_enable(n->gw, 0, &c) != 0)
        return 0;
    lan_run(n->l, 5);
    lan_forget(n->l);
    return 1;
}

static uint64_t stat(wtcp_stack *st, const char *what)
{
    wtcp_stats s;
    wtcp_stats_get(st, &s);
    if (!strcmp(what, "out"))
        return s.nat_out;
    if (!strcmp(what, "in"))
        return s.nat_in;
    if (!strcmp(what, "flows"))
        return s.nat_flows;
    if (!strcmp(what, "evicted"))
        return s.nat_evicted;
    return s.drops;
}

/* ---- packets written by the tester, and a check of every sum in a frame ---- */

/* An IPv4 packet in a frame to the gateway's MAC; the L4 part is already at f + 34. */
static size_t frame_ip(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto, size_t l4len, uint8_t ttl, int df)
{
    memcpy(f, MAC_GW, 6);
    memcpy(f + 6, MAC_T, 6);
    wire_put16(f + 12, 0x0800);
    uint8_t *l4 = f + 34;
    if (proto == WIRE_PROTO_TCP || proto == WIRE_PROTO_UDP)
        wire_l4_checksum(l4, l4len, src, dst, proto);
    else {
        wire_put16(l4 + 2, 0);
        wire_put16(l4 + 2, wire_fold(wire_sum(l4, l4len, 0)));
    }
    wire_ipv4 h;
    memset(&h, 0, sizeof h);
    h.total_len = (uint16_t)(20 + l4len);
    h.id = 0x1234;
    h.frag = df ? WIRE_IP_DF : 0;
    h.ttl = ttl;
    h.proto = proto;
    h.src = src;
    h.dst = dst;
    wire_ipv4_emit(f + 14, &h);
    return 34 + l4len;
}

static size_t frame_udp(uint8_t *f, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, const char *text,
                        size_t len, uint8_t ttl, int df)
{
    memset(f, 0, 34 + 8 + len);
    wire_udp_emit(f + 34, sport, dport, len);
    memcpy(f + 42, text, len);
    return frame_ip(f, src, dst, WIRE_PROTO_UDP, 8 + len, ttl, df);
}

static size_t frame_echo(uint8_t *f, uint32_t src, uint32_t dst, uint16_t id, uint16_t seq)
{
    memset(f, 0, 34 + 16);
    uint8_t *m = f + 34;
    m[0] = WIRE_ICMP_ECHO_REQUEST;
    wire_put16(m + 4, id);
    wire_put16(m + 6, seq);
    memcpy(m + 8, "pingping", 8);
    return frame_ip(f, src, dst, WIRE_PROTO_ICMP, 16, 64, 1);
}

/* The IPv4 packet in a frame to the tester, with its header, transport and (for ICMP
 * errors) quoted header sums all verified; NULL when any is wrong or it is not IPv4. */
static const uint8_t *checked_ip(const lan_frame *f, wire_ipv4 *ip)
{
    if (!f || f->len < 34 || memcmp(f->data, MAC_T, 6) != 0 || wire_get16(f->data + 12) != 0x0800)
        return NULL;
    if (wire_ipv4_parse(f->data + 14, f->len - 14, ip) != WIRE_OK)
        return NULL;
    if (ip->proto == WIRE_PROTO_UDP) {
        wire_udp u;
        if (wire_udp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, &u) != WIRE_OK)
            return NULL;
    } else if (ip->proto == WIRE_PROTO_TCP) {
        wire_tcp t;
        if (wire_tcp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, 1, &t) != WIRE_OK)
            return NULL;
    } else if (ip->proto == WIRE_PROTO_ICMP) {
        wire_icmp m;
        if (wire_icmp_parse(ip->payload, ip->payload_len, &m) != WIRE_OK)
            return NULL;
        if (m.type == 3 || m.type == 11) {
            wire_ipv4 q;
            if (m.payload_len < 28 || wire_fold(wire_sum(m.payload, 20, 0)) != 0)
                return NULL; /* the quoted header's own sum */
            (void)q;
        }
    }
    return f->data + 14;
}

/* The first frame the tester got since the last look that is IPv4 of proto; NULL if none. */
static const uint8_t *next_ip(lan *l, uint8_t proto, wire_ipv4 *ip)
{
    for (size_t k = 0; lan_kept(l, k); k++) {
        const lan_frame *f = lan_kept(l, k);
        if (f->len >= 34 && !memcmp(f->data, MAC_T, 6) && wire_get16(f->data + 12) == 0x0800 && f->data[23] == proto) {
            const uint8_t *p = checked_ip(f, ip);
            lan_forget(l);
            return p;
        }
    }
    lan_forget(l);
    return NULL;
}

/* ---- tests ---- */

TEST(tcp_from_the_guest_through_nat_both_ways)
{
    net n;
    CHECK(net_init(&n, 1500, 0));
    int lr = wtcp_socket(n.remote, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(n.remote, lr, 0, 80), 0);
    CHECK_EQ_I(wtcp_listen(n.remote, lr, 8), 0);
    int cg = wtcp_socket(n.guest, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(n.guest, cg, REMOTE, 80), WTCP_EINPROGRESS);
    lan_run(n.l, 20);
    uint32_t peer;
    uint16_t pport;
    int cr = wtcp_accept(n.remote, lr, &peer, &pport);
    CHECK(cr > 0);
    CHECK_EQ_U(peer, OUTSIDE);
    CHECK(pport >= 61000);
    CHECK_EQ_U(stat(n.gw, "flows"), 1);
    static uint8_t up[1 << 20], down[1 << 20], got_up[1 << 20], got_down[1 << 20];
    for (size_t i = 0; i < sizeof up; i++)
        up[i] = (uint8_t)(i * 13 + 1), down[i] = (uint8_t)(i * 7 + 3);
    size_t su = 0, sd = 0, gu = 0, gd = 0;
    for (int round = 0; round < 4000 && (gu < sizeof up || gd < sizeof down); round++) {
        int r;
        while (su < sizeof up && (r = wtcp_send(n.guest, cg, up + su, sizeof up - su)) > 0)
            su += (size_t)r;
        while (sd < sizeof down && (r = wtcp_send(n.remote, cr, down + sd, sizeof down - sd)) > 0)
            sd += (size_t)r;
        lan_run(n.l, 1);
        while ((r = wtcp_recv(n.remote, cr, got_up + gu, sizeof got_up - gu)) > 0)
            gu += (size_t)r;
        while ((r = wtcp_recv(n.guest, cg, got_down + gd, sizeof got_down - gd)) > 0)
            gd += (size_t)r;
    }
    CHECK_EQ_U(gu, sizeof up);
    CHECK_EQ_U(gd, sizeof down);
    CHECK_MEM(got_up, up, sizeof up);
    CHECK_MEM(got_down, down, sizeof down);
    wtcp_info gi, ri;
    CHECK_EQ_I(wtcp_info_get(n.guest, cg, &gi), 0);
    CHECK_EQ_I(wtcp_info_get(n.remote, cr, &ri), 0);
    CHECK_EQ_U(gi.retransmits, 0);
    CHECK_EQ_U(ri.retransmits, 0);
    CHECK(ri.ts_ok && ri.sack_ok && ri.snd_wscale); /* options came through untouched */
    CHECK(stat(n.gw, "out") > 700 && stat(n.gw, "in") > 700);
    CHECK_EQ_U(stat(n.gw, "drops"), lan_drops(n.gw, WTCP_DROP_ARP_NOT_OURS)); /* the guest's announcement */
    /* Closed both ways: the flow lingers for the transitory timeout, then goes. */
    wtcp_close(n.guest, cg);
    wtcp_close(n.remote, cr);
    lan_run(n.l, 100);
    CHECK_EQ_U(stat(n.gw, "flows"), 1);
    lan_run(n.l, 250000);
    CHECK_EQ_U(stat(n.gw, "flows"), 0);
    wtcp_close(n.remote, lr);
    lan_run(n.l, 70000);
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(udp_and_ping_through_nat_with_identifiers_restored)
{
    net n;
    CHECK(net_init(&n, 1500, 0));
    int ur = wtcp_socket(n.remote, WTCP_SOCK_DGRAM);
    CHECK_EQ_I(wtcp_bind(n.remote, ur, 0, 7), 0);
    uint8_t f[1600];
    lan_inject(n.l, n.t, f, frame_udp(f, TESTER, 5353, REMOTE, 7, "hello", 5, 64, 1));
    lan_run(n.l, 10);
    uint8_t buf[64];
    uint32_t from;
    uint16_t fport;
    CHECK_EQ_I(wtcp_recvfrom(n.remote, ur, buf, sizeof buf, &from, &fport), 5);
    CHECK_EQ_U(from, OUTSIDE);
    CHECK(fport >= 61000);
    CHECK_EQ_I(wtcp_sendto(n.remote, ur, "world", 5, from, fport), 5);
    lan_run(n.l, 10);
    wire_ipv4 ip;
    const uint8_t *p = next_ip(n.l, WIRE_PROTO_UDP, &ip);
    CHECK(p);
    CHECK_EQ_U(ip.src, REMOTE);
    CHECK_EQ_U(ip.dst, TESTER);
    CHECK_EQ_U(ip.ttl, 63);
    CHECK_EQ_U(wire_get16(ip.payload), 7);
    CHECK_EQ_U(wire_get16(ip.payload + 2), 5353);
    CHECK_MEM(ip.payload + 8, "world", 5);
    /* A datagram without a checksum keeps none. */
    size_t len = frame_udp(f, TESTER, 5353, REMOTE, 7, "nosum", 5, 64, 1);
    wire_put16(f + 34 + 6, 0);
    lan_inject(n.l, n.t, f, len);
    lan_run(n.l, 10);
    CHECK_EQ_I(wtcp_recvfrom(n.remote, ur, buf, sizeof buf, NULL, NULL), 5);
    /* Ping: the remote stack answers; the identifier comes back as it left. */
    lan_inject(n.l, n.t, f, frame_echo(f, TESTER, REMOTE, 0x4242, 1));
    lan_run(n.l, 10);
    p = next_ip(n.l, WIRE_PROTO_ICMP, &ip);
    CHECK(p);
    CHECK_EQ_U(ip.payload[0], WIRE_ICMP_ECHO_REPLY);
    CHECK_EQ_U(wire_get16(ip.payload + 4), 0x4242);
    CHECK_EQ_U(wire_get16(ip.payload + 6), 1);
    CHECK_EQ_U(ip.src, REMOTE);
    CHECK_EQ_U(stat(n.gw, "flows"), 2);
    /* Ping the gateway's own addresses: the stack answers them itself. */
    lan_inject(n.l, n.t, f, frame_echo(f, TESTER, OUTSIDE, 7, 1));
    lan_run(n.l, 10);
    p = next_ip(n.l, WIRE_PROTO_ICMP, &ip);
    CHECK(p);
    CHECK_EQ_U(ip.src, OUTSIDE);
    CHECK_EQ_U(ip.ttl, 64);
    CHECK_EQ_U(stat(n.gw, "flows"), 2);
    /* UDP flows lapse: 30 s unanswered, 300 s answered. */
    lan_run(n.l, 70000);
    CHECK_EQ_U(stat(n.gw, "flows"), 1);
    lan_run(n.l, 250000);
    CHECK_EQ_U(stat(n.gw, "flows"), 0);
    wtcp_close(n.remote, ur);
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(icmp_errors_come_back_with_the_quoted_packet_translated)
{
    net n;
    CHECK(net_init(&n, 1500, 0));
    uint8_t f[1600];
    /* UDP to a closed port of the remote: its port unreachable quotes the translated
     * datagram; the tester must see its own, untranslated, with every sum right. */
    lan_inject(n.l, n.t, f, frame_udp(f, TESTER, 40000, REMOTE, 9999, "anyone?", 7, 64, 1));
    lan_run(n.l, 10);
    wire_ipv4 ip;
    const uint8_t *p = next_ip(n.l, WIRE_PROTO_ICMP, &ip);
    CHECK(p);
    CHECK_EQ_U(ip.payload[0], 3);
    CHECK_EQ_U(ip.payload[1], 3);
    CHECK_EQ_U(ip.src, REMOTE);
    CHECK_EQ_U(ip.dst, TESTER);
    const uint8_t *q = ip.payload + 8;
    CHECK_EQ_U(wire_get32(q + 12), TESTER);
    CHECK_EQ_U(wire_get32(q + 16), REMOTE);
    CHECK_EQ_U(wire_get16(q + 20), 40000);
    CHECK_EQ_U(wire_get16(q + 22), 9999);
    /* The quoted UDP checksum matches the original datagram's again. */
    uint8_t orig[1600];
    frame_udp(orig, TESTER, 40000, REMOTE, 9999, "anyone?", 7, 64, 1);
    CHECK_EQ_U(wire_get16(q + 26), wire_get16(orig + 34 + 6));
    CHECK_EQ_U(stat(n.gw, "in"), 1);
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(ttl_sizes_and_mss_at_a_gateway_whose_uplink_is_smaller)
{
    net n;
    CHECK(net_init(&n, 1400, 0));
    uint8_t f[1600];
    lan_inject(n.l, n.t, f, frame_udp(f, TESTER, 40000, REMOTE, 7, "ttl1", 4, 1, 1));
    lan_run(n.l, 10);
    wire_ipv4 ip;
    const uint8_t *p = next_ip(n.l, WIRE_PROTO_ICMP, &ip);
    CHECK(p);
    CHECK_EQ_U(ip.payload[0], 11); /* time exceeded */
    CHECK_EQ_U(ip.src, GW);        /* from the gateway's address on the guest's side */
    CHECK_EQ_U(lan_drops(n.gw, WTCP_DROP_NAT_TTL), 1);
    CHECK_EQ_U(stat(n.gw, "out"), 0);
    /* 1428 bytes fit the LAN's 1500 but not the uplink's 1400. */
    static char big[1600];
    memset(big, 'x', sizeof big);
    lan_inject(n.l, n.t, f, frame_udp(f, TESTER, 40000, REMOTE, 7, big, 1400, 64, 1));
    lan_run(n.l, 10);
    p = next_ip(n.l, WIRE_PROTO_ICMP, &ip);
    CHECK(p);
    CHECK_EQ_U(ip.payload[0], 3);
    CHECK_EQ_U(ip.payload[1], 4);
    CHECK_EQ_U(wire_get16(ip.payload + 6), 1400); /* the next-hop MTU (RFC 1191) */
    lan_inject(n.l, n.t, f, frame_udp(f, TESTER, 40000, REMOTE, 7, big, 1400, 64, 0)); /* DF clear */
    lan_run(n.l, 10);
    CHECK(!next_ip(n.l, WIRE_PROTO_ICMP, &ip));
    CHECK_EQ_U(lan_drops(n.gw, WTCP_DROP_NAT_TOO_BIG), 2);
    /* TCP: both SYNs' MSS clamped to what 1400 carries, so no segment is too big. */
    int lr = wtcp_socket(n.remote, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(n.remote, lr, 0, 80), 0);
    CHECK_EQ_I(wtcp_listen(n.remote, lr, 8), 0);
    int cg = wtcp_socket(n.guest, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(n.guest, cg, REMOTE, 80), WTCP_EINPROGRESS);
    lan_run(n.l, 20);
    int cr = wtcp_accept(n.remote, lr, NULL, NULL);
    CHECK(cr > 0);
    wtcp_info gi, ri;
    CHECK_EQ_I(wtcp_info_get(n.guest, cg, &gi), 0);
    CHECK_EQ_I(wtcp_info_get(n.remote, cr, &ri), 0);
    CHECK_EQ_U(gi.snd_mss, 1360 - 12); /* 1400 - 40, less the timestamp option */
    CHECK_EQ_U(ri.snd_mss, 1360 - 12);
    static uint8_t data[200000];
    size_t sent = 0;
    int r;
    for (int round = 0; round < 500 && sent < sizeof data; round++) {
        while (sent < sizeof data && (r = wtcp_send(n.guest, cg, data + sent, sizeof data - sent)) > 0)
            sent += (size_t)r;
        lan_run(n.l, 1);
        uint8_t sink[65536];
        while (wtcp_recv(n.remote, cr, sink, sizeof sink) > 0) {
        }
    }
    CHECK_EQ_U(lan_drops(n.gw, WTCP_DROP_NAT_TOO_BIG), 2); /* none since */
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(a_port_forward_lets_the_remote_reach_the_guest)
{
    net n;
    CHECK(net_init(&n, 1500, 0));
    CHECK_EQ_I(wtcp_nat_forward(n.gw, WTCP_PROTO_TCP, 8080, GUEST, 80), 0);
    CHECK_EQ_I(wtcp_nat_forward(n.gw, WTCP_PROTO_TCP, 8080, GUEST, 81), WTCP_EADDRINUSE);
    CHECK_EQ_I(wtcp_nat_forward(n.gw, WTCP_PROTO_TCP, 8081, REMOTE, 80), WTCP_EINVAL); /* outside */
    CHECK_EQ_I(wtcp_nat_forward(n.gw, WTCP_PROTO_TCP, 8081, GW, 80), WTCP_EINVAL);     /* ourselves */
    CHECK_EQ_I(wtcp_nat_forward(n.gw, 2, 8081, GUEST, 80), WTCP_EINVAL);
    int lg = wtcp_socket(n.guest, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(n.guest, lg, 0, 80), 0);
    CHECK_EQ_I(wtcp_listen(n.guest, lg, 8), 0);
    int cr = wtcp_socket(n.remote, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(n.remote, cr, OUTSIDE, 8080), WTCP_EINPROGRESS);
    lan_run(n.l, 20);
    uint32_t peer;
    uint16_t pport;
    int cg = wtcp_accept(n.guest, lg, &peer, &pport);
    CHECK(cg > 0);
    CHECK_EQ_U(peer, REMOTE); /* the guest sees who called */
    CHECK_EQ_I(wtcp_send(n.guest, cg, "HTTP/1.0 200 OK\r\n", 17), 17);
    lan_run(n.l, 10);
    uint8_t buf[64];
    CHECK_EQ_I(wtcp_recv(n.remote, cr, buf, sizeof buf), 17);
    uint32_t la;
    uint16_t lp;
    CHECK_EQ_I(wtcp_getpeername(n.remote, cr, &la, &lp), 0);
    CHECK_EQ_U(la, OUTSIDE);
    CHECK_EQ_U(lp, 8080);
    wtcp_close(n.guest, cg);
    wtcp_close(n.remote, cr);
    lan_run(n.l, 100);
    /* Unforwarded: a new call finds the stack's own port 8080, closed: RST. */
    CHECK_EQ_I(wtcp_nat_unforward(n.gw, WTCP_PROTO_TCP, 8080), 0);
    CHECK_EQ_I(wtcp_nat_unforward(n.gw, WTCP_PROTO_TCP, 8080), WTCP_EINVAL);
    int c2 = wtcp_socket(n.remote, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(n.remote, c2, OUTSIDE, 8080), WTCP_EINPROGRESS);
    lan_run(n.l, 20);
    int err = 0;
    CHECK_EQ_I(wtcp_getsockopt(n.remote, c2, WTCP_SO_ERROR, &err), 0);
    CHECK_EQ_I(err, WTCP_ECONNREFUSED);
    wtcp_close(n.remote, c2);
    wtcp_close(n.guest, lg);
    lan_run(n.l, 130000);
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(dns_to_the_gateway_goes_to_the_resolver_and_answers_come_from_the_gateway)
{
    net n;
    CHECK(net_init(&n, 1500, 0));
    CHECK_EQ_I(wtcp_nat_dns(n.gw, IP(10, 0, 2, 9)), WTCP_EINVAL); /* not beyond the uplink */
    CHECK_EQ_I(wtcp_nat_dns(n.gw, REMOTE), 0);
    int ur = wtcp_socket(n.remote, WTCP_SOCK_DGRAM);
    CHECK_EQ_I(wtcp_bind(n.remote, ur, 0, 53), 0);
    int ug = wtcp_socket(n.guest, WTCP_SOCK_DGRAM);
    CHECK_EQ_I(wtcp_bind(n.guest, ug, 0, 5000), 0);
    CHECK_EQ_I(wtcp_sendto(n.guest, ug, "query", 5, GW, 53), 5);
    lan_run(n.l, 10);
    uint8_t buf[64];
    uint32_t from;
    uint16_t fport;
    CHECK_EQ_I(wtcp_recvfrom(n.remote, ur, buf, sizeof buf, &from, &fport), 5);
    CHECK_EQ_U(from, OUTSIDE);
    CHECK_EQ_I(wtcp_sendto(n.remote, ur, "answer", 6, from, fport), 6);
    lan_run(n.l, 10);
    CHECK_EQ_I(wtcp_recvfrom(n.guest, ug, buf, sizeof buf, &from, &fport), 6);
    CHECK_EQ_U(from, GW); /* as the guest asked */
    CHECK_EQ_U(fport, 53);
    CHECK_MEM(buf, "answer", 6);
    /* DNS over TCP the same way. */
    int lr = wtcp_socket(n.remote, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(n.remote, lr, 0, 53), 0);
    CHECK_EQ_I(wtcp_listen(n.remote, lr, 4), 0);
    int cg = wtcp_socket(n.guest, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(n.guest, cg, GW, 53), WTCP_EINPROGRESS);
    lan_run(n.l, 20);
    int cr = wtcp_accept(n.remote, lr, NULL, NULL);
    CHECK(cr > 0);
    CHECK_EQ_I(wtcp_send(n.remote, cr, "tcp-answer", 10), 10);
    lan_run(n.l, 10);
    CHECK_EQ_I(wtcp_recv(n.guest, cg, buf, sizeof buf), 10);
    uint32_t pa;
    CHECK_EQ_I(wtcp_getpeername(n.guest, cg, &pa, NULL), 0);
    CHECK_EQ_U(pa, GW);
    /* Without a resolver, port 53 is the gateway's own: a socket there answers. */
    CHECK_EQ_I(wtcp_nat_dns(n.gw, 0), 0);
    int ul = wtcp_socket(n.gw, WTCP_SOCK_DGRAM);
    CHECK_EQ_I(wtcp_bind(n.gw, ul, GW, 53), 0);
    CHECK_EQ_I(wtcp_sendto(n.guest, ug, "local?", 6, GW, 53), 6);
    lan_run(n.l, 10);
    CHECK_EQ_I(wtcp_recvfrom(n.gw, ul, buf, sizeof buf, &from, &fport), 6);
    CHECK_EQ_U(from, GUEST);
    CHECK_EQ_I(wtcp_sendto(n.gw, ul, "handled", 7, from, fport), 7);
    lan_run(n.l, 10);
    CHECK_EQ_I(wtcp_recvfrom(n.guest, ug, buf, sizeof buf, &from, NULL), 7);
    CHECK_EQ_U(from, GW);
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(the_gateway_serves_on_both_addresses_while_it_forwards)
{
    net n;
    CHECK(net_init(&n, 1500, 0));
    int l = wtcp_socket(n.gw, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(n.gw, l, 0, 80), 0);
    CHECK_EQ_I(wtcp_listen(n.gw, l, 8), 0);
    int c1 = wtcp_socket(n.guest, WTCP_SOCK_STREAM), c2 = wtcp_socket(n.guest, WTCP_SOCK_STREAM);
    int c3 = wtcp_socket(n.remote, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(n.guest, c1, GW, 80), WTCP_EINPROGRESS);
    CHECK_EQ_I(wtcp_connect(n.guest, c2, OUTSIDE, 80), WTCP_EINPROGRESS);
    CHECK_EQ_I(wtcp_connect(n.remote, c3, OUTSIDE, 80), WTCP_EINPROGRESS);
    lan_run(n.l, 20);
    int accepted = 0;
    while (wtcp_accept(n.gw, l, NULL, NULL) > 0)
        accepted++;
    CHECK_EQ_I(accepted, 3);
    CHECK_EQ_U(stat(n.gw, "flows"), 0); /* none of it was translated */
    /* The gateway's own connection to the guest, on the LAN. */
    int lg = wtcp_socket(n.guest, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(n.guest, lg, 0, 22), 0);
    CHECK_EQ_I(wtcp_listen(n.guest, lg, 8), 0);
    int c4 = wtcp_socket(n.gw, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(n.gw, c4, GUEST, 22), WTCP_EINPROGRESS);
    lan_run(n.l, 20);
    uint32_t peer;
    CHECK(wtcp_accept(n.guest, lg, &peer, NULL) > 0);
    CHECK_EQ_U(peer, GW);
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(bad_and_unknown_traffic_is_dropped_by_reason)
{
    net n;
    CHECK(net_init(&n, 1500, 0));
    uint8_t f[1600];
    /* A TCP ACK of no flow; a spoofed source off the LAN; GRE (47). */
    memset(f, 0, sizeof f);
    uint8_t *t = f + 34;
    wire_put16(t, 40000), wire_put16(t + 2, 80);
    t[12] = 0x50, t[13] = WIRE_TCP_ACK;
    lan_inject(n.l, n.t, f, frame_ip(f, TESTER, REMOTE, WIRE_PROTO_TCP, 20, 64, 1));
    lan_inject(n.l, n.t, f, frame_udp(f, IP(10, 9, 9, 9), 1, REMOTE, 7, "x", 1, 64, 1));
    memset(f + 34, 0, 8);
    lan_inject(n.l, n.t, f, frame_ip(f, TESTER, REMOTE, 47, 8, 64, 1));
    lan_run(n.l, 10);
    CHECK_EQ_U(lan_drops(n.gw, WTCP_DROP_NAT_NO_FLOW), 1);
    CHECK_EQ_U(lan_drops(n.gw, WTCP_DROP_IP_BAD_SRC), 1);
    CHECK_EQ_U(lan_drops(n.gw, WTCP_DROP_NAT_UNSUPPORTED), 1);
    CHECK_EQ_U(stat(n.gw, "out"), 0);
    CHECK_EQ_U(stat(n.gw, "flows"), 0);
    /* From the outside, to a port nothing maps: the stack's own (a UDP port unreachable). */
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(a_flood_of_new_flows_keeps_the_table_bounded_and_answered_flows_alive)
{
    net n;
    CHECK(net_init(&n, 1500, 256));
    int lr = wtcp_socket(n.remote, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(n.remote, lr, 0, 80), 0);
    CHECK_EQ_I(wtcp_listen(n.remote, lr, 8), 0);
    int cg = wtcp_socket(n.guest, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(n.guest, cg, REMOTE, 80), WTCP_EINPROGRESS);
    lan_run(n.l, 20);
    int cr = wtcp_accept(n.remote, lr, NULL, NULL);
    CHECK(cr > 0);
    CHECK_EQ_I(wtcp_send(n.guest, cg, "x", 1), 1);
    lan_run(n.l, 50);
    uint64_t mem0 = n.l->mem[n.gw_port].live_bytes;
    uint8_t f[128];
    for (int i = 0; i < 20000; i++) {
        lan_inject(n.l, n.t, f, frame_udp(f, TESTER, (uint16_t)(1024 + i), IP(198, 51, 100, 1 + i % 200), 53, "q", 1, 64, 1));
        if (i % 100 == 99) {
            lan_run(n.l, 1);
            CHECK_EQ_I(wtcp_send(n.guest, cg, "y", 1), 1);
        }
    }
    lan_run(n.l, 50);
    CHECK(stat(n.gw, "flows") <= 256);
    CHECK(stat(n.gw, "evicted") >= 20000 - 256);
    CHECK(n.l->mem[n.gw_port].live_bytes <= mem0 + 4096); /* the table is allocated up front */
    uint8_t buf[512];
    int got = 0, r;
    while ((r = wtcp_recv(n.remote, cr, buf, sizeof buf)) > 0)
        got += r;
    CHECK_EQ_I(got, 1 + 200);
    wtcp_info info;
    CHECK_EQ_I(wtcp_info_get(n.guest, cg, &info), 0);
    CHECK_EQ_U(info.retransmits, 0); /* the established flow was never evicted */
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(nat_arguments_are_checked)
{
    lan *l = lan_new();
    wtcp_stack *gw = lan_add_gateway(l, GW, MAC_GW);
    CHECK(gw);
    wtcp_nat_config c;
    wtcp_nat_config_init(&c);
    CHECK_EQ_I(wtcp_nat_forward(gw, WTCP_PROTO_TCP, 80, GUEST, 80), WTCP_EINVAL); /* no NAT yet */
    CHECK_EQ_I(wtcp_nat_enable(gw, 5, &c), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_nat_enable(gw, 0, NULL), WTCP_EINVAL);
    c.port_lo = 2000, c.port_hi = 1000;
    CHECK_EQ_I(wtcp_nat_enable(gw, 0, &c), WTCP_EINVAL);
    wtcp_nat_config_init(&c);
    c.max_entries = 0;
    CHECK_EQ_I(wtcp_nat_enable(gw, 0, &c), WTCP_EINVAL);
    wtcp_nat_config_init(&c);
    CHECK_EQ_I(wtcp_nat_enable(gw, 0, &c), 0);
    CHECK_EQ_I(wtcp_nat_forward(gw, WTCP_PROTO_UDP, 53, GUEST, 53), 0);
    CHECK_EQ_I(wtcp_nat_enable(gw, 0, &c), 0); /* again: the forward stays */
    CHECK_EQ_I(wtcp_nat_forward(gw, WTCP_PROTO_UDP, 53, GUEST, 53), WTCP_EADDRINUSE);
    for (int i = 1; i < WTCP_NAT_MAX_FORWARDS; i++)
        CHECK_EQ_I(wtcp_nat_forward(gw, WTCP_PROTO_TCP, (uint16_t)(1000 + i), GUEST, 80), 0);
    CHECK_EQ_I(wtcp_nat_forward(gw, WTCP_PROTO_TCP, 999, GUEST, 80), WTCP_ENOBUFS);
    CHECK_EQ_U(lan_free(l), 0);
}

UNIT_MAIN(RUN(tcp_from_the_guest_through_nat_both_ways), RUN(udp_and_ping_through_nat_with_identifiers_restored),
          RUN(icmp_errors_come_back_with_the_quoted_packet_translated), RUN(ttl_sizes_and_mss_at_a_gateway_whose_uplink_is_smaller),
          RUN(a_port_forward_lets_the_remote_reach_the_guest),
          RUN(dns_to_the_gateway_goes_to_the_resolver_and_answers_come_from_the_gateway),
          RUN(the_gateway_serves_on_both_addresses_while_it_forwards),
          RUN(bad_and_unknown_traffic_is_dropped_by_reason),
          RUN(a_flood_of_new_flows_keeps_the_table_bounded_and_answered_flows_alive),
          RUN(nat_arguments_are_checked))
