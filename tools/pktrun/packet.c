/* packet.c: the runner's own wire code (independent of src/wire, so that it checks
 * the core rather than agreeing with it): Internet checksum, decoding of emitted
 * IPv4/TCP/UDP/ICMP packets, TCP option encoding/decoding, ICMP names, and the
 * symbolic constants scripts use in system calls (Linux values). */
#include <stdio.h>
#include <string.h>

#include "pktrun.h"

uint32_t csum_add(const uint8_t *p, size_t len, uint32_t acc)
{
    size_t i;
    for (i = 0; i + 1 < len; i += 2)
        acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (i < len)
        acc += (uint32_t)p[i] << 8;
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return acc;
}

uint16_t csum_fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t pseudo(uint32_t src, uint32_t dst, uint8_t proto, size_t len)
{
    uint8_t ph[12];
    ph[0] = (uint8_t)(src >> 24); ph[1] = (uint8_t)(src >> 16); ph[2] = (uint8_t)(src >> 8); ph[3] = (uint8_t)src;
    ph[4] = (uint8_t)(dst >> 24); ph[5] = (uint8_t)(dst >> 16); ph[6] = (uint8_t)(dst >> 8); ph[7] = (uint8_t)dst;
    ph[8] = 0;
    ph[9] = proto;
    ph[10] = (uint8_t)(len >> 8);
    ph[11] = (uint8_t)len;
    return csum_add(ph, 12, 0);
}

void decode_live(const uint8_t *raw, size_t len, live_pkt *o)
{
    memset(o, 0, sizeof *o);
    o->raw = raw;
    o->len = len;
    if (len < 20) {
        snprintf(o->err, sizeof o->err, "packet of %zu bytes is shorter than an IPv4 header", len);
        return;
    }
    o->ver = raw[0] >> 4;
    o->ihl = (uint8_t)((raw[0] & 15) * 4);
    o->tos = raw[1];
    o->total_len = get16(raw + 2);
    o->ip_id = get16(raw + 4);
    o->frag = get16(raw + 6);
    o->ttl = raw[8];
    o->proto = raw[9];
    o->src = get32(raw + 12);
    o->dst = get32(raw + 16);
    if (o->ver != 4) {
        snprintf(o->err, sizeof o->err, "IP version %u", o->ver);
        return;
    }
    if (o->ihl < 20 || o->ihl > len) {
        snprintf(o->err, sizeof o->err, "bad IPv4 header length %u", o->ihl);
        return;
    }
    if (o->total_len != len) {
        snprintf(o->err, sizeof o->err, "IPv4 total length %u but %zu bytes emitted", o->total_len, len);
        return;
    }
    o->ip_csum_ok = csum_fold(csum_add(raw, o->ihl, 0)) == 0;
    if (o->frag & 0x3fff) {
        snprintf(o->err, sizeof o->err, "IPv4 fragment (flags/offset 0x%04x)", o->frag);
        return;
    }
    const uint8_t *l4 = raw + o->ihl;
    size_t l4len = len - o->ihl;
    if (o->proto == 6) {
        if (l4len < 20) {
            snprintf(o->err, sizeof o->err, "TCP segment of %zu bytes", l4len);
            return;
        }
        o->sport = get16(l4);
        o->dport = get16(l4 + 2);
        o->seq = get32(l4 + 4);
        o->ack = get32(l4 + 8);
        o->thl = (uint16_t)((l4[12] >> 4) * 4);
        o->flags = (uint16_t)(l4[13] | ((l4[12] & 1) << 8));
        o->win = get16(l4 + 14);
        o->urg = get16(l4 + 18);
        if (o->thl < 20 || o->thl > l4len) {
            snprintf(o->err, sizeof o->err, "bad TCP data offset %u", o->thl);
            return;
        }
        o->opt = l4 + 20;
        o->optlen = (size_t)o->thl - 20;
        o->payload = l4 + o->thl;
        o->paylen = l4len - o->thl;
        o->l4_csum_ok = csum_fold(csum_add(l4, l4len, pseudo(o->src, o->dst, 6, l4len))) == 0;
    } else if (o->proto == 17) {
        if (l4len < 8) {
            snprintf(o->err, sizeof o->err, "UDP datagram of %zu bytes", l4len);
            return;
        }
        o->sport = get16(l4);
        o->dport = get16(l4 + 2);
        if (get16(l4 + 4) != l4len) {
            snprintf(o->err, sizeof o->err, "UDP length %u but %zu bytes", get16(l4 + 4), l4len);
            return;
        }
        o->payload = l4 + 8;
        o->paylen = l4len - 8;
        o->l4_csum_ok = get16(l4 + 6) == 0 ||
                        csum_fold(csum_add(l4, l4len, pseudo(o->src, o->dst, 17, l4len))) == 0;
    } else if (o->proto == 1) {
        if (l4len < 8) {
            snprintf(o->err, sizeof o->err, "ICMP message of %zu bytes", l4len);
            return;
        }
        o->icmp_type = l4[0];
        o->icmp_code = l4[1];
        o->icmp_rest = get32(l4 + 4);
        o->payload = l4 + 8;
        o->paylen = l4len - 8;
        o->l4_csum_ok = csum_fold(csum_add(l4, l4len, 0)) == 0;
    } else {
        snprintf(o->err, sizeof o->err, "IP protocol %u", o->proto);
        return;
    }
    o->ok = 1;
}

