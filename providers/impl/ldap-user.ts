/**
 * LdapUser: one user's entry (`uid=<uid>,ou=people,<suffix>`: inetOrgPerson + rplanUser), written on
 * the master through transports/ldap.ts (ldapts over an SSH channel to its ldapi socket, root by
 * SASL EXTERNAL). rplan owns the entry's attributes listed in planning/ldap/entries.ts
 * (USER_ATTRIBUTES): what the inputs do not set is removed.
 *
 * - The uid is validated at check (`^[a-z0-9][a-z0-9._-]{0,63}$`, nothing else); a new uid or
 *   suffix is a new entry (replacement). Plaintext passwords are refused: only hashes are inputs.
 * - `master` is where writes go; it is not part of the diff, so a master switch does not rewrite
 *   thousands of users. An update uses the current master; a delete uses the master recorded at the
 *   last update, and if that node has become a consumer the delete fails with a clear error (it
 *   refers writes elsewhere) instead of pretending.
 * - Create adopts an existing entry with the same uid (the uid is the user's identity).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Client } from "ldapts";
import { isLdapSuffix, userDn, UserSpec, validateUser } from "../../planning/ldap";
import { readUser, writeUser } from "../../ops/ldap-users";
import { deleteEntry, LdapError, ldapError, sshStreamOpener, withRootLdap } from "../../transports/ldap";
import { sshConnection } from "../../transports/ssh";
import { diffKeys } from "./diff";
import type { NodeRef } from "./ldap-slapd";
import { isUnknown, sshTarget } from "./common";

export interface LdapUserInputs extends UserSpec {
  readonly master: NodeRef;
  readonly socketPath: string;
  readonly suffix: string;
}

const BUSINESS = ["suffix", "uid", "mail", "home", "aliases", "quota", "mailRoute", "state", "passwordHash", "displayName"];

export async function check(_olds: unknown, news: LdapUserInputs): Promise<pulumi.dynamic.CheckResult> {
  const failures: pulumi.dynamic.CheckFailure[] = validateUser(news, (v) => !isUnknown(v)).map((reason) => ({ property: reason.split(" ")[0], reason }));
  if (!isUnknown(news.suffix) && !isLdapSuffix(news.suffix)) failures.push({ property: "suffix", reason: `suffix ${JSON.stringify(news.suffix)} must look like dc=example,dc=org` });
  return failures.length > 0 ? { inputs: news, failures } : { inputs: news };
}

export async function diff(_id: string, olds: LdapUserInputs, news: LdapUserInputs): Promise<pulumi.dynamic.DiffResult> {
  return diffKeys(normalize(olds), normalize(news), BUSINESS, ["uid", "suffix"]);
}

/** Defaults made explicit, so that a refresh reading them back is no change. */
function normalize(u: LdapUserInputs): Record<string, unknown> {
  const v = u as unknown as Record<string, unknown>;
  return {
    ...v,
    state: v.state ?? "active",
    aliases: Array.isArray(v.aliases) && v.aliases.length === 0 ? undefined : v.aliases,
    displayName: v.displayName === v.uid ? undefined : v.displayName,
  };
}

export async function create(inputs: LdapUserInputs): Promise<pulumi.dynamic.CreateResult> {
  await onMaster(inputs, (c) => writeUser(c, inputs));
  return { id: userDn(inputs.suffix, inputs.uid), outs: inputs };
}

export async function update(_id: string, _olds: LdapUserInputs, news: LdapUserInputs): Promise<pulumi.dynamic.UpdateResult> {
  await onMaster(news, (c) => writeUser(c, news));
  return { outs: news };
}

/** Refresh: the entry as it is on the recorded master; gone when it was deleted. */
export async function read(id: string, props: LdapUserInputs): Promise<pulumi.dynamic.ReadResult> {
  const found = await onMaster(props, (c) => readUser(c, props.suffix, props.uid));
  if (!found) return { id: "", props: {} };
  const cleared = { aliases: undefined, quota: undefined, mailRoute: undefined, passwordHash: undefined, displayName: undefined };
  return { id, props: { ...props, ...cleared, ...found } };
}

export async function delete_(_id: string, props: LdapUserInputs): Promise<void> {
  await onMaster(props, async (c) => {
    try {
      await deleteEntry(c, userDn(props.suffix, props.uid));
    } catch (e) {
      const err = ldapError(props.master.node, `delete user ${props.uid}`, e);
      if (err.code === 10 || err.code === 53) {
        throw new LdapError(`${err.message}. This user was last written while ${props.master.node} was master: run up once with the user still listed (it records the current master), then remove it`, props.master.node, err.code);
      }
      throw err;
    }
  });
}
export { delete_ as delete };

async function onMaster<T>(inputs: LdapUserInputs, fn: (c: Client) => Promise<T>): Promise<T> {
  const conn = await sshConnection(sshTarget(inputs.master));
  return withRootLdap(inputs.master.node, sshStreamOpener(conn, { socketPath: inputs.socketPath }), fn);
}
