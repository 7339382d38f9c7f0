# IL method bodies (issue 3): the encoder/decoder/validator, the PE/CLI
# reader, the mmil tool, their tests and fuzz targets.
LIB_SRCS       += src/il/body.c src/pe/pe.c
PUBLIC_HEADERS += include/methodmalloc_il.h
UNIT_TESTS     += tests/test_ilbody.c tests/test_pe.c
TOOLS          += tools/mmil.c
# One word each: the test list is built word by word.  The scripts default
# to build/tools/mmil and /usr/share/dotnet.
SCRIPT_TESTS   += tests/mmil_cli.sh tests/mmil_corpus.sh tests/mmil_fuzz.sh

# Fuzzing needs clang's libFuzzer (Debian: clang-14, libclang-rt-14-dev).
# fuzz-short runs each target a few seconds (part of `make test`);
# fuzz-long runs each FUZZ_SECONDS (default 600) with corpora kept in
# build/fuzz/corpus-*, so successive runs build on each other.
FUZZ_CC      ?= clang-14
FUZZ_FLAGS   := -std=c11 -g -O1 -Iinclude -Isrc -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_TARGETS := ilbody pe
FUZZ_SECONDS ?= 600
FUZZ_SHORT   ?= 5

.PHONY: fuzz fuzz-short fuzz-long
fuzz: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)

build/fuzz/fuzz_%: fuzz/fuzz_%.c src/il/body.c src/pe/pe.c src/pe/pe.h src/il/il.h include/methodmalloc_il.h include/methodmalloc.h
	@mkdir -p $(dir $@)
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) not found (install clang-14 and libclang-rt-14-dev)" >&2; exit 1; }
	$(FUZZ_CC) $(FUZZ_FLAGS) $< src/il/body.c src/pe/pe.c -o $@

# Seeds: the hand-made bodies and images the unit tests write, plus a few
# small real assemblies when a .NET installation is there.
build/fuzz/seeds: build/tests/test_ilbody build/tests/test_pe
	@rm -rf $@ && mkdir -p $@/ilbody $@/pe
	build/tests/test_ilbody --seeds $@/ilbody >/dev/null
	build/tests/test_pe --seeds $@/pe >/dev/null
	-find /usr/share/dotnet -name 'System.Runtime*.dll' -size -64k 2>/dev/null | head -n 4 | xargs -r cp -t $@/pe

fuzz-run = mkdir -p build/fuzz/corpus-$(1) && build/fuzz/fuzz_$(1) -max_total_time=$(2) -timeout=10 -artifact_prefix=build/fuzz/ \
	-print_final_stats=1 build/fuzz/corpus-$(1) build/fuzz/seeds/$(1)

fuzz-short: fuzz build/fuzz/seeds
	$(foreach t,$(FUZZ_TARGETS),$(call fuzz-run,$(t),$(FUZZ_SHORT)) &&) true

fuzz-long: fuzz build/fuzz/seeds
	$(foreach t,$(FUZZ_TARGETS),$(call fuzz-run,$(t),$(FUZZ_SECONDS)) &&) true
