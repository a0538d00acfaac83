import fc from "fast-check";
import { ClusterState, suggestHome, suggestHomes } from "../../planning/placement";
import { active, arbBytes, arbCluster, shuffled } from "./arb";

// "newcomer" may be pinned by the generator; use ids no generated user can have (too long).
const NEW = "new-user-not-in-any-generated-state";
const arb = arbCluster({ pins: false });

describe("suggestHome", () => {
  it("suggests an active node, or the pin", () => {
    fc.assert(
      fc.property(arbCluster(), (s) => {
        const names = new Set(active(s).map((n) => n.name));
        expect(names.has(suggestHome(s, NEW))).toBe(true);
        const pinned = s.pins?.newcomer;
        if (pinned !== undefined && !s.placement.some((u) => u.user === "newcomer")) expect(suggestHome(s, "newcomer")).toBe(pinned);
      }),
    );
  });

  it("does not depend on input order, inactive nodes or other users' pins", () => {
    fc.assert(
      fc.property(arb, fc.integer(), fc.constantFrom("draining", "revoked"), (s, seed, st) => {
        const home = suggestHome(s, NEW);
        expect(suggestHome(shuffled(s, seed), NEW)).toBe(home);
        const extra = "zz-" + s.nodes.length;
        expect(suggestHome({ ...s, nodes: [...s.nodes, { name: extra, capacity: 1e15, state: st }] }, NEW)).toBe(home);
        const other = active(s).find((n) => n.name !== home);
        if (other && s.placement.length > 0) {
          expect(suggestHome({ ...s, pins: { [s.placement[0].user]: other.name } }, NEW)).toBe(home);
        }
      }),
    );
  });

  it("adding an active node only ever redirects a suggestion to the new node", () => {
    fc.assert(
      fc.property(arb, fc.integer({ min: 1e9, max: 1e11 }), fc.array(fc.stringMatching(/^[a-z0-9]{1,8}$/), { maxLength: 20 }), (s, cap, ids) => {
        // New users only: a generated id may already live somewhere, and suggestHome refuses those.
        const users = [...new Set(ids.map((i) => "n-" + i))].filter((u) => !s.placement.some((p) => p.user === u));
        const grown: ClusterState = { ...s, nodes: [...s.nodes, { name: "zz-new", capacity: cap, state: "active" }] };
        for (const u of users) {
          const after = suggestHome(grown, u);
          if (after !== "zz-new") expect(after).toBe(suggestHome(s, u));
        }
      }),
    );
  });

  it("placing someone on node k only ever moves suggestions away from k", () => {
    fc.assert(
      fc.property(arb, arbBytes, fc.nat(), (s, bytes, k) => {
        const nodes = active(s);
        const node = nodes[k % nodes.length].name;
        const before = suggestHome(s, NEW);
        const after = suggestHome({ ...s, placement: [...s.placement, { user: "another-new-user-x", node, bytes }] }, NEW);
        if (after !== before) expect(before).toBe(node);
      }),
    );
  });

  it("is deterministic", () => {
    fc.assert(fc.property(arbCluster(), (s) => expect(suggestHome(s, NEW)).toBe(suggestHome(structuredClone(s), NEW))));
  });

  it("weights by free space", () => {
    const s: ClusterState = {
      nodes: [
        { name: "big", capacity: 3_000, state: "active" },
        { name: "small", capacity: 1_000, state: "active" },
        { name: "full", capacity: 1_000, state: "active" },
      ],
      placement: [{ user: "hog", node: "full", bytes: 1_000 }],
    };
    const homes = suggestHomes(s, Array.from({ length: 4000 }, (_, i) => `n${i}`));
    const count = (n: string) => homes.filter((h) => h.node === n).length;
    expect(count("full")).toBe(0);
    expect(count("big") / count("small")).toBeGreaterThan(2.6);
    expect(count("big") / count("small")).toBeLessThan(3.4);
  });

  it("counts the expected bytes of earlier users in a batch", () => {
    const s: ClusterState = {
      nodes: [
        { name: "a", capacity: 100, state: "active" },
        { name: "b", capacity: 100, state: "active" },
      ],
      placement: [],
    };
    const [first, second] = suggestHomes(s, [{ user: "x", bytes: 100 }, { user: "y" }]);
    expect(second.node).not.toBe(first.node); // the first filled its node: no free space left there
  });
});
