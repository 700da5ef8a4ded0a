/* internal.h: the stack's private structures: socket table, TCP control block (RFC 9293
 * section 3.3.1 variables), timers, events and counters. Nothing here is public API. */
#ifndef WTCP_INTERNAL_H
#define WTCP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "assembler.h"
#include "ring.h"
#include "seq.h"
#include "wire/wire.h"
#include "wtcp.h"

#define WTCP_NONE UINT32_MAX /* "no socket" in index links */
/* A bound UDP socket sits in the 4-tuple hash under this remote address, which no TCP
 * connection can have (connect refuses broadcast), so a datagram finds it in O(1). */
#define UDP_HASH_RADDR 0xffffffffu

/* Protocol constants, chosen as Linux chooses them (see DESIGN.md). */
enum {
    TCP_RTO_INITIAL_MS = 1000,
    TCP_RTO_MIN_MS = 200,
    TCP_RTO_MAX_MS = 120000,
    TCP_DELACK_MS = 40,
    TCP_INIT_CWND_SEGS = 10,   /* RFC 6928 */
    TCP_DEFAULT_MSS = 536,     /* RFC 9293 3.7.1, when the peer sends none */
    TCP_MIN_MSS = 88,
    TCP_MAX_QUICKACKS = 16,
    TCP_DUPTHRESH = 3,
    TCP_MAX_DUPTHRESH = 16,
    TCP_FIN_TIMEOUT_MS = 60000, /* orphaned FIN-WAIT-2 */
    TCP_CHALLENGE_ACK_LIMIT = 1000, /* per second, per stack (RFC 5961 section 7) */
    TCP_SYNCOOKIE_RECENT_MS = 120000, /* cookies are checked this long after an overflow */
    TCP_MAX_WSCALE = 14,
    UDP_DEFAULT_QUEUE = 65536,
    SOCK_TABLE_START = 64,     /* socket slots allocated at first (grows to max_sockets) */
};

/* Timers of one connection (FreeBSD-style: one deadline each, the earliest armed). */
enum tcp_timer {
    TCP_T_REXMIT,    /* retransmission, also SYN / SYN-ACK / FIN */
    TCP_T_PERSIST,   /* zero-window probe */
    TCP_T_DELACK,    /* delayed ACK */
    TCP_T_LINGER,    /* TIME-WAIT 2MSL, orphaned FIN-WAIT-2 */
    TCP_T_KEEPALIVE, /* idle probe (RFC 1122 4.2.3.6) */
    TCP_T_BUFIDLE,   /* release buffers that stayed empty (tcp_buf.c) */
    TCP_T_RACK,      /* RACK reordering window over: look for losses again (RFC 8985 6.2) */
    TCP_T_TLP,       /* tail loss probe (RFC 8985 7.2) */
    TCP_T_COUNT
};

/* Connection flags. */
enum {
    TF_TS_OK = 1u << 0,        /* timestamps negotiated */
    TF_SACK_OK = 1u << 1,      /* SACK-permitted negotiated */
    TF_WS_OK = 1u << 2,        /* window scaling negotiated */
    TF_ACK_NOW = 1u << 3,      /* send an ACK at the next output */
    TF_FIN_QUEUED = 1u << 4,   /* user shut down the sending side: FIN follows the data */
    TF_FIN_SENT = 1u << 5,     /* FIN has been sent at least once */
    TF_RCVD_FIN = 1u << 6,     /* peer's FIN received in order */
    TF_OOO_FIN = 1u << 7,      /* peer's FIN seen beyond a hole (seq in rcv_fin_seq) */
    TF_NODELAY = 1u << 8,
    TF_RTT_TIMING = 1u << 9,   /* a segment is being timed (no timestamps) */
    TF_RD_SHUT = 1u << 10,     /* user shut down the receiving side */
    TF_LINGER0 = 1u << 11,
    TF_PEER_MSS = 1u << 12,    /* peer sent an MSS option */
    TF_SND_BLOCKED = 1u << 13, /* last send was short: report WRITABLE when room returns */
    TF_REUSEADDR = 1u << 14,
    TF_KEEPALIVE = 1u << 15,
    TF_ACTIVE = 1u << 16,      /* opened by connect() (for SYN-RECEIVED's RST rule) */
    TF_SYN_REXMIT = 1u << 17,  /* SYN or SYN-ACK was retransmitted (no RTT sample) */
    TF_FIN_ACKED = 1u << 18,   /* our FIN is acknowledged: nothing more to send */
    TF_DSACK = 1u << 19,       /* dsack_start/end hold a duplicate to report */
    TF_SNDBUF_LOCK = 1u << 20, /* SO_SNDBUF was set: no growth with cwnd (Linux's lock) */
    TF_ACK_ALONE = 1u << 21,   /* this segment's ACK goes out at once, even in a batch */
    TF_HELD = 1u << 22,        /* an intercepted SYN not answered yet (wtcp_intercept_*) */
};

