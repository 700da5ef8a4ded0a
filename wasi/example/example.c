/* example.c: embedding libwtcp in a WASI program: two stacks joined in memory exchange a greeting over TCP.
 *
 * Build against the installed WASI artefacts only (what `make wasi` puts in build/wasi/):
 *   clang --target=wasm32-wasi --sysroot=SYSROOT -O2 -Ibuild/wasi/include \
 *         wasi/example/example.c build/wasi/libwtcp.a -o example.wasm
 * Run: node wasi/run.mjs example.wasm
 *
 * The host owns time and I/O: here "the network" is a queue of packets between the two
 * stacks and time is a counter, so the program needs no sockets from WASI at all. A real
 * program hands the output packets to its link (see wasi/loop.c: stdin/stdout framing)
 * and sleeps until the deadline that wtcp_poll() returns.
 */
#include <wtcp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_MAX 64

typedef struct packet {
    int to; /* 0: the client's stack, 1: the server's */
    size_t len;
    uint8_t data[1500];
} packet;

/* Packets in flight, delivered in order at the next step. */
static packet queue[QUEUE_MAX];
static int queued;

typedef struct side {
    int to;
} side;

/* The output callback: the stack hands over one IPv4 packet. */
static void output(void *user, const uint8_t *pkt, size_t len)
{
    side *s = user;
    if (queued == QUEUE_MAX || len > sizeof queue[0].data)
        return; /* a full link loses packets; TCP retransmits */
    queue[queued].to = s->to;
    queue[queued].len = len;
    memcpy(queue[queued].data, pkt, len);
    queued++;
}

static wtcp_stack *make_stack(const char *addr, side *s)
{
    wtcp_config cfg;
    wtcp_config_init(&cfg);
    wtcp_addr_parse(addr, &cfg.addr);
    cfg.output = output;
    cfg.output_user = s;
    /* A real program fills isn_key from getentropy(); fixed here for a repeatable demo. */
    memset(cfg.isn_key, 0x5a, sizeof cfg.isn_key);
    wtcp_stack *st;
    int r = wtcp_stack_new(&cfg, &st);
    if (r < 0) {
        fprintf(stderr, "example: wtcp_stack_new: %s\n", wtcp_strerror(r));
        exit(1);
    }
    return st;
}

int main(void)
{
    side to_client = {0}, to_server = {1};
    /* The client's packets go to the server and the other way round. */
    wtcp_stack *client = make_stack("10.0.0.1", &to_server);
    wtcp_stack *server = make_stack("10.0.0.2", &to_client);
    uint32_t server_addr;
    wtcp_addr_parse("10.0.0.2", &server_addr);

    int listener = wtcp_socket(server, WTCP_SOCK_STREAM);
    wtcp_bind(server, listener, 0, 7);
    wtcp_listen(server, listener, 8);
    int conn = wtcp_socket(client, WTCP_SOCK_STREAM);
    wtcp_connect(client, conn, server_addr, 7); /* WTCP_EINPROGRESS */

    const char greeting[] = "hello from a WASI program";
    char reply[64] = {0};
    size_t reply_len = 0;
    int accepted = -1;
    for (uint64_t now = 0; now < 10000; now++) { /* 10 s of virtual time, 1 ms steps */
        /* Deliver the packets in flight, then let both stacks run their timers. */
        int n = queued;
        static packet batch[QUEUE_MAX];
        memcpy(batch, queue, sizeof batch[0] * (size_t)n);
        queued = 0;
        for (int i = 0; i < n; i++)
            wtcp_input(batch[i].to ? server : client, now, batch[i].data, batch[i].len);
        wtcp_poll(client, now);
        wtcp_poll(server, now);

        /* Events say which sockets need attention. */
        wtcp_event ev;
        while (wtcp_next_event(server, &ev)) {
            if (ev.sock == listener && (ev.events & WTCP_EV_ACCEPTABLE))
                accepted = wtcp_accept(server, listener, NULL, NULL);
            else if (ev.sock == accepted && (ev.events & WTCP_EV_READABLE)) {
                char buf[64];
                int got = wtcp_recv(server, accepted, buf, sizeof buf);
                if (got > 0) {
                    for (int i = 0; i < got; i++) /* answer in upper case */
                        if (buf[i] >= 'a' && buf[i] <= 'z')
                            buf[i] = (char)(buf[i] - 'a' + 'A');
                    wtcp_send(server, accepted, buf, (size_t)got);
                } else if (got == 0) {
                    wtcp_close(server, accepted); /* the client finished: close too */
                }
            }
        }
        while (wtcp_next_event(client, &ev)) {
            if (ev.events & WTCP_EV_CONNECTED)
                wtcp_send(client, conn, greeting, strlen(greeting));
            if (ev.events & WTCP_EV_READABLE) {
                int got = wtcp_recv(client, conn, reply + reply_len, sizeof reply - 1 - reply_len);
                if (got > 0)
                    reply_len += (size_t)got;
                if (reply_len == strlen(greeting))
                    wtcp_close(client, conn);
            }
        }
        if (reply_len == strlen(greeting) && queued == 0)
            break;
    }
    wtcp_stats stats;
    wtcp_stats_get(client, &stats);
    printf("sent:     %s\nreceived: %s\nclient packets: %llu out, %llu in\n", greeting, reply,
           (unsigned long long)stats.ip_out, (unsigned long long)stats.ip_in);
    wtcp_stack_free(client);
    wtcp_stack_free(server);
    return reply_len == strlen(greeting) ? 0 : 1;
}
