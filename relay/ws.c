/* ws.c: the libwebsockets side: the WebSocket endpoint (RFC 6455), admission (token, Origin, capacity), the HTTP metrics page, and the raw descriptors (TUN, signals, pipes). */
#include "relay.h"
#include "subprotocol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define WRITES_PER_CALLBACK 64 /* messages per writable callback before yielding */
#define TUN_READS_PER_CALLBACK 256

typedef struct pss {
    client *c;
} pss;

static relay *relay_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

static const char *peer_of(struct lws *wsi, char *buf, size_t cap)
{
    const char *p = lws_get_peer_simple(wsi, buf, cap);
    return p && *p ? p : "-";
}

/* ---------------------------------------------------------------- HTTP */

/* A whole response (status line, headers, short body) in one write, as lws's own
 * lws_return_http_status does for HTTP/1. 0, or -1 to hang up. */
static int http_reply(struct lws *wsi, unsigned status, const char *type, const char *body,
                      size_t blen)
{
    size_t cap = LWS_PRE + 1024 + blen;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -1;
    uint8_t *start = buf + LWS_PRE, *p = start, *end = buf + cap;
    char slen[24];
    int n = snprintf(slen, sizeof slen, "%zu", blen);
    if (lws_add_http_header_status(wsi, status, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, (const uint8_t *)type,
                                     (int)strlen(type), &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, (const uint8_t *)slen, n,
                                     &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const uint8_t *)"no-store", 8, &p, end) ||
        lws_finalize_http_header(wsi, &p, end)) {
        free(buf);
        return -1;
    }
    memcpy(p, body, blen);
    p += blen;
    int len = (int)(p - start);
    int w = lws_write(wsi, start, (size_t)len, LWS_WRITE_HTTP);
    free(buf);
    return w == len ? 0 : -1;
}

/* The token, from ?token= or from a "wtcp.token.TOKEN" subprotocol. */
static int token_of(struct lws *wsi, char *out, size_t cap)
{
    const char *v = lws_get_urlarg_by_name(wsi, "token=", out, (int)cap);
    if (v) {
        memmove(out, v, strlen(v) + 1);
        return 1;
    }
    char list[512];
    if (lws_hdr_copy(wsi, list, sizeof list, WSI_TOKEN_PROTOCOL) <= 0)
        return 0;
    return subprotocol_token(list, RELAY_TOKEN_PROTOCOL, out, cap);
}

/* Constant-time in the contents (the length of a token is no secret). */
static int token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static int token_ok(relay *r, struct lws *wsi)
{
    if (!r->ntokens)
        return 1;
    char tok[512];
    if (!token_of(wsi, tok, sizeof tok))
        return 0;
    int ok = 0;
    for (size_t i = 0; i < r->ntokens; i++)
        ok |= token_equal(tok, r->tokens[i]);
    memset(tok, 0, sizeof tok);
    return ok;
}

static int offers_wtcp(struct lws *wsi)
{
    char list[512], copy[512];
    int n = lws_hdr_copy(wsi, list, sizeof list, WSI_TOKEN_PROTOCOL);
    if (n <= 0)
        return 1; /* no list: the default protocol is wtcp (version 1) */
    memcpy(copy, list, sizeof copy); /* subprotocol_offers cuts the list it reads */
    return subprotocol_offers(list, RELAY_WS_PROTOCOL) || subprotocol_offers(copy, RELAY_WS_PROTOCOL_V2);
}

static int refuse(relay *r, struct lws *wsi, enum relay_refusal why, unsigned status, const char *msg)
{
    char peer[64], origin[256] = "-";
    if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0)
        strcpy(origin, "-");
    r->st.refused[why]++;
    relay_log("refuse peer=%s reason=%s status=%u origin=%s", peer_of(wsi, peer, sizeof peer),
              relay_refusal_name(why), status, origin);
    char body[256];
    int n = snprintf(body, sizeof body, "%u %s\n", status, msg);
    return http_reply(wsi, status, "text/plain; charset=utf-8", body, (size_t)n) ? -1 : 1;
}

static int origin_ok(relay *r, struct lws *wsi)
{
    if (!r->o.norigins)
        return 1;
    char origin[256];
    if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0)
        return 0;
    for (unsigned i = 0; i < r->o.norigins; i++)
        if (!strcasecmp(origin, r->o.origins[i]))
            return 1;
    return 0;
}

/* Every check happens before the WebSocket exists: a refused client gets an HTTP status
 * and never an address. */
