/**
 * Directory entries as data: the fixed tree, node identities and user entries, with validation.
 * Pure (hashing uses node's crypto, no randomness: salts are derived, see `sshaHash`).
 */
import { NODE_NAME as NODE, USER_ID as UID } from "../names";
import * as crypto from "crypto";
import { escapeDnValue } from "./ldif";

/** An entry the providers keep on the master: DN and the attributes it owns. */
export interface DirectoryEntry {
  readonly dn: string;
  readonly attributes: Readonly<Record<string, readonly string[]>>;
}

export interface TreeDns {
  readonly people: string;
  readonly system: string;
  readonly nodes: string;
}

export function treeDns(suffix: string): TreeDns {
  return { people: `ou=people,${suffix}`, system: `ou=system,${suffix}`, nodes: `ou=nodes,ou=system,${suffix}` };
}

/** The DN of a node's identity (replication, and later its services over the VPN). */
export function nodeIdentityDn(suffix: string, node: string): string {
  return `cn=${escapeDnValue(node)},${treeDns(suffix).nodes}`;
}

/** The suffix entry and the organizational units every directory has. */
export function baseEntries(suffix: string, organization: string): DirectoryEntry[] {
  const dns = treeDns(suffix);
  const dc = /^dc=([^,]+)/i.exec(suffix)?.[1];
  if (!dc) throw new Error(`the suffix must start with dc= (got ${suffix})`);
  return [
    { dn: suffix, attributes: { objectClass: ["top", "dcObject", "organization"], dc: [dc], o: [organization] } },
    { dn: dns.people, attributes: { objectClass: ["top", "organizationalUnit"], ou: ["people"] } },
    { dn: dns.system, attributes: { objectClass: ["top", "organizationalUnit"], ou: ["system"] } },
    { dn: dns.nodes, attributes: { objectClass: ["top", "organizationalUnit"], ou: ["nodes"] } },
  ];
}

/** A node identity entry: standard object classes only. */
export function nodeIdentityEntry(suffix: string, node: string, passwordHash: string): DirectoryEntry {
  return {
    dn: nodeIdentityDn(suffix, node),
    attributes: {
      objectClass: ["top", "applicationProcess", "simpleSecurityObject"],
      cn: [node],
      description: [`rplan node ${node}: replication and service identity`],
      userPassword: [passwordHash],
    },
  };
}

/**
 * `{SSHA}` of a password with a salt derived from the DN and the password itself. Deterministic, so
 * the same secret always gives the same hash (no spurious diffs) while two identities sharing a
 * password still hash differently. Meant for high-entropy generated secrets (the replication
 * passwords are 40 random characters): for those the salt's job is uniqueness, not slowing a guess.
 */
export function sshaHash(password: string, dn: string): string {
  const salt = crypto.createHash("sha256").update(`rplan-ssha\0${dn.toLowerCase()}\0${password}`).digest().subarray(0, 8);
  const digest = crypto.createHash("sha1").update(password).update(salt).digest();
  return "{SSHA}" + Buffer.concat([digest, salt]).toString("base64");
}

/** Does `{SSHA}` `hash` match `password`? (tests and drills) */
export function checkSsha(password: string, hash: string): boolean {
  if (!hash.startsWith("{SSHA}")) return false;
  const raw = Buffer.from(hash.slice(6), "base64");
  const salt = raw.subarray(20);
  return crypto.createHash("sha1").update(password).update(salt).digest().equals(raw.subarray(0, 20));
}

// ---------------------------------------------------------------- users

export { UID };
const MAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const PASSWORD_HASH = /^\{(SSHA|SSHA256|SSHA512|CRYPT|ARGON2|PBKDF2-SHA512)\}[A-Za-z0-9+/=$.,:-]{8,512}$/;
const MAIL_ROUTE = /^[a-z][a-z0-9-]{0,31}:[A-Za-z0-9.:\[\]_-]{1,200}$/;
export const USER_STATES = ["active", "frozen", "disabled"] as const;
export type UserState = (typeof USER_STATES)[number];

/** A user as the LdapUser provider receives it. */
export interface UserSpec {
  /** Login name: `^[a-z0-9][a-z0-9._-]{0,63}$`, nothing else. */
  readonly uid: string;
  /** Primary address. */
  readonly mail: string;
  /** The node holding the user's data (rplanHome). */
  readonly home: string;
  readonly aliases?: readonly string[];
  /** Bytes; 0 = no quota. */
  readonly quota?: number;
  /** Explicit postfix transport (default: derived from home by the mail routing). */
  readonly mailRoute?: string;
  readonly state?: UserState;
  /** A password HASH ({SSHA}, {CRYPT}, {ARGON2}...): plaintext passwords never enter the stack. */
  readonly passwordHash?: string;
  /** Display name (default: the uid; users are anonymous). */
  readonly displayName?: string;
}

