#!/usr/bin/env bash
# The host (issue 16) as mmrun and the environment drive it, without a
# third-party profiler: guests that cannot load (a missing library, a class
# ID the library does not serve) are named in the report and the program
# runs as without them; methodmalloc's --calls after them counts exactly;
# --dump-bodies writes what the JIT is given, and mmil reads it back; the
# environment route (CORECLR_PROFILER = a guest's class ID, our library as
# CORECLR_PROFILER_PATH); mmrun --shim's folder and its errors.
# usage: tests/host_test.sh MMRUN SAMPLES_DIR MMIL
set -euo pipefail
mmrun=${1:?usage: host_test.sh MMRUN SAMPLES_DIR MMIL}
samples=${2:?usage: host_test.sh MMRUN SAMPLES_DIR MMIL}
mmil=${3:?usage: host_test.sh MMRUN SAMPLES_DIR MMIL}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$here/dotnet_env.sh" "$work/home" "$samples/.."
# Nothing of the caller's profiler settings leaks into a run.
for v in $(env | grep -oE '^(CORECLR_[A-Z_0-9]*|MM_PROFILER_[A-Z_0-9]*)=' | tr -d =); do unset "$v"; done

fail() { echo "FAIL: $*" >&2; exit 1; }
command -v dotnet >/dev/null || fail "dotnet not found: install the .NET SDK 10"
[ -x "$mmrun" ] || fail "$mmrun not built (make all)"
[ -x "$mmil" ] || fail "$mmil not built (make all)"
"$here/samples/build.sh" "$samples" || fail "building the samples"
lib=$(cd "$(dirname "$mmrun")" && pwd)/libmmprofiler.so
[ -f "$lib" ] || fail "$lib not built (make all)"

dotnet "$samples/calls/calls.dll" >"$work/calls.plain" || fail "calls: the plain run failed"

# guest_line FILE K: guest K's line of the report.
guest_line() { grep "^methodmalloc: guest=$2 path=" "$1" || true; }

# 1. Guests that cannot load: the program runs, its output unchanged, exit 0,
#    and the report names each guest and why; --calls after them counts.
missing=$work/nowhere/libmissing.so
"$mmrun" --guest "$missing={11111111-2222-3333-4444-555555555555}" \
  --guest "$lib={00000000-0000-0000-0000-000000000001}" \
  --calls --calls-report "$work/calls.tsv" --dump-bodies "$work/bodies" \
  -- dotnet "$samples/calls/calls.dll" >"$work/bad.out" 2>"$work/bad.err" \
  || { cat "$work/bad.err" >&2; fail "bad guests: exit status $?"; }
cmp -s "$work/calls.plain" "$work/bad.out" || fail "bad guests: the program's output changed"
line=$(guest_line "$work/bad.err" 1)
grep -q "path=$missing .*state=failed why=\"dlopen: .*No such file" <<<"$line" \
  || { cat "$work/bad.err" >&2; fail "bad guests: guest 1 (missing library) not reported failed with dlopen's reason"; }
line=$(guest_line "$work/bad.err" 2)
grep -q 'state=failed why="DllGetClassObject: 0x80040111 (CLASS_E_CLASSNOTAVAILABLE)"' <<<"$line" \
  || { cat "$work/bad.err" >&2; fail "bad guests: guest 2 (wrong class ID) not reported failed with CLASS_E_CLASSNOTAVAILABLE"; }
line=$(guest_line "$work/bad.err" 3)
grep -q 'path=methodmalloc:calls .*state=active' <<<"$line" || { cat "$work/bad.err" >&2; fail "bad guests: --calls is not guest 3, active"; }
set=$(grep -o ' set=[0-9]*' <<<"$line" | cut -d= -f2)
served=$(grep -o ' served=[0-9]*' <<<"$line" | cut -d= -f2)
[ "$set" -gt 0 ] && [ "$served" -eq "$set" ] || fail "bad guests: --calls set $set bodies, $served served by methodmalloc"
grep -q "^methodmalloc: guest=3 check_refused by reason: module=0 window=0 extent=0 stack=0 " "$work/bad.err" \
  || fail "bad guests: the checker refused a body of --calls"
grep -qP '^177\tCalls\.Program::Fib\tdotnet:calls\.dll\t[0-9]+$' "$work/calls.tsv" || fail "bad guests: Fib not counted 177 times"
# Every count of the sample's own methods as plain --calls has it, generic
# methods compiled once per instantiation included (a second instantiation
# must neither lose its probe nor get two).  The framework's methods are left
# out: threads of the runtime call some of them a varying number of times.
"$mmrun" --calls --calls-report "$work/plain.tsv" -- dotnet "$samples/calls/calls.dll" >/dev/null 2>"$work/plain.err" \
  || { cat "$work/plain.err" >&2; fail "plain --calls failed"; }
