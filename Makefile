# Convenience targets around CMake.  The two commands of the README:
#   make run     install dependencies, build, start cairn-server on 127.0.0.1:6379
#   make check   install dependencies, build, run every test (also under ASan+UBSan),
#                build the embedding example against an installed libcairn, and run
#                each fuzz target for 10 seconds

JOBS ?= 2
BUILD ?= build
PYTEST = /usr/bin/python3 -m pytest -q -p no:cacheprovider

.PHONY: all bootstrap build release asan fuzz-build fuzz run check test unit integration install clean format bench sim redis-suite

all: build

bootstrap:
	./scripts/bootstrap.sh

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

release:
	cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build-release -j$(JOBS)

asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCAIRN_SANITIZE=ON >/dev/null
	cmake --build build-asan -j$(JOBS)

# libFuzzer targets (tests/fuzz/), built with clang, ASan and UBSan, each
# run for FUZZ_SECONDS: make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="resp exec"]
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
# Only the fuzz programs: the server and the unit tests are built and
# tested by the other builds.
FUZZ_PROGRAMS = $(addprefix fuzz_,$(or $(FUZZ_TARGETS),$(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))))
fuzz-build:
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAIRN_FUZZ=ON >/dev/null
	cmake --build build-fuzz -j$(JOBS) --target $(FUZZ_PROGRAMS)

fuzz: fuzz-build
	./scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

run: bootstrap build
	./$(BUILD)/cairn-server --port 6379 --bind 127.0.0.1

unit:
	cd $(BUILD) && ctest --output-on-failure

# Integration test files run TEST_JOBS at a time (pytest-xdist), each
# file's tests in one worker: most of a test's time is spent waiting on
# servers, not computing.
TEST_JOBS ?= 2
integration:
	CAIRN_SERVER_BIN=$(abspath $(BUILD))/cairn-server $(PYTEST) -n $(TEST_JOBS) --dist loadfile tests/integration

test: unit integration

# Redis 7.0's own Tcl suite against the server (not part of check: a
# compatibility report, one line per unit; UNITS="unit/type/list ...").
redis-suite: build
	CAIRN_BIN=$(abspath $(BUILD))/cairn-server ./scripts/redis-suite.sh $(UNITS)

# Everything CI runs: the normal build, then the sanitizer build, each
# with unit and integration tests.
check: bootstrap build
	$(MAKE) --no-print-directory unit integration BUILD=$(BUILD)
	./tests/install/check.sh $(BUILD)
	$(MAKE) --no-print-directory asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(MAKE) --no-print-directory unit integration BUILD=build-asan
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

# A long soak of the Raft simulator: make sim SEEDS=100000 [STEPS=2000]
SEEDS ?= 10000
STEPS ?= 2000
sim: build
	./$(BUILD)/cairn-sim --nodes 3 --seeds $(SEEDS) --steps $(STEPS)
	./$(BUILD)/cairn-sim --nodes 5 --seeds $(SEEDS) --steps $(STEPS)

install: build
	cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

bench: bootstrap release
	./bench/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-release build-fuzz
