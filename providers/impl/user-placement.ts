/**
 * UserPlacement: every placed user's home, carried out. One resource for the whole placement (not
 * one per user): a no-op preview then costs one diff, not thousands (docs/move-users.md has the
 * numbers), and one update can bound the bytes all its moves copy together.
 *
 * - check (no I/O): every rule of planning/placement/moves.ts against the homes the last update
 *   carried out, and `moves`, the lines a reviewer reads ("alice: lab1 → lab3, 1.2 GB").
 * - diff (no I/O): the desired homes against the directory as the last update or refresh read it
 *   (`directory`); a user the directory did not have is refused; expired old copies (not on the
 *   user's home: that copy is the mailbox) and users an interrupted move left frozen are changes too.
 * - create/update: reads the directory on the master, then moves every user whose home differs
 *   (or who is frozen) with the move protocol (ops/quantum/move.ts), at most `limits.concurrency` at
 *   once, and removes old copies whose grace period is over. read: the directory's homes (refresh
 *   shows drift). The update's decisions are planning/placement/carry-out.ts, one move's
 *   planning/quantum/protocol.ts; `carryOut` is the update on connected nodes.
 * - delete: nothing on the hosts (users and their mail stay where they are).
 */
import type * as pulumi from "@pulumi/pulumi";
import { ldapiUrl } from "../../planning/mail/routing";
import { describeMove, movesBetween, placementProblems } from "../../planning/placement/moves";
import { recordFromInputs, RecordInputs, RecordNode } from "../../planning/placement/record";
import { copiesLeftBy, expiredOldCopies, OldCopy, placementWork, settleOldCopies, unrecordedCopies } from "../../planning/placement/carry-out";
import { readDirectoryUsers, DirectoryUser } from "../../ops/quantum/journal";
import { holdsCopyOf, removeOldCopy, setAsideStaleCopy } from "../../ops/quantum/mail-store";
import { flushQueues, MoveNode, MoveReport, moveUser } from "../../ops/quantum/move";
import { isLive, isRevoked } from "../../planning/node-roles";
import { promoteUsers, PromotionReport } from "../../ops/quantum/promote";
import { handOverHeldCopies } from "../../ops/quantum/held";
import { SlapdControl } from "../../ops/slapd-control";
import { sshConnection, SshTarget } from "../../transports/ssh";
import { stableJson } from "./diff";
import { known, sshTarget } from "./common";

/** Every node of the config, revoked ones too (a home may still name one). */
export interface PlacementNodeInput extends RecordNode {
  /** Absent for revoked nodes: they are never contacted. */
  readonly ssh?: Omit<SshTarget, "node">;
  readonly vpnAddress: string;
  readonly storePath: string;
  /** Where its MX keeps spare copies (planning/mail/held.ts); absent in states written before them. */
  readonly heldPath?: string;
}

/** The placement record (as RecordInputs: homes, sizes, pins, limits) and where to carry it out. */
export interface UserPlacementInputs extends RecordInputs {
  readonly nodes: readonly PlacementNodeInput[];
  readonly master: string;
  readonly suffix: string;
  readonly ldapiSocket: string;
  /** Set by check: what this update moves, for reviewers. */
  readonly moves?: readonly string[];
  /** Set by the component: users the file homes on a revoked node, promoted onto their standby (uid → the revoked node). */
  readonly promotedFrom?: Readonly<Record<string, string>>;
  /** Set by the component: the standbys this update gives or changes, for reviewers (planning/placement/standby.ts). */
  readonly standbyChanges?: readonly string[];
}

export type { OldCopy };

export interface UserPlacementOutputs extends UserPlacementInputs {
  /** uid → home, as the directory had it after the last update or refresh (every rplan user). */
  readonly directory: Record<string, string>;
  /** Users the directory shows frozen (an interrupted move; the next update finishes it). */
  readonly frozen: string[];
  readonly oldCopies: OldCopy[];
  readonly lastMoves: MoveReport[];
  /** Users the last update promoted off a revoked home (absent in states written before standbys). */
  readonly lastPromotions?: PromotionReport[];
}

