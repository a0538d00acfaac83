/**
 * Carrying the placement out when runs are killed: the UserPlacement provider's check, diff and
 * update (`carryOut`, the update's work once the nodes are connected) and the real move protocol
 * (ops/quantum/move.ts), against a cluster in memory (./fake-cluster.ts) whose runs can be killed
 * before any command. The engine's part is played as the runner plays it (docs/stack-runner.md): a
 * killed update leaves the state as it was; an update that did nothing keeps the old outputs.
 *
 * The scenario is the lab's (test/placement/moves.lab.test.ts, "a runner killed after the bulk copy,
 * and again during the freeze"): kl1 moves lab1 → lab2, then back to lab2 → lab1 within the grace
 * period of the first move's old copy, each update killed — here before every one of its commands in
 * turn — and run again. After each rerun the user is at the file's home, not frozen, with every
 * message once; the state names no old copy on the user's home and every copy elsewhere; the next
 * preview is a no-op until the old copies left behind reach the end of their grace; then they go.
 */
import { check, diff, carryOut, readOn, UserPlacementInputs, UserPlacementOutputs } from "../../providers/impl/user-placement";
import { copiesLeftBy, expiredOldCopies, OldCopy, placementWork, settleOldCopies, unrecordedCopies } from "../../planning/placement/carry-out";
import { FakeCluster, STORE, SUFFIX } from "./fake-cluster";

const NODES = ["lab1", "lab2", "lab3"];
const MASTER = "lab3";
const GRACE_S = 30;
const T0 = Date.UTC(2026, 11, 1);

interface StackState {
  readonly inputs: UserPlacementInputs;
  readonly outputs: UserPlacementOutputs;
}

/** What the program registers for a placement file (components/user-placement.ts). */
function programInputs(c: FakeCluster, homes: Record<string, string>, standbys?: Record<string, string>): UserPlacementInputs {
  return {
    nodes: NODES.map((n) => ({ name: n, state: "active" as const, ssh: { host: c.vpn[n], port: 22, user: "root", hostKeys: [] }, vpnAddress: c.vpn[n], storePath: STORE })),
    master: MASTER,
    suffix: SUFFIX,
    ldapiSocket: "/run/slapd/ldapi",
    homes,
    sizes: Object.fromEntries(Object.keys(homes).map((u) => [u, 0])),
    pins: {},
    limits: { maxBytesMoved: 5_000_000_000, concurrency: 2, graceSeconds: GRACE_S },
    ...(standbys ? { standbys } : {}),
  };
}

/** Runs `p` on fake timers until it settles or the run is killed. */
async function drive<T>(p: Promise<T>, killed: Promise<void>): Promise<{ value?: T; killed: boolean }> {
  let outcome: { value?: T; error?: unknown; killed: boolean } | undefined;
  p.then(
    (value) => (outcome ??= { value, killed: false }),
    (error) => (outcome ??= { error, killed: false }),
  );
  void killed.then(() => (outcome ??= { killed: true }));
  while (!outcome) await jest.advanceTimersByTimeAsync(50);
  if (outcome.error) throw outcome.error;
  return outcome;
}

async function create(c: FakeCluster, homes: Record<string, string>, standbys?: Record<string, string>): Promise<StackState> {
  const checked = await check({}, programInputs(c, homes, standbys));
  const inputs = checked.inputs as UserPlacementInputs;
  const run = c.connect();
  const { value } = await drive(carryOut(inputs, {}, run.nodes), run.killed);
  return { inputs, outputs: value! };
}

/**
 * `up` as the runner does it: check against the old inputs, diff against the old outputs, update if
 * there are changes. Killed: the state stays as it was (the pending operation is dropped by the next run).
 */
