#!/usr/bin/env bash
# Issue 16, proofs 1, 2 and 5: Microsoft Code Coverage, whose CLR
# Instrumentation Engine is the test host's profiler, run once with the engine
# alone and then with the engine as a guest of our host.
#
# The project is tests/coverage (a library with branches, exceptions, async,
# generics, lambdas and a nested type, and deterministic xunit tests), built
# in BUILD/coverage with packages restored from NuGet into the build folder
# (tests/dotnet_env.sh), on a fresh HOME every run: nothing of this machine's
# caches is used, and the engine is found where restore put it.  `dotnet test --collect "Code Coverage"` runs with
# dynamic instrumentation only (tests/coverage/coverage.runsettings), whose
# CLRIEX64InstallDir names the folder the collector loads the engine from:
#  1. engine alone: the package's own engine folder.  The tests pass, the
#     engine's log shows methods of both assemblies instrumented ("Non-rejit"
#     lines), the assembly on disk is unchanged (no static instrumentation),
#     and the coverage shows the lines this project covers and misses;
#  2. the engine under the host: `mmrun --shim DIR --guest ENGINE={CLSID}`
#     mirrors the engine's folder with our library in the engine's place; the
#     same run with CLRIEX64InstallDir=DIR: every line's hits and conditions
#     identical with 1, the tests pass, and the testhost's report says the
#     engine's bodies were served by methodmalloc with no Alloc refusal, no
#     checker refusal and no window violation (a refused body is shown
#     disassembled);
#  3. the same with our --calls after the engine: coverage still identical
#     and the test project's methods called exactly as often as the tests
#     call them.
# usage: tests/coverage_host.sh MMRUN BUILD [MMIL]
#   COVERAGE_KEEP=1 keeps the work directory.
set -euo pipefail
mmrun=${1:?usage: coverage_host.sh MMRUN BUILD [MMIL]}
build=${2:?usage: coverage_host.sh MMRUN BUILD [MMIL]}
mmil=${3:-$build/tools/mmil}
what=coverage
. "$(dirname "$0")/coverage/project.sh"

# instrumented RUN MODULE: how many methods of MODULE (a file name) the
# engine instrumented at JIT time: its log names the module before each
# method it instruments, and writes one "Non-rejit case" line per body it set
# through the allocator of GetILFunctionBodyAllocator.
instrumented() {
  awk -v m="/$2" '
    /CallInstrumentOnInstrumentationMethods .* for Module: / { cur = substr($0, index($0, "Module: ") + 8) }
    /ApplyFinalInstrumentation - Non-rejit case/ { if (substr(cur, length(cur) - length(m) + 1) == m) n++ }
    END { print n + 0 }' "$work/$1.engine.log"
}

# line_of FILE TEXT: the line number of the one line of tests/coverage/FILE
# holding TEXT (so that the facts below follow an edit of the sources).
line_of() {
  local n
  n=$(grep -nF -- "$2" "$src/$1" | cut -d: -f1)
  [ "$(wc -w <<<"$n")" -eq 1 ] || fail "tests/coverage/$1: expected one line holding '$2'"
  echo "$n"
}
# fact RUN FILE TEXT CLASS EXPECTED: the coverage of that line is EXPECTED
# ("hits=N cond=C").
fact() {
  local n got
  n=$(line_of "$2" "$3")
  got=$(grep "^$2:$n $4 " "$work/$1.cov" | cut -d' ' -f3-)
  [ "$got" = "$5" ] || fail "$1: $2:$n ($3) in $4: expected '$5', got '${got:-no line}'"
}

########## 1. the engine alone ##########
before=$(sha256sum "$lib" | cut -d' ' -f1)
cover alone "$engine_dir"
[ "$(sha256sum "$lib" | cut -d' ' -f1)" = "$before" ] || fail "alone: CovLib.dll changed on disk: static instrumentation ran (check coverage.runsettings)"
alone_lib=$(instrumented alone CovLib.dll) alone_tests=$(instrumented alone CovLib.Tests.dll)
[ "$alone_lib" -gt 0 ] && [ "$alone_tests" -gt 0 ] \
  || fail "alone: the engine instrumented $alone_lib methods of CovLib.dll and $alone_tests of CovLib.Tests.dll, expected some of each"
