/** Standby copies (planning/placement/standby.ts): where each user's second copy lives, and promotion off a revoked home. */
import fc from "fast-check";
import {
  completeRecord,
  DEFAULT_LIMITS,
  describePromotion,
  describeStandbyChange,
  PlacedUser,
  PlacementRecord,
  planStandbys,
  promoteRevoked,
  StandbyNode,
} from "../../planning/placement";
import { arbCluster } from "./arb";

const node = (name: string, country: string, state: StandbyNode["state"] = "active", capacity = 1000): StandbyNode => ({ name, state, capacity, country });
/** nl1, nl2 (NL), se1 (SE), de1 (DE, twice the capacity) active; fr1 draining; is1 revoked. */
const nodes = [node("nl1", "NL"), node("nl2", "NL"), node("se1", "SE"), node("de1", "DE", "active", 2000), node("fr1", "FR", "draining"), node("is1", "IS", "revoked")];
const record = (users: Record<string, PlacedUser>, pins: Record<string, string> = {}): PlacementRecord => ({ users, pins, limits: { ...DEFAULT_LIMITS } });
const standbys = (r: PlacementRecord) => Object.fromEntries(Object.entries(r.users).map(([u, p]) => [u, p.standby]));

describe("planStandbys", () => {
  test("a valid standby is kept, even where another node is emptier (minimal churn)", () => {
    const rec = record({ alice: { home: "nl1", standby: "se1", bytes: 100 }, big: { home: "se1", bytes: 900 } });
    const r = planStandbys(rec, nodes);
    expect(r.record.users.alice.standby).toBe("se1");
    expect(r.changes.filter((c) => c.user === "alice")).toEqual([]);
    expect(r.problems).toEqual([]);
  });

  test("a new standby: in another country, on the node whose fill (homes and copies over capacity) stays lowest", () => {
    // nl2 holds only copies but is in the home's country; with alice's 100, se1 is at 40 % of 1000, de1 at 25 % of 2000.
    const rec = record({ alice: { home: "nl1", bytes: 100 }, s: { home: "se1", standby: "nl2", bytes: 300 }, d: { home: "de1", standby: "nl2", bytes: 400 } });
    const r = planStandbys(rec, nodes);
    expect(r.changes).toEqual([{ user: "alice", to: "de1", reason: "new" }]);
    // Standby copies count: with 500 more as copies on de1, de1 would be at 50 %, se1 at 40 %.
    const copies = record({ ...rec.users, x: { home: "nl2", standby: "de1", bytes: 500 } });
    expect(planStandbys(copies, nodes).record.users.alice.standby).toBe("se1");
  });

  test("the fill counts the user's own bytes, and equal fills go to the first name", () => {
    // Before alice se1 is emptier (0 % against 5 %); with her 500 bytes se1 would be at 50 %, de1 at 30 %.
    const rec = record({ alice: { home: "nl1", bytes: 500 }, d: { home: "de1", standby: "nl2", bytes: 100 } });
    expect(planStandbys(rec, nodes).record.users.alice.standby).toBe("de1");
    const twins = [node("a1", "AT"), node("b1", "BE"), node("c1", "CH")];
    expect(planStandbys(record({ alice: { home: "c1", bytes: 5 } }), twins).record.users.alice.standby).toBe("a1");
  });

  test("users are given standbys largest first (LPT), whatever their ids", () => {
    // By id: a (5) → x1, b (6) → y1, c (10) → x1, ending 15 against 6; largest first: c → x1, b → y1, a → y1 (10 and 11).
    const three = [node("h1", "NL"), node("x1", "SE"), node("y1", "DE")];
    const r = planStandbys(record({ a: { home: "h1", bytes: 5 }, b: { home: "h1", bytes: 6 }, c: { home: "h1", bytes: 10 } }), three);
    expect(standbys(r.record)).toEqual({ a: "y1", b: "y1", c: "x1" });
  });

  test("a standby in the home's country is replaced when an active node abroad exists, and kept when none does", () => {
    const r = planStandbys(record({ alice: { home: "nl1", standby: "nl2", bytes: 1 } }), nodes);
    expect(r.changes).toEqual([{ user: "alice", from: "nl2", to: "de1", reason: "same country as home" }]);
    expect(describeStandbyChange(r.changes[0])).toBe("alice: standby nl2 → de1 (nl2 is in its home's country)");
    const dutch = [node("nl1", "NL"), node("nl2", "NL"), node("se1", "SE", "draining")];
    const kept = planStandbys(record({ alice: { home: "nl1", standby: "nl2", bytes: 1 }, bob: { home: "nl2", bytes: 1 } }), dutch);
    expect(standbys(kept.record)).toEqual({ alice: "nl2", bob: "nl1" });
    expect(kept.problems).toEqual([]);
  });

  test("requireOtherCountry: a user with no active node abroad is a problem naming it, and gets no standby", () => {
    const dutch = [node("nl1", "NL"), node("nl2", "NL"), node("se1", "SE", "draining")];
    const r = planStandbys(record({ alice: { home: "nl1", standby: "nl2", bytes: 1 } }), dutch, { requireOtherCountry: true });
    expect(r.problems).toEqual(["alice: no active node outside NL (its home nl1's country) may hold its standby copy"]);
    expect(r.changes).toEqual([{ user: "alice", from: "nl2", reason: "none possible" }]);
    expect(r.record.users.alice.standby).toBeUndefined();
    expect(planStandbys(record({ alice: { home: "nl1", bytes: 1 } }), nodes, { requireOtherCountry: true }).problems).toEqual([]);
  });

  test("a standby on a draining, revoked or unknown node is replaced; the change says why", () => {
    const rec = record({ a: { home: "nl1", standby: "fr1", bytes: 1 }, b: { home: "nl1", standby: "is1", bytes: 1 }, c: { home: "nl1", standby: "xx1", bytes: 1 } });
    const r = planStandbys(rec, nodes);
    expect(r.changes).toEqual([
      { user: "a", from: "fr1", to: "de1", reason: "standby not active", fromState: "draining" },
      { user: "b", from: "is1", to: "de1", reason: "standby not active", fromState: "revoked" },
      { user: "c", from: "xx1", to: "se1", reason: "standby not active" },
    ]);
    expect(r.changes.map(describeStandbyChange)).toEqual([
      "a: standby fr1 → de1 (fr1 is draining)",
      "b: standby is1 → de1 (is1 is revoked)",
      "c: standby xx1 → se1 (xx1 is not a node of the stack)",
    ]);
  });

  test("one active node: nobody can have a standby — 'none possible' once per user, no problem unless required", () => {
    const alone = [node("nl1", "NL"), node("se1", "SE", "draining")];
    const rec = record({ alice: { home: "nl1", standby: "se1", bytes: 1 }, bob: { home: "nl1", bytes: 2 } });
    const r = planStandbys(rec, alone);
    expect(r.changes).toEqual([
      { user: "alice", from: "se1", reason: "none possible" },
      { user: "bob", reason: "none possible" },
    ]);
    expect(r.changes.map(describeStandbyChange)).toEqual(["alice: standby se1 dropped (no node may hold its copy)", "bob: no standby (no node may hold its copy)"]);
    expect(standbys(r.record)).toEqual({ alice: undefined, bob: undefined });
    expect(r.problems).toEqual([]);
    expect(planStandbys(rec, alone, { requireOtherCountry: true }).problems).toHaveLength(2);
  });

  test("a user on a draining home gets a standby too (the home still serves it), never on the draining node", () => {
    const r = planStandbys(record({ alice: { home: "fr1", bytes: 1 } }), nodes);
    expect(r.changes).toEqual([{ user: "alice", to: "de1", reason: "new" }]);
  });

  test("a user moved onto its standby gets its old home as standby when valid (it holds a copy), else the lowest fill", () => {
    const rec = record({ alice: { home: "se1", standby: "se1", bytes: 1 }, big: { home: "nl1", standby: "de1", bytes: 5000 } });
    const moved = planStandbys(rec, nodes, { previousHomes: { alice: "nl1" } });
    expect(moved.changes).toEqual([{ user: "alice", from: "se1", to: "nl1", reason: "home moved onto it" }]);
    expect(describeStandbyChange(moved.changes[0])).toBe("alice: standby se1 → nl1 (its home moved onto se1)");
    // The old home draining (or not known): the emptiest valid node instead.
    expect(planStandbys(rec, nodes, { previousHomes: { alice: "fr1" } }).changes).toEqual([{ user: "alice", from: "se1", to: "nl2", reason: "home moved onto it" }]);
    expect(planStandbys(rec, nodes).record.users.alice.standby).toBe("nl2");
  });

  test("the old home is preferred only after a move onto the standby, not when the standby is invalid for another reason", () => {
    const rec = record({ alice: { home: "se1", standby: "fr1", bytes: 1 }, big: { home: "nl1", standby: "de1", bytes: 5000 } });
    expect(planStandbys(rec, nodes, { previousHomes: { alice: "nl1" } }).record.users.alice.standby).toBe("nl2");
  });

  test("a copy about to be replaced does not count in the fill: its node is as empty as it will be", () => {
    // x's copy on nl2 (same country as its home) goes, so nl2 is empty for alice; x itself moves its standby to de1 (40 %).
    const rec = record({ x: { home: "nl1", standby: "nl2", bytes: 800 }, alice: { home: "se1", bytes: 1 } });
    const r = planStandbys(rec, nodes);
    expect(standbys(r.record)).toEqual({ x: "de1", alice: "nl2" });
  });

  test("a pin binds the home only: the standby is never on the pinned home, and a new one avoids a pin the user is moving to", () => {
    const pinned = planStandbys(record({ alice: { home: "de1", bytes: 1 } }, { alice: "de1" }), nodes);
    expect(pinned.record.users.alice.standby).not.toBe("de1");
    // bob lives on nl1 but is pinned to de1 (the emptiest node abroad): his standby goes to se1.
    const moving = planStandbys(record({ bob: { home: "nl1", bytes: 1 }, s: { home: "se1", bytes: 10 } }, { bob: "de1" }), nodes);
    expect(moving.record.users.bob.standby).toBe("se1");
  });

  test("users on a revoked home are left alone: their standby is the copy to promote", () => {
    const rec = record({ alice: { home: "is1", standby: "fr1", bytes: 1 }, bob: { home: "is1", bytes: 1 } });
    const r = planStandbys(rec, nodes);
    expect(r.record).toEqual(rec);
    expect(r.changes).toEqual([]);
  });

  test("the input is not changed, and node and user order do not matter", () => {
    const rec = record({ c: { home: "nl1", bytes: 10 }, a: { home: "nl2", bytes: 5 }, b: { home: "se1", standby: "nl1", bytes: 6 } });
    const before = JSON.stringify(rec);
    const r = planStandbys(rec, nodes);
    expect(JSON.stringify(rec)).toBe(before);
    const reversed = record(Object.fromEntries(Object.entries(rec.users).reverse()));
    expect(planStandbys(reversed, [...nodes].reverse())).toEqual(r);
  });
});

