/**
 * The move protocol carried out (ops/quantum/move.ts, the real host procedures) on a cluster in
 * memory (test/placement/fake-cluster.ts): a move from each state of the journal an interrupted run
 * can leave, what a comparison that finds the copies different does, and failures before and
 * during the freeze. Every command the hosts ran is checked by what it changed: the directory's
 * writes, dsync's runs, where each message ends up. No lab.
 */
import { moveUser, MoveReport } from "../../ops/quantum/move";
import { carryOut } from "../../providers/impl/user-placement";
import { FakeCluster, STORE, SUFFIX } from "../placement/fake-cluster";

const NODES = ["lab1", "lab2", "lab3"];
const MASTER = "lab3";

let logged: string[] = [];
beforeEach(() => {
  jest.useFakeTimers();
  jest.setSystemTime(Date.UTC(2026, 11, 1));
  logged = [];
});
afterEach(() => jest.useRealTimers());

/** A cluster with kl1 on lab1 (30 messages). */
function cluster(): FakeCluster {
  const c = new FakeCluster(NODES, MASTER);
  c.addUser("kl1", "lab1", 30);
  return c;
}

/** Runs `p` on fake timers until it settles. */
async function settle<T>(p: Promise<T>): Promise<{ value?: T; error?: Error }> {
  let out: { value?: T; error?: Error } | undefined;
  p.then(
    (value) => (out = { value }),
    (error: Error) => (out = { error }),
  );
  while (!out) await jest.advanceTimersByTimeAsync(50);
  return out;
}

/** kl1's move from `from` to `to` by the real protocol; the directory's writes and dsync's runs it made. */
async function move(c: FakeCluster, from: string, to: string): Promise<{ report?: MoveReport; error?: Error; writes: string[]; backups: { state: string; frozen: boolean }[] }> {
  const [ran, backups] = [c.ran.length, c.backups.length];
  const run = c.connect();
  const r = await settle(moveUser({ nodes: run.nodes, master: MASTER, suffix: SUFFIX, log: (l) => logged.push(l) }, "kl1", from, to));
  return {
    report: r.value,
    error: r.error,
    writes: c.ran.slice(ran).filter((x) => x.argv[0] === "ldapmodify").map((x) => /^rplanHome: (.*)$/m.exec(x.stdin!)?.[1] ?? (/^rplanUserState: frozen$/m.test(x.stdin!) ? "freeze" : "unfreeze")),
    backups: c.backups.slice(backups).map((b) => ({ state: b.state, frozen: b.frozen })),
  };
}

/** Every accepted message once in kl1's mailbox on `node`. */
function expectAllMailOn(c: FakeCluster, node: string): void {
  const msgs = c.mailbox(node, "kl1")?.msgs ?? [];
  expect({ missing: c.accepted.filter((m) => !msgs.includes(m)), duplicated: msgs.filter((m, i) => msgs.indexOf(m) !== i) }).toEqual({ missing: [], duplicated: [] });
}

