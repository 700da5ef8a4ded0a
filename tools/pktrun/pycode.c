/* pycode.c: %{ }% code blocks. packetdrill hands them to Python with the socket's
 * tcp_info as variables; wtcp-pktrun evaluates the subset that published scripts use,
 * itself, with no Python:
 *
 *   statements  assert EXPR [, EXPR]      NAME = EXPR      NAME op= EXPR
 *               print(EXPR, ...)          pass
 *               separated by newlines or ';', '#' comments, '\' continuations
 *   EXPR        or and not, comparisons (chained: a <= x <= b), | ^ & << >> + - * / // % **,
 *               unary - + ~, (parentheses), (tuples, for '%' formatting), integers (0x 0o 0b),
 *               floats, 'strings' "strings", True False, min() max() abs() int()
 *   names       tcpi_* / wtcpi_* (tcpinfo.c), TCP_* / TCP_CA_* / TCPI_OPT_* constants,
 *               variables assigned by earlier statements (they live across blocks)
 *
 * Anything else (import, if, for, def, calls other than those above, ...) makes the whole
 * block unsupported: code_compile() says why and the runner skips it with a notice. Values
 * follow Python: ints are exact (64-bit here; overflow is an error), '/' gives a float,
 * '//' and '%' round toward minus infinity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktrun.h"

/* ---- tokens ---- */
enum { T_END, T_NL, T_INT, T_FLT, T_STR, T_NAME, T_OP };

typedef struct ptok {
    int k;
    int line;
    int64_t i;
    double d;
    char *s;                /* name, string contents, operator */
    size_t off, end;        /* source span */
} ptok;

/* ---- syntax tree ---- */
enum { K_INT, K_FLT, K_STR, K_NAME, K_TUPLE, K_CALL, K_NEG, K_POS, K_INV, K_NOT, K_AND, K_OR,
       K_BIN, K_CMP };
enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FDIV, OP_MOD, OP_POW, OP_SHL, OP_SHR, OP_BAND, OP_BOR,
       OP_BXOR, OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

typedef struct pn {
    int k, op;
    int64_t i;
    double d;
    const char *s;
    struct pn *a, *b;
    struct pn **v;          /* tuple items, call args, comparison operands */
    int *ops;               /* comparison operators (n - 1) */
    int n;
} pn;

enum { S_ASSERT, S_ASSIGN, S_PRINT, S_PASS };
typedef struct pstmt {
    int k, line, op;        /* op: -1 for '=', else the OP_* of an augmented assignment */
    const char *name;       /* assignment target */
    const char *text;       /* assert: the expression as written */
    pn *e, *msg;
    pn **args;
    int nargs;
} pstmt;

struct code_prog {
    pstmt *st;
    int n, nasserts;
};

int code_nasserts(const code_prog *p) { return p ? p->nasserts : 0; }

/* ---- compiling ---- */
typedef struct comp {
    arena *a;
    const char *src;
    ptok *t;
    int n, i, cap;
    jmp_buf jb;
    char *why;
    size_t whysz;
    int depth; /* p_factor and p_not calls open: unary operators and parentheses */
} comp;

/* Deeper than this is an error, not a stack overflow (the fuzzer found `((((~~~~...`
 * thousands deep). */
#define MAX_NESTING 100

static void cfail(comp *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3), noreturn))
#endif
    ;

static void cfail(comp *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, c->whysz, fmt, ap);
    va_end(ap);
    longjmp(c->jb, 1);
}

static int is_alpha(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_'; }
static int is_dig(char ch) { return ch >= '0' && ch <= '9'; }

static ptok *push(comp *c, int k, int line, size_t off, size_t end)
{
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 64;
        ptok *nt = arena_alloc(c->a, sizeof *nt * (size_t)cap);
        if (c->n)
            memcpy(nt, c->t, sizeof *nt * (size_t)c->n);
        c->t = nt;
        c->cap = cap;
    }
    ptok *t = &c->t[c->n++];
    memset(t, 0, sizeof *t);
    t->k = k;
    t->line = line;
    t->off = off;
    t->end = end;
    return t;
}

static int digit_val(char ch)
{
    if (is_dig(ch)) return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return 99;
}

static void lex_number(comp *c, const char *p, size_t *pos, int line)
{
    size_t start = *pos, q = start;
    int base = 10;
    if (p[q] == '0' && (p[q + 1] == 'x' || p[q + 1] == 'X' || p[q + 1] == 'o' || p[q + 1] == 'O' ||
                        p[q + 1] == 'b' || p[q + 1] == 'B')) {
        char b = (char)(p[q + 1] | 0x20);
        base = b == 'x' ? 16 : b == 'o' ? 8 : 2;
        q += 2;
        uint64_t v = 0;
        int nd = 0;
        while (digit_val(p[q]) < base || p[q] == '_') {
            if (p[q] != '_') {
                uint64_t d = (uint64_t)digit_val(p[q]);
                if (v > (UINT64_C(0x7fffffffffffffff) - d) / (uint64_t)base)
                    cfail(c, "integer literal too large");
                v = v * (uint64_t)base + d;
                nd++;
            }
            q++;
        }
        if (!nd || is_alpha(p[q]) || is_dig(p[q]))
            cfail(c, "bad number literal");
        ptok *t = push(c, T_INT, line, start, q);
        t->i = (int64_t)v;
        *pos = q;
        return;
    }
    int is_float = 0;
    char buf[64];
    size_t bl = 0;
    while (is_dig(p[q]) || p[q] == '_' || p[q] == '.' ||
           ((p[q] == 'e' || p[q] == 'E') && (is_dig(p[q + 1]) || ((p[q + 1] == '+' || p[q + 1] == '-') && is_dig(p[q + 2]))))) {
        if (p[q] == '.' || p[q] == 'e' || p[q] == 'E')
            is_float = 1;
        if (p[q] == 'e' || p[q] == 'E') {
            if (bl + 2 >= sizeof buf)
                cfail(c, "number literal too long");
            buf[bl++] = p[q++];
            buf[bl++] = p[q++];
            continue;
        }
        if (p[q] != '_') {
            if (bl + 1 >= sizeof buf)
                cfail(c, "number literal too long");
            buf[bl++] = p[q];
        }
        q++;
    }
    buf[bl] = 0;
    if (is_alpha(p[q]))
        cfail(c, "bad number literal");
    ptok *t = push(c, is_float ? T_FLT : T_INT, line, start, q);
    if (is_float) {
        t->d = strtod(buf, NULL);
    } else {
        if (bl > 1 && buf[0] == '0') {
            for (size_t k = 0; k < bl; k++)
                if (buf[k] != '0')
                    cfail(c, "leading zeros in a decimal integer literal");
        }
        uint64_t v = 0;
        for (size_t k = 0; k < bl; k++) {
            uint64_t d = (uint64_t)(buf[k] - '0');
            if (v > (UINT64_C(0x7fffffffffffffff) - d) / 10)
                cfail(c, "integer literal too large");
            v = v * 10 + d;
        }
        t->i = (int64_t)v;
    }
    *pos = q;
}

