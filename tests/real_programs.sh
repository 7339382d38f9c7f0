#!/usr/bin/env bash
# Issue 8 on programs we did not write, each under
# `mmrun --relocate --include-precompiled` (ReadyToRun off):
#  1. an ASP.NET Core Razor Pages app from the SDK template (`dotnet new
#     webapp`), built plainly, then run plainly and under mmrun: each run
#     listens on a port the kernel picks, answers GET / with 200 within a
#     deadline, serves a few pages (Razor pages, static files, a 404) and is
#     stopped by SIGTERM; it must shut down normally (the profiler reports at
#     the runtime's Shutdown) with the same pages and log as the plain run;
#  2. a test runner: `dotnet new xunit` with tests of our own (LINQ, JSON,
#     regular expressions, async, exceptions, collections), built plainly,
#     then `dotnet test` plainly and under mmrun: three processes (dotnet
#     test with MSBuild, vstest.console, testhost running the tests), the
#     same results and output.
# Every process's report must say refused=0, violations=0, nothing left
# unrelocated for want of room, the reserve held within its cap (<= 1 GiB)
# in at most 8 regions, and thousands of bodies served.  Prints a line per
# process and the wall times, plain (DOTNET_ReadyToRun=0, the same JIT work)
# against mmrun; times are shown, never asserted.
# usage: tests/real_programs.sh MMRUN
#   REAL_KEEP=1 keeps the work directory.
set -euo pipefail
mmrun=${1:?usage: real_programs.sh MMRUN}
fail() { echo "FAIL (real programs): $*" >&2; exit 1; }
command -v dotnet >/dev/null || fail "dotnet not found: install the .NET SDK 10"
command -v pgrep >/dev/null || fail "pgrep not found: install procps"
[ -x "$mmrun" ] || fail "$mmrun not built (make all)"
mmrun=$(cd "$(dirname "$mmrun")" && pwd)/$(basename "$mmrun")
work=$(mktemp -d)
. "$(dirname "$0")/dotnet_env.sh" "$work/home" "$(dirname "$mmrun")/.."

