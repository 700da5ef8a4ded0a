/* wtcp_js.c: the glue between the wtcp core and JavaScript (built into wtcp.wasm).
 *
 * Why a shim rather than calling JS per packet (addFunction): the core's output callback
 * fires once per packet in the middle of wtcp_input/wtcp_poll. Crossing into JS there
 * costs a call per packet and lets JS run while the core is mid-call (so JS must never
 * touch the stack from it). Instead the callback appends each packet to one queue in
 * wasm memory, and JS takes the whole queue after each call. Events, TCP_INFO and
 * counters are gathered the same way into fixed blocks JS reads straight from memory,
 * and times cross as doubles so no 64-bit integer ever crosses the boundary (no BigInt).
 *
 * Crossing the boundary costs far more than the work of one small packet, so the hot
 * paths are shaped to cross it rarely:
 * - The queues' state (output queue, inbox, scratch) lives in one u32 block (io[]) that
 *   JS reads and writes in place: taking the output is "read OUT_PTR/OUT_LEN, set
 *   OUT_LEN to 0", with no call.
 * - An inbox takes packets in the output queue's record format, so two stacks in one
 *   process (pair()) move a whole batch with one copy from one instance's memory into
 *   the other's, and wjs_input_batch feeds all of it to the core in one call.
 * - wjs_pump polls and gathers the events in one call; wjs_recv_avail asks how much is
 *   readable, sizes the scratch and receives in one call.
 *
 * The core allocates through a counting hook, so JS can see how many bytes each stack
 * holds (tests use it to prove nothing leaks).
 */
#include <wtcp.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WJS_EXPORT __attribute__((used, visibility("default")))

enum { WJS_MAX_EVENTS = 256, WJS_INFO_FIELDS = 40, WJS_STATS_FIELDS = 64 + WTCP_DROP_COUNT };

/* Slots of ctx->io, shared with lib/wasm.js (IO there). Queues hold records of
 * [u32 length][packet][padding to 4 bytes]. */
enum wjs_io {
    WJS_IO_OUT_PTR,     /* output queue: what the core sent */
    WJS_IO_OUT_LEN,     /* JS sets it to 0 once it took the packets */
    WJS_IO_OUT_CAP,
    WJS_IO_IN_PTR,      /* inbox: packets for wjs_input_batch */
    WJS_IO_IN_LEN,      /* JS appends records while IN_LEN + n <= IN_CAP */
    WJS_IO_IN_CAP,
    WJS_IO_SCRATCH_PTR, /* bytes of one input packet, send, or receive */
    WJS_IO_SCRATCH_CAP,
    WJS_IO_EVENTS,      /* events wjs_pump left in ctx->events */
    WJS_IO_FRAMES_PTR,  /* frames the core sent on Ethernet interfaces: records of */
    WJS_IO_FRAMES_LEN,  /* [u32 length | interface << 24][frame][padding] */
    WJS_IO_FRAMES_CAP,
    WJS_IO_COUNT
};

/* Queues that grew past this in a burst are given back once empty. */
#define WJS_QUEUE_KEEP (1u << 20)

/* The stack options JS may set (createStack's config, lib/stack.js): each one's name
 * there and its wtcp_config field. Slot i of wjs_create's array is option i, then the
 * ISN key in four words; WJS_DEFAULT leaves the core's default. This list is their one
 * definition: lib/wasm.js takes the names and slots from wjs_opt_name(). */
#define WJS_OPTS(X)                                                                         \
    X("addr", addr) X("prefix", prefix_len) X("mtu", mtu) X("maxSockets", max_sockets)       \
    X("sndbuf", sndbuf) X("rcvbuf", rcvbuf) X("rcvbufMax", rcvbuf_max)                      \
    X("maxBacklog", max_backlog) X("timeWait", time_wait_ms) X("synRetries", syn_retries)   \
    X("synAckRetries", synack_retries) X("dataRetries", data_retries)                       \
    X("ephemeralLo", ephemeral_lo) X("ephemeralHi", ephemeral_hi) X("ttl", ttl)             \
    X("noTimestamps", no_timestamps) X("noSack", no_sack) X("noWscale", no_wscale)          \
    X("maxTimeWait", max_time_wait) X("rtoMin", rto_min_ms) X("congestion", congestion)

#define WJS_OPT_NAME(name, field) name,
static const char *const wjs_opt_names[] = { WJS_OPTS(WJS_OPT_NAME) };
#undef WJS_OPT_NAME
enum {
    WJS_OPT_ISN_KEY = sizeof wjs_opt_names / sizeof wjs_opt_names[0], /* four words */
    WJS_OPT_COUNT = WJS_OPT_ISN_KEY + 4
};

