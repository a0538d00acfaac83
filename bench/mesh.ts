/**
 * VPN mesh benchmark on the lab, through the real program (index.ts) run by the stack runner:
 * mesh up from nothing with 3 and 5 nodes, rotation of one key, revocation of one node (per
 * survivor, from the start of the survivors' updates until its reload returned and until the
 * check verified that it refuses the node), repeated. The runner applies steps one at a time, so
 * the survivors' updates follow each other: a later survivor's times include the earlier ones'.
 * Grows the lab to the largest size asked for (never shrinks or tears it down).
 *
 *   npx ts-node bench/mesh.ts [--rounds 3] [--nodes 3,5]
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { ensureLab, labSshTarget, labStackConfigPath } from "../lab";
import { SSH_KEY as LAB_SSH_KEY } from "../lab/state";
import { runStack, RunResult, RunStep } from "../runner";
import { closeAllSsh, sshConnection } from "../transports/ssh";
import { LAB_STACK_FILES } from "../lab/stack-files";

export interface MeshUpRow {
  readonly nodes: number;
  /** The whole `up` of the program (preview + apply, every component). */
  readonly upMs: number;
  /** First NodeKey started → every key generated. */
  readonly keyGenerationMs: number;
  /** Last key generated → the mesh check verified the whole mesh. */
  readonly filesToVerifiedMs: number;
  /** The mesh check alone. */
  readonly verifyMs: number;
}

export interface RotationRow {
  readonly round: number;
  readonly upMs: number;
  readonly keyGenerationMs: number;
  /** New key → every member's hosts/ updated and the node restarted with it. */
  readonly distributeAndRestartMs: number;
  /** Restart → the mesh check verified the whole mesh. */
  readonly verifyMs: number;
}

/** One survivor's times in a revocation, in ms from the start of the survivors' updates. */
export interface SurvivorTimes {
  /** Its tinc reload returned (`mesh-<survivor>-tinc-hosts` done). */
  readonly reloadedMs: number;
  /** The MeshCheck's probe on it verified the refusal (null: never). */
  readonly verifiedMs: number | null;
  /** Its knot serves the zone without the revoked node: `dns-<survivor>-zone` done (its `knotc -b zone-reload` is blocking). */
  readonly dnsReloadedMs: number | null;
  /** The DnsCheck's dig from this survivor against every server no longer saw the revoked node (null: never). */
  readonly dnsVerifiedMs: number | null;
}

/** A step of the revocation's `up`, in ms from the start of the survivors' updates. */
export interface TimelineStep {
  readonly name: string;
  readonly op: string;
  readonly startMs: number;
  readonly ms: number;
}

export interface RevocationRow {
  readonly round: number;
  /** The runner's `--parallel` for this revocation's up ("default": 4 × CPUs, as `pulumi up`). */
  readonly parallel: number | "default";
  readonly revoked: string;
  readonly upMs: number;
  readonly perSurvivor: Record<string, SurvivorTimes>;
  /** Every step that changed something, from the start of the survivors' updates until both checks were done, in the order applied. */
  readonly timeline: TimelineStep[];
}

export interface MeshBench {
  readonly meshUp: MeshUpRow[];
  readonly rotation: RotationRow[];
  readonly revocation: RevocationRow[];
}

type NodeEdit = { state?: "active" | "revoked"; vpnKeyGeneration?: number };

const step = (r: Pick<RunResult, "steps">, name: string): RunStep => {
  const s = r.steps.find((x) => x.name === name);
  if (!s || s.startedAt === undefined || s.endedAt === undefined) throw new Error(`the up has no timed step ${name}`);
  return s;
};
const stepOrUndefined = (r: Pick<RunResult, "steps">, name: string): RunStep | undefined => r.steps.find((x) => x.name === name && x.startedAt !== undefined && x.endedAt !== undefined);

/**
 * A revocation's times from its `up`'s steps and the checks' outputs: per survivor, from the start
 * of the survivors' updates (the first `mesh-<s>-tinc-hosts` or `dns-<s>-zone`): its tinc reload done, its refusal verified
 * (mesh-check start + `refusedBy`), its zone reloaded (`dns-<s>-zone` done) and its dig seeing the
 * node gone (dns-check start + `goneAfterMs`); and every changing step in that window, in order.
 */
