# wasi.mk: `make wasi` builds libwtcp for wasm32-wasi, the WASI commands, the example and the WASI pktrun (included by the top-level Makefile).
#
#   build/wasi/libwtcp.a, build/wasi/include/wtcp.h   the core for other WASI programs
#   build/wasi/wtcp-echo.wasm PORT                     TCP echo server
#   build/wasi/wtcp-httpd.wasm PORT DIR                HTTP/1.1 file server
#   build/wasi/wtcp-get.wasm HOST:PORT REQUEST OUT     netcat/curl-like client
#   build/wasi/wtcp-pktrun.wasm FILE...                the packet-script runner
#   build/wasi/wtcp-example.wasm                       wasi/example: embedding libwtcp
#   build/wasi/peer                                    native test peer (wasi/test.sh)
#
# Debian's clang + wasi-libc by default, through the private sysroot $(BUILD)/wasi-sysroot;
# WASI_SDK_PATH=/opt/wasi-sdk uses a wasi-sdk instead. `make wasi-test` runs wasi/test.sh.

WASI_OUT := $(BUILD)/wasi
ifneq ($(WASI_SDK_PATH),)
WASI_AR ?= $(WASI_SDK_PATH)/bin/llvm-ar
else
WASI_AR ?= $(firstword $(shell command -v llvm-ar llvm-ar-14 llvm-ar-16 llvm-ar-19 2>/dev/null) llvm-ar)
endif
WASI_SYSROOT_DEP := $(if $(WASI_SDK_PATH),,$(BUILD)/wasi-sysroot)
WASI_CFLAGS ?= -O2
# Debian's libc.a carries DWARF (2/3 of a binary): strip it.
WASI_LDFLAGS ?= -Wl,--strip-debug
WASI_FLAGS := --target=wasm32-wasi --sysroot=$(WASI_SYSROOT) $(CSTD) $(WASI_CFLAGS)

WASI_CORE_OBJ := $(CORE_SRC:%.c=$(WASI_OUT)/obj/%.o)
WASI_PKTRUN_OBJ := $(PKTRUN_SRC:%.c=$(WASI_OUT)/obj/%.o)
WASI_CMDS := $(patsubst %,$(WASI_OUT)/wtcp-%.wasm,echo httpd get)
WASI_CMD_OBJ := $(patsubst %,$(WASI_OUT)/obj/wasi/%.o,echo httpd get loop link)
.SECONDARY: $(WASI_CMD_OBJ)

# wtcp-pktrun uses setjmp/longjmp: clang lowers them to WebAssembly exceptions. Debian's
# wasi-libc has no setjmp.h, so wasi/shim supplies the header and the small runtime; a
# sysroot that has them (wasi-sdk >= 22) brings its own libsetjmp.
WASI_SJLJ := -mexception-handling -mllvm -wasm-enable-sjlj
WASI_HAS_SETJMP := $(wildcard $(WASI_SYSROOT)/include/setjmp.h $(WASI_SYSROOT)/include/wasm32-wasi/setjmp.h)
ifeq ($(WASI_HAS_SETJMP),)
WASI_PKTRUN_INC := -Iwasi/shim
WASI_PKTRUN_RT := $(WASI_OUT)/obj/wasi/shim/sjlj.o
WASI_PKTRUN_LIBS := $(WASI_PKTRUN_RT)
else
WASI_PKTRUN_INC :=
WASI_PKTRUN_RT :=
WASI_PKTRUN_LIBS := -lsetjmp
endif

.PHONY: wasi wasi-test
wasi: $(WASI_OUT)/libwtcp.a $(WASI_OUT)/include/wtcp.h $(WASI_CMDS) \
      $(WASI_OUT)/wtcp-pktrun.wasm $(WASI_OUT)/wtcp-example.wasm

# The core, as the native build compiles it.
$(WASI_OUT)/obj/src/%.o: src/%.c $(HDRS) | $(WASI_SYSROOT_DEP)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_FLAGS) -Iinclude -Isrc -c $< -o $@

