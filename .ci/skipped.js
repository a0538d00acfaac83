// Lists the tests jest skipped (from its --json report) and exits 1 when any was skipped, except
// those in files allowed to skip here: test/cli.automation.test.ts needs the Pulumi CLI.
"use strict";
const fs = require("fs");
const path = require("path");

const ALLOWED = ["test/cli.automation.test.ts"];
const report = JSON.parse(fs.readFileSync(process.argv[2] || ".ci-jest.json", "utf8"));
const root = path.resolve(__dirname, "..");
const skipped = [];
for (const file of report.testResults || []) {
  const rel = path.relative(root, file.name || file.testFilePath || "");
  if (ALLOWED.includes(rel)) continue;
  for (const t of file.assertionResults || []) {
    if (t.status === "pending" || t.status === "skipped" || t.status === "todo") skipped.push(`${rel}: ${t.fullName || t.title}`);
  }
}
if (skipped.length > 0) {
  console.error(`FAILED: ${skipped.length} test${skipped.length === 1 ? " was" : "s were"} skipped (only ${ALLOWED.join(", ")} may skip here):`);
  for (const s of skipped) console.error(`  - ${s}`);
  process.exit(1);
}
console.log(`no skipped tests (besides ${ALLOWED.join(", ")})`);
