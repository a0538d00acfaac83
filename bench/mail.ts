/**
 * Mail routing on the lab (its N nodes as they are, one bench user homed on each): delivery latency through a
 * non-home MX against the home MX (postfix's own `delay=` of each LMTP delivery), throughput of
 * 10 KB messages through every MX at once (each forwarding to another node's home) against every
 * node and one node delivering locally, with where the CPU time goes (./mail-throughput.ts), the forwarded fraction when clients pick MX and recipient at random
 * (against (N−1)/N), and lost = accepted − delivered. Load comes from postfix's `smtp-source` on
 * the nodes themselves. Leaves the lab up.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ensureLab, labSshTarget, labStackConfigPath, readLabState } from "../lab";
import { LAB_DOMAIN } from "../lab/stack-config";
import { SSH_KEY as LAB_SSH_KEY } from "../lab/state";
import { putUser } from "../ops/ldap-admin";
import { logSinceCommand } from "../planning/logs";
import { sshaHash } from "../planning/ldap";
import { runStack } from "../runner";
import { readClusterConfig } from "../stack-file/config";
import { sleep } from "../transports/ldap";
import { sshConnection } from "../transports/ssh";
import { benchQuotaRcpt, QuotaRcptBench } from "./quota-rcpt";
import { benchSpam, MailLoad, SpamBench } from "./spam";
import { benchThroughput, ThroughputRun } from "./mail-throughput";
import { restorePostfixFile } from "./postfix-restore";
import { submitMany } from "./smtp-submit";
import { SENDER_CHECK_PORT, SENDER_CHECK_UNIT } from "../planning/mail/sender-check";
import { LAB_STACK_FILES } from "../lab/stack-files";

const SUFFIX = LAB_DOMAIN.split(".").map((p) => `dc=${p}`).join(",");
/** The lab's nodes as they are (the bench never re-creates a lab other work may be using). */
let NODES: string[] = [];
let USERS: { uid: string; home: string; mail: string }[] = [];

export interface MailBench {
  readonly nodes: number;
  readonly latency: { readonly homeP50: number; readonly homeP99: number; readonly remoteP50: number; readonly remoteP99: number; readonly samples: number };
  readonly throughput: ThroughputRun[];
  readonly forwarded: { readonly fraction: number; readonly expected: number; readonly messages: number };
  readonly accepted: number;
  readonly delivered: number;
  /** Submission on one node's port 587 with the anonymising cleanup (as deployed), without it, and with it again. */
  readonly submission: SubmissionBench;
}

export interface SubmissionPhase {
  /** "on": `clean_submission` (header rewriting, as deployed); "off": plain `cleanup`. */
  readonly rewriting: "on" | "off";
  readonly messages: number;
  /** Until the last 250 after DATA. */
  readonly acceptedSeconds: number;
  /** Until the last one that arrived in the recipient's Maildir (those deferred by the home's LMTP come minutes later and are left out). */
  readonly deliveredSeconds: number;
  readonly accepted: number;
  readonly delivered: number;
  /** A delivered message's Received line from the submission smtpd was rewritten to localhost (the client's address gone). */
  readonly sampleRewritten: boolean;
}

export interface SubmissionBench {
  readonly node: string;
  readonly sessions: number;
  readonly phases: SubmissionPhase[];
  /** master.cf back byte for byte (content, mode, owner) and submission's cleanup_service_name as deployed. */
  readonly restored: string;
}

async function sh(node: string, script: string): Promise<string> {
  return (await (await sshConnection(labSshTarget(node))).exec(script, { label: script.slice(0, 60) })).stdout;
}
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
/** `smtp-source` on `via` to its own port 25: `count` messages of 10 KB to `to`, `sessions` in parallel. */
const source = (via: string, to: string, count: number, sessions = 5) => sh(via, `smtp-source -c -s ${sessions} -m ${count} -l 10240 -f bench@example.net -t ${to} 127.0.0.1:25 >/dev/null`);
/** Messages in each bench user's Maildir (on its home). */
async function delivered(): Promise<number> {
  const counts = await Promise.all(USERS.map(async (u) => Number((await sh(u.home, `ls /srv/crypt/mail/${u.uid}/Maildir/new 2>/dev/null | wc -l`)).trim())));
  return counts.reduce((a, b) => a + b, 0);
}
/** Waits until `n` messages are delivered (at most 5 minutes); returns how many were. */
async function untilDelivered(n: number): Promise<number> {
  for (const end = Date.now() + 300_000; ; ) {
    const got = await delivered();
    if (got >= n || Date.now() > end) return got;
    await sleep(200);
  }
}
const SPARES_MAIN_CF = "/etc/postfix/main.cf";
const SPARES_BACKUP = "/root/main.cf.rplan-bench-spares";
/**
 * Every MX's spare copies off (`recipient_bcc_maps` emptied by hand, main.cf backed up first) or back
 * (main.cf restored byte for byte; anything but "same", or "untouched" when never changed, throws).
 */
