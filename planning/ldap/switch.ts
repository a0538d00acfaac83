/**
 * Switching the master role, as an ordered list of steps (pure data). The SlapdConfig resources
 * execute it: the NEW master's resource runs the takeover (freeze → wait → promote); the old master's
 * and every consumer's resources depend on it and then converge (demote+unfreeze, repoint).
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

export type SwitchStep =
  | { readonly kind: "freeze"; readonly node: string }
  | { readonly kind: "skip-freeze"; readonly node: string; readonly reason: string }
  | { readonly kind: "wait-caught-up"; readonly node: string; readonly of: string; readonly timeoutMs: number }
  | { readonly kind: "promote"; readonly node: string }
  | { readonly kind: "demote"; readonly node: string; readonly master: string }
  | { readonly kind: "repoint"; readonly node: string; readonly master: string };

export interface SwitchPlan {
  readonly from: string;
  readonly to: string;
  readonly steps: readonly SwitchStep[];
}

export interface SwitchInput {
  readonly from: string;
  readonly to: string;
  /** Every other node that stays in the directory (consumers before and after). */
  readonly consumers: readonly string[];
  /** The old master is revoked (or gone): it is never contacted. */
  readonly fromUnreachable?: boolean;
  readonly timeoutMs?: number;
}

export const DEFAULT_SWITCH_TIMEOUT_MS = 10_000;

export function planMasterSwitch(input: SwitchInput): SwitchPlan {
  if (input.from === input.to) throw new Error(`${input.to} is already the master`);
  const timeoutMs = input.timeoutMs ?? DEFAULT_SWITCH_TIMEOUT_MS;
  const others = [...input.consumers].filter((n) => n !== input.from && n !== input.to).sort();
  const steps: SwitchStep[] = input.fromUnreachable
    ? [{ kind: "skip-freeze", node: input.from, reason: `${input.from} is revoked and never contacted` }, { kind: "promote", node: input.to }]
    : [{ kind: "freeze", node: input.from }, { kind: "wait-caught-up", node: input.to, of: input.from, timeoutMs }, { kind: "promote", node: input.to }, { kind: "demote", node: input.from, master: input.to }];
  for (const n of others) steps.push({ kind: "repoint", node: n, master: input.to });
  return { from: input.from, to: input.to, steps };
}

/** The steps the new master's SlapdConfig runs itself (the rest is the other nodes' convergence). */
export function takeoverSteps(plan: SwitchPlan): SwitchStep[] {
  const i = plan.steps.findIndex((s) => s.kind === "promote");
  return plan.steps.slice(0, i + 1);
}

/** One line per step, for docs, previews and logs. */
export function describeStep(s: SwitchStep): string {
  switch (s.kind) {
    case "freeze":
      return `freeze ${s.node}: olcReadOnly TRUE (writes refused from now on), read its contextCSN`;
    case "skip-freeze":
      return `do not contact ${s.node} (${s.reason}): writes it acknowledged but never replicated are lost`;
    case "wait-caught-up":
      return `wait until ${s.node}'s contextCSN has caught up with ${s.of}'s (at most ${s.timeoutMs} ms; on timeout unfreeze ${s.of} and stop)`;
    case "promote":
      return `promote ${s.node}: delete olcSyncrepl and olcUpdateRef (syncprov is already loaded): it takes writes`;
    case "demote":
      return `demote ${s.node}: syncrepl from ${s.master}, referral to ${s.master}, olcReadOnly FALSE — one modify`;
    case "repoint":
      return `repoint ${s.node}: syncrepl and referral to ${s.master}`;
  }
}

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
