/* netdb.c: getaddrinfo, getnameinfo, gethostbyname/addr, getservbyname/port for the wtcp POSIX layer (RFC 3493): numeric hosts, a hosts table (RFC 952/1123), a DNS stub resolver over UDP (RFC 1034/1035); IPv4 only. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1 /* getentropy, strcasecmp, clock_gettime */
#endif
#include <netdb.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * Choices (for docs/POSIX.md):
 * - Order: a numeric host (inet_aton forms), `localhost` (always 127.0.0.1), the hosts
 *   table, then DNS. No search list, no `ndots`: a name is looked up as given (one trailing
 *   dot allowed). Names over 253 bytes, empty labels or labels over 63 bytes: EAI_NONAME.
 * - Hosts table: the file $WTCP_HOSTS when set and non-empty (and nothing else, even if it
 *   cannot be opened), else /etc/hosts if it opens. Dotted-quad lines only (IPv6 lines and
 *   bad addresses skipped), `#` comments, aliases, names case-insensitive, lines over
 *   1022 bytes skipped. Every matching line counts; the first one's official name is the
 *   canonical name.
 * - DNS: $WTCP_DNS, up to 3 comma-separated `ADDR` or `ADDR:PORT` (53); bad entries are
 *   ignored. A queries with RD, a random ID (getentropy) and the stack's ephemeral source
 *   port (one socket per lookup). DNS_TRIES rounds over the servers, each waiting a fixed
 *   $WTCP_DNS_TIMEOUT ms (default 2000, 1..600000; no doubling). A reply must come from a
 *   server's address and port, carry the ID, QR, opcode 0 and our one question (case-
 *   insensitive); anything else, or malformed (counts beyond the datagram, bad labels,
 *   compression pointers that do not point backwards, over 64 jumps or 255 bytes), is
 *   dropped and the wait goes on. CNAME chains are followed within the reply (8 hops);
 *   every A record of the final name is taken (up to MAX_ADDRS). TC: the complete answers
 *   present are used, no TCP fallback; a TC reply without a usable answer counts as SERVFAIL.
 * - gethostbyname/gethostbyaddr: the same lookups, one static result; h_errno
 *   HOST_NOT_FOUND (EAI_NONAME), TRY_AGAIN (EAI_AGAIN), NO_DATA (EAI_NODATA), NO_RECOVERY
 *   (the rest; gethostbyaddr with a type other than AF_INET or a length other than 4).
 * - Errors: NXDOMAIN EAI_NONAME; no A record (NOERROR/NODATA) EAI_NODATA; SERVFAIL or no
 *   reply within all tries EAI_AGAIN; FORMERR/NOTIMP/REFUSED/other EAI_FAIL (the next server
 *   is tried on these); no DNS configured ($WTCP_DNS unset or empty) EAI_AGAIN, as glibc
 *   says when no nameserver is reachable; socket() failing EAI_SYSTEM.
 * - getaddrinfo: AF_UNSPEC and AF_INET; any other family (AF_INET6 included: the stack has
 *   no IPv6) EAI_FAMILY; an IPv6 literal as node EAI_ADDRFAMILY (as glibc with AF_INET).
 *   AI_ADDRCONFIG, AI_V4MAPPED and AI_ALL are accepted and change nothing (IPv4 only).
 *   Socktype 0 gives SOCK_STREAM/IPPROTO_TCP then SOCK_DGRAM/IPPROTO_UDP per address, as
 *   far as the service exists for that protocol; other socktypes, other protocols, or a
 *   protocol that does not fit the socktype: EAI_SOCKTYPE. Numeric service over 65535 or
 *   unknown name: EAI_SERVICE; a name with AI_NUMERICSERV: EAI_NONAME.
 * - getnameinfo: the hosts table, `localhost` for 127.0.0.1, then PTR over DNS. No name:
 *   the numeric form; with NI_NAMEREQD EAI_NONAME (NXDOMAIN, no PTR), or DNS's failure
 *   (EAI_AGAIN: SERVFAIL, timeout, no DNS configured; EAI_FAIL: REFUSED and the like).
 *   NI_NOFQDN cuts the name at its first dot. Names from DNS keep letters, digits, `-` and
 *   `_`; other bytes become `?`.
 */

