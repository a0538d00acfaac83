/**
 * What a zone's input must satisfy before anything is rendered: a zone that a name server refuses
 * (or worse, loads with a wrong meaning) must stop the stack at preview, with every problem listed
 * at once so one edit of the config fixes them all. Pure: no Pulumi, no I/O.
 */
import { isIP } from "net";

/** One DNS label as rplan writes it: lower-case letters, digits, inner hyphens, 1–63 characters. */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A name's presentation length limit (RFC 1035 §2.3.4: 255 octets on the wire ≈ 253 characters). */
export const MAX_NAME = 253;
/** TTLs above a day make a withdrawal (a seized node) linger in caches for too long. */
export const MAX_TTL = 86400;
/** Names the zone gives to the round-robin services: a node with one of these names would collide. */
/** A DMARC report address: no `;`, `,` or `!`, which DMARC's own syntax uses. */
export const DMARC_ADDRESS = /^[A-Za-z0-9._%+=-]+@[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
export const SERVICE_NAMES = ["imap", "mail", "smtp", "www"] as const;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Every problem with a domain name (empty list: fine). */
export function domainProblems(domain: unknown, what = "domain"): string[] {
  if (typeof domain !== "string" || domain === "") return [`${what} must be a non-empty string`];
  const p: string[] = [];
  if (domain !== domain.toLowerCase()) p.push(`${what} ${JSON.stringify(domain)} must be lower-case`);
  if (domain.endsWith(".")) p.push(`${what} ${JSON.stringify(domain)} must be written without the trailing dot`);
  if (domain.length > MAX_NAME) p.push(`${what} ${JSON.stringify(domain)} is ${domain.length} characters long (at most ${MAX_NAME})`);
  for (const label of domain.replace(/\.$/, "").toLowerCase().split(".")) {
    if (label.length > 63) p.push(`${what} ${JSON.stringify(domain)}: label ${JSON.stringify(label)} is longer than 63 characters`);
    else if (!DNS_LABEL.test(label)) p.push(`${what} ${JSON.stringify(domain)}: label ${JSON.stringify(label)} must be 1–63 of a-z, 0-9 and inner hyphens`);
  }
  return p;
}

/** True when `s` is base64 a DKIM `p=` tag can carry (no white space, correct padding). */
export function isBase64(s: string): boolean {
  return s.length > 0 && BASE64.test(s);
}

/** An IP address as a zone writes it (no IPv6 zone index such as `%eth0`). */
export function ipFamily(address: string): 0 | 4 | 6 {
  if (address.includes("%")) return 0;
  return isIP(address) as 0 | 4 | 6;
}

/** Every problem with a TTL (positive whole seconds, at most a day). */
export function ttlProblems(ttl: unknown): string[] {
  if (typeof ttl !== "number" || !Number.isInteger(ttl)) return [`TTL ${JSON.stringify(ttl)} must be a whole number of seconds`];
  if (ttl <= 0) return [`TTL ${ttl} must be positive (0 would forbid caching; a negative TTL is no TTL)`];
  if (ttl > MAX_TTL) return [`TTL ${ttl} is longer than ${MAX_TTL} s: a withdrawn node would linger in caches`];
  return [];
}

/** A list of problems as one Error (the house style: everything at once). */
export class ZoneError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`the DNS zone cannot be rendered (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ZoneError";
  }
}

/** Why a node's name cannot name it in the zone (`<node>.<domain>`, its DKIM selector), or undefined. */
export function nodeNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string" || !DNS_LABEL.test(name)) return "is not a DNS label (a-z, 0-9 and inner hyphens; it cannot end with a hyphen)";
  if ((SERVICE_NAMES as readonly string[]).includes(name)) return `is one of the zone's round-robin service names (${SERVICE_NAMES.join(", ")})`;
  return undefined;
}