/* Option i's name ("isnKey" for the key's first slot), or NULL past the last. */
WJS_EXPORT const char *wjs_opt_name(int i)
{
    if (i >= 0 && i < WJS_OPT_ISN_KEY)
        return wjs_opt_names[i];
    return i == WJS_OPT_ISN_KEY ? "isnKey" : NULL;
}
/* How many 32-bit slots wjs_create reads. */
WJS_EXPORT int wjs_opt_count(void) { return WJS_OPT_COUNT; }
#define WJS_DEFAULT 0xffffffffu

typedef struct wjs_ctx wjs_ctx;
typedef struct wjs_iface { /* the output hook's user pointer of an added interface */
    wjs_ctx *ctx;
    uint32_t index;
} wjs_iface;

struct wjs_ctx {
    wtcp_stack *stack;
    wjs_iface ifaces[WTCP_MAX_IFACES];
    uint32_t io[WJS_IO_COUNT];
    uint32_t out_dropped; /* packets lost because the queue could not grow */
    /* Bytes the core holds through the allocator hook. */
    uint32_t heap_bytes;
    /* Out-parameters of the last call (addresses, ports, option values). */
    uint32_t tmp[4];
    int32_t events[2 * WJS_MAX_EVENTS];
    double info[WJS_INFO_FIELDS];
    double stats[WJS_STATS_FIELDS];
};

/* A size header keeps the counting exact; 8 bytes keeps blocks 8-byte aligned. */
typedef union wjs_block {
    size_t size;
    uint64_t align;
} wjs_block;

static void *wjs_alloc(void *user, void *ptr, size_t size)
{
    wjs_ctx *ctx = user;
    wjs_block *old = ptr ? (wjs_block *)ptr - 1 : NULL;
    size_t old_size = old ? old->size : 0;
    if (size == 0) {
        free(old);
        ctx->heap_bytes -= (uint32_t)old_size;
        return NULL;
    }
    wjs_block *b = realloc(old, sizeof *b + size);
    if (!b)
        return NULL;
    b->size = size;
    ctx->heap_bytes += (uint32_t)size - (uint32_t)old_size;
    return b + 1;
}

static uint8_t *wjs_ptr(uint32_t p) { return (uint8_t *)(uintptr_t)p; }

/* Makes room for `need` more bytes in the queue at io[ptr], io[len], io[cap] (a queue
 * that is empty and grew past WJS_QUEUE_KEEP shrinks back first). */
static int wjs_queue_room(wjs_ctx *ctx, int ptr, uint32_t need)
{
    uint32_t *io = ctx->io;
    uint32_t len = io[ptr + 1], cap = io[ptr + 2];
    if (len == 0 && cap > WJS_QUEUE_KEEP) {
        free(wjs_ptr(io[ptr]));
        io[ptr] = 0;
        io[ptr + 2] = cap = 0;
    }
    if (len + need <= cap)
        return 1;
    uint32_t grown_cap = cap ? cap : 16384;
    while (grown_cap < len + need)
        grown_cap *= 2;
    uint8_t *grown = realloc(wjs_ptr(io[ptr]), grown_cap);
    if (!grown)
        return 0;
    io[ptr] = (uint32_t)(uintptr_t)grown;
    io[ptr + 2] = grown_cap;
    return 1;
}

static void wjs_output(void *user, const uint8_t *packet, size_t len)
{
    wjs_ctx *ctx = user;
    uint32_t need = 4 + (((uint32_t)len + 3) & ~3u);
    if (!wjs_queue_room(ctx, WJS_IO_OUT_PTR, need)) {
        ctx->out_dropped++; /* as a full NIC queue would: TCP recovers */
        return;
    }
    uint8_t *at = wjs_ptr(ctx->io[WJS_IO_OUT_PTR]) + ctx->io[WJS_IO_OUT_LEN];
    uint32_t n = (uint32_t)len;
    memcpy(at, &n, 4);
    memcpy(at + 4, packet, len);
    ctx->io[WJS_IO_OUT_LEN] += need;
}

