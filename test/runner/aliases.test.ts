/**
 * Aliases, as the engine's step generator honours them (pkg/resource/deploy/step_generator.go): a
 * resource whose URN changed and that names its old URN in `aliases` takes the old resource over —
 * same ID, same outputs, a same/update/replace step, no create beside a delete, the old URN not
 * deleted; without an alias it is replaced as before; one old URN can be claimed by one resource only.
 */
import * as fs from "fs";
import * as path from "path";
import { Alias } from "@pulumi/pulumi/proto/alias_pb";
import { RegisterResourceRequest } from "@pulumi/pulumi/proto/resource_pb";
import { Aliases } from "../../runner/aliases";
import { formatSteps } from "../../runner/display";
import { fromRequest, Registration } from "../../runner/registration";
import { ResourceState } from "../../runner/state";
import { FakePlugin, freshStateFile, openState, reg, runDeployment, urn } from "./fake-engine";
import { env, fileResources, ops, stack, writeConfig } from "./fixture-stack";

const COMP = "test:index:Comp";
const component = (name: string, extra: Partial<Registration> = {}) =>
  reg(name, {}, { type: COMP, custom: false, urn: `urn:pulumi:t::p::${COMP}::${name}`, ...extra });
/** A Thing under `parent` (a component's URN): the engine puts the parent's type in the URN. */
const child = (name: string, parent: string, inputs = {}, extra: Partial<Registration> = {}) =>
  reg(name, inputs, { parent, urn: `urn:pulumi:t::p::${parent.split("::")[2]}$test:index:Thing::${name}`, ...extra });