diff <(grep -P '\tCalls\.' "$work/plain.tsv" | cut -f1,2 | sort) <(grep -P '\tCalls\.' "$work/calls.tsv" | cut -f1,2 | sort) >&2 \
  || fail "bad guests: --calls after the guests counts the sample differently from plain --calls (- plain, + host)"
[ "$(grep -cP '\tCalls\.' "$work/calls.tsv")" -ge 20 ] || fail "bad guests: fewer than 20 of the sample's methods counted"
echo "bad guests: a missing library and a wrong class ID reported, the program unchanged, --calls after them exact ($set bodies)"

# --replace after a guest: the mode's body reaches the runtime through the
# host's allocator and checker.
"$mmrun" --guest "$missing={11111111-2222-3333-4444-555555555555}" --replace 'App.Calc::Answer=1F 2A 2A' \
  -- dotnet "$samples/answer/answer.dll" >"$work/replace.out" 2>"$work/replace.err" \
  || { cat "$work/replace.err" >&2; fail "replace after a guest: the run failed"; }
grep -qx 'Answer() = 42' "$work/replace.out" || { cat "$work/replace.out" "$work/replace.err" >&2; fail "replace after a guest: Answer() did not return 42"; }
grep -q '^methodmalloc: guest=2 path=methodmalloc:replace .*state=active set=1 .*served=1 ' "$work/replace.err" \
  || { cat "$work/replace.err" >&2; fail "replace after a guest: the body did not go through the host"; }
echo "replace after a guest: Answer() = 42, its body served and checked by the host"

# The checker: --replace with 'add; ret' (an add on an empty stack).  Alone,
# the runtime takes the body and the program dies of it; after the host's
# checker, the body is refused (named in the report with guest, method and
# reason), the method keeps its IL and the program runs.
status=0
"$mmrun" --replace 'App.Calc::Answer=58 2A' -- dotnet "$samples/answer/answer.dll" >"$work/bad-alone.out" 2>"$work/bad-alone.err" || status=$?
[ "$status" -ne 0 ] && grep -q 'InvalidProgramException' "$work/bad-alone.err" \
  || { cat "$work/bad-alone.err" >&2; fail "checker: 'add; ret' alone did not end in InvalidProgramException (status $status)"; }
status=0
"$mmrun" --guest "$missing={11111111-2222-3333-4444-555555555555}" --replace 'App.Calc::Answer=58 2A' \
  --dump-bodies "$work/refused" -- dotnet "$samples/answer/answer.dll" >"$work/bad-host.out" 2>"$work/bad-host.err" || status=$?
grep -qx 'Answer() = 41' "$work/bad-host.out" || { cat "$work/bad-host.out" "$work/bad-host.err" >&2; fail "checker: Answer() did not keep its IL"; }
grep -q '^methodmalloc: refused guest=2 module=answer.dll method=App.Calc::Answer token=0x06[0-9a-f]* reason=stack detail="[^"]\+" ' "$work/bad-host.err" \
  || { cat "$work/bad-host.err" >&2; fail "checker: no refused line naming guest 2, App.Calc::Answer and reason=stack"; }
grep -q "^methodmalloc: guest=2 check_refused by reason: module=0 window=0 extent=0 stack=1 " "$work/bad-host.err" \
  || fail "checker: the refusal is not counted under stack"
# The mode itself says its body was refused: mmrun's status 3, the program's 0.
[ "$status" -eq 3 ] || fail "checker: mmrun status $status, expected 3 (the replace mode's error line)"
[ "$(find "$work/refused" -name 'g2-answer.dll-06*.il' | wc -l)" -eq 1 ] || fail "checker: the refused body was not dumped"
echo "checker: 'add; ret' kills the program alone; under the host it is refused (reason=stack) and Answer() keeps 41"

# 2. --dump-bodies: one file per body set, named by guest, module and
#    token, the whole body as the JIT got it: mmil disassembles it and the
#    probe of --calls is its first instruction.
n=$(find "$work/bodies" -name 'g3-calls.dll-06*.il' | wc -l)
[ "$n" -gt 0 ] || { ls "$work/bodies" | head >&2; fail "dump-bodies: no g3-calls.dll-06*.il file"; }
[ "$(find "$work/bodies" -name '*.il' | wc -l)" -eq "$set" ] || fail "dump-bodies: $set bodies set, $(find "$work/bodies" -name '*.il' | wc -l) files"
body=$(find "$work/bodies" -name "g3-calls.dll-06*.il" | head -n 1)
"$mmil" disasm "$body" >"$work/body.dis" 2>&1 || { cat "$work/body.dis" >&2; fail "dump-bodies: mmil disasm $body failed"; }
grep -m1 -i 'ldc.i8' "$work/body.dis" >/dev/null || { head "$work/body.dis" >&2; fail "dump-bodies: no counter probe in $body"; }
echo "dump-bodies: $n files of the calls module, mmil disassembles them"

