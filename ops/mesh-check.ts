/**
 * Verifying the tinc mesh from its members: the connectivity matrix and the refusal of revoked
 * nodes. Used by the MeshCheck provider (after every mesh change), the `mesh` admin command
 * (drills, status) and the lab tests. Only members are contacted — never a revoked node.
 */
import { ClusterConfig, endpointInput } from "../planning/config";
import { describeFinding, judgeConnectivity, judgeRevocation, MeshFinding, meshProbeArgv, MeshProbeSpec, parseProbeOutput, planMesh, ProbeFindings, ProbeMember, RevokedNode } from "../planning/mesh";
import { sshConnection, SshTarget } from "../transports/ssh";

/** A member with the way to reach it. */
export interface CheckMember extends ProbeMember {
  readonly ssh: Omit<SshTarget, "node">;
}

export interface CheckSpec extends MeshProbeSpec {
  readonly members: readonly CheckMember[];
}

/** What one member reported, judged. */
export interface MemberReport {
  readonly node: string;
  /** What the probe read on the member (undefined: it could not be probed). */
  readonly probe: ProbeFindings | undefined;
  /** What is wrong there (empty: the member passed). */
  readonly findings: readonly MeshFinding[];
  /** ms from the start of the check until this member passed (null: it never did). */
  readonly passedAfterMs: number | null;
  /** ms from the start until each revoked node was refused here (null: not within the timeout). */
  readonly refusedAfterMs: Readonly<Record<string, number | null>>;
}

export interface CheckReport {
  readonly ok: boolean;
  readonly members: readonly MemberReport[];
  /** from → to → round-trip ms over the VPN (null: no answer). */
  readonly matrix: Readonly<Record<string, Readonly<Record<string, number | null>>>>;
  /** Every member's findings, in member order. */
  readonly findings: readonly MeshFinding[];
  readonly elapsedMs: number;
}

export interface CheckOptions {
  /** Keep probing a failing member until this many ms have passed (0: probe once). */
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** Check connectivity between members (default true). */
  readonly connectivity?: boolean;
  /** The nodes that must be refused (default: spec.revoked). */
  readonly revoked?: readonly RevokedNode[];
  /** Start of the clock for passedAfterMs/refusedAfterMs (default: now). */
  readonly since?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Probe one member once. */
export async function probeMember(spec: CheckSpec, member: CheckMember, revoked: readonly RevokedNode[]): Promise<ProbeFindings> {
  const probeSpec = { ...spec, revoked };
  const conn = await sshConnection({ node: member.node, ...member.ssh });
  const r = await conn.run(meshProbeArgv(probeSpec, member.node), { label: "probe the VPN mesh", allowFailure: true });
  if (r.code !== 0) throw new Error(`[${member.node}] the mesh probe failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-3).join(" ")}`);
  return parseProbeOutput(probeSpec, member.node, r.stdout);
}

/**
 * Probe every member in parallel; each failing member is probed again until it passes or the
 * timeout expires. Returns the report (never throws for mesh problems; SSH failures are problems).
 */
export async function checkMesh(spec: CheckSpec, opts: CheckOptions = {}): Promise<CheckReport> {
  const start = opts.since ?? Date.now();
  const deadline = Date.now() + (opts.timeoutMs ?? 0);
  const revoked = opts.revoked ?? spec.revoked;
  const connectivity = opts.connectivity ?? true;
  const reports = await Promise.all(
    spec.members.map(async (m): Promise<MemberReport> => {
      const refusedAfterMs: Record<string, number | null> = Object.fromEntries(revoked.map((r) => [r.node, null]));
      for (;;) {
        let probe: ProbeFindings | undefined;
        let findings: MeshFinding[];
        try {
          probe = await probeMember(spec, m, revoked);
          findings = connectivity ? judgeConnectivity(spec, m.node, probe) : [];
          for (const r of revoked) {
            const f = judgeRevocation(spec, m.node, probe, r);
            if (f.length === 0 && refusedAfterMs[r.node] === null) refusedAfterMs[r.node] = Date.now() - start;
            findings.push(...f);
          }
        } catch (e) {
          findings = [{ node: m.node, kind: "probe-failed", message: (e as Error).message.replace(`[${m.node}] `, "") }];
        }
        if (findings.length === 0) return { node: m.node, probe, findings, passedAfterMs: Date.now() - start, refusedAfterMs };
        if (Date.now() >= deadline) return { node: m.node, probe, findings, passedAfterMs: null, refusedAfterMs };
        await sleep(opts.intervalMs ?? 200);
      }
    }),
  );
  const matrix = Object.fromEntries(reports.map((r) => [r.node, { ...(r.probe?.ping ?? {}) }]));
  const findings = reports.flatMap((r) => r.findings);
  return { ok: findings.length === 0, members: reports, matrix, findings, elapsedMs: Date.now() - start };
}

/** The connectivity matrix as a table (rows: from, columns: to; ms or FAIL). */
export function formatMatrix(nodes: readonly string[], matrix: CheckReport["matrix"]): string {
  const w = Math.max(6, ...nodes.map((n) => n.length)) + 2;
  const pad = (s: string) => s.padEnd(w);
  const lines = [pad("from\\to") + nodes.map(pad).join("")];
  for (const from of nodes) {
    const row = matrix[from];
    lines.push(
      pad(from) +
        nodes
          .map((to) => {
            if (to === from) return pad("-");
            const v = row?.[to];
            return pad(v === undefined ? "?" : v === null ? "FAIL" : `${v.toFixed(1)}ms`);
          })
          .join(""),
    );
  }
  return lines.join("\n");
}

/** What to check for a validated config: every member (reached by its SSH endpoint) and every revoked node. */
export function checkSpecFromConfig(cluster: ClusterConfig): CheckSpec {
  const plan = planMesh(cluster);
  const byName = new Map(cluster.nodes.map((n) => [n.name, n]));
  return {
    confDir: plan.settings.confDir,
    port: plan.settings.port,
    systemdUnit: plan.settings.systemdUnit,
    members: plan.members.map((m) => {
      const s = byName.get(m.node)!.ssh;
      return {
        node: m.node,
        tincName: m.tincName,
        vpnAddress: m.vpnAddress,
        publicAddress: m.publicAddress,
        ssh: endpointInput(s),
      };
    }),
    revoked: plan.revoked,
  };
}

/** A report as text: the matrix, each revoked node's refusals, then the problems. */
export function formatReport(spec: CheckSpec, report: CheckReport): string {
  const nodes = spec.members.map((m) => m.node);
  const lines = [`VPN mesh: ${nodes.length} member${nodes.length === 1 ? "" : "s"}${spec.revoked.length ? `, revoked: ${spec.revoked.map((r) => r.node).join(", ")}` : ""}`, "", formatMatrix(nodes, report.matrix), ""];
  for (const r of spec.revoked) {
    const by = report.members.filter((m) => m.refusedAfterMs[r.node] !== null && m.refusedAfterMs[r.node] !== undefined).map((m) => m.node);
    const not = nodes.filter((n) => !by.includes(n));
    lines.push(`revoked ${r.node}: refused by ${by.join(", ") || "nobody"}${not.length ? `; NOT PROVEN on ${not.join(", ")}` : ""}`);
  }
  lines.push(report.ok ? "OK" : `FAILED (${report.findings.length}):\n${report.findings.map((f) => `  - ${describeFinding(f)}`).join("\n")}`);
  return lines.join("\n");
}