describe("aliases", () => {
  let file: string;
  let plugin: FakePlugin;
  beforeEach(() => {
    file = freshStateFile();
    plugin = new FakePlugin();
  });

  const run = (preview: boolean, regs: Registration[]) => runDeployment(file, plugin, preview, regs);
  const steps = (d: { steps: { op: string; name: string }[] }) => d.steps.map((s) => `${s.op} ${s.name}`);
  const mutations = () => plugin.calls.filter((c) => !c.startsWith("check") && !c.startsWith("diff"));
  const saved = (): ResourceState[] => openState(file).all();
  const byName = (name: string) => saved().find((r) => r.name === name);

  it("a renamed resource with an alias keeps its ID and outputs: a same step, nothing created or deleted", async () => {
    await run(false, [reg("a", { size: 1, zone: "x" })]);
    const before = byName("a")!;
    plugin.calls = [];
    const renamed = reg("b", { size: 1, zone: "x" }, { aliases: [{ name: "a" }] });
    const preview = await run(true, [renamed]);
    expect(steps(preview)).toEqual(["same b"]);
    expect(preview.steps[0].aliasOf).toBe(urn("a"));
    expect(formatSteps(preview.steps, { showDetail: false })).toEqual(["     test:index:Thing  b  same  [aliased: was test:index:Thing::a]"]);
    const up = await run(false, [renamed]);
    expect(steps(up)).toEqual(["same b"]);
    expect(mutations()).toEqual([]);
    expect(saved().map((r) => r.urn)).toEqual([urn("b")]);
    expect(byName("b")).toMatchObject({ id: before.id, outputs: before.outputs, inputs: before.inputs });
    // the alias has done its work: without it, the next run finds b under its own URN
    expect(steps(await run(true, [reg("b", { size: 1, zone: "x" })]))).toEqual(["same b"]);
  });

  it("a renamed resource whose inputs changed is updated in place (same ID), or replaced when the change forces it", async () => {
    await run(false, [reg("a", { size: 1, zone: "x" }), reg("k", { zone: "x" })]);
    const id = byName("a")!.id;
    plugin.calls = [];
    const d = await run(false, [reg("b", { size: 2, zone: "x" }, { aliases: [{ urn: urn("a") }] }), reg("l", { zone: "y" }, { aliases: [{ name: "k" }] })]);
    expect(steps(d)).toEqual(["update b", "replace l"]);
    expect(d.steps[0]).toMatchObject({ aliasOf: urn("a"), diffs: ["~size"] });
    // the replacement's old half is deleted under its old URN, after everything else
    expect(mutations()).toEqual(["update b", "create l", "delete k"]);
    expect(saved().map((r) => r.urn)).toEqual([urn("b"), urn("l")]);
    expect(byName("b")!.id).toBe(id);
  });

  it("a re-parented resource with an alias keeps its ID", async () => {
    await run(false, [reg("a", { size: 1 }), reg("user", { size: 1 }, { dependencies: [urn("a")] })]);
    const id = byName("a")!.id;
    plugin.calls = [];
    const group = component("group");
    // moved into the component; the old one had no parent (a child of the root stack)
    const moved = child("a", group.urn, { size: 1 }, { aliases: [{ noParent: true }] });
    const preview = await run(true, [group, moved, reg("user", { size: 1 }, { dependencies: [moved.urn] })]);
    expect(steps(preview)).toEqual(["create group", "same a", "same user"]);
    expect(preview.steps[1].aliasOf).toBe(urn("a"));
    const up = await run(false, [group, moved, reg("user", { size: 1 }, { dependencies: [moved.urn] })]);
    expect(steps(up)).toEqual(["create group", "same a", "same user"]);
    expect(mutations()).toEqual([]);
    expect(byName("a")).toMatchObject({ urn: moved.urn, id, parent: group.urn });
    expect(saved().filter((r) => r.name === "a")).toHaveLength(1);
  });

  it("a resource recorded before the move (an update stopped before it registered again) names the moved one's new URN", async () => {
    await run(false, [reg("a", { size: 1 }), reg("user", { size: 1 }, { dependencies: [urn("a")] })]);
    const group = component("group");
    const moved = child("a", group.urn, { size: 1 }, { aliases: [{ noParent: true }] });
    // a failing step after the move stops the update: user stays as recorded before
    plugin.failures.set("create late", "fail");
    const d = await run(false, [group, moved, reg("late", { size: 1 })]);
    expect(d.errors[0]).toMatch(/create late/);
    expect(byName("user")!.dependencies).toEqual([moved.urn]);
    expect(saved().map((r) => r.urn)).toEqual([urn("user"), group.urn, moved.urn]);
  });

  it("renaming a component with an alias moves its children (inherited aliases, names that start with the parent's renamed too)", async () => {
    const old = component("extras");
    await run(false, [old, child("extras-a", old.urn, { size: 1 }), child("keep", old.urn, { size: 2 })]);
    const ids = saved().map((r) => r.id);
    plugin.calls = [];
    const renamed = component("more", { aliases: [{ name: "extras" }] });
    const d = await run(false, [renamed, child("more-a", renamed.urn, { size: 1 }), child("keep", renamed.urn, { size: 2 })]);
    expect(steps(d)).toEqual(["same more", "same more-a", "same keep"]);
    // a URN names its parent's type, not its name: "keep" kept its URN, "more-a" took over "extras-a"
    expect(d.steps.map((s) => s.aliasOf)).toEqual([old.urn, child("extras-a", old.urn).urn, undefined]);
    expect(mutations()).toEqual([]);
    expect(saved().map((r) => r.id).sort()).toEqual(ids.sort());
    expect(saved().map((r) => r.name).sort()).toEqual(["keep", "more", "more-a"]);
  });

  it("renamed WITHOUT an alias: replaced, as before (the new one created, the old one deleted)", async () => {
    await run(false, [reg("a", { size: 1 })]);
    plugin.calls = [];
    const d = await run(false, [reg("b", { size: 1 })]);
    expect(steps(d)).toEqual(["create b", "delete a"]);
    expect(mutations()).toEqual(["create b", "delete a"]);
  });

  it("an alias naming no old resource is ignored: the resource is created", async () => {
    const d = await run(false, [reg("b", { size: 1 }, { aliases: [{ name: "never" }] })]);
    expect(steps(d)).toEqual(["create b"]);
  });

  it("two resources claiming one alias are an error, in the preview already, and nothing is touched", async () => {
    await run(false, [reg("a", { size: 1 })]);
    plugin.calls = [];
    const regs = [reg("b", { size: 1 }, { aliases: [{ name: "a" }] }), reg("c", { size: 1 }, { aliases: [{ name: "a" }] })];
    const preview = await run(true, regs);
    expect(preview.errors[0]).toBe(
      `test:index:Thing c: Duplicate resource alias '${urn("a")}' applied to resource with URN '${urn("c")}' conflicting with resource with URN '${urn("b")}'`,
    );
    const up = await run(false, regs);
    expect(up.errors[0]).toMatch(/Duplicate resource alias/);
    expect(mutations()).toEqual([]);
    expect(saved().map((r) => r.urn)).toEqual([urn("b")]); // the first claim, as far as the update got
  });

  it("an alias naming a resource the program still declares is an error", async () => {
    await run(false, [reg("a", { size: 1 })]);
    const d = await run(true, [reg("a", { size: 1 }), reg("b", { size: 1 }, { aliases: [{ name: "a" }] })]);
    expect(d.errors[0]).toMatch(/Duplicate resource alias '.*::a' applied to resource with URN '.*::b' conflicting with resource with URN '.*::a'/);
  });

  it("a resource registering a URN another one took over as its alias is an error", async () => {
    await run(false, [reg("a", { size: 1 })]);
    const d = await run(true, [reg("b", { size: 1 }, { aliases: [{ name: "a" }] }), reg("a", { size: 1 })]);
    expect(d.errors[0]).toBe(`test:index:Thing a: Duplicate resource URN '${urn("a")}' conflicting with alias on resource with URN '${urn("b")}'`);
  });

  it("the state journal alone (a run killed before the snapshot) holds the move", async () => {
    await run(false, [reg("a", { size: 1 })]);
    const state = openState(file);
    const { Deployment } = await import("../../runner/deployment");
    const { EngineProvider } = await import("../../runner/providers/plugin");
    const d = new Deployment({ preview: false, state, providers: { forType: async () => new EngineProvider(plugin) }, policy: Promise.resolve(undefined), log: () => undefined });
    await d.register(reg("b", { size: 1 }, { aliases: [{ name: "a" }] }));
    // no finish, no compact: what the next run reads is the snapshot plus the journal
    expect(openState(file).all().map((r) => r.urn)).toEqual([urn("b")]);
  });
});

