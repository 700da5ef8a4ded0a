/* test_ether.c: interfaces (if.c) and ARP (arp.c): stacks on an Ethernet hub resolve each
 * other and carry TCP, a stack with an IP uplink and an Ethernet LAN routes by prefix and
 * picks its source address, ARP retries, expiry, refresh, bounds under floods, and every
 * malformed frame dropped and counted by reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lan.h"
#include "unit.h"
#include "wtcp.h"

static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t MAC_B[6] = {0x02, 0, 0, 0, 0, 0x0b};
static const uint8_t MAC_T[6] = {0x02, 0, 0, 0, 0, 0x77}; /* the test's own frames */
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

#define IP LAN_IP
#define GW IP(10, 0, 2, 2)
#define GUEST IP(10, 0, 2, 15)
#define TESTER IP(10, 0, 2, 77)
#define drops_of lan_drops

static void up_sink(void *user, const uint8_t *packet, size_t len)
{
    lan_capture *c = user;
    c->packets++;
    c->len = len < LAN_FRAME_MAX ? len : LAN_FRAME_MAX;
    memcpy(c->last, packet, c->len);
}

/* An ARP message in an Ethernet frame; returns the frame's length (60). */
static size_t make_arp(uint8_t *f, const uint8_t eth_dst[6], uint16_t op, const uint8_t sha[6], uint32_t spa,
                       uint32_t tpa)
{
    memset(f, 0, 60);
    memcpy(f, eth_dst, 6);
    memcpy(f + 6, sha, 6);
    f[12] = 0x08;
    f[13] = 0x06;
    uint8_t *a = f + 14;
    a[1] = 1;      /* Ethernet */
    a[2] = 0x08;   /* IPv4 */
    a[4] = 6;
    a[5] = 4;
    a[7] = (uint8_t)op;
    memcpy(a + 8, sha, 6);
    lan_put32(a + 14, spa);
    lan_put32(a + 24, tpa);
    return 60;
}

#define get32 lan_get32

/* ---- tests ---- */

TEST(two_stacks_resolve_each_other_and_move_a_megabyte_over_ethernet)
{
    lan *l = lan_new();
    wtcp_stack *a = lan_add_ether_stack(l, GW, MAC_A, 0);
    wtcp_stack *b = lan_add_ether_stack(l, GUEST, MAC_B, GW);
    CHECK(a && b);
    lan_run(l, 10); /* the two announcements */
    wtcp_stats sa, sb;
    wtcp_stats_get(a, &sa);
    CHECK_EQ_U(sa.arp_out, 1);
    CHECK_EQ_U(sa.arp_entries, 0); /* a gratuitous ARP teaches nobody (not for them) */
    int l80 = wtcp_socket(a, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(a, l80, 0, 80), 0);
    CHECK_EQ_I(wtcp_listen(a, l80, 8), 0);
    int cb = wtcp_socket(b, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(b, cb, GW, 80), WTCP_EINPROGRESS);
    lan_run(l, 20);
    int ca = wtcp_accept(a, l80, NULL, NULL);
    CHECK(ca > 0);
    wtcp_stats_get(b, &sb);
    CHECK_EQ_U(sb.arp_out, 2);     /* its announcement and one request for the gateway */
    CHECK_EQ_U(sb.arp_entries, 1);
    CHECK_EQ_U(sb.arp_queued, 0);  /* the SYN waited, then left */
    wtcp_stats_get(a, &sa);
    CHECK_EQ_U(sa.arp_entries, 1); /* learnt from the request (it was for us) */
    uint32_t la;
    uint16_t lp;
    CHECK_EQ_I(wtcp_getsockname(b, cb, &la, &lp), 0);
    CHECK_EQ_U(la, GUEST);
    static uint8_t data[1 << 20], got[1 << 20];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + (i >> 11));
    size_t sent = 0, recvd = 0;
    for (int round = 0; round < 2000 && recvd < sizeof data; round++) {
        int r;
        while (sent < sizeof data && (r = wtcp_send(b, cb, data + sent, sizeof data - sent)) > 0)
            sent += (size_t)r;
        lan_run(l, 1);
        while ((r = wtcp_recv(a, ca, got + recvd, sizeof got - recvd)) > 0)
            recvd += (size_t)r;
    }
    CHECK_EQ_U(recvd, sizeof data);
    CHECK_MEM(got, data, sizeof data);
    wtcp_info info;
    CHECK_EQ_I(wtcp_info_get(b, cb, &info), 0);
    CHECK_EQ_U(info.snd_mss, 1500 - 40 - 12);
    CHECK_EQ_U(info.retransmits, 0);
    wtcp_iface_info ii;
    CHECK_EQ_I(wtcp_iface_get(b, 0, &ii), 0);
    CHECK_EQ_U(ii.link, WTCP_LINK_ETHERNET);
    CHECK_EQ_U(ii.addr.v4, GUEST);
    CHECK_MEM(ii.mac, MAC_B, 6);
    CHECK(ii.out > 700 && ii.out_bytes > sizeof data);
    CHECK_EQ_U(ii.drops, 1); /* A's announcement: ARP for another address, counted */
    CHECK_EQ_U(drops_of(b, WTCP_DROP_ARP_NOT_OURS), 1);
    wtcp_stats_get(a, &sa);
    CHECK_EQ_U(sa.drops, 1);
    CHECK_EQ_U(sa.drop[WTCP_DROP_ARP_NOT_OURS], 1);
    CHECK_EQ_U(sa.arp_out, 2); /* the announcement and the reply: nothing per packet */
    wtcp_abort(b, cb);
    wtcp_abort(a, ca);
    wtcp_close(a, l80);
    lan_run(l, 10);
    CHECK_EQ_U(l->dropped, 0);
    CHECK_EQ_U(lan_free(l), 0);
}

