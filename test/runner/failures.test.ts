/**
 * After any failed step the state holds what Pulumi's engine would hold (pkg/resource/deploy/step.go,
 * pkg/engine/update.go): a failed create records nothing and leaves the resource it would have
 * replaced live; a partial failure ("created but failed to initialize") records the object with its
 * init errors; a failed delete leaves the resource where it was.
 */
import { Registration } from "../../runner/registration";
import { FakePlugin, freshStateFile, openState, reg, runDeployment } from "./fake-engine";

describe("state after a failed step", () => {
  let file: string;
  let plugin: FakePlugin;
  beforeEach(() => {
    file = freshStateFile();
    plugin = new FakePlugin();
  });

  const run = (preview: boolean, regs: Registration[]) => runDeployment(file, plugin, preview, regs);
  const ops = async (regs: Registration[]) => (await run(true, regs)).steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`);
  const mutations = () => plugin.calls.filter((c) => !c.startsWith("check") && !c.startsWith("diff"));
  const saved = () => openState(file).all().map((r) => ({ id: r.id, inputs: r.inputs, outputs: r.outputs, delete: !!r.delete, pendingReplacement: !!r.pendingReplacement, initErrors: r.initErrors ?? [] }));
  const pending = () => openState(file).pendingOperations();

  it("a create-before-delete replacement whose create fails leaves the old resource live and unchanged", async () => {
    await run(false, [reg("a", { zone: "x" }), reg("b", { size: 1 })]);
    const before = saved();
    plugin.failures.set("create a", "fail");
    const d = await run(false, [reg("a", { zone: "y" }), reg("b", { size: 1 })]);
    expect(d.errors[0]).toMatch(/create a: connect ECONNREFUSED/);
    expect(saved()).toEqual(before);
    expect(pending()).toEqual([]);
    expect(await ops([reg("a", { zone: "y" }), reg("b", { size: 1 })])).toEqual(["replace a"]); // the same replacement, no orphan
    expect(await ops([reg("a", { zone: "x" }), reg("b", { size: 1 })])).toEqual([]); // reverted: nothing at all
    plugin.calls = [];
    await run(false, [reg("a", { zone: "y" }), reg("b", { size: 1 })]);
    expect(mutations()).toEqual(["create a", "delete a"]);
    expect(saved().map((r) => [r.id, r.inputs.zone ?? r.inputs.size])).toEqual([["b-2", 1], ["a-4", "y"]]);
  });

  it("a replacement created but not initialized is recorded with its init errors; the old one awaits deletion", async () => {
    await run(false, [reg("a", { zone: "x" })]);
    plugin.failures.set("create a", "partial");
    const d = await run(false, [reg("a", { zone: "y" })]);
    expect(d.errors[0]).toMatch(/created but failed to initialize/);
    expect(saved()).toEqual([
      { id: "a-1", inputs: { zone: "x" }, outputs: { zone: "x", made: true }, delete: true, pendingReplacement: false, initErrors: [] },
      { id: "a-2", inputs: { zone: "y" }, outputs: { zone: "y", made: "partly" }, delete: false, pendingReplacement: false, initErrors: ["service did not start"] },
    ]);
    // The engine retries initialization with an update (step_generator.go: hasInitErrors), then deletes the old one.
    expect(await ops([reg("a", { zone: "y" })])).toEqual(["update a", "delete a"]);
    plugin.calls = [];
    await run(false, [reg("a", { zone: "y" })]);
    expect(mutations()).toEqual(["update a", "delete a"]);
    expect(saved()).toEqual([{ id: "a-2", inputs: { zone: "y" }, outputs: { zone: "y", made: true }, delete: false, pendingReplacement: false, initErrors: [] }]);
  });

  it("a delete-before-replace whose create fails keeps the deleted resource as pending replacement", async () => {
    await run(false, [reg("a", { zone: "x", dbr: true })]);
    plugin.failures.set("create a", "fail");
    await run(false, [reg("a", { zone: "y", dbr: true })]);
    expect(saved()).toEqual([{ id: "a-1", inputs: { zone: "x", dbr: true }, outputs: { zone: "x", dbr: true, made: true }, delete: false, pendingReplacement: true, initErrors: [] }]);
    // The object is gone from the host: even with the old inputs back it must be created, never deleted again.
    expect(await ops([reg("a", { zone: "x", dbr: true })])).toEqual(["replace a"]);
    plugin.calls = [];
    await run(false, [reg("a", { zone: "x", dbr: true })]);
    expect(mutations()).toEqual(["create a"]);
    expect(saved().map((r) => [r.id, r.pendingReplacement])).toEqual([["a-3", false]]);
  });

  it("a resource pending replacement that the program dropped leaves state without a provider call", async () => {
    await run(false, [reg("a", { zone: "x", dbr: true })]);
    plugin.failures.set("create a", "fail");
    await run(false, [reg("a", { zone: "y", dbr: true })]);
    plugin.calls = [];
    await run(false, []);
    expect(mutations()).toEqual([]);
    expect(saved()).toEqual([]);
  });

  it("a failed update keeps the old inputs and outputs", async () => {
    await run(false, [reg("a", { size: 1 })]);
    const before = saved();
    plugin.failures.set("update a", "fail");
    await run(false, [reg("a", { size: 2 })]);
    expect(saved()).toEqual(before);
    expect(pending()).toEqual([]);
    expect(await ops([reg("a", { size: 1 })])).toEqual([]);
    expect(await ops([reg("a", { size: 2 })])).toEqual(["update a"]);
  });

  it("a partially failed update keeps the old inputs with the outputs the provider returned (pulumi/pulumi#2011)", async () => {
    await run(false, [reg("a", { size: 1 })]);
    plugin.failures.set("update a", "partial");
    await run(false, [reg("a", { size: 2 })]);
    expect(saved()).toEqual([{ id: "a-1", inputs: { size: 1 }, outputs: { size: 2, made: "partly" }, delete: false, pendingReplacement: false, initErrors: ["service did not start"] }]);
    expect(await ops([reg("a", { size: 1 })])).toEqual(["update a"]); // init errors: retried even with no change
    await run(false, [reg("a", { size: 2 })]);
    expect(saved()[0]).toMatchObject({ inputs: { size: 2 }, outputs: { size: 2, made: true }, initErrors: [] });
  });

  it("a failed delete leaves the resource in state as it was; the next run deletes it", async () => {
    await run(false, [reg("a", {}), reg("b", {})]);
    const before = saved();
    plugin.failures.set("delete b", "fail");
    const d = await run(false, [reg("a", {})]);
    expect(d.errors[0]).toMatch(/delete b: connect ECONNREFUSED/);
    expect(saved()).toEqual(before);
    expect(pending()).toEqual([]);
    expect(await ops([reg("a", {})])).toEqual(["delete b"]);
  });

  it("a failed delete of a replaced resource keeps it awaiting deletion beside its replacement", async () => {
    await run(false, [reg("a", { zone: "x" })]);
    plugin.failures.set("delete a", "fail");
    await run(false, [reg("a", { zone: "y" })]);
    expect(saved().map((r) => [r.id, r.delete])).toEqual([["a-1", true], ["a-2", false]]);
    expect(await ops([reg("a", { zone: "y" })])).toEqual(["delete a"]);
    plugin.calls = [];
    await run(false, [reg("a", { zone: "y" })]);
    expect(mutations()).toEqual(["delete a"]);
    expect(saved().map((r) => r.id)).toEqual(["a-2"]);
  });
});
