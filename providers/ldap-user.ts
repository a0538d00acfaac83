import * as pulumi from "@pulumi/pulumi";
import type { LdapUserInputs } from "./impl/ldap-user";
import { ThinResource } from "./thin";

export type LdapUserArgs = { readonly [K in keyof LdapUserInputs]: pulumi.Input<LdapUserInputs[K]> };

/**
 * One user's entry on the LDAP master (inetOrgPerson + rplanUser): uid, addresses, home node,
 * quota, route, state, password hash. A new uid is a new entry.
 */
export class LdapUser extends ThinResource {
  constructor(name: string, args: LdapUserArgs, opts?: pulumi.CustomResourceOptions) {
    // A password hash is crackable offline: it is a secret in state too.
    super("ldap-user", "LdapUser", name, { ...args }, { ...opts, additionalSecretOutputs: ["passwordHash", ...(opts?.additionalSecretOutputs ?? [])] });
  }
}
