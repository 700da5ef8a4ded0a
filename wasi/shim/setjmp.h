/* setjmp.h: setjmp/longjmp for a wasi-libc without them (Debian's 2022 snapshot), lowered by clang to WebAssembly exceptions. */
#ifndef WASI_SHIM_SETJMP_H
#define WASI_SHIM_SETJMP_H

/*
 * Only for code compiled with -mexception-handling -mllvm -wasm-enable-sjlj: clang then
 * rewrites every setjmp() and longjmp() call into WebAssembly exception handling and
 * calls the small runtime in sjlj.c, which must be linked in. The result needs a runtime
 * with the exception-handling proposal (Node >= 17, V8-based browsers; wasmtime only
 * since it gained exceptions).
 */
typedef unsigned long long jmp_buf[4]; /* room for sjlj.c's struct jump */

int setjmp(jmp_buf env);
_Noreturn void longjmp(jmp_buf env, int val);

#endif