/* An added interface's frames (or packets) go to a queue of their own, tagged with it. */
static void wjs_iface_output(void *user, const uint8_t *frame, size_t len)
{
    wjs_iface *f = user;
    wjs_ctx *ctx = f->ctx;
    uint32_t need = 4 + (((uint32_t)len + 3) & ~3u);
    if (len > 0xffffff || !wjs_queue_room(ctx, WJS_IO_FRAMES_PTR, need)) {
        ctx->out_dropped++;
        return;
    }
    uint8_t *at = wjs_ptr(ctx->io[WJS_IO_FRAMES_PTR]) + ctx->io[WJS_IO_FRAMES_LEN];
    uint32_t tag = (uint32_t)len | f->index << 24;
    memcpy(at, &tag, 4);
    memcpy(at + 4, frame, len);
    ctx->io[WJS_IO_FRAMES_LEN] += need;
}

static uint64_t wjs_time(double now_ms) { return now_ms <= 0 ? 0 : (uint64_t)now_ms; }

/* Returns a context pointer (> 0) or a negative WTCP_E* code. */
WJS_EXPORT intptr_t wjs_create(const uint32_t *opt)
{
    wjs_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return WTCP_ENOMEM;
    wtcp_config cfg;
    wtcp_config_init(&cfg);
    int slot = 0;
#define WJS_OPT_SET(name, field)                                                            \
    if (opt[slot] != WJS_DEFAULT)                                                            \
        cfg.field = opt[slot];                                                               \
    slot++;
    WJS_OPTS(WJS_OPT_SET)
#undef WJS_OPT_SET
    memcpy(cfg.isn_key, &opt[WJS_OPT_ISN_KEY], sizeof cfg.isn_key);
    cfg.output = wjs_output;
    cfg.output_user = ctx;
    cfg.alloc = wjs_alloc;
    cfg.alloc_user = ctx;
    int r = wtcp_stack_new(&cfg, &ctx->stack);
    if (r < 0) {
        free(ctx);
        return r;
    }
    return (intptr_t)ctx;
}

WJS_EXPORT void wjs_free(wjs_ctx *ctx)
{
    if (!ctx)
        return;
    wtcp_stack_free(ctx->stack);
    free(wjs_ptr(ctx->io[WJS_IO_OUT_PTR]));
    free(wjs_ptr(ctx->io[WJS_IO_IN_PTR]));
    free(wjs_ptr(ctx->io[WJS_IO_SCRATCH_PTR]));
    free(wjs_ptr(ctx->io[WJS_IO_FRAMES_PTR]));
    free(ctx);
}

WJS_EXPORT wtcp_stack *wjs_stack(wjs_ctx *ctx) { return ctx->stack; }
WJS_EXPORT uint32_t *wjs_tmp(wjs_ctx *ctx) { return ctx->tmp; }
WJS_EXPORT int32_t *wjs_events_ptr(wjs_ctx *ctx) { return ctx->events; }
WJS_EXPORT double *wjs_info_ptr(wjs_ctx *ctx) { return ctx->info; }
WJS_EXPORT double *wjs_stats_ptr(wjs_ctx *ctx) { return ctx->stats; }
WJS_EXPORT uint32_t *wjs_io_ptr(wjs_ctx *ctx) { return ctx->io; }
WJS_EXPORT uint8_t *wjs_out_ptr(wjs_ctx *ctx) { return wjs_ptr(ctx->io[WJS_IO_OUT_PTR]); }
WJS_EXPORT uint32_t wjs_out_len(wjs_ctx *ctx) { return ctx->io[WJS_IO_OUT_LEN]; }
/* Empties the queue (JS may instead set io[OUT_LEN] to 0). */
WJS_EXPORT void wjs_out_clear(wjs_ctx *ctx) { ctx->io[WJS_IO_OUT_LEN] = 0; }
WJS_EXPORT uint32_t wjs_heap_bytes(wjs_ctx *ctx) { return ctx->heap_bytes; }

/* Scratch of at least n bytes (NULL when memory is exhausted). Keeps its size: the
 * largest packet or chunk seen bounds it. */
WJS_EXPORT uint8_t *wjs_scratch(wjs_ctx *ctx, uint32_t n)
{
    if (n > ctx->io[WJS_IO_SCRATCH_CAP]) {
        uint8_t *grown = realloc(wjs_ptr(ctx->io[WJS_IO_SCRATCH_PTR]), n);
        if (!grown)
            return NULL;
        ctx->io[WJS_IO_SCRATCH_PTR] = (uint32_t)(uintptr_t)grown;
        ctx->io[WJS_IO_SCRATCH_CAP] = n;
    }
    return wjs_ptr(ctx->io[WJS_IO_SCRATCH_PTR]);
}

