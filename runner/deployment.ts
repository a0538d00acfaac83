/**
 * The engine's step logic, for one preview or update: each registration is checked, diffed and
 * turned into a step (same / create / update / replace) the moment it arrives, because its outputs
 * must flow back into the program; what the program no longer registers, and the old halves of
 * replacements, are deleted when the program has finished, dependents first. In a preview no
 * provider is asked to change anything (Check and Diff only); in an update every mutation is
 * journaled before it starts and recorded when it ends (./state.ts).
 *
 * Scheduling, as the engine's step generator and executor (docs/stack-runner.md, "Scheduling"): up to
 * `parallel` steps at once, each taken up in arrival order; Check, policy and Diff — deciding the
 * step — one registration at a time in that order, the provider's Create/Update/Delete side by side.
 */
import { AliasError, Aliases } from "./aliases";
import { changeLines, diffKeys, PropertyChange, propertyChanges, propertyLines, stepLine } from "./display";
import { deepEqual, markSecretKeys, PropertyMap } from "./props";
import { EngineProvider, InitError, Target } from "./providers/plugin";
import { PolicyHost, PolicyViolation } from "./providers/policy-host";
import { ProviderSource } from "./providers/registry";
import { Registration, ROOT_STACK_TYPE } from "./registration";
import { ResourceState, StateStore } from "./state";
import { defaultParallel, Pool, runGraph } from "./scheduler";
import { deletionPlan, Step } from "./steps";
import { applyIgnoreChanges, matchesReplaceOnChanges } from "./options";
import { deleteResource, protectedIn } from "./operations";

/**
 * What to show for a changed resource: its inputs' changes, or — when the inputs are unchanged and
 * the provider still sees a difference (drift found by a refresh) — old outputs against new inputs.
 */
function displayedChanges(old: ResourceState, inputs: PropertyMap): PropertyChange[] {
  const changes = propertyChanges(old.inputs, inputs);
  if (changes.length > 0) return changes;
  const outputsOfInputs = Object.fromEntries(Object.keys(inputs).map((k) => [k, old.outputs[k] ?? null]));
  return propertyChanges(outputsOfInputs, inputs);
}

export interface StepResult {
  readonly urn: string;
  readonly id: string;
  readonly outputs: PropertyMap;
}

export interface DeploymentOptions {
  readonly preview: boolean;
  /** The stack and project, for the URNs aliases name (default: those of the registrations' URNs). */
  readonly stack?: string;
  readonly project?: string;
  readonly state: StateStore;
  readonly providers: ProviderSource;
  /** Started alongside the program (loading a pack takes seconds); undefined when there is none. */
  readonly policy: Promise<PolicyHost | undefined>;
  readonly log: (line: string) => void;
  /** Steps at once (`--parallel`); default as the CLI's (./scheduler.ts). */
  readonly parallel?: number;
}

/** A step refused because an earlier one failed: not an error of its own. */
class NotApplied extends Error {}

export class Deployment {
  readonly registrations: Registration[] = [];
  readonly violations: PolicyViolation[] = [];
  readonly errors: string[] = [];
  stackOutputs: PropertyMap = {};
  private readonly results = new Map<string, ResourceState>();
  /** Old halves of this run's create-before-delete replacements. */
  private readonly replaced: ResourceState[] = [];
  /** The engine's workers: a step holds one from when it is taken up until it is done. */
  private readonly workers: Pool;
  private readonly parallel: number;
  /** The step generator: deciding steps (Check, policy, Diff), one registration at a time. */
  private readonly generator = new Pool(1);
  /** Steps not yet settled. */
  private readonly running = new Set<Promise<unknown>>();
  /** Finished steps, with their place: registrations in arrival order, then deletes in deletion order. */
  private readonly finished: { place: number; step: Step }[] = [];
  private readonly places = new Map<string, number>();
  /** URNs registered this run (the step generator's `urns`). */
  private readonly registered = new Set<string>();
  /** Live URNs in state when the run started (the engine's `Olds()`), for alias look-ups. */
  private readonly olds: Set<string>;
  private aliasesValue: Aliases | undefined;

