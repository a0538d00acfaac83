/**
 * Verifying the served zone from the nodes: each prober runs `dig` against every name server
 * (planning/dns/check.ts) and the answers are judged against the planned zone. Used by the DnsCheck
 * provider after every zone change and by the lab tests. Only the probers and servers given are
 * contacted — never a revoked node.
 */
import { dnsProbeArgv, dnsQueries, DnsFinding, judgeDnsProbe, parseDnsProbe, ProbeResult, type ZoneInput, type ZoneNode } from "../planning/dns";
import type { SshEndpointInput } from "../planning/config";
import { sshConnection } from "../transports/ssh";
import { isRevoked } from "../planning/node-roles";

export interface DnsCheckSpec {
  readonly zone: Omit<ZoneInput, "previous">;
  /** The serial every server must serve. */
  readonly serial: number;
  /** Where the queries run (every node that is not revoked). */
  readonly probes: readonly { readonly node: string; readonly ssh: SshEndpointInput }[];
  /** The name servers' addresses (every active node's public address). */
  readonly servers: readonly string[];
  /** Nodes that must appear nowhere besides the zone's revoked ones (removed from the config since the last check). */
  readonly gone?: readonly ZoneNode[];
}

export interface DnsCheckReport {
  readonly ok: boolean;
  readonly findings: readonly DnsFinding[];
  /** Withdrawn node → prober → ms from the start until no server showed it to that prober (null: never). */
  readonly goneAfterMs: Record<string, Record<string, number | null>>;
  readonly elapsedMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One prober's view: every server's answers to every query. */
export async function probeDns(spec: Pick<DnsCheckSpec, "zone" | "servers" | "gone">, prober: DnsCheckSpec["probes"][number]): Promise<ProbeResult> {
  const conn = await sshConnection({ node: prober.node, ...prober.ssh });
  const queries = dnsQueries({ ...spec.zone, nodes: [...spec.zone.nodes, ...(spec.gone ?? [])] });
  const r = await conn.run(dnsProbeArgv(spec.servers, queries), { label: "query the name servers with dig", allowFailure: true });
  if (r.code !== 0) throw new Error(`the DNS probe failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-3).join(" ")}`);
  return parseDnsProbe(r.stdout);
}

/** Probe from every prober in parallel, again and again until all pass or `timeoutMs` has passed. */
export async function checkDns(spec: DnsCheckSpec, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<DnsCheckReport> {
  const start = Date.now();
  const deadline = start + (opts.timeoutMs ?? 0);
  const withdrawn = [...spec.zone.nodes.filter(isRevoked), ...(spec.gone ?? [])].map((n) => n.name);
  const goneAfterMs: Record<string, Record<string, number | null>> = Object.fromEntries(withdrawn.map((w) => [w, Object.fromEntries(spec.probes.map((p) => [p.node, null]))]));
  const perProber = await Promise.all(
    spec.probes.map(async (p) => {
      for (;;) {
        let findings: DnsFinding[];
        try {
          const result = await probeDns(spec, p);
          findings = spec.servers.flatMap((s) => judgeDnsProbe(spec.zone, spec.serial, p.node, s, result.get(s), spec.gone));
        } catch (e) {
          findings = [{ from: p.node, server: "-", message: (e as Error).message }];
        }
        for (const w of withdrawn) if (goneAfterMs[w][p.node] === null && !findings.some((f) => f.revoked === w || f.server === "-" || /no answer|does not serve/.test(f.message))) goneAfterMs[w][p.node] = Date.now() - start;
        if (findings.length === 0 || Date.now() >= deadline) return findings;
        await sleep(opts.intervalMs ?? 250);
      }
    }),
  );
  const findings = perProber.flat();
  return { ok: findings.length === 0, findings, goneAfterMs, elapsedMs: Date.now() - start };
}

/** A failed report as the error an `up` fails with: every finding, and who still serves a withdrawn node. */
export function describeDnsFailure(report: DnsCheckReport): string {
  const n = report.findings.length;
  const serving = [...new Set(report.findings.filter((f) => f.revoked).map((f) => `${f.server} (asked from ${f.from}) serves ${f.revoked}`))];
  return (
    `DNS check FAILED after ${(report.elapsedMs / 1000).toFixed(1)} s (${n} problem${n === 1 ? "" : "s"}):\n` +
    report.findings.map((f) => `  - [${f.from} → ${f.server}] ${f.message}`).join("\n") +
    (serving.length ? `\nA REVOKED NODE IS STILL IN THE ZONE: ${serving.join("; ")}` : "")
  );
}
