/**
 * `npm run bench`: every benchmark, measured side by side in one run, printed as tables.
 * Needs root (the lab). Leaves the lab down.
 */
import { labDown, readLabState } from "../lab";
import { closeAllSsh } from "../transports/ssh";
import { benchLab } from "./lab";
import { benchLdap } from "./ldap";
import { benchMail, benchQuotaRcptHere, benchQuotaRcptOnly, benchSpamHere, benchSpamOnly, benchSubmissionOnly, SubmissionBench, SubmissionPhase } from "./mail";
import type { SpamBench } from "./spam";
import type { QuotaRcptBench } from "./quota-rcpt";
import { benchMesh, meshBenchRows, parallelismRows, revocationBreakdownRows, revocationSummaryRows } from "./mesh";
import { benchMoves } from "./moves";
import { benchPlacement } from "./placement";
import { benchRunnerLoading } from "./runner";
import { benchFreshStarts, benchPlatform, freshStartRows, PARALLELISM_VARIANTS, RSPAMD_CACHE_VARIANTS } from "./platform";
import { benchSeizure, percentile } from "./seizure";
import { roundRatios, THROUGHPUT_KINDS, ThroughputKind, ThroughputRun } from "./mail-throughput";

function table(rows: Array<string[]>): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (c ?? "").padEnd(widths[i])).join(" | ")} |`;
  return [line(rows[0]), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)].join("\n");
}

const SECTIONS = ["placement", "platform", "mesh", "ldap", "mail", "moves", "seizure", "anonymity", "quota", "spam", "runner"];

async function main(): Promise<void> {
  const only = process.argv[2];
  if (only && !SECTIONS.includes(only)) {
    // A typo must not look like a benchmark that measured nothing.
    console.error(`unknown benchmark section "${only}"; sections: ${SECTIONS.join(", ")} (none = all)`);
    process.exitCode = 2;
    return;
  }
  if (!only || only === "placement") {
    console.log("## Placement (5 000 users, heavy-tailed sizes, 5 nodes of different capacity)\n");
    console.log(await benchPlacement());
  }
  if (!only || only === "platform") {
    console.log("\n## Platform (lab)\n");
    const lab = await benchLab();
    const platform = await benchPlatform(3);
    const conns = Object.values(platform.connectionsPerNode);
    const r = platform.runner;
    console.log(
      table([
        ["measure", "value"],
        ...lab.map((row): [string, string] => [row.name, `${row.seconds.toFixed(2)} s`]),
        [`first up (${r.resources} resources, preview + apply)`, `${r.upSeconds.toFixed(2)} s (preview ${r.upPreviewSeconds} s, apply ${r.upApplySeconds} s)`],
        ["no-op preview", `${r.noopPreviewSeconds.toFixed(2)} s (changes: ${r.noopPreviewChanged})`],
        ["no-op preview / first up", (r.noopPreviewSeconds / r.upSeconds).toFixed(2)],
        ["SSH connections per node during up (goal 1; on a fresh lab only those after the node's log anonymity was applied are logged)", `${conns.join(", ")} → max ${Math.max(...conns)} per node`],
      ]),
    );
    await closeAllSsh();
    console.log("\n### npm start's apply and a no-op preview: default parallelism against `--parallel 1` (a fresh lab for each, alternating)\n");
    const rounds = Number(process.env.RPLAN_BENCH_START_ROUNDS ?? 2);
    console.log(table(freshStartRows(await benchFreshStarts(PARALLELISM_VARIANTS, rounds), PARALLELISM_VARIANTS)));
    console.log("\n### npm start with rspamd's compiled cache from the lab image, against rspamd compiling it on each node (a fresh lab for each, alternating)\n");
    console.log(table(freshStartRows(await benchFreshStarts(RSPAMD_CACHE_VARIANTS, rounds), RSPAMD_CACHE_VARIANTS)));
    await labDown();
  }
  if (!only || only === "mesh") {
    console.log("\n## VPN mesh (lab, the real program through the stack runner): mesh up, rotation, revocation per survivor\n");
    const rounds = Number(process.env.RPLAN_BENCH_MESH_ROUNDS ?? 3);
    const mesh = await benchMesh({ rounds });
    console.log(table([["measure", "value"], ...meshBenchRows(mesh)]));
    const revoked = [...new Set(mesh.revocation.map((r) => r.revoked))].join(", ");
    const byDefault = mesh.revocation.filter((r) => r.parallel === "default");
    console.log(`\n### Revocation of ${revoked}, ${byDefault.length} rounds under the default parallelism (re-admitted between them): per survivor, median / max from the start of the survivors' updates\n`);
    console.log(table(revocationSummaryRows(byDefault)));
    console.log("\n### The same revocation, default parallelism against `--parallel 1` (alternating in each round)\n");
    console.log(table(parallelismRows(mesh.revocation)));
    console.log("\n### Where the time went (default parallelism): the last survivor's VPN refusal and zone reload per round, by step\n");
    console.log(table(revocationBreakdownRows(byDefault)));
    await labDown(); // it grew to 5 nodes
  }
  if (!only || only === "ldap") await ldapSection();
  if (!only || only === "mail") await mailSection();
  if (!only || only === "moves") await movesSection();
  if (!only || only === "seizure") await seizureSection();
  // Part of the mail section; alone: only the submission runs, on the lab as it is.
  if (only === "anonymity") printSubmission(await benchSubmissionOnly().finally(() => closeAllSsh()));
  if (only === "quota") printQuotaRcpt(await benchQuotaRcptOnly().finally(() => closeAllSsh()));
  if (only === "spam") printSpam(await benchSpamOnly().finally(() => closeAllSsh()));
  if (only === "runner") await runnerSection();
}