describe("alias URNs (the engine's collapseAliasToUrn and inheritedChildAlias)", () => {
  const aliases = () => new Aliases("t", "p");
  it("fills a spec's empty fields from the resource; noParent and the root stack mean no parent", () => {
    const stack = "urn:pulumi:t::p::pulumi:pulumi:Stack::p-t";
    const parent = `urn:pulumi:t::p::${COMP}::g`;
    const r = child("x", parent, {}, { aliases: [{ name: "old" }, { type: "test:index:Old" }, { noParent: true }, { parentUrn: stack }, { project: "q", stack: "s", noParent: true }] });
    expect(aliases().candidates(r)).toEqual([
      `urn:pulumi:t::p::${COMP}$test:index:Thing::old`,
      `urn:pulumi:t::p::${COMP}$test:index:Old::x`,
      "urn:pulumi:t::p::test:index:Thing::x",
      "urn:pulumi:s::q::test:index:Thing::x",
    ]);
  });
});

describe("aliases in the RegisterResourceRequest (the engine's resource monitor)", () => {
  it("reads aliasURNs, then aliases: each a URN or a spec", () => {
    const req = new RegisterResourceRequest();
    req.setType("test:index:Thing");
    req.setName("x");
    req.setAliasurnsList(["urn:pulumi:t::p::test:index:Thing::old1"]);
    const byUrn = new Alias();
    byUrn.setUrn("urn:pulumi:t::p::test:index:Thing::old2");
    const spec = new Alias.Spec();
    spec.setName("old3");
    spec.setNoparent(true);
    const bySpec = new Alias();
    bySpec.setSpec(spec);
    req.setAliasesList([byUrn, bySpec]);
    expect(fromRequest(req, "t", "p").aliases).toEqual([
      { urn: "urn:pulumi:t::p::test:index:Thing::old1" },
      { urn: "urn:pulumi:t::p::test:index:Thing::old2" },
      { name: "old3", noParent: true, type: undefined, stack: undefined, project: undefined, parentUrn: undefined },
    ]);
    req.setAliasurnsList(["not-a-urn"]);
    expect(() => fromRequest(req, "t", "p")).toThrow(/invalid alias URN: "not-a-urn" is not a URN/);
  });
});

