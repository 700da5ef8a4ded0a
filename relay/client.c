/* client.c: clients of the relay (WebSocket or exec pipe): addresses, the checks on every packet, routing by destination, rate limits, queues. */
#include "relay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- packets and queues */

relay_pkt *pkt_new(const uint8_t *data, size_t len)
{
    relay_pkt *p = malloc(sizeof *p + LWS_PRE + len);
    if (!p)
        return NULL;
    p->next = NULL;
    p->due_us = 0;
    p->len = (uint32_t)len;
    p->sent = 0;
    memcpy(PKT_DATA(p), data, len);
    return p;
}

void pktq_push(relay_pktq *q, relay_pkt *p)
{
    p->next = NULL;
    if (q->tail)
        q->tail->next = p;
    else
        q->head = p;
    q->tail = p;
    q->count++;
    q->bytes += p->len;
}

/* Whether p would overflow a client's queue (--queue packets, --queue-bytes bytes). */
int pktq_full(const relay *r, const relay_pktq *q, const relay_pkt *p)
{
    return q->count >= r->o.queue || q->bytes + p->len > r->o.queue_bytes;
}

relay_pkt *pktq_pop(relay_pktq *q)
{
    relay_pkt *p = q->head;
    if (!p)
        return NULL;
    q->head = p->next;
    if (!q->head)
        q->tail = NULL;
    q->count--;
    q->bytes -= p->len;
    p->next = NULL;
    return p;
}

void pktq_free(relay_pktq *q)
{
    relay_pkt *p;
    while ((p = pktq_pop(q)))
        free(p);
}

/* ---------------------------------------------------------------- clients */

client *client_new(relay *r, int kind, const char *peer)
{
    client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->rx = malloc(r->o.mtu);
    if (!c->rx) {
        free(c);
        return NULL;
    }
    c->addr = pool_take(&r->pool, c);
    if (!c->addr) {
        free(c->rx);
        free(c);
        return NULL;
    }
    c->r = r;
    c->kind = kind;
    ipv4_format(c->addr, c->addr_s);
    snprintf(c->peer, sizeof c->peer, "%s", peer ? peer : "-");
    c->since_us = lws_now_usecs();
    for (int d = 0; d < DIR_COUNT; d++) {
        c->line[d].c = c;
        c->line[d].dir = d;
    }
    c->next = r->clients;
    if (r->clients)
        r->clients->prev = c;
    r->clients = c;
    r->nclients[kind]++;
    r->st.connections[kind]++;
    return c;
}

void client_free(client *c, const char *why)
{
    relay *r = c->r;
    char code[16] = "-";
    if (c->peer_close_code)
        snprintf(code, sizeof code, "%u", c->peer_close_code);
    relay_log("close client=%s kind=%s peer=%s reason=%s peer_code=%s seconds=%.1f up_packets=%llu "
              "up_bytes=%llu down_packets=%llu down_bytes=%llu drops=%llu",
              c->addr_s, relay_kind_name(c->kind), c->peer, why ? why : "closed", code,
              (double)(lws_now_usecs() - c->since_us) / 1e6,
              (unsigned long long)c->packets[DIR_UP], (unsigned long long)c->bytes[DIR_UP],
              (unsigned long long)c->packets[DIR_DOWN], (unsigned long long)c->bytes[DIR_DOWN],
              (unsigned long long)c->drops);
    pool_release(&r->pool, c->addr);
    fault_cancel(c);
    pktq_free(&c->outq);
    free(c->rx);
    if (c->prev)
        c->prev->next = c->next;
    else
        r->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    r->nclients[c->kind]--;
    if (r->exec_client == c)
        r->exec_client = NULL;
    free(c);
}

void client_drop(relay *r, client *c, int dir, enum relay_drop why)
{
    r->st.drops[dir][why]++;
    if (!c)
        return;
    c->drops++;
    /* One line for the first drop of each reason per client; the counters have the rest. */
    if (!(c->drop_seen & (1u << why)) || r->o.verbose) {
        c->drop_seen |= 1u << why;
        relay_log("drop client=%s direction=%s reason=%s%s", c->addr_s, dir == DIR_UP ? "up" : "down",
                  relay_drop_name(why), r->o.verbose ? "" : " (further drops of this kind are only counted)");
    }
}