/** Every problem with a user spec (`known(v)` false for values unknown at preview: skipped). */
export function validateUser(u: Partial<UserSpec>, known: (v: unknown) => boolean = () => true): string[] {
  const problems: string[] = [];
  const bad = (p: string) => problems.push(p);
  const show = (v: unknown) => JSON.stringify(v);
  if (known(u.uid) && !(typeof u.uid === "string" && UID.test(u.uid))) bad(`uid ${show(u.uid)} must match ${UID} (lowercase letters, digits, . _ -; at most 64)`);
  if (known(u.mail) && !(typeof u.mail === "string" && MAIL.test(u.mail) && u.mail.length <= 254)) bad(`mail ${show(u.mail)} is not an e-mail address`);
  if (known(u.home) && !(typeof u.home === "string" && NODE.test(u.home))) bad(`home ${show(u.home)} must be a node name`);
  if (u.aliases !== undefined && known(u.aliases)) {
    if (!Array.isArray(u.aliases)) bad("aliases must be a list of e-mail addresses");
    else {
      const seen = new Set<string>();
      for (const a of u.aliases) {
        if (!known(a)) continue;
        if (!(typeof a === "string" && MAIL.test(a))) bad(`alias ${show(a)} is not an e-mail address`);
        else if (seen.has(a.toLowerCase()) || (typeof u.mail === "string" && a.toLowerCase() === u.mail.toLowerCase())) bad(`alias ${a} is listed twice (or is the primary address)`);
        else seen.add(a.toLowerCase());
      }
    }
  }
  if (u.quota !== undefined && known(u.quota) && !(Number.isSafeInteger(u.quota) && (u.quota as number) >= 0)) bad(`quota ${show(u.quota)} must be a non-negative whole number of bytes`);
  if (u.mailRoute !== undefined && known(u.mailRoute) && !(typeof u.mailRoute === "string" && MAIL_ROUTE.test(u.mailRoute))) bad(`mailRoute ${show(u.mailRoute)} must be a postfix transport like lmtp:[198.18.0.11]:24`);
  if (u.state !== undefined && known(u.state) && !(USER_STATES as readonly unknown[]).includes(u.state)) bad(`state ${show(u.state)} must be one of ${USER_STATES.join(", ")}`);
  if (u.passwordHash !== undefined && known(u.passwordHash) && !(typeof u.passwordHash === "string" && PASSWORD_HASH.test(u.passwordHash))) {
    bad("passwordHash must be a scheme-tagged hash like {SSHA}... or {CRYPT}$6$...; plaintext passwords are refused");
  }
  if (u.displayName !== undefined && known(u.displayName) && !(typeof u.displayName === "string" && u.displayName.length > 0 && u.displayName.length <= 128 && !/[\x00-\x1f]/.test(u.displayName))) {
    bad("displayName must be 1-128 printable characters");
  }
  return problems;
}

export function userDn(suffix: string, uid: string): string {
  if (!UID.test(uid)) throw new Error(`invalid uid ${JSON.stringify(uid)}`);
  return `uid=${uid},${treeDns(suffix).people}`;
}

/** The attributes rplan owns on a user entry (absent optional ones are removed on update). */
export const USER_ATTRIBUTES = ["objectClass", "uid", "cn", "sn", "displayName", "mail", "userPassword", "rplanHome", "rplanQuota", "rplanMailRoute", "rplanMailAlias", "rplanUserState"] as const;

/** The user's entry: inetOrgPerson (standard) + rplanUser (auxiliary). Throws on an invalid spec. */
export function userEntry(suffix: string, u: UserSpec): DirectoryEntry {
  const problems = validateUser(u);
  if (problems.length > 0) throw new Error(`invalid user ${JSON.stringify(u.uid)}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  const name = u.displayName ?? u.uid;
  const attributes: Record<string, string[]> = {
    objectClass: ["top", "person", "organizationalPerson", "inetOrgPerson", "rplanUser"],
    uid: [u.uid],
    cn: [u.uid],
    sn: [u.uid],
    displayName: [name],
    mail: [u.mail.toLowerCase()],
    rplanHome: [u.home],
    rplanUserState: [u.state ?? "active"],
  };
  if (u.passwordHash) attributes.userPassword = [u.passwordHash];
  if (u.quota !== undefined) attributes.rplanQuota = [String(u.quota)];
  if (u.mailRoute) attributes.rplanMailRoute = [u.mailRoute];
  if (u.aliases && u.aliases.length > 0) attributes.rplanMailAlias = u.aliases.map((a) => a.toLowerCase());
  return { dn: userDn(suffix, u.uid), attributes };
}
