#!/usr/bin/env python3
"""bench.py: the `make bench` orchestrator: runs every case BENCH_RUNS times (default 5),
alternating the systems within each round, takes medians and prints one table; writes
BUILD/bench/results.json (every run), table.md and chart.svg (Python standard library only).

Usage: bench/bench.py [--build build]
Environment: BENCH_RUNS (runs per case, default 5), BENCH_QUICK=1 (small sizes, for
development), BENCH_ONLY=group,group (only those groups).

Every measurement is a JSON row, one per line and run, shared with the Node scripts
(bench/js-pair.mjs, js-rr.mjs, js-conns.mjs, run with --json):
  {"group":"bulk-2proc","case":"one direction","system":"wtcp","metric":"goodput",
   "unit":"Gbit/s","value":7.7,"higher_is_better":true}
Groups and cases the Node scripts fill in: bulk-1proc / "one direction", "both
directions"; rr / "64-byte request/response" (metric "round trips/s"); conn-rate /
"connect, accept, close" (metric "connections/s"); conns-10k / "10,000 idle connections"
(metrics "memory per idle connection" in bytes, "time to open all" in ms).
"""
import json
import os
import statistics
import shutil
import subprocess
import sys
import time
from html import escape

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = "build"
if "--build" in sys.argv:
    BUILD = sys.argv[sys.argv.index("--build") + 1]
BUILD = os.path.join(ROOT, BUILD) if not os.path.isabs(BUILD) else BUILD
OUT = os.path.join(BUILD, "bench")
SP = os.path.join(OUT, "sockpair")
RUNS = max(1, int(os.environ.get("BENCH_RUNS", "5")))
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
ONLY = [g for g in os.environ.get("BENCH_ONLY", "").split(",") if g]
ROOT_USER = os.geteuid() == 0
WASM = os.path.exists(os.path.join(ROOT, "bindings/js/dist/wtcp.wasm")) and os.path.exists(
    os.path.join(ROOT, "bindings/js/node_modules"))

BULK = "64M" if QUICK else "256M"
LOSSY_S = "2" if QUICK else "6"
RR_S = "0.5" if QUICK else "2"
CONNS = "1000" if QUICK else "5000"
VETH_S = "1" if QUICK else "3"
RELAY_BYTES = str(4 << 20) if QUICK else str(32 << 20)

rows = []      # every run's rows, with "run"
skipped = {}   # (group, case, system) -> reason
log = sys.stderr


def run_cmd(argv, timeout=900):
    """Runs a command, returns (JSON rows, error text or None)."""
    try:
        p = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [], "timed out after %d s" % timeout
    except OSError as e:
        return [], str(e)
    got = []
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                got.append(json.loads(line))
            except ValueError:
                pass
    err = None
    if p.returncode != 0:
        tail = (p.stderr.strip().splitlines() or ["exit status %d" % p.returncode])[-1]
        err = "exit status %d: %s" % (p.returncode, tail[:160])
    if not got and err is None:
        err = "no JSON rows"
    return got, err


def sockpair(group, case, system, *args):
    return [SP, "--group", group, "--label", case, "--sysname", system] + list(args)


def node_script(name, *args):
    """The command for a Node helper (one run of its own: bench.py repeats it), or (None, reason)."""
    path = os.path.join(ROOT, "bench", name)
    if not os.path.exists(path):
        return None, "bench/%s does not exist yet" % name
    if not WASM:
        return None, "make wasm js-deps"
    with open(path) as f:
        if "--json" not in f.read():
            return None, "bench/%s has no --json output yet" % name
    return ["node", path] + list(args) + ["--json"], None


