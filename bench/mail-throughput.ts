/**
 * Throughput of 10 KB messages on the lab, four ways side by side, alternating for `rounds` (5: one
 * run of 3 rounds read 0.75 and another 0.86 on the same lab, minutes apart):
 * - forwarding: every MX at once, each to the next node's user (every message crosses the VPN to
 *   its home, and leaves a spare copy on its MX);
 * - every node locally: every MX at once, each to its own user (the same load on the same shared
 *   cores, nothing forwarded): what forwarding itself costs is the difference to the first;
 * - one node locally: one MX, its own user, the whole load;
 * - forwarding, no spare copies: the first again with every MX's spare copy turned off for the run
 *   (by the lab's `spares` hook): what the copy that keeps a message when its home is seized costs.
 * The same offered load each way: `sessions` SMTP sessions in all, split evenly over the sending
 * nodes (one node alone runs them all). With 10 sessions per node against 10 for one node, the first
 * two ways ran three times the concurrency of the third on the same two cores.
 * Each run is timed to its last delivery at the first try; a delivery deferred and retried later
 * (postfix's `status=deferred`, then `sent`) is counted apart with its delay. And where the CPU time
 * goes: every node's systemd units (cgroup `cpu.stat`) and its gocryptfs process, per message.
 */
import { logSinceCommand } from "../planning/logs";
import { sleep } from "../transports/ldap";

export type ThroughputKind = "forwarding" | "forwarding, no spare copies" | "every node locally" | "one node locally";
export const THROUGHPUT_KINDS: readonly ThroughputKind[] = ["forwarding", "forwarding, no spare copies", "every node locally", "one node locally"];

export interface ThroughputRun {
  readonly kind: ThroughputKind;
  /** Which round (1…): the ways of one round ran one after another, minutes apart at most. */
  readonly round: number;
  readonly messages: number;
  /** In the users' Maildirs at the end (retried ones included). */
  readonly delivered: number;
  /** From the first message sent to the last delivery at the first try. */
  readonly seconds: number;
  readonly firstTry: number;
  /** postfix's delay= (ms) of each delivery that was deferred first and retried. */
  readonly retriedDelaysMs: number[];
  /** CPU ms per daemon group, summed over the nodes. */
  readonly cpuMs: Record<string, number>;
  /** smtp-source sessions at once, over all sending nodes. */
  readonly sessions: number;
}

export interface ThroughputLab {
  readonly nodes: string[];
  readonly users: { readonly uid: string; readonly home: string; readonly mail: string }[];
  sh(node: string, script: string): Promise<string>;
  /** smtp-source on `via` to its own port 25. */
  source(via: string, to: string, count: number, sessions: number): Promise<unknown>;
  delivered(): Promise<number>;
  emptyMaildirs(): Promise<unknown>;
  /** Turns every MX's spare copies off (false) or back as deployed (true; throws unless restored exactly). */
  spares(on: boolean): Promise<void>;
}

/** One bench LMTP delivery or deferral as the log has it. */
export interface LmtpEvent {
  readonly status: "sent" | "deferred";
  readonly queueId: string;
  /** Epoch ms of the log line. */
  readonly at: number;
  readonly delayMs: number;
}

/**
 * The awk program that picks the bench's LMTP events from a node's log: the queue ids qmgr logged
 * with the bench sender's domain (the log masks addresses, `from=<*@example.net>`), then their
 * rplan-lmtp `sent` and `deferred` lines. Spare copies (`rplan_held`) are not LMTP lines.
 */
export const LMTP_EVENTS_AWK = `$3 ~ /^postfix\\/qmgr\\[/ && /: from=<[*]@example\\.net>/ { bench[$4] = 1 } $3 ~ /^postfix\\/rplan-lmtp\\/lmtp\\[/ && / status=(sent|deferred) / && ($4 in bench) { print }`;

