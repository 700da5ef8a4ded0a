/* netdb_check.c: the native checks of wasi/posix/netdb.c and inet.c (RFC 3493 getaddrinfo/getnameinfo, hosts RFC 952/1123, DNS RFC 1034/1035), run by tests/posix/netdb.sh against its DNS server. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;

static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf(ok ? "ok   " : "FAIL ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (ok)
        passed++;
    else
        failed++;
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* One getaddrinfo: "rc=N" or the entries as "ADDR:PORT/t" (stream, TCP) or "/u" (dgram,
 * UDP), space-separated; the first canonical name in canon. */
static const char *gai(const char *node, const char *serv, int flags, int family, int socktype,
                       int protocol, char canon[256])
{
    static char out[1024];
    struct addrinfo hints, *res, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = flags, hints.ai_family = family, hints.ai_socktype = socktype,
    hints.ai_protocol = protocol;
    int rc = getaddrinfo(node, serv, &hints, &res);
    if (canon)
        canon[0] = '\0';
    if (rc) {
        snprintf(out, sizeof out, "rc=%d", rc);
        return out;
    }
    out[0] = '\0';
    for (ai = res; ai; ai = ai->ai_next) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ai->ai_addr;
        char a[16];
        const char *kind = ai->ai_socktype == SOCK_STREAM && ai->ai_protocol == IPPROTO_TCP ? "t"
                           : ai->ai_socktype == SOCK_DGRAM && ai->ai_protocol == IPPROTO_UDP ? "u"
                                                                                             : "?";
        if (ai->ai_family != AF_INET || ai->ai_addrlen != sizeof *sin || sin->sin_family != AF_INET)
            kind = "badfamily";
        if (ai != res && ai->ai_canonname)
            kind = "canon-not-first";
        inet_ntop(AF_INET, &sin->sin_addr, a, sizeof a);
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s:%u/%s", out[0] ? " " : "", a,
                 ntohs(sin->sin_port), kind);
    }
    if (canon && res->ai_canonname)
        snprintf(canon, 256, "%s", res->ai_canonname);
    freeaddrinfo(res);
    return out;
}

static void gai_is(const char *node, const char *serv, int flags, int family, int socktype,
                   int protocol, const char *want)
{
    const char *got = gai(node, serv, flags, family, socktype, protocol, NULL);
    check(!strcmp(got, want), "getaddrinfo(%s, %s, flags %#x family %d socktype %d protocol %d): %s%s%s",
          node ? node : "NULL", serv ? serv : "NULL", flags, family, socktype, protocol, got,
          strcmp(got, want) ? ", want " : "", strcmp(got, want) ? want : "");
}

/* A host's addresses, port 0, stream entries only. */
static void host_is(const char *node, const char *want)
{
    const char *got = gai(node, NULL, 0, AF_UNSPEC, SOCK_STREAM, 0, NULL);
    char w[1024] = "";
    if (!strncmp(want, "rc=", 3))
        snprintf(w, sizeof w, "%s", want);
    else
        for (const char *p = want; *p;) {
            size_t n = strcspn(p, " ");
            snprintf(w + strlen(w), sizeof w - strlen(w), "%s%.*s:0/t", w[0] ? " " : "", (int)n, p);
            p += n + (p[n] == ' ');
        }
    check(!strcmp(got, w), "host %s: %s%s%s", node, got, strcmp(got, w) ? ", want " : "",
          strcmp(got, w) ? w : "");
}

static void canon_is(const char *node, const char *want)
{
    char canon[256];
    gai(node, NULL, AI_CANONNAME, AF_INET, SOCK_STREAM, 0, canon);
    check(!strcmp(canon, want), "canonical name of %s: '%s' (want '%s')", node, canon, want);
}

/* How many queries the test server saw for a name (its count.NAME answer). */
static int queries(const char *name)
{
    char q[300];
    struct addrinfo hints, *res;
    int n = -1;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    snprintf(q, sizeof q, "count.%s", name);
    if (!getaddrinfo(q, NULL, &hints, &res)) {
        n = (int)ntohl(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr);
        freeaddrinfo(res);
    }
    return n;
}