# A case: group, case name, and its systems in the order they alternate; each system is
# (label, argv or None, skip reason). A system's command may also print rows of other
# systems or cases (veth.sh, the Node scripts): every row is kept under its own labels.
def cases():
    g = "bulk-2proc"
    one, both = "one direction", "both directions"
    veth = (["bash", "bench/veth.sh", "--seconds", VETH_S, "--case", "both"], None) if ROOT_USER else (None, "needs root")
    yield g, one, [
        ("wtcp", sockpair(g, one, "wtcp", "--bytes", BULK), None),
        ("lwIP raw", sockpair(g, one, "lwIP raw", "--system", "lwip-raw", "--bytes", BULK), None),
        ("lwIP sockets", sockpair(g, one, "lwIP sockets", "--system", "lwip-sockets", "--bytes", BULK), None),
        ("Linux veth",) + veth,
        ("socketpair, no stack", sockpair(g, one, "socketpair, no stack", "--system", "none", "--case", "link",
                                          "--seconds", "1"), None),
    ]
    yield g, both, [
        ("wtcp", sockpair(g, both, "wtcp", "--case", "bulk-both", "--bytes", BULK), None),
        ("lwIP raw", sockpair(g, both, "lwIP raw", "--system", "lwip-raw", "--case", "bulk-both", "--bytes", BULK), None),
        ("lwIP sockets", None, "send+recv on one socket stalls (no FULLDUPLEX)"),
        ("Linux veth", None, "veth.sh did not run" if ROOT_USER else "needs root"),
    ]
    g = "bulk-1proc"
    js, why = node_script("js-pair.mjs", "64", "1")
    for c, k in ((one, "bulk-one"), (both, "bulk-both")):
        yield g, c, [
            ("wtcp native", sockpair(g, c, "wtcp native", "--one-process", "--case", k, "--bytes", BULK), None),
            ("wtcp wasm (Node)", js if c == one else None, why if c == one else "(rows from js-pair.mjs, if any)"),
            ("lwIP", None, "lwIP keeps global state: one stack per process"),
        ]
    g = "lossy-link"
    for loss in ("1", "5"):
        c = "%s %% loss, 20 ms RTT" % loss
        common = ["--bytes", "0", "--seconds", LOSSY_S, "--rtt", "20", "--loss", loss]
        yield g, c, [
            ("wtcp cubic", sockpair(g, c, "wtcp cubic", "--cc", "cubic", *common), None),
            ("wtcp newreno", sockpair(g, c, "wtcp newreno", "--cc", "newreno", *common), None),
            ("lwIP raw", sockpair(g, c, "lwIP raw", "--system", "lwip-raw", *common), None),
        ]
    g, c = "rr", "64-byte request/response"
    js, why = node_script("js-rr.mjs", RR_S, "1")
    yield g, c, [
        ("wtcp", sockpair(g, c, "wtcp", "--case", "rr", "--seconds", RR_S), None),
        ("lwIP raw", sockpair(g, c, "lwIP raw", "--system", "lwip-raw", "--case", "rr", "--seconds", RR_S), None),
        ("lwIP sockets", sockpair(g, c, "lwIP sockets", "--system", "lwip-sockets", "--case", "rr", "--seconds", RR_S), None),
        ("Linux loopback", sockpair(g, c, "Linux loopback", "--system", "linux", "--case", "rr", "--seconds", RR_S), None),
        ("wtcp native, 1 process", sockpair(g, c, "wtcp native, 1 process", "--one-process", "--case", "rr",
                                            "--seconds", RR_S), None),
        ("wtcp wasm (Node)", js, why),
    ]
    g, c = "conn-rate", "connect, accept, close"
    cargs = ["--case", "conn", "--conns", CONNS, "--seconds", "10"]
    yield g, c, [
        ("wtcp", sockpair(g, c, "wtcp", *cargs), None),
        ("lwIP raw", sockpair(g, c, "lwIP raw", "--system", "lwip-raw", *cargs), None),
        ("lwIP sockets", None, "accept loop falls behind, stalls"),
        ("Linux loopback", sockpair(g, c, "Linux loopback", "--system", "linux", *cargs), None),
        ("wtcp native, 1 process", sockpair(g, c, "wtcp native, 1 process", "--one-process", *cargs), None),
        ("wtcp wasm (Node)", None, why or "(rows from js-rr.mjs, run in the rr case)"),
    ]
    g, c = "conns-10k", "10,000 idle connections"
    js, why = node_script("js-conns.mjs", "10000", "1")
    yield g, c, [
        ("wtcp native", sockpair(g, c, "wtcp native", "--case", "idle", "--conns", "10000"), None),
        ("wtcp npm (Node)", js, why),
    ]