async function up(c: FakeCluster, s: StackState, homes: Record<string, string>, killBefore?: number, standbys?: Record<string, string>): Promise<{ state: StackState; killed: boolean; changed: boolean; commands: number }> {
  const checked = await check(s.inputs, programInputs(c, homes, standbys));
  expect(checked.failures).toBeUndefined();
  const inputs = checked.inputs as UserPlacementInputs;
  const d = await diff("placement", s.outputs, inputs);
  if (!d.changes) return { state: { inputs, outputs: s.outputs }, killed: false, changed: false, commands: 0 };
  const run = c.connect(killBefore);
  const r = await drive(carryOut(inputs, s.outputs, run.nodes), run.killed);
  return { state: r.killed ? s : { inputs, outputs: r.value! }, killed: r.killed, changed: true, commands: run.commands() };
}

/** Whether a preview at `at` (ms since the epoch) would show an update of the placement. */
async function previewChanges(c: FakeCluster, s: StackState, homes: Record<string, string>, at: number, standbys?: Record<string, string>): Promise<boolean> {
  const checked = await check(s.inputs, programInputs(c, homes, standbys));
  const spy = jest.spyOn(Date, "now").mockReturnValue(at);
  try {
    return (await diff("placement", s.outputs, checked.inputs as UserPlacementInputs)).changes === true;
  } finally {
    spy.mockRestore();
  }
}

/** Every expectation of a converged rerun; returns the old copies the state keeps. */
async function expectConverged(c: FakeCluster, s: StackState, uid: string, home: string): Promise<OldCopy[]> {
  expect(c.entries().get(uid)).toEqual({ home, frozen: false });
  for (const n of NODES) expect({ node: n, entry: c.view(n).get(uid) }).toEqual({ node: n, entry: { home, frozen: false } });
  const msgs = c.mailbox(home, uid)?.msgs ?? [];
  expect({ missing: c.accepted.filter((m) => !msgs.includes(m)), duplicated: msgs.filter((m, i) => msgs.indexOf(m) !== i) }).toEqual({ missing: [], duplicated: [] });
  expect(s.outputs.directory).toEqual({ [uid]: home });
  expect(s.outputs.frozen).toEqual([]);
  // Every copy a move left is recorded (else nothing ever removes it).
  const untracked = NODES.filter((n) => n !== home && c.mailbox(n, uid) && !s.outputs.oldCopies.some((r) => r.user === uid && r.node === n && r.path === undefined));
  expect({ untrackedCopiesOn: untracked }).toEqual({ untrackedCopiesOn: [] });

  // The next preview is a no-op, second by second, until the grace of an old copy (not on the home) ends.
  const now = Date.now();
  const copies = s.outputs.oldCopies.filter((r) => r.path !== undefined || r.node !== home);
  const due = Math.min(...copies.map((r) => r.since + GRACE_S * 1000), now + 3 * GRACE_S * 1000);
  const updates: number[] = [];
  for (let t = now; t < due; t += 1000) if (await previewChanges(c, s, { [uid]: home }, t)) updates.push((t - now) / 1000);
  expect({ secondsAfterTheRerunAtWhichAPreviewShowsAnUpdate: updates }).toEqual({ secondsAfterTheRerunAtWhichAPreviewShowsAnUpdate: [] });
  // No record names the user's mailbox itself (it would expire, and its removal is all that keeps the mailbox).
  expect(s.outputs.oldCopies.filter((r) => r.user === uid && r.node === home && r.path === undefined)).toEqual([]);
  return s.outputs.oldCopies;
}

interface Leg {
  readonly to: string;
  readonly killBefore?: number;
  /** A refresh between the killed update and its rerun (docs/move-users.md advises one after a crash). */
  readonly refresh?: boolean;
}

/** `refresh`: the provider's read; the state keeps its inputs and takes what was read as outputs. */
async function refresh(c: FakeCluster, s: StackState): Promise<StackState> {
  const run = c.connect();
  const { value } = await drive(readOn(s.outputs, run.nodes), run.killed);
  return { inputs: s.inputs, outputs: value! };
}

