/* test_intercept.c: interception of a guest's TCP and UDP (wtcp_intercept_*): a guest stack
 * on the gateway's Ethernet LAN connects to addresses elsewhere; the gateway holds each SYN
 * until the application (this test, as the upstream) completes it, and the guest then
 * talks to the address it asked for; refusals become RST or ICMP unreachable; the backlog
 * bounds what is held; datagrams come with their destination and are answered from it;
 * NAT carries the rest beside it. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "lan.h"
#include "unit.h"
#include "wtcp.h"

#define IP LAN_IP
#define GW IP(10, 0, 2, 2)
#define GUEST IP(10, 0, 2, 15)
#define FAR IP(203, 0, 113, 5)
static const uint8_t MAC_GW[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t MAC_GUEST[6] = {0x02, 0, 0, 0, 0, 0x0b};

typedef struct net {
    lan *l;
    wtcp_stack *gw, *guest;
    int il; /* the interception listener */
} net;

static int net_init(net *n, int backlog)
{
    memset(n, 0, sizeof *n);
    n->l = lan_new();
    n->gw = lan_add_gateway(n->l, GW, MAC_GW);
    n->guest = lan_add_ether_stack(n->l, GUEST, MAC_GUEST, GW);
    if (!n->gw || !n->guest)
        return 0;
    n->il = wtcp_intercept_listen(n->gw, 1, backlog);
    lan_run(n->l, 5);
    return n->il > 0;
}

static int guest_error(net *n, int s)
{
    int err = 0;
    wtcp_getsockopt(n->guest, s, WTCP_SO_ERROR, &err);
    return err;
}

