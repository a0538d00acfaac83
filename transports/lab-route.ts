/**
 * Lab traffic stays on this machine. The lab's addresses (198.51.100.0/24, and the VPN's block
 * 198.18.0.0/15) mean something only behind the lab bridge: when the lab is down they have no route
 * of their own, and a connection to one follows the default route out of the uplink (it happened:
 * an SSH to 198.51.100.11 left via 192.0.2.1). So before any packet to such an address, the kernel is
 * asked where it would send it (`ip route get`), and anything but the lab bridge is refused.
 *
 * Here, not in lab/, because the SSH transport guards every connection with it and must not depend on
 * the lab; lab/ imports it (one definition of the bridge, the ranges and the route check). Any other
 * address (production nodes, loopback) is not this module's business and passes untouched.
 */
import { execFileSync } from "child_process";
import { isIPv4, isIPv6 } from "net";
import { cidrContains, parseCidr } from "../planning/config/ipv4";

/** The bridge the lab creates; its nodes' veths hang off it. */
export const LAB_BRIDGE = "rplab0";
export const LAB_NET = "198.51.100.0/24";
/** The whole benchmarking block the lab's VPN rings are drawn from (RFC 2544), wider than the lab uses. */
export const LAB_VPN_BLOCK = "198.18.0.0/15";
export const LAB_ONLY_RANGES: readonly { readonly cidr: string; readonly what: string }[] = [
  { cidr: LAB_NET, what: "lab network" },
  { cidr: LAB_VPN_BLOCK, what: "lab VPN block" },
];

/** The parts of one `ip -j route get` answer the decision reads. */
export interface KernelRoute {
  readonly dst?: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly type?: string;
}

/** `::ffff:198.51.100.11` is the same destination as `198.51.100.11`. */
function asIPv4(address: string): string | undefined {
  if (isIPv4(address)) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped && isIPv4(mapped[1]) ? mapped[1] : undefined;
}

/** The lab range an address lies in, or undefined (not a lab address: never guarded). */
export function labRangeOf(address: string): { readonly cidr: string; readonly what: string } | undefined {
  const v4 = asIPv4(address);
  if (v4 === undefined) return undefined;
  return LAB_ONLY_RANGES.find((r) => cidrContains(parseCidr(r.cidr)!, v4));
}

/** The first route of `ip -j route get <address>`'s output; undefined when it isn't one. */
export function parseRouteGet(text: string): KernelRoute | undefined {
  try {
    const [route] = JSON.parse(text) as unknown[];
    return typeof route === "object" && route !== null ? (route as KernelRoute) : undefined;
  } catch {
    return undefined;
  }
}

/** "via 192.0.2.1 dev eth0", as `ip route` says it. */
export function describeRoute(route: KernelRoute | undefined): string {
  if (!route) return "no route (ip route get failed)";
  const parts = [route.type && route.type !== "unicast" ? route.type : "", route.gateway ? `via ${route.gateway}` : "", route.dev ? `dev ${route.dev}` : ""].filter(Boolean);
  return parts.length ? parts.join(" ") : "an unreadable route";
}

/**
 * The decision, pure: why a connection to `address` must not be made given the kernel's route to
 * it, or undefined when it may. A lab address may go only over the lab bridge; an unknown route
 * (no `ip`, unparsable answer) counts as off the lab (fail closed). Other addresses always may.
 */
export function labRouteProblem(address: string, route: KernelRoute | undefined): string | undefined {
  const range = labRangeOf(address);
  if (!range || route?.dev === LAB_BRIDGE) return undefined;
  return (
    `${address} is in the ${range.what} ${range.cidr} but the kernel routes it ${describeRoute(route)}, not over the lab bridge ${LAB_BRIDGE} ` +
    `(is the lab down? \`npm run lab -- up\`): refusing to send lab traffic anywhere else; nothing was sent`
  );
}

/** Ask the kernel where it would send a packet to `address` (no packet is sent). */
export function kernelRoute(address: string): KernelRoute | undefined {
  try {
    return parseRouteGet(execFileSync("ip", ["-j", "route", "get", address], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5000 }));
  } catch {
    return undefined;
  }
}

/** Why `address` may not be reached from here now; undefined when it may (never runs `ip` for a non-lab address). */
export function checkLabRoute(address: string): string | undefined {
  return labRangeOf(address) ? labRouteProblem(address, kernelRoute(address)) : undefined;
}

/** True when the kernel would send traffic for `address` over the lab bridge. */
export function routedThroughLab(address: string): boolean {
  return kernelRoute(address)?.dev === LAB_BRIDGE;
}

/** For an address that is neither v4 nor v6 (a host name), the caller must resolve it first. */
export const isIpLiteral = (host: string): boolean => isIPv4(host) || isIPv6(host);
