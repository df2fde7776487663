# Fuzzing with libFuzzer (clang-14: -fsanitize=fuzzer,address,undefined).
# Included from the Makefile (`include tests/fuzz/fuzz.mk`); uses its LIB_SRC,
# WARN and LDLIBS. Everything is built with clang into build-fuzz/, apart from
# the gcc builds in build/ and build-san/.
#
#   make fuzz          each harness for FUZZ_SECONDS (default 60)
#   make fuzz-smoke    each harness for FUZZ_SMOKE_SECONDS (default 10; for `make test`)
#   make fuzz FUZZ_SECONDS=3600
#
# New inputs go to build-fuzz/corpus_*/ (the committed seeds in tests/fuzz/corpus_*/
# are only read); a crash, leak or timeout stops the run with exit 1 and leaves
# its input in build-fuzz/artifacts/ (replay: build-fuzz/fuzz_config FILE).

FUZZ_CC            ?= clang
FUZZ_SECONDS       ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_BUILD         := build-fuzz
FUZZ_SAN           := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS        := -O1 -g -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
                      -I/usr/include/x86_64-linux-gnu/openblas-pthread -Isrc
FUZZ_LIB_OBJ       := $(LIB_SRC:src/%.c=$(FUZZ_BUILD)/%.o)
FUZZ_HARNESSES     := config idx results
FUZZ_BINS          := $(FUZZ_HARNESSES:%=$(FUZZ_BUILD)/fuzz_%)
# per harness: longest input, and libFuzzer options
FUZZ_OPTS_config   := -max_len=16384 -dict=tests/fuzz/config.dict
FUZZ_OPTS_idx      := -max_len=4096
FUZZ_OPTS_results  := -max_len=65536 -dict=tests/fuzz/results.dict
FUZZ_OPTS          := -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1

.PHONY: fuzz fuzz-smoke fuzz-build

# The library under test: sanitizers plus coverage for libFuzzer (no main).
$(FUZZ_BUILD)/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wall -Wextra $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJ) $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

# $(1): seconds per harness
define fuzz_run
	@set -e; for h in $(FUZZ_HARNESSES); do \
	  mkdir -p $(FUZZ_BUILD)/corpus_$$h $(FUZZ_BUILD)/artifacts; \
	  case $$h in config) extra='$(FUZZ_OPTS_config)';; idx) extra='$(FUZZ_OPTS_idx)';; results) extra='$(FUZZ_OPTS_results)';; esac; \
	  echo "fuzz: $$h for $(1) s"; \
	  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(FUZZ_BUILD)/fuzz_$$h $(FUZZ_OPTS) $$extra -max_total_time=$(1) \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$h- \
	    $(FUZZ_BUILD)/corpus_$$h tests/fuzz/corpus_$$h 2>$(FUZZ_BUILD)/fuzz_$$h.log \
	  || { tail -60 $(FUZZ_BUILD)/fuzz_$$h.log; echo "fuzz: $$h FAILED (log: $(FUZZ_BUILD)/fuzz_$$h.log)"; exit 1; }; \
	  grep -E '^stat::number_of_executed_units|^Done' $(FUZZ_BUILD)/fuzz_$$h.log || true; \
	done
endef

fuzz: $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_SECONDS))

fuzz-smoke: $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_SMOKE_SECONDS))
.SECONDARY: $(FUZZ_LIB_OBJ)
