/* pktrun.h: wtcp-pktrun, a runner for packetdrill-syntax scripts on virtual time.
 *
 * lex.c     tokens (packetdrill's lexer rules: longest match, comments, `commands`)
 * parse.c   script -> events (packets, syscalls), expressions, options
 * print.c   packetdrill notation for script packets, live packets, times, syscalls
 * packet.c  checksums, building injected packets, decoding emitted packets
 * run.c     one script against a fresh wtcp stack on virtual time
 * pycode.c  %{ }% code: the subset of Python that packetdrill scripts use for asserts
 * tcpinfo.c Linux's tcp_info fields (tcpi_*) computed from wtcp_info
 * main.c    command line
 */
#ifndef PKTRUN_H
#define PKTRUN_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wtcp.h"

/* ---- arena: everything a parsed script owns, freed at once ---- */
typedef struct arena_blk arena_blk;
typedef struct arena {
    arena_blk *head;
} arena;
void *arena_alloc(arena *a, size_t n); /* zeroed; aborts on OOM */
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_strdup(arena *a, const char *s);
void arena_free(arena *a);

/* ---- tokens ---- */
enum tok_kind {
    TK_EOF,
    TK_INT,      /* decimal integer, ival (text kept) */
    TK_HEX,      /* 0x..., ival */
    TK_FLOAT,    /* text only: [-]digits*.digits+ */
    TK_WORD,     /* [A-Za-z0-9_]+ */
    TK_STRING,   /* "..." (text without quotes) */
    TK_BACKQ,    /* `...` shell command, may span lines */
    TK_CODE,     /* %{ ... }% */
    TK_OPTION,   /* --name (text = name) */
    TK_IPV4,     /* a.b.c.d */
    TK_IPV6,     /* with "::" or 7 colons (options only) */
    TK_ELLIPSIS, /* ... */
    TK_PUNCT     /* any other single character, in ival */
};

typedef struct token {
    int kind;
    int line;
    int64_t ival;
    char *text;
} token;

/* Lexes src into *toks (arena memory). Returns 0, or -1 with *err_line and err. */
int lex_script(arena *a, const char *src, size_t len, token **toks, int *ntoks,
               int *err_line, char *err, size_t errsz);

/* ---- script model ---- */
enum time_kind { TM_ABS, TM_REL, TM_ANY, TM_ABS_RANGE, TM_REL_RANGE };

typedef struct ev_time {
    int kind;
    int64_t us, us_end; /* script values in microseconds (end: ranges) */
} ev_time;

enum {
    OPT_EOL = 0, OPT_NOP = 1, OPT_MSS = 2, OPT_WSCALE = 3, OPT_SACKOK = 4,
    OPT_SACK = 5, OPT_TS = 8, OPT_MD5 = 19, OPT_FO = 34, OPT_FOEXP = 254
};
#define MAX_SACK 4
typedef struct tcp_opt {
    uint8_t kind;
    uint32_t a, b;          /* mss | wscale | TS val, ecr */
    uint8_t nsack;
    uint32_t sack[MAX_SACK][2];
    uint8_t dlen;           /* raw data bytes (md5, FO cookie) */
    uint8_t data[40];
} tcp_opt;

/* TCP flag bits as on the wire (plus AE, the former NS bit, as 0x100). */
enum {
    F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_PSH = 0x08, F_ACK = 0x10,
    F_URG = 0x20, F_ECE = 0x40, F_CWR = 0x80, F_AE = 0x100
};

enum { PR_TCP, PR_UDP, PR_ICMP };
enum { ECN_UNSPEC = -1, ECN_NOT = 0, ECN_ECT1 = 1, ECN_ECT0 = 2, ECN_CE = 3, ECN_ECT01 = 4 };

