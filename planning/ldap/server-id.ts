/**
 * olcServerID assignment.
 *
 * A server ID is part of every change sequence number (CSN) a node writes while it is master, and
 * consumers keep one contextCSN per server ID: changing the ID of a live node, or giving a new node
 * the ID of an old one, mixes two writers' histories. So an ID must be a function of something that
 * never changes for a node, and must not depend on which other nodes exist:
 *
 * - default: derived from the node's NAME alone (FNV-1a, 32 bit, mapped to 1..4095). A node's name
 *   is its identity in rplan (renaming a node is replacing it), so the ID never changes, and adding
 *   or removing other nodes never moves it (unlike an ID from list order).
 * - override: `rplan:ldap.serverIds: {<node>: <1..4095>}`, for the rare collision (≈1% for ten nodes)
 *   or to keep the ID of a node that was configured by hand before.
 * - uniqueness is checked across every node of the config INCLUDING revoked ones: a revoked node's
 *   ID stays retired while its CSNs may still be in contextCSN values.
 * - the SlapdConfig provider refuses to change the ID of a node it has configured (check, at
 *   preview), so a new override on a live node is caught before anything is touched.
 */

export const MAX_SERVER_ID = 4095;

/** FNV-1a 32-bit over the UTF-8 bytes. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, "utf8")) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The default server ID of a node: 1..4095 from its name. */
export function defaultServerId(node: string): number {
  return (fnv1a(`rplan-sid:${node}`) % MAX_SERVER_ID) + 1;
}

/**
 * Server IDs of all nodes (active, draining and revoked). Problems (out-of-range overrides, overrides
 * for unknown nodes, collisions) are pushed to `bad`.
 */
export function assignServerIds(nodes: readonly string[], overrides: Readonly<Record<string, number>> = {}, bad: (p: string) => void = () => {}): Record<string, number> {
  const ids: Record<string, number> = {};
  for (const [node, id] of Object.entries(overrides)) {
    if (!nodes.includes(node)) bad(`rplan:ldap.serverIds: ${node} is not a node of the config`);
    if (!Number.isInteger(id) || id < 1 || id > MAX_SERVER_ID) bad(`rplan:ldap.serverIds.${node} must be an integer 1..${MAX_SERVER_ID} (got ${JSON.stringify(id)})`);
  }
  for (const n of nodes) ids[n] = overrides[n] ?? defaultServerId(n);
  const byId = new Map<number, string[]>();
  for (const n of nodes) byId.set(ids[n], [...(byId.get(ids[n]) ?? []), n]);
  for (const [id, names] of byId) {
    if (names.length > 1) {
      const free = firstFree(new Set(Object.values(ids)));
      const overridden = names.filter((n) => overrides[n] !== undefined);
      const fix = overridden.length > 0 ? `change rplan:ldap.serverIds.${overridden[0]}` : `set rplan:ldap.serverIds.<the one not yet set up> (${names.join(" or ")})`;
      bad(`olcServerID ${id} would be shared by ${names.join(" and ")}: ${fix} to an unused ID (e.g. ${free}); never change the ID of a node that already runs slapd`);
    }
  }
  return ids;
}

function firstFree(used: Set<number>): number {
  for (let i = 1; i <= MAX_SERVER_ID; i++) if (!used.has(i)) return i;
  return 0;
}
