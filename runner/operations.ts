/**
 * The operations that do not evaluate the program: deleting one resource (shared with updates),
 * `refresh` (Read every resource, record drift) and `destroy` (delete everything, dependents first).
 * Both run up to `parallel` provider calls at once (./scheduler.ts); after a failure no further one
 * starts, the running ones finish, and the operation fails.
 */
import { changeLines, diffKeys, propertyChanges, propertyLines, stepLine } from "./display";
import { EngineProvider } from "./providers/plugin";
import { ProviderSource } from "./providers/registry";
import { ResourceState, StateStore } from "./state";
import { runGraph } from "./scheduler";
import { deletionPlan, dependencyOrder, Step } from "./steps";

/** Custom resources a plugin manages (explicit provider resources are only records). */
export function hasPlugin(r: ResourceState): boolean {
  return r.custom && !r.type.startsWith("pulumi:providers:");
}

/**
 * Delete one resource through its plugin (unless retained, or already deleted by an unfinished
 * delete-before-replace) and drop it from state, journaled. A failed delete leaves the resource in
 * state exactly as it was. `replacing`: the first half of a delete-before-replace — the resource stays
 * in state as pending replacement until its new self is created.
 */
export async function deleteResource(r: ResourceState, state: StateStore, providers: ProviderSource, provider?: EngineProvider, opts: { replacing?: boolean } = {}): Promise<void> {
  if (hasPlugin(r) && !r.retainOnDelete && !r.pendingReplacement) {
    const p = provider ?? (await providers.forType(r.type, r.name));
    state.begin(r, "deleting");
    try {
      await p.delete({ urn: r.urn, type: r.type, name: r.name }, r.id, r.inputs, r.outputs);
    } catch (e) {
      state.abort(r.urn, "deleting");
      throw e;
    }
  }
  if (opts.replacing) state.put({ ...r, pendingReplacement: true }, "deleting");
  else state.drop(r, "deleting");
}

function seconds(started: number): string {
  return `(${((Date.now() - started) / 1000).toFixed(1)}s)`;
}

export function protectedIn(resources: readonly ResourceState[]): string | undefined {
  const p = resources.filter((r) => r.protect && !r.delete);
  return p.length > 0 ? `cannot delete protected resource${p.length > 1 ? "s" : ""} ${p.map((r) => r.urn).join(", ")}: remove the protect option first` : undefined;
}

/**
 * Delete every resource in state, each once its dependents are gone, independent ones side by side.
 * The steps come back in deletion order, whatever order they finished in.
 */
export async function destroyStack(state: StateStore, providers: ProviderSource, log: (l: string) => void, parallel: number): Promise<Step[]> {
  const all = state.all();
  const refusal = protectedIn(all);
  if (refusal) throw new Error(refusal);
  const { order, after } = deletionPlan(all);
  const steps: Step[] = [];
  await runGraph(order, after, parallel, async (r, i) => {
    const started = Date.now();
    await deleteResource(r, state, providers);
    const step: Step = { op: "delete", type: r.type, name: r.name, urn: r.urn, diffs: [], detail: propertyLines("-", r.inputs), startedAt: started, endedAt: Date.now() };
    steps[i] = step;
    log(`${stepLine(step, true)} ${seconds(started)}`);
  });
  return steps;
}

/**
 * Read every managed resource, side by side (the engine refreshes all at once, none waiting for
 * another); record and print what drifted; forget what no longer exists. The steps come back in
 * dependency order, whatever order they finished in.
 */
export async function refreshStack(state: StateStore, providers: ProviderSource, log: (l: string) => void, parallel: number): Promise<Step[]> {
  // pendingReplacement: nothing on the host to read
  const managed = dependencyOrder(state.all()).filter((r) => hasPlugin(r) && !r.delete && !r.pendingReplacement);
  const steps: Step[] = [];
  await runGraph(managed, [], parallel, async (r, i) => {
    const started = Date.now();
    const provider = await providers.forType(r.type, r.name);
    const got = await provider.read({ urn: r.urn, type: r.type, name: r.name }, r.id, r.inputs, r.outputs);
    const base = { type: r.type, name: r.name, urn: r.urn, startedAt: started, endedAt: Date.now() };
    if (!got.id) {
      state.drop(r);
      steps[i] = { ...base, op: "delete", diffs: [] };
      log(`  -  ${r.type}  ${r.name}  deleted (it no longer exists)`);
      return;
    }
    const changes = propertyChanges(r.outputs, got.outputs);
    const refreshed: ResourceState = { ...r, id: got.id, outputs: got.outputs, inputs: got.inputs ?? r.inputs };
    if (changes.length > 0 || got.id !== r.id) state.put(refreshed);
    else state.putQuiet(refreshed);
    const step: Step = { ...base, op: "read", diffs: diffKeys(changes), detail: changeLines(changes) };
    steps[i] = step;
    // one step's lines together: nothing else is printed between them
    if (changes.length > 0) [stepLine(step), ...(step.detail ?? []).map((l) => "        " + l)].forEach(log);
  });
  return steps;
}
