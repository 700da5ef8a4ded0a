/* fuzz_pktscript.c: libFuzzer target for wtcp-pktrun's packet-script lexer and parser
 * (tools/pktrun/lex.c, parse.c): any bytes either parse into a script or give an error
 * message; nothing is read or written outside its buffers and nothing leaks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pktrun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    script sc;
    char err[512];
    err[0] = 0;
    if (parse_script_text("fuzz.pkt", (const char *)data, size, &sc, err, sizeof err) == 0)
        script_free(&sc);
    else if (!err[0])
        abort(); /* a failure always says why */
    return 0;
}
