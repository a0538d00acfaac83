/**
 * Standby copies: every user gets a second node keeping a copy of its quantum, so that when its
 * home is seized (`revoked`) the user is promoted onto the copy instead of starting from nothing.
 * The record's `standby` (./record.ts) says where; this file decides it. Pure — no Pulumi, no I/O,
 * no clock, no randomness: users and nodes are sorted, ties broken by name.
 *
 * Minimal churn: a standby that is still valid is never changed (moving a copy costs a full copy),
 * and a new one goes where the fill stays lowest, largest users first (LPT, as ./plan.ts homes).
 */
import { isRevoked, mayBeHome, mayBeStandby } from "../node-roles";
import type { PlacedUser, PlacementRecord } from "./record";
import type { NodeState } from "./types";
import { cmp } from "./validate";

/** A node as standbys are chosen on it (the stack config's nodes fit). */
export interface StandbyNode {
  readonly name: string;
  readonly state: NodeState;
  readonly capacity: number;
  readonly country: string;
}

/**
 * Why a user's standby changes. `same country as home`: an active node in another country exists,
 * so a copy in the home's country (seized with it by one court order) is replaced. `balance` is
 * reserved for moving valid standbys to even out fill, which planStandbys never does.
 */
export type StandbyReason = "new" | "home moved onto it" | "standby not active" | "same country as home" | "balance" | "none possible";

/** One user's standby before (`from`) and after (`to`); absent = none. */
export interface StandbyChange {
  readonly user: string;
  readonly from?: string;
  readonly to?: string;
  readonly reason: StandbyReason;
  /** With `standby not active`: the old standby's state (absent when it is no node of the stack). */
  readonly fromState?: NodeState;
}

/** A user whose home was revoked, and where it lives now. */
export interface Promotion {
  readonly user: string;
  readonly from: string;
  readonly to: string;
  /** true: `to` held the user's standby copy; false: no copy anywhere, the user starts with an empty mailbox. */
  readonly withCopy: boolean;
}

export interface StandbyOptions {
  /** A user whose home has no active node in another country is a problem (else a same-country standby is taken). */
  readonly requireOtherCountry?: boolean;
  /** uid → the home before the current record (a plan's input, the last update's homes): after a move onto its standby, the old home already holds a copy. */
  readonly previousHomes?: Readonly<Record<string, string>>;
}

/** r[k] if r has its own k (a uid like `constructor` must not read Object.prototype). */
const own = <T>(r: Readonly<Record<string, T>> | undefined, k: string): T | undefined => (r !== undefined && Object.hasOwn(r, k) ? r[k] : undefined);
const sorted = <T>(r: Record<string, T>) => Object.entries(r).sort((a, b) => cmp(a[0], b[0]));
/** Largest user first, ties by uid (LPT); on [uid, user, …] tuples. */
const largestFirst = (a: readonly [string, PlacedUser, ...unknown[]], b: readonly [string, PlacedUser, ...unknown[]]) => b[1].bytes - a[1].bytes || cmp(a[0], b[0]);
const copyUsers = (rec: PlacementRecord) => Object.fromEntries(sorted(rec.users).map(([k, u]) => [k, { ...u }]));

/** Bytes each node holds — users homed there plus standby copies — so fill = bytes / capacity. */
class Load {
  private readonly bytes = new Map<string, number>();
  constructor(users: Iterable<[string, PlacedUser]>, countCopy: (user: string, u: PlacedUser) => boolean) {
    for (const [user, u] of users) {
      this.add(u.home, u.bytes);
      if (u.standby !== undefined && u.standby !== u.home && countCopy(user, u)) this.add(u.standby, u.bytes);
    }
  }
  add(node: string, bytes: number): void {
    this.bytes.set(node, (this.bytes.get(node) ?? 0) + bytes);
  }
  /** Among `nodes`, the one whose fill stays lowest with `bytes` more; ties by name. */
  lowest(nodes: readonly StandbyNode[], bytes: number): StandbyNode | undefined {
    const fill = (n: StandbyNode) => ((this.bytes.get(n.name) ?? 0) + bytes) / n.capacity;
    return [...nodes].sort((a, b) => fill(a) - fill(b) || cmp(a.name, b.name))[0];
  }
}