/** Parses the lines LMTP_EVENTS_AWK printed. */
export function parseLmtpEvents(out: string): LmtpEvent[] {
  return out.split("\n").flatMap((l) => {
    const m = /^(\S+) \S+ \S+ ([0-9A-Za-z]+): .* delay=([\d.]+),.* status=(sent|deferred) /.exec(l);
    if (!m) return [];
    // rsyslog's timestamps carry microseconds; Date takes milliseconds.
    const at = Date.parse(m[1].replace(/(\.\d{3})\d*/, "$1"));
    return [{ status: m[4] as LmtpEvent["status"], queueId: m[2], at, delayMs: Number(m[3]) * 1000 }];
  });
}

/** Deliveries at the first try, and those deferred first: by queue id across every node's events. */
export function splitRetried(events: readonly LmtpEvent[]): { firstTry: LmtpEvent[]; retried: LmtpEvent[] } {
  const deferred = new Set(events.filter((e) => e.status === "deferred").map((e) => e.queueId));
  const sent = events.filter((e) => e.status === "sent");
  return { firstTry: sent.filter((e) => !deferred.has(e.queueId)), retried: sent.filter((e) => deferred.has(e.queueId)) };
}

/**
 * Every systemd unit's CPU (µs, from its cgroup; cgroup v2 or the unified half of a hybrid tree)
 * and gocryptfs's own (it runs in the session that unlocked the mount), one `name µs` per line.
 */
export const CPU_SNAPSHOT = `base=/sys/fs/cgroup/system.slice; [ -d "$base" ] || base=/sys/fs/cgroup/unified/system.slice
for d in "$base"/*/; do u=\${d%/}; printf '%s %s\\n' "\${u##*/}" "$(sed -n 's/^usage_usec //p' "$d/cpu.stat" 2>/dev/null)"; done
hz=$(getconf CLK_TCK); for p in $(pgrep -x gocryptfs); do awk -v hz="$hz" '{ printf "gocryptfs %d\\n", ($14 + $15) * 1000000 / hz }' /proc/$p/stat; done`;

/** The groups the CPU table shows, each unit to one of them. */
export function cpuGroup(unit: string): string {
  if (unit === "gocryptfs") return "gocryptfs (the lab's stand-in for dm-crypt)";
  if (unit === "ssh.service") return "ssh sessions (smtp-source, the bench's commands)";
  if (unit === "rspamd.service" || unit === "redis-server.service") return "spam filter (rspamd, redis)";
  if (unit === "system-postfix.slice") return "postfix";
  if (unit === "dovecot.service") return "dovecot";
  if (unit === "system-tinc.slice") return "tinc (VPN)";
  if (unit === "slapd.service") return "slapd";
  if (unit === "rsyslog.service" || unit === "systemd-journald.service") return "logging (rsyslog, journald)";
  return "other";
}

/** Parses CPU_SNAPSHOT's output: unit → µs (gocryptfs's share taken out of ssh.service, where it runs). */
export function parseCpuSnapshot(out: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of out.split("\n")) {
    const [name, us] = l.trim().split(" ");
    if (name && us && /^\d+$/.test(us)) m.set(name, (m.get(name) ?? 0) + Number(us));
  }
  if (m.has("gocryptfs") && m.has("ssh.service")) m.set("ssh.service", m.get("ssh.service")! - m.get("gocryptfs")!);
  return m;
}

/** CPU ms per group between two snapshots of the same nodes. */
export function cpuBetween(before: Map<string, number>[], after: Map<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  after.forEach((a, i) => {
    for (const [unit, us] of a) {
      const d = (us - (before[i].get(unit) ?? 0)) / 1000;
      if (d > 0) out[cpuGroup(unit)] = (out[cpuGroup(unit)] ?? 0) + d;
    }
  });
  return out;
}

/**
 * Throughput of way `a` over way `b` in each round, sorted: the lab's machine is shared and noisy,
 * and the spread of these says how far one run's overall ratio can be trusted.
 */
export function roundRatios(runs: readonly ThroughputRun[], a: ThroughputKind, b: ThroughputKind): number[] {
  const rate = (r: ThroughputRun) => r.firstTry / r.seconds;
  const rounds = [...new Set(runs.map((r) => r.round))];
  return rounds
    .flatMap((n) => {
      const x = runs.find((r) => r.round === n && r.kind === a);
      const y = runs.find((r) => r.round === n && r.kind === b);
      return x && y ? [rate(x) / rate(y)] : [];
    })
    .sort((p, q) => p - q);
}