static int gni(const char *addr, unsigned port, int family, socklen_t salen, char *host,
               socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = (sa_family_t)family;
    sin.sin_port = htons((unsigned short)port);
    inet_pton(AF_INET, addr, &sin.sin_addr);
    if (host && hostlen)
        host[0] = '\0';
    if (serv && servlen)
        serv[0] = '\0';
    return getnameinfo((struct sockaddr *)&sin, salen, host, hostlen, serv, servlen, flags);
}

static void gni_is(const char *addr, unsigned port, int flags, int want_rc, const char *want_host,
                   const char *want_serv)
{
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    int rc = gni(addr, port, AF_INET, sizeof(struct sockaddr_in), host, sizeof host, serv,
                 sizeof serv, flags);
    int ok = rc == want_rc && (rc || (!strcmp(host, want_host) && !strcmp(serv, want_serv)));
    check(ok, "getnameinfo(%s:%u, flags %#x): rc %d host '%s' serv '%s' (want rc %d '%s' '%s')",
          addr, port, flags, rc, rc ? "" : host, rc ? "" : serv, want_rc, want_host, want_serv);
}

static void inet_checks(void)
{
    static const struct { const char *s; uint32_t a; } addrs[] = {
        {"1.2.3.4", 0x01020304},       {"1.2.3", 0x01020003},        {"1.2", 0x01000002},
        {"16909060", 0x01020304},      {"0x7f000001", 0x7f000001},   {"0177.0.0.1", 0x7f000001},
        {"0x7F.0X0.0.01", 0x7f000001}, {"1.0x10000", 0x01010000},
        {"0", 0},                      {"256.1.1.1", INADDR_NONE},   {"1.2.3.4.5", INADDR_NONE},
        {"", INADDR_NONE},             {"1.2.3.4x", INADDR_NONE},    {"1.2.3.4 ", INADDR_NONE},
        {" 1.2.3.4", INADDR_NONE},     {"08", INADDR_NONE},          {"1..2", INADDR_NONE},
        {"1.2.", INADDR_NONE},         {"4294967296", INADDR_NONE},  {"1.16777216", INADDR_NONE},
        {"1.2.65536", INADDR_NONE},    {"0x", INADDR_NONE},          {"-1", INADDR_NONE},
        {"255.255.255.255", INADDR_NONE}};
    for (size_t i = 0; i < sizeof addrs / sizeof *addrs; i++) {
        in_addr_t got = inet_addr(addrs[i].s);
        check(got == htonl(addrs[i].a), "inet_addr(\"%s\") = %08x (want %08x)", addrs[i].s,
              (unsigned)ntohl(got), (unsigned)addrs[i].a);
    }
    struct in_addr in = {htonl(0x0a000001)};
    check(!strcmp(inet_ntoa(in), "10.0.0.1"), "inet_ntoa(10.0.0.1) = %s", inet_ntoa(in));
    in.s_addr = htonl(0xffffffff);
    check(!strcmp(inet_ntoa(in), "255.255.255.255"), "inet_ntoa(255.255.255.255)");
    static const struct { const char *s; uint32_t a; } nets[] = {
        {"10", 10}, {"10.1", 0x0a01}, {"0x7f.0.0.1", 0x7f000001}, {"192.168.1", 0xc0a801},
        {"256", INADDR_NONE}, {"1.2.3.4.5", INADDR_NONE}, {"x", INADDR_NONE}};
    for (size_t i = 0; i < sizeof nets / sizeof *nets; i++)
        check(inet_network(nets[i].s) == nets[i].a, "inet_network(\"%s\") = %08x (want %08x)",
              nets[i].s, (unsigned)inet_network(nets[i].s), (unsigned)nets[i].a);
    check(inet_makeaddr(10, 0x010203).s_addr == htonl(0x0a010203), "inet_makeaddr(10, 1.2.3)");
    check(inet_makeaddr(0xac10, 5).s_addr == htonl(0xac100005), "inet_makeaddr(172.16, 5)");
    check(inet_makeaddr(0xc0a801, 7).s_addr == htonl(0xc0a80107), "inet_makeaddr(192.168.1, 7)");
    in.s_addr = htonl(0x0a010203);
    check(inet_lnaof(in) == 0x010203 && inet_netof(in) == 10, "inet_lnaof/netof(10.1.2.3)");
    in.s_addr = htonl(0xac100005);
    check(inet_lnaof(in) == 5 && inet_netof(in) == 0xac10, "inet_lnaof/netof(172.16.0.5)");
    in.s_addr = htonl(0xc0a80107);
    check(inet_lnaof(in) == 7 && inet_netof(in) == 0xc0a801, "inet_lnaof/netof(192.168.1.7)");
}