  constructor(private readonly o: DeploymentOptions) {
    this.olds = new Set(o.state.all().filter((r) => !r.delete).map((r) => r.urn));
    this.parallel = o.parallel ?? defaultParallel();
    this.workers = new Pool(this.parallel);
  }

  /** The steps, in registration order whatever order they finished in; deletes last, in deletion order. */
  get steps(): Step[] {
    return [...this.finished].sort((a, b) => a.place - b.place).map((f) => f.step);
  }

  /** Alias resolution, for this run's stack and project (from the first URN when not given). */
  private aliases(reg: Registration): Aliases {
    if (!this.aliasesValue) {
      const [prefix, project] = reg.urn.split("::");
      this.aliasesValue = new Aliases(this.o.stack ?? prefix.slice("urn:pulumi:".length), this.o.project ?? project);
    }
    return this.aliasesValue;
  }

  /**
   * The old resource a registration continues: the one at its URN, else the first alias with an old
   * resource (./aliases.ts); `from` is set when it is taken over from another URN.
   */
  private findOld(reg: Registration): { old?: ResourceState; from?: string } {
    let urn: string | undefined;
    try {
      urn = this.aliases(reg).resolve(reg, (u) => this.olds.has(u), (u) => this.registered.has(u));
    } catch (e) {
      if (e instanceof AliasError) this.fail(`${reg.type} ${reg.name}: ${e.message}`);
      throw e;
    }
    const old = urn === undefined ? undefined : this.o.state.live(urn);
    return urn !== undefined && urn !== reg.urn ? { old, from: urn } : { old };
  }

  /**
   * A registration's step, answered when it is done. It waits for a worker, then for the step
   * generator, both in arrival order; the program registers a resource only once everything it
   * depends on is done (the SDK awaits its inputs and the URNs of its `dependsOn`), so nothing here
   * waits for dependencies — as in the engine, which trusts the program for that.
   */
  register(reg: Registration): Promise<StepResult> {
    const run = this.workers.run(async () => {
      try {
        const apply = await this.generator.run(() => this.generate(reg));
        return await apply();
      } catch (e) {
        const message = (e as Error).message;
        if (!(e instanceof NotApplied) && !this.errors.includes(message)) this.errors.push(message);
        throw e;
      }
    });
    const settled = run.catch(() => undefined);
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
    return run;
  }

  /** Resolves when no step is under way or waiting. */
  private async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /**
   * Resolves once a step has failed and every step already started has finished. The engine does the
   * same: after a failure it issues no new steps and ends the deployment without waiting for the
   * program, whose resources that depend on the failed one would otherwise wait forever.
   */
  async failedAndIdle(pollMs = 200): Promise<void> {
    for (;;) {
      // unref: this watch must never be what keeps a finished pass alive
      await new Promise((r) => setTimeout(r, pollMs).unref());
      if (this.errors.length === 0) continue;
      await this.idle();
      return;
    }
  }

  /** After a failure an update starts no further step (the engine cancels its workers' context). */
  private refuseAfterFailure(reg: { type: string; name: string }): void {
    if (this.errors.length > 0 && !this.o.preview) throw new NotApplied(`${reg.type} ${reg.name}: not applied because an earlier step failed`);
  }

  /** Component (and stack) outputs, sent when the component calls registerOutputs. */
  registerOutputs(urn: string, outputs: PropertyMap): void {
    const r = this.results.get(urn);
    if (!r) return;
    if (r.type === ROOT_STACK_TYPE) this.stackOutputs = outputs;
    const updated = { ...r, outputs };
    this.results.set(urn, updated);
    if (!this.o.preview) this.o.state.putQuiet(updated);
  }

  /** Every resource as registered this run, in registration order, with its new state (for stack policies and results). */
  resources(): ResourceState[] {
    return this.registrations.flatMap((r) => this.results.get(r.urn) ?? []);
  }

  private fail(message: string): never {
    this.errors.push(message);
    throw new Error(message);
  }

