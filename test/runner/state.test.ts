import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { makeSecret } from "../../runner/props";
import { ResourceState, StateStore } from "../../runner/state";
import { isZombie, lockState } from "../../runner/state-lock";

const SECRET = "correct-horse-battery-staple";

function resource(name: string, extra: Partial<ResourceState> = {}): ResourceState {
  return {
    urn: `urn:pulumi:t::p::x:y:Z::${name}`,
    type: "x:y:Z",
    name,
    parent: "",
    custom: true,
    id: `${name}-id`,
    inputs: { password: makeSecret(SECRET), plain: "visible" },
    outputs: { password: makeSecret(SECRET), nested: { token: makeSecret([SECRET]) } },
    dependencies: [],
    propertyDependencies: {},
    ...extra,
  };
}

function fresh(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "runner-state-")), "state.json");
}

const open = (file: string, passphrase = "pw") => StateStore.open(file, { project: "p", stack: "t", passphrase });

describe("state file", () => {
  it("never holds a secret in clear, in the journal or the snapshot, and reads it back", () => {
    const file = fresh();
    const s = open(file);
    s.begin(resource("a"), "creating");
    s.put(resource("a"), "creating");
    expect(fs.readFileSync(s.journalFile, "utf8")).not.toContain(SECRET);
    s.compact();
    const text = fs.readFileSync(file, "utf8");
    expect(text).not.toContain(SECRET);
    expect(text).toContain("visible");
    expect(text).toContain('"ciphertext": "v1:');
    expect(JSON.parse(text).secretsProviders.type).toBe("passphrase");
    expect(fs.existsSync(s.journalFile)).toBe(false);
    expect(open(file).live(resource("a").urn)?.outputs).toEqual(resource("a").outputs);
  });

  it("refuses a wrong passphrase, and a missing one, with a clear message", () => {
    const file = fresh();
    const s = open(file);
    s.put(resource("a"));
    s.compact();
    expect(() => open(file, "nope")).toThrow(/incorrect passphrase for .*state\.json/);
    expect(() => StateStore.open(file, { project: "p", stack: "t" })).toThrow(/holds secrets: set PULUMI_CONFIG_PASSPHRASE/);
  });

  it("after a crash, replays the journal: finished steps kept, the step in flight reported", () => {
    const file = fresh();
    const s = open(file);
    s.put(resource("a"), "creating");
    s.begin(resource("b"), "creating"); // the process dies here
    const again = open(file);
    expect(again.live(resource("a").urn)).toBeDefined();
    expect(again.live(resource("b").urn)).toBeUndefined();
    expect(again.pendingOperations()).toEqual([{ urn: resource("b").urn, type: "x:y:Z", operation: "creating" }]);
  });

  it("ignores a journal line cut short, and never replays what the snapshot already holds", () => {
    const file = fresh();
    const s = open(file);
    s.put(resource("a"));
    const journal = fs.readFileSync(s.journalFile, "utf8");
    s.drop(resource("a"));
    s.compact();
    fs.writeFileSync(s.journalFile, journal + '{"seq": 99, "kind": "put", "reso'); // stale line + torn line
    const again = open(file);
    expect(again.all()).toEqual([]);
  });

  it("a replacement's new half and its old half's doom are one journal line", () => {
    const file = fresh();
    const s = open(file);
    s.put(resource("a"));
    const lines = () => fs.readFileSync(s.journalFile, "utf8").trim().split("\n").length;
    const before = lines();
    const old = s.putReplacement(resource("a", { id: "new-id" }), "creating");
    expect(lines()).toBe(before + 1);
    expect(old).toMatchObject({ id: "a-id", delete: true });
    expect(s.live(resource("a").urn)?.id).toBe("new-id");
    const again = open(file);
    expect(again.all().map((r) => [r.id, !!r.delete])).toEqual([
      ["a-id", true],
      ["new-id", false],
    ]);
  });

  it("a line cut short by a crash does not swallow the next run's first line", () => {
    const file = fresh();
    open(file).put(resource("a"));
    fs.appendFileSync(`${file}.journal`, '{"seq": 2, "kind": "put", "reso'); // killed mid-write
    const s = open(file);
    s.put(resource("b"));
    expect(open(file).all().map((r) => r.name)).toEqual(["a", "b"]);
  });

  it("a mutating run forgets interrupted updates and deletes but keeps interrupted creates until they are redone", () => {
    const file = fresh();
    const s = open(file);
    s.put(resource("a"));
    s.begin(resource("a"), "updating");
    s.begin(resource("b"), "creating"); // killed here
    const next = open(file);
    next.settleInterrupted();
    expect(next.pendingOperations().map((p) => p.operation)).toEqual(["creating"]);
    next.compact(); // the next run ends (or is killed again) before creating b: still reported
    expect(open(file).pendingOperations()).toEqual([{ urn: resource("b").urn, type: "x:y:Z", operation: "creating" }]);
    const last = open(file);
    last.begin(resource("b"), "creating");
    last.put(resource("b"), "creating");
    last.compact();
    expect(open(file).pendingOperations()).toEqual([]);
    expect(open(file).clearPendingCreates()).toEqual([]);
  });

  it("locks the state for one mutating run; a lock left by a dead process is taken over", () => {
    const file = fresh();
    const unlock = lockState(file, "up", () => undefined);
    expect(() => lockState(file, "destroy", () => undefined)).toThrow(/locked by a running up \(pid \d+/);
    unlock();
    fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: 2 ** 22 + 1, what: "up", since: "earlier" }));
    const warnings: string[] = [];
    lockState(file, "up", (l) => warnings.push(l))();
    expect(warnings[0]).toMatch(/taking over the lock of a run that is gone/);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });

  it("a lock held by a zombie (a run killed with its parent, not reaped yet) is taken over; one held by a live process is not", async () => {
    // sh starts `sleep 0`, then becomes `sleep 30`, which never reaps it: a zombie while the sleep runs.
    const sh = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
    try {
      const zombie = Number((await new Promise<Buffer>((resolve) => sh.stdout!.once("data", resolve))).toString().trim());
      for (const end = Date.now() + 5000; !isZombie(zombie) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
      expect(isZombie(zombie)).toBe(true);
      expect(isZombie(sh.pid!)).toBe(false);
      const file = fresh();
      fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: sh.pid, what: "up", since: "now" }));
      expect(() => lockState(file, "up", () => undefined)).toThrow(new RegExp(`locked by a running up \\(pid ${sh.pid},`));
      fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: zombie, what: "up", since: "earlier" }));
      const warnings: string[] = [];
      lockState(file, "up", (l) => warnings.push(l))();
      expect(warnings).toEqual([expect.stringMatching(new RegExp(`taking over the lock of a run that is gone \\(pid ${zombie},`))]);
    } finally {
      sh.kill("SIGKILL");
    }
  });

  it("reads a process's state after the last parenthesis of its command name", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-proc-"));
    fs.mkdirSync(path.join(dir, "7"));
    fs.writeFileSync(path.join(dir, "7", "stat"), "7 (odd) name) Z 1 7 7 0 -1\n");
    fs.mkdirSync(path.join(dir, "8"));
    fs.writeFileSync(path.join(dir, "8", "stat"), "8 (Z) S 1 8 8 0 -1\n");
    expect([isZombie(7, dir), isZombie(8, dir), isZombie(9, dir)]).toEqual([true, false, false]);
  });
});