/** One change of the file: an up (killed before its `killBefore`-th command), mail, then reruns until done. */
async function leg(c: FakeCluster, s: StackState, uid: string, l: Leg): Promise<{ state: StackState; commands: number; killed: boolean }> {
  c.deliver(uid, `${uid}-before-${l.to}-${c.accepted.length}`);
  const first = await up(c, s, { [uid]: l.to }, l.killBefore);
  let state = first.state;
  if (first.killed) {
    c.deliver(uid, `${uid}-after-kill-${c.accepted.length}`);
    if (l.refresh) state = await refresh(c, state);
    const rerun = await up(c, state, { [uid]: l.to });
    expect(rerun.killed).toBe(false);
    state = rerun.state;
  }
  return { state, commands: first.commands, killed: first.killed };
}

/** The lab's scenario: lab1 → lab2 (leg 1), `gapMs` later back to lab1 (leg 2); then the old copies' grace ends. */
async function scenario(kill1: number | undefined, kill2: number | undefined, gapMs = 5_000, refreshes = false): Promise<{ commands1: number; commands2: number }> {
  jest.setSystemTime(T0);
  const c = new FakeCluster(NODES, MASTER);
  c.addUser("kl1", "lab1", 30);
  let s = await create(c, { kl1: "lab1" });

  const l1 = await leg(c, s, "kl1", { to: "lab2", killBefore: kill1, refresh: refreshes });
  s = l1.state;
  await expectConverged(c, s, "kl1", "lab2");
  jest.advanceTimersByTime(gapMs);

  const l2 = await leg(c, s, "kl1", { to: "lab1", killBefore: kill2, refresh: refreshes });
  s = l2.state;
  const kept = await expectConverged(c, s, "kl1", "lab1");

  // After the grace: the next up removes what the records name (never the mailbox on the home), then nothing is left to do.
  if (kept.length > 0) {
    jest.setSystemTime(Math.max(...kept.map((r) => r.since)) + GRACE_S * 1000);
    const after = await up(c, s, { kl1: "lab1" });
    expect(after.changed).toBe(true);
    s = after.state;
    expect(s.outputs.oldCopies).toEqual([]);
    for (const r of kept) expect(c.stores.get(r.node)!.has(r.path ?? `${STORE}/kl1`)).toBe(false);
  }
  expect(c.mailbox("lab1", "kl1")?.msgs.length).toBe(c.accepted.length);
  expect(NODES.flatMap((n) => [...c.stores.get(n)!.keys()].filter((p) => p.includes("kl1")).map((p) => `${n}:${p}`))).toEqual([`lab1:${STORE}/kl1`]);
  expect(await previewChanges(c, s, { kl1: "lab1" }, Date.now() + 10 * GRACE_S * 1000)).toBe(false);
  return { commands1: l1.commands, commands2: l2.commands };
}

/** How many commands the two updates of the scenario send when nothing kills them. */
async function countCommands(): Promise<{ commands1: number; commands2: number }> {
  jest.setSystemTime(T0);
  const c = new FakeCluster(NODES, MASTER);
  c.addUser("kl1", "lab1", 30);
  const there = await up(c, await create(c, { kl1: "lab1" }), { kl1: "lab2" });
  const back = await up(c, there.state, { kl1: "lab1" });
  return { commands1: there.commands, commands2: back.commands };
}

/** The provider's progress lines ("[move] …", on stderr), kept for the tests that read them. */
let logged: string[] = [];
let quiet: jest.SpyInstance;
beforeAll(() => {
  quiet = jest.spyOn(process.stderr, "write").mockImplementation((line) => (logged.push(String(line)), true));
});
afterAll(() => quiet.mockRestore());
beforeEach(() => {
  jest.useFakeTimers();
  logged = [];
});
afterEach(() => jest.useRealTimers());

