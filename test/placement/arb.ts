/** fast-check generators of cluster states for the placement property tests. */
import fc from "fast-check";
import { ClusterState, NodeState, PlacementNode, Plan, UserHome } from "../../planning/placement";

export const NAMES = ["nl1", "de1", "is1", "ch1", "se1", "fr1", "constructor"];

/** Mostly small users with a heavy tail, and some empty accounts. */
export const arbBytes = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 1_000_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 1_000_000, max: 50_000_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 50_000_000, max: 2_000_000_000 }) },
  { weight: 1, arbitrary: fc.constant(0) },
);

export const arbUserId = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,12}$/);

export interface ArbOpts {
  /** Minimum number of active nodes. */
  minActive?: number;
  /** Generate pins (to active nodes only, so the state is valid). */
  pins?: boolean;
  /** Allow draining/revoked nodes. */
  inactive?: boolean;
  maxUsers?: number;
  bytes?: fc.Arbitrary<number>;
}

/** A valid cluster state. */
export function arbCluster(opts: ArbOpts = {}): fc.Arbitrary<ClusterState> {
  const minActive = opts.minActive ?? 1;
  const states: NodeState[] = opts.inactive === false ? ["active"] : ["active", "active", "active", "draining", "revoked"];
  const arbNodes = fc
    .uniqueArray(
      fc.record({
        name: fc.constantFrom(...NAMES),
        capacity: fc.integer({ min: 1_000_000_000, max: 50_000_000_000 }),
        state: fc.constantFrom(...states),
      }),
      { selector: (n) => n.name, minLength: minActive, maxLength: NAMES.length },
    )
    .map((nodes) => nodes.map((n, i) => (i < minActive ? { ...n, state: "active" as NodeState } : n)));
  return arbNodes.chain((nodes) => {
    const active = nodes.filter((n) => n.state === "active").map((n) => n.name);
    const arbUsers = fc.uniqueArray(
      fc.record({ user: arbUserId, node: fc.constantFrom(...nodes.map((n) => n.name)), bytes: opts.bytes ?? arbBytes }),
      { selector: (u) => u.user, maxLength: opts.maxUsers ?? 120 },
    );
    return arbUsers.chain((placement) => {
      const pinnable = [...placement.map((u) => u.user), "newcomer"];
      const arbPins =
        opts.pins === false || active.length === 0
          ? fc.constant({})
          : fc.dictionary(fc.constantFrom(...pinnable), fc.constantFrom(...active), { maxKeys: 8, noNullPrototype: true });
      return arbPins.map((pins) => ({ nodes, placement, pins }) as ClusterState);
    });
  });
}

/** The same state with its arrays shuffled and its pins inserted in another order. */
export function shuffled(state: ClusterState, seed: number): ClusterState {
  const perm = <T>(xs: readonly T[]) =>
    xs
      .map((x, i) => ({ x, k: ((i + 1) * 2654435761 + seed) % 4294967291 }))
      .sort((a, b) => a.k - b.k)
      .map((e) => e.x);
  return {
    nodes: perm(state.nodes),
    placement: perm(state.placement),
    pins: Object.fromEntries(perm(Object.entries(state.pins ?? {}))),
  };
}

/** The state after carrying out a plan. */
export function applyPlan(state: ClusterState, plan: Plan): ClusterState {
  const to = new Map(plan.moves.map((m) => [m.user, m.to]));
  return { ...state, placement: state.placement.map((u) => ({ ...u, node: to.get(u.user) ?? u.node })) };
}

export const active = (s: ClusterState): PlacementNode[] => s.nodes.filter((n) => n.state === "active");
export const homeOf = (s: ClusterState, user: string): UserHome | undefined => s.placement.find((u) => u.user === user);
export const pinsOf = (s: ClusterState): [string, string][] => Object.entries(s.pins ?? {});