enum {
    MAX_ADDRS = 16,  /* addresses kept for one name */
    NAME_MAX_ = 256, /* a name as text or wire form, with its NUL (RFC 1035 2.3.4: 255) */
    LINE_MAX_ = 1024,
    LINE_NAMES = 16, /* names read from one hosts line */
    DNS_TRIES = 3,
    DNS_SERVERS = 3,
    DNS_HOPS = 8,    /* CNAMEs followed */
    DNS_RRS = 64,    /* answer records examined */
    DNS_UDP = 1500,  /* receive buffer (replies without EDNS are at most 512) */
    T_A = 1, T_CNAME = 5, T_PTR = 12,
    DROP = 1,        /* dns_reply: not a reply to the query (EAI codes are negative) */
    P_TCP = 1, P_UDP = 2,
};

int h_errno;

struct host { /* a lookup's result */
    int n;
    uint32_t addr[MAX_ADDRS]; /* network order */
    char name[NAME_MAX_];     /* canonical name (forward) or the name found (reverse) */
};

static void name_copy(char *dst, const char *src)
{
    size_t n = strlen(src);
    if (n >= NAME_MAX_)
        n = NAME_MAX_ - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void host_add(struct host *h, uint32_t a)
{
    for (int i = 0; i < h->n; i++)
        if (h->addr[i] == a)
            return;
    if (h->n < MAX_ADDRS)
        h->addr[h->n++] = a;
}

/* ---- services and protocols ---- */

static const struct service {
    const char *name;
    unsigned short port;
    unsigned char protos;
} services[] = {
    {"echo", 7, P_TCP | P_UDP},     {"discard", 9, P_TCP | P_UDP}, {"daytime", 13, P_TCP | P_UDP},
    {"ftp-data", 20, P_TCP},        {"ftp", 21, P_TCP},            {"ssh", 22, P_TCP},
    {"telnet", 23, P_TCP},          {"smtp", 25, P_TCP},           {"time", 37, P_TCP | P_UDP},
    {"whois", 43, P_TCP},           {"domain", 53, P_TCP | P_UDP}, {"bootps", 67, P_UDP},
    {"bootpc", 68, P_UDP},          {"tftp", 69, P_UDP},           {"gopher", 70, P_TCP},
    {"finger", 79, P_TCP},          {"http", 80, P_TCP},           {"pop3", 110, P_TCP},
    {"sunrpc", 111, P_TCP | P_UDP}, {"ident", 113, P_TCP},         {"nntp", 119, P_TCP},
    {"ntp", 123, P_UDP},            {"imap", 143, P_TCP},          {"snmp", 161, P_UDP},
    {"ldap", 389, P_TCP | P_UDP},   {"https", 443, P_TCP | P_UDP}, {"syslog", 514, P_UDP},
    {"submission", 587, P_TCP},     {"ldaps", 636, P_TCP},         {"rsync", 873, P_TCP},
    {"imaps", 993, P_TCP},          {"pop3s", 995, P_TCP},         {"socks", 1080, P_TCP},
    {"openvpn", 1194, P_TCP | P_UDP}, {"mqtt", 1883, P_TCP},       {"mysql", 3306, P_TCP},
    {"postgresql", 5432, P_TCP},    {"x11", 6000, P_TCP},          {"redis", 6379, P_TCP},
    {"http-alt", 8080, P_TCP},
};

static const struct { const char *alias, *name; } service_aliases[] = {
    {"www", "http"}, {"nameserver", "domain"}, {"postgres", "postgresql"}};

static const char *service_alias(const char *name, int to_alias)
{
    for (size_t i = 0; i < sizeof service_aliases / sizeof *service_aliases; i++)
        if (!strcmp(to_alias ? service_aliases[i].name : service_aliases[i].alias, name))
            return to_alias ? service_aliases[i].alias : service_aliases[i].name;
    return to_alias ? NULL : name;
}

static unsigned proto_bit(const char *proto)
{
    return !proto ? P_TCP | P_UDP : !strcmp(proto, "tcp") ? P_TCP : !strcmp(proto, "udp") ? P_UDP : 0;
}

static const struct service *service_by_name(const char *name, unsigned protos)
{
    for (size_t i = 0; i < sizeof services / sizeof *services; i++)
        if ((services[i].protos & protos) && !strcmp(services[i].name, service_alias(name, 0)))
            return &services[i];
    return NULL;
}

static const struct service *service_by_port(unsigned port, unsigned protos)
{
    for (size_t i = 0; i < sizeof services / sizeof *services; i++)
        if ((services[i].protos & protos) && services[i].port == port)
            return &services[i];
    return NULL;
}

/* A service for getaddrinfo: its port (host order) and protocols, or an EAI code. */
static int service_parse(const char *serv, int flags, unsigned *port, unsigned *protos)
{
    *port = 0, *protos = P_TCP | P_UDP;
    if (!serv)
        return 0;
    if (serv[strspn(serv, "0123456789")] == '\0') { /* "" is port 0, as glibc */
        unsigned long v = 0;
        for (const char *s = serv; *s; s++)
            if ((v = v * 10 + (unsigned long)(*s - '0')) > 65535)
                return EAI_SERVICE;
        *port = (unsigned)v;
        return 0;
    }
    if (flags & AI_NUMERICSERV)
        return EAI_NONAME;
    const struct service *s = service_by_name(serv, P_TCP | P_UDP);
    if (!s)
        return EAI_SERVICE;
    *port = s->port, *protos = s->protos;
    return 0;
}

/* ---- host names ---- */

/* A host name as looked up: without one trailing dot, at most 253 bytes, labels of 1 to 63
 * bytes. 0 if it is not a name. */
static int name_check(const char *in, char out[NAME_MAX_])
{
    size_t n = strnlen(in, NAME_MAX_);
    if (n && in[n - 1] == '.')
        n--;
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0, label = 0; i <= n; i++, label++) {
        if (i == n || in[i] == '.') {
            if (label == 0 || label > 63)
                return 0;
            label = (size_t)-1;
        }
    }
    memcpy(out, in, n);
    out[n] = '\0';
    return 1;
}

