/**
 * What a node may do, by its state: the one place where a node's state (`active` | `draining` |
 * `revoked`) is compared. Everything else asks a role ("is it contacted?", "does it serve the
 * zone?", "may it be a user's home?"), so that a rule changes here, once, for every use.
 *
 * - `active`: a full member: contacted, in the mesh, serves the zone and mail, takes users.
 * - `draining`: leaving. It is still contacted and in the mesh, keeps its LDAP replica, its own
 *   name, SPF and DKIM (it still flushes its queue and serves users who have not moved yet), but it
 *   serves no zone, receives no new mail and clients, and takes no users.
 * - `revoked`: seized or compromised, cut out. Never contacted; the mesh and the directory refuse
 *   it; the zone withdraws its name and DKIM selector; every secret it knew is renewed.
 *
 * Each predicate takes a state or anything with a `state` (a node of the config, of the zone, of
 * the placement planner…), so `nodes.filter(isLive)` reads as it means. Pure: no Pulumi, no I/O.
 */
import { NODE_STATES, NodeState } from "./config/types";

/** A node state, or anything that carries one. */
export type Stated = NodeState | { readonly state: NodeState };

/** The states of a live node. */
export type LiveState = Exclude<NodeState, "revoked">;

const stateOf = (x: Stated): NodeState => (typeof x === "string" ? x : x.state);

/** Whether `x` is one of the three node states (for values read from outside, e.g. a NodeHost's outputs). */
export function isNodeState(x: unknown): x is NodeState {
  return (NODE_STATES as readonly unknown[]).includes(x);
}

/**
 * Live: not revoked (active or draining). A live node gets a Node component and is contacted
 * (provisioning, `npm run status`, unlock, `du`, mail logs, the LDAP admin commands); its mail
 * daemons are configured, it holds an LDAP replica, and it keeps its own name in the zone. A
 * revoked node is none of these: it may be in an adversary's hands.
 */
export function isLive<T extends Stated>(x: T): x is T & (T extends NodeState ? LiveState : { readonly state: LiveState }) {
  return stateOf(x) !== "revoked";
}

/**
 * Revoked: cut out. Listed so that others refuse it: the mesh's revoked list, the directory's ACL
 * denying its identity, the zone's withdrawn names and DKIM selectors (checked to be gone), and
 * the keepers of every cluster secret it knew (renewed when the list changes).
 */
export function isRevoked(x: Stated): boolean {
  return stateOf(x) === "revoked";
}

/**
 * Draining: on its way out. Still live, but it takes no user (its users are being moved away), so
 * an admin choosing a home for a user is told to pick an active node instead.
 */
export function isDraining(x: Stated): boolean {
  return stateOf(x) === "draining";
}

/**
 * A member of the tinc mesh: active and draining nodes. A draining node still serves its users
 * until their data has moved, over the VPN; a revoked node's key is refused by every member.
 */
export function inMesh(x: Stated): boolean {
  return stateOf(x) !== "revoked";
}

/**
 * Sends mail under the cluster's domain, so the zone lists it in SPF and publishes its DKIM
 * selector: active and draining nodes (a draining node still flushes its queue and takes
 * submissions from clients that use its name; leaving it out would fail its legitimate mail).
 * A revoked node's selector is withdrawn, so mail signed with a seized key stops verifying.
 */
export function sendsMail(x: Stated): boolean {
  return stateOf(x) !== "revoked";
}

/**
 * Serves the DNS zone (knot configured and running, an NS record, the SOA's primary, asked by the
 * DNS check): active nodes only. A draining node is leaving: no resolver should pick it.
 */
export function servesDns(x: Stated): boolean {
  return stateOf(x) === "active";
}

/**
 * Receives the cluster's mail (an MX record): active nodes only. A draining node is leaving: no
 * new sender should pick it. With no such node nobody could receive mail.
 */
export function servesMail(x: Stated): boolean {
  return stateOf(x) === "active";
}

/**
 * Answers the round-robin service names (the apex, imap, mail, smtp, www): active nodes only. A
 * draining node is leaving: no new client should pick it (its own name still works meanwhile).
 */
export function servesClients(x: Stated): boolean {
  return stateOf(x) === "active";
}

/**
 * May be a user's home (a placement target, a pin, the home given to a new user, a node that
 * counts for the spread over countries): active nodes only. A draining node's users are being
 * moved away and a revoked node's data cannot be read, so neither takes a user.
 */
export function mayBeHome(x: Stated): boolean {
  return stateOf(x) === "active";
}

/**
 * May hold a user's standby copy next to `home`: a node that may be a home, other than the home
 * itself (a copy on the same node would be lost with it). For the coming standby copies.
 */
export function mayBeStandby(candidate: { readonly name: string; readonly state: NodeState }, home: string): boolean {
  return mayBeHome(candidate) && candidate.name !== home;
}

/**
 * May be the LDAP master (the replica that takes writes): active nodes only. A draining node is
 * leaving, and the master must be switched away before it goes (docs/switch-ldap-master.md).
 */
export function mayBeLdapMaster(x: Stated): boolean {
  return stateOf(x) === "active";
}
