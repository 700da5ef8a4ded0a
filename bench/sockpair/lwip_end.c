/* lwip_end.c: sockpair-lwip, one end of a benchmark run on Debian's liblwip (2.1.3,
 * NO_SYS=0): its raw API on the main thread under LOCK_TCPIP_CORE, or its sockets API on
 * the main thread with an I/O thread feeding packets; tcpip_init's thread runs the timers.
 * The same cases and result line as wtcp_end.c. Exec'd by sockpair (lwIP keeps global
 * state, and its symbols clash with the core's, so it is a binary of its own). */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/sockets.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"

#define SAFETY_MS 120000.0

static bench_opts o;
static pktlink lk;
static struct netif nif;
static _Thread_local int is_loop_thread;
static uint8_t rxbuf[65536];

/* ---- the netif: IPv4 packets to and from the pktlink */

static err_t nif_output(struct netif *n, struct pbuf *p, const ip4_addr_t *dst)
{
    static _Thread_local uint8_t buf[LINK_SLOT];
    (void)n, (void)dst;
    if (p->tot_len > sizeof buf)
        return ERR_BUF;
    pbuf_copy_partial(p, buf, p->tot_len, 0);
    link_push(&lk, buf, p->tot_len);
    if (!is_loop_thread) /* timers (tcpip thread) or the sockets API's caller */
        link_flush(&lk);
    return ERR_OK;
}

static err_t nif_output_ip6(struct netif *n, struct pbuf *p, const ip6_addr_t *dst)
{
    (void)n, (void)p, (void)dst;
    return ERR_OK; /* no IPv6 on this pktlink */
}

static err_t nif_init(struct netif *n)
{
    n->name[0] = 's', n->name[1] = 'p';
    n->mtu = LINK_MTU;
    n->output = nif_output;
    n->output_ip6 = nif_output_ip6;
    n->flags = 0;
    return ERR_OK;
}

static void feed(void *user, const uint8_t *pkt, size_t len)
{
    (void)user;
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
    if (!p)
        return;
    pbuf_take(p, pkt, (u16_t)len);
    if (nif.input(p, &nif) != ERR_OK)
        pbuf_free(p);
}

static atomic_int tcpip_ready;
static void tcpip_done(void *arg)
{
    (void)arg;
    atomic_store(&tcpip_ready, 1);
}

static void lwip_setup(void)
{
    tcpip_init(tcpip_done, NULL);
    while (!atomic_load(&tcpip_ready))
        usleep(1000);
    ip4_addr_t a, mask, gw;
    IP4_ADDR(&a, 10, 0, 0, o.role == ROLE_CLIENT ? 1 : 2);
    IP4_ADDR(&mask, 255, 255, 255, 0);
    IP4_ADDR(&gw, 0, 0, 0, 0);
    LOCK_TCPIP_CORE();
    netif_add(&nif, &a, &mask, &gw, NULL, nif_init, ip_input);
    netif_set_default(&nif);
    netif_set_up(&nif);
    netif_set_link_up(&nif);
    UNLOCK_TCPIP_CORE();
}

/* ---- raw API */

typedef struct rawend {
    struct tcp_pcb *pcb, *lpcb;
    uint64_t tx_off, rx_off, bad, count;
    int eof, shut, gone, failed, done, connecting, conn_ready;
    double start_ms, end_ms;
} rawend;
static rawend re;

static int sends_bulk(void)
{
    return o.bcase == CASE_BULK_BOTH || (o.bcase == CASE_BULK_ONE && o.role == ROLE_CLIENT);
}

static void raw_err(void *arg, err_t err)
{
    (void)arg;
    re.pcb = NULL; /* lwIP has freed it */
    re.gone = 1;
    if (!(re.eof && re.shut) && o.bcase != CASE_CONN) {
        fprintf(stderr, "lwip raw: connection error %d\n", (int)err);
        re.failed = 1;
    }
}

static err_t raw_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)arg, (void)err;
    if (!p) {
        if (!re.eof) {
            re.eof = 1;
            if (o.bcase != CASE_RR)
                re.end_ms = now_ms_f();
            if (!sends_bulk() && !re.shut) {
                tcp_shutdown(pcb, 0, 1);
                re.shut = 1;
            }
        }
        return ERR_OK;
    }
    int check = !(o.bcase == CASE_RR && o.role == ROLE_SERVER);
    for (struct pbuf *q = p; q; q = q->next) {
        if (check && !pattern_check(re.rx_off, q->payload, q->len))
            re.bad += q->len;
        if (!check)
            tcp_write(pcb, q->payload, q->len, TCP_WRITE_FLAG_COPY);
        re.rx_off += q->len;
    }
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    if (!check)
        tcp_output(pcb);
    return ERR_OK;
}

