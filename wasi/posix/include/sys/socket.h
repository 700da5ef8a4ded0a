/* sys/socket.h: wasi-libc's, plus what the wtcp POSIX layer adds: the socket calls and the constants wasi-libc leaves out (values beside wasi-libc's own, not Linux's). */
#pragma GCC system_header /* #include_next, without warnings under -pedantic */
#ifndef WTCP_POSIX_SYS_SOCKET_H
#define WTCP_POSIX_SYS_SOCKET_H

#include_next <sys/socket.h>

#ifdef __wasi__ /* elsewhere (the native tests of netdb.c) the libc's header is complete */
#ifdef __cplusplus
extern "C" {
#endif

/* Families and types: wasi-libc has AF_* (AF_INET is 1) and SOCK_STREAM/SOCK_DGRAM
 * (WASI file types 6 and 5). */
#ifndef PF_INET
#define PF_UNSPEC AF_UNSPEC
#define PF_INET AF_INET
#define PF_INET6 AF_INET6
#define PF_UNIX AF_UNIX
#define PF_LOCAL AF_UNIX
#define AF_LOCAL AF_UNIX
#endif
#ifndef SOCK_RAW
#define SOCK_RAW 3       /* not supported: socket() says EPROTONOSUPPORT */
#define SOCK_SEQPACKET 7 /* not supported: EPROTONOSUPPORT */
#endif

/* Options at SOL_SOCKET (wasi-libc's SOL_SOCKET is 0x7fffffff and SO_TYPE 3). */
#ifndef SO_REUSEADDR
#define SO_DEBUG 1
#define SO_REUSEADDR 2
#define SO_ERROR 4
#define SO_DONTROUTE 5
#define SO_BROADCAST 6
#define SO_SNDBUF 7
#define SO_RCVBUF 8
#define SO_KEEPALIVE 9
#define SO_OOBINLINE 10
#define SO_LINGER 13
#define SO_REUSEPORT 15
#define SO_RCVLOWAT 18
#define SO_SNDLOWAT 19
#define SO_RCVTIMEO 20
#define SO_SNDTIMEO 21
#define SO_ACCEPTCONN 30
#define SO_PROTOCOL 38
#define SO_DOMAIN 39
#endif
#ifndef SOL_IP
#define SOL_IP 0
#define SOL_TCP 6
#define SOL_UDP 17
#endif
#ifndef SOMAXCONN
#define SOMAXCONN 4096
#endif

/* Message flags: wasi-libc defines MSG_PEEK (1) and MSG_WAITALL (2); its MSG_TRUNC names a
 * constant this wasi-libc no longer has, so it is defined again (1, an output flag in
 * msg_flags). */
#undef MSG_TRUNC
#define MSG_TRUNC 0x0001
#ifndef MSG_DONTWAIT
#define MSG_OOB 0x100000 /* not supported: EOPNOTSUPP */
#define MSG_DONTROUTE 0x0004
#define MSG_CTRUNC 0x0008
#define MSG_DONTWAIT 0x0040
#define MSG_EOR 0x0080
#define MSG_CONFIRM 0x0800
#define MSG_NOSIGNAL 0x4000 /* WASI has no SIGPIPE: accepted, EPIPE either way */
#define MSG_MORE 0x8000
#define MSG_CMSG_CLOEXEC 0x40000000
#endif

int socket(int domain, int type, int protocol);
int socketpair(int domain, int type, int protocol, int sv[2]);
int bind(int fd, const struct sockaddr *addr, socklen_t len);
int connect(int fd, const struct sockaddr *addr, socklen_t len);
int listen(int fd, int backlog);
int getsockname(int fd, struct sockaddr *__restrict addr, socklen_t *__restrict len);
int getpeername(int fd, struct sockaddr *__restrict addr, socklen_t *__restrict len);
ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr,
               socklen_t addrlen);
ssize_t recvfrom(int fd, void *__restrict buf, size_t len, int flags,
                 struct sockaddr *__restrict addr, socklen_t *__restrict addrlen);
ssize_t sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t recvmsg(int fd, struct msghdr *msg, int flags);
int setsockopt(int fd, int level, int name, const void *value, socklen_t len);
int sockatmark(int fd);

#ifdef __cplusplus
}
#endif
#endif /* __wasi__ */

#endif
