#!/usr/bin/env bash
# A refused command: its exact exit status and its one-line message. Unlike ctest's WILL_FAIL
# (which a segfault or an abort also passes), this fails unless the status is the expected one
# and the output holds the message exactly once per printing rank.
#   usage: expect_error.sh STATUS REGEX COMMAND...   (REGEX: grep -E, matched line by line)
set -u
want=$1 regex=$2; shift 2
out=$("$@" 2>&1); rc=$?
printf '%s\n' "$out"
[ "$rc" -eq "$want" ] || { echo "FAIL: exit status $rc, expected $want"; exit 1; }
n=$(grep -Ec -- "$regex" <<<"$out")
[ "$n" -eq 1 ] || { echo "FAIL: $n lines match '$regex', expected exactly 1"; exit 1; }
other=$(grep -c 'ferret: error' <<<"$out")
[ "$other" -eq 1 ] || { echo "FAIL: $other error lines, expected one"; exit 1; }
echo "PASS: exit $rc with the expected message"
