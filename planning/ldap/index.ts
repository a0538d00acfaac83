/**
 * The replicated directory, planned purely: roles, server IDs, cn=config as data, ACLs from the
 * trust rings, the rplan schema, the master switch as steps, entries (tree, node identities, users).
 * No Pulumi, no I/O. See docs/switch-ldap-master.md.
 */
export * from "./types";
export * from "./ldif";
export * from "./schema";
export * from "./server-id";
export * from "./acl";
export * from "./syncrepl";
export * from "./slapd-config";
export * from "./entries";
export * from "./switch";
export * from "./plan";
