#!/usr/bin/env bash
# methodmalloc.h compiles after the platform's COM definitions, in C and in
# C++, and its object works through the C++ interface of corprof.h.
set -eu
build=${1:?usage: tests/header_compat.sh BUILD_DIR}
out=$build/compat
mkdir -p "$out"
command -v g++ >/dev/null || { echo "g++ is missing (Debian package g++)"; exit 1; }
flags="-Iinclude -Itests/compat -Wall -Wextra -Werror"
cc -std=c11 -pedantic $flags tests/compat/after_pal.c "$build/libmethodmalloc.a" -lpthread -o "$out/after_pal"
g++ -std=c++17 $flags tests/compat/after_corprof.cpp "$build/libmethodmalloc.a" -lpthread -o "$out/after_corprof"
# The header alone, first in a C++ unit, also compiles.
echo '#include "methodmalloc.h"
int main() { IMethodMalloc *p = nullptr; return p ? 1 : 0; }' | g++ -std=c++11 $flags -x c++ - -o "$out/alone_cpp"
# The IL rewriter's header (which includes the IL body header) alone in a
# C++ unit, linked and called.
echo '#include "methodmalloc_ilrw.h"
int main() { mm_il_method *m = nullptr; if (mm_il_method_create(&m) != S_OK) return 1; mm_il_method_destroy(m); return 0; }' \
  | g++ -std=c++11 $flags -x c++ - -x none "$build/libmethodmalloc.a" -lpthread -o "$out/ilrw_cpp"
"$out/after_pal"
"$out/after_corprof"
"$out/alone_cpp"
"$out/ilrw_cpp"
