/* __struct_sockaddr_in.h: wasi-libc's struct sockaddr_in with its 8 bytes of padding named sin_zero, as every other libc has them (same size, 16, and offsets). */
#pragma GCC system_header /* _Alignas and max_align_t, without warnings under -pedantic */
#ifndef __wasi__
#include_next <__struct_sockaddr_in.h>
#else
#ifndef __wasilibc___struct_sockaddr_in_h
#define __wasilibc___struct_sockaddr_in_h /* wasi-libc's own is then skipped */

#define __need_STDDEF_H_misc
#include <stddef.h>
#include <__typedef_sa_family_t.h>
#include <__typedef_in_port_t.h>
#include <__struct_in_addr.h>

struct sockaddr_in {
    _Alignas(max_align_t) sa_family_t sin_family;
    in_port_t sin_port;
    struct in_addr sin_addr;
    unsigned char sin_zero[8];
};
#endif
#endif /* __wasi__ */
