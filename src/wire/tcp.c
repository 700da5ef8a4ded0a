/* tcp.c: checked parsing and emission of the TCP header and options (RFC 9293 section 3.1, MSS RFC 6691, window scale and timestamps RFC 7323, SACK RFC 2018). */
#include "wire.h"

enum {
    OPT_EOL = 0, OPT_NOP = 1, OPT_MSS = 2, OPT_WSCALE = 3, OPT_SACK_OK = 4,
    OPT_SACK = 5, OPT_TS = 8,
    OPT_MSS_LEN = 4, OPT_WSCALE_LEN = 3, OPT_SACK_OK_LEN = 2, OPT_TS_LEN = 10,
    OPT_SACK_BASE = 2, OPT_SACK_BLOCK = 8,
    OPT_SPACE = 40 /* data offset is 4 bits: at most 60 header bytes */
};

static int parse_options(const uint8_t *p, size_t n, wire_tcp_opts *o)
{
    size_t i = 0;
    while (i < n) {
        uint8_t kind = p[i];
        if (kind == OPT_EOL)
            break;
        if (kind == OPT_NOP) {
            i++;
            continue;
        }
        if (n - i < 2)
            return WTCP_DROP_TCP_MALFORMED;
        size_t olen = p[i + 1];
        if (olen < 2 || olen > n - i)
            return WTCP_DROP_TCP_MALFORMED;
        const uint8_t *v = p + i + 2;
        /* A known option with the wrong length is ignored, as Linux does. */
        switch (kind) {
        case OPT_MSS:
            if (olen == OPT_MSS_LEN) {
                o->has_mss = 1;
                o->mss = wire_get16(v);
            }
            break;
        case OPT_WSCALE:
            if (olen == OPT_WSCALE_LEN) {
                o->has_wscale = 1;
                o->wscale = v[0];
            }
            break;
        case OPT_SACK_OK:
            if (olen == OPT_SACK_OK_LEN)
                o->sack_ok = 1;
            break;
        case OPT_SACK:
            if (olen >= OPT_SACK_BASE + OPT_SACK_BLOCK &&
                (olen - OPT_SACK_BASE) % OPT_SACK_BLOCK == 0 &&
                (olen - OPT_SACK_BASE) / OPT_SACK_BLOCK <= WIRE_TCP_MAX_SACK) {
                size_t count = (olen - OPT_SACK_BASE) / OPT_SACK_BLOCK;
                for (size_t b = 0; b < count; b++) {
                    o->sack[b][0] = wire_get32(v + b * OPT_SACK_BLOCK);
                    o->sack[b][1] = wire_get32(v + b * OPT_SACK_BLOCK + 4);
                }
                o->sack_count = (uint8_t)count;
            }
            break;
        case OPT_TS:
            if (olen == OPT_TS_LEN) {
                o->has_ts = 1;
                o->ts_val = wire_get32(v);
                o->ts_ecr = wire_get32(v + 4);
            }
            break;
        default:
            break;
        }
        i += olen;
    }
    return WIRE_OK;
}

int wire_tcp_parse(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst,
                   int check_sum, wire_tcp *out)
{
    if (len < WIRE_TCP_HDR)
        return WTCP_DROP_TCP_MALFORMED;
    size_t hdr_len = (size_t)(seg[12] >> 4) * 4;
    if (hdr_len < WIRE_TCP_HDR || hdr_len > len)
        return WTCP_DROP_TCP_MALFORMED;
    if (check_sum &&
        wire_fold(wire_sum(seg, len, wire_pseudo_sum(src, dst, WIRE_PROTO_TCP, (uint32_t)len))) != 0)
        return WTCP_DROP_TCP_CHECKSUM;

    wire_tcp_opts opt = {0};
    int rc = parse_options(seg + WIRE_TCP_HDR, hdr_len - WIRE_TCP_HDR, &opt);
    if (rc != WIRE_OK)
        return rc;

    out->sport = wire_get16(seg);
    out->dport = wire_get16(seg + 2);
    out->seq = wire_get32(seg + 4);
    out->ack = wire_get32(seg + 8);
    out->hdr_len = (uint8_t)hdr_len;
    out->flags = seg[13];
    out->win = wire_get16(seg + 14);
    out->urg = wire_get16(seg + 18);
    out->opt = opt;
    out->payload = seg + hdr_len;
    out->payload_len = len - hdr_len;
    return WIRE_OK;
}

