/* arpa/inet.h: the libc's, plus what wasi-libc leaves out: inet_addr, inet_ntoa, inet_network, inet_makeaddr, inet_lnaof, inet_netof (POSIX/4.2BSD; wasi/posix/inet.c). */
#pragma GCC system_header /* for #include_next under -pedantic */
#include_next <arpa/inet.h>

#ifndef WTCP_POSIX_ARPA_INET_H
#define WTCP_POSIX_ARPA_INET_H
#ifdef __wasi__ /* elsewhere the libc declares (and defines) them */
#ifdef __cplusplus
extern "C" {
#endif
in_addr_t inet_addr(const char *cp);
in_addr_t inet_network(const char *cp);
char *inet_ntoa(struct in_addr in);
struct in_addr inet_makeaddr(in_addr_t net, in_addr_t host);
in_addr_t inet_lnaof(struct in_addr in);
in_addr_t inet_netof(struct in_addr in);
#ifdef __cplusplus
}
#endif
#endif
#endif
