/* wtcp.h: the public API of wtcp, a sans-IO TCP/IPv4 stack (RFC 9293, 791, 792, 768, 826, 2131,
 * 3022). */
#ifndef WTCP_H
#define WTCP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WTCP_VERSION_MAJOR 0
#define WTCP_VERSION_MINOR 1

/*
 * Model
 * -----
 * The caller owns time and I/O. Feed every received IPv4 packet to wtcp_input();
 * packets leave through the output callback of the config. Call wtcp_poll() after
 * socket calls (it sends what they queued) and again at the deadline it returns.
 * Times are milliseconds on any monotonic clock the caller likes.
 *
 * Sockets are integer handles (index + generation). A handle that was closed, or
 * whose slot was reused, is stale: every call on it returns WTCP_EBADF.
 *
 * All results are byte counts or 0 on success, negative WTCP_E* codes on failure.
 * The output callback must not call back into the stack.
 */

/* Error codes: X(name, value, message). */
#define WTCP_ERRNO_MAP(X)                                                      \
    X(EINVAL, -1, "invalid argument")                                          \
    X(EBADF, -2, "bad or stale socket handle")                                 \
    X(EAGAIN, -3, "operation would block")                                     \
    X(ENOMEM, -4, "out of memory")                                             \
    X(EMFILE, -5, "no free socket slots")                                      \
    X(EADDRINUSE, -6, "address already in use")                                \
    X(EADDRNOTAVAIL, -7, "address not available")                              \
    X(EISCONN, -8, "socket is already connected")                              \
    X(ENOTCONN, -9, "socket is not connected")                                 \
    X(EALREADY, -10, "operation already in progress")                          \
    X(EINPROGRESS, -11, "operation now in progress")                           \
    X(ECONNREFUSED, -12, "connection refused")                                 \
    X(ECONNRESET, -13, "connection reset by peer")                             \
    X(ECONNABORTED, -14, "connection aborted")                                 \
    X(ETIMEDOUT, -15, "connection timed out")                                  \
    X(EPIPE, -16, "broken pipe: sending side is shut down")                    \
    X(EMSGSIZE, -17, "message too long")                                       \
    X(ENETUNREACH, -18, "network is unreachable")                              \
    X(EHOSTUNREACH, -19, "no route to host")                                   \
    X(EOPNOTSUPP, -20, "operation not supported on this socket")               \
    X(ENOPROTOOPT, -21, "protocol option not available")                       \
    X(EPROTO, -22, "protocol error")                                           \
    X(ENOBUFS, -23, "no buffer space available")

enum wtcp_errno {
#define WTCP_ERRNO_ENUM(name, value, msg) WTCP_##name = (value),
    WTCP_ERRNO_MAP(WTCP_ERRNO_ENUM)
#undef WTCP_ERRNO_ENUM
    WTCP_ERRNO_MIN = -23
};

/* A message for a WTCP_E* code (or "success" for >= 0). Never NULL. */
const char *wtcp_strerror(int err);
/* The symbolic name of a WTCP_E* code without prefix, e.g. "ECONNREFUSED". */
const char *wtcp_errname(int err);

/* TCP states, ordered so that predicates are comparisons (as FreeBSD's tcp_fsm.h). */
enum wtcp_state {
    WTCP_CLOSED = 0,
    WTCP_LISTEN,
    WTCP_SYN_SENT,
    WTCP_SYN_RECEIVED,
    WTCP_ESTABLISHED,
    WTCP_CLOSE_WAIT,
    WTCP_FIN_WAIT_1,
    WTCP_CLOSING,
    WTCP_LAST_ACK,
    WTCP_FIN_WAIT_2,
    WTCP_TIME_WAIT,
    WTCP_NUM_STATES
};
/* RFC 9293 spelling: "SYN-RECEIVED", "FIN-WAIT-1", ... */
const char *wtcp_state_name(int state);

typedef void (*wtcp_output_fn)(void *user, const uint8_t *packet, size_t len);
/* realloc-like: (ptr, 0) frees and returns NULL; (NULL, n) allocates. */
typedef void *(*wtcp_alloc_fn)(void *user, void *ptr, size_t size);
/* Optional trace hook: a TCP socket changed state (sock may be a not-yet-accepted
 * connection). Must not call back into the stack. */
typedef void (*wtcp_state_fn)(void *user, int32_t sock, int old_state, int new_state);

/* Congestion control algorithms (per stack in wtcp_config, per socket with
 * WTCP_TCP_CONGESTION). */
