/* main.c: the two-process benchmark driver: makes the socketpair(s), forks the two ends (a
 * wtcp stack, Debian's lwIP through sockpair-lwip, Linux loopback TCP, or no stack at all),
 * optionally a middle link with delay, loss and reordering, and prints one JSON row per
 * figure of the run. Usage: see usage() below. */
#define _GNU_SOURCE
#include "common.h"
#include "linux_end.h"
#include "middle.h"
#include "onebox.h"
#include "wtcp_end.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(void)
{
    fprintf(stderr,
            "usage: sockpair [options]\n"
            "  --system S     wtcp | lwip-raw | lwip-sockets | linux | none (default wtcp)\n"
            "  --case C       bulk-one | bulk-both | rr | conn | link | idle (default bulk-one)\n"
            "  --bytes N      bulk: bytes per sender (K/M/G suffixes; 0: timed by --seconds)\n"
            "  --seconds S    rr, conn, link, timed bulk: duration (default 2)\n"
            "  --conns N      conn: at most N connections (default 5000); idle: N (10000)\n"
            "  --cc NAME      wtcp: cubic | newreno\n"
            "  --buf N        wtcp: send and receive buffers (default 256K)\n"
            "  --one-process  wtcp: both stacks in this process (memory link)\n"
            "  --rtt MS --loss PCT --reorder PCT --seed N   a middle link process\n"
            "  --group G --label C --sysname S   labels of the JSON rows\n"
            "  --check        exit 1 unless byte-exact and complete; --clean: and no drops or\n"
            "                 retransmissions (but tail probes a loaded machine made needless,\n"
            "                 and the duplicates they gave)\n");
    exit(2);
}

static uint64_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    switch (*end) {
    case 'K': case 'k': v *= 1024; break;
    case 'M': case 'm': v *= 1048576; break;
    case 'G': case 'g': v *= 1073741824.0; break;
    default: break;
    }
    return (uint64_t)v;
}

static const char *group = NULL, *label = NULL, *sysname = NULL;

static void json_escape_print(const char *s)
{
    putchar('"');
    for (; *s; s++)
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else
            putchar(*s);
    putchar('"');
}

static void row(const char *metric, const char *unit, double value, int higher_is_better, int ok)
{
    printf("{\"group\":");
    json_escape_print(group);
    printf(",\"case\":");
    json_escape_print(label);
    printf(",\"system\":");
    json_escape_print(sysname);
    printf(",\"metric\":\"%s\",\"unit\":\"%s\",\"value\":%.6g,\"higher_is_better\":%s,\"ok\":%s}\n", metric, unit,
           value, higher_is_better ? "true" : "false", ok ? "true" : "false");
    fflush(stdout);
}

/* ---- no stack: the socketpair's own rate for MTU-sized messages */

static void count_packet(void *user, const uint8_t *p, size_t n)
{
    (void)user, (void)p, (void)n;
}

static int link_end_main(const bench_opts *o)
{
    static pktlink l;
    static uint8_t pkt[LINK_MTU];
    bench_result r;
    memset(&r, 0, sizeof r);
    link_init(&l, o->link_fd);
    memset(pkt, 0x5a, sizeof pkt);
    end_ready(o);
    if (o->role == ROLE_CLIENT) {
        double t0 = now_ms_f();
        while (now_ms_f() - t0 < o->seconds * 1000) {
            for (int i = 0; i < LINK_BATCH; i++)
                link_push(&l, pkt, sizeof pkt);
            while (link_flush(&l) > 0)
                link_wait(&l, 100);
            r.count += LINK_BATCH;
        }
        shutdown(o->link_fd, SHUT_WR);
    } else {
        /* Counts with a no-op handler; time from the first packet to the sender's close. */
        double first = 0;
        for (;;) {
            uint64_t before = l.rx_packets;
            link_recv(&l, count_packet, NULL, 4096);
            if (before == 0 && l.rx_packets > 0)
                first = now_ms_f();
            if (l.eof)
                break;
            link_wait(&l, 100);
        }
        r.count = l.rx_packets;
        r.count_ms = now_ms_f() - first;
    }
    result_write(o->result_fd, &r);
    link_free(&l);
    return 0;
}

/* ---- forking the ends */

static char lwip_path[PATH_MAX];

static void set_buffers(int fd)
{
    const char *env = getenv("SOCKPAIR_SOCKBUF");
    int sz = env ? atoi(env) : 4 << 20; /* as root, beyond wmem_max; otherwise the kernel clamps it */
    if (sz == 0)
        return;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}