describe("promoteRevoked", () => {
  test("onto the active standby with its copy; without one, an empty mailbox on the emptiest node (largest first) or the pin", () => {
    const rec = record(
      {
        alice: { home: "is1", standby: "se1", bytes: 100 },
        bob: { home: "is1", standby: "fr1", bytes: 300 },
        carol: { home: "is1", bytes: 200 },
        dave: { home: "is1", bytes: 900 },
        erin: { home: "is1", bytes: 50 },
        stay: { home: "nl1", standby: "se1", bytes: 400 },
      },
      { erin: "se1" },
    );
    const { record: after, promotions } = promoteRevoked(rec, nodes);
    // Before the users without a copy: nl1 400, nl2 0, se1 100 + a 400 copy, de1 0 of 2000. Largest first:
    // dave (900) → de1 (45 %), bob (300) → nl2 (30 %), carol (200) → nl2 (50 %, de1 would be 55 %); erin → her pin, the fullest.
    expect(promotions).toEqual([
      { user: "alice", from: "is1", to: "se1", withCopy: true },
      { user: "bob", from: "is1", to: "nl2", withCopy: false },
      { user: "carol", from: "is1", to: "nl2", withCopy: false },
      { user: "dave", from: "is1", to: "de1", withCopy: false },
      { user: "erin", from: "is1", to: "se1", withCopy: false },
    ]);
    expect(after.users.alice).toEqual({ home: "se1", standby: "se1", bytes: 100 });
    expect(after.users.stay).toEqual(rec.users.stay);
    expect(describePromotion(promotions[0])).toBe("alice: is1 (revoked) → se1, promoted from its standby copy");
    expect(describePromotion(promotions[1])).toBe("bob: is1 (revoked) → nl2, NEW EMPTY MAILBOX: no standby copy; older mail only from a backup");
  });

  test("a promoted user's copy is its mailbox now: counted once on its new home", () => {
    const two = [node("a1", "SE"), node("b1", "DE"), node("r1", "NL", "revoked")];
    // a1 holds alice's 100 (once: 11 % with bob), b1 holds carol's 150 (16 %): bob goes to a1.
    const rec = record({ alice: { home: "r1", standby: "a1", bytes: 100 }, bob: { home: "r1", bytes: 10 }, carol: { home: "b1", bytes: 150 } });
    expect(promoteRevoked(rec, two).promotions).toEqual([
      { user: "alice", from: "r1", to: "a1", withCopy: true },
      { user: "bob", from: "r1", to: "a1", withCopy: false },
    ]);
  });

  test("nobody on a revoked home: nothing changes", () => {
    const rec = record({ alice: { home: "fr1", standby: "se1", bytes: 1 } });
    expect(promoteRevoked(rec, nodes)).toEqual({ record: rec, promotions: [] });
  });
});

