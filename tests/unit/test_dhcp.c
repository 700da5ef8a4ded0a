/* test_dhcp.c: the DHCP server (dhcp.c, RFC 2131/2132) on a gateway's Ethernet interface,
 * driven by a client written here: every message type, where each reply goes, the options
 * it carries, leases that renew, lapse, are released, declined and reused, static leases,
 * pool exhaustion, and malformed messages dropped and counted by reason. */
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
static const uint8_t MAC_GW[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* ---- a DHCP client's messages, and a look at the server's ---- */

typedef struct client {
    uint8_t mac[6];
    uint32_t xid;
} client;

static client client_n(int n)
{
    client c = {{0x52, 0x54, 0, 0x12, 0x34, (uint8_t)n}, 0x1000u + (uint32_t)n};
    return c;
}

typedef struct msg_opts {
    uint8_t type;
    uint32_t requested, server, ciaddr;
    int broadcast;      /* the BROADCAST flag */
    uint32_t ip_src;    /* the IP source (0.0.0.0 unless renewing) */
    uint32_t ip_dst;    /* 255.255.255.255 unless renewing */
    const uint8_t *eth_dst;
    const uint8_t *extra; /* raw option bytes placed before END */
    size_t extra_len;
} msg_opts;

/* Builds the frame; returns its length. */
static size_t make_dhcp(uint8_t *f, const client *c, const msg_opts *o)
{
    memset(f, 0, 700);
    memcpy(f, o->eth_dst ? o->eth_dst : BCAST, 6);
    memcpy(f + 6, c->mac, 6);
    wire_put16(f + 12, 0x0800);
    uint8_t *ip = f + 14, *udp = ip + 20, *m = udp + 8;
    m[0] = 1, m[1] = 1, m[2] = 6;
    wire_put32(m + 4, c->xid);
    if (o->broadcast)
        wire_put16(m + 10, 0x8000);
    wire_put32(m + 12, o->ciaddr);
    memcpy(m + 28, c->mac, 6);
    wire_put32(m + 236, 0x63825363u);
    uint8_t *p = m + 240;
    *p++ = 53, *p++ = 1, *p++ = o->type;
    if (o->requested)
        *p++ = 50, *p++ = 4, wire_put32(p, o->requested), p += 4;
    if (o->server)
        *p++ = 54, *p++ = 4, wire_put32(p, o->server), p += 4;
    *p++ = 55, *p++ = 4, *p++ = 1, *p++ = 3, *p++ = 6, *p++ = 26; /* parameter request list */
    *p++ = 61, *p++ = 7, *p++ = 1, memcpy(p, c->mac, 6), p += 6;   /* client identifier */
    if (o->extra_len)
        memcpy(p, o->extra, o->extra_len), p += o->extra_len;
    *p++ = 255;
    size_t mlen = (size_t)(p - m) < 300 ? 300 : (size_t)(p - m);
    wire_udp_emit(udp, 68, 67, mlen);
    uint32_t src = o->ip_src, dst = o->ip_dst ? o->ip_dst : 0xffffffffu;
    wire_l4_checksum(udp, 8 + mlen, src, dst, WIRE_PROTO_UDP);
    wire_ipv4 h;
    memset(&h, 0, sizeof h);
    h.total_len = (uint16_t)(28 + mlen);
    h.ttl = 64;
    h.proto = WIRE_PROTO_UDP;
    h.src = src;
    h.dst = dst;
    wire_ipv4_emit(ip, &h);
    return 14 + 28 + mlen;
}

/* A server reply as the client sees it. */
typedef struct reply {
    const uint8_t *eth_dst;
    uint32_t ip_src, ip_dst;
    uint32_t xid, ciaddr, yiaddr;
    uint8_t chaddr[6];
    uint16_t flags;
    size_t bootp_len;
    uint8_t type;
    uint32_t server, lease, t1, t2, mask, router, bcast;
    uint32_t dns[3];
    int ndns;
    uint16_t mtu;
    char message[64];
} reply;

/* Parses frame f as a DHCP reply; 0 when it is not one. */
static int read_reply(const lan_frame *f, reply *r)
{
    memset(r, 0, sizeof *r);
    if (!f || f->len < 14 + 28 + 240 || wire_get16(f->data + 12) != 0x0800)
        return 0;
    wire_ipv4 ip;
    if (wire_ipv4_parse(f->data + 14, f->len - 14, &ip) != WIRE_OK || ip.proto != WIRE_PROTO_UDP)
        return 0;
    wire_udp u;
    if (wire_udp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, &u) != WIRE_OK || u.sport != 67 ||
        u.dport != 68 || wire_get16(ip.payload + 6) == 0)
        return 0;
    const uint8_t *m = u.payload;
    if (m[0] != 2 || wire_get32(m + 236) != 0x63825363u)
        return 0;
    r->eth_dst = f->data;
    r->ip_src = ip.src;
    r->ip_dst = ip.dst;
    r->xid = wire_get32(m + 4);
    r->flags = wire_get16(m + 10);
    r->ciaddr = wire_get32(m + 12);
    r->yiaddr = wire_get32(m + 16);
    memcpy(r->chaddr, m + 28, 6);
    r->bootp_len = u.payload_len;
    for (size_t off = 240; off < u.payload_len && m[off] != 255;) {
        uint8_t code = m[off], len = m[off + 1];
        const uint8_t *v = m + off + 2;
        if (code == 0) {
            off++;
            continue;
        }
        switch (code) {
        case 53: r->type = v[0]; break;
        case 54: r->server = wire_get32(v); break;
        case 51: r->lease = wire_get32(v); break;
        case 58: r->t1 = wire_get32(v); break;
        case 59: r->t2 = wire_get32(v); break;
        case 1: r->mask = wire_get32(v); break;
        case 3: r->router = wire_get32(v); break;
        case 28: r->bcast = wire_get32(v); break;
        case 26: r->mtu = wire_get16(v); break;
        case 6:
            for (int i = 0; i < len / 4 && i < 3; i++)
                r->dns[r->ndns++] = wire_get32(v + 4 * i);
            break;
        case 56: memcpy(r->message, v, len < 63 ? len : 63); break;
        default: break;
        }
        off += 2 + (size_t)len;
    }
    return 1;
}