/* One packet from the scratch (JS copied it there). */
WJS_EXPORT int wjs_input(wjs_ctx *ctx, double now_ms, uint32_t len)
{
    return wtcp_input(ctx->stack, wjs_time(now_ms), wjs_ptr(ctx->io[WJS_IO_SCRATCH_PTR]), len);
}

/* Room for n more bytes of records in the inbox: 1, or 0 when memory is exhausted. JS
 * then writes them at io[IN_PTR] + io[IN_LEN] and adds n to io[IN_LEN]. */
WJS_EXPORT int wjs_inbox_room(wjs_ctx *ctx, uint32_t n) { return wjs_queue_room(ctx, WJS_IO_IN_PTR, n); }

/* Feeds every packet of the inbox to the core, in order, and empties it; returns how
 * many. Refused packets are counted by the core, as with wtcp_input. */
WJS_EXPORT int wjs_input_batch(wjs_ctx *ctx, double now_ms)
{
    uint64_t now = wjs_time(now_ms);
    const uint8_t *in = wjs_ptr(ctx->io[WJS_IO_IN_PTR]);
    uint32_t len = ctx->io[WJS_IO_IN_LEN];
    int count = 0, more = 0;
    for (uint32_t off = 0; off + 4 <= len; count++) {
        uint32_t n;
        memcpy(&n, in + off, 4);
        if (n > len - off - 4)
            break; /* a malformed record (JS wrote it): drop the rest */
        const uint8_t *p = in + off + 4;
        off += 4 + ((n + 3) & ~3u);
        /* One batch for the stack: one ACK for all of it, sent with the last packet. */
        more = off + 4 <= len;
        if (more)
            wtcp_input_more(ctx->stack, now, p, n);
        else
            wtcp_input(ctx->stack, now, p, n);
    }
    if (more)
        (void)wtcp_poll(ctx->stack, now); /* the batch ended on a malformed record */
    ctx->io[WJS_IO_IN_LEN] = 0;
    return count;
}

/* The next deadline in ms, or -1 for never. */
WJS_EXPORT double wjs_poll(wjs_ctx *ctx, double now_ms)
{
    uint64_t next = wtcp_poll(ctx->stack, wjs_time(now_ms));
    return next == WTCP_NEVER ? -1.0 : (double)next;
}

/* Pops up to WJS_MAX_EVENTS events as (sock, bits) pairs; returns how many. */
WJS_EXPORT int wjs_events(wjs_ctx *ctx)
{
    int n = 0;
    wtcp_event ev;
    while (n < WJS_MAX_EVENTS && wtcp_next_event(ctx->stack, &ev)) {
        ctx->events[2 * n] = ev.sock;
        ctx->events[2 * n + 1] = (int32_t)ev.events;
        n++;
    }
    ctx->io[WJS_IO_EVENTS] = (uint32_t)n;
    return n;
}

/* One turn of the host's loop: wtcp_poll, then the first WJS_MAX_EVENTS events into
 * ctx->events (io[EVENTS] says how many; wjs_events pops more). Returns the deadline. */
WJS_EXPORT double wjs_pump(wjs_ctx *ctx, double now_ms)
{
    double next = wjs_poll(ctx, now_ms);
    wjs_events(ctx);
    return next;
}

/* Calls that return values through out-parameters put them in ctx->tmp. */
WJS_EXPORT int wjs_accept(wjs_ctx *ctx, int32_t s) { return wtcp_accept(ctx->stack, s, &ctx->tmp[0], NULL); }

WJS_EXPORT int wjs_getsockname(wjs_ctx *ctx, int32_t s)
{
    uint16_t port = 0;
    int r = wtcp_getsockname(ctx->stack, s, &ctx->tmp[0], &port);
    ctx->tmp[1] = port;
    return r;
}

WJS_EXPORT int wjs_getpeername(wjs_ctx *ctx, int32_t s)
{
    uint16_t port = 0;
    int r = wtcp_getpeername(ctx->stack, s, &ctx->tmp[0], &port);
    ctx->tmp[1] = port;
    return r;
}

WJS_EXPORT int wjs_getsockopt(wjs_ctx *ctx, int32_t s, int opt)
{
    int v = 0;
    int r = wtcp_getsockopt(ctx->stack, s, opt, &v);
    ctx->tmp[0] = (uint32_t)v;
    return r;
}