TEST(announcement_and_reply_frames_are_as_rfc_826_and_5227_say)
{
    lan *l = lan_new();
    wtcp_stack *a = lan_add_gateway(l, GW, MAC_A);
    int t = lan_add_tester(l);
    CHECK(a);
    lan_run(l, 5);
    /* The announcement: broadcast, a request with sender = target = our address. */
    CHECK_EQ_U(l->raw_frames, 1);
    CHECK_EQ_U(l->raw_len, 60); /* padded to the minimum frame */
    const uint8_t *f = l->raw_last;
    CHECK_MEM(f, BCAST, 6);
    CHECK_MEM(f + 6, MAC_A, 6);
    CHECK(f[12] == 0x08 && f[13] == 0x06 && f[21] == 1);
    CHECK_MEM(f + 22, MAC_A, 6);
    CHECK_EQ_U(get32(f + 28), GW);
    CHECK_EQ_U(get32(f + 38), GW);
    /* A request for our address is answered to the asker, unicast. */
    uint8_t q[60];
    lan_inject(l, t, q, make_arp(q, BCAST, 1, MAC_T, TESTER, GW));
    lan_run(l, 5);
    CHECK_EQ_U(l->raw_frames, 2);
    f = l->raw_last;
    CHECK_MEM(f, MAC_T, 6);
    CHECK(f[21] == 2);
    CHECK_MEM(f + 22, MAC_A, 6);
    CHECK_EQ_U(get32(f + 28), GW);
    CHECK_MEM(f + 32, MAC_T, 6);
    CHECK_EQ_U(get32(f + 38), TESTER);
    /* The uplink never saw any of it. */
    CHECK_EQ_U(l->up[0].packets, 0);
    CHECK_EQ_U(lan_free(l), 0);
}

