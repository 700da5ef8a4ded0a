/* relay.h: wtcp-relay's shared types: options, clients, packet queues, counters (see docs/PROTOCOL.md). */
#ifndef WTCP_RELAY_H
#define WTCP_RELAY_H

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "packet.h"
#include "pool.h"

#define RELAY_VERSION "0.1.0"
#define RELAY_WS_PROTOCOL "wtcp"           /* protocol version 1: one packet per message */
#define RELAY_WS_PROTOCOL_V2 "wtcp.2"      /* version 2: length-prefixed packets, many per message */
#define RELAY_TOKEN_PROTOCOL "wtcp.token." /* a subprotocol carrying the token */
#define RELAY_MAX_ORIGINS 16

/* WebSocket close codes the relay sends (RFC 6455 section 7.4). */
#define RELAY_CLOSE_GOING_AWAY 1001    /* the relay is shutting down */
#define RELAY_CLOSE_TOO_BIG 1009       /* a message over --max-message */
#define RELAY_CLOSE_INTERNAL 1011      /* out of memory and the like */
#define RELAY_CLOSE_TRY_LATER 1013     /* no free address or client slot after all */

/* Directions: up is from a client to the network, down from the network to a client. */
enum { DIR_UP, DIR_DOWN, DIR_COUNT };

/* Why a connection was refused before the WebSocket handshake (HTTP status in brackets). */
enum relay_refusal {
    REFUSE_TOKEN,  /* 401: missing or wrong token */
    REFUSE_ORIGIN, /* 403: Origin not in the allow-list */
    REFUSE_FULL,   /* 503: --max-clients reached or the address pool is empty */
    REFUSE_STOPPING, /* 503: shutting down */
    REFUSE_COUNT
};

/* One direction's fault injection (percentages 0..100, times in ms). */
typedef struct relay_fault {
    double loss, reorder, duplicate;
    unsigned delay_ms, jitter_ms;
} relay_fault;

typedef struct relay_opts {
    const char *tun_name;
    uint32_t addr;      /* the relay's address on the TUN (host order) */
    unsigned prefix;
    unsigned mtu;
    uint32_t dns;       /* a resolver the config message names (host order; 0: none) */
    const char *listen; /* ADDR:PORT, NULL: no WebSocket listener */
    const char *cert, *key;
    const char *token_file;
    const char *origins[RELAY_MAX_ORIGINS];
    unsigned norigins;
    int allow_peers;
    unsigned max_clients;
    uint64_t rate_pps, rate_bytes; /* per client and direction, 0: no limit */
    unsigned queue;                /* per client queue: at most this many packets ... */
    uint64_t queue_bytes;          /* ... and this many bytes */
    unsigned max_message;
    unsigned handshake_timeout, ping_interval, idle_timeout; /* seconds */
    const char *metrics;      /* ADDR:PORT of a separate metrics listener */
    const char *metrics_path; /* or a path on the WebSocket port */
    const char *user;         /* USER[:GROUP] to become after opening the TUN */
    uint64_t seed;
    int seed_given;
    relay_fault fault[DIR_COUNT];
    int verbose;
    char **exec_argv; /* exec mode: the command; NULL otherwise */
    int exec_fifo;    /* exec --fifo: packets over two FIFOs, the command keeps its stdio */
} relay_opts;

/* A packet in a queue: LWS_PRE bytes of headroom (the WebSocket frame header, or the
 * 2-byte length of the pipe framing), then the IPv4 packet. */
typedef struct relay_pkt {
    struct relay_pkt *next;
    int64_t due_us;  /* fault injection: when it may leave */
    uint32_t len;    /* IPv4 packet length */
    uint32_t sent;   /* pipes: bytes of the frame already written */
    uint8_t buf[];   /* LWS_PRE + len */
} relay_pkt;

#define PKT_DATA(p) ((p)->buf + LWS_PRE)

typedef struct relay_pktq {
    relay_pkt *head, *tail;
    size_t count, bytes; /* packets, and their IPv4 bytes */
} relay_pktq;

typedef struct relay_bucket {
    double pkts, bytes;
    int64_t last_us;
} relay_bucket;

struct relay;
struct client;

/* A fault-injection line: packets wait here for their time to leave. */
typedef struct relay_line {
    lws_sorted_usec_list_t sul; /* first member: the timer callback finds the line */
    struct client *c;
    int dir;
    relay_pktq q;
    relay_pkt *held;  /* --reorder: leaves after the next packet */
    int64_t last_due; /* jitter keeps order: dues never go backwards */
} relay_line;

enum client_kind { CLIENT_WS, CLIENT_EXEC, CLIENT_KINDS };

