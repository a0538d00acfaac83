/**
 * rplan: the cluster described by this stack's config (Pulumi.<stack>.yaml), built by
 * components/cluster.ts. The config and the placement file are validated first, as a whole: any
 * problem stops the program here, at preview, before any resource is registered and before any
 * host is touched.
 */
import * as pulumi from "@pulumi/pulumi";
import { buildCluster } from "./components/cluster";
import { clusterConfigFromText } from "./planning/config";
import { readPlacementRecord } from "./stack-file/placement";

const config = new pulumi.Config("rplan");
const present = Object.keys(pulumi.runtime.allConfig())
  .filter((k) => k.startsWith("rplan:"))
  .map((k) => k.slice("rplan:".length));
const cluster = clusterConfigFromText((key) => config.get(key), present);
// Every user's home, from the placement file the stack names (reviewed like code): read and checked
// here, so a bad file stops the preview before any host is touched.
const placement = readPlacementRecord(cluster);
const { nodes, mesh, ldap, mail, dns, users } = buildCluster({ cluster, placement });

/** Per-node facts read from the hosts (OS, kernel, machine id, encrypted mount). */
export const nodeFacts = pulumi.output(Object.fromEntries(Object.entries(nodes).map(([name, node]) => [name, node.facts])));
/** Node → service (postfix, dovecot) → SHA-256 fingerprint of its TLS certificate (generated on the node). */
export const tlsFingerprints = pulumi.output(Object.fromEntries(Object.entries(nodes).map(([name, node]) => [name, node.tlsFingerprints])));
/** Nodes by country, for reviewers. */
export const countries = Object.fromEntries(cluster.nodes.map((n) => [n.name, `${n.country} (${n.state})`]));

// The VPN: revoked nodes are cut out and proven refused.
/** Trust ring → VPN subnet, for the LDAP ACLs. */
export const ringCidrs = mesh.ringCidrs;
/** Node → tinc public key (only public halves ever leave a node). */
export const vpnPublicKeys = mesh.publicKeys;
export const vpnFingerprints = mesh.fingerprints;
/** Connectivity matrix from the last mesh check (ms over the VPN). */
export const vpnMatrix = mesh.matrix;

// The directory: changing the master (`rplan:ldap.master`) is a stack update: freeze the old one,
// wait for the new one to catch up, promote.
/** Node → master | consumer. */
export const ldapRoles = ldap?.roles;
/** Node → olcServerID. */
export const ldapServerIds = ldap?.serverIds;
/** Node → contextCSN after the last update (equal everywhere = replicas caught up). */
export const ldapContextCSN = ldap?.contextCSN;
/** What the last master switch did, with its timings (ms). */
export const ldapLastSwitch = ldap?.lastSwitch;

// The zone: a revoked node is withdrawn on every survivor in the same update, proven with dig from each.
/** The zone's serial (moves only when its content does). */
export const dnsSerial = dns.serial;
/** Node → the public half of its DKIM key, published at `<node>._domainkey` (the private half never left the node). */
export const dkimPublicKeys = mail ? pulumi.output(mail.dkimPublicKeys) : undefined;

// Placement: the preview lists every move.
/** What the last update moved ("alice: lab1 → lab3, 1.2 MB"). */
export const placementMoves = users?.resource.moves;
/** The standbys the last update gave or changed ("alice: standby lab3 (new)"): docs/seizure.md. */
export const placementStandbyChanges = users?.resource.standbyChanges;
/** uid → home as the directory has it. */
export const placementHomes = users?.resource.directory;
