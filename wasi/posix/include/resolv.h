/* resolv.h: the resolver state real programs include and set (wasi-libc has none): res_init and _res with musl's RES_* options, accepted and without effect, as the layer resolves through netdb.h (wasi/posix/compat.c). */
#pragma GCC system_header /* #include_next, without warnings under -pedantic */
#ifndef __wasi__
#include_next <resolv.h> /* elsewhere the libc's */
#else
#ifndef WTCP_POSIX_RESOLV_H
#define WTCP_POSIX_RESOLV_H

#include <stdint.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MAXNS 3
#define MAXDFLSRCH 3
#define MAXDNSRCH 6
#define LOCALDOMAINPARTS 2
#define RES_TIMEOUT 5
#define MAXRESOLVSORT 10
#define RES_MAXNDOTS 15
#define RES_MAXRETRANS 30
#define RES_MAXRETRY 5
#define RES_DFLRETRY 2
#define RES_MAXTIME 65535

/* The fields programs set (as musl's); the layer reads none of them. */
typedef struct __res_state {
    int retrans;
    int retry;
    unsigned long options;
    int nscount;
    struct sockaddr_in nsaddr_list[MAXNS];
    unsigned short id;
    char *dnsrch[MAXDNSRCH + 1];
    char defdname[256];
    unsigned long pfcode;
    unsigned ndots : 4;
    unsigned nsort : 4;
    unsigned ipv6_unavail : 1;
    unsigned unused : 23;
    struct {
        struct in_addr addr;
        uint32_t mask;
    } sort_list[MAXRESOLVSORT];
    void *qhook;
    void *rhook;
    int res_h_errno;
    int _vcsock;
    unsigned _flags;
} *res_state;

#define RES_INIT 0x00000001
#define RES_DEBUG 0x00000002
#define RES_AAONLY 0x00000004
#define RES_USEVC 0x00000008
#define RES_PRIMARY 0x00000010
#define RES_IGNTC 0x00000020
#define RES_RECURSE 0x00000040
#define RES_DEFNAMES 0x00000080
#define RES_STAYOPEN 0x00000100
#define RES_DNSRCH 0x00000200
#define RES_INSECURE1 0x00000400
#define RES_INSECURE2 0x00000800
#define RES_NOALIASES 0x00001000
#define RES_USE_INET6 0x00002000
#define RES_ROTATE 0x00004000
#define RES_NOCHECKNAME 0x00008000
#define RES_KEEPTSIG 0x00010000
#define RES_BLAST 0x00020000
#define RES_USEBSTRING 0x00040000
#define RES_NOIP6DOTINT 0x00080000
#define RES_USE_EDNS0 0x00100000
#define RES_SNGLKUP 0x00200000
#define RES_SNGLKUPREOP 0x00400000
#define RES_USE_DNSSEC 0x00800000
#define RES_NOTLDQUERY 0x01000000
#define RES_NORELOAD 0x02000000
#define RES_DEFAULT (RES_RECURSE | RES_DEFNAMES | RES_DNSRCH)

/* The one resolver state, as glibc and musl spell it. */
struct __res_state *__res_state(void);
#define _res (*__res_state())

/* Sets _res to its defaults (RES_INIT | RES_DEFAULT, retrans RES_TIMEOUT, retry
 * RES_DFLRETRY, ndots 1) and returns 0: the layer takes WTCP_DNS and WTCP_HOSTS at every
 * lookup, whatever _res says. There is no res_query, res_search or res_send: code that
 * builds its own DNS queries does not link (use getaddrinfo/getnameinfo). */
int res_init(void);

#ifdef __cplusplus
}
#endif
#endif
#endif /* __wasi__ */