static void lex_string(comp *c, const char *p, size_t *pos, int *line)
{
    size_t start = *pos;
    char quote = p[start];
    if (p[start + 1] == quote && p[start + 2] == quote)
        cfail(c, "triple-quoted strings are not supported");
    size_t q = start + 1;
    strbuf sb = {0};
    while (p[q] && p[q] != quote) {
        if (p[q] == '\n') {
            sb_free(&sb);
            cfail(c, "unterminated string");
        }
        if (p[q] == '\\' && p[q + 1]) {
            q++;
            char e = p[q];
            switch (e) {
            case 'n': sb_printf(&sb, "\n"); break;
            case 't': sb_printf(&sb, "\t"); break;
            case '\\': sb_printf(&sb, "\\"); break;
            case '\'': sb_printf(&sb, "'"); break;
            case '"': sb_printf(&sb, "\""); break;
            case '\n': (*line)++; break;
            default: sb_printf(&sb, "\\%c", e); break;
            }
            q++;
            continue;
        }
        sb_printf(&sb, "%c", p[q]);
        q++;
    }
    if (p[q] != quote) {
        sb_free(&sb);
        cfail(c, "unterminated string");
    }
    q++;
    ptok *t = push(c, T_STR, *line, start, q);
    t->s = arena_strdup(c->a, sb.buf ? sb.buf : "");
    sb_free(&sb);
    *pos = q;
}

static void lex_code(comp *c, const char *p, int line)
{
    size_t pos = 0;
    int depth = 0;
    static const char *const ops3[] = { "**=", "//=", "<<=", ">>=" };
    static const char *const ops2[] = { "**", "//", "<<", ">>", "<=", ">=", "==", "!=", "+=", "-=",
                                        "*=", "/=", "%=", "&=", "|=", "^=" };
    for (;;) {
        char ch = p[pos];
        if (!ch)
            break;
        if (ch == '\n') {
            if (depth == 0)
                push(c, T_NL, line, pos, pos + 1);
            line++;
            pos++;
            continue;
        }
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v') {
            pos++;
            continue;
        }
        if (ch == '#') {
            while (p[pos] && p[pos] != '\n')
                pos++;
            continue;
        }
        if (ch == '\\') {
            size_t q = pos + 1;
            while (p[q] == ' ' || p[q] == '\t' || p[q] == '\r')
                q++;
            if (p[q] != '\n' && p[q])
                cfail(c, "stray '\\'");
            if (p[q] == '\n')
                line++;
            pos = p[q] ? q + 1 : q;
            continue;
        }
        if (ch == ';') {
            push(c, T_NL, line, pos, pos + 1);
            pos++;
            continue;
        }
        if (is_dig(ch) || (ch == '.' && is_dig(p[pos + 1]))) {
            lex_number(c, p, &pos, line);
            continue;
        }
        if (ch == '\'' || ch == '"') {
            lex_string(c, p, &pos, &line);
            continue;
        }
        if (is_alpha(ch)) {
            size_t q = pos;
            while (is_alpha(p[q]) || is_dig(p[q]))
                q++;
            if (p[q] == '\'' || p[q] == '"')
                cfail(c, "string prefixes (%.*s'...') are not supported", (int)(q - pos), p + pos);
            ptok *t = push(c, T_NAME, line, pos, q);
            t->s = arena_strndup(c->a, p + pos, q - pos);
            pos = q;
            continue;
        }
        const char *op = NULL;
        for (size_t k = 0; k < sizeof ops3 / sizeof ops3[0] && !op; k++)
            if (!strncmp(p + pos, ops3[k], 3))
                op = ops3[k];
        for (size_t k = 0; k < sizeof ops2 / sizeof ops2[0] && !op; k++)
            if (!strncmp(p + pos, ops2[k], 2))
                op = ops2[k];
        if (!op && strchr("+-*/%&|^~<>()=,", ch)) {
            static char one[16][2];
            const char *set = "+-*/%&|^~<>()=,";
            size_t k = (size_t)(strchr(set, ch) - set);
            one[k][0] = ch;
            one[k][1] = 0;
            op = one[k];
        }
        if (!op)
            cfail(c, "unsupported character '%c'", ch);
        if (op[0] == '(' )
            depth++;
        if (op[0] == ')' && depth > 0)
            depth--;
        size_t l = strlen(op);
        ptok *t = push(c, T_OP, line, pos, pos + l);
        t->s = (char *)op;
        pos += l;
    }
    push(c, T_END, line, pos, pos);
}

static ptok *cpeek(comp *c) { return &c->t[c->i]; }
static ptok *cnext(comp *c)
{
    ptok *t = &c->t[c->i];
    if (t->k != T_END)
        c->i++;
    return t;
}
static int is_op(const ptok *t, const char *op) { return t->k == T_OP && !strcmp(t->s, op); }
static int is_name(const ptok *t, const char *w) { return t->k == T_NAME && !strcmp(t->s, w); }

static const char *tdesc(const ptok *t)
{
    switch (t->k) {
    case T_END: return "end of block";
    case T_NL: return "end of statement";
    case T_STR: return "a string";
    case T_INT: case T_FLT: return "a number";
    default: return t->s;
    }
}

static const char *const keywords[] = {
    "if", "else", "elif", "for", "while", "in", "is", "lambda", "import", "from", "def", "class",
    "return", "del", "global", "nonlocal", "with", "yield", "try", "except", "finally", "raise",
    "as", "None", "async", "await", "break", "continue", "assert", "pass", "and", "or", "not",
    "True", "False",
};
static int is_keyword(const char *s)
{
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
        if (!strcmp(keywords[k], s))
            return 1;
    return 0;
}

static pn *node(comp *c, int k)
{
    pn *e = arena_alloc(c->a, sizeof *e);
    e->k = k;
    return e;
}