/* HyStart++ phases (RFC 9406). */
enum { TCP_HS_OFF, TCP_HS_SLOW_START, TCP_HS_CSS };
#define TCP_INFINITE_SSTHRESH 0x7fffffffu

/* Congestion control state (tcp_cc.c). */
typedef struct tcp_cc_state {
    uint8_t algo;              /* WTCP_CC_* */
    uint32_t acked_ca;         /* NewReno: bytes ACKed towards the next cwnd step */
    /* CUBIC (RFC 9438): window before the last reduction, the epoch's start and K,
     * the window it climbs back to, the Reno-friendly estimate, a remainder. */
    uint32_t w_max, k_ms, origin, w_est;
    uint64_t epoch_start, acc;
    /* HyStart++ (RFC 9406). */
    uint8_t hs_state;
    uint32_t hs_round_end, hs_last_min, hs_cur_min, hs_samples, hs_css_base, hs_css_rounds;
    /* PRR (RFC 6937). */
    uint32_t prr_delivered, prr_out, recover_fs;
} tcp_cc_state;

/* One segment in flight (tcp_rack.c): its sequence range, when it was last sent. */
enum { TXR_RETRANS = 1, TXR_SACKED = 2, TXR_LOST = 4, TXR_PSH = 8 /* first sent with PSH */ };
typedef struct tcp_txrec {
    uint32_t start, end;
    uint64_t xmit;             /* ms */
    uint32_t order;            /* transmission number: exact order within a millisecond */
    uint8_t flags;
} tcp_txrec;

/* The segments in flight, in sequence order, from SND.UNA to SND.MAX (a ring). */
typedef struct tcp_txlog {
    tcp_txrec *rec;
    uint32_t cap, head, count;
} tcp_txlog;

/* RACK-TLP state (RFC 8985). */
typedef struct tcp_rack {
    uint64_t xmit;             /* send time of the most recently sent delivered segment */
    uint32_t order, end_seq;   /* ... its transmission number and end */
    uint32_t tx_count;         /* transmissions numbered so far */
    uint32_t rtt, min_rtt;     /* its RTT; the smallest seen (ms) */
    uint32_t fack;             /* highest end delivered (SACKed or ACKed) */
    uint32_t reo_wnd;          /* reordering window last used (ms) */
    uint8_t reord;             /* reordering seen on this connection */
    uint8_t reo_mult, reo_persist;
    uint64_t dsack_at;         /* when the multiplier last grew */
    uint32_t lost;             /* records marked lost now */
    uint32_t tlp_end;          /* SND.MAX after a probe, until it is acknowledged (0: none) */
    uint8_t tlp_retrans;       /* the probe resent data */
    uint32_t tlp_probes;
} tcp_rack;

