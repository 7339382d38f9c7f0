# The OS layer (src/os): one translation unit that picks the system's file.
LIB_SRCS += src/os/os.c

ifeq ($(OS),linux)
# The address-space walk from both of its sources (seccomp shuts each off).
UNIT_TESTS += tests/test_os.c
endif
