#!/usr/bin/env bash
# The README's second command, and all that .ci/run does: set up, then generated-code check, typecheck, lint,
# unit and end-to-end tests. Ends with one plain line `N passed, N failed` (the checks count as one test each).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

passed=0
failed=0
check() {
  local name=$1
  shift
  echo "== $name" >&2
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "!! $name failed" >&2; fi
}

check "generated protobuf code is up to date" pnpm --silent generate:check
check "typecheck" pnpm --silent build
check "lint" pnpm --silent lint

echo "== tests" >&2
results=.jest-results.json
rm -f "$results"
jest_rc=0
pnpm --silent test:unit --json --outputFile="$results" "$@" || jest_rc=$?
if [ -s "$results" ]; then
  read -r jp jf < <(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(r.numPassedTests, r.numFailedTests + r.numRuntimeErrorTestSuites)' "$results")
  passed=$((passed + jp))
  failed=$((failed + jf))
  # A suite that failed to run at all, or jest failing for another reason, must not pass silently.
  if [ "$jest_rc" -ne 0 ] && [ "$jf" -eq 0 ]; then failed=$((failed + 1)); fi
else
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
