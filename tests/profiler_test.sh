#!/usr/bin/env bash
# The profiler inside the real .NET runtime (issue 4).  Builds the C#
# samples, runs each one plainly, under --relocate and under --runtime, and
# requires the same output every time, bodies served, no refusal, nothing
# left unrelocated, and (for methodmalloc) no block outside its module's
# window; then --include-precompiled on two samples for thousands more
# bodies, replace mode on the Answer sample, and mmrun's error paths.
# usage: tests/profiler_test.sh MMRUN SAMPLES_DIR
set -euo pipefail
mmrun=${1:?usage: profiler_test.sh MMRUN SAMPLES_DIR}
samples=${2:?usage: profiler_test.sh MMRUN SAMPLES_DIR}
here=$(cd "$(dirname "$0")" && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

fail() { echo "FAIL: $*" >&2; exit 1; }
command -v dotnet >/dev/null || fail "dotnet not found: install the .NET SDK 10 (the samples and the runtime come from it)"
[ -x "$mmrun" ] || fail "$mmrun not built (make all)"
"$here/samples/build.sh" "$samples" || fail "building the samples"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# value KEY FILE: the number after KEY= on the report line.
value() { grep -m1 '^methodmalloc: mode=' "$2" | grep -o " $1=[0-9]*" | cut -d= -f2; }

# run NAME MODE [mmrun options...]: runs sample NAME under MODE, compares with
# its plain output, checks the report, adds to the totals.
total_served=0
run() {
  local s=$1 mode=$2; shift 2
  local out=$work/$s.$mode.out err=$work/$s.$mode.err
  "$mmrun" "$@" -- dotnet "$samples/$s/$s.dll" >"$out" 2>"$err" || { st=$?; cat "$err" >&2; fail "$s under $mode: exit status $st"; }
  if ! cmp -s "$work/$s.plain" "$out"; then
    diff "$work/$s.plain" "$out" | head -n 20 >&2
    fail "$s under $mode: output differs from the plain run"
  fi
  grep -q '^methodmalloc: mode=' "$err" || { cat "$err" >&2; fail "$s under $mode: no report"; }
  local served refused violations unrelocated
  served=$(value served "$err"); refused=$(value refused "$err")
  violations=$(value violations "$err"); unrelocated=$(value not_relocated "$err")
  [ "$served" -gt 0 ] || fail "$s under $mode: no body served"
  [ "$refused" -eq 0 ] || { cat "$err" >&2; fail "$s under $mode: $refused allocations refused"; }
  [ "$unrelocated" -eq 0 ] || { cat "$err" >&2; fail "$s under $mode: $unrelocated methods not relocated"; }
  # methodmalloc keeps every block in its module's window; CoreCLR's own
  # allocator (runtime mode) takes ordinary heap memory and does not: its
  # count is shown, not required.
  if [ "$mode" != runtime ] && [ "$mode" != runtime-precompiled ]; then
    [ "$violations" -eq 0 ] || fail "$s under $mode: $violations blocks outside the window"
  fi
  printf '%-11s %-21s served=%-5s bytes=%-7s refused=%s violations=%s not_relocated=%s\n' \
    "$s" "$mode" "$served" "$(value bytes "$err")" "$refused" "$violations" "$unrelocated"
  if [ "$mode" = relocate ] || [ "$mode" = relocate-precompiled ]; then
    total_served=$((total_served + served))
  fi
}

for s in async exceptions generics linq parallel; do
  dotnet "$samples/$s/$s.dll" >"$work/$s.plain" || fail "$s: the plain run failed"
  run "$s" relocate --relocate
  run "$s" runtime --runtime
done
# ReadyToRun off: the framework's methods are JIT-compiled too.
for s in generics linq; do
  run "$s" relocate-precompiled --relocate --include-precompiled
  run "$s" runtime-precompiled --runtime --include-precompiled
done
# A program that loads and unloads a module 300 times (collectible
# AssemblyLoadContext): the reserve does not grow with the loads (a few
# regions as the kernel's pile moves; one or two per load before: 41.9 GB).
dotnet "$samples/unload/unload.dll" >"$work/unload.plain" || fail "unload: the plain run failed"
run unload relocate --relocate
reserve_line=$(grep -m1 '^methodmalloc: window_reserve' "$work/unload.relocate.err")
held=$(grep -o ' held=[0-9]*' <<<"$reserve_line" | cut -d= -f2)
regions=$(grep -o ' regions=[0-9]*' <<<"$reserve_line" | cut -d= -f2)
modules=$(value modules "$work/unload.relocate.err")
[ "$modules" -ge 300 ] || fail "unload: only $modules modules loaded"
[ "$regions" -le 8 ] && [ "$held" -le $((256 << 20)) ] \
  || fail "unload: the reserve grew with the loads: $regions regions, $held bytes held for $modules modules"
echo "unload: $modules modules loaded and unloaded, reserve $regions regions, $held bytes"
# No reserve (MM_PROFILER_RESERVE_MB=0), or an address-space limit: fewer
# places, so perhaps refusals, counted; never a failed or different program.
degraded() {
  local what=$1; shift
  "$@" "$mmrun" --relocate --include-precompiled -- dotnet "$samples/linq/linq.dll" >"$work/deg.out" 2>"$work/deg.err" \
    || { cat "$work/deg.err" >&2; fail "$what: the program failed"; }
  cmp -s "$work/linq.plain" "$work/deg.out" || fail "$what: output differs from the plain run"
  grep -q '^methodmalloc: mode=' "$work/deg.err" || fail "$what: no report"
  [ "$(value violations "$work/deg.err")" -eq 0 ] || fail "$what: blocks outside the window"
  echo "$what: same output, refused=$(value refused "$work/deg.err")"
}
degraded "no reserve" env MM_PROFILER_RESERVE_MB=0
degraded "RLIMIT_AS 16 GiB" bash -c 'ulimit -v 16777216 && exec "$@"' limited

[ "$total_served" -ge 5000 ] || fail "only $total_served bodies served in relocate mode, expected thousands"
echo "relocate mode served $total_served bodies in all"

# Calls: every JIT-compiled method gets a counter probe (the IL rewriter,
# stack-checked, into methodmalloc); every sample's output stays the same,
# with ReadyToRun on and off, and no method keeps its original body.
dotnet "$samples/calls/calls.dll" >"$work/calls.plain" || fail "calls: the plain run failed"
for s in async calls exceptions generics linq parallel; do
  for pre in "" --include-precompiled; do
    mode=calls${pre:+-precompiled}
    run "$s" "$mode" --calls $pre --calls-report "$work/$s.$mode.tsv"
    served=$(value served "$work/$s.$mode.err")
    # Every rewritten method is listed, zeros included: one line each.
    [ "$(wc -l <"$work/$s.$mode.tsv")" -eq "$served" ] || fail "$s under $mode: $served rewritten, $(wc -l <"$work/$s.$mode.tsv") in the calls report"
    grep -q '^methodmalloc: calls top  1 ' "$work/$s.$mode.err" || fail "$s under $mode: no top methods in the report"
  done
done
# The counts of the calls sample, known from its source (tests/calls_counts.sh).
. "$here/calls_counts.sh"
for mode in calls calls-precompiled; do
  why=$(calls_counts_check "$work/calls.$mode.tsv") \
    || { grep -P '\tCalls\.' "$work/calls.$mode.tsv" >&2; fail "calls sample under $mode: $why"; }
done
echo "calls: every sample unchanged under --calls, the calls sample's counts exact"

# Replace: Answer() returns 41 in the sample; the new body says 42.
dotnet "$samples/answer/answer.dll" >"$work/answer.plain"
grep -qx 'Answer() = 41' "$work/answer.plain" || fail "answer sample: unexpected plain output"
"$mmrun" --replace 'App.Calc::Answer=1F 2A 2A' -- dotnet "$samples/answer/answer.dll" >"$work/answer.out" 2>"$work/answer.err" \
  || { cat "$work/answer.err" >&2; fail "replace run failed"; }
grep -qx 'Answer() = 42' "$work/answer.out" || { cat "$work/answer.out" "$work/answer.err" >&2; fail "replace: Answer() did not return 42"; }
grep -qx 'Twice() = 84' "$work/answer.out" || fail "replace: the caller did not see the new body"
[ "$(value replaced "$work/answer.err")" -eq 1 ] || fail "replace: report does not say replaced=1"
[ "$(value violations "$work/answer.err")" -eq 0 ] || fail "replace: block outside the window"
echo "replace: Answer() = 41 became 42"

# mmrun's error paths: each exits non-zero with a message naming the problem.
expect_error() {
  local want_status=$1 pattern=$2; shift 2
  local status=0
  "$mmrun" "$@" >"$work/e.out" 2>"$work/e.err" || status=$?
  [ "$status" -eq "$want_status" ] || { cat "$work/e.err" >&2; fail "mmrun $*: status $status, expected $want_status"; }
  grep -q -- "$pattern" "$work/e.err" || { cat "$work/e.err" >&2; fail "mmrun $*: no message matching '$pattern'"; }
}
expect_error 2 'unknown option --bogus' --bogus -- dotnet "$samples/answer/answer.dll"
expect_error 2 'no program to run' --relocate
expect_error 2 'calls-report needs --calls' --calls-report x.tsv -- dotnet "$samples/answer/answer.dll"
expect_error 2 'IL hex' --replace 'App.Calc::Answer=1F2' -- dotnet "$samples/answer/answer.dll"
expect_error 2 'expected' --replace 'App.Calc.Answer=2A' -- dotnet "$samples/answer/answer.dll"
expect_error 3 'App.Calc::Nope not found' --replace 'App.Calc::Nope=1F2A2A' -- dotnet "$samples/answer/answer.dll"
expect_error 3 'profiler library /nonexistent/libmmprofiler.so' --profiler /nonexistent/libmmprofiler.so -- dotnet "$samples/answer/answer.dll"
expect_error 3 'wrote no report' -- /bin/true
# A bad setting reaches the report and mmrun, not the program's own stderr.
MM_PROFILER_RESERVE_MB=abc expect_error 3 'did not start' -- dotnet "$samples/answer/answer.dll"
grep -q 'MM_PROFILER_RESERVE_MB=abc' "$work/e.err" || fail "the bad MM_PROFILER_RESERVE_MB was not reported"
# Another profiler's path left in the environment does not replace ours.
CORECLR_PROFILER_PATH_64=/nonexistent.so expect_error 0 'mode=relocate' -- dotnet "$samples/answer/answer.dll"
echo "mmrun error paths: ok"

# The heavy case of issue 8: a real build, MSBuild and the compiler, about
# 39,000 bodies with ReadyToRun off, no refusal, the reserve within its cap.
"$here/heavy_build.sh" "$mmrun"