/** Alone only: on the lab as it is (applied), what loading the program and the pack costs each pass. */
async function runnerSection(): Promise<void> {
  if (!readLabState()) throw new Error("bench runner needs the lab up and applied (npm start)");
  const rounds = Number(process.env.RPLAN_BENCH_RUNNER_ROUNDS ?? 3);
  const [swc, checked] = await benchRunnerLoading(rounds);
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const cell = (xs: number[]) => `${median(xs).toFixed(1)} s (${xs.map((x) => x.toFixed(1)).join(", ")})`;
  console.log(`\n## Stack runner: loading the program and the policy pack (lab stack, nothing to do, ${rounds} rounds alternating)\n`);
  console.log(
    table([
      ["", "swc, pack not type-checked (default)", "type-checked (`--type-check`, as the Pulumi CLI loads them)", "default / type-checked"],
      ["no-op preview (one pass)", cell(swc.previewSeconds), cell(checked.previewSeconds), (median(swc.previewSeconds) / median(checked.previewSeconds)).toFixed(2)],
      ["no-op up (preview + apply)", cell(swc.upSeconds), cell(checked.upSeconds), (median(swc.upSeconds) / median(checked.upSeconds)).toFixed(2)],
    ]),
  );
}

async function movesSection(): Promise<void> {
  const goalFreezeMs = 2000;
  const b = await benchMoves().finally(() => closeAllSsh());
  const mbps = (bytes: number, ms: number) => (bytes / 1e6 / (ms / 1000));
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const rows: string[][] = [["measure", "value", "ratio/goal"]];
  if (b.big) {
    const move = mbps(b.big.bytes, b.big.move.totalMs);
    const raw = mbps(b.big.bytes, b.big.rsyncMs);
    rows.push(
      [`move throughput, ${b.big.mb} MB Maildir (${b.big.messages} × 100 KB) lab1 → lab2: the program (\`up\`, move totalMs) / raw \`rsync -a\` to an rsync daemon on lab2's VPN address`, `${move.toFixed(1)} MB/s (${(b.big.move.totalMs / 1000).toFixed(1)} s) / ${raw.toFixed(1)} MB/s (${(b.big.rsyncMs / 1000).toFixed(1)} s)`, `${(move / raw).toFixed(2)} (goal ≥ 0.8)`],
      [`freeze window, ${b.big.mb} MB user (goal ≤ ${goalFreezeMs} ms)`, `${b.big.move.freezeMs} ms`, (b.big.move.freezeMs / goalFreezeMs).toFixed(2)],
      [`  where it went (ms)`, Object.entries(b.big.move.freezePhases ?? {}).map(([p, ms]) => `${p} ${ms}`).join(", "), ""],
    );
  }
  if (b.bigOntoStandby) {
    const m = b.bigOntoStandby;
    rows.push(
      [`move by promotion, ${b.big?.mb} MB user onto its standby (lab2 → lab3): freeze (goal ≤ ${goalFreezeMs} ms)`, `${m.freezeMs} ms`, (m.freezeMs / goalFreezeMs).toFixed(2)],
      [`  the whole move (copies only what replication had not)`, `${(m.totalMs / 1000).toFixed(1)} s, against ${((b.big?.move.totalMs ?? 0) / 1000).toFixed(1)} s to a third node`, b.big ? (m.totalMs / b.big.move.totalMs).toFixed(2) : ""],
      [`  where the freeze went (ms)`, Object.entries(m.freezePhases ?? {}).map(([p, ms]) => `${p} ${ms}`).join(", "), ""],
    );
  }
  if (b.small) {
    const f = b.small.rounds.map((r) => r.freezeMs);
    rows.push(
      [`freeze window, ${(b.small.bytes / 1e6).toFixed(0)} MB user, 3 moves by promotion (lab1 → lab2 → lab1 → lab2, each onto its standby) under 10 msg/s`, `${f.join(", ")} ms`, ""],
      [`freeze window, ${(b.small.bytes / 1e6).toFixed(0)} MB user: median / max (goal ≤ ${goalFreezeMs} ms)`, `${median(f)} / ${Math.max(...f)} ms`, (Math.max(...f) / goalFreezeMs).toFixed(2)],
      ...b.small.rounds.map((r, i): [string, string, string] => [`  move ${i + 1}: where it went (ms)`, Object.entries(r.freezePhases ?? {}).map(([p, ms]) => `${p} ${ms}`).join(", "), ""]),
    );
    if (b.big) rows.push([`freeze growth: ${b.big.mb} MB user / ${(b.small.bytes / 1e6).toFixed(0)} MB user's median (goal: not growing)`, `${b.big.move.freezeMs} / ${median(f)} ms`, (b.big.move.freezeMs / median(f)).toFixed(2)]);
    const m = b.small.mail;
    rows.push([`mail during those moves through random MXes: sent / accepted / delivered to the new home / duplicated`, `${m.sent} / ${m.accepted} / ${m.delivered} / ${m.duplicated}`, ""], ["accepted − delivered = LOST (must be 0)", `${m.accepted} − ${m.delivered} = ${m.lost}`, ""]);
  }
  for (const p of b.previews) rows.push([`no-op preview, ${p.users} placed users (the up before it: ${p.upSeconds.toFixed(1)} s)`, `${p.seconds.toFixed(1)} s (changes: ${p.changed ? "YES" : "none"})`, p.users === 5000 ? `${(p.seconds / 20).toFixed(2)} of 20 s` : ""]);
  if (b.stateBytes !== undefined) rows.push(["state file after the 5 000-user up (goal ≤ 10 MB)", `${(b.stateBytes / 1e6).toFixed(2)} MB`, (b.stateBytes / 10e6).toFixed(3)]);
  rows.push(
    ["UserPlacement `__provider` text (thinProviderSource)", `${b.providerSourceBytes} B`, ""],
    ["compiled implementation: user-placement.js / with the project modules it loads", `${(b.implBytes / 1000).toFixed(1)} KB / ${(b.implClosureBytes / 1000).toFixed(1)} KB (${b.implClosureModules} modules)`, ""],
  );
  console.log(`\n## Moves (lab, 3 nodes, the real program through the stack runner; placement with one UserPlacement resource)\n`);
  console.log(table(rows));
  // The lab stays up: other work may be using it.
}

