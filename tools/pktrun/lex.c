/* lex.c: packetdrill's token rules (see its lexer.l): longest match wins, ties go to
 * the earlier rule (ELLIPSIS, OPTION, FLOAT, INTEGER, HEX, WORD, STRING, BACKQUOTE),
 * whitespace, // and C comments are skipped, `...` and %{...}% span lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktrun.h"

/* ---- arena ---- */
struct arena_blk {
    arena_blk *next;
    size_t used, cap;
    max_align_t data[];
};

void *arena_alloc(arena *a, size_t n)
{
    const size_t align = sizeof(max_align_t);
    n = (n + align - 1) / align * align;
    if (n == 0)
        n = align;
    arena_blk *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        b = malloc(sizeof *b + cap);
        if (!b) {
            fprintf(stderr, "wtcp-pktrun: out of memory\n");
            exit(2);
        }
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *arena_strdup(arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

void arena_free(arena *a)
{
    arena_blk *b = a->head;
    while (b) {
        arena_blk *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
}

/* ---- lexer ---- */
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_hexd(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int is_wordc(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* Length of [-]?[0-9]*[.][0-9]+ at p, or 0. */
static size_t m_float(const char *p, const char *e)
{
    const char *q = p;
    if (q < e && *q == '-')
        q++;
    while (q < e && is_digit(*q))
        q++;
    if (q >= e || *q != '.')
        return 0;
    q++;
    const char *d = q;
    while (q < e && is_digit(*q))
        q++;
    return q > d ? (size_t)(q - p) : 0;
}

static size_t m_int(const char *p, const char *e)
{
    const char *q = p;
    if (q < e && *q == '-')
        q++;
    const char *d = q;
    while (q < e && is_digit(*q))
        q++;
    return q > d ? (size_t)(q - p) : 0;
}

static size_t m_hex(const char *p, const char *e)
{
    if (e - p < 3 || p[0] != '0' || p[1] != 'x' || !is_hexd(p[2]))
        return 0;
    const char *q = p + 2;
    while (q < e && is_hexd(*q))
        q++;
    return (size_t)(q - p);
}

static size_t m_word(const char *p, const char *e)
{
    const char *q = p;
    while (q < e && is_wordc(*q))
        q++;
    return (size_t)(q - p);
}

static size_t m_option(const char *p, const char *e)
{
    if (e - p < 3 || p[0] != '-' || p[1] != '-' || !is_wordc(p[2]))
        return 0;
    return 2 + m_word(p + 2, e);
}

static size_t m_ipv4(const char *p, const char *e)
{
    const char *q = p;
    for (int i = 0; i < 4; i++) {
        const char *d = q;
        while (q < e && is_digit(*q))
            q++;
        if (q == d)
            return 0;
        if (i < 3) {
            if (q >= e || *q != '.')
                return 0;
            q++;
        }
    }
    return (size_t)(q - p);
}

/* IPv6-looking: hex digits and colons with "::" or exactly 7 colons. */
static size_t m_ipv6(const char *p, const char *e)
{
    const char *q = p;
    int colons = 0, dbl = 0;
    while (q < e && (is_hexd(*q) || *q == ':' || (*q == '.' && colons))) {
        if (*q == ':') {
            colons++;
            if (q + 1 < e && q[1] == ':')
                dbl = 1;
        }
        q++;
    }
    return (dbl || colons == 7) ? (size_t)(q - p) : 0;
}

/* Quoted with backslash escapes: "..." or `...`. Returns length incl. quotes or 0. */
static size_t m_quoted(const char *p, const char *e, char quote)
{
    if (p >= e || *p != quote)
        return 0;
    const char *q = p + 1;
    while (q < e && *q != quote) {
        if (*q == '\\' && q + 1 < e)
            q++;
        q++;
    }
    return q < e ? (size_t)(q + 1 - p) : 0;
}

static int count_lines(const char *p, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += p[i] == '\n';
    return c;
}

int lex_script(arena *a, const char *src, size_t len, token **toks, int *ntoks,
               int *err_line, char *err, size_t errsz)
{
    const char *p = src, *e = src + len;
    int line = 1;
    int cap = 256, n = 0;
    token *t = malloc(sizeof *t * (size_t)cap);
    if (!t) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    for (;;) {
        /* whitespace and comments */
        while (p < e) {
            if (*p == '\n') {
                line++;
                p++;
            } else if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f' || *p == '\v') {
                p++;
            } else if (p + 1 < e && p[0] == '/' && p[1] == '/') {
                while (p < e && *p != '\n')
                    p++;
            } else if (p + 1 < e && p[0] == '/' && p[1] == '*') {
                const char *q = p + 2;
                while (q + 1 < e && !(q[0] == '*' && q[1] == '/'))
                    q++;
                if (q + 1 >= e) {
                    *err_line = line;
                    snprintf(err, errsz, "unterminated /* comment");
                    free(t);
                    return -1;
                }
                line += count_lines(p, (size_t)(q + 2 - p));
                p = q + 2;
            } else {
                break;
            }
        }
        if (n + 1 >= cap) {
            cap *= 2;
            token *nt = realloc(t, sizeof *t * (size_t)cap);
            if (!nt) {
                free(t);
                snprintf(err, errsz, "out of memory");
                return -1;
            }
            t = nt;
        }
        token *k = &t[n];
        memset(k, 0, sizeof *k);
        k->line = line;
        if (p >= e) {
            k->kind = TK_EOF;
            n++;
            break;
        }
        /* %{ code }% */
        if (p + 1 < e && p[0] == '%' && p[1] == '{') {
            const char *q = p + 2;
            while (q + 1 < e && !(q[0] == '}' && q[1] == '%'))
                q++;
            if (q + 1 >= e) {
                *err_line = line;
                snprintf(err, errsz, "unterminated %%{ code }%% block");
                free(t);
                return -1;
            }
            k->kind = TK_CODE;
            k->text = arena_strndup(a, p + 2, (size_t)(q - p - 2));
            line += count_lines(p, (size_t)(q + 2 - p));
            p = q + 2;
            n++;
            continue;
        }
        size_t best = 0;
        int kind = TK_PUNCT;
        size_t l;
        if (e - p >= 3 && p[0] == '.' && p[1] == '.' && p[2] == '.') {
            best = 3;
            kind = TK_ELLIPSIS;
        }
        if ((l = m_option(p, e)) > best) { best = l; kind = TK_OPTION; }
        if ((l = m_float(p, e)) > best) { best = l; kind = TK_FLOAT; }
        if ((l = m_int(p, e)) > best) { best = l; kind = TK_INT; }
        if ((l = m_hex(p, e)) > best) { best = l; kind = TK_HEX; }
        if ((l = m_word(p, e)) > best) { best = l; kind = TK_WORD; }
        if ((l = m_quoted(p, e, '"')) > best) { best = l; kind = TK_STRING; }
        if ((l = m_quoted(p, e, '`')) > best) { best = l; kind = TK_BACKQ; }
        if ((l = m_ipv4(p, e)) > best) { best = l; kind = TK_IPV4; }
        if ((l = m_ipv6(p, e)) > best) { best = l; kind = TK_IPV6; }
        if (best == 0) {
            if (*p == '"' || *p == '`') {
                *err_line = line;
                snprintf(err, errsz, "unterminated %s", *p == '"' ? "string" : "`command`");
                free(t);
                return -1;
            }
            best = 1;
            kind = TK_PUNCT;
        }
        k->kind = kind;
        switch (kind) {
        case TK_PUNCT:
            k->ival = (unsigned char)*p;
            k->text = arena_strndup(a, p, 1);
            break;
        case TK_OPTION:
            k->text = arena_strndup(a, p + 2, best - 2);
            break;
        case TK_STRING:
        case TK_BACKQ:
            k->text = arena_strndup(a, p + 1, best - 2);
            break;
        case TK_INT:
            k->text = arena_strndup(a, p, best);
            k->ival = strtoll(k->text, NULL, 10);
            break;
        case TK_HEX:
            k->text = arena_strndup(a, p, best);
            k->ival = (int64_t)strtoull(k->text + 2, NULL, 16);
            break;
        default:
            k->text = arena_strndup(a, p, best);
            break;
        }
        line += count_lines(p, best);
        p += best;
        n++;
    }
    token *out = arena_alloc(a, sizeof *out * (size_t)n);
    memcpy(out, t, sizeof *out * (size_t)n);
    free(t);
    *toks = out;
    *ntoks = n;
    return 0;
}