TEST(a_held_syn_is_answered_once_the_application_completes_it)
{
    net n;
    CHECK(net_init(&n, 8));
    int c = wtcp_socket(n.guest, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(n.guest, c, FAR, 443), WTCP_EINPROGRESS);
    lan_run(n.l, 20);
    uint32_t peer;
    uint16_t pport;
    int h = wtcp_accept(n.gw, n.il, &peer, &pport);
    CHECK(h > 0);
    CHECK_EQ_U(peer, GUEST);
    uint32_t la;
    uint16_t lp;
    CHECK_EQ_I(wtcp_getsockname(n.gw, h, &la, &lp), 0);
    CHECK_EQ_U(la, FAR); /* where the guest wants to go */
    CHECK_EQ_U(lp, 443);
    wtcp_info info;
    CHECK_EQ_I(wtcp_info_get(n.guest, c, &info), 0);
    CHECK_EQ_U(info.state, WTCP_SYN_SENT); /* nothing answered yet */
    /* The application takes its time (its upstream opens): the guest's SYN again is absorbed. */
    lan_run(n.l, 1500);
    CHECK(lan_drops(n.gw, WTCP_DROP_TCP_DUPLICATE) >= 1);
    CHECK_EQ_I(wtcp_info_get(n.guest, c, &info), 0);
    CHECK_EQ_U(info.state, WTCP_SYN_SENT);
    CHECK_EQ_I(wtcp_intercept_complete(n.gw, h), 0);
    CHECK_EQ_I(wtcp_intercept_complete(n.gw, h), WTCP_EINVAL); /* once */
    lan_run(n.l, 20);
    CHECK_EQ_I(wtcp_info_get(n.guest, c, &info), 0);
    CHECK_EQ_U(info.state, WTCP_ESTABLISHED);
    CHECK(info.sack_ok && info.ts_ok && info.snd_wscale); /* the SYN's options were kept */
    CHECK_EQ_I(wtcp_getpeername(n.guest, c, &peer, &pport), 0);
    CHECK_EQ_U(peer, FAR);
    CHECK_EQ_U(pport, 443);
    static uint8_t up[300000], down[300000], got_up[300000], got_down[300000];
    for (size_t i = 0; i < sizeof up; i++)
        up[i] = (uint8_t)(i * 3), down[i] = (uint8_t)(i * 5 + 1);
    size_t su = 0, sd = 0, gu = 0, gd = 0;
    for (int round = 0; round < 2000 && (gu < sizeof up || gd < sizeof down); round++) {
        int r;
        while (su < sizeof up && (r = wtcp_send(n.guest, c, up + su, sizeof up - su)) > 0)
            su += (size_t)r;
        while (sd < sizeof down && (r = wtcp_send(n.gw, h, down + sd, sizeof down - sd)) > 0)
            sd += (size_t)r;
        lan_run(n.l, 1);
        while ((r = wtcp_recv(n.gw, h, got_up + gu, sizeof got_up - gu)) > 0)
            gu += (size_t)r;
        while ((r = wtcp_recv(n.guest, c, got_down + gd, sizeof got_down - gd)) > 0)
            gd += (size_t)r;
    }
    CHECK_EQ_U(gu, sizeof up);
    CHECK_EQ_U(gd, sizeof down);
    CHECK_MEM(got_up, up, sizeof up);
    CHECK_MEM(got_down, down, sizeof down);
    /* The stack's own ports are untouched: 443 is free to bind. */
    int b = wtcp_socket(n.gw, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_bind(n.gw, b, 0, 443), 0);
    wtcp_close(n.gw, b);
    wtcp_close(n.guest, c);
    wtcp_close(n.gw, h);
    wtcp_close(n.gw, n.il);
    lan_run(n.l, 130000);
    CHECK_EQ_U(n.l->up[0].packets, 0); /* nothing went to the uplink */
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(refusals_look_like_a_real_network)
{
    net n;
    CHECK(net_init(&n, 8));
    int c1 = wtcp_socket(n.guest, WTCP_SOCK_STREAM), c2 = wtcp_socket(n.guest, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(n.guest, c1, FAR, 81), WTCP_EINPROGRESS);
    CHECK_EQ_I(wtcp_connect(n.guest, c2, FAR + 1, 82), WTCP_EINPROGRESS);
    lan_run(n.l, 20);
    int h1 = wtcp_accept(n.gw, n.il, NULL, NULL), h2 = wtcp_accept(n.gw, n.il, NULL, NULL);
    CHECK(h1 > 0 && h2 > 0);
    uint16_t p1;
    CHECK_EQ_I(wtcp_getsockname(n.gw, h1, NULL, &p1), 0);
    if (p1 != 81) { /* the SYNs' order is the guest's: pair each with its connection */
        int t = h1;
        h1 = h2;
        h2 = t;
    }
    CHECK_EQ_I(wtcp_intercept_refuse(n.gw, h1, 9), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_intercept_refuse(n.gw, h1, WTCP_REFUSE_RESET), 0);
    CHECK_EQ_I(wtcp_intercept_refuse(n.gw, h1, WTCP_REFUSE_RESET), WTCP_EBADF); /* released */
    CHECK_EQ_I(wtcp_intercept_refuse(n.gw, h2, WTCP_REFUSE_HOST_UNREACH), 0);
    lan_run(n.l, 20);
    CHECK_EQ_I(guest_error(&n, c1), WTCP_ECONNREFUSED);
    wtcp_stats s;
    wtcp_stats_get(n.guest, &s);
    CHECK_EQ_U(s.icmp_in, 1); /* the unreachable, quoting the guest's SYN */
    CHECK_EQ_U(s.drop[WTCP_DROP_ICMP_IGNORED], 0);
    CHECK_EQ_U(s.drop[WTCP_DROP_ICMP_MALFORMED], 0);
    /* The upstream fails later: the application aborts and the guest sees a reset. */
    int c3 = wtcp_socket(n.guest, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(n.guest, c3, FAR, 83), WTCP_EINPROGRESS);
    lan_run(n.l, 20);
    int h3 = wtcp_accept(n.gw, n.il, NULL, NULL);
    CHECK(h3 > 0);
    CHECK_EQ_I(wtcp_intercept_complete(n.gw, h3), 0);
    lan_run(n.l, 20);
    CHECK_EQ_I(wtcp_abort(n.gw, h3), 0);
    lan_run(n.l, 20);
    CHECK_EQ_I(guest_error(&n, c3), WTCP_ECONNRESET);
    /* A segment to elsewhere of no connection at all (the gateway restarted): a RST. */
    int c4 = wtcp_socket(n.guest, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(n.guest, c4, FAR, 84), WTCP_EINPROGRESS);
    lan_run(n.l, 20);
    int h4 = wtcp_accept(n.gw, n.il, NULL, NULL);
    CHECK_EQ_I(wtcp_intercept_complete(n.gw, h4), 0);
    lan_run(n.l, 20);
    wtcp_stack_free(n.gw); /* the gateway restarts: its connections are gone */
    n.gw = lan_add_gateway(n.l, GW, MAC_GW);
    CHECK(n.gw);
    n.l->port[0].st = NULL; /* the old port is now the tester's: it takes no frames */
    CHECK(wtcp_intercept_listen(n.gw, 1, 8) > 0);
    CHECK_EQ_I(wtcp_send(n.guest, c4, "late", 4), 4);
    lan_run(n.l, 2000);
    CHECK_EQ_I(guest_error(&n, c4), WTCP_ECONNRESET);
    wtcp_stats_get(n.gw, &s);
    CHECK_EQ_U(s.tcp_rst_out, 1);
    CHECK_EQ_U(s.drop[WTCP_DROP_TCP_NO_SOCKET], 1);
    wtcp_close(n.guest, c4);
    wtcp_close(n.guest, c1);
    wtcp_close(n.guest, c2);
    wtcp_close(n.guest, c3);
    wtcp_close(n.gw, n.il);
    lan_run(n.l, 200000);
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(the_backlog_bounds_what_is_held_and_closing_the_listener_ends_interception)
{
    net n;
    CHECK(net_init(&n, 4));
    int c[12];
    for (int i = 0; i < 12; i++) {
        c[i] = wtcp_socket(n.guest, WTCP_SOCK_STREAM);
        CHECK_EQ_I(wtcp_connect(n.guest, c[i], FAR + (uint32_t)i, 80), WTCP_EINPROGRESS);
    }
    lan_run(n.l, 20);
    CHECK_EQ_U(lan_drops(n.gw, WTCP_DROP_TCP_BACKLOG_FULL), 8);
    int held = 0, h;
    while ((h = wtcp_accept(n.gw, n.il, NULL, NULL)) > 0) {
        held++;
        CHECK_EQ_I(wtcp_intercept_complete(n.gw, h), 0);
    }
    CHECK_EQ_I(held, 4);
    /* The others' SYNs come again (after 1 s, then 2 s) and are taken as room frees. */
    for (int t = 0; t < 100 && held < 12; t++) {
        lan_run(n.l, 100);
        while ((h = wtcp_accept(n.gw, n.il, NULL, NULL)) > 0) {
            held++;
            CHECK_EQ_I(wtcp_intercept_complete(n.gw, h), 0);
        }
    }
    CHECK_EQ_I(held, 12);
    lan_run(n.l, 20);
    int up = 0;
    for (int i = 0; i < 12; i++) {
        wtcp_info info;
        CHECK_EQ_I(wtcp_info_get(n.guest, c[i], &info), 0);
        up += info.state == WTCP_ESTABLISHED;
    }
    CHECK_EQ_I(up, 12);
    /* Without the listener, a SYN to elsewhere is no one's (and NAT is off). */
    CHECK_EQ_I(wtcp_close(n.gw, n.il), 0);
    CHECK_EQ_I(wtcp_intercept_listen(n.gw, 0, 4) > 0, 1); /* another interface may */
    CHECK_EQ_I(wtcp_intercept_listen(n.gw, 0, 4), WTCP_EINVAL); /* but once */
    CHECK_EQ_I(wtcp_intercept_listen(n.gw, 7, 4), WTCP_EINVAL);
    int late = wtcp_socket(n.guest, WTCP_SOCK_STREAM);
    uint64_t before = lan_drops(n.gw, WTCP_DROP_IP_NOT_OURS);
    CHECK_EQ_I(wtcp_connect(n.guest, late, FAR + 50, 80), WTCP_EINPROGRESS);
    lan_run(n.l, 20);
    CHECK_EQ_U(lan_drops(n.gw, WTCP_DROP_IP_NOT_OURS), before + 1);
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(udp_to_elsewhere_is_taken_with_its_destination_and_answered_from_it)
{
    net n;
    CHECK(net_init(&n, 8));
    int iu = wtcp_intercept_udp(n.gw, 1);
    CHECK(iu > 0);
    CHECK_EQ_I(wtcp_intercept_udp(n.gw, 1), WTCP_EINVAL); /* once per interface */
    int g = wtcp_socket(n.guest, WTCP_SOCK_DGRAM);
    CHECK_EQ_I(wtcp_bind(n.guest, g, 0, 5353), 0);
    CHECK_EQ_I(wtcp_sendto(n.guest, g, "query-a", 7, FAR, 53), 7);
    CHECK_EQ_I(wtcp_sendto(n.guest, g, "query-b", 7, FAR + 9, 5000), 7);
    lan_run(n.l, 10);
    uint8_t buf[64];
    uint32_t src, dst;
    uint16_t sport, dport;
    CHECK_EQ_I(wtcp_intercept_recvfrom(n.gw, iu, buf, sizeof buf, &src, &sport, &dst, &dport), 7);
    CHECK_MEM(buf, "query-a", 7);
    CHECK_EQ_U(src, GUEST);
    CHECK_EQ_U(sport, 5353);
    CHECK_EQ_U(dst, FAR);
    CHECK_EQ_U(dport, 53);
    CHECK_EQ_I(wtcp_intercept_recvfrom(n.gw, iu, buf, sizeof buf, &src, &sport, &dst, &dport), 7);
    CHECK_EQ_U(dst, FAR + 9);
    CHECK_EQ_U(dport, 5000);
    CHECK_EQ_I(wtcp_intercept_recvfrom(n.gw, iu, buf, sizeof buf, NULL, NULL, NULL, NULL), WTCP_EAGAIN);
    /* The answer comes from the address asked. */
    CHECK_EQ_I(wtcp_intercept_sendto(n.gw, iu, "answer", 6, FAR, 53, GUEST, 5353), 6);
    lan_run(n.l, 10);
    uint32_t from;
    uint16_t fport;
    CHECK_EQ_I(wtcp_recvfrom(n.guest, g, buf, sizeof buf, &from, &fport), 6);
    CHECK_MEM(buf, "answer", 6);
    CHECK_EQ_U(from, FAR);
    CHECK_EQ_U(fport, 53);
    /* Nothing on the other port: port unreachable, from that host, quoting the datagram. */
    wtcp_stats s0, s1;
    wtcp_stats_get(n.guest, &s0);
    CHECK_EQ_I(wtcp_intercept_unreachable(n.gw, iu, FAR + 9, 5000, GUEST, 5353), 0);
    lan_run(n.l, 10);
    wtcp_stats_get(n.guest, &s1);
    CHECK_EQ_U(s1.icmp_in, s0.icmp_in + 1);
    CHECK_EQ_U(s1.drop[WTCP_DROP_ICMP_CHECKSUM], 0);
    CHECK_EQ_U(s1.drop[WTCP_DROP_ICMP_MALFORMED], 0);
    /* Argument checks; an ordinary UDP socket is not an interception socket. */
    CHECK_EQ_I(wtcp_intercept_sendto(n.gw, iu, "x", 1, 0, 53, GUEST, 5353), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_intercept_sendto(n.gw, iu, "x", 1, FAR, 53, GW, 5353), WTCP_EINVAL);
    int plain = wtcp_socket(n.gw, WTCP_SOCK_DGRAM);
    CHECK_EQ_I(wtcp_intercept_sendto(n.gw, plain, "x", 1, FAR, 53, GUEST, 5353), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_intercept_recvfrom(n.gw, plain, buf, sizeof buf, NULL, NULL, NULL, NULL), WTCP_EINVAL);
    /* Bounded: a flood fills the socket's queue (SO_RCVBUF, 256 KiB), the rest is dropped
     * and counted. */
    static uint8_t big[1400];
    for (int i = 0; i < 400; i++) {
        wtcp_sendto(n.guest, g, big, sizeof big, FAR, 53);
        if (i % 20 == 19)
            lan_run(n.l, 2);
    }
    lan_run(n.l, 10);
    int queued = 0;
    while (wtcp_intercept_recvfrom(n.gw, iu, big, sizeof big, NULL, NULL, NULL, NULL) > 0)
        queued++;
    CHECK(queued > 100 && queued <= 262144 / (1400 + 14));
    CHECK_EQ_U(lan_drops(n.gw, WTCP_DROP_UDP_QUEUE_FULL), 400 - (uint64_t)queued);
    /* Closed: datagrams to elsewhere are no one's again (NAT is off). */
    CHECK_EQ_I(wtcp_close(n.gw, iu), 0);
    uint64_t before = lan_drops(n.gw, WTCP_DROP_IP_NOT_OURS);
    CHECK_EQ_I(wtcp_sendto(n.guest, g, "late", 4, FAR, 53), 4);
    lan_run(n.l, 10);
    CHECK_EQ_U(lan_drops(n.gw, WTCP_DROP_IP_NOT_OURS), before + 1);
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(interception_takes_tcp_and_nat_the_rest)
{
    net n;
    CHECK(net_init(&n, 8));
    wtcp_nat_config nc;
    wtcp_nat_config_init(&nc);
    CHECK_EQ_I(wtcp_nat_enable(n.gw, 0, &nc), 0);
    int c = wtcp_socket(n.guest, WTCP_SOCK_STREAM);
    CHECK_EQ_I(wtcp_connect(n.guest, c, FAR, 80), WTCP_EINPROGRESS);
    int u = wtcp_socket(n.guest, WTCP_SOCK_DGRAM);
    CHECK_EQ_I(wtcp_sendto(n.guest, u, "dns?", 4, FAR, 53), 4);
    lan_run(n.l, 20);
    CHECK(wtcp_accept(n.gw, n.il, NULL, NULL) > 0);
    wtcp_stats s;
    wtcp_stats_get(n.gw, &s);
    CHECK_EQ_U(s.nat_out, 1); /* the datagram went out through NAT, the SYN did not */
    CHECK_EQ_U(n.l->up[0].packets, 1);
    CHECK_EQ_U(lan_free(n.l), 0);
}

UNIT_MAIN(RUN(a_held_syn_is_answered_once_the_application_completes_it), RUN(refusals_look_like_a_real_network),
          RUN(the_backlog_bounds_what_is_held_and_closing_the_listener_ends_interception),
          RUN(udp_to_elsewhere_is_taken_with_its_destination_and_answered_from_it),
          RUN(interception_takes_tcp_and_nat_the_rest))