async function spares(on: boolean): Promise<void> {
  const out = await Promise.all(
    NODES.map((n) => sh(n, on ? restorePostfixFile(SPARES_MAIN_CF, SPARES_BACKUP) : `[ -e ${SPARES_BACKUP} ] || cp -p ${SPARES_MAIN_CF} ${SPARES_BACKUP}; postconf -e 'recipient_bcc_maps=' && postfix reload 2>/dev/null && echo off`)),
  );
  const bad = out.map((o, i) => [NODES[i], o.trim()]).filter(([, o]) => !(on ? ["same", "untouched"] : ["off"]).includes(o));
  if (bad.length > 0) throw new Error(`spare copies ${on ? "back" : "off"}: ${bad.map(([n, o]) => `${n}: ${o || "(nothing)"}`).join("; ")}`);
}
const emptyMaildirs = () => Promise.all(USERS.map((u) => sh(u.home, `rm -rf /srv/crypt/mail/${u.uid}/Maildir/new/* /srv/crypt/mail/${u.uid}/Maildir/cur/*`)));
/**
 * LMTP deliveries of bench messages logged since `since` on `node`: [delay seconds, forwarded?]. The
 * log masks recipients (`to=<*@domain>`), so a bench message is known by its queue id: the one qmgr
 * logged with the bench sender's domain (`from=<*@example.net>`; nothing else sends from it on the lab).
 */
async function deliveries(node: string, since: string): Promise<[number, boolean][]> {
  const pick = `$3 ~ /^postfix\\/qmgr\\[/ && /: from=<[*]@example\\.net>/ { bench[$4] = 1 } $3 ~ /^postfix\\/rplan-lmtp\\/lmtp\\[/ && / status=sent / && ($4 in bench) { print }`;
  const log = await sh(node, `${logSinceCommand(`@${since}`)} | awk '${pick}'`);
  return log
    .split("\n")
    .filter(Boolean)
    .map((l) => [Number(/ delay=([\d.]+)/.exec(l)?.[1]), forwarded(l)] as [number, boolean]);
}

/**
 * Whether a delivery's log line went to a peer: `relay=<peer>[<address>]:24` (the address zeroed in
 * the log); a delivery at home names dovecot's socket, `relay=<node>[/run/dovecot/lmtp-postfix]`.
 */
export const forwarded = (line: string): boolean => /relay=[^,\s]*\[[^\]/]*\]:\d+,/.test(line);

export async function benchMail(messages = Number(process.env.RPLAN_BENCH_MAIL_MESSAGES ?? 600)): Promise<MailBench> {
  const lab = readLabState();
  if (!lab) throw new Error("bench mail needs a running lab (npm run lab -- up)");
  await ensureLab({ nodes: lab.nodes.length });
  NODES = lab.nodes.map((n) => n.name).sort();
  USERS = NODES.map((home, i) => ({ uid: `bm${i + 1}`, home, mail: `bm${i + 1}@${LAB_DOMAIN}` }));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-bench-mail-"));
  await runStack({ op: "up", stack: "lab", stackFiles: LAB_STACK_FILES, stateFile: path.join(work, "state.json"), configFile: labStackConfigPath(), env: { RPLAN_SSH_KEY: LAB_SSH_KEY } });
  process.env.RPLAN_SSH_KEY ??= LAB_SSH_KEY;
  const cluster = readClusterConfig({ stack: "lab", configFile: labStackConfigPath() });
  for (const u of USERS) await putUser(cluster, { uid: u.uid, mail: u.mail, home: u.home, passwordHash: sshaHash(`bench-${u.uid}`, `uid=${u.uid},ou=people,${SUFFIX}`) });
  await sleep(1000); // replication is milliseconds (npm run bench ldap); the first messages must not race it
  await emptyMaildirs();
  let accepted = 0;

  // Latency and forwarding: clients pick an MX and a recipient at random, 10 messages at a time.
  const since = (await sh("lab1", "date +%s")).trim();
  const groups = Math.max(9, Math.round(messages / 20));
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];
  const picks = Array.from({ length: groups }, () => ({ via: pick(NODES), to: pick(USERS) }));
  for (const p of picks) await source(p.via, p.to.mail, 10, 1);
  accepted += groups * 10;
  const deliveredRandom = await untilDelivered(groups * 10);
  const all = (await Promise.all(NODES.map((n) => deliveries(n, since)))).flat();
  const home = all.filter(([, fwd]) => !fwd).map(([d]) => d * 1000);
  const remote = all.filter(([, fwd]) => fwd).map(([d]) => d * 1000);

  // Throughput: forwarding through every MX, every MX locally, one node locally, side by side (./mail-throughput.ts).
  const throughput = await benchThroughput({ nodes: NODES, users: USERS, sh, source, delivered, emptyMaildirs, spares }, messages, Number(process.env.RPLAN_BENCH_MAIL_ROUNDS ?? 5), (l) => console.error(l)).finally(
    () => spares(true),
  );
  accepted += throughput.reduce((a, r) => a + r.messages, 0);
  const deliveredThroughput = throughput.reduce((a, r) => a + r.delivered, 0);

  const submission = await benchSubmission(Number(process.env.RPLAN_BENCH_SUBMIT_MESSAGES ?? 200));

  return {
    nodes: NODES.length,
    latency: { homeP50: quantile(home, 0.5), homeP99: quantile(home, 0.99), remoteP50: quantile(remote, 0.5), remoteP99: quantile(remote, 0.99), samples: all.length },
    throughput,
    forwarded: { fraction: remote.length / all.length, expected: (NODES.length - 1) / NODES.length, messages: all.length },
    accepted,
    delivered: deliveredRandom + deliveredThroughput,
    submission,
  };
}