/** Sessions per sending node when `sessions` are split over `nodes` (at least one each). */
export function sessionsPerNode(sessions: number, nodes: number): number {
  return Math.max(1, Math.round(sessions / nodes));
}

export async function benchThroughput(lab: ThroughputLab, messages: number, rounds = 5, log: (l: string) => void = () => undefined, sessions = 12): Promise<ThroughputRun[]> {
  const { nodes, users } = lab;
  const per = Math.ceil(messages / nodes.length);
  const perNode = sessionsPerNode(sessions, nodes.length);
  const total = perNode * nodes.length;
  const forward = () => Promise.all(nodes.map((via, i) => lab.source(via, users[(i + 1) % nodes.length].mail, per, perNode)));
  const send: Record<ThroughputKind, () => Promise<unknown>> = {
    forwarding: forward,
    "forwarding, no spare copies": forward,
    "every node locally": () => Promise.all(nodes.map((via, i) => lab.source(via, users[i].mail, per, perNode))),
    "one node locally": () => lab.source(nodes[0], users[0].mail, per * nodes.length, total),
  };
  const snapshot = () => Promise.all(nodes.map(async (n) => parseCpuSnapshot(await lab.sh(n, CPU_SNAPSHOT))));
  const runs: ThroughputRun[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (let k = 0, again = false; k < THROUGHPUT_KINDS.length; k += again ? 0 : 1) {
      const kind = THROUGHPUT_KINDS[k];
      const noSpares = kind === "forwarding, no spare copies";
      await lab.emptyMaildirs();
      if (noSpares) await lab.spares(false);
      const count = per * nodes.length;
      const since = (await lab.sh(nodes[0], "date +%s")).trim();
      const before = await snapshot();
      const t = Date.now();
      // A 4xx refuses the rest of smtp-source's run (seen: "451 4.3.0 queue file write error" from
      // the lab's gocryptfs): that run is made again, once, after the queues have delivered.
      const failed = await send[kind]().then(() => undefined, (e: Error) => e.message);
      // Spares back as soon as the messages are accepted (the copies are made in the MX's queue step).
      if (noSpares) await lab.spares(true);
      if (failed !== undefined) {
        if (again) throw new Error(`the ${kind} run failed twice: ${failed}`);
        log(`[bench mail] round ${round}, ${kind}: run again, the load was refused: ${failed}`);
        await Promise.all(nodes.map((n) => lab.sh(n, "postqueue -f")));
        await sleep(10_000);
        again = true;
        continue;
      }
      again = false;
      // Gently: a poll every second (the bench's own commands share the cores it measures).
      let delivered = 0;
      for (const end = Date.now() + 300_000; (delivered = await lab.delivered()) < count && Date.now() < end; ) await sleep(1000);
      const cpuMs = cpuBetween(before, await snapshot());
      // This run's events only (the log's seconds overlap the last run's end), once the log has them all.
      const read = async () => (await Promise.all(nodes.map(async (n) => parseLmtpEvents(await lab.sh(n, `${logSinceCommand(`@${since}`)} | awk '${LMTP_EVENTS_AWK}'`))))).flat().filter((e) => e.at >= t);
      let events = await read();
      for (let waited = 0; events.filter((e) => e.status === "sent").length < delivered && waited < 15; waited++) events = (await sleep(1000), await read());
      const { firstTry, retried } = splitRetried(events);
      const last = firstTry.length > 0 ? Math.max(...firstTry.map((e) => e.at)) : NaN;
      // Counted in the Maildirs (the log tells which were retried, and when the last first try ended).
      const atFirstTry = delivered - retried.length;
      runs.push({ kind, round, messages: count, sessions: total, delivered, seconds: (last - t) / 1000, firstTry: atFirstTry, retriedDelaysMs: retried.map((e) => e.delayMs), cpuMs });
      log(`[bench mail] round ${round}, ${kind}: ${delivered}/${count} delivered, ${atFirstTry} at the first try in ${((last - t) / 1000).toFixed(1)} s, ${retried.length} retried (${firstTry.length + retried.length} deliveries in the log)`);
    }
  }
  return runs;
}
