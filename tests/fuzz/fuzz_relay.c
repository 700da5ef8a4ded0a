/* fuzz_relay.c: libFuzzer target for what the relay takes from its clients and the
 * network (relay/client.c, packet.c, pool.c): WebSocket message fragments (any order of
 * first/final, binary or text, any size; protocol 1 and protocol 2 batches), exec-pipe
 * bytes with their 2-byte framing, and
 * packets from the TUN, for three clients at once with fuzzer-chosen options; and the
 * Sec-WebSocket-Protocol lists of handshakes (relay/subprotocol.c); and what the relay
 * packs for a protocol 2 client (client_v2_pack, checked against its queue). Every packet
 * is either delivered (to the TUN, written to /dev/null, or to a client's queue, drained
 * here) or dropped and counted; nothing is read or written outside its buffer, nothing
 * leaks, no queue passes its bound. */

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay.h"
#include "subprotocol.h"

/* main.c's log goes to stderr; the fuzzer keeps it quiet. */
void relay_log(const char *fmt, ...)
{
    (void)fmt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static relay *r_;

/* The header as lws_hdr_copy gives it to ws.c: at most 511 bytes and a NUL. A token found
 * is a part of the list. */
static void subprotocol_list(const uint8_t *data, size_t len)
{
    char list[512], copy[512], tok[512];
    if (len > sizeof list - 1)
        len = sizeof list - 1;
    memcpy(list, data, len);
    list[len] = 0;
    memcpy(copy, list, len + 1);
    subprotocol_offers(copy, RELAY_WS_PROTOCOL);
    memcpy(copy, list, len + 1);
    subprotocol_offers(copy, RELAY_WS_PROTOCOL_V2);
    memcpy(copy, list, len + 1);
    if (subprotocol_token(copy, RELAY_TOKEN_PROTOCOL, tok, sizeof tok) && !strstr(list, tok))
        abort();
}

static uint8_t take(const uint8_t **d, size_t *n)
{
    if (*n == 0)
        return 0;
    uint8_t b = **d;
    (*d)++;
    (*n)--;
    return b;
}

/* client_v2_pack, as ws.c sends a protocol 2 client what waits for it: one message of
 * whole packets, each after its length, in queue order, up to --max-message, never empty
 * while packets wait, and the next packet would not have fitted. The expected message is
 * built from the queue first (packing frees what it takes). */
static void pack_check(relay *r, client *k)
{
    static uint8_t want[65536 + 64], msg[65536 + 64];
    size_t max = relay_v2_max_message(r);
    if (max > sizeof msg)
        abort();
    size_t w = 0, fit = 0, before = k->outq.count;
    for (const relay_pkt *p = k->outq.head; p && w + 2 + p->len <= max; p = p->next, fit++) {
        want[w] = (uint8_t)(p->len >> 8);
        want[w + 1] = (uint8_t)p->len;
        memcpy(want + w + 2, PKT_DATA(p), p->len);
        w += 2 + (size_t)p->len;
    }
    size_t n = client_v2_pack(k, msg, max);
    if (n != w || memcmp(msg, want, n) != 0 || (before && n == 0) || k->outq.count != before - fit)
        abort();
    if (k->outq.head && n + 2 + k->outq.head->len <= max)
        abort(); /* it would have fitted */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!r_) {
        r_ = calloc(1, sizeof *r_);
        if (!r_)
            abort();
    }
    relay *r = r_;
    memset(r, 0, sizeof *r);
    uint8_t o = take(&data, &size);
    r->o.addr = 0x0a4d0001u; /* 10.77.0.1/16 */
    r->o.prefix = 16;
    r->o.mtu = (o & 1) ? 65535 : 1500;
    r->o.max_message = (o & 2) ? 65535 : 2000;
    r->o.allow_peers = (o & 4) != 0;
    r->o.rate_pps = (o & 8) ? 50 : 0;
    r->o.rate_bytes = (o & 16) ? 20000 : 0;
    r->o.queue = 16;
    r->o.queue_bytes = 32768;
    r->gateway = r->o.addr;
    r->netmask = 0xffff0000u;
    r->tun_fd = open("/dev/null", O_WRONLY);
    if (r->tun_fd < 0 || pool_init(&r->pool, r->o.addr, r->o.prefix, r->o.addr, 4) < 0)
        abort();
    client *c[3];
    for (int i = 0; i < 3; i++)
        if (!(c[i] = client_new(r, i == 2 ? CLIENT_EXEC : CLIENT_WS, "fuzz")))
            abort();
    c[0]->version = 1;
    c[1]->version = (o & 32) ? 2 : 1; /* its messages are batches of length-prefixed packets */
    static uint8_t buf[LWS_PRE + 65536 + 64];
    while (size > 0) {
        uint8_t op = take(&data, &size);
        client *k = c[op % 2]; /* a WebSocket client; the pipe client for pipe bytes */
        size_t len = (size_t)take(&data, &size) << 8 | take(&data, &size);
        if (len > size)
            len = size;
        uint8_t *p = buf + LWS_PRE;
        memcpy(p, data, len);
        /* Mostly a real source address for the client, so the later checks are reached;
         * in a batch, for its first packet, with a length that says so. */
        size_t at = 0;
        if ((op & 0x40) && k->version == 2 && len >= 22 && ((op >> 2) & 7) < 2) {
            p[0] = (uint8_t)((len - 2) >> 8), p[1] = (uint8_t)(len - 2);
            at = 2;
        }
        uint8_t *ip = p + at;
        size_t iplen = len - at;
        if ((op & 0x40) && iplen >= 20) {
            ip[12] = (uint8_t)(k->addr >> 24), ip[13] = (uint8_t)(k->addr >> 16);
            ip[14] = (uint8_t)(k->addr >> 8), ip[15] = (uint8_t)k->addr;
            if (op & 0x80) { /* and a right length and checksum */
                ip[2] = (uint8_t)(iplen >> 8), ip[3] = (uint8_t)iplen;
                ip[10] = ip[11] = 0;
                size_t ihl = (size_t)(ip[0] & 15) * 4;
                if (ihl >= 20 && ihl <= iplen) {
                    uint16_t s = ipv4_checksum(ip, ihl);
                    ip[10] = (uint8_t)(s >> 8), ip[11] = (uint8_t)s;
                }
            }
        }
        switch ((op >> 2) & 7) {
        case 0: case 1: /* a WebSocket fragment: first/final/binary from the op byte */
            if (client_ws_fragment(k, p, len, (op >> 5) & 1, op & 1 || len < 8, !((op >> 4) & 1) || op & 0x80) < 0)
                k->rx_len = k->rx_total = 0; /* the relay would close it */
            break;
        case 2: case 3:
            client_pipe_bytes(c[2], p, len); /* only an exec client's bytes are framed so */
            break;
        case 4: case 5: {
            /* From the network, to one of the clients. */
            if (len >= 20) {
                p[16] = (uint8_t)(k->addr >> 24), p[17] = (uint8_t)(k->addr >> 16);
                p[18] = (uint8_t)(k->addr >> 8), p[19] = (uint8_t)k->addr;
            }
            client_from_network(r, p, len);
            break;
        }
        case 6: { /* the client reads its queue: version 2 packs it into messages first */
            if (k->version == 2)
                pack_check(r, k);
            relay_pkt *q;
            while ((q = pktq_pop(&k->outq)))
                free(q);
            break;
        }
        default: /* a Sec-WebSocket-Protocol list, as the handshake reads it (ws.c) */
            subprotocol_list(data, len);
            break;
        }
        for (int i = 0; i < 3; i++)
            if (c[i]->outq.count > r->o.queue || c[i]->outq.bytes > r->o.queue_bytes + r->o.mtu)
                abort(); /* a queue past its bound */
        data += len;
        size -= len;
    }
    for (int i = 0; i < 3; i++)
        client_free(c[i], "fuzz");
    pool_destroy(&r->pool);
    close(r->tun_fd);
    return 0;
}
