/* main.c: wtcp-relay's command line, start-up (TUN, listeners, privilege drop), signals, the event loop and clean shutdown. */
#include "relay.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STOP_TERM_AFTER_US (2 * 1000000) /* exec: SIGTERM a child that ignored EOF */
#define STOP_GIVE_UP_US (4 * 1000000)    /* then SIGKILL, and close what is left */

/* One piece per section: ISO C promises string literals of 4095 bytes only. */
static const char *const usage_text[] = {
    "usage: wtcp-relay [OPTIONS]\n"
    "       wtcp-relay exec [OPTIONS] [--] COMMAND [ARG]...\n"
    "\n"
    "Connects wtcp stacks (browsers, Node, WASI programs) to a real network. The relay owns a\n"
    "TUN device, gives each client an address on its subnet and forwards the client's IPv4\n"
    "packets: over a WebSocket (first a JSON configuration as a text message; then, with the\n"
    "subprotocol \"wtcp.2\", binary messages of packets each preceded by its length, 2 bytes\n"
    "big-endian, up to --max-message; with \"wtcp\" or none, one packet per binary message)\n"
    "or, with `exec`, over COMMAND's stdin and stdout (each packet preceded by its length, 2\n"
    "bytes big-endian; the configuration is in the environment: WTCP_ADDR, WTCP_PREFIX,\n"
    "WTCP_GATEWAY, WTCP_MTU, and WTCP_DNS with --dns; with --fifo the packets travel over two\n"
    "FIFOs in a private directory named by WTCP_LINK_DIR, `in` and `out`, and COMMAND keeps the\n"
    "relay's stdin and stdout). In exec mode the relay ends when COMMAND ends. Every client packet must be well-formed IPv4 (version, header\n"
    "length, total length = message length, header checksum) from the client's own address and\n"
    "within the MTU; anything else is dropped and counted. See docs/PROTOCOL.md.\n"
    "Needs root (or CAP_NET_ADMIN) to create the TUN; see --user.\n",

    "\n"
    "Network:\n"
    "  --tun NAME             TUN device to create or attach to (default wtcp0); a device the\n"
    "                         relay creates disappears when it exits, one it found stays\n"
    "  --address ADDR/LEN     the relay's address and the clients' subnet (default 10.77.0.1/16;\n"
    "                         LEN 1..30); clients get the other addresses in turn\n"
    "  --mtu N                MTU of the TUN and of every client, 576..65535 (default 1500)\n"
    "  --dns ADDR             a DNS resolver the config message names to clients (wtcp's guest\n"
    "                         LANs hand it to their guests; exec: WTCP_DNS); the relay runs none\n"
    "  --fifo                 exec: packets over two FIFOs (WTCP_LINK_DIR), not COMMAND's stdio\n"
    "  --allow-peers          let clients reach each other (default: a client reaches only the\n"
    "                         relay's address and addresses outside the subnet)\n"
    "WebSocket:\n"
    "  --listen ADDR:PORT     where to serve WebSockets (default 127.0.0.1:8787; in exec mode\n"
    "                         none unless given); 0.0.0.0:PORT for every address, [V6]:PORT\n"
    "  --cert FILE            serve wss:// (TLS) with this PEM certificate chain ...\n"
    "  --key FILE             ... and this PEM private key\n"
    "  --token-file FILE      require a token, one per line in FILE (blank lines and # comments\n"
    "                         ignored); clients pass it as ?token=TOKEN in the URL or as the\n"
    "                         subprotocol \"wtcp.token.TOKEN\" after \"wtcp\"; refused: HTTP 401\n"
    "  --origin ORIGIN        accept only this Origin header, e.g. https://example.org\n"
    "                         (repeatable, up to 16); refused: HTTP 403\n",

    "Limits (over a limit a packet is dropped and counted; the client stays):\n"
    "  --max-clients N        WebSocket clients at once (default 256); refused: HTTP 503\n"
    "  --rate-pps N           packets per second, per client and direction (default 0: none)\n"
    "  --rate-bytes N         bytes per second, per client and direction (default 0: none);\n"
    "                         bursts of one second's worth pass\n"
    "  --queue N              packets waiting for a slow client before new ones are dropped\n"
    "                         (default 4096) ...\n"
    "  --queue-bytes N        ... or their IPv4 bytes (default 1048576); the TUN is never\n"
    "                         paused for one client\n"
    "  --max-message N        longest WebSocket message in bytes; longer closes the\n"
    "                         connection with 1009 (default 65535; at least the MTU)\n"
    "  --handshake-timeout S  seconds for a connection to complete the HTTP upgrade (default 10)\n"
    "  --ping-interval S      ping a client after S seconds without a pong (default 20)\n"
    "  --idle-timeout S       drop a client after S seconds without a pong (default 60)\n"
    "Operation:\n"
    "  --metrics ADDR:PORT    serve Prometheus metrics on http://ADDR:PORT/metrics\n"
    "  --metrics-path PATH    also serve them on the WebSocket port at PATH (e.g. /metrics);\n"
    "                         with --token-file the request needs ?token=TOKEN\n"
    "  --user USER[:GROUP]    become USER (and GROUP, else USER's group) once the TUN and the\n"
    "                         sockets are open; an exec COMMAND runs as USER too\n"
    "  -v, --verbose          log every drop and libwebsockets' own warnings\n"
    "  -h, --help             this text\n"
    "  --version              the version\n",

    "Fault injection, for tests (each option sets both directions; with -up only client to\n"
    "network, with -down only network to client):\n"
    "  --loss[-up|-down] PCT       drop PCT percent of packets\n"
    "  --delay[-up|-down] MS       hold every packet MS milliseconds\n"
    "  --jitter[-up|-down] MS      add a random -MS..+MS to the delay (packets keep their order)\n"
    "  --reorder[-up|-down] PCT    hold PCT percent of packets back until the next one has\n"
    "                              passed (at most 10 ms more)\n"
    "  --duplicate[-up|-down] PCT  send PCT percent of packets twice\n"
    "  --seed N                    seed for the faults' random numbers (default: random; logged)\n"
    "\n"
    "Signals: SIGINT or SIGTERM close every client (WebSocket close 1001; in exec mode end of\n"
    "file on COMMAND's stdin, then SIGTERM after 2 s), remove the TUN the relay created, and\n"
    "exit; a second signal hurries it. Log: one line per event on stderr.\n"
    "Exit status: 0 after a signal; in exec mode COMMAND's status when it ends by itself\n"
    "(128+N for signal N); 1 on errors; 2 on bad usage.\n",

    "\n"
    "NAT to the internet is the operator's choice and never set up by the relay. With\n"
    "nftables, for the default subnet and an uplink eth0:\n"
    "  sysctl -w net.ipv4.ip_forward=1\n"
    "  nft add table ip wtcp_nat\n"
    "  nft add chain ip wtcp_nat postrouting '{ type nat hook postrouting priority srcnat; }'\n"
    "  nft add rule ip wtcp_nat postrouting ip saddr 10.77.0.0/16 oifname \"eth0\" masquerade\n"
    "Clients also reach every service the host listens on; to allow only some ports:\n"
    "  nft add chain ip wtcp_nat input '{ type filter hook input priority 0; }'\n"
    "  nft add rule ip wtcp_nat input iifname \"wtcp0\" ct state established,related accept\n"
    "  nft add rule ip wtcp_nat input iifname \"wtcp0\" tcp dport != { 80, 443 } drop\n",
    NULL,
};