describe("a move goes on from each state of the journal", () => {
  test("not started: bulk copy, freeze, final sync from the bulk copy's state, switch, unfreeze", async () => {
    const c = cluster();
    const m = await move(c, "lab1", "lab2");
    expect(m.error).toBeUndefined();
    expect(m.writes).toEqual(["freeze", "lab2", "unfreeze"]);
    expect(m.backups).toEqual([
      { state: "", frozen: false },
      { state: expect.stringMatching(/^state-\d+$/), frozen: true },
    ]);
    expect(m.report).toMatchObject({ resumed: "no", bytes: 3000 });
    expect(Object.keys(m.report!.freezePhases!)).toEqual(["replicas", "routes", "deliveries", "kick", "final sync", "compare", "switch", "unfreeze"]);
    expect(c.entries().get("kl1")).toEqual({ home: "lab2", frozen: false });
    expectAllMailOn(c, "lab2");
  });

  test("frozen at the old home (a run killed during the freeze): no bulk copy and no freeze again, a full final sync, switch, unfreeze", async () => {
    const c = cluster();
    c.stores.get("lab2")!.set(`${STORE}/kl1`, { ...c.mailbox("lab1", "kl1")!, msgs: c.mailbox("lab1", "kl1")!.msgs.slice(0, 20) }); // the bulk copy it made
    c.setFrozen("kl1", true);
    c.deliver("kl1", "during-the-freeze");
    const m = await move(c, "lab1", "lab2");
    expect(m.error).toBeUndefined();
    expect(m.writes).toEqual(["lab2", "unfreeze"]);
    expect(m.backups).toEqual([{ state: "", frozen: true }]);
    expect(logged).toContain("[move] kl1 lab1 → lab2: resuming: frozen at the old home by an interrupted run");
    expect(logged.filter((l) => l.endsWith(": freeze") || l.includes("bulk copy"))).toEqual([]);
    expect(m.report).toMatchObject({ resumed: "frozen-at-old-home", freezeMs: 0 });
    expect(m.report!.freezePhases).toBeUndefined();
    expect(c.entries().get("kl1")).toEqual({ home: "lab2", frozen: false });
    expectAllMailOn(c, "lab2");
  });

  test("frozen at the new home (a run killed after the switch): only the unfreeze, no copy", async () => {
    const c = cluster();
    c.stores.get("lab2")!.set(`${STORE}/kl1`, { ...c.mailbox("lab1", "kl1")! });
    c.setFrozen("kl1", true);
    c.setHome("kl1", "lab2");
    c.deliver("kl1", "during-the-freeze");
    for (const from of ["lab1", "lab2"]) {
      // lab1 → lab2: the file's move; lab2 → lab2: the work item of a user the file no longer names.
      if (from === "lab2") c.setFrozen("kl1", true);
      const m = await move(c, from, "lab2");
      expect({ from, error: m.error, writes: m.writes, backups: m.backups, resumed: m.report?.resumed }).toEqual({ from, error: undefined, writes: ["unfreeze"], backups: [], resumed: "frozen-at-new-home" });
      expect(c.entries().get("kl1")).toEqual({ home: "lab2", frozen: false });
      expectAllMailOn(c, "lab2");
    }
  });

  test("already done: nothing written, nothing copied", async () => {
    const c = cluster();
    c.setHome("kl1", "lab2");
    const m = await move(c, "lab1", "lab2");
    expect({ writes: m.writes, backups: m.backups, resumed: m.report?.resumed }).toEqual({ writes: [], backups: [], resumed: "already-done" });
  });

  test("moved by someone else, or not in the directory: refused, nothing written", async () => {
    const c = cluster();
    c.setHome("kl1", "lab3");
    const m = await move(c, "lab1", "lab2");
    expect(m.error?.message).toMatch(/^cannot move kl1 from lab1: the directory says the home is lab3/);
    expect({ writes: m.writes, backups: m.backups }).toEqual({ writes: [], backups: [] });
    const empty = new FakeCluster(NODES, MASTER);
    expect((await move(empty, "lab1", "lab2")).error?.message).toBe("cannot move kl1: not in the directory");
  });
});

