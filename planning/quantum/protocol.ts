/**
 * The move protocol's decisions: moving one user's quantum from its home to another node, losing
 * nothing (docs/move-users.md tells the story). Pure — no I/O, no clock — so every state a killed
 * run can leave, and every way a step can fail, is decided here and tested without a host; the
 * host side, which runs the steps, is ops/quantum/move.ts.
 *
 * The steps, in the order that makes the move safe:
 *
 *   set aside   a copy the new home holds from an earlier move away from it is moved out of the way.
 *   bulk copy   every part (planning/quantum/parts.ts) copied old → new while the user keeps working.
 *   freeze      the journal says "frozen": mail is deferred, logins refused.
 *   quiesce     every replica shows the freeze, every node forgets cached routes, no delivery to
 *               the user is in flight, the user's sessions are ended.
 *   final sync  a last copy, then both copies compared (`afterComparison`).
 *   switch      the journal says the new home (still frozen); from here on the new copy is the user's.
 *   unfreeze    the journal clears the freeze; what waited is delivered to the new home.
 *   finish      caches and queues flushed, the new copy tidied and measured.
 *
 * The journal is the user's entry in the directory (home and frozen): the only state a move keeps.
 * A rerun reads it and goes on where the killed run stopped (`moveStage`, `stepsFrom`), so an
 * interrupted move leaves the user at one home, and a rerun never leaves anyone frozen.
 */

/** A user's entry as the directory holds it: the move's journal. */
export interface JournalEntry {
  readonly uid: string;
  readonly home: string;
  readonly frozen: boolean;
}

/**
 * Where a move from `from` to `to` stands, read from the user's entry: "no" (not started: bulk
 * copy first), frozen at the old home (go on from the freeze), frozen at the new home (only the
 * unfreeze is left; also when `from` = `to`, the work item of a user frozen where the placement
 * wants it), or already done. A home that is neither means someone else moved the user: refused.
 */
export type MoveStage = "no" | "frozen-at-old-home" | "frozen-at-new-home" | "already-done";

export function moveStage(entry: Pick<JournalEntry, "home" | "frozen">, from: string, to: string): MoveStage {
  if (entry.home === to && !entry.frozen) return "already-done";
  if (entry.home !== from && entry.home !== to) throw new Error(`the directory says the home is ${entry.home} (someone else moved the user; refresh and plan again)`);
  if (entry.home === from && from !== to) return entry.frozen ? "frozen-at-old-home" : "no";
  return "frozen-at-new-home";
}

/** The steps of a move, in order. */
export const STEPS = ["set aside", "bulk copy", "freeze", "quiesce", "final sync", "switch", "unfreeze", "finish"] as const;
export type Step = (typeof STEPS)[number];

/**
 * The steps a move runs from where its journal stands: all of them when it has not started; from
 * the quiesce when an interrupted run froze the user at the old home (the freeze is written, and
 * what the bulk copy copied is on the new home, but not dsync's state: the final sync is a full
 * one); the unfreeze and the finish when it switched the home; none when the move is done.
 */
export function stepsFrom(stage: MoveStage): Step[] {
  const from: Record<MoveStage, Step | undefined> = { no: "set aside", "frozen-at-old-home": "quiesce", "frozen-at-new-home": "unfreeze", "already-done": undefined };
  const first = from[stage];
  return first === undefined ? [] : STEPS.slice(STEPS.indexOf(first));
}

/**
 * What a step's failure does. Before the freeze nothing has changed for the user, and a failed
 * write of the journal is read back by the rerun: the move just fails ("fail"; a rerun goes on from
 * the journal). Frozen and not yet switched (quiesce, final sync), the old home still holds the
 * user's mail: the user goes back to work there, unfrozen, and the move fails ("unfreeze at the
 * old home"). A failed switch leaves the user frozen at the old home, and a failed unfreeze frozen at
 * the new one: the move fails and the rerun finishes it.
 */
export type OnFailure = "fail" | "unfreeze at the old home";

export function onFailure(step: Step): OnFailure {
  return step === "quiesce" || step === "final sync" ? "unfreeze at the old home" : "fail";
}

/** How many times the final sync runs before the move gives up: once from the bulk copy's state, once in full. */
export const FINAL_SYNC_ATTEMPTS = 2;

/**
 * The dsync state the final sync's `attempt` (1-based) goes on from: the first from the bulk copy's
 * (only what changed since; "" when resuming a freeze: a full sync), the second always in full, so
 * a state that missed something cannot lose it.
 */
export function finalSyncState(attempt: number, bulkState: string): string {
  return attempt === 1 ? bulkState : "";
}

/** What follows the comparison of both copies after the final sync's `attempt`. */
export type AfterComparison = "switch" | "sync again in full" | "copies differ: fail";

/**
 * Equal copies: switch. Different ones after the first attempt: sync again, in full. Still
 * different after the last: the move fails before the switch (the user is unfrozen at the old home,
 * `onFailure("final sync")`), and nothing else changes.
 */
export function afterComparison(attempt: number, differences: readonly string[]): AfterComparison {
  if (differences.length === 0) return "switch";
  return attempt < FINAL_SYNC_ATTEMPTS ? "sync again in full" : "copies differ: fail";
}