TEST(bad_frames_and_arp_are_dropped_by_reason)
{
    lan *l = lan_new();
    wtcp_stack *a = lan_add_gateway(l, GW, MAC_A);
    int t = lan_add_tester(l);
    CHECK(a);
    lan_run(l, 5);
    uint8_t f[64];
    uint64_t frames = l->raw_frames;
    lan_inject(l, t, f, 13); /* shorter than a header */
    make_arp(f, BCAST, 1, MAC_T, TESTER, GW);
    memcpy(f, MAC_B, 6); /* for another host */
    lan_inject(l, t, f, 60);
    make_arp(f, BCAST, 1, MAC_T, TESTER, GW);
    f[0] = 0x01, f[1] = 0x00, f[2] = 0x5e; /* a multicast group */
    lan_inject(l, t, f, 60);
    make_arp(f, BCAST, 1, MAC_T, TESTER, GW);
    f[6] = 0xff; /* a group source */
    lan_inject(l, t, f, 60);
    make_arp(f, BCAST, 1, MAC_T, TESTER, GW);
    f[12] = 0x86, f[13] = 0xdd; /* IPv6 */
    lan_inject(l, t, f, 60);
    make_arp(f, BCAST, 1, MAC_T, TESTER, GW);
    lan_inject(l, t, f, 14 + 27); /* ARP one byte short */
    make_arp(f, BCAST, 1, MAC_T, TESTER, GW);
    f[15] = 6; /* hardware type 6 */
    lan_inject(l, t, f, 60);
    make_arp(f, BCAST, 3, MAC_T, TESTER, GW); /* RARP's op */
    lan_inject(l, t, f, 60);
    make_arp(f, BCAST, 1, MAC_T, TESTER, GW);
    f[18] = 8; /* hlen 8 */
    lan_inject(l, t, f, 60);
    make_arp(f, BCAST, 1, BCAST, TESTER, GW); /* a broadcast sender MAC inside ARP */
    memcpy(f + 6, MAC_T, 6);
    lan_inject(l, t, f, 60);
    make_arp(f, BCAST, 1, MAC_T, TESTER, IP(10, 0, 2, 99)); /* for someone else */
    lan_inject(l, t, f, 60);
    make_arp(f, BCAST, 2, MAC_T, GW, GW); /* someone claims our address */
    lan_inject(l, t, f, 60);
    uint8_t ip[60]; /* an IPv4 packet with a bad header checksum */
    memset(ip, 0, sizeof ip);
    memcpy(ip, MAC_A, 6);
    memcpy(ip + 6, MAC_T, 6);
    ip[12] = 0x08;
    ip[14] = 0x45, ip[17] = 20, ip[22] = 64, ip[23] = 17;
    lan_inject(l, t, ip, 60);
    lan_run(l, 5);
    CHECK_EQ_U(drops_of(a, WTCP_DROP_ETH_TOO_SHORT), 1);
    CHECK_EQ_U(drops_of(a, WTCP_DROP_ETH_NOT_OURS), 2);
    CHECK_EQ_U(drops_of(a, WTCP_DROP_ETH_BAD_SRC), 1);
    CHECK_EQ_U(drops_of(a, WTCP_DROP_ETH_TYPE), 1);
    CHECK_EQ_U(drops_of(a, WTCP_DROP_ARP_MALFORMED), 5);
    CHECK_EQ_U(drops_of(a, WTCP_DROP_ARP_NOT_OURS), 2);
    CHECK_EQ_U(drops_of(a, WTCP_DROP_IP_CHECKSUM), 1);
    wtcp_stats s;
    wtcp_stats_get(a, &s);
    CHECK_EQ_U(s.drops, 13);
    CHECK_EQ_U(s.arp_entries, 0); /* nothing learnt from any of it */
    CHECK_EQ_U(l->raw_frames, frames); /* and nothing answered */
    wtcp_iface_info ii;
    CHECK_EQ_I(wtcp_iface_get(a, 1, &ii), 0);
    CHECK_EQ_U(ii.drops, 13);
    CHECK_EQ_U(ii.in, 13);
    CHECK_EQ_I(wtcp_iface_get(a, 0, &ii), 0);
    CHECK_EQ_U(ii.drops, 0);
    CHECK_EQ_I(wtcp_iface_input(a, 2, l->now, f, 60), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_iface_input(a, -1, l->now, f, 60), WTCP_EINVAL);
    CHECK_EQ_U(lan_free(l), 0);
}

