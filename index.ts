/**
 * rplan: the cluster described by this stack's config (Pulumi.<stack>.yaml).
 * The config is validated first, as a whole: any problem stops the program here, at preview,
 * before any resource is registered and before any host is touched.
 */
import * as pulumi from "@pulumi/pulumi";
import { Dns } from "./components/dns";
import { Node } from "./components/node";
import { LdapReplica } from "./components/ldap-replica";
import { MailDaemons } from "./components/mail-daemons";
import { MailRouting } from "./components/mail-routing";
import { UserPlacement } from "./components/user-placement";
import { VpnMesh } from "./components/vpn-mesh";
import { clusterConfigFromText } from "./planning/config";
import { planLdap } from "./planning/ldap";
import { readPlacementRecord } from "./stack-file/placement";
import { isLive } from "./planning/node-roles";

const config = new pulumi.Config("rplan");
const present = Object.keys(pulumi.runtime.allConfig())
  .filter((k) => k.startsWith("rplan:"))
  .map((k) => k.slice("rplan:".length));
const cluster = clusterConfigFromText((key) => config.get(key), present);
// The directory's own rules (master's ring, server-ID collisions) are checked here too, before any
// resource is registered: LdapReplica would find them only after the Nodes were.
if (cluster.ldap) planLdap(cluster);
// Every user's home, from the placement file the stack names (reviewed like code): read and checked
// here, so a bad file stops the preview before any host is touched.
const placement = readPlacementRecord(cluster);
if (placement && !cluster.ldap) throw new Error("rplan:placement needs rplan:ldap: homes live in the directory");

const nodes: Record<string, Node> = {};
for (const n of cluster.nodes) {
  if (!isLive(n)) continue; // never contacted; the mesh and LDAP cut it out
  nodes[n.name] = new Node(n.name, { config: n, domain: cluster.domain });
}

/** Per-node facts read from the hosts (OS, kernel, machine id, encrypted mount). */
export const nodeFacts = pulumi.output(Object.fromEntries(Object.entries(nodes).map(([name, node]) => [name, node.facts])));
/** Node → service (postfix, dovecot) → SHA-256 fingerprint of its TLS certificate (generated on the node). */
export const tlsFingerprints = pulumi.output(Object.fromEntries(Object.entries(nodes).map(([name, node]) => [name, node.tlsFingerprints])));
/** Nodes by country, for reviewers. */
export const countries = Object.fromEntries(cluster.nodes.map((n) => [n.name, `${n.country} (${n.state})`]));

/** The tinc VPN among active and draining nodes; revoked nodes are cut out and proven refused. */
const mesh = new VpnMesh("mesh", { cluster, nodes });
/** Trust ring → VPN subnet, for the LDAP ACLs. */
export const ringCidrs = mesh.ringCidrs;
/** Node → tinc public key (only public halves ever leave a node). */
export const vpnPublicKeys = mesh.publicKeys;
export const vpnFingerprints = mesh.fingerprints;
/** Connectivity matrix from the last mesh check (ms over the VPN). */
export const vpnMatrix = mesh.matrix;

/**
 * The user directory: slapd on every node, one master (`rplan:ldap.master`), consumers over the VPN.
 * Changing the master is a stack update: freeze the old one, wait for the new one to catch up, promote.
 */
const ldap = cluster.ldap ? new LdapReplica("ldap", { cluster, nodes, mesh }) : undefined;
/** Node → master | consumer. */
export const ldapRoles = ldap?.roles;
/** Node → olcServerID. */
export const ldapServerIds = ldap?.serverIds;
/** Node → contextCSN after the last update (equal everywhere = replicas caught up). */
export const ldapContextCSN = ldap?.contextCSN;
/** What the last master switch did, with its timings (ms). */
export const ldapLastSwitch = ldap?.lastSwitch;

/**
 * Mail: every node an MX, each user's mail delivered on its home node over the VPN, IMAP/POP and
 * submission on any node. Each node's postfix and dovecot configuration has one owner
 * (`<node>-postfix-config`, `<node>-dovecot-config`), rendered from the TLS and routing
 * contributions; without a directory there is no routing, only TLS.
 */
const mail = ldap ? new MailRouting("mail", { cluster, nodes, ldap, mesh }) : undefined;
if (!mail) {
  for (const [name, node] of Object.entries(nodes)) {
    const revisions = { postfix: [node.tlsRevisions.postfix], dovecot: [node.tlsRevisions.dovecot] };
    new MailDaemons(`${name}-mail-daemons`, { node, domain: cluster.domain, contributions: [node.tlsContribution], revisions, dependsOn: Object.values(node.tlsKeys) }, { parent: node });
  }
}

/**
 * The cluster's DNS zone, served by knot on every active node; a revoked node is withdrawn on every
 * survivor in the same update, and the update proves it with dig from every survivor. With mail, it
 * publishes every node's DKIM selector (a revoked node's goes with it).
 */
const dns = new Dns("dns", { cluster, nodes, dkimPublicKeys: mail?.dkimPublicKeys });
/** The zone's serial (moves only when its content does). */
export const dnsSerial = dns.serial;
/** Node → the public half of its DKIM key, published at `<node>._domainkey` (the private half never left the node). */
export const dkimPublicKeys = mail ? pulumi.output(mail.dkimPublicKeys) : undefined;

/**
 * Where each user lives: the placement file carried out. A user whose home changed is moved (dsync
 * over the VPN, a freeze of about a second, nothing lost); the preview lists every move.
 */
const users = placement && ldap && mail ? new UserPlacement("placement", { cluster, nodes, ldap, mail, record: placement }) : undefined;
/** What the last update moved ("alice: lab1 → lab3, 1.2 MB"). */
export const placementMoves = users?.resource.moves;
/** uid → home as the directory has it. */
export const placementHomes = users?.resource.directory;