describe("what a comparison of both copies does", () => {
  test("different after the final sync, equal after a full one: switch", async () => {
    const c = cluster();
    c.lossyFrozenBackups = 1;
    const m = await move(c, "lab1", "lab2");
    expect(m.error).toBeUndefined();
    expect(logged).toContain("[move] kl1 lab1 → lab2: copies differ after the final sync (INBOX: messages=30,uidnext=31,uidvalidity=1,guid=guid-1 vs messages=29,uidnext=30,uidvalidity=1,guid=guid-1), syncing again in full");
    expect(m.backups).toEqual([
      { state: "", frozen: false },
      { state: expect.stringMatching(/^state-\d+$/), frozen: true },
      { state: "", frozen: true },
    ]);
    expect(m.writes).toEqual(["freeze", "lab2", "unfreeze"]);
    expect(Object.keys(m.report!.freezePhases!)).toEqual(expect.arrayContaining(["full sync", "compare again"]));
    expectAllMailOn(c, "lab2");
  });

  test("still different after the full sync: no switch — unfrozen at the old home, the move fails, the mail stays whole there; a rerun moves it", async () => {
    const c = cluster();
    c.lossyFrozenBackups = 2;
    const m = await move(c, "lab1", "lab2");
    expect(m.error?.message).toBe("the copies of kl1 on lab1 and lab2 differ: INBOX: messages=30,uidnext=31,uidvalidity=1,guid=guid-1 vs messages=29,uidnext=30,uidvalidity=1,guid=guid-1");
    expect(logged).toContain("[move] kl1 lab1 → lab2: failed before the switch, unfreezing at lab1: the copies of kl1 on lab1 and lab2 differ: INBOX: messages=30,uidnext=31,uidvalidity=1,guid=guid-1 vs messages=29,uidnext=30,uidvalidity=1,guid=guid-1");
    expect(m.writes).toEqual(["freeze", "unfreeze"]);
    expect(c.entries().get("kl1")).toEqual({ home: "lab1", frozen: false });
    c.deliver("kl1", "after-the-failed-move");
    expectAllMailOn(c, "lab1");

    const rerun = await move(c, "lab1", "lab2");
    expect(rerun.error).toBeUndefined();
    expect(rerun.report?.resumed).toBe("no");
    expectAllMailOn(c, "lab2");
  });

  test("through the provider's update: the update fails naming the move, the user at one home and not frozen", async () => {
    const c = cluster();
    c.lossyFrozenBackups = 2;
    const run = c.connect();
    const nodes = NODES.map((n) => ({ name: n, state: "active" as const, vpnAddress: c.vpn[n], storePath: STORE }));
    const inputs = { nodes, master: MASTER, suffix: SUFFIX, ldapiSocket: "/run/slapd/ldapi", homes: { kl1: "lab2" }, sizes: { kl1: 0 }, pins: {}, limits: { maxBytesMoved: 1e9, concurrency: 2, graceSeconds: 30 } };
    const quiet = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const r = await settle(carryOut(inputs, { directory: { kl1: "lab1" } }, run.nodes));
      expect(r.error?.message).toMatch(/^1 of 1 moves failed \(each user is at one home and not frozen\):\n {2}- kl1 \(lab1 → lab2\): the copies of kl1 on lab1 and lab2 differ/);
    } finally {
      quiet.mockRestore();
    }
    expect(c.entries().get("kl1")).toEqual({ home: "lab1", frozen: false });
  });
});

describe("failures before the switch", () => {
  test("the bulk copy fails: nothing written, the user never frozen", async () => {
    const c = cluster();
    c.stores.get("lab1")!.delete(`${STORE}/kl1`);
    const m = await move(c, "lab1", "lab2");
    expect(m.error?.message).toBe("[lab1] doveadm backup of kl1 to lab2 failed (exit 1): no mailbox");
    expect(m.writes).toEqual([]);
    expect(c.entries().get("kl1")).toEqual({ home: "lab1", frozen: false });
  });

  test("a replica never shows the freeze: unfrozen at the old home, the move fails before any final sync", async () => {
    const c = cluster();
    const from = c.version;
    c.hold = (node, v) => node === "lab2" && v > from;
    const m = await move(c, "lab1", "lab2");
    expect(m.error?.message).toBe("replicas lab2 did not show kl1 on lab1 (frozen) within 30000 ms");
    expect(m.writes).toEqual(["freeze", "unfreeze"]);
    expect(m.backups.filter((b) => b.frozen)).toEqual([]);
    expect(c.entries().get("kl1")).toEqual({ home: "lab1", frozen: false });
    expectAllMailOn(c, "lab1");
  });
});