TEST(an_unanswered_address_is_asked_three_times_then_its_queue_dropped)
{
    lan *l = lan_new();
    wtcp_stack *a = lan_add_gateway(l, GW, MAC_A);
    int t = lan_add_tester(l);
    CHECK(a);
    lan_run(l, 5);
    uint64_t frames0 = l->raw_frames;
    int u = wtcp_socket(a, WTCP_SOCK_DGRAM);
    static uint8_t payload[1000];
    for (int i = 0; i < 40; i++) /* more than an address may hold while it resolves */
        CHECK_EQ_I(wtcp_sendto(a, u, payload, sizeof payload, IP(10, 0, 2, 99), 9), (int)sizeof payload);
    wtcp_stats s;
    wtcp_stats_get(a, &s);
    CHECK_EQ_U(s.arp_queued, 16);
    CHECK_EQ_U(s.drop[WTCP_DROP_ARP_QUEUE_FULL], 24);
    CHECK_EQ_U(s.arp_out, 2); /* the announcement, and one request however many wait */
    lan_run(l, 900);
    CHECK_EQ_U(l->raw_frames - frames0, 1);
    lan_run(l, 200);
    CHECK_EQ_U(l->raw_frames - frames0, 2); /* a second ask after a second */
    lan_run(l, 1000);
    CHECK_EQ_U(l->raw_frames - frames0, 3);
    CHECK_EQ_U(get32(l->raw_last + 38), IP(10, 0, 2, 99));
    lan_run(l, 1000);
    wtcp_stats_get(a, &s);
    CHECK_EQ_U(l->raw_frames - frames0, 3); /* three and no more */
    CHECK_EQ_U(s.arp_entries, 0);
    CHECK_EQ_U(s.arp_queued, 0);
    CHECK_EQ_U(s.drop[WTCP_DROP_ARP_UNRESOLVED], 16);
    /* A TCP connect to an absent host keeps asking with each SYN, and fails in time. */
    int c = wtcp_socket(a, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(a, c, IP(10, 0, 2, 98), 80), WTCP_EINPROGRESS);
    lan_run(l, 200000);
    int err = 0;
    CHECK_EQ_I(wtcp_getsockopt(a, c, WTCP_SO_ERROR, &err), 0);
    CHECK_EQ_I(err, WTCP_ETIMEDOUT);
    wtcp_close(a, c);
    wtcp_close(a, u);
    (void)t;
    CHECK_EQ_U(lan_free(l), 0);
}

TEST(entries_in_use_are_refreshed_by_unicast_and_idle_ones_expire)
{
    lan *l = lan_new();
    wtcp_stack *a = lan_add_gateway(l, GW, MAC_A);
    wtcp_stack *b = lan_add_ether_stack(l, GUEST, MAC_B, GW);
    int t = lan_add_tester(l);
    CHECK(a && b);
    lan_run(l, 5);
    int ua = wtcp_socket(a, WTCP_SOCK_DGRAM), ub = wtcp_socket(b, WTCP_SOCK_DGRAM);
    CHECK_EQ_I(wtcp_bind(b, ub, 0, 7000), 0);
    CHECK_EQ_I(wtcp_sendto(a, ua, "x", 1, GUEST, 7000), 1);
    lan_run(l, 10);
    uint8_t buf[8];
    uint32_t from;
    CHECK_EQ_I(wtcp_recvfrom(b, ub, buf, sizeof buf, &from, NULL), 1);
    CHECK_EQ_U(from, GW);
    wtcp_stats s;
    wtcp_stats_get(a, &s);
    uint64_t asked = s.arp_out;
    /* A datagram a second for 70 s: at 60 s the entry is confirmed by a unicast request
     * (the tester sees none of it: a hub passes it, but it is addressed to B). */
    uint64_t frames0 = l->raw_frames, bcast0 = l->raw_broadcast, ucast0 = l->raw_arp_unicast;
    for (int i = 0; i < 70; i++) {
        CHECK_EQ_I(wtcp_sendto(a, ua, "x", 1, GUEST, 7000), 1);
        lan_run(l, 1000);
        CHECK_EQ_I(wtcp_recvfrom(b, ub, buf, sizeof buf, NULL, NULL), 1);
    }
    wtcp_stats_get(a, &s);
    CHECK_EQ_U(s.arp_out, asked + 1);
    CHECK_EQ_U(s.arp_entries, 1);
    CHECK(l->raw_frames - frames0 >= 70); /* the hub shows the tester every frame */
    CHECK_EQ_U(l->raw_broadcast - bcast0, 0);
    CHECK_EQ_U(l->raw_arp_unicast - ucast0, 2); /* A's unicast request and B's reply */
    /* Idle for a minute: the entry goes, and the next datagram asks again by broadcast. */
    lan_run(l, 125000);
    wtcp_stats_get(a, &s);
    CHECK_EQ_U(s.arp_entries, 0);
    CHECK_EQ_I(wtcp_sendto(a, ua, "y", 1, GUEST, 7000), 1);
    lan_run(l, 10);
    CHECK_EQ_I(wtcp_recvfrom(b, ub, buf, sizeof buf, NULL, NULL), 1);
    CHECK_EQ_U(buf[0], 'y');
    wtcp_close(a, ua);
    wtcp_close(b, ub);
    (void)t;
    CHECK_EQ_U(lan_free(l), 0);
}

