# The core allocator (issue 2): IMethodMalloc over per-module IL heaps.
LIB_SRCS       += src/heap/module.c src/heap/chunk.c src/heap/donated.c src/heap/iid_unknown.c src/heap/iid_methodmalloc.c src/os/linux.c src/version.c
PUBLIC_HEADERS += include/methodmalloc.h
UNIT_TESTS     += tests/test_module.c tests/test_window.c tests/test_com.c tests/test_stress.c tests/test_donate.c
TSAN_TESTS     += tests/test_stress.c tests/test_com.c tests/test_donate.c
SCRIPT_TESTS   += tests/header_compat.sh build

# The core benchmark (make bench): needs libmimalloc-dev and valgrind.
$(BUILD)/bench/bench_alloc: bench/bench_alloc.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-pedantic $< $(STATIC) -o $@ -ldl -lm $(LDLIBS)
bench: $(BUILD)/bench/bench_alloc
BENCH_CMDS     += $(BUILD)/bench/bench_alloc

# The example host program (make demo runs it first).
$(BUILD)/examples/%: examples/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(STATIC) -o $@ $(LDLIBS) -ldl
demo: $(BUILD)/examples/host
DEMO_CMDS      += $(BUILD)/examples/host
SCRIPT_TESTS   += tests/install_test.sh
SCRIPT_TESTS   += tests/windows_build.sh build
