/* dhcp.c: a DHCP server on an Ethernet interface (RFC 2131 sections 3, 4.1 and 4.3; the
 * options of RFC 2132): offers from a pool or a static address per MAC, leases with T1/T2,
 * renewal, release, decline and inform, one lease per client. */
#include <string.h>

#include "internal.h"

enum {
    DHCP_BOOTP_MIN = 300,     /* replies are padded to BOOTP's minimum (RFC 1542 3.4) */
    DHCP_FREE = 0,            /* pool entry states beside enum wtcp_dhcp_state */
};

typedef struct dhcp_lease {
    uint8_t mac[6];           /* the client it was last given to (kept when it lapses, so
                               * the client gets the same address back) */
    uint8_t state;            /* DHCP_FREE or a wtcp_dhcp_state */
    uint8_t is_static;
    uint32_t addr;            /* the static entries' own; pool entries: pool_first + index */
    uint64_t expires;
} dhcp_lease;

struct dhcp_server {
    wtcp_dhcp_config cfg;     /* with the defaults filled in */
    uint32_t npool;
    dhcp_lease *pool;         /* one entry per address of the pool */
    dhcp_lease statics[WTCP_DHCP_MAX_STATIC];
    uint32_t nstatic;
};

void wtcp_dhcp_config_init(wtcp_dhcp_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->lease_s = 86400;
    cfg->offer_hold_ms = 30000;
    cfg->decline_hold_s = 600;
}

static wtcp_if *dhcp_iface(const wtcp_stack *st, int iface)
{
    if (!st || iface < 0 || iface >= st->nifs || st->ifs[iface].link != WTCP_LINK_ETHERNET)
        return NULL;
    return (wtcp_if *)&st->ifs[iface];
}

/* Whether a lease holds its address now (a lapsed one is as good as free). */
static int lease_live(const wtcp_stack *st, const dhcp_lease *l)
{
    return l->state != DHCP_FREE && l->expires > st->now;
}

static dhcp_lease *pool_entry(dhcp_server *d, uint32_t addr)
{
    if (addr < d->cfg.pool_first || addr > d->cfg.pool_last)
        return NULL;
    return &d->pool[addr - d->cfg.pool_first];
}

static dhcp_lease *static_for_mac(dhcp_server *d, const uint8_t *mac)
{
    for (uint32_t i = 0; i < d->nstatic; i++)
        if (!memcmp(d->statics[i].mac, mac, 6))
            return &d->statics[i];
    return NULL;
}

static dhcp_lease *static_for_addr(dhcp_server *d, uint32_t addr)
{
    for (uint32_t i = 0; i < d->nstatic; i++)
        if (d->statics[i].addr == addr)
            return &d->statics[i];
    return NULL;
}

/* The lease addr may be given to mac under: its static one, or a pool entry that is free,
 * lapsed or already this client's; NULL when addr is not for it. */
static dhcp_lease *lease_for(const wtcp_stack *st, dhcp_server *d, const uint8_t *mac, uint32_t addr)
{
    dhcp_lease *s = static_for_mac(d, mac);
    if (s)
        return s->addr == addr ? s : NULL;
    if (static_for_addr(d, addr))
        return NULL; /* another client's */
    dhcp_lease *l = pool_entry(d, addr);
    if (!l)
        return NULL;
    if (l->state == WTCP_DHCP_DECLINED && lease_live(st, l))
        return NULL;
    return !lease_live(st, l) || !memcmp(l->mac, mac, 6) ? l : NULL;
}

/* RFC 2131 4.3.1's choice of an address for a DISCOVER: the static one; the client's
 * current or previous address; the one it asks for; a never-used one; the one that
 * lapsed longest ago. */