typedef struct tcp_conn {
    uint8_t state;
    uint32_t flags;
    /* Send sequence space (RFC 9293 3.3.1). snd_max is the highest sequence sent;
     * after a timeout snd_nxt goes back to snd_una (go-back-N) while snd_max stays. */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wl1, snd_wl2;
    uint32_t snd_wnd;          /* peer's window, scaled */
    uint32_t max_snd_wnd;      /* largest window the peer offered (sender SWS) */
    uint32_t snd_sml;          /* end of the last small segment sent (Nagle, Minshall) */
    uint32_t snd_mss;          /* payload bytes per full segment (options subtracted) */
    uint32_t peer_mss;         /* MSS option value from the peer */
    uint32_t path_mtu;
    uint8_t snd_wscale, rcv_wscale;
    /* Receive sequence space. rcv_adv is the right edge we last advertised. */
    uint32_t irs, rcv_nxt, rcv_adv, rcv_fin_seq;
    uint32_t rcv_mss;          /* estimate of the peer's segment size */
    uint32_t last_ack_sent;
    /* Timestamps (RFC 7323). */
    uint32_t ts_offset, ts_recent;
    uint32_t ts_rxt_floor;     /* our TS value at the last retransmission (RTT sample filter) */
    uint64_t ts_recent_stamp;
    /* Buffers: sndbuf holds bytes from SND.UNA (past the SYN) on; rcvbuf holds
     * in-order unread bytes followed by out-of-order data at their offsets. Both are
     * allocated as data comes and grow up to sndbuf_size / rcvbuf_size (tcp_buf.c). */
    wtcp_ring sndbuf, rcvbuf;
    uint32_t sndbuf_size, rcvbuf_size;
    uint32_t snd_auto;         /* send buffer grown with cwnd so far (never shrinks) */
    wtcp_asm ooo;
    /* Congestion control (RFC 5681) and RTO (RFC 6298), times in ms, srtt/rttvar x8/x4. */
    uint32_t cwnd, ssthresh;
    tcp_cc_state cc;
    uint32_t srtt8, rttvar4, rto;
    uint32_t rto_min;          /* the RTO's floor (ms): TCP_RTO_MIN, cfg.rto_min_ms */
    uint32_t rtt_seq;
    uint64_t rtt_start;
    uint32_t backoff, retries;
    uint64_t una_since;        /* when the oldest unacknowledged data was sent (user timeout) */
    uint64_t last_send;        /* when data was last sent (restart after idle) */
    uint64_t last_rcv;         /* when the peer was last heard from (keepalive) */
    uint32_t ka_probes;        /* keepalive probes sent without an answer */
    uint32_t dupacks;
    uint32_t recover;          /* NewReno: snd_max when fast recovery began */
    uint32_t sack_high;        /* highest sequence the peer has SACKed */
    uint32_t dupthresh;        /* duplicate ACKs that mean loss: 3, raised by reordering */
    uint32_t undo_cwnd, undo_ssthresh, undo_w_max; /* before the last reduction (D-SACK undo) */
    uint32_t undo_retrans;     /* retransmissions not yet shown spurious by D-SACK */
    wtcp_asm scoreboard;       /* ranges the peer SACKed, as offsets from SND.UNA (RFC 6675) */
    uint32_t high_rxt;         /* highest sequence retransmitted in this recovery */
    tcp_txlog txlog;           /* segments in flight (RACK) */
    tcp_rack rack;
    uint32_t dsack_start, dsack_end; /* a duplicate to report in the next ACK (RFC 2883) */
    uint8_t in_recovery;
    /* ACK policy. */
    uint32_t quickacks, unacked_segs;
    /* Timers. */
    uint64_t timer[TCP_T_COUNT]; /* 0 = not armed */
    /* Listener. */
    uint32_t backlog;
    uint32_t syn_queued;       /* children in SYN-RECEIVED */
    uint32_t accept_queued;    /* children established, awaiting accept */
    uint32_t accept_head, accept_tail;
    uint64_t cookie_at;        /* when the SYN queue last overflowed into SYN cookies */
    /* Child of a listener (until accepted). */
    uint32_t parent, accept_next;
    int soft_error;            /* ICMP-reported, surfaced at timeout */
    /* Statistics for wtcp_info. */
    uint32_t total_retrans;
    uint64_t bytes_sent, bytes_acked, bytes_received, segs_in, segs_out;
} tcp_conn;

