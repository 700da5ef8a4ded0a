/* print.c: packetdrill notation for script events and packets. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktrun.h"

void sb_printf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = sb->cap - sb->len;
        va_start(ap, fmt);
        int n = vsnprintf(sb->buf ? sb->buf + sb->len : NULL, sb->buf ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (sb->buf && (size_t)n < room) {
            sb->len += (size_t)n;
            return;
        }
        size_t cap = sb->cap ? sb->cap : 128;
        while (cap < sb->len + (size_t)n + 1)
            cap *= 2;
        char *nb = realloc(sb->buf, cap);
        if (!nb) {
            fprintf(stderr, "wtcp-pktrun: out of memory\n");
            exit(2);
        }
        sb->buf = nb;
        sb->cap = cap;
        if (sb->len == 0)
            sb->buf[0] = 0;
    }
}

void sb_free(strbuf *sb)
{
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
}

void fmt_secs(strbuf *sb, int64_t us)
{
    const char *sign = "";
    if (us < 0) {
        sign = "-";
        us = -us;
    }
    long long s = (long long)(us / 1000000), f = (long long)(us % 1000000);
    if (f == 0) {
        sb_printf(sb, "%s%lld", sign, s);
        return;
    }
    int digits = 6;
    while (f % 10 == 0) {
        f /= 10;
        digits--;
    }
    sb_printf(sb, "%s%lld.%0*lld", sign, s, digits, f);
}

void print_time(strbuf *sb, const ev_time *t)
{
    switch (t->kind) {
    case TM_ANY:
        sb_printf(sb, "*");
        break;
    case TM_ABS:
        fmt_secs(sb, t->us);
        break;
    case TM_REL:
        sb_printf(sb, "+");
        fmt_secs(sb, t->us);
        break;
    case TM_ABS_RANGE:
        fmt_secs(sb, t->us);
        sb_printf(sb, "~");
        fmt_secs(sb, t->us_end);
        break;
    case TM_REL_RANGE:
        sb_printf(sb, "+");
        fmt_secs(sb, t->us);
        sb_printf(sb, "~+");
        fmt_secs(sb, t->us_end);
        break;
    }
}

void print_tcp_opts(strbuf *sb, const tcp_opt *opts, int n)
{
    sb_printf(sb, "<");
    for (int i = 0; i < n; i++) {
        const tcp_opt *o = &opts[i];
        if (i)
            sb_printf(sb, ",");
        switch (o->kind) {
        case OPT_EOL: sb_printf(sb, "eol"); break;
        case OPT_NOP: sb_printf(sb, "nop"); break;
        case OPT_MSS: sb_printf(sb, "mss %u", (unsigned)o->a); break;
        case OPT_WSCALE: sb_printf(sb, "wscale %u", (unsigned)o->a); break;
        case OPT_SACKOK: sb_printf(sb, "sackOK"); break;
        case OPT_SACK:
            sb_printf(sb, "sack");
            for (int b = 0; b < o->nsack; b++)
                sb_printf(sb, " %u:%u", (unsigned)o->sack[b][0], (unsigned)o->sack[b][1]);
            break;
        case OPT_TS: sb_printf(sb, "TS val %u ecr %u", (unsigned)o->a, (unsigned)o->b); break;
        case OPT_MD5:
        case OPT_FO:
        case OPT_FOEXP:
            sb_printf(sb, "%s", o->kind == OPT_MD5 ? "md5" : o->kind == OPT_FO ? "FO" : "FOEXP");
            if (o->dlen) {
                sb_printf(sb, " ");
                for (int b = 0; b < o->dlen; b++)
                    sb_printf(sb, "%02x", o->data[b]);
            }
            break;
        default:
            /* not packetdrill syntax: only printed for live packets */
            sb_printf(sb, "opt%u", (unsigned)o->kind);
            if (o->dlen) {
                sb_printf(sb, " ");
                for (int b = 0; b < o->dlen; b++)
                    sb_printf(sb, "%02x", o->data[b]);
            }
            break;
        }
    }
    sb_printf(sb, ">");
}

static void print_flags(strbuf *sb, uint16_t f)
{
    if (!(f & ~F_ACK)) {
        sb_printf(sb, "%s", f & F_ACK ? "." : "-");
        return;
    }
    static const struct { uint16_t bit; char c; } order[] = {
        { F_FIN, 'F' }, { F_SYN, 'S' }, { F_RST, 'R' }, { F_PSH, 'P' },
        { F_URG, 'U' }, { F_ECE, 'E' }, { F_CWR, 'W' }, { F_AE, 'A' },
    };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (f & order[i].bit)
            sb_printf(sb, "%c", order[i].c);
    if (f & F_ACK)
        sb_printf(sb, ".");
}