/* ---------------------------------------------------------------- log */

void relay_log(const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ".%03ldZ wtcp-relay ", ts.tv_nsec / 1000000);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += (size_t)m;
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    /* One write per line, so lines from the relay and its child do not interleave. */
    if (write(2, line, n) < 0) {
        /* nowhere left to complain */
    }
}

static void lws_log_emit(int level, const char *line)
{
    (void)level;
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    relay_log("lws msg=\"%.*s\"", (int)n, line);
}

/* ---------------------------------------------------------------- options */

enum {
    OPT_TUN = 256, OPT_ADDRESS, OPT_MTU, OPT_ALLOW_PEERS, OPT_LISTEN, OPT_CERT, OPT_KEY,
    OPT_TOKEN_FILE, OPT_ORIGIN, OPT_MAX_CLIENTS, OPT_RATE_PPS, OPT_RATE_BYTES, OPT_QUEUE, OPT_QUEUE_BYTES,
    OPT_MAX_MESSAGE, OPT_HANDSHAKE_TIMEOUT, OPT_PING_INTERVAL, OPT_IDLE_TIMEOUT, OPT_METRICS,
    OPT_METRICS_PATH, OPT_USER, OPT_SEED, OPT_VERSION, OPT_DNS, OPT_FIFO,
    /* fault options: base + 3 * kind + (0 both, 1 up, 2 down) */
    OPT_FAULT,
};
enum { FAULT_LOSS, FAULT_DELAY, FAULT_JITTER, FAULT_REORDER, FAULT_DUPLICATE, FAULT_KINDS };

