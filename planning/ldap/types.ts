/** Types of the LDAP plan (pure data; see ./plan.ts and docs/switch-ldap-master.md). */
import { isLdapSuffix, LDAP_ACCESS_LEVELS, LdapAccess } from "../config/types";

export { isLdapSuffix };

/**
 * What the nodes of a trust ring may do with the directory over the VPN (enforced by the source
 * address of the connection AND the node identity bound on it):
 * - `write`: read everything, write user data (never the system subtree: that is root's, over ldapi);
 * - `read`: read everything (a full replica: such a node can answer logins and may become master);
 * - `routing`: read only what routing needs (entries, uid, mail, aliases, home, route): its replica
 *   holds no password hashes and no system entries, and it can never be master;
 * - `none`: nothing (a ring whose nodes must not hold the directory at all; it may hold no node).
 */
export type AccessLevel = LdapAccess;
export const ACCESS_LEVELS = LDAP_ACCESS_LEVELS;

/** Access levels whose replica is complete (eligible as master, replicates password hashes). */
export const FULL_ACCESS: readonly AccessLevel[] = ["write", "read"];

/** Fixed facts about slapd on a Debian node (not configurable per stack). */
export interface SlapdSettings {
  /** TCP port slapd listens on (loopback and the node's VPN address only). */
  readonly port: number;
  /** slapd's run directory (pid and args files; Debian: /var/run/slapd). */
  readonly runDir: string;
  /** The ldapi socket (Debian: /var/run/slapd/ldapi); admins reach it through SSH as root. */
  readonly ldapiSocket: string;
  readonly modulePath: string;
  /** Where the standard schema LDIFs live (core, cosine, nis, inetorgperson). */
  readonly schemaDir: string;
  /** /etc/default/slapd: SLAPD_CONF (the cn=config directory) and SLAPD_SERVICES (listen URLs). */
  readonly defaultsFile: string;
  readonly systemdUnit: string;
  /** A drop-in for slapd's unit: start after these units (the VPN: slapd listens on its address). */
  readonly systemdDropIn: string;
  readonly startAfter: readonly string[];
  readonly user: string;
  readonly group: string;
  /** Directory inside the encrypted mount holding cn=config (`config`) and the database (`data`). */
  readonly mountSubdir: string;
  /** File name of the node's replication secret inside its slapd key directory. */
  readonly secretFile: string;
  /** The syncrepl id every consumer uses (one syncrepl per node). */
  readonly rid: number;
  /** syncrepl retry schedule: every second for a minute, then every 5 s forever. */
  readonly retry: string;
  /** Seconds before a syncrepl connection attempt / operation times out. */
  readonly networkTimeout: number;
  /** LMDB map size in bytes (mdb's 10 MiB default is too small for thousands of users). */
  readonly dbMaxSize: number;
  /** syncprov: checkpoint contextCSN every N ops / M minutes; session log size. */
  readonly spCheckpoint: string;
  readonly spSessionLog: number;
}

export type Role = "master" | "consumer";

/** The syncrepl of a consumer, without its credential (that is read on the node, from its mount). */
export interface SyncreplSpec {
  readonly rid: number;
  /** ldap://<master VPN address>:<port>/ */
  readonly provider: string;
  readonly binddn: string;
  readonly searchbase: string;
  readonly retry: string;
  readonly networkTimeout: number;
  /** Attributes replicated; undefined = all (user and operational). */
  readonly attrs?: readonly string[];
}

/** One node's part in the directory. */
export interface LdapNodePlan {
  readonly node: string;
  readonly role: Role;
  readonly serverId: number;
  readonly ring: string;
  readonly access: AccessLevel;
  readonly vpnAddress: string;
  /** The node's identity: binds for replication (and, later, its services' queries over the VPN). */
  readonly identityDn: string;
  /** `<slapd key dir>/replicator.secret`: the identity's password, inside the encrypted mount. */
  readonly secretPath: string;
  /** cn=config directory and database directory, both inside the encrypted mount. */
  readonly configDir: string;
  readonly dataDir: string;
  /** The URLs slapd listens on: loopback, the VPN address, ldapi. Never a public address. */
  readonly listen: readonly string[];
  /** Consumers only. */
  readonly syncrepl?: SyncreplSpec;
  /** Consumers only: where writes are referred (the master's VPN URL). */
  readonly updateRef?: string;
}

export interface LdapPlan {
  readonly settings: SlapdSettings;
  readonly suffix: string;
  readonly master: string;
  /** Every active or draining node, sorted by name. */
  readonly nodes: readonly LdapNodePlan[];
  /** Revoked nodes: never contacted; their identities are deleted and every survivor's secret rotated. */
  readonly revoked: readonly string[];
  /** Trust ring → access level (every ring of the config). */
  readonly ringAccess: Readonly<Record<string, AccessLevel>>;
  /** olcAccess values (without {n}), the same on every node. */
  readonly acl: readonly string[];
  /** olcDbIndex values. */
  readonly indexes: readonly string[];
  /** olcLimits values. */
  readonly limits: readonly string[];
  /** DNs of the fixed tree. */
  readonly dns: { readonly people: string; readonly system: string; readonly nodes: string };
}

/** Problems with the directory a config describes (a config that validates but cannot be planned). */
export class LdapPlanError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`cannot plan the LDAP directory (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "LdapPlanError";
  }
}
