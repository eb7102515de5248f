# VoixIA: one Makefile for voiceproxy, sipbridge, their tests, fakes and tools.
#
#   make            release build: build/voiceproxy build/sipbridge build/main-sipbridge
#   make deps       apt-get every Debian package building, testing and the demo need
#   make test       deps + sanitizer build (ASan+UBSan, leaks checked) + every test
#   make demo       deps + a full local call with simulated agent (tests/demo.sh)
#   make bench      deps + load benchmark (tests/bench/run.sh)
#   make fuzz       libFuzzer targets under build/fuzz (clang)
#
# Variants: V=release (default, build/) or V=asan (build/asan/).
# Layout convention: every tests/unit/test_*.c is one cmocka program; every
# tests/fakes/*.c and tests/bench/*.c is one program; tests/lib/*.c is shared
# test code; proxy/main.c and bridge/main.c hold the two main()s.

V ?= release
CC ?= gcc
PKGS := sofia-sip-ua libmicrohttpd libwebsockets jansson libcurl libuv

ifeq ($(V),asan)
OUT := build/asan
VFLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(V),fuzz)
OUT := build/fuzz
# UB aborts (so libFuzzer records it as a crash). The project code is
# compiled warning-free by gcc in the other variants; here clang's extra
# warnings must not stop fuzzing, except in the fuzz targets themselves.
VFLAGS := -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined -Wno-error
else
OUT := build
VFLAGS := -O2
endif

# pkg-config is evaluated lazily (recipes only), so `make deps` may install
# the libraries first within the same invocation.
PKG_CFLAGS = $(patsubst -I%,-isystem %,$(shell pkg-config --cflags $(PKGS)))
PKG_LIBS = $(shell pkg-config --libs $(PKGS)) -lssl -lcrypto -lpthread -lm
CMOCKA_LIBS = $(shell pkg-config --libs cmocka)

CFLAGS_BASE := -std=gnu11 -g -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers \
	-D_GNU_SOURCE -Icommon -Iproxy -Ibridge -Itests/lib -MMD -MP
CFLAGS_ALL = $(CFLAGS_BASE) $(VFLAGS) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS_ALL = $(VFLAGS) $(EXTRA_LDFLAGS)