# bench/relay-lossy.sh's paths, as its rows name them.
RELAY_LOSSY_PATHS = ["relay --loss 5 --reorder 5", "nftables 3 % loss each way", "relay --loss 1 --delay 10 (20 ms RTT)"]


def relay_rows():
    g = "relay-lossy"
    labels = RELAY_LOSSY_PATHS
    systems = ["wtcp sending (wasm in Node)", "wtcp sending, rtoMin 10 ms (wasm in Node)",
               "Linux client sending, cubic (kernel TCP via tunclient)",
               "Linux client sending, bbr (kernel TCP via tunclient)", "Linux sending"]
    if not ROOT_USER:
        reason = "needs root"
    elif not WASM or not os.path.exists(os.path.join(BUILD, "wtcp-relay")):
        reason = "make relay wasm js-deps"
    elif not os.path.exists(os.path.join(BUILD, "bench", "tunclient")):
        reason = "make build/bench/tunclient"
    else:
        reason = None
    if reason:
        for c in labels:
            for s in systems:
                skipped[(g, c, s)] = reason
        return
    print("bench: relay-lossy (%s bytes per transfer, %d runs; wtcp sending is slow here)" % (RELAY_BYTES, RUNS),
          file=log, flush=True)
    env = dict(os.environ, BENCH_BYTES=RELAY_BYTES, BENCH_RUNS=str(RUNS))
    try:
        p = subprocess.run(["bash", "bench/relay-lossy.sh", BUILD], cwd=ROOT, capture_output=True, text=True,
                           env=env, timeout=7200)
        out, err = p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        out, err = "", "timed out"
    n = {}
    for line in out.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            key = (r["group"], r["case"], r["system"])
            n[key] = n.get(key, 0) + 1
            r["run"] = n[key]
            rows.append(r)
    if not n:
        for c in labels:
            for s in systems:
                skipped[(g, c, s)] = "relay-lossy.sh: " + (err.strip().splitlines() or ["failed"])[-1][:120]


def relay_connrate_rows():
    g, c = "relay-conn-rate", "connect, one request, close (ab -c 50)"
    systems = ["wtcp (Node http over wtcp/node)", "Linux (the same server, kernel TCP)"]
    if not ROOT_USER:
        reason = "needs root"
    elif not WASM or not os.path.exists(os.path.join(BUILD, "wtcp-relay")):
        reason = "make relay wasm js-deps"
    elif not shutil.which("ab"):
        reason = "needs ab (apache2-utils)"
    else:
        reason = None
    if reason:
        for s in systems:
            skipped[(g, c, s)] = reason
        return
    print("bench: relay-conn-rate (ab, %d runs)" % RUNS, file=log, flush=True)
    env = dict(os.environ, BENCH_RUNS=str(RUNS))
    try:
        p = subprocess.run(["bash", "bench/relay-connrate.sh", BUILD], cwd=ROOT, capture_output=True, text=True,
                           env=env, timeout=3600)
        out, err = p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        out, err = "", "timed out"
    n = {}
    for line in out.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            key = (r["group"], r["case"], r["system"])
            n[key] = n.get(key, 0) + 1
            r["run"] = n[key]
            rows.append(r)
    if not n:
        for s in systems:
            skipped[(g, c, s)] = "relay-connrate.sh: " + (err.strip().splitlines() or ["failed"])[-1][:120]


