/**
 * A node's slapd configuration (cn=config) as data, and the ldapmodify change records that take a
 * node from what it has to what it should have. Pure: the provider reads the node's cn=config,
 * calls `configChanges`, applies the result with `ldapmodify -Y EXTERNAL -H ldapi:///`.
 *
 * Where things live (see docs/ARCHITECTURE.md, "Keys on a node"):
 * - cn=config (which holds the consumer's syncrepl credential, in clear, as slapd requires) and the
 *   MDB database (user data, password hashes) are both INSIDE the node's encrypted mount:
 *   `<mount>/slapd/config` and `<mount>/slapd/data`; /etc/default/slapd points SLAPD_CONF there.
 *   /etc/ldap/slapd.d (the package's default config, identical on every node) is left unused.
 * - the node's replication secret also sits in `<mount>/keys/slapd/replicator.secret` (0600,
 *   openldap): the provider reads it there to fill in olcSyncrepl, so the secret never enters the
 *   SlapdConfig resource's inputs or state.
 * - slapd listens on 127.0.0.1, the node's VPN address and ldapi only — never a public address.
 */
import { ROOT_PEERCRED_DN } from "./acl";
import { ChangeRecord, configDnKey, LdifEntry, Modification, stripOrder, valuesOf } from "./ldif";
import { normalizeSchemaValue, rplanSchemaEntry, STANDARD_SCHEMAS } from "./schema";
import { redactSyncrepl, renderSyncrepl, syncreplKey } from "./syncrepl";
import type { Role, SlapdSettings, SyncreplSpec } from "./types";

/** What one node's slapd must look like: the business inputs of a SlapdConfig. */
export interface SlapdNodeSpec {
  readonly node: string;
  readonly serverId: number;
  readonly suffix: string;
  readonly role: Role;
  readonly configDir: string;
  readonly dataDir: string;
  readonly listen: readonly string[];
  readonly acl: readonly string[];
  readonly indexes: readonly string[];
  readonly limits: readonly string[];
  /** Consumers: replication from the master (credential filled in on the node). */
  readonly syncrepl?: SyncreplSpec;
  /** Consumers: where writes are referred. */
  readonly updateRef?: string;
}

/** How a managed attribute is compared and repaired. */
export type AttrPolicy =
  /** Exactly these values, order irrelevant (replace when different); `absentIs` counts as present. */
  | { readonly kind: "set"; readonly values: readonly string[]; readonly absentIs?: readonly string[] }
  /** Exactly these values in this order (X-ORDERED attributes: ACLs, limits; replace when different). */
  | { readonly kind: "list"; readonly values: readonly string[] }
  /** At least these values (add the missing ones): modules cannot be unloaded from a running slapd. */
  | { readonly kind: "contains"; readonly values: readonly string[] }
  /** syncrepl values, compared parsed (the credential included). */
  | { readonly kind: "syncrepl"; readonly values: readonly string[] }
  /** Schema definitions, compared with whitespace normalized. */
  | { readonly kind: "schema"; readonly values: readonly string[] }
  /** Must not be present. */
  | { readonly kind: "absent" };

export interface DesiredEntry {
  /** DN without ordering indexes; matched with `configDnKey`. */
  readonly dn: string;
  /** The whole entry, used when it does not exist. */
  readonly create: Readonly<Record<string, readonly string[]>>;
  readonly attrs: Readonly<Record<string, AttrPolicy>>;
}

export const CONFIG_DN = "cn=config";
export const MODULES_DN = "cn=module,cn=config";
export const DATABASE_DN = "olcDatabase=mdb,cn=config";
export const SYNCPROV_DN = "olcOverlay=syncprov,olcDatabase=mdb,cn=config";

/**
 * The desired cn=config entries of a node. `credential` (the node's replication secret, read from
 * its mount) is needed by consumers only. syncprov is loaded and configured on EVERY node, masters
 * and consumers alike: any node can be promoted without touching modules or overlays, and while a
 * switch repoints consumers one by one a consumer still attached to the old master keeps receiving
 * the new master's writes through it (cascading).
 */