TEST(a_flood_of_arp_keeps_the_cache_bounded_and_the_real_neighbour_working)
{
    lan *l = lan_new();
    wtcp_stack *a = lan_add_gateway(l, GW, MAC_A);
    wtcp_stack *b = lan_add_ether_stack(l, GUEST, MAC_B, GW);
    int t = lan_add_tester(l);
    CHECK(a && b);
    lan_run(l, 5);
    int l80 = wtcp_socket(a, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(a, l80, GW, 80), 0);
    CHECK_EQ_I(wtcp_listen(a, l80, 8), 0);
    int cb = wtcp_socket(b, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(b, cb, GW, 80), WTCP_EINPROGRESS);
    lan_run(l, 10);
    int ca = wtcp_accept(a, l80, NULL, NULL);
    CHECK(ca > 0);
    uint64_t mem0 = l->mem[0].live_bytes;
    /* 20,000 requests for our address from as many senders, 100 a millisecond. */
    uint8_t f[60];
    for (int i = 0; i < 20000; i++) {
        uint8_t mac[6] = {0x02, 0x10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 1};
        make_arp(f, BCAST, 1, mac, IP(10, 0, 3, 0) + (uint32_t)i, GW);
        lan_inject(l, t, f, 60);
        if (i % 100 == 99) {
            lan_run(l, 1);
            CHECK_EQ_I(wtcp_send(b, cb, "ping", 4), 4); /* the real neighbour keeps talking */
        }
    }
    lan_run(l, 10);
    wtcp_stats s;
    wtcp_stats_get(a, &s);
    CHECK_EQ_U(s.arp_entries, 256);
    CHECK(s.arp_evicted >= 20000 - 256);
    CHECK(l->mem[0].live_bytes <= mem0 + 4096); /* the table was allocated up front */
    uint8_t buf[1024];
    int n = 0, r;
    while ((r = wtcp_recv(a, ca, buf, sizeof buf)) > 0)
        n += r;
    CHECK_EQ_I(n, 4 * 200);
    CHECK_EQ_I(wtcp_send(a, ca, "pong", 4), 4);
    lan_run(l, 3000); /* B's entry may have been evicted: asked again, answered */
    CHECK_EQ_I(wtcp_recv(b, cb, buf, sizeof buf), 4);
    wtcp_info info;
    CHECK_EQ_I(wtcp_info_get(a, ca, &info), 0);
    CHECK_EQ_U(info.state, WTCP_ESTABLISHED);
    wtcp_abort(a, ca);
    wtcp_abort(b, cb);
    wtcp_close(a, l80);
    CHECK_EQ_U(lan_free(l), 0);
}