/* A numeric host in the inet_aton forms (a, a.b, a.b.c, a.b.c.d; octal, hex), strictly:
 * only those characters, so that no libc leniency (spaces, signs) gets through. */
static int numeric_host(const char *s, uint32_t *a)
{
    struct in_addr in;
    if (!*s || s[strspn(s, "0123456789abcdefABCDEFxX.")] || !inet_aton(s, &in))
        return 0;
    *a = in.s_addr;
    return 1;
}

static int is_localhost(const char *name)
{
    return !strcasecmp(name, "localhost");
}

/* ---- the hosts table ---- */

static FILE *hosts_open(void)
{
    const char *p = getenv("WTCP_HOSTS");
    int saved = errno; /* a missing hosts file is no error of the caller's */
    FILE *f = fopen(p && *p ? p : "/etc/hosts", "r");
    errno = saved;
    return f;
}

static char *token(char **p)
{
    char *s = *p + strspn(*p, " \t\r\n\v\f");
    if (!*s)
        return NULL;
    char *e = s + strcspn(s, " \t\r\n\v\f");
    if (*e)
        *e++ = '\0';
    *p = e;
    return s;
}

/* The next usable hosts line: its address and names (the official name first); their
 * number, or 0 at the end of the file. */
static int hosts_line(FILE *f, char line[LINE_MAX_], uint32_t *addr, char *names[LINE_NAMES])
{
    while (fgets(line, LINE_MAX_, f)) {
        size_t len = strlen(line);
        if (len == LINE_MAX_ - 1 && line[len - 1] != '\n') { /* too long: skip the line */
            int c;
            while ((c = getc(f)) != EOF && c != '\n')
                ;
            continue;
        }
        line[strcspn(line, "#")] = '\0';
        char *p = line, *a = token(&p), *name;
        struct in_addr in;
        int n = 0;
        if (!a || inet_pton(AF_INET, a, &in) != 1)
            continue; /* empty, IPv6 or not an address */
        while (n < LINE_NAMES && (name = token(&p)))
            names[n++] = name;
        if (n) {
            *addr = in.s_addr;
            return n;
        }
    }
    return 0;
}

/* hosts_forward: every address of a name in the hosts table; the canonical name of the
 * first line. */
static int hosts_forward(const char *name, struct host *h)
{
    FILE *f = hosts_open();
    char line[LINE_MAX_], *names[LINE_NAMES];
    uint32_t a;
    int n;
    if (!f)
        return 0;
    while ((n = hosts_line(f, line, &a, names)))
        for (int i = 0; i < n; i++)
            if (!strcasecmp(names[i], name)) {
                if (!h->n)
                    name_copy(h->name, names[0]);
                host_add(h, a);
                break;
            }
    fclose(f);
    return h->n;
}

/* hosts_reverse: the official name of the first line with the address. */
static int hosts_reverse(uint32_t a, char name[NAME_MAX_])
{
    FILE *f = hosts_open();
    char line[LINE_MAX_], *names[LINE_NAMES];
    uint32_t la;
    int found = 0;
    if (!f)
        return 0;
    while (!found && hosts_line(f, line, &la, names))
        if (la == a) {
            name_copy(name, names[0]);
            found = 1;
        }
    fclose(f);
    return found;
}