typedef struct client {
    struct client *prev, *next;
    struct relay *r;
    int kind;
    uint32_t addr;
    char addr_s[16];
    char peer[80];
    int64_t since_us;

    struct lws *wsi;     /* CLIENT_WS */
    struct lws *in_wsi;  /* CLIENT_EXEC: the child's stdin, we write */
    struct lws *out_wsi; /* CLIENT_EXEC: the child's stdout, we read */

    int version;        /* WebSocket: the wire protocol version, 1 or 2 (docs/PROTOCOL.md) */
    int config_sent;
    int closing;        /* a close frame is due */
    uint16_t close_code;
    const char *close_why;
    uint16_t peer_close_code;

    /* Messages (WebSocket) or frames (pipe) being assembled. */
    uint8_t *rx;
    size_t rx_len, rx_total;
    int rx_binary, rx_dropping;
    uint8_t hdr[2];      /* pipes and v2 messages: the 2-byte length being read */
    unsigned hdr_have;
    size_t frame_len;
    int rx_bad;          /* v2: this message's lengths broke; the rest of it is dropped */

    relay_pktq outq; /* towards the client, ready to send */
    int pipe_blocked; /* exec: the child's stdin was full; ask lws for POLLOUT again */
    relay_line line[DIR_COUNT];
    relay_bucket bucket[DIR_COUNT];

    uint64_t packets[DIR_COUNT], bytes[DIR_COUNT], drops;
    uint32_t drop_seen; /* bit per drop reason already logged for this client */
} client;

/* The relay's counters, exported as Prometheus metrics. */
typedef struct relay_stats {
    uint64_t packets[DIR_COUNT], bytes[DIR_COUNT];
    uint64_t messages[DIR_COUNT]; /* WebSocket binary messages (v1: one per packet) */
    uint64_t drops[DIR_COUNT][DROP_COUNT];
    uint64_t connections[CLIENT_KINDS];
    uint64_t refused[REFUSE_COUNT];
    uint64_t closed_too_big;
    uint64_t duplicated[DIR_COUNT], reordered[DIR_COUNT], delayed[DIR_COUNT];
} relay_stats;

typedef struct relay {
    relay_opts o;
    struct lws_context *ctx;
    struct lws_vhost *vh_raw, *vh_ws, *vh_metrics;
    lws_retry_bo_t keepalive;

    int tun_fd;
    struct lws *tun_wsi;
    char tun_name[16];
    int tun_created;

    int sig_fd;
    struct lws *sig_wsi;

    relay_pool pool;
    client *clients;
    unsigned nclients[CLIENT_KINDS];
    uint32_t gateway, netmask;

    char **tokens;
    size_t ntokens;

    uint64_t rng;
    int fault_active[DIR_COUNT];
    relay_stats st;
    int64_t started_us;

    /* exec mode */
    pid_t child;
    client *exec_client;
    int child_status; /* exit status once it ended, else -1 */
    char fifo_dir[64]; /* exec --fifo: the private directory of the FIFOs ("": none) */

    int stopping;      /* a signal or the child's exit asked us to stop */
    int64_t stop_deadline_us;
    int child_term_sent;
    int exit_code;
    int done;

    uint8_t tunbuf[LWS_PRE + 65536];
    uint8_t *txbuf; /* LWS_PRE + max_message: a v2 message being built (ws.c) */
} relay;

/* main.c */
void relay_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void relay_signals_readable(relay *r);

/* client.c */
client *client_new(relay *r, int kind, const char *peer);
void client_free(client *c, const char *why);
void client_from_client(client *c, const uint8_t *p, size_t len, int binary);
/* A WebSocket message fragment (-1: over --max-message); bytes of an exec child's stdout
 * (2-byte length framing). Both hand complete packets to client_from_client. */
int client_ws_fragment(client *c, const uint8_t *in, size_t len, int first, int final, int binary);
void client_pipe_bytes(client *c, const uint8_t *b, size_t n);
void client_count_down(client *c, uint32_t len);
size_t client_v2_pack(client *c, uint8_t *msg, size_t max);
void client_from_network(relay *r, uint8_t *p, size_t len);
void client_drop(relay *r, client *c, int dir, enum relay_drop why);
void client_want_write(client *c);
void client_emit(client *c, int dir, relay_pkt *p);
relay_pkt *pkt_new(const uint8_t *data, size_t len);
void pktq_push(relay_pktq *q, relay_pkt *p);
relay_pkt *pktq_pop(relay_pktq *q);
int pktq_full(const relay *r, const relay_pktq *q, const relay_pkt *p);
void pktq_free(relay_pktq *q);
size_t relay_config_json(const relay *r, const client *c, char *out, size_t cap);
/* The largest v2 message either side may send: --max-message, but room for one packet of
 * the MTU and its length at least. */
size_t relay_v2_max_message(const relay *r);

/* tun.c */
int tun_open(relay *r);

/* ws.c */
int ws_setup(relay *r);
int relay_check_listen(const char *addr_port);
int ws_raw_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);
void ws_close_all(relay *r, uint16_t code, const char *why);

/* exec.c */
int exec_start(relay *r);
void exec_child_exited(relay *r, int status);
void exec_stop(relay *r);
void exec_cleanup(relay *r);
void exec_after_service(relay *r);
int exec_pipe_readable(relay *r, struct lws *wsi);
int exec_pipe_writable(relay *r, struct lws *wsi);
void exec_pipe_closed(relay *r, struct lws *wsi);

/* metrics.c */
size_t metrics_render(const relay *r, char *out, size_t cap);
const char *relay_kind_name(int kind);
const char *relay_refusal_name(int why);

/* fault.c */
uint64_t rng_next(uint64_t *s);
double rng_percent(uint64_t *s); /* uniform in [0, 100) */
void fault_submit(client *c, int dir, relay_pkt *p);
void fault_cancel(client *c);

#endif
