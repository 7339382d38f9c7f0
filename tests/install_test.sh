#!/usr/bin/env bash
# `make install PREFIX=dir` gives a usable library: the example host builds
# against the installed header and library through pkg-config, statically
# and dynamically, and runs.
set -eu
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
make -s install PREFIX="$prefix" >/dev/null
for f in include/methodmalloc.h include/methodmalloc_il.h lib/libmethodmalloc.a lib/libmethodmalloc.so \
         lib/libmethodmalloc.so.0 lib/pkgconfig/methodmalloc.pc bin/mmil bin/mmrun lib/libmmprofiler.so; do
  [ -e "$prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
done
# The shared library exports what the installed headers declare, nothing else.
exported=$(nm -D --defined-only "$prefix/lib/libmethodmalloc.so" | awk '$2 ~ /^[TDRB]$/ {print $3}')
[ -n "$exported" ] || { echo "the shared library exports nothing"; exit 1; }
for s in $exported; do
  grep -qw -- "$s" "$prefix"/include/methodmalloc*.h || { echo "exported but declared in no installed header: $s"; exit 1; }
done
soname=$(objdump -p "$prefix/lib/libmethodmalloc.so" | awk '/SONAME/ {print $2}')
[ "$soname" = libmethodmalloc.so.0 ] || { echo "soname is '$soname'"; exit 1; }
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc -std=c11 -Wall -Werror examples/host.c $(pkg-config --cflags methodmalloc) \
   $(pkg-config --libs methodmalloc) -ldl -o "$prefix/host-shared"
LD_LIBRARY_PATH=$prefix/lib "$prefix/host-shared" | grep -q 'Answer() body'
ldd "$prefix/host-shared" | grep -q "$prefix/lib/libmethodmalloc.so.0" || LD_LIBRARY_PATH=$prefix/lib ldd "$prefix/host-shared" | grep -q libmethodmalloc.so.0
cc -std=c11 -Wall -Werror examples/host.c $(pkg-config --cflags methodmalloc) \
   "$prefix/lib/libmethodmalloc.a" $(pkg-config --static --libs-only-l methodmalloc | sed 's/-lmethodmalloc//') -ldl -o "$prefix/host-static"
"$prefix/host-static" | grep -q 'unloaded'
echo "installed library, header, pkg-config file and tools work"