export function revocationTimes(
  rev: Pick<RunResult, "steps">,
  survivors: readonly string[],
  refusedBy: Readonly<Record<string, number | null>>,
  goneAfterMs: Readonly<Record<string, number | null>>,
): { perSurvivor: Record<string, SurvivorTimes>; timeline: TimelineStep[] } {
  // The survivors' updates: their VPN's and their zone's (the runner may apply either first).
  const zones = survivors.map((s) => stepOrUndefined(rev, `dns-${s}-zone`)).filter((z): z is RunStep => z !== undefined && z.op !== "same");
  const start = Math.min(...survivors.map((s) => step(rev, `mesh-${s}-tinc-hosts`).startedAt!), ...zones.map((z) => z.startedAt!));
  const meshCheck = step(rev, "mesh-check");
  const dnsCheck = stepOrUndefined(rev, "dns-check");
  const since = (t: number | undefined, after: number | null | undefined) => (t === undefined || typeof after !== "number" ? null : t + after - start);
  const perSurvivor = Object.fromEntries(
    survivors.map((s): [string, SurvivorTimes] => {
      const zone = stepOrUndefined(rev, `dns-${s}-zone`);
      return [
        s,
        {
          reloadedMs: step(rev, `mesh-${s}-tinc-hosts`).endedAt! - start,
          verifiedMs: since(meshCheck.startedAt, refusedBy[s]),
          dnsReloadedMs: zone && zone.op !== "same" ? zone.endedAt! - start : null,
          dnsVerifiedMs: since(dnsCheck?.startedAt, goneAfterMs[s]),
        },
      ];
    }),
  );
  const end = Math.max(meshCheck.endedAt!, dnsCheck?.endedAt ?? 0);
  const timeline = rev.steps
    .filter((x) => x.op !== "same" && x.startedAt !== undefined && x.endedAt !== undefined && x.startedAt >= start && x.startedAt <= end)
    .sort((a, b) => a.startedAt! - b.startedAt!)
    .map((x) => ({ name: x.name, op: x.op, startMs: x.startedAt! - start, ms: x.endedAt! - x.startedAt! }));
  return { perSurvivor, timeline };
}

