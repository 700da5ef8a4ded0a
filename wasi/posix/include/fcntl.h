/* fcntl.h: wasi-libc's, plus O_NDELAY (its FNDELAY names it but it is not defined), which socket programs set with F_SETFL; and O_NONBLOCK as a plain number, so that `#if O_NDELAY != O_NONBLOCK` preprocesses. */
#pragma GCC system_header /* #include_next, without warnings under -pedantic */
#include_next <fcntl.h>

#ifdef __wasi__
/* wasi-libc's O_NONBLOCK is __WASI_FDFLAGS_NONBLOCK, a cast, which #if cannot evaluate. */
#undef O_NONBLOCK
#define O_NONBLOCK 0x0004 /* __WASI_FDFLAGS_NONBLOCK */
#ifndef O_NDELAY
#define O_NDELAY O_NONBLOCK
#endif
#endif
