import { applySizes, emptyPlacementRecord, PlacementRecord, syncWithDirectory } from "../../planning/placement";

const nodes = [
  { name: "lab1", state: "active" as const },
  { name: "lab2", state: "active" as const },
  { name: "lab3", state: "draining" as const },
];
const rec = (users: PlacementRecord["users"]): PlacementRecord => ({ ...emptyPlacementRecord(), pins: { alice: "lab1" }, users });
const m = (node: string, sizes: Record<string, number>, error?: string) => ({ node, sizes: new Map(Object.entries(sizes)), ...(error ? { error } : {}) });

describe("sizes", () => {
  test("a user's size is its copy at home; without one, the biggest copy elsewhere; never the sum", () => {
    const r = rec({ alice: { home: "lab1", bytes: 5 }, bob: { home: "lab2", bytes: 7 }, carol: { home: "lab2", bytes: 9 }, dan: { home: "lab3", bytes: 3 } });
    const out = applySizes(r, [m("lab1", { alice: 100, bob: 40, carol: 9 }), m("lab2", { alice: 999 }), m("lab3", {}, "unreachable")]);
    expect(out.record.users).toEqual({ alice: { home: "lab1", bytes: 100 }, bob: { home: "lab2", bytes: 40 }, carol: { home: "lab2", bytes: 9 }, dan: { home: "lab3", bytes: 3 } });
    expect(out.changed).toEqual([
      { user: "alice", node: "lab1", before: 5, after: 100 },
      { user: "bob", node: "lab1", before: 7, after: 40 },
    ]);
    expect(out.notFound).toEqual(["dan"]);
    expect(out.record.pins).toEqual({ alice: "lab1" });
    expect(r.users.alice.bytes).toBe(5); // the input is not changed
  });

  test("measuring keeps each user's standby", () => {
    const out = applySizes(rec({ alice: { home: "lab1", standby: "lab2", bytes: 5 } }), [m("lab1", { alice: 100 }), m("lab2", { alice: 90 })]);
    expect(out.record.users.alice).toEqual({ home: "lab1", standby: "lab2", bytes: 100 });
  });
});

describe("sync with the directory", () => {
  const file = rec({ alice: { home: "lab1", bytes: 5 }, bob: { home: "lab2", bytes: 7 }, old: { home: "lab1", bytes: 1 } });
  const directory = new Map([
    ["alice", "lab1"],
    ["bob", "lab1"],
    ["zoe", "lab3"],
    ["carl", "lab2"],
    ["x)(uid=*", "lab1"],
    ["gone", "lab9"],
  ]);

  test("adds missing users with their directory home and 0 bytes; reports, never fixes, the rest", () => {
    const out = syncWithDirectory(file, directory, nodes);
    expect(out.added).toEqual([
      { user: "carl", home: "lab2" },
      { user: "zoe", home: "lab3" },
    ]);
    expect(out.record.users.zoe).toEqual({ home: "lab3", bytes: 0 });
    expect(out.drift).toEqual([{ user: "bob", file: "lab2", directory: "lab1" }]);
    expect(out.record.users.bob.home).toBe("lab2");
    expect(out.notInDirectory).toEqual(["old"]);
    expect(out.record.users.old).toEqual({ home: "lab1", bytes: 1 });
    expect(out.refused).toEqual(["directory user gone: home \"lab9\" is not a node of the stack; not added", expect.stringMatching(/"x\)\(uid=\*": the uid is not one rplan accepts/)]);
    expect(out.adopted).toEqual([]);
    expect(Object.keys(out.record.users).sort()).toEqual(["alice", "bob", "carl", "old", "zoe"]);
  });

  test("--adopt-directory-homes takes the directory's home for drifted users only", () => {
    const out = syncWithDirectory(file, directory, nodes, { adoptDirectoryHomes: true });
    expect(out.adopted).toEqual([{ user: "bob", file: "lab2", directory: "lab1" }]);
    expect(out.drift).toEqual([]);
    expect(out.record.users.bob).toEqual({ home: "lab1", bytes: 7 });
    expect(file.users.bob.home).toBe("lab2");
  });
});
