/**
 * End to end on the lab, through the stack runner (the CLI's stand-in here):
 * lab up → up → a second preview shows no changes → change one node's config → preview shows exactly
 * that diff → up → destroy → lab down with the host's network restored.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { labDown, labStackConfigPath, readLabState } from "../lab";
import { labWithExactly } from "./support/lab";
import { diffSnapshots, takeSnapshot } from "../lab/network-safety";
import { SSH_KEY as LAB_SSH_KEY } from "../lab/state";
import { runStack, RunResult } from "../runner";

const root = process.getuid?.() === 0;
const maybe = root ? describe : describe.skip;

maybe("rplan on the lab, end to end", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-e2e-"));
  const stateFile = path.join(work, "state.json");
  const changedConfig = path.join(work, "Pulumi.lab.yaml");
  const env = { RPLAN_SSH_KEY: LAB_SSH_KEY };
  const run = (op: "preview" | "up" | "destroy", configFile = labStackConfigPath()): Promise<RunResult> =>
    runStack({ op, stack: "lab", stateFile, configFile, env });
  let resourceCount = 0;
  const byOp = (r: RunResult, steps = r.steps) => steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name} ${s.diffs.join(" ")}`.trim());

  beforeAll(async () => {
    await labWithExactly(3);
  }, 600_000);

  test("up provisions every node through the dynamic-provider host", async () => {
    const r = await run("up");
    const created = byOp(r).map((s) => s.replace(/^create /, "")).sort();
    for (const n of ["lab1", "lab2", "lab3"]) {
      expect(created).toEqual(expect.arrayContaining([n, `${n}-host`, `mesh-${n}-key`, `mesh-${n}-tinc-hosts`, `mesh-${n}-tinc-self`]));
    }
    expect(created).toEqual(expect.arrayContaining(["rplan-lab", "mesh", "mesh-check"]));
    expect(byOp(r).every((s) => s.startsWith("create "))).toBe(true);
    resourceCount = created.length;
    const facts = r.outputs.nodeFacts as Record<string, { machineId: string; mountFsType: string }>;
    expect(Object.keys(facts).sort()).toEqual(["lab1", "lab2", "lab3"]);
    expect(new Set(Object.values(facts).map((f) => f.machineId)).size).toBe(3);
    for (const f of Object.values(facts)) expect(f.mountFsType).toBe("fuse.gocryptfs");
  }, 300_000);

  test("a second preview shows no changes", async () => {
    const r = await run("preview");
    expect(r.changed).toBe(false);
    expect(byOp(r)).toEqual([]);
  }, 300_000);

  test("changing one node's config previews exactly that diff, then applies it", async () => {
    const doc = parseDocument(fs.readFileSync(labStackConfigPath(), "utf8"));
    const nodes = doc.getIn(["config", "rplan:nodes"]) as any;
    nodes.items[1].set("packages", ["curl"]);
    fs.writeFileSync(changedConfig, doc.toString());

    const preview = await run("preview", changedConfig);
    expect(byOp(preview)).toEqual(["update lab2-host ~packages"]);
    expect(preview.printed).toMatch(/\+\s+"curl"/);

    const up = await run("up", changedConfig);
    expect(byOp(up)).toEqual(["update lab2-host ~packages"]);
    expect((await run("preview", changedConfig)).changed).toBe(false);
  }, 600_000);

  test("destroy removes every resource from the state", async () => {
    const r = await run("destroy", changedConfig);
    expect(byOp(r).filter((s) => !s.startsWith("delete"))).toEqual([]);
    expect(byOp(r)).toHaveLength(resourceCount);
    const state = JSON.parse(fs.readFileSync(stateFile, "utf8"));
    expect(state.resources).toEqual([]);
  }, 300_000);

  test("lab down restores the host's routes, addresses and namespaces", async () => {
    const before = readLabState()!.network;
    await labDown();
    expect(diffSnapshots(before, await takeSnapshot())).toEqual([]);
  }, 300_000);
});