/**
 * Users homed on a revoked node: promoted onto their standby when it is active (withCopy true),
 * else re-homed — onto their pin if they have an active one, else onto the active node whose fill
 * stays lowest, largest users first (withCopy false: an empty mailbox). A promoted user's standby
 * is left as it was, now equal to its home, so planStandbys gives it a new one. With no active
 * node, users stay where they are (completeRecord reports them). `bytes` is kept: the last
 * measured size, what a restore from backup will bring back.
 */
export function promoteRevoked(rec: PlacementRecord, nodes: readonly StandbyNode[]): { record: PlacementRecord; promotions: Promotion[] } {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const active = nodes.filter(mayBeHome);
  const users = copyUsers(rec);
  const promotions: Promotion[] = [];
  const orphans: [string, PlacedUser][] = [];
  for (const [user, u] of sorted(users)) {
    const home = byName.get(u.home);
    if (home === undefined || !isRevoked(home)) continue;
    const copy = u.standby === undefined ? undefined : byName.get(u.standby);
    if (copy !== undefined && mayBeStandby(copy, u.home)) {
      promotions.push({ user, from: u.home, to: copy.name, withCopy: true });
      u.home = copy.name;
    } else orphans.push([user, u]);
  }
  const load = new Load(Object.entries(users), () => true);
  for (const [user, u] of orphans.sort(largestFirst)) {
    const pin = byName.get(own(rec.pins, user) ?? "");
    const to = pin !== undefined && mayBeHome(pin) ? pin : load.lowest(active, u.bytes);
    if (to === undefined) continue;
    load.add(to.name, u.bytes);
    promotions.push({ user, from: u.home, to: to.name, withCopy: false });
    u.home = to.name;
  }
  return { record: { users, pins: { ...rec.pins }, limits: { ...rec.limits } }, promotions: promotions.sort((a, b) => cmp(a.user, b.user)) };
}

/**
 * Every user gets a valid standby: an active node of the stack (mayBeStandby), not its home, and
 * in another country than the home whenever an active node there exists. A valid standby is kept;
 * an invalid one or none is replaced by a choice: after a move onto the standby, the old home if
 * valid (it holds a copy already); else, largest users first, the valid node (not the user's pin,
 * where it is going) whose fill stays lowest. No valid node: `none possible`, standby removed, a
 * problem only with `requireOtherCountry`. Users on revoked homes are left alone: their standby is
 * the copy to promote (promoteRevoked). `changes` are sorted by user.
 */
export function planStandbys(rec: PlacementRecord, nodes: readonly StandbyNode[], opts: StandbyOptions = {}): { record: PlacementRecord; changes: StandbyChange[]; problems: string[] } {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const active = nodes.filter(mayBeHome).sort((a, b) => cmp(a.name, b.name));
  const users = copyUsers(rec);
  const changes: StandbyChange[] = [];
  const problems: string[] = [];
  const candidates = new Map<string, StandbyNode[]>();
  const keep = (user: string, u: PlacedUser) => !candidates.has(user) || candidates.get(user)!.some((n) => n.name === u.standby);

  for (const [user, u] of sorted(users)) {
    const home = byName.get(u.home);
    if (home === undefined) problems.push(`${user}: home ${u.home} is not a node of the stack; no standby chosen`);
    if (home === undefined || isRevoked(home)) continue;
    const others = active.filter((n) => mayBeStandby(n, u.home));
    const abroad = others.filter((n) => n.country !== home.country);
    if (abroad.length === 0 && opts.requireOtherCountry) problems.push(`${user}: no active node outside ${home.country} (its home ${home.name}'s country) may hold its standby copy`);
    candidates.set(user, abroad.length > 0 || opts.requireOtherCountry ? abroad : others);
  }

  const load = new Load(Object.entries(users), keep);
  const choose = (user: string, u: PlacedUser, to: StandbyNode) => {
    load.add(to.name, u.bytes);
    u.standby = to.name;
  };
  const waiting: [string, PlacedUser, StandbyChange][] = [];
  for (const [user, u] of sorted(users)) {
    if (keep(user, u)) continue;
    const valid = candidates.get(user)!;
    const change = changeOf(user, u, byName);
    if (valid.length === 0) {
      delete u.standby;
      changes.push({ user, ...(change.from === undefined ? {} : { from: change.from }), reason: "none possible" });
      continue;
    }
    const old = valid.find((n) => n.name === own(opts.previousHomes, user));
    if (change.reason === "home moved onto it" && old !== undefined) {
      choose(user, u, old);
      changes.push({ ...change, to: old.name });
    } else waiting.push([user, u, change]);
  }
  for (const [user, u, change] of waiting.sort(largestFirst)) {
    const valid = candidates.get(user)!;
    const notPin = valid.filter((n) => n.name !== own(rec.pins, user));
    const to = load.lowest(notPin.length > 0 ? notPin : valid, u.bytes)!;
    choose(user, u, to);
    changes.push({ ...change, to: to.name });
  }
  return { record: { users, pins: { ...rec.pins }, limits: { ...rec.limits } }, changes: changes.sort((a, b) => cmp(a.user, b.user)), problems };
}