/* Option bytes before the SACK block, in tcp_options_write's layout. */
static size_t fixed_opts_len(const wire_tcp_opts *o)
{
    size_t n = 0;
    if (o->has_mss)
        n += 4;
    if (o->has_ts)
        n += 12; /* sackOK,TS or nop,nop,TS */
    else if (o->sack_ok)
        n += 4;  /* nop,nop,sackOK */
    if (o->has_wscale)
        n += 4;  /* nop,wscale */
    return n;
}

/* SACK blocks that fit in the remaining option space (Linux: tcp_established_options). */
static size_t sack_blocks_to_send(const wire_tcp_opts *o)
{
    size_t want = o->sack_count < WIRE_TCP_MAX_SACK ? o->sack_count : WIRE_TCP_MAX_SACK;
    size_t room = OPT_SPACE - fixed_opts_len(o);
    if (want == 0 || room < 4 + OPT_SACK_BLOCK)
        return 0;
    size_t fit = (room - 4) / OPT_SACK_BLOCK;
    return want < fit ? want : fit;
}

size_t wire_tcp_opts_len(const wire_tcp_opts *opts)
{
    size_t blocks = sack_blocks_to_send(opts);
    return fixed_opts_len(opts) + (blocks ? 4 + blocks * OPT_SACK_BLOCK : 0);
}

/* Linux's tcp_options_write order: mss; sackOK,TS or nop,nop,TS; nop,nop,sackOK;
 * nop,wscale; nop,nop,sack. Packet scripts compare these bytes exactly. */
static uint8_t *write_options(uint8_t *p, const wire_tcp_opts *o)
{
    if (o->has_mss) {
        *p++ = OPT_MSS;
        *p++ = OPT_MSS_LEN;
        wire_put16(p, o->mss);
        p += 2;
    }
    if (o->has_ts) {
        if (o->sack_ok) {
            *p++ = OPT_SACK_OK;
            *p++ = OPT_SACK_OK_LEN;
        } else {
            *p++ = OPT_NOP;
            *p++ = OPT_NOP;
        }
        *p++ = OPT_TS;
        *p++ = OPT_TS_LEN;
        wire_put32(p, o->ts_val);
        wire_put32(p + 4, o->ts_ecr);
        p += 8;
    } else if (o->sack_ok) {
        *p++ = OPT_NOP;
        *p++ = OPT_NOP;
        *p++ = OPT_SACK_OK;
        *p++ = OPT_SACK_OK_LEN;
    }
    if (o->has_wscale) {
        *p++ = OPT_NOP;
        *p++ = OPT_WSCALE;
        *p++ = OPT_WSCALE_LEN;
        *p++ = o->wscale;
    }
    size_t blocks = sack_blocks_to_send(o);
    if (blocks > 0) {
        *p++ = OPT_NOP;
        *p++ = OPT_NOP;
        *p++ = OPT_SACK;
        *p++ = (uint8_t)(OPT_SACK_BASE + blocks * OPT_SACK_BLOCK);
        for (size_t b = 0; b < blocks; b++) {
            wire_put32(p, o->sack[b][0]);
            wire_put32(p + 4, o->sack[b][1]);
            p += OPT_SACK_BLOCK;
        }
    }
    return p;
}

size_t wire_tcp_emit(uint8_t *buf, const wire_tcp *hdr)
{
    size_t hdr_len = WIRE_TCP_HDR + wire_tcp_opts_len(&hdr->opt);
    wire_put16(buf, hdr->sport);
    wire_put16(buf + 2, hdr->dport);
    wire_put32(buf + 4, hdr->seq);
    wire_put32(buf + 8, hdr->ack);
    buf[12] = (uint8_t)((hdr_len / 4) << 4);
    buf[13] = hdr->flags;
    wire_put16(buf + 14, hdr->win);
    wire_put16(buf + 16, 0);
    wire_put16(buf + 18, hdr->urg);
    write_options(buf + WIRE_TCP_HDR, &hdr->opt);
    return hdr_len;
}

void wire_l4_checksum(uint8_t *seg, size_t len, uint32_t src, uint32_t dst, uint8_t proto)
{
    size_t at = proto == WIRE_PROTO_UDP ? 6 : 16;
    if (len < at + 2)
        return;
    wire_put16(seg + at, 0);
    uint16_t sum = wire_fold(wire_sum(seg, len, wire_pseudo_sum(src, dst, proto, (uint32_t)len)));
    if (proto == WIRE_PROTO_UDP && sum == 0)
        sum = 0xffff; /* RFC 768: zero on the wire means "no checksum" */
    wire_put16(seg + at, sum);
}
