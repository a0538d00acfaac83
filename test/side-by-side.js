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
const os = require("os");
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

/** The directory of the previous release built ahead for the upgrade suite (test/upgrade/release-checkout.ts). */
const PREPARED_RELEASE_ENV = "RPLAN_PREVIOUS_RELEASE_DIR";

/** npm scripts every `npm test` runs before its other suites: the lint and the type check. */
const CHECKS = ["lint", "typecheck"];

/**
 * What `npm test <argv>` runs: lanes side by side, each a list of steps one after another. A step
 * is an npm script or a jest run; `nice`: the lane beside the lab yields the CPU to the lab suites
 * (and their nodes), whose clock is CI's. Pure: main() runs what this returns.
 */
function lanes(argv, previousRelease = previousReleaseDir()) {
  const { rest, json, outputFile } = parse(argv);
  const checks = (nice) => CHECKS.map((script) => ({ name: script, argv: ["npm", "run", "-s", script], nice }));
  const jest = (name, args, env = {}, nice = 0) => ({ name, argv: [process.execPath, require.resolve("jest/bin/jest"), "--runInBand", ...args], env, nice });
  // a chosen few (a path pattern, -t …): the checks, then one plain run
  if (rest.length > 0) return [[...checks(0), jest("the chosen suites", argv)]];
  const report = (name) => (outputFile ? ["--json", `--outputFile=${outputFile}.${name}`] : json ? ["--json"] : []);
  // The checks go first in the lane beside the lab (the lab suites need neither): off CI's clock.
  // So does the build of the previous release the upgrade suite runs, last in the lab lane
  // (test/upgrade/release-checkout.ts): that suite waits for it, or builds it itself when run alone.
  const prepare = {
    name: "the previous release",
    argv: [process.execPath, require.resolve("ts-node/dist/bin.js"), path.join(__dirname, "upgrade", "prepare-previous-release.ts"), previousRelease],
    nice: 10,
  };
  return [
    [jest("the lab suites", ["--testPathPattern", LAB, ...report("lab")], { [PREPARED_RELEASE_ENV]: previousRelease })],
    [...checks(10), prepare, jest("the other suites", ["--testPathIgnorePatterns", "/node_modules/", LAB, ...report("other")], { RPLAN_LAB_KEEP: "1" }, 10)],
  ];
}

function runStep({ name, argv, env = {}, nice = 0 }) {
  const [cmd, ...rest] = nice > 0 ? ["nice", "-n", String(nice), ...argv] : argv;
  return new Promise((resolve) => {
    const child = spawn(cmd, rest, { stdio: "inherit", env: { ...process.env, ...env } });
    child.on("exit", (code, signal) => resolve({ name, code: code ?? (signal ? 1 : 0) }));
  });
}

/** Every step of a lane, one after another (a failed step does not stop the others: all is reported). */
async function runLane(steps) {
  const results = [];
  for (const step of steps) results.push(await runStep(step));
  return results;
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

/** Where this run builds the previous release (its own directory: runs side by side do not meet). */
function previousReleaseDir() {
  return path.join(os.tmpdir(), `rplan-previous-release-${process.pid}`);
}

async function main() {
  const argv = process.argv.slice(2);
  const { outputFile } = parse(argv);
  const previousRelease = previousReleaseDir();
  const results = (await Promise.all(lanes(argv, previousRelease).map(runLane))).flat();
  for (const f of [previousRelease, ...[".ready", ".failed", ".log"].map((x) => previousRelease + x)]) fs.rmSync(f, { recursive: true, force: true });
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
module.exports = { merge, parse, lanes, CHECKS, LAB, PREPARED_RELEASE_ENV };
