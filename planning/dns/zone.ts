/**
 * The cluster's DNS zone, rendered purely from the config: every node serves this same text (see
 * ./knot.ts), so the zone is the one place where a seized node is withdrawn. No Pulumi, no I/O.
 *
 * - Service names (the apex, mail, imap, smtp, www) and MX/NS: ACTIVE nodes only. A draining node is
 *   leaving: no new client or sender should pick it.
 * - `<node>.<domain>`: active AND draining nodes. A draining node still flushes its queue and still
 *   answers users configured with its own name while they move; its name goes when it is revoked.
 * - SPF and DKIM: active and draining nodes. A draining node still sends (its queue, submissions of
 *   clients that still use its name): leaving it out would make its legitimate mail fail. A revoked
 *   node appears nowhere, so mail signed with a seized key stops verifying in the same update.
 * - SPF lists `ip4:`/`ip6:` rather than `mx`: no extra lookups for receivers (SPF allows 10), and
 *   `mx` would cover only the active nodes, not the draining ones that still send.
 * - The serial is a plain counter, bumped only when the content changes (see `nextSerial`).
 */
import { createHash } from "crypto";
import { NodeState } from "../config/types";
import { DMARC_ADDRESS, domainProblems, nodeNameProblem, ipFamily, isBase64, MAX_NAME, SERVICE_NAMES, ttlProblems, ZoneError } from "./validate";
import { isLive, isNodeState, sendsMail, servesClients, servesDns, servesMail } from "../node-roles";

export interface ZoneNode {
  readonly name: string;
  readonly state: NodeState;
  /** The node's one public address, IPv4 or IPv6. */
  readonly publicAddress: string;
  /** The DKIM public key, base64 (the `p=` value), published at `<node>._domainkey`. */
  readonly dkimPublicKey?: string;
}

export type DmarcPolicy = "none" | "quarantine" | "reject";

export interface ZoneInput {
  readonly domain: string;
  /** Seconds; default 300. Also the SOA's negative-caching TTL. */
  readonly ttl?: number;
  readonly nodes: readonly ZoneNode[];
  /** The serial and digest of the zone last applied (from the stack's state); absent for a new zone. */
  readonly previous?: { readonly serial: number; readonly digest: string };
  readonly dmarc?: { readonly policy?: DmarcPolicy; readonly rua?: string };
}

export interface RenderedZone {
  readonly text: string;
  readonly serial: number;
  /** SHA-256 of the content without the serial: what decides whether the serial moves. */
  readonly digest: string;
}

export const DEFAULT_TTL = 300;
/** SOA timers. No server transfers this zone (every node gets it from the stack), so refresh,
 * retry and expire only matter to tools that read them; the minimum is the negative-caching TTL. */
const SOA_TIMERS = { refresh: 3600, retry: 600, expire: 1209600 };

/** The DKIM selector of a node: its name (a rotation replaces the key under the same selector). */
export const dkimSelector = (node: string) => node;

/** The TXT value published at `<selector>._domainkey` for a public key (base64 `p=`). */
export const dkimRecord = (publicKey: string) => `v=DKIM1; k=rsa; p=${publicKey}`;

/** Every problem with the input, at once. */
export function zoneProblems(input: ZoneInput): string[] {
  const p = [...domainProblems(input.domain), ...ttlProblems(input.ttl ?? DEFAULT_TTL)];
  const seen = new Set<string>();
  for (const n of input.nodes) {
    const who = `node ${JSON.stringify(n.name)}`;
    const nameProblem = nodeNameProblem(n.name);
    if (nameProblem) p.push(`${who}: its name ${nameProblem}`);
    else if (typeof input.domain === "string" && `${n.name}._domainkey.${input.domain}`.length > MAX_NAME) p.push(`${who}: ${n.name}._domainkey.${input.domain} is longer than ${MAX_NAME} characters`);
    if (seen.has(n.name)) p.push(`${who} is listed twice`);
    seen.add(n.name);
    if (!isNodeState(n.state)) p.push(`${who}: state ${JSON.stringify(n.state)} is not active, draining or revoked`);
    if (typeof n.publicAddress !== "string" || ipFamily(n.publicAddress) === 0) p.push(`${who}: public address ${JSON.stringify(n.publicAddress)} is not an IP address`);
    if (n.dkimPublicKey !== undefined && !isBase64(n.dkimPublicKey)) p.push(`${who}: DKIM public key is not base64 (the p= value, without white space)`);
  }
  if (!input.nodes.some(servesDns)) p.push("no active node: the zone would have no name server, MX or service address");
  const prev = input.previous;
  if (prev !== undefined) {
    if (!Number.isInteger(prev.serial) || prev.serial < 0 || prev.serial > 0xffffffff) p.push(`previous serial ${JSON.stringify(prev.serial)} is not a 32-bit unsigned integer`);
    if (typeof prev.digest !== "string" || !/^[0-9a-f]{64}$/.test(prev.digest)) p.push(`previous digest ${JSON.stringify(prev.digest)} is not a SHA-256 hex digest`);
  }
  const dmarc = input.dmarc ?? {};
  if (dmarc.policy !== undefined && !["none", "quarantine", "reject"].includes(dmarc.policy)) p.push(`DMARC policy ${JSON.stringify(dmarc.policy)} is not none, quarantine or reject`);
  if (dmarc.rua !== undefined && !DMARC_ADDRESS.test(dmarc.rua)) p.push(`DMARC report address ${JSON.stringify(dmarc.rua)} is not a mail address`);
  return p;
}

