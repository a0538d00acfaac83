/**
 * What spam filtering costs (issue 22): mail through every MX at once with rspamd asked on port 25
 * (as deployed) and without it (every node's `smtpd_milters` emptied by hand, main.cf restored byte
 * for byte afterwards, whatever happens), alternating, `rounds` times each. Per phase: throughput
 * (accepted to delivered, all of it) and the p99 of postfix's own `delay=` for each LMTP delivery.
 * Then the filter's memory on each node (PSS of rspamd's processes and redis's). Leaves the lab up.
 */
import { labSshTarget } from "../lab";
import { sleep } from "../transports/ldap";
import { sshConnection } from "../transports/ssh";
import { restorePostfixFile } from "./postfix-restore";

export interface SpamPhase {
  readonly filter: "on" | "off";
  readonly messages: number;
  readonly delivered: number;
  readonly seconds: number;
  /** postfix's delay= of each LMTP delivery, ms. */
  readonly delaysMs: number[];
}

export interface SpamBench {
  readonly nodes: string[];
  readonly phases: SpamPhase[];
  /** Node → MB of proportional set size (rspamd's processes, redis). */
  readonly memory: Record<string, { rspamd: number; redis: number }>;
  readonly restored: string;
}

/** What the mail bench lends: its load generator and its counters (bench/mail.ts). */
export interface MailLoad {
  readonly nodes: string[];
  /** All MXes at once, each to the next node's user: resolves when every message was accepted. */
  send(perNode: number): Promise<void>;
  untilDelivered(n: number): Promise<number>;
  emptyMaildirs(): Promise<unknown>;
  /** postfix's delay= (seconds) of each bench LMTP delivery logged on `node` since `since` (epoch seconds). */
  deliveryDelays(node: string, since: string): Promise<number[]>;
}

const MAIN_CF = "/etc/postfix/main.cf";
const MAIN_CF_BACKUP = "/root/main.cf.rplan-bench-spam";

async function sh(node: string, script: string): Promise<string> {
  return (await (await sshConnection(labSshTarget(node))).exec(script, { label: script.slice(0, 60) })).stdout;
}

/** MB of PSS of the processes named `comm` on `node`. */
async function pss(node: string, comm: string): Promise<number> {
  const kb = await sh(node, `for p in $(pgrep -x ${comm}); do awk '/^Pss:/ {s+=$2} END {print s+0}' /proc/$p/smaps_rollup 2>/dev/null; done | awk '{s+=$1} END {print s+0}'`);
  return Number(kb.trim()) / 1024;
}

export async function benchSpam(load: MailLoad, rounds = 3, perNode = 100): Promise<SpamBench> {
  const deployed = await Promise.all(load.nodes.map(async (n) => (await sh(n, "postconf -h smtpd_milters")).trim()));
  if (deployed.some((m) => !m.includes(":11332"))) throw new Error(`the spam filter is not as deployed: smtpd_milters = ${deployed.join(" | ")}`);
  const phases: SpamPhase[] = [];
  const phase = async (filter: "on" | "off") => {
    await load.emptyMaildirs();
    const since = (await sh(load.nodes[0], "date +%s")).trim();
    const t = Date.now();
    await load.send(perNode);
    const delivered = await load.untilDelivered(perNode * load.nodes.length);
    const seconds = (Date.now() - t) / 1000;
    const delaysMs = (await Promise.all(load.nodes.map((n) => load.deliveryDelays(n, since)))).flat().map((d) => d * 1000);
    phases.push({ filter, messages: perNode * load.nodes.length, delivered, seconds, delaysMs });
  };
  const setAll = (script: string) => Promise.all(load.nodes.map((n) => sh(n, script)));
  // Warm: rspamd's first scans compile its rules. From empty Maildirs, so that the wait is for these
  // very messages (with earlier ones left, it ended at once and the first run counted 303/300).
  await load.emptyMaildirs();
  await load.send(5);
  await load.untilDelivered(5 * load.nodes.length);
  let restored = "";
  try {
    for (let r = 0; r < rounds; r++) {
      await phase("on");
      await setAll(`[ -e ${MAIN_CF_BACKUP} ] || cp -p ${MAIN_CF} ${MAIN_CF_BACKUP}; postconf -e 'smtpd_milters=' && postfix reload 2>/dev/null`);
      await sleep(1000); // new smtpd processes for new connections
      await phase("off");
      await setAll(`cp -p ${MAIN_CF_BACKUP} ${MAIN_CF} && postfix reload 2>/dev/null`);
      await sleep(1000);
    }
  } finally {
    const checks = await setAll(restorePostfixFile(MAIN_CF, MAIN_CF_BACKUP));
    const now = await Promise.all(load.nodes.map(async (n) => (await sh(n, "postconf -h smtpd_milters")).trim()));
    if (checks.some((c) => !["same", "untouched"].includes(c.trim())) || now.some((m, i) => m !== deployed[i])) throw new Error(`main.cf NOT RESTORED on some node (${MAIN_CF_BACKUP} kept): ${now.join(" | ")}`);
    restored = `main.cf on every node ${checks.every((c) => c.trim() === "same") ? "identical to before (content, mode, owner)" : "untouched"}; smtpd_milters as deployed`;
  }
  const memory: SpamBench["memory"] = {};
  for (const n of load.nodes) memory[n] = { rspamd: await pss(n, "rspamd"), redis: await pss(n, "redis-server") };
  return { nodes: load.nodes, phases, memory, restored };
}
