/** Choosing which users to move: a subset-sum-ish pick that lands just above a byte target. */
import { UserHome } from "./types";

/**
 * From `candidates` (sorted by bytes, largest first), pick users whose bytes add up to at least
 * `target` but never more than `limit`, overshooting as little as possible.
 *
 * Largest-first greedy takes every user that still fits under the target, so the remainder ends
 * smaller than every user left; then one more user — the smallest that covers the remainder within
 * the limit — closes the gap, and earlier small picks it makes redundant are dropped. Big users go first (fewer, larger moves), small ones fine-tune, and
 * a heavy-tail giant that would overshoot is simply skipped. If nothing can reach the target
 * within the limit, the pick stays below it (the caller sees the shortfall). O(candidates).
 */
export function pickUsers(
  candidates: readonly UserHome[],
  available: (u: UserHome) => boolean,
  target: number,
  limit: number,
): UserHome[] {
  if (target <= 0 || limit <= 0) return [];
  const goal = Math.min(target, limit);
  const taken = new Set<UserHome>();
  let sum = 0;
  for (const c of candidates) {
    if (sum >= goal) break;
    if (c.bytes > 0 && sum + c.bytes <= goal && available(c)) {
      taken.add(c);
      sum += c.bytes;
    }
  }
  if (sum < goal) {
    // Smallest untaken user that fits under the limit: scan from the small end.
    for (let i = candidates.length - 1; i >= 0; i--) {
      const c = candidates[i];
      if (c.bytes === 0 || taken.has(c) || !available(c)) continue;
      if (sum + c.bytes <= limit) {
        taken.add(c);
        sum += c.bytes;
      }
      break;
    }
  }
  // The closing user may make some small earlier picks redundant: drop them, smallest first.
  for (const c of [...taken].sort((a, b) => -bySizeDesc(a, b))) {
    if (sum <= goal) break;
    if (sum - c.bytes >= goal) {
      sum -= c.bytes;
      taken.delete(c);
    }
  }
  return [...taken];
}

/** Largest first; ties by user id so the pick is deterministic. */
export function bySizeDesc(a: UserHome, b: UserHome): number {
  return b.bytes - a.bytes || (a.user < b.user ? -1 : a.user > b.user ? 1 : 0);
}
