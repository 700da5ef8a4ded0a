/* lan.c: an Ethernet hub on virtual time for tests (lan.h). */
#include "lan.h"

#include <stdlib.h>
#include <string.h>

static void enqueue(lan *l, int from, int to, const uint8_t *data, size_t len)
{
    if (l->count == LAN_QUEUE || len > LAN_FRAME_MAX) {
        l->dropped++;
        return;
    }
    lan_frame *f = &l->q[(l->head + l->count++) % LAN_QUEUE];
    f->at = l->now + 1;
    f->from = from;
    f->to = to;
    f->len = len;
    memcpy(f->data, data, len);
}

static void lan_output(void *user, const uint8_t *frame, size_t len)
{
    lan_port *p = user;
    p->sent++;
    enqueue(p->l, p->id, -1, frame, len);
}

/* A packet on an IP uplink: kept, and carried to the port at the other end if any. */
static void up_output(void *user, const uint8_t *packet, size_t len)
{
    lan_port *p = user;
    lan *l = p->l;
    lan_capture *c = &l->up[p->id];
    c->packets++;
    c->len = len < LAN_FRAME_MAX ? len : LAN_FRAME_MAX;
    memcpy(c->last, packet, c->len);
    if (p->peer >= 0)
        enqueue(l, p->id, p->peer, packet, len);
}

lan *lan_new(void)
{
    lan *l = calloc(1, sizeof *l);
    l->q = calloc(LAN_QUEUE, sizeof *l->q);
    l->now = 1000;
    return l;
}

/* A new port and the config of its stack: counted allocations, its own ISN key, its output
 * (the hub, or an uplink). The caller sets the addresses and makes the stack. */
static lan_port *port_new(lan *l, wtcp_config *c, wtcp_output_fn output)
{
    int id = l->nports++;
    lan_port *p = &l->port[id];
    p->l = l;
    p->id = id;
    p->peer = -1;
    wtcp_config_init(c);
    c->output = output;
    c->output_user = p;
    c->isn_key[0] = (uint8_t)(id + 1);
    c->alloc = harness_count_alloc;
    c->alloc_user = &l->mem[id];
    return p;
}

wtcp_stack *lan_add_ether_stack(lan *l, uint32_t addr, const uint8_t mac[6], uint32_t gateway)
{
    wtcp_config c;
    lan_port *p = port_new(l, &c, lan_output);
    c.addr = addr;
    c.prefix_len = 24;
    c.gateway = gateway;
    c.link = WTCP_LINK_ETHERNET;
    memcpy(c.mac, mac, 6);
    if (wtcp_stack_new(&c, &p->st) != 0)
        return NULL;
    p->ifx = 0;
    return p->st;
}

wtcp_stack *lan_add_gateway(lan *l, uint32_t addr, const uint8_t mac[6])
{
    wtcp_config c;
    lan_port *p = port_new(l, &c, up_output);
    c.addr = LAN_IP(10, 77, 0, 2);
    c.prefix_len = 16;
    c.gateway = LAN_IP(10, 77, 0, 1);
    if (l->gateway_up_mtu)
        c.mtu = l->gateway_up_mtu;
    if (wtcp_stack_new(&c, &p->st) != 0)
        return NULL;
    wtcp_iface_config ic;
    wtcp_iface_config_init(&ic);
    ic.addr.v4 = addr;
    ic.addr.prefix_len = 24;
    memcpy(ic.mac, mac, 6);
    ic.output = lan_output;
    ic.output_user = p;
    p->ifx = wtcp_iface_add(p->st, &ic);
    return p->ifx == 1 ? p->st : NULL;
}

wtcp_stack *lan_add_remote(lan *l, int gw, uint32_t addr)
{
    wtcp_config c;
    lan_port *p = port_new(l, &c, up_output);
    p->off_hub = 1;
    p->peer = gw;
    c.addr = addr;
    c.prefix_len = 0;
    if (wtcp_stack_new(&c, &p->st) != 0)
        return NULL;
    l->port[gw].peer = p->id;
    return p->st;
}

