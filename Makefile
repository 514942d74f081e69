# ioasid — one Makefile for everything (STYLE.md convention 1).
#
#   make            build libraries, the LD_PRELOAD shim, tools, tests and benchmarks into build/
#   make check      build, then run every test: the normal build and an ASan/UBSan build
#   make demo       run the main job on the built-in default platform
#   make bench      run the benchmark set and rewrite the results in docs/PERFORMANCE.md
#   make install    PREFIX=/usr/local DESTDIR= : headers, libraries, pkg-config file, tools
#
# Parts that need no BPF build without clang.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= gcc

VERSION := 0.1.0
WARN    := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
CFLAGS  += $(WARN) -std=gnu11 -fPIC -D_GNU_SOURCE -pthread -fvisibility=hidden
CPPFLAGS += -Iinclude -Isrc -Iuapi-shim
LDLIBS  += -pthread

ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# ---- sources ------------------------------------------------------------------------------
LIB_SRCS     := $(wildcard src/common/*.c src/platform/*.c src/reference/*.c src/vfio/*.c src/mockhw/*.c)
PRELOAD_SRCS := $(wildcard uapi-shim/preload/*.c)
TOOL_SRCS    := $(wildcard src/tools/*.c)
BENCH_SRCS   := $(wildcard src/bench/*.c)
TEST_SRCS    := $(wildcard tests/test_*.c)
CLIENT_SRCS  := $(wildcard tests/clients/*.c)

LIB_OBJS     := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
PRELOAD_OBJS := $(PRELOAD_SRCS:%.c=$(BUILD)/obj/%.o)
ASAN_LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/asan/obj/%.o)

LIB_A        := $(BUILD)/lib/libioasid.a
LIB_SO       := $(BUILD)/lib/libioasid.so
PRELOAD_SO   := $(BUILD)/lib/libioasid-preload.so
ASAN_LIB_A   := $(BUILD)/asan/lib/libioasid.a

TOOLS        := $(TOOL_SRCS:src/tools/%.c=$(BUILD)/bin/%)
BENCHES      := $(BENCH_SRCS:src/bench/%.c=$(BUILD)/bench/%)
TESTS        := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
ASAN_TESTS   := $(TEST_SRCS:tests/%.c=$(BUILD)/asan/tests/%)
CLIENTS      := $(CLIENT_SRCS:tests/clients/%.c=$(BUILD)/tests/clients/%)

CRITERION_LIBS := $(shell pkg-config --libs criterion 2>/dev/null || echo -lcriterion)

# ---- BPF programs and the trace library -----------------------------------------------------
# bpf/*.bpf.c → $(BUILD)/bpf/*.bpf.o (clang, CO-RE against a vmlinux.h dumped from the build
# host's BTF) → $(BUILD)/bpf/*.skel.h (bpftool gen skeleton; never committed). The trace
# library (src/trace/) embeds the skeletons; tools and tests link it with libbpf, libelf, zlib.
CLANG       ?= clang
BPFTOOL     ?= bpftool
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
BPF_SRCS    := $(wildcard bpf/*.bpf.c)
BPF_OBJS    := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
BPF_SKELS   := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.skel.h)
HOST_MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
BPF_CFLAGS  := -g -O2 -target bpf -D__TARGET_ARCH_x86 -mcpu=v3 -Wall -Wno-unused-function \
	       -I$(BUILD)/bpf -Ibpf -Iinclude \
	       -idirafter /usr/include/$(HOST_MULTIARCH) -idirafter /usr/include

TRACE_SRCS  := $(wildcard src/trace/*.c src/check/*.c src/top/*.c src/benchkit/*.c)
TRACE_OBJS  := $(TRACE_SRCS:%.c=$(BUILD)/obj/%.o)
ASAN_TRACE_OBJS := $(TRACE_SRCS:%.c=$(BUILD)/asan/obj/%.o)
TRACE_A     := $(BUILD)/lib/libioasid-trace.a
ASAN_TRACE_A := $(BUILD)/asan/lib/libioasid-trace.a
TRACE_LIBS  := -lbpf -lelf -lz

.PHONY: all check check-fast build-asan demo bench install clean deps conformance check-kernel
all: $(LIB_A) $(LIB_SO) $(PRELOAD_SO) $(TRACE_A) $(TOOLS) $(BENCHES) $(TESTS) $(CLIENTS)

deps:
	@scripts/install-deps.sh --quiet

# ---- objects --------------------------------------------------------------------------------
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(filter-out -O2,$(CFLAGS)) $(ASAN_FLAGS) -MMD -MP -c $< -o $@

# The USDT probe sites: the optimised 5-byte-nop uprobe clobbers the red zone (src/common/probes.c).
PROBE_FLAGS := -mno-red-zone -DSTAP_SDT_ARG_CONSTRAINT=nr
$(BUILD)/obj/src/common/probes.o $(BUILD)/asan/obj/src/common/probes.o: CFLAGS += $(PROBE_FLAGS)

# ---- BPF objects and skeletons --------------------------------------------------------------
$(BUILD)/bpf/vmlinux.h:
	@mkdir -p $(dir $@)
	@test -r $(VMLINUX_BTF) || { echo "make: kernel BTF $(VMLINUX_BTF) not readable: the BPF programs need it (set VMLINUX_BTF=PATH to a vmlinux with BTF)" >&2; exit 1; }
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/bpf/vmlinux.h $(wildcard bpf/*.h) include/ioasid/event.h $(wildcard include/ioasid/aggregate.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@.tmp && mv $@.tmp $@

# Trace library objects see the generated skeletons.
$(TRACE_OBJS) $(ASAN_TRACE_OBJS): CPPFLAGS += -I$(BUILD)/bpf
$(TRACE_OBJS) $(ASAN_TRACE_OBJS): | $(BPF_SKELS)

$(TRACE_A): $(TRACE_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(ASAN_TRACE_A): $(ASAN_TRACE_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# ---- libraries ------------------------------------------------------------------------------
$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(ASAN_LIB_A): $(ASAN_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libioasid.so.0 -o $@ $^ $(LDLIBS)

# The shim carries its own copy of the reference so that it needs nothing at run time.
$(PRELOAD_SO): $(PRELOAD_OBJS) $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $^ $(LDLIBS) -ldl

# ---- tools and benchmarks -------------------------------------------------------------------
$(BUILD)/bin/%: src/tools/%.c $(TRACE_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -I$(BUILD)/bpf $(CFLAGS) -MMD -MP -o $@ $< $(TRACE_A) $(LIB_A) $(TRACE_LIBS) $(LDLIBS) -lm

$(BUILD)/bench/%: src/bench/%.c $(TRACE_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -I$(BUILD)/bpf $(CFLAGS) -MMD -MP -o $@ $< $(TRACE_A) $(LIB_A) $(TRACE_LIBS) $(LDLIBS) -lm

# ---- tests ----------------------------------------------------------------------------------
# Unit tests see the internal headers (src/) and the uAPI headers (uapi-shim/).
TEST_CPPFLAGS := $(CPPFLAGS) -Iuapi-shim -Itests

$(BUILD)/tests/%: tests/%.c $(TRACE_A) $(LIB_A) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CPPFLAGS) -I$(BUILD)/bpf $(CFLAGS) -MMD -MP -o $@ $< $(TRACE_A) $(LIB_A) $(CRITERION_LIBS) $(TRACE_LIBS) $(LDLIBS) -lm

$(BUILD)/asan/tests/%: tests/%.c $(ASAN_TRACE_A) $(ASAN_LIB_A) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CPPFLAGS) -I$(BUILD)/bpf $(filter-out -O2,$(CFLAGS)) $(ASAN_FLAGS) -MMD -MP -o $@ $< $(ASAN_TRACE_A) $(ASAN_LIB_A) $(CRITERION_LIBS) $(TRACE_LIBS) $(LDLIBS) -lm

# Unmodified clients: only the uAPI headers, libc, open() and ioctl(). Never the reference.
$(BUILD)/tests/clients/%: tests/clients/%.c $(wildcard tests/clients/*.h)
	@mkdir -p $(dir $@)
	$(CC) -Iuapi-shim -O2 -g -Wall -Wextra -o $@ $<

# check and demo are the README's two commands: each installs what is missing, then builds.
# check runs every test: the unit and tool tests (normal build + ASan/UBSan), a one-minute
# fuzzing smoke run with the fail-nth sweep (docs/RELIABILITY.md), then the real-kernel testbed
# (docs/TESTBED.md; the first run builds its kernel, ~8 minutes).
check: deps
	@$(MAKE) --no-print-directory all build-asan
	@scripts/run-tests.sh $(BUILD)
	@$(MAKE) --no-print-directory fuzz-smoke
	@scripts/testbed/check-kernel.sh $(BUILD)

build-asan: $(ASAN_TESTS)

# The normal build only (no sanitizers): quick iteration.
check-fast: all
	@IOASID_SKIP_ASAN=1 scripts/run-tests.sh $(BUILD)

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(BUILD)

# The kernel's own iommufd selftests (linux-source-6.12), built against uapi-shim/ and run under
# ioasid-run: docs/CONFORMANCE.md.
conformance: deps
	@$(MAKE) --no-print-directory all
	@scripts/conformance.sh $(BUILD)

# The real-kernel testbed (scripts/testbed/): the toolkit against a real iommufd/VT-d stack in a
# QEMU guest; builds the testbed kernel from linux-source-6.12 on first use (~8 minutes).
check-kernel: deps
	@$(MAKE) --no-print-directory all fuzz-replay
	@scripts/testbed/check-kernel.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench.sh $(BUILD)

# ---- fuzzing (issue 9; docs/RELIABILITY.md) ------------------------------------------------
# A libFuzzer target over the whole uAPI (tests/fuzz/), built with clang into $(BUILD)/fuzz/:
#   make fuzz FUZZ_TIME=600   a campaign of FUZZ_TIME seconds (scripts/fuzz.sh campaign)
#   make fuzz-smoke           about a minute: 45 s of fuzzing and the fail-nth sweep of the
#                             corpus (for make check)
#   make fuzz-replay          the replay tool: a corpus entry as a plain open/ioctl/close
#                             program (real kernel, ioasid-run), and the seed assembler
# The Criterion test tests/test_fuzz_regressions.c replays the corpus and every reproducer of
# tests/fuzz/regressions/ with the same oracles in the normal and ASan builds.
FUZZ_CC     ?= clang
FUZZ_TIME   ?= 600
FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	       -fno-sanitize-recover=undefined $(WARN) -std=gnu11 -D_GNU_SOURCE -pthread
FUZZ_SRCS   := $(LIB_SRCS) $(wildcard src/check/*.c) src/trace/event_format.c \
	       tests/fuzz/decoder.c tests/fuzz/calls.c tests/fuzz/inproc.c
FUZZ_OBJS   := $(FUZZ_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_BIN    := $(FUZZ_DIR)/fuzz_uapi
FUZZ_REPLAY := $(FUZZ_DIR)/fuzz-replay

.PHONY: fuzz fuzz-smoke fuzz-replay fuzz-build
$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) -Itests $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj/src/common/probes.o: FUZZ_CFLAGS += $(PROBE_FLAGS)

$(FUZZ_BIN): tests/fuzz/fuzz_uapi.c $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) -Itests $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lm

$(FUZZ_REPLAY): tests/fuzz/replay.c tests/fuzz/decoder.c tests/fuzz/calls.c \
		$(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(CC) -Iuapi-shim -Isrc -Itests -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -o $@ \
		tests/fuzz/replay.c tests/fuzz/decoder.c tests/fuzz/calls.c

# The regression test compiles the fuzzer's sources in and finds the corpus by absolute path.
$(BUILD)/tests/test_fuzz_regressions $(BUILD)/asan/tests/test_fuzz_regressions: \
	TEST_CPPFLAGS += -DFUZZ_DIR='"$(CURDIR)/tests/fuzz"'

fuzz-build: $(FUZZ_BIN) $(FUZZ_REPLAY)
fuzz-replay: $(FUZZ_REPLAY)

fuzz: fuzz-build
	@scripts/fuzz.sh $(BUILD) campaign $(FUZZ_TIME)

fuzz-smoke: fuzz-build
	@scripts/fuzz.sh $(BUILD) smoke 45

# ---- install --------------------------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(PREFIX)/include/ioasid $(DESTDIR)$(PREFIX)/include/ioasid/uapi/linux \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 0644 include/ioasid/*.h $(DESTDIR)$(PREFIX)/include/ioasid/
	install -m 0644 uapi-shim/linux/*.h $(DESTDIR)$(PREFIX)/include/ioasid/uapi/linux/
	install -m 0644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libioasid.so.0
	ln -sf libioasid.so.0 $(DESTDIR)$(PREFIX)/lib/libioasid.so
	install -m 0755 $(PRELOAD_SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' scripts/ioasid.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/ioasid.pc
	@if ls man/*.[1-8] >/dev/null 2>&1; then \
		install -d $(DESTDIR)$(PREFIX)/share/man/man1; \
		install -m 0644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/; fi

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -path $(BUILD)/testbed -prune -o -name '*.d' -type f -print 2>/dev/null)