/* The server's replies since the last call, in order; returns how many (at most max). */
static int replies(lan *l, reply *out, int max)
{
    int n = 0;
    for (size_t k = 0; lan_kept(l, k) && n < max; k++)
        if (read_reply(lan_kept(l, k), &out[n]))
            n++;
    lan_forget(l);
    return n;
}

typedef struct net {
    lan *l;
    wtcp_stack *gw;
    int t;
} net;

static net net_new(const wtcp_dhcp_config *cfg)
{
    net n;
    n.l = lan_new();
    n.gw = lan_add_gateway(n.l, GW, MAC_GW);
    n.t = lan_add_tester(n.l);
    wtcp_dhcp_config c;
    wtcp_dhcp_config_init(&c);
    if (wtcp_dhcp_enable(n.gw, 1, cfg ? cfg : &c) != 0)
        n.gw = NULL;
    lan_run(n.l, 5);
    lan_forget(n.l);
    return n;
}

static void send_msg(net *n, const client *c, const msg_opts *o)
{
    uint8_t f[700];
    lan_inject(n->l, n->t, f, make_dhcp(f, c, o));
    lan_run(n->l, 5);
}

/* DISCOVER, OFFER, REQUEST, ACK; returns the address (0 on failure). */
static uint32_t dora(net *n, const client *c)
{
    reply r[4];
    send_msg(n, c, &(msg_opts){.type = 1, .broadcast = 1});
    if (replies(n->l, r, 4) != 1 || r[0].type != 2)
        return 0;
    uint32_t a = r[0].yiaddr;
    send_msg(n, c, &(msg_opts){.type = 3, .requested = a, .server = GW, .broadcast = 1});
    if (replies(n->l, r, 4) != 1 || r[0].type != 5 || r[0].yiaddr != a)
        return 0;
    return a;
}