def measure():
    plan = [c for c in cases() if not ONLY or c[0] in ONLY]
    for group, case, systems in plan:
        for s in systems:
            if s[1] is None:
                skipped[(group, case, s[0])] = s[2]
    for run in range(1, RUNS + 1):
        print("bench: round %d of %d" % (run, RUNS), file=log, flush=True)
        for group, case, systems in plan:
            for label, argv, _ in systems:
                if argv is None:
                    continue
                t0 = time.time()
                got, err = run_cmd(argv)
                for r in got:
                    r["run"] = run
                    rows.append(r)
                if err and not got:
                    skipped[(group, case, label)] = err
                elif err:
                    print("bench: %s / %s / %s: %s" % (group, case, label, err), file=log)
                print("  %-11s %-26s %-26s %5.1f s" % (group, case, label, time.time() - t0), file=log, flush=True)
    if not ONLY or "relay-lossy" in ONLY:
        relay_rows()
    if not ONLY or "relay-conn-rate" in ONLY:
        relay_connrate_rows()


# ---- aggregation and targets

ORDER = ["bulk-2proc", "bulk-1proc", "lossy-link", "relay-lossy", "rr", "conn-rate", "relay-conn-rate", "conns-10k"]
REFERENCE = {  # (group, case-or-None) -> (system, metric) the ratio column divides by
    ("bulk-2proc", "one direction"): ("socketpair, no stack", "goodput equivalent (1448 B per packet)"),
    ("bulk-2proc", "both directions"): ("Linux veth", "goodput"),
    ("bulk-1proc", None): ("wtcp native", "goodput"),
    ("lossy-link", None): ("lwIP raw", "goodput"),
    ("relay-lossy", None): ("Linux client sending, cubic (kernel TCP via tunclient)", "goodput"),
    ("rr", None): ("Linux loopback", "round trips/s"),
    ("conn-rate", None): ("Linux loopback", "connections/s"),
    ("relay-conn-rate", None): ("Linux (the same server, kernel TCP)", "connections/s"),
}


def aggregate():
    agg = {}
    for r in rows:
        key = (r["group"], r["case"], r["system"], r["metric"])
        a = agg.setdefault(key, {"unit": r.get("unit", ""), "values": [], "failed": 0,
                                 "higher_is_better": r.get("higher_is_better", True)})
        a["values"].append(float(r["value"]))
        if r.get("ok") is False:
            a["failed"] += 1
    for a in agg.values():
        a["median"] = statistics.median(a["values"])
    return agg


def targets(agg):
    """(group, case, system, metric) -> (text, met or None)."""
    t = {}

    def med(g, c, s, m):
        a = agg.get((g, c, s, m))
        return a["median"] if a else None

    g, c = "bulk-2proc", "one direction"
    w, lw = med(g, c, "wtcp", "goodput"), med(g, c, "lwIP raw", "goodput")
    link = med(g, c, "socketpair, no stack", "goodput equivalent (1448 B per packet)")
    parts, met = [], True
    if lw:
        parts.append(">= 1.5x lwIP raw (%.2fx)" % (w / lw if w else 0))
        met = met and bool(w) and w >= 1.5 * lw
    if link:
        parts.append(">= 85%% of the link (%.0f%%)" % (100 * w / link if w else 0))
        met = met and bool(w) and w >= 0.85 * link
    if parts:
        t[(g, c, "wtcp", "goodput")] = (", ".join(parts), met)
    for c in ("one direction", "both directions"):
        for m in ("receiver drops (out of window)", "receiver drops (all reasons)", "retransmissions"):
            v = med(g, c, "wtcp", m)
            if v is not None:
                t[(g, c, "wtcp", m)] = ("0", v == 0)
    for c in ("1 % loss, 20 ms RTT",):
        for s in ("wtcp cubic", "wtcp newreno"):
            v = med("lossy-link", c, s, "goodput")
            if v is not None:
                t[("lossy-link", c, s, "goodput")] = (">= 21.3 Mbit/s (3x 7.1)", v >= 21.3)
    for c in RELAY_LOSSY_PATHS:
        lx = med("relay-lossy", c, "Linux client sending, cubic (kernel TCP via tunclient)", "goodput")
        for s in ("wtcp sending (wasm in Node)", "wtcp sending, rtoMin 10 ms (wasm in Node)"):
            w = med("relay-lossy", c, s, "goodput")
            if w is not None and lx:
                t[("relay-lossy", c, s, "goodput")] = (">= 0.5x Linux client, cubic", w >= 0.5 * lx)
    for s in ("wtcp native", "wtcp npm (Node)"):
        for m in ("memory per idle connection (server end)", "memory per idle connection (both ends)"):
            v = med("conns-10k", "10,000 idle connections", s, m)
            if v is not None:
                t[("conns-10k", "10,000 idle connections", s, m)] = ("<= 4096 bytes", v <= 4096)
    v = med("conns-10k", "10,000 idle connections", "wtcp npm (Node)", "connections reached")
    if v is not None:
        t[("conns-10k", "10,000 idle connections", "wtcp npm (Node)", "connections reached")] = ("10000", v >= 10000)
    w, n = med("bulk-1proc", "one direction", "wtcp wasm (Node)", "goodput"), med("bulk-1proc", "one direction", "wtcp native", "goodput")
    if w is not None and n:
        t[("bulk-1proc", "one direction", "wtcp wasm (Node)", "goodput")] = (">= 0.5x native", w >= 0.5 * n)
    v = med("rr", "64-byte request/response", "wtcp wasm (Node)", "round trips/s")
    if v is not None:
        t[("rr", "64-byte request/response", "wtcp wasm (Node)", "round trips/s")] = (">= 150,000/s", v >= 150000)
    return t


