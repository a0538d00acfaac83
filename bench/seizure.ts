/**
 * Standby copies and a seizure on the lab (3 nodes, as they are), through the real program and the
 * stack runner, with the bench's own copy of the lab stack file, placement file and state:
 *
 * - Replication lag under load: `users` users homed on lab3 (standbys on lab1/lab2, chosen by the
 *   program), about 10 msg/s to them through lab1 and lab2 for `loadSeconds`; every 250 ms the bench
 *   lists the subjects on the home and on the standbys (one `grep` per node): lag = first seen on the
 *   standby − first seen on the home, per message, p50 / p99 / max.
 * - Seizure: the load goes on while lab3 is revoked (`up` with lab3 `revoked`); promotion = from the
 *   start of that `up` until every user reads its mail over IMAP on its new home; the promote step's
 *   own time; then queues flushed until empty, and every message a survivor accepted is looked for
 *   on its user's new home: lost, split into older than (up start − p99 lag) and younger.
 * - Cost: bytes of the users' mail on their homes and on their standbys (du), before the seizure; and
 *   first, side by side, the same 10 s of load (10 KB messages) before the users have standbys and
 *   after: bytes the nodes sent into the VPN, and bytes of the survivors' spare copies, per message.
 *
 * Bench users (`bsz-*`) are deleted from the directory at the end. Leaves the lab up.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ensureLab, labSshTarget, labStackConfigPath } from "../lab";
import { LAB_DOMAIN } from "../lab/stack-config";
import { SSH_KEY as LAB_SSH_KEY } from "../lab/state";
import { LAB_STACK_FILES } from "../lab/stack-files";
import { renderEntry, sshaHash, userEntry } from "../planning/ldap";
import { RPLAN_PROJECT_DIR, runStack } from "../runner";
import { sleep } from "../transports/ldap";
import { sshConnection } from "../transports/ssh";
import { smtpSend } from "./moves";

export interface SeizureBench {
  readonly users: number;
  readonly messages: number;
  /** Per message: standby − home, ms. */
  readonly lagMs: number[];
  readonly promotionMs: number;
  readonly promoteStepMs?: number;
  /** From the start of the revocation's up until its placement step (the promotions) was done. */
  readonly placementDoneMs?: number;
  readonly accepted: number;
  readonly lostOlder: number;
  readonly lostYounger: number;
  readonly younger: number;
  readonly homeBytes: number;
  readonly standbyBytes: number;
  /** The same load with the standby on, and off (before the users had standbys), side by side. */
  readonly cost: { on: CostPhase; off: CostPhase };
}

/** One phase of the cost measure. */
export interface CostPhase {
  readonly messages: number;
  /** Bytes every node sent into its VPN interface, summed (each byte counted once, at its sender). */
  readonly vpnBytes: number;
  /** Bytes the survivors' spare copies took (planning/mail/held.ts; each kept an hour). */
  readonly spareBytes: number;
}

const RUN = Date.now().toString(36);
const STORE = "/srv/crypt/mail";
const env = { RPLAN_SSH_KEY: LAB_SSH_KEY };
const log = (line: string) => process.stderr.write(`[bench seizure] ${line}\n`);
const password = (uid: string) => `bench-${uid}`;

async function sh(node: string, script: string, stdin?: string): Promise<string> {
  return (await (await sshConnection(labSshTarget(node))).exec(script, { label: script.slice(0, 80), stdin, allowFailure: true })).stdout;
}

/** Subject → present, for every message of this run (of one phase: `prefix`) in the given users' Maildirs on `node`. */
async function subjectsOn(node: string, uids: readonly string[], prefix = `sz-${RUN}`): Promise<Set<string>> {
  const dirs = uids.map((u) => `${STORE}/${u}/Maildir/cur ${STORE}/${u}/Maildir/new`).join(" ");
  const out = await sh(node, `grep -a -h -r -o 'Subject: ${prefix}-[0-9]*' ${dirs} 2>/dev/null || true`);
  return new Set(out.split("\n").filter(Boolean).map((l) => l.slice("Subject: ".length)));
}