WJS_EXPORT int wjs_send(wjs_ctx *ctx, int32_t s, uint32_t len)
{
    return wtcp_send(ctx->stack, s, wjs_ptr(ctx->io[WJS_IO_SCRATCH_PTR]), len);
}
WJS_EXPORT int wjs_recv(wjs_ctx *ctx, int32_t s, uint32_t len)
{
    return wtcp_recv(ctx->stack, s, wjs_ptr(ctx->io[WJS_IO_SCRATCH_PTR]), len);
}

/* Receives what is readable now, at most max bytes, into the scratch (grown to fit):
 * bytes received, 0 at end of stream, or a negative code (WTCP_EAGAIN: nothing yet). */
WJS_EXPORT int wjs_recv_avail(wjs_ctx *ctx, int32_t s, uint32_t max)
{
    int avail = wtcp_readable(ctx->stack, s);
    uint32_t len = avail > 0 ? (uint32_t)avail : 0;
    if (len > max)
        len = max;
    if (len && !wjs_scratch(ctx, len))
        return WTCP_ENOMEM;
    return wtcp_recv(ctx->stack, s, wjs_ptr(ctx->io[WJS_IO_SCRATCH_PTR]), len);
}

WJS_EXPORT int wjs_sendto(wjs_ctx *ctx, int32_t s, uint32_t len, uint32_t addr, uint32_t port)
{
    return wtcp_sendto(ctx->stack, s, wjs_ptr(ctx->io[WJS_IO_SCRATCH_PTR]), len, addr, (uint16_t)port);
}

WJS_EXPORT int wjs_recvfrom(wjs_ctx *ctx, int32_t s, uint32_t len)
{
    uint16_t port = 0;
    int r = wtcp_recvfrom(ctx->stack, s, wjs_ptr(ctx->io[WJS_IO_SCRATCH_PTR]), len, &ctx->tmp[0], &port);
    ctx->tmp[1] = port;
    return r;
}

/* ---- interfaces, DHCP and NAT (lib/ethernet.js) ---- */

static void wjs_mac(const uint8_t *p, uint8_t mac[6]) { memcpy(mac, p, 6); }

/* An Ethernet interface (link 2) or IP link (1) with addr/prefix and mtu; its MAC is the
 * first 6 bytes of the scratch. Returns its index or a negative code. */
WJS_EXPORT int wjs_iface_add(wjs_ctx *ctx, int link, uint32_t addr, int prefix, int mtu)
{
    wtcp_iface_config c;
    wtcp_iface_config_init(&c);
    c.link = (uint8_t)link;
    c.addr.v4 = addr;
    c.addr.prefix_len = (uint8_t)prefix;
    c.mtu = (uint16_t)mtu;
    if (!wjs_scratch(ctx, 6))
        return WTCP_ENOMEM;
    wjs_mac(wjs_ptr(ctx->io[WJS_IO_SCRATCH_PTR]), c.mac);
    c.output = wjs_iface_output;
    /* The index it will get: interfaces are only ever added, so it is the count. */
    for (uint32_t i = 1; i < WTCP_MAX_IFACES; i++) {
        wtcp_iface_info info;
        if (wtcp_iface_get(ctx->stack, (int)i, &info) == 0)
            continue;
        ctx->ifaces[i].ctx = ctx;
        ctx->ifaces[i].index = i;
        c.output_user = &ctx->ifaces[i];
        return wtcp_iface_add(ctx->stack, &c);
    }
    return WTCP_ENOBUFS;
}

/* A frame (or packet) of len bytes from the scratch, received on interface ifx. */
WJS_EXPORT int wjs_iface_input(wjs_ctx *ctx, int ifx, double now_ms, uint32_t len)
{
    return wtcp_iface_input(ctx->stack, ifx, wjs_time(now_ms), wjs_ptr(ctx->io[WJS_IO_SCRATCH_PTR]), len);
}

WJS_EXPORT int wjs_route_default(wjs_ctx *ctx, int ifx, uint32_t gateway)
{
    return wtcp_route_default(ctx->stack, ifx, gateway);
}

/* Interface ifx's counters into ctx->info: in, out, inBytes, outBytes, drops. */
WJS_EXPORT int wjs_iface_stats(wjs_ctx *ctx, int ifx)
{
    wtcp_iface_info in;
    int r = wtcp_iface_get(ctx->stack, ifx, &in);
    if (r < 0)
        return r;
    double *o = ctx->info;
    o[0] = (double)in.in, o[1] = (double)in.out, o[2] = (double)in.in_bytes;
    o[3] = (double)in.out_bytes, o[4] = (double)in.drops;
    return 5;
}