async function seizureSection(): Promise<void> {
  const b = await benchSeizure().finally(() => closeAllSsh());
  const p = (q: number) => `${percentile(b.lagMs, q)} ms`;
  const perMsg = (bytes: number, messages: number) => `${Math.round(bytes / Math.max(1, messages))} B`;
  console.log(`\n## Standby copies and a seizure (lab, 3 nodes; ${b.users} users homed on lab3, ~10 msg/s through lab1 and lab2; lab3 revoked while it runs)\n`);
  console.log(
    table([
      ["measure", "value", "goal"],
      [`replication lag, standby − home, per message (${b.lagMs.length} of ${b.messages} seen on both; 250 ms polling)`, `p50 ${p(50)}, p99 ${p(99)}, max ${Math.max(...b.lagMs)} ms`, "p99 ≤ 5 000 ms"],
      [`promotion: start of the revocation's up → every user reads its mail on the new home`, `${(b.promotionMs / 1000).toFixed(1)} s${b.placementDoneMs !== undefined ? ` (placement step done at ${(b.placementDoneMs / 1000).toFixed(1)} s` : " ("}${b.promoteStepMs !== undefined ? `, the promote step itself ${b.promoteStepMs} ms)` : ")"}`, "≤ 10 s for 100 users"],
      ["messages accepted by the survivors / lost older than the p99 lag before the revocation", `${b.accepted} / ${b.lostOlder}`, "0"],
      ["lost younger (accepted by a survivor in the last p99-lag before or during the revocation)", `${b.lostYounger} of ${b.younger}`, "0 (delivered twice: the survivors' spares)"],
      ["disk: standby copies / homes (bytes)", `${b.standbyBytes} / ${b.homeBytes} = ${(b.standbyBytes / Math.max(1, b.homeBytes)).toFixed(2)}`, "≈ 1 (every mailbox twice)"],
      [
        `VPN bytes per 10 KB message through lab1/lab2, standby on / off (${b.cost.on.messages} / ${b.cost.off.messages} messages, side by side)`,
        `${perMsg(b.cost.on.vpnBytes, b.cost.on.messages)} / ${perMsg(b.cost.off.vpnBytes, b.cost.off.messages)} = ${(b.cost.on.vpnBytes / b.cost.on.messages / (b.cost.off.vpnBytes / b.cost.off.messages)).toFixed(2)}`,
        "≈ 2 (each message carried to the home, then to the standby)",
      ],
      ["disk: the survivors' spare copies per message (kept an hour)", `${perMsg(b.cost.on.spareBytes + b.cost.off.spareBytes, b.cost.on.messages + b.cost.off.messages)}`, "report"],
    ]),
  );
}