static int confirm_upgrade(relay *r, struct lws *wsi, const char *up)
{
    if (lws_get_vhost(wsi) != r->vh_ws || strcasecmp(up ? up : "", "websocket"))
        return -1;
    if (r->stopping)
        return refuse(r, wsi, REFUSE_STOPPING, 503, "the relay is shutting down");
    if (!token_ok(r, wsi))
        return refuse(r, wsi, REFUSE_TOKEN, 401,
                      "missing or wrong token (pass it as ?token=... or as the subprotocol wtcp.token.TOKEN)");
    if (!origin_ok(r, wsi))
        return refuse(r, wsi, REFUSE_ORIGIN, 403, "Origin not allowed");
    if (r->nclients[CLIENT_WS] >= r->o.max_clients || r->pool.used >= r->pool.max ||
        r->pool.used >= pool_capacity(&r->pool))
        return refuse(r, wsi, REFUSE_FULL, 503, "no free client slot or address; try again later");
    if (!offers_wtcp(wsi)) {
        char peer[64];
        relay_log("refuse peer=%s reason=subprotocol status=400", peer_of(wsi, peer, sizeof peer));
        static const char msg[] = "400 offer the subprotocol \"wtcp.2\" or \"wtcp\" (first) or none\n";
        return http_reply(wsi, 400, "text/plain; charset=utf-8", msg, sizeof msg - 1) ? -1 : 1;
    }
    return 0;
}

static int serve_metrics(relay *r, struct lws *wsi)
{
    size_t cap = 64 * 1024;
    char *body = malloc(cap);
    if (!body)
        return -1;
    size_t n = metrics_render(r, body, cap);
    int rc = http_reply(wsi, 200, "text/plain; version=0.0.4; charset=utf-8", body, n);
    free(body);
    return rc;
}