const NODES = ["lab1", "lab2", "lab3"];
const sum = (xs: number[]) => xs.reduce((t, x) => t + x, 0);
/** What every node sent into the VPN so far: tinc's interface (rplan), the payload before compression. */
const vpnSent = async () => sum(await Promise.all(NODES.map(async (n) => Number((await sh(n, "awk '/^ *rplan:/ { sub(/.*rplan:/, \"\"); print $9 }' /proc/net/dev")).trim()))));
/** Bytes of the spare copies kept on the survivors. */
const sparesHeld = async () => sum(await Promise.all(["lab1", "lab2"].map(async (n) => Number((await sh(n, "du -sb /srv/crypt/held 2>/dev/null | cut -f1")).trim()) || 0)));
/** About 10 KB of text in lines SMTP takes (the VPN interface counts bytes before tinc compresses them). */
const PAD = Array.from({ length: 135 }, () => Math.random().toString(36).slice(2).repeat(7).slice(0, 75)).join("\r\n");

/**
 * `seconds` of load at `perSecond` to the users on lab3 through lab1 and lab2 (10 KB messages), until
 * the home holds all of it — and the standbys too, when `standby` — then what the VPN carried.
 */
async function costPhase(uids: readonly string[], prefix: string, seconds: number, perSecond: number, standby: boolean): Promise<CostPhase> {
  const [vpn0, held0] = [await vpnSent(), await sparesHeld()];
  const sends: Promise<boolean>[] = [];
  for (let i = 1; i <= seconds * perSecond; i++) {
    sends.push(smtpSend(labSshTarget(i % 2 ? "lab1" : "lab2").host, `${uids[i % uids.length]}@${LAB_DOMAIN}`, `${prefix}-${i}`, 25, PAD));
    await sleep(1000 / perSecond);
  }
  const messages = (await Promise.all(sends)).filter(Boolean).length;
  const until = async (what: string, probe: () => Promise<boolean>) => {
    const end = Date.now() + 90_000;
    while (!(await probe())) {
      if (Date.now() > end) throw new Error(`cost phase ${prefix}: ${what} not within 90 s`);
      await sleep(500);
    }
  };
  await until("every message on the home", async () => (await subjectsOn("lab3", uids, prefix)).size === messages);
  if (standby) await until("every message on the standbys", async () => (await subjectsOn("lab1", uids, prefix)).size + (await subjectsOn("lab2", uids, prefix)).size === messages);
  await sleep(2000);
  return { messages, vpnBytes: (await vpnSent()) - vpn0, spareBytes: (await sparesHeld()) - held0 };
}

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
export { percentile };