#define FAULT_OPTS(name, kind)                                                                 \
    {name, required_argument, NULL, OPT_FAULT + 3 * (kind)},                                   \
        {name "-up", required_argument, NULL, OPT_FAULT + 3 * (kind) + 1},                     \
        {name "-down", required_argument, NULL, OPT_FAULT + 3 * (kind) + 2}

static const struct option long_options[] = {
    {"tun", required_argument, NULL, OPT_TUN},
    {"address", required_argument, NULL, OPT_ADDRESS},
    {"mtu", required_argument, NULL, OPT_MTU},
    {"allow-peers", no_argument, NULL, OPT_ALLOW_PEERS},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
    {"origin", required_argument, NULL, OPT_ORIGIN},
    {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
    {"rate-pps", required_argument, NULL, OPT_RATE_PPS},
    {"rate-bytes", required_argument, NULL, OPT_RATE_BYTES},
    {"queue", required_argument, NULL, OPT_QUEUE},
    {"queue-bytes", required_argument, NULL, OPT_QUEUE_BYTES},
    {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
    {"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT},
    {"ping-interval", required_argument, NULL, OPT_PING_INTERVAL},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"metrics-path", required_argument, NULL, OPT_METRICS_PATH},
    {"dns", required_argument, NULL, OPT_DNS},
    {"fifo", no_argument, NULL, OPT_FIFO},
    {"user", required_argument, NULL, OPT_USER},
    {"seed", required_argument, NULL, OPT_SEED},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    FAULT_OPTS("loss", FAULT_LOSS),
    FAULT_OPTS("delay", FAULT_DELAY),
    FAULT_OPTS("jitter", FAULT_JITTER),
    FAULT_OPTS("reorder", FAULT_REORDER),
    FAULT_OPTS("duplicate", FAULT_DUPLICATE),
    {NULL, 0, NULL, 0},
};

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("wtcp-relay: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(wtcp-relay --help lists the options)\n", stderr);
    exit(2);
}

static uint64_t parse_uint(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v < lo || v > hi)
        usage_error("--%s %s: want a whole number in %llu..%llu", opt, s,
                    (unsigned long long)lo, (unsigned long long)hi);
    return v;
}

static double parse_percent(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0 && v <= 100))
        usage_error("--%s %s: want a percentage, 0..100", opt, s);
    return v;
}

static void parse_address(relay_opts *o, const char *s)
{
    char buf[32];
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= sizeof buf)
        usage_error("--address %s: want ADDR/LEN, e.g. 10.77.0.1/16", s);
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = 0;
    if (ipv4_parse(buf, &o->addr) < 0)
        usage_error("--address %s: %s is not an IPv4 address", s, buf);
    char *end;
    unsigned long len = strtoul(slash + 1, &end, 10);
    if (slash[1] < '0' || slash[1] > '9' || *end || len < 1 || len > 30)
        usage_error("--address %s: the prefix length must be 1..30", s);
    o->prefix = (unsigned)len;
    uint32_t mask = 0xffffffffu << (32 - o->prefix);
    if ((o->addr & ~mask) == 0 || (o->addr & ~mask) == ~mask)
        usage_error("--address %s: the relay needs a host address, not the network or broadcast one", s);
}

static void set_fault(relay_opts *o, int code, const char *arg)
{
    int kind = (code - OPT_FAULT) / 3, which = (code - OPT_FAULT) % 3;
    const char *name = NULL;
    for (const struct option *lo = long_options; lo->name; lo++)
        if (lo->val == code)
            name = lo->name;
    for (int d = 0; d < DIR_COUNT; d++) {
        if (which && which - 1 != d)
            continue;
        relay_fault *f = &o->fault[d];
        switch (kind) {
        case FAULT_LOSS: f->loss = parse_percent(name, arg); break;
        case FAULT_REORDER: f->reorder = parse_percent(name, arg); break;
        case FAULT_DUPLICATE: f->duplicate = parse_percent(name, arg); break;
        case FAULT_DELAY: f->delay_ms = (unsigned)parse_uint(name, arg, 0, 60000); break;
        case FAULT_JITTER: f->jitter_ms = (unsigned)parse_uint(name, arg, 0, 60000); break;
        default: break;
        }
    }
}

