import {
  applyPlan,
  DEFAULT_LIMITS,
  parsePlacementRecord,
  PlacementInputError,
  PlacementRecord,
  placementRecordProblems,
  planRebalance,
  renderPlacementRecord,
  toClusterState,
} from "../../planning/placement";

const nodes = [
  { name: "lab1", state: "active" as const, capacity: 1000 },
  { name: "lab2", state: "active" as const, capacity: 1000 },
  { name: "lab3", state: "draining" as const, capacity: 1000 },
  { name: "lab4", state: "revoked" as const, capacity: 1000 },
];

const sample: PlacementRecord = {
  limits: { maxBytesMoved: 1_000_000, concurrency: 3, graceSeconds: 0 },
  pins: { carol: "lab1" },
  users: { bob: { home: "lab3", bytes: 0 }, alice: { home: "lab2", bytes: 123456 }, carol: { home: "lab2", bytes: 7 } },
};

/** Run f, expect one PlacementInputError, return its problems. */
function problems(f: () => unknown): readonly string[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PlacementInputError);
    return (e as PlacementInputError).problems;
  }
  throw new Error("expected a PlacementInputError");
}

describe("placement record", () => {
  test("render → parse gives the same record, users sorted, with a header saying what the file is", () => {
    const text = renderPlacementRecord(sample);
    expect(parsePlacementRecord(text, "p.yaml", nodes)).toEqual(sample);
    expect(text.split("\n")[0]).toMatch(/^# rplan placement: every user's home node/);
    expect(text).toMatch(/npm run placement/);
    const users = text.split("\n").filter((l) => /^ {2}\S/.test(l));
    expect(users).toEqual(["  alice: { home: lab2, bytes: 123456 }", "  bob: { home: lab3, bytes: 0 }", "  carol: { home: lab2, bytes: 7 }"]);
    expect(renderPlacementRecord(parsePlacementRecord(text, "p.yaml"))).toBe(text);
  });

  test("a standby is written between home and bytes, only when set, and read back the same", () => {
    const rec: PlacementRecord = { ...sample, users: { ...sample.users, alice: { home: "lab2", standby: "lab1", bytes: 123456 } } };
    const text = renderPlacementRecord(rec);
    expect(text).toContain("\n  alice: { home: lab2, standby: lab1, bytes: 123456 }\n  bob: { home: lab3, bytes: 0 }\n");
    expect(parsePlacementRecord(text, "p.yaml", nodes)).toEqual(rec);
    expect(parsePlacementRecord(text, "p.yaml", nodes).users.bob).not.toHaveProperty("standby");
    expect(renderPlacementRecord(parsePlacementRecord(text, "p.yaml"))).toBe(text);
  });

  test("a standby on a draining or revoked node parses (the program replaces it); on the home, on no node, or not a name, it does not", () => {
    // lab3 is draining, lab4 revoked: carol's home is revoked too, and her standby is what she is promoted onto.
    const text = "users:\n  alice: { home: lab1, standby: lab3, bytes: 1 }\n  bob: { home: lab2, standby: lab4, bytes: 2 }\n  carol: { home: lab4, standby: lab2, bytes: 3 }\n";
    expect(parsePlacementRecord(text, "p.yaml", nodes).users).toEqual({
      alice: { home: "lab1", standby: "lab3", bytes: 1 },
      bob: { home: "lab2", standby: "lab4", bytes: 2 },
      carol: { home: "lab4", standby: "lab2", bytes: 3 },
    });
    const p = problems(() => parsePlacementRecord("users:\n  a: { home: lab1, standby: lab1, bytes: 1 }\n  b: { home: lab1, standby: lab9, bytes: 1 }\n  c: { home: lab1, standby: 5, bytes: 1 }\n", "p.yaml", nodes));
    expect(p).toEqual([
      'p.yaml: users.c.standby must be a node name, got 5',
      "p.yaml: users.b.standby: lab9 is not a node of the stack (nodes: lab1, lab2, lab3, lab4)",
    ]);
  });

  test("ids and node names YAML would read as numbers or booleans survive the round trip", () => {
    const odd: PlacementRecord = { limits: { ...DEFAULT_LIMITS }, pins: {}, users: { "123": { home: "true", bytes: 1 }, "1e3": { home: "null", bytes: 2 } } };
    expect(parsePlacementRecord(renderPlacementRecord(odd), "p.yaml")).toEqual(odd);
  });

  test("an empty file, or empty sections, is an empty record with the default limits", () => {
    const empty = { users: {}, pins: {}, limits: { maxBytesMoved: 50e9, concurrency: 2, graceSeconds: 604800 } };
    expect(parsePlacementRecord("", "p.yaml")).toEqual(empty);
    expect(parsePlacementRecord("# nothing\nusers: {}\npins:\n", "p.yaml")).toEqual(empty);
    expect(parsePlacementRecord(renderPlacementRecord(empty), "p.yaml")).toEqual(empty);
    expect(parsePlacementRecord("limits: { concurrency: 5 }", "p.yaml").limits).toEqual({ ...empty.limits, concurrency: 5 });
  });

  test("a duplicate user is an error naming its line", () => {
    const p = problems(() => parsePlacementRecord("users:\n  alice: { home: lab1, bytes: 1 }\n  alice: { home: lab2, bytes: 2 }\n", "p.yaml"));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^p\.yaml: line 3: .*unique/);
  });

  test("a YAML syntax error names its line", () => {
    const p = problems(() => parsePlacementRecord("users:\n  alice: { home: lab1, bytes: 1\n", "p.yaml"));
    expect(p[0]).toMatch(/^p\.yaml: line \d+: /);
  });

  test("every other problem is collected and reported at once", () => {
    const text = [
      "color: blue",
      "limits: { maxBytesMoved: 0, concurrency: 1.5, graceSeconds: -1, speed: 3 }",
      "pins: { dave: lab3, erin: lab9, 'x)(uid=*': lab1 }",
      "users:",
      "  'a;rm': { home: lab1, bytes: 1 }",
      "  'x)(uid=*': { home: lab1, bytes: 1 }",
      "  Alice: { home: lab1, bytes: 1 }",
      "  frank: { home: lab7, bytes: 1 }",
      "  gina: { home: lab1, bytes: -1 }",
      "  hank: { home: lab1, bytes: 9007199254740993 }",
      "  ivan: { home: lab1, bytes: 1, quota: 5 }",
      "  jo: lab1",
      "  123: { home: lab1, bytes: 1 }",
      "  kim: { home: lab4, bytes: 1 }",
      "  lee: { home: lab3, bytes: 1 }",
    ].join("\n");
    const p = problems(() => parsePlacementRecord(text, "placement.lab.yaml", nodes));
    const expected = [
      /unknown key "color"/,
      /limits\.maxBytesMoved must be a positive whole number, got 0/,
      /limits\.concurrency must be a positive whole number, got 1\.5/,
      /limits\.graceSeconds must be a non-negative whole number, got -1/,
      /limits: unknown key "speed"/,
      /pin for user "x\)\(uid=\*"/,
      /: user "a;rm"/,
      /: user "x\)\(uid=\*"/,
      /: user "Alice"/,
      /users\.frank\.home: lab7 is not a node of the stack/,
      /users\.gina\.bytes must be a non-negative whole number of bytes, got -1/,
      /users\.hank\.bytes must be/,
      /users\.ivan: unknown key "quota"/,
      /users\.jo must be a map/,
      /: user 123: .*quote ids YAML reads as numbers/,
      /pins\.dave: lab3 is draining; a pin must name an active node/,
      /pins\.erin: lab9 is not a node of the stack/,
    ];
    for (const re of expected) expect(p.filter((x) => re.test(x))).toHaveLength(1);
    expect(p).toHaveLength(expected.length);
    for (const x of p) expect(x.startsWith("placement.lab.yaml: ")).toBe(true);
  });

  test("homes on draining or revoked nodes, and a home away from the pin, are fine", () => {
    expect(placementRecordProblems(sample, nodes)).toEqual([]);
    expect(placementRecordProblems({ ...sample, users: { kim: { home: "lab4", bytes: 1 } } }, nodes)).toEqual([]);
  });

  test("without nodes, parse checks only the file itself", () => {
    expect(parsePlacementRecord("pins: { a: lab9 }\nusers: { b: { home: lab9, bytes: 0 } }", "p.yaml").users.b.home).toBe("lab9");
  });

  test("toClusterState feeds the planner, and applyPlan writes its moves as homes", () => {
    const state = toClusterState(sample, nodes);
    expect(state.placement).toEqual([
      { user: "alice", node: "lab2", bytes: 123456 },
      { user: "bob", node: "lab3", bytes: 0 },
      { user: "carol", node: "lab2", bytes: 7 },
    ]);
    const plan = planRebalance(state, { tolerance: 0.5 });
    expect(plan.moves.map((m) => [m.user, m.to, m.reason])).toEqual(
      expect.arrayContaining([
        ["bob", "lab1", "drain"],
        ["carol", "lab1", "pin"],
      ]),
    );
    const after = applyPlan(sample, plan);
    expect(after.users.bob.home).toBe("lab1");
    expect(after.users.carol.home).toBe("lab1");
    expect(after.limits).toEqual(sample.limits);
    expect(sample.users.bob.home).toBe("lab3"); // the input is not changed
  });

  test("applyPlan refuses a stale plan, listing every stale move", () => {
    const p = problems(() =>
      applyPlan(sample, {
        moves: [
          { user: "alice", from: "lab1", to: "lab2", bytes: 1, reason: "balance" },
          { user: "zed", from: "lab1", to: "lab2", bytes: 1, reason: "balance" },
        ],
      }),
    );
    expect(p).toEqual([expect.stringMatching(/record has alice on lab2: plan again/), expect.stringMatching(/zed, who is not in the placement record/)]);
  });
});
