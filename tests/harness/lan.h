/* lan.h: an Ethernet hub on virtual time for tests: every frame a port sends reaches every
 * other port 1 ms later. A port is a stack's Ethernet interface, or the test itself
 * (frames it injects come from it, frames that reach it are kept for inspection). */
#ifndef WTCP_LAN_H
#define WTCP_LAN_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "wtcp.h"

enum { LAN_PORTS = 6, LAN_QUEUE = 8192, LAN_FRAME_MAX = 1600, LAN_KEEP = 64 };
typedef struct lan_frame {
    uint64_t at;
    int from;
    int to;            /* -1: the hub (every other port); else that port, on its uplink */
    size_t len;
    uint8_t data[LAN_FRAME_MAX];
} lan_frame;

typedef struct lan lan;
typedef struct lan_port {
    lan *l;
    int id;
    wtcp_stack *st;    /* NULL: the test's own port */
    int ifx;           /* the stack's interface on the hub */
    int off_hub;       /* a remote host on a gateway's IP uplink, not on the hub */
    int peer;          /* uplink: the port at the other end (-1: none, captured only) */
    uint64_t sent;     /* frames it sent */
} lan_port;

typedef struct lan_capture { /* what a stack sent on an IP link (its uplink) */
    uint64_t packets;
    size_t len;
    uint8_t last[LAN_FRAME_MAX];
} lan_capture;

struct lan {
    uint64_t now;
    lan_frame *q;
    size_t head, count;
    lan_port port[LAN_PORTS];
    int nports;
    uint64_t dropped; /* frames the hub could not queue (never expected) */
    harness_alloc_stats mem[LAN_PORTS];
    lan_capture up[LAN_PORTS];
    /* frames that reached the test's port */
    uint64_t raw_frames;
    uint64_t raw_broadcast;   /* of them: to the broadcast address */
    uint64_t raw_arp_unicast; /* of them: ARP to one host */
    size_t raw_len;
    uint8_t raw_last[LAN_FRAME_MAX];
    lan_frame keep[LAN_KEEP]; /* the last LAN_KEEP of them, oldest first from keep_head */
    size_t keep_count;
    uint16_t gateway_up_mtu;  /* lan_add_gateway's uplink MTU (0: 1500) */
    /* the test's port answers ARP for this address with this MAC (0: it does not) */
    uint32_t tester_ip;
    uint8_t tester_mac[6];
};

static inline uint32_t lan_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void lan_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

#define LAN_IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

lan *lan_new(void);
/* A stack whose interface 0 is Ethernet on the hub, addr/24 (a guest); NULL on failure. */
wtcp_stack *lan_add_ether_stack(lan *l, uint32_t addr, const uint8_t mac[6], uint32_t gateway);
/* A gateway-like stack: interface 0 an IP uplink 10.77.0.2/16 via 10.77.0.1 (captured in
 * l->up[port]), interface 1 Ethernet addr/24 with mac on the hub. */
wtcp_stack *lan_add_gateway(lan *l, uint32_t addr, const uint8_t mac[6]);
int lan_add_tester(lan *l);        /* the test's own port: its id */
/* A host beyond gateway port gw's IP uplink (a remote server): a stack of addr on a point
 * to point IP link (every address on-link) whose packets reach the gateway's interface 0
 * 1 ms later and back. NULL on failure. */
wtcp_stack *lan_add_remote(lan *l, int gw, uint32_t addr);
void lan_inject(lan *l, int from, const uint8_t *frame, size_t len);
void lan_run(lan *l, uint64_t ms); /* the hub and every stack for ms of virtual time */
/* The k-th frame (0: oldest kept) that reached the test's port since lan_forget; NULL past. */
const lan_frame *lan_kept(const lan *l, size_t k);
void lan_forget(lan *l);
uint64_t lan_free(lan *l);         /* frees it all; the bytes the stacks still held */
uint64_t lan_drops(wtcp_stack *st, int reason);

#endif
