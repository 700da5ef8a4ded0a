/* sys/sendfile.h: Linux's sendfile (wasi-libc has none), a read-and-write loop in wasi/posix/compat.c that works for any descriptors, sockets included. */
#pragma GCC system_header /* #include_next, without warnings under -pedantic */
#ifndef __wasi__
#include_next <sys/sendfile.h> /* elsewhere the libc's */
#else
#ifndef WTCP_POSIX_SYS_SENDFILE_H
#define WTCP_POSIX_SYS_SENDFILE_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count);

#ifdef __cplusplus
}
#endif
#endif
#endif /* __wasi__ */
