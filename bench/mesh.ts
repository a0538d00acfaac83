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

export interface RevocationRow {
  readonly round: number;
  readonly revoked: string;
  readonly upMs: number;
  /** Survivor → ms from the start of the survivors' updates until its reload returned / its refusal was verified. */
  readonly perSurvivor: Record<string, { reloadedMs: number; verifiedMs: number | null }>;
}

export interface MeshBench {
  readonly meshUp: MeshUpRow[];
  readonly rotation: RotationRow[];
  readonly revocation: RevocationRow[];
}

type NodeEdit = { state?: "active" | "revoked"; vpnKeyGeneration?: number };

const step = (r: RunResult, name: string): RunStep => {
  const s = r.steps.find((x) => x.name === name);
  if (!s || s.startedAt === undefined || s.endedAt === undefined) throw new Error(`the up has no timed step ${name}`);
  return s;
};

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
  const up = (n: number, stateFile: string, edits: Record<string, NodeEdit> = {}) => runStack({ op: "up", stack: "lab", stateFile, configFile: config(n, edits), env });

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

      edits[revoked] = { state: "revoked" };
      const rev = await up(n, stateFile, edits);
      const survivors = nodes.filter((x) => x !== revoked);
      const start = Math.min(...survivors.map((s) => step(rev, `mesh-${s}-tinc-hosts`).startedAt!));
      const checkStart = step(rev, "mesh-check").startedAt!;
      const refusedBy = meshCheckOutputs(stateFile).refusedBy[revoked] ?? {};
      const perSurvivor = Object.fromEntries(
        survivors.map((s) => [s, { reloadedMs: step(rev, `mesh-${s}-tinc-hosts`).endedAt! - start, verifiedMs: typeof refusedBy[s] === "number" ? checkStart + refusedBy[s]! - start : null }]),
      );
      revocation.push({ round, revoked, upMs: rev.timings.totalMs, perSurvivor });
      log(`revocation #${round} of ${revoked}: ${JSON.stringify(perSurvivor)}`);

      edits[revoked] = { state: "active" };
      await up(n, stateFile, edits); // re-admitted with a new key (not timed)
    }
    return { meshUp, rotation, revocation };
  } finally {
    await closeAllSsh();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The MeshCheck's outputs in the runner's state (written whole at the end of every run). */
function meshCheckOutputs(stateFile: string): { refusedBy: Record<string, Record<string, number | null>> } {
  const state = JSON.parse(fs.readFileSync(stateFile, "utf8")) as { resources: { name: string; delete?: boolean; outputs: any }[] };
  const r = state.resources.find((x) => x.name === "mesh-check" && !x.delete);
  if (!r) throw new Error(`mesh-check is not in ${stateFile}`);
  return r.outputs;
}

const seconds = (ms: number | null) => (ms === null ? "NEVER" : `${(ms / 1000).toFixed(2)} s`);

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
      Object.entries(r.perSurvivor).map(([s, v]): [string, string] => [`revocation #${r.round} of ${r.revoked}, survivor ${s}: reloaded / refusal verified`, `${seconds(v.reloadedMs)} / ${seconds(v.verifiedMs)}`]),
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