enum wtcp_congestion {
    WTCP_CC_CUBIC = 1,   /* RFC 9438 with HyStart++ (RFC 9406); the default, as Linux */
    WTCP_CC_NEWRENO = 2, /* RFC 5681 + RFC 6582 */
};
/* "cubic", "newreno"; NULL for an unknown value. */
const char *wtcp_congestion_name(int cc);

/* Link types of interfaces: raw IPv4 packets, or Ethernet II frames (with ARP). */
enum wtcp_link { WTCP_LINK_IP = 1, WTCP_LINK_ETHERNET = 2 };

typedef struct wtcp_config {
    /* Interface 0 (more with wtcp_iface_add): */
    uint32_t addr;          /* our IPv4 address, host byte order */
    uint8_t prefix_len;     /* on-link prefix (0: every address is on-link) */
    uint32_t gateway;       /* a router beyond the prefix (0: none, so off-link
                             * destinations give WTCP_ENETUNREACH) */
    uint16_t mtu;           /* link MTU, 576..65535, default 1500 */
    wtcp_output_fn output;  /* required */
    void *output_user;
    wtcp_alloc_fn alloc;    /* NULL: libc realloc/free */
    void *alloc_user;
    uint8_t isn_key[16];    /* RFC 6528 secret; set it from a real random source */
    uint32_t max_sockets;   /* sockets, default 16384, max 65535; the table grows to it as
                             * sockets are made (736 bytes a slot). Closed connections in
                             * TIME-WAIT do not count (max_time_wait) */
    uint32_t sndbuf;        /* send buffer ceiling: it grows to 2 x cwnd up to this (4 MiB) */
    uint32_t rcvbuf;        /* default receive buffer bytes (256 KiB) */
    uint32_t rcvbuf_max;    /* largest SO_RCVBUF; sets the window scale (6 MiB: scale 7, as Linux) */
    uint32_t max_backlog;   /* cap on listen()'s backlog (4096, Linux's somaxconn): it bounds
                             * both the half-open connections and those awaiting accept */
    uint32_t time_wait_ms;  /* 2*MSL (60000) */
    uint32_t syn_retries;   /* SYN retransmissions before ETIMEDOUT (6) */
    uint32_t synack_retries;/* SYN-ACK retransmissions before giving up (5) */
    uint32_t data_retries;  /* data/FIN retransmissions before ETIMEDOUT (15) */
    uint32_t keepalive_idle_ms;  /* idle time before the first keepalive probe (7200000) */
    uint32_t keepalive_intvl_ms; /* between unanswered probes (75000) */
    uint32_t keepalive_count;    /* unanswered probes before ETIMEDOUT (9) */
    uint16_t ephemeral_lo, ephemeral_hi; /* local port range (32768..60999) */
    uint8_t ttl;            /* default 64 */
    uint8_t no_timestamps;  /* 1: do not offer RFC 7323 timestamps */
    uint8_t no_sack;        /* 1: do not offer SACK-permitted */
    uint8_t no_wscale;      /* 1: do not offer window scaling */
    uint8_t congestion;     /* WTCP_CC_CUBIC (default) or WTCP_CC_NEWRENO */
    wtcp_state_fn on_state; /* optional */
    void *state_user;
    uint32_t max_time_wait; /* closed connections kept in TIME-WAIT, in compact form (about
                             * 64 bytes each, outside max_sockets); when full the oldest is
                             * recycled (Linux's tcp_max_tw_buckets). Default 16384 */
    uint32_t rto_min_ms;    /* the retransmission timeout's floor, default 200 ms (Linux's);
                             * lower it only on paths whose peers ACK promptly (0: default) */
    uint8_t no_syncookies;  /* 1: never answer with SYN cookies (0: when a listener's SYN
                             * queue is full, as Linux's tcp_syncookies=1) */
    uint32_t arp_max;       /* ARP cache entries over all Ethernet interfaces, default 256;
                             * when full the least recently used is evicted */
    uint8_t link;           /* interface 0's link: WTCP_LINK_IP (0 means it too) or
                             * WTCP_LINK_ETHERNET (wtcp_input then takes frames) */
    uint8_t mac[6];         /* interface 0's MAC address when it is Ethernet */
} wtcp_config;

/* Fill defaults; the caller then sets addr, output and isn_key. */
void wtcp_config_init(wtcp_config *cfg);

typedef struct wtcp_stack wtcp_stack;

/* Returns 0 and *out, or WTCP_EINVAL / WTCP_ENOMEM. */
int wtcp_stack_new(const wtcp_config *cfg, wtcp_stack **out);
/* Frees everything; sends nothing. Handles become meaningless. */
void wtcp_stack_free(wtcp_stack *stack);