export async function check(olds: Partial<UserPlacementInputs>, news: UserPlacementInputs): Promise<pulumi.dynamic.CheckResult> {
  if (!known(news.homes) || !known(news.nodes)) return { inputs: news };
  const previous = olds.homes ?? {};
  const rec = recordFromInputs(news);
  const problems = placementProblems(rec, news.nodes, previous);
  // A home the file puts on a revoked node is a promotion only for a user who lived there (or whom an
  // earlier update already promoted off it, the file not rewritten yet): for anyone else it is a move
  // onto a revoked node, refused like any other.
  for (const [u, from] of Object.entries(news.promotedFrom ?? {})) {
    if (previous[u] !== undefined && previous[u] !== from && olds.promotedFrom?.[u] !== from) problems.push(`cannot move ${u} to ${from}: ${from} is revoked`);
  }
  if (problems.length > 0) return { inputs: news, failures: problems.map((reason) => ({ property: "homes", reason })) };
  const state = new Map(news.nodes.map((n) => [n.name, n]));
  const standbys = olds.standbys ?? {};
  const lines = movesBetween(previous, rec).map((m) => describeMove(m, { revoked: isRevoked(state.get(m.from) ?? { state: "active" }), standby: standbys[m.user] }));
  return { inputs: { ...news, moves: lines } };
}

export async function diff(_id: string, olds: UserPlacementOutputs, news: UserPlacementInputs): Promise<pulumi.dynamic.DiffResult> {
  const directory = olds.directory ?? {};
  const desired = recordFromInputs(news);
  const missing = Object.keys(desired.users).filter((u) => !(u in directory));
  if (missing.length > 0) {
    throw new Error(
      `the directory has no user ${missing.slice(0, 20).join(", ")}${missing.length > 20 ? ` (and ${missing.length - 20} more)` : ""} ` +
        "(as the last update or refresh read it): add them with `npm run ldap -- user put`, or refresh if they were added since",
    );
  }
  // An old copy on the user's home is the user's mailbox, not work (planning/placement/carry-out.ts).
  const work = movesBetween(directory, desired).length + (olds.frozen ?? []).length + expiredOldCopies(olds.oldCopies ?? [], directory, news.limits?.graceSeconds ?? 0, Date.now(), news.standbys ?? {}).length;
  // Inputs that only describe (sizes, limits, moves) never cause host work by themselves.
  const changes = work > 0 || stableJson(olds.homes) !== stableJson(news.homes) || stableJson(olds.standbys ?? {}) !== stableJson(news.standbys ?? {});
  return { changes, replaces: [], deleteBeforeReplace: false };
}

export async function create(inputs: UserPlacementInputs): Promise<pulumi.dynamic.CreateResult> {
  return { id: "placement", outs: await apply(inputs, {}) };
}

export async function update(_id: string, olds: UserPlacementOutputs, news: UserPlacementInputs): Promise<pulumi.dynamic.UpdateResult> {
  return { outs: await apply(news, olds) };
}

export async function read(id: string, props: UserPlacementOutputs): Promise<pulumi.dynamic.ReadResult> {
  return { id, props: await readOn(props, await connect(props)) };
}

/** A refresh on connected nodes: the directory's homes, and old copies an interrupted update left unrecorded. */
export async function readOn(props: UserPlacementOutputs, nodes: ReadonlyMap<string, MoveNode>): Promise<UserPlacementOutputs> {
  const after = directoryOutputs(await readDirectoryUsers(nodes.get(props.master)!.slapd, props.suffix));
  const found = await unrecordedOldCopies(props.directory ?? {}, after.directory, props.oldCopies ?? [], nodes, Date.now());
  return { ...props, ...after, ...(found.length > 0 ? { oldCopies: [...(props.oldCopies ?? []), ...found] } : {}) };
}

/**
 * The old copies an interrupted update left without a record (planning/placement/carry-out.ts
 * `unrecordedCopies`): each candidate counts only if it holds a copy of the mailbox on the home.
 */
