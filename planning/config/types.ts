import { EncryptedMount } from "../encrypted-mount";

export type NodeState = "active" | "draining" | "revoked";
export const NODE_STATES: readonly NodeState[] = ["active", "draining", "revoked"];

/** How admins reach a node. The admin's own key is never part of the config. */
export interface SshEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Pinned public host keys ("type base64"); a connection presenting any other key is refused. */
  readonly hostKeys: readonly string[];
  /** Optional SOCKS5 proxy, e.g. socks5://127.0.0.1:9050 for Tor. */
  readonly proxy?: string;
}

/** One server of the cluster, in one country. */
export interface NodeConfig {
  readonly name: string;
  /** ISO 3166-1 alpha-2. */
  readonly country: string;
  readonly publicAddress: string;
  readonly ssh: SshEndpoint;
  /** The node's address on the VPN, inside its trust ring's subnet. */
  readonly vpnAddress: string;
  readonly ring: string;
  readonly encryptedMount: EncryptedMount;
  /** Bytes of user data the node can hold: the placement weight. */
  readonly capacity: number;
  readonly state: NodeState;
  /** Bump to rotate the node's VPN key (a new key is generated on the node). */
  readonly vpnKeyGeneration: number;
  /** Bump to replace the node's TLS keys (postfix, dovecot), generated on the node. */
  readonly tlsKeyGeneration: number;
  /** Bump to replace the node's DKIM signing key (selector = the node's name), generated on the node. */
  readonly dkimKeyGeneration: number;
  /** Per-service key directories, overriding `<mount>/keys/<service>`; each must lie inside the mount. */
  readonly keyDirs: Readonly<Record<string, string>>;
  /** Extra Debian packages beyond the base set. */
  readonly packages: readonly string[];
}

/** Rules the policy pack applies to the node set. */
export interface CountryPolicy {
  readonly minCountries: number;
  /** Countries allowed to host more than one active node. */
  readonly countryExceptions: readonly string[];
}

/** What a trust ring's nodes may do with the directory (see planning/ldap/types.ts AccessLevel). */
export type LdapAccess = "write" | "read" | "routing" | "none";
export const LDAP_ACCESS_LEVELS: readonly LdapAccess[] = ["write", "read", "routing", "none"];

/** A directory suffix of domain components only (dc=example,dc=org), as rplan's directory uses. */
export function isLdapSuffix(v: unknown): v is string {
  return typeof v === "string" && /^(dc=[a-z0-9-]+)(,dc=[a-z0-9-]+)*$/i.test(v);
}

export interface LdapSettings {
  readonly master: string;
  readonly suffix: string;
  /** Ring → access level (default: read for every ring). */
  readonly ringAccess?: Readonly<Record<string, LdapAccess>>;
  /** Node → olcServerID override (1..4095), for a rare collision of the name-derived IDs. */
  readonly serverIds?: Readonly<Record<string, number>>;
}

/** `rplan:dns`: the zone every active node serves (docs/dns.md). */
export interface DnsSettings {
  /** Seconds, default 300; 1..86 400. */
  readonly ttl: number;
  readonly dmarc?: { readonly policy?: "none" | "quarantine" | "reject"; readonly rua?: string };
}

/** `rplan:spam`: the spam filter's thresholds (docs/mail.md "Spam"). */
export interface SpamSettings {
  /** rspamd's score at and above which port 25 refuses the message (default 15). */
  readonly reject: number;
  /** The score at and above which the message goes to the user's Junk (default 6; below reject). */
  readonly junk: number;
  /**
   * rspamd's test patterns (GTUBE variants that score for "add header" and others): for a test
   * cluster only; anyone could send them. Default false.
   */
  readonly testPatterns: boolean;
}

/** The whole validated stack config. */
export interface ClusterConfig {
  readonly domain: string;
  /** Trust ring name → IPv4 CIDR on the VPN. */
  readonly rings: Readonly<Record<string, string>>;
  readonly nodes: readonly NodeConfig[];
  readonly policy: CountryPolicy;
  readonly ldap?: LdapSettings;
  /**
   * `rplan:placement`: the placement file (every user's home, size and pin), relative to the project
   * directory that holds Pulumi.yaml, e.g. `placement.prod.yaml`. Read by stack-file/placement.ts.
   */
  readonly placementFile?: string;
  /** `rplan:dns` with its defaults (absent in configs built by hand: the zone then uses the defaults). */
  readonly dns?: DnsSettings;
  /** `rplan:spam` with its defaults (absent in configs built by hand: the defaults apply). */
  readonly spam?: SpamSettings;
}

/** Every problem found in a config, reported at once. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid rplan stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}
