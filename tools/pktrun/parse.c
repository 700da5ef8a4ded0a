/* parse.c: packetdrill's script grammar (its parser.y), the parts wtcp can run:
 *   script: options* events, `commands` anywhere
 *   event:  time action;  time: [+]t | * | t~t | +t~+t
 *   action: packet | [...end] syscall | `command` | %{code}%
 * Semantic checks follow packetdrill's (inconsistent seq:end(len), options padded to
 * a multiple of 4, window required on inbound packets, <...> only outbound). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktrun.h"

typedef struct parser {
    script *sc;
    arena *a;
    token *t;
    int n, i;
    jmp_buf jb;
    char *err;
    size_t errsz;
    char **notes;
    int nnotes, capnotes;
    int ev_building;       /* sc->ev is parse_events' malloc'd buffer, not the arena's copy */
    int depth;             /* expressions being parsed inside each other (parse_expr) */
} parser;

/* Lists in lists, assignments in assignments: deeper than this is an error, not a stack
 * overflow (the fuzzer found `{{{{...` six thousand deep). */
#define MAX_NESTING 100

/* ---- -D defines ---- */
#define MAX_DEFINES 64
static struct { char name[64]; char value[256]; } defines[MAX_DEFINES];
static int ndefines;

int parse_define(const char *nv)
{
    const char *eq = strchr(nv, '=');
    size_t nl = eq ? (size_t)(eq - nv) : strlen(nv);
    const char *val = eq ? eq + 1 : "";
    if (nl == 0 || nl >= sizeof defines[0].name || strlen(val) >= sizeof defines[0].value)
        return -1;
    int i;
    for (i = 0; i < ndefines; i++)
        if (strlen(defines[i].name) == nl && !strncmp(defines[i].name, nv, nl))
            break;
    if (i == ndefines) {
        if (ndefines == MAX_DEFINES)
            return -1;
        ndefines++;
    }
    memcpy(defines[i].name, nv, nl);
    defines[i].name[nl] = 0;
    strcpy(defines[i].value, val);
    return 0;
}

static void apply_defines(arena *a, token *t, int n)
{
    for (int i = 0; i < n; i++) {
        if (t[i].kind != TK_WORD)
            continue;
        for (int d = 0; d < ndefines; d++) {
            if (strcmp(defines[d].name, t[i].text))
                continue;
            const char *v = defines[d].value;
            size_t vl = strlen(v);
            char *end;
            long long x = strtoll(v, &end, 0);
            if (vl >= 2 && (v[0] == '"' || v[0] == '`') && v[vl - 1] == v[0]) {
                t[i].kind = v[0] == '"' ? TK_STRING : TK_BACKQ;
                t[i].text = arena_strndup(a, v + 1, vl - 2);
            } else if (vl && !*end) {
                t[i].kind = (vl > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) ? TK_HEX : TK_INT;
                t[i].ival = x;
                t[i].text = arena_strdup(a, v);
            } else {
                t[i].text = arena_strdup(a, v);
            }
            break;
        }
    }
}

static void perr(parser *p, const token *at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4), noreturn))
#endif
    ;

static void perr(parser *p, const token *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errsz, "%s:%d: %s", p->sc->path, at ? at->line : 0, msg);
    longjmp(p->jb, 1);
}

