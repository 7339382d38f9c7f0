#!/usr/bin/env bash
# The host with guests of ours (issue 16, proofs 3 and 4).  The guests are
# the profilers of tests/guests/testguest.c; the program is the answer
# sample, whose App.Calc::Answer returns 41 and Twice returns 2 * Answer().
#  - Alone under the runtime (no host), each guest does what it says: mul2
#    makes 82, add1 42; the bodies of badstack ("add; ret") and badheader
#    (a fat header 2 dwords long) make the runtime throw
#    InvalidProgramException, so they really are invalid; outside's body,
#    outside the module's window, is taken by the runtime.
#  - As guests, rewrites compose in the order given: mul2 then add1 is 83,
#    add1 then mul2 is 84, and each guest's GetILFunctionBody shows exactly
#    the body the guest before it set (the bytes each prints), which is also
#    what --dump-bodies wrote; --calls after them counts the composed body.
#  - Bad guests (a missing library, a wrong class ID, a failing Initialize,
#    errors from every callback, bodies the checker refuses for their
#    stack, their extent, their place outside the window): the program runs
#    with the right output, the report names the guest and why, and a
#    refused body leaves the method the body it had.
#  - The environment route (MM_PROFILER_GUESTS) once with our class ID and
#    once with the guest's.
# The report lines checked are those of the host's contract.
# usage: tests/host_guests.sh MMRUN SAMPLES_DIR GUEST_LIBRARY
set -euo pipefail
usage="usage: host_guests.sh MMRUN SAMPLES_DIR GUEST_LIBRARY"
mmrun=${1:?$usage}
samples=${2:?$usage}
lib=${3:?$usage}
here=$(cd "$(dirname "$0")" && pwd)

fail() { echo "FAIL: $*" >&2; exit 1; }
command -v dotnet >/dev/null || fail "dotnet not found: install the .NET SDK 10 (the runtime comes from it)"
[ -x "$mmrun" ] || fail "$mmrun not built (make all)"
[ -f "$lib" ] || fail "$lib not built (make test-guests)"
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
profiler=$(cd "$(dirname "$mmrun")" && pwd)/libmmprofiler.so
[ -f "$profiler" ] || fail "$profiler not built (make all)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$here/dotnet_env.sh" "$work/home" "$samples/.."
"$here/samples/build.sh" "$samples" || fail "building the samples"
dll=$(cd "$samples/answer" && pwd)/answer.dll
# Nothing of the caller's profiler settings leaks into a run.
for v in $(env | grep -oE '^(CORECLR_[A-Z_0-9]*|MM_PROFILER_[A-Z_0-9]*)=' | tr -d =); do unset "$v"; done

MM_CLSID='{E7C0561D-4650-4F35-9D86-A69D58427C09}'
clsid() { printf '{0BE5700%d-0000-4000-8000-00000000000%d}' "$1" "$1"; }
MUL2=$(clsid 1) ADD1=$(clsid 2) INITFAIL=$(clsid 3) CBERR=$(clsid 4) BADSTACK=$(clsid 5) OUTSIDE=$(clsid 6)
MUL2_JIT=$(clsid 7) ADD1_JIT=$(clsid 8) BADHEADER=$(clsid 9)
WRONG=$(clsid 0) # no class of the library
missing=$work/nowhere/libmissing.so

# ---- helpers ----
# Each run leaves $work/T.out (stdout), T.err (stderr), T.status and, under
# the host, T.report.

show() { for f in "$@"; do [ -f "$f" ] && { echo "--- $f" >&2; cat "$f" >&2; }; done; return 0; }

# alone T CLSID: the guest as the runtime's only profiler.
# (In a subshell whose own stderr is dropped: bash's "Aborted" notice for
# badstack's unhandled exception is not the program's output.)
alone() {
  local t=$1
  (
    st=0
    CORECLR_ENABLE_PROFILING=1 CORECLR_PROFILER=$2 CORECLR_PROFILER_PATH=$lib \
      dotnet "$dll" >"$work/$t.out" 2>"$work/$t.err" || st=$?
    echo "$st" >"$work/$t.status"
  ) 2>/dev/null
}

# hosted T CLSID...: mmrun with one --guest per class ID (a path=ID pair
# when the argument holds '='), in that order.
hosted() {
  local t=$1 st=0 g args=()
  shift
  for g in "$@"; do
    case $g in *=*) args+=(--guest "$g") ;; *) args+=(--guest "$lib=$g") ;; esac
  done
  "$mmrun" "${args[@]}" --report "$work/$t.report" -- dotnet "$dll" >"$work/$t.out" 2>"$work/$t.err" || st=$?
  echo "$st" >"$work/$t.status"
}

