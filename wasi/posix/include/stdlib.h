/* stdlib.h: wasi-libc's, plus the realpath declaration it leaves out (defined in wasi/posix/compat.c over the preopens). */
#pragma GCC system_header /* #include_next, without warnings under -pedantic */
#include_next <stdlib.h>

#ifdef __wasi__
#ifndef WTCP_POSIX_STDLIB_H
#define WTCP_POSIX_STDLIB_H
#if defined(_XOPEN_SOURCE) || defined(_GNU_SOURCE) || defined(_BSD_SOURCE)
#ifdef __cplusplus
extern "C" {
#endif
char *realpath(const char *__restrict path, char *__restrict resolved);
#ifdef __cplusplus
}
#endif
#endif
#endif
#endif /* __wasi__ */