static void note(parser *p, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void note(parser *p, int line, const char *fmt, ...)
{
    char msg[600], full[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "%s:%d: %s", p->sc->path, line, msg);
    if (p->nnotes == p->capnotes) {
        p->capnotes = p->capnotes ? p->capnotes * 2 : 8;
        char **nn = realloc(p->notes, sizeof *nn * (size_t)p->capnotes);
        if (!nn) {
            fprintf(stderr, "wtcp-pktrun: out of memory\n");
            exit(2);
        }
        p->notes = nn;
    }
    p->notes[p->nnotes++] = arena_strdup(p->a, full);
}

static token *peek(parser *p) { return &p->t[p->i]; }
static token *peekn(parser *p, int k) { return &p->t[p->i + k < p->n ? p->i + k : p->n - 1]; }
static token *next(parser *p)
{
    token *t = &p->t[p->i];
    if (t->kind != TK_EOF)
        p->i++;
    return t;
}
static int is_punct(const token *t, char c) { return t->kind == TK_PUNCT && t->ival == (unsigned char)c; }
static int is_word(const token *t, const char *w) { return t->kind == TK_WORD && strcmp(t->text, w) == 0; }

static const char *tokdesc(const token *t)
{
    static char buf[80];
    switch (t->kind) {
    case TK_EOF: return "end of file";
    case TK_BACKQ: return "`command`";
    case TK_CODE: return "%{code}%";
    case TK_STRING: snprintf(buf, sizeof buf, "\"%.60s\"", t->text); return buf;
    case TK_OPTION: snprintf(buf, sizeof buf, "--%.60s", t->text); return buf;
    default: snprintf(buf, sizeof buf, "'%.60s'", t->text ? t->text : "?"); return buf;
    }
}

static void expect_punct(parser *p, char c)
{
    token *t = next(p);
    if (!is_punct(t, c))
        perr(p, t, "expected '%c' but found %s", c, tokdesc(t));
}

static void expect_word(parser *p, const char *w)
{
    token *t = next(p);
    if (!is_word(t, w))
        perr(p, t, "expected '%s' but found %s", w, tokdesc(t));
}

static int64_t expect_int(parser *p, const char *what)
{
    token *t = next(p);
    if (t->kind != TK_INT && t->kind != TK_HEX)
        perr(p, t, "expected %s (an integer) but found %s", what, tokdesc(t));
    return t->ival;
}

static uint32_t expect_u32(parser *p, const char *what)
{
    token *at = peek(p);
    int64_t v = expect_int(p, what);
    if (v < 0 || v > 0xffffffffLL)
        perr(p, at, "%s out of range", what);
    return (uint32_t)v;
}

/* ---- times ---- */
/* Microseconds in a decimal text; INT64_MIN when it does not fit (found by fuzzing). */
static int64_t float_text_us(const char *s)
{
    int64_t ip = 0, frac = 0;
    int neg = 0, digits = 0, round = 0;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    while (*s >= '0' && *s <= '9') {
        if (ip > (INT64_MAX / 1000000 - 1) / 10)
            return INT64_MIN;
        ip = ip * 10 + (*s++ - '0');
    }
    if (*s == '.')
        s++;
    while (*s >= '0' && *s <= '9') {
        if (digits < 6) {
            frac = frac * 10 + (*s - '0');
            digits++;
        } else if (digits == 6) {
            round = *s >= '5';
            digits++;
        }
        s++;
    }
    while (digits < 6) {
        frac *= 10;
        digits++;
    }
    int64_t us = ip * 1000000 + frac + round;
    return neg ? -us : us;
}

static int64_t parse_time(parser *p)
{
    token *t = next(p);
    int64_t us = 0;
    if (t->kind == TK_INT) {
        if (t->ival > INT64_MAX / 1000000 || t->ival < -(INT64_MAX / 1000000))
            perr(p, t, "time %s is out of range", tokdesc(t)); /* would overflow (found by fuzzing) */
        us = t->ival * 1000000;
    } else if (t->kind == TK_FLOAT) {
        us = float_text_us(t->text);
        if (us == INT64_MIN)
            perr(p, t, "time %s is out of range", tokdesc(t));
    } else {
        perr(p, t, "expected a time but found %s", tokdesc(t));
    }
    if (us < 0)
        perr(p, t, "negative time");
    return us;
}

static int starts_time(const token *t)
{
    return t->kind == TK_INT || t->kind == TK_FLOAT || is_punct(t, '+') || is_punct(t, '*');
}

static void parse_event_time(parser *p, ev_time *et)
{
    token *t = peek(p);
    if (is_punct(t, '*')) {
        next(p);
        et->kind = TM_ANY;
        return;
    }
    if (is_punct(t, '+')) {
        next(p);
        et->kind = TM_REL;
        et->us = parse_time(p);
        if (is_punct(peek(p), '~')) {
            next(p);
            token *pl = next(p);
            if (!is_punct(pl, '+'))
                perr(p, pl, "a relative time range needs '+' on both ends (+t1~+t2)");
            et->kind = TM_REL_RANGE;
            et->us_end = parse_time(p);
            if (et->us_end < et->us)
                perr(p, pl, "time range ends before it starts");
        }
        return;
    }
    et->kind = TM_ABS;
    et->us = parse_time(p);
    if (is_punct(peek(p), '~')) {
        token *tl = next(p);
        et->kind = TM_ABS_RANGE;
        if (is_punct(peek(p), '+'))
            perr(p, tl, "an absolute time range cannot end in a relative time");
        et->us_end = parse_time(p);
        if (et->us_end < et->us)
            perr(p, tl, "time range ends before it starts");
    }
}

/* ---- packets ---- */
static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int hex_blob(parser *p, const token *t, uint8_t *out, int max)
{
    const char *s = t->text;
    size_t n = strlen(s);
    if (n % 2)
        perr(p, t, "hex blob '%s' has an odd number of digits", s);
    if ((int)(n / 2) > max)
        perr(p, t, "hex blob '%s' too long", s);
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            perr(p, t, "bad hex blob '%s'", s);
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(n / 2);
}

static void parse_tcp_option(parser *p, tcp_opt *o)
{
    token *t = next(p);
    if (t->kind != TK_WORD)
        perr(p, t, "expected a TCP option but found %s", tokdesc(t));
    const char *w = t->text;
    if (!strcmp(w, "nop")) {
        o->kind = OPT_NOP;
    } else if (!strcmp(w, "eol")) {
        o->kind = OPT_EOL;
    } else if (!strcmp(w, "mss")) {
        o->kind = OPT_MSS;
        token *v = peek(p);
        int64_t x = expect_int(p, "mss value");
        if (x < 0 || x > 65535)
            perr(p, v, "mss value out of range");
        o->a = (uint32_t)x;
    } else if (!strcmp(w, "wscale")) {
        o->kind = OPT_WSCALE;
        token *v = peek(p);
        int64_t x = expect_int(p, "wscale value");
        if (x < 0 || x > 255)
            perr(p, v, "window scale shift count out of range");
        o->a = (uint32_t)x;
    } else if (!strcmp(w, "sackOK")) {
        o->kind = OPT_SACKOK;
    } else if (!strcmp(w, "sack")) {
        o->kind = OPT_SACK;
        while (peek(p)->kind == TK_INT && is_punct(peekn(p, 1), ':')) {
            if (o->nsack == MAX_SACK)
                perr(p, peek(p), "more than %d SACK blocks", MAX_SACK);
            o->sack[o->nsack][0] = expect_u32(p, "SACK left edge");
            expect_punct(p, ':');
            o->sack[o->nsack][1] = expect_u32(p, "SACK right edge");
            o->nsack++;
        }
        if (o->nsack == 0)
            perr(p, t, "sack needs at least one block a:b");
    } else if (!strcmp(w, "TS")) {
        o->kind = OPT_TS;
        expect_word(p, "val");
        o->a = expect_u32(p, "TS val");
        expect_word(p, "ecr");
        o->b = expect_u32(p, "TS ecr");
    } else if (!strcmp(w, "md5")) {
        o->kind = OPT_MD5;
        token *b = next(p);
        if (b->kind != TK_WORD && b->kind != TK_INT)
            perr(p, b, "md5 needs a hex digest");
        if (hex_blob(p, b, o->data, 16) != 16)
            perr(p, b, "md5 digest must be 16 bytes (32 hex digits)");
        o->dlen = 16;
    } else if (!strcmp(w, "FO") || !strcmp(w, "FOEXP")) {
        o->kind = w[2] ? OPT_FOEXP : OPT_FO;
        token *b = peek(p);
        if ((b->kind == TK_WORD || b->kind == TK_INT) && !is_punct(peekn(p, 1), ':')) {
            next(p);
            o->dlen = (uint8_t)hex_blob(p, b, o->data, 32);
        }
    } else if (!strcmp(w, "ECN")) {
        perr(p, t, "AccECN options are not supported");
    } else {
        perr(p, t, "unknown TCP option '%s'", w);
    }
}

static int opt_len(const tcp_opt *o)
{
    switch (o->kind) {
    case OPT_EOL: case OPT_NOP: return 1;
    case OPT_MSS: return 4;
    case OPT_WSCALE: return 3;
    case OPT_SACKOK: return 2;
    case OPT_SACK: return 2 + 8 * o->nsack;
    case OPT_TS: return 10;
    case OPT_MD5: return 18;
    case OPT_FO: return 2 + o->dlen;
    case OPT_FOEXP: return 4 + o->dlen;
    default: return 2 + o->dlen;
    }
}

static void parse_tcp_options(parser *p, pkt_spec *ps)
{
    token *lt = next(p); /* '<' */
    if (peek(p)->kind == TK_ELLIPSIS) {
        next(p);
        expect_punct(p, '>');
        if (ps->dir == '<')
            perr(p, lt, "<...> for TCP options can only be used with outbound packets");
        ps->opts_any = 1;
        return;
    }
    for (;;) {
        if (ps->nopts == MAX_OPTS)
            perr(p, peek(p), "TCP option list too long");
        tcp_opt *o = &ps->opts[ps->nopts++];
        parse_tcp_option(p, o);
        ps->opt_bytes += opt_len(o);
        token *t = next(p);
        if (is_punct(t, '>'))
            break;
        if (!is_punct(t, ','))
            perr(p, t, "expected ',' or '>' in TCP options but found %s", tokdesc(t));
    }
    if (ps->opt_bytes > 40)
        perr(p, lt, "TCP option list too long (%d bytes)", ps->opt_bytes);
    if (ps->opt_bytes & 3)
        perr(p, lt, "TCP options are not padded correctly to ensure TCP header is a multiple "
             "of 4 bytes: %d excess bytes", ps->opt_bytes & 3);
}

static uint16_t parse_flags(parser *p)
{
    token *t = next(p);
    uint16_t f = 0;
    if (is_punct(t, '-'))
        return 0;
    if (is_punct(t, '.'))
        return F_ACK;
    if (t->kind != TK_WORD)
        perr(p, t, "expected TCP flags (S, S., ., P., F., R, -, ...) but found %s", tokdesc(t));
    for (const char *c = t->text; *c; c++) {
        uint16_t bit;
        switch (*c) {
        case 'F': bit = F_FIN; break;
        case 'S': bit = F_SYN; break;
        case 'R': bit = F_RST; break;
        case 'P': bit = F_PSH; break;
        case 'U': bit = F_URG; break;
        case 'E': bit = F_ECE; break;
        case 'W': bit = F_CWR; break;
        case 'A': bit = F_AE; break;
        default:
            if (*c >= '0' && *c <= '7')
                perr(p, t, "AccECN ACE flags ('%c') are not supported", *c);
            perr(p, t, "unknown TCP flag '%c' in '%s'", *c, t->text);
        }
        if (f & bit)
            perr(p, t, "duplicate TCP flag '%c' in '%s'", *c, t->text);
        f |= bit;
    }
    if (is_punct(peek(p), '.')) {
        next(p);
        f |= F_ACK;
    }
    return f;
}

static void parse_seq(parser *p, uint32_t *seq, uint32_t *end, uint32_t *len)
{
    token *at = peek(p);
    *seq = expect_u32(p, "TCP start sequence number");
    expect_punct(p, ':');
    *end = expect_u32(p, "TCP end sequence number");
    expect_punct(p, '(');
    token *lt = peek(p);
    int64_t l = expect_int(p, "payload length");
    if (l < 0 || l > 65535)
        perr(p, lt, "TCP payload size out of range");
    *len = (uint32_t)l;
    expect_punct(p, ')');
    if (*end != (uint32_t)(*seq + *len))
        perr(p, at, "inconsistent TCP sequence numbers and payload size");
}

static void parse_ip_info(parser *p, pkt_spec *ps)
{
    token *open = next(p);
    char close = is_punct(open, '(') ? ')' : ']';
    for (;;) {
        token *t = next(p);
        if (is_word(t, "noecn")) ps->ecn = ECN_NOT;
        else if (is_word(t, "ect0")) ps->ecn = ECN_ECT0;
        else if (is_word(t, "ect1")) ps->ecn = ECN_ECT1;
        else if (is_word(t, "ce")) ps->ecn = ECN_CE;
        else if (is_word(t, "ect01")) {
            if (ps->dir != '>')
                perr(p, t, "[ect01] can only be used with outbound packets");
            ps->ecn = ECN_ECT01;
        } else if (is_word(t, "tos")) {
            token *v = next(p);
            if (v->kind != TK_HEX && v->kind != TK_INT)
                perr(p, v, "tos needs a value");
            ps->has_tos = 1;
            ps->tos = (uint8_t)v->ival;
        } else if (is_word(t, "ttl")) {
            token *v = peek(p);
            int64_t x = expect_int(p, "ttl");
            if (x < 0 || x > 255)
                perr(p, v, "ttl out of range");
            ps->has_ttl = 1;
            ps->ttl = (uint8_t)x;
        } else if (is_word(t, "flowlabel")) {
            perr(p, t, "flowlabel is IPv6 only");
        } else {
            perr(p, t, "unknown IP info %s", tokdesc(t));
        }
        token *s = next(p);
        if (is_punct(s, close))
            break;
        if (!is_punct(s, ','))
            perr(p, s, "expected ',' or '%c' but found %s", close, tokdesc(s));
    }
}

static void parse_icmp(parser *p, pkt_spec *ps)
{
    ps->proto = PR_ICMP;
    token *tt = next(p);
    if (tt->kind != TK_WORD)
        perr(p, tt, "expected an ICMP type (unreachable, ...) but found %s", tokdesc(tt));
    int type, code = 0;
    if (icmp_type_parse(tt->text, &type) < 0)
        perr(p, tt, "bad ICMP type %s", tt->text);
    ps->icmp_type = (uint8_t)type;
    ps->icmp_type_name = tt->text;
    token *ct = peek(p);
    if (ct->kind == TK_WORD && strcmp(ct->text, "mtu") && strcmp(ct->text, "id")) {
        next(p);
        if (icmp_code_parse(type, ct->text, &code) < 0)
            perr(p, ct, "bad ICMP code %s", ct->text);
        ps->icmp_code_name = ct->text;
    }
    ps->icmp_code = (uint8_t)code;
    if (is_word(peek(p), "mtu")) {
        token *mt = next(p);
        int64_t m = expect_int(p, "mtu");
        if (type != 3 || code != 4)
            perr(p, mt, "ICMPv4 MTU is only valid for unreachable-frag_needed");
        if (m < 0 || m > 65535)
            perr(p, mt, "ICMPv4 MTU out of 16-bit range");
        ps->has_mtu = 1;
        ps->mtu = (uint32_t)m;
    }
    if (is_word(peek(p), "id")) {
        next(p);
        token *it = peek(p);
        int64_t v = expect_int(p, "echo id");
        if (v < 0 || v > 65535)
            perr(p, it, "invalid echo_id, must be between 0 and 65535");
        ps->has_id = 1;
        ps->id = (uint32_t)v;
    }
    ps->echo_proto = PR_TCP;
    if (is_punct(peek(p), '[')) {
        next(p);
        ps->has_echo = 1;
        if (is_word(peek(p), "udp")) {
            next(p);
            expect_punct(p, '(');
            ps->echo_len = (uint32_t)expect_int(p, "udp length");
            expect_punct(p, ')');
            ps->echo_proto = PR_UDP;
        } else if (is_word(peek(p), "raw")) {
            next(p);
            expect_punct(p, '(');
            ps->echo_len = (uint32_t)expect_int(p, "raw length");
            expect_punct(p, ')');
            ps->echo_proto = -1;
        } else {
            parse_seq(p, &ps->echo_seq, &ps->echo_end, &ps->echo_len);
        }
        expect_punct(p, ']');
    }
}

static pkt_spec *parse_packet(parser *p)
{
    pkt_spec *ps = arena_alloc(p->a, sizeof *ps);
    token *d = next(p);
    ps->dir = (char)d->ival;
    ps->ecn = ECN_UNSPEC;
    ps->proto = PR_TCP;
    if (is_word(peek(p), "ipv4") || is_word(peek(p), "ipv6") || is_word(peek(p), "gre") ||
        is_word(peek(p), "GREv0") || is_word(peek(p), "mpls") || is_word(peek(p), "encap"))
        perr(p, peek(p), "encapsulation (%s) is not supported", peek(p)->text);
    if (is_punct(peek(p), '(') || is_punct(peek(p), '['))
        parse_ip_info(p, ps);
    if (is_word(peek(p), "icmp")) {
        next(p);
        parse_icmp(p, ps);
        return ps;
    }
    int udp = 0;
    if (is_word(peek(p), "udp")) {
        next(p);
        udp = 1;
    }
    if (peek(p)->kind == TK_INT && is_punct(peekn(p, 1), '>') && peekn(p, 2)->kind == TK_INT) {
        token *st = peek(p);
        int64_t s = expect_int(p, "source port");
        next(p);
        int64_t dp = expect_int(p, "destination port");
        if (s < 0 || s > 65535 || dp < 0 || dp > 65535)
            perr(p, st, "port out of range");
        ps->has_ports = 1;
        ps->sport = (uint16_t)s;
        ps->dport = (uint16_t)dp;
    }
    if (udp) {
        ps->proto = PR_UDP;
        expect_punct(p, '(');
        token *lt = peek(p);
        int64_t l = expect_int(p, "UDP payload length");
        if (l < 0 || l > 65507)
            perr(p, lt, "UDP payload size out of range");
        ps->udp_len = (uint32_t)l;
        expect_punct(p, ')');
        return ps;
    }
    token *ft = peek(p);
    ps->flags = parse_flags(p);
    parse_seq(p, &ps->seq, &ps->end, &ps->len);
    for (;;) {
        token *t = peek(p);
        if (is_word(t, "ack") && !ps->has_ack) {
            next(p);
            ps->has_ack = 1;
            ps->ack = expect_u32(p, "ack");
        } else if (is_word(t, "win") && !ps->has_win) {
            next(p);
            token *wt = peek(p);
            int64_t w = expect_int(p, "window");
            if (w < 0 || w > 65535)
                perr(p, wt, "TCP window value out of range");
            ps->has_win = 1;
            ps->win = (uint32_t)w;
        } else if (is_word(t, "urg") && !ps->has_urg) {
            next(p);
            token *ut = peek(p);
            int64_t u = expect_int(p, "urgent pointer");
            if (u < 0 || u > 65535)
                perr(p, ut, "TCP urg_ptr value out of range");
            ps->has_urg = 1;
            ps->urg = (uint32_t)u;
        } else {
            break;
        }
    }
    if (is_punct(peek(p), '<'))
        parse_tcp_options(p, ps);
    if (ps->dir == '<' && !ps->has_win)
        perr(p, ft, "window must be specified for inbound packets");
    return ps;
}

/* ---- expressions ---- */
static expr *new_expr(parser *p, int kind)
{
    expr *e = arena_alloc(p->a, sizeof *e);
    e->kind = kind;
    return e;
}

static expr *parse_expr(parser *p);

static void parse_list(parser *p, char close, expr *e)
{
    expr *tmp[64];
    int n = 0;
    if (!is_punct(peek(p), close)) {
        for (;;) {
            if (n == 64)
                perr(p, peek(p), "expression list too long");
            tmp[n++] = parse_expr(p);
            if (!is_punct(peek(p), ','))
                break;
            next(p);
        }
    }
    expect_punct(p, close);
    e->n = n;
    e->items = arena_alloc(p->a, sizeof *e->items * (size_t)(n ? n : 1));
    memcpy(e->items, tmp, sizeof *tmp * (size_t)n);
}

static expr *parse_primary(parser *p)
{
    token *t = next(p);
    expr *e;
    switch (t->kind) {
    case TK_ELLIPSIS:
        return new_expr(p, EX_ELLIPSIS);
    case TK_INT:
    case TK_HEX:
        e = new_expr(p, EX_INT);
        e->ival = t->ival;
        e->is_hex = t->kind == TK_HEX;
        return e;
    case TK_STRING:
    case TK_IPV4:
    case TK_IPV6:
        e = new_expr(p, EX_STRING);
        e->s = t->text;
        if (peek(p)->kind == TK_ELLIPSIS)
            next(p);
        return e;
    case TK_WORD:
        if (!strcmp(t->text, "sizeof") && is_punct(peek(p), '(')) {
            /* sizeof(struct tcp_info): kept as text, e.g. for getsockopt's length */
            token *open = next(p);
            strbuf sb = {0};
            int depth = 1;
            for (;;) {
                token *w = next(p);
                if (w->kind == TK_EOF) {
                    sb_free(&sb);
                    perr(p, open, "unterminated sizeof(...)");
                }
                if (is_punct(w, '('))
                    depth++;
                if (is_punct(w, ')') && --depth == 0)
                    break;
                sb_printf(&sb, "%s%s", sb.len ? " " : "", w->text ? w->text : "");
            }
            e = new_expr(p, EX_CALL);
            e->s = t->text;
            e->n = 1;
            e->items = arena_alloc(p->a, sizeof *e->items);
            e->items[0] = new_expr(p, EX_WORD);
            e->items[0]->s = arena_strdup(p->a, sb.buf ? sb.buf : "");
            sb_free(&sb);
            return e;
        }
        if (is_punct(peek(p), '(')) {
            next(p);
            e = new_expr(p, EX_CALL);
            e->s = t->text;
            parse_list(p, ')', e);
            if (is_punct(peek(p), '=')) {
                /* msg_name(...)=...: an assignment to a call-like field */
                next(p);
                expr *as = new_expr(p, EX_ASSIGN);
                as->s = t->text;
                as->n = 2;
                as->items = arena_alloc(p->a, sizeof *as->items * 2);
                as->items[0] = parse_expr(p);
                as->items[1] = e;
                return as;
            }
            return e;
        }
        if (is_punct(peek(p), '=')) {
            next(p);
            e = new_expr(p, EX_ASSIGN);
            e->s = t->text;
            e->n = 1;
            e->items = arena_alloc(p->a, sizeof *e->items);
            e->items[0] = parse_expr(p);
            return e;
        }
        e = new_expr(p, EX_WORD);
        e->s = t->text;
        return e;
    case TK_PUNCT:
        if (t->ival == '[') {
            e = new_expr(p, EX_ARRAY);
            parse_list(p, ']', e);
            return e;
        }
        if (t->ival == '{') {
            e = new_expr(p, EX_STRUCT);
            parse_list(p, '}', e);
            return e;
        }
        break;
    default:
        break;
    }
    perr(p, t, "expected an expression but found %s", tokdesc(t));
}

static expr *parse_expr_here(parser *p);

/* Every recursion of the parser passes here, so the depth bound holds for all of them. */
static expr *parse_expr(parser *p)
{
    if (++p->depth > MAX_NESTING)
        perr(p, peek(p), "expressions nested deeper than %d", MAX_NESTING);
    expr *e = parse_expr_here(p);
    p->depth--;
    return e;
}

static expr *parse_expr_here(parser *p)
{
    expr *first = parse_primary(p);
    if (!is_punct(peek(p), '|'))
        return first;
    expr *tmp[32];
    int n = 0;
    tmp[n++] = first;
    while (is_punct(peek(p), '|')) {
        next(p);
        if (n == 32)
            perr(p, peek(p), "expression too long");
        tmp[n++] = parse_primary(p);
    }
    expr *e = new_expr(p, EX_OR);
    e->n = n;
    e->items = arena_alloc(p->a, sizeof *e->items * (size_t)n);
    memcpy(e->items, tmp, sizeof *tmp * (size_t)n);
    return e;
}

static syscall_spec *parse_syscall(parser *p, syscall_spec *sc)
{
    token *nt = next(p);
    if (nt->kind != TK_WORD)
        perr(p, nt, "expected a system call name but found %s", tokdesc(nt));
    sc->name = nt->text;
    expr holder = {0};
    expect_punct(p, '(');
    parse_list(p, ')', &holder);
    sc->nargs = holder.n;
    sc->args = holder.items;
    token *eq = next(p);
    if (!is_punct(eq, '='))
        perr(p, eq, "expected '= result' after %s(...) but found %s", sc->name, tokdesc(eq));
    sc->result = parse_expr(p);
    if (peek(p)->kind == TK_WORD)
        sc->errno_name = next(p)->text; /* e.g. EINPROGRESS; a (note) may follow */
    if (is_punct(peek(p), '(')) {
        /* (comment words): taken as text, ignored */
        token *open = next(p);
        int depth = 1;
        strbuf sb = {0};
        while (depth > 0) {
            token *w = next(p);
            if (w->kind == TK_EOF) {
                sb_free(&sb);
                perr(p, open, "unterminated (note)");
            }
            if (is_punct(w, '('))
                depth++;
            if (is_punct(w, ')') && --depth == 0)
                break;
            sb_printf(&sb, "%s%s", sb.len ? " " : "", w->text ? w->text : "");
        }
        sc->note = arena_strdup(p->a, sb.buf ? sb.buf : "");
        sb_free(&sb);
    }
    return sc;
}

static void parse_events(parser *p)
{
    int cap = 64, n = 0;
    event *ev = malloc(sizeof *ev * (size_t)cap);
    if (!ev) {
        fprintf(stderr, "wtcp-pktrun: out of memory\n");
        exit(2);
    }
    /* ev is copied into the arena at the end; on a parse error it must not leak */
    p->sc->ev = ev;
    p->ev_building = 1;
    for (;;) {
        token *t = peek(p);
        if (t->kind == TK_EOF)
            break;
        if (t->kind == TK_BACKQ || t->kind == TK_CODE) {
            next(p);
            note(p, t->line, "skipped %s", t->kind == TK_BACKQ ? "shell command"
                 : "code block without a time (write it as `+0 %{ ... }%`)");
            continue;
        }
        if (t->kind == TK_OPTION)
            perr(p, t, "option --%s must come before the first event", t->text);
        if (!starts_time(t))
            perr(p, t, "expected an event time (0, +0.1, 0.3, *, a~b) but found %s", tokdesc(t));
        if (n == cap) {
            cap *= 2;
            event *ne = realloc(ev, sizeof *ev * (size_t)cap);
            if (!ne) {
                fprintf(stderr, "wtcp-pktrun: out of memory\n");
                exit(2);
            }
            ev = ne;
            p->sc->ev = ev;
        }
        event *e = &ev[n];
        memset(e, 0, sizeof *e);
        e->line = t->line;
        parse_event_time(p, &e->t);
        token *a = peek(p);
        if (is_punct(a, '<') || is_punct(a, '>')) {
            e->type = EV_PACKET;
            e->pkt = parse_packet(p);
        } else if (a->kind == TK_ELLIPSIS || a->kind == TK_WORD) {
            e->type = EV_SYSCALL;
            e->sc = arena_alloc(p->a, sizeof *e->sc);
            if (a->kind == TK_ELLIPSIS) {
                next(p);
                if (e->t.kind == TM_ANY || e->t.kind == TM_ABS_RANGE || e->t.kind == TM_REL_RANGE)
                    perr(p, a, "a blocking call (start...end) needs a plain start time");
                e->sc->has_end = 1;
                if (is_punct(peek(p), '+')) {
                    next(p);
                    e->sc->end_rel = 1;
                }
                e->sc->end_us = parse_time(p);
                if (e->t.kind == TM_ABS && e->sc->end_rel)
                    perr(p, a, "end time '+t' needs a relative start time (+t...+t)");
                if (e->sc->end_us < e->t.us)
                    perr(p, a, "blocking call ends before it starts");
            }
            parse_syscall(p, e->sc);
        } else if (a->kind == TK_BACKQ) {
            next(p);
            e->type = EV_COMMAND;
            e->text = a->text;
            note(p, a->line, "skipped shell command");
        } else if (a->kind == TK_CODE) {
            next(p);
            e->type = EV_CODE;
            e->text = a->text;
            char why[300];
            e->code = code_compile(p->a, a->text, a->line, why, sizeof why);
            if (!e->code) {
                e->code_why = arena_strdup(p->a, why);
                note(p, a->line, "skipped code block (%s)%s", why,
                     strstr(a->text, "assert") ? ": its assertions are not checked" : "");
            }
        } else {
            perr(p, a, "expected a packet (< or >) or a system call but found %s", tokdesc(a));
        }
        n++;
    }
    event *out = arena_alloc(p->a, sizeof *out * (size_t)(n ? n : 1));
    memcpy(out, ev, sizeof *ev * (size_t)n);
    free(ev);
    p->sc->ev = out;
    p->sc->nev = n;
    p->ev_building = 0; /* the arena holds it now (an empty script used to free the arena's copy) */
}

static void parse_options(parser *p)
{
    int n = 0;
    script_opt *o = NULL;
    script_opt tmp[128];
    while (peek(p)->kind == TK_OPTION || peek(p)->kind == TK_BACKQ) {
        token *t = next(p);
        if (t->kind == TK_BACKQ) {
            note(p, t->line, "skipped shell command");
            continue;
        }
        if (n == 128)
            perr(p, t, "too many options");
        tmp[n].name = t->text;
        tmp[n].value = NULL;
        tmp[n].line = t->line;
        if (is_punct(peek(p), '=')) {
            next(p);
            token *v = next(p);
            if (v->kind == TK_EOF || v->kind == TK_PUNCT)
                perr(p, v, "option --%s needs a value", t->text);
            if (v->kind == TK_WORD && is_punct(peek(p), '=')) {
                next(p);
                token *v2 = next(p);
                strbuf sb = {0};
                sb_printf(&sb, "%s=%s", v->text, v2->text ? v2->text : "");
                tmp[n].value = arena_strdup(p->a, sb.buf);
                sb_free(&sb);
            } else {
                tmp[n].value = v->text;
            }
        }
        n++;
    }
    if (n) {
        o = arena_alloc(p->a, sizeof *o * (size_t)n);
        memcpy(o, tmp, sizeof *tmp * (size_t)n);
    }
    p->sc->opts = o;
    p->sc->nopts = n;
}

int parse_script_file(const char *path, script *sc, char *err, size_t errsz)
{
    memset(sc, 0, sizeof *sc);
    sc->path = path;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsz, "%s: cannot open", path);
        return -1;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            snprintf(err, errsz, "%s: out of memory", path);
            return -1;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (len < cap)
            break;
        cap *= 2;
        char *nb = realloc(buf, cap);
        if (!nb)
            free(buf);
        buf = nb;
    }
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(buf);
        snprintf(err, errsz, "%s: read error", path);
        return -1;
    }
    int r = parse_script_text(path, buf, len, sc, err, errsz);
    free(buf);
    return r;
}