void client_want_write(client *c)
{
    if (c->kind == CLIENT_WS && c->wsi)
        lws_callback_on_writable(c->wsi);
    else if (c->kind == CLIENT_EXEC && c->in_wsi)
        lws_callback_on_writable(c->in_wsi);
}

/* Token buckets of one second's worth (at least one MTU for bytes); policing, not
 * shaping: what does not fit is dropped. */
static int rate_ok(relay *r, client *c, int dir, size_t len)
{
    if (!r->o.rate_pps && !r->o.rate_bytes)
        return 1;
    relay_bucket *b = &c->bucket[dir];
    double cap_p = (double)r->o.rate_pps;
    double cap_b = (double)(r->o.rate_bytes > r->o.mtu ? r->o.rate_bytes : r->o.mtu);
    int64_t now = lws_now_usecs();
    if (!b->last_us) {
        b->pkts = cap_p;
        b->bytes = cap_b;
        b->last_us = now;
    }
    double dt = (double)(now - b->last_us) / 1e6;
    b->last_us = now;
    if (r->o.rate_pps) {
        b->pkts += dt * (double)r->o.rate_pps;
        if (b->pkts > cap_p)
            b->pkts = cap_p;
        if (b->pkts < 1)
            return 0;
    }
    if (r->o.rate_bytes) {
        b->bytes += dt * (double)r->o.rate_bytes;
        if (b->bytes > cap_b)
            b->bytes = cap_b;
        if (b->bytes < (double)len)
            return 0;
    }
    b->pkts -= 1;
    b->bytes -= (double)len;
    return 1;
}

static int in_subnet(const relay *r, uint32_t a)
{
    return (a & r->netmask) == (r->gateway & r->netmask);
}

/* A message or frame from a client, complete. */
void client_from_client(client *c, const uint8_t *p, size_t len, int binary)
{
    relay *r = c->r;
    if (!binary) {
        client_drop(r, c, DIR_UP, DROP_NOT_BINARY);
        return;
    }
    if (len > r->o.mtu) {
        client_drop(r, c, DIR_UP, DROP_TOO_BIG);
        return;
    }
    enum relay_drop why = ipv4_check(p, len);
    if (why != DROP_NONE) {
        client_drop(r, c, DIR_UP, why);
        return;
    }
    if (ipv4_src(p) != c->addr) {
        client_drop(r, c, DIR_UP, DROP_SPOOFED);
        return;
    }
    uint32_t dst = ipv4_dst(p);
    if (in_subnet(r, dst) && dst != r->gateway) {
        if (!r->o.allow_peers) {
            client_drop(r, c, DIR_UP, DROP_PEER);
            return;
        }
        if (!pool_find(&r->pool, dst)) {
            client_drop(r, c, DIR_UP, DROP_NO_ROUTE);
            return;
        }
    }
    if (!rate_ok(r, c, DIR_UP, len)) {
        client_drop(r, c, DIR_UP, DROP_RATE_LIMIT);
        return;
    }
    relay_pkt *pkt = pkt_new(p, len);
    if (!pkt) {
        client_drop(r, c, DIR_UP, DROP_QUEUE_FULL);
        return;
    }
    fault_submit(c, DIR_UP, pkt);
}

/* A packet read from the TUN (p has LWS_PRE bytes of headroom before it). */
void client_from_network(relay *r, uint8_t *p, size_t len)
{
    enum relay_drop why = ipv4_check(p, len);
    if (why != DROP_NONE) {
        client_drop(r, NULL, DIR_DOWN, why);
        return;
    }
    client *c = pool_find(&r->pool, ipv4_dst(p));
    if (!c) {
        client_drop(r, NULL, DIR_DOWN, DROP_NO_ROUTE);
        return;
    }
    if (len > r->o.mtu) {
        client_drop(r, c, DIR_DOWN, DROP_TOO_BIG);
        return;
    }
    /* Client to client through the kernel's forwarding: isolation holds there too. */
    uint32_t src = ipv4_src(p);
    if (!r->o.allow_peers && in_subnet(r, src) && src != r->gateway) {
        client_drop(r, c, DIR_DOWN, DROP_PEER);
        return;
    }
    if (!rate_ok(r, c, DIR_DOWN, len)) {
        client_drop(r, c, DIR_DOWN, DROP_RATE_LIMIT);
        return;
    }
    relay_pkt *pkt = pkt_new(p, len);
    if (!pkt) {
        client_drop(r, c, DIR_DOWN, DROP_QUEUE_FULL);
        return;
    }
    fault_submit(c, DIR_DOWN, pkt);
}

