/* poll.h: wasi-libc's, plus the event bits it leaves out (POLLPRI, POLLRDBAND, POLLWRBAND, POLLMSG, POLLRDHUP), with values beside wasi-libc's own; the layer reports POLLRDHUP, never the others. */
#pragma GCC system_header /* #include_next, without warnings under -pedantic */
#include_next <poll.h>

#ifdef __wasi__
#ifndef POLLPRI
#define POLLPRI 0x0004    /* urgent data: not supported (MSG_OOB is EOPNOTSUPP) */
#endif
#ifndef POLLRDBAND
#define POLLRDBAND 0x0008
#endif
#ifndef POLLWRBAND
#define POLLWRBAND 0x0010
#endif
#ifndef POLLMSG
#define POLLMSG 0x0020
#endif
#ifndef POLLRDHUP
#define POLLRDHUP 0x0040  /* Linux: the peer shut down its side */
#endif
#endif
