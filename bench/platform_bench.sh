#!/usr/bin/env bash
# ns per Alloc on each platform make test runs, next to the C library's
# malloc on the same platform (bench/platform_bench.c): Linux x86-64
# natively, Linux i686 natively, Windows x86-64 under Wine, Linux arm64
# under qemu-user (emulated: its numbers say what the emulator makes of
# each, not what an arm64 core does).  Usage: bench/platform_bench.sh [BUILD] [MAKE]
set -u
top=${1:-build}
make=${2:-make}
printf '%-32s %14s %10s %9s\n' platform "methodmalloc ns" "malloc ns" "mm/malloc"
for p in linux-x86_64 linux-i686 windows-x86_64 linux-arm64; do
  exe= run=() cc=cc out=$top/$p what=$p
  case $p in
    linux-x86_64)   out=$top ;;
    linux-i686)     cc=i686-linux-gnu-gcc ;;
    windows-x86_64) cc=x86_64-w64-mingw32-gcc exe=.exe out=$top/windows/x86_64 run=(/usr/lib/wine/wine64) what="$p (Wine)"
                    export WINEDEBUG=-all WINEPREFIX=${WINEPREFIX:-$PWD/$top/wine} ;;
    linux-arm64)    cc=aarch64-linux-gnu-gcc run=(qemu-aarch64-static) what="$p (qemu)"
                    export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu ;;
  esac
  if ! command -v "$cc" >/dev/null || ! $make --no-print-directory -s CC="$cc" BUILD="$out" "$out/bench/platform_bench$exe" >/dev/null 2>&1; then
    printf '%-32s %s\n' "$what" "not built ($cc missing? run tests/setup.sh)"; continue
  fi
  line=$("${run[@]}" "$out/bench/platform_bench$exe" 2>&1 | tr -d '\r' | grep '^ns/Alloc')
  set -- $line
  printf '%-32s %14s %10s %9s\n' "$what" "$3" "$5" "$7"
done