# by_env T CORECLR_PROFILER GUESTS: the host named by the environment alone.
by_env() {
  local t=$1 st=0
  CORECLR_ENABLE_PROFILING=1 CORECLR_PROFILER=$2 CORECLR_PROFILER_PATH=$profiler \
    MM_PROFILER_GUESTS=$3 MM_PROFILER_REPORT=$work/$t.report \
    dotnet "$dll" >"$work/$t.out" 2>"$work/$t.err" || st=$?
  echo "$st" >"$work/$t.status"
}

status() { cat "$work/$1.status"; }

# expect_answer T ANSWER: exit status 0 and the program's two lines.
expect_answer() {
  local t=$1 a=$2
  [ "$(status "$t")" -eq 0 ] || { show "$work/$t.err" "$work/$t.report"; fail "$t: exit status $(status "$t")"; }
  printf 'Answer() = %d\nTwice() = %d\n' "$a" $((2 * a)) | cmp -s - "$work/$t.out" \
    || { show "$work/$t.out" "$work/$t.err" "$work/$t.report"; fail "$t: expected Answer() = $a, Twice() = $((2 * a))"; }
}

# guest_says T NAME FIELD [N]: FIELD (saw, set, hr, token) of the Nth line
# (default 1) guest NAME printed.
guest_says() {
  { grep "^testguest: $2 App.Calc::Answer token=" "$work/$1.err" || true; } | sed -n "${4:-1}p" \
    | { grep -o " $3=[^ ]*" || true; } | cut -d= -f2
}

# line T K: guest K's line of the report; field LINE KEY: KEY's value on it.
line() {
  local l
  l=$(grep "^methodmalloc: guest=$2 path=" "$work/$1.report" || true)
  [ -n "$l" ] || { show "$work/$1.report" "$work/$1.err"; fail "$1: no report line for guest $2"; }
  [ "$(wc -l <<<"$l")" -eq 1 ] || fail "$1: more than one line for guest $2"
  grep -qE ' pid=[0-9]+ program=[^ ]+$' <<<"$l" || fail "$1: guest $2's line does not end with pid= program=: $l"
  echo "$l"
}
field() { { grep -oE " $2=(\"[^\"]*\"|[^ ]*)" <<<"$1" || true; } | head -n 1 | cut -d= -f2-; }

