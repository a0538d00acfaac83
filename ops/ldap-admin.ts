/**
 * Admin operations on the directory, outside `pulumi up`: replication status of every replica, and
 * user entries written on the master named in the stack config. Everything goes through SSH to
 * slapd's ldapi socket (root by SASL EXTERNAL): no LDAP port is reached over the network.
 */
import type { ClusterConfig } from "../planning/config";
import { suggestHome } from "../planning/placement";
import { behindSids, DEFAULT_SLAPD_SETTINGS, databaseEntry, planLdap, userDn, UserSpec, validateUser, valuesOf } from "../planning/ldap";
import { readUser, writeUser } from "./ldap-users";
import { deleteEntry, sshStreamOpener, withRootLdap } from "../transports/ldap";
import { SlapdControl } from "./slapd-control";
import { sshConnection } from "../transports/ssh";
import { isLive, isRevoked, mayBeHome } from "../planning/node-roles";

export interface ReplicaStatus {
  readonly node: string;
  /**
   * What the node's cn=config says it is (may differ from the config during a switch);
   * "unconfigured" when slapd answers but has no rplan database yet (a node not yet provisioned).
   */
  readonly role: "master" | "consumer" | "unconfigured" | "unreachable";
  readonly frozen: boolean;
  readonly contextCSN: string[];
  /** Server IDs for which this node is behind the configured master ([] = caught up). */
  readonly behind: number[];
  readonly error?: string;
}

const targetOf = (cluster: ClusterConfig, node: string) => {
  const n = cluster.nodes.find((x) => x.name === node);
  if (!n) throw new Error(`unknown node ${node} (nodes: ${cluster.nodes.map((x) => x.name).join(", ")})`);
  if (!isLive(n)) throw new Error(`${node} is revoked: it is never contacted`);
  return { node, ...n.ssh };
};

/** Every live replica's role, freeze flag and contextCSN, compared with the configured master's. */
export async function ldapStatus(cluster: ClusterConfig): Promise<ReplicaStatus[]> {
  const plan = planLdap(cluster);
  const rows = await Promise.all(
    plan.nodes.map(async (n): Promise<ReplicaStatus> => {
      try {
        const ctl = new SlapdControl(n.node, await sshConnection(targetOf(cluster, n.node)));
        const db = databaseEntry(await ctl.readConfig());
        if (!db) return { node: n.node, role: "unconfigured", frozen: false, contextCSN: [], behind: [] };
        return {
          node: n.node,
          role: valuesOf(db, "olcSyncrepl").length > 0 ? "consumer" : "master",
          frozen: valuesOf(db, "olcReadOnly").some((v) => v.toUpperCase() === "TRUE"),
          contextCSN: await ctl.contextCsn(plan.suffix),
          behind: [],
        };
      } catch (e) {
        return { node: n.node, role: "unreachable", frozen: false, contextCSN: [], behind: [], error: (e as Error).message };
      }
    }),
  );
  const master = rows.find((r) => r.node === plan.master);
  const compared = (r: ReplicaStatus) => r.role === "master" || r.role === "consumer";
  return rows.map((r) => (master && compared(r) ? { ...r, behind: behindSids(master.contextCSN, r.contextCSN) } : r));
}

export function formatStatus(master: string, rows: readonly ReplicaStatus[]): string {
  const lines = [`configured master: ${master}`];
  for (const r of rows) {
    const state =
      r.role === "unreachable" ? `UNREACHABLE: ${r.error}`
      : r.role === "unconfigured" ? "UNCONFIGURED: slapd has no rplan database yet (run `pulumi up`)"
      : `${r.role}${r.frozen ? " (FROZEN: takes no writes)" : ""}, ${r.behind.length ? `behind for server IDs ${r.behind.join(", ")}` : "caught up"}`;
    lines.push(`  ${r.node.padEnd(10)} ${state}${r.contextCSN.length ? `  contextCSN ${r.contextCSN.join(" ")}` : ""}`);
  }
  return lines.join("\n");
}

/** Healthy: every replica reachable, the configured master is master and unfrozen, nobody behind. */
export function statusOk(master: string, rows: readonly ReplicaStatus[]): boolean {
  return rows.every((r) => r.behind.length === 0 && (r.node === master ? r.role === "master" && !r.frozen : r.role === "consumer"));
}

/** Run `fn` bound as root on the configured master. */
async function onMaster<T>(cluster: ClusterConfig, fn: (c: import("ldapts").Client) => Promise<T>): Promise<T> {
  const plan = planLdap(cluster);
  const conn = await sshConnection(targetOf(cluster, plan.master));
  return withRootLdap(plan.master, sshStreamOpener(conn, { socketPath: DEFAULT_SLAPD_SETTINGS.ldapiSocket }), fn);
}

/** Every problem with a user for this cluster (the home must be a live node); [] when none. */
export function userProblems(cluster: ClusterConfig, user: UserSpec): string[] {
  const problems = validateUser(user);
  const home = cluster.nodes.find((n) => n.name === user.home);
  if (typeof user.home === "string" && user.home !== "" && !home) problems.push(`home ${user.home} is not a node of the stack (nodes: ${cluster.nodes.map((n) => n.name).join(", ")})`);
  else if (home !== undefined && !mayBeHome(home)) problems.push(isRevoked(home) ? `home ${user.home} is revoked` : `home ${user.home} is draining: it takes no users (choose an active node)`);
  return problems;
}

/**
 * The home for a user put without `--home`: an existing user keeps theirs (a new home would be a
 * move, which is planned, not implied); a new one gets the placement planner's suggestion, with
 * each active node's capacity as its free space.
 */
export async function homeFor(cluster: ClusterConfig, uid: string): Promise<{ home: string; why: string }> {
  const existing = await getUser(cluster, uid);
  if (existing?.home) return { home: existing.home, why: "kept: the user exists" };
  const nodes = cluster.nodes.map((n) => ({ name: n.name, capacity: n.capacity, state: n.state }));
  return { home: suggestHome({ nodes, placement: [] }, uid), why: "suggested by the placement planner (weighted on free space)" };
}

/** Throws one error listing every problem with the user, before any host is contacted. */
export function requireValidUser(cluster: ClusterConfig, user: UserSpec): void {
  const problems = userProblems(cluster, user);
  if (problems.length > 0) throw new Error(`invalid user ${JSON.stringify(user.uid)}; nothing was written:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
}

/** Create or update a user (every problem with the spec first; the home must be a live node). */
export async function putUser(cluster: ClusterConfig, user: UserSpec): Promise<"added" | "modified" | "unchanged"> {
  requireValidUser(cluster, user);
  const plan = planLdap(cluster);
  return onMaster(cluster, (c) => writeUser(c, { ...user, suffix: plan.suffix, master: { node: plan.master } }));
}

/** The user's entry on the master (the uid is checked before any host is contacted). */
export async function getUser(cluster: ClusterConfig, uid: string): Promise<Partial<UserSpec> | undefined> {
  const plan = planLdap(cluster);
  userDn(plan.suffix, uid);
  return onMaster(cluster, (c) => readUser(c, plan.suffix, uid));
}

/** Delete a user's entry; false when there was none. */
export async function removeUser(cluster: ClusterConfig, uid: string): Promise<boolean> {
  const plan = planLdap(cluster);
  const dn = userDn(plan.suffix, uid);
  return onMaster(cluster, (c) => deleteEntry(c, dn));
}