static pn *p_test(comp *c);

static pn *p_atom(comp *c)
{
    ptok *t = cnext(c);
    pn *e;
    switch (t->k) {
    case T_INT:
        e = node(c, K_INT);
        e->i = t->i;
        return e;
    case T_FLT:
        e = node(c, K_FLT);
        e->d = t->d;
        return e;
    case T_STR: {
        strbuf sb = {0};
        sb_printf(&sb, "%s", t->s);
        while (cpeek(c)->k == T_STR)
            sb_printf(&sb, "%s", cnext(c)->s);
        e = node(c, K_STR);
        e->s = arena_strdup(c->a, sb.buf ? sb.buf : "");
        sb_free(&sb);
        return e;
    }
    case T_NAME:
        if (!strcmp(t->s, "True") || !strcmp(t->s, "False")) {
            e = node(c, K_INT);
            e->i = t->s[0] == 'T';
            e->op = 1; /* a bool */
            return e;
        }
        if (is_keyword(t->s))
            cfail(c, "'%s' is not supported", t->s);
        if (is_op(cpeek(c), "(")) {
            if (strcmp(t->s, "min") && strcmp(t->s, "max") && strcmp(t->s, "abs") && strcmp(t->s, "int"))
                cfail(c, "function %s() is not supported", t->s);
            cnext(c);
            e = node(c, K_CALL);
            e->s = t->s;
            pn *tmp[16];
            int n = 0;
            while (!is_op(cpeek(c), ")")) {
                if (n == 16)
                    cfail(c, "too many arguments");
                tmp[n++] = p_test(c);
                if (!is_op(cpeek(c), ","))
                    break;
                cnext(c);
            }
            if (!is_op(cnext(c), ")"))
                cfail(c, "expected ')' after the arguments of %s()", t->s);
            if (n == 0 || ((!strcmp(e->s, "abs") || !strcmp(e->s, "int")) && n != 1))
                cfail(c, "wrong number of arguments for %s()", e->s);
            e->n = n;
            e->v = arena_alloc(c->a, sizeof *e->v * (size_t)n);
            memcpy(e->v, tmp, sizeof *tmp * (size_t)n);
            return e;
        }
        if (is_op(cpeek(c), "[") || is_op(cpeek(c), "."))
            cfail(c, "'%s%s' is not supported", t->s, cpeek(c)->s);
        e = node(c, K_NAME);
        e->s = t->s;
        return e;
    case T_OP:
        if (!strcmp(t->s, "(")) {
            pn *tmp[32];
            int n = 0, comma = 0;
            while (!is_op(cpeek(c), ")")) {
                if (n == 32)
                    cfail(c, "tuple too long");
                tmp[n++] = p_test(c);
                if (!is_op(cpeek(c), ","))
                    break;
                cnext(c);
                comma = 1;
            }
            if (!is_op(cnext(c), ")"))
                cfail(c, "expected ')'");
            if (n == 1 && !comma)
                return tmp[0];
            e = node(c, K_TUPLE);
            e->n = n;
            e->v = arena_alloc(c->a, sizeof *e->v * (size_t)(n ? n : 1));
            memcpy(e->v, tmp, sizeof *tmp * (size_t)n);
            return e;
        }
        break;
    default:
        break;
    }
    cfail(c, "unexpected %s", tdesc(t));
}

static pn *bin(comp *c, int op, pn *a, pn *b)
{
    pn *e = node(c, K_BIN);
    e->op = op;
    e->a = a;
    e->b = b;
    return e;
}

static pn *p_factor(comp *c);

static pn *p_power(comp *c)
{
    pn *a = p_atom(c);
    if (is_op(cpeek(c), "[") || is_op(cpeek(c), "."))
        cfail(c, "'%s' is not supported", cpeek(c)->s);
    if (is_op(cpeek(c), "**")) {
        cnext(c);
        return bin(c, OP_POW, a, p_factor(c));
    }
    return a;
}

static void nest_in(comp *c)
{
    if (++c->depth > MAX_NESTING)
        cfail(c, "expression nested deeper than %d", MAX_NESTING);
}

static pn *p_factor(comp *c)
{
    ptok *t = cpeek(c);
    pn *e;
    nest_in(c);
    if (is_op(t, "-") || is_op(t, "+") || is_op(t, "~")) {
        cnext(c);
        e = node(c, t->s[0] == '-' ? K_NEG : t->s[0] == '+' ? K_POS : K_INV);
        e->a = p_factor(c);
    } else {
        e = p_power(c);
    }
    c->depth--;
    return e;
}

static pn *p_term(comp *c)
{
    pn *a = p_factor(c);
    for (;;) {
        ptok *t = cpeek(c);
        int op = is_op(t, "*") ? OP_MUL : is_op(t, "/") ? OP_DIV : is_op(t, "//") ? OP_FDIV
               : is_op(t, "%") ? OP_MOD : -1;
        if (op < 0)
            return a;
        cnext(c);
        a = bin(c, op, a, p_factor(c));
    }
}

static pn *p_arith(comp *c)
{
    pn *a = p_term(c);
    for (;;) {
        ptok *t = cpeek(c);
        int op = is_op(t, "+") ? OP_ADD : is_op(t, "-") ? OP_SUB : -1;
        if (op < 0)
            return a;
        cnext(c);
        a = bin(c, op, a, p_term(c));
    }
}

static pn *p_shift(comp *c)
{
    pn *a = p_arith(c);
    for (;;) {
        ptok *t = cpeek(c);
        int op = is_op(t, "<<") ? OP_SHL : is_op(t, ">>") ? OP_SHR : -1;
        if (op < 0)
            return a;
        cnext(c);
        a = bin(c, op, a, p_arith(c));
    }
}

static pn *p_band(comp *c)
{
    pn *a = p_shift(c);
    while (is_op(cpeek(c), "&")) {
        cnext(c);
        a = bin(c, OP_BAND, a, p_shift(c));
    }
    return a;
}

static pn *p_bxor(comp *c)
{
    pn *a = p_band(c);
    while (is_op(cpeek(c), "^")) {
        cnext(c);
        a = bin(c, OP_BXOR, a, p_band(c));
    }
    return a;
}

static pn *p_bor(comp *c)
{
    pn *a = p_bxor(c);
    while (is_op(cpeek(c), "|")) {
        cnext(c);
        a = bin(c, OP_BOR, a, p_bxor(c));
    }
    return a;
}

