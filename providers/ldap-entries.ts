import * as pulumi from "@pulumi/pulumi";
import type { LdapEntriesInputs } from "./impl/ldap-entries";
import { ThinResource } from "./thin";

export type LdapEntriesArgs = { readonly [K in keyof LdapEntriesInputs]: pulumi.Input<LdapEntriesInputs[K]> };

/**
 * Entries kept on the LDAP master (the tree and node identities); unlisted children of `prune`
 * containers are deleted. Deleting the resource leaves the directory alone.
 */
export class LdapEntries extends ThinResource {
  declare public readonly lastApply: pulumi.Output<{ added: string[]; modified: string[]; deleted: string[] } | undefined>;
  /** The master's contextCSN right after the entries were written. */
  declare public readonly contextCSN: pulumi.Output<string[] | undefined>;

  constructor(name: string, args: LdapEntriesArgs, opts?: pulumi.CustomResourceOptions) {
    super("ldap-entries", "LdapEntries", name, { lastApply: undefined, contextCSN: undefined, ...args }, opts);
  }
}
