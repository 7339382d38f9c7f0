# The hardening harnesses (tests/fault.h, issue 11): fault injection over a
# scripted workload, a seeded multi-thread sequence fuzzer, fork and
# exhaustion.  Linux only: they fork, and the fault injection wraps the
# library's calls at link time (ld's --wrap), so they are not UNIT_TESTS
# (valgrind.sh runs those without arguments); each run is a line below.
# Built and run natively only: the other platforms' runs
# (tests/platform_run.sh) run every test program they find without
# arguments, and the harnesses' numbers (address-space limits, map counts,
# the debug mode's checkers) are this machine's.
ifeq ($(OS),linux)
ifeq ($(TARGET),$(shell cc -dumpmachine 2>/dev/null))
FAULT_WRAPS   := mm_os_reserve_at mm_os_reserve_in mm_os_reserve_anywhere mm_os_commit mm_os_decommit \
                 mm_os_release mm_os_discard mm_os_free_ranges_in mm_os_atfork mm_lock_init malloc calloc realloc free
FAULT_LDFLAGS := $(foreach f,$(FAULT_WRAPS),-Wl,--wrap=$(f))
FAULT_TESTS   := tests/test_faults.c tests/test_fork.c
HARNESS_TESTS := $(FAULT_TESTS) tests/test_fuzz.c tests/test_exhaust.c tests/test_debug.c

tests: $(HARNESS_TESTS:%.c=$(BUILD)/%)
tsan-tests: $(BUILD)/tests/test_fuzz
$(FAULT_TESTS:%.c=$(BUILD)/%): TEST_LDLIBS += $(FAULT_LDFLAGS)

SCRIPT_TESTS     += faults faults-asan fuzz fuzz-asan fuzz-tsan fork fork-asan exhaust debug-asan debug-valgrind
test.faults      := $(BUILD)/tests/test_faults --stride 3
test.faults-asan := $(BUILD)/asan/tests/test_faults --stride 8
test.fuzz        := $(BUILD)/tests/test_fuzz --seed 1 --ops 200000
test.fuzz-asan   := $(BUILD)/asan/tests/test_fuzz --seed 2 --ops 60000
test.fuzz-tsan   := $(BUILD)/tsan/tests/test_fuzz --seed 3 --ops 20000
test.fork        := $(BUILD)/tests/test_fork
test.fork-asan   := $(BUILD)/asan/tests/test_fork
test.exhaust     := $(BUILD)/tests/test_exhaust
# The debug mode: ASan's build has it; valgrind's needs MM_DEBUG=1.
test.debug-asan     := $(BUILD)/asan/tests/test_debug
test.debug-valgrind := $(MAKE) --no-print-directory MM_DEBUG=1 BUILD=$(BUILD)/mmdebug $(BUILD)/mmdebug/tests/test_debug \
                       && $(BUILD)/mmdebug/tests/test_debug
endif
endif

# make soak SOAK_SECONDS=n: the harnesses at length.  Every fault of the
# workload (plain and ASan), the fuzzer for n seconds in each build with a
# seed of the day (printed, to replay with --seed), fork repeated.  All run
# even when one fails; the target fails if any did.
SOAK_SECONDS ?= 600
.PHONY: soak
ifeq ($(OS),linux)
soak:
	$(MAKE) all tests
	$(MAKE) BUILD=$(BUILD)/asan $(ASAN) tests
	$(MAKE) BUILD=$(BUILD)/tsan SANFLAGS=-fsanitize=thread OPTFLAGS="-O1 -g" tsan-tests
	rc=0; seed=$$(date +%s); \
	$(BUILD)/tests/test_faults || rc=1; \
	$(BUILD)/asan/tests/test_faults || rc=1; \
	$(BUILD)/tests/test_fuzz --seed $$seed --seconds $(SOAK_SECONDS) || rc=1; \
	$(BUILD)/asan/tests/test_fuzz --seed $$((seed + 1)) --seconds $(SOAK_SECONDS) || rc=1; \
	$(BUILD)/tsan/tests/test_fuzz --seed $$((seed + 2)) --seconds $(SOAK_SECONDS) || rc=1; \
	for i in 1 2 3 4 5; do $(BUILD)/tests/test_fork || rc=1; done; \
	exit $$rc
endif