static dhcp_lease *choose(const wtcp_stack *st, dhcp_server *d, const uint8_t *mac, const wire_dhcp *m)
{
    dhcp_lease *s = static_for_mac(d, mac);
    if (s)
        return s;
    for (uint32_t i = 0; i < d->npool; i++) {
        dhcp_lease *l = &d->pool[i];
        if (!memcmp(l->mac, mac, 6) && (l->state != WTCP_DHCP_DECLINED || !lease_live(st, l)) &&
            !static_for_addr(d, l->addr))
            return l;
    }
    if (m->has_requested) {
        dhcp_lease *l = lease_for(st, d, mac, m->requested);
        if (l)
            return l;
    }
    dhcp_lease *best = NULL;
    for (uint32_t i = 0; i < d->npool; i++) {
        dhcp_lease *l = &d->pool[i];
        if (lease_live(st, l) || static_for_addr(d, l->addr))
            continue;
        static const uint8_t zero[6];
        int unused = !memcmp(l->mac, zero, 6);
        if (unused)
            return l;
        if (!best || l->expires < best->expires)
            best = l;
    }
    return best;
}

/* One lease per client: whatever else it held in the pool goes back (remembered). */
static void bind(wtcp_stack *st, dhcp_server *d, dhcp_lease *l, const uint8_t *mac, uint8_t state, uint64_t until)
{
    for (uint32_t i = 0; i < d->npool; i++) {
        dhcp_lease *o = &d->pool[i];
        if (o != l && o->state != DHCP_FREE && o->state != WTCP_DHCP_DECLINED && !memcmp(o->mac, mac, 6)) {
            o->state = DHCP_FREE;
            o->expires = st->now;
        }
    }
    memcpy(l->mac, mac, 6);
    l->state = state;
    l->expires = until;
}

static uint8_t *put_opt(uint8_t *p, uint8_t code, uint8_t len, const void *v)
{
    p[0] = code;
    p[1] = len;
    memcpy(p + 2, v, len);
    return p + 2 + len;
}

static uint8_t *put_opt32(uint8_t *p, uint8_t code, uint32_t v)
{
    uint8_t b[4];
    wire_put32(b, v);
    return put_opt(p, code, 4, b);
}

/* Builds and sends a reply of `type` to request m (RFC 2131 table 3 and section 4.1). */
static void reply(wtcp_stack *st, uint8_t ifx, const wire_dhcp *m, uint8_t type, uint32_t yiaddr, int lease,
                  const char *why)
{
    const wtcp_if *f = &st->ifs[ifx];
    const dhcp_server *d = f->dhcp;
    uint8_t *msg = st->tx + WIRE_IPV4_HDR + WIRE_UDP_HDR;
    memset(msg, 0, DHCP_BOOTP_MIN);
    msg[0] = WIRE_DHCP_BOOTREPLY;
    msg[1] = 1;
    msg[2] = 6;
    wire_put32(msg + 4, m->xid);
    wire_put16(msg + 10, m->flags);
    if (type == WIRE_DHCP_ACK)
        wire_put32(msg + 12, m->ciaddr);
    wire_put32(msg + 16, yiaddr);
    memcpy(msg + 28, m->chaddr, 16);
    wire_put32(msg + WIRE_DHCP_FIXED, 0x63825363u);
    uint8_t *p = msg + WIRE_DHCP_MIN;
    p = put_opt(p, WIRE_DHCPO_TYPE, 1, &type);
    p = put_opt32(p, WIRE_DHCPO_SERVER, f->addr);
    if (type == WIRE_DHCP_NAK) {
        uint8_t n = 0;
        while (why[n] && n < 255)
            n++;
        p = put_opt(p, WIRE_DHCPO_MESSAGE, n, why);
    } else {
        if (lease) {
            uint32_t t = d->cfg.lease_s;
            p = put_opt32(p, WIRE_DHCPO_LEASE, t);
            p = put_opt32(p, WIRE_DHCPO_T1, t / 2);
            p = put_opt32(p, WIRE_DHCPO_T2, (uint32_t)((uint64_t)t * 7 / 8));
        }
        p = put_opt32(p, WIRE_DHCPO_SUBNET, f->mask);
        p = put_opt32(p, WIRE_DHCPO_BROADCAST, f->addr | ~f->mask);
        if (d->cfg.router != 0xffffffffu)
            p = put_opt32(p, WIRE_DHCPO_ROUTER, d->cfg.router);
        if (d->cfg.dns[0] != 0xffffffffu) {
            uint8_t b[12];
            uint8_t n = 0;
            for (int i = 0; i < 3 && d->cfg.dns[i]; i++, n += 4)
                wire_put32(b + n, d->cfg.dns[i]);
            p = put_opt(p, WIRE_DHCPO_DNS, n, b);
        }
        if (d->cfg.mtu != 0xffff) {
            uint8_t b[2];
            wire_put16(b, d->cfg.mtu);
            p = put_opt(p, WIRE_DHCPO_MTU, 2, b);
        }
    }
    *p++ = WIRE_DHCPO_END;
    size_t len = (size_t)(p - msg);
    if (len < DHCP_BOOTP_MIN)
        len = DHCP_BOOTP_MIN;
    /* Where it goes (giaddr is 0: relayed requests are not served). */
    uint32_t dst = 0xffffffffu;
    if (type != WIRE_DHCP_NAK && m->ciaddr) {
        arp_learn(st, ifx, m->ciaddr, m->chaddr, 0); /* it said where it is (not over ARP) */
        dst = m->ciaddr;
    } else if (type != WIRE_DHCP_NAK && !(m->flags & WIRE_DHCP_FLAG_BROADCAST) && yiaddr) {
        arp_learn(st, ifx, yiaddr, m->chaddr, 1); /* it cannot answer ARP before it has the address */
        dst = yiaddr;
    }
    uint8_t *seg = st->tx + WIRE_IPV4_HDR;
    wire_udp_emit(seg, WIRE_DHCP_SERVER_PORT, WIRE_DHCP_CLIENT_PORT, len);
    wire_l4_checksum(seg, WIRE_UDP_HDR + len, f->addr, dst, WIRE_PROTO_UDP);
    st->stats.dhcp_out++;
    st->stats.udp_out++;
    ip_send_via(st, ifx, dst, f->addr, dst, WIRE_PROTO_UDP, WIRE_UDP_HDR + len);
}

