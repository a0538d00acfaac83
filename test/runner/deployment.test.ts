import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Deployment } from "../../runner/deployment";
import { isSecret, PropertyMap } from "../../runner/props";
import { CheckResult, DiffResult, EngineProvider, ReadResult, ResourcePlugin, Target } from "../../runner/providers/plugin";
import { Registration } from "../../runner/registration";
import { StateStore } from "../../runner/state";

/** A plugin that records every call; `size` updates in place, `zone` forces replacement. */
class FakePlugin implements ResourcePlugin {
  readonly acceptSecrets = false;
  calls: string[] = [];
  private next = 1;

  async check(t: Target, _o: PropertyMap, news: PropertyMap): Promise<CheckResult> {
    this.calls.push(`check ${t.name}`);
    return { inputs: news, failures: news.size === -1 ? [{ property: "size", reason: "must be positive" }] : [] };
  }
  async diff(t: Target, _id: string, olds: PropertyMap, _oo: PropertyMap, news: PropertyMap): Promise<DiffResult> {
    this.calls.push(`diff ${t.name}`);
    const changed = JSON.stringify(olds) !== JSON.stringify(news);
    return { changes: changed ? "some" : "none", replaces: olds.zone !== news.zone ? ["zone"] : [], deleteBeforeReplace: news.dbr === true };
  }
  async create(t: Target, inputs: PropertyMap) {
    this.calls.push(`create ${t.name}`);
    return { id: `${t.name}-${this.next++}`, outputs: { ...inputs, made: true } };
  }
  async read(_t: Target, id: string, _i: PropertyMap, outputs: PropertyMap): Promise<ReadResult> {
    return { id, outputs };
  }
  async update(t: Target, _id: string, _oi: PropertyMap, _oo: PropertyMap, news: PropertyMap) {
    this.calls.push(`update ${t.name}`);
    return { ...news, made: true };
  }
  async delete(t: Target) {
    this.calls.push(`delete ${t.name}`);
  }
}

function reg(name: string, inputs: PropertyMap, extra: Partial<Registration> = {}): Registration {
  return {
    urn: `urn:pulumi:t::p::test:index:Thing::${name}`,
    type: "test:index:Thing",
    name,
    parent: "",
    custom: true,
    inputs,
    dependencies: [],
    propertyDependencies: {},
    protect: false,
    deleteBeforeReplace: false,
    ignoreChanges: [],
    replaceOnChanges: [],
    additionalSecretOutputs: [],
    retainOnDelete: false,
    provider: "",
    importId: "",
    aliases: 0,
    ...extra,
  };
}

const urn = (name: string) => reg(name, {}).urn;

describe("engine steps", () => {
  let file: string;
  let plugin: FakePlugin;
  beforeEach(() => {
    file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "runner-deploy-")), "state.json");
    plugin = new FakePlugin();
  });

  /** One run: register in order, finish, compact (as an update does); returns the deployment. */
  async function run(preview: boolean, regs: Registration[]): Promise<Deployment> {
    const state = StateStore.open(file, { project: "p", stack: "t", passphrase: "pw" });
    const d = new Deployment({ preview, state, providers: { forType: async () => new EngineProvider(plugin) }, policy: Promise.resolve(undefined), log: () => undefined });
    for (const r of regs) await d.register(r).catch(() => undefined);
    await d.finish().catch(() => undefined);
    if (!preview) state.compact();
    return d;
  }

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
    expect(StateStore.open(file, { project: "p", stack: "t", passphrase: "pw" }).all().map((r) => r.id)).toEqual(["a-3", "b-2"]);
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
