/** `npm run placement`'s output (cli/placement-report.ts) and its `du` on a node (ops/placement.ts), without hosts. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { formatPlan, formatShow, formatSizes, formatStandbys, formatSync, humanBytes, nextStep, table } from "../../cli/placement-report";
import { duProblems, duScript, mailStoreOf, parseDu } from "../../ops/placement";
import { applySizes, completeRecord, emptyPlacementRecord, PlacementRecord, planDrain, syncWithDirectory, toClusterState } from "../../planning/placement";

const nodes = [
  { name: "lab1", state: "active" as const, capacity: 10_000_000_000 },
  { name: "lab2", state: "active" as const, capacity: 20_000_000_000 },
  { name: "lab3", state: "draining" as const, capacity: 30_000_000_000 },
];
const rec: PlacementRecord = {
  ...emptyPlacementRecord(),
  pins: { bob: "lab2" },
  users: { carol: { home: "lab3", bytes: 3_000_000_000 }, alice: { home: "lab1", bytes: 1_500_000_000 }, bob: { home: "lab2", bytes: 512 } },
};

describe("placement reports", () => {
  test("humanBytes uses decimal units", () => {
    expect([0, 999, 1000, 1_500_000_000, 12_884_901_888, 8e12].map(humanBytes)).toEqual(["0 B", "999 B", "1.0 kB", "1.5 GB", "13 GB", "8.0 TB"]);
  });

  test("table aligns columns and right-aligns the numeric ones", () => {
    expect(table(["a", "n"], [["xyz", "5"], ["q", "123"]], [1])).toBe("a      n\nxyz    5\nq    123");
  });

  test("show: a sorted user table with standbys and pins, then each node's users, bytes and fill", () => {
    const out = formatShow({ ...rec, users: { ...rec.users, alice: { home: "lab1", standby: "lab2", bytes: 1_500_000_000 } } }, nodes).split("\n");
    expect(out.slice(0, 4)).toEqual(["user   home  standby   bytes  pin", "alice  lab1  lab2     1.5 GB", "bob    lab2            512 B  lab2", "carol  lab3           3.0 GB"]);
    expect(out).toContain("lab1  active        1  1.5 GB     10 GB  15.0%");
    expect(out).toContain("lab3  draining      1  3.0 GB     30 GB  10.0%");
    expect(out[out.length - 1]).toBe("3 users, 4.5 GB; limits: 50 GB per update, 2 moves at once, old copies kept 7 days");
    expect(formatShow(emptyPlacementRecord(), nodes)).toMatch(/^no users in the placement file \(add them with `npm run placement -- sync`\)/);
  });

  test("sizes: what changed (with the node measured), users found nowhere, nodes not measured", () => {
    const measured = [
      { node: "lab1", sizes: new Map([["alice", 2_000_000_000], ["carol", 3_100_000_000]]) },
      { node: "lab2", sizes: new Map([["bob", 512]]) },
      { node: "lab3", sizes: new Map<string, number>(), error: "[lab3] connection refused" },
    ];
    const out = formatSizes(applySizes(rec, measured), measured);
    expect(out.split("\n")).toEqual([
      "user   measured on  before   after   change",
      "alice  lab1         1.5 GB  2.0 GB  +500 MB",
      "carol  lab1         3.0 GB  3.1 GB  +100 MB",
      "NOT MEASURED lab3: [lab3] connection refused",
    ]);
    expect(formatSizes(applySizes(rec, []), [])).toBe("no size changed\nno data found for 3 users (size kept): alice, bob, carol");
  });

  test("sync: each user added, adopted, drifted, missing from the directory or refused, in words", () => {
    const directory = new Map([["alice", "lab2"], ["bob", "lab2"], ["dave", "lab1"], ["eve", "lab9"]]);
    const lines = formatSync(syncWithDirectory(rec, directory, nodes)).split("\n");
    expect(lines).toEqual([
      "added dave (home lab1, 0 bytes until `sizes`)",
      "drift: alice file=lab1 directory=lab2 — the next up moves alice back to lab1 unless you edit the file",
      "not in the directory: carol (left in the file; remove it by hand if the account is gone)",
      'REFUSED directory user eve: home "lab9" is not a node of the stack; not added',
    ]);
    expect(formatSync(syncWithDirectory(rec, directory, nodes, { adoptDirectoryHomes: true }))).toMatch(/^added dave .*\nadopted alice: home lab1 → lab2 \(the directory's\)\n/);
    expect(formatSync(syncWithDirectory(rec, new Map([["alice", "lab1"], ["bob", "lab2"], ["carol", "lab3"]]), nodes))).toBe("the file and the directory agree");
  });

  test("standbys: promotions in words, then every standby change as a table sorted by user", () => {
    const lab = [...nodes.map((n) => ({ ...n, country: "NL" })), { name: "lab4", state: "revoked" as const, capacity: 1, country: "SE" }];
    const r = completeRecord({ ...rec, users: { ...rec.users, dave: { home: "lab4", standby: "lab1", bytes: 1 }, erin: { home: "lab4", bytes: 1 } } }, lab);
    expect(formatStandbys(r.promotions, r.changes).split("\n")).toEqual([
      "dave: lab4 (revoked) → lab1, promoted from its standby copy",
      "erin: lab4 (revoked) → lab2, NEW EMPTY MAILBOX: no standby copy; older mail only from a backup",
      "",
      "standbys:",
      "user   from  to    reason",
      "alice  -     lab2  new",
      "bob    -     lab1  new",
      "carol  -     lab2  new",
      "dave   lab1  lab2  home moved onto it",
      "erin   -     lab1  new",
    ]);
    expect(formatStandbys([], [])).toBe("no standby changes");
  });

  test("plan: moves, totals against the minimum and the cap, deferred users and the fill after", () => {
    const state = toClusterState(rec, nodes);
    const out = formatPlan(planDrain(state, "lab3", { maxBytesMoved: 10e9 }), nodes, 10e9).split("\n");
    expect(out.slice(0, 2)).toEqual(["user   from  to     bytes  reason", "carol  lab3  lab2  3.0 GB  drain"]);
    expect(out).toContain("1 move, 3.0 GB (at least 3.0 GB needed; cap 10 GB)");
    expect(out).toContain("lab2  active    3.0 GB     20 GB  15.0%       1.000");
    const capped = formatPlan(planDrain(state, "lab3", { maxBytesMoved: 1e9 }), nodes, 1e9);
    expect(capped).toMatch(/^nothing to move\n\n0 moves, 0 B \(at least 3\.0 GB needed; cap 1\.0 GB\)\ndeferred \(must move, did not fit under the cap; planned again next time\): carol\n/);
    expect(nextStep("placement.lab.yaml", "lab")).toMatch(/review `git diff placement\.lab\.yaml`, then `npm run stack -- preview --stack lab` and `npm run stack -- up --stack lab`$/);
  });
});

describe("measuring with du (run here with sh, as on a node)", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-du-"));
    fs.mkdirSync(path.join(dir, "mail", "alice", "Maildir"), { recursive: true });
    fs.writeFileSync(path.join(dir, "mail", "alice", "Maildir", "m1"), Buffer.alloc(12345));
    fs.mkdirSync(path.join(dir, "mail", "bob"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const run = (store: string, uids: string[]) => spawnSync("sh", ["-c", duScript(store)], { input: uids.map((u) => `${store}/${u}\0`).join(""), encoding: "utf8" });

  test("the store is <mount>/mail", () => {
    expect(mailStoreOf({ encryptedMount: { kind: "luks", path: "/srv/crypt", device: "/dev/vdb", mapper: "c" } })).toBe("/srv/crypt/mail");
  });

  test("each user's directory is measured; a user without one there is no problem", () => {
    const store = path.join(dir, "mail");
    const r = run(store, ["alice", "bob", "carol"]);
    expect(r.status).toBe(1); // du says it could not find carol
    expect(duProblems(r.stderr)).toEqual([]);
    const sizes = parseDu(r.stdout, store);
    expect([...sizes.keys()].sort()).toEqual(["alice", "bob"]);
    expect(sizes.get("alice")).toBeGreaterThanOrEqual(12345);
  });

  test("a missing store (a locked mount) is an error, not every user at 0 bytes", () => {
    const r = run(path.join(dir, "locked", "mail"), ["alice"]);
    expect(r.status).toBe(3);
    expect(duProblems(r.stderr)).toEqual([expect.stringMatching(/^no mail store at .*locked\/mail \(is the encrypted mount unlocked\?\)$/)]);
  });

  test("parseDu keeps only users directly under the store", () => {
    expect([...parseDu("5\t/s/mail/a\n7\t/s/mail/a/b\n9\t/other/c\nx\n", "/s/mail")]).toEqual([["a", 5]]);
  });
});