/* Length-prefixed packets (2 bytes big-endian, then the packet), as exec pipes and v2
 * WebSocket messages carry them, read as their bytes arrive in any pieces. A packet over
 * the MTU is skipped and counted; a zero length is counted too, and then: a pipe goes on
 * with the next length, a v2 message (zero_breaks) drops the rest of itself. */
static void frames_bytes(client *c, const uint8_t *b, size_t n, int zero_breaks)
{
    relay *r = c->r;
    size_t off = 0;
    while (off < n && !c->rx_bad) {
        if (c->hdr_have < 2) {
            c->hdr[c->hdr_have++] = b[off++];
            if (c->hdr_have == 2) {
                c->frame_len = (size_t)c->hdr[0] << 8 | c->hdr[1];
                c->rx_total = 0;
                if (c->frame_len == 0) {
                    client_drop(r, c, DIR_UP, zero_breaks ? DROP_BAD_BATCH : DROP_MALFORMED);
                    c->hdr_have = 0;
                    c->rx_bad = zero_breaks;
                }
            }
            continue;
        }
        size_t take = c->frame_len - c->rx_total;
        if (take > n - off)
            take = n - off;
        if (c->frame_len <= r->o.mtu)
            memcpy(c->rx + c->rx_total, b + off, take);
        c->rx_total += take;
        off += take;
        if (c->rx_total == c->frame_len) {
            c->hdr_have = 0;
            if (c->frame_len > r->o.mtu)
                client_drop(r, c, DIR_UP, DROP_TOO_BIG);
            else
                client_from_client(c, c->rx, c->frame_len, 1);
        }
    }
}

/* A v2 binary message's fragment. At the message's end a packet or length left
 * unfinished was cut short by it: counted, and an empty message is counted too. */
static void v2_fragment(client *c, const uint8_t *in, size_t len, int first, int final)
{
    if (first) {
        c->hdr_have = 0;
        c->rx_total = 0;
        c->rx_bad = 0;
    }
    frames_bytes(c, in, len, 1);
    if (final) {
        if (!c->rx_bad && (c->hdr_have || c->rx_len == 0))
            client_drop(c->r, c, DIR_UP, DROP_BAD_BATCH);
        c->hdr_have = 0;
        c->rx_bad = 0;
    }
}

/* One fragment of a WebSocket message (lws gives them in order). Version 1: the message
 * is assembled in c->rx up to the MTU, and handed on when the final fragment arrives; a
 * binary message longer than the MTU is dropped (counted) without being kept. Version 2:
 * each packet in it is handed on as soon as it is complete (v2_fragment). Returns -1 when
 * the message passes --max-message (the caller closes the connection with 1009). */