static int serve_http(relay *r, struct lws *wsi, const char *path)
{
    int rc;
    if (lws_get_vhost(wsi) == r->vh_metrics) {
        if (!strcmp(path, "/metrics") || !strcmp(path, "/"))
            rc = serve_metrics(r, wsi);
        else
            rc = http_reply(wsi, 404, "text/plain", "404 try /metrics\n", 17);
    } else if (r->o.metrics_path && !strcmp(path, r->o.metrics_path)) {
        if (!token_ok(r, wsi))
            rc = http_reply(wsi, 401, "text/plain", "401 missing or wrong token\n", 27);
        else
            rc = serve_metrics(r, wsi);
    } else {
        static const char msg[] = "426 this is a wtcp relay: connect with a WebSocket (subprotocol \"wtcp\")\n";
        rc = http_reply(wsi, 426, "text/plain; charset=utf-8", msg, sizeof msg - 1);
    }
    if (rc)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---------------------------------------------------------------- WebSocket clients */

/* Version 2: as many queued packets as fit in one message of --max-message bytes, each
 * after its 2-byte length (client_v2_pack). What waits goes in one message now, so
 * batching adds no delay. */
static int ws_write_batch(relay *r, struct lws *wsi, client *c)
{
    uint8_t *msg = r->txbuf + LWS_PRE;
    size_t n = client_v2_pack(c, msg, relay_v2_max_message(r));
    if (lws_write(wsi, msg, n, LWS_WRITE_BINARY) < (int)n)
        return -1;
    r->st.messages[DIR_DOWN]++;
    return 0;
}

static int ws_writable(relay *r, struct lws *wsi, client *c)
{
    if (c->closing) {
        const char *text = c->close_code == RELAY_CLOSE_GOING_AWAY ? "relay shutting down" : "";
        lws_close_reason(wsi, (enum lws_close_status)c->close_code, (unsigned char *)text,
                         strlen(text));
        return -1;
    }
    int wrote = 0;
    if (!c->config_sent) {
        uint8_t buf[LWS_PRE + 256];
        size_t n = relay_config_json(r, c, (char *)buf + LWS_PRE, sizeof buf - LWS_PRE);
        if (!n || lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
            return -1;
        c->config_sent = 1;
        wrote = 1;
    }
    for (int i = 0; i < WRITES_PER_CALLBACK && c->outq.head; i++) {
        if (wrote && lws_send_pipe_choked(wsi))
            break;
        if (c->version == 2) {
            if (ws_write_batch(r, wsi, c) < 0)
                return -1;
            wrote = 1;
            continue;
        }
        relay_pkt *p = pktq_pop(&c->outq);
        int n = lws_write(wsi, PKT_DATA(p), p->len, LWS_WRITE_BINARY);
        if (n < (int)p->len) {
            free(p);
            return -1;
        }
        wrote = 1;
        client_count_down(c, p->len);
        r->st.messages[DIR_DOWN]++;
        free(p);
    }
    if (c->outq.head)
        lws_callback_on_writable(wsi);
    return 0;
}

static int ws_receive(relay *r, struct lws *wsi, client *c, const uint8_t *in, size_t len)
{
    if (client_ws_fragment(c, in, len, lws_is_first_fragment(wsi), lws_is_final_fragment(wsi),
                           lws_frame_is_binary(wsi)) == 0)
        return 0;
    static const char why[] = "message over --max-message";
    r->st.closed_too_big++;
    c->close_why = "message_too_big";
    lws_close_reason(wsi, RELAY_CLOSE_TOO_BIG, (unsigned char *)why, sizeof why - 1);
    return -1;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    relay *r = relay_of(wsi);
    pss *s = user;
    char peer[64];

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return serve_http(r, wsi, in ? (const char *)in : "/");

    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(r, wsi, in);

    case LWS_CALLBACK_ESTABLISHED: {
        client *c = client_new(r, CLIENT_WS, peer_of(wsi, peer, sizeof peer));
        if (!c) {
            /* Two upgrades raced for the last slot. */
            static const char why[] = "no free address";
            r->st.refused[REFUSE_FULL]++;
            relay_log("refuse peer=%s reason=full code=%d", peer, RELAY_CLOSE_TRY_LATER);
            lws_close_reason(wsi, RELAY_CLOSE_TRY_LATER, (unsigned char *)why, sizeof why - 1);
            return -1;
        }
        c->wsi = wsi;
        s->c = c;
        /* libwebsockets answered with the first subprotocol of the client's list that it
         * serves; none offered is version 1. */
        const struct lws_protocols *pr = lws_get_protocol(wsi);
        c->version = pr && !strcmp(pr->name, RELAY_WS_PROTOCOL_V2) ? 2 : 1;
        char origin[128];
        if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0)
            strcpy(origin, "-");
        relay_log("connect client=%s kind=ws peer=%s origin=%s version=%d clients=%u", c->addr_s, c->peer,
                  origin, c->version, r->nclients[CLIENT_WS]);
        lws_callback_on_writable(wsi);
        return 0;
    }

    case LWS_CALLBACK_RECEIVE:
        if (!s || !s->c)
            return -1;
        return ws_receive(r, wsi, s->c, in, len);

    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!s || !s->c)
            return 0;
        return ws_writable(r, wsi, s->c);

    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (s && s->c) {
            const uint8_t *b = in;
            s->c->peer_close_code = len >= 2 ? (uint16_t)(b[0] << 8 | b[1]) : 1005;
            s->c->close_why = "client_closed";
        }
        return 0;

    case LWS_CALLBACK_CLOSED:
        if (s && s->c) {
            client *c = s->c;
            s->c = NULL;
            c->wsi = NULL;
            client_free(c, c->close_why ? c->close_why : "connection_lost");
        }
        return 0;

    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* Closes every WebSocket client with `code`; `why` names it in the log. */
void ws_close_all(relay *r, uint16_t code, const char *why)
{
    for (client *c = r->clients; c; c = c->next) {
        if (c->kind != CLIENT_WS || !c->wsi || c->closing)
            continue;
        c->closing = 1;
        c->close_code = code;
        c->close_why = why;
        lws_callback_on_writable(c->wsi);
    }
}

/* ---------------------------------------------------------------- raw descriptors */

static void tun_readable(relay *r)
{
    uint8_t *buf = r->tunbuf + LWS_PRE;
    for (int i = 0; i < TUN_READS_PER_CALLBACK; i++) {
        ssize_t n = read(r->tun_fd, buf, sizeof r->tunbuf - LWS_PRE);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                relay_log("warning tun=%s msg=\"read: %s\"", r->tun_name, strerror(errno));
            return;
        }
        client_from_network(r, buf, (size_t)n);
    }
}