async function mailSection(): Promise<void> {
  // Open SSH connections would keep the process (and the lab lock of whoever runs it) alive on failure.
  const b = await benchMail().finally(() => closeAllSsh());
  console.log(`\n## Mail routing (lab, ${b.nodes} nodes, one user homed on each; 10 KB messages from smtp-source on the nodes)\n`);
  console.log(
    table([
      ["measure", "value", "ratio"],
      [`delivery latency p50: non-home MX / home MX (${b.latency.samples} messages, postfix delay=)`, `${b.latency.remoteP50.toFixed(0)} ms / ${b.latency.homeP50.toFixed(0)} ms`, (b.latency.remoteP50 / b.latency.homeP50).toFixed(2)],
      ["delivery latency p99: non-home MX / home MX", `${b.latency.remoteP99.toFixed(0)} ms / ${b.latency.homeP99.toFixed(0)} ms`, (b.latency.remoteP99 / b.latency.homeP99).toFixed(2)],
      [`forwarded fraction (random MX and recipient, ${b.forwarded.messages} messages) / (N−1)/N`, `${b.forwarded.fraction.toFixed(3)} / ${b.forwarded.expected.toFixed(3)}`, (b.forwarded.fraction / b.forwarded.expected).toFixed(2)],
      ["accepted − delivered = LOST (must be 0)", `${b.accepted} − ${b.delivered} = ${b.accepted - b.delivered}`, ""],
    ]),
  );
  printThroughput(b.throughput, b.nodes);
  printSubmission(b.submission);
  printQuotaRcpt(await benchQuotaRcptHere().finally(() => closeAllSsh()));
  printSpam(await benchSpamHere().finally(() => closeAllSsh()));
  // The lab stays up: other work may be using it.
}