static uint64_t stat_dhcp(wtcp_stack *st, int which)
{
    wtcp_stats s;
    wtcp_stats_get(st, &s);
    return which == 0 ? s.dhcp_in : which == 1 ? s.dhcp_out : s.dhcp_leases;
}

/* ---- tests ---- */

TEST(discover_offer_request_ack_with_every_option)
{
    net n = net_new(NULL);
    CHECK(n.gw);
    client c = client_n(1);
    reply r[4];
    send_msg(&n, &c, &(msg_opts){.type = 1, .broadcast = 1});
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    CHECK_EQ_U(r[0].type, 2); /* OFFER */
    CHECK_MEM(r[0].eth_dst, BCAST, 6);
    CHECK_EQ_U(r[0].ip_dst, 0xffffffffu);
    CHECK_EQ_U(r[0].ip_src, GW);
    CHECK_EQ_U(r[0].xid, c.xid);
    CHECK_MEM(r[0].chaddr, c.mac, 6);
    CHECK_EQ_U(r[0].yiaddr, IP(10, 0, 2, 15)); /* the pool starts at .15 */
    CHECK_EQ_U(r[0].server, GW);
    CHECK_EQ_U(r[0].lease, 86400);
    CHECK_EQ_U(r[0].t1, 43200);
    CHECK_EQ_U(r[0].t2, 75600);
    CHECK_EQ_U(r[0].mask, 0xffffff00u);
    CHECK_EQ_U(r[0].router, GW);
    CHECK_EQ_U(r[0].bcast, IP(10, 0, 2, 255));
    CHECK_EQ_I(r[0].ndns, 1);
    CHECK_EQ_U(r[0].dns[0], GW);
    CHECK_EQ_U(r[0].mtu, 1500);
    CHECK(r[0].bootp_len >= 300);
    wtcp_dhcp_lease lease;
    CHECK_EQ_I(wtcp_dhcp_lease_get(n.gw, 1, 0, &lease), 1);
    CHECK_EQ_U(lease.state, WTCP_DHCP_OFFERED);
    CHECK_EQ_U(stat_dhcp(n.gw, 2), 0);
    send_msg(&n, &c, &(msg_opts){.type = 3, .requested = r[0].yiaddr, .server = GW, .broadcast = 1});
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    CHECK_EQ_U(r[0].type, 5); /* ACK */
    CHECK_EQ_U(r[0].yiaddr, IP(10, 0, 2, 15));
    CHECK_EQ_U(r[0].lease, 86400);
    CHECK_EQ_I(wtcp_dhcp_lease_get(n.gw, 1, 0, &lease), 1);
    CHECK_EQ_U(lease.state, WTCP_DHCP_BOUND);
    CHECK_MEM(lease.mac, c.mac, 6);
    CHECK_EQ_U(lease.addr, IP(10, 0, 2, 15));
    CHECK_EQ_U(lease.expires_ms, n.l->now - 5 + 1 + 86400000ull); /* bound when it arrived */
    CHECK_EQ_I(wtcp_dhcp_lease_get(n.gw, 1, 1, &lease), 0);
    CHECK_EQ_U(stat_dhcp(n.gw, 0), 2);
    CHECK_EQ_U(stat_dhcp(n.gw, 1), 2);
    CHECK_EQ_U(stat_dhcp(n.gw, 2), 1);
    /* A second client gets the next address; the first asking again keeps its own. */
    client d = client_n(2);
    CHECK_EQ_U(dora(&n, &d), IP(10, 0, 2, 16));
    CHECK_EQ_U(dora(&n, &c), IP(10, 0, 2, 15));
    CHECK_EQ_U(stat_dhcp(n.gw, 2), 2);
    /* The leased guest is reachable: the server learnt where it is. */
    wtcp_stats s;
    wtcp_stats_get(n.gw, &s);
    CHECK_EQ_U(s.drops, 0);
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(replies_go_where_rfc_2131_section_4_1_says)
{
    net n = net_new(NULL);
    CHECK(n.gw);
    client c = client_n(1);
    reply r[4];
    /* No BROADCAST flag: unicast to yiaddr at chaddr, without asking ARP (it cannot answer). */
    send_msg(&n, &c, &(msg_opts){.type = 1});
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    CHECK_MEM(r[0].eth_dst, c.mac, 6);
    CHECK_EQ_U(r[0].ip_dst, r[0].yiaddr);
    uint32_t a = r[0].yiaddr;
    wtcp_stats s;
    wtcp_stats_get(n.gw, &s);
    CHECK_EQ_U(s.arp_out, 1); /* only the announcement */
    send_msg(&n, &c, &(msg_opts){.type = 3, .requested = a, .server = GW});
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    CHECK_EQ_U(r[0].type, 5);
    CHECK_MEM(r[0].eth_dst, c.mac, 6);
    /* RENEWING: from its address to ours, ciaddr set: the ACK goes to ciaddr, unicast. */
    lan_run(n.l, 43200000);
    send_msg(&n, &c, &(msg_opts){.type = 3, .ciaddr = a, .ip_src = a, .ip_dst = GW, .eth_dst = MAC_GW});
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    CHECK_EQ_U(r[0].type, 5);
    CHECK_EQ_U(r[0].ciaddr, a);
    CHECK_EQ_U(r[0].ip_dst, a);
    CHECK_MEM(r[0].eth_dst, c.mac, 6);
    wtcp_dhcp_lease lease;
    CHECK_EQ_I(wtcp_dhcp_lease_get(n.gw, 1, 0, &lease), 1);
    CHECK(lease.expires_ms > n.l->now + 86000000ull); /* extended */
    /* A NAK is always broadcast: renewing an address that is not its own. */
    client d = client_n(2);
    send_msg(&n, &d, &(msg_opts){.type = 3, .ciaddr = a, .ip_src = a, .ip_dst = GW, .eth_dst = MAC_GW});
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    CHECK_EQ_U(r[0].type, 6);
    CHECK_MEM(r[0].eth_dst, BCAST, 6);
    CHECK_EQ_U(r[0].ip_dst, 0xffffffffu);
    CHECK_EQ_U(r[0].yiaddr, 0);
    CHECK(strcmp(r[0].message, "address not available") == 0);
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(init_reboot_is_acked_on_its_own_address_and_naked_elsewhere)
{
    net n = net_new(NULL);
    CHECK(n.gw);
    client c = client_n(1), d = client_n(2);
    reply r[4];
    uint32_t a = dora(&n, &c);
    CHECK(a);
    /* INIT-REBOOT: no server id, the old address in option 50. */
    send_msg(&n, &c, &(msg_opts){.type = 3, .requested = a, .broadcast = 1});
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    CHECK_EQ_U(r[0].type, 5);
    send_msg(&n, &d, &(msg_opts){.type = 3, .requested = a, .broadcast = 1}); /* c's */
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    CHECK_EQ_U(r[0].type, 6);
    send_msg(&n, &d, &(msg_opts){.type = 3, .requested = IP(192, 168, 1, 50), .broadcast = 1});
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    CHECK_EQ_U(r[0].type, 6);
    CHECK(strcmp(r[0].message, "wrong network") == 0);
    /* A client we never saw (the page was reloaded) rebooting on a free address gets it. */
    send_msg(&n, &d, &(msg_opts){.type = 3, .requested = IP(10, 0, 2, 40), .broadcast = 1});
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    CHECK_EQ_U(r[0].type, 5);
    CHECK_EQ_U(r[0].yiaddr, IP(10, 0, 2, 40));
    /* SELECTING an address we did not offer it: NAK. */
    client e = client_n(3);
    send_msg(&n, &e, &(msg_opts){.type = 3, .requested = IP(10, 0, 2, 41), .server = GW, .broadcast = 1});
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    CHECK_EQ_U(r[0].type, 6);
    CHECK_EQ_U(stat_dhcp(n.gw, 2), 2);
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(a_small_pool_runs_out_then_offers_lapse_releases_are_reused_and_declines_held)
{
    wtcp_dhcp_config cfg;
    wtcp_dhcp_config_init(&cfg);
    cfg.pool_first = IP(10, 0, 2, 100);
    cfg.pool_last = IP(10, 0, 2, 102);
    cfg.lease_s = 3600;
    net n = net_new(&cfg);
    CHECK(n.gw);
    reply r[4];
    client c[5];
    for (int i = 0; i < 5; i++)
        c[i] = client_n(i + 1);
    CHECK_EQ_U(dora(&n, &c[0]), IP(10, 0, 2, 100));
    CHECK_EQ_U(dora(&n, &c[1]), IP(10, 0, 2, 101));
    send_msg(&n, &c[2], &(msg_opts){.type = 1, .broadcast = 1}); /* offered .102, never requested */
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    CHECK_EQ_U(r[0].yiaddr, IP(10, 0, 2, 102));
    send_msg(&n, &c[3], &(msg_opts){.type = 1, .broadcast = 1});
    CHECK_EQ_I(replies(n.l, r, 4), 0); /* exhausted: no offer */
    CHECK_EQ_U(lan_drops(n.gw, WTCP_DROP_DHCP_POOL_EMPTY), 1);
    lan_run(n.l, 30000); /* the unanswered offer lapses */
    CHECK_EQ_U(dora(&n, &c[3]), IP(10, 0, 2, 102));
    /* c[0] releases .100; c[4] (new) gets it since the pool is otherwise full. */
    send_msg(&n, &c[0], &(msg_opts){.type = 7, .ciaddr = IP(10, 0, 2, 100), .server = GW,
                                     .ip_src = IP(10, 0, 2, 100), .ip_dst = GW, .eth_dst = MAC_GW});
    CHECK_EQ_I(replies(n.l, r, 4), 0); /* RELEASE has no answer */
    CHECK_EQ_U(stat_dhcp(n.gw, 2), 2);
    CHECK_EQ_U(dora(&n, &c[4]), IP(10, 0, 2, 100));
    /* A lease that lapses (an hour, no renewal) frees its address. */
    lan_run(n.l, 3600000);
    CHECK_EQ_U(stat_dhcp(n.gw, 2), 0);
    /* The returning client gets its previous address back, if free. */
    CHECK_EQ_U(dora(&n, &c[1]), IP(10, 0, 2, 101));
    /* DECLINE: .101 is in use by someone else: held out, the next DISCOVER skips it. */
    send_msg(&n, &c[1], &(msg_opts){.type = 4, .requested = IP(10, 0, 2, 101), .server = GW});
    CHECK_EQ_I(replies(n.l, r, 4), 0);
    wtcp_dhcp_lease lease;
    int found = 0;
    for (uint32_t k = 0; wtcp_dhcp_lease_get(n.gw, 1, k, &lease) == 1; k++)
        found += lease.addr == IP(10, 0, 2, 101) && lease.state == WTCP_DHCP_DECLINED;
    CHECK_EQ_I(found, 1);
    send_msg(&n, &c[1], &(msg_opts){.type = 1, .broadcast = 1});
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    CHECK(r[0].yiaddr != IP(10, 0, 2, 101));
    lan_run(n.l, 600000); /* ten minutes on, .101 is back in the pool */
    send_msg(&n, &c[3], &(msg_opts){.type = 3, .requested = IP(10, 0, 2, 101), .broadcast = 1});
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    CHECK_EQ_U(r[0].type, 5);
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(inform_and_static_leases)
{
    net n = net_new(NULL);
    CHECK(n.gw);
    reply r[4];
    client c = client_n(1), d = client_n(2);
    CHECK_EQ_I(wtcp_dhcp_static(n.gw, 1, c.mac, IP(10, 0, 2, 5)), 0); /* outside the pool */
    CHECK_EQ_U(dora(&n, &c), IP(10, 0, 2, 5));
    CHECK_EQ_U(dora(&n, &d), IP(10, 0, 2, 15));
    send_msg(&n, &d, &(msg_opts){.type = 3, .requested = IP(10, 0, 2, 5), .broadcast = 1});
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    CHECK_EQ_U(r[0].type, 6); /* another's static address */
    wtcp_dhcp_lease lease;
    CHECK_EQ_I(wtcp_dhcp_lease_get(n.gw, 1, 0, &lease), 1);
    CHECK_EQ_U(lease.is_static, 1);
    CHECK_EQ_U(lease.addr, IP(10, 0, 2, 5));
    CHECK_EQ_I(wtcp_dhcp_static(n.gw, 1, d.mac, IP(10, 0, 2, 5)), WTCP_EADDRINUSE);
    CHECK_EQ_I(wtcp_dhcp_static(n.gw, 1, d.mac, IP(10, 0, 3, 5)), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_dhcp_static(n.gw, 1, BCAST, IP(10, 0, 2, 6)), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_dhcp_static(n.gw, 1, d.mac, GW), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_dhcp_static(n.gw, 0, d.mac, IP(10, 0, 2, 6)), WTCP_EINVAL); /* the IP uplink */
    for (int i = 1; i < WTCP_DHCP_MAX_STATIC; i++) {
        client e = client_n(100 + i);
        CHECK_EQ_I(wtcp_dhcp_static(n.gw, 1, e.mac, IP(10, 0, 2, 100 + i)), 0);
    }
    client f = client_n(99);
    CHECK_EQ_I(wtcp_dhcp_static(n.gw, 1, f.mac, IP(10, 0, 2, 99)), WTCP_ENOBUFS);
    /* INFORM: an address configured by hand asks for the rest; no lease, no yiaddr. */
    client g = client_n(7);
    send_msg(&n, &g, &(msg_opts){.type = 8, .ciaddr = IP(10, 0, 2, 9), .ip_src = IP(10, 0, 2, 9), .ip_dst = GW,
                                  .eth_dst = MAC_GW});
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    CHECK_EQ_U(r[0].type, 5);
    CHECK_EQ_U(r[0].yiaddr, 0);
    CHECK_EQ_U(r[0].lease, 0);
    CHECK_EQ_U(r[0].router, GW);
    CHECK_EQ_U(r[0].ip_dst, IP(10, 0, 2, 9));
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(malformed_and_foreign_messages_are_dropped_by_reason)
{
    net n = net_new(NULL);
    CHECK(n.gw);
    reply r[4];
    client c = client_n(1);
    uint8_t f[700];
    size_t len;
    /* 1: a bad magic cookie */
    uint8_t *udp = f + 14 + 20;
    len = make_dhcp(f, &c, &(msg_opts){.type = 1});
    f[14 + 28 + 236] = 0;
    wire_l4_checksum(udp, len - 34, 0, 0xffffffffu, WIRE_PROTO_UDP);
    lan_inject(n.l, n.t, f, len);
    /* 2: an option whose length runs past the message (UDP checksum redone) */
    const uint8_t overrun[] = {12, 250, 'x'};
    len = make_dhcp(f, &c, &(msg_opts){.type = 1, .extra = overrun, .extra_len = sizeof overrun});
    lan_inject(n.l, n.t, f, len);
    /* 3: option 53 twice; 4: option 50 of 3 bytes; 5: option overload */
    const uint8_t twice[] = {53, 1, 3};
    lan_inject(n.l, n.t, f, make_dhcp(f, &c, &(msg_opts){.type = 1, .extra = twice, .extra_len = 3}));
    const uint8_t short50[] = {50, 3, 10, 0, 2};
    lan_inject(n.l, n.t, f, make_dhcp(f, &c, &(msg_opts){.type = 1, .extra = short50, .extra_len = 5}));
    const uint8_t overload[] = {52, 1, 3};
    lan_inject(n.l, n.t, f, make_dhcp(f, &c, &(msg_opts){.type = 1, .extra = overload, .extra_len = 3}));
    /* 6: type 0; 7: type 9 */
    lan_inject(n.l, n.t, f, make_dhcp(f, &c, &(msg_opts){.type = 0}));
    lan_inject(n.l, n.t, f, make_dhcp(f, &c, &(msg_opts){.type = 9}));
    /* 8: hardware type 6; 9: a message of 239 bytes */
    len = make_dhcp(f, &c, &(msg_opts){.type = 1});
    f[14 + 28 + 1] = 6;
    wire_l4_checksum(udp, len - 34, 0, 0xffffffffu, WIRE_PROTO_UDP);
    lan_inject(n.l, n.t, f, len);
    {
        uint8_t g[700];
        make_dhcp(g, &c, &(msg_opts){.type = 1});
        wire_put16(g + 14 + 2, 20 + 8 + 239);
        wire_put16(g + 14 + 10, 0);
        wire_put16(g + 14 + 10, wire_fold(wire_sum(g + 14, 20, 0)));
        wire_udp_emit(g + 34, 68, 67, 239);
        wire_l4_checksum(g + 34, 8 + 239, 0, 0xffffffffu, WIRE_PROTO_UDP);
        lan_inject(n.l, n.t, g, 14 + 20 + 8 + 239);
    }
    /* 10: a bad UDP checksum */
    len = make_dhcp(f, &c, &(msg_opts){.type = 1});
    f[14 + 20 + 6] ^= 0x55;
    lan_inject(n.l, n.t, f, len);
    /* 11: a server's reply (op 2); 12: a relayed request (giaddr); 13: a group chaddr */
    len = make_dhcp(f, &c, &(msg_opts){.type = 1});
    f[14 + 28] = 2;
    wire_l4_checksum(udp, len - 34, 0, 0xffffffffu, WIRE_PROTO_UDP);
    lan_inject(n.l, n.t, f, len);
    len = make_dhcp(f, &c, &(msg_opts){.type = 1});
    wire_put32(f + 14 + 28 + 24, IP(10, 9, 9, 9));
    wire_l4_checksum(udp, len - 34, 0, 0xffffffffu, WIRE_PROTO_UDP);
    lan_inject(n.l, n.t, f, len);
    client grp = c;
    grp.mac[0] = 0x01;
    lan_inject(n.l, n.t, f, make_dhcp(f, &grp, &(msg_opts){.type = 1}));
    lan_run(n.l, 10);
    CHECK_EQ_I(replies(n.l, r, 4), 0);
    CHECK_EQ_U(lan_drops(n.gw, WTCP_DROP_DHCP_MALFORMED), 9);
    CHECK_EQ_U(lan_drops(n.gw, WTCP_DROP_UDP_CHECKSUM), 1);
    CHECK_EQ_U(lan_drops(n.gw, WTCP_DROP_DHCP_IGNORED), 2);
    CHECK_EQ_U(lan_drops(n.gw, WTCP_DROP_ETH_BAD_SRC), 1); /* the group MAC, at the door */
    CHECK_EQ_U(stat_dhcp(n.gw, 0), 0);
    /* REQUEST naming another server: our offer is withdrawn, nothing said. */
    send_msg(&n, &c, &(msg_opts){.type = 1, .broadcast = 1});
    CHECK_EQ_I(replies(n.l, r, 4), 1);
    send_msg(&n, &c, &(msg_opts){.type = 3, .requested = r[0].yiaddr, .server = IP(10, 0, 2, 3), .broadcast = 1});
    CHECK_EQ_I(replies(n.l, r, 4), 0);
    wtcp_dhcp_lease lease;
    CHECK_EQ_I(wtcp_dhcp_lease_get(n.gw, 1, 0, &lease), 0);
    CHECK_EQ_U(lan_drops(n.gw, WTCP_DROP_DHCP_IGNORED), 3);
    /* Still serving. */
    CHECK_EQ_U(dora(&n, &c), IP(10, 0, 2, 15));
    CHECK_EQ_U(lan_free(n.l), 0);
}

TEST(server_configuration_is_checked)
{
    lan *l = lan_new();
    wtcp_stack *gw = lan_add_gateway(l, GW, MAC_GW);
    CHECK(gw);
    wtcp_dhcp_config c;
    wtcp_dhcp_config_init(&c);
    CHECK_EQ_I(wtcp_dhcp_enable(gw, 0, &c), WTCP_EINVAL); /* an IP link */
    CHECK_EQ_I(wtcp_dhcp_enable(gw, 2, &c), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_dhcp_enable(gw, 1, NULL), WTCP_EINVAL);
    c.pool_first = IP(10, 0, 2, 50), c.pool_last = IP(10, 0, 2, 40);
    CHECK_EQ_I(wtcp_dhcp_enable(gw, 1, &c), WTCP_EINVAL); /* reversed */
    c.pool_first = IP(10, 0, 2, 1), c.pool_last = IP(10, 0, 2, 40);
    CHECK_EQ_I(wtcp_dhcp_enable(gw, 1, &c), WTCP_EINVAL); /* holds the gateway's .2 */
    c.pool_first = IP(10, 0, 2, 200), c.pool_last = IP(10, 0, 3, 10);
    CHECK_EQ_I(wtcp_dhcp_enable(gw, 1, &c), WTCP_EINVAL); /* off the prefix */
    c.pool_first = IP(10, 0, 2, 200), c.pool_last = IP(10, 0, 2, 255);
    CHECK_EQ_I(wtcp_dhcp_enable(gw, 1, &c), WTCP_EINVAL); /* the broadcast address */
    c.pool_first = IP(10, 0, 2, 3), c.pool_last = IP(10, 0, 2, 254);
    c.lease_s = 10;
    CHECK_EQ_I(wtcp_dhcp_enable(gw, 1, &c), WTCP_EINVAL); /* under a minute */
    c.lease_s = 600;
    CHECK_EQ_I(wtcp_dhcp_enable(gw, 1, &c), 0);
    CHECK_EQ_I(wtcp_dhcp_enable(gw, 1, &c), 0); /* again: reconfigured */
    wtcp_dhcp_lease lease;
    CHECK_EQ_I(wtcp_dhcp_lease_get(gw, 0, 0, &lease), WTCP_EINVAL);
    CHECK_EQ_I(wtcp_dhcp_lease_get(gw, 1, 0, NULL), WTCP_EINVAL);
    CHECK_EQ_U(lan_free(l), 0);
}

UNIT_MAIN(RUN(discover_offer_request_ack_with_every_option),
          RUN(replies_go_where_rfc_2131_section_4_1_says),
          RUN(init_reboot_is_acked_on_its_own_address_and_naked_elsewhere),
          RUN(a_small_pool_runs_out_then_offers_lapse_releases_are_reused_and_declines_held),
          RUN(inform_and_static_leases),
          RUN(malformed_and_foreign_messages_are_dropped_by_reason),
          RUN(server_configuration_is_checked))
