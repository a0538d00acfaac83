/**
 * Bringing the placement record up to date with what the hosts and the directory say, for
 * `npm run placement -- sizes|sync`. Pure: the measurements and the directory's homes come in, a
 * new record and an account of every difference come out. Nothing is removed or rehomed silently:
 * a home changes only when the admin asks (`--adopt-directory-homes`), and every change is reported.
 */
import { USER_ID } from "../names";
import type { PlacementRecord } from "./record";
import type { NodeState } from "./types";
import { cmp } from "./validate";

/** What `du` found on one node: uid → bytes of its directory there (users without one are absent). */
export interface NodeMeasurement {
  readonly node: string;
  readonly sizes: ReadonlyMap<string, number>;
  /** The node could not be measured (unreachable, locked mount…): its users keep their old size. */
  readonly error?: string;
}

export interface SizeChange {
  readonly user: string;
  /** Where the size was measured: the home, or (data not moved yet) the node holding the biggest copy. */
  readonly node: string;
  readonly before: number;
  readonly after: number;
}

export interface SizesResult {
  readonly record: PlacementRecord;
  readonly changed: SizeChange[];
  /** Users found on no measured node (their size is kept). */
  readonly notFound: string[];
}

/**
 * Each user's size is its copy at the home; when the home has none (a move written in the file but
 * not carried out yet, or the home could not be measured) the biggest copy elsewhere. Old copies a
 * move keeps for the grace period are therefore never counted twice.
 */
export function applySizes(rec: PlacementRecord, measured: readonly NodeMeasurement[]): SizesResult {
  const users: PlacementRecord["users"] = {};
  const changed: SizeChange[] = [];
  const notFound: string[] = [];
  for (const [user, u] of Object.entries(rec.users).sort((a, b) => cmp(a[0], b[0]))) {
    const atHome = measured.find((m) => m.node === u.home)?.sizes.get(user);
    const elsewhere = measured
      .filter((m) => m.node !== u.home && m.sizes.has(user))
      .map((m) => ({ node: m.node, bytes: m.sizes.get(user)! }))
      .sort((a, b) => b.bytes - a.bytes || cmp(a.node, b.node))[0];
    const found = atHome !== undefined ? { node: u.home, bytes: atHome } : elsewhere;
    users[user] = { ...u, bytes: found?.bytes ?? u.bytes };
    if (!found) notFound.push(user);
    else if (found.bytes !== u.bytes) changed.push({ user, node: found.node, before: u.bytes, after: found.bytes });
  }
  return { record: { ...rec, users, pins: { ...rec.pins }, limits: { ...rec.limits } }, changed, notFound };
}

export interface Drift {
  readonly user: string;
  readonly file: string;
  readonly directory: string;
}

export interface SyncResult {
  readonly record: PlacementRecord;
  /** Users the directory has and the file had not: added with the directory's home, 0 bytes. */
  readonly added: { user: string; home: string }[];
  /** Users in the file that the directory lacks (left in the file). */
  readonly notInDirectory: string[];
  /** Homes that differ; the file wins at the next `up` unless adopted. */
  readonly drift: Drift[];
  /** Drifted users whose file home was set to the directory's (`--adopt-directory-homes`). */
  readonly adopted: Drift[];
  /** Directory entries that cannot enter the file: a uid or a home the stack does not allow. */
  readonly refused: string[];
}

/** The record with every directory user in it; see SyncResult for what is reported. */
export function syncWithDirectory(
  rec: PlacementRecord,
  directory: ReadonlyMap<string, string>,
  nodes: readonly { readonly name: string; readonly state: NodeState }[],
  opts: { adoptDirectoryHomes?: boolean } = {},
): SyncResult {
  const users: PlacementRecord["users"] = Object.fromEntries(Object.entries(rec.users).map(([k, u]) => [k, { ...u }]));
  const known = new Set(nodes.map((n) => n.name));
  const out: Omit<SyncResult, "record"> = { added: [], notInDirectory: [], drift: [], adopted: [], refused: [] };
  for (const [user, home] of [...directory].sort((a, b) => cmp(a[0], b[0]))) {
    if (!USER_ID.test(user)) out.refused.push(`directory user ${JSON.stringify(user)}: the uid is not one rplan accepts (${USER_ID.source}); not added`);
    else if (!known.has(home)) out.refused.push(`directory user ${user}: home ${JSON.stringify(home)} is not a node of the stack; ${users[user] ? "file home kept" : "not added"}`);
    else if (!users[user]) {
      users[user] = { home, bytes: 0 };
      out.added.push({ user, home });
    } else if (users[user].home !== home) {
      const d = { user, file: users[user].home, directory: home };
      if (opts.adoptDirectoryHomes) {
        users[user].home = home;
        out.adopted.push(d);
      } else out.drift.push(d);
    }
  }
  out.notInDirectory.push(...Object.keys(users).filter((u) => !directory.has(u)).sort(cmp));
  return { record: { users, pins: { ...rec.pins }, limits: { ...rec.limits } }, ...out };
}