void dhcp_input(wtcp_stack *st, uint8_t ifx, const wire_ipv4 *ip)
{
    wtcp_if *f = &st->ifs[ifx];
    dhcp_server *d = f->dhcp;
    wire_udp u;
    int r = wire_udp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, &u);
    if (r != WIRE_OK) {
        stack_drop(st, r);
        return;
    }
    st->stats.udp_in++;
    wire_dhcp m;
    r = wire_dhcp_parse(u.payload, u.payload_len, &m);
    if (r == WIRE_OK && (m.htype != 1 || m.hlen != 6 || wire_mac_is_group(m.chaddr)))
        r = WTCP_DROP_DHCP_MALFORMED;
    if (r != WIRE_OK) {
        stack_drop(st, r);
        return;
    }
    static const uint8_t zero[6];
    if (m.op != WIRE_DHCP_BOOTREQUEST || m.giaddr != 0 || !memcmp(m.chaddr, zero, 6) ||
        (m.has_server && m.server != f->addr && m.type != WIRE_DHCP_REQUEST)) {
        stack_drop(st, WTCP_DROP_DHCP_IGNORED);
        return;
    }
    st->stats.dhcp_in++;
    const uint8_t *mac = m.chaddr;
    uint64_t lease_until = st->now + (uint64_t)d->cfg.lease_s * 1000;
    dhcp_lease *l;
    switch (m.type) {
    case WIRE_DHCP_DISCOVER:
        l = choose(st, d, mac, &m);
        if (!l) {
            stack_drop(st, WTCP_DROP_DHCP_POOL_EMPTY);
            return;
        }
        if (l->state != WTCP_DHCP_BOUND || !lease_live(st, l))
            bind(st, d, l, mac, WTCP_DHCP_OFFERED, st->now + d->cfg.offer_hold_ms);
        reply(st, ifx, &m, WIRE_DHCP_OFFER, l->addr, 1, NULL);
        return;
    case WIRE_DHCP_REQUEST: {
        if (m.has_server && m.server != f->addr) {
            /* It took another server's offer: ours goes back. */
            for (uint32_t i = 0; i < d->npool; i++)
                if (d->pool[i].state == WTCP_DHCP_OFFERED && !memcmp(d->pool[i].mac, mac, 6))
                    d->pool[i].state = DHCP_FREE;
            stack_drop(st, WTCP_DROP_DHCP_IGNORED);
            return;
        }
        /* SELECTING and INIT-REBOOT name the address (option 50); RENEWING and
         * REBINDING have it in ciaddr. */
        uint32_t want = m.has_requested ? m.requested : m.ciaddr;
        if (!want || (m.has_server && !m.has_requested)) {
            stack_drop(st, WTCP_DROP_DHCP_MALFORMED);
            return;
        }
        l = lease_for(st, d, mac, want);
        if (m.has_server && l && !(lease_live(st, l) && !memcmp(l->mac, mac, 6)))
            l = NULL; /* SELECTING an address we did not offer it */
        if (!l) {
            reply(st, ifx, &m, WIRE_DHCP_NAK, 0, 0, (want & f->mask) != (f->addr & f->mask) ? "wrong network" : "address not available");
            return;
        }
        bind(st, d, l, mac, WTCP_DHCP_BOUND, lease_until);
        reply(st, ifx, &m, WIRE_DHCP_ACK, want, 1, NULL);
        return;
    }
    case WIRE_DHCP_DECLINE:
        /* The client found the address in use: keep it out of the pool a while. */
        l = m.has_requested ? pool_entry(d, m.requested) : NULL;
        if (!l || !m.has_server || memcmp(l->mac, mac, 6) != 0) {
            stack_drop(st, WTCP_DROP_DHCP_IGNORED);
            return;
        }
        memset(l->mac, 0, 6);
        l->state = WTCP_DHCP_DECLINED;
        l->expires = st->now + (uint64_t)d->cfg.decline_hold_s * 1000;
        return;
    case WIRE_DHCP_RELEASE:
        l = static_for_mac(d, mac);
        if (!l)
            l = pool_entry(d, m.ciaddr);
        if (!l || l->addr != m.ciaddr || memcmp(l->mac, mac, 6) != 0 || !lease_live(st, l)) {
            stack_drop(st, WTCP_DROP_DHCP_IGNORED);
            return;
        }
        l->state = DHCP_FREE; /* the client keeps its claim until someone else needs it */
        l->expires = st->now;
        return;
    case WIRE_DHCP_INFORM:
        if (!m.ciaddr) {
            stack_drop(st, WTCP_DROP_DHCP_MALFORMED);
            return;
        }
        reply(st, ifx, &m, WIRE_DHCP_ACK, 0, 0, NULL);
        return;
    default: /* OFFER, ACK, NAK: a server's messages */
        stack_drop(st, WTCP_DROP_DHCP_IGNORED);
        return;
    }
}

