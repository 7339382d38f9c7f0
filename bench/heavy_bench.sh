#!/usr/bin/env bash
# The heavy case of issue 8 as a benchmark (not a timed test): `dotnet build`
# of a fresh console project, ReadyToRun off, plainly (DOTNET_ReadyToRun=0),
# in relocate mode and in runtime mode (--include-precompiled), BENCH_RUNS
# runs each (default 3) in interleaved order; median wall time and ratios to
# the plain build; then, per process of the last relocate run, bodies
# served, bytes served and the reserve held for them.
# usage: bench/heavy_bench.sh MMRUN
set -euo pipefail
mmrun=${1:?usage: heavy_bench.sh MMRUN}
runs=${BENCH_RUNS:-3}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
command -v dotnet >/dev/null || { echo "bench: dotnet not found" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
( cd "$work" && dotnet new console -o app >/dev/null 2>&1 ) || { echo "bench: dotnet new console failed" >&2; exit 1; }

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

# measure MODE: one build, appends its wall time in ms to $work/MODE.
measure() {
  local mode=$1 env_=
  local args=(--stats)
  case $mode in
    plain) args+=(--no-profiler); env_=DOTNET_ReadyToRun=0 ;;
    *) args+=(--"$mode" --include-precompiled --report "$work/report.$mode") ;;
  esac
  rm -rf "$work/app/bin" "$work/app/obj" "$work/report.$mode"
  env $env_ "$mmrun" "${args[@]}" -- dotnet build "$work/app" -c Release -nodeReuse:false \
    -p:UseSharedCompilation=false >"$work/out" 2>"$work/err" \
    || { cat "$work/out" "$work/err" >&2; echo "bench: the $mode build failed" >&2; exit 1; }
  grep -o 'wall_ms=[0-9.]*' "$work/err" | cut -d= -f2 >>"$work/$mode"
}

for ((i = 0; i < runs; i++)); do
  for mode in plain relocate runtime; do measure "$mode"; done
done
plain=$(median <"$work/plain")
reloc=$(median <"$work/relocate")
rt=$(median <"$work/runtime")
echo
echo "heavy case: dotnet build of a new console project, ReadyToRun off, median of $runs"
printf '  %-10s %10s %8s\n' mode wall_ms ratio
printf '  %-10s %10.0f %8.2f\n' plain "$plain" 1
printf '  %-10s %10.0f %8.2f\n' relocate "$reloc" "$(awk -v a="$reloc" -v b="$plain" 'BEGIN {print a / b}')"
printf '  %-10s %10.0f %8.2f\n' runtime "$rt" "$(awk -v a="$rt" -v b="$plain" 'BEGIN {print a / b}')"
echo "  reserve held for the bodies served (last relocate run):"
grep '^methodmalloc: mode=' "$work/report.relocate" | while read -r line; do
  pid=$(grep -o 'pid=[0-9]*' <<<"$line" | cut -d= -f2)
  res=$(grep "^methodmalloc: window_reserve .*pid=$pid " "$work/report.relocate")
  heaps=$(grep "^methodmalloc: heaps=.*pid=$pid " "$work/report.relocate")
  printf '  %-14s served=%-6s bytes=%-8s refused=%-3s heap_reserved=%-9s reserve_held=%-10s in_use=%-8s regions=%s\n' \
    "$(grep -o 'program=[^ ]*' <<<"$line" | cut -d= -f2)" \
    "$(grep -o ' served=[0-9]*' <<<"$line" | cut -d= -f2)" "$(grep -o ' bytes=[0-9]*' <<<"$line" | cut -d= -f2)" \
    "$(grep -o ' refused=[0-9]*' <<<"$line" | cut -d= -f2)" "$(grep -o ' reserved=[0-9]*' <<<"$heaps" | cut -d= -f2)" \
    "$(grep -o ' held=[0-9]*' <<<"$res" | cut -d= -f2)" "$(grep -o ' in_use=[0-9]*' <<<"$res" | cut -d= -f2)" \
    "$(grep -o ' regions=[0-9]*' <<<"$res" | cut -d= -f2)"
done