void print_pkt_spec(strbuf *sb, const pkt_spec *p)
{
    sb_printf(sb, "%c ", p->dir);
    if (p->ecn != ECN_UNSPEC || p->has_tos || p->has_ttl) {
        static const char *ecn[] = { "noecn", "ect1", "ect0", "ce", "ect01" };
        int first = 1;
        sb_printf(sb, "[");
        if (p->ecn != ECN_UNSPEC) {
            sb_printf(sb, "%s", ecn[p->ecn]);
            first = 0;
        }
        if (p->has_tos) {
            sb_printf(sb, "%stos 0x%x", first ? "" : ",", p->tos);
            first = 0;
        }
        if (p->has_ttl)
            sb_printf(sb, "%sttl %u", first ? "" : ",", p->ttl);
        sb_printf(sb, "] ");
    }
    if (p->proto == PR_ICMP) {
        sb_printf(sb, "icmp %s", p->icmp_type_name ? p->icmp_type_name : icmp_type_name(p->icmp_type));
        const char *cn = p->icmp_code_name ? p->icmp_code_name : icmp_code_name(p->icmp_type, p->icmp_code);
        if (cn)
            sb_printf(sb, " %s", cn);
        if (p->has_mtu)
            sb_printf(sb, " mtu %u", (unsigned)p->mtu);
        if (p->has_id)
            sb_printf(sb, " id %u", (unsigned)p->id);
        if (p->has_echo) {
            if (p->echo_proto == PR_UDP)
                sb_printf(sb, " [udp (%u)]", (unsigned)p->echo_len);
            else if (p->echo_proto == PR_TCP)
                sb_printf(sb, " [%u:%u(%u)]", (unsigned)p->echo_seq, (unsigned)p->echo_end,
                          (unsigned)p->echo_len);
            else
                sb_printf(sb, " [raw (%u)]", (unsigned)p->echo_len);
        }
        return;
    }
    if (p->proto == PR_UDP) {
        sb_printf(sb, "udp ");
        if (p->has_ports)
            sb_printf(sb, "%u>%u ", p->sport, p->dport);
        sb_printf(sb, "(%u)", (unsigned)p->udp_len);
        return;
    }
    if (p->has_ports)
        sb_printf(sb, "%u>%u ", p->sport, p->dport);
    print_flags(sb, p->flags);
    sb_printf(sb, " %u:%u(%u)", (unsigned)p->seq, (unsigned)p->end, (unsigned)p->len);
    if (p->has_ack)
        sb_printf(sb, " ack %u", (unsigned)p->ack);
    if (p->has_win)
        sb_printf(sb, " win %u", (unsigned)p->win);
    if (p->has_urg)
        sb_printf(sb, " urg %u", (unsigned)p->urg);
    if (p->opts_any)
        sb_printf(sb, " <...>");
    else if (p->nopts) {
        sb_printf(sb, " ");
        print_tcp_opts(sb, p->opts, p->nopts);
    }
}

void print_expr(strbuf *sb, const expr *e)
{
    switch (e->kind) {
    case EX_ELLIPSIS:
        sb_printf(sb, "...");
        break;
    case EX_INT:
        if (e->is_hex)
            sb_printf(sb, "0x%llx", (unsigned long long)e->ival);
        else
            sb_printf(sb, "%lld", (long long)e->ival);
        break;
    case EX_WORD:
        sb_printf(sb, "%s", e->s);
        break;
    case EX_STRING:
        sb_printf(sb, "\"%s\"", e->s);
        break;
    case EX_OR:
        for (int i = 0; i < e->n; i++) {
            if (i)
                sb_printf(sb, "|");
            print_expr(sb, e->items[i]);
        }
        break;
    case EX_ARRAY:
    case EX_STRUCT:
    case EX_CALL:
        if (e->kind == EX_CALL)
            sb_printf(sb, "%s(", e->s);
        else
            sb_printf(sb, "%c", e->kind == EX_ARRAY ? '[' : '{');
        for (int i = 0; i < e->n; i++) {
            if (i)
                sb_printf(sb, ", ");
            print_expr(sb, e->items[i]);
        }
        sb_printf(sb, "%c", e->kind == EX_ARRAY ? ']' : e->kind == EX_STRUCT ? '}' : ')');
        break;
    case EX_ASSIGN:
        if (e->n > 1)
            print_expr(sb, e->items[1]);
        else
            sb_printf(sb, "%s", e->s);
        sb_printf(sb, "=");
        print_expr(sb, e->items[0]);
        break;
    }
}

void print_syscall(strbuf *sb, const syscall_spec *s, const ev_time *t)
{
    (void)t;
    if (s->has_end) {
        sb_printf(sb, "...");
        if (s->end_rel)
            sb_printf(sb, "+");
        fmt_secs(sb, s->end_us);
        sb_printf(sb, " ");
    }
    sb_printf(sb, "%s(", s->name);
    for (int i = 0; i < s->nargs; i++) {
        if (i)
            sb_printf(sb, ", ");
        print_expr(sb, s->args[i]);
    }
    sb_printf(sb, ") = ");
    print_expr(sb, s->result);
    if (s->errno_name)
        sb_printf(sb, " %s", s->errno_name);
    if (s->note)
        sb_printf(sb, " (%s)", s->note);
}

void print_event(strbuf *sb, const event *e)
{
    print_time(sb, &e->t);
    switch (e->type) {
    case EV_PACKET:
        sb_printf(sb, " ");
        print_pkt_spec(sb, e->pkt);
        break;
    case EV_SYSCALL:
        if (!e->sc->has_end)
            sb_printf(sb, " ");
        print_syscall(sb, e->sc, &e->t);
        break;
    case EV_COMMAND:
        sb_printf(sb, " `%s`", e->text);
        break;
    case EV_CODE:
        if (e->code)
            sb_printf(sb, " %%{ ... }%% (%d assert%s)", code_nasserts(e->code),
                      code_nasserts(e->code) == 1 ? "" : "s");
        else
            sb_printf(sb, " %%{ ... }%% (skipped: %s)", e->code_why ? e->code_why : "");
        break;
    }
}
