# wtcp: one entry point. `make` builds the native library and tools into build/,
# `make test` installs what is missing (Debian 12, root) and runs every test,
# `make demo` runs the demo end to end (relay, TUN, Node and browser stacks; root),
# `make demo-pair` two stacks in memory (no root).

CC      ?= cc
CLANG   ?= clang
BUILD   ?= build
CSTD    := -std=c11 -Wall -Wextra -Werror -pedantic
CFLAGS  ?= -O2 -g
CFLAGS  += $(CSTD) -Iinclude -Isrc
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

CORE_SRC  := $(sort $(wildcard src/*.c src/*/*.c))
CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
SAN_OBJ   := $(CORE_SRC:%.c=$(BUILD)/san/%.o)
PKTRUN_SRC := $(sort $(wildcard tools/pktrun/*.c))
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_SAN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests-san/%)
HDRS      := include/wtcp.h $(wildcard src/*.h src/*/*.h)
# The shared test harness (stacks, fault link, virtual clock, event log): linked into the
# unit tests, simnet, demo-pair, the benchmark and the fuzzer.
HARNESS_SRC := tests/harness/harness.c
HARNESS_DEP := $(HARNESS_SRC) tests/harness/harness.h
LAN_SRC     := tests/harness/lan.c
LAN_DEP     := $(LAN_SRC) tests/harness/lan.h

# WASI compile check against Debian's wasi-libc through a private sysroot.
WASI_SDK_PATH ?=
WASI_SYSROOT  ?= $(if $(WASI_SDK_PATH),$(WASI_SDK_PATH)/share/wasi-sysroot,$(BUILD)/wasi-sysroot)
WASI_CC       ?= $(if $(WASI_SDK_PATH),$(WASI_SDK_PATH)/bin/clang,$(CLANG))

.PHONY: all deps test check-core demo demo-pair bench bench-relay fuzz soak clean

all: $(BUILD)/libwtcp.a $(BUILD)/wtcp-pktrun $(BUILD)/wtcp-demo-pair $(UNIT_BIN) $(BUILD)/tests/simnet

$(BUILD)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(SAN) -c $< -o $@

$(BUILD)/libwtcp.a: $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libwtcp-san.a: $(SAN_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/wtcp-pktrun: $(PKTRUN_SRC) $(wildcard tools/pktrun/*.h) $(BUILD)/libwtcp.a
	$(CC) $(CFLAGS) $(PKTRUN_SRC) $(BUILD)/libwtcp.a -o $@

$(BUILD)/wtcp-pktrun-san: $(PKTRUN_SRC) $(wildcard tools/pktrun/*.h) $(BUILD)/libwtcp-san.a
	$(CC) $(CFLAGS) -O1 $(SAN) $(PKTRUN_SRC) $(BUILD)/libwtcp-san.a -o $@

$(BUILD)/wtcp-demo-pair: tools/demo/pair.c $(HARNESS_DEP) $(BUILD)/libwtcp.a
	$(CC) $(CFLAGS) -Itests/harness $< $(HARNESS_SRC) $(BUILD)/libwtcp.a -o $@

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(HARNESS_DEP) $(LAN_DEP) $(BUILD)/libwtcp.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Itests/harness $< $(HARNESS_SRC) $(LAN_SRC) $(BUILD)/libwtcp.a -o $@

$(BUILD)/tests-san/%: tests/unit/%.c tests/unit/unit.h $(HARNESS_DEP) $(LAN_DEP) $(BUILD)/libwtcp-san.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(SAN) -Itests/unit -Itests/harness $< $(HARNESS_SRC) $(LAN_SRC) $(BUILD)/libwtcp-san.a -o $@

$(BUILD)/tests/simnet: tests/sim/simnet.c $(HARNESS_DEP) $(BUILD)/libwtcp.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/harness $< $(HARNESS_SRC) $(BUILD)/libwtcp.a -o $@

$(BUILD)/tests-san/simnet: tests/sim/simnet.c $(HARNESS_DEP) $(BUILD)/libwtcp-san.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(SAN) -Itests/harness $< $(HARNESS_SRC) $(BUILD)/libwtcp-san.a -o $@

# ---- the other parts: each folder adds its targets, packages and test prerequisites ----
# (APT_PKGS += ..., TEST_PREREQS += ...; their tests run from PART/test.sh)
TEST_PREREQS :=
-include wasi/wasi.mk bindings/js/js.mk relay/relay.mk
-include bench/bench.mk bench/posix.mk
-include tests/fuzz/fuzz.mk
-include tests/lan/lan.mk tests/v86/v86.mk tests/posix/posix.mk

# ---- set-up: safe to run twice ----
APT_PKGS += gcc clang make binutils wasi-libc lld libclang-rt-14-dev-wasm32 libclang-rt-14-dev
deps:
	@tools/deps.sh $(APT_PKGS)

# ---- checks on the core ----
$(BUILD)/wasi-sysroot:
	@mkdir -p $@/include $@/lib
	ln -sfn /usr/include/wasm32-wasi $@/include/wasm32-wasi
	ln -sfn /usr/lib/wasm32-wasi $@/lib/wasm32-wasi

check-core: $(CORE_OBJ) $(if $(WASI_SDK_PATH),,$(BUILD)/wasi-sysroot)
	@tools/check-core.sh "$(CC)" "$(CLANG)" "$(WASI_CC)" "$(WASI_SYSROOT)" "$(CSTD) -Iinclude -Isrc" $(CORE_SRC)

# ---- tests ----
test: deps
	@$(MAKE) --no-print-directory all $(BUILD)/wtcp-pktrun-san $(UNIT_SAN) $(BUILD)/tests-san/simnet $(TEST_PREREQS)
	@tools/run-tests.sh $(BUILD)

demo:
	@tools/demo/run.sh $(BUILD)

demo-pair: deps
	@$(MAKE) --no-print-directory $(BUILD)/wtcp-demo-pair
	$(BUILD)/wtcp-demo-pair

# A soak through the relay with faults (root): make soak SOAK_SECONDS=1800.
soak: deps relay wasm js-deps
	tests/soak/soak.sh $(BUILD) $${SOAK_SECONDS:-120}

clean:
	rm -rf $(BUILD)