/** Throughput three ways side by side (bench/mail-throughput.ts), then where the CPU time goes. */
function printThroughput(runs: ThroughputRun[], nodes: number): void {
  const of = (k: ThroughputKind) => runs.filter((r) => r.kind === k);
  // Over all rounds of a kind: messages delivered at the first try / seconds they took.
  const rate = (rs: ThroughputRun[]) => rs.reduce((a, r) => a + r.firstTry, 0) / rs.reduce((a, r) => a + r.seconds, 0);
  const retried = runs.flatMap((r) => r.retriedDelaysMs);
  const lost = runs.some((r) => r.delivered < r.messages);
  const sessions = runs[0]?.sessions ?? 0;
  // All rounds together, then the lowest and highest round (./mail-throughput.ts roundRatios).
  const ratio = (a: ThroughputKind, b: ThroughputKind) => {
    const each = roundRatios(runs, a, b);
    return `${(rate(of(a)) / rate(of(b))).toFixed(2)} (rounds ${each[0]?.toFixed(2)}–${each[each.length - 1]?.toFixed(2)})`;
  };
  console.log(`\n### Throughput: 10 KB messages from smtp-source on the nodes, ${sessions} sessions in all each way (split over the sending nodes); forwarding (every MX to the next node's user) / the same with every MX's spare copies off / every MX to its own user / one node to its own user, alternating\n`);
  console.log(
    table([
      ["run", "how", "delivered", "at the first try", "throughput (first try)", "deferred, then retried"],
      ...runs.map((r, i) => [`${i + 1}`, r.kind, `${r.delivered}/${r.messages}`, `${r.firstTry}`, `${(r.firstTry / r.seconds).toFixed(1)} msg/s`, r.retriedDelaysMs.length === 0 ? "0" : `${r.retriedDelaysMs.length}, p99 delay ${percentile(r.retriedDelaysMs, 99).toFixed(0)} ms`]),
      [`forwarding / every node locally (all rounds, and the lowest–highest round; what forwarding costs: the same ${nodes} nodes, the same load; goal ≥ 0.8)`, "", lost ? "VOID: not all delivered" : "", "", ratio("forwarding", "every node locally"), ""],
      [`forwarding with no spare copies / every node locally (the spare copy is what keeps a message its seized home had not yet copied to the standby)`, "", "", "", ratio("forwarding, no spare copies", "every node locally"), ""],
      [`forwarding / one node locally`, "", "", "", ratio("forwarding", "one node locally"), ""],
      [`every node locally / one node locally (nothing forwarded: ${nodes} nodes' daemons in one machine's 2 cores and caches)`, "", "", "", ratio("every node locally", "one node locally"), ""],
      ["deliveries deferred, then retried (all runs; not in the throughput)", "", "", "", "", retried.length === 0 ? "none" : `${retried.length}, p99 delay ${percentile(retried, 99).toFixed(0)} ms`],
    ]),
  );
  const groups = [...new Set(runs.flatMap((r) => Object.keys(r.cpuMs)))].sort();
  const perMessage = (k: ThroughputKind, g: string) => of(k).reduce((a, r) => a + (r.cpuMs[g] ?? 0), 0) / of(k).reduce((a, r) => a + r.messages, 0);
  const sum = (k: ThroughputKind) => groups.reduce((a, g) => a + perMessage(k, g), 0);
  console.log(`\n#### Where the CPU time goes: ms per message, every node's systemd units (cgroup cpu.stat) and gocryptfs, mean of the rounds\n`);
  console.log(
    table([
      ["", ...THROUGHPUT_KINDS, "forwarding − every node locally"],
      ...groups.map((g) => [g, ...THROUGHPUT_KINDS.map((k) => perMessage(k, g).toFixed(1)), (perMessage("forwarding", g) - perMessage("every node locally", g)).toFixed(1)]),
      ["total", ...THROUGHPUT_KINDS.map((k) => sum(k).toFixed(1)), (sum("forwarding") - sum("every node locally")).toFixed(1)],
    ]),
  );
}