export function desiredConfig(spec: SlapdNodeSpec, settings: SlapdSettings, credential?: string): DesiredEntry[] {
  if (spec.role === "consumer" && (!spec.syncrepl || !spec.updateRef)) throw new Error(`${spec.node}: a consumer needs a syncrepl and an update referral`);
  if (spec.role === "consumer" && credential === undefined) throw new Error(`${spec.node}: a consumer's syncrepl needs the node's replication credential`);
  const consumer = spec.role === "consumer";
  const schema = rplanSchemaEntry();
  const db: Record<string, readonly string[]> = {
    olcSuffix: [spec.suffix],
    olcRootDN: [ROOT_PEERCRED_DN],
    olcDbDirectory: [spec.dataDir],
    olcDbMaxSize: [String(settings.dbMaxSize)],
    olcDbIndex: [...spec.indexes],
    olcAccess: [...spec.acl],
    olcLimits: [...spec.limits],
  };
  return [
    { dn: CONFIG_DN, create: {}, attrs: { olcServerID: { kind: "set", values: [String(spec.serverId)] } } },
    { dn: MODULES_DN, create: {}, attrs: { olcModuleLoad: { kind: "contains", values: ["back_mdb", "syncprov"] } } },
    { dn: schema.dn, create: schema.attrs, attrs: { olcAttributeTypes: { kind: "schema", values: schema.attrs.olcAttributeTypes }, olcObjectClasses: { kind: "schema", values: schema.attrs.olcObjectClasses } } },
    {
      dn: DATABASE_DN,
      create: { objectClass: ["olcDatabaseConfig", "olcMdbConfig"], olcDatabase: ["mdb"], ...db },
      attrs: {
        ...Object.fromEntries(Object.entries(db).map(([k, v]) => [k, k === "olcAccess" || k === "olcLimits" ? { kind: "list" as const, values: v } : { kind: "set" as const, values: v }])),
        olcSyncrepl: consumer ? { kind: "syncrepl", values: [renderSyncrepl(spec.syncrepl!, credential!)] } : { kind: "absent" },
        olcUpdateRef: consumer ? { kind: "set", values: [spec.updateRef!] } : { kind: "absent" },
        // A frozen old master is unfrozen only in the same modify that makes it a consumer.
        olcReadOnly: { kind: "set", values: ["FALSE"], absentIs: ["FALSE"] },
        olcMultiProvider: { kind: "set", values: ["FALSE"], absentIs: ["FALSE"] },
      },
    },
    {
      dn: SYNCPROV_DN,
      create: { objectClass: ["olcOverlayConfig", "olcSyncProvConfig"], olcOverlay: ["syncprov"], olcSpCheckpoint: [settings.spCheckpoint], olcSpSessionLog: [String(settings.spSessionLog)] },
      attrs: { olcSpCheckpoint: { kind: "set", values: [settings.spCheckpoint] }, olcSpSessionLog: { kind: "set", values: [String(settings.spSessionLog)] } },
    },
  ];
}

const norm = (v: string) => stripOrder(v).replace(/\s+/g, " ").trim().toLowerCase();
const moduleName = (v: string) => norm(v).replace(/\.(la|so)$/, "");

function same(policy: AttrPolicy, current: readonly string[]): boolean {
  switch (policy.kind) {
    case "absent":
      return current.length === 0;
    case "set": {
      const cur = current.length === 0 && policy.absentIs ? policy.absentIs : current;
      const a = [...cur].map(norm).sort();
      const b = [...policy.values].map(norm).sort();
      return a.length === b.length && a.every((v, i) => v === b[i]);
    }
    case "list":
      return current.length === policy.values.length && current.every((v, i) => norm(v) === norm(policy.values[i]));
    case "contains": {
      const have = new Set(current.map(moduleName));
      return policy.values.every((v) => have.has(moduleName(v)));
    }
    case "syncrepl":
      return current.length === policy.values.length && current.every((v, i) => syncreplKey(v) === syncreplKey(policy.values[i]));
    case "schema":
      return current.length === policy.values.length && current.every((v, i) => normalizeSchemaValue(v) === normalizeSchemaValue(policy.values[i]));
  }
}

