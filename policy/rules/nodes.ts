/** The stack's nodes as its NodeHost resources declare them, for the rules that cross-check. */
import { normalizePosix } from "../../planning/encrypted-mount";
import { NODE_HOST } from "./shapes";
import { ResourceDesc } from "./types";
import { isObject, isUnknown } from "./values";

export interface NodeInfo {
  readonly desc: ResourceDesc;
  readonly name: string;
  readonly mount: unknown;
  readonly host: unknown;
  readonly port: unknown;
  readonly hostKeys: unknown;
  readonly country: unknown;
  readonly state: unknown;
}

export type Lookup = { readonly found: NodeInfo } | { readonly unknown: true } | { readonly missing: true };

export class NodeIndex {
  readonly nodes: NodeInfo[] = [];
  /** Some NodeHost's name or endpoint is not known yet: a failed lookup proves nothing. */
  private readonly incomplete: boolean;

  constructor(resources: readonly ResourceDesc[]) {
    let incomplete = false;
    for (const r of resources) {
      if (r.type !== NODE_HOST) continue;
      const p = r.props;
      const ssh = isObject(p.ssh) ? p.ssh : {};
      if (isUnknown(p.node) || isUnknown(p.ssh) || isUnknown(ssh.host)) incomplete = true;
      this.nodes.push({ desc: r, name: String(p.node), mount: p.encryptedMount, host: ssh.host, port: ssh.port ?? 22, hostKeys: ssh.hostKeys, country: p.country, state: p.state });
    }
    this.incomplete = incomplete;
  }

  byName(name: unknown): Lookup {
    if (isUnknown(name)) return { unknown: true };
    const found = this.nodes.find((n) => n.name === name);
    return found ? { found } : this.incomplete ? { unknown: true } : { missing: true };
  }

  /** The node reached at host[:port] (port defaults to 22; host alone when it is unambiguous). */
  byEndpoint(host: unknown, port: unknown): Lookup {
    if (isUnknown(host) || isUnknown(port)) return { unknown: true };
    const p = port ?? 22;
    const exact = this.nodes.filter((n) => n.host === host && n.port === p);
    if (exact.length === 1) return { found: exact[0] };
    const byHost = this.nodes.filter((n) => n.host === host);
    if (port === undefined && byHost.length === 1) return { found: byHost[0] };
    return this.incomplete ? { unknown: true } : { missing: true };
  }
}

/** Two declared mounts are the same: same kind, same normalized path, same backing where both say. */
export function sameMount(a: unknown, b: unknown): boolean {
  if (!isObject(a) || !isObject(b)) return false;
  if (a.kind !== b.kind || typeof a.path !== "string" || typeof b.path !== "string") return false;
  if (normalizePosix(a.path) !== normalizePosix(b.path)) return false;
  for (const k of ["cipherDir", "device", "mapper"]) if (a[k] !== undefined && b[k] !== undefined && a[k] !== b[k]) return false;
  return true;
}

export function showMount(m: unknown): string {
  return isObject(m) && typeof m.path === "string" ? `${m.path} (${String(m.kind)})` : JSON.stringify(m ?? null);
}
