# fuzz.mk: the libFuzzer targets (clang, ASan + UBSan), included by the top-level Makefile.
#
#   build/fuzz/fuzz_input      single packets into a stack with listeners and connections
#   build/fuzz/fuzz_ether      frames into a gateway's Ethernet interface: ARP, the DHCP
#                              server, TCP and UDP, with the clock moving
#   build/fuzz/fuzz_segments   sequences of mutated valid segments against an established
#                              connection, with the application and the clock interleaved
#   build/fuzz/fuzz_pktscript  wtcp-pktrun's packet-script lexer and parser
#   build/fuzz/fuzz_relay      the relay's client messages (WebSocket fragments, pipe frames)
#                              and TUN packets: checks, routing, rate limits, queues; and the
#                              handshake's Sec-WebSocket-Protocol list
#   build/fuzz/fuzz_wasi_pipe  the WASI commands' 2-byte-length framing on stdin
#
#   make fuzz FUZZ_SECONDS=N   runs each for N seconds (default 300) into build/fuzz/corpus-NAME,
#                              seeded from tests/fuzz/corpus/NAME (and tests/pkt for scripts)
# make test runs each briefly (tests/fuzz/test.sh): its seeds and regression inputs, then a
# seeded run of a fixed number of inputs.

comma := ,
FUZZ_NAMES := input ether segments pktscript relay wasi_pipe
FUZZ_BINS  := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_FLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Iinclude -Isrc
FUZZ_PKTRUN_SRC := $(filter-out tools/pktrun/main.c tools/pktrun/run.c,$(PKTRUN_SRC))
TEST_PREREQS += $(FUZZ_BINS)

# The harness is built without coverage instrumentation: the fuzzer steers by the code under
# test, not the test harness.
$(BUILD)/fuzz/harness.o: $(HARNESS_DEP) include/wtcp.h
	@mkdir -p $(dir $@)
	$(CLANG) $(subst fuzzer$(comma),,$(FUZZ_FLAGS)) -c $(HARNESS_SRC) -o $@

$(BUILD)/fuzz/fuzz_input $(BUILD)/fuzz/fuzz_ether $(BUILD)/fuzz/fuzz_segments: $(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/harness.o $(CORE_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) -Itests/harness $< $(BUILD)/fuzz/harness.o $(CORE_SRC) -o $@

$(BUILD)/fuzz/fuzz_pktscript: tests/fuzz/fuzz_pktscript.c $(FUZZ_PKTRUN_SRC) $(wildcard tools/pktrun/*.h) $(CORE_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) -Itools/pktrun $< $(FUZZ_PKTRUN_SRC) $(CORE_SRC) -o $@

$(BUILD)/fuzz/fuzz_wasi_pipe: tests/fuzz/fuzz_wasi_pipe.c wasi/loop.c wasi/loop.h wasi/link.c wasi/link.h $(CORE_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) $< wasi/loop.c wasi/link.c $(CORE_SRC) -o $@

FUZZ_RELAY_SRC := relay/client.c relay/packet.c relay/pool.c relay/fault.c relay/metrics.c relay/subprotocol.c
$(BUILD)/fuzz/fuzz_relay: tests/fuzz/fuzz_relay.c $(FUZZ_RELAY_SRC) $(RELAY_HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) -D_GNU_SOURCE $(RELAY_LWS_CFLAGS) -Irelay $< $(FUZZ_RELAY_SRC) $(RELAY_LWS_LIBS) -o $@

.PHONY: fuzz
# Every target runs its N seconds even when an earlier one found a problem; the exit status
# says whether any did.
fuzz: $(FUZZ_BINS)
	@bad=; for n in $(FUZZ_NAMES); do \
	    mkdir -p $(BUILD)/fuzz/corpus-$$n; \
	    seeds=; for d in tests/fuzz/corpus/$$n tests/fuzz/regress/$$n; do [ -d $$d ] && seeds="$$seeds $$d"; done; \
	    [ $$n = pktscript ] && seeds="$$seeds tests/pkt"; \
	    echo "== fuzz_$$n for $${FUZZ_SECONDS:-300} s"; \
	    $(BUILD)/fuzz/fuzz_$$n -max_len=8192 -max_total_time=$${FUZZ_SECONDS:-300} -print_final_stats=1 \
	        -artifact_prefix=$(BUILD)/fuzz/crash-$$n- $(BUILD)/fuzz/corpus-$$n $$seeds >$(BUILD)/fuzz/$$n.log 2>&1; \
	    st=$$?; grep -aE '^#[0-9]+[[:space:]]' $(BUILD)/fuzz/$$n.log | tail -1; \
	    grep -E '^stat::(number_of_executed_units|peak_rss)|ERROR|SUMMARY|^fuzz_' $(BUILD)/fuzz/$$n.log; \
	    [ $$st -eq 0 ] || { echo "fuzz_$$n found a problem: $(BUILD)/fuzz/$$n.log, $(BUILD)/fuzz/crash-$$n-*"; bad="$$bad $$n"; }; \
	done; \
	[ -z "$$bad" ] || { echo "problems found by:$$bad"; exit 1; }
