# The PE/CLI reader (src/pe): an internal static library for mmil, the
# profiler, the tests and the fuzzers; not part of libmethodmalloc.
PE_SRCS := src/pe/pe.c src/pe/meta.c   # meta.c: every table's layout, signatures, names
PE_LIB  := $(BUILD)/libmmpe.a
$(PE_LIB): $(PE_SRCS:%.c=$(BUILD)/%.o)
	@rm -f $@
	$(AR) rcs $@ $^
UNIT_TESTS   += tests/test_pe.c
FUZZ_TARGETS += pe