describe("a killed update of the placement converges, and the next preview is a no-op", () => {
  // Every command of an uninterrupted update, counted once.
  let commands: { commands1: number; commands2: number };
  beforeAll(async () => {
    jest.useFakeTimers();
    commands = await countCommands();
    jest.useRealTimers();
  });

  test("each update sends enough commands for the kill points to mean something", () => {
    expect(commands.commands1).toBeGreaterThan(30);
    expect(commands.commands2).toBeGreaterThan(30);
  });

  test("uninterrupted: moved there and back within the grace period", async () => {
    await scenario(undefined, undefined);
  });

  test("the move back killed before each of its commands in turn (the move there killed at its freeze, as on the lab)", async () => {
    const freeze = await freezeCommand();
    expect(await everyKillPoint(commands.commands2, (k) => scenario(freeze, k))).toEqual([]);
  });

  test("the move there killed before each of its commands in turn", async () => {
    expect(await everyKillPoint(commands.commands1, (k) => scenario(k, undefined))).toEqual([]);
  });

  test("each update killed before each of its commands in turn, and a refresh before its rerun", async () => {
    const freeze = await freezeCommand();
    expect(await everyKillPoint(commands.commands1, (k) => scenario(k, undefined, 5_000, true))).toEqual([]);
    expect(await everyKillPoint(commands.commands2, (k) => scenario(freeze, k, 5_000, true))).toEqual([]);
  });

  test("the move back long after the move there (its old copy expired at the rerun), killed before each command", async () => {
    expect(await everyKillPoint(commands.commands2, (k) => scenario(undefined, k, 2 * GRACE_S * 1000))).toEqual([]);
  });
});

/** Runs `f` killed before each command 1..n; returns "killed before command k: <what failed>" for each failure. */
async function everyKillPoint(n: number, f: (k: number) => Promise<unknown>): Promise<string[]> {
  const failures: string[] = [];
  for (let k = 1; k <= n; k++) {
    logged = [];
    await f(k).catch((e: Error) => failures.push(`killed before command ${k}: ${e.message.split("\n").slice(0, 12).join(" ")}`));
  }
  return failures;
}

/** Where the lab's first kill lands: after the ldapmodify that freezes (the runner killed when "freeze" is printed). */
async function freezeCommand(): Promise<number> {
  for (let k = 1; ; k++) {
    jest.setSystemTime(T0);
    const c = new FakeCluster(NODES, MASTER);
    c.addUser("kl1", "lab1", 30);
    const r = await up(c, await create(c, { kl1: "lab1" }), { kl1: "lab2" }, k);
    if (!r.killed) throw new Error("the move never froze the user");
    if (c.entries().get("kl1")!.frozen) return k;
  }
}

/** kl1 moved lab1 → lab2, its old copy on lab1 now past its grace. */
async function movedAwayLongAgo(): Promise<{ c: FakeCluster; s: StackState }> {
  jest.setSystemTime(T0);
  const c = new FakeCluster(NODES, MASTER);
  c.addUser("kl1", "lab1", 30);
  const s = (await leg(c, await create(c, { kl1: "lab1" }), "kl1", { to: "lab2" })).state;
  jest.advanceTimersByTime(2 * GRACE_S * 1000);
  return { c, s };
}

describe("a replica behind the master", () => {
  test("a move back to a node whose replica lags past the move's wait never makes the update remove the user's mailbox there", async () => {
    // The old copy on lab1 is past its grace when kl1 moves back there, and lab1's replica misses the switch.
    const { c, s: moved } = await movedAwayLongAgo();
    let s = moved;
    const from = c.version;
    c.hold = (node, v) => node === "lab1" && v > from && c.at(v).get("kl1")!.home === "lab1";
    s = (await leg(c, s, "kl1", { to: "lab1" })).state;
    expect(logged.join("")).toMatch(/replicas lab1 did not show kl1 on lab1 \(frozen\)/);
    expect(c.view("lab1").get("kl1")!.home).toBe("lab2");
    // What the update did to lab1's store, while lab1 still named lab2 the home.
    expect(logged.join("")).not.toMatch(/old copy of kl1 on lab1: removed/);
    expect(c.mailbox("lab1", "kl1")?.msgs.length).toBe(c.accepted.length);
    c.hold = undefined;
    await expectConverged(c, s, "kl1", "lab1");
  });
});

