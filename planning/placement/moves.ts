/**
 * What an update of the placement will do, read from the old and new desired homes: the moves a
 * reviewer sees in the preview, and the rules a move must obey (checked at preview, before any host
 * is touched). Pure — no Pulumi, no I/O. One user's move is the quantum's (planning/quantum, ops/quantum).
 */
import { NODE_NAME, USER_ID } from "../names";
import { isRevoked, mayBeHome } from "../node-roles";
import type { PlacementRecord, RecordNode } from "./record";
import type { Move } from "./types";

/** A move an update carries out: a planner's move (./types.ts) without its reason. */
export type PlannedMove = Readonly<Pick<Move, "user" | "from" | "to" | "bytes">>;

/** Users whose home differs between `current` (uid → node) and the record's, sorted by uid. */
export function movesBetween(current: Readonly<Record<string, string>>, rec: PlacementRecord): PlannedMove[] {
  return Object.keys(rec.users)
    .sort()
    .filter((u) => current[u] !== undefined && current[u] !== rec.users[u].home)
    .map((u) => ({ user: u, from: current[u], to: rec.users[u].home, bytes: rec.users[u].bytes }));
}

/** "1.2 GB" — decimal units, as `du` and disk vendors count. */
export function humanBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/**
 * What the preview shows for each move: `alice: lab1 → lab3, 1.2 GB`. A move off a revoked node copies
 * nothing (the node is never contacted): it is a promotion, onto the user's standby copy when `to` was
 * its standby, else onto an empty mailbox, and the line says which.
 */
export function describeMove(m: PlannedMove, from?: { readonly revoked: boolean; readonly standby?: string }): string {
  if (!from?.revoked) return `${m.user}: ${m.from} → ${m.to}, ${humanBytes(m.bytes)}`;
  return from.standby === m.to
    ? `${m.user}: ${m.from} (revoked) → ${m.to}, promoted: its standby copy there becomes the mailbox`
    : `${m.user}: ${m.from} (revoked) → ${m.to}, NEW EMPTY MAILBOX: no standby copy there; older mail comes back only from a backup`;
}

/**
 * Every problem with the record on the stack's `nodes` (every node of the config, revoked ones too:
 * a home may still name one), and with the moves from `previous` (the homes the last update carried
 * out), at once. A home naming an unknown node, a move onto a node that is not active, a pinned user
 * placed off its pin, more bytes than the cap: refused before any host is touched.
 */
export function placementProblems(rec: PlacementRecord, stackNodes: readonly RecordNode[], previous: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  const nodes = new Map(stackNodes.map((n) => [n.name, n]));
  const l = rec.limits;
  if (!Number.isSafeInteger(l.maxBytesMoved) || l.maxBytesMoved <= 0) problems.push(`limits.maxBytesMoved must be a positive number of bytes (got ${JSON.stringify(l.maxBytesMoved)})`);
  if (!Number.isSafeInteger(l.concurrency) || l.concurrency < 1 || l.concurrency > 16) problems.push(`limits.concurrency must be 1..16 (got ${JSON.stringify(l.concurrency)})`);
  if (!Number.isSafeInteger(l.graceSeconds) || l.graceSeconds < 0) problems.push(`limits.graceSeconds must be 0 or more (got ${JSON.stringify(l.graceSeconds)})`);
  for (const [user, { home, bytes }] of Object.entries(rec.users)) {
    if (!USER_ID.test(user)) {
      problems.push(`user ${JSON.stringify(user)} is not a valid uid (${USER_ID})`);
      continue;
    }
    if (typeof home !== "string" || !NODE_NAME.test(home)) problems.push(`${user}: home ${JSON.stringify(home)} is not a node name`);
    else if (!nodes.has(home)) problems.push(`${user}: home ${home} is not a node of this stack`);
    if (!Number.isSafeInteger(bytes) || bytes < 0) problems.push(`${user}: size ${JSON.stringify(bytes)} is not a number of bytes`);
    const pin = rec.pins[user];
    if (pin !== undefined && pin !== home) problems.push(`${user} is pinned to ${pin} but placed on ${home}`);
  }
  for (const [user, pin] of Object.entries(rec.pins)) {
    if (!(user in rec.users)) problems.push(`pin for ${user}, who is not placed`);
    else if (!nodes.has(pin)) problems.push(`${user}: pin ${pin} is not a node of this stack`);
  }
  const moves = movesBetween(previous, rec).filter((m) => nodes.has(m.to));
  for (const m of moves) {
    const target = nodes.get(m.to)!;
    if (!mayBeHome(target)) problems.push(`cannot move ${m.user} to ${m.to}: ${m.to} is ${target.state}`);
  }
  // A promotion off a revoked node copies nothing: it does not count against the cap.
  const total = moves.filter((m) => !isRevoked(nodes.get(m.from) ?? { state: "active" })).reduce((s, m) => s + m.bytes, 0);
  if (total > l.maxBytesMoved) {
    problems.push(`the moves copy ${humanBytes(total)}, more than limits.maxBytesMoved (${humanBytes(l.maxBytesMoved)}): plan again with the cap (npm run placement -- plan …) and move the rest in a later update`);
  }
  return problems;
}
