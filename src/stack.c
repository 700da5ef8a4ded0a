/* stack.c: stack lifetime, configuration, memory, counters and names, output flushing and
 * wtcp_poll (the socket table, events and timer heap are in sock.c; interfaces in if.c),
 * SipHash-2-4. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- names ---- */

const char *wtcp_strerror(int err)
{
    switch (err) {
#define WTCP_ERRNO_MSG(name, value, msg) case value: return msg;
        WTCP_ERRNO_MAP(WTCP_ERRNO_MSG)
#undef WTCP_ERRNO_MSG
    default:
        return err >= 0 ? "success" : "unknown error";
    }
}

const char *wtcp_errname(int err)
{
    switch (err) {
#define WTCP_ERRNO_NAME(name, value, msg) case value: return #name;
        WTCP_ERRNO_MAP(WTCP_ERRNO_NAME)
#undef WTCP_ERRNO_NAME
    default:
        return err >= 0 ? "OK" : "EUNKNOWN";
    }
}

const char *wtcp_state_name(int state)
{
    static const char *const names[WTCP_NUM_STATES] = {
        "CLOSED",      "LISTEN",     "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT",
        "FIN-WAIT-1",  "CLOSING",    "LAST-ACK", "FIN-WAIT-2",   "TIME-WAIT",
    };
    return state >= 0 && state < WTCP_NUM_STATES ? names[state] : "UNKNOWN";
}

const char *wtcp_congestion_name(int cc)
{
    switch (cc) {
    case WTCP_CC_CUBIC:
        return "cubic";
    case WTCP_CC_NEWRENO:
        return "newreno";
    default:
        return NULL;
    }
}

const char *wtcp_drop_name(int reason)
{
    static const char *const names[WTCP_DROP_COUNT] = {
#define WTCP_DROP_TEXT(name, msg) msg,
        WTCP_DROP_MAP(WTCP_DROP_TEXT)
#undef WTCP_DROP_TEXT
    };
    return reason >= 0 && reason < WTCP_DROP_COUNT ? names[reason] : "unknown";
}

int wtcp_addr_parse(const char *text, uint32_t *addr)
{
    uint32_t a = 0;
    if (!text || !addr)
        return WTCP_EINVAL;
    for (int part = 0; part < 4; part++) {
        uint32_t v = 0;
        int digits = 0;
        while (*text >= '0' && *text <= '9') {
            v = v * 10 + (uint32_t)(*text++ - '0');
            if (++digits > 3 || v > 255)
                return WTCP_EINVAL;
        }
        if (digits == 0)
            return WTCP_EINVAL;
        a = (a << 8) | v;
        if (part < 3 && *text++ != '.')
            return WTCP_EINVAL;
    }
    if (*text != '\0')
        return WTCP_EINVAL;
    *addr = a;
    return 0;
}

void wtcp_addr_format(uint32_t addr, char out[16])
{
    char *p = out;
    for (int shift = 24; shift >= 0; shift -= 8) {
        unsigned v = (addr >> shift) & 0xff;
        if (v >= 100)
            *p++ = (char)('0' + v / 100);
        if (v >= 10)
            *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
        if (shift)
            *p++ = '.';
    }
    *p = '\0';
}

/* ---- memory ---- */

void *wtcp_mem_alloc(wtcp_stack *st, size_t n)
{
    if (st->cfg.alloc)
        return st->cfg.alloc(st->cfg.alloc_user, NULL, n);
    return malloc(n);
}

void wtcp_mem_free(wtcp_stack *st, void *p)
{
    if (!p)
        return;
    if (st->cfg.alloc)
        st->cfg.alloc(st->cfg.alloc_user, p, 0);
    else
        free(p);
}

/* ---- configuration and lifetime ---- */

void wtcp_config_init(wtcp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mtu = 1500;
    cfg->max_sockets = 16384;
    cfg->sndbuf = 4 * 1024 * 1024;
    cfg->rcvbuf = 256 * 1024;
    cfg->rcvbuf_max = 6 * 1024 * 1024;
    cfg->max_backlog = 4096;
    cfg->time_wait_ms = 60000;
    cfg->syn_retries = 6;
    cfg->synack_retries = 5;
    cfg->data_retries = 15;
    cfg->keepalive_idle_ms = 7200000;
    cfg->keepalive_intvl_ms = 75000;
    cfg->keepalive_count = 9;
    cfg->ephemeral_lo = 32768;
    cfg->ephemeral_hi = 60999;
    cfg->ttl = 64;
    cfg->congestion = WTCP_CC_CUBIC;
    cfg->max_time_wait = 16384;
    cfg->rto_min_ms = TCP_RTO_MIN_MS;
    cfg->arp_max = ARP_DEFAULT_MAX;
}

