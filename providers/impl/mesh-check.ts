/**
 * MeshCheck: proof, at the end of every `up` that changes the mesh, that
 * - every member reaches every other member over the VPN (the connectivity matrix), and
 * - every revoked node — and every node that left the mesh since the last check — is refused by
 *   every member: no hosts/ file, no ConnectTo, no established connection, no route, and the
 *   running tincd refuses its identity.
 * Only members are contacted. Failing members are probed again for up to `timeoutMs`; then the
 * update fails loudly, naming each member and what it still accepts.
 */
import type * as pulumi from "@pulumi/pulumi";
import { acceptsRevoked, departedNodes, describeFinding, RevokedNode } from "../../planning/mesh";
import { CheckMember, checkMesh, CheckReport, formatMatrix } from "../../ops/mesh-check";
import { diffKeys, withDrift } from "./diff";

export interface MeshCheckMember extends CheckMember {
  /** The member's key fingerprint: a rotation changes it, which re-runs the check. */
  readonly fingerprint: string;
}

export interface MeshCheckInputs {
  readonly confDir: string;
  readonly port: number;
  readonly systemdUnit: string;
  readonly members: MeshCheckMember[];
  readonly revoked: RevokedNode[];
  /** How long a failing member is probed again before the update fails (ms). */
  readonly timeoutMs: number;
}

export interface MeshCheckOutputs extends MeshCheckInputs {
  /** from → to → round-trip ms over the VPN at the last check. */
  readonly matrix: Record<string, Record<string, number | null>>;
  /** Revoked/departed node → member → ms from the start of the check until it was refused there. */
  readonly refusedBy: Record<string, Record<string, number | null>>;
  readonly checkedMs: number;
  /** What a refresh found wrong since (one line per finding, naming the member); the next `up` checks again. */
  readonly drift?: string[];
}

const BUSINESS = ["confDir", "port", "systemdUnit", "members", "revoked"];

export async function check(_olds: unknown, news: MeshCheckInputs): Promise<pulumi.dynamic.CheckResult> {
  return { inputs: news };
}

export async function diff(_id: string, olds: MeshCheckOutputs, news: MeshCheckInputs): Promise<pulumi.dynamic.DiffResult> {
  return withDrift(olds.drift, diffKeys(olds as any, news as any, BUSINESS));
}

export async function create(inputs: MeshCheckInputs): Promise<pulumi.dynamic.CreateResult> {
  return { id: "mesh-check", outs: await verify(inputs, departedNodes(undefined, inputs)) };
}

export async function update(_id: string, olds: MeshCheckOutputs, news: MeshCheckInputs): Promise<pulumi.dynamic.UpdateResult> {
  return { outs: await verify(news, departedNodes(olds, news)) };
}

/**
 * A refresh checks again, once: a member that accepts a revoked node's key again (a hosts/ file put
 * back, a connection, a route), or no longer reaches another, shows as drift naming the member and
 * what it accepts; the next `up` (after the tinc files are repaired) verifies again. The recorded
 * matrix and timings stay those of the last `up`, so a clean refresh shows no change.
 */
export async function read(id: string, props: MeshCheckOutputs): Promise<pulumi.dynamic.ReadResult> {
  const { drift: _old, matrix, refusedBy, checkedMs, ...inputs } = props;
  const report = await checkMesh(inputs, { timeoutMs: 0, revoked: inputs.revoked });
  const drift = report.findings.map((f) => `${describeFinding(f)}${acceptsRevoked(f) ? " (a REVOKED node is accepted)" : ""}`);
  return { id, props: { ...inputs, matrix, refusedBy, checkedMs, ...(drift.length > 0 ? { drift } : {}) } };
}

export async function delete_(): Promise<void> {
  // Nothing on any host.
}
export { delete_ as delete };

async function verify(inputs: MeshCheckInputs, mustRefuse: RevokedNode[]): Promise<MeshCheckOutputs> {
  const report = await checkMesh(inputs, { timeoutMs: inputs.timeoutMs, revoked: mustRefuse });
  if (!report.ok) throw new Error(describeFailure(inputs, report));
  const refusedBy: Record<string, Record<string, number | null>> = {};
  for (const r of mustRefuse) refusedBy[r.node] = Object.fromEntries(report.members.map((m) => [m.node, m.refusedAfterMs[r.node] ?? null]));
  return { ...inputs, matrix: report.matrix as MeshCheckOutputs["matrix"], refusedBy, checkedMs: report.elapsedMs };
}

function describeFailure(inputs: MeshCheckInputs, report: CheckReport): string {
  const n = report.findings.length;
  const accepting = [...new Set(report.findings.filter(acceptsRevoked).map((f) => f.node))];
  return (
    `VPN mesh check FAILED after ${(report.elapsedMs / 1000).toFixed(1)} s (${n} problem${n === 1 ? "" : "s"}):\n` +
    report.findings.map((f) => `  - ${describeFinding(f)}`).join("\n") +
    (accepting.length > 0 ? `\nA REVOKED NODE IS STILL ACCEPTED by: ${accepting.join(", ")}` : "") +
    "\nConnectivity matrix:\n" +
    formatMatrix(
      inputs.members.map((m) => m.node),
      report.matrix,
    )
  );
}
