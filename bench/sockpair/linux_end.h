/* linux_end.h: reference ends on Linux TCP over loopback (request/response, connection rate). */
#ifndef SOCKPAIR_LINUX_END_H
#define SOCKPAIR_LINUX_END_H

#include "common.h"

/* A listening socket on 127.0.0.1 and an ephemeral port (made before the ends fork). */
int linux_listen(uint16_t *port);
int linux_end_main(const bench_opts *o, int lsock, uint16_t port);

#endif
