import * as fs from "fs";
import { Deployment } from "../../runner/deployment";
import { isSecret } from "../../runner/props";
import { Registration } from "../../runner/registration";
import { FakePlugin, freshStateFile, openState, reg, runDeployment, urn } from "./fake-engine";

describe("engine steps", () => {
  let file: string;
  let plugin: FakePlugin;
  beforeEach(() => {
    file = freshStateFile();
    plugin = new FakePlugin();
  });

  const run = (preview: boolean, regs: Registration[]): Promise<Deployment> => runDeployment(file, plugin, preview, regs);

  it("a preview only checks: no create is called and nothing is written", async () => {
    const d = await run(true, [reg("a", { size: 1 })]);
    expect(d.steps.map((s) => `${s.op} ${s.name}`)).toEqual(["create a"]);
    expect(plugin.calls).toEqual(["check a"]);
    expect(fs.existsSync(file)).toBe(false);
  });

  it("same inputs are a same step; a changed input an update with exactly that diff", async () => {
    await run(false, [reg("a", { size: 1, zone: "x" })]);
    plugin.calls = [];
    expect((await run(false, [reg("a", { size: 1, zone: "x" })])).steps[0].op).toBe("same");
    expect(plugin.calls).toEqual(["check a", "diff a"]);
    const d = await run(true, [reg("a", { size: 2, zone: "x" })]);
    expect(d.steps[0]).toMatchObject({ op: "update", diffs: ["~size"], detail: ["~ size", "    - 1", "    + 2"] });
  });

  it("replacement creates the new one first and deletes the old one after every other step", async () => {
    await run(false, [reg("a", { zone: "x" }), reg("b", { size: 1 })]);
    plugin.calls = [];
    const d = await run(false, [reg("a", { zone: "y" }), reg("b", { size: 2 })]);
    expect(d.steps.map((s) => `${s.op} ${s.name}`)).toEqual(["replace a", "update b"]);
    expect(plugin.calls.filter((c) => !c.startsWith("check") && !c.startsWith("diff"))).toEqual(["create a", "update b", "delete a"]);
    expect(openState(file).all().map((r) => r.id)).toEqual(["a-3", "b-2"]);
  });

  it("deleteBeforeReplace deletes first", async () => {
    await run(false, [reg("a", { zone: "x" })]);
    plugin.calls = [];
    await run(false, [reg("a", { zone: "y" }, { deleteBeforeReplace: true })]);
    expect(plugin.calls.filter((c) => !c.startsWith("check") && !c.startsWith("diff"))).toEqual(["delete a", "create a"]);
  });

  it("resources no longer registered are deleted at the end, dependents first", async () => {
    await run(false, [reg("host", {}), reg("file", {}, { dependencies: [urn("host")] }), reg("keep", {})]);
    plugin.calls = [];
    const d = await run(false, [reg("keep", {})]);
    expect(d.steps.map((s) => `${s.op} ${s.name}`)).toEqual(["same keep", "delete file", "delete host"]);
  });

  it("a protected resource is never deleted; the run fails saying so", async () => {
    await run(false, [reg("vault", {}, { protect: true })]);
    plugin.calls = [];
    const d = await run(false, []);
    expect(d.errors[0]).toMatch(/cannot delete protected resource .*vault/);
    expect(plugin.calls).toEqual([]);
  });

  it("a protected resource that must be replaced is refused, in preview already", async () => {
    await run(false, [reg("vault", { zone: "x" }, { protect: true })]);
    plugin.calls = [];
    const d = await run(true, [reg("vault", { zone: "y" }, { protect: true })]);
    expect(d.errors[0]).toMatch(/vault must be replaced \(zone\) but is protected/);
  });

  it("a check failure stops the update: later registrations are not applied", async () => {
    const d = await run(false, [reg("bad", { size: -1 }), reg("later", { size: 1 })]);
    expect(d.errors[0]).toBe("test:index:Thing bad: invalid inputs:\n  - size: must be positive");
    expect(plugin.calls.some((c) => c.startsWith("create"))).toBe(false);
  });

  it("additionalSecretOutputs become secrets in outputs and state (inputs stay as the program gave them)", async () => {
    const d = await run(false, [reg("a", { token: "t" }, { additionalSecretOutputs: ["token"] })]);
    expect(isSecret(d.resources()[0].outputs.token)).toBe(true);
    const saved = JSON.parse(fs.readFileSync(file, "utf8")).resources[0];
    expect(saved.outputs.token.ciphertext).toMatch(/^v1:/);
    expect(saved.inputs.token).toBe("t");
  });

  it("two resources with one URN are an error", async () => {
    const d = await run(true, [reg("a", {}), reg("a", {})]);
    expect(d.errors[0]).toMatch(/duplicate resource URN/);
  });
});