async function unrecordedOldCopies(lastSeen: Readonly<Record<string, string>>, homes: Readonly<Record<string, string>>, known: readonly OldCopy[], nodes: ReadonlyMap<string, MoveNode>, now: number): Promise<OldCopy[]> {
  const found: OldCopy[] = [];
  for (const c of unrecordedCopies(lastSeen, homes, known)) {
    const [n, home] = [nodes.get(c.node), nodes.get(homes[c.user])];
    if (!n || !home) continue;
    const copy = await holdsCopyOf(n, home, c.user).catch((e: Error) => (log(`[move] ${c.user}: cannot tell whether ${c.node} still holds an old copy: ${e.message}`), false));
    if (!copy) continue;
    log(`[move] old copy of ${c.user} on ${c.node}, left by an interrupted update: kept for the grace period`);
    found.push({ user: c.user, node: c.node, since: now });
  }
  return found;
}

export async function delete_(): Promise<void> {
  // Users and their mail stay where they are: removing the resource only stops managing homes.
}
export { delete_ as delete };

function directoryOutputs(users: ReadonlyMap<string, DirectoryUser>): { directory: Record<string, string>; frozen: string[] } {
  const directory: Record<string, string> = {};
  for (const [u, d] of [...users].sort(([a], [b]) => (a < b ? -1 : 1))) directory[u] = d.home;
  return { directory, frozen: [...users.values()].filter((u) => u.frozen).map((u) => u.uid).sort() };
}

