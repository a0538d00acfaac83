/**
 * Trust rings → slapd ACLs (olcAccess). The same list on every node.
 *
 * Who gets what:
 * - root on the node, over ldapi (SASL EXTERNAL peer credentials): everything (it is also the
 *   database's rootDN). Admins are root on a node through SSH; there is no admin password.
 * - a node identity (`cn=<node>,ou=nodes,ou=system,<suffix>`) bound on a connection whose SOURCE
 *   ADDRESS lies in a trust ring's VPN subnet: that ring's access level. Both must hold: a node's
 *   password alone, used from anywhere else, gets nothing; an address in the ring without a node
 *   identity gets nothing either.
 * - anonymous: `auth` on passwords (to bind), nothing else — except the node's own daemons: a
 *   connection over the node's ldapi socket (`localSocket`, reachable only on the node) may read
 *   what routing needs (mail, aliases, home), so postfix and dovecot look users up in the local
 *   replica without holding any directory secret in /etc.
 * - the system subtree (node identities) is never writable over the network, whatever the ring.
 * - a revoked node gets nothing, by identity and by VPN address, ahead of every other rule: deleting
 *   its identity refuses new binds, but a replication session it opened before stays bound — this
 *   rule stops what such a session is sent (ACLs are checked for every entry a persistent search
 *   returns) the moment the master's ACL changes.
 */
import type { AccessLevel } from "./types";
import { LOCAL_READ_ATTRIBUTES, ROUTING_ATTRIBUTES } from "./schema";

export const ROOT_PEERCRED_DN = "gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth";

export interface RingAccess {
  readonly ring: string;
  /** IPv4 CIDR of the ring on the VPN. */
  readonly cidr: string;
  readonly access: AccessLevel;
}

/** `198.18.2.0/24` → `198.18.2.0%255.255.255.0` (slapd's peername.ip style). */
export function peernameIp(cidr: string): string {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr);
  if (!m || Number(m[2]) > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const bits = Number(m[2]);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const dotted = [24, 16, 8, 0].map((s) => (mask >>> s) & 255).join(".");
  return `${m[1]}%${dotted}`;
}

/** The `<who>` of one ring: a node identity AND a source address inside the ring. */
export function ringWho(nodesDn: string, cidr: string): string {
  return `dn.children="${nodesDn}" peername.ip=${peernameIp(cidr)}`;
}

export interface RevokedIdentity {
  readonly identityDn: string;
  readonly vpnAddress: string;
}

export interface AclInput {
  readonly suffix: string;
  readonly systemDn: string;
  readonly nodesDn: string;
  readonly rings: readonly RingAccess[];
  /** Revoked nodes: refused by identity and by address. */
  readonly revoked?: readonly RevokedIdentity[];
  /** The ldapi socket whose (local, anonymous) clients may read the routing attributes. */
  readonly localSocket?: string;
}

/** olcAccess values in order (slapd adds the `{n}` prefixes). */
export function renderAcl(input: AclInput): string[] {
  const rings = [...input.rings].sort((a, b) => (a.ring < b.ring ? -1 : a.ring > b.ring ? 1 : 0));
  const by = (levels: readonly AccessLevel[], grant: string) => rings.filter((r) => levels.includes(r.access)).map((r) => ` by ${ringWho(input.nodesDn, r.cidr)} ${grant}`).join("");
  const system = `dn.subtree="${input.systemDn}"`;
  const routing = ROUTING_ATTRIBUTES.join(",");
  const revoked = [...(input.revoked ?? [])].sort((a, b) => (a.identityDn < b.identityDn ? -1 : 1));
  const deny = revoked.map((r) => ` by dn.exact="${r.identityDn}" none by peername.ip=${peernameIp(`${r.vpnAddress}/32`)} none`).join("");
  return [
    `to * by dn.exact="${ROOT_PEERCRED_DN}" manage by * break`,
    ...(revoked.length > 0 ? [`to *${deny} by * break`] : []),
    `to ${system} attrs=userPassword by anonymous auth${by(["write", "read"], "read")} by * none`,
    `to ${system}${by(["write", "read"], "read")} by * none`,
    `to attrs=userPassword by anonymous auth${by(["write"], "write")}${by(["read"], "read")} by * none`,
    `to attrs=${routing}${by(["write"], "write")}${by(["read", "routing"], "read")}${input.localSocket ? ` by peername.path="${input.localSocket}" read` : ""} by * none`,
    // The node's own daemons read these too; everyone else falls through to the rule below.
    ...(input.localSocket ? [`to attrs=${LOCAL_READ_ATTRIBUTES.join(",")} by peername.path="${input.localSocket}" read by * break`] : []),
    `to *${by(["write"], "write")}${by(["read"], "read")} by * none`,
  ];
}
