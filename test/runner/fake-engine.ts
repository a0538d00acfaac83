/**
 * A fake resource plugin and a one-call deployment driver for the engine-step tests: no processes,
 * every provider call recorded, and any call can be made to fail — plainly (nothing happened on the
 * host) or partially (the object exists but did not initialize: the engine's InitError). `events`
 * records when each call starts and ends, and `during` can hold a call open, so tests can prove
 * what overlapped and what waited without timing anything.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Deployment } from "../../runner/deployment";
import { PropertyMap } from "../../runner/props";
import { CheckResult, DiffResult, EngineProvider, InitError, ReadResult, ResourcePlugin, Target } from "../../runner/providers/plugin";
import { Registration } from "../../runner/registration";
import { StateStore } from "../../runner/state";

export type Failure = "fail" | "partial";

/** A plugin that records every call; `size` updates in place, `zone` forces replacement. */
export class FakePlugin implements ResourcePlugin {
  readonly acceptSecrets = false;
  calls: string[] = [];
  /** "start create a" / "end create a", in the order they happened (every call). */
  events: string[] = [];
  /** Awaited inside every call, between its start and its end (default: nothing). */
  during: (call: string) => Promise<void> = async () => undefined;
  /** "create a" → how that call fails (once). */
  readonly failures = new Map<string, Failure>();
  private next = 1;

  private async span<T>(call: string, f: () => T): Promise<T> {
    this.events.push(`start ${call}`);
    try {
      await this.during(call);
      return f();
    } finally {
      this.events.push(`end ${call}`);
    }
  }

  private failIf(call: string, id: string, outputs: PropertyMap): void {
    const how = this.failures.get(call);
    if (!how) return;
    this.failures.delete(call);
    if (how === "partial") throw new InitError(`${call}: created but failed to initialize`, id, outputs, ["service did not start"]);
    throw new Error(`${call}: connect ECONNREFUSED`);
  }

  async check(t: Target, _o: PropertyMap, news: PropertyMap): Promise<CheckResult> {
    this.calls.push(`check ${t.name}`);
    return this.span(`check ${t.name}`, () => ({ inputs: news, failures: news.size === -1 ? [{ property: "size", reason: "must be positive" }] : [] }));
  }
  async diff(t: Target, _id: string, olds: PropertyMap, _oo: PropertyMap, news: PropertyMap): Promise<DiffResult> {
    this.calls.push(`diff ${t.name}`);
    const changed = JSON.stringify(olds) !== JSON.stringify(news);
    return this.span(`diff ${t.name}`, () => ({ changes: changed ? "some" : "none", replaces: olds.zone !== news.zone ? ["zone"] : [], deleteBeforeReplace: news.dbr === true }));
  }
  async create(t: Target, inputs: PropertyMap) {
    this.calls.push(`create ${t.name}`);
    const id = `${t.name}-${this.next++}`;
    return this.span(`create ${t.name}`, () => {
      this.failIf(`create ${t.name}`, id, { ...inputs, made: "partly" });
      return { id, outputs: { ...inputs, made: true } };
    });
  }
  async read(t: Target, id: string, _i: PropertyMap, outputs: PropertyMap): Promise<ReadResult> {
    return this.span(`read ${t.name}`, () => ({ id, outputs }));
  }
  async update(t: Target, id: string, _oi: PropertyMap, _oo: PropertyMap, news: PropertyMap) {
    this.calls.push(`update ${t.name}`);
    return this.span(`update ${t.name}`, () => {
      this.failIf(`update ${t.name}`, id, { ...news, made: "partly" });
      return { ...news, made: true };
    });
  }
  async delete(t: Target, id: string) {
    this.calls.push(`delete ${t.name}`);
    return this.span(`delete ${t.name}`, () => this.failIf(`delete ${t.name}`, id, {}));
  }
}

export function reg(name: string, inputs: PropertyMap, extra: Partial<Registration> = {}): Registration {
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
    aliases: [],
    ...extra,
  };
}

export const urn = (name: string) => reg(name, {}).urn;

export function freshStateFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "runner-deploy-")), "state.json");
}

export const openState = (file: string) => StateStore.open(file, { project: "p", stack: "t", passphrase: "pw" });

/** A deployment on the state in `file` with `plugin` for every type (`parallel`: the CLI's default). */
export function newDeployment(state: StateStore, plugin: ResourcePlugin, preview: boolean, parallel?: number): Deployment {
  return new Deployment({ preview, state, providers: { forType: async () => new EngineProvider(plugin) }, policy: Promise.resolve(undefined), log: () => undefined, parallel });
}

/** One run: register in order, each once the one before is done, finish, compact (as an update does); returns the deployment. */
export async function runDeployment(file: string, plugin: ResourcePlugin, preview: boolean, regs: Registration[], parallel?: number): Promise<Deployment> {
  const state = openState(file);
  const d = newDeployment(state, plugin, preview, parallel);
  for (const r of regs) await d.register(r).catch(() => undefined);
  await d.finish().catch((e: Error) => d.errors.push(e.message)); // as the pass does
  if (!preview) state.compact();
  return d;
}