/** Spam filtering on and off, through every MX at once, alternating; then its memory per node. */
function printSpam(b: SpamBench): void {
  const pct = (xs: number[], q: number) => percentile(xs, q * 100);
  const rate = (p: { delivered: number; seconds: number }) => p.delivered / p.seconds;
  const of = (f: "on" | "off") => b.phases.filter((p) => p.filter === f);
  const sum = (ps: SpamBench["phases"], k: "delivered" | "seconds") => ps.reduce((a, p) => a + p[k], 0);
  const total = (f: "on" | "off") => ({ delivered: sum(of(f), "delivered"), seconds: sum(of(f), "seconds") });
  const lost = b.phases.some((p) => p.delivered < p.messages);
  console.log(`\n### Spam filtering: 10 KB messages from smtp-source on each of ${b.nodes.length} nodes to its own port 25, each to the next node's user; rspamd asked (as deployed) or not (smtpd_milters emptied), alternating\n`);
  console.log(
    table([
      ["run", "spam filter", "messages delivered", "throughput", "delivery p50", "delivery p99"],
      ...b.phases.map((p, i) => [`${i + 1}`, p.filter === "on" ? "on (as deployed)" : "off", `${p.delivered}/${p.messages}`, `${rate(p).toFixed(1)} msg/s`, `${pct(p.delaysMs, 0.5).toFixed(0)} ms`, `${pct(p.delaysMs, 0.99).toFixed(0)} ms`]),
      [
        "ratio on/off (all runs)",
        "",
        lost ? "VOID: not all delivered" : "",
        (rate(total("on")) / rate(total("off"))).toFixed(2),
        (pct(of("on").flatMap((p) => p.delaysMs), 0.5) / pct(of("off").flatMap((p) => p.delaysMs), 0.5)).toFixed(2),
        (pct(of("on").flatMap((p) => p.delaysMs), 0.99) / pct(of("off").flatMap((p) => p.delaysMs), 0.99)).toFixed(2),
      ],
      ["restored", b.restored, "", "", "", ""],
    ]),
  );
  console.log("\n#### Memory of the filter per node (proportional set size, after the runs)\n");
  console.log(table([["node", "rspamd", "redis"], ...Object.entries(b.memory).map(([n, m]) => [n, `${m.rspamd.toFixed(0)} MB`, `${m.redis.toFixed(1)} MB`])]));
}

/** The quota check at RCPT: each RCPT's round trip with the home asked over the VPN and without, alternating. */
function printQuotaRcpt(b: QuotaRcptBench): void {
  const ok = b.phases.every((p) => p.refused.length === 0);
  const pct = (xs: number[], q: number) => percentile(xs, q * 100);
  const all = (check: "on" | "off") => b.phases.filter((p) => p.check === check).flatMap((p) => p.ms);
  console.log(`\n### Quota check at RCPT: ${b.via}:25 from this machine, a recipient homed on ${b.home} (its quota-status asked over the VPN), 50 RCPTs per session, no DATA\n`);
  console.log(
    table([
      ["run", "quota check", "RCPTs", "p50", "p99", "refused"],
      ...b.phases.map((p, i) => [`${i + 1}`, p.check === "on" ? "on (as deployed)" : "off (a no-op class)", `${p.ms.length}`, `${pct(p.ms, 0.5).toFixed(2)} ms`, `${pct(p.ms, 0.99).toFixed(2)} ms`, p.refused.length ? p.refused[0] : "0"]),
      ["ratio on/off (all runs)", "", "", (pct(all("on"), 0.5) / pct(all("off"), 0.5)).toFixed(2), (pct(all("on"), 0.99) / pct(all("off"), 0.99)).toFixed(2), ok ? "" : "VOID: refusals"],
      ["restored", b.restored, "", "", "", ""],
    ]),
  );
}