static void getaddrinfo_args(void)
{
    struct addrinfo hints, *res = (struct addrinfo *)&hints;
    gai_is(NULL, NULL, 0, AF_UNSPEC, 0, 0, "rc=-2");                 /* EAI_NONAME */
    gai_is("10.0.0.1", "80", 0x8000, AF_UNSPEC, 0, 0, "rc=-1");      /* EAI_BADFLAGS */
    gai_is(NULL, "80", AI_CANONNAME, AF_UNSPEC, 0, 0, "rc=-1");
    gai_is("10.0.0.1", "80", 0, AF_INET6, 0, 0, "rc=-6");            /* EAI_FAMILY */
    gai_is("10.0.0.1", "80", 0, 99, 0, 0, "rc=-6");
    gai_is("10.0.0.1", "80", 0, AF_UNSPEC, SOCK_RAW, 0, "rc=-7");    /* EAI_SOCKTYPE */
    gai_is("10.0.0.1", "80", 0, AF_UNSPEC, 12345, 0, "rc=-7");
    gai_is("10.0.0.1", "80", 0, AF_UNSPEC, SOCK_STREAM, IPPROTO_UDP, "rc=-7");
    gai_is("10.0.0.1", "80", 0, AF_UNSPEC, 0, 99, "rc=-7");
    gai_is("10.0.0.1", "nosuch", 0, AF_UNSPEC, 0, 0, "rc=-8");       /* EAI_SERVICE */
    gai_is("10.0.0.1", "ntp", 0, AF_UNSPEC, SOCK_STREAM, 0, "rc=-8");
    gai_is("10.0.0.1", "http", 0, AF_UNSPEC, 0, IPPROTO_UDP, "rc=-8");
    gai_is("10.0.0.1", "65536", 0, AF_UNSPEC, 0, 0, "rc=-8");
    gai_is("10.0.0.1", "99999999999999999999", 0, AF_UNSPEC, 0, 0, "rc=-8");
    gai_is("10.0.0.1", " 80", 0, AF_UNSPEC, 0, 0, "rc=-8");
    gai_is("10.0.0.1", "http", AI_NUMERICSERV, AF_UNSPEC, 0, 0, "rc=-2");
    gai_is("::1", "80", 0, AF_UNSPEC, 0, 0, "rc=-9");                /* EAI_ADDRFAMILY */
    gai_is("dns.test", "80", AI_NUMERICHOST, AF_UNSPEC, 0, 0, "rc=-2");
    gai_is("1.2.3.4 ", NULL, AI_NUMERICHOST, AF_UNSPEC, 0, 0, "rc=-2");
    gai_is("", NULL, 0, AF_UNSPEC, 0, 0, "rc=-2");
    memset(&hints, 0, sizeof hints);
    check(getaddrinfo("10.0.0.1", "80", &hints, NULL) == EAI_SYSTEM, "getaddrinfo(res NULL): EAI_SYSTEM");
    check(getaddrinfo(NULL, NULL, NULL, &res) == EAI_NONAME && res == NULL,
          "getaddrinfo failing sets *res to NULL");
    freeaddrinfo(NULL);
    check(1, "freeaddrinfo(NULL)");
}