/* Feed one received IPv4 packet. Malformed input is dropped and counted.
 * Returns a negative code when the IP layer refused it (malformed, not ours, a
 * fragment, an unknown protocol), else 0; drops in TCP/UDP/ICMP (checksum, window,
 * PAWS...) return 0 and are counted in wtcp_stats_get's drop[] by reason. */
int wtcp_input(wtcp_stack *stack, uint64_t now_ms, const void *packet, size_t len);
/* As wtcp_input, for a packet with more received at once behind it (a recvmmsg batch, a
 * WebSocket message of many packets): the ACK and new data it calls for wait until the
 * next wtcp_input() or wtcp_poll(), so one ACK answers the whole batch, as Linux answers
 * a GRO batch. Feed the last packet of the batch with wtcp_input(). */
int wtcp_input_more(wtcp_stack *stack, uint64_t now_ms, const void *packet, size_t len);

/* Interfaces (src/if.c)
 * ----------
 * A stack has up to WTCP_MAX_IFACES interfaces. Interface 0 is the config's: an IP link
 * (addr, prefix_len, mtu, output; packets in through wtcp_input). wtcp_iface_add adds
 * more: IP links, or Ethernet II links whose frames carry IPv4 and ARP (RFC 826). Every
 * packet sent takes a route: the interface whose on-link prefix holds the destination
 * (the longest prefix wins), else the default route (cfg.gateway on interface 0, or
 * wtcp_route_default). Sockets work on every interface: bound to address 0 a listener
 * accepts on all of them, and a connection's local address is its route's interface's. */
#define WTCP_MAX_IFACES 8
enum wtcp_family { WTCP_AF_INET = 2 };
/* An interface address with its on-link prefix; shaped for IPv6 to be another family. */
typedef struct wtcp_ifaddr {
    uint8_t family;         /* WTCP_AF_INET */
    uint8_t prefix_len;     /* 0..32 (0: every address is on-link) */
    uint32_t v4;            /* host byte order; 0: none yet */
    uint8_t v6[16];         /* reserved */
} wtcp_ifaddr;
typedef struct wtcp_iface_config {
    uint8_t link;           /* WTCP_LINK_IP or WTCP_LINK_ETHERNET */
    wtcp_ifaddr addr;
    uint16_t mtu;           /* IP MTU 576..65535, default 1500 (Ethernet: 1514-byte frames) */
    uint8_t mac[6];         /* Ethernet: ours, unicast and not zero */
    wtcp_output_fn output;  /* required: IP packets, or Ethernet frames without FCS */
    void *output_user;
} wtcp_iface_config;
/* Defaults: WTCP_LINK_ETHERNET, WTCP_AF_INET, MTU 1500. */
void wtcp_iface_config_init(wtcp_iface_config *cfg);
/* Returns the new interface's index (1..WTCP_MAX_IFACES-1), WTCP_EINVAL, WTCP_ENOBUFS
 * (no interface slot left) or WTCP_ENOMEM. An Ethernet interface announces its address
 * with a gratuitous ARP at the next wtcp_poll. */
int wtcp_iface_add(wtcp_stack *stack, const wtcp_iface_config *cfg);
/* Feed one packet (IP link) or frame (Ethernet) received on interface iface; returns as
 * wtcp_input (WTCP_EINVAL for an unknown interface). */
int wtcp_iface_input(wtcp_stack *stack, int iface, uint64_t now_ms, const void *data, size_t len);
/* As wtcp_input_more, on interface iface. */
int wtcp_iface_input_more(wtcp_stack *stack, int iface, uint64_t now_ms, const void *data,
                          size_t len);
/* The default route: off-link destinations go to gateway through iface (gateway 0 removes
 * it). The gateway must be on iface's prefix. */
int wtcp_route_default(wtcp_stack *stack, int iface, uint32_t gateway);
typedef struct wtcp_iface_info {
    uint8_t link;
    wtcp_ifaddr addr;
    uint16_t mtu;
    uint8_t mac[6];
    uint64_t in, out, in_bytes, out_bytes; /* packets or frames received and sent */
    uint64_t drops;                        /* received and dropped (also in wtcp_stats) */
} wtcp_iface_info;
/* WTCP_EINVAL for an index without an interface. */
int wtcp_iface_get(const wtcp_stack *stack, int iface, wtcp_iface_info *info);

/* DHCP server (src/dhcp.c; RFC 2131, options of RFC 2132) on an Ethernet interface:
 * DISCOVER/OFFER, REQUEST/ACK/NAK, RELEASE, DECLINE, INFORM; leases from a pool on the
 * interface's prefix, or a static address per MAC. The lease table is the pool (one entry
 * per address, allocated when the server is enabled) plus WTCP_DHCP_MAX_STATIC. */
