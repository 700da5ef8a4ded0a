/* fuzz_segments.c: libFuzzer target for sequences of segments against an established
 * connection. The input drives a peer that keeps track of the stack's sequence numbers
 * (from the packets the stack sends) and mutates valid segments: flags, sequence and
 * acknowledgment numbers near the window's edges, SACK blocks over what the stack sent,
 * timestamps, lengths; interleaved with the application's reads, writes, shutdowns and
 * closes and with the clock, so that recovery, zero windows, the FIN states, TIME-WAIT and
 * the out-of-order queue are reached. After each step: memory within bounds; at the end,
 * every block freed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wire/wire.h"
#include "wtcp.h"

#define LOCAL 0xc0a80001u  /* 192.168.0.1, the stack */
#define REMOTE 0xc0000201u /* 192.0.2.1, the fuzzer's peer */

typedef struct peer {
    uint32_t nxt;             /* the peer's next sequence number */
    uint32_t b_iss, b_max;    /* the stack's ISN and the highest sequence it sent (+1) */
    uint32_t b_ack;           /* the last ACK number the stack sent */
    uint32_t b_ts;            /* the stack's last TS value */
    uint32_t ts;              /* the peer's clock */
    int ts_ok, synack_seen;
    uint16_t sport;
    uint64_t now;
} peer;

static peer P;

static void out(void *user, const uint8_t *pkt, size_t len)
{
    (void)user;
    wire_ipv4 ip;
    wire_tcp t;
    if (wire_ipv4_parse(pkt, len, &ip) != WIRE_OK || ip.proto != WIRE_PROTO_TCP ||
        wire_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, 1, &t) != WIRE_OK)
        abort(); /* the stack must only send well-formed packets */
    if (t.dport != P.sport)
        return;
    uint32_t end = t.seq + (uint32_t)t.payload_len + ((t.flags & WIRE_TCP_SYN) ? 1 : 0) +
                   ((t.flags & WIRE_TCP_FIN) ? 1 : 0);
    if ((t.flags & (WIRE_TCP_SYN | WIRE_TCP_ACK)) == (WIRE_TCP_SYN | WIRE_TCP_ACK)) {
        P.b_iss = t.seq;
        P.b_max = end;
        P.synack_seen = 1;
    } else if (P.synack_seen && (int32_t)(end - P.b_max) > 0) {
        P.b_max = end;
    }
    if (t.flags & WIRE_TCP_ACK)
        P.b_ack = t.ack;
    if (t.opt.has_ts)
        P.b_ts = t.opt.ts_val;
}

static wtcp_stack *ST;

