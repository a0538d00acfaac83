import type { ServiceDescriptor } from "./descriptor";

/** The user directory (components/ldap-replica.ts): its database and replication secrets live in the mount. */
export const slapd = {
  name: "slapd",
  purpose: "the user directory, replicated to every node, one master",
  packages: ["slapd", "ldap-utils"],
  keyDir: true,
  mountUnits: ["slapd"],
} satisfies ServiceDescriptor;
