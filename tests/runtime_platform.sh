#!/usr/bin/env bash
# The profiler inside another platform's real .NET runtime (issue 17): the
# profiler built for PLATFORM with this same build description, the C#
# samples published self-contained for it (its own runtime from NuGet), and
# mmrun running them there.  The smallest set that proves each mode, as
# emulated runs are slow:
#   relocate   generics, exceptions, linq under --relocate --include-precompiled:
#              output identical to the plain run, bodies served, no refusal,
#              no block outside its window, nothing left unrelocated;
#   calls      the calls sample under --calls: the same output and the exact
#              counts of Linux x86-64 (tests/calls_counts.sh);
#   replace    the answer sample: Answer() = 41 becomes 42.
# One line per check, then "PLATFORM: N passed, N failed"; exit status 0
# only if none failed.  The published samples are kept in BUILD/PLATFORM
# and published again only when their sources, the SDK or the publish
# command change.
# Usage: tests/runtime_platform.sh linux-arm64|windows-x86_64 [BUILD] [MAKE]
set -u
platform=${1:?usage: tests/runtime_platform.sh PLATFORM [BUILD] [MAKE]}
top=${2:-build}
make=${3:-make}
here=$(cd "$(dirname "$0")" && pwd)

# Each platform says:
#   out        its build folder (the profiler and the published samples)
#   rid        the .NET runtime identifier the samples are published for
#   exe        the suffix of its programs
#   needs      the commands it needs (each missing one fails with the fix)
#   build      a function: builds the profiler and the launcher, quietly
#   plain      what runs one of its programs plainly (an array, before the program)
#   mmrun      the launcher (an array), and profiler, the library as it names it
#   under      what mmrun runs the program under (an array, before the program)
#   own_mmrun  the platform's own mmrun, when mmrun is another platform's:
#              the replace check runs under it (optional; default mmrun)
#   crlf       1 when its programs end lines with CR LF (Windows): stripped before the checks
#   held       when set, what the window reserve must hold in every run
#   exits      when set, a command of its own exiting with status 5, to check
#              the exit statuses of a launcher of its own
#   no_shim    1 when its mmrun refuses --shim (Windows: no symbolic links)
crlf= held= exits=() no_shim=
case $platform in
  linux-arm64)
    out=$top/linux-arm64 rid=linux-arm64 exe=
    needs=(aarch64-linux-gnu-gcc qemu-aarch64-static)
    # The arm64 profiler; the native mmrun launches the program through qemu,
    # which hands the environment mmrun sets (CORECLR_*, MM_PROFILER_*) to the guest.
    build() {
      flock "$top/.lock-$platform" $make --no-print-directory -s CC=aarch64-linux-gnu-gcc BUILD="$out" profiler \
        && $make --no-print-directory -s BUILD="$top" "$top/profiler/mmrun"
    }
    plain=(qemu-aarch64-static) under=(qemu-aarch64-static)
    mmrun=("$top/profiler/mmrun") profiler=$out/profiler/libmmprofiler.so
    # The arm64 mmrun runs too, under qemu; qemu-user does not follow
    # execve, so it launches the program through qemu as the native one does.
    own_mmrun=(qemu-aarch64-static "$out/profiler/mmrun")
    # The arm64 C library for qemu; no arm64 ICU here.
    export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 ;;
  windows-x86_64)
    # The same folder as the unit tests' Windows build (tests/platform_run.sh).
    # No window reserve on Windows (profiler/profiler.h): each window has room of its own.
    out=$top/windows/x86_64 rid=win-x64 exe=.exe crlf=1 held=0 exits=(cmd /c exit 5) no_shim=1
    wine=/usr/lib/wine/wine64
    needs=(x86_64-w64-mingw32-gcc "$wine")
    # The prefix of tests/platform_run.sh: BUILD/wine (BUILD relative or absolute).
    export WINEDEBUG=-all WINEPREFIX=${WINEPREFIX:-$(mkdir -p "$top" && cd "$top" && pwd)/wine}
    # The DLL and mmrun.exe; the Wine prefix once (about 20 s), then a wine
    # server kept a while between the runs (each start costs seconds).
    build() {
      flock "$top/.lock-$platform" sh -c '$0 --no-print-directory -s CC=x86_64-w64-mingw32-gcc BUILD="$1" profiler &&
        { [ -d "$WINEPREFIX" ] || "$2" cmd /c exit; }' "$make" "$out" "$wine" || return 1
      "${wine%/*}/wineserver" -p30 2>/dev/null || true
    }
    # mmrun.exe runs under Wine too and starts the program, a Windows
    # executable, with CreateProcess: paths relative to this folder, or
    # absolute ones, which Wine's Z: drive maps.
    plain=("$wine") under=()
    mmrun=("$wine" "$out/profiler/mmrun.exe") profiler=$out/profiler/libmmprofiler.dll ;;
  *) echo "runtime_platform: unknown platform $platform"; exit 1 ;;
