import * as pulumi from "@pulumi/pulumi";
import type { LdapUserInputs } from "./impl/ldap-user";
import { thinProvider } from "./thin";

/** One provider object for every LdapUser (there may be thousands: keep it shared). */
const provider = thinProvider("ldap-user");

export type LdapUserArgs = { readonly [K in keyof LdapUserInputs]: pulumi.Input<LdapUserInputs[K]> };

/**
 * One user's entry on the LDAP master (inetOrgPerson + rplanUser): uid, addresses, home node,
 * quota, route, state, password hash. A new uid is a new entry.
 */
export class LdapUser extends pulumi.dynamic.Resource {
  constructor(name: string, args: LdapUserArgs, opts?: pulumi.CustomResourceOptions) {
    // A password hash is crackable offline: it is a secret in state too.
    super(provider, name, { ...args }, { ...opts, additionalSecretOutputs: ["passwordHash", ...(opts?.additionalSecretOutputs ?? [])] }, "rplan", "LdapUser");
  }
}
