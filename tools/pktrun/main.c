/* main.c: wtcp-pktrun [options] FILE...  (see docs/PKTSCRIPT.md) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktrun.h"
#include "wtcp.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: wtcp-pktrun [options] FILE...\n"
            "Runs packetdrill-syntax scripts against the wtcp core on virtual time.\n"
            "\n"
            "  --parse-only           parse and pretty-print the scripts, run nothing\n"
            "  --states               print the TCP states each script entered, and the union\n"
            "  -v, --verbose          print every event as executed, with virtual time\n"
            "  -q, --quiet            no notices (skipped `commands`, ignored options)\n"
            "  --tolerance-ms=N       timing tolerance (default 4; a script's\n"
            "                         --tolerance_usecs overrides)\n"
            "  --tcp-ts-tick-usecs=N  check outbound TS val at this tick (default: unchecked,\n"
            "                         unless a script sets --tcp_ts_tick_usecs)\n"
            "  --remote-isn=N         remote side's ISN, script seq 0 (default 1000000)\n"
            "  --wrap                 remote ISN 0xffffff00: sequence numbers wrap early\n"
            "  --remote-port=N        remote port for passive opens (default 40000)\n"
            "  --lenient              packetdrill's queueing: packets left unclaimed are only\n"
            "                         compared by the next '>' line (no 'unexpected packet')\n"
            "  --strict-segments      one '>' line is one segment (default: consecutive\n"
            "                         segments may add up to it, as packetdrill's GSO joining)\n"
            "  --no-payload-check     do not check outbound payload bytes\n"
            "  --no-ecr-check         do not check outbound TS ecr\n"
            "  --strict-code          a %%{ }%% block or assert that cannot be evaluated fails\n"
            "                         the script (default: skipped with a notice)\n"
            "  -D NAME=VALUE          define a symbol, as packetdrill's -D\n"
            "  -h, --help             this text\n");
}

static int parse_num(const char *s, long long *v)
{
    char *end;
    *v = strtoll(s, &end, 0);
    return *s && !*end ? 0 : -1;
}

static const char *opt_value(const char *arg, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) == 0 && arg[n] == '=')
        return arg + n + 1;
    return NULL;
}

int main(int argc, char **argv)
{
    run_opts o;
    memset(&o, 0, sizeof o);
    o.tolerance_us = 4000;
    o.remote_isn = 1000000;
    o.remote_port = 40000;
    int parse_only = 0, states = 0;
    const char **files = calloc((size_t)argc, sizeof *files);
    int nfiles = 0;
    if (!files)
        return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long long n;
        if (!strcmp(a, "--parse-only")) {
            parse_only = 1;
        } else if (!strcmp(a, "--states")) {
            states = 1;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o.verbose = 1;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o.quiet = 1;
        } else if (!strncmp(a, "-D", 2)) {
            const char *d = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : "");
            if (parse_define(d) < 0) {
                fprintf(stderr, "wtcp-pktrun: bad define '%s' (want -D NAME=VALUE)\n", d);
                free(files);
                return 2;
            }
        } else if (!strcmp(a, "--wrap")) {
            o.remote_isn = 0xffffff00u;
        } else if (!strcmp(a, "--lenient")) {
            o.lenient = 1;
        } else if (!strcmp(a, "--no-payload-check")) {
            o.no_payload_check = 1;
        } else if (!strcmp(a, "--strict-segments")) {
            o.strict_segments = 1;
        } else if (!strcmp(a, "--strict-code")) {
            o.strict_code = 1;
        } else if (!strcmp(a, "--no-ecr-check")) {
            o.no_ecr_check = 1;
        } else if ((v = opt_value(a, "--tolerance-ms"))) {
            if (parse_num(v, &n) < 0 || n < 0 || n > 3600000) {
                fprintf(stderr, "wtcp-pktrun: bad --tolerance-ms value '%s'\n", v);
                return 2;
            }
            o.tolerance_us = n * 1000;
        } else if ((v = opt_value(a, "--tcp-ts-tick-usecs"))) {
            if (parse_num(v, &n) < 0 || n < 0 || n > 1000000000) {
                fprintf(stderr, "wtcp-pktrun: bad --tcp-ts-tick-usecs value '%s'\n", v);
                return 2;
            }
            o.ts_tick_us = n;
        } else if ((v = opt_value(a, "--remote-isn"))) {
            if (parse_num(v, &n) < 0 || n < 0 || n > 0xffffffffLL) {
                fprintf(stderr, "wtcp-pktrun: bad --remote-isn value '%s'\n", v);
                return 2;
            }
            o.remote_isn = (uint32_t)n;
        } else if ((v = opt_value(a, "--remote-port"))) {
            if (parse_num(v, &n) < 0 || n < 1 || n > 65535) {
                fprintf(stderr, "wtcp-pktrun: bad --remote-port value '%s'\n", v);
                return 2;
            }
            o.remote_port = (uint16_t)n;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(files);
            return 0;
        } else if (!strcmp(a, "--")) {
            for (i++; i < argc; i++)
                files[nfiles++] = argv[i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "wtcp-pktrun: unknown option '%s'\n", a);
            usage(stderr);
            free(files);
            return 2;
        } else {
            files[nfiles++] = a;
        }
    }
    if (nfiles == 0) {
        usage(stderr);
        free(files);
        return 2;
    }

    int passed = 0, failed = 0;
    uint32_t all_states = 0;
    for (int i = 0; i < nfiles; i++) {
        script sc;
        char err[1024];
        if (parse_script_file(files[i], &sc, err, sizeof err) < 0) {
            printf("FAIL %s: %s\n", files[i], err);
            failed++;
            fflush(stdout);
            continue;
        }
        if (!o.quiet)
            for (int k = 0; k < sc.nnotes; k++)
                fprintf(stderr, "note: %s\n", sc.notes[k]);
        if (parse_only) {
            strbuf sb = {0};
            for (int k = 0; k < sc.nopts; k++) {
                sb_printf(&sb, "--%s", sc.opts[k].name);
                if (sc.opts[k].value)
                    sb_printf(&sb, "=%s", sc.opts[k].value);
                sb_printf(&sb, "\n");
            }
            for (int k = 0; k < sc.nev; k++) {
                sb_printf(&sb, "%4d: ", sc.ev[k].line);
                print_event(&sb, &sc.ev[k]);
                sb_printf(&sb, "\n");
            }
            printf("== %s\n%s", files[i], sb.buf ? sb.buf : "");
            sb_free(&sb);
            printf("ok   %s (%d events)\n", files[i], sc.nev);
            passed++;
            script_free(&sc);
            fflush(stdout);
            continue;
        }
        run_result res;
        run_script(&sc, &o, &res);
        if (res.ok && res.expected_failure) {
            printf("ok   %s (failed as expected: %s)\n", files[i], res.msg);
            passed++;
        } else if (res.ok) {
            printf("ok   %s\n", files[i]);
            passed++;
        } else {
            printf("FAIL %s: %s\n", files[i], res.msg);
            failed++;
        }
        if (states) {
            printf("     states:");
            for (int s = 0; s < WTCP_NUM_STATES; s++)
                if (res.states & (1u << s))
                    printf(" %s", wtcp_state_name(s));
            printf("\n");
        }
        all_states |= res.states;
        script_free(&sc);
        fflush(stdout);
    }
    if (states && !parse_only) {
        int n = 0;
        for (int s = 0; s < WTCP_NUM_STATES; s++)
            n += (all_states >> s) & 1;
        printf("states entered: %d/%d", n, (int)WTCP_NUM_STATES);
        if (n < WTCP_NUM_STATES) {
            printf(" (never:");
            for (int s = 0; s < WTCP_NUM_STATES; s++)
                if (!(all_states & (1u << s)))
                    printf(" %s", wtcp_state_name(s));
            printf(")");
        }
        printf("\n");
    }
    printf("%d passed, %d failed\n", passed, failed);
    free(files);
    return failed ? 1 : 0;
}