export async function benchSeizure(opts: { users?: number; loadSeconds?: number; perSecond?: number } = {}): Promise<SeizureBench> {
  const users = opts.users ?? (Number(process.env.RPLAN_BENCH_SEIZURE_USERS) || 100);
  const loadSeconds = opts.loadSeconds ?? 30;
  const perSecond = opts.perSecond ?? 10;
  await ensureLab({ nodes: 3 });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-bench-seizure-"));
  const stateFile = path.join(work, "state.json");
  const placement = `placement.lab-bench-seizure-${RUN}.yaml`;
  const config = YAML.parse(fs.readFileSync(labStackConfigPath(), "utf8"));
  config.config["rplan:placement"] = placement;
  const configFile = path.join(work, "Pulumi.lab.yaml");
  fs.writeFileSync(configFile, YAML.stringify(config));
  config.config["rplan:nodes"].find((n: { name: string }) => n.name === "lab3").state = "revoked";
  const revokedFile = path.join(work, "revoked", "Pulumi.lab.yaml");
  fs.mkdirSync(path.dirname(revokedFile), { recursive: true });
  fs.writeFileSync(revokedFile, YAML.stringify(config));
  const placementPath = path.join(RPLAN_PROJECT_DIR, placement);
  const suffix = LAB_DOMAIN.split(".").map((p) => `dc=${p}`).join(",");
  const uids = Array.from({ length: users }, (_, i) => `bsz-${RUN}-${i}`);
  const stack = (op: "up" | "refresh", file: string, logLine?: (l: string) => void) => runStack({ op, stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile: file, env, log: logLine });
  try {
    fs.writeFileSync(placementPath, YAML.stringify({ limits: { maxBytesMoved: 5e9, concurrency: 2, graceSeconds: 3600 }, pins: {}, users: {} }));
    log("first up (own state)");
    await stack("up", configFile);
    const entries = uids.map((uid) => {
      const e = userEntry(suffix, { uid, mail: `${uid}@${LAB_DOMAIN}`, home: "lab3", passwordHash: sshaHash(password(uid), `uid=${uid},ou=people,${suffix}`) });
      return renderEntry({ dn: e.dn, attrs: e.attributes });
    });
    await sh("lab1", "ldapadd -Q -Y EXTERNAL -H ldapi:/// >/dev/null", entries.join("\n"));
    // The standby's cost, side by side: first the load while the users have no standby yet (the
    // directory homes them on lab3; the placement, and so the replicator's map, does not name them).
    log("cost: 10 s of load before the users have standbys");
    const off = await costPhase(uids, `szoff-${RUN}`, 10, perSecond, false);
    fs.writeFileSync(placementPath, YAML.stringify({ limits: { maxBytesMoved: 5e9, concurrency: 2, graceSeconds: 3600 }, pins: {}, users: Object.fromEntries(uids.map((u) => [u, { home: "lab3", bytes: 0 }])) }));
    await stack("refresh", configFile);
    await stack("up", configFile);
    const standbys = Object.fromEntries((await sh("lab1", "cat /etc/rplan/standby.map")).split("\n").filter((l) => l.startsWith("bsz-")).map((l) => l.split(" ").slice(0, 2) as [string, string]));
    // Their first rounds copy what the first load left; then the same load with the standbys on.
    const first = Date.now() + 120_000;
    while ((await subjectsOn("lab1", uids, `szoff-${RUN}`)).size + (await subjectsOn("lab2", uids, `szoff-${RUN}`)).size < off.messages && Date.now() < first) await sleep(1000);
    log("cost: the same 10 s of load with the standbys on");
    const cost = { on: await costPhase(uids, `szon-${RUN}`, 10, perSecond, true), off };

    // Load through the survivors, watched on the home and on the standbys.
    const accepted: { uid: string; subject: string; at: number }[] = [];
    const seenHome = new Map<string, number>();
    const seenStandby = new Map<string, number>();
    let n = 0;
    let sending = true;
    const inflight: Promise<void>[] = [];
    const sender = (async () => {
      while (sending) {
        const i = ++n;
        const uid = uids[i % uids.length];
        const subject = `sz-${RUN}-${i}`;
        inflight.push(smtpSend(labSshTarget(i % 2 ? "lab1" : "lab2").host, `${uid}@${LAB_DOMAIN}`, subject).then((ok) => void (ok && accepted.push({ uid, subject, at: Date.now() }))));
        await sleep(1000 / perSecond);
      }
      await Promise.all(inflight);
    })();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const [home, a, b] = await Promise.all([subjectsOn("lab3", uids), subjectsOn("lab1", uids), subjectsOn("lab2", uids)]);
        const now = Date.now();
        for (const s of home) if (!seenHome.has(s)) seenHome.set(s, now);
        for (const s of [...a, ...b]) if (!seenStandby.has(s)) seenStandby.set(s, now);
        await sleep(250);
      }
    })();
    log(`${loadSeconds} s of load at ${perSecond} msg/s to ${users} users on lab3`);
    await sleep(loadSeconds * 1000);
    watching = false;
    await watcher;
    const lagMs = [...seenHome].filter(([s]) => seenStandby.has(s)).map(([s, t]) => Math.max(0, seenStandby.get(s)! - t));
    const bytesOn = async (node: string) => Number((await sh(node, `du -scb ${uids.map((u) => `${STORE}/${u}`).join(" ")} 2>/dev/null | tail -1 | cut -f1`)).trim()) || 0;
    const homeBytes = await bytesOn("lab3");
    const standbyBytes = (await bytesOn("lab1")) + (await bytesOn("lab2"));

    log("revoking lab3 while the load goes on");
    const upStart = Date.now();
    const lines: string[] = [];
    // Every user's login and read on its new home, watched from the start of the up: a user counts
    // once its standby's own replica names the standby its home (before that, a login there is
    // proxied to lab3) and an IMAP login there reads its INBOX; 10 IMAP clients at once.
    const readable = (uid: string) =>
      new Promise<boolean>((resolve) => {
        execFile("curl", ["-sSk", "--max-time", "20", "-u", `${uid}:${password(uid)}`, `imaps://${labSshTarget(standbys[uid]).host}/INBOX`, "-X", "SEARCH ALL"], { encoding: "utf8" }, (_e, stdout) => resolve(/^\* SEARCH \d/m.test(stdout ?? "")));
      });
    const homedOn = async (node: string) => new Set((await sh(node, `ldapsearch -Q -LLL -Y EXTERNAL -H ldapi:/// -b ou=people,${suffix} '(&(rplanHome=${node})(uid=bsz-${RUN}-*))' uid | sed -n 's/^uid: //p'`)).split("\n").filter(Boolean));
    const pending = new Set(uids);
    let readableAt = 0;
    let upDone = false;
    const watch = (async () => {
      while (pending.size > 0 && Date.now() - upStart < 300_000) {
        const [on1, on2] = await Promise.all([homedOn("lab1"), homedOn("lab2")]);
        const round = [...pending].filter((u) => (standbys[u] === "lab1" ? on1 : on2).has(u));
        for (let i = 0; i < round.length; i += 10) await Promise.all(round.slice(i, i + 10).map(async (u) => (await readable(u)) && pending.delete(u)));
        if (pending.size > 0) await sleep(upDone ? 200 : 500);
      }
      readableAt = Date.now();
    })();
    let placementDoneMs: number | undefined;
    const upLog = path.join(work, "revocation-up.log");
    log(`the revocation's up, each line with its time since the up began: ${upLog}`);
    await stack("up", revokedFile, (l) => {
      lines.push(l);
      fs.appendFileSync(upLog, `${((Date.now() - upStart) / 1000).toFixed(1)}s ${l}\n`);
      if (l.includes("[promote]") && !/\[promote\] bsz-/.test(l)) log(l.trim());
      if (/placement-homes/.test(l) && /\(\d+(\.\d+)?s\)/.test(l)) placementDoneMs = Date.now() - upStart;
    });
    upDone = true;
    await watch;
    const promotionMs = readableAt - upStart;
    sending = false;
    await sender;
    const step = /\[promote\] (\d+) user\(s\) on their new homes in (\d+) ms/.exec(lines.join("\n"));

    // Deferred mail is late, not lost: flush until the survivors' queues are empty (or three minutes:
    // a delivery cut off mid-way gives up after at most the internal hop's 120 s).
    const end = Date.now() + 180_000;
    while (Date.now() < end) {
      const q = await Promise.all(["lab1", "lab2"].map((x) => sh(x, "postqueue -f; sleep 1; postqueue -j | wc -l")));
      if (q.every((r) => r.trim() === "0")) break;
      await sleep(2000);
    }
    const onNewHomes = new Set([...(await subjectsOn("lab1", uids)), ...(await subjectsOn("lab2", uids))]);
    const boundary = upStart - percentile(lagMs, 99);
    const older = accepted.filter((a) => a.at < boundary);
    const younger = accepted.filter((a) => a.at >= boundary);
    const lost = younger.filter((a) => !onNewHomes.has(a.subject));
    if (lost.length > 0) log(`lost younger, first 5: ${lost.slice(0, 5).map((a) => `${a.subject} (${a.uid} → ${standbys[a.uid]}, accepted ${((a.at - upStart) / 1000).toFixed(1)} s after the up began)`).join("; ")}`);
    return {
      users,
      messages: seenHome.size,
      lagMs,
      promotionMs,
      ...(step ? { promoteStepMs: Number(step[2]) } : {}),
      ...(placementDoneMs !== undefined ? { placementDoneMs } : {}),
      accepted: accepted.length,
      lostOlder: older.filter((a) => !onNewHomes.has(a.subject)).length,
      lostYounger: younger.filter((a) => !onNewHomes.has(a.subject)).length,
      younger: younger.length,
      homeBytes,
      standbyBytes,
      cost,
    };
  } finally {
    for (const uid of uids) await sh("lab1", `ldapdelete -Q -Y EXTERNAL -H ldapi:/// uid=${uid},ou=people,${suffix} 2>/dev/null || true`);
    fs.rmSync(placementPath, { force: true });
  }
}
