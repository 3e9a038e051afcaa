#!/usr/bin/env bash
# The whole test suite: set up if needed, then every package's tests (unit,
# end-to-end on the real Unicorn backend, native-vs-nommu conformance).
# Ends with one "N passed, M failed" line summed over all packages.
set -uo pipefail
export TURBO_TELEMETRY_DISABLED=1
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
rm -f packages/*/.vitest-result.json conformance/.vitest-result.json examples/.vitest-result.json
pnpm -s turbo run test --concurrency=1 --continue --output-logs=full -- --reporter=default --reporter=json --outputFile=.vitest-result.json
status=$?
node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0, suites = 0;
  const failures = [];
  for (const f of process.argv.slice(1)) {
    if (!fs.existsSync(f)) continue;
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests; suites++;
    // Name each failure at the end, where a truncated CI log still shows it.
    for (const file of r.testResults ?? [])
      for (const t of file.assertionResults ?? []) {
        if (t.status !== "failed") continue;
        const why = String((t.failureMessages ?? [])[0] ?? "").split("\n").slice(0, 4).join("\n      ");
        failures.push(`  FAILED ${f.replace(/\/\.vitest-result\.json$/, "")}: ${t.fullName}\n      ${why}`);
      }
  }
  if (failures.length) console.log("\n" + failures.join("\n"));
  console.log(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
' packages/*/.vitest-result.json conformance/.vitest-result.json examples/.vitest-result.json
exit $status
