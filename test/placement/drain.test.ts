import fc from "fast-check";
import { ClusterState, planDrain } from "../../planning/placement";
import { active, arbCluster, pinsOf } from "./arb";

/** A state with ≥ 2 active nodes, and a node to drain that nobody is pinned to. */
const arbDrain = arbCluster({ minActive: 2 }).chain((s) =>
  fc.constantFrom(...s.nodes.map((n) => n.name)).map((node) => {
    const pins = Object.fromEntries(pinsOf(s).filter(([, n]) => n !== node));
    return { state: { ...s, pins } as ClusterState, node };
  }),
);

describe("planDrain", () => {
  it("moves exactly the drained node's users, each to an active node, once", () => {
    fc.assert(
      fc.property(arbDrain, ({ state, node }) => {
        const plan = planDrain(state, node);
        const onNode = state.placement.filter((u) => u.node === node);
        expect(plan.moves.map((m) => m.user).sort()).toEqual(onNode.map((u) => u.user).sort());
        const targets = new Set(active(state).map((n) => n.name).filter((n) => n !== node));
        for (const m of plan.moves) {
          expect(m.from).toBe(node);
          expect(targets.has(m.to)).toBe(true);
          expect(m.bytes).toBe(onNode.find((u) => u.user === m.user)!.bytes);
          expect(m.reason).toBe("drain");
        }
        const bytes = onNode.reduce((s, u) => s + u.bytes, 0);
        expect(plan.bytesMoved).toBe(bytes);
        expect(plan.minimumBytes).toBe(bytes);
        expect(plan.fill[node].bytes).toBe(0);
        expect(plan.deferred).toEqual([]);
      }),
    );
  });

  it("never exceeds the cap, and defers exactly the drained users it did not move", () => {
    fc.assert(
      fc.property(arbDrain, fc.integer({ min: 0, max: 3_000_000_000 }), ({ state, node }, cap) => {
        const plan = planDrain(state, node, { maxBytesMoved: cap });
        expect(plan.bytesMoved).toBeLessThanOrEqual(cap);
        const onNode = state.placement.filter((u) => u.node === node).map((u) => u.user);
        expect([...plan.moves.map((m) => m.user), ...plan.deferred].sort()).toEqual(onNode.sort());
      }),
    );
  });

  it("sends pinned users of the drained node to their pin", () => {
    const state: ClusterState = {
      nodes: [
        { name: "a", capacity: 100, state: "draining" },
        { name: "b", capacity: 100, state: "active" },
        { name: "c", capacity: 1000, state: "active" },
      ],
      placement: [
        { user: "alice", node: "a", bytes: 10 },
        { user: "bob", node: "a", bytes: 10 },
      ],
      pins: { alice: "b" },
    };
    const plan = planDrain(state, "a");
    expect(plan.moves).toEqual([
      { user: "alice", from: "a", to: "b", bytes: 10, reason: "drain" },
      { user: "bob", from: "a", to: "c", bytes: 10, reason: "drain" },
    ]);
  });

  it("spreads a drained node so the survivors stay even", () => {
    const placement = Array.from({ length: 300 }, (_, i) => ({ user: `u${i}`, node: ["a", "b", "c"][i % 3], bytes: 1000 + (i % 7) }));
    const nodes = ["a", "b", "c"].map((name) => ({ name, capacity: 1_000_000, state: "active" as const }));
    const plan = planDrain({ nodes, placement }, "c");
    expect(plan.fill.a.ratio).toBeGreaterThan(0.99);
    expect(plan.fill.b.ratio).toBeGreaterThan(0.99);
    expect(plan.withinTolerance).toBe(true);
  });
});