#define WTCP_DHCP_MAX_STATIC 32
#define WTCP_DHCP_MAX_POOL 4096
typedef struct wtcp_dhcp_config {
    uint32_t pool_first, pool_last; /* addresses to lease, host order, on the prefix */
    uint32_t lease_s;       /* lease time (86400); renewal T1 at 1/2, rebinding T2 at 7/8 */
    uint32_t router;        /* option 3 (the interface's address; 0xffffffff: none) */
    uint32_t dns[3];        /* option 6 (the interface's address; more if set; 0xffffffff
                             * in dns[0]: none) */
    uint16_t mtu;           /* option 26 (the interface's MTU; 0xffff: none) */
    uint32_t offer_hold_ms; /* how long an offered address waits for its REQUEST (30000) */
    uint32_t decline_hold_s;/* an address a client declined stays out of the pool (600) */
} wtcp_dhcp_config;
void wtcp_dhcp_config_init(wtcp_dhcp_config *cfg);
/* Serves DHCP on Ethernet interface iface (again: reconfigures it, leases kept where they
 * fit the new pool). WTCP_EINVAL for a bad pool (off the prefix, reversed, over
 * WTCP_DHCP_MAX_POOL, holding the interface's own address) or interface. */
int wtcp_dhcp_enable(wtcp_stack *stack, int iface, const wtcp_dhcp_config *cfg);
/* Always leases addr to mac (addr on the prefix, not the interface's; outside the pool or
 * inside it). WTCP_ENOBUFS past WTCP_DHCP_MAX_STATIC, WTCP_EADDRINUSE when another MAC
 * has it statically. */
int wtcp_dhcp_static(wtcp_stack *stack, int iface, const uint8_t mac[6], uint32_t addr);
enum wtcp_dhcp_state { WTCP_DHCP_OFFERED = 1, WTCP_DHCP_BOUND = 2, WTCP_DHCP_DECLINED = 3 };
typedef struct wtcp_dhcp_lease {
    uint8_t mac[6];
    uint8_t state;          /* wtcp_dhcp_state */
    uint8_t is_static;
    uint32_t addr;
    uint64_t expires_ms;    /* on the stack's clock */
} wtcp_dhcp_lease;
/* The n-th live lease (offered, bound or declined, in address order): 1 and *lease, or 0
 * past the last one; WTCP_EINVAL without a server on iface. */
int wtcp_dhcp_lease_get(const wtcp_stack *stack, int iface, uint32_t n, wtcp_dhcp_lease *lease);

/* Forwarding with NAT (src/nat.c; RFC 3022's NAPT, RFC 4787/5382 behaviour): packets from
 * any other interface to a destination routed by the outside interface leave with the
 * outside interface's address as their source (TCP and UDP ports and ICMP echo
 * identifiers mapped), and the answers come back. Connection tracking by state, bounded;
 * ICMP errors translated with their quoted headers; TTL decremented (time exceeded at
 * the end); TCP MSS clamped to both links' MTUs; packets too big for the next link with DF
 * answered with fragmentation needed. Port forwards map a port of the outside address to
 * an inside address and port. */
typedef struct wtcp_nat_config {
    uint32_t max_entries;      /* tracked flows (4096); when full, the least recently used
                                * flow not yet answered is dropped, else the new one */
    uint16_t port_lo, port_hi; /* outside ports for mappings (61000..65535; keep them apart
                                * from ephemeral_lo..hi and from ports the stack binds) */
    uint32_t tcp_established_s;/* idle timeout of an established TCP flow (7440, RFC 5382) */
    uint32_t tcp_transitory_s; /* opening or closing (240) */
    uint32_t udp_s;            /* a UDP flow (300 once answered, RFC 4787 REQ-5; 30 before) */
    uint32_t icmp_s;           /* an ICMP echo flow (60) */
} wtcp_nat_config;
void wtcp_nat_config_init(wtcp_nat_config *cfg);
/* Masquerade onto interface outside's address; again: reconfigured (flows dropped).
 * WTCP_EINVAL for an interface without an address. */
int wtcp_nat_enable(wtcp_stack *stack, int outside, const wtcp_nat_config *cfg);
enum wtcp_proto { WTCP_PROTO_ICMP = 1, WTCP_PROTO_TCP = 6, WTCP_PROTO_UDP = 17 };
/* A port forward: proto (TCP or UDP) to outside_port of the outside address goes to
 * inside_addr:inside_port. WTCP_EADDRINUSE when outside_port is forwarded already,
 * WTCP_ENOBUFS past WTCP_NAT_MAX_FORWARDS, WTCP_EINVAL without NAT or for an address no
 * inside interface reaches. */
