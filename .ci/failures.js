// Repeats, at the very end of CI's output, what each failed test said (from jest's --json report):
// a long run's log is read from its tail, and the failure itself scrolls out of sight behind the
// suites that ran after it. Each message is cut to its first lines; the whole is in the report.
"use strict";
const fs = require("fs");
const path = require("path");

const LINES = 25;
const file = process.argv[2] || ".ci-jest.json";
if (!fs.existsSync(file)) process.exit(0);
const report = JSON.parse(fs.readFileSync(file, "utf8"));
const root = path.resolve(__dirname, "..");
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");
for (const suite of report.testResults || []) {
  const rel = path.relative(root, suite.name || "");
  const failed = (suite.assertionResults || []).filter((t) => t.status === "failed");
  // A suite that failed outside any test (beforeAll, a syntax error) has only its own message.
  if (failed.length === 0 && suite.status === "failed") console.log(`FAILED ${rel}:\n${strip(suite.message || "").split("\n").slice(0, LINES).join("\n")}`);
  for (const t of failed) {
    const msg = strip((t.failureMessages || []).join("\n")).split("\n").filter((l) => !/^\s+at .*node_modules/.test(l));
    console.log(`FAILED ${rel} › ${t.title}\n${msg.slice(0, LINES).join("\n")}`);
  }
}
