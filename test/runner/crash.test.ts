/**
 * The runner SIGKILLed mid-apply, at several points (the fixture provider kills its parent — the
 * runner's process — just before or after a call touches a file): the state on disk always opens,
 * and the next up converges to the config with no file created twice and none lost.
 */
import * as fs from "fs";
import * as path from "path";
import { env, Env, fileResources, ops, savedState, stack, writeConfig } from "./fixture-stack";

jest.setTimeout(300_000); // three passes per kill point, each a fresh Node process

const first = { "fixture:greeting": "hello", "fixture:extraFiles": '["a.txt","b.txt"]' };
const second = { "fixture:greeting": "hello", "fixture:greetingFile": "hi.txt", "fixture:extraFiles": '["b.txt","c.txt"]' };

/** Every file of the stack's state on disk parses: the snapshot (if written yet) and each journal line. */
function expectReadableState(e: Env): void {
  if (fs.existsSync(e.state)) expect(() => JSON.parse(fs.readFileSync(e.state, "utf8"))).not.toThrow();
  const journal = `${e.state}.journal`;
  if (fs.existsSync(journal)) {
    for (const line of fs.readFileSync(journal, "utf8").split("\n").filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
  }
  expect(() => savedState(e)).not.toThrow();
}

async function killedUp(e: Env, at: string): Promise<void> {
  await expect(stack(e, "up", { env: { FIXTURE_KILL_RUNNER: at } })).rejects.toThrow(/process died \(SIGKILL\)/);
  expectReadableState(e);
}

/** One up after the kill, then a preview: converged, each file once in state and once on disk. */
async function expectConverged(e: Env, files: string[]): Promise<void> {
  const r = await stack(e, "up");
  expect(r.printed).toMatch(/warning: a previous run was interrupted while/);
  // The preview after the kill plans each resource once: an interrupted replacement is replaced
  // again, never shown as an orphan to delete beside a new one to create.
  const planned = ops(r.preview!).map((s) => s.split(" ")[1]);
  expect(new Set(planned).size).toBe(planned.length);
  expect((await stack(e, "preview")).changed).toBe(false);
  expect(fs.readdirSync(e.out).sort()).toEqual([...files].sort());
  const recorded = fileResources(e);
  expect(recorded.map((x) => path.basename(x.id)).sort()).toEqual([...files].sort());
  expect(recorded.every((x) => !x.delete && !x.pendingReplacement)).toBe(true);
  const urns = savedState(e).all().map((x) => x.urn);
  expect(new Set(urns).size).toBe(urns.length);
  expect(savedState(e).pendingOperations()).toEqual([]);
}

describe("stack runner killed during the first up", () => {
  it.each(["create:greeting.txt:before", "create:secret.txt:after", "create:b.txt:after"])("at %s", async (at) => {
    const e = env();
    writeConfig(e, first);
    await killedUp(e, at);
    await expectConverged(e, ["greeting.txt", "secret.txt", "a.txt", "b.txt"]);
  });
});

describe("stack runner killed while replacing, deleting and creating", () => {
  const e = env();
  let files: Map<string, string>;
  let state: string;
  beforeAll(async () => {
    writeConfig(e, first);
    await stack(e, "up");
    files = new Map(fs.readdirSync(e.out).map((f) => [f, fs.readFileSync(path.join(e.out, f), "utf8")]));
    state = fs.readFileSync(e.state, "utf8");
  });

  /** Back to the converged first config, as if the killed up had never run. */
  function restore(): void {
    fs.rmSync(e.out, { recursive: true });
    fs.mkdirSync(e.out);
    files.forEach((text, f) => fs.writeFileSync(path.join(e.out, f), text));
    fs.writeFileSync(e.state, state);
    fs.rmSync(`${e.state}.journal`, { force: true });
    writeConfig(e, second);
  }

  it.each([
    "create:hi.txt:after", // the new half exists, unrecorded; the old one still live
    "delete:greeting.txt:after", // the old half gone from disk, still in state awaiting deletion
    "delete:a.txt:before",
    "create:c.txt:before",
  ])("at %s", async (at) => {
    restore();
    await killedUp(e, at);
    if (at.startsWith("create:hi.txt")) expect(ops(await stack(e, "preview"))).toContain("replace greeting");
    await expectConverged(e, ["hi.txt", "secret.txt", "b.txt", "c.txt"]);
  });
});
