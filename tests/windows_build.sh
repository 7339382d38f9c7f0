#!/usr/bin/env bash
# The Windows port, as far as this machine can check it: every library
# source with src/os_windows.c compiles with mingw-w64 for x86-64 and i686
# under the project's warnings (-Werror), and tests/compat/windows_abi.c
# links against it (header after the Windows SDK's headers, __stdcall slots
# on 32-bit).  Nothing here runs the result: no Windows, no Wine.
set -eu
out=${1:-build}/windows
srcs=$(make -s --no-print-directory print-lib-srcs | tr ' ' '\n' | grep -v '^src/os/linux.c$' | tr '\n' ' ')
for arch in x86_64 i686; do
  cc=$arch-w64-mingw32-gcc
  command -v "$cc" >/dev/null || { echo "$cc is missing (Debian package gcc-mingw-w64-${arch/_/-}-win32)"; exit 1; }
  mkdir -p "$out/$arch"
  flags="-std=c11 -Wall -Wextra -Werror -pedantic -O2 -D__USE_MINGW_ANSI_STDIO=1 -Iinclude -Isrc -DMM_VERSION=\"0\""
  objs=""
  for s in $srcs src/os/windows.c; do
    o=$out/$arch/$(basename "$s" .c).o
    $cc $flags -c "$s" -o "$o"
    objs="$objs $o"
  done
  $cc $flags tests/compat/windows_abi.c $objs -o "$out/$arch/windows_abi.exe"
  echo "$arch: library and windows_abi.exe built"
done
