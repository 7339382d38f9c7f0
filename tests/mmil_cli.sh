#!/usr/bin/env bash
# mmil's command line on hand-made assemblies (written by test_pe --seeds):
# exit statuses, the summary lines, and bad files that must give a message,
# never a crash.  Usage: tests/mmil_cli.sh [MMIL]   (MMIL: build/tools/mmil)
set -eu
mmil=${1:-build/tools/mmil}
bin=$(dirname "$mmil")/../tests
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect STATUS PATTERN CMD...: CMD exits with STATUS and prints PATTERN.
expect() {
  local want=$1 pattern=$2 got=0
  shift 2
  "$@" >"$tmp/out" 2>&1 || got=$?
  [ "$got" -eq "$want" ] || fail "$* exited $got, expected $want: $(head -c 600 "$tmp/out")"
  grep -qE -- "$pattern" "$tmp/out" || fail "$* did not print /$pattern/: $(head -c 600 "$tmp/out")"
}

"$bin/test_pe" --seeds "$tmp" >/dev/null
img=$tmp/image0.dll
[ -s "$img" ] || { echo "no seed image written"; exit 1; }

expect 0 '^total: 4 bodies, 2 tiny, 2 fat, 2 with EH, 0 invalid$' "$mmil" verify "$tmp/image0.dll" "$tmp/image1.dll"
expect 0 '^total: 2 bodies, 2 round-tripped, 2 byte-identical, 0 failed$' "$mmil" roundtrip "$img"
expect 0 'finally try 0x0000\+0x1 handler 0x0001\+0x1' "$mmil" dump "$img" 0x06000002
expect 0 'Abstract  RVA 0x0  \(no body\)' "$mmil" dump "$img"
expect 1 'no method 0x06000009' "$mmil" dump "$img" 0x06000009
expect 1 'no method 0x02000001' "$mmil" dump "$img" 0x02000001
expect 2 'usage' "$mmil"
expect 2 'usage' "$mmil" frobnicate
expect 2 'no files' "$mmil" verify

# Not assemblies: a clear message and a non-zero status...
printf 'hello\n' >"$tmp/text"
: >"$tmp/empty"
head -c 700 "$img" >"$tmp/truncated.dll"
expect 1 'text: not a valid .NET assembly: no MZ signature' "$mmil" verify "$tmp/text"
expect 1 'empty: not a valid .NET assembly' "$mmil" verify "$tmp/empty"
expect 1 'truncated.dll: not a valid .NET assembly: metadata' "$mmil" verify "$tmp/truncated.dll"
expect 1 'cannot open' "$mmil" verify "$tmp/missing"
expect 1 'not a regular file' "$mmil" roundtrip "$tmp"
expect 1 'not a valid .NET assembly' "$mmil" dump "$tmp/text"
# ...unless skipped as not managed; a broken assembly is never skipped.
expect 0 '^files: 1 managed, 2 not managed, 0 unreadable$' "$mmil" verify --skip-unmanaged "$tmp/text" "$tmp/empty" "$img"
expect 1 '^files: 0 managed, 0 not managed, 1 unreadable$' "$mmil" verify --skip-unmanaged "$tmp/truncated.dll"

# A broken body: the fat header of Run (file offset 0x410) claims 2 dwords.
cp "$img" "$tmp/bad.dll"
printf '\x20' | dd of="$tmp/bad.dll" bs=1 seek=$((0x411)) conv=notrunc status=none
expect 1 '0x06000002 Run \(RVA 0x2210\): offset 0x1: fat header size is 2 dwords, not 3' "$mmil" verify "$tmp/bad.dll"
expect 1 '^total: 2 bodies, 1 tiny, 0 fat, 0 with EH, 1 invalid$' "$mmil" verify "$tmp/bad.dll"
expect 1 '^total: 2 bodies, 1 round-tripped, 1 byte-identical, 1 failed$' "$mmil" roundtrip "$tmp/bad.dll"
expect 0 'invalid: offset 0x1: fat header size' "$mmil" dump "$tmp/bad.dll" 2
# A body RVA outside every section (MethodDef row 1 at file offset 0x2cc).
cp "$img" "$tmp/rva.dll"
printf '\x00\x90\x00\x00' | dd of="$tmp/rva.dll" bs=1 seek=$((0x2cc)) conv=notrunc status=none
expect 1 'Main \(RVA 0x9000\): offset 0x0: RVA 0x9000 lies in no section' "$mmil" verify "$tmp/rva.dll"

# The rewriter's commands on the same images.
expect 0 '^  IL_0001:  endfinally$' "$mmil" disasm "$img" 0x06000002
expect 0 '^  \.try IL_0000 to IL_0001 finally handler IL_0001 to IL_0002$' "$mmil" disasm "$img"
expect 0 '^\.method 0x06000003 Program::Abstract  \(no IL body\)$' "$mmil" disasm "$img"
expect 1 'no method 0x06000009' "$mmil" disasm "$img" 0x06000009
expect 2 'usage' "$mmil" disasm
expect 0 '^total: 4 bodies, 4 checked, 0 stack errors, 0 max_stack too small$' "$mmil" stack "$tmp/image0.dll" "$tmp/image1.dll"
expect 0 '^total: 2 bodies, 2 identical, 2 rewritten, 0 failed$' "$mmil" rewrite-test "$img"
expect 2 'no files' "$mmil" stack
expect 1 'not a valid .NET assembly: no MZ signature' "$mmil" rewrite-test "$tmp/text"
expect 0 '^files: 1 managed, 2 not managed, 0 unreadable$' "$mmil" stack --skip-unmanaged "$tmp/text" "$tmp/empty" "$img"
# A broken header, a stack error and an unknown opcode, each named with the
# method and the offset; Main's code is the byte at file offset 0x401.
expect 1 '^total: 2 bodies, 1 checked, 1 stack errors, 0 max_stack too small$' "$mmil" stack "$tmp/bad.dll"
expect 1 '^total: 2 bodies, 1 identical, 1 rewritten, 1 failed$' "$mmil" rewrite-test "$tmp/bad.dll"
cp "$img" "$tmp/pop.dll"
printf '\x26' | dd of="$tmp/pop.dll" bs=1 seek=$((0x401)) conv=notrunc status=none
expect 1 '0x06000001 Main \(RVA 0x2200\): offset 0x0: pop at IL_0000 pops 1 values, the stack holds 0' "$mmil" stack "$tmp/pop.dll"
expect 1 '^total: 2 bodies, 1 identical, 1 rewritten, 1 failed$' "$mmil" rewrite-test "$tmp/pop.dll"
expect 0 'stack error: pop at IL_0000' "$mmil" disasm "$tmp/pop.dll" 1
cp "$img" "$tmp/op.dll"
printf '\x24' | dd of="$tmp/op.dll" bs=1 seek=$((0x401)) conv=notrunc status=none
expect 1 'Main \(RVA 0x2200\): offset 0x0: unknown opcode 0x24 at IL_0000' "$mmil" stack "$tmp/op.dll"
expect 0 'invalid: offset 0x0: unknown opcode 0x24 at IL_0000' "$mmil" disasm "$tmp/op.dll" 1

[ "$failures" -eq 0 ] && echo "mmil_cli: all passed"
[ "$failures" -eq 0 ]