int ws_raw_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    relay *r = relay_of(wsi);
    (void)user;
    (void)in;
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        if (wsi == r->tun_wsi)
            tun_readable(r);
        else if (wsi == r->sig_wsi)
            relay_signals_readable(r);
        else
            return exec_pipe_readable(r, wsi);
        return 0;
    case LWS_CALLBACK_RAW_WRITEABLE_FILE:
        if (wsi != r->tun_wsi && wsi != r->sig_wsi)
            return exec_pipe_writable(r, wsi);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (wsi == r->tun_wsi) {
            r->tun_wsi = NULL;
            r->tun_fd = -1;
            if (!r->stopping) {
                relay_log("error tun=%s msg=\"the TUN device went away\"", r->tun_name);
                r->stopping = 1;
                r->exit_code = 1;
            }
        } else if (wsi == r->sig_wsi) {
            r->sig_wsi = NULL;
            r->sig_fd = -1;
        } else {
            exec_pipe_closed(r, wsi);
        }
        return 0;
    default:
        return 0;
    }
}

/* ---------------------------------------------------------------- set-up */

/* Version 1 first: it is what a client that offers no subprotocol gets. */
static const struct lws_protocols ws_protocols[] = {
    {RELAY_WS_PROTOCOL, ws_callback, sizeof(pss), 65536, 0, NULL, 65536 + 16},
    {RELAY_WS_PROTOCOL_V2, ws_callback, sizeof(pss), 65536, 0, NULL, 65536 + 16},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const struct lws_protocols metrics_protocols[] = {
    {"wtcp-metrics", ws_callback, sizeof(pss), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const struct lws_protocols raw_protocols[] = {
    {"wtcp-raw", ws_raw_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* "ADDR:PORT" or "[V6]:PORT" into host (NULL: every address) and port. */
static int split_listen(const char *s, char *host, size_t cap, int *port, int *v6)
{
    const char *colon;
    *v6 = 0;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= cap)
            return -1;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = 0;
        colon = close + 1;
        *v6 = 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= cap)
            return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = 0;
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 1 || p > 65535 || colon[1] == 0)
        return -1;
    *port = (int)p;
    return 0;
}

int relay_check_listen(const char *s)
{
    char host[128];
    int port, v6;
    return split_listen(s, host, sizeof host, &port, &v6);
}

static struct lws_vhost *make_vhost(relay *r, const char *name, const char *listen,
                                    const struct lws_protocols *protocols, int tls)
{
    struct lws_context_creation_info info;
    char host[128];
    int port, v6;
    memset(&info, 0, sizeof info);
    info.vhost_name = name;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    info.alpn = "http/1.1";
    if (listen) {
        if (split_listen(listen, host, sizeof host, &port, &v6) < 0) {
            relay_log("error msg=\"%s: want ADDR:PORT\"", listen);
            return NULL;
        }
        info.port = port;
        int any = !strcmp(host, "") || !strcmp(host, "0.0.0.0") || !strcmp(host, "*");
        info.iface = any ? NULL : host;
        if (!v6)
            info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
        info.timeout_secs_ah_idle = r->o.handshake_timeout;
        info.retry_and_idle_policy = &r->keepalive;
        if (tls) {
            info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
            info.ssl_cert_filepath = r->o.cert;
            info.ssl_private_key_filepath = r->o.key;
        }
    } else {
        info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    }
    struct lws_vhost *vh = lws_create_vhost(r->ctx, &info);
    if (!vh)
        relay_log("error msg=\"cannot %s %s (in use? bad address? bad certificate?)\"",
                  listen ? "listen on" : "create", listen ? listen : name);
    return vh;
}

int ws_setup(relay *r)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    if (r->o.cert)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.user = r;
    info.timeout_secs = r->o.handshake_timeout;
    info.pt_serv_buf_size = 64 * 1024;
    r->ctx = lws_create_context(&info);
    if (!r->ctx) {
        relay_log("error msg=\"libwebsockets: cannot create a context\"");
        return -1;
    }
    r->keepalive.secs_since_valid_ping = (uint16_t)r->o.ping_interval;
    r->keepalive.secs_since_valid_hangup = (uint16_t)r->o.idle_timeout;
    if (!(r->vh_raw = make_vhost(r, "raw", NULL, raw_protocols, 0)))
        return -1;
    if (r->o.listen && !(r->vh_ws = make_vhost(r, "ws", r->o.listen, ws_protocols, r->o.cert != NULL)))
        return -1;
    if (r->o.listen && !(r->txbuf = malloc(LWS_PRE + relay_v2_max_message(r)))) {
        relay_log("error msg=\"out of memory\"");
        return -1;
    }
    if (r->o.metrics && !(r->vh_metrics = make_vhost(r, "metrics", r->o.metrics, metrics_protocols, 0)))
        return -1;
    return 0;
}