static err_t raw_conn_server_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)arg, (void)err;
    if (!p) {
        tcp_arg(pcb, NULL);
        tcp_recv(pcb, NULL);
        if (tcp_close(pcb) != ERR_OK) {
            tcp_abort(pcb);
            return ERR_ABRT;
        }
        return ERR_OK;
    }
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

static err_t raw_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    if (o.bcase == CASE_CONN) {
        re.count++;
        tcp_recv(pcb, raw_conn_server_recv);
        return ERR_OK;
    }
    re.pcb = pcb;
    re.start_ms = now_ms_f();
    tcp_recv(pcb, raw_recv);
    tcp_err(pcb, raw_err);
    if (o.bcase == CASE_RR)
        tcp_nagle_disable(pcb);
    return ERR_OK;
}

static err_t raw_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg, (void)pcb;
    if (err != ERR_OK)
        re.failed = 1;
    re.connecting = 0;
    re.conn_ready = 1;
    re.start_ms = o.bcase == CASE_CONN ? re.start_ms : now_ms_f();
    return ERR_OK;
}

static void raw_conn_err(void *arg, err_t err)
{
    (void)arg, (void)err;
}

static int raw_connect(void)
{
    ip_addr_t dst;
    IP_ADDR4(&dst, 10, 0, 0, 2);
    re.pcb = tcp_new();
    if (!re.pcb)
        return -1;
    if (o.bcase == CASE_RR)
        tcp_nagle_disable(re.pcb);
    if (o.bcase == CASE_CONN) {
        tcp_err(re.pcb, raw_conn_err);
    } else {
        tcp_recv(re.pcb, raw_recv);
        tcp_err(re.pcb, raw_err);
    }
    re.connecting = 1;
    re.conn_ready = 0;
    return tcp_connect(re.pcb, &dst, SERVER_PORT, raw_connected) == ERR_OK ? 0 : -1;
}