static int cmp_op(const ptok *t)
{
    if (t->k == T_NAME && (!strcmp(t->s, "in") || !strcmp(t->s, "is")))
        return -2;
    return is_op(t, "==") ? OP_EQ : is_op(t, "!=") ? OP_NE : is_op(t, "<") ? OP_LT
         : is_op(t, "<=") ? OP_LE : is_op(t, ">") ? OP_GT : is_op(t, ">=") ? OP_GE : -1;
}

static pn *p_comparison(comp *c)
{
    pn *first = p_bor(c);
    int op = cmp_op(cpeek(c));
    if (op == -2 || (is_name(cpeek(c), "not") && is_name(&c->t[c->i + 1], "in")))
        cfail(c, "'%s' comparisons are not supported", cpeek(c)->s);
    if (op < 0)
        return first;
    pn *tmp[16];
    int ops[16], n = 0;
    tmp[n++] = first;
    while ((op = cmp_op(cpeek(c))) >= 0) {
        if (n == 16)
            cfail(c, "comparison chain too long");
        cnext(c);
        ops[n - 1] = op;
        tmp[n++] = p_bor(c);
    }
    if (op == -2)
        cfail(c, "'%s' comparisons are not supported", cpeek(c)->s);
    pn *e = node(c, K_CMP);
    e->n = n;
    e->v = arena_alloc(c->a, sizeof *e->v * (size_t)n);
    memcpy(e->v, tmp, sizeof *tmp * (size_t)n);
    e->ops = arena_alloc(c->a, sizeof *e->ops * (size_t)(n - 1));
    memcpy(e->ops, ops, sizeof *ops * (size_t)(n - 1));
    return e;
}

static pn *p_not(comp *c)
{
    pn *e;
    nest_in(c);
    if (is_name(cpeek(c), "not")) {
        cnext(c);
        e = node(c, K_NOT);
        e->a = p_not(c);
    } else {
        e = p_comparison(c);
    }
    c->depth--;
    return e;
}

static pn *p_and(comp *c)
{
    pn *a = p_not(c);
    while (is_name(cpeek(c), "and")) {
        cnext(c);
        pn *e = node(c, K_AND);
        e->a = a;
        e->b = p_not(c);
        a = e;
    }
    return a;
}

static pn *p_test(comp *c)
{
    pn *a = p_and(c);
    while (is_name(cpeek(c), "or")) {
        cnext(c);
        pn *e = node(c, K_OR);
        e->a = a;
        e->b = p_and(c);
        a = e;
    }
    if (is_name(cpeek(c), "if"))
        cfail(c, "conditional expressions (x if c else y) are not supported");
    return a;
}

/* The source text of tokens [from, to), on one line. */
static const char *span_text(comp *c, int from, int to)
{
    if (to <= from)
        return "";
    size_t a = c->t[from].off, b = c->t[to - 1].end;
    strbuf sb = {0};
    int space = 0;
    for (size_t k = a; k < b; k++) {
        char ch = c->src[k];
        if (ch == '\\' && (c->src[k + 1] == '\n' || c->src[k + 1] == '\r')) {
            space = 1;
            continue;
        }
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            space = 1;
            continue;
        }
        if (space && sb.len)
            sb_printf(&sb, " ");
        space = 0;
        sb_printf(&sb, "%c", ch);
    }
    const char *s = arena_strdup(c->a, sb.buf ? sb.buf : "");
    sb_free(&sb);
    return s;
}

static int aug_op(const ptok *t)
{
    static const struct { const char *s; int op; } m[] = {
        { "+=", OP_ADD }, { "-=", OP_SUB }, { "*=", OP_MUL }, { "/=", OP_DIV }, { "//=", OP_FDIV },
        { "%=", OP_MOD }, { "**=", OP_POW }, { "<<=", OP_SHL }, { ">>=", OP_SHR }, { "&=", OP_BAND },
        { "|=", OP_BOR }, { "^=", OP_BXOR },
    };
    if (t->k != T_OP)
        return -2;
    if (!strcmp(t->s, "="))
        return -1;
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++)
        if (!strcmp(t->s, m[k].s))
            return m[k].op;
    return -2;
}

static void p_stmt(comp *c, pstmt *s)
{
    ptok *t = cpeek(c);
    s->line = t->line;
    if (is_name(t, "assert")) {
        cnext(c);
        s->k = S_ASSERT;
        int from = c->i;
        s->e = p_test(c);
        s->text = span_text(c, from, c->i);
        if (is_op(cpeek(c), ",")) {
            cnext(c);
            s->msg = p_test(c);
        }
        return;
    }
    if (is_name(t, "pass")) {
        cnext(c);
        s->k = S_PASS;
        return;
    }
    if (is_name(t, "print") && is_op(&c->t[c->i + 1], "(")) {
        cnext(c);
        cnext(c);
        s->k = S_PRINT;
        pn *tmp[16];
        int n = 0;
        while (!is_op(cpeek(c), ")")) {
            if (n == 16)
                cfail(c, "too many arguments to print()");
            if (cpeek(c)->k == T_NAME && is_op(&c->t[c->i + 1], "="))
                cfail(c, "print() keyword arguments are not supported");
            tmp[n++] = p_test(c);
            if (!is_op(cpeek(c), ","))
                break;
            cnext(c);
        }
        if (!is_op(cnext(c), ")"))
            cfail(c, "expected ')' after the arguments of print()");
        s->nargs = n;
        s->args = arena_alloc(c->a, sizeof *s->args * (size_t)(n ? n : 1));
        memcpy(s->args, tmp, sizeof *tmp * (size_t)n);
        return;
    }
    if (t->k == T_NAME && !is_keyword(t->s) && aug_op(&c->t[c->i + 1]) >= -1) {
        if (!strncmp(t->s, "tcpi_", 5) || !strncmp(t->s, "wtcpi_", 6))
            cfail(c, "assigning to %s is not supported", t->s);
        cnext(c);
        s->k = S_ASSIGN;
        s->name = t->s;
        s->op = aug_op(cnext(c));
        s->e = p_test(c);
        if (aug_op(cpeek(c)) == -1)
            cfail(c, "chained assignments are not supported");
        return;
    }
    if (t->k == T_NAME && is_keyword(t->s))
        cfail(c, "'%s' is not supported", t->s);
    if (t->k == T_NAME && is_op(&c->t[c->i + 1], "("))
        cfail(c, "%s() is not supported", t->s);
    cfail(c, "statement starting with %s is not supported", tdesc(t));
}

