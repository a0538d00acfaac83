/**
 * User entries on a bound directory client: the one place that writes and reads them, shared by
 * the LdapUser provider and `npm run ldap -- user …`. rplan owns the attributes listed in
 * planning/ldap/entries.ts (USER_ATTRIBUTES): what the spec does not set is removed.
 */
import * as crypto from "crypto";
import type { Client } from "ldapts";
import { USER_ATTRIBUTES, userDn, userEntry, UserSpec } from "../planning/ldap";
import { ldapError, readEntry, syncEntry } from "../transports/ldap";

/** A user to write, with the suffix and the node acting as master (named in errors). */
export interface UserWrite extends UserSpec {
  readonly suffix: string;
  readonly master: { readonly node: string };
}

/** Create or update the user's entry on a bound client (tests run it against a local slapd). */
export async function writeUser(client: Client, u: UserWrite): Promise<"added" | "modified" | "unchanged"> {
  const e = userEntry(u.suffix, u);
  try {
    return await syncEntry(client, e.dn, e.attributes, USER_ATTRIBUTES);
  } catch (err) {
    throw ldapError(u.master.node, `write user ${u.uid}`, err);
  }
}

/** The user's spec as found in the directory (undefined when there is no entry). */
export async function readUser(client: Client, suffix: string, uid: string): Promise<Partial<UserSpec> | undefined> {
  const a = await readEntry(client, userDn(suffix, uid), USER_ATTRIBUTES);
  if (!a) return undefined;
  const one = (k: string) => a[k]?.[0];
  return {
    uid: one("uid"),
    mail: one("mail"),
    home: one("rplanHome"),
    ...(a.rplanMailAlias ? { aliases: a.rplanMailAlias } : {}),
    ...(one("rplanQuota") !== undefined ? { quota: Number(one("rplanQuota")) } : {}),
    ...(one("rplanMailRoute") ? { mailRoute: one("rplanMailRoute") } : {}),
    state: (one("rplanUserState") ?? "active") as UserSpec["state"],
    ...(one("userPassword") ? { passwordHash: one("userPassword") } : {}),
    ...(one("displayName") && one("displayName") !== uid ? { displayName: one("displayName") } : {}),
  };
}

/**
 * `{SSHA}` hash of a password typed by the admin, made on the admin machine (the password never
 * leaves it): SHA-1 over the password and 8 random salt bytes, as `slappasswd -h {SSHA}` makes.
 */
export function hashUserPassword(password: string): string {
  if (password.length < 8) throw new Error("the password must have at least 8 characters");
  const salt = crypto.randomBytes(8);
  const digest = crypto.createHash("sha1").update(password, "utf8").update(salt).digest();
  return "{SSHA}" + Buffer.concat([digest, salt]).toString("base64");
}