TEST(routes_pick_the_interface_and_source_and_sockets_serve_every_address)
{
    lan *l = lan_new();
    wtcp_stack *a = lan_add_gateway(l, GW, MAC_A);
    wtcp_stack *b = lan_add_ether_stack(l, GUEST, MAC_B, GW);
    CHECK(a && b);
    lan_run(l, 5);
    /* Off every prefix: the default route, by the uplink, from the uplink's address. */
    int u = wtcp_socket(a, WTCP_SOCK_DGRAM);
    CHECK_EQ_I(wtcp_sendto(a, u, "up", 2, IP(192, 0, 2, 1), 53), 2);
    CHECK_EQ_U(l->up[0].packets, 1);
    CHECK_EQ_U(get32(l->up[0].last + 12), IP(10, 77, 0, 2));
    /* On the LAN prefix: by Ethernet, from the LAN address. */
    int ub = wtcp_socket(b, WTCP_SOCK_DGRAM);
    CHECK_EQ_I(wtcp_bind(b, ub, 0, 9), 0);
    CHECK_EQ_I(wtcp_sendto(a, u, "lan", 3, GUEST, 9), 3);
    lan_run(l, 10);
    uint8_t buf[16];
    uint32_t from = 0;
    CHECK_EQ_I(wtcp_recvfrom(b, ub, buf, sizeof buf, &from, NULL), 3);
    CHECK_EQ_U(from, GW);
    CHECK_EQ_U(l->up[0].packets, 1);
    /* A listener on address 0 accepts on both addresses; one bound to the LAN address
     * answers a SYN to the uplink address with RST. */
    int any = wtcp_socket(a, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(a, any, 0, 80), 0);
    CHECK_EQ_I(wtcp_listen(a, any, 8), 0);
    int lan_only = wtcp_socket(a, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(a, lan_only, GW, 81), 0);
    CHECK_EQ_I(wtcp_listen(a, lan_only, 8), 0);
    CHECK_EQ_I(wtcp_bind(a, wtcp_socket(a, WTCP_SOCK_STREAM), IP(10, 0, 2, 3), 82), WTCP_EADDRNOTAVAIL);
    int c1 = wtcp_socket(b, WTCP_SOCK_STREAM), c2 = wtcp_socket(b, WTCP_SOCK_STREAM);
    int c3 = wtcp_socket(b, WTCP_SOCK_STREAM), c4 = wtcp_socket(b, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(b, c1, GW, 80), WTCP_EINPROGRESS);
    CHECK_EQ_I(wtcp_connect(b, c2, IP(10, 77, 0, 2), 80), WTCP_EINPROGRESS); /* via its gateway */
    CHECK_EQ_I(wtcp_connect(b, c3, GW, 81), WTCP_EINPROGRESS);
    CHECK_EQ_I(wtcp_connect(b, c4, IP(10, 77, 0, 2), 81), WTCP_EINPROGRESS);
    lan_run(l, 20);
    uint32_t la[2];
    for (int i = 0; i < 2; i++) {
        int s = wtcp_accept(a, any, NULL, NULL);
        CHECK(s > 0);
        CHECK_EQ_I(wtcp_getsockname(a, s, &la[i], NULL), 0);
        wtcp_close(a, s);
    }
    CHECK((la[0] == GW && la[1] == IP(10, 77, 0, 2)) || (la[1] == GW && la[0] == IP(10, 77, 0, 2)));
    int s3 = wtcp_accept(a, lan_only, NULL, NULL);
    CHECK(s3 > 0);
    CHECK_EQ_I(wtcp_accept(a, lan_only, NULL, NULL), WTCP_EAGAIN);
    int err = 0;
    CHECK_EQ_I(wtcp_getsockopt(b, c4, WTCP_SO_ERROR, &err), 0);
    CHECK_EQ_I(err, WTCP_ECONNREFUSED);
    CHECK_EQ_U(l->up[0].packets, 1); /* the uplink address answered on the LAN */
    /* A LAN stack without a default route cannot reach beyond its prefix. */
    wtcp_stack *c = lan_add_ether_stack(l, IP(10, 0, 2, 16), MAC_T, 0);
    CHECK(c);
    int cc = wtcp_socket(c, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(c, cc, IP(10, 77, 0, 2), 80), WTCP_ENETUNREACH);
    CHECK_EQ_I(wtcp_route_default(c, 0, IP(10, 0, 3, 1)), WTCP_EINVAL); /* not on the prefix */
    CHECK_EQ_I(wtcp_route_default(c, 1, GW), WTCP_EINVAL);               /* no interface 1 */
    CHECK_EQ_I(wtcp_route_default(c, 0, GW), 0);
    CHECK_EQ_I(wtcp_connect(c, cc, IP(10, 77, 0, 2), 80), WTCP_EINPROGRESS);
    lan_run(l, 20);
    int s5 = wtcp_accept(a, any, NULL, NULL);
    CHECK(s5 > 0);
    wtcp_close(a, s5);
    wtcp_close(c, cc);
    wtcp_close(a, s3);
    for (int s = c1; s <= c4; s++)
        wtcp_close(b, s);
    wtcp_close(a, any);
    wtcp_close(a, lan_only);
    wtcp_close(a, u);
    wtcp_close(b, ub);
    lan_run(l, 130000);
    CHECK_EQ_U(lan_free(l), 0);
}