/* ---- DNS ---- */

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The servers of $WTCP_DNS ("ADDR[:PORT],..."); their number. */
static int dns_servers(struct sockaddr_in ns[DNS_SERVERS])
{
    const char *s = getenv("WTCP_DNS");
    int n = 0;
    while (s && *s && n < DNS_SERVERS) {
        size_t len = strcspn(s, ",");
        char item[64], *colon;
        unsigned long port = 53;
        struct in_addr in;
        if (len < sizeof item) {
            memcpy(item, s, len);
            item[len] = '\0';
            char *p = item, *t = token(&p); /* trims blanks */
            int ok = t && !token(&p);
            if (ok && (colon = strchr(t, ':'))) {
                *colon++ = '\0';
                char *end;
                port = strtoul(colon, &end, 10);
                ok = *colon >= '0' && *colon <= '9' && !*end && port && port <= 65535;
            }
            if (ok && inet_pton(AF_INET, t, &in) == 1) {
                memset(&ns[n], 0, sizeof ns[n]);
                ns[n].sin_family = AF_INET;
                ns[n].sin_port = htons((unsigned short)port);
                ns[n].sin_addr = in;
                n++;
            }
        }
        s += len + (s[len] == ',');
    }
    return n;
}

static int dns_timeout(void)
{
    const char *s = getenv("WTCP_DNS_TIMEOUT");
    char *end = NULL;
    long v = 0;
    if (s && *s >= '0' && *s <= '9' && (v = strtol(s, &end, 10)) >= 1 && v <= 600000 && !*end)
        return (int)v;
    return 2000;
}

