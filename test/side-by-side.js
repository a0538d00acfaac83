#!/usr/bin/env node
/**
 * npm test: two lanes side by side. The lab suites run one at a time in the first (they share one
 * lab, and only one may drive it); the lint, the type check and every other suite run in the second —
 * they need no lab, and the lab suites spend most of their time waiting on the nodes. Nothing is
 * dropped: together the two runs cover every test file once.
 *
 * `--json --outputFile=F` (as CI passes it): each run writes its own report, merged into F. Any
 * other argument (a path pattern, -t …) means a chosen few: the lint, the type check, then one plain
 * `jest --runInBand`.
 * The second run keeps any lab (RPLAN_LAB_KEEP=1): its end must not take down a lab the first is using.
 */
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");

/** What needs the lab (or takes it down: test/lab/lifecycle.test.ts), or the Pulumi CLI's lab stack. */
const LAB = String.raw`\.lab\.test\.ts$|/test/lab/|/test/cli\.automation\.test\.ts$`;

function parse(argv) {
  const rest = [];
  let outputFile;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") json = true;
    else if (a.startsWith("--outputFile=")) outputFile = a.slice("--outputFile=".length);
    else if (a === "--outputFile") outputFile = argv[++i];
    else rest.push(a);
  }
  return { rest, json, outputFile };
}

/** `nice`: the run beside the lab yields the CPU to the lab suites (and their nodes), whose clock is CI's. */
function run(name, args, env, nice = 0) {
  return spawnRun(name, [process.execPath, require.resolve("jest/bin/jest"), ...args], env, nice);
}

/** `npm run <script>` (the lint and the type check), as one more run. */
function npmRun(script, nice = 0) {
  return spawnRun(script, ["npm", "run", "-s", script], {}, nice);
}

/** npm scripts run before the other suites: the lint and the type check. */
const CHECKS = ["lint", "typecheck"];

/** The checks, one after the other; the first failure ends them. */
async function checks(nice = 0) {
  for (const script of CHECKS) {
    const r = await npmRun(script, nice);
    if (r.code !== 0) return r;
  }
  return { name: CHECKS.join(" and "), code: 0 };
}

function spawnRun(name, argv, env, nice) {
  const [cmd, ...rest] = nice > 0 ? ["nice", "-n", String(nice), ...argv] : argv;
  return new Promise((resolve) => {
    const child = spawn(cmd, rest, { stdio: "inherit", env: { ...process.env, ...env } });
    child.on("exit", (code, signal) => resolve({ name, code: code ?? (signal ? 1 : 0) }));
  });
}

/** jest's --json reports of both runs as one: counts added, results joined. */
function merge(reports) {
  const out = { ...reports[0], testResults: [] };
  for (const key of Object.keys(out)) if (key.startsWith("num")) out[key] = 0;
  for (const r of reports) {
    for (const [key, value] of Object.entries(r)) if (key.startsWith("num") && typeof value === "number") out[key] += value;
    out.testResults.push(...(r.testResults || []));
  }
  out.success = reports.every((r) => r.success);
  out.startTime = Math.min(...reports.map((r) => r.startTime || Infinity));
  return out;
}

async function main() {
  const { rest, json, outputFile } = parse(process.argv.slice(2));
  if (rest.length > 0) {
    const c = await checks();
    process.exitCode = c.code !== 0 ? c.code : (await run("chosen", ["--runInBand", ...process.argv.slice(2)], {})).code;
    return;
  }
  const report = (name) => (outputFile ? ["--json", `--outputFile=${outputFile}.${name}`] : json ? ["--json"] : []);
  const common = ["--runInBand"];
  // The lint and the type check go first in the lane beside the lab (the lab suites need neither):
  // off the lab's clock, which is CI's.
  const beside = async () => [await checks(10), await run("the other suites", [...common, "--testPathIgnorePatterns", "/node_modules/", LAB, ...report("other")], { RPLAN_LAB_KEEP: "1" }, 10)];
  const [lab, others] = await Promise.all([run("the lab suites", [...common, "--testPathPattern", LAB, ...report("lab")], {}), beside()]);
  const results = [lab, ...others];
  if (outputFile) {
    const parts = ["lab", "other"].map((n) => `${outputFile}.${n}`);
    const reports = parts.filter((f) => fs.existsSync(f)).map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
    if (reports.length === parts.length) fs.writeFileSync(path.resolve(outputFile), JSON.stringify(merge(reports)));
    for (const f of parts) fs.rmSync(f, { force: true });
  }
  for (const r of results) if (r.code !== 0) console.error(`side-by-side: ${r.name} failed (exit ${r.code})`);
  process.exitCode = results.some((r) => r.code !== 0) ? 1 : 0;
}

if (require.main === module) main();
module.exports = { merge, parse, run, CHECKS, LAB };