int encode_tcp_opts(const tcp_opt *opts, int n, uint8_t *out, size_t cap)
{
    size_t k = 0;
#define PUT(b)                                                                                     \
    do {                                                                                           \
        if (k >= cap)                                                                              \
            return -1;                                                                             \
        out[k++] = (uint8_t)(b);                                                                   \
    } while (0)
#define PUT32(v)                                                                                   \
    do {                                                                                           \
        PUT((v) >> 24); PUT((v) >> 16); PUT((v) >> 8); PUT(v);                                    \
    } while (0)
    for (int i = 0; i < n; i++) {
        const tcp_opt *o = &opts[i];
        switch (o->kind) {
        case OPT_EOL:
        case OPT_NOP:
            PUT(o->kind);
            break;
        case OPT_MSS:
            PUT(2); PUT(4); PUT(o->a >> 8); PUT(o->a);
            break;
        case OPT_WSCALE:
            PUT(3); PUT(3); PUT(o->a);
            break;
        case OPT_SACKOK:
            PUT(4); PUT(2);
            break;
        case OPT_SACK:
            PUT(5); PUT(2 + 8 * o->nsack);
            for (int b = 0; b < o->nsack; b++) {
                PUT32(o->sack[b][0]);
                PUT32(o->sack[b][1]);
            }
            break;
        case OPT_TS:
            PUT(8); PUT(10);
            PUT32(o->a);
            PUT32(o->b);
            break;
        case OPT_FOEXP:
            PUT(254); PUT(4 + o->dlen); PUT(0xF9); PUT(0x89);
            for (int b = 0; b < o->dlen; b++)
                PUT(o->data[b]);
            break;
        default:
            PUT(o->kind); PUT(2 + o->dlen);
            for (int b = 0; b < o->dlen; b++)
                PUT(o->data[b]);
            break;
        }
    }
#undef PUT
#undef PUT32
    return (int)k;
}

