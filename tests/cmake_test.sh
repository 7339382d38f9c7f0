#!/usr/bin/env bash
# `make install` gives a CMake package beside the pkg-config file:
# tests/cmake_consumer finds it with find_package(methodmalloc 0.1) (and
# is refused for a version 1), builds the example host against both
# imported targets, and the programs run.
set -eu
command -v cmake >/dev/null || { echo "cmake is missing: run tests/setup.sh (as root)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -s install PREFIX="$tmp/prefix" >/dev/null
[ -f "$tmp/prefix/lib/cmake/methodmalloc/methodmalloc-config.cmake" ] || { echo "no CMake package installed"; exit 1; }
# Moved after install: the package finds its files from where it is.
mv "$tmp/prefix" "$tmp/moved"
cmake -S tests/cmake_consumer -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/moved" -DCMAKE_BUILD_TYPE=Release >"$tmp/log" 2>&1 \
  || { cat "$tmp/log"; echo "cmake configure failed"; exit 1; }
cmake --build "$tmp/build" >"$tmp/log" 2>&1 || { cat "$tmp/log"; echo "cmake build failed"; exit 1; }
LD_LIBRARY_PATH=$tmp/moved/lib "$tmp/build/host_shared" | grep -q 'Answer() body'
ldd "$tmp/build/host_shared" | grep -q 'libmethodmalloc.so.0' || { echo "host_shared does not use the shared library"; exit 1; }
"$tmp/build/host_static" | grep -q 'unloaded'
! ldd "$tmp/build/host_static" | grep -q libmethodmalloc || { echo "host_static uses the shared library"; exit 1; }
# A major version it is not: refused.
mkdir -p "$tmp/v1" && sed 's/methodmalloc 0.1 REQUIRED/methodmalloc 1.0 REQUIRED/; s|\.\./\.\./examples|'"$PWD"'/examples|' \
  tests/cmake_consumer/CMakeLists.txt >"$tmp/v1/CMakeLists.txt"
if cmake -S "$tmp/v1" -B "$tmp/v1/build" -DCMAKE_PREFIX_PATH="$tmp/moved" >"$tmp/log" 2>&1; then
  echo "find_package(methodmalloc 1.0) accepted version 0.x"; exit 1
fi
echo "installed CMake package: find_package, both imported targets, relocatable, major version checked"