function repair(attr: string, policy: AttrPolicy, current: readonly string[]): Modification {
  if (policy.kind === "absent") return { op: "delete", attr };
  if (policy.kind === "contains") {
    const have = new Set(current.map(moduleName));
    return { op: "add", attr, values: policy.values.filter((v) => !have.has(moduleName(v))) };
  }
  return { op: "replace", attr, values: policy.values };
}

/** Find the current entry for a desired DN (ordering indexes ignored). */
export function findEntry(current: readonly LdifEntry[], dn: string): LdifEntry | undefined {
  const key = configDnKey(dn);
  return current.find((e) => configDnKey(e.dn) === key);
}

/**
 * Change records taking `current` (cn=config as read from the node) to `desired`: one record per
 * entry, so each entry's modifications apply atomically (a demoted master becomes a consumer and is
 * unfrozen in one operation). A missing entry is added under its parent's actual DN.
 */
export function configChanges(current: readonly LdifEntry[], desired: readonly DesiredEntry[]): ChangeRecord[] {
  const records: ChangeRecord[] = [];
  for (const d of desired) {
    const have = findEntry(current, d.dn);
    if (!have) {
      const comma = d.dn.indexOf(",");
      const parentDn = d.dn.slice(comma + 1);
      const parent = findEntry(current, parentDn);
      const attrs: Record<string, readonly string[]> = { ...d.create };
      for (const [a, p] of Object.entries(d.attrs)) if (p.kind !== "absent" && !(a in attrs)) attrs[a] = p.values;
      records.push({ dn: `${d.dn.slice(0, comma)},${parent ? parent.dn : parentDn}`, change: "add", attrs });
      continue;
    }
    const mods: Modification[] = [];
    for (const [attr, policy] of Object.entries(d.attrs)) {
      const cur = valuesOf(have, attr);
      if (!same(policy, cur)) mods.push(repair(attr, policy, cur));
    }
    if (mods.length > 0) records.push({ dn: have.dn, change: "modify", mods });
  }
  return records;
}

/** Change records as text safe for outputs and errors (credentials redacted). */
export function describeChanges(records: readonly ChangeRecord[]): string[] {
  return records.map((r) => {
    if (r.change === "modify") return `modify ${r.dn}: ${r.mods.map((m) => `${m.op} ${m.attr}${m.op !== "delete" && m.values ? ` (${m.values.map(redactSyncrepl).join(" | ")})` : ""}`).join("; ")}`;
    return `${r.change} ${r.dn}`;
  });
}

/** The database entry of the current config (the mdb database holding `suffix`). */
export function databaseEntry(current: readonly LdifEntry[]): LdifEntry | undefined {
  return findEntry(current, DATABASE_DN);
}

/** The change record that freezes (or unfreezes) a database: olcReadOnly on its actual DN. */
export function readOnlyChange(databaseDn: string, readOnly: boolean): ChangeRecord {
  return { dn: databaseDn, change: "modify", mods: [{ op: "replace", attr: "olcReadOnly", values: [readOnly ? "TRUE" : "FALSE"] }] };
}

/**
 * The LDIF `slapadd -n0 -F <configDir>` loads on a node that has no cn=config in its mount yet:
 * globals, modules, the standard schemas (by include) and rplan's, the frontend and config
 * databases (root over ldapi only), and the mdb database with syncprov — everything except the
 * role (syncrepl/referral), which the first convergence applies like any later change.
 */