COMMON_SRC := $(wildcard common/*.c)
PROXY_SRC := $(filter-out proxy/main.c,$(wildcard proxy/*.c))
BRIDGE_SRC := $(filter-out bridge/main.c,$(wildcard bridge/*.c))
TESTLIB_SRC := $(wildcard tests/lib/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FAKE_SRC := $(wildcard tests/fakes/*.c)
BENCH_SRC := $(wildcard tests/bench/*.c)

obj = $(patsubst %.c,$(OUT)/obj/%.o,$(1))

LIBCOMMON := $(OUT)/libcommon.a
LIBPROXY := $(OUT)/libproxy.a
LIBBRIDGE := $(OUT)/libbridge.a
LIBTEST := $(OUT)/libtest.a
ALL_LIBS := $(LIBTEST) $(LIBPROXY) $(LIBBRIDGE) $(LIBCOMMON)

UNIT_BIN := $(patsubst tests/unit/%.c,$(OUT)/tests/unit/%,$(UNIT_SRC))
FAKE_BIN := $(patsubst tests/fakes/%.c,$(OUT)/tests/fakes/%,$(FAKE_SRC))
BENCH_BIN := $(patsubst tests/bench/%.c,$(OUT)/tests/bench/%,$(BENCH_SRC))
PROGS := $(OUT)/voiceproxy $(OUT)/sipbridge $(OUT)/main-sipbridge

.PHONY: all progs tests deps test check asan bench demo fuzz clean lint tidy
.DEFAULT_GOAL := all

all: progs tests
progs: $(PROGS)
tests: $(UNIT_BIN) $(FAKE_BIN) $(BENCH_BIN)

$(OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
$(LIBPROXY): $(call obj,$(PROXY_SRC))
$(LIBBRIDGE): $(call obj,$(BRIDGE_SRC))
$(LIBTEST): $(call obj,$(TESTLIB_SRC))
$(OUT)/%.a:
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(OUT)/voiceproxy: $(call obj,proxy/main.c) $(LIBPROXY) $(LIBCOMMON)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)
$(OUT)/sipbridge: $(call obj,bridge/main.c) $(LIBBRIDGE) $(LIBCOMMON)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)
# The original service's CLI name for the bridge.
$(OUT)/main-sipbridge: $(OUT)/sipbridge
	ln -sf sipbridge $@

$(OUT)/tests/unit/%: $(OUT)/obj/tests/unit/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)
$(OUT)/tests/fakes/%: $(OUT)/obj/tests/fakes/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)
$(OUT)/tests/bench/%: $(OUT)/obj/tests/bench/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) $(BENCH_LIBS)
# floor --uring: its io_uring relay (the bench only; the product does not use it)
$(OUT)/tests/bench/floor: BENCH_LIBS = -luring

# ---- packages ---------------------------------------------------------------
# Everything building, testing, the demo and the benchmark use, from Debian.
# ca-certificates: the store wss:// (OpenAI) is verified against; openssl:
# the tests' certificates; socat: TLS in front of the tests' fakes;
# liburing-dev: tests/bench/floor --uring.
DEB_PKGS := build-essential pkg-config libsofia-sip-ua-dev libmicrohttpd-dev \
	libwebsockets-dev libjansson-dev libcurl4-openssl-dev libuv1-dev libcmocka-dev \
	libssl-dev ca-certificates openssl sip-tester baresip-core kamailio espeak-ng sox python3 \
	python3-jsonschema clang libclang-rt-14-dev sipvicious curl procps psmisc iproute2 \
	cppcheck clang-tidy socat liburing-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	else echo "deps: all Debian packages present"; fi

# ---- test, demo, bench, fuzz --------------------------------------------------
asan:
	@$(MAKE) --no-print-directory V=asan all

test: deps
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory tidy
	@$(MAKE) --no-print-directory V=release progs tests
	@$(MAKE) --no-print-directory V=asan all
	@tests/run.sh build/asan

check:
	@$(MAKE) --no-print-directory V=asan all
	@tests/run.sh build/asan

demo: deps
	@$(MAKE) --no-print-directory V=release all
	@tests/demo.sh

bench: deps
	@$(MAKE) --no-print-directory V=release all
	@tests/bench/run.sh $(BENCH_ARGS)

# Each tests/fuzz/fuzz_X.c is one libFuzzer target build/fuzz/fuzz_X.
# Run them: tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...] (docs/security.md).
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_OBJ := $(patsubst %.c,build/fuzz/obj/%.o,$(FUZZ_SRC))
fuzz:
	@$(MAKE) --no-print-directory V=fuzz CC=clang fuzz-bins
fuzz-bins: $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
# Keep the targets' objects (not make intermediates) so nothing relinks needlessly.
.SECONDARY: $(FUZZ_OBJ)
$(FUZZ_OBJ): EXTRA_CFLAGS += -Werror
build/fuzz/fuzz_%: build/fuzz/obj/tests/fuzz/fuzz_%.o $(ALL_LIBS)
	$(CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)

# cppcheck findings are fixed or suppressed here with the reason:
# - legacyUninitvar in rt_build.c: jansson's json_array_foreach macro
#   confuses cppcheck's flow analysis (the variable is assigned before use).
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
	  --suppress=missingIncludeSystem --suppress=legacyUninitvar:proxy/rt_build.c \
	  -Icommon -Iproxy -Ibridge common proxy bridge

# clang-tidy: the check set, its exclusions and their reasons are in .clang-tidy;
# every finding is an error (fix it, or NOLINT(check) it with the reason).
# One process per file: several files in one clang-tidy process make
# clang-analyzer-valist.Uninitialized report false positives. ~65 s of CPU:
# ~35 s on an idle 2-core machine, 2.5 min under a load of 6, so `make test`
# runs it.
TIDY ?= clang-tidy
TIDY_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
TIDY_SRC = $(wildcard common/*.c proxy/*.c bridge/*.c)
TIDY_FLAGS = -std=gnu11 -D_GNU_SOURCE -Icommon -Iproxy -Ibridge -Itests/lib $(PKG_CFLAGS)
tidy:
	@echo "clang-tidy: $(words $(TIDY_SRC)) files"
	@printf '%s\n' $(TIDY_SRC) | xargs -P$(TIDY_JOBS) -n1 sh -c \
	  'out=$$($(TIDY) --quiet "$$1" -- $(TIDY_FLAGS) 2>&1); rc=$$?; \
	   printf "%s\n" "$$out" | grep -v "^[0-9]* warnings\? generated\.$$" | grep -v "^$$"; exit $$rc' sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
