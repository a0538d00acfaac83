/** Helpers for LDAP tests: cluster configs with LDAP settings, the rings of the lab. */
import { ClusterConfig, validateClusterConfig } from "../../planning/config";
import { rawMeshConfig } from "../mesh/support";

/** Five nodes: n1, n2 core; n3, n5 member; n4 edge. Master n1. `ldap` extras are merged in. */
export function ldapConfig(tweak: (raw: Record<string, any>) => void = () => {}, ldapExtra: Record<string, unknown> = {}): ClusterConfig {
  const raw = rawMeshConfig();
  tweak(raw);
  const c = validateClusterConfig(raw);
  // ringAccess / serverIds are proposed config keys: until the schema has them, tests add them here.
  return { ...c, ldap: { ...(c.ldap as object), ...ldapExtra } as unknown as ClusterConfig["ldap"] };
}

export const RING_ACCESS = { core: "write", member: "read", edge: "routing" } as const;
