/**
 * The decisions of carrying a placement out, apart from the hosts that carry them out: which users
 * an update moves, and which old copies an update keeps, removes or forgets. Pure — no I/O, no
 * clock (`now` comes in) — so every state a killed run can leave is tested without a host. Where
 * one user's move stands, and what it does next, is the move protocol's (planning/quantum/protocol.ts);
 * the hosts' side is ops/quantum/; the provider is providers/impl/user-placement.ts.
 */
import type { JournalEntry, MoveStage } from "../quantum/protocol";

/** One user an update moves (or finishes moving). */
export interface MoveWork {
  readonly uid: string;
  readonly from: string;
  readonly to: string;
}

/**
 * Every user not where the placement wants it, and every user an interrupted move left frozen (a
 * user the placement does not name is finished where its entry says it is). In directory order.
 */
export function placementWork(directory: Iterable<JournalEntry>, homes: Readonly<Record<string, string>>): MoveWork[] {
  return [...directory]
    .filter((u) => (homes[u.uid] !== undefined && homes[u.uid] !== u.home) || u.frozen)
    .map((u) => ({ uid: u.uid, from: u.home, to: homes[u.uid] ?? u.home }));
}

/** A copy of a user's mailbox a move left behind, kept until its grace period ends. */
export interface OldCopy {
  readonly user: string;
  readonly node: string;
  /** ms since the epoch when the move finished. */
  readonly since: number;
  /** Where a copy set aside on a new home lies (absent: the user's own directory on `node`). */
  readonly path?: string;
}

/** What a finished move says about the copies it left (ops/quantum/move.ts MoveReport). */
export interface FinishedMove {
  readonly user: string;
  readonly from: string;
  readonly to: string;
  readonly resumed: MoveStage;
  readonly setAside?: string;
}

/** The copies this update's moves left: the old home's directory, and any older copy set aside on the new home. */
export function copiesLeftBy(moves: readonly FinishedMove[], now: number): OldCopy[] {
  return [
    ...moves.filter((m) => m.from !== m.to && m.resumed !== "already-done").map((m) => ({ user: m.user, node: m.from, since: now })),
    ...moves.filter((m) => m.setAside).map((m) => ({ user: m.user, node: m.to, since: now, path: m.setAside })),
  ];
}

/**
 * Copies a killed update may have left without a record: users whose home the state last saw
 * (`lastSeen`, the `directory` output) is not their home now, when no record names that node. A
 * run killed after a move's switch (or after its moves, before the engine saved its outputs) leaves
 * the directory moved and the state not; its rerun has nothing left to move, or only the unfreeze
 * (`from` = `to`), and no move of its own says where the old copy is. A candidate is only a copy if
 * its mailbox is the home's (ops/quantum/mail-store.ts `holdsCopyOf`): a home changed by hand without
 * its mail leaves the mail where it was, and that is never an old copy.
 */
export function unrecordedCopies(lastSeen: Readonly<Record<string, string>>, homes: Readonly<Record<string, string>>, known: readonly OldCopy[]): { user: string; node: string }[] {
  return Object.keys(lastSeen)
    .sort()
    .filter((u) => homes[u] !== undefined && lastSeen[u] !== homes[u] && !known.some((c) => c.user === u && c.node === lastSeen[u] && c.path === undefined))
    .map((u) => ({ user: u, node: lastSeen[u] }));
}

/**
 * A record names a copy of the user's mailbox that is not the mailbox itself: a user's own directory
 * on its home is the mailbox (a move back to a node makes its old copy the live one again), so such a
 * record is forgotten — never kept to expire later, never handed to a removal. Set-aside copies lie
 * elsewhere and always count.
 */
export function isOldCopy(c: OldCopy, homes: Readonly<Record<string, string>>, standbys: Readonly<Record<string, string>> = {}): boolean {
  // The user's own directory on its standby node is the standby copy (a move onto the standby made
  // the old home the new standby): never an old copy to remove.
  return c.path !== undefined || (homes[c.user] !== c.node && standbys[c.user] !== c.node);
}

/** Expired copies that are still old copies: the work they give the next update. */
export function expiredOldCopies(copies: readonly OldCopy[], homes: Readonly<Record<string, string>>, graceSeconds: number, now: number, standbys: Readonly<Record<string, string>> = {}): OldCopy[] {
  return copies.filter((c) => isOldCopy(c, homes, standbys) && c.since + graceSeconds * 1000 <= now);
}

/**
 * After an update's moves: `previous` (the records the state had) and `left` (what this update's
 * moves left), against the directory as it is now (`homes`, uid → home). One record per copy (the
 * latest move's time wins: a copy left again restarts its grace); records of copies that became the
 * user's mailbox, and of nodes that are no longer live (revoked: nothing to remove), are forgotten;
 * the rest are kept until their grace ends, then removed.
 */
export function settleOldCopies(
  previous: readonly OldCopy[],
  left: readonly OldCopy[],
  o: { readonly homes: Readonly<Record<string, string>>; readonly standbys?: Readonly<Record<string, string>>; readonly live: (node: string) => boolean; readonly graceSeconds: number; readonly now: number },
): { keep: OldCopy[]; remove: OldCopy[] } {
  const byCopy = new Map<string, OldCopy>();
  for (const c of [...previous, ...left]) {
    const key = JSON.stringify([c.user, c.node, c.path ?? null]);
    const had = byCopy.get(key);
    if (!had || had.since < c.since) byCopy.set(key, c);
  }
  const keep: OldCopy[] = [];
  const remove: OldCopy[] = [];
  for (const c of byCopy.values()) {
    if (!o.live(c.node) || !isOldCopy(c, o.homes, o.standbys)) continue;
    (c.since + o.graceSeconds * 1000 > o.now ? keep : remove).push(c);
  }
  return { keep, remove };
}
