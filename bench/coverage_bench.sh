#!/usr/bin/env bash
# Issue 16's performance goal as a benchmark (not a timed test): the wall time
# of `dotnet test --collect "Code Coverage"` on tests/coverage with the CLR
# Instrumentation Engine alone and with the engine as the guest of our host
# (mmrun --shim), BENCH_RUNS runs each (default 5) in interleaved order;
# prints the medians and their ratio (the goal: at most 1.05), and the same
# for the CPU time of all the run's processes (less at the mercy of other
# load on the machine than the wall time).  The engine's log is off, as in a
# user's run.
# usage: bench/coverage_bench.sh MMRUN BUILD
set -euo pipefail
mmrun=${1:?usage: coverage_bench.sh MMRUN BUILD}
build=${2:?usage: coverage_bench.sh MMRUN BUILD}
runs=${BENCH_RUNS:-5}
what=coverage-bench
. "$(dirname "$0")/../tests/coverage/project.sh"
engine_log=0

"$mmrun" --shim "$work/shim" --guest "$engine_dir/libInstrumentationEngine.so=$clsid" --report "$work/host.report" \
  || fail "mmrun --shim failed"
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
# One unmeasured run of each first: the SDK's and the runtime's first start
# after a build is slower.
cover warm-alone "$engine_dir"
cover warm-host "$work/shim"
for ((i = 0; i < runs; i++)); do
  cover alone "$engine_dir"
  cat "$work/alone.ms" >>"$work/alone.all"
  cat "$work/alone.cpu" >>"$work/alone.cpus"
  cover host "$work/shim"
  cat "$work/host.ms" >>"$work/host.all"
  cat "$work/host.cpu" >>"$work/host.cpus"
  cmp -s "$work/alone.cov" "$work/host.cov" || fail "run $i: the coverage under the host differs from the engine alone"
done
alone=$(median <"$work/alone.all") host=$(median <"$work/host.all")
alone_cpu=$(median <"$work/alone.cpus") host_cpu=$(median <"$work/host.cpus")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
echo
echo "coverage run: dotnet test --collect \"Code Coverage\" (dynamic instrumentation), median of $runs"
printf '  %-22s %10s %8s %10s %8s\n' run wall_ms ratio cpu_ms ratio
printf '  %-22s %10.0f %8.3f %10.0f %8.3f\n' "engine alone" "$alone" 1 "$alone_cpu" 1
printf '  %-22s %10.0f %8s %10.0f %8s\n' "engine under the host" "$host" "$(ratio "$host" "$alone")" \
  "$host_cpu" "$(ratio "$host_cpu" "$alone_cpu")"
# Each host run follows its alone run: the median of the pairs' ratios is
# less moved by load that drifts during the benchmark.
paired() { paste "$1" "$2" | awk '{print $2 / $1}' | median; }
printf '  %-22s %10s %8.3f %10s %8.3f\n' "paired ratio (median)" "" "$(paired "$work/alone.all" "$work/host.all")" \
  "" "$(paired "$work/alone.cpus" "$work/host.cpus")"
echo "  wall (ms): alone $(tr '\n' ' ' <"$work/alone.all")| host $(tr '\n' ' ' <"$work/host.all")"
echo "  cpu (ms):  alone $(tr '\n' ' ' <"$work/alone.cpus")| host $(tr '\n' ' ' <"$work/host.cpus")"
grep '^methodmalloc: guest=1 path=' "$work/host.report" | tail -n 1 | sed 's/^/  last host run: /'
