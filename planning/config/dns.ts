/**
 * `rplan:dns` (optional) and what the zone asks of the rest of the config: read here, with the
 * other settings, so a TTL of 0 or a node name that would break the zone stops the preview with
 * every other problem, before any host is touched (docs/dns.md).
 */
import { DEFAULT_TTL, DMARC_ADDRESS, nodeNameProblem, ttlProblems, type DmarcPolicy } from "../dns";
import type { DnsSettings, NodeConfig } from "./types";

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);
const show = (v: unknown) => (v === undefined ? "nothing" : JSON.stringify(v));
const POLICIES: readonly DmarcPolicy[] = ["none", "quarantine", "reject"];

function unknownKeys(obj: Raw, known: readonly string[], where: string, bad: (p: string) => void): void {
  for (const k of Object.keys(obj)) if (!known.includes(k)) bad(`${where}: unknown key ${JSON.stringify(k)} (known: ${known.join(", ")})`);
}

/** `rplan:dns`: `{ ttl?: seconds (default 300), dmarc?: { policy?, rua? } }`. */
export function parseDns(raw: unknown, bad: (p: string) => void): DnsSettings {
  if (raw === undefined) return { ttl: DEFAULT_TTL };
  if (!isObj(raw)) {
    bad(`rplan:dns must be a map {ttl, dmarc: {policy, rua}} (got ${show(raw)})`);
    return { ttl: DEFAULT_TTL };
  }
  unknownKeys(raw, ["ttl", "dmarc"], "rplan:dns", bad);
  const ttl = raw.ttl ?? DEFAULT_TTL;
  for (const p of ttlProblems(ttl)) bad(`rplan:dns.ttl: ${p}`);
  if (raw.dmarc === undefined) return { ttl: ttl as number };
  if (!isObj(raw.dmarc)) {
    bad(`rplan:dns.dmarc must be a map {policy, rua} (got ${show(raw.dmarc)})`);
    return { ttl: ttl as number };
  }
  const d = raw.dmarc;
  unknownKeys(d, ["policy", "rua"], "rplan:dns.dmarc", bad);
  if (d.policy !== undefined && !POLICIES.includes(d.policy as DmarcPolicy)) bad(`rplan:dns.dmarc.policy must be one of ${POLICIES.join(", ")} (got ${show(d.policy)})`);
  if (d.rua !== undefined && !(typeof d.rua === "string" && DMARC_ADDRESS.test(d.rua))) bad(`rplan:dns.dmarc.rua must be a plain mail address for the reports (got ${show(d.rua)})`);
  const dmarc = { ...(d.policy !== undefined ? { policy: d.policy as DmarcPolicy } : {}), ...(d.rua !== undefined ? { rua: String(d.rua) } : {}) };
  return { ttl: ttl as number, dmarc };
}

/** A node name is also its DNS name `<node>.<domain>` and its DKIM selector: it must be a label and not a service name. */
export function zoneNameProblems(nodes: readonly NodeConfig[], bad: (p: string) => void): void {
  nodes.forEach((n, i) => {
    if (n.name.startsWith("#")) return; // its name was already refused
    const where = `rplan:nodes[${i}] (${n.name}).name`;
    const problem = nodeNameProblem(n.name);
    if (problem) bad(`${where}: ${JSON.stringify(n.name)} ${problem}: the zone names the node ${n.name}.<domain>`);
  });
}