export async function benchMesh(opts: { sizes?: number[]; rounds?: number; log?: (line: string) => void } = {}): Promise<MeshBench> {
  const sizes = opts.sizes ?? [3, 5];
  if (sizes.length === 0 || sizes.some((n, i) => !Number.isInteger(n) || n < 2 || (i > 0 && n <= sizes[i - 1]))) throw new Error(`mesh sizes must be increasing node counts of at least 2, got ${sizes.join(",")}`);
  const rounds = opts.rounds ?? 1;
  const log = opts.log ?? ((line: string) => console.log(line));
  const lab = await ensureLab({ nodes: Math.max(...sizes) });
  const all = lab.nodes.map((n) => n.name);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-bench-mesh-"));
  const env = { RPLAN_SSH_KEY: LAB_SSH_KEY };
  process.env.RPLAN_SSH_KEY ??= LAB_SSH_KEY;

  /** The lab's stack config with only the first `n` nodes, each edited as asked. */
  const config = (n: number, edits: Record<string, NodeEdit>): string => {
    const doc = parseDocument(fs.readFileSync(labStackConfigPath(), "utf8"));
    const nodes = doc.getIn(["config", "rplan:nodes"]) as any;
    while (nodes.items.length > n) nodes.items.pop();
    for (const item of nodes.items) for (const [k, v] of Object.entries(edits[item.get("name")] ?? {})) item.set(k, v);
    const file = path.join(work, `n${n}-${Date.now()}.yaml`);
    fs.writeFileSync(file, doc.toString());
    return file;
  };
  const up = (n: number, stateFile: string, edits: Record<string, NodeEdit> = {}, parallel?: number) =>
    runStack({ op: "up", stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile: config(n, edits), env, ...(parallel ? { parallel } : {}) });

  try {
    const meshUp: MeshUpRow[] = [];
    let stateFile = "";
    for (const n of sizes) {
      const nodes = all.slice(0, n);
      // From no mesh at all, with a fresh state: what a new stack meets.
      await Promise.all(nodes.map(async (node) => (await sshConnection(labSshTarget(node))).run(["sh", "-c", "systemctl stop tinc@rplan 2>/dev/null; rm -rf /etc/tinc/rplan /srv/crypt/keys/tinc; true"])));
      stateFile = path.join(work, `state-${n}.json`);
      const r = await up(n, stateFile);
      const keys = nodes.map((node) => step(r, `mesh-${node}-key`));
      const check = step(r, "mesh-check");
      const keysDone = Math.max(...keys.map((k) => k.endedAt!));
      const row = { nodes: n, upMs: r.timings.totalMs, keyGenerationMs: keysDone - Math.min(...keys.map((k) => k.startedAt!)), filesToVerifiedMs: check.endedAt! - keysDone, verifyMs: check.endedAt! - check.startedAt! };
      meshUp.push(row);
      log(`mesh up, ${n} nodes: ${JSON.stringify(row)}`);
    }

    const n = sizes[sizes.length - 1];
    const nodes = all.slice(0, n);
    const rotated = nodes[1];
    const revoked = nodes[n - 1];
    const edits: Record<string, NodeEdit> = {};
    const rotation: RotationRow[] = [];
    const revocation: RevocationRow[] = [];
    for (let round = 1; round <= rounds; round++) {
      edits[rotated] = { ...edits[rotated], vpnKeyGeneration: (edits[rotated]?.vpnKeyGeneration ?? 1) + 1 };
      const rot = await up(n, stateFile, edits);
      const key = step(rot, `mesh-${rotated}-key`);
      const self = step(rot, `mesh-${rotated}-tinc-self`);
      const check = step(rot, "mesh-check");
      const row = { round, upMs: rot.timings.totalMs, keyGenerationMs: key.endedAt! - key.startedAt!, distributeAndRestartMs: self.endedAt! - key.endedAt!, verifyMs: check.endedAt! - self.endedAt! };
      rotation.push(row);
      log(`rotation #${round}: ${JSON.stringify(row)}`);

      // The same revocation under the engine's default parallelism and one step at a time, side by side.
      for (const parallel of [undefined, 1]) {
        edits[revoked] = { state: "revoked" };
        const rev = await up(n, stateFile, edits, parallel);
        const survivors = nodes.filter((x) => x !== revoked);
        const refusedBy = checkOutputs(stateFile, "mesh-check").refusedBy?.[revoked] ?? {};
        const goneAfterMs = checkOutputs(stateFile, "dns-check").goneAfterMs?.[revoked] ?? {};
        const { perSurvivor, timeline } = revocationTimes(rev, survivors, refusedBy, goneAfterMs);
        const label = parallel ?? "default";
        revocation.push({ round, parallel: label, revoked, upMs: rev.timings.totalMs, perSurvivor, timeline });
        log(`revocation #${round} of ${revoked} (--parallel ${label}): ${JSON.stringify(perSurvivor)}`);
        log(`revocation #${round} (--parallel ${label}) steps (ms from the start of the survivors' updates: start +duration): ${timeline.map((t) => `${t.name} ${t.op} ${t.startMs} +${t.ms}`).join(", ")}`);

        edits[revoked] = { state: "active" };
        await up(n, stateFile, edits); // re-admitted with a new key (not timed)
      }
    }
    return { meshUp, rotation, revocation };
  } finally {
    await closeAllSsh();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** A check's outputs in the runner's state (written whole at the end of every run): MeshCheck's `refusedBy`, DnsCheck's `goneAfterMs`. */
function checkOutputs(stateFile: string, name: "mesh-check" | "dns-check"): { refusedBy?: Record<string, Record<string, number | null>>; goneAfterMs?: Record<string, Record<string, number | null>> } {
  const state = JSON.parse(fs.readFileSync(stateFile, "utf8")) as { resources: { name: string; delete?: boolean; outputs: any }[] };
  const r = state.resources.find((x) => x.name === name && !x.delete);
  if (!r) throw new Error(`${name} is not in ${stateFile}`);
  return r.outputs;
}

const seconds = (ms: number | null) => (ms === null ? "NEVER" : `${(ms / 1000).toFixed(2)} s`);

/** Median (mean of the middle two for an even count); null when any is null (something never happened). */
export function median(xs: readonly (number | null)[]): number | null {
  if (xs.length === 0 || xs.some((x) => x === null)) return null;
  const s = (xs as number[]).slice().sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const maxOf = (xs: readonly (number | null)[]): number | null => (xs.length === 0 || xs.some((x) => x === null) ? null : Math.max(...(xs as number[])));

/**
 * Per survivor over every revocation round: median and max of each time (ms from the start of the
 * survivors' updates), as rows [survivor, tinc reloaded, refusal verified, zone reloaded, gone in dig].
 */
export function revocationSummaryRows(rows: readonly RevocationRow[], goalMs = 2000): string[][] {
  const survivors = [...new Set(rows.flatMap((r) => Object.keys(r.perSurvivor)))].sort();
  const cell = (xs: (number | null)[]) => {
    const mx = maxOf(xs);
    return `${seconds(median(xs))} / ${seconds(mx)}${mx !== null && mx > goalMs ? " (over goal)" : ""}`;
  };
  const pick = (s: string, k: keyof SurvivorTimes) => rows.map((r) => (r.perSurvivor[s] ? r.perSurvivor[s][k] : null));
  return [
    ["survivor", "tinc reloaded", `VPN refusal verified (goal max ≤ ${goalMs / 1000} s)`, `DNS withdrawn: zone reloaded (goal max ≤ ${goalMs / 1000} s)`, "DNS gone in dig from it (every server)"],
    ...survivors.map((s) => [s, cell(pick(s, "reloadedMs")), cell(pick(s, "verifiedMs")), cell(pick(s, "dnsReloadedMs")), cell(pick(s, "dnsVerifiedMs"))]),
  ];
}

/**
 * The revocation under the default parallelism against `--parallel 1`: the last survivor's times
 * (median over rounds) and the whole up, with the ratio default / one at a time (< 1: faster).
 */
export function parallelismRows(rows: readonly RevocationRow[]): string[][] {
  const lastOf = (r: RevocationRow, k: keyof SurvivorTimes) => maxOf(Object.values(r.perSurvivor).map((v) => v[k]));
  const measures: Array<[string, (r: RevocationRow) => number | null]> = [
    ["last survivor's VPN refusal verified", (r) => lastOf(r, "verifiedMs")],
    ["last survivor's zone reloaded", (r) => lastOf(r, "dnsReloadedMs")],
    ["last survivor's name gone in dig", (r) => lastOf(r, "dnsVerifiedMs")],
    ["whole up (preview + apply)", (r) => r.upMs],
  ];
  const of = (p: RevocationRow["parallel"], f: (r: RevocationRow) => number | null) => median(rows.filter((r) => r.parallel === p).map(f));
  return [
    ["revocation, median of rounds", "default parallelism", "--parallel 1", "ratio"],
    ...measures.map(([name, f]) => {
      const [d, one] = [of("default", f), of(1, f)];
      return [name, seconds(d), seconds(one), d !== null && one ? (d / one).toFixed(2) : "n/a"];
    }),
  ];
}

/** What a step is, for the breakdown: its kind, survivors' steps of one kind together. */
export function stepKind(name: string): string {
  if (/^mesh-.+-tinc-hosts$/.test(name)) return "mesh-*-tinc-hosts (hosts/ file removed, tinc reload)";
  if (/^dns-.+-zone$/.test(name) && name !== "dns-zone") return "dns-*-zone (zone file, knotc zone-check + blocking zone-reload)";
  if (/^ldap-.+-secret$/.test(name)) return "ldap-*-secret (new replication secrets)";
  if (/^ldap-.+-secret-file$/.test(name)) return "ldap-*-secret-file";
  if (/^ldap-.+-slapd$/.test(name)) return "ldap-*-slapd";
  return name;
}

/**
 * Where a moment of a revocation went (ms from the start of the survivors' updates): the steps the
 * runner applied before it, by kind (steps side by side: each moment counted once, for the step that
 * started first); the idle time between them (the runner waiting
 * for the program's next registration); and the part of a still running step (the check probing).
 */
export function breakdownUntil(timeline: readonly TimelineStep[], untilMs: number): Record<string, number> {
  const out: Record<string, number> = {};
  let cursor = 0;
  for (const t of timeline) {
    if (t.startMs >= untilMs) break;
    const end = Math.min(untilMs, t.startMs + t.ms);
    if (t.startMs > cursor) out["idle between steps"] = (out["idle between steps"] ?? 0) + (t.startMs - cursor);
    // Steps run side by side: a moment already counted for an earlier step is not counted again.
    const added = end - Math.max(t.startMs, cursor);
    if (added <= 0) continue;
    const k = stepKind(t.name) + (end < t.startMs + t.ms ? " (until then)" : "");
    out[k] = (out[k] ?? 0) + added;
    cursor = end;
  }
  if (untilMs > cursor) out["idle between steps"] = (out["idle between steps"] ?? 0) + (untilMs - cursor);
  return out;
}

/**
 * The breakdown table: per round, the last survivor's VPN refusal and DNS withdrawal split by kind
 * of step. Rows [kind, round 1 vpn, round 1 dns, …].
 */
export function revocationBreakdownRows(rows: readonly RevocationRow[]): string[][] {
  const moments = rows.map((r) => {
    const vals = Object.values(r.perSurvivor);
    const vpn = maxOf(vals.map((v) => v.verifiedMs));
    const dns = maxOf(vals.map((v) => v.dnsReloadedMs));
    return { vpn: vpn === null ? {} : breakdownUntil(r.timeline, vpn), dns: dns === null ? {} : breakdownUntil(r.timeline, dns), vpnMs: vpn, dnsMs: dns };
  });
  const kinds = [...new Set(moments.flatMap((m) => [...Object.keys(m.vpn), ...Object.keys(m.dns)]))];
  const ms = (x: number | undefined) => (x === undefined ? "" : seconds(x));
  return [
    ["where the time went (s)", ...rows.flatMap((r) => [`#${r.round} last VPN refusal`, `#${r.round} last zone reload`])],
    ...kinds.map((k) => [k, ...moments.flatMap((m) => [ms(m.vpn[k]), ms(m.dns[k])])]),
    ["total", ...moments.flatMap((m) => [seconds(m.vpnMs), seconds(m.dnsMs)])],
  ];
}

/** The benchmark as table rows: [measure, value]. */
export function meshBenchRows(b: MeshBench): Array<[string, string]> {
  return [
    ...b.meshUp.flatMap((r): Array<[string, string]> => [
      [`mesh up, ${r.nodes} nodes: whole up (preview + apply, every component)`, seconds(r.upMs)],
      [`mesh up, ${r.nodes} nodes: key generation (first → last key)`, seconds(r.keyGenerationMs)],
      [`mesh up, ${r.nodes} nodes: files → verified`, `${seconds(r.filesToVerifiedMs)} (check ${seconds(r.verifyMs)})`],
    ]),
    ...b.rotation.map((r): [string, string] => [`rotation #${r.round}: new key / distribute + restart / verified`, `${seconds(r.keyGenerationMs)} / ${seconds(r.distributeAndRestartMs)} / ${seconds(r.verifyMs)} (whole up ${seconds(r.upMs)})`]),
    ...b.revocation.flatMap((r) =>
      Object.entries(r.perSurvivor).map(([s, v]): [string, string] => [
        `revocation #${r.round} of ${r.revoked} (--parallel ${r.parallel}), survivor ${s}: tinc reloaded / refusal verified / zone reloaded / gone in dig`,
        `${seconds(v.reloadedMs)} / ${seconds(v.verifiedMs)} / ${seconds(v.dnsReloadedMs)} / ${seconds(v.dnsVerifiedMs)}`,
      ]),
    ),
  ];
}

if (require.main === module) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const sizes = (arg("--nodes") ?? "3,5").split(",").map(Number);
  benchMesh({ rounds: Number(arg("--rounds") ?? 3), sizes })
    .then((b) => {
      for (const [k, v] of meshBenchRows(b)) console.log(`${k}: ${v}`);
      console.log(JSON.stringify(b));
    })
    .catch((e: Error) => {
      console.error(`bench mesh: ${e.stack ?? e.message}`);
      process.exitCode = 1;
    });
}
