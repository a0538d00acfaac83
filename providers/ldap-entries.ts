import * as pulumi from "@pulumi/pulumi";
import type { LdapEntriesInputs } from "./impl/ldap-entries";
import { thinProvider } from "./thin";

/** One provider object for every LdapEntries. */
const provider = thinProvider("ldap-entries");

export type LdapEntriesArgs = { readonly [K in keyof LdapEntriesInputs]: pulumi.Input<LdapEntriesInputs[K]> };

/**
 * Entries kept on the LDAP master (the tree and node identities); unlisted children of `prune`
 * containers are deleted. Deleting the resource leaves the directory alone.
 */
export class LdapEntries extends pulumi.dynamic.Resource {
  declare public readonly lastApply: pulumi.Output<{ added: string[]; modified: string[]; deleted: string[] } | undefined>;
  /** The master's contextCSN right after the entries were written. */
  declare public readonly contextCSN: pulumi.Output<string[] | undefined>;

  constructor(name: string, args: LdapEntriesArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { lastApply: undefined, contextCSN: undefined, ...args }, opts, "rplan", "LdapEntries");
  }
}
