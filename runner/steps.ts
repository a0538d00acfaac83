/**
 * Steps and the order they run in. A registration's step starts when it arrives (the program
 * registers a resource only once every resource it depends on is done, so that respects
 * dependencies); deletes — removed resources and the old halves of replacements — run after them,
 * each once its dependents are gone, as the engine does (./scheduler.ts says how many at once).
 */
export type StepOp = "create" | "update" | "replace" | "delete" | "same" | "read";

export interface Step {
  readonly op: StepOp;
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  /** The old URN this resource took over through an alias (renamed, re-parented or re-typed). */
  readonly aliasOf?: string;
  /** Changed top-level properties, e.g. "~hostname", "+port", "-legacy". */
  readonly diffs: string[];
  /** Properties that force the replacement (replace steps only). */
  readonly replaceKeys?: string[];
  /** Per-property lines as `pulumi preview --diff` prints them. */
  readonly detail?: string[];
  /** The replacement deletes the old resource before creating the new one. */
  readonly deleteBeforeReplace?: boolean;
  /** Wall clock (epoch ms) when the provider call started and when the step was done. */
  readonly startedAt?: number;
  readonly endedAt?: number;
}

export interface GraphNode {
  readonly urn: string;
  readonly parent: string;
  readonly dependencies: readonly string[];
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
}

function prerequisites(n: GraphNode): Set<string> {
  const deps = new Set<string>(n.dependencies);
  if (n.parent) deps.add(n.parent);
  for (const urns of Object.values(n.propertyDependencies)) urns.forEach((u) => deps.add(u));
  deps.delete(n.urn);
  return deps;
}

/** For each node, the indices of the others it must come after (as given; same-URN entries alike). */
export function prerequisiteIndices<T extends GraphNode>(nodes: readonly T[]): number[][] {
  const byUrn = new Map<string, number[]>();
  nodes.forEach((n, i) => byUrn.set(n.urn, [...(byUrn.get(n.urn) ?? []), i]));
  return nodes.map((n, i) => [...prerequisites(n)].flatMap((urn) => byUrn.get(urn) ?? []).filter((j) => j !== i));
}

/**
 * Order nodes so each comes after everything it depends on (its parent, dependencies and property
 * dependencies); ties keep the given order. A cycle cannot come from a real program; if state
 * held one, the remaining nodes keep their given order rather than being dropped.
 */
export function dependencyOrder<T extends GraphNode>(nodes: readonly T[]): T[] {
  const waitingOn = nodes.map(() => 0);
  const dependents: number[][] = nodes.map(() => []);
  prerequisiteIndices(nodes).forEach((pre, i) =>
    pre.forEach((j) => {
      waitingOn[i]++;
      dependents[j].push(i);
    }),
  );
  // Kahn's algorithm; the ready set is a min-heap of indices so ties keep the given order.
  const ready = new MinHeap();
  waitingOn.forEach((w, i) => w === 0 && ready.push(i));
  const done = new Set<number>();
  const order: T[] = [];
  for (let i = ready.pop(); i !== undefined; i = ready.pop()) {
    done.add(i);
    order.push(nodes[i]);
    for (const d of dependents[i]) if (--waitingOn[d] === 0) ready.push(d);
  }
  nodes.forEach((n, i) => done.has(i) || order.push(n));
  return order;
}

class MinHeap {
  private readonly items: number[] = [];

  push(x: number): void {
    const a = this.items;
    a.push(x);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p] <= a[i]) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }

  pop(): number | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l] < a[m]) m = l;
        if (r < a.length && a[r] < a[m]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

/** Deletion order: dependents before what they depend on. */
export function deletionOrder<T extends GraphNode>(nodes: readonly T[]): T[] {
  return dependencyOrder(nodes).reverse();
}

/**
 * The deletes to run (./scheduler.ts runGraph): in deletion order, each after its dependents (indices
 * in that order). Independent ones may run side by side; one at a time, they run in deletion order.
 */
export function deletionPlan<T extends GraphNode>(nodes: readonly T[]): { order: T[]; after: number[][] } {
  const order = deletionOrder(nodes);
  const after: number[][] = order.map(() => []);
  prerequisiteIndices(order).forEach((pre, i) => pre.forEach((j) => after[j].push(i)));
  return { order, after };
}

export interface StepCounts {
  create: number;
  update: number;
  replace: number;
  delete: number;
  same: number;
  read: number;
}

export function countSteps(steps: readonly Step[]): StepCounts {
  const c: StepCounts = { create: 0, update: 0, replace: 0, delete: 0, same: 0, read: 0 };
  for (const s of steps) c[s.op]++;
  return c;
}

/** True when the steps would change anything (reads report drift, not changes). */
export function hasChanges(steps: readonly Step[]): boolean {
  return steps.some((s) => s.op !== "same" && s.op !== "read");
}
