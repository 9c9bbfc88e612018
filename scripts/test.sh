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
# Without arguments, the unit tests (packages/) and the end-to-end tests (e2e/) run as two jest processes side by
# side, one worker each: the e2e tests spend most of their time waiting on real processes (outages, drains), which
# leaves a core for the unit tests. With arguments (paths, -t, ...), one jest run gets them.
results=.jest-results.json
rm -f "$results" .jest-unit.json .jest-e2e.json
jest_rc=0
if [ "$#" -gt 0 ]; then
  pnpm --silent test:unit --json --outputFile="$results" "$@" || jest_rc=$?
else
  pnpm --silent test:unit --json --outputFile=.jest-unit.json "$PWD/packages/" > >(sed 's/^/[unit] /') 2> >(sed 's/^/[unit] /' >&2) &
  unit_pid=$!
  e2e_rc=0
  pnpm --silent test:unit --json --outputFile=.jest-e2e.json "$PWD/e2e/" || e2e_rc=$?
  unit_rc=0
  wait "$unit_pid" || unit_rc=$?
  [ "$unit_rc" -eq 0 ] && [ "$e2e_rc" -eq 0 ] || jest_rc=1
  # One results file, as a single run writes it, for whoever reads the failures.
  if [ -s .jest-unit.json ] && [ -s .jest-e2e.json ]; then
    node -e '
      const fs = require("fs");
      const [u, e] = [".jest-unit.json", ".jest-e2e.json"].map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
      const sum = (k) => u[k] + e[k];
      const keys = ["numPassedTests", "numFailedTests", "numRuntimeErrorTestSuites", "numTotalTests", "numPassedTestSuites", "numFailedTestSuites", "numTotalTestSuites", "numPendingTests"];
      const merged = { ...u, ...Object.fromEntries(keys.map((k) => [k, sum(k)])), success: u.success && e.success, testResults: [...u.testResults, ...e.testResults] };
      fs.writeFileSync(process.argv[1], JSON.stringify(merged));
    ' "$results"
  fi
  rm -f .jest-unit.json .jest-e2e.json
fi
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
