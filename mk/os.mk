# The OS layer (src/os): one translation unit that picks the system's file.
LIB_SRCS += src/os/os.c