# What runs now, killed on every way out: the server (the background job:
# dotnet, or mmrun with dotnet as its child) or a bounded step (timeout leads
# a process group of its own: the step's every process).
server='' step=''
cleanup() {
  if [ -n "$server" ]; then
    kill -KILL $(pgrep -P "$server") "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  if [ -n "$step" ]; then
    kill -KILL -- "-$step" 2>/dev/null || true
    wait "$step" 2>/dev/null || true
  fi
  if [ "${REAL_KEEP:-0}" = 1 ]; then echo "real programs: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
# bounded DEADLINE_S COMMAND...: COMMAND killed after DEADLINE_S seconds;
# waited for in the background, so that a signal to this script ends it at
# once (bash runs traps only between foreground commands).
bounded() {
  local rc=0
  timeout -k 10 "$1" "${@:2}" &
  step=$!
  wait "$step" || rc=$?
  step=
  return "$rc"
}
# dotnet_step DEADLINE_S LOG WHAT COMMAND...: runs COMMAND with a deadline,
# its output in LOG; on failure shows LOG and fails with WHAT.
dotnet_step() {
  local deadline=$1 log=$2 what=$3; shift 3
  bounded "$deadline" "$@" >"$log" 2>&1 || { tail -n 30 "$log" >&2; fail "$what"; }
}
build_flags=(-c Release -nodeReuse:false -p:UseSharedCompilation=false)

# key LINE KEY: the number after KEY= in LINE.
key() { grep -o " $2=[0-9]*" <<<"$1" | head -n1 | cut -d= -f2; }
# check_reports REPORT WHAT PROCESSES FLOOR: every process's report lines in
# REPORT (the program's own lines, MM_PROFILER_VERBOSE on), exactly
# PROCESSES of them, each held to the rules above and FLOOR bodies served.
# Names each process by its report tag (program=...).
check_reports() {
  local report=$1 what=$2 want=$3 floor=$4 reports line pid program reserve reasons placement
  local served refused violations no_room held cap regions modules name
  grep -q '^methodmalloc: module .*System.Private.CoreLib' "$report" || fail "$what: no MM_PROFILER_VERBOSE line in the report"
  reports=$(grep -c '^methodmalloc: mode=' "$report" || true)
  [ "$reports" -eq "$want" ] || { cat "$report" >&2; fail "$what: expected $want processes' reports, got $reports"; }
  while read -r line; do
    pid=$(grep -o 'pid=[0-9]*' <<<"$line" | cut -d= -f2)
    program=$(grep -o 'program=[^ ]*' <<<"$line" | cut -d= -f2)
    reserve=$(grep "^methodmalloc: window_reserve .*pid=$pid " "$report" || true)
    reasons=$(grep "^methodmalloc: not_relocated by reason:.*pid=$pid " "$report" || true)
    placement=$(grep "^methodmalloc: placement .*pid=$pid " "$report" || true)
    if [ -z "$reserve" ] || [ -z "$reasons" ] || [ -z "$placement" ]; then cat "$report" >&2; fail "$what: pid $pid: report lines missing"; fi
    served=$(key "$line" served) refused=$(key "$line" refused) violations=$(key "$line" violations)
    no_room=$(key "$reasons" alloc_refused) held=$(key "$reserve" held) cap=$(key "$reserve" cap)
    regions=$(key "$reserve" regions) modules=$(key "$line" modules)
    name=$program
    printf '%-26s pid=%-7s modules=%-4s served=%-6s refused=%s violations=%s alloc_refused=%s held=%s regions=%s\n' \
      "$name" "$pid" "$modules" "$served" "$refused" "$violations" "$no_room" "$held" "$regions"
    [ "$refused" -eq 0 ] || { cat "$report" >&2; fail "$what: $name (pid $pid): $refused allocations refused"; }
    [ "$no_room" -eq 0 ] || fail "$what: $name (pid $pid): $no_room methods not relocated for want of room"
    [ "$violations" -eq 0 ] || fail "$what: $name (pid $pid): $violations blocks outside their window"
    [ "$cap" -le 1073741824 ] || fail "$what: $name (pid $pid): reserve cap $cap over 1 GiB"
    [ "$held" -le "$cap" ] || fail "$what: $name (pid $pid): reserve held $held over the cap $cap"
    [ "$regions" -le 8 ] || fail "$what: $name (pid $pid): $regions reserve regions for $modules modules"
    [ "$served" -ge "$floor" ] || fail "$what: $name (pid $pid): only $served bodies served, expected at least $floor with ReadyToRun off"
  done < <(grep '^methodmalloc: mode=' "$report")
}

########## 1. ASP.NET Core Razor Pages app ##########
web=$work/web
dotnet_step 120 "$work/web-new.log" "dotnet new webapp" dotnet new webapp --no-restore -o "$web"
dotnet_step 300 "$work/web-restore.log" "dotnet restore of the webapp failed (is NuGet reachable?)" dotnet restore "$web"
dotnet_step 300 "$work/web-build.log" "the plain build of the webapp failed" dotnet build "$web" --no-restore "${build_flags[@]}"
dll=$web/bin/Release/net10.0/web.dll
[ -f "$dll" ] || fail "the webapp's build made no web.dll"

# http_get PORT PATH OUT: GET over bash's /dev/tcp (HTTP/1.0: the server
# closes the connection after the body), with a deadline; the status code on
# stdout ("000" when there is no answer), the body in OUT.
http_get() {
  # shellcheck disable=SC2016 # $0 and $1 are the inner shell's arguments
  if ! timeout 20 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
      printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n" "$1" "$0" >&3
      cat <&3' "$1" "$2" >"$3.raw" 2>/dev/null; then
    echo 000; return
  fi
  sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$3.raw" | grep . || echo 000
  sed '1,/^\r\{0,1\}$/d' "$3.raw" >"$3"
}
pages=(/ /Privacy /css/site.css /lib/bootstrap/dist/css/bootstrap.min.css /nope)

# serve RUN [mmrun options...]: starts the app (plainly when no option is
# given), waits for its first 200 on GET /, fetches the pages into
# $work/RUN.N, stops it with SIGTERM and waits for it to end; sets
# ready_ms and total_ms.
serve() {
  local run=$1; shift
  local log=$work/$run.log err=$work/$run.err port='' code i t0 deadline
  # Every run starts from the same state: a HOME where ASP.NET Core never
  # ran, so that each creates its data-protection key ring and logs so.
  rm -rf "$work/webhome"; mkdir -p "$work/webhome"
  t0=$(now_ms) deadline=$((t0 + 120000))
  # Port 0: the kernel picks a free one, which Kestrel logs.
  if [ $# -eq 0 ]; then
    (cd "$web" && HOME=$work/webhome ASPNETCORE_URLS=http://127.0.0.1:0 DOTNET_ReadyToRun=0 exec dotnet "$dll") >"$log" 2>"$err" &
  else
    (cd "$web" && HOME=$work/webhome ASPNETCORE_URLS=http://127.0.0.1:0 MM_PROFILER_VERBOSE=1 exec "$mmrun" "$@" -- dotnet "$dll") >"$log" 2>"$err" &
  fi
  server=$!
  while :; do
    port=$(sed -n 's|.*Now listening on: http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$log" | head -n1)
    [ -z "$port" ] || break
    kill -0 "$server" 2>/dev/null || { cat "$log" "$err" >&2; fail "web app ($run): ended before it listened"; }
    [ "$(now_ms)" -lt "$deadline" ] || { cat "$log" "$err" >&2; fail "web app ($run): not listening after 120 s"; }
    sleep 0.05
  done
  until [ "$(http_get "$port" / "$work/$run.probe")" = 200 ]; do
    kill -0 "$server" 2>/dev/null || { cat "$log" "$err" >&2; fail "web app ($run): ended before it answered"; }
    [ "$(now_ms)" -lt "$deadline" ] || { cat "$log" "$err" >&2; fail "web app ($run): GET / not 200 after 120 s"; }
    sleep 0.05
  done
  ready_ms=$(($(now_ms) - t0))
  for i in "${!pages[@]}"; do
    code=$(http_get "$port" "${pages[$i]}" "$work/$run.$i")
    echo "${pages[$i]} $code" >>"$work/$run.codes"
  done
  # The server is dotnet itself, or mmrun, which must pass the signal on to
  # its dotnet, wait for it and print the report, as under a service manager.
  kill -TERM "$server"
  deadline=$(($(now_ms) + 60000))
  while kill -0 "$server" 2>/dev/null; do
    [ "$(now_ms)" -lt "$deadline" ] || { cat "$log" "$err" >&2; fail "web app ($run): still running 60 s after SIGTERM"; }
    sleep 0.05
  done
  code=0; wait "$server" || code=$?
  server=
  total_ms=$(($(now_ms) - t0))
  [ "$code" -eq 0 ] || { cat "$log" "$err" >&2; fail "web app ($run): exit status $code after SIGTERM (3: no report from the profiler)"; }
}

serve plain
plain_ready=$ready_ms plain_total=$total_ms
serve reloc --relocate --include-precompiled --report "$work/web.report"
grep -q '^/ 200$' "$work/plain.codes" || fail "web app: GET / was not 200 in the plain run"
diff "$work/plain.codes" "$work/reloc.codes" >&2 || fail "web app: status codes differ from the plain run"
for i in "${!pages[@]}"; do
  cmp -s "$work/plain.$i" "$work/reloc.$i" || fail "web app: ${pages[$i]} differs from the plain run"
done
[ -s "$work/plain.0" ] || fail "web app: GET / gave an empty page"
# The app's log, port and new key's ID aside and in any order (a request may
# log before the lifetime's last startup lines); the program's stderr holds
# only the report.
normalize_log() {
  sed -E -e 's|http://127\.0\.0\.1:[0-9]+|http://127.0.0.1:PORT|' \
    -e 's/\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}/{KEY}/g' "$1" | sort
}
# Both runs created the key ring: a run that found one left by the other
# would log differently, and this proves each started from nothing.
grep -q 'No XML encryptor configured' "$work/plain.log" || fail "web app: the plain run did not start from a HOME without a key ring"
diff <(normalize_log "$work/plain.log") <(normalize_log "$work/reloc.log") >&2 || fail "web app: its log differs from the plain run"
diff "$work/plain.err" <(grep -v '^methodmalloc: ' "$work/reloc.err") >&2 || fail "web app: its stderr differs from the plain run"
[ -f "$work/web.report" ] || fail "web app: mmrun kept no report"
check_reports "$work/web.report" "web app" 1 5000
echo "web app: GET / 200 and ${#pages[@]} pages identical; ready plain_ms=$plain_ready relocate_ms=$ready_ms; start to exit plain_ms=$plain_total relocate_ms=$total_ms"

########## 2. a test runner: dotnet test on an xunit project ##########
tst=$work/tst
dotnet_step 120 "$work/tst-new.log" "dotnet new xunit" dotnet new xunit --no-restore -o "$tst"
dotnet_step 300 "$work/tst-restore.log" "dotnet restore of the xunit project failed (is NuGet reachable? it needs xunit and Microsoft.NET.Test.Sdk)" dotnet restore "$tst"
cat >"$tst/Work.cs" <<'EOF'
using System.Text.Json;
using System.Text.RegularExpressions;

namespace tst;

public record Order(int Id, string Customer, decimal Total, DateTime Placed);

public class Work
{
    static List<Order> Orders() =>
        Enumerable.Range(1, 500)
            .Select(i => new Order(i, "c" + (i % 17), i * 1.25m, new DateTime(2024, 1, 1).AddDays(i)))
            .ToList();

    [Fact]
    public void Linq_groups_and_joins()
    {
        var orders = Orders();
        var byCustomer = orders.GroupBy(o => o.Customer).ToDictionary(g => g.Key, g => g.Sum(o => o.Total));
        Assert.Equal(17, byCustomer.Count);
        Assert.Equal(orders.Sum(o => o.Total), byCustomer.Values.Sum());
        var joined = from o in orders
                     join c in byCustomer on o.Customer equals c.Key
                     where o.Id % 50 == 0
                     orderby o.Id descending
                     select (o.Id, c.Value);
        Assert.Equal(10, joined.Count());
    }

    [Fact]
    public void Json_round_trip()
    {
        var orders = Orders().Take(40).ToList();
        var back = JsonSerializer.Deserialize<List<Order>>(JsonSerializer.Serialize(orders))!;
        Assert.Equal(orders, back);
    }

    [Theory]
    [InlineData("a1b22c333", 3)]
    [InlineData("no digits", 0)]
    [InlineData("9", 1)]
    public void Regex_counts_numbers(string text, int expected) =>
        Assert.Equal(expected, Regex.Matches(text, @"\d+").Count);

    [Fact]
    public async Task Async_tasks_run()
    {
        var squares = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i => { await Task.Yield(); return i * i; }));
        Assert.Equal(2470, squares.Sum());
    }

    [Fact]
    public void Exceptions_unwind()
    {
        Action act = () =>
        {
            try { throw new ArgumentException("inner"); }
            catch (ArgumentException e) { throw new InvalidOperationException("outer", e); }
        };
        Assert.IsType<ArgumentException>(Assert.Throws<InvalidOperationException>(act).InnerException);
    }

    [Fact]
    public void Generic_collections()
    {
        var set = new SortedSet<string>(Orders().Select(o => o.Customer));
        var queue = new PriorityQueue<int, decimal>();
        foreach (var o in Orders()) queue.Enqueue(o.Id, -o.Total);
        Assert.Equal(17, set.Count);
        Assert.Equal(500, queue.Dequeue());
    }
}
EOF
dotnet_step 300 "$work/tst-build.log" "the plain build of the xunit project failed" dotnet build "$tst" --no-restore "${build_flags[@]}"
# The template's test and ours: 1 + 5 facts + 3 theory cases.
tests_expected=9
run_tests() { bounded 300 "$@" dotnet test "$tst" --no-build -c Release -nodeReuse:false; }
t0=$(now_ms)
DOTNET_ReadyToRun=0 run_tests >"$work/test.plain" 2>&1 || { cat "$work/test.plain" >&2; fail "dotnet test failed in the plain run"; }
t1=$(now_ms)
MM_PROFILER_VERBOSE=1 run_tests "$mmrun" --relocate --include-precompiled --report "$work/test.report" -- \
  >"$work/test.reloc" 2>"$work/test.err" || { cat "$work/test.reloc" "$work/test.err" >&2; fail "dotnet test failed under mmrun"; }
t2=$(now_ms)
grep -Eq "Failed: +0, Passed: +$tests_expected, Skipped: +0, Total: +$tests_expected," "$work/test.plain" \
  || { cat "$work/test.plain" >&2; fail "the plain dotnet test did not pass all $tests_expected tests"; }
normalize_test() { sed -E 's/Duration: [0-9.]+ [a-z]+/Duration: T/' "$1"; }
diff <(normalize_test "$work/test.plain") <(normalize_test "$work/test.reloc") >&2 || fail "dotnet test: results or output differ from the plain run"
check_reports "$work/test.report" "dotnet test" 3 3000
# Each process names itself (`dotnet exec` by the assembly it runs).
names=$(grep '^methodmalloc: mode=' "$work/test.report" | grep -o 'program=[^ ]*' | cut -d= -f2 | sort | tr '\n' ' ')
[ "$names" = "dotnet:test dotnet:testhost.dll dotnet:vstest.console.dll " ] \
  || fail "dotnet test: expected the processes dotnet:test, dotnet:vstest.console.dll and dotnet:testhost.dll, got: $names"
testhost=$(grep '^methodmalloc: mode=.* program=dotnet:testhost\.dll' "$work/test.report" | grep -o 'pid=[0-9]*' | cut -d= -f2)
grep -q "^methodmalloc: module .*/tst\.dll .*pid=$testhost " "$work/test.report" || fail "dotnet test: the tests (tst.dll) did not run in testhost under the profiler"
echo "dotnet test: $tests_expected tests passed as in the plain run; plain_ms=$((t1 - t0)) relocate_ms=$((t2 - t1))"
