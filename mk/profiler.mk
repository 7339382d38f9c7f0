# The CLR profiler (issue 4): a C profiler that serves IL bodies from
# methodmalloc inside the real .NET runtime, the mmrun command, the C#
# samples, their tests, benchmark and demo.  Needs the .NET SDK (`dotnet`).
PROFILER_SRCS := $(filter-out profiler/mmrun.c,$(wildcard profiler/*.c))
PROFILER_OBJS := $(PROFILER_SRCS:%.c=$(BUILD)/pic/%.o)
PROFILER_SO   := $(BUILD)/profiler/libmmprofiler.so
MMRUN         := $(BUILD)/profiler/mmrun
SAMPLES_DIR   := build/samples

SCRIPT_TESTS += tests/profiler_test.sh $(MMRUN) $(SAMPLES_DIR)
BENCH_CMDS   += bench/runtime_bench.sh $(MMRUN) $(SAMPLES_DIR)
DEMO_CMDS    += tests/profiler_demo.sh $(MMRUN) $(SAMPLES_DIR)

.PHONY: profiler samples install-profiler
all: profiler
profiler: $(PROFILER_SO) $(MMRUN)

$(MMRUN): profiler/mmrun.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP $< $(STATIC) -o $@ $(LDLIBS)

# Only DllGetClassObject is exported (exports.map); -z defs makes a symbol
# missing from the archive a link error here rather than a load failure
# inside the runtime.
$(PROFILER_SO): $(PROFILER_OBJS) $(PIC_STATIC) profiler/exports.map
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared -Wl,-z,defs -Wl,--version-script=profiler/exports.map $(PROFILER_OBJS) $(PIC_STATIC) -o $@ $(LDLIBS)

# The C# samples, built with the SDK into build/samples (never the tree).
samples:
	tests/samples/build.sh $(SAMPLES_DIR)

# mmrun finds the profiler in ../lib when installed.
install: install-profiler
install-profiler: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(PROFILER_SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(MMRUN) $(DESTDIR)$(PREFIX)/bin/
