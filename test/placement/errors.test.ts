import {
  ClusterState,
  PlacementInputError,
  planAddNode,
  planDrain,
  planRebalance,
  suggestHome,
  suggestHomes,
} from "../../planning/placement";

const good: ClusterState = {
  nodes: [
    { name: "nl1", capacity: 1000, state: "active" },
    { name: "de1", capacity: 1000, state: "active" },
    { name: "is1", capacity: 1000, state: "draining" },
    { name: "ch1", capacity: 1000, state: "revoked" },
  ],
  placement: [
    { user: "alice", node: "nl1", bytes: 10 },
    { user: "bob", node: "is1", bytes: 20 },
  ],
  pins: {},
};

/** Run f, expect exactly one PlacementInputError, and return its problems. */
function problems(f: () => unknown): readonly string[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PlacementInputError);
    expect((e as Error).message).toMatch(/^invalid placement input \(\d+ problems?\):/);
    return (e as PlacementInputError).problems;
  }
  throw new Error("expected a PlacementInputError");
}

const rebalance = (s: ClusterState) => () => planRebalance(s, { tolerance: 0.03 });
const withUser = (u: unknown) => ({ ...good, placement: [...good.placement, u] }) as ClusterState;
const withNode = (n: unknown) => ({ ...good, nodes: [...good.nodes, n] }) as ClusterState;

describe("invalid input", () => {
  it("accepts the good state", () => {
    expect(planRebalance(good, { tolerance: 0.03 }).moves.map((m) => m.user)).toEqual(["bob"]);
  });

  it.each([
    ["unknown home node", withUser({ user: "carol", node: "xx1", bytes: 1 }), /user "carol": home node "xx1" is not a known node/],
    ["negative size", withUser({ user: "carol", node: "nl1", bytes: -5 }), /user "carol": bytes must be a non-negative whole number, got -5/],
    ["fractional size", withUser({ user: "carol", node: "nl1", bytes: 1.5 }), /got 1.5/],
    ["missing size", withUser({ user: "carol", node: "nl1" }), /got undefined/],
    ["duplicate user", withUser({ user: "alice", node: "de1", bytes: 1 }), /user "alice" is placed more than once/],
    ["shell metacharacters in a user id", withUser({ user: "a;rm -rf", node: "nl1", bytes: 1 }), /user id "a;rm -rf" must match/],
    ["whitespace in a user id", withUser({ user: "a b", node: "nl1", bytes: 1 }), /user id "a b" must match/],
    ["control character in a user id", withUser({ user: "a\nb", node: "nl1", bytes: 1 }), /user id "a\\nb" must match/],
    ["empty user id", withUser({ user: "", node: "nl1", bytes: 1 }), /user id "" must match/],
    ["upper case node name", withNode({ name: "NL2", capacity: 1, state: "active" }), /node #4 "NL2": name must match/],
    ["duplicate node", withNode({ name: "nl1", capacity: 1, state: "active" }), /node "nl1" is listed more than once/],
    ["zero capacity", withNode({ name: "se1", capacity: 0, state: "active" }), /capacity must be a positive whole number of bytes, got 0/],
    ["unknown state", withNode({ name: "se1", capacity: 1, state: "retired" }), /state must be one of active, draining, revoked, got "retired"/],
    ["pin to an unknown node", { ...good, pins: { alice: "xx1" } }, /user "alice" is pinned to "xx1", which is not a known node/],
    ["pin to a draining node", { ...good, pins: { alice: "is1" } }, /user "alice" is pinned to "is1", which is draining/],
    ["pin to a revoked node", { ...good, pins: { alice: "ch1" } }, /user "alice" is pinned to "ch1", which is revoked/],
    ["pin of an invalid user id", { ...good, pins: { "Alice!": "nl1" } }, /pin for user "Alice!": user id must match/],
    ["not an object", null as unknown as ClusterState, /cluster state must be an object/],
    ["placement not an array", { ...good, placement: {} } as unknown as ClusterState, /placement must be an array/],
  ])("%s", (_name, state, message) => {
    const found = problems(rebalance(state as ClusterState));
    expect(found.some((p) => message.test(p))).toBe(true);
  });

  it("lists every problem in one error, not just the first", () => {
    const bad = {
      nodes: [...good.nodes, { name: "Bad", capacity: -1, state: "gone" }],
      placement: [...good.placement, { user: "alice", node: "nope", bytes: -1 }],
      pins: { bob: "ch1" },
    } as unknown as ClusterState;
    const found = problems(rebalance(bad));
    expect(found).toHaveLength(7); // name, capacity, state; duplicate, unknown node, bytes; pin
  });

  it("rejects bad options", () => {
    expect(problems(() => planRebalance(good, { tolerance: -0.1 }))[0]).toMatch(/tolerance must be a fraction in \[0, 1\)/);
    expect(problems(() => planRebalance(good, {} as never))[0]).toMatch(/tolerance must be a fraction.*got undefined/);
    expect(problems(() => planRebalance(good, { tolerance: 1 }))[0]).toMatch(/tolerance/);
    expect(problems(() => planRebalance(good, { tolerance: 0.03, maxBytesMoved: -1 }))[0]).toMatch(/maxBytesMoved must be/);
    expect(problems(() => planDrain(good, "nl1", { maxBytesMoved: NaN }))[0]).toMatch(/maxBytesMoved must be/);
  });

  it("rejects draining an unknown node, the last active node, or a node someone is pinned to", () => {
    expect(problems(() => planDrain(good, "xx1"))).toContain('cannot drain "xx1": not a known node');
    const one = { ...good, nodes: good.nodes.filter((n) => n.name !== "de1") };
    expect(problems(() => planDrain(one, "nl1"))).toContain('cannot drain "nl1": no other active node to take its users');
    // nl1 is still active in the state: the pin becomes an error only because we drain it.
    expect(problems(() => planDrain({ ...good, pins: { alice: "nl1" } }, "nl1"))[0]).toMatch(/pinned to "nl1", which is being drained/);
    expect(planDrain({ ...good, pins: { alice: "nl1" } }, "de1").moves).toEqual([]);
  });

  it("rejects adding an unknown or inactive node", () => {
    expect(problems(() => planAddNode(good, "fr1", { tolerance: 0.03 }))[0]).toMatch(/cannot add "fr1": put it in the node list first/);
    expect(problems(() => planAddNode(good, "is1", { tolerance: 0.03 }))[0]).toMatch(/cannot add "is1": it is draining/);
  });

  it("rejects suggestions for placed, invalid or repeated users, and clusters with no active node", () => {
    expect(problems(() => suggestHome(good, "alice"))[0]).toMatch(/user "alice" already lives on nl1/);
    expect(problems(() => suggestHome(good, "$(id)"))[0]).toMatch(/new user "\$\(id\)": user id must match/);
    expect(problems(() => suggestHomes(good, ["carol", "carol"]))[0]).toMatch(/new user "carol" is listed more than once/);
    expect(problems(() => suggestHomes(good, [{ user: "carol", bytes: -1 }]))[0]).toMatch(/bytes must be a non-negative/);
    const none = { ...good, nodes: good.nodes.map((n) => ({ ...n, state: "draining" as const })) };
    expect(problems(() => suggestHome({ ...none, placement: [] }, "carol"))).toContain("there is no active node to suggest");
    expect(problems(() => planRebalance({ ...none, placement: [] }, { tolerance: 0.03 }))).toContain("there is no active node to place users on");
  });
});