/** `u`'s standby must change (it is not valid): from what, and why. */
function changeOf(user: string, u: PlacedUser, byName: ReadonlyMap<string, StandbyNode>): StandbyChange {
  if (u.standby === undefined) return { user, reason: "new" };
  const from = { user, from: u.standby };
  if (u.standby === u.home) return { ...from, reason: "home moved onto it" };
  const s = byName.get(u.standby);
  if (s === undefined) return { ...from, reason: "standby not active" };
  if (!mayBeHome(s)) return { ...from, reason: "standby not active", fromState: s.state };
  return { ...from, reason: "same country as home" };
}

/**
 * What the program carries out for the record the file holds: promoteRevoked, then planStandbys.
 * `problems` adds the users still on a revoked home (no active node to take them).
 */
export function completeRecord(
  rec: PlacementRecord,
  nodes: readonly StandbyNode[],
  opts: StandbyOptions = {},
): { record: PlacementRecord; promotions: Promotion[]; changes: StandbyChange[]; problems: string[] } {
  const { record: promoted, promotions } = promoteRevoked(rec, nodes);
  const { record, changes, problems } = planStandbys(promoted, nodes, opts);
  const revoked = new Set(nodes.filter(isRevoked).map((n) => n.name));
  const stranded = sorted(record.users)
    .filter(([, u]) => revoked.has(u.home))
    .map(([user, u]) => `${user}: its home ${u.home} is revoked and no node is active to take it`);
  return { record, promotions, changes, problems: [...stranded, ...problems] };
}

/** A preview line: `alice: lab1 (revoked) → lab2, promoted from its standby copy`. */
export function describePromotion(p: Promotion): string {
  const what = p.withCopy ? "promoted from its standby copy" : "NEW EMPTY MAILBOX: no standby copy; older mail only from a backup";
  return `${p.user}: ${p.from} (revoked) → ${p.to}, ${what}`;
}

/** A preview line: `alice: standby lab3 → lab2 (lab3 is revoked)`. */
export function describeStandbyChange(c: StandbyChange): string {
  const what = c.from !== undefined && c.to !== undefined ? `standby ${c.from} → ${c.to}` : c.to !== undefined ? `standby ${c.to}` : c.from !== undefined ? `standby ${c.from} dropped` : "no standby";
  const why = {
    new: "new",
    "home moved onto it": `its home moved onto ${c.from}`,
    "standby not active": c.fromState === undefined ? `${c.from} is not a node of the stack` : `${c.from} is ${c.fromState}`,
    "same country as home": `${c.from} is in its home's country`,
    balance: "balance",
    "none possible": "no node may hold its copy",
  }[c.reason];
  return `${c.user}: ${what} (${why})`;
}
