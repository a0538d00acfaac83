/**
 * The same lab scenario through the real Pulumi CLI, via the Automation API (LocalWorkspace, a file
 * backend, a passphrase secrets provider and the policy pack). Machines without `pulumi` on PATH
 * (like the ones this project is built on) skip it, loudly.
 */
import { SSH_KEY, STACK_PASSPHRASE } from "../lab/state";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

function hasPulumi(): boolean {
  try {
    execFileSync("pulumi", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const cli = hasPulumi();
if (!cli) {
  console.warn("SKIPPED: the Pulumi CLI is not on PATH, so the Automation API test (real CLI against the lab) cannot run here.");
}
const maybe = cli ? describe : describe.skip;

maybe("the lab scenario through the real Pulumi CLI", () => {
  const projectDir = path.resolve(__dirname, "..");
  let backend: string;

  beforeAll(async () => {
    const { ensureLab } = await import("../lab");
    await ensureLab({ nodes: 3 });
    backend = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-backend-"));
    process.env.PULUMI_BACKEND_URL = `file://${backend}`;
    process.env.PULUMI_CONFIG_PASSPHRASE = fs.readFileSync(STACK_PASSPHRASE, "utf8").trim();
    process.env.RPLAN_SSH_KEY ??= SSH_KEY;
  }, 600_000);

  test("up, then a preview shows no changes, then destroy", async () => {
    const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
    const stack = await LocalWorkspace.createOrSelectStack({ stackName: "lab", workDir: projectDir });
    const policy = { policyPacks: [path.join(projectDir, "policy")] };
    const up = await stack.up({ ...policy, onOutput: () => undefined });
    expect(up.summary.result).toBe("succeeded");
    const preview = await stack.preview(policy);
    const changes = Object.entries(preview.changeSummary).filter(([op, n]) => op !== "same" && n > 0);
    expect(changes).toEqual([]);
    await stack.destroy();
  }, 900_000);
});
