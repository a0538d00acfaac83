/**
 * Drives the mesh's provider implementations directly against real hosts, in the order the Pulumi
 * engine runs the VpnMesh component's resources (its dependencies: keys → every member's hosts/ →
 * every member's self files → check; independent resources in parallel), with the same inputs the
 * component registers. For lab tests and benchmarks until the stack runner runs the real program;
 * then `runStack` replaces it. Create/update/replace is decided by the providers' own diff.
 */
import type { ClusterConfig, NodeConfig } from "../../planning/config";
import { fillSlots, MeshPlan, nodeFileLayout, planMesh } from "../../planning/mesh";
import * as hostFiles from "../../providers/impl/host-files";
import * as meshCheck from "../../providers/impl/mesh-check";
import * as nodeKey from "../../providers/impl/node-key";

export interface MeshState {
  keys: Record<string, nodeKey.NodeKeyOutputs>;
  hosts: Record<string, hostFiles.HostFilesOutputs>;
  self: Record<string, hostFiles.HostFilesOutputs>;
  check?: meshCheck.MeshCheckOutputs;
}

export const emptyState = (): MeshState => ({ keys: {}, hosts: {}, self: {} });

export interface Step {
  readonly resource: string;
  readonly op: "create" | "update" | "replace" | "same" | "delete";
  /** ms since the start of the drive. */
  readonly startMs: number;
  readonly endMs: number;
  readonly lastApply?: hostFiles.HostFilesOutputs["lastApply"];
}

export interface DriveResult {
  readonly state: MeshState;
  readonly steps: Step[];
  readonly plan: MeshPlan;
  readonly error?: Error;
  /** Wall-clock start of the drive (Date.now()). */
  readonly startedAt: number;
}

const sshOf = (n: NodeConfig) => ({ host: n.ssh.host, port: n.ssh.port, user: n.ssh.user, hostKeys: [...n.ssh.hostKeys], ...(n.ssh.proxy ? { proxy: n.ssh.proxy } : {}) });

/** Apply `cluster` over `prior` (the outputs of the last drive). Never contacts a revoked or removed node. */
export async function driveMesh(cluster: ClusterConfig, prior: MeshState, opts: { checkTimeoutMs?: number } = {}): Promise<DriveResult> {
  const startedAt = Date.now();
  const plan = planMesh(cluster);
  const steps: Step[] = [];
  const state: MeshState = { keys: {}, hosts: {}, self: {}, check: prior.check };
  const cfg = (node: string) => cluster.nodes.find((n) => n.name === node)!;
  const now = () => Date.now() - startedAt;

  async function resource<I, O extends object>(
    name: string,
    olds: O | undefined,
    news: I,
    impl: { diff: (id: string, o: any, n: any) => Promise<{ changes?: boolean; replaces?: string[] }>; create: (i: any) => Promise<{ outs?: any }>; update: (id: string, o: any, n: any) => Promise<{ outs?: any }>; check: (o: any, n: any) => Promise<{ failures?: unknown[] }> },
  ): Promise<O> {
    const chk = await impl.check(olds, news);
    if (chk.failures?.length) throw new Error(`${name}: check failed: ${JSON.stringify(chk.failures)}`);
    const startMs = now();
    if (!olds) {
      const outs = (await impl.create(news)).outs as O;
      steps.push({ resource: name, op: "create", startMs, endMs: now(), lastApply: (outs as any).lastApply });
      return outs;
    }
    const d = await impl.diff("id", olds, news);
    if ((d.replaces ?? []).length > 0) {
      const outs = (await impl.create(news)).outs as O;
      steps.push({ resource: name, op: "replace", startMs, endMs: now() });
      return outs;
    }
    if (!d.changes) {
      steps.push({ resource: name, op: "same", startMs, endMs: startMs });
      return olds;
    }
    const outs = (await impl.update("id", olds, news)).outs as O;
    steps.push({ resource: name, op: "update", startMs, endMs: now(), lastApply: (outs as any).lastApply });
    return outs;
  }

  try {
    await Promise.all(
      plan.members.map(async (m) => {
        const n = cfg(m.node);
        state.keys[m.node] = await resource(`${m.node}-key`, prior.keys[m.node], {
          node: m.node,
          tincName: m.tincName,
          ssh: sshOf(n),
          encryptedMount: n.encryptedMount,
          privateKeyPath: m.privateKeyPath,
          generation: m.keyGeneration,
          keyBits: plan.settings.keyBits,
        }, nodeKey);
      }),
    );
    const publicKeys = Object.fromEntries(Object.entries(state.keys).map(([k, v]) => [k, v.publicKey]));
    const layouts = Object.fromEntries(plan.members.map((m) => [m.node, nodeFileLayout(plan, m.node)]));
    await Promise.all(
      plan.members.map(async (m) => {
        const n = cfg(m.node);
        const l = layouts[m.node];
        state.hosts[m.node] = await resource(`${m.node}-tinc-hosts`, prior.hosts[m.node], {
          node: m.node, ssh: sshOf(n), encryptedMount: n.encryptedMount, files: fillSlots(l.peers, publicKeys), prune: [...l.prunePeers], reload: l.reloadPeers.map((c) => [...c]),
        }, hostFiles);
      }),
    );
    await Promise.all(
      plan.members.map(async (m) => {
        const n = cfg(m.node);
        const l = layouts[m.node];
        state.self[m.node] = await resource(`${m.node}-tinc-self`, prior.self[m.node], {
          node: m.node, ssh: sshOf(n), encryptedMount: n.encryptedMount, files: fillSlots(l.self, publicKeys), reload: l.reloadSelf.map((c) => [...c]),
        }, hostFiles);
      }),
    );
    for (const gone of Object.keys(prior.keys).filter((k) => !state.keys[k])) steps.push({ resource: `${gone}-*`, op: "delete", startMs: now(), endMs: now() });
    const s = plan.settings;
    state.check = await resource("check", prior.check, {
      confDir: s.confDir,
      port: s.port,
      systemdUnit: s.systemdUnit,
      members: plan.members.map((m) => ({ node: m.node, tincName: m.tincName, vpnAddress: m.vpnAddress, publicAddress: m.publicAddress, ssh: sshOf(cfg(m.node)), fingerprint: state.keys[m.node].fingerprint })),
      revoked: plan.revoked.map((r) => ({ ...r })),
      timeoutMs: opts.checkTimeoutMs ?? 20_000,
    }, meshCheck);
    return { state, steps, plan, startedAt };
  } catch (e) {
    // Keep what was applied, as the engine keeps the state of completed steps.
    for (const k of ["keys", "hosts", "self"] as const) for (const [node, v] of Object.entries(prior[k])) if (!(state[k] as any)[node]) (state[k] as any)[node] = v;
    return { state, steps, plan, error: e as Error, startedAt };
  }
}
