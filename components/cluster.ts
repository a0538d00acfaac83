import type { ClusterConfig } from "../planning/config";
import { planLdap } from "../planning/ldap";
import { isLive } from "../planning/node-roles";
import type { PlacementRecord } from "../planning/placement/record";
import { Dns } from "./dns";
import { LdapReplica } from "./ldap-replica";
import { MailDaemons } from "./mail-daemons";
import { MailRouting } from "./mail-routing";
import { Node } from "./node";
import { UserPlacement } from "./user-placement";
import { VpnMesh } from "./vpn-mesh";

export interface ClusterArgs {
  /** The stack's validated config (planning/config). */
  readonly cluster: ClusterConfig;
  /** Every user's home, from the placement file the stack names (stack-file/placement.ts); none without one. */
  readonly placement?: PlacementRecord;
}

/** What the cluster is made of, for the program's exports and for tests. */
export interface Cluster {
  /** A Node per live node (a revoked one gets none: it is never contacted). */
  readonly nodes: Readonly<Record<string, Node>>;
  readonly mesh: VpnMesh;
  /** The directory, when the config has one (`rplan:ldap`). */
  readonly ldap?: LdapReplica;
  /** Mail routing, with a directory to route by. */
  readonly mail?: MailRouting;
  readonly dns: Dns;
  /** The placement file carried out, with a directory and a placement file. */
  readonly users?: UserPlacement;
}

/**
 * The whole cluster from its config: every component, wired as they depend on each other. The
 * config's cross-cutting rules are checked first, every one before any resource is registered, so a
 * bad config stops the preview before any host is touched. Not a component itself: the components
 * keep the names and parents (URNs) the clusters already running were built with.
 */
export function buildCluster(args: ClusterArgs): Cluster {
  const { cluster, placement } = args;
  // The directory's own rules (master's ring, server-ID collisions): LdapReplica would find them
  // only after the Nodes were registered.
  if (cluster.ldap) planLdap(cluster);
  if (placement && !cluster.ldap) throw new Error("rplan:placement needs rplan:ldap: homes live in the directory");

  const nodes: Record<string, Node> = {};
  for (const n of cluster.nodes.filter(isLive)) nodes[n.name] = new Node(n.name, { config: n, domain: cluster.domain });

  // The tinc VPN among live nodes; revoked nodes are cut out and proven refused.
  const mesh = new VpnMesh("mesh", { cluster, nodes });
  // slapd on every node, one master, consumers over the VPN.
  const ldap = cluster.ldap ? new LdapReplica("ldap", { cluster, nodes, mesh }) : undefined;
  // Every node an MX; each user's mail delivered on its home over the VPN. Without a directory
  // there is no routing, only each node's TLS.
  const mail = ldap ? new MailRouting("mail", { cluster, nodes, ldap, mesh }) : undefined;
  if (!mail) {
    for (const [name, node] of Object.entries(nodes)) {
      const revisions = { postfix: [node.tlsRevisions.postfix], dovecot: [node.tlsRevisions.dovecot] };
      new MailDaemons(`${name}-mail-daemons`, { node, domain: cluster.domain, contributions: [node.tlsContribution], revisions, dependsOn: Object.values(node.tlsKeys) }, { parent: node });
    }
  }
  // The zone on every active node, with every live node's DKIM selector.
  const dns = new Dns("dns", { cluster, nodes, dkimPublicKeys: mail?.dkimPublicKeys });
  // Where each user lives: a changed home is a move (dsync over the VPN, a brief freeze, nothing lost).
  const users = placement && ldap && mail ? new UserPlacement("placement", { cluster, nodes, ldap, mail, record: placement }) : undefined;
  return { nodes, mesh, ldap, mail, dns, users };
}

