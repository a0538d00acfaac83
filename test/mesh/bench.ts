/**
 * VpnMesh benchmark on real hosts (the lab, or the private harness — see ./targets.ts):
 * mesh up with 3 and 5 nodes, rotation of one key, revocation of one node (per survivor, from the
 * start of the survivors' updates until the survivor refuses it — verified by the probe — and until
 * its reload returned), repeated.
 *
 *   RPLAN_MESH_TARGET=lab npx ts-node test/mesh/bench.ts [--rounds 3]
 *   ip netns exec mxhub env RPLAN_MESH_TARGET=harness npx ts-node test/mesh/bench.ts
 */
import { closeAllSsh } from "../../transports/ssh";
import { driveMesh, DriveResult, emptyState, MeshState } from "./driver";
import { meshTarget, MeshTarget } from "./targets";

type Overrides = Record<string, { state?: "active" | "revoked"; vpnKeyGeneration?: number }>;

async function clean(target: MeshTarget, nodes: string[]): Promise<void> {
  const cluster = target.config(nodes.length);
  await Promise.all(nodes.map(async (n) => (await target.conn(cluster, n)).run(["sh", "-c", "systemctl stop tinc@rplan 2>/dev/null; rm -rf /etc/tinc/rplan /srv/crypt/keys/tinc; true"])));
}

async function drive(target: MeshTarget, n: number, state: MeshState, overrides: Overrides): Promise<DriveResult> {
  const r = await driveMesh(target.config(n, overrides), state, { checkTimeoutMs: 30_000 });
  if (r.error) throw r.error;
  return r;
}

const step = (r: DriveResult, name: string) => r.steps.find((s) => s.resource === name)!;
const ms = (x: number) => `${(x / 1000).toFixed(2)} s`;

async function meshUp(target: MeshTarget, nodes: string[]): Promise<{ state: MeshState; row: Record<string, number> }> {
  await clean(target, nodes);
  const r = await drive(target, nodes.length, emptyState(), {});
  const keys = Math.max(...nodes.map((n) => step(r, `${n}-key`).endMs));
  const check = step(r, "check");
  return { state: r.state, row: { nodes: nodes.length, totalMs: check.endMs, keyGenerationMs: keys, filesToVerifiedMs: check.endMs - keys, verifyMs: check.endMs - check.startMs } };
}

async function main(): Promise<void> {
  const target = meshTarget();
  if (!target) throw new Error("set RPLAN_MESH_TARGET=lab|harness (or run as root for the lab)");
  const i = process.argv.indexOf("--rounds");
  const rounds = i > 0 ? Number(process.argv[i + 1]) : 3;
  const all = (await target.prepare(5)).slice(0, 5);
  const out: Record<string, unknown> = { target: target.name, at: new Date().toISOString() };

  const up3 = await meshUp(target, all.slice(0, 3));
  console.log(`mesh up, 3 nodes: total ${ms(up3.row.totalMs)} (key generation ${ms(up3.row.keyGenerationMs)}, files → verified ${ms(up3.row.filesToVerifiedMs)})`);
  const up5 = await meshUp(target, all);
  console.log(`mesh up, ${all.length} nodes: total ${ms(up5.row.totalMs)} (key generation ${ms(up5.row.keyGenerationMs)}, files → verified ${ms(up5.row.filesToVerifiedMs)})`);
  out.meshUp = [up3.row, up5.row];

  let state = up5.state;
  const overrides: Overrides = {};
  const N = all.length;
  const rotations: Record<string, number>[] = [];
  const revocations: Record<string, unknown>[] = [];
  for (let round = 1; round <= rounds; round++) {
    const rotated = all[1];
    overrides[rotated] = { ...overrides[rotated], vpnKeyGeneration: (overrides[rotated]?.vpnKeyGeneration ?? 1) + 1 };
    const rot = await drive(target, N, state, overrides);
    state = rot.state;
    const key = step(rot, `${rotated}-key`);
    const self = step(rot, `${rotated}-tinc-self`);
    const row = { round, totalMs: step(rot, "check").endMs, keyGenerationMs: key.endMs - key.startMs, distributeAndRestartMs: self.endMs - key.endMs, verifyMs: step(rot, "check").endMs - self.endMs };
    rotations.push(row);
    console.log(`rotation #${round}: total ${ms(row.totalMs)} (new key ${ms(row.keyGenerationMs)}, distribute + restart ${ms(row.distributeAndRestartMs)}, verified ${ms(row.verifyMs)} later)`);

    const revoked = all[N - 1];
    overrides[revoked] = { state: "revoked" };
    const rev = await drive(target, N, state, overrides);
    state = rev.state;
    const updates = rev.steps.filter((s) => s.resource.endsWith("-tinc-hosts") && s.op === "update");
    const start = Math.min(...updates.map((s) => s.startMs));
    const checkStart = step(rev, "check").startMs;
    const perSurvivor = Object.fromEntries(
      Object.entries(state.check!.refusedBy[revoked]).map(([s, t]) => [s, { reloadedMs: step(rev, `${s}-tinc-hosts`).endMs - start, verifiedMs: t === null ? null : checkStart + t - start }]),
    );
    revocations.push({ round, perSurvivor });
    console.log(
      `revocation #${round} of ${revoked}: ` +
        Object.entries(perSurvivor)
          .map(([s, v]) => `${s} reloaded ${ms(v.reloadedMs)}, refusal verified ${v.verifiedMs === null ? "NEVER" : ms(v.verifiedMs)}`)
          .join("; "),
    );
    overrides[revoked] = { state: "active" };
    state = (await drive(target, N, state, overrides)).state; // re-admitted with a new key (not timed)
  }
  out.rotation = rotations;
  out.revocation = revocations;
  console.log(JSON.stringify(out));
}

main()
  .catch((e: Error) => {
    console.error(`bench: ${e.stack ?? e.message}`);
    process.exitCode = 1;
  })
  .finally(() => closeAllSsh());
