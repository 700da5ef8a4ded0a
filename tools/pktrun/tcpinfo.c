/* tcpinfo.c: Linux's struct tcp_info, as packetdrill scripts read it (tcpi_* names in
 * %{ }% code and in getsockopt(TCP_INFO, {...})), computed from wtcp_info; the wtcp_info
 * fields themselves as wtcpi_*; and the symbolic constants packetdrill defines for code
 * (TCP_ESTABLISHED ..., TCP_CA_Open ..., TCPI_OPT_*). See docs/PKTSCRIPT.md. */
#include <stdint.h>
#include <string.h>

#include "pktrun.h"
#include "wtcp.h"

/* Linux's numbering (include/net/tcp_states.h and uapi/linux/tcp.h). */
enum {
    L_TCP_ESTABLISHED = 1, L_TCP_SYN_SENT, L_TCP_SYN_RECV, L_TCP_FIN_WAIT1, L_TCP_FIN_WAIT2,
    L_TCP_TIME_WAIT, L_TCP_CLOSE, L_TCP_CLOSE_WAIT, L_TCP_LAST_ACK, L_TCP_LISTEN, L_TCP_CLOSING
};
enum { L_CA_OPEN = 0, L_CA_DISORDER = 1, L_CA_CWR = 2, L_CA_RECOVERY = 3, L_CA_LOSS = 4 };
enum { L_OPT_TIMESTAMPS = 1, L_OPT_SACK = 2, L_OPT_WSCALE = 4, L_OPT_ECN = 8,
       L_OPT_ECN_SEEN = 16, L_OPT_SYN_DATA = 32 };
#define L_INFINITE_SSTHRESH 0x7fffffff

static const struct { const char *name; int64_t v; } consts[] = {
    { "TCP_ESTABLISHED", L_TCP_ESTABLISHED }, { "TCP_SYN_SENT", L_TCP_SYN_SENT },
    { "TCP_SYN_RECV", L_TCP_SYN_RECV },       { "TCP_FIN_WAIT1", L_TCP_FIN_WAIT1 },
    { "TCP_FIN_WAIT2", L_TCP_FIN_WAIT2 },     { "TCP_TIME_WAIT", L_TCP_TIME_WAIT },
    { "TCP_CLOSE", L_TCP_CLOSE },             { "TCP_CLOSE_WAIT", L_TCP_CLOSE_WAIT },
    { "TCP_LAST_ACK", L_TCP_LAST_ACK },       { "TCP_LISTEN", L_TCP_LISTEN },
    { "TCP_CLOSING", L_TCP_CLOSING },
    { "TCP_CA_Open", L_CA_OPEN },             { "TCP_CA_Disorder", L_CA_DISORDER },
    { "TCP_CA_CWR", L_CA_CWR },               { "TCP_CA_Recovery", L_CA_RECOVERY },
    { "TCP_CA_Loss", L_CA_LOSS },
    { "TCPI_OPT_TIMESTAMPS", L_OPT_TIMESTAMPS }, { "TCPI_OPT_SACK", L_OPT_SACK },
    { "TCPI_OPT_WSCALE", L_OPT_WSCALE },      { "TCPI_OPT_ECN", L_OPT_ECN },
    { "TCPI_OPT_ECN_SEEN", L_OPT_ECN_SEEN },  { "TCPI_OPT_SYN_DATA", L_OPT_SYN_DATA },
    { "WTCP_CC_CUBIC", WTCP_CC_CUBIC },       { "WTCP_CC_NEWRENO", WTCP_CC_NEWRENO },
};

int tcpinfo_const(const char *name, int64_t *v)
{
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++)
        if (!strcmp(consts[i].name, name)) {
            *v = consts[i].v;
            return 0;
        }
    return -1;
}

static int64_t linux_state(int s)
{
    switch (s) {
    case WTCP_ESTABLISHED: return L_TCP_ESTABLISHED;
    case WTCP_SYN_SENT: return L_TCP_SYN_SENT;
    case WTCP_SYN_RECEIVED: return L_TCP_SYN_RECV;
    case WTCP_FIN_WAIT_1: return L_TCP_FIN_WAIT1;
    case WTCP_FIN_WAIT_2: return L_TCP_FIN_WAIT2;
    case WTCP_TIME_WAIT: return L_TCP_TIME_WAIT;
    case WTCP_CLOSE_WAIT: return L_TCP_CLOSE_WAIT;
    case WTCP_LAST_ACK: return L_TCP_LAST_ACK;
    case WTCP_LISTEN: return L_TCP_LISTEN;
    case WTCP_CLOSING: return L_TCP_CLOSING;
    default: return L_TCP_CLOSE;
    }
}

/* wtcp_info.ca_state (include/wtcp.h: 0 open, 1 disorder, 2 recovery, 3 loss) to Linux's
 * TCP_CA_* (Open 0, Disorder 1, CWR 2, Recovery 3, Loss 4). wtcp has no CWR state. */
static int linux_ca_state(unsigned ca, int64_t *v)
{
    static const int64_t map[] = { L_CA_OPEN, L_CA_DISORDER, L_CA_RECOVERY, L_CA_LOSS };
    if (ca >= sizeof map / sizeof map[0])
        return -1;
    *v = map[ca];
    return 0;
}