fact alone CovLib/Grades.cs 'return "F";' CovLib.Grades "hits=1 cond=-"
fact alone CovLib/Grades.cs '_ => "odd",' CovLib.Grades "hits=0 cond=-"
fact alone CovLib/Grades.cs '_ when n % 2 == 0' CovLib.Grades "hits=1 cond=50%(1/2),0:jump:50%"
fact alone CovLib/Grades.cs 'var y = x * 2;' CovLib.Grades "hits=0 cond=-"
fact alone CovLib/Parsing.cs 'return fallback;' CovLib.Parsing "hits=1 cond=-"
fact alone CovLib/Parsing.cs 'throw new InvalidOperationException("too large", e);' CovLib.Parsing "hits=1 cond=-"
fact alone CovLib/Pipeline.cs 'total += Square(v);' 'CovLib.Pipeline.<SumSquaresAsync>d__0' "hits=1 cond=-"
fact alone CovLib/Pipeline.cs 'return () => n += step;' 'CovLib.Pipeline.<>c__DisplayClass2_0' "hits=1 cond=-"
fact alone CovLib/Bag.cs 'throw new InvalidOperationException("empty");' 'CovLib.Bag<T>' "hits=1 cond=-"
fact alone CovLib/Bag.cs 'public int Depth() => Next is null' 'CovLib.Bag.Node<T>' "hits=1 cond=100%(2/2),0:jump:100%"
covered=$(grep -c ' hits=[1-9]' "$work/alone.cov" || true) missed=$(grep -c ' hits=0 ' "$work/alone.cov" || true)
echo "engine alone: $tests_expected tests passed; $alone_lib methods of CovLib.dll and $alone_tests of CovLib.Tests.dll instrumented; lines covered=$covered missed=$missed; ms=$(cat "$work/alone.ms")"

########## 2. the engine as a guest of our host ##########
key() { grep -o " $2=[0-9]*" <<<"$1" | head -n1 | cut -d= -f2; }
# shim RUN [mode options]: DIR for the collector, the engine its only guest.
shim() {
  local run=$1 out; shift
  out=$("$mmrun" --shim "$work/$run.shim" --guest "$engine_dir/libInstrumentationEngine.so=$clsid" "$@" \
        --dump-bodies "$work/$run.bodies" --report "$work/$run.report" 2>&1) \
    || fail "$run: mmrun --shim failed: $out"
  [ -z "$out" ] || fail "$run: mmrun --shim printed: $out"
  [ -f "$work/$run.shim/libInstrumentationEngine.so" ] || fail "$run: mmrun --shim made no libInstrumentationEngine.so in its folder"
  mkdir -p "$work/$run.bodies"
}
# refused RUN: the bodies the checker refused, as the JIT would have been
# given them (their dump, disassembled when mmil can read it).
refused() {
  local line g mod tok
  grep '^methodmalloc: refused ' "$work/$1.report" | while read -r line; do
    echo "$line"
    g=$(grep -o ' guest=[0-9]*' <<<"$line" | cut -d= -f2)
    mod=$(grep -o ' module=[^ ]*' <<<"$line" | cut -d= -f2)
    tok=$(grep -o ' token=0x[0-9a-f]*' <<<"$line" | cut -d= -f2)
    for b in "$work/$1.bodies/g$g-$mod-${tok#0x}.il"; do
      [ -f "$b" ] || continue
      "$mmil" disasm "$b" 2>/dev/null || od -An -tx1 "$b"
    done
  done >&2
}
# hosted RUN GUESTS: the testhost's report names GUESTS guests (the engine
# first), each active and held to the rules of proof 1: bodies served by
# methodmalloc, no Alloc refused, no body refused by the checker, none
# outside its window; the engine instrumented what it did alone; the
# coverage is the same line for line.
hosted() {
  local run=$1 want=$2 line k set served refused checked violations n guests=''
  diff "$work/alone.cov" "$work/$run.cov" >&2 || fail "$run: coverage differs from the engine alone (- alone, + $run)"
  [ -f "$work/$run.report" ] || fail "$run: the host wrote no report (was it loaded from the shim?)"
  n=$(grep -c '^methodmalloc: guest=[0-9]* path=.*program=dotnet:testhost\.dll' "$work/$run.report" || true)
  [ "$n" -eq "$want" ] || { cat "$work/$run.report" >&2; fail "$run: expected $want guest lines of the testhost in the report, got $n"; }
  while read -r line; do
    k=$(key "$line" guest)
    grep -q ' state=active ' <<<"$line" || fail "$run: guest $k is not active under the host: $line"
    set=$(key "$line" set) served=$(key "$line" served) refused=$(key "$line" alloc_refused)
    checked=$(key "$line" check_refused) violations=$(key "$line" violations)
    for v in set served refused checked violations; do
      [ -n "${!v}" ] || fail "$run: no $v= on the line of guest $k: $line"
    done
    [ "$checked" -eq 0 ] || { refused "$run"; fail "$run: the checker refused $checked bodies guest $k set (shown above)"; }
    [ "$served" -gt 0 ] || fail "$run: no body of guest $k served by methodmalloc: $line"
    [ "$refused" -eq 0 ] || fail "$run: $refused Alloc calls of guest $k refused: $line"
    [ "$violations" -eq 0 ] || fail "$run: $violations bodies of guest $k outside their window: $line"
    for v in set_failed callback_errors; do
      n=$(key "$line" "$v")
      [ "${n:-0}" -eq 0 ] || fail "$run: guest $k: $v=$n: $line"
    done
    guests+=" guest $k: set=$set served=$served alloc_refused=$refused check_refused=$checked violations=$violations;"
  done < <(grep '^methodmalloc: guest=[0-9]* path=.*program=dotnet:testhost\.dll' "$work/$run.report")
  grep -q '^methodmalloc: guest=1 path=[^ ]*/libInstrumentationEngine\.so ' "$work/$run.report" \
    || fail "$run: guest 1 is not the engine"
  n=$(instrumented "$run" CovLib.dll)
  [ "$n" -eq "$alone_lib" ] || fail "$run: the engine instrumented $n methods of CovLib.dll, $alone_lib alone"
  n=$(instrumented "$run" CovLib.Tests.dll)
  [ "$n" -eq "$alone_tests" ] || fail "$run: the engine instrumented $n methods of CovLib.Tests.dll, $alone_tests alone"
  echo "$run: $tests_expected tests passed, coverage identical ($(wc -l <"$work/$run.cov") lines); testhost:$guests ms=$(cat "$work/$run.ms")"
}

