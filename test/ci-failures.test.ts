/** .ci/failures.js: CI's last lines name each failed test and its message (a long log is read from its tail). */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.resolve(__dirname, "..");
const runOn = (report: unknown) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rplan-ci-")), "r.json");
  fs.writeFileSync(file, JSON.stringify(report));
  return spawnSync(process.execPath, [path.join(root, ".ci/failures.js"), file], { encoding: "utf8" }).stdout;
};

test("each failed test: its file, title and message, colours and node_modules frames dropped; passed tests say nothing", () => {
  const out = runOn({
    testResults: [
      {
        name: path.join(root, "test/mesh/mesh.lab.test.ts"),
        status: "failed",
        assertionResults: [
          { title: "mesh up", status: "passed", failureMessages: [] },
          { title: "revoking lab3", status: "failed", failureMessages: ["Error: \u001b[2mexpect(received).toBe(expected)\n\nExpected: 2\nReceived: 4\n    at Object.<anonymous> (test/mesh/mesh.lab.test.ts:300:5)\n    at run (node_modules/jest-circus/build/run.js:1:1)"] },
        ],
      },
      { name: path.join(root, "test/ok.test.ts"), status: "passed", assertionResults: [{ title: "fine", status: "passed" }] },
    ],
  });
  expect(out).toBe("FAILED test/mesh/mesh.lab.test.ts › revoking lab3\nError: expect(received).toBe(expected)\n\nExpected: 2\nReceived: 4\n    at Object.<anonymous> (test/mesh/mesh.lab.test.ts:300:5)\n");
});

test("a suite that failed outside any test (beforeAll, a syntax error) prints its own message", () => {
  const out = runOn({ testResults: [{ name: path.join(root, "test/x.test.ts"), status: "failed", message: "beforeAll: lab did not come up", assertionResults: [] }] });
  expect(out).toBe("FAILED test/x.test.ts:\nbeforeAll: lab did not come up\n");
});