/* ---- configuration ---- */

static int on_prefix(const wtcp_if *f, uint32_t a)
{
    uint32_t bcast = f->addr | ~f->mask;
    return (a & f->mask) == (f->addr & f->mask) && a != (f->addr & f->mask) && a != bcast && a != f->addr;
}

int wtcp_dhcp_enable(wtcp_stack *st, int iface, const wtcp_dhcp_config *cfg)
{
    wtcp_if *f = dhcp_iface(st, iface);
    if (!f || !cfg || !f->addr || f->prefix_len > 30 || f->prefix_len == 0 || cfg->lease_s < 60 ||
        cfg->offer_hold_ms == 0)
        return WTCP_EINVAL;
    wtcp_dhcp_config c = *cfg;
    uint32_t net = f->addr & f->mask, bcast = f->addr | ~f->mask;
    if (c.pool_first == 0 && c.pool_last == 0) {
        /* The QEMU-like default: from .15 of the prefix (or past our address) to its end. */
        c.pool_first = bcast - net > 16 ? net + 15 : net + 1;
        c.pool_last = bcast - 1;
        if (f->addr >= c.pool_first && f->addr <= c.pool_last)
            c.pool_first = f->addr + 1 <= c.pool_last ? f->addr + 1 : c.pool_first;
        if (c.pool_last - c.pool_first + 1 > WTCP_DHCP_MAX_POOL)
            c.pool_last = c.pool_first + WTCP_DHCP_MAX_POOL - 1;
    }
    if (c.pool_first > c.pool_last || c.pool_last - c.pool_first + 1 > WTCP_DHCP_MAX_POOL ||
        !on_prefix(f, c.pool_first) || !on_prefix(f, c.pool_last) ||
        (f->addr >= c.pool_first && f->addr <= c.pool_last))
        return WTCP_EINVAL;
    if (c.router == 0)
        c.router = f->addr;
    if (c.dns[0] == 0)
        c.dns[0] = f->addr;
    if (c.mtu == 0)
        c.mtu = f->mtu;
    uint32_t n = c.pool_last - c.pool_first + 1;
    dhcp_server *d = wtcp_mem_alloc(st, sizeof *d);
    dhcp_lease *pool = wtcp_mem_alloc(st, sizeof *pool * n);
    if (!d || !pool) {
        wtcp_mem_free(st, d);
        wtcp_mem_free(st, pool);
        return WTCP_ENOMEM;
    }
    memset(d, 0, sizeof *d);
    memset(pool, 0, sizeof *pool * n);
    for (uint32_t i = 0; i < n; i++)
        pool[i].addr = c.pool_first + i;
    d->cfg = c;
    d->npool = n;
    d->pool = pool;
    dhcp_server *old = f->dhcp;
    if (old) { /* keep what still fits */
        memcpy(d->statics, old->statics, sizeof d->statics);
        d->nstatic = old->nstatic;
        for (uint32_t i = 0; i < old->npool; i++) {
            dhcp_lease *l = pool_entry(d, old->pool[i].addr);
            if (l)
                *l = old->pool[i];
        }
        dhcp_free(st, f);
    }
    f->dhcp = d;
    return 0;
}