#define MAX_OPTS 40
typedef struct pkt_spec {
    char dir;               /* '<' inbound (injected), '>' outbound (expected) */
    int proto;
    int has_ports;
    uint16_t sport, dport;  /* as written: src>dst */
    int ecn;                /* ECN_* */
    int has_tos;
    uint8_t tos;
    int has_ttl;
    uint8_t ttl;
    /* TCP */
    uint16_t flags;
    uint32_t seq, end, len;
    int has_ack;
    uint32_t ack;
    int has_win;
    uint32_t win;
    int has_urg;
    uint32_t urg;
    int opts_any;           /* <...> */
    int nopts;
    tcp_opt opts[MAX_OPTS];
    int opt_bytes;          /* encoded length */
    /* UDP */
    uint32_t udp_len;
    /* ICMP */
    uint8_t icmp_type, icmp_code;
    const char *icmp_type_name, *icmp_code_name;
    int has_mtu;
    uint32_t mtu;
    int has_id;
    uint32_t id;
    int echo_proto;         /* PR_TCP / PR_UDP / -1 raw */
    int has_echo;
    uint32_t echo_seq, echo_end, echo_len;
} pkt_spec;

enum expr_kind { EX_ELLIPSIS, EX_INT, EX_WORD, EX_STRING, EX_OR, EX_ARRAY, EX_STRUCT, EX_ASSIGN, EX_CALL };
typedef struct expr {
    int kind;
    int64_t ival;
    int is_hex;
    char *s;                /* word, string, assignment target, function name */
    int n;
    struct expr **items;    /* OR operands, array/struct members, call args, [0] = assigned value */
} expr;

typedef struct syscall_spec {
    char *name;
    int nargs;
    expr **args;
    expr *result;
    char *errno_name;       /* NULL when none written */
    char *note;             /* the parenthesised comment, NULL when none */
    int has_end;            /* start...end: a blocking call that runs concurrently */
    int end_rel;            /* end written with '+' (same base as a relative start) */
    int64_t end_us;
} syscall_spec;

enum ev_type { EV_PACKET, EV_SYSCALL, EV_COMMAND, EV_CODE };
typedef struct code_prog code_prog;

typedef struct event {
    int line;
    ev_time t;
    int type;
    pkt_spec *pkt;
    syscall_spec *sc;
    char *text;             /* command / code */
    code_prog *code;        /* EV_CODE in the supported subset, else NULL */
    char *code_why;         /* EV_CODE: why it is skipped (code == NULL) */
} event;

typedef struct script_opt {
    char *name;
    char *value;            /* NULL for a bare --flag */
    int line;
} script_opt;

typedef struct script {
    const char *path;
    arena mem;
    event *ev;
    int nev;
    script_opt *opts;
    int nopts;
    char **notes;           /* parse-time notices ("file:line: ...") */
    int nnotes;
} script;

/* -D NAME=VALUE: a word NAME in scripts reads as VALUE (packetdrill's defines: a
 * "quoted" value is a string, `backquoted` a command, a number an integer). */
int parse_define(const char *name_eq_value);

/* Reads and parses path. Returns 0, or -1 with a "path:line: message" in err. */
int parse_script_file(const char *path, script *sc, char *err, size_t errsz);
/* The same for a script already in memory (len bytes, not NUL-terminated); path names it. */
int parse_script_text(const char *path, const char *buf, size_t len, script *sc, char *err, size_t errsz);
void script_free(script *sc);

