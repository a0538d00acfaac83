/**
 * Scheduling, as the engine's step executor does it (pkg/resource/deploy/step_executor.go): a step
 * starts when its registration arrives, up to `parallel` at once; after a failure nothing new starts
 * and the running steps finish; deletes run dependents first, independent ones side by side; refresh
 * reads side by side. Proven by the order of recorded events (each provider call's start and end),
 * never by timing: the fake plugin holds a call open until the test lets it go.
 */
import * as fs from "fs";
import * as path from "path";
import { Deployment } from "../../runner/deployment";
import { destroyStack, refreshStack } from "../../runner/operations";
import { EngineProvider } from "../../runner/providers/plugin";
import { runGraph } from "../../runner/scheduler";
import { StateStore } from "../../runner/state";
import { FakePlugin, freshStateFile, newDeployment, openState, reg, runDeployment, urn } from "./fake-engine";
import { env, Env, ops, stack, writeConfig } from "./fixture-stack";

/** Lets the event loop run until `cond` holds (no clock involved; fails if it never does). */
async function until(cond: () => boolean, what = "the condition"): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  if (!cond()) throw new Error(`never happened: ${what}`);
}

/** Holds the plugin's calls matching `held` open until released by name ("create a"). */
function hold(plugin: FakePlugin, held: RegExp): { release(call: string): void } {
  const gates = new Map<string, () => void>();
  const opened = new Set<string>();
  plugin.during = (call) => (held.test(call) && !opened.has(call) ? new Promise<void>((r) => gates.set(call, r)) : Promise.resolve());
  return {
    release(call) {
      opened.add(call);
      gates.get(call)?.();
    },
  };
}

/** Pairs of calls that were under way at the same moment ("earlier | later"). */
function overlaps(events: readonly string[], only = /./): string[] {
  const open = new Set<string>();
  const seen: string[] = [];
  for (const e of events) {
    const [kind, ...rest] = e.split(" ");
    const call = rest.join(" ");
    if (!only.test(call)) continue;
    if (kind === "end") open.delete(call);
    else {
      open.forEach((o) => seen.push(`${o} | ${call}`));
      open.add(call);
    }
  }
  return seen;
}

/** Every journal line parses and the sequence numbers follow one another: one writer, one line at a time. */
function expectWholeJournal(file: string): void {
  const seqs = fs.readFileSync(`${file}.journal`, "utf8").split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { seq: number }).seq);
  expect(seqs.length).toBeGreaterThan(0);
  seqs.forEach((s, i) => i > 0 && expect(s).toBe(seqs[i - 1] + 1));
}

const providers = (plugin: FakePlugin) => ({ forType: async () => new EngineProvider(plugin) });