code_prog *code_compile(arena *a, const char *text, int line, char *why, size_t whysz)
{
    comp c;
    memset(&c, 0, sizeof c);
    c.a = a;
    c.src = text;
    c.why = why;
    c.whysz = whysz;
    if (setjmp(c.jb))
        return NULL;
    lex_code(&c, text, line);
    pstmt tmp[256];
    int n = 0, nasserts = 0;
    for (;;) {
        while (cpeek(&c)->k == T_NL)
            cnext(&c);
        if (cpeek(&c)->k == T_END)
            break;
        if (n == 256)
            cfail(&c, "too many statements");
        memset(&tmp[n], 0, sizeof tmp[n]);
        p_stmt(&c, &tmp[n]);
        ptok *t = cpeek(&c);
        if (t->k != T_NL && t->k != T_END) {
            if (is_op(t, ":"))
                cfail(&c, "compound statements are not supported");
            cfail(&c, "unexpected %s after a statement", tdesc(t));
        }
        nasserts += tmp[n].k == S_ASSERT;
        n++;
    }
    code_prog *p = arena_alloc(a, sizeof *p);
    p->n = n;
    p->nasserts = nasserts;
    p->st = arena_alloc(a, sizeof *p->st * (size_t)(n ? n : 1));
    memcpy(p->st, tmp, sizeof *tmp * (size_t)n);
    return p;
}

/* ---- variables ---- */
typedef struct var {
    char name[64];
    int poisoned;
    int k;                  /* value kind */
    int64_t i;
    double d;
    char *s;                /* malloc'd (strings) */
} var;

struct code_env {
    var *v;
    int n, cap;
};

code_env *code_env_new(void)
{
    code_env *e = calloc(1, sizeof *e);
    if (!e) {
        fprintf(stderr, "wtcp-pktrun: out of memory\n");
        exit(2);
    }
    return e;
}

void code_env_free(code_env *env)
{
    if (!env)
        return;
    for (int i = 0; i < env->n; i++)
        free(env->v[i].s);
    free(env->v);
    free(env);
}

static var *var_get(code_env *env, const char *name, int create)
{
    for (int i = 0; i < env->n; i++)
        if (!strcmp(env->v[i].name, name))
            return &env->v[i];
    if (!create || strlen(name) >= sizeof env->v[0].name)
        return NULL;
    if (env->n == env->cap) {
        int cap = env->cap ? env->cap * 2 : 16;
        var *nv = realloc(env->v, sizeof *nv * (size_t)cap);
        if (!nv) {
            fprintf(stderr, "wtcp-pktrun: out of memory\n");
            exit(2);
        }
        env->v = nv;
        env->cap = cap;
    }
    var *v = &env->v[env->n++];
    memset(v, 0, sizeof *v);
    strcpy(v->name, name);
    return v;
}

void code_poison(code_env *env, const char *text)
{
    /* Statement starts (start of text, after a newline or ';') followed by NAME and an
     * assignment operator. Coarse on purpose: a wrongly poisoned name only skips asserts. */
    const char *p = text;
    int at_start = 1;
    while (*p) {
        if (*p == '\n' || *p == ';') {
            at_start = 1;
            p++;
            continue;
        }
        if (*p == ' ' || *p == '\t' || *p == '\r') {
            p++;
            continue;
        }
        if (at_start && is_alpha(*p)) {
            const char *q = p;
            while (is_alpha(*q) || is_dig(*q))
                q++;
            const char *r = q;
            while (*r == ' ' || *r == '\t')
                r++;
            int assign = (r[0] == '=' && r[1] != '=') ||
                         (r[0] && strchr("+-*/%&|^", r[0]) && r[1] == '=') ||
                         ((!strncmp(r, "//", 2) || !strncmp(r, "**", 2) || !strncmp(r, "<<", 2) ||
                           !strncmp(r, ">>", 2)) && r[2] == '=');
            if (assign && (size_t)(q - p) < sizeof env->v[0].name) {
                char name[64];
                memcpy(name, p, (size_t)(q - p));
                name[q - p] = 0;
                var *v = var_get(env, name, 1);
                if (v) {
                    free(v->s);
                    v->s = NULL;
                    v->poisoned = 1;
                }
            }
            p = q;
        }
        at_start = 0;
        p++;
    }
}

/* ---- evaluating ---- */
enum { V_INT, V_BOOL, V_FLT, V_STR, V_TUP };
typedef struct val {
    int k;
    int64_t i;
    double d;
    const char *s;
    struct val *v;
    int n;
} val;

typedef struct ectx {
    code_env *env;
    const code_io *io;
    arena tmp;              /* strings and tuples made while running one block */
    jmp_buf jb;
    int skip;               /* 1: a poisoned name was met (not an error) */
    char *msg;
    size_t msgsz;
} ectx;

static void efail(ectx *x, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3), noreturn))
#endif
    ;

static void efail(ectx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->msg, x->msgsz, fmt, ap);
    va_end(ap);
    longjmp(x->jb, 1);
}

static val vint(int64_t i)
{
    val v = { V_INT, i, 0, NULL, NULL, 0 };
    return v;
}
static val vbool(int b)
{
    val v = { V_BOOL, b ? 1 : 0, 0, NULL, NULL, 0 };
    return v;
}
static val vflt(double d)
{
    val v = { V_FLT, 0, d, NULL, NULL, 0 };
    return v;
}
static val vstr(const char *s)
{
    val v = { V_STR, 0, 0, s, NULL, 0 };
    return v;
}

static int is_num(const val *v) { return v->k == V_INT || v->k == V_BOOL || v->k == V_FLT; }
static double as_dbl(const val *v) { return v->k == V_FLT ? v->d : (double)v->i; }
static const char *type_name(const val *v)
{
    switch (v->k) {
    case V_INT: return "int";
    case V_BOOL: return "bool";
    case V_FLT: return "float";
    case V_STR: return "str";
    default: return "tuple";
    }
}

static int truthy(const val *v)
{
    switch (v->k) {
    case V_FLT: return v->d != 0;
    case V_STR: return v->s[0] != 0;
    case V_TUP: return v->n != 0;
    default: return v->i != 0;
    }
}

