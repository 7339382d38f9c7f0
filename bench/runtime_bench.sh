#!/usr/bin/env bash
# Benchmark of the profiler inside the .NET runtime (issue 4, not a timed
# test): wall time and peak resident memory of each C# sample without the
# profiler, in relocate mode (bodies from methodmalloc) and in runtime mode
# (bodies from the runtime's own allocator), in calls mode (every method
# rewritten with a counter probe, issue 9), as medians of BENCH_RUNS runs
# (default 5) taken in interleaved order, and as ratios to the plain run.
# A second table does the same with ReadyToRun off (--include-precompiled;
# DOTNET_ReadyToRun=0 for the plain run), where the framework's methods are
# JIT-compiled and relocated too.
# usage: bench/runtime_bench.sh MMRUN SAMPLES_DIR
set -euo pipefail
mmrun=${1:?usage: runtime_bench.sh MMRUN SAMPLES_DIR}
samples=${2:?usage: runtime_bench.sh MMRUN SAMPLES_DIR}
runs=${BENCH_RUNS:-5}
here=$(cd "$(dirname "$0")" && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
command -v dotnet >/dev/null || { echo "bench: dotnet not found" >&2; exit 1; }
"$here/../tests/samples/build.sh" "$samples"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

# measure SAMPLE MODE EXTRA...: appends "wall_ms maxrss_kb served" to a file.
measure() {
  local s=$1 mode=$2; shift 2
  local flag=--$mode plain_env=
  # The plain run of the second table turns ReadyToRun off the runtime's
  # own way, so that both sides JIT-compile the same methods.
  if [ "$mode" = plain ]; then
    flag=--no-profiler
    [ "${1:-}" = --include-precompiled ] && { plain_env=DOTNET_ReadyToRun=0; shift; }
  fi
  env $plain_env "$mmrun" --stats "$flag" "$@" -- dotnet "$samples/$s/$s.dll" >/dev/null 2>"$work/err" \
    || { cat "$work/err" >&2; echo "bench: $s ($mode) failed" >&2; exit 1; }
  local wall rss served
  wall=$(grep -o 'wall_ms=[0-9.]*' "$work/err" | cut -d= -f2)
  rss=$(grep -o 'maxrss_kb=[0-9]*' "$work/err" | cut -d= -f2)
  served=$(grep -m1 '^methodmalloc: mode=' "$work/err" | grep -o ' served=[0-9]*' | cut -d= -f2 || true)
  echo "$wall $rss ${served:-0}" >>"$work/$s.$mode"
}

table() {
  local title=$1; shift
  echo
  echo "$title"
  printf '%-11s %9s %9s %9s %7s %7s | %8s %8s %8s %6s %6s | %6s | %9s %6s %9s %6s\n' sample plain_ms reloc_ms runtime_ms \
    reloc runtime plain_MB reloc_MB rt_MB reloc runtime bodies calls_ms calls calls/rel calls_MB
  local s m
  for s in async exceptions generics linq parallel; do
    rm -f "$work/$s".*
    for ((i = 0; i < runs; i++)); do
      for m in plain relocate runtime calls; do measure "$s" "$m" "$@"; done
    done
    local pw rw tw pr rr tr n cw cr
    pw=$(cut -d' ' -f1 "$work/$s.plain" | median); rw=$(cut -d' ' -f1 "$work/$s.relocate" | median)
    tw=$(cut -d' ' -f1 "$work/$s.runtime" | median)
    pr=$(cut -d' ' -f2 "$work/$s.plain" | median); rr=$(cut -d' ' -f2 "$work/$s.relocate" | median)
    tr=$(cut -d' ' -f2 "$work/$s.runtime" | median)
    n=$(cut -d' ' -f3 "$work/$s.relocate" | median)
    cw=$(cut -d' ' -f1 "$work/$s.calls" | median); cr=$(cut -d' ' -f2 "$work/$s.calls" | median)
    awk -v s="$s" -v pw="$pw" -v rw="$rw" -v tw="$tw" -v pr="$pr" -v rr="$rr" -v tr="$tr" -v n="$n" -v cw="$cw" -v cr="$cr" 'BEGIN {
      printf "%-11s %9.1f %9.1f %9.1f %7.2f %7.2f | %8.1f %8.1f %8.1f %6.2f %6.2f | %6d | %9.1f %6.2f %9.2f %6.2f\n",
        s, pw, rw, tw, rw / pw, tw / pw, pr / 1024, rr / 1024, tr / 1024, rr / pr, tr / pr, n, cw, cw / pw, cw / rw, cr / pr }'
  done
}

echo "methodmalloc runtime benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(dotnet --list-runtimes | grep -m1 NETCore.App | cut -d' ' -f1-2), median of $runs runs"
echo "ratios are to the plain run; relocate and runtime modes turn inlining off (both the same way),"
echo "so relocate against runtime isolates the allocator; against plain it is the whole profiler's cost;"
echo "calls mode (a counter probe in every JIT-compiled method) against plain and against relocate"
table "ReadyToRun on (framework precompiled; the samples' own methods are JIT-compiled):"
table "ReadyToRun off (--include-precompiled: the framework's methods are JIT-compiled too):" --include-precompiled