static void getaddrinfo_results(void)
{
    gai_is(NULL, "80", AI_PASSIVE, AF_UNSPEC, 0, 0, "0.0.0.0:80/t 0.0.0.0:80/u");
    gai_is(NULL, "80", 0, AF_INET, 0, 0, "127.0.0.1:80/t 127.0.0.1:80/u");
    gai_is(NULL, "http", 0, AF_UNSPEC, 0, 0, "127.0.0.1:80/t");
    gai_is(NULL, "www", 0, AF_UNSPEC, 0, 0, "127.0.0.1:80/t");
    gai_is(NULL, "ntp", 0, AF_UNSPEC, 0, 0, "127.0.0.1:123/u");
    gai_is(NULL, "domain", 0, AF_UNSPEC, SOCK_DGRAM, 0, "127.0.0.1:53/u");
    gai_is(NULL, "https", AI_PASSIVE, AF_UNSPEC, 0, 0, "0.0.0.0:443/t 0.0.0.0:443/u");
    gai_is(NULL, "ssh", 0, AF_UNSPEC, 0, 0, "127.0.0.1:22/t");
    gai_is(NULL, "echo", 0, AF_UNSPEC, 0, IPPROTO_UDP, "127.0.0.1:7/u");
    gai_is(NULL, "65535", 0, AF_UNSPEC, SOCK_STREAM, IPPROTO_TCP, "127.0.0.1:65535/t");
    gai_is("10.0.0.1", NULL, 0, AF_UNSPEC, 0, 0, "10.0.0.1:0/t 10.0.0.1:0/u");
    gai_is("10.0.0.1", "", 0, AF_UNSPEC, SOCK_STREAM, 0, "10.0.0.1:0/t");
    gai_is("10.1", "7", 0, AF_UNSPEC, 0, IPPROTO_UDP, "10.0.0.1:7/u");
    gai_is("10.0.0.1", "smtp", AI_NUMERICHOST | AI_ADDRCONFIG | AI_V4MAPPED | AI_ALL, AF_INET, 0, 0,
           "10.0.0.1:25/t");
    host_is("0x7f.1", "127.0.0.1");
    host_is("017.0.0.1", "15.0.0.1");
    host_is("4294967295", "255.255.255.255");
    host_is("4294967296", "rc=-2"); /* not numeric: asked, NXDOMAIN */
    host_is("localhost", "127.0.0.1");
    host_is("LocalHost.", "127.0.0.1");
    canon_is("10.1", "10.1");
    canon_is("localhost", "localhost");
    canon_is("h1", "hostone.test");
    canon_is("alias.test", "real.test");
    canon_is("dns.test.", "dns.test");
}

static void hosts_checks(const char *hosts)
{
    host_is("h1", "10.1.0.1");
    host_is("one", "10.1.0.1");
    host_is("HOSTONE.TEST", "10.1.0.1");
    host_is("h1.", "10.1.0.1");
    host_is("hosttwo.test", "10.1.0.2");
    host_is("multi.hosts", "10.1.0.3 10.1.0.4");
    host_is("second.hosts", "10.1.0.4");
    host_is("v6only.test", "rc=-2");
    host_is("bad.test", "rc=-2");
    host_is("longline.test", "rc=-2");
    host_is("after.long", "10.1.0.6");
    host_is("short.form", "rc=-2");
    host_is("shadow.test", "127.0.0.2");
    setenv("WTCP_HOSTS", "/nonexistent/hosts", 1);
    host_is("h1", "rc=-2");
    host_is("localhost", "127.0.0.1");
    setenv("WTCP_HOSTS", hosts, 1);
}