shim host
cover host "$work/host.shim"
hosted host 1

########## 3. the engine, then our --calls ##########
shim calls --calls --calls-report "$work/calls.tsv"
cover calls "$work/calls.shim"
hosted calls 2
[ -s "$work/calls.tsv" ] || fail "calls: no calls report"
# calls NAME EXPECTED: the testhost called Ns.Type::Method EXPECTED times
# (LibTests.cs: one test at a time, every call counted by hand).
calls() {
  local got
  got=$(awk -F'\t' -v m="$1" '$2 == m && $3 == "dotnet:testhost.dll" { s += $1; n++ } END { if (n) print s }' "$work/calls.tsv")
  [ "$got" = "$2" ] || { grep -F 'CovLib' "$work/calls.tsv" >&2; fail "calls: $1 called ${got:-no} times, expected $2"; }
}
calls 'CovLib.Grades::Grade' 5
calls 'CovLib.Grades::Classify' 3
calls 'CovLib.Parsing::ParseOrDefault' 2
calls 'CovLib.Parsing::Checked' 2
calls 'CovLib.Pipeline::SumSquaresAsync' 1
calls 'CovLib.Pipeline::Square' 3
calls 'CovLib.Pipeline/<SumSquaresAsync>d__0::MoveNext' 4
calls 'CovLib.Pipeline::Counter' 1
calls 'CovLib.Pipeline/<>c__DisplayClass2_0::<Counter>b__0' 2
calls 'CovLib.Pipeline/<>c::<Evens>b__3_0' 6
calls 'CovLib.Pipeline/<>c::<Evens>b__3_1' 3
calls 'CovLib.Bag`1::Add' 5
# Take is compiled for Bag<int> and for Bag<__Canon>, and the engine sets a
# new body at each: --calls must count through the second one too.
calls 'CovLib.Bag`1::Take' 4
calls 'CovLib.Bag`1::Fold' 2
calls 'CovLib.Bag`1::get_Count' 9
calls 'CovLib.Bag`1/Node::.ctor' 5
calls 'CovLib.Bag`1/Node::Depth' 2
! grep -qF 'CovLib.Grades::NeverCalled' <(awk -F'\t' '$1 != 0' "$work/calls.tsv") || fail "calls: CovLib.Grades::NeverCalled counted, and no test calls it"
echo "calls: the engine then --calls: coverage identical and 17 methods' counts exact (Grade 5, Square 3, Bag\`1::Add 5 over two instantiations)"
