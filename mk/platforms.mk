# Every platform the library claims, tested by running (issue 10): the unit
# tests and mmil built by Debian's cross compilers with this same build
# description, run as Windows x86-64 programs under Wine, Linux i686
# programs and arm64 programs under qemu-user (tests/platform_run.sh); each
# platform one line of the summary.  tests/setup.sh installs the packages.

# Debian's cross compilers link against the cross libc in /usr/TRIPLET;
# for i686 the programs name its loader so that they run here as they are
# (arm64 ones find theirs through qemu's QEMU_LD_PREFIX).
ifeq ($(TARGET),i686-linux-gnu)
ifneq ($(shell uname -m),i686)
LDLIBS += -Wl,--dynamic-linker=/usr/$(TARGET)/lib/ld-linux.so.2 -Wl,-rpath,/usr/$(TARGET)/lib
endif
endif

ifeq ($(OS),linux)
ifeq ($(TARGET),$(shell cc -dumpmachine 2>/dev/null))
SCRIPT_TESTS += run-windows-x86_64 run-linux-i686 run-linux-arm64
test.run-windows-x86_64 := tests/platform_run.sh windows-x86_64 $(BUILD) $(MAKE)
test.run-linux-i686     := tests/platform_run.sh linux-i686 $(BUILD) $(MAKE)
test.run-linux-arm64    := tests/platform_run.sh linux-arm64 $(BUILD) $(MAKE)
# The profiler inside each platform's real runtime (issue 17): the samples
# published self-contained for it, run under mmrun (tests/runtime_platform.sh).
SCRIPT_TESTS += run-runtime-linux-arm64 run-runtime-windows-x86_64
test.run-runtime-linux-arm64    := tests/runtime_platform.sh linux-arm64 $(BUILD) $(MAKE)
test.run-runtime-windows-x86_64 := tests/runtime_platform.sh windows-x86_64 $(BUILD) $(MAKE)
# Windows i686: the profiler DLL built, its one export undecorated (the
# runtime asks GetProcAddress for "DllGetClassObject", which a stdcall
# function is not called on 32-bit); not run: this kernel runs no 32-bit
# programs, so no 32-bit Wine.
SCRIPT_TESTS += build-windows-i686-profiler
test.build-windows-i686-profiler := flock $(BUILD)/.lock-windows-i686 $(MAKE) -s --no-print-directory CC=i686-w64-mingw32-gcc BUILD=$(BUILD)/windows/i686 profiler \
  && i686-w64-mingw32-objdump -p $(BUILD)/windows/i686/profiler/libmmprofiler.dll | grep -q '] DllGetClassObject$$' \
  || { echo "build-windows-i686-profiler: no libmmprofiler.dll exporting DllGetClassObject undecorated"; exit 1; }
endif
endif

# The CMake package beside the pkg-config file, for those who use neither
# pkg-config nor Linux: find_package(methodmalloc) and imported targets
# (tests/cmake_test.sh builds a consumer against an installed tree).
.PHONY: install-cmake
install: install-cmake
install-cmake: all
	install -d $(DESTDIR)$(PREFIX)/lib/cmake/methodmalloc
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@SOVERSION@|$(SOVERSION)|g' cmake/methodmalloc-config.cmake.in \
	    > $(DESTDIR)$(PREFIX)/lib/cmake/methodmalloc/methodmalloc-config.cmake
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@SOVERSION@|$(SOVERSION)|g' cmake/methodmalloc-config-version.cmake.in \
	    > $(DESTDIR)$(PREFIX)/lib/cmake/methodmalloc/methodmalloc-config-version.cmake
ifeq ($(OS),linux)
SCRIPT_TESTS += cmake
test.cmake := tests/cmake_test.sh
endif

# make bench: ns per Alloc per platform next to that platform's malloc.
$(BUILD)/bench/platform_bench$(EXE): bench/platform_bench.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(STATIC) -o $@ $(LDLIBS)
ifeq ($(OS),linux)
ifeq ($(TARGET),$(shell cc -dumpmachine 2>/dev/null))
BENCHES += platforms
bench.platforms := bench/platform_bench.sh $(BUILD) $(MAKE)
endif
endif