/* wtcp_info fields by name, raw (wtcpi_<field>). */
#define WTCPI_FIELDS(X)                                                                          \
    X(state) X(snd_mss) X(rcv_mss) X(snd_wnd) X(rcv_wnd) X(snd_wscale) X(rcv_wscale) X(ts_ok)    \
    X(sack_ok) X(cwnd) X(ssthresh) X(srtt_ms) X(rttvar_ms) X(rto_ms) X(backoff) X(retransmits)   \
    X(unacked) X(snd_buf_used) X(rcv_buf_used) X(bytes_sent) X(bytes_acked) X(bytes_received)   \
    X(segs_in) X(segs_out) X(congestion) X(ca_state) X(lost) X(reordering) X(rack_reo_wnd_ms)   \
    X(tlp_probes)

int tcpinfo_field(const wtcp_info *in, const char *name, int64_t *v)
{
    if (!strncmp(name, "wtcpi_", 6)) {
        const char *f = name + 6;
#define WTCPI_GET(field)                                                                         \
    if (!strcmp(f, #field)) {                                                                    \
        *v = (int64_t)in->field;                                                                 \
        return 0;                                                                                \
    }
        WTCPI_FIELDS(WTCPI_GET)
#undef WTCPI_GET
        return TCPINFO_UNAVAILABLE;
    }
    if (strncmp(name, "tcpi_", 5))
        return TCPINFO_NOT_A_FIELD;
    const char *f = name + 5;
    uint32_t mss = in->snd_mss ? in->snd_mss : 1;
    if (!strcmp(f, "state")) {
        *v = linux_state(in->state);
    } else if (!strcmp(f, "ca_state")) {
        if (linux_ca_state(in->ca_state, v) < 0)
            return TCPINFO_BAD_VALUE;
    } else if (!strcmp(f, "retransmits") || !strcmp(f, "backoff")) {
        *v = in->backoff;
    } else if (!strcmp(f, "options")) {
        *v = (in->ts_ok ? L_OPT_TIMESTAMPS : 0) | (in->sack_ok ? L_OPT_SACK : 0) |
             (in->snd_wscale || in->rcv_wscale ? L_OPT_WSCALE : 0);
    } else if (!strcmp(f, "snd_wscale")) {
        *v = in->snd_wscale;
    } else if (!strcmp(f, "rcv_wscale")) {
        *v = in->rcv_wscale;
    } else if (!strcmp(f, "rto")) {
        /* Linux's icsk_rto is the backed-off timeout, at most TCP_RTO_MAX (120 s);
         * wtcp_info keeps the base and the exponent apart. */
        uint64_t rto = (uint64_t)in->rto_ms << (in->backoff < 20 ? in->backoff : 20);
        *v = (int64_t)(rto > 120000 ? 120000 : rto) * 1000;
    } else if (!strcmp(f, "snd_mss")) {
        *v = in->snd_mss;
    } else if (!strcmp(f, "rcv_mss")) {
        *v = in->rcv_mss;
    } else if (!strcmp(f, "unacked")) {
        *v = (in->unacked + mss - 1) / mss;
    } else if (!strcmp(f, "lost")) {
        *v = in->lost;
    } else if (!strcmp(f, "rtt")) {
        *v = (int64_t)in->srtt_ms * 1000;
    } else if (!strcmp(f, "rttvar")) {
        *v = (int64_t)in->rttvar_ms * 1000;
    } else if (!strcmp(f, "snd_ssthresh")) {
        *v = in->ssthresh >= UINT32_MAX / 2 ? L_INFINITE_SSTHRESH : in->ssthresh / mss;
    } else if (!strcmp(f, "snd_cwnd")) {
        *v = in->cwnd / mss;
    } else if (!strcmp(f, "reordering")) {
        *v = in->reordering > 3 ? in->reordering : 3;
    } else if (!strcmp(f, "total_retrans")) {
        *v = in->retransmits;
    } else if (!strcmp(f, "bytes_sent")) {
        *v = (int64_t)in->bytes_sent;
    } else if (!strcmp(f, "bytes_acked")) {
        *v = (int64_t)in->bytes_acked;
    } else if (!strcmp(f, "bytes_received")) {
        *v = (int64_t)in->bytes_received;
    } else if (!strcmp(f, "segs_out")) {
        *v = (int64_t)in->segs_out;
    } else if (!strcmp(f, "segs_in")) {
        *v = (int64_t)in->segs_in;
    } else if (!strcmp(f, "snd_wnd")) {
        *v = in->snd_wnd;
    } else if (!strcmp(f, "rcv_wnd")) {
        *v = in->rcv_wnd;
    } else {
        return TCPINFO_UNAVAILABLE;
    }
    return 0;
}

const char *tcpinfo_error(const char *name, int rc, char *buf, size_t n)
{
    if (rc == TCPINFO_BAD_VALUE)
        snprintf(buf, n, "%s: wtcp reports a value with no Linux equivalent", name);
    else if (rc == TCPINFO_UNAVAILABLE)
        snprintf(buf, n, "%s: not available in wtcp", name);
    else
        snprintf(buf, n, "%s: not a TCP_INFO field", name);
    return buf;
}