/* ---- printing (packetdrill notation) ---- */
typedef struct strbuf {
    char *buf;
    size_t len, cap;
} strbuf;
void sb_printf(strbuf *sb, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void sb_free(strbuf *sb);

void fmt_secs(strbuf *sb, int64_t us);           /* 0.100, 1.000001 */
void print_time(strbuf *sb, const ev_time *t);
void print_pkt_spec(strbuf *sb, const pkt_spec *p);
void print_tcp_opts(strbuf *sb, const tcp_opt *opts, int n);
void print_expr(strbuf *sb, const expr *e);
void print_syscall(strbuf *sb, const syscall_spec *s, const ev_time *t);
void print_event(strbuf *sb, const event *e);

/* ---- packets ---- */
uint32_t csum_add(const uint8_t *p, size_t len, uint32_t acc);
uint16_t csum_fold(uint32_t acc);

/* One outbound packet decoded (raw values, host order). */
typedef struct live_pkt {
    const uint8_t *raw;
    size_t len;
    int ok;                 /* parsed as a complete IPv4 packet of a known kind */
    char err[96];           /* why not ok, or a checksum complaint */
    uint8_t ver, ihl, tos, ttl, proto;
    uint16_t total_len, ip_id, frag;
    uint32_t src, dst;
    int ip_csum_ok, l4_csum_ok;
    /* TCP */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint16_t flags, win, urg, thl;
    const uint8_t *opt;
    size_t optlen;
    const uint8_t *payload;
    size_t paylen;
    /* ICMP */
    uint8_t icmp_type, icmp_code;
    uint32_t icmp_rest;
} live_pkt;
void decode_live(const uint8_t *raw, size_t len, live_pkt *out);

/* Option bytes for a list of script options (literal order, no padding). */
int encode_tcp_opts(const tcp_opt *opts, int n, uint8_t *out, size_t cap);
/* Decodes raw option bytes into tcp_opt entries (unknown kinds keep raw data). */
int decode_tcp_opts(const uint8_t *p, size_t len, tcp_opt *out, int max, char *err, size_t errsz);

const char *icmp_type_name(uint8_t type);
const char *icmp_code_name(uint8_t type, uint8_t code);
int icmp_type_parse(const char *name, int *type);
int icmp_code_parse(int type, const char *name, int *code);

/* ---- symbols for syscall arguments (Linux values) ---- */
int sym_lookup(const char *name, int64_t *value);
const char *errno_canon(const char *name); /* EWOULDBLOCK -> EAGAIN */

/* ---- TCP_INFO (tcpinfo.c) ---- */
enum { TCPINFO_NOT_A_FIELD = -1, TCPINFO_UNAVAILABLE = -2, TCPINFO_BAD_VALUE = -3 };
/* tcpi_<name> (Linux's units) or wtcpi_<field> (raw wtcp_info). 0, or a TCPINFO_* code. */
int tcpinfo_field(const wtcp_info *in, const char *name, int64_t *v);
/* TCP_ESTABLISHED..., TCP_CA_Open..., TCPI_OPT_*, WTCP_CC_*. 0 or -1. */
int tcpinfo_const(const char *name, int64_t *v);
const char *tcpinfo_error(const char *name, int rc, char *buf, size_t n);

/* ---- %{ }% code (pycode.c) ---- */
/* Compiles a block's text (it starts on script line `line`). NULL, with the reason in
 * why, when the block is not in the supported subset. */
code_prog *code_compile(arena *a, const char *text, int line, char *why, size_t whysz);
int code_nasserts(const code_prog *p);

typedef struct code_env code_env;   /* variables that live across the blocks of a script */
code_env *code_env_new(void);
void code_env_free(code_env *env);
/* A skipped block: names it assigns become unknown; asserts using them are skipped. */
void code_poison(code_env *env, const char *text);

typedef struct code_io {
    const wtcp_info *info;          /* the socket under test, or NULL */
    const char *noinfo;             /* why info is NULL */
    void (*note)(void *user, int line, const char *msg);   /* a skipped statement */
    void (*print)(void *user, int line, const char *text); /* print(...) */
    void *user;
} code_io;
/* Runs a block. 0, or -1 with *line and msg (a failed assert or a runtime error). */
int code_run(const code_prog *p, code_env *env, const code_io *io, int *line, char *msg, size_t msgsz);

/* ---- running ---- */
typedef struct run_opts {
    int64_t tolerance_us;   /* --tolerance-ms (a script's --tolerance_usecs overrides) */
    int64_t ts_tick_us;     /* 0: outbound TS val unchecked unless a script sets it */
    uint32_t remote_isn;
    uint16_t remote_port;
    int verbose;
    int quiet;              /* no notices */
    int lenient;            /* packetdrill's queueing: leftover packets meet the next '>' */
    int no_payload_check;
    int no_ecr_check;
    int strict_segments;    /* never join segments (packetdrill's --strict_segments) */
    int strict_code;        /* a %{ }% block or assert that cannot be evaluated fails */
} run_opts;

typedef struct run_result {
    int ok;
    char msg[2048];
    uint32_t states;        /* bit per enum wtcp_state entered */
    int expected_failure;   /* ok because it failed as --expect_failure said (msg: how) */
} run_result;

void run_script(const script *sc, const run_opts *o, run_result *res);

#endif
