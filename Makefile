# varprop build. `make` builds ./varprop; `make test` runs the whole suite;
# `make demo` runs the main job on configs/demo.json. `make deps` installs the
# Debian packages that are missing (apt-get; sudo when not root).

CC      ?= gcc
# -O2 with GCC's dynamic vectorizer cost model: the statistics and Philox loops are
# written to vectorize (exactly: no reassociation, no fast-math, ISO C so no FMA contraction).
# -fno-math-errno (not part of fast-math's value changes: libm results are the same bits)
# lets GCC compute phi and phi' of one element from one exp/erfc/tanh call; varprop never
# reads errno after a math function. Measured: sigmoid 15.9 -> 10.0, gelu 36 -> 23,
# silu 15.2 -> 11.5 ns per element (float32 kernels, docs/benchmarks.md for whole runs).
OPT     ?= -O2 -fvect-cost-model=dynamic -fno-math-errno
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wundef -Wcast-align -Wwrite-strings -Wpointer-arith \
           -Wvla -Wswitch-enum -Wfloat-conversion -Wnull-dereference
CFLAGS  ?= $(OPT) -g
SANFLAGS ?=
# The language, warnings and include path are not overridable: every build
# (plain, sanitizer, fuzz) compiles the same C with the same -Werror set.
# -ffp-contract=off: no multiply-add fused into an FMA, as GCC's ISO C mode already does;
# clang (the fuzz build) contracts by default, which would change bits the same-bits
# claims rely on (src/core/simd.h, src/core/rng.c).
ALL_CFLAGS = $(CFLAGS) $(SANFLAGS) -Isrc -std=c11 -ffp-contract=off -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -MMD -MP $(WARN) \
           -I/usr/include/x86_64-linux-gnu/openblas-pthread
LDLIBS  := -lcjson -lopenblas -lz -lm -lpthread
# MPI (optional): when Open MPI's mpicc is found (Debian: libopenmpi-dev), varprop is built
# with it, so `mpirun -np N ./varprop run CONFIG.json` spreads the runs over N ranks
# (docs/cluster.md); `make MPI=0` builds without. MPI's headers are system headers for
# the warning set. Without MPI, varprop refuses to run under mpirun rather than run N copies.
MPI     ?= 1
MPICC   ?= mpicc
ifeq ($(MPI),1)
MPI_LINK := $(shell $(MPICC) --showme:link 2>/dev/null)
endif
ifneq ($(MPI_LINK),)
MPI_INC  := $(patsubst -I%,-isystem %,$(shell $(MPICC) --showme:compile 2>/dev/null))
ALL_CFLAGS += -DVP_HAVE_MPI $(MPI_INC)
LDLIBS  += $(MPI_LINK)
$(info varprop: building with MPI ($(MPICC)))
endif
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