def fmt(v):
    if v is None:
        return "-"
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return "%.0f" % v
    if abs(v) >= 100:
        return "%.1f" % v
    if abs(v) >= 1:
        return "%.2f" % v
    return "%.3g" % v


def table(agg, tg):
    """The table as rows of cells, in group order, each case's systems in run order."""
    out = []
    seen_order = []
    for r in rows:
        k = (r["group"], r["case"], r["system"], r["metric"])
        if k not in seen_order:
            seen_order.append(k)
    for k in skipped:
        seen_order.append(k + (None,))

    def gkey(k):
        return (ORDER.index(k[0]) if k[0] in ORDER else len(ORDER), k[0])

    groups = sorted({k[0] for k in seen_order}, key=lambda g: gkey((g,)))
    for g in groups:
        cases_ = []
        for k in seen_order:
            if k[0] == g and k[1] not in cases_:
                cases_.append(k[1])
        for c in cases_:
            for k in seen_order:
                if k[0] != g or k[1] != c:
                    continue
                if k[3] is None:
                    if any(x[:3] == k[:3] and x[3] is not None for x in seen_order):
                        continue
                    out.append([g, c, k[2], "", "-", "", "", "(skipped: %s)" % skipped[k[:3]], ""])
                    continue
                a = agg[k]
                ref = REFERENCE.get((g, c)) or REFERENCE.get((g, None))
                ratio = ""
                if ref and k[3] in (ref[1], "goodput") and ref[0] != k[2]:
                    rv = agg.get((g, c, ref[0], ref[1]))
                    if rv and rv["median"]:
                        ratio = "%.2f" % (a["median"] / rv["median"])
                elif ref and ref[0] == k[2] and ref[1] == k[3]:
                    ratio = "ref"
                text, met = tg.get(k, ("", None))
                state = "" if met is None else ("yes" if met else "NO")
                if a["failed"]:
                    state = (state + " " if state else "") + "(%d of %d runs failed)" % (a["failed"], len(a["values"]))
                out.append([g, c, k[2], k[3], fmt(a["median"]), a["unit"], ratio, text, state])
    return out


HEAD = ["group", "case", "system", "metric", "median", "unit", "ratio", "target", "met"]