static void parse_options(relay_opts *o, int argc, char **argv)
{
    int exec_mode = argc > 1 && !strcmp(argv[1], "exec");
    int listen_given = 0;
    memset(o, 0, sizeof *o);
    o->tun_name = "wtcp0";
    o->addr = 0x0a4d0001u; /* 10.77.0.1 */
    o->prefix = 16;
    o->mtu = 1500;
    o->max_clients = 256;
    o->queue = 4096;
    o->queue_bytes = 1024 * 1024;
    o->max_message = 65535;
    o->handshake_timeout = 10;
    o->ping_interval = 20;
    o->idle_timeout = 60;
    if (exec_mode) {
        argc--;
        argv++;
    }
    optind = 1;
    int c;
    /* "+": options end at the first non-option, which starts COMMAND in exec mode. */
    while ((c = getopt_long(argc, argv, "+hv", long_options, NULL)) != -1) {
        switch (c) {
        case OPT_TUN: o->tun_name = optarg; break;
        case OPT_ADDRESS: parse_address(o, optarg); break;
        case OPT_MTU: o->mtu = (unsigned)parse_uint("mtu", optarg, 576, 65535); break;
        case OPT_ALLOW_PEERS: o->allow_peers = 1; break;
        case OPT_LISTEN:
            if (relay_check_listen(optarg) < 0)
                usage_error("--listen %s: want ADDR:PORT, e.g. 127.0.0.1:8787", optarg);
            o->listen = optarg;
            listen_given = 1;
            break;
        case OPT_CERT: o->cert = optarg; break;
        case OPT_KEY: o->key = optarg; break;
        case OPT_TOKEN_FILE: o->token_file = optarg; break;
        case OPT_ORIGIN:
            if (o->norigins == RELAY_MAX_ORIGINS)
                usage_error("--origin: at most %d", RELAY_MAX_ORIGINS);
            o->origins[o->norigins++] = optarg;
            break;
        case OPT_MAX_CLIENTS: o->max_clients = (unsigned)parse_uint("max-clients", optarg, 1, 65535); break;
        case OPT_RATE_PPS: o->rate_pps = parse_uint("rate-pps", optarg, 0, 100000000); break;
        case OPT_RATE_BYTES: o->rate_bytes = parse_uint("rate-bytes", optarg, 0, 100000000000ull); break;
        case OPT_QUEUE: o->queue = (unsigned)parse_uint("queue", optarg, 1, 1000000); break;
        case OPT_QUEUE_BYTES: o->queue_bytes = parse_uint("queue-bytes", optarg, 65535, 1ull << 32); break;
        case OPT_MAX_MESSAGE: o->max_message = (unsigned)parse_uint("max-message", optarg, 576, 16777216); break;
        case OPT_HANDSHAKE_TIMEOUT: o->handshake_timeout = (unsigned)parse_uint("handshake-timeout", optarg, 1, 3600); break;
        case OPT_PING_INTERVAL: o->ping_interval = (unsigned)parse_uint("ping-interval", optarg, 1, 30000); break;
        case OPT_IDLE_TIMEOUT: o->idle_timeout = (unsigned)parse_uint("idle-timeout", optarg, 2, 60000); break;
        case OPT_METRICS:
            if (relay_check_listen(optarg) < 0)
                usage_error("--metrics %s: want ADDR:PORT, e.g. 127.0.0.1:9187", optarg);
            o->metrics = optarg;
            break;
        case OPT_DNS:
            if (ipv4_parse(optarg, &o->dns) < 0 || o->dns == 0)
                usage_error("--dns %s: want an IPv4 address, e.g. 10.77.0.1", optarg);
            break;
        case OPT_METRICS_PATH:
            if (optarg[0] != '/')
                usage_error("--metrics-path %s: want a path starting with /", optarg);
            o->metrics_path = optarg;
            break;
        case OPT_USER: o->user = optarg; break;
        case OPT_FIFO: o->exec_fifo = 1; break;
        case OPT_SEED:
            o->seed = parse_uint("seed", optarg, 0, UINT64_MAX);
            o->seed_given = 1;
            break;
        case 'v': o->verbose = 1; break;
        case 'h':
            for (const char *const *u = usage_text; *u; u++)
                fputs(*u, stdout);
            exit(0);
        case OPT_VERSION: printf("wtcp-relay %s (protocols 1 and 2, libwebsockets %s)\n", RELAY_VERSION, lws_get_library_version()); exit(0);
        default:
            if (c >= OPT_FAULT && c < OPT_FAULT + 3 * FAULT_KINDS) {
                set_fault(o, c, optarg);
                break;
            }
            /* getopt_long has said what was wrong */
            fputs("(wtcp-relay --help lists the options)\n", stderr);
            exit(2);
        }
    }
    if (exec_mode) {
        if (optind >= argc)
            usage_error("exec: no COMMAND given (wtcp-relay exec [OPTIONS] -- COMMAND [ARG]...)");
        o->exec_argv = argv + optind;
        if (!listen_given)
            o->listen = NULL;
    } else {
        if (o->exec_fifo)
            usage_error("--fifo is for exec mode (wtcp-relay exec --fifo -- COMMAND)");
        if (optind < argc)
            usage_error("unexpected argument '%s' (to run a program as a client: wtcp-relay exec -- COMMAND)",
                        argv[optind]);
        if (!listen_given)
            o->listen = "127.0.0.1:8787";
    }
    if (!o->cert != !o->key)
        usage_error("--cert and --key go together");
    if (o->cert && !o->listen)
        usage_error("--cert/--key: no WebSocket listener (give --listen in exec mode)");
    if (o->max_message < o->mtu)
        usage_error("--max-message %u is below the MTU %u", o->max_message, o->mtu);
    if (o->idle_timeout <= o->ping_interval)
        usage_error("--idle-timeout %u must be longer than --ping-interval %u", o->idle_timeout,
                    o->ping_interval);
    if (o->ping_interval > 65535 || o->idle_timeout > 65535)
        usage_error("--ping-interval and --idle-timeout: at most 65535 s");
    if (o->metrics_path && !o->listen)
        usage_error("--metrics-path: no WebSocket listener (use --metrics ADDR:PORT)");
    if ((o->token_file || o->norigins || o->metrics_path) && !o->listen)
        usage_error("--token-file, --origin: no WebSocket listener (give --listen in exec mode)");
}