describe("scheduling: registrations", () => {
  let file: string;
  let plugin: FakePlugin;
  let state: StateStore;
  beforeEach(() => {
    file = freshStateFile();
    plugin = new FakePlugin();
    state = openState(file);
  });

  it("a step starts when its registration arrives: independent creates overlap, at most `parallel` at once", async () => {
    const gate = hold(plugin, /^create/);
    const d = newDeployment(state, plugin, false, 2);
    const done = ["a", "b", "c"].map((n) => d.register(reg(n, { size: 1 })));
    await until(() => plugin.events.includes("start create b"));
    expect(plugin.calls).not.toContain("check c"); // c waits for a worker, not even checked
    // Check runs one registration at a time, in arrival order (the step generator)
    expect(plugin.events.indexOf("end check a")).toBeLessThan(plugin.events.indexOf("start check b"));
    gate.release("create a");
    await until(() => plugin.events.includes("start create c"));
    expect(plugin.events.indexOf("end create a")).toBeLessThan(plugin.events.indexOf("start check c"));
    gate.release("create b");
    gate.release("create c");
    await Promise.all(done);
    expect(overlaps(plugin.events, /^create/)).toEqual(["create a | create b", "create b | create c"]);
    expectWholeJournal(file);
  });

  it("--parallel 1: one step at a time in arrival order, the order of earlier runners", async () => {
    const d = newDeployment(state, plugin, false, 1);
    await Promise.all(["a", "b", "c"].map((n) => d.register(reg(n, { size: 1 }))));
    expect(plugin.calls).toEqual(["check a", "create a", "check b", "create b", "check c", "create c"]);
    expect(overlaps(plugin.events)).toEqual([]);
  });

  it("steps are listed in registration order whatever order they finish in; the log has one line per finished step, as it finishes", async () => {
    const gate = hold(plugin, /^create/);
    const log: string[] = [];
    const d = new Deployment({ preview: false, state, providers: providers(plugin), policy: Promise.resolve(undefined), log: (l) => log.push(l), parallel: 4 });
    const done = ["a", "b"].map((n) => d.register(reg(n, { size: 1 })));
    await until(() => plugin.events.includes("start create b"));
    gate.release("create b");
    await done[1];
    gate.release("create a");
    await done[0];
    expect(plugin.events.indexOf("end create b")).toBeLessThan(plugin.events.indexOf("end create a"));
    expect(d.steps.map((s) => `${s.op} ${s.name}`)).toEqual(["create a", "create b"]);
    expect(log.map((l) => l.replace(/ \(\d+\.\ds\)$/, ""))).toEqual(["  +  test:index:Thing  b  created", "  +  test:index:Thing  a  created"]);
  });

  it("a failure with steps in flight: they finish and are recorded, nothing new starts; the next up converges", async () => {
    const gate = hold(plugin, /^create/);
    plugin.failures.set("create a", "fail");
    const d = newDeployment(state, plugin, false, 2);
    const regs = ["a", "b", "c", "d"].map((n) => reg(n, { size: 1 }));
    const done = regs.map((r) => d.register(r));
    await until(() => plugin.events.includes("start create b"));
    gate.release("create a"); // fails while b is still under way
    await expect(done[0]).rejects.toThrow(/create a: connect ECONNREFUSED/);
    gate.release("create b");
    const settled = await Promise.allSettled(done);
    expect(settled.map((s) => s.status)).toEqual(["rejected", "fulfilled", "rejected", "rejected"]);
    expect((settled[2] as PromiseRejectedResult).reason.message).toBe("test:index:Thing c: not applied because an earlier step failed");
    expect(plugin.calls.sort()).toEqual(["check a", "check b", "create a", "create b"]); // c and d never started
    expect(d.errors).toEqual(["create a: connect ECONNREFUSED"]);
    expectWholeJournal(file);
    expect(openState(file).all().map((r) => r.name)).toEqual(["b"]);
    expect(openState(file).pendingOperations()).toEqual([]);
    await d.finish(); // deletes nothing after a failure
    state.compact();

    plugin.during = async () => undefined;
    plugin.calls = [];
    const next = await runDeployment(file, plugin, false, regs);
    expect(next.steps.map((s) => `${s.op} ${s.name}`)).toEqual(["create a", "same b", "create c", "create d"]);
    expect((await runDeployment(file, plugin, true, regs)).steps.every((s) => s.op === "same")).toBe(true);
  });

  it("a failure in preview does not stop the other steps (the preview reports every error)", async () => {
    const d = await runDeployment(file, plugin, true, [reg("bad", { size: -1 }), reg("good", { size: 1 }), reg("worse", { size: -1 })]);
    expect(d.errors).toHaveLength(2);
    expect(d.steps.map((s) => `${s.op} ${s.name}`)).toEqual(["create good"]);
  });

  it("deletes at the end: each after its dependents, independent ones side by side", async () => {
    await runDeployment(file, plugin, false, [reg("host", {}), reg("file", {}, { dependencies: [urn("host")] }), reg("other", {})]);
    const gate = hold(plugin, /^delete/);
    const d = newDeployment(openState(file), plugin, false, 4);
    const finished = d.finish();
    await until(() => plugin.events.includes("start delete file") && plugin.events.includes("start delete other"));
    expect(plugin.events).not.toContain("start delete host"); // it waits for its dependent
    gate.release("delete file");
    await until(() => plugin.events.includes("start delete host"));
    gate.release("delete other");
    gate.release("delete host");
    await finished;
    expect(plugin.events.indexOf("end delete file")).toBeLessThan(plugin.events.indexOf("start delete host"));
    expect(overlaps(plugin.events)).toEqual(["delete other | delete file", "delete other | delete host"]);
    expect(d.steps.map((s) => s.name)).toEqual(["other", "file", "host"]); // deletion order, not finishing order
  });

  it("after a failed delete no further delete starts; those under way finish", async () => {
    await runDeployment(file, plugin, false, [reg("host", {}), reg("file", {}, { dependencies: [urn("host")] }), reg("other", {})]);
    const gate = hold(plugin, /^delete/);
    plugin.failures.set("delete file", "fail");
    const d = newDeployment(openState(file), plugin, false, 4);
    const finished = d.finish();
    await until(() => plugin.events.includes("start delete file") && plugin.events.includes("start delete other"));
    gate.release("delete file");
    await until(() => plugin.events.includes("end delete file"));
    gate.release("delete other");
    await expect(finished).rejects.toThrow(/delete file: connect ECONNREFUSED/);
    expect(plugin.events).toContain("end delete other");
    expect(plugin.events).not.toContain("start delete host");
    expect(openState(file).all().map((r) => r.name)).toEqual(["host", "file"]);
  });
});