int wtcp_dhcp_static(wtcp_stack *st, int iface, const uint8_t mac[6], uint32_t addr)
{
    wtcp_if *f = dhcp_iface(st, iface);
    static const uint8_t zero[6];
    if (!f || !f->dhcp || !mac || wire_mac_is_group(mac) || !memcmp(mac, zero, 6) || !on_prefix(f, addr))
        return WTCP_EINVAL;
    dhcp_server *d = f->dhcp;
    dhcp_lease *s = static_for_mac(d, mac);
    dhcp_lease *other = static_for_addr(d, addr);
    if (other && other != s)
        return WTCP_EADDRINUSE;
    if (!s) {
        if (d->nstatic >= WTCP_DHCP_MAX_STATIC)
            return WTCP_ENOBUFS;
        s = &d->statics[d->nstatic++];
        memset(s, 0, sizeof *s);
        memcpy(s->mac, mac, 6);
        s->is_static = 1;
    }
    s->addr = addr;
    return 0;
}

int wtcp_dhcp_lease_get(const wtcp_stack *st, int iface, uint32_t n, wtcp_dhcp_lease *out)
{
    const wtcp_if *f = dhcp_iface(st, iface);
    if (!f || !f->dhcp || !out)
        return WTCP_EINVAL;
    const dhcp_server *d = f->dhcp;
    for (uint32_t i = 0; i < d->nstatic + d->npool; i++) {
        const dhcp_lease *l = i < d->nstatic ? &d->statics[i] : &d->pool[i - d->nstatic];
        if (!lease_live(st, l) || n-- > 0)
            continue;
        memset(out, 0, sizeof *out);
        memcpy(out->mac, l->mac, 6);
        out->state = l->state;
        out->is_static = l->is_static;
        out->addr = l->addr;
        out->expires_ms = l->expires;
        return 1;
    }
    return 0;
}

uint32_t dhcp_bound_count(const wtcp_stack *st)
{
    uint32_t n = 0;
    for (uint8_t i = 0; i < st->nifs; i++) {
        const dhcp_server *d = st->ifs[i].dhcp;
        for (uint32_t k = 0; d && k < d->nstatic + d->npool; k++) {
            const dhcp_lease *l = k < d->nstatic ? &d->statics[k] : &d->pool[k - d->nstatic];
            n += l->state == WTCP_DHCP_BOUND && lease_live(st, l);
        }
    }
    return n;
}

void dhcp_free(wtcp_stack *st, wtcp_if *f)
{
    if (!f->dhcp)
        return;
    wtcp_mem_free(st, f->dhcp->pool);
    wtcp_mem_free(st, f->dhcp);
    f->dhcp = NULL;
}