static void dns_checks(const char *dns)
{
    char name[300];
    host_is("dns.test", "10.0.0.1");
    host_is("DNS.Test.", "10.0.0.1");
    host_is("alias.test", "10.0.0.5 10.0.0.6");
    host_is("cnameloop.test", "rc=-5"); /* EAI_NODATA */
    host_is("multi.test", "10.0.1.1 10.0.1.2 10.0.1.3 10.0.1.4");
    const char *many = gai("many.test", NULL, 0, AF_INET, SOCK_DGRAM, 0, NULL);
    int n = 0;
    for (const char *p = many; (p = strchr(p, '/')); p++)
        n++;
    check(n == 16 && !strncmp(many, "10.0.2.1:0/u", 12), "many.test: 16 of 30 kept (%d)", n);
    host_is("nx.test", "rc=-2");
    host_is("fail.test", "rc=-3");
    check(queries("fail.test") == 3, "SERVFAIL: 3 tries (%d)", queries("fail.test"));
    host_is("refused.test", "rc=-4");
    host_is("noa.test", "rc=-5");
    host_is("case.test", "10.0.0.11");
    static const struct { const char *name, *addr; } junk[] = {
        {"wrongid.test", "10.0.0.7"},    {"wrongq.test", "10.0.0.12"},
        {"wrongport.test", "10.0.0.13"}, {"wrongaddr.test", "10.0.0.14"},
        {"notreply.test", "10.0.0.15"},  {"cut.test", "10.0.0.8"},
        {"loop.test", "10.0.0.16"}};
    for (size_t i = 0; i < sizeof junk / sizeof *junk; i++) {
        host_is(junk[i].name, junk[i].addr);
        check(queries(junk[i].name) == 1, "%s: the junk dropped within one try", junk[i].name);
    }
    host_is("tc.test", "10.0.0.9 10.0.0.10");
    host_is("tcempty.test", "rc=-3");
    long long t0 = now_ms();
    host_is("timeout.test", "rc=-3");
    long long ms = now_ms() - t0;
    check(ms >= 850 && ms < 3000, "timeout: 3 tries of 300 ms (%lld ms)", ms);
    check(queries("timeout.test") == 3, "timeout: 3 queries (%d)", queries("timeout.test"));

    /* names: 253 bytes, labels of 63 */
    memset(name, 'a', sizeof name);
    memcpy(name + 253 - 10, ".long.test", 11);
    for (int i = 63; i < 243; i += 64)
        name[i] = '.';
    host_is(name, "10.0.0.99");
    strcat(name, ".");
    host_is(name, "10.0.0.99");
    memset(name, 'a', sizeof name);
    memcpy(name + 254 - 10, ".long.test", 11);
    for (int i = 63; i < 243; i += 64)
        name[i] = '.';
    host_is(name, "rc=-2");
    memset(name, 'b', 63);
    strcpy(name + 63, ".long.test");
    host_is(name, "10.0.0.99");
    memset(name, 'b', 64);
    strcpy(name + 64, ".long.test");
    host_is(name, "rc=-2");
    host_is("a..long.test", "rc=-2");
    host_is(".long.test", "rc=-2");
    host_is(".", "rc=-2");
    host_is("x.long.test..", "rc=-2");

    /* random IDs and source ports */
    unsigned ids[3], ports[3];
    for (int i = 0; i < 3; i++) {
        struct addrinfo hints, *res;
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        getaddrinfo("dns.test", NULL, &hints, &res);
        freeaddrinfo(res);
        ids[i] = ports[i] = 0;
        if (!getaddrinfo("last.test", NULL, &hints, &res)) {
            uint32_t v = ntohl(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr);
            ids[i] = v >> 16, ports[i] = v & 0xffff;
            freeaddrinfo(res);
        }
    }
    check(ids[0] != ids[1] || ids[1] != ids[2], "query IDs vary (%04x %04x %04x)", ids[0], ids[1], ids[2]);
    check(ports[0] != ports[1] || ports[1] != ports[2], "source ports vary (%u %u %u)", ports[0],
          ports[1], ports[2]);

    /* servers: a silent first one, bad entries, none */
    int hole = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(hole, (struct sockaddr *)&sin, sizeof sin);
    getsockname(hole, (struct sockaddr *)&sin, &len);
    snprintf(name, sizeof name, "junk, 1.2.3.4:0,127.0.0.1:%u , %s", ntohs(sin.sin_port), dns);
    setenv("WTCP_DNS", name, 1);
    t0 = now_ms();
    host_is("dns.test", "10.0.0.1");
    ms = now_ms() - t0;
    check(ms >= 280 && ms < 2000, "a silent first server: the second answers after 300 ms (%lld ms)", ms);
    close(hole);
    setenv("WTCP_DNS", "", 1);
    t0 = now_ms();
    host_is("dns.test", "rc=-3");
    check(now_ms() - t0 < 100, "no DNS configured: EAI_AGAIN at once");
    unsetenv("WTCP_DNS");
    host_is("dns.test", "rc=-3");
    host_is("localhost", "127.0.0.1");
    setenv("WTCP_DNS", dns, 1);
}

