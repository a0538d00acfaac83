/**
 * Seeded, portable hashing for rendezvous (highest random weight) placement. SHA-256 rather than a
 * hand-rolled hash: it is pure computation, identical on every Node version, and its output is
 * uniform enough that the weights really are the shares.
 */
import { createHash } from "node:crypto";

const TWO_48 = 2 ** 48;

/** A uniform number in (0, 1) for the pair (user, node); never exactly 0 or 1. */
export function unitHash(user: string, node: string): number {
  // "\n" cannot occur in validated user ids or node names, so the pair encodes unambiguously.
  const d = createHash("sha256").update(`${user}\n${node}`).digest();
  return (d.readUIntBE(0, 6) + 0.5) / TWO_48;
}

/** A 48-bit integer hash of a user alone (what "hash(user) mod N" placement uses). */
export function userHash(user: string): number {
  return createHash("sha256").update(user).digest().readUIntBE(0, 6);
}

/**
 * Weighted rendezvous hashing: each node scores w / -ln(h(user, node)) and the highest wins.
 * With this score a node wins with probability w_i / Σw, and changing one node's weight (or
 * adding/removing a node) only moves users to or from that node. `nodes` must be sorted; ties
 * (astronomically unlikely) go to the first. Nodes with weight ≤ 0 never win.
 */
export function rendezvous(user: string, nodes: readonly { name: string; weight: number }[]): string | undefined {
  let best: string | undefined;
  let bestScore = 0;
  for (const n of nodes) {
    if (!(n.weight > 0)) continue;
    const score = n.weight / -Math.log(unitHash(user, n.name));
    if (best === undefined || score > bestScore) {
      best = n.name;
      bestScore = score;
    }
  }
  return best;
}