const MASTER_CF = "/etc/postfix/master.cf";
const MASTER_CF_BACKUP = "/root/master.cf.rplan-bench";
const SUBMISSION_CLEANUP_PARAM = "submission/inet/cleanup_service_name";

/**
 * Submission throughput on lab1's port 587 (STARTTLS, AUTH, `sessions` sessions in parallel from
 * this machine, to a user homed on lab1): with the anonymising cleanup as deployed, then without
 * it (submission's `cleanup_service_name` set to plain `cleanup` by hand, master.cf restored byte
 * for byte afterwards, whatever happens), then with it again.
 */
export async function benchSubmissionOnly(messages = Number(process.env.RPLAN_BENCH_SUBMIT_MESSAGES ?? 200)): Promise<SubmissionBench> {
  await benchUsersOnTheLabAsItIs();
  return benchSubmission(messages);
}

/** The quota check's cost at RCPT on the lab as it is: lab1 asking the home of a bench user homed elsewhere. */
export async function benchQuotaRcptOnly(): Promise<QuotaRcptBench> {
  await benchUsersOnTheLabAsItIs();
  return benchQuotaRcptHere();
}

/** After benchMail (its bench users exist): lab1 → the home of a bench user homed elsewhere. */
export function benchQuotaRcptHere(): Promise<QuotaRcptBench> {
  const other = USERS.find((u) => u.home !== "lab1");
  if (!other) throw new Error("the quota bench needs a second node");
  return benchQuotaRcpt("lab1", other.home, other.mail, Number(process.env.RPLAN_BENCH_QUOTA_ROUNDS ?? 3));
}

/** The spam filter's cost on the lab as it is (bench/spam.ts). */
export async function benchSpamOnly(): Promise<SpamBench> {
  await benchUsersOnTheLabAsItIs();
  return benchSpamHere();
}

/** After benchMail or benchUsersOnTheLabAsItIs: the bench users exist. */
export function benchSpamHere(): Promise<SpamBench> {
  const load: MailLoad = {
    nodes: NODES,
    send: async (perNode) => void (await Promise.all(NODES.map((via, i) => source(via, USERS[(i + 1) % NODES.length].mail, perNode, 10)))),
    untilDelivered,
    emptyMaildirs,
    deliveryDelays: async (node, since) => (await deliveries(node, since)).map(([d]) => d),
  };
  return benchSpam(load, Number(process.env.RPLAN_BENCH_SPAM_ROUNDS ?? 3), Number(process.env.RPLAN_BENCH_SPAM_MESSAGES ?? 100));
}

async function benchUsersOnTheLabAsItIs(): Promise<void> {
  const lab = readLabState();
  if (!lab) throw new Error("bench mail needs a running lab (npm run lab -- up)");
  NODES = lab.nodes.map((n) => n.name).sort();
  USERS = NODES.map((home, i) => ({ uid: `bm${i + 1}`, home, mail: `bm${i + 1}@${LAB_DOMAIN}` }));
  process.env.RPLAN_SSH_KEY ??= LAB_SSH_KEY;
  // The stack as applied to the lab (the mail section applies it); the bench users put again.
  const cluster = readClusterConfig({ stack: "lab", configFile: labStackConfigPath() });
  for (const u of USERS) await putUser(cluster, { uid: u.uid, mail: u.mail, home: u.home, passwordHash: sshaHash(`bench-${u.uid}`, `uid=${u.uid},ou=people,${SUFFIX}`) });
  await sleep(1000);
}