$(WASI_OUT)/libwtcp.a: $(WASI_CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(WASI_AR) rcs $@ $^

$(WASI_OUT)/include/wtcp.h: include/wtcp.h
	@mkdir -p $(dir $@)
	cp $< $@

# The commands: the public header only.
$(WASI_OUT)/obj/wasi/%.o: wasi/%.c wasi/loop.h wasi/link.h include/wtcp.h | $(WASI_SYSROOT_DEP)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_FLAGS) -Iinclude -c $< -o $@

$(WASI_OUT)/wtcp-%.wasm: $(WASI_OUT)/obj/wasi/%.o $(WASI_OUT)/obj/wasi/loop.o $(WASI_OUT)/obj/wasi/link.o $(WASI_OUT)/libwtcp.a
	$(WASI_CC) $(WASI_FLAGS) $(WASI_LDFLAGS) $^ -o $@

# The packet-script runner, unchanged sources.
$(WASI_OUT)/obj/wasi/shim/%.o: wasi/shim/%.c | $(WASI_SYSROOT_DEP)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_FLAGS) $(WASI_SJLJ) -c $< -o $@

$(WASI_OUT)/obj/tools/pktrun/%.o: tools/pktrun/%.c $(wildcard tools/pktrun/*.h) include/wtcp.h | $(WASI_SYSROOT_DEP)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_FLAGS) $(WASI_SJLJ) $(WASI_PKTRUN_INC) -Iinclude -c $< -o $@

$(WASI_OUT)/wtcp-pktrun.wasm: $(WASI_PKTRUN_OBJ) $(WASI_PKTRUN_RT) $(WASI_OUT)/libwtcp.a
	$(WASI_CC) $(WASI_FLAGS) $(WASI_LDFLAGS) -mexception-handling $(WASI_PKTRUN_OBJ) $(WASI_OUT)/libwtcp.a $(WASI_PKTRUN_LIBS) -o $@

# The example builds the way a user's program would: installed header and library only.
$(WASI_OUT)/wtcp-example.wasm: wasi/example/example.c $(WASI_OUT)/include/wtcp.h $(WASI_OUT)/libwtcp.a | $(WASI_SYSROOT_DEP)
	$(WASI_CC) $(WASI_FLAGS) $(WASI_LDFLAGS) -I$(WASI_OUT)/include $< $(WASI_OUT)/libwtcp.a -o $@

# The native peer that plays the network in wasi/test.sh.
$(WASI_OUT)/peer: wasi/test/peer.c $(BUILD)/libwtcp.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(BUILD)/libwtcp.a -o $@

wasi-test: wasi $(WASI_OUT)/peer $(BUILD)/wtcp-pktrun
	wasi/test.sh $(BUILD)

APT_PKGS += llvm nodejs
TEST_PREREQS += wasi $(WASI_OUT)/peer

# ---- the POSIX layer: BSD sockets for unmodified programs (docs/POSIX.md) ----
#   build/wasi/libwtcp-posix.a       the core and the layer, one library to link
#   build/wasi/posix/include/        its headers: put them before the sysroot's (-I)
WASI_POSIX_SRC := $(sort $(wildcard wasi/posix/*.c)) wasi/link.c
WASI_POSIX_OBJ := $(WASI_POSIX_SRC:%.c=$(WASI_OUT)/obj/posix/%.o)
WASI_POSIX_HDRS := $(sort $(wildcard wasi/posix/include/*.h wasi/posix/include/*/*.h))
WASI_POSIX_INC := $(WASI_OUT)/posix/include
WASI_POSIX_LIB := $(WASI_OUT)/libwtcp-posix.a

$(WASI_OUT)/obj/posix/%.o: %.c wasi/posix/posix.h wasi/link.h include/wtcp.h $(WASI_POSIX_HDRS) | $(WASI_SYSROOT_DEP)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_FLAGS) -Iwasi/posix/include -Iinclude -c $< -o $@

$(WASI_POSIX_LIB): $(WASI_CORE_OBJ) $(WASI_POSIX_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(WASI_AR) rcs $@ $^

$(WASI_POSIX_INC)/.stamp: $(WASI_POSIX_HDRS)
	@mkdir -p $(dir $@)
	rm -rf $(WASI_POSIX_INC) && mkdir -p $(WASI_POSIX_INC) && cp -r wasi/posix/include/. $(WASI_POSIX_INC)/ && touch $@

wasi: $(WASI_POSIX_LIB) $(WASI_POSIX_INC)/.stamp