static unsigned lower(unsigned c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Two uncompressed wire names equal, ASCII case-insensitively (RFC 1035 2.3.3). */
static int wire_eq(const unsigned char *a, const unsigned char *b)
{
    for (;;) {
        unsigned len = *a;
        if (*a++ != *b++)
            return 0;
        if (!len)
            return 1;
        for (; len; len--)
            if (lower(*a++) != lower(*b++))
                return 0;
    }
}

/* A wire name as text: labels joined by dots; bytes other than letters, digits, '-' and
 * '_' become '?'. */
static void wire_text(const unsigned char *w, char out[NAME_MAX_])
{
    char *o = out;
    for (unsigned len; (len = *w++); *o++ = '.')
        for (; len; len--, w++) {
            unsigned c = *w;
            int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_';
            *o++ = keep ? (char)c : '?';
        }
    if (o > out)
        o--;
    *o = '\0';
}

/* name_read: the (maybe compressed) name at *off into its uncompressed wire form, *off
 * past it. 0 if malformed: beyond the datagram, a label type other than 0, a pointer that
 * does not point before itself, over 64 jumps, or over 255 bytes (so no loop runs on). */
static int name_read(const unsigned char *p, size_t n, size_t *off, unsigned char out[NAME_MAX_])
{
    size_t pos = *off, len = 0, end = 0;
    for (int jumps = 0;;) {
        if (pos >= n)
            return 0;
        unsigned c = p[pos];
        if ((c & 0xc0) == 0xc0) {
            if (pos + 1 >= n || ++jumps > 64)
                return 0;
            size_t to = (size_t)(c & 0x3f) << 8 | p[pos + 1];
            if (to >= pos)
                return 0;
            if (!end)
                end = pos + 2;
            pos = to;
            continue;
        }
        if ((c & 0xc0) || pos + 1 + c > n || len + 1 + c > 255)
            return 0;
        memcpy(out + len, p + pos, 1 + c);
        len += 1 + c;
        pos += 1 + c;
        if (!c)
            break;
    }
    *off = end ? end : pos;
    return 1;
}

static unsigned get16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* The query for a checked name: header (ID from getentropy, RD), the question; its
 * length, or 0 without entropy. */
static size_t dns_query(const char *name, unsigned qtype, unsigned char q[12 + NAME_MAX_ + 4])
{
    size_t len = 12;
    memset(q, 0, 12);
    if (getentropy(q, 2))
        return 0;
    q[2] = 0x01; /* RD */
    q[5] = 1;    /* QDCOUNT */
    for (const char *s = name; *s;) {
        size_t l = strcspn(s, ".");
        q[len++] = (unsigned char)l;
        memcpy(q + len, s, l);
        len += l;
        s += l + (s[l] == '.');
    }
    q[len++] = 0;
    q[len++] = 0, q[len++] = (unsigned char)qtype;
    q[len++] = 0, q[len++] = 1; /* IN */
    return len;
}

/* dns_reply: what a datagram says about the query q: 0 with the answer in h, an EAI code,
 * or DROP if it is not a well-formed reply to q. */
static int dns_reply(const unsigned char *p, size_t n, const unsigned char *q, size_t qlen,
                     unsigned qtype, struct host *h)
{
    unsigned char name[NAME_MAX_], target[NAME_MAX_];
    struct { unsigned type, len; size_t owner, data; } rr[DNS_RRS];
    size_t off = 12;
    unsigned an, i, k = 0;
    if (n < 12 || memcmp(p, q, 2) || !(p[2] & 0x80) || (p[2] & 0x78) || get16(p + 4) != 1)
        return DROP; /* another ID, not a response, another opcode, not one question */
    if (!name_read(p, n, &off, name) || off + 4 > n || !wire_eq(name, q + 12) ||
        memcmp(p + off, q + qlen - 4, 4))
        return DROP; /* another question */
    off += 4;
    int tc = p[2] & 0x02, rcode = p[3] & 0x0f;
    if (rcode == 3)
        return EAI_NONAME;
    if (rcode == 2)
        return EAI_AGAIN;
    if (rcode)
        return EAI_FAIL;
    an = get16(p + 6);
    for (i = 0; i < an; i++) {
        size_t owner = off;
        if (!name_read(p, n, &off, name) || off + 10 > n || off + 10 + get16(p + off + 8) > n)
            break;
        if (get16(p + off + 2) == 1 && k < DNS_RRS) { /* class IN */
            rr[k].type = get16(p + off);
            rr[k].len = get16(p + off + 8);
            rr[k].owner = owner;
            rr[k++].data = off + 10;
        }
        off += 10 + get16(p + off + 8);
    }
    if (i < an && !tc)
        return DROP; /* cut short without TC: malformed */
    memcpy(target, q + 12, qlen - 16);
    for (int hop = 0, again = 1; again && hop < DNS_HOPS; hop++) { /* the CNAME chain */
        again = 0;
        for (i = 0; i < k && !again; i++) {
            size_t o = rr[i].owner, d = rr[i].data;
            if (rr[i].type == T_CNAME && name_read(p, n, &o, name) && wire_eq(name, target) &&
                name_read(p, n, &d, name) && d <= rr[i].data + rr[i].len)
                memcpy(target, name, sizeof name), again = 1;
        }
    }
    h->n = 0;
    for (i = 0; i < k; i++) {
        size_t o = rr[i].owner, d = rr[i].data;
        if (rr[i].type != qtype || !name_read(p, n, &o, name) || !wire_eq(name, target))
            continue;
        if (qtype == T_A && rr[i].len == 4) {
            uint32_t a;
            memcpy(&a, p + d, 4);
            host_add(h, a);
        } else if (qtype == T_PTR && name_read(p, n, &d, name) && d <= rr[i].data + rr[i].len) {
            wire_text(name, h->name);
            h->n = 1;
            return 0;
        }
    }
    if (h->n) {
        wire_text(target, h->name);
        return 0;
    }
    return tc ? EAI_AGAIN : EAI_NODATA;
}

static int from_server(const struct sockaddr_in *from, socklen_t len,
                       const struct sockaddr_in *ns, int nns)
{
    if (len < sizeof *from || from->sin_family != AF_INET)
        return 0;
    for (int i = 0; i < nns; i++)
        if (from->sin_addr.s_addr == ns[i].sin_addr.s_addr && from->sin_port == ns[i].sin_port)
            return 1;
    return 0;
}

/* dns_lookup: one question (A or PTR) for a checked name, DNS_TRIES rounds over the servers. */
static int dns_lookup(const char *name, unsigned qtype, struct host *h)
{
    struct sockaddr_in ns[DNS_SERVERS];
    unsigned char q[12 + NAME_MAX_ + 4], buf[DNS_UDP];
    int nns = dns_servers(ns), err = EAI_AGAIN, timeout = dns_timeout(), fd;
    size_t qlen;
    if (!nns)
        return EAI_AGAIN; /* no DNS configured */
    if (!(qlen = dns_query(name, qtype, q)) || (fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
        return EAI_SYSTEM;
    for (int t = 0; t < DNS_TRIES * nns; t++) {
        const struct sockaddr_in *to = &ns[t % nns];
        if (sendto(fd, q, qlen, 0, (const struct sockaddr *)to, sizeof *to) != (ssize_t)qlen)
            continue;
        for (long long deadline = now_ms() + timeout, left; (left = deadline - now_ms()) > 0;) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int r = poll(&pfd, 1, (int)left);
            if (r < 0 && errno != EINTR)
                break;
            if (r <= 0)
                continue;
            struct sockaddr_in from;
            socklen_t flen = sizeof from;
            ssize_t got = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
            if (got < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
                break;
            if (got < 0 || !from_server(&from, flen, ns, nns))
                continue;
            int rc = dns_reply(buf, (size_t)got, q, qlen, qtype, h);
            if (rc == 0 || rc == EAI_NONAME || rc == EAI_NODATA) {
                close(fd);
                return rc;
            }
            if (rc == DROP)
                continue; /* wait on */
            err = rc;     /* SERVFAIL and the like: the next server */
            break;
        }
    }
    close(fd);
    return err;
}

/* ---- lookups shared by the API ---- */

/* host_forward: a node's addresses: numeric, localhost, hosts table, DNS. */
static int host_forward(const char *node, int flags, struct host *h)
{
    char name[NAME_MAX_];
    struct in6_addr a6;
    h->n = 0;
    h->name[0] = '\0';
    if (numeric_host(node, &h->addr[0])) {
        h->n = 1;
        name_copy(h->name, node);
        return 0;
    }
    if (inet_pton(AF_INET6, node, &a6) == 1)
        return EAI_ADDRFAMILY;
    if ((flags & AI_NUMERICHOST) || !name_check(node, name))
        return EAI_NONAME;
    if (is_localhost(name)) {
        h->n = 1;
        h->addr[0] = htonl(INADDR_LOOPBACK);
        strcpy(h->name, "localhost");
        return 0;
    }
    if (hosts_forward(name, h))
        return 0;
    return dns_lookup(name, T_A, h);
}

/* host_reverse: the name of an address: hosts table, localhost, PTR. 0, EAI_NONAME, or a
 * transient EAI_AGAIN/EAI_FAIL/EAI_SYSTEM. */
static int host_reverse(uint32_t a, char name[NAME_MAX_])
{
    const unsigned char *b = (const unsigned char *)&a;
    char ptr[32];
    struct host h;
    if (hosts_reverse(a, name))
        return 0;
    if (a == htonl(INADDR_LOOPBACK)) {
        strcpy(name, "localhost");
        return 0;
    }
    snprintf(ptr, sizeof ptr, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
    int rc = dns_lookup(ptr, T_PTR, &h);
    if (rc == 0 && h.name[0]) {
        name_copy(name, h.name);
        return 0;
    }
    return rc == 0 || rc == EAI_NODATA ? EAI_NONAME : rc;
}

/* ---- getaddrinfo ---- */

struct ai_block {
    struct addrinfo ai;
    struct sockaddr_in sin;
    char canon[];
};

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    static const struct { int socktype, protocol; unsigned proto; } kinds[] = {
        {SOCK_STREAM, IPPROTO_TCP, P_TCP}, {SOCK_DGRAM, IPPROTO_UDP, P_UDP}};
    const int known = AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_NUMERICSERV |
                      AI_ADDRCONFIG | AI_V4MAPPED | AI_ALL;
    struct addrinfo hi = {0}, *head = NULL, **tail = &head;
    struct host h;
    unsigned port, protos, want = 0;
    int rc;
    if (!res) {
        errno = EINVAL;
        return EAI_SYSTEM;
    }
    *res = NULL;
    if (hints)
        hi = *hints;
    if ((hi.ai_flags & ~known) || ((hi.ai_flags & AI_CANONNAME) && !node))
        return EAI_BADFLAGS;
    if (!node && !service)
        return EAI_NONAME;
    if (hi.ai_family != AF_UNSPEC && hi.ai_family != AF_INET)
        return EAI_FAMILY;
    for (size_t k = 0; k < 2; k++)
        if ((!hi.ai_socktype || hi.ai_socktype == kinds[k].socktype) &&
            (!hi.ai_protocol || hi.ai_protocol == kinds[k].protocol))
            want |= kinds[k].proto;
    if (!want)
        return EAI_SOCKTYPE;
    if ((rc = service_parse(service, hi.ai_flags, &port, &protos)))
        return rc;
    if (!(want &= protos))
        return EAI_SERVICE;
    if (node) {
        if ((rc = host_forward(node, hi.ai_flags, &h)))
            return rc;
    } else {
        h.n = 1;
        h.addr[0] = htonl(hi.ai_flags & AI_PASSIVE ? INADDR_ANY : INADDR_LOOPBACK);
        h.name[0] = '\0';
    }
    for (int i = 0; i < h.n; i++)
        for (size_t k = 0; k < 2; k++) {
            if (!(want & kinds[k].proto))
                continue;
            size_t canon = head == NULL && (hi.ai_flags & AI_CANONNAME) ? strlen(h.name) + 1 : 0;
            struct ai_block *b = calloc(1, sizeof *b + canon);
            if (!b) {
                freeaddrinfo(head);
                return EAI_MEMORY;
            }
            b->sin.sin_family = AF_INET;
            b->sin.sin_port = htons((unsigned short)port);
            b->sin.sin_addr.s_addr = h.addr[i];
            b->ai.ai_family = AF_INET;
            b->ai.ai_socktype = kinds[k].socktype;
            b->ai.ai_protocol = kinds[k].protocol;
            b->ai.ai_addrlen = sizeof b->sin;
            b->ai.ai_addr = (struct sockaddr *)&b->sin;
            if (canon)
                b->ai.ai_canonname = memcpy(b->canon, h.name, canon);
            *tail = &b->ai;
            tail = &b->ai.ai_next;
        }
    *res = head;
    return 0;
}

/* freeaddrinfo: each entry is one block (the address and canonical name inside). */
void freeaddrinfo(struct addrinfo *ai)
{
    while (ai) {
        struct addrinfo *next = ai->ai_next;
        free(ai);
        ai = next;
    }
}

const char *gai_strerror(int code)
{
    switch (code) {
    case 0: return "Success";
    case EAI_BADFLAGS: return "Bad value for ai_flags";
    case EAI_NONAME: return "Name or service not known";
    case EAI_AGAIN: return "Temporary failure in name resolution";
    case EAI_FAIL: return "Non-recoverable failure in name resolution";
    case EAI_NODATA: return "No address associated with hostname";
    case EAI_FAMILY: return "ai_family not supported";
    case EAI_SOCKTYPE: return "ai_socktype not supported";
    case EAI_SERVICE: return "Servname not supported for ai_socktype";
    case EAI_ADDRFAMILY: return "Address family for hostname not supported";
    case EAI_MEMORY: return "Memory allocation failure";
    case EAI_SYSTEM: return "System error";
    case EAI_OVERFLOW: return "Argument buffer overflow";
    default: return "Unknown error";
    }
}

/* ---- getnameinfo ---- */

int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen,
                char *serv, socklen_t servlen, int flags)
{
    const int known = NI_NUMERICHOST | NI_NUMERICSERV | NI_NOFQDN | NI_NAMEREQD | NI_DGRAM;
    struct sockaddr_in sin;
    char name[NAME_MAX_];
    if (flags & ~known)
        return EAI_BADFLAGS;
    if (!sa || salen < sizeof sin || sa->sa_family != AF_INET)
        return EAI_FAMILY;
    memcpy(&sin, sa, sizeof sin);
    if (!host)
        hostlen = 0;
    if (!serv)
        servlen = 0;
    if (!hostlen && !servlen)
        return EAI_NONAME;
    if (hostlen) {
        int rc = flags & NI_NUMERICHOST ? EAI_NONAME : host_reverse(sin.sin_addr.s_addr, name);
        if (rc == 0 && (flags & NI_NOFQDN))
            name[strcspn(name, ".")] = '\0';
        if (rc && (flags & NI_NAMEREQD))
            return rc;
        if (rc)
            inet_ntop(AF_INET, &sin.sin_addr, name, sizeof name);
        if (strlen(name) >= hostlen)
            return EAI_OVERFLOW;
        strcpy(host, name);
    }
    if (servlen) {
        unsigned port = ntohs(sin.sin_port);
        const struct service *s =
            flags & NI_NUMERICSERV ? NULL : service_by_port(port, flags & NI_DGRAM ? P_UDP : P_TCP);
        int len = s ? snprintf(serv, servlen, "%s", s->name) : snprintf(serv, servlen, "%u", port);
        if (len < 0 || (socklen_t)len >= servlen)
            return EAI_OVERFLOW;
    }
    return 0;
}

/* ---- gethostbyname, gethostbyaddr (one static result, as glibc's) ---- */

static struct {
    struct hostent h;
    char name[NAME_MAX_];
    char *aliases[1];
    char *list[MAX_ADDRS + 1];
    struct in_addr addr[MAX_ADDRS];
} hostent_buf;

static struct hostent *hostent_fill(const struct host *h, int rc)
{
    if (rc) {
        h_errno = rc == EAI_NONAME || rc == EAI_ADDRFAMILY ? HOST_NOT_FOUND
                  : rc == EAI_AGAIN                        ? TRY_AGAIN
                  : rc == EAI_NODATA                       ? NO_DATA
                                                           : NO_RECOVERY;
        return NULL;
    }
    memset(&hostent_buf, 0, sizeof hostent_buf);
    name_copy(hostent_buf.name, h->name);
    for (int i = 0; i < h->n; i++) {
        hostent_buf.addr[i].s_addr = h->addr[i];
        hostent_buf.list[i] = (char *)&hostent_buf.addr[i];
    }
    hostent_buf.h.h_name = hostent_buf.name;
    hostent_buf.h.h_aliases = hostent_buf.aliases;
    hostent_buf.h.h_addrtype = AF_INET;
    hostent_buf.h.h_length = 4;
    hostent_buf.h.h_addr_list = hostent_buf.list;
    h_errno = NETDB_SUCCESS;
    return &hostent_buf.h;
}

struct hostent *gethostbyname(const char *name)
{
    struct host h;
    return hostent_fill(&h, name ? host_forward(name, 0, &h) : EAI_NONAME);
}

struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
    struct host h = {0};
    if (!addr || type != AF_INET || len != 4)
        return hostent_fill(&h, EAI_FAIL);
    memcpy(&h.addr[0], addr, 4);
    h.n = 1;
    return hostent_fill(&h, host_reverse(h.addr[0], h.name));
}

/* ---- getservbyname, getservbyport, getprotobyname, getprotobynumber ---- */

static struct servent *servent_fill(const struct service *s, unsigned protos)
{
    static char name[16], alias[16], proto[4], *aliases[2];
    static struct servent se;
    if (!s)
        return NULL;
    snprintf(name, sizeof name, "%s", s->name);
    const char *a = service_alias(s->name, 1);
    snprintf(alias, sizeof alias, "%s", a ? a : "");
    aliases[0] = a ? alias : NULL;
    strcpy(proto, s->protos & protos & P_TCP ? "tcp" : "udp");
    se.s_name = name, se.s_aliases = aliases, se.s_port = htons(s->port), se.s_proto = proto;
    return &se;
}

struct servent *getservbyname(const char *name, const char *proto)
{
    unsigned p = proto_bit(proto);
    return name && p ? servent_fill(service_by_name(name, p), p) : NULL;
}

struct servent *getservbyport(int port, const char *proto)
{
    unsigned p = proto_bit(proto);
    return p ? servent_fill(service_by_port(ntohs((unsigned short)port), p), p) : NULL;
}

static const struct { const char *name; int proto; } protocols[] = {
    {"ip", 0}, {"icmp", 1}, {"tcp", 6}, {"udp", 17}};

static struct protoent *protoent_fill(size_t i)
{
    static char name[8], *aliases[1];
    static struct protoent pe;
    strcpy(name, protocols[i].name);
    pe.p_name = name, pe.p_aliases = aliases, pe.p_proto = protocols[i].proto;
    return &pe;
}

struct protoent *getprotobyname(const char *name)
{
    for (size_t i = 0; name && i < sizeof protocols / sizeof *protocols; i++)
        if (!strcmp(protocols[i].name, name))
            return protoent_fill(i);
    return NULL;
}

struct protoent *getprotobynumber(int proto)
{
    for (size_t i = 0; i < sizeof protocols / sizeof *protocols; i++)
        if (protocols[i].proto == proto)
            return protoent_fill(i);
    return NULL;
}

/* ---- hstrerror, herror ---- */

const char *hstrerror(int err)
{
    switch (err) {
    case NETDB_SUCCESS: return "Resolver Error 0 (no error)";
    case HOST_NOT_FOUND: return "Unknown host";
    case TRY_AGAIN: return "Host name lookup failure";
    case NO_RECOVERY: return "Unknown server error";
    case NO_DATA: return "No address associated with name";
    default: return "Unknown resolver error";
    }
}

void herror(const char *s)
{
    fprintf(stderr, "%s%s%s\n", s && *s ? s : "", s && *s ? ": " : "", hstrerror(h_errno));
}