int decode_tcp_opts(const uint8_t *p, size_t len, tcp_opt *out, int max, char *err, size_t errsz)
{
    int n = 0;
    size_t i = 0;
    while (i < len) {
        if (n == max) {
            snprintf(err, errsz, "too many TCP options");
            return -1;
        }
        tcp_opt *o = &out[n];
        memset(o, 0, sizeof *o);
        o->kind = p[i];
        if (p[i] == OPT_EOL || p[i] == OPT_NOP) {
            i++;
            n++;
            continue;
        }
        if (i + 1 >= len || p[i + 1] < 2 || i + p[i + 1] > len) {
            snprintf(err, errsz, "malformed TCP option kind %u at offset %zu", p[i], i);
            return -1;
        }
        size_t ol = p[i + 1];
        const uint8_t *d = p + i + 2;
        size_t dl = ol - 2;
        int bad = 0;
        switch (o->kind) {
        case OPT_MSS:
            bad = dl != 2;
            if (!bad) o->a = get16(d);
            break;
        case OPT_WSCALE:
            bad = dl != 1;
            if (!bad) o->a = d[0];
            break;
        case OPT_SACKOK:
            bad = dl != 0;
            break;
        case OPT_SACK:
            bad = dl % 8 != 0 || dl / 8 > MAX_SACK || dl == 0;
            if (!bad) {
                o->nsack = (uint8_t)(dl / 8);
                for (int b = 0; b < o->nsack; b++) {
                    o->sack[b][0] = get32(d + 8 * b);
                    o->sack[b][1] = get32(d + 8 * b + 4);
                }
            }
            break;
        case OPT_TS:
            bad = dl != 8;
            if (!bad) {
                o->a = get32(d);
                o->b = get32(d + 4);
            }
            break;
        case OPT_FOEXP:
            bad = dl < 2 || d[0] != 0xF9 || d[1] != 0x89;
            if (!bad) {
                o->dlen = (uint8_t)(dl - 2);
                memcpy(o->data, d + 2, dl - 2);
            }
            break;
        default:
            o->dlen = (uint8_t)(dl > sizeof o->data ? sizeof o->data : dl);
            memcpy(o->data, d, o->dlen);
            break;
        }
        if (bad) {
            snprintf(err, errsz, "malformed TCP option kind %u length %zu", o->kind, ol);
            return -1;
        }
        i += ol;
        n++;
    }
    return n;
}

/* ---- ICMP names (packetdrill's tables) ---- */
static const struct { int type; const char *name; } icmp_types[] = {
    { 0, "echo_reply" }, { 3, "unreachable" }, { 4, "source_quench" }, { 5, "redirect" },
    { 8, "echo_request" }, { 11, "time_exceeded" }, { 12, "parameter_problem" },
    { 13, "timestamp_request" }, { 14, "timestamp_reply" }, { 15, "information_request" },
    { 16, "information_reply" }, { 17, "address_mask_request" }, { 18, "address_mask_reply" },
};
static const char *unreach_codes[] = {
    "net_unreachable", "host_unreachable", "protocol_unreachable", "port_unreachable",
    "frag_needed", "source_route_failed", "net_unknown", "host_unknown",
    "source_host_isolated", "net_prohibited", "host_prohibited", "net_unreachable_for_tos",
    "host_unreachable_for_tos", "packet_filtered", "precedence_violation", "precedence_cutoff",
};

const char *icmp_type_name(uint8_t type)
{
    for (size_t i = 0; i < sizeof icmp_types / sizeof icmp_types[0]; i++)
        if (icmp_types[i].type == type)
            return icmp_types[i].name;
    static char buf[16];
    snprintf(buf, sizeof buf, "type_%u", type);
    return buf;
}

const char *icmp_code_name(uint8_t type, uint8_t code)
{
    if (type == 3 && code < 16)
        return unreach_codes[code];
    if (code == 0)
        return NULL;
    static char buf[16];
    snprintf(buf, sizeof buf, "code_%u", code);
    return buf;
}

int icmp_type_parse(const char *name, int *type)
{
    for (size_t i = 0; i < sizeof icmp_types / sizeof icmp_types[0]; i++)
        if (!strcmp(icmp_types[i].name, name)) {
            *type = icmp_types[i].type;
            return 0;
        }
    unsigned v;
    char extra;
    if (sscanf(name, "type_%u%c", &v, &extra) == 1 && v < 256) {
        *type = (int)v;
        return 0;
    }
    return -1;
}

int icmp_code_parse(int type, const char *name, int *code)
{
    unsigned v;
    char extra;
    if (sscanf(name, "code_%u%c", &v, &extra) == 1 && v < 256) {
        *code = (int)v;
        return 0;
    }
    if (type == 3)
        for (int i = 0; i < 16; i++)
            if (!strcmp(unreach_codes[i], name)) {
                *code = i;
                return 0;
            }
    return -1;
}