static void raw_send_bulk(double now)
{
    uint64_t limit = o.bytes ? o.bytes : UINT64_MAX;
    if (!o.bytes && now - re.start_ms >= o.seconds * 1000)
        limit = re.tx_off;
    int wrote = 0;
    while (re.tx_off < limit) {
        uint64_t left = limit - re.tx_off;
        u16_t room = tcp_sndbuf(re.pcb);
        size_t n = left < room ? (size_t)left : room;
        if (n > 0xFFFF)
            n = 0xFFFF;
        if (n == 0 || tcp_write(re.pcb, pattern_at(re.tx_off), (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
            break;
        re.tx_off += n;
        wrote = 1;
    }
    if (re.tx_off >= limit && !re.shut) {
        tcp_shutdown(re.pcb, 0, 1);
        re.shut = 1;
    } else if (wrote) {
        tcp_output(re.pcb);
    }
}

static void raw_step(double now)
{
    if (o.bcase == CASE_CONN) {
        if (o.role == ROLE_SERVER)
            return;
        if (re.conn_ready) {
            re.conn_ready = 0;
            re.count++;
            tcp_arg(re.pcb, NULL);
            if (tcp_close(re.pcb) != ERR_OK)
                tcp_abort(re.pcb);
            re.pcb = NULL;
            if (re.count >= o.conns || now - re.start_ms >= o.seconds * 1000) {
                re.end_ms = now;
                re.done = 1;
            } else if (raw_connect() != 0) {
                re.failed = re.done = 1;
            }
        }
        return;
    }
    if (!re.pcb || re.connecting)
        return;
    if (o.bcase == CASE_RR) {
        if (o.role == ROLE_CLIENT && !re.shut && re.rx_off == re.tx_off) {
            if (re.rx_off > 0)
                re.count++;
            if (now - re.start_ms >= o.seconds * 1000) {
                re.end_ms = now;
                tcp_shutdown(re.pcb, 0, 1);
                re.shut = 1;
            } else if (tcp_write(re.pcb, pattern_at(re.tx_off), RR_SIZE, TCP_WRITE_FLAG_COPY) == ERR_OK) {
                re.tx_off += RR_SIZE;
                tcp_output(re.pcb);
            }
        }
    } else if (sends_bulk()) {
        raw_send_bulk(now);
    }
}

static int raw_main(void)
{
    LOCK_TCPIP_CORE();
    re.start_ms = now_ms_f();
    if (o.role == ROLE_SERVER) {
        struct tcp_pcb *l = tcp_new();
        if (!l || tcp_bind(l, IP4_ADDR_ANY, SERVER_PORT) != ERR_OK)
            return 1;
        re.lpcb = tcp_listen_with_backlog(l, 255);
        tcp_accept(re.lpcb, raw_accept);
        end_ready(&o);
    } else if (raw_connect() != 0) {
        UNLOCK_TCPIP_CORE();
        return 1;
    }
    UNLOCK_TCPIP_CORE();
    while (!re.done) {
        LOCK_TCPIP_CORE();
        link_recv(&lk, feed, NULL, 4096);
        double now = now_ms_f();
        raw_step(now);
        if (o.bcase != CASE_CONN && re.eof && re.shut &&
            (re.gone || !re.pcb || re.pcb->state == TIME_WAIT || re.pcb->state == CLOSED))
            re.done = 1;
        if (now - re.start_ms > SAFETY_MS + o.seconds * 1000) {
            fprintf(stderr, "lwip raw: gave up\n");
            re.failed = re.done = 1;
        }
        UNLOCK_TCPIP_CORE();
        link_flush(&lk);
        if (lk.eof) {
            if (o.bcase == CASE_CONN && o.role == ROLE_SERVER)
                re.end_ms = now_ms_f();
            else if (!re.done && !(re.eof && re.shut)) {
                fprintf(stderr, "lwip raw: the peer hung up early\n");
                re.failed = 1;
            }
            break;
        }
        if (re.done)
            break;
        link_wait(&lk, 2);
    }
    link_flush_all(&lk);
    bench_result r;
    memset(&r, 0, sizeof r);
    r.rx_bytes = re.rx_off;
    r.tx_bytes = re.tx_off;
    r.rx_ms = r.count_ms = re.end_ms - re.start_ms;
    r.bad_bytes = re.bad;
    r.drops = r.drops_oow = r.retransmits = RESULT_UNKNOWN;
    r.count = re.count;
    r.failed = re.failed;
    result_write(o.result_fd, &r);
    return r.failed;
}

/* ---- sockets API: the main thread is the application, an I/O thread feeds packets */

static atomic_int io_stop;

static void *io_thread(void *arg)
{
    (void)arg;
    is_loop_thread = 1;
    while (!atomic_load(&io_stop) && !lk.eof) {
        LOCK_TCPIP_CORE();
        link_recv(&lk, feed, NULL, 4096);
        UNLOCK_TCPIP_CORE();
        link_flush(&lk);
        link_wait(&lk, 2);
    }
    return NULL;
}

static void sock_server_addr(struct sockaddr_in *a)
{
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = lwip_htons(SERVER_PORT);
    a->sin_addr.s_addr = lwip_htonl(ADDR_SERVER);
}

static int sock_wait(int s, short events)
{
    struct pollfd p = { .fd = s, .events = events };
    return lwip_poll(&p, 1, 100);
}

static int sock_main(void)
{
    bench_result r;
    memset(&r, 0, sizeof r);
    r.drops = r.drops_oow = r.retransmits = RESULT_UNKNOWN;
    pthread_t io;
    pthread_create(&io, NULL, io_thread, NULL);
    int one = 1;
    int s = -1, l = -1;
    struct sockaddr_in sa;
    sock_server_addr(&sa);
    double start = now_ms_f(), end = start;
    if (o.role == ROLE_SERVER) {
        l = lwip_socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in any;
        memset(&any, 0, sizeof any);
        any.sin_family = AF_INET;
        any.sin_port = lwip_htons(SERVER_PORT);
        if (l < 0 || lwip_bind(l, (struct sockaddr *)&any, sizeof any) < 0 || lwip_listen(l, 255) < 0) {
            fprintf(stderr, "lwip sockets: listen failed: %s\n", strerror(errno));
            return 1;
        }
        end_ready(&o);
    }
    if (o.bcase == CASE_CONN) {
        if (o.role == ROLE_SERVER) {
            for (;;) { /* until the client's process ends and the driver collects this one */
                int c = lwip_accept(l, NULL, NULL);
                if (c < 0)
                    break;
                r.count++;
                while (lwip_read(c, rxbuf, sizeof rxbuf) > 0)
                    ;
                lwip_close(c);
                if (lk.eof)
                    break;
            }
        } else {
            while (r.count < o.conns && now_ms_f() - start < o.seconds * 1000) {
                s = lwip_socket(AF_INET, SOCK_STREAM, 0);
                if (s < 0 || lwip_connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
                    fprintf(stderr, "lwip sockets: connect %llu: %s\n", (unsigned long long)r.count, strerror(errno));
                    r.failed = 1;
                    break;
                }
                lwip_close(s);
                r.count++;
            }
            end = now_ms_f();
            usleep(50000); /* the last FINs */
        }
        r.count_ms = end - start;
        goto out;
    }
    if (o.role == ROLE_SERVER) {
        s = lwip_accept(l, NULL, NULL);
    } else {
        s = lwip_socket(AF_INET, SOCK_STREAM, 0);
        if (s >= 0 && lwip_connect(s, (struct sockaddr *)&sa, sizeof sa) < 0)
            s = -1;
    }
    if (s < 0) {
        fprintf(stderr, "lwip sockets: no connection: %s\n", strerror(errno));
        r.failed = 1;
        goto out;
    }
    /* A stuck peer must not hang this end forever. */
    struct timeval tv = { .tv_sec = 10 };
    lwip_setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    start = now_ms_f();
    uint64_t tx = 0, rx = 0;
    int eof = 0, shut = 0;
    if (o.bcase == CASE_RR) {
        lwip_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (o.role == ROLE_SERVER) {
            ssize_t k;
            while ((k = lwip_read(s, rxbuf, sizeof rxbuf)) > 0)
                if (lwip_write(s, rxbuf, (size_t)k) != k)
                    break;
            lwip_shutdown(s, SHUT_WR);
        } else {
            while (now_ms_f() - start < o.seconds * 1000) {
                size_t got = 0;
                if (lwip_write(s, pattern_at(tx), RR_SIZE) != RR_SIZE)
                    break;
                while (got < RR_SIZE) {
                    ssize_t k = lwip_read(s, rxbuf + got, RR_SIZE - got);
                    if (k <= 0)
                        break;
                    got += (size_t)k;
                }
                if (got != RR_SIZE) {
                    r.failed = 1;
                    break;
                }
                if (!pattern_check(tx, rxbuf, RR_SIZE))
                    r.bad_bytes += RR_SIZE;
                tx += RR_SIZE;
                r.count++;
            }
            end = now_ms_f();
            r.count_ms = end - start;
            lwip_shutdown(s, SHUT_WR);
            while (lwip_read(s, rxbuf, sizeof rxbuf) > 0)
                ;
        }
        r.tx_bytes = r.rx_bytes = tx;
    } else {
        int sends = sends_bulk();
        while (!(eof && (shut || !sends))) {
            int progress = 0;
            if (sends && !shut) {
                uint64_t limit = o.bytes ? o.bytes : UINT64_MAX;
                if (!o.bytes && now_ms_f() - start >= o.seconds * 1000)
                    limit = tx;
                if (tx < limit) {
                    uint64_t left = limit - tx;
                    ssize_t k = lwip_send(s, pattern_at(tx), left < PATTERN_MAX_CHUNK ? (size_t)left : PATTERN_MAX_CHUNK,
                                          MSG_DONTWAIT);
                    if (k > 0)
                        tx += (uint64_t)k, progress = 1;
                    else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                        fprintf(stderr, "lwip sockets: send: %s\n", strerror(errno));
                        r.failed = 1;
                        break;
                    }
                }
                if (tx >= limit) {
                    lwip_shutdown(s, SHUT_WR);
                    shut = 1;
                }
            }
            for (;;) {
                ssize_t k = lwip_recv(s, rxbuf, sizeof rxbuf, MSG_DONTWAIT);
                if (k > 0) {
                    if (!pattern_check(rx, rxbuf, (size_t)k))
                        r.bad_bytes += (uint64_t)k;
                    rx += (uint64_t)k;
                    progress = 1;
                    continue;
                }
                if (k == 0) {
                    eof = 1;
                    end = now_ms_f();
                } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                    fprintf(stderr, "lwip sockets: recv: %s\n", strerror(errno));
                    r.failed = 1;
                    eof = 1;
                }
                break;
            }
            if (r.failed || now_ms_f() - start > SAFETY_MS + o.seconds * 1000) {
                r.failed = 1;
                break;
            }
            if (!progress && !eof)
                sock_wait(s, POLLIN | (sends && !shut ? POLLOUT : 0));
        }
        if (!sends)
            lwip_shutdown(s, SHUT_WR);
        r.tx_bytes = tx;
        r.rx_bytes = rx;
        r.rx_ms = end - start;
    }
    /* The sockets API does not tell when our data and FIN are acknowledged: stay until the
     * link has been quiet for 100 ms (or the other end has hung up). */
    for (int i = 0; i < 100 && !lk.eof; i++) {
        uint64_t before = lk.rx_packets + lk.tx_packets;
        usleep(100000);
        if (lk.rx_packets + lk.tx_packets == before)
            break;
    }
out:
    link_flush_all(&lk);
    result_write(o.result_fd, &r);
    _exit(r.failed); /* the tcpip and I/O threads stop with the process */
}

int main(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[1], "--api") != 0 || opts_parse(argc - 3, argv + 3, &o) != 0) {
        fprintf(stderr, "usage: sockpair-lwip --api raw|sockets --end ... (run by sockpair)\n");
        return 2;
    }
    pattern_init();
    link_init(&lk, o.link_fd);
    is_loop_thread = 1;
    lwip_setup();
    if (!strcmp(argv[2], "raw"))
        _exit(raw_main());
    is_loop_thread = 0;
    return sock_main();
}