#define WTCP_NAT_MAX_FORWARDS 64
int wtcp_nat_forward(wtcp_stack *stack, int proto, uint16_t outside_port, uint32_t inside_addr,
                     uint16_t inside_port);
/* Removes a forward (flows it made end); WTCP_EINVAL when there is none. */
int wtcp_nat_unforward(wtcp_stack *stack, int proto, uint16_t outside_port);
/* DNS for the inside: UDP and TCP to port 53 of any inside interface's address go on to
 * resolver:53 through the outside interface (tracked as any flow, so bounded and timed
 * out), and the answers come back from the address asked. resolver 0 stops it: port 53
 * is then the stack's own (an application may answer there with a UDP socket).
 * WTCP_EINVAL without NAT, or for a resolver not routed by the outside interface. */
int wtcp_nat_dns(wtcp_stack *stack, uint32_t resolver);

#define WTCP_NEVER UINT64_MAX
/* Run due timers and send pending segments; returns the next deadline (absolute
 * ms), or WTCP_NEVER when nothing is scheduled. */
uint64_t wtcp_poll(wtcp_stack *stack, uint64_t now_ms);

/* Sockets */
enum wtcp_socktype { WTCP_SOCK_STREAM = 1, WTCP_SOCK_DGRAM = 2 };
typedef int32_t wtcp_sock;

int wtcp_socket(wtcp_stack *stack, int type);
int wtcp_bind(wtcp_stack *stack, wtcp_sock s, uint32_t addr, uint16_t port);
int wtcp_listen(wtcp_stack *stack, wtcp_sock s, int backlog);
/* Returns a new handle or WTCP_EAGAIN; fills peer address/port when not NULL. */
int wtcp_accept(wtcp_stack *stack, wtcp_sock s, uint32_t *addr, uint16_t *port);
/* Returns WTCP_EINPROGRESS; completion is a WTCP_EV_CONNECTED or WTCP_EV_ERROR event. */
int wtcp_connect(wtcp_stack *stack, wtcp_sock s, uint32_t addr, uint16_t port);
/* Copies up to len bytes into the send buffer: a short count when it is full,
 * WTCP_EAGAIN when nothing fits. */
int wtcp_send(wtcp_stack *stack, wtcp_sock s, const void *buf, size_t len);
/* Returns bytes read, 0 at end of stream, WTCP_EAGAIN when nothing is there yet. */
int wtcp_recv(wtcp_stack *stack, wtcp_sock s, void *buf, size_t len);
/* TCP: bytes ready to read (FIONREAD); on a listener, connections waiting for accept.
 * UDP: the next datagram's size, WTCP_EAGAIN when none is queued. */
int wtcp_readable(wtcp_stack *stack, wtcp_sock s);
/* Bytes of free send buffer space. */
int wtcp_writable(wtcp_stack *stack, wtcp_sock s);

enum wtcp_shut { WTCP_SHUT_RD = 1, WTCP_SHUT_WR = 2, WTCP_SHUT_RDWR = 3 };
int wtcp_shutdown(wtcp_stack *stack, wtcp_sock s, int how);
/* Graceful close (FIN), or RST when unread data remains; the handle is released
 * at once, the connection finishes on its own. */
int wtcp_close(wtcp_stack *stack, wtcp_sock s);
/* Sends RST and releases the handle. */
int wtcp_abort(wtcp_stack *stack, wtcp_sock s);

/* UDP */
int wtcp_sendto(wtcp_stack *stack, wtcp_sock s, const void *buf, size_t len,
                uint32_t addr, uint16_t port);
/* Returns datagram length (truncated to len), WTCP_EAGAIN when none is queued. */
int wtcp_recvfrom(wtcp_stack *stack, wtcp_sock s, void *buf, size_t len,
                  uint32_t *addr, uint16_t *port);

/* Socket options (int values), described once: X(name, value); the enum and the npm
 * package's option table (bindings/js) both come from this list. */