int parse_script_text(const char *path, const char *buf, size_t len, script *sc, char *err, size_t errsz)
{
    memset(sc, 0, sizeof *sc);
    sc->path = path;
    token *toks;
    int ntoks, eline = 0;
    char lerr[256];
    if (lex_script(&sc->mem, buf, len, &toks, &ntoks, &eline, lerr, sizeof lerr) < 0) {
        snprintf(err, errsz, "%s:%d: %s", path, eline, lerr);
        arena_free(&sc->mem);
        return -1;
    }
    apply_defines(&sc->mem, toks, ntoks);
    parser p;
    memset(&p, 0, sizeof p);
    p.sc = sc;
    p.a = &sc->mem;
    p.t = toks;
    p.n = ntoks;
    p.err = err;
    p.errsz = errsz;
    if (setjmp(p.jb)) {
        if (sc->ev && p.ev_building)
            free(sc->ev); /* still the malloc'd build buffer */
        sc->ev = NULL;
        sc->nev = 0;
        free(p.notes);
        arena_free(&sc->mem);
        return -1;
    }
    parse_options(&p);
    parse_events(&p);
    if (sc->nev == 0) {
        token *t = peek(&p);
        perr(&p, t, "script has no events");
    }
    if (sc->ev[0].t.us != 0 || sc->ev[0].t.kind == TM_ABS_RANGE || sc->ev[0].t.kind == TM_REL_RANGE) {
        token fake = {0};
        fake.line = sc->ev[0].line;
        perr(&p, &fake, "first event should be at time 0");
    }
    if (p.nnotes) {
        sc->notes = arena_alloc(&sc->mem, sizeof *sc->notes * (size_t)p.nnotes);
        memcpy(sc->notes, p.notes, sizeof *p.notes * (size_t)p.nnotes);
        sc->nnotes = p.nnotes;
    }
    free(p.notes);
    return 0;
}

void script_free(script *sc)
{
    arena_free(&sc->mem);
    sc->ev = NULL;
    sc->nev = 0;
}
