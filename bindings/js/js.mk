# bindings/js/js.mk: the npm package "wtcp" (included by the top-level Makefile).
#
#   make wasm        builds bindings/js/dist/wtcp.wasm with Emscripten (EMCC=... for another emcc)
#   make js-deps     installs the package's npm dependencies (npm ci, from package-lock.json)
#   make js-test     both, then bindings/js/test.sh
#   make js-sizes    prints the .wasm and JS sizes, raw and gzip
#   make js-clean    removes the built .wasm (also part of make clean)
#
# JS_OPT=-Oz trades ~10% of throughput for a .wasm a third smaller (37 KB, 18 KB gzip).
# JS_FEATURES: wasm SIMD (the checksum loop vectorises) and bulk memory (memcpy becomes
# memory.copy instead of a loop in wasm): bulk over pair() ~1.45x faster. Both run in
# Node >= 16.4, Chromium >= 91, Firefox >= 89, Safari >= 16.4; JS_FEATURES= builds a
# .wasm for older engines.
#
# The .wasm is a standalone Emscripten module (no generated JS glue): lib/wasm.js loads it
# the same way in Node, browsers and bundlers. NODE_PATH lets Debian's emcc 3.1.6 find
# acorn when the machine's Node is not Debian's.

EMCC       ?= emcc
JS_DIR     := bindings/js
JS_WASM    := $(JS_DIR)/dist/wtcp.wasm
JS_SHIM    := $(JS_DIR)/src/wtcp_js.c
JS_OPT     ?= -O2
JS_FEATURES ?= -msimd128 -mbulk-memory
JS_CFLAGS  := -std=c11 -Wall -Wextra -Werror -Iinclude -Isrc $(JS_OPT) $(JS_FEATURES) -flto
JS_EXPORTS := malloc free \
	wjs_create wjs_free wjs_stack wjs_tmp wjs_events_ptr wjs_info_ptr wjs_stats_ptr \
	wjs_io_ptr wjs_out_ptr wjs_out_len wjs_out_clear wjs_heap_bytes wjs_scratch wjs_input \
	wjs_inbox_room wjs_input_batch wjs_poll wjs_pump wjs_events wjs_accept wjs_getsockname \
	wjs_getpeername wjs_getsockopt wjs_send wjs_recv wjs_recv_avail \
	wjs_sendto wjs_recvfrom wjs_info wjs_info_name wjs_stats wjs_stat_name wjs_opt_name wjs_opt_count \
	wjs_sockopt_name wjs_sockopt_value wjs_event_name wjs_event_bit wjs_state_name \
	wjs_iface_add wjs_iface_input wjs_route_default wjs_iface_stats wjs_dhcp_enable wjs_dhcp_static \
	wjs_dhcp_lease wjs_nat_enable wjs_nat_dns wjs_nat_forward wjs_nat_unforward \
	wjs_intercept_listen wjs_intercept_complete wjs_intercept_refuse wjs_intercept_udp \
	wjs_intercept_recvfrom wjs_intercept_sendto wjs_intercept_unreachable \
	wtcp_socket wtcp_bind wtcp_listen wtcp_connect wtcp_shutdown wtcp_close wtcp_abort \
	wtcp_setsockopt wtcp_readable wtcp_writable \
	wtcp_errname wtcp_strerror wtcp_drop_name wtcp_state_name wtcp_congestion_name
JS_EMPTY   :=
JS_SPACE   := $(JS_EMPTY) $(JS_EMPTY)
JS_COMMA   := ,
# Emscripten 3.1.25 renamed TOTAL_STACK to STACK_SIZE (expanded only when building).
JS_STACK    = $(if $(shell v=$$($(EMCC) -dumpversion 2>/dev/null) && \
	[ "$$(printf '%s\n' 3.1.25 "$$v" | sort -V | head -n1)" = 3.1.25 ] && echo new),STACK_SIZE,TOTAL_STACK)
JS_LDFLAGS = --no-entry -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH -sINITIAL_MEMORY=1MB \
	-s$(JS_STACK)=64KB -sMALLOC=emmalloc -sFILESYSTEM=0 \
	-sEXPORTED_FUNCTIONS=$(subst $(JS_SPACE),$(JS_COMMA),$(strip $(addprefix _,$(JS_EXPORTS))))

APT_PKGS     += emscripten chromium
TEST_PREREQS += wasm js-deps

.PHONY: wasm js-deps js-test js-sizes js-clean

wasm: $(JS_WASM)

$(JS_WASM): $(CORE_SRC) $(HDRS) $(JS_SHIM) $(JS_DIR)/js.mk
	@command -v $(EMCC) >/dev/null || { echo "make wasm: $(EMCC) not found: run 'make deps' (Debian's emscripten) or pass EMCC=/path/to/emcc" >&2; exit 1; }
	@mkdir -p $(dir $@)
	NODE_PATH=/usr/share/nodejs$${NODE_PATH:+:$$NODE_PATH} $(EMCC) $(JS_CFLAGS) $(CORE_SRC) $(JS_SHIM) $(JS_LDFLAGS) -o $@
	@$(JS_DIR)/tools/sizes.sh $(JS_DIR)

js-deps: $(JS_DIR)/node_modules/.package-lock.json

$(JS_DIR)/node_modules/.package-lock.json: $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	cd $(JS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

js-test: wasm js-deps
	$(JS_DIR)/test.sh $(BUILD)

js-sizes: $(JS_WASM)
	@$(JS_DIR)/tools/sizes.sh $(JS_DIR)

js-clean:
	rm -rf $(JS_DIR)/dist

clean: js-clean
