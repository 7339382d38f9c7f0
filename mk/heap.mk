# The allocator (src/heap): IMethodMalloc over per-module IL heaps, the
# library's version, its tests, benchmark and the example host.
LIB_SRCS       += src/heap/module.c src/heap/chunk.c src/heap/space.c src/heap/donated.c src/heap/iid_unknown.c \
                  src/heap/iid_methodmalloc.c src/version.c
PUBLIC_HEADERS += include/methodmalloc.h
UNIT_TESTS     += tests/test_module.c tests/test_window.c tests/test_com.c tests/test_stress.c tests/test_donate.c
TSAN_TESTS     += tests/test_stress.c tests/test_com.c tests/test_donate.c

ifeq ($(OS),linux)
# Linux only: it punches holes into reservations, which Windows cannot.
UNIT_TESTS        += tests/test_space.c
# Native Linux builds only: it asks the kernel about huge pages
# (/proc/self/smaps, MADV_COLLAPSE), which qemu-user only pretends to answer.
# (By processor, so that clang's x86_64-pc-linux-gnu builds it too.)
ifeq ($(firstword $(subst -, ,$(TARGET))),$(shell uname -m))
UNIT_TESTS        += tests/test_pages.c
endif
TSAN_TESTS        += tests/test_space.c
SCRIPT_TESTS      += header-compat install valgrind windows-x86_64 windows-i686
test.header-compat := tests/header_compat.sh $(BUILD)
test.install       := tests/install_test.sh
# All but test_space, whose threads race mmap against the heaps: valgrind
# runs one thread at a time, and the racers can starve the heaps for minutes.
# Nor test_pages: what it checks is the kernel's pages, not memory errors,
# and its 96 MB of writes would take valgrind minutes.
test.valgrind       = tests/valgrind.sh $(filter-out $(BUILD)/tests/test_space $(BUILD)/tests/test_pages,$(UNIT_TESTS:%.c=$(BUILD)/%))
# The Windows port, as far as this machine can check it: the library and
# tests/compat/windows_abi.c (the header after the Windows SDK's, __stdcall
# slots on 32-bit) built by mingw-w64 with this very build description.
test.windows-x86_64 := $(MAKE) --no-print-directory OS=windows CC=x86_64-w64-mingw32-gcc BUILD=$(BUILD)/windows/x86_64 lib compat-windows
test.windows-i686   := $(MAKE) --no-print-directory OS=windows CC=i686-w64-mingw32-gcc BUILD=$(BUILD)/windows/i686 lib compat-windows
endif

.PHONY: compat-windows
compat-windows: $(BUILD)/compat/windows_abi$(EXE)
$(BUILD)/compat/windows_abi$(EXE): tests/compat/windows_abi.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(STATIC) -o $@ $(LDLIBS)

# The core benchmark (make bench): needs libmimalloc-dev and valgrind.
$(BUILD)/bench/bench_alloc: bench/bench_alloc.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-pedantic $< $(STATIC) -o $@ -ldl -lm $(LDLIBS)
bench: $(BUILD)/bench/bench_alloc
BENCHES     += alloc
bench.alloc := $(BUILD)/bench/bench_alloc

# Placement cost against the number of mappings in the process (issue 8).
$(BUILD)/bench/bench_place: bench/bench_place.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(STATIC) -o $@ $(LDLIBS)
bench: $(BUILD)/bench/bench_place
BENCHES     += place
bench.place := $(BUILD)/bench/bench_place

# The example host program (make demo runs it first).
$(BUILD)/examples/%: examples/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(STATIC) -o $@ $(LDLIBS) $(TEST_LDLIBS)
demo: $(BUILD)/examples/host
DEMOS     += host
demo.host := $(BUILD)/examples/host
