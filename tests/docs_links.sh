#!/usr/bin/env bash
# The documentation holds together: every relative link in README.md and
# docs/ reaches an existing file (and heading, for #anchors, by GitHub's
# slugs), the README stays a front door (at most 300 lines), and no tracked
# text file names a path that exists only on one machine.
# Usage: tests/docs_links.sh [TOP]   (default: the folder above this script)
set -u
top=${1:-$(dirname "$0")/..}
cd "$top" || { echo "docs_links: cannot enter $top"; exit 1; }
export LC_ALL=C
errors=0
fail() { echo "$*"; errors=$((errors + 1)); }

# A markdown file without its fenced code blocks and inline code spans, so
# that `#include` is no heading and `a[i](x)` in code no link.
prose() {
  awk '/^[ \t]*(```|~~~)/ { fence = !fence; next } !fence' "$1" | sed 's/`[^`]*`//g'
}

# GitHub's anchor for a heading: lower case, inline code's backticks dropped,
# every character but letters, digits, spaces, '-' and '_' dropped, spaces
# to '-'; a repeated heading gets -1, -2, ...
anchors() {
  awk '/^[ \t]*(```|~~~)/ { fence = !fence; next } !fence && /^#+ / && !/^#######/ { print }' "$1" |
    sed -E 's/^#+ +//; s/ +#+ *$//; s/`//g' | tr 'A-Z' 'a-z' |
    sed -E 's/[^a-z0-9 _-]//g; s/ /-/g' |
    awk '{ n = seen[$0]++; print (n ? $0 "-" n : $0) }'
}

err=$(mktemp) || exit 1
docs=(README.md)
[ -d docs ] && while IFS= read -r f; do docs+=("$f"); done < <(find docs -name '*.md' | sort)

for f in "${docs[@]}"; do
  dir=$(dirname "$f")
  # [text](target) and [label]: target; external and mail links are not ours to check.
  { prose "$f" | grep -oE '\]\([^) ]+( "[^"]*")?\)' | sed -E 's/^\]\(//; s/( "[^"]*")?\)$//'
    prose "$f" | grep -oE '^ {0,3}\[[^]]+\]: +[^ ]+' | sed -E 's/^[^:]*: +//'
  } | while IFS= read -r link; do
    case $link in
      http://* | https://* | mailto:*) continue ;;
    esac
    path=${link%%#*}
    anchor=
    [ "$path" != "$link" ] && anchor=${link#*#}
    target=$f
    if [ -n "$path" ]; then
      target=$dir/$path
      [ -e "$target" ] || { echo "$f: link to $link: no such file $target"; continue; }
    fi
    if [ -n "$anchor" ] && [ -f "$target" ] && [[ $target == *.md ]]; then
      anchors "$target" | grep -qxF -- "$anchor" || echo "$f: link to $link: no heading with anchor #$anchor in $target"
    fi
  done
done > "$err"
while IFS= read -r line; do fail "$line"; done < "$err"
rm -f "$err"

lines=$(wc -l < README.md)
[ "$lines" -le 300 ] || fail "README.md: $lines lines, at most 300 (move the rest into docs/)"

# Paths of one machine.  The patterns are split so that this file does not
# match itself.  /tmp names are fine only as templates (XXXXXX, %d, $var).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files() { git ls-files -z; }
else
  files() { find . -path ./build -prune -o -path ./.git -prune -o -type f -print0; }
fi
machine='(/wo''rk/|/ro''ot/|/ho''me/[A-Za-z0-9_.-]+|/Us''ers/[A-Za-z]|[A-Za-z]:\\Us''ers\\|/mn''t/[A-Za-z]|dotnet/shared/Microsoft\.[A-Za-z.]+/[0-9])'
tmpname='/t''mp/[A-Za-z0-9_.-]*[A-Za-z0-9_]'
while IFS= read -r hit; do
  fail "names a path of one machine: $hit"
done < <(files | xargs -0 -r grep -I -n -E "$machine" -- 2>/dev/null
         files | xargs -0 -r grep -I -n -o -E "$tmpname[^ \"'\`)]*" -- 2>/dev/null | grep -vE 'XXX|%|\$')

if [ "$errors" -gt 0 ]; then
  echo "docs_links: $errors problem(s)"
  exit 1
fi
echo "docs_links: ${#docs[@]} documents, links resolve, README.md $lines lines, no machine paths"