int wtcp_stack_new(const wtcp_config *cfg, wtcp_stack **out)
{
    if (!cfg || !out || !cfg->output || cfg->mtu < 576 || cfg->max_sockets == 0 ||
        cfg->max_sockets > 65535 || cfg->prefix_len > 32 || cfg->sndbuf < 1024 ||
        cfg->rcvbuf < 1024 || cfg->rcvbuf_max < cfg->rcvbuf || cfg->ephemeral_lo == 0 ||
        cfg->ephemeral_lo > cfg->ephemeral_hi || cfg->rcvbuf_max > (1u << 30) ||
        cfg->sndbuf > (1u << 30) || (cfg->congestion && !wtcp_congestion_name(cfg->congestion)) ||
        cfg->rto_min_ms > TCP_RTO_MAX_MS || if_config_check(cfg) < 0)
        return WTCP_EINVAL;
    wtcp_stack tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.cfg = *cfg;
    if (tmp.cfg.congestion == 0)
        tmp.cfg.congestion = WTCP_CC_CUBIC;
    if (tmp.cfg.rto_min_ms == 0)
        tmp.cfg.rto_min_ms = TCP_RTO_MIN_MS;
    if (tmp.cfg.ttl == 0)
        tmp.cfg.ttl = 64;
    if (tmp.cfg.max_backlog == 0)
        tmp.cfg.max_backlog = 1;
    wtcp_stack *st = (cfg->alloc ? cfg->alloc(cfg->alloc_user, NULL, sizeof *st) : malloc(sizeof *st));
    if (!st)
        return WTCP_ENOMEM;
    *st = tmp;
    /* The socket table starts small and doubles up to max_sockets (sock_alloc); the
     * 4-tuple hash and the port index are sized for the maximum from the start (4 bytes
     * per bucket). */
    uint32_t n = cfg->max_sockets < SOCK_TABLE_START ? cfg->max_sockets : SOCK_TABLE_START;
    uint32_t buckets = 16;
    while (buckets < 2 * cfg->max_sockets)
        buckets <<= 1;
    uint32_t port_buckets = 16; /* chains of 4 on average when the table is full */
    while (port_buckets < cfg->max_sockets / 4 && port_buckets < 65536)
        port_buckets <<= 1;
    st->nsocks = n;
    st->hash_mask = buckets - 1;
    st->ports_mask = port_buckets - 1;
    st->tx_cap = cfg->mtu;
    st->socks = wtcp_mem_alloc(st, sizeof(sock_slot) * n);
    st->hash = wtcp_mem_alloc(st, sizeof(uint32_t) * buckets);
    st->ports = wtcp_mem_alloc(st, sizeof(uint32_t) * port_buckets);
    st->heap = wtcp_mem_alloc(st, sizeof(uint32_t) * n);
    st->tx_base = wtcp_mem_alloc(st, IF_HEADROOM + (size_t)st->tx_cap);
    st->tx = st->tx_base ? st->tx_base + IF_HEADROOM : NULL;
    if (!st->socks || !st->hash || !st->ports || !st->heap || !st->tx) {
        wtcp_stack_free(st);
        return WTCP_ENOMEM;
    }
    memset(st->socks, 0, sizeof(sock_slot) * n);
    for (uint32_t i = 0; i < buckets; i++)
        st->hash[i] = WTCP_NONE;
    for (uint32_t i = 0; i < port_buckets; i++)
        st->ports[i] = WTCP_NONE;
    for (uint32_t i = 0; i < n; i++) {
        st->socks[i].free_next = i + 1 < n ? i + 1 : WTCP_NONE;
        st->socks[i].heap_pos = WTCP_NONE;
        st->socks[i].gen = 1;
    }
    st->free_head = 0;
    st->ev_head = st->ev_tail = WTCP_NONE;
    st->out_head = WTCP_NONE;
    st->tw.free_head = st->tw.oldest = st->tw.newest = WTCP_NONE;
    st->ip_id = (uint16_t)wtcp_siphash(cfg->isn_key, (const uint8_t *)"ipid", 4);
    if (if_init(st) < 0) {
        wtcp_stack_free(st);
        return WTCP_ENOMEM;
    }
    *out = st;
    return 0;
}