int lan_add_tester(lan *l)
{
    int id = l->nports++;
    l->port[id].l = l;
    l->port[id].id = id;
    l->port[id].st = NULL;
    return id;
}

void lan_inject(lan *l, int from, const uint8_t *frame, size_t len)
{
    lan_output(&l->port[from], frame, len);
}

/* The tester answers ARP requests for its address, as a host would. */
static void tester_arp(lan *l, int self, const lan_frame *f)
{
    const uint8_t *a = f->data + 14;
    if (!l->tester_ip || f->len < 42 || f->data[12] != 0x08 || f->data[13] != 0x06 || a[7] != 1 ||
        lan_get32(a + 24) != l->tester_ip)
        return;
    uint8_t r[60];
    memset(r, 0, sizeof r);
    memcpy(r, a + 8, 6);
    memcpy(r + 6, l->tester_mac, 6);
    r[12] = 0x08, r[13] = 0x06;
    uint8_t *b = r + 14;
    b[1] = 1, b[2] = 0x08, b[4] = 6, b[5] = 4, b[7] = 2;
    memcpy(b + 8, l->tester_mac, 6);
    lan_put32(b + 14, l->tester_ip);
    memcpy(b + 18, a + 8, 6);
    memcpy(b + 24, a + 14, 4);
    enqueue(l, self, -1, r, sizeof r);
}

static void keep(lan *l, const lan_frame *f)
{
    l->raw_frames++;
    if (f->len >= 14 && memcmp(f->data, "\xff\xff\xff\xff\xff\xff", 6) == 0)
        l->raw_broadcast++;
    else if (f->len >= 14 && f->data[12] == 0x08 && f->data[13] == 0x06)
        l->raw_arp_unicast++;
    l->raw_len = f->len;
    memcpy(l->raw_last, f->data, f->len);
    if (l->keep_count < LAN_KEEP)
        l->keep[l->keep_count++] = *f;
}

const lan_frame *lan_kept(const lan *l, size_t k)
{
    return k < l->keep_count ? &l->keep[k] : NULL;
}

void lan_forget(lan *l) { l->keep_count = 0; }

static void lan_deliver_due(lan *l)
{
    while (l->count && l->q[l->head].at <= l->now) {
        lan_frame *f = &l->q[l->head];
        if (f->to >= 0) { /* an uplink packet: to interface 0 of the port at the other end */
            wtcp_input(l->port[f->to].st, l->now, f->data, f->len);
        } else {
            for (int i = 0; i < l->nports; i++) {
                lan_port *p = &l->port[i];
                if (i == f->from || p->off_hub)
                    continue;
                if (p->st) {
                    wtcp_iface_input(p->st, p->ifx, l->now, f->data, f->len);
                } else {
                    keep(l, f);
                    tester_arp(l, i, f);
                }
            }
        }
        l->head = (l->head + 1) % LAN_QUEUE;
        l->count--;
    }
}

void lan_run(lan *l, uint64_t ms)
{
    uint64_t end = l->now + ms;
    for (;;) {
        lan_deliver_due(l);
        uint64_t next = end;
        for (int i = 0; i < l->nports; i++) {
            if (!l->port[i].st)
                continue;
            uint64_t d = wtcp_poll(l->port[i].st, l->now);
            if (d < next)
                next = d;
        }
        if (l->count && l->q[l->head].at < next)
            next = l->q[l->head].at;
        if (l->count && l->q[l->head].at <= l->now)
            continue; /* the polls sent more */
        if (next <= l->now)
            next = l->now + 1;
        if (next > end)
            break;
        l->now = next;
    }
    l->now = end;
    lan_deliver_due(l);
}

uint64_t lan_free(lan *l)
{
    uint64_t live = 0;
    for (int i = 0; i < l->nports; i++) {
        if (l->port[i].st) {
            wtcp_stack_free(l->port[i].st);
            live += l->mem[i].live_bytes;
        }
    }
    free(l->q);
    free(l);
    return live;
}

uint64_t lan_drops(wtcp_stack *st, int reason)
{
    wtcp_stats s;
    wtcp_stats_get(st, &s);
    return s.drop[reason];
}
