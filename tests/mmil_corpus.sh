#!/usr/bin/env bash
# mmil verify, roundtrip, stack and rewrite-test over every .dll/.exe under
# a .NET installation: no body may be invalid, fail to round-trip, fail the
# stack check or fail the rewrite test, and every body must come back
# byte-identical from the rewriter.  Files that are not managed
# (native DLLs shipped alongside) are skipped by --skip-unmanaged and
# counted; a broken assembly still fails.  Fails loudly when there are no
# assemblies at all, so a missing runtime cannot pass as a clean run.
# Usage: tests/mmil_corpus.sh [MMIL [DIR]]   (build/tools/mmil, /usr/share/dotnet)
set -eu -o pipefail
mmil=${1:-build/tools/mmil}
dir=${2:-/usr/share/dotnet}
[ -d "$dir" ] || { echo "mmil_corpus: no .NET installation at $dir (install dotnet-sdk)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

find "$dir" -type f \( -iname '*.dll' -o -iname '*.exe' \) -print0 >"$tmp/files"
[ -s "$tmp/files" ] || { echo "mmil_corpus: no .dll or .exe under $dir"; exit 1; }

# xargs may split the list into several runs: sum their summary lines.
# run MODE: prints the summed "files:" and "total:" lines; exit status 1 if
# any run failed.
run() {
  local status=0
  xargs -0 "$mmil" "$1" --skip-unmanaged <"$tmp/files" >"$tmp/$1" || status=$?
  grep -v -E '^(files|total): |: [0-9]+ bodies, ' "$tmp/$1" | head -n 20 || true
  # Sum every number of the summary lines, field by field.
  awk '/^(files|total): / { k = $1; n[k] = NF
         for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) s[k, i] += $i; else w[k, i] = $i }
       END { for (j = 0; j < 2; j++) { k = j ? "total:" : "files:"; line = ""
               for (i = 1; i <= n[k]; i++) line = line (i > 1 ? " " : "") ((k, i) in w ? w[k, i] : s[k, i])
               print line } }' "$tmp/$1"
  return "$status"
}

status=0
run verify | tee "$tmp/verify.sum" || status=1
run roundtrip | tee "$tmp/roundtrip.sum" || status=1
run stack | tee "$tmp/stack.sum" || status=1
run rewrite-test | tee "$tmp/rewrite-test.sum" || status=1
managed=$(awk '/^files:/ { print $2 }' "$tmp/verify.sum")
bodies=$(awk '/^total:/ { print $2 }' "$tmp/verify.sum")
if [ "${managed:-0}" -eq 0 ] || [ "${bodies:-0}" -eq 0 ]; then
  echo "mmil_corpus: no managed assembly with IL bodies found under $dir"
  exit 1
fi
# Every command must have seen every body, and the rewriter must have given
# each back byte for byte: a count that differs is a failure even when the
# exit statuses say nothing.
want_stack="total: $bodies bodies, $bodies checked, 0 stack errors, 0 max_stack too small"
want_rw="total: $bodies bodies, $bodies identical, $bodies rewritten, 0 failed"
grep -qx "$want_stack" "$tmp/stack.sum" || { echo "mmil_corpus: expected '$want_stack'"; status=1; }
grep -qx "$want_rw" "$tmp/rewrite-test.sum" || { echo "mmil_corpus: expected '$want_rw'"; status=1; }
[ "$status" -eq 0 ] && echo "mmil_corpus: clean"
exit "$status"