/* 0 for a field means the core's default (router, dns: the interface's address; mtu:
 * its MTU); 0xffffffff for router or dns means none. */
WJS_EXPORT int wjs_dhcp_enable(wjs_ctx *ctx, int ifx, uint32_t first, uint32_t last, uint32_t lease_s,
                               uint32_t router, uint32_t dns, uint32_t mtu)
{
    wtcp_dhcp_config c;
    wtcp_dhcp_config_init(&c);
    c.pool_first = first;
    c.pool_last = last;
    if (lease_s)
        c.lease_s = lease_s;
    c.router = router;
    c.dns[0] = dns;
    c.mtu = (uint16_t)mtu;
    return wtcp_dhcp_enable(ctx->stack, ifx, &c);
}

/* A static lease of addr for the MAC in the scratch's first 6 bytes. */
WJS_EXPORT int wjs_dhcp_static(wjs_ctx *ctx, int ifx, uint32_t addr)
{
    uint8_t mac[6];
    if (!wjs_scratch(ctx, 6))
        return WTCP_ENOMEM;
    wjs_mac(wjs_ptr(ctx->io[WJS_IO_SCRATCH_PTR]), mac);
    return wtcp_dhcp_static(ctx->stack, ifx, mac, addr);
}

/* Lease n into ctx->info: addr, state, static, expires (ms), then the MAC's 6 bytes.
 * Returns 1, 0 past the last, or a negative code. */
WJS_EXPORT int wjs_dhcp_lease(wjs_ctx *ctx, int ifx, uint32_t n)
{
    wtcp_dhcp_lease l;
    int r = wtcp_dhcp_lease_get(ctx->stack, ifx, n, &l);
    if (r <= 0)
        return r;
    double *o = ctx->info;
    o[0] = l.addr, o[1] = l.state, o[2] = l.is_static, o[3] = (double)l.expires_ms;
    for (int i = 0; i < 6; i++)
        o[4 + i] = l.mac[i];
    return 1;
}

WJS_EXPORT int wjs_nat_enable(wjs_ctx *ctx, int outside, uint32_t max_flows)
{
    wtcp_nat_config c;
    wtcp_nat_config_init(&c);
    if (max_flows)
        c.max_entries = max_flows;
    return wtcp_nat_enable(ctx->stack, outside, &c);
}

WJS_EXPORT int wjs_nat_dns(wjs_ctx *ctx, uint32_t resolver) { return wtcp_nat_dns(ctx->stack, resolver); }

WJS_EXPORT int wjs_nat_forward(wjs_ctx *ctx, int proto, uint32_t port, uint32_t addr, uint32_t to_port)
{
    return wtcp_nat_forward(ctx->stack, proto, (uint16_t)port, addr, (uint16_t)to_port);
}

WJS_EXPORT int wjs_nat_unforward(wjs_ctx *ctx, int proto, uint32_t port)
{
    return wtcp_nat_unforward(ctx->stack, proto, (uint16_t)port);
}

/* Interception (lib/ethernet.js's intercept option): the listener, the verdicts, and the
 * UDP socket; wjs_intercept_recvfrom leaves src, src port, dst, dst port in ctx->tmp. */
WJS_EXPORT int wjs_intercept_listen(wjs_ctx *ctx, int ifx, int backlog) { return wtcp_intercept_listen(ctx->stack, ifx, backlog); }
WJS_EXPORT int wjs_intercept_complete(wjs_ctx *ctx, int32_t s) { return wtcp_intercept_complete(ctx->stack, s); }
WJS_EXPORT int wjs_intercept_refuse(wjs_ctx *ctx, int32_t s, int how) { return wtcp_intercept_refuse(ctx->stack, s, how); }
WJS_EXPORT int wjs_intercept_udp(wjs_ctx *ctx, int ifx) { return wtcp_intercept_udp(ctx->stack, ifx); }

WJS_EXPORT int wjs_intercept_recvfrom(wjs_ctx *ctx, int32_t s, uint32_t len)
{
    uint16_t sp = 0, dp = 0;
    int r = wtcp_intercept_recvfrom(ctx->stack, s, wjs_ptr(ctx->io[WJS_IO_SCRATCH_PTR]), len, &ctx->tmp[0], &sp,
                                    &ctx->tmp[2], &dp);
    ctx->tmp[1] = sp;
    ctx->tmp[3] = dp;
    return r;
}