export function bootstrapLdif(spec: SlapdNodeSpec, settings: SlapdSettings): string {
  const root = `to * by dn.exact=${ROOT_PEERCRED_DN} manage by * break`;
  const blocks: string[] = [
    [
      "dn: cn=config",
      "objectClass: olcGlobal",
      "cn: config",
      `olcServerID: ${spec.serverId}`,
      `olcArgsFile: ${settings.runDir}/slapd.args`,
      `olcPidFile: ${settings.runDir}/slapd.pid`,
      "olcLogLevel: none",
      "olcToolThreads: 1",
    ].join("\n"),
    ["dn: cn=module{0},cn=config", "objectClass: olcModuleList", "cn: module{0}", `olcModulePath: ${settings.modulePath}`, "olcModuleLoad: {0}back_mdb", "olcModuleLoad: {1}syncprov"].join("\n"),
    ["dn: cn=schema,cn=config", "objectClass: olcSchemaConfig", "cn: schema"].join("\n"),
    ...STANDARD_SCHEMAS.map((s) => `include: file://${settings.schemaDir}/${s}.ldif`),
    (() => {
      const s = rplanSchemaEntry();
      return [`dn: ${s.dn}`, ...Object.entries(s.attrs).flatMap(([a, vs]) => vs.map((v) => `${a}: ${v}`))].join("\n");
    })(),
    [
      "dn: olcDatabase={-1}frontend,cn=config",
      "objectClass: olcDatabaseConfig",
      "objectClass: olcFrontendConfig",
      "olcDatabase: {-1}frontend",
      `olcAccess: {0}${root}`,
      'olcAccess: {1}to dn.base="" by * read',
      'olcAccess: {2}to dn.base="cn=subschema" by * read',
      "olcSizeLimit: 500",
    ].join("\n"),
    ["dn: olcDatabase={0}config,cn=config", "objectClass: olcDatabaseConfig", "olcDatabase: {0}config", `olcAccess: {0}${root}`].join("\n"),
    [
      "dn: olcDatabase={1}mdb,cn=config",
      "objectClass: olcDatabaseConfig",
      "objectClass: olcMdbConfig",
      "olcDatabase: {1}mdb",
      `olcSuffix: ${spec.suffix}`,
      `olcRootDN: ${ROOT_PEERCRED_DN}`,
      `olcDbDirectory: ${spec.dataDir}`,
      `olcDbMaxSize: ${settings.dbMaxSize}`,
      ...spec.indexes.map((i) => `olcDbIndex: ${i}`),
      ...spec.acl.map((a, i) => `olcAccess: {${i}}${a}`),
      ...spec.limits.map((l, i) => `olcLimits: {${i}}${l}`),
    ].join("\n"),
    [
      "dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config",
      "objectClass: olcOverlayConfig",
      "objectClass: olcSyncProvConfig",
      "olcOverlay: {0}syncprov",
      `olcSpCheckpoint: ${settings.spCheckpoint}`,
      `olcSpSessionLog: ${settings.spSessionLog}`,
    ].join("\n"),
  ];
  return blocks.join("\n\n") + "\n";
}

/** /etc/default/slapd: cn=config inside the mount, listening on loopback, the VPN address and ldapi. */
export function renderSlapdDefaults(spec: SlapdNodeSpec, settings: SlapdSettings): string {
  return [
    "# Managed by rplan (LdapReplica): cn=config and the database live inside the encrypted mount.",
    "# slapd listens on loopback, the VPN address and ldapi only; never on a public address.",
    `SLAPD_CONF="${spec.configDir}"`,
    `SLAPD_USER="${settings.user}"`,
    `SLAPD_GROUP="${settings.group}"`,
    "SLAPD_PIDFILE=",
    `SLAPD_SERVICES="${spec.listen.join(" ")}"`,
    "SLAPD_SENTINEL_FILE=/etc/ldap/noslapd",
    'SLAPD_OPTIONS=""',
    "",
  ].join("\n");
}

/**
 * /etc/default/slapd written BEFORE the slapd package is installed (lab image, NodeHost): Debian's
 * postinst starts slapd at once, by default on ldap:/// (every address). ldapi only, until the
 * LdapReplica points it at its config inside the encrypted mount.
 */
export const PREINSTALL_SLAPD_DEFAULTS = [
  "# Written by rplan before slapd was installed: ldapi only until LdapReplica configures slapd.",
  'SLAPD_CONF=',
  'SLAPD_USER="openldap"',
  'SLAPD_GROUP="openldap"',
  'SLAPD_SERVICES="ldapi:///"',
  'SLAPD_OPTIONS=""',
  "",
].join("\n");

/** slapd's systemd drop-in: start after the VPN (slapd binds the node's VPN address). */
export function renderSlapdDropIn(settings: SlapdSettings): string {
  const after = settings.startAfter.join(" ");
  return ["# Managed by rplan (LdapReplica): slapd listens on the VPN address, so it starts after the VPN.", "[Unit]", `After=${after}`, `Wants=${after}`, ""].join("\n");
}