async function connect(inputs: UserPlacementInputs): Promise<Map<string, MoveNode>> {
  const live = inputs.nodes.filter((n) => isLive(n) && n.ssh);
  const conns = await Promise.all(live.map((n) => sshConnection(sshTarget({ node: n.name, ssh: n.ssh! }))));
  return new Map(live.map((n, i) => [n.name, { name: n.name, vpnAddress: n.vpnAddress, storePath: n.storePath, ...(n.heldPath ? { heldPath: n.heldPath } : {}), conn: conns[i], slapd: new SlapdControl(n.name, conns[i], ldapiUrl(inputs.ldapiSocket)) }]));
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** What an update reads from the state: the old copies recorded, and the homes the directory had then. */
export type CarriedOut = Partial<Pick<UserPlacementOutputs, "oldCopies" | "directory" | "standbys">>;

async function apply(inputs: UserPlacementInputs, olds: CarriedOut): Promise<UserPlacementOutputs> {
  return carryOut(inputs, olds, await connect(inputs));
}

/** An update's work on connected nodes (every live node, by name): the moves, then the old copies. */
export async function carryOut(inputs: UserPlacementInputs, olds: CarriedOut, nodes: ReadonlyMap<string, MoveNode>): Promise<UserPlacementOutputs> {
  const oldCopies = olds.oldCopies ?? [];
  const master = nodes.get(inputs.master);
  if (!master) throw new Error(`the directory master ${inputs.master} is not a live node`);
  const users = await readDirectoryUsers(master.slapd, inputs.suffix);
  const missing = Object.keys(inputs.homes).filter((u) => !users.has(u));
  if (missing.length > 0) throw new Error(`the directory has no user ${missing.join(", ")}: nothing was moved`);

  // Every user not where the placement wants it, and every user an interrupted move left frozen. A
  // user whose home is no longer live (revoked) is promoted, never copied from it: first, so the mail
  // waiting for those users flows while the moves run.
  const all = placementWork(users.values(), inputs.homes);
  const ctx = { nodes, master: inputs.master, suffix: inputs.suffix, log };
  const promotions = await promoteUsers(ctx, all.filter((w) => !nodes.has(w.from) && w.from !== w.to));
  // Then the survivors' spares of every user promoted off a seized home, in this update or in one a
  // crash cut short before its spares were handed over (the file names them until it is rewritten):
  // a spare already handed over is gone, one whose message the new home has is only dropped.
  const homeNow = new Map([...users.values()].map((u) => [u.uid, u.home]));
  for (const p of promotions) homeNow.set(p.user, p.to);
  const spareUsers = Object.keys(inputs.promotedFrom ?? {}).filter((u) => users.has(u) && nodes.has(homeNow.get(u) ?? ""));
  if (spareUsers.length > 0) {
    // A rerun after a crash that came after the switch: no promotion flushed the queues in this run,
    // and what they deferred for those users would wait for postfix's next retry (minutes).
    if (promotions.length === 0) await flushQueues(ctx);
    await handOverHeldCopies(ctx, spareUsers.map((u) => ({ uid: u, to: homeNow.get(u)!, addresses: users.get(u)!.addresses })));
  }
  const work = all.filter((w) => nodes.has(w.from) || w.from === w.to);
  const reports: MoveReport[] = [];
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const w = work[next++];
      try {
        reports.push(await moveUser(ctx, w.uid, w.from, w.to));
      } catch (e) {
        failures.push(`${w.uid} (${w.from} → ${w.to}): ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inputs.limits.concurrency, work.length) }, worker));

  const now = Date.now();
  // The homes after the moves, from the master: a record of a copy on the user's home again (moved
  // back within the grace period) names the user's mailbox, and is forgotten, not left to expire.
  const after = directoryOutputs(await readDirectoryUsers(master.slapd, inputs.suffix));
  const standbys = inputs.standbys ?? {};
  const left = [...copiesLeftBy(reports, now), ...(await prepareStandbys(olds.standbys ?? {}, standbys, after.directory, nodes, now))];
  // A move an interrupted update did but the state never recorded: its old copy is found, not forgotten.
  left.push(...(await unrecordedOldCopies(olds.directory ?? {}, after.directory, [...oldCopies, ...left], nodes, now)));
  const copies = settleOldCopies(oldCopies, left, { homes: after.directory, standbys, live: (n) => nodes.has(n), graceSeconds: inputs.limits.graceSeconds, now });
  // A copy whose removal cannot be decided now (its node's replica does not answer) is kept and
  // tried again by the next update: the moves are done and recorded, nothing is lost by waiting.
  const kept = [...copies.keep];
  for (const c of copies.remove) {
    const outcome = await removeOldCopy(nodes.get(c.node)!, inputs.suffix, c.user, c.path).catch((e: Error) => {
      kept.push(c);
      return `kept until the next update (${e.message.split("\n")[0]})`;
    });
    log(`[move] old copy of ${c.user} on ${c.node}${c.path ? ` (${c.path})` : ""}: ${outcome}`);
  }
  if (failures.length > 0) throw new Error(`${failures.length} of ${work.length} moves failed (each user is at one home and not frozen):\n${failures.map((f) => `  - ${f}`).join("\n")}`);
  return { ...inputs, ...after, oldCopies: kept, lastMoves: reports, lastPromotions: promotions };
}

/**
 * Before the home's replicator writes a new standby (planning/quantum/standby-sync.ts): a copy the
 * standby node already holds that is not of this mailbox (left by an earlier move, other GUIDs) is
 * set aside, as a move does, since dsync cannot replace an INBOX; a standby given up on a live node
 * leaves its copy to be removed when its grace ends. Returns those copies.
 */
async function prepareStandbys(before: Readonly<Record<string, string>>, standbys: Readonly<Record<string, string>>, homes: Readonly<Record<string, string>>, nodes: ReadonlyMap<string, MoveNode>, now: number): Promise<OldCopy[]> {
  const left: OldCopy[] = [];
  // Users whose standby was dropped (no node may hold it now) leave their old copy too.
  for (const user of [...new Set([...Object.keys(standbys), ...Object.keys(before)])].sort()) {
    const [was, is, home] = [before[user], standbys[user], homes[user]];
    if (was === is) continue;
    if (was !== undefined && was !== home && nodes.has(was)) left.push({ user, node: was, since: now });
    if (is === undefined) continue;
    const [h, s] = [nodes.get(home ?? ""), nodes.get(is)];
    if (!h || !s || is === home) continue;
    const path = await setAsideStaleCopy(h, s, user, (line) => log(`[standby] ${user}: ${line}`)).catch((e: Error) => (log(`[standby] ${user}: cannot check ${is}'s copy: ${e.message}`), undefined));
    if (path) left.push({ user, node: is, since: now, path });
  }
  return left;
}
