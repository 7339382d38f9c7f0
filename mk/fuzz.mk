# libFuzzer targets (fuzz/fuzz_NAME.c, listed by the components in
# FUZZ_TARGETS), built by clang against the library and the PE reader built
# once more, by this same description, with the fuzzer's instrumentation.
# fuzz-short runs each a few seconds (a test of `make test`); fuzz-long
# runs each FUZZ_SECONDS, keeping corpora in $(BUILD)/fuzz/corpus-NAME so
# that runs build on each other.  Needs clang-14 and libclang-rt-14-dev.
FUZZ_SECONDS ?= 600
FUZZ_SHORT   ?= 5
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all

.PHONY: fuzz fuzz-short fuzz-long fuzz-libs
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

fuzz-libs:
	@command -v $(CLANG) >/dev/null || { echo "fuzz: $(CLANG) not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }
	$(MAKE) --no-print-directory CC=$(CLANG) BUILD=$(FUZZ_BUILD)/lib OPTFLAGS="-O1 -g" \
	        SANFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" $(FUZZ_BUILD)/lib/libmethodmalloc.a $(FUZZ_BUILD)/lib/libmmpe.a

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz-libs
	$(CLANG) $(CPPFLAGS) -std=c11 -g -O1 -fsanitize=fuzzer $(FUZZ_SAN) $< $(FUZZ_BUILD)/lib/libmmpe.a \
	        $(FUZZ_BUILD)/lib/libmethodmalloc.a -o $@ $(LDLIBS)

# Seeds: the hand-made bodies and images the unit tests write, plus a few
# small real assemblies when a .NET installation is there.
$(FUZZ_BUILD)/seeds: $(BUILD)/tests/test_ilbody $(BUILD)/tests/test_pe $(BUILD)/tests/test_ilrw
	@rm -rf $@ && mkdir -p $@/ilbody $@/pe $@/ilrw
	$(BUILD)/tests/test_ilbody --seeds $@/ilbody >/dev/null
	$(BUILD)/tests/test_pe --seeds $@/pe >/dev/null
	$(BUILD)/tests/test_ilrw --seeds $@/ilrw >/dev/null
	cp $@/ilbody/* $@/ilrw/
	-find /usr/share/dotnet -name 'System.Runtime*.dll' -size -64k 2>/dev/null | head -n 4 | xargs -r cp -t $@/pe

fuzz-run = mkdir -p $(FUZZ_BUILD)/corpus-$(1) && $(FUZZ_BUILD)/fuzz_$(1) -max_total_time=$(2) -timeout=10 \
	-artifact_prefix=$(FUZZ_BUILD)/ -print_final_stats=1 $(FUZZ_BUILD)/corpus-$(1) $(FUZZ_BUILD)/seeds/$(1)

fuzz-short: fuzz $(FUZZ_BUILD)/seeds
	$(foreach t,$(FUZZ_TARGETS),$(call fuzz-run,$(t),$(FUZZ_SHORT))$(nl))

fuzz-long: fuzz $(FUZZ_BUILD)/seeds
	$(foreach t,$(FUZZ_TARGETS),$(call fuzz-run,$(t),$(FUZZ_SECONDS))$(nl))

ifeq ($(OS),linux)
SCRIPT_TESTS    += fuzz-short
test.fuzz-short := $(MAKE) --no-print-directory fuzz-short
endif
