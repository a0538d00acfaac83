/** Small IPv4 helpers for config validation (pure). */
import { isIPv4 } from "net";

export function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}

export interface Cidr {
  readonly base: number;
  readonly bits: number;
}

/** Parse "a.b.c.d/n"; undefined when malformed or when host bits are set. */
export function parseCidr(cidr: string): Cidr | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr);
  if (!m || !isIPv4(m[1]) || Number(m[2]) > 32) return undefined;
  const bits = Number(m[2]);
  const base = ipv4ToInt(m[1]);
  return base % 2 ** (32 - bits) === 0 ? { base, bits } : undefined;
}

export function cidrContains(c: Cidr, ip: string): boolean {
  return isIPv4(ip) && Math.floor(ipv4ToInt(ip) / 2 ** (32 - c.bits)) === Math.floor(c.base / 2 ** (32 - c.bits));
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  return Math.floor(a.base / 2 ** (32 - bits)) === Math.floor(b.base / 2 ** (32 - bits));
}
