# methodmalloc's build: one description for every system it targets.
#
#   make                the libraries, mmil, the profiler and mmrun
#   make test           every test; the runner's last line is "N passed, N failed"
#   make bench          the benchmarks, printing ratios against alternatives
#   make demo           the main job: a .NET program on methodmalloc bodies
#   make install PREFIX=dir, make fuzz-long FUZZ_SECONDS=n, make soak SOAK_SECONDS=n, make clean
#
# Variables: CC; OS=linux|windows (default: what CC compiles for, so
# `make CC=x86_64-w64-mingw32-gcc lib` builds for Windows); BUILD, the output
# folder (default build); PREFIX; MM_DEBUG=1, the debug mode that makes
# valgrind report writes past a block (src/heap/debug.h; needs valgrind's
# headers; give it a BUILD of its own).  Under ASan that mode is always on.  Each component says what it adds (library
# sources, tests, tools, benchmarks, demo steps) in mk/COMPONENT.mk.

VERSION   := $(shell sed -n 's/^\#define MM_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$$/\2/p' include/methodmalloc.h | paste -sd.)
SOVERSION := $(firstword $(subst ., ,$(VERSION)))
PREFIX    ?= /usr/local
CC        ?= cc
BUILD     ?= build
SANFLAGS  ?=
OPTFLAGS  ?= -O2 -g
CLANG     ?= clang-14

TARGET := $(shell $(CC) -dumpmachine 2>/dev/null)
ifeq ($(TARGET),)
$(error $(CC) is not a working C compiler (for Windows: apt-get install gcc-mingw-w64-x86-64-win32))
endif
OS ?= $(if $(findstring mingw,$(TARGET)),windows,linux)

CPPFLAGS += -Iinclude -Isrc
ifeq ($(MM_DEBUG),1)
CPPFLAGS += -DMM_DEBUG=1
endif
CFLAGS   += -std=c11 -Wall -Wextra -Werror -pedantic $(OPTFLAGS) $(SANFLAGS)
ifeq ($(OS),windows)
EXE      := .exe
CPPFLAGS += -D__USE_MINGW_ANSI_STDIO=1
LDLIBS   :=
TEST_LDLIBS :=
else
EXE      :=
CPPFLAGS += -D_GNU_SOURCE
CFLAGS   += -fvisibility=hidden
LDLIBS   := -lpthread
TEST_LDLIBS := -ldl
endif

# What the components add.  A script test, benchmark or demo step is a name
# in SCRIPT_TESTS, BENCHES or DEMOS with its command line in test.NAME,
# bench.NAME or demo.NAME: one command a name, run from the top folder.
LIB_SRCS       :=   # libmethodmalloc's sources
PUBLIC_HEADERS :=   # installed into include/
UNIT_TESTS     :=   # tests/*.c: each a program, built by gcc and clang, run plain, under ASan+UBSan and valgrind
TSAN_TESTS     :=   # of those, the ones also run under TSan
TOOLS          :=   # tools/*.c, each a program installed into bin/
SCRIPT_TESTS   :=
BENCHES        :=
DEMOS          :=
FUZZ_TARGETS   :=   # fuzz/fuzz_NAME.c, each a libFuzzer target

STATIC     := $(BUILD)/libmethodmalloc.a
PIC_STATIC := $(BUILD)/libmethodmalloc_pic.a   # for linking into other shared objects
SONAME     := libmethodmalloc.so.$(SOVERSION)
SHARED     := $(BUILD)/libmethodmalloc.so.$(VERSION)
ifeq ($(OS),windows)
LIBS := $(STATIC)
else
LIBS := $(STATIC) $(PIC_STATIC) $(SHARED)
endif

.DEFAULT_GOAL := all
.PHONY: all lib tools tests tsan-tests test test-list bench demo install clean

