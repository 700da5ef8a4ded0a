/* stddef.h: the compiler's, plus max_align_t outside C11 (headers of real programs use it under -std=c99, where clang leaves it out). */
#pragma GCC system_header /* #include_next, without warnings under -pedantic */
#if defined(__need_size_t) || defined(__need_ptrdiff_t) || defined(__need_wchar_t) ||    \
    defined(__need_NULL) || defined(__need_wint_t) || defined(__need_max_align_t) || \
    defined(__need_offsetof)
#include_next <stddef.h> /* a partial include: passed through */
#else
#include_next <stddef.h>
#if !defined(__CLANG_MAX_ALIGN_T_DEFINED) && !defined(WTCP_POSIX_MAX_ALIGN_T)
#define WTCP_POSIX_MAX_ALIGN_T
typedef struct {
    long long __ll __attribute__((__aligned__(__alignof__(long long))));
    long double __ld __attribute__((__aligned__(__alignof__(long double))));
} max_align_t;
#endif
#endif
