# methodmalloc: `make` builds the libraries, `make test` runs every test,
# `make bench` the benchmarks, `make demo` the main job, `make install PREFIX=dir`.
# Each part of the project adds its sources, tests and tools in its own mk/*.mk.

VERSION       := 0.1.0
SOVERSION     := 0
PREFIX        ?= /usr/local
CC            ?= cc
BUILD         ?= build
SANFLAGS      ?=
OPTFLAGS      ?= -O2 -g
WARNFLAGS     := -std=c11 -Wall -Wextra -Werror -pedantic
CPPFLAGS      += -Iinclude -Isrc -D_GNU_SOURCE -DMM_VERSION=\"$(VERSION)\"
CFLAGS        += $(WARNFLAGS) $(OPTFLAGS) $(SANFLAGS) -fvisibility=hidden
LDLIBS        += -lpthread

# Filled by the fragments below.  SCRIPT_TESTS, BENCH_CMDS and DEMO_CMDS are
# lists of commands: a word ending in .sh starts a new command, the words after
# it are its arguments (a first word not ending in .sh is a command of its own).
LIB_SRCS      :=          # library sources (src/*.c)
PUBLIC_HEADERS:=          # installed into include/
UNIT_TESTS    :=          # tests/*.c, each a program; run plain and under ASan+UBSan
TSAN_TESTS    :=          # tests/*.c also run under TSan
SCRIPT_TESTS  :=          # scripts (*.sh) with their arguments, run once against the plain build
TOOLS         :=          # tools/*.c, each a program installed into bin/
BENCH_CMDS    :=          # commands `make bench` runs, in order
DEMO_CMDS     :=          # commands `make demo` runs, in order

# The libraries' names, fixed before the fragments so their rules can name them.
STATIC     := $(BUILD)/libmethodmalloc.a
PIC_STATIC := $(BUILD)/libmethodmalloc_pic.a   # for linking into other shared objects
SONAME     := libmethodmalloc.so.$(SOVERSION)
SHARED     := $(BUILD)/libmethodmalloc.so.$(VERSION)

include mk/heap.mk
-include mk/il.mk
-include mk/profiler.mk

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
PIC_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/pic/%.o)
TEST_BINS := $(UNIT_TESTS:%.c=$(BUILD)/%)
TOOL_BINS := $(TOOLS:%.c=$(BUILD)/%)
SCRIPT_TESTS += tests/valgrind.sh $(TEST_BINS)

.PHONY: all lib tools tests test bench demo install clean
all: lib tools
lib: $(STATIC) $(PIC_STATIC) $(SHARED)
tools: $(TOOL_BINS)
tests: $(TEST_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -MMD -MP -c $< -o $@

$(STATIC): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(PIC_STATIC): $(PIC_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(SHARED): $(PIC_OBJS)
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(SONAME) $^ -o $@ $(LDLIBS)
	ln -sf $(notdir $@) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libmethodmalloc.so

$(BUILD)/tests/%: tests/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -MMD -MP $< $(STATIC) -o $@ $(LDLIBS) -ldl
$(BUILD)/tools/%: tools/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP $< $(STATIC) -o $@ $(LDLIBS)

# Every test: the unit tests built by gcc, by clang and under ASan+UBSan, the
# TSan ones under TSan, then the script tests; tests/run prints one line each
# and the summary.
CLANG ?= clang-14
test:
	$(MAKE) all tests
	$(MAKE) CC=$(CLANG) BUILD=build/clang tests
	$(MAKE) BUILD=build/asan SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" OPTFLAGS="-O1 -g" tests
	$(MAKE) BUILD=build/tsan SANFLAGS="-fsanitize=thread" OPTFLAGS="-O1 -g" $(TSAN_TESTS:%.c=build/tsan/%)
	@{ for t in $(TEST_BINS); do echo "$$t"; done; \
	   for t in $(UNIT_TESTS:%.c=build/clang/%); do echo "$$t"; done; \
	   for t in $(UNIT_TESTS:%.c=build/asan/%); do echo "$$t"; done; \
	   for t in $(TSAN_TESTS:%.c=build/tsan/%); do echo "$$t"; done; \
	   $(call split-cmds,$(SCRIPT_TESTS)); } > $(BUILD)/test-list
	@tests/run $(BUILD)/test-list

# Prints the commands of a command list one per line.
split-cmds = { for w in $(1); do case $$w in *.sh) printf '\n%s' "$$w";; *) printf ' %s' "$$w";; esac; done; echo; } | sed -e 's/^ //' -e '/^$$/d'
run-cmds = $(call split-cmds,$(1)) | while IFS= read -r c; do echo "== $$c"; bash -c "$$c" </dev/null || exit 1; done

bench: all
	@$(call run-cmds,$(BENCH_CMDS))

demo: all
	@$(call run-cmds,$(DEMO_CMDS))

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(notdir $(SHARED)) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libmethodmalloc.so
	$(if $(TOOL_BINS),install -m 755 $(TOOL_BINS) $(DESTDIR)$(PREFIX)/bin/)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' methodmalloc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/methodmalloc.pc

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# For scripts that need the library's source list (tests/windows_build.sh).
print-lib-srcs:
	@echo $(LIB_SRCS)