describe("completeRecord", () => {
  test("a promoted user gets a new standby (never its revoked old home); every line reads as the preview shows it", () => {
    const lab = [node("lab1", "NL", "revoked"), node("lab2", "SE"), node("lab3", "DE"), node("lab4", "FR", "revoked")];
    const rec = record({ alice: { home: "lab1", standby: "lab2", bytes: 10 }, bob: { home: "lab1", standby: "lab4", bytes: 20 }, carol: { home: "lab2", standby: "lab4", bytes: 5 } });
    const r = completeRecord(rec, lab, { previousHomes: { alice: "lab1" } });
    expect(r.promotions.map(describePromotion)).toEqual([
      "alice: lab1 (revoked) → lab2, promoted from its standby copy",
      "bob: lab1 (revoked) → lab3, NEW EMPTY MAILBOX: no standby copy; older mail only from a backup",
    ]);
    expect(r.changes.map(describeStandbyChange)).toEqual([
      "alice: standby lab2 → lab3 (its home moved onto lab2)",
      "bob: standby lab4 → lab2 (lab4 is revoked)",
      "carol: standby lab4 → lab3 (lab4 is revoked)",
    ]);
    expect(standbys(r.record)).toEqual({ alice: "lab3", bob: "lab2", carol: "lab3" });
    expect(r.problems).toEqual([]);
  });

  test("users on a revoked home with no active node anywhere are problems, each named", () => {
    const r = completeRecord(record({ alice: { home: "is1", standby: "fr1", bytes: 1 } }), [node("is1", "IS", "revoked"), node("fr1", "FR", "draining")]);
    expect(r.problems).toEqual(["alice: its home is1 is revoked and no node is active to take it"]);
    expect(r.promotions).toEqual([]);
  });
});

