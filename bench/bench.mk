# bench.mk: `make bench` (included by the top-level Makefile): every benchmark in one run,
# one table on stdout, build/bench/results.json (all runs), table.md and chart.svg.
#
#   build/bench/sockpair        two-process harness: wtcp, Linux loopback, no stack, the middle link
#   build/bench/sockpair-lwip   its lwIP ends (Debian's liblwip; its own binary: the symbols clash)
#   build/bench/throughput      the older one-process table (make bench-throughput)
#   build/bench/tunclient       Linux's TCP as a relay client (bench/relay-lossy.sh)
#   make bench                  BENCH_RUNS=5 (runs per case), BENCH_QUICK=1 (small sizes)
#   make bench-relay            through wtcp-relay against Linux (root)

BENCH_SP_SRC := bench/sockpair/common.c bench/sockpair/main.c bench/sockpair/wtcp_end.c \
	bench/sockpair/onebox.c bench/sockpair/middle.c bench/sockpair/linux_end.c
BENCH_SP_HDR := $(wildcard bench/sockpair/*.h)
# Lazy (=): pkg-config runs only when the lwIP end is built, after `make deps`.
BENCH_LWIP_CFLAGS = $(shell pkg-config --cflags lwip 2>/dev/null || echo -I/usr/include/lwip)
BENCH_LWIP_LIBS   = $(shell pkg-config --libs lwip 2>/dev/null || echo -llwip)

.PHONY: bench-throughput bench-lan

$(BUILD)/bench/nat: bench/nat.c $(BUILD)/libwtcp.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(BUILD)/libwtcp.a -o $@

# The guest LAN: NAT's rate native and in wasm, a kernel guest through it, a v86 guest.
bench-lan: deps $(BUILD)/bench/nat relay wasm js-deps $(BUILD)/tests/wtcp-tapbridge
	@bench/lan.sh $(BUILD)

$(BUILD)/bench/throughput: bench/throughput.c $(HARNESS_DEP) $(BUILD)/libwtcp.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/harness $< $(HARNESS_SRC) $(BUILD)/libwtcp.a -o $@

$(BUILD)/bench/sockpair: $(BENCH_SP_SRC) $(BENCH_SP_HDR) $(BUILD)/libwtcp.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BENCH_SP_SRC) $(BUILD)/libwtcp.a -lpthread -o $@

# Linux's TCP as a wtcp-relay client, for bench/relay-lossy.sh.
$(BUILD)/bench/tunclient: bench/tunclient.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@

# lwIP's headers are not -pedantic clean; the public API only, no -Isrc.
$(BUILD)/bench/sockpair-lwip: bench/sockpair/lwip_end.c bench/sockpair/common.c $(BENCH_SP_HDR)
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -std=c11 -Wall -Wextra -Werror $(BENCH_LWIP_CFLAGS) \
		bench/sockpair/lwip_end.c bench/sockpair/common.c $(BENCH_LWIP_LIBS) -lpthread -o $@

# The Node figures need the wasm build and the relay rows the relay: built when they can be,
# skipped rows (with the reason) when not.
bench: deps
	@$(MAKE) --no-print-directory $(BUILD)/bench/sockpair $(BUILD)/bench/sockpair-lwip $(BUILD)/bench/throughput $(BUILD)/bench/tunclient
	@$(MAKE) --no-print-directory wasm js-deps >/dev/null 2>&1 || echo "bench: (wasm build failed: Node rows skipped)"
	@if [ "$$(id -u)" -eq 0 ]; then $(MAKE) --no-print-directory relay >/dev/null 2>&1 || echo "bench: (relay build failed: relay rows skipped)"; fi
	@python3 bench/bench.py --build $(BUILD)

bench-throughput: $(BUILD)/bench/throughput
	$(BUILD)/bench/throughput

# Through wtcp-relay against Linux TCP, next to a veth pair (root: namespaces, TUN).
bench-relay: relay wasm js-deps wasi
	bench/relay-throughput.sh $(BUILD)

APT_PKGS     += liblwip-dev iperf3 ethtool python3
TEST_PREREQS += $(BUILD)/bench/sockpair