def print_table(t):
    widths = [max(len(HEAD[i]), *(len(r[i]) for r in t)) if t else len(HEAD[i]) for i in range(len(HEAD))]
    line = "  ".join(h.ljust(w) for h, w in zip(HEAD, widths))
    print(line.rstrip())
    print("-" * len(line.rstrip()))
    last = None
    for r in t:
        if last and r[0] != last:
            print()
        last = r[0]
        cells = [c.rjust(w) if i in (4, 6) else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        print("  ".join(cells).rstrip())


def markdown(t):
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "|".join("---" if i not in (4, 6) else "---:" for i in range(len(HEAD))) + "|"]
    for r in t:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return "\n".join(lines) + "\n"


def chart(agg):
    """Horizontal bars: one panel per (group, case) and main metric, scaled to its maximum."""
    main = {"goodput", "round trips/s", "connections/s", "memory per idle connection (server end)",
            "memory per idle connection", "goodput equivalent (1448 B per packet)"}
    panels = []
    for (g, c, s, m), a in agg.items():
        if m not in main:
            continue
        p = next((p for p in panels if p[0] == (g, c)), None)
        if not p:
            p = [(g, c), []]
            panels.append(p)
        p[1].append((s, a["median"], a["unit"]))
    panels.sort(key=lambda p: (ORDER.index(p[0][0]) if p[0][0] in ORDER else 99))
    W, label_w, bar_w, row_h = 760, 230, 420, 18
    y = 30
    parts = []
    for (g, c), bars in panels:
        parts.append('<text x="10" y="%d" font-weight="bold">%s — %s</text>' % (y, escape(g), escape(c)))
        y += 8
        top = max((b[1] for b in bars), default=0) or 1
        for s, v, unit in bars:
            w = max(1, int(bar_w * v / top))
            parts.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (label_w - 6, y + 13, escape(s)))
            parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>' % (
                label_w, y + 2, w, row_h - 4, "#2b7bb9" if s.startswith("wtcp") else "#9aa5b1"))
            parts.append('<text x="%d" y="%d">%s %s</text>' % (label_w + w + 6, y + 13, fmt(v), escape(unit)))
            y += row_h
        y += 22
    head = ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">'
            '<rect width="100%%" height="100%%" fill="white"/>'
            '<text x="10" y="16" font-size="13">wtcp make bench: medians of %d runs (blue: wtcp; each panel scaled to '
            'its largest bar)</text>' % (W, y, RUNS))
    return head + "".join(parts) + "</svg>\n"


def main():
    if not os.path.exists(SP):
        print("bench: %s is missing (make %s)" % (SP, os.path.relpath(SP, ROOT)), file=log)
        return 1
    os.makedirs(OUT, exist_ok=True)
    t0 = time.time()
    measure()
    agg = aggregate()
    tg = targets(agg)
    t = table(agg, tg)
    print()
    print("wtcp benchmarks: medians of %d runs%s, %d CPUs, %s" % (
        RUNS, " (quick sizes)" if QUICK else "", os.cpu_count(), time.strftime("%Y-%m-%d %H:%M")))
    print("bulk: %s per sender, MTU 1500, 256 KiB buffers; lossy link: %s s timed runs; rr: %s s; conn: up to %s"
          % (BULK, LOSSY_S, RR_S, CONNS))
    print()
    print_table(t)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"runs": RUNS, "quick": QUICK, "rows": rows,
                   "skipped": [{"group": k[0], "case": k[1], "system": k[2], "reason": v} for k, v in skipped.items()],
                   "medians": [{"group": k[0], "case": k[1], "system": k[2], "metric": k[3], "unit": a["unit"],
                                "median": a["median"], "values": a["values"], "failed_runs": a["failed"]}
                               for k, a in agg.items()]}, f, indent=1)
    with open(os.path.join(OUT, "table.md"), "w") as f:
        f.write("Medians of %d runs%s.\n\n" % (RUNS, " (quick sizes)" if QUICK else ""))
        f.write(markdown(t))
    with open(os.path.join(OUT, "chart.svg"), "w") as f:
        f.write(chart(agg))
    print("\n(%s/results.json, table.md, chart.svg; %.0f s)" % (os.path.relpath(OUT, ROOT), time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