include mk/os.mk
include mk/heap.mk
include mk/il.mk
include mk/pe.mk
include mk/mmil.mk
include mk/fuzz.mk
include mk/profiler.mk
include mk/platforms.mk
include mk/harness.mk
include mk/docs.mk

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
PIC_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/pic/%.o)
TEST_BINS := $(UNIT_TESTS:%.c=$(BUILD)/%$(EXE))
TOOL_BINS := $(TOOLS:%.c=$(BUILD)/%$(EXE))

all: lib tools
lib: $(LIBS)
tools: $(TOOL_BINS)
tests: $(TEST_BINS)
tsan-tests: $(TSAN_TESTS:%.c=$(BUILD)/%$(EXE))

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -MMD -MP -c $< -o $@

$(STATIC): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^
$(PIC_STATIC): $(PIC_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^
$(SHARED): $(PIC_OBJS)
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(SONAME) $^ -o $@ $(LDLIBS)
	ln -sf $(notdir $@) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libmethodmalloc.so

# Tests and tools link the internal PE reader before the library it uses.
$(BUILD)/tests/%$(EXE): tests/%.c $(PE_LIB) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -MMD -MP $< $(PE_LIB) $(STATIC) -o $@ $(LDLIBS) $(TEST_LDLIBS)
$(BUILD)/tools/%$(EXE): tools/%.c $(PE_LIB) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP $< $(PE_LIB) $(STATIC) -o $@ $(LDLIBS)

# Every test: the unit tests built by gcc, by clang and under ASan+UBSan, the
# TSan ones under TSan, then the script tests; tests/run runs each line of
# the list as one test and prints the summary.
ASAN := SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" OPTFLAGS="-O1 -g"
# JOBS: builds at once (default: one per CPU); TEST_JOBS: tests at once
# (one more, as the runtime tests spend much of their time waiting on
# start-up and files).
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
TEST_JOBS ?= $(shell echo $$(($(JOBS) + 1)))
test:
	tests/setup.sh
	$(MAKE) -j$(JOBS) all tests
	$(MAKE) -j$(JOBS) CC=$(CLANG) BUILD=$(BUILD)/clang tests
	$(MAKE) -j$(JOBS) BUILD=$(BUILD)/asan $(ASAN) tests
	$(MAKE) -j$(JOBS) BUILD=$(BUILD)/tsan SANFLAGS=-fsanitize=thread OPTFLAGS="-O1 -g" tsan-tests
	$(MAKE) test-list
	MM_TEST_JOBS=$(TEST_JOBS) tests/run $(BUILD)/test-list

define nl


endef
# The script tests first: the long ones (the runtimes, Wine, qemu) start
# early and the short unit tests fill the gaps beside them.
TEST_LIST := $(foreach t,$(SCRIPT_TESTS),$(test.$(t))$(nl))$(foreach t,$(TEST_BINS) $(UNIT_TESTS:%.c=$(BUILD)/clang/%) \
             $(UNIT_TESTS:%.c=$(BUILD)/asan/%) $(TSAN_TESTS:%.c=$(BUILD)/tsan/%),$(t)$(nl))
test-list:
	$(file >$(BUILD)/test-list,$(subst $(nl) ,$(nl),$(TEST_LIST)))
	@echo "$(BUILD)/test-list: $(words $(UNIT_TESTS)) unit tests, 4 builds; $(words $(SCRIPT_TESTS)) script tests"

bench: all
	tests/setup.sh
	$(foreach b,$(BENCHES),$(bench.$(b))$(nl))

demo: all
	$(foreach d,$(DEMOS),$(demo.$(d))$(nl))

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	$(if $(filter $(SHARED),$(LIBS)),install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/)
	$(if $(filter $(SHARED),$(LIBS)),ln -sf $(notdir $(SHARED)) $(DESTDIR)$(PREFIX)/lib/$(SONAME))
	$(if $(filter $(SHARED),$(LIBS)),ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libmethodmalloc.so)
	$(if $(TOOL_BINS),install -m 755 $(TOOL_BINS) $(DESTDIR)$(PREFIX)/bin/)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' methodmalloc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/methodmalloc.pc

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