/* A connection in TIME-WAIT that nobody holds a handle to, kept in compact form
 * (tcp_tw.c): what it needs to answer the peer for 2MSL, no buffers, no socket slot. */
typedef struct tcp_tw {
    uint32_t laddr, raddr;
    uint16_t lport, rport;
    uint32_t snd_nxt, rcv_nxt;     /* our sequence after our FIN; past the peer's FIN */
    uint32_t ts_recent, ts_offset; /* RFC 7323 (when ts_ok): echo and our clock's offset */
    uint64_t ts_recent_stamp;
    uint64_t expires;              /* end of 2MSL (ms) */
    uint32_t hash_next;            /* chain in the TIME-WAIT hash (free entries: the free list) */
    uint32_t port_next;            /* chain in the table's port index */
    uint32_t older, newer;         /* the age list: oldest expires first (WTCP_NONE ends) */
    uint16_t win;                  /* window field of our ACKs (already scaled) */
    uint8_t ts_ok, in_use;
} tcp_tw;

/* The compact TIME-WAIT table: entries grow to cfg.max_time_wait; when it is full the
 * oldest one is recycled (Linux's tcp_max_tw_buckets). */
typedef struct tcp_tw_table {
    tcp_tw *e;
    uint32_t cap, count, free_head;
    uint32_t oldest, newest;
    uint32_t *hash;               /* heads of the 4-tuple chains, then of the port chains */
    uint32_t *ports;              /* = hash + hash_mask + 1: entries by local port */
    uint32_t hash_mask;
} tcp_tw_table;

typedef struct udp_sock {
    wtcp_ring queue;          /* datagrams: addr(4) port(2) len(2) data */
    uint32_t queue_size;
} udp_sock;

typedef struct sock_slot {
    uint16_t gen;
    uint8_t in_use;
    uint8_t user_owned;        /* the user holds a handle to it */
    uint8_t type;              /* WTCP_SOCK_STREAM / DGRAM */
    uint8_t ev_queued;         /* on the stack's event list */
    uint8_t in_output_list;
    uint8_t bound;
    uint8_t intercepted;       /* an interception listener, or a connection it took: no
                                * port of the stack's (its port is the guest's destination's) */
    uint32_t events;           /* pending event bits */
    uint32_t ev_next, out_next, hash_next, free_next;
    uint32_t port_next;        /* chain in the port index (bound sockets only) */
    uint32_t heap_pos;         /* position in the timer heap, or WTCP_NONE */
    uint64_t deadline;         /* earliest armed timer (heap key) */
    int so_error;
    uint32_t laddr, raddr;
    uint16_t lport, rport;
    uint32_t rcvbuf_opt, sndbuf_opt;
    uint32_t opt_flags;        /* TF_NODELAY / TF_REUSEADDR / ... requested before connect */
    uint32_t maxseg_opt;
    uint32_t ka_idle_ms, ka_intvl_ms, ka_count, user_timeout_ms;
    uint8_t cc_opt;            /* wtcp_congestion chosen for this socket */
    uint32_t rto_min_opt;      /* WTCP_TCP_RTO_MIN for its connection (ms) */
    union {
        tcp_conn tcp;
        udp_sock udp;
    } u;
} sock_slot;

/* ---- interfaces and ARP (if.c, arp.c) ---- */
enum {
    IF_HEADROOM = 16,          /* bytes before st->tx (and a queued packet) for a link header */
    ARP_REACHABLE_MS = 60000,  /* an answer is trusted this long, then probed if in use */
    ARP_RETRY_MS = 1000,       /* between requests (RFC 1122 2.3.2.1: at most one a second) */
    ARP_TRIES = 3,             /* requests before giving up (Linux's mcast/ucast_solicit) */
    ARP_QUEUE_MAX = 16,        /* packets held per unresolved address (the oldest goes first) */
    ARP_QUEUE_BYTES = 256 * 1024, /* ... and over the whole stack */
    ARP_DEFAULT_MAX = 256,
};

