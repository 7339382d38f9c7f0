# Sourced by tests/coverage_host.sh and bench/coverage_bench.sh, with mmrun,
# build (the build folder) and what (the name in messages) set: a fresh
# HOME in a new work directory (tests/dotnet_env.sh: the NuGet packages in
# the build folder), the project of this folder built in BUILD/coverage
# (again only when its sources change), the engine's folder found in the
# restored package, and `cover`, one coverage run.
# shellcheck shell=bash
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fail() { echo "FAIL ($what): $*" >&2; exit 1; }
command -v dotnet >/dev/null || fail "dotnet not found: install the .NET SDK 10"
command -v python3 >/dev/null || fail "python3 not found: apt-get install python3"
[ -x "$mmrun" ] || fail "$mmrun not built (make all)"
mmrun=$(cd "$(dirname "$mmrun")" && pwd)/$(basename "$mmrun")
mkdir -p "$build/coverage"
cache=$(cd "$build/coverage" && pwd)
work=$(mktemp -d)
step=''
cleanup() {
  if [ -n "$step" ]; then
    kill -KILL -- "-$step" 2>/dev/null || true
    wait "$step" 2>/dev/null || true
  fi
  if [ "${COVERAGE_KEEP:-0}" = 1 ]; then echo "$what: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$here/../dotnet_env.sh" "$work/home" "$build"
# vstest kills the test host 100 ms after the run unless told otherwise: a
# profiler's report written at the runtime's Shutdown (ours) would be cut
# short on a busy machine.
export VSTEST_TESTHOST_SHUTDOWN_TIMEOUT=30000

# bounded DEADLINE_S COMMAND...: COMMAND in a process group of its own, killed
# after DEADLINE_S seconds; waited for in the background so that a signal to
# this script ends it at once.
bounded() {
  local rc=0
  timeout -k 10 "$1" "${@:2}" &
  step=$!
  wait "$step" || rc=$?
  step=
  return "$rc"
}
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
# The user and system time of this shell's waited-for descendants, in ms
# (/proc/PID/stat fields 16 and 17, in clock ticks).
children_cpu_ms() {
  local f
  read -r -a f <"/proc/$$/stat"
  echo $(( (f[15] + f[16]) * 1000 / $(getconf CLK_TCK) ))
}

########## the project, built once per change of its sources ##########
src=$cache/src
# The version of Microsoft.CodeCoverage the project names: other projects
# may restore other versions into the same NUGET_PACKAGES.
version=$(sed -n 's|.*PackageReference Include="Microsoft.CodeCoverage" Version="\([^"]*\)".*|\1|p' "$here/CovLib.Tests/CovLib.Tests.csproj")
[ -n "$version" ] || fail "tests/coverage/CovLib.Tests/CovLib.Tests.csproj names no version of Microsoft.CodeCoverage"
stamp=$( (cd "$here" && find . -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.runsettings' \) -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)
dll=$src/CovLib.Tests/bin/Release/net10.0/CovLib.Tests.dll
if [ "$(cat "$cache/stamp" 2>/dev/null)" != "$stamp" ] || [ ! -f "$dll" ] || [ ! -d "$NUGET_PACKAGES/microsoft.codecoverage/$version" ]; then
  rm -rf "$src" "$cache/stamp"
  mkdir -p "$src"
  cp -R "$here/CovLib" "$here/CovLib.Tests" "$here/coverage.runsettings" "$src/"
  bounded 300 dotnet restore "$src/CovLib.Tests" >"$work/restore.log" 2>&1 \
    || { tail -n 20 "$work/restore.log" >&2; fail "dotnet restore failed (is NuGet reachable? it needs Microsoft.NET.Test.Sdk, Microsoft.CodeCoverage, xunit, xunit.runner.visualstudio)"; }
  bounded 300 dotnet build "$src/CovLib.Tests" --no-restore -c Release -nodeReuse:false -p:UseSharedCompilation=false \
    >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; fail "the build of tests/coverage failed"; }
  [ -f "$dll" ] || fail "the build made no $dll"
  echo "$stamp" >"$cache/stamp"
fi
lib=$(dirname "$dll")/CovLib.dll

# The engine's folder in the package restore put in NUGET_PACKAGES: the
# glibc build of the engine, the coverage method and its configuration.
# Never a path of this machine.
mapfile -t engines < <(find "$NUGET_PACKAGES/microsoft.codecoverage/$version" -path '*/ubuntu/x64/libInstrumentationEngine.so' 2>/dev/null)
[ "${#engines[@]}" -eq 1 ] || fail "expected one ubuntu/x64/libInstrumentationEngine.so in $NUGET_PACKAGES/microsoft.codecoverage/$version, found ${#engines[@]}"
engine_dir=$(dirname "${engines[0]}")
for f in libInstrumentationEngine.so libCoverageInstrumentationMethod.so Cov_x64.config; do
  [ -f "$engine_dir/$f" ] || fail "$engine_dir has no $f: the Microsoft.CodeCoverage package changed its layout"
done
clsid='{324F817A-7420-4E6D-B3C1-143FBED6D855}'

########## one coverage run ##########
tests_expected=15
# cover RUN ENGINE_DIR: dotnet test with coverage, the engine loaded from
# ENGINE_DIR (with engine_log=1, its log in $work/RUN.engine.log); the tests
# must pass; the normalized coverage in $work/RUN.cov; the run's wall time in
# ms in $work/RUN.ms, the CPU time of all its processes in $work/RUN.cpu.
engine_log=1
cover() {
  local run=$1 dir=$2 t0 c0 xml logenv=()
  sed "s|@ENGINE_DIR@|$dir|" "$src/coverage.runsettings" >"$work/$run.runsettings"
  if [ "$engine_log" = 1 ]; then
    logenv=(MicrosoftInstrumentationEngine_LogLevel=All "MicrosoftInstrumentationEngine_FileLogPath=$work/$run.engine.log")
  fi
  rm -rf "$work/$run.results"
  c0=$(children_cpu_ms)
  t0=$(now_ms)
  bounded 300 env "${logenv[@]}" dotnet test "$src/CovLib.Tests" --no-build -c Release -nodeReuse:false --collect "Code Coverage" --settings "$work/$run.runsettings" \
    --results-directory "$work/$run.results" >"$work/$run.out" 2>&1 \
    || { tail -n 40 "$work/$run.out" >&2; fail "$run: dotnet test failed"; }
  echo $(($(now_ms) - t0)) >"$work/$run.ms"
  echo $(($(children_cpu_ms) - c0)) >"$work/$run.cpu"
  grep -Eq "Failed: +0, Passed: +$tests_expected, Skipped: +0, Total: +$tests_expected," "$work/$run.out" \
    || { cat "$work/$run.out" >&2; fail "$run: not all $tests_expected tests passed"; }
  mapfile -t xml < <(find "$work/$run.results" -name '*.cobertura.xml')
  [ "${#xml[@]}" -eq 1 ] || { cat "$work/$run.out" >&2; fail "$run: expected one cobertura report, found ${#xml[@]}"; }
  python3 "$here/normalize.py" "${xml[0]}" "$src" >"$work/$run.cov" \
    || { cat "$work/$run.out" >&2; fail "$run: no coverage of the project's sources (was the engine loaded from $dir?)"; }
  [ "$engine_log" != 1 ] || [ -f "$work/$run.engine.log" ] || fail "$run: the engine wrote no log: it was not the test host's profiler"
}

