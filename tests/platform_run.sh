#!/usr/bin/env bash
# The unit tests and mmil as programs of another platform, run on this
# machine: Windows x86-64 under Wine, Linux i686 natively (against Debian's
# cross libc) where the kernel runs 32-bit programs and under qemu-i386
# where it does not (or when MM_I686_QEMU=1), Linux arm64 under qemu-user.  Builds them with this same
# build description (make CC=... BUILD=...), runs every unit test, then
# mmil verify and roundtrip over a few assemblies, whose output must be
# the native mmil's, line for line.  One line per program, then
# "PLATFORM: N passed, N failed"; exit status 0 only if none failed.
# Usage: tests/platform_run.sh windows-x86_64|linux-i686|linux-arm64 [BUILD] [MAKE]
set -u
platform=${1:?usage: tests/platform_run.sh PLATFORM [BUILD] [MAKE]}
top=${2:-build}
make=${3:-make}
dotnet=${MM_DOTNET_DIR:-/usr/share/dotnet}

case $platform in
  windows-x86_64) cc=x86_64-w64-mingw32-gcc exe=.exe run=(/usr/lib/wine/wine64)
    export WINEDEBUG=-all WINEPREFIX=${WINEPREFIX:-$PWD/$top/wine} ;;
  linux-i686)     cc=i686-linux-gnu-gcc exe= run=()
    # Probe with the i686 loader itself, a program like any other: a kernel
    # without 32-bit support refuses it (Exec format error).
    if [ "${MM_I686_QEMU:-0}" = 1 ] || ! /usr/i686-linux-gnu/lib/ld-linux.so.2 --version >/dev/null 2>&1; then
      # The emulator tests/setup.sh unpacks (Debian 12's own gets a 32-bit
      # guest's address space wrong).
      run=(/opt/methodmalloc/qemu-user/usr/bin/qemu-i386)
      export QEMU_LD_PREFIX=/usr/i686-linux-gnu
    fi ;;
  linux-arm64)    cc=aarch64-linux-gnu-gcc exe= run=(qemu-aarch64-static)
    export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu ;;
  *) echo "platform_run: unknown platform $platform"; exit 1 ;;
esac
command -v "$cc" >/dev/null || { echo "platform_run: $cc is missing: run tests/setup.sh (as root)"; exit 1; }
[ ${#run[@]} -eq 0 ] || command -v "${run[0]}" >/dev/null \
  || { echo "platform_run: ${run[0]} is missing: run tests/setup.sh (as root)"; exit 1; }

out=$top/$platform
# The Windows x86-64 library is also built by make test's windows-x86_64 line: the same folder.
[ "$platform" = windows-x86_64 ] && out=$top/windows/x86_64
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# One build of a folder at a time: make test runs the tests of a platform
# that share it (the library's line, the runtime's) side by side.
mkdir -p "$top"
if ! flock "$top/.lock-$platform" $make --no-print-directory -s CC="$cc" BUILD="$out" tests tools >"$log" 2>&1; then
  cat "$log"; echo "$platform: the build failed"; exit 1
fi
if [ "$platform" = windows-x86_64 ]; then
  # The prefix, once (a few seconds), under the folder's lock: the runtime
  # proof makes it too.
  flock "$top/.lock-$platform" sh -c '[ -d "$WINEPREFIX" ] || "$0" cmd /c exit' "${run[0]}" >/dev/null 2>&1
fi

pass=0 fail=0
verdict() { # NAME STATUS MS
  if [ "$2" -eq 0 ]; then pass=$((pass + 1)); printf 'PASS %6d ms  %s %s\n' "$3" "$platform" "$1"
  else fail=$((fail + 1)); printf 'FAIL %6d ms  %s %s\n' "$3" "$platform" "$1"; sed 's/^/    | /' "$log" | tail -n 30; fi
}
for t in "$out"/tests/test_*$exe; do
  case $t in *.d) continue ;; esac
  start=${EPOCHREALTIME/./}
  "${run[@]}" "$t" </dev/null >"$log" 2>&1
  status=$?
  verdict "$(basename "$t")" $status $(( (${EPOCHREALTIME/./} - start) / 1000 ))
done

# mmil on a few real assemblies: the same answers as the native build's.
core=$(ls -d "$dotnet"/shared/Microsoft.NETCore.App/*/ 2>/dev/null | sort -V | tail -n 1)
files=()
for f in System.Private.CoreLib.dll System.Collections.dll System.Linq.dll System.Text.Json.dll; do
  [ -f "$core$f" ] && files+=("$core$f")
done
native=${MM_NATIVE_MMIL:-build/tools/mmil}
if [ ${#files[@]} -eq 0 ] || [ ! -x "$native" ]; then
  echo "platform_run: mmil needs assemblies under $dotnet and the native $native (make tools)" >"$log"
  verdict mmil 1 0
else
  for mode in verify roundtrip; do
    start=${EPOCHREALTIME/./}
    status=0
    "$native" "$mode" "${files[@]}" >"$log.want" 2>&1 || status=$?
    "${run[@]}" "$out/tools/mmil$exe" "$mode" "${files[@]}" </dev/null 2>&1 | tr -d '\r' >"$log.got" || status=1
    { diff "$log.want" "$log.got" && tail -n 1 "$log.got"; } >"$log" 2>&1 || status=1
    grep -q ' 0 invalid' "$log.got" || [ "$mode" = roundtrip ] || status=1
    verdict "mmil $mode (${#files[@]} assemblies)" $status $(( (${EPOCHREALTIME/./} - start) / 1000 ))
  done
  rm -f "$log.want" "$log.got"
fi
how=natively
[ ${#run[@]} -eq 0 ] || how="under $(basename "${run[0]}")"
echo "$platform ($how): $pass passed, $fail failed"
[ "$fail" -eq 0 ]
