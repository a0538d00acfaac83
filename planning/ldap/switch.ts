/**
 * Switching the master role: the protocol, its default timeout and what the preview says of it.
 * The NEW master's SlapdConfig runs the takeover (freeze → wait → promote: `runTakeover` in
 * providers/impl/ldap-slapd.ts); the old master's and every consumer's resources depend on it and
 * then converge (demote+unfreeze, repoint).
 *
 * Why no acknowledged write is lost: at every moment at most one node accepts writes.
 *   1. freeze: the old master gets olcReadOnly TRUE. back-config applies it with the server paused,
 *      so once the modify returns no write is in flight there; every write it ever acknowledged is
 *      in its database, and its contextCSN (read AFTER the freeze) covers all of them. Writes sent
 *      to it from now on fail with "unwilling to perform" (a clear error, not a silent drop);
 *      writes sent to consumers are referred to it and fail the same way.
 *   2. wait: poll the new master's contextCSN until, for every server ID, it is at least the old
 *      master's (caught up: it holds every acknowledged write). Timeout → unfreeze the old master
 *      (nothing was promoted, so it is safe) and fail the update.
 *   3. promote: the new master's olcSyncrepl and olcUpdateRef are deleted (syncprov is already there,
 *      on every node). From here it accepts writes; the old master is still frozen.
 *   4. demote: the old master becomes a consumer of the new one and is unfrozen in ONE modify, so it
 *      never accepts writes again (writes to it get a referral to the new master).
 *   5. repoint: every other consumer's syncrepl and referral move to the new master. Until then it
 *      keeps following the old master, which cascades the new master's writes (syncprov everywhere).
 * A crash anywhere leaves at most one writable node; re-running `up` repeats the idempotent steps.
 * If the old master is revoked (never contacted) there is nothing to freeze: the new master is
 * promoted as it is, and writes the old master acknowledged but never replicated are lost — the
 * preview says so.
 */
import type { Role } from "./types";

/** How long the new master may take to catch up before the switch is undone and the update fails. */
export const DEFAULT_SWITCH_TIMEOUT_MS = 10_000;

export interface RoleView {
  readonly role: Role;
  /** The master this node follows (itself when master). */
  readonly master: string;
}

/**
 * What changes for one node when its config changes from `old` to `next` — shown in the preview as
 * the SlapdConfig's `transition` input. Empty when the role and master are unchanged.
 */
export function describeTransition(node: string, old: RoleView | undefined, next: RoleView, oldMasterUnreachable = false): string {
  if (!old || (old.role === next.role && old.master === next.master)) return "";
  if (next.role === "master") {
    return oldMasterUnreachable
      ? `promote ${node} to master WITHOUT freezing ${old.master} (revoked: never contacted); writes ${old.master} acknowledged but did not replicate are lost`
      : `promote ${node} to master: freeze ${old.master}, wait until ${node} has every write ${old.master} acknowledged (contextCSN), then take writes`;
  }
  if (old.role === "master") return `demote ${node}: after ${next.master} is promoted, become its consumer (syncrepl + referral) and unfreeze in one modify`;
  return `repoint ${node}: replicate from ${next.master} instead of ${old.master}, refer writes to ${next.master}`;
}
