/**
 * Mail routing on the lab (its N nodes as they are, one bench user homed on each): delivery latency through a
 * non-home MX against the home MX (postfix's own `delay=` of each LMTP delivery), throughput of
 * 10 KB messages through every MX at once (each forwarding to another node's home) against one
 * node delivering locally, the forwarded fraction when clients pick MX and recipient at random
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

const SUFFIX = LAB_DOMAIN.split(".").map((p) => `dc=${p}`).join(",");
/** The lab's nodes as they are (the bench never re-creates a lab other work may be using). */
let NODES: string[] = [];
let USERS: { uid: string; home: string; mail: string }[] = [];

export interface MailBench {
  readonly nodes: number;
  readonly latency: { readonly homeP50: number; readonly homeP99: number; readonly remoteP50: number; readonly remoteP99: number; readonly samples: number };
  readonly throughput: { readonly messages: number; readonly allMxSeconds: number; readonly localSeconds: number };
  readonly forwarded: { readonly fraction: number; readonly expected: number; readonly messages: number };
  readonly accepted: number;
  readonly delivered: number;
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
    // forwarded: relayed to a peer's [address]:24 (zeroed in the log); a delivery at home names the socket
    .map((l) => [Number(/ delay=([\d.]+)/.exec(l)?.[1]), /relay=[^,\s]*\[/.test(l)] as [number, boolean]);
}

export async function benchMail(messages = Number(process.env.RPLAN_BENCH_MAIL_MESSAGES ?? 600)): Promise<MailBench> {
  const lab = readLabState();
  if (!lab) throw new Error("bench mail needs a running lab (npm run lab -- up)");
  await ensureLab({ nodes: lab.nodes.length });
  NODES = lab.nodes.map((n) => n.name).sort();
  USERS = NODES.map((home, i) => ({ uid: `bm${i + 1}`, home, mail: `bm${i + 1}@${LAB_DOMAIN}` }));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-bench-mail-"));
  await runStack({ op: "up", stack: "lab", stateFile: path.join(work, "state.json"), configFile: labStackConfigPath(), env: { RPLAN_SSH_KEY: LAB_SSH_KEY } });
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

  // Throughput: every MX at once, each forwarding to the next node's user; then one node locally.
  await emptyMaildirs();
  const per = Math.ceil(messages / NODES.length);
  let t = Date.now();
  await Promise.all(NODES.map((via, i) => source(via, USERS[(i + 1) % NODES.length].mail, per, 10)));
  const deliveredAll = await untilDelivered(per * NODES.length);
  const allMxSeconds = (Date.now() - t) / 1000;
  accepted += per * NODES.length;
  await emptyMaildirs();
  t = Date.now();
  await source("lab1", USERS[0].mail, per * NODES.length, 10);
  const deliveredLocal = await untilDelivered(per * NODES.length);
  const localSeconds = (Date.now() - t) / 1000;
  accepted += per * NODES.length;

  return {
    nodes: NODES.length,
    latency: { homeP50: quantile(home, 0.5), homeP99: quantile(home, 0.99), remoteP50: quantile(remote, 0.5), remoteP99: quantile(remote, 0.99), samples: all.length },
    throughput: { messages: per * NODES.length, allMxSeconds, localSeconds },
    forwarded: { fraction: remote.length / all.length, expected: (NODES.length - 1) / NODES.length, messages: all.length },
    accepted,
    delivered: deliveredRandom + deliveredAll + deliveredLocal,
  };
}