/* ---------------------------------------------------------------- start-up */

static int load_tokens(relay *r)
{
    FILE *f = fopen(r->o.token_file, "r");
    if (!f) {
        relay_log("error msg=\"--token-file %s: %s\"", r->o.token_file, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        char *t = line;
        while (*t == ' ' || *t == '\t')
            t++;
        size_t l = strlen(t);
        while (l && (t[l - 1] == '\n' || t[l - 1] == '\r' || t[l - 1] == ' ' || t[l - 1] == '\t'))
            t[--l] = 0;
        if (!l || t[0] == '#')
            continue;
        if (l > 400) {
            relay_log("error msg=\"--token-file %s: a token of %zu bytes; at most 400\"", r->o.token_file, l);
            break;
        }
        char **grown = realloc(r->tokens, (r->ntokens + 1) * sizeof *grown);
        if (!grown || !(grown[r->ntokens] = strdup(t))) {
            r->tokens = grown ? grown : r->tokens;
            break;
        }
        r->tokens = grown;
        r->ntokens++;
    }
    int bad = ferror(f) || n >= 0;
    free(line);
    fclose(f);
    if (bad || !r->ntokens) {
        if (!bad)
            relay_log("error msg=\"--token-file %s: no token in it\"", r->o.token_file);
        return -1;
    }
    return 0;
}

static int drop_privileges(relay *r)
{
    char name[256];
    snprintf(name, sizeof name, "%s", r->o.user);
    char *group = strchr(name, ':');
    if (group)
        *group++ = 0;
    struct passwd *pw = getpwnam(name);
    if (!pw) {
        relay_log("error msg=\"--user %s: no such user\"", name);
        return -1;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    if (group && *group) {
        struct group *gr = getgrnam(group);
        if (!gr) {
            relay_log("error msg=\"--user: no such group %s\"", group);
            return -1;
        }
        gid = gr->gr_gid;
    }
    if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
        relay_log("error msg=\"--user %s: %s\"", r->o.user, strerror(errno));
        return -1;
    }
    if (uid != 0 && setuid(0) == 0) {
        relay_log("error msg=\"--user %s: could regain root\"", r->o.user);
        return -1;
    }
    relay_log("privileges user=%s uid=%ld gid=%ld", name, (long)uid, (long)gid);
    return 0;
}

static struct lws *adopt_fd(relay *r, int fd)
{
    lws_sock_file_fd_type u;
    u.filefd = fd;
    return lws_adopt_descriptor_vhost(r->vh_raw, LWS_ADOPT_RAW_FILE_DESC, u, "wtcp-raw", NULL);
}

void relay_signals_readable(relay *r)
{
    struct signalfd_siginfo si;
    while (read(r->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) {
            int status;
            pid_t pid;
            while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
                if (pid == r->child)
                    exec_child_exited(r, status);
        } else if (sig == SIGINT || sig == SIGTERM) {
            const char *name = sig == SIGINT ? "INT" : "TERM";
            if (r->stopping) {
                relay_log("stop signal=%s msg=\"again: not waiting any longer\"", name);
                r->stop_deadline_us = 1;
            } else {
                relay_log("stop signal=%s clients=%u", name, r->nclients[CLIENT_WS] + r->nclients[CLIENT_EXEC]);
                r->stopping = 1;
            }
        } else {
            relay_log("signal=%d msg=ignored", sig);
        }
    }
}

static void tick(lws_sorted_usec_list_t *sul)
{
    (void)sul; /* only wakes the loop up while stopping */
}

static int run(relay *r)
{
    lws_sorted_usec_list_t wake;
    memset(&wake, 0, sizeof wake);
    int64_t stop_began = 0;
    int term_sent = 0;
    while (!r->done) {
        if (lws_service(r->ctx, 0) < 0) {
            relay_log("error msg=\"libwebsockets: the event loop failed\"");
            r->exit_code = 1;
            break;
        }
        exec_after_service(r);
        if (!r->stopping)
            continue;
        int64_t now = lws_now_usecs();
        if (!stop_began) {
            stop_began = now;
            if (!r->stop_deadline_us)
                r->stop_deadline_us = now + STOP_GIVE_UP_US;
            ws_close_all(r, RELAY_CLOSE_GOING_AWAY, "relay_stopping");
            exec_stop(r);
        }
        if (!r->nclients[CLIENT_WS] && !r->child)
            break;
        if (r->child && !term_sent && now - stop_began >= STOP_TERM_AFTER_US) {
            relay_log("stop msg=\"the command ignored end of file; SIGTERM\" pid=%ld", (long)r->child);
            kill(r->child, SIGTERM);
            term_sent = 1;
        }
        if (now >= r->stop_deadline_us) {
            if (r->child) {
                relay_log("stop msg=\"SIGKILL\" pid=%ld", (long)r->child);
                kill(r->child, SIGKILL);
                int status;
                if (waitpid(r->child, &status, 0) == r->child)
                    exec_child_exited(r, status);
            }
            break;
        }
        lws_sul_schedule(r->ctx, 0, &wake, tick, 100 * 1000);
    }
    lws_sul_cancel(&wake);
    return 0;
}

static int tun_gone(const char *name)
{
    char path[64];
    snprintf(path, sizeof path, "/sys/class/net/%s", name);
    return access(path, F_OK) != 0;
}

int main(int argc, char **argv)
{
    relay *r = calloc(1, sizeof *r); /* large (its TUN buffer): not on the stack */
    if (!r) {
        fputs("wtcp-relay: out of memory\n", stderr);
        return 1;
    }
    parse_options(&r->o, argc, argv);
    r->tun_fd = -1;
    r->sig_fd = -1;
    r->child_status = -1;
    r->started_us = lws_now_usecs();
    r->netmask = 0xffffffffu << (32 - r->o.prefix);
    r->gateway = r->o.addr;
    lws_set_log_level(r->o.verbose ? LLL_ERR | LLL_WARN : LLL_ERR, lws_log_emit);

    for (int d = 0; d < DIR_COUNT; d++) {
        const relay_fault *f = &r->o.fault[d];
        r->fault_active[d] = f->loss > 0 || f->reorder > 0 || f->duplicate > 0 || f->delay_ms || f->jitter_ms;
    }
    r->rng = r->o.seed;
    if (!r->o.seed_given && getrandom(&r->rng, sizeof r->rng, 0) != (ssize_t)sizeof r->rng)
        r->rng = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
    uint64_t seed = r->rng;

    int rc = 1;
    if (r->o.token_file && load_tokens(r) < 0)
        goto out;
    /* One extra address for the exec client, beyond the WebSocket clients. */
    if (pool_init(&r->pool, r->o.addr, r->o.prefix, r->o.addr, (size_t)r->o.max_clients + 1) < 0) {
        relay_log("error msg=\"address pool: out of memory\"");
        goto out;
    }

    /* Signals arrive through a descriptor in the event loop; the exec child unblocks them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGCHLD);
    sigaddset(&sigs, SIGHUP);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    r->sig_fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if (r->sig_fd < 0) {
        relay_log("error msg=\"signalfd: %s\"", strerror(errno));
        goto out;
    }

    if (tun_open(r) < 0 || ws_setup(r) < 0)
        goto out;
    /* From here lws owns (and closes) these descriptors, also when adoption fails. */
    r->tun_wsi = adopt_fd(r, r->tun_fd);
    if (!r->tun_wsi)
        r->tun_fd = -1;
    r->sig_wsi = adopt_fd(r, r->sig_fd);
    if (!r->sig_wsi)
        r->sig_fd = -1;
    if (!r->tun_wsi || !r->sig_wsi) {
        relay_log("error msg=\"libwebsockets: cannot watch the TUN or the signals\"");
        goto out;
    }
    char a[16];
    relay_log("start version=%s tun=%s created=%s address=%s/%u mtu=%u listen=%s%s metrics=%s "
              "max_clients=%u peers=%s token=%s origins=%u",
              RELAY_VERSION, r->tun_name, r->tun_created ? "yes" : "no", ipv4_format(r->o.addr, a),
              r->o.prefix, r->o.mtu, r->o.listen ? (r->o.cert ? "wss://" : "ws://") : "none",
              r->o.listen ? r->o.listen : "",
              r->o.metrics ? r->o.metrics : r->o.metrics_path ? r->o.metrics_path : "none",
              r->o.max_clients, r->o.allow_peers ? "allowed" : "isolated",
              r->ntokens ? "required" : "none", r->o.norigins);
    if (r->fault_active[DIR_UP] || r->fault_active[DIR_DOWN]) {
        for (int d = 0; d < DIR_COUNT; d++) {
            const relay_fault *f = &r->o.fault[d];
            relay_log("faults direction=%s loss=%g delay_ms=%u jitter_ms=%u reorder=%g duplicate=%g seed=%llu",
                      d == DIR_UP ? "up" : "down", f->loss, f->delay_ms, f->jitter_ms, f->reorder,
                      f->duplicate, (unsigned long long)seed);
        }
    }
    if (r->o.user && drop_privileges(r) < 0)
        goto out;
    if (r->o.exec_argv && exec_start(r) < 0)
        goto out;
    run(r);
    rc = r->exit_code;
out:
    r->stopping = 1;
    if (r->child > 0) {
        kill(r->child, SIGKILL);
        waitpid(r->child, NULL, 0);
        r->child = 0;
    }
    if (r->ctx)
        lws_context_destroy(r->ctx); /* closes every client and the adopted descriptors */
    exec_cleanup(r);
    if (r->tun_fd >= 0 && !r->tun_wsi)
        close(r->tun_fd);
    if (r->sig_fd >= 0 && !r->sig_wsi)
        close(r->sig_fd);
    if (r->tun_name[0])
        relay_log("exit status=%d tun=%s removed=%s", rc, r->tun_name,
                  !r->tun_created ? "no (it existed before)" : tun_gone(r->tun_name) ? "yes" : "NO");
    else
        relay_log("exit status=%d", rc);
    for (size_t i = 0; i < r->ntokens; i++)
        free(r->tokens[i]);
    free(r->tokens);
    free(r->txbuf);
    pool_destroy(&r->pool);
    free(r);
    return rc;
}