describe("a replica that does not answer", () => {
  test("an old copy due for removal on a node whose replica is down is kept and removed by a later update; the update itself succeeds", async () => {
    const { c, s: moved } = await movedAwayLongAgo();
    let s = moved;
    c.downReplicas.add("lab1");
    const left = c.mailbox("lab1", "kl1")!.msgs.length;
    logged = [];
    s = (await up(c, s, { kl1: "lab2" })).state;
    expect(logged.join("")).toMatch(/old copy of kl1 on lab1: kept until the next update \(\[lab1\] ldapsearch .*Can't contact LDAP server/);
    expect(s.outputs.oldCopies).toEqual([expect.objectContaining({ user: "kl1", node: "lab1" })]);
    expect(c.mailbox("lab1", "kl1")?.msgs.length).toBe(left);
    c.downReplicas.delete("lab1");
    s = (await up(c, s, { kl1: "lab2" })).state;
    expect(logged.join("")).toMatch(/old copy of kl1 on lab1: removed/);
    expect(s.outputs.oldCopies).toEqual([]);
    expect(c.mailbox("lab1", "kl1")).toBeUndefined();
  });
});

describe("a home changed by hand", () => {
  test("without its mail: the mail left where it was is never taken for an old copy", async () => {
    jest.setSystemTime(T0);
    const c = new FakeCluster(NODES, MASTER);
    c.addUser("kl1", "lab1", 30);
    let s = await create(c, { kl1: "lab1" });
    c.setHome("kl1", "lab2"); // by hand, no mail moved; a message then creates a new mailbox on lab2
    c.deliver("kl1", "kl1-on-lab2");
    const r = await up(c, s, { kl1: "lab2" });
    expect(r.changed).toBe(true); // the state learns the directory's home
    s = r.state;
    expect(s.outputs.oldCopies).toEqual([]);
    jest.advanceTimersByTime(10 * GRACE_S * 1000);
    expect(await previewChanges(c, s, { kl1: "lab2" }, Date.now())).toBe(false);
    expect(c.mailbox("lab1", "kl1")?.msgs.length).toBe(30);
  });
});

describe("standby copies (planning/quantum/standby-sync.ts keeps them; a move never takes one for an old copy)", () => {
  test("a move onto the standby, the old home becoming the standby: the old home's directory is the standby copy, never recorded, never removed", async () => {
    jest.setSystemTime(T0);
    const c = new FakeCluster(NODES, MASTER);
    c.addUser("kl1", "lab1", 30);
    let s = await create(c, { kl1: "lab1" }, { kl1: "lab2" });
    const r = await up(c, s, { kl1: "lab2" }, undefined, { kl1: "lab1" });
    expect(r.changed).toBe(true);
    s = r.state;
    expect(c.entries().get("kl1")).toEqual({ home: "lab2", frozen: false });
    expect(s.outputs.oldCopies).toEqual([]);
    // Long after any grace: no preview shows work, and an update (standbys unchanged) removes nothing.
    jest.advanceTimersByTime(10 * GRACE_S * 1000);
    expect(await previewChanges(c, s, { kl1: "lab2" }, Date.now(), { kl1: "lab1" })).toBe(false);
    const forced = await drive(carryOut(s.inputs, s.outputs, c.connect().nodes), new Promise<void>(() => undefined));
    expect(forced.value!.oldCopies).toEqual([]);
    expect(c.mailbox("lab1", "kl1")?.msgs.length).toBe(c.accepted.length);
    expect(logged.join("")).not.toMatch(/old copy of kl1 on lab1/);
  });

  test("a record of an old copy on what is now the standby is forgotten; a copy on a node that is neither home nor standby is removed when its grace ends, and the standby's is not", async () => {
    jest.setSystemTime(T0);
    const c = new FakeCluster(NODES, MASTER);
    c.addUser("kl1", "lab1", 30);
    // lab1 → lab2 with lab3 standing by: lab1's directory is an old copy, recorded.
    let s = await create(c, { kl1: "lab1" }, { kl1: "lab3" });
    s = (await up(c, s, { kl1: "lab2" }, undefined, { kl1: "lab3" })).state;
    expect(s.outputs.oldCopies).toEqual([{ user: "kl1", node: "lab1", since: expect.any(Number) }]);
    // Within its grace lab1 becomes the standby: the record names the standby copy now, and is
    // forgotten; lab3, given up as standby, is the old copy now.
    jest.advanceTimersByTime(1_000);
    s = (await up(c, s, { kl1: "lab2" }, undefined, { kl1: "lab1" })).state;
    expect(s.outputs.oldCopies).toEqual([{ user: "kl1", node: "lab3", since: expect.any(Number) }]);
    // kl1 moves on to lab3 (that record names its mailbox now: forgotten), lab1 still standing by: lab2's directory is the old copy.
    jest.advanceTimersByTime(1_000);
    s = (await up(c, s, { kl1: "lab3" }, undefined, { kl1: "lab1" })).state;
    expect(s.outputs.oldCopies).toEqual([{ user: "kl1", node: "lab2", since: expect.any(Number) }]);
    const moved = s.outputs.oldCopies[0].since;
    expect(await previewChanges(c, s, { kl1: "lab3" }, moved + GRACE_S * 1000 - 1, { kl1: "lab1" })).toBe(false);
    expect(await previewChanges(c, s, { kl1: "lab3" }, moved + GRACE_S * 1000, { kl1: "lab1" })).toBe(true);
    jest.setSystemTime(moved + GRACE_S * 1000);
    const after = await up(c, s, { kl1: "lab3" }, undefined, { kl1: "lab1" });
    expect(after.changed).toBe(true);
    expect(after.state.outputs.oldCopies).toEqual([]);
    expect(logged.join("")).toMatch(/old copy of kl1 on lab2: removed/);
    expect(c.mailbox("lab2", "kl1")).toBeUndefined();
    expect(c.mailbox("lab1", "kl1")?.msgs.length).toBeGreaterThan(0);
    expect(c.mailbox("lab3", "kl1")?.msgs.length).toBe(c.accepted.length);
  });
});

describe("the decisions, one by one (where one move stands: test/quantum/protocol.test.ts)", () => {
  test("the work: users off their file home, and users left frozen (finished where they are when the file does not name them)", () => {
    const dir = [
      { uid: "a", home: "n1", frozen: false },
      { uid: "b", home: "n1", frozen: false },
      { uid: "c", home: "n2", frozen: true },
      { uid: "d", home: "n2", frozen: true },
      { uid: "e", home: "n3", frozen: false },
    ];
    expect(placementWork(dir, { a: "n1", b: "n2", c: "n2", d: "n1" })).toEqual([
      { uid: "b", from: "n1", to: "n2" },
      { uid: "c", from: "n2", to: "n2" },
      { uid: "d", from: "n2", to: "n1" },
    ]);
  });

  test("old copies: one record per copy (the latest wins), none on the user's home, none on a node that is gone; expired ones removed", () => {
    const now = 1_000_000;
    const left = copiesLeftBy(
      [
        { user: "a", from: "n1", to: "n2", resumed: "no" },
        { user: "b", from: "n2", to: "n2", resumed: "frozen-at-new-home" },
        { user: "c", from: "n1", to: "n3", resumed: "already-done" },
        { user: "d", from: "n2", to: "n3", resumed: "frozen-at-old-home", setAside: "/s/.d.old-1" },
      ],
      now,
    );
    expect(left).toEqual([
      { user: "a", node: "n1", since: now },
      { user: "d", node: "n2", since: now },
      { user: "d", node: "n3", since: now, path: "/s/.d.old-1" },
    ]);
    const previous: OldCopy[] = [
      { user: "a", node: "n1", since: now - 5_000 }, // left again: its grace starts again
      { user: "e", node: "n1", since: now - 5_000 }, // e lives on n1 again: its mailbox, forgotten
      { user: "e", node: "n1", since: now - 5_000, path: "/s/.e.old-1" }, // a set-aside copy is not the mailbox
      { user: "f", node: "n9", since: now - 99_000 }, // n9 revoked: nothing to remove
      { user: "g", node: "n2", since: now - 10_000 }, // grace over
    ];
    const homes = { a: "n2", d: "n3", e: "n1", f: "n1", g: "n1" };
    expect(settleOldCopies(previous, left, { homes, live: (n) => n !== "n9", graceSeconds: 10, now })).toEqual({
      keep: [
        { user: "a", node: "n1", since: now },
        { user: "e", node: "n1", since: now - 5_000, path: "/s/.e.old-1" },
        { user: "d", node: "n2", since: now },
        { user: "d", node: "n3", since: now, path: "/s/.d.old-1" },
      ],
      remove: [{ user: "g", node: "n2", since: now - 10_000 }],
    });
    // The diff counts the same: an expired record of the user's home is no work.
    expect(expiredOldCopies(previous, homes, 10, now)).toEqual([{ user: "f", node: "n9", since: now - 99_000 }, { user: "g", node: "n2", since: now - 10_000 }]);
  });

  test("old copies and standbys: the user's own directory on its standby is the standby copy (forgotten, neither kept nor removed); a copy on a node that is neither home nor standby is removed after its grace; a set-aside copy always counts", () => {
    const now = 1_000_000;
    const previous: OldCopy[] = [
      { user: "a", node: "n1", since: now - 20_000 }, // a's standby: the standby copy, forgotten though past its grace
      { user: "a", node: "n3", since: now - 20_000 }, // neither home nor standby: removed
      { user: "b", node: "n2", since: now - 5_000 }, // b's standby, within the grace: forgotten, not kept
      { user: "b", node: "n3", since: now - 5_000 }, // neither, within the grace: kept
      { user: "c", node: "n2", since: now - 20_000, path: "/s/.c.old-1" }, // set aside on c's standby: still an old copy
    ];
    const homes = { a: "n2", b: "n1", c: "n1" };
    const standbys = { a: "n1", b: "n2", c: "n2" };
    expect(settleOldCopies(previous, [], { homes, standbys, live: () => true, graceSeconds: 10, now })).toEqual({
      keep: [{ user: "b", node: "n3", since: now - 5_000 }],
      remove: [
        { user: "a", node: "n3", since: now - 20_000 },
        { user: "c", node: "n2", since: now - 20_000, path: "/s/.c.old-1" },
      ],
    });
    // The same records as a copy a move leaves now: the one on the standby is forgotten at once.
    expect(settleOldCopies([], [{ user: "a", node: "n1", since: now }, { user: "a", node: "n3", since: now }], { homes, standbys, live: () => true, graceSeconds: 10, now })).toEqual({
      keep: [{ user: "a", node: "n3", since: now }],
      remove: [],
    });
    // Without standbys (a state written before them) every copy off the home counts.
    expect(settleOldCopies(previous, [], { homes, live: () => true, graceSeconds: 10, now }).remove).toHaveLength(3);
    // The diff counts the same.
    expect(expiredOldCopies(previous, homes, 10, now, standbys)).toEqual([
      { user: "a", node: "n3", since: now - 20_000 },
      { user: "c", node: "n2", since: now - 20_000, path: "/s/.c.old-1" },
    ]);
    expect(expiredOldCopies(previous, homes, 10, now)).toEqual([
      { user: "a", node: "n1", since: now - 20_000 },
      { user: "a", node: "n3", since: now - 20_000 },
      { user: "c", node: "n2", since: now - 20_000, path: "/s/.c.old-1" },
    ]);
    expect(expiredOldCopies(previous, homes, 10, now, { a: "n3" })).toEqual([
      { user: "a", node: "n1", since: now - 20_000 },
      { user: "c", node: "n2", since: now - 20_000, path: "/s/.c.old-1" },
    ]);
  });

  test("copies a killed update may have left unrecorded: the home the state last saw, unless a record names it", () => {
    const lastSeen = { a: "n1", b: "n1", c: "n1", d: "n2" };
    const homes = { a: "n2", b: "n1", c: "n3", e: "n1" };
    expect(unrecordedCopies(lastSeen, homes, [{ user: "c", node: "n1", since: 1 }])).toEqual([{ user: "a", node: "n1" }]);
  });
});

describe("standbys carried out (providers/impl/user-placement.ts prepareStandbys)", () => {
  test("a new standby holding a stale copy of another mailbox has it set aside; a standby given up (changed, or dropped) leaves its copy recorded as an old copy", async () => {
    const c = new FakeCluster(NODES, MASTER);
    c.addUser("k", "lab1", 3);
    // lab3 holds a copy of another mailbox of k's (other GUID: left by an earlier life of the user).
    c.stores.get("lab3")!.set(`${STORE}/k`, { guid: "stale", msgs: ["old"] });
    let s = await create(c, { k: "lab1" }, { k: "lab2" });
    expect(s.outputs.oldCopies).toEqual([]);
    // The standby moves to lab3: lab3's stale copy is set aside (kept, with its path), lab2's copy becomes an old copy.
    s = (await up(c, s, { k: "lab1" }, undefined, { k: "lab3" })).state;
    expect(c.mailbox("lab3", "k")).toBeUndefined();
    expect(s.outputs.oldCopies.map((o) => [o.node, o.path === undefined ? "own dir" : "set aside"]).sort()).toEqual([["lab2", "own dir"], ["lab3", "set aside"]]);
    // The standby is dropped (no node may hold it): lab3's copy is left as an old copy too.
    s = (await up(c, s, { k: "lab1" }, undefined, {})).state;
    expect(s.outputs.oldCopies.filter((o) => o.node === "lab3" && o.path === undefined)).toHaveLength(1);
    // The home's mailbox is never touched.
    expect(c.mailbox("lab1", "k")!.msgs).toHaveLength(3);
  });
});

describe("a promotion cut short (providers/impl/user-placement.ts carryOut)", () => {
  test("a rerun after a crash that came after the directory switch flushes every survivor's queue, so the mail deferred for the promoted user goes out now", async () => {
    const c = new FakeCluster(NODES, "lab1");
    c.addUser("p", "lab3", 2);
    // The killed run had switched p onto its standby lab2; lab3 (revoked) is not among the live nodes.
    c.setHome("p", "lab2");
    const run = c.connect();
    run.nodes.delete("lab3");
    const inputs: UserPlacementInputs = {
      ...programInputs(c, { p: "lab2" }),
      nodes: programInputs(c, {}).nodes.map((n) => (n.name === "lab3" ? { ...n, state: "revoked" as const } : n)),
      master: "lab1",
      promotedFrom: { p: "lab3" },
    };
    const before = c.ran.length;
    await drive(carryOut(inputs, {}, run.nodes), run.killed);
    const flushed = c.ran.slice(before).filter((x) => x.argv.join(" ") === "postqueue -f").map((x) => x.node).sort();
    expect(flushed).toEqual(["lab1", "lab2"]);
    expect(c.entries().get("p")).toEqual({ home: "lab2", frozen: false });
  });
});
