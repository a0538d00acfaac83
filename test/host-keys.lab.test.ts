/**
 * Host-key checks admins can run, against the lab's real sshd: `npm run status` and
 * `npm run stack -- refresh` contact every node with its pinned keys and refuse a node whose key
 * does not match, naming it; a no-op `up` contacts no host at all; `npm run mesh -- status` prints
 * the matrix. The swapped key lives only in copies (of the stack config for status, of the state
 * for refresh, which pins the keys the last `up` recorded): the lab itself is not changed.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { ensureLab, labSshTarget, labStackConfigPath } from "../lab";
import { SSH_KEY as LAB_SSH_KEY } from "../lab/state";
import { RPLAN_PROJECT_DIR, runStack } from "../runner";
import { closeAllSsh, sshConnection } from "../transports/ssh";
import { newKeyPair } from "./support/fake-sshd";
import { acceptedLogins, controlLogin } from "./support/lab-logins";
import { LAB_STACK_FILES } from "../lab/stack-files";

const maybe = process.getuid?.() === 0 ? describe : describe.skip;

function cli(script: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["-r", "ts-node/register", script, ...args], { cwd: RPLAN_PROJECT_DIR, env: { ...process.env, RPLAN_SSH_KEY: LAB_SSH_KEY, TS_NODE_TRANSPILE_ONLY: "1" } }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as any).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

maybe("host keys on the lab: status and refresh refuse a swapped key; a no-op up contacts nobody", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-host-keys-lab-"));
  const stateFile = path.join(work, "state.json");
  const env = { RPLAN_SSH_KEY: LAB_SSH_KEY };
  const impostor = newKeyPair().public;
  let nodes: string[] = [];
  let config = "";

  beforeAll(async () => {
    const lab = await ensureLab({ nodes: 3 });
    nodes = lab.nodes.map((n) => n.name);
    config = labStackConfigPath();
    // The suite's starting point: no test reads this up's plan, so one pass (no preview first).
    await runStack({ op: "up", skipPreview: true, stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile: config, env });
  }, 900_000);
  afterAll(() => closeAllSsh());

  test("a no-op `up` contacts no host (sshd logins counted on every node, with a positive control)", async () => {
    const conns = await Promise.all(nodes.map((n) => sshConnection(labSshTarget(n))));
    // Logins from before a node's log anonymity was applied are recorded nowhere (docs/anonymity.md),
    // and ours may be older: a control login on each node first proves its count works.
    for (const c of conns) await controlLogin(c, await acceptedLogins(c));
    const before = await Promise.all(conns.map(acceptedLogins));
    for (const b of before) expect(b).toBeGreaterThan(0);
    const up = await runStack({ op: "up", stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile: config, env });
    expect(up.changed).toBe(false);
    const after = await Promise.all(conns.map(acceptedLogins));
    expect(after).toEqual(before);
    await controlLogin(conns[0], after[0]);
  }, 600_000);

  test("`npm run status` with the pinned keys: every node OK and unlocked", async () => {
    const r = await cli("cli/status.ts", ["--stack", "lab", "--config", config]);
    for (const n of nodes) expect(r.out).toMatch(new RegExp(`^${n} +\\S+:22 +OK +unlocked`, "m"));
    expect(r.code).toBe(0);
  }, 120_000);

  test("`npm run status` with lab2's pinned key swapped (a copy of the config): MISMATCH for lab2, exit 1", async () => {
    const doc = parseDocument(fs.readFileSync(config, "utf8"));
    const list = doc.getIn(["config", "rplan:nodes"]) as any;
    const i = list.items.findIndex((n: any) => n.get("name") === "lab2");
    list.items[i].setIn(["ssh", "hostKeys"], doc.createNode([impostor]));
    const swapped = path.join(work, "swapped.yaml");
    fs.writeFileSync(swapped, doc.toString());
    const r = await cli("cli/status.ts", ["--stack", "lab", "--config", swapped]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^lab2 +\S+:22 +MISMATCH/m);
    expect(r.out).toMatch(/^lab1 +\S+:22 +OK +unlocked/m);
    expect(r.out).toContain("REFUSED: host key mismatch on lab2");
    expect(r.out).toContain("[lab2] host key mismatch at");
  }, 120_000);

  test("`refresh` reads every resource over SSH: it passes with the recorded keys and fails naming lab2 when its recorded key is swapped", async () => {
    const ok = await runStack({ op: "refresh", stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile: config, env });
    expect(ok.steps.length).toBeGreaterThan(0);
    // Swap lab2's keys wherever the state records them (plaintext inputs and outputs).
    let text = fs.readFileSync(stateFile, "utf8");
    const mine = labSshTarget("lab2").hostKeys;
    let replaced = 0;
    for (const k of mine) {
      const b64 = k.split(/\s+/)[1];
      const [type, fresh] = impostor.split(/\s+/);
      const re = new RegExp(`${k.split(/\s+/)[0].replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} ${b64.replace(/[+/]/g, (c) => `\\${c}`)}`, "g");
      text = text.replace(re, () => (replaced++, `${type} ${fresh}`));
    }
    expect(replaced).toBeGreaterThan(0);
    const swappedState = path.join(work, "swapped-state.json");
    fs.writeFileSync(swappedState, text);
    const err = await runStack({ op: "refresh", stack: "lab", stackFiles: LAB_STACK_FILES, stateFile: swappedState, configFile: config, env }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain("[lab2] host key mismatch");
  }, 600_000);

  test("`npm run mesh -- status` prints the connectivity matrix and exits 0", async () => {
    const r = await cli("cli/mesh.ts", ["status", "--stack", "lab", "--config", config, "--wait", "30"]);
    expect(r.out).toMatch(/^from\\to/m);
    for (const n of nodes) expect(r.out).toMatch(new RegExp(`^${n} +`, "m"));
    expect(r.out).toMatch(/^OK$/m);
    expect(r.code).toBe(0);
  }, 120_000);
});