# expect_fields T K KEY=VALUE...: guest K's line says each (in any case:
# a class ID may come back in lower case).
expect_fields() {
  local t=$1 k=$2 l kv v want
  shift 2
  l=$(line "$t" "$k")
  for kv in "$@"; do
    v=$(field "$l" "${kv%%=*}")
    want=${kv#*=}
    [ "${v,,}" = "${want,,}" ] || { show "$work/$t.report"; fail "$t: guest $k: expected ${kv%%=*}=${kv#*=} in: $l"; }
  done
}

# active T K CLSID: guest K loaded from the test library with CLSID.
active() { expect_fields "$1" "$2" state=active "path=$lib" "clsid=$3"; }

# failed T K WHY_PATTERN: guest K dropped, with a why matching the pattern.
failed() {
  local l why
  l=$(line "$1" "$2")
  [ "$(field "$l" state)" = failed ] || fail "$1: guest $2 is not state=failed: $l"
  grep -qE " state=failed why=\"[^\"]+\"" <<<"$l" || fail "$1: guest $2: no why=\"...\" right after state=failed: $l"
  why=$(field "$l" why)
  grep -qE "$3" <<<"$why" || fail "$1: guest $2: why=$why does not match /$3/"
}

hex_of() { od -An -v -tx1 "$1" | tr -d ' \n' | tr a-f A-F; }

# The body every guest sees first: Answer's own, as the runtime gives it.
original=

# ---- 1. Each guest alone, as the runtime's only profiler ----
alone a-mul2 "$MUL2"
expect_answer a-mul2 82
original=$(guest_says a-mul2 mul2 saw)
[ -n "$original" ] || { show "$work/a-mul2.err"; fail "a-mul2: mul2 printed no body"; }
[ "$(guest_says a-mul2 mul2 hr)" = 0x00000000 ] || fail "a-mul2: the runtime refused mul2's body"
alone a-add1 "$ADD1"
expect_answer a-add1 42
[ "$(guest_says a-add1 add1 saw)" = "$original" ] || fail "a-add1: add1 did not see the original body"
# invalid T NAME: the runtime took guest NAME's body, then refused to run it.
invalid() {
  [ "$(guest_says "$1" "$2" hr)" = 0x00000000 ] || { show "$work/$1.err"; fail "$1: the runtime did not take $2's body"; }
  [ "$(status "$1")" -ne 0 ] || fail "$1: the program succeeded with $2's body"
  grep -q 'System.InvalidProgramException' "$work/$1.err" \
    || { show "$work/$1.err"; fail "$1: no InvalidProgramException from $2's body"; }
}
alone a-badstack "$BADSTACK"
invalid a-badstack badstack
alone a-badheader "$BADHEADER"
invalid a-badheader badheader
alone a-outside "$OUTSIDE"
[ "$(guest_says a-outside outside hr)" = 0x00000000 ] || { show "$work/a-outside.err"; fail "a-outside: no body set"; }
expect_answer a-outside 99
alone a-mul2-jit "$MUL2_JIT"
expect_answer a-mul2-jit 82
[ "$(guest_says a-mul2-jit mul2-jit saw)" = "$original" ] || fail "a-mul2-jit: mul2-jit did not see the original body"
alone a-initfail "$INITFAIL"
expect_answer a-initfail 41
alone a-cberr "$CBERR"
expect_answer a-cberr 41
echo "alone: mul2 82 (also at JIT time), add1 42, badstack and badheader InvalidProgramException, outside 99 (the runtime takes it), initfail and cberr 41"

# ---- 2. Composition ----
# bytes T K: guest K's bytes= against the size of the body its guest set.
served_one() {
  local t=$1 k=$2 name=$3 set
  set=$(guest_says "$t" "$name" set "${4:-1}")
  expect_fields "$t" "$k" set=1 "bytes=$((${#set} / 2))" served=1 alloc_refused=0 check_refused=0 violations=0
}
hosted h-mul2 "$MUL2"
expect_answer h-mul2 82
active h-mul2 1 "$MUL2"
served_one h-mul2 1 mul2
[ "$(guest_says h-mul2 mul2 saw)" = "$original" ] || fail "h-mul2: the only guest did not see the original body"

hosted h-mul2-add1 "$MUL2" "$ADD1"
expect_answer h-mul2-add1 83
active h-mul2-add1 1 "$MUL2"
active h-mul2-add1 2 "$ADD1"
served_one h-mul2-add1 1 mul2
served_one h-mul2-add1 2 add1
[ "$(guest_says h-mul2-add1 mul2 saw)" = "$original" ] || fail "h-mul2-add1: guest 1 did not see the original body"
[ "$(guest_says h-mul2-add1 add1 saw)" = "$(guest_says h-mul2-add1 mul2 set)" ] \
  || { show "$work/h-mul2-add1.err"; fail "h-mul2-add1: guest 2 did not see exactly the body guest 1 set"; }

hosted h-add1-mul2 "$ADD1" "$MUL2"
expect_answer h-add1-mul2 84
active h-add1-mul2 1 "$ADD1"
active h-add1-mul2 2 "$MUL2"
[ "$(guest_says h-add1-mul2 add1 saw)" = "$original" ] || fail "h-add1-mul2: guest 1 did not see the original body"
[ "$(guest_says h-add1-mul2 mul2 saw)" = "$(guest_says h-add1-mul2 add1 set)" ] \
  || { show "$work/h-add1-mul2.err"; fail "h-add1-mul2: guest 2 did not see exactly the body guest 1 set"; }

# The same with both guests rewriting in JITCompilationStarted.
hosted h-jit-mul2-add1 "$MUL2_JIT" "$ADD1_JIT"
expect_answer h-jit-mul2-add1 83
[ "$(guest_says h-jit-mul2-add1 mul2-jit saw)" = "$original" ] || fail "h-jit-mul2-add1: guest 1 did not see the original body"
[ "$(guest_says h-jit-mul2-add1 add1-jit saw)" = "$(guest_says h-jit-mul2-add1 mul2-jit set)" ] \
  || { show "$work/h-jit-mul2-add1.err"; fail "h-jit-mul2-add1: guest 2 did not see exactly the body guest 1 set"; }
served_one h-jit-mul2-add1 2 add1-jit
hosted h-jit-add1-mul2 "$ADD1_JIT" "$MUL2_JIT"
expect_answer h-jit-add1-mul2 84
[ "$(guest_says h-jit-add1-mul2 mul2-jit saw)" = "$(guest_says h-jit-add1-mul2 add1-jit set)" ] \
  || { show "$work/h-jit-add1-mul2.err"; fail "h-jit-add1-mul2: guest 2 did not see exactly the body guest 1 set"; }

# Order by index, not by time: guest 1 rewriting at JIT time is shown the
# original body although guest 2 set one at module load, earlier (the
# runtime alone would show guest 2's).  Its body, set last, is the one
# that runs: guest 2's rewrite is lost (a limit of chaining guests that
# rewrite at different moments).
hosted h-late-first "$ADD1_JIT" "$MUL2"
[ "$(guest_says h-late-first add1-jit saw)" = "$original" ] \
  || { show "$work/h-late-first.err"; fail "h-late-first: guest 1 was not shown the original body"; }
expect_answer h-late-first 42

# Three guests, one class twice: ((41 * 2) + 1) * 2.
hosted h-three "$MUL2" "$ADD1" "$MUL2"
expect_answer h-three 166
[ "$(guest_says h-three add1 saw)" = "$(guest_says h-three mul2 set 1)" ] || fail "h-three: guest 2 did not see guest 1's body"
[ "$(guest_says h-three mul2 saw 2)" = "$(guest_says h-three add1 set)" ] || fail "h-three: guest 3 did not see guest 2's body"
expect_fields h-three 3 state=active set=1 served=1

# --dump-bodies: the file of each body is exactly what its guest set.
mkdir -p "$work/dump"
st=0
"$mmrun" --guest "$lib=$MUL2" --guest "$lib=$ADD1" --dump-bodies "$work/dump" --report "$work/h-dump.report" \
  -- dotnet "$dll" >"$work/h-dump.out" 2>"$work/h-dump.err" || st=$?
echo "$st" >"$work/h-dump.status"
expect_answer h-dump 83
token=$(guest_says h-dump mul2 token)
token=${token#0x}
for k in 1 2; do
  name=$([ "$k" = 1 ] && echo mul2 || echo add1)
  files=("$work/dump/g$k-"*"-${token^^}.il")
  [ -f "${files[0]}" ] || files=("$work/dump/g$k-"*"-${token,,}.il")
  [ -f "${files[0]}" ] || { ls -l "$work/dump" >&2; fail "h-dump: no file g$k-*-$token.il in --dump-bodies"; }
  [ "$(hex_of "${files[0]}")" = "$(guest_says h-dump "$name" set)" ] || fail "h-dump: ${files[0]##*/} is not the body guest $k set"
done
# methodmalloc's own mode after the guests: --calls counts calls of the
# composed body (Main and Twice each call Answer once).
st=0
"$mmrun" --guest "$lib=$MUL2" --guest "$lib=$ADD1" --calls --calls-report "$work/h-calls.tsv" --report "$work/h-calls.report" \
  -- dotnet "$dll" >"$work/h-calls.out" 2>"$work/h-calls.err" || st=$?
echo "$st" >"$work/h-calls.status"
expect_answer h-calls 83
expect_fields h-calls 3 state=active path=methodmalloc:calls
grep -qP '^2\tApp\.Calc::Answer\t' "$work/h-calls.tsv" || { show "$work/h-calls.tsv"; fail "h-calls: App.Calc::Answer not counted 2 calls"; }
echo "compose: mul2,add1 83; add1,mul2 84 (at module load and at JIT time); mul2,add1,mul2 166; each guest saw exactly its predecessor's body; dumps match; --calls after them counts Answer twice"

# ---- 3. Bad guests ----
# A missing library, a wrong class ID, a failing Initialize: each dropped,
# alone and before a good guest, which still works.
hosted h-missing "$missing=$MUL2"
expect_answer h-missing 41
failed h-missing 1 'dlopen'
hosted h-wrong "$WRONG"
expect_answer h-wrong 41
failed h-wrong 1 'DllGetClassObject.*0x80040111'
hosted h-initfail "$INITFAIL"
expect_answer h-initfail 41
failed h-initfail 1 'Initialize.*0x80004005'
hosted h-bad-then-good "$missing=$MUL2" "$WRONG" "$INITFAIL" "$MUL2"
expect_answer h-bad-then-good 82
failed h-bad-then-good 1 'dlopen'
failed h-bad-then-good 2 'DllGetClassObject.*0x80040111'
failed h-bad-then-good 3 'Initialize.*0x80004005'
active h-bad-then-good 4 "$MUL2"
for t in h-initfail h-bad-then-good; do
  if grep -q 'initfail: called after' "$work/$t.err"; then fail "$t: a guest whose Initialize failed was called"; fi
done

# Errors from every callback: counted, never the program's failure, and
# the guest after it still gets its callbacks.
hosted h-cberr "$CBERR"
expect_answer h-cberr 41
active h-cberr 1 "$CBERR"
n=$(field "$(line h-cberr 1)" callback_errors)
[ -n "$n" ] && [ "$n" -gt 0 ] || fail "h-cberr: callback_errors=$n, expected the guest's errors counted"
hosted h-cberr-mul2 "$CBERR" "$MUL2"
expect_answer h-cberr-mul2 82
[ "$(field "$(line h-cberr-mul2 1)" callback_errors)" -gt 0 ] || fail "h-cberr-mul2: callback errors not counted"
expect_fields h-cberr-mul2 2 state=active set=1 callback_errors=0

# refused T K REASON: the body was refused by the checker for REASON: the
# guest heard an error, the report counts it and names the method.
refused() {
  local t=$1 k=$2 reason=$3 name=$4 hr l by
  hr=$(guest_says "$t" "$name" hr)
  [ -n "$hr" ] && [ $((hr & 0x80000000)) -ne 0 ] || { show "$work/$t.err"; fail "$t: SetILFunctionBody said $hr to $name's bad body"; }
  expect_fields "$t" "$k" check_refused=1
  by=$(grep "^methodmalloc: guest=$k check_refused by reason:" "$work/$t.report" || true)
  [ "$(field "$by" "$reason")" = 1 ] || { show "$work/$t.report"; fail "$t: guest $k: no $reason=1 among the refusals by reason"; }
  l=$(grep "^methodmalloc: refused guest=$k " "$work/$t.report" || true)
  [ "$(wc -l <<<"$l")" -eq 1 ] && [ -n "$l" ] || { show "$work/$t.report"; fail "$t: expected one refused line for guest $k"; }
  [ "$(field "$l" method)" = App.Calc::Answer ] || fail "$t: the refused line does not name App.Calc::Answer: $l"
  [ "$(field "$l" token)" = "$(guest_says "$t" "$name" token)" ] || fail "$t: the refused line names another token: $l"
  [ "$(field "$l" reason)" = "$reason" ] || fail "$t: expected reason=$reason: $l"
  grep -q ' module=[^ ]*answer\.dll ' <<<"$l" || fail "$t: the refused line does not name the module answer.dll: $l"
  grep -qE ' detail="[^"]+"' <<<"$l" || fail "$t: the refused line has no detail: $l"
  grep -qE ' pid=[0-9]+ program=[^ ]+$' <<<"$l" || fail "$t: the refused line does not end with pid= program=: $l"
}

# A body the stack checker refuses: the method keeps the body it had, the
# original or the previous guest's, instead of an InvalidProgramException.
hosted h-badstack "$BADSTACK"
expect_answer h-badstack 41
refused h-badstack 1 stack badstack
hosted h-mul2-badstack "$MUL2" "$BADSTACK"
expect_answer h-mul2-badstack 82
refused h-mul2-badstack 2 stack badstack
expect_fields h-mul2-badstack 1 set=1 check_refused=0
[ "$(guest_says h-mul2-badstack badstack saw)" = "$(guest_says h-mul2-badstack mul2 set)" ] \
  || fail "h-mul2-badstack: badstack did not see mul2's body"
# The guest after a refused one sees the body before the refusal.
hosted h-badstack-add1 "$BADSTACK" "$ADD1"
expect_answer h-badstack-add1 42
[ "$(guest_says h-badstack-add1 add1 saw)" = "$original" ] || fail "h-badstack-add1: add1 did not see the original body"

# A body whose extent does not decode (a fat header 2 dwords long).
hosted h-badheader "$BADHEADER"
expect_answer h-badheader 41
refused h-badheader 1 extent badheader

# A valid body outside the module's window (the runtime alone took it).
hosted h-outside "$OUTSIDE"
expect_answer h-outside 41
refused h-outside 1 window outside
echo "bad guests: missing, wrong class ID, failing Initialize dropped with why; callback errors counted; bad bodies refused (stack, extent, window), methods keep their bodies"

# ---- 4. The environment route ----
by_env e-ours "$MM_CLSID" "$lib=$MUL2;$lib=$ADD1"
expect_answer e-ours 83
active e-ours 1 "$MUL2"
active e-ours 2 "$ADD1"
# The environment already names the guest's profiler: only the path changes.
by_env e-theirs "$MUL2" "$lib=$MUL2"
expect_answer e-theirs 82
active e-theirs 1 "$MUL2"
echo "environment: MM_PROFILER_GUESTS with our class ID 83, with the guest's 82"
