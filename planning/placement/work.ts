/** The mutable scratchpad a plan is built on: current homes, loads per node, moves so far. */
import { Model, cmp } from "./validate";
import { Move, MoveReason, NodeFill, Plan, PlacementNode, UserHome } from "./types";

/** The allowed band of bytes on one node: within ±tolerance of its ideal share. */
export interface Band {
  lo: number;
  hi: number;
}

export class Work {
  readonly load = new Map<string, number>();
  readonly home = new Map<string, string>();
  readonly moves: Move[] = [];
  readonly deferred: string[] = [];
  capLeft: number;

  constructor(
    readonly model: Model,
    /** Nodes that may receive users in this plan, sorted by name. */
    readonly targets: PlacementNode[],
    cap: number | undefined,
  ) {
    this.capLeft = cap ?? Infinity;
    for (const n of model.nodes) this.load.set(n.name, 0);
    for (const u of model.users) {
      this.home.set(u.user, u.node);
      this.load.set(u.node, this.load.get(u.node)! + u.bytes);
    }
  }

  /** Total bytes of every user, wherever they live now. */
  get total(): number {
    let t = 0;
    for (const b of this.load.values()) t += b;
    return t;
  }

  /** Bytes per unit of capacity every target node would hold if perfectly balanced. */
  get ideal(): number {
    const cap = this.targets.reduce((s, n) => s + n.capacity, 0);
    return cap > 0 ? this.total / cap : 0;
  }

  /**
   * Each target's band. It is widened by a billionth of the node's share: the ideal is a float,
   * and without the slack rounding noise would count as a violation that "must" move.
   */
  bands(tolerance: number): Map<string, Band> {
    const ideal = this.ideal;
    return new Map(
      this.targets.map((n) => {
        const share = ideal * n.capacity;
        return [n.name, { lo: (1 - tolerance - 1e-9) * share, hi: (1 + tolerance + 1e-9) * share }];
      }),
    );
  }

  /** True once the user has moved in this plan: nobody moves twice in one plan. */
  hasMoved(user: string): boolean {
    return this.movedSet.has(user);
  }
  private readonly movedSet = new Set<string>();

  /** Move a user unless that would break the cap; returns whether it moved. */
  move(u: UserHome, to: string, reason: MoveReason): boolean {
    if (u.bytes > this.capLeft) return false;
    const from = this.home.get(u.user)!;
    this.capLeft -= u.bytes;
    this.load.set(from, this.load.get(from)! - u.bytes);
    this.load.set(to, this.load.get(to)! + u.bytes);
    this.home.set(u.user, to);
    this.movedSet.add(u.user);
    this.moves.push({ user: u.user, from, to, bytes: u.bytes, reason });
    return true;
  }

  /** Every target within its band. */
  withinTolerance(tolerance: number): boolean {
    for (const [name, b] of this.bands(tolerance)) {
      const l = this.load.get(name)!;
      if (l < b.lo || l > b.hi) return false;
    }
    return true;
  }

  finish(minimumBytes: number, tolerance: number): Plan {
    const ideal = this.ideal;
    const isTarget = new Set(this.targets.map((n) => n.name));
    const fill: Record<string, NodeFill> = {};
    for (const n of this.model.nodes) {
      const bytes = this.load.get(n.name)!;
      const f = bytes / n.capacity;
      fill[n.name] = { bytes, capacity: n.capacity, fill: f, ratio: ideal > 0 ? f / ideal : isTarget.has(n.name) ? 1 : 0 };
    }
    const moves = [...this.moves].sort((a, b) => cmp(a.user, b.user));
    return {
      moves,
      fill,
      ideal,
      bytesMoved: moves.reduce((s, m) => s + m.bytes, 0),
      minimumBytes,
      deferred: [...this.deferred].sort(cmp),
      withinTolerance: this.withinTolerance(tolerance),
    };
  }
}