/** What makes a standby valid, written out again for the property (not by calling the code under test). */
function validStandbys(user: string, u: PlacedUser, all: readonly StandbyNode[]): string[] {
  const home = all.find((n) => n.name === u.home)!;
  const others = all.filter((n) => n.state === "active" && n.name !== u.home);
  const abroad = others.filter((n) => n.country !== home.country);
  return (abroad.length > 0 ? abroad : others).map((n) => n.name);
}

const COUNTRIES = ["NL", "SE", "DE"];
/** A random cluster (some nodes draining or revoked, countries shared) with a record whose standbys are anything: none, valid, on the home, inactive. */
const arbCase = arbCluster({ maxUsers: 40 }).chain((s) =>
  fc
    .tuple(
      fc.array(fc.constantFrom(...COUNTRIES), { minLength: s.nodes.length, maxLength: s.nodes.length }),
      fc.array(fc.option(fc.constantFrom(...s.nodes.map((n) => n.name)), { nil: undefined }), { minLength: s.placement.length, maxLength: s.placement.length }),
    )
    .map(([countries, picks]) => {
      const nodes = s.nodes.map((n, i) => ({ ...n, country: countries[i] }));
      const users = Object.fromEntries(s.placement.map((p, i) => [p.user, { home: p.node, bytes: p.bytes, ...(picks[i] === undefined ? {} : { standby: picks[i] }) }]));
      return { nodes, rec: record(users, { ...(s.pins ?? {}) }) };
    }),
);