/* Forks one end; returns its pid. keep[] are the fds the child must keep open. */
static pid_t fork_end(const char *system, const bench_opts *o, int lsock, uint16_t port, const int *all_fds, int nfds)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid > 0)
        return pid;
    for (int i = 0; i < nfds; i++)
        if (all_fds[i] >= 0 && all_fds[i] != o->link_fd && all_fds[i] != o->result_fd && all_fds[i] != lsock)
            close(all_fds[i]);
    pattern_init();
    int rc;
    if (strcmp(system, "wtcp") == 0) {
        rc = wtcp_end_main(o);
    } else if (strcmp(system, "linux") == 0) {
        rc = linux_end_main(o, lsock, port);
    } else if (strcmp(system, "none") == 0) {
        rc = link_end_main(o);
    } else { /* lwIP lives in its own binary: its symbols clash with the core's */
        char buf[10][32];
        char *argv[16];
        argv[0] = lwip_path;
        argv[1] = "--api";
        argv[2] = strcmp(system, "lwip-raw") == 0 ? "raw" : "sockets";
        opts_to_argv(o, buf, argv + 3, 12);
        execv(lwip_path, argv);
        perror(lwip_path);
        rc = 127;
    }
    _exit(rc);
}

int main(int argc, char **argv)
{
    const char *system = "wtcp", *casename = "bulk-one", *cc = NULL;
    bench_opts o;
    memset(&o, 0, sizeof o);
    o.bytes = 256ull << 20;
    o.seconds = 2;
    o.conns = 0;
    o.bufsize = 256 * 1024;
    middle_opts m = { 0, 0, 0, 1 };
    int use_middle = 0, one_process = 0, check = 0, clean = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--one-process")) { one_process = 1; continue; }
        if (!strcmp(a, "--check")) { check = 1; continue; }
        if (!strcmp(a, "--clean")) { check = clean = 1; continue; }
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "--system")) system = v;
        else if (!strcmp(a, "--case")) casename = v;
        else if (!strcmp(a, "--bytes")) o.bytes = parse_size(v);
        else if (!strcmp(a, "--seconds")) o.seconds = atof(v);
        else if (!strcmp(a, "--conns")) o.conns = (uint32_t)atol(v);
        else if (!strcmp(a, "--cc")) cc = v;
        else if (!strcmp(a, "--buf")) o.bufsize = (uint32_t)parse_size(v);
        else if (!strcmp(a, "--rtt")) m.rtt_ms = atof(v), use_middle = 1;
        else if (!strcmp(a, "--loss")) m.loss_pct = atof(v), use_middle = 1;
        else if (!strcmp(a, "--reorder")) m.reorder_pct = atof(v), use_middle = 1;
        else if (!strcmp(a, "--seed")) m.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--group")) group = v;
        else if (!strcmp(a, "--label")) label = v;
        else if (!strcmp(a, "--sysname")) sysname = v;
        else usage();
    }
    static const char *cases[] = { "bulk-one", "bulk-both", "rr", "conn", "link", "idle" };
    int bcase = -1;
    for (int i = 0; i < 6; i++)
        if (!strcmp(casename, cases[i]))
            bcase = i;
    if (bcase < 0)
        usage();
    o.bcase = bcase;
    if (cc) {
        if (!strcmp(cc, "cubic")) o.congestion = WTCP_CC_CUBIC;
        else if (!strcmp(cc, "newreno")) o.congestion = WTCP_CC_NEWRENO;
        else usage();
    }
    if (!o.conns)
        o.conns = bcase == 5 ? 10000 : 5000;
    if (!group)
        group = one_process ? "1proc" : use_middle ? "lossy-link" : "2proc";
    if (!label)
        label = casename;
    if (!sysname)
        sysname = cc ? (!strcmp(cc, "cubic") ? "wtcp cubic" : "wtcp newreno") : system;
    int lossy = use_middle;
    pattern_init();

    if (bcase == 5) { /* idle connections, one process */
        idle_result ir;
        if (onebox_idle(o.conns, &ir) != 0 || ir.failed)
            return 1;
        fprintf(stderr, "idle: %u connections in %.0f ms; client %llu B, server %llu B\n", ir.conns, ir.open_ms,
                (unsigned long long)ir.client_bytes, (unsigned long long)ir.server_bytes);
        row("memory per idle connection (server end)", "bytes", (double)ir.server_bytes / ir.conns, 0, 1);
        row("memory per idle connection (client end)", "bytes", (double)ir.client_bytes / ir.conns, 0, 1);
        row("time to open all", "ms", ir.open_ms, 0, 1);
        return 0;
    }

    bench_result rc_, rs_;
    bench_result *rc = &rc_, *rs = &rs_;
    if (one_process) {
        if (strcmp(system, "wtcp") != 0 || bcase == CASE_LINK)
            usage();
        if (onebox_run(&o, rc, rs) != 0)
            return 1;
    } else {
        char self[PATH_MAX];
        snprintf(self, sizeof self, "%s", argv[0]);
        snprintf(lwip_path, sizeof lwip_path, "%s/sockpair-lwip", dirname(self));
        int sp[2] = { -1, -1 }, sp2[2] = { -1, -1 }, pc[2], ps[2];
        int lsock = -1;
        uint16_t port = 0;
        if (!strcmp(system, "linux")) {
            if (bcase != CASE_RR && bcase != CASE_CONN) {
                fprintf(stderr, "sockpair: --system linux does rr and conn only (bulk: bench/veth.sh)\n");
                return 2;
            }
            lsock = linux_listen(&port);
            if (lsock < 0)
                return 1;
        } else {
            if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) < 0) {
                perror("socketpair");
                return 1;
            }
            set_buffers(sp[0]);
            set_buffers(sp[1]);
            if (use_middle) {
                if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp2) < 0)
                    return 1;
                set_buffers(sp2[0]);
                set_buffers(sp2[1]);
            }
        }
        if (pipe(pc) < 0 || pipe(ps) < 0)
            return 1;
        int fds[] = { sp[0], sp[1], sp2[0], sp2[1], pc[0], pc[1], ps[0], ps[1], lsock };
        int nfds = (int)(sizeof fds / sizeof fds[0]);
        /* client: sp[0]; server: sp[1] directly, or sp2[1] with the middle between sp[1] and sp2[0] */
        bench_opts os = o, oc = o;
        oc.role = ROLE_CLIENT, oc.link_fd = sp[0], oc.result_fd = pc[1];
        os.role = ROLE_SERVER, os.link_fd = use_middle ? sp2[1] : sp[1], os.result_fd = ps[1];
        pid_t mid = -1;
        if (use_middle) {
            fflush(stdout);
            mid = fork();
            if (mid == 0) {
                for (int i = 0; i < nfds; i++)
                    if (fds[i] >= 0 && fds[i] != sp[1] && fds[i] != sp2[0])
                        close(fds[i]);
                _exit(middle_main(sp[1], sp2[0], &m, 1));
            }
        }
        pid_t ps_pid = fork_end(system, &os, lsock, port, fds, nfds);
        char ready = 0;
        struct pollfd rp = { .fd = ps[0], .events = POLLIN };
        if (poll(&rp, 1, 10000) != 1 || read(ps[0], &ready, 1) != 1 || ready != 'R')
            fprintf(stderr, "sockpair: the server end did not come up\n");
        pid_t pc_pid = fork_end(system, &oc, lsock, port, fds, nfds);
        for (int i = 0; i < nfds; i++)
            if (fds[i] >= 0 && fds[i] != pc[0] && fds[i] != ps[0])
                close(fds[i]);
        int okc = result_read(pc[0], rc) == 0;
        if (!strcmp(system, "linux") && bcase == CASE_CONN)
            kill(ps_pid, SIGTERM); /* its accept loop has no end of its own */
        /* A server whose client failed may wait forever: give it a while, then stop it. */
        struct pollfd sp_ = { .fd = ps[0], .events = POLLIN };
        int oks = 1;
        if (!(!strcmp(system, "linux") && bcase == CASE_CONN)) {
            if (poll(&sp_, 1, 20000) == 1) {
                oks = result_read(ps[0], rs) == 0;
            } else {
                fprintf(stderr, "sockpair: the server end did not finish; stopping it\n");
                kill(ps_pid, SIGKILL);
                oks = 0;
            }
        }
        if (!strcmp(system, "linux") && bcase == CASE_CONN)
            memset(rs, 0, sizeof *rs);
        int st;
        waitpid(pc_pid, &st, 0);
        if (WIFSIGNALED(st))
            fprintf(stderr, "sockpair: the client end died of signal %d\n", WTERMSIG(st));
        waitpid(ps_pid, &st, 0);
        if (WIFSIGNALED(st) && !(WTERMSIG(st) == SIGTERM && !strcmp(system, "linux")))
            fprintf(stderr, "sockpair: the server end died of signal %d\n", WTERMSIG(st));
        if (mid > 0) {
            kill(mid, SIGTERM);
            waitpid(mid, &st, 0);
        }
        if (!okc)
            rc->failed = 1;
        if (!oks)
            rs->failed = 1;
    }

    int failed = rc->failed || rs->failed;
    int exact = 1, cleanrun = 1;
    int is_wtcp = !strcmp(system, "wtcp");
    switch (bcase) {
    case CASE_BULK_ONE:
    case CASE_BULK_BOTH: {
        int both = bcase == CASE_BULK_BOTH;
        exact = rs->rx_bytes == rc->tx_bytes && rs->bad_bytes == 0 && rs->rx_bytes > 0 &&
                (!both || (rc->rx_bytes == rs->tx_bytes && rc->bad_bytes == 0));
        double ms = rs->rx_ms;
        uint64_t bytes = rs->rx_bytes;
        if (both) {
            ms = rc->rx_ms > ms ? rc->rx_ms : ms;
            bytes += rc->rx_bytes;
        }
        double gbit = ms > 0 ? (double)bytes * 8 / ms / 1e6 : 0;
        fprintf(stderr, "%s %s: %.3f Gbit/s (%llu bytes in %.1f ms)%s\n", sysname, casename, gbit,
                (unsigned long long)bytes, ms, exact ? ", byte-exact" : ", DATA DIFFERS OR INCOMPLETE");
        if (lossy)
            row("goodput", "Mbit/s", gbit * 1000, 1, exact && !failed);
        else
            row("goodput", "Gbit/s", gbit, 1, exact && !failed);
        if (is_wtcp) {
            uint64_t drops = rs->drops + (both ? rc->drops : 0), oow = rs->drops_oow + (both ? rc->drops_oow : 0);
            uint64_t rtx = rc->retransmits + (both ? rs->retransmits : 0);
            fprintf(stderr, "  receiver drops %llu (out of window %llu), sender retransmissions %llu\n",
                    (unsigned long long)drops, (unsigned long long)oow, (unsigned long long)rtx);
            fprintf(stderr, "  sender: %llu timeouts, %llu recoveries, %llu tail loss probes, %llu lost by RACK\n",
                    (unsigned long long)rc->timeouts, (unsigned long long)rc->recoveries,
                    (unsigned long long)rc->tlp_probes, (unsigned long long)rc->rack_losses);
            /* No drop but of duplicates, no retransmission but tail loss probes: a loaded
             * machine can hold a process back past the 2 ms probe timeout, and the probe
             * is then a needless resend the receiver drops as a duplicate. */
            uint64_t dups = rs->drops_dup + (both ? rc->drops_dup : 0);
            uint64_t tlps = rc->tlp_probes + (both ? rs->tlp_probes : 0);
            if (!lossy) {
                row("receiver drops (out of window)", "packets", (double)oow, 0, oow == 0);
                row("receiver drops (all reasons)", "packets", (double)drops, 0, drops == dups && dups <= tlps);
                row("retransmissions", "segments", (double)rtx, 0, rtx <= tlps);
            } else {
                row("retransmissions", "segments", (double)rtx, 0, 1);
            }
            cleanrun = drops == dups && rtx <= tlps && dups <= tlps;
        }
        break;
    }
    case CASE_RR:
        exact = rc->bad_bytes == 0 && rc->count > 0;
        row("round trips/s", "1/s", rc->count_ms > 0 ? rc->count * 1000.0 / rc->count_ms : 0, 1, exact && !failed);
        fprintf(stderr, "%s rr: %llu round trips in %.0f ms\n", sysname, (unsigned long long)rc->count, rc->count_ms);
        break;
    case CASE_CONN:
        exact = rc->count > 0;
        row("connections/s", "1/s", rc->count_ms > 0 ? rc->count * 1000.0 / rc->count_ms : 0, 1, !failed);
        fprintf(stderr, "%s conn: %llu connections in %.0f ms (server accepted %llu)\n", sysname,
                (unsigned long long)rc->count, rc->count_ms, (unsigned long long)rs->count);
        break;
    case CASE_LINK: {
        double pps = rs->count_ms > 0 ? rs->count * 1000.0 / rs->count_ms : 0;
        fprintf(stderr, "link: %llu packets of %d B in %.0f ms: %.0f packets/s\n", (unsigned long long)rs->count,
                LINK_MTU, rs->count_ms, pps);
        row("packet rate", "Mpps", pps / 1e6, 1, !failed);
        row("goodput equivalent (1448 B per packet)", "Gbit/s", pps * 1448 * 8 / 1e9, 1, !failed);
        break;
    }
    }
    if (failed)
        fprintf(stderr, "sockpair: an end failed\n");
    if (check && (failed || !exact || (clean && !cleanrun)))
        return 1;
    return 0;
}