static void getnameinfo_checks(void)
{
    char host[64], serv[32];
    gni_is("10.1.0.1", 80, 0, 0, "hostone.test", "http");
    gni_is("10.1.0.1", 80, NI_NOFQDN, 0, "hostone", "http");
    gni_is("10.1.0.1", 80, NI_NUMERICHOST | NI_NUMERICSERV, 0, "10.1.0.1", "80");
    gni_is("10.1.0.4", 53, NI_DGRAM, 0, "multi.hosts", "domain");
    gni_is("10.1.0.1", 123, 0, 0, "hostone.test", "123");
    gni_is("10.1.0.1", 123, NI_DGRAM, 0, "hostone.test", "ntp");
    gni_is("127.0.0.1", 5, 0, 0, "localhost", "5");
    gni_is("10.0.0.1", 22, NI_NAMEREQD, 0, "ptr-host.test", "ssh");
    gni_is("10.0.0.4", 0, 0, 0, "classless.test", "0");
    gni_is("10.0.0.5", 0, 0, 0, "ev?l??x.test", "0");
    gni_is("10.0.0.2", 80, 0, 0, "10.0.0.2", "http");
    gni_is("10.0.0.2", 80, NI_NAMEREQD, EAI_NONAME, "", "");
    gni_is("10.1.0.1", 80, NI_NUMERICHOST | NI_NAMEREQD, EAI_NONAME, "", "");
    gni_is("10.0.0.3", 80, NI_NAMEREQD, EAI_AGAIN, "", ""); /* no PTR reply: 3 tries */
    gni_is("10.0.0.1", 80, 0x1000, EAI_BADFLAGS, "", "");
    const socklen_t sl = sizeof(struct sockaddr_in);
    check(gni("10.1.0.1", 80, AF_INET, sl, host, 8, NULL, 0, NI_NUMERICHOST) == EAI_OVERFLOW,
          "getnameinfo: host buffer of 8 for 10.1.0.1: EAI_OVERFLOW");
    check(gni("10.1.0.1", 80, AF_INET, sl, host, 9, NULL, 0, NI_NUMERICHOST) == 0 &&
              !strcmp(host, "10.1.0.1"), "getnameinfo: host buffer of 9 for 10.1.0.1 fits");
    check(gni("10.1.0.1", 80, AF_INET, sl, host, 12, NULL, 0, 0) == EAI_OVERFLOW,
          "getnameinfo: host buffer of 12 for hostone.test: EAI_OVERFLOW");
    check(gni("10.1.0.1", 80, AF_INET, sl, NULL, 0, serv, 2, NI_NUMERICSERV) == EAI_OVERFLOW,
          "getnameinfo: serv buffer of 2 for 80: EAI_OVERFLOW");
    check(gni("10.1.0.1", 80, AF_INET, sl, NULL, 0, serv, 3, NI_NUMERICSERV) == 0 && !strcmp(serv, "80"),
          "getnameinfo: serv buffer of 3 for 80 fits, host not asked");
    check(gni("10.1.0.1", 80, AF_INET, sl, NULL, 0, serv, 4, 0) == EAI_OVERFLOW,
          "getnameinfo: serv buffer of 4 for http: EAI_OVERFLOW");
    check(gni("10.1.0.1", 80, AF_INET, sl, host, sizeof host, NULL, 0, 0) == 0 &&
              !strcmp(host, "hostone.test"), "getnameinfo: host only");
    check(gni("10.1.0.1", 80, AF_INET, sl - 1, host, sizeof host, serv, sizeof serv, 0) == EAI_FAMILY,
          "getnameinfo: salen too short: EAI_FAMILY");
    check(gni("10.1.0.1", 80, AF_INET6, sl, host, sizeof host, serv, sizeof serv, 0) == EAI_FAMILY,
          "getnameinfo: AF_INET6: EAI_FAMILY");
    check(getnameinfo(NULL, sl, host, sizeof host, serv, sizeof serv, 0) == EAI_FAMILY,
          "getnameinfo: NULL address: EAI_FAMILY");
    check(gni("10.1.0.1", 80, AF_INET, sl, NULL, 0, NULL, 0, 0) == EAI_NONAME,
          "getnameinfo: neither host nor serv: EAI_NONAME");
}