BUILD   ?= build
# The library is every layer but the command line: src/{base,core,theory,results,
# experiment,present}/. src/cli/ (the subcommands) is a library of its own that the
# tests link too; main.c only dispatches.
LAYERS  := base core theory results experiment present
LIB_SRC := $(sort $(filter-out src/present/preload/%,$(foreach d,$(LAYERS),$(shell find src/$(d) -name '*.c'))))
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/%.o)
CLI_SRC := $(filter-out src/cli/main.c,$(wildcard src/cli/*.c))
CLI_OBJ := $(CLI_SRC:src/%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c) tests/harness.c
TEST_OBJ := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%.o)

DEB_PKGS := libcjson-dev libopenblas-dev librandom123-dev gnuplot-nox libcriterion-dev \
            zlib1g-dev dataset-fashion-mnist clang-14 libclang-rt-14-dev python3-torch \
            libopenmpi-dev openmpi-bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps test unit sanitize demo bench bench-act bench-theory fuzz clean valgrind docs golden
all: varprop

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "varprop: installing missing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "varprop: all Debian dependencies present"; fi

$(BUILD)/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libvarprop.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libvarprop-cli.a: $(CLI_OBJ)
	rm -f $@ && ar rcs $@ $^

varprop: $(BUILD)/cli/main.o $(BUILD)/libvarprop-cli.a $(BUILD)/libvarprop.a | $(BUILD)/libvarprop-png.so
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

# The preload library for the gnuplot processes (src/present/preload/png_speed.c: faster
# PNG encoding). It is loaded into gnuplot, never linked into varprop, so every build --
# the sanitizer one too -- makes it without $(SANFLAGS) (an ASan library cannot be
# preloaded into a program without ASan). varprop finds it beside itself or in build/.
$(BUILD)/libvarprop-png.so: src/present/preload/png_speed.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -std=c11 $(WARN) -shared -fPIC -o $@ $< -ldl

$(BUILD)/run_tests: $(TEST_OBJ) $(BUILD)/libvarprop-cli.a $(BUILD)/libvarprop.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ -lcriterion $(LDLIBS)

# Unit and end-to-end tests (Criterion). The CLI tests run ./varprop, so it is built first.
unit: varprop $(BUILD)/run_tests
	VARPROP_ROOT=$(CURDIR) VARPROP_BIN=$(CURDIR)/varprop $(BUILD)/run_tests --jobs 2

# The whole suite: plain build, the same suite under ASan+UBSan, then a short
# libFuzzer run of the config parser and the IDX reader (tests/fuzz/fuzz.mk).
test: deps
	$(MAKE) unit
	$(MAKE) sanitize
	$(MAKE) fuzz-smoke

# build-san/ only ever holds sanitizer objects, so they never mix with build/.
sanitize:
	$(MAKE) BUILD=build-san OPT=-O1 SANFLAGS="$(SAN)" unit-san

unit-san: $(BUILD)/run_tests $(BUILD)/varprop-san
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  VARPROP_ROOT=$(CURDIR) VARPROP_BIN=$(CURDIR)/$(BUILD)/varprop-san $(BUILD)/run_tests --jobs 2

$(BUILD)/varprop-san: $(BUILD)/cli/main.o $(BUILD)/libvarprop-cli.a $(BUILD)/libvarprop.a | $(BUILD)/libvarprop-png.so
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

demo: deps varprop
	./varprop run configs/demo.json

# Speed and memory against the PyTorch peer and the GEMM floor, in one run on this
# machine; writes docs/benchmarks.md and docs/bench_scaling.png (about 10 minutes).
bench: varprop
	sh bench/run_bench.sh

# ns per element of every fused activation kernel (about 10 s; bench/act_kernels.c)
bench-act: $(BUILD)/libvarprop.a
	$(CC) $(ALL_CFLAGS) bench/act_kernels.c $(BUILD)/libvarprop.a $(LDLIBS) -o $(BUILD)/act_kernels
	$(BUILD)/act_kernels

# CPU ms of the tanh phase grid's theory by part, without the networks (bench/theory_parts.c)
bench-theory: $(BUILD)/libvarprop.a
	$(CC) $(ALL_CFLAGS) bench/theory_parts.c $(BUILD)/libvarprop.a $(LDLIBS) -o $(BUILD)/theory_parts
	OPENBLAS_NUM_THREADS=1 $(BUILD)/theory_parts

valgrind: varprop
	valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	  ./varprop run configs/demo.json -o $(BUILD)/valgrind-demo --quiet --threads 1

# docs/registry.md is generated from the registry tables (a test checks it is current).
docs: varprop
	{ cat docs/registry.head.md; ./varprop list --markdown; } > docs/registry.md

# The paper suite (docs/reproduce.md): every experiments/<paper>/ run and judged, report in
# results/reproduce/report.md; exit 0 only when every claim passes. REPRODUCE=--fast for the
# quick version `make test` runs (tests/test_reproduce.c).
reproduce: varprop
	./varprop reproduce all $(REPRODUCE)

# Refactors change no output: every CSV, config.json, chart .dat/.gp and report.md of the
# demo, experiments/ and tests/golden/ configs, byte for byte against GOLDEN_REF (a git
# revision; default HEAD), runs.csv's wall-time column aside (tools/golden.sh, ~1 min).
GOLDEN_REF ?= HEAD
golden:
	sh tools/golden.sh $(GOLDEN_REF)

clean:
	rm -rf build build-san build-fuzz varprop

include tests/fuzz/fuzz.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
