/**
 * The lab must never shadow the host's own traffic (a lab route over the uplink, the resolver or the
 * package mirrors once broke the machine). Before anything is created we compare the lab's ranges with
 * what the host uses and refuse, naming every conflict at once.
 */
import * as dns from "dns";
import * as fs from "fs";
import { isIPv4 } from "net";
import { Cidr, cidrsOverlap, ipv4ToInt } from "../planning/config/ipv4";
import { describeRoute, kernelRoute, LAB_BRIDGE, LAB_NET, routedThroughLab } from "../transports/lab-route";
import { out } from "./exec";

export { LAB_NET, routedThroughLab };
/** The rings' subnets (lab/stack-config.ts) lie here, inside the block the SSH transport guards (transports/lab-route.ts). */
export const VPN_NET = "198.18.0.0/16";
export const LAB_RANGES = [
  { cidr: LAB_NET, what: "lab network" },
  { cidr: VPN_NET, what: "lab VPN range" },
];
/** The host's uplink and the mirrors live here (LAB.md); the lab assigns nothing inside them. */
export const FORBIDDEN = ["192.0.2.0/24", "203.0.113.0/24", "fd00::/64"];
/** Devices the lab itself creates; their routes/addresses are ours, not conflicts. */
export const BRIDGE = LAB_BRIDGE;
export const VETH_PREFIX = "rplv-";
export const PACKAGE_HOSTS = ["deb.debian.org", "registry.npmjs.org"];

export interface HostNetwork {
  routes: { dst: string; gateway?: string; dev?: string }[];
  addresses: { cidr: string; dev: string }[];
  resolvers: string[];
  packageHosts: { name: string; address: string }[];
}

/** "a.b.c.d[/n]" (host bits allowed, as `ip addr` prints) → its network; undefined for IPv6 and "default". */
function toCidr(text: string): Cidr | undefined {
  const [ip, len = "32"] = text.trim().split("/");
  if (!isIPv4(ip)) return undefined;
  const bits = Number(len);
  if (!/^\d+$/.test(len) || bits > 32) throw new Error(`bad IPv4 prefix ${text}`);
  const n = ipv4ToInt(ip);
  return { base: n - (n % 2 ** (32 - bits)), bits };
}

/** IPv6 never overlaps the lab's IPv4 ranges; a default route overlaps nothing (any /24 wins over it). */
export function overlaps(a: string, b: string): boolean {
  const x = toCidr(a);
  const y = toCidr(b);
  return !!x && !!y && cidrsOverlap(x, y);
}

const ours = (dev?: string) => dev === BRIDGE || (dev ?? "").startsWith(VETH_PREFIX);

/** Every conflict between the lab ranges and the host's network, as readable sentences. Pure. */
export function findConflicts(host: HostNetwork, ranges = LAB_RANGES): string[] {
  const found: string[] = [];
  for (const { cidr, what } of ranges) {
    const hit = (x: string | undefined) => x !== undefined && overlaps(cidr, x);
    const label = `${what} ${cidr}`;
    for (const r of host.routes) {
      if (ours(r.dev) || r.dst === "default") continue;
      const desc = `${r.dst}${r.gateway ? ` via ${r.gateway}` : ""}${r.dev ? ` dev ${r.dev}` : ""}`;
      if (hit(r.dst)) found.push(`${label} overlaps host route ${desc}`);
    }
    for (const r of host.routes) {
      if (!ours(r.dev) && hit(r.gateway)) found.push(`${label} contains the gateway of host route ${r.dst} via ${r.gateway}`);
    }
    for (const a of host.addresses) {
      if (!ours(a.dev) && hit(a.cidr)) found.push(`${label} overlaps host address ${a.cidr} on ${a.dev}`);
    }
    for (const ns of host.resolvers) if (hit(ns)) found.push(`${label} contains the resolver ${ns}`);
    for (const p of host.packageHosts) {
      if (hit(p.address)) found.push(`${label} contains ${p.address}, the address of ${p.name}`);
    }
  }
  // Our own constants must never drift into the uplink or the mirrors.
  for (const { cidr, what } of ranges) {
    for (const f of FORBIDDEN) if (overlaps(cidr, f)) found.push(`${what} ${cidr} lies in the reserved ${f}`);
  }
  return found;
}

export function parseResolvConf(text: string): string[] {
  return text
    .split("\n")
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((x): x is string => !!x);
}

/** Reads routes (v4 and v6), addresses, resolvers and the package hosts' addresses. */
export async function gatherHostNetwork(): Promise<HostNetwork> {
  const routes: HostNetwork["routes"] = [];
  for (const fam of ["-4", "-6"]) {
    for (const r of JSON.parse(await out("ip", ["-j", fam, "route"])) as any[]) {
      routes.push({ dst: r.dst, gateway: r.gateway, dev: r.dev });
    }
  }
  const addresses: HostNetwork["addresses"] = [];
  for (const link of JSON.parse(await out("ip", ["-j", "addr"])) as any[]) {
    for (const a of link.addr_info ?? []) addresses.push({ cidr: `${a.local}/${a.prefixlen}`, dev: link.ifname });
  }
  let resolvers: string[] = [];
  try {
    resolvers = parseResolvConf(fs.readFileSync("/etc/resolv.conf", "utf8"));
  } catch {
    /* no resolver configured: nothing to shadow */
  }
  const packageHosts: HostNetwork["packageHosts"] = [];
  for (const name of PACKAGE_HOSTS) {
    try {
      for (const a of await dns.promises.lookup(name, { all: true })) packageHosts.push({ name, address: a.address });
    } catch {
      /* unresolvable now (offline): nothing to compare; the cached image needs no mirror */
    }
  }
  return { routes, addresses, resolvers, packageHosts };
}

export async function assertNetworkSafe(): Promise<void> {
  const conflicts = findConflicts(await gatherHostNetwork());
  if (conflicts.length) {
    throw new Error(`Refusing to touch the network: the lab's ranges clash with the host's.\n - ${conflicts.join("\n - ")}\nNothing was created.`);
  }
}

/** What `down` must give back byte for byte. */
export interface NetSnapshot {
  route: string;
  addr: string;
  netns: string;
}

export async function takeSnapshot(): Promise<NetSnapshot> {
  return {
    route: await out("ip", ["route"]),
    addr: await out("ip", ["-br", "a"]),
    netns: await out("ip", ["netns", "list"]),
  };
}

export function diffSnapshots(before: NetSnapshot, after: NetSnapshot): string[] {
  return (Object.keys(before) as (keyof NetSnapshot)[])
    .filter((k) => before[k] !== after[k])
    .map((k) => `${k} differs:\n--- before\n${before[k]}--- now\n${after[k]}`);
}

/** Refuse, with the fix, when a lab address would not go over the lab bridge (transports/lab-route.ts decides). */
export function assertRoutedThroughLab(address: string): void {
  const route = kernelRoute(address);
  if (route?.dev !== BRIDGE) {
    throw new Error(`the lab is not up: traffic to ${address} would not go over ${BRIDGE} (the kernel routes it ${describeRoute(route)}; refusing to send it anywhere else). Run \`npm run lab -- up\`.`);
  }
}