/* ---- symbols (Linux values, as packetdrill scripts assume) ---- */
static const struct { const char *name; int64_t v; } syms[] = {
    { "AF_INET", 2 }, { "PF_INET", 2 }, { "AF_INET6", 10 }, { "PF_INET6", 10 }, { "AF_UNSPEC", 0 },
    { "SOCK_STREAM", 1 }, { "SOCK_DGRAM", 2 }, { "SOCK_RAW", 3 },
    { "SOCK_NONBLOCK", 0x800 }, { "SOCK_CLOEXEC", 0x80000 },
    { "IPPROTO_IP", 0 }, { "IPPROTO_ICMP", 1 }, { "IPPROTO_TCP", 6 }, { "IPPROTO_UDP", 17 },
    { "SOL_SOCKET", 1 }, { "SOL_TCP", 6 }, { "SOL_IP", 0 }, { "SOL_UDP", 17 },
    { "SO_DEBUG", 1 }, { "SO_REUSEADDR", 2 }, { "SO_TYPE", 3 }, { "SO_ERROR", 4 },
    { "SO_DONTROUTE", 5 }, { "SO_BROADCAST", 6 }, { "SO_SNDBUF", 7 }, { "SO_RCVBUF", 8 },
    { "SO_KEEPALIVE", 9 }, { "SO_OOBINLINE", 10 }, { "SO_LINGER", 13 }, { "SO_REUSEPORT", 15 },
    { "SO_RCVLOWAT", 18 }, { "SO_SNDLOWAT", 19 }, { "SO_RCVTIMEO", 20 }, { "SO_SNDTIMEO", 21 },
    { "SO_SNDBUFFORCE", 32 }, { "SO_RCVBUFFORCE", 33 },
    { "TCP_NODELAY", 1 }, { "TCP_MAXSEG", 2 }, { "TCP_CORK", 3 }, { "TCP_KEEPIDLE", 4 },
    { "TCP_KEEPINTVL", 5 }, { "TCP_KEEPCNT", 6 }, { "TCP_SYNCNT", 7 }, { "TCP_LINGER2", 8 },
    { "TCP_DEFER_ACCEPT", 9 }, { "TCP_WINDOW_CLAMP", 10 }, { "TCP_INFO", 11 },
    { "TCP_QUICKACK", 12 }, { "TCP_CONGESTION", 13 }, { "TCP_USER_TIMEOUT", 18 },
    { "TCP_FASTOPEN", 23 }, { "TCP_NOTSENT_LOWAT", 25 }, { "TCP_INQ", 36 },
    { "O_RDONLY", 0 }, { "O_WRONLY", 1 }, { "O_RDWR", 2 }, { "O_NONBLOCK", 0x800 },
    { "O_NDELAY", 0x800 },
    { "F_DUPFD", 0 }, { "F_GETFD", 1 }, { "F_SETFD", 2 }, { "F_GETFL", 3 }, { "F_SETFL", 4 },
    { "FD_CLOEXEC", 1 },
    { "SHUT_RD", 0 }, { "SHUT_WR", 1 }, { "SHUT_RDWR", 2 },
    { "MSG_OOB", 1 }, { "MSG_PEEK", 2 }, { "MSG_DONTROUTE", 4 }, { "MSG_TRUNC", 0x20 },
    { "MSG_DONTWAIT", 0x40 }, { "MSG_EOR", 0x80 }, { "MSG_WAITALL", 0x100 },
    { "MSG_NOSIGNAL", 0x4000 }, { "MSG_MORE", 0x8000 }, { "MSG_FASTOPEN", 0x20000000 },
    { "FIONREAD", 0x541B }, { "SIOCINQ", 0x541B }, { "SIOCOUTQ", 0x5411 }, { "TIOCOUTQ", 0x5411 },
    { "FIONBIO", 0x5421 },
    { "POLLIN", 1 }, { "POLLPRI", 2 }, { "POLLOUT", 4 }, { "POLLERR", 8 }, { "POLLHUP", 16 },
    { "POLLNVAL", 32 }, { "POLLRDNORM", 0x40 }, { "POLLRDBAND", 0x80 }, { "POLLWRNORM", 0x100 },
    { "POLLRDHUP", 0x2000 },
    { "INADDR_ANY", 0 }, { "NULL", 0 },
};

int sym_lookup(const char *name, int64_t *value)
{
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++)
        if (!strcmp(syms[i].name, name)) {
            *value = syms[i].v;
            return 0;
        }
    return -1;
}

const char *errno_canon(const char *name)
{
    if (!strcmp(name, "EWOULDBLOCK"))
        return "EAGAIN";
    if (!strcmp(name, "EDEADLOCK"))
        return "EDEADLK";
    if (!strcmp(name, "ENOTSUP"))
        return "EOPNOTSUPP";
    return name;
}