#define WTCP_SOCKOPT_MAP(X)                                                               \
    X(SO_REUSEADDR, 1)                                                                    \
    X(SO_RCVBUF, 2)                                                                       \
    X(SO_SNDBUF, 3)                                                                       \
    X(SO_KEEPALIVE, 4)                                                                    \
    X(SO_ERROR, 5)         /* get: pending error (cleared), 0 if none */                  \
    X(TCP_NODELAY, 6)                                                                     \
    X(TCP_MAXSEG, 7)                                                                      \
    X(SO_LINGER0, 8)       /* 1: close() sends RST (SO_LINGER with l_linger 0) */         \
    X(TCP_KEEPIDLE, 9)     /* seconds of idle before keepalive probes (with SO_KEEPALIVE) */ \
    X(TCP_KEEPINTVL, 10)   /* seconds between keepalive probes */                         \
    X(TCP_KEEPCNT, 11)     /* unanswered probes before the connection fails */            \
    X(TCP_USER_TIMEOUT, 12) /* ms data may stay unacknowledged before ETIMEDOUT (0: retries) */ \
    X(TCP_CONGESTION, 13)  /* a wtcp_congestion value (Linux's TCP_CONGESTION, by number) */ \
    X(TCP_RTO_MIN, 14)     /* the RTO's floor in ms, 1..120000 (Linux's TCP_RTO_MIN_US in ms; \
                            * default cfg.rto_min_ms, 200) */
#define WTCP_SOCKOPT_ENUM(name, value) WTCP_##name = value,
enum wtcp_sockopt { WTCP_SOCKOPT_MAP(WTCP_SOCKOPT_ENUM) };
int wtcp_setsockopt(wtcp_stack *stack, wtcp_sock s, int opt, int value);
int wtcp_getsockopt(wtcp_stack *stack, wtcp_sock s, int opt, int *value);

int wtcp_getsockname(wtcp_stack *stack, wtcp_sock s, uint32_t *addr, uint16_t *port);
int wtcp_getpeername(wtcp_stack *stack, wtcp_sock s, uint32_t *addr, uint16_t *port);

/* Interception (a TCP forwarder, as gVisor's and slirp's): a guest's SYN that arrives on
 * interface iface for an address that is not the stack's (and that NAT does not take
 * first: interception comes before it) is held, not answered, and handed to the
 * application through a listener: wtcp_accept on it returns the held connection, whose
 * wtcp_getsockname is the address and port the guest asked for. The application opens its
 * upstream (a Wisp stream, a relay connection), then answers the guest with
 * wtcp_intercept_complete (the SYN-ACK goes out; the connection is then an ordinary one)
 * or wtcp_intercept_refuse (RST, or ICMP unreachable from the stack's address on iface,
 * as a real network would show). The guest's retransmitted SYNs are absorbed meanwhile.
 * Held connections count against the listener's backlog (beyond it SYNs are dropped and
 * the guest retries). Closing the listener stops interception (and resets what waits). */
int wtcp_intercept_listen(wtcp_stack *stack, int iface, int backlog);
int wtcp_intercept_complete(wtcp_stack *stack, wtcp_sock s);
enum wtcp_refusal {
    WTCP_REFUSE_RESET = 0,       /* RST: ECONNREFUSED for the guest */
    WTCP_REFUSE_NET_UNREACH = 1, /* ICMP destination unreachable, net */
    WTCP_REFUSE_HOST_UNREACH = 2 /* ... host */
};
/* Answers the held SYN with `how` and releases the handle. */
int wtcp_intercept_refuse(wtcp_stack *stack, wtcp_sock s, int how);
/* UDP the same way: datagrams that arrive on iface for addresses not the stack's go to the
 * UDP socket this returns (before NAT), each with its destination; answers leave with
 * wtcp_intercept_sendto from that destination, or as ICMP port unreachable (what a host
 * with nothing on the port sends). Its queue is bounded as any UDP socket's (SO_RCVBUF). */
int wtcp_intercept_udp(wtcp_stack *stack, int iface);
/* As wtcp_recvfrom, with the address and port the datagram was sent to. */
int wtcp_intercept_recvfrom(wtcp_stack *stack, wtcp_sock s, void *buf, size_t len, uint32_t *src,
                            uint16_t *src_port, uint32_t *dst, uint16_t *dst_port);
/* A datagram to to:to_port (a guest) from from:from_port (the address it asked). */
int wtcp_intercept_sendto(wtcp_stack *stack, wtcp_sock s, const void *buf, size_t len, uint32_t from,
                          uint16_t from_port, uint32_t to, uint16_t to_port);
/* ICMP port unreachable from from:from_port to to:to_port, quoting its datagram's headers. */
int wtcp_intercept_unreachable(wtcp_stack *stack, wtcp_sock s, uint32_t from, uint16_t from_port,
                               uint32_t to, uint16_t to_port);