void wtcp_stack_free(wtcp_stack *st)
{
    if (!st)
        return;
    if (st->socks) {
        for (uint32_t i = 0; i < st->nsocks; i++) {
            sock_slot *s = &st->socks[i];
            if (!s->in_use)
                continue;
            if (s->type == WTCP_SOCK_STREAM)
                tcp_free_buffers(st, s);
            else
                udp_free(st, s);
        }
    }
    tcp_tw_free_all(st);
    arp_free_all(st);
    for (uint8_t i = 0; i < st->nifs; i++)
        dhcp_free(st, &st->ifs[i]);
    nat_free(st);
    wtcp_mem_free(st, st->socks);
    wtcp_mem_free(st, st->hash);
    wtcp_mem_free(st, st->ports);
    wtcp_mem_free(st, st->heap);
    wtcp_mem_free(st, st->tx_base);
    if (st->cfg.alloc)
        st->cfg.alloc(st->cfg.alloc_user, st, 0);
    else
        free(st);
}

void stack_drop(wtcp_stack *st, int reason)
{
    if (reason >= 0 && reason < WTCP_DROP_COUNT)
        st->stats.drop[reason]++;
    st->stats.drops++;
    if (st->rx_if != IF_NONE)
        st->ifs[st->rx_if].drops++;
}

void wtcp_stats_get(const wtcp_stack *st, wtcp_stats *out)
{
    if (st && out) {
        *out = st->stats;
        out->tcp_time_wait = st->tw.count;
        out->arp_entries = st->arp.count;
        out->arp_queued = 0;
        for (uint32_t i = 0; st->arp.e && i < st->arp.cap; i++)
            out->arp_queued += st->arp.e[i].queued;
        out->dhcp_leases = dhcp_bound_count(st);
        out->nat_flows = nat_flow_count(st);
    }
}

/* ---- socket table ---- */

void stack_flush_output(wtcp_stack *st)
{
    st->output_deferred = 0;
    while (st->out_head != WTCP_NONE) {
        uint32_t idx = st->out_head;
        sock_slot *s = &st->socks[idx];
        st->out_head = s->out_next;
        s->in_output_list = 0;
        if (s->in_use && s->type == WTCP_SOCK_STREAM) {
            tcp_output(st, idx);
            if (st->socks[idx].in_use)
                sock_timers_changed(st, idx);
        }
    }
}

uint64_t wtcp_poll(wtcp_stack *st, uint64_t now)
{
    if (!st)
        return WTCP_NEVER;
    if (now > st->now)
        st->now = now;
    now = st->now;
    /* Timers first: they may queue output. Bounded so a bug cannot spin forever. */
    for (uint32_t guard = 0; st->heap_len > 0 && guard < 4 * st->nsocks + 16; guard++) {
        uint32_t idx = st->heap[0];
        if (st->socks[idx].deadline > now)
            break;
        tcp_timers_run(st, idx);
        sock_timers_changed(st, idx);
    }
    stack_flush_output(st);
    tcp_tw_expire(st);
    uint64_t next = if_poll(st);
    if (tcp_tw_next_deadline(st) < next)
        next = tcp_tw_next_deadline(st);
    if (st->heap_len && st->socks[st->heap[0]].deadline < next)
        next = st->socks[st->heap[0]].deadline;
    return next;
}

/* ---- SipHash-2-4 (Aumasson and Bernstein), for RFC 6528 ISNs and RFC 6056 ports ---- */

static uint64_t rotl64(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

#define SIPROUND                                                                             \
    do {                                                                                     \
        v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);                       \
        v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;                                             \
        v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;                                             \
        v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);                        \
    } while (0)

uint64_t wtcp_siphash(const uint8_t key[16], const uint8_t *data, size_t len)
{
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(data + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)data[full + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}
