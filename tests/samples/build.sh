#!/usr/bin/env bash
# Builds the C# samples into OUTDIR (default build/samples) with the .NET SDK
# alone: no package beyond the SDK's own framework, nothing written into the
# source tree.  usage: tests/samples/build.sh [OUTDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "${1:-$here/../../build/samples}" && cd "${1:-$here/../../build/samples}" && pwd)
. "$here/../dotnet_env.sh" "$out/home" "$out/.."
command -v dotnet >/dev/null || { echo "samples: dotnet not found: install the .NET SDK (10.0)" >&2; exit 1; }
# One build at a time into one folder: make test runs several scripts at
# once, and each builds the samples first.
exec 9>"$out/.build.lock"
flock 9
# The thread-parallel sample's methods: regenerated only when the count changes.
methods=3000
mkdir -p "$out/gen"
if ! head -n 1 "$out/gen/Many.cs" 2>/dev/null | grep -q "gen.sh $methods:"; then
  "$here/parallel/gen.sh" "$methods" > "$out/gen/Many.cs.tmp"
  mv "$out/gen/Many.cs.tmp" "$out/gen/Many.cs"
fi
log="$out/build.log"
if ! dotnet build "$here/samples.slnx" -c Release -nologo -v quiet -p:MmSamplesOut="$out/" -clp:ErrorsOnly >"$log" 2>&1; then
  head -n 40 "$log" >&2
  echo "samples: dotnet build failed (whole log: $log)" >&2
  exit 1
fi
for s in answer async calls exceptions generics linq parallel unload; do
  [ -f "$out/$s/$s.dll" ] || { echo "samples: $out/$s/$s.dll was not built" >&2; exit 1; }
done