static void hostent_checks(void)
{
    struct hostent *h = gethostbyname("multi.test");
    int ok = h && !strcmp(h->h_name, "multi.test") && h->h_addrtype == AF_INET && h->h_length == 4 &&
             h->h_aliases && !h->h_aliases[0];
    for (int i = 0; ok && i < 4; i++)
        ok = h->h_addr_list[i] && !memcmp(h->h_addr_list[i], "\x0a\x00\x01", 3) &&
             (unsigned char)h->h_addr_list[i][3] == i + 1;
    check(ok && !h->h_addr_list[4] && !memcmp(h->h_addr, "\x0a\x00\x01\x01", 4), "gethostbyname(multi.test)");
    h = gethostbyname("alias.test");
    check(h && !strcmp(h->h_name, "real.test") && h->h_addr_list[1] && !h->h_addr_list[2],
          "gethostbyname(alias.test): real.test, 2 addresses");
    h = gethostbyname("10.1.2.3");
    check(h && !strcmp(h->h_name, "10.1.2.3") && !memcmp(h->h_addr, "\x0a\x01\x02\x03", 4) &&
              !h->h_addr_list[1], "gethostbyname(10.1.2.3)");
    h = gethostbyname("h1");
    check(h && !strcmp(h->h_name, "hostone.test") && h_errno == 0, "gethostbyname(h1)");
    static const struct { const char *name; int err; } bad[] = {
        {"nx.test", HOST_NOT_FOUND}, {"fail.test", TRY_AGAIN}, {"noa.test", NO_DATA},
        {"refused.test", NO_RECOVERY}, {"::1", HOST_NOT_FOUND}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        h = gethostbyname(bad[i].name);
        check(!h && h_errno == bad[i].err, "gethostbyname(%s): NULL, h_errno %d (want %d)",
              bad[i].name, h_errno, bad[i].err);
    }
    h = gethostbyname(NULL);
    check(!h && h_errno == HOST_NOT_FOUND, "gethostbyname(NULL)");
    struct in_addr a;
    inet_pton(AF_INET, "10.1.0.1", &a);
    h = gethostbyaddr(&a, 4, AF_INET);
    check(h && !strcmp(h->h_name, "hostone.test") && !memcmp(h->h_addr, &a, 4) && !h->h_addr_list[1],
          "gethostbyaddr(10.1.0.1)");
    inet_pton(AF_INET, "10.0.0.1", &a);
    h = gethostbyaddr(&a, 4, AF_INET);
    check(h && !strcmp(h->h_name, "ptr-host.test"), "gethostbyaddr(10.0.0.1): PTR");
    inet_pton(AF_INET, "10.0.0.2", &a);
    h = gethostbyaddr(&a, 4, AF_INET);
    check(!h && h_errno == HOST_NOT_FOUND, "gethostbyaddr(10.0.0.2): HOST_NOT_FOUND");
    check(!gethostbyaddr(&a, 3, AF_INET) && h_errno == NO_RECOVERY, "gethostbyaddr(length 3)");
    check(!gethostbyaddr(&a, 4, AF_INET6) && h_errno == NO_RECOVERY, "gethostbyaddr(AF_INET6)");
}