  /** The step generator's part: decide the step; what it returns applies it. */
  private async generate(reg: Registration): Promise<() => Promise<StepResult>> {
    this.refuseAfterFailure(reg);
    if (this.registered.has(reg.urn)) this.fail(`duplicate resource URN ${reg.urn}: two resources have the same type and name`);
    if (reg.importId) this.fail(`${reg.type} ${reg.name}: importing resources is not supported by the stack runner`);
    const found = this.findOld(reg);
    this.registered.add(reg.urn);
    this.places.set(reg.urn, this.places.size);
    this.registrations.push(reg);
    if (!reg.custom || reg.type.startsWith("pulumi:providers:")) {
      const done = this.plain(reg, found);
      return async () => done;
    }
    return this.custom(reg, found);
  }

  /**
   * Keep the step in its place (a registration's, or `place` for a delete); in an update, report it
   * as done, one line as it finishes (a preview prints all steps at the end).
   */
  private note(step: Step, started: number, place = this.places.get(step.urn)!): void {
    this.finished.push({ place, step: { ...step, startedAt: started, endedAt: Date.now() } });
    if (!this.o.preview && (step.op !== "same" || step.aliasOf)) this.o.log(`${stepLine(step, true)} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  }

  private record(step: Step, state: ResourceState, started: number): void {
    this.results.set(state.urn, state);
    this.note(step, started);
  }

  private newState(reg: Registration, id: string, inputs: PropertyMap, outputs: PropertyMap): ResourceState {
    return {
      urn: reg.urn,
      type: reg.type,
      name: reg.name,
      parent: reg.parent,
      custom: reg.custom,
      id,
      inputs,
      outputs: markSecretKeys(outputs, reg.additionalSecretOutputs),
      dependencies: reg.dependencies,
      propertyDependencies: reg.propertyDependencies,
      protect: reg.protect || undefined,
      retainOnDelete: reg.retainOnDelete || undefined,
    };
  }

  /** Components, the stack and explicit providers: no plugin, the engine just records them. */
  private plain(reg: Registration, { old, from }: { old?: ResourceState; from?: string }): StepResult {
    const id = reg.custom ? (old?.id ?? (this.o.preview ? "" : `${reg.name}-${Date.now().toString(36)}`)) : "";
    const state = this.newState(reg, id, reg.inputs, reg.custom ? reg.inputs : (old?.outputs ?? {}));
    const op = !old ? "create" : deepEqual(old.inputs, reg.inputs) ? "same" : "update";
    const changes = old ? propertyChanges(old.inputs, reg.inputs) : [];
    this.record({ op, type: reg.type, name: reg.name, urn: reg.urn, aliasOf: from, diffs: diffKeys(changes), detail: changeLines(changes) }, state, Date.now());
    // Taking over an old URN is journaled even when nothing else changed: the old record goes.
    if (!this.o.preview && op === "same" && !from) this.o.state.putQuiet(state);
    else if (!this.o.preview) this.o.state.put(state, undefined, from);
    return { urn: reg.urn, id, outputs: reg.custom ? reg.inputs : {} };
  }

  private async custom(reg: Registration, { old, from }: { old?: ResourceState; from?: string }): Promise<() => Promise<StepResult>> {
    const provider = await this.o.providers.forType(reg.type, reg.name);
    const t: Target = { urn: reg.urn, type: reg.type, name: reg.name };
    const news = old ? applyIgnoreChanges(reg.inputs, old.inputs, reg.ignoreChanges) : reg.inputs;
    const checked = await provider.check(t, old?.inputs ?? {}, news);
    if (checked.failures.length > 0) {
      this.fail(`${reg.type} ${reg.name}: invalid inputs:\n` + checked.failures.map((f) => `  - ${f.property}: ${f.reason}`).join("\n"));
    }
    const inputs = await this.analyze(reg, checked.inputs);
    if (!old) return () => this.create(reg, t, provider, inputs);

    const diff = await provider.diff(t, old.id, old.inputs, old.outputs, inputs, reg.ignoreChanges);
    const changed = diff.changes === "some" || (diff.changes === "unknown" && !deepEqual(old.inputs, inputs));
    const changes = changed ? displayedChanges(old, inputs) : [];
    const base = { type: reg.type, name: reg.name, urn: reg.urn, aliasOf: from, diffs: diffKeys(changes) };
    // An object that failed to initialize is updated even when nothing changed, to retry (the step
    // generator's hasInitErrors); one deleted by an unfinished delete-before-replace must be created.
    const uninitialized = (old.initErrors?.length ?? 0) > 0;
    if (!changed && !uninitialized && !old.pendingReplacement) {
      const state = this.newState(reg, old.id, inputs, old.outputs);
      this.record({ ...base, op: "same" }, state, Date.now());
      if (!this.o.preview && from) this.o.state.put(state, undefined, from);
      else if (!this.o.preview) this.o.state.putQuiet(state);
      return async () => ({ urn: reg.urn, id: old.id, outputs: state.outputs });
    }
    const replaceKeys = [...diff.replaces, ...reg.replaceOnChanges.filter((k) => matchesReplaceOnChanges(k, changes))].filter(() => changed);
    if (replaceKeys.length === 0 && !old.pendingReplacement) {
      const detail = changed ? changeLines(changes) : [`(retrying initialization: ${old.initErrors?.join("; ")})`];
      return () => this.update(reg, t, provider, old, inputs, { ...base, op: "update", detail }, from);
    }
    if (old.protect) this.fail(`${reg.type} ${reg.name} must be replaced (${replaceKeys.join(", ")}) but is protected: remove the protect option first`);
    const dbr = old.pendingReplacement || diff.deleteBeforeReplace || reg.deleteBeforeReplace;
    const step: Step = { ...base, op: "replace", replaceKeys, deleteBeforeReplace: dbr, detail: changeLines(changes, replaceKeys) };
    return () => this.replace(reg, t, provider, old, inputs, step, from);
  }

  /** Policies see the checked inputs; a remediation may rewrite them. */
  private async analyze(reg: Registration, inputs: PropertyMap): Promise<PropertyMap> {
    const policy = await this.o.policy;
    if (!policy) return inputs;
    const a = await policy.analyze({ ...reg, properties: inputs });
    a.remediatedBy.forEach((p) => this.o.log(`  policy ${p} remediated ${reg.type} ${reg.name}`));
    this.violations.push(...a.violations);
    const mandatory = a.violations.filter((v) => v.enforcementLevel === "mandatory");
    if (mandatory.length > 0 && !this.o.preview) {
      this.fail(`${reg.type} ${reg.name}: mandatory policy violation: ` + mandatory.map((v) => `${v.policyName}: ${v.message}`).join("; "));
    }
    return a.properties;
  }

  private async create(reg: Registration, t: Target, provider: EngineProvider, inputs: PropertyMap): Promise<StepResult> {
    this.refuseAfterFailure(reg);
    const step: Step = { op: "create", type: reg.type, name: reg.name, urn: reg.urn, diffs: [], detail: propertyLines("+", inputs) };
    const started = Date.now();
    if (!this.o.preview) this.o.state.begin(reg, "creating");
    const made = await this.mutate(reg, "creating", () => provider.create(t, inputs, this.o.preview), (e) => {
      this.o.state.put(this.uninitialized(reg, e.id, inputs, e), "creating");
    });
    const state = this.newState(reg, made.id, inputs, made.outputs);
    if (!this.o.preview) this.o.state.put(state, "creating");
    this.record(step, state, started);
    return { urn: reg.urn, id: made.id, outputs: state.outputs };
  }

  /** What the engine records for an object its provider made but could not initialize. */
  private uninitialized(reg: Registration, id: string, inputs: PropertyMap, e: InitError): ResourceState {
    return { ...this.newState(reg, id, inputs, e.outputs), initErrors: e.reasons.length > 0 ? e.reasons : [e.message] };
  }

  /** `from`: the old URN this resource takes over (an alias); the record moves to the new URN. */
  private async update(reg: Registration, t: Target, provider: EngineProvider, old: ResourceState, inputs: PropertyMap, step: Step, from?: string): Promise<StepResult> {
    this.refuseAfterFailure(reg);
    const started = Date.now();
    if (!this.o.preview) this.o.state.begin(reg, "updating");
    // A partial failure keeps the old inputs with the new outputs: the object exists, but was not
    // updated to those inputs (pkg/engine/update.go, pulumi/pulumi#2011).
    const outputs = await this.mutate(reg, "updating", () => provider.update(t, old.id, old.inputs, old.outputs, inputs, this.o.preview), (e) => {
      this.o.state.put(this.uninitialized(reg, old.id, old.inputs, e), "updating", from);
    });
    const state = this.newState(reg, old.id, inputs, outputs);
    if (!this.o.preview) this.o.state.put(state, "updating", from);
    this.record(step, state, started);
    return { urn: reg.urn, id: old.id, outputs: state.outputs };
  }

  private async replace(reg: Registration, t: Target, provider: EngineProvider, old: ResourceState, inputs: PropertyMap, step: Step, from?: string): Promise<StepResult> {
    this.refuseAfterFailure(reg);
    const started = Date.now();
    if (!this.o.preview) {
      // Delete-before-replace: once deleted, the old one stays in state as pending replacement until
      // the create succeeds (DeleteStep.Apply); already pending, it is not deleted again.
      if (step.deleteBeforeReplace && !old.pendingReplacement) await deleteResource(old, this.o.state, this.o.providers, provider, { replacing: true });
      this.o.state.begin(reg, "creating");
    }
    // Create-before-delete: the old one is doomed only once the new one exists (CreateStep.Apply);
    // a failed create leaves it live and unchanged.
    // An aliased old one is retired (or, already deleted, dropped) under its own URN.
    const recordNew = (s: ResourceState) => {
      if (step.deleteBeforeReplace) return this.o.state.put(s, "creating", from);
      const oldHalf = this.o.state.putReplacement(s, "creating", from);
      if (oldHalf) this.replaced.push(oldHalf); // deleted at the end of the run
    };
    const made = await this.mutate(reg, "creating", () => provider.create(t, inputs, this.o.preview), (e) => recordNew(this.uninitialized(reg, e.id, inputs, e)));
    const state = this.newState(reg, made.id, inputs, made.outputs);
    if (!this.o.preview) recordNew(state);
    this.record(step, state, started);
    return { urn: reg.urn, id: made.id, outputs: state.outputs };
  }

  /**
   * A provider call that changes a host. On failure the pending operation is closed, not left open;
   * an InitError (the object exists but did not initialize) is recorded by `partial` first.
   */
  private async mutate<T>(reg: { urn: string }, op: "creating" | "updating", f: () => Promise<T>, partial: (e: InitError) => void): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (this.o.preview) throw e;
      if (e instanceof InitError) partial(e);
      else this.o.state.abort(reg.urn, op);
      throw e;
    }
  }

  /**
   * After the program: delete what it no longer declares (and old halves of replacements), each once
   * its dependents are gone, independent ones side by side (./steps.ts deletionPlan); nothing is
   * deleted if anything failed, since then the program's intent is unknown, and after a failed delete
   * no further one starts.
   */
  async finish(): Promise<void> {
    await this.idle();
    if (this.errors.length > 0) return;
    // An old URN taken over by an alias is not deleted (in an update its record has already moved).
    const aliases = this.aliasesValue;
    const gone = this.o.state
      .all()
      .filter((r) => (r.delete && !this.replaced.includes(r)) || (!r.delete && !this.registered.has(r.urn) && !aliases?.isClaimed(r.urn)));
    const refusal = protectedIn(gone);
    if (refusal) this.fail(refusal);
    const { order, after } = deletionPlan([...gone, ...this.replaced]);
    const first = this.places.size;
    await runGraph(order, after, this.parallel, async (r, i) => {
      const started = Date.now();
      if (r.pendingReplacement) {
        // Already gone from its host: only the record goes (the engine's RemovePendingReplaceStep, not shown).
        if (!this.o.preview) this.o.state.drop(r);
        return;
      }
      if (!this.o.preview) await deleteResource(r, this.o.state, this.o.providers);
      if (this.replaced.includes(r)) {
        this.o.log(`  -  ${r.type}  ${r.name}  deleted original (${((Date.now() - started) / 1000).toFixed(1)}s)`);
      } else {
        this.note({ op: "delete", type: r.type, name: r.name, urn: r.urn, diffs: [], detail: propertyLines("-", r.inputs) }, started, first + i);
      }
    });
    const policy = await this.o.policy;
    if (policy) {
      const resources = this.resources().map((r) => ({ ...r, properties: r.outputs }));
      this.violations.push(...(await policy.analyzeStack(resources)));
    }
  }
}