test("property: after completeRecord every user has a valid standby when one is possible, a valid one is never changed, and a second call changes nothing", () => {
  fc.assert(
    fc.property(arbCase, ({ nodes: all, rec }) => {
      const r = completeRecord(rec, all);
      const promoted = new Set(r.promotions.map((p) => p.user));
      expect(r.problems).toEqual([]);
      for (const [user, u] of Object.entries(r.record.users)) {
        const homeNode = all.find((n) => n.name === u.home)!;
        expect(homeNode.state).not.toBe("revoked");
        const valid = validStandbys(user, u, all);
        if (valid.length === 0) expect(u.standby).toBeUndefined();
        else expect(valid).toContain(u.standby);
        const before = rec.users[user];
        if (!promoted.has(user) && before.standby !== undefined && validStandbys(user, before, all).includes(before.standby)) expect(u.standby).toBe(before.standby);
        expect(u.bytes).toBe(before.bytes);
      }
      for (const p of r.promotions) expect(p.withCopy).toBe(all.some((n) => n.name === rec.users[p.user].standby && n.state === "active"));
      const again = completeRecord(r.record, all);
      expect(again.record).toEqual(r.record);
      expect(again.promotions).toEqual([]);
      expect(again.changes.filter((c) => c.reason !== "none possible")).toEqual([]);
    }),
    { numRuns: 300 },
  );
});

test("property: with requireOtherCountry, the problems name exactly the users whose home has no active node abroad", () => {
  fc.assert(
    fc.property(arbCase, ({ nodes: all, rec }) => {
      const r = completeRecord(rec, all, { requireOtherCountry: true });
      const lonely = Object.entries(r.record.users)
        .filter(([, u]) => {
          const home = all.find((n) => n.name === u.home)!;
          return !all.some((n) => n.state === "active" && n.name !== u.home && n.country !== home.country);
        })
        .map(([user]) => user)
        .sort();
      expect(r.problems.map((p) => p.split(":")[0])).toEqual(lonely);
      for (const user of lonely) expect(r.record.users[user].standby).toBeUndefined();
    }),
    { numRuns: 200 },
  );
});