static void servent_checks(void)
{
    struct servent *s = getservbyname("http", "tcp");
    check(s && !strcmp(s->s_name, "http") && s->s_port == htons(80) && !strcmp(s->s_proto, "tcp") &&
              s->s_aliases[0] && !strcmp(s->s_aliases[0], "www") && !s->s_aliases[1],
          "getservbyname(http, tcp)");
    s = getservbyname("www", NULL);
    check(s && !strcmp(s->s_name, "http") && s->s_port == htons(80), "getservbyname(www): http");
    check(!getservbyname("ntp", "tcp"), "getservbyname(ntp, tcp): NULL");
    s = getservbyname("ntp", "udp");
    check(s && s->s_port == htons(123) && !strcmp(s->s_proto, "udp"), "getservbyname(ntp, udp)");
    s = getservbyname("domain", NULL);
    check(s && s->s_port == htons(53) && !strcmp(s->s_proto, "tcp"), "getservbyname(domain, NULL)");
    check(!getservbyname("http", "sctp") && !getservbyname("nosuch", NULL) && !getservbyname(NULL, NULL),
          "getservbyname: unknown protocol, name, NULL");
    s = getservbyport(htons(22), "tcp");
    check(s && !strcmp(s->s_name, "ssh"), "getservbyport(22, tcp): ssh");
    s = getservbyport(htons(123), NULL);
    check(s && !strcmp(s->s_name, "ntp") && !strcmp(s->s_proto, "udp"), "getservbyport(123): ntp/udp");
    check(!getservbyport(htons(9999), NULL) && !getservbyport(htons(22), "udp"),
          "getservbyport: unknown port, wrong protocol");
    struct protoent *p = getprotobyname("udp");
    check(p && p->p_proto == IPPROTO_UDP && !strcmp(p->p_name, "udp"), "getprotobyname(udp)");
    p = getprotobynumber(IPPROTO_TCP);
    check(p && !strcmp(p->p_name, "tcp"), "getprotobynumber(6)");
    check(!getprotobyname("xyz") && !getprotobynumber(99), "getprotoby*: unknown");
}

static void strerror_checks(void)
{
    static const int codes[] = {EAI_AGAIN, EAI_BADFLAGS, EAI_FAIL, EAI_FAMILY, EAI_MEMORY,
                                EAI_NONAME, EAI_SERVICE, EAI_SOCKTYPE, EAI_SYSTEM, EAI_OVERFLOW,
                                EAI_ADDRFAMILY, EAI_NODATA};
    int ok = 1;
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        for (size_t j = 0; j < i; j++)
            ok &= strcmp(gai_strerror(codes[i]), gai_strerror(codes[j])) != 0 &&
                  strcmp(gai_strerror(codes[i]), "Unknown error") != 0;
    check(ok, "gai_strerror: a message for each code");
    check(!strcmp(gai_strerror(EAI_NONAME), "Name or service not known"), "gai_strerror(EAI_NONAME)");
    check(!strcmp(gai_strerror(12345), "Unknown error"), "gai_strerror(12345): Unknown error");
    check(!strcmp(hstrerror(HOST_NOT_FOUND), "Unknown host") && strcmp(hstrerror(TRY_AGAIN), hstrerror(99)),
          "hstrerror");
    char line[128] = "";
    FILE *t = tmpfile();
    int save = dup(2);
    fflush(stderr);
    dup2(fileno(t), 2);
    h_errno = TRY_AGAIN;
    herror("lookup");
    h_errno = NO_DATA;
    herror(NULL);
    fflush(stderr);
    dup2(save, 2);
    close(save);
    rewind(t);
    int ok1 = fgets(line, sizeof line, t) && !strcmp(line, "lookup: Host name lookup failure\n");
    int ok2 = fgets(line, sizeof line, t) && !strcmp(line, "No address associated with name\n");
    fclose(t);
    check(ok1 && ok2, "herror");
}

int main(void)
{
    const char *dns = getenv("WTCP_DNS"), *hosts = getenv("WTCP_HOSTS");
    char dns_copy[64], hosts_copy[512];
    if (!dns || !hosts) {
        fprintf(stderr, "netdb_check: run by tests/posix/netdb.sh (WTCP_DNS, WTCP_HOSTS)\n");
        return 2;
    }
    snprintf(dns_copy, sizeof dns_copy, "%s", dns);
    snprintf(hosts_copy, sizeof hosts_copy, "%s", hosts);
    setvbuf(stdout, NULL, _IOLBF, 0);
    inet_checks();
    getaddrinfo_args();
    getaddrinfo_results();
    hosts_checks(hosts_copy);
    dns_checks(dns_copy);
    getnameinfo_checks();
    hostent_checks();
    servent_checks();
    strerror_checks();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