static void fmt_float(strbuf *sb, double d)
{
    char b[48];
    if (d != d) {
        sb_printf(sb, "nan");
        return;
    }
    if (d > 1.7976931348623157e308 || d < -1.7976931348623157e308) {
        sb_printf(sb, d > 0 ? "inf" : "-inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, d);
        if (strtod(b, NULL) == d)
            break;
    }
    sb_printf(sb, "%s", b);
    if (!strpbrk(b, ".e"))
        sb_printf(sb, ".0");
}

static void to_str(strbuf *sb, const val *v, int repr)
{
    switch (v->k) {
    case V_INT: sb_printf(sb, "%lld", (long long)v->i); break;
    case V_BOOL: sb_printf(sb, "%s", v->i ? "True" : "False"); break;
    case V_FLT: fmt_float(sb, v->d); break;
    case V_STR: sb_printf(sb, repr ? "'%s'" : "%s", v->s); break;
    case V_TUP:
        sb_printf(sb, "(");
        for (int k = 0; k < v->n; k++) {
            if (k)
                sb_printf(sb, ", ");
            to_str(sb, &v->v[k], 1);
        }
        sb_printf(sb, v->n == 1 ? ",)" : ")");
        break;
    }
}

static const char *keep(ectx *x, strbuf *sb)
{
    const char *s = arena_strdup(&x->tmp, sb->buf ? sb->buf : "");
    sb_free(sb);
    return s;
}

/* Looks a name up: 0 with *out, or -1 with a message (poisoned: x->skip = 1). */
static int lookup(ectx *x, const char *name, val *out, char *why, size_t n)
{
    int64_t c;
    if (tcpinfo_const(name, &c) == 0) {
        *out = vint(c);
        return 0;
    }
    if (!strncmp(name, "tcpi_", 5) || !strncmp(name, "wtcpi_", 6)) {
        if (!x->io->info) {
            snprintf(why, n, "%s: %s", name, x->io->noinfo ? x->io->noinfo : "no socket under test");
            return -1;
        }
        int rc = tcpinfo_field(x->io->info, name, &c);
        if (rc < 0) {
            tcpinfo_error(name, rc, why, n);
            return -1;
        }
        *out = vint(c);
        return 0;
    }
    var *v = var_get(x->env, name, 0);
    if (v && v->poisoned) {
        x->skip = 1;
        snprintf(why, n, "uses '%s', which a skipped block or statement sets", name);
        return -1;
    }
    if (v) {
        out->k = v->k;
        out->i = v->i;
        out->d = v->d;
        out->s = v->s ? arena_strdup(&x->tmp, v->s) : NULL;
        out->v = NULL;
        out->n = 0;
        return 0;
    }
    snprintf(why, n, "name '%s' is not defined", name);
    return -1;
}

static val eval(ectx *x, const pn *e);

static int64_t need_int(ectx *x, const val *v, const char *what)
{
    if (v->k != V_INT && v->k != V_BOOL)
        efail(x, "unsupported operand type for %s: '%s'", what, type_name(v));
    return v->i;
}

static int64_t floordiv_i(ectx *x, int64_t a, int64_t b)
{
    if (b == 0)
        efail(x, "ZeroDivisionError: integer division or modulo by zero");
    if (a == INT64_MIN && b == -1)
        efail(x, "integer overflow");
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static double floor_d(double d)
{
    if (d >= 9.2e18 || d <= -9.2e18 || d != d)
        return d;
    double t = (double)(int64_t)d;
    return t > d ? t - 1 : t;
}

static val format_pct(ectx *x, const char *fmt, const val *arg)
{
    const val *args = arg;
    int nargs = 1, used = 0;
    if (arg->k == V_TUP) {
        args = arg->v;
        nargs = arg->n;
    }
    strbuf sb = {0};
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            sb_printf(&sb, "%c", *p);
            continue;
        }
        p++;
        if (*p == '%') {
            sb_printf(&sb, "%%");
            continue;
        }
        char spec[32];
        size_t sl = 0;
        spec[sl++] = '%';
        while (*p && strchr("-+ #0", *p) && sl < 8)
            spec[sl++] = *p++;
        while (*p >= '0' && *p <= '9' && sl < 16)
            spec[sl++] = *p++;
        if (*p == '.') {
            spec[sl++] = *p++;
            while (*p >= '0' && *p <= '9' && sl < 24)
                spec[sl++] = *p++;
        }
        char conv = *p;
        if (!conv || !strchr("diouxXeEfFgGsr", conv)) {
            sb_free(&sb);
            efail(x, "unsupported format character in '%s'", fmt);
        }
        if (used >= nargs) {
            sb_free(&sb);
            efail(x, "not enough arguments for format string '%s'", fmt);
        }
        const val *a = &args[used++];
        char out[128];
        if (strchr("diouxX", conv)) {
            if (!is_num(a)) {
                sb_free(&sb);
                efail(x, "%%%c format: a number is required, not %s", conv, type_name(a));
            }
            int64_t iv = a->k == V_FLT ? (int64_t)a->d : a->i;
            spec[sl++] = 'l';
            spec[sl++] = 'l';
            spec[sl++] = conv == 'i' || conv == 'u' ? 'd' : conv;
            spec[sl] = 0;
            snprintf(out, sizeof out, spec, (long long)iv);
            sb_printf(&sb, "%s", out);
        } else if (strchr("eEfFgG", conv)) {
            if (!is_num(a)) {
                sb_free(&sb);
                efail(x, "%%%c format: a number is required, not %s", conv, type_name(a));
            }
            spec[sl++] = conv;
            spec[sl] = 0;
            snprintf(out, sizeof out, spec, as_dbl(a));
            sb_printf(&sb, "%s", out);
        } else {
            strbuf s2 = {0};
            to_str(&s2, a, conv == 'r');
            spec[sl++] = 's';
            spec[sl] = 0;
            char *big = malloc(s2.len + 128);
            if (big) {
                snprintf(big, s2.len + 128, spec, s2.buf ? s2.buf : "");
                sb_printf(&sb, "%s", big);
                free(big);
            }
            sb_free(&s2);
        }
    }
    if (used < nargs) {
        sb_free(&sb);
        efail(x, "not all arguments converted during string formatting");
    }
    return vstr(keep(x, &sb));
}

