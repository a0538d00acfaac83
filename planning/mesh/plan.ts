/**
 * Who is in the mesh. Pure: a function of the validated config.
 * Members are the active and draining nodes (a draining node still serves users until their data
 * has moved); revoked nodes are out and listed so that every member can prove it refuses them.
 */
import { isIPv4 } from "net";
import type { ClusterConfig, NodeConfig } from "../config";
import { keyDir } from "../encrypted-mount";
import { MeshMember, MeshPlan, MeshPlanError, MeshSettings, RevokedNode } from "./types";
import { inMesh, isRevoked } from "../node-roles";

export const DEFAULT_MESH_SETTINGS: MeshSettings = {
  netname: "rplan",
  confDir: "/etc/tinc/rplan",
  interfaceName: "rplan",
  port: 655,
  mtu: 1400,
  compression: 9,
  keyBits: 4096,
  systemdUnit: "tinc@rplan",
};

/** tinc node names allow [A-Za-z0-9_]; config names are [a-z][a-z0-9-]*, so this is one-to-one. */
export function tincName(node: string): string {
  return node.replace(/-/g, "_");
}

/** The tinc private key of a node: `<mount>/keys/tinc/rsa_key.priv`. */
export function tincPrivateKeyPath(node: Pick<NodeConfig, "encryptedMount">): string {
  return `${keyDir(node.encryptedMount, "tinc")}/rsa_key.priv`;
}

/** A node's key generation (config field `vpnKeyGeneration`, default 1). */
export function keyGeneration(node: NodeConfig): number {
  return node.vpnKeyGeneration ?? 1;
}

export function planMesh(cluster: ClusterConfig, settings: MeshSettings = DEFAULT_MESH_SETTINGS): MeshPlan {
  const problems: string[] = [];
  const byName = [...cluster.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const members: MeshMember[] = byName
    .filter(inMesh)
    .map((n) => ({
      node: n.name,
      tincName: tincName(n.name),
      state: n.state as "active" | "draining",
      publicAddress: n.publicAddress,
      vpnAddress: n.vpnAddress,
      ring: n.ring,
      keyGeneration: keyGeneration(n),
      keyDir: keyDir(n.encryptedMount, "tinc"),
      privateKeyPath: tincPrivateKeyPath(n),
    }));
  const revoked: RevokedNode[] = byName
    .filter(isRevoked)
    .map((n) => ({ node: n.name, tincName: tincName(n.name), publicAddress: n.publicAddress, vpnAddress: n.vpnAddress }));

  const seen = new Map<string, string>();
  for (const n of [...members, ...revoked]) {
    const other = seen.get(n.tincName);
    if (other !== undefined) problems.push(`nodes ${other} and ${n.node} have the same tinc name ${n.tincName}`);
    seen.set(n.tincName, n.node);
  }
  // Every member checks that no tinc connection with a revoked node's address survives; two
  // nodes sharing one public address would make that check meaningless.
  const byAddress = new Map<string, string[]>();
  for (const n of [...members, ...revoked]) byAddress.set(n.publicAddress, [...(byAddress.get(n.publicAddress) ?? []), n.node]);
  for (const [addr, names] of byAddress) if (names.length > 1) problems.push(`public address ${addr} is used by more than one node (${names.join(", ")})`);
  for (const m of members) if (!isIPv4(m.vpnAddress)) problems.push(`${m.node}: VPN address ${m.vpnAddress} is not IPv4`);
  if (problems.length > 0) throw new MeshPlanError(problems);

  return {
    settings,
    members,
    revoked,
    ringCidrs: { ...cluster.rings },
    addressFamily: members.every((m) => isIPv4(m.publicAddress)) ? "ipv4" : "any",
  };
}

/** The member of a plan by node name (throws naming the members when absent). */
export function memberOf(plan: MeshPlan, node: string): MeshMember {
  const m = plan.members.find((x) => x.node === node);
  if (!m) throw new Error(`${node} is not a member of the VPN mesh (members: ${plan.members.map((x) => x.node).join(", ") || "none"})`);
  return m;
}
