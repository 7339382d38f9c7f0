#!/usr/bin/env bash
# The short fuzz run of `make test`: each libFuzzer target for FUZZ_SHORT
# seconds (default 5).  Fails, never skips, when clang-14 or libFuzzer is
# missing.  The long run is `make fuzz-long FUZZ_SECONDS=...`.
set -eu
make --no-print-directory fuzz-short