typedef struct wtcp_if {
    uint8_t link;              /* WTCP_LINK_*; 0: an unused slot */
    uint8_t prefix_len;
    uint8_t announce;          /* a gratuitous ARP is due at the next wtcp_poll */
    uint16_t mtu;
    uint32_t addr, mask;       /* mask from prefix_len */
    uint8_t mac[6];
    wtcp_output_fn output;
    void *output_user;
    uint64_t in, out, in_bytes, out_bytes, drops;
    struct dhcp_server *dhcp;  /* a DHCP server on this interface, or NULL */
    uint32_t intercept;        /* its interception listener's index + 1 (0: none) */
    uint32_t intercept_udp;    /* its UDP interception socket's index + 1 (0: none) */
} wtcp_if;

typedef struct arp_pkt {       /* a packet waiting for its next hop's MAC address */
    struct arp_pkt *next;
    uint32_t len;              /* the IP packet's, at data + IF_HEADROOM */
    uint8_t data[];
} arp_pkt;

enum arp_state { ARP_FREE = 0, ARP_INCOMPLETE, ARP_REACHABLE, ARP_PROBE };
typedef struct arp_entry {
    uint32_t ip;
    uint8_t mac[6];
    uint8_t ifx;
    uint8_t state;             /* enum arp_state */
    uint8_t tries;             /* requests sent in this state */
    uint8_t queued;            /* packets on queue */
    uint64_t deadline;         /* INCOMPLETE, PROBE: the next request; REACHABLE: stale then */
    uint64_t used;             /* last packet sent through it (least recently used goes) */
    arp_pkt *queue, *queue_tail;
} arp_entry;

typedef struct arp_table {
    arp_entry *e;              /* cfg.arp_max entries, allocated with the first Ethernet link */
    uint32_t cap, count;
    uint32_t last;             /* the entry found last (a cache of one) */
    uint32_t queued_bytes;
    uint64_t next_deadline;    /* earliest deadline of any entry, WTCP_NEVER if none */
} arp_table;

struct wtcp_stack {
    wtcp_config cfg;
    uint64_t now;
    sock_slot *socks;
    uint32_t nsocks;
    uint32_t free_head;
    uint32_t *hash;            /* heads of chains of connected/listening TCP sockets */
    uint32_t hash_mask;
    uint32_t *ports;           /* port index: heads of chains of bound sockets, by local port */
    uint32_t ports_mask;
    uint32_t *heap;            /* timer heap of socket indices, ordered by deadline */
    uint32_t heap_len;
    uint32_t ev_head, ev_tail;
    uint32_t out_head;         /* sockets with output pending (sent at wtcp_poll) */
    uint8_t input_more;        /* in wtcp_input_more: TCP defers what a segment calls for */
    uint8_t output_deferred;   /* it did: the next wtcp_input sends the output list */
    uint8_t *tx;               /* scratch for building one outgoing packet (IF_HEADROOM
                                * bytes of tx_base before it for a link header) */
    uint8_t *tx_base;
    uint32_t tx_cap;           /* the largest interface MTU */
    wtcp_if ifs[WTCP_MAX_IFACES];
    uint8_t nifs;
    uint8_t rx_if;             /* the interface of the packet being taken in (its drops) */
    uint8_t route_if;          /* the default route: its interface and gateway (0: none) */
    uint32_t route_gw;
    arp_table arp;
    struct nat_table *nat;     /* forwarding with NAT, or NULL */
    uint16_t ip_id;
    uint32_t port_seq;         /* RFC 6056 algorithm 3 counter */
    uint64_t challenge_window_start;
    uint32_t challenge_count;
    tcp_tw_table tw;
    wtcp_stats stats;
};

/* ---- stack.c ---- */
void *wtcp_mem_alloc(wtcp_stack *st, size_t n);
void wtcp_mem_free(wtcp_stack *st, void *p);
void stack_drop(wtcp_stack *st, int reason);
void stack_flush_output(wtcp_stack *st); /* tcp_output for every socket on the list */
uint64_t wtcp_siphash(const uint8_t key[16], const uint8_t *data, size_t len);

