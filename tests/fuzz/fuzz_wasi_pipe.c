/* fuzz_wasi_pipe.c: libFuzzer target for the WASI commands' link framing (wasi/loop.c):
 * the bytes a pipe brings, split at fuzzer-chosen points, are 2-byte big-endian lengths
 * and IPv4 packets; a malformed frame must stop the loop with a message, a well-formed
 * one reaches the stack (whose own input path fuzz_input covers), nothing else happens. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../wasi/loop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    unsetenv("WTCP_ADDR");
    unsetenv("WTCP_MTU");
    unsetenv("WTCP_VERBOSE");
    unsetenv("WTCP_GATEWAY");
    unsetenv("WTCP_PREFIX");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    loop l;
    if (loop_init(&l, "fuzz") != 0)
        abort();
    l.out_broken = 1; /* what the stack answers goes nowhere */
    /* The first byte chooses the read sizes: 1, 2, 3, ... up to 64 bytes, cycling. */
    size_t step = size ? (size_t)(data[0] % 64) + 1 : 1;
    size_t off = size ? 1 : 0;
    while (off < size && !l.stopped) {
        size_t n = size - off < step ? size - off : step;
        size_t took = loop_input(&l, data + off, n);
        if (took == 0 && !l.stopped)
            abort(); /* a full input buffer must have been drained by take_frames */
        off += took;
        l.now += 1;
        wtcp_poll(l.stack, l.now);
    }
    loop_free(&l);
    return 0;
}
