#!/usr/bin/env bash
# The heavy case of issue 8: `dotnet build` of a fresh console project with
# ReadyToRun off under --relocate --include-precompiled: MSBuild, then the C#
# compiler in a process of its own, about 39,000 bodies JIT-compiled and
# relocated.  Builds the project plainly, then under mmrun in the same
# directory, and requires, in every process's report: refused=0,
# violations=0, nothing left unrelocated for want of room, the reserve held
# within the 1 GiB cap with at most 8 regions (not one per module load);
# the same build output (timings aside), with MM_PROFILER_VERBOSE on (its
# lines go to the report file) and a byte-identical app.dll (the
# build is deterministic, so the relocated compiler must produce the same
# assembly).  Prints one line per process and the totals.
# usage: tests/heavy_build.sh MMRUN [WORKDIR]
#   HEAVY_KEEP=1 keeps the work directory; HEAVY_STATS=1 prints wall times.
set -euo pipefail
mmrun=${1:?usage: heavy_build.sh MMRUN [WORKDIR]}
fail() { echo "FAIL (heavy build): $*" >&2; exit 1; }
command -v dotnet >/dev/null || fail "dotnet not found: install the .NET SDK 10"
[ -x "$mmrun" ] || fail "$mmrun not built"
work=${2:-$(mktemp -d)}
[ "${HEAVY_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
. "$(dirname "$0")/dotnet_env.sh" "$work/home" "$(dirname "$mmrun")/.."

( cd "$work" && dotnet new console -o app >new.log 2>&1 ) || { cat "$work/new.log" >&2; fail "dotnet new console"; }
build() { dotnet build "$work/app" -c Release -nodeReuse:false -p:UseSharedCompilation=false; }
# Timings and the restore's duration differ from run to run.
normalize() { sed -E 's/\(in [0-9.]+ (ms|sec)\)/(in T)/; s/^Time Elapsed .*/Time Elapsed T/' "$1"; }

# Both builds restore: `dotnet new` restored already.
rm -rf "$work/app/bin" "$work/app/obj"
t0=$(date +%s%N)
build >"$work/plain.out" 2>"$work/plain.err" || { cat "$work/plain.out" "$work/plain.err" >&2; fail "the plain build failed"; }
t1=$(date +%s%N)
dll=$work/app/bin/Release/net10.0/app.dll
[ -f "$dll" ] || fail "the plain build made no app.dll"
mv "$dll" "$work/plain.dll"
rm -rf "$work/app/bin" "$work/app/obj"
# Verbose: its lines must go to the report file, never into the build's
# streams (MSBuild takes the compiler's stderr lines for errors).
MM_PROFILER_VERBOSE=1 "$mmrun" --relocate --include-precompiled --report "$work/report" -- dotnet build "$work/app" -c Release \
  -nodeReuse:false -p:UseSharedCompilation=false >"$work/reloc.out" 2>"$work/reloc.err" \
  || { cat "$work/reloc.out" "$work/reloc.err" >&2; fail "the build under mmrun failed"; }
t2=$(date +%s%N)

if ! diff <(normalize "$work/plain.out") <(normalize "$work/reloc.out") >&2; then
  fail "build output differs from the plain build"
fi
cmp -s "$work/plain.dll" "$dll" || fail "app.dll differs from the plain build's"

# key LINE KEY: the number after KEY= in LINE.
key() { grep -o " $2=[0-9]*" <<<"$1" | head -n1 | cut -d= -f2; }
grep -q '^methodmalloc: module .*System.Private.CoreLib' "$work/report" || fail "no MM_PROFILER_VERBOSE line in the report"
reports=$(grep -c '^methodmalloc: mode=' "$work/report" || true)
[ "$reports" -ge 2 ] || { cat "$work/report" >&2; fail "expected a report from MSBuild and one from the compiler, got $reports"; }
total=0
while read -r line; do
  pid=$(grep -o 'pid=[0-9]*' <<<"$line" | cut -d= -f2)
  program=$(grep -o 'program=[^ ]*' <<<"$line" | cut -d= -f2)
  reserve=$(grep "^methodmalloc: window_reserve .*pid=$pid " "$work/report" || true)
  reasons=$(grep "^methodmalloc: not_relocated by reason:.*pid=$pid " "$work/report" || true)
  [ -n "$reserve" ] && [ -n "$reasons" ] || { cat "$work/report" >&2; fail "pid $pid: report lines missing"; }
  served=$(key "$line" served) refused=$(key "$line" refused) violations=$(key "$line" violations)
  no_room=$(key "$reasons" alloc_refused) held=$(key "$reserve" held) cap=$(key "$reserve" cap)
  regions=$(key "$reserve" regions) modules=$(key "$line" modules)
  placement=$(grep "^methodmalloc: placement .*pid=$pid " "$work/report" || true)
  [ -n "$placement" ] || fail "pid $pid: no placement line in the report"
  learnt=$(key "$placement" windows_learnt) refreshes=$(key "$placement" index_refreshes)
  printf '%-14s pid=%-7s modules=%-4s served=%-6s refused=%s violations=%s held=%s regions=%s learnt=%s refreshes=%s\n' \
    "$program" "$pid" "$modules" "$served" "$refused" "$violations" "$held" "$regions" "$learnt" "$refreshes"
  [ "$refused" -eq 0 ] || { cat "$work/report" >&2; fail "$program (pid $pid): $refused allocations refused"; }
  [ "$no_room" -eq 0 ] || fail "$program (pid $pid): $no_room methods not relocated for want of room"
  [ "$violations" -eq 0 ] || fail "$program (pid $pid): $violations blocks outside their window"
  [ "$held" -le "$cap" ] && [ "$cap" -le 1073741824 ] || fail "$program (pid $pid): reserve held $held over the cap $cap"
  [ "$regions" -le 8 ] || fail "$program (pid $pid): $regions reserve regions for $modules modules"
  total=$((total + served))
done < <(grep '^methodmalloc: mode=' "$work/report")
[ "$total" -ge 30000 ] || fail "only $total bodies served in all, expected tens of thousands"
echo "heavy build: $total bodies relocated in $reports processes, none refused; app.dll identical"
if [ "${HEAVY_STATS:-0}" = 1 ]; then
  echo "heavy build: plain_ms=$(((t1 - t0) / 1000000)) relocate_ms=$(((t2 - t1) / 1000000))"
fi
