/* if.c: the interface layer: IP and Ethernet II links (RFC 894), their addresses and
 * prefixes, route lookup (connected prefixes, longest first, then the default route),
 * link output and input dispatch. ARP is in arp.c. */
#include <string.h>

#include "internal.h"

static uint32_t prefix_mask(uint8_t len) { return len == 0 ? 0 : 0xffffffffu << (32 - len); }

static int mac_usable(const uint8_t mac[6])
{
    static const uint8_t zero[6];
    return !wire_mac_is_group(mac) && memcmp(mac, zero, 6) != 0;
}

static int arp_table_alloc(wtcp_stack *st)
{
    if (st->arp.e)
        return 0;
    uint32_t n = st->cfg.arp_max ? st->cfg.arp_max : ARP_DEFAULT_MAX;
    st->arp.e = wtcp_mem_alloc(st, sizeof(arp_entry) * n);
    if (!st->arp.e)
        return WTCP_ENOMEM;
    memset(st->arp.e, 0, sizeof(arp_entry) * n);
    st->arp.cap = n;
    return 0;
}

int if_config_check(const wtcp_config *cfg)
{
    if (cfg->link != 0 && cfg->link != WTCP_LINK_IP && cfg->link != WTCP_LINK_ETHERNET)
        return WTCP_EINVAL;
    if (cfg->link == WTCP_LINK_ETHERNET && !mac_usable(cfg->mac))
        return WTCP_EINVAL;
    return cfg->arp_max > 65536 ? WTCP_EINVAL : 0;
}

int if_init(wtcp_stack *st)
{
    wtcp_if *f = &st->ifs[0];
    memset(f, 0, sizeof *f);
    f->link = st->cfg.link ? st->cfg.link : WTCP_LINK_IP;
    memcpy(f->mac, st->cfg.mac, 6);
    f->addr = st->cfg.addr;
    f->prefix_len = st->cfg.prefix_len;
    f->mask = prefix_mask(f->prefix_len);
    f->mtu = st->cfg.mtu;
    f->output = st->cfg.output;
    f->output_user = st->cfg.output_user;
    st->nifs = 1;
    st->rx_if = IF_NONE;
    st->route_if = 0;
    st->route_gw = st->cfg.gateway;
    st->arp.next_deadline = WTCP_NEVER;
    f->announce = f->link == WTCP_LINK_ETHERNET && f->addr != 0;
    return f->link == WTCP_LINK_ETHERNET ? arp_table_alloc(st) : 0;
}

uint8_t if_local(const wtcp_stack *st, uint32_t addr)
{
    for (uint8_t i = 0; i < st->nifs; i++)
        if (st->ifs[i].link && st->ifs[i].addr && st->ifs[i].addr == addr)
            return i;
    return IF_NONE;
}

uint8_t if_route(const wtcp_stack *st, uint32_t dst, uint32_t *nexthop)
{
    uint8_t best = IF_NONE;
    int best_len = -1;
    for (uint8_t i = 0; i < st->nifs; i++) {
        const wtcp_if *f = &st->ifs[i];
        if (!f->link || !f->addr || (dst & f->mask) != (f->addr & f->mask))
            continue;
        if ((int)f->prefix_len > best_len) {
            best = i;
            best_len = f->prefix_len;
        }
    }
    if (best != IF_NONE) {
        *nexthop = dst;
        return best;
    }
    if (st->route_gw && st->ifs[st->route_if].link) {
        *nexthop = st->route_gw;
        return st->route_if;
    }
    return IF_NONE;
}

uint32_t if_source_for(const wtcp_stack *st, uint32_t dst)
{
    uint32_t nh;
    uint8_t i = if_route(st, dst, &nh);
    return i == IF_NONE ? 0 : st->ifs[i].addr;
}

uint16_t if_mtu_for(const wtcp_stack *st, uint32_t dst)
{
    uint32_t nh;
    uint8_t i = if_route(st, dst, &nh);
    return st->ifs[i == IF_NONE ? 0 : i].mtu;
}