async function benchSubmission(messages: number, sessions = 4): Promise<SubmissionBench> {
  const node = "lab1";
  const user = USERS.find((u) => u.home === node);
  if (!user) throw new Error(`no bench user homed on ${node}`);
  const cleanupOf = async () => (await sh(node, `postconf -Ph ${SUBMISSION_CLEANUP_PARAM}`)).trim();
  const deployed = await cleanupOf();
  if (deployed !== "clean_submission") throw new Error(`${node}'s submission service uses cleanup "${deployed}", not clean_submission: not as deployed`);
  const body = Array.from({ length: 30 }, (_, i) => `line ${i} of the anonymity bench, some text to make the body near three kilobytes long....`).join("\r\n");
  const phase = async (rewriting: "on" | "off"): Promise<SubmissionPhase> => {
    await emptyMaildirs();
    // Each phase sends more than one login may in an hour (planning/mail/sender-check.ts): its
    // count, kept in memory, starts afresh.
    await sh(node, `systemctl restart ${SENDER_CHECK_UNIT} && i=0; until ss -ltn 'sport = :${SENDER_CHECK_PORT}' | grep -q LISTEN || [ $i -ge 100 ]; do i=$((i+1)); sleep 0.1; done`);
    const run = `${rewriting}-${Date.now()}`;
    const t = Date.now();
    const r = await submitMany({
      host: labSshTarget(node).host,
      port: 587,
      user: user.uid,
      password: `bench-${user.uid}`,
      from: user.mail,
      to: user.mail,
      messages,
      sessions,
      message: (i) =>
        [
          `From: <${user.mail}>`,
          `To: <${user.mail}>`,
          `Subject: anonymity bench ${run} ${i}`,
          `Message-ID: <${run}-${i}@laptop.client.example>`,
          `Date: ${new Date().toUTCString()}`,
          "User-Agent: BenchMail/1.0 (X11; Linux x86_64)",
          "X-Mailer: BenchMail 1.0",
          "X-Originating-IP: [192.0.2.99]",
          "",
          body,
        ].join("\r\n"),
    });
    const acceptedSeconds = (Date.now() - t) / 1000;
    if (r.refused.length > 0) throw new Error(`submission refused ${r.refused.length} messages, e.g. ${r.refused[0]}`);
    // The lab's gocryptfs now and then refuses LMTP a file (451, retried by postfix minutes later):
    // delivered is what arrived until nothing more came for 5 s, timed to the last arrival.
    let got = 0;
    let lastArrival = Date.now();
    for (let stalledSince = Date.now(); got < r.accepted && Date.now() - stalledSince < 5000; await sleep(100)) {
      const now = await delivered();
      if (now > got) [got, lastArrival, stalledSince] = [now, Date.now(), Date.now()];
    }
    const deliveredSeconds = (lastArrival - t) / 1000;
    const sample = await sh(node, `f=$(ls /srv/crypt/mail/${user.uid}/Maildir/new | head -n 1); sed -n '/^$/q;p' /srv/crypt/mail/${user.uid}/Maildir/new/"$f"`);
    const sampleRewritten = /^Received: from \[127\.0\.0\.1\] \(localhost \[127\.0\.0\.1\]\)/m.test(sample) && !/bench\.client\.example|^User-Agent:/m.test(sample);
    return { rewriting, messages, acceptedSeconds, deliveredSeconds, accepted: r.accepted, delivered: got, sampleRewritten };
  };
  const phases: SubmissionPhase[] = [await phase("on")];
  let restored = "";
  try {
    await sh(node, `cp -p ${MASTER_CF} ${MASTER_CF_BACKUP} && postconf -P '${SUBMISSION_CLEANUP_PARAM}=cleanup' && postfix reload 2>/dev/null`);
    await sleep(1000); // new smtpd processes for new connections
    if ((await cleanupOf()) !== "cleanup") throw new Error("could not turn the rewriting off");
    phases.push(await phase("off"));
  } finally {
    // Byte for byte, mode and owner: otherwise a refresh shows the mail daemons' HostFiles drifted.
    // No backup: the copy failed, so nothing was changed (postconf runs only after it).
    const check = await sh(
      node,
      restorePostfixFile(MASTER_CF, MASTER_CF_BACKUP),
    );
    const now = await cleanupOf();
    if (!["same", "untouched"].includes(check.trim()) || now !== "clean_submission") throw new Error(`${node}'s master.cf NOT RESTORED (${MASTER_CF_BACKUP} kept; submission cleanup now ${now})`);
    restored = `master.cf ${check.trim() === "same" ? "identical to before (content, mode, owner)" : "untouched"}; ${SUBMISSION_CLEANUP_PARAM} = ${now}`;
  }
  await sleep(1000);
  phases.push(await phase("on"));
  return { node, sessions, phases, restored };
}
