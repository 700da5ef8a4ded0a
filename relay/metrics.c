/* metrics.c: the relay's counters in the Prometheus text exposition format (version 0.0.4). */
#include "relay.h"

#include <stdarg.h>
#include <stdio.h>

typedef struct out {
    char *p;
    size_t len, cap;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
    if (o->len >= o->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
    if (o->len > o->cap)
        o->len = o->cap;
}

static void head(out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *const dir_names[DIR_COUNT] = {"up", "down"};

const char *relay_kind_name(int kind)
{
    static const char *const names[CLIENT_KINDS] = {"ws", "exec"};
    return kind >= 0 && kind < CLIENT_KINDS ? names[kind] : "?";
}

const char *relay_refusal_name(int why)
{
    static const char *const names[REFUSE_COUNT] = {"token", "origin", "full", "stopping"};
    return why >= 0 && why < REFUSE_COUNT ? names[why] : "?";
}

size_t metrics_render(const relay *r, char *buf, size_t cap)
{
    out o = {buf, 0, cap};
    const relay_stats *s = &r->st;

    head(&o, "wtcp_relay_clients", "gauge", "Clients connected now.");
    for (int k = 0; k < CLIENT_KINDS; k++)
        put(&o, "wtcp_relay_clients{kind=\"%s\"} %u\n", relay_kind_name(k), r->nclients[k]);
    head(&o, "wtcp_relay_clients_max", "gauge", "The --max-clients limit for WebSocket clients.");
    put(&o, "wtcp_relay_clients_max %u\n", r->o.max_clients);
    head(&o, "wtcp_relay_connections_total", "counter", "Clients accepted since start.");
    for (int k = 0; k < CLIENT_KINDS; k++)
        put(&o, "wtcp_relay_connections_total{kind=\"%s\"} %llu\n", relay_kind_name(k),
            (unsigned long long)s->connections[k]);
    head(&o, "wtcp_relay_refused_total", "counter",
         "WebSocket connections refused before the handshake, by reason.");
    for (int i = 0; i < REFUSE_COUNT; i++)
        put(&o, "wtcp_relay_refused_total{reason=\"%s\"} %llu\n", relay_refusal_name(i),
            (unsigned long long)s->refused[i]);
    head(&o, "wtcp_relay_closed_too_big_total", "counter",
         "Clients closed (1009) for a message over --max-message.");
    put(&o, "wtcp_relay_closed_too_big_total %llu\n", (unsigned long long)s->closed_too_big);

    head(&o, "wtcp_relay_packets_total", "counter",
         "Packets forwarded: up = client to network, down = network to client.");
    for (int d = 0; d < DIR_COUNT; d++)
        put(&o, "wtcp_relay_packets_total{direction=\"%s\"} %llu\n", dir_names[d],
            (unsigned long long)s->packets[d]);
    head(&o, "wtcp_relay_bytes_total", "counter", "IPv4 bytes forwarded.");
    for (int d = 0; d < DIR_COUNT; d++)
        put(&o, "wtcp_relay_bytes_total{direction=\"%s\"} %llu\n", dir_names[d],
            (unsigned long long)s->bytes[d]);
    head(&o, "wtcp_relay_messages_total", "counter",
         "WebSocket binary messages (protocol 1: one packet each; 2: a batch each).");
    for (int d = 0; d < DIR_COUNT; d++)
        put(&o, "wtcp_relay_messages_total{direction=\"%s\"} %llu\n", dir_names[d],
            (unsigned long long)s->messages[d]);
    head(&o, "wtcp_relay_drops_total", "counter", "Packets and messages dropped, by direction and reason.");
    for (int d = 0; d < DIR_COUNT; d++)
        for (int i = 0; i < DROP_COUNT; i++)
            put(&o, "wtcp_relay_drops_total{direction=\"%s\",reason=\"%s\"} %llu\n", dir_names[d],
                relay_drop_name((enum relay_drop)i), (unsigned long long)s->drops[d][i]);

    head(&o, "wtcp_relay_fault_duplicated_total", "counter", "Fault injection: packets duplicated.");
    for (int d = 0; d < DIR_COUNT; d++)
        put(&o, "wtcp_relay_fault_duplicated_total{direction=\"%s\"} %llu\n", dir_names[d],
            (unsigned long long)s->duplicated[d]);
    head(&o, "wtcp_relay_fault_reordered_total", "counter", "Fault injection: packets held back behind the next one.");
    for (int d = 0; d < DIR_COUNT; d++)
        put(&o, "wtcp_relay_fault_reordered_total{direction=\"%s\"} %llu\n", dir_names[d],
            (unsigned long long)s->reordered[d]);
    head(&o, "wtcp_relay_fault_delayed_total", "counter", "Fault injection: packets delayed.");
    for (int d = 0; d < DIR_COUNT; d++)
        put(&o, "wtcp_relay_fault_delayed_total{direction=\"%s\"} %llu\n", dir_names[d],
            (unsigned long long)s->delayed[d]);

    head(&o, "wtcp_relay_addresses_free", "gauge", "Addresses left in the pool.");
    put(&o, "wtcp_relay_addresses_free %llu\n",
        (unsigned long long)(pool_capacity(&r->pool) - r->pool.used));
    head(&o, "wtcp_relay_uptime_seconds", "gauge", "Seconds since the relay started.");
    put(&o, "wtcp_relay_uptime_seconds %.1f\n", (double)(lws_now_usecs() - r->started_us) / 1e6);
    return o.len;
}