/* Sends one segment from the peer. */
static void send_seg(uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win, size_t len,
                     const uint32_t (*sack)[2], int nsack, int ts_delta, int with_ts)
{
    static uint8_t buf[1600];
    wire_tcp h;
    memset(&h, 0, sizeof h);
    h.sport = P.sport;
    h.dport = 80;
    h.seq = seq;
    h.ack = ack;
    h.flags = flags;
    h.win = win;
    if (with_ts) {
        h.opt.has_ts = 1;
        h.opt.ts_val = P.ts + (uint32_t)ts_delta;
        h.opt.ts_ecr = P.b_ts;
    }
    for (int i = 0; i < nsack && i < (with_ts ? 3 : 4); i++) {
        h.opt.sack[i][0] = sack[i][0];
        h.opt.sack[i][1] = sack[i][1];
        h.opt.sack_count++;
    }
    uint8_t *l4 = buf + WIRE_IPV4_HDR;
    size_t hl = wire_tcp_emit(l4, &h);
    if (len > sizeof buf - WIRE_IPV4_HDR - hl)
        len = sizeof buf - WIRE_IPV4_HDR - hl;
    for (size_t i = 0; i < len; i++)
        l4[hl + i] = (uint8_t)(seq + i);
    wire_l4_checksum(l4, hl + len, REMOTE, LOCAL, WIRE_PROTO_TCP);
    wire_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.total_len = (uint16_t)(WIRE_IPV4_HDR + hl + len);
    ip.frag = WIRE_IP_DF;
    ip.ttl = 64;
    ip.proto = WIRE_PROTO_TCP;
    ip.src = REMOTE;
    ip.dst = LOCAL;
    wire_ipv4_emit(buf, &ip);
    wtcp_input(ST, P.now, buf, ip.total_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    memset(&P, 0, sizeof P);
    P.now = 1000;
    P.sport = 40000;
    P.ts = 5000;
    harness_alloc_stats mem;
    memset(&mem, 0, sizeof mem);
    wtcp_config cfg;
    wtcp_config_init(&cfg);
    cfg.addr = LOCAL;
    cfg.output = out;
    cfg.alloc = harness_count_alloc;
    cfg.alloc_user = &mem;
    cfg.max_sockets = 8;
    cfg.sndbuf = 16384;
    cfg.rcvbuf = 8192;
    cfg.rcvbuf_max = 65536;
    cfg.max_time_wait = 4;
    cfg.time_wait_ms = 5000;
    uint8_t setup = data[0];
    if (wtcp_stack_new(&cfg, &ST) != 0)
        abort();
    int l = wtcp_socket(ST, WTCP_SOCK_STREAM);
    wtcp_bind(ST, l, 0, 80);
    wtcp_listen(ST, l, 2);
    /* The handshake, with options from the first byte. */
    P.ts_ok = (setup & 1) != 0;
    wire_tcp syn;
    memset(&syn, 0, sizeof syn);
    uint32_t isn = 0x10000000u * (setup >> 4);
    static uint8_t buf[1600];
    {
        wire_tcp h;
        memset(&h, 0, sizeof h);
        h.sport = P.sport;
        h.dport = 80;
        h.seq = isn;
        h.flags = WIRE_TCP_SYN;
        h.win = 65535;
        h.opt.has_mss = 1;
        h.opt.mss = (setup & 8) ? 536 : 1460;
        h.opt.sack_ok = (setup & 2) != 0;
        h.opt.has_wscale = (setup & 4) != 0;
        h.opt.wscale = 7;
        if (P.ts_ok) {
            h.opt.has_ts = 1;
            h.opt.ts_val = P.ts;
        }
        uint8_t *l4 = buf + WIRE_IPV4_HDR;
        size_t hl = wire_tcp_emit(l4, &h);
        wire_l4_checksum(l4, hl, REMOTE, LOCAL, WIRE_PROTO_TCP);
        wire_ipv4 ip;
        memset(&ip, 0, sizeof ip);
        ip.total_len = (uint16_t)(WIRE_IPV4_HDR + hl);
        ip.ttl = 64;
        ip.proto = WIRE_PROTO_TCP;
        ip.src = REMOTE;
        ip.dst = LOCAL;
        wire_ipv4_emit(buf, &ip);
        wtcp_input(ST, P.now, buf, ip.total_len);
    }
    if (!P.synack_seen)
        abort();
    P.nxt = isn + 1;
    send_seg(P.nxt, P.b_max, WIRE_TCP_ACK, 1000, 0, NULL, 0, 1, P.ts_ok);
    int c = wtcp_accept(ST, l, NULL, NULL);
    uint8_t rbuf[4096], wbuf[4096];
    memset(wbuf, 'w', sizeof wbuf);
    size_t off = 1;
    while (off + 4 <= size) {
        uint8_t op = data[off], a = data[off + 1], b = data[off + 2], d = data[off + 3];
        off += 4;
        uint32_t una_lo = P.b_iss + 1, span = P.b_max - una_lo;
        switch (op & 7) {
        case 0: case 1: case 2: case 3: { /* a segment */
            int32_t dseq = (int8_t)a;
            uint32_t seq = P.nxt + (uint32_t)(dseq * ((op & 8) ? 1460 : 1));
            size_t len = (size_t)(b & 0x3f) * ((op & 16) ? 24 : 1);
            uint8_t flags = WIRE_TCP_ACK;
            if (d & 1) flags |= WIRE_TCP_PSH;
            if ((d & 0x0e) == 0x02) flags |= WIRE_TCP_FIN;
            if ((d & 0x0e) == 0x04) flags |= WIRE_TCP_RST;
            if ((d & 0x0e) == 0x06) flags |= WIRE_TCP_SYN;
            if ((d & 0x30) == 0x30) flags &= (uint8_t)~WIRE_TCP_ACK;
            /* The acknowledgment: somewhere in what the stack sent, or just outside. */
            uint32_t ack = span ? una_lo + (uint32_t)((b >> 6) == 3 ? span : (uint32_t)d * 613u % (span + 1)) : una_lo;
            if ((op & 0x60) == 0x60)
                ack += (uint32_t)(int8_t)d * 1000u;
            uint32_t sack[3][2];
            int ns = 0;
            if ((op & 0x80) && span > 1) {
                for (int i = 0; i < 1 + (a & 1) + (b >> 7); i++) {
                    uint32_t s = una_lo + (uint32_t)((d * 7919u + (uint32_t)i * 1237u) % span);
                    uint32_t e = s + 1 + (uint32_t)((a * 31u + (uint32_t)i) % (span - (s - una_lo)));
                    sack[ns][0] = s;
                    sack[ns][1] = e;
                    ns++;
                }
            }
            uint16_t win = (op & 0x20) ? (uint16_t)(d & 3) : (uint16_t)(1000 + d * 50);
            int tsd = (d & 0x40) ? -(int)(a & 7) : (int)(a & 3);
            send_seg(seq, ack, flags, win, len, (const uint32_t (*)[2])sack, ns, tsd, P.ts_ok && !((op & 0x18) == 0x18));
            if (seq == P.nxt && len && !(flags & (WIRE_TCP_RST | WIRE_TCP_SYN)))
                P.nxt += (uint32_t)len + ((flags & WIRE_TCP_FIN) ? 1 : 0);
            if (!(d & 0x40))
                P.ts += 1;
            break;
        }
        case 4: /* the application writes */
            if (c > 0)
                wtcp_send(ST, c, wbuf, ((size_t)a * 16 + b) % sizeof wbuf);
            break;
        case 5: /* ... reads (or not) */
            if (c > 0 && !(a & 1))
                while (wtcp_recv(ST, c, rbuf, (size_t)b * 16 + 1) > 0) {
                }
            break;
        case 6: /* time passes */
            P.now += (uint64_t)a * ((b & 1) ? 100 : 1);
            P.ts += (uint32_t)a;
            break;
        default: /* shutdown, close, abort, or a new connection */
            if (c > 0) {
                if ((a & 3) == 0)
                    wtcp_shutdown(ST, c, WTCP_SHUT_WR);
                else if ((a & 3) == 1) {
                    wtcp_close(ST, c);
                    c = -1;
                } else if ((a & 3) == 2 && (b & 1)) {
                    wtcp_abort(ST, c);
                    c = -1;
                }
            }
            break;
        }
        wtcp_poll(ST, P.now);
        wtcp_event ev;
        while (wtcp_next_event(ST, &ev)) {
        }
        if (c > 0) {
            wtcp_info in;
            if (wtcp_info_get(ST, c, &in) == 0 && (in.rcv_buf_used > cfg.rcvbuf_max || in.snd_buf_used > 65536))
                abort();
        }
        if (mem.live_bytes > 4u * 1024 * 1024)
            abort(); /* one connection holds far more than its buffers */
    }
    /* Every timer runs out: retransmissions, TIME-WAIT, keepalive, buffer release. */
    for (int i = 0; i < 200; i++) {
        uint64_t next = wtcp_poll(ST, P.now);
        if (next == WTCP_NEVER)
            break;
        P.now = next > P.now ? next : P.now + 1;
    }
    if (c > 0)
        wtcp_close(ST, c);
    wtcp_close(ST, l);
    wtcp_stack_free(ST);
    ST = NULL;
    if (mem.live_blocks != 0)
        abort(); /* the stack leaked memory */
    return 0;
}