WJS_EXPORT int wjs_intercept_sendto(wjs_ctx *ctx, int32_t s, uint32_t len, uint32_t from, uint32_t from_port,
                                    uint32_t to, uint32_t to_port)
{
    return wtcp_intercept_sendto(ctx->stack, s, wjs_ptr(ctx->io[WJS_IO_SCRATCH_PTR]), len, from, (uint16_t)from_port,
                                 to, (uint16_t)to_port);
}

WJS_EXPORT int wjs_intercept_unreachable(wjs_ctx *ctx, int32_t s, uint32_t from, uint32_t from_port, uint32_t to,
                                         uint32_t to_port)
{
    return wtcp_intercept_unreachable(ctx->stack, s, from, (uint16_t)from_port, to, (uint16_t)to_port);
}

/* TCP_INFO as JavaScript sees it (connection.info()): each field's name there and its
 * wtcp_info member, in this order. This list is their one definition: lib/connection.js
 * takes the names from wjs_info_name() (and turns state, addresses and flags into words). */
#define WJS_INFO(X)                                                                          \
    X("state", state) X("localAddress", local_addr) X("localPort", local_port)               \
    X("remoteAddress", remote_addr) X("remotePort", remote_port) X("mss", snd_mss)           \
    X("rcvMss", rcv_mss) X("sendWindow", snd_wnd) X("receiveWindow", rcv_wnd)                \
    X("sendWindowScale", snd_wscale) X("receiveWindowScale", rcv_wscale)                     \
    X("timestamps", ts_ok) X("sack", sack_ok) X("cwnd", cwnd) X("ssthresh", ssthresh)        \
    X("srtt", srtt_ms) X("rttvar", rttvar_ms) X("rto", rto_ms) X("backoff", backoff)         \
    X("retransmits", retransmits) X("unacked", unacked) X("sendBuffered", snd_buf_used)      \
    X("receiveBuffered", rcv_buf_used) X("bytesSent", bytes_sent) X("bytesAcked", bytes_acked) \
    X("bytesReceived", bytes_received) X("segmentsIn", segs_in) X("segmentsOut", segs_out)    \
    X("congestion", congestion) X("caState", ca_state) X("lost", lost)                       \
    X("reordering", reordering) X("rackReorderWindow", rack_reo_wnd_ms) X("lossProbes", tlp_probes)

#define WJS_INFO_NAME(name, field) name,
static const char *const wjs_info_names[] = { WJS_INFO(WJS_INFO_NAME) };
#undef WJS_INFO_NAME
enum { WJS_INFO_COUNT = sizeof wjs_info_names / sizeof wjs_info_names[0] };
_Static_assert(WJS_INFO_COUNT <= WJS_INFO_FIELDS, "ctx->info is too small for WJS_INFO");

/* The name of info field i, or NULL past the last. */
WJS_EXPORT const char *wjs_info_name(int i)
{
    return i >= 0 && i < WJS_INFO_COUNT ? wjs_info_names[i] : NULL;
}

WJS_EXPORT int wjs_info(wjs_ctx *ctx, int32_t s)
{
    wtcp_info in;
    int r = wtcp_info_get(ctx->stack, s, &in);
    if (r < 0)
        return r;
    double *o = ctx->info;
    int i = 0;
#define WJS_INFO_VALUE(name, field) o[i++] = (double)in.field;
    WJS_INFO(WJS_INFO_VALUE)
#undef WJS_INFO_VALUE
    return i;
}

/* The socket options, event bits and state names of wtcp.h, for lib/wasm.js's SO, EV and
 * STATES: option i's name ("TCP_NODELAY") and value, event i's name and bit; NULL past the
 * last. */
#define WJS_NAME(name, value) #name,
#define WJS_VALUE(name, value) value,
static const char *const wjs_sockopt_names[] = { WTCP_SOCKOPT_MAP(WJS_NAME) };
static const int wjs_sockopt_values[] = { WTCP_SOCKOPT_MAP(WJS_VALUE) };
static const char *const wjs_event_names[] = { WTCP_EVENT_MAP(WJS_NAME) };
static const int wjs_event_bits[] = { WTCP_EVENT_MAP(WJS_VALUE) };
#undef WJS_NAME
#undef WJS_VALUE
enum {
    WJS_SOCKOPT_COUNT = sizeof wjs_sockopt_names / sizeof wjs_sockopt_names[0],
    WJS_EVENT_COUNT = sizeof wjs_event_names / sizeof wjs_event_names[0]
};

