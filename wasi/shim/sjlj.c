/* sjlj.c: the runtime that clang's WebAssembly setjmp/longjmp lowering (-mllvm -wasm-enable-sjlj) calls. */
#include <stdint.h>
#include <stdlib.h>

/*
 * clang turns setjmp() into "remember a label for this jmp_buf in this call frame" and
 * longjmp() into throwing the exception tag __c_longjmp with a pointer to {env, val};
 * every function that called setjmp catches it and asks the runtime whether the jmp_buf
 * belongs to one of its own setjmp calls.
 *
 * Two generations of that interface exist; both are here, a linker keeps what is used:
 *   LLVM 14..18: saveSetjmp/testSetjmp with a per-frame table, getTempRet0/setTempRet0;
 *   LLVM 19+:    __wasm_setjmp/__wasm_setjmp_test with the frame's invocation id.
 * __wasm_longjmp is the same in both.
 */

struct jump {            /* the start of a jmp_buf (setjmp.h makes it 32 bytes) */
    uintptr_t id;        /* LLVM 14..18: a unique setjmp id; 19+: the frame's invocation id */
    uint32_t label;      /* 19+: which setjmp call in that frame */
    struct {
        void *env;       /* what the catching frame reads: layout fixed by clang */
        int val;
    } arg;
};

/* ---- LLVM 14..18 ---- */

typedef struct table_entry {
    uintptr_t id;
    uint32_t label;
} table_entry;

static uintptr_t last_id;
static uint32_t temp_ret0;

uint32_t getTempRet0(void);
void setTempRet0(uint32_t value);
table_entry *saveSetjmp(uintptr_t *env, uint32_t label, table_entry *table, uint32_t size);
uint32_t testSetjmp(uintptr_t id, table_entry *table, uint32_t size);

uint32_t getTempRet0(void)
{
    return temp_ret0;
}

void setTempRet0(uint32_t value)
{
    temp_ret0 = value;
}

/* setjmp(env) in a frame whose table (malloc'ed by the caller, size slots plus an end
 * marker) maps setjmp ids to labels. Returns the table (maybe grown), size in temp_ret0. */
table_entry *saveSetjmp(uintptr_t *env, uint32_t label, table_entry *table, uint32_t size)
{
    *env = ++last_id;
    for (;;) {
        for (uint32_t i = 0; i < size; i++) {
            if (table[i].id == 0) {
                table[i].id = *env;
                table[i].label = label;
                table[i + 1].id = 0;
                temp_ret0 = size;
                return table;
            }
        }
        size *= 2;
        table = realloc(table, sizeof *table * (size + 1));
        if (!table)
            abort();
    }
}

/* The label of the setjmp that made id, if it was this frame's; 0 otherwise. */
uint32_t testSetjmp(uintptr_t id, table_entry *table, uint32_t size)
{
    for (uint32_t i = 0; i < size && table[i].id != 0; i++)
        if (table[i].id == id)
            return table[i].label;
    return 0;
}

/* ---- LLVM 19+ ---- */

void __wasm_setjmp(void *env, uint32_t label, void *invocation);
uint32_t __wasm_setjmp_test(void *env, void *invocation);

void __wasm_setjmp(void *env, uint32_t label, void *invocation)
{
    struct jump *j = env;
    j->id = (uintptr_t)invocation;
    j->label = label;
}

uint32_t __wasm_setjmp_test(void *env, void *invocation)
{
    struct jump *j = env;
    return j->id == (uintptr_t)invocation ? j->label : 0;
}

/* ---- both ---- */

_Noreturn void __wasm_longjmp(void *env, int val);

_Noreturn void __wasm_longjmp(void *env, int val)
{
    struct jump *j = env;
    j->arg.env = env;
    j->arg.val = val ? val : 1;
    __builtin_wasm_throw(1, &j->arg); /* tag 1: __c_longjmp */
}
