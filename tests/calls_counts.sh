# The calls sample's exact counts under mmrun --calls, known from its source
# (tests/samples/calls/Program.cs) and the same on every platform: sourced
# by tests/profiler_test.sh (Linux x86-64) and tests/runtime_platform.sh
# (the other platforms' runtimes), so that both hold one list.
# calls_counts_check TSV: 0 when the calls report TSV has every count;
# otherwise prints the first one missing and returns 1.
calls_counts_check() {
  local tsv=$1 want
  while IFS= read -r want; do
    grep -qxF "$want" "$tsv" || { echo "no line '$want' in the calls report"; return 1; }
  done <<'COUNTS'
177	Calls.Program::Fib
8	Calls.Program::Thrower
5	Calls.Gen::Id
4	Calls.Square::Sides
2	Calls.Triangle::Sides
2	Calls.Square::.ctor
1	Calls.Triangle::.ctor
2	Calls.Animal::Legs
1	Calls.Bird::Legs
2	Calls.Dog::Sound
1	Calls.Bird::Sound
3	Calls.Animal::.ctor
2	Calls.Dog::.ctor
1	Calls.Bird::.ctor
2	Calls.Box`1::.ctor
3	Calls.Box`1::Get
1	Calls.Box`1/Inner::Nested
2	Calls.Program::AddAsync
1	Calls.Program::Main
COUNTS
  # The compiler names these; the pattern, not the name, is the source's.
  grep -qP '^13\tCalls\.Program/<>c::<Main>b__[0-9_]+$' "$tsv" || { echo "the lambda was not called 13 times"; return 1; }
  grep -qP '^4\tCalls\.Program/<AddAsync>d__[0-9]+::MoveNext$' "$tsv" || { echo "AddAsync's MoveNext did not run 4 times"; return 1; }
}