int client_ws_fragment(client *c, const uint8_t *in, size_t len, int first, int final, int binary)
{
    relay *r = c->r;
    if (first) {
        c->rx_len = 0;
        c->rx_total = 0;
        c->rx_binary = binary;
        c->rx_dropping = 0;
    }
    if (c->version == 2 && c->rx_binary) {
        /* rx_len counts the message's bytes here; rx_total is the packet's (frames_bytes). */
        c->rx_len += len;
        if (c->rx_len > relay_v2_max_message(r))
            return -1;
        v2_fragment(c, in, len, first, final);
        if (final)
            r->st.messages[DIR_UP]++;
        return 0;
    }
    c->rx_total += len;
    if (c->rx_total > r->o.max_message)
        return -1;
    if (c->rx_binary && !c->rx_dropping) {
        if (c->rx_len + len > r->o.mtu) {
            c->rx_dropping = 1;
        } else if (len) {
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
    }
    if (final) {
        if (!c->rx_binary) {
            client_from_client(c, NULL, c->rx_total, 0);
        } else {
            r->st.messages[DIR_UP]++;
            if (c->rx_dropping)
                client_drop(r, c, DIR_UP, DROP_TOO_BIG);
            else
                client_from_client(c, c->rx, c->rx_len, 1);
        }
    }
    return 0;
}

/* Frames from the child's stdout: 2-byte length, then that many bytes. A frame that is
 * not a good packet is dropped and counted; the framing itself cannot break. */
void client_pipe_bytes(client *c, const uint8_t *b, size_t n)
{
    frames_bytes(c, b, n, 0);
}

static void enqueue_down(client *c, relay_pkt *p)
{
    relay *r = c->r;
    if (c->closing || pktq_full(r, &c->outq, p)) {
        client_drop(r, c, DIR_DOWN, DROP_QUEUE_FULL);
        free(p);
        return;
    }
    pktq_push(&c->outq, p);
    client_want_write(c);
}

/* A packet leaves the fault-injection stage (or skips it). */
void client_emit(client *c, int dir, relay_pkt *p)
{
    relay *r = c->r;
    if (dir == DIR_DOWN) {
        enqueue_down(c, p);
        return;
    }
    uint32_t dst = ipv4_dst(PKT_DATA(p));
    if (in_subnet(r, dst) && dst != r->gateway) {
        client *peer = pool_find(&r->pool, dst); /* it may have left while p waited */
        if (!peer) {
            client_drop(r, c, DIR_UP, DROP_NO_ROUTE);
            free(p);
            return;
        }
        c->packets[DIR_UP]++;
        c->bytes[DIR_UP] += p->len;
        r->st.packets[DIR_UP]++;
        r->st.bytes[DIR_UP] += p->len;
        enqueue_down(peer, p);
        return;
    }
    ssize_t n = write(r->tun_fd, PKT_DATA(p), p->len);
    if (n != (ssize_t)p->len) {
        client_drop(r, c, DIR_UP, DROP_WRITE_ERROR);
        if (n < 0 && r->o.verbose)
            relay_log("warning client=%s msg=\"TUN write: %s\"", c->addr_s, strerror(errno));
    } else {
        c->packets[DIR_UP]++;
        c->bytes[DIR_UP] += p->len;
        r->st.packets[DIR_UP]++;
        r->st.bytes[DIR_UP] += p->len;
    }
    free(p);
}

size_t relay_v2_max_message(const relay *r)
{
    return r->o.max_message >= r->o.mtu + 2 ? r->o.max_message : r->o.mtu + 2;
}

size_t relay_config_json(const relay *r, const client *c, char *out, size_t cap)
{
    char gw[16], dns_s[16], dns[32] = "";
    int n;
    if (r->o.dns) /* a resolver for the client's guests (--dns) */
        snprintf(dns, sizeof dns, ",\"dns\":\"%s\"", ipv4_format(r->o.dns, dns_s));
    if (c->version == 2) /* and the largest message either side may send */
        n = snprintf(out, cap,
                     "{\"version\":2,\"address\":\"%s\",\"prefix\":%u,\"gateway\":\"%s\",\"mtu\":%u%s,\"max_message\":%zu}",
                     c->addr_s, r->o.prefix, ipv4_format(r->gateway, gw), r->o.mtu, dns, relay_v2_max_message(r));
    else
        n = snprintf(out, cap, "{\"version\":1,\"address\":\"%s\",\"prefix\":%u,\"gateway\":\"%s\",\"mtu\":%u%s}",
                     c->addr_s, r->o.prefix, ipv4_format(r->gateway, gw), r->o.mtu, dns);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* A packet that left for the client: the client's and the relay's counters, down. */
void client_count_down(client *c, uint32_t len)
{
    c->packets[DIR_DOWN]++;
    c->bytes[DIR_DOWN] += len;
    c->r->st.packets[DIR_DOWN]++;
    c->r->st.bytes[DIR_DOWN] += len;
}

/* Version 2, down: as many queued packets as fit in max bytes, each after its 2-byte
 * length, taken off the queue into msg and counted. Returns the message's length: 0 only
 * when the queue is empty (a packet is at most the MTU, and max at least MTU + 2). */
size_t client_v2_pack(client *c, uint8_t *msg, size_t max)
{
    size_t n = 0;
    relay_pkt *p;
    while ((p = c->outq.head) && n + 2 + p->len <= max) {
        p = pktq_pop(&c->outq);
        msg[n] = (uint8_t)(p->len >> 8);
        msg[n + 1] = (uint8_t)p->len;
        memcpy(msg + n + 2, PKT_DATA(p), p->len);
        n += 2 + (size_t)p->len;
        client_count_down(c, p->len);
        free(p);
    }
    return n;
}