/* ---- sock.c: the socket layer ---- */
wtcp_sock sock_handle(const wtcp_stack *st, uint32_t idx);
uint32_t sock_alloc(wtcp_stack *st, int type);     /* WTCP_NONE when full */
void sock_release(wtcp_stack *st, uint32_t idx);   /* free the slot (gen++) */
void sock_event(wtcp_stack *st, uint32_t idx, uint32_t bits);
void sock_want_output(wtcp_stack *st, uint32_t idx);
void sock_timers_changed(wtcp_stack *st, uint32_t idx);
/* TCP 4-tuple table; raddr/rport 0 is a listener. A local port is one socket's on every
 * address, so the bucket leaves laddr out; a socket bound to address 0 matches any laddr,
 * and laddr 0 asks for any socket on the port. */
void hash_insert(wtcp_stack *st, uint32_t idx);
void hash_remove(wtcp_stack *st, uint32_t idx);
uint32_t hash_lookup(const wtcp_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport);
/* Port index: every bound socket is on the chain of its local port's bucket. */
void sock_bind_port(wtcp_stack *st, uint32_t idx, uint16_t port); /* sets lport and bound */
uint32_t port_first(const wtcp_stack *st, uint16_t port); /* a chain to walk by port_next */
int port_in_use(const wtcp_stack *st, int type, uint16_t port, uint32_t except);
/* Whether port may be taken by socket idx (ctx: what the caller needs to decide). */
typedef int (*port_usable_fn)(const wtcp_stack *st, uint32_t idx, uint16_t port, const void *ctx);
uint16_t sock_ephemeral_port(wtcp_stack *st, uint32_t offset, port_usable_fn usable, uint32_t idx, const void *ctx);

/* ---- if.c: interfaces, routes and link output ---- */
#define IF_NONE 0xff
/* The interface a packet to dst leaves by (IF_NONE: no route) and its next hop. */
uint8_t if_route(const wtcp_stack *st, uint32_t dst, uint32_t *nexthop);
/* The interface whose address addr is (IF_NONE: not ours). */
uint8_t if_local(const wtcp_stack *st, uint32_t addr);
/* The source address for a packet to dst (0 when no route). */
uint32_t if_source_for(const wtcp_stack *st, uint32_t dst);
/* The MTU of the route to dst (the first interface's when none). */
uint16_t if_mtu_for(const wtcp_stack *st, uint32_t dst);
/* Sends an IP packet (with IF_HEADROOM writable bytes before it) to nexthop by ifx. */
void if_output(wtcp_stack *st, uint8_t ifx, uint32_t nexthop, uint8_t *pkt, size_t len);
/* Sends an Ethernet frame around payload (IF_HEADROOM writable bytes before it; padded
 * to the minimum frame in place, so at least 46 bytes must be writable from payload). */
void ether_send(wtcp_stack *st, uint8_t ifx, const uint8_t dst[6], uint16_t type, uint8_t *payload,
                size_t len);
int if_config_check(const wtcp_config *cfg); /* interface 0's fields: 0 or WTCP_EINVAL */
int if_init(wtcp_stack *st);        /* interface 0 from the config: 0 or WTCP_ENOMEM */
uint64_t if_poll(wtcp_stack *st);   /* announcements and ARP timers; the next deadline */

/* ---- arp.c: the ARP cache and resolution (RFC 826, RFC 1122 2.3.2) ---- */
void arp_input(wtcp_stack *st, uint8_t ifx, const uint8_t *msg, size_t len);
/* Sends pkt to nexthop's MAC on ifx, or queues it and asks. */
void arp_output(wtcp_stack *st, uint8_t ifx, uint32_t nexthop, uint8_t *pkt, size_t len);
/* ip is at mac on ifx (what a DHCP server knows of a client it answers by unicast);
 * replace 0 keeps a resolved entry as it is. */