# 3. The environment route: our library as CORECLR_PROFILER_PATH, a guest's
#    class ID as CORECLR_PROFILER, the guests in MM_PROFILER_GUESTS.
env CORECLR_ENABLE_PROFILING=1 CORECLR_PROFILER='{11111111-2222-3333-4444-555555555555}' CORECLR_PROFILER_PATH="$lib" \
  MM_PROFILER_GUESTS="$missing={11111111-2222-3333-4444-555555555555}" MM_PROFILER_MODE=calls \
  MM_PROFILER_REPORT="$work/env.report" dotnet "$samples/calls/calls.dll" >"$work/env.out" \
  || fail "environment route: the program failed"
cmp -s "$work/calls.plain" "$work/env.out" || fail "environment route: the program's output changed"
grep -q '^methodmalloc: guest=1 .*state=failed why="dlopen' "$work/env.report" || { cat "$work/env.report" >&2; fail "environment route: no failed guest 1"; }
grep -q '^methodmalloc: calls methods=' "$work/env.report" || fail "environment route: --calls did not run after the guest"
echo "environment route: the host loaded under the guest's class ID"

# 4. --shim: a mirror of the guest's folder with our library in the guest's
#    place and the host's file; nothing printed, status 0.
mkdir -p "$work/vendor"
printf 'config\n' >"$work/vendor/Engine.config"
cp "$lib" "$work/vendor/libEngine.so"
out=$("$mmrun" --shim "$work/shim" --guest "$work/vendor/libEngine.so={11111111-2222-3333-4444-555555555555}" \
      --calls --report "$work/shim.report" 2>&1) || fail "shim: mmrun --shim failed: $out"
[ -z "$out" ] || fail "shim: mmrun --shim printed: $out"
[ "$(readlink "$work/shim/Engine.config")" = "$work/vendor/Engine.config" ] || fail "shim: Engine.config is not a link to the original"
[ "$(readlink -f "$work/shim/libEngine.so")" = "$(readlink -f "$lib")" ] || fail "shim: libEngine.so is not our library"
conf=$work/shim/methodmalloc-host.conf
grep -qx "MM_PROFILER_GUESTS=$work/vendor/libEngine.so={11111111-2222-3333-4444-555555555555}" "$conf" || { cat "$conf" >&2; fail "shim: the file does not name the real guest"; }
grep -qx 'MM_PROFILER_MODE=calls' "$conf" && grep -qx "MM_PROFILER_REPORT=$work/shim.report" "$conf" || { cat "$conf" >&2; fail "shim: mode or report missing"; }
# Loaded from the shim under the guest's class ID, the host finds its file.
env CORECLR_ENABLE_PROFILING=1 CORECLR_PROFILER='{11111111-2222-3333-4444-555555555555}' \
  CORECLR_PROFILER_PATH="$work/shim/libEngine.so" dotnet "$samples/calls/calls.dll" >"$work/shim.out" \
  || fail "shim: the program failed"
cmp -s "$work/calls.plain" "$work/shim.out" || fail "shim: the program's output changed"
grep -q '^methodmalloc: calls methods=' "$work/shim.report" || { cat "$work/shim.report" >&2; fail "shim: the host did not run --calls from its file"; }
# The guest (our own library, copied) asked for its class ID it does not serve.
grep -q '^methodmalloc: guest=1 .*state=failed why="DllGetClassObject: 0x80040111' "$work/shim.report" \
  || { cat "$work/shim.report" >&2; fail "shim: the real guest was not loaded from its own folder"; }
status=0
"$mmrun" --shim "$work/shim2" -- dotnet x >"$work/e.err" 2>&1 || status=$?
[ "$status" -eq 2 ] && grep -q 'exactly one --guest' "$work/e.err" || fail "shim: without a guest: status $status, $(cat "$work/e.err")"
status=0
"$mmrun" --shim "$work/shim3" --guest "$missing={11111111-2222-3333-4444-555555555555}" >"$work/e.err" 2>&1 || status=$?
[ "$status" -eq 2 ] && grep -q 'libmissing.so' "$work/e.err" || fail "shim: a missing guest: status $status, $(cat "$work/e.err")"
status=0
"$mmrun" --guest 'nobrace.so' -- dotnet x >"$work/e.err" 2>&1 || status=$?
[ "$status" -eq 2 ] && grep -q 'PATH={CLSID}' "$work/e.err" || fail "--guest without a class ID: status $status, $(cat "$work/e.err")"
echo "shim: the mirror, the host's file, the guest loaded from its own folder; errors exit 2"