static val arith(ectx *x, int op, val a, val b)
{
    if (a.k == V_STR && op == OP_MOD)
        return format_pct(x, a.s, &b);
    if (a.k == V_STR && b.k == V_STR && op == OP_ADD) {
        strbuf sb = {0};
        sb_printf(&sb, "%s%s", a.s, b.s);
        return vstr(keep(x, &sb));
    }
    static const char *const names[] = { "+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^" };
    if (!is_num(&a) || !is_num(&b))
        efail(x, "unsupported operand types for %s: '%s' and '%s'", names[op], type_name(&a), type_name(&b));
    if (op >= OP_SHL) {
        int64_t ia = need_int(x, &a, names[op]), ib = need_int(x, &b, names[op]);
        switch (op) {
        case OP_BAND: return vint(ia & ib);
        case OP_BOR: return vint(ia | ib);
        case OP_BXOR: return vint(ia ^ ib);
        case OP_SHL:
            if (ib < 0)
                efail(x, "negative shift count");
            if (ia != 0 && (ib >= 63 || (ia > 0 ? ia > (INT64_MAX >> ib) : ia < (INT64_MIN >> ib))))
                efail(x, "integer overflow in <<");
            return vint((int64_t)((uint64_t)ia << ib));
        default:
            if (ib < 0)
                efail(x, "negative shift count");
            return vint(ib >= 63 ? (ia < 0 ? -1 : 0) : (ia >> ib));
        }
    }
    int ints = a.k != V_FLT && b.k != V_FLT;
    if (ints && op != OP_DIV) {
        int64_t ia = a.i, ib = b.i;
        switch (op) {
        case OP_ADD:
            if ((ib > 0 && ia > INT64_MAX - ib) || (ib < 0 && ia < INT64_MIN - ib))
                efail(x, "integer overflow");
            return vint(ia + ib);
        case OP_SUB:
            if ((ib < 0 && ia > INT64_MAX + ib) || (ib > 0 && ia < INT64_MIN + ib))
                efail(x, "integer overflow");
            return vint(ia - ib);
        case OP_MUL:
            if (ia != 0 && ib != 0) {
                if ((ia == -1 && ib == INT64_MIN) || (ib == -1 && ia == INT64_MIN))
                    efail(x, "integer overflow");
                int64_t r = (int64_t)((uint64_t)ia * (uint64_t)ib);
                if (r / ib != ia)
                    efail(x, "integer overflow");
                return vint(r);
            }
            return vint(0);
        case OP_FDIV:
            return vint(floordiv_i(x, ia, ib));
        case OP_MOD:
            return vint(ia - floordiv_i(x, ia, ib) * ib);
        case OP_POW: {
            if (ib < 0) {
                double r = 1, base = (double)ia;
                if (ia == 0)
                    efail(x, "ZeroDivisionError: 0 cannot be raised to a negative power");
                for (int64_t k = 0; k < -ib && k < 2000; k++)
                    r /= base;
                return vflt(r);
            }
            int64_t r = 1;
            for (int64_t k = 0; k < ib; k++) {
                val t = arith(x, OP_MUL, vint(r), vint(ia));
                r = t.i;
                if (r == 0 || r == 1)
                    break;
            }
            return vint(r);
        }
        }
    }
    double da = as_dbl(&a), db = as_dbl(&b);
    switch (op) {
    case OP_ADD: return vflt(da + db);
    case OP_SUB: return vflt(da - db);
    case OP_MUL: return vflt(da * db);
    case OP_DIV:
        if (db == 0)
            efail(x, "ZeroDivisionError: division by zero");
        return vflt(da / db);
    case OP_FDIV:
        if (db == 0)
            efail(x, "ZeroDivisionError: float floor division by zero");
        return vflt(floor_d(da / db));
    case OP_MOD:
        if (db == 0)
            efail(x, "ZeroDivisionError: float modulo");
        return vflt(da - db * floor_d(da / db));
    default:
        efail(x, "** with float operands is not supported");
    }
}

static int compare(ectx *x, int op, const val *a, const val *b)
{
    int c;
    if (is_num(a) && is_num(b)) {
        if (a->k != V_FLT && b->k != V_FLT)
            c = a->i < b->i ? -1 : a->i > b->i;
        else
            c = as_dbl(a) < as_dbl(b) ? -1 : as_dbl(a) > as_dbl(b);
    } else if (a->k == V_STR && b->k == V_STR) {
        c = strcmp(a->s, b->s);
        c = c < 0 ? -1 : c > 0;
    } else if (op == OP_EQ || op == OP_NE) {
        return op == OP_NE; /* different types are never equal */
    } else {
        efail(x, "'%s' and '%s' cannot be ordered", type_name(a), type_name(b));
    }
    switch (op) {
    case OP_EQ: return c == 0;
    case OP_NE: return c != 0;
    case OP_LT: return c < 0;
    case OP_LE: return c <= 0;
    case OP_GT: return c > 0;
    default: return c >= 0;
    }
}

static val eval(ectx *x, const pn *e)
{
    val a, b;
    switch (e->k) {
    case K_INT:
        return e->op ? vbool((int)e->i) : vint(e->i);
    case K_FLT:
        return vflt(e->d);
    case K_STR:
        return vstr(e->s);
    case K_NAME: {
        char why[200];
        if (lookup(x, e->s, &a, why, sizeof why) < 0)
            efail(x, "%s", why);
        return a;
    }
    case K_TUPLE: {
        val t = { V_TUP, 0, 0, NULL, NULL, e->n };
        t.v = arena_alloc(&x->tmp, sizeof *t.v * (size_t)(e->n ? e->n : 1));
        for (int k = 0; k < e->n; k++)
            t.v[k] = eval(x, e->v[k]);
        return t;
    }
    case K_CALL: {
        a = eval(x, e->v[0]);
        if (!strcmp(e->s, "abs")) {
            if (a.k == V_FLT)
                return vflt(a.d < 0 ? -a.d : a.d);
            if (need_int(x, &a, "abs()") == INT64_MIN)
                efail(x, "integer overflow");
            return vint(a.i < 0 ? -a.i : a.i);
        }
        if (!strcmp(e->s, "int")) {
            if (a.k == V_FLT) {
                if (a.d != a.d || a.d >= 9.2e18 || a.d <= -9.2e18)
                    efail(x, "int(): float out of range");
                return vint((int64_t)a.d);
            }
            return vint(need_int(x, &a, "int()"));
        }
        if (e->n == 1)
            efail(x, "%s() of a single value is not supported", e->s);
        int want_max = !strcmp(e->s, "max");
        for (int k = 1; k < e->n; k++) {
            b = eval(x, e->v[k]);
            if (compare(x, want_max ? OP_GT : OP_LT, &b, &a))
                a = b;
        }
        return a;
    }
    case K_NEG:
        a = eval(x, e->a);
        if (a.k == V_FLT)
            return vflt(-a.d);
        return arith(x, OP_SUB, vint(0), vint(need_int(x, &a, "unary -")));
    case K_POS:
        a = eval(x, e->a);
        if (a.k == V_FLT)
            return a;
        return vint(need_int(x, &a, "unary +"));
    case K_INV:
        a = eval(x, e->a);
        return vint(~need_int(x, &a, "unary ~"));
    case K_NOT:
        a = eval(x, e->a);
        return vbool(!truthy(&a));
    case K_AND:
        a = eval(x, e->a);
        return truthy(&a) ? eval(x, e->b) : a;
    case K_OR:
        a = eval(x, e->a);
        return truthy(&a) ? a : eval(x, e->b);
    case K_BIN:
        a = eval(x, e->a);
        b = eval(x, e->b);
        return arith(x, e->op, a, b);
    case K_CMP:
        a = eval(x, e->v[0]);
        for (int k = 1; k < e->n; k++) {
            b = eval(x, e->v[k]);
            if (!compare(x, e->ops[k - 1], &a, &b))
                return vbool(0);
            a = b;
        }
        return vbool(1);
    }
    efail(x, "internal error: bad node");
}