/**
 * The next serial: the same digest keeps the previous serial (a no-op `up` changes nothing on any
 * node); another digest takes previous + 1. A plain counter, not YYYYMMDDnn: a date needs a clock,
 * which would make the rendering impure and a preview differ from day to day; nobody reads the
 * serial as a date here. RFC 1982 arithmetic: after 2^32−1 comes 1, still "greater".
 */
export function nextSerial(digest: string, previous?: { serial: number; digest: string }): number {
  if (!previous) return 1;
  if (previous.digest === digest) return previous.serial;
  return previous.serial >= 0xffffffff ? 1 : previous.serial + 1;
}

/**
 * A TXT value as zone-file strings of at most 255 bytes each (one RR; readers concatenate them
 * without separators, RFC 7208 §3.3 and RFC 6376 §3.6.2.2). `"` and `\\` are escaped, bytes
 * outside printable ASCII written as `\\DDD`.
 */
export function txtStrings(value: string): string {
  const bytes = Buffer.from(value, "utf8");
  const parts: string[] = [];
  for (let i = 0; i < bytes.length || parts.length === 0; i += 255) {
    const chunk = [...bytes.subarray(i, i + 255)].map((b) => (b === 0x22 || b === 0x5c ? `\\${String.fromCharCode(b)}` : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\${String(b).padStart(3, "0")}`));
    parts.push(`"${chunk.join("")}"`);
  }
  return parts.join(" ");
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const addressType = (a: string) => (ipFamily(a) === 6 ? "AAAA" : "A");

/** The records after the SOA, in a fixed order: `owner type rdata` with relative owners. */
function records(input: ZoneInput): string[] {
  const d = input.domain;
  const nameServers = input.nodes.filter(servesDns).sort(byName);
  const mailServers = input.nodes.filter(servesMail).sort(byName);
  const serviceNodes = input.nodes.filter(servesClients).sort(byName);
  const senders = input.nodes.filter(sendsMail).sort(byName);
  const named = input.nodes.filter(isLive).sort(byName);
  const rr = (owner: string, type: string, data: string) => `${owner.padEnd(24)} IN ${type.padEnd(5)} ${data}`;
  const addresses = (owner: string, nodes: readonly ZoneNode[]) =>
    ["A", "AAAA"].flatMap((t) => nodes.filter((n) => addressType(n.publicAddress) === t).map((n) => rr(owner, t, n.publicAddress)));
  const spf = ["v=spf1", ...senders.map((n) => `${ipFamily(n.publicAddress) === 6 ? "ip6" : "ip4"}:${n.publicAddress}`), "-all"].join(" ");
  const dmarc = [`v=DMARC1`, `p=${input.dmarc?.policy ?? "quarantine"}`, ...(input.dmarc?.rua ? [`rua=mailto:${input.dmarc.rua}`] : [])].join("; ");
  return [
    ...nameServers.map((n) => rr("@", "NS", `${n.name}.${d}.`)),
    ...mailServers.map((n) => rr("@", "MX", `10 ${n.name}.${d}.`)),
    ...addresses("@", serviceNodes),
    rr("@", "TXT", txtStrings(spf)),
    rr("_dmarc", "TXT", txtStrings(dmarc)),
    ...senders.filter((n) => n.dkimPublicKey).map((n) => rr(`${dkimSelector(n.name)}._domainkey`, "TXT", txtStrings(dkimRecord(n.dkimPublicKey!)))),
    ...SERVICE_NAMES.flatMap((s) => addresses(s, serviceNodes)),
    ...named.flatMap((n) => addresses(n.name, [n])),
  ];
}

/** The zone file for `input.domain`, its serial and its content digest; a ZoneError lists every problem. */
export function renderZone(input: ZoneInput): RenderedZone {
  const problems = zoneProblems(input);
  if (problems.length > 0) throw new ZoneError(problems);
  const ttl = input.ttl ?? DEFAULT_TTL;
  const primary = input.nodes.filter(servesDns).sort(byName)[0];
  const soa = (serial: string) =>
    `@ IN SOA ${primary.name}.${input.domain}. hostmaster.${input.domain}. ( ${serial} ${SOA_TIMERS.refresh} ${SOA_TIMERS.retry} ${SOA_TIMERS.expire} ${ttl} )`;
  const body = [`$ORIGIN ${input.domain}.`, `$TTL ${ttl}`, soa("SERIAL"), ...records(input)].join("\n") + "\n";
  const digest = createHash("sha256").update(body).digest("hex");
  const serial = nextSerial(digest, input.previous);
  const header =
    `; ${input.domain}, generated by rplan from the stack config: every node serves this same file.\n` +
    "; Do not edit: the next `up` rewrites it. Revoked nodes appear nowhere; draining nodes keep only their own name, SPF and DKIM.\n";
  return { text: header + body.replace(soa("SERIAL"), soa(String(serial))), serial, digest };
}