void arp_learn(wtcp_stack *st, uint8_t ifx, uint32_t ip, const uint8_t mac[6], int replace);
/* Asks for ip on ifx (a gratuitous ARP when ip is ifx's own address). */
void arp_request(wtcp_stack *st, uint8_t ifx, uint32_t ip, const uint8_t *unicast_mac);
uint64_t arp_timers(wtcp_stack *st); /* retries, expiry; the next deadline */
void arp_free_all(wtcp_stack *st);

/* ---- ip.c ---- */
/* An IPv4 packet received on interface ifx. */
int ip_input(wtcp_stack *st, uint8_t ifx, const void *packet, size_t len);
/* Builds the IPv4 header in front of an L4 payload already at st->tx + 20 and sends it by
 * its route; src 0 takes the route's interface address. WTCP_ENETUNREACH when no route. */
int ip_send(wtcp_stack *st, uint32_t src, uint32_t dst, uint8_t proto, size_t l4_len);
/* The same by a given interface and next hop (a broadcast, a DHCP reply). */
void ip_send_via(wtcp_stack *st, uint8_t ifx, uint32_t nexthop, uint32_t src, uint32_t dst, uint8_t proto,
                 size_t l4_len);

/* ---- nat.c: forwarding with NAT ---- */
/* A packet from ifx (not a broadcast): 1 when NAT forwarded it or dropped it (counted), 0
 * when it is the stack's own to take. */
int nat_input(wtcp_stack *st, uint8_t ifx, const wire_ipv4 *ip);
uint64_t nat_poll(wtcp_stack *st); /* frees expired flows; the next deadline */
uint32_t nat_flow_count(const wtcp_stack *st);
void nat_free(wtcp_stack *st);

/* ---- dhcp.c: the DHCP server (RFC 2131) ---- */
typedef struct dhcp_server dhcp_server;
void dhcp_input(wtcp_stack *st, uint8_t ifx, const wire_ipv4 *ip);
void dhcp_free(wtcp_stack *st, wtcp_if *f);
uint32_t dhcp_bound_count(const wtcp_stack *st); /* bound, unexpired leases, all interfaces */
void icmp_send_error(wtcp_stack *st, uint8_t type, uint8_t code, uint32_t rest,
                     const wire_ipv4 *orig);

/* ---- udp.c ---- */
void udp_input(wtcp_stack *st, const wire_ipv4 *ip);
void udp_free(wtcp_stack *st, sock_slot *s);

int udp_bind_ephemeral(wtcp_stack *st, uint32_t idx);
void udp_set_bound(wtcp_stack *st, uint32_t idx, uint16_t port);
int udp_sendto(wtcp_stack *st, uint32_t idx, const void *buf, size_t len, uint32_t addr,
               uint16_t port);
int udp_recvfrom(wtcp_stack *st, uint32_t idx, void *buf, size_t len, uint32_t *addr,
                 uint16_t *port, uint32_t *dst, uint16_t *dst_port);
/* A datagram for UDP interception socket idx (a guest's, to elsewhere). */
void udp_intercept_input(wtcp_stack *st, uint32_t idx, const wire_ipv4 *ip);
int udp_send_from(wtcp_stack *st, const void *buf, size_t len, uint32_t from, uint16_t from_port, uint32_t to,
                  uint16_t to_port);

/* ---- tcp/ ---- */
void tcp_input(wtcp_stack *st, const wire_ipv4 *ip);
void tcp_icmp_error(wtcp_stack *st, const wire_icmp *icmp, const wire_ipv4 *quoted_ip,
                    const uint8_t *quoted_l4, size_t quoted_len);
void tcp_output(wtcp_stack *st, uint32_t idx);
void tcp_timers_run(wtcp_stack *st, uint32_t idx);
void tcp_free_buffers(wtcp_stack *st, sock_slot *s);
/* tcp_tw.c, for the stack: expire entries whose 2MSL is over; the next deadline. */
void tcp_tw_expire(wtcp_stack *st);
uint64_t tcp_tw_next_deadline(const wtcp_stack *st);
void tcp_tw_free_all(wtcp_stack *st);
/* Some TIME-WAIT entry uses this local port (bind's check). */
int tcp_tw_port_used(const wtcp_stack *st, uint16_t lport);

#endif