/** The anonymisation overhead: submission with and without the header rewriting, side by side. */
function printSubmission(sub: SubmissionBench): void {
  const on = sub.phases.filter((p) => p.rewriting === "on");
  const off = sub.phases.filter((p) => p.rewriting === "off");
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
  const accRate = (p: SubmissionPhase) => p.accepted / p.acceptedSeconds;
  const delRate = (p: SubmissionPhase) => p.delivered / p.deliveredSeconds;
  console.log(
    `\n### Anonymisation overhead: submission on ${sub.node}:587 (STARTTLS + AUTH PLAIN, ${sub.sessions} sessions in parallel from this machine, many messages per session; ~3 KB messages with User-Agent/X-Mailer/X-Originating-IP, to a user homed on ${sub.node})\n`,
  );
  console.log(
    table([
      ["run", "header rewriting", "accepted (250 after DATA)", "delivered (in the Maildir)", "sample delivered message rewritten"],
      ...sub.phases.map((p, i) => [
        `${i + 1}`,
        p.rewriting === "on" ? "on (clean_submission, as deployed)" : "off (plain cleanup)",
        `${p.accepted}/${p.messages} in ${p.acceptedSeconds.toFixed(2)} s = ${accRate(p).toFixed(1)} msg/s`,
        `${p.delivered} in ${p.deliveredSeconds.toFixed(2)} s = ${delRate(p).toFixed(1)} msg/s`,
        p.sampleRewritten ? "yes" : "no",
      ]),
      ["ratio on/off (mean of the on runs / the off run)", "", (mean(on.map(accRate)) / mean(off.map(accRate))).toFixed(2), (mean(on.map(delRate)) / mean(off.map(delRate))).toFixed(2), ""],
      ["restored", sub.restored, "", "", ""],
    ]),
  );
}

async function ldapSection(): Promise<void> {
  const goalLagMs = 100;
  const goalSwitchMs = 5000;
  const b = await benchLdap(Number(process.env.RPLAN_BENCH_LDAP_WRITES ?? 1000));
  console.log(`\n## LDAP (lab, 3 nodes: master lab1, replicas lab2 core and lab3 member)\n`);
  console.log(
    table([
      ["measure", "value", "ratio to goal"],
      [`replication lag p50 over ${b.writes} writes (until the last replica has it)`, `${b.lag.p50.toFixed(1)} ms`, (b.lag.p50 / goalLagMs).toFixed(3)],
      [`replication lag p99 (goal ≤ ${goalLagMs} ms)`, `${b.lag.p99.toFixed(1)} ms`, (b.lag.p99 / goalLagMs).toFixed(3)],
      ["replication lag max", `${b.lag.max.toFixed(1)} ms`, (b.lag.max / goalLagMs).toFixed(3)],
      ["one replica read over SSH (measurement floor)", `${b.readFloorMs.toFixed(2)} ms`, (b.readFloorMs / b.lag.p50).toFixed(3) + " of p50"],
      ...b.switches.flatMap((s) => [
        [`switch ${s.from} → ${s.to}: freeze → caught up → promoted (goal ≤ ${goalSwitchMs} ms)`, `${s.promotedMs} ms`, (s.promotedMs / goalSwitchMs).toFixed(3)],
        [`switch ${s.from} → ${s.to}: longest gap between acknowledged writes (50 ms writer)`, `${s.longestGapMs} ms`, (s.longestGapMs / goalSwitchMs).toFixed(3)],
        [`switch ${s.from} → ${s.to}: whole \`up\` (runner: preview + apply)`, `${s.upSeconds.toFixed(1)} s`, ""],
        [`switch ${s.from} → ${s.to}: writes acknowledged / refused / LOST (must be 0)`, `${s.acked} / ${s.refused} / ${s.lost}`, ""],
      ] as Array<[string, string, string]>),
    ]),
  );
  await closeAllSsh();
  await labDown();
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exitCode = 1;
});
