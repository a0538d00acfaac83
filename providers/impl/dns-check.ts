/**
 * DnsCheck: proof, at the end of every `up` that changes the zone, that every name server serves
 * the new zone (its serial) to every node that is not revoked, and that every revoked node — and
 * every node removed from the config since the last check — is gone from the answers: its name
 * NXDOMAIN, its address out of NS, MX, the round-robin names and SPF. The queries are real `dig`
 * runs on each node against every server's public address (ops/dns-check.ts). Failing probers are
 * asked again for up to `timeoutMs`; then the update fails loudly, naming each server and what it
 * still serves. Never contacts a revoked node.
 */
import type * as pulumi from "@pulumi/pulumi";
import { checkDns, DnsCheckSpec, describeDnsFailure } from "../../ops/dns-check";
import type { ZoneNode } from "../../planning/dns";
import { diffKeys, withDrift } from "./diff";

export interface DnsCheckInputs extends Omit<DnsCheckSpec, "gone"> {
  readonly timeoutMs: number;
}

export interface DnsCheckOutputs extends DnsCheckInputs {
  /** Withdrawn node → prober → ms from the start of the check until it was gone there. */
  readonly goneAfterMs: Record<string, Record<string, number | null>>;
  readonly checkedMs: number;
  /** What a refresh found wrong since (`[prober → server] finding`); the next `up` checks again. */
  readonly drift?: string[];
}

const BUSINESS = ["zone", "serial", "probes", "servers"];

export async function check(_olds: unknown, news: DnsCheckInputs): Promise<pulumi.dynamic.CheckResult> {
  return { inputs: news };
}

export async function diff(_id: string, olds: DnsCheckOutputs, news: DnsCheckInputs): Promise<pulumi.dynamic.DiffResult> {
  return withDrift(olds.drift, diffKeys(olds as any, news as any, BUSINESS));
}

export async function create(inputs: DnsCheckInputs): Promise<pulumi.dynamic.CreateResult> {
  return { id: "dns-check", outs: await verify(inputs, []) };
}

export async function update(_id: string, olds: DnsCheckOutputs, news: DnsCheckInputs): Promise<pulumi.dynamic.UpdateResult> {
  // A node dropped from the config altogether must be gone too, as a revoked one.
  const names = new Set(news.zone.nodes.map((n) => n.name));
  const gone: ZoneNode[] = (olds.zone?.nodes ?? []).filter((n) => !names.has(n.name)).map((n) => ({ ...n, state: "revoked" }));
  return { outs: await verify(news, gone) };
}

/**
 * A refresh checks again, once (no waiting: the zone was loaded long ago): a server that serves a
 * withdrawn node again, or no longer the current zone, shows as drift naming prober, server and
 * what is wrong; the next `up` (after the zone files are rewritten) verifies again.
 */
export async function read(id: string, props: DnsCheckOutputs): Promise<pulumi.dynamic.ReadResult> {
  const { drift: _old, goneAfterMs, checkedMs, ...inputs } = props;
  const report = await checkDns({ ...inputs, gone: [] }, { timeoutMs: 0 });
  const drift = report.findings.map((f) => `[${f.from} → ${f.server}] ${f.message}${f.revoked ? ` (serves the withdrawn ${f.revoked})` : ""}`);
  return { id, props: { ...inputs, goneAfterMs, checkedMs, ...(drift.length > 0 ? { drift } : {}) } };
}

export async function delete_(): Promise<void> {
  // Nothing on any host.
}
export { delete_ as delete };

async function verify(inputs: DnsCheckInputs, gone: ZoneNode[]): Promise<DnsCheckOutputs> {
  const report = await checkDns({ ...inputs, gone }, { timeoutMs: inputs.timeoutMs });
  if (!report.ok) throw new Error(describeDnsFailure(report));
  return { ...inputs, goneAfterMs: report.goneAfterMs, checkedMs: report.elapsedMs };
}
