/* unistd.h: wasi-libc's, plus alarm(), which the layer provides (SIGALRM when the stack's pump sees its time: docs/POSIX.md). */
#pragma GCC system_header /* #include_next, without warnings under -pedantic */
#include_next <unistd.h>

#ifdef __wasi__
#ifndef WTCP_POSIX_UNISTD_H
#define WTCP_POSIX_UNISTD_H
#ifdef __cplusplus
extern "C" {
#endif
unsigned alarm(unsigned seconds);
#ifdef __cplusplus
}
#endif
#endif
#endif