void ether_send(wtcp_stack *st, uint8_t ifx, const uint8_t dst[6], uint16_t type, uint8_t *payload,
                size_t len)
{
    wtcp_if *f = &st->ifs[ifx];
    uint8_t *frame = payload - WIRE_ETH_HDR;
    wire_ether_emit(frame, dst, f->mac, type);
    size_t n = WIRE_ETH_HDR + len;
    if (n < WIRE_ETH_MIN_FRAME) { /* IEEE 802.3's minimum frame, padded with zeros */
        memset(frame + n, 0, WIRE_ETH_MIN_FRAME - n);
        n = WIRE_ETH_MIN_FRAME;
    }
    f->out++;
    f->out_bytes += n;
    st->stats.eth_out++;
    f->output(f->output_user, frame, n);
}

void if_output(wtcp_stack *st, uint8_t ifx, uint32_t nexthop, uint8_t *pkt, size_t len)
{
    wtcp_if *f = &st->ifs[ifx];
    if (f->link == WTCP_LINK_IP) {
        f->out++;
        f->out_bytes += len;
        f->output(f->output_user, pkt, len);
        return;
    }
    static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (nexthop == 0xffffffffu || (f->mask != 0xffffffffu && nexthop == (f->addr | ~f->mask)))
        ether_send(st, ifx, broadcast, WIRE_ETH_IPV4, pkt, len);
    else
        arp_output(st, ifx, nexthop, pkt, len);
}

/* ---- input ---- */

static void ether_input(wtcp_stack *st, uint8_t ifx, const uint8_t *frame, size_t len)
{
    wtcp_if *f = &st->ifs[ifx];
    wire_ether eth;
    int r = wire_ether_parse(frame, len, &eth);
    if (r != WIRE_OK) {
        stack_drop(st, r);
        return;
    }
    st->stats.eth_in++;
    if (memcmp(eth.dst, f->mac, 6) != 0 && !wire_mac_is_broadcast(eth.dst)) {
        stack_drop(st, WTCP_DROP_ETH_NOT_OURS); /* another host's, or a multicast group */
        return;
    }
    if (wire_mac_is_group(eth.src)) {
        stack_drop(st, WTCP_DROP_ETH_BAD_SRC);
        return;
    }
    switch (eth.type) {
    case WIRE_ETH_IPV4:
        ip_input(st, ifx, eth.payload, eth.payload_len);
        break;
    case WIRE_ETH_ARP:
        arp_input(st, ifx, eth.payload, eth.payload_len);
        break;
    default:
        stack_drop(st, WTCP_DROP_ETH_TYPE);
        break;
    }
}

/* One packet or frame; more: others of its batch follow (their output waits for the last). */
static int if_input(wtcp_stack *st, int ifx, uint64_t now, const void *data, size_t len, int more)
{
    if (!st || (!data && len) || ifx < 0 || ifx >= st->nifs || !st->ifs[ifx].link)
        return WTCP_EINVAL;
    if (now > st->now)
        st->now = now;
    wtcp_if *f = &st->ifs[ifx];
    f->in++;
    f->in_bytes += len;
    st->input_more = (uint8_t)more;
    st->rx_if = (uint8_t)ifx;
    int r = 0;
    if (f->link == WTCP_LINK_IP)
        r = ip_input(st, (uint8_t)ifx, data, len);
    else
        ether_input(st, (uint8_t)ifx, data, len);
    st->rx_if = IF_NONE;
    st->input_more = 0;
    if (!more && st->output_deferred)
        stack_flush_output(st); /* the end of a batch begun with an input_more call */
    return r;
}

int wtcp_input(wtcp_stack *st, uint64_t now, const void *packet, size_t len)
{
    return if_input(st, 0, now, packet, len, 0);
}

int wtcp_input_more(wtcp_stack *st, uint64_t now, const void *packet, size_t len)
{
    return if_input(st, 0, now, packet, len, 1);
}

int wtcp_iface_input(wtcp_stack *st, int iface, uint64_t now, const void *data, size_t len)
{
    return if_input(st, iface, now, data, len, 0);
}

int wtcp_iface_input_more(wtcp_stack *st, int iface, uint64_t now, const void *data, size_t len)
{
    return if_input(st, iface, now, data, len, 1);
}

/* ---- configuration ---- */

