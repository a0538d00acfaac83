/**
 * Standby copies on the lab, through the real program: every user gets a standby in another country;
 * the home's replicator carries new mail, flags and expunges there within seconds and nothing written
 * on the standby flows back; a standby that is down leaves the home serving, its lag reported, and
 * catches up; a replicator killed mid-round (its dsync, then itself) converges; and a seizure —
 * `state: revoked` on a node that keeps running, mail arriving through the survivors, the runner killed
 * mid-promotion and run again — promotes its users onto their standbys with their mail and flags,
 * without contacting it.
 *
 * Own placement file and state; leaves the lab down (lab3 was seized). Needs root and the lab (3 nodes):
 * `sudo RPLAN_LAB_KEEP=1 npx jest --runInBand test/quantum/standby.lab.test.ts`.
 */
import { execFile, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { labDown, labSshTarget, labStackConfigPath } from "../../lab";
import { LAB_DOMAIN } from "../../lab/stack-config";
import { SSH_KEY as LAB_SSH_KEY, nodeDir } from "../../lab/state";
import { LAB_STACK_FILES } from "../../lab/stack-files";
import { sshaHash } from "../../planning/ldap";
import { RPLAN_PROJECT_DIR, runStack } from "../../runner";
import { sleep } from "../../transports/ldap";
import { INTERNAL_LMTP_TIMEOUTS } from "../../planning/mail/routing";
import { closeAllSsh, sshConnection } from "../../transports/ssh";
import { acceptedLogins, controlLogin } from "../support/lab-logins";
import { labWithExactly } from "../support/lab";
import { upKilledAt } from "../support/killed-up";
import { manageSieve } from "../support/managesieve";

const maybe = process.getuid?.() === 0 ? describe : describe.skip;
const SUFFIX = LAB_DOMAIN.split(".").map((p) => `dc=${p}`).join(",");
const RUN = Date.now().toString(36);
const PLACEMENT = `placement.lab-standby-${RUN}.yaml`;
/** Users of this run only: a lab kept from an earlier run holds mailboxes (and standby copies) of its own users. */
const U = { a1: `a1-${RUN}`, a2: `a2-${RUN}`, b1: `b1-${RUN}` };
const COUNTRY: Record<string, string> = { lab1: "NL", lab2: "DE", lab3: "SE" };
const env = { RPLAN_SSH_KEY: LAB_SSH_KEY };
const password = (uid: string) => `secret-of-${uid}`;
const host = (node: string) => labSshTarget(node).host;

async function sh(node: string, script: string): Promise<{ code: number; out: string }> {
  const r = await (await sshConnection(labSshTarget(node))).run(["sh", "-c", script], { allowFailure: true });
  return { code: r.code, out: r.stdout + r.stderr };
}
function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: RPLAN_PROJECT_DIR, env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (e, stdout, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
  });
}
/** Subject → the MX that acknowledged it and the queue id it answered (to trace a message that went missing). */
const queuedAs = new Map<string, { via: string; queueId: string }>();
/** Until `probe` returns true (polling every 250 ms); the ms it took. */
async function within(ms: number, what: string, probe: () => Promise<boolean>, explain?: () => Promise<string>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms${explain ? ` (${await explain()})` : ""}`);
    await sleep(250);
  }
}

maybe("standby copies on the lab", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-standby-"));
  const stateFile = path.join(work, "state.json");
  const configFile = path.join(work, "Pulumi.lab.yaml");
  const revokedFile = path.join(work, "revoked", "Pulumi.lab.yaml");
  const placementPath = path.join(RPLAN_PROJECT_DIR, PLACEMENT);
  const stack = (op: "up" | "preview" | "refresh", log?: (l: string) => void, configPath = configFile) => runStack({ op, stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile: configPath, env, log });
  /** An up whose plan no test reads: one pass, no preview first (\`pulumi up --skip-preview\`). */
  const upNoPreview = (log?: (l: string) => void, configPath = configFile) => runStack({ op: "up", skipPreview: true, stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile: configPath, env, log });
  const cli = (args: string[]) => run("npx", ["ts-node", ...args, "--stack", "lab", "--config", configFile]);

  /** uid → [standby node] as the replicator's map on `node` has it. */
  async function standbyMap(node: string): Promise<Record<string, string>> {
    const r = await sh(node, "grep -v '^#' /etc/rplan/standby.map");
    return Object.fromEntries(r.out.split("\n").filter(Boolean).map((l) => l.split(" ").slice(0, 2) as [string, string]));
  }
  async function directoryHome(uid: string, on = "lab1"): Promise<string> {
    return (await sh(on, `ldapsearch -Q -LLL -Y EXTERNAL -H ldapi:/// -b uid=${uid},ou=people,${SUFFIX} -s base rplanHome | sed -n 's/^rplanHome: //p'`)).out.trim();
  }
  /** Files in the user's Maildir on `node` whose Subject starts with `subject`: `flags:<maildir flags>`, or `new` (no flags yet). */
  async function copies(node: string, uid: string, subject: string): Promise<string[]> {
    const dir = `/srv/crypt/mail/${uid}/Maildir`;
    const r = await sh(node, `grep -l -a -r -F 'Subject: ${subject}' ${dir}/cur ${dir}/new 2>/dev/null | sed 's/.*:2,/flags:/; s/.*\\/new\\/.*/new/' || true`);
    return r.out.split("\n").filter(Boolean).sort();
  }
  /**
   * One message through `via`'s port 25, as a sending MTA would: a 4xx is tried again (`tries` times,
   * 5 s apart), a 5xx is final. Why a message was not taken shows in the run's output.
   */
  async function send(uid: string, subject: string, via: string, tries = 3): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const r = await run("swaks", ["--helo", "client.example.net", "--timeout", "30", "--server", `${host(via)}:25`, "--from", "sender@example.net", "--to", `${uid}@${LAB_DOMAIN}`, "--header", `Subject: ${subject}`, "--body", subject]);
      if (r.code === 0) {
        queuedAs.set(subject, { via, queueId: /queued as ([0-9A-Za-z]+)/.exec(r.out)?.[1] ?? "?" });
        return true;
      }
      const replies = r.out.split("\n").filter((l) => /^(<~?|\*\*\*)/.test(l)).slice(-6).join("\n");
      console.log(`standby lab: ${via} did not take ${subject} (attempt ${attempt} of ${tries}):\n${replies}`);
      if (attempt >= tries || !/^<~?\*{0,3} ?4\d\d[ -]/m.test(replies)) return false;
      await sleep(5000);
    }
  }
  function imap(uid: string, node: string, command: string, folder = "INBOX"): string {
    const r = spawnSync("curl", ["-sSk", "--max-time", "60", "-u", `${uid}:${password(uid)}`, `imaps://${host(node)}/${folder}`, "-X", command], { encoding: "utf8" });
    return r.stdout + r.stderr;
  }
  const searchIds = (uid: string, node: string, subject: string) => (/^\* SEARCH(.*)$/m.exec(imap(uid, node, `SEARCH SUBJECT "${subject}"`))?.[1] ?? "").trim().split(/\s+/).filter(Boolean);
  /** The replicator's status line of `uid` on its home: [standby, state, lastOk, pendingSince, lastLag, message]. */
  async function status(home: string, uid: string): Promise<string[]> {
    return (await sh(home, `cat /run/rplan-standby/${uid}.status 2>/dev/null`)).out.trim().split("\t").slice(1);
  }

  beforeAll(async () => {
    await labWithExactly(3);
    const config = YAML.parse(fs.readFileSync(labStackConfigPath(), "utf8"));
    config.config["rplan:placement"] = PLACEMENT;
    fs.writeFileSync(configFile, YAML.stringify(config));
    const revoked = YAML.parse(YAML.stringify(config));
    revoked.config["rplan:nodes"].find((n: { name: string }) => n.name === "lab3").state = "revoked";
    fs.mkdirSync(path.dirname(revokedFile), { recursive: true });
    fs.writeFileSync(revokedFile, YAML.stringify(revoked));
    fs.writeFileSync(placementPath, YAML.stringify({ limits: { maxBytesMoved: 5_000_000_000, concurrency: 2, graceSeconds: 30 }, pins: {}, users: {} }));
    await upNoPreview();
    for (const [uid, home] of [[U.a1, "lab3"], [U.a2, "lab3"], [U.b1, "lab1"]]) {
      const put = await run("npx", ["ts-node", "cli/ldap.ts", "user", "put", uid, "--mail", `${uid}@${LAB_DOMAIN}`, "--home", home, "--password-hash", sshaHash(password(uid), `uid=${uid},ou=people,${SUFFIX}`), "--config", configFile]);
      if (put.code !== 0) throw new Error(`user put ${uid}: ${put.out}`);
    }
    const sync = await cli(["cli/placement.ts", "sync"]);
    if (sync.code !== 0) throw new Error(`placement sync: ${sync.out}`);
    await stack("refresh");
    const preview: string[] = [];
    await stack("preview", (l) => preview.push(l));
    // The preview names every standby the update gives.
    for (const uid of [U.a1, U.a2, U.b1]) expect(preview.join("\n")).toMatch(new RegExp(`${uid}: standby lab\\d \\(new\\)`));
    await upNoPreview();
  }, 900_000);
  afterAll(async () => {
    // A seized server never comes back as it was: the lab is taken down, so the suites after this one
    // get fresh servers (not a lab3 cut out of the mesh and the directory, holding copies of users who
    // live elsewhere now). Seen in a shared run: a later suite's moves waited for lab3's replica forever.
    await closeAllSsh();
    fs.rmSync(placementPath, { force: true });
    await labDown();
  });

  test("every user has a standby in another country; mail, flags and expunges reach it within seconds; what is written on the standby never flows back", async () => {
    const map = await standbyMap("lab1");
    // (A lab kept from earlier runs has their users too: `placement sync` adopts every directory user.)
    const homes: Record<string, string> = { [U.a1]: "lab3", [U.a2]: "lab3", [U.b1]: "lab1" };
    for (const [uid, home] of Object.entries(homes)) expect({ uid, other: map[uid] in COUNTRY && COUNTRY[map[uid]] !== COUNTRY[home] }).toEqual({ uid, other: true });

    const standby = map[U.a1];
    const subject = `rep-${RUN}`;
    for (const [i, via] of ["lab1", "lab2", "lab3"].entries()) expect(await send(U.a1, `${subject}-${i}`, via)).toBe(true);
    // A message an MX routed while the home's replica did not have the new user yet is deferred (not
    // lost) and retried a minute later: the queues are flushed while waiting, as the test is about
    // replication, not the retry timer.
    let flushed = 0;
    await within(60_000, "delivery on the home", async () => {
      if (Date.now() - flushed > 3000) await Promise.all(["lab1", "lab2", "lab3"].map((n) => sh(n, "postqueue -f"))).then(() => (flushed = Date.now()));
      return (await copies("lab3", U.a1, subject)).length === 3;
    });
    const lag = await within(60_000, "the three messages on the standby", async () => (await copies(standby, U.a1, subject)).length === 3);
    console.log(`standby lab: 3 messages on the standby ${lag} ms after their delivery on the home`);

    // A flag set over IMAP (through a node that is not the home: proxied) reaches the standby; an expunge too.
    const [first, second] = searchIds(U.a1, "lab1", `${subject}-0`).concat(searchIds(U.a1, "lab1", `${subject}-1`));
    expect(imap(U.a1, "lab1", `STORE ${first} +FLAGS (\\Flagged)`)).not.toMatch(/NO|BAD/);
    await within(60_000, "the flag on the standby", async () => (await copies(standby, U.a1, `${subject}-0`)).some((f) => f.includes("F")), async () => `replicator: ${(await status("lab3", U.a1)).join(" | ")}`);
    expect(imap(U.a1, "lab1", `STORE ${second} +FLAGS (\\Deleted)`)).not.toMatch(/NO|BAD/);
    expect(imap(U.a1, "lab1", "EXPUNGE")).not.toMatch(/NO|BAD/);
    await within(60_000, "the expunge on the standby", async () => (await copies(standby, U.a1, `${subject}-1`)).length === 0, async () => `home: ${(await copies("lab3", U.a1, `${subject}-1`)).join(",") || "expunged"}; standby: ${(await copies(standby, U.a1, `${subject}-1`)).join(",")}; replicator: ${(await status("lab3", U.a1)).join(" | ")}`);
    expect(await copies("lab3", U.a1, `${subject}-1`)).toEqual([]);

    // The user's sieve script, set through a node that is not the home, is part of the copy too.
    const script = `require ["fileinto"];\nif header :contains "subject" "elsewhere-${RUN}" { fileinto "Elsewhere"; }\n`;
    const a1 = { uid: U.a1, password: password(U.a1) };
    expect((await manageSieve(sh, "lab2", "lab1", a1, "--upload --localsieve {file} --remotesieve rules", script)).out).toBe("");
    expect((await manageSieve(sh, "lab2", "lab1", a1, "--activate --remotesieve rules")).code).toBe(0);
    const sieveOn = async (node: string) => (await sh(node, `cat /srv/crypt/mail/${U.a1}/sieve/rules.sieve; readlink /srv/crypt/mail/${U.a1}/.dovecot.sieve`)).out;
    expect(await sieveOn("lab3")).toBe(`${script}sieve/rules.sieve\n`);
    const sieveLag = await within(30_000, "the sieve script on the standby", async () => (await sieveOn(standby)) === `${script}sieve/rules.sieve\n`);
    console.log(`standby lab: the sieve script on the standby ${sieveLag} ms after it was uploaded`);

    // Written on the standby by hand (a folder with a message): never on the home, and gone from the
    // standby at the next backup, which makes the copy equal to the home's.
    const planted = `/srv/crypt/mail/${U.a1}/Maildir/.Planted-${RUN}`;
    const w = await sh(standby, `runuser -u mail -- sh -c "mkdir -p ${planted}/cur ${planted}/new ${planted}/tmp && printf 'From: x@example.net\\nSubject: planted\\n\\nx\\n' > ${planted}/new/planted.lab"`);
    expect(w.code).toBe(0);
    const there = async (node: string) => (await sh(node, `test -e ${planted} && echo yes || echo no`)).out.trim();
    expect(await there(standby)).toBe("yes");
    expect(await send(U.a1, `${subject}-after`, "lab2")).toBe(true);
    await within(30_000, "the next message on the standby", async () => (await copies(standby, U.a1, `${subject}-after`)).length === 1);
    await within(60_000, "the planted folder gone from the standby", async () => (await there(standby)) === "no");
    expect(await there("lab3")).toBe("no");
    expect(imap(U.a1, "lab2", 'LIST "" "*"', "")).not.toContain("Planted");
    const [, state] = await status("lab3", U.a1);
    expect(state).toBe("ok");
  }, 600_000);

  test("a standby that is down: the home keeps serving, the lag is reported, and the copy catches up by itself", async () => {
    const standby = (await standbyMap("lab1"))[U.b1];
    const subject = `down-${RUN}`;
    await sh(standby, "systemctl stop dovecot");
    try {
      for (let i = 0; i < 4; i++) expect(await send(U.b1, `${subject}-${i}`, i % 2 ? "lab1" : "lab2")).toBe(true);
      await within(60_000, "delivery on the home", async () => searchIds(U.b1, "lab1", subject).length === 4);
      await within(30_000, "the replicator reporting the standby down", async () => (await status("lab1", U.b1))[1] === "failing");
      const [, , , since] = await status("lab1", U.b1);
      expect(Number(since)).toBeGreaterThan(0);
      // The admin's view: `npm run placement -- standby` names the user failing, with its lag, and exits 1.
      const down = await cli(["cli/placement.ts", "standby"]);
      expect({ code: down.code, row: down.out.split("\n").find((l) => l.includes(U.b1)) }).toEqual({ code: 1, row: expect.stringMatching(new RegExp(`${U.b1}.*lab1.*${standby}.*failing`)) });
      expect(await copies(standby, U.b1, subject)).toEqual([]);
    } finally {
      await sh(standby, "systemctl start dovecot");
    }
    // Caught up: the four messages there and the round that carried them finished (its status written after).
    const caughtUp = await within(120_000, "the standby catching up", async () => (await copies(standby, U.b1, subject)).length === 4 && (await status("lab1", U.b1))[1] === "ok");
    expect((await cli(["cli/placement.ts", "standby"])).out.split("\n").find((l) => l.includes(U.b1))).toMatch(/ ok .*0\.0 s/);
    console.log(`standby lab: caught up ${caughtUp} ms after the standby came back`);
  }, 600_000);

  test("the replicator killed mid-pass — its copy three times, then itself: the next rounds converge, every message once on the standby", async () => {
    const standby = (await standbyMap("lab1"))[U.b1];
    const subject = `kill-${RUN}`;
    const pidFile = "/run/rplan-standby/.replicator.pid";
    const replicatorBefore = (await sh("lab1", `cat ${pidFile}`)).out.trim();
    // Rounds with work enough to be caught running: before each, 100 messages of 20 KB that do not
    // compress are written into the home's Maildir (a killed round stays due and is retried at once).
    // Each kill waits for the user's round to be running (its dsync), then SIGKILLs it; the last one
    // kills the replicator itself during a round, and that round's dsync with it.
    // The first message makes sure the mailbox exists (this test may run alone).
    expect(await send(U.b1, `${subject}-0`, "lab2")).toBe(true);
    await within(60_000, "the first message on the home", async () => (await copies("lab1", U.b1, `${subject}-0`)).length === 1);
    const batch = `batch() { runuser -u mail -- sh -c 'for i in $(seq "$1" "$2"); do { printf "From: x@example.net\\nSubject: %s-%s\\nMessage-ID: <%s-%s@example.net>\\n\\n" "$3" $i "$3" $i; head -c 15000 /dev/urandom | base64 -w 76; } > "$4/k$i.lab1"; done' sh "$1" "$2" ${subject} /srv/crypt/mail/${U.b1}/Maildir/new; }`;
    expect((await sh("lab1", `${batch}; batch 1 100`)).code).toBe(0);
    const killer = sh(
      "lab1",
      `${batch}; u=${U.b1}
      running() { for i in $(seq 400); do pgrep -f -- "doveadm backup .* -u $u tcp:" >/dev/null && return 0; sleep 0.05; done; return 1; }
      n=0
      for k in 1 2 3; do running && pkill -9 -f -- "doveadm backup .* -u $u tcp:" && n=$((n + 1)); batch $((k * 100 + 1)) $((k * 100 + 100)); done
      echo "dsync killed $n"
      running && kill -9 "$(cat ${pidFile})" && pkill -9 -f -- "doveadm backup .* -u $u tcp:" && echo "replicator killed"`,
    );
    // A delivery reports the change: the round starts.
    expect(await send(U.b1, `${subject}-00`, "lab2")).toBe(true);
    const killed = (await killer).out;
    expect(killed).toContain("dsync killed 3");
    expect(killed).toContain("replicator killed");
    // dovecot starts a new replicator (process_min_avail), whose first pass covers every user homed here.
    const converged = await within(
      180_000,
      "every message once on the standby",
      async () => (await copies(standby, U.b1, `${subject}-`)).length === 402 && (await status("lab1", U.b1))[1] === "ok",
      async () => `${(await copies(standby, U.b1, `${subject}-`)).length} there; replicator: ${(await status("lab1", U.b1)).join(" | ")}`,
    );
    expect((await sh("lab1", `cat ${pidFile}`)).out.trim()).not.toBe(replicatorBefore);
    // Exactly once each: the 402 distinct Subject lines, no file twice.
    const subjects = (await sh(standby, `grep -h -a -r '^Subject: ${subject}-' /srv/crypt/mail/${U.b1}/Maildir/cur /srv/crypt/mail/${U.b1}/Maildir/new | sort -u | wc -l`)).out.trim();
    expect(subjects).toBe("402");
    console.log(`standby lab: after 3 dsyncs and the replicator killed mid-round, the standby converged ${converged} ms later`);
  }, 600_000);

  test("seizure: lab3 revoked while it runs and mail arrives through the survivors, the runner killed mid-promotion and run again; its users are promoted onto their standbys with mail and flags, mail waiting for them flows, lab3 is never contacted", async () => {
    const map = await standbyMap("lab1");
    const subject = `seize-${RUN}`;
    for (const uid of [U.a1, U.a2]) for (let i = 0; i < 3; i++) expect(await send(uid, `${subject}-${uid}-${i}`, "lab1")).toBe(true);
    for (const uid of [U.a1, U.a2]) await within(60_000, `${uid}'s mail on its standby`, async () => (await copies(map[uid], uid, `${subject}-${uid}`)).length === 3, async () => `home: ${(await copies("lab3", uid, `${subject}-${uid}`)).length} there; replicator: ${(await status("lab3", uid)).join(" | ")}`);
    const flagged = searchIds(U.a2, "lab3", `${subject}-${U.a2}-0`)[0];
    expect(imap(U.a2, "lab3", `STORE ${flagged} +FLAGS (\\Flagged)`)).not.toMatch(/NO|BAD/);
    await within(60_000, "the flag on the standby", async () => (await copies(map[U.a2], U.a2, `${subject}-${U.a2}-0`)).some((f) => f.includes("F")));

    // Mail the standby never got: lab3's replicator no longer names a1's standby, so two messages
    // reach lab3 alone. Only the survivors' spare copies ("delivered twice") can bring them back.
    await sh("lab3", `sed -i '/^${U.a1} /d' /etc/rplan/standby.map`);
    const stale = [`${subject}-stale-1`, `${subject}-stale-2`];
    for (const s of stale) expect(await send(U.a1, s, "lab1")).toBe(true);
    await within(30_000, "the stale messages on lab3", async () => (await Promise.all(stale.map((s) => copies("lab3", U.a1, s)))).every((c) => c.length === 1));
    await sleep(3000);
    // The precondition, checked: they are not on the standby (without the spares they would be lost).
    for (const s of stale) expect(await copies(map[U.a1], U.a1, s)).toEqual([]);

    const lab3 = await sshConnection(labSshTarget("lab3"));
    const loginsBefore = await acceptedLogins(lab3);
    // Mail keeps arriving through the survivors while the revocation runs.
    const accepted: { uid: string; subject: string; at: number }[] = [];
    let sending = true;
    let n = 0;
    const sender = (async () => {
      while (sending) {
        const i = ++n;
        const uid = i % 2 ? U.a1 : U.a2;
        const s = `${subject}-load-${uid}-${i}`;
        if (await send(uid, s, i % 3 ? "lab1" : "lab2", 1)) accepted.push({ uid, subject: s, at: Date.now() });
        await sleep(200);
      }
    })();
    const log: string[] = [];
    const preview: string[] = [];
    let upStart = 0;
    try {
      await sleep(2000);
      await stack("preview", (l) => preview.push(l), revokedFile);
      upStart = Date.now();
      // The runner killed mid-promotion: after the directory switch, before the queues and the spares.
      const killed = await upKilledAt(/\[promote\] \S+: lab3 \(revoked\) → /, { stateFile, configFile: revokedFile, env });
      expect(killed).not.toMatch(/\[promote\] spare copies:/);
      for (const uid of [U.a1, U.a2]) expect({ uid, home: await directoryHome(uid) }).toEqual({ uid, home: map[uid] });
      // The rerun converges: nothing more to switch; it flushes the queues and hands the spares over.
      await upNoPreview((l) => log.push(l), revokedFile);
      await sleep(2000);
    } finally {
      sending = false;
      await sender;
    }
    console.log(log.filter((l) => l.includes("[promote]")).join("\n"));
    for (const uid of [U.a1, U.a2]) expect(preview.join("\n")).toContain(`${uid}: lab3 (revoked) → ${map[uid]}, promoted`);
    for (const uid of [U.a1, U.a2]) expect(await directoryHome(uid)).toBe(map[uid]);

    // Everything: what the standby held before, and every message the survivors accepted meanwhile.
    for (const uid of [U.a1, U.a2]) {
      await within(120_000, `${uid}'s mail on its new home`, async () => searchIds(uid, "lab1", `${subject}-${uid}-`).length === 3);
    }
    // Mail a survivor accepted more than the replication lag (5 s) before the revocation began was on
    // the standby: none of it may be lost. Younger mail could have reached lab3 in its last seconds on
    // the VPN and is counted (the bench reports it).
    const LAG = 5000;
    const old = accepted.filter((a) => a.at < upStart - LAG);
    const young = accepted.filter((a) => a.at >= upStart - LAG);
    expect(old.length).toBeGreaterThan(5);
    const present = async (a: { uid: string; subject: string }) => searchIds(a.uid, "lab2", a.subject).length >= 1;
    await within(120_000, "every older message on its new home", async () => (await Promise.all(old.map(present))).every(Boolean));
    // What a survivor deferred meanwhile (a delivery that met lab3 going, or the new home busy) is
    // flushed and given time: a message still in a queue is late, not lost. A delivery that was under
    // way to lab3 when the VPN cut it off ends only at the internal hop's end-of-data timeout, then
    // goes to the new home (seen in CI: deferred after 120 s, delivered 14 s later).
    const dataDoneMs = Number(INTERNAL_LMTP_TIMEOUTS.lmtp_data_done_timeout.replace(/s$/, "")) * 1000;
    const queued = async () => (await Promise.all(["lab1", "lab2"].map((n) => sh(n, "postqueue -f; sleep 1; postqueue -j | wc -l")))).reduce((t, r) => t + Number(r.out.trim()), 0);
    await within(dataDoneMs + 60_000, "the survivors' queues empty", async () => (await queued()) === 0).catch(() => undefined);
    // Counted in the new homes' Maildirs, the whole Subject line (IMAP SEARCH matches substrings: "-1"
    // finds "-13"; and a burst of IMAP logins can be refused, which is not a loss).
    const exactly = async (uid: string, subject: string) => Number((await sh(map[uid], `grep -l -a -r -E '^Subject: ${subject}\r?$' /srv/crypt/mail/${uid}/Maildir/cur /srv/crypt/mail/${uid}/Maildir/new 2>/dev/null | wc -l`)).out.trim());
    /**
     * Where a message went: its MX's log lines for its queue id (cleanup names its Message-ID), the
     * spare it kept, its queue entry; then by Message-ID the new home's log lines and any folder that
     * holds it there, and lab3's log lines, read from the host (lab3 is not contacted).
     */
    const traceMessage = async (a: { uid: string; subject: string; at: number }, t0: number) => {
      const q = queuedAs.get(a.subject) ?? { via: "?", queueId: "?" };
      const onVia = q.via === "?" ? "" : (await sh(q.via, `grep -a -F ' ${q.queueId}:' /var/log/rplan.log | tail -n 12; echo '-- spare:'; grep -l -a -r -F '${a.subject}' /srv/crypt/held/${a.uid} 2>/dev/null; echo '-- queue:'; postqueue -j | grep -F '${q.queueId}'`)).out;
      const mid = /message-id=(<[^>\s]+>)/.exec(onVia)?.[1] ?? "";
      const onHome = (await sh(map[a.uid], `grep -a -F '${mid || a.subject}' /var/log/rplan.log | tail -n 8; echo '-- files:'; find /srv/crypt/mail/${a.uid}/Maildir -type f \\( -path '*/cur/*' -o -path '*/new/*' -o -path '*/tmp/*' \\) -print0 | xargs -0 -r grep -l -a -F '${a.subject}'`)).out;
      const lab3Log = path.join(nodeDir("lab3"), "upper", "var", "log", "rplan.log");
      const onLab3 = !fs.existsSync(lab3Log) ? "(no log)" : fs.readFileSync(lab3Log, "utf8").split("\n").filter((l) => (mid ? l.includes(mid) : /lmtp/.test(l))).slice(-8).join("\n");
      return [`${a.subject}: accepted by ${q.via} as ${q.queueId} (${mid || "no Message-ID logged"}), ${a.at - t0} ms after the up began`, onVia, `-- on its new home ${map[a.uid]}:`, onHome, "-- lab3's log:", onLab3].join("\n");
    };
    const missing = async () => (await Promise.all(young.map(async (a) => ((await exactly(a.uid, a.subject)) === 0 ? [a] : [])))).flat();
    await within(30_000, "every younger message on its new home", async () => (await missing()).length === 0).catch(() => undefined);
    const lost = await missing();
    const arrived = young.find((a) => !lost.includes(a)) ?? old[0];
    // The tracer, checked on a message that arrived: it finds the queue id, the Message-ID and the file.
    expect(await traceMessage(arrived, upStart)).toMatch(new RegExp(`accepted by lab[12] as [0-9A-Za-z]+ \\(<[^>]+>\\)[^]*-- files:\n/srv/crypt/mail/${arrived.uid}/Maildir/`));
    console.log(`standby lab: seizure — ${old.length} older messages all kept; ${young.length - lost.length} of ${young.length} younger kept (${await queued()} still queued)`);
    if (lost.length > 0) console.log(`standby lab: seizure — not on the new home:\n${(await Promise.all(lost.map((a) => traceMessage(a, upStart)))).join("\n")}\n[promote] lines:\n${log.filter((l) => l.includes("[promote]")).join("\n")}`);
    // Delivered twice: every message a survivor acknowledged is on its new home, younger ones too, and
    // exactly once — the spares the new home already had were recognised, not handed over again.
    expect(lost.map((a) => a.subject)).toEqual([]);
    const counts = await Promise.all([...accepted, ...stale.map((subject) => ({ uid: U.a1, subject }))].map(async (a) => ({ subject: a.subject, copies: await exactly(a.uid, a.subject) })));
    expect(counts.filter((c) => c.copies !== 1)).toEqual([]);
    // The spares were looked at: at least one per message the survivors accepted before the
    // revocation began (each left one), and the two stale ones were handed over.
    const spares = /\[promote\] spare copies: (\d+) handed over \(on no standby\), (\d+) already there, (\d+) still queued/.exec(log.join("\n"));
    expect(spares).not.toBeNull();
    expect(Number(spares![1])).toBeGreaterThanOrEqual(stale.length);
    expect(Number(spares![1]) + Number(spares![2]) + Number(spares![3])).toBeGreaterThanOrEqual(accepted.filter((a) => a.at < upStart).length + stale.length);
    // A spare handed over reads as the message itself: the lines the spare's delivery added are gone
    // (positive control: the handed-over stale messages are there, and carry their own Subject).
    for (const uid of [U.a1, U.a2]) {
      const r = await sh(map[uid], `grep -l -a -r -F '${subject}' /srv/crypt/mail/${uid}/Maildir/cur /srv/crypt/mail/${uid}/Maildir/new | xargs -r grep -l -a -F '@held.rplan.invalid' | wc -l`);
      expect({ uid, withSpareLines: Number(r.out.trim()) }).toEqual({ uid, withSpareLines: 0 });
    }
    expect((await copies(map[U.a2], U.a2, `${subject}-${U.a2}-0`)).some((f) => f.includes("F"))).toBe(true);

    // Every user ends with a standby on a live node; the new home replicates it there.
    const after = await standbyMap("lab1");
    for (const uid of [U.a1, U.a2, U.b1]) expect({ uid, standby: ["lab1", "lab2"].includes(after[uid]) && after[uid] !== (await directoryHome(uid)) }).toEqual({ uid, standby: true });
    for (const uid of [U.a1, U.a2]) await within(60_000, `${uid}'s new standby`, async () => (await copies(after[uid], uid, `${subject}-${uid}-`)).length === 3);

    // lab3 was never contacted (a fresh login is counted: the count is live).
    expect(await acceptedLogins(lab3)).toBe(loginsBefore);
    await controlLogin(lab3, loginsBefore);
  }, 900_000);
});