/* Names an expression reads, in order, without duplicates. */
static void collect_names(const pn *e, const char **out, int *n, int max)
{
    if (!e)
        return;
    if (e->k == K_NAME) {
        for (int k = 0; k < *n; k++)
            if (!strcmp(out[k], e->s))
                return;
        if (*n < max)
            out[(*n)++] = e->s;
        return;
    }
    collect_names(e->a, out, n, max);
    collect_names(e->b, out, n, max);
    for (int k = 0; k < e->n && e->v; k++)
        collect_names(e->v[k], out, n, max);
}

static void assert_failed(ectx *x, const pstmt *s)
{
    strbuf sb = {0};
    sb_printf(&sb, "assert %s failed", s->text);
    const char *names[16];
    int nn = 0;
    collect_names(s->e, names, &nn, 16);
    int shown = 0;
    for (int k = 0; k < nn; k++) {
        val v;
        char why[200];
        int64_t c;
        if (tcpinfo_const(names[k], &c) == 0)
            continue; /* constants say nothing new */
        if (lookup(x, names[k], &v, why, sizeof why) < 0)
            continue;
        sb_printf(&sb, "%s%s=", shown++ ? ", " : ": ", names[k]);
        to_str(&sb, &v, 1);
    }
    if (s->msg) {
        jmp_buf saved;
        memcpy(saved, x->jb, sizeof saved);
        char *omsg = x->msg;
        char tmpmsg[256];
        x->msg = tmpmsg;
        if (setjmp(x->jb) == 0) {
            val m = eval(x, s->msg);
            sb_printf(&sb, " (message: ");
            to_str(&sb, &m, 0);
            sb_printf(&sb, ")");
        } else {
            sb_printf(&sb, " (message could not be evaluated: %s)", tmpmsg);
        }
        x->msg = omsg;
        memcpy(x->jb, saved, sizeof saved);
    }
    snprintf(x->msg, x->msgsz, "%s", sb.buf ? sb.buf : "");
    sb_free(&sb);
    longjmp(x->jb, 1);
}

static void store(ectx *x, const char *name, const val *v)
{
    if (v->k == V_TUP)
        efail(x, "assigning a tuple is not supported");
    var *t = var_get(x->env, name, 1);
    if (!t)
        efail(x, "variable name '%s' too long", name);
    free(t->s);
    t->s = NULL;
    t->poisoned = 0;
    t->k = v->k;
    t->i = v->i;
    t->d = v->d;
    if (v->k == V_STR) {
        size_t l = strlen(v->s);
        t->s = malloc(l + 1);
        if (!t->s) {
            fprintf(stderr, "wtcp-pktrun: out of memory\n");
            exit(2);
        }
        memcpy(t->s, v->s, l + 1);
    }
}

/* A statement that met a poisoned name: skipped; an assignment poisons its target. */
static void skipped(ectx *x, const pstmt *s)
{
    if (s->k == S_ASSIGN) {
        var *v = var_get(x->env, s->name, 1);
        if (v) {
            free(v->s);
            v->s = NULL;
            v->poisoned = 1;
        }
    } else if (s->k == S_ASSERT && x->io->note) {
        char n[400];
        snprintf(n, sizeof n, "skipped assert %s: %s", s->text, x->msg);
        x->io->note(x->io->user, s->line, n);
    }
}

int code_run(const code_prog *p, code_env *env, const code_io *io, int *line, char *msg, size_t msgsz)
{
    /* On the heap: everything longjmp() may come back to stays valid (C11 7.13.2.1). */
    ectx *x = calloc(1, sizeof *x);
    if (!x) {
        fprintf(stderr, "wtcp-pktrun: out of memory\n");
        exit(2);
    }
    x->env = env;
    x->io = io;
    x->msg = msg;
    x->msgsz = msgsz;
    volatile int k = 0;
    volatile int rc = 0;
    for (; k < p->n; k++) {
        const pstmt *s = &p->st[k];
        *line = s->line;
        x->skip = 0;
        if (setjmp(x->jb)) {
            if (!x->skip) {
                rc = -1;
                break;
            }
            skipped(x, &p->st[k]);
            continue;
        }
        switch (s->k) {
        case S_PASS:
            break;
        case S_ASSERT: {
            val v = eval(x, s->e);
            if (!truthy(&v))
                assert_failed(x, s);
            break;
        }
        case S_ASSIGN: {
            val v = eval(x, s->e);
            if (s->op >= 0) {
                val old;
                char why[200];
                if (lookup(x, s->name, &old, why, sizeof why) < 0)
                    efail(x, "%s", why);
                v = arith(x, s->op, old, v);
            }
            store(x, s->name, &v);
            break;
        }
        case S_PRINT: {
            strbuf sb = {0};
            for (int a = 0; a < s->nargs; a++) {
                val v = eval(x, s->args[a]);
                if (a)
                    sb_printf(&sb, " ");
                to_str(&sb, &v, 0);
            }
            if (io->print)
                io->print(io->user, s->line, sb.buf ? sb.buf : "");
            sb_free(&sb);
            break;
        }
        }
    }
    arena_free(&x->tmp);
    free(x);
    return rc;
}