void wtcp_iface_config_init(wtcp_iface_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->link = WTCP_LINK_ETHERNET;
    cfg->addr.family = WTCP_AF_INET;
    cfg->mtu = 1500;
}

int wtcp_iface_add(wtcp_stack *st, const wtcp_iface_config *cfg)
{
    if (!st || !cfg || !cfg->output || cfg->mtu < 576 || cfg->addr.family != WTCP_AF_INET ||
        cfg->addr.prefix_len > 32 || (cfg->link != WTCP_LINK_IP && cfg->link != WTCP_LINK_ETHERNET))
        return WTCP_EINVAL;
    if (cfg->link == WTCP_LINK_ETHERNET && !mac_usable(cfg->mac))
        return WTCP_EINVAL;
    if (cfg->addr.v4 && (if_local(st, cfg->addr.v4) != IF_NONE || cfg->addr.v4 == 0xffffffffu))
        return WTCP_EINVAL;
    if (st->nifs >= WTCP_MAX_IFACES)
        return WTCP_ENOBUFS;
    if (cfg->link == WTCP_LINK_ETHERNET && arp_table_alloc(st) < 0)
        return WTCP_ENOMEM;
    if (cfg->mtu > st->tx_cap) { /* the scratch packet holds the largest MTU */
        uint8_t *nb = wtcp_mem_alloc(st, IF_HEADROOM + (size_t)cfg->mtu);
        if (!nb)
            return WTCP_ENOMEM;
        wtcp_mem_free(st, st->tx_base);
        st->tx_base = nb;
        st->tx = nb + IF_HEADROOM;
        st->tx_cap = cfg->mtu;
    }
    uint8_t i = st->nifs++;
    wtcp_if *f = &st->ifs[i];
    memset(f, 0, sizeof *f);
    f->link = cfg->link;
    f->addr = cfg->addr.v4;
    f->prefix_len = cfg->addr.prefix_len;
    f->mask = prefix_mask(f->prefix_len);
    f->mtu = cfg->mtu;
    memcpy(f->mac, cfg->mac, 6);
    f->output = cfg->output;
    f->output_user = cfg->output_user;
    f->announce = f->link == WTCP_LINK_ETHERNET && f->addr != 0;
    return i;
}

int wtcp_route_default(wtcp_stack *st, int iface, uint32_t gateway)
{
    if (!st || iface < 0 || iface >= st->nifs || !st->ifs[iface].link)
        return WTCP_EINVAL;
    const wtcp_if *f = &st->ifs[iface];
    if (gateway && ((gateway & f->mask) != (f->addr & f->mask) || gateway == f->addr))
        return WTCP_EINVAL;
    st->route_if = (uint8_t)iface;
    st->route_gw = gateway;
    return 0;
}

int wtcp_iface_get(const wtcp_stack *st, int iface, wtcp_iface_info *info)
{
    if (!st || !info || iface < 0 || iface >= st->nifs || !st->ifs[iface].link)
        return WTCP_EINVAL;
    const wtcp_if *f = &st->ifs[iface];
    memset(info, 0, sizeof *info);
    info->link = f->link;
    info->addr.family = WTCP_AF_INET;
    info->addr.prefix_len = f->prefix_len;
    info->addr.v4 = f->addr;
    info->mtu = f->mtu;
    memcpy(info->mac, f->mac, 6);
    info->in = f->in;
    info->out = f->out;
    info->in_bytes = f->in_bytes;
    info->out_bytes = f->out_bytes;
    info->drops = f->drops;
    return 0;
}

uint64_t if_poll(wtcp_stack *st)
{
    /* ARP and NAT timers, and the announcements of interfaces that came up. */
    for (uint8_t i = 0; i < st->nifs; i++) {
        if (st->ifs[i].announce) {
            st->ifs[i].announce = 0;
            arp_request(st, i, st->ifs[i].addr, NULL); /* RFC 5227 2.3 announcement */
        }
    }
    uint64_t next = st->arp.e ? arp_timers(st) : WTCP_NEVER;
    if (st->nat) {
        uint64_t n = nat_poll(st);
        if (n < next)
            next = n;
    }
    return next;
}
