#!/usr/bin/env bash
# Every unit test once more under valgrind's memcheck: no invalid access, no
# uninitialised read, no leak.
set -u
command -v valgrind >/dev/null || { echo "valgrind is missing (Debian package valgrind)"; exit 1; }
rc=0
for t in "$@"; do
  if out=$(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
              --suppressions="$(dirname "$0")/valgrind.supp" "$t" 2>&1); then
    echo "valgrind clean: $t"
  else
    echo "valgrind FAILED: $t"; echo "$out" | tail -40; rc=1
  fi
done
exit $rc