/* Events: which handles need attention, so bindings never poll sockets. */
/* Event bits, described once: X(name, bit); the enum and the npm package's table. */
#define WTCP_EVENT_MAP(X)                                                                 \
    X(READABLE, 0)   /* data, or end of stream, to read */                                \
    X(WRITABLE, 1)   /* room in the send buffer again, after a short write or after the   \
                      * buffer was full */                                                \
    X(CONNECTED, 2)  /* active open completed */                                          \
    X(ACCEPTABLE, 3) /* a listener has a connection to accept */                          \
    X(CLOSED, 4)     /* connection fully closed (no error) */                             \
    X(ERROR, 5)      /* connection failed; SO_ERROR tells why */
#define WTCP_EVENT_ENUM(name, bit) WTCP_EV_##name = 1 << (bit),
enum wtcp_event_bits { WTCP_EVENT_MAP(WTCP_EVENT_ENUM) };
typedef struct wtcp_event {
    wtcp_sock sock;
    uint32_t events;
} wtcp_event;
/* Pops one pending event; returns 1 when *ev was filled, 0 when none is pending. */
int wtcp_next_event(wtcp_stack *stack, wtcp_event *ev);

/* TCP_INFO-like figures. */
typedef struct wtcp_info {
    int state;
    uint32_t local_addr, remote_addr;
    uint16_t local_port, remote_port;
    uint32_t snd_mss, rcv_mss;
    uint32_t snd_wnd, rcv_wnd;     /* bytes, after scaling */
    uint8_t snd_wscale, rcv_wscale;
    uint8_t ts_ok, sack_ok;
    uint32_t cwnd, ssthresh;       /* bytes */
    uint32_t srtt_ms, rttvar_ms, rto_ms;
    uint32_t backoff;              /* current RTO backoff exponent */
    uint32_t retransmits;          /* segments retransmitted, total */
    uint32_t unacked;              /* bytes in flight */
    uint32_t snd_buf_used, rcv_buf_used;
    uint64_t bytes_sent;           /* payload bytes sent incl. retransmissions */
    uint64_t bytes_acked;
    uint64_t bytes_received;       /* payload bytes delivered in order */
    uint64_t segs_in, segs_out;
    uint8_t congestion;            /* wtcp_congestion in use */
    uint8_t ca_state;              /* 0 open, 1 disorder, 2 recovery, 3 loss (Linux's) */
    uint32_t lost;                 /* segments the scoreboard now counts lost */
    uint32_t reordering;           /* reordering degree seen, in segments */
    uint32_t rack_reo_wnd_ms;      /* RACK reordering window now */
    uint32_t tlp_probes;           /* tail loss probes sent, total */
} wtcp_info;
int wtcp_info_get(wtcp_stack *stack, wtcp_sock s, wtcp_info *info);

/* Per-stack counters. Drop reasons are named by wtcp_drop_name(). */
#define WTCP_DROP_MAP(X)                                                       \
    X(IP_TOO_SHORT, "ip: shorter than a header")                               \
    X(IP_VERSION, "ip: not version 4")                                         \
    X(IP_HDR_LEN, "ip: bad header length")                                     \
    X(IP_TOTAL_LEN, "ip: total length exceeds buffer")                         \
    X(IP_CHECKSUM, "ip: bad header checksum")                                  \
    X(IP_NOT_OURS, "ip: destination is not our address")                      \
    X(IP_FRAGMENT, "ip: fragment (reassembly not supported)")                  \
    X(IP_PROTO, "ip: unsupported protocol")                                    \
    X(IP_BAD_SRC, "ip: broadcast/multicast/zero source")                       \
    X(ICMP_MALFORMED, "icmp: malformed")                                       \
    X(ICMP_CHECKSUM, "icmp: bad checksum")                                     \
    X(ICMP_IGNORED, "icmp: type not handled")                                  \
    X(UDP_MALFORMED, "udp: malformed")                                         \
    X(UDP_CHECKSUM, "udp: bad checksum")                                       \
    X(UDP_NO_PORT, "udp: no socket on port")                                   \
    X(UDP_QUEUE_FULL, "udp: receive queue full")                               \
    X(TCP_MALFORMED, "tcp: malformed header or options")                       \
    X(TCP_CHECKSUM, "tcp: bad checksum")                                       \
    X(TCP_NO_SOCKET, "tcp: no socket (answered with RST)")                     \
    X(TCP_BAD_FLAGS, "tcp: invalid flag combination")                          \
    X(TCP_OUT_OF_WINDOW, "tcp: segment outside the receive window")            \
    X(TCP_BAD_ACK, "tcp: unacceptable acknowledgment")                         \
    X(TCP_PAWS, "tcp: old timestamp (PAWS)")                                   \
    X(TCP_BACKLOG_FULL, "tcp: listen backlog full")                            \
    X(TCP_NO_MEMORY, "tcp: no memory or socket slot for connection")           \
    X(TCP_RST_IGNORED, "tcp: RST not acceptable")                              \
    X(TCP_OOO_FULL, "tcp: out-of-order data beyond buffer")                    \
    X(TCP_DUPLICATE, "tcp: duplicate segment (all of it received before)")    \
    X(IP_NO_ROUTE, "ip: no route to the destination")                         \
    X(ETH_TOO_SHORT, "eth: shorter than a header")                             \
    X(ETH_NOT_OURS, "eth: to another MAC address or a multicast group")       \
    X(ETH_BAD_SRC, "eth: broadcast/multicast source")                          \
    X(ETH_TYPE, "eth: EtherType not handled")                                  \
    X(ARP_MALFORMED, "arp: malformed")                                         \
    X(ARP_NOT_OURS, "arp: not for our address")                                \
    X(ARP_QUEUE_FULL, "arp: queue full while resolving")                       \
    X(ARP_UNRESOLVED, "arp: no reply, queued packet dropped")                 \
    X(IP_BROADCAST, "ip: broadcast not for a UDP socket")                      \
    X(DHCP_MALFORMED, "dhcp: malformed")                                       \
    X(DHCP_IGNORED, "dhcp: not for this server, or not a request")             \
    X(DHCP_POOL_EMPTY, "dhcp: no address left to offer")                      \
    X(NAT_TABLE_FULL, "nat: flow table full")                                  \
    X(NAT_NO_FLOW, "nat: TCP segment of no tracked flow")                      \
    X(NAT_NO_PORT, "nat: no outside port free")                                \
    X(NAT_TTL, "nat: TTL exceeded (time exceeded sent)")                       \
    X(NAT_TOO_BIG, "nat: too big for the next link (fragmentation needed sent)") \
    X(NAT_UNSUPPORTED, "nat: protocol or ICMP type not translated")

