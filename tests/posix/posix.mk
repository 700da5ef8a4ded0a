# posix.mk: the test programs of the BSD-sockets layer for WASI (tests/posix/progs/*.c),
# each built natively and for wasm32-wasi against $(WASI_OUT)/libwtcp-posix.a, the way a
# user would build a socket program (included by the top-level Makefile; the suite is
# tests/posix/test.sh).
#
#   $(BUILD)/tests/posix/native/NAME       against the system's own sockets
#   $(BUILD)/tests/posix/wasm/NAME.wasm    against the layer
#
# `make posix-progs` builds both sets, `make posix-test` runs the suite (root).

POSIX_PROGS := echo_select httpd_poll http_get nbconnect udp_server udp_client rcvtimeo chat errors upload alarm_timeout
POSIX_NATIVE := $(POSIX_PROGS:%=$(BUILD)/tests/posix/native/%)
POSIX_WASM := $(POSIX_PROGS:%=$(BUILD)/tests/posix/wasm/%.wasm)
# Ordinary portable programs: C11 plus the POSIX/BSD interfaces, no project headers.
POSIX_PROG_FLAGS := -std=c11 -Wall -Wextra -Werror -pedantic -D_DEFAULT_SOURCE
# A native-sized stack (wasm-ld's default is 64 KiB; docs/POSIX.md).
POSIX_WASM_LDFLAGS := -Wl,-z,stack-size=8388608

.PHONY: posix-progs posix-test
posix-progs: $(POSIX_NATIVE) $(POSIX_WASM)

$(BUILD)/tests/posix/native/%: tests/posix/progs/%.c
	@mkdir -p $(dir $@)
	$(CC) $(POSIX_PROG_FLAGS) -O2 -g $< -o $@

$(BUILD)/tests/posix/wasm/%.wasm: tests/posix/progs/%.c $(WASI_OUT)/libwtcp-posix.a | $(WASI_SYSROOT_DEP)
	@mkdir -p $(dir $@)
	$(WASI_CC) --target=wasm32-wasi --sysroot=$(WASI_SYSROOT) $(POSIX_PROG_FLAGS) -O2 \
	    -I$(WASI_OUT)/posix/include $< $(WASI_OUT)/libwtcp-posix.a $(POSIX_WASM_LDFLAGS) $(WASI_LDFLAGS) -o $@

# alarm_timeout uses setjmp/longjmp and signal() as netcat does, and is built as a porter
# builds netcat: WebAssembly exceptions for setjmp (wasi/shim when the sysroot has no
# setjmp.h) and wasi-libc's signal emulation.
$(BUILD)/tests/posix/wasm/alarm_timeout.wasm: tests/posix/progs/alarm_timeout.c $(WASI_OUT)/libwtcp-posix.a $(WASI_PKTRUN_RT) | $(WASI_SYSROOT_DEP)
	@mkdir -p $(dir $@)
	$(WASI_CC) --target=wasm32-wasi --sysroot=$(WASI_SYSROOT) $(POSIX_PROG_FLAGS) -O2 $(WASI_SJLJ) \
	    -D_WASI_EMULATED_SIGNAL -I$(WASI_OUT)/posix/include $(WASI_PKTRUN_INC) $< \
	    $(WASI_OUT)/libwtcp-posix.a $(WASI_PKTRUN_LIBS) -lwasi-emulated-signal -mexception-handling \
	    $(POSIX_WASM_LDFLAGS) $(WASI_LDFLAGS) -o $@

posix-test: $(POSIX_NATIVE) $(POSIX_WASM) $(BUILD)/wtcp-relay $(BUILD)/tests/posix/netdb_check
	tests/posix/test.sh $(BUILD)
	tests/posix/netdb.sh $(BUILD)

# netdb.c and inet.c natively, against a hostile DNS server (tests/posix/netdb.sh). The
# layer's headers come first: its netdb.h replaces glibc's.
$(BUILD)/tests/posix/netdb_check: tests/posix/netdb_check.c wasi/posix/netdb.c wasi/posix/inet.c \
    wasi/posix/include/netdb.h wasi/posix/include/arpa/inet.h wasi/posix/include/sys/socket.h
	@mkdir -p $(dir $@)
	$(CC) $(POSIX_PROG_FLAGS) -O2 -g -Iwasi/posix/include tests/posix/netdb_check.c \
	    wasi/posix/netdb.c wasi/posix/inet.c -o $@

TEST_PREREQS += $(POSIX_NATIVE) $(POSIX_WASM) $(BUILD)/tests/posix/netdb_check