describe("aliases through the SDK (the fixture program, each run a fresh process)", () => {
  jest.setTimeout(240_000);
  const e = env();
  const base = { "fixture:greeting": "hello", "fixture:extraFiles": '["a.txt"]' };
  const TEXT_FILE = "pulumi-nodejs:dynamic/fixture:TextFile";
  const ids = () => Object.fromEntries(fileResources(e).map((r) => [r.name, r.id]));
  const aliased = (r: { steps: { name: string; aliasOf?: string }[] }) => r.steps.filter((s) => s.aliasOf).map((s) => `${s.name} was ${s.aliasOf!.split("::").slice(2).join("::")}`);
  let first: Record<string, string>;

  it("up", async () => {
    writeConfig(e, base);
    await stack(e, "up");
    first = ids();
    expect(Object.keys(first).sort()).toEqual(["extras-a.txt", "greeting", "secret"]);
  });

  it("a resource and a component renamed with aliases: nothing created, updated or deleted; the component's file follows it", async () => {
    writeConfig(e, { ...base, "fixture:greetingName": "welcome", "fixture:greetingAliases": '[{"name":"greeting"}]', "fixture:extrasName": "more", "fixture:extrasAliases": '[{"name":"extras"}]' });
    const p = await stack(e, "preview");
    expect(ops(p)).toEqual([]);
    expect(aliased(p)).toEqual(["more was fixture:index:FileSet::extras", `more-a.txt was fixture:index:FileSet$${TEXT_FILE}::extras-a.txt`, `welcome was ${TEXT_FILE}::greeting`]);
    expect(p.printed).toContain(`     ${TEXT_FILE}  welcome  same  [aliased: was ${TEXT_FILE}::greeting]`);
    expect(p.printed).toContain("Resources: + 0 to create, ~ 0 to update, +-0 to replace, - 0 to delete, 6 unchanged");
    const u = await stack(e, "up");
    expect(ops(u)).toEqual([]);
    expect(ops(u.preview!)).toEqual([]);
    expect(ids()).toEqual({ welcome: first.greeting, "more-a.txt": first["extras-a.txt"], secret: first.secret });
    expect(fs.readFileSync(path.join(e.out, "greeting.txt"), "utf8")).toBe("hello");
    expect(u.outputs.greetingPath).toBe(path.join(e.out, "greeting.txt"));
  });

  it("re-parented into a component with an alias: only the component is created", async () => {
    writeConfig(e, { ...base, "fixture:greetingName": "welcome", "fixture:greetingGroup": "g", "fixture:greetingAliases": '[{"noParent":true}]', "fixture:extrasName": "more" });
    const u = await stack(e, "up");
    expect(ops(u)).toEqual(["create g"]);
    expect(aliased(u)).toEqual([`welcome was ${TEXT_FILE}::welcome`]);
    expect(ids().welcome).toBe(first.greeting);
    expect((await stack(e, "preview")).changed).toBe(false);
  });

  it("renamed WITHOUT an alias: the old one is deleted and a new one created", async () => {
    writeConfig(e, { ...base, "fixture:greetingName": "hi", "fixture:greetingGroup": "g", "fixture:extrasName": "more" });
    const p = await stack(e, "preview");
    expect(ops(p)).toEqual(["create hi", "delete welcome"]);
    expect(aliased(p)).toEqual([]);
  });
});
