# The CLR profiler (profiler/): a C profiler that serves IL bodies from
# methodmalloc inside the real .NET runtime, its launcher mmrun, the C#
# samples, their tests, benchmark and demo (these need the .NET SDK).
# Linux and Windows (libmmprofiler.dll and mmrun.exe: their runtime proof
# runs under Wine, tests/runtime_platform.sh).
# profiler/: what the host and the modes share (the API tables, the module
# table, configuration, report); profiler/host/: the host that loads guest
# profilers and stands between them and the runtime; profiler/modes/:
# methodmalloc's own modes (relocate, runtime, replace, calls).
# The library's system half (sys.h) and mmrun's (launch.h): one file per
# system.
SYS_NAME      := $(if $(filter windows,$(OS)),windows,posix)
PROFILER_SRCS := $(filter-out profiler/mmrun.c profiler/launch_%.c profiler/sys_%.c,\
                   $(wildcard profiler/*.c profiler/host/*.c profiler/modes/*.c)) profiler/sys_$(SYS_NAME).c
MMRUN         := $(BUILD)/profiler/mmrun$(EXE)
SAMPLES_DIR   := $(BUILD)/samples
.PHONY: profiler
all: profiler
LAUNCH_OBJ    := $(BUILD)/profiler/launch_$(SYS_NAME).o

# launch.h tested on the system itself: Linux built for this machine's
# processor (gcc or clang), and Windows (under Wine, tests/platform_run.sh);
# not the other Linux builds, where the test cannot start itself again
# (qemu-user does not follow execve).
ifeq ($(OS),windows)
LAUNCH_TEST   := tests/test_launch.c
else ifeq ($(firstword $(subst -, ,$(TARGET))),$(shell uname -m))
LAUNCH_TEST   := tests/test_launch.c
endif
# mm_os_readable (the host's checker) likewise: natively and under Wine;
# not under qemu-user, whose process_vm_readv is not the kernel's.
UNIT_TESTS    += $(LAUNCH_TEST:tests/test_launch.c=tests/test_readable.c)
UNIT_TESTS    += $(LAUNCH_TEST)
$(LAUNCH_TEST:%.c=$(BUILD)/%$(EXE)): $(LAUNCH_OBJ)
$(LAUNCH_TEST:%.c=$(BUILD)/%$(EXE)): TEST_LDLIBS += $(LAUNCH_OBJ)

ifeq ($(OS),windows)
PROFILER_OBJS := $(PROFILER_SRCS:%.c=$(BUILD)/%.o) $(PE_SRCS:%.c=$(BUILD)/%.o)
$(PROFILER_SRCS:%.c=$(BUILD)/%.o): CPPFLAGS += -Iprofiler
PROFILER_SO   := $(BUILD)/profiler/libmmprofiler.dll
profiler: $(PROFILER_SO) $(MMRUN)

# exports.def exports DllGetClassObject alone, undecorated on 32-bit too
# (where ld links the name to the stdcall _DllGetClassObject@12: asked for,
# so not warned about); libgcc linked in, so that the DLL needs only the
# system's DLLs.
$(PROFILER_SO): $(PROFILER_OBJS) $(STATIC) profiler/exports.def
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared -static-libgcc -Wl,--no-undefined -Wl,--enable-stdcall-fixup $(PROFILER_OBJS) $(STATIC) \
	    profiler/exports.def -o $@ $(LDLIBS)

$(MMRUN): profiler/mmrun.c $(LAUNCH_OBJ) $(BUILD)/profiler/protocol.o $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -static-libgcc -MMD -MP $< $(LAUNCH_OBJ) $(BUILD)/profiler/protocol.o $(STATIC) -o $@ $(LDLIBS)
endif

ifeq ($(OS),linux)
PROFILER_OBJS := $(PROFILER_SRCS:%.c=$(BUILD)/pic/%.o) $(PE_SRCS:%.c=$(BUILD)/pic/%.o)
$(PROFILER_SRCS:%.c=$(BUILD)/pic/%.o): CPPFLAGS += -Iprofiler
PROFILER_SO   := $(BUILD)/profiler/libmmprofiler.so

HOST_UNIT     := $(BUILD)/tests/test_host
HOST_FANOUT   := $(BUILD)/tests/test_host_fanout
HOST_FAKE     := $(BUILD)/tests/libhostfake.so
TEST_GUESTS   := $(BUILD)/tests/guests/libmmtestguest.so
SCRIPT_TESTS  += profiler real-programs host-unit host host-fanout host-guests
# The host's callback object under a fake runtime with fake guests: the
# mask union, each callback to the guests that asked, errors counted, no
# allocation while forwarding.
test.host-fanout := $(HOST_FANOUT) $(HOST_FAKE)
# The host's logic without a runtime: the callback-to-mask table, the body
# chain, the IL map composition, what counts as served.
test.host-unit := $(HOST_UNIT)
# The host under mmrun and the environment: bad guests, --calls after them,
# --dump-bodies, the environment route, --shim (about 20 s).
test.host     := tests/host_test.sh $(MMRUN) $(SAMPLES_DIR) $(BUILD)/tools/mmil
test.profiler := tests/profiler_test.sh $(MMRUN) $(SAMPLES_DIR)
# Issue 16: guests of ours composing on one method, and each bad guest.
test.host-guests := tests/host_guests.sh $(MMRUN) $(SAMPLES_DIR) $(TEST_GUESTS)
# Issue 8 on programs we did not write: an ASP.NET Core app and dotnet test
# (about 45 s).
test.real-programs := tests/real_programs.sh $(MMRUN)
# Issue 16: Microsoft Code Coverage's CLR Instrumentation Engine alone and as
# a guest of our host, then with --calls after it (the project and its NuGet
# packages cached in the build folder: three `dotnet test` runs, about 1
# minute on an idle machine once restored).
SCRIPT_TESTS  += coverage
test.coverage := tests/coverage_host.sh $(MMRUN) $(BUILD) $(BUILD)/tools/mmil
BENCHES       += runtime modules heavy
bench.runtime := bench/runtime_bench.sh $(MMRUN) $(SAMPLES_DIR)
bench.modules := $(BUILD)/bench/bench_modules
bench.heavy   := bench/heavy_bench.sh $(MMRUN)
BENCHES       += coverage
bench.coverage := bench/coverage_bench.sh $(MMRUN) $(BUILD)
DEMOS         += profiler
demo.profiler := tests/profiler_demo.sh $(MMRUN) $(SAMPLES_DIR)

.PHONY: test-guests samples install-profiler
# The host's test programs with make all, not with `make profiler`, which
# the runtime proofs run for other platforms' folders (where
# tests/platform_run.sh would take them for unit tests of its own).
all: test-guests $(HOST_UNIT) $(HOST_FANOUT) $(HOST_FAKE)
profiler: $(PROFILER_SO) $(MMRUN)
test-guests: $(TEST_GUESTS)

$(HOST_FAKE): tests/host_fake_guest.c $(BUILD)/pic/profiler/guids.o $(PIC_STATIC) profiler/clrapi.h profiler/corprof_table.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Iprofiler $(CFLAGS) -fPIC -shared tests/host_fake_guest.c $(BUILD)/pic/profiler/guids.o $(PIC_STATIC) -o $@ $(LDLIBS)

# malloc, calloc and realloc wrapped: the test counts every allocation.
$(HOST_FANOUT): tests/test_host_fanout.c $(PROFILER_OBJS) $(PIC_STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Iprofiler -Itests $(CFLAGS) tests/test_host_fanout.c $(PROFILER_OBJS) $(PIC_STATIC) \
	  -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc -o $@ $(LDLIBS) -ldl

$(HOST_UNIT): tests/test_host.c profiler/host/events.c profiler/host/bodies.c profiler/modules.c profiler/host/host.h \
              profiler/profiler.h profiler/clrapi.h profiler/corprof_table.h $(PE_LIB) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Iprofiler -Itests $(CFLAGS) tests/test_host.c profiler/host/events.c profiler/host/bodies.c \
	  profiler/modules.c $(PE_LIB) $(STATIC) -o $@ $(LDLIBS)

# Only DllGetClassObject is exported (exports.map); -z defs makes a symbol
# missing from the archive a link error here rather than a load failure
# inside the runtime.
$(PROFILER_SO): $(PROFILER_OBJS) $(PIC_STATIC) profiler/exports.map
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared -Wl,-z,defs -Wl,--version-script=profiler/exports.map $(PROFILER_OBJS) $(PIC_STATIC) -o $@ $(LDLIBS)

# The test guests (tests/guests/): CLR profilers the host's tests load as
# guests, built like the profiler (the IL rewriter linked in, only
# DllGetClassObject exported) but never installed.
$(TEST_GUESTS): tests/guests/testguest.c $(BUILD)/pic/profiler/guids.o $(PIC_STATIC) profiler/exports.map
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Iprofiler $(CFLAGS) -fPIC -MMD -MP -shared -Wl,-z,defs -Wl,--version-script=profiler/exports.map \
	    $< $(BUILD)/pic/profiler/guids.o $(PIC_STATIC) -o $@ $(LDLIBS)

$(MMRUN): profiler/mmrun.c $(LAUNCH_OBJ) $(BUILD)/profiler/protocol.o $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP $< $(LAUNCH_OBJ) $(BUILD)/profiler/protocol.o $(STATIC) -o $@ $(LDLIBS)

# The module table under many JIT threads, against the list it replaced.
$(BUILD)/bench/bench_modules: bench/bench_modules.c profiler/modules.c $(PE_LIB) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) bench/bench_modules.c profiler/modules.c $(PE_LIB) $(STATIC) -o $@ $(LDLIBS)
bench: $(BUILD)/bench/bench_modules

# The C# samples, built with the SDK into the build folder (never the tree).
samples:
	tests/samples/build.sh $(SAMPLES_DIR)

# mmrun finds the profiler in ../lib when installed.
install: install-profiler
install-profiler: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(PROFILER_SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(MMRUN) $(DESTDIR)$(PREFIX)/bin/
endif
