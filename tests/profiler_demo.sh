#!/usr/bin/env bash
# The main job, shown: a .NET program running on IL bodies served by
# methodmalloc.  Builds the C# samples, then runs
#   1. the Answer sample plainly and with Answer() given a new body (replace);
#   2. the LINQ sample plainly and with every JIT-compiled body relocated into
#      methodmalloc, framework methods included, and the profiler's report.
# usage: tests/profiler_demo.sh MMRUN SAMPLES_DIR
set -euo pipefail
mmrun=${1:?usage: profiler_demo.sh MMRUN SAMPLES_DIR}
samples=${2:?usage: profiler_demo.sh MMRUN SAMPLES_DIR}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/dotnet_env.sh" "$(mkdir -p "$samples" && cd "$samples" && pwd)/home" "$samples/.."
command -v dotnet >/dev/null || { echo "demo: dotnet not found: install the .NET SDK 10" >&2; exit 1; }

show() { printf '\n$ %s\n' "$*"; "$@" 2>&1; }

echo "Building the C# samples into $samples ..."
"$here/samples/build.sh" "$samples"

echo
echo "== 1. replace: App.Calc.Answer() returns 41; give it the body 1F 2A 2A (ldc.i4.s 42; ret)"
show dotnet "$samples/answer/answer.dll"
show "$mmrun" --replace 'App.Calc::Answer=1F2A2A' -- dotnet "$samples/answer/answer.dll"

echo
echo "== 2. relocate: every method the program JIT-compiles runs from a copy of its body in methodmalloc"
echo "   (--include-precompiled turns ReadyToRun off, so the framework's methods are relocated too)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '\n$ dotnet %s > plain.txt\n' "$samples/linq/linq.dll"
dotnet "$samples/linq/linq.dll" >"$work/plain.txt"
printf '\n$ %s --relocate --include-precompiled -- dotnet %s > relocated.txt\n' "$mmrun" "$samples/linq/linq.dll"
"$mmrun" --relocate --include-precompiled -- dotnet "$samples/linq/linq.dll" >"$work/relocated.txt"
echo
head -n 4 "$work/relocated.txt"
echo "... ($(wc -l <"$work/relocated.txt") lines)"
if cmp -s "$work/plain.txt" "$work/relocated.txt"; then
  echo "relocated.txt is identical to plain.txt"
else
  echo "relocated.txt DIFFERS from plain.txt:"; diff "$work/plain.txt" "$work/relocated.txt" | head; exit 1
fi
echo
echo "served = bodies handed to SetILFunctionBody from methodmalloc; violations = blocks outside their"
echo "module's window (base, base + 2 GiB]; not_relocated = methods left on their original body."
