# Developer and CI entry points. Every target fails if any of its steps fails.
#   make build | demo | test | format-check | asan | check-tsan | fuzz | fuzz-smoke | deb
#        | check-package | check | bench | clean
# Variables: FUZZ_SECONDS (per fuzz target, default 30; `check` uses 10),
# BENCH_ITERATIONS (default 2000), DEB_JOBS (package build, default 2),
# SKIP_DEPS=1 (do not run scripts/deps.sh).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.NOTPARALLEL:

BUILD_DIR ?= build
ASAN_DIR ?= build-asan
TSAN_DIR ?= build-tsan
FUZZ_DIR ?= build-fuzz
DEB_DIR ?= build-deb
DEB_JOBS ?= 2
ASAN_CC ?= gcc
TSAN_CC ?= clang
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30
BENCH_ITERATIONS ?= 2000
CTEST_JOBS ?= 2

CLI := ./$(BUILD_DIR)/tools/dstack-gpu-attest
DEMO_EVIDENCE := tests/fixtures/gpu/h100_590.12_ppcie/evidence.json
DEMO_NONCE := e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576

# LeakSanitizer is on with ASan by default on x86_64 Linux; say so explicitly.
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
           UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: all deps build demo test format-check asan check-tsan fuzz fuzz-smoke deb check-package \
        check bench clean

all: build

deps:
ifneq ($(SKIP_DEPS),1)
	scripts/deps.sh
endif

build: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DDGA_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD_DIR)

demo: build
	scripts/demo.sh $(CLI)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(CTEST_JOBS)

# Every tracked C file as .clang-format says (scripts/check-format.sh --fix rewrites them).
format-check: deps
	scripts/check-format.sh

asan: deps
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_C_COMPILER=$(ASAN_CC) -DDGA_SANITIZE=ON \
	    -DDGA_WERROR=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(ASAN_DIR)
	$(SAN_ENV) ctest --test-dir $(ASAN_DIR) --output-on-failure -j$(CTEST_JOBS)

# ThreadSanitizer over the threaded tests only (a third sanitizer tree; TSan excludes ASan):
# the parallel set appraisal with 1 and N jobs (unit_appraise_parallel), the shared
# verification cache, the relying party's shared re-appraiser under concurrent calls and
# the verifier's. Only their targets are built (about 45 s of tests on a quiet 2-core
# machine, plus the build). No suppression is needed, so none is kept.
TSAN_TARGETS := test_appraise_parallel test_cache test_cvm_reappraise test_verifier
TSAN_TESTS := ^unit_(appraise_parallel|cache|cvm_reappraise|verifier)$$
check-tsan: deps
	cmake -S . -B $(TSAN_DIR) -G Ninja -DCMAKE_C_COMPILER=$(TSAN_CC) -DDGA_TSAN=ON \
	    -DDGA_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(TSAN_DIR) --target $(TSAN_TARGETS)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	    ctest --test-dir $(TSAN_DIR) --output-on-failure -j$(CTEST_JOBS) -R '$(TSAN_TESTS)'

fuzz: deps
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_C_COMPILER=$(FUZZ_CC) -DDGA_FUZZ=ON \
	    -DDGA_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(FUZZ_DIR) --target fuzz_all

fuzz-smoke: fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run-smoke.sh $(FUZZ_DIR)

# The Debian packages (debian/, docs/packaging.md), built by dpkg-buildpackage from a copy
# of the tracked files (as they are in the working tree) in $(DEB_DIR)/src, so that its
# outputs, written to the source's parent, land in $(DEB_DIR). No test runs inside.
deb: deps
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src
	git ls-files -z | tar --null --no-recursion -T - -cf - | tar -xf - -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && DEB_BUILD_OPTIONS="nocheck parallel=$(DEB_JOBS)" \
	    dpkg-buildpackage -us -uc -b
	ls -l $(DEB_DIR)/*.deb $(DEB_DIR)/*.changes

# The built packages unpacked into a throwaway root: file lists, dependencies, the
# program run, the units verified, lintian (tests/package/test_package.sh). Builds them
# first when $(DEB_DIR) holds none.
check-package: deps
	if ! ls $(DEB_DIR)/*.changes >/dev/null 2>&1; then $(MAKE) deb; fi
	tests/package/test_package.sh $(DEB_DIR)

# The full gate (.ci/run): every step in order; a command-line FUZZ_SECONDS still wins.
check: FUZZ_SECONDS = 10
check: deps format-check build test asan check-tsan fuzz-smoke deb check-package

bench: build
	DGA_FIXTURES=$(CURDIR)/tests/fixtures ./$(BUILD_DIR)/bench/bench_verify $(BENCH_ITERATIONS)
	DGA_FIXTURES=$(CURDIR)/tests/fixtures ./$(BUILD_DIR)/bench/bench_appraise
	DGA_FIXTURES=$(CURDIR)/tests/fixtures ./$(BUILD_DIR)/bench/bench_warm
	bench/bench_start.sh $(BUILD_DIR)
	bench/bench_gate.sh $(BUILD_DIR)
	bench/bench_proxy.sh $(BUILD_DIR)
	DGA_FIXTURES=$(CURDIR)/tests/fixtures ./$(BUILD_DIR)/bench/bench_quote
	bench/bench_quote_count.sh $(BUILD_DIR)
	bench/bench_quote.sh $(BUILD_DIR)
	bench/bench_cvm.sh $(BUILD_DIR)
	bench/bench_cvm_count.sh $(BUILD_DIR)
	bench/bench_kms.sh $(BUILD_DIR)
	bench/bench_verifier.sh $(BUILD_DIR)
	bench/bench_rpc.sh $(BUILD_DIR)
	bench/bench_ppcie.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR) $(FUZZ_DIR) $(DEB_DIR)
