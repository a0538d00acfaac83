/**
 * Upgrading rplan in place, on the lab (docs/upgrade.md): a stack applied by the previous release —
 * the commit in test/upgrade/previous-release, built in a directory of its own and run with its own
 * stack runner (`npm run stack -- up --stack lab`) — is then previewed and applied by this checkout.
 * Neither the preview nor the update replaces or deletes anything, and every VPN, TLS and DKIM key
 * is the one the previous release made (vpnFingerprints, tlsFingerprints and dkimPublicKeys as the
 * previous release recorded them). A release that moves a resource (new name, parent or type) keeps
 * this test green with an alias; a release that replaces a key on purpose says so in its notes and
 * points this file's check at the new key. After each release, previous-release gets its commit.
 *
 * The stack's state is a file of this suite's own (not the lab's stack-state.json), like every lab
 * suite's; the lab's nodes are left provisioned by this checkout, as after any other suite.
 * Needs root and the lab (3 nodes; a lab with another node count is taken down and brought up again),
 * and the previous release's commit in this clone's history. Takes about 10 minutes, most of it the
 * previous release's npm ci and its first up. Alone: `sudo RPLAN_LAB_KEEP=1 npx jest --runInBand test/upgrade`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { labStackConfigPath } from "../../lab";
import { LAB_PLACEMENT } from "../../lab/stack-config";
import { LAB_STACK_FILES } from "../../lab/stack-files";
import { SSH_KEY as LAB_SSH_KEY } from "../../lab/state";
import { RPLAN_PROJECT_DIR, runStack, RunResult, RunStep } from "../../runner";
import { PropertyMap } from "../../runner/props";
import { labWithExactly } from "../support/lab";
import { awaitPreparedRelease, buildPreviousRelease, PREPARED_RELEASE_ENV, previousReleaseCommit, recordedStackOutputs, runPreviousStack } from "./release-checkout";

const NODES = ["lab1", "lab2", "lab3"];
const KEYS = ["vpnFingerprints", "tlsFingerprints", "dkimPublicKeys"] as const;
/** Stack settings this release added since test/upgrade/previous-release (empty it when that moves past them). */
const NEWER_SETTINGS = ["rplan:spam"];

describe("upgrade in place: the previous release's stack, previewed and applied by this one (lab)", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-upgrade-"));
  // Built ahead by `npm test`'s lane beside the lab when it named a directory (test/side-by-side.js), else here.
  const prepared = process.env[PREPARED_RELEASE_ENV];
  const previous = prepared ?? path.join(work, "previous");
  const stateFile = path.join(work, "state.json");
  const logFile = path.join(work, "previous-release.log");
  const commit = previousReleaseCommit();
  const run = (op: "preview" | "up"): Promise<RunResult> =>
    runStack({ op, stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile: labStackConfigPath(), env: { RPLAN_SSH_KEY: LAB_SSH_KEY } });
  /** Steps that would destroy something: a replacement makes a new key, a delete loses one. */
  const destructive = (steps: readonly RunStep[]) => steps.filter((s) => s.op === "replace" || s.op === "delete").map((s) => `${s.op} ${s.urn}`);
  const keys = (outputs: PropertyMap) => Object.fromEntries(KEYS.map((k) => [k, outputs[k]]));
  let before: PropertyMap;

  beforeAll(async () => {
    // side by side (both take minutes), each run to its end before a failure of either is reported
    const build = prepared ? awaitPreparedRelease(prepared, commit, 1_200_000) : buildPreviousRelease(commit, previous, logFile);
    const ready = await Promise.allSettled([labWithExactly(3), build]);
    for (const r of ready) if (r.status === "rejected") throw r.reason;
    // The lab's placement file is beside the checkout that brought the lab up; the previous
    // release reads it from its own directory.
    fs.copyFileSync(path.join(RPLAN_PROJECT_DIR, LAB_PLACEMENT), path.join(previous, LAB_PLACEMENT));
    // Settings newer than the previous release are left out of its config, as an admin adds them
    // only after upgrading (the previous release refuses a setting it does not know).
    const previousConfig = path.join(work, "Pulumi.lab.previous.yaml");
    const doc = parseDocument(fs.readFileSync(labStackConfigPath(), "utf8"));
    for (const key of NEWER_SETTINGS) doc.deleteIn(["config", key]);
    fs.writeFileSync(previousConfig, doc.toString());
    await runPreviousStack(commit, previous, ["up", "--stack", "lab", "--state", stateFile, "--config", previousConfig], logFile, 1_800_000);
    before = recordedStackOutputs(stateFile, "lab", LAB_STACK_FILES);
  }, 3_600_000);

  afterAll(() => {
    fs.rmSync(previous, { recursive: true, force: true }); // its node_modules; the state and the log stay in `work`
  });

  test("the previous release recorded every node's VPN, TLS and DKIM key", () => {
    for (const k of KEYS) expect([k, Object.keys((before[k] ?? {}) as object).sort()]).toEqual([k, NODES]);
  });

  test("the preview replaces and deletes nothing", async () => {
    const p = await run("preview");
    expect(destructive(p.steps)).toEqual([]);
  }, 600_000);

  test("the update replaces and deletes nothing, and every VPN, TLS and DKIM key is the previous release's", async () => {
    const u = await run("up");
    expect(destructive(u.preview!.steps)).toEqual([]);
    expect(destructive(u.steps)).toEqual([]);
    expect(keys(recordedStackOutputs(stateFile, "lab", LAB_STACK_FILES))).toEqual(keys(before));
  }, 1_800_000);
});
