/**
 * The replicated directory, planned purely from the validated config: each node's role, server ID,
 * paths, listen URLs and syncrepl; the ACLs from the trust rings; indexes and limits. No Pulumi, no I/O.
 */
import type { ClusterConfig, NodeConfig } from "../config";
import { nodeKeyDirs } from "../node-plan";
import { renderAcl } from "./acl";
import { nodeIdentityDn, treeDns } from "./entries";
import { ROUTING_ATTRIBUTES } from "./schema";
import { assignServerIds } from "./server-id";
import type { SlapdNodeSpec } from "./slapd-config";
import { ACCESS_LEVELS, AccessLevel, FULL_ACCESS, LdapNodePlan, LdapPlan, LdapPlanError, SlapdSettings } from "./types";
import { isLive, isRevoked, mayBeLdapMaster } from "../node-roles";

export const DEFAULT_SLAPD_SETTINGS: SlapdSettings = {
  port: 389,
  runDir: "/var/run/slapd",
  ldapiSocket: "/var/run/slapd/ldapi",
  modulePath: "/usr/lib/ldap",
  schemaDir: "/etc/ldap/schema",
  defaultsFile: "/etc/default/slapd",
  systemdUnit: "slapd",
  systemdDropIn: "/etc/systemd/system/slapd.service.d/rplan.conf",
  startAfter: ["tinc@rplan.service"],
  user: "openldap",
  group: "openldap",
  mountSubdir: "slapd",
  secretFile: "replicator.secret",
  rid: 1,
  retry: "1 60 5 +",
  networkTimeout: 5,
  dbMaxSize: 1073741824,
  spCheckpoint: "100 10",
  spSessionLog: 10000,
};

/** Default access of a ring the config does not mention: a full read-only replica. */
export const DEFAULT_RING_ACCESS: AccessLevel = "read";

export const INDEXES: readonly string[] = ["objectClass eq", "entryCSN,entryUUID eq", "uid eq", "mail eq", "rplanMailAlias eq", "rplanHome eq"];

/** The node's replication secret: `<slapd key dir>/replicator.secret`, inside its encrypted mount. */
export function secretPathOf(n: Pick<NodeConfig, "encryptedMount" | "keyDirs">, settings: SlapdSettings = DEFAULT_SLAPD_SETTINGS): string {
  return `${nodeKeyDirs(n.encryptedMount, n.keyDirs).slapd}/${settings.secretFile}`;
}