esac
for c in dotnet "${needs[@]}"; do
  command -v "$c" >/dev/null || { echo "runtime_platform: $c is missing: run tests/setup.sh (as root; dotnet: the .NET SDK 10)"; exit 1; }
done

samples=(answer calls exceptions generics linq)
pub=$out/samples
log=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$log" "$work"' EXIT
pass=0 fail=0
verdict() { # NAME STATUS MS: one line; the log of a failure below it
  if [ "$2" -eq 0 ]; then pass=$((pass + 1)); printf 'PASS %6d ms  %s %s\n' "$3" "$platform" "$1"
  else fail=$((fail + 1)); printf 'FAIL %6d ms  %s %s\n' "$3" "$platform" "$1"; sed 's/^/    | /' "$log" | tail -n 30; fi
}
# unix_text FILE...: CR LF line ends made LF, on platforms that write them.
unix_text() { [ -z "$crlf" ] || sed -i 's/\r$//' "$@"; }
ms_since() { echo $(( (${EPOCHREALTIME/./} - $1) / 1000 )); }
finish() { echo "$platform: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

start=${EPOCHREALTIME/./}
build >"$log" 2>&1
status=$?
verdict "build: profiler ($profiler), mmrun" $status "$(ms_since "$start")"
[ $status -eq 0 ] || finish

# Publishing: once per content of the samples, the SDK and the publish
# command.  A private HOME, and the NuGet cache of the build folder, as for
# every run of the SDK (tests/dotnet_env.sh): the runtime pack is
# downloaded once.
mkdir -p "$pub"
abs=$(cd "$pub" && pwd)
. "$here/dotnet_env.sh" "$abs/home" "$top"
# Only these samples: one solution listing them (absolute paths), one
# publish folder for all (the runtime's files are the same for each).
# Self-contained needs the app host; -m:1, as every project writes the
# same runtime files.
publish=(dotnet publish "$abs/samples.slnx" -c Release -r "$rid" --self-contained -nologo -v quiet -m:1
         -p:UseAppHost=true -p:MmSamplesOut="$abs/build/" -p:PublishDir="$abs/bin/" -clp:ErrorsOnly)
key=$( { echo "${publish[*]}"; dotnet --version
         cd "$here/samples" && find Directory.Build.props "${samples[@]}" -type f -print0 | sort -z | xargs -0 sha256sum; } \
       | sha256sum | cut -c1-16)
published() {
  [ "$(cat "$pub/stamp" 2>/dev/null)" = "$key" ] || return 1
  for s in "${samples[@]}"; do [ -f "$pub/bin/$s$exe" ] || return 1; done
}
start=${EPOCHREALTIME/./}
if published; then
  echo "reused (stamp $key)" >"$log"; what=reused
else
  what=published
  rm -rf "$pub/bin" "$pub/stamp"
  { echo '<Solution>'
    for s in "${samples[@]}"; do echo "  <Project Path=\"$here/samples/$s/$s.csproj\" />"; done
    echo '</Solution>'; } >"$pub/samples.slnx"
  "${publish[@]}" >"$log" 2>&1
  status=$?
  # The build outputs are copies of the runtime again: only obj/ is kept.
  for s in "${samples[@]}"; do rm -rf "${pub:?}/build/$s"; done
  [ $status -ne 0 ] || echo "$key" >"$pub/stamp"
fi
published || echo "(not all of ${samples[*]} published in $pub/bin)" >>"$log"
published
status=$?
verdict "samples ${samples[*]} for $rid: $what" $status "$(ms_since "$start")"
published || finish

# value KEY FILE: the number after KEY= on the report line.
value() { grep -m1 '^methodmalloc: mode=' "$2" | grep -o " $1=[0-9]*" | cut -d= -f2; }

# Every run is bounded: a hung emulator is a failure, not a hung make test.
limit=(timeout 300)

# plain NAME: the sample's own output, into $work/NAME.plain.
plain() {
  "${limit[@]}" "${plain[@]}" "$pub/bin/$1$exe" </dev/null >"$work/$1.plain" 2>"$work/$1.plain.err" \
    || { cat "$work/$1.plain.err"; echo "$1: the plain run failed"; return 1; }
  unix_text "$work/$1.plain"
}

# profiled NAME MODE [mmrun options...]: runs the sample under the profiler;
# the same output as plain, a report, bodies served, none refused, none
# outside its window, none left unrelocated.  Leaves $work/NAME.MODE.{out,err}.
profiled() {
  local s=$1 mode=$2 n st=0; shift 2
  local o=$work/$s.$mode.out e=$work/$s.$mode.err
  "${limit[@]}" "${mmrun[@]}" --profiler "$profiler" "$@" -- "${under[@]}" "$pub/bin/$s$exe" </dev/null >"$o" 2>"$e" || st=$?
  unix_text "$o" "$e"
  [ $st -eq 0 ] || { cat "$e"; echo "$s under $mode: exit status $st"; return 1; }
  cmp -s "$work/$s.plain" "$o" || { diff "$work/$s.plain" "$o" | head -n 20; echo "$s under $mode: output differs from the plain run"; return 1; }
  grep -q '^methodmalloc: mode=' "$e" || { cat "$e"; echo "$s under $mode: no report"; return 1; }
  [ "$(value served "$e")" -gt 0 ] || { cat "$e"; echo "$s under $mode: no body served"; return 1; }
  for n in refused violations not_relocated; do
    [ "$(value $n "$e")" -eq 0 ] || { cat "$e"; echo "$s under $mode: $n=$(value $n "$e")"; return 1; }
  done
  [ -z "$held" ] || grep -q "^methodmalloc: window_reserve held=$held " "$e" \
    || { grep window_reserve "$e"; echo "$s under $mode: the window reserve does not hold $held bytes"; return 1; }
}
# numbers FILE: the report's counts and the window reserve's, for the summary.
numbers() {
  local r
  r=$(grep -m1 '^methodmalloc: window_reserve' "$1")
  printf 'served=%s refused=%s violations=%s not_relocated=%s; reserve%s%s%s' \
    "$(value served "$1")" "$(value refused "$1")" "$(value violations "$1")" "$(value not_relocated "$1")" \
    "$(grep -o ' held=[0-9]*' <<<"$r")" "$(grep -o ' regions=[0-9]*' <<<"$r")" "$(grep -o ' exec_range=[0-9a-fx-]*' <<<"$r")"
}

# Relocate, ReadyToRun off: the framework's methods are JIT-compiled too.
for s in generics exceptions linq; do
  start=${EPOCHREALTIME/./}
  { plain "$s" && profiled "$s" relocate --relocate --include-precompiled; } >"$log" 2>&1
  status=$?
  verdict "relocate --include-precompiled $s: $(numbers "$work/$s.relocate.err" 2>/dev/null)" $status "$(ms_since "$start")"
done

# Calls: every rewritten method listed once, the calls sample's counts exact.
. "$here/calls_counts.sh"
tsv=$work/calls.tsv
calls_check() {
  local served
  rm -f "$tsv" # every process appends to a calls report
  plain calls && profiled calls calls --calls --calls-report "$tsv" || return 1
  served=$(value served "$work/calls.calls.err")
  unix_text "$tsv"
  [ "$(wc -l <"$tsv")" -eq "$served" ] || { echo "calls: $served rewritten, $(wc -l <"$tsv") in the calls report"; return 1; }
  calls_counts_check "$tsv" || { grep -P '\tCalls\.' "$tsv"; return 1; }
}
start=${EPOCHREALTIME/./}
calls_check >"$log" 2>&1
status=$?
verdict "calls: the calls sample's counts exact ($(grep -c $'\tCalls\\.' "$tsv" 2>/dev/null) of its methods)" $status "$(ms_since "$start")"

# Replace: Answer() returns 41 in the sample; the new body says 42.  Under
# the platform's own mmrun, when it has one.
[ -n "${own_mmrun+set}" ] || own_mmrun=("${mmrun[@]}")
replace_check() {
  local e=$work/answer.err st=0
  plain answer || return 1
  grep -qx 'Answer() = 41' "$work/answer.plain" || { cat "$work/answer.plain"; echo "answer: the plain run did not say Answer() = 41"; return 1; }
  "${limit[@]}" "${own_mmrun[@]}" --profiler "$profiler" --replace 'App.Calc::Answer=1F 2A 2A' -- "${under[@]}" "$pub/bin/answer$exe" \
    </dev/null >"$work/answer.out" 2>"$e" || st=$?
  unix_text "$work/answer.out" "$e"
  [ $st -eq 0 ] || { cat "$e"; echo "the replace run failed: exit status $st"; return 1; }
  grep -qx 'Answer() = 42' "$work/answer.out" && grep -qx 'Twice() = 84' "$work/answer.out" \
    || { cat "$work/answer.out" "$e"; echo "replace: Answer() and its caller did not see 42"; return 1; }
  [ "$(value replaced "$e")" = 1 ] && [ "$(value violations "$e")" = 0 ] \
    || { cat "$e"; echo "replace: the report does not say replaced=1 violations=0"; return 1; }
}
start=${EPOCHREALTIME/./}
replace_check >"$log" 2>&1
status=$?
verdict "replace: Answer() = 41 became 42 (under ${own_mmrun[*]})" $status "$(ms_since "$start")"

# A launcher of the platform's own (mmrun.exe): the program's exit status,
# and its own for a program it cannot start or a profiler it cannot find.
exits_check() {
  local st=0
  "${limit[@]}" "${mmrun[@]}" --profiler "$profiler" -- "${exits[@]}" </dev/null >"$work/x.out" 2>"$work/x.err" || st=$?
  unix_text "$work/x.err"
  [ $st -eq 5 ] && grep -q 'wrote no report' "$work/x.err" \
    || { cat "$work/x.err"; echo "a program exiting with 5 (not .NET): status $st, expected 5 and 'wrote no report'"; return 1; }
  st=0
  "${limit[@]}" "${mmrun[@]}" --profiler "$profiler" -- no-such-program </dev/null >"$work/x.out" 2>"$work/x.err" || st=$?
  unix_text "$work/x.err"
  [ $st -eq 127 ] && grep -q 'cannot run no-such-program' "$work/x.err" \
    || { cat "$work/x.err"; echo "a program that does not exist: status $st, expected 127 and 'cannot run'"; return 1; }
  st=0
  "${limit[@]}" "${mmrun[@]}" --profiler no-such.dll -- "$pub/bin/answer$exe" </dev/null >"$work/x.out" 2>"$work/x.err" || st=$?
  unix_text "$work/x.err"
  [ $st -eq 3 ] && grep -q 'profiler library no-such.dll' "$work/x.err" \
    || { cat "$work/x.err"; echo "a profiler that does not exist: status $st, expected 3"; return 1; }
  [ -n "$no_shim" ] || return 0
  st=0
  "${limit[@]}" "${mmrun[@]}" --profiler "$profiler" --shim "$work/shim" --guest "$profiler={11111111-2222-3333-4444-555555555555}" \
    </dev/null >"$work/x.out" 2>"$work/x.err" || st=$?
  unix_text "$work/x.err"
  [ $st -eq 2 ] && grep -q 'not supported on Windows' "$work/x.err" && [ ! -e "$work/shim" ] \
    || { cat "$work/x.err"; echo "--shim: status $st, expected 2 and 'not supported on Windows', nothing made"; return 1; }
}
if [ ${#exits[@]} -gt 0 ]; then
  start=${EPOCHREALTIME/./}
  exits_check >"$log" 2>&1
  status=$?
  verdict "mmrun's exit statuses: the program's (5), not started (127), no profiler (3)${no_shim:+, --shim refused (2)}" $status "$(ms_since "$start")"
fi
finish
