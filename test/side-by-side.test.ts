/** test/side-by-side.js, npm test: the lint, the type check, two runs that together cover every test file once, and one merged report. */
import { spawnSync } from "child_process";
import * as path from "path";
import * as fs from "fs";
import { PREPARED_RELEASE_ENV as TS_PREPARED_RELEASE_ENV } from "./upgrade/release-checkout";
const { CHECKS, LAB, lanes, merge, parse, PREPARED_RELEASE_ENV } = require("./side-by-side.js");

const root = path.resolve(__dirname, "..");
const list = (args: string[]) =>
  spawnSync(process.execPath, [require.resolve("jest/bin/jest"), "--listTests", ...args], { cwd: root, encoding: "utf8" })
    .stdout.split("\n")
    .filter(Boolean)
    .map((f) => path.relative(root, f))
    .sort();

test("the lab run and the other run split the test files: each file in exactly one, every lab suite in the lab run", () => {
  const all = list([]);
  const lab = list(["--testPathPattern", LAB]);
  const other = list(["--testPathIgnorePatterns", "/node_modules/", LAB]);
  expect([...lab, ...other].sort()).toEqual(all);
  expect(lab.filter((f) => other.includes(f))).toEqual([]);
  for (const f of all.filter((x) => x.endsWith(".lab.test.ts") || x.startsWith("test/lab/"))) expect({ f, lab: lab.includes(f) }).toEqual({ f, lab: true });
  // the ones that merely run real daemons without the lab stay beside it
  expect(other).toContain("test/mail/mail-local.test.ts");
  expect(all.length).toBeGreaterThan(100);
}, 60_000);

test("CI's report arguments are taken apart; anything else means a chosen few (one plain run)", () => {
  expect(parse(["--json", "--outputFile=.ci-jest.json"])).toEqual({ rest: [], json: true, outputFile: ".ci-jest.json" });
  expect(parse(["--outputFile", "r.json", "test/mail"])).toEqual({ rest: ["test/mail"], json: false, outputFile: "r.json" });
});

test("the merged report adds the counts, joins the results, fails when either failed, starts at the earlier start", () => {
  const a = { numPassedTests: 2, numFailedTests: 0, numPendingTests: 1, success: true, startTime: 5, testResults: [{ name: "a" }] };
  const b = { numPassedTests: 3, numFailedTests: 1, numPendingTests: 0, success: false, startTime: 3, testResults: [{ name: "b" }, { name: "c" }] };
  expect(merge([a, b])).toEqual({ numPassedTests: 5, numFailedTests: 1, numPendingTests: 1, success: false, startTime: 3, testResults: [{ name: "a" }, { name: "b" }, { name: "c" }] });
  expect(merge([a, { ...a, testResults: [] }]).success).toBe(true);
});

test("npm test is the side-by-side runner: the lab suites in one lane; the lint, the type check, the previous release's build, then every other suite in the other, yielding the CPU", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  expect(pkg.scripts.test).toBe("node test/side-by-side.js");
  expect(CHECKS).toEqual(["lint", "typecheck"]);
  expect(pkg.scripts.lint).toMatch(/^eslint /);
  expect(pkg.scripts.typecheck).toMatch(/^tsc --noEmit/);
  type Step = { name: string; argv: string[]; nice: number };
  const show = (ls: Step[][]) => ls.map((l) => l.map((st) => `${st.name}${st.nice ? ` (nice ${st.nice})` : ""}`));
  const ci: Step[][] = lanes(["--json", "--outputFile=.ci-jest.json"]);
  expect(show(ci)).toEqual([["the lab suites"], ["lint (nice 10)", "typecheck (nice 10)", "the previous release (nice 10)", "the other suites (nice 10)"]]);
  // The previous release is built beside the lab into the directory the lab lane's upgrade suite is told of.
  const withDir: (Step & { env?: Record<string, string> })[][] = lanes(["--json", "--outputFile=.ci-jest.json"], "/tmp/prev-x");
  expect(withDir[1][2].argv.slice(-2)).toEqual([path.join(root, "test", "upgrade", "prepare-previous-release.ts"), "/tmp/prev-x"]);
  expect(withDir[0][0].env).toEqual({ [PREPARED_RELEASE_ENV]: "/tmp/prev-x" });
  expect(PREPARED_RELEASE_ENV).toBe(TS_PREPARED_RELEASE_ENV);
  expect(ci[1][0].argv).toEqual(["npm", "run", "-s", "lint"]);
  expect(ci[1][1].argv).toEqual(["npm", "run", "-s", "typecheck"]);
  expect(ci[0][0].argv).toEqual(expect.arrayContaining(["--testPathPattern", LAB, "--outputFile=.ci-jest.json.lab"]));
  expect(ci[1][3].argv).toEqual(expect.arrayContaining(["--testPathIgnorePatterns", LAB, "--outputFile=.ci-jest.json.other"]));
  // a chosen few: the checks too, then one plain run of what was asked
  const chosen: Step[][] = lanes(["test/mail", "-t", "quota"]);
  expect(show(chosen)).toEqual([["lint", "typecheck", "the chosen suites"]]);
  expect(chosen[0][2].argv.slice(-4)).toEqual(["--runInBand", "test/mail", "-t", "quota"]);
});