describe("scheduling: refresh and destroy", () => {
  let file: string;
  let plugin: FakePlugin;
  beforeEach(async () => {
    file = freshStateFile();
    plugin = new FakePlugin();
    await runDeployment(file, plugin, false, [reg("host", {}), reg("file", {}, { dependencies: [urn("host")] }), reg("other", {})]);
    plugin.events = [];
  });

  it("refresh reads side by side, at most `parallel` at once, whatever depends on what", async () => {
    const gate = hold(plugin, /^read/);
    const refreshed = refreshStack(openState(file), providers(plugin), () => undefined, 2);
    await until(() => plugin.events.length === 2);
    expect(plugin.events).toEqual(["start read host", "start read file"]); // other waits for a worker
    gate.release("read file");
    await until(() => plugin.events.includes("start read other"));
    gate.release("read host");
    gate.release("read other");
    expect((await refreshed).map((s) => `${s.op} ${s.name}`)).toEqual(["read host", "read file", "read other"]);
  });

  it("refresh with --parallel 1 reads one at a time, in dependency order", async () => {
    await refreshStack(openState(file), providers(plugin), () => undefined, 1);
    expect(plugin.events).toEqual(["start read host", "end read host", "start read file", "end read file", "start read other", "end read other"]);
  });

  it("destroy deletes dependents first, independent ones side by side; with --parallel 1 in the order of earlier runners", async () => {
    const gate = hold(plugin, /^delete/);
    const destroyed = destroyStack(openState(file), providers(plugin), () => undefined, 4);
    await until(() => plugin.events.includes("start delete file") && plugin.events.includes("start delete other"));
    expect(plugin.events).not.toContain("start delete host");
    gate.release("delete file");
    await until(() => plugin.events.includes("start delete host"));
    gate.release("delete host");
    gate.release("delete other");
    expect((await destroyed).map((s) => s.name)).toEqual(["other", "file", "host"]);
    expect(overlaps(plugin.events)).toEqual(["delete other | delete file", "delete other | delete host"]);
    expect(openState(file).all()).toEqual([]);

    const again = freshStateFile();
    plugin.during = async () => undefined;
    await runDeployment(again, plugin, false, [reg("host", {}), reg("file", {}, { dependencies: [urn("host")] }), reg("other", {})]);
    plugin.events = [];
    await destroyStack(openState(again), providers(plugin), () => undefined, 1);
    expect(plugin.events).toEqual(["start delete other", "end delete other", "start delete file", "end delete file", "start delete host", "end delete host"]);
  });
});

describe("runGraph", () => {
  it("with one at a time, runs in list order when that order respects `after`; a cycle still runs every item", async () => {
    const ran: number[] = [];
    await runGraph([0, 1, 2, 3], [[], [0], [], [1]], 1, async (x) => void ran.push(x));
    expect(ran).toEqual([0, 1, 2, 3]);
    const cyclic: number[] = [];
    await runGraph([0, 1, 2], [[1], [0], []], 2, async (x) => void cyclic.push(x));
    expect(cyclic.sort()).toEqual([0, 1, 2]);
  });
});

/**
 * The same through the SDK and the real dynamic-provider host (runner/fixture-program): the trace
 * hook records each file's create and delete as they start and end; FIXTURE_MEET makes the calls on
 * a.txt and b.txt wait (at most 2 s) for each other, so they are seen side by side when they may be.
 */
describe("scheduling: the fixture program end to end", () => {
  jest.setTimeout(120_000);
  const trace = (e: Env, name: string) => path.join(e.dir, name);
  const events = (file: string) => fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
  const config = { "fixture:greeting": "hello", "fixture:extraFiles": '["a.txt","b.txt"]' };

  it("up: independent files side by side, the secret only once the greeting (dependsOn) is written; destroy: dependents first, independent ones side by side", async () => {
    const e = env();
    writeConfig(e, config);
    const up = trace(e, "up.trace");
    await stack(e, "up", { env: { FIXTURE_TRACE: up, FIXTURE_MEET: "create:a.txt,b.txt" } });
    expect(overlaps(events(up))).toContain("create a.txt | create b.txt");
    expect(events(up).indexOf("end create greeting.txt")).toBeLessThan(events(up).indexOf("start create secret.txt"));
    expect(fs.readdirSync(e.out).sort()).toEqual(["a.txt", "b.txt", "greeting.txt", "secret.txt"]);

    const down = trace(e, "destroy.trace");
    const r = await stack(e, "destroy", { env: { FIXTURE_TRACE: down, FIXTURE_MEET: "delete:a.txt,b.txt" } });
    expect(overlaps(events(down))).toContain("delete a.txt | delete b.txt");
    expect(events(down).indexOf("end delete secret.txt")).toBeLessThan(events(down).indexOf("start delete greeting.txt"));
    expect(r.steps.map((s) => s.name).slice(-1)).toEqual(["fixture-test"]);
    expect(fs.readdirSync(e.out)).toEqual([]);
  });

  it("--parallel 1: no two provider calls at once, the same resources and outputs", async () => {
    const e = env();
    writeConfig(e, config);
    const up = trace(e, "up.trace");
    const r = await stack(e, "up", { parallel: 1, env: { FIXTURE_TRACE: up, FIXTURE_MEET: "create:a.txt,b.txt" } });
    expect(overlaps(events(up))).toEqual([]);
    expect(events(up).filter((l) => l.startsWith("start"))).toHaveLength(4);
    expect(ops(r).sort()).toEqual(["create db-password", "create extras", "create extras-a.txt", "create extras-b.txt", "create fixture-test", "create greeting", "create secret"]);
    expect(r.outputs).toMatchObject({ greetingSize: 5, secretSize: 24 });
  });
});