export function planLdap(cluster: ClusterConfig, settings: SlapdSettings = DEFAULT_SLAPD_SETTINGS): LdapPlan {
  const problems: string[] = [];
  const bad = (p: string) => problems.push(p);
  const ldap = cluster.ldap;
  if (!ldap) throw new LdapPlanError(["rplan:ldap is required: {master: <node>, suffix: dc=example,dc=org}"]);

  const ringAccess: Record<string, AccessLevel> = {};
  for (const ring of Object.keys(cluster.rings)) ringAccess[ring] = DEFAULT_RING_ACCESS;
  for (const [ring, level] of Object.entries(ldap.ringAccess ?? {})) {
    if (!(ring in cluster.rings)) bad(`rplan:ldap.ringAccess: ${ring} is not a ring (rings: ${Object.keys(cluster.rings).join(", ")})`);
    else if (!ACCESS_LEVELS.includes(level)) bad(`rplan:ldap.ringAccess.${ring} must be one of ${ACCESS_LEVELS.join(", ")} (got ${JSON.stringify(level)})`);
    else ringAccess[ring] = level;
  }

  const sorted = [...cluster.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const serverIds = assignServerIds(
    sorted.map((n) => n.name),
    ldap.serverIds ?? {},
    bad,
  );
  const live = sorted.filter(isLive);
  const master = live.find((n) => n.name === ldap.master);
  if (!master) bad(`rplan:ldap.master ${ldap.master} is not an active node`);
  else if (!mayBeLdapMaster(master)) bad(`rplan:ldap.master ${ldap.master} is ${master.state}; the master must be an active node`);
  else if (!FULL_ACCESS.includes(ringAccess[master.ring])) {
    bad(`rplan:ldap.master ${ldap.master} is in ring ${master.ring} with access ${ringAccess[master.ring]}: its replica is partial; the master must be in a ring with read or write access`);
  }
  for (const n of live) if (ringAccess[n.ring] === "none") bad(`node ${n.name} is in ring ${n.ring}, whose LDAP access is none: it could not replicate the directory`);
  if (problems.length > 0) throw new LdapPlanError(problems);

  const dns = treeDns(ldap.suffix);
  const url = (address: string) => `ldap://${address}:${settings.port}/`;
  const nodes: LdapNodePlan[] = live.map((n) => {
    const access = ringAccess[n.ring];
    const base = {
      node: n.name,
      serverId: serverIds[n.name],
      ring: n.ring,
      access,
      vpnAddress: n.vpnAddress,
      identityDn: nodeIdentityDn(ldap.suffix, n.name),
      secretPath: secretPathOf(n, settings),
      configDir: `${n.encryptedMount.path}/${settings.mountSubdir}/config`,
      dataDir: `${n.encryptedMount.path}/${settings.mountSubdir}/data`,
      listen: [url("127.0.0.1"), url(n.vpnAddress), "ldapi:///"],
    };
    if (n.name === ldap.master) return { ...base, role: "master" as const };
    return {
      ...base,
      role: "consumer" as const,
      syncrepl: {
        rid: settings.rid,
        provider: url(master!.vpnAddress),
        binddn: base.identityDn,
        searchbase: ldap.suffix,
        retry: settings.retry,
        networkTimeout: settings.networkTimeout,
        ...(access === "routing" ? { attrs: ROUTING_ATTRIBUTES.filter((a) => a !== "entry") } : {}),
      },
      updateRef: url(master!.vpnAddress),
    };
  });

  return {
    settings,
    suffix: ldap.suffix,
    master: ldap.master,
    nodes,
    revoked: sorted.filter(isRevoked).map((n) => n.name),
    ringAccess,
    acl: renderAcl({
      suffix: ldap.suffix,
      systemDn: dns.system,
      nodesDn: dns.nodes,
      rings: Object.entries(cluster.rings).map(([ring, cidr]) => ({ ring, cidr, access: ringAccess[ring] })),
      revoked: sorted.filter(isRevoked).map((n) => ({ identityDn: nodeIdentityDn(ldap.suffix, n.name), vpnAddress: n.vpnAddress })),
      localSocket: settings.ldapiSocket,
    }),
    indexes: INDEXES,
    limits: [`dn.children="${dns.nodes}" time=unlimited size=unlimited`],
    dns,
  };
}

/** The node's plan by name (throws naming the nodes when absent). */
export function ldapNodeOf(plan: LdapPlan, node: string): LdapNodePlan {
  const n = plan.nodes.find((x) => x.node === node);
  if (!n) throw new Error(`${node} holds no replica (nodes: ${plan.nodes.map((x) => x.node).join(", ") || "none"})`);
  return n;
}

/** The SlapdConfig business inputs of one node. */
export function slapdNodeSpec(plan: LdapPlan, node: string): SlapdNodeSpec {
  const n = ldapNodeOf(plan, node);
  return {
    node: n.node,
    serverId: n.serverId,
    suffix: plan.suffix,
    role: n.role,
    configDir: n.configDir,
    dataDir: n.dataDir,
    listen: n.listen,
    acl: plan.acl,
    indexes: plan.indexes,
    limits: plan.limits,
    ...(n.syncrepl ? { syncrepl: n.syncrepl } : {}),
    ...(n.updateRef ? { updateRef: n.updateRef } : {}),
  };
}