WJS_EXPORT const char *wjs_sockopt_name(int i) { return i >= 0 && i < WJS_SOCKOPT_COUNT ? wjs_sockopt_names[i] : NULL; }
WJS_EXPORT int wjs_sockopt_value(int i) { return i >= 0 && i < WJS_SOCKOPT_COUNT ? wjs_sockopt_values[i] : -1; }
WJS_EXPORT const char *wjs_event_name(int i) { return i >= 0 && i < WJS_EVENT_COUNT ? wjs_event_names[i] : NULL; }
WJS_EXPORT int wjs_event_bit(int i) { return i >= 0 && i < WJS_EVENT_COUNT ? 1 << wjs_event_bits[i] : 0; }
WJS_EXPORT const char *wjs_state_name(int i) { return i >= 0 && i < WTCP_NUM_STATES ? wtcp_state_name(i) : NULL; }

/* The stack's counters as JavaScript sees them (stack.stats()): each one's name there and
 * its value, in this order, then the drops by reason. This list is their one definition:
 * lib/stack.js takes the names from wjs_stat_name(). */
#define WJS_STATS(X)                                                                        \
    X("ipIn", st.ip_in) X("ipOut", st.ip_out) X("ipInBytes", st.ip_in_bytes)                 \
    X("ipOutBytes", st.ip_out_bytes) X("tcpIn", st.tcp_in) X("tcpOut", st.tcp_out)           \
    X("tcpRetransmits", st.tcp_retransmits) X("tcpResetsOut", st.tcp_rst_out)               \
    X("tcpChallengeAcks", st.tcp_challenge_acks) X("tcpActiveOpens", st.tcp_active_opens)   \
    X("tcpPassiveOpens", st.tcp_passive_opens) X("tcpFailed", st.tcp_conn_failed)           \
    X("udpIn", st.udp_in) X("udpOut", st.udp_out) X("icmpIn", st.icmp_in)                   \
    X("icmpOut", st.icmp_out) X("drops", st.drops) X("outputDrops", ctx->out_dropped)       \
    X("heapBytes", ctx->heap_bytes) X("tcpTimeouts", st.tcp_timeouts)                       \
    X("tcpRecoveries", st.tcp_recoveries) X("tcpLossProbes", st.tcp_tlp_probes)             \
    X("tcpRackLosses", st.tcp_rack_losses) X("tcpTimeWait", st.tcp_time_wait)               \
    X("tcpTimeWaitRecycled", st.tcp_tw_recycled)                                            \
    X("tcpSynCookiesSent", st.tcp_syncookies_sent)                                          \
    X("tcpSynCookiesRecv", st.tcp_syncookies_recv)                                          \
    X("tcpSynCookiesFailed", st.tcp_syncookies_failed)                                      \
    X("ethIn", st.eth_in) X("ethOut", st.eth_out) X("arpIn", st.arp_in) X("arpOut", st.arp_out) \
    X("arpEntries", st.arp_entries) X("arpQueued", st.arp_queued) X("arpEvicted", st.arp_evicted) \
    X("dhcpIn", st.dhcp_in) X("dhcpOut", st.dhcp_out) X("dhcpLeases", st.dhcp_leases)     \
    X("natOut", st.nat_out) X("natIn", st.nat_in) X("natFlows", st.nat_flows)               \
    X("natEvicted", st.nat_evicted)

#define WJS_STAT_NAME(name, value) name,
static const char *const wjs_stat_names[] = { WJS_STATS(WJS_STAT_NAME) };
#undef WJS_STAT_NAME
enum { WJS_STAT_COUNT = sizeof wjs_stat_names / sizeof wjs_stat_names[0] };
_Static_assert(WJS_STAT_COUNT + WTCP_DROP_COUNT <= WJS_STATS_FIELDS, "ctx->stats is too small for WJS_STATS");

/* The name of counter i (NULL past the named ones: the drops follow, wtcp_drop_name). */
WJS_EXPORT const char *wjs_stat_name(int i)
{
    return i >= 0 && i < WJS_STAT_COUNT ? wjs_stat_names[i] : NULL;
}

/* The counters as doubles, in WJS_STATS' order, then drops by reason. */
WJS_EXPORT int wjs_stats(wjs_ctx *ctx)
{
    wtcp_stats st;
    wtcp_stats_get(ctx->stack, &st);
    double *o = ctx->stats;
    int i = 0;
#define WJS_STAT_VALUE(name, value) o[i++] = (double)(value);
    WJS_STATS(WJS_STAT_VALUE)
#undef WJS_STAT_VALUE
    for (int d = 0; d < WTCP_DROP_COUNT; d++)
        o[i++] = (double)st.drop[d];
    return i;
}
