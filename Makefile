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

.PHONY: all check check-fast build-asan demo bench install clean deps conformance
all: $(LIB_A) $(LIB_SO) $(PRELOAD_SO) $(TOOLS) $(BENCHES) $(TESTS) $(CLIENTS)

deps:
	@scripts/install-deps.sh --quiet

# ---- objects --------------------------------------------------------------------------------
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(filter-out -O2,$(CFLAGS)) $(ASAN_FLAGS) -MMD -MP -c $< -o $@

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
$(BUILD)/bin/%: src/tools/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -o $@ $< $(LIB_A) $(LDLIBS)

$(BUILD)/bench/%: src/bench/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -o $@ $< $(LIB_A) $(LDLIBS) -lm

# ---- tests ----------------------------------------------------------------------------------
# Unit tests see the internal headers (src/) and the uAPI headers (uapi-shim/).
TEST_CPPFLAGS := $(CPPFLAGS) -Iuapi-shim -Itests

$(BUILD)/tests/%: tests/%.c $(LIB_A) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CPPFLAGS) $(CFLAGS) -MMD -MP -o $@ $< $(LIB_A) $(CRITERION_LIBS) $(LDLIBS)

$(BUILD)/asan/tests/%: tests/%.c $(ASAN_LIB_A) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CPPFLAGS) $(filter-out -O2,$(CFLAGS)) $(ASAN_FLAGS) -MMD -MP -o $@ $< $(ASAN_LIB_A) $(CRITERION_LIBS) $(LDLIBS)

# Unmodified clients: only the uAPI headers, libc, open() and ioctl(). Never the reference.
$(BUILD)/tests/clients/%: tests/clients/%.c
	@mkdir -p $(dir $@)
	$(CC) -Iuapi-shim -O2 -g -Wall -Wextra -o $@ $<

# check and demo are the README's two commands: each installs what is missing, then builds.
check: deps
	@$(MAKE) --no-print-directory all build-asan
	@scripts/run-tests.sh $(BUILD)

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

bench: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench.sh $(BUILD)

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

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