TEST(interface_arguments_are_checked)
{
    lan *l = lan_new();
    wtcp_stack *a = lan_add_gateway(l, GW, MAC_A);
    CHECK(a);
    wtcp_iface_config ic;
    wtcp_iface_config_init(&ic);
    CHECK_EQ_U(ic.link, WTCP_LINK_ETHERNET);
    CHECK_EQ_U(ic.mtu, 1500);
    ic.output = up_sink;
    ic.output_user = &l->up[1];
    ic.addr.v4 = IP(10, 1, 0, 1);
    ic.addr.prefix_len = 24;
    CHECK_EQ_I(wtcp_iface_add(a, &ic), WTCP_EINVAL); /* MAC zero */
    memcpy(ic.mac, BCAST, 6);
    CHECK_EQ_I(wtcp_iface_add(a, &ic), WTCP_EINVAL); /* a group MAC */
    memcpy(ic.mac, MAC_B, 6);
    ic.mtu = 575;
    CHECK_EQ_I(wtcp_iface_add(a, &ic), WTCP_EINVAL);
    ic.mtu = 1500;
    ic.addr.prefix_len = 33;
    CHECK_EQ_I(wtcp_iface_add(a, &ic), WTCP_EINVAL);
    ic.addr.prefix_len = 24;
    ic.addr.family = 10;
    CHECK_EQ_I(wtcp_iface_add(a, &ic), WTCP_EINVAL); /* IPv6 is not here yet */
    ic.addr.family = WTCP_AF_INET;
    ic.addr.v4 = GW;
    CHECK_EQ_I(wtcp_iface_add(a, &ic), WTCP_EINVAL); /* an address the stack has */
    ic.link = 3;
    ic.addr.v4 = IP(10, 1, 0, 1);
    CHECK_EQ_I(wtcp_iface_add(a, &ic), WTCP_EINVAL);
    ic.link = WTCP_LINK_IP;
    ic.output = NULL;
    CHECK_EQ_I(wtcp_iface_add(a, &ic), WTCP_EINVAL);
    ic.output = up_sink;
    ic.output_user = &l->up[1];
    for (int i = 2; i < WTCP_MAX_IFACES; i++) {
        ic.addr.v4 = IP(10, 1, i, 1);
        CHECK_EQ_I(wtcp_iface_add(a, &ic), i);
    }
    ic.addr.v4 = IP(10, 1, 99, 1);
    CHECK_EQ_I(wtcp_iface_add(a, &ic), WTCP_ENOBUFS);
    /* Each prefix routes to its own interface, from that interface's address. */
    wtcp_iface_info ii;
    CHECK_EQ_I(wtcp_iface_get(a, WTCP_MAX_IFACES, &ii), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_iface_get(a, 3, &ii), 0);
    CHECK_EQ_U(ii.addr.v4, IP(10, 1, 3, 1));
    int u = wtcp_socket(a, WTCP_SOCK_DGRAM);
    CHECK_EQ_I(wtcp_sendto(a, u, "x", 1, IP(10, 1, 5, 9), 9), 1);
    CHECK_EQ_U(l->up[1].packets, 1);
    CHECK_EQ_U(get32(l->up[1].last + 12), IP(10, 1, 5, 1));
    wtcp_close(a, u);
    /* An Ethernet interface 0 needs a usable MAC. */
    wtcp_config c;
    wtcp_config_init(&c);
    c.addr = GUEST;
    c.output = up_sink;
    c.link = WTCP_LINK_ETHERNET;
    wtcp_stack *bad = NULL;
    CHECK_EQ_I(wtcp_stack_new(&c, &bad), WTCP_EINVAL);
    c.link = 9;
    CHECK_EQ_I(wtcp_stack_new(&c, &bad), WTCP_EINVAL);
    c.link = WTCP_LINK_IP;
    c.arp_max = 70000;
    CHECK_EQ_I(wtcp_stack_new(&c, &bad), WTCP_EINVAL);
    CHECK_EQ_U(lan_free(l), 0);
}

UNIT_MAIN(RUN(two_stacks_resolve_each_other_and_move_a_megabyte_over_ethernet),
          RUN(announcement_and_reply_frames_are_as_rfc_826_and_5227_say),
          RUN(bad_frames_and_arp_are_dropped_by_reason),
          RUN(an_unanswered_address_is_asked_three_times_then_its_queue_dropped),
          RUN(entries_in_use_are_refreshed_by_unicast_and_idle_ones_expire),
          RUN(a_flood_of_arp_keeps_the_cache_bounded_and_the_real_neighbour_working),
          RUN(routes_pick_the_interface_and_source_and_sockets_serve_every_address),
          RUN(interface_arguments_are_checked))
