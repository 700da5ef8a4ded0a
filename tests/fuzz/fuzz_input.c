/* fuzz_input.c: libFuzzer target for the whole input path (IPv4, ICMP, UDP, TCP state
 * machine) of a stack with a listener, a UDP socket and an application that reads and
 * writes. Checksums are fixed up for most packets so the fuzzer reaches TCP logic.
 *
 * The stack comes from the shared test harness (tests/harness/): its counting allocator
 * turns a leak into a crash at the end of the input; what the stack sends goes to
 * addresses no stack has, so the harness drops it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wire/wire.h"
#include "wtcp.h"

#define LOCAL 0xc0a80001u  /* 192.168.0.1 */
#define REMOTE 0xc0000201u /* 192.0.2.1 */

/* Makes the fuzzer's bytes a plausible packet: our addresses, right lengths and
 * checksums, unless the control byte asks for the raw bytes. */
static size_t shape(uint8_t *pkt, size_t len, uint8_t ctl)
{
    if ((ctl & 3) == 0 || len < 20)
        return len; /* raw: exercise the validators */
    pkt[0] = (uint8_t)(0x40 | (pkt[0] & 0x0f));
    if ((pkt[0] & 0x0f) < 5)
        pkt[0] = 0x45;
    size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
    if (ihl > len)
        return len;
    wire_put16(pkt + 2, (uint16_t)len);
    wire_put32(pkt + 12, REMOTE);
    wire_put32(pkt + 16, LOCAL);
    pkt[6] &= 0x40; /* keep DF, no fragments */
    pkt[7] = 0;
    if (ctl & 4)
        pkt[9] = WIRE_PROTO_TCP;
    wire_put16(pkt + 10, 0);
    wire_put16(pkt + 10, wire_fold(wire_sum(pkt, ihl, 0)));
    uint8_t *l4 = pkt + ihl;
    size_t l4len = len - ihl;
    if (pkt[9] == WIRE_PROTO_TCP && l4len >= 20) {
        if (ctl & 8)
            wire_put16(l4 + 2, 8080); /* our listener */
        wire_l4_checksum(l4, l4len, REMOTE, LOCAL, WIRE_PROTO_TCP);
    } else if (pkt[9] == WIRE_PROTO_UDP && l4len >= 8) {
        wire_put16(l4 + 4, (uint16_t)l4len);
        wire_l4_checksum(l4, l4len, REMOTE, LOCAL, WIRE_PROTO_UDP);
    } else if (pkt[9] == WIRE_PROTO_ICMP && l4len >= 8) {
        wire_put16(l4 + 2, 0);
        wire_put16(l4 + 2, wire_fold(wire_sum(l4, l4len, 0)));
    }
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    harness *h = harness_new(1000);
    if (!h)
        abort();
    wtcp_config cfg;
    wtcp_config_init(&cfg);
    cfg.addr = LOCAL;
    cfg.max_sockets = 16;
    cfg.sndbuf = cfg.rcvbuf = 4096;
    cfg.rcvbuf_max = 65536;
    if (harness_add_stack(h, &cfg) != 0)
        abort();
    wtcp_stack *st = h->node[0].st;
    int l = wtcp_socket(st, WTCP_SOCK_STREAM);
    wtcp_bind(st, l, 0, 8080);
    wtcp_listen(st, l, 4);
    int u = wtcp_socket(st, WTCP_SOCK_DGRAM);
    wtcp_bind(st, u, 0, 53);
    int c = wtcp_socket(st, WTCP_SOCK_STREAM);
    wtcp_connect(st, c, REMOTE, 8080);
    int conns[8];
    int nconns = 0;
    static uint8_t pkt[2048], buf[2048];
    /* Input: records of [ctl][len][bytes...]. */
    size_t off = 0;
    while (off + 2 <= size) {
        uint8_t ctl = data[off];
        size_t len = data[off + 1] * 8u + (ctl >> 5);
        off += 2;
        if (len > size - off)
            len = size - off;
        memcpy(pkt, data + off, len);
        off += len;
        len = shape(pkt, len, ctl);
        wtcp_input(st, h->now, pkt, len);
        harness_advance(h, h->now + ((ctl & 16) ? 250 : 1));
        harness_poll(h);
        int a = wtcp_accept(st, l, NULL, NULL);
        if (a > 0 && nconns < 8)
            conns[nconns++] = a;
        for (int i = 0; i < nconns; i++) {
            while (wtcp_recv(st, conns[i], buf, sizeof buf) > 0) {
            }
            if (ctl & 32)
                wtcp_send(st, conns[i], buf, (size_t)(ctl & 0x7f) * 16);
            if ((ctl & 0xc0) == 0xc0 && i == 0)
                wtcp_shutdown(st, conns[i], WTCP_SHUT_WR);
        }
        while (wtcp_recvfrom(st, u, buf, sizeof buf, NULL, NULL) >= 0) {
        }
        wtcp_event ev;
        while (wtcp_next_event(st, &ev)) {
        }
        harness_poll(h);
    }
    /* Let every timer run out: retransmissions, TIME-WAIT, keepalive. */
    for (int i = 0; i < 64; i++) {
        uint64_t next = harness_poll(h);
        if (next == WTCP_NEVER)
            break;
        harness_advance(h, next);
    }
    for (int i = 0; i < nconns; i++)
        wtcp_close(st, conns[i]);
    wtcp_close(st, c);
    if (harness_free(h) != 0)
        abort(); /* the stack leaked memory */
    return 0;
}