enum wtcp_drop_reason {
#define WTCP_DROP_ENUM(name, msg) WTCP_DROP_##name,
    WTCP_DROP_MAP(WTCP_DROP_ENUM)
#undef WTCP_DROP_ENUM
    WTCP_DROP_COUNT
};
const char *wtcp_drop_name(int reason);

typedef struct wtcp_stats {
    uint64_t ip_in, ip_out;           /* packets */
    uint64_t ip_in_bytes, ip_out_bytes;
    uint64_t tcp_in, tcp_out, tcp_retransmits, tcp_rst_out, tcp_challenge_acks;
    uint64_t tcp_active_opens, tcp_passive_opens, tcp_conn_failed;
    uint64_t tcp_tlp_probes, tcp_rack_losses; /* tail loss probes; segments RACK found lost */
    uint64_t tcp_timeouts, tcp_recoveries;    /* retransmission timeouts; fast recoveries */
    uint64_t udp_in, udp_out, icmp_in, icmp_out;
    uint64_t drops;                   /* sum of drop[] */
    uint64_t drop[WTCP_DROP_COUNT];
    uint64_t tcp_time_wait;           /* connections in compact TIME-WAIT now (a gauge) */
    uint64_t tcp_tw_recycled;         /* ... ended before 2MSL because the table was full */
    uint64_t tcp_syncookies_sent, tcp_syncookies_recv, tcp_syncookies_failed; /* RFC 4987 */
    uint64_t eth_in, eth_out;         /* Ethernet frames, all interfaces */
    uint64_t arp_in, arp_out;         /* ARP messages */
    uint64_t arp_entries;             /* ARP cache entries now (a gauge) */
    uint64_t arp_queued;              /* packets waiting for a resolution now (a gauge) */
    uint64_t arp_evicted;             /* cache entries evicted because the cache was full */
    uint64_t dhcp_in, dhcp_out;       /* DHCP messages taken and sent by the server */
    uint64_t dhcp_leases;             /* bound leases now, all interfaces (a gauge) */
    uint64_t nat_out, nat_in;         /* packets translated outward and inward */
    uint64_t nat_flows;               /* flows tracked now (a gauge) */
    uint64_t nat_evicted;             /* flows dropped early because the table was full */
} wtcp_stats;
void wtcp_stats_get(const wtcp_stack *stack, wtcp_stats *out);

/* Address helpers: "a.b.c.d" <-> host-order uint32. Return 0 / WTCP_EINVAL. */
int wtcp_addr_parse(const char *text, uint32_t *addr);
/* Writes at most 16 bytes including NUL. */
void wtcp_addr_format(uint32_t addr, char out[16]);

#ifdef __cplusplus
}
#endif
#endif /* WTCP_H */
