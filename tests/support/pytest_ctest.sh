#!/usr/bin/env bash
# Runs pytest for one ctest entry and makes a skip read as a skip: pytest exits 0 when every test
# was skipped (an importorskip, a module-level skipif), which ctest would count as passed. Here a
# run where nothing passed but something was skipped, or nothing was collected, exits 77 (the
# entries' SKIP_RETURN_CODE); partial skips are listed by -rs in the output.
#   usage: pytest_ctest.sh PYTHON PYTEST_ARGS...
set -u
py=$1; shift
log=$(mktemp); trap 'rm -f "$log"' EXIT
"$py" -m pytest -rs -p no:cacheprovider "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summary=$(tail -n 1 "$log")
if [ "$rc" -eq 5 ]; then echo "SKIP: pytest collected no test"; exit 77; fi
if [ "$rc" -eq 0 ] && ! grep -Eq '[0-9]+ passed' <<<"$summary"; then
  echo "SKIP: every test was skipped ($summary)"; exit 77
fi
exit "$rc"
